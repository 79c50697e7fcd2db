"""The store's bulk write path against the database's own bulk floor, on SQLite and PostgreSQL.

Issue 16's large org writes a year of 1,000,000 answer rows into the store. Here they come as one
large synthetic month (default 1,000,000 answers: 50,000 evaluations of a 20-question form,
7,143 calibrations of 7 evaluators, UUID ids, a comment on one answer in ten, N/A on one in
twenty), which is the upsert's hardest case: one call, one transaction, every row compared.

Cases, each database, the month's calibrations and evaluations already stored (written untimed
with the answers left out, so both sides write the same rows into the same table):

1. **floor**: the database's own bulk load of the answer rows into the store's ``answers`` table
   in one transaction, on the store's own connection settings (foreign keys on): PostgreSQL
   ``COPY … FROM STDIN (FORMAT BINARY)``, SQLite ``executemany`` of plain tuples. Turning the
   DataFrame into tuples is counted (both sides start from the same DataFrame).
2. **store, first write**: ``Store.upsert_month`` with the answers (checks, staging, the diff).
3. **store, unchanged**: the same call again (the idempotent no-op: nothing is written).
4. **store, 1 % changed**: points flipped on 1 % of the answers (10,000 rows updated).

Each database's cases run in fresh Python processes (the floor in one, the store's three in
another), so peak memory is the step's own: the resident high-water mark (``VmHWM``) is reset
after the data is built (``/proc/self/clear_refs``) and read after the step, so it counts the
input DataFrames and everything the step adds. Times are wall seconds of the step alone. The
PostgreSQL server is started here, like ``tests/fixtures/postgres.py`` does (``initdb`` and
``pg_ctl`` as the ``postgres`` user when run as root; ``fsync=off`` for both sides alike).
Targets (issue 16): the first write at most 2x the floor, peak memory under 1 GiB.

    python -m benchmarks.bench_bulk_write                    # 1,000,000 answers, both databases
    python -m benchmarks.bench_bulk_write --quick            # 50,000 answers: a smoke run
    python -m benchmarks.bench_bulk_write --only sqlite --repeat 3
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

TEAM, MONTH = "bench", "2026-10"
QUESTIONS, PANEL = 20, 7


def month(n_answers: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A finished month in the ``scores``/``answers`` shapes with ``n_answers`` answer rows."""
    rng = np.random.default_rng(seed)
    n_eval = max(PANEL, n_answers // QUESTIONS)
    n_cal = -(-n_eval // PANEL)

    def ids(n: int) -> np.ndarray:
        return np.array([str(uuid.UUID(int=int(x))) for x in rng.integers(0, 2**63, n)],
                        dtype=object)

    cals, people = ids(n_cal), ids(PANEL + 2)
    cal_of = np.arange(n_eval) // PANEL
    role = np.where(np.arange(n_eval) % PANEL == 0, "expert", "evaluator").astype(object)
    submitted = (pd.Timestamp("2026-10-12T10:00Z")
                 + pd.to_timedelta(rng.integers(0, 10**6, n_eval), unit="s"))
    scores = pd.DataFrame({
        "team": TEAM, "month": MONTH, "session_id": f"{TEAM}/{MONTH}",
        "calibration_id": cals[cal_of], "conversation_id": cals[cal_of],
        "agent_id": people[PANEL], "calibrator_id": people[PANEL + 1],
        "evaluation_id": ids(n_eval), "evaluator_id": people[np.arange(n_eval) % PANEL],
        "evaluator_name": "Evaluator", "role": role, "status": "FINISHED",
        "total_score": np.round(rng.uniform(40, 100, n_eval), 6), "critical_score": 100.0,
        "any_failed_kill": False, "submitted_at": submitted, "form_id": "form-v2",
        "form_context_id": "form"})
    q = np.arange(n_eval * QUESTIONS) % QUESTIONS
    ev = np.repeat(np.arange(n_eval), QUESTIONS)
    questions, options = ids(QUESTIONS), ids(QUESTIONS * 2)
    texts = np.array([f"Criterion {i + 1}: did the agent do it?" for i in range(QUESTIONS)],
                     dtype=object)
    yes = rng.random(len(q)) < 0.8
    na = rng.random(len(q)) < 0.05
    answers = pd.DataFrame({
        "team": TEAM, "month": MONTH, "session_id": f"{TEAM}/{MONTH}",
        "calibration_id": scores["calibration_id"].to_numpy()[ev],
        "conversation_id": scores["conversation_id"].to_numpy()[ev],
        "evaluation_id": scores["evaluation_id"].to_numpy()[ev],
        "evaluator_id": scores["evaluator_id"].to_numpy()[ev], "role": role[ev],
        "form_id": "form-v2",
        "question_group_id": np.where(q < 10, "g-open", "g-close").astype(object),
        "question_group_name": np.where(q < 10, "Opening", "Closing").astype(object),
        "question_id": questions[q], "question_text": texts[q],
        "answer_id": np.where(na, None, options[q * 2 + yes]),
        "answer_text": np.where(na, "N/A", np.where(yes, "Yes", "No")).astype(object),
        "points": np.where(na, np.nan, yes.astype(float)), "max_points": 1.0,
        "marked_na": na,
        "comment": np.where(rng.random(len(q)) < 0.1, "Missed the key point, moved on", None),
    }).iloc[:n_answers].reset_index(drop=True)
    return scores, answers


def one_percent_changed(answers: pd.DataFrame, seed: int = 1) -> pd.DataFrame:
    """The answers with the points of 1 % of the answered (not N/A) rows flipped."""
    changed = answers.copy()
    rng = np.random.default_rng(seed)
    answered = np.flatnonzero(changed["points"].notna().to_numpy())
    pick = rng.choice(answered, size=max(1, len(changed) // 100), replace=False)
    changed.loc[pick, "points"] = 1.0 - changed.loc[pick, "points"]
    return changed


# ------------------------------------------------------------------------------- the child

def _high_water_mib() -> float:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:")) / 1024


def _reset_high_water() -> float:
    """Set the resident high-water mark to the present resident size (Linux 4.0+); return it.

    Memory the data generation freed is handed back to the system first (glibc's
    ``malloc_trim``), so the mark starts from what the process really holds.
    """
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    return _high_water_mib()


def _floor(url: str, scores: pd.DataFrame, answers: pd.DataFrame) -> None:
    """The database's own bulk load of ``answers`` into the store's answers table."""
    from calib.store import Store
    from calib.store.engine import write_connection

    columns = ["evaluation_id", "question_id", "form_id", "question_group_id",
               "question_group_name", "question_text", "answer_id", "answer_text", "points",
               "max_points", "marked_na", "comment"]
    with Store(url) as store:
        store.upsert_month(TEAM, MONTH, scores, answers.iloc[:0])  # the parents, untimed
        base = _reset_high_water()
        started = time.perf_counter()
        frame = answers[columns]
        values = [frame[c].to_numpy(dtype=object) for c in columns]
        for i in (8, 9):  # points, max_points: NaN is NULL
            values[i] = np.where(pd.isna(values[i]), None, values[i])
        rows = list(zip(*(v.tolist() for v in values)))
        with write_connection(store._engine) as conn, conn.begin():
            raw = conn.connection.driver_connection
            if store.dialect == "postgresql":
                with raw.cursor() as cursor, cursor.copy(
                        f"COPY answers ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
                    copy.set_types(["text"] * 8 + ["float8", "float8", "bool", "text"])
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" * len(columns))
                raw.cursor().executemany(
                    f"INSERT INTO answers ({', '.join(columns)}) VALUES ({marks})", rows)
        seconds = time.perf_counter() - started
        print(json.dumps({"case": "floor", "seconds": seconds, "peak_mib": _high_water_mib(),
                          "base_mib": base, "rows": len(rows)}), flush=True)


def _store(url: str, scores: pd.DataFrame, answers: pd.DataFrame) -> None:
    """The store's first write, the unchanged rewrite and the 1 %-changed write."""
    from calib.store import Store

    with Store(url) as store:
        store.upsert_month(TEAM, MONTH, scores, answers.iloc[:0])  # the parents, untimed
        for case in ("first write", "unchanged", "1% changed"):
            if case == "1% changed":
                answers = one_percent_changed(answers)
            frame = answers
            base = _reset_high_water()
            started = time.perf_counter()
            result = store.upsert_month(TEAM, MONTH, scores, frame)
            seconds = time.perf_counter() - started
            counts = result.by_table["answers"]
            print(json.dumps({"case": case, "seconds": seconds, "peak_mib": _high_water_mib(),
                              "base_mib": base, "rows": len(frame), "answers": counts}),
                  flush=True)


def child(kind: str, url: str, n_answers: int) -> None:
    scores, answers = month(n_answers)
    (_floor if kind == "floor" else _store)(url, scores, answers)


# --------------------------------------------------------------------------- the PostgreSQL

def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@contextlib.contextmanager
def postgres_server() -> Iterator[tuple[str, int]]:
    """A throw-away PostgreSQL server on a free loopback port: yields (host, port)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    initdb = shutil.which("initdb") or (found[-1] if found else None)
    if initdb is None:
        raise SystemExit("PostgreSQL server binaries (initdb, pg_ctl) not found; install "
                         "postgresql, or run with --only sqlite.")
    bindir = Path(initdb).parent
    root = Path(tempfile.mkdtemp(prefix="calib-bench-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, user="postgres", group="postgres")
    os.chmod(root, 0o700)
    data, port = root / "data", _free_port()
    subprocess.run(_as_server_user([str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
                                    "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]),
                   check=True, capture_output=True)
    options = (f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off -c synchronous_commit=off "
               f"-c full_page_writes=off")
    subprocess.run(_as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-l",
                                    str(root / "log"), "-o", options, "-w", "start"]),
                   check=True, capture_output=True)
    try:
        yield "127.0.0.1", port
    finally:
        subprocess.run(_as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast",
                                        "-w", "stop"]), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def _fresh_database(host: str, port: int, name: str) -> str:
    import psycopg

    with psycopg.connect(host=host, port=port, user="postgres", dbname="postgres",
                         autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@{host}:{port}/{name}"


# ---------------------------------------------------------------------------------- the run

def measure(kind: str, url: str, n_answers: int) -> list[dict]:
    done = subprocess.run([sys.executable, "-m", "benchmarks.bench_bulk_write", "--child",
                           kind, url, str(n_answers)], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1])
    if done.returncode != 0:
        raise SystemExit(f"{kind} on {url} failed:\n{done.stderr}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def run_database(name: str, urls: Iterator[str], n_answers: int, repeat: int) -> None:
    best: dict[str, dict] = {}
    for _ in range(repeat):
        for kind in ("floor", "store"):
            for result in measure(kind, next(urls), n_answers):
                if result["case"] not in best or result["seconds"] < best[result["case"]][
                        "seconds"]:
                    best[result["case"]] = result
    floor = best["floor"]["seconds"]
    label = {"sqlite": "SQLite executemany, one transaction",
             "postgresql": "PostgreSQL COPY (binary)"}[name]
    print(f"\n{name}: {n_answers:,} answer rows (best of {repeat})")
    print(f"  {'case':42s} {'seconds':>8s} {'x floor':>8s} {'peak MiB':>9s} "
          f"{'(before)':>9s}  answers")
    for case in ("floor", "first write", "unchanged", "1% changed"):
        r = best[case]
        what = f"floor: {label}" if case == "floor" else f"store, {case}"
        counts = r.get("answers") or {}
        said = ", ".join(f"{k} {v:,}" for k, v in counts.items() if v)
        print(f"  {what:42s} {r['seconds']:8.2f} {r['seconds'] / floor:7.2f}x "
              f"{r['peak_mib']:9.0f} {r['base_mib']:9.0f}  {said}")
    ratio = best["first write"]["seconds"] / floor
    peak = max(r["peak_mib"] for r in best.values())
    print(f"  first write / floor = {ratio:.2f}x (target <= 2x: "
          f"{'met' if ratio <= 2 else 'NOT met'}); peak {peak:.0f} MiB (target < 1024: "
          f"{'met' if peak < 1024 else 'NOT met'})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_bulk_write",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50,000 answers: a smoke run")
    parser.add_argument("--rows", type=int, default=None, help="answer rows (default 1,000,000)")
    parser.add_argument("--only", choices=("sqlite", "postgresql"), help="one database only")
    parser.add_argument("--repeat", type=int, default=1, help="runs per case; the best is kept")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "URL", "ROWS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]))
        return 0
    n = args.rows or (50_000 if args.quick else 1_000_000)
    with tempfile.TemporaryDirectory(prefix="calib-bench-bulk-") as tmp:
        if args.only in (None, "sqlite"):
            files = (f"sqlite:///{tmp}/bulk{i}.sqlite" for i in range(10**6))
            run_database("sqlite", files, n, args.repeat)
        if args.only in (None, "postgresql"):
            with postgres_server() as (host, port):
                names = (_fresh_database(host, port, f"bulk{i}") for i in range(10**6))
                run_database("postgresql", names, n, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())

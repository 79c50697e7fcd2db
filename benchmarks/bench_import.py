"""Import speed and peak memory: ``calib.interchange.load_files`` against ``pandas.read_csv``.

The file is a tidy answers CSV of N answer rows (default 1,000,000: 50,000 evaluations of a
20-question form, UUID ids, comments on one answer in ten) plus its scores CSV. The floor is
``pandas.read_csv`` of the same answers file with default options. Each measurement runs in a
fresh Python process, so peak memory (``VmHWM``, the resident high-water mark) is that step's
own; the time excludes interpreter start-up and imports. Targets (issue 7): at most 3x the
floor, under 1 GiB.

Run: ``python -m benchmarks.bench_import`` (``--quick`` for 50,000 rows, ``--store`` to add a
SQLite upsert of the imported month).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

QUESTIONS = 20


def make_files(directory: Path, n_answers: int, seed: int = 0) -> tuple[Path, Path]:
    """Write a scores CSV and an answers CSV with ``n_answers`` answer rows."""
    rng = np.random.default_rng(seed)
    n_eval = max(1, n_answers // QUESTIONS)
    n_cal = (n_eval + 5) // 6
    ids = lambda n: np.array([str(uuid.UUID(int=int(x))) for x in  # noqa: E731
                              rng.integers(0, 2**63, n)], dtype=object)
    cals, evaluators = ids(n_cal), ids(8)
    questions, options = ids(QUESTIONS), ids(QUESTIONS * 2)
    cal_of = np.arange(n_eval) // 6
    role = np.where(np.arange(n_eval) % 6 == 0, "expert", "evaluator")
    scores = pd.DataFrame({
        "team": "demo", "month": "2026-10", "session_id": "demo/2026-10",
        "calibration_id": cals[cal_of], "conversation_id": cals[cal_of],
        "agent_id": evaluators[0], "calibrator_id": evaluators[1],
        "evaluation_id": ids(n_eval), "evaluator_id": evaluators[np.arange(n_eval) % 6],
        "evaluator_name": "Evaluator", "role": role, "status": "FINISHED",
        "total_score": np.round(rng.uniform(40, 100, n_eval), 4), "critical_score": 100.0,
        "any_failed_kill": "false", "submitted_at": "2026-10-12T10:00:00.000000Z",
        "form_id": "form-v2", "form_context_id": "form",
    })
    q = np.arange(n_eval * QUESTIONS) % QUESTIONS
    ev = np.repeat(np.arange(n_eval), QUESTIONS)
    yes = rng.random(len(q)) < 0.8
    na = rng.random(len(q)) < 0.05
    answers = pd.DataFrame({
        "team": "demo", "month": "2026-10", "session_id": "demo/2026-10",
        "calibration_id": scores["calibration_id"].to_numpy()[ev],
        "conversation_id": scores["conversation_id"].to_numpy()[ev],
        "evaluation_id": scores["evaluation_id"].to_numpy()[ev],
        "evaluator_id": scores["evaluator_id"].to_numpy()[ev],
        "role": role[ev], "form_id": "form-v2",
        "question_group_id": np.where(q < 10, "g-open", "g-close"),
        "question_group_name": np.where(q < 10, "Opening", "Closing"),
        "question_id": questions[q], "question_text": np.char.add("Criterion ", q.astype(str)),
        "answer_id": np.where(na, "", options[q * 2 + yes]),
        "answer_text": np.where(na, "", np.where(yes, "Yes", "No")),
        "points": np.where(na, np.nan, yes.astype(float)), "max_points": 1.0,
        "marked_na": np.where(na, "true", "false"),
        "comment": np.where(rng.random(len(q)) < 0.1, "Missed the key point, moved on", ""),
    })
    s_path, a_path = directory / "bench_scores.csv", directory / "bench_answers.csv"
    scores.to_csv(s_path, index=False)
    answers.iloc[:n_answers].to_csv(a_path, index=False)
    return s_path, a_path


_CHILD = r"""
import json, sys, time
import pandas as pd
import calib.interchange

def high_water_kib():
    # VmHWM belongs to this process image (ru_maxrss would carry the parent's peak over fork)
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))

kind, scores, answers, store = sys.argv[1:5]
base = high_water_kib()
t0 = time.perf_counter()
if kind == "floor":
    frame = pd.read_csv(answers)
    rows = len(frame)
else:
    s, a = calib.interchange.load_files([scores, answers], team="demo")
    rows = len(a)
    if kind == "store":
        from calib.store import Store
        with Store(store) as st:
            st.upsert_month("demo", "2026-10", s, a, source="files")
seconds = time.perf_counter() - t0
peak = high_water_kib()
print(json.dumps({"seconds": seconds, "peak_mib": peak / 1024, "base_mib": base / 1024,
                  "rows": rows}))
"""


def measure(kind: str, scores: Path, answers: Path, store: str = "") -> dict:
    """Run one step in a fresh process; return its time and peak memory."""
    done = subprocess.run([sys.executable, "-c", _CHILD, kind, str(scores), str(answers), store],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_import",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50,000 rows: a smoke run")
    parser.add_argument("--rows", type=int, default=None, help="answer rows (default 1,000,000)")
    parser.add_argument("--store", action="store_true", help="also upsert into SQLite")
    parser.add_argument("--repeat", type=int, default=1, help="runs per step; the best is kept")
    args = parser.parse_args(argv)
    n = args.rows or (50_000 if args.quick else 1_000_000)
    with tempfile.TemporaryDirectory() as tmp:
        scores, answers = make_files(Path(tmp), n)
        size = answers.stat().st_size / 2**20
        print(f"answers file: {n:,} rows, {size:.0f} MiB; scores file: "
              f"{scores.stat().st_size / 2**20:.1f} MiB")
        steps = [("floor", "pandas.read_csv(answers)"), ("calib", "calib load_files(both)")]
        if args.store:
            steps.append(("store", "load_files + Store.upsert_month (SQLite)"))
        results = {}
        for kind, label in steps:
            runs = [measure(kind, scores, answers, f"sqlite:///{tmp}/bench{i}.sqlite")
                    for i in range(args.repeat)]
            results[kind] = min(runs, key=lambda r: r["seconds"])
            r = results[kind]
            print(f"{label:45s} {r['seconds']:7.2f} s  peak {r['peak_mib']:7.0f} MiB "
                  f"(process before: {r['base_mib']:.0f} MiB)")
        floor = results["floor"]
        for kind in results:
            if kind == "floor":
                continue
            r = results[kind]
            print(f"ratio {kind}/floor: time {r['seconds'] / floor['seconds']:.2f}x, "
                  f"peak memory {r['peak_mib'] / floor['peak_mib']:.2f}x; "
                  f"peak {'<' if r['peak_mib'] < 1024 else '>='} 1 GiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

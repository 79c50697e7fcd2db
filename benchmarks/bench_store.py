"""The history store's month upsert and load beside plain pandas SQL I/O, in one run.

Reference: ``DataFrame.to_sql`` / ``pandas.read_sql_table`` on the same SQLite file — what a
sync without a store would do (append the first time, rewrite everything every time after).
calib's upsert does more work per row (it reads the month back, compares every field, and
writes only the difference in one transaction, with foreign keys on) and its load applies the
blind gate, so the question these ratios answer is what idempotency and the gate cost.

Cases, per size (calibrations x evaluators x questions):

1. first load of an empty month: ``Store.upsert_month`` vs ``to_sql(if_exists="append")``;
2. re-sync with nothing changed: ``upsert_month`` (writes nothing) vs ``to_sql(replace)``;
3. re-sync with one evaluation rescored: ``upsert_month`` (two rows) vs ``to_sql(replace)``;
4. load back: ``Store.scores()`` + ``Store.answers()`` vs two ``read_sql_table``.

Timings are the best of several runs, in CPU seconds of this process (``time.process_time``;
SQLite runs in-process), so other load on the machine does not skew the ratios.

    python -m benchmarks.bench_store            # full sizes
    python -m benchmarks.bench_store --quick    # a smoke run
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import sqlalchemy as sa

from calib.store import Store
from calib.tables import answers_frame, scores_frame

SIZES = ((20, 6, 13), (100, 8, 20), (300, 8, 20))
QUICK_SIZES = ((10, 4, 8),)


def month(n_cal: int, n_eval: int, n_q: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A synthetic finished month in the ``scores``/``answers`` shapes."""
    rng = np.random.default_rng(seed)
    scores, answers = [], []
    for c in range(n_cal):
        cid = f"cal-{c:04d}"
        for e in range(n_eval + 1):
            eid = f"{cid}-ev{e}"
            scores.append({"team": "bench", "month": "2026-10", "session_id": "bench/2026-10",
                           "calibration_id": cid, "conversation_id": f"conv-{c}",
                           "agent_id": f"agent-{c % 9}", "calibrator_id": "u-cal",
                           "evaluation_id": eid, "evaluator_id": f"u-{e}",
                           "evaluator_name": f"Evaluator {e}",
                           "role": "expert" if e == 0 else "evaluator", "status": "FINISHED",
                           "total_score": float(rng.uniform(50, 100)), "critical_score": 100.0,
                           "any_failed_kill": False,
                           "submitted_at": pd.Timestamp("2026-10-15T10:00Z")
                           + pd.Timedelta(minutes=int(rng.integers(0, 9000))),
                           "form_id": "form-1", "form_context_id": "ctx-1"})
            for q in range(n_q):
                pick = int(rng.integers(0, 2))
                answers.append({"team": "bench", "month": "2026-10",
                                "session_id": "bench/2026-10", "calibration_id": cid,
                                "conversation_id": f"conv-{c}", "evaluation_id": eid,
                                "evaluator_id": f"u-{e}",
                                "role": "expert" if e == 0 else "evaluator", "form_id": "form-1",
                                "question_group_id": f"g-{q // 5}",
                                "question_group_name": f"Group {q // 5}",
                                "question_id": f"q-{q}", "question_text": f"Question {q}?",
                                "answer_id": f"q-{q}-{pick}", "answer_text": "Yes" if pick else "No",
                                "points": float(pick), "max_points": 1.0, "marked_na": False,
                                "comment": None})
    return scores_frame(scores), answers_frame(answers)


def _best(func: Callable[[], object], repeats: int, setup: Callable[[], object] | None = None
          ) -> float:
    """Best CPU time of ``repeats`` calls of ``func`` (``setup`` runs untimed before each)."""
    best = float("inf")
    for _ in range(repeats):
        if setup is not None:
            setup()
        start = time.process_time()
        func()
        best = min(best, time.process_time() - start)
    return best


def _reset(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for table in ("ref_scores", "ref_answers"):
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
    engine.dispose()


def run_size(workdir: Path, n_cal: int, n_eval: int, n_q: int, repeats: int) -> list[dict]:
    scores, answers = month(n_cal, n_eval, n_q)
    rescored = scores.copy()
    rescored.loc[3, "total_score"] = 12.5
    ours_url = f"sqlite:///{workdir / f'ours-{n_cal}.sqlite'}"
    ref_url = f"sqlite:///{workdir / f'ref-{n_cal}.sqlite'}"
    ref = sa.create_engine(ref_url)
    store = Store(ours_url)

    def empty_store() -> None:
        store.upsert_month("bench", "2026-10", scores.iloc[:0], answers.iloc[:0])

    def ref_write(mode: str, s: pd.DataFrame) -> Callable[[], None]:
        def write() -> None:
            with ref.begin() as conn:
                s.to_sql("ref_scores", conn, if_exists=mode, index=False)
                answers.to_sql("ref_answers", conn, if_exists=mode, index=False)
        return write

    rows = []
    label = f"{n_cal}x{n_eval + 1}x{n_q} ({len(answers):,} answers)"
    ours = _best(lambda: store.upsert_month("bench", "2026-10", scores, answers), repeats,
                 setup=empty_store)
    theirs = _best(ref_write("append", scores), repeats, setup=lambda: _reset(ref_url))
    rows.append({"size": label, "case": "first load", "calib_s": ours, "pandas_s": theirs})
    store.upsert_month("bench", "2026-10", scores, answers)
    ref_write("replace", scores)()
    ours = _best(lambda: store.upsert_month("bench", "2026-10", scores, answers), repeats)
    theirs = _best(ref_write("replace", scores), repeats)
    rows.append({"size": label, "case": "re-sync, unchanged", "calib_s": ours,
                 "pandas_s": theirs})

    def flip() -> None:
        store.upsert_month("bench", "2026-10", scores, answers)
    ours = _best(lambda: store.upsert_month("bench", "2026-10", rescored, answers), repeats,
                 setup=flip)
    theirs = _best(ref_write("replace", rescored), repeats)
    rows.append({"size": label, "case": "re-sync, one rescored", "calib_s": ours,
                 "pandas_s": theirs})
    ours = _best(lambda: (store.scores("bench"), store.answers("bench")), repeats)

    def ref_read() -> None:
        with ref.connect() as conn:
            pd.read_sql_table("ref_scores", conn)
            pd.read_sql_table("ref_answers", conn)
    theirs = _best(ref_read, repeats)
    rows.append({"size": label, "case": "load scores + answers", "calib_s": ours,
                 "pandas_s": theirs})
    store.close()
    ref.dispose()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one small size, one repeat")
    args = parser.parse_args(argv)
    sizes, repeats = (QUICK_SIZES, 1) if args.quick else (SIZES, 3)
    rows = []
    with tempfile.TemporaryDirectory(prefix="calib-bench-store-") as tmp:
        for size in sizes:
            rows += run_size(Path(tmp), *size, repeats=repeats)
    table = pd.DataFrame(rows)
    table["ratio (calib / pandas)"] = table["calib_s"] / table["pandas_s"]
    with pd.option_context("display.width", 120, "display.float_format", "{:.4f}".format):
        print("History store (SQLite file) vs pandas to_sql/read_sql_table, best CPU seconds")
        print(table.to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""A large org's year through the program review on PostgreSQL (issue 16, benchmark 2).

The org: 50 teams x 12 months; each month every team calibrates 2 calls, each scored by its
expert and 3 panel evaluators drawn from an org-wide pool of 60 (so evaluators serve several
teams): 4,800 evaluations. Each evaluation answers a form of 208 yes/no questions, so the year
holds 998,400 answer rows, written into the store month by month through ``Store.upsert_month``
(the bulk path) before the clock starts; that write is timed separately.

Timed, in a fresh process (peak resident memory from ``VmHWM``, reset after the write):
the review as ``06_program_review.ipynb`` runs it: read the year's scores of every team and the
recorded consensus from the store (:func:`calib.review.load_scores`, ``load_agreed``), then
:func:`calib.review.program_review` (50 monthly-ICC series, 50 consistency and trend verdicts
with 9,999-permutation tests, one pooled severity fit over 4,800 evaluations, the director's
paragraph). Target: under 60 s and 2 GiB on the 2-core machine.

    python -m benchmarks.bench_review              # 50 teams, PostgreSQL
    python -m benchmarks.bench_review --quick      # 5 teams, a smoke run
    python -m benchmarks.bench_review --sqlite     # the same on a SQLite file
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.bench_bulk_write import (_fresh_database, _high_water_mib, _reset_high_water,
                                         postgres_server)

MONTHS = [f"2026-{m:02d}" for m in range(1, 13)]
CALLS, PANEL, POOL, QUESTIONS = 2, 3, 60, 208


def team_month(team: int, month: str, rng: np.random.Generator, severity: np.ndarray
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One team's month: scores and answers in the upsert's shapes."""
    name = f"team-{team:02d}"
    scores, answers = [], []
    panel = rng.choice(POOL, size=PANEL, replace=False)
    for c in range(CALLS):
        call = f"{name}-{month}-{c}"
        quality = rng.uniform(50, 90)
        raters = [("expert", f"{name}-lead")] + [("evaluator", f"ev-{p:02d}") for p in panel]
        for role, person in raters:
            shift = 0.0 if role == "expert" else severity[int(person[3:])]
            total = float(np.clip(quality + shift + rng.normal(0, 3), 0, 100))
            evaluation = f"{call}/{person}"
            scores.append({"team": name, "month": month, "session_id": f"{name}/{month}",
                           "calibration_id": call, "conversation_id": call,
                           "agent_id": "agent", "evaluation_id": evaluation,
                           "evaluator_id": person, "evaluator_name": person, "role": role,
                           "status": "FINISHED", "total_score": total, "form_id": "form"})
            yes = rng.random(QUESTIONS) < total / 100
            answers.append(pd.DataFrame({
                "team": name, "month": month, "session_id": f"{name}/{month}",
                "calibration_id": call, "evaluation_id": evaluation, "evaluator_id": person,
                "role": role, "form_id": "form",
                "question_id": [f"q{q:03d}" for q in range(QUESTIONS)],
                "answer_id": np.where(yes, "yes", "no"), "points": yes.astype(float),
                "max_points": 1.0, "marked_na": False}))
    return pd.DataFrame(scores), pd.concat(answers, ignore_index=True)


def write_year(url: str, n_teams: int) -> dict:
    from calib.store import Store

    rng = np.random.default_rng(0)
    severity = rng.normal(0, 3, POOL)
    started = time.perf_counter()
    rows = 0
    with Store(url) as store:
        for team in range(n_teams):
            for month in MONTHS:
                scores, answers = team_month(team, month, rng, severity)
                store.upsert_month(f"team-{team:02d}", month, scores, answers, source="files")
                rows += len(answers)
    return {"seconds": time.perf_counter() - started, "answers": rows}


def review(url: str) -> dict:
    from calib.review import load_agreed, load_scores, program_review

    base = _reset_high_water()
    started = time.perf_counter()
    scores = load_scores("store", teams=(), months=MONTHS, store_url=url)
    agreed = load_agreed(teams=(), months=MONTHS, store_url=url)
    read = time.perf_counter() - started
    result = program_review(scores, agreed=agreed, months=MONTHS)
    paragraph = result.paragraph()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "read_seconds": read, "peak_mib": _high_water_mib(),
            "base_mib": base, "evaluations": len(scores), "teams": len(result.teams),
            "evaluators": len(result.evaluators),
            "moved": sum(p.verdict != "steady" and p.verdict != "too short"
                         for p in result.evaluators),
            "paragraph_words": len(paragraph.split())}


def _child(kind: str, url: str, n_teams: int) -> None:
    out = write_year(url, n_teams) if kind == "write" else review(url)
    print(json.dumps(out), flush=True)


def _run(kind: str, url: str, n_teams: int) -> dict:
    done = subprocess.run([sys.executable, "-m", "benchmarks.bench_review", "--child", kind, url,
                           str(n_teams)], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1])
    if done.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_review",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 teams: a smoke run")
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file, not PostgreSQL")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child[0], args.child[1], int(args.child[2]))
        return 0
    n_teams = 5 if args.quick else 50

    def measure(url: str, database: str) -> None:
        written = _run("write", url, n_teams)
        result = _run("review", url, n_teams)
        print(f"{database}: {n_teams} teams x 12 months, {result['evaluations']:,} evaluations, "
              f"{written['answers']:,} answer rows")
        print(f"  write the year ({n_teams * 12} month upserts, bulk path)  "
              f"{written['seconds']:7.1f} s")
        print(f"  the review: read scores {result['read_seconds']:.1f} s, total "
              f"{result['seconds']:.1f} s (target < 60 s: "
              f"{'met' if result['seconds'] < 60 else 'NOT met'}); peak {result['peak_mib']:.0f}"
              f" MiB (before {result['base_mib']:.0f}; target < 2048: "
              f"{'met' if result['peak_mib'] < 2048 else 'NOT met'})")
        print(f"  {result['teams']} teams, {result['evaluators']} evaluators, "
              f"{result['moved']} of them moved; paragraph of {result['paragraph_words']} words")

    if args.sqlite:
        with tempfile.TemporaryDirectory(prefix="calib-bench-review-") as tmp:
            measure(f"sqlite:///{tmp}/review.sqlite", "sqlite")
    else:
        with postgres_server() as (host, port):
            measure(_fresh_database(host, port, "review"), "postgresql")
    return 0


if __name__ == "__main__":
    sys.exit(main())

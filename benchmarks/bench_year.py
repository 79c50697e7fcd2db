"""A whole year of a large team through every analysis the monthly report runs.

The year: 50 evaluators, 12 months x 200 calibrated calls (2,400 calls), a form of 30 yes/no
questions (some N/A). Each month a panel of 8 of the 50 evaluators (rotating) and the expert
score every call of the month, so each call has 9 evaluations: 21,600 scores and 648,000
answers. The expert drifts upward through the year; evaluators have their own severities.

Stages, as :func:`calib.report.analysis.analyze` calls them, plus the year-wide extras the
statistics module offers:

* report month (the last): variance table, ICC (six forms), Krippendorff's alpha with a
  1,000-replicate bootstrap, evaluator bias, question disagreement, question agreement,
  answer distribution, G-study and D-study;
* history: ICC and alpha with a 300-replicate bootstrap for each of the 12 months (the trend),
  calibrator drift and recurring criteria over the year;
* year-wide: evaluator bias and severity over all 2,400 calls, the calls x evaluators G-study
  (unbalanced, Henderson 1) and the calls x questions x evaluators G-study on 648,000 answers.

Target: under 5 s and 1 GiB for all of it. Wall and CPU time per stage are printed, and the
process's peak resident memory (VmHWM, which includes the ~0.3 GiB of input tables). The one
side-by-side reference: :func:`calib.stats.evaluator_severity` against statsmodels OLS with
``C(call) + C(evaluator, Sum)`` on a three-month slice (the full year's dense design matrix is
21,600 x 2,450), with the largest difference in the estimates.

    python -m benchmarks.bench_year            # the full year
    python -m benchmarks.bench_year --quick    # one month-sized smoke run
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

TARGET_SECONDS = 5.0
TARGET_BYTES = 1 << 30


def _peak_bytes() -> int:
    """Peak resident set of this process (VmHWM), falling back to getrusage."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def make_year(*, n_evaluators: int = 50, months: int = 12, calls_per_month: int = 200,
              panel: int = 8, n_questions: int = 30, seed: int = 0
              ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Synthetic ``scores`` and ``answers`` tables for one team's year (see module docstring)."""
    rng = np.random.default_rng(seed)
    month_names = [str(pd.Period("2026-01", "M") + k) for k in range(months)]
    severity = rng.normal(0, 0.04, n_evaluators)
    reading = rng.normal(0, 0.08, (n_evaluators + 1, n_questions)) * rng.uniform(
        0, 1, n_questions)
    difficulty = rng.uniform(-0.25, 0.15, n_questions)
    na_rate = rng.uniform(0, 0.15, n_questions)
    evaluators = [f"eval-{j:02d}" for j in range(n_evaluators)] + ["expert-01"]
    score_parts, answer_parts = [], []
    for m, month in enumerate(month_names):
        members = (np.arange(panel) + m * panel) % n_evaluators  # rotating: all 50 serve
        raters = np.append(members, n_evaluators)
        shift = np.append(severity[members], 0.11 * m / max(months - 1, 1))
        calls = np.arange(calls_per_month) + m * calls_per_month
        quality = rng.uniform(0.55, 0.9, calls_per_month)
        latent = rng.random((calls_per_month, n_questions))
        na = rng.random((calls_per_month, n_questions)) < na_rate
        threshold = (quality[:, None, None] + difficulty[None, None, :] + shift[None, :, None]
                     + reading[raters][None, :, :]
                     + rng.normal(0, 0.04, (calls_per_month, len(raters), 1))
                     + rng.normal(0, 0.05, (calls_per_month, len(raters), n_questions)))
        yes = latent[:, None, :] < threshold
        applies = ~na[:, None, :].repeat(len(raters), axis=1)
        total = 100.0 * (yes & applies).sum(axis=2) / np.maximum(applies.sum(axis=2), 1)
        cal = np.repeat(calls, len(raters))
        who = np.tile(raters, calls_per_month)
        evaluation = [f"ev-{c:05d}-{r:02d}" for c, r in zip(cal, who)]
        score_parts.append(pd.DataFrame({
            "team": "big", "month": month, "session_id": f"big/{month}",
            "calibration_id": [f"cal-{c:05d}" for c in cal],
            "conversation_id": [f"conv-{c:05d}" for c in cal],
            "agent_id": [f"agent-{c % 120:03d}" for c in cal], "calibrator_id": "expert-01",
            "evaluation_id": evaluation, "evaluator_id": [evaluators[r] for r in who],
            "evaluator_name": [evaluators[r].title() for r in who],
            "role": np.where(who == n_evaluators, "expert", "evaluator"),
            "status": "FINISHED", "total_score": total.ravel()}))
        flat_yes = yes.reshape(-1, n_questions)
        flat_na = ~applies.reshape(-1, n_questions)
        q = np.tile(np.arange(n_questions), len(cal))
        marked = flat_na.ravel()
        answer = np.where(marked, None, np.where(flat_yes.ravel(), "yes", "no"))
        answer_parts.append(pd.DataFrame({
            "team": "big", "month": month, "session_id": f"big/{month}",
            "calibration_id": np.repeat([f"cal-{c:05d}" for c in cal], n_questions),
            "evaluation_id": np.repeat(evaluation, n_questions),
            "evaluator_id": np.repeat([evaluators[r] for r in who], n_questions),
            "role": np.repeat(np.where(who == n_evaluators, "expert", "evaluator"), n_questions),
            "question_id": [f"q{k:02d}" for k in q], "question_text": "",
            "answer_id": answer,
            "answer_text": np.where(marked, None, np.where(flat_yes.ravel(), "Yes", "No")),
            "points": np.where(marked, np.nan, flat_yes.ravel().astype(float)),
            "max_points": 1.0, "marked_na": marked}))
    answers = pd.concat(answer_parts, ignore_index=True)
    answers["question_text"] = "Question " + answers["question_id"]
    return pd.concat(score_parts, ignore_index=True), answers


def _stages(scores: pd.DataFrame, answers: pd.DataFrame, n_boot: int, trend_boot: int
            ) -> list[tuple[str, Callable[[], object]]]:
    from calib import stats
    from calib.stats.variance import calibration_variance, question_disagreement

    last = scores["month"].max()
    month_scores = scores[scores["month"] == last]
    month_answers = answers[answers["month"] == last]

    def trend() -> None:
        for _, rows in scores.groupby("month"):
            stats.icc(rows, missing="drop_interactions")
            stats.krippendorff_alpha(rows, n_boot=trend_boot, seed=0)

    def month_g() -> None:
        g = stats.g_study(month_scores)
        stats.d_study(g)
        stats.evaluators_needed(g)

    def year_g() -> None:
        g = stats.g_study(scores)
        stats.d_study(g)
        stats.evaluators_needed(g)

    return [
        ("month: variance table", lambda: calibration_variance(month_scores)),
        ("month: ICC, six forms", lambda: stats.icc(month_scores, missing="drop_interactions")),
        (f"month: alpha + {n_boot} bootstrap",
         lambda: stats.krippendorff_alpha(month_scores, n_boot=n_boot, seed=0)),
        ("month: evaluator bias", lambda: stats.evaluator_bias(month_scores)),
        ("month: question disagreement", lambda: question_disagreement(month_answers)),
        ("month: question agreement", lambda: stats.question_agreement(month_answers)),
        ("month: answer distribution", lambda: stats.answer_distribution(month_answers)),
        ("month: G-study + D-study", month_g),
        (f"history: ICC + alpha ({trend_boot} boot) x months", trend),
        ("history: calibrator drift", lambda: stats.calibrator_drift(scores)),
        ("history: recurring criteria", lambda: stats.recurring_criteria(answers)),
        ("year: evaluator bias", lambda: stats.evaluator_bias(scores)),
        ("year: evaluator severity", lambda: stats.evaluator_severity(scores)),
        ("year: G-study calls x evaluators", year_g),
        ("year: G-study calls x questions x evaluators",
         lambda: stats.g_study(scores, design="calls x questions x evaluators",
                               answers=answers)),
    ]


def run_year(scores: pd.DataFrame, answers: pd.DataFrame, *, n_boot: int,
             trend_boot: int) -> tuple[float, float]:
    """Run every stage once; print wall and CPU seconds per stage; return the totals."""
    print(f"{'stage':<48} {'wall s':>8} {'cpu s':>8}")
    wall_total = cpu_total = 0.0
    for name, stage in _stages(scores, answers, n_boot, trend_boot):
        wall, cpu = time.perf_counter(), time.process_time()
        stage()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        wall_total, cpu_total = wall_total + wall, cpu_total + cpu
        print(f"{name:<48} {wall:>8.3f} {cpu:>8.3f}", flush=True)
    print(f"{'total':<48} {wall_total:>8.3f} {cpu_total:>8.3f}")
    return wall_total, cpu_total


def compare_severity(scores: pd.DataFrame, months: int) -> None:
    """calib's reduced normal equations beside statsmodels OLS on the same slice."""
    import statsmodels.formula.api as smf

    from calib.stats import evaluator_severity

    chosen = sorted(scores["month"].unique())[:months]
    part = scores[scores["month"].isin(chosen)]
    start = time.process_time()
    ours = evaluator_severity(part).set_index("evaluator_id")["severity"]
    ours_s = time.process_time() - start
    start = time.process_time()
    fit = smf.ols("total_score ~ C(calibration_id) + C(evaluator_id, Sum)", part).fit()
    ref_s = time.process_time() - start
    raters = sorted(part["evaluator_id"].unique())
    coef = np.array([fit.params[f"C(evaluator_id, Sum)[S.{r}]"] for r in raters[:-1]])
    reference = pd.Series(np.append(coef, -coef.sum()), index=raters)
    gap = float((ours - reference.reindex(ours.index)).abs().max())
    print(f"\nseverity on {len(part):,} scores ({part['calibration_id'].nunique():,} calls): "
          f"calib {ours_s * 1e3:.1f} ms CPU, statsmodels OLS {ref_s * 1e3:.1f} ms CPU, "
          f"ratio {ref_s / max(ours_s, 1e-9):.0f}x; largest difference {gap:.2e} points")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        sizes = dict(n_evaluators=12, months=3, calls_per_month=20, panel=4, n_questions=8)
        n_boot, trend_boot, slice_months = 50, 20, 2
    else:
        sizes, n_boot, trend_boot, slice_months = {}, 1000, 300, 3
    start = time.perf_counter()
    scores, answers = make_year(**sizes)
    print(f"data: {len(scores):,} scores, {len(answers):,} answers, "
          f"{scores['evaluator_id'].nunique()} evaluators, "
          f"{scores['calibration_id'].nunique():,} calls "
          f"(built in {time.perf_counter() - start:.1f} s, not counted)")
    before = _peak_bytes()
    wall, cpu = run_year(scores, answers, n_boot=n_boot, trend_boot=trend_boot)
    peak = _peak_bytes()
    print(f"peak resident memory {peak / 2**20:,.0f} MiB (before the analyses "
          f"{before / 2**20:,.0f} MiB, inputs included)")
    if not args.quick:
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        verdict = {True: "met", False: "NOT met"}
        print(f"target under {TARGET_SECONDS:g} s: CPU {cpu:.2f} s "
              f"{verdict[cpu < TARGET_SECONDS]}, wall {wall:.2f} s {verdict[wall < TARGET_SECONDS]}"
              f" (1-minute load average {load:.1f} on {os.cpu_count()} cores: wall time "
              f"includes waiting for other processes)")
        print(f"target under {TARGET_BYTES / 2**30:g} GiB peak: {verdict[peak < TARGET_BYTES]}")
    compare_severity(scores, slice_months)


if __name__ == "__main__":
    main()

"""The verdicts against the sandbox's ground truth, over many seeds and every team (issue 13).

Criteria: no lenient/harsh flag whose direction disagrees with the evaluator's true severity; at
most 5% of flags on evaluators whose true |severity| is under 1 point; at least 80% of evaluators
with true |severity| of 4 points or more found; the expert's drift a verdict only in months whose
true drift exceeds the threshold.

What the report sees: ``generate_org(seed)`` defaults (six months 2026-05…10; demo 6 calls a
month × 6 evaluators + a drifting expert, north 5 × 5 + a steady one, pilot 1 call, leadership 3
months of calibrators judged by QM leads), report month 2026-10, history from 2026-05.

"Found" counts among the evaluators the report judges. An evaluator it declines to judge ("not
enough shared calls yet — about N more would settle it") is counted apart and printed: pilot's
single calibration can never support a verdict, and that is what issue 13 asks the report to say.
With those counted as missed, the default history finds 183 of 256 (71%) over 30 seeds; the
criterion is therefore also asserted with nothing set apart on demo and north, the two teams with a
real history.

True severity of an evaluator = the mean, over the calls they scored in the window, of their
expected shift minus the mean expected shift of the *other* panel evaluators on the call (the
leave-one-out consensus, expert left out), where the expected shift is the truth's severity (or,
for a calibrator, that month's drift) plus the reading residue of the form version
(``reading_residue``, see tests/test_stats_sandbox_truth.py) plus what anchoring on the AI's
suggestions changed in the evaluation (``anchoring_shift``, 0 before AI scoring from 2026-08).
True drift in a month = the mean
over that month's calls of the expert's expected shift minus the panel's mean expected shift.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from calib.sandbox import generate_org
from calib.stats.expert_drift import expert_drift
from calib.verdicts import build_verdicts, drift_verdicts
from tests.test_stats_sandbox_truth import anchoring_shift, reading_residue

SEEDS = range(30)
TEAMS = ("demo", "north", "pilot", "leadership")
REPORT_MONTH = "2026-10"
BIAS_THRESHOLD = 3.0
DRIFT_THRESHOLD = 10.0


def expected_shift(org, frame: pd.DataFrame) -> pd.Series:
    """Each evaluation's expected shift against an unbiased reading (severity or drift, plus
    the reading residue)."""
    truth = org.truth
    base = [truth.calibrator_drift.get((e, m), truth.evaluator_severity.get(e, 0.0))
            for e, m in zip(frame["evaluator_id"], frame["month"])]
    pairs = frame[["evaluator_id", "form_id"]].drop_duplicates()
    residue = {(e, f): reading_residue(org, e, f)
               for e, f in zip(pairs["evaluator_id"], pairs["form_id"])}
    return pd.Series(np.array(base) + [residue[p] for p in zip(frame["evaluator_id"],
                                                                frame["form_id"])]
                     + anchoring_shift(org, frame), index=frame.index)


def true_severity(frame: pd.DataFrame, shift: pd.Series) -> pd.Series:
    panel = frame.assign(shift=shift)[frame["role"] != "expert"]
    calls = panel.groupby("calibration_id")["shift"]
    panel = panel[calls.transform("size") >= 2]
    calls = panel.groupby("calibration_id")["shift"]
    others = (calls.transform("sum") - panel["shift"]) / (calls.transform("size") - 1)
    return (panel["shift"] - others).groupby(panel["evaluator_id"]).mean()


def true_drift(frame: pd.DataFrame, shift: pd.Series, month: str) -> float:
    here = frame["month"] == month
    calls = frame.loc[here, "calibration_id"]
    panel = shift[here & (frame["role"] != "expert")].groupby(calls).mean()
    expert = shift[here & (frame["role"] == "expert")].groupby(calls).sum()
    return float((expert - panel).dropna().mean())


@dataclass
class Counts:
    flags: int = 0
    wrong_direction: int = 0
    near_zero_flags: int = 0
    eligible: int = 0
    found: int = 0
    unjudged_eligible: int = 0  # |true| >= 4 but "not enough shared calls"

    def __str__(self) -> str:
        return (f"{self.flags} flags, {self.wrong_direction} in the wrong direction, "
                f"{self.near_zero_flags} on |true| < 1, {self.found}/{self.eligible} of |true| "
                f">= 4 found ({self.unjudged_eligible} more with too few shared calls to judge)")


def windows(org):
    scores = org.tidy_scores()
    scores = scores[(scores["month"] <= REPORT_MONTH) & (scores["status"] == "FINISHED")]
    for team in TEAMS:
        frame = scores[scores["team"] == team]
        yield team, frame, expected_shift(org, frame)


def evaluator_counts(orgs) -> dict[str, Counts]:
    """Counts per team; an evaluator the report declines to judge (not enough shared calls) is
    counted apart from the eligible ones, so that declining is never mistaken for missing."""
    counts = {team: Counts() for team in TEAMS}
    for org in orgs:
        for team, frame, shift in windows(org):
            truth = true_severity(frame, shift)
            verdicts = build_verdicts(frame, month=REPORT_MONTH, bias_threshold=BIAS_THRESHOLD,
                                      drift_threshold=DRIFT_THRESHOLD, n_permutations=99)
            c = counts[team]
            for v in verdicts.evaluators:
                true = float(truth.get(v.evaluator_id, 0.0))
                if abs(true) >= 4 and v.verdict == "not enough shared calls":
                    c.unjudged_eligible += 1
                    continue
                c.eligible += abs(true) >= 4
                if v.flagged:
                    c.flags += 1
                    c.found += abs(true) >= 4
                    c.wrong_direction += int(np.sign(v.severity) != np.sign(true))
                    c.near_zero_flags += abs(true) < 1
                    assert (v.verdict == "lenient") == (v.severity > 0)
    return counts


def total(counts: dict[str, Counts], teams=TEAMS) -> Counts:
    out = Counts()
    for team in teams:
        for name in vars(out):
            setattr(out, name, getattr(out, name) + getattr(counts[team], name))
    return out


def check_evaluator_criteria(counts: dict[str, Counts], found_share: float,
                             min_flags: int) -> None:
    everything = total(counts)
    assert everything.flags >= min_flags, f"too few flags to judge the rule: {everything}"
    assert everything.wrong_direction == 0, everything
    assert everything.near_zero_flags <= 0.05 * everything.flags, everything
    assert everything.found >= found_share * everything.eligible, everything
    # pilot has a single calibration: nobody can be judged, and nobody is called "within the
    # band" on one call either (every pilot evaluator is declined, none flagged or cleared)
    assert counts["pilot"].flags == 0 and counts["pilot"].eligible == 0, counts["pilot"]


@pytest.fixture(scope="module")
def default_orgs():
    return [generate_org(seed) for seed in SEEDS]


@pytest.fixture(scope="module")
def drift_results(default_orgs):
    """The expert's drift for every team and report month (history from 2026-05 to that month),
    with the month's true drift; 20 seeds."""
    rows = []
    for org in default_orgs[:20]:
        for team, frame, shift in windows(org):
            for month in sorted(frame["month"].unique()):
                rows.append((org.seed, team, month, expert_drift(frame[frame["month"] <= month]),
                             true_drift(frame, shift, month)))
    return rows


def drift_records(results, threshold: float) -> pd.DataFrame:
    return pd.DataFrame([{"seed": seed, "team": team, "month": month, "status": v.status,
                          "drift": v.drift, "truth": truth}
                         for seed, team, month, result, truth in results
                         for v in drift_verdicts(result, month=month, threshold=threshold)])


@pytest.mark.slow
def test_evaluator_verdicts_agree_with_the_true_severity_on_the_default_history(default_orgs):
    counts = evaluator_counts(default_orgs)
    for team, c in counts.items():
        print(f"\n{team}: {c}")
    everything = total(counts)
    print(f"default history, {len(SEEDS)} seeds, all teams: {everything}")
    check_evaluator_criteria(counts, 0.8, min_flags=150)
    assert everything.eligible >= 150
    with_history = total(counts, ("demo", "north"))
    assert with_history.unjudged_eligible == 0, with_history
    assert with_history.found >= 0.8 * with_history.eligible, with_history


@pytest.mark.slow
def test_expert_drift_is_a_verdict_only_in_months_whose_true_drift_exceeds_it(drift_results):
    records = drift_records(drift_results, DRIFT_THRESHOLD)
    verdicts = records[records["status"] == "drift"]
    beyond = records["truth"].abs() > DRIFT_THRESHOLD
    watch = records["status"] == "watch"
    print(f"\ndrift ±{DRIFT_THRESHOLD:g}: {len(records)} team-months, {int(beyond.sum())} with "
          f"true drift beyond, {len(verdicts)} verdicts, "
          f"{int((verdicts['truth'].abs() <= DRIFT_THRESHOLD).sum())} false; watch "
          f"{int(watch.sum())} ({int((watch & beyond).sum())} of them truly beyond)")
    false = verdicts[verdicts["truth"].abs() <= DRIFT_THRESHOLD]
    assert false.empty, f"drift verdicts in months whose true drift is inside the band:\n{false}"
    # the demo expert drifts: October (true drift about 11.5) is at least "watch" most of the time
    october = records[(records["team"] == "demo") & (records["month"] == REPORT_MONTH)]
    assert (october["status"] != "steady").mean() >= 0.8, october["status"].value_counts()
    assert (records.loc[records["team"] == "north", "status"] == "drift").sum() == 0


@pytest.mark.slow
def test_with_a_lower_drift_threshold_verdicts_appear_and_stay_true(drift_results):
    # the demo expert's true drift passes 5 points from 2026-08 on, so verdicts can be earned
    records = drift_records(drift_results, 5.0)
    verdicts = records[records["status"] == "drift"]
    false = verdicts[verdicts["truth"].abs() <= 5.0]
    print(f"\ndrift ±5: {len(verdicts)} verdicts, {len(false)} false, "
          f"{int((records['truth'].abs() > 5.0).sum())} team-months truly beyond")
    assert len(verdicts) >= 2, "no drift verdict at all: the rule can never fire"
    assert false.empty, f"drift verdicts in months whose true drift is inside ±5:\n{false}"


@pytest.mark.slow
def test_evaluator_verdicts_on_a_longer_history_find_more_and_stay_right():
    orgs = [generate_org(seed, calls_per_month=12) for seed in range(6)]
    counts = evaluator_counts(orgs)
    print(f"\n12 calls a month, 6 seeds: {total(counts)}")
    check_evaluator_criteria(counts, 0.9, min_flags=30)

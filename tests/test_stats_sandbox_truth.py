"""The statistics recover the sandbox's known truth: bias CIs cover it at about their nominal
rate over many seeds, and the drifting calibrator (team "demo") is flagged while the stable one
("north") is not.

The truth an evaluator's score differences should recover is the evaluator's expected shift of
the *total score*: ``truth.evaluator_severity`` (or, for the expert, ``truth.calibrator_drift``
that month) plus the weighted effect of the evaluator's own reading of each question
(``truth.evaluator_reading``). The readings are centred per evaluator with equal weights, but the
total score weights questions by group weight and points, so a residue of about 2 points (SD)
remains; :func:`reading_residue` computes it from the form. Without it the 95% CIs cover
``evaluator_severity`` alone only about 80% of the time. From 2026-08 form v2 has AI scoring and
panel evaluators keep some of the AI's answers: :func:`anchoring_shift` adds, per evaluation, the
points that anchoring changed (``Org.anchoring_truth``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from calib.sandbox import generate_org
from calib.stats.bias import evaluator_bias, evaluator_severity
from calib.stats.drift import calibrator_drift

SEEDS = range(10)
TEAMS = ("demo", "north")


@pytest.fixture(scope="module")
def orgs():
    """Ten orgs with a year-like history: 12 calibrations a month per team."""
    out = []
    for seed in SEEDS:
        org = generate_org(seed, calls_per_month=12, conversations_per_day=1)
        out.append((org, org.tidy_scores()))
    return out


def reading_residue(org, evaluator_id: str, form_id: str) -> float:
    """Points the evaluator's question readings add to the expected total on this form."""
    form = org.forms_by_id[form_id]
    num = den = 0.0
    for group in form["questionGroups"]:
        for q in group["questions"]:
            top = max(o["value"] for o in q["answerOptions"]) * group["weight"]
            den += top
            if not q["isKill"]:  # the fatal question is read the same way by everyone
                num += top * org.truth.evaluator_reading.get((evaluator_id, q["id"]), 0.0)
    return 100.0 * num / den


def true_shift(org, team: str, frame: pd.DataFrame) -> pd.Series:
    """Expected score shift of each evaluation (row) against an unbiased reading."""
    truth = org.truth
    expert = truth.teams[team]["expert_id"]
    base = np.where(frame["evaluator_id"] == expert,
                    [truth.calibrator_drift.get((expert, m), 0.0) for m in frame["month"]],
                    frame["evaluator_id"].map(truth.evaluator_severity).fillna(0.0))
    pairs = frame[["evaluator_id", "form_id"]].drop_duplicates()
    cache = {(e, f): reading_residue(org, e, f) for e, f in zip(pairs.evaluator_id, pairs.form_id)}
    residue = [cache[pair] for pair in zip(frame["evaluator_id"], frame["form_id"])]
    return pd.Series(base + np.array(residue) + anchoring_shift(org, frame), index=frame.index)


def anchoring_shift(org, frame: pd.DataFrame) -> np.ndarray:
    """Points anchoring on the AI's suggestions moved each evaluation (0 without AI scoring)."""
    moved = org.anchoring_truth().groupby("evaluation_id")["anchoring_shift"].first()
    return frame["evaluation_id"].map(moved).fillna(0.0).to_numpy()


def true_bias(frame: pd.DataFrame, shift: pd.Series) -> pd.DataFrame:
    """Per evaluator, the expected bias vs the expert and vs the leave-one-out consensus."""
    f = frame.assign(shift=shift)
    calls = f.groupby("calibration_id")["shift"]
    f = f[calls.transform("size") >= 2]
    loo = (f.groupby("calibration_id")["shift"].transform("sum") - f["shift"]) / (
        f.groupby("calibration_id")["shift"].transform("size") - 1)
    expert_shift = f.loc[f.role == "expert"].set_index("calibration_id")["shift"]
    vs_expert = f.loc[f.role != "expert"].assign(
        d=lambda x: x["shift"] - x["calibration_id"].map(expert_shift)).dropna(subset=["d"])
    return pd.concat([
        vs_expert.groupby("evaluator_id")["d"].mean().rename("truth").reset_index()
        .assign(reference="expert"),
        (f["shift"] - loo).groupby(f["evaluator_id"]).mean().rename("truth").reset_index()
        .assign(reference="consensus")])


@pytest.mark.slow
def test_bias_and_severity_cis_cover_the_truth_at_about_the_nominal_rate(orgs):
    hits = {"expert": [], "consensus": [], "severity": []}
    for org, scores in orgs:
        for team in TEAMS:
            frame = scores[(scores.team == team) & (scores.status == "FINISHED")]
            shift = true_shift(org, team, frame)
            merged = evaluator_bias(frame).merge(true_bias(frame, shift),
                                                 on=["evaluator_id", "reference"])
            for ref in ("expert", "consensus"):
                part = merged[merged.reference == ref]
                hits[ref] += list((part.ci_low <= part.truth) & (part.truth <= part.ci_high))
            if team == "north":  # the additive model assumes a stable expert
                severity = evaluator_severity(frame)
                truth = shift.groupby(frame["evaluator_id"]).mean()
                truth = truth - truth.mean()
                mapped = severity["evaluator_id"].map(truth)
                hits["severity"] += list((severity.ci_low <= mapped) & (mapped <= severity.ci_high))
    for name, values in hits.items():
        rate = float(np.mean(values))
        assert len(values) >= 50, f"{name}: too few intervals ({len(values)}) to judge coverage"
        assert 0.87 <= rate <= 0.995, f"{name}: 95% CIs covered the truth {rate:.1%} of the time"


@pytest.mark.slow
def test_the_drifting_calibrator_is_flagged_and_the_stable_one_is_not(orgs):
    flagged = {team: [] for team in TEAMS}
    rising = {team: [] for team in TEAMS}
    for org, scores in orgs:
        for team in TEAMS:
            result = calibrator_drift(scores[scores.team == team])
            flagged[team].append(result.flagged)
            rising[team].append(result.slope_ci_low > 0)
    assert np.mean(flagged["demo"]) >= 0.8, f"demo flagged in {flagged['demo']}"
    assert np.mean(rising["demo"]) >= 0.8, f"demo's upward trend found in {rising['demo']}"
    assert np.mean(flagged["north"]) <= 0.1, f"north flagged in {flagged['north']}"
    assert np.mean(rising["north"]) <= 0.2, f"north's flat drift called rising {rising['north']}"


@pytest.mark.slow
def test_monthly_drift_cis_cover_the_calibrators_true_drift(orgs):
    hits = []
    for org, scores in orgs:
        for team in TEAMS:
            frame = scores[(scores.team == team) & (scores.status == "FINISHED")]
            expert = org.truth.teams[team]["expert_id"]
            shift = true_shift(org, team, frame)
            table = calibrator_drift(frame).table
            for _, row in table.iterrows():
                month = frame.month == row["month"]
                calls = frame.loc[month, "calibration_id"]
                panel = shift[month & (frame.role != "expert")].groupby(calls).mean()
                gap = (shift[month & (frame.role == "expert")].groupby(calls).sum() - panel)
                truth = float(gap.dropna().mean())
                hits.append(row["ci_low"] <= truth <= row["ci_high"])
                assert frame.loc[month & (frame.role == "expert"), "evaluator_id"].eq(
                    expert).all()
    rate = float(np.mean(hits))
    assert 0.85 <= rate <= 0.995, f"monthly drift CIs covered the truth {rate:.1%} of the time"

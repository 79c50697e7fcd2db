"""The expert against the severity-corrected panel: equal to calibrator_drift on complete panels,
unbiased where calibrator_drift is not (an incomplete panel), and clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from calib.stats.drift import calibrator_drift
from calib.stats.expert_drift import expert_drift
from tests.test_stats_severity import synthetic

SEVERITY = {"ann": 5.0, "bob": 0.0, "cat": -5.0}
DRIFT = {"2026-05": 0.0, "2026-06": 3.0, "2026-07": 6.0}


def month_of(c: int) -> str:
    return f"2026-{5 + c // 8:02d}"


def test_on_a_complete_panel_it_equals_calibrator_drift():
    scores = synthetic(SEVERITY, [[*SEVERITY, "expert"]] * 24, month_of, noise=2.0,
                       drift=DRIFT)
    scores["calibrator_id"] = "cal"
    ours = expert_drift(scores)
    theirs = calibrator_drift(scores)
    for column in ("drift", "ci_low", "ci_high"):
        np.testing.assert_allclose(ours.table[column], theirs.table[column], atol=1e-9)
    assert list(ours.table["n_calls"]) == [8, 8, 8]
    assert ours.slope_per_month == pytest.approx(theirs.slope_per_month)
    assert (ours.slope_ci_low, ours.slope_ci_high) == pytest.approx(
        (theirs.slope_ci_low, theirs.slope_ci_high))


def test_on_an_incomplete_panel_it_corrects_for_who_scored_the_call():
    # the expert often scores with the lenient evaluator alone: the raw panel mean on those
    # calls is high, so calibrator_drift reads the expert as harsh; the corrected one does not
    rng = np.random.default_rng(1)
    calls = []
    for c in range(24):
        calls.append([*SEVERITY, "expert"] if c % 3 == 0 else ["ann", "bob", "expert"]
                     if rng.random() < 0.5 else ["ann", "expert"])
    scores = synthetic(SEVERITY, calls, month_of, drift=DRIFT)
    scores["calibrator_id"] = "cal"
    ours = expert_drift(scores).table.set_index("month")["drift"]
    raw = calibrator_drift(scores).table.set_index("month")["drift"]
    truth = pd.Series(DRIFT)
    np.testing.assert_allclose(ours, truth, atol=1e-9)  # noise-free: exact
    assert (raw < truth - 2).all()


def test_calls_without_an_expert_or_with_only_the_expert_are_excluded_with_reasons():
    calls = [[*SEVERITY, "expert"]] * 6 + [["ann", "bob"]] * 2 + [["expert"]]
    scores = synthetic(SEVERITY, calls, noise=1.0)
    result = expert_drift(scores)
    reasons = result.excluded["reason"]
    assert reasons.str.contains("no finished expert evaluation").sum() == 4
    assert reasons.str.contains("the expert is the only finished evaluation").sum() == 1
    assert result.table["n_calls"].tolist() == [6]
    assert np.isnan(result.slope_per_month)  # one month: no trend


def test_no_comparable_call_raises_a_sentence():
    scores = synthetic(SEVERITY, [["ann", "bob"]] * 3)
    with pytest.raises(ValueError, match="role 'expert'"):
        expert_drift(scores)

"""Calibrator drift: expert minus the rest of the panel, per month, with CI, trend and flag."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats as sps

from calib.stats.drift import calibrator_drift


def history(offsets: dict[str, float], *, calls_per_month: int = 6, seed: int = 0,
            calibrator: str | None = "cal-1", noise: float = 2.0) -> pd.DataFrame:
    """Expert = true score + offset[month]; four panel members = true score + noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for month, offset in offsets.items():
        for c in range(calls_per_month):
            cal = f"{month}-c{c}"
            truth = rng.uniform(60, 85)
            members = [("boss", "expert", truth + offset + rng.normal(0, noise))]
            members += [(f"ev{k}", "evaluator", truth + rng.normal(0, noise)) for k in range(4)]
            for who, role, score in members:
                rows.append({"month": month, "calibration_id": cal, "calibrator_id": calibrator,
                             "evaluator_id": who, "evaluation_id": f"{cal}-{who}", "role": role,
                             "status": "FINISHED", "total_score": float(np.clip(score, 0, 100))})
    return pd.DataFrame(rows)


def test_per_month_drift_is_the_mean_expert_minus_panel_gap_with_a_t_interval():
    rows = []
    for cal, expert, panel in [("a", 82.0, [80.0, 80.0]), ("b", 74.0, [70.0, 70.0])]:
        rows.append({"month": "2026-01", "calibration_id": cal, "calibrator_id": "cal",
                     "evaluator_id": "boss", "role": "expert", "status": "FINISHED",
                     "total_score": expert})
        rows += [{"month": "2026-01", "calibration_id": cal, "calibrator_id": "cal",
                  "evaluator_id": f"e{i}", "role": "evaluator", "status": "FINISHED",
                  "total_score": s} for i, s in enumerate(panel)]
    result = calibrator_drift(pd.DataFrame(rows))
    row = result.table.iloc[0]
    half = sps.t.ppf(0.975, 1) * np.std([2.0, 4.0], ddof=1) / np.sqrt(2)
    assert (row["n"], row["drift"]) == (2, 3.0)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((3.0 - half, 3.0 + half))
    assert not row["flagged"] and not result.flagged
    assert np.isnan(result.slope_per_month), "one month: no trend"


def test_a_calibrator_drifting_ten_points_above_the_team_is_flagged_with_a_rotation_hint():
    months = {f"2026-{m:02d}": (0.0 if m <= 3 else 12.0) for m in range(1, 7)}
    result = calibrator_drift(history(months))
    flagged = result.table.set_index("month")["flagged"]
    assert list(flagged[flagged].index) == ["2026-04", "2026-05", "2026-06"]
    assert result.flagged
    assert "rotate the calibrator role" in result.suggestion
    assert "calibration-of-calibrators" in result.suggestion and "cal-1" in result.suggestion
    assert "above" in result.suggestion
    assert result.slope_per_month > 0 and result.slope_ci_low > 0


def test_a_harsh_expert_is_flagged_too():
    result = calibrator_drift(history({"2026-01": -15.0, "2026-02": -14.0}))
    assert result.table["flagged"].all() and "below" in result.suggestion


def test_small_gaps_are_not_flagged_even_when_significant():
    result = calibrator_drift(history({"2026-01": 6.0, "2026-02": 6.0}, calls_per_month=12))
    assert (result.table["ci_low"] > 0).all(), "premise: the gap is clearly above zero"
    assert not result.flagged
    assert "no rotation" in result.suggestion


def test_slope_matches_statsmodels_ols_over_calendar_months():
    data = history({"2025-11": 1.0, "2025-12": 3.0, "2026-02": 6.0}, seed=4)
    result = calibrator_drift(data)
    expert = data[data.role == "expert"].set_index("calibration_id")
    panel = data[data.role != "expert"].groupby("calibration_id").total_score.mean()
    frame = pd.DataFrame({"diff": expert.total_score - panel,
                          "t": expert.month.map({"2025-11": 0, "2025-12": 1, "2026-02": 3})})
    fit = smf.ols("diff ~ t", frame).fit()
    low, high = fit.conf_int().loc["t"]
    assert result.slope_per_month == pytest.approx(fit.params["t"])
    assert (result.slope_ci_low, result.slope_ci_high) == pytest.approx((low, high))


def test_calibrations_without_an_expert_are_excluded_and_reported():
    data = history({"2026-01": 0.0}, calls_per_month=3)
    no_expert = data.calibration_id == "2026-01-c0"
    data.loc[no_expert & (data.role == "expert"), "status"] = "INPROGRESS"
    data.loc[no_expert & (data.role == "expert"), "total_score"] = np.nan
    alone = data.calibration_id == "2026-01-c1"
    data = data[~alone | (data.role == "expert")]
    result = calibrator_drift(data)
    assert result.table["n"].item() == 1
    reasons = result.excluded.groupby("calibration_id")["reason"].agg(set)
    assert any("not FINISHED" in r for r in reasons["2026-01-c0"])
    assert "no finished expert evaluation on the calibration" in reasons["2026-01-c0"]
    assert reasons["2026-01-c1"] == {"the expert is the only finished evaluation on the "
                                     "calibration"}


def test_the_expert_stands_in_when_the_calibrator_id_is_missing():
    result = calibrator_drift(history({"2026-01": 0.0}, calibrator=None))
    assert result.table["calibrator_id"].tolist() == ["boss"]


def test_bad_input_raises_sentences():
    data = history({"2026-01": 0.0})
    with pytest.raises(ValueError, match="YYYY-MM"):
        calibrator_drift(data.assign(month="January 2026"))
    with pytest.raises(ValueError, match="role 'expert'"):
        calibrator_drift(data.assign(role="evaluator"))
    with pytest.raises(ValueError, match="threshold"):
        calibrator_drift(data, threshold=0)
    with pytest.raises(ValueError, match="lacks the column"):
        calibrator_drift(data.drop(columns="month"))


def test_a_steady_trend_reaching_the_threshold_is_flagged_even_when_months_are_noisy():
    months = {f"2026-{m:02d}": 2.0 * (m - 1) for m in range(1, 9)}  # 0 ... 14 points
    result = calibrator_drift(history(months, calls_per_month=2, noise=5.0, seed=0))
    assert not result.table["flagged"].any(), "premise: two calls a month, no month is sure"
    assert result.slope_ci_low > 0 and result.fitted_latest >= 10
    assert result.flagged
    assert "growing" in result.suggestion and "rotate the calibrator role" in result.suggestion


def test_the_suggestion_names_the_calibrator_when_the_scores_carry_names():
    """A QM lead reads "Calibrator Kim Lee", not the calibrator's id; without names the id
    stays (the only handle there is)."""
    gaps = {"2026-08": [-1, 1, 0], "2026-09": [6, 8, 7], "2026-10": [13, 15, 14]}
    rows = [(month, f"{month}-{call}", "u-kim", evaluator, role, 70.0 + gap * (role == "expert")
             + {"u-ann": -1.0, "u-bob": 1.0}.get(evaluator, 0.0), "FINISHED", name)
            for month, month_gaps in gaps.items() for call, gap in enumerate(month_gaps)
            for evaluator, role, name in (("u-kim", "expert", "Kim Lee"),
                                          ("u-ann", "evaluator", "Ann Roe"),
                                          ("u-bob", "evaluator", "Bob Day"))]
    scores = pd.DataFrame(rows, columns=["month", "calibration_id", "calibrator_id",
                                         "evaluator_id", "role", "total_score", "status",
                                         "evaluator_name"])
    named = calibrator_drift(scores).suggestion
    assert named.startswith("Calibrator Kim Lee:") and "u-kim" not in named
    assert calibrator_drift(scores.drop(columns="evaluator_name")).suggestion.startswith(
        "Calibrator u-kim:")

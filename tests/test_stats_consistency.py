"""Consistency level and trend statistics: ICC(A,1) as calib.stats.icc computes it, the spread
trend's slope as scipy's, and its permutation p-value as scipy.stats.permutation_test's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from calib.stats.consistency import agreement_icc, monthly_icc, spread_trend
from calib.stats.intraclass import icc
from tests.test_stats_severity import synthetic

SEVERITY = {"ann": 2.0, "bob": 0.0, "cat": -2.0, "dan": 1.0}


def history(noise_by_month: dict[str, float], calls_per_month: int = 6, seed: int = 0,
            expert_drift: float = 0.0, severity: dict[str, float] = SEVERITY) -> pd.DataFrame:
    """Synthetic scores whose per-call disagreement follows ``noise_by_month``."""
    frames = []
    for i, (month, noise) in enumerate(noise_by_month.items()):
        part = synthetic(severity, [[*severity, "expert"]] * calls_per_month,
                         lambda c, m=month: m, quality_seed=seed * 100 + i, noise=noise,
                         drift={month: expert_drift * i})
        part["calibration_id"] = month + part["calibration_id"]
        frames.append(part)
    return pd.concat(frames, ignore_index=True)


def test_agreement_icc_is_calib_icc_on_the_evaluators_without_the_expert():
    scores = history({"2026-05": 3.0, "2026-06": 3.0})
    ours = agreement_icc(scores)
    reference = icc(scores[scores.role != "expert"]).set_index("type").loc["ICC(A,1)"]
    assert ours.value == pytest.approx(reference["icc"])
    assert (ours.ci_low, ours.ci_high) == pytest.approx((reference["ci_low"],
                                                         reference["ci_high"]))
    assert ours.n_calls == 12 and ours.n_evaluators == 4 and ours.n_dropped_calls == 0
    with_expert = agreement_icc(scores, include_expert=True)
    assert with_expert.n_evaluators == 5


def test_a_drifting_expert_lowers_the_icc_only_when_included():
    scores = history({f"2026-{m:02d}": 2.0 for m in range(5, 11)}, expert_drift=2.0)
    without, with_expert = agreement_icc(scores), agreement_icc(scores, include_expert=True)
    assert with_expert.value < without.value - 0.05


def test_monthly_icc_has_one_row_per_month_and_nan_where_undefined():
    scores = history({"2026-05": 3.0, "2026-06": 3.0})
    one_call = scores[(scores.month == "2026-06")
                      & (scores.calibration_id == scores.calibration_id.max())]
    table = monthly_icc(pd.concat([scores[scores.month == "2026-05"], one_call]))
    assert list(table["month"]) == ["2026-05", "2026-06"]
    assert np.isfinite(table.loc[0, "icc"]) and np.isnan(table.loc[1, "icc"])
    assert table.loc[1, "n_calls"] == 1


def test_spread_slope_is_the_least_squares_slope_of_each_calls_sd():
    scores = history({"2026-05": 1.0, "2026-06": 3.0, "2026-07": 5.0})
    result = spread_trend(scores, n_permutations=999)
    panel = scores[scores.role != "expert"]
    sd = panel.groupby("calibration_id").agg(month=("month", "first"),
                                             sd=("total_score", lambda s: s.std(ddof=1)))
    x = sd["month"].str[5:].astype(int) - 5
    fit = sps.linregress(x, sd["sd"])
    assert result.slope_per_month == pytest.approx(fit.slope)
    half = sps.t.ppf(0.975, len(sd) - 2) * fit.stderr
    assert (result.slope_ci_low, result.slope_ci_high) == pytest.approx(
        (fit.slope - half, fit.slope + half))
    assert result.fitted_last - result.fitted_first == pytest.approx(2 * fit.slope)
    assert result.n_calls == 18 and result.n_months == 3


@pytest.mark.parametrize("seed", range(3))
def test_permutation_p_value_agrees_with_scipy_permutation_test(seed):
    scores = history({"2026-05": 2.0, "2026-06": 2.5, "2026-07": 3.0}, calls_per_month=4,
                     seed=seed)
    ours = spread_trend(scores, n_permutations=9999, seed=seed)
    x = ours.calls["month_index"].to_numpy(float)
    y = ours.calls["spread"].to_numpy(float)

    def slope(values, axis=-1):
        centred = x - x.mean()
        return (values * centred).sum(axis=axis) / (centred ** 2).sum()

    reference = sps.permutation_test(
        (y,), slope, permutation_type="pairings", vectorized=True, n_resamples=9999,
        alternative="two-sided", random_state=seed)
    assert 0.0 < reference.pvalue < 1.0
    assert ours.p_value == pytest.approx(reference.pvalue, abs=0.02)


def test_the_permutation_p_value_is_reproducible_from_the_seed():
    scores = history({"2026-05": 2.0, "2026-06": 3.0, "2026-07": 4.0})
    assert spread_trend(scores, seed=3).p_value == spread_trend(scores, seed=3).p_value


def test_a_trend_needs_two_months_and_enough_permutations():
    scores = history({"2026-05": 2.0})
    with pytest.raises(ValueError, match="at least two months"):
        spread_trend(scores)
    with pytest.raises(ValueError, match="n_permutations"):
        spread_trend(history({"2026-05": 2.0, "2026-06": 2.0}), n_permutations=10)

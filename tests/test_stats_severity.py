"""Panel severity over a window: the published Shrout-Fleiss example, statsmodels cross-checks on
unbalanced data (window, month-by-month and trend contrasts), the expert left out of the
reference, and the "calls needed" count."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats as sps

from calib.stats.severity import panel_severity
from tests.test_stats_bias import SHROUT_FLEISS, random_unbalanced, shrout_fleiss_scores

# evaluator x month levels and evaluator slopes are aliased with the call effects by design
RANK_DEFICIENT = "ignore::statsmodels.tools.sm_exceptions.SingularMatrixWarning"


def panel_only(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(role="evaluator")


def with_months(frame: pd.DataFrame, n_months: int = 3) -> pd.DataFrame:
    calls = sorted(frame["calibration_id"].unique())
    month_of = {c: f"2026-{1 + i * n_months // len(calls):02d}" for i, c in enumerate(calls)}
    return frame.assign(month=frame["calibration_id"].map(month_of))


def loo_contrast(model, levels: list[str], level: str, name) -> tuple[float, float]:
    """statsmodels estimate and SE of level − mean(other levels), treatment coding."""
    weights = {lv: (1.0 if lv == level else -1.0 / (len(levels) - 1)) for lv in levels}
    vector = np.zeros(len(model.params))
    for lv, w in weights.items():
        key = name(lv)
        if key in model.params.index:
            vector[model.params.index.get_loc(key)] = w
    test = model.t_test(vector)
    return float(np.squeeze(test.effect)), float(np.squeeze(test.sd))


def test_shrout_fleiss_judge_1_is_3_17_points_above_the_others_with_the_anova_error():
    # Shrout & Fleiss (1979), Table 2: judge 1 mean 7.67, judges 2-4 means 2.50, 4.33, 6.67;
    # their ANOVA gives EMS = 1.02 on (6-1)(4-1) = 15 df.
    scores = with_months(shrout_fleiss_scores(), 1)
    out = panel_severity(scores).table.set_index("evaluator_id")
    assert out.loc["j1", "severity"] == pytest.approx(7.6667 - (2.5 + 4.3333 + 6.6667) / 3,
                                                      abs=1e-3)
    assert out.loc["j1", "severity"] == pytest.approx(3.17, abs=0.005)
    values = np.array(SHROUT_FLEISS, float)
    resid = (values - values.mean(1, keepdims=True) - values.mean(0) + values.mean())
    ems = float((resid ** 2).sum() / 15)
    assert ems == pytest.approx(1.02, abs=0.005)
    se = np.sqrt(ems / 6 * (1 + 1 / 3))  # var(mean_j) + var(mean of 3 others)
    assert out.loc["j1", "se"] == pytest.approx(se, rel=1e-9)
    half = sps.t.ppf(0.975, 15) * se
    assert (out.loc["j1", "ci_low"], out.loc["j1", "ci_high"]) == pytest.approx(
        (3.1667 - half, 3.1667 + half), abs=1e-3)
    assert set(out["n_calls"]) == {6} and set(out["n_reference"]) == {3}


@pytest.mark.parametrize("seed", range(4))
def test_window_severity_matches_statsmodels_ols_contrasts_on_unbalanced_data(seed):
    scores = with_months(panel_only(random_unbalanced(seed)))
    result = panel_severity(scores)
    model = smf.ols("total_score ~ C(calibration_id) + C(evaluator_id)", data=scores).fit()
    levels = sorted(scores["evaluator_id"].unique())
    assert result.df_resid == int(model.df_resid)
    assert result.residual_sd == pytest.approx(np.sqrt(model.scale), rel=1e-8)
    for row in result.table.itertuples():
        effect, sd = loo_contrast(model, levels, row.evaluator_id,
                                  lambda lv: f"C(evaluator_id)[T.{lv}]")
        assert row.severity == pytest.approx(effect, abs=1e-8)
        assert row.se == pytest.approx(sd, rel=1e-6)


@pytest.mark.filterwarnings(RANK_DEFICIENT)
@pytest.mark.parametrize("seed", range(3))
def test_monthly_severity_matches_statsmodels_evaluator_by_month_contrasts(seed):
    scores = with_months(panel_only(random_unbalanced(seed, n_calls=36)))
    monthly = panel_severity(scores).monthly
    scores = scores.assign(level=scores["evaluator_id"] + "_" + scores["month"])
    model = smf.ols("total_score ~ C(calibration_id) + C(level)", data=scores).fit()
    for month, part in monthly.groupby("month"):
        levels = sorted(scores.loc[scores.month == month, "level"].unique())
        for row in part.itertuples():
            effect, sd = loo_contrast(model, levels, f"{row.evaluator_id}_{month}",
                                      lambda lv: f"C(level)[T.{lv}]")
            assert row.severity == pytest.approx(effect, abs=1e-7)
            assert row.se == pytest.approx(sd, rel=1e-6)


@pytest.mark.filterwarnings(RANK_DEFICIENT)
def test_severity_trend_matches_statsmodels_evaluator_slopes():
    scores = with_months(panel_only(random_unbalanced(5, n_calls=40)), 4)
    number = scores["month"].str[5:].astype(int)
    scores = scores.assign(x=number - number.mean())
    trend = panel_severity(scores).trend
    model = smf.ols("total_score ~ C(calibration_id) + C(evaluator_id) + C(evaluator_id):x",
                    data=scores).fit()
    levels = sorted(scores["evaluator_id"].unique())
    for row in trend.itertuples():
        effect, sd = loo_contrast(model, levels, row.evaluator_id,
                                  lambda lv: f"C(evaluator_id)[{lv}]:x")
        assert row.n_months == 4
        assert row.slope_per_month == pytest.approx(effect, abs=1e-7)
        assert row.se == pytest.approx(sd, rel=1e-6)


def synthetic(severity: dict[str, float], calls: list[list[str]], month_of=None,
              quality_seed: int = 0, noise: float = 0.0, drift=None) -> pd.DataFrame:
    """Scores = call quality + evaluator severity (+ noise); ``calls`` lists who scored each."""
    rng = np.random.default_rng(quality_seed)
    rows = []
    for c, who in enumerate(calls):
        quality = rng.uniform(60, 85)
        month = month_of(c) if month_of else "2026-05"
        for e in who:
            shift = (drift or {}).get(month, 0.0) if e == "expert" else severity[e]
            rows.append({"month": month, "calibration_id": f"c{c:03d}", "evaluator_id": e,
                         "evaluator_name": e.title(), "evaluation_id": f"c{c}{e}",
                         "role": "expert" if e == "expert" else "evaluator",
                         "status": "FINISHED",
                         "total_score": quality + shift + rng.normal(0, noise) * bool(noise)})
    return pd.DataFrame(rows)


def test_an_evaluator_who_scored_only_easy_calls_is_judged_on_the_same_calls_as_the_others():
    severity = {"ann": 4.0, "bob": 0.0, "cat": -4.0, "dan": 0.0}
    rng = np.random.default_rng(3)
    calls = [list(rng.choice(list(severity), size=int(rng.integers(2, 4)), replace=False))
             for _ in range(40)]
    scores = synthetic(severity, calls)
    out = panel_severity(scores).table.set_index("evaluator_id")
    for e, s in severity.items():  # noise-free additive data: recovered exactly
        others = np.mean([v for k, v in severity.items() if k != e])
        assert out.loc[e, "severity"] == pytest.approx(s - others, abs=1e-9)


def test_a_drifting_expert_does_not_move_anyone_elses_severity():
    severity = {"ann": 3.0, "bob": -1.0, "cat": -2.0}
    calls = [["ann", "bob", "cat", "expert"]] * 30
    month_of = lambda c: f"2026-{5 + c // 5:02d}"  # noqa: E731 - six months of five calls
    steady = synthetic(severity, calls, month_of, noise=2.0)
    drifting = steady.copy()
    expert = drifting["role"] == "expert"
    drifting.loc[expert, "total_score"] += (drifting.loc[expert, "month"].str[5:].astype(int) - 5) * 2.5
    a = panel_severity(steady)
    b = panel_severity(drifting)
    pd.testing.assert_frame_equal(a.table, b.table)
    pd.testing.assert_frame_equal(a.monthly, b.monthly)
    assert a.residual_sd == b.residual_sd
    assert "expert" not in set(a.table["evaluator_id"])
    reasons = a.excluded["reason"].str.contains("the expert's evaluation")
    assert reasons.sum() == 30


def test_disconnected_groups_are_each_judged_against_their_own_consensus():
    severity = {"ann": 2.0, "bob": -2.0, "cat": 0.0, "dan": 5.0, "eve": -5.0}
    calls = [["ann", "bob", "cat"]] * 6 + [["dan", "eve"]] * 6
    out = panel_severity(synthetic(severity, calls, noise=1.0)).table.set_index("evaluator_id")
    assert out.loc["ann", "n_reference"] == 2 and out.loc["dan", "n_reference"] == 1
    assert out.loc["dan", "severity"] == pytest.approx(10.0, abs=3.0)


def test_calls_needed_follows_the_closed_form_for_a_complete_panel():
    # complete panel of K evaluators: n * v = K / (K - 1), so the total is
    # (t sigma / target)^2 K / (K - 1) calls (module docstring of calib.stats.severity)
    severity = {"ann": 1.0, "bob": 0.0, "cat": -1.0, "dan": 0.0}
    scores = synthetic(severity, [list(severity)] * 8, noise=6.0)
    result = panel_severity(scores, target_half_width=3.0)
    t = sps.t.ppf(0.975, result.df_resid)
    total = (t * result.residual_sd / 3.0) ** 2 * 4 / 3
    assert (result.table["half_width"] > 3.0).all()
    assert set(result.table["calls_needed"]) == {int(np.ceil(total - 8))}
    wide = panel_severity(scores, target_half_width=50.0).table
    assert set(wide["calls_needed"]) == {0}


def test_calls_needed_is_about_what_a_later_history_of_that_size_gives():
    severity = {"ann": 1.0, "bob": 0.0, "cat": -1.0, "dan": 0.0, "eve": 0.5}
    first = panel_severity(synthetic(severity, [list(severity)] * 6, noise=5.0, quality_seed=1),
                           target_half_width=2.0)
    more = int(first.table["calls_needed"].max())
    assert more > 0
    halves = [panel_severity(synthetic(severity, [list(severity)] * (6 + more), noise=5.0,
                                       quality_seed=seed), target_half_width=2.0)
              .table["half_width"].median() for seed in range(2, 42)]
    # "about N more would settle it": the half-width then sits around the target
    assert 1.6 < float(np.median(halves)) < 2.4


def test_bad_input_raises_sentences_that_say_what_to_fix():
    lone = synthetic({"ann": 0.0}, [["ann", "expert"]] * 3)
    with pytest.raises(ValueError, match="No call was scored by two panel evaluators"):
        panel_severity(lone)
    scores = synthetic({"ann": 0.0, "bob": 1.0}, [["ann", "bob"]] * 3)
    with pytest.raises(ValueError, match="target_half_width must be a positive"):
        panel_severity(scores, target_half_width=0)
    with pytest.raises(ValueError, match="confidence"):
        panel_severity(scores, confidence=95)
    with pytest.raises(ValueError, match="month"):
        panel_severity(scores.drop(columns="month"))


def test_a_single_call_gives_estimates_without_a_ci_and_no_calls_needed():
    out = panel_severity(synthetic({"ann": 1.0, "bob": 0.0, "cat": -1.0},
                                   [["ann", "bob", "cat"]])).table
    assert out["ci_low"].isna().all() and out["calls_needed"].isna().all()
    assert (out["n_calls"] == 1).all()

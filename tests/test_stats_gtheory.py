"""G-study and D-study: Brennan (2001) synthetic data sets, Shrout & Fleiss, statsmodels, simulation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

from calib.stats.gtheory import d_study, evaluators_needed, g_study, henderson1

# Brennan (2001), ch. 2: Synthetic Data Set No. 1, 10 persons x 12 items (p x i).
BRENNAN_1 = [[1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0], [1, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0],
             [1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0], [1, 1, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0],
             [1, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0], [1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0, 0],
             [1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0], [1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 0, 0],
             [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]]
# Brennan (2001), ch. 3: Synthetic Data Set No. 3, 10 persons x 4 items x 2 occasions.
BRENNAN_3 = {
    "o1": {"i1": [2, 4, 5, 5, 4, 4, 2, 3, 0, 6], "i2": [6, 5, 5, 9, 3, 4, 6, 4, 5, 8],
           "i3": [7, 6, 4, 8, 5, 4, 6, 4, 4, 7], "i4": [5, 7, 6, 6, 6, 7, 5, 5, 5, 6]},
    "o2": {"i1": [2, 6, 5, 5, 4, 6, 2, 6, 5, 6], "i2": [5, 7, 4, 7, 5, 4, 7, 6, 5, 8],
           "i3": [5, 5, 5, 7, 6, 7, 7, 6, 5, 8], "i4": [5, 7, 5, 6, 4, 8, 5, 4, 3, 6]},
}
SHROUT_FLEISS = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9],
                 [6, 2, 4, 7]]


def table_scores(table) -> pd.DataFrame:
    return pd.DataFrame([
        {"calibration_id": f"c{p:02d}", "evaluator_id": f"e{r:02d}", "evaluation_id": f"{p}-{r}",
         "status": "FINISHED", "total_score": float(v)}
        for p, row in enumerate(table) for r, v in enumerate(row)])


def brennan3_answers() -> pd.DataFrame:
    return pd.DataFrame([
        {"calibration_id": f"p{p}", "evaluator_id": o, "question_id": q, "evaluation_id": f"{p}{o}",
         "points": float(v), "max_points": 9.0, "marked_na": False}
        for o, items in BRENNAN_3.items() for q, values in items.items()
        for p, v in enumerate(values)])


def test_brennan_synthetic_1_components_t_terms_and_coefficients():
    g = g_study(table_scores(BRENNAN_1))
    assert g.method == "anova" and (g.n_calls, g.n_evaluators) == (10, 12)
    assert g.variance("calls") == pytest.approx(0.0574, abs=5e-5)
    assert g.variance("evaluators") == pytest.approx(0.0754, abs=5e-5)
    assert g.variance("calls x evaluators,e") == pytest.approx(0.1269, abs=5e-5)
    t = g.components.attrs["T"]
    assert (t["calls"], t["evaluators"], t["calls x evaluators,e"]) == pytest.approx(
        (44.75, 47.10, 67.00))
    row = d_study(g, [12]).iloc[0]
    assert row["erho2"] == pytest.approx(0.844, abs=5e-4)
    assert row["phi"] == pytest.approx(0.773, abs=5e-4)
    assert g.components["share"].sum() == pytest.approx(1.0)


def test_brennan_synthetic_3_pxixo_components_and_coefficients():
    g = g_study(None, design="calls x questions x evaluators", answers=brennan3_answers(),
                answer_value="points")
    expected = {"calls": 0.5528, "questions": 0.4417, "evaluators": 0.0074,
                "calls x questions": 0.5750, "calls x evaluators": 0.1009,
                "questions x evaluators": 0.1565, "calls x questions x evaluators,e": 0.9352}
    for facet, value in expected.items():
        assert g.variance(facet) == pytest.approx(value, abs=5e-5), facet
    row = d_study(g, [2]).iloc[0]  # n'_i = 4 questions (the G-study's), n'_o = 2
    assert row["erho2"] == pytest.approx(0.64, abs=5e-3)
    assert row["phi"] == pytest.approx(0.55, abs=5e-3)
    assert (g.n_calls, g.n_questions, g.n_evaluators) == (10, 4, 2)


def test_percent_of_max_rescales_every_component_by_the_same_factor():
    raw = g_study(None, design="calls x questions x evaluators", answers=brennan3_answers(),
                  answer_value="points")
    pct = g_study(None, design="calls x questions x evaluators", answers=brennan3_answers())
    np.testing.assert_allclose(pct.components["variance"],
                               raw.components["variance"] * (100 / 9) ** 2)


def test_d_study_reproduces_shrout_fleiss_icc_a_and_c():
    # Shrout & Fleiss (1979), Table 4: ICC(2,1)=.29, ICC(3,1)=.71, ICC(2,4)=.62, ICC(3,4)=.91
    d = d_study(g_study(table_scores(SHROUT_FLEISS)), [1, 4]).set_index("n_evaluators")
    assert (d.loc[1, "phi"], d.loc[1, "erho2"]) == pytest.approx((0.29, 0.71), abs=0.005)
    assert (d.loc[4, "phi"], d.loc[4, "erho2"]) == pytest.approx((0.62, 0.91), abs=0.005)


def test_evaluators_needed_follows_spearman_brown():
    g = g_study(table_scores(SHROUT_FLEISS))
    single = d_study(g, [1]).phi[0]
    expected = int(np.ceil(0.8 * (1 - single) / (single * 0.2) - 1e-12))
    assert evaluators_needed(g, target=0.8) == expected == 10
    assert evaluators_needed(g, target=0.8, max_evaluators=5) is None
    phis = d_study(g, range(1, 20)).phi.to_numpy()
    k = np.arange(1, 20)
    np.testing.assert_allclose(phis, k * single / (1 + (k - 1) * single))


@pytest.mark.parametrize("seed", range(5))
def test_balanced_components_match_statsmodels_anova_mean_squares(seed):
    rng = np.random.default_rng(seed)
    n_calls, n_raters = 15, 5
    table = (70 + rng.normal(0, 6, (n_calls, 1)) + rng.normal(0, 3, (1, n_raters))
             + rng.normal(0, 4, (n_calls, n_raters)))
    data = table_scores(table.clip(0, 100))
    anova = sm.stats.anova_lm(smf.ols("total_score ~ C(calibration_id) + C(evaluator_id)",
                                      data).fit())
    ms = anova["sum_sq"] / anova["df"]
    ms_p, ms_r, ms_e = ms["C(calibration_id)"], ms["C(evaluator_id)"], ms["Residual"]
    g = g_study(data)
    assert g.variance("calls") == pytest.approx((ms_p - ms_e) / n_raters)
    assert g.variance("evaluators") == pytest.approx((ms_r - ms_e) / n_calls)
    assert g.variance("calls x evaluators,e") == pytest.approx(ms_e)


def searle_two_way(data: pd.DataFrame) -> tuple[float, float, float]:
    """Henderson I for the unbalanced two-way crossed classification, written out per Searle,
    Casella & McCulloch (1992) §5.3 with plain loops (an independent check of the matrix code)."""
    y = data.total_score.to_numpy(float)
    n = len(y)
    by_call = {c: g.total_score.to_numpy(float) for c, g in data.groupby("calibration_id")}
    by_rater = {r: g.total_score.to_numpy(float) for r, g in data.groupby("evaluator_id")}
    t_mu = y.sum() ** 2 / n
    t_a = sum(v.sum() ** 2 / len(v) for v in by_call.values())
    t_b = sum(v.sum() ** 2 / len(v) for v in by_rater.values())
    t_0 = (y ** 2).sum()
    k_a = sum(len(v) ** 2 for v in by_call.values()) / n
    k_b = sum(len(v) ** 2 for v in by_rater.values()) / n
    pairs = set(zip(data.calibration_id, data.evaluator_id))
    k_3 = sum(sum(1 for (c2, r) in pairs if c2 == c and r == rr) ** 2 / len(by_call[c])
              for c in by_call for rr in by_rater)  # Σ_i Σ_j n_ij² / n_i.
    k_4 = sum(sum(1 for (c, r2) in pairs if r2 == r and c == cc) ** 2 / len(by_rater[r])
              for r in by_rater for cc in by_call)
    a, b = len(by_call), len(by_rater)
    # E(T_A - T_mu) = (n - k_a) s_a + (k_3 - k_b) s_b + (a - 1) s_e, and so on.
    lhs = np.array([[n - k_a, k_3 - k_b, a - 1],
                    [k_4 - k_a, n - k_b, b - 1],
                    [n - k_a, n - k_b, n - 1]])
    rhs = np.array([t_a - t_mu, t_b - t_mu, t_0 - t_mu])
    return tuple(np.linalg.solve(lhs, rhs))


@pytest.mark.parametrize("seed", range(4))
def test_unbalanced_components_match_searles_henderson_formulas(seed):
    rng = np.random.default_rng(100 + seed)
    rows = []
    for c in range(25):
        quality = rng.normal(70, 6)
        for r in range(7):
            if rng.random() < 0.55:
                rows.append({"calibration_id": f"c{c}", "evaluator_id": f"r{r}",
                             "status": "FINISHED",
                             "total_score": quality + r - 3 + rng.normal(0, 4)})
    data = pd.DataFrame(rows)
    g = g_study(data)
    assert g.method == "henderson1"
    expected = searle_two_way(data)
    got = [g.variance(f) for f in ("calls", "evaluators", "calls x evaluators,e")]
    np.testing.assert_allclose(got, expected, rtol=1e-9)


def test_henderson_is_unbiased_on_unbalanced_panels():
    rng = np.random.default_rng(11)
    truth = np.array([36.0, 9.0, 16.0])  # calls, evaluators, residual
    estimates = []
    for _ in range(400):
        n_calls, n_raters = 30, 12
        panel = rng.random((n_calls, n_raters)) < 0.4
        panel[:, :2] = True  # two permanent members keep the design connected
        calls, raters = np.nonzero(panel)
        y = (rng.normal(0, 6, n_calls)[calls] + rng.normal(0, 3, n_raters)[raters]
             + rng.normal(0, 4, calls.size))
        out = henderson1({"calls": calls.astype(np.int64), "evaluators": raters.astype(np.int64)},
                         y)
        estimates.append(out["variance"].to_numpy())
    mean = np.mean(estimates, axis=0)
    se = np.std(estimates, axis=0, ddof=1) / np.sqrt(len(estimates))
    assert np.all(np.abs(mean - truth) < 4 * se), f"mean {mean} vs truth {truth} (se {se})"


def test_na_answers_and_unfinished_evaluations_are_excluded_with_reasons():
    answers = brennan3_answers()
    answers.loc[0, ["points", "marked_na"]] = [np.nan, True]
    scores = pd.DataFrame([{"calibration_id": f"p{p}", "evaluator_id": o,
                            "evaluation_id": f"{p}{o}",
                            "status": "INPROGRESS" if (p, o) == (9, "o2") else "FINISHED",
                            "total_score": np.nan if (p, o) == (9, "o2") else 50.0}
                           for p in range(10) for o in ("o1", "o2")])
    g = g_study(scores, design="calls x questions x evaluators", answers=answers,
                answer_value="points")
    reasons = g.excluded["reason"].tolist()
    assert sum("N/A or blank" in r for r in reasons) == 1
    assert sum("not a counted finished evaluation" in r for r in reasons) == 4
    assert sum("not FINISHED" in r for r in reasons) == 1
    assert g.method == "henderson1" and g.n_observations == 80 - 1 - 4


def test_bad_input_raises_sentences():
    data = table_scores(SHROUT_FLEISS)
    with pytest.raises(ValueError, match="design must be one of"):
        g_study(data, design="calls x raters")
    with pytest.raises(ValueError, match="at least two evaluators"):
        g_study(data[data.evaluator_id == "e00"])
    with pytest.raises(ValueError, match="All scores are equal"):
        g_study(data.assign(total_score=75.0))
    with pytest.raises(ValueError, match="needs the answers table"):
        g_study(data, design="calls x questions x evaluators")
    g = g_study(data)
    with pytest.raises(ValueError, match="at least 1"):
        d_study(g, [0, 1])
    with pytest.raises(ValueError, match="target"):
        evaluators_needed(g, target=1.5)
    with pytest.raises(ValueError, match="No facet"):
        g.variance("questions")

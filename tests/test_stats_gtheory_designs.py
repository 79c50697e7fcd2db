"""G-theory beyond calls x evaluators: ANOVA tables of every design, nested designs and
Brennan's D-study intervals, pinned to Brennan's (2001) synthetic data sets and checked
against statsmodels' ANOVA and the one-way ICC."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

from calib.stats import d_study, g_study, icc

from tests.test_stats_gtheory import BRENNAN_3, SHROUT_FLEISS, brennan3_answers, table_scores

# Brennan (2001), Table 3.2, p. 73: Synthetic Data Set No. 4, 10 persons x 3 tasks, 4 raters
# nested in each task (p x (r:t)); column "t1_r1" is task 1, rater 1.
BRENNAN_4 = {
    "t1_r1": [5, 9, 3, 7, 9, 3, 7, 5, 9, 4], "t1_r2": [6, 3, 4, 5, 2, 4, 3, 8, 9, 4],
    "t1_r3": [5, 7, 3, 5, 9, 3, 7, 5, 8, 4], "t1_r4": [5, 7, 3, 3, 7, 5, 7, 7, 8, 3],
    "t2_r5": [5, 7, 5, 3, 7, 3, 7, 7, 6, 3], "t2_r6": [3, 5, 3, 1, 7, 3, 5, 5, 6, 5],
    "t2_r7": [4, 5, 3, 4, 3, 6, 5, 5, 6, 6], "t2_r8": [5, 5, 5, 3, 7, 3, 7, 4, 5, 5],
    "t3_r9": [6, 7, 6, 5, 2, 4, 5, 3, 5, 5], "t3_r10": [7, 7, 5, 3, 7, 5, 5, 2, 8, 7],
    "t3_r11": [3, 5, 1, 3, 5, 1, 5, 1, 1, 1], "t3_r12": [3, 2, 6, 5, 3, 2, 4, 1, 1, 1]}


def brennan4_answers() -> pd.DataFrame:
    return pd.DataFrame([
        {"calibration_id": f"p{p}", "question_id": key.split("_")[0],
         "evaluator_id": key.split("_")[1], "evaluation_id": f"p{p}-{key}",
         "points": float(values[p]), "max_points": 9.0}
        for key, values in BRENNAN_4.items() for p in range(10)])


def brennan2_scores() -> pd.DataFrame:
    """Brennan (2001), ch. 2, Synthetic Data Set No. 2 (i:p): 10 persons, 8 items nested in
    persons; the same values as No. 3 read as 8 items per person."""
    return pd.DataFrame([
        {"calibration_id": f"p{p}", "evaluator_id": f"{o}{i}", "status": "FINISHED",
         "total_score": float(values[p])}
        for o, items in BRENNAN_3.items() for i, values in items.items() for p in range(10)])


def anova_of(g) -> pd.DataFrame:
    return g.anova.set_index("facet")


def test_brennan_synthetic_4_nested_raters_in_tasks():
    """Brennan (2001), Table 3.2, p. 73 (p x (r:t)): SS 92.6667, 48.2000, 79.7000, 83.1333,
    192.8000; MS 10.2963, 24.1000, 8.8556, 4.6185, 2.3802; variance components .4731, .3252,
    .6475, .5596, 2.3802; with n'_t = 3 and n'_r = 4, Eρ² = .55 and Φ = .46 (ch. 4)."""
    g = g_study(None, design="calls x (evaluators:questions)", answers=brennan4_answers(),
                answer_value="points")
    anova = anova_of(g)
    order = ["calls", "questions", "evaluators:questions", "calls x questions",
             "calls x evaluators:questions,e"]
    assert anova.loc[order, "df"].tolist() == [9, 2, 9, 18, 81]
    assert anova.loc[order, "ss"].tolist() == pytest.approx(
        [92.6667, 48.2000, 79.7000, 83.1333, 192.8000], abs=5e-5)
    assert anova.loc[order, "ms"].tolist() == pytest.approx(
        [10.2963, 24.1000, 8.8556, 4.6185, 2.3802], abs=5e-5)
    assert [g.variance(f) for f in order] == pytest.approx(
        [0.4731, 0.3252, 0.6475, 0.5596, 2.3802], abs=5e-5)
    assert g.method == "anova" and g.n_evaluators_per_call == 4
    row = d_study(g, [4], n_questions=3).iloc[0]
    assert (round(row["erho2"], 2), round(row["phi"], 2)) == (0.55, 0.46)


def test_brennan_synthetic_2_evaluators_nested_in_calls():
    """Brennan (2001), ch. 2, Synthetic Data Set No. 2 (i:p): SS 62.20 and 141.75, MS 6.9111
    and 2.0250, σ²(p) = .6108, σ²(i:p) = 2.0250, and Eρ² = Φ = .71 with 8 items."""
    g = g_study(brennan2_scores(), design="evaluators:calls")
    anova = anova_of(g)
    assert anova["df"].tolist() == [9, 70]
    assert anova["ss"].tolist() == pytest.approx([62.20, 141.75], abs=5e-5)
    assert anova["ms"].tolist() == pytest.approx([6.9111, 2.0250], abs=5e-5)
    assert g.variance("calls") == pytest.approx(0.6108, abs=5e-5)
    assert g.variance("evaluators:calls,e") == pytest.approx(2.0250, abs=5e-5)
    row = d_study(g, [8]).iloc[0]
    assert round(row["phi"], 2) == round(row["erho2"], 2) == 0.71


def test_brennan_synthetic_3_mean_squares_of_the_crossed_three_facet_design():
    """Brennan (2001), ch. 3, Synthetic Data Set No. 3 (p x i x o): SS 62.20, 37.45, 3.20,
    56.30, 12.05, 7.50, 25.25 and MS 6.9111, 12.4833, 3.2000, 2.0852, 1.3389, 2.5000, .9352
    (12.05 / 9 = 1.3389, consistent with the published σ²(po) = .1009; a transcription that
    circulates with 1.3383 gives .1008)."""
    g = g_study(None, design="calls x questions x evaluators", answers=brennan3_answers(),
                answer_value="points")
    anova = anova_of(g)
    order = ["calls", "questions", "evaluators", "calls x questions", "calls x evaluators",
             "questions x evaluators", "calls x questions x evaluators,e"]
    assert anova.loc[order, "df"].tolist() == [9, 3, 1, 27, 9, 3, 27]
    assert anova.loc[order, "ss"].tolist() == pytest.approx(
        [62.20, 37.45, 3.20, 56.30, 12.05, 7.50, 25.25], abs=5e-3)
    assert anova.loc[order, "ms"].tolist() == pytest.approx(
        [6.9111, 12.4833, 3.2000, 2.0852, 1.3389, 2.5000, 0.9352], abs=5e-5)


def test_brennan_table_6_5_d_study_intervals():
    """Brennan (2001), Table 6.5, p. 198: Synthetic Data Set No. 4 recast as p x I with 12
    items; 80% intervals Eρ² = .729 [.541, .876] (Feldt) and Φ = .672 [.457, .845]
    (Arteaga et al.); R gt4ireval's tests pin the same values."""
    scores = table_scores(np.column_stack(list(BRENNAN_4.values())))
    row = d_study(g_study(scores), [12], confidence=0.80).iloc[0]
    assert [round(row[c], 3) for c in ("erho2", "erho2_low", "erho2_high")] == \
        [0.729, 0.541, 0.876]
    assert [round(row[c], 3) for c in ("phi", "phi_low", "phi_high")] == [0.672, 0.457, 0.845]


def test_feldt_interval_equals_the_mcgraw_wong_consistency_interval():
    """For calls x evaluators the Feldt interval of Eρ² with n' = k is the ICC(C,k) interval."""
    g = g_study(table_scores(SHROUT_FLEISS))
    row = d_study(g, [4], confidence=0.95).iloc[0]
    reference = icc(table_scores(SHROUT_FLEISS), score_range=None).set_index("type")
    assert (row["erho2_low"], row["erho2_high"]) == pytest.approx(
        tuple(reference.loc["ICC(C,k)", ["ci_low", "ci_high"]]), rel=1e-10)


def test_intervals_are_refused_with_a_note_where_brennan_gives_none():
    g = g_study(brennan2_scores(), design="evaluators:calls")
    table = d_study(g, [1, 8])
    assert table[["phi_low", "phi_high"]].isna().all().all()
    assert "balanced calls x evaluators" in table.attrs["note"]


@pytest.mark.parametrize("seed", range(5))
def test_evaluators_nested_in_calls_equals_the_one_way_icc(seed):
    rng = np.random.default_rng(seed)
    matrix = rng.normal(70, 7, (12, 1)) + rng.normal(0, 4, (12, 3))
    scores = table_scores(matrix.clip(0, 100))
    g = g_study(scores, design="evaluators:calls")
    reference = icc(scores).set_index("type")
    d = d_study(g, [1, 3]).set_index("n_evaluators")
    assert d.loc[1, "phi"] == pytest.approx(max(reference.loc["ICC(1,1)", "icc"], 0), abs=1e-10)
    assert d.loc[3, "phi"] == pytest.approx(max(reference.loc["ICC(1,k)", "icc"], 0), abs=1e-10)


@pytest.mark.parametrize("seed", range(4))
def test_anova_tables_match_statsmodels_on_random_balanced_designs(seed):
    rng = np.random.default_rng(seed)
    rows = [{"calibration_id": f"c{p}", "question_id": f"q{i}", "evaluator_id": f"e{o}",
             "evaluation_id": f"c{p}e{o}", "points": float(rng.integers(0, 10)),
             "max_points": 10.0} for p in range(8) for i in range(3) for o in range(4)]
    answers = pd.DataFrame(rows)
    crossed = anova_of(g_study(None, design="calls x questions x evaluators",
                               answers=answers, answer_value="points"))
    fit = smf.ols("points ~ C(calibration_id) + C(question_id) + C(evaluator_id)"
                  " + C(calibration_id):C(question_id) + C(calibration_id):C(evaluator_id)"
                  " + C(question_id):C(evaluator_id)", answers).fit()
    theirs = sm.stats.anova_lm(fit)
    names = {"calls": "C(calibration_id)", "questions": "C(question_id)",
             "evaluators": "C(evaluator_id)",
             "calls x questions": "C(calibration_id):C(question_id)",
             "calls x evaluators": "C(calibration_id):C(evaluator_id)",
             "questions x evaluators": "C(question_id):C(evaluator_id)",
             "calls x questions x evaluators,e": "Residual"}
    for ours, label in names.items():
        assert crossed.loc[ours, "ss"] == pytest.approx(theirs.loc[label, "sum_sq"], rel=1e-9)
        assert crossed.loc[ours, "df"] == theirs.loc[label, "df"]
    nested = anova_of(g_study(None, design="calls x (evaluators:questions)", answers=answers,
                              answer_value="points"))
    fit = smf.ols("points ~ C(calibration_id) + C(question_id) + C(question_id):C(evaluator_id)"
                  " + C(calibration_id):C(question_id)", answers).fit()
    theirs = sm.stats.anova_lm(fit)
    for ours, label in {"calls": "C(calibration_id)", "questions": "C(question_id)",
                        "evaluators:questions": "C(question_id):C(evaluator_id)",
                        "calls x questions": "C(calibration_id):C(question_id)",
                        "calls x evaluators:questions,e": "Residual"}.items():
        assert nested.loc[ours, "ss"] == pytest.approx(theirs.loc[label, "sum_sq"], rel=1e-9)
        assert nested.loc[ours, "df"] == theirs.loc[label, "df"]


def one_way_anova_estimates(groups: list[np.ndarray]) -> tuple[float, float]:
    """The unbalanced one-way random-effects ANOVA estimator (Searle, Casella & McCulloch
    1992, §3.5), written out: σ²_e = MSW, σ²_a = (MSB - MSW) / n0."""
    sizes = np.array([len(g) for g in groups], dtype=float)
    total, a = sizes.sum(), len(groups)
    grand = np.concatenate(groups).mean()
    msb = sum(len(g) * (g.mean() - grand) ** 2 for g in groups) / (a - 1)
    msw = sum(((g - g.mean()) ** 2).sum() for g in groups) / (total - a)
    n0 = (total - (sizes ** 2).sum() / total) / (a - 1)
    return (msb - msw) / n0, msw


@pytest.mark.parametrize("seed", range(4))
def test_unbalanced_nested_panels_match_the_one_way_anova_estimator(seed):
    """Each call scored by a different number of evaluators from a shared pool."""
    rng = np.random.default_rng(50 + seed)
    rows, groups = [], []
    for c in range(20):
        panel = rng.choice(12, size=int(rng.integers(2, 6)), replace=False)
        values = rng.normal(70, 6) + rng.normal(0, 4, panel.size)
        groups.append(values)
        rows += [{"calibration_id": f"c{c}", "evaluator_id": f"e{e}", "status": "FINISHED",
                  "total_score": float(v)} for e, v in zip(panel, values)]
    g = g_study(pd.DataFrame(rows), design="evaluators:calls")
    assert g.method == "henderson1"
    expected = one_way_anova_estimates(groups)
    got = (g.variance("calls"), g.variance("evaluators:calls,e"))
    assert got == pytest.approx(expected, rel=1e-9)

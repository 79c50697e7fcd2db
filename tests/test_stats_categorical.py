"""Categorical agreement: published worked examples, agreement with irrCAC, statsmodels and
krippendorff on random data, and the per-question tables built from ``answers``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from calib.stats.alpha import krippendorff_alpha
from calib.stats.categorical import (
    ANSWER_DISTRIBUTION_COLUMNS, QUESTION_AGREEMENT_COLUMNS, AgreementResult, answer_categories,
    answer_distribution, cohen_kappa, fleiss_kappa, gwet_ac, percent_agreement,
    question_agreement)
from calib.tables import answers_frame

# Fleiss (1971), Table 1 (R irr data set ``diagnoses``): 30 patients, 6 psychiatrists each,
# 1 depression, 2 personality disorder, 3 schizophrenia, 4 neurosis, 5 other.
DIAGNOSES = np.array([
    [4, 4, 4, 4, 4, 4], [2, 2, 2, 5, 5, 5], [2, 3, 3, 3, 3, 5], [5, 5, 5, 5, 5, 5],
    [2, 2, 2, 4, 4, 4], [1, 1, 3, 3, 3, 3], [3, 3, 3, 3, 5, 5], [1, 1, 3, 3, 3, 4],
    [1, 1, 4, 4, 4, 4], [5, 5, 5, 5, 5, 5], [1, 4, 4, 4, 4, 4], [1, 2, 4, 4, 4, 4],
    [2, 2, 2, 3, 3, 3], [1, 4, 4, 4, 4, 4], [2, 2, 4, 4, 4, 5], [3, 3, 3, 3, 3, 5],
    [1, 1, 1, 4, 5, 5], [1, 1, 1, 1, 1, 2], [2, 2, 4, 4, 4, 4], [1, 3, 3, 5, 5, 5],
    [5, 5, 5, 5, 5, 5], [2, 4, 4, 4, 4, 4], [2, 2, 4, 5, 5, 5], [1, 1, 4, 4, 4, 4],
    [1, 4, 4, 4, 4, 5], [2, 2, 2, 2, 2, 4], [1, 1, 1, 1, 5, 5], [2, 2, 4, 4, 4, 4],
    [1, 3, 3, 3, 3, 3], [5, 5, 5, 5, 5, 5]], dtype=float)

# Gwet (2014) / R irrCAC ``cac.raw4raters`` (= Krippendorff 2011's data): 12 units x 4 raters.
RAW4 = np.array([
    [1, 1, np.nan, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2], [1, 2, 3, 4],
    [4, 4, 4, 4], [1, 1, 2, 1], [2, 2, 2, 2], [np.nan, 5, 5, 5], [np.nan, np.nan, 1, 1],
    [np.nan, np.nan, 3, np.nan]])

# R irr ``anxiety``, raters 2 and 3 (20 subjects, scale 1-6).
ANXIETY_23 = np.array([[3, 2], [6, 1], [4, 4], [6, 4], [2, 3], [4, 2], [2, 1], [4, 6], [3, 1],
                       [3, 1], [2, 1], [3, 2], [3, 3], [3, 3], [2, 1], [2, 1], [1, 3], [3, 3],
                       [3, 2], [4, 2]], dtype=float)


def long_ratings(matrix: np.ndarray, raters: list[str] | None = None) -> pd.DataFrame:
    n, k = matrix.shape
    names = raters or [f"eval-{j}" for j in range(k)]
    values = [None if np.isnan(v) else float(v) for v in matrix.ravel()]
    return pd.DataFrame({"calibration_id": [f"call-{i}" for i in np.repeat(np.arange(n), k)],
                         "evaluator_id": np.tile(names, n), "category": values})


# ---------------------------------------------------------------- published worked examples

def test_fleiss_1971_psychiatric_diagnoses():
    """Fleiss (1971): kappa = .430 for 30 patients x 6 raters; R irr kappam.fleiss prints
    z = 17.652 with the Fleiss-Nee-Landis (1979) null SE."""
    result = fleiss_kappa(long_ratings(DIAGNOSES))
    assert round(result.estimate, 3) == 0.430
    assert result.z == pytest.approx(17.652, abs=5e-4)
    assert result.pval < 1e-12
    assert result.se0 == pytest.approx(result.estimate / 17.652, rel=1e-4)


def test_gwet_distrib_6raters_first_15_patients():
    """Gwet's irrCAC README (``distrib.6raters`` = Fleiss 1971, patients 1-15):
    AC1 = 0.4448007 (SE 0.08418757), Fleiss' kappa = 0.4139265 (SE 0.08119291)."""
    data = long_ratings(DIAGNOSES[:15])
    ac1, kappa = gwet_ac(data), fleiss_kappa(data)
    assert ac1.estimate == pytest.approx(0.4448007, abs=1e-7)
    assert ac1.se == pytest.approx(0.08418757, abs=1e-8)
    assert kappa.estimate == pytest.approx(0.4139265, abs=1e-7)
    assert kappa.se == pytest.approx(0.08119291, abs=1e-8)


def test_gwet_2014_raw4raters_with_missing_ratings():
    """Gwet (2014) example as printed by R irrCAC (README, ``cac.raw4raters``): percent
    agreement 0.8181818 (SE 0.12561, CI 0.542-1), AC1 0.77544 (SE 0.14295, CI 0.461-1),
    Fleiss' kappa 0.76117 (SE 0.15302, CI 0.424-1), pe(AC1) = 0.1903212."""
    data = long_ratings(RAW4)
    pa, ac1, kappa = percent_agreement(data), gwet_ac(data), fleiss_kappa(data)
    assert pa.estimate == pytest.approx(0.8181818, abs=1e-7)
    assert pa.se == pytest.approx(0.12561, abs=5e-6)
    assert round(pa.ci_low, 3) == 0.542 and pa.ci_high == 1.0
    assert ac1.estimate == pytest.approx(0.77544, abs=5e-6)
    assert ac1.pe == pytest.approx(0.1903212, abs=1e-7)
    assert ac1.se == pytest.approx(0.14295, abs=5e-6)
    assert round(ac1.ci_low, 3) == 0.461 and ac1.ci_high == 1.0
    assert kappa.estimate == pytest.approx(0.76117, abs=5e-6)
    assert kappa.se == pytest.approx(0.15302, abs=5e-6)
    assert round(kappa.ci_low, 3) == 0.424
    assert ac1.n_missing == 7 and ac1.n_ratings == 41 and ac1.n_units == 12
    assert np.isnan(kappa.se0)  # unequal raters per unit: no Fleiss-Nee-Landis test


@pytest.mark.parametrize("weights, expected", [
    ("identity", -0.006289308), ("linear", 0.1262), ("quadratic", 0.2298)])
def test_cohen_weighted_kappa_on_values_anxiety(weights, expected):
    """R irr ``anxiety`` raters 2 and 3: unweighted kappa -0.006289308 (irr kappa2). Weighted on
    the scale values 1-6: linear .1262, quadratic .2298 (statistics.md pitfall 6; irr's
    index-based weights, which collapse the unused level 5, give .1459 / .2520)."""
    result = cohen_kappa(long_ratings(ANXIETY_23), weights=weights,
                         categories=[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    assert result.estimate == pytest.approx(expected, abs=5e-5)


def test_cohen_unweighted_anxiety_z_matches_irr():
    """irr kappa2(anxiety[,2:3]): z = -0.0604067."""
    assert cohen_kappa(long_ratings(ANXIETY_23)).z == pytest.approx(-0.0604067, abs=1e-6)


def test_cohen_weighted_kappa_sas_proc_freq():
    """SAS PROC FREQ on the 3x3 table [[0,4,1],[0,8,0],[0,1,5]] with scores 0,1,2
    (Cicchetti-Allison = linear weights): kappa .4701, ASE .1457, 95% CI .1845-.7558,
    ASE0 .1426, z 3.2971 (reproduced in statsmodels' test suite); unweighted .4842 / .1380."""
    table = np.array([[0, 4, 1], [0, 8, 0], [0, 1, 5]])
    pairs = np.array([(i, j) for i in range(3) for j in range(3) for _ in range(table[i, j])],
                     dtype=float)
    weighted = cohen_kappa(long_ratings(pairs), weights="linear")
    assert [round(v, 4) for v in (weighted.estimate, weighted.se, weighted.ci_low,
                                  weighted.ci_high, weighted.se0, weighted.z)] == \
        [0.4701, 0.1457, 0.1845, 0.7558, 0.1426, 3.2971]
    plain = cohen_kappa(long_ratings(pairs))
    assert (round(plain.estimate, 4), round(plain.se, 4)) == (0.4842, 0.1380)


# ------------------------------------------------------------- reference implementations

def random_ratings(seed: int, missing: float = 0.2, complete: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    units, raters, q = int(rng.integers(5, 40)), int(rng.integers(2, 7)), int(rng.integers(2, 6))
    truth = rng.integers(0, q, (units, 1))
    noisy = rng.random((units, raters)) < rng.uniform(0.1, 0.6)
    matrix = np.where(noisy, rng.integers(0, q, (units, raters)), truth).astype(float) * 2 + 1
    if not complete:
        matrix[rng.random(matrix.shape) < missing] = np.nan
    matrix[0, :2] = [1.0, 3.0]
    return matrix


@pytest.mark.filterwarnings("ignore::pandas.errors.SettingWithCopyWarning")
@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("weights", ["identity", "linear", "quadratic"])
def test_gwet_fleiss_percent_agree_with_irrcac(seed, weights):
    raw = pytest.importorskip("irrCAC.raw")
    matrix = random_ratings(seed)
    data = long_ratings(matrix)
    cats = sorted(set(matrix[~np.isnan(matrix)].tolist()))
    cac = raw.CAC(pd.DataFrame(matrix), weights=weights, categories=cats, digits=12)
    for ours, theirs in ((gwet_ac(data, weights=weights), cac.gwet()),
                         (fleiss_kappa(data, weights=weights), cac.fleiss())):
        est = theirs["est"]
        assert ours.estimate == pytest.approx(est["coefficient_value"], abs=1e-9)
        assert ours.se == pytest.approx(est["se"], abs=1e-9)
        assert ours.ci_low == pytest.approx(est["confidence_interval"][0], abs=1e-9)
        assert ours.ci_high == pytest.approx(est["confidence_interval"][1], abs=1e-9)
    assert percent_agreement(data, weights=weights).estimate == pytest.approx(
        cac.gwet()["est"]["pa"], abs=1e-9)


@pytest.mark.parametrize("seed", range(8))
def test_fleiss_agrees_with_statsmodels_on_complete_data(seed):
    inter_rater = pytest.importorskip("statsmodels.stats.inter_rater")
    matrix = random_ratings(seed, complete=True)
    table, _ = inter_rater.aggregate_raters(matrix.astype(int))
    ours = fleiss_kappa(long_ratings(matrix)).estimate
    assert ours == pytest.approx(inter_rater.fleiss_kappa(table, method="fleiss"), abs=1e-12)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("weights", ["identity", "linear", "quadratic"])
def test_cohen_agrees_with_statsmodels(seed, weights):
    inter_rater = pytest.importorskip("statsmodels.stats.inter_rater")
    matrix = random_ratings(seed, complete=True)[:, :2]
    values = np.array(sorted(set(matrix.ravel().tolist())))
    index = {v: i for i, v in enumerate(values)}
    table = np.zeros((len(values), len(values)))
    for a, b in matrix:
        table[index[a], index[b]] += 1
    if weights == "identity":
        theirs = inter_rater.cohens_kappa(table)
    else:
        theirs = inter_rater.cohens_kappa(table, weights=values, wt=weights)
    ours = cohen_kappa(long_ratings(matrix), weights=weights)
    assert ours.estimate == pytest.approx(theirs.kappa, abs=1e-10)
    assert ours.se == pytest.approx(theirs.std_kappa, abs=1e-10)
    assert ours.se0 == pytest.approx(theirs.std_kappa0, abs=1e-10)
    assert ours.ci_low == pytest.approx(theirs.kappa_low, abs=1e-10)


# ------------------------------------------------------------------ validation

def test_result_type_and_dropped_units():
    result = cohen_kappa(long_ratings(RAW4[:, :2]))
    assert isinstance(result, AgreementResult)
    assert result.n_units == 9 and result.n_dropped_units == 3


@pytest.mark.parametrize("call, message", [
    (lambda d: gwet_ac(d, weights="cubic"), "weights must be one of"),
    (lambda d: gwet_ac(d, confidence=0), "confidence must lie"),
    (lambda d: gwet_ac(d, categories=[1.0, 2.0]), "not in categories"),
    (lambda d: cohen_kappa(d), "exactly two evaluators"),
])
def test_bad_input_raises_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call(long_ratings(RAW4))


def test_single_evaluator_and_one_category_are_rejected():
    with pytest.raises(ValueError, match="no unit was rated by two"):
        gwet_ac(long_ratings(RAW4[:, :1]))
    same = long_ratings(np.ones((5, 3)))
    with pytest.raises(ValueError, match="chance agreement is 1"):
        fleiss_kappa(same)
    assert gwet_ac(same, categories=[0.0, 1.0]).estimate == 1.0  # AC1 with the scale known


def test_weighted_forms_need_numeric_categories():
    data = long_ratings(RAW4)
    data["category"] = data["category"].map({1.0: "a", 2.0: "b", 3.0: "c", 4.0: "d",
                                             5.0: "e"})
    with pytest.raises(ValueError, match="numeric categories"):
        gwet_ac(data, weights="linear")


# ------------------------------------------------------------------ answers tables

def make_answers() -> pd.DataFrame:
    """Two calibrations x (expert + 3 evaluators) x two questions; q1 is yes/no/N/A,
    q2 a 0-5-10 scale. One blank answer on q2."""
    rows = []
    plan = {  # (calibration, evaluator, role): (q1 answer, q2 points)
        ("c1", "x", "expert"): ("yes", 10), ("c1", "a", "evaluator"): ("yes", 10),
        ("c1", "b", "evaluator"): ("N/A", 5), ("c1", "c", "evaluator"): ("yes", None),
        ("c2", "x", "expert"): ("no", 0), ("c2", "a", "evaluator"): ("no", 5),
        ("c2", "b", "evaluator"): ("no", 0), ("c2", "c", "evaluator"): ("yes", 0),
    }
    for (cal, ev, role), (q1, q2) in plan.items():
        rows.append(dict(calibration_id=cal, evaluator_id=ev, role=role, question_id="q1",
                         question_text="Greeted the customer?",
                         answer_id=None if q1 == "N/A" else f"q1-{q1}",
                         answer_text=None if q1 == "N/A" else q1.title(),
                         points={"yes": 1.0, "no": 0.0}.get(q1, np.nan),
                         marked_na=q1 == "N/A", max_points=1.0))
        rows.append(dict(calibration_id=cal, evaluator_id=ev, role=role, question_id="q2",
                         question_text="Resolved the issue", max_points=10.0,
                         answer_id=None if q2 is None else f"q2-{q2}",
                         answer_text=None if q2 is None else str(q2),
                         points=np.nan if q2 is None else float(q2), marked_na=False))
    return answers_frame(rows)


def test_answer_categories_follow_the_contract():
    answers = make_answers()
    identity = answer_categories(answers)
    assert identity[answers["marked_na"]].tolist() == ["N/A"]
    assert identity[answers["answer_id"].isna() & ~answers["marked_na"]].tolist() == [None]
    points = answer_categories(answers, weights="quadratic")
    assert set(points.dropna()) == {"N/A", 0.0, 1.0, 5.0, 10.0}
    assert answer_categories(answers, na="missing")[answers["marked_na"]].tolist() == [None]
    with pytest.raises(ValueError, match="na must be"):
        answer_categories(answers, na="skip")


def test_question_agreement_columns_and_counts():
    table = question_agreement(make_answers())
    assert tuple(table.columns) == QUESTION_AGREEMENT_COLUMNS
    q1, q2 = table.set_index("question_id").loc["q1"], table.set_index("question_id").loc["q2"]
    assert (q1["n_units"], q1["n_ratings"], q1["n_missing"]) == (2, 8, 0)
    assert (q2["n_units"], q2["n_ratings"], q2["n_missing"]) == (2, 7, 1)
    assert q1["question_text"] == "Greeted the customer?"
    # Expert agreement, q1: c1 a=yes (same), b=N/A (differs), c=yes (same); c2 a, b same,
    # c differs -> 4 of 6.
    assert q1["expert_agreement"] == pytest.approx(4 / 6)


def test_question_agreement_equals_the_long_data_functions():
    answers = make_answers()
    long = answers.assign(category=answer_categories(answers))
    q1 = long[long["question_id"] == "q1"]
    row = question_agreement(answers).set_index("question_id").loc["q1"]
    ac1, kappa = gwet_ac(q1), fleiss_kappa(q1)
    assert row["ac1"] == pytest.approx(ac1.estimate)
    assert row["ac1_se"] == pytest.approx(ac1.se)
    assert (row["ac1_ci_low"], row["ac1_ci_high"]) == pytest.approx((ac1.ci_low, ac1.ci_high),
                                                                     nan_ok=True)
    assert np.isnan(ac1.ci_low) and row["note"] == ac1.note  # two calls: no interval
    assert row["fleiss_kappa"] == pytest.approx(kappa.estimate)
    assert row["fleiss_se"] == pytest.approx(kappa.se)
    assert row["percent_agreement"] == pytest.approx(percent_agreement(q1).estimate)
    alpha = krippendorff_alpha(q1, level="nominal", score="category").alpha
    assert row["alpha_nominal"] == pytest.approx(alpha)


def test_na_is_a_disagreement_unless_treated_as_missing():
    answers = make_answers()
    as_category = question_agreement(answers).set_index("question_id").loc["q1"]
    as_missing = question_agreement(answers, na="missing").set_index("question_id").loc["q1"]
    assert as_missing["n_missing"] == 1 and as_missing["n_ratings"] == 7
    assert as_missing["percent_agreement"] > as_category["percent_agreement"]


def test_weighted_question_agreement_uses_the_points():
    answers = make_answers()
    row = question_agreement(answers, weights="quadratic").set_index("question_id").loc["q2"]
    long = answers.assign(category=answer_categories(answers, weights="quadratic"))
    expected = gwet_ac(long[long["question_id"] == "q2"], weights="quadratic")
    assert expected.coefficient == "AC2"
    assert row["ac1"] == pytest.approx(expected.estimate)
    identity = question_agreement(answers).set_index("question_id").loc["q2"]
    assert row["percent_agreement"] > identity["percent_agreement"]  # near misses count


def test_unanimous_question_gives_nan_kappa_not_an_error():
    answers = make_answers()
    answers = answers[answers["question_id"] == "q1"].copy()
    answers["answer_id"], answers["marked_na"] = "q1-yes", False
    row = question_agreement(answers, categories={"q1": ["q1-yes", "q1-no", "N/A"]}).iloc[0]
    assert row["percent_agreement"] == 1.0 and row["ac1"] == 1.0
    assert np.isnan(row["fleiss_kappa"]) and np.isnan(row["alpha_nominal"])


def test_question_agreement_rejects_bad_input():
    answers = make_answers()
    with pytest.raises(ValueError, match="weights must be"):
        question_agreement(answers, weights="cubic")
    with pytest.raises(ValueError, match="na must be"):
        question_agreement(answers, na="drop")
    with pytest.raises(ValueError, match="1 evaluator"):
        question_agreement(answers[answers["evaluator_id"] == "a"])
    with pytest.raises(ValueError, match="more than one rating"):
        question_agreement(pd.concat([answers, answers.iloc[[0]]]))


def test_answer_distribution():
    table = answer_distribution(make_answers())
    assert tuple(table.columns) == ANSWER_DISTRIBUTION_COLUMNS
    q1 = table[table["question_id"] == "q1"].set_index("category")
    assert q1.loc["q1-yes", "count"] == 4 and q1.loc["q1-no", "count"] == 3
    assert q1.loc["N/A", "answer_text"] == "N/A" and q1.loc["q1-yes", "answer_text"] == "Yes"
    assert table.groupby("question_id")["share"].sum().tolist() == pytest.approx([1.0, 1.0])
    assert table.attrs["n_missing"] == 1
    assert q1["count"].is_monotonic_decreasing

"""Conger's kappa, Scott's pi, Fleiss' kappa per category, Gwet's ordinal weights, p-values
and the t/z interval choice: published worked examples and irrCAC / statsmodels on random data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from calib import stats
from calib.stats.kappas import CATEGORY_KAPPA_COLUMNS

from tests.test_stats_categorical import DIAGNOSES, RAW4, long_ratings, random_ratings


def long_interactions(matrix: np.ndarray) -> pd.DataFrame:
    return long_ratings(matrix)  # same columns: calibration_id, evaluator_id, category


# ------------------------------------------------------------------ published worked examples

def test_conger_kappa_gwet_2014_raw4raters():
    """Gwet (2014) example printed by R irrCAC's README, ``conger.kappa.raw(cac.raw4raters)``:
    pa 0.8181818, pe 0.2334252, kappa 0.76282, SE 0.14917, 95% CI (0.435, 1),
    p 0.0003367066 (t with 11 df)."""
    result = stats.conger_kappa(long_interactions(RAW4))
    assert result.coefficient == "conger_kappa"
    assert result.pa == pytest.approx(0.8181818, abs=1e-7)
    assert result.pe == pytest.approx(0.2334252, abs=1e-7)
    assert result.estimate == pytest.approx(0.76282, abs=5e-6)
    assert result.se == pytest.approx(0.14917, abs=5e-6)
    assert round(result.ci_low, 3) == 0.435 and result.ci_high == 1.0
    assert result.pval == pytest.approx(0.0003367066, rel=1e-6)
    assert result.interval == "t"


def test_gwet_and_percent_agreement_p_values_gwet_2014_raw4raters():
    """irrCAC README: AC1 p = 0.000208721, percent agreement p = 4.345373e-05 (t, 11 df)."""
    data = long_interactions(RAW4)
    assert stats.gwet_ac(data).pval == pytest.approx(0.000208721, rel=1e-5)
    assert stats.percent_agreement(data).pval == pytest.approx(4.345373e-05, rel=1e-5)


def test_gwet_p_value_distrib_6raters():
    """irrCAC README, ``gwet.ac1.dist(distrib.6raters)`` (Fleiss 1971, patients 1-15): AC1
    0.4448007, 95% CI (0.264, 0.625), p 0.0001155927."""
    result = stats.gwet_ac(long_interactions(DIAGNOSES[:15]))
    assert result.pval == pytest.approx(0.0001155927, rel=1e-6)
    assert (round(result.ci_low, 3), round(result.ci_high, 3)) == (0.264, 0.625)


def test_fleiss_kappa_per_category_fleiss_1971():
    """Fleiss (1971), worked example on his Table 1 data (30 patients, 6 psychiatrists):
    kappa_j = .245, .245, .520, .471, .566; R irr ``kappam.fleiss(diagnoses, detail=TRUE)``
    prints z = 5.192, 5.192, 11.031, 9.994, 12.009."""
    table = stats.fleiss_kappa_by_category(long_interactions(DIAGNOSES))
    assert tuple(table.columns) == CATEGORY_KAPPA_COLUMNS
    assert [round(k, 3) for k in table["kappa"]] == [.245, .245, .520, .471, .566]
    assert table["z"].round(3).tolist() == [5.192, 5.192, 11.031, 9.994, 12.009]
    assert table["se0"].to_numpy() == pytest.approx(np.sqrt(2 / (30 * 6 * 5)))
    assert table["share"].sum() == pytest.approx(1.0)


def test_scott_pi_cont3x3abstractors_and_the_raw_to_table_variance_factor():
    """irrCAC README ``scott2.table(cont3x3abstractors)``: 0.7962397, SE 0.05905473. From the
    raw ratings the estimate is the same and the SE is larger by sqrt(n / (n - 1))."""
    table = np.array([[13, 0, 0], [0, 20, 7], [0, 4, 56]])
    pairs = np.array([(i, j) for i in range(3) for j in range(3) for _ in range(table[i, j])],
                     dtype=float)
    raw = stats.scott_pi(long_interactions(pairs))
    assert raw.estimate == pytest.approx(0.7962397, abs=1e-7)
    assert raw.se * np.sqrt(99 / 100) == pytest.approx(0.05905473, abs=1e-8)
    assert stats.agreement_from_table(table, coefficient="scott_pi").se == pytest.approx(
        0.05905473, abs=1e-8)


def test_ordinal_weights_on_raw4raters_equal_the_statistics_note():
    """docs statistics note, pitfall 7: Gwet's ordinal weights give AC2 = .899 on Gwet's 12 x 4
    example (Krippendorff's rank-based ordinal alpha is .815 on the same data)."""
    result = stats.gwet_ac(long_interactions(RAW4), weights="ordinal")
    assert result.coefficient == "AC2" and round(result.estimate, 3) == 0.899


# ------------------------------------------------------------------ reference implementations

@pytest.mark.filterwarnings("ignore::pandas.errors.SettingWithCopyWarning")
@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("weights", ["identity", "quadratic", "ordinal"])
def test_conger_and_ordinal_gwet_agree_with_irrcac(seed, weights):
    raw = pytest.importorskip("irrCAC.raw")
    matrix = random_ratings(seed)
    cats = sorted(set(matrix[~np.isnan(matrix)].tolist()))
    cac = raw.CAC(pd.DataFrame(matrix), weights=weights, categories=cats, digits=12)
    data = long_interactions(matrix)
    for ours, theirs in ((stats.conger_kappa(data, weights=weights), cac.conger()),
                         (stats.gwet_ac(data, weights=weights), cac.gwet())):
        est = theirs["est"]
        assert ours.estimate == pytest.approx(est["coefficient_value"], abs=1e-9)
        assert ours.se == pytest.approx(est["se"], abs=1e-9)
        assert ours.pval == pytest.approx(est["p_value"], abs=1e-9)
        assert ours.ci_high == pytest.approx(est["confidence_interval"][1], abs=1e-9)


@pytest.mark.parametrize("seed", range(6))
def test_conger_with_two_complete_raters_is_cohens_kappa(seed):
    """Conger (1980): with two raters the generalised kappa is Cohen's kappa."""
    inter_rater = pytest.importorskip("statsmodels.stats.inter_rater")
    matrix = random_ratings(seed, complete=True)[:, :2]
    values = np.array(sorted(set(matrix.ravel().tolist())))
    index = {v: i for i, v in enumerate(values)}
    table = np.zeros((len(values), len(values)))
    for a, b in matrix:
        table[index[a], index[b]] += 1
    ours = stats.conger_kappa(long_interactions(matrix)).estimate
    assert ours == pytest.approx(inter_rater.cohens_kappa(table).kappa, abs=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_category_kappa_is_fleiss_kappa_of_the_dichotomised_ratings(seed):
    inter_rater = pytest.importorskip("statsmodels.stats.inter_rater")
    matrix = random_ratings(seed, complete=True)
    table = stats.fleiss_kappa_by_category(long_interactions(matrix)).set_index("category")
    counts, labels = inter_rater.aggregate_raters(matrix.astype(int))
    for j, label in enumerate(labels):
        split = np.column_stack([counts[:, j], counts.sum(axis=1) - counts[:, j]])
        if split[:, 0].sum() in (0, split.sum()):
            continue
        expected = inter_rater.fleiss_kappa(split, method="fleiss")
        assert table.loc[float(label), "kappa"] == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_z_interval_option_matches_statsmodels_and_t_matches_irrcac(seed):
    """Cohen: z by default, as statsmodels; t on request. Gwet: t by default, as irrCAC."""
    inter_rater = pytest.importorskip("statsmodels.stats.inter_rater")
    matrix = random_ratings(seed, complete=True)[:, :2]
    data = long_interactions(matrix)
    values = np.array(sorted(set(matrix.ravel().tolist())))
    index = {v: i for i, v in enumerate(values)}
    table = np.zeros((len(values), len(values)))
    for a, b in matrix:
        table[index[a], index[b]] += 1
    z = stats.cohen_kappa(data)
    t = stats.cohen_kappa(data, interval="t")
    assert z.interval == "z" and t.interval == "t"
    assert z.ci_low == pytest.approx(inter_rater.cohens_kappa(table).kappa_low, abs=1e-10)
    assert t.ci_low < z.ci_low and t.estimate == z.estimate
    gwet_z = stats.gwet_ac(data, interval="z")
    half = 1.959963984540054 * gwet_z.se
    lowest = -gwet_z.pe / (1 - gwet_z.pe)
    assert gwet_z.interval == "z"
    assert (gwet_z.ci_low, gwet_z.ci_high) == pytest.approx(
        (max(gwet_z.estimate - half, lowest), min(gwet_z.estimate + half, 1.0)), rel=1e-9)


def test_interval_option_is_validated():
    with pytest.raises(ValueError, match="interval must be"):
        stats.gwet_ac(long_interactions(RAW4), interval="normal")


def test_scott_pi_needs_two_evaluators_sharing_calls():
    with pytest.raises(ValueError, match="exactly two evaluators"):
        stats.scott_pi(long_interactions(RAW4))
    with pytest.raises(ValueError, match="rated by both"):
        stats.scott_pi(long_interactions(np.array([[1.0, np.nan], [np.nan, 2.0]])))


def test_conger_and_category_kappa_refuse_a_single_evaluator():
    with pytest.raises(ValueError, match="no unit was rated by two"):
        stats.conger_kappa(long_interactions(RAW4[:, :1]))
    with pytest.raises(ValueError, match="rated by two or more"):
        stats.fleiss_kappa_by_category(long_interactions(RAW4[:, :1]))


def test_ordinal_weights_need_ordered_numeric_categories():
    data = long_interactions(RAW4)
    data["category"] = data["category"].map({1.0: "a", 2.0: "b", 3.0: "c", 4.0: "d", 5.0: "e"})
    with pytest.raises(ValueError, match="numeric categories"):
        stats.gwet_ac(data, weights="ordinal")

"""Evaluator means, grand mean and pairwise differences: Student's (1908) sleep data,
scipy/pingouin (paired) and statsmodels (ANOVA contrast) on random data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from calib import stats
from calib.stats.pairwise import MEANS_COLUMNS, PAIRS_COLUMNS

# Student (1908), Biometrika 6:1-25, p. 20 (R ``sleep``): extra hours of sleep of 10 patients.
DRUG_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
DRUG_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]
SHROUT_FLEISS = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6],
                          [10, 5, 6, 9], [6, 2, 4, 7]], dtype=float)


def long(matrix: np.ndarray) -> pd.DataFrame:
    n, k = matrix.shape
    return pd.DataFrame({"calibration_id": np.repeat(np.arange(n), k),
                         "evaluator_id": [f"e{j}" for j in np.tile(np.arange(k), n)],
                         "total_score": matrix.ravel()})


def test_student_1908_sleep_paired_difference():
    """R t.test(extra ~ group, paired = TRUE) on sleep: mean difference 1.58 (drug 2 minus
    drug 1), t = 4.0621, df = 9, p = 0.002833, 95% CI 0.7001142 to 2.4598858."""
    data = long(np.column_stack([DRUG_2, DRUG_1]))
    result = stats.evaluator_differences(data, score="total_score")
    pair = result.pairs.iloc[0]
    assert tuple(result.pairs.columns) == PAIRS_COLUMNS
    assert tuple(result.means.columns) == MEANS_COLUMNS
    assert pair["difference"] == pytest.approx(1.58)
    assert pair["difference"] / pair["se"] == pytest.approx(4.0621, abs=5e-5)
    assert pair["df"] == 9 and pair["pval"] == pytest.approx(0.002833, abs=5e-7)
    assert (pair["ci_low"], pair["ci_high"]) == pytest.approx((0.7001142, 2.4598858), abs=1e-7)
    assert result.means["mean"].tolist() == pytest.approx([2.33, 0.75])
    assert result.grand_mean == pytest.approx(1.54)


def test_shrout_fleiss_judge_means_and_grand_mean():
    """Shrout & Fleiss (1979) Table 2: judge totals 46, 15, 26, 40 over 6 targets; grand mean
    127 / 24."""
    result = stats.evaluator_differences(long(SHROUT_FLEISS), se="anova")
    assert result.means["mean"].tolist() == pytest.approx([46 / 6, 15 / 6, 26 / 6, 40 / 6])
    assert result.grand_mean == pytest.approx(127 / 24)
    assert len(result.pairs) == 6 and (result.pairs["df"] == 15).all()


@pytest.mark.parametrize("seed", range(6))
def test_paired_differences_agree_with_scipy_and_pingouin(seed):
    pingouin = pytest.importorskip("pingouin")
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(4, 25)), int(rng.integers(2, 5))
    matrix = rng.normal(75, 6, (n, 1)) + rng.normal(0, 3, (1, k)) + rng.normal(0, 4, (n, k))
    matrix[rng.random((n, k)) < 0.15] = np.nan
    result = stats.evaluator_differences(long(matrix), confidence=0.9)
    for pair in result.pairs.itertuples():
        i, j = int(pair.evaluator_a[1:]), int(pair.evaluator_b[1:])
        both = ~np.isnan(matrix[:, i]) & ~np.isnan(matrix[:, j])
        if both.sum() < 2:
            assert np.isnan(pair.se)
            continue
        test = sps.ttest_rel(matrix[both, i], matrix[both, j])
        ci = test.confidence_interval(0.9)
        assert (pair.ci_low, pair.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-10)
        assert pair.pval == pytest.approx(test.pvalue, rel=1e-10)
        theirs = pingouin.ttest(matrix[both, i], matrix[both, j], paired=True)
        column = "p_val" if "p_val" in theirs.columns else "p-val"  # renamed in pingouin 0.6
        assert pair.pval == pytest.approx(float(theirs[column].iloc[0]), rel=1e-8)


@pytest.mark.parametrize("seed", range(4))
def test_anova_differences_agree_with_a_statsmodels_contrast(seed):
    smf = pytest.importorskip("statsmodels.formula.api")
    rng = np.random.default_rng(seed)
    n, k = 12, 4
    matrix = rng.normal(75, 6, (n, 1)) + rng.normal(0, 3, (1, k)) + rng.normal(0, 4, (n, k))
    data = long(matrix)
    fit = smf.ols("total_score ~ C(calibration_id) + C(evaluator_id)", data).fit()
    result = stats.evaluator_differences(data, se="anova")
    for pair in result.pairs.itertuples():
        names = [f"C(evaluator_id)[T.{e}]" for e in (pair.evaluator_a, pair.evaluator_b)]
        contrast = np.zeros(len(fit.params))
        for name, sign in zip(names, (1.0, -1.0)):
            if name in fit.params.index:
                contrast[list(fit.params.index).index(name)] = sign
        test = fit.t_test(contrast)
        assert pair.difference == pytest.approx(float(test.effect[0]), abs=1e-10)
        assert pair.se == pytest.approx(float(test.sd[0, 0]), rel=1e-10)
        assert pair.pval == pytest.approx(float(test.pvalue), rel=1e-8)


def test_bad_input_is_refused_in_sentences():
    with pytest.raises(ValueError, match="se must be"):
        stats.evaluator_differences(long(SHROUT_FLEISS), se="pooled")
    with pytest.raises(ValueError, match="at least two"):
        stats.evaluator_differences(long(SHROUT_FLEISS[:, :1]))
    sparse = SHROUT_FLEISS.copy()
    sparse[:, 0] = np.nan
    sparse[0, 0] = 1.0
    sparse[1:, 1] = np.nan
    with pytest.raises(ValueError, match="se='paired'"):
        stats.evaluator_differences(long(sparse), se="anova")

"""ICC: published worked examples, agreement with pingouin, and input validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from calib.stats.intraclass import ICC_COLUMNS, icc

# Shrout & Fleiss (1979), Table 2: 6 targets (rows) rated by 4 judges (columns).
SHROUT_FLEISS = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8],
                          [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]], dtype=float)

# R package irr, data set ``anxiety``: 20 subjects rated 1-6 by 3 raters.
ANXIETY = np.array([[3, 3, 2], [3, 6, 1], [3, 4, 4], [4, 6, 4], [5, 2, 3], [5, 4, 2], [2, 2, 1],
                    [3, 4, 6], [5, 3, 1], [2, 3, 1], [2, 2, 1], [6, 3, 2], [1, 3, 3], [5, 3, 3],
                    [2, 2, 1], [2, 2, 1], [1, 1, 3], [2, 3, 3], [4, 3, 2], [3, 4, 2]],
                   dtype=float)


def long_scores(matrix: np.ndarray) -> pd.DataFrame:
    """A units x raters matrix as a tidy ``scores``-like frame (NaN cells become NaN rows)."""
    n, k = matrix.shape
    return pd.DataFrame({
        "calibration_id": [f"call-{i}" for i in np.repeat(np.arange(n), k)],
        "evaluator_id": [f"eval-{j}" for j in np.tile(np.arange(k), n)],
        "total_score": matrix.ravel(),
    })


def by_type(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index("type")


def test_shrout_fleiss_table_2_point_estimates():
    """Shrout & Fleiss (1979), Table 4: ICC(1,1)=.17, (2,1)=.29, (3,1)=.71, (1,4)=.44,
    (2,4)=.62, (3,4)=.91 on the Table 2 data; (2,·) is McGraw-Wong A and (3,·) is C."""
    result = by_type(icc(long_scores(SHROUT_FLEISS)))
    expected = {"ICC(1,1)": .17, "ICC(A,1)": .29, "ICC(C,1)": .71,
                "ICC(1,k)": .44, "ICC(A,k)": .62, "ICC(C,k)": .91}
    for name, value in expected.items():
        assert round(result.loc[name, "icc"], 2) == value, name


def test_shrout_fleiss_f_tests_and_mcgraw_wong_intervals():
    """F tests and 95% limits on the Shrout & Fleiss (1979) Table 2 data, as computed with the
    McGraw & Wong (1996) Table 7 formulas and printed (2 decimals) by R psych::ICC for this
    data: F=1.79 on (5, 18) one-way, F=11.03 on (5, 15) two-way; ICC(A,1) limits .02-.76
    (statistics.md pitfall 11), ICC(1,k) lower limit -.88 (pitfall 13)."""
    result = by_type(icc(long_scores(SHROUT_FLEISS)))
    limits = {"ICC(1,1)": (-.13, .72), "ICC(A,1)": (.02, .76), "ICC(C,1)": (.34, .95),
              "ICC(1,k)": (-.88, .91), "ICC(A,k)": (.07, .93), "ICC(C,k)": (.68, .99)}
    for name, (low, high) in limits.items():
        assert round(result.loc[name, "ci_low"], 2) == low, name
        assert round(result.loc[name, "ci_high"], 2) == high, name
    assert result.loc["ICC(1,1)", ["df1", "df2"]].tolist() == [5, 18]
    assert result.loc["ICC(A,1)", ["df1", "df2"]].tolist() == [5, 15]
    assert result.loc["ICC(1,1)", "f"] == pytest.approx(1.7947, abs=1e-4)
    assert result.loc["ICC(C,1)", "f"] == pytest.approx(11.0272, abs=1e-4)


def test_anxiety_agreement_matches_irr_with_mcgraw_wong_df():
    """irr::icc(anxiety, "twoway", "agreement"): ICC(A,1)=0.198, 95% CI -0.039 to 0.494. The
    F test uses df2=(n-1)(k-1)=38 (McGraw & Wong 1996), so p=.0562, not irr's .0543 that
    uses the Satterthwaite df (statistics.md pitfall 4)."""
    row = by_type(icc(long_scores(ANXIETY))).loc["ICC(A,1)"]
    assert row["icc"] == pytest.approx(0.198, abs=5e-4)
    assert row["ci_low"] == pytest.approx(-0.039, abs=5e-4)
    assert row["ci_high"] == pytest.approx(0.494, abs=5e-4)
    assert row["df2"] == 38
    assert row["pval"] == pytest.approx(0.0562, abs=5e-5)


def test_output_has_the_documented_columns_and_rows():
    result = icc(long_scores(SHROUT_FLEISS))
    assert tuple(result.columns) == ICC_COLUMNS
    assert result["type"].tolist() == ["ICC(1,1)", "ICC(A,1)", "ICC(C,1)",
                                       "ICC(1,k)", "ICC(A,k)", "ICC(C,k)"]
    assert (result["n_interactions"] == 6).all() and (result["n_evaluators"] == 4).all()
    assert result.attrs["dropped_interactions"] == 0


@pytest.mark.parametrize("seed", range(8))
def test_agrees_with_pingouin_on_random_data(seed):
    """Point estimates, F, df and p equal pingouin's; CIs equal pingouin's rounded CI95."""
    pingouin = pytest.importorskip("pingouin")
    rng = np.random.default_rng(seed)
    n, k = rng.integers(3, 40), rng.integers(2, 9)
    matrix = np.clip(rng.normal(80, 8, (n, 1)) + rng.normal(0, 3, (1, k))
                     + rng.normal(0, rng.uniform(1, 10), (n, k)), 0, 100)
    data = long_scores(matrix)
    ours = by_type(icc(data))
    theirs = pingouin.intraclass_corr(data, targets="calibration_id", raters="evaluator_id",
                                      ratings="total_score").set_index("Type")
    for name in ours.index:
        assert ours.loc[name, "icc"] == pytest.approx(theirs.loc[name, "ICC"], abs=1e-10)
        assert ours.loc[name, "f"] == pytest.approx(theirs.loc[name, "F"], rel=1e-10)
        assert ours.loc[name, "df2"] == theirs.loc[name, "df2"]
        assert ours.loc[name, "pval"] == pytest.approx(theirs.loc[name, "pval"], abs=1e-12)
        low, high = theirs.loc[name, "CI95"]
        assert round(ours.loc[name, "ci_low"], 2) == pytest.approx(low, abs=0.0101), name
        assert round(ours.loc[name, "ci_high"], 2) == pytest.approx(high, abs=0.0101), name


def test_constant_evaluator_offset_lowers_agreement_but_not_consistency():
    """A +10 severity offset on one evaluator leaves ICC(C,1) unchanged but lowers ICC(A,1)."""
    base = long_scores(ANXIETY * 10)
    shifted = base.copy()
    shifted.loc[shifted["evaluator_id"] == "eval-0", "total_score"] += 10
    before, after = by_type(icc(base)), by_type(icc(shifted))
    assert after.loc["ICC(C,1)", "icc"] == pytest.approx(before.loc["ICC(C,1)", "icc"])
    assert after.loc["ICC(A,1)", "icc"] < before.loc["ICC(A,1)", "icc"] - 0.01


def test_confidence_level_widens_interval():
    narrow = by_type(icc(long_scores(ANXIETY), confidence=0.80)).loc["ICC(A,1)"]
    wide = by_type(icc(long_scores(ANXIETY), confidence=0.99)).loc["ICC(A,1)"]
    assert wide["ci_low"] < narrow["ci_low"] < narrow["icc"] < narrow["ci_high"] < wide["ci_high"]


def test_missing_cell_raises_by_default_and_names_the_fix():
    matrix = SHROUT_FLEISS.copy()
    matrix[2, 1] = np.nan
    with pytest.raises(ValueError, match="drop_interactions"):
        icc(long_scores(matrix))


def test_drop_interactions_reports_the_count_and_matches_complete_subset():
    matrix = SHROUT_FLEISS.copy()
    matrix[2, 1] = np.nan
    data = long_scores(matrix)
    data = data.drop(index=data.index[(data["calibration_id"] == "call-4")
                                      & (data["evaluator_id"] == "eval-3")])
    result = icc(data, missing="drop_interactions")
    assert result.attrs["dropped_interactions"] == 2
    assert result.attrs["missing_scores"] == 1
    expected = icc(long_scores(np.delete(SHROUT_FLEISS, [2, 4], axis=0)))
    np.testing.assert_allclose(result["icc"], expected["icc"])
    assert (result["n_interactions"] == 4).all()


def test_custom_column_names():
    data = long_scores(SHROUT_FLEISS).rename(columns={
        "calibration_id": "call", "evaluator_id": "judge", "total_score": "points"})
    result = icc(data, interaction="call", evaluator="judge", score="points")
    assert round(by_type(result).loc["ICC(A,1)", "icc"], 2) == .29


@pytest.mark.parametrize("bad, message", [
    ({"missing": "omit"}, "missing must be"),
    ({"confidence": 95}, "confidence must lie"),
    ({"confidence": "high"}, "confidence must be a number"),
])
def test_bad_options_raise_value_error(bad, message):
    with pytest.raises(ValueError, match=message):
        icc(long_scores(SHROUT_FLEISS), **bad)


def test_single_evaluator_is_rejected():
    with pytest.raises(ValueError, match="at least two evaluators"):
        icc(long_scores(SHROUT_FLEISS[:, :1]))


def test_single_interaction_is_rejected():
    with pytest.raises(ValueError, match="at least two interactions"):
        icc(long_scores(SHROUT_FLEISS[:1]))


def test_constant_scores_are_rejected():
    with pytest.raises(ValueError, match="identical"):
        icc(long_scores(np.full((5, 3), 90.0)))


@pytest.mark.parametrize("value", [-1.0, 100.5])
def test_scores_off_the_scale_are_rejected(value):
    matrix = ANXIETY.copy()
    matrix[0, 0] = value
    with pytest.raises(ValueError, match="outside the 0-100"):
        icc(long_scores(matrix))
    icc(long_scores(matrix), score_range=None)  # the check can be switched off


def test_duplicate_rating_is_rejected():
    data = long_scores(ANXIETY)
    data = pd.concat([data, data.iloc[[0]]], ignore_index=True)
    with pytest.raises(ValueError, match="more than one rating"):
        icc(data)


def test_non_numeric_scores_and_missing_columns_are_rejected():
    data = long_scores(ANXIETY).astype({"total_score": object})
    data.loc[0, "total_score"] = "ninety"
    with pytest.raises(ValueError, match="must hold numbers"):
        icc(data)
    with pytest.raises(ValueError, match="lacks the column"):
        icc(long_scores(ANXIETY).drop(columns="evaluator_id"))


def test_package_level_icc_is_the_function_after_the_submodule_is_imported():
    """The submodule is named ``intraclass`` so that importing it cannot shadow the documented
    call ``calib.stats.icc(data)``."""
    import calib.stats
    import calib.stats.intraclass  # noqa: F401

    result = calib.stats.icc(long_scores(SHROUT_FLEISS))
    assert round(by_type(result).loc["ICC(A,1)", "icc"], 2) == .29


def test_evaluator_without_any_score_is_dropped_and_reported():
    """A panel member whose evaluations are all unfinished (NaN) is not a column of the table."""
    matrix = np.column_stack([SHROUT_FLEISS, np.full(6, np.nan)])
    result = icc(long_scores(matrix))
    assert result.attrs["dropped_evaluators"] == 1 and result.attrs["missing_scores"] == 6
    np.testing.assert_allclose(result["icc"], icc(long_scores(SHROUT_FLEISS))["icc"])


def test_satterthwaite_agreement_df_reproduces_irr():
    """R irr ``icc(anxiety, "twoway", "agreement")`` prints F(19, 39.7) = 1.83, p = 0.0543
    (statistics.md pitfall 4): the option gives irr's df; estimate and interval unchanged."""
    plain = by_type(icc(long_scores(ANXIETY)))
    irr = by_type(icc(long_scores(ANXIETY), agreement_df="satterthwaite"))
    for name in ("ICC(A,1)", "ICC(A,k)"):
        assert irr.loc[name, "df2"] == pytest.approx(39.7, abs=0.05)
        assert irr.loc[name, "pval"] == pytest.approx(0.0543, abs=5e-5)
        assert irr.loc[name, "f"] == pytest.approx(1.83, abs=0.005)
        assert irr.loc[name, ["icc", "ci_low", "ci_high"]].tolist() == \
            plain.loc[name, ["icc", "ci_low", "ci_high"]].tolist()
    for name in ("ICC(1,1)", "ICC(C,1)", "ICC(1,k)", "ICC(C,k)"):
        assert irr.loc[name, ["df2", "pval"]].tolist() == plain.loc[name, ["df2", "pval"]].tolist()


def test_satterthwaite_df_is_mcgraw_wong_table_7_v():
    """An independent transcription of McGraw & Wong's (1996) Table 7 v on random data."""
    rng = np.random.default_rng(4)
    matrix = rng.normal(70, 8, (15, 1)) + rng.normal(0, 3, (1, 4)) + rng.normal(0, 4, (15, 4))
    result = icc(long_scores(matrix), agreement_df="satterthwaite")
    n, k = matrix.shape
    msr, msc, mse = result.attrs["ms_rows"], result.attrs["ms_columns"], result.attrs["ms_error"]
    rho = by_type(result).loc["ICC(A,1)", "icc"]
    a, b = k * rho / (n * (1 - rho)), 1 + k * rho * (n - 1) / (n * (1 - rho))
    v = (a * msc + b * mse) ** 2 / ((a * msc) ** 2 / (k - 1) + (b * mse) ** 2 / ((n - 1) * (k - 1)))
    assert by_type(result).loc["ICC(A,1)", "df2"] == pytest.approx(v, rel=1e-12)
    with pytest.raises(ValueError, match="agreement_df must be"):
        icc(long_scores(matrix), agreement_df="irr")

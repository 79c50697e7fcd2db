"""Krippendorff's alpha: the published example at four levels, agreement with the
``krippendorff`` package, the bootstrap engine, and input validation."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calib.stats.alpha import AlphaResult, _Units, krippendorff_alpha
from calib.stats.intraclass import icc

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", section C (nominal data,
# any number of observers, missing values): 4 observers (rows) x 12 units (columns).
KRIPPENDORFF_2011 = np.array([
    [1, 2, 3, 3, 2, 1, 4, 1, 2, np.nan, np.nan, np.nan],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, np.nan, 3],
    [np.nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, np.nan],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, np.nan],
]).T  # units x observers


def long_values(matrix: np.ndarray, score: str = "total_score") -> pd.DataFrame:
    n, k = matrix.shape
    return pd.DataFrame({
        "calibration_id": [f"call-{i}" for i in np.repeat(np.arange(n), k)],
        "evaluator_id": [f"eval-{j}" for j in np.tile(np.arange(k), n)],
        score: matrix.ravel(),
    })


@pytest.mark.parametrize("level, published", [
    ("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)])
def test_krippendorff_2011_worked_example(level, published):
    """Krippendorff (2011) reports alpha = .743 nominal, .815 ordinal, .849 interval and
    .797 ratio for the 4 x 12 reliability data with missing values; 40 pairable values, and
    unit 12 (a single value) is not pairable."""
    result = krippendorff_alpha(long_values(KRIPPENDORFF_2011), level=level)
    assert round(result.alpha, 3) == published
    assert result.n_pairable_values == 40
    assert result.n_units == 11
    assert result.n_dropped_units == 1
    assert result.n_missing_values == 7
    assert result.level == level


def test_result_is_frozen_with_the_documented_fields():
    result = krippendorff_alpha(long_values(KRIPPENDORFF_2011))
    assert isinstance(result, AlphaResult)
    assert [f for f in AlphaResult.__dataclass_fields__][:7] == [
        "alpha", "level", "ci_low", "ci_high", "n_units", "n_pairable_values",
        "n_dropped_units"]
    assert np.isnan(result.ci_low) and np.isnan(result.ci_high) and result.n_boot == 0
    with pytest.raises(AttributeError):
        result.alpha = 1.0  # type: ignore[misc]


def random_matrix(rng: np.random.Generator, decimals: bool = False) -> np.ndarray:
    units, raters = int(rng.integers(3, 50)), int(rng.integers(2, 7))
    truth = rng.integers(1, 8, (units, 1))
    matrix = truth + rng.integers(-2, 3, (units, raters))
    matrix = matrix.astype(float)
    if decimals:
        matrix = matrix * 7.3 + rng.random((units, raters)).round(2)
    matrix[rng.random(matrix.shape) < 0.25] = np.nan
    matrix[0, :2] = [2.0, 3.0]  # at least one pairable unit with two different values
    return np.clip(matrix, 0, 100)


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
def test_agrees_with_krippendorff_package_on_random_integer_data(seed, level):
    krippendorff = pytest.importorskip("krippendorff")
    matrix = random_matrix(np.random.default_rng(seed))
    ours = krippendorff_alpha(long_values(matrix), level=level).alpha
    theirs = krippendorff.alpha(reliability_data=matrix.T, level_of_measurement=level)
    assert ours == pytest.approx(theirs, abs=1e-10)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("level", ["ordinal", "interval", "ratio"])
def test_agrees_with_krippendorff_package_on_decimal_scores(seed, level):
    krippendorff = pytest.importorskip("krippendorff")
    matrix = random_matrix(np.random.default_rng(100 + seed), decimals=True)
    ours = krippendorff_alpha(long_values(matrix), level=level).alpha
    theirs = krippendorff.alpha(reliability_data=matrix.T, level_of_measurement=level)
    assert ours == pytest.approx(theirs, abs=1e-10)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.one_of(st.none(), st.integers(0, 100)), min_size=2, max_size=5),
                min_size=2, max_size=15))
def test_interval_alpha_property_against_krippendorff(rows):
    """On arbitrary small tables with missing cells, interval alpha equals the reference
    whenever the reference defines it, and ours raises exactly when alpha is undefined or rests
    on a single pairable call (where the reference returns 0 whatever the values)."""
    krippendorff = pytest.importorskip("krippendorff")
    width = max(len(r) for r in rows)
    matrix = np.array([[np.nan if v is None else v for v in r] + [np.nan] * (width - len(r))
                       for r in rows], dtype=float)
    pairable = matrix[(~np.isnan(matrix)).sum(axis=1) >= 2]
    values = pairable[~np.isnan(pairable)]
    raters = (~np.isnan(matrix)).any(axis=0).sum()
    if len(pairable) < 2 or np.ptp(values) == 0 or raters < 2:  # one call: alpha is always 0
        with pytest.raises(ValueError):
            krippendorff_alpha(long_values(matrix))
        return
    ours = krippendorff_alpha(long_values(matrix)).alpha
    theirs = krippendorff.alpha(reliability_data=matrix.T, level_of_measurement="interval")
    assert ours == pytest.approx(theirs, abs=1e-9)


def test_text_categories_give_the_same_nominal_alpha_as_codes():
    matrix = KRIPPENDORFF_2011
    labels = np.array(["", "yes", "no", "N/A", "partly", "other"], dtype=object)
    text = long_values(matrix, score="category")
    text["category"] = [None if np.isnan(v) else labels[int(v)] for v in matrix.ravel()]
    result = krippendorff_alpha(text, level="nominal", score="category")
    assert result.alpha == pytest.approx(0.743421052631579, abs=1e-12)
    with pytest.raises(ValueError, match="must hold numbers"):
        krippendorff_alpha(text, level="ordinal", score="category")


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
def test_bootstrap_weights_equal_duplicating_units(level):
    """The vectorised bootstrap weights a unit by its multiplicity; that must equal alpha on
    data where the unit is copied that many times (under new unit ids)."""
    matrix = KRIPPENDORFF_2011[:11]  # drop the non-pairable unit
    weights = np.array([2, 0, 1, 3, 1, 0, 1, 2, 1, 0, 0], dtype=float)
    expanded = np.repeat(matrix, weights.astype(int), axis=0)
    rows, cols = np.nonzero(~np.isnan(matrix))
    core = _Units.build(rows, matrix[rows, cols], level)
    weighted = core.alphas(weights[None, :], level)[0]
    direct = krippendorff_alpha(long_values(expanded), level=level).alpha
    assert weighted == pytest.approx(direct, abs=1e-12)


def test_bootstrap_is_seeded_and_brackets_the_estimate():
    data = long_values(random_matrix(np.random.default_rng(3), decimals=True))
    first = krippendorff_alpha(data, n_boot=400, seed=11)
    again = krippendorff_alpha(data, n_boot=400, seed=11)
    other = krippendorff_alpha(data, n_boot=400, seed=12)
    assert (first.ci_low, first.ci_high) == (again.ci_low, again.ci_high)
    assert (first.ci_low, first.ci_high) != (other.ci_low, other.ci_high)
    assert first.ci_low < first.alpha < first.ci_high
    assert first.n_boot == 400


def test_wider_confidence_gives_a_wider_bootstrap_interval():
    data = long_values(random_matrix(np.random.default_rng(4)))
    narrow = krippendorff_alpha(data, n_boot=300, confidence=0.8)
    wide = krippendorff_alpha(data, n_boot=300, confidence=0.99)
    assert wide.ci_low <= narrow.ci_low and narrow.ci_high <= wide.ci_high


def test_interval_alpha_is_invariant_to_linear_rescaling():
    matrix = random_matrix(np.random.default_rng(5))
    base = krippendorff_alpha(long_values(matrix)).alpha
    rescaled = krippendorff_alpha(long_values(matrix * 12.5 + 3), score_range=None).alpha
    assert rescaled == pytest.approx(base, abs=1e-12)


def test_missing_rows_and_absent_rows_are_equivalent():
    data = long_values(KRIPPENDORFF_2011)
    without = data.dropna(subset=["total_score"])
    a, b = krippendorff_alpha(data), krippendorff_alpha(without)
    assert a.alpha == b.alpha and a.n_missing_values == 7 and b.n_missing_values == 0


@pytest.mark.parametrize("kwargs, message", [
    ({"level": "metric"}, "level must be one of"),
    ({"n_boot": -1}, "n_boot must be"),
    ({"n_boot": 2.5}, "n_boot must be"),
    ({"confidence": 1.0}, "confidence must lie"),
])
def test_bad_options_raise_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        krippendorff_alpha(long_values(KRIPPENDORFF_2011), **kwargs)


def test_single_evaluator_is_rejected():
    with pytest.raises(ValueError, match="only 1 evaluator"):
        krippendorff_alpha(long_values(KRIPPENDORFF_2011[:, :1]))


def test_no_pairable_unit_is_rejected():
    matrix = np.array([[1.0, np.nan], [np.nan, 2.0], [3.0, np.nan]])
    with pytest.raises(ValueError, match="No unit was rated by two"):
        krippendorff_alpha(long_values(matrix))


def test_constant_values_are_rejected():
    with pytest.raises(ValueError, match="identical"):
        krippendorff_alpha(long_values(np.full((4, 3), 90.0)))


def test_out_of_range_and_negative_values_are_rejected():
    matrix = KRIPPENDORFF_2011.copy()
    matrix[0, 0] = 101
    with pytest.raises(ValueError, match="outside the 0-100"):
        krippendorff_alpha(long_values(matrix))
    matrix[0, 0] = -1
    with pytest.raises(ValueError, match="non-negative"):
        krippendorff_alpha(long_values(matrix), level="ratio", score_range=None)


@pytest.mark.parametrize("statistic", [krippendorff_alpha, icc])
def test_the_out_of_range_message_names_a_fix_that_works(statistic):
    """The message says which keyword switches the range check off; that keyword must exist
    (alpha's message once named score_range= while alpha only took value_range=)."""
    matrix = KRIPPENDORFF_2011.copy()
    matrix[~np.isnan(matrix).any(axis=1)] *= 30  # a 1-150 scale on the complete calls
    data = long_values(matrix[~np.isnan(matrix).any(axis=1)])
    with pytest.raises(ValueError, match="outside the 0-100") as raised:
        statistic(data)
    keyword = re.search(r"pass (\w+)=None", str(raised.value)).group(1)
    statistic(data, **{keyword: None})


def test_duplicate_rating_is_rejected():
    data = long_values(KRIPPENDORFF_2011)
    with pytest.raises(ValueError, match="more than one rating"):
        krippendorff_alpha(pd.concat([data, data.iloc[[1]]]))


def test_zero_scores_are_allowed_at_the_ratio_level():
    """delta(0, 0) = 0 (identical values never disagree), as in the reference package."""
    krippendorff = pytest.importorskip("krippendorff")
    matrix = np.array([[0.0, 0.0], [10.0, 20.0], [50.0, 40.0], [0.0, 5.0]])
    ours = krippendorff_alpha(long_values(matrix), level="ratio").alpha
    theirs = krippendorff.alpha(reliability_data=matrix.T, level_of_measurement="ratio")
    assert ours == pytest.approx(theirs, abs=1e-12)

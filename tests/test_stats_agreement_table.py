"""Agreement from a two-rater contingency table with the table-based variance: Gwet's (2014)
published example and irrCAC's table module on random tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from calib import stats

# R irrCAC ``cont3x3abstractors`` (Gwet 2014): two abstractors classifying 100 pregnancies.
ABSTRACTORS = pd.DataFrame([[13, 0, 0], [0, 20, 7], [0, 4, 56]],
                           index=["Ectopic", "AIU", "NIU"], columns=["Ectopic", "AIU", "NIU"])


@pytest.mark.parametrize("coefficient, value, se, ci", [
    ("cohen_kappa", 0.7964094, 0.05891072, (0.68, 0.913)),
    ("scott_pi", 0.7962397, 0.05905473, (0.679, 0.913)),
    ("gwet_ac", 0.8493305, 0.04321747, (0.764, 0.935)),
    ("percent_agreement", 0.89, 0.03128898, (0.828, 0.952)),
])
def test_gwet_2014_cont3x3abstractors(coefficient, value, se, ci):
    """R irrCAC README: kappa2.table, scott2.table, gwet.ac1.table and pa2.table on
    cont3x3abstractors (coefficient, SE, 95% t interval with 99 df)."""
    result = stats.agreement_from_table(ABSTRACTORS, coefficient=coefficient)
    assert result.estimate == pytest.approx(value, abs=1e-7)
    assert result.se == pytest.approx(se, abs=1e-8)
    assert (round(result.ci_low, 3), round(result.ci_high, 3)) == pytest.approx(ci, abs=1e-9)
    assert result.n_units == 100 and result.interval == "t"


def test_quadratic_ac2_on_cont3x3abstractors():
    """irrCAC (Python) documentation: AC2 with quadratic weights 0.94024, SE 0.01792,
    CI (0.90468, 0.97579), pe 0.53985 (categories 1-3)."""
    result = stats.agreement_from_table(ABSTRACTORS.to_numpy(), coefficient="gwet_ac",
                                        weights="quadratic")
    assert result.coefficient == "AC2"
    assert [round(v, 5) for v in (result.estimate, result.se, result.ci_low, result.ci_high,
                                  result.pe)] == [0.94024, 0.01792, 0.90468, 0.97579, 0.53985]


def test_table_and_raw_ratings_give_the_same_estimates():
    pairs = np.array([(i, j) for i in range(3) for j in range(3)
                      for _ in range(ABSTRACTORS.to_numpy()[i, j])], dtype=float)
    data = pd.DataFrame({"calibration_id": np.repeat(np.arange(100), 2),
                         "evaluator_id": ["a", "b"] * 100, "category": pairs.ravel()})
    table = ABSTRACTORS.to_numpy()
    assert stats.agreement_from_table(table, coefficient="cohen_kappa").estimate == \
        pytest.approx(stats.cohen_kappa(data).estimate)
    raw = stats.gwet_ac(data)
    tab = stats.agreement_from_table(table, coefficient="gwet_ac")
    assert tab.estimate == pytest.approx(raw.estimate)
    assert tab.se == pytest.approx(raw.se * np.sqrt(99 / 100))


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("weights", ["identity", "linear", "quadratic", "ordinal"])
def test_agrees_with_irrcac_table_module_on_random_tables(seed, weights):
    table_module = pytest.importorskip("irrCAC.table")
    rng = np.random.default_rng(seed)
    q = int(rng.integers(2, 6))
    counts = rng.integers(0, 12, (q, q)) + np.diag(rng.integers(5, 30, q))
    frame = pd.DataFrame(counts, index=range(1, q + 1), columns=range(1, q + 1))
    cac = table_module.CAC(frame, weights=weights, digits=12)
    for coefficient, method in (("cohen_kappa", cac.cohen), ("scott_pi", cac.scott),
                                ("gwet_ac", cac.gwet)):
        theirs = method()["est"]
        ours = stats.agreement_from_table(frame, coefficient=coefficient, weights=weights)
        assert ours.estimate == pytest.approx(theirs["coefficient_value"], abs=1e-9)
        assert ours.se == pytest.approx(theirs["se"], abs=1e-9)
        assert ours.ci_high == pytest.approx(theirs["confidence_interval"][1], abs=1e-9)


@pytest.mark.parametrize("table, message", [
    (np.array([[1, 2, 3], [4, 5, 6]]), "square"),
    (np.array([[1, -2], [3, 4]]), "non-negative"),
    (np.array([[1.5, 2], [3, 4]]), "whole"),
    (np.zeros((2, 2)), "empty"),
    (pd.DataFrame([[1, 2], [3, 4]], index=["a", "b"], columns=["b", "a"]), "same order"),
])
def test_bad_tables_are_refused_in_a_sentence(table, message):
    with pytest.raises(ValueError, match=message):
        stats.agreement_from_table(table)


def test_unknown_coefficient_and_one_category_tables_are_refused():
    with pytest.raises(ValueError, match="coefficient must be one of"):
        stats.agreement_from_table(ABSTRACTORS, coefficient="alpha")
    with pytest.raises(ValueError, match="chance agreement is 1"):
        stats.agreement_from_table(np.array([[5, 0], [0, 0]]), coefficient="cohen_kappa")

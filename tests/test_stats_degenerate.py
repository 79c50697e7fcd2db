"""Issue 10, items 10-13 and the empty G-study: few calls, perfect agreement, degenerate input.

Every test here failed on main before the fix (ZeroDivisionError, intervals outside the possible
range, zero-width intervals, a spurious [-1, 1] bootstrap interval, alpha 0.0 on one call).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from calib import stats
from calib.tables import answers_frame


# The smallest number of calls for which an interval is given (calib.stats._common).
MIN_UNITS = 3


def long(matrix, value: str = "total_score") -> pd.DataFrame:
    matrix = np.asarray(matrix, dtype=float)
    n, k = matrix.shape
    return pd.DataFrame({
        "calibration_id": [f"call-{i}" for i in np.repeat(np.arange(n), k)],
        "evaluator_id": [f"eval-{j}" for j in np.tile(np.arange(k), n)],
        value: [None if np.isnan(v) else float(v) for v in matrix.ravel()]
        if value == "category" else matrix.ravel(),
    })


# --------------------------------------------------------------- item 10: alpha's bootstrap

PERFECT_3x3 = [[80, 80, 80], [60, 60, 60], [90, 90, 90]]


def test_alpha_bootstrap_with_three_perfectly_agreeing_calls_is_not_minus_one_to_one():
    """3 calls x 3 evaluators in perfect agreement: alpha is 1. One resample in nine draws a
    single call three times, where expected disagreement is 0 and alpha is 0/0; on main those
    replicates were kept as float noise and gave the interval [-1, 1]. They now count as
    undefined, and because they are more than the 2.5% tail, no interval is given."""
    result = stats.krippendorff_alpha(long(PERFECT_3x3), n_boot=1000, seed=0)
    assert result.alpha == pytest.approx(1.0)
    assert np.isnan(result.ci_low) and np.isnan(result.ci_high)
    assert result.n_boot == 1000
    assert 60 <= result.n_boot_undefined <= 160  # about 1000 * 3/27
    assert "undefined" in result.note and "no interval" in result.note.lower()


def test_alpha_bootstrap_undefined_replicates_are_found_exactly_not_by_float_noise():
    """A resample made of copies of one constant call is degenerate whatever the values'
    rounding; the count equals the number of such resamples drawn."""
    data = long([[80.1, 80.1], [60.7, 60.7], [90.3, 90.3], [10.9, 10.9]])
    result = stats.krippendorff_alpha(data, n_boot=2000, seed=3)
    rng = np.random.default_rng(3)
    weights = rng.multinomial(4, np.full(4, 0.25), size=2000)
    expected = int(((weights > 0).sum(axis=1) == 1).sum())
    assert result.n_boot_undefined == expected
    assert result.n_boot == 2000


def test_alpha_perfect_agreement_on_many_calls_reports_it_in_the_note():
    matrix = np.repeat(np.arange(40, 100, 3, dtype=float)[:, None], 3, axis=1)
    result = stats.krippendorff_alpha(long(matrix), n_boot=500, seed=1)
    assert result.alpha == pytest.approx(1.0)
    assert (result.ci_low, result.ci_high) == (1.0, 1.0)
    assert "perfect agreement" in result.note.lower()


def test_alpha_interval_is_unchanged_when_no_replicate_is_degenerate():
    rng = np.random.default_rng(7)
    matrix = rng.integers(40, 100, (30, 4)).astype(float)
    result = stats.krippendorff_alpha(long(matrix), n_boot=300, seed=2)
    assert result.n_boot_undefined == 0 and result.note == ""
    assert result.ci_low < result.alpha < result.ci_high


# --------------------------------------------------------------- item 11: range of intervals

TWO_CALLS = [[1, 1, 1], [1, 1, 2]]      # percent agreement [-3.57, 1] on main
THREE_CALLS = [[1, 1, 1], [1, 1, 2], [1, 2, 2]]


@pytest.mark.parametrize("function", [stats.percent_agreement, stats.gwet_ac,
                                      stats.fleiss_kappa])
def test_two_calls_give_no_interval_and_say_why(function):
    result = function(long(TWO_CALLS, "category"))
    assert np.isfinite(result.estimate)
    assert np.isnan(result.ci_low) and np.isnan(result.ci_high)
    assert f"at least {MIN_UNITS}" in result.note


@pytest.mark.parametrize("function", [stats.percent_agreement, stats.gwet_ac,
                                      stats.fleiss_kappa])
def test_intervals_stay_in_the_coefficients_possible_range(function):
    result = function(long(THREE_CALLS, "category"))
    lowest = -result.pe / (1 - result.pe)  # the coefficient at zero observed agreement
    assert lowest - 1e-12 <= result.ci_low <= result.estimate <= result.ci_high <= 1.0


@pytest.mark.parametrize("function", [stats.percent_agreement, stats.gwet_ac])
def test_a_truncated_interval_says_so(function):
    result = function(long(THREE_CALLS, "category"))
    assert result.ci_low == pytest.approx(-result.pe / (1 - result.pe))
    assert "truncated" in result.note


def test_percent_agreement_interval_is_truncated_at_zero():
    result = stats.percent_agreement(long(THREE_CALLS, "category"))
    assert result.ci_low == 0.0


def test_question_agreement_uses_the_same_interval_rules():
    rows = []
    for call, answers in enumerate(TWO_CALLS):
        for evaluator, answer in enumerate(answers):
            rows.append(dict(calibration_id=f"c{call}", evaluator_id=f"e{evaluator}",
                             question_id="q1", answer_id=f"a{answer}", marked_na=False))
    table = stats.question_agreement(answers_frame(rows))
    row = table.iloc[0]
    assert np.isnan(row["ac1_ci_low"]) and np.isnan(row["fleiss_ci_low"])
    assert f"at least {MIN_UNITS}" in row["note"]


# --------------------------------------------------------------- item 12: minimum sizes

def test_alpha_on_a_single_call_is_refused_in_a_sentence():
    with pytest.raises(ValueError, match="at least two calls"):
        stats.krippendorff_alpha(long([[80, 70, 60]]), n_boot=100)


@pytest.mark.parametrize("matrix", [[[1, 2]], [[1, 2], [2, 2]]])
def test_cohen_kappa_on_one_or_two_calls_has_no_zero_width_interval(matrix):
    result = stats.cohen_kappa(long(matrix, "category"))
    assert np.isnan(result.ci_low) and np.isnan(result.ci_high)
    assert f"at least {MIN_UNITS}" in result.note


def test_cohen_kappa_perfect_agreement_is_reported_as_such():
    result = stats.cohen_kappa(long([[1, 1], [2, 2], [1, 1], [2, 2]], "category"))
    assert result.estimate == 1.0
    assert (result.ci_low, result.ci_high) == (1.0, 1.0)
    assert "perfect agreement" in result.note.lower()


def test_zero_standard_error_below_perfect_agreement_gives_no_interval():
    """Every call shows the same disagreement: the linearised SE is 0, which is not certainty."""
    result = stats.percent_agreement(long([[1, 2], [1, 2], [1, 2], [1, 2]], "category"))
    assert result.estimate == 0.0 and result.se == 0.0
    assert np.isnan(result.ci_low) and "standard error is 0" in result.note


# --------------------------------------------------------------- item 13: ICC degenerate cases

def by_type(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index("type")


def test_icc_perfect_agreement_is_one_with_a_note_not_a_crash():
    """Every evaluator equal on every call (ZeroDivisionError on main)."""
    result = by_type(stats.icc(long([[80, 80], [60, 60], [90, 90]])))
    assert (result["icc"] == 1.0).all()
    assert (result["ci_low"] == 1.0).all() and (result["ci_high"] == 1.0).all()
    assert (result["pval"] == 0.0).all() and np.isinf(result["f"]).all()
    assert result["note"].str.contains("perfect agreement", case=False).all()


def test_icc_with_identical_scores_on_every_call_explains_the_undefined_forms():
    """The calls do not differ (each gets 80 from one evaluator and 70 from the other):
    ZeroDivisionError on main. Consistency is 0/0; absolute agreement is 0 (all variance is
    the evaluators')."""
    result = by_type(stats.icc(long([[80, 70], [80, 70], [80, 70]])))
    assert np.isnan(result.loc["ICC(C,1)", "icc"]) and np.isnan(result.loc["ICC(C,k)", "icc"])
    assert result.loc["ICC(A,1)", "icc"] == 0.0
    assert "do not differ" in result.loc["ICC(C,1)", "note"]
    assert result[["ci_low", "ci_high"]].isna().all().all()


def test_icc_consistency_of_zero_one_scores_is_not_one_when_calls_do_not_differ():
    """0/1 scores where evaluator 3 always gives 0 and the others 1: main returned
    ICC(C,1) = 1.0 because the calls' sum of squares was 6e-33 of rounding noise, not 0. The
    1.0 was wrong: the calls do not differ at all, so consistency is undefined."""
    result = by_type(stats.icc(long([[1, 1, 0], [1, 1, 0], [1, 1, 0]])))
    assert np.isnan(result.loc["ICC(C,1)", "icc"])
    assert result.loc["ICC(A,1)", "icc"] == 0.0


def test_icc_of_zero_one_scores_in_perfect_agreement_is_rightly_one():
    """With 0/1 scores and every evaluator agreeing on every call, 1.0 is correct."""
    result = by_type(stats.icc(long([[0, 0, 0], [1, 1, 1], [0, 0, 0], [1, 1, 1]])))
    assert (result["icc"] == 1.0).all()


def test_icc_when_only_the_within_call_order_differs():
    """Call means equal and evaluator means equal: the k-forms divide by MSR = 0."""
    result = by_type(stats.icc(long([[1, 2], [2, 1]])))
    assert result.loc["ICC(1,1)", "icc"] == pytest.approx(-1.0)
    assert np.isnan(result.loc["ICC(C,k)", "icc"])
    assert result.loc["ICC(C,k)", "note"] != ""


# --------------------------------------------------------------- g_study on an empty table

def test_g_study_with_an_empty_answers_table_says_so():
    with pytest.raises(ValueError, match="answers table is empty"):
        stats.g_study(None, design="calls x questions x evaluators", answers=pd.DataFrame())
    with pytest.raises(ValueError, match="answers table is empty"):
        stats.g_study(None, design="calls x questions x evaluators",
                      answers=answers_frame([]))


def test_g_study_with_an_empty_scores_table_says_so():
    with pytest.raises(ValueError, match="scores table is empty"):
        stats.g_study(pd.DataFrame())


# --------------------------------------------------------------- the conclusion a lead reads

def test_perfect_agreement_reads_as_good_reliability_in_the_report_headline():
    """What the QM lead acts on: a month where every evaluator gave every call the same score
    must read as good reliability, not "scores disagree" (main crashed before any headline)."""
    from types import SimpleNamespace

    from calib.report.analysis import Analysis, _coefficients
    from calib.report.verdict_sections import headline_sentence

    scores = long([[80, 80, 80], [60, 60, 60], [90, 90, 90]])
    problems: dict = {}
    coefficients = _coefficients(scores, {"confidence": 0.95, "n_boot": 200, "seed": 0},
                                 problems, "2026-11")
    assert problems == {}
    assert coefficients["ICC(A,1)"]["value"] == 1.0
    from calib.verdicts import build_verdicts

    verdicts = build_verdicts(scores.assign(month="2026-11", status="FINISHED",
                                            role="evaluator"), n_permutations=99)
    data = SimpleNamespace(gate_closed=False, params={},
                           analysis=Analysis(coefficients=coefficients, verdicts=verdicts))
    assert verdicts.consistency.level == "excellent"
    assert "excellent" in verdicts.headline()[0]
    assert headline_sentence(data).startswith("Keep the monthly calibration cadence")

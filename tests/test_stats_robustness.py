"""Degenerate input across the statistics: every function either refuses in a sentence or
returns an honest result (no crash, no interval outside the possible range, no zero-width
interval or NaN without a sentence that says why).

The tries/held/failed counts of issue 10's statistics category come from this grid: run
``pytest tests/test_stats_robustness.py -q`` and read the pass/fail counts.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from calib import stats

NAN = np.nan
INPUTS = {
    "empty": np.empty((0, 3)),
    "one call": np.array([[80.0, 70.0, 60.0]]),
    "two calls": np.array([[80.0, 80.0, 70.0], [60.0, 65.0, 60.0]]),
    "constant scores": np.full((5, 3), 90.0),
    "perfect agreement": np.array([[80.0] * 3, [60.0] * 3, [90.0] * 3, [75.0] * 3]),
    "identical scores per call": np.array([[80.0, 70.0]] * 4),
    "zero-one scores, calls equal": np.array([[1.0, 1.0, 0.0]] * 3),
    "all missing (N/A)": np.full((4, 3), NAN),
    "one missing cell": np.array([[80.0, NAN, 70.0], [60.0, 65.0, 60.0], [90.0, 85.0, 95.0]]),
    "single evaluator": np.array([[80.0], [60.0], [90.0], [75.0]]),
    "evaluators share no call": np.array([[80.0, NAN], [NAN, 60.0], [90.0, NAN], [NAN, 75.0]]),
    "three calls": np.array([[80.0, 82.0, 78.0], [60.0, 70.0, 65.0], [90.0, 91.0, 95.0]]),
}
INFINITE = np.array([[80.0, np.inf, 70.0], [60.0, 65.0, 60.0], [90.0, 85.0, 95.0]])


def scores_table(matrix: np.ndarray) -> pd.DataFrame:
    n, k = matrix.shape
    rows = [{"calibration_id": f"c{i}", "evaluator_id": f"e{j}", "evaluation_id": f"c{i}e{j}",
             "evaluator_name": f"E{j}", "role": "evaluator", "status": "FINISHED",
             "total_score": matrix[i, j]} for i in range(n) for j in range(k)]
    return pd.DataFrame(rows, columns=["calibration_id", "evaluator_id", "evaluation_id",
                                       "evaluator_name", "role", "status", "total_score"])


def category_table(matrix: np.ndarray) -> pd.DataFrame:
    frame = scores_table(matrix).rename(columns={"total_score": "category"})
    frame["category"] = [None if np.isnan(v) else v for v in frame["category"]]
    return frame


def answers_table(matrix: np.ndarray) -> pd.DataFrame:
    frame = scores_table(matrix)
    return pd.DataFrame({"calibration_id": frame["calibration_id"],
                         "evaluator_id": frame["evaluator_id"],
                         "evaluation_id": frame["evaluation_id"], "question_id": "q1",
                         "answer_id": [None if np.isnan(v) else f"a{v:g}"
                                       for v in frame["total_score"]],
                         "points": frame["total_score"], "max_points": 100.0,
                         "marked_na": frame["total_score"].isna()})


FUNCTIONS = {
    "icc": lambda m: stats.icc(scores_table(m), missing="drop_interactions"),
    "krippendorff_alpha": lambda m: stats.krippendorff_alpha(scores_table(m), n_boot=200),
    "percent_agreement": lambda m: stats.percent_agreement(category_table(m)),
    "gwet_ac": lambda m: stats.gwet_ac(category_table(m)),
    "fleiss_kappa": lambda m: stats.fleiss_kappa(category_table(m)),
    "cohen_kappa": lambda m: stats.cohen_kappa(category_table(m[:, :2])),
    "question_agreement": lambda m: stats.question_agreement(answers_table(m)),
    "evaluator_bias": lambda m: stats.evaluator_bias(scores_table(m)),
    "evaluator_severity": lambda m: stats.evaluator_severity(scores_table(m)),
    "bland_altman": lambda m: stats.bland_altman(m[:, 0], m[:, min(1, m.shape[1] - 1)]),
    "conger_kappa": lambda m: stats.conger_kappa(category_table(m)),
    "scott_pi": lambda m: stats.scott_pi(category_table(m[:, :2])),
    "fleiss_kappa_by_category": lambda m: stats.fleiss_kappa_by_category(category_table(m)),
    "evaluator_differences": lambda m: stats.evaluator_differences(scores_table(m)),
    "evaluator_differences anova": lambda m: stats.evaluator_differences(scores_table(m),
                                                                         se="anova"),
    "g_study": lambda m: stats.g_study(scores_table(m)),
    "g_study nested": lambda m: stats.g_study(scores_table(m), design="evaluators:calls"),
    "d_study intervals": lambda m: stats.d_study(stats.g_study(scores_table(m)), [1, 3]),
    "g_study answers": lambda m: stats.g_study(None, design="calls x questions x evaluators",
                                               answers=answers_table(m)),
}
_NUMPY_INTERNALS = ("zero-size array", "division by zero", "invalid value", "it has .",
                    "index out of", "not subscriptable", "object has no attribute")


def _sentence_problems(message: str) -> list[str]:
    problems = []
    if len(message) < 30 or not message.rstrip().endswith((".", ")")):
        problems.append("not a sentence")
    problems += [f"leaks {p!r}" for p in _NUMPY_INTERNALS if p in message]
    return problems


def _interval_problems(estimate, low, high, note, lowest=-np.inf, highest=1.0) -> list[str]:
    problems = []
    if np.isfinite(low) and np.isfinite(high):
        if low > high:
            problems.append("interval reversed")
        if low < lowest - 1e-9 or high > highest + 1e-9:
            problems.append(f"interval [{low:.3g}, {high:.3g}] outside the possible range")
        if low == high and not note:
            problems.append("zero-width interval without a note")
    if not np.isfinite(estimate) and not note:
        problems.append("NaN estimate without a note")
    return problems


def _result_problems(result) -> list[str]:
    problems = []
    if isinstance(result, pd.DataFrame):
        if "icc" in result.columns:
            for row in result.itertuples():
                problems += _interval_problems(row.icc, row.ci_low, row.ci_high,
                                               getattr(row, "note", ""))
        if "kappa" in result.columns:
            for row in result.itertuples():
                problems += _interval_problems(row.kappa, row.ci_low, row.ci_high, row.note)
        if "phi_low" in result.columns:
            for row in result.itertuples():
                problems += _interval_problems(row.phi, row.phi_low, row.phi_high, "")
        if "ac1" in result.columns:
            for row in result.itertuples():
                problems += _interval_problems(row.ac1, row.ac1_ci_low, row.ac1_ci_high,
                                               getattr(row, "note", ""))
    elif hasattr(result, "ci_low") and hasattr(result, "estimate"):
        lowest = -result.pe / (1 - result.pe) if result.pe < 1 else -np.inf
        problems += _interval_problems(result.estimate, result.ci_low, result.ci_high,
                                       getattr(result, "note", ""), lowest)
    elif hasattr(result, "pairs"):
        for row in result.pairs.itertuples():
            # a pair without a shared call says so by its n = 0
            problems += _interval_problems(row.difference, row.ci_low, row.ci_high,
                                           "" if row.n else "n = 0", highest=np.inf)
    elif hasattr(result, "alpha"):
        problems += _interval_problems(result.alpha, result.ci_low, result.ci_high,
                                       getattr(result, "note", ""), -np.inf)
    return problems


def check(function, matrix) -> list[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try:
            result = function(matrix)
        except ValueError as exc:
            return _sentence_problems(str(exc))
        except Exception as exc:  # noqa: BLE001 - any other exception is the defect
            return [f"crashed with {type(exc).__name__}: {exc}"]
    return _result_problems(result)


@pytest.mark.parametrize("input_name", [*INPUTS, "an infinite score"])
@pytest.mark.parametrize("function_name", list(FUNCTIONS))
def test_degenerate_input_is_refused_in_a_sentence_or_reported_honestly(function_name,
                                                                         input_name):
    matrix = INFINITE if input_name == "an infinite score" else INPUTS[input_name]
    problems = check(FUNCTIONS[function_name], matrix)
    assert not problems, f"{function_name} on {input_name}: {'; '.join(problems)}"

"""Recurring criteria: high disagreement on the same question in most recent sessions."""

from __future__ import annotations

import pandas as pd
import pytest

from calib.stats.recurring import recurring_criteria

# Session ids whose alphabetical order differs from their month order.
SESSIONS = [("2026-01", "zeta"), ("2026-02", "alpha"), ("2026-03", "mike"), ("2026-04", "bravo")]
UNANIMOUS = ["Yes", "Yes", "Yes", "Yes"]
SPLIT = ["Yes", "Yes", "No", "No"]  # 2 of 6 pairs agree: disputed


def build(plan: dict[str, list[list[list[str]] | None]]) -> pd.DataFrame:
    """plan[question][session] = per-call answer lists (None: question not on the form)."""
    rows = []
    for question, per_session in plan.items():
        for (month, session), calls in zip(SESSIONS, per_session):
            for c, answers in enumerate(calls or []):
                for e, answer in enumerate(answers):
                    rows.append({"team": "T", "month": month, "session_id": session,
                                 "calibration_id": f"{session}-c{c}", "evaluator_id": f"e{e}",
                                 "role": "expert" if e == 0 else "evaluator",
                                 "question_id": question, "question_text": f"Text {question}",
                                 "answer_id": None if answer in ("N/A", "") else answer,
                                 "answer_text": answer or None, "marked_na": answer == "N/A"})
    return pd.DataFrame(rows)


def session(disputed: int, calls: int = 3) -> list[list[str]]:
    return [SPLIT] * disputed + [UNANIMOUS] * (calls - disputed)


PLAN = {
    "always": [session(3), session(3), session(2), session(3)],
    "once_recently": [session(3), session(0), session(3), session(1)],
    "never": [session(0), session(0), session(0), session(0)],
    "two_of_three": [session(0), session(2), session(0), session(2)],
    "new_question": [None, None, None, session(3)],
}


def test_questions_high_in_two_of_the_last_three_sessions_are_recurring():
    out = recurring_criteria(build(PLAN)).set_index("question_id")
    assert out.attrs["sessions"] == ["alpha", "mike", "bravo"], "ordered by month, last 3"
    assert set(out.index[out.recurring]) == {"always", "two_of_three"}
    assert out.loc["always", "sessions_high"] == 3
    assert out.loc["once_recently", "sessions_high"] == 1
    assert out.loc["two_of_three", "sessions_high"] == 2
    assert out.loc["never", "sessions_high"] == 0
    assert out.loc["new_question", "sessions_considered"] == 1
    assert not out.loc["new_question", "recurring"], "one session cannot make a pattern"
    assert out.loc["two_of_three", "last_disagreement"] == pytest.approx(2 / 3)
    assert out.loc["always", "question_text"] == "Text always"


def test_output_columns_and_order():
    out = recurring_criteria(build(PLAN))
    assert list(out.columns) == ["question_id", "question_text", "sessions_considered",
                                 "sessions_high", "recurring", "last_disagreement"]
    assert list(out.question_id[:2]) == ["always", "two_of_three"]


def test_window_and_threshold_are_parameters():
    data = build(PLAN)
    wide = recurring_criteria(data, last_n=4, min_high=3).set_index("question_id")
    assert set(wide.index[wide.recurring]) == {"always"}
    assert wide.loc["once_recently", "sessions_high"] == 3 - 1 + 0  # zeta, mike, not alpha/bravo
    strict = recurring_criteria(data, high_disagreement=1.0).set_index("question_id")
    assert set(strict.index[strict.recurring]) == {"always"}


def test_disagreement_measure_is_one_minus_mean_pairwise_agreement():
    out = recurring_criteria(build(PLAN), measure="disagreement").set_index("question_id")
    # last session of "once_recently": one split call (agreement 1/3) and two unanimous
    expected = 1 - (1 / 3 + 1 + 1) / 3
    assert out.loc["once_recently", "last_disagreement"] == pytest.approx(expected)


def test_na_counts_as_a_category_and_blank_as_missing():
    plan = {"q": [[["Yes", "N/A", "Yes", "N/A"]] * 2, [["Yes", "N/A", "Yes", "N/A"]] * 2,
                  [["Yes", "", "Yes", "Yes"]] * 2, [["Yes", "Yes", "Yes", "Yes"]] * 2]}
    out = recurring_criteria(build(plan), last_n=4)
    assert out.sessions_high[0] == 2, "N/A against Yes is a disagreement"
    assert out.attrs["n_missing"] == 2


def test_bad_input_raises_sentences():
    data = build(PLAN)
    with pytest.raises(ValueError, match="min_high"):
        recurring_criteria(data, last_n=2, min_high=3)
    with pytest.raises(ValueError, match="last_n"):
        recurring_criteria(data, last_n=0)
    with pytest.raises(ValueError, match="measure"):
        recurring_criteria(data, measure="kappa")
    with pytest.raises(ValueError, match="one team"):
        recurring_criteria(data.assign(team=["A", "B"] * (len(data) // 2)))
    with pytest.raises(ValueError, match="two evaluators"):
        recurring_criteria(data[data.evaluator_id == "e0"])
    with pytest.raises(ValueError, match="session_id"):
        recurring_criteria(data.drop(columns="session_id"))

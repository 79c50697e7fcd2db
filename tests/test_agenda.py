"""The discussion agenda: calls in tier order, disputed questions first, every evaluator's answer
beside the expert's, and nothing user-supplied rendered as markup."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from calib.agenda import TIER_ORDER, build_agenda
from calib.tables import answers_frame, scores_frame


def _toy(comment: str = "fine"):
    """Two calls; on call B question q2, 3 of 5 panel members mark N/A and the expert says No."""
    scores, answers = [], []
    panel = ["e1", "e2", "e3", "e4", "e5"]
    totals = {"A": [80, 81, 82, 80, 81, 82], "B": [60, 70, 75, 90, 95, 65]}
    for cal, tot in totals.items():
        for i, ev in enumerate(["x"] + panel):
            role = "expert" if ev == "x" else "evaluator"
            scores.append(dict(calibration_id=cal, conversation_id=f"conv-{cal}", agent_id=f"ag-{cal}",
                               evaluator_id=ev, evaluator_name=f"Name {ev}", role=role,
                               status="FINISHED", total_score=tot[i], evaluation_id=f"{cal}-{ev}"))
            answers.append(dict(calibration_id=cal, evaluator_id=ev, role=role, question_id="q1",
                                question_text="Greets", answer_id="yes", answer_text="Yes", points=1,
                                max_points=1, marked_na=False, comment=None))
            if cal == "B":
                na = ev in ("e1", "e2", "e3")
                ans = "no" if ev in ("x", "e4") else "yes"
                answers.append(dict(calibration_id=cal, evaluator_id=ev, role=role, question_id="q2",
                                    question_text="Offers <b>callback</b>", answer_id=None if na else ans,
                                    answer_text=None if na else ans.title(),
                                    points=float("nan") if na else (0 if ans == "no" else 1),
                                    max_points=1, marked_na=na, comment=comment if ev == "e1" else None))
    return scores_frame(scores), answers_frame(answers)


def test_talking_point_counts_na_against_the_expert():
    scores, answers = _toy()
    agenda = build_agenda(scores, answers)
    first = agenda.items[0]
    assert first.calibration_id == "B", "the call with a 35-point range must come first"
    (q,) = first.disputed
    assert q.question_id == "q2"
    assert q.talking_points[0] == "3 of 5 marked N/A; the expert answered No."
    assert [a.role for a in q.answers][0] == "expert", "the expert's answer is listed first"
    assert len(q.answers) == 6, "every evaluator's answer is shown"


def test_aligned_call_has_no_disputed_questions_and_comes_last():
    scores, answers = _toy()
    agenda = build_agenda(scores, answers)
    assert [i.calibration_id for i in agenda.items] == ["B", "A"]
    assert agenda.items[1].tier == "aligned" and agenda.items[1].disputed == ()
    assert [i.calibration_id for i in build_agenda(scores, answers, include_aligned=False).items] == ["B"]


def test_html_escapes_comments_and_question_text():
    scores, answers = _toy(comment="<script>alert(1)</script> & more")
    page = build_agenda(scores, answers).to_html()
    assert "<script>" not in page
    assert "alert(1) &amp; more" in page, "the comment's words stay, its tags go, the rest escaped"
    assert "Offers &lt;b&gt;callback&lt;/b&gt;" in page
    assert not re.search(r"<(script|link|img)\b", page), "the page must fetch and run nothing"


def test_markdown_escapes_table_breaking_characters():
    scores, answers = _toy(comment="a | b <i>c</i>")
    md = build_agenda(scores, answers).to_markdown()
    assert "a \\| b c" in md, "a pipe is escaped, markup tags are dropped from comments"


def test_rubric_notes_are_shown_beside_their_question():
    scores, answers = _toy()
    notes = pd.DataFrame({"question_id": ["q2"], "decision": ["Callback applies only to open cases"],
                          "decided_on": ["2026-09-14"]})
    q = build_agenda(scores, answers, rubric_notes=notes).items[0].disputed[0]
    assert q.rubric_notes == ("Callback applies only to open cases (2026-09-14)",)


def test_unfinished_evaluations_are_left_out_and_reported():
    scores, answers = _toy()
    scores.loc[(scores.calibration_id == "B") & (scores.evaluator_id == "e5"), "status"] = "INPROGRESS"
    agenda = build_agenda(scores, answers)
    b = agenda.items[0]
    assert all(a.evaluator_id != "e5" for q in b.disputed for a in q.answers)
    assert len(agenda.excluded) == 1


def test_missing_columns_are_named():
    scores, answers = _toy()
    with pytest.raises(ValueError, match="question_id"):
        build_agenda(scores, answers.drop(columns="question_id"))


@pytest.fixture(scope="module")
def sandbox_month():
    from calib.sandbox import generate_org

    org = generate_org(7)
    s, a = org.tidy_scores(), org.tidy_answers()
    return (s[(s.team == "demo") & (s.month == "2026-10")], a[(a.team == "demo") & (a.month == "2026-10")],
            org)


def test_sandbox_month_agenda_is_in_tier_then_range_order(sandbox_month):
    scores, answers, _ = sandbox_month
    items = build_agenda(scores, answers).items
    keys = [(TIER_ORDER[i.tier], -i.range) for i in items]
    assert keys == sorted(keys)
    assert len(items) == scores.calibration_id.nunique()
    for item in items:
        agreements = [q.agreement for q in item.disputed]
        assert agreements == sorted(agreements), "disputed questions: least agreement first"
        for q in item.disputed:
            expected = answers[(answers.calibration_id == item.calibration_id)
                               & (answers.question_id == q.question_id)].evaluator_id.nunique()
            assert len(q.answers) == expected


def test_a_variance_passed_in_gives_the_same_agenda_and_is_not_recomputed(sandbox_month,
                                                                           monkeypatch):
    """The report has the variance already; the agenda takes it instead of computing it again."""
    import calib.agenda
    from calib.stats.variance import calibration_variance

    scores, answers, _ = sandbox_month
    own = build_agenda(scores, answers, aligned_max=4, discuss_max=12)
    variance = calibration_variance(scores, aligned_max=4, discuss_max=12)

    def recomputed(*args, **kwargs):
        raise AssertionError("build_agenda recomputed the variance it was given")

    monkeypatch.setattr(calib.agenda, "calibration_variance", recomputed)
    given = build_agenda(scores, answers, aligned_max=4, discuss_max=12, variance=variance)
    assert given.items == own.items
    pd.testing.assert_frame_equal(given.excluded, own.excluded)


def test_a_variance_cut_with_other_thresholds_is_refused():
    from calib.stats.variance import calibration_variance

    scores, answers = _toy()
    variance = calibration_variance(scores, aligned_max=3, discuss_max=10)
    with pytest.raises(ValueError, match="aligned_max=3 and discuss_max=10.*5 and 15"):
        build_agenda(scores, answers, variance=variance)
    assert build_agenda(scores, answers, aligned_max=3, discuss_max=10, variance=variance).items


def test_a_variance_of_other_scores_is_refused():
    from calib.stats.variance import calibration_variance

    scores, answers = _toy()
    variance = calibration_variance(scores.assign(calibration_id=scores.calibration_id + "-x"))
    with pytest.raises(ValueError, match="not in these scores.*'A-x'"):
        build_agenda(scores, answers, variance=variance)

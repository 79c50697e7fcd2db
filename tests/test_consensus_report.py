"""Consensus answers recorded after the meeting, initial vs agreed scores over time, and the
rubric decision's before/after figures in the next month's report — on SQLite and PostgreSQL."""

from __future__ import annotations

import html

import pandas as pd
import pytest

from calib.consensus import (AGREED_COLUMNS, agreed_scores, agreement_over_time,
                             form_from_store, initial_vs_agreed, section_html)
from calib.rubric import record_decision
from calib.report.rubric_sections import before_after_table, show_consensus, show_rubric
from calib.sandbox import generate_org
from calib.store import Store

MONTHS = ("2026-09", "2026-10")


@pytest.fixture(scope="module")
def org():
    return generate_org(7)


def fill(st: Store, org) -> Store:
    s, a = org.tidy_scores(), org.tidy_answers()
    for m in MONTHS:
        st.upsert_month("demo", m, s[(s.team == "demo") & (s.month == m)],
                        a[(a.team == "demo") & (a.month == m)], forms=org.forms)
    return st


@pytest.fixture
def both_stores(store_url, org):
    """A store on SQLite and on PostgreSQL, filled with demo's 2026-09 and 2026-10."""
    st = fill(Store(store_url), org)
    yield st
    st.close()


@pytest.fixture(scope="module")
def template(tmp_path_factory, org):
    path = tmp_path_factory.mktemp("template") / "calib.sqlite"
    fill(Store(f"sqlite:///{path}"), org).close()
    return path


@pytest.fixture
def store(template, tmp_path):
    """A private copy of the filled SQLite store (filling it once keeps the tests fast)."""
    copy = tmp_path / "calib.sqlite"
    copy.write_bytes(template.read_bytes())
    st = Store(f"sqlite:///{copy}")
    yield st
    st.close()


def expert_answers(store, calibration_id):
    a = store.answers("demo")
    return a[(a.calibration_id == calibration_id) & (a.role == "expert")]


def test_the_form_rebuilt_from_the_store_rescores_every_expert_exactly(store):
    """Re-deriving a total from stored answers must match the total Genesys reported."""
    from calib.scoring import score_evaluation

    scores, answers = store.scores("demo"), store.answers("demo")
    forms = {f: form_from_store(store, f) for f in scores.form_id.unique()}
    for ev in scores[scores.role == "expert"].itertuples():
        rows = answers[answers.evaluation_id == ev.evaluation_id]
        given = {r.question_id: ("N/A" if r.marked_na else r.answer_id) for r in rows.itertuples()}
        total = score_evaluation(forms[ev.form_id], given, unanswered="na").total_score
        assert total == pytest.approx(ev.total_score, abs=1e-6), ev.evaluation_id


def test_consensus_that_confirms_the_expert_gives_the_expert_total(both_stores):
    store = both_stores
    scores = store.scores("demo", "2026-10")
    cal = scores.calibration_id.iloc[0]
    for r in expert_answers(store, cal).head(3).itertuples():
        store.record_consensus(cal, r.question_id, "N/A" if r.marked_na else r.answer_id,
                               by=["Quinn Calder", "Dana Chen"], at="2026-10-30T15:00:00Z")
    table = initial_vs_agreed(store, "demo")
    assert tuple(table.columns) == AGREED_COLUMNS
    assert set(table.calibration_id) == {cal}, "only calls with recorded consensus"
    expert = scores[(scores.calibration_id == cal) & (scores.role == "expert")].total_score.iloc[0]
    assert table.agreed_score.unique() == pytest.approx([expert])
    assert (table.difference == table.initial_score - table.agreed_score).all()
    assert (table.n_agreed_questions == 3).all()
    excluded = table.attrs["excluded"]
    assert len(excluded) == store.scores("demo").calibration_id.nunique() - 1
    assert all(e["reason"] == "no consensus answer recorded" for e in excluded)


def test_an_agreed_answer_above_the_expert_raises_the_agreed_score(store):
    scores, answers = store.scores("demo", "2026-10"), store.answers("demo", "2026-10")
    options = store.answer_options()
    # a scored question the expert answered below its best option
    low = answers[(answers.role == "expert") & ~answers.marked_na
                  & (answers.points < answers.max_points)].iloc[0]
    best = options[(options.question_id == low.question_id) & (options.form_id == low.form_id)]
    best = best.sort_values("value").iloc[-1]
    store.record_consensus(low.calibration_id, low.question_id, best.answer_id, by="panel",
                           at="2026-10-30T15:00:00Z")
    table = initial_vs_agreed(store, "demo", "2026-10").set_index("role")
    expert = scores[(scores.calibration_id == low.calibration_id) & (scores.role == "expert")]
    assert table.loc["expert", "agreed_score"] > expert.total_score.iloc[0]
    assert table.loc["expert", "difference"] < 0


def test_initial_against_agreed_over_months(both_stores):
    store = both_stores
    for m in MONTHS:
        scores = store.scores("demo", m)
        for cal in scores.calibration_id.unique()[:2]:
            r = expert_answers(store, cal).iloc[0]
            store.record_consensus(cal, r.question_id, "N/A" if r.marked_na else r.answer_id,
                                   by="panel", at=f"{m}-28T12:00:00Z")
    over = agreement_over_time(initial_vs_agreed(store, "demo"))
    assert sorted(over.month.unique()) == list(MONTHS)
    assert (over.n_calls == 2).all(), "two calls per month per evaluator"
    expert = store.scores("demo").query("role == 'expert'").evaluator_id.iloc[0]
    assert (over[over.evaluator_id == expert].mean_abs_difference == 0).all(), \
        "the fill policy takes the expert's answers, so the expert sits on the agreed score"
    page = section_html(over)
    assert "2026-09" in page and html.escape("Emi O'Neil") in page


def test_fill_policy_mode_differs_from_expert_where_the_expert_is_alone(org):
    """Pure function: the most common answer fills undiscussed questions under fill='mode'."""
    base = dict(team="t", month="2026-10", session_id="s", conversation_id="c", form_id="f")
    scores = pd.DataFrame([dict(base, calibration_id="k", evaluator_id=e, evaluator_name=e,
                                role="expert" if e == "x" else "evaluator", status="FINISHED",
                                total_score=t) for e, t in (("x", 0.0), ("a", 100.0), ("b", 100.0))])
    answers = pd.DataFrame([dict(calibration_id="k", evaluator_id=e, role=r, question_id=q,
                                 answer_id=ans, marked_na=False)
                            for e, r, ans in (("x", "expert", "n"), ("a", "evaluator", "y"),
                                              ("b", "evaluator", "y"))
                            for q in ("q1", "q2")])
    consensus = pd.DataFrame([dict(calibration_id="k", question_id="q1", answer_id="y",
                                   marked_na=False)])
    opts = [{"id": "y", "value": 1}, {"id": "n", "value": 0}]
    form = {"questionGroups": [{"id": "g", "weight": 1, "questions": [
        {"id": "q1", "answerOptions": opts}, {"id": "q2", "answerOptions": opts}]}]}
    by_expert = agreed_scores(scores, answers, consensus, {"f": form}, fill="expert")
    by_mode = agreed_scores(scores, answers, consensus, {"f": form}, fill="mode")
    assert by_expert.agreed_score.iloc[0] == 50.0 and by_mode.agreed_score.iloc[0] == 100.0
    with pytest.raises(ValueError, match="fill must be one of"):
        agreed_scores(scores, answers, consensus, {"f": form}, fill="median")


def test_a_decision_appears_in_the_next_months_report_with_before_after_figures(store):
    answers = store.answers("demo")
    qid = answers[answers.month == "2026-09"].question_id.iloc[0]
    form_context = answers.merge(store.scores("demo")[["evaluation_id", "form_context_id"]],
                                 on="evaluation_id").form_context_id.iloc[0]
    record_decision(store, question_id=qid, decision="Count a <b>callback</b> offer only if a "
                    "time is named.", decided_on="2026-09-29", form_context_id=form_context,
                    session_id="demo/2026-09", anchors=["Yes: names a time"], agreed_by=["QM"])
    notes = store.rubric_notes()
    assert before_after_table(answers, notes, as_of="2026-08").empty, "not in force before"
    table = before_after_table(answers, notes, as_of="2026-10")
    row = table.set_index("question_id").loc[qid]
    rated = answers[answers.question_id == qid].groupby(["month", "calibration_id"]).size()
    rated = rated[rated >= 2].groupby("month").size()
    assert row.n_before == rated.get("2026-09", 0) and row.n_after == rated.get("2026-10", 0)
    assert row.fell in (True, False)

    from calib.report.data import MonthData

    data = MonthData(params={}, team="demo", month="2026-10", months=list(MONTHS),
                     scores=store.scores("demo"), answers=answers, status=pd.DataFrame(),
                     gate=store.gate("demo", "2026-10"), users=store.users(),
                     rubric_notes=notes, now=pd.Timestamp("2026-11-09", tz="UTC"),
                     store_display=store.url_for_display, analysis={})
    section = show_rubric(data)._repr_html_()
    assert html.escape("Count a <b>callback</b>") in section and "<b>callback" not in section
    assert f"(n = {int(row.n_before)})" in section and f"(n = {int(row.n_after)})" in section
    consensus = show_consensus(data, store)._repr_html_()
    assert "No consensus answers recorded yet" in consensus

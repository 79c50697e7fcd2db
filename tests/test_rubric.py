"""The rubric decision log: recorded in the store (SQLite and PostgreSQL), exported readable, and
shown in later months with before/after disagreement figures."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from calib.rubric import before_after, export_decision_log, notes_in_force, record_decision, rubric_defects
from calib.store import Store
from calib.tables import answers_frame


def test_decision_log_survives_a_store_round_trip(store_url, tmp_path):
    store = Store(store_url)
    note = record_decision(
        store, question_id="q-knowledge", decision="Yes only when the model is named <exactly>",
        decided_on="2026-09-14", form_context_id="ctx-1", session_id="demo/2026-09",
        anchors=["Yes: names the model and gives model-specific steps", "No: generic steps"],
        agreed_by=["Quinn Calder", "Dana Chen"], export_dir=tmp_path / "rubric")
    reopened = Store(store_url)
    log = reopened.rubric_notes()
    assert len(log) == 1 and int(log.loc[0, "note_id"]) == note
    row = log.iloc[0]
    assert row["decision"] == "Yes only when the model is named <exactly>"
    assert list(row["anchors"]) == ["Yes: names the model and gives model-specific steps",
                                    "No: generic steps"]
    assert list(row["agreed_by"]) == ["Quinn Calder", "Dana Chen"]
    assert str(row["decided_on"]) == "2026-09-14" and row["session_id"] == "demo/2026-09"
    (md,) = (tmp_path / "rubric").glob("*.md")
    (yml,) = (tmp_path / "rubric").glob("*.yaml")
    # raw HTML in a decision is shown as text by every Markdown renderer, never run
    assert "Yes only when the model is named &lt;exactly&gt;" in md.read_text()
    data = yaml.safe_load(yml.read_text())
    assert data["decisions"][0]["agreed_by"] == ["Quinn Calder", "Dana Chen"]
    assert data["decisions"][0]["decided_on"] == "2026-09-14", "dates stay strings in the YAML"


@pytest.mark.parametrize("kwargs, message", [
    (dict(decision=" "), "decision is empty"),
    (dict(form_context_id=None), "Name the form"),
    (dict(agreed_by=[]), "who agreed"),
    (dict(decided_on="14/09/2026"), "YYYY-MM-DD"),
])
def test_bad_decisions_are_refused_in_sentences_and_store_nothing(tmp_path, kwargs, message):
    store = Store(f"sqlite:///{tmp_path / 's.sqlite'}")
    args = dict(question_id="q", decision="d", decided_on="2026-09-14", form_context_id="ctx",
                agreed_by=["A"])
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        record_decision(store, **args)
    assert store.rubric_notes().empty


def _answers(month_agreement: dict[str, list[list[str]]]) -> pd.DataFrame:
    """Answers for question q1: per month a list of calls, each a list of answers."""
    rows = []
    for month, calls in month_agreement.items():
        for c, answers in enumerate(calls):
            for e, ans in enumerate(answers):
                rows.append(dict(month=month, session_id=f"t/{month}", calibration_id=f"{month}-{c}",
                                 evaluator_id=f"e{e}", role="expert" if e == 0 else "evaluator",
                                 question_id="q1", question_text="Knows the product",
                                 answer_id=ans, answer_text=ans, marked_na=False))
    return answers_frame(rows)


def test_before_after_counts_calls_on_each_side_of_the_note():
    split, agree = ["y", "y", "n", "n"], ["y", "y", "y", "y"]
    answers = _answers({"2026-08": [split, split], "2026-09": [split, agree],
                        "2026-10": [agree, agree, split]})
    notes = pd.DataFrame({"note_id": [1], "question_id": ["q1"], "decided_on": ["2026-09-20"],
                          "decision": ["Name the model"]})
    (row,) = before_after(answers, notes).to_dict("records")
    assert (row["n_before"], row["n_after"]) == (4, 3)
    # a 2-2 split has pairwise agreement 4/12 = 1/3, so disagreement 2/3; unanimous calls 0
    assert row["disagreement_before"] == pytest.approx((3 * 2 / 3) / 4)
    assert row["disagreement_after"] == pytest.approx((2 / 3) / 3)
    assert row["fell"] is True and row["change"] < 0


def test_before_after_without_later_calls_says_it_cannot_tell_yet():
    answers = _answers({"2026-09": [["y", "n", "n"]]})
    notes = pd.DataFrame({"note_id": [1], "question_id": ["q1"], "decided_on": ["2026-09-20"],
                          "decision": ["x"]})
    (row,) = before_after(answers, notes).to_dict("records")
    assert row["n_after"] == 0 and row["fell"] is None


def test_notes_in_force_ignore_later_decisions():
    notes = pd.DataFrame({"question_id": ["q1", "q1", "q2"], "decision": ["old", "new", "later"],
                          "decided_on": ["2026-06-01", "2026-09-14", "2026-11-02"]})
    assert notes_in_force(notes, as_of="2026-10")["decision"].tolist() == ["new", "old"]
    with pytest.raises(ValueError, match="YYYY-MM"):
        notes_in_force(notes, as_of="October")


def test_recurring_question_is_called_a_rubric_defect_with_the_rewrite_suggestion():
    recurring = pd.DataFrame({"question_id": ["q1", "q2"], "question_text": ["Knows", "Greets"],
                              "recurring": [True, False], "sessions_high": [3, 0],
                              "sessions_considered": [3, 3]})
    notes = pd.DataFrame({"question_id": ["q1"], "decision": ["Name the model"],
                          "decided_on": ["2026-08-01"]})
    out = rubric_defects(recurring, notes)
    assert out["question_id"].tolist() == ["q1"]
    assert out.loc[0, "has_note"] and "behavioural anchors" in out.loc[0, "suggestion"]
    assert out.loc[0, "suggestion"].startswith("A note exists but disagreement persists")


def test_export_writes_nothing_partial(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 's.sqlite'}")
    record_decision(store, question_id="q", decision="d", decided_on="2026-09-14",
                    form_context_id="ctx", agreed_by="A")
    paths = export_decision_log(store, tmp_path / "out")
    assert sorted(p.suffix for p in paths) == [".md", ".yaml"]
    assert not list((tmp_path / "out").glob("*.tmp"))


def test_a_fall_is_called_only_when_its_interval_excludes_zero():
    """Issue 13: "fell" on a point estimate read noise as progress; the report now says so only
    when Welch's interval of the change excludes 0."""
    from calib.report.rubric_sections import before_after_html

    split, agree = ["y", "y", "n", "n"], ["y", "y", "y", "y"]
    notes = pd.DataFrame({"note_id": [1], "question_id": ["q1"], "decided_on": ["2026-09-20"],
                          "decision": ["Name the model"]})
    few = before_after(_answers({"2026-09": [split, split, agree],
                                 "2026-10": [agree, split, agree]}), notes)
    many = before_after(_answers({"2026-09": [split] * 8 + [agree] * 2,
                                  "2026-10": [agree] * 9 + [split]}), notes)
    (f,), (m,) = few.to_dict("records"), many.to_dict("records")
    assert f["fell"] is True and f["change_ci_low"] < 0 < f["change_ci_high"]
    assert m["fell"] is True and m["change_ci_high"] < 0 and m["p_value"] < 0.05
    assert "no clear change yet (CI" in before_after_html(few)
    assert "fell (CI" in before_after_html(many)

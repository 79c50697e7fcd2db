"""Session plans, the rubric decision log, consensus answers, file imports and run records.
Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from calib.store import Store, StoreError
from tests.test_store_helpers import month_frames

PLAN = {"name": "Oct long calls", "team": "demo", "month": "2026-10", "focus": "long calls",
        "form_id": "form-v2", "calibrator_id": "u-cal", "expert_id": "u-expert",
        "panel_ids": ["u-ev1", "u-ev2"], "deadline": "2026-10-20T17:00:00Z",
        "conversation_ids": ["c1", "c2"],
        "conversations": [{"conversation_id": "c1", "reason": "long"}]}


@pytest.fixture
def store(store_url: str):
    with Store(store_url) as s:
        yield s


def test_a_session_plan_round_trips_and_saving_again_replaces_it(store):
    assert store.save_session(PLAN) == "Oct long calls"
    got = store.sessions("demo", "2026-10")
    assert len(got) == 1
    row = got.iloc[0]
    assert row["panel_ids"] == ["u-ev1", "u-ev2"] and row["conversation_ids"] == ["c1", "c2"]
    assert row["deadline"] == pd.Timestamp("2026-10-20T17:00:00Z")
    assert (row["focus"], row["expert_id"]) == ("long calls", "u-expert")
    store.save_session({**PLAN, "panel_ids": ["u-ev3"], "deadline": None})
    again = store.sessions()
    assert len(again) == 1 and again.iloc[0]["panel_ids"] == ["u-ev3"]
    assert pd.isna(again.iloc[0]["deadline"])
    assert store.teams() == ["demo"]
    assert store.sessions("north").empty


@pytest.mark.parametrize("bad, message", [
    ({**PLAN, "name": ""}, "non-empty 'name'"), ({**PLAN, "month": "2026/10"}, "YYYY-MM"),
    ({**PLAN, "team": None}, "Team is empty"), ({**PLAN, "deadline": "soon"}, "not a date-time"),
])
def test_a_bad_session_plan_is_refused(store, bad, message):
    with pytest.raises(ValueError, match=message):
        store.save_session(bad)
    assert store.sessions().empty


def test_the_rubric_decision_log(store):
    first = store.add_rubric_note("q-greet", decision="Name or company counts as a greeting",
                                  decided_on="2026-10-21", form_context_id="form-ctx",
                                  session_id="Oct long calls",
                                  anchors=["Yes: 'Thanks for calling Acme'", "No: silence"],
                                  agreed_by=["Erin", "Dana"])
    second = store.add_rubric_note("q-greet", decision="Earlier note", decided_on=date(2026, 9, 1),
                                   form_version_id="form-v1", agreed_by="Erin")
    assert second > first
    notes = store.rubric_notes("q-greet")
    assert notes["decision"].tolist() == ["Earlier note", "Name or company counts as a greeting"]
    assert notes.iloc[1]["anchors"] == ["Yes: 'Thanks for calling Acme'", "No: silence"]
    assert notes.iloc[1]["agreed_by"] == ["Erin", "Dana"] and notes.iloc[0]["agreed_by"] == ["Erin"]
    assert notes.iloc[0]["decided_on"] == date(2026, 9, 1)
    assert len(store.rubric_notes(form_context_id="form-ctx")) == 1
    with pytest.raises(ValueError, match="form_context_id or form_version_id"):
        store.add_rubric_note("q-greet", decision="x", decided_on="2026-10-21")
    with pytest.raises(ValueError, match="in words"):
        store.add_rubric_note("q-greet", decision=" ", decided_on="2026-10-21",
                              form_context_id="f")


def test_consensus_is_recorded_after_the_gate_opens_and_kept_beside_the_answers(store):
    scores, answers = month_frames("demo", "2026-10", statuses={(0, "u-ev1"): "PENDING"})
    store.upsert_month("demo", "2026-10", scores, answers)
    sealed, open_ = "demo-2026-10-cal0", "demo-2026-10-cal1"
    with pytest.raises(StoreError, match="still sealed"):
        store.record_consensus(sealed, "q-greet", "q-greet-yes", by="panel", at="2026-10-21")
    with pytest.raises(StoreError, match="not in the store"):
        store.record_consensus("nope", "q-greet", "q-greet-yes", by="panel", at="2026-10-21")
    store.record_consensus(open_, "q-greet", "N/A", by=["Erin", "Dana"], at="2026-10-21T15:00Z")
    store.record_consensus(open_, "q-scale", "q-scale-3", by="Erin", at="2026-10-21T15:00Z")
    store.record_consensus(open_, "q-scale", "q-scale-4", by="Erin", at="2026-10-21T16:00Z")
    agreed = store.consensus("demo", "2026-10")
    assert agreed[["question_id", "answer_id", "marked_na"]].values.tolist() == [
        ["q-greet", None, True], ["q-scale", "q-scale-4", False]]
    assert agreed["agreed_by"].tolist() == ["Erin, Dana", "Erin"]
    assert agreed["agreed_at"].iloc[1] == pd.Timestamp("2026-10-21T16:00Z")
    # the pre-discussion answers are untouched
    pre = store.answers("demo", "2026-10")
    assert len(pre[(pre["calibration_id"] == open_) & (pre["question_id"] == "q-scale")]) == 4


def test_run_records_and_file_imports(store):
    run = store.record_run("report", "demo", "2026-10", "abc123", "ok",
                           started_at="2026-11-01T06:00:00Z",
                           finished_at="2026-11-01T06:01:30Z", detail="12 figures")
    store.record_run("sync", "north", "2026-10", None, "failed", detail="429 storm")
    runs = store.runs()
    assert runs["kind"].tolist() == ["report", "sync"] and runs["run_id"].iloc[0] == run
    assert (runs["finished_at"] - runs["started_at"]).iloc[0] == pd.Timedelta(seconds=90)
    assert store.runs(kind="sync")["status"].tolist() == ["failed"]
    with pytest.raises(ValueError, match="kind"):
        store.record_run("", "demo", "2026-10", None, "ok")
    store.record_import("demo", "2026-10", file_name="scores.csv", sha256="f" * 64, n_rows=12)
    imports = store.imports("demo")
    assert imports[["file_name", "n_rows"]].values.tolist() == [["scores.csv", 12]]
    assert str(imports["imported_at"].dtype) == "datetime64[ns, UTC]"

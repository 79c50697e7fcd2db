"""The blind gate: individual scores stay hidden until every assigned evaluation is FINISHED,
or the deadline passed and an analyst reveals explicitly. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest

from calib.store import Store, StoreError
from tests.test_store_helpers import Clock, form_json, month_frames, users_json

TEAM, MONTH = "demo", "2026-11"
# calibration 0 waits for u-ev2 (pending) and u-ev3 (in progress); 1 and 2 are finished
WAITING = {(0, "u-ev2"): "PENDING", (0, "u-ev3"): "INPROGRESS"}
SEALED = f"{TEAM}-{MONTH}-cal0"
SECRET = 61.987654  # a score only the sealed calibration holds


@pytest.fixture
def clock() -> Clock:
    """The backend's clock; the store judges deadlines by it alone."""
    return Clock("2026-11-10T09:00:00Z")


@pytest.fixture
def store(store_url: str, clock: Clock):
    with Store(store_url, clock=clock) as s:
        scores, answers = month_frames(TEAM, MONTH, statuses=WAITING)
        scores.loc[scores["calibration_id"] == SEALED, "total_score"] = np.where(
            scores.loc[scores["calibration_id"] == SEALED, "status"] == "FINISHED", SECRET,
            np.nan)
        s.upsert_month(TEAM, MONTH, scores, answers, forms=[form_json()], users=users_json())
        yield s


def test_the_gate_is_open_only_when_every_assigned_evaluation_is_finished(store):
    gate = store.gate(TEAM, MONTH).set_index("calibration_id")
    assert list(store.gate(TEAM, MONTH).columns) == ["calibration_id", "conversation_id",
                                                     "n_assigned", "n_finished", "deadline",
                                                     "open", "reason"]
    assert gate.loc[SEALED, ["n_assigned", "n_finished", "open", "reason"]].tolist() == \
        [4, 2, False, "waiting"]
    assert gate["open"].sum() == 2 and set(gate.loc[gate["open"], "reason"]) == {"all finished"}
    # without a session or calibration deadline, the month's end is the deadline
    assert gate.loc[SEALED, "deadline"] == pd.Timestamp("2026-12-01", tz="UTC")


def test_sealed_scores_are_left_out_or_blanked_never_shown(store):
    scores = store.scores(TEAM, MONTH)
    assert SEALED not in set(scores["calibration_id"]) and len(scores) == 8
    assert scores.attrs["sealed"]["calibration_ids"] == [SEALED]
    assert scores.attrs["sealed"]["n_evaluations"] == 4
    shown = store.scores(TEAM, MONTH, include_sealed=True)
    sealed_rows = shown[shown["calibration_id"] == SEALED]
    assert len(sealed_rows) == 4 and sealed_rows["total_score"].isna().all()
    assert sealed_rows["critical_score"].isna().all()
    assert set(sealed_rows["status"]) == {"FINISHED", "PENDING", "INPROGRESS"}
    answers = store.answers(TEAM, MONTH)
    assert SEALED not in set(answers["calibration_id"]) and len(answers) == 24


def test_no_public_function_leaks_a_sealed_score(store):
    """Call every public read of the store and look for the sealed calibration's score."""
    every = store.scores(include_sealed=True)
    first_question = store.form_questions()["question_id"].iloc[0]
    store.upsert_ai(TEAM, MONTH, every.assign(ai_failure_type=None), every.assign(
        question_id=first_question, ai_answer_id=None, ai_marked_na=True,
        ai_explanation=[f"the AI's reading, {SECRET}" if c == SEALED else "open"
                        for c in every["calibration_id"]]))
    reads = {
        "scores": lambda: [store.scores(), store.scores(TEAM, MONTH, include_sealed=True)],
        "answers": lambda: [store.answers(), store.answers(TEAM, [MONTH])],
        "gate": lambda: [store.gate(TEAM, MONTH)],
        "status": lambda: [store.status(TEAM, MONTH)],
        "reveals": lambda: [store.reveals()], "sessions": lambda: [store.sessions()],
        "session_plans": lambda: [store.session_plans()],
        "rubric_notes": lambda: [store.rubric_notes()], "consensus": lambda: [store.consensus()],
        "runs": lambda: [store.runs()], "imports": lambda: [store.imports()],
        "forms": lambda: [store.forms()], "form_questions": lambda: [store.form_questions()],
        "answer_options": lambda: [store.answer_options()], "users": lambda: [store.users()],
        "months": lambda: [store.months(TEAM)], "teams": lambda: [store.teams()],
        "deadline_changes": lambda: [store.deadline_changes()], "now": lambda: [store.now()],
        "calibrations": lambda: [store.calibrations(), store.calibrations(TEAM, MONTH)],
        "lock": lambda: [_holder_record(store)],
        "ai_runs": lambda: [store.ai_runs(), store.ai_runs(TEAM, MONTH)],
        "ai_answers": lambda: [store.ai_answers(), store.ai_answers(TEAM, [MONTH])],
        "form_bodies": lambda: [store.form_bodies()],
    }
    writes = {"upsert_month", "import_months", "reveal", "save_session", "add_rubric_note",
              "record_consensus",
              "record_run", "record_import", "close", "upsert_ai"}
    public = {n for n, m in inspect.getmembers(Store, callable) if not n.startswith("_")}
    assert public == set(reads) | writes, (
        f"classify new Store methods for this leak test: {public ^ (set(reads) | writes)}")
    for name, read in reads.items():
        for result in read():
            text = result.to_csv() if isinstance(result, pd.DataFrame) else repr(result)
            attrs = repr(getattr(result, "attrs", ""))
            assert str(SECRET) not in text + attrs, f"Store.{name} leaked a sealed score"
            assert "61.98" not in text + attrs, f"Store.{name} leaked a sealed score"


def _holder_record(store):
    with store.lock("leak check", purpose="reading what a lock exposes") as holder:
        return holder


def test_status_per_evaluator_pending_in_progress_finished_overdue(store, clock):
    clock.set("2026-11-20T12:00:00Z")
    before = store.status(TEAM, MONTH)
    assert list(before.columns) == ["calibration_id", "evaluator_id", "evaluator_name", "role",
                                    "status", "due"]
    mine = before[before["calibration_id"] == SEALED].set_index("evaluator_id")["status"]
    assert mine.to_dict() == {"u-expert": "finished", "u-ev1": "finished", "u-ev2": "pending",
                              "u-ev3": "in_progress"}
    assert before[before["calibration_id"] == SEALED]["role"].iloc[0] == "expert"
    assert before.set_index(["calibration_id", "evaluator_id"]).loc[
        (SEALED, "u-ev1"), "evaluator_name"] == "Eval <1>"
    clock.set("2026-12-02T00:00:00Z")
    after = store.status(TEAM, MONTH)
    mine = after[after["calibration_id"] == SEALED].set_index("evaluator_id")["status"]
    assert mine[["u-ev2", "u-ev3"]].tolist() == ["overdue", "overdue"]
    assert (after[after["calibration_id"] != SEALED]["status"] == "finished").all()


def test_reveal_before_the_deadline_is_refused_and_nothing_is_recorded(store, clock):
    clock.set("2026-11-30T23:59:00Z")
    with pytest.raises(StoreError, match=r"^Refusing to reveal: 1 calibration\(s\) of demo "
                                         r"2026-11 are still waiting .* deadline has not passed"):
        store.reveal(TEAM, MONTH, by="ana", reason="impatient")
    assert store.reveals().empty
    assert SEALED not in set(store.scores(TEAM, MONTH)["calibration_id"])


def test_reveal_after_the_deadline_opens_the_gate_and_is_recorded(store, clock):
    clock.set("2026-12-02T09:30:00Z")
    n = store.reveal(TEAM, MONTH, by="Ana Analyst", reason="ev2 on leave")
    assert n == 1
    gate = store.gate(TEAM, MONTH).set_index("calibration_id")
    assert gate.loc[SEALED, "open"]
    assert gate.loc[SEALED, "reason"] == "revealed by Ana Analyst at 2026-12-02 09:30 UTC"
    scores = store.scores(TEAM, MONTH)
    assert SECRET in set(scores["total_score"])
    assert scores.attrs["revealed"] == [{"calibration_id": SEALED, "reason":
                                         "revealed by Ana Analyst at 2026-12-02 09:30 UTC"}]
    log = store.reveals(TEAM, MONTH)
    assert log[["calibration_id", "revealed_by", "reason"]].values.tolist() == [
        [SEALED, "Ana Analyst", "ev2 on leave"]]
    clock.set("2026-12-03T00:00:00Z")
    assert store.reveal(TEAM, MONTH, by="Ana Analyst", reason="again") == 0, \
        "open calibrations are not revealed twice"


def test_reveal_needs_who_and_why_and_known_calibrations(store, clock):
    clock.set("2026-12-02T00:00:00Z")
    with pytest.raises(ValueError, match="who reveals and why"):
        store.reveal(TEAM, MONTH, by="", reason="x")
    with pytest.raises(StoreError, match="not calibrations of team 'demo'"):
        store.reveal(TEAM, MONTH, by="a", reason="x", calibration_ids=["nope"])


def test_a_session_deadline_and_a_calibration_deadline_set_the_due_date(store, clock):
    store.save_session({"name": "Nov deep dive", "team": TEAM, "month": MONTH,
                        "deadline": "2026-11-20T17:00:00Z", "panel_ids": ["u-ev1", "u-ev2"],
                        "conversation_ids": [f"conv-{SEALED}"], "focus": "long calls",
                        "form_id": "form-v2", "calibrator_id": "u-cal",
                        "expert_id": "u-expert", "seed": 7})
    scores, answers = month_frames(TEAM, MONTH, statuses=WAITING)
    scores["session_id"] = "Nov deep dive"
    calibrations = [{"calibration_id": f"{TEAM}-{MONTH}-cal1",
                     "deadline": "2026-11-25T00:00:00Z"}]
    store.upsert_month(TEAM, MONTH, scores, answers, calibrations=calibrations)
    gate = store.gate(TEAM, MONTH).set_index("calibration_id")["deadline"]
    assert gate[SEALED] == pd.Timestamp("2026-11-20T17:00:00Z")
    assert gate[f"{TEAM}-{MONTH}-cal1"] == pd.Timestamp("2026-11-25T00:00:00Z")
    clock.set("2026-11-20T16:59:00Z")
    with pytest.raises(StoreError):
        store.reveal(TEAM, MONTH, by="a", reason="x")
    clock.set("2026-11-20T17:01:00Z")
    assert store.reveal(TEAM, MONTH, by="a", reason="x") == 1


def test_assigned_evaluators_without_an_evaluation_keep_the_gate_closed(store, clock):
    scores, answers = month_frames(TEAM, MONTH, n_calibrations=1, prefix="late-")
    calibrations = [{"calibration_id": f"late-{TEAM}-{MONTH}-cal0",
                     "evaluator_ids": ["u-ev1", "u-ev2", "u-ev3", "u-new"],
                     "expert_id": "u-expert"}]
    store.upsert_month(TEAM, MONTH, scores, answers, calibrations=calibrations, source="files")
    gate = store.gate(TEAM, MONTH).set_index("calibration_id")
    assert gate.loc[f"late-{TEAM}-{MONTH}-cal0", ["n_assigned", "n_finished", "open"]].tolist() \
        == [5, 4, False]
    clock.set("2026-11-02T00:00:00Z")
    status = store.status(TEAM, MONTH)
    assert status.set_index("evaluator_id").loc["u-new", "status"] == "pending"


def test_a_retracted_evaluation_is_not_waited_for(store):
    scores, answers = month_frames(TEAM, MONTH, statuses={**WAITING, (0, "u-ev2"): "RETRACTED",
                                                          (0, "u-ev3"): "FINISHED"})
    store.upsert_month(TEAM, MONTH, scores, answers)
    gate = store.gate(TEAM, MONTH).set_index("calibration_id")
    assert gate.loc[SEALED, ["n_assigned", "n_finished", "open"]].tolist() == [3, 3, True]


def test_finishing_the_last_evaluation_opens_the_gate(store):
    scores, answers = month_frames(TEAM, MONTH)
    store.upsert_month(TEAM, MONTH, scores, answers)
    assert store.gate(TEAM, MONTH)["open"].all()
    assert SEALED in set(store.answers(TEAM, MONTH)["calibration_id"])


# -- issue 10: the present comes from the backend's clock; deadlines never move earlier -------

def test_the_caller_cannot_choose_the_present_to_open_a_calibration_early(store):
    """Store.reveal(..., now='2027-07-01') used to open calibrations due in the future and
    record a false reveal time; the store now has no such argument and asks its clock."""
    assert "now" not in inspect.signature(Store.reveal).parameters
    assert "now" not in inspect.signature(Store.status).parameters
    with pytest.raises(TypeError):
        store.reveal(TEAM, MONTH, by="ana", reason="x", now="2027-07-01")  # type: ignore
    with pytest.raises(StoreError, match="deadline has not passed"):
        store.reveal(TEAM, MONTH, by="ana", reason="x")
    assert store.reveals().empty
    assert SEALED not in set(store.scores(TEAM, MONTH)["calibration_id"])


def test_the_recorded_reveal_time_is_the_backend_clock(store, clock):
    clock.set("2026-12-05T08:15:00Z")
    assert store.reveal(TEAM, MONTH, by="Ana", reason="ev2 on leave") == 1
    assert store.reveals()["revealed_at"].tolist() == [pd.Timestamp("2026-12-05T08:15:00Z")]


PLAN = {"name": "Nov deep dive", "team": TEAM, "month": MONTH, "focus": "general",
        "form_id": "form-v2", "calibrator_id": "u-cal", "expert_id": "u-expert",
        "panel_ids": ["u-ev1", "u-ev2", "u-ev3"], "conversation_ids": [f"conv-{SEALED}"],
        "deadline": "2026-11-20T17:00:00Z"}


def _session_scores():
    scores, answers = month_frames(TEAM, MONTH, statuses=WAITING)
    scores["session_id"] = PLAN["name"]
    answers["session_id"] = PLAN["name"]
    return scores, answers


def test_a_stored_session_deadline_never_moves_earlier(store, clock):
    """`calib create --plan P --store URL` with an earlier deadline used to overwrite the stored
    one, and a plain reveal then opened the calibrations."""
    store.save_session(PLAN)
    store.upsert_month(TEAM, MONTH, *_session_scores())
    with pytest.raises(StoreError, match=r"already has the deadline 2026-11-20 17:00 UTC; a "
                                         r"deadline never moves earlier"):
        store.save_session({**PLAN, "deadline": "2026-11-12T00:00:00Z"})
    store.save_session({**PLAN, "name": "other", "deadline": None})
    with pytest.raises(StoreError, match="never moves earlier"):  # no deadline = month end
        store.save_session({**PLAN, "name": "other", "deadline": "2026-11-11T00:00:00Z"})
    assert store.sessions().set_index("session_id").loc[PLAN["name"], "deadline"] == \
        pd.Timestamp("2026-11-20T17:00:00Z")
    clock.set("2026-11-15T00:00:00Z")
    with pytest.raises(StoreError, match="deadline has not passed"):
        store.reveal(TEAM, MONTH, by="ana", reason="x", calibration_ids=[SEALED])


def test_a_later_deadline_is_allowed_and_recorded(store):
    store.save_session(PLAN)
    store.save_session({**PLAN, "deadline": "2026-11-24T17:00:00Z"})
    store.save_session({**PLAN, "deadline": "2026-11-24T17:00:00Z"})  # unchanged: not recorded
    changes = store.deadline_changes()
    assert changes[["session_id", "old_deadline", "new_deadline"]].values.tolist() == [
        [PLAN["name"], pd.Timestamp("2026-11-20T17:00:00Z"), pd.Timestamp("2026-11-24T17:00:00Z")]]
    assert changes["changed_at"].tolist() == [pd.Timestamp("2026-11-10T09:00:00Z")]


def test_a_calibration_deadline_never_moves_earlier_and_a_sync_without_one_keeps_it(store):
    scores, answers = month_frames(TEAM, MONTH, statuses=WAITING)
    due = [{"calibration_id": SEALED, "deadline": "2026-11-25T00:00:00Z"}]
    store.upsert_month(TEAM, MONTH, scores, answers, calibrations=due)
    before = store.gate(TEAM, MONTH).set_index("calibration_id").loc[SEALED, "deadline"]
    with pytest.raises(ValueError, match="never moves earlier"):
        store.upsert_month(TEAM, MONTH, scores, answers,
                           calibrations=[{**due[0], "deadline": "2026-11-11T00:00:00Z"}])
    store.upsert_month(TEAM, MONTH, scores, answers)  # a sync that knows no deadline
    gate = store.gate(TEAM, MONTH).set_index("calibration_id")
    assert gate.loc[SEALED, "deadline"] == before == pd.Timestamp("2026-11-25T00:00:00Z")
    store.upsert_month(TEAM, MONTH, scores, answers,
                       calibrations=[{**due[0], "deadline": "2026-11-28T00:00:00Z"}])
    assert store.deadline_changes()["calibration_id"].tolist() == [SEALED]

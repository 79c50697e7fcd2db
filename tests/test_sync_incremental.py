"""Incremental sync on the (real HTTP) sandbox: a month whose listing did not change since the
last sync is not read again; a changed, finished, added or deleted evaluation or calibration,
a saved plan, or a store that lost rows behind the sync's back makes it read the month again.

Requests are counted with a response hook on the client's session, as in test_sync.py.
"""

from __future__ import annotations

import pandas as pd
import pytest

from calib.store import Store
from calib.sync import RUN_KIND, sync_month, sync_months
from tests.test_sync import Counted

OPEN_MONTH, FINISHED_MONTH = "2026-11", "2026-10"


@pytest.fixture
def org_and_store(fresh_sandbox, tmp_path):
    sb = fresh_sandbox(seed=7)
    counted = Counted(sb)
    with Store(f"sqlite:///{tmp_path / 'incremental.sqlite'}") as store:
        yield sb, counted, store
    counted.close()


def _snapshot(store: Store, team: str, month: str) -> dict[str, pd.DataFrame]:
    """Everything a sync writes for the month (sealed calibrations' status included)."""
    return {"scores": store.scores(team, month, include_sealed=True),
            "answers": store.answers(team, month), "gate": store.gate(team, month),
            "calibrations": store.calibrations(team, month),
            "ai": store.ai_answers(team, month)}


def _assert_same(a: dict, b: dict) -> None:
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)


def _answer_keys(frame: pd.DataFrame) -> set[tuple]:
    return set(zip(frame["evaluation_id"], frame["question_id"], frame["answer_id"].fillna("")))


def test_first_sync_reads_all_then_an_unchanged_month_reads_only_its_listing(org_and_store):
    sb, counted, store = org_and_store
    calibrator = sb.truth.teams["demo"]["calibrator_id"]
    first = sync_month(counted.client, store, team="demo", month=FINISHED_MONTH,
                       calibrator_ids=[calibrator])
    assert not first.up_to_date and first.inserted > 0 and first.answers > 0
    truth = sb.org.tidy_answers()
    truth = truth[(truth["team"] == "demo") & (truth["month"] == FINISHED_MONTH)]
    assert _answer_keys(store.answers("demo", FINISHED_MONTH)) == _answer_keys(truth)
    before, n_before = _snapshot(store, "demo", FINISHED_MONTH), counted.n

    again = sync_month(counted.client, store, team="demo", month=FINISHED_MONTH,
                       calibrator_ids=[calibrator])
    assert again.up_to_date
    assert (again.inserted, again.updated, again.deleted, again.ai_changed) == (0, 0, 0, 0)
    assert again.unchanged == first.inserted
    assert (again.calibrations, again.evaluations, again.answers, again.ai_runs,
            again.ai_answers) == (first.calibrations, first.evaluations, first.answers,
                                  first.ai_runs, first.ai_answers)
    assert counted.n - n_before == 1, "only the month's listing (one calibrator, one page)"
    _assert_same(before, _snapshot(store, "demo", FINISHED_MONTH))
    # a forced sync reads and compares the whole month, and finds the same rows
    forced = sync_month(counted.client, store, team="demo", month=FINISHED_MONTH,
                        calibrator_ids=[calibrator], full=True)
    assert not forced.up_to_date and counted.n - n_before > 2
    assert (forced.inserted, forced.updated, forced.deleted) == (0, 0, 0)
    _assert_same(before, _snapshot(store, "demo", FINISHED_MONTH))


def test_evaluations_finished_since_the_last_sync_are_read(org_and_store):
    sb, counted, store = org_and_store
    calibrator = sb.truth.teams["demo"]["calibrator_id"]
    first = sync_month(counted.client, store, team="demo", month=OPEN_MONTH,
                       calibrator_ids=[calibrator])
    assert first.gate_closed > 0
    pending = set(store.scores("demo", OPEN_MONTH, include_sealed=True)
                  .query("status != 'FINISHED'")["evaluation_id"])
    assert pending, "the open month must have unfinished evaluations to finish"
    assert sync_month(counted.client, store, team="demo", month=OPEN_MONTH,
                      calibrator_ids=[calibrator]).up_to_date

    sb.advance_clock(days=30)  # the simulated evaluators finish (the listing's changedDate moves)
    later = sync_month(counted.client, store, team="demo", month=OPEN_MONTH,
                       calibrator_ids=[calibrator])
    assert not later.up_to_date and later.updated > 0 and later.inserted > 0
    assert later.gate_closed < first.gate_closed
    stored = store.answers("demo", OPEN_MONTH)
    truth = sb.org.tidy_answers()
    truth = truth[truth["calibration_id"].isin(set(stored["calibration_id"]))]
    assert _answer_keys(stored) == _answer_keys(truth)
    newly = pending & set(stored["evaluation_id"])
    assert newly, "answers of evaluations finished after the first sync must be in the store"
    # and once read, the month is up to date again
    assert sync_month(counted.client, store, team="demo", month=OPEN_MONTH,
                      calibrator_ids=[calibrator]).up_to_date


def test_a_deleted_calibration_and_an_added_evaluator_are_read(org_and_store):
    sb, counted, store = org_and_store
    info = sb.truth.teams["demo"]
    calibrator = info["calibrator_id"]
    sync_month(counted.client, store, team="demo", month=OPEN_MONTH, calibrator_ids=[calibrator])
    gone = store.gate("demo", OPEN_MONTH)["calibration_id"].iloc[0]
    counted.client.delete_calibration(gone, calibrator)
    after = sync_month(counted.client, store, team="demo", month=OPEN_MONTH,
                       calibrator_ids=[calibrator])
    assert not after.up_to_date and after.removed_calibrations == (gone,)
    assert gone not in set(store.calibrations("demo", OPEN_MONTH)["calibration_id"])

    target = store.gate("demo", OPEN_MONTH)["calibration_id"].iloc[0]
    cal = sb.org.calibrations[target]
    assigned = {sb.org.evaluations[e].evaluator_id for e in cal.evaluation_ids}
    newcomer = next(p for p in sb.truth.teams["north"]["panel_ids"]
                    if p not in assigned and p != cal.expert_id)
    sb.org.update_calibration(target, evaluator_ids=[*cal.evaluator_ids, newcomer])
    added = sync_month(counted.client, store, team="demo", month=OPEN_MONTH,
                       calibrator_ids=[calibrator])
    assert not added.up_to_date and added.inserted > 0
    rows = store.scores("demo", OPEN_MONTH, include_sealed=True)
    assert newcomer in set(rows.loc[rows["calibration_id"] == target, "evaluator_id"])


def test_a_saved_plan_or_other_calibrators_make_the_month_read_again(org_and_store):
    sb, counted, store = org_and_store
    calibrator = sb.truth.teams["north"]["calibrator_id"]
    sync_month(counted.client, store, team="north", month=FINISHED_MONTH,
               calibrator_ids=[calibrator])
    conversation = store.calibrations("north", FINISHED_MONTH)["conversation_id"].iloc[0]
    store.save_session({"name": "north October focus", "team": "north",
                        "month": FINISHED_MONTH, "conversation_ids": [conversation],
                        "deadline": "2026-10-25T17:00:00Z"})
    claimed = sync_month(counted.client, store, team="north", month=FINISHED_MONTH,
                         calibrator_ids=[calibrator])
    assert not claimed.up_to_date and claimed.updated > 0
    rows = store.scores("north", FINISHED_MONTH)
    assert set(rows.loc[rows["conversation_id"] == conversation, "session_id"]) == {
        "north October focus"}
    other = sb.truth.teams["demo"]["calibrator_id"]
    assert not sync_month(counted.client, store, team="north", month=FINISHED_MONTH,
                          calibrator_ids=[calibrator, other]).up_to_date


def test_a_store_that_lost_rows_behind_the_sync_is_read_again(org_and_store):
    sb, counted, store = org_and_store
    calibrator = sb.truth.teams["pilot"]["calibrator_id"]
    sync_month(counted.client, store, team="pilot", month=FINISHED_MONTH,
               calibrator_ids=[calibrator])
    full = _snapshot(store, "pilot", FINISHED_MONTH)
    scores, answers = store.scores("pilot", FINISHED_MONTH), store.answers("pilot",
                                                                            FINISHED_MONTH)
    dropped = scores["calibration_id"].iloc[0]
    # another writer (or a restored copy of the file) holds one calibration fewer
    store.upsert_month("pilot", FINISHED_MONTH, scores[scores["calibration_id"] != dropped],
                       answers[answers["calibration_id"] != dropped], source="api")
    assert dropped not in set(store.calibrations("pilot", FINISHED_MONTH)["calibration_id"])
    again = sync_month(counted.client, store, team="pilot", month=FINISHED_MONTH,
                       calibrator_ids=[calibrator])
    assert not again.up_to_date and again.inserted > 0
    restored = _snapshot(store, "pilot", FINISHED_MONTH)
    for name in ("scores", "answers", "calibrations"):
        key = [c for c in ("evaluation_id", "question_id", "calibration_id")
               if c in full[name].columns][:2]
        pd.testing.assert_frame_equal(
            full[name].sort_values(key).reset_index(drop=True),
            restored[name].sort_values(key).reset_index(drop=True), obj=name)


def test_each_real_sync_records_its_digest_and_sync_months_reports_up_to_date(org_and_store):
    sb, counted, store = org_and_store
    email = sb.truth.teams["demo"]["calibrator_email"]
    months = ["2026-09", FINISHED_MONTH]
    first = sync_months(counted.client, store, team="demo", months=months, calibrators=[email])
    second = sync_months(counted.client, store, team="demo", months=months,
                         calibrators=[email])
    assert first["up_to_date"].tolist() == [False, False]
    assert second["up_to_date"].tolist() == [True, True]
    runs = store.runs(kind=RUN_KIND, team="demo")
    assert runs["month"].tolist() == months, "an up-to-date month records no new run"
    assert runs["params_digest"].str.startswith("sha256:").all()
    pd.testing.assert_frame_equal(
        first.drop(columns=["inserted", "updated", "unchanged", "ai_changed", "up_to_date"]),
        second.drop(columns=["inserted", "updated", "unchanged", "ai_changed", "up_to_date"]))

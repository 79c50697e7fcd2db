"""Month sync from the (sandbox) Quality API into the store: faithful, idempotent, frugal.

The sandbox is a real HTTP server; its org's own tidy tables are the ground truth the synced
store must reproduce. Requests are counted with a response hook on the client's session.
"""

from __future__ import annotations

import pandas as pd
import pytest
import requests

from calib.store import Store
from calib.genesys.month import _fill_missing_answers
from calib.genesys.month import find_users as resolve_users
from calib.sync import sync_month, sync_months

FINISHED_MONTH, DEMO_OPEN_MONTH = "2026-10", "2026-11"


class Counted:
    """A client on a session that counts HTTP responses."""

    def __init__(self, sandbox):
        self.session = requests.Session()
        self.n = 0
        self.session.hooks["response"].append(self._count)
        self.client = sandbox.client(session=self.session)

    def _count(self, response, *args, **kwargs):
        self.n += 1

    def close(self):
        self.client.close()
        self.session.close()


@pytest.fixture
def counted(sandbox):
    c = Counted(sandbox)
    yield c
    c.close()


@pytest.fixture
def store(tmp_path):
    with Store(f"sqlite:///{tmp_path / 'sync.sqlite'}") as s:
        yield s


def _truth(org, team, month):
    scores, answers = org.tidy_scores(), org.tidy_answers()
    return (scores[(scores["team"] == team) & (scores["month"] == month)],
            answers[(answers["team"] == team) & (answers["month"] == month)])


@pytest.mark.parametrize("team", ["demo", "north", "pilot"])
def test_a_finished_month_is_stored_as_the_org_holds_it(sandbox, counted, store, team):
    info = sandbox.truth.teams[team]
    result = sync_month(counted.client, store, team=team, month=FINISHED_MONTH,
                        calibrator_ids=[info["calibrator_id"]])
    truth_s, truth_a = _truth(sandbox.org, team, FINISHED_MONTH)
    got_s, got_a = store.scores(team, FINISHED_MONTH), store.answers(team, FINISHED_MONTH)
    assert result.calibrations == truth_s["calibration_id"].nunique() > 0
    assert result.evaluations == len(truth_s) and result.gate_closed == 0
    key = ["evaluation_id"]
    a, b = truth_s.sort_values(key).reset_index(drop=True), got_s.sort_values(key).reset_index(
        drop=True)
    exact = [c for c in a.columns if c not in ("total_score", "critical_score", "submitted_at")]
    pd.testing.assert_frame_equal(a[exact], b[exact])
    # the API reports scores to 4 decimals and times to the millisecond
    assert (a["total_score"] - b["total_score"]).abs().max() < 1e-3
    assert ((a["submitted_at"] - b["submitted_at"]).abs() < pd.Timedelta("1ms")).all()
    key = ["evaluation_id", "question_id"]
    pd.testing.assert_frame_equal(truth_a.sort_values(key).reset_index(drop=True),
                                  got_a.sort_values(key).reset_index(drop=True))


def test_a_month_costs_a_handful_of_requests_and_resync_changes_nothing(sandbox, counted, store):
    info = sandbox.truth.teams["demo"]
    first = sync_month(counted.client, store, team="demo", month=FINISHED_MONTH,
                       calibrator_ids=[info["calibrator_id"]])
    requests_first = counted.n
    # listing + form + users (+ one token): a month must be tens of requests, not hundreds
    assert requests_first <= 10, f"{requests_first} requests for one month"
    again = sync_month(counted.client, store, team="demo", month=FINISHED_MONTH,
                       calibrator_ids=[info["calibrator_id"]])
    assert (again.inserted, again.updated, again.deleted) == (0, 0, 0)
    assert again.unchanged == first.inserted


def test_a_partly_pending_month_stays_sealed(sandbox, counted, store):
    info = sandbox.truth.teams["demo"]
    result = sync_month(counted.client, store, team="demo", month=DEMO_OPEN_MONTH,
                        calibrator_ids=[info["calibrator_id"]])
    gate = store.gate("demo", DEMO_OPEN_MONTH)
    assert result.gate_closed == int((~gate["open"]).sum()) > 0
    sealed = set(gate.loc[~gate["open"], "calibration_id"])
    assert not sealed & set(store.scores("demo", DEMO_OPEN_MONTH)["calibration_id"])
    assert not sealed & set(store.answers("demo", DEMO_OPEN_MONTH)["calibration_id"])
    with Store(store.url_for_display, clock=sandbox.now) as on_the_org_clock:
        status = on_the_org_clock.status("demo", DEMO_OPEN_MONTH)
    assert {"pending", "finished"} <= set(status["status"])


def test_calibrators_by_email_resolve_and_unknown_ones_are_named(sandbox, counted, store):
    info = sandbox.truth.teams["north"]
    users = resolve_users(counted.client, [info["calibrator_email"].upper(),
                                           info["panel_ids"][0]])
    assert [u["id"] for u in users] == [info["calibrator_id"], info["panel_ids"][0]]
    with pytest.raises(ValueError, match="No user found for 'nobody@nowhere.example'"):
        resolve_users(counted.client, ["nobody@nowhere.example", info["calibrator_id"]])
    table = sync_months(counted.client, store, team="north", months=["2026-09", "2026-10"],
                        calibrators=[info["calibrator_email"]])
    assert table["month"].tolist() == ["2026-09", "2026-10"]
    assert (table["calibrations"] > 0).all() and store.months("north") == ["2026-09", "2026-10"]


def test_sync_needs_a_calibrator(sandbox, counted, store):
    with pytest.raises(ValueError, match="needs the team's calibrators"):
        sync_month(counted.client, store, team="demo", month=FINISHED_MONTH)
    with pytest.raises(ValueError, match="YYYY-MM"):
        sync_month(counted.client, store, team="demo", month="October", calibrator_ids=["x"])


def test_a_saved_session_claims_its_conversations(sandbox, counted, store):
    info = sandbox.truth.teams["north"]
    truth_s, _ = _truth(sandbox.org, "north", FINISHED_MONTH)
    conversation = truth_s["conversation_id"].iloc[0]
    store.save_session({"name": "north October focus", "team": "north",
                        "month": FINISHED_MONTH, "conversation_ids": [conversation],
                        "deadline": "2026-10-25T17:00:00Z"})
    sync_month(counted.client, store, team="north", month=FINISHED_MONTH,
               calibrator_ids=[info["calibrator_id"]])
    scores = store.scores("north", FINISHED_MONTH)
    claimed = scores[scores["conversation_id"] == conversation]
    assert set(claimed["session_id"]) == {"north October focus"}
    assert set(scores.loc[scores["conversation_id"] != conversation, "session_id"]) == {
        f"north/{FINISHED_MONTH}"}


def test_missing_answers_are_fetched_with_the_fewest_requests(sandbox, counted):
    info = sandbox.truth.teams["demo"]
    cals = list(counted.client.iter_calibrations(
        info["calibrator_id"], start_time="2026-10-01T00:00:00Z",
        end_time="2026-11-01T00:00:00Z"))
    full = {e["id"]: e for c in cals for e in c["evaluations"]}
    stripped = {i: {k: v for k, v in e.items() if k != "answers"} for i, e in full.items()}
    calibration_of = {i: e["calibration"]["id"] for i, e in full.items()}
    before = counted.n
    _fill_missing_answers(counted.client, FINISHED_MONTH, stripped, calibration_of)
    panel = {e["evaluator"]["id"] for e in full.values()}
    assert counted.n - before <= len(panel), "one query per evaluator, not one per evaluation"
    assert all(stripped[i]["answers"] == full[i]["answers"] for i in full
               if full[i]["status"] == "FINISHED")
    # one evaluation missing its answers: one GET beats a query per evaluator
    one = dict(stripped)
    target = next(i for i in full if full[i]["status"] == "FINISHED")
    one = {i: (dict(e, answers=None) if i == target else e) for i, e in stripped.items()}
    before = counted.n
    _fill_missing_answers(counted.client, FINISHED_MONTH, one, calibration_of)
    assert counted.n - before == 1 and one[target]["answers"] == full[target]["answers"]


def test_finishing_evaluations_and_a_deleted_calibration_update_the_store(fresh_sandbox,
                                                                          tmp_path):
    sb = fresh_sandbox(seed=7)
    info = sb.truth.teams["demo"]
    with Store(f"sqlite:///{tmp_path / 's.sqlite'}") as store, sb.client() as client:
        first = sync_month(client, store, team="demo", month=DEMO_OPEN_MONTH,
                           calibrator_ids=[info["calibrator_id"]])
        assert first.gate_closed > 0
        sb.advance_clock(days=30)  # the simulated evaluators finish (some late)
        later = sync_month(client, store, team="demo", month=DEMO_OPEN_MONTH,
                           calibrator_ids=[info["calibrator_id"]])
        assert later.updated > 0 and later.inserted > 0, "finished evaluations must update"
        assert later.gate_closed < first.gate_closed
        gone = store.gate("demo", DEMO_OPEN_MONTH)["calibration_id"].iloc[0]
        client.delete_calibration(gone, info["calibrator_id"])
        after = sync_month(client, store, team="demo", month=DEMO_OPEN_MONTH,
                           calibrator_ids=[info["calibrator_id"]])
        assert after.removed_calibrations == (gone,) and after.deleted > 0
        assert gone not in set(store.gate("demo", DEMO_OPEN_MONTH)["calibration_id"])

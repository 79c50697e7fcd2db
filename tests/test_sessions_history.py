"""Gray-area priors from the store's history on every backend (issue 18).

Before, only the in-process demo org supplied a history: on Genesys Cloud (here the sandbox
served over HTTP, which does not say its history) every prior was 0.5 and the gray-area
preference did nothing. Now ``select_session`` reads the store; synced from the same org, the
store steers the pick exactly as the org's own history does.
"""

from __future__ import annotations

import re

import pytest

from calib.context import Backend
from calib.sessions.steps import select_plan, select_session, store_history
from calib.store import Store
from calib.sync import sync_months

MONTHS = ["2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"]


def params(sandbox, **over):
    team = sandbox.teams()["demo"]
    emails = [sandbox.org.people[i].email for i in team["panel_ids"]]
    base = {"team": "demo", "month": "2026-10", "backend": "genesys", "sandbox_seed": 7,
            "start": "2026-10-19", "end": "2026-10-26", "n": 6, "focus": "general", "seed": 0,
            "calibrator_email": team["calibrator_email"], "expert_email": team["calibrator_email"],
            "panel_emails": emails, "form_name": "", "deadline": "2026-11-20T17:00:00Z",
            "session_name": "", "profiles": "", "out": ""}
    return {**base, **over}


@pytest.fixture(scope="module")
def synced(sandbox, tmp_path_factory):
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('history') / 'calib.sqlite'}",
                  clock=sandbox.now)
    client = sandbox.client()
    for name, team in sandbox.teams().items():
        months = sorted({m for m in sandbox.org.tidy_scores().query("team == @name")["month"]
                         if m <= "2026-10"})
        sync_months(client, store, team=name, months=months,
                    calibrators=[team["calibrator_email"]])
    yield store
    store.close()


def test_on_genesys_without_a_store_every_prior_is_half(sandbox):
    """The defect: a served org gives no history, so no agent is gray or clear."""
    backend = Backend("genesys", sandbox.client())
    selection, _ = select_session(backend, params(sandbox))
    assert selection.candidates["reason"].str.contains(r"agent 0\.50 \(no past scores\)").all()


def test_the_store_steers_the_pick_on_genesys_as_the_org_history_does(sandbox, synced):
    backend = Backend("genesys", sandbox.client())
    selection, plan = select_session(backend, params(sandbox), store=synced)
    reasons = selection.candidates["reason"]
    assert reasons.str.contains("past mean").all()
    grays = [float(re.search(r"agent (\d\.\d\d)", r).group(1)) for r in reasons]
    assert len(set(grays)) > 1 and max(grays) > 0.5

    # the same history straight from the demo org gives the same pick
    org = sandbox.org.tidy_scores()
    history = org[(org["month"] <= "2026-10") & (org["status"] == "FINISHED")]
    team = sandbox.teams()["demo"]
    direct, _ = select_plan(
        sandbox.client(), team="demo", month="2026-10", focus="general", start="2026-10-19",
        end="2026-10-26", n=6, seed=0, calibrator_id=team["calibrator_id"],
        expert_id=team["expert_id"], panel_ids=team["panel_ids"], form_id=plan.form_id,
        deadline="2026-11-20T17:00:00Z", name=plan.name, history=history)
    assert list(direct.candidates["conversation_id"]) == [c.conversation_id
                                                          for c in plan.conversations]


def test_store_history_leaves_out_months_after_the_range(synced):
    assert set(store_history(synced, end="2026-08-10")["month"]) == {"2026-05", "2026-06",
                                                                      "2026-07", "2026-08"}
    assert store_history(synced, end="2026-01-01") is None

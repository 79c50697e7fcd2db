"""Session plans, idempotent creation and status against a live sandbox (faults and crashes included)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from calib.genesys.errors import GenesysError
from calib.selection import select_candidates
from calib.sessions import (STATUS_COLUMNS, PlanError, PlannedConversation, SessionPlan,
                            create_session, session_status, summarize_status)

ROOT = Path(__file__).resolve().parents[1]


def quick_sleep(seconds: float) -> None:
    """The client's back-off, shortened: the sandbox's faults are random per request, not timed."""
    time.sleep(min(seconds, 0.01))


def make_plan(sb, *, n: int = 5, name: str = "demo 2026-11 test", deadline: str = "2026-11-20T17:00:00Z"):
    team = sb.truth.teams["demo"]
    client = sb.client()
    sel = select_candidates(client, start="2026-11-06", end="2026-11-07", n=n,
                            panel_ids=team["panel_ids"], calibrator_id=team["calibrator_id"], seed=1)
    form = next(f for f in client.iter_published_evaluation_forms(only_latest_per_context=True))
    return SessionPlan(
        name=name, team="demo", month="2026-11", focus="general", form_id=form["id"],
        calibrator_id=team["calibrator_id"], expert_id=team["expert_id"],
        panel_ids=tuple(team["panel_ids"]), deadline=deadline,
        conversations=tuple(PlannedConversation(r.conversation_id, r.agent_id, r.reason)
                            for r in sel.candidates.itertuples()))


def calibrations_per_conversation(client, plan) -> Counter:
    counts: Counter = Counter()
    for cal in client.iter_calibrations(plan.calibrator_id):
        if cal["conversation"]["id"] in plan.conversation_ids:
            counts[cal["conversation"]["id"]] += 1
    return counts


@pytest.fixture(scope="module")
def shared_plan(sandbox):
    return make_plan(sandbox, n=4)


# -------------------------------------------------------------------------------- plans

def test_plan_round_trips_through_yaml_and_dates_stay_strings(shared_plan, tmp_path):
    path = shared_plan.to_yaml(tmp_path / "sessions" / "plan.yaml")
    assert SessionPlan.from_yaml(path) == shared_plan
    assert "deadline: '2026-11-20T17:00:00Z'" in path.read_text()
    hand = tmp_path / "hand.yaml"
    hand.write_text(path.read_text().replace("'2026-11-20T17:00:00Z'", "2026-11-20"))
    assert SessionPlan.from_yaml(hand).deadline == "2026-11-20"


def test_plan_file_with_unknown_or_missing_keys_is_refused(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nteem: demo\n")
    with pytest.raises(PlanError) as info:
        SessionPlan.from_yaml(path)
    assert "unknown key(s) ['teem']" in str(info.value) and "lacks team" in str(info.value)
    with pytest.raises(PlanError, match="does not exist"):
        SessionPlan.from_yaml(tmp_path / "missing.yaml")


def test_a_good_plan_validates(sandbox, shared_plan):
    shared_plan.validate(sandbox.client(), now=sandbox.now())


def unrecorded_conversation(client) -> str:
    """A conversation that exists but has no recording (an unknown id would do, but the sandbox
    searches every day for it)."""
    for conv in client.iter_conversation_details("2026-11-06", "2026-11-07"):
        if not any(s.get("recording") for p in conv["participants"] for s in p["sessions"]):
            return conv["conversationId"]
    raise AssertionError("the sandbox day holds no unrecorded conversation")


def test_validation_lists_every_problem_in_sentences(sandbox, shared_plan):
    inactive = next(a.id for a in sandbox.org.agents if a.state != "active")
    unrecorded = unrecorded_conversation(sandbox.client())
    bad = SessionPlan(**{**shared_plan.__dict__, "month": "2026-13", "form_id": "no-such-form",
                         "panel_ids": (shared_plan.panel_ids[0], shared_plan.panel_ids[0]),
                         "calibrator_id": inactive, "expert_id": "ghost-user",
                         "deadline": "2026-11-01T00:00:00Z",
                         "conversations": shared_plan.conversations + (PlannedConversation(unrecorded),)})
    with pytest.raises(PlanError) as info:
        bad.validate(sandbox.client(), now=sandbox.now())
    problems = info.value.problems
    text = " ".join(problems)
    for needle in ("YYYY-MM", "at least 2", "more than once", "is inactive", "ghost-user does not exist",
                   "not a published form", f"{unrecorded} has no playable recording",
                   "not in the future"):
        assert needle in text, f"missing problem {needle!r} in {problems}"
    assert all(p.endswith(".") and p[0].isupper() for p in problems)


def test_a_plan_for_another_month_or_a_team_that_climbs_out_is_refused(sandbox, shared_plan,
                                                                      tmp_path):
    """Issue 10: plans accepted a month that does not match their calibrations and a team
    '../../etc'."""
    march = SessionPlan(**{**shared_plan.__dict__, "month": "2026-03"})
    with pytest.raises(PlanError, match=r"month is 2026-03 but its calibrations would be created "
                                        r"now, in 2026-11 .* set month: '2026-11'"):
        march.validate(sandbox.client(), now=sandbox.now())
    path = shared_plan.to_yaml(tmp_path / "plan.yaml")
    path.write_text(path.read_text().replace("team: demo", "team: ../../etc"))
    with pytest.raises(PlanError, match="is not a team name"):
        SessionPlan.from_yaml(path)
    path.write_text(path.read_text().replace("team: ../../etc", "team: demo") + "team: north\n")
    with pytest.raises(PlanError, match="the key 'team' appears twice"):
        SessionPlan.from_yaml(path)


# -------------------------------------------------------------------------------- creation

def test_dry_run_creates_nothing_and_shows_exactly_what_would_be_created(sandbox, shared_plan):
    client = sandbox.client()
    result = create_session(client, shared_plan, now=sandbox.now(), progress=False)
    assert result.created == 0 and result.existing == 0
    assert list(result.planned["action"]) == ["would create"] * 4
    assert list(result.planned["name"]) == [f"{shared_plan.name} #{i}" for i in range(1, 5)]
    assert list(result.planned["conversation_id"]) == shared_plan.conversation_ids
    assert not calibrations_per_conversation(client, shared_plan)


def test_creation_is_idempotent_and_recorded_in_the_store(fresh_sandbox, tmp_path):
    from calib.store import Store

    sb = fresh_sandbox()
    plan = make_plan(sb, n=4)
    client = sb.client()
    store = Store(f"sqlite:///{tmp_path / 'calib.sqlite'}")
    first = create_session(client, plan, dry_run=False, store=store, now=sb.now(), progress=False)
    assert (first.created, first.existing) == (4, 0)
    assert set(first.planned["action"]) == {"created"} and first.planned["calibration_id"].notna().all()
    second = create_session(client, plan, dry_run=False, now=sb.now(), progress=False)
    assert (second.created, second.existing) == (0, 4)
    assert list(second.planned["calibration_id"]) == list(first.planned["calibration_id"])
    assert calibrations_per_conversation(client, plan) == Counter({c: 1 for c in plan.conversation_ids})
    saved = store.sessions(team="demo")
    assert list(saved["session_id"]) == [plan.name]
    assert saved["conversation_ids"].iloc[0] == plan.conversation_ids


def test_a_crash_after_k_of_n_resumes_with_n_minus_k(fresh_sandbox):
    sb = fresh_sandbox()
    plan = make_plan(sb, n=6)
    client = sb.client()

    def crash_after_two(index, conversation_id, action):
        if index == 2:
            raise KeyboardInterrupt("simulated crash")

    with pytest.raises(KeyboardInterrupt):
        create_session(client, plan, dry_run=False, now=sb.now(), progress=False,
                       on_item=crash_after_two)
    resumed = create_session(client, plan, dry_run=False, now=sb.now(), progress=False)
    assert (resumed.created, resumed.existing) == (4, 2)
    assert calibrations_per_conversation(client, plan) == Counter({c: 1 for c in plan.conversation_ids})


def test_a_killed_process_resumes_without_duplicates(fresh_sandbox, tmp_path):
    sb = fresh_sandbox()
    plan = make_plan(sb, n=6)
    path = plan.to_yaml(tmp_path / "plan.yaml")
    script = textwrap.dedent(f"""
        import sys
        from calib.genesys import GenesysClient
        from calib.sessions import SessionPlan, create_session
        plan = SessionPlan.from_yaml({str(path)!r})
        def report(i, cid, action):
            print(i, action, flush=True)
            if i >= 3:
                sys.stdin.readline()  # wait here until the parent kills us
        create_session(GenesysClient.from_env(), plan, dry_run=False, validate=False,
                       progress=False, on_item=report)
    """)
    env = {**os.environ, "GENESYSCLOUD_API_REGION": sb.base_url,
           "GENESYSCLOUD_OAUTHCLIENT_ID": sb.client_id,
           "GENESYSCLOUD_OAUTHCLIENT_SECRET": sb.client_secret}
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = [proc.stdout.readline() for _ in range(3)]
    proc.kill()
    proc.wait(timeout=30)
    assert [line.split()[1] for line in lines] == ["created"] * 3, lines
    resumed = create_session(sb.client(), plan, dry_run=False, now=sb.now(), progress=False)
    assert (resumed.created, resumed.existing) == (3, 3)
    assert calibrations_per_conversation(sb.client(), plan) == Counter({c: 1 for c in plan.conversation_ids})


@pytest.mark.slow
def test_faults_and_reruns_end_with_exactly_one_calibration_per_conversation(fresh_sandbox):
    sb = fresh_sandbox()
    plan = make_plan(sb, n=8)
    sb.set_faults(rate_429=0.2, rate_503=0.2, lose_response_rate=0.4, retry_after_s=0, seed=11)
    client = sb.client(sleep=quick_sleep, max_retries=2)
    runs = failures = 0
    created = 0
    while runs < 30:
        runs += 1
        try:
            result = create_session(client, plan, dry_run=False, now=sb.now(), progress=False)
        except GenesysError:
            failures += 1
            continue
        created += result.created
        break
    assert runs < 30, "creation never completed under faults"
    sb.set_faults(rate_429=0.0, rate_503=0.0, lose_response_rate=0.0)
    counts = calibrations_per_conversation(sb.client(), plan)
    assert counts == Counter({c: 1 for c in plan.conversation_ids}), counts
    final = create_session(sb.client(), plan, dry_run=False, now=sb.now(), progress=False)
    assert (final.created, final.existing) == (0, 8)


def test_lost_responses_are_found_by_listing_not_posted_again(fresh_sandbox):
    sb = fresh_sandbox()
    plan = make_plan(sb, n=4)
    sb.set_faults(lose_response_rate=1.0)  # every POST commits, and its answer is dropped
    result = create_session(sb.client(), plan, dry_run=False, validate=False, progress=False)
    sb.set_faults(lose_response_rate=0.0)
    assert list(result.planned["action"]) == ["recovered"] * 4
    assert calibrations_per_conversation(sb.client(), plan) == Counter({c: 1 for c in plan.conversation_ids})


# -------------------------------------------------------------------------------- status

def test_status_moves_from_pending_to_finished_or_overdue_and_never_shows_scores(fresh_sandbox):
    sb = fresh_sandbox()
    plan = make_plan(sb, n=3, deadline="2026-11-12T17:00:00Z")
    client = sb.client()
    create_session(client, plan, dry_run=False, now=sb.now(), progress=False)
    status = session_status(client, plan, now=sb.now())
    assert tuple(status.columns) == STATUS_COLUMNS
    n_assigned = len(set(plan.panel_ids) | {plan.expert_id})
    assert len(status) == 3 * n_assigned and set(status["state"]) == {"pending"}
    assert (status["role"] == "expert").sum() == 3

    sb.advance_clock(days=6)  # past the deadline: the simulated evaluators have finished some
    later = session_status(client, plan, now=sb.now())
    assert "finished" in set(later["state"])
    assert set(later["state"]) <= {"finished", "overdue", "retracted"}
    assert (later.loc[later["status"] != "FINISHED", "state"].isin(["overdue", "retracted"])).all()
    numeric = later.select_dtypes("number")
    assert numeric.empty, f"status must carry no numbers (scores): {list(numeric.columns)}"
    summary = summarize_status(later)
    assert summary["total"].sum() == len(later)


def test_status_of_a_plan_not_yet_created_says_so(sandbox, shared_plan):
    status = session_status(sandbox.client(), shared_plan, now=sandbox.now())
    assert list(status["state"]) == ["not created"] * 4


def test_calibration_body_names_the_expert_once_whether_or_not_on_the_panel(shared_plan):
    from calib.sessions import calibration_body

    on_panel = SessionPlan(**{**shared_plan.__dict__,
                              "panel_ids": shared_plan.panel_ids + (shared_plan.expert_id,)})
    for plan in (shared_plan, on_panel):
        body = calibration_body(plan, 3, plan.conversations[2])
        evaluators = [e["id"] for e in body["evaluators"]]
        assert body["expertEvaluator"] == {"id": plan.expert_id}
        assert plan.expert_id not in evaluators and len(evaluators) == len(set(evaluators))
        assert body["name"] == f"{plan.name} #3"
        assert body["conversation"] == {"id": plan.conversations[2].conversation_id}
        assert body["agent"] == {"id": plan.conversations[2].agent_id}

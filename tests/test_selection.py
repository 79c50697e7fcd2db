"""Candidate selection against the live sandbox: reproducibility and the rules, checked on the result."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from calib.sandbox import Faults
from calib.selection import CANDIDATE_COLUMNS, SelectionError, recording_available, select_candidates

WEEK = {"start": "2026-10-26", "end": "2026-11-02"}


def quick_sleep(seconds: float) -> None:
    """The client's back-off, shortened: the sandbox's faults are random per request, not timed."""
    time.sleep(min(seconds, 0.01))


@pytest.fixture(scope="module")
def demo(sandbox):
    team = sandbox.truth.teams["demo"]
    client = sandbox.client()
    history = sandbox.org.tidy_scores()
    first = select_candidates(client, **WEEK, n=8, panel_ids=team["panel_ids"],
                              calibrator_id=team["calibrator_id"], history=history, seed=4)
    return {"team": team, "client": client, "history": history, "selection": first}


def test_same_seed_gives_the_same_candidates(demo):
    team = demo["team"]
    again = select_candidates(demo["client"], **WEEK, n=8, panel_ids=team["panel_ids"],
                              calibrator_id=team["calibrator_id"], history=demo["history"], seed=4)
    assert again.candidates.equals(demo["selection"].candidates)
    assert again.funnel.equals(demo["selection"].funnel)


def test_another_seed_changes_the_pick(demo):
    team = demo["team"]
    other = select_candidates(demo["client"], **WEEK, n=8, panel_ids=team["panel_ids"],
                              calibrator_id=team["calibrator_id"], history=demo["history"],
                              seed=5, confirm_recordings=False)
    base = set(demo["selection"].candidates["conversation_id"])
    assert set(other.candidates["conversation_id"]) != base, "the seed should steer close calls"


def test_result_has_the_columns_n_rows_and_three_agents(demo):
    cands = demo["selection"].candidates
    assert tuple(cands.columns) == CANDIDATE_COLUMNS
    assert len(cands) == 8 and cands["conversation_id"].is_unique
    assert cands["agent_id"].nunique() >= 3
    assert cands["handle_band"].nunique() >= 2 and cands["queue_id"].nunique() >= 2
    assert cands["reason"].str.startswith("priority").all()


def test_every_candidate_is_a_recorded_voice_call_of_at_least_three_minutes(demo):
    client = demo["client"]
    cands = demo["selection"].candidates
    assert (cands["media_type"] == "voice").all() and (cands["talk_ms"] >= 180_000).all()
    for cid in cands["conversation_id"]:
        assert recording_available(client.get_recording_metadata(cid)), f"{cid} has no recording"


def test_exclusions_hold_on_the_result(demo):
    client, team = demo["client"], demo["team"]
    panel = set(team["panel_ids"]) | {team["expert_id"]}
    cands = demo["selection"].candidates
    calibrated = {c["conversation"]["id"] for c in client.iter_calibrations(team["calibrator_id"])}
    assert not set(cands["conversation_id"]) & calibrated, "already calibrated conversation picked"
    assert not set(cands["conversation_id"]) & set(demo["history"]["conversation_id"])
    assert not set(cands["agent_id"]) & panel, "a panel member's own call was picked"
    for cid in cands["conversation_id"]:
        evaluators = {e["evaluator"]["id"] for e in client.iter_evaluations(
            conversation_id=cid, expand_answer_total_scores=False)}
        assert not evaluators & panel, f"{cid} was already evaluated by a panel member"


def test_funnel_adds_up(demo):
    funnel = demo["selection"].funnel
    assert list(funnel.columns) == ["step", "remaining", "removed", "detail"]
    remaining = funnel["remaining"].tolist()
    removed = funnel["removed"].tolist()
    assert all(remaining[i] == remaining[i - 1] - removed[i] for i in range(1, len(funnel)))
    assert remaining[-1] == len(demo["selection"].candidates)
    calibrated_row = funnel.set_index("step").loc["already_calibrated"]
    assert calibrated_row["removed"] > 0, "the week holds calibrated calls; they must be counted"


def test_gray_area_history_steers_the_pick(sandbox, demo):
    """An agent whose past scores were mid-range and disputed is picked over agents whose past
    scores were clear-cut and aligned, even when it ranked last without that history."""
    team = demo["team"]
    gray_agent = demo["selection"].candidates["agent_id"].iloc[-1]
    rows = []
    for agent in (a.id for a in sandbox.org.agents):
        for cal in range(4):
            scores = (62, 75, 84) if agent == gray_agent else (97, 97.5, 98)
            rows += [{"calibration_id": f"h-{agent}-{cal}", "conversation_id": f"h-{agent}-{cal}",
                      "agent_id": agent, "total_score": score, "status": "FINISHED"}
                     for score in scores]
    history = pd.DataFrame(rows)
    sel = select_candidates(demo["client"], **WEEK, n=3, panel_ids=team["panel_ids"],
                            calibrator_id=team["calibrator_id"], history=history, seed=4,
                            confirm_recordings=False)
    assert gray_agent in set(sel.candidates["agent_id"])
    first = sel.candidates.iloc[0]
    assert first["agent_id"] == gray_agent and "gray-area agent" in first["reason"]


def test_sync_chunks_and_an_async_job_agree(demo):
    team = demo["team"]
    kwargs = dict(**WEEK, n=8, panel_ids=team["panel_ids"], calibrator_id=team["calibrator_id"],
                  history=demo["history"], seed=4)
    job = select_candidates(demo["client"], use_async=True, **kwargs)
    assert job.candidates.equals(demo["selection"].candidates)
    assert "async" in job.funnel["detail"].iloc[0]


@pytest.mark.slow
def test_faults_do_not_change_the_result(fresh_sandbox):
    sb = fresh_sandbox(faults=Faults(rate_429=0.15, rate_503=0.15, retry_after_s=0, seed=3))
    team = sb.truth.teams["demo"]
    kwargs = dict(start="2026-11-06", end="2026-11-09", n=5, panel_ids=team["panel_ids"],
                  calibrator_id=team["calibrator_id"], seed=2)
    faulty = select_candidates(sb.client(sleep=quick_sleep), **kwargs)
    sb.set_faults(rate_429=0.0, rate_503=0.0)
    clean = select_candidates(sb.client(), **kwargs)
    assert faulty.candidates.equals(clean.candidates)


def test_too_few_agents_is_an_error_in_a_sentence(sandbox):
    team = sandbox.truth.teams["demo"]
    profiles = {"nothing": {"extends": "general", "filters": {"queues": ["no-such-queue"]}}}
    with pytest.raises(SelectionError, match="fewer than 3"):
        select_candidates(sandbox.client(), start="2026-11-06", end="2026-11-07", n=4,
                          focus="nothing", profiles=profiles, panel_ids=team["panel_ids"])


def test_bad_arguments_are_refused(sandbox):
    with pytest.raises(ValueError, match="at least 3"):
        select_candidates(sandbox.client(), **WEEK, n=2)
    with pytest.raises(ValueError, match="Unknown focus"):
        select_candidates(sandbox.client(), **WEEK, n=5, focus="vibes")
    with pytest.raises(ValueError, match="not after"):
        select_candidates(sandbox.client(), start="2026-11-09", end="2026-11-02", n=5)


def test_escalation_focus_picks_only_transferred_calls(sandbox):
    team = sandbox.truth.teams["demo"]
    sel = select_candidates(sandbox.client(), start="2026-10-26", end="2026-11-09", n=4,
                            focus="escalation_process", panel_ids=team["panel_ids"], seed=1)
    assert sel.candidates["transferred"].all()
    assert sel.funnel.set_index("step").loc["focus_rules", "removed"] >= 0

"""Hand-picked conversations and disputed evaluations (``calib select --include``, issue 18).

Before, a named call reached a session only by editing the plan YAML, and a call the panel had
evaluated was always dropped. Now a conversation id, or a ``CONVERSATION/EVALUATION`` pair, goes
first in the plan; for an evaluation its evaluator's score is kept as the original and the
conversation is reused.
"""

from __future__ import annotations

import math
from collections import Counter

import pytest

from calib.cli import main
from calib.context import Backend
from calib.sessions import SessionPlan, create_session
from calib.sessions.include import included_candidates, parse_include
from calib.sessions.plan import published_form_id
from calib.sessions.steps import select_plan
from calib.widgets import SessionSetupForm

WEEK = {"start": "2026-10-26", "end": "2026-11-02"}


def disputed(sb):
    """A finished evaluation of another team (north) on the demo form's context: the demo
    team's calibrator has no calibration of its conversation yet."""
    org = sb.org
    north = sb.teams()["north"]
    for cal in org.calibrations.values():
        if cal.calibrator_id != north["calibrator_id"]:
            continue
        for ev_id in cal.evaluation_ids:
            ev = sb.client().get_evaluation(cal.conversation_id, ev_id, expand=["evaluator"])
            if ev["status"] == "FINISHED":
                return cal.conversation_id, ev
    raise AssertionError("the sandbox has no finished north evaluation")


def plain_conversation(sb, media="voice"):
    from datetime import datetime, timezone
    convs = sb.org.conversations.between(datetime(2026, 10, 27, tzinfo=timezone.utc),
                                         datetime(2026, 10, 28, tzinfo=timezone.utc))
    return next(c.id for c in convs if c.media == media and not c.calibration_ids
                and (media != "voice" or c.recordings))


def plan_for(sb, include, n=5):
    team = sb.teams()["demo"]
    return select_plan(sb.client(), team="demo", month="2026-11", focus="general", **WEEK,
                       n=n, seed=0, calibrator_id=team["calibrator_id"],
                       expert_id=team["expert_id"], panel_ids=team["panel_ids"],
                       form_id=published_form_id(sb.client()), deadline="2026-11-20T17:00:00Z",
                       name="demo 2026-11 disputes", include=include)


def test_parse_include_takes_a_conversation_or_a_pair():
    assert parse_include("abc-1") == ("abc-1", None)
    assert parse_include(" abc-1/ev-2 ") == ("abc-1", "ev-2")
    assert parse_include("abc-1:ev-2") == ("abc-1", "ev-2")
    for bad in ("", "a/b/c", "a b", "/ev"):
        with pytest.raises(ValueError, match="CONVERSATION_ID/EVALUATION_ID"):
            parse_include(bad)


def test_included_items_go_first_with_the_original_score_and_the_rest_is_selected(sandbox):
    conversation, ev = disputed(sandbox)
    plain = plain_conversation(sandbox)
    selection, plan = plan_for(sandbox, [f"{conversation}/{ev['id']}", plain], n=5)
    first, second = plan.conversations[:2]
    assert first.conversation_id == conversation and second.conversation_id == plain
    assert first.original_evaluation_id == ev["id"]
    assert first.original_evaluator_id == ev["evaluator"]["id"]
    assert math.isclose(first.original_score, ev["answers"]["totalScore"])
    assert first.agent_id == ev["agent"]["id"]
    assert "to calibrate evaluation" in first.reason and f"{first.original_score:.1f}" in first.reason
    assert second.original_score is None and second.reason == "included by hand (--include)"
    assert len(plan.conversations) == 5 and len(set(plan.conversation_ids)) == 5
    funnel = selection.funnel.set_index("step")
    assert funnel.loc["included_by_hand", "remaining"] == 5
    # the plan file keeps the original; a voice call writes no media type
    again = SessionPlan.from_mapping(plan.to_dict())
    assert again == plan and "media_type" not in plan.to_dict()["conversations"][0]


def test_an_included_call_is_never_selected_again(sandbox):
    _, plan = plan_for(sandbox, [], n=5)
    named = plan.conversation_ids[0]
    _, with_it = plan_for(sandbox, [named], n=5)
    assert with_it.conversation_ids.count(named) == 1 and with_it.conversation_ids[0] == named


def test_bad_items_are_named_in_one_sentence_and_nothing_is_planned(sandbox):
    conversation, ev = disputed(sandbox)
    unfinished = next((c.conversation_id, e) for c in sandbox.org.calibrations.values()
                      for e in c.evaluation_ids
                      if sandbox.client().get_evaluation(c.conversation_id, e)["status"]
                      != "FINISHED")
    with pytest.raises(ValueError) as err:
        included_candidates(sandbox.client(), ["no-such-conversation",
                                               f"{conversation}/no-such-evaluation",
                                               f"{unfinished[0]}/{unfinished[1]}",
                                               conversation])
    text = str(err.value)
    assert text.startswith("4 of the 4 included item(s) cannot be calibrated")
    assert f"{conversation} is included twice" in text
    assert "no-such-conversation does not exist" in text
    assert "no-such-evaluation of conversation" in text and "not FINISHED" in text


def test_a_disputed_evaluation_is_calibrated_on_its_own_conversation(fresh_sandbox):
    sb = fresh_sandbox()
    conversation, ev = disputed(sb)
    _, plan = plan_for(sb, [f"{conversation}/{ev['id']}"], n=4)
    result = create_session(sb.client(), plan, dry_run=False, progress=False, now=sb.now())
    assert result.created == 4
    created = [c for c in sb.client().iter_calibrations(plan.calibrator_id)
               if c["conversation"]["id"] == conversation]
    assert len(created) == 1 and created[0]["name"] == "demo 2026-11 disputes #1"
    assert created[0]["agent"]["id"] == ev["agent"]["id"]


def test_calib_select_include_on_the_command_line(fresh_sandbox, tmp_path, monkeypatch, capsys):
    sb = fresh_sandbox()
    conversation, ev = disputed(sb)
    monkeypatch.setenv("GENESYSCLOUD_API_REGION", sb.base_url)
    monkeypatch.setenv("GENESYSCLOUD_OAUTHCLIENT_ID", sb.client_id)
    monkeypatch.setenv("GENESYSCLOUD_OAUTHCLIENT_SECRET", sb.client_secret)
    team = sb.teams()["demo"]
    params = tmp_path / "select.yaml"
    emails = [sb.org.people[i].email for i in team["panel_ids"]]
    params.write_text(
        "team: demo\nmonth: '2026-11'\nbackend: genesys\nsandbox_seed: 7\n"
        f"start: '{WEEK['start']}'\nend: '{WEEK['end']}'\nn: 4\nfocus: general\nseed: 0\n"
        f"calibrator_email: {team['calibrator_email']}\nexpert_email: {team['calibrator_email']}\n"
        f"panel_emails: {emails}\nform_name: ''\ndeadline: '2026-11-20T17:00:00Z'\n"
        "session_name: ''\nprofiles: ''\nout: ''\n")
    out = tmp_path / "plan.yaml"
    assert main(["select", "--params", str(params), "--out", str(out), "--no-store",
                 "--include", f"{conversation}/{ev['id']}"]) == 0
    printed = capsys.readouterr().out
    assert "included_by_hand" in printed and "to calibrate evaluation" in printed
    plan = SessionPlan.from_yaml(out)
    assert plan.conversations[0].original_evaluation_id == ev["id"]


def test_the_widget_includes_what_its_field_names(fresh_sandbox, tmp_path):
    sb = fresh_sandbox()
    conversation, ev = disputed(sb)
    backend = Backend("sandbox", sb.client(), sandbox=sb, clock=sb.now)
    form = SessionSetupForm.for_backend(backend, team="demo", month="2026-11",
                                        plans_dir=tmp_path / "sessions")
    from datetime import date
    form.start.value, form.end.value = date(2026, 10, 26), date(2026, 11, 2)
    form.n.value, form.deadline.value = 4, "2026-11-20T17:00:00Z"
    form.include.value = f"{conversation}/{ev['id']}"
    form.preview_button.click()
    assert form.error is None, form.messages.value
    assert form.plan.conversations[0].original_evaluation_id == ev["id"]
    assert "to calibrate evaluation" in form.output.value
    form.include.value = "no-such-conversation"
    form.preview_button.click()
    assert form.error and "no-such-conversation does not exist" in form.error
    assert Counter(form.plan.conversation_ids if form.plan else []) == Counter()

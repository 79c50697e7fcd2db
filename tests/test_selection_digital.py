"""Chats, emails and messages (issue 18): selection, plan validation and creation for digital
interactions, the sandbox serving them, and the official SDK reading every new shape.

Before, selection and plan validation accepted only recorded voice (``recording_available``
checked audio only, the query always asked for the audio-recording flag).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from calib.cli import main
from calib.selection import (details_query, load_profiles, profile_rules, recording_available,
                             select_candidates, segment_filters)
from calib.sessions import SessionPlan
from calib.sessions.plan import PlanError
from calib.sessions.steps import select_plan
from calib.sessions.plan import published_form_id

ROOT = Path(__file__).resolve().parents[1]
WEEK = {"start": "2026-10-26", "end": "2026-11-02"}
DIGITAL = {"chat", "email", "message"}


def test_recording_available_takes_the_medium_into_account():
    audio = [{"media": "audio", "fileState": "AVAILABLE"}]
    chat = [{"media": "chat", "fileState": "ARCHIVED"}]
    deleted_email = [{"media": "email", "fileState": "DELETED"}]
    assert recording_available(audio) and not recording_available(chat)
    assert recording_available(chat, "chat") and not recording_available(audio, "chat")
    assert not recording_available(deleted_email, "email")
    assert recording_available(chat + audio, None)


def test_queries_name_the_media_and_ask_for_audio_only_for_voice():
    voice = segment_filters(profile_rules(load_profiles()["general"]))
    assert voice == [{"type": "and", "predicates": [
        {"type": "dimension", "dimension": "mediaType", "operator": "matches", "value": "voice"},
        {"type": "dimension", "dimension": "recording", "operator": "matches", "value": "true"}]}]
    chat = segment_filters(profile_rules(load_profiles()["chat_handling"]))
    assert [p["value"] for p in chat[0]["predicates"]] == ["chat"]
    mixed = segment_filters(profile_rules(load_profiles()["digital_general"]))[0]
    assert mixed["predicates"] == []
    assert mixed["clauses"][0]["type"] == "or"
    assert sorted(p["value"] for p in mixed["clauses"][0]["predicates"]) == sorted(DIGITAL)


def test_a_profile_with_an_unknown_medium_is_refused():
    with pytest.raises(ValueError, match="media_type must be one of"):
        profile_rules({"filters": {"media_type": ["chat", "fax"]}}, name="bad")


@pytest.mark.parametrize("focus, media", [("chat_handling", {"chat"}),
                                          ("digital_general", DIGITAL)])
def test_digital_focus_selects_only_those_media_each_with_its_transcript(sandbox, focus, media):
    team = sandbox.truth.teams["demo"]
    client = sandbox.client()
    seen = set()
    for seed in range(3):
        sel = select_candidates(client, **WEEK, n=6, focus=focus, panel_ids=team["panel_ids"],
                                calibrator_id=team["calibrator_id"], seed=seed)
        cands = sel.candidates
        assert set(cands["media_type"]) <= media and cands["agent_id"].nunique() >= 3
        for row in cands.itertuples():
            meta = client.get_recording_metadata(row.conversation_id)
            assert recording_available(meta, row.media_type)
            assert not recording_available(meta, "voice"), "no audio stands in for a transcript"
        seen |= set(cands["media_type"])
    if focus == "digital_general":
        assert seen == DIGITAL, "over a few seeds every digital medium is picked"


def test_a_chat_plan_records_its_medium_and_validates_against_the_transcript(sandbox):
    team = sandbox.truth.teams["demo"]
    _, plan = select_plan(sandbox.client(), team="demo", month="2026-11", focus="chat_handling",
                          **WEEK, n=4, seed=0, calibrator_id=team["calibrator_id"],
                          expert_id=team["expert_id"], panel_ids=team["panel_ids"],
                          form_id=published_form_id(sandbox.client()),
                          deadline="2026-11-20T17:00:00Z", name="demo 2026-11 chats")
    assert {c.media_type for c in plan.conversations} == {"chat"}
    text = plan.to_text()
    assert text.count("media_type: chat") == 4
    again = SessionPlan.from_mapping(yaml.safe_load(text))
    assert again == plan
    again.validate(sandbox.client(), now=sandbox.now())
    # the same conversation called a voice call has no audio: refused with a sentence
    first = plan.conversations[0]
    as_voice = SessionPlan(**{**plan.__dict__, "conversations": (
        type(first)(first.conversation_id, first.agent_id, first.reason),)})
    with pytest.raises(PlanError, match=f"{first.conversation_id} has no playable recording"):
        as_voice.validate(sandbox.client(), now=sandbox.now())
    bad = {**plan.to_dict(), "conversations": [{"conversation_id": "x", "media_type": "fax"}]}
    with pytest.raises(PlanError, match="media_type 'fax'"):
        SessionPlan.from_mapping(bad)


def test_the_sdk_reads_digital_details_and_the_query_calib_sends(sandbox):
    sdk = pytest.importorskip("PureCloudPlatformClientV2")
    from tests.test_sandbox_sdk import _raw, sdk_problems

    rules = profile_rules(load_profiles()["digital_general"])
    from calib.values import parse_instant
    body = details_query(parse_instant("2026-10-27"), parse_instant("2026-10-28"), rules)
    assert sdk_problems(body, "ConversationQuery") == []
    client = sdk.api_client.ApiClient(sandbox.base_url)
    api = client.get_client_credentials_token(sandbox.client_id, sandbox.client_secret)
    query = sdk.AnalyticsApi(api).post_analytics_conversations_details_query(body)
    media = {s.media_type for c in query.conversations for p in c.participants
             for s in p.sessions}
    assert media == DIGITAL
    emails = [c for c in query.conversations
              if c.participants[0].sessions[0].media_type == "email"]
    assert emails[0].participants[0].sessions[0].address_from.endswith("@example.com")
    for conv in query.conversations[:10]:
        meta = sdk.RecordingApi(api).get_conversation_recordingmetadata(conv.conversation_id)
        kind = conv.participants[0].sessions[0].media_type
        assert all(m.media == kind for m in meta)
    raw = _raw(sandbox, "/api/v2/analytics/conversations/" + emails[0].conversation_id
               + "/details")
    assert sdk_problems(raw, "AnalyticsConversationWithoutAttributes") == []


@pytest.mark.slow
def test_a_chat_session_is_selected_created_scored_and_reported(tmp_path, monkeypatch, capsys):
    """As a new user would: the monthly loop's commands on a chat-focused session."""
    monkeypatch.setenv("CALIB_SANDBOX_DIR", str(tmp_path / "sandbox"))
    monkeypatch.setenv("CALIB_STORE_URL", f"sqlite:///{tmp_path / 'calib.sqlite'}")
    for key in [k for k in __import__("os").environ if k.startswith("GENESYSCLOUD_")]:
        monkeypatch.delenv(key)
    params = yaml.safe_load((ROOT / "parameters" / "select-demo.yaml").read_text())
    plan_path = tmp_path / "chat-plan.yaml"
    params.update(focus="chat_handling", n=4, out=str(plan_path))
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))

    assert main(["select", "--params", str(tmp_path / "params.yaml")]) == 0
    out = capsys.readouterr().out
    plan = SessionPlan.from_yaml(plan_path)
    assert {c.media_type for c in plan.conversations} == {"chat"}
    table = out.split("Why each")[0]
    assert table.count(" chat ") >= 4 and " voice " not in table, "the medium is shown"
    assert main(["create", "--plan", str(plan_path), "--yes"]) == 0
    assert "Created 4, already there 0" in capsys.readouterr().out
    assert main(["sandbox", "advance", "--days", "14"]) == 0
    assert main(["sync", "--params", "parameters/demo.yaml", "--month", "2026-11"]) == 0
    capsys.readouterr()
    from calib.store import Store
    with Store(f"sqlite:///{tmp_path / 'calib.sqlite'}") as store:
        scores = store.scores("demo", "2026-11", include_sealed=True)
    chats = scores[scores["conversation_id"].isin(plan.conversation_ids)]
    assert chats["calibration_id"].nunique() == 4
    assert chats["total_score"].notna().sum() > 0, "the panel scored the chats"
    assert main(["reveal", "--params", "parameters/demo.yaml", "--month", "2026-11", "--by",
                 "Ana Analyst", "--reason", "chat pilot"]) == 0
    assert main(["report", "--params", "parameters/demo.yaml", "--month", "2026-11",
                 "--outputs", str(tmp_path / "out")]) == 0
    summary = json.loads((tmp_path / "out" / "demo" / "2026-11" / "summary.json").read_text())
    assert summary["month"] == "2026-11"
    html = (tmp_path / "out" / "demo" / "2026-11" / "monthly_report.html").read_text()
    assert any(c[:8] in html for c in plan.conversation_ids), "the chats are in the report"
    # the KPI separation: the summary calib writes holds no score per agent
    text = json.dumps(summary)
    assert not any(c.agent_id in text for c in plan.conversations)

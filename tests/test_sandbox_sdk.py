"""The official Genesys Python SDK logs in to the sandbox and reads what it serves.

The SDK's models are the schema: their ``attribute_map`` names the JSON fields and their
``allowed_values`` the enums; a value outside an enum deserialises as
``outdated_sdk_version``, so these tests catch a wrong enum or casing. The SDK ignores unknown
fields and compares enums case-insensitively, so the AI scoring fields are also checked on the
raw JSON (``sdk_problems``): every field known to its model, every enum value spelt as listed.
"""

from __future__ import annotations

import inspect
import json
import re

import pytest
import requests

# importing the SDK (4,000+ generated modules) alone takes several seconds
pytestmark = pytest.mark.slow
sdk = pytest.importorskip("PureCloudPlatformClientV2")

OUTDATED = "outdated_sdk_version"


@pytest.fixture(scope="module")
def api_client(sandbox):
    sdk.configuration.host = sandbox.base_url
    client = sdk.api_client.ApiClient(sandbox.base_url)
    return client.get_client_credentials_token(sandbox.client_id, sandbox.client_secret)


def test_sdk_reads_calibrations_with_valid_enums(sandbox, api_client):
    quality = sdk.QualityApi(api_client)
    team = sandbox.truth.teams["demo"]
    listing = quality.get_quality_calibrations(team["calibrator_id"], page_size=25)
    assert listing.total == 42 and listing.next_uri
    cal = listing.entities[0]
    assert isinstance(cal.average_score, int)
    for ev in cal.evaluations:
        assert ev.status in {"PENDING", "INPROGRESS", "FINISHED", "INREVIEW", "RETRACTED"}
        if ev.status == "FINISHED":
            assert 0 <= ev.answers.total_score <= 100
            q = ev.answers.question_group_scores[0].question_scores[0]
            assert q.question_id and isinstance(q.score, int)


def test_sdk_reads_evaluation_query_and_forms(sandbox, api_client):
    quality = sdk.QualityApi(api_client)
    cal = next(iter(sandbox.org.calibrations.values()))
    page = quality.get_quality_evaluations_query(conversation_id=cal.conversation_id,
                                                 expand_answer_total_scores=True)
    assert page.entities and page.entities[0].answers.total_score is not None
    form = quality.get_quality_forms_evaluation(cal.form_id)
    assert form.weight_mode == "SCALED"
    q = form.question_groups[0].questions[0]
    assert q.type == "multipleChoiceQuestion" and q.answer_options[0].value in (0, 1)
    published = quality.get_quality_publishedforms_evaluations()
    assert [f.published for f in published.entities] == [True, True]


def test_sdk_reads_conversation_details_and_recordings(sandbox, api_client):
    analytics = sdk.AnalyticsApi(api_client)
    body = sdk.ConversationQuery()
    body.interval = "2026-10-12T00:00:00.000Z/2026-10-13T00:00:00.000Z"
    body.paging = sdk.PagingSpec()
    body.paging.page_size, body.paging.page_number = 50, 1
    result = analytics.post_analytics_conversations_details_query(body)
    assert result.total_hits >= len(result.conversations) > 0
    for conv in result.conversations:
        assert conv.originating_direction in ("inbound", "outbound")
        for part in conv.participants:
            assert part.purpose != OUTDATED
            for session in part.sessions:
                assert session.media_type in ("voice", "chat", "email", "message")
                for seg in session.segments:
                    assert seg.segment_type != OUTDATED
                    assert seg.disconnect_type != OUTDATED
    recording = sdk.RecordingApi(api_client)
    conv_id = next(iter(sandbox.org.calibrations.values())).conversation_id
    meta = recording.get_conversation_recordingmetadata(conv_id)
    assert meta and meta[0].file_state == "AVAILABLE" and meta[0].media == "audio"


def test_sdk_reads_users(sandbox, api_client):
    users = sdk.UsersApi(api_client)
    page = users.get_users(page_size=100, state="any")
    assert page.total == len(sandbox.org.people)
    assert {u.state for u in page.entities} <= {"active", "inactive", "deleted"}


# ------------------------------------------------------------------------------ AI scoring
def _allowed_values(model: type, attr: str) -> list[str] | None:
    """The enum of ``model.attr`` as the SDK's setter lists it (it compares case-insensitively,
    so the exact spelling is checked here)."""
    match = re.search(r"allowed_values = \[(.*?)\]", inspect.getsource(getattr(model, attr).fset))
    return None if match is None else json.loads(f"[{match.group(1)}]")


def sdk_problems(value, type_name: str, path: str = "$") -> list[str]:
    """Every field the SDK model ``type_name`` does not know and every enum value it does not
    list (exact spelling), anywhere in the JSON ``value``."""
    if type_name.startswith("list["):
        return [p for i, v in enumerate(value) for p in sdk_problems(v, type_name[5:-1],
                                                                      f"{path}[{i}]")]
    if type_name in {"str", "int", "float", "bool", "datetime", "date", "object"} or \
            type_name.startswith("dict("):
        return []
    model = getattr(sdk.models, type_name)
    if not isinstance(value, dict):
        return [f"{path}: {type(value).__name__}, not a {type_name} object"]
    fields = {json_name: attr for attr, json_name in model().attribute_map.items()}
    out = []
    for key, item in value.items():
        if key not in fields:
            out.append(f"{path}.{key}: no such field in {type_name}")
            continue
        attr = fields[key]
        allowed = _allowed_values(model, attr)
        if allowed is not None and item is not None:
            out += [f"{path}.{key}: {v!r} is not one of {allowed}"
                    for v in (item if isinstance(item, list) else [item]) if v not in allowed]
        out += sdk_problems(item, model().swagger_types[attr], f"{path}.{key}")
    return out


def _raw(sb, path: str, **params) -> dict:
    token = requests.post(f"{sb.base_url}/oauth/token", auth=(sb.client_id, sb.client_secret),
                          data={"grant_type": "client_credentials"}, timeout=30).json()
    r = requests.get(sb.base_url + path, params=params, timeout=60,
                     headers={"Authorization": f"Bearer {token['access_token']}"})
    assert r.status_code == 200, r.text
    return r.json()


def test_the_checker_finds_an_unknown_field_and_a_misspelt_enum(sandbox):
    cal = next(c for c in sandbox.org.calibrations.values()
               if c.form_id == sandbox.org.forms[1]["id"])
    body = _raw(sandbox, f"/api/v2/quality/calibrations/{cal.id}", calibratorId=cal.calibrator_id)
    assert sdk_problems(body, "Calibration") == []
    ev = body["evaluations"][0]
    ev["aiScoring"]["failureType"] = "serviceError"
    ev["evaluationSource"]["kind"] = "User"
    assert sdk_problems(body, "Calibration") == [
        "$.evaluations[0].evaluationSource.kind: no such field in EvaluationSource",
        "$.evaluations[0].aiScoring.failureType: 'serviceError' is not one of ['QuotaReached', "
        "'ParsingError', 'ServiceError', 'InvalidRequest', 'DuplicateFormSameAgent', "
        "'Unauthorized', 'DuplicateAutomatedFormWithCopiedScore']"]


def test_every_ai_field_the_sandbox_serves_is_known_to_the_sdk(sandbox):
    org = sandbox.org
    team = sandbox.truth.teams["demo"]
    served: dict[str, set] = {"run": set(), "question": set(), "answered": set()}
    for evaluator in [team["expert_id"], *team["panel_ids"]]:
        page = _raw(sandbox, "/api/v2/quality/evaluations/query", evaluatorUserId=evaluator,
                    expandAnswerTotalScores="true", pageSize=100)
        assert sdk_problems(page, "EvaluationEntityListing") == []
        for ev in page["entities"]:
            if "aiScoring" not in ev:
                continue
            served["run"].add(ev["aiScoring"].get("failureType"))
            for group in ev.get("answers", {}).get("questionGroupScores", ()):
                for score in group["questionScores"]:
                    ai = score.get("aiAnswer")
                    if ai is not None:
                        served["question"].add(ai.get("failureType"))
                        served["answered"].add(("answerId" in ai, ai.get("markedNotApplicable")))
    # the pages above hold every kind of AI outcome the SDK models
    assert {"QuotaReached", None} <= served["run"], served
    assert {"LowConfidenceError", "LowHistoricalAccuracyError", None} <= served["question"]
    assert {(True, False), (False, True), (False, None)} <= served["answered"], served
    cal = next(c for c in org.calibrations.values() if c.form_id == org.forms[1]["id"])
    ev = _raw(sandbox, f"/api/v2/quality/conversations/{cal.conversation_id}/evaluations/"
                       f"{cal.evaluation_ids[0]}", expand="evaluationForm")
    assert sdk_problems(ev, "EvaluationResponse") == []
    form = _raw(sandbox, f"/api/v2/quality/forms/evaluations/{org.forms[1]['id']}")
    assert "aiScoring" in form and sdk_problems(form, "EvaluationFormResponse") == []
    listing = _raw(sandbox, "/api/v2/quality/calibrations", calibratorId=team["calibrator_id"],
                   pageSize=100)
    assert sdk_problems(listing, "CalibrationEntityListing") == []


def test_sdk_reads_ai_answers_and_scoring(sandbox, api_client):
    quality = sdk.QualityApi(api_client)
    team = sandbox.truth.teams["demo"]
    evaluator = max(team["panel_ids"], key=sandbox.truth.ai_acceptance.get)
    page = quality.get_quality_evaluations_query(evaluator_user_id=evaluator, page_size=100,
                                                 expand_answer_total_scores=True)
    with_ai = [e for e in page.entities if e.ai_scoring is not None]
    assert with_ai and all(e.evaluation_source.type == "User" for e in with_ai)
    answers = []
    for ev in with_ai:
        assert ev.ai_scoring.pending is False and ev.ai_scoring.date_last_changed is not None
        assert ev.ai_scoring.failure_type != OUTDATED
        if ev.status == "FINISHED":
            answers += [q.ai_answer for g in ev.answers.question_group_scores
                        for q in g.question_scores if q.ai_answer is not None]
    assert answers and all(a.failure_type != OUTDATED for a in answers)
    assert any(a.answer_id and a.explanation for a in answers)
    assert any(a.marked_not_applicable for a in answers)


def test_sdk_puts_ai_scoring_settings(fresh_sandbox):
    sb = fresh_sandbox()
    client = sdk.api_client.ApiClient(sb.base_url).get_client_credentials_token(
        sb.client_id, sb.client_secret)
    quality = sdk.QualityApi(client)
    form = quality.get_quality_forms_evaluation(sb.org.forms[1]["id"])
    wanted = {"Uses the customer's name", "Avoids jargon"}
    body = sdk.AiScoringSettings()
    body.question_group_settings = []
    for group in form.question_groups:
        gs = sdk.QuestionGroupSettings()
        gs.question_group_context_id = group.context_id
        gs.question_settings = []
        for q in group.questions:
            qs = sdk.QuestionSettings()
            qs.question_context_id = q.context_id
            qs.settings = sdk.AiScoringSetting()
            qs.settings.enabled = q.text in wanted
            gs.question_settings.append(qs)
        body.question_group_settings.append(gs)
    echo = quality.put_quality_forms_evaluation_aiscoring_settings(form.id, body)
    texts = {q.context_id: q.text for g in form.question_groups for q in g.questions}
    assert {texts[q.question_context_id] for g in echo.question_group_settings
            for q in g.question_settings if q.settings.enabled} == wanted
    again = quality.get_quality_forms_evaluation(form.id)
    assert again.ai_scoring.to_dict() == echo.to_dict()

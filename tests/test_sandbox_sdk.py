"""The official Genesys Python SDK logs in to the sandbox and reads what it serves.

The SDK's models are the schema: their ``attribute_map`` names the JSON fields and their
``allowed_values`` the enums; a value outside an enum deserialises as
``outdated_sdk_version``, so these tests catch a wrong enum or casing.
"""

from __future__ import annotations

import pytest

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
                assert session.media_type in ("voice", "chat")
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

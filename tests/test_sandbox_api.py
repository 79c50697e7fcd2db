"""The sandbox server speaks the Genesys shapes documented in genesys-api.md."""

from __future__ import annotations

import requests
import pytest

STATUSES = {"PENDING", "INPROGRESS", "FINISHED", "INREVIEW", "RETRACTED"}
ANALYTICS_STATUSES = {"Finished", "InProgress", "InReview", "Pending", "Retracted"}
ENVELOPE = {"entities", "pageSize", "pageNumber", "total", "firstUri", "selfUri", "lastUri",
            "pageCount"}


def token(sb) -> dict:
    r = requests.post(f"{sb.base_url}/oauth/token", auth=(sb.client_id, sb.client_secret),
                      data={"grant_type": "client_credentials"}, timeout=10)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 86400
    return {"Authorization": f"Bearer {body['access_token']}"}


@pytest.fixture(scope="module")
def auth(sandbox):
    return token(sandbox)


def get(sb, auth, path, **params):
    return requests.get(f"{sb.base_url}{path}", headers=auth, params=params, timeout=30)


def post(sb, auth, path, body):
    return requests.post(f"{sb.base_url}{path}", headers=auth, json=body, timeout=30)


def assert_genesys_error(r, status):
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) >= {"message", "code", "status", "contextId", "details", "errors"}
    assert body["status"] == status
    assert r.headers["ININ-Correlation-Id"] == body["contextId"]


def test_missing_bearer_token_is_401(sandbox):
    assert_genesys_error(requests.get(f"{sandbox.base_url}/api/v2/users", timeout=10), 401)


def test_wrong_secret_is_rejected(sandbox):
    r = requests.post(f"{sandbox.base_url}/oauth/token", auth=(sandbox.client_id, "nope"),
                      data={"grant_type": "client_credentials"}, timeout=10)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


def test_json_token_body_is_rejected(sandbox):
    r = requests.post(f"{sandbox.base_url}/oauth/token", auth=(sandbox.client_id,
                      sandbox.client_secret), json={"grant_type": "client_credentials"}, timeout=10)
    assert r.status_code == 400


def test_calibration_listing_requires_calibrator(sandbox, auth):
    assert_genesys_error(get(sandbox, auth, "/api/v2/quality/calibrations"), 400)


def test_calibrations_follow_the_documented_shape(sandbox, auth):
    team = sandbox.truth.teams["demo"]
    r = get(sandbox, auth, "/api/v2/quality/calibrations", calibratorId=team["calibrator_id"],
            pageSize=5)
    assert r.status_code == 200
    page = r.json()
    assert ENVELOPE <= set(page) and "nextUri" in page
    assert page["total"] == 6 * 6 + 6
    cal = page["entities"][0]
    assert cal["calibrator"]["id"] == team["calibrator_id"]
    assert isinstance(cal["averageScore"], int) and isinstance(cal["highScore"], int)
    assert cal["lowScore"] <= cal["averageScore"] <= cal["highScore"]
    for ev in cal["evaluations"]:
        assert ev["status"] in STATUSES
        if ev["status"] == "FINISHED":
            assert isinstance(ev["answers"]["totalScore"], float)
            assert "totalScore" not in ev
    assert cal["scoringIndex"]["id"] in {e["id"] for e in cal["evaluations"]}
    # follow nextUri to the end: every calibration exactly once
    seen, uri = [], f"/api/v2/quality/calibrations?calibratorId={team['calibrator_id']}&pageSize=5"
    while uri:
        body = requests.get(sandbox.base_url + uri, headers=auth, timeout=30).json()
        seen += [c["id"] for c in body["entities"]]
        uri = body.get("nextUri")
    assert len(seen) == len(set(seen)) == page["total"]


def test_open_november_session_mixes_statuses(sandbox, auth):
    team = sandbox.truth.teams["demo"]
    r = get(sandbox, auth, "/api/v2/quality/calibrations", calibratorId=team["calibrator_id"],
            startTime="2026-11-01T00:00:00Z", endTime="2026-12-01T00:00:00Z", pageSize=25)
    statuses = {e["status"] for c in r.json()["entities"] for e in c["evaluations"]}
    assert "FINISHED" in statuses and statuses & {"PENDING", "INPROGRESS"}


def test_get_calibration_requires_calibrator_or_conversation(sandbox, auth):
    cal = next(iter(sandbox.org.calibrations.values()))
    assert_genesys_error(get(sandbox, auth, f"/api/v2/quality/calibrations/{cal.id}"), 400)
    r = get(sandbox, auth, f"/api/v2/quality/calibrations/{cal.id}",
            conversationId=cal.conversation_id)
    assert r.status_code == 200 and r.json()["id"] == cal.id


def test_evaluations_query_answers_only_when_expanded(sandbox, auth):
    cal = next(iter(sandbox.org.calibrations.values()))
    plain = get(sandbox, auth, "/api/v2/quality/evaluations/query",
                conversationId=cal.conversation_id).json()
    assert plain["entities"] and all("answers" not in e for e in plain["entities"])
    full = get(sandbox, auth, "/api/v2/quality/evaluations/query",
               conversationId=cal.conversation_id, expandAnswerTotalScores="true").json()
    ev = full["entities"][0]
    groups = ev["answers"]["questionGroupScores"]
    assert groups and "questionScores" in groups[0]
    q = groups[0]["questionScores"][0]
    assert isinstance(q["score"], int) and "markedNA" in q
    assert_genesys_error(get(sandbox, auth, "/api/v2/quality/evaluations/query"), 400)


def test_form_list_hides_groups_and_says_unpublished(sandbox, auth):
    listing = get(sandbox, auth, "/api/v2/quality/forms/evaluations").json()
    entry = listing["entities"][0]
    assert "questionGroups" not in entry and entry["published"] is False
    versions = get(sandbox, auth, f"/api/v2/quality/forms/evaluations/{entry['id']}/versions"
                   ).json()["entities"]
    assert len(versions) == 3 and len({v["contextId"] for v in versions}) == 1
    assert sum(v["published"] for v in versions) == 2
    form = get(sandbox, auth, f"/api/v2/quality/publishedforms/evaluations/{entry['id']}").json()
    assert form["published"] and form["weightMode"] == "SCALED"
    questions = [q for g in form["questionGroups"] for q in g["questions"]]
    assert any(q["isKill"] for q in questions) and any(q["isCritical"] for q in questions)
    assert any(len(q["answerOptions"]) == 5 for q in questions)


def test_users_bulk_by_id_and_state(sandbox, auth):
    ids = list(sandbox.org.people)[:3]
    r = get(sandbox, auth, "/api/v2/users", id=",".join(ids))
    assert sorted(u["id"] for u in r.json()["entities"]) == sorted(ids)
    everyone = get(sandbox, auth, "/api/v2/users", state="any", pageSize=500).json()
    names = {u["name"] for u in everyone["entities"]}
    assert "<script>alert(1)</script>" in names
    assert {"inactive"} <= {u["state"] for u in everyone["entities"]}
    user = everyone["entities"][0]
    assert set(user) >= {"id", "name", "email", "username", "state", "title", "department"}


QUERY = {"interval": "2026-10-05T00:00:00.000Z/2026-10-08T00:00:00.000Z",
         "paging": {"pageSize": 100, "pageNumber": 1},
         "segmentFilters": [{"type": "and", "predicates": [
             {"type": "dimension", "dimension": "mediaType", "operator": "matches",
              "value": "voice"},
             {"type": "dimension", "dimension": "recording", "operator": "matches",
              "value": "true"}]}],
         "conversationFilters": [{"type": "and", "predicates": [
             {"type": "metric", "metric": "tTalkComplete", "range": {"gte": 180000}}]}]}


def test_details_query_applies_filters(sandbox, auth):
    r = post(sandbox, auth, "/api/v2/analytics/conversations/details/query", QUERY)
    assert r.status_code == 200, r.text
    body = r.json()
    assert 0 < len(body["conversations"]) <= 100 and body["totalHits"] >= len(body["conversations"])
    for conv in body["conversations"]:
        agents = [p for p in conv["participants"] if p["purpose"] == "agent"]
        sessions = [s for p in agents for s in p["sessions"]]
        assert all(s["mediaType"] == "voice" for s in sessions)
        assert any(s["recording"] is True for s in sessions)
        talk = sum(m["value"] for s in sessions for m in s["metrics"]
                   if m["name"] == "tTalkComplete")
        assert talk >= 180000
    everything = dict(QUERY, segmentFilters=[], conversationFilters=[])
    assert post(sandbox, auth, "/api/v2/analytics/conversations/details/query",
                everything).json()["totalHits"] > body["totalHits"]


@pytest.mark.parametrize("change, message", [
    ({"interval": None}, "interval"),
    ({"interval": "2026-10-01T00:00:00Z/2026-10-09T00:00:00Z"}, "7 days"),
    ({"paging": {"pageSize": 101, "pageNumber": 1}}, "100"),
    ({"paging": {"pageSize": 100, "pageNumber": 1001}}, "Pagination may not exceed 100000 results."),
    ({"segmentFilters": [{"type": "and", "predicates": [
        {"type": "metric", "metric": "tTalkComplete", "range": {"gte": 180}}]}]}, "tSegmentDuration"),
    ({"segmentFilters": [{"type": "dimension", "dimension": "mediaType", "value": "voice"}]}, "and"),
])
def test_malformed_queries_get_400(sandbox, auth, change, message):
    body = {k: v for k, v in {**QUERY, **change}.items() if v is not None}
    r = post(sandbox, auth, "/api/v2/analytics/conversations/details/query", body)
    assert_genesys_error(r, 400)
    assert message in r.json()["message"]


def test_calibrated_conversation_carries_analytics_evaluations(sandbox, auth):
    cal = next(iter(sandbox.org.calibrations.values()))
    conv = get(sandbox, auth, f"/api/v2/analytics/conversations/{cal.conversation_id}/details"
               ).json()
    statuses = {e["evaluationStatus"] for e in conv["evaluations"]}
    assert statuses <= ANALYTICS_STATUSES and "Finished" in statuses
    meta = get(sandbox, auth, f"/api/v2/conversations/{cal.conversation_id}/recordingmetadata"
               ).json()
    assert meta and meta[0]["fileState"] == "AVAILABLE"

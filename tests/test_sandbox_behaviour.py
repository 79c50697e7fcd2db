"""Sandbox behaviour that mutates state: calibrations, the clock, faults, rate limit, jobs."""

from __future__ import annotations

import hashlib
import threading

import pytest
import requests

from calib.sandbox import Faults


def auth(sb) -> dict:
    r = requests.post(f"{sb.base_url}/oauth/token", auth=(sb.client_id, sb.client_secret),
                      data={"grant_type": "client_credentials"}, timeout=10)
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def candidate(sb, h) -> str:
    body = {"interval": "2026-11-02T00:00:00Z/2026-11-05T00:00:00Z",
            "paging": {"pageSize": 10, "pageNumber": 1}}
    convs = requests.post(f"{sb.base_url}/api/v2/analytics/conversations/details/query",
                          json=body, headers=h, timeout=30).json()["conversations"]
    return convs[0]["conversationId"]


def create_body(sb, conv_id):
    team = sb.truth.teams["demo"]
    return {"name": "test session", "conversation": {"id": conv_id},
            "evaluationForm": {"id": sb.org.forms[1]["id"]},
            "calibrator": {"id": team["calibrator_id"]},
            "expertEvaluator": {"id": team["expert_id"]},
            "evaluators": [{"id": e} for e in team["panel_ids"]]}


def test_posted_calibration_is_pending_until_the_clock_moves(fresh_sandbox):
    sb = fresh_sandbox()
    h = auth(sb)
    conv_id = candidate(sb, h)
    r = requests.post(f"{sb.base_url}/api/v2/quality/calibrations", headers=h, timeout=30,
                      json=create_body(sb, conv_id))
    assert r.status_code == 200, r.text
    cal = r.json()
    panel = sb.truth.teams["demo"]["panel_ids"]
    assert len(cal["evaluations"]) == len(panel) + 1
    assert {e["status"] for e in cal["evaluations"]} == {"PENDING"}
    assert "averageScore" not in cal and "scoringIndex" not in cal
    # the conversation now carries the pending evaluations (analytics casing)
    conv = requests.get(f"{sb.base_url}/api/v2/analytics/conversations/{conv_id}/details",
                        headers=h, timeout=30).json()
    assert {e["evaluationStatus"] for e in conv["evaluations"]} == {"Pending"}

    r = requests.post(f"{sb.base_url}/api/v2/sandbox/clock", json={"advanceDays": 30}, timeout=10)
    assert r.json()["now"].startswith("2026-12-09")
    after = requests.get(f"{sb.base_url}/api/v2/quality/calibrations/{cal['id']}", headers=h,
                         params={"calibratorId": cal["calibrator"]["id"]}, timeout=30).json()
    statuses = [e["status"] for e in after["evaluations"]]
    assert statuses.count("FINISHED") >= len(panel) - 1  # at most one never finishes
    finished = [e["answers"]["totalScore"] for e in after["evaluations"]
                if e["status"] == "FINISHED"]
    assert after["averageScore"] == round(sum(finished) / len(finished))


def test_clock_advance_finishes_only_what_is_due(fresh_sandbox):
    sb = fresh_sandbox()
    before = sb.org.tidy_scores()
    sb.advance_clock(days=3)
    after = sb.org.tidy_scores()
    n_before = (before.status == "FINISHED").sum()
    n_after = (after.status == "FINISHED").sum()
    assert n_after >= n_before
    sb.advance_clock(days=60)
    final = sb.org.tidy_scores()
    assert (final.status == "FINISHED").sum() > n_before
    with pytest.raises(ValueError, match="backwards"):
        sb.advance_clock(to=before.submitted_at.min().to_pydatetime())


def test_delete_requires_calibrator_and_hides_the_calibration(fresh_sandbox):
    sb = fresh_sandbox()
    h = auth(sb)
    cal = next(iter(sb.org.calibrations.values()))
    url = f"{sb.base_url}/api/v2/quality/calibrations/{cal.id}"
    assert requests.delete(url, headers=h, timeout=10).status_code == 400
    assert requests.delete(url, headers=h, params={"calibratorId": cal.calibrator_id},
                           timeout=10).status_code == 200
    assert requests.get(url, headers=h, params={"calibratorId": cal.calibrator_id},
                        timeout=10).status_code == 404


def test_put_only_changes_evaluators_expert_and_index(fresh_sandbox):
    sb = fresh_sandbox()
    h = auth(sb)
    cal = next(iter(sb.org.calibrations.values()))
    extra = sb.truth.teams["north"]["panel_ids"][0]
    body = {"name": "renamed", "evaluators": [{"id": e} for e in cal.evaluator_ids] +
            [{"id": extra}]}
    r = requests.put(f"{sb.base_url}/api/v2/quality/calibrations/{cal.id}", headers=h, json=body,
                     timeout=10)
    assert r.status_code == 200
    assert r.json()["name"] != "renamed"
    assert extra in {e["evaluator"]["id"] for e in r.json()["evaluations"]}


def test_rate_limit_answers_429_with_retry_after(fresh_sandbox):
    sb = fresh_sandbox(rate_limit_per_minute=5)
    h = auth(sb)
    codes = [requests.get(f"{sb.base_url}/api/v2/users", headers=h, timeout=10)
             for _ in range(7)]
    limited = [r for r in codes if r.status_code == 429]
    assert limited, [r.status_code for r in codes]
    r = limited[0]
    assert int(r.headers["Retry-After"]) >= 1
    body = r.json()
    assert body["code"] == "too.many.requests.retry.after"
    assert body["message"].startswith("Rate limit exceeded the maximum. Retry the request in [")
    assert body["details"] == [] and body["errors"] == []


def test_injected_faults_follow_the_rates(fresh_sandbox):
    sb = fresh_sandbox(faults=Faults(rate_503=1.0))
    h = auth(sb)
    assert requests.get(f"{sb.base_url}/api/v2/users", headers=h, timeout=10).status_code == 503
    sb.set_faults(rate_503=0.0, rate_429=1.0, retry_after_s=2)
    r = requests.get(f"{sb.base_url}/api/v2/users", headers=h, timeout=10)
    assert r.status_code == 429 and r.headers["Retry-After"] == "2"
    r = requests.put(f"{sb.base_url}/api/v2/sandbox/faults", json={"rate_429": 0.0}, timeout=10)
    assert r.status_code == 200
    assert requests.get(f"{sb.base_url}/api/v2/users", headers=h, timeout=10).status_code == 200
    bad = requests.put(f"{sb.base_url}/api/v2/sandbox/faults", json={"rate_9": 1}, timeout=10)
    assert bad.status_code == 400 and "rate_9" in bad.json()["message"]


def test_lost_response_still_commits_the_post(fresh_sandbox):
    sb = fresh_sandbox()
    h = auth(sb)
    conv_id = candidate(sb, h)
    sb.set_faults(lose_response_rate=1.0)
    n = len(sb.org.calibrations)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(f"{sb.base_url}/api/v2/quality/calibrations", headers=h, timeout=10,
                      json=create_body(sb, conv_id))
    assert len(sb.org.calibrations) == n + 1
    team = sb.truth.teams["demo"]
    found = requests.get(f"{sb.base_url}/api/v2/quality/calibrations", headers=h, timeout=10,
                         params={"calibratorId": team["calibrator_id"],
                                 "conversationId": conv_id}).json()
    assert found["total"] == 1


def test_expired_token_is_401(fresh_sandbox):
    sb = fresh_sandbox()
    h = auth(sb)
    assert requests.get(f"{sb.base_url}/api/v2/users", headers=h, timeout=10).status_code == 200
    sb.expire_tokens()
    r = requests.get(f"{sb.base_url}/api/v2/users", headers=h, timeout=10)
    assert r.status_code == 401 and r.json()["code"] == "bad.credentials"


def test_async_job_queued_then_fulfilled_and_cursor_paged(sandbox):
    h = auth(sandbox)
    base = f"{sandbox.base_url}/api/v2/analytics/conversations/details/jobs"
    body = {"interval": "2026-10-01T00:00:00Z/2026-10-03T00:00:00Z"}
    job = requests.post(base, json=body, headers=h, timeout=10).json()["jobId"]
    assert requests.get(f"{base}/{job}/results", headers=h, timeout=10).status_code == 400
    states = [requests.get(f"{base}/{job}", headers=h, timeout=30).json()["state"]
              for _ in range(2)]
    assert states == ["QUEUED", "FULFILLED"]
    ids, cursor = [], None
    while True:
        params = {"pageSize": 50, **({"cursor": cursor} if cursor else {})}
        page = requests.get(f"{base}/{job}/results", headers=h, params=params, timeout=30).json()
        ids += [c["conversationId"] for c in page["conversations"]]
        cursor = page.get("cursor")
        if not cursor:
            break
    sync = {"interval": body["interval"], "paging": {"pageSize": 1, "pageNumber": 1}}
    total = requests.post(f"{sandbox.base_url}/api/v2/analytics/conversations/details/query",
                          json=sync, headers=h, timeout=30).json()["totalHits"]
    assert len(ids) == len(set(ids)) == total
    assert requests.delete(f"{base}/{job}", headers=h, timeout=10).status_code == 204


def test_same_seed_same_bytes(fresh_sandbox):
    digests = []
    for _ in range(2):
        sb = fresh_sandbox(seed=11)
        h = auth(sb)
        team = sb.truth.teams["north"]
        r = requests.get(f"{sb.base_url}/api/v2/quality/calibrations", headers=h, timeout=30,
                         params={"calibratorId": team["calibrator_id"], "pageSize": 100})
        q = requests.post(f"{sb.base_url}/api/v2/analytics/conversations/details/query",
                          headers=h, timeout=30,
                          json={"interval": "2026-10-20T00:00:00Z/2026-10-21T00:00:00Z",
                                "paging": {"pageSize": 100, "pageNumber": 1}})
        digests.append(hashlib.sha256(r.content + q.content).hexdigest())
        sb.stop()
    assert digests[0] == digests[1]


def test_threaded_requests_are_served_concurrently(sandbox):
    h = auth(sandbox)
    codes: list[int] = []

    def worker():
        codes.append(requests.get(f"{sandbox.base_url}/api/v2/users", headers=h,
                                  timeout=10).status_code)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200] * 8


def test_calib_client_reads_the_sandbox(sandbox):
    client = sandbox.client()
    try:
        team = sandbox.truth.teams["north"]
        cals = list(client.iter_calibrations(team["calibrator_id"], page_size=7))
        assert len(cals) == 30 and len({c["id"] for c in cals}) == 30
        convs = list(client.iter_conversation_details("2026-10-01T00:00:00Z",
                                                      "2026-10-03T00:00:00Z"))
        assert convs and all(c["conversationStart"] < "2026-10-03" for c in convs)
        assert "secret" not in repr(client).replace("client_secret='***'", "")
    finally:
        client.close()


def test_a_refused_put_changes_nothing(fresh_sandbox):
    sb = fresh_sandbox()
    h = auth(sb)
    cal = next(iter(sb.org.calibrations.values()))
    url = f"{sb.base_url}/api/v2/quality/calibrations/{cal.id}"
    params = {"calibratorId": cal.calibrator_id}
    before = requests.get(url, headers=h, params=params, timeout=10).json()
    extra = sb.truth.teams["north"]["panel_ids"][0]
    body = {"evaluators": [{"id": e} for e in cal.evaluator_ids] + [{"id": extra}],
            "scoringIndex": {"id": "not-an-evaluation-of-it"}}
    r = requests.put(url, headers=h, json=body, timeout=10)
    assert r.status_code == 400 and "scoringIndex" in r.json()["message"]
    after = requests.get(url, headers=h, params=params, timeout=10).json()
    assert after == before, "a refused PUT must not add the evaluator it also asked for"

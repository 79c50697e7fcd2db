"""GenesysClient against the live sandbox (a real Genesys look-alike HTTP server).

Protects: token fetch and renewal, paging across >= 3 pages, 7-day chunking, async jobs, 429
honoured (injected and from the token bucket), 503 retried, a malformed query rejected with the
API's error body, the lost-response fault visible to the caller and reconcilable, the endpoint
shapes the rest of calib relies on, and secrets absent from reprs and logs.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any

import pytest

from calib.genesys import errors
from calib.sandbox import Faults, Sandbox, generate_org
from tests.test_genesys_loopback import FakeClock

SYNC_RANGE = ("2026-09-22T00:00:00Z", "2026-10-01T00:00:00Z")  # 9 days: two sync chunks
DAY = ("2026-10-05T00:00:00Z", "2026-10-06T00:00:00Z")


@pytest.fixture(scope="module")
def module_org() -> Any:
    """One org for this module's own sandboxes (generating it is the slow part of starting one)."""
    return generate_org(7)


@pytest.fixture
def fresh_sandbox(module_org: Any) -> Any:
    """Like tests/fixtures' ``fresh_sandbox``, but serving this module's org: starts in milliseconds.

    Tests here may mutate it (faults, token expiry, a created calibration); the org is this
    module's alone.
    """
    started: list[Sandbox] = []

    def make(*, faults: Faults | None = None, rate_limit_per_minute: float | None = None, **kwargs: Any) -> Sandbox:
        sb = Sandbox(faults=faults, rate_limit_per_minute=rate_limit_per_minute, org=module_org, **kwargs).start()
        started.append(sb)
        return sb

    yield make
    for sb in started:
        sb.stop()


def _calibration(sb: Any) -> Any:
    return min(sb.org.calibrations.values(), key=lambda c: c.id)


def _recording_sleep(calls: list[float]):
    def sleep(seconds: float) -> None:
        calls.append(seconds)
        time.sleep(seconds)

    return sleep


# -- tokens ------------------------------------------------------------------------------------

def test_token_fetch_and_renewal_after_expiry(fresh_sandbox: Any) -> None:
    sb = fresh_sandbox()
    client = sb.client()
    first = client.get_users([_calibration(sb).calibrator_id])
    assert client.token_fetch_count == 1
    sb.expire_tokens()
    assert client.get_users([_calibration(sb).calibrator_id]) == first, "a 401 renews the token once"
    assert client.token_fetch_count == 2


def test_token_is_renewed_ahead_of_its_lifetime(fresh_sandbox: Any) -> None:
    sb = fresh_sandbox(token_ttl_seconds=600)
    clock = FakeClock()
    client = sb.client(clock=clock, sleep=clock.sleep)
    next(client.iter_users())
    clock.now += 541  # 600 s token, renewal margin 60 s
    next(client.iter_users())
    assert client.token_fetch_count == 2


def test_wrong_secret_is_refused_by_the_sandbox(sandbox: Any) -> None:
    from calib.genesys import GenesysClient

    client = GenesysClient(sandbox.client_id, "not-the-secret", base_url=sandbox.base_url)
    with pytest.raises(errors.AuthenticationError, match="client not found or wrong secret"):
        next(client.iter_users())


# -- paging, chunking, async ---------------------------------------------------------------------

def test_users_listing_pages_through_at_least_three_pages(sandbox: Any) -> None:
    client = sandbox.client()
    small = [u["id"] for u in client.iter_users(page_size=10)]
    whole = [u["id"] for u in client.iter_users(page_size=100)]
    assert len(small) > 30, "page size 10 over more than 30 users means at least 3 pages"
    assert small == whole and len(set(small)) == len(small)


def test_details_query_pages_through_at_least_three_pages(sandbox: Any) -> None:
    client = sandbox.client()
    paged = [c["conversationId"] for c in client.iter_conversation_details(*DAY, page_size=25)]
    whole = [c["conversationId"] for c in client.iter_conversation_details(*DAY, page_size=100)]
    assert len(paged) > 50 and paged == whole


def test_a_range_over_7_days_is_chunked_and_matches_the_async_job(sandbox: Any) -> None:
    client = sandbox.client()
    sync = list(client.iter_conversation_details(*SYNC_RANGE))
    ids = [c["conversationId"] for c in sync]
    assert ids and len(set(ids)) == len(ids)
    starts = [c["conversationStart"] for c in sync]
    assert starts == sorted(starts)
    assert min(starts) < "2026-09-29" <= max(starts), "both 7-day chunks contributed"
    async_ids = [c["conversationId"] for c in client.iter_conversation_details_async(
        *SYNC_RANGE, poll_interval=0.01, page_size=100)]
    assert Counter(async_ids) == Counter(ids)


def test_a_malformed_query_is_rejected_with_the_api_error_body(sandbox: Any) -> None:
    client = sandbox.client()
    bad_filter = [{"type": "and", "predicates": [
        {"type": "metric", "metric": "tTalkComplete", "range": {"gte": 180000}}]}]
    with pytest.raises(errors.BadRequestError) as info:
        next(client.iter_conversation_details(*DAY, segment_filters=bad_filter))
    error = info.value
    assert error.status == 400 and error.code and "tTalkComplete" in error.message
    assert error.correlation_id and error.body and error.body["contextId"]
    assert (error.method, error.path) == ("POST", "/api/v2/analytics/conversations/details/query")


def test_conversation_filters_take_talk_time(sandbox: Any) -> None:
    client = sandbox.client()
    talk = [{"type": "and", "predicates": [
        {"type": "metric", "metric": "tTalkComplete", "range": {"gte": 180000}}]}]
    everything = list(client.iter_conversation_details(*DAY))
    long_ones = list(client.iter_conversation_details(*DAY, conversation_filters=talk))
    assert 0 < len(long_ones) < len(everything)


# -- faults ------------------------------------------------------------------------------------

def test_injected_429s_are_honoured_with_their_retry_after(fresh_sandbox: Any) -> None:
    sb = fresh_sandbox(faults=Faults(rate_429=0.4, retry_after_s=2, seed=11))
    clock = FakeClock()
    client = sb.client(sleep=clock.sleep, clock=clock, max_retries=10, max_retry_wait=600)
    got = [u["id"] for u in client.iter_users(page_size=5)]
    sb.set_faults(rate_429=0.0)
    assert got == [u["id"] for u in client.iter_users(page_size=100)]
    assert clock.sleeps and set(clock.sleeps) == {2.0}, "every wait is the server's Retry-After"


def test_the_rate_limit_bucket_is_waited_out_in_real_time(fresh_sandbox: Any) -> None:
    sb = fresh_sandbox(rate_limit_per_minute=30)  # a burst of 30, then one call per 2 s
    sleeps: list[float] = []
    client = sb.client(sleep=_recording_sleep(sleeps))
    user_id = _calibration(sb).calibrator_id
    for _ in range(32):
        assert client.request("GET", f"/api/v2/users/{user_id}")["id"] == user_id
    assert sleeps and all(s >= 1.0 for s in sleeps), "a call past the burst hit the bucket and waited"


def test_injected_503s_are_retried(fresh_sandbox: Any) -> None:
    sb = fresh_sandbox(faults=Faults(rate_503=0.3, seed=5))
    clock = FakeClock()
    client = sb.client(sleep=clock.sleep, clock=clock, max_retries=8, max_retry_wait=3600)
    got = [c["conversationId"] for c in client.iter_conversation_details(*DAY, page_size=20)]
    sb.set_faults(rate_503=0.0)
    assert got == [c["conversationId"] for c in client.iter_conversation_details(*DAY, page_size=100)]
    assert 3.0 in clock.sleeps


def test_a_lost_create_is_visible_and_reconcilable(fresh_sandbox: Any) -> None:
    sb = fresh_sandbox()
    template = _calibration(sb)
    client = sb.client()
    conversation_id = next(client.iter_conversation_details(*DAY))["conversationId"]
    sb.set_faults(lose_response_rate=1.0)  # every POST is committed, its response dropped
    body = {"name": "lost create", "conversation": {"id": conversation_id},
            "calibrator": {"id": template.calibrator_id}, "evaluators": [{"id": template.evaluator_ids[0]}]}
    with pytest.raises(errors.ResponseLostError) as info:
        client.create_calibration(body)
    assert info.value.may_have_committed
    sb.set_faults(lose_response_rate=0.0)
    found = list(client.iter_calibrations(template.calibrator_id, conversation_id=conversation_id))
    assert len(found) == 1 and found[0]["name"] == "lost create", "committed once, not repeated"


def test_secrets_stay_out_of_reprs_and_logs_on_a_faulty_run(
    fresh_sandbox: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sb = fresh_sandbox(faults=Faults(rate_429=0.2, rate_503=0.2, retry_after_s=1, seed=2))
    clock = FakeClock()
    client = sb.client(sleep=clock.sleep, clock=clock, max_retries=10, max_retry_wait=3600)
    list(client.iter_users(page_size=10))
    sb.expire_tokens()
    list(client.iter_published_evaluation_forms())
    tokens = list(sb.server.tokens)
    assert len(tokens) == 2 and caplog.records
    logs = "\n".join(r.getMessage() for r in caplog.records)
    for text in (repr(client), repr(vars(client)), logs):
        for secret in (sb.client_secret, *tokens):
            assert secret not in text


# -- endpoint shapes -------------------------------------------------------------------------

def test_quality_endpoints_return_the_api_shapes(sandbox: Any) -> None:
    client = sandbox.client()
    cal = _calibration(sandbox)
    listed = list(client.iter_calibrations(cal.calibrator_id))
    assert cal.id in {c["id"] for c in listed}
    got = client.get_calibration(cal.id, calibrator_id=cal.calibrator_id)
    assert got["conversation"]["id"] == cal.conversation_id and got["evaluations"]
    evaluations = list(client.iter_evaluations(conversation_id=cal.conversation_id))
    assert {e["id"] for e in evaluations} >= set(cal.evaluation_ids)
    finished = [e for e in evaluations if e["status"] == "FINISHED"]
    assert finished and all(isinstance(e["answers"]["totalScore"], float) for e in finished)
    one = client.get_evaluation(cal.conversation_id, finished[0]["id"], expand=["evaluationForm"])
    assert one["id"] == finished[0]["id"] and one["evaluationForm"]["questionGroups"]
    forms = list(client.iter_evaluation_forms())
    assert forms and all("questionGroups" not in f for f in forms)
    form = client.get_evaluation_form(forms[0]["id"])
    assert form["questionGroups"]
    versions = list(client.iter_evaluation_form_versions(forms[0]["id"]))
    assert len(versions) >= 2 and len({v["contextId"] for v in versions}) == 1
    published = list(client.iter_published_evaluation_forms(only_latest_per_context=True))
    assert client.get_published_evaluation_form(published[0]["id"])["published"] is True


def test_users_conversations_and_recordings(sandbox: Any) -> None:
    client = sandbox.client()
    cal = _calibration(sandbox)
    ids = [cal.calibrator_id, *cal.evaluator_ids, "no-such-user"]
    users = client.get_users(ids)
    assert [u["id"] for u in users] == ids[:-1]
    conversation = client.get_conversation_details(cal.conversation_id)
    assert conversation["conversationId"] == cal.conversation_id and conversation["participants"]
    recordings = client.get_recording_metadata(cal.conversation_id)
    assert recordings and all(r["conversationId"] == cal.conversation_id for r in recordings)

"""Paging, chunking, async jobs and endpoint parameters of GenesysClient, on the loopback server.

The handlers here emulate just enough of each endpoint (interval filtering, paging envelopes,
cursors, job states) for the client's logic to be exercised over real HTTP.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from calib.genesys import errors
from tests.test_genesys_loopback import (  # noqa: F401  (fixtures)
    Answer, FakeClock, LoopbackServer, Seen, clock, loopback, make_client,
)

QUERY = "/api/v2/analytics/conversations/details/query"
JOBS = "/api/v2/analytics/conversations/details/jobs"
CALS = "/api/v2/quality/calibrations"
T0 = datetime(2026, 8, 1, tzinfo=timezone.utc)


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _conversations(days: int, every_hours: int) -> list[dict[str, Any]]:
    return [{"conversationId": f"c-{n:04d}", "conversationStart": _iso(T0 + timedelta(hours=n * every_hours))}
            for n in range(days * 24 // every_hours)]


def details_handler(dataset: list[dict[str, Any]], *, hits_per_conversation: int = 1):
    """POST details/query: conversations starting in [start, end] (both ends, so boundary ones repeat)."""

    def handle(seen: Seen) -> Answer:
        body = seen.json()
        start, end = (_parse(p) for p in body["interval"].split("/"))
        if end - start > timedelta(days=7):
            return Answer(400, {"message": "Interval may not exceed 7 days", "code": "bad.request", "status": 400})
        paging = body["paging"]
        size, number = paging["pageSize"], paging["pageNumber"]
        if size > 100 or number * size > 100_000:
            return Answer(400, {"message": "Pagination may not exceed 100000 results.", "code": "bad.request"})
        rows = [c for c in dataset if start <= _parse(c["conversationStart"]) <= end]
        if body.get("order") == "desc":
            rows.reverse()
        page = rows[(number - 1) * size: number * size]
        answer: dict[str, Any] = {"totalHits": len(rows) * hits_per_conversation}
        if page:
            answer["conversations"] = page  # omitted when empty, as the emulator spec allows
        return Answer(200, answer)

    return handle


def _intervals(server: LoopbackServer) -> list[tuple[datetime, datetime, int]]:
    out = []
    for seen in server.requests_to("POST", QUERY):
        body = seen.json()
        start, end = (_parse(p) for p in body["interval"].split("/"))
        out.append((start, end, body["paging"]["pageNumber"]))
    return out


# -- sync details query ------------------------------------------------------------------------

def test_a_20_day_range_is_queried_in_7_day_chunks_and_paged(loopback: LoopbackServer, clock: FakeClock) -> None:
    dataset = _conversations(days=20, every_hours=2)
    loopback.script("POST", QUERY, details_handler(dataset))
    client = make_client(loopback, clock)
    got = list(client.iter_conversation_details(T0, "2026-08-21", page_size=25))
    assert [c["conversationId"] for c in got] == [c["conversationId"] for c in dataset], \
        "every conversation once, in ascending order, boundary repeats removed"
    firsts = [(s, e) for s, e, page in _intervals(loopback) if page == 1]
    assert firsts == [(T0, T0 + timedelta(days=7)), (T0 + timedelta(days=7), T0 + timedelta(days=14)),
                      (T0 + timedelta(days=14), T0 + timedelta(days=20))]
    assert max(page for _, _, page in _intervals(loopback)) >= 3, "each 7-day chunk spans several pages"


def test_descending_order_walks_the_chunks_newest_first(loopback: LoopbackServer, clock: FakeClock) -> None:
    dataset = _conversations(days=10, every_hours=6)
    loopback.script("POST", QUERY, details_handler(dataset))
    got = list(make_client(loopback, clock).iter_conversation_details(T0, T0 + timedelta(days=10), order="desc"))
    assert [c["conversationId"] for c in got] == [c["conversationId"] for c in reversed(dataset)]


def test_a_chunk_over_the_depth_limit_is_split_until_it_fits(loopback: LoopbackServer, clock: FakeClock) -> None:
    # The server claims 30,000 hits per conversation: a crowded org in miniature.
    dataset = _conversations(days=2, every_hours=3)
    loopback.script("POST", QUERY, details_handler(dataset, hits_per_conversation=30_000))
    got = list(make_client(loopback, clock).iter_conversation_details(T0, T0 + timedelta(days=2)))
    assert [c["conversationId"] for c in got] == [c["conversationId"] for c in dataset]
    spans = [e - s for s, e, _ in _intervals(loopback)]
    assert min(spans) < timedelta(days=1), "the 2-day chunk was halved"
    for seen in loopback.requests_to("POST", QUERY):
        assert seen.json()["paging"]["pageNumber"] * seen.json()["paging"]["pageSize"] <= 100_000


def test_a_conversation_without_an_id_is_an_unexpected_response(loopback: LoopbackServer, clock: FakeClock) -> None:
    loopback.script("POST", QUERY, Answer(200, {"totalHits": 1, "conversations": [{"conversationStart": "x"}]}))
    with pytest.raises(errors.UnexpectedResponseError, match="conversationId"):
        list(make_client(loopback, clock).iter_conversation_details(T0, T0 + timedelta(days=1)))


@pytest.mark.parametrize(("start", "end", "match"), [
    (T0, T0, "not after"),
    (T0, "yesterday", "not a date or an ISO-8601 date-time"),
    (T0, 20260801, "must be a date, a date-time or an ISO-8601 string"),
])
def test_bad_intervals_are_refused_before_any_request(
    loopback: LoopbackServer, clock: FakeClock, start: Any, end: Any, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        make_client(loopback, clock).iter_conversation_details(start, end)
    assert loopback.seen == []


def test_iterators_are_lazy(loopback: LoopbackServer, clock: FakeClock) -> None:
    loopback.script("POST", QUERY, details_handler(_conversations(days=3, every_hours=1)))
    iterator = make_client(loopback, clock).iter_conversation_details(T0, T0 + timedelta(days=3), page_size=10)
    assert loopback.requests_to("POST", QUERY) == []
    next(iterator)
    assert len(loopback.requests_to("POST", QUERY)) == 1


# -- async jobs --------------------------------------------------------------------------------

def _job_routes(server: LoopbackServer, dataset: list[dict[str, Any]], states: list[str]) -> None:
    server.script("POST", JOBS, Answer(202, {"jobId": "job-1"}))
    server.script("GET", f"{JOBS}/job-1", *[Answer(200, {"state": s}) for s in states])
    server.script("DELETE", f"{JOBS}/job-1", Answer(204))

    def results(seen: Seen) -> Answer:
        size = int(seen.query["pageSize"][0])
        offset = int(seen.query.get("cursor", ["0"])[0])
        page = dataset[offset: offset + size]
        body: dict[str, Any] = {"conversations": page, "dataAvailabilityDate": "2026-09-01T00:00:00.000Z"}
        if offset + size < len(dataset):
            body["cursor"] = str(offset + size)
        return Answer(200, body)

    server.script("GET", f"{JOBS}/job-1/results", results)


def test_async_job_is_polled_paged_by_cursor_and_deleted(loopback: LoopbackServer, clock: FakeClock) -> None:
    dataset = _conversations(days=31, every_hours=3)
    _job_routes(loopback, dataset, ["QUEUED", "PENDING", "FULFILLED"])
    client = make_client(loopback, clock)
    got = list(client.iter_conversation_details_async(T0, "2026-09-01", poll_interval=2.0, page_size=100))
    assert [c["conversationId"] for c in got] == [c["conversationId"] for c in dataset]
    submitted = loopback.requests_to("POST", JOBS)[0].json()
    assert submitted["interval"] == "2026-08-01T00:00:00.000Z/2026-09-01T00:00:00.000Z"
    assert clock.sleeps == [2.0, 2.0]
    assert len(loopback.requests_to("GET", f"{JOBS}/job-1/results")) == 3
    assert len(loopback.requests_to("DELETE", f"{JOBS}/job-1")) == 1


@pytest.mark.parametrize("final", ["FAILED", "EXPIRED", "CANCELLED"])
def test_a_failed_job_raises_and_is_deleted(loopback: LoopbackServer, clock: FakeClock, final: str) -> None:
    _job_routes(loopback, [], ["QUEUED", final])
    with pytest.raises(errors.JobError) as info:
        list(make_client(loopback, clock).iter_conversation_details_async(T0, T0 + timedelta(days=1)))
    assert (info.value.job_id, info.value.state) == ("job-1", final)
    assert len(loopback.requests_to("DELETE", f"{JOBS}/job-1")) == 1


def test_a_job_that_never_finishes_times_out(loopback: LoopbackServer, clock: FakeClock) -> None:
    _job_routes(loopback, [], ["QUEUED"])
    with pytest.raises(errors.JobError, match="still QUEUED"):
        list(make_client(loopback, clock).iter_conversation_details_async(
            T0, T0 + timedelta(days=1), poll_interval=5.0, timeout=30.0))
    assert sum(clock.sleeps) == pytest.approx(30.0)
    assert len(loopback.requests_to("DELETE", f"{JOBS}/job-1")) == 1


def test_an_unknown_job_state_is_unexpected(loopback: LoopbackServer, clock: FakeClock) -> None:
    _job_routes(loopback, [], ["DONE"])
    with pytest.raises(errors.UnexpectedResponseError, match="DONE"):
        make_client(loopback, clock).get_conversation_details_job("job-1")


# -- entity listings ---------------------------------------------------------------------------

def listing_handler(items: list[dict[str, Any]], *, next_uri: bool = True):
    def handle(seen: Seen) -> Answer:
        size = int(seen.query.get("pageSize", ["25"])[0])
        number = int(seen.query.get("pageNumber", ["1"])[0])
        page = items[(number - 1) * size: number * size]
        count = -(-len(items) // size)
        body: dict[str, Any] = {"entities": page, "pageSize": size, "pageNumber": number, "total": len(items),
                                "pageCount": count}
        if next_uri and number < count:
            # Like some real listings, the nextUri keeps paging and the calibrator but drops expand.
            body["nextUri"] = (f"{seen.path}?calibratorId={seen.query['calibratorId'][0]}"
                               f"&pageSize={size}&pageNumber={number + 1}")
        return Answer(200, body)

    return handle


def test_listing_follows_next_uri_across_three_pages(loopback: LoopbackServer, clock: FakeClock) -> None:
    items = [{"id": f"cal-{n}"} for n in range(7)]
    loopback.script("GET", CALS, listing_handler(items))
    got = list(make_client(loopback, clock).iter_calibrations("u-cal", expand=["calibrator", "agent"], page_size=3))
    assert [c["id"] for c in got] == [c["id"] for c in items]
    calls = loopback.requests_to("GET", CALS)
    assert [c.query["pageNumber"] for c in calls] == [["1"], ["2"], ["3"]]
    assert all(c.query["expand"] == ["calibrator,agent"] for c in calls), "parameters a nextUri drops are kept"


def test_listing_without_next_uri_falls_back_to_page_count(loopback: LoopbackServer, clock: FakeClock) -> None:
    items = [{"id": f"cal-{n}"} for n in range(5)]
    loopback.script("GET", CALS, listing_handler(items, next_uri=False))
    got = list(make_client(loopback, clock).iter_calibrations("u-cal", page_size=2))
    assert len(got) == 5 and len(loopback.requests_to("GET", CALS)) == 3


def test_a_next_uri_pointing_back_is_refused_not_looped(loopback: LoopbackServer, clock: FakeClock) -> None:
    loopback.script("GET", CALS, Answer(200, {"entities": [{"id": "a"}],
                                              "nextUri": f"{CALS}?calibratorId=u-cal&pageSize=100&pageNumber=1"}))
    with pytest.raises(errors.UnexpectedResponseError, match="already read"):
        list(make_client(loopback, clock).iter_calibrations("u-cal"))


def test_get_users_batches_100_ids_and_reports_the_missing(
    loopback: LoopbackServer, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    ids = [f"u-{n:03d}" for n in range(250)]
    gone = {"u-007", "u-200"}

    def users(seen: Seen) -> Answer:
        wanted = seen.query["id"][0].split(",")
        return Answer(200, {"entities": [{"id": i, "name": i.upper()} for i in reversed(wanted) if i not in gone],
                            "pageSize": 100, "pageNumber": 1, "pageCount": 1})

    loopback.script("GET", "/api/v2/users", users)
    caplog.set_level(logging.WARNING, logger="calib.genesys")
    got = make_client(loopback, clock).get_users(ids + ids[:10])
    assert [u["id"] for u in got] == [i for i in ids if i not in gone], "input order, duplicates once"
    assert [len(c.query["id"][0].split(",")) for c in loopback.requests_to("GET", "/api/v2/users")] == [100, 100, 50]
    assert any("2 of 250" in r.getMessage() for r in caplog.records)


def test_evaluations_query_sends_the_api_parameters(loopback: LoopbackServer, clock: FakeClock) -> None:
    path = "/api/v2/quality/evaluations/query"
    loopback.script("GET", path, Answer(200, {"entities": [{"id": "ev-1", "answers": {"totalScore": 80.0}}]}))
    got = list(make_client(loopback, clock).iter_evaluations(
        evaluator_user_id="u-ev", evaluation_state=["FINISHED", "INPROGRESS"],
        start_time=datetime(2026, 8, 1, 2, tzinfo=timezone(timedelta(hours=2))), isReleased=True))
    assert got[0]["answers"]["totalScore"] == 80.0
    query = loopback.requests_to("GET", path)[0].query
    assert query["expandAnswerTotalScores"] == ["true"] and query["evaluationState"] == ["FINISHED,INPROGRESS"]
    assert query["startTime"] == ["2026-08-01T00:00:00.000Z"] and query["isReleased"] == ["true"]
    assert query["evaluatorUserId"] == ["u-ev"] and "conversationId" not in query


def test_calls_missing_a_required_identifier_are_refused(loopback: LoopbackServer, clock: FakeClock) -> None:
    client = make_client(loopback, clock)
    with pytest.raises(ValueError, match="evaluator_user_id"):
        client.iter_evaluations(start_time=T0)
    with pytest.raises(ValueError, match="calibrator_id"):
        client.get_calibration("cal-1")
    with pytest.raises(ValueError, match="conversation"):
        client.create_calibration({"evaluators": [{"id": "u-1"}]})
    assert loopback.seen == []


def test_ids_are_quoted_into_the_path(loopback: LoopbackServer, clock: FakeClock) -> None:
    loopback.script("GET", "/api/v2/quality/forms/evaluations/a%2F..%2Fb", Answer(200, {"id": "a/../b"}))
    assert make_client(loopback, clock).get_evaluation_form("a/../b")["id"] == "a/../b"

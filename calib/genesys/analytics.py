"""Conversation-details endpoints: the sync query (chunked), async jobs, one conversation, recordings.

Limits followed (``genesys-api.md`` §6.4): a sync query covers at most 7 days, pages of at most
100, and may not page past 100,000 results. The sync iterator therefore cuts the range into 7-day
chunks and halves a chunk whose ``totalHits`` exceeds the depth limit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any, Literal

from calib.genesys import errors
from calib.genesys._util import (
    check_page_size, expect_dict, expect_list, iso, parse_instant, segment, split_interval,
)
from calib.genesys.paging import iter_body_pages, iter_cursor_pages

log = logging.getLogger("calib.genesys")

DETAILS_QUERY = "/api/v2/analytics/conversations/details/query"
DETAILS_JOBS = "/api/v2/analytics/conversations/details/jobs"
MAX_SYNC_SPAN = timedelta(days=7)
MAX_SYNC_DEPTH = 100_000
MAX_SYNC_PAGE_SIZE = 100
MIN_SPLIT_SPAN = timedelta(minutes=1)
JOB_STATES = frozenset({"QUEUED", "PENDING", "FAILED", "CANCELLED", "FULFILLED", "EXPIRED"})
_JOB_FAILED_STATES = frozenset({"FAILED", "CANCELLED", "EXPIRED"})

Instant = datetime | date | str
Filters = Sequence[Mapping[str, Any]] | None


def _query_body(
    start: datetime, end: datetime, *, segment_filters: Filters, conversation_filters: Filters,
    evaluation_filters: Filters, order: str,
) -> dict[str, Any]:
    if order not in ("asc", "desc", "unordered"):
        raise ValueError(f"order must be 'asc', 'desc' or 'unordered'; got {order!r}.")
    body: dict[str, Any] = {"interval": f"{iso(start)}/{iso(end)}", "order": order, "orderBy": "conversationStart"}
    for key, value in (("segmentFilters", segment_filters), ("conversationFilters", conversation_filters),
                       ("evaluationFilters", evaluation_filters)):
        if value:
            if isinstance(value, Mapping) or not all(isinstance(f, Mapping) for f in value):
                raise ValueError(
                    f"{key} must be a list of filter objects like "
                    "{'type': 'and', 'predicates': [...]}; got " + type(value).__name__ + "."
                )
            body[key] = [dict(f) for f in value]
    return body


def _conversation(item: Any, endpoint: str) -> dict[str, Any]:
    return expect_dict(item, endpoint, required=("conversationId",))


class AnalyticsMixin:
    """Analytics conversation-details endpoints of :class:`calib.genesys.GenesysClient`."""

    request: Any
    _sleep: Any
    _clock: Any

    def iter_conversation_details(
        self,
        start: Instant,
        end: Instant,
        *,
        segment_filters: Filters = None,
        conversation_filters: Filters = None,
        evaluation_filters: Filters = None,
        order: Literal["asc", "desc", "unordered"] = "asc",
        page_size: int = 100,
    ) -> Iterator[dict[str, Any]]:
        """Iterate over the conversations of ``[start, end)`` with the sync details query.

        The range is queried in chunks of at most 7 days (newest chunk first for ``order="desc"``);
        a chunk whose ``totalHits`` exceeds 100,000 is halved until it fits. A conversation that two
        chunks both return is yielded once.

        Parameters
        ----------
        start, end : datetime, date or str
            Aware datetimes, dates (midnight UTC) or ISO-8601 strings.
        segment_filters, conversation_filters, evaluation_filters : list of dict, optional
            Genesys filter objects, passed as given (segment metrics accept only ``tSegmentDuration``;
            the API answers 400 otherwise, raised as :class:`~calib.genesys.errors.BadRequestError`).
        order : {"asc", "desc", "unordered"}
            By ``conversationStart``.
        page_size : int
            1 to 100.

        Yields
        ------
        dict
            Conversations with the API's field names (``conversationId``, ``participants``, …).
        """
        start_at = parse_instant(start, "start")
        end_at = parse_instant(end, "end")
        check_page_size(page_size, MAX_SYNC_PAGE_SIZE)
        template = _query_body(start_at, end_at, segment_filters=segment_filters,
                               conversation_filters=conversation_filters,
                               evaluation_filters=evaluation_filters, order=order)
        chunks = split_interval(start_at, end_at, MAX_SYNC_SPAN)
        if order == "desc":
            chunks.reverse()
        return self._iter_chunks(chunks, template, page_size)

    def _iter_chunks(
        self, chunks: list[tuple[datetime, datetime]], template: dict[str, Any], page_size: int
    ) -> Iterator[dict[str, Any]]:
        seen: set[str] = set()
        for chunk_start, chunk_end in chunks:
            for item in self._iter_chunk(chunk_start, chunk_end, template, page_size):
                conversation_id = item["conversationId"]
                if conversation_id in seen:
                    continue
                seen.add(conversation_id)
                yield item

    def _iter_chunk(
        self, start: datetime, end: datetime, template: dict[str, Any], page_size: int
    ) -> Iterator[dict[str, Any]]:
        body = {**template, "interval": f"{iso(start)}/{iso(end)}"}
        endpoint = f"POST {DETAILS_QUERY}"
        pages = iter_body_pages(self.request, DETAILS_QUERY, body, "conversations",
                                page_size=page_size, max_results=MAX_SYNC_DEPTH)
        first = True
        for total_hits, item in pages:
            if first and total_hits > MAX_SYNC_DEPTH:
                pages.close()
                if end - start <= MIN_SPLIT_SPAN:
                    raise errors.GenesysError(
                        f"{total_hits} conversations in {iso(start)}/{iso(end)} exceed the sync query's "
                        f"{MAX_SYNC_DEPTH}-result depth even in a one-minute interval; use "
                        "iter_conversation_details_async instead.", method="POST", path=DETAILS_QUERY,
                    )
                middle = start + (end - start) / 2
                log.info("%s: %d hits in %s/%s exceed %d; splitting the interval", endpoint,
                         total_hits, iso(start), iso(end), MAX_SYNC_DEPTH)
                halves = [(start, middle), (middle, end)]
                if template.get("order") == "desc":
                    halves.reverse()
                for half_start, half_end in halves:
                    yield from self._iter_chunk(half_start, half_end, template, page_size)
                return
            first = False
            yield _conversation(item, endpoint)

    def submit_conversation_details_job(self, body: Mapping[str, Any]) -> str:
        """Submit an async conversation-details job and return its ``jobId``.

        Parameters
        ----------
        body : Mapping
            An ``AsyncConversationQuery``: ``interval`` (required), filters, ``order``, ``limit``.

        Returns
        -------
        str
            The job id.

        Notes
        -----
        Sent as idempotent: a repeated submission only leaves an unread job that expires.
        """
        if not isinstance(body, Mapping) or not body.get("interval"):
            raise ValueError("The job body needs an 'interval' such as '2026-08-01T00:00:00Z/2026-09-01T00:00:00Z'.")
        response = self.request("POST", DETAILS_JOBS, json=dict(body), idempotent=True)
        return str(expect_dict(response, f"POST {DETAILS_JOBS}", required=("jobId",))["jobId"])

    def get_conversation_details_job(self, job_id: str) -> dict[str, Any]:
        """Return the job status (``state`` one of QUEUED, PENDING, FULFILLED, FAILED, CANCELLED, EXPIRED)."""
        path = f"{DETAILS_JOBS}/{segment(job_id, 'job_id')}"
        status = expect_dict(self.request("GET", path), f"GET {DETAILS_JOBS}/{{jobId}}", required=("state",))
        if status["state"] not in JOB_STATES:
            raise errors.UnexpectedResponseError(
                f"GET {DETAILS_JOBS}/{{jobId}} returned the unknown state {status['state']!r}.",
                endpoint=f"GET {DETAILS_JOBS}/{{jobId}}", field="state",
            )
        return status

    def iter_conversation_details_job_results(self, job_id: str, *, page_size: int = 1000) -> Iterator[dict[str, Any]]:
        """Iterate over a fulfilled job's conversations, following the ``cursor``."""
        check_page_size(page_size, 10_000)
        path = f"{DETAILS_JOBS}/{segment(job_id, 'job_id')}/results"
        endpoint = f"GET {DETAILS_JOBS}/{{jobId}}/results"
        items = iter_cursor_pages(self.request, path, {"pageSize": page_size}, "conversations")
        return (_conversation(item, endpoint) for item in items)

    def delete_conversation_details_job(self, job_id: str) -> None:
        """Delete a job (its results are no longer needed)."""
        self.request("DELETE", f"{DETAILS_JOBS}/{segment(job_id, 'job_id')}")

    def iter_conversation_details_async(
        self,
        start: Instant,
        end: Instant,
        *,
        segment_filters: Filters = None,
        conversation_filters: Filters = None,
        evaluation_filters: Filters = None,
        order: Literal["asc", "desc", "unordered"] = "asc",
        poll_interval: float = 1.0,
        timeout: float = 600.0,
        page_size: int = 1000,
    ) -> Iterator[dict[str, Any]]:
        """Run an async details job over ``[start, end)`` and iterate over its conversations.

        The job is submitted when iteration starts, polled every ``poll_interval`` seconds, read by
        cursor, and deleted afterwards (also when the caller stops early).

        Parameters
        ----------
        start, end, segment_filters, conversation_filters, evaluation_filters, order
            As :meth:`iter_conversation_details` (async jobs match conversations with activity in
            the interval and have no 7-day limit).
        poll_interval : float
            Seconds between status polls.
        timeout : float
            Seconds to wait for FULFILLED before deleting the job and raising.
        page_size : int
            Result page size.

        Raises
        ------
        calib.genesys.errors.JobError
            When the job fails, is cancelled or expires, or the timeout passes.
        """
        start_at = parse_instant(start, "start")
        end_at = parse_instant(end, "end")
        if end_at <= start_at:
            raise ValueError(f"The interval end {iso(end_at)} is not after its start {iso(start_at)}; swap or widen them.")
        if poll_interval <= 0 or timeout <= 0:
            raise ValueError("poll_interval and timeout must be positive numbers of seconds.")
        check_page_size(page_size, 10_000)
        body = _query_body(start_at, end_at, segment_filters=segment_filters,
                           conversation_filters=conversation_filters,
                           evaluation_filters=evaluation_filters, order=order)
        return self._run_job(body, poll_interval, timeout, page_size)

    def _run_job(self, body: dict[str, Any], poll_interval: float, timeout: float, page_size: int) -> Iterator[dict[str, Any]]:
        job_id = self.submit_conversation_details_job(body)
        try:
            deadline = self._clock() + timeout
            while True:
                state = self.get_conversation_details_job(job_id)["state"]
                if state == "FULFILLED":
                    break
                if state in _JOB_FAILED_STATES:
                    raise errors.JobError(
                        f"the conversation-details job {job_id} ended {state}; submit it again or use "
                        "iter_conversation_details for ranges the sync query can serve.",
                        job_id=job_id, state=state, path=DETAILS_JOBS,
                    )
                if self._clock() >= deadline:
                    raise errors.JobError(
                        f"the conversation-details job {job_id} was still {state} after {timeout:.0f} s; "
                        "raise timeout= or query a shorter interval.", job_id=job_id, state=state, path=DETAILS_JOBS,
                    )
                self._sleep(poll_interval)
            yield from self.iter_conversation_details_job_results(job_id, page_size=page_size)
        finally:
            try:
                self.delete_conversation_details_job(job_id)
            except errors.GenesysError as exc:
                log.warning("could not delete conversation-details job %s: %s", job_id, exc)

    def get_conversation_details(self, conversation_id: str) -> dict[str, Any]:
        """Return one conversation's analytics details (``GET /analytics/conversations/{id}/details``)."""
        path = f"/api/v2/analytics/conversations/{segment(conversation_id, 'conversation_id')}/details"
        return _conversation(self.request("GET", path), "GET /api/v2/analytics/conversations/{id}/details")

    def get_recording_metadata(self, conversation_id: str) -> list[dict[str, Any]]:
        """Return the conversation's recording metadata (no media); an empty list means no recording."""
        path = f"/api/v2/conversations/{segment(conversation_id, 'conversation_id')}/recordingmetadata"
        endpoint = "GET /api/v2/conversations/{id}/recordingmetadata"
        body = self.request("GET", path)
        return [expect_dict(item, endpoint, required=("id",)) for item in expect_list(body or [], endpoint)]

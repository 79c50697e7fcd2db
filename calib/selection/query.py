"""The conversation-details queries of a selection, and whether a call can be played back.

Pure builders (:func:`chunk_interval`, :func:`segment_filters`, :func:`conversation_filters`,
:func:`details_query`) and :func:`stream`, which feeds the API's pages to the reducer in ≤ 7-day
sync chunks or one async job.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from calib.genesys._util import iso, split_interval
from calib.selection.reducer import CandidateReducer, Rules, media_set

__all__ = ["chunk_interval", "segment_filters", "conversation_filters", "details_query",
           "recording_available", "stream", "collect_ids", "MAX_SYNC_DAYS", "ASYNC_AFTER_DAYS",
           "PLAYABLE_FILE_STATES"]

MAX_SYNC_DAYS = 7
ASYNC_AFTER_DAYS = 31
PLAYABLE_FILE_STATES = frozenset({"AVAILABLE", "ARCHIVED", "RESTORED"})


def chunk_interval(start: datetime, end: datetime, *, max_days: int = MAX_SYNC_DAYS
                   ) -> list[tuple[datetime, datetime]]:
    """Split [start, end) into consecutive pieces of at most ``max_days`` days.

    Raises
    ------
    ValueError
        When ``end`` is not after ``start`` or ``max_days`` is not positive.
    """
    if max_days <= 0:
        raise ValueError("max_days must be a positive number of days.")
    return split_interval(start, end, timedelta(days=max_days))


def segment_filters(rules: Rules) -> list[dict[str, Any]]:
    """Segment-dimension filters for the details query: media type and the audio-recording flag.

    The recording flag says an *audio* recording was started, so it is sent only when voice is
    the one medium; with several media an ``or`` clause names them and the reducer checks the
    flag on voice calls. Queue and wrap-up rules are substring patterns, so they are checked on
    the records instead.
    """
    media = sorted(media_set(rules.media_type) or ())
    predicates: list[dict[str, Any]] = []
    clauses: list[dict[str, Any]] = []
    if len(media) == 1:
        predicates.append({"type": "dimension", "dimension": "mediaType", "operator": "matches",
                           "value": media[0]})
    elif media:
        clauses.append({"type": "or", "predicates": [
            {"type": "dimension", "dimension": "mediaType", "operator": "matches", "value": m}
            for m in media]})
    if media == ["voice"]:
        predicates.append({"type": "dimension", "dimension": "recording", "operator": "matches",
                           "value": "true"})
    out: dict[str, Any] = {"type": "and", "predicates": predicates}
    if clauses:
        out["clauses"] = clauses
    return [out]


def conversation_filters(rules: Rules) -> list[dict[str, Any]]:
    """Conversation-metric filters: completed talk time, hold time and transfers, in milliseconds.

    Talk time is a conversation metric (``tTalkComplete``); the segment filters accept no metric but
    ``tSegmentDuration``, so it must never go there.
    """
    talk: dict[str, int] = {"gte": int(rules.min_talk_ms)}
    if rules.max_talk_ms is not None:
        talk["lte"] = int(rules.max_talk_ms)
    predicates: list[dict[str, Any]] = []
    if rules.min_talk_ms or rules.max_talk_ms is not None:
        # (a profile without talk bounds, such as an email one, sends none)
        predicates.append({"type": "metric", "metric": "tTalkComplete", "range": talk})
    if rules.min_hold_ms:
        predicates.append({"type": "metric", "metric": "tHeldComplete",
                           "range": {"gte": int(rules.min_hold_ms)}})
    if rules.transferred is True:
        predicates.append({"type": "metric", "metric": "nTransferred", "range": {"gte": 1}})
    return [{"type": "and", "predicates": predicates}] if predicates else []


def details_query(start: datetime, end: datetime, rules: Rules, *, page_size: int = 100,
                  page_number: int = 1) -> dict[str, Any]:
    """The ``ConversationQuery`` body for one chunk (≤ 7 days, page size ≤ 100).

    Raises
    ------
    ValueError
        When the interval is longer than 7 days or the page size is outside 1–100.
    """
    if end - start > timedelta(days=MAX_SYNC_DAYS):
        raise ValueError("A synchronous details query may span at most 7 days; split the range "
                         "with chunk_interval().")
    if not 1 <= page_size <= 100:
        raise ValueError(f"page_size {page_size} is outside 1–100; the details query caps pages at 100.")
    return {"interval": f"{iso(start)}/{iso(end)}", "order": "asc", "orderBy": "conversationStart",
            "paging": {"pageSize": int(page_size), "pageNumber": int(page_number)},
            "segmentFilters": segment_filters(rules),
            "conversationFilters": conversation_filters(rules)}


def recording_available(metadata: Iterable[Mapping[str, Any]] | None,
                        media_type: str | None = "voice") -> bool:
    """True when recording metadata lists what the panel scores, playable or restorable.

    For voice an audio recording; for a chat, email or message its transcript or thread, which
    Genesys Cloud keeps as a recording of ``media`` chat, email or message
    (``RecordingMetadata.media``); ``media_type=None`` accepts any of them.
    """
    wanted = None if media_type is None else ("audio" if media_type == "voice" else media_type)
    for item in metadata or ():
        state = str(item.get("fileState") or "").upper()
        media = str(item.get("media") or "audio").lower()
        if state in PLAYABLE_FILE_STATES and (wanted is None or media == wanted):
            return True
    return False


def collect_ids(items: Iterable[Mapping[str, Any]]) -> set[str]:
    out = set()
    for item in items:
        conv = item.get("conversation") or {}
        cid = conv.get("id") if isinstance(conv, Mapping) else None
        if cid:
            out.add(str(cid))
    return out


def stream(client: Any, reducer: CandidateReducer, start: datetime, end: datetime, rules: Rules,
            use_async: bool | None, page_size: int) -> tuple[int, bool]:
    """Feed every conversation of [start, end) to the reducer; returns (chunks, used_async)."""
    segs, convs = segment_filters(rules), conversation_filters(rules)
    if use_async is None:
        # The sync iterator already halves a chunk past the 100 000-result depth, so sync always
        # works; past a month one async job replaces many chunked queries.
        use_async = end - start > timedelta(days=ASYNC_AFTER_DAYS)
    if use_async:
        reducer.set_window(iso(start), iso(end))
        reducer.add_all(client.iter_conversation_details_async(
            iso(start), iso(end), segment_filters=segs, conversation_filters=convs))
        return 1, True
    chunks = chunk_interval(start, end)
    for lo, hi in chunks:
        reducer.set_window(iso(lo), iso(hi))
        reducer.add_all(client.iter_conversation_details(
            iso(lo), iso(hi), segment_filters=segs, conversation_filters=convs,
            page_size=page_size))
    return len(chunks), False

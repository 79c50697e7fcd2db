"""Small helpers shared by the endpoint modules: parameter encoding, instants, body checks."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from calib.genesys import errors

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def segment(value: str, name: str) -> str:
    """Quote one path segment (an id), refusing empty or non-string values."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string id; got {value!r}.")
    return quote(value, safe="")


def parse_instant(value: datetime | date | str, name: str) -> datetime:
    """Return an aware UTC datetime from an aware datetime, a date, or an ISO-8601 string.

    A date or ``YYYY-MM-DD`` string means midnight UTC. A naive datetime (or an ISO string without
    an offset and with a time) is refused, because guessing its zone would shift the interval.
    """
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"{name}={value!r} has no time zone; pass an aware datetime such as "
                "datetime(2026, 8, 1, tzinfo=timezone.utc) or an ISO string ending in 'Z'."
            )
        return value.astimezone(timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if isinstance(value, str):
        text = value.strip()
        if _DATE_ONLY.match(text):
            return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"{name}={value!r} is not an ISO-8601 date-time; use e.g. '2026-08-01T00:00:00Z'."
            ) from None
        return parse_instant(parsed, name)
    raise ValueError(f"{name} must be a datetime, a date or an ISO-8601 string; got {type(value).__name__}.")


def iso(value: datetime) -> str:
    """Format an aware datetime the way Genesys does: ``2026-08-01T00:00:00.000Z``."""
    utc = value.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def encode_params(params: Mapping[str, Any] | None) -> dict[str, str]:
    """Encode query parameters as the SDKs do: drop None, booleans lower-case, lists comma-joined."""
    encoded: dict[str, str] = {}
    for key, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, bool):
            encoded[key] = "true" if value else "false"
        elif isinstance(value, datetime | date):
            encoded[key] = iso(parse_instant(value, key))
        elif isinstance(value, list | tuple | set | frozenset):
            items = sorted(value) if isinstance(value, set | frozenset) else value
            encoded[key] = ",".join(str(v) for v in items)
        else:
            encoded[key] = str(value)
    return encoded


def check_page_size(page_size: int, maximum: int) -> int:
    """Refuse a page size outside 1..maximum."""
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= maximum:
        raise ValueError(f"page_size must be an integer from 1 to {maximum}; got {page_size!r}.")
    return page_size


def expect_dict(body: Any, endpoint: str, required: Iterable[str] = ()) -> dict[str, Any]:
    """Return ``body`` if it is a JSON object holding every ``required`` key, else raise."""
    if not isinstance(body, dict):
        raise errors.UnexpectedResponseError(
            f"{endpoint} returned {type(body).__name__} where a JSON object was expected.",
            endpoint=endpoint,
        )
    for key in required:
        if body.get(key) is None:
            raise errors.UnexpectedResponseError(
                f"{endpoint} returned an object without the '{key}' field the client relies on.",
                endpoint=endpoint, field=key,
            )
    return body


def expect_list(body: Any, endpoint: str, field: str | None = None) -> list[Any]:
    """Return ``body`` (or ``body[field]``) if it is a JSON array, else raise; a missing field is []."""
    value = body
    if field is not None:
        value = expect_dict(body, endpoint).get(field, [])
        if value is None:
            value = []
    if not isinstance(value, list):
        where = f"'{field}'" if field else "the body"
        raise errors.UnexpectedResponseError(
            f"{endpoint} returned {type(value).__name__} for {where} where a JSON array was expected.",
            endpoint=endpoint, field=field,
        )
    return value


def split_interval(start: datetime, end: datetime, max_span: timedelta) -> list[tuple[datetime, datetime]]:
    """Cut ``[start, end)`` into consecutive pieces no longer than ``max_span``."""
    if end <= start:
        raise ValueError(f"The interval end {iso(end)} is not after its start {iso(start)}; swap or widen them.")
    pieces = []
    cursor = start
    while cursor < end:
        nxt = min(cursor + max_span, end)
        pieces.append((cursor, nxt))
        cursor = nxt
    return pieces

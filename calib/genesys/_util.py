"""Small helpers shared by the endpoint modules: parameter encoding, instants, body checks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from calib.genesys import errors
from calib.values import parse_instant as _parse_instant



def segment(value: str, name: str) -> str:
    """Quote one path segment (an id), refusing empty or non-string values."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string id; got {value!r}.")
    return quote(value, safe="")


def parse_instant(value: datetime | date | str, name: str) -> datetime:
    """An aware UTC datetime by calib's one rule for instants (:func:`calib.values.parse_instant`:
    a date is its midnight, a value without an offset is UTC, as in the API itself)."""
    return _parse_instant(value, what=name)


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

"""Properties of the client's helpers: interval chunks, instant parsing, parameter encoding, errors."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calib.genesys import errors
from calib.genesys._util import encode_params, iso, parse_instant, split_interval

instants = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1),
                        timezones=st.just(timezone.utc))


@settings(max_examples=100, deadline=None)
@given(start=instants, span=st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=400)),
       days=st.integers(min_value=1, max_value=7))
def test_chunks_tile_the_interval_without_gaps_or_overlong_pieces(start: datetime, span: timedelta, days: int) -> None:
    pieces = split_interval(start, start + span, timedelta(days=days))
    assert pieces[0][0] == start and pieces[-1][1] == start + span
    assert all(a[1] == b[0] for a, b in zip(pieces, pieces[1:])), "consecutive, no gap, no overlap"
    assert all(timedelta(0) < e - s <= timedelta(days=days) for s, e in pieces)


@settings(max_examples=100, deadline=None)
@given(value=instants)
def test_iso_round_trips_to_the_millisecond(value: datetime) -> None:
    text = iso(value)
    assert text.endswith("Z") and len(text) == len("2026-08-01T00:00:00.000Z")
    assert parse_instant(text, "t") == value.replace(microsecond=value.microsecond // 1000 * 1000)


def test_instants_accept_dates_offsets_and_z() -> None:
    midnight = datetime(2026, 8, 1, tzinfo=timezone.utc)
    assert parse_instant(date(2026, 8, 1), "d") == midnight
    assert parse_instant("2026-08-01", "d") == midnight
    assert parse_instant("2026-08-01T02:00:00+02:00", "d") == midnight
    assert parse_instant("2026-08-01T00:00:00.000Z", "d") == midnight


def test_a_time_without_offset_is_utc_as_everywhere_in_calib() -> None:
    """Issue 11: two instant parsers disagreed on naive times (this one refused them, the
    store's took them as UTC); calib.values holds the one rule: UTC."""
    assert parse_instant("2026-08-01T00:00:00", "start_time") == \
        datetime(2026, 8, 1, tzinfo=timezone.utc)
    with pytest.raises(ValueError, match="The start_time 'soon' is not a date"):
        parse_instant("soon", "start_time")


def test_params_are_encoded_like_the_sdks() -> None:
    encoded = encode_params({"a": None, "b": True, "c": False, "d": ["x", "y"], "e": 5,
                             "f": datetime(2026, 8, 1, tzinfo=timezone.utc)})
    assert encoded == {"b": "true", "c": "false", "d": "x,y", "e": "5", "f": "2026-08-01T00:00:00.000Z"}


def test_oauth_error_bodies_give_their_description() -> None:
    error = errors.error_for_status(401, body={"error": "invalid_client", "error_description": "wrong secret"},
                                    text="", headers={}, method="POST", path="/oauth/token")
    assert isinstance(error, errors.AuthenticationError)
    assert (error.code, error.message) == ("invalid_client", "wrong secret")


def test_a_long_html_error_page_is_shortened() -> None:
    error = errors.error_for_status(502, body=None, text="<html>" + "x" * 5000, headers={},
                                    method="GET", path="/api/v2/users")
    assert isinstance(error, errors.ServerError) and len(error.message) <= 500

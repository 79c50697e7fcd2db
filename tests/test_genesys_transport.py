"""Transport behaviour of GenesysClient against a real loopback HTTP server.

Protects: token fetch/cache/renewal, 401 renewal, 429/5xx retry policy and its bounds, the
lost-response fault, connection failures, timeouts, the error hierarchy, and secret masking.
"""

from __future__ import annotations

import base64
import logging
import socket

import pytest

from calib.genesys import GenesysClient, errors
from tests.test_genesys_loopback import (  # noqa: F401  (fixtures)
    CLIENT_ID, CLIENT_SECRET, Answer, FakeClock, LoopbackServer, clock, error_body, loopback, make_client,
)

USERS = "/api/v2/users/u-1"
CALS = "/api/v2/quality/calibrations"


# -- tokens ------------------------------------------------------------------------------------

def test_token_is_fetched_once_with_basic_auth_and_reused(loopback: LoopbackServer, clock: FakeClock) -> None:
    loopback.script("GET", USERS, Answer(200, {"id": "u-1"}))
    client = make_client(loopback, clock)
    for _ in range(3):
        assert client.request("GET", USERS) == {"id": "u-1"}
    token_calls = loopback.requests_to("POST", "/oauth/token")
    assert len(token_calls) == 1, "the token must be cached between calls"
    expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert token_calls[0].headers["authorization"] == f"Basic {expected}"
    assert token_calls[0].body == b"grant_type=client_credentials"
    assert token_calls[0].headers["content-type"] == "application/x-www-form-urlencoded"
    api_calls = loopback.requests_to("GET", USERS)
    assert {c.headers["authorization"] for c in api_calls} == {"Bearer tok-1-AbCdEf"}


def test_token_is_renewed_before_it_expires(loopback: LoopbackServer, clock: FakeClock) -> None:
    loopback.token_lifetime = 100  # renewal margin is 10 % = 10 s
    loopback.script("GET", USERS, Answer(200, {"id": "u-1"}))
    client = make_client(loopback, clock)
    client.request("GET", USERS)
    clock.now += 89
    client.request("GET", USERS)
    assert client.token_fetch_count == 1, "89 s into a 100 s token is still inside its validity"
    clock.now += 2
    client.request("GET", USERS)
    assert client.token_fetch_count == 2, "91 s into a 100 s token is inside the 10 s renewal margin"
    assert loopback.requests_to("GET", USERS)[-1].headers["authorization"] == "Bearer tok-2-AbCdEf"


def test_401_renews_the_token_and_retries_once(loopback: LoopbackServer, clock: FakeClock) -> None:
    loopback.script("GET", USERS, Answer(200, {"id": "u-1"}))
    client = make_client(loopback, clock)
    client.request("GET", USERS)
    loopback.valid_tokens.clear()  # revoke: the server now answers 401 to tok-1
    assert client.request("GET", USERS) == {"id": "u-1"}
    assert client.token_fetch_count == 2
    assert [c.headers["authorization"] for c in loopback.requests_to("GET", USERS)] == [
        "Bearer tok-1-AbCdEf", "Bearer tok-1-AbCdEf", "Bearer tok-2-AbCdEf"]


def test_a_second_401_is_raised_not_looped(loopback: LoopbackServer, clock: FakeClock) -> None:
    loopback.script("GET", USERS, Answer(401, error_body(401, "bad.credentials", "Invalid login credentials.")))
    client = make_client(loopback, clock)
    with pytest.raises(errors.AuthenticationError) as info:
        client.request("GET", USERS)
    assert info.value.status == 401 and info.value.code == "bad.credentials"
    assert len(loopback.requests_to("GET", USERS)) == 2, "exactly one renewal retry after a 401"


def test_wrong_secret_is_an_authentication_error_naming_the_variables(loopback: LoopbackServer, clock: FakeClock) -> None:
    client = GenesysClient(CLIENT_ID, "wrong-secret-value", base_url=loopback.base_url, sleep=clock.sleep, clock=clock)
    with pytest.raises(errors.AuthenticationError) as info:
        client.request("GET", USERS)
    text = str(info.value)
    assert "GENESYSCLOUD_OAUTHCLIENT_SECRET" in text and "/oauth/token" in text
    assert "wrong-secret-value" not in text and "wrong-secret-value" not in repr(info.value)
    assert loopback.requests_to("GET", USERS) == [], "no API call without a token"


# -- retries -----------------------------------------------------------------------------------

def test_429_waits_the_retry_after_seconds(loopback: LoopbackServer, clock: FakeClock) -> None:
    limited = Answer(429, error_body(429, "too.many.requests.retry.after", "Rate limit exceeded"),
                     {"Retry-After": "7"})
    loopback.script("GET", USERS, limited, limited, Answer(200, {"id": "u-1"}))
    client = make_client(loopback, clock)
    assert client.request("GET", USERS) == {"id": "u-1"}
    assert clock.sleeps == [7.0, 7.0]


def test_429_without_retry_after_waits_the_3_second_default(loopback: LoopbackServer, clock: FakeClock) -> None:
    loopback.script("POST", CALS, Answer(429, error_body(429, "too.many.requests", "slow down")),
                    Answer(200, {"id": "cal-1"}))
    client = make_client(loopback, clock)
    assert client.create_calibration({"conversation": {"id": "c-1"}})["id"] == "cal-1"
    assert clock.sleeps == [3.0], "a 429 was not processed, so even a create is retried"


def test_429_gives_up_when_the_wait_exceeds_the_budget(loopback: LoopbackServer, clock: FakeClock) -> None:
    loopback.script("GET", USERS, Answer(429, error_body(429, "too.many.requests.retry.after", "Rate limit",
                                                         "ctx-429"), {"Retry-After": "100"}))
    client = make_client(loopback, clock, max_retry_wait=150.0)
    with pytest.raises(errors.RateLimitError) as info:
        client.request("GET", USERS)
    assert clock.sleeps == [100.0], "the second 100 s wait would pass the 150 s budget and is not started"
    assert info.value.retry_after == 100.0 and info.value.correlation_id == "ctx-429"
    assert "gave up after 2 attempt(s)" in str(info.value)


def test_retries_stop_at_max_retries(loopback: LoopbackServer, clock: FakeClock) -> None:
    loopback.script("GET", USERS, Answer(429, error_body(429, "too.many.requests", "x"), {"Retry-After": "1"}))
    client = make_client(loopback, clock, max_retries=2)
    with pytest.raises(errors.RateLimitError):
        client.request("GET", USERS)
    assert len(loopback.requests_to("GET", USERS)) == 3


def test_503_is_retried_with_growing_backoff(loopback: LoopbackServer, clock: FakeClock) -> None:
    down = Answer(503, "<html>Service Unavailable</html>", {"Content-Type": "text/html"})
    loopback.script("GET", USERS, down, down, Answer(200, {"id": "u-1"}))
    client = make_client(loopback, clock)
    assert client.request("GET", USERS) == {"id": "u-1"}
    assert clock.sleeps == [3.0, 9.0]


def test_503_exhausted_is_a_server_error_with_the_body_text(loopback: LoopbackServer, clock: FakeClock) -> None:
    loopback.script("GET", USERS, Answer(503, "<html>Service Unavailable</html>", {"Content-Type": "text/html",
                                                                                  "ININ-Correlation-Id": "corr-9"}))
    client = make_client(loopback, clock, max_retry_wait=20.0)
    with pytest.raises(errors.ServerError) as info:
        client.request("GET", USERS)
    assert info.value.status == 503 and info.value.correlation_id == "corr-9"
    assert "Service Unavailable" in info.value.message
    assert sum(clock.sleeps) <= 20.0


def test_502_on_a_create_is_not_repeated(loopback: LoopbackServer, clock: FakeClock) -> None:
    loopback.script("POST", CALS, Answer(502, error_body(502, "bad.gateway", "Bad Gateway")), Answer(200, {"id": "x"}))
    client = make_client(loopback, clock)
    with pytest.raises(errors.ServerError) as info:
        client.create_calibration({"conversation": {"id": "c-1"}})
    assert info.value.may_have_committed is True
    assert len(loopback.requests_to("POST", CALS)) == 1 and clock.sleeps == []


def test_502_on_a_read_is_retried(loopback: LoopbackServer, clock: FakeClock) -> None:
    loopback.script("GET", USERS, Answer(502, error_body(502, "bad.gateway", "Bad Gateway")), Answer(200, {"id": "u-1"}))
    assert make_client(loopback, clock).request("GET", USERS) == {"id": "u-1"}


# -- lost responses, connection failures, timeouts ---------------------------------------------

def test_lost_response_on_a_create_is_visible_and_not_repeated(loopback: LoopbackServer, clock: FakeClock) -> None:
    loopback.script("POST", CALS, Answer(drop=True), Answer(200, {"id": "cal-2"}))
    client = make_client(loopback, clock)
    with pytest.raises(errors.ResponseLostError) as info:
        client.create_calibration({"conversation": {"id": "c-1"}, "calibrator": {"id": "u-cal"}})
    assert len(loopback.requests_to("POST", CALS)) == 1, "the create reached the server exactly once"
    assert info.value.may_have_committed is True
    assert isinstance(info.value, errors.TransportError)
    assert "iter_calibrations" in str(info.value), "the message says how to reconcile"


def test_lost_response_on_a_read_is_retried(loopback: LoopbackServer, clock: FakeClock) -> None:
    loopback.script("GET", USERS, Answer(drop=True), Answer(200, {"id": "u-1"}))
    assert make_client(loopback, clock).request("GET", USERS) == {"id": "u-1"}
    assert clock.sleeps == [1.0]


def test_read_timeout_applies_and_a_read_is_retried(loopback: LoopbackServer, clock: FakeClock) -> None:
    loopback.script("GET", USERS, Answer(200, {"id": "late"}, delay=0.6), Answer(200, {"id": "u-1"}))
    client = make_client(loopback, clock, timeout=(2.0, 0.2))
    assert client.request("GET", USERS) == {"id": "u-1"}
    assert len(loopback.requests_to("GET", USERS)) == 2


def test_read_timeout_on_a_create_is_a_lost_response(loopback: LoopbackServer, clock: FakeClock) -> None:
    loopback.script("POST", CALS, Answer(200, {"id": "late"}, delay=0.6))
    client = make_client(loopback, clock, timeout=(2.0, 0.2))
    with pytest.raises(errors.ResponseLostError):
        client.create_calibration({"conversation": {"id": "c-1"}})


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_refused_connection_is_retried_then_a_transport_error(clock: FakeClock) -> None:
    client = GenesysClient(CLIENT_ID, CLIENT_SECRET, base_url=f"http://127.0.0.1:{_closed_port()}",
                           sleep=clock.sleep, clock=clock, max_retries=3)
    with pytest.raises(errors.TransportError) as info:
        client.create_calibration({"conversation": {"id": "c-1"}})
    assert not isinstance(info.value, errors.ResponseLostError)
    assert info.value.may_have_committed is False, "a refused connect never sent anything"
    assert clock.sleeps == [1.0, 2.0, 4.0]


# -- error mapping and shapes ------------------------------------------------------------------

@pytest.mark.parametrize(("status", "cls"), [
    (400, errors.BadRequestError), (403, errors.PermissionDeniedError), (404, errors.NotFoundError),
    (409, errors.ConflictError), (500, errors.ServerError), (418, errors.GenesysError),
])
def test_error_statuses_map_to_the_hierarchy(loopback: LoopbackServer, clock: FakeClock, status: int, cls: type) -> None:
    loopback.script("GET", USERS, Answer(status, error_body(status, "some.code", "Something is wrong.", "ctx-77")))
    with pytest.raises(cls) as info:
        make_client(loopback, clock).request("GET", USERS)
    error = info.value
    assert (error.status, error.code, error.message, error.correlation_id, error.method, error.path) == (
        status, "some.code", "Something is wrong.", "ctx-77", "GET", USERS)
    assert str(error) == f"{status} some.code on GET {USERS}: Something is wrong. (correlation id ctx-77)"


def test_correlation_header_wins_over_context_id(loopback: LoopbackServer, clock: FakeClock) -> None:
    loopback.script("GET", USERS, Answer(404, error_body(404, "not.found", "gone", "ctx-body"),
                                         {"ININ-Correlation-Id": "hdr-1"}))
    with pytest.raises(errors.NotFoundError) as info:
        make_client(loopback, clock).request("GET", USERS)
    assert info.value.correlation_id == "hdr-1"


def test_unexpected_body_names_endpoint_and_field(loopback: LoopbackServer, clock: FakeClock) -> None:
    loopback.script("GET", f"{CALS}/cal-1", Answer(200, {"name": "no id here"}))
    with pytest.raises(errors.UnexpectedResponseError) as info:
        make_client(loopback, clock).get_calibration("cal-1", calibrator_id="u-cal")
    assert info.value.field == "id" and "/api/v2/quality/calibrations/{calibrationId}" in str(info.value)


def test_non_json_success_body_is_unexpected(loopback: LoopbackServer, clock: FakeClock) -> None:
    loopback.script("GET", USERS, Answer(200, "<html>login page</html>", {"Content-Type": "text/html"}))
    with pytest.raises(errors.UnexpectedResponseError, match="not JSON"):
        make_client(loopback, clock).request("GET", USERS)


def test_empty_body_returns_none(loopback: LoopbackServer, clock: FakeClock) -> None:
    loopback.script("DELETE", f"{CALS}/cal-1", Answer(204))
    assert make_client(loopback, clock).delete_calibration("cal-1", "u-cal") is None
    assert loopback.requests_to("DELETE", f"{CALS}/cal-1")[0].query == {"calibratorId": ["u-cal"]}


def test_redirects_are_not_followed(loopback: LoopbackServer, clock: FakeClock) -> None:
    loopback.script("GET", USERS, Answer(302, None, {"Location": "http://example.invalid/steal"}))
    with pytest.raises(errors.UnexpectedResponseError, match="redirect"):
        make_client(loopback, clock).request("GET", USERS)


def test_absolute_url_of_another_origin_is_refused(loopback: LoopbackServer, clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="Refusing to send the bearer token"):
        make_client(loopback, clock).request("GET", "https://evil.example/api/v2/users")


# -- secrets -----------------------------------------------------------------------------------

def test_secret_and_token_never_appear_in_reprs_errors_or_logs(
    loopback: LoopbackServer, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, urllib3 included
    loopback.token_lifetime = 100
    loopback.script("GET", USERS, Answer(429, error_body(429, "too.many.requests", "x"), {"Retry-After": "1"}),
                    Answer(200, {"id": "u-1"}))
    loopback.script("POST", CALS, Answer(drop=True))
    client = make_client(loopback, clock)
    client.request("GET", USERS)
    clock.now += 95
    client.request("GET", USERS)  # renewal
    loopback.valid_tokens.clear()
    client.request("GET", USERS)  # 401 renewal
    with pytest.raises(errors.ResponseLostError) as lost:
        client.create_calibration({"conversation": {"id": "c-1"}})
    tokens = [f"tok-{n}-AbCdEf" for n in range(1, loopback.tokens_issued + 1)]
    assert len(tokens) == 3
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    texts = {
        "repr(client)": repr(client), "str(client)": str(client), "vars(client)": repr(vars(client)),
        "error": str(lost.value) + repr(lost.value) + repr(lost.value.__cause__) + repr(lost.value.__context__),
        "logs": "\n".join(r.getMessage() for r in caplog.records),
    }
    assert caplog.records, "the client logs its requests and retries"
    for where, text in texts.items():
        for secret in [CLIENT_SECRET, basic, *tokens]:
            assert secret not in text, f"{secret[:6]}… leaked into {where}"
    assert "***" in repr(client) and loopback.base_url in repr(client)


def test_a_request_that_cannot_be_sent_is_not_retried(loopback: LoopbackServer, clock: FakeClock) -> None:
    with pytest.raises(errors.TransportError, match="could not be sent"):
        make_client(loopback, clock).request("GET", USERS, json={"score": float("nan")})  # not valid JSON
    assert clock.sleeps == []

"""HTTP transport: one ``requests.Session``, timeouts on every call, bounded retries, error mapping.

Retry policy (the reasons are in the comments next to each branch):

===============================  ==========================  ===============================
outcome                          idempotent request          non-idempotent request (POST)
===============================  ==========================  ===============================
429                              wait Retry-After, retry     wait Retry-After, retry
503                              back off, retry             back off, retry
502, 504                         back off, retry             raise ServerError(may_have_committed)
connect failed (never sent)      back off, retry             back off, retry
sent, then connection lost       back off, retry             raise ResponseLostError
other 4xx/5xx                    raise                       raise
===============================  ==========================  ===============================

Waits: 429 sleeps ``Retry-After`` (3 s when absent); 5xx sleeps ``Retry-After`` when given, else
3 s, 9 s, 27 s …; connection errors 1 s, 2 s, 4 s …. At most ``max_retries`` retries and at most
``max_retry_wait`` seconds of sleeping per call; a wait that would exceed the budget is not started.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

import requests
import urllib3.exceptions

from calib.genesys import errors

__all__ = ["Transport"]

log = logging.getLogger("calib.genesys")

_RATE_LIMIT_FALLBACK_S = 3.0
_SERVER_BACKOFF_BASE_S = 3.0
_CONNECT_BACKOFF_BASE_S = 1.0
_RETRYABLE_5XX = frozenset({502, 503, 504})
# 503 means the service refused the work (overload, maintenance); 502/504 are gateway failures that
# can follow a write the backend already committed, so only idempotent calls repeat them.
_RETRYABLE_5XX_NON_IDEMPOTENT = frozenset({503})
# Failures of the network or the peer; anything else requests raises is a bad URL or header.
_NETWORK_ERRORS = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


def _parse_retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _never_sent(exc: requests.exceptions.RequestException) -> bool:
    """True when the connection failed before any byte of the request left (safe to repeat)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = exc.args[0] if exc.args else None
        reason = getattr(reason, "reason", reason)
        return isinstance(reason, urllib3.exceptions.ConnectTimeoutError | urllib3.exceptions.NewConnectionError)
    return False


def _describe(exc: BaseException) -> str:
    # The requests exception text names host, port and path; it never contains headers.
    return f"{type(exc).__name__}: {exc}"


class Transport:
    """Send requests with timeouts and the retry policy of this module.

    Parameters
    ----------
    session : requests.Session
        Used for every call (connection pooling).
    timeout : float or (float, float)
        ``requests`` timeout, connect and read seconds.
    max_retries : int
        Retries after the first attempt.
    max_retry_wait : float
        Seconds of sleeping allowed across the retries of one call.
    user_agent : str
        Sent as ``User-Agent``.
    sleep, clock : callable
        Injected ``time.sleep`` and ``time.monotonic``.
    """

    def __init__(
        self,
        session: requests.Session,
        *,
        timeout: float | tuple[float, float],
        max_retries: int,
        max_retry_wait: float,
        user_agent: str,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session = session
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self.user_agent = user_agent
        self._sleep = sleep
        self._clock = clock

    def send(
        self,
        method: str,
        url: str,
        *,
        path: str,
        idempotent: bool,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: Any = None,
    ) -> requests.Response:
        """Send one logical request, retrying per the module policy; return a 2xx/3xx response.

        Raises
        ------
        calib.genesys.errors.GenesysError
            The subclass for the final status, or a TransportError/ResponseLostError.
        """
        all_headers = {"User-Agent": self.user_agent, "Accept": "application/json"}
        all_headers.update(headers or {})
        waited = 0.0
        attempt = 0
        server_retries = 0
        connect_retries = 0
        while True:
            attempt += 1
            started = self._clock()
            try:
                response = self.session.request(
                    method, url, params=params, json=json, data=data, headers=all_headers, auth=auth,
                    timeout=self.timeout, allow_redirects=False,
                )
            except _NETWORK_ERRORS as exc:
                never_sent = _never_sent(exc)
                if not (idempotent or never_sent):
                    log.warning("%s %s: response lost after sending (%s); not repeating a non-idempotent request",
                                method, path, type(exc).__name__)
                    raise errors.ResponseLostError(
                        f"the connection failed after the request was sent ({_describe(exc)}), so it may "
                        "have been applied; the client did not repeat it. Reconcile before retrying: for a "
                        "calibration, list the calibrator's calibrations for the conversation "
                        "(iter_calibrations(calibrator_id, conversation_id=...)) and create it only if absent.",
                        method=method, path=path,
                    ) from None
                wait = _CONNECT_BACKOFF_BASE_S * (2 ** connect_retries)
                if attempt > self.max_retries or waited + wait > self.max_retry_wait:
                    raise errors.TransportError(
                        f"no response after {attempt} attempt(s) ({_describe(exc)}); check the network "
                        "and the region/base URL, or raise max_retries/max_retry_wait.",
                        method=method, path=path, may_have_committed=not (idempotent or never_sent),
                    ) from None
                connect_retries += 1
                log.warning("%s %s: %s; retrying in %.1f s (attempt %d of %d)",
                            method, path, type(exc).__name__, wait, attempt + 1, self.max_retries + 1)
                self._sleep(wait)
                waited += wait
                continue

            except requests.exceptions.RequestException as exc:
                # A malformed URL or header: repeating it cannot help.
                raise errors.TransportError(
                    f"the request could not be sent ({_describe(exc)}); check the base URL and parameters.",
                    method=method, path=path,
                ) from None

            elapsed_ms = (self._clock() - started) * 1000.0
            status = response.status_code
            log.debug("%s %s -> %d in %.0f ms (attempt %d)", method, path, status, elapsed_ms, attempt)
            if status < 400:
                return response

            retry_after = _parse_retry_after(response.headers.get("Retry-After"))
            retryable = status == 429 or status in (
                _RETRYABLE_5XX if idempotent else _RETRYABLE_5XX_NON_IDEMPOTENT
            )
            if retryable:
                if status == 429:
                    wait = retry_after if retry_after is not None else _RATE_LIMIT_FALLBACK_S
                elif retry_after is not None:
                    wait = retry_after
                else:
                    wait = _SERVER_BACKOFF_BASE_S * (3 ** server_retries)
                if attempt <= self.max_retries and waited + wait <= self.max_retry_wait:
                    if status != 429:
                        server_retries += 1
                    log.warning("%s %s -> %d; retrying in %.1f s (attempt %d of %d)",
                                method, path, status, wait, attempt + 1, self.max_retries + 1)
                    response.close()
                    self._sleep(wait)
                    waited += wait
                    continue
                note = (f"(gave up after {attempt} attempt(s) and {waited:.1f} s of waiting; the next wait "
                        f"would be {wait:.1f} s. Raise max_retries/max_retry_wait or try again later.)")
            else:
                note = None
            raise _error_from_response(response, method, path, retry_after, idempotent, note)


def _error_from_response(
    response: requests.Response, method: str, path: str, retry_after: float | None,
    idempotent: bool, note: str | None,
) -> errors.GenesysError:
    try:
        body = response.json()
    except ValueError:
        body = None
    may_have_committed = (not idempotent) and response.status_code in _RETRYABLE_5XX - _RETRYABLE_5XX_NON_IDEMPOTENT
    if may_have_committed:
        extra = ("The request was not repeated because it is not idempotent and a gateway error can "
                 "follow a committed write; reconcile before retrying.")
        note = f"{note} {extra}" if note else extra
    return errors.error_for_status(
        response.status_code, body=body, text=response.text, headers=response.headers,
        method=method, path=path, retry_after=retry_after, may_have_committed=may_have_committed, note=note,
    )

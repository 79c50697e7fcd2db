"""One exception hierarchy for everything the Genesys Cloud client can raise.

Notebooks and the rest of ``calib`` catch these classes only; they never import ``requests``.
No exception here holds a ``requests`` object: a response keeps its request, and the request keeps
the ``Authorization`` header, so carrying it would leak the bearer token into anything that
inspects the error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "GenesysError",
    "BadRequestError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "ConflictError",
    "RateLimitError",
    "ServerError",
    "TransportError",
    "ResponseLostError",
    "UnexpectedResponseError",
    "JobError",
    "error_for_status",
]

_CORRELATION_HEADER = "ININ-Correlation-Id"
_MAX_MESSAGE_CHARS = 500


class GenesysError(Exception):
    """Base class of every error raised by :mod:`calib.genesys`.

    Parameters
    ----------
    message : str
        What went wrong, as a sentence. For an API error this is the body's ``message``.
    status : int or None
        HTTP status, or None when no response arrived.
    code : str or None
        The Genesys error ``code`` (for example ``"bad.request"``).
    correlation_id : str or None
        The ``ININ-Correlation-Id`` header or the body's ``contextId``; quote it to Genesys support.
    method, path : str or None
        The request that failed (path without the query string).
    body : Mapping or None
        The parsed JSON error body, when there was one.

    Notes
    -----
    ``str(error)`` is one line naming the status, code, request, message and correlation id.
    It never contains a token or a client secret: the client never puts them in any of these fields.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        correlation_id: str | None = None,
        method: str | None = None,
        path: str | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> None:
        self.message = message
        self.status = status
        self.code = code
        self.correlation_id = correlation_id
        self.method = method
        self.path = path
        self.body = dict(body) if isinstance(body, Mapping) else None
        super().__init__(self._one_line())

    def _one_line(self) -> str:
        parts = []
        if self.status is not None:
            parts.append(str(self.status))
        if self.code:
            parts.append(self.code)
        if self.method and self.path:
            parts.append(f"on {self.method} {self.path}")
        head = " ".join(parts)
        text = f"{head}: {self.message}" if head else self.message
        if self.correlation_id:
            text += f" (correlation id {self.correlation_id})"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, "
            f"message={self.message!r}, correlation_id={self.correlation_id!r}, "
            f"method={self.method!r}, path={self.path!r})"
        )


class BadRequestError(GenesysError):
    """400: the API rejected the request (malformed query, missing parameter, bad filter)."""


class AuthenticationError(GenesysError):
    """401, or the OAuth token endpoint refused the client id/secret."""


class PermissionDeniedError(GenesysError):
    """403: the OAuth client's role lacks a permission the endpoint needs."""


class NotFoundError(GenesysError):
    """404: no such entity, or not visible to this OAuth client."""


class ConflictError(GenesysError):
    """409: the entity changed or already exists."""


class RateLimitError(GenesysError):
    """429 still answered after the retry budget was spent.

    ``retry_after`` is the last ``Retry-After`` in seconds (None when absent).
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class ServerError(GenesysError):
    """5xx from Genesys Cloud (after retries, for the retryable 502/503/504).

    ``may_have_committed`` is True for a non-idempotent request answered by 502 or 504: a gateway
    error can follow a write the service already made, so the caller must reconcile, not repeat.
    """

    def __init__(self, message: str, *, may_have_committed: bool = False, **kwargs: Any) -> None:
        self.may_have_committed = may_have_committed
        super().__init__(message, **kwargs)


class TransportError(GenesysError):
    """No HTTP response: connection refused or dropped, DNS failure, timeout.

    ``may_have_committed`` is True when the request was non-idempotent and may have reached the
    server; see :class:`ResponseLostError`.
    """

    def __init__(self, message: str, *, may_have_committed: bool = False, **kwargs: Any) -> None:
        self.may_have_committed = may_have_committed
        super().__init__(message, **kwargs)


class ResponseLostError(TransportError):
    """A non-idempotent request was sent but its response never arrived.

    The server may have applied it. The client does not repeat it; the caller reconciles: for a
    calibration, list the calibrator's calibrations for the conversation
    (``client.iter_calibrations(calibrator_id, conversation_id=...)``) and create it again only if
    none is there.
    """

    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs["may_have_committed"] = True
        super().__init__(message, **kwargs)


class UnexpectedResponseError(GenesysError):
    """A 2xx body that lacks a field or has a type the client relies on.

    ``endpoint`` names the call and ``field`` the missing or mistyped field.
    """

    def __init__(
        self, message: str, *, endpoint: str | None = None, field: str | None = None, **kwargs: Any
    ) -> None:
        self.endpoint = endpoint
        self.field = field
        super().__init__(message, **kwargs)


class JobError(GenesysError):
    """An analytics job ended FAILED, CANCELLED or EXPIRED, or did not finish within the timeout.

    ``job_id`` and ``state`` name the job and its last state.
    """

    def __init__(self, message: str, *, job_id: str, state: str | None, **kwargs: Any) -> None:
        self.job_id = job_id
        self.state = state
        super().__init__(message, **kwargs)


_STATUS_CLASSES: dict[int, type[GenesysError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


def _correlation_id(headers: Mapping[str, str], body: Mapping[str, Any] | None) -> str | None:
    for name, value in headers.items():
        if name.lower() == _CORRELATION_HEADER.lower() and value:
            return str(value)
    if body and body.get("contextId"):
        return str(body["contextId"])
    return None


def error_for_status(
    status: int,
    *,
    body: Any,
    text: str,
    headers: Mapping[str, str],
    method: str,
    path: str,
    retry_after: float | None = None,
    may_have_committed: bool = False,
    note: str | None = None,
) -> GenesysError:
    """Build the exception for an error response.

    Parameters
    ----------
    status : int
        HTTP status (>= 400).
    body : Any
        Parsed JSON body, or None when the body was not JSON.
    text : str
        Raw body text, used (shortened) as the message when there is no JSON ``message``.
    headers : Mapping[str, str]
        Response headers (for ``ININ-Correlation-Id``).
    method, path : str
        The request (path without query string).
    retry_after : float, optional
        Parsed ``Retry-After`` for a 429.
    may_have_committed : bool
        For a 5xx on a non-idempotent request.
    note : str, optional
        Appended to the message (for example how many retries were spent).

    Returns
    -------
    GenesysError
        The subclass matching the status.
    """
    mapping = body if isinstance(body, Mapping) else None
    message = None
    code = None
    if mapping is not None:
        # Platform API errors carry message/code; the OAuth endpoint answers error/error_description.
        message = mapping.get("message") or mapping.get("error_description") or mapping.get("description")
        code = mapping.get("code") or mapping.get("error")
    if not message:
        snippet = " ".join((text or "").split())[:_MAX_MESSAGE_CHARS]
        message = snippet or f"HTTP {status} with an empty body"
    if note:
        message = f"{message} {note}"
    kwargs: dict[str, Any] = {
        "status": status,
        "code": str(code) if code else None,
        "correlation_id": _correlation_id(headers, mapping),
        "method": method,
        "path": path,
        "body": mapping,
    }
    if status == 429:
        return RateLimitError(str(message), retry_after=retry_after, **kwargs)
    if status >= 500:
        return ServerError(str(message), may_have_committed=may_have_committed, **kwargs)
    cls = _STATUS_CLASSES.get(status, GenesysError)
    return cls(str(message), **kwargs)

"""OAuth client-credentials tokens: fetch, cache, renew before expiry, and keep them out of sight.

Genesys Cloud issues a bearer token for ``grant_type=client_credentials`` with HTTP Basic client
authentication (``genesys-api.md`` §1). The token lives 24 h by default (5 min … 48 h per OAuth
client); it is renewed a margin before expiry, and once more whenever the API answers 401.
"""

from __future__ import annotations

import logging
import threading
import time
from base64 import b64encode
from collections.abc import Callable
from typing import Any

import requests

from calib.genesys import errors
from calib.genesys.transport import Transport

__all__ = ["Secret", "TokenProvider", "mask"]

log = logging.getLogger("calib.genesys")

_TOKEN_PATH_FOR_ERRORS = "/oauth/token"


def mask(value: str | None, *, keep: int = 0) -> str:
    """Return a display form of an identifier or secret that reveals at most ``keep`` characters.

    Parameters
    ----------
    value : str or None
        The text to mask.
    keep : int
        Leading characters to show (0 for secrets).

    Returns
    -------
    str
        ``"***"`` for secrets, ``"abcd…"`` when ``keep=4``, ``"<none>"`` for None.
    """
    if value is None:
        return "<none>"
    if keep <= 0 or len(value) <= keep:
        return "***"
    return value[:keep] + "…"


class Secret:
    """A string that never shows itself in ``repr``/``str``; read it with :meth:`reveal`.

    Parameters
    ----------
    value : str
        The secret text.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the secret text (only for putting it on the wire)."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("A Secret cannot be pickled; build the client again from the environment.")


class _ClientCredentialsAuth(requests.auth.AuthBase):
    """HTTP Basic client authentication that keeps the secret out of every frame's locals.

    ``auth=(client_id, secret)`` would put the plaintext secret in a local variable of each
    frame between here and the socket, where an error tracker that captures locals (Sentry,
    rich tracebacks) would record it. This object's repr is masked, and the secret is read only
    inside the expression that builds the header.
    """

    __slots__ = ("_client_id", "_secret")

    def __init__(self, client_id: str, secret: Secret) -> None:
        self._client_id = client_id
        self._secret = secret

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = "Basic " + b64encode(
            f"{self._client_id}:{self._secret.reveal()}".encode("utf-8")).decode("ascii")
        return request

    def __repr__(self) -> str:
        return f"ClientCredentialsAuth(client_id={mask(self._client_id, keep=8)!r}, secret=***)"

    def __reduce__(self) -> Any:
        raise TypeError("Client credentials cannot be pickled; build the client again from the "
                        "environment.")


class TokenProvider:
    """Hand out a valid bearer token, fetching or renewing it when needed.

    Parameters
    ----------
    client_id : str
        OAuth client id.
    client_secret : Secret
        OAuth client secret.
    token_url : str
        The token endpoint (``https://login.<domain>/oauth/token``).
    transport : Transport
        Sends the token request (with the same timeouts and retries as API calls).
    clock : callable
        ``time.monotonic`` or an injected clock.

    Notes
    -----
    The renewal margin is 10 % of the token lifetime, at most 5 minutes: a 24 h token is renewed
    5 minutes before it expires, so a call never starts with a token about to lapse.
    Thread-safe: concurrent callers share one fetch.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: Secret,
        token_url: str,
        transport: Transport,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._token_url = token_url
        self._transport = transport
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0
        self._expires_at = 0.0
        self.fetch_count = 0

    @property
    def token_url(self) -> str:
        """The OAuth token endpoint."""
        return self._token_url

    def __repr__(self) -> str:
        state = "none cached"
        if self._token is not None:
            state = f"cached, expires in {max(0.0, self._expires_at - self._clock()):.0f} s"
        return f"TokenProvider(client_id={mask(self._client_id, keep=8)!r}, token=*** ({state}))"

    def token(self) -> str:
        """Return a bearer token valid for at least the renewal margin, fetching one if needed.

        Raises
        ------
        calib.genesys.errors.AuthenticationError
            When the token endpoint refuses the client credentials.
        calib.genesys.errors.UnexpectedResponseError
            When the token response lacks ``access_token`` or ``expires_in``.
        """
        with self._lock:
            if self._token is None or self._clock() >= self._renew_at:
                return self._fetch()
            return self._token

    def invalidate(self, token: str) -> None:
        """Forget ``token`` (after a 401) so that the next :meth:`token` fetches a new one.

        A token already replaced by another thread is left alone.
        """
        with self._lock:
            if self._token == token:
                self._token = None

    def _fetch(self) -> str:
        reason = "renewing before expiry" if self._token is not None else "fetching"
        log.info("%s an OAuth token for client %s", reason, mask(self._client_id, keep=8))
        try:
            # Asking twice for a token is harmless, so the token POST is retried like a GET.
            response = self._transport.send(
                "POST", self._token_url, path=_TOKEN_PATH_FOR_ERRORS, idempotent=True,
                data={"grant_type": "client_credentials"},
                auth=_ClientCredentialsAuth(self._client_id, self._client_secret),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        except (errors.BadRequestError, errors.AuthenticationError, errors.PermissionDeniedError) as exc:
            raise errors.AuthenticationError(
                f"the OAuth token endpoint refused the client credentials ({exc.message}); check "
                "GENESYSCLOUD_OAUTHCLIENT_ID and GENESYSCLOUD_OAUTHCLIENT_SECRET, that the OAuth client "
                "uses the Client Credentials grant, and that the region is the org's region.",
                status=exc.status, code=exc.code, correlation_id=exc.correlation_id,
                method="POST", path=_TOKEN_PATH_FOR_ERRORS,
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        token = body.get("access_token") if isinstance(body, dict) else None
        lifetime = body.get("expires_in") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise errors.UnexpectedResponseError(
                "the token response has no 'access_token' string; check that the token URL is a "
                "Genesys Cloud (or sandbox) OAuth endpoint.",
                endpoint="POST /oauth/token", field="access_token", status=response.status_code,
                method="POST", path=_TOKEN_PATH_FOR_ERRORS,
            )
        if isinstance(lifetime, bool) or not isinstance(lifetime, int | float) or lifetime <= 0:
            raise errors.UnexpectedResponseError(
                "the token response has no positive 'expires_in' number of seconds.",
                endpoint="POST /oauth/token", field="expires_in", status=response.status_code,
                method="POST", path=_TOKEN_PATH_FOR_ERRORS,
            )
        now = self._clock()
        margin = min(300.0, 0.1 * float(lifetime))
        self._token = token
        self._expires_at = now + float(lifetime)
        self._renew_at = self._expires_at - margin
        self.fetch_count += 1
        log.debug("token obtained, valid for %.0f s (renewal %.0f s before expiry)", lifetime, margin)
        return token

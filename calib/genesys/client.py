"""``GenesysClient``: one object holding credentials, session, timeouts, retries and endpoints.

Endpoint methods live in mixins (:mod:`calib.genesys.analytics`, :mod:`calib.genesys.quality`,
:mod:`calib.genesys.routing`, :mod:`calib.genesys.users`); this module holds construction, ``request`` and ``paginate``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

from calib import __version__
from calib.genesys import errors, regions
from calib.genesys.analytics import AnalyticsMixin
from calib.genesys.auth import Secret, TokenProvider, mask
from calib.genesys.paging import iter_body_pages, iter_entity_pages
from calib.genesys.quality import QualityMixin
from calib.genesys.routing import RoutingMixin
from calib.genesys.transport import Transport
from calib.genesys.users import UsersMixin
from calib.genesys._util import encode_params

__all__ = ["GenesysClient", "ENV_CLIENT_ID", "ENV_CLIENT_SECRET", "ENV_REGION", "ENV_API_REGION"]

log = logging.getLogger("calib.genesys")

ENV_CLIENT_ID = "GENESYSCLOUD_OAUTHCLIENT_ID"
ENV_CLIENT_SECRET = "GENESYSCLOUD_OAUTHCLIENT_SECRET"
ENV_REGION = "GENESYSCLOUD_REGION"
ENV_API_REGION = "GENESYSCLOUD_API_REGION"

_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "POST", "PATCH"})


def _check_timeout(timeout: Any) -> float | tuple[float, float]:
    values = timeout if isinstance(timeout, tuple) else (timeout,)
    if len(values) not in (1, 2) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and v > 0 for v in values
    ):
        raise ValueError(
            f"timeout must be a positive number of seconds or a (connect, read) pair of them; got {timeout!r}."
        )
    return timeout


class GenesysClient(AnalyticsMixin, QualityMixin, RoutingMixin, UsersMixin):
    """A Genesys Cloud Platform API client over ``requests``, for the calib workflow.

    Parameters
    ----------
    client_id, client_secret : str
        OAuth client (Client Credentials grant). The secret is never shown in reprs, logs or errors.
    region : str, optional
        ``eu_west_1``, ``eu-west-1`` or ``mypurecloud.ie`` (any of the 18 regions).
    base_url : str, optional
        Explicit API origin (``GENESYSCLOUD_API_REGION``, e.g. the sandbox's ``http://127.0.0.1:PORT``);
        wins over ``region``. Tokens then come from the same origin's ``/oauth/token``.
    session : requests.Session, optional
        Injected session (proxies, adapters); the client does not close a session it did not create.
    timeout : float or (float, float)
        Connect and read timeouts in seconds, applied to every request.
    max_retries : int
        Retries per call for 429, 502/503/504 and connection errors (see :mod:`calib.genesys.transport`).
    max_retry_wait : float
        Upper bound on the seconds one call spends sleeping between retries.
    user_agent : str, optional
        Defaults to ``calib/<version> python-requests/<version>``.
    sleep, clock : callable
        ``time.sleep`` and ``time.monotonic``; injectable so retry tests need not wait.

    Raises
    ------
    ValueError
        For empty credentials, no region and no base URL, or an out-of-range setting.

    Notes
    -----
    **Non-idempotent requests.** ``POST`` is not repeated after its request may have reached the
    server: a connection lost after sending raises :class:`~calib.genesys.errors.ResponseLostError`
    and a 502/504 raises :class:`~calib.genesys.errors.ServerError` with ``may_have_committed``.
    429 and 503 (the server did not do the work), a failed connect (nothing was sent) and 401
    (rejected before processing) are retried for every method. Callers that create things stay safe
    by reconciling: after ``ResponseLostError`` from :meth:`create_calibration`, list the
    calibrator's calibrations for the conversation with :meth:`iter_calibrations` and create again
    only if none is there. Read-only ``POST`` queries pass ``idempotent=True``.

    Examples
    --------
    >>> client = GenesysClient.from_env()            # doctest: +SKIP
    >>> next(client.iter_users())["name"]            # doctest: +SKIP
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        region: str | None = None,
        base_url: str | None = None,
        session: requests.Session | None = None,
        timeout: float | tuple[float, float] = (3.05, 60.0),
        max_retries: int = 5,
        max_retry_wait: float = 120.0,
        user_agent: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not isinstance(client_id, str) or not client_id.strip():
            raise ValueError(f"client_id is empty; set {ENV_CLIENT_ID} or pass the OAuth client id.")
        if not isinstance(client_secret, str) or not client_secret.strip():
            raise ValueError(f"client_secret is empty; set {ENV_CLIENT_SECRET} or pass the OAuth client secret.")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be an integer >= 0; got {max_retries!r}.")
        if isinstance(max_retry_wait, bool) or not isinstance(max_retry_wait, int | float) or max_retry_wait < 0:
            raise ValueError(f"max_retry_wait must be a number of seconds >= 0; got {max_retry_wait!r}.")
        if base_url:
            endpoints = regions.endpoints_for_base_url(base_url)
        elif region:
            endpoints = regions.endpoints_for_region(region)
        else:
            raise ValueError(
                f"No Genesys Cloud region given; pass region= (or set {ENV_REGION}, e.g. 'eu-west-1') "
                f"or base_url= (or set {ENV_API_REGION})."
            )
        self._endpoints = endpoints
        self._client_id = client_id.strip()
        self._owns_session = session is None
        self._session = session if session is not None else requests.Session()
        self._sleep = sleep
        self._clock = clock
        self._transport = Transport(
            self._session, timeout=_check_timeout(timeout), max_retries=max_retries,
            max_retry_wait=float(max_retry_wait),
            user_agent=user_agent or f"calib/{__version__} python-requests/{requests.__version__}",
            sleep=sleep, clock=clock,
        )
        self._tokens = TokenProvider(
            self._client_id, Secret(client_secret.strip()), endpoints.token_url, self._transport, clock=clock
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> GenesysClient:
        """Build a client from the environment variables the Genesys CLI and Terraform use.

        Parameters
        ----------
        environ : Mapping, optional
            Defaults to ``os.environ``.
        **kwargs
            Passed to the constructor (``timeout``, ``session``, …).

        Returns
        -------
        GenesysClient

        Raises
        ------
        ValueError
            Naming every missing variable: ``GENESYSCLOUD_OAUTHCLIENT_ID``,
            ``GENESYSCLOUD_OAUTHCLIENT_SECRET``, and one of ``GENESYSCLOUD_REGION`` /
            ``GENESYSCLOUD_API_REGION``.
        """
        env = os.environ if environ is None else environ
        missing = [name for name in (ENV_CLIENT_ID, ENV_CLIENT_SECRET) if not env.get(name, "").strip()]
        if not env.get(ENV_REGION, "").strip() and not env.get(ENV_API_REGION, "").strip():
            missing.append(f"{ENV_REGION} (or {ENV_API_REGION})")
        if missing:
            raise ValueError(
                "Cannot build a Genesys Cloud client: missing environment variable(s) "
                + ", ".join(missing)
                + ". Set them to the OAuth client (Client Credentials grant) and the org's region, "
                "or use the sandbox (calib.sandbox.Sandbox().client())."
            )
        return cls(
            env[ENV_CLIENT_ID], env[ENV_CLIENT_SECRET],
            region=env.get(ENV_REGION) or None, base_url=env.get(ENV_API_REGION) or None, **kwargs,
        )

    @property
    def base_url(self) -> str:
        """The API origin, e.g. ``https://api.mypurecloud.ie``."""
        return self._endpoints.api_base_url

    @property
    def token_url(self) -> str:
        """The OAuth token endpoint."""
        return self._endpoints.token_url

    @property
    def token_fetch_count(self) -> int:
        """How many tokens this client has fetched (1 plus renewals)."""
        return self._tokens.fetch_count

    def __repr__(self) -> str:
        return (
            f"GenesysClient(base_url={self.base_url!r}, client_id={mask(self._client_id, keep=8)!r}, "
            "client_secret='***', token='***')"
        )

    def check_access(self) -> None:
        """Fetch a token now, so that missing access shows before any work starts.

        Raises
        ------
        calib.genesys.errors.AuthenticationError
            The token endpoint refused the client credentials.
        calib.genesys.errors.TransportError
            The login host did not answer (DNS, connection, timeout) within this client's
            timeouts and retries; build the client with ``max_retries=1`` and a short
            ``timeout`` for a quick answer.
        """
        self._tokens.token()

    def close(self) -> None:
        """Close the HTTP session if the client created it."""
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> GenesysClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _url(self, path: str) -> tuple[str, str]:
        """Return (absolute URL, path for messages); refuse URLs of another origin."""
        if not isinstance(path, str) or not path:
            raise ValueError(f"path must be a non-empty string such as '/api/v2/users'; got {path!r}.")
        parts = urlsplit(path)
        if parts.scheme or parts.netloc:
            origin = f"{parts.scheme}://{parts.netloc}"
            if origin.lower() != self.base_url.lower():
                raise ValueError(
                    f"Refusing to send the bearer token to {origin}: only {self.base_url} is this client's API."
                )
            path = path[len(origin):] or "/"
        elif not path.startswith("/"):
            path = "/" + path
        return self.base_url + path, urlsplit(path).path

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> dict[str, Any] | list[Any] | None:
        """Call the API and return the parsed JSON body.

        Parameters
        ----------
        method : str
            HTTP method.
        path : str
            ``/api/v2/...`` (a query string may be included), or an absolute URL of the same origin.
        params : Mapping, optional
            Query parameters: None dropped, booleans ``true``/``false``, lists comma-joined.
        json : Any, optional
            JSON body.
        idempotent : bool, optional
            Whether repeating the request is harmless. Default: True for GET, HEAD, OPTIONS, PUT and
            DELETE; False for POST and PATCH. Pass True for read-only POST queries.

        Returns
        -------
        dict, list or None
            The JSON body; None for an empty body (204).

        Raises
        ------
        calib.genesys.errors.GenesysError
            A subclass per status, transport failure or unparseable body.
        """
        verb = str(method).upper()
        if verb not in _METHODS:
            raise ValueError(f"Unsupported HTTP method {method!r}; use one of {', '.join(sorted(_METHODS))}.")
        url, message_path = self._url(path)
        if idempotent is None:
            idempotent = verb in _IDEMPOTENT_METHODS
        query = encode_params(params)
        for attempt in (1, 2):
            token = self._tokens.token()
            try:
                response = self._transport.send(
                    verb, url, path=message_path, idempotent=idempotent, params=query or None, json=json,
                    headers={"Authorization": f"Bearer {token}"},
                )
                break
            except errors.AuthenticationError:
                if attempt == 2:
                    raise
                # The token expired or was revoked early; a 401 was refused before any work, so
                # even a POST may be sent again with a fresh token.
                log.info("%s %s -> 401; fetching a new token and retrying once", verb, message_path)
                self._tokens.invalidate(token)
        if 300 <= response.status_code < 400:
            raise errors.UnexpectedResponseError(
                f"{verb} {message_path} answered a redirect ({response.status_code}), which the client does "
                "not follow so that the token is never sent elsewhere; check the base URL.",
                endpoint=f"{verb} {message_path}", status=response.status_code, method=verb, path=message_path,
            )
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise errors.UnexpectedResponseError(
                f"{verb} {message_path} returned a body that is not JSON "
                f"(Content-Type {response.headers.get('Content-Type')!r}).",
                endpoint=f"{verb} {message_path}", status=response.status_code, method=verb, path=message_path,
            ) from None

    def paginate(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        item_key: str = "entities",
        method: str = "GET",
        json: Mapping[str, Any] | None = None,
        page_size: int = 100,
    ) -> Iterator[dict[str, Any]]:
        """Iterate lazily over every item of a paged listing or query.

        Parameters
        ----------
        path : str
            Listing or query path.
        params : Mapping, optional
            Query parameters (GET); ``pageSize`` and ``pageNumber`` may be set here.
        item_key : str
            Array field of each page (``"entities"``, ``"conversations"``).
        method : {"GET", "POST"}
            GET follows ``nextUri`` / ``pageNumber``; POST pages through ``paging`` in the JSON body
            and is sent as a read-only (idempotent) query.
        json : Mapping, optional
            Query body for POST.
        page_size : int
            Page size for POST paging.

        Yields
        ------
        dict
            Items, as the API returns them.
        """
        verb = str(method).upper()
        if verb == "GET":
            return iter_entity_pages(self.request, path, params, item_key)
        if verb == "POST":
            return (item for _, item in iter_body_pages(self.request, path, json or {}, item_key, page_size=page_size))
        raise ValueError(f"paginate supports method 'GET' or 'POST'; got {method!r}.")

"""The sandbox HTTP server: stdlib ``ThreadingHTTPServer`` on loopback, Genesys-shaped.

Plumbing only: authentication (``/oauth/token``, bearer tokens), the token bucket, fault
injection, JSON bodies and the Genesys error body. Endpoints live in
:mod:`calib.sandbox.routes_quality` and :mod:`calib.sandbox.routes_analytics`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

from . import routes_analytics, routes_quality, routes_routing, routes_sandbox
from .faults import FaultInjector, Faults, TokenBucket
from .http import ApiError, Request, bad_request
from .ids import make_id
from .org import Org

log = logging.getLogger("calib.sandbox")

DEMO_CLIENT_ID = "calib-sandbox-demo"


def demo_client_secret(seed: int) -> str:
    """The sandbox's demo client secret for an org seed.

    Derived from the seed, so a process that knows a running sandbox's seed can log in without
    the secret being written anywhere: it is the sandbox's own, not a secret of any real org.
    """
    return "sandbox-" + hashlib.sha256(f"demo:{seed}".encode()).hexdigest()[:24]


Route = tuple[str, re.Pattern[str], Callable[..., Any]]


class SandboxServer(ThreadingHTTPServer):
    """The HTTP server holding the org, credentials, tokens, rate limiter and faults."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, org: Org, *, host: str = "127.0.0.1", port: int = 0,
                 faults: Faults | None = None, rate_limit_per_minute: float | None = 300,
                 token_ttl_seconds: int = 86400) -> None:
        super().__init__((host, port), _Handler)
        self.org = org
        self.client_id = DEMO_CLIENT_ID
        self.client_secret = demo_client_secret(org.seed)
        self.token_ttl_seconds = int(token_ttl_seconds)
        self.tokens: dict[str, tuple[str, float]] = {}
        self.tokens_lock = threading.Lock()
        self.faults = FaultInjector(faults or Faults())
        self.bucket = TokenBucket(rate_limit_per_minute) if rate_limit_per_minute else None
        self._correlation = 0
        self._correlation_lock = threading.Lock()
        self.routes: list[Route] = [*routes_quality.ROUTES, *routes_analytics.ROUTES,
                                    *routes_routing.ROUTES, *routes_sandbox.ROUTES]

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def correlation_id(self) -> str:
        with self._correlation_lock:
            self._correlation += 1
            return make_id(self.org.seed, "correlation", self._correlation)

    def issue_token(self, client_id: str) -> str:
        token = secrets.token_urlsafe(24)
        with self.tokens_lock:
            self.tokens[token] = (client_id, time.monotonic() + self.token_ttl_seconds)
        return token

    def check_token(self, header: str | None) -> str:
        if not header or not header.startswith("Bearer "):
            raise ApiError(401, "authentication.required",
                           "No authentication bearer token specified in authorization header.")
        with self.tokens_lock:
            entry = self.tokens.get(header[7:].strip())
        if entry is None or entry[1] < time.monotonic():
            raise ApiError(401, "bad.credentials", "Invalid login credentials.")
        return entry[0]

    def expire_tokens(self) -> None:
        """Expire every issued token (tests of re-authentication)."""
        with self.tokens_lock:
            self.tokens = {t: (c, 0.0) for t, (c, _) in self.tokens.items()}


class _Handler(BaseHTTPRequestHandler):
    server: SandboxServer
    protocol_version = "HTTP/1.1"
    server_version = "calib-sandbox"
    sys_version = ""
    # Headers and body are written separately; unbuffered writes with Nagle on cost ~40 ms a
    # keep-alive response (Nagle waits for the client's delayed ACK). Buffer the response
    # (flushed once by handle_one_request) and send segments at once.
    disable_nagle_algorithm = True
    wbufsize = 1 << 16

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None,
              correlation: str | None = None) -> None:
        body = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ININ-Correlation-Id", correlation or self.server.correlation_id())
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)
        # one flush: headers and body leave together (and a closed peer is caught here)
        self.wfile.flush()

    def _error(self, err: ApiError) -> None:
        cid = self.server.correlation_id()
        self._send(err.status, {"message": err.message, "code": err.code, "status": err.status,
                                "contextId": cid, "details": [], "errors": []},
                   err.headers, cid)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self, method: str) -> None:
        split = urlsplit(self.path)
        path = split.path.rstrip("/") or "/"
        query = parse_qs(split.query, keep_blank_values=True)
        raw = self._read_body()
        try:
            if path == "/oauth/token" and method == "POST":
                self._token(raw)
                return
            api = path.startswith("/api/v2/")
            sandbox_only = path.startswith("/api/v2/sandbox/")
            client_id = None
            if api and not sandbox_only:
                client_id = self.server.check_token(self.headers.get("Authorization"))
                self._apply_limits(client_id)
                fault = self.server.faults.draw(method)
                if fault == "429":
                    wait = self.server.faults.faults.retry_after_s
                    raise ApiError(429, "too.many.requests.retry.after",
                                   f"Rate limit exceeded the maximum. Retry the request in "
                                   f"[{wait}] seconds", {"Retry-After": str(wait)})
                if fault == "503":
                    raise ApiError(503, "service.unavailable",
                                   "The service is currently unavailable.")
            else:
                fault = None
            if api:
                # a persisted org first catches up with what other processes saved
                self.server.org.sync()
            body: Any = None
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    raise bad_request("The request body is not valid JSON.",
                                      "bad.request") from None
            request = Request(method, path, query, body, client_id)
            for route_method, pattern, handler in self.server.routes:
                match = pattern.fullmatch(path)
                if match and route_method == method:
                    status, payload = handler(self.server, request, *match.groups())
                    if fault == "lose":
                        # committed, but the client never hears back
                        self.close_connection = True
                        self.connection.shutdown(2)
                        return
                    self._send(status, payload)
                    return
            if any(p.fullmatch(path) for _, p, _ in self.server.routes):
                raise ApiError(405, "method.not.allowed", f"{method} is not allowed on {path}.")
            raise ApiError(404, "not.found", f"No resource at {path}.")
        except ApiError as err:
            self._error(err)
        except ValueError as err:  # a parse error in a parameter the route did not catch
            self._error(bad_request(str(err), "invalid.value"))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _apply_limits(self, client_id: str) -> None:
        latency = self.server.faults.faults.latency_ms
        if latency:
            time.sleep(latency / 1000.0)
        if self.server.bucket is not None:
            wait = self.server.bucket.take(client_id)
            if wait > 0:
                seconds = max(1, int(wait + 0.999))
                raise ApiError(429, "too.many.requests.retry.after",
                               f"Rate limit exceeded the maximum. Retry the request in "
                               f"[{seconds}] seconds", {"Retry-After": str(seconds)})

    def _token(self, raw: bytes) -> None:
        def oauth_error(status: int, error: str, description: str) -> None:
            self._send(status, {"error": error, "description": description,
                                "error_description": description})

        auth = self.headers.get("Authorization") or ""
        if not auth.startswith("Basic "):
            oauth_error(401, "invalid_client", "client credentials are required (Basic auth)")
            return
        try:
            cid, _, secret = base64.b64decode(auth[6:].strip()).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            oauth_error(401, "invalid_client", "malformed Basic authorization header")
            return
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        form = parse_qs(raw.decode(errors="replace"))
        if ctype != "application/x-www-form-urlencoded" or \
                form.get("grant_type") != ["client_credentials"]:
            oauth_error(400, "unsupported_grant_type",
                        "send grant_type=client_credentials as a form-encoded body")
            return
        if cid != self.server.client_id or not secrets.compare_digest(
                secret, self.server.client_secret):
            oauth_error(401, "invalid_client", "client not found or wrong secret")
            return
        token = self.server.issue_token(cid)
        self._send(200, {"access_token": token, "token_type": "bearer",
                         "expires_in": self.server.token_ttl_seconds})

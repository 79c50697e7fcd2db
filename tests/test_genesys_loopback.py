"""A scripted loopback HTTP server for the Genesys client's transport tests (no tests here).

It is a real ``http.server`` on 127.0.0.1 in a thread: the client talks TCP and HTTP to it. Each test
scripts answers per route and reads back what the server received. Besides status/headers/body a
route can ``drop`` the connection after reading the request (the lost-response fault) or ``delay``
its answer (for timeouts). ``/oauth/token`` issues tokens ``tok-1``, ``tok-2`` … for the known
client id and secret.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from calib.genesys import GenesysClient

CLIENT_ID = "loopback-client-0123456789"
CLIENT_SECRET = "s3cr3t-Loopback-Secret-Value"
DROP = "drop"


@dataclass
class Seen:
    """One request the server received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Answer:
    """A scripted answer: status/headers/body, or drop the connection, optionally after a delay."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    delay: float = 0.0


Handler = Callable[[Seen], Answer]


class LoopbackServer:
    """Routes ``(METHOD, path)`` to scripted answers; records every request."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Answer | Handler]] = {}
        self.seen: list[Seen] = []
        self.token_lifetime = 86400
        self.tokens_issued = 0
        self.valid_tokens: set[str] = set()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def script(self, method: str, path: str, *answers: Answer | Handler) -> None:
        """Queue answers for a route; the last one repeats once the others are used."""
        self.routes[(method, path)] = list(answers)

    def requests_to(self, method: str, path: str) -> list[Seen]:
        return [s for s in self.seen if s.method == method and s.path == path]

    def _next_answer(self, seen: Seen) -> Answer:
        if seen.path == "/oauth/token" and (seen.method, seen.path) not in self.routes:
            return self._token_answer(seen)
        auth = seen.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[len("Bearer "):] not in self.valid_tokens:
            return Answer(401, {"message": "Invalid login credentials.", "code": "bad.credentials",
                                "status": 401, "contextId": "ctx-401"})
        with self._lock:
            queue = self.routes.get((seen.method, seen.path))
            if not queue:
                return Answer(404, {"message": f"no route {seen.method} {seen.path}", "code": "not.found",
                                    "status": 404, "contextId": "ctx-404"})
            entry = queue.pop(0) if len(queue) > 1 else queue[0]
        return entry(seen) if callable(entry) else entry

    def _token_answer(self, seen: Seen) -> Answer:
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        form = parse_qs(seen.body.decode())
        if seen.headers.get("authorization") != f"Basic {expected}" or form.get("grant_type") != ["client_credentials"]:
            return Answer(401, {"error": "invalid_client", "description": "client not found",
                                "message": "invalid client credentials", "code": "bad.credentials"})
        with self._lock:
            self.tokens_issued += 1
            token = f"tok-{self.tokens_issued}-AbCdEf"
            self.valid_tokens.add(token)
        return Answer(200, {"access_token": token, "token_type": "bearer", "expires_in": self.token_lifetime})

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # One write per response and no Nagle delay: keeps each exchange well under a millisecond.
            wbufsize = 1 << 16
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                seen = Seen(self.command, parts.path, parse_qs(parts.query, keep_blank_values=True),
                            {k.lower(): v for k, v in self.headers.items()}, body)
                with server._lock:
                    server.seen.append(seen)
                answer = server._next_answer(seen)
                if answer.delay:
                    time.sleep(answer.delay)
                if answer.drop:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                payload = b"" if answer.body is None else (
                    answer.body.encode() if isinstance(answer.body, str) else json.dumps(answer.body).encode())
                self.send_response(answer.status)
                headers = {"Content-Type": "application/json", **answer.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        return Handler


class FakeClock:
    """An injectable monotonic clock whose ``sleep`` advances time instead of waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    server = LoopbackServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_client(server: LoopbackServer, clock: FakeClock, **kwargs: Any) -> GenesysClient:
    """A client for the loopback server whose retries sleep on the fake clock."""
    kwargs.setdefault("timeout", (2.0, 5.0))
    return GenesysClient(CLIENT_ID, CLIENT_SECRET, base_url=server.base_url, sleep=clock.sleep, clock=clock, **kwargs)


def error_body(status: int, code: str, message: str, context_id: str = "ctx-1") -> dict[str, Any]:
    """A Genesys error body (``ErrorBody`` fields)."""
    return {"message": message, "code": code, "status": status, "contextId": context_id, "details": [], "errors": []}

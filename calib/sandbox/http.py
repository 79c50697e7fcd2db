"""What a route handler sees and raises: the parsed :class:`Request`, and :class:`ApiError`,
answered with the Genesys error body.

Apart from the server on purpose: the routes import these, and the server imports the routes,
so the imports run one way (server → routes → http).
"""

from __future__ import annotations

from typing import Any

__all__ = ["ApiError", "Request", "bad_request", "not_found"]


class ApiError(Exception):
    """An error answered with the Genesys error body."""

    def __init__(self, status: int, code: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}


def bad_request(message: str, code: str = "bad.request") -> ApiError:
    return ApiError(400, code, message)


def not_found(what: str) -> ApiError:
    return ApiError(404, "not.found", f"{what} not found.")


class Request:
    """One parsed request as the route handlers see it."""

    def __init__(self, method: str, path: str, query: dict[str, list[str]], body: Any,
                 client_id: str | None) -> None:
        self.method, self.path, self.query, self.body = method, path, query, body
        self.client_id = client_id

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def param_list(self, name: str) -> list[str]:
        out: list[str] = []
        for v in self.query.get(name, []):
            out += [x for x in v.split(",") if x]
        return out

    def int_param(self, name: str, default: int, *, low: int = 1, high: int | None = None) -> int:
        raw = self.param(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise bad_request(f"The query parameter {name} must be an integer; got {raw!r}.",
                              "invalid.value") from None
        if value < low or (high is not None and value > high):
            limit = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise bad_request(f"The query parameter {name} must be {limit}; got {value}.",
                              "invalid.value")
        return value

    def bool_param(self, name: str, default: bool = False) -> bool:
        raw = self.param(name)
        return default if raw is None else raw.lower() == "true"

"""Fault injection and the per-client token bucket of the sandbox server."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import asdict, dataclass, replace
from typing import Any, Callable

__all__ = ["Faults", "FaultInjector", "TokenBucket"]


@dataclass(frozen=True)
class Faults:
    """What the sandbox does wrong on purpose.

    Parameters
    ----------
    rate_429 : float
        Share of API requests answered ``429`` with ``Retry-After`` (on top of the token bucket).
    rate_503 : float
        Share of API requests answered ``503 Service Unavailable``.
    latency_ms : float
        Delay added before every API response, in milliseconds.
    lose_response_rate : float
        Share of POST requests that are committed but whose response is dropped (the connection
        is closed without an answer), as a timed-out network would.
    retry_after_s : int
        The ``Retry-After`` seconds sent with injected 429s.
    seed : int
        Seed of the fault stream, so a faulty run repeats.
    """

    rate_429: float = 0.0
    rate_503: float = 0.0
    latency_ms: float = 0.0
    lose_response_rate: float = 0.0
    retry_after_s: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("rate_429", "rate_503", "lose_response_rate"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ValueError(f"Faults.{name}={value!r} is not a probability; give a number "
                                 f"between 0 and 1.")
        if not isinstance(self.latency_ms, (int, float)) or self.latency_ms < 0:
            raise ValueError(f"Faults.latency_ms={self.latency_ms!r} must be a non-negative "
                             f"number of milliseconds.")
        if not isinstance(self.retry_after_s, int) or self.retry_after_s < 0:
            raise ValueError(f"Faults.retry_after_s={self.retry_after_s!r} must be a non-negative "
                             f"integer number of seconds.")

    def updated(self, **changes: Any) -> "Faults":
        """A copy with ``changes``; unknown names raise ``ValueError``."""
        unknown = set(changes) - set(asdict(self))
        if unknown:
            raise ValueError(f"Unknown fault setting(s) {sorted(unknown)}; valid settings are "
                             f"{sorted(asdict(self))}.")
        return replace(self, **changes)


class FaultInjector:
    """Draws the fault for each request from a seeded stream (thread-safe)."""

    def __init__(self, faults: Faults) -> None:
        self._lock = threading.Lock()
        self.set(faults)

    def set(self, faults: Faults) -> None:
        with self._lock:
            self.faults = faults
            self._rng = random.Random(faults.seed)

    def draw(self, method: str) -> str | None:
        """``"429"``, ``"503"``, ``"lose"`` or ``None`` for one request."""
        with self._lock:
            f = self.faults
            x = self._rng.random()
            if x < f.rate_429:
                return "429"
            if x < f.rate_429 + f.rate_503:
                return "503"
            if method == "POST" and self._rng.random() < f.lose_response_rate:
                return "lose"
            return None


class TokenBucket:
    """A token bucket per client: ``rate_per_minute`` requests a minute, bursting to that many.

    Uses the real monotonic clock (not the sandbox clock), as the real rate limiter would.
    """

    def __init__(self, rate_per_minute: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if rate_per_minute <= 0:
            raise ValueError(f"rate_limit_per_minute={rate_per_minute!r} must be positive, or "
                             f"None to disable the rate limit.")
        self.capacity = float(rate_per_minute)
        self.rate = float(rate_per_minute) / 60.0
        self._clock = clock
        self._lock = threading.Lock()
        self._state: dict[str, tuple[float, float]] = {}

    def take(self, key: str) -> float:
        """Take one token for ``key``; return 0 if allowed, else the seconds until a token."""
        with self._lock:
            now = self._clock()
            tokens, last = self._state.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._state[key] = (tokens - 1.0, now)
                return 0.0
            self._state[key] = (tokens, now)
            return (1.0 - tokens) / self.rate

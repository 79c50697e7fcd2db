"""Deterministic identifiers and timestamps for the sandbox.

Every id is derived from the org seed and a label, so the same seed gives the same ids on any
machine and any day.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

import numpy as np


def make_id(seed: int, *parts: object) -> str:
    """A uuid-shaped id derived from ``seed`` and ``parts`` (stable across runs)."""
    h = hashlib.blake2b(":".join([str(seed), *map(str, parts)]).encode(), digest_size=16).hexdigest()
    # uuid version-4 layout (version nibble 4, variant 10xx), formatted without uuid.UUID
    variant = "89ab"[int(h[16], 16) & 3]
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:32]}"


def make_rng(seed: int, *parts: object) -> np.random.Generator:
    """A numpy Generator seeded from ``seed`` and ``parts`` (independent streams per label)."""
    digest = hashlib.sha256(":".join(["rng", str(seed), *map(str, parts)]).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def uniforms(seed: int, n: int, *parts: object) -> np.ndarray:
    """``n`` uniform(0, 1) numbers derived from ``seed`` and ``parts`` alone (a SHAKE-128
    stream: far cheaper than a Generator when each of many objects needs a few draws)."""
    digest = hashlib.shake_128(":".join(["u", str(seed), *map(str, parts)]).encode()).digest(8 * n)
    return (np.frombuffer(digest, dtype="<u8") >> np.uint64(11)) * (1.0 / (1 << 53))


def unit(seed: int, *parts: object) -> float:
    """One uniform [0, 1) number derived from ``seed`` and ``parts`` (no numpy, for a draw per
    object)."""
    digest = hashlib.blake2b(":".join(["unit", str(seed), *map(str, parts)]).encode(),
                             digest_size=8).digest()
    return (int.from_bytes(digest, "little") >> 11) / float(1 << 53)


def iso(ts: datetime) -> str:
    """Genesys date-time text: ``yyyy-MM-ddTHH:mm:ss.mmmZ`` in UTC."""
    if ts.utcoffset():
        ts = ts.astimezone(timezone.utc)
    return (f"{ts.year:04d}-{ts.month:02d}-{ts.day:02d}T{ts.hour:02d}:{ts.minute:02d}:"
            f"{ts.second:02d}.{ts.microsecond // 1000:03d}Z")


def parse_iso(text: str) -> datetime:
    """Parse an ISO-8601 date-time (``Z`` or offset; naive means UTC); ValueError otherwise."""
    if not isinstance(text, str) or not text:
        raise ValueError(f"{text!r} is not an ISO-8601 date-time; use e.g. 2026-08-01T00:00:00.000Z.")
    t = text.strip()
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    try:
        ts = datetime.fromisoformat(t)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not an ISO-8601 date-time; use e.g. "
                         f"2026-08-01T00:00:00.000Z.") from exc
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=timezone.utc)
    return ts.astimezone(timezone.utc)

"""Finding a running ``calib sandbox serve``, and reading any sandbox's clock.

While ``calib sandbox serve`` runs on a state folder it keeps ``server.json`` there::
    {"format": "calib-sandbox-server", "version": 1, "base_url": "http://127.0.0.1:8765",
     "pid": 4242, "seed": 7, "started_at": "2026-03-01T10:00:00+00:00"}

and removes it on exit. No credential is written: the demo client secret is derived from the
seed (:func:`calib.sandbox.server.demo_client_secret`). A file whose process is gone, or whose
server does not answer, is stale and ignored.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.error import URLError
from urllib.request import urlopen

from calib.genesys.client import GenesysClient
from calib.genesys.errors import GenesysError

from .ids import parse_iso
from .sandbox import _team_info
from .server import DEMO_CLIENT_ID, demo_client_secret

__all__ = ["RunningServer", "locate", "announce", "withdraw", "sandbox_now", "SERVER_FILE"]

SERVER_FILE = "server.json"
SERVER_FORMAT = "calib-sandbox-server"
SERVER_VERSION = 1


@dataclass(frozen=True)
class RunningServer:
    """A ``calib sandbox serve`` found by :func:`locate`.

    Attributes
    ----------
    base_url : str
        ``http://127.0.0.1:<port>``: the API origin (``GENESYSCLOUD_API_REGION``).
    pid : int
        The serving process.
    seed : int
        Its org seed (the demo client secret is derived from it).
    started_at : str
        When it started (ISO 8601, real time).
    state_dir : Path
        The state folder it serves.
    """

    base_url: str
    pid: int
    seed: int
    started_at: str
    state_dir: Path

    @property
    def client_id(self) -> str:
        return DEMO_CLIENT_ID

    @property
    def client_secret(self) -> str:
        """The demo secret, derived from the seed (not a credential of any real org)."""
        return demo_client_secret(self.seed)

    def client(self, **kwargs: Any):
        """A :class:`calib.genesys.GenesysClient` logged in to this server."""

        return GenesysClient(client_id=self.client_id, client_secret=self.client_secret,
                             base_url=self.base_url, **kwargs)

    def now(self) -> datetime:
        """The org clock of the server (one unauthenticated loopback GET, no token: cheap
        enough to pass as a clock callable, e.g. ``Store(url, clock=server.now)``)."""
        body = _get_clock(self.base_url, timeout=10.0)
        if body is None:
            raise ValueError(f"The sandbox server at {self.base_url} (pid {self.pid}) does not "
                             f"answer; start it again with `calib sandbox serve`.")
        return parse_iso(body["now"])

    def teams(self) -> dict[str, dict]:
        """The org's QM teams (``GET /api/v2/sandbox/teams``), as :meth:`Sandbox.teams`."""

        with self.client() as client:
            body = client.request("GET", "/api/v2/sandbox/teams")
        return {t["name"]: _team_info(t) for t in body["entities"]}

    def advance_clock(self, days: float | None = None, *,
                      to: datetime | None = None) -> dict[str, Any]:
        """Move the server's org clock (``POST /api/v2/sandbox/clock``).

        Returns
        -------
        dict
            The endpoint's answer: ``now``, ``previous``, ``evaluationsFinished``,
            ``finishedBy`` ({evaluator name: count}), ``evaluationsOpen``.
        """
        if (days is None) == (to is None):
            raise ValueError("Pass either days or to, not both.")
        body = {"advanceDays": days} if days is not None else {"to": to.isoformat()}
        with self.client() as client:
            return client.request("POST", "/api/v2/sandbox/clock", json=body, idempotent=False)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _get_clock(base_url: str, timeout: float) -> dict | None:
    """The sandbox clock endpoint's answer, None when nothing answers it as a sandbox."""
    try:
        with urlopen(f"{base_url}/api/v2/sandbox/clock", timeout=timeout) as response:
            body = json.loads(response.read())
    except (URLError, OSError, ValueError):
        return None
    return body if isinstance(body, dict) and "now" in body else None


def locate(state_dir: str | Path, *, timeout: float = 1.0) -> RunningServer | None:
    """The ``calib sandbox serve`` running on ``state_dir``, or None.

    Parameters
    ----------
    state_dir : str or Path
        The state folder (``outputs/sandbox/`` by convention).
    timeout : float
        Seconds to wait for the server's answer to a clock request (it is on loopback).

    Returns
    -------
    RunningServer or None
        None when there is no ``server.json``, or it is unreadable or stale (its process is
        gone or its URL does not answer as a sandbox).

    Examples
    --------
    >>> server = locate("outputs/sandbox")                           # doctest: +SKIP
    >>> client = server.client() if server else None                 # doctest: +SKIP
    """
    folder = Path(state_dir)
    try:
        doc = json.loads((folder / SERVER_FILE).read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("format") != SERVER_FORMAT or \
            doc.get("version") != SERVER_VERSION:
        return None
    try:
        server = RunningServer(str(doc["base_url"]), int(doc["pid"]), int(doc["seed"]),
                               str(doc["started_at"]), folder)
    except (KeyError, TypeError, ValueError):
        return None
    if not _alive(server.pid) or _get_clock(server.base_url, timeout) is None:
        return None
    return server


def announce(state_dir: str | Path, *, base_url: str, seed: int) -> Path:
    """Write ``server.json`` for this process (atomically); returns its path."""
    folder = Path(state_dir)
    folder.mkdir(parents=True, exist_ok=True)
    doc = {"format": SERVER_FORMAT, "version": SERVER_VERSION, "base_url": base_url,
           "pid": os.getpid(), "seed": int(seed),
           "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    path = folder / SERVER_FILE
    tmp = folder / f"{SERVER_FILE}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    os.replace(tmp, path)
    return path


def withdraw(state_dir: str | Path) -> bool:
    """Remove ``server.json`` if this process wrote it; True when removed."""
    path = Path(state_dir) / SERVER_FILE
    try:
        if json.loads(path.read_bytes()).get("pid") != os.getpid():
            return False
    except (OSError, ValueError, AttributeError):
        return False
    path.unlink(missing_ok=True)
    return True


def sandbox_now(client: Any) -> datetime:
    """The org clock of the sandbox ``client`` talks to (``GET /api/v2/sandbox/clock``).

    Deadline checks against a sandbox must use this, not the system clock: the sandbox's clock
    starts at 2026-11-09T09:00Z and moves only with ``calib sandbox advance``.

    Parameters
    ----------
    client : calib.genesys.GenesysClient
        A client of a sandbox (in-process, persisted or ``calib sandbox serve``).

    Returns
    -------
    datetime
        Timezone-aware UTC.

    Raises
    ------
    ValueError
        The client's API is not a calib sandbox (a real org has no sandbox clock: use the
        system clock there).
    """

    try:
        body = client.request("GET", "/api/v2/sandbox/clock")
    except GenesysError as exc:
        raise ValueError(f"{client.base_url} has no sandbox clock ({exc}); it is not a calib "
                         f"sandbox, so use the system clock for it.") from None
    if not isinstance(body, dict) or "now" not in body:
        raise ValueError(f"{client.base_url} answered the sandbox clock request without a time; "
                         f"it is not a calib sandbox.")
    return parse_iso(body["now"])

"""``Sandbox``: start the sandbox server in a background thread, as a context manager."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from calib.genesys.client import GenesysClient

from .faults import Faults
from .org import Org, Truth, generate_org
from .routes_sandbox import team_entities
from .server import SandboxServer

__all__ = ["Sandbox"]


class Sandbox:
    """A Genesys Cloud look-alike serving a synthetic org on ``127.0.0.1:<free port>``.

    The org lives in memory and is gone when the process ends; for a demo org that outlives
    the process use :func:`calib.sandbox.open_persistent` (which serves a loaded org through
    this class) or a running ``calib sandbox serve`` (:func:`calib.sandbox.locate`).

    Parameters
    ----------
    seed : int
        Org seed (default 7); the same seed gives the same org and responses.
    faults : Faults, optional
        Fault injection (default: none).
    rate_limit_per_minute : float or None
        Token bucket per OAuth client (default 300, as Genesys); ``None`` disables it.
    port : int
        Port to bind (0 = a free port).
    token_ttl_seconds : int
        Lifetime of issued access tokens (default 86400, as Genesys).
    org : Org, optional
        Serve this org instead of generating one (e.g. a large org for benchmarks).

    Examples
    --------
    >>> with Sandbox(seed=7, rate_limit_per_minute=None) as sb:   # doctest: +SKIP
    ...     client = sb.client()
    """

    def __init__(self, seed: int = 7, faults: Faults | None = None,
                 rate_limit_per_minute: float | None = 300, *, port: int = 0,
                 token_ttl_seconds: int = 86400, org: Org | None = None,
                 **org_sizes: Any) -> None:
        if faults is not None and not isinstance(faults, Faults):
            raise ValueError("faults must be a calib.sandbox.Faults instance or None.")
        self.seed = seed
        self._faults = faults or Faults()
        self._rate = rate_limit_per_minute
        self._port = port
        self._ttl = token_ttl_seconds
        self._org = org
        self._org_sizes = org_sizes
        self._server: SandboxServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle
    def start(self) -> "Sandbox":
        """Generate the org (unless given) and start serving; returns self."""
        if self._server is not None:
            return self
        org = self._org or generate_org(self.seed, **self._org_sizes)
        self._server = SandboxServer(org, port=self._port, faults=self._faults,
                                     rate_limit_per_minute=self._rate,
                                     token_ttl_seconds=self._ttl)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        name="calib-sandbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "Sandbox":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.base_url if self._server else "not started"
        return f"Sandbox(seed={self.seed}, {where})"

    # ------------------------------------------------------------ accessors
    @property
    def server(self) -> SandboxServer:
        if self._server is None:
            raise RuntimeError("The sandbox is not running; use it as a context manager or "
                               "call start() first.")
        return self._server

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``: the API origin; tokens come from ``/oauth/token`` on it."""
        return self.server.base_url

    @property
    def client_id(self) -> str:
        return self.server.client_id

    @property
    def client_secret(self) -> str:
        """The sandbox's demo secret (not a real credential)."""
        return self.server.client_secret

    @property
    def org(self) -> Org:
        return self.server.org

    @property
    def truth(self) -> Truth:
        return self.server.org.truth

    def client(self, **kwargs: Any):
        """A :class:`calib.genesys.GenesysClient` logged in to this sandbox."""

        return GenesysClient(client_id=self.client_id, client_secret=self.client_secret,
                             base_url=self.base_url, **kwargs)

    # --------------------------------------------------------------- control
    def teams(self) -> dict[str, dict]:
        """The org's QM teams: ``{name: {calibrator_email, calibrator_id, expert_id,
        panel_ids}}`` (the same answer as ``GET /api/v2/sandbox/teams``)."""
        return {t["name"]: _team_info(t) for t in _team_entities(self.server.org)}

    def now(self) -> datetime:
        """The sandbox clock (for a persisted org: after catching up with other processes)."""
        org = self.server.org
        org.sync()
        return org.now()

    def advance_clock(self, days: float = 0.0, *, to: datetime | None = None) -> datetime:
        """Advance the sandbox clock; simulated evaluators finish what is due by then."""
        return self.server.org.advance_clock(days=days, to=to)

    def set_faults(self, **changes: Any) -> Faults:
        """Change fault settings (``rate_429``, ``rate_503``, ``latency_ms``,
        ``lose_response_rate``, ``retry_after_s``, ``seed``); returns the new settings."""
        faults = self.server.faults.faults.updated(**changes)
        self.server.faults.set(faults)
        return faults

    def expire_tokens(self) -> None:
        """Expire every issued access token (the next API call gets 401)."""
        self.server.expire_tokens()


def _team_entities(org: Org) -> list[dict]:
    return team_entities(org)


def _team_info(entity: dict) -> dict:
    return {"calibrator_email": entity["calibratorEmail"], "calibrator_id": entity["calibratorId"],
            "expert_id": entity["expertId"], "panel_ids": tuple(entity["panelIds"])}

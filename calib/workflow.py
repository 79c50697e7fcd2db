"""The session workflow from parameters: connect, select, plan. Shared by the ``calib select``,
``calib create`` and ``calib status`` verbs and by notebooks 01 and 02.

>>> conn = open_connection("sandbox", 7)                                  # doctest: +SKIP
>>> selection, plan = select_session(conn, check_select_params(params))   # doctest: +SKIP
>>> conn.close()                                                          # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from calib.selection import Selection, select_candidates
from calib.sessions import SessionPlan, published_form_id, user_ids_by_email
from calib.values import read_yaml

__all__ = ["SELECT_KEYS", "Connection", "open_connection", "open_store", "project_path", "check_select_params",
           "read_select_params", "select_session"]

# Selection parameters: name → type. parameters/select-demo.yaml documents each one.
SELECT_KEYS: Mapping[str, type] = {
    "team": str, "month": str, "backend": str, "sandbox_seed": int, "start": str, "end": str,
    "n": int, "focus": str, "seed": int, "calibrator_email": str, "expert_email": str,
    "panel_emails": list, "form_name": str, "deadline": str, "session_name": str,
    "profiles": str, "out": str,
}


@dataclass
class Connection:
    """A client, and the in-process sandbox serving it when the backend is ``sandbox``."""

    client: Any
    sandbox: Any = None

    def now(self) -> datetime:
        """The present: the sandbox's clock, or the system clock for a real org."""
        return self.sandbox.now() if self.sandbox is not None else datetime.now(timezone.utc)

    def close(self) -> None:
        """Close the client and stop the sandbox."""
        self.client.close()
        if self.sandbox is not None:
            self.sandbox.stop()

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_connection(backend: Literal["genesys", "sandbox"] = "genesys", sandbox_seed: int = 7) -> Connection:
    """Connect to Genesys Cloud (``GENESYSCLOUD_*`` environment variables) or start a sandbox.

    An in-process sandbox lives as long as the connection: what is created in it is gone after
    :meth:`Connection.close`. Serve one with ``calib sandbox serve`` to keep state between runs.
    """
    if backend == "sandbox":
        from calib.sandbox import Sandbox

        sandbox = Sandbox(seed=int(sandbox_seed), rate_limit_per_minute=None).start()
        return Connection(sandbox.client(), sandbox)
    if backend != "genesys":
        raise ValueError(f"backend {backend!r} is neither 'genesys' nor 'sandbox'; pick one.")
    from calib.genesys import GenesysClient

    return Connection(GenesysClient.from_env())


def check_select_params(params: Mapping[str, Any], *, source: str = "the parameters") -> dict[str, Any]:
    """Check selection parameters: every key of :data:`SELECT_KEYS`, no other, right types.

    Raises
    ------
    ValueError
        Naming unknown and missing keys, or a key of the wrong type.
    """
    unknown = sorted(set(params) - set(SELECT_KEYS))
    missing = sorted(set(SELECT_KEYS) - set(params))
    if unknown or missing:
        raise ValueError(f"{source}: unknown key(s) {unknown} and missing key(s) {missing}; "
                         f"see parameters/select-demo.yaml for the keys.")
    for key, kind in SELECT_KEYS.items():
        value = params[key]
        if isinstance(value, bool) or not isinstance(value, kind):
            raise ValueError(f"{source}: {key} must be a {kind.__name__}, not "
                             f"{type(value).__name__} (quote dates and months).")
    if params["backend"] not in ("genesys", "sandbox"):
        raise ValueError(f"{source}: backend must be 'genesys' or 'sandbox', not {params['backend']!r}.")
    return dict(params)


def read_select_params(path: str | Path) -> dict[str, Any]:
    """Read and check a selection parameters YAML file (dates stay strings)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"The parameters file {str(path)!r} does not exist; copy "
                         f"parameters/select-demo.yaml.")
    return check_select_params(read_yaml(path, what="Selection parameters"), source=str(path))


def select_session(conn: Connection, params: Mapping[str, Any]) -> tuple[Selection, SessionPlan]:
    """Select candidates and build the session plan described by ``params``.

    People are named by email; on the sandbox an empty ``panel_emails`` takes the team's panel
    and calibrator from the sandbox's ground truth, and the sandbox's score history steers the
    gray-area preference.

    Returns
    -------
    (Selection, SessionPlan)
    """
    p = check_select_params(params)
    client, sb = conn.client, conn.sandbox
    if sb is not None and not p["panel_emails"]:
        if p["team"] not in sb.truth.teams:
            raise ValueError(f"The sandbox has no team {p['team']!r}; use one of "
                             f"{sorted(sb.truth.teams)}.")
        team = sb.truth.teams[p["team"]]
        calibrator, expert, panel = team["calibrator_id"], team["expert_id"], list(team["panel_ids"])
    else:
        calibrator, expert = user_ids_by_email(client, [p["calibrator_email"], p["expert_email"]])
        panel = user_ids_by_email(client, p["panel_emails"])
    history = sb.org.tidy_scores() if sb is not None else None
    selection = select_candidates(client, start=p["start"], end=p["end"], n=p["n"],
                                  focus=p["focus"], panel_ids=[*panel, expert],
                                  calibrator_id=calibrator, history=history, seed=p["seed"],
                                  profiles=p["profiles"] or None)
    plan = SessionPlan.from_selection(
        selection.candidates, name=p["session_name"] or f"{p['team']} {p['month']} {p['focus']}",
        team=p["team"], month=p["month"], focus=p["focus"],
        form_id=published_form_id(client, p["form_name"] or None), calibrator_id=calibrator,
        expert_id=expert, panel_ids=panel, deadline=p["deadline"])
    return selection, plan


def project_path(path: str | Path) -> Path:
    """Resolve a relative path such as ``parameters/sessions/x.yaml`` against the project root.

    Notebooks run with ``notebooks/`` as working directory, the CLI from the project root; the
    root is the nearest directory (the working directory or a parent) holding ``parameters/``.
    """
    path = Path(path)
    if path.is_absolute():
        return path
    here = Path.cwd()
    for base in (here, *here.parents):
        if (base / "parameters").is_dir():
            return base / path
    return here / path


def open_store(store_url: str) -> Any:
    """A :class:`calib.store.Store` for ``store_url``, or None when it is empty."""
    if not store_url:
        return None
    from calib.store import Store

    return Store(store_url)

"""Sandbox-only endpoints: the clock and fault settings (no Genesys equivalent)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .http import Request, bad_request
from .ids import iso, parse_iso

if TYPE_CHECKING:  # pragma: no cover - the server imports the routes
    from .server import SandboxServer


def get_clock(server: SandboxServer, req: Request) -> tuple[int, Any]:
    return 200, {"now": iso(server.org.now())}


def get_teams(server: SandboxServer, req: Request) -> tuple[int, Any]:
    """The demo org's QM teams (sandbox only: Genesys Cloud has no team of calibrations)."""
    return 200, {"entities": team_entities(server.org)}


def team_entities(org: Any) -> list[dict[str, Any]]:
    """``[{name, calibratorEmail, calibratorId, expertId, panelIds}]`` of an org's teams."""
    return [{"name": name, "calibratorEmail": info["calibrator_email"],
             "calibratorId": info["calibrator_id"], "expertId": info["expert_id"],
             "panelIds": list(info["panel_ids"])} for name, info in sorted(org.teams.items())]


def post_clock(server: SandboxServer, req: Request) -> tuple[int, Any]:
    """Move the clock; answers the new time, the old one and what evaluators finished between."""
    body = req.body
    if not isinstance(body, dict) or ("advanceDays" in body) == ("to" in body):
        raise bad_request('Send {"advanceDays": n} or {"to": "2026-11-16T09:00:00.000Z"}.')
    org = server.org
    try:
        with org.changing():
            before = org.now()
            if "advanceDays" in body:
                days = body["advanceDays"]
                if not isinstance(days, (int, float)) or isinstance(days, bool) or days < 0:
                    raise ValueError("advanceDays must be a non-negative number of days.")
                after = org.advance_clock(days=float(days))
            else:
                after = org.advance_clock(to=parse_iso(body["to"]))
    except ValueError as exc:
        raise bad_request(str(exc), "invalid.value") from None
    progress = org.evaluation_progress(before, after)
    return 200, {"now": iso(after), "previous": iso(before),
                 "evaluationsFinished": progress["finished"],
                 "finishedBy": progress["finished_by"], "evaluationsOpen": progress["open"]}


def put_faults(server: SandboxServer, req: Request) -> tuple[int, Any]:
    body = req.body
    if not isinstance(body, dict):
        raise bad_request("Send a JSON object of fault settings, e.g. {\"rate_429\": 0.2}.")
    try:
        faults = server.faults.faults.updated(**body)
    except (TypeError, ValueError) as exc:
        raise bad_request(str(exc), "invalid.value") from None
    server.faults.set(faults)
    return 200, {k: getattr(faults, k) for k in ("rate_429", "rate_503", "latency_ms",
                                                   "lose_response_rate", "retry_after_s", "seed")}


ROUTES = [
    ("GET", re.compile(r"/api/v2/sandbox/clock"), get_clock),
    ("GET", re.compile(r"/api/v2/sandbox/teams"), get_teams),
    ("POST", re.compile(r"/api/v2/sandbox/clock"), post_clock),
    ("PUT", re.compile(r"/api/v2/sandbox/faults"), put_faults),
]

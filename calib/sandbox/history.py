"""The org's calibration history: monthly sessions per team, the open November session.

Built by :class:`calib.sandbox.org.Org` from the seed (the quarterly leadership sessions are in
:mod:`calib.sandbox.leadership`).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import numpy as np

from . import leadership
from .ids import make_rng
from .people import Person
from .truth import TEAM_SPECS

if TYPE_CHECKING:  # pragma: no cover
    from .org import Calibration, Org, OrgSize

START_CLOCK = datetime(2026, 11, 9, 9, 0, tzinfo=timezone.utc)
V2_FROM = "2026-08"


def month_start(month: str) -> datetime:
    return datetime(int(month[:4]), int(month[5:7]), 1, tzinfo=timezone.utc)


def month_of(ts: datetime) -> str:
    return ts.strftime("%Y-%m")


def per_month_for(size: "OrgSize", team: str) -> int:
    return int(size.calls_per_month.get(team, 0))


def form_for(org: "Org", when: datetime) -> dict:
    """The form version in use at ``when`` (v2 from 2026-08)."""
    return org.forms[0] if month_of(when) < V2_FROM else org.forms[1]


def build_history(org: "Org") -> None:
    """Every team's finished monthly calibrations, the open November session of demo and
    the leadership team's quarterly sessions."""
    rng = make_rng(org.seed, "history")
    for team in TEAM_SPECS:
        if team not in org.teams:
            continue
        months = org.size.months if team != "pilot" else org.size.months[-1:]
        per_month = org.size.calls_per_month.get(team, 1)
        for month in months:
            start = month_start(month)
            agents = rng.choice(len(org.agents) - 1, size=per_month,
                                replace=per_month > len(org.agents) - 1)
            for i in range(per_month):
                day = int(rng.integers(2, 26))
                created = start + timedelta(days=day, hours=int(rng.integers(8, 17)))
                conv_start = created - timedelta(days=float(rng.uniform(1, 4)))
                add_calibration(org, team, f"{team} {month} #{i + 1}",
                                org.agents[int(agents[i])], conv_start, created, rng,
                                finish_all=True)
    if "demo" in org.teams and per_month_for(org.size, "demo"):
        created = datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc)
        n = min(max(per_month_for(org.size, "demo"), 1), 6)
        agents = rng.choice(len(org.agents) - 1, size=n, replace=n > len(org.agents) - 1)
        for i in range(n):
            conv_start = datetime(2026, 10, 27, 9, tzinfo=timezone.utc) + timedelta(
                days=float(rng.uniform(0, 4)))
            add_calibration(org, "demo", f"demo 2026-11 #{i + 1}",
                                          org.agents[int(agents[i])], conv_start, created,
                                          rng, finish_all=False)
    rng = make_rng(org.seed, "history", leadership.TEAM)
    for name, agent, conv_start, created in leadership.history_plan(org, rng):
        add_calibration(org, leadership.TEAM, name, agent, conv_start, created, rng,
                        finish_all=True)


def add_calibration(org: "Org", team: str, name: str, agent: Person, conv_start: datetime,
                    created: datetime, rng: np.random.Generator, *, finish_all: bool,
                    form: dict | None = None) -> Calibration:
    """One calibration of ``team`` on ``form`` (default: the Voice Quality version in use at
    ``created``), its evaluations finished by everyone (``finish_all``) or in the mix of the
    open November session."""
    info = org.teams[team]
    conv_id = org.conversations.add_calibrated(agent.id, conv_start)
    form = form or form_for(org, created)
    cal = org._new_calibration(name, team, info["calibrator_id"], agent.id, conv_id,
                                form["id"], created, info["expert_id"], list(info["panel_ids"]))
    n = len(cal.evaluation_ids)
    if finish_all:
        starts = rng.uniform(2, 48, n)
        works = rng.uniform(0.3, 80, n)
        for j, eid in enumerate(cal.evaluation_ids):
            ev = org.evaluations[eid]
            ev.started_at = created + timedelta(hours=float(starts[j]))
            ev.finished_at = ev.started_at + timedelta(hours=float(works[j]))
        return cal
    for j, eid in enumerate(cal.evaluation_ids):
        ev = org.evaluations[eid]
        # the open November session: a mix of finished, in progress and pending
        phase = j % 3 if ev.role == "evaluator" else 0
        if phase == 0:
            ev.started_at = created + timedelta(days=float(rng.uniform(0.5, 2)))
            ev.finished_at = ev.started_at + timedelta(days=float(rng.uniform(0.1, 2.5)))
        elif phase == 1:
            ev.started_at = created + timedelta(days=float(rng.uniform(5.2, 6.5)))
            ev.finished_at = START_CLOCK + timedelta(days=float(rng.uniform(1, 5)))
        else:
            ev.started_at = START_CLOCK + timedelta(days=float(rng.uniform(3, 9)))
            ev.finished_at = (None if org.truth.never_finishes.get(ev.evaluator_id)
                              else ev.started_at + timedelta(days=float(rng.uniform(1, 6))))
    return cal

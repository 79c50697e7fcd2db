"""The QM leadership team: the quarterly calibration of the calibrators.

Once a quarter the calibrators of the teams ("demo" and "north") score the same calls as two QM
leads, so that each calibrator can be compared with leadership (``calib.quarterly``). In the
sandbox the team ``"leadership"`` has:

* calibrator Morgan Lee (``morgan.lee@demo.example``), a QM lead who also scores;
* expert Priya Nair (``priya.nair@demo.example``), the other QM lead (the scoring index);
* panel (``panel_ids``, the evaluators besides the expert): the demo calibrator, the north
  calibrator and Morgan Lee;
* finished quarterly sessions in 2026-08, 2026-09 and 2026-10 (four calls each, form v2).

The calibrators score these calls as they score their own teams' calls, drift included: the demo
calibrator's drift that month shows against the leads. The leads are steady (severity 0, low
noise, no drift). Everything is drawn from its own random streams, so adding the team leaves the
other teams' people, truth and history as they were.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

from .ids import make_id, make_rng
from .people import Person

if TYPE_CHECKING:  # pragma: no cover
    from .org import Org

TEAM = "leadership"
LEADS = (("calibrator", "Morgan Lee", "morgan.lee@demo.example"),
         ("expert", "Priya Nair", "priya.nair@demo.example"))
QUARTER = ("2026-08", "2026-09", "2026-10")
CALLS_PER_MONTH = 4
MEMBER_TEAMS = ("demo", "north")


def reserve_names(names: set[str], emails: set[str]) -> None:
    """Keep the leads' names and emails out of the generated people."""
    names.update(name for _, name, _ in LEADS)
    emails.update(email for _, _, email in LEADS)


def add_team(org: "Org") -> None:
    """Add the two QM leads to ``org.people`` and the team to ``org.teams``."""
    if not all(t in org.teams for t in MEMBER_TEAMS):
        return
    leads = {}
    for role, name, email in LEADS:
        person = Person(make_id(org.seed, "user", "lead", role), name, email, "QM Lead",
                        "Quality")
        org.people[person.id] = person
        leads[role] = person
    members = tuple(org.teams[t]["calibrator_id"] for t in MEMBER_TEAMS)
    org.teams[TEAM] = {"calibrator_email": leads["calibrator"].email,
                       "calibrator_id": leads["calibrator"].id,
                       "panel_ids": (*members, leads["calibrator"].id),
                       "expert_id": leads["expert"].id}


def add_truth(org: "Org", severity: dict, noise: dict, reading: dict,
              ambiguity: dict[str, float]) -> None:
    """The leads' ground truth: steady (severity 0, no drift), careful, own readings."""
    info = org.teams.get(TEAM)
    if info is None:
        return
    rng = make_rng(org.seed, "truth", TEAM)
    for pid in (info["calibrator_id"], info["expert_id"]):
        severity[pid] = 0.0
        noise[pid] = round(float(rng.uniform(0.35, 0.7)), 3)
        raw = {q: float(rng.normal(0, 0.045)) * a * a for q, a in ambiguity.items()}
        centre = float(np.mean(list(raw.values())))
        for q, v in raw.items():
            reading[(pid, q)] = round(v - centre, 4)


def history_plan(org: "Org", rng: Any) -> Iterator[tuple[str, Person, datetime, datetime]]:
    """The finished quarterly sessions inside the org's history, one ``(name, agent,
    conversation start, created)`` per calibration, for :mod:`calib.sandbox.history` to add
    (finished by everyone). A generator drawing from ``rng`` as it goes, so the draws interleave
    with the calibrations history adds from the same stream."""
    if org.teams.get(TEAM) is None:
        return
    for month in (m for m in QUARTER if m in org.size.months):
        start = datetime(int(month[:4]), int(month[5:7]), 1, tzinfo=timezone.utc)
        agents = rng.choice(len(org.agents) - 1, size=CALLS_PER_MONTH,
                            replace=CALLS_PER_MONTH > len(org.agents) - 1)
        for i in range(CALLS_PER_MONTH):
            created = start + timedelta(days=int(rng.integers(18, 26)),
                                        hours=int(rng.integers(9, 16)))
            conv_start = created - timedelta(days=float(rng.uniform(2, 6)))
            yield f"{TEAM} {month} #{i + 1}", org.agents[int(agents[i])], conv_start, created

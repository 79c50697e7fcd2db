"""Who holds a team's calibrator role each cycle: the file's schedule, and rotations applied.

The seed's "calibrator" is the **expert evaluator**: the person whose evaluation of each call is
the scoring index (Genesys ``expertEvaluator``). A program names it with ``expert_email`` or
rotates it with ``calibrator_rotation`` / ``rotate_calibrator_every``
(:meth:`calib.program.spec.Program.cycle`). ``calibrator_email`` stays the session owner (the
Genesys ``calibrator`` field, under which calib creates, finds and syncs the team's
calibrations), so a rotation never loses a cycle's calibrations.

On top of the file, the store's ``program_rotations`` table records rotations:

* ``proposed`` — the quarterly calibration of calibrators (a ``quarterly_review`` program,
  :mod:`calib.program.review`) proposes who should take a flagged calibrator's role; nothing
  changes yet;
* ``applied`` — ``calib program rotate FILE --yes`` applies the team's pending proposal (or a
  person named with ``--to``) from the team's next cycle to select on: that cycle and every
  later one use the new expert, until a later rotation is applied. A cycle already selected
  keeps its plan (its calibrations exist, or are fixed in the ledger);
* ``superseded`` — a proposal set aside when another one of the team was applied.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa

from calib.program.spec import Cycle, Program
from calib.store import Store

__all__ = ["ROTATION_COLUMNS", "rotations", "propose", "pending", "apply_rotation",
           "next_cycle_to_select", "cycle_for", "applied_rotations"]

ROTATION_COLUMNS = ["rotation_id", "team", "expert_email", "expert_name", "state", "from_cycle",
                    "source", "reason", "proposed_at", "applied_at", "applied_by"]


def _table(store: Store) -> sa.Table:
    return store._tables["program_rotations"]


def rotations(store: Store, team: str | None = None) -> pd.DataFrame:
    """The recorded rotations (columns :data:`ROTATION_COLUMNS`), oldest first."""
    table = _table(store)
    query = sa.select(table).order_by(table.c.rotation_id)
    if team is not None:
        query = query.where(table.c.team == team)
    rows = store._read(lambda c: [dict(r._mapping) for r in c.execute(query)])
    frame = pd.DataFrame(rows, columns=ROTATION_COLUMNS)
    for column in ("proposed_at", "applied_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def propose(store: Store, team: str, expert_email: str, *, expert_name: str, source: str,
            reason: str) -> tuple[int, bool]:
    """Record a proposal that ``expert_email`` take ``team``'s calibrator role.

    Idempotent by ``(team, source)``: a rerun of the same review finds its proposal and adds
    none. Returns ``(rotation_id, created)``.
    """
    table = _table(store)
    now = store.now()

    def write(conn: sa.Connection) -> tuple[int, bool]:
        found = conn.execute(sa.select(table.c.rotation_id).where(
            table.c.team == team, table.c.source == source)).first()
        if found is not None:
            return int(found.rotation_id), False
        result = conn.execute(table.insert().values(
            team=team, expert_email=expert_email, expert_name=expert_name, state="proposed",
            from_cycle=None, source=source, reason=reason, proposed_at=now))
        return int(result.inserted_primary_key[0]), True

    return store._write(write)


def pending(store: Store, team: str) -> dict[str, Any] | None:
    """The team's latest proposal not applied yet, as a row dict; None when there is none."""
    frame = rotations(store, team)
    frame = frame[frame["state"] == "proposed"]
    return None if frame.empty else frame.iloc[-1].to_dict()


def applied_rotations(store: Store, team: str) -> list[dict[str, Any]]:
    """The team's applied rotations, in the order they take effect (cycle, then when applied)."""
    frame = rotations(store, team)
    frame = frame[frame["state"] == "applied"].sort_values(["from_cycle", "rotation_id"])
    return frame.to_dict("records")


def next_cycle_to_select(program: Program, store: Store, now: datetime) -> int:
    """The first cycle whose calls are not picked yet: the running one while its select step is
    not final and its deadline has not passed, else the one after it (0 before the anchor)."""
    from calib.program.ledger import record

    current = program.cycle_index(now)
    if current is None:
        return 0
    picked = record(store, program.team, current, "select")
    if (picked is None or not picked.final) and now < program.cycle(current).deadline:
        return current
    return current + 1


def apply_rotation(store: Store, program: Program, now: datetime, *, by: str,
                   rotation_id: int | None = None, expert_email: str | None = None,
                   expert_name: str = "") -> dict[str, Any]:
    """Apply a rotation from the team's next cycle to select on; return the applied row.

    Either ``rotation_id`` (a proposal of this team) or ``expert_email`` (a person named by
    hand, recorded with source "by hand") is given. Other proposals of the team still pending
    are marked ``superseded``. One transaction: a failure applies nothing.

    Raises
    ------
    ValueError
        When the proposal is not this team's pending one, or neither or both are given.
    """
    if (rotation_id is None) == (expert_email is None):
        raise ValueError("Apply either a proposal (rotation_id) or a person (expert_email).")
    table = _table(store)
    team = program.team
    from_cycle = next_cycle_to_select(program, store, now)
    stamp = store.now()

    def write(conn: sa.Connection) -> int:
        if rotation_id is None:
            source = f"by hand: {by} at {stamp:%Y-%m-%d %H:%M:%S} UTC"
            result = conn.execute(table.insert().values(
                team=team, expert_email=expert_email, expert_name=expert_name or expert_email,
                state="applied", from_cycle=from_cycle, source=source,
                reason=f"{expert_name or expert_email} named by {by}.", proposed_at=stamp,
                applied_at=stamp, applied_by=by))
            chosen = int(result.inserted_primary_key[0])
        else:
            row = conn.execute(sa.select(table.c.state, table.c.team).where(
                table.c.rotation_id == int(rotation_id))).first()
            if row is None or row.team != team or row.state != "proposed":
                raise ValueError(f"Rotation #{rotation_id} is not a pending proposal of team "
                                 f"{team}; `calib program status` lists the pending one.")
            conn.execute(table.update().where(table.c.rotation_id == int(rotation_id)).values(
                state="applied", from_cycle=from_cycle, applied_at=stamp, applied_by=by))
            chosen = int(rotation_id)
        conn.execute(table.update().where(table.c.team == team, table.c.state == "proposed",
                                          table.c.rotation_id != chosen)
                     .values(state="superseded"))
        return chosen

    chosen = store._write(write)
    frame = rotations(store, team)
    return frame[frame["rotation_id"] == chosen].iloc[0].to_dict()


def cycle_for(program: Program, index: int, applied: list[dict[str, Any]]) -> Cycle:
    """Cycle ``index`` with the expert that holds the role then: the latest applied rotation
    taking effect at or before it, else the file's (``expert_email`` or the schedule).

    ``applied`` is :func:`applied_rotations` of the program's team (read once per tick)."""
    cycle = program.cycle(index)
    holding = [r for r in applied if int(r["from_cycle"]) <= index]
    if not holding:
        return cycle
    last = holding[-1]
    name = last["expert_name"] or last["expert_email"]
    return dataclasses.replace(
        cycle, expert_email=str(last["expert_email"]),
        expert_source=f"rotation #{int(last['rotation_id'])} ({name}, from cycle "
                      f"{program.cycle(int(last['from_cycle'])).label}; {last['source']})")

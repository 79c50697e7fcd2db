"""The program's ledger: every step of every cycle, recorded in the store's ``program_steps``.

One row per team, cycle and step. A step is ``started`` (its attempt count raised) before it
acts and ``done``, ``skipped`` or ``failed`` after; a tick killed in the middle leaves
``started``, and the next tick does the step again (every step is idempotent on its own: the
plan is kept in the select row, creation finds what exists). A ``done`` or ``skipped`` row is
final: no tick acts on it again.

The store has no public method for this new table, so the ledger uses the store's own
one-transaction helpers (``Store._write`` / ``Store._read``), as a module of the store would.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import pandas as pd
import sqlalchemy as sa

from calib.store import Store
from calib.store import convert as cv

__all__ = ["STEPS", "FINAL_STATES", "StepRecord", "step_records", "begin_step", "end_step",
           "LEDGER_COLUMNS"]

Step = Literal["select", "create", "status", "reveal", "report", "close"]
#: The steps of a cycle, in the order they happen.
STEPS: tuple[str, ...] = ("select", "create", "status", "reveal", "report", "close")
StepState = Literal["started", "done", "skipped", "failed"]
#: States after which a step never acts again.
FINAL_STATES = frozenset({"done", "skipped"})
LEDGER_COLUMNS = ["team", "cycle", "step", "cycle_start", "state", "attempts", "started_at",
                  "finished_at", "outcome", "detail"]


@dataclass(frozen=True)
class StepRecord:
    """One ledger row; ``detail`` is the step's JSON detail, parsed."""

    team: str
    cycle: int
    step: str
    cycle_start: datetime
    state: str
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    outcome: str
    detail: dict[str, Any]

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES


def _table(store: Store) -> sa.Table:
    return store._tables["program_steps"]


def step_records(store: Store, team: str | None = None, cycle: int | None = None
                 ) -> pd.DataFrame:
    """The ledger (columns :data:`LEDGER_COLUMNS`), by team, cycle and step order."""
    table = _table(store)
    query = sa.select(table)
    if team is not None:
        query = query.where(table.c.team == team)
    if cycle is not None:
        query = query.where(table.c.cycle == int(cycle))
    rows = store._read(lambda c: [dict(r._mapping) for r in c.execute(query)])
    frame = pd.DataFrame(rows, columns=LEDGER_COLUMNS)
    for column in ("cycle_start", "started_at", "finished_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    frame["detail"] = [json.loads(d) if d else {} for d in frame["detail"]]
    order = {s: i for i, s in enumerate(STEPS)}
    return (frame.assign(_o=frame["step"].map(order)).sort_values(["team", "cycle", "_o"])
            .drop(columns="_o").reset_index(drop=True))


def record(store: Store, team: str, cycle: int, step: str) -> StepRecord | None:
    """The row of one step, or None when no tick has touched it."""
    table = _table(store)
    query = sa.select(table).where(table.c.team == team, table.c.cycle == int(cycle),
                                   table.c.step == step)
    rows = store._read(lambda c: [dict(r._mapping) for r in c.execute(query)])
    if not rows:
        return None
    row = rows[0]
    return StepRecord(team=row["team"], cycle=row["cycle"], step=row["step"],
                      cycle_start=row["cycle_start"], state=row["state"],
                      attempts=row["attempts"], started_at=row["started_at"],
                      finished_at=row["finished_at"], outcome=row["outcome"] or "",
                      detail=json.loads(row["detail"]) if row["detail"] else {})


def begin_step(store: Store, team: str, cycle: int, step: str, cycle_start: datetime) -> int:
    """Mark a step ``started`` (one more attempt) before it acts; return the attempt number.

    Raises
    ------
    ValueError
        When the step is already final (a caller bug: the tick checks first).
    """
    if step not in STEPS:
        raise ValueError(f"Unknown program step {step!r}; the steps are {', '.join(STEPS)}.")
    table = _table(store)
    now = store.now()

    def write(conn: sa.Connection) -> int:
        where = (table.c.team == team) & (table.c.cycle == int(cycle)) & (table.c.step == step)
        row = conn.execute(sa.select(table.c.state, table.c.attempts).where(where)).first()
        if row is None:
            conn.execute(table.insert().values(
                team=team, cycle=int(cycle), step=step,
                cycle_start=cv.to_naive_utc(cycle_start, what="cycle_start"), state="started",
                attempts=1, started_at=now, finished_at=None, outcome="", detail=None))
            return 1
        if row.state in FINAL_STATES:
            raise ValueError(f"The {step} step of {team}'s cycle {cycle} is already "
                             f"{row.state}; it is never done twice.")
        conn.execute(table.update().where(where).values(state="started", started_at=now,
                                                        attempts=row.attempts + 1))
        return row.attempts + 1

    return store._write(write)


def end_step(store: Store, team: str, cycle: int, step: str, state: StepState, outcome: str,
             detail: dict[str, Any] | None = None) -> None:
    """Record how a started step ended: its state, its outcome in words, its JSON detail."""
    table = _table(store)
    now = store.now()
    values: dict[str, Any] = {"state": state, "outcome": outcome,
                              "finished_at": now if state in FINAL_STATES else None}
    if detail is not None:
        values["detail"] = json.dumps(detail, sort_keys=True, default=str)
    where = (table.c.team == team) & (table.c.cycle == int(cycle)) & (table.c.step == step)
    store._write(lambda c: c.execute(table.update().where(where).values(**values)))

"""One tick of a team's program: from the clock, do what is due and record it; nothing else.

A tick holds the store lock ``program:<team>`` for its whole run, so two ticks of one team
(two cron jobs, a cron job and an analyst) never both act: the second finds the lock taken and
stops at once. Inside, it walks the team's cycles from the oldest one not closed to the one
running now, and for each does the steps whose time has come, in order, each recorded in the
ledger (:mod:`calib.program.ledger`) before and after it acts:

====== ======================= ==========================================================
step   due                     what it does
====== ======================= ==========================================================
select the cycle's start       pick the calls, fix the plan (kept in the ledger)
create the cycle's start       create the calibrations (idempotent)
status the deadline            who is late: ``late.md`` and ``late.csv``
reveal the deadline            sync; reveal the sealed rest if the policy is ``deadline``
report report_due (< meeting)  sync the history, render the report, write the agenda
close  consensus recorded, or  the cycle is done
       the next cycle starts
====== ======================= ==========================================================

A cycle whose start passed with no tick until its deadline is recorded as missed; cycles
before the first one a program ever ticked are not started at all (a new program starts with
the cycle running now).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from calib.context import Backend
from calib.program import ledger, rotation, steps
from calib.program.spec import Cycle, Program
from calib.sessions import SessionPlan
from calib.store import LockBusy, Store

__all__ = ["Action", "TickResult", "tick", "due_steps", "next_due", "lock_name"]

log = logging.getLogger(__name__)


def lock_name(team: str) -> str:
    """The store lock every tick of ``team`` holds."""
    return f"program:{team}"


@dataclass(frozen=True)
class Action:
    """A step a tick did (or would do, in a dry run)."""

    cycle: str
    step: str
    state: str
    outcome: str


@dataclass(frozen=True)
class TickResult:
    """What one tick of one team did.

    Attributes
    ----------
    team : str
    now : datetime
        The backend's clock when the tick started.
    actions : tuple of Action
        The steps done, in order (would-be steps in a dry run).
    busy : str
        Non-empty when another tick held the team's lock: the holder, in words; nothing done.
    error : str
        Non-empty when a step failed: the sentence; the step is retried by the next tick.
    next_due : tuple or None
        ``(cycle label, step, when)`` of the next step the calendar holds.
    seconds : float
    """

    team: str
    now: datetime | None
    actions: tuple[Action, ...] = ()
    busy: str = ""
    error: str = ""
    next_due: tuple[str, str, datetime] | None = None
    seconds: float = 0.0
    dry_run: bool = False

    @property
    def failed(self) -> bool:
        return bool(self.error)


def _due_at(cycle: Cycle, step: str) -> datetime:
    return {"select": cycle.start, "create": cycle.start, "status": cycle.deadline,
            "reveal": cycle.deadline, "report": cycle.report_due,
            "close": cycle.meeting}[step]


def _records(store: Store, team: str) -> dict[tuple[int, str], ledger.StepRecord]:
    frame = ledger.step_records(store, team)
    return {(int(r.cycle), r.step): ledger.StepRecord(
        team=r.team, cycle=int(r.cycle), step=r.step, cycle_start=r.cycle_start, state=r.state,
        attempts=int(r.attempts), started_at=r.started_at, finished_at=r.finished_at,
        outcome=r.outcome or "", detail=r.detail) for r in frame.itertuples(index=False)}


def _cycles_to_walk(program: Program, records: dict, now: datetime) -> list[int]:
    current = program.cycle_index(now)
    if current is None:
        return []
    closed = {k for (k, s), r in records.items() if s == "close" and r.final}
    first = min([k for k, _ in records] or [current])
    return [k for k in range(first, current + 1) if k not in closed]


def due_steps(program: Program, store: Store, now: datetime) -> list[tuple[Cycle, str]]:
    """The steps a tick at ``now`` would start, in order, without acting (the dry run).

    The close is listed from the meeting on (it acts once the meeting's consensus is recorded,
    or when the next cycle starts)."""
    records = _records(store, program.team)
    due = []
    for k in _cycles_to_walk(program, records, now):
        cycle = program.cycle(k)
        for step in ledger.STEPS:
            rec = records.get((k, step))
            if rec is not None and rec.final:
                continue
            if step == "close" and now < cycle.next_start and now < cycle.meeting:
                break
            if now < _due_at(cycle, step):
                break
            due.append((cycle, step))
    return due


def next_due(program: Program, store: Store, now: datetime) -> tuple[str, str, datetime]:
    """The next step the calendar holds after ``now``: ``(cycle label, step, when)``."""
    records = _records(store, program.team)
    current = program.cycle_index(now)
    following = 0 if current is None else current + 1
    for k in ([] if current is None else [current]) + [following]:
        cycle = program.cycle(k)
        closed = records.get((k, "close"))
        if closed is not None and closed.final:
            continue
        for step in ledger.STEPS:
            rec = records.get((cycle.index, step))
            if rec is not None and rec.final:
                continue
            when = _due_at(cycle, step)
            if when > now:
                return cycle.label, step, when
    cycle = program.cycle(following + 1)
    return cycle.label, "select", cycle.start


def tick(program: Program, backend: Backend, store: Store, *, store_url: str,
         dry_run: bool = False) -> TickResult:
    """Do what is due for ``program`` now, and record it.

    Parameters
    ----------
    program : Program
    backend : calib.context.Backend
        The org the program runs on; its clock says what is due.
    store : calib.store.Store
        The store on the backend's clock; holds the ledger and the lock.
    store_url : str
        The same store's URL, for the report's kernel.
    dry_run : bool
        List the due steps, do nothing (no lock is taken, nothing recorded).

    Returns
    -------
    TickResult
        A step that fails ends its cycle's walk: ``error`` holds the sentence, the ledger
        records the step ``failed`` (the next tick retries it), and later cycles still run.
    """
    started = time.perf_counter()
    now = backend.now()
    if dry_run:
        actions = tuple(Action(c.label, s, "due", f"due since {_due_at(c, s):%Y-%m-%d %H:%M}")
                        for c, s in due_steps(program, store, now))
        return TickResult(program.team, now, actions, next_due=next_due(program, store, now),
                          seconds=time.perf_counter() - started, dry_run=True)
    done: list[Action] = []
    errors: list[str] = []
    try:
        with store.lock(lock_name(program.team),
                        purpose=f"the calibration program tick of team {program.team}"):
            now = backend.now()
            records = _records(store, program.team)
            applied = rotation.applied_rotations(store, program.team)
            for k in _cycles_to_walk(program, records, now):
                try:
                    _walk_cycle(program, rotation.cycle_for(program, k, applied), backend,
                                store, store_url, now, records, done)
                except _StepFailed as exc:
                    # an older cycle's failing step (its report, say) must not keep the
                    # current cycle from starting: it is retried by the next tick
                    errors.append(str(exc))
    except LockBusy as exc:
        return TickResult(program.team, now, tuple(done), busy=str(exc),
                          seconds=time.perf_counter() - started)
    return TickResult(program.team, now, tuple(done), error=" ".join(errors),
                      next_due=next_due(program, store, now),
                      seconds=time.perf_counter() - started)


class _StepFailed(Exception):
    """A step raised; the message names the team, cycle, step and the error."""


def _walk_cycle(program: Program, cycle: Cycle, backend: Backend, store: Store,
                store_url: str, now: datetime, records: dict, done: list[Action]) -> None:
    run = steps.CycleRun(program, cycle, backend, store, now, store_url)
    select_rec = records.get((cycle.index, "select"))
    if select_rec is not None and select_rec.state == "done":
        run.plan = SessionPlan.from_mapping(select_rec.detail["plan"])
    create_rec = records.get((cycle.index, "create"))
    ids: list[str] = list((create_rec.detail if create_rec else {}).get("calibration_ids", []))
    for step in ledger.STEPS:
        rec = records.get((cycle.index, step))
        if rec is not None and rec.final:
            if step in ("select", "create") and rec.state == "skipped":
                _act(run, "close", lambda: ("done", "Closed: the cycle was missed.", {}),
                     records, done)
                return
            continue
        next_started = now >= cycle.next_start
        if step == "close":
            if next_started:
                _act(run, step, lambda: ("done", "Closed: the next cycle started.", {}),
                     records, done)
            elif now >= cycle.meeting and steps.consensus_recorded(run, ids):
                _act(run, step, lambda: ("done", "Closed: the meeting's consensus is "
                                                 "recorded.", {}), records, done)
            return
        if now < _due_at(cycle, step):
            return
        if step == "select":
            state = _act(run, step, lambda: steps.select(run), records, done)
            if state == "skipped":
                _act(run, "close", lambda: ("done", "Closed: the cycle was missed.", {}),
                     records, done)
                return
        elif step == "create":
            detail = _act_detail(run, step, lambda: steps.create(run), records, done)
            ids = list(detail.get("calibration_ids", []))
            if records[(cycle.index, step)].state == "skipped":
                _act(run, "close", lambda: ("done", "Closed: the cycle was missed.", {}),
                     records, done)
                return
        elif step == "status":
            _act(run, step, lambda: steps.status(run), records, done)
        elif step == "reveal":
            _act(run, step, lambda: steps.reveal(run, ids), records, done)
        elif step == "report" and program.kind == "quarterly_review":
            from calib.program.review import review

            _act(run, step, lambda: review(run, ids), records, done)
        elif step == "report":
            _act(run, step, lambda: steps.report(run, ids), records, done)


def _act(run: steps.CycleRun, step: str, work: Callable[[], tuple[str, str, dict]],
         records: dict, done: list[Action]) -> str:
    return _do(run, step, work, records, done)[0]


def _act_detail(run: steps.CycleRun, step: str, work: Callable[[], tuple[str, str, dict]],
                records: dict, done: list[Action]) -> dict[str, Any]:
    return _do(run, step, work, records, done)[1]


def _do(run: steps.CycleRun, step: str, work: Callable[[], tuple[str, str, dict]],
        records: dict, done: list[Action]) -> tuple[str, dict[str, Any]]:
    team, cycle = run.program.team, run.cycle
    ledger.begin_step(run.store, team, cycle.index, step, cycle.start)
    try:
        state, outcome, detail = work()
    except Exception as exc:  # noqa: BLE001 - recorded, reported, and the tick stops here
        message = f"{type(exc).__name__}: {exc}" if not isinstance(exc, ValueError) else str(exc)
        log.warning("team %s cycle %s step %s failed: %s", team, cycle.label, step, message)
        ledger.end_step(run.store, team, cycle.index, step, "failed", message)
        raise _StepFailed(f"team {team}, cycle {cycle.label}, step {step}: {message}") from exc
    ledger.end_step(run.store, team, cycle.index, step, state, outcome, detail)
    records[(cycle.index, step)] = ledger.record(run.store, team, cycle.index, step)
    done.append(Action(cycle.label, step, state, outcome))
    return state, detail

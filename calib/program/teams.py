"""Every team's tick, and the calendar a lead reads.

:func:`run_programs` ticks each program file of a folder (or one file): each team on its own,
so one team's failure (a bad file, an API that keeps failing, a report cell that raises) is
reported and the others still run. Backends and stores are opened once per kind and shared
by the teams that name the same one, so a tick of twenty teams with nothing due opens the
org and the store once.

:func:`calendar` is ``calib program status``: the past cycles with their reliability and
tiers (from each report's ``summary.json``), the current cycle's step and who is late, and
the next due step with its date.
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from calib import context
from calib.program import ledger
from calib.program.rotation import applied_rotations, cycle_for
from calib.program.spec import Program, program_files, read_program
from calib.program.tick import TickResult, due_steps, next_due, tick
from calib.values import ParameterError

__all__ = ["TeamOutcome", "run_programs", "calendar", "CALENDAR_COLUMNS", "open_for"]

CALENDAR_COLUMNS = ["cycle", "start", "focus", "expert", "step", "state", "deadline", "meeting",
                    "calibrations", "icc", "alpha", "tiers", "late", "report"]


@dataclass(frozen=True)
class TeamOutcome:
    """One program file's tick: its result, or the sentence that stopped it."""

    source: Path
    team: str
    result: TickResult | None
    error: str = ""

    @property
    def failed(self) -> bool:
        return bool(self.error) or (self.result is not None and self.result.failed)


class _Opened:
    """Backends and stores opened once and shared by the programs that name them."""

    def __init__(self, stack: ExitStack, backend_factory: Any = None) -> None:
        self._stack = stack
        self._backends: dict[tuple[str, int], Any] = {}
        self._stores: dict[tuple[int, str], Any] = {}
        self._factory = backend_factory

    def backend(self, program: Program) -> Any:
        key = (program.backend, program.sandbox_seed)
        if key not in self._backends:
            opened = (self._factory(program) if self._factory is not None else
                      context.open_backend(program.backend, sandbox_seed=program.sandbox_seed))
            self._backends[key] = self._stack.enter_context(opened)
        return self._backends[key]

    def store(self, program: Program) -> tuple[Any, str]:
        backend = self.backend(program)
        url = context.store_url(program.store_url or None)
        key = (id(backend), url)
        if key not in self._stores:
            self._stores[key] = self._stack.enter_context(backend.open_store(url))
        return self._stores[key], url


def open_for(program: Program, stack: ExitStack) -> tuple[Any, Any, str]:
    """``(backend, store, store_url)`` of one program, closed with ``stack``."""
    opened = _Opened(stack)
    store, url = opened.store(program)
    return opened.backend(program), store, url


def run_programs(path: str | Path | Iterable[str | Path], *, dry_run: bool = False,
                 backend_factory: Any = None) -> list[TeamOutcome]:
    """One tick of every program file ``path`` names (a file, a folder of ``*.yaml``, or a
    list of either).

    Parameters
    ----------
    path : path or iterable of paths
    dry_run : bool
        Say what is due, do nothing.
    backend_factory : callable, optional
        ``factory(program) -> Backend`` instead of :func:`calib.context.open_backend` (tests
        and benchmarks hand in a sandbox with faults).

    Returns
    -------
    list of TeamOutcome
        One per file, in file order; a file that cannot be read or a backend that cannot be
        opened is an outcome with ``error``, not an exception.
    """
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    files: list[Path] = []
    outcomes: list[TeamOutcome] = []
    for p in paths:
        try:
            files += program_files(p)
        except ParameterError as exc:
            outcomes.append(TeamOutcome(Path(p), "", None, str(exc)))
    teams_seen: dict[tuple[str, str], Path] = {}
    with ExitStack() as stack:
        opened = _Opened(stack, backend_factory)
        for file in files:
            try:
                program = read_program(file)
                store, url = opened.store(program)
                if (program.team, url) in teams_seen:
                    raise ParameterError(
                        f"{file}: team {program.team!r} already has the program "
                        f"{teams_seen[program.team, url]} in the same store; one program per "
                        f"team.")
                teams_seen[program.team, url] = file
                result = tick(program, opened.backend(program), store, store_url=url,
                              dry_run=dry_run)
                outcomes.append(TeamOutcome(file, program.team, result))
            except Exception as exc:  # noqa: BLE001 - one team's failure must not stop the others
                message = str(exc) if isinstance(exc, (ValueError, context.BackendError)) \
                    else f"{type(exc).__name__}: {exc}"
                outcomes.append(TeamOutcome(file, _team_of(file), None, message))
    return outcomes


def _team_of(file: Path) -> str:
    try:
        return read_program(file).team
    except Exception:  # noqa: BLE001 - the file itself is what failed
        return file.stem


def calendar(program: Program, store: Any, now: datetime) -> pd.DataFrame:
    """The program's calendar: one row per cycle the ledger knows, and the next one.

    Columns :data:`CALENDAR_COLUMNS`: ``step`` is the last step recorded (or the next due for a
    cycle not started), ``state`` its state; ``icc`` and ``alpha`` the report's reliability
    (ICC(A,1) and Krippendorff's alpha from ``summary.json``), ``tiers`` the count of calls per
    discussion tier, ``late`` who was late at the deadline, ``report`` the report's path;
    ``expert`` who holds the calibrator (expert evaluator) role: as selected for a cycle
    already selected, else as the file and the applied rotations say.
    """
    records = ledger.step_records(store, program.team)
    applied = applied_rotations(store, program.team)
    rows = []
    for k, steps_of in records.groupby("cycle", sort=True):
        cycle = cycle_for(program, int(k), applied)
        last = steps_of.iloc[-1]
        details = dict(zip(steps_of["step"], steps_of["detail"]))
        summary = _summary(details.get("report", {}).get("summary"))
        late = details.get("status", {}).get("late") or []
        rows.append({
            "cycle": cycle.label, "start": cycle.start, "focus": cycle.focus,
            "expert": details.get("select", {}).get("expert_email", cycle.expert_email),
            "step": last["step"], "state": last["state"], "deadline": cycle.deadline,
            "meeting": cycle.meeting,
            "calibrations": len(details.get("create", {}).get("calibration_ids", [])),
            "icc": summary.get("icc"), "alpha": summary.get("alpha"),
            "tiers": summary.get("tiers", ""),
            "late": ", ".join(p["name"] for p in late),
            "report": details.get("report", {}).get("html", "")})
    due = due_steps(program, store, now)
    label, step, when = next_due(program, store, now)
    state = "next"
    if due:
        label, step, state = due[0][0].label, due[0][1], "due"
    if label not in {r["cycle"] for r in rows}:
        index = next(i for i in range(0, 10_000) if program.cycle(i).label == label)
        cycle = cycle_for(program, index, applied)
        rows.append({"cycle": label, "start": cycle.start, "focus": cycle.focus,
                     "expert": cycle.expert_email, "step": step,
                     "state": state, "deadline": cycle.deadline, "meeting": cycle.meeting,
                     "calibrations": 0, "icc": None, "alpha": None, "tiers": "", "late": "",
                     "report": ""})
    return pd.DataFrame(rows, columns=CALENDAR_COLUMNS)


def _summary(path: str | None) -> dict[str, Any]:
    """ICC(A,1), alpha, tiers and the gate from a report's ``summary.json`` (empty when there
    is none; the numbers stay empty while the report's gate was closed)."""
    if not path or not Path(path).is_file():
        return {}
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    reliability = data.get("reliability") or {}

    def value(name: str) -> float | None:
        entry = reliability.get(name)
        found = entry.get("value") if isinstance(entry, dict) else entry
        return float(found) if isinstance(found, (int, float)) else None

    tiers = data.get("tiers") or {}
    return {"icc": value("ICC(A,1)"), "alpha": value("alpha"), "gate": data.get("gate", ""),
            "tiers": ", ".join(f"{k} {v}" for k, v in tiers.items()) if tiers else
            ("sealed" if data.get("gate") == "closed" else "")}

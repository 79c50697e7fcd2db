"""``calib program run`` and ``calib program status``: the calibration program on a schedule.

Thin verbs over :mod:`calib.program`. ``run`` is one tick of every program it is given (a file
or a folder such as ``parameters/programs/``), safe to call as often as a scheduler likes; it
says what is due and does nothing unless ``--yes`` is given (a scheduler passes it). The exit
status is 0 when every team's tick went through (or another tick held its lock), 1 when any
team failed, 2 for a usage error.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from calib.commands.common import print_table, shown_path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``calib program run`` and ``calib program status``."""
    parser = subparsers.add_parser(
        "program", help="run every team's calibration cycle on a calendar",
        description="A program file per team (parameters/programs/<team>.yaml) fixes the "
                    "cadence and what each cycle does; one tick does what the clock says is "
                    "due and records it in the store.")
    verbs = parser.add_subparsers(dest="program_verb", metavar="VERB")
    run = verbs.add_parser(
        "run", help="one tick: do what is due for every program (dry run unless --yes)",
        description="From the backend's clock, works out each team's due cycle and step and "
                    "does only that: select and create at the cycle's start, the late list "
                    "at the deadline, the reveal the policy allows, the report and agenda "
                    "before the meeting, the cycle closed after it. Safe to run as often as "
                    "you like; two ticks at once never both act.")
    run.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                     help="program file(s) or folder(s) of them, e.g. parameters/programs/")
    run.add_argument("--yes", action="store_true",
                     help="do the due steps (without it: only say what is due)")
    run.set_defaults(func=_run)

    status = verbs.add_parser(
        "status", help="the calendar: past cycles, the current step, who is late, what is next",
        description="Past cycles with their reliability and tiers, the current cycle's step "
                    "and who is late, and the next due step with its date.")
    status.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                        help="program file(s) or folder(s) of them")
    status.set_defaults(func=_status)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def _when(ts) -> str:
    return f"{ts:%a %d %b %Y %H:%M} UTC"


def _run(args: argparse.Namespace) -> int:
    from calib.program.teams import run_programs

    outcomes = run_programs(args.paths, dry_run=not args.yes)
    failed = 0
    for out in outcomes:
        name = out.team or shown_path(out.source)
        result = out.result
        if result is None or result.failed:
            failed += 1
            print(f"{name}: FAILED: {out.error or result.error}")
            if result is not None:
                for action in result.actions:
                    print(f"  {action.cycle} {action.step}: {action.outcome}")
            continue
        if result.busy:
            print(f"{name}: another tick is running, nothing done here ({result.busy})")
            continue
        if not result.actions:
            print(f"{name}: nothing due at {_when(result.now)}.")
        elif result.dry_run:
            print(f"{name}: due at {_when(result.now)} (dry run, nothing done):")
        else:
            print(f"{name}: at {_when(result.now)}:")
        for action in result.actions:
            print(f"  {action.cycle} {action.step}: {action.outcome}")
        if result.next_due is not None:
            label, step, when = result.next_due
            print(f"  next: {label} {step} at {_when(when)}")
    if outcomes and not args.yes and any(o.result and o.result.actions for o in outcomes):
        print("Dry run: nothing was done. To do the due steps: calib program run "
              + " ".join(shown_path(p) for p in args.paths) + " --yes")
    if failed:
        print(f"{failed} of {len(outcomes)} program(s) failed; the others ran. Fix and rerun: "
              f"a rerun resumes where the failure left off.")
    return 1 if failed else 0


def _status(args: argparse.Namespace) -> int:
    from contextlib import ExitStack

    from calib.program.spec import program_files, read_program
    from calib.program.steps import cycle_folder
    from calib.program.teams import calendar, open_for
    from calib.program.tick import due_steps, next_due

    files = [f for p in args.paths for f in program_files(p)]
    for file in files:
        program = read_program(file)
        with ExitStack() as stack:
            backend, store, _url = open_for(program, stack)
            now = backend.now()
            table = calendar(program, store, now)
            due = due_steps(program, store, now)
            label, step, when = next_due(program, store, now)
        print(f"{program.team}: {program.cadence} program, reveal policy {program.reveal}; "
              f"now {_when(now)}.")
        shown = table.assign(
            start=table["start"].map(lambda t: f"{t:%Y-%m-%d}"),
            meeting=table["meeting"].map(lambda t: f"{t:%Y-%m-%d}"),
            icc=table["icc"].map(lambda v: "" if v is None else f"{v:.2f}"),
            alpha=table["alpha"].map(lambda v: "" if v is None else f"{v:.2f}"))
        print_table(shown[["cycle", "focus", "step", "state", "meeting", "calibrations", "icc",
                           "alpha", "tiers", "late"]], "No cycle yet.")
        late_file = cycle_folder(program, program.cycle(program.cycle_index(now) or 0)) / "late.md"
        if late_file.is_file():
            print(f"Late list of the current cycle: {shown_path(late_file)}")
        if due:
            print(f"Due now: {', '.join(f'{c.label} {s}' for c, s in due)} (calib program run "
                  f"{shown_path(file)} --yes does it).")
        print(f"Next: {label} {step} at {_when(when)}.\n")
    return 0

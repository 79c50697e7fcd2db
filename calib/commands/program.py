"""``calib program run``, ``status`` and ``rotate``: the calibration program on a schedule.

Thin verbs over :mod:`calib.program`. ``run`` is one tick of every program it is given (a file
or a folder such as ``parameters/programs/``), safe to call as often as a scheduler likes; it
says what is due and does nothing unless ``--yes`` is given (a scheduler passes it). The exit
status is 0 when every team's tick went through (or another tick held its lock), 1 when any
team failed, 2 for a usage error. ``rotate`` applies a calibrator rotation (the quarterly
review's proposal, or a person named with ``--to``) from each team's next cycle, also only with
``--yes``.
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

    rotate = verbs.add_parser(
        "rotate", help="apply a calibrator rotation from the next cycle (dry run unless --yes)",
        description="Applies the team's pending rotation proposal (recorded by the quarterly "
                    "calibration of calibrators, a program of kind quarterly_review), or the "
                    "person named with --to: from the team's next cycle to select on, its "
                    "calibrations are created with that expert evaluator. A cycle already "
                    "selected keeps its plan. Without --yes it only says what would change.")
    rotate.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                        help="the team's program file(s) or folder(s) of them")
    rotate.add_argument("--to", metavar="EMAIL", default=None,
                        help="the person who takes the role (instead of the pending proposal)")
    rotate.add_argument("--yes", action="store_true",
                        help="apply it (without it: only say what would change)")
    rotate.set_defaults(func=_rotate)
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
            rotation_lines = _rotation_lines(program, store, file)
            failed_lines = _failed_lines(program, store)
        print(f"{program.team}: {program.cadence} program, reveal policy {program.reveal}; "
              f"now {_when(now)}.")
        shown = table.assign(
            start=table["start"].map(lambda t: f"{t:%Y-%m-%d}"),
            meeting=table["meeting"].map(lambda t: f"{t:%Y-%m-%d}"),
            icc=table["icc"].map(lambda v: "" if v is None else f"{v:.2f}"),
            alpha=table["alpha"].map(lambda v: "" if v is None else f"{v:.2f}"))
        print_table(shown[["cycle", "focus", "expert", "step", "state", "meeting",
                           "calibrations", "icc", "alpha", "tiers", "late"]], "No cycle yet.")
        for line in rotation_lines:
            print(line)
        for line in failed_lines:
            print(line)
        late_file = cycle_folder(program, program.cycle(program.cycle_index(now) or 0)) / "late.md"
        if late_file.is_file():
            print(f"Late list of the current cycle: {shown_path(late_file)}")
        if due:
            print(f"Due now: {', '.join(f'{c.label} {s}' for c, s in due)} (calib program run "
                  f"{shown_path(file)} --yes does it).")
        print(f"Next: {label} {step} at {_when(when)}.\n")
    return 0


def _failed_lines(program, store) -> list[str]:
    """Every step that failed and is still to be retried, with its sentence: an old cycle's
    failure stays in sight while the later cycles run."""
    from calib.program.ledger import step_records

    records = step_records(store, program.team)
    failed = records[records["state"] == "failed"]
    return [f"FAILED: cycle {program.cycle(int(r.cycle)).label} step {r.step} (attempt "
            f"{int(r.attempts)}): {r.outcome}; the next tick retries it."
            for r in failed.itertuples(index=False)]


def _rotation_lines(program, store, file: Path) -> list[str]:
    """What ``status`` says of the team's rotations: the applied ones, the pending proposal."""
    from calib.program.review import reviewed_programs
    from calib.program.rotation import applied_rotations, pending, rotations

    lines = []
    if program.kind == "quarterly_review":
        mine = rotations(store)
        mine = mine[mine["source"].str.startswith(f"{program.team} quarterly review ")]
        teams = {t.team: t for t in reviewed_programs(program)}
        for row in mine.itertuples(index=False):
            where = row.state
            if row.state == "applied":
                team = teams.get(row.team)
                where = (f"applied from {row.team}'s cycle "
                         + (team.cycle(int(row.from_cycle)).label if team else
                            f"#{int(row.from_cycle)}"))
            lines.append(f"Proposal #{int(row.rotation_id)} of the {row.source}: team "
                         f"{row.team}'s expert → {row.expert_name} <{row.expert_email}> "
                         f"({where}).")
        return lines
    if program.calibrator_rotation:
        lines.append(f"Calibrator rotation: {', '.join(program.calibrator_rotation)} in turn, "
                     f"every {program.rotate_calibrator_every} cycle(s).")
    for row in applied_rotations(store, program.team):
        lines.append(f"Rotation #{int(row['rotation_id'])} applied by {row['applied_by']}: "
                     f"{row['expert_name']} <{row['expert_email']}> from cycle "
                     f"{program.cycle(int(row['from_cycle'])).label} ({row['source']}).")
    waiting = pending(store, program.team)
    if waiting is not None:
        lines.append(f"Rotation proposal #{int(waiting['rotation_id'])} pending "
                     f"({waiting['source']}): {waiting['expert_name']} "
                     f"<{waiting['expert_email']}> as expert. Apply it with: calib program "
                     f"rotate {shown_path(file)} --yes")
    return lines


def _rotate(args: argparse.Namespace) -> int:
    from contextlib import ExitStack

    from calib.program.rotation import (applied_rotations, apply_rotation, cycle_for,
                                        next_cycle_to_select, pending)
    from calib.program.spec import program_files, read_program
    from calib.program.teams import open_for
    from calib.program.tick import lock_name
    from calib.sessions.plan import user_ids_by_email
    from calib.sessions.steps import people
    from calib.store import LockBusy

    files = [f for p in args.paths for f in program_files(p)]
    failed = 0
    acted = False
    for file in files:
        program = read_program(file)
        if program.kind != "team":
            print(f"{program.team}: a {program.kind} program has no rotation to apply; "
                  f"rotate the teams it reviews.")
            continue
        with ExitStack() as stack:
            backend, store, _url = open_for(program, stack)
            now = backend.now()
            index = next_cycle_to_select(program, store, now)
            before = cycle_for(program, index, applied_rotations(store, program.team))
            proposal = pending(store, program.team)
            if args.to:
                try:
                    [user_id] = user_ids_by_email(backend.client, [args.to])
                except (ValueError, LookupError) as exc:
                    failed += 1
                    print(f"{program.team}: FAILED: {exc}")
                    continue
                name = str(people(backend.client, [user_id]).iloc[0]["name"])
                email, why = args.to, f"named with --to by {_who()}"
            elif proposal is None:
                print(f"{program.team}: no rotation proposal pending; the expert of cycle "
                      f"{before.label} stays {before.expert_email} ({before.expert_source}). "
                      f"Name someone with --to EMAIL.")
                continue
            else:
                name, email = str(proposal["expert_name"]), str(proposal["expert_email"])
                why = (f"proposal #{int(proposal['rotation_id'])} of the "
                       f"{proposal['source']}: {str(proposal['reason']).rstrip('.')}")
            if email.lower() == before.expert_email.lower():
                print(f"{program.team}: {name} <{email}> already holds the role from cycle "
                      f"{before.label}; nothing to change.")
                continue
            acted = True
            if not args.yes:
                print(f"{program.team}: from cycle {before.label} (the next to select) the "
                      f"calibrator (expert evaluator) would be {name} <{email}> instead of "
                      f"{before.expert_email} ({why}).")
                continue
            try:
                # under the team's tick lock: a tick selecting the next cycle meanwhile would
                # fix its plan with the old expert after the rotation named that cycle
                with store.lock(lock_name(program.team),
                                purpose=f"calib program rotate of team {program.team}"):
                    row = apply_rotation(
                        store, program, backend.now(), by=_who(),
                        rotation_id=None if args.to else int(proposal["rotation_id"]),
                        expert_email=email if args.to else None, expert_name=name)
            except LockBusy as exc:
                failed += 1
                print(f"{program.team}: FAILED: a tick is running ({exc}); nothing applied, "
                      f"rerun when it is done.")
                continue
            print(f"{program.team}: rotation #{int(row['rotation_id'])} applied: from cycle "
                  f"{program.cycle(int(row['from_cycle'])).label} the calibrator (expert "
                  f"evaluator) is {name} <{email}> (was {before.expert_email}); the next "
                  f"tick creates that cycle's calibrations with them.")
    if acted and not args.yes:
        print("Dry run: nothing was changed. To apply: calib program rotate "
              + " ".join(shown_path(p) for p in args.paths)
              + (f" --to {args.to}" if args.to else "") + " --yes")
    return 1 if failed else 0


def _who() -> str:
    """Who applies a rotation, for the record: the OS user at this host."""
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name (a container): the host still says where
        user = "unknown"
    return f"{user}@{socket.gethostname()}"

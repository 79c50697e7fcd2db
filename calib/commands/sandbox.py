"""``calib sandbox serve | clock | advance | reset``: the local demo org and its clock.

The demo org lives in a state folder (``outputs/sandbox/`` of the project unless
``--state-dir`` says otherwise, see :mod:`calib.sandbox.persist`): every command that uses the
sandbox backend, and ``serve`` while it runs, share it. ``advance`` and ``clock`` talk to a
running ``serve`` when there is one (:func:`calib.sandbox.locate`), else to the saved state.
"""

from __future__ import annotations

import argparse
import signal
import threading
from datetime import datetime
from pathlib import Path


def default_state_dir() -> Path:
    """``outputs/sandbox/`` under the project root."""
    from calib.context import sandbox_state_dir

    return sandbox_state_dir()


def _state_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--state-dir", type=Path, default=None, metavar="DIR",
                        help="the demo org's state folder (default: outputs/sandbox/ of the "
                             "project)")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``calib sandbox serve``, ``clock``, ``advance`` and ``reset``."""
    parser = subparsers.add_parser("sandbox", help="the local Genesys Cloud sandbox (demo org)",
                                   description="The local Genesys Cloud look-alike with a "
                                               "synthetic demo org that persists between "
                                               "commands.")
    verbs = parser.add_subparsers(dest="sandbox_command", metavar="VERB")

    serve = verbs.add_parser("serve", help="serve the demo org on 127.0.0.1 until Ctrl-C",
                             description="Serve the demo org on 127.0.0.1 and print its base URL "
                                         "and demo client credentials. Commands run meanwhile "
                                         "with the sandbox backend use this server; what they "
                                         "did before is kept.")
    serve.add_argument("--port", type=int, default=8765, help="port to bind (0 = any free port)")
    serve.add_argument("--seed", type=int, default=None,
                       help="org seed (default: the saved demo org's, or 7)")
    serve.add_argument("--rate-limit", type=float, default=300.0,
                       help="requests per minute per client (0 disables; default 300)")
    serve.add_argument("--in-memory", action="store_true",
                       help="serve a fresh org that is neither loaded nor saved")
    _state_dir_option(serve)
    serve.set_defaults(func=_serve)

    clock = verbs.add_parser("clock", help="print the demo org's clock",
                             description="Print the demo org's clock (the running server's, "
                                         "else the saved demo org's).")
    _state_dir_option(clock)
    clock.set_defaults(func=_clock)

    advance = verbs.add_parser("advance", help="move the demo org's clock forward",
                               description="Move the demo org's clock forward; simulated "
                                           "evaluators finish what is due by then.")
    when = advance.add_mutually_exclusive_group(required=True)
    when.add_argument("--days", type=float, help="days to move forward (e.g. 3 or 0.5)")
    when.add_argument("--to", metavar="ISO",
                      help="the new time, e.g. 2026-11-16T09:00Z (no zone means UTC)")
    advance.add_argument("--seed", type=int, default=None,
                         help="org seed when nothing is saved yet (default 7)")
    _state_dir_option(advance)
    advance.set_defaults(func=_advance)

    reset = verbs.add_parser("reset", help="start the demo org afresh (dry run unless --yes)",
                             description="Delete the saved demo org so the next command starts "
                                         "from the generated org again. Says what it would "
                                         "delete unless --yes is given.")
    reset.add_argument("--yes", action="store_true", help="really delete the saved demo org")
    _state_dir_option(reset)
    reset.set_defaults(func=_reset)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def when_in_words(ts: datetime) -> str:
    """``Mon 9 Nov 2026 09:00 UTC``."""
    return f"{ts:%a} {ts.day} {ts:%b %Y %H:%M} UTC"


def _days_in_words(before: datetime, after: datetime) -> str:
    days = (after - before).total_seconds() / 86400
    if days == 0:
        return "did not move"
    if days == int(days):
        return f"moved {int(days)} day{'s' if days != 1 else ''}"
    return f"moved {days:.2f} days"


def _progress_in_words(finished: int, finished_by: dict[str, int], still_open: int) -> str:
    open_part = (f"{still_open} evaluation{'s are' if still_open != 1 else ' is'} still open"
                 if still_open else "none is open")
    if not finished:
        return f"No evaluation finished in that time; {open_part}."
    who = ", ".join(f"{name} {count}" for name, count in finished_by.items())
    return (f"{finished} evaluation{'s' if finished != 1 else ''} finished in that time "
            f"({who}); {open_part}.")


def _serve(args: argparse.Namespace, *, stop: threading.Event | None = None) -> int:
    from calib.cli import CommandError
    from calib.sandbox import Sandbox, generate_org, locate
    from calib.sandbox.discovery import announce, withdraw
    from calib.sandbox.persist import load_org

    if not 0 <= args.port <= 65535:
        raise CommandError(f"--port {args.port} is not a port number; use 0 to 65535.")
    if args.rate_limit < 0:
        raise CommandError("--rate-limit must be 0 (off) or a positive number of requests a "
                           "minute.")
    state_dir = args.state_dir or default_state_dir()
    if args.in_memory:
        org = generate_org(7 if args.seed is None else args.seed)
    else:
        running = locate(state_dir)
        if running is not None:
            raise CommandError(f"A sandbox server already serves the demo org in {state_dir} at "
                               f"{running.base_url} (pid {running.pid}); use it, or stop it "
                               f"first.")
        org = load_org(state_dir, args.seed)
    sandbox = Sandbox(seed=org.seed, org=org, port=args.port,
                      rate_limit_per_minute=args.rate_limit or None)
    try:
        sandbox.start()
    except OSError as exc:
        raise CommandError(f"Cannot listen on port {args.port} ({exc.strerror}); choose another "
                           f"--port or 0.") from None
    stop = stop or threading.Event()
    previous_term = None
    if threading.current_thread() is threading.main_thread():
        # a plain kill (SIGTERM) ends like Ctrl-C, so server.json is removed
        previous_term = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        if not args.in_memory:
            announce(state_dir, base_url=sandbox.base_url, seed=org.seed)
        # the demo credentials are the sandbox's own, not a secret of any real org
        print(f"calib sandbox (seed {org.seed}) listening on {sandbox.base_url}", flush=True)
        print(f"GENESYSCLOUD_API_REGION={sandbox.base_url}", flush=True)
        print(f"GENESYSCLOUD_OAUTHCLIENT_ID={sandbox.client_id}", flush=True)
        print(f"GENESYSCLOUD_OAUTHCLIENT_SECRET={sandbox.client_secret}", flush=True)
        kept = ("in memory only: nothing is saved" if args.in_memory else
                f"demo org saved in {state_dir} ({len(org.journal)} earlier change(s) kept)")
        print(f"clock: {sandbox.now().isoformat()}  {kept}  (Ctrl-C to stop)", flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    finally:
        if not args.in_memory:
            withdraw(state_dir)
        sandbox.stop()
        if previous_term is not None:
            signal.signal(signal.SIGTERM, previous_term)
    return 0


def _clock(args: argparse.Namespace) -> int:
    from calib.sandbox import locate
    from calib.sandbox.persist import load_org

    state_dir = args.state_dir or default_state_dir()
    running = locate(state_dir)
    if running is not None:
        now, where = running.now(), f"the server at {running.base_url} (pid {running.pid})"
    else:
        org = load_org(state_dir)
        saved = f"{len(org.journal)} saved change(s)" if org.journal else "nothing saved yet"
        now, where = org.now(), f"the demo org of seed {org.seed} in {state_dir} ({saved})"
    print(f"{when_in_words(now)} ({now.isoformat()}): the clock of {where}.")
    return 0


def _advance(args: argparse.Namespace) -> int:
    from calib.cli import CommandError
    from calib.sandbox import locate
    from calib.sandbox.ids import parse_iso
    from calib.sandbox.persist import load_org

    if args.days is not None and not args.days > 0:
        raise CommandError(f"--days must be a positive number of days, not {args.days:g}.")
    to = parse_iso(args.to) if args.to is not None else None
    state_dir = args.state_dir or default_state_dir()
    running = locate(state_dir)
    if running is not None:
        if args.seed is not None and args.seed != running.seed:
            raise CommandError(f"The running server serves seed {running.seed}, not "
                               f"{args.seed}; drop --seed or stop the server.")
        answer = running.advance_clock(days=args.days, to=to)
        before, after = parse_iso(answer["previous"]), parse_iso(answer["now"])
        finished, finished_by = answer["evaluationsFinished"], answer["finishedBy"]
        still_open, where = answer["evaluationsOpen"], f"the server at {running.base_url}"
    else:
        org = load_org(state_dir, args.seed)
        with org.changing():
            before = org.now()
            after = org.advance_clock(days=args.days or 0.0, to=to)
        progress = org.evaluation_progress(before, after)
        finished, finished_by, still_open = (progress["finished"], progress["finished_by"],
                                             progress["open"])
        where = f"the demo org saved in {state_dir}"
    print(f"The clock of {where} {_days_in_words(before, after)}, from {when_in_words(before)} "
          f"to {when_in_words(after)}.")
    print(_progress_in_words(finished, finished_by, still_open))
    return 0


def _reset(args: argparse.Namespace) -> int:
    from calib.cli import CommandError
    from calib.sandbox import SandboxStateError, locate
    from calib.sandbox.persist import read_summary, reset_state

    state_dir = args.state_dir or default_state_dir()
    running = locate(state_dir)
    if running is not None:
        raise CommandError(f"A sandbox server (pid {running.pid}, {running.base_url}) serves "
                           f"the demo org in {state_dir}; stop it (Ctrl-C) first, then reset.")
    try:
        summary = read_summary(state_dir)
        what = summary.describe() if summary else None
    except SandboxStateError as exc:
        what = f"a state file that cannot be used ({exc})"
    if what is None:
        print(f"Nothing to reset: no demo org is saved in {state_dir}.")
        return 0
    if not args.yes:
        print(f"Would delete {what}.")
        print("Nothing was deleted; run `calib sandbox reset --yes` to start the demo org afresh.")
        return 0
    from calib.sandbox.history import START_CLOCK

    removed = reset_state(state_dir)
    print(f"Deleted {what}." if removed else f"Nothing was deleted: {state_dir} changed meanwhile.")
    print(f"The next command starts the demo org afresh from its seed, clock at "
          f"{when_in_words(START_CLOCK)}.")
    return 0

"""``calib select``, ``calib create`` and ``calib status``: the session workflow on the command line.

A thin layer over :mod:`calib.selection` and :mod:`calib.sessions`. The client comes from the
environment (``GENESYSCLOUD_*``), or, with ``--backend sandbox`` / ``backend: sandbox``, from an
in-process sandbox (read-only demo: what it creates is gone when the command ends; run
``calib sandbox serve`` and point ``GENESYSCLOUD_API_REGION`` at it to keep state between verbs).
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SELECT_KEYS = {
    "team": str, "month": str, "backend": str, "sandbox_seed": int, "start": str, "end": str,
    "n": int, "focus": str, "seed": int, "calibrator_email": str, "expert_email": str,
    "panel_emails": list, "form_name": str, "deadline": str, "session_name": str,
    "profiles": str, "out": str,
}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``select``, ``create`` and ``status`` verbs."""
    select = subparsers.add_parser(
        "select", help="select calibration candidates and write a session plan",
        description="Select conversations for a calibration session (stratified, seeded, "
                    "gray-area first) and write the session plan YAML.")
    select.add_argument("--params", required=True, type=Path,
                        help="selection parameters YAML (see parameters/select-demo.yaml)")
    select.add_argument("--out", type=Path, default=None, help="plan file (overrides 'out')")
    select.set_defaults(func=_select)

    create = subparsers.add_parser(
        "create", help="create the calibrations of a session plan (idempotent)",
        description="Create one calibration per planned conversation. Safe to rerun: existing "
                    "calibrations are found and skipped, an interrupted run resumes.")
    create.add_argument("--plan", required=True, type=Path, help="session plan YAML")
    create.add_argument("--dry-run", action="store_true", help="show what would be created")
    create.add_argument("--store", default=None, help="store URL to record the plan in")
    _backend_args(create)
    create.set_defaults(func=_create)

    status = subparsers.add_parser(
        "status", help="show who has finished a session's evaluations (never scores)",
        description="Live status per calibration and evaluator: pending, in progress, "
                    "finished, overdue. Scores stay hidden.")
    status.add_argument("--plan", required=True, type=Path, help="session plan YAML")
    status.add_argument("--detail", action="store_true", help="one row per calibration and evaluator")
    _backend_args(status)
    status.set_defaults(func=_status)


def _backend_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", choices=("genesys", "sandbox"), default="genesys",
                        help="genesys (credentials from GENESYSCLOUD_* variables) or an "
                             "in-process sandbox")
    parser.add_argument("--sandbox-seed", type=int, default=7, help="sandbox org seed")
    parser.add_argument("--now", default=None,
                        help="the present for deadline checks (default: sandbox clock or system clock)")


@contextlib.contextmanager
def _connect(backend: str, seed: int) -> Iterator[tuple[Any, Any]]:
    """Yield (client, sandbox or None)."""
    from calib.cli import CommandError

    if backend == "sandbox":
        from calib.sandbox import Sandbox

        with Sandbox(seed=seed, rate_limit_per_minute=None) as sb:
            yield sb.client(), sb
        return
    if backend != "genesys":
        raise CommandError(f"backend {backend!r} is not 'genesys' or 'sandbox'.")
    from calib.genesys import GenesysClient

    client = GenesysClient.from_env()
    try:
        yield client, None
    finally:
        client.close()


def _load_params(path: Path) -> dict[str, Any]:
    from calib.cli import CommandError
    from calib.sessions import load_yaml

    if not path.is_file():
        raise CommandError(f"The parameters file {str(path)!r} does not exist.")
    data = load_yaml(path.read_text()) or {}
    unknown = sorted(set(data) - set(SELECT_KEYS))
    missing = sorted(set(SELECT_KEYS) - set(data))
    if unknown or missing:
        raise CommandError(f"{path}: unknown key(s) {unknown} and missing key(s) {missing}; "
                           f"see parameters/select-demo.yaml.")
    for key, kind in SELECT_KEYS.items():
        if not isinstance(data[key], kind) or isinstance(data[key], bool):
            raise CommandError(f"{path}: {key} must be a {kind.__name__}, not "
                               f"{type(data[key]).__name__} (quote dates).")
    return data


def _select(args: argparse.Namespace) -> int:
    from calib.selection import select_candidates
    from calib.sessions import SessionPlan, published_form_id, user_ids_by_email

    p = _load_params(args.params)
    with _connect(p["backend"], p["sandbox_seed"]) as (client, sb):
        if sb is not None and not p["panel_emails"]:
            team = sb.truth.teams[p["team"]]
            calibrator, expert, panel = team["calibrator_id"], team["expert_id"], list(team["panel_ids"])
        else:
            calibrator, expert = user_ids_by_email(client, [p["calibrator_email"], p["expert_email"]])
            panel = user_ids_by_email(client, p["panel_emails"])
        history = sb.org.tidy_scores() if sb is not None else None
        sel = select_candidates(client, start=p["start"], end=p["end"], n=p["n"], focus=p["focus"],
                                panel_ids=[*panel, expert], calibrator_id=calibrator,
                                history=history, seed=p["seed"], profiles=p["profiles"] or None)
        plan = SessionPlan.from_selection(
            sel.candidates, name=p["session_name"] or f"{p['team']} {p['month']} {p['focus']}",
            team=p["team"], month=p["month"], focus=p["focus"],
            form_id=published_form_id(client, p["form_name"] or None), calibrator_id=calibrator,
            expert_id=expert, panel_ids=panel, deadline=p["deadline"])
    out = plan.to_yaml(args.out or Path(p["out"]))
    print(sel.funnel[["step", "remaining", "removed"]].to_string(index=False))
    print()
    print(sel.candidates[["conversation_id", "agent_id", "handle_band", "transferred",
                          "priority"]].to_string(index=False))
    print(f"\nwrote the session plan for {len(plan.conversations)} conversation(s) to {out}")
    return 0


def _now(args: argparse.Namespace, sb: Any) -> Any:
    return args.now or (sb.now() if sb is not None else None)


def _create(args: argparse.Namespace) -> int:
    from calib.sessions import SessionPlan, create_session

    plan = SessionPlan.from_yaml(args.plan)
    store = None
    if args.store:
        from calib.store import Store

        store = Store(args.store)
    with _connect(args.backend, args.sandbox_seed) as (client, sb):
        result = create_session(client, plan, dry_run=args.dry_run, store=store,
                                now=_now(args, sb))
    print(result.planned[["index", "conversation_id", "calibration_id", "action"]].to_string(index=False))
    verb = "would create" if args.dry_run else "created"
    print(f"\n{verb} {len(result.planned) - result.existing if args.dry_run else result.created}, "
          f"already there {result.existing}")
    return 0


def _status(args: argparse.Namespace) -> int:
    from calib.sessions import SessionPlan, session_status, summarize_status

    plan = SessionPlan.from_yaml(args.plan)
    with _connect(args.backend, args.sandbox_seed) as (client, sb):
        status = session_status(client, plan, now=_now(args, sb))
    table = status if args.detail else summarize_status(status)
    print(table.to_string(index=False))
    not_created = int((status["state"] == "not created").sum())
    if not_created:
        print(f"\n{not_created} planned conversation(s) have no calibration yet; run calib create.")
    return 0

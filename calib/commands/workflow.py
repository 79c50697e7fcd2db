"""``calib select``, ``calib create`` and ``calib status``: the session workflow on the command line.

A thin layer over :mod:`calib.selection` and :mod:`calib.sessions`. The client comes from the
environment (``GENESYSCLOUD_*``), or, with ``--backend sandbox`` / ``backend: sandbox``, from an
in-process sandbox (read-only demo: what it creates is gone when the command ends; run
``calib sandbox serve`` and point ``GENESYSCLOUD_API_REGION`` at it to keep state between verbs).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

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


def _select(args: argparse.Namespace) -> int:
    from calib.workflow import open_connection, read_select_params, select_session

    params = read_select_params(args.params)
    with open_connection(params["backend"], params["sandbox_seed"]) as conn:
        sel, plan = select_session(conn, params)
    out = plan.to_yaml(args.out or Path(params["out"]))
    print(sel.funnel[["step", "remaining", "removed"]].to_string(index=False))
    print()
    print(sel.candidates[["conversation_id", "agent_id", "handle_band", "transferred",
                          "priority"]].to_string(index=False))
    print(f"\nwrote the session plan for {len(plan.conversations)} conversation(s) to {out}")
    return 0


def _now(args: argparse.Namespace, conn: Any) -> Any:
    return args.now or conn.now()


def _create(args: argparse.Namespace) -> int:
    from calib.sessions import SessionPlan, create_session
    from calib.workflow import open_connection

    plan = SessionPlan.from_yaml(args.plan)
    store = None
    if args.store:
        from calib.store import Store

        store = Store(args.store)
    with open_connection(args.backend, args.sandbox_seed) as conn:
        result = create_session(conn.client, plan, dry_run=args.dry_run, store=store,
                                now=_now(args, conn))
    print(result.planned[["index", "conversation_id", "calibration_id", "action"]].to_string(index=False))
    verb = "would create" if args.dry_run else "created"
    print(f"\n{verb} {len(result.planned) - result.existing if args.dry_run else result.created}, "
          f"already there {result.existing}")
    return 0


def _status(args: argparse.Namespace) -> int:
    from calib.sessions import SessionPlan, session_status, summarize_status
    from calib.workflow import open_connection

    plan = SessionPlan.from_yaml(args.plan)
    with open_connection(args.backend, args.sandbox_seed) as conn:
        status = session_status(conn.client, plan, now=_now(args, conn))
    table = status if args.detail else summarize_status(status)
    print(table.to_string(index=False))
    not_created = int((status["state"] == "not created").sum())
    if not_created:
        print(f"\n{not_created} planned conversation(s) have no calibration yet; run calib create.")
    return 0

"""``calib select``, ``create``, ``status``, ``reveal`` and ``sync``: the session loop on the
command line.

A thin layer over :mod:`calib.workflow`, :mod:`calib.sessions` and :mod:`calib.sync`; backends
and stores are opened by :mod:`calib.context`. ``--backend sandbox`` (or a plan selected on the
sandbox) uses the running ``calib sandbox serve`` when there is one, else the persistent demo
org under ``outputs/sandbox/``, so the verbs follow each other on one org and its clock.
``calib create`` only shows what it would create unless ``--yes`` is given.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``select``, ``create``, ``status``, ``reveal`` and ``sync`` verbs."""
    select = subparsers.add_parser(
        "select", help="select calibration candidates and write a session plan",
        description="Select conversations for a calibration session (stratified, seeded, "
                    "gray-area first) and write the session plan YAML to "
                    "parameters/sessions/. A plan file that holds a different plan is kept "
                    "unless --force is given.")
    select.add_argument("--params", required=True, type=Path,
                        help="selection parameters YAML (see parameters/select-demo.yaml)")
    select.add_argument("--out", type=Path, default=None, help="plan file (overrides 'out')")
    select.add_argument("--force", action="store_true",
                        help="replace a plan file that holds a different plan")
    select.set_defaults(func=_select)

    create = subparsers.add_parser(
        "create", help="show, then create, the calibrations of a session plan",
        description="Shows the calibrations a plan would create (a dry run: nothing is "
                    "created). With --yes, creates one calibration per planned conversation "
                    "and records the plan and its deadline in the store. Safe to rerun: "
                    "existing calibrations are found and skipped, an interrupted run resumes.")
    create.add_argument("--plan", required=True, type=Path, help="session plan YAML")
    create.add_argument("--yes", action="store_true",
                        help="create the calibrations (without it nothing is created)")
    create.add_argument("--store", default=None, metavar="URL",
                        help="store that records the plan (default: $CALIB_STORE_URL, else "
                             "outputs/calib.sqlite)")
    create.add_argument("--no-store", action="store_true",
                        help="do not record the plan in a store")
    _backend_args(create)
    create.set_defaults(func=_create)

    status = subparsers.add_parser(
        "status", help="show who has finished a session's evaluations (never scores)",
        description="Live status per evaluator: finished, in progress, pending, overdue, by "
                    "name and email, and who is late. Scores stay hidden.")
    status.add_argument("--plan", required=True, type=Path, help="session plan YAML")
    status.add_argument("--detail", action="store_true",
                        help="one row per calibration and evaluator")
    _backend_args(status)
    status.set_defaults(func=_status)

    reveal = subparsers.add_parser(
        "reveal", help="open sealed calibrations after their deadline, recording who and why",
        description="Scores stay sealed until every evaluator has finished. After the "
                    "deadline (by the backend's clock) an analyst may open the rest; who and "
                    "why are recorded and quoted in the report.")
    reveal.add_argument("--params", required=True, type=Path,
                        help="the team's report parameters (team, backend, store)")
    reveal.add_argument("--month", default=None, help="YYYY-MM (default: the file's month)")
    reveal.add_argument("--by", required=True, help="who reveals")
    reveal.add_argument("--reason", required=True, help="why, in words")
    reveal.add_argument("--calibration", action="append", default=None, metavar="ID",
                        help="only this calibration (repeat for several)")
    reveal.set_defaults(func=_reveal)

    sync = subparsers.add_parser(
        "sync", help="bring a team's months from the backend into the store",
        description="The sync the report runs first, on its own: the team's history months "
                    "(ending with the month) from the sandbox or Genesys Cloud, or the score "
                    "files of the files backend, into the store.")
    sync.add_argument("--params", required=True, type=Path,
                      help="the team's report parameters (see parameters/demo.yaml)")
    sync.add_argument("--month", default=None, help="YYYY-MM (default: the file's month)")
    sync.set_defaults(func=_sync)


def _backend_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", choices=("genesys", "sandbox"), default=None,
                        help="the org the plan belongs to (default: the plan's own 'backend')")


def _open(backend: str, seed: int) -> Any:
    from calib.context import open_backend

    return open_backend(backend, sandbox_seed=seed)


def _print_table(frame: Any, empty: str) -> None:
    print(frame.to_string(index=False) if len(frame) else empty)


def _select(args: argparse.Namespace) -> int:
    from calib.workflow import candidate_table, people, plan_path, read_select_params, \
        reasons_table, select_session

    params = read_select_params(args.params)
    with _open(params["backend"], params["sandbox_seed"]) as backend:
        selection, plan = select_session(backend, params)
        who = people(backend.client, selection.candidates["agent_id"])
    out = plan.to_yaml(args.out or plan_path(params), overwrite=args.force)
    print(selection.funnel[["step", "remaining", "removed"]].to_string(index=False))
    print()
    print(candidate_table(selection.candidates, who).to_string(index=False))
    print("\nWhy each was picked:")
    for i, row in enumerate(reasons_table(selection.candidates, who).itertuples(index=False), 1):
        print(f"  {i}. {row.agent}: {row.reason}")
    print(f"\nThe session plan for {len(plan.conversations)} conversation(s) is in {out}. "
          f"Review it, then: calib create --plan {_shown(out)}")
    return 0


def _shown(path: Path) -> str:
    from calib.context import project_root

    try:
        return str(Path(path).resolve().relative_to(project_root()))
    except ValueError:
        return str(path)


def _create(args: argparse.Namespace) -> int:
    from calib.cli import CommandError
    from calib.sessions import SessionPlan, create_session
    from calib.workflow import people

    plan = SessionPlan.from_yaml(args.plan)
    if args.store and args.no_store:
        raise CommandError("--store and --no-store contradict each other; pass one of them.")
    with _open(args.backend or plan.backend, plan.sandbox_seed) as backend:
        store = None if args.no_store or not args.yes else backend.open_store(args.store)
        try:
            result = create_session(backend.client, plan, dry_run=not args.yes, store=store,
                                    now=backend.now(), progress=False)
        finally:
            if store is not None:
                store.close()
        who = people(backend.client, [c.agent_id for c in plan.conversations])
    names = dict(zip(who["user_id"], who["name"]))
    table = result.planned.assign(agent=result.planned["agent_id"].map(names)
                                  .fillna(result.planned["agent_id"]))
    _print_table(table[["index", "agent", "conversation_id", "action", "calibration_id"]]
                 .fillna(""), "The plan has no conversations.")
    panel = len(set(plan.panel_ids) | {plan.expert_id})
    if result.duplicates_note:
        print(f"\n{result.duplicates_note}")
    if not args.yes:
        todo = int((result.planned["action"] == "would create").sum())
        print(f"\nDry run: nothing was created. {todo} calibration(s) would be created for a "
              f"panel of {panel}, {result.existing} already exist. To create them: "
              f"calib create --plan {_shown(args.plan)} --yes")
        return 0
    print(f"\nCreated {result.created}, already there {result.existing}; each evaluator of the "
          f"panel of {panel} now has them to score, due {plan.deadline}.")
    if store is not None:
        print(f"The plan and its deadline are recorded in {backend_store_display(args.store)}.")
    return 0


def backend_store_display(url: str | None) -> str:
    from calib.context import store_url
    from calib.store.engine import parse_url

    return parse_url(store_url(url)).render_as_string(hide_password=True)


def _status(args: argparse.Namespace) -> int:
    from calib.sessions import SessionPlan, session_status
    from calib.workflow import late_evaluators, people, with_people

    plan = SessionPlan.from_yaml(args.plan)
    with _open(args.backend or plan.backend, plan.sandbox_seed) as backend:
        now = backend.now()
        status = session_status(backend.client, plan, now=now)
        who = people(backend.client, status["evaluator_id"])
    status = with_people(status, who, id_column="evaluator_id", prefix="evaluator")
    created = status[status["state"] != "not created"]
    print(f"{plan.name}: deadline {plan.deadline}; now {now:%Y-%m-%d %H:%M} UTC by the "
          f"{'sandbox' if backend.sandbox is not None else 'system'} clock.")
    if created.empty:
        print(f"\nNone of the {len(plan.conversations)} planned calibrations exists yet; create "
              f"them with: calib create --plan {_shown(args.plan)} --yes")
        return 0
    if args.detail:
        _print_table(created[["conversation_id", "evaluator_name", "evaluator_email", "role",
                              "state"]], "")
    else:
        counts = (created.groupby(["evaluator_name", "evaluator_email", "role"])["state"]
                  .value_counts().unstack(fill_value=0).reset_index())
        for state in ("finished", "in progress", "pending", "overdue"):
            if state not in counts:
                counts[state] = 0
        counts = counts.rename(columns={"evaluator_name": "evaluator",
                                        "evaluator_email": "email"})
        print()
        _print_table(counts[["evaluator", "email", "role", "finished", "in progress", "pending",
                             "overdue"]].sort_values(["role", "evaluator"]), "")
    late = late_evaluators(status)
    n_cal = created["calibration_id"].nunique()
    done = created.groupby("calibration_id")["state"].apply(lambda s: (s == "finished").all())
    print(f"\n{int(done.sum())} of {n_cal} calibration(s) have every evaluation finished.")
    if late.empty:
        print("Nobody is late: every evaluation is finished.")
    else:
        overdue = late[late["overdue"] > 0]
        heading = "Late (the deadline has passed)" if len(overdue) else "Still to finish"
        print(f"{heading}:")
        for row in late.itertuples(index=False):
            print(f"  {row.name} <{row.email}>: {row.open} of {row.assigned} open"
                  + (f", {row.overdue} overdue" if row.overdue else ""))
    not_created = int((status["state"] == "not created").sum())
    if not_created:
        print(f"\n{not_created} planned conversation(s) have no calibration yet; run "
              f"calib create --plan {_shown(args.plan)} --yes")
    return 0


def _team_params(path: Path) -> dict:
    from calib.commands.report import REPORT_NOTEBOOK
    from calib.render.contract import load
    from calib.render.runner import find_notebook

    return load(path, find_notebook(REPORT_NOTEBOOK))


def _reveal(args: argparse.Namespace) -> int:
    from calib.values import check_month

    params = _team_params(args.params)
    month = check_month(args.month or params["month"])
    with _open(params["backend"] if params["backend"] in ("sandbox", "genesys") else "store",
               params["sandbox_seed"]) as backend, \
            backend.open_store(params["store_url"] or None) as store:
        n = store.reveal(params["team"], month, by=args.by, reason=args.reason,
                         calibration_ids=args.calibration)
        when = backend.now()
    if n == 0:
        print(f"Nothing to reveal: every calibration of {params['team']} in {month} is already "
              f"open.")
    else:
        print(f"Revealed {n} calibration(s) of {params['team']} in {month} at "
              f"{when:%Y-%m-%d %H:%M} UTC, by {args.by}: {args.reason}. The report quotes it.")
    return 0


def _sync(args: argparse.Namespace) -> int:
    from calib.report.data import prepare_month
    from calib.values import check_month

    params = _team_params(args.params)
    if args.month:
        params["month"] = check_month(args.month)
    prepared = prepare_month(params)
    print(f"Synced team {params['team']} up to {params['month']} "
          f"({params['history_months']} month(s)) into the store at "
          f"{backend_store_display(prepared.store_url)}, as of "
          f"{prepared.as_of:%Y-%m-%d %H:%M} UTC.")
    if prepared.synced is not None and len(prepared.synced):
        table = prepared.synced.rename(columns={"gate_closed": "sealed"})
        _print_table(table[["month", "calibrations", "evaluations", "answers", "inserted",
                            "updated", "deleted", "sealed"]], "")
    for note in prepared.notes:
        print(f"  {note}")
    return 0

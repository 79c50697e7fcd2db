"""``calib select``, ``create``, ``status`` and ``cleanup``: calibration sessions on the command
line.

A thin layer over :mod:`calib.sessions` (its ``steps`` tie plans to a backend); backends
and stores are opened by :mod:`calib.context`. ``--backend sandbox`` (or a plan selected on the
sandbox) uses the running ``calib sandbox serve`` when there is one, else the persistent demo
org under ``outputs/sandbox/``, so the verbs follow each other on one org and its clock.
``calib create`` only shows what it would create unless ``--yes`` is given.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from calib.commands.common import open_backend, print_table, shown_path, store_display


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``select``, ``create``, ``status`` and ``cleanup`` verbs."""
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
    select.add_argument("--include", nargs="+", action="extend", default=[], metavar="ID",
                        help="a conversation to calibrate (CONVERSATION_ID) or an existing "
                             "evaluation (CONVERSATION_ID/EVALUATION_ID, its score kept as the "
                             "original); goes first and counts towards n")
    select.add_argument("--store", default=None, metavar="URL",
                        help="history store whose scores steer the gray-area preference "
                             "(default: $CALIB_STORE_URL, else outputs/calib.sqlite)")
    select.add_argument("--no-store", action="store_true",
                        help="do not read a history store (the demo org's own history still "
                             "steers a sandbox selection)")
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
    status.add_argument("--store", default=None, metavar="URL",
                        help="store the month was synced into, for a disputed evaluation's "
                             "comparison (default: $CALIB_STORE_URL, else outputs/calib.sqlite)")
    _backend_args(status)
    status.set_defaults(func=_status)


    cleanup = subparsers.add_parser(
        "cleanup", help="list, then delete, a team's calibrations older than its retention",
        description="Lists the calibrations of the team's calibrators created before the "
                    "retention cut-off (a dry run: nothing is deleted). With --yes, deletes "
                    "them from the org. The store keeps their scores; the retention must cover "
                    "the report's history_months so that no later sync drops them.")
    cleanup.add_argument("--params", required=True, type=Path,
                         help="the team's parameters YAML (team, backend, calibrators, "
                              "history_months), as for calib report")
    cleanup.add_argument("--keep-months", required=True, type=int, metavar="N",
                         help="months to keep, the current one included")
    cleanup.add_argument("--yes", action="store_true",
                         help="delete them (without it nothing is deleted)")
    cleanup.set_defaults(func=_cleanup)


def _backend_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", choices=("genesys", "sandbox"), default=None,
                        help="the org the plan belongs to (default: the plan's own 'backend')")


def _select(args: argparse.Namespace) -> int:
    from calib.sessions.steps import candidate_table, people, plan_path, read_select_params, \
        reasons_table, select_session

    from calib.cli import CommandError

    if args.store and args.no_store:
        raise CommandError("--store and --no-store contradict each other; pass one of them.")
    params = read_select_params(args.params)
    with open_backend(params["backend"], params["sandbox_seed"]) as backend:
        store = None if args.no_store else backend.open_store(args.store)
        try:
            selection, plan = select_session(backend, params, store=store,
                                             include=args.include)
        finally:
            if store is not None:
                store.close()
        who = people(backend.client, selection.candidates["agent_id"])
    out = plan.to_yaml(args.out or plan_path(params), overwrite=args.force)
    print(selection.funnel[["step", "remaining", "removed"]].to_string(index=False))
    print()
    print(candidate_table(selection.candidates, who).to_string(index=False))
    print("\nWhy each was picked:")
    for i, row in enumerate(reasons_table(selection.candidates, who).itertuples(index=False), 1):
        print(f"  {i}. {row.agent}: {row.reason}")
    print(f"\nThe session plan for {len(plan.conversations)} conversation(s) is in {out}. "
          f"Review it, then: calib create --plan {shown_path(out)}")
    return 0


def _create(args: argparse.Namespace) -> int:
    from calib.cli import CommandError
    from calib.sessions import SessionPlan, create_session
    from calib.sessions.steps import people

    plan = SessionPlan.from_yaml(args.plan)
    if args.store and args.no_store:
        raise CommandError("--store and --no-store contradict each other; pass one of them.")
    with open_backend(args.backend or plan.backend, plan.sandbox_seed) as backend:
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
    print_table(table[["index", "agent", "conversation_id", "action", "calibration_id"]]
                 .fillna(""), "The plan has no conversations.")
    panel = len(set(plan.panel_ids) | {plan.expert_id})
    if result.duplicates_note:
        print(f"\n{result.duplicates_note}")
    if not args.yes:
        todo = int((result.planned["action"] == "would create").sum())
        print(f"\nDry run: nothing was created. {todo} calibration(s) would be created for a "
              f"panel of {panel}, {result.existing} already exist. To create them: "
              f"calib create --plan {shown_path(args.plan)} --yes")
        return 0
    print(f"\nCreated {result.created}, already there {result.existing}; each evaluator of the "
          f"panel of {panel} now has them to score, due {plan.deadline}.")
    if store is not None:
        print(f"The plan and its deadline are recorded in {store_display(args.store)}.")
    return 0


def _status(args: argparse.Namespace) -> int:
    from calib.sessions import SessionPlan, session_status
    from calib.sessions.steps import late_evaluators, people, with_people

    plan = SessionPlan.from_yaml(args.plan)
    with open_backend(args.backend or plan.backend, plan.sandbox_seed) as backend:
        now = backend.now()
        status = session_status(backend.client, plan, now=now)
        who = people(backend.client, status["evaluator_id"])
        disputes = _dispute_lines(backend, plan, args.store)
    status = with_people(status, who, id_column="evaluator_id", prefix="evaluator")
    created = status[status["state"] != "not created"]
    print(f"{plan.name}: deadline {plan.deadline}; now {now:%Y-%m-%d %H:%M} UTC by the "
          f"{'sandbox' if backend.sandbox is not None else 'system'} clock.")
    if created.empty:
        print(f"\nNone of the {len(plan.conversations)} planned calibrations exists yet; create "
              f"them with: calib create --plan {shown_path(args.plan)} --yes")
        return 0
    if args.detail:
        print_table(created[["conversation_id", "evaluator_name", "evaluator_email", "role",
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
        print_table(counts[["evaluator", "email", "role", "finished", "in progress", "pending",
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
              f"calib create --plan {shown_path(args.plan)} --yes")
    if disputes:
        print("\nDisputed evaluations, the original score beside the panel's:")
        for line in disputes:
            print(f"  {line}")
    return 0


def _dispute_lines(backend: Any, plan: Any, store_url: str | None) -> list[str]:
    """One line per disputed evaluation of the plan: the original score beside the panel's
    mean and agreed score from the store, once the call is synced and open (never before)."""
    from calib.consensus import initial_vs_agreed
    from calib.sessions.disputes import dispute_table, originals_of_plans
    from calib.sessions.steps import people

    originals = originals_of_plans([plan.to_dict()])
    if originals.empty:
        return []
    with backend.open_store(store_url) as store:
        scores = store.scores(plan.team, plan.month)
        agreed = initial_vs_agreed(store, plan.team, plan.month) if len(scores) else None
    agents = {c.conversation_id: c.agent_id for c in plan.conversations}
    ids = [*agents.values(), *originals["original_evaluator_id"].dropna()]
    who = people(backend.client, [i for i in ids if i])
    names = dict(zip(who["user_id"], who["name"]))
    lines = []
    for r in dispute_table(originals, scores, agreed, names=names).itertuples(index=False):
        call = f"{names.get(agents.get(r.conversation_id), 'call')} · {r.conversation_id[:8]}"
        first = f"{call}: originally {r.original_score:.1f} by {r.original_evaluator}"
        if r.n_panel == 0:
            lines.append(f"{first}; the panel's scores stay hidden until every evaluation is "
                         f"finished and the month is synced (calib sync).")
            continue
        agreed_text = ("" if r.compared_with != "agreed score"
                       else f", agreed {r.agreed_score:.1f}")
        lines.append(f"{first}; panel mean {r.panel_mean:.1f} (n = {r.n_panel}){agreed_text}: "
                     f"{r.verdict}.")
    return lines


def _cleanup(args: argparse.Namespace) -> int:
    from calib.cli import CommandError
    from calib.commands.month import _team_params
    from calib.genesys.month import find_users
    from calib.sessions.cleanup import cleanup_calibrations

    params = _team_params(args.params)
    if params["backend"] not in ("sandbox", "genesys"):
        raise CommandError(f"calib cleanup deletes calibrations in an org; the backend of "
                           f"{args.params} is {params['backend']!r}, which has none.")
    history = int(params["history_months"])
    if args.keep_months < history:
        raise CommandError(
            f"--keep-months {args.keep_months} is shorter than the report's history_months "
            f"({history}) in {args.params}: the next sync would find those calibrations gone "
            f"and drop their scores from the store's history. Keep at least {history} months.")
    with open_backend(params["backend"], params["sandbox_seed"]) as backend:
        calibrators = [u["id"] for u in find_users(backend.client, list(params["calibrators"]))]
        result = cleanup_calibrations(backend.client, calibrators, keep_months=args.keep_months,
                                      now=backend.now(), dry_run=not args.yes)
    listed = result.listed
    team = params["team"]
    cutoff = f"{result.cutoff:%Y-%m-%d}"
    if listed.empty:
        print(f"Team {team} has no calibration created before {cutoff}; nothing to delete.")
        return 0
    table = listed.assign(created=listed["created"].dt.strftime("%Y-%m-%d"),
                          finished=listed["finished"].astype(str) + "/"
                          + listed["evaluations"].astype(str))
    print_table(table[["created", "name", "conversation_id", "finished", "action"]], "")
    if not args.yes:
        print(f"\nDry run: nothing was deleted. {len(listed)} calibration(s) of team {team} "
              f"were created before {cutoff} (kept: {args.keep_months} month(s)). To delete "
              f"them: calib cleanup --params {shown_path(args.params)} --keep-months "
              f"{args.keep_months} --yes")
        return 0
    gone = int((listed["action"] == "already gone").sum())
    print(f"\nDeleted {result.deleted} calibration(s) of team {team} created before {cutoff}"
          + (f"; {gone} were already gone" if gone else "") + ". The store keeps their scores.")
    return 0

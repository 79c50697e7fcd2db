"""``calib consensus push``: the agreed answers written back to Genesys Cloud.

A dry run by default: it lists, per call and question by question in words, what would be sent;
``--yes`` sends it (:func:`calib.consensus_push.push_consensus`). The verb hangs under ``calib
consensus`` (registered from :mod:`calib.commands.rubric`).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register_push(verbs: argparse._SubParsersAction) -> None:
    """Add ``calib consensus push`` to the ``consensus`` verbs."""
    push = verbs.add_parser(
        "push", help="write the agreed answers back to Genesys as each calibration's scoring "
                     "index (dry run without --yes)",
        description="For each call with agreed answers recorded, writes them into the expert's "
                    "evaluation of the calibration (its scoring index) in Genesys Cloud. Lists "
                    "first, question by question; nothing is sent without --yes. Refused, with "
                    "nothing sent, while a disputed question has no agreed answer or the form "
                    "changed. The expert's own answers stay in the store.")
    push.add_argument("--params", required=True, type=Path,
                      help="the team's parameters YAML (team, backend, calibrators), as for "
                           "calib sync")
    push.add_argument("--month", action="append", default=None, metavar="YYYY-MM",
                      help="only calls of this month (repeat for several; default: all)")
    push.add_argument("--call", action="append", default=None, metavar="ID",
                      help="only this call: its conversation id as the agenda shows it (the "
                           "first characters are enough) or its calibration id (repeat)")
    push.add_argument("--yes", action="store_true",
                      help="send the agreed answers (without it nothing is sent)")
    push.add_argument("--store", default=None, metavar="URL",
                      help="store URL (default: the file's store_url, else $CALIB_STORE_URL, "
                           "else outputs/calib.sqlite)")
    push.set_defaults(func=_push)


def _push(args: argparse.Namespace) -> int:
    from calib.cli import CommandError
    from calib.commands.common import open_backend, shown_path
    from calib.commands.month import _team_params
    from calib.consensus_push import PushRefused, push_consensus

    params = _team_params(args.params)
    team = params["team"]
    if params["backend"] not in ("sandbox", "genesys"):
        raise CommandError(f"calib consensus push writes to an org; the backend of "
                           f"{args.params} is {params['backend']!r}, which has none.")
    with open_backend(params["backend"], params["sandbox_seed"]) as backend:
        with backend.open_store(args.store or params.get("store_url") or None) as store:
            try:
                result = push_consensus(backend.client, store, team=team, months=args.month,
                                        calls=args.call, send=args.yes, now=backend.now())
            except PushRefused as exc:
                raise CommandError(str(exc)) from None
    calls = result.calls
    if calls.empty:
        print(f"No call of team {team} has agreed answers recorded; record them after the "
              f"meeting with calib consensus record.")
        return 0
    for row in calls.itertuples(index=False):
        held = "held" if row.action == "sent" else "holds"
        print(f"Call {row.call}: {row.action}. The expert {row.expert}'s evaluation "
              f"{row.evaluation_id[:8]} {held} {row.expert_score:.1f} in Genesys; the agreed "
              f"answers score {row.agreed_score:.1f}.")
        mine = result.changes[result.changes["calibration_id"] == row.calibration_id]
        for change in mine.itertuples(index=False):
            print(f"  {change.question}: {change.in_genesys} -> {change.agreed}")
        if row.set_scoring_index:
            print("  the calibration's scoring index is pointed at this evaluation")
    todo = calls[calls["action"] != "already in Genesys"]
    there = len(calls) - len(todo)
    if not args.yes:
        rerun = f"calib consensus push --params {shown_path(args.params)}" + "".join(
            f" --month {m}" for m in args.month or ()) + "".join(
            f" --call {c}" for c in args.call or ())
        print(f"\nDry run: nothing was sent. {len(todo)} evaluation(s) would be updated with "
              f"the agreed answers, {there} already hold them."
              + (f" To send: {rerun} --yes" if len(todo) else ""))
        return 0
    print(f"\nSent the agreed answers of {len(todo)} call(s) to Genesys; {there} already held "
          f"them. The expert's own answers stay in the store: the next calib sync keeps them.")
    return 0

"""``calib sync`` and ``calib reveal``: a team's month in the store, and its blind gate.

Both read the team's report parameter file (team, backend, calibrators, store), open the backend
through :mod:`calib.context` (its clock judges deadlines) and write the store: ``sync`` the
history months, as ``calib report`` does before any kernel starts; ``reveal`` the sealed
calibrations whose deadline has passed, recording who and why.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from calib.commands.common import open_backend, print_table, store_display


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``sync`` and ``reveal`` verbs."""
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


def _team_params(path: Path) -> dict:
    from calib.commands.report import REPORT_NOTEBOOK
    from calib.render.contract import load
    from calib.render.runner import find_notebook

    return load(path, find_notebook(REPORT_NOTEBOOK))


def _reveal(args: argparse.Namespace) -> int:
    from calib.values import check_month

    params = _team_params(args.params)
    month = check_month(args.month or params["month"])
    with open_backend(params["backend"] if params["backend"] in ("sandbox", "genesys") else "store",
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
          f"{store_display(prepared.store_url)}, as of "
          f"{prepared.as_of:%Y-%m-%d %H:%M} UTC.")
    if prepared.synced is not None and len(prepared.synced):
        table = prepared.synced.rename(columns={"gate_closed": "sealed"})
        print_table(table[["month", "calibrations", "evaluations", "answers", "inserted",
                            "updated", "deleted", "sealed"]], "")
    for note in prepared.notes:
        print(f"  {note}")
    return 0

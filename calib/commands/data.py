"""``calib import`` and ``calib export``: scores in and out as files, without API access.

Thin verbs over :mod:`calib.interchange`; the store is ``--store URL`` or ``$CALIB_STORE_URL``
or the default SQLite file.
"""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``import`` and ``export`` verbs to the ``calib`` command."""
    imp = subparsers.add_parser(
        "import", help="import calibration scores from CSV/Parquet files into the store",
        description="Validate score files (the tidy interchange format, a wide spreadsheet, a "
                    "Genesys evaluation export, or any layout described by a mapping file) "
                    "and upsert each month they hold into the history store. Nothing is "
                    "written when any file has a problem; importing the same files again "
                    "changes nothing. See docs/interchange.md.")
    imp.add_argument("files", nargs="+", metavar="FILE", help="CSV or Parquet file(s)")
    imp.add_argument("--team", required=True, help="the team the scores belong to")
    how = imp.add_mutually_exclusive_group()
    how.add_argument("--preset", choices=("tidy", "wide", "genesys"), default=None,
                     help="the files' layout (default: tidy)")
    how.add_argument("--mapping", metavar="FILE", default=None,
                     help="a YAML mapping file describing any other layout")
    imp.add_argument("--month", default=None, metavar="YYYY-MM",
                     help="month for rows with neither a month column nor a submitted time")
    imp.add_argument("--dry-run", action="store_true",
                     help="validate and show what would change, writing nothing")
    imp.add_argument("--store", default=None, metavar="URL",
                     help="store URL (default: $CALIB_STORE_URL or outputs/calib.sqlite)")
    imp.set_defaults(func=_import)

    exp = subparsers.add_parser(
        "export", help="export a team's month from the store as interchange files",
        description="Write one month of a team's scores and answers from the store in the "
                    "tidy interchange format (two files: <team>_<month>_scores and _answers), "
                    "so they can be imported by another team or tool.")
    exp.add_argument("--team", required=True, help="the team to export")
    exp.add_argument("--month", required=True, metavar="YYYY-MM", help="the month to export")
    exp.add_argument("--out", default=".", metavar="DIR", help="output directory (default: .)")
    exp.add_argument("--format", choices=("csv", "parquet"), default="csv", dest="fmt",
                     help="file format (default: csv)")
    exp.add_argument("--store", default=None, metavar="URL",
                     help="store URL (default: $CALIB_STORE_URL or outputs/calib.sqlite)")
    exp.set_defaults(func=_export)


def _import(args: argparse.Namespace) -> int:
    from calib.interchange import import_into_store
    from calib.store import Store

    with Store(args.store) as store:
        report = import_into_store(store, args.files, team=args.team, preset=args.preset,
                                   mapping=args.mapping, month=args.month,
                                   dry_run=args.dry_run)
    print(report.summary())
    return 0


def _export(args: argparse.Namespace) -> int:
    from calib.interchange import export_from_store
    from calib.store import Store

    notes: list[str] = []
    with Store(args.store) as store:
        paths = export_from_store(store, team=args.team, month=args.month, out_dir=args.out,
                                  fmt=args.fmt, notes=notes)
    for path in paths:
        print(path)
    for note in notes:
        print(f"calib: note: {note}", file=sys.stderr)
    return 0

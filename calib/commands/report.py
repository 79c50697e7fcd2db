"""``calib report`` and ``calib run``: thin verbs over :mod:`calib.report`."""

from __future__ import annotations

import argparse
import sys

#: The monthly report notebook ``calib report`` runs unless --notebook says otherwise.
REPORT_NOTEBOOK = "04_monthly_report.ipynb"
#: The program review notebook ``calib review`` runs.
REVIEW_NOTEBOOK = "06_program_review.ipynb"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report``, ``review`` and ``run`` verbs to the ``calib`` command."""
    report = subparsers.add_parser(
        "report", help="render monthly reports (papermill + offline HTML)",
        description="Render the monthly report notebook for one or more parameter files, in "
                    "parallel; each writes outputs/<team>/<YYYY-MM>/.")
    report.add_argument("--params", nargs="+", required=True, metavar="FILE",
                        help="YAML parameter file(s), one per team")
    report.add_argument("--month", default=None, metavar="YYYY-MM",
                        help="render this month instead of the files' own 'month'")
    report.add_argument("--jobs", type=int, default=None, metavar="N",
                        help="parallel runs (default: number of CPUs)")
    report.add_argument("--outputs", default=None, metavar="DIR",
                        help="output root (default: outputs/ in the project)")
    report.add_argument("--notebook", default=None, metavar="NOTEBOOK",
                        help="report notebook (default: notebooks/04_monthly_report.ipynb)")
    report.set_defaults(func=_report)

    review = subparsers.add_parser(
        "review", help="render the program review across teams (papermill + offline HTML)",
        description="Render the program review notebook (every team's reliability by month, "
                    "each team's trend, every evaluator's severity over the period, a paragraph "
                    "for the director) for a parameter file; writes outputs/program_review/"
                    "<file name>_<first month>_<last month>/.")
    review.add_argument("--params", required=True, metavar="FILE",
                        help="YAML parameter file (see parameters/review-demo.yaml)")
    review.add_argument("--outputs", default=None, metavar="DIR",
                        help="output root (default: outputs/ in the project)")
    review.add_argument("--overwrite", action="store_true",
                        help="replace a review rendered into the same folder from other "
                             "parameters (refused otherwise)")
    review.set_defaults(func=_review)

    run = subparsers.add_parser(
        "run", help="run one notebook with a parameter file",
        description="Validate the parameter file against the notebook's parameters cell, run "
                    "it with papermill and export offline HTML.")
    run.add_argument("notebook", metavar="NOTEBOOK", help="the .ipynb to run")
    run.add_argument("--params", required=True, metavar="FILE", help="YAML parameter file")
    run.add_argument("--outputs", default=None, metavar="DIR",
                     help="output root (default: outputs/ in the project)")
    run.set_defaults(func=_run)


def _report(args: argparse.Namespace) -> int:
    from calib.render.runner import RenderError, find_notebook, render_many

    try:
        results = render_many(args.params, jobs=args.jobs,
                              notebook=args.notebook or find_notebook(REPORT_NOTEBOOK),
                              outputs_root=args.outputs,
                              overrides={"month": args.month} if args.month else None)
    except RenderError as exc:
        print(f"calib: error: {exc}", file=sys.stderr)
        return 1
    for result in results:
        print(f"{result.team} {result.month}: {result.html} ({result.seconds:.1f} s)")
    return 0


def _review(args: argparse.Namespace) -> int:
    from calib.context import project_root
    from calib.render.contract import load
    from calib.render.runner import RenderError, find_notebook, render
    from calib.review.output import check_folder, claim_folder, review_folder

    notebook = find_notebook(REVIEW_NOTEBOOK)
    root = args.outputs if args.outputs is not None else project_root() / "outputs"
    try:
        params = load(args.params, notebook)
        check_folder(root, args.params, params, overwrite=args.overwrite)
        result = render(args.params, notebook=notebook, outputs_root=root,
                        folder=review_folder(args.params, params))
        claim_folder(result.output_dir, args.params, params)
    except RenderError as exc:
        print(f"calib: error: {exc}", file=sys.stderr)
        return 1
    print(f"{result.html} ({result.seconds:.1f} s)")
    return 0


def _run(args: argparse.Namespace) -> int:
    from calib.render.runner import RenderError, render

    try:
        result = render(args.params, notebook=args.notebook, outputs_root=args.outputs)
    except RenderError as exc:
        print(f"calib: error: {exc}", file=sys.stderr)
        return 1
    print(f"{result.notebook}\n{result.html}")
    return 0

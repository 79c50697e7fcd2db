"""The ``calib`` command: a thin layer over the library.

Each area registers its verbs in ``calib/commands/<area>.py`` through a ``register(subparsers)``
function; this module only wires them together and turns calib's errors into clean messages.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Sequence

# Modules under calib.commands that define register(subparsers). Imported lazily by main().
COMMAND_MODULES = ("sandbox", "sessions", "month", "report", "data", "rubric", "program")


class CommandError(Exception):
    """A user-facing error: printed as one sentence, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="calib",
        description="Calibration workbench for contact-center Quality Management.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"calib.commands.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("calib: interrupted", file=sys.stderr)
        return 130
    except (CommandError, ValueError) as exc:
        print(f"calib: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # calib's own error hierarchies end up here with a sentence
        from calib.context import BackendError
        from calib.genesys.errors import GenesysError
        from calib.render.runner import RenderError

        if isinstance(exc, (GenesysError, BackendError, RenderError)):
            print(f"calib: error: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":  # pragma: no cover
    # ``python -m calib.cli`` runs this file as __main__, a second copy of the module whose
    # CommandError is not the one the commands raise: run the imported module's main instead
    from calib.cli import main as imported_main

    sys.exit(imported_main())

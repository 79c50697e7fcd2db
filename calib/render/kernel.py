"""What a kernel started by the runner knows about itself. Imported inside kernels: keep light.

The runner (:mod:`calib.render.runner`) starts each kernel before its preparation (the monthly
report's sync) runs, with :data:`RUNNER_VARIABLE` in the kernel's environment, and has it import
the modules the notebook declares (``metadata.calib.imports``) in a background thread while the
preparation runs: a report's half-minute sync against a real org then hides the second its
libraries take to import, and the notebook's first cell finds them loaded (or waits for the
import in progress rather than starting its own).
"""

from __future__ import annotations

import os
import re
import threading
from typing import Iterable

#: Set to "1" in the environment of the kernels the runner starts.
RUNNER_VARIABLE = "CALIB_RUNNER_KERNEL"

_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def runner_started() -> bool:
    """Whether this process is a kernel the runner started."""
    return os.environ.get(RUNNER_VARIABLE) == "1"


def is_module_name(name: str) -> bool:
    """Whether ``name`` is a dotted Python module name (what ``imports`` may list)."""
    return bool(_MODULE.match(name))


def import_in_background(modules: Iterable[str]) -> threading.Thread:
    """Import ``modules`` in a daemon thread; a failure is left for the notebook's own import
    to raise, in its cell, with its traceback."""
    names = [m for m in modules if is_module_name(m)]

    def run() -> None:
        import importlib

        for name in names:
            try:
                importlib.import_module(name)
            except BaseException:  # noqa: BLE001 - the cell's own import reports it
                return

    thread = threading.Thread(target=run, name="calib-imports", daemon=True)
    thread.start()
    return thread


def startup_line(modules: Iterable[str]) -> str:
    """The IPython start-up line that calls :func:`import_in_background` with ``modules``."""
    names = tuple(m for m in modules if is_module_name(m))
    return f"import calib.render.kernel as _k; _k.import_in_background({names!r}); del _k"

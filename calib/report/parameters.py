"""The monthly report's own parameter rules and its preparation before a kernel starts.

Declared by ``notebooks/04_monthly_report.ipynb`` and ``03_variance_analysis.ipynb`` in their
metadata (see :mod:`calib.render.contract`): :func:`check` refuses values the report cannot use,
:func:`prepare` checks the team, syncs or imports the data and checks the month, so the kernel
only reads the store.
"""

from __future__ import annotations

import math
import re
from typing import Any

from calib import context
from calib.context import BACKENDS, ReportSettings
from calib.interchange.presets import PRESETS
from calib.report.data import prepare_month
from calib.values import ParameterError, check_month, check_team

__all__ = ["check", "prepare", "BACKENDS"]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+\Z")


def check(params: dict[str, Any], source: str = "the parameters") -> None:
    """Raise :class:`ParameterError` naming the first value the report cannot use."""
    def fail(msg: str) -> None:
        raise ParameterError(f"{source}: {msg}")

    if "team" in params:
        check_team(params["team"], source=source)
    if "month" in params:
        check_month(params["month"], source=source)
    if "backend" in params and params["backend"] not in BACKENDS:
        fail(f"'backend' must be one of {', '.join(BACKENDS)}, not {params['backend']!r}.")
    if params.get("files_preset"):
        if params["files_preset"] not in PRESETS:
            fail(f"'files_preset' must be one of {', '.join(PRESETS)} (or empty for the tidy "
                 f"interchange format), not {params['files_preset']!r}.")
    if "calibrators" in params:
        if not params["calibrators"]:
            fail("'calibrators' is empty; list the email of at least one calibrator.")
        for email in params["calibrators"]:
            if not _EMAIL.match(str(email)):
                fail(f"{email!r} in 'calibrators' is not an email address; list calibrators "
                     f"by their Genesys email.")
    for name, value in params.items():
        if isinstance(value, float) and not math.isfinite(value):
            fail(f"'{name}' is {value!r}; give a finite number.")
    for name in ("seed", "sandbox_seed"):
        if name in params and isinstance(params[name], int) and params[name] < 0:
            fail(f"'{name}' must not be negative.")
    ReportSettings.from_mapping(params, source=source)


def prepare(params: dict[str, Any]) -> dict[str, Any]:
    """Check the team, sync (or import) the history months and check the month, before any
    kernel starts; the kernel then reads the store (``backend: store``) as of the backend's
    clock at the sync."""
    if params.get("backend") == "store":
        prepare_month(params)  # the team and month are checked; the kernel reads the store
        return params

    prepared = prepare_month(params)
    # The kernel resolves the store by the same rule (the parameter, else $CALIB_STORE_URL, else
    # outputs/calib.sqlite), so the parameter goes back as the user gave it: a URL resolved from
    # the environment may hold a password, and parameters are written into the notebook.
    return {**params, "backend": "store", "store_url": str(params.get("store_url") or ""),
            "as_of": prepared.as_of.isoformat(), "sync_notes": list(prepared.notes),
            "ui_base": context.genesys_ui_base() if params.get("backend") == "genesys" else ""}

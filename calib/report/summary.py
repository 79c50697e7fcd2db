"""The machine-readable summary of a report: its headline figures as JSON.

NaN and infinities become ``null`` (JSON has no NaN), NumPy scalars become Python numbers, and
the file is replaced atomically so a reader never sees half of it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Mapping

SCHEMA_VERSION = 1


def jsonable(value: Any) -> Any:
    """Turn NumPy/pandas scalars, NaN, tuples and paths into plain JSON values."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (ValueError, TypeError):
            pass
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Path):
        return str(value)
    try:  # pandas NA / NaT
        import pandas as pd

        if pd.isna(value):
            return None
        if isinstance(value, pd.Timestamp):
            return value.isoformat()
    except (TypeError, ValueError):
        pass
    return str(value)


def write_summary(summary: Any, output_dir: str | Path | None = None) -> Path | None:
    """Write ``summary.json`` into the run's folder.

    Parameters
    ----------
    summary : MonthData or mapping
        A :class:`calib.report.MonthData` (its :func:`build_summary` is written) or a mapping.
    output_dir : str or Path, optional
        Defaults to the ``output_dir`` parameter of the MonthData. When it is empty (an
        interactive session), nothing is written.

    Returns
    -------
    Path or None
        The file written, or None when there was no output folder.
    """
    if not isinstance(summary, Mapping):
        if output_dir is None:
            output_dir = summary.params.get("output_dir", "")
        summary = build_summary(summary)
    if not output_dir:
        return None
    path = Path(output_dir) / "summary.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(jsonable(summary), indent=2, allow_nan=False) + "\n",
                   encoding="utf-8")
    tmp.replace(path)
    return path


def build_summary(data: Any) -> dict[str, Any]:
    """The headline figures of a month as a plain dict; see :mod:`calib.report.data`."""
    from calib.report.data import summary_of

    return summary_of(data)

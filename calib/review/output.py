"""Where ``calib review`` writes: one folder per review, never another review's.

A quarter and a year, or two lists of teams, are different reviews: each renders into
``<outputs>/program_review/<name>_<first month>_<last month>/``, where ``name`` is the
parameter file's name (``review-demo`` for ``parameters/review-demo.yaml``). The folder records which parameters
rendered it (``.review.json``): rendering the same review again refreshes it, as the monthly
report refreshes its month; parameters that differ are refused unless the run passes
``--overwrite``, so no review is replaced by another one silently.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from calib.values import ParameterError, inside

ROOT_FOLDER = "program_review"
CLAIM = ".review.json"
_RUNNER_KEYS = ("output_dir",)  # set by the runner, not part of what the review is


def review_folder(params_file: str | Path, params: dict[str, Any]) -> tuple[str, str]:
    """``("program_review", "<name>_<first>_<last>")``: the review's output folder parts.

    Examples
    --------
    >>> review_folder("parameters/review-demo.yaml", {"first_month": "2026-05",
    ...                                               "last_month": "2026-10"})
    ('program_review', 'review-demo_2026-05_2026-10')
    """
    name = Path(params_file).stem
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "review"
    return ROOT_FOLDER, f"{slug}_{params['first_month']}_{params['last_month']}"


def _claim(params_file: str | Path, params: dict[str, Any]) -> dict[str, Any]:
    return {"params_file": str(Path(params_file).resolve()),
            "params": {k: v for k, v in sorted(params.items()) if k not in _RUNNER_KEYS}}


def check_folder(outputs_root: str | Path, params_file: str | Path, params: dict[str, Any], *,
                 overwrite: bool = False) -> Path:
    """The review's folder under ``outputs_root``, refused when another review rendered there.

    Raises
    ------
    calib.values.ParameterError
        The folder holds a review of other parameters (or of another parameter file) and
        ``overwrite`` is False; nothing is written.
    """
    folder = inside(outputs_root, *review_folder(params_file, params))
    claim = folder / CLAIM
    if overwrite or not claim.is_file():
        return folder
    try:
        held = json.loads(claim.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        held = None
    mine = json.loads(json.dumps(_claim(params_file, params), default=str))
    if held != mine:
        source = held.get("params_file") if isinstance(held, dict) else "unknown parameters"
        raise ParameterError(
            f"{folder} holds the review rendered from {source} with other parameters; nothing "
            f"was changed. Give this review its own parameter file name, or pass --overwrite "
            f"to replace it.")
    return folder


def claim_folder(folder: str | Path, params_file: str | Path, params: dict[str, Any]) -> Path:
    """Record (after a successful render) which parameters the folder's review comes from."""
    path = Path(folder) / CLAIM
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(_claim(params_file, params), indent=1, default=str) + "\n",
                   encoding="utf-8")
    tmp.replace(path)
    return path

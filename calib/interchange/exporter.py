"""Write a month's tidy tables in the interchange format (CSV or Parquet), so that they round-trip.

The files are ``<team>_<YYYY-MM>_scores.<ext>`` and ``<team>_<YYYY-MM>_answers.<ext>`` with the
columns of ``calib.tables.SCORES_COLUMNS`` and ``ANSWERS_COLUMNS`` in that order. In CSV,
date-times are ISO-8601 UTC with a ``Z`` (microseconds), booleans are ``true``/``false``, numbers
are written with full precision and missing values as empty cells, UTF-8 without a byte-order
mark and ``,`` as the separator.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from calib.tables import ANSWERS_COLUMNS, SCORES_COLUMNS, answers_frame, scores_frame

Format = Literal["csv", "parquet"]


def file_names(team: str, month: str, fmt: Format = "csv") -> tuple[str, str]:
    """The scores and answers file names for a team and month."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", team).strip("-") or "team"
    return f"{safe}_{month}_scores.{fmt}", f"{safe}_{month}_answers.{fmt}"


def export_month(scores: pd.DataFrame, answers: pd.DataFrame, out_dir: str | Path, *,
                 team: str, month: str, fmt: Format = "csv") -> list[Path]:
    """Write one month of one team's scores and answers.

    Parameters
    ----------
    scores, answers : pandas.DataFrame
        Tidy tables; rows of other teams or months are left out.
    out_dir : path
        Directory to write into (created if missing).
    team, month : str
        The team and ``YYYY-MM`` month to write.
    fmt : {"csv", "parquet"}
        File format.

    Returns
    -------
    list of pathlib.Path
        The scores file and the answers file.

    Raises
    ------
    ValueError
        When ``fmt`` is unknown or the tables hold no rows for the team and month.
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"format {fmt!r} is not supported; use 'csv' or 'parquet'.")
    scores = scores_frame(scores)
    answers = answers_frame(answers)
    scores = scores[(scores["team"] == team) & (scores["month"] == month)]
    answers = answers[(answers["team"] == team) & (answers["month"] == month)]
    if scores.empty:
        raise ValueError(f"There are no scores for team {team!r} in {month}; check the team "
                         f"and month, or sync/import that month first.")
    scores = scores.sort_values(["calibration_id", "evaluator_id"], kind="stable")
    answers = answers.sort_values(["calibration_id", "evaluator_id", "question_group_id",
                                   "question_id"], kind="stable", na_position="last")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = file_names(team, month, fmt)
    paths = [out / names[0], out / names[1]]
    for frame, columns, path in ((scores, SCORES_COLUMNS, paths[0]),
                                 (answers, ANSWERS_COLUMNS, paths[1])):
        frame = frame[list(columns)].reset_index(drop=True)
        if fmt == "parquet":
            frame.to_parquet(path, index=False)
        else:
            _to_csv(frame, path)
    return paths


def _to_csv(frame: pd.DataFrame, path: Path) -> None:
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_datetime64_any_dtype(values):
            text = values.dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            out[column] = text.where(values.notna(), None)
        elif pd.api.types.is_bool_dtype(values):
            out[column] = values.map({True: "true", False: "false"})
    out.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")


def export_from_store(store: Any, *, team: str, month: str, out_dir: str | Path,
                      fmt: Format = "csv") -> list[Path]:
    """Export one month of a team from the history store (see :func:`export_month`).

    Raises
    ------
    ValueError
        When the store holds nothing for the team and month; the message lists the months it
        does hold.
    """
    scores = store.scores(team, [month])
    if scores.empty:
        held = list(store.months(team))
        raise ValueError(f"The store holds no scores for team {team!r} in {month}"
                         + (f" (it holds {', '.join(held)})" if held else
                            " (it holds nothing for that team)")
                         + "; sync or import that month first, or pick another month.")
    answers = store.answers(team, [month])
    return export_month(scores, answers, out_dir, team=team, month=month, fmt=fmt)

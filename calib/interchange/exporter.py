"""Write a month's tidy tables in the interchange format (CSV or Parquet), so that they round-trip.

The files are ``<team>_<YYYY-MM>_scores.<ext>`` and ``<team>_<YYYY-MM>_answers.<ext>`` with the
columns of ``calib.tables.SCORES_COLUMNS`` and ``ANSWERS_COLUMNS`` in that order. In CSV,
date-times are ISO-8601 UTC with a ``Z`` (microseconds), booleans are ``true``/``false``, numbers
are written with full precision and missing values as empty cells, UTF-8 without a byte-order
mark and ``,`` as the separator.

Text cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``,
tab or CR, after any leading ``'``) get a ``'`` in front, as OWASP's CSV-injection guidance
advises; the importer removes it again, so the files round-trip exactly. Number, date and
yes/no columns are never changed. Parquet files are written as they are (no spreadsheet runs
them).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from calib.interchange.ai_columns import AI_ANSWER_FIELDS, AI_SCORE_FIELDS, with_ai_columns
from calib.interchange.reading import needs_formula_quote
from calib.tables import ANSWERS_COLUMNS, SCORES_COLUMNS, answers_frame, scores_frame

Format = Literal["csv", "parquet"]


def file_names(team: str, month: str, fmt: Format = "csv") -> tuple[str, str]:
    """The scores and answers file names for a team and month."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", team).strip("-") or "team"
    return f"{safe}_{month}_scores.{fmt}", f"{safe}_{month}_answers.{fmt}"


def export_month(scores: pd.DataFrame, answers: pd.DataFrame, out_dir: str | Path, *,
                 team: str, month: str, fmt: Format = "csv",
                 ai_runs: pd.DataFrame | None = None,
                 ai_answers: pd.DataFrame | None = None) -> list[Path]:
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
    ai_runs, ai_answers : pandas.DataFrame, optional
        The month's AI scoring (:mod:`calib.ai.tables`): when it has rows, the files gain the
        optional AI columns after the table columns (:mod:`calib.interchange.ai_columns`).

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
    scores, answers = with_ai_columns(scores, answers, ai_runs, ai_answers)
    for frame, columns, extra, path in ((scores, SCORES_COLUMNS, AI_SCORE_FIELDS, paths[0]),
                                        (answers, ANSWERS_COLUMNS, AI_ANSWER_FIELDS, paths[1])):
        frame = frame[list(columns) + [c for c in extra if c in frame.columns]]\
            .reset_index(drop=True)
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
        elif values.dtype == object:
            out[column] = values.map(_formula_safe)
    if not _holds_carriage_return(out):
        out.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
        return
    # Python's csv writer quotes a field only for the characters of its line terminator, so a
    # lone CR inside a text would be written bare and read back as a line break. Write with
    # CR-LF (every CR and LF inside a field is then quoted) and turn the row ends, which are the
    # CR-LFs outside quotes, back into LF: the same bytes as above, with such fields quoted.
    text = out.to_csv(index=False, lineterminator="\r\n")
    parts = text.split('"')  # even parts lie outside quotes ('""' toggles twice)
    parts[0::2] = [part.replace("\r\n", "\n") for part in parts[0::2]]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write('"'.join(parts))


def _holds_carriage_return(frame: pd.DataFrame) -> bool:
    return any(frame[c].map(lambda v: isinstance(v, str) and "\r" in v).any()
               for c in frame.columns if frame[c].dtype == object)


def _formula_safe(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula, with ``'`` in front (see module)."""
    if isinstance(value, str) and needs_formula_quote(value):
        return "'" + value
    return value


def export_from_store(store: Any, *, team: str, month: str, out_dir: str | Path,
                      fmt: Format = "csv", notes: list[str] | None = None) -> list[Path]:
    """Export one month of a team from the history store (see :func:`export_month`).

    Only open calibrations are exported: the blind gate keeps sealed scores in the store. When
    some calibrations of the month are still sealed, a sentence saying so is appended to
    ``notes`` (when given).

    Raises
    ------
    ValueError
        When the store holds nothing open for the team and month: the message says whether the
        month is sealed (and how it opens) or lists the months the store does hold.
    """
    scores = store.scores(team, [month])
    sealed = dict(scores.attrs.get("sealed") or {})
    n_sealed = int(sealed.get("n_calibrations") or 0)
    if scores.empty and n_sealed:
        raise ValueError(
            f"Team {team!r}'s month {month} is sealed: its {n_sealed} calibration"
            f"{'s' if n_sealed != 1 else ''} still wait for evaluations, so no score leaves the "
            f"store yet. Scores open after every evaluator finished, or after the deadline "
            f"with an explicit reveal (`calib reveal`); export the month then.")
    if scores.empty:
        held = list(store.months(team))
        raise ValueError(f"The store holds no scores for team {team!r} in {month}"
                         + (f" (it holds {', '.join(held)})" if held else
                            " (it holds nothing for that team)")
                         + "; sync or import that month first, or pick another month.")
    if n_sealed and notes is not None:
        notes.append(f"{n_sealed} calibration(s) of {month} are still sealed and were left out "
                     f"of the files; export again once they are open. Importing these files "
                     f"back into this store would remove the sealed ones that came from files "
                     f"(files are the source of truth for their month).")
    answers = store.answers(team, [month])
    return export_month(scores, answers, out_dir, team=team, month=month, fmt=fmt,
                        ai_runs=store.ai_runs(team, [month]),
                        ai_answers=store.ai_answers(team, [month]))

"""The tidy tables that modules exchange: ``scores`` and ``answers``.

The column meanings are documented in ``docs/architecture.md``. Keep this module free of logic
beyond building and checking frames, so every module can import it cheaply.
"""

from __future__ import annotations

from typing import Iterable, Mapping

import pandas as pd

ROLES = ("expert", "evaluator")
STATUSES = ("PENDING", "INPROGRESS", "FINISHED", "INREVIEW", "RETRACTED")

SCORES_COLUMNS: Mapping[str, str] = {
    "team": "object",
    "month": "object",
    "session_id": "object",
    "calibration_id": "object",
    "conversation_id": "object",
    "agent_id": "object",
    "calibrator_id": "object",
    "evaluation_id": "object",
    "evaluator_id": "object",
    "evaluator_name": "object",
    "role": "object",
    "status": "object",
    "total_score": "float64",
    "critical_score": "float64",
    "any_failed_kill": "bool",
    "submitted_at": "datetime64[ns, UTC]",
    "form_id": "object",
    "form_context_id": "object",
}

ANSWERS_COLUMNS: Mapping[str, str] = {
    "team": "object",
    "month": "object",
    "session_id": "object",
    "calibration_id": "object",
    "conversation_id": "object",
    "evaluation_id": "object",
    "evaluator_id": "object",
    "role": "object",
    "form_id": "object",
    "question_group_id": "object",
    "question_group_name": "object",
    "question_id": "object",
    "question_text": "object",
    "answer_id": "object",
    "answer_text": "object",
    "points": "float64",
    "max_points": "float64",
    "marked_na": "bool",
    "comment": "object",
}

NA_CATEGORY = "N/A"


def empty_frame(columns: Mapping[str, str]) -> pd.DataFrame:
    """An empty DataFrame with the given columns and dtypes."""
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in columns.items()})


def conform(rows: Iterable[Mapping] | pd.DataFrame, columns: Mapping[str, str]) -> pd.DataFrame:
    """Build a frame with exactly ``columns`` (in order, with their dtypes) from rows.

    Missing columns are added empty; extra columns are dropped. Raises ``ValueError`` naming
    the column when a value cannot take the column's dtype.
    """
    frame = rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    out = {}
    for name, dtype in columns.items():
        if name not in frame.columns:
            out[name] = pd.Series([None] * len(frame), index=frame.index, dtype="object")
            if dtype == "float64":
                out[name] = out[name].astype("float64")
            elif dtype == "bool":
                out[name] = pd.Series(False, index=frame.index)
            elif dtype.startswith("datetime64"):
                out[name] = pd.Series(pd.NaT, index=frame.index, dtype=dtype)
            continue
        col = frame[name]
        try:
            if dtype.startswith("datetime64"):
                out[name] = pd.to_datetime(col, utc=True)
            elif dtype == "bool":
                out[name] = col.fillna(False).astype(bool)
            elif dtype == "float64":
                out[name] = pd.to_numeric(col).astype("float64")
            else:
                out[name] = col.astype("object").where(col.notna(), None)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"Column {name!r} cannot be read as {dtype}: {exc}. "
                             f"Check the values in that column.") from exc
    return pd.DataFrame(out, index=frame.index).reset_index(drop=True)


def scores_frame(rows: Iterable[Mapping] | pd.DataFrame = ()) -> pd.DataFrame:
    """A ``scores`` table with the documented columns."""
    return conform(rows, SCORES_COLUMNS)


def answers_frame(rows: Iterable[Mapping] | pd.DataFrame = ()) -> pd.DataFrame:
    """An ``answers`` table with the documented columns."""
    return conform(rows, ANSWERS_COLUMNS)


def require_columns(frame: pd.DataFrame, names: Iterable[str], *, what: str = "data") -> None:
    """Raise ``ValueError`` naming every column of ``names`` that ``frame`` lacks."""
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"{what} must be a pandas DataFrame, not {type(frame).__name__}.")
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise ValueError(
            f"{what} lacks the column(s) {', '.join(map(repr, missing))}; it has "
            f"{', '.join(map(repr, frame.columns))}. Rename your columns or pass the names "
            f"as keyword arguments.")

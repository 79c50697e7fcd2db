"""The tidy interchange format: column names, aliases and value spellings.

The format mirrors the ``scores`` and ``answers`` tables of ``docs/architecture.md``; it is
documented for analysts in ``docs/interchange.md``. A file is *long*: one row per evaluation
(a scores file), one row per question answer (an answers file), or one row per question answer
carrying the evaluation's columns too (a combined file). Only ``calibration_id``,
``evaluator_id`` and ``total_score`` are required; ``is_expert`` may stand in for ``role``.

Values are parsed here, on a column's distinct values (files are read as dictionary-encoded text),
so that a million rows cost little more than their few thousand distinct values.
"""

from __future__ import annotations

import re
from typing import Callable

import numpy as np
import pandas as pd

from calib import values
from calib.tables import ANSWERS_COLUMNS, ROLES, SCORES_COLUMNS, STATUSES

#: Columns of an exported scores file, in order (the ``scores`` table).
SCORE_FIELDS: tuple[str, ...] = tuple(SCORES_COLUMNS)
#: Columns of an exported answers file, in order (the ``answers`` table).
ANSWER_FIELDS: tuple[str, ...] = tuple(ANSWERS_COLUMNS)
#: Columns that an answers row shares with its evaluation.
EVALUATION_FIELDS: tuple[str, ...] = tuple(c for c in SCORE_FIELDS if c not in ("team",))
#: Answer-level columns (those of ``answers`` that are not evaluation columns).
QUESTION_FIELDS: tuple[str, ...] = ("question_group_id", "question_group_name", "question_id",
                                    "question_text", "answer_id", "answer_text", "points",
                                    "max_points", "marked_na", "comment")
#: Extra columns the importer understands besides the table columns (the optional AI scoring
#: columns: calib.interchange.ai_columns).
EXTRA_FIELDS: tuple[str, ...] = ("is_expert", "ai_scored", "ai_run_failure_type",
                                 "ai_answer_id", "ai_marked_na", "ai_failure_type",
                                 "ai_explanation")
#: Every column name the importer understands after mapping.
KNOWN_FIELDS: tuple[str, ...] = tuple(dict.fromkeys(SCORE_FIELDS + ANSWER_FIELDS + EXTRA_FIELDS))
#: The minimal spreadsheet.
REQUIRED_FIELDS: tuple[str, ...] = ("calibration_id", "evaluator_id", "total_score")
#: One evaluator's one evaluation of one call.
EVALUATION_KEY: tuple[str, ...] = ("calibration_id", "evaluator_id")

FLOAT_FIELDS = tuple(n for n, t in {**SCORES_COLUMNS, **ANSWERS_COLUMNS}.items() if t == "float64")
BOOL_FIELDS = ("any_failed_kill", "marked_na", "is_expert", "ai_scored", "ai_marked_na")
TIME_FIELDS = ("submitted_at",)
#: Identifiers: spaces around them are removed, so ``"a "`` and ``"a"`` are one evaluator.
ID_FIELDS = ("team", "month", "session_id", "calibration_id", "conversation_id", "agent_id",
             "calibrator_id", "evaluation_id", "evaluator_id", "form_id", "form_context_id",
             "question_group_id", "question_id", "answer_id", "ai_answer_id")
#: The years a calibration's month and submitted time may fall in (calib's one rule).
FIRST_YEAR, LAST_YEAR = values.FIRST_YEAR, values.LAST_YEAR

#: Short names a plain spreadsheet may use (matched after :func:`name_key`).
TIDY_ALIASES: dict[str, str] = {
    "calibration": "calibration_id", "call": "calibration_id", "callid": "calibration_id",
    "conversation": "conversation_id", "interaction": "conversation_id",
    "interactionid": "conversation_id",
    "agent": "agent_id", "calibrator": "calibrator_id",
    "evaluation": "evaluation_id",
    "evaluator": "evaluator_id", "reviewer": "evaluator_id",
    "score": "total_score", "total": "total_score", "criticalscore": "critical_score",
    "submitted": "submitted_at", "submitteddate": "submitted_at",
    "session": "session_id", "form": "form_id", "formversion": "form_id",
    "formcontext": "form_context_id", "expert": "is_expert", "isexpert": "is_expert",
    "question": "question_id", "questiongroup": "question_group_id",
    "answer": "answer_id", "na": "marked_na", "markedna": "marked_na",
    "comments": "comment", "fatalfailed": "any_failed_kill",
}

_TRUE = {"true", "t", "yes", "y", "1", "x", "1.0", "expert", "ja", "oui", "si", "sí", "wahr",
         "vrai"}
_FALSE = {"", "false", "f", "no", "n", "0", "0.0", "-", "evaluator", "nein", "non", "falsch",
          "faux"}
_STATUS_SPELLINGS = {
    "finished": "FINISHED", "complete": "FINISHED", "completed": "FINISHED", "done": "FINISHED",
    "submitted": "FINISHED", "inprogress": "INPROGRESS", "started": "INPROGRESS",
    "pending": "PENDING", "notstarted": "PENDING", "assigned": "PENDING",
    "inreview": "INREVIEW", "retracted": "RETRACTED",
}
_DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d*,\d+\s*$")


def name_key(name: object) -> str:
    """Compare column names ignoring case, spaces, dots, dashes and underscores."""
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


def on_distinct(series: pd.Series, func: Callable[[pd.Index], object],
                dtype: str) -> tuple[pd.Series, np.ndarray]:
    """Apply ``func`` to the distinct non-null values of ``series`` and broadcast the result.

    ``func`` returns, for each distinct value (as text), the parsed value or a missing value when
    it cannot be parsed. Returns the parsed series (dtype ``dtype``; ``object`` for ``bool``) and
    a boolean mask of rows whose value is present but could not be parsed.
    """
    cat = series if isinstance(series.dtype, pd.CategoricalDtype) else series.astype("category")
    codes = cat.cat.codes.to_numpy()
    categories = pd.Index(cat.cat.categories.astype(str), dtype="object")
    series_dtype = "object" if dtype == "bool" else dtype
    parsed = pd.Series(func(categories), dtype=series_dtype).reset_index(drop=True)
    failed = np.append(parsed.isna().to_numpy(), False)
    missing = pd.Series([None], dtype=series_dtype)
    extended = pd.concat([parsed, missing], ignore_index=True)
    positions = np.where(codes >= 0, codes, len(parsed))
    result = extended.iloc[positions].set_axis(series.index)
    return result, failed[positions]


def parse_float(series: pd.Series, *, decimal_comma: bool) -> tuple[pd.Series, np.ndarray]:
    """Numbers; ``85,5`` is accepted when ``decimal_comma`` (``;``- or tab-separated files)."""
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return series.astype("float64"), np.zeros(len(series), dtype=bool)

    def convert(values: pd.Index) -> np.ndarray:
        text = pd.Series(values, dtype="object").str.strip().str.rstrip("%")
        if decimal_comma:
            text = text.where(~text.str.match(_DECIMAL_COMMA), text.str.replace(",", ".",
                                                                              regex=False))
        numbers = pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64")
        for i in np.flatnonzero(np.isnan(numbers)):  # 1e400 overflows: say so, not "no number"
            numbers[i] = _overflow(text.iloc[i])
        return numbers

    return on_distinct(series, convert, "float64")


def _overflow(text: object) -> float:
    """±inf for a number too large for a float (``1e400``), else NaN."""
    try:
        value = float(str(text))
    except ValueError:
        return np.nan
    return value if np.isinf(value) else np.nan


def parse_bool(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Yes/no values: true/false, yes/no, y/n, 1/0, x; blank is false."""
    if pd.api.types.is_bool_dtype(series):
        return series.astype(bool), np.zeros(len(series), dtype=bool)

    def convert(values: pd.Index) -> np.ndarray:
        out = np.full(len(values), None, dtype=object)
        keys = [str(v).strip().lower() for v in values]
        for i, key in enumerate(keys):
            out[i] = True if key in _TRUE else False if key in _FALSE else None
        return out

    parsed, bad = on_distinct(series, convert, "bool")
    return parsed.where(parsed.notna(), False).astype(bool), bad


def parse_status(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Quality API statuses; also the analytics and UI spellings (``Finished``, ``Complete``)."""
    def convert(values: pd.Index) -> np.ndarray:
        return np.array([_STATUS_SPELLINGS.get(name_key(v)) for v in values], dtype=object)

    return on_distinct(series, convert, "object")


def parse_role(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """``expert`` or ``evaluator`` (any case)."""
    def convert(values: pd.Index) -> np.ndarray:
        return np.array([v.strip().lower() if v.strip().lower() in ROLES else None
                         for v in values], dtype=object)

    return on_distinct(series, convert, "object")


def parse_time(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """ISO-8601 date-times; a time without a zone is taken as UTC."""
    if pd.api.types.is_datetime64_any_dtype(series):
        out = pd.to_datetime(series, utc=True)
        return out, np.zeros(len(series), dtype=bool)

    def convert(values: pd.Index) -> np.ndarray:
        parsed = pd.to_datetime(pd.Series(values, dtype="object"), utc=True, errors="coerce",
                                format="mixed")
        return parsed.dt.tz_convert("UTC").astype("datetime64[ns, UTC]").to_numpy()

    return on_distinct(series, convert, "datetime64[ns, UTC]")


def parse_text(series: pd.Series) -> pd.Series:
    """Text columns stay dictionary-encoded (``category``) until the final table is built."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series
    if pd.api.types.is_float_dtype(series):  # ids typed as numbers in a Parquet file: 7.0 → "7"
        whole = series.dropna()
        if (whole == np.floor(whole)).all():
            series = series.astype("Int64")
    text = series.astype("string").astype("object")
    return text.where(series.notna(), None).astype("category")


def month_of(times: pd.Series) -> pd.Series:
    """``YYYY-MM`` of UTC date-times (None where the time is missing)."""
    present = times.notna().to_numpy()
    key = np.where(present, times.dt.year.fillna(0).to_numpy(dtype="int64") * 100
                   + times.dt.month.fillna(0).to_numpy(dtype="int64"), -1)
    distinct, codes = np.unique(key, return_inverse=True)
    text = np.array([f"{k // 100:04d}-{k % 100:02d}" if k >= 0 else None for k in distinct],
                    dtype=object)
    return pd.Series(text[codes], index=times.index, dtype="object")


STATUS_VALUES = STATUSES

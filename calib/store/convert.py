"""Turning frames and API JSON into normalized row dicts, and times into naive UTC.

Rows are compared field by field to decide insert / update / unchanged, so every value is put
in one canonical Python form here: ``None`` for missing (never NaN or NaT), ``float`` for
numbers, ``bool`` for flags, naive-UTC ``datetime`` for times.
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime, timezone
from typing import Any, Iterable, Mapping

import pandas as pd

from calib import values

MONTH_RE = values.MONTH_PATTERN


def check_month(month: object) -> str:
    """Return ``month`` if it is a ``"YYYY-MM"`` month calib accepts (:mod:`calib.values`)."""
    return values.check_month(month)


def check_team(team: object) -> str:
    """Return ``team`` if it is a team name by calib's one rule (:mod:`calib.values`)."""
    return values.check_team(team)


def month_list(months: str | Iterable[str] | None) -> list[str] | None:
    """Normalize a ``months`` filter: one month, several, or None for all."""
    if months is None:
        return None
    items = [months] if isinstance(months, str) else list(months)
    return [check_month(m) for m in items]


def month_end(month: str) -> datetime:
    """The first instant (naive UTC) after ``month``: the default deadline of its calibrations."""
    year, mon = int(month[:4]), int(month[5:])
    return datetime(year + (mon == 12), 1 if mon == 12 else mon + 1, 1)


def to_naive_utc(value: Any, *, what: str = "time") -> datetime | None:
    """A naive UTC datetime from a datetime, Timestamp or ISO string; naive input counts as UTC."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} {value!r} is not a date-time; use ISO-8601 such as "
                         f"'2026-11-20T17:00:00Z'.") from None
    if pd.isna(stamp):
        return None
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.floor("us").to_pydatetime()


def to_date(value: Any, *, what: str = "date") -> date:
    """A ``date`` from a date, datetime or ``YYYY-MM-DD`` string."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{what} {value!r} is not a date; use 'YYYY-MM-DD'.") from None


def aware(value: datetime | None) -> pd.Timestamp:
    """A stored naive-UTC datetime as a UTC Timestamp (NaT for None)."""
    if value is None:
        return pd.NaT
    return pd.Timestamp(value).tz_localize("UTC")


def clean(value: Any) -> Any:
    """Canonical Python value: None for NaN/NaT/pd.NA, plain float/bool/str otherwise."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalars
        value = value.item()
        if isinstance(value, float) and math.isnan(value):
            return None
    return value


def as_float(value: Any) -> float | None:
    value = clean(value)
    return None if value is None else float(value)


def as_text(value: Any) -> str | None:
    value = clean(value)
    return None if value is None else str(value)


def json_list(values: Any) -> str:
    """Serialize a list-like (or one string) as a JSON list, for list-valued text columns."""
    if values is None:
        return "[]"
    if isinstance(values, str):
        values = [values]
    return json.dumps([str(v) for v in values])


def form_rows(form: Mapping[str, Any]) -> tuple[dict, list[dict], list[dict]]:
    """Rows for ``forms``, ``form_questions`` and ``form_answer_options`` from a form's JSON.

    ``form`` is an ``EvaluationFormResponse`` as ``GET /api/v2/quality/forms/evaluations/{id}``
    returns it (genesys-api.md §5); missing keys are tolerated, a missing ``id`` is not.
    """
    if not isinstance(form, Mapping) or not form.get("id"):
        raise ValueError("Each form must be the API's form JSON with an 'id'; got "
                         f"{type(form).__name__} without one.")
    form_id = str(form["id"])
    head = {"form_id": form_id, "form_context_id": as_text(form.get("contextId")),
            "name": as_text(form.get("name")), "published": bool(form.get("published", False)),
            "weight_mode": as_text(form.get("weightMode")),
            "modified_date": to_naive_utc(form.get("modifiedDate"), what="form modifiedDate"),
            "body": json.dumps(form, sort_keys=True, default=str)}
    questions, options = [], []
    position = 0
    for group in form.get("questionGroups") or ():
        for question in group.get("questions") or ():
            values = [as_float(o.get("value")) for o in question.get("answerOptions") or ()]
            values = [v for v in values if v is not None]
            questions.append({
                "form_id": form_id, "question_id": str(question["id"]), "position": position,
                "question_group_id": as_text(group.get("id")),
                "question_group_name": as_text(group.get("name")),
                "group_weight": as_float(group.get("weight")),
                "question_text": as_text(question.get("text")),
                "question_type": as_text(question.get("type")),
                "na_enabled": bool(question.get("naEnabled", False)),
                "is_critical": bool(question.get("isCritical", False)),
                "is_kill": bool(question.get("isKill", False)),
                "max_points": max(values) if values else None})
            for opt_pos, option in enumerate(question.get("answerOptions") or ()):
                options.append({"form_id": form_id, "question_id": str(question["id"]),
                                "answer_id": str(option["id"]), "position": opt_pos,
                                "answer_text": as_text(option.get("text")),
                                "value": as_float(option.get("value"))})
            position += 1
    return head, questions, options


def user_row(user: Mapping[str, Any]) -> dict:
    """A ``users`` row from the API's ``User`` JSON (``id`` required)."""
    if not isinstance(user, Mapping) or not user.get("id"):
        raise ValueError("Each user must be the API's user JSON with an 'id'; got "
                         f"{type(user).__name__} without one.")
    division = user.get("department")
    return {"user_id": str(user["id"]), "name": as_text(user.get("name")),
            "email": as_text(user.get("email")), "username": as_text(user.get("username")),
            "state": as_text(user.get("state")), "title": as_text(user.get("title")),
            "department": as_text(division)}


def frame_records(frame: pd.DataFrame) -> list[dict]:
    """The frame's rows as dicts of canonical values (column-wise: months hold 10^4-10^5 rows).

    Time-zone-aware columns become naive-UTC ``datetime`` (microseconds), missing values None,
    numpy scalars Python ones.
    """
    columns = []
    for name in frame.columns:
        col = frame[name]
        if isinstance(col.dtype, pd.DatetimeTZDtype):
            naive = col.dt.tz_convert("UTC").dt.tz_localize(None).dt.floor("us")
            values = [None if pd.isna(v) else v.to_pydatetime() for v in naive]
        else:
            values = [None if v is None or v is pd.NaT or v is pd.NA
                      or (isinstance(v, float) and v != v) else v for v in col.tolist()]
        columns.append(values)
    names = list(frame.columns)
    return [dict(zip(names, row)) for row in zip(*columns)]


def now_utc() -> datetime:
    """The current time, naive UTC (the store's storage form)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)

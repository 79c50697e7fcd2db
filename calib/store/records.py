"""Session plans, the rubric decision log, consensus answers, file imports and run records."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Iterable, Mapping

import pandas as pd
import sqlalchemy as sa

from calib.store import convert as cv

PLAN_KEYS = ("name", "team", "month", "focus", "form_id", "calibrator_id", "expert_id",
             "panel_ids", "deadline", "conversation_ids")


def session_row(plan: Mapping[str, Any], saved_at: datetime) -> dict:
    """A ``sessions`` row from a session plan dict (``name``, ``team``, ``month`` required)."""
    if not isinstance(plan, Mapping):
        raise ValueError(f"A session plan must be a dict with keys {list(PLAN_KEYS)}, not "
                         f"{type(plan).__name__}.")
    name = plan.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError("The session plan needs a non-empty 'name'; it becomes the session id.")
    return {"session_id": name, "team": cv.check_team(plan.get("team")),
            "month": cv.check_month(plan.get("month")), "focus": cv.as_text(plan.get("focus")),
            "form_id": cv.as_text(plan.get("form_id")),
            "calibrator_id": cv.as_text(plan.get("calibrator_id")),
            "expert_id": cv.as_text(plan.get("expert_id")),
            "panel_ids": cv.json_list(plan.get("panel_ids")),
            "deadline": cv.to_naive_utc(plan.get("deadline"), what="deadline"),
            "conversation_ids": cv.json_list(plan.get("conversation_ids")),
            "plan": json.dumps(dict(plan), sort_keys=True, default=str), "saved_at": saved_at}


def sessions_frame(rows: Iterable[Mapping]) -> pd.DataFrame:
    """Stored session rows as a DataFrame with list columns decoded and times in UTC."""
    out = []
    for r in rows:
        out.append({"session_id": r["session_id"], "name": r["session_id"], "team": r["team"],
                    "month": r["month"], "focus": r["focus"], "form_id": r["form_id"],
                    "calibrator_id": r["calibrator_id"], "expert_id": r["expert_id"],
                    "panel_ids": json.loads(r["panel_ids"] or "[]"),
                    "deadline": cv.aware(r["deadline"]),
                    "conversation_ids": json.loads(r["conversation_ids"] or "[]"),
                    "saved_at": cv.aware(r["saved_at"])})
    frame = pd.DataFrame(out, columns=["session_id", "name", "team", "month", "focus", "form_id",
                                       "calibrator_id", "expert_id", "panel_ids", "deadline",
                                       "conversation_ids", "saved_at"])
    for col in ("deadline", "saved_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


def rubric_note_row(*, question_id: str, decision: str, decided_on: Any,
                    form_context_id: str | None, form_version_id: str | None,
                    session_id: str | None, anchors: Iterable[str] | str | None,
                    agreed_by: Iterable[str] | str | None, recorded_at: datetime) -> dict:
    """A ``rubric_notes`` row; ``decision`` in words is required, anchors and names are lists."""
    if not isinstance(question_id, str) or not question_id:
        raise ValueError("question_id must be the form question's id (a non-empty string).")
    if not isinstance(decision, str) or not decision.strip():
        raise ValueError("decision must say in words what was agreed; it is empty.")
    if form_context_id is None and form_version_id is None:
        raise ValueError("A rubric note needs form_context_id or form_version_id, so it is tied "
                         "to the form it interprets.")
    return {"question_id": question_id, "form_context_id": form_context_id,
            "form_version_id": form_version_id,
            "decided_on": cv.to_date(decided_on, what="decided_on"),
            "session_id": session_id, "decision": decision, "anchors": cv.json_list(anchors),
            "agreed_by": cv.json_list(agreed_by), "recorded_at": recorded_at}


def rubric_frame(rows: Iterable[Mapping]) -> pd.DataFrame:
    """Stored rubric notes, oldest decision first, with list columns decoded."""
    out = [{**r, "anchors": json.loads(r["anchors"] or "[]"),
            "agreed_by": json.loads(r["agreed_by"] or "[]"),
            "recorded_at": cv.aware(r["recorded_at"])} for r in rows]
    frame = pd.DataFrame(out, columns=["note_id", "question_id", "form_context_id",
                                       "form_version_id", "decided_on", "session_id", "decision",
                                       "anchors", "agreed_by", "recorded_at"])
    frame["recorded_at"] = pd.to_datetime(frame["recorded_at"], utc=True)
    return frame.sort_values(["decided_on", "note_id"], kind="stable").reset_index(drop=True)


def times_frame(rows: Iterable[Mapping], columns: list[str], time_columns: Iterable[str]
                ) -> pd.DataFrame:
    """A DataFrame of ``rows`` with the named naive-UTC columns made UTC-aware."""
    frame = pd.DataFrame([dict(r) for r in rows], columns=columns)
    for col in time_columns:
        frame[col] = pd.to_datetime(frame[col].map(cv.aware), utc=True)
    return frame


def where_equal(table: sa.Table, **values: Any) -> sa.ColumnElement:
    """``AND`` of ``column == value`` for every value that is not None."""
    return sa.and_(sa.true(), *(table.c[k] == v for k, v in values.items() if v is not None))

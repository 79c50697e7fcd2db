"""Live status of a session, per calibration and evaluator, read from the API; never a score.

The blind gate itself lives in the store (``Store.gate`` / ``Store.reveal``).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pandas as pd

from calib.genesys.month import assigned_states, ref
from calib.selection import parse_instant
from calib.sessions.plan import SessionPlan
from calib.sessions.reconcile import calibrations_of

__all__ = ["session_status", "summarize_status", "STATUS_COLUMNS"]

STATUS_COLUMNS = ("conversation_id", "calibration_id", "evaluator_id", "role", "status", "state",
                  "deadline")


def _state(status: str, overdue: bool) -> str:
    if status == "FINISHED":
        return "finished"
    if status == "RETRACTED":
        return "retracted"
    if overdue:
        return "overdue"
    return "in progress" if status in ("INPROGRESS", "INREVIEW") else "pending"


def session_status(client: Any, plan: SessionPlan, *, now: datetime | str | None = None) -> pd.DataFrame:
    """Live status per calibration and evaluator, read from the API; never any score.

    Parameters
    ----------
    client : calib.genesys.GenesysClient
    plan : SessionPlan
    now : datetime or str, optional
        The present, for ``overdue`` (the sandbox clock in demos); defaults to the system clock.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`STATUS_COLUMNS`: ``state`` is ``pending``, ``in progress``, ``finished``,
        ``overdue`` (not finished after the deadline), ``retracted``, or ``not created`` (a
        planned conversation without a calibration: one row with no evaluator). Only ids,
        statuses and states are copied from the API answer, so scores cannot leak through it.
    """
    present = datetime.now(timezone.utc) if now is None else parse_instant(now, what="now")
    deadline = plan.deadline_at()
    overdue = present > deadline
    rows = []
    for conv in plan.conversations:
        found = calibrations_of(client, plan, conv.conversation_id)
        if not found:
            rows.append((conv.conversation_id, None, None, None, None, "not created", deadline))
            continue
        cal = found[0]
        assigned = assigned_states(cal)
        expert = ref(cal.get("expertEvaluator")) or plan.expert_id
        for evaluator_id, status in assigned.items():
            if evaluator_id is None:
                continue
            role = "expert" if evaluator_id == expert else "evaluator"
            rows.append((conv.conversation_id, str(cal["id"]), evaluator_id, role, status,
                         _state(status, overdue), deadline))
    frame = pd.DataFrame(rows, columns=list(STATUS_COLUMNS))
    frame["deadline"] = pd.to_datetime(frame["deadline"], utc=True)
    return frame


def summarize_status(status: pd.DataFrame) -> pd.DataFrame:
    """Count states per evaluator: one row per evaluator, one column per state, plus ``total``.

    Parameters
    ----------
    status : pandas.DataFrame
        The output of :func:`session_status`.
    """
    states = ["pending", "in progress", "overdue", "finished", "retracted"]
    assigned = status[status["evaluator_id"].notna()]
    table = (assigned.groupby(["evaluator_id", "role"])["state"].value_counts()
             .unstack(fill_value=0).reindex(columns=states, fill_value=0))
    table["total"] = table.sum(axis=1)
    return table.reset_index()

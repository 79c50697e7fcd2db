"""Loading the tidy ``scores`` and ``answers`` tables back, behind the blind gate.

The gate is applied here, in the only code that reads scores and answers out of the store:
a sealed calibration's scores are never returned (its rows only, with scores blanked, when the
caller asks for them to show status), and its answers are never returned at all.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd
import sqlalchemy as sa

from calib.store import convert as cv
from calib.store.gate import gate_table, shown_gate
from calib.store.scope import show_columns
from calib.tables import SCORES_COLUMNS, answers_frame, scores_frame

_ROLE_ORDER = {"expert": 0, "evaluator": 1}


def _filter(cal: sa.Table, team: str | None, months: list[str] | None) -> sa.ColumnElement:
    clauses = [sa.true()]
    if team is not None:
        clauses.append(cal.c.team == team)
    if months is not None:
        clauses.append(cal.c.month.in_(months))
    return sa.and_(*clauses)


def _gate_attrs(gate: pd.DataFrame, sealed_rows: int, shown: bool) -> dict:
    gate = shown_gate(gate)
    sealed = gate[~gate["open"]]
    revealed = gate[gate["reason"].str.startswith("revealed by")]
    return {
        "sealed": {
            "n_calibrations": int(len(sealed)),
            "calibration_ids": list(sealed["calibration_id"]),
            "n_evaluations": int(sealed_rows),
            "rows": "shown with scores hidden" if shown else "left out",
            "note": ("Scores of these calibrations stay hidden until every assigned evaluation "
                     "is finished, or the deadline passed and an analyst reveals them."),
        },
        "revealed": [{"calibration_id": r.calibration_id, "reason": r.reason}
                     for r in revealed.itertuples(index=False)],
    }


def load_scores(conn: sa.Connection, t: Mapping[str, sa.Table], team: str | None,
                months: list[str] | None, include_sealed: bool) -> pd.DataFrame:
    """The ``scores`` table for the selection; see :meth:`calib.store.Store.scores`."""
    cal, ev, users = t["calibrations"], t["evaluations"], t["users"]
    q = (sa.select(cal.c.team, cal.c.month, cal.c.session_id, cal.c.calibration_id,
                   sa.func.coalesce(ev.c.conversation_id, cal.c.conversation_id)
                   .label("conversation_id"),
                   sa.func.coalesce(ev.c.agent_id, cal.c.agent_id).label("agent_id"),
                   cal.c.calibrator_id, ev.c.evaluation_id, ev.c.evaluator_id,
                   sa.func.coalesce(ev.c.evaluator_name, users.c.name).label("evaluator_name"),
                   ev.c.role, ev.c.status, ev.c.total_score, ev.c.critical_score,
                   ev.c.any_failed_kill, ev.c.submitted_at,
                   sa.func.coalesce(ev.c.form_id, cal.c.form_id).label("form_id"),
                   sa.func.coalesce(ev.c.form_context_id, cal.c.form_context_id)
                   .label("form_context_id"), cal.c.source)
         .select_from(ev.join(cal, cal.c.calibration_id == ev.c.calibration_id)
                      .outerjoin(users, users.c.user_id == ev.c.evaluator_id))
         .where(_filter(cal, team, months)))
    rows = [dict(r._mapping) for r in conn.execute(q)]
    for r in rows:
        r["submitted_at"] = cv.aware(r["submitted_at"])
    raw = pd.DataFrame(rows, columns=[*SCORES_COLUMNS, "source"])
    gate = gate_table(conn, t, team, months)
    sealed_ids = set(gate.loc[~gate["open"], "calibration_id"])
    is_sealed = raw["calibration_id"].isin(sealed_ids).to_numpy()
    frame = scores_frame(show_columns(raw, ("calibration_id", "evaluation_id")))
    n_sealed_rows = int(is_sealed.sum())
    if include_sealed:
        frame.loc[is_sealed, ["total_score", "critical_score"]] = np.nan
        frame.loc[is_sealed, "any_failed_kill"] = False
    else:
        frame = frame[~is_sealed]
    frame = (frame.assign(_r=frame["role"].map(_ROLE_ORDER))
             .sort_values(["team", "month", "calibration_id", "_r", "evaluator_id",
                           "evaluation_id"], kind="stable")
             .drop(columns="_r").reset_index(drop=True))
    frame.attrs.update(_gate_attrs(gate, n_sealed_rows, include_sealed))
    return frame


def load_answers(conn: sa.Connection, t: Mapping[str, sa.Table], team: str | None,
                 months: list[str] | None) -> pd.DataFrame:
    """The ``answers`` table for the selection, sealed calibrations left out."""
    cal, ev, ans, fq = t["calibrations"], t["evaluations"], t["answers"], t["form_questions"]
    gate = gate_table(conn, t, team, months)
    open_ids = list(gate.loc[gate["open"], "calibration_id"])
    q = (sa.select(cal.c.team, cal.c.month, cal.c.session_id, cal.c.calibration_id,
                   sa.func.coalesce(ev.c.conversation_id, cal.c.conversation_id)
                   .label("conversation_id"),
                   ans.c.evaluation_id, ev.c.evaluator_id, ev.c.role,
                   sa.func.coalesce(ans.c.form_id, ev.c.form_id, cal.c.form_id).label("form_id"),
                   ans.c.question_group_id, ans.c.question_group_name, ans.c.question_id,
                   ans.c.question_text, ans.c.answer_id, ans.c.answer_text, ans.c.points,
                   ans.c.max_points, ans.c.marked_na, ans.c.comment,
                   fq.c.position.label("_position"), cal.c.source)
         .select_from(ans.join(ev, ev.c.evaluation_id == ans.c.evaluation_id)
                      .join(cal, cal.c.calibration_id == ev.c.calibration_id)
                      .outerjoin(fq, sa.and_(fq.c.form_id == ans.c.form_id,
                                             fq.c.question_id == ans.c.question_id)))
         .where(_filter(cal, team, months), cal.c.calibration_id.in_(open_ids)))
    result = conn.execute(q)
    keys = list(result.keys())
    raw = show_columns(pd.DataFrame([dict(zip(keys, row)) for row in result], columns=keys),
                       ("calibration_id", "evaluation_id"))
    # questions in form order when the form is stored, else by id
    raw = (raw.assign(_r=raw["role"].map(_ROLE_ORDER))
           .sort_values(["team", "month", "calibration_id", "_r", "evaluator_id",
                         "evaluation_id", "_position", "question_id"], kind="stable",
                        na_position="last"))
    frame = answers_frame(raw)
    frame.attrs.update(_gate_attrs(gate, 0, False))
    return frame

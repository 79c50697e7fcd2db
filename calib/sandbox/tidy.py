"""The org's calibration history as ``calib.tables`` ``scores`` and ``answers`` frames.

Built column-wise with numpy so a large org (100 000+ evaluations) converts in seconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from calib.tables import ANSWERS_COLUMNS, answers_frame, scores_frame

from .simulate import NEGATIVE_COMMENTS

if TYPE_CHECKING:  # pragma: no cover
    from .org import Org


def _visible(org: "Org"):
    now = org.now()
    for cal in org.active_calibrations():
        if cal.created <= now:
            yield cal


def scores(org: "Org") -> pd.DataFrame:
    """One row per calibration evaluation; scores NaN unless FINISHED at the sandbox clock."""
    now = org.now()
    cols: dict[str, list] = {k: [] for k in (
        "team", "month", "session_id", "calibration_id", "conversation_id", "agent_id",
        "calibrator_id", "evaluation_id", "evaluator_id", "evaluator_name", "role", "status",
        "total_score", "critical_score", "any_failed_kill", "submitted_at", "form_id",
        "form_context_id")}
    for cal in _visible(org):
        org.ensure_simulated(cal)
        month = cal.created.strftime("%Y-%m")
        context = org.forms_by_id[cal.form_id]["contextId"]
        for eid in cal.evaluation_ids:
            ev = org.evaluations[eid]
            status = ev.status(now)
            done = status == "FINISHED"
            cols["team"].append(cal.team)
            cols["month"].append(month)
            cols["session_id"].append(f"{cal.team}/{month}")
            cols["calibration_id"].append(cal.id)
            cols["conversation_id"].append(cal.conversation_id)
            cols["agent_id"].append(cal.agent_id)
            cols["calibrator_id"].append(cal.calibrator_id)
            cols["evaluation_id"].append(ev.id)
            cols["evaluator_id"].append(ev.evaluator_id)
            cols["evaluator_name"].append(org.people[ev.evaluator_id].name)
            cols["role"].append(ev.role)
            cols["status"].append(status)
            cols["total_score"].append(ev.total if done else np.nan)
            cols["critical_score"].append(ev.critical if done else np.nan)
            cols["any_failed_kill"].append(ev.failed_kill if done else False)
            cols["submitted_at"].append(ev.finished_at if done else None)
            cols["form_id"].append(cal.form_id)
            cols["form_context_id"].append(context)
    frame = pd.DataFrame(cols)
    frame["submitted_at"] = pd.to_datetime(frame["submitted_at"], utc=True)
    return scores_frame(frame)


def answers(org: "Org") -> pd.DataFrame:
    """One row per question of every FINISHED evaluation (form order)."""
    now = org.now()
    blocks: list[pd.DataFrame] = []
    by_form: dict[str, list] = {}
    for cal in _visible(org):
        org.ensure_simulated(cal)
        month = cal.created.strftime("%Y-%m")
        for eid in cal.evaluation_ids:
            ev = org.evaluations[eid]
            if ev.status(now) == "FINISHED":
                by_form.setdefault(cal.form_id, []).append((cal, month, ev))
    comments = np.array([None, *NEGATIVE_COMMENTS], dtype=object)
    for form_id, items in by_form.items():
        form = org.forms_by_id[form_id]
        key_index = {s.key: j for j, s in enumerate(org.specs)}
        qid_to_key = {v: k for k, v in org.qid_by_key[form_id].items()}
        questions = [(g, q) for g in form["questionGroups"] for q in g["questions"]]
        spec_idx = np.array([key_index[qid_to_key[q["id"]]] for _, q in questions])
        scale = np.array([org.specs[j].kind == "scale" for j in spec_idx])
        n_q, n_e = len(questions), len(items)
        # option tables: [question, option index] → id / text / value
        width = max(len(q["answerOptions"]) for _, q in questions)
        opt_id = np.full((n_q, width), None, dtype=object)
        opt_text = np.full((n_q, width), None, dtype=object)
        opt_val = np.full((n_q, width), np.nan)
        for i, (_, q) in enumerate(questions):
            for k, o in enumerate(q["answerOptions"]):
                opt_id[i, k], opt_text[i, k], opt_val[i, k] = o["id"], o["text"], o["value"]
        chosen = np.stack([ev.chosen for _, _, ev in items])[:, spec_idx]
        na = np.stack([ev.na for _, _, ev in items])[:, spec_idx]
        cidx = np.stack([ev.comment_idx for _, _, ev in items])[:, spec_idx]
        pick = np.where(scale[None, :], chosen, np.where(chosen == 1, 0, 1))
        rows = np.repeat(np.arange(n_q)[None, :], n_e, axis=0)
        a_id = np.where(na, None, opt_id[rows, pick])
        a_text = np.where(na, None, opt_text[rows, pick])
        points = np.where(na, np.nan, opt_val[rows, pick])
        ev_cols = {
            "team": [c.team for c, _, _ in items], "month": [m for _, m, _ in items],
            "session_id": [f"{c.team}/{m}" for c, m, _ in items],
            "calibration_id": [c.id for c, _, _ in items],
            "conversation_id": [c.conversation_id for c, _, _ in items],
            "evaluation_id": [e.id for _, _, e in items],
            "evaluator_id": [e.evaluator_id for _, _, e in items],
            "role": [e.role for _, _, e in items],
        }
        block = {k: np.repeat(np.array(v, dtype=object), n_q) for k, v in ev_cols.items()}
        block["form_id"] = np.full(n_e * n_q, form_id, dtype=object)
        q_cols = {
            "question_group_id": [g["id"] for g, _ in questions],
            "question_group_name": [g["name"] for g, _ in questions],
            "question_id": [q["id"] for _, q in questions],
            "question_text": [q["text"] for _, q in questions],
        }
        for k, v in q_cols.items():
            block[k] = np.tile(np.array(v, dtype=object), n_e)
        block["answer_id"] = a_id.ravel()
        block["answer_text"] = a_text.ravel()
        block["points"] = points.ravel().astype(float)
        block["max_points"] = np.tile(np.nanmax(opt_val, axis=1), n_e)
        block["marked_na"] = na.ravel().astype(bool)
        block["comment"] = comments[np.where(na, -1, cidx).ravel() + 1]
        blocks.append(pd.DataFrame(block))
    if not blocks:
        return answers_frame()
    # the blocks already hold the contract's columns and dtypes; conform() would copy 4M rows
    frame = pd.concat(blocks, ignore_index=True)
    return frame[list(ANSWERS_COLUMNS)]

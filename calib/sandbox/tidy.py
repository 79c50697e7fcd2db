"""The org's calibration history as ``calib.tables`` ``scores`` and ``answers`` frames.

Built column-wise with numpy so a large org (100 000+ evaluations) converts in seconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from calib.tables import ANSWERS_COLUMNS, answers_frame, scores_frame

from . import ai, panel
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


AI_ANSWERS_COLUMNS = (
    "team", "month", "session_id", "calibration_id", "conversation_id", "evaluation_id",
    "evaluator_id", "role", "form_id", "question_id", "ai_answer_id", "ai_marked_na",
    "ai_failure_type", "ai_evaluation_failure_type", "ai_explanation")


def ai_answers(org: "Org") -> pd.DataFrame:
    """One row per AI-enabled question of every FINISHED evaluation with AI scoring.

    Columns (``AI_ANSWERS_COLUMNS``): the evaluation's keys as in :func:`answers`, then what
    its ``aiAnswer`` says: ``ai_answer_id`` (None when the AI marked N/A or failed),
    ``ai_marked_na``, ``ai_failure_type`` (the question's ``failureType``),
    ``ai_evaluation_failure_type`` (``aiScoring.failureType``: then the AI answered nothing)
    and ``ai_explanation``. Join with :func:`answers` on ``evaluation_id`` and ``question_id``.
    """

    now = org.now()
    rows: dict[str, list] = {k: [] for k in AI_ANSWERS_COLUMNS}
    for cal in _visible(org):
        org.ensure_simulated(cal)
        month = cal.created.strftime("%Y-%m")
        qids = org.qid_by_key[cal.form_id]
        for eid in cal.evaluation_ids:
            ev = org.evaluations[eid]
            scoring = ai.evaluation_ai(org, ev)
            if scoring is None or ev.status(now) != "FINISHED":
                continue
            r = scoring.reading
            for j, spec in enumerate(org.specs):
                if not scoring.enabled[j]:
                    continue
                qid = qids[spec.key]
                ran = scoring.failure is None
                answered = ran and r.failure_type[j] is None and not r.na[j]
                for key, value in (
                        ("team", cal.team), ("month", month),
                        ("session_id", f"{cal.team}/{month}"), ("calibration_id", cal.id),
                        ("conversation_id", cal.conversation_id), ("evaluation_id", ev.id),
                        ("evaluator_id", ev.evaluator_id), ("role", ev.role),
                        ("form_id", cal.form_id), ("question_id", qid),
                        ("ai_answer_id", org.options[qid][0 if r.answer[j] else 1]["id"]
                         if answered else None),
                        ("ai_marked_na", bool(ran and r.failure_type[j] is None and r.na[j])),
                        ("ai_failure_type", r.failure_type[j] if ran else None),
                        ("ai_evaluation_failure_type", scoring.failure),
                        ("ai_explanation", r.explanation[j] if ran else None)):
                    rows[key].append(value)
    return pd.DataFrame(rows, columns=list(AI_ANSWERS_COLUMNS)).astype(
        {"ai_marked_na": bool})


ANCHORING_COLUMNS = (
    "team", "month", "calibration_id", "evaluation_id", "evaluator_id", "role", "form_id",
    "question_id", "prefilled", "independent_answer_id", "independent_marked_na", "answer_id",
    "marked_na", "moved_to_ai", "independent_total_score", "total_score", "anchoring_shift")


def anchoring(org: "Org") -> pd.DataFrame:
    """Ground truth of anchoring on the AI (not something a real org shows).

    One row per AI-enabled question of every FINISHED evaluation with AI scoring: whether the
    AI prefilled it (``prefilled``), what the evaluator would have answered without the AI
    (``independent_answer_id``, ``independent_marked_na``), what they submitted (``answer_id``,
    ``marked_na``) and whether anchoring changed it to the AI's answer (``moved_to_ai``). The
    evaluation's ``independent_total_score``, submitted ``total_score`` and ``anchoring_shift``
    (their difference, in points: what anchoring did to this evaluation's total) repeat on each
    of its rows.
    """

    now = org.now()
    rows: dict[str, list] = {k: [] for k in ANCHORING_COLUMNS}
    for cal in _visible(org):
        org.ensure_simulated(cal)
        month = cal.created.strftime("%Y-%m")
        qids = org.qid_by_key[cal.form_id]
        arr = org.form_arrays[cal.form_id]
        for eid in cal.evaluation_ids:
            ev = org.evaluations[eid]
            scoring = ai.evaluation_ai(org, ev)
            if scoring is None or ev.status(now) != "FINISHED":
                continue
            moved = ev.independent_chosen is not None
            own_chosen = ev.independent_chosen if moved else ev.chosen
            own_na = ev.independent_na if moved else ev.na
            own = (float(panel.totals(arr, own_chosen[None, :], own_na[None, :])[0][0])
                   if moved else ev.total)
            prefilled = scoring.prefilled
            for j, spec in enumerate(org.specs):
                if not scoring.enabled[j]:
                    continue
                qid = qids[spec.key]
                opts = org.options[qid]

                def answer_id(chosen: np.ndarray, na: np.ndarray) -> str | None:
                    return None if na[j] else opts[0 if chosen[j] else 1]["id"]

                before = answer_id(own_chosen, own_na)
                after = answer_id(ev.chosen, ev.na)
                for key, value in (
                        ("team", cal.team), ("month", month), ("calibration_id", cal.id),
                        ("evaluation_id", ev.id), ("evaluator_id", ev.evaluator_id),
                        ("role", ev.role), ("form_id", cal.form_id), ("question_id", qid),
                        ("prefilled", bool(prefilled[j])), ("independent_answer_id", before),
                        ("independent_marked_na", bool(own_na[j])),
                        ("answer_id", after), ("marked_na", bool(ev.na[j])),
                        ("moved_to_ai", (before, bool(own_na[j])) != (after, bool(ev.na[j]))),
                        ("independent_total_score", own), ("total_score", ev.total),
                        ("anchoring_shift", ev.total - own)):
                    rows[key].append(value)
    return pd.DataFrame(rows, columns=list(ANCHORING_COLUMNS)).astype(
        {c: bool for c in ("prefilled", "independent_marked_na", "marked_na", "moved_to_ai")})

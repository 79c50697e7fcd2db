"""The month an upsert receives: checked, and turned into the rows of the store's tables.

Scores (one row per evaluation, thousands) stay a DataFrame. Answers (up to millions of rows)
are checked with vectorised pandas and kept as one array per stored column, ready for the bulk
loader (:mod:`calib.store.staging`): no Python dict per answer is ever built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd
import sqlalchemy as sa

from calib.store import convert as cv
from calib.store import scope
from calib.store.staging import column_values
from calib.tables import ANSWERS_COLUMNS, ROLES, STATUSES, require_columns, scores_frame

CALIBRATION_KEYS = ("calibration_id", "name", "session_id", "conversation_id", "agent_id",
                    "calibrator_id", "expert_id", "form_id", "form_context_id", "created_at",
                    "deadline", "evaluator_ids")
EVALUATION_COLUMNS = ("evaluation_id", "calibration_id", "conversation_id", "agent_id",
                      "evaluator_id", "evaluator_name", "role", "status", "total_score",
                      "critical_score", "any_failed_kill", "submitted_at", "form_id",
                      "form_context_id")
ANSWER_COLUMNS = ("evaluation_id", "question_id", "form_id", "question_group_id",
                  "question_group_name", "question_text", "answer_id", "answer_text", "points",
                  "max_points", "marked_na", "comment")


@dataclass(frozen=True)
class Month:
    """A checked month: ``scores`` as ``calib.tables`` has it, ``answers`` as one array per
    column of the ``answers`` table (None when the source carries no answers)."""

    scores: pd.DataFrame
    answers: dict[str, np.ndarray] | None
    n_answers: int


def checked_month(team: str, month: str, scores: pd.DataFrame, answers: pd.DataFrame | None,
                  answers_table: sa.Table) -> Month:
    """Check the frames an upsert was given; raise ValueError with a sentence when one is wrong.

    Answers are converted the way ``calib.tables.answers_frame`` would (missing columns empty,
    ``points``/``max_points`` numeric, ``marked_na`` False when missing), column by column.
    """
    require_columns(scores, ("calibration_id", "evaluation_id", "evaluator_id", "role",
                             "status"), what="scores")
    if answers is not None:
        require_columns(answers, ("evaluation_id", "question_id"), what="answers")
        answers = _answer_columns(answers, answers_table)
    scores = scores_frame(scores)
    _check_team_month("scores", team, month, scores["team"], scores["month"])
    if answers is not None:
        _check_team_month("answers", team, month, answers.pop("team"), answers.pop("month"))
    for col in ("calibration_id", "evaluation_id", "evaluator_id", "role", "status"):
        if scores[col].isna().any():
            raise ValueError(f"scores has {int(scores[col].isna().sum())} row(s) without "
                             f"{col}; every evaluation needs one.")
    bad_role = sorted(set(scores["role"]) - set(ROLES))
    if bad_role:
        raise ValueError(f"scores has role(s) {bad_role}; use {list(ROLES)}.")
    bad_status = sorted(set(scores["status"]) - set(STATUSES))
    if bad_status:
        raise ValueError(f"scores has status(es) {bad_status}; use the Quality API's upper-case "
                         f"values {list(STATUSES)}.")
    dup = scores["evaluation_id"][scores["evaluation_id"].duplicated()]
    if len(dup):
        raise ValueError(f"scores lists evaluation {dup.iloc[0]!r} more than once; keep one row "
                         f"per evaluation.")
    if answers is None:
        return Month(scores, None, 0)
    evaluation, question = answers["evaluation_id"], answers["question_id"]
    if (pd.isna(evaluation) | pd.isna(question)).any():
        raise ValueError("answers has rows without evaluation_id or question_id; every answer "
                         "needs both.")
    known = pd.Series(evaluation).isin(scores["evaluation_id"]).to_numpy()
    if not known.all():
        orphan = sorted(set(evaluation[~known]))
        raise ValueError(f"answers refers to {len(orphan)} evaluation(s) not in scores (such as "
                         f"{orphan[0]!r}); pass the scores rows of every evaluation answered.")
    pair = pd.factorize(evaluation)[0].astype("int64") * (len(answers["question_id"]) + 1) \
        + pd.factorize(question)[0]
    twice = pd.Series(pair).duplicated().to_numpy()
    if twice.any():
        first = int(np.argmax(twice))
        raise ValueError(f"answers has question {question[first]!r} of evaluation "
                         f"{evaluation[first]!r} more than once; keep one row per question "
                         f"answer.")
    return Month(scores, answers, len(evaluation))


def _answer_columns(answers: pd.DataFrame, table: sa.Table) -> dict[str, np.ndarray]:
    """The stored columns of ``answers`` (plus team and month, for the checks) as arrays."""
    out: dict[str, Any] = {}
    n = len(answers)
    for name in ("team", "month", *ANSWER_COLUMNS):
        dtype = ANSWERS_COLUMNS[name]
        if name not in answers.columns:
            column = pd.Series(False if dtype == "bool" else None, index=range(n),
                               dtype="bool" if dtype == "bool" else "object")
        else:
            column = answers[name]
            try:
                if dtype == "float64" and column.dtype != "float64":
                    column = pd.to_numeric(column).astype("float64")
                elif dtype == "bool" and column.dtype != "bool":
                    column = column.fillna(False).astype(bool)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"Column {name!r} cannot be read as {dtype}: {exc}. "
                                 f"Check the values in that column.") from exc
        column = column.reset_index(drop=True)
        # team and month are only checked, never stored: no conversion needed
        out[name] = column if name in ("team", "month") else column_values(column,
                                                                           table.c[name])
    return out


def _check_team_month(name: str, team: str, month: str, teams, months) -> None:
    for col, values, expected in (("team", teams, team), ("month", months, month)):
        values = pd.Series(values)
        other = values[values.notna() & (values != expected)]
        if len(other):
            raise ValueError(f"{name} has {len(other)} row(s) with {col} "
                             f"{other.iloc[0]!r}, not {expected!r}; upsert one team and "
                             f"month at a time.")


def scoped(team: str, data: Month, calibrations: Iterable[Mapping]) -> tuple[Month, list]:
    """The month and calibration records with file ids as stored (:mod:`calib.store.scope`)."""
    ids = ("calibration_id", "evaluation_id")
    scores = data.scores.assign(**{c: scope.stored_column(data.scores[c], team, scope.FILES)
                                   for c in ids})
    answers = data.answers
    if answers is not None:
        answers = {**answers, "evaluation_id": scope.stored_column(
            pd.Series(answers["evaluation_id"]), team, scope.FILES).to_numpy(dtype=object)}
    records = []
    for rec in calibrations:
        if isinstance(rec, Mapping) and rec.get("calibration_id"):
            rec = {**rec, "calibration_id": scope.stored_id(team, scope.FILES,
                                                            str(rec["calibration_id"]))}
        records.append(rec)
    return Month(scores, answers, data.n_answers), records


def calibration_rows(team: str, month: str, source: str, scores: pd.DataFrame,
                     calibrations: Iterable[Mapping]) -> tuple[dict, list[dict]]:
    """``calibrations`` rows by id and ``calibration_assignments`` rows, from the evaluations
    and the optional calibration records (which may list evaluators without an evaluation)."""
    rows: dict[str, dict] = {}
    assigned: dict[tuple[str, str], str] = {}
    for rec in calibrations:
        if not isinstance(rec, Mapping) or not rec.get("calibration_id"):
            raise ValueError("Each calibration must be a dict with a 'calibration_id'.")
        unknown = sorted(set(rec) - set(CALIBRATION_KEYS))
        if unknown:
            raise ValueError(f"Calibration {rec['calibration_id']!r} has unknown key(s) "
                             f"{unknown}; the known keys are {list(CALIBRATION_KEYS)}.")
        cid = str(rec["calibration_id"])
        row = {k: cv.as_text(rec.get(k)) for k in CALIBRATION_KEYS
               if k not in ("created_at", "deadline", "evaluator_ids")}
        row["created_at"] = cv.to_naive_utc(rec.get("created_at"), what="created_at")
        row["deadline"] = cv.to_naive_utc(rec.get("deadline"), what="deadline")
        rows[cid] = row
        for ev in rec.get("evaluator_ids") or ():
            assigned.setdefault((cid, str(ev)), "evaluator")
        if rec.get("expert_id"):
            assigned[(cid, str(rec["expert_id"]))] = "expert"
    columns = ["calibration_id", "session_id", "conversation_id", "agent_id", "calibrator_id",
               "form_id", "form_context_id", "evaluator_id", "role"]
    fill = ("session_id", "conversation_id", "agent_id", "calibrator_id", "form_id",
            "form_context_id")
    for ev in cv.frame_records(scores[columns]):  # plain rows: a groupby costs 10x more here
        cid, evaluator, role = ev["calibration_id"], ev["evaluator_id"], ev["role"]
        row = rows.setdefault(cid, {"calibration_id": cid})
        for col in fill:
            if row.get(col) is None and ev[col] is not None:
                row[col] = str(ev[col])
        if role == "expert" and row.get("expert_id") is None:
            row["expert_id"] = evaluator
        if role == "expert" or (cid, evaluator) not in assigned:
            assigned[(cid, evaluator)] = role
    for cid, row in rows.items():
        for col in ("name", "conversation_id", "agent_id", "calibrator_id", "expert_id",
                    "form_id", "form_context_id", "created_at", "deadline"):
            row.setdefault(col, None)
        row.update(team=team, month=month, source=source)
        row["session_id"] = row.get("session_id") or f"{team}/{month}"
    assignments = [{"calibration_id": c, "evaluator_id": e, "role": r}
                   for (c, e), r in assigned.items()]
    return rows, assignments

"""Optional AI scoring columns of the interchange format (``docs/interchange.md``).

A scores file may carry, per evaluation, ``ai_scored`` (yes/no: Genesys AI scoring ran on it)
and ``ai_run_failure_type`` (``aiScoring.failureType``); an answers (or combined) file, per
question, ``ai_answer_id``, ``ai_marked_na``, ``ai_failure_type`` (``aiAnswer.failureType``)
and ``ai_explanation``. Files without them read and write exactly as before; files with them
round-trip the store's ``ai_runs`` and ``ai_answers`` (:mod:`calib.ai.tables`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from calib.ai.tables import ai_answers_frame, ai_runs_frame
from calib.genesys.ai_scoring import EVALUATION_FAILURE_TYPES, QUESTION_FAILURE_TYPES
from calib.interchange.errors import ProblemLog

__all__ = ["AI_SCORE_FIELDS", "AI_ANSWER_FIELDS", "ai_tables", "with_ai_columns"]

AI_SCORE_FIELDS = ("ai_scored", "ai_run_failure_type")
AI_ANSWER_FIELDS = ("ai_answer_id", "ai_marked_na", "ai_failure_type", "ai_explanation")
_KEYS = ("team", "month", "session_id", "calibration_id", "conversation_id", "evaluation_id",
         "evaluator_id", "role", "form_id")


def _text(values: pd.Series) -> pd.Series:
    out = values.astype(object)
    return out.where(out.notna(), None)


def _check_enum(frame: pd.DataFrame, column: str, allowed: tuple[str, ...], file_column: str,
                problems: ProblemLog) -> None:
    if column not in frame.columns:
        return
    values = _text(frame[column])
    bad = (values.notna() & ~values.isin(allowed)).to_numpy()
    if bad.any():
        files = frame["_file"].astype(object).to_numpy()[bad] if "_file" in frame else \
            np.array(["<input>"] * int(bad.sum()))
        rows = frame["_row"].to_numpy()[bad]
        for name in dict.fromkeys(files):
            sample = sorted(set(values[bad][files == name]))[:3]
            problems.add(name, rows[files == name], f"{file_column} has values that are not "
                         f"Genesys failure types ({', '.join(map(repr, sample))}).",
                         f"Use one of {', '.join(allowed)} (as the API spells them), or leave "
                         f"it blank.")


def ai_tables(scores: pd.DataFrame, answers: pd.DataFrame | None, problems: ProblemLog
              ) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """The ``ai_runs`` and ``ai_answers`` an import's working frames carry, or None when no
    file has an AI column. Unknown failure types are problems (file and rows named)."""
    has_runs = any(c in scores.columns for c in AI_SCORE_FIELDS)
    has_answers = answers is not None and any(c in answers.columns for c in AI_ANSWER_FIELDS)
    if not (has_runs or has_answers):
        return None
    _check_enum(scores, "ai_run_failure_type", EVALUATION_FAILURE_TYPES, "ai_run_failure_type",
                problems)
    runs = pd.DataFrame(columns=list(_KEYS))
    if has_runs:
        scored = (scores["ai_scored"].fillna(False).astype(bool) if "ai_scored" in scores
                  else pd.Series(False, index=scores.index))
        failure = (_text(scores["ai_run_failure_type"]) if "ai_run_failure_type" in scores
                   else pd.Series(None, index=scores.index, dtype=object))
        keep = (scored | failure.notna()).to_numpy()
        runs = pd.DataFrame({k: _text(scores[k]) for k in _KEYS if k in scores.columns})[keep]
        runs["ai_failure_type"] = failure[keep]
    ai_answers = pd.DataFrame(columns=list(_KEYS))
    if has_answers:
        _check_enum(answers, "ai_failure_type", QUESTION_FAILURE_TYPES, "ai_failure_type",
                    problems)
        frame = pd.DataFrame({k: _text(answers[k]) for k in _KEYS + ("question_group_id",
                                                                      "question_id")
                              if k in answers.columns})
        marked = (answers["ai_marked_na"].fillna(False).astype(bool)
                  if "ai_marked_na" in answers else pd.Series(False, index=answers.index))
        for column in ("ai_answer_id", "ai_failure_type", "ai_explanation"):
            frame[column] = (_text(answers[column]) if column in answers
                             else pd.Series(None, index=answers.index, dtype=object))
        frame["ai_marked_na"] = marked
        any_ai = (frame["ai_answer_id"].notna() | frame["ai_failure_type"].notna()
                  | marked).to_numpy()
        ai_answers = frame[any_ai]
    return ai_runs_frame(runs), ai_answers_frame(ai_answers)


def with_ai_columns(scores: pd.DataFrame, answers: pd.DataFrame, ai_runs: pd.DataFrame | None,
                    ai_answers: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The export's scores and answers with the AI columns appended, when the month has any
    AI row; unchanged otherwise (files of a month without AI scoring are as before)."""
    runs = ai_runs_frame(ai_runs if ai_runs is not None else [])
    found = ai_answers_frame(ai_answers if ai_answers is not None else [])
    runs = runs[runs["evaluation_id"].isin(scores["evaluation_id"])]
    found = found[found["evaluation_id"].isin(scores["evaluation_id"])]
    if runs.empty and found.empty:
        return scores, answers
    by_eval = runs.set_index("evaluation_id")["ai_failure_type"]
    scores = scores.assign(ai_scored=scores["evaluation_id"].isin(
        set(runs["evaluation_id"]) | set(found["evaluation_id"])),
        ai_run_failure_type=scores["evaluation_id"].map(by_eval).astype(object))
    scores["ai_run_failure_type"] = _text(scores["ai_run_failure_type"])
    extra = found[["evaluation_id", "question_id", *AI_ANSWER_FIELDS]]
    answers = answers.merge(extra, on=["evaluation_id", "question_id"], how="left")
    answers["ai_marked_na"] = answers["ai_marked_na"].eq(True)  # no AI row: not marked
    return scores, answers

"""The tidy AI scoring tables: ``ai_runs`` (one row per evaluation AI scoring ran for) and
``ai_answers`` (one row per question the AI answered, marked N/A or failed on).

A real org shows which questions are AI-scored only through ``aiAnswer`` on the question
scores (docs/genesys-ai-scoring.md), so an evaluation whose whole run failed
(``ai_runs.ai_failure_type``) has no ``ai_answers`` rows. Column meanings:

``ai_runs``
    the evaluation's keys as in ``scores``, then ``ai_failure_type`` (``aiScoring.failureType``,
    None when the run did not fail), ``ai_pending`` (``aiScoring.pending``; None when not
    given), ``ai_date_last_changed`` (UTC) and ``evaluation_source_type``
    (``evaluationSource.type``: Policy, User, Unknown, Program).
``ai_answers``
    the evaluation's keys, ``question_group_id``, ``question_id``, then the ``aiAnswer``:
    ``ai_answer_id`` (None when the AI marked N/A or failed), ``ai_marked_na``,
    ``ai_failure_type`` (LowConfidenceError, ParsingError, ServiceError,
    LowHistoricalAccuracyError) and ``ai_explanation``.
"""

from __future__ import annotations

from typing import Iterable, Mapping

import pandas as pd

from calib.tables import conform

__all__ = ["AI_RUNS_COLUMNS", "AI_ANSWERS_COLUMNS", "ai_runs_frame", "ai_answers_frame"]

_KEYS = {"team": "object", "month": "object", "session_id": "object",
         "calibration_id": "object", "conversation_id": "object", "evaluation_id": "object",
         "evaluator_id": "object", "role": "object", "form_id": "object"}

AI_RUNS_COLUMNS: Mapping[str, str] = {
    **_KEYS, "ai_failure_type": "object", "ai_pending": "object",
    "ai_date_last_changed": "datetime64[ns, UTC]", "evaluation_source_type": "object"}

AI_ANSWERS_COLUMNS: Mapping[str, str] = {
    **_KEYS, "question_group_id": "object", "question_id": "object", "ai_answer_id": "object",
    "ai_marked_na": "bool", "ai_failure_type": "object", "ai_explanation": "object"}


def ai_runs_frame(rows: Iterable[Mapping] | pd.DataFrame = ()) -> pd.DataFrame:
    """An ``ai_runs`` table with the documented columns."""
    return conform(rows, AI_RUNS_COLUMNS)


def ai_answers_frame(rows: Iterable[Mapping] | pd.DataFrame = ()) -> pd.DataFrame:
    """An ``ai_answers`` table with the documented columns."""
    return conform(rows, AI_ANSWERS_COLUMNS)

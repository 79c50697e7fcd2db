"""Genesys AI scoring: the settings body and reading the AI's answers off evaluations.

The API, as the official SDK models it (PureCloudPlatformClientV2 269.0.0; every field and
source in ``docs/genesys-ai-scoring.md``):

* ``PUT /api/v2/quality/forms/evaluations/{formId}/aiscoring/settings`` takes and returns
  ``AiScoringSettings`` ``{questionGroupSettings: [{questionGroupContextId, questionSettings:
  [{questionContextId, settings: {enabled}}]}]}`` (:meth:`QualityMixin.put_ai_scoring_settings
  <calib.genesys.quality.QualityMixin.put_ai_scoring_settings>`, body from :func:`settings_body`).
  There is no GET for it: which questions a real org AI-scores shows in its evaluations
  (:func:`ai_scored_question_ids`). The form's own ``aiScoring`` field is modelled too, but not
  known to be filled in by a real org.
* An evaluation carries ``aiScoring`` ``{failureType, pending, dateLastChanged}``
  (:func:`ai_scoring`) and ``evaluationSource`` ``{id, name, type, selfUri}``; each question score
  of its ``answers`` may carry ``aiAnswer`` ``{answerId, explanation, failureType,
  markedNotApplicable}`` (:func:`ai_answers`).

Nothing here needs the SDK; the evaluations come back whole from
:meth:`~calib.genesys.quality.QualityMixin.iter_evaluations`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from calib.genesys import errors

__all__ = ["SETTINGS_PATH", "EVALUATION_FAILURE_TYPES", "QUESTION_FAILURE_TYPES",
           "EVALUATION_SOURCE_TYPES", "AiScoring", "AiAnswer", "settings_body",
           "enabled_question_context_ids", "ai_scoring", "ai_answers", "ai_scored_question_ids",
           "ai_rows"]

SETTINGS_PATH = "/api/v2/quality/forms/evaluations/{formId}/aiscoring/settings"
# the enums as the SDK lists them (models/ai_scoring.py, ai_answer.py, evaluation_source.py)
EVALUATION_FAILURE_TYPES = ("QuotaReached", "ParsingError", "ServiceError", "InvalidRequest",
                            "DuplicateFormSameAgent", "Unauthorized",
                            "DuplicateAutomatedFormWithCopiedScore")
QUESTION_FAILURE_TYPES = ("LowConfidenceError", "ParsingError", "ServiceError",
                          "LowHistoricalAccuracyError")
EVALUATION_SOURCE_TYPES = ("Policy", "User", "Unknown", "Program")


def settings_body(form: Mapping[str, Any], enabled: Iterable[str]) -> dict[str, Any]:
    """The ``AiScoringSettings`` body that AI-scores exactly ``enabled`` on ``form``.

    Every question group and question of the form is listed with its ``enabled`` flag, so the
    body means the same whether the API applies it as a whole or question by question.

    Parameters
    ----------
    form : Mapping
        The form version with its ``questionGroups`` (``GenesysClient.get_evaluation_form``).
    enabled : iterable of str
        Question ids or question ``contextId``s to AI-score; every other question is disabled.

    Raises
    ------
    ValueError
        The form has no ``questionGroups``, or an entry of ``enabled`` is not one of its
        questions.
    """
    groups = form.get("questionGroups")
    if not isinstance(groups, list):
        raise ValueError(f"The form {form.get('id')!r} has no questionGroups; pass the full form "
                         f"version from get_evaluation_form, not a listing entry.")
    wanted = set(enabled)
    known = {key for g in groups for q in g["questions"] for key in (q["id"], q["contextId"])}
    unknown = sorted(wanted - known)
    if unknown:
        raise ValueError(f"{', '.join(unknown)} is not a question (id or contextId) of evaluation "
                         f"form {form.get('id')}; take the ids from that form version.")
    return {"questionGroupSettings": [
        {"questionGroupContextId": g["contextId"],
         "questionSettings": [{"questionContextId": q["contextId"],
                               "settings": {"enabled": q["id"] in wanted
                                            or q["contextId"] in wanted}}
                              for q in g["questions"]]}
        for g in groups]}


def enabled_question_context_ids(settings: Mapping[str, Any]) -> frozenset[str]:
    """The ``questionContextId``s an ``AiScoringSettings`` object enables."""
    return frozenset(q["questionContextId"] for g in settings.get("questionGroupSettings") or ()
                     for q in g.get("questionSettings") or ()
                     if (q.get("settings") or {}).get("enabled") is True)


@dataclass(frozen=True)
class AiScoring:
    """An evaluation's ``aiScoring``: ``failure_type`` is None when the AI run did not fail."""

    failure_type: str | None
    pending: bool | None
    date_last_changed: str | None


@dataclass(frozen=True)
class AiAnswer:
    """One question's ``aiAnswer``: the AI's suggested answer, N/A, or why it gave none."""

    question_group_id: str | None
    question_id: str
    answer_id: str | None
    explanation: str | None
    failure_type: str | None
    marked_not_applicable: bool | None


def _object(value: Any, what: str, evaluation: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise errors.UnexpectedResponseError(
            f"The {what} of evaluation {evaluation.get('id')} is {type(value).__name__}, not a "
            f"JSON object.", endpoint="evaluation", field=what)
    return value


def ai_scoring(evaluation: Mapping[str, Any]) -> AiScoring | None:
    """The evaluation's ``aiScoring``, None when AI scoring did not run for it."""
    raw = evaluation.get("aiScoring")
    if raw is None:
        return None
    raw = _object(raw, "aiScoring", evaluation)
    return AiScoring(raw.get("failureType"), raw.get("pending"), raw.get("dateLastChanged"))


def ai_answers(evaluation: Mapping[str, Any]) -> list[AiAnswer]:
    """Every ``aiAnswer`` on the evaluation's question scores, in form order (none without
    ``answers``, e.g. before it is FINISHED or without ``expandAnswerTotalScores``).

    Raises
    ------
    calib.genesys.errors.UnexpectedResponseError
        An ``aiAnswer`` is not a JSON object.
    """
    out = []
    scored = evaluation.get("answers") or {}
    for group in scored.get("questionGroupScores") or ():
        for score in group.get("questionScores") or ():
            raw = score.get("aiAnswer")
            if raw is None:
                continue
            raw = _object(raw, f"aiAnswer of question {score.get('questionId')}", evaluation)
            out.append(AiAnswer(group.get("questionGroupId"), score.get("questionId"),
                                raw.get("answerId"), raw.get("explanation"),
                                raw.get("failureType"), raw.get("markedNotApplicable")))
    return out


def ai_scored_question_ids(evaluations: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    """The question ids that carry an ``aiAnswer`` in any of ``evaluations``: how a real org
    shows which questions it AI-scores (the API has no GET for the settings). A question whose
    every AI run failed at the evaluation level does not show."""
    return frozenset(a.question_id for ev in evaluations for a in ai_answers(ev))


def ai_rows(evaluations: Iterable[Mapping[str, Any]]) -> tuple[list[dict], list[dict]]:
    """The AI scoring of ``evaluations`` as rows keyed by ``evaluation_id``: one per evaluation
    AI scoring ran for (``aiScoring`` present) and one per ``aiAnswer``, with the column names of
    :mod:`calib.ai.tables` (the caller adds the evaluation's team, calibration and evaluator).

    Raises
    ------
    calib.genesys.errors.UnexpectedResponseError
        ``aiScoring``, ``evaluationSource`` or an ``aiAnswer`` is not a JSON object.
    """
    runs, answers = [], []
    for ev in evaluations:
        scoring = ai_scoring(ev)
        found = ai_answers(ev)
        if scoring is None and not found:
            continue
        source = ev.get("evaluationSource")
        source = _object(source, "evaluationSource", ev) if source is not None else {}
        runs.append({"evaluation_id": ev.get("id"),
                     "ai_failure_type": scoring.failure_type if scoring else None,
                     "ai_pending": scoring.pending if scoring else None,
                     "ai_date_last_changed": scoring.date_last_changed if scoring else None,
                     "evaluation_source_type": source.get("type")})
        answers += [{"evaluation_id": ev.get("id"), "question_group_id": a.question_group_id,
                     "question_id": a.question_id, "ai_answer_id": a.answer_id,
                     "ai_marked_na": bool(a.marked_not_applicable),
                     "ai_failure_type": a.failure_type, "ai_explanation": a.explanation}
                    for a in found]
    return runs, answers

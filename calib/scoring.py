"""Genesys evaluation-form scoring: group weights, N/A, critical and fatal questions → 0–100.

The rules follow the Genesys resource-center article "Evaluation form weights" (HELP-WEIGHTS in
``genesys-api.md`` §5):

* total % = Σ(group points × group weight) / Σ(group possible points × group weight) × 100;
* questions (or whole groups) marked N/A are excluded: they score 0 of 0 possible points;
* critical questions count in the overall score *and* in a critical score computed over the
  critical questions only (the non-critical score is computed over the others);
* with ``weightMode`` ``OFF`` every group weighs 1 (points at face value);
* a fatal (``isKill``) question answered with its lowest-point option fails the evaluation:
  every score is 0 and ``anyFailedKillQuestions`` is true (COMM-FATAL: "0%").

Only ``multipleChoiceQuestion`` questions carry points; free-text, NPS, read-only and multiple-select
questions are ignored by the score.

References
----------
Genesys Cloud resource center, "Evaluation form weights", https://help.mypurecloud.com/?p=144862.
Genesys community, "Critical vs Fatal question",
https://community.genesys.com/discussion/critical-vs-fatal-question.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

__all__ = ["NA", "QuestionScore", "GroupScore", "ScoringResult", "score_evaluation"]

NA = "N/A"
SCORED_TYPES = ("multipleChoiceQuestion",)


@dataclass(frozen=True)
class QuestionScore:
    """One question's answer as Genesys reports it (``EvaluationQuestionScore``)."""

    question_id: str
    answer_id: str | None
    score: int
    max_score: int
    marked_na: bool
    failed_kill_question: bool
    is_critical: bool
    comments: str | None = None


@dataclass(frozen=True)
class GroupScore:
    """One question group's points, weighted and unweighted (``EvaluationQuestionGroupScore``)."""

    question_group_id: str
    weight: float
    marked_na: bool
    points: float
    possible: float
    critical_points: float
    critical_possible: float
    question_scores: tuple[QuestionScore, ...]

    @property
    def non_critical_points(self) -> float:
        return self.points - self.critical_points

    @property
    def non_critical_possible(self) -> float:
        return self.possible - self.critical_possible


@dataclass(frozen=True)
class ScoringResult:
    """The scores of one evaluation.

    ``total_score``, ``critical_score`` and ``non_critical_score`` are 0–100 floats; a score over
    no possible points (say, every critical question N/A) is NaN.
    """

    total_score: float
    critical_score: float
    non_critical_score: float
    any_failed_kill: bool
    group_scores: tuple[GroupScore, ...]

    def to_genesys(self, *, comments: str | None = None) -> dict[str, Any]:
        """The Genesys ``EvaluationScoringSet`` JSON dict (``answers`` of an evaluation).

        NaN scores become ``None`` (JSON ``null``) because JSON has no NaN.
        """
        def num(x: float) -> float | None:
            return None if math.isnan(x) else round(float(x), 4)

        groups = []
        for g in self.group_scores:
            w = g.weight
            groups.append({
                "questionGroupId": g.question_group_id,
                "totalScore": num(g.points * w),
                "maxTotalScore": num(g.possible * w),
                "markedNA": g.marked_na,
                "systemMarkedNA": False,
                "totalCriticalScore": num(g.critical_points * w),
                "maxTotalCriticalScore": num(g.critical_possible * w),
                "totalNonCriticalScore": num(g.non_critical_points * w),
                "maxTotalNonCriticalScore": num(g.non_critical_possible * w),
                "totalScoreUnweighted": num(g.points),
                "maxTotalScoreUnweighted": num(g.possible),
                "totalCriticalScoreUnweighted": num(g.critical_points),
                "maxTotalCriticalScoreUnweighted": num(g.critical_possible),
                "totalNonCriticalScoreUnweighted": num(g.non_critical_points),
                "maxTotalNonCriticalScoreUnweighted": num(g.non_critical_possible),
                "questionScores": [
                    {k: v for k, v in {
                        "questionId": q.question_id,
                        "answerId": q.answer_id,
                        "score": q.score,
                        "markedNA": q.marked_na,
                        "systemMarkedNA": False,
                        "failedKillQuestion": q.failed_kill_question,
                        "comments": q.comments,
                    }.items() if v is not None}
                    for q in g.question_scores
                ],
            })
        out: dict[str, Any] = {
            "totalScore": num(self.total_score),
            "totalCriticalScore": num(self.critical_score),
            "totalNonCriticalScore": num(self.non_critical_score),
            "maxTotalRawScore": num(sum(g.possible for g in self.group_scores)),
            "maxTotalRawCriticalScore": num(sum(g.critical_possible for g in self.group_scores)),
            "questionGroupScores": groups,
            "anyFailedKillQuestions": self.any_failed_kill,
        }
        if comments is not None:
            out["comments"] = comments
        return out


def _pct(num: float, den: float) -> float:
    return float("nan") if den <= 0 else 100.0 * num / den


def _normalise_answers(form: Mapping[str, Any], answers: Mapping[str, Any]
                       ) -> tuple[dict[str, tuple[str | None, bool, str | None]], set[str]]:
    """Map question id → (answer id, marked N/A, comment) and the set of groups marked N/A."""
    per_question: dict[str, tuple[str | None, bool, str | None]] = {}
    na_groups: set[str] = set()
    if "questionGroupScores" in answers:
        groups = answers["questionGroupScores"]
        if not isinstance(groups, list):
            raise ValueError("answers['questionGroupScores'] must be a list of group scores; "
                             "pass the Genesys EvaluationScoringSet structure.")
        for group in groups:
            if not isinstance(group, Mapping) or "questionGroupId" not in group:
                raise ValueError("Every entry of questionGroupScores needs a 'questionGroupId'; "
                                 "check the answers structure.")
            if group.get("markedNA"):
                na_groups.add(str(group["questionGroupId"]))
            for q in group.get("questionScores") or []:
                if "questionId" not in q:
                    raise ValueError("Every entry of questionScores needs a 'questionId'; "
                                     "check the answers structure.")
                per_question[str(q["questionId"])] = (
                    q.get("answerId"), bool(q.get("markedNA")), q.get("comments"))
        return per_question, na_groups
    for qid, value in answers.items():
        if value is None:
            per_question[str(qid)] = (None, False, None)
        elif value == NA:
            per_question[str(qid)] = (None, True, None)
        elif isinstance(value, str):
            per_question[str(qid)] = (value, False, None)
        else:
            raise ValueError(f"The answer to question {qid!r} is {value!r}; give an answer id "
                             f"(string) or {NA!r}.")
    return per_question, na_groups


def score_evaluation(form: Mapping[str, Any], answers: Mapping[str, Any], *,
                     unanswered: str = "raise") -> ScoringResult:
    """Score one evaluation with the Genesys weighting rules.

    Parameters
    ----------
    form : mapping
        The Genesys ``EvaluationForm`` / ``EvaluationFormResponse`` JSON dict, with
        ``questionGroups`` (each with ``weight``, ``naEnabled`` and ``questions`` whose
        ``answerOptions`` carry integer ``value`` points) and optionally ``weightMode``
        (``"SCALED"``, the default, or ``"OFF"``).
    answers : mapping
        Either the Genesys ``questionGroupScores``/``questionScores`` structure (an
        ``EvaluationScoringSet`` dict) or a simple ``{question_id: answer_id | "N/A"}`` mapping.
    unanswered : {"raise", "na"}
        Policy for a scored question with no answer: ``"raise"`` (Genesys will not submit such an
        evaluation) or ``"na"`` (treat it as N/A and exclude it).

    Returns
    -------
    ScoringResult
        ``total_score``, ``critical_score``, ``non_critical_score`` (0–100, NaN over zero
        possible points), ``any_failed_kill`` and per-group ``group_scores``.

    Raises
    ------
    ValueError
        When the form is malformed, an answer names an unknown question or option, N/A is given
        for a question that does not allow it, or a question is unanswered under ``"raise"``.

    References
    ----------
    Genesys Cloud resource center, "Evaluation form weights" (https://help.mypurecloud.com/?p=144862):
    G1 (two 1-point questions, weight 40) scoring 1 and G2 (one 1-point question, weight 20)
    scoring 1 give (40 + 20) / (80 + 20) = 60 %.

    Examples
    --------
    >>> form = {"weightMode": "SCALED", "questionGroups": [
    ...   {"id": "g1", "weight": 40, "questions": [
    ...     {"id": "q1", "type": "multipleChoiceQuestion", "answerOptions": [
    ...       {"id": "y1", "value": 1}, {"id": "n1", "value": 0}]},
    ...     {"id": "q2", "type": "multipleChoiceQuestion", "answerOptions": [
    ...       {"id": "y2", "value": 1}, {"id": "n2", "value": 0}]}]},
    ...   {"id": "g2", "weight": 20, "questions": [
    ...     {"id": "q3", "type": "multipleChoiceQuestion", "answerOptions": [
    ...       {"id": "y3", "value": 1}, {"id": "n3", "value": 0}]}]}]}
    >>> score_evaluation(form, {"q1": "y1", "q2": "n2", "q3": "y3"}).total_score
    60.0
    """
    if unanswered not in ("raise", "na"):
        raise ValueError(f"unanswered={unanswered!r} is not a policy; use 'raise' or 'na'.")
    if not isinstance(form, Mapping) or not isinstance(form.get("questionGroups"), list):
        raise ValueError("The form has no 'questionGroups' list; pass the full evaluation form "
                         "(GET /api/v2/quality/forms/evaluations/{formId}), not the list entry.")
    if not isinstance(answers, Mapping):
        raise ValueError("answers must be a mapping: the Genesys questionGroupScores structure or "
                         "{question_id: answer_id or 'N/A'}.")
    weight_mode = form.get("weightMode") or "SCALED"
    if weight_mode not in ("SCALED", "OFF"):
        raise ValueError(f"weightMode {weight_mode!r} is unknown; Genesys uses 'SCALED' or 'OFF'.")
    given, na_groups = _normalise_answers(form, answers)
    known: set[str] = set()
    groups: list[GroupScore] = []
    any_kill = False
    for group in form["questionGroups"]:
        gid = str(group.get("id"))
        weight = 1.0
        if weight_mode == "SCALED":
            weight = float(group.get("weight", 1.0) if group.get("weight") is not None else 1.0)
            if not math.isfinite(weight) or weight < 0:
                raise ValueError(f"Question group {gid!r} has weight {weight!r}; weights must be "
                                 f"finite and non-negative.")
        group_na = gid in na_groups
        if group_na and not group.get("naEnabled", True):
            raise ValueError(f"Question group {gid!r} is marked N/A but its naEnabled is false; "
                             f"answer its questions instead.")
        points = possible = crit_points = crit_possible = 0.0
        qscores: list[QuestionScore] = []
        for q in group.get("questions") or []:
            qid = str(q.get("id"))
            known.add(qid)
            if q.get("type", "multipleChoiceQuestion") not in SCORED_TYPES:
                continue
            options = q.get("answerOptions") or []
            if not options:
                raise ValueError(f"Question {qid!r} has no answerOptions; a scored question needs "
                                 f"at least one option with a 'value'.")
            values = {str(o["id"]): int(o["value"]) for o in options}
            max_value, min_value = max(values.values()), min(values.values())
            answer_id, marked_na, comment = given.get(qid, (None, False, None))
            if group_na:
                marked_na, answer_id = True, None
            elif marked_na and not q.get("naEnabled", False):
                raise ValueError(f"Question {qid!r} is marked N/A but does not allow N/A "
                                 f"(naEnabled is false); choose one of its answer options.")
            if not marked_na and answer_id is None:
                if unanswered == "raise":
                    raise ValueError(f"Question {qid!r} ({q.get('text', '')!r}) has no answer; "
                                     f"answer it, mark it N/A, or pass unanswered='na'.")
                marked_na = True
            if marked_na:
                qscores.append(QuestionScore(qid, None, 0, max_value, True, False,
                                             bool(q.get("isCritical")), comment))
                continue
            if answer_id not in values:
                raise ValueError(f"Answer {answer_id!r} is not an option of question {qid!r}; "
                                 f"its options are {sorted(values)}.")
            value = values[answer_id]
            failed_kill = bool(q.get("isKill")) and value == min_value and len(values) > 1
            any_kill = any_kill or failed_kill
            points += value
            possible += max_value
            if q.get("isCritical"):
                crit_points += value
                crit_possible += max_value
            qscores.append(QuestionScore(qid, answer_id, value, max_value, False, failed_kill,
                                         bool(q.get("isCritical")), comment))
        groups.append(GroupScore(gid, weight, group_na, points, possible, crit_points,
                                 crit_possible, tuple(qscores)))
    unknown = sorted(set(given) - known)
    if unknown:
        raise ValueError(f"The answers name question(s) {unknown} that are not on this form; "
                         f"score with the form version the evaluation used.")
    total = _pct(sum(g.points * g.weight for g in groups),
                 sum(g.possible * g.weight for g in groups))
    critical = _pct(sum(g.critical_points * g.weight for g in groups),
                    sum(g.critical_possible * g.weight for g in groups))
    non_critical = _pct(sum(g.non_critical_points * g.weight for g in groups),
                        sum(g.non_critical_possible * g.weight for g in groups))
    if any_kill:
        total = 0.0
        critical = 0.0 if not math.isnan(critical) else critical
        non_critical = 0.0 if not math.isnan(non_critical) else non_critical
    return ScoringResult(total, critical, non_critical, any_kill, tuple(groups))

"""AI scoring settings per form version: the defaults, the timeline, the PUT body's checks.

``PUT /api/v2/quality/forms/evaluations/{formId}/aiscoring/settings`` takes an
``AiScoringSettings`` body (docs/genesys-ai-scoring.md). The sandbox applies it as a whole
[emulator choice: PUT semantics; a question left out is disabled] and answers with the form's
complete settings, every question group and question with its ``enabled`` flag; the same object
is the form version's ``aiScoring`` field (absent on a version that never had AI scoring).

Each form version keeps a timeline of ``(time, enabled question ids)``; an evaluation takes the
settings current when it is created and keeps them, so a change never rewrites history.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from .ai import DEFAULT_AI_QUESTIONS
from .ids import parse_iso

if TYPE_CHECKING:  # pragma: no cover
    from .org import Org

__all__ = ["MAX_AI_QUESTIONS", "MAX_AI_OPTIONS", "default_settings", "settings_at",
           "settings_json", "parse_settings", "check_enabled"]

MAX_AI_QUESTIONS = 15  # per form (Genesys help: "Automated scoring options in evaluation forms")
MAX_AI_OPTIONS = 3     # answer options of an AI-scored multiple-choice question (same source)


def default_settings(org: "Org") -> dict[str, list[tuple[datetime, frozenset[str]]]]:
    """Form v2 (and the draft copied from it) AI-score ``DEFAULT_AI_QUESTIONS`` from v2's
    publication on 2026-07-28, so every evaluation on v2 (from 2026-08) has AI scoring."""
    timeline: dict[str, list[tuple[datetime, frozenset[str]]]] = {f["id"]: [] for f in org.forms}
    if not org.size.ai_scoring or len(org.forms) < 2:
        return timeline
    since = parse_iso(org.forms[1]["modifiedDate"])
    for form in org.forms[1:]:
        qids = org.qid_by_key[form["id"]]
        enabled = frozenset(qids[k] for k in DEFAULT_AI_QUESTIONS if k in qids)
        if enabled:
            timeline[form["id"]].append((since, enabled))
    return timeline


def settings_at(org: "Org", form_id: str, when: datetime) -> frozenset[str]:
    """The question ids AI-scored on ``form_id`` at ``when`` (the latest change by then)."""
    current: frozenset[str] = frozenset()
    for since, enabled in org.ai_settings.get(form_id, ()):
        if since <= when:
            current = enabled
    return current


def settings_json(form: Mapping[str, Any], enabled: frozenset[str]) -> dict[str, Any]:
    """``AiScoringSettings`` listing every group and question of ``form`` with its flag."""
    return {"questionGroupSettings": [
        {"questionGroupContextId": g["contextId"],
         "questionSettings": [{"questionContextId": q["contextId"],
                               "settings": {"enabled": q["id"] in enabled}}
                              for q in g["questions"]]}
        for g in form["questionGroups"]]}


def _list(value: Any, where: str) -> list:
    if not isinstance(value, list):
        raise ValueError(f"{where} must be a list; send [] for none.")
    return value


def parse_settings(form: Mapping[str, Any], body: Any) -> frozenset[str]:
    """The question ids ``body`` enables on ``form``, checked as Genesys would.

    Raises
    ------
    ValueError
        The body is not an ``AiScoringSettings`` object, names a question group or question
        that is not on this form version (or a question under the wrong group), repeats one,
        has a non-boolean ``enabled``, enables a question with more than three answer options
        or that is not multiple choice, or enables more than 15 questions.
    """
    if not isinstance(body, dict) or "questionGroupSettings" not in body:
        raise ValueError("The body must be an AiScoringSettings object: {\"questionGroupSettings\":"
                         " [{\"questionGroupContextId\": ..., \"questionSettings\": [...]}]}.")
    groups = {g["contextId"]: g for g in form["questionGroups"]}
    seen_groups: set[str] = set()
    seen: set[str] = set()
    enabled: list[dict] = []
    for entry in _list(body["questionGroupSettings"], "questionGroupSettings"):
        gctx = entry.get("questionGroupContextId") if isinstance(entry, dict) else None
        if gctx not in groups:
            raise ValueError(f"questionGroupContextId {gctx!r} is not a question group of "
                             f"evaluation form {form['id']}; use the contextId of one of its "
                             f"questionGroups.")
        if gctx in seen_groups:
            raise ValueError(f"Question group {gctx} is listed twice; list each group once.")
        seen_groups.add(gctx)
        questions = {q["contextId"]: q for q in groups[gctx]["questions"]}
        for item in _list(entry.get("questionSettings", []),
                          f"questionSettings of question group {gctx}"):
            qctx = item.get("questionContextId") if isinstance(item, dict) else None
            if qctx not in questions:
                raise ValueError(f"questionContextId {qctx!r} is not a question of question "
                                 f"group {gctx} on evaluation form {form['id']}; use the "
                                 f"contextId of a question in that group.")
            if qctx in seen:
                raise ValueError(f"Question {qctx} is listed twice; list each question once.")
            seen.add(qctx)
            settings = item.get("settings")
            flag = settings.get("enabled") if isinstance(settings, dict) else None
            if not isinstance(flag, bool):
                raise ValueError(f"settings.enabled of question {qctx} must be true or false.")
            if flag:
                enabled.append(questions[qctx])
    return check_enabled(form, [q["id"] for q in enabled])


def check_enabled(form: Mapping[str, Any], question_ids: Iterable[str]) -> frozenset[str]:
    """``question_ids`` as a set, if ``form`` can AI-score them all at once.

    Raises
    ------
    ValueError
        A question is not on the form, is not multiple choice or has more than three answer
        options, or more than 15 questions are given.
    """
    questions = {q["id"]: q for g in form["questionGroups"] for q in g["questions"]}
    wanted = list(dict.fromkeys(question_ids))
    for qid in wanted:
        q = questions.get(qid)
        if q is None:
            raise ValueError(f"Question {qid} is not on evaluation form {form['id']}; use the id "
                             f"of one of its questions.")
        if q.get("type") != "multipleChoiceQuestion" or \
                len(q.get("answerOptions") or ()) > MAX_AI_OPTIONS:
            raise ValueError(f"Question {q['contextId']} ({q['text']!r}) cannot be AI-scored: "
                             f"AI scoring takes multiple-choice questions with at most "
                             f"{MAX_AI_OPTIONS} answer options, and it has "
                             f"{len(q.get('answerOptions') or ())}.")
    if len(wanted) > MAX_AI_QUESTIONS:
        raise ValueError(f"{len(wanted)} questions are enabled; a form can have at most "
                         f"{MAX_AI_QUESTIONS} AI-scored questions.")
    return frozenset(wanted)

"""JSON renderings of org objects (calibrations, evaluations, listings) in Genesys shapes."""

from __future__ import annotations

from typing import Any, Sequence
from urllib.parse import urlencode

from . import ai
from .forms import form_ref
from .ids import iso
from .org import Calibration, Evaluation, Org


def listing(entities: Sequence[Any], *, path: str, page_number: int, page_size: int,
            params: dict[str, Any] | None = None, total: int | None = None) -> dict[str, Any]:
    """A ``*EntityListing`` envelope for one page of ``entities`` (already the whole result)."""
    total = len(entities) if total is None else total
    page_count = max(1, -(-total // page_size))
    start = (page_number - 1) * page_size
    page = list(entities[start:start + page_size])

    def uri(n: int) -> str:
        q = {k: v for k, v in (params or {}).items() if v not in (None, "", [])}
        q.update(pageSize=page_size, pageNumber=n)
        return f"{path}?{urlencode(q, doseq=False)}"

    out: dict[str, Any] = {"entities": page, "pageSize": page_size, "pageNumber": page_number,
                           "total": total, "firstUri": uri(1), "selfUri": uri(page_number)}
    if page_number < page_count:
        out["nextUri"] = uri(page_number + 1)
    if page_number > 1:
        out["previousUri"] = uri(page_number - 1)
    out["lastUri"] = uri(page_count)
    out["pageCount"] = page_count
    return out


def user_ref(org: Org, user_id: str | None) -> dict[str, Any] | None:
    if user_id is None:
        return None
    person = org.people.get(user_id)
    if person is None:
        return {"id": user_id, "selfUri": f"/api/v2/users/{user_id}"}
    return person.ref()


def evaluation_json(org: Org, ev: Evaluation, *, with_answers: bool = True,
                    full_form: bool = False) -> dict[str, Any]:
    """The Quality API ``Evaluation``; ``answers`` only once FINISHED (and if asked).

    Where the evaluation's form version AI-scored questions at its creation it also carries
    ``evaluationSource``, ``aiScoring`` and, on those questions' scores, ``aiAnswer``.
    """
    now = org.now()
    cal = org.calibrations[ev.calibration_id]
    form = org.forms_by_id[ev.form_id]
    status = ev.status(now)
    conv = org.conversations.by_id.get(ev.conversation_id)
    out: dict[str, Any] = {
        "id": ev.id,
        "name": cal.name,
        "conversation": {"id": ev.conversation_id,
                         "selfUri": f"/api/v2/conversations/{ev.conversation_id}"},
        "evaluationForm": form if full_form else form_ref(form),
        "evaluator": user_ref(org, ev.evaluator_id),
        "agent": user_ref(org, ev.agent_id),
        "calibration": {"id": cal.id, "selfUri": f"/api/v2/quality/calibrations/{cal.id}"},
        "status": status,
        "agentHasRead": False,
        "assigned": True,
        "isScoringIndex": ev.role == "expert" and status == "FINISHED",
        "neverRelease": True,
        "createdDate": iso(ev.created),
        "assignedDate": iso(ev.created),
        "changedDate": iso(max(t for t in (ev.created, ev.started_at, ev.finished_at,
                                           ev.rescored_at) if t is not None and t <= now)),
    }
    if ev.rescored_at is not None:  # Evaluation.rescore: "only true when … re-scored"
        out["rescore"], out["version"] = True, ev.version
    if conv is not None:
        out["conversationDate"] = iso(conv.start)
        out["conversationEndDate"] = iso(conv.end)
        out["mediaType"] = [{"voice": "CALL", "chat": "CHAT", "email": "EMAIL",
                             "message": "MESSAGE"}.get(conv.media, "CALL")]
    if status == "FINISHED":
        out["submittedDate"] = iso(ev.finished_at)
        if with_answers:
            if ev.answers_json is None:
                ev.answers_json = ai.with_ai_answers(
                    org, ev, org.evaluation_result(ev)[1].to_genesys(comments=""))
            out["answers"] = ev.answers_json
    scoring = ai.evaluation_ai(org, ev)
    if scoring is not None:
        # only where AI scoring ran, so evaluations on forms without it read as before
        # [emulator choice: calibration evaluations are created by a user]
        out["evaluationSource"] = {"type": "User"}
        out["aiScoring"] = ai.ai_scoring_json(scoring, now)
    out["selfUri"] = f"/api/v2/quality/conversations/{ev.conversation_id}/evaluations/{ev.id}"
    return out


def calibration_json(org: Org, cal: Calibration) -> dict[str, Any]:
    """The Quality API ``Calibration`` with integer average/high/low over FINISHED evaluations."""
    now = org.now()
    evs = [org.evaluations[e] for e in cal.evaluation_ids]
    finished = [e for e in evs if e.status(now) == "FINISHED"]
    scores = [org.evaluation_result(e)[1].total_score for e in finished]
    scores = [s for s in scores if s == s]
    form = org.forms_by_id[cal.form_id]
    out: dict[str, Any] = {
        "id": cal.id,
        "name": cal.name,
        "calibrator": user_ref(org, cal.calibrator_id),
        "agent": user_ref(org, cal.agent_id),
        "conversation": {"id": cal.conversation_id,
                         "selfUri": f"/api/v2/conversations/{cal.conversation_id}"},
        "evaluationForm": form_ref(form),
        "contextId": form["contextId"],
        "createdDate": iso(cal.created),
        "evaluations": [evaluation_json(org, e) for e in evs],
        "evaluators": [user_ref(org, e.evaluator_id) for e in evs if e.role == "evaluator"],
    }
    if scores:
        out["averageScore"] = int(round(sum(scores) / len(scores)))
        out["highScore"] = int(round(max(scores)))
        out["lowScore"] = int(round(min(scores)))
    if cal.expert_id:
        out["expertEvaluator"] = user_ref(org, cal.expert_id)
    index_id = cal.scoring_index_id or next(
        (e.id for e in finished if e.role == "expert"), None)
    if index_id:
        out["scoringIndex"] = {"id": index_id, "selfUri":
                               f"/api/v2/quality/conversations/{cal.conversation_id}/evaluations/"
                               f"{index_id}"}
    out["selfUri"] = f"/api/v2/quality/calibrations/{cal.id}"
    return out


def analytics_evaluations(org: Org, cal_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Conversation ``evaluations[]`` in analytics casing (``Finished``, ``InProgress``…)."""
    casing = {"FINISHED": "Finished", "INPROGRESS": "InProgress", "PENDING": "Pending",
              "INREVIEW": "InReview", "RETRACTED": "Retracted"}
    now = org.now()
    out = []
    for cid in cal_ids:
        cal = org.calibrations.get(cid)
        if cal is None or cid in org.deleted_calibrations or cal.created > now:
            continue
        form = org.forms_by_id[cal.form_id]
        for eid in cal.evaluation_ids:
            ev = org.evaluations[eid]
            status = ev.status(now)
            item = {"evaluationId": ev.id, "evaluatorId": ev.evaluator_id, "userId": ev.agent_id,
                    "calibrationId": cal.id, "formId": form["id"], "formName": form["name"],
                    "contextId": form["contextId"], "eventTime": iso(ev.created),
                    "released": False, "rescored": ev.rescored_at is not None,
                    "deleted": False,
                    "systemSubmitted": False, "evaluationStatus": casing[status]}
            if status == "FINISHED":
                res = org.evaluation_result(ev)[1]
                item["eventTime"] = iso(ev.finished_at)
                if res.total_score == res.total_score:
                    item["oTotalScore"] = int(round(res.total_score))
                if res.critical_score == res.critical_score:
                    item["oTotalCriticalScore"] = int(round(res.critical_score))
            out.append(item)
    return out

"""Users, evaluation forms (and their AI scoring settings), calibrations and evaluations
(``genesys-api.md`` §3, §4, §5, §8; docs/genesys-ai-scoring.md)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from calib.scoring import score_evaluation

from .ai_settings import parse_settings, settings_json
from .http import ApiError, Request, bad_request, not_found
from .ids import parse_iso
from .render import calibration_json, evaluation_json, listing

if TYPE_CHECKING:  # pragma: no cover - the server imports the routes
    from .server import SandboxServer

ID = r"([^/]+)"
MAX_PAGE = 500


def _paging(req: Request, default: int = 25, high: int = MAX_PAGE) -> tuple[int, int]:
    return (req.int_param("pageNumber", 1),
            req.int_param("pageSize", default, high=high))


def _time_param(req: Request, name: str):
    raw = req.param(name)
    if raw is None:
        return None
    try:
        return parse_iso(raw)
    except ValueError:
        raise bad_request(f"The query parameter {name} must be an ISO-8601 date-time such as "
                          f"2026-08-01T00:00:00.000Z; got {raw!r}.", "invalid.date") from None


# ------------------------------------------------------------------ users
def get_users(server: SandboxServer, req: Request) -> tuple[int, Any]:
    org = server.org
    state = req.param("state", "active")
    if state not in ("active", "inactive", "deleted", "any"):
        raise bad_request(f"state must be one of active, inactive, deleted, any; got {state!r}.",
                          "invalid.value")
    ids = req.param_list("id")
    people = [org.people[i] for i in ids if i in org.people] if ids else \
        sorted(org.people.values(), key=lambda p: (p.name, p.id))
    if req.param("sortOrder", "ascending") == "descending":
        people = people[::-1]
    people = [p for p in people if state == "any" or p.state == state]
    number, size = _paging(req, high=500)
    return 200, listing([p.to_user() for p in people], path="/api/v2/users", page_number=number,
                        page_size=size, params={"id": ",".join(ids), "state": req.param("state")})


def get_user(server: SandboxServer, req: Request, user_id: str) -> tuple[int, Any]:
    person = server.org.people.get(user_id)
    if person is None:
        raise not_found(f"User {user_id}")
    return 200, person.to_user()


# ------------------------------------------------------------------ forms
def _list_entry(form: dict) -> dict:
    entry = {k: v for k, v in form.items() if k != "questionGroups"}
    entry["published"] = False  # the list endpoint always says false (genesys-api.md §9.8)
    return entry


def get_forms(server: SandboxServer, req: Request) -> tuple[int, Any]:
    contexts: dict[str, list[dict]] = {}
    for form in server.org.forms:
        contexts.setdefault(form["contextId"], []).append(form)
    name = req.param("name")
    entities = []
    for forms in contexts.values():
        latest = forms[-1]  # one entry per form context: its newest (working) version
        entry = _list_entry(latest)
        if "publishHistory" in req.param_list("expand"):
            entry["publishedVersions"] = listing(
                [_list_entry(f) for f in forms if f["published"]],
                path=f"/api/v2/quality/forms/evaluations/{latest['id']}/versions",
                page_number=1, page_size=25)
        if not name or name.lower() in latest["name"].lower():
            entities.append(entry)
    number, size = _paging(req)
    return 200, listing(entities, path="/api/v2/quality/forms/evaluations", page_number=number,
                        page_size=size, params={"name": name})


def get_form(server: SandboxServer, req: Request, form_id: str) -> tuple[int, Any]:
    form = server.org.forms_by_id.get(form_id)
    if form is None:
        raise not_found(f"Evaluation form {form_id}")
    return 200, form


def get_form_versions(server: SandboxServer, req: Request, form_id: str) -> tuple[int, Any]:
    form = server.org.forms_by_id.get(form_id)
    if form is None:
        raise not_found(f"Evaluation form {form_id}")
    versions = [f for f in server.org.forms if f["contextId"] == form["contextId"]]
    if req.param("sortOrder", "asc").lower().startswith("desc"):
        versions = versions[::-1]
    number, size = _paging(req)
    return 200, listing(versions, path=f"/api/v2/quality/forms/evaluations/{form_id}/versions",
                        page_number=number, page_size=size)


def get_published_forms(server: SandboxServer, req: Request) -> tuple[int, Any]:
    published = [f for f in server.org.forms if f["published"]]
    if req.bool_param("onlyLatestPerContext"):
        latest = {f["contextId"]: f for f in published}
        published = [f for f in published if latest[f["contextId"]] is f]
    name = req.param("name")
    if name:
        published = [f for f in published if name.lower() in f["name"].lower()]
    number, size = _paging(req)
    return 200, listing(published, path="/api/v2/quality/publishedforms/evaluations",
                        page_number=number, page_size=size, params={"name": name})


def get_published_form(server: SandboxServer, req: Request, form_id: str) -> tuple[int, Any]:
    org = server.org
    form = org.forms_by_id.get(form_id)
    context = form["contextId"] if form else form_id
    published = [f for f in org.forms if f["contextId"] == context and f["published"]]
    if not published:
        raise not_found(f"Published evaluation form {form_id}")
    return 200, published[-1]


def put_ai_scoring_settings(server: SandboxServer, req: Request, form_id: str) -> tuple[int, Any]:
    """``PUT …/forms/evaluations/{formId}/aiscoring/settings``: checked, applied, echoed
    (:mod:`calib.sandbox.ai_settings`)."""
    org = server.org
    with org.changing():
        form = org.forms_by_id.get(form_id)
        if form is None:
            raise not_found(f"Evaluation form {form_id}")
        try:
            enabled = org.set_ai_scoring(form_id, parse_settings(form, req.body))
        except ValueError as exc:
            raise bad_request(str(exc), "invalid.value") from None
        return 200, settings_json(form, enabled)


# ------------------------------------------------------------ calibrations
def _calibration(server: SandboxServer, cal_id: str):
    try:
        return server.org.live_calibration(cal_id)
    except LookupError:
        raise not_found(f"Calibration {cal_id}") from None


def _ref_id(body: dict, name: str, *, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise bad_request(f"The calibration needs '{name}': {{\"id\": ...}}.", "invalid.value")
        return None
    if not isinstance(value, dict) or not isinstance(value.get("id"), str):
        raise bad_request(f"'{name}' must be an object with a string 'id'.", "invalid.value")
    return value["id"]


def post_calibration(server: SandboxServer, req: Request) -> tuple[int, Any]:
    org = server.org
    body = req.body
    if not isinstance(body, dict):
        raise bad_request("The request body must be a CalibrationCreate JSON object.")
    conv_id = _ref_id(body, "conversation", required=True)
    calibrator_id = _ref_id(body, "calibrator")
    expert_id = _ref_id(body, "expertEvaluator")
    evaluators = body.get("evaluators") or []
    if not isinstance(evaluators, list):
        raise bad_request("'evaluators' must be a list of {\"id\": ...} objects.", "invalid.value")
    evaluator_ids = []
    for item in evaluators:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise bad_request("'evaluators' must be a list of {\"id\": ...} objects.",
                              "invalid.value")
        evaluator_ids.append(item["id"])
    # checked and created in one hold of the org, after catching up with other processes
    with org.changing():
        conv = org.conversations.get(conv_id)
        if conv is None:
            raise bad_request(f"Conversation {conv_id} does not exist.", "invalid.value")
        agent_id = _ref_id(body, "agent") or conv.agent_ids[-1]
        form_id = _ref_id(body, "evaluationForm") or org.forms[1]["id"]
        for uid in [calibrator_id, expert_id, agent_id, *evaluator_ids]:
            if uid is not None and uid not in org.people:
                raise bad_request(f"User {uid} does not exist.", "invalid.value")
        form = org.forms_by_id.get(form_id)
        if form is None:
            raise bad_request(f"Evaluation form {form_id} does not exist.", "invalid.value")
        if not form["published"]:
            raise bad_request(f"Evaluation form {form_id} is not published; calibrate with a "
                              f"published version.", "quality.evaluation.form.not.published")
        cal = org.create_calibration(
            name=str(body.get("name") or f"Calibration {conv_id[:8]}"),
            calibrator_id=calibrator_id, agent_id=agent_id, conversation_id=conv_id,
            form_id=form_id, expert_id=expert_id, evaluator_ids=evaluator_ids)
        return 200, calibration_json(org, cal)


def get_calibrations(server: SandboxServer, req: Request) -> tuple[int, Any]:
    org = server.org
    calibrator_id = req.param("calibratorId")
    if not calibrator_id:
        raise bad_request("The query parameter calibratorId is required.", "missing.parameter")
    conv_id = req.param("conversationId")
    start, end = _time_param(req, "startTime"), _time_param(req, "endTime")
    now = org.now()
    cals = [c for c in org.active_calibrations()
            if c.calibrator_id == calibrator_id and c.created <= now
            and (conv_id is None or c.conversation_id == conv_id)
            and (start is None or c.created >= start) and (end is None or c.created < end)]
    cals.sort(key=lambda c: (c.created, c.id))
    number, size = _paging(req, high=100)
    page = cals[(number - 1) * size: number * size]
    out = listing([None] * len(cals), path="/api/v2/quality/calibrations", page_number=number,
                  page_size=size, params={"calibratorId": calibrator_id,
                                          "conversationId": conv_id,
                                          "startTime": req.param("startTime"),
                                          "endTime": req.param("endTime")})
    out["entities"] = [calibration_json(org, c) for c in page]
    return 200, out


def get_calibration(server: SandboxServer, req: Request, cal_id: str) -> tuple[int, Any]:
    if not req.param("calibratorId") and not req.param("conversationId"):
        raise bad_request("Requires either calibratorId or conversationId.", "missing.parameter")
    cal = _calibration(server, cal_id)
    return 200, calibration_json(server.org, cal)


def put_calibration(server: SandboxServer, req: Request, cal_id: str) -> tuple[int, Any]:
    org = server.org
    body = req.body
    changes: dict[str, Any] = {}
    with org.changing():
        _calibration(server, cal_id)
        if not isinstance(body, dict):
            raise bad_request("The request body must be a Calibration JSON object.")
        if "evaluators" in body:
            wanted = [e.get("id") for e in body.get("evaluators") or [] if isinstance(e, dict)]
            for uid in wanted:
                if uid not in org.people:
                    raise bad_request(f"User {uid} does not exist.", "invalid.value")
            changes["evaluator_ids"] = wanted
        if "expertEvaluator" in body:
            expert = _ref_id(body, "expertEvaluator")
            if expert is not None and expert not in org.people:
                raise bad_request(f"User {expert} does not exist.", "invalid.value")
            changes["expert_id"] = expert
        if "scoringIndex" in body:
            changes["scoring_index_id"] = _ref_id(body, "scoringIndex")
        try:
            cal = org.update_calibration(cal_id, **changes)
        except ValueError as exc:
            raise bad_request(str(exc), "invalid.value") from None
        return 200, calibration_json(org, cal)


def delete_calibration(server: SandboxServer, req: Request, cal_id: str) -> tuple[int, Any]:
    if not req.param("calibratorId"):
        raise bad_request("The query parameter calibratorId is required.", "missing.parameter")
    org = server.org
    with org.changing():
        payload = calibration_json(org, _calibration(server, cal_id))
        org.delete_calibration(cal_id)
    return 200, payload


# ------------------------------------------------------------- evaluations
def query_evaluations(server: SandboxServer, req: Request) -> tuple[int, Any]:
    org = server.org
    keys = {"conversationId": "conversation_id", "evaluatorUserId": "evaluator_id",
            "agentUserId": "agent_id", "assigneeUserId": "evaluator_id"}
    given = {k: req.param(k) for k in keys if req.param(k)}
    if not given:
        raise bad_request("One of conversationId, evaluatorUserId, agentUserId or "
                          "assigneeUserId is required.", "missing.parameter")
    start, end = _time_param(req, "startTime"), _time_param(req, "endTime")
    states = [s.upper() for s in req.param_list("evaluationState")]
    context = req.param("formContextId")
    now = org.now()
    live = {c.id for c in org.active_calibrations() if c.created <= now}
    evs = []
    for ev in org.evaluations.values():
        if ev.calibration_id not in live:
            continue
        if any(getattr(ev, keys[k]) != v for k, v in given.items()):
            continue
        if start and ev.created < start or end and ev.created >= end:
            continue
        if states and ev.status(now) not in states:
            continue
        if context and org.forms_by_id[ev.form_id]["contextId"] != context:
            continue
        evs.append(ev)
    evs.sort(key=lambda e: (e.created, e.id), reverse=req.param("sortOrder", "") == "desc")
    number, size = _paging(req, high=100)
    page = evs[(number - 1) * size: number * size]
    with_answers = req.bool_param("expandAnswerTotalScores")
    out = listing([None] * len(evs), path="/api/v2/quality/evaluations/query", page_number=number,
                  page_size=size, params={**given, "expandAnswerTotalScores":
                                          "true" if with_answers else None})
    out["entities"] = [evaluation_json(org, e, with_answers=with_answers) for e in page]
    return 200, out


def get_evaluation(server: SandboxServer, req: Request, conv_id: str,
                   eval_id: str) -> tuple[int, Any]:
    org = server.org
    ev = org.evaluations.get(eval_id)
    if ev is None or ev.conversation_id != conv_id or \
            ev.calibration_id in org.deleted_calibrations or ev.created > org.now():
        raise not_found(f"Evaluation {eval_id}")
    full = "evaluationForm" in req.param_list("expand")
    return 200, evaluation_json(org, ev, full_form=full)


def put_evaluation(server: SandboxServer, req: Request, conv_id: str,
                   eval_id: str) -> tuple[int, Any]:
    """``PUT /api/v2/quality/conversations/{cid}/evaluations/{eid}``: new ``answers`` for a
    finished evaluation, checked against its form, scored server-side (``Mutations.
    rescore_evaluation``). Other fields of the body are read-only here [emulator choice: the
    form may be named but not changed; status stays FINISHED]."""
    org = server.org
    body = req.body
    if not isinstance(body, dict):
        raise bad_request("The request body must be an Evaluation JSON object.")
    if body.get("status") not in (None, "FINISHED"):
        raise bad_request(f"status {body.get('status')!r} cannot be set on a finished "
                          f"evaluation; send FINISHED or leave it out.", "invalid.value")
    form_id = _ref_id(body, "evaluationForm")
    with org.changing():
        ev = org.evaluations.get(eval_id)
        if ev is None or ev.conversation_id != conv_id:
            raise not_found(f"Evaluation {eval_id}")
        if "answers" not in body:
            raise bad_request("The evaluation needs 'answers' (an EvaluationScoringSet).",
                              "invalid.value")
        try:
            ev = org.rescore_evaluation(eval_id, body["answers"], form_id=form_id)
        except LookupError:
            raise not_found(f"Evaluation {eval_id}") from None
        except ValueError as exc:
            raise bad_request(str(exc), "invalid.value") from None
        full = "evaluationForm" in req.param_list("expand")
        return 200, evaluation_json(org, ev, full_form=full)


def post_scoring(server: SandboxServer, req: Request) -> tuple[int, Any]:
    body = req.body
    if not isinstance(body, dict) or not isinstance(body.get("evaluationForm"), dict):
        raise bad_request("The body needs 'evaluationForm' and 'answers'.")
    form = body["evaluationForm"]
    if "questionGroups" not in form:
        form = server.org.forms_by_id.get(form.get("id"))
        if form is None:
            raise bad_request("evaluationForm.id names no form.", "invalid.value")
    try:
        result = score_evaluation(form, body.get("answers") or {})
    except ValueError as exc:
        raise ApiError(400, "invalid.value", str(exc)) from None
    return 200, result.to_genesys()


ROUTES = [
    ("GET", re.compile(r"/api/v2/users"), get_users),
    ("GET", re.compile(rf"/api/v2/users/{ID}"), get_user),
    ("GET", re.compile(r"/api/v2/quality/forms/evaluations"), get_forms),
    ("GET", re.compile(rf"/api/v2/quality/forms/evaluations/{ID}"), get_form),
    ("GET", re.compile(rf"/api/v2/quality/forms/evaluations/{ID}/versions"), get_form_versions),
    ("PUT", re.compile(rf"/api/v2/quality/forms/evaluations/{ID}/aiscoring/settings"),
     put_ai_scoring_settings),
    ("GET", re.compile(r"/api/v2/quality/publishedforms/evaluations"), get_published_forms),
    ("GET", re.compile(rf"/api/v2/quality/publishedforms/evaluations/{ID}"), get_published_form),
    ("POST", re.compile(r"/api/v2/quality/calibrations"), post_calibration),
    ("GET", re.compile(r"/api/v2/quality/calibrations"), get_calibrations),
    ("GET", re.compile(rf"/api/v2/quality/calibrations/{ID}"), get_calibration),
    ("PUT", re.compile(rf"/api/v2/quality/calibrations/{ID}"), put_calibration),
    ("DELETE", re.compile(rf"/api/v2/quality/calibrations/{ID}"), delete_calibration),
    ("GET", re.compile(r"/api/v2/quality/evaluations/query"), query_evaluations),
    ("GET", re.compile(rf"/api/v2/quality/conversations/{ID}/evaluations/{ID}"), get_evaluation),
    ("PUT", re.compile(rf"/api/v2/quality/conversations/{ID}/evaluations/{ID}"), put_evaluation),
    ("POST", re.compile(r"/api/v2/quality/evaluations/scoring"), post_scoring),
]

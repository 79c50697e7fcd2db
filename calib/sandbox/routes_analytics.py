"""Analytics conversation details (sync query, async jobs, by id) and recording metadata (§6, §7)."""

from __future__ import annotations

import base64
import re
import threading
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from .conversations import Conversation
from .http import ApiError, Request, bad_request, not_found
from .ids import iso, make_id, parse_iso
from .render import analytics_evaluations

if TYPE_CHECKING:  # pragma: no cover - the server imports the routes
    from .server import SandboxServer

ID = r"([^/]+)"
MAX_DEPTH = 100_000
MAX_SYNC_DAYS = 7
SEGMENT_DIMENSIONS = {
    "mediaType", "direction", "purpose", "userId", "queueId", "wrapUpCode", "segmentType",
    "recording", "screenRecording", "snippetRecording", "participantName", "disconnectType",
    "scoredAgentId", "teamId", "ani", "dnis", "sessionId", "participantId", "edgeId", "provider",
    "requestedRoutingSkillId", "requestedLanguageId", "groupId", "addressFrom", "addressTo",
    "conversationId", "divisionId", "externalContactId", "flaggedReason", "outboundCampaignId",
    "remote", "roomId", "sourceConversationId", "subject", "wrapUpNote",
}
CONVERSATION_DIMENSIONS = {
    "accessAttribute", "conversationEnd", "conversationId", "conversationInitiator",
    "conversationStart", "customerParticipation", "divisionId", "externalTag",
    "mediaStatsMinConversationMos", "originatingDirection", "originatingSocialMediaPublic",
}
CONVERSATION_METRICS = set("""nBlindTransferred nBotInteractions nCallbackAttempts nCallbackOverSla
nCallbackScheduled nCobrowseSessions nConnected nConsult nConsultTransferred nConversations nError
nFlow nFlowMilestone nFlowOutcome nFlowOutcomeFailed nOffered nOutbound nOutboundAbandoned
nOutboundAttempted nOutboundConnected nOverSla nStateTransitionError nTakeover nTransferred
oAudioMessageCount oExternalAudioMessageCount oExternalMediaCount oFlowMilestone oMediaCount
oMessageCount oMessageSegmentCount oMessageTurn oSkillExpressionApplications tAbandon tAcd
tActiveCallback tActiveCallbackComplete tAcw tAgentResponseTime tAgentVideoConnected tAlert
tAnswered tAverageAgentResponseTime tAverageCustomerResponseTime tBarging tCoaching
tCoachingComplete tConnected tContacting tConversationDuration tDialing tFirstConnect tFirstDial
tFirstEngagement tFirstResponse tFlow tFlowDisconnect tFlowExit tFlowOut tFlowOutcome tHandle
tHeld tHeldComplete tIvr tMonitoring tMonitoringComplete tNotResponding tPark tParkComplete
tScreenMonitoring tShortAbandon tSnippetRecord tTalk tTalkComplete tTransmitting
tUserResponseTime tVoicemail""".split())
EVALUATION_DIMENSIONS = {
    "assigneeApplicable", "assigneeId", "calibrationId", "contextId", "deleted", "evaluationId",
    "evaluationStatus", "evaluatorId", "eventTime", "formId", "formName", "queueId", "released",
    "rescored", "systemSubmitted", "userId",
}
EVALUATION_METRICS = {"oTotalCriticalScore", "oTotalScore"}
RANGE_KEYS = {"gt", "gte", "lt", "lte"}


# --------------------------------------------------------------- filters
def _check_filters(filters: Any, kind: str, dimensions: set[str], metrics: set[str]) -> None:
    if filters is None:
        return
    if not isinstance(filters, list):
        raise bad_request(f"{kind} must be a list of filters "
                          f"{{\"type\": \"and\"|\"or\", \"predicates\": [...]}}.")
    for f in filters:
        _check_filter(f, kind, dimensions, metrics)


def _check_filter(f: Any, kind: str, dimensions: set[str], metrics: set[str]) -> None:
    if not isinstance(f, dict) or f.get("type") not in ("and", "or"):
        raise bad_request(f"Every entry of {kind} must be an object with type 'and' or 'or' and "
                          f"a 'predicates' list; predicates cannot stand alone.")
    if not f.get("predicates") and not f.get("clauses"):
        raise bad_request(f"A filter of {kind} needs 'predicates' or 'clauses'.")
    for clause in f.get("clauses") or []:
        _check_filter(clause, kind, dimensions, metrics)
    for p in f.get("predicates") or []:
        if not isinstance(p, dict):
            raise bad_request(f"Every predicate of {kind} must be an object.")
        ptype = p.get("type") or ("metric" if "metric" in p else "dimension")
        operator = p.get("operator", "matches")
        if operator not in ("matches", "exists", "notExists"):
            raise bad_request(f"Predicate operator {operator!r} is invalid; use matches, exists "
                              f"or notExists.", "invalid.value")
        if ptype == "metric":
            name = p.get("metric")
            if name not in metrics:
                allowed = ", ".join(sorted(metrics)) if len(metrics) < 5 else "see the API docs"
                raise bad_request(f"Metric {name!r} is not valid in {kind} (valid: {allowed}).",
                                  "invalid.value")
            rng = p.get("range")
            if operator == "matches" and (not isinstance(rng, dict) or not rng
                                          or set(rng) - RANGE_KEYS):
                raise bad_request(f"Metric predicate {name!r} needs a 'range' with gt/gte/lt/lte.",
                                  "invalid.value")
            if isinstance(rng, dict) and not all(isinstance(v, (int, float))
                                                 for v in rng.values()):
                raise bad_request(f"The range of metric {name!r} must hold numbers.",
                                  "invalid.value")
        elif ptype in ("dimension", "property"):
            name = p.get("dimension")
            if ptype == "dimension" and name not in dimensions:
                raise bad_request(f"Dimension {name!r} is not valid in {kind}.", "invalid.value")
            if operator == "matches" and not isinstance(p.get("value"), str):
                raise bad_request(f"Predicate on {name!r} needs a string 'value'.",
                                  "invalid.value")
        else:
            raise bad_request(f"Predicate type {ptype!r} is invalid; use dimension, property or "
                              f"metric.", "invalid.value")


def _pred_ok(p: dict, row: dict) -> bool:
    operator = p.get("operator", "matches")
    if "metric" in p and p.get("type", "metric") == "metric":
        value = row.get(p["metric"])
        if operator == "exists":
            return value is not None
        if operator == "notExists":
            return value is None
        if value is None:
            return False
        r = p.get("range") or {}
        return (("gt" not in r or value > r["gt"]) and ("gte" not in r or value >= r["gte"])
                and ("lt" not in r or value < r["lt"]) and ("lte" not in r or value <= r["lte"]))
    value = row.get(p.get("dimension"))
    if operator == "exists":
        return value is not None
    if operator == "notExists":
        return value is None
    return value is not None and str(value) == p.get("value")


def _filter_ok(f: dict, row: dict) -> bool:
    parts = [_pred_ok(p, row) for p in f.get("predicates") or []]
    parts += [_filter_ok(c, row) for c in f.get("clauses") or []]
    return all(parts) if f["type"] == "and" else any(parts)


def _matches(org, conv: Conversation, query: dict) -> bool:
    for f in query.get("conversationFilters") or []:
        if not _filter_ok(f, conv.conv_row):
            return False
    for f in query.get("segmentFilters") or []:
        if not any(_filter_ok(f, row) for row in conv.segment_rows):
            return False
    eval_filters = query.get("evaluationFilters") or []
    if eval_filters:
        rows = analytics_evaluations(org, conv.calibration_ids)
        for f in eval_filters:
            if not any(_filter_ok(f, r) for r in rows):
                return False
    return True


def conversation_json(org, conv: Conversation) -> dict[str, Any]:
    evaluations = analytics_evaluations(org, conv.calibration_ids)
    if not evaluations:
        return conv.body
    out = dict(conv.body)
    out["evaluations"] = evaluations
    return out


def _interval(text: Any):
    if not isinstance(text, str) or text.count("/") != 1:
        raise bad_request("The query needs an 'interval' such as "
                          "2026-08-01T00:00:00.000Z/2026-08-08T00:00:00.000Z.", "invalid.value")
    a, b = text.split("/")
    try:
        start, end = parse_iso(a), parse_iso(b)
    except ValueError:
        raise bad_request(f"The interval {text!r} is not two ISO-8601 date-times separated by "
                          f"'/'.", "invalid.value") from None
    if end <= start:
        raise bad_request(f"The interval {text!r} ends before it starts.", "invalid.value")
    return start, end


def _validate_query(body: Any) -> tuple:
    if not isinstance(body, dict):
        raise bad_request("The request body must be a ConversationQuery JSON object.")
    start, end = _interval(body.get("interval"))
    _check_filters(body.get("segmentFilters"), "segmentFilters", SEGMENT_DIMENSIONS,
                   {"tSegmentDuration"})
    _check_filters(body.get("conversationFilters"), "conversationFilters",
                   CONVERSATION_DIMENSIONS, CONVERSATION_METRICS)
    _check_filters(body.get("evaluationFilters"), "evaluationFilters", EVALUATION_DIMENSIONS,
                   EVALUATION_METRICS)
    order = body.get("order", "asc")
    if order not in ("asc", "desc", "unordered"):
        raise bad_request(f"order {order!r} is invalid; use asc, desc or unordered.",
                          "invalid.value")
    order_by = body.get("orderBy", "conversationStart")
    if order_by not in ("conversationStart", "conversationEnd", "segmentStart", "segmentEnd"):
        raise bad_request(f"orderBy {order_by!r} is invalid.", "invalid.value")
    return start, end, order, order_by


def _select(org, body: dict, start, end, order: str, order_by: str) -> list[Conversation]:
    convs = [c for c in org.conversations.between(start, end) if _matches(org, c, body)]
    if order_by in ("conversationEnd", "segmentEnd"):
        convs.sort(key=lambda c: (c.end, c.id))
    if order == "desc":
        convs.reverse()
    return convs


def details_query(server: SandboxServer, req: Request) -> tuple[int, Any]:
    body = req.body
    start, end, order, order_by = _validate_query(body)
    if end - start > timedelta(days=MAX_SYNC_DAYS):
        raise bad_request("The interval of a synchronous query may not exceed 7 days; split it "
                          "or use an async job.", "invalid.value")
    paging = body.get("paging") or {}
    if not isinstance(paging, dict):
        raise bad_request("paging must be {\"pageSize\": int, \"pageNumber\": int}.")
    size, number = paging.get("pageSize", 25), paging.get("pageNumber", 1)
    if not isinstance(size, int) or not isinstance(number, int) or size < 1 or number < 1:
        raise bad_request("paging.pageSize and paging.pageNumber must be positive integers.",
                          "invalid.value")
    if size > 100:
        raise bad_request(f"paging.pageSize {size} exceeds the maximum of 100.", "invalid.value")
    if size * number > MAX_DEPTH:
        raise bad_request("Pagination may not exceed 100000 results.", "invalid.value")
    convs = _select(server.org, body, start, end, order, order_by)
    page = convs[(number - 1) * size: number * size]
    out: dict[str, Any] = {}
    if page:
        out["conversations"] = [conversation_json(server.org, c) for c in page]
    out["totalHits"] = len(convs)
    return 200, out


def conversation_details(server: SandboxServer, req: Request, conv_id: str) -> tuple[int, Any]:
    conv = server.org.conversations.get(conv_id)
    if conv is None:
        raise not_found(f"Conversation {conv_id}")
    return 200, conversation_json(server.org, conv)


def recording_metadata(server: SandboxServer, req: Request, conv_id: str) -> tuple[int, Any]:
    conv = server.org.conversations.get(conv_id)
    if conv is None:
        raise not_found(f"Conversation {conv_id}")
    return 200, conv.recordings


# ------------------------------------------------------------- async jobs
class Jobs:
    """Async jobs of one server: QUEUED for a couple of polls, then FULFILLED."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.jobs: dict[str, dict[str, Any]] = {}
        self.count = 0


def _jobs(server: SandboxServer) -> Jobs:
    jobs = getattr(server, "_jobs", None)
    if jobs is None:
        jobs = server._jobs = Jobs()  # type: ignore[attr-defined]
    return jobs


def post_job(server: SandboxServer, req: Request) -> tuple[int, Any]:
    body = req.body
    start, end, order, order_by = _validate_query(body)
    if isinstance(body, dict) and "paging" in body:
        raise bad_request("An async job takes no 'paging'; page the results with the cursor.")
    limit = body.get("limit")
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise bad_request("limit must be a positive integer.", "invalid.value")
    jobs = _jobs(server)
    with jobs.lock:
        jobs.count += 1
        job_id = make_id(server.org.seed, "job", jobs.count)
        jobs.jobs[job_id] = {"body": body, "polls": 0, "state": "QUEUED", "result": None,
                             "submitted": server.org.now(), "args": (start, end, order, order_by)}
    return 202, {"jobId": job_id}


def _job(server: SandboxServer, job_id: str) -> dict:
    job = _jobs(server).jobs.get(job_id)
    if job is None:
        raise not_found(f"Job {job_id}")
    return job


def get_job(server: SandboxServer, req: Request, job_id: str) -> tuple[int, Any]:
    job = _job(server, job_id)
    with _jobs(server).lock:
        job["polls"] += 1
        if job["state"] == "QUEUED" and job["polls"] >= 2:
            convs = _select(server.org, job["body"], *job["args"])
            limit = job["body"].get("limit")
            job["result"] = convs[:limit] if limit else convs
            job["state"] = "FULFILLED"
            job["completed"] = server.org.now()
    out = {"state": job["state"], "submissionDate": iso(job["submitted"]),
           "expirationDate": iso(job["submitted"] + timedelta(days=1))}
    if job["state"] == "FULFILLED":
        out["completionDate"] = iso(job["completed"])
    return 200, out


def job_results(server: SandboxServer, req: Request, job_id: str) -> tuple[int, Any]:
    job = _job(server, job_id)
    if job["state"] != "FULFILLED":
        raise ApiError(400, "bad.request", f"Job {job_id} is {job['state']}, not FULFILLED; poll "
                                           f"its status until it is.")
    size = req.int_param("pageSize", 1000, high=1000)
    cursor = req.param("cursor")
    offset = 0
    if cursor:
        try:
            offset = int(base64.urlsafe_b64decode(cursor.encode()).decode().split(":")[1])
        except (ValueError, IndexError, UnicodeDecodeError):
            raise bad_request("The cursor is invalid; pass the cursor of the previous page.",
                              "invalid.value") from None
    page = job["result"][offset: offset + size]
    out: dict[str, Any] = {"conversations": [conversation_json(server.org, c) for c in page],
                           "dataAvailabilityDate": iso(server.org.now())}
    if offset + size < len(job["result"]):
        out["cursor"] = base64.urlsafe_b64encode(f"{job_id}:{offset + size}".encode()).decode()
    return 200, out


def delete_job(server: SandboxServer, req: Request, job_id: str) -> tuple[int, Any]:
    _job(server, job_id)
    with _jobs(server).lock:
        _jobs(server).jobs.pop(job_id, None)
    return 204, None


def availability(server: SandboxServer, req: Request) -> tuple[int, Any]:
    return 200, {"dataAvailabilityDate": iso(server.org.now())}


ROUTES = [
    ("POST", re.compile(r"/api/v2/analytics/conversations/details/query"), details_query),
    ("GET", re.compile(r"/api/v2/analytics/conversations/details/jobs/availability"),
     availability),
    ("POST", re.compile(r"/api/v2/analytics/conversations/details/jobs"), post_job),
    ("GET", re.compile(rf"/api/v2/analytics/conversations/details/jobs/{ID}"), get_job),
    ("GET", re.compile(rf"/api/v2/analytics/conversations/details/jobs/{ID}/results"),
     job_results),
    ("DELETE", re.compile(rf"/api/v2/analytics/conversations/details/jobs/{ID}"), delete_job),
    ("GET", re.compile(rf"/api/v2/analytics/conversations/{ID}/details"), conversation_details),
    ("GET", re.compile(rf"/api/v2/conversations/{ID}/recordingmetadata"), recording_metadata),
]

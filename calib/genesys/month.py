"""A team's month of calibrations as the Quality API returns it, read in a handful of requests,
and turned into calib's tidy rows.

Requests are budgeted (the API allows 300 a minute per OAuth client), so a month costs tens of
requests, not hundreds:

1. one listing per calibrator and 100 calibrations (``GET /api/v2/quality/calibrations`` with
   ``startTime``/``endTime`` = the month, UTC) — the listing carries each calibration's
   evaluations with their ``answers`` when the API fills them in;
2. only for FINISHED evaluations whose ``answers`` the listing left out (genesys-api.md §9.4:
   unverified whether it does): either one ``evaluations/query`` per evaluator
   (``expandAnswerTotalScores=true``) or one ``GET`` per evaluation, whichever is fewer;
3. one ``GET`` per form version used (question text, groups, option values, max points);
4. one ``GET /api/v2/users?id=…`` per 100 people (evaluators, calibrators and agents).

This is the only place that reads calibration and evaluation JSON into rows; :mod:`calib.sync`
puts the rows in the store. A question the system marked N/A (hidden by a visibility condition)
counts as N/A like one the evaluator marked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from calib.genesys.quality import is_consensus_push
from calib.values import month_end

__all__ = ["CalibrationMonth", "read_month", "list_calibrations", "find_users", "ref",
           "assigned_states"]


@dataclass(frozen=True)
class CalibrationMonth:
    """The JSON of one month's calibrations of some calibrators, with what they refer to.

    Attributes
    ----------
    calibrations : list of dict
        Oldest first; each has ``_evaluation_ids``.
    evaluations : dict
        Evaluation id → JSON (answers filled in for FINISHED ones).
    forms : dict
        Form version id → form JSON.
    users : list of dict
        Evaluators, calibrators, experts and agents.
    """

    calibrations: list[dict]
    evaluations: dict[str, dict]
    forms: dict[str, dict]
    users: list[dict]

    def consensus_pushes(self) -> set[str]:
        """Evaluations whose answers ``calib consensus push`` wrote (the agreed answers, not
        the evaluator's own scoring; :func:`calib.genesys.quality.is_consensus_push`)."""
        return {eid for eid, ev in self.evaluations.items() if is_consensus_push(ev)}

    def tidy(self, team: str, month: str, sessions: Mapping[str, str]
             ) -> tuple[list[dict], list[dict], list[dict]]:
        """``scores`` rows, ``answers`` rows and calibration records (calib.tables shapes);
        ``sessions`` maps a conversation id to its session plan's name."""
        return _rows(team, month, self.calibrations, self.evaluations, self.forms, sessions)


def ref(obj: Any) -> str | None:
    """The ``id`` of a reference object (``{"id": …}``), or None."""
    return obj.get("id") if isinstance(obj, Mapping) else None


def _month_window(month: str) -> tuple[str, str]:
    start = f"{month}-01T00:00:00.000Z"
    return start, month_end(month).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def find_users(client: Any, emails_or_ids: Iterable[str]) -> list[dict]:
    """The API users named by email (``name@example.com``) or by id, in the order given.

    Ids are fetched in bulk (``GET /api/v2/users?id=…``); emails are matched, case-insensitively,
    against the org's user listing, which is read only when an email is given.

    Raises
    ------
    ValueError
        Naming every email or id that no user matches.
    """
    wanted = [str(x).strip() for x in emails_or_ids]
    if not wanted or any(not w for w in wanted):
        raise ValueError("Name at least one user, each by a non-empty email or id.")
    emails = [w for w in wanted if "@" in w]
    ids = [w for w in wanted if "@" not in w]
    by_id = {u["id"]: u for u in client.get_users(ids)} if ids else {}
    by_email: dict[str, dict] = {}
    if emails:
        targets = {e.lower() for e in emails}
        for user in client.iter_users(state="any"):
            email = str(user.get("email") or "").lower()
            if email in targets:
                by_email.setdefault(email, user)
                if len(by_email) == len(targets):
                    break
    missing = [w for w in wanted if (by_email.get(w.lower()) if "@" in w else by_id.get(w))
               is None]
    if missing:
        raise ValueError(f"No user found for {', '.join(map(repr, missing))}; check the "
                         f"spelling, or use the user's id.")
    return [by_email[w.lower()] if "@" in w else by_id[w] for w in wanted]


def _fill_missing_answers(client: Any, month: str, evaluations: dict[str, dict],
                          calibration_of: Mapping[str, str]) -> None:
    """Fetch FINISHED evaluations that came without ``answers`` (fewest requests wins)."""
    missing = [e for e in evaluations.values()
               if e.get("status") == "FINISHED" and not isinstance(e.get("answers"), Mapping)]
    if not missing:
        return
    evaluators = {ref(e.get("evaluator")) for e in missing} - {None}
    if len(evaluators) < len(missing):
        start, _ = _month_window(month)
        for evaluator in sorted(evaluators):
            # no end: an evaluator added to a calibration later is assigned after the month
            for ev in client.iter_evaluations(evaluator_user_id=evaluator, start_time=start,
                                              expand_answer_total_scores=True):
                cid = ref(ev.get("calibration"))
                if ev.get("id") in evaluations and cid in calibration_of.values():
                    evaluations[ev["id"]] = {**evaluations[ev["id"]], **ev}
    else:
        for ev in missing:
            conversation = ref(ev.get("conversation")) or ev["_conversation_id"]
            fetched = client.get_evaluation(conversation, ev["id"])
            evaluations[ev["id"]] = {**ev, **fetched}


def _discover_evaluations(client: Any, month: str, unlisted: Sequence[dict],
                          evaluations: dict[str, dict], calibration_of: dict[str, str]) -> None:
    """Find the evaluations of calibrations listed without them, one query per evaluator."""
    wanted = {c["id"]: c for c in unlisted}
    people = set()
    for cal in unlisted:
        people |= {ref(u) for u in cal.get("evaluators") or ()}
        people.add(ref(cal.get("expertEvaluator")))
    start, _ = _month_window(month)
    for evaluator in sorted(people - {None}):
        for ev in client.iter_evaluations(evaluator_user_id=evaluator, start_time=start,
                                          expand_answer_total_scores=True):
            cid = ref(ev.get("calibration"))
            if cid in wanted and ev.get("id") and ev["id"] not in evaluations:
                evaluations[ev["id"]] = {**ev, "_conversation_id":
                                         ref(wanted[cid].get("conversation"))}
                calibration_of[ev["id"]] = cid
                wanted[cid]["_evaluation_ids"].append(ev["id"])


def _question_index(forms: Mapping[str, Mapping]) -> dict[tuple[str, str], dict]:
    index = {}
    for form_id, form in forms.items():
        for group in form.get("questionGroups") or ():
            for q in group.get("questions") or ():
                options = {o["id"]: o for o in q.get("answerOptions") or ()}
                values = [float(o["value"]) for o in options.values()
                          if o.get("value") is not None]
                index[(form_id, q["id"])] = {
                    "group_name": group.get("name"), "text": q.get("text"),
                    "options": options, "max_points": max(values) if values else math.nan}
    return index


def _has_critical(form: Mapping | None) -> bool:
    return bool(form) and any(q.get("isCritical") for g in form.get("questionGroups") or ()
                              for q in g.get("questions") or ())


def _rows(team: str, month: str, calibrations: Sequence[dict], evaluations: Mapping[str, dict],
          forms: Mapping[str, Mapping], sessions: Mapping[str, str]
          ) -> tuple[list[dict], list[dict], list[dict]]:
    """scores rows, answers rows and calibration records from the API JSON."""
    questions = _question_index(forms)
    score_rows, answer_rows, records = [], [], []
    for cal in calibrations:
        cid = cal["id"]
        conversation = ref(cal.get("conversation"))
        form_id = ref(cal.get("evaluationForm"))
        expert = ref(cal.get("expertEvaluator"))
        session = sessions.get(conversation, f"{team}/{month}")
        records.append({
            "calibration_id": cid, "name": cal.get("name"), "session_id": session,
            "conversation_id": conversation, "agent_id": ref(cal.get("agent")),
            "calibrator_id": ref(cal.get("calibrator")), "expert_id": expert,
            "form_id": form_id,
            "form_context_id": cal.get("contextId") or (cal.get("evaluationForm") or {})
            .get("contextId"),
            "created_at": cal.get("createdDate"),
            "evaluator_ids": [ref(u) for u in cal.get("evaluators") or () if ref(u)]})
        for ev_id in cal["_evaluation_ids"]:
            ev = evaluations[ev_id]
            evaluator = ref(ev.get("evaluator"))
            ev_form = ref(ev.get("evaluationForm")) or form_id
            form = forms.get(ev_form)
            finished = ev.get("status") == "FINISHED"
            scored = ev.get("answers") if finished and isinstance(ev.get("answers"),
                                                                   Mapping) else {}
            critical = scored.get("totalCriticalScore") if _has_critical(form) else None
            score_rows.append({
                "team": team, "month": month, "session_id": session, "calibration_id": cid,
                "conversation_id": ref(ev.get("conversation")) or conversation,
                "agent_id": ref(ev.get("agent")) or ref(cal.get("agent")),
                "calibrator_id": ref(cal.get("calibrator")), "evaluation_id": ev_id,
                "evaluator_id": evaluator,
                "evaluator_name": (ev.get("evaluator") or {}).get("name"),
                "role": "expert" if evaluator is not None and evaluator == expert
                else "evaluator",
                "status": ev.get("status"),
                "total_score": scored.get("totalScore", math.nan),
                "critical_score": math.nan if critical is None else critical,
                "any_failed_kill": bool(scored.get("anyFailedKillQuestions", False)),
                "submitted_at": ev.get("submittedDate") if finished else None,
                "form_id": ev_form,
                "form_context_id": (form or {}).get("contextId")
                or (ev.get("evaluationForm") or {}).get("contextId")
                or cal.get("contextId")})
            for group in scored.get("questionGroupScores") or ():
                for qs in group.get("questionScores") or ():
                    q = questions.get((ev_form, qs.get("questionId")), {})
                    na = bool(qs.get("markedNA") or qs.get("systemMarkedNA")
                              or group.get("markedNA"))
                    answer = None if na else qs.get("answerId")
                    option = q.get("options", {}).get(answer) if answer else None
                    if option is not None and option.get("value") is not None:
                        points = float(option["value"])
                    elif answer is not None and qs.get("score") is not None:
                        points = float(qs["score"])
                    else:
                        points = math.nan
                    answer_rows.append({
                        "team": team, "month": month, "session_id": session,
                        "calibration_id": cid, "conversation_id": conversation,
                        "evaluation_id": ev_id, "evaluator_id": evaluator,
                        "role": score_rows[-1]["role"], "form_id": ev_form,
                        "question_group_id": group.get("questionGroupId"),
                        "question_group_name": q.get("group_name"),
                        "question_id": qs.get("questionId"), "question_text": q.get("text"),
                        "answer_id": answer,
                        "answer_text": option.get("text") if option else None,
                        "points": points, "max_points": q.get("max_points", math.nan),
                        "marked_na": na, "comment": qs.get("comments") or None})
    return score_rows, answer_rows, records


def assigned_states(calibration: Mapping[str, Any]) -> dict[str, str]:
    """Each assigned evaluator's evaluation status on a calibration (``PENDING`` for someone
    assigned without an evaluation yet), the expert included; never a score."""
    states = {ref(e.get("evaluator")): str(e.get("status") or "PENDING").upper()
              for e in calibration.get("evaluations") or []}
    for user in [*(calibration.get("evaluators") or []), calibration.get("expertEvaluator")]:
        if ref(user) and ref(user) not in states:
            states[ref(user)] = "PENDING"
    states.pop(None, None)
    return states


def list_calibrations(client: Any, calibrator_ids: Sequence[str], month: str) -> list[dict]:
    """The calibrations the calibrators created in ``month`` (UTC) as the listing returns them
    (request 1 of the module docstring), each once, in the listing's order.

    Each carries its evaluations with their ``changedDate`` (and ``answers`` where the API fills
    them in): :mod:`calib.sync` compares them with the last sync's before reading any further.
    """
    ids = list(dict.fromkeys(str(c) for c in calibrator_ids))
    start, end = _month_window(month)
    calibrations: dict[str, dict] = {}
    for calibrator in ids:
        for cal in client.iter_calibrations(calibrator, start_time=start, end_time=end):
            calibrations.setdefault(cal["id"], cal)
    return list(calibrations.values())


def read_month(client: Any, calibrator_ids: Sequence[str], month: str, *,
               listed: Sequence[dict] | None = None) -> CalibrationMonth:
    """The calibrations the calibrators created in ``month`` (UTC), with their evaluations,
    forms and people, in the requests listed in the module docstring.

    ``listed`` is the month's listing when the caller already has it
    (:func:`list_calibrations`); it is not changed.
    """
    if listed is None:
        listed = list_calibrations(client, calibrator_ids, month)
    calibrations = {cal["id"]: dict(cal) for cal in listed}
    evaluations: dict[str, dict] = {}
    calibration_of: dict[str, str] = {}
    for cid, cal in calibrations.items():
        cal["_evaluation_ids"] = []
        for ev in cal.get("evaluations") or ():
            if not ref(ev) or ev.get("status") is None:
                continue
            evaluations[ev["id"]] = {**ev, "_conversation_id": ref(cal.get("conversation"))}
            calibration_of[ev["id"]] = cid
            cal["_evaluation_ids"].append(ev["id"])
    unlisted = [c for c in calibrations.values() if "evaluations" not in c]
    if unlisted:  # the listing left evaluations out entirely: ask per assigned evaluator
        _discover_evaluations(client, month, unlisted, evaluations, calibration_of)
    _fill_missing_answers(client, month, evaluations, calibration_of)
    form_ids = {ref(c.get("evaluationForm")) for c in calibrations.values()}
    form_ids |= {ref(e.get("evaluationForm")) for e in evaluations.values()}
    forms = {fid: client.get_evaluation_form(fid) for fid in sorted(form_ids - {None})}
    people = {ref(e.get("evaluator")) for e in evaluations.values()}
    for cal in calibrations.values():
        # agents too: the report and the agenda name calls by agent, from the store alone
        people |= {ref(cal.get("calibrator")), ref(cal.get("expertEvaluator")),
                   ref(cal.get("agent"))}
        people |= {ref(u) for u in cal.get("evaluators") or ()}
    users = client.get_users(sorted(people - {None})) if people - {None} else []
    ordered = sorted(calibrations.values(), key=lambda c: (c.get("createdDate") or "", c["id"]))
    return CalibrationMonth(ordered, evaluations, forms, users)

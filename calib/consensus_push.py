"""Write a calibration's agreed answers back to Genesys Cloud (``calib consensus push``).

What the API allows (``docs/genesys-deeper.md`` §7): the calibration's scoring index is one of its
evaluations, normally the expert's (``Calibration.scoringIndex``); the agreed answers are written
into that evaluation with ``PUT /api/v2/quality/conversations/{cid}/evaluations/{eid}``
(``QualityApi.put_quality_conversation_evaluation``), which Genesys rescores, and the calibration
is pointed at it with ``PUT /api/v2/quality/calibrations/{id}`` when it is not already.

The agreed answer of each question is the one the meeting recorded (``calib consensus record``)
and, for a question nobody disputed, the answer the panel gave (the expert's): the same answers
:func:`calib.consensus.agreed_scores` scores. A calibration is pushed only when every disputed
question has a recorded answer, the form in Genesys is the one the store holds, and the expert's
evaluation in Genesys still holds either the expert's own answers (as synced) or an earlier push;
anything else is refused in one message before anything is sent. The expert's own answers stay in
the store: the pushed evaluation carries :data:`calib.genesys.quality.CONSENSUS_MARK` in its
``privateComments``, and :func:`calib.sync.sync_month` keeps the stored original for it.

A push is a dry run unless ``send=True``; a rerun sends nothing when Genesys already holds the
agreed answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from calib.consensus import answer_category, filled_answers, form_from_store
from calib.genesys.month import ref
from calib.genesys.quality import CONSENSUS_MARK, is_consensus_push
from calib.scoring import score_evaluation
from calib.tables import NA_CATEGORY
from calib.values import check_month

__all__ = ["PUSH_COLUMNS", "CHANGE_COLUMNS", "PushRefused", "PushResult", "push_consensus"]

PUSH_COLUMNS = ("calibration_id", "conversation_id", "call", "expert", "evaluation_id",
                "action", "n_changed", "expert_score", "agreed_score", "set_scoring_index")
CHANGE_COLUMNS = ("calibration_id", "call", "question", "in_genesys", "agreed")


class PushRefused(ValueError):
    """Some calibrations cannot be pushed; the message names each and why. Nothing was sent."""


@dataclass(frozen=True)
class PushResult:
    """What :func:`push_consensus` found and did.

    Attributes
    ----------
    calls : pandas.DataFrame
        One row per calibration with recorded agreed answers (:data:`PUSH_COLUMNS`): ``action``
        is ``would send`` (dry run), ``sent`` or ``already in Genesys``; ``set_scoring_index``
        says whether the calibration's scoring index is (or would be) pointed at the evaluation.
    changes : pandas.DataFrame
        Question by question, in words, what is (or would be) sent (:data:`CHANGE_COLUMNS`):
        the answer Genesys holds and the agreed one.
    sent : int
        Evaluations updated by this run.
    """

    calls: pd.DataFrame
    changes: pd.DataFrame
    sent: int


@dataclass
class _Call:
    calibration_id: str
    conversation_id: str
    label: str
    expert: str
    calibrator_id: str
    evaluation_id: str
    form_id: str
    agreed: dict[str, str]
    original: dict[str, str]


def push_consensus(client: Any, store: Any, *, team: str, months: Iterable[str] | None = None,
                   calls: Iterable[str] | None = None, send: bool = False,
                   now: datetime | None = None) -> PushResult:
    """Check, list and (with ``send=True``) write the agreed answers back to Genesys.

    Parameters
    ----------
    client : calib.genesys.GenesysClient
    store : calib.store.Store
    team : str
    months : iterable of str, optional
        ``YYYY-MM`` months; every stored month by default.
    calls : iterable of str, optional
        Only these calls: conversation or calibration ids, or their first characters (at least
        3). A named call without recorded agreed answers is refused.
    send : bool
        Default False: read and list only.
    now : datetime, optional
        When the push happens, for the note in the evaluation (the backend's clock).

    Returns
    -------
    PushResult

    Raises
    ------
    PushRefused
        Listing every calibration that cannot be pushed and why; nothing is sent.
    """
    months = [check_month(m) for m in months] if months else None
    stored = store.calibrations(team)
    if months:
        stored = stored[stored["month"].isin(months)]
    consensus = store.consensus(team)
    consensus = consensus[consensus["calibration_id"].isin(stored["calibration_id"])]
    wanted = _named_calls(stored, calls) if calls else None
    in_scope = sorted(set(consensus["calibration_id"]) if wanted is None else wanted)
    scores = store.scores(team, months)
    answers = store.answers(team, months)
    names = dict(zip(store.users()["user_id"], store.users()["name"]))
    problems: list[str] = []
    prepared: list[_Call] = []
    for cal_id in in_scope:
        row = stored[stored["calibration_id"] == cal_id].iloc[0]
        label = (f"{names.get(row['agent_id'], str(row['agent_id'])[:8])} · "
                 f"{str(row['conversation_id'])[:8]}")
        call, problem = _prepare(store, row, label, names,
                                 scores[scores["calibration_id"] == cal_id],
                                 answers[answers["calibration_id"] == cal_id],
                                 consensus[consensus["calibration_id"] == cal_id])
        if problem:
            problems.append(problem)
        else:
            prepared.append(call)
    rows, changes, bodies = [], [], []
    forms: dict[str, dict] = {}
    for call in prepared:
        found, problem = _compare(client, store, call, forms)
        if problem:
            problems.append(problem)
            continue
        row, call_changes, body, cal_body = found
        rows.append(row)
        changes += call_changes
        bodies.append((call, row, body, cal_body))
    if problems:
        raise PushRefused(f"{len(problems)} calibration(s) cannot be pushed, so nothing was "
                          f"sent: " + " ".join(problems)
                          + ("" if len(problems) == len(in_scope) else
                             f" The other {len(in_scope) - len(problems)} can be pushed on "
                             f"their own with --call."))
    sent = 0
    if send:
        note = (f"{CONSENSUS_MARK} These are the answers the calibration panel agreed on"
                + (f" (pushed {now:%Y-%m-%d %H:%M} UTC)" if now is not None else "")
                + "; the expert's own answers are kept in calib's store.")
        for call, row, body, cal_body in bodies:
            if body is not None:
                body["answers"]["privateComments"] = note
                answer = client.update_evaluation(call.conversation_id, call.evaluation_id, body)
                held = _categories(answer)
                if {q: held.get(q) for q in call.agreed} != call.agreed:
                    raise RuntimeError(
                        f"Genesys answered the push of call {call.label} with other answers "
                        f"than were sent; check the evaluation {call.evaluation_id} in Genesys "
                        f"and rerun calib consensus push.")
                sent += 1
            if cal_body is not None:
                client.update_calibration(call.calibration_id, cal_body)
            row["action"] = "sent" if body is not None or cal_body is not None else row["action"]
    return PushResult(pd.DataFrame(rows, columns=list(PUSH_COLUMNS)),
                      pd.DataFrame(changes, columns=list(CHANGE_COLUMNS)), sent)


def _named_calls(stored: pd.DataFrame, calls: Iterable[str]) -> list[str]:
    out = []
    for typed in calls:
        text = str(typed).strip().lower()
        hits = stored[(stored["calibration_id"].str.lower() == text)
                      | (stored["conversation_id"].fillna("").str.lower() == text)]
        if hits.empty and len(text) >= 3:
            hits = stored[stored["calibration_id"].str.lower().str.startswith(text)
                          | stored["conversation_id"].fillna("").str.lower().str.startswith(text)]
        if len(hits) != 1:
            raise PushRefused(f"--call {typed!r} names {'no' if hits.empty else len(hits)} "
                              f"stored call(s) of the team; give more of the conversation id as "
                              f"the agenda shows it, or the calibration id.")
        out.append(str(hits["calibration_id"].iloc[0]))
    return list(dict.fromkeys(out))


def _prepare(store: Any, row: Any, label: str, names: Mapping[str, str], scores: pd.DataFrame,
             answers: pd.DataFrame, consensus: pd.DataFrame) -> tuple[_Call | None, str | None]:
    """The agreed answers of one call from the store, or the sentence why it cannot be pushed."""
    cal_id = str(row["calibration_id"])
    if consensus.empty:
        return None, (f"Call {label} has no agreed answer recorded; record them with calib "
                      f"consensus record, or leave it out of --call.")
    finished = scores[(scores["status"] == "FINISHED") & scores["total_score"].notna()]
    expert = finished[finished["role"] == "expert"]
    if expert.empty:
        return None, (f"Call {label} has no finished expert evaluation in the store; the "
                      f"agreed answers are written into the expert's evaluation (the scoring "
                      f"index), so sync the month first (calib sync).")
    expert_row = expert.iloc[0]
    form_id = str(expert_row["form_id"])
    mine = answers[answers["evaluator_id"].isin(finished["evaluator_id"])]
    disputed = {str(q) for q, rows in mine.groupby("question_id")
                if len({c for c in map(answer_category, rows.itertuples(index=False))
                        if c is not None}) > 1}
    recorded = {str(q): (NA_CATEGORY if bool(na) else str(a)) for q, a, na in
                zip(consensus["question_id"], consensus["answer_id"], consensus["marked_na"])}
    texts = dict(zip(mine["question_id"].astype(str), mine["question_text"]))
    missing = sorted(disputed - set(recorded), key=lambda q: str(texts.get(q)))
    if missing:
        listed = "; ".join(repr(str(texts.get(q) or q)) for q in missing)
        return None, (f"Call {label} has no agreed answer for {len(missing)} disputed "
                      f"question(s): {listed}; record them with calib consensus record.")
    agreed = {**filled_answers(mine, "expert"), **recorded}
    try:
        form = form_from_store(store, form_id)
        score_evaluation(form, agreed)
    except ValueError as exc:
        return None, f"Call {label}: the agreed answers do not fit the form ({exc})"
    own = mine[mine["evaluation_id"] == expert_row["evaluation_id"]]
    original = {str(r.question_id): answer_category(r) for r in own.itertuples(index=False)}
    return _Call(cal_id, str(row["conversation_id"]), label,
                 names.get(expert_row["evaluator_id"], str(expert_row["evaluator_id"])),
                 str(row["calibrator_id"]), str(expert_row["evaluation_id"]), form_id,
                 agreed, {q: c for q, c in original.items() if c is not None}), None


def _categories(evaluation: Mapping[str, Any]) -> dict[str, str]:
    """Question id → ``N/A`` or answer id, from an evaluation's ``answers``."""
    out = {}
    for group in (evaluation.get("answers") or {}).get("questionGroupScores") or ():
        for score in group.get("questionScores") or ():
            if score.get("markedNA") or score.get("systemMarkedNA") or group.get("markedNA"):
                out[score["questionId"]] = NA_CATEGORY
            elif score.get("answerId"):
                out[score["questionId"]] = str(score["answerId"])
    return out


def _form_shape(form: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    return {str(q["id"]): tuple(sorted(str(o["id"]) for o in q.get("answerOptions") or ()))
            for g in form.get("questionGroups") or () for q in g.get("questions") or ()}


def _compare(client: Any, store: Any, call: _Call, forms: dict[str, dict]) -> tuple[Any, Any]:
    """Read the call's calibration, expert evaluation and form in Genesys; compare them with the
    agreed answers. Returns ((row, changes, evaluation body or None, calibration body or None),
    None), or (None, the sentence why it cannot be pushed)."""
    cal = client.get_calibration(call.calibration_id, calibrator_id=call.calibrator_id)
    ev = client.get_evaluation(call.conversation_id, call.evaluation_id)
    if ev.get("status") != "FINISHED":
        return None, (f"Call {call.label}: the expert's evaluation is {ev.get('status')} in "
                      f"Genesys; sync the month (calib sync) and check it.")
    form_id = ref(ev.get("evaluationForm"))
    if form_id != call.form_id:
        return None, (f"Call {call.label}: the expert's evaluation is on form version "
                      f"{form_id} in Genesys, not {call.form_id} as stored; the form changed, "
                      f"so sync the month and record the agreed answers on the new form.")
    if form_id not in forms:
        forms[form_id] = client.get_evaluation_form(form_id)
    stored_form = form_from_store(store, form_id)
    if _form_shape(forms[form_id]) != _form_shape(stored_form):
        return None, (f"Call {call.label}: form version {form_id} in Genesys has other "
                      f"questions or answers than the store holds; the form changed, so sync "
                      f"the month (calib sync) and check the agreed answers again.")
    held = _categories(ev)
    text = _words(forms[form_id])
    changed = [q for q, agreed in call.agreed.items() if held.get(q) != agreed]
    pushed_before = is_consensus_push(ev)
    if changed and not pushed_before and held != call.original:
        differ = sum(held.get(q) != c for q, c in call.original.items())
        return None, (f"Call {call.label}: the expert's evaluation changed in Genesys since the "
                      f"last sync ({differ} answer(s) differ from the store); sync the month "
                      f"(calib sync) so the store keeps the expert's own answers, then push.")
    index_id = ref(cal.get("scoringIndex"))
    cal_body = None
    if index_id != call.evaluation_id:
        cal_body = {k: v for k, v in cal.items() if k != "selfUri"}
        cal_body["scoringIndex"] = {"id": call.evaluation_id}
    body = _evaluation_body(ev, forms[form_id], call, text) if changed else None
    form = forms[form_id]
    row = {"calibration_id": call.calibration_id, "conversation_id": call.conversation_id,
           "call": call.label, "expert": call.expert, "evaluation_id": call.evaluation_id,
           "action": "would send" if body is not None or cal_body is not None
           else "already in Genesys", "n_changed": len(changed),
           "expert_score": float((ev.get("answers") or {}).get("totalScore", float("nan"))),
           "agreed_score": score_evaluation(form, call.agreed).total_score,
           "set_scoring_index": cal_body is not None}
    changes = [{"calibration_id": call.calibration_id, "call": call.label,
                "question": text.get(q, q), "in_genesys": text.get(held.get(q), held.get(q)),
                "agreed": text.get(call.agreed[q], call.agreed[q])} for q in changed]
    return (row, changes, body, cal_body), None


def _words(form: Mapping[str, Any]) -> dict[str, str]:
    """Question and answer ids → their text on the form (``N/A`` stays ``N/A``)."""
    out = {NA_CATEGORY: NA_CATEGORY}
    for group in form.get("questionGroups") or ():
        for q in group.get("questions") or ():
            out[str(q["id"])] = str(q.get("text") or q["id"])
            for o in q.get("answerOptions") or ():
                out[str(o["id"])] = str(o.get("text") or o["id"])
    return out


def _evaluation_body(ev: Mapping[str, Any], form: Mapping[str, Any], call: _Call,
                     text: Mapping[str, str]) -> dict[str, Any]:
    """The evaluation as Genesys returned it, with the agreed answers: a changed question's
    comment says what was agreed and what the expert had answered."""
    held = _categories(ev)
    comments = {s["questionId"]: s.get("comments")
                for g in (ev.get("answers") or {}).get("questionGroupScores") or ()
                for s in g.get("questionScores") or ()}
    groups = []
    for group in form.get("questionGroups") or ():
        scores = []
        for q in group.get("questions") or ():
            qid = str(q["id"])
            agreed = call.agreed.get(qid)
            if agreed is None:
                continue
            comment = comments.get(qid)
            if held.get(qid) != agreed:
                before = text.get(held.get(qid), "no answer") if held.get(qid) else "no answer"
                comment = (f"Agreed in calibration: {text.get(agreed, agreed)} (the expert "
                           f"answered {before}" + (f": {comment}" if comment else "") + ").")
            scores.append({"questionId": qid, "markedNA": agreed == NA_CATEGORY,
                           **({} if agreed == NA_CATEGORY else {"answerId": agreed}),
                           **({"comments": comment} if comment else {})})
        groups.append({"questionGroupId": str(group["id"]), "markedNA": False,
                       "questionScores": scores})
    answers = {"questionGroupScores": groups}
    overall = (ev.get("answers") or {}).get("comments")
    if overall:
        answers["comments"] = overall
    body = {k: v for k, v in ev.items() if k not in ("selfUri", "answers")}
    body["answers"] = answers
    return body

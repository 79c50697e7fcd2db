"""Hand-picked conversations and disputed evaluations in a session (``calib select --include``).

A lead names a conversation (``CONVERSATION_ID``) or an existing evaluation to calibrate
(``CONVERSATION_ID/EVALUATION_ID``, the pair the Genesys Cloud evaluation page shows). Each is read
from the org (``GET /api/v2/analytics/conversations/{id}/details``; for an evaluation also ``GET
/api/v2/quality/conversations/{id}/evaluations/{id}``), described with the same columns as a
selected candidate, and goes first in the plan; selection fills the rest of the session. For an
evaluation its evaluator's score is kept in the plan as the *original*, so the session shows how
the panel's score compares with the one disputed; the conversation itself is reused.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from calib.genesys import errors
from calib.selection import CANDIDATE_COLUMNS
from calib.selection.reducer import CandidateReducer, GrayPriors, Rules

__all__ = ["INCLUDED_COLUMNS", "parse_include", "included_candidates"]

#: Candidate columns plus what an included evaluation brings.
INCLUDED_COLUMNS = (*CANDIDATE_COLUMNS, "original_evaluation_id", "original_evaluator_id",
                    "original_score", "original_form_id", "original_evaluator_name")

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_WHY = {"media_or_recording": "is a voice call without an audio recording, or of a media type "
                              "the session does not calibrate",
        "no_agent": "has no agent participant to calibrate",
        "outside_range": "is outside the range", "talk_time": "has no talk time"}


def parse_include(item: str) -> tuple[str, str | None]:
    """``"CONV"`` → ``(CONV, None)``; ``"CONV/EVAL"`` (or ``CONV:EVAL``) → ``(CONV, EVAL)``.

    Raises
    ------
    ValueError
        For an empty item or one that is not one or two ids.
    """
    text = str(item).strip()
    parts = re.split(r"[/:]", text)
    if not text or len(parts) > 2 or not all(_ID.match(p) for p in parts):
        raise ValueError(f"--include {item!r} is not a conversation id or a "
                         f"CONVERSATION_ID/EVALUATION_ID pair; copy the ids from Genesys Cloud "
                         f"(the evaluation page shows both).")
    return parts[0], (parts[1] if len(parts) == 2 else None)


def _describe(conv: Mapping[str, Any], media_types: Iterable[str] | None) -> dict[str, Any] | str:
    """The candidate row of one conversation-details record, or why it cannot be calibrated."""
    media = None if media_types is None else tuple(media_types)
    rules = Rules(media_type=media, min_talk_ms=0, w_gray=0.0, w_random=0.0)
    reducer = CandidateReducer(rules, GrayPriors(), seed=0, keep_per_stratum=1)
    # A hand-picked call may have been evaluated or calibrated before: that is the point.
    reducer.add({k: v for k, v in conv.items() if k != "evaluations"})
    records = reducer.records()
    if not records:
        step = next(k for k, v in reducer.removed.items() if v)
        return _WHY.get(step, f"failed the rule {step}")
    r = records[0][1]
    return {"conversation_id": r.conversation_id, "agent_id": r.agent_id, "queue_id": r.queue_id,
            "queue_name": reducer.names.get(r.queue_id), "media_type": r.media_type,
            "talk_ms": r.talk_ms, "hold_ms": r.hold_ms, "handle_ms": r.handle_ms,
            "handle_band": r.handle_band, "transferred": r.transferred,
            "wrap_up_code": r.wrap_up_code, "priority": math.nan,
            "wrap_up_name": None}


def included_candidates(client: Any, items: Iterable[str], *, form_id: str | None = None,
                        names: Mapping[str, str] | None = None,
                        media_types: Iterable[str] | None = None) -> pd.DataFrame:
    """The conversations and evaluations named by ``items``, as candidate rows.

    Parameters
    ----------
    client : calib.genesys.GenesysClient
    items : iterable of str
        ``CONVERSATION_ID`` or ``CONVERSATION_ID/EVALUATION_ID`` (see :func:`parse_include`).
    form_id : str, optional
        The session's form version: an evaluation scored on another form (another
        ``contextId``) is refused, since a calibration compares scores on one form.
    names : mapping, optional
        Queue and wrap-up code names by id (``client.routing_names()`` when not given).
    media_types : iterable of str, optional
        The media types the session calibrates (None: any that can be scored).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`INCLUDED_COLUMNS`, in the order given; ``reason`` says who asked for it.

    Raises
    ------
    ValueError
        Naming every item that cannot be included (unknown conversation or evaluation, no
        recording or transcript, an unfinished evaluation, another form, a repeat).
    """
    parsed = [parse_include(i) for i in items]
    if not parsed:
        return pd.DataFrame(columns=list(INCLUDED_COLUMNS))
    if names is None:
        names = client.routing_names() if hasattr(client, "routing_names") else {}
    form_context = None
    if form_id:
        form_context = client.get_evaluation_form(form_id).get("contextId")
    problems, rows, seen = [], [], set()
    for conversation_id, evaluation_id in parsed:
        if conversation_id in seen:
            problems.append(f"Conversation {conversation_id} is included twice; name it once.")
            continue
        seen.add(conversation_id)
        try:
            conv = client.get_conversation_details(conversation_id)
        except errors.NotFoundError:
            problems.append(f"Conversation {conversation_id} does not exist in the org (or this "
                            f"OAuth client may not see it); check the id.")
            continue
        row = _describe(conv, media_types)
        if isinstance(row, str):
            problems.append(f"Conversation {conversation_id} {row}; it cannot be calibrated.")
            continue
        row.update(queue_name=row["queue_name"] or names.get(row["queue_id"]),
                   wrap_up_name=names.get(row["wrap_up_code"]) if row["wrap_up_code"] else None,
                   original_evaluation_id=None, original_evaluator_id=None,
                   original_score=math.nan, original_form_id=None,
                   original_evaluator_name=None,
                   reason="included by hand (--include)")
        if evaluation_id is not None:
            try:
                ev = client.get_evaluation(conversation_id, evaluation_id,
                                           expand=["evaluator", "evaluationForm"])
            except errors.NotFoundError:
                problems.append(f"Evaluation {evaluation_id} of conversation {conversation_id} "
                                f"does not exist; check both ids.")
                continue
            status = str(ev.get("status") or "").upper()
            score = (ev.get("answers") or {}).get("totalScore")
            if status != "FINISHED" or score is None:
                problems.append(f"Evaluation {evaluation_id} is {status or 'without a status'}, "
                                f"not FINISHED; only a finished evaluation has a score to "
                                f"calibrate against.")
                continue
            form = ev.get("evaluationForm") or {}
            if form_context and form.get("contextId") and form["contextId"] != form_context:
                problems.append(f"Evaluation {evaluation_id} was scored on the form "
                                f"{form.get('name') or form.get('id')!r}, not the session's; a "
                                f"calibration compares scores on one form: select with that "
                                f"form (form_name) or leave the evaluation out.")
                continue
            evaluator = ev.get("evaluator") or {}
            agent = (ev.get("agent") or {}).get("id")
            row.update(original_evaluation_id=str(ev["id"]),
                       original_evaluator_id=evaluator.get("id"),
                       original_evaluator_name=evaluator.get("name"),
                       original_score=float(score), original_form_id=form.get("id"),
                       agent_id=agent or row["agent_id"],
                       reason=(f"included by hand to calibrate evaluation {ev['id']} by "
                               f"{evaluator.get('name') or evaluator.get('id')} (original score "
                               f"{float(score):.1f})"))
        rows.append(row)
    if problems:
        raise ValueError(f"{len(problems)} of the {len(parsed)} included item(s) cannot be "
                         f"calibrated: " + " ".join(problems))
    return pd.DataFrame(rows, columns=list(INCLUDED_COLUMNS))

"""Sync one team's month of calibrations from the Quality API into the history store.

:func:`calib.genesys.month.read_month` reads the month in a handful of requests and turns its
JSON into tidy rows; this module names the calibrators, groups calibrations into the saved
session whose plan lists their conversation (else ``"<team>/<YYYY-MM>"``) and upserts the month.

A sync is incremental. Every sync lists the month's calibrations (one request per calibrator
and 100 calibrations); the listing carries each evaluation's status and ``changedDate`` (which
moves whenever an evaluation is started, finished, rescored or retracted), its answers where the
API fills them in, and which calibrations still exist. A digest of that listing, of the
calibrators asked and of the saved sessions' plans is recorded with every sync
(:meth:`calib.store.Store.record_run`, kind ``"sync"``). When the next sync lists the same
digest and the store still holds the same calibrations from the API, nothing in the month
changed since: the forms, the people, the missing answers and the whole upsert are skipped, and
:attr:`SyncResult.up_to_date` says so. Anything else (an evaluation changed, added or deleted,
a calibration deleted, a plan saved, other calibrators) re-reads the month and upserts it as
before, and ``full=True`` always does. The first sync of a month finds no digest and reads it
all.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from calib.ai.tables import ai_answers_frame, ai_runs_frame
from calib.genesys.ai_scoring import ai_rows
from calib.genesys.month import find_users, list_calibrations, read_month
from calib.store.convert import check_month, check_team
from calib.tables import answers_frame, scores_frame

#: Recorded with each sync's digest; bump it whenever the rows a listing turns into change
#: (new columns, another reading of the JSON), so stores synced before are read again.
SYNC_FORMAT = 1
#: The kind of the run :func:`sync_month` records in the store.
RUN_KIND = "sync"

__all__ = ["SyncResult", "sync_month", "sync_months"]


@dataclass(frozen=True)
class SyncResult:
    """What :func:`sync_month` read and what the store changed.

    Attributes
    ----------
    calibrations, evaluations, answers : int
        Counts read from the API for the month.
    inserted, updated, unchanged : int
        Stored rows (see :class:`calib.store.UpsertResult`); a repeated sync inserts and
        updates nothing.
    deleted : int
        Stored rows removed because the API no longer lists their calibration.
    gate_closed : int
        Calibrations of the month whose scores stay sealed (still waiting for evaluations).
    removed_calibrations : tuple of str
        Calibrations removed from the store because the API no longer lists them.
    ai_runs, ai_answers : int
        Evaluations with AI scoring and AI answers (``aiAnswer``) read for the month.
    ai_changed : int
        Stored AI rows inserted, updated or deleted (:meth:`calib.store.Store.upsert_ai`).
    pushed_without_original : int
        Evaluations rescored by ``calib consensus push`` whose own answers the store never held
        (kept FINISHED without a score: the agreed answers are not the evaluator's).
    up_to_date : bool
        True when the month's listing was the one the store was last synced from, so nothing
        but the listing was read and nothing written (the counts are those of that sync, and
        every stored row is ``unchanged``).
    """

    calibrations: int
    evaluations: int
    answers: int
    inserted: int
    updated: int
    unchanged: int
    gate_closed: int
    deleted: int = 0
    removed_calibrations: tuple[str, ...] = ()
    ai_runs: int = 0
    ai_answers: int = 0
    ai_changed: int = 0
    pushed_without_original: int = 0
    up_to_date: bool = False


def sync_month(client: Any, store: Any, *, team: str, month: str,
               calibrator_ids: Iterable[str] | None = None,
               calibrators: Iterable[str] | None = None, full: bool = False) -> SyncResult:
    """Read ``team``'s calibrations created in ``month`` and upsert them into ``store``.

    Parameters
    ----------
    client : calib.genesys.GenesysClient
        A logged-in client (or the sandbox's).
    store : calib.store.Store
    team : str
    month : str
        ``"YYYY-MM"``; a calibration belongs to the month of its ``createdDate`` (UTC).
    calibrator_ids : iterable of str, optional
        The team's calibrators by user id (the API lists calibrations per calibrator).
    calibrators : iterable of str, optional
        The same by email or id (as parameter files name them); resolved with
        :func:`calib.genesys.month.find_users`. Give this or ``calibrator_ids`` (or both).
    full : bool
        Read and upsert the whole month even when its listing is the one last synced (see the
        module docstring).

    Returns
    -------
    SyncResult
        Re-running a sync of unchanged data inserts, updates and deletes nothing (and reads
        only the listing); a rescored evaluation updates its rows.

    Raises
    ------
    ValueError
        For a bad team or month, or no calibrator.
    """
    team, month = check_team(team), check_month(month)
    ids = [str(c) for c in (calibrator_ids or ())]
    if calibrators:
        ids += [u["id"] for u in find_users(client, list(calibrators))]
    ids = list(dict.fromkeys(ids))
    if not ids:
        raise ValueError("sync_month needs the team's calibrators: pass calibrator_ids= (user "
                         "ids) or calibrators= (emails or ids).")
    # Two syncs of one month at once must not record a digest of what the other one wrote.
    with store.lock(f"sync:{team}:{month}", wait=120, purpose=f"syncing {team} {month}"):
        return _sync_locked(client, store, team, month, ids, full)


def _sync_locked(client: Any, store: Any, team: str, month: str, ids: list[str],
                 full: bool) -> SyncResult:
    started = datetime.now(timezone.utc)
    listed = list_calibrations(client, ids, month)
    plans = store.sessions(team, month)
    sessions = {conv: name for name, convs in zip(plans["session_id"], plans["conversation_ids"])
                for conv in convs}
    digest = listing_digest(listed, ids, sessions)
    last = None if full else _last_sync(store, team, month, digest)
    gate = None if last is None else store.gate(team, month)
    if last is not None and _store_holds(store, team, month, listed, gate):
        return SyncResult(calibrations=len(listed), evaluations=_n_evaluations(listed),
                          answers=last["answers"], inserted=0, updated=0,
                          unchanged=last["rows"], gate_closed=int((~gate["open"]).sum()),
                          ai_runs=last["ai_runs"], ai_answers=last["ai_answers"],
                          up_to_date=True)

    data = read_month(client, ids, month, listed=listed)
    score_rows, answer_rows, records = data.tidy(team, month, sessions)
    score_rows, answer_rows, lost = _keep_originals(store, team, month, data.consensus_pushes(),
                                                    score_rows, answer_rows)
    result = store.upsert_month(team, month, scores_frame(score_rows), answers_frame(answer_rows),
                                forms=data.forms.values(), users=data.users,
                                calibrations=records, source="api")
    ai_runs, ai_answers = _ai_frames(data.evaluations.values(), score_rows)
    ai_counts = store.upsert_ai(team, month, ai_runs, ai_answers, source="api")
    gate = store.gate(team, month)
    synced = SyncResult(calibrations=len(data.calibrations), evaluations=len(data.evaluations),
                        answers=len(answer_rows), inserted=result.inserted,
                        updated=result.updated, unchanged=result.unchanged,
                        gate_closed=int((~gate["open"]).sum()), deleted=result.deleted,
                        removed_calibrations=result.removed_calibrations,
                        ai_runs=len(ai_runs), ai_answers=len(ai_answers),
                        ai_changed=sum(c[k] for c in ai_counts.values()
                                       for k in ("inserted", "updated", "deleted")),
                        pushed_without_original=lost)
    # Recorded last: a sync that failed before this point leaves the previous digest (or
    # none), so the next sync reads the month again.
    detail = {"format": SYNC_FORMAT, "calibrations": synced.calibrations,
              "evaluations": synced.evaluations, "answers": synced.answers,
              "rows": result.inserted + result.updated + result.unchanged,
              "ai_runs": synced.ai_runs, "ai_answers": synced.ai_answers}
    store.record_run(RUN_KIND, team, month, digest, "ok", started_at=started,
                     finished_at=datetime.now(timezone.utc), detail=json.dumps(detail))
    return synced


def _keep_originals(store: Any, team: str, month: str, pushed: set[str],
                    score_rows: list[dict], answer_rows: list[dict]
                    ) -> tuple[list[dict], list[dict], int]:
    """The month's rows with each evaluation ``calib consensus push`` rescored replaced by the
    rows the store holds for it: the evaluator's own answers from before the push, which the
    report compares with the agreed ones. Where the store holds none (a store synced only after
    the push) the evaluation stays FINISHED without a score or answers, and is counted."""
    if not pushed:
        return score_rows, answer_rows, 0
    stored = store.scores(team, month, include_sealed=True)
    stored = stored[stored["evaluation_id"].isin(pushed)]
    kept = set(stored["evaluation_id"])
    answers = store.answers(team, month)
    answers = answers[answers["evaluation_id"].isin(kept)]
    scores = [r for r in score_rows if r["evaluation_id"] not in kept]
    for r in scores:
        if r["evaluation_id"] in pushed:
            r.update(total_score=math.nan, critical_score=math.nan, any_failed_kill=False)
    scores += [{k: r[k] for k in score_rows[0]} for r in stored.to_dict("records")]
    answer_rows = [r for r in answer_rows if r["evaluation_id"] not in pushed]
    if answer_rows or len(answers):
        columns = list(answer_rows[0]) if answer_rows else list(answers.columns)
        answer_rows += [{k: r.get(k) for k in columns} for r in answers.to_dict("records")]
    return scores, answer_rows, len(pushed - kept)


def listing_digest(listed: Sequence[Mapping], calibrator_ids: Iterable[str],
                   sessions: Mapping[str, str]) -> str:
    """A digest of what a month's sync is made of: the calibrations as listed (evaluations,
    their status, ``changedDate`` and answers included), the calibrators asked and the saved
    sessions' claims on conversations. Equal digests make equal stored rows."""
    basis = {"format": SYNC_FORMAT, "calibrators": sorted(set(map(str, calibrator_ids))),
             "sessions": sorted(sessions.items()),
             "calibrations": sorted(listed, key=lambda c: str(c.get("id")))}
    text = json.dumps(basis, sort_keys=True, default=str, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _n_evaluations(listed: Sequence[Mapping]) -> int:
    """Evaluations in a listing, counted as :func:`calib.genesys.month.read_month` keeps them."""
    return sum(1 for cal in listed for ev in cal.get("evaluations") or ()
               if isinstance(ev, Mapping) and ev.get("id") and ev.get("status") is not None)


def _last_sync(store: Any, team: str, month: str, digest: str) -> dict | None:
    """The detail of the month's last sync when it was made from a listing of this digest."""
    runs = store.runs(kind=RUN_KIND, team=team, month=month)
    runs = runs[runs["status"] == "ok"]
    if runs.empty or runs["params_digest"].iloc[-1] != digest:
        return None
    try:
        detail = json.loads(runs["detail"].iloc[-1] or "")
    except ValueError:
        return None
    if not isinstance(detail, dict) or detail.get("format") != SYNC_FORMAT:
        return None
    return detail


def _store_holds(store: Any, team: str, month: str, listed: Sequence[Mapping],
                 gate: pd.DataFrame) -> bool:
    """Whether the store still holds the listed calibrations from the API, with as many
    finished evaluations as the listing shows (a restored file or another writer would have
    changed them since the last sync); read from tables the sync reads anyway."""
    stored = store.calibrations(team, month)
    held = set(stored.loc[stored["source"] == "api", "calibration_id"])
    if held != {str(c.get("id")) for c in listed}:
        return False
    finished = sum(1 for cal in listed for ev in cal.get("evaluations") or ()
                   if isinstance(ev, Mapping) and ev.get("status") == "FINISHED")
    return int(gate.loc[gate["calibration_id"].isin(held), "n_finished"].sum()) == finished


_KEYS = ("team", "month", "session_id", "calibration_id", "conversation_id", "evaluation_id",
         "evaluator_id", "role", "form_id")


def _ai_frames(evaluations: Iterable[dict], score_rows: list[dict]
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The month's ``ai_runs`` and ``ai_answers`` with each evaluation's keys from its scores
    row (written after the month's evaluations, in a second transaction: a rerun repairs a
    failure between the two)."""
    runs, answers = ai_rows(evaluations)
    keys = {r["evaluation_id"]: {k: r[k] for k in _KEYS} for r in score_rows}
    return (ai_runs_frame([{**keys[r["evaluation_id"]], **r} for r in runs
                           if r["evaluation_id"] in keys]),
            ai_answers_frame([{**keys[a["evaluation_id"]], **a} for a in answers
                              if a["evaluation_id"] in keys]))


def sync_months(client: Any, store: Any, *, team: str, months: Iterable[str],
                calibrator_ids: Iterable[str] | None = None,
                calibrators: Iterable[str] | None = None, full: bool = False) -> pd.DataFrame:
    """:func:`sync_month` for several months; one row of :class:`SyncResult` fields per month.

    Calibrators named by email are resolved once, not once per month.
    """
    ids = [str(c) for c in (calibrator_ids or ())]
    if calibrators:
        ids += [u["id"] for u in find_users(client, list(calibrators))]
    rows = []
    for m in months:
        r = sync_month(client, store, team=team, month=m, calibrator_ids=ids, full=full)
        rows.append({"month": m, **{k: getattr(r, k) for k in SyncResult.__dataclass_fields__}})
    return pd.DataFrame(rows)

"""Sync one team's month of calibrations from the Quality API into the history store.

:func:`calib.genesys.month.read_month` reads the month in a handful of requests and turns its
JSON into tidy rows; this module names the calibrators, groups calibrations into the saved
session whose plan lists their conversation (else ``"<team>/<YYYY-MM>"``) and upserts the month.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import pandas as pd

from calib.genesys.month import find_users, read_month
from calib.store.convert import check_month, check_team
from calib.tables import answers_frame, scores_frame

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


def sync_month(client: Any, store: Any, *, team: str, month: str,
               calibrator_ids: Iterable[str] | None = None,
               calibrators: Iterable[str] | None = None) -> SyncResult:
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

    Returns
    -------
    SyncResult
        Re-running a sync of unchanged data inserts, updates and deletes nothing; a rescored
        evaluation updates its rows.

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
    data = read_month(client, ids, month)
    plans = store.sessions(team, month)
    sessions = {conv: name for name, convs in zip(plans["session_id"], plans["conversation_ids"])
                for conv in convs}
    score_rows, answer_rows, records = data.tidy(team, month, sessions)
    result = store.upsert_month(team, month, scores_frame(score_rows), answers_frame(answer_rows),
                                forms=data.forms.values(), users=data.users,
                                calibrations=records, source="api")
    gate = store.gate(team, month)
    return SyncResult(calibrations=len(data.calibrations), evaluations=len(data.evaluations),
                      answers=len(answer_rows), inserted=result.inserted,
                      updated=result.updated, unchanged=result.unchanged,
                      gate_closed=int((~gate["open"]).sum()), deleted=result.deleted,
                      removed_calibrations=result.removed_calibrations)


def sync_months(client: Any, store: Any, *, team: str, months: Iterable[str],
                calibrator_ids: Iterable[str] | None = None,
                calibrators: Iterable[str] | None = None) -> pd.DataFrame:
    """:func:`sync_month` for several months; one row of :class:`SyncResult` fields per month.

    Calibrators named by email are resolved once, not once per month.
    """
    ids = [str(c) for c in (calibrator_ids or ())]
    if calibrators:
        ids += [u["id"] for u in find_users(client, list(calibrators))]
    rows = []
    for m in months:
        r = sync_month(client, store, team=team, month=m, calibrator_ids=ids)
        rows.append({"month": m, **{k: getattr(r, k) for k in SyncResult.__dataclass_fields__}})
    return pd.DataFrame(rows)

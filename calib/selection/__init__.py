"""Candidate selection for calibration sessions: the selection wing.

Reads the conversation-details API in ≤ 7-day chunks (or one async job past the sync limits,
:mod:`~calib.selection.query`), streams every record through the bounded-memory
:class:`~calib.selection.reducer.CandidateReducer` under a focus profile's rules
(:mod:`~calib.selection.profiles`), and makes a seeded, stratified pick that prefers gray-area
interactions (:mod:`~calib.selection.pick`):

>>> sel = select_candidates(client, start="2026-10-01", end="2026-11-01", n=10,
...                         panel_ids=panel, calibrator_id=calibrator)   # doctest: +SKIP
>>> sel.candidates[["conversation_id", "agent_id", "reason"]]             # doctest: +SKIP
>>> sel.funnel                                                            # doctest: +SKIP

Query builders (:func:`chunk_interval`, :func:`segment_filters`, :func:`conversation_filters`,
:func:`details_query`) and the pick (:func:`stratified_pick`) are pure and testable alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from calib.genesys._util import iso
from calib.selection.pick import reason, stratified_pick
from calib.selection.profiles import load_profiles, profile_rules
from calib.selection.query import (ASYNC_AFTER_DAYS, MAX_SYNC_DAYS, chunk_interval, collect_ids,
                                   conversation_filters, details_query, recording_available,
                                   segment_filters, stream)
from calib.selection.reducer import FUNNEL_STEPS, CandidateReducer, GrayPriors, Record
from calib.values import parse_instant

__all__ = [
    "Selection", "SelectionError", "select_candidates", "load_profiles", "profile_rules",
    "chunk_interval", "segment_filters", "conversation_filters", "details_query",
    "stratified_pick", "recording_available", "parse_instant", "CANDIDATE_COLUMNS",
    "FUNNEL_COLUMNS", "MAX_SYNC_DAYS", "ASYNC_AFTER_DAYS",
]

CANDIDATE_COLUMNS = ("conversation_id", "agent_id", "queue_id", "queue_name", "media_type", "talk_ms", "hold_ms",
                     "handle_ms", "handle_band", "transferred", "wrap_up_code", "priority", "reason",
                     "wrap_up_name")
FUNNEL_COLUMNS = ("step", "remaining", "removed", "detail")
MIN_AGENTS = 3

class SelectionError(ValueError):
    """Selection cannot produce a valid set of candidates (for example fewer than 3 agents)."""


@dataclass(frozen=True)
class Selection:
    """Result of :func:`select_candidates`.

    Attributes
    ----------
    candidates : pandas.DataFrame
        One row per picked conversation, columns :data:`CANDIDATE_COLUMNS`, in pick order.
    funnel : pandas.DataFrame
        What each step removed: columns ``step, remaining, removed, detail``.
    """

    candidates: pd.DataFrame
    funnel: pd.DataFrame


def select_candidates(
    client: Any,
    *,
    start: str | date | datetime,
    end: str | date | datetime,
    n: int,
    focus: str = "general",
    panel_ids: Iterable[str] = (),
    calibrator_id: str | None = None,
    history: pd.DataFrame | None = None,
    seed: int = 0,
    profiles: str | Path | Mapping[str, Any] | None = None,
    use_async: bool | None = None,
    confirm_recordings: bool = True,
    page_size: int = 100,
    names: Mapping[str, str] | None = None,
    lookup_names: bool = True,
    exclude_ids: Iterable[str] = (),
) -> Selection:
    """Select ``n`` conversations for calibration, stratified and reproducible from ``seed``.

    Steps, each counted in ``funnel``: query the details API for recorded calls matching the
    focus profile; drop calls outside the range, without a recording flag, with too little talk,
    failing a focus rule, already calibrated (analytics record, the calibrator's listing, or
    ``history``), already evaluated by a panel member, or handled by one; keep the best calls per
    (agent, queue, handle band); pick greedily with at least 3 distinct agents and a spread of
    bands and queues; confirm each pick's recording through the recording-metadata API.

    Parameters
    ----------
    client : calib.genesys.GenesysClient
        The API client (real org or sandbox).
    start, end : str, date or datetime
        The conversation range [start, end), UTC; ``YYYY-MM-DD`` or ISO-8601.
    n : int
        How many candidates to pick (≥ 3, so that 3 agents can be represented).
    focus : str
        Name of a focus profile (built-in: general, empathy_handling, escalation_process,
        compliance_phrases; more through ``profiles``).
    panel_ids : iterable of str
        User ids of the panel (evaluators and expert).
    calibrator_id : str, optional
        The calibrator; their existing calibrations are excluded.
    history : pandas.DataFrame, optional
        A ``scores`` table from the store: gray-area priors, and its conversations are excluded.
    seed : int
        Seed of the tie-breaker: the same seed and data give the same candidates.
    profiles : str, Path or mapping, optional
        Extra focus profiles merged over the built-ins.
    use_async : bool, optional
        Force an async details job (True) or sync ≤ 7-day chunks (False); None uses an async job
        for ranges longer than 31 days (the sync iterator splits any chunk past the 100 000-result
        depth, so sync is always valid, merely more requests).
    confirm_recordings : bool
        Check each pick's recording metadata (recommended; the analytics flag only says that a
        recording was started).
    page_size : int
        Page size of the sync query (≤ 100).
    names : mapping, optional
        Display names of queue and wrap-up code ids (the API returns ids); profile patterns
        such as ``complaint`` match the id or its name. They win over the looked-up names.
    exclude_ids : iterable of str
        Conversations never to pick (those a lead included by hand); counted as already
        calibrated in the funnel.
    lookup_names : bool
        Ask the client for the org's queue and wrap-up code names (``client.routing_names()``,
        listed once per client and cached), so that focus patterns and reasons read names.

    Returns
    -------
    Selection
        ``candidates`` (columns :data:`CANDIDATE_COLUMNS`) and ``funnel``.

    Raises
    ------
    SelectionError
        When fewer than 3 distinct agents remain after every rule.
    ValueError
        For a bad argument (unknown focus, n < 3, end before start).

    References
    ----------
    Genesys Cloud Platform API, ``POST /api/v2/analytics/conversations/details/query`` and
    ``GET /api/v2/conversations/{id}/recordingmetadata`` (see ``genesys-api.md`` §6–7).
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < MIN_AGENTS:
        raise ValueError(f"n must be an integer of at least {MIN_AGENTS} so that {MIN_AGENTS} "
                         f"agents can be represented; got {n!r}.")
    t0, t1 = parse_instant(start, what="start"), parse_instant(end, what="end")
    chunk_interval(t0, t1)  # validates the order
    catalogue = load_profiles(profiles)
    if focus not in catalogue:
        raise ValueError(f"Unknown focus {focus!r}; choose one of {sorted(catalogue)} or add it "
                         f"to a profiles YAML file.")
    rules = profile_rules(catalogue[focus], name=focus)
    panel = [str(p) for p in panel_ids]
    if lookup_names and hasattr(client, "routing_names"):
        names = {**client.routing_names(), **dict(names or {})}
    priors = GrayPriors.from_history(history, gray_band=rules.gray_band,
                                     dispute_range=rules.dispute_range)

    calibrated: set[str] = set()
    if calibrator_id:
        calibrated |= collect_ids(client.iter_calibrations(calibrator_id, start_time=iso(t0)))
    calibrated |= {str(c) for c in exclude_ids}
    if history is not None and len(history) and "conversation_id" in history.columns:
        calibrated |= set(history["conversation_id"].dropna().astype(str))
    panel_evaluated: set[str] = set()
    for member in panel:
        panel_evaluated |= collect_ids(client.iter_evaluations(
            evaluator_user_id=member, start_time=iso(t0), expand_answer_total_scores=False))

    reducer = CandidateReducer(rules, priors, seed=seed, keep_per_stratum=n, panel_ids=panel,
                               calibrated_ids=calibrated, evaluated_ids=panel_evaluated,
                               names=names)
    n_chunks, used_async = stream(client, reducer, t0, t1, rules, use_async, page_size)
    ranked = reducer.records()

    def confirm(rec: Record) -> bool:
        return recording_available(client.get_recording_metadata(rec.conversation_id),
                                   rec.media_type or "voice")

    picked, rejected = stratified_pick(ranked, n, confirm=confirm if confirm_recordings else None,
                                       names=reducer.names)
    rows = [{"conversation_id": r.conversation_id, "agent_id": r.agent_id, "queue_id": r.queue_id,
             "queue_name": reducer.names.get(r.queue_id),
             "media_type": r.media_type, "talk_ms": r.talk_ms, "hold_ms": r.hold_ms,
             "handle_ms": r.handle_ms, "handle_band": r.handle_band, "transferred": r.transferred,
             "wrap_up_code": r.wrap_up_code, "priority": r.priority,
             "reason": reason(r, rules, priors, notes, reducer.names),
             "wrap_up_name": reducer.names.get(r.wrap_up_code) if r.wrap_up_code else None}
            for r, notes in picked]
    candidates = pd.DataFrame(rows, columns=list(CANDIDATE_COLUMNS))
    candidates = candidates.astype({"talk_ms": "int64", "hold_ms": "int64", "handle_ms": "int64",
                                    "transferred": "bool", "priority": "float64"})
    funnel = _funnel(reducer, ranked, picked, rejected, n, n_chunks, used_async, focus)
    agents = candidates["agent_id"].nunique()
    if agents < MIN_AGENTS:
        raise SelectionError(
            f"Only {agents} distinct agent(s) remain after the selection rules, fewer than "
            f"{MIN_AGENTS}; widen the date range, choose a broader focus than {focus!r}, or shrink "
            f"the panel. Funnel: " + "; ".join(f"{s.step} {s.remaining}" for s in funnel.itertuples()))
    return Selection(candidates=candidates, funnel=funnel)


def _funnel(reducer: CandidateReducer, ranked: list, picked: list, rejected: list, n: int,
            n_chunks: int, used_async: bool, focus: str) -> pd.DataFrame:
    how = "one async details job" if used_async else f"{n_chunks} sync chunk(s) of ≤ 7 days"
    rows = [("returned by the details query", reducer.seen, 0, f"{how}, focus {focus!r}")]
    remaining = reducer.seen
    for key, detail in FUNNEL_STEPS:
        remaining -= reducer.removed[key]
        rows.append((key, remaining, reducer.removed[key], detail))
    rows.append(("kept_per_stratum", len(ranked), remaining - len(ranked),
                 f"best {n} per (agent, queue, handle band) stratum; the rest cannot be picked"))
    considered = len(picked) + len(rejected)
    rows.append(("recording_confirmed", len(ranked) - len(rejected), len(rejected),
                 f"recording metadata checked for {considered} pick(s); no playable audio for "
                 f"{len(rejected)}"))
    short = "" if len(picked) == n else f"; only {len(picked)} of the {n} requested were available"
    rows.append(("picked", len(picked), len(ranked) - len(rejected) - len(picked),
                 f"stratified pick: agents spread first, then handle bands and queues{short}"))
    return pd.DataFrame(rows, columns=list(FUNNEL_COLUMNS))

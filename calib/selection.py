"""Candidate selection for calibration sessions.

Reads the conversation-details API in ≤ 7-day chunks (or one async job past the sync limits),
streams every record through :class:`calib.selection_stream.CandidateReducer` (bounded memory),
and makes a seeded, stratified pick that prefers gray-area interactions:

>>> sel = select_candidates(client, start="2026-10-01", end="2026-11-01", n=10,
...                         panel_ids=panel, calibrator_id=calibrator)   # doctest: +SKIP
>>> sel.candidates[["conversation_id", "agent_id", "reason"]]             # doctest: +SKIP
>>> sel.funnel                                                            # doctest: +SKIP

Query builders (:func:`chunk_interval`, :func:`segment_filters`, :func:`conversation_filters`,
:func:`details_query`) and the pick (:func:`stratified_pick`) are pure and testable alone.
"""

from __future__ import annotations

import copy
import importlib.resources
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from calib.values import parse_instant
from calib.genesys._util import iso, split_interval
from calib.selection_stream import (DEFAULT_BANDS, FUNNEL_STEPS, CandidateReducer, GrayPriors,
                                    Record, Rules, label)

__all__ = [
    "Selection", "SelectionError", "select_candidates", "load_profiles", "profile_rules",
    "chunk_interval", "segment_filters", "conversation_filters", "details_query",
    "stratified_pick", "recording_available", "parse_instant", "CANDIDATE_COLUMNS",
    "FUNNEL_COLUMNS",
]

CANDIDATE_COLUMNS = ("conversation_id", "agent_id", "queue_id", "queue_name", "media_type", "talk_ms", "hold_ms",
                     "handle_ms", "handle_band", "transferred", "wrap_up_code", "priority", "reason")
FUNNEL_COLUMNS = ("step", "remaining", "removed", "detail")
MIN_AGENTS = 3
MAX_SYNC_DAYS = 7
ASYNC_AFTER_DAYS = 31
PLAYABLE_FILE_STATES = frozenset({"AVAILABLE", "ARCHIVED", "RESTORED"})

_FILTER_KEYS = {"media_type", "min_talk_seconds", "max_talk_seconds", "min_hold_seconds",
                "transferred", "queues", "wrap_up_codes", "handle_bands"}
_PRIORITY_KEYS = {"gray_area", "transferred", "hold", "queues", "wrap_up_codes", "handle_bands",
                  "randomness"}
_PROFILE_KEYS = {"description", "filters", "priorities", "extends", "gray_band", "dispute_range",
                 "hold_cap_seconds", "bands"}


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


# --------------------------------------------------------------------------------- profiles

def load_profiles(extra: str | Path | Mapping[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """The built-in focus profiles, with ``extra`` (a YAML path or a mapping) merged over them.

    A profile with ``extends: <name>`` starts as a deep copy of that profile; its ``filters`` and
    ``priorities`` keys then replace the parent's key by key.

    Parameters
    ----------
    extra : str, Path or Mapping, optional
        Team profiles, shaped like ``calib/focus_profiles.yaml``.

    Returns
    -------
    dict
        Profile name → profile mapping.
    """
    text = importlib.resources.files("calib").joinpath("focus_profiles.yaml").read_text()
    profiles: dict[str, Any] = yaml.safe_load(text)
    if extra is not None:
        if isinstance(extra, (str, Path)):
            path = Path(extra)
            if not path.is_file():
                raise ValueError(f"The focus-profile file {str(path)!r} does not exist; "
                                 f"pass an existing YAML file or a mapping.")
            extra = yaml.safe_load(path.read_text()) or {}
        if not isinstance(extra, Mapping):
            raise ValueError("Focus profiles must be a mapping of profile name to profile; "
                             "check the top level of the YAML file.")
        for name, prof in extra.items():
            if not isinstance(prof, Mapping):
                raise ValueError(f"Focus profile {name!r} must be a mapping with filters and "
                                 f"priorities, not {type(prof).__name__}.")
            profiles[str(name)] = dict(prof)
    resolved: dict[str, dict[str, Any]] = {}

    def resolve(name: str, trail: tuple[str, ...]) -> dict[str, Any]:
        if name in resolved:
            return resolved[name]
        if name in trail:
            raise ValueError(f"Focus profiles extend each other in a loop ({' → '.join(trail + (name,))}); "
                             f"remove one of the 'extends' keys.")
        if name not in profiles:
            raise ValueError(f"Focus profile {trail[-1]!r} extends {name!r}, which does not exist; "
                             f"choose one of {sorted(profiles)}.")
        prof = dict(profiles[name])
        parent_name = prof.pop("extends", None)
        if parent_name:
            base = copy.deepcopy(resolve(str(parent_name), trail + (name,)))
            for section in ("filters", "priorities"):
                base.setdefault(section, {}).update(prof.pop(section, None) or {})
            base.update(prof)
            prof = base
        resolved[name] = prof
        return prof

    for name in profiles:
        resolve(name, ())
    return resolved


def profile_rules(profile: Mapping[str, Any], *, name: str = "profile") -> Rules:
    """Turn a focus profile (seconds, YAML shape) into :class:`~calib.selection_stream.Rules`.

    Raises
    ------
    ValueError
        Naming any unknown key, so a typo in a team profile never silently selects everything.
    """
    unknown = set(profile) - _PROFILE_KEYS
    filters = dict(profile.get("filters") or {})
    prios = dict(profile.get("priorities") or {})
    unknown |= {f"filters.{k}" for k in set(filters) - _FILTER_KEYS}
    unknown |= {f"priorities.{k}" for k in set(prios) - _PRIORITY_KEYS}
    if unknown:
        raise ValueError(f"Focus profile {name!r} has unknown key(s) {sorted(unknown)}; "
                         f"see calib/focus_profiles.yaml for the allowed keys.")

    def ms(value: Any) -> int | None:
        return None if value is None else int(round(float(value) * 1000))

    def weights(value: Any, what: str) -> tuple[tuple[str, float], ...]:
        if not value:
            return ()
        if not isinstance(value, Mapping):
            raise ValueError(f"Focus profile {name!r}: priorities.{what} must map a name to a "
                             f"weight, for example {{complaint: 1.0}}.")
        return tuple((str(k), float(v)) for k, v in value.items())

    bands = DEFAULT_BANDS
    if profile.get("bands"):
        bands = tuple((str(k), ms(v[0]) or 0, ms(v[1])) for k, v in profile["bands"].items())
    band_names = {b[0] for b in bands}
    wanted = tuple(str(b) for b in filters.get("handle_bands") or ())
    bad = [b for b in wanted + tuple(k for k, _ in weights(prios.get("handle_bands"), "handle_bands"))
           if b not in band_names]
    if bad:
        raise ValueError(f"Focus profile {name!r} names handle band(s) {bad} that are not defined; "
                         f"use {sorted(band_names)}.")
    transferred = filters.get("transferred")
    if transferred is not None and not isinstance(transferred, bool):
        raise ValueError(f"Focus profile {name!r}: filters.transferred must be true, false or null.")
    gray_band = tuple(float(x) for x in profile.get("gray_band", (60, 85)))
    return Rules(
        media_type=filters.get("media_type", "voice"),
        min_talk_ms=ms(filters.get("min_talk_seconds", 180)) or 0,
        max_talk_ms=ms(filters.get("max_talk_seconds")),
        min_hold_ms=ms(filters.get("min_hold_seconds")),
        transferred=transferred,
        queues=tuple(str(q) for q in filters.get("queues") or ()),
        wrap_up_codes=tuple(str(w) for w in filters.get("wrap_up_codes") or ()),
        handle_bands=wanted,
        bands=bands,
        w_gray=float(prios.get("gray_area", 1.0)),
        w_transferred=float(prios.get("transferred", 0.0)),
        w_hold=float(prios.get("hold", 0.0)),
        hold_cap_ms=ms(profile.get("hold_cap_seconds", 120)) or 1,
        w_queues=weights(prios.get("queues"), "queues"),
        w_wrap_up_codes=weights(prios.get("wrap_up_codes"), "wrap_up_codes"),
        w_bands=weights(prios.get("handle_bands"), "handle_bands"),
        w_random=float(prios.get("randomness", 0.5)),
        gray_band=(gray_band[0], gray_band[1]),
        dispute_range=float(profile.get("dispute_range", 15.0)),
    )


# --------------------------------------------------------------------------------- queries

def chunk_interval(start: datetime, end: datetime, *, max_days: int = MAX_SYNC_DAYS
                   ) -> list[tuple[datetime, datetime]]:
    """Split [start, end) into consecutive pieces of at most ``max_days`` days.

    Raises
    ------
    ValueError
        When ``end`` is not after ``start`` or ``max_days`` is not positive.
    """
    if max_days <= 0:
        raise ValueError("max_days must be a positive number of days.")
    return split_interval(start, end, timedelta(days=max_days))


def segment_filters(rules: Rules) -> list[dict[str, Any]]:
    """Segment-dimension filters for the details query: media type and the audio-recording flag.

    Queue and wrap-up rules are substring patterns, so they are checked on the records instead.
    """
    predicates = [{"type": "dimension", "dimension": "recording", "operator": "matches",
                   "value": "true"}]
    if rules.media_type:
        predicates.insert(0, {"type": "dimension", "dimension": "mediaType", "operator": "matches",
                              "value": rules.media_type})
    return [{"type": "and", "predicates": predicates}]


def conversation_filters(rules: Rules) -> list[dict[str, Any]]:
    """Conversation-metric filters: completed talk time, hold time and transfers, in milliseconds.

    Talk time is a conversation metric (``tTalkComplete``); the segment filters accept no metric but
    ``tSegmentDuration``, so it must never go there.
    """
    talk: dict[str, int] = {"gte": int(rules.min_talk_ms)}
    if rules.max_talk_ms is not None:
        talk["lte"] = int(rules.max_talk_ms)
    predicates: list[dict[str, Any]] = [{"type": "metric", "metric": "tTalkComplete", "range": talk}]
    if rules.min_hold_ms:
        predicates.append({"type": "metric", "metric": "tHeldComplete",
                           "range": {"gte": int(rules.min_hold_ms)}})
    if rules.transferred is True:
        predicates.append({"type": "metric", "metric": "nTransferred", "range": {"gte": 1}})
    return [{"type": "and", "predicates": predicates}]


def details_query(start: datetime, end: datetime, rules: Rules, *, page_size: int = 100,
                  page_number: int = 1) -> dict[str, Any]:
    """The ``ConversationQuery`` body for one chunk (≤ 7 days, page size ≤ 100).

    Raises
    ------
    ValueError
        When the interval is longer than 7 days or the page size is outside 1–100.
    """
    if end - start > timedelta(days=MAX_SYNC_DAYS):
        raise ValueError("A synchronous details query may span at most 7 days; split the range "
                         "with chunk_interval().")
    if not 1 <= page_size <= 100:
        raise ValueError(f"page_size {page_size} is outside 1–100; the details query caps pages at 100.")
    return {"interval": f"{iso(start)}/{iso(end)}", "order": "asc", "orderBy": "conversationStart",
            "paging": {"pageSize": int(page_size), "pageNumber": int(page_number)},
            "segmentFilters": segment_filters(rules),
            "conversationFilters": conversation_filters(rules)}


def recording_available(metadata: Iterable[Mapping[str, Any]] | None) -> bool:
    """True when recording metadata lists an audio recording that can be played or restored."""
    for item in metadata or ():
        state = str(item.get("fileState") or "").upper()
        media = str(item.get("media") or "audio").lower()
        if state in PLAYABLE_FILE_STATES and media == "audio":
            return True
    return False


# --------------------------------------------------------------------------------- the pick

def _reason(record: Record, rules: Rules, priors: GrayPriors, coverage: list[str],
            names: Mapping[str, str]) -> str:
    parts = []
    gray = priors.of(record.agent_id, record.queue_id)
    if rules.w_gray:
        detail = priors.detail.get(record.agent_id, "no past scores")
        kind = "gray-area agent" if gray >= 0.5 else "agent"
        parts.append(f"{kind} {gray:.2f} ({detail})")
    if record.transferred and rules.w_transferred:
        parts.append(f"transferred (+{rules.w_transferred:g})")
    if record.hold_ms and rules.w_hold:
        parts.append(f"held {record.hold_ms / 60000:.1f} min "
                     f"(+{rules.w_hold * min(record.hold_ms / rules.hold_cap_ms, 1):.2f})")
    for value, weights, what in ((record.wrap_up_code, rules.w_wrap_up_codes, "wrap-up"),
                                 (record.queue_id, rules.w_queues, "queue")):
        text = label(value, names)
        hits = [p for p, _ in weights if text and p.lower() in text]
        if hits:
            shown = names.get(value) or value
            parts.append(f"{what} {shown} favoured by the profile ({', '.join(hits)})")
    band_bonus = dict(rules.w_bands).get(record.handle_band)
    if band_bonus:
        parts.append(f"{record.handle_band} handle time favoured (+{band_bonus:g})")
    parts.append(f"seeded tie-break {record.tiebreak:.2f}")
    return f"priority {record.priority:.2f}: " + "; ".join(parts) + "; " + ", ".join(coverage)


def stratified_pick(ranked: Sequence[tuple[float, Record]], n: int, *,
                    confirm: Callable[[Record], bool] | None = None,
                    agent_weight: float = 100.0, band_weight: float = 1.0,
                    queue_weight: float = 1.0, names: Mapping[str, str] | None = None
                    ) -> tuple[list[tuple[Record, list[str]]], list[Record]]:
    """Pick ``n`` records greedily, spreading agents first, then handle bands and queues.

    Each step takes the record with the highest ``rank − agent_weight·a − band_weight·b −
    queue_weight·q``, where a, b, q count earlier picks with the same agent, band and queue. With
    the default weights agents are spread round-robin (so ≥ 3 distinct agents whenever 3 exist),
    and among an agent's calls an uncovered band or queue wins unless the priority gap is larger.

    Parameters
    ----------
    ranked : sequence of (rank, Record)
        Candidates with their rank (priority plus seeded tie-break).
    n : int
        How many to pick.
    confirm : callable, optional
        Called on a record before it is accepted (for example a recording check); a record it
        rejects is skipped and reported in the second return value.

    Returns
    -------
    picked : list of (Record, coverage notes)
    rejected : list of Record
        Records ``confirm`` turned down.
    """
    if not ranked:
        return [], []
    ranks = np.array([r for r, _ in ranked], dtype=float)
    records = [rec for _, rec in ranked]
    codes = {}
    for col in ("agent_id", "handle_band", "queue_id"):
        values = pd.Series([getattr(r, col) for r in records], dtype="object").fillna("")
        codes[col] = pd.factorize(values)[0]
    counts = {col: np.zeros(codes[col].max() + 1) for col in codes}
    weight = {"agent_id": agent_weight, "handle_band": band_weight, "queue_id": queue_weight}
    available = np.ones(len(records), dtype=bool)
    picked: list[tuple[Record, list[str]]] = []
    rejected: list[Record] = []
    while len(picked) < n and available.any():
        score = ranks.copy()
        for col, code in codes.items():
            score -= weight[col] * counts[col][code]
        score[~available] = -np.inf
        best = int(np.argmax(score))
        available[best] = False
        rec = records[best]
        if confirm is not None and not confirm(rec):
            rejected.append(rec)
            continue
        notes = []
        if counts["agent_id"][codes["agent_id"][best]] == 0:
            notes.append("first call for this agent")
        if counts["handle_band"][codes["handle_band"][best]] == 0:
            notes.append(f"adds the {rec.handle_band} handle-time band")
        if counts["queue_id"][codes["queue_id"][best]] == 0:
            notes.append(f"adds queue {(names or {}).get(rec.queue_id) or rec.queue_id}")
        for col, code in codes.items():
            counts[col][code[best]] += 1
        picked.append((rec, notes or ["best remaining priority"]))
    return picked, rejected


# --------------------------------------------------------------------------------- orchestration

def _collect_ids(items: Iterable[Mapping[str, Any]]) -> set[str]:
    out = set()
    for item in items:
        conv = item.get("conversation") or {}
        cid = conv.get("id") if isinstance(conv, Mapping) else None
        if cid:
            out.add(str(cid))
    return out


def _stream(client: Any, reducer: CandidateReducer, start: datetime, end: datetime, rules: Rules,
            use_async: bool | None, page_size: int) -> tuple[int, bool]:
    """Feed every conversation of [start, end) to the reducer; returns (chunks, used_async)."""
    segs, convs = segment_filters(rules), conversation_filters(rules)
    if use_async is None:
        # The sync iterator already halves a chunk past the 100 000-result depth, so sync always
        # works; past a month one async job replaces many chunked queries.
        use_async = end - start > timedelta(days=ASYNC_AFTER_DAYS)
    if use_async:
        reducer.set_window(iso(start), iso(end))
        reducer.add_all(client.iter_conversation_details_async(
            iso(start), iso(end), segment_filters=segs, conversation_filters=convs))
        return 1, True
    chunks = chunk_interval(start, end)
    for lo, hi in chunks:
        reducer.set_window(iso(lo), iso(hi))
        reducer.add_all(client.iter_conversation_details(
            iso(lo), iso(hi), segment_filters=segs, conversation_filters=convs,
            page_size=page_size))
    return len(chunks), False


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
        such as ``complaint`` match the id or its name.

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
    priors = GrayPriors.from_history(history, gray_band=rules.gray_band,
                                     dispute_range=rules.dispute_range)

    calibrated: set[str] = set()
    if calibrator_id:
        calibrated |= _collect_ids(client.iter_calibrations(calibrator_id, start_time=iso(t0)))
    if history is not None and len(history) and "conversation_id" in history.columns:
        calibrated |= set(history["conversation_id"].dropna().astype(str))
    panel_evaluated: set[str] = set()
    for member in panel:
        panel_evaluated |= _collect_ids(client.iter_evaluations(
            evaluator_user_id=member, start_time=iso(t0), expand_answer_total_scores=False))

    reducer = CandidateReducer(rules, priors, seed=seed, keep_per_stratum=n, panel_ids=panel,
                               calibrated_ids=calibrated, evaluated_ids=panel_evaluated,
                               names=names)
    n_chunks, used_async = _stream(client, reducer, t0, t1, rules, use_async, page_size)
    ranked = reducer.records()

    def confirm(rec: Record) -> bool:
        return recording_available(client.get_recording_metadata(rec.conversation_id))

    picked, rejected = stratified_pick(ranked, n, confirm=confirm if confirm_recordings else None,
                                       names=reducer.names)
    rows = [{"conversation_id": r.conversation_id, "agent_id": r.agent_id, "queue_id": r.queue_id,
             "queue_name": reducer.names.get(r.queue_id),
             "media_type": r.media_type, "talk_ms": r.talk_ms, "hold_ms": r.hold_ms,
             "handle_ms": r.handle_ms, "handle_band": r.handle_band, "transferred": r.transferred,
             "wrap_up_code": r.wrap_up_code, "priority": r.priority,
             "reason": _reason(r, rules, priors, notes, reducer.names)} for r, notes in picked]
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

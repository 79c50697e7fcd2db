"""The streaming half of candidate selection: read conversation records one at a time, keep a bounded
number of the best per stratum, count what every rule removed.

:func:`calib.selection.select_candidates` is the public entry point; this module holds the parts
that touch every conversation of the range, written for speed and for memory that does not grow
with the number of conversations (only with the number of strata times ``keep_per_stratum``).
"""

from __future__ import annotations

from hashlib import blake2b
import heapq
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

# (name, from_ms, to_ms); to_ms None is open-ended. Profiles may override in seconds.
DEFAULT_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("short", 0, 300_000),
    ("medium", 300_000, 600_000),
    ("long", 600_000, 1_200_000),
    ("extended", 1_200_000, None),
)

# Metric name → accumulator slot in CandidateReducer.add (transfers share one slot).
_METRIC_SLOTS = {"tTalkComplete": 0, "tTalk": 1, "tHeldComplete": 2, "tHandle": 3, "tAcw": 4,
                 "nTransferred": 5, "nBlindTransferred": 5, "nConsultTransferred": 5}

# Funnel steps in the order the reducer applies them: (key, description of what is removed).
FUNNEL_STEPS: tuple[tuple[str, str], ...] = (
    ("outside_range", "started outside the requested range, or already read from a neighbouring chunk"),
    ("media_or_recording", "wrong media type, or a voice call whose analytics record shows no "
                           "audio recording"),
    ("talk_time", "talk time outside the profile's bounds"),
    ("focus_rules", "failed a focus rule (transfer, hold, queue, wrap-up code or handle band)"),
    ("no_agent", "no agent participant to calibrate"),
    ("already_calibrated", "already calibrated (analytics record, calibrator's listing or history) "
                           "or included by hand"),
    ("evaluated_by_panel", "already evaluated by a panel member"),
    ("handled_by_panel", "handled by a panel member"),
)


@dataclass(frozen=True)
class Record:
    """One candidate conversation as the reducer keeps it (no JSON, no nested objects)."""

    conversation_id: str
    agent_id: str
    queue_id: str | None
    media_type: str | None
    talk_ms: int
    hold_ms: int
    handle_ms: int
    handle_band: str
    transferred: bool
    wrap_up_code: str | None
    priority: float
    tiebreak: float


@dataclass(frozen=True)
class Rules:
    """Hard filters and priority weights of a focus profile, in milliseconds and plain values."""

    media_type: str | tuple[str, ...] | None = "voice"
    min_talk_ms: int = 180_000
    max_talk_ms: int | None = None
    min_hold_ms: int | None = None
    transferred: bool | None = None
    queues: tuple[str, ...] = ()
    wrap_up_codes: tuple[str, ...] = ()
    handle_bands: tuple[str, ...] = ()
    bands: tuple[tuple[str, int, int | None], ...] = DEFAULT_BANDS
    w_gray: float = 1.0
    w_transferred: float = 0.0
    w_hold: float = 0.0
    hold_cap_ms: int = 120_000
    w_queues: tuple[tuple[str, float], ...] = ()
    w_wrap_up_codes: tuple[tuple[str, float], ...] = ()
    w_bands: tuple[tuple[str, float], ...] = ()
    w_random: float = 0.5
    gray_band: tuple[float, float] = (60.0, 85.0)
    dispute_range: float = 15.0


#: The media types a calibration can score: voice by its recording, the digital ones by their
#: transcript or message thread (``RecordingMetadata.media`` chat, email, message).
MEDIA_TYPES = ("voice", "chat", "email", "message")
DIGITAL_MEDIA = frozenset({"chat", "email", "message"})


def media_set(media_type: str | tuple[str, ...] | None) -> frozenset[str] | None:
    """The media types a rule accepts (None: any)."""
    if media_type is None:
        return None
    return frozenset((media_type,) if isinstance(media_type, str) else media_type)


def band_of(handle_ms: int, bands: tuple[tuple[str, int, int | None], ...]) -> str:
    """Name of the handle-time band holding ``handle_ms`` (the last band when past every bound)."""
    for name, low, high in bands:
        if handle_ms >= low and (high is None or handle_ms < high):
            return name
    return bands[-1][0] if handle_ms >= bands[-1][1] else bands[0][0]


def label(value: str | None, names: Mapping[str, str]) -> str:
    """Lower-case text a profile pattern is matched against: the id and its display name."""
    if value is None:
        return ""
    name = names.get(value)
    return f"{value} {name}".lower() if name else value.lower()


def _matches(text: str, patterns: tuple[str, ...]) -> bool:
    return bool(text) and any(p.lower() in text for p in patterns)


def _pattern_weight(text: str, weights: tuple[tuple[str, float], ...]) -> float:
    return sum(w for p, w in weights if p.lower() in text) if text else 0.0


def _seed_key(seed: int) -> bytes:
    return str(int(seed)).encode()


def tiebreak(seed: int, conversation_id: str) -> float:
    """A uniform number in [0, 1) fixed by ``seed`` and the conversation id.

    Hash-based rather than drawn from a generator, so the result does not depend on the order in
    which the API returns conversations (chunks, pages, sync or async).
    :class:`CandidateReducer` computes the same value inline.
    """
    digest = blake2b(conversation_id.encode(), digest_size=8, key=_seed_key(seed)).digest()
    return int.from_bytes(digest, "big") / 18446744073709551616.0


def _talk(agent: tuple) -> int:
    return agent[0]


def _first_queue(participant: Mapping[str, Any]) -> str | None:
    for sess in participant.get("sessions") or ():
        for seg in sess.get("segments") or ():
            if seg.get("queueId"):
                return seg["queueId"]
    return None


@dataclass(frozen=True)
class GrayPriors:
    """How gray each agent and queue has been: 0 (clear-cut, aligned) to 1 (mid-range, disputed).

    Unknown agents and queues get ``default`` (0.5): no history is neither clear nor gray.
    ``detail`` holds a short human-readable reason per agent, used in the ``reason`` column.
    """

    agents: Mapping[str, float] = field(default_factory=dict)
    queues: Mapping[str, float] = field(default_factory=dict)
    detail: Mapping[str, str] = field(default_factory=dict)
    default: float = 0.5

    def of(self, agent_id: str, queue_id: str | None) -> float:
        """Gray-area score of a conversation handled by ``agent_id`` in ``queue_id``."""
        agent = self.agents.get(agent_id, self.default)
        if not self.queues:
            return agent
        return 0.5 * (agent + self.queues.get(queue_id, self.default))

    @classmethod
    def from_history(cls, history: pd.DataFrame | None, *, gray_band: tuple[float, float] = (60, 85),
                     dispute_range: float = 15.0, shrink: float = 2.0) -> "GrayPriors":
        """Build priors from a ``scores`` table (finished evaluations with a total score).

        An agent's grayness is the mean of two shares: the share of its past scores inside
        ``gray_band`` (mid-range, where pass and fail are close), and the mean range of its past
        calibrations divided by ``dispute_range`` (capped at 1: disputed calibrations). Estimates
        from few scores are shrunk towards 0.5 with weight ``shrink`` (``n / (n + shrink)``).
        Queues are scored the same way when the history has a ``queue_id`` column.
        """
        if history is None or len(history) == 0:
            return cls()
        scored = history[history["total_score"].notna()]
        if "status" in scored.columns:
            scored = scored[scored["status"].isin(["FINISHED"]) | scored["status"].isna()]
        if scored.empty:
            return cls()
        low, high = gray_band
        in_band = scored["total_score"].between(low, high).astype(float)
        spread = (scored.groupby("calibration_id")["total_score"]
                  .agg(lambda s: s.max() - s.min() if s.size >= 2 else math.nan))
        disputed = (spread / dispute_range).clip(upper=1.0)

        def grade(key: str) -> tuple[dict[str, float], dict[str, str]]:
            frame = pd.DataFrame({key: scored[key], "in_band": in_band,
                                  "score": scored["total_score"],
                                  "dispute": scored["calibration_id"].map(disputed)})
            out: dict[str, float] = {}
            detail: dict[str, str] = {}
            for name, grp in frame.groupby(key, dropna=True):
                n = len(grp)
                signals = [grp["in_band"].mean()]
                per_cal = grp["dispute"].dropna()
                if len(per_cal):
                    signals.append(per_cal.mean())
                raw = sum(signals) / len(signals)
                weight = n / (n + shrink)
                out[str(name)] = weight * raw + (1 - weight) * 0.5
                rng = per_cal.mean() * dispute_range if len(per_cal) else math.nan
                detail[str(name)] = (f"past mean {grp['score'].mean():.0f} over {n} score(s), "
                                     f"{grp['in_band'].mean():.0%} mid-range"
                                     + (f", calibration range {rng:.0f} pts" if len(per_cal) else ""))
            return out, detail

        agents, detail = grade("agent_id")
        queues = grade("queue_id")[0] if "queue_id" in scored.columns else {}
        return cls(agents=agents, queues=queues, detail=detail)


class CandidateReducer:
    """Consume conversation-detail records and keep the best ``keep_per_stratum`` per stratum.

    A stratum is (agent, queue, handle band): candidates in one stratum are interchangeable for
    the stratified pick, so only the highest-ranked ``keep_per_stratum`` of each can ever be picked.
    Memory is bounded by the number of strata, never by the number of conversations.

    Parameters
    ----------
    rules : Rules
        Filters and weights of the focus profile.
    priors : GrayPriors
        Gray-area priors from history.
    seed : int
        Seed of the tie-breaker.
    keep_per_stratum : int
        How many candidates to keep per stratum (the number to pick is enough).
    panel_ids : Iterable[str]
        Panel members: their evaluations and their own calls are excluded.
    calibrated_ids : Iterable[str]
        Conversations known to be calibrated already (listing, history).
    evaluated_ids : Iterable[str]
        Conversations a panel member has evaluated (from the evaluations listing); the analytics
        record's ``evaluations[]`` is checked as well.
    names : Mapping[str, str]
        Display names of queue and wrap-up code ids, so profile patterns can name them.
    """

    def __init__(self, rules: Rules, priors: GrayPriors, *, seed: int, keep_per_stratum: int,
                 panel_ids: Iterable[str] = (), calibrated_ids: Iterable[str] = (),
                 evaluated_ids: Iterable[str] = (), names: Mapping[str, str] | None = None) -> None:
        self.rules = rules
        self.priors = priors
        self.seed = int(seed)
        self.keep = int(keep_per_stratum)
        self.panel = frozenset(panel_ids)
        self.calibrated = frozenset(calibrated_ids)
        self.evaluated = frozenset(evaluated_ids)
        self.names = dict(names or {})
        self._rule_cache: dict[tuple, bool] = {}
        self.window: tuple[str, str] | None = None
        self.seen = 0
        self.removed = {key: 0 for key, _ in FUNNEL_STEPS}
        self._strata: dict[tuple, list] = {}
        self._bonus_cache: dict[tuple, float] = {}
        self._hash_key = _seed_key(self.seed)
        self._media = media_set(rules.media_type)

    def set_window(self, start: str, end: str) -> None:
        """Keep only conversations starting in [start, end) (``YYYY-MM-DDTHH:MM:SS`` strings).

        The API returns every conversation that started on a *day* the interval touches, so
        neighbouring chunks overlap; this window makes each conversation count exactly once.
        """
        self.window = (start[:19], end[:19])

    def add_all(self, conversations: Iterable[Mapping[str, Any]]) -> None:
        """Consume an iterable of conversation-detail records."""
        add = self.add
        for conv in conversations:
            add(conv)

    def add(self, conv: Mapping[str, Any]) -> None:  # noqa: C901 - one pass, kept flat for speed
        """Consume one conversation-detail record (``AnalyticsConversation`` JSON)."""
        self.seen += 1
        rules = self.rules
        removed = self.removed
        if self.window is not None:
            started = (conv.get("conversationStart") or "")[:19]
            if not (self.window[0] <= started < self.window[1]):
                removed["outside_range"] += 1
                return
        participants = conv.get("participants") or ()
        # Pass 1, cheap: media type and the recording flag reject about a third of the records.
        media = None
        recorded = False
        for part in participants:
            for sess in part.get("sessions") or ():
                if media is None:
                    media = sess.get("mediaType")
                if sess.get("recording"):
                    recorded = True
                    break
            if recorded and media is not None:
                break
        # A voice call needs the audio-recording flag; a chat, email or message is scored from
        # its transcript or thread, which the recording-metadata check confirms for a pick.
        if (self._media is not None and media not in self._media) or \
                (not recorded and media not in DIGITAL_MEDIA):
            removed["media_or_recording"] += 1
            return
        # Pass 2: agent metrics and segments.
        acc = [0, 0, 0, 0, 0, 0]  # tTalkComplete, tTalk, tHeldComplete, tHandle, tAcw, transfers
        slots = _METRIC_SLOTS
        panel_handled = False
        panel = self.panel
        agents = []  # (talk, user_id, queue, wrap)
        acd = None  # the ACD participant: its queue is read only if no agent segment has one
        for part in participants:
            uid = part.get("userId")
            purpose = part.get("purpose")
            if uid is not None and uid in panel:
                panel_handled = True
            if purpose == "acd":
                acd = acd or part
                continue
            if uid is None or (purpose != "agent" and purpose != "user"):
                continue
            talk_before, any_before = acc[0], acc[1]
            queue = wrap = None
            for sess in part.get("sessions") or ():
                for metric in sess.get("metrics") or ():
                    slot = slots.get(metric.get("name"))
                    if slot is not None:
                        acc[slot] += metric.get("value") or 0
                for seg in sess.get("segments") or ():
                    if queue is None:
                        queue = seg.get("queueId")
                    code = seg.get("wrapUpCode")
                    if code:
                        wrap = code
            talk = acc[0] - talk_before or acc[1] - any_before
            agents.append((talk, uid, queue, wrap))
        hold, handle, acw, transfers = acc[2], acc[3], acc[4], acc[5]

        talk_ms = sum(a[0] for a in agents)
        if talk_ms < rules.min_talk_ms or (rules.max_talk_ms is not None and talk_ms > rules.max_talk_ms):
            removed["talk_time"] += 1
            return
        if not agents:
            removed["no_agent"] += 1
            return
        _, agent_id, queue_id, wrap = agents[0] if len(agents) == 1 else max(agents, key=_talk)
        if queue_id is None and acd is not None:
            queue_id = _first_queue(acd)
        if acd is not None and queue_id is not None and queue_id not in self.names:
            # The ACD participant of a conversation-details record is named after its queue:
            # reasons and focus patterns can then speak of queues by name.
            acd_name = acd.get("participantName")
            if acd_name and _first_queue(acd) == queue_id:
                self.names[queue_id] = str(acd_name)
        transferred = transfers > 0 or len(agents) > 1
        if handle <= 0:
            handle = talk_ms + hold + acw
        band = band_of(handle, rules.bands)
        if rules.queues or rules.wrap_up_codes:
            ok = self._rule_cache.get((queue_id, wrap))
            if ok is None:
                ok = ((not rules.queues or _matches(label(queue_id, self.names), rules.queues))
                      and (not rules.wrap_up_codes
                           or _matches(label(wrap, self.names), rules.wrap_up_codes)))
                self._rule_cache[(queue_id, wrap)] = ok
        else:
            ok = True
        if (not ok or (rules.transferred is not None and transferred != rules.transferred)
                or (rules.min_hold_ms is not None and hold < rules.min_hold_ms)
                or (rules.handle_bands and band not in rules.handle_bands)):
            removed["focus_rules"] += 1
            return
        cid = conv.get("conversationId")
        evaluated_by_panel = cid in self.evaluated
        calibrated = cid in self.calibrated
        for ev in conv.get("evaluations") or ():
            if ev.get("calibrationId"):
                calibrated = True
            if ev.get("evaluatorId") in panel:
                evaluated_by_panel = True
        if calibrated:
            removed["already_calibrated"] += 1
            return
        if evaluated_by_panel:
            removed["evaluated_by_panel"] += 1
            return
        if panel_handled:
            removed["handled_by_panel"] += 1
            return

        bonus_key = (agent_id, queue_id, wrap, band)
        bonus = self._bonus_cache.get(bonus_key)
        if bonus is None:
            bonus = (rules.w_gray * self.priors.of(agent_id, queue_id)
                     + _pattern_weight(label(queue_id, self.names), rules.w_queues)
                     + _pattern_weight(label(wrap, self.names), rules.w_wrap_up_codes)
                     + dict(rules.w_bands).get(band, 0.0))
            self._bonus_cache[bonus_key] = bonus
        priority = (bonus + (rules.w_transferred if transferred else 0.0)
                    + rules.w_hold * min(hold / rules.hold_cap_ms, 1.0))
        stratum = (agent_id, queue_id, band)
        heap = self._strata.get(stratum)
        if heap is None:
            heap = self._strata[stratum] = []
        full = len(heap) >= self.keep
        if full and priority + rules.w_random < heap[0][0]:
            return  # cannot enter the stratum even with the largest tie-break: skip the hash
        u = int.from_bytes(blake2b(cid.encode(), digest_size=8, key=self._hash_key).digest(),
                           "big") / 18446744073709551616.0
        entry = (priority + rules.w_random * u, cid,
                 (agent_id, queue_id, media, talk_ms, hold, handle, band, transferred, wrap,
                  priority, u))
        if not full:
            heapq.heappush(heap, entry)
        elif entry[:2] > heap[0][:2]:
            heapq.heapreplace(heap, entry)

    @property
    def n_retained(self) -> int:
        """How many candidates are held (at most strata × keep_per_stratum)."""
        return sum(len(h) for h in self._strata.values())

    @property
    def n_passed(self) -> int:
        """How many conversations passed every rule (whether or not they are still held)."""
        return self.seen - sum(self.removed.values())

    def records(self) -> list[tuple[float, Record]]:
        """The retained candidates with their rank, best first (deterministic order)."""
        out = []
        for heap in self._strata.values():
            for rank, cid, f in heap:
                out.append((rank, Record(cid, f[0], f[1], f[2], int(f[3]), int(f[4]), int(f[5]), f[6],
                                         bool(f[7]), f[8], float(f[9]), float(f[10]))))
        out.sort(key=lambda item: (-item[0], item[1].conversation_id))
        return out

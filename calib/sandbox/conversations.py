"""Synthetic conversations in the analytics conversation-details shape, generated per day.

Regular conversations exist from 2026-09-28 onwards (``conversations_per_day`` a day, generated
lazily and deterministically per day); calibrated conversations are added by the history. Only
conversations that started before the sandbox clock are visible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import numpy as np

from .ids import iso, make_id, make_rng

if TYPE_CHECKING:  # pragma: no cover
    from .org import Org

POOL_START = date(2026, 9, 28)
QUEUES = (("Billing", 0.35), ("Technical Support", 0.3), ("Sales", 0.2), ("Retention", 0.15))
WRAPUPS = ("Resolved", "Follow-up required", "Escalated", "Billing adjustment", "Cancelled")
# The wrap-up code an outcome gets in a queue, where it differs from the outcome's own name: a real
# org names its codes by what happened ("Payment taken", "Complaint logged"), which is what the
# focus profiles' wrap-up patterns (complaint, cancel, payment, sale, account…) look for. Derived
# from the queue and the drawn outcome, so no random stream changes.
WRAPUP_NAMES = {
    ("Billing", "Resolved"): "Payment taken",
    ("Billing", "Follow-up required"): "Complaint logged - billing",
    ("Sales", "Resolved"): "Sale completed",
    ("Sales", "Follow-up required"): "Sale follow-up",
    ("Technical Support", "Follow-up required"): "Account verification pending",
    ("Technical Support", "Billing adjustment"): "Account credit",
    ("Retention", "Resolved"): "Retention offer accepted",
    ("Retention", "Follow-up required"): "Complaint logged - retention",
}


def wrap_up_name(queue: str, outcome: str) -> str:
    """The wrap-up code's name for ``outcome`` in ``queue`` (see :data:`WRAPUP_NAMES`)."""
    return WRAPUP_NAMES.get((queue, outcome), outcome)


def wrap_up_names() -> list[str]:
    """Every wrap-up code name the sandbox org uses, sorted."""
    return sorted({wrap_up_name(q, o) for q, _ in QUEUES for o in WRAPUPS})
#: The session ``provider`` per medium.
PROVIDERS = {"voice": "Edge", "chat": "PureCloud Webchat v2", "email": "PureCloud Email",
             "message": "PureCloud Messaging"}
FILE_STATES = (("AVAILABLE", 0.86), ("ARCHIVED", 0.09), ("RESTORED", 0.02), ("DELETED", 0.03))


@dataclass
class Conversation:
    id: str
    start: datetime
    end: datetime
    media: str
    agent_ids: tuple[str, ...]
    body: dict[str, Any]                 # the analytics JSON without evaluations
    segment_rows: list[dict[str, Any]]   # flattened per-segment dimensions for segmentFilters
    conv_row: dict[str, Any]             # conversation dimensions and metrics
    recordings: list[dict[str, Any]]     # recordingmetadata entries
    calibration_ids: list[str] = field(default_factory=list)


class LazyConversation:
    """A calibrated conversation whose analytics JSON is built on first use.

    History calibrations need only the id, start, medium and agent of their conversation; the
    rest (segments, metrics, recordings) is built from the conversation's own random stream
    when a route first reads it, so it is the same whenever that happens.
    """

    def __init__(self, store: "ConversationStore", conv_id: str, start: datetime,
                 agent_id: str) -> None:
        self.id, self.start, self.media, self.agent_ids = conv_id, start, "voice", (agent_id,)
        self.calibration_ids: list[str] = []
        self._store = store
        self._full: Conversation | None = None

    def _get(self) -> Conversation:
        if self._full is None:
            with self._store.org.lock:
                if self._full is None:
                    self._full = self._store.build_calibrated(self.id, self.start,
                                                              self.agent_ids[0])
        return self._full

    @property
    def end(self) -> datetime:
        return self._get().end

    @property
    def body(self) -> dict[str, Any]:
        return self._get().body

    @property
    def segment_rows(self) -> list[dict[str, Any]]:
        return self._get().segment_rows

    @property
    def conv_row(self) -> dict[str, Any]:
        return self._get().conv_row

    @property
    def recordings(self) -> list[dict[str, Any]]:
        return self._get().recordings


class ConversationStore:
    """Conversations indexed by id and by start day."""

    def __init__(self, org: "Org") -> None:
        self.org = org
        self.by_id: dict[str, Conversation | LazyConversation] = {}
        self._days: dict[date, list[Conversation | LazyConversation]] = {}
        self._specials: dict[date, list[Conversation | LazyConversation]] = {}
        self._n_special = 0

    # ------------------------------------------------------------- building
    def _queue(self, name: str) -> str:
        return make_id(self.org.seed, "queue", name)

    def queue_ids(self) -> dict[str, str]:
        """Queue name → id."""
        return {name: self._queue(name) for name, _ in QUEUES}

    def wrap_up_code_ids(self) -> dict[str, str]:
        """Wrap-up code name → id."""
        return {name: make_id(self.org.seed, "wrapup", name) for name in wrap_up_names()}

    def _make(self, rng: np.random.Generator, conv_id: str, start: datetime, agent_ids: list[str],
              *, media: str | None = None, recorded: bool | None = None,
              min_talk_ms: int = 0) -> Conversation:
        seed = self.org.seed
        if media is None:
            # One draw decides the medium: voice below 0.8 as always, the rest split into chat,
            # email and message (web messaging), so voice calls are the same whatever the split.
            draw = rng.random()
            media = ("voice" if draw < 0.8 else "chat" if draw < 0.88 else
                     "email" if draw < 0.94 else "message")
        q_idx = _pick(rng, [p for _, p in QUEUES])
        queue_name, queue_id = QUEUES[q_idx][0], self._queue(QUEUES[q_idx][0])
        if recorded is None:
            recorded = bool(rng.random() < (0.88 if media == "voice" else 0.9))
        ivr_ms = int(rng.integers(5_000, 60_000)) if media == "voice" else 0
        acd_ms = int(rng.lognormal(10.2, 0.9))
        t = start
        participants: list[dict] = []
        seg_rows: list[dict] = []
        metrics_total = {"tTalk": 0, "tTalkComplete": 0, "tHeld": 0, "tHeldComplete": 0,
                         "tHandle": 0, "tAcw": 0, "tAcd": acd_ms, "tAlert": 0, "tAnswered": 0,
                         "nTransferred": 0, "nConnected": 1, "nOffered": 1, "tIvr": ivr_ms}

        durations: dict[int, int] = {}

        def segment(kind: str, s: datetime, e: datetime, **extra: Any) -> dict:
            seg = {"segmentStart": iso(s), "segmentEnd": iso(e), "segmentType": kind}
            seg.update({k: v for k, v in extra.items() if v is not None})
            durations[id(seg)] = int((e - s).total_seconds() * 1000)
            return seg

        def add_rows(purpose: str, session: dict, user_id: str | None, pname: str) -> None:
            for seg in session["segments"]:
                seg_rows.append({
                    "mediaType": session["mediaType"], "direction": session["direction"],
                    "purpose": purpose, "userId": user_id, "participantName": pname,
                    "recording": "true" if session.get("recording") else "false",
                    "queueId": seg.get("queueId"), "wrapUpCode": seg.get("wrapUpCode"),
                    "segmentType": seg["segmentType"], "disconnectType": seg.get("disconnectType"),
                    "sessionId": session["sessionId"], "ani": session.get("ani"),
                    "dnis": session.get("dnis"),
                    "tSegmentDuration": durations[id(seg)],
                })

        acd_start = start + timedelta(milliseconds=ivr_ms)
        t = acd_start + timedelta(milliseconds=acd_ms)
        agent_parts = []
        for k, agent_id in enumerate(agent_ids):
            person = self.org.people[agent_id]
            alert_ms = int(rng.integers(2_000, 15_000))
            talk_ms = int(rng.lognormal(12.6, 0.55)) + min_talk_ms // max(len(agent_ids), 1)
            if media != "voice":
                talk_ms = int(talk_ms * 1.6)
            hold_ms = int(rng.lognormal(10.8, 0.6)) if rng.random() < 0.35 else 0
            if media in ("email", "message"):
                hold_ms = 0  # an email or a message thread is parked, never held
            acw_ms = int(rng.integers(10_000, 120_000))
            s_alert, s_talk = t, t + timedelta(milliseconds=alert_ms)
            segs = [segment("alert", s_alert, s_talk, queueId=queue_id)]
            if hold_ms:
                first = talk_ms // 2
                h0 = s_talk + timedelta(milliseconds=first)
                h1 = h0 + timedelta(milliseconds=hold_ms)
                segs += [segment("interact", s_talk, h0, queueId=queue_id),
                         segment("hold", h0, h1, queueId=queue_id),
                         segment("interact", h1, h1 + timedelta(milliseconds=talk_ms - first),
                                 queueId=queue_id)]
            else:
                segs.append(segment("interact", s_talk, s_talk + timedelta(milliseconds=talk_ms),
                                    queueId=queue_id))
            end_talk = s_talk + timedelta(milliseconds=talk_ms + hold_ms)
            is_last = k == len(agent_ids) - 1
            segs[-1]["disconnectType"] = "client" if is_last else "transfer"
            wrap = wrap_up_name(queue_name, WRAPUPS[int(rng.integers(len(WRAPUPS)))])
            segs.append(segment("wrapup", end_talk, end_talk + timedelta(milliseconds=acw_ms),
                                queueId=queue_id, wrapUpCode=make_id(seed, "wrapup", wrap)))
            handle = talk_ms + hold_ms + acw_ms
            metrics = [("tAlert", alert_ms), ("tAnswered", alert_ms), ("tTalk", talk_ms),
                       ("tTalkComplete", talk_ms), ("tHandle", handle), ("tAcw", acw_ms)]
            if hold_ms:
                metrics += [("tHeld", hold_ms), ("tHeldComplete", hold_ms)]
            if not is_last:
                metrics.append(("nTransferred", 1))
            for name, value in metrics:
                metrics_total[name] += value
            session = {
                "sessionId": make_id(seed, "session", conv_id, "agent", k),
                "mediaType": media, "direction": "inbound",
                "recording": recorded if media == "voice" else False,
                "provider": PROVIDERS[media],
                "metrics": [{"name": n, "value": int(v), "emitDate": iso(end_talk)}
                            for n, v in metrics],
                "segments": segs,
            }
            agent_parts.append({"participantId": make_id(seed, "participant", conv_id, "agent", k),
                                "participantName": person.name, "purpose": "agent",
                                "userId": agent_id, "sessions": [session]})
            add_rows("agent", session, agent_id, person.name)
            t = end_talk
        end = t + timedelta(seconds=1)
        cust_session = {
            "sessionId": make_id(seed, "session", conv_id, "customer"),
            "mediaType": media, "direction": "inbound",
            "ani": f"tel:+1555{int(rng.integers(1_000_000, 9_999_999))}" if media == "voice" else None,
            "dnis": "tel:+18005550100" if media == "voice" else None,
            "recording": recorded if media == "voice" else False,
            "provider": PROVIDERS[media],
            "addressFrom": f"customer{int(rng.integers(1000, 9999))}@example.com"
            if media == "email" else None,
            "addressTo": "support@demo.example" if media == "email" else None,
            "messageType": "webmessaging" if media == "message" else None,
            "metrics": [{"name": "nConnected", "value": 1, "emitDate": iso(start)}],
            "segments": [segment("interact", start, end, disconnectType="endpoint")],
        }
        cust_session = {k: v for k, v in cust_session.items() if v is not None}
        acd_session = {
            "sessionId": make_id(seed, "session", conv_id, "acd"), "mediaType": media,
            "direction": "inbound",
            "metrics": [{"name": "nOffered", "value": 1, "emitDate": iso(acd_start)},
                        {"name": "tAcd", "value": acd_ms, "emitDate": iso(acd_start)}],
            "segments": [segment("interact", acd_start,
                                 acd_start + timedelta(milliseconds=acd_ms), queueId=queue_id,
                                 disconnectType="transfer")],
        }
        participants = [
            {"participantId": make_id(seed, "participant", conv_id, "customer"),
             "participantName": "Customer", "purpose": "customer", "sessions": [cust_session]},
            {"participantId": make_id(seed, "participant", conv_id, "acd"),
             "participantName": queue_name, "purpose": "acd", "sessions": [acd_session]},
            *agent_parts,
        ]
        add_rows("customer", cust_session, None, "Customer")
        add_rows("acd", acd_session, None, queue_name)
        body = {
            "conversationId": conv_id,
            "conversationStart": iso(start),
            "conversationEnd": iso(end),
            "originatingDirection": "inbound",
            "conversationInitiator": "external",
            "customerParticipation": True,
            "divisionIds": ["division-home"],
        }
        if media == "voice":
            body["mediaStatsMinConversationMos"] = round(float(rng.uniform(3.6, 4.5)), 3)
            body["mediaStatsMinConversationRFactor"] = round(float(rng.uniform(75, 93)), 3)
        body["participants"] = participants
        conv_row = {"conversationId": conv_id, "originatingDirection": "inbound",
                    "conversationInitiator": "external", "divisionId": "division-home",
                    "customerParticipation": "true", "conversationStart": iso(start),
                    "conversationEnd": iso(end),
                    **{k: v for k, v in metrics_total.items()
                       if v or k in ("nTransferred", "tHeld", "tHeldComplete")}}
        recordings = []
        if recorded:
            state_names = [s for s, _ in FILE_STATES]
            state = state_names[_pick(rng, [p for _, p in FILE_STATES])]
            rec_id = make_id(seed, "recording", conv_id)
            recordings.append({
                "id": rec_id, "name": f"{queue_name} {iso(start)[:10]}",
                "conversationId": conv_id, "path": f"recordings/{conv_id}/{rec_id}",
                "startTime": iso(start), "endTime": iso(end),
                "media": "audio" if media == "voice" else media,
                "mediaSubtype": "Trunk" if media == "voice" else None,
                "annotations": [], "fileState": state,
                "sessionId": agent_parts[0]["sessions"][0]["sessionId"],
                "region": "eu-west-1", "selfUri": f"/api/v2/conversations/{conv_id}/recordings/"
                                                   f"{rec_id}",
            })
            if state == "ARCHIVED":
                recordings[-1].update(archiveDate=iso(end + timedelta(days=30)),
                                      archiveMedium="CLOUDARCHIVE")
            recordings[-1] = {k: v for k, v in recordings[-1].items() if v is not None}
        return Conversation(conv_id, start, end, media, tuple(agent_ids), body, seg_rows,
                            conv_row, recordings)

    def _agents_for(self, rng: np.random.Generator) -> list[str]:
        active = [a.id for a in self.org.agents if a.state == "active"]
        first = active[int(rng.integers(len(active)))]
        if rng.random() < 0.08:
            return [first, active[int(rng.integers(len(active)))]]
        return [first]

    def build_calibrated(self, conv_id: str, start: datetime, agent_id: str) -> Conversation:
        """The full recorded voice conversation (talk ≥ 3 min) behind a history calibration."""
        rng = make_rng(self.org.seed, "conversation", conv_id)
        conv = self._make(rng, conv_id, start, [agent_id], media="voice", recorded=True,
                          min_talk_ms=180_000)
        conv.recordings[0]["fileState"] = "AVAILABLE"
        return conv

    def add_calibrated(self, agent_id: str, start: datetime) -> str:
        """A recorded voice conversation for a history calibration (built lazily); its id."""
        self._n_special += 1
        conv_id = make_id(self.org.seed, "conversation", "calibrated", self._n_special)
        conv = LazyConversation(self, conv_id, start, agent_id)
        self.by_id[conv_id] = conv
        self._specials.setdefault(start.date(), []).append(conv)
        day = self._days.get(start.date())
        if day is not None:
            day.append(conv)
            day.sort(key=lambda c: (c.start, c.id))
        return conv_id

    def link(self, conversation_id: str, calibration_id: str) -> None:
        conv = self.get(conversation_id)
        if conv is not None and calibration_id not in conv.calibration_ids:
            conv.calibration_ids.append(calibration_id)

    # -------------------------------------------------------------- reading
    def day(self, d: date) -> list[Conversation]:
        """All conversations that start on ``d`` (UTC), generated on first use."""
        convs = self._days.get(d)
        if convs is None:
            with self.org.lock:
                convs = self._days.get(d)
                if convs is None:
                    convs = self._generate_day(d)
                    self._days[d] = convs
        return convs

    def _generate_day(self, d: date) -> list[Conversation]:
        out = list(self._specials.get(d, []))
        if d >= POOL_START:
            rng = make_rng(self.org.seed, "day", d.isoformat())
            n = self.org.size.conversations_per_day
            if d.weekday() >= 5:
                n = n // 3
            n = max(int(rng.poisson(n)) if n else 0, 0)
            seconds = np.sort(rng.uniform(7 * 3600, 20 * 3600, n))
            base = datetime(d.year, d.month, d.day, tzinfo=timezone.utc)
            for i, sec in enumerate(seconds):
                conv_id = make_id(self.org.seed, "conversation", d.isoformat(), i)
                crng = make_rng(self.org.seed, "conversation", conv_id)
                conv = self._make(crng, conv_id, base + timedelta(seconds=float(sec)),
                                  self._agents_for(crng))
                self.by_id[conv_id] = conv
                out.append(conv)
        out.sort(key=lambda c: (c.start, c.id))
        return out

    def get(self, conversation_id: str) -> Conversation | None:
        """A conversation by id (generating its day when the id is a pool id)."""
        conv = self.by_id.get(conversation_id)
        if conv is None:
            # pool ids are derived from their day: generate the visible pool once to find it
            d = POOL_START
            while d <= self.org.now().date() and conversation_id not in self.by_id:
                self.day(d)
                d += timedelta(days=1)
            conv = self.by_id.get(conversation_id)
        if conv is not None and conv.start > self.org.now():
            return None
        return conv

    def between(self, start: datetime, end: datetime) -> list[Conversation]:
        """Visible conversations whose start is in [start, end), ordered by start."""
        out: list[Conversation] = []
        now = self.org.now()
        d = start.date()
        while d <= end.date():
            for c in self.day(d):
                if start <= c.start < end and c.start <= now:
                    out.append(c)
            d += timedelta(days=1)
        return out


def _pick(rng: np.random.Generator, probabilities: list[float]) -> int:
    """Index drawn with the given probabilities (cheaper than Generator.choice for a few)."""
    x, acc = rng.random(), 0.0
    for i, p in enumerate(probabilities):
        acc += p
        if x < acc:
            return i
    return len(probabilities) - 1

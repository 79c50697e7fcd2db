"""The synthetic org: people, form versions, calibration history, ground truth and the clock.

``generate_org(seed)`` builds everything deterministically from the seed. The org is the
in-memory model the HTTP server serves; it can also be used in-process (``tidy_scores``,
``tidy_answers``) for ground-truth tests that need many seeds quickly.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from calib.scoring import ScoringResult, score_evaluation
from calib.tables import answers_frame, scores_frame

from . import leadership, panel, simulate, tidy
from .conversations import ConversationStore
from .forms import QuestionSpec, build_forms, question_specs
from .ids import iso, make_id, make_rng
from .people import SCRIPT_NAME, Person, make_people

__all__ = ["Org", "Truth", "Calibration", "Evaluation", "generate_org", "START_CLOCK"]

START_CLOCK = datetime(2026, 11, 9, 9, 0, tzinfo=timezone.utc)
HISTORY_MONTHS = ("2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10")
V2_FROM = "2026-08"


@dataclass(frozen=True)
class Truth:
    """The org's ground truth, in score points (0–100 scale) unless stated.

    Attributes
    ----------
    evaluator_severity : {user_id: points}
        Expected shift of the evaluator's total score against an unbiased reading; each team's
        panel is centred on 0. Experts have 0 here and drift month by month instead.
    evaluator_noise : {user_id: points}
        SD of the evaluator's per-evaluation shift.
    calibrator_drift : {(calibrator_id, "YYYY-MM"): points}
        The calibrator's (expert's) expected shift against the panel mean that month.
    question_ambiguity : {question_id: float in [0, 1]}
    agent_quality : {user_id: float}
        The agent's expected total score from an unbiased, noiseless evaluator (current form).
    teams : {team: {"calibrator_email", "calibrator_id", "panel_ids", "expert_id"}}
        ``panel_ids`` are the evaluators besides the expert. Team ``"leadership"`` (see
        :mod:`calib.sandbox.leadership`) is the quarterly calibration of the calibrators: its
        panel is the demo and north calibrators plus QM lead Morgan Lee (its calibrator), and
        its expert is QM lead Priya Nair.
    evaluator_reading : {(user_id, question_id): points share}
        The evaluator's own reading of a question (centred per evaluator).
    never_finishes : {user_id: probability}
        Chance that the evaluator never finishes a new calibration evaluation.
    """

    evaluator_severity: Mapping[str, float]
    evaluator_noise: Mapping[str, float]
    calibrator_drift: Mapping[tuple[str, str], float]
    question_ambiguity: Mapping[str, float]
    agent_quality: Mapping[str, float]
    teams: Mapping[str, Mapping[str, Any]]
    evaluator_reading: Mapping[tuple[str, str], float]
    never_finishes: Mapping[str, float]


@dataclass
class Evaluation:
    id: str
    calibration_id: str
    conversation_id: str
    agent_id: str
    evaluator_id: str
    role: str
    form_id: str
    created: datetime
    started_at: datetime | None
    finished_at: datetime | None
    chosen: np.ndarray | None = None      # option index per question spec (simulated)
    na: np.ndarray | None = None          # N/A flag per question spec
    comment_idx: np.ndarray | None = None  # index into NEGATIVE_COMMENTS, -1 = none
    total: float = float("nan")
    critical: float = float("nan")
    failed_kill: bool = False
    answers: dict | None = None
    result: ScoringResult | None = None
    answers_json: dict | None = None  # cached Genesys EvaluationScoringSet

    def status(self, now: datetime) -> str:
        if self.finished_at is not None and self.finished_at <= now:
            return "FINISHED"
        if self.started_at is not None and self.started_at <= now:
            return "INPROGRESS"
        return "PENDING"


@dataclass
class Calibration:
    id: str
    name: str
    team: str
    calibrator_id: str
    agent_id: str
    conversation_id: str
    form_id: str
    created: datetime
    expert_id: str | None
    evaluator_ids: list[str]
    evaluation_ids: list[str] = field(default_factory=list)
    scoring_index_id: str | None = None
    n_initial: int = 0  # evaluations created with the calibration (simulated as one block)


@dataclass(frozen=True)
class OrgSize:
    n_agents: int = 40
    n_evaluators: Mapping[str, int] = field(
        default_factory=lambda: MappingProxyType({"demo": 6, "north": 5, "pilot": 3}))
    months: tuple[str, ...] = HISTORY_MONTHS
    calls_per_month: Mapping[str, int] = field(
        default_factory=lambda: MappingProxyType({"demo": 6, "north": 5, "pilot": 1}))
    n_questions: int | None = None
    conversations_per_day: int = 150


TEAM_SPECS = {
    "demo": ("Quinn Calder", "quinn.calder@demo.example", "drift"),
    "north": ("Nora Lindqvist", "nora.lindqvist@demo.example", "stable"),
    "pilot": ("Pat Okafor", "pat.okafor@demo.example", "stable"),
}


def _month_start(month: str) -> datetime:
    return datetime(int(month[:4]), int(month[5:7]), 1, tzinfo=timezone.utc)


def _month_of(ts: datetime) -> str:
    return ts.strftime("%Y-%m")


class Org:
    """The in-memory sandbox org. Build it with :func:`generate_org`.

    Mutations (posting calibrations, advancing the clock) go through methods that hold a lock,
    so the threaded HTTP server can share one org.
    """

    def __init__(self, seed: int, size: OrgSize) -> None:
        self.seed = seed
        self.size = size
        self.lock = threading.RLock()
        self._now = START_CLOCK
        self.specs: tuple[QuestionSpec, ...] = question_specs(size.n_questions)
        self.spec_arrays = simulate.spec_arrays(self.specs)
        self.forms: list[dict] = build_forms(seed, self.specs)
        self.forms_by_id = {f["id"]: f for f in self.forms}
        self.qid_by_key = {f["id"]: {s.key: make_id(seed, "question", s.key) for s in self.specs
                                     if s.since_version <= v + 1}
                           for v, f in enumerate(self.forms)}
        self.options = {q["id"]: q["answerOptions"] for f in self.forms
                        for g in f["questionGroups"] for q in g["questions"]}
        self.form_arrays = {f["id"]: panel.form_arrays(f, self.specs, self.qid_by_key[f["id"]])
                            for f in self.forms}
        self._reading_cache: dict[str, np.ndarray] = {}
        self.people: dict[str, Person] = {}
        self.agents: list[Person] = []
        self.teams: dict[str, dict] = {}
        self.calibrations: dict[str, Calibration] = {}
        self.evaluations: dict[str, Evaluation] = {}
        self.deleted_calibrations: set[str] = set()
        self._tidy_memo: dict[str, tuple[tuple, pd.DataFrame]] = {}
        self._counter = 0
        self._build_people()
        self._build_truth()
        self.conversations = ConversationStore(self)
        self._build_history()

    # ----------------------------------------------------------------- clock
    def now(self) -> datetime:
        """The sandbox clock (starts at 2026-11-09T09:00:00Z whatever the real date)."""
        return self._now

    def advance_clock(self, *, days: float = 0.0, to: datetime | None = None) -> datetime:
        """Move the clock forward by ``days`` or to ``to``; it never moves backwards."""
        with self.lock:
            target = to if to is not None else self._now + timedelta(days=days)
            if target < self._now:
                raise ValueError(f"The sandbox clock cannot move backwards (now {iso(self._now)}, "
                                 f"asked for {iso(target)}); pass a later time.")
            self._now = target
            return self._now

    # ----------------------------------------------------------------- build
    def _build_people(self) -> None:
        rng = make_rng(self.seed, "people")
        names: set[str] = {spec[0] for spec in TEAM_SPECS.values()}
        emails: set[str] = {spec[1] for spec in TEAM_SPECS.values()}
        leadership.reserve_names(names, emails)
        agents = make_people(self.seed, rng, self.size.n_agents - 1, "agent", "Customer Care Agent",
                             "Customer Care", names, emails)
        agents.insert(3, Person(make_id(self.seed, "user", "agent", "script"), SCRIPT_NAME,
                                "script.agent@demo.example", "Customer Care Agent",
                                "Customer Care"))
        # one agent who left: still referenced by history, listed only with state=inactive
        if len(agents) > 5:
            a = agents[-1]
            agents[-1] = Person(a.id, a.name, a.email, a.title, a.department, "inactive")
        self.agents = agents
        for p in agents:
            self.people[p.id] = p
        for team, (cname, cemail, _) in TEAM_SPECS.items():
            cal = Person(make_id(self.seed, "user", "calibrator", team), cname, cemail,
                         "Quality Lead", "Quality")
            panel = make_people(self.seed, rng, self.size.n_evaluators.get(team, 3),
                                f"evaluator-{team}", "Quality Evaluator", "Quality", names, emails)
            self.people[cal.id] = cal
            for p in panel:
                self.people[p.id] = p
            self.teams[team] = {"calibrator_email": cemail, "calibrator_id": cal.id,
                                "panel_ids": tuple(p.id for p in panel), "expert_id": cal.id}
        leadership.add_team(self)

    def _build_truth(self) -> None:
        rng = make_rng(self.seed, "truth")
        severity, noise, drift, reading, never = {}, {}, {}, {}, {}
        amb = {make_id(self.seed, "question", s.key): s.ambiguity for s in self.specs}
        months = list(self.size.months) + ["2026-11", "2026-12", "2027-01"]
        for team, info in self.teams.items():
            if team not in TEAM_SPECS:
                continue
            panel = info["panel_ids"]
            k = len(panel)
            spread = np.linspace(-4.0, 4.0, k) if k > 1 else np.zeros(1)
            sev = rng.permutation(spread) + rng.normal(0, 0.5, k)
            sev = sev - sev.mean()
            for pid, s in zip(panel, sev):
                severity[pid] = round(float(s), 3)
                noise[pid] = round(float(rng.uniform(0.4, 1.0)), 3)
            expert = info["expert_id"]
            severity[expert] = 0.0
            noise[expert] = round(float(rng.uniform(0.35, 0.7)), 3)
            mode = TEAM_SPECS[team][2]
            top = float(rng.uniform(11.0, 12.0))
            for i, m in enumerate(months):
                if mode == "drift":
                    steps = max(len(self.size.months) - 1, 1)
                    wobble = rng.normal(0, 0.4) if 0 < i < steps else 0.0
                    value = top * min(i, steps) / steps + wobble
                    if i > steps:
                        value = top + 0.5 * (i - steps)
                else:
                    value = rng.normal(0, 0.5)
                drift[(expert, m)] = round(float(value), 3)
            if k:
                never[panel[-1]] = 0.35
            for pid in (*panel, expert):
                raw = {q: float(rng.normal(0, 0.045)) * a * a for q, a in amb.items()}
                centre = float(np.mean(list(raw.values())))
                for q, v in raw.items():
                    reading[(pid, q)] = round(v - centre, 4)
        leadership.add_truth(self, severity, noise, reading, amb)
        quality = {}
        for p in self.agents:
            # mid-range agents: the thresholds of a lenient or drifting evaluator stay below 1
            quality[p.id] = round(float(rng.uniform(0.64, 0.82)), 4)
        self._agent_level = dict(quality)
        self._drift_by_month: dict[str, dict[str, float]] = {}
        for (cid, m), value in drift.items():
            self._drift_by_month.setdefault(cid, {})[m] = value
        self.truth = Truth(
            evaluator_severity=MappingProxyType(severity),
            evaluator_noise=MappingProxyType(noise),
            calibrator_drift=MappingProxyType(drift),
            question_ambiguity=MappingProxyType(amb),
            agent_quality=MappingProxyType({a: self._expected_total(lvl)
                                            for a, lvl in quality.items()}),
            teams=MappingProxyType({t: MappingProxyType(dict(v)) for t, v in self.teams.items()}),
            evaluator_reading=MappingProxyType(reading),
            never_finishes=MappingProxyType(never),
        )

    def _expected_total(self, level: float) -> float:
        """Expected total on the latest published form for an unbiased, noiseless evaluator."""
        form = self.forms[1]
        by_key = {s.key: s for s in self.specs}
        key_by_qid = {v: k for k, v in self.qid_by_key[form["id"]].items()}
        num = den = 0.0
        for g in form["questionGroups"]:
            for q in g["questions"]:
                s = by_key[key_by_qid[q["id"]]]
                top = max(o["value"] for o in q["answerOptions"])
                share = (simulate.KILL_PASS_RATE if s.kill else
                         min(max(level + s.difficulty, 0.05), 0.95))
                num += g["weight"] * top * share
                den += g["weight"] * top
        return round(100.0 * num / den, 3)

    def _form_for(self, when: datetime) -> dict:
        return self.forms[0] if _month_of(when) < V2_FROM else self.forms[1]

    def _build_history(self) -> None:
        rng = make_rng(self.seed, "history")
        for team in TEAM_SPECS:
            if team not in self.teams:
                continue
            months = self.size.months if team != "pilot" else self.size.months[-1:]
            per_month = self.size.calls_per_month.get(team, 1)
            for month in months:
                start = _month_start(month)
                agents = rng.choice(len(self.agents) - 1, size=per_month,
                                    replace=per_month > len(self.agents) - 1)
                for i in range(per_month):
                    day = int(rng.integers(2, 26))
                    created = start + timedelta(days=day, hours=int(rng.integers(8, 17)))
                    conv_start = created - timedelta(days=float(rng.uniform(1, 4)))
                    self._add_history_calibration(team, f"{team} {month} #{i + 1}",
                                                  self.agents[int(agents[i])], conv_start,
                                                  created, rng, finish_all=True)
        if "demo" in self.teams and per_month_for(self.size, "demo"):
            created = datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc)
            n = min(max(per_month_for(self.size, "demo"), 1), 6)
            agents = rng.choice(len(self.agents) - 1, size=n, replace=n > len(self.agents) - 1)
            for i in range(n):
                conv_start = datetime(2026, 10, 27, 9, tzinfo=timezone.utc) + timedelta(
                    days=float(rng.uniform(0, 4)))
                self._add_history_calibration("demo", f"demo 2026-11 #{i + 1}",
                                              self.agents[int(agents[i])], conv_start, created,
                                              rng, finish_all=False)
        leadership.add_history(self)

    def _add_history_calibration(self, team: str, name: str, agent: Person, conv_start: datetime,
                                 created: datetime, rng: np.random.Generator, *,
                                 finish_all: bool) -> Calibration:
        info = self.teams[team]
        conv_id = self.conversations.add_calibrated(agent.id, conv_start)
        form = self._form_for(created)
        cal = self._new_calibration(name, team, info["calibrator_id"], agent.id, conv_id,
                                    form["id"], created, info["expert_id"], list(info["panel_ids"]))
        n = len(cal.evaluation_ids)
        if finish_all:
            starts = rng.uniform(2, 48, n)
            works = rng.uniform(0.3, 80, n)
            for j, eid in enumerate(cal.evaluation_ids):
                ev = self.evaluations[eid]
                ev.started_at = created + timedelta(hours=float(starts[j]))
                ev.finished_at = ev.started_at + timedelta(hours=float(works[j]))
            return cal
        for j, eid in enumerate(cal.evaluation_ids):
            ev = self.evaluations[eid]
            # the open November session: a mix of finished, in progress and pending
            phase = j % 3 if ev.role == "evaluator" else 0
            if phase == 0:
                ev.started_at = created + timedelta(days=float(rng.uniform(0.5, 2)))
                ev.finished_at = ev.started_at + timedelta(days=float(rng.uniform(0.1, 2.5)))
            elif phase == 1:
                ev.started_at = created + timedelta(days=float(rng.uniform(5.2, 6.5)))
                ev.finished_at = START_CLOCK + timedelta(days=float(rng.uniform(1, 5)))
            else:
                ev.started_at = START_CLOCK + timedelta(days=float(rng.uniform(3, 9)))
                ev.finished_at = (None if self.truth.never_finishes.get(ev.evaluator_id)
                                  else ev.started_at + timedelta(days=float(rng.uniform(1, 6))))
        return cal

    # ------------------------------------------------------------ mutations
    def next_id(self, kind: str) -> str:
        with self.lock:
            self._counter += 1
            return make_id(self.seed, kind, "posted", self._counter)

    def _new_calibration(self, name: str, team: str, calibrator_id: str, agent_id: str,
                         conversation_id: str, form_id: str, created: datetime,
                         expert_id: str | None, evaluator_ids: list[str]) -> Calibration:
        cal_id = make_id(self.seed, "calibration", len(self.calibrations), conversation_id)
        cal = Calibration(cal_id, name, team, calibrator_id, agent_id, conversation_id, form_id,
                          created, expert_id, list(evaluator_ids))
        self.calibrations[cal_id] = cal
        roles = [(expert_id, "expert")] if expert_id else []
        roles += [(e, "evaluator") for e in evaluator_ids if e != expert_id]
        for evaluator_id, role in roles:
            self._add_evaluation(cal, evaluator_id, role)
        cal.n_initial = len(cal.evaluation_ids)
        self.conversations.link(conversation_id, cal_id)
        return cal

    def _add_evaluation(self, cal: Calibration, evaluator_id: str, role: str) -> Evaluation:
        eid = make_id(self.seed, "evaluation", cal.id, evaluator_id)
        ev = Evaluation(eid, cal.id, cal.conversation_id, cal.agent_id, evaluator_id, role,
                        cal.form_id, cal.created, None, None)
        self.evaluations[eid] = ev
        cal.evaluation_ids.append(eid)
        return ev

    def plan_turnaround(self, ev: Evaluation) -> None:
        """Schedule when a simulated evaluator starts and finishes a new evaluation."""
        rng = make_rng(self.seed, "turnaround", ev.id)
        start = ev.created + timedelta(days=float(rng.uniform(0.1, 3.0)))
        if rng.random() < self.truth.never_finishes.get(ev.evaluator_id, 0.0):
            ev.started_at, ev.finished_at = (start if rng.random() < 0.3 else None), None
            return
        late = rng.random() < 0.15
        work = float(rng.uniform(10, 20)) if late else float(rng.uniform(0.2, 6.0))
        ev.started_at, ev.finished_at = start, start + timedelta(days=work)

    def team_of_calibrator(self, calibrator_id: str | None) -> str:
        for team, info in self.teams.items():
            if info["calibrator_id"] == calibrator_id:
                return team
        return "other"

    # -------------------------------------------------------------- answers
    def ensure_simulated(self, cal: Calibration) -> None:
        """Simulate (once) the answers of every evaluation of ``cal``."""
        evs = [self.evaluations[e] for e in cal.evaluation_ids]
        if all(ev.chosen is not None for ev in evs):
            return
        with self.lock:
            self._simulate_calibration(cal, evs)

    def evaluation_result(self, ev: Evaluation) -> tuple[dict, ScoringResult]:
        """The answers {question_id: (answer_id, marked_na, comment)} and Genesys scoring."""
        if ev.result is None:
            self.ensure_simulated(self.calibrations[ev.calibration_id])
            form = self.forms_by_id[ev.form_id]
            qids = self.qid_by_key[form["id"]]
            answers = {}
            for j, spec in enumerate(self.specs):
                qid = qids.get(spec.key)
                if qid is None:
                    continue
                if ev.na[j]:
                    answers[qid] = (None, True, None)
                    continue
                opts = self.options[qid]
                pick = int(ev.chosen[j]) if spec.kind == "scale" else (0 if ev.chosen[j] else 1)
                comment = (simulate.NEGATIVE_COMMENTS[int(ev.comment_idx[j])]
                           if ev.comment_idx[j] >= 0 else None)
                answers[qid] = (opts[pick]["id"], False, comment)
            result = score_evaluation(form, {"questionGroupScores": [
                {"questionGroupId": g["id"], "questionScores": [
                    {"questionId": q["id"], "answerId": answers[q["id"]][0],
                     "markedNA": answers[q["id"]][1], "comments": answers[q["id"]][2]}
                    for q in g["questions"]]} for g in form["questionGroups"]]})
            ev.answers, ev.result = answers, result
        return ev.answers, ev.result

    def _shift(self, evaluator_id: str, month: str) -> tuple[float, float]:
        """The evaluator's severity and (for a calibrator) drift that month, as shares."""
        sev = self.truth.evaluator_severity.get(evaluator_id, 0.0)
        drift = self._drift_by_month.get(evaluator_id)
        value = 0.0
        if drift:
            known = [m for m in drift if m <= month]
            value = drift[max(known)] if known else 0.0
        return sev / 100.0, value / 100.0

    def _readings(self, evaluator_id: str) -> np.ndarray:
        vec = self._reading_cache.get(evaluator_id)
        if vec is None:
            reading = self.truth.evaluator_reading
            vec = np.array([reading.get((evaluator_id, make_id(self.seed, "question", s.key)),
                                        0.0) for s in self.specs])
            self._reading_cache[evaluator_id] = vec
        return vec

    def _simulate_calibration(self, cal: Calibration, evs: list[Evaluation]) -> None:
        facts = simulate.call_facts(make_rng(self.seed, "facts", cal.conversation_id),
                                    self.spec_arrays)
        arr = self.form_arrays[cal.form_id]
        month = _month_of(cal.created)
        level = self._agent_level.get(cal.agent_id, 0.65)
        # the evaluations created with the calibration are one block from one stream; any
        # added later (PUT) get their own stream, so results never depend on request order
        blocks = [(make_rng(self.seed, "answers", cal.id), evs[:cal.n_initial])]
        blocks += [(make_rng(self.seed, "answers", ev.id), [ev]) for ev in evs[cal.n_initial:]]
        for rng, block in blocks:
            if not block or all(ev.chosen is not None for ev in block):
                continue
            shifts = np.array([self._shift(ev.evaluator_id, month) for ev in block])
            noises = np.array([self.truth.evaluator_noise.get(ev.evaluator_id, 4.0)
                               for ev in block]) / 100.0
            readings = np.stack([self._readings(ev.evaluator_id) for ev in block])
            chosen, na, comment_idx = panel.simulate_block(rng, self.spec_arrays, facts, level,
                                                           shifts[:, 0], shifts[:, 1], noises,
                                                           readings, arr)
            total, crit, failed = panel.totals(arr, chosen, na)
            for k, ev in enumerate(block):
                ev.chosen, ev.na, ev.comment_idx = chosen[k], na[k], comment_idx[k]
                ev.total, ev.critical, ev.failed_kill = (float(total[k]), float(crit[k]),
                                                         bool(failed[k]))

    # ---------------------------------------------------------------- tidy
    def active_calibrations(self) -> list[Calibration]:
        return [c for c in self.calibrations.values() if c.id not in self.deleted_calibrations]

    def _tidy_key(self) -> tuple:
        # everything a tidy frame depends on: the clock, what exists and what was deleted
        return (self._now, len(self.calibrations), len(self.evaluations),
                len(self.deleted_calibrations))

    def _memo(self, name: str, build) -> pd.DataFrame:
        with self.lock:
            key = self._tidy_key()
            hit = self._tidy_memo.get(name)
            if hit is None or hit[0] != key:
                hit = (key, build(self))
                self._tidy_memo[name] = hit
        return hit[1].copy()

    def tidy_scores(self) -> pd.DataFrame:
        """Every calibration evaluation as a ``calib.tables`` ``scores`` frame (at the clock).

        The frame is memoised on this org until the clock moves or a calibration or evaluation
        is added or deleted; each call returns its own copy.
        """
        return self._memo("scores", tidy.scores)

    def tidy_answers(self) -> pd.DataFrame:
        """Every finished evaluation's answers as a ``calib.tables`` ``answers`` frame
        (memoised like :meth:`tidy_scores`)."""
        return self._memo("answers", tidy.answers)


def per_month_for(size: OrgSize, team: str) -> int:
    return int(size.calls_per_month.get(team, 0))


def generate_org(seed: int = 7, *, n_agents: int | None = None,
                 n_evaluators: int | Mapping[str, int] | None = None,
                 months: int | Sequence[str] | None = None,
                 calls_per_month: int | Mapping[str, int] | None = None,
                 n_questions: int | None = None,
                 conversations_per_day: int | None = None) -> Org:
    """Generate the synthetic org deterministically from ``seed``.

    Parameters
    ----------
    seed : int
        Same seed, same org (ids, names, answers, JSON) byte for byte.
    n_agents : int, optional
        Number of agents (default 40, one of them named ``<script>alert(1)</script>``).
    n_evaluators : int or {team: int}, optional
        Panel size per team (default demo 6, north 5, pilot 3).
    months : int or sequence of "YYYY-MM", optional
        History months (default 2026-05 … 2026-10); an int takes that many months ending 2026-10.
    calls_per_month : int or {team: int}, optional
        Calibrations per team per month (default demo 6, north 5, pilot 1; pilot has history
        only in the last month).
    n_questions : int, optional
        Questions on the form (default 13 across two versions; more adds generic criteria).
    conversations_per_day : int, optional
        Regular (uncalibrated) conversations per day from 2026-09-28 on (default 150).

    Returns
    -------
    Org
        The in-memory org with ``truth``, ``tidy_scores()`` and ``tidy_answers()``.
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise ValueError(f"seed must be an integer, not {seed!r}.")
    base = OrgSize()

    def per_team(value, default, name):
        if value is None:
            return default
        if isinstance(value, Mapping):
            return MappingProxyType({**default, **{k: int(v) for k, v in value.items()}})
        if int(value) < 1:
            raise ValueError(f"{name} must be at least 1, got {value!r}.")
        return MappingProxyType({t: (int(value) if t != "pilot" else min(int(value), d))
                                 for t, d in default.items()})

    if isinstance(months, int):
        if not 1 <= months <= 60:
            raise ValueError(f"months={months} is out of range; give 1 to 60 history months.")
        end = pd.Period("2026-10", "M")
        months = tuple(str(end - k) for k in range(months - 1, -1, -1))
    elif months is not None:
        months = tuple(str(pd.Period(m, "M")) for m in months)
    if n_agents is not None and n_agents < 5:
        raise ValueError(f"n_agents={n_agents} is too small; the org needs at least 5 agents.")
    size = OrgSize(
        n_agents=int(n_agents or base.n_agents),
        n_evaluators=per_team(n_evaluators, base.n_evaluators, "n_evaluators"),
        months=months or base.months,
        calls_per_month=per_team(calls_per_month, base.calls_per_month, "calls_per_month"),
        n_questions=n_questions,
        conversations_per_day=int(conversations_per_day if conversations_per_day is not None
                                  else base.conversations_per_day),
    )
    return Org(int(seed), size)

"""The synthetic org: people, form versions, calibration history, ground truth and the clock.

``generate_org(seed)`` builds everything deterministically from the seed. The org is the
in-memory model the HTTP server serves; it can also be used in-process (``tidy_scores``,
``tidy_answers``) for ground-truth tests that need many seeds quickly.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from calib.scoring import ScoringResult, score_evaluation

from . import ai, ai_settings, care, history, panel, simulate, tidy, truth
from .conversations import ConversationStore
from .forms import QuestionSpec, build_forms, question_specs
from .history import START_CLOCK, month_of
from .ids import make_id, make_rng
from .mutations import Mutations
from .people import Person
from .truth import Truth

__all__ = ["Org", "Truth", "Calibration", "Evaluation", "generate_org", "START_CLOCK"]

HISTORY_MONTHS = ("2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10")


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
    ai_enabled: frozenset = frozenset()  # question ids AI-scored on its form at its creation
    independent_chosen: np.ndarray | None = None  # the evaluator's own answers where
    independent_na: np.ndarray | None = None      # anchoring on the AI changed some
    rescored_at: datetime | None = None  # set by PUT …/evaluations/{id} (Mutations.rescore)
    version: int = 1                     # Genesys's evaluation version, +1 per rescore

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
    ai_scoring: bool = True
    care_teams: int = 0


class Org(Mutations):
    """The in-memory sandbox org. Build it with :func:`generate_org`.

    Changes (posting calibrations, advancing the clock) go through the methods of
    :class:`calib.sandbox.mutations.Mutations`, which hold a lock (so the threaded HTTP server
    can share one org) and record each change in ``journal`` (so a persisted org can be rebuilt
    from its seed, see :mod:`calib.sandbox.persist`).
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
        self._ai_readings: dict[tuple[str, str], ai.AiReading] = {}
        self._ai_evaluations: dict[str, ai.EvaluationAi] = {}
        self._ai_masks: dict[tuple[str, frozenset], np.ndarray] = {}
        self._ai_arrays = None  # calib.sandbox.ai._QuestionArrays, built on first use
        self._facts_cache: dict[str, simulate.CallFacts] = {}
        # per form version: [(since, AI-scored question ids)], see calib.sandbox.ai_settings
        self.ai_settings = ai_settings.default_settings(self)
        for form in self.forms:
            if self.ai_settings[form["id"]]:
                form["aiScoring"] = ai_settings.settings_json(
                    form, self.ai_settings[form["id"]][-1][1])
        self.people: dict[str, Person] = {}
        self.agents: list[Person] = []
        self.teams: dict[str, dict] = {}
        self.calibrations: dict[str, Calibration] = {}
        self.evaluations: dict[str, Evaluation] = {}
        self.deleted_calibrations: set[str] = set()
        self._tidy_memo: dict[str, tuple[tuple, pd.DataFrame]] = {}
        self._counter = 0
        self.journal: list[dict] = []   # changes since generation, see calib.sandbox.mutations
        self.persistence = None         # a calib.sandbox.persist.OrgState when persisted
        # per form version whose questions read differently (calib.sandbox.care): its spec
        # arrays, and the factor on each evaluator's reading per spec
        self.form_spec_arrays: dict[str, simulate.SpecArrays] = {}
        self.form_reading_scale: dict[str, np.ndarray] = {}
        self._severity_path: dict[str, dict[str, float]] = {}
        self.truth: Truth
        truth.build_people(self)
        truth.build_truth(self)
        self.conversations = ConversationStore(self)
        history.build_history(self)
        care.add_care_teams(self)  # last, from their own streams: nothing above moves

    # ----------------------------------------------------------------- clock
    def now(self) -> datetime:
        """The sandbox clock (starts at 2026-11-09T09:00:00Z whatever the real date)."""
        return self._now

    # ----------------------------------------------------------------- build
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
        ev.ai_enabled = ai_settings.settings_at(self, cal.form_id, cal.created)
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
        path = self._severity_path.get(evaluator_id)
        if path:
            known = [m for m in path if m <= month]
            sev = path[max(known)] if known else path[min(path)]
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

    def call_facts(self, conversation_id: str) -> simulate.CallFacts:
        """What happened on the call, shared by the simulated evaluators and the AI (cached:
        an evaluator and the AI read the same facts, whatever the order they are asked in)."""
        facts = self._facts_cache.get(conversation_id)
        if facts is None:
            facts = self._facts_cache[conversation_id] = simulate.call_facts(
                make_rng(self.seed, "facts", conversation_id), self.spec_arrays)
        return facts

    def _simulate_calibration(self, cal: Calibration, evs: list[Evaluation]) -> None:
        facts = self.call_facts(cal.conversation_id)
        arr = self.form_arrays[cal.form_id]
        month = month_of(cal.created)
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
            if cal.form_id in self.form_reading_scale:
                readings = readings * self.form_reading_scale[cal.form_id][None, :]
            specs = self.form_spec_arrays.get(cal.form_id, self.spec_arrays)
            chosen, na, comment_idx = panel.simulate_block(rng, specs, facts, level,
                                                           shifts[:, 0], shifts[:, 1], noises,
                                                           readings, arr)
            ai.anchor(self, block, chosen, na, comment_idx)  # only where AI scoring ran
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

    def tidy_ai_answers(self) -> pd.DataFrame:
        """The AI's answers on every finished evaluation with AI scoring, one row per
        AI-enabled question (columns in :func:`calib.sandbox.tidy.ai_answers`); memoised
        like :meth:`tidy_scores`."""
        return self._memo("ai_answers", tidy.ai_answers)

    def anchoring_truth(self) -> pd.DataFrame:
        """Ground truth of anchoring on the AI: per finished evaluation with AI scoring and
        AI-enabled question, the evaluator's own answer and the one they submitted (columns in
        :func:`calib.sandbox.tidy.anchoring`); memoised like :meth:`tidy_scores`."""
        return self._memo("anchoring", tidy.anchoring)

    # ------------------------------------------------------------ AI scoring
    def ai_enabled(self, form_id: str) -> frozenset[str]:
        """The question ids AI-scored on form version ``form_id`` now (new evaluations)."""
        return ai_settings.settings_at(self, form_id, self._now)


def generate_org(seed: int = 7, *, n_agents: int | None = None,
                 n_evaluators: int | Mapping[str, int] | None = None,
                 months: int | Sequence[str] | None = None,
                 calls_per_month: int | Mapping[str, int] | None = None,
                 n_questions: int | None = None,
                 conversations_per_day: int | None = None, ai_scoring: bool = True,
                 care_teams: int = 0) -> Org:
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
    ai_scoring : bool
        Whether form v2 AI-scores ``calib.sandbox.ai.DEFAULT_AI_QUESTIONS`` from its
        publication (default True; every evaluation on v2, from 2026-08, then carries AI
        answers and evaluators anchor on them). False gives the org exactly as it was before
        the sandbox had AI scoring; settings can still be changed later through the PUT.
    care_teams : int
        Extra teams ``care-01`` … (at most 60) with a year of history on their own form, "Care
        Quality", whose version 2 rewrites an ambiguous question half-way through the year, and
        one evaluator (in ``care-01``) whose severity moves over the year: see
        :mod:`calib.sandbox.care` and ``Truth.form_change``/``Truth.moving_evaluator``. Built
        last from their own random streams, so the other teams' data is the same with or
        without them (default 0: none).

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
        ai_scoring=bool(ai_scoring),
        care_teams=care.check_count(care_teams),
    )
    return Org(int(seed), size)

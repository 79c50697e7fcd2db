"""The sandbox's Genesys AI scoring: how the AI reads each call, its failures, and evaluators
anchoring on its suggestions (docs/genesys-ai-scoring.md has the API side).

Model
-----
* **Settings** (:mod:`calib.sandbox.ai_settings`): per form version, which questions are
  AI-scored. An evaluation keeps the settings of its form version at its creation.
* **The AI reads a call once per form version** and the same reading is copied to every
  evaluation of that call [emulator choice, after the SDK's failure type
  ``DuplicateAutomatedFormWithCopiedScore``]. It reads the call's latent position ``u`` like
  the simulated evaluators (:func:`calib.sandbox.simulate.latent`): Yes when
  ``u < p + shift_q + noise_q·ε``, so ``shift_q`` acts like a severity on that one question
  (positive: lenient) and ``noise_q`` makes it misread borderline calls. Within
  ``confidence_band_q`` of its own threshold it declines to answer (``LowConfidenceError``).
* **N/A**: where a question clearly does not apply the AI marks it N/A, except with
  probability ``na_answered_q`` when it answers Yes instead ("no hold was needed, so hold was
  used appropriately"); where it applies, it marks N/A with probability ``na_invented_q``;
  where applicability is debatable it decides like an evaluator.
* **Failures**: a whole run fails (``aiScoring.failureType``) at the rates in
  ``Truth.ai_failure_rates`` and always inside ``Truth.ai_quota_exhausted`` (the org's AI quota
  ran out); a single question fails at its ``failure_rates``.
* **Anchoring**: an evaluator forms their own answer; where it differs from the AI's prefilled
  answer they keep the AI's with probability ``Truth.ai_acceptance[evaluator]``. Every other
  draw of the simulation is untouched, so without AI scoring the org is as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, Mapping

import numpy as np

from . import simulate
from .ids import iso, make_id, make_rng

if TYPE_CHECKING:  # pragma: no cover
    from .org import Calibration, Evaluation, Org

__all__ = ["AiQuestionTruth", "AiReading", "EvaluationAi", "DEFAULT_AI_QUESTIONS",
           "LENIENT_QUESTION", "NA_CONFUSED_QUESTION", "EVALUATION_FAILURE_RATES",
           "build_truth", "read_call", "evaluation_ai", "anchor", "with_ai_answers",
           "ai_scoring_json"]

# the questions AI-scored on form v2 (from its publication, so from 2026-08): clear criteria
# an LLM reads well, one judgement call it reads leniently and one applicability question whose
# N/A it confuses. Not product knowledge (too ambiguous for the team to trust), not the 1–5
# scale (Genesys allows at most three answer options with AI scoring) and not the fatal
# disclosure: one misread fatal answer kept by an evaluator zeroes their whole evaluation.
DEFAULT_AI_QUESTIONS = ("greeting", "verify", "confirm", "empathy", "hold", "further_help")
LENIENT_QUESTION = "empathy"
NA_CONFUSED_QUESTION = "hold"

# per AI run (one call on one form version); QuotaReached comes from the quota windows instead
EVALUATION_FAILURE_RATES = MappingProxyType(
    {"ServiceError": 0.010, "ParsingError": 0.005, "InvalidRequest": 0.003})
QUESTION_FAILURE_ORDER = ("LowHistoricalAccuracyError", "ParsingError", "ServiceError")
AI_LATENCY_SECONDS = (40.0, 300.0)

ReadingKind = Literal["reads well", "lenient", "confuses N/A"]

EXPLANATIONS = {
    "yes": ('The transcript shows the agent met "{text}".',
            'Yes: the agent did this clearly & the customer acknowledged it ("thanks, that '
            'helps").'),
    "no": ('No evidence in the transcript that the agent met "{text}".',
           "The agent skipped this <b>entirely</b>; the customer had to ask again."),
    "na": ('"{text}" does not apply to this conversation.',
           "Not applicable: nothing in the call called for it."),
}
_OUTCOMES = ("no", "yes", "na")


@dataclass(frozen=True)
class AiQuestionTruth:
    """How the sandbox's AI reads one question (ground truth; shares of the question's points).

    Attributes
    ----------
    reading : {"reads well", "lenient", "confuses N/A"}
    shift : float
        Shift of the AI's Yes threshold (0.15 = says Yes on about 15 % more calls than an
        unbiased reader, where the question leaves that room).
    noise : float
        SD of the AI's per-call wavering of that threshold (misreads of borderline calls).
    confidence_band : float
        Within this distance of its threshold the AI answers nothing (``LowConfidenceError``).
    na_answered : float
        Chance the AI answers Yes where the question clearly does not apply.
    na_invented : float
        Chance the AI marks N/A where the question clearly applies.
    failure_rates : {failureType: probability}
        Per call, for ``LowHistoricalAccuracyError``, ``ParsingError`` and ``ServiceError``.
    """

    reading: ReadingKind
    shift: float
    noise: float
    confidence_band: float
    na_answered: float
    na_invented: float
    failure_rates: Mapping[str, float]


def _question_truth(kind: ReadingKind, ambiguity: float, fatal: bool) -> AiQuestionTruth:
    badly_read = kind != "reads well"
    rates = MappingProxyType({"LowHistoricalAccuracyError": 0.08 if badly_read else 0.005,
                              "ParsingError": 0.004, "ServiceError": 0.003})
    if fatal:  # a compliance phrase: read near perfectly, never N/A
        return AiQuestionTruth(kind, 0.0, 0.004, 0.002, 0.0, 0.0, rates)
    return AiQuestionTruth(
        kind, 0.15 if kind == "lenient" else 0.0,
        round(0.03 + 0.08 * ambiguity ** 2, 4), round(0.008 + 0.04 * ambiguity, 4),
        0.45 if kind == "confuses N/A" else 0.03, 0.15 if kind == "confuses N/A" else 0.0,
        rates)


def build_truth(org: "Org") -> dict[str, Any]:
    """The AI's ground truth: per question reading, per evaluator acceptance, quota windows.

    Drawn from its own random stream, so the rest of the org's truth is as without AI.
    """
    rng = make_rng(org.seed, "ai-truth")
    questions = {}
    for spec in org.specs:
        if spec.kind != "yesno":
            continue  # at most three answer options with AI scoring
        kind: ReadingKind = ("lenient" if spec.key == LENIENT_QUESTION else
                             "confuses N/A" if spec.key == NA_CONFUSED_QUESTION else "reads well")
        questions[make_id(org.seed, "question", spec.key)] = _question_truth(
            kind, spec.ambiguity, spec.kill)
    # the experts (calibrators) and QM leads build the scoring index: they read every call
    # themselves and never keep an AI answer they disagree with, so the AI can be calibrated
    # against an independent reference
    acceptance: dict[str, float] = {}
    for info in org.teams.values():
        acceptance[info["expert_id"]] = acceptance[info["calibrator_id"]] = 0.0
    for team, info in org.teams.items():
        panel = [p for p in info["panel_ids"] if p not in acceptance]
        anchorer = int(rng.integers(len(panel))) if panel else -1
        for i, pid in enumerate(panel):
            value = rng.uniform(0.8, 0.9) if i == anchorer else rng.uniform(0.1, 0.5)
            acceptance[pid] = round(float(value), 3)
    windows = []
    ai_months = [m for m in org.size.months if m >= "2026-08"]
    if ai_months and org.size.ai_scoring:
        month = ai_months[int(rng.integers(len(ai_months)))]
        start = datetime(int(month[:4]), int(month[5:7]), int(rng.integers(23, 28)),
                         tzinfo=timezone.utc)
        end = (start.replace(day=1) + timedelta(days=32)).replace(day=1)
        windows.append((start, end))
    return {"ai_questions": MappingProxyType(questions),
            "ai_acceptance": MappingProxyType(acceptance),
            "ai_failure_rates": EVALUATION_FAILURE_RATES,
            "ai_quota_exhausted": tuple(windows)}


@dataclass(frozen=True)
class AiReading:
    """The AI's reading of one call on one form version, per question spec."""

    failure: str | None       # the whole run failed (before quota)
    answer: np.ndarray        # 1 Yes, 0 No, -1 none (N/A, failure or not AI-readable)
    na: np.ndarray            # marked N/A
    failure_type: np.ndarray  # question-level failureType or None
    explanation: np.ndarray   # text or None


def read_call(org: "Org", cal: "Calibration") -> AiReading:
    """How the AI reads ``cal``'s call on ``cal``'s form version (cached on the org)."""
    key = (cal.conversation_id, cal.form_id)
    hit = org._ai_readings.get(key)
    if hit is not None:
        return hit
    sa, truth = org.spec_arrays, org.truth.ai_questions
    facts = simulate.call_facts(make_rng(org.seed, "facts", cal.conversation_id), sa)
    p, u = simulate.latent(sa, facts, org._agent_level.get(cal.agent_id, 0.65))
    rng = make_rng(org.seed, "ai", cal.conversation_id, cal.form_id)
    n = sa.n_questions
    run, eps, na_draw = rng.random(), rng.normal(size=n), rng.random(n)
    fail_draw, pick = rng.random(n), rng.integers(0, 2, n)
    failure, edge = None, 0.0
    for name, rate in EVALUATION_FAILURE_RATES.items():
        edge += rate
        if failure is None and run < edge:
            failure = name
    first = np.r_[0, np.cumsum(np.bincount(sa.item, minlength=n))[:-1]]
    answer = np.full(n, -1)
    na = np.zeros(n, bool)
    failure_type = np.full(n, None, dtype=object)
    explanation = np.full(n, None, dtype=object)
    qids = org.qid_by_key[cal.form_id]
    for j, spec in enumerate(org.specs):
        t = truth.get(qids.get(spec.key, ""))
        if t is None:
            continue
        i = first[j]
        position, base = ((facts.passed_draw[i], simulate.KILL_PASS_RATE) if spec.kill
                          else (u[i], p[i]))
        threshold = base + t.shift + t.noise * eps[j]
        if spec.kill:
            marked_na = False
        elif facts.not_applicable[j]:
            marked_na = na_draw[j] >= t.na_answered
        elif facts.unclear_na[j]:
            marked_na = na_draw[j] < simulate.UNCLEAR_NA_SHARE
        else:
            marked_na = na_draw[j] < t.na_invented
        # where it clearly does not apply and the AI answers anyway, nothing was breached: Yes
        yes = bool(position < threshold) or bool(facts.not_applicable[j])
        edge = 0.0
        for name in QUESTION_FAILURE_ORDER:
            edge += t.failure_rates.get(name, 0.0)
            if fail_draw[j] < edge:
                failure_type[j] = name
                break
        if failure_type[j] is None and not marked_na and not facts.not_applicable[j] and \
                abs(position - threshold) < t.confidence_band:
            failure_type[j] = "LowConfidenceError"
        if failure_type[j] is not None:
            continue
        na[j] = marked_na
        answer[j] = -1 if marked_na else int(yes)
        outcome = "na" if marked_na else _OUTCOMES[int(yes)]
        explanation[j] = EXPLANATIONS[outcome][pick[j]].format(text=spec.text)
    reading = AiReading(failure, answer, na, failure_type, explanation)
    org._ai_readings[key] = reading
    return reading


@dataclass(frozen=True)
class EvaluationAi:
    """What AI scoring did for one evaluation."""

    enabled: np.ndarray        # bool per question spec: AI-enabled on the evaluation's form
    reading: AiReading
    failure: str | None        # aiScoring.failureType
    done_at: datetime          # aiScoring.dateLastChanged

    @property
    def prefilled(self) -> np.ndarray:
        """Questions the evaluator found answered (or marked N/A) by the AI."""
        if self.failure is not None:
            return np.zeros_like(self.enabled)
        return self.enabled & ((self.reading.answer >= 0) | self.reading.na)


def evaluation_ai(org: "Org", ev: "Evaluation") -> EvaluationAi | None:
    """AI scoring of ``ev``; None when its form version had no AI-enabled question."""
    if not ev.ai_enabled:
        return None
    cal = org.calibrations[ev.calibration_id]
    reading = read_call(org, cal)
    qids = org.qid_by_key[ev.form_id]
    enabled = np.array([qids.get(s.key) in ev.ai_enabled for s in org.specs])
    in_quota = any(start <= ev.created < end for start, end in org.truth.ai_quota_exhausted)
    latency = make_rng(org.seed, "ai-latency", ev.id).uniform(*AI_LATENCY_SECONDS)
    return EvaluationAi(enabled, reading, "QuotaReached" if in_quota else reading.failure,
                        ev.created + timedelta(seconds=float(latency)))


def anchor(org: "Org", block: "list[Evaluation]", chosen: np.ndarray, na: np.ndarray,
           comment_idx: np.ndarray) -> None:
    """Move each evaluator's answers toward the AI's prefill at their acceptance (in place).

    Each evaluation with AI scoring keeps its evaluator's own answers, before anchoring, in
    ``independent_chosen`` and ``independent_na`` (ground truth: :func:`calib.sandbox.tidy.
    anchoring`).
    """
    for k, ev in enumerate(block):
        ai = evaluation_ai(org, ev)
        if ai is None:
            continue
        ev.independent_chosen, ev.independent_na = chosen[k].copy(), na[k].copy()
        prefilled = ai.prefilled
        if not prefilled.any():
            continue
        r = ai.reading
        differs = prefilled & ((r.na != na[k]) | (~r.na & ~na[k] & (r.answer != chosen[k])))
        draws = make_rng(org.seed, "ai-anchor", ev.id).random(len(prefilled))
        take = differs & (draws < org.truth.ai_acceptance.get(ev.evaluator_id, 0.0))
        chosen[k] = np.where(take & ~r.na, r.answer, chosen[k])
        na[k] = np.where(take, r.na, na[k])
        comment_idx[k] = np.where(take, -1, comment_idx[k])


def ai_scoring_json(ai: EvaluationAi, now: datetime) -> dict[str, Any]:
    """The evaluation's ``aiScoring`` (``AiScoring``: failureType, pending, dateLastChanged)."""
    pending = now < ai.done_at
    out: dict[str, Any] = {}
    if ai.failure is not None and not pending:
        out["failureType"] = ai.failure
    out["pending"] = pending
    if not pending:
        out["dateLastChanged"] = iso(ai.done_at)
    return out


def with_ai_answers(org: "Org", ev: "Evaluation", answers: dict[str, Any]) -> dict[str, Any]:
    """``answers`` with ``aiAnswer`` on each AI-enabled question score (``AiAnswer``)."""
    ai = evaluation_ai(org, ev)
    if ai is None or ai.failure is not None:
        return answers
    index = {org.qid_by_key[ev.form_id].get(s.key): j for j, s in enumerate(org.specs)}
    options = org.options
    r = ai.reading
    for group in answers.get("questionGroupScores", ()):
        for score in group["questionScores"]:
            j = index.get(score["questionId"])
            if j is None or not ai.enabled[j]:
                continue
            if r.failure_type[j] is not None:
                score["aiAnswer"] = {"failureType": r.failure_type[j]}
                continue
            item: dict[str, Any] = {}
            if not r.na[j]:
                item["answerId"] = options[score["questionId"]][0 if r.answer[j] else 1]["id"]
            item["explanation"] = r.explanation[j]
            item["markedNotApplicable"] = bool(r.na[j])
            score["aiAnswer"] = item
    return answers

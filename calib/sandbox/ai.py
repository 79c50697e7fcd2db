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
from .ids import iso, make_id, make_rng, uniforms, unit

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


@dataclass(frozen=True)
class _QuestionArrays:
    """``Truth.ai_questions`` laid out per question spec (built once per org)."""

    readable: np.ndarray     # the AI can read it (yes/no question with a truth)
    first: np.ndarray        # index of the question's latent item
    kill: np.ndarray
    shift: np.ndarray
    noise: np.ndarray
    band: np.ndarray
    na_answered: np.ndarray
    na_invented: np.ndarray
    fail_edges: np.ndarray   # (n, len(QUESTION_FAILURE_ORDER)) cumulative failure rates
    explanations: np.ndarray  # (n, 3 outcomes no/yes/na, 2 variants) text


def _question_arrays(org: "Org") -> _QuestionArrays:
    if org._ai_arrays is not None:
        return org._ai_arrays
    sa, n = org.spec_arrays, org.spec_arrays.n_questions
    truth = [org.truth.ai_questions.get(make_id(org.seed, "question", s.key)) for s in org.specs]
    zero = _question_truth("reads well", 0.0, False)

    def col(name: str) -> np.ndarray:
        return np.array([getattr(t or zero, name) for t in truth], dtype=float)

    rates = np.array([[(t or zero).failure_rates.get(name, 0.0) for name in QUESTION_FAILURE_ORDER]
                      for t in truth])
    texts = np.empty((n, len(_OUTCOMES), 2), dtype=object)
    for j, spec in enumerate(org.specs):
        for o, outcome in enumerate(_OUTCOMES):
            for v, template in enumerate(EXPLANATIONS[outcome]):
                texts[j, o, v] = template.format(text=spec.text)
    arrays = _QuestionArrays(
        np.array([t is not None for t in truth]),
        np.r_[0, np.cumsum(np.bincount(sa.item, minlength=n))[:-1]], sa.kill.copy(),
        col("shift"), col("noise"), col("confidence_band"), col("na_answered"),
        col("na_invented"), np.cumsum(rates, axis=1), texts)
    org._ai_arrays = arrays
    return arrays


def read_call(org: "Org", cal: "Calibration") -> AiReading:
    """How the AI reads ``cal``'s call on ``cal``'s form version (cached on the org)."""
    key = (cal.conversation_id, cal.form_id)
    hit = org._ai_readings.get(key)
    if hit is not None:
        return hit
    sa, qa = org.spec_arrays, _question_arrays(org)
    facts = org.call_facts(cal.conversation_id)
    p, u = simulate.latent(sa, facts, org._agent_level.get(cal.agent_id, 0.65))
    rng = make_rng(org.seed, "ai", cal.conversation_id, cal.form_id)
    n = sa.n_questions
    run, eps, na_draw = rng.random(), rng.normal(size=n), rng.random(n)
    fail_draw, pick = rng.random(n), rng.integers(0, 2, n)
    edges = np.cumsum(list(EVALUATION_FAILURE_RATES.values()))
    failure = (list(EVALUATION_FAILURE_RATES)[int(np.argmax(run < edges))]
               if (run < edges).any() else None)
    readable = qa.readable & org.form_arrays[cal.form_id].on_form
    position = np.where(qa.kill, facts.passed_draw[qa.first], u[qa.first])
    threshold = np.where(qa.kill, simulate.KILL_PASS_RATE, p[qa.first]) + qa.shift + \
        qa.noise * eps
    clear_na = facts.not_applicable
    marked_na = ~qa.kill & np.where(
        clear_na, na_draw >= qa.na_answered,
        np.where(facts.unclear_na, na_draw < simulate.UNCLEAR_NA_SHARE, na_draw < qa.na_invented))
    # where it clearly does not apply and the AI answers anyway, nothing was breached: Yes
    yes = (position < threshold) | clear_na
    fails = fail_draw[:, None] < qa.fail_edges
    failure_type = np.where(fails.any(1), np.array(QUESTION_FAILURE_ORDER, dtype=object)[
        fails.argmax(1)], None)
    unsure = (failure_type == None) & ~marked_na & ~clear_na & \
        (np.abs(position - threshold) < qa.band)  # noqa: E711 (elementwise on objects)
    failure_type = np.where(unsure, "LowConfidenceError", failure_type)
    failure_type = np.where(readable, failure_type, None)
    answered = readable & (failure_type == None)  # noqa: E711
    na = answered & marked_na
    answer = np.where(answered & ~marked_na, yes.astype(int), -1)
    outcome = np.where(marked_na, 2, yes.astype(int))
    explanation = np.where(answered, qa.explanations[np.arange(n), outcome, pick], None)
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
    """AI scoring of ``ev``; None when its form version had no AI-enabled question (cached on
    the org: an evaluation's settings and creation never change)."""
    if not ev.ai_enabled:
        return None
    hit = org._ai_evaluations.get(ev.id)
    if hit is not None:
        return hit
    reading = read_call(org, org.calibrations[ev.calibration_id])
    low, high = AI_LATENCY_SECONDS
    latency = low + (high - low) * unit(org.seed, "ai-latency", ev.id)
    out = EvaluationAi(_enabled_mask(org, ev), reading, _run_failure(org, reading, ev),
                       ev.created + timedelta(seconds=latency))
    org._ai_evaluations[ev.id] = out
    return out


def _enabled_mask(org: "Org", ev: "Evaluation") -> np.ndarray:
    """Per question spec: AI-enabled on ``ev``'s form version at its creation."""
    key = (ev.form_id, ev.ai_enabled)
    mask = org._ai_masks.get(key)
    if mask is None:
        qids = org.qid_by_key[ev.form_id]
        mask = org._ai_masks[key] = np.array([qids.get(s.key) in ev.ai_enabled
                                              for s in org.specs])
    return mask


def _run_failure(org: "Org", reading: AiReading, ev: "Evaluation") -> str | None:
    for start, end in org.truth.ai_quota_exhausted:
        if start <= ev.created < end:
            return "QuotaReached"
    return reading.failure


def anchor(org: "Org", block: "list[Evaluation]", chosen: np.ndarray, na: np.ndarray,
           comment_idx: np.ndarray) -> None:
    """Move each evaluator's answers toward the AI's prefill at their acceptance (in place).

    ``block`` is evaluations of one calibration, so one AI reading. An evaluation whose answers
    anchoring changed keeps its evaluator's own answers in ``independent_chosen`` and
    ``independent_na`` (ground truth: :func:`calib.sandbox.tidy.anchoring`).
    """
    rows = np.array([k for k, ev in enumerate(block) if ev.ai_enabled], dtype=int)
    if not len(rows):
        return
    r = read_call(org, org.calibrations[block[0].calibration_id])
    answered = (r.answer >= 0) | r.na
    prefilled = np.stack([_enabled_mask(org, block[k]) & answered
                          if _run_failure(org, r, block[k]) is None
                          else np.zeros_like(answered) for k in rows])
    if not prefilled.any():
        return
    own_chosen, own_na = chosen[rows], na[rows]
    differs = prefilled & ((r.na != own_na) | (~r.na & ~own_na & (r.answer != own_chosen)))
    keep = np.array([org.truth.ai_acceptance.get(block[k].evaluator_id, 0.0) for k in rows])
    # one stream per block, keyed by its evaluations: the same draws whatever the request order
    draws = uniforms(org.seed, prefilled.size, "ai-anchor", *(block[k].id for k in rows))
    take = differs & (draws.reshape(prefilled.shape) < keep[:, None])
    for i in np.flatnonzero(take.any(1)):
        block[rows[i]].independent_chosen = own_chosen[i]
        block[rows[i]].independent_na = own_na[i]
    chosen[rows] = np.where(take & ~r.na, r.answer, own_chosen)
    na[rows] = np.where(take, r.na, own_na)
    comment_idx[rows] = np.where(take, -1, comment_idx[rows])


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

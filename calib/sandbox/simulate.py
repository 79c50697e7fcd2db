"""Simulated evaluators: how a panel answers the form for one calibrated conversation.

Model (all in "share of points", so 0.01 = one score point on a question's own scale):

* **what happened on the call** is shared by every evaluator. Per question the agent's true
  pass probability is ``p = level + difficulty + call effect``; whether the agent passed is a
  draw against ``p``, and *how clearly* is a margin ``x`` in (0, 1). The latent position of the
  call on the question is ``u = p − p·x`` (passed) or ``u = p + (1 − p)·x`` (failed), which is
  uniform on (0, 1) whatever ``x``'s joint law, so ``P(u < t) = t``;
* the margins of one call are **correlated** through a call-level clarity (a Gaussian copula):
  a clear-cut call is far from every boundary and the whole panel agrees, a borderline call is
  close to many and the panel splits. That is what gives a real team's mix of aligned calls
  and full sessions, without changing any evaluator's expected score;
* evaluator ``e`` answers Yes on a latent item when ``u < p + severity_e·pull_q +
  (drift_e + ε_e)·room_q + ambiguity²_q·reading_eq + η_eq``: ``severity_e`` acts on judgement
  calls (``QuestionSpec.leniency``: product knowledge most), a calibrator's ``drift`` and the
  day's shift ``ε_e`` loosen every criterion alike; both are spread in proportion to the room an
  item leaves (``min(p, 1 − p)``) and scaled per call so the weighted expected total moves by
  exactly the shift in points. ``reading_eq`` is the evaluator's own reading of an ambiguous
  question and ``η_eq`` a per-question jitter that grows with ambiguity (clear questions
  rarely flip);
* a 1–5 scale question is four latent items (steps) with staggered thresholds;
* the fatal question (the recording disclosure) is a fact of the call that every evaluator
  reads the same way; N/A is a fact on clear non-applicable calls, and on calls where the
  question's applicability is debatable each evaluator decides for themselves.

Because ``P(u < t)`` is linear in the threshold and every shift stays inside the item's room,
an evaluator's expected total moves by exactly their severity (or drift) in points, with no
ceiling at 100; readings are centred per evaluator so they barely leak into severity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .forms import QuestionSpec

SCALE_OFFSETS = np.array([-0.08, -0.03, 0.03, 0.08])
KILL_PASS_RATE = 0.98
CLARITY_CORRELATION = 0.25  # copula correlation of a call's margins (call-level clarity)
UNCLEAR_NA_SHARE = 0.4      # chance an evaluator marks N/A when applicability is debatable
P_RANGE = (0.05, 0.97)      # bounds of a question's true pass probability
JITTER_AMB = 0.02           # per-question wavering grows with ambiguity
CALL_EFFECT_SD = 0.03       # the agent's good or bad day, shared by every question of a call
NEGATIVE_COMMENTS = (
    "Missed the <b>key</b> point & moved on",
    'Said "we can\'t do that" without checking',
    "Customer asked twice; agent didn't confirm & closed",
    "Tone was flat <i>throughout</i>",
    "Skipped the step — see rubric note 'R&D'",
)


def judgement(specs: tuple[QuestionSpec, ...]) -> np.ndarray:
    """How strongly severity and drift act on each question: judgement calls most, fatal never."""
    return np.array([0.0 if s.kill else s.leniency for s in specs])


def _pull(room: np.ndarray, w_item: np.ndarray, counted: np.ndarray) -> np.ndarray:
    """Threshold shift per item for a unit shift of the expected total (0 where no room)."""
    movable = (w_item * room * counted).sum()
    return room * ((w_item * counted).sum() / movable if movable > 0 else 0.0)


def _items(specs: tuple[QuestionSpec, ...]) -> np.ndarray:
    """Question index of each latent item: one per yes/no question, four per scale question."""
    return np.repeat(np.arange(len(specs)), [4 if s.kind == "scale" else 1 for s in specs])


@dataclass(frozen=True)
class SpecArrays:
    """The question specs laid out as arrays, per question and per latent item (build once
    per org with :func:`spec_arrays`)."""

    n_questions: int
    item: np.ndarray         # question index of each latent item
    to_question: np.ndarray  # (n_items, n_questions) 0/1: sums item answers per question
    amb: np.ndarray          # per item
    diff_offset: np.ndarray  # per item: difficulty plus the scale step's offset
    judgement: np.ndarray    # per item
    kill: np.ndarray         # per question
    kill_item: np.ndarray
    scale: np.ndarray        # per question
    per_item: np.ndarray     # per item: items of its question
    na_rates: np.ndarray     # per question
    unclear: np.ndarray      # per question


def spec_arrays(specs: tuple[QuestionSpec, ...]) -> SpecArrays:
    """Arrays of ``specs`` for :func:`call_facts` and :func:`simulate_panel`."""
    item = _items(specs)
    n_q, n_i = len(specs), len(item)
    scale = np.array([s.kind == "scale" for s in specs])
    first = np.r_[True, item[1:] != item[:-1]]
    step = np.arange(n_i) - np.maximum.accumulate(np.where(first, np.arange(n_i), 0))
    offset = np.where(scale[item], SCALE_OFFSETS[np.minimum(step, 3)], 0.0)
    to_question = np.zeros((n_i, n_q), dtype=int)
    to_question[np.arange(n_i), item] = 1
    kill = np.array([s.kill for s in specs])
    return SpecArrays(
        n_q, item, to_question, np.array([s.ambiguity for s in specs])[item],
        np.array([s.difficulty for s in specs])[item] + offset, judgement(specs)[item], kill,
        kill[item], scale, np.bincount(item, minlength=n_q)[item],
        np.array([s.na_rate for s in specs]), np.array([s.na_unclear for s in specs]))


def _arrays(specs: "tuple[QuestionSpec, ...] | SpecArrays") -> SpecArrays:
    return specs if isinstance(specs, SpecArrays) else spec_arrays(specs)


@dataclass(frozen=True)
class CallFacts:
    """What happened on one conversation, shared by every evaluator (per latent item)."""

    passed_draw: np.ndarray     # uniform(0, 1) per item: passed when below p
    margin: np.ndarray          # how clearly passed or failed, uniform(0, 1) marginally
    not_applicable: np.ndarray  # bool per question: clearly does not apply
    unclear_na: np.ndarray      # bool per question: applicability is debatable on this call
    call_effect: float


def _normal_cdf(z: np.ndarray) -> np.ndarray:
    return np.array([0.5 * math.erfc(-v / math.sqrt(2.0)) for v in z.tolist()])


def call_facts(rng: np.random.Generator,
               specs: "tuple[QuestionSpec, ...] | SpecArrays") -> CallFacts:
    """Draw what happened on one call (see the module docstring)."""
    sa = _arrays(specs)
    n, n_items = sa.n_questions, len(sa.item)
    passed_draw = rng.random(n_items)
    clarity = rng.normal()
    z = math.sqrt(CLARITY_CORRELATION) * clarity + \
        math.sqrt(1.0 - CLARITY_CORRELATION) * rng.normal(size=n_items)
    margin = _normal_cdf(z)
    na_draw = rng.random(n)
    na_rates, unclear = sa.na_rates, sa.unclear
    call_effect = float(rng.normal(0.0, CALL_EFFECT_SD))
    return CallFacts(passed_draw, margin, na_draw < na_rates,
                     (na_draw >= na_rates) & (na_draw < na_rates + unclear), call_effect)


def latent(specs: "tuple[QuestionSpec, ...] | SpecArrays", facts: CallFacts,
           agent_level: float) -> tuple[np.ndarray, np.ndarray]:
    """The call's true pass probability ``p`` and latent position ``u`` per latent item.

    An unbiased, noiseless reader answers Yes on an item when ``u < p``; every simulated
    evaluator (and the sandbox's AI, :mod:`calib.sandbox.ai`) reads the same ``u``.
    """
    sa = _arrays(specs)
    p = np.clip(agent_level + sa.diff_offset + facts.call_effect, *P_RANGE)
    passed = facts.passed_draw < p
    return p, np.where(passed, p - p * facts.margin, p + (1.0 - p) * facts.margin)


def simulate_panel(rng: np.random.Generator, specs: "tuple[QuestionSpec, ...] | SpecArrays",
                   facts: CallFacts,
                   agent_level: float, severities: np.ndarray, drifts: np.ndarray,
                   noises: np.ndarray, readings: np.ndarray, weights: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Answers of several evaluators for one call.

    Parameters
    ----------
    severities : array (n_evaluators,)
        Expected shift of each evaluator's total from their severity, as a share (0.01 = one
        point); it acts on judgement calls (``QuestionSpec.leniency``).
    drifts : array (n_evaluators,)
        Expected shift from a calibrator's drift, same scale; a drifting calibrator loosens
        (or tightens) every criterion, so it acts on all questions alike.
    noises : array (n_evaluators,)
        SD of the evaluator's day-to-day shift of the total, same scale (acts like drift).
    readings : array (n_evaluators, n_questions)
        Each evaluator's centred reading shift per question (already times ambiguity).
    weights : array (n_questions,)
        Weighted possible points of each question on the form version used (0 = not on it).

    Returns
    -------
    chosen : int array (n_evaluators, n_questions)
        Option index chosen (yes/no: 1 = Yes, 0 = No; scale: 0..4 = text "1".."5").
    na, comments : bool arrays (n_evaluators, n_questions)
        Marked N/A; has a (negative) comment.

    Notes
    -----
    A shift acts on each latent item in proportion to the room the item leaves
    (``min(p, 1 − p)``) and to its judgement weight, scaled per call so that the weighted
    expected total moves by exactly the shift: lenient evaluators give the benefit of the doubt
    where there is doubt to give. With the org's severities (about ±4.5 points) and drift
    (up to 13 points) the shift stays inside every item's room in 99 % of evaluations; the rest
    (a lenient evaluator on the best agents' calls) lose a little to the ceiling.
    """
    sa = _arrays(specs)
    n_e, n_q = len(severities), sa.n_questions
    item, amb, kill, kill_item, scale = sa.item, sa.amb, sa.kill, sa.kill_item, sa.scale
    w_item = weights[item] / sa.per_item
    eps = rng.normal(0.0, 1.0, n_e) * noises
    # careful (low-noise) evaluators also waver less on individual questions
    jitter = (rng.normal(0.0, 1.0, (n_e, len(item))) * (0.005 + JITTER_AMB * amb)[None, :]
              * np.clip(noises / 0.02, 0.5, 1.5)[:, None])
    na_pick = rng.random((n_e, n_q))
    comment_draw = rng.random((n_e, n_q))
    p, u = latent(sa, facts, agent_level)
    u = u[None, :]
    counted = ~facts.not_applicable[item]
    room = np.minimum(p, 1.0 - p) * ~kill_item
    severity_pull = _pull(room * sa.judgement, w_item, counted)
    drift_pull = _pull(room, w_item, counted)
    threshold = (p[None, :] + severities[:, None] * severity_pull[None, :]
                 + (drifts + eps)[:, None] * drift_pull[None, :] + readings[:, item]
                 + jitter * ~kill_item[None, :])
    yes = u < threshold
    # the fatal question is a fact of the call, read the same way by everyone
    yes = np.where(kill_item[None, :], (facts.passed_draw < KILL_PASS_RATE)[None, :], yes)
    chosen = yes.astype(int) @ sa.to_question
    na = (facts.not_applicable[None, :] |
          (facts.unclear_na[None, :] & (na_pick < UNCLEAR_NA_SHARE))) & ~kill[None, :]
    low = np.where(scale[None, :], chosen <= 1, chosen == 0)
    comments = low & ~na & (comment_draw < 0.35)
    return chosen, na, comments

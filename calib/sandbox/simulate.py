"""Simulated evaluators: how a panel answers the form for one calibrated conversation.

Model (all in "share of points", so 0.01 = one score point):

* what happened on the call is shared by every evaluator: per question a uniform latent
  ``u`` and whether the question applies (N/A); the agent's true level ``a`` plus the question's
  difficulty plus a call effect give the true pass threshold ``p``;
* evaluator ``e`` answers Yes when ``u < p + δ_e + ambiguity_q·reading_eq + ε_e + η_eq``, with
  ``δ_e`` their severity (plus the calibrator's drift for the expert), ``reading_eq`` their own
  reading of an ambiguous question, ``ε_e ~ N(0, noise_e)`` per evaluation and ``η`` a small
  per-question jitter that grows with ambiguity;
* a 1–5 scale question counts how many of four staggered thresholds ``u`` passes.

Because the pass probability is linear in the threshold, an evaluator's expected total score
moves by exactly their severity in points (away from 0 and 100); readings are centred per
evaluator so they do not leak into severity. The fatal question (the recording disclosure) is a
fact of the call that every evaluator reads the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .forms import QuestionSpec

SCALE_OFFSETS = np.array([-0.15, -0.05, 0.05, 0.15])
KILL_PASS_RATE = 0.97
NEGATIVE_COMMENTS = (
    "Missed the <b>key</b> point & moved on",
    'Said "we can\'t do that" without checking',
    "Customer asked twice; agent didn't confirm & closed",
    "Tone was flat <i>throughout</i>",
    "Skipped the step — see rubric note 'R&D'",
)


@dataclass(frozen=True)
class CallFacts:
    """What happened on one conversation, shared by every evaluator."""

    latent: np.ndarray      # u per question, uniform(0, 1)
    not_applicable: np.ndarray  # bool per question
    call_effect: float


def call_facts(rng: np.random.Generator, specs: tuple[QuestionSpec, ...]) -> CallFacts:
    n = len(specs)
    latent = rng.random(n)
    na_draw = rng.random(n)
    na_rates = np.array([s.na_rate for s in specs])
    call_effect = float(rng.normal(0.0, 0.06))
    return CallFacts(latent, na_draw < na_rates, call_effect)


def simulate_panel(rng: np.random.Generator, specs: tuple[QuestionSpec, ...], facts: CallFacts,
                   agent_level: float, shifts: np.ndarray, noises: np.ndarray,
                   readings: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Answers of several evaluators for one call.

    Parameters
    ----------
    shifts, noises : arrays (n_evaluators,)
        Total shift δ (severity + drift, already scaled) and noise SD, both as point shares.
    readings : array (n_evaluators, n_questions)
        Each evaluator's centred reading shift per question (already times ambiguity).

    Returns
    -------
    points : int array (n_evaluators, n_questions), option index chosen (yes/no: 1 = Yes, 0 = No;
        scale: 0..4 = text "1".."5"); marked N/A and comments flags per cell.
    """
    n_e, n_q = len(shifts), len(specs)
    amb = np.array([s.ambiguity for s in specs])
    diff = np.array([s.difficulty for s in specs])
    kill = np.array([s.kill for s in specs])
    scale = np.array([s.kind == "scale" for s in specs])
    eps = rng.normal(0.0, 1.0, n_e) * noises
    # careful (low-noise) evaluators also waver less on individual questions
    jitter = (rng.normal(0.0, 1.0, (n_e, n_q)) * (0.02 + 0.15 * amb)[None, :]
              * np.clip(noises / 0.04, 0.4, 1.5)[:, None])
    comment_draw = rng.random((n_e, n_q))
    base = np.clip(agent_level + diff + facts.call_effect, 0.02, 0.98)
    threshold = base + shifts[:, None] + readings + eps[:, None] + jitter
    u = facts.latent[None, :]
    chosen = (u < threshold).astype(int)
    if scale.any():
        steps = (u[..., None] < (threshold[..., None] + SCALE_OFFSETS)).sum(axis=-1)
        chosen = np.where(scale[None, :], steps, chosen)
    # the fatal question is a fact of the call, read the same way by everyone
    chosen = np.where(kill[None, :], (facts.latent < KILL_PASS_RATE).astype(int)[None, :], chosen)
    na = np.broadcast_to(facts.not_applicable[None, :] & ~kill[None, :], (n_e, n_q))
    low = np.where(scale[None, :], chosen <= 1, chosen == 0)
    comments = low & ~na & (comment_draw < 0.35)
    return chosen, na.copy(), comments


def answers_for(specs: tuple[QuestionSpec, ...], qid_by_key: dict[str, str],
                options: dict[str, list[dict]], chosen: np.ndarray, na: np.ndarray,
                comments: np.ndarray, comment_pick: int
                ) -> dict[str, tuple[str | None, bool, str | None]]:
    """One evaluator's answers as {question_id: (answer_id, marked_na, comment)}.

    ``qid_by_key`` maps question keys to the ids on the form version used (a key missing there
    is a question that version lacks); ``options`` maps question id to its answer options.
    """
    out: dict[str, tuple[str | None, bool, str | None]] = {}
    for j, spec in enumerate(specs):
        qid = qid_by_key.get(spec.key)
        if qid is None:
            continue
        if na[j]:
            out[qid] = (None, True, None)
            continue
        opts = options[qid]
        if spec.kind == "scale":
            answer = opts[int(chosen[j])]["id"]
        else:
            answer = opts[0]["id"] if chosen[j] == 1 else opts[1]["id"]
        comment = NEGATIVE_COMMENTS[(comment_pick + j) % len(NEGATIVE_COMMENTS)] \
            if comments[j] else None
        out[qid] = (answer, False, comment)
    return out


"""Per AI-scored question, a verdict in words — keep AI scoring on, review it, or turn it off —
with the evidence, from the AI's agreement with the expert (:mod:`calib.ai.agreement`).

The rules, each a sentence of evidence in the verdict:

* **turn off** when even the upper limit of the AC1 interval against the expert is below
  :data:`KEEP_AC1`: the AI confidently reads the question worse than the team accepts;
* **review** when the lower limit is below :data:`KEEP_AC1` (too uncertain to trust yet, or
  agreement is middling), when the AI's scored disagreements with the expert lean one way
  (exact sign test, p < :data:`LEAN_ALPHA`: it reads the question more leniently or more
  strictly), or when it disputes whether the question applies (N/A on one side only) on more
  than :data:`NA_DISPUTE_SHARE` of the calls (and at least :data:`MIN_NA_DISPUTES`);
* **keep on** otherwise.

The expert is the reference because the expert never keeps an AI answer they disagree with;
the panel's answers are not, because evaluators who keep the AI's answers agree with it by
construction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import pandas as pd

__all__ = ["Verdict", "QuestionVerdict", "KEEP_AC1", "LEAN_ALPHA", "NA_DISPUTE_SHARE",
           "MIN_NA_DISPUTES", "question_verdicts"]

Verdict = Literal["keep on", "review", "turn off"]

#: The AC1 against the expert a team accepts for an automated answer (Gwet 2014's benchmark
#: scale calls 0.8 the start of "almost perfect"/"very good" agreement).
KEEP_AC1 = 0.80
LEAN_ALPHA = 0.05
NA_DISPUTE_SHARE = 0.10
MIN_NA_DISPUTES = 3


@dataclass(frozen=True)
class QuestionVerdict:
    """What to do with AI scoring on one question, and why.

    Attributes
    ----------
    question_id, question_text : str
    verdict : {"keep on", "review", "turn off"}
    reasons : tuple of str
        The evidence, plain words first; the first reason decided the verdict.
    n_calls : int
        Calls where both the AI and the expert answered.
    ac1, ci_low, ci_high : float
        Gwet's AC1 of the AI against the expert, with its interval (N/A a category).
    """

    question_id: str
    question_text: str
    verdict: Verdict
    reasons: tuple[str, ...]
    n_calls: int
    ac1: float
    ci_low: float
    ci_high: float


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def question_verdicts(agreement: pd.DataFrame) -> tuple[QuestionVerdict, ...]:
    """A verdict per row of :func:`calib.ai.agreement.question_agreement_with_ai`."""
    out = []
    for r in agreement.itertuples(index=False):
        text = r.question_text or r.question_id
        n = int(r.n_calls)
        low, high, ac1 = r.ac1_expert_ci_low, r.ac1_expert_ci_high, r.ac1_expert
        same = (f"The AI gave the expert's answer on {_pct(r.percent_agreement_expert)} of "
                f"{n} calls" if n else "The AI and the expert never answered the same call")
        stats = (f"AC1 {ac1:.2f} (95% CI {low:.2f} to {high:.2f})"
                 if not math.isnan(low) else
                 f"AC1 {ac1:.2f}, no interval ({r.ac1_expert_note})" if not math.isnan(ac1)
                 else "no AC1")
        problems = []
        if not math.isnan(high) and high < KEEP_AC1:
            verdict: Verdict = "turn off"
            problems.append(f"{same}: it reads this question clearly worse than the team "
                            f"accepts ({stats}; keep needs {KEEP_AC1:.2f}).")
        else:
            verdict = "keep on"
            if math.isnan(low) or low < KEEP_AC1:
                verdict = "review"
                problems.append(f"{same}: not yet clearly good enough ({stats}; keep needs "
                                f"the lower limit at {KEEP_AC1:.2f} or more).")
        if r.lean_p_value < LEAN_ALPHA:
            way = "more leniently" if r.n_ai_higher > r.n_ai_lower else "more strictly"
            n_disagree = r.n_ai_higher + r.n_ai_lower
            n_way = max(r.n_ai_higher, r.n_ai_lower)
            problems.append(f"It reads the question {way} than the expert: {n_way} of its "
                            f"{n_disagree} scored disagreements go that way (sign test "
                            f"p = {r.lean_p_value:.3f}).")
            verdict = "review" if verdict == "keep on" else verdict
        if n and r.n_na_disputed >= MIN_NA_DISPUTES and r.n_na_disputed / n > NA_DISPUTE_SHARE:
            problems.append(f"It disputes whether the question applies (N/A on one side only) "
                            f"on {r.n_na_disputed} of {n} calls.")
            verdict = "review" if verdict == "keep on" else verdict
        if verdict == "keep on":
            problems.append(f"{same}, with no lean and no N/A dispute ({stats}).")
        out.append(QuestionVerdict(r.question_id, text, verdict, tuple(problems), n,
                                   float(ac1), float(low), float(high)))
    return tuple(out)

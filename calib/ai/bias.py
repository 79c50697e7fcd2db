"""The AI's total-score bias against the expert, the AI scored like one more evaluator.

For each call with a finished expert evaluation and an AI run that did not fail, the **AI's
evaluation** is the expert's answers with every answer the AI gave (or N/A it marked) put in
their place: the score the call would get if every AI suggestion were kept and the rest read as
the expert read it. Both it and the expert's own answers are scored with
:func:`calib.scoring.score_evaluation` (group weights, N/A and fatal/critical rules included),
so the difference is what the AI's reading alone does to the total. The AI then enters
:func:`calib.stats.bias.evaluator_bias` as one more evaluator against the expert (t interval).
"""

from __future__ import annotations

import math
from typing import Mapping

import pandas as pd

from calib.ai.agreement import AI_RATER
from calib.scoring import NA, score_evaluation
from calib.stats.bias import evaluator_bias
from calib.tables import NA_CATEGORY

__all__ = ["ai_scores", "ai_bias"]


def _allows_na(form: Mapping) -> dict[str, bool]:
    return {q["id"]: bool(q.get("naEnabled", False)) for g in form.get("questionGroups") or ()
            for q in g.get("questions") or ()}


def ai_scores(pairs: pd.DataFrame, answers: pd.DataFrame,
              forms: Mapping[str, Mapping]) -> pd.DataFrame:
    """A ``scores``-like frame with two finished rows per call: the expert's answers re-scored
    (role "expert") and the AI's evaluation (evaluator ``"AI"``), plus ``month``.

    ``pairs`` is :func:`calib.ai.agreement.paired_answers`; ``answers`` every answer of the
    expert evaluations (all questions); ``forms`` maps form id to the form JSON. Calls whose
    form is unknown, or whose expert left a question unanswered, are skipped. An N/A the AI
    marked on a question that does not allow N/A is not applied (Genesys would refuse it).
    """
    expert = answers[answers["role"] == "expert"]
    ai = pairs[(pairs["role"] == "expert") & pairs["ai_category"].notna()]
    ai_of = {(e, q): c for e, q, c in zip(ai["evaluation_id"], ai["question_id"],
                                          ai["ai_category"])}
    rows = []
    for (eid, cid, month, form_id), sub in expert.groupby(
            ["evaluation_id", "calibration_id", "month", "form_id"], sort=False):
        form = forms.get(form_id)
        if form is None or not any(k[0] == eid for k in ai_of):
            continue
        allows = _allows_na(form)
        own = {q: (NA if na else a) for q, a, na in zip(sub["question_id"], sub["answer_id"],
                                                        sub["marked_na"])}
        if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in own.values()):
            continue
        theirs = dict(own)
        for qid in own:
            cat = ai_of.get((eid, qid))
            if cat is None or (cat == NA_CATEGORY and not allows.get(qid, False)):
                continue
            theirs[qid] = NA if cat == NA_CATEGORY else cat
        for who, given in (("expert", own), (AI_RATER, theirs)):
            rows.append({"calibration_id": cid, "month": month, "evaluator_id": who,
                         "evaluator_name": who, "role": "expert" if who == "expert"
                         else "evaluator", "status": "FINISHED",
                         "total_score": score_evaluation(form, given,
                                                         unanswered="na").total_score})
    return pd.DataFrame(rows, columns=["calibration_id", "month", "evaluator_id",
                                       "evaluator_name", "role", "status", "total_score"])


def ai_bias(scored: pd.DataFrame, *, confidence: float = 0.95) -> dict[str, float]:
    """The AI's bias in points against the expert from :func:`ai_scores`: ``n``, ``bias``,
    ``sd``, ``ci_low``, ``ci_high`` (NaN where fewer than two calls)."""
    nan = float("nan")
    empty = {"n": 0, "bias": nan, "sd": nan, "ci_low": nan, "ci_high": nan}
    if scored["calibration_id"].nunique() < 1 or scored.dropna(subset=["total_score"]).empty:
        return empty
    usable = scored.dropna(subset=["total_score"])
    if usable.groupby("calibration_id").size().max() < 2:
        return empty
    table = evaluator_bias(usable, confidence=confidence, threshold=0.0)
    row = table[(table["evaluator_id"] == AI_RATER) & (table["reference"] == "expert")]
    if row.empty:
        return empty
    r = row.iloc[0]
    return {"n": int(r["n"]), "bias": float(r["bias"]), "sd": float(r["sd"]),
            "ci_low": float(r["ci_low"]), "ci_high": float(r["ci_high"])}

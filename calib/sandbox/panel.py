"""Vectorised simulation and scoring of a calibration's evaluations.

The org keeps, per evaluation, the chosen option index for every question spec, the N/A flags
and a comment index; totals are computed here with numpy using the same rules as
:func:`calib.scoring.score_evaluation` (a test checks both agree), so a large org (tens of
thousands of evaluations) can be generated in seconds. The JSON served by the HTTP server is
built with :mod:`calib.scoring` itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import simulate
from .forms import QuestionSpec


@dataclass(frozen=True)
class FormArrays:
    """A form version laid out per question spec (specs absent from the version are off-form)."""

    on_form: np.ndarray      # bool
    weight: np.ndarray       # group weight of the question
    max_points: np.ndarray   # highest option value
    yes_points: np.ndarray   # points of option "Yes" (1 per step for scale questions)
    critical: np.ndarray
    kill: np.ndarray
    scale: np.ndarray


def form_arrays(form: dict, specs: tuple[QuestionSpec, ...], qid_by_key: dict[str, str]
                ) -> FormArrays:
    by_qid = {q["id"]: (g, q) for g in form["questionGroups"] for q in g["questions"]}
    n = len(specs)
    on, w, mx, yes = np.zeros(n, bool), np.zeros(n), np.zeros(n), np.zeros(n)
    crit, kill, scale = np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, bool)
    weighted = form.get("weightMode", "SCALED") == "SCALED"
    for j, s in enumerate(specs):
        qid = qid_by_key.get(s.key)
        if qid is None or qid not in by_qid:
            continue
        g, q = by_qid[qid]
        values = [o["value"] for o in q["answerOptions"]]
        on[j] = True
        w[j] = float(g["weight"]) if weighted else 1.0
        mx[j] = max(values)
        yes[j] = 1.0 if s.kind == "scale" else float(q["answerOptions"][0]["value"])
        crit[j], kill[j], scale[j] = q["isCritical"], q["isKill"], s.kind == "scale"
    return FormArrays(on, w, mx, yes, crit, kill, scale)


def totals(arr: FormArrays, chosen: np.ndarray, na: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Total and critical scores (0–100, NaN over no possible points) and failed-kill flags."""
    counted = arr.on_form[None, :] & ~na
    points = chosen * arr.yes_points[None, :] * arr.weight[None, :] * counted
    possible = arr.max_points[None, :] * arr.weight[None, :] * counted
    with np.errstate(invalid="ignore", divide="ignore"):
        total = 100.0 * points.sum(1) / possible.sum(1)
        crit = 100.0 * (points * arr.critical).sum(1) / (possible * arr.critical).sum(1)
    failed = (counted & arr.kill[None, :] & (chosen == 0)).any(1)
    total = np.where(failed, 0.0, total)
    crit = np.where(failed & ~np.isnan(crit), 0.0, crit)
    return total, crit, failed


def simulate_block(rng: np.random.Generator,
                   specs: "tuple[QuestionSpec, ...] | simulate.SpecArrays",
                   facts: simulate.CallFacts, level: float, severities: np.ndarray,
                   drifts: np.ndarray, noises: np.ndarray, readings: np.ndarray,
                   arr: FormArrays
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Chosen options, N/A flags and comment indices (-1 = none) for several evaluators."""
    weights = arr.weight * arr.max_points * arr.on_form
    chosen, na, comments = simulate.simulate_panel(rng, specs, facts, level, severities,
                                                   drifts, noises, readings, weights)
    pick = rng.integers(0, len(simulate.NEGATIVE_COMMENTS), len(severities))
    n_q = specs.n_questions if isinstance(specs, simulate.SpecArrays) else len(specs)
    idx = (pick[:, None] + np.arange(n_q)[None, :]) % len(simulate.NEGATIVE_COMMENTS)
    return chosen, na, np.where(comments, idx, -1)

"""The monthly report's "AI scoring" section: Genesys AI scoring calibrated like one more
evaluator (:mod:`calib.ai`), in words first and coefficients after.

The section exists only when the history window holds AI answers (a form with AI-enabled
questions that AI scoring ran on): otherwise, and while the month's blind gate is closed,
:func:`show_ai_scoring` returns None, so the notebook cell shows nothing and the report is the
report without AI scoring. Everything user-supplied (question text, names, form text) is escaped.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from calib.ai.analysis import AiCalibration
from calib.report.display import Section, esc, fmt, table_html
from calib.report.parallel import section

__all__ = ["show_ai_scoring", "ai_scoring_for", "ai_scoring_section"]

_VERDICT_CLASS = {"keep on": "aligned", "review": "discuss", "turn off": "full_session"}


def ai_scoring_for(data: Any) -> AiCalibration | None:
    """The AI calibration of the report's team over its history window: read in the report's
    one store session by :func:`calib.report.load_month` (``MonthData.ai``)."""
    return getattr(data, "ai", None)


@section
def show_ai_scoring(data: Any) -> Section | None:
    """The "AI scoring" section of the report, or None (nothing to show, nothing displayed)."""
    if data.gate_closed:
        return None
    result = ai_scoring_for(data)
    if result is None:
        return None
    return ai_scoring_section(result, name_of=data.name_of)


def _pct(x: float) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.0f}%"


def _ci(est: float, low: float, high: float) -> str:
    if math.isnan(est):
        return "–"
    if math.isnan(low):
        return f"{fmt(est)} (no interval)"
    return f"{fmt(est)} ({fmt(low)} to {fmt(high)})"


def ai_scoring_section(result: AiCalibration, *, name_of: Any = str) -> Section:
    """The section's HTML from an :class:`~calib.ai.analysis.AiCalibration`.

    ``name_of`` turns a user id into a display name (the report's ``MonthData.name_of``).
    """
    verdicts = result.verdicts
    counts = pd.Series([v.verdict for v in verdicts]).value_counts()
    words = ", ".join(f"{counts[k]} {k}" for k in ("turn off", "review", "keep on")
                      if k in counts)
    parts = [f'<p class="action">Genesys AI suggested answers on {len(verdicts)} question(s) '
             f"of the form. Against the expert's answers: {esc(words)}. "
             f"{esc(result.bias.sentence())}</p>",
             "<p>The AI is read like one more evaluator, never as the reference: the expert, "
             "who never keeps an AI answer they disagree with, is.</p>"]
    kept = result.anchoring.set_index("question_id") if not result.anchoring.empty \
        else pd.DataFrame()
    rows = []
    for v in verdicts:
        k = kept.loc[v.question_id] if v.question_id in kept.index else None
        kept_text = ("–" if k is None else
                     f"{_pct(k['kept_rate'])} of {int(k['n_prefilled'])} "
                     f"({int(k['n_kept_wrong'])} not the expert's)")
        badge = f'<span class="tier tier-{_VERDICT_CLASS[v.verdict]}">{esc(v.verdict)}</span>'
        rows.append((esc(v.question_text), badge, esc(v.reasons[0]) if v.reasons else "",
                     esc(kept_text)))
    parts.append("<h3>What to do per question</h3>" + table_html(
        rows, ["question", "AI scoring", "why", "panel kept the AI's answer"], raw=(0, 1, 2, 3)))
    more = [(esc(v.question_text), esc(r)) for v in verdicts for r in v.reasons[1:]]
    if more:
        parts.append("<h3>More evidence</h3>" + table_html(more, ["question", "evidence"],
                                                            raw=(0, 1)))
    who = result.evaluators.dropna(subset=["kept_rate_when_ai_wrong"])
    if not who.empty:
        parts.append("<h3>Who keeps the AI's answers</h3><p>Where the AI's answer was not the "
                     "expert's, an evaluator reading the call for themselves seldom keeps it; "
                     "a high share means they may be accepting the suggestion unread.</p>"
                     + table_html([(name_of(r.evaluator_id), _pct(r.kept_rate_when_ai_wrong),
                                    r.n_ai_wrong, _pct(r.kept_rate))
                                   for r in who.itertuples(index=False)],
                                  ["evaluator", "kept when the AI was not the expert's",
                                   "such answers", "kept overall"], numeric=(1, 2, 3)))
    parts.append("<h3>Failures</h3>" + _failures(result))
    if not result.bias_trend.empty:
        by_month = result.trend.groupby("month")["percent_agreement_expert"].mean()
        parts.append("<h3>By month</h3>" + table_html(
            [(r.month, r.n_runs, _pct(r.run_failure_rate),
              _pct(by_month.get(r.month, math.nan)), r.n,
              _ci(r.bias, r.ci_low, r.ci_high)) for r in result.bias_trend.itertuples()],
            ["month", "evaluations AI-scored", "runs failed", "AI gave the expert's answer",
             "calls", "AI − expert, points (95% CI)"], numeric=(1, 2, 3, 4, 5)))
    parts.append("<h3>Coefficients</h3>" + table_html(
        [(esc(v.question_text), v.n_calls, esc(_ci(v.ac1, v.ci_low, v.ci_high)),
          esc(_ci(q.ac1_panel_with_ai, q.ac1_panel_with_ai_ci_low, q.ac1_panel_with_ai_ci_high)),
          fmt(q.ac1_panel))
         for v, q in zip(verdicts, result.questions.itertuples(index=False))],
        ["question", "calls", "AC1 AI vs expert (95% CI)", "panel AC1 with the AI (95% CI)",
         "panel AC1 alone"], numeric=(1, 2, 3, 4), raw=(0,)) +
        "<p>Gwet's AC1 with N/A as a category; the AI's total is the expert's evaluation "
        "with the AI's answers in place, scored with the form's weights, N/A and fatal "
        "rules.</p>")
    return Section("AI scoring", "".join(parts))


def _failures(result: AiCalibration) -> str:
    f = result.failures
    runs = f[f["level"] == "evaluation"]
    text = (f"<p>AI scoring ran on {result.n_runs} evaluation(s) and failed on "
            f"{result.n_failed_runs}")
    if not runs.empty:
        text += " (" + ", ".join(f"{esc(r.failure_type)} {r.n}" for r in runs.itertuples()) + ")"
    text += ".</p>"
    questions = f[f["level"] == "question"]
    if not questions.empty:
        names = {v.question_id: v.question_text for v in result.verdicts}
        text += table_html([(esc(names.get(r.question_id, r.question_id)), esc(r.failure_type),
                             r.n, _pct(r.rate)) for r in questions.itertuples()],
                           ["question", "the AI gave no answer because", "times", "share"],
                           numeric=(2, 3), raw=(0, 1))
    return text

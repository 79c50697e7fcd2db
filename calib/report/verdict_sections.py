"""The report's sections that speak the verdicts: the headline and "Who scores high or low".

Both read the one :class:`calib.verdicts.Verdicts` object that the analysis built, as does the
appendix's "Verdicts in numbers", so the headline, the evaluator table and the appendix cannot
disagree: every sentence is a method of the same frozen object.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from calib import charts, charts_severity
from calib.report.display import Section, esc, figure_html, fmt, table_html
from calib.report.parallel import section
from calib.verdicts.words import KOO_LI_SOURCE, REFERENCE_WORDS, window_words


def verdicts_of(data: Any) -> Any:
    """The month's :class:`calib.verdicts.Verdicts` (None while sealed or not computable)."""
    return None if data.gate_closed else data.analysis.verdicts


def _ci(c: dict | None, confidence: float, digits: int = 2) -> str:
    if not c:
        return "not computable"
    return (f"{fmt(c['value'], digits)} ({confidence:.0%} CI {fmt(c['ci_low'], digits)} to "
            f"{fmt(c['ci_high'], digits)}; {c.get('n_calls', 0)} calls)")


def headline_lines(data: Any) -> tuple[str, ...]:
    """The headline's sentences in reading order (also ``summary.json``'s ``headline``)."""
    if data.gate_closed:
        return ("Scores stay hidden until every evaluator has finished; chase the open "
                "evaluations listed below.",)
    verdicts = verdicts_of(data)
    if verdicts is None:
        why = data.analysis.problems.get("verdicts", "")
        return (f"Too few finished calibrations to judge the evaluators yet{': ' + why if why else ''}."
                " Pool more months (history_months) or add calls.",)
    return verdicts.headline()


def headline_sentence(data: Any) -> str:
    """The headline's first action (or the gate's instruction), in one sentence: what
    ``summary.json`` carries as ``headline``. Built from the same verdicts as the page."""
    if data.gate_closed:
        return headline_lines(data)[0]
    verdicts = verdicts_of(data)
    if verdicts is None or not verdicts.actions:
        return "Too few finished calibrations to judge the evaluators yet; pool more months."
    return verdicts.actions[0].sentence()


@section
def show_headline(data: Any) -> Section:
    """Consistency and its trend in words, then at most three actions with their evidence;
    the coefficients in a details line under them."""
    lines = headline_lines(data)
    verdicts = verdicts_of(data)
    if verdicts is None:
        return Section("Headline", f'<div class="calib-headline"><p class="action">'
                                   f'{esc(lines[0])}</p></div>')
    p = data.params
    confidence = float(p.get("confidence", 0.95))
    words = [x.sentence() for x in (verdicts.consistency, verdicts.trend) if x is not None]
    body = '<div class="calib-headline">' + "".join(f"<p>{esc(w)}</p>" for w in words)
    body += '<p class="calib-muted">What to do first:</p><ol class="calib-actions">' + "".join(
        f"<li><strong>{esc(a.title)}</strong> {esc(a.evidence)}</li>" for a in verdicts.actions)
    body += "</ol></div>"
    coef = data.analysis.coefficients
    details = [x.details() for x in (verdicts.consistency, verdicts.trend) if x is not None]
    details.append(f"This month alone: ICC(A,1) {_ci(coef.get('ICC(A,1)'), confidence)}; "
                   f"ICC(C,1) {_ci(coef.get('ICC(C,1)'), confidence)}; Krippendorff's alpha "
                   f"(interval) {_ci(coef.get('alpha'), confidence)}.")
    body += ('<details class="calib-details"><summary>Details (the coefficients)</summary>'
             + "".join(f"<p>{esc(d)}</p>" for d in details) + "</details>")
    figures = {}
    trend = data.analysis.trend
    if trend is not None and not trend.empty:
        figures["trend"] = charts.reliability_trend(trend, confidence=confidence)
        body += figure_html(
            figures["trend"], alt="Consistency by month",
            caption=(f"How alike evaluators score the same call, month by month (1 = identical "
                     f"scores; {KOO_LI_SOURCE}). n: calls scored by the panel that month. The "
                     f"verdict above pools the months, which one month's few calls cannot "
                     f"settle."))
    return Section("Headline", body, figures)


def evaluator_frame(verdicts: Any, data: Any) -> pd.DataFrame:
    """One row per panel evaluator, in the verdicts' order, with the out-of-tolerance counts."""
    rows = [dict(evaluator_id=v.evaluator_id, name=v.name, verdict=v.verdict,
                 severity=v.severity, ci_low=v.ci_low, ci_high=v.ci_high, n_calls=v.n_calls,
                 sentence=v.sentence()) for v in verdicts.evaluators]
    frame = pd.DataFrame(rows, columns=["evaluator_id", "name", "verdict", "severity", "ci_low",
                                        "ci_high", "n_calls", "sentence"])
    tolerance = data.analysis.evaluator_tolerance
    if tolerance is not None and not tolerance.empty:
        t = tolerance.set_index("evaluator_id")
        frame["n_out"] = frame["evaluator_id"].map(t["n_out"])
        frame["n_answers"] = frame["evaluator_id"].map(t["n_answers"])
    return frame


@section
def show_evaluators(data: Any) -> Section:
    """Who scores high or low over the history window, against the others on the same calls;
    who is moving; and, as a secondary view, the month against the expert."""
    verdicts = verdicts_of(data)
    if verdicts is None:
        return Section("", "")
    p = data.params
    threshold, confidence = float(p.get("bias_threshold", 3.0)), float(p.get("confidence", 0.95))
    tolerance = float(p.get("question_tolerance", 0.25))
    frame = evaluator_frame(verdicts, data)
    intro = (f"<p>Each evaluator's total scores are compared with {esc(REFERENCE_WORDS)} on the "
             f"calls they both scored, over {esc(window_words(verdicts.months[0], verdicts.months[-1]))}"
             f" (the history window), so one month's handful of calls does not decide. "
             f"<em>Lenient</em> or <em>harsh</em>: the gap is beyond ±{threshold:g} points and its "
             f"{confidence:.0%} CI excludes 0. The expert is judged separately (below), never "
             f"used as the yardstick.</p>")
    has_tol = "n_out" in frame
    rows = []
    for r in frame.itertuples(index=False):
        tol = (f"{int(r.n_out)} of {int(r.n_answers)}" if has_tol and pd.notna(r.n_out) else "–")
        rows.append((esc(r.name), f'<span class="verdict verdict-{esc(r.verdict.replace(" ", "-"))}">'
                                  f"{esc(r.verdict)}</span>", esc(r.sentence), esc(tol)))
    table = table_html(rows, ["evaluator", "verdict", "in words",
                              "answers out of tolerance this month"], raw=(0, 1, 2, 3))
    table += (f"<p class='calib-muted'>Out of tolerance: an answer more than "
              f"{tolerance:.0%} of the question's scale away from the other evaluators' answer "
              f"on the same call (a yes/no difference always is; one step on a 0–4 scale is "
              f"not).</p>")
    figures = {"severity": charts_severity.severity_forest(frame, threshold=threshold,
                                                           confidence=confidence)}
    body = intro + table + figure_html(
        figures["severity"], alt="Evaluator severity against the other evaluators",
        caption=(f"Points above or below the other evaluators on the same calls, over the "
                 f"history window, with {confidence:.0%} confidence intervals; n = shared "
                 f"calls. The gray band is ±{threshold:g} points."))
    severity = verdicts.severity
    if severity is not None and not severity.monthly.empty:
        flagged = [v.evaluator_id for v in verdicts.evaluators if v.flagged]
        figures["severity_by_month"] = charts_severity.severity_by_month(
            severity.monthly, threshold=threshold, highlight=flagged,
            verdict_of={v.evaluator_id: v.verdict for v in verdicts.evaluators})
        body += figure_html(figures["severity_by_month"], alt="Severity month by month",
                            caption="Each line is one evaluator's gap to the others, month by "
                                    "month; n: calls that month. A month rests on a few calls, "
                                    "so read the direction of a line, not a single point.")
    body += _expert_part(data, verdicts, figures, confidence)
    return Section("Who scores high or low", body, figures)


def _expert_part(data: Any, verdicts: Any, figures: dict, confidence: float) -> str:
    p = data.params
    parts = ["<h3>The expert</h3>"]
    for e in verdicts.experts:
        parts.append(f"<p>{esc(e.sentence())}</p>")
    if verdicts.drift is not None and not verdicts.drift.table.empty:
        status = verdicts.experts[0].status if verdicts.experts else ""
        figures["drift"] = charts_severity.expert_drift_chart(
            verdicts.drift.table, threshold=float(p.get("drift_threshold", 10.0)),
            confidence=confidence, status=status)
        parts.append(figure_html(
            figures["drift"], alt="The expert against the panel by month",
            caption=("The expert's score minus the panel's (each evaluator's severity taken "
                     "out), month by month; n: calls. A cross marks a month whose estimate is "
                     "outside the band; a verdict needs more than one such month or an interval "
                     "wholly outside it.")))
    bias = data.analysis.bias
    if bias is not None and not bias.empty and (bias["reference"] == "expert").any():
        vs_expert = bias[bias["reference"] == "expert"]
        figures["bias_vs_expert"] = charts.bias_forest(
            vs_expert.assign(flagged=False), threshold=float(p.get("bias_threshold", 3.0)),
            title="This month only: each evaluator minus the expert (points)",
            confidence=confidence)
        watch = [e.name for e in verdicts.experts if e.status in ("watch", "drift")]
        caveat = (f" {', '.join(watch)} is on {verdicts.experts[0].status}, so these gaps "
                  f"mostly measure the expert, not the evaluators." if watch else "")
        parts.append("<h3>Secondary view: this month against the expert</h3>" + figure_html(
            figures["bias_vs_expert"], alt="This month's scores against the expert",
            caption=("Each evaluator minus the expert on this month's calls only (few calls, "
                     f"wide intervals). The verdicts above do not use it.{caveat}")))
    return "".join(parts)


def verdict_details_html(data: Any) -> str:
    """The appendix's "Verdicts in numbers": each verdict's ``details()`` — the same objects
    the headline and the evaluator table read."""
    verdicts = verdicts_of(data)
    if verdicts is None:
        return ""
    items = [f"<li><strong>{esc(v.name)}</strong>: {esc(v.details())}</li>"
             for v in verdicts.evaluators]
    items += [f"<li><strong>{esc(e.name)}</strong> (expert): {esc(e.details())}</li>"
              for e in verdicts.experts]
    items += [f"<li><strong>{label}</strong>: {esc(x.details())}</li>"
              for label, x in (("Consistency", verdicts.consistency), ("Trend", verdicts.trend))
              if x is not None]
    problems = "".join(f"<li>{esc(k)}: {esc(v)}</li>" for k, v in verdicts.problems.items())
    return ("<h3>Verdicts in numbers</h3><ul class='calib-details-list'>" + "".join(items)
            + problems + "</ul>")

"""The report's sections, in reading order; each ``show_*`` returns a :class:`Section`.

Every user-supplied string (names, comments, form and question text) goes through ``esc``.
While the blind gate is closed only the header (with completion status) and the headline
sentence have content; every other section is empty, so no score can leak into the page.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from calib import charts
from calib.anonymity import KPI_NOTE
from calib.report.agenda_sections import show_agenda, show_questions, tier_html as _tier
from calib.report.dispute_section import disputes_html
from calib.report.display import Section, esc, figure_html, fmt, table_html
from calib.report.parallel import section
from calib.report.verdict_sections import show_evaluators, show_headline, verdict_details_html
from calib.verdicts.words import KOO_LI_SOURCE

__all__ = ["show_header", "show_headline", "show_evaluators", "show_calibrations",
           "show_questions", "show_agenda", "show_appendix", "show_session", "Section"]


@section
def show_header(data: Any) -> Section:
    """Team, month, form and version, panel, calibrator, completion and overdue evaluations."""
    status = data.status
    finished = int((status["status"] == "finished").sum()) if not status.empty else 0
    overdue = status[status["status"] == "overdue"] if not status.empty else status
    form_ids = list(dict.fromkeys(data.scores.loc[data.scores["month"] == data.month,
                                                  "form_id"].dropna()))
    forms = data.forms.set_index("form_id") if not data.forms.empty else pd.DataFrame()
    form_text = ", ".join(
        f"{forms.loc[f, 'name']} (version of {forms.loc[f, 'modified_date']:%Y-%m-%d})"
        if f in forms.index else str(f) for f in form_ids) or "–"
    panel = sorted(set(status.loc[status["role"] == "evaluator", "evaluator_name"].astype(str))) \
        if not status.empty else []
    experts = sorted(set(status.loc[status["role"] == "expert", "evaluator_name"].astype(str))) \
        if not status.empty else []
    rows = [
        ("Team", esc(data.team)), ("Month", esc(data.month)), ("Form", esc(form_text)),
        ("Calibrator", esc(", ".join(_calibrator_names(data)))),
        ("Expert", esc(", ".join(experts) or "–")),
        ("Panel", esc(", ".join(panel) or "–")),
        ("Calibrations", str(len(data.gate))),
        ("Completion", f"{finished} of {len(status)} evaluations finished"
         + (f"; <strong>{len(overdue)} overdue</strong>" if len(overdue) else "")),
        ("Blind gate", "closed: scores stay hidden until every evaluation is finished"
         if data.gate_closed else _gate_open_text(data)),
    ]
    if getattr(data, "pseudonyms", None):
        rows.append(("Agents", "shown by pseudonym, so the panel does not know whose call it is"))
    body = '<dl class="calib-kv">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows) \
        + f"</dl><p class='calib-muted'>{esc(KPI_NOTE)}</p>"
    if data.gate_closed and not status.empty:
        table = (status.assign(name=status["evaluator_name"].astype(str))
                 .groupby(["name", "role"])["status"].value_counts().unstack(fill_value=0)
                 .reset_index())
        cols = [c for c in ("finished", "in_progress", "pending", "overdue") if c in table]
        body += "<h3>Completion by evaluator</h3>" + table_html(
            table[["name", "role", *cols]].itertuples(index=False), ["evaluator", "role", *cols],
            numeric=range(2, 2 + len(cols)))
    return Section(f"Calibration report — {data.team}, {data.month}", body, level=1)


def _calibrator_names(data: Any) -> list[str]:
    """The calibrators by name (their email when the org does not know them)."""
    users = data.users
    by_email = ({str(e).lower(): n for e, n in zip(users["email"], users["name"])}
                if "email" in users.columns else {})
    return [str(by_email.get(str(e).lower()) or e) for e in data.params.get("calibrators", [])]


def _gate_open_text(data: Any) -> str:
    """"open", and who opened calibrations early (after their deadline) and why."""
    revealed = data.gate[data.gate["reason"].str.startswith("revealed by")] \
        if not data.gate.empty else data.gate
    if revealed.empty:
        return "open: every evaluation is finished"
    reasons = getattr(data, "reveal_reasons", {}) or {}
    lines = sorted({f"{r} ({reasons.get(c, '')})".replace(" ()", "")
                    for c, r in zip(revealed["calibration_id"], revealed["reason"])})
    return (f"open; {len(revealed)} calibration(s) opened after their deadline with "
            f"evaluations missing: " + "; ".join(esc(x) for x in lines))


@section
def show_calibrations(data: Any) -> Section:
    """One row per call, in the report's one call order, and the score strip chart."""
    variance = data.analysis.variance
    if data.gate_closed or variance is None:
        return Section("", "")
    p = data.params
    order = data.analysis.call_order or list(variance.table["calibration_id"])
    table = variance.table.set_index("calibration_id").loc[list(order)].reset_index()
    critical = {c.calibration_id for c in data.analysis.critical or ()}
    rows = [(_tier(r.tier), esc(data.call_label(r.calibration_id))
             + (" ⚠" if r.calibration_id in critical else ""),
             r.n_evaluators, fmt(r.mean, 1), fmt(r.sd, 1), fmt(r.range, 1), fmt(r.expert_score, 1),
             f"{r.within_5_share:.0%}" if pd.notna(r.within_5_share) else "–")
            for r in table.itertuples(index=False)]
    band = float(p.get("aligned_max", 5))
    body = table_html(rows, ["tier", "call", "evaluators", "mean", "sd", "range", "expert",
                             f"within ±{band:g} of expert"],
                      numeric=range(2, 8), raw=(0, 1))
    counts = table["tier"].value_counts()
    body += (f"<p>{counts.get('aligned', 0)} aligned (range ≤ {band:g} points), "
             f"{counts.get('discuss', 0)} to discuss (up to {float(p.get('discuss_max', 15)):g}),"
             f" {counts.get('full_session', 0)} for a full session."
             + (" ⚠: the panel split on a critical or fatal question (see the questions "
                "section)." if critical else "") + "</p>")
    names = {c: data.call_label(c) for c in order}
    figures = {"strip": charts.score_strip(data.month_scores, variance.table, names=names,
                                           band=band, order=order)}
    body += figure_html(figures["strip"], alt="Scores per call",
                        caption=(f"Each circle is an evaluator's total score, the diamond the "
                                 f"expert's; the band spans ±{band:g} points around the expert "
                                 f"and takes the call's tier colour. n: evaluations of the call."))
    body += disputes_html(data)
    return Section("Calls", body, figures)


@section
def show_appendix(data: Any) -> Section:
    """Methods, what was excluded and why, sample-size warnings, and what could not be computed."""
    a = data.analysis
    p = data.params
    confidence = float(p.get("confidence", 0.95))
    parts = [verdict_details_html(data), "<h3>Methods</h3><p>Consistency: ICC(A,1), two-way random, "
             "absolute agreement, single evaluator, with McGraw &amp; Wong (1996) CIs, pooled "
             f"over the history window and read on the scale of {esc(KOO_LI_SOURCE)}; beside "
             "it ICC(C,1) and Krippendorff's alpha (interval) for the month. Trend: the slope of "
             "each call's spread of scores over the months, with a permutation test. Evaluator "
             "severity: a least-squares model of total score on call and evaluator (it handles "
             "panels where not everyone scored every call), each evaluator against the "
             "leave-one-out mean of the others, the expert left out. The expert: each month, "
             "the expert's score minus the severity-corrected panel mean. Questions: pairwise "
             "agreement and Gwet's AC1 (N/A is a category). Variance: G-study calls × "
             "evaluators and a D-study with Brennan's (2001) intervals. Tiers: range ≤ "
             f"{esc(p.get('aligned_max', 5))} aligned, ≤ {esc(p.get('discuss_max', 15))} "
             f"discuss, above: full session. Every interval is at {confidence:.0%}.</p>"]
    a_g = a.g
    if a_g is not None:
        fig = charts.variance_shares(a_g.components, a.d, confidence=confidence)
        needed, (low, high) = a.evaluators_needed, a.evaluators_needed_ci
        d = a.d
        one = (f"A single evaluator's score — the routine evaluation — has a dependability of "
               f"{fmt(d['phi'].iloc[0], 2)} ({confidence:.0%} CI {fmt(d['phi_low'].iloc[0], 2)} "
               f"to {fmt(d['phi_high'].iloc[0], 2)}). " if d is not None and len(d) else "")
        need = (f"Averaging {needed} evaluator(s) per call reaches 0.8 (between {low or '?'} and "
                f"{high or 'more than 10'} at {confidence:.0%}, from Φ's interval)."
                if needed else "No panel size up to 50 reaches 0.8.")
        parts.append("<h3>How many evaluators a dependable score needs</h3>" + figure_html(
            fig, alt="Where score variance comes from, and the D-study",
            caption=one + need + f" From {a_g.n_calls} calls and {a_g.n_evaluators} "
                                 f"evaluators this month."))
    warnings = a.warnings or []
    if warnings:
        parts.append("<h3>Sample-size warnings</h3>" + "".join(
            f'<p class="calib-warning">{esc(w)}</p>' for w in warnings))
    variance = a.variance
    excluded = variance.excluded if variance is not None else pd.DataFrame()
    parts.append("<h3>Excluded evaluations</h3>")
    if excluded is not None and not excluded.empty:
        counts = excluded.groupby("reason").size().reset_index(name="n")
        parts.append(table_html(counts.itertuples(index=False), ["reason", "evaluations"],
                                numeric=(1,)))
    else:
        parts.append("<p>None.</p>")
    problems = a.problems or {}
    if problems:
        parts.append("<h3>Not computed</h3>" + table_html(problems.items(),
                                                          ["statistic", "why"]))
    if data.notes:
        parts.append("<h3>Data notes</h3><ul>" + "".join(f"<li>{esc(n)}</li>" for n in data.notes)
                     + "</ul>")
    parts.append(f"<p class='calib-muted'>Store: {esc(data.store_display)}. Clock: "
                 f"{esc(data.now)}.</p>")
    return Section("Appendix", "".join(parts))


def show_session(data: Any, call: str | None = None) -> Section:
    """One call for interactive exploration: its scores and its disputed questions.

    ``call`` names it as the report does (``"Omar Fischer · e302d14c"``), by the short id in
    that label, or by its conversation or calibration id; empty: the report's first call."""
    if data.gate_closed:
        return Section("Session", "<p>Sealed: scores stay hidden until every evaluation is "
                                  "finished.</p>")
    scores = data.month_scores
    if scores.empty:
        return Section("Session", "<p>No open calibration this month.</p>")
    order = data.analysis.call_order or list(scores["calibration_id"])
    cal = data.find_call(call) if call else order[0]
    rows = scores[scores["calibration_id"] == cal].sort_values("total_score")
    body = table_html(((r.evaluator_name, r.role, r.status, fmt(r.total_score, 1))
                       for r in rows.itertuples(index=False)),
                      ["evaluator", "role", "status", "total score"], numeric=(3,))
    fig = charts.score_strip(rows, band=float(data.params.get("aligned_max", 5)))
    body += figure_html(fig, alt="Scores of this calibration")
    dis = data.analysis.disagreement
    if dis is not None:
        mine = dis[(dis["calibration_id"] == cal) & dis["disputed"].astype(bool)]
        body += "<h3>Disputed questions</h3>" + table_html(
            ((r.question_text, f"{r.agreement:.0%}", r.categories)
             for r in mine.itertuples(index=False)), ["question", "agreement", "answers"])
    return Section(f"Call {data.call_label(cal)}", body, {"strip": fig})

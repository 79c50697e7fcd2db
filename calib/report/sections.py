"""The report's sections, in reading order; each ``show_*`` returns a :class:`Section`.

Every user-supplied string (names, comments, form and question text) goes through ``esc``.
While the blind gate is closed only the header (with completion status) and the headline
sentence have content; every other section is empty, so no score can leak into the page.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from calib import charts
from calib.report.analysis import drift_suggestion, headline_sentence
from calib.report.display import Section, esc, figure_html, fmt, table_html

_TIER_TEXT = {"aligned": "aligned", "discuss": "discuss", "full_session": "full session"}


def _tier(tier: Any) -> str:
    key = str(tier)
    return f'<span class="tier tier-{esc(key)}">{esc(_TIER_TEXT.get(key, key))}</span>'


def _ci(c: dict | None, digits: int = 2) -> str:
    if not c:
        return "not computable"
    return (f"{fmt(c['value'], digits)} (95% CI {fmt(c['ci_low'], digits)} to "
            f"{fmt(c['ci_high'], digits)}; {c.get('n_calls', 0)} calls)")


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
        ("Calibrator", esc(", ".join(data.params.get("calibrators", [])))),
        ("Expert", esc(", ".join(experts) or "–")),
        ("Panel", esc(", ".join(panel) or "–")),
        ("Calibrations", str(len(data.gate))),
        ("Completion", f"{finished} of {len(status)} evaluations finished"
         + (f"; <strong>{len(overdue)} overdue</strong>" if len(overdue) else "")),
        ("Blind gate", "closed: scores stay hidden until every evaluation is finished"
         if data.gate_closed else _gate_open_text(data)),
    ]
    body = '<dl class="calib-kv">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows) \
        + "</dl>"
    if data.gate_closed and not status.empty:
        table = (status.assign(name=status["evaluator_name"].astype(str))
                 .groupby(["name", "role"])["status"].value_counts().unstack(fill_value=0)
                 .reset_index())
        cols = [c for c in ("finished", "in_progress", "pending", "overdue") if c in table]
        body += "<h3>Completion by evaluator</h3>" + table_html(
            table[["name", "role", *cols]].itertuples(index=False), ["evaluator", "role", *cols],
            numeric=range(2, 2 + len(cols)))
    return Section(f"Calibration report — {data.team}, {data.month}", body, level=1)


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


def show_headline(data: Any) -> Section:
    """Reliability with its CI and trend, and one sentence a QM lead can act on."""
    sentence = headline_sentence(data)
    if data.gate_closed:
        return Section("Headline", f'<p class="calib-headline action">{esc(sentence)}</p>')
    coef = data.analysis.get("coefficients", {})
    body = (f'<div class="calib-headline"><p>Reliability of a single evaluator\'s score, '
            f'ICC(A,1): <strong>{esc(_ci(coef.get("ICC(A,1)")))}</strong>. Consistency '
            f'ICC(C,1): {esc(_ci(coef.get("ICC(C,1)")))}. Krippendorff\'s alpha (interval): '
            f'{esc(_ci(coef.get("alpha")))}.</p><p class="action">{esc(sentence)}</p></div>')
    figures = {}
    trend = data.analysis.get("trend")
    if trend is not None and not trend.empty:
        figures["trend"] = charts.reliability_trend(trend)
        body += figure_html(figures["trend"], alt="Reliability by month",
                            caption="ICC(A,1) and alpha per month of the history window.")
    return Section("Headline", body, figures)


def show_calibrations(data: Any) -> Section:
    """One row per calibration: agent, evaluators, mean, range, expert score, tier."""
    variance = data.analysis.get("variance")
    if data.gate_closed or variance is None:
        return Section("", "")
    table = variance.table
    rows = [(_tier(r.tier), esc(data.call_label(r.calibration_id)),
             r.n_evaluators, fmt(r.mean, 1), fmt(r.sd, 1), fmt(r.range, 1), fmt(r.expert_score, 1),
             f"{r.within_5_share:.0%}" if pd.notna(r.within_5_share) else "–")
            for r in table.itertuples(index=False)]
    body = table_html(rows, ["tier", "call", "evaluators", "mean", "sd",
                             "range", "expert", "within ±5 of expert"],
                      numeric=range(2, 8), raw=(0, 1))
    counts = table["tier"].value_counts()
    body += (f"<p>{counts.get('aligned', 0)} aligned, {counts.get('discuss', 0)} to discuss, "
             f"{counts.get('full_session', 0)} for a full session.</p>")
    return Section("Calibrations", body)


def show_charts(data: Any) -> Section:
    """Score strips, evaluator bias, question disagreement, calibrator drift, variance shares."""
    a = data.analysis
    if data.gate_closed:
        return Section("", "")
    p = data.params
    figures: dict[str, Any] = {}
    parts = []
    variance = a.get("variance")
    if variance is not None:
        names = {r.calibration_id: data.call_label(r.calibration_id)
                 for r in variance.table.itertuples(index=False)}
        figures["strip"] = charts.score_strip(data.month_scores, variance.table, names=names,
                                              band=float(p.get("aligned_max", 5)))
        parts.append(figure_html(figures["strip"], alt="Scores per calibration",
                                 caption="Each circle is an evaluator, the diamond the expert; "
                                         "the band spans ±5 points around the expert."))
    if a.get("bias") is not None:
        figures["bias"] = charts.bias_forest(a["bias"], threshold=p.get("bias_threshold", 3.0))
        parts.append(figure_html(figures["bias"], alt="Evaluator bias forest plot",
                                 caption="Flagged (⚑): the CI excludes 0 and the bias exceeds "
                                         "the practical threshold."))
    if a.get("disagreement") is not None:
        figures["heatmap"] = charts.disagreement_heatmap(a["disagreement"], a.get("distribution"),
                                                         gray_area=a.get("gray_area") or ())
        parts.append(figure_html(figures["heatmap"], alt="Question disagreement heatmap",
                                 caption="Darker cells: evaluators chose different answers. "
                                         "Bold questions are the gray area."))
    if a.get("drift") is not None:
        figures["drift"] = charts.calibrator_drift(a["drift"].table,
                                                   threshold=p.get("drift_threshold", 10.0))
        parts.append(figure_html(figures["drift"], alt="Calibrator drift by month",
                                 caption=drift_suggestion(data)))
    if a.get("g") is not None:
        figures["variance"] = charts.variance_shares(a["g"].components, a.get("d"))
        needed = a.get("evaluators_needed")
        parts.append(figure_html(
            figures["variance"], alt="Variance shares and D-study",
            caption=(f"{needed} evaluator(s) per call give a reliable (Φ ≥ 0.8) averaged score."
                     if needed else "No panel size up to 50 reaches Φ ≥ 0.8.")))
    return Section("Charts", "".join(parts), figures)


def show_recurring(data: Any) -> Section:
    """Criteria with high disagreement month after month, with the rubric notes agreed."""
    recurring = data.analysis.get("recurring")
    if data.gate_closed or recurring is None:
        return Section("", "")
    rec = recurring[recurring["recurring"].astype(bool)] if "recurring" in recurring else recurring
    if rec.empty:
        return Section("Recurring criteria", "<p>No criterion was disputed in most of the last "
                                              "sessions.</p>")
    notes = data.rubric_notes
    rows = []
    for r in rec.itertuples(index=False):
        agreed = notes[notes["question_id"] == r.question_id]["decision"] if not notes.empty \
            else []
        rows.append((r.question_text, f"{r.sessions_high} of {r.sessions_considered}",
                     "; ".join(map(str, agreed)) or "no note agreed yet"))
    return Section("Recurring criteria", table_html(
        rows, ["question", "sessions with high disagreement", "agreed rubric notes"]))


def show_agenda(data: Any) -> Section:
    """The discussion agenda: by tier, disputed questions first, answers beside the expert's."""
    agenda = data.analysis.get("agenda")
    if data.gate_closed or agenda is None:
        return Section("", "")
    parts = []
    for n, item in enumerate(agenda.items, start=1):
        parts.append(f"<h3>{n}. {_tier(item.tier)} {esc(item.agent_name)} — range "
                     f"{fmt(item.range, 1)}, expert {fmt(item.expert_score, 1)}</h3>")
        if not item.disputed:
            parts.append("<p>Every question was answered alike; confirm briefly.</p>")
        for q in item.disputed:
            expert = next((x for x in q.answers if x.role == "expert"), None)
            parts.append(f"<p><strong>{esc(q.question_text)}</strong> — agreement "
                         f"{q.agreement:.0%}. {esc(' '.join(q.talking_points))}</p>")
            for note in q.rubric_notes:
                parts.append(f"<p class='calib-muted'>Agreed note: {esc(note)}</p>")
            rows = [(x.evaluator_name + (" (expert)" if x.role == "expert" else ""),
                     x.answer_text, expert.answer_text if expert else "–", x.comment or "")
                    for x in q.answers]
            parts.append(table_html(rows, ["evaluator", "answer", "expert's answer", "comment"]))
    return Section("Discussion agenda", "".join(parts) or "<p>Nothing to discuss.</p>")


def show_appendix(data: Any) -> Section:
    """Methods, what was excluded and why, sample-size warnings, and what could not be computed."""
    a = data.analysis
    parts = ["<h3>Methods</h3><p>Reliability: ICC(A,1), two-way random, absolute agreement, "
             "single evaluator, with McGraw &amp; Wong (1996) CIs, beside ICC(C,1); "
             "Krippendorff's alpha (interval) with a bootstrap CI when calls miss scores. Bias: "
             "evaluator − expert and − leave-one-out consensus with t-based CIs and "
             "Bland-Altman limits. Questions: pairwise agreement and Gwet's AC1 (N/A is a "
             "category). Variance: G-study calls × evaluators and a D-study (Brennan 2001). "
             "Tiers: range ≤ {0} aligned, ≤ {1} discuss, above: full session.</p>".format(
                 esc(data.params.get("aligned_max", 5)), esc(data.params.get("discuss_max", 15)))]
    warnings = a.get("warnings") or []
    if warnings:
        parts.append("<h3>Sample-size warnings</h3>" + "".join(
            f'<p class="calib-warning">{esc(w)}</p>' for w in warnings))
    variance = a.get("variance")
    excluded = variance.excluded if variance is not None else pd.DataFrame()
    parts.append("<h3>Excluded evaluations</h3>")
    if excluded is not None and not excluded.empty:
        counts = excluded.groupby("reason").size().reset_index(name="n")
        parts.append(table_html(counts.itertuples(index=False), ["reason", "evaluations"],
                                numeric=(1,)))
    else:
        parts.append("<p>None.</p>")
    problems = a.get("problems") or {}
    if problems:
        parts.append("<h3>Not computed</h3>" + table_html(problems.items(),
                                                          ["statistic", "why"]))
    if data.notes:
        parts.append("<h3>Data notes</h3><ul>" + "".join(f"<li>{esc(n)}</li>" for n in data.notes)
                     + "</ul>")
    parts.append(f"<p class='calib-muted'>Store: {esc(data.store_display)}. Clock: "
                 f"{esc(data.now)}.</p>")
    return Section("Appendix", "".join(parts))


def show_session(data: Any, calibration_id: str | None = None) -> Section:
    """One calibration for interactive exploration: its scores and its disputed questions."""
    if data.gate_closed:
        return Section("Session", "<p>Sealed: scores stay hidden until every evaluation is "
                                  "finished.</p>")
    scores = data.month_scores
    if scores.empty:
        return Section("Session", "<p>No open calibration this month.</p>")
    cal = calibration_id or scores["calibration_id"].iloc[0]
    rows = scores[scores["calibration_id"] == cal].sort_values("total_score")
    if rows.empty:
        raise ValueError(f"Calibration {cal!r} is not among {data.team}'s open calibrations of "
                         f"{data.month}; pick one from show_calibrations(data).")
    body = table_html(((r.evaluator_name, r.role, r.status, fmt(r.total_score, 1))
                       for r in rows.itertuples(index=False)),
                      ["evaluator", "role", "status", "total score"], numeric=(3,))
    fig = charts.score_strip(rows, band=float(data.params.get("aligned_max", 5)))
    body += figure_html(fig, alt="Scores of this calibration")
    dis = data.analysis.get("disagreement")
    if dis is not None:
        mine = dis[(dis["calibration_id"] == cal) & dis["disputed"].astype(bool)]
        body += "<h3>Disputed questions</h3>" + table_html(
            ((r.question_text, f"{r.agreement:.0%}", r.categories)
             for r in mine.itertuples(index=False)), ["question", "agreement", "answers"])
    return Section(f"Session {cal}", body, {"strip": fig})

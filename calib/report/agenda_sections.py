"""The report's discussion agenda (one compact grid per call) and its questions section.

A grid per call: the evaluators down the side, the disputed questions across, each cell the
answer with its points, the expert's answer once in the header. It prints on one page per call.
Where the data came from Genesys Cloud, the call links to its interaction page and that page's
Quality tab, where the calibration and its evaluations are opened (URL pattern in
``docs/report.md``).
"""

from __future__ import annotations

from typing import Any

from calib import charts
from calib.agenda import AnswerLine, answer_words, expert_words
from calib.markup import without_tags
from calib.report.display import Section, esc, figure_html, fmt, table_html
from calib.report.parallel import section

_TIER_TEXT = {"aligned": "aligned", "discuss": "discuss", "full_session": "full session"}


def tier_html(tier: Any) -> str:
    key = str(tier)
    return f'<span class="tier tier-{esc(key)}">{esc(_TIER_TEXT.get(key, key))}</span>'


def interaction_links(data: Any, conversation_id: str) -> str:
    """Links to the interaction (recording or transcript) and its Quality tab in the Genesys
    Cloud web UI, when the report's data came from a Genesys Cloud org."""
    base = str(data.params.get("ui_base") or "")
    if not base or not conversation_id:
        return ""
    url = f"{base}/directory/#/engage/admin/interactions/{conversation_id}"
    return (f' <a href="{esc(url)}" target="_blank" rel="noopener">recording</a> · '
            f'<a href="{esc(url)}/qualitySummary" target="_blank" rel="noopener">calibration '
            f"(Quality tab)</a>")


def _cell(line: AnswerLine | None, out: bool) -> str:
    if line is None or line.category is None:
        return '<td class="calib-blank">–</td>'
    cls = "calib-out" if out else ""
    comment = (f'<div class="calib-comment">“{esc(without_tags(line.comment))}”</div>'
               if line.comment else "")
    return f'<td class="{cls}">{esc(answer_words(line))}{comment}</td>'


@section
def show_agenda(data: Any) -> Section:
    """One grid per call, in the report's call order (tier, then widest range first)."""
    agenda = data.analysis.agenda
    if data.gate_closed or agenda is None:
        return Section("", "")
    tolerance = data.analysis.tolerance
    out_cells = set()
    if tolerance is not None and not tolerance.empty:
        hit = tolerance[tolerance["out_of_tolerance"].astype(bool)]
        out_cells = set(zip(hit["calibration_id"], hit["evaluator_id"], hit["question_id"]))
    critical = {(c.calibration_id, c.question_id) for c in data.analysis.critical or ()}
    parts = ['<p class="calib-muted">One grid per call: evaluators down the side, the questions '
             'they split on across, the expert\'s answer in the header. Shaded cells are out of '
             'tolerance against the other evaluators; ⚠ marks a critical or fatal question. '
             'Aligned calls are listed at the end for a brief confirmation.</p>']
    confirm = []
    for n, item in enumerate(agenda.items, start=1):
        label = data.call_label(item.calibration_id)
        if not item.disputed:
            confirm.append(f"{esc(label)} (range {fmt(item.range, 1)})")
            continue
        head = (f'<div class="calib-call"><h3>{n}. {esc(label)} {tier_html(item.tier)}</h3>'
                f'<p>Scores range {fmt(item.range, 1)} points; {esc(item.expert_words())}.'
                f'{interaction_links(data, item.conversation_id)}</p>')
        header = "<th>evaluator (total)</th>" + "".join(
            f"<th>{'⚠ ' if (item.calibration_id, q.question_id) in critical else ''}"
            f"{esc(q.question_text)}<div class='calib-expert'>expert: "
            f"{esc(expert_words(q))}</div></th>" for q in item.disputed)
        body = []
        for who, cells in item.grid()[1]:
            tds = "".join(_cell(line, line is not None and (
                item.calibration_id, line.evaluator_id, q.question_id) in out_cells)
                for line, q in zip(cells, item.disputed))
            body.append(f"<tr><th>{esc(who)}</th>{tds}</tr>")
        grid = (f'<table class="calib-grid"><thead><tr>{header}</tr></thead>'
                f"<tbody>{''.join(body)}</tbody></table>")
        points = "".join(f"<li><strong>{esc(q.question_text)}</strong>: "
                         f"{esc(' '.join(q.talking_points))}"
                         + "".join(f" <em>Agreed note: {esc(x)}</em>" for x in q.rubric_notes)
                         + "</li>" for q in item.disputed)
        parts.append(head + grid + f"<ul class='calib-points'>{points}</ul></div>")
    if confirm:
        parts.append("<h3>Confirm briefly (every question answered alike)</h3><p>"
                     + "; ".join(confirm) + "</p>")
    return Section("Discussion agenda", "".join(parts))


@section
def show_questions(data: Any) -> Section:
    """Which questions split the panel, how, and the rewrite that fits each one's split."""
    a = data.analysis
    if data.gate_closed:
        return Section("", "")
    parts: list[str] = []
    figures: dict[str, Any] = {}
    order = a.call_order or []
    names = {c: data.call_label(c) for c in order}
    if a.disagreement is not None:
        figures["heatmap"] = charts.disagreement_heatmap(
            a.disagreement, a.distribution, gray_area=a.gray_area or (),
            names=names, order=order)
        parts.append(figure_html(
            figures["heatmap"], alt="Agreement per question and call",
            caption=("Left: for each question (rows) and call (columns, labelled as in the "
                     "table above), the share of evaluator pairs who gave the same answer; "
                     "dark cells split the panel. Bold rows are the most disputed questions, "
                     "whose answers the right panel shows (n = answers given this month).")))
    questions = a.questions
    if questions:
        qa = a.question_agreement
        ac1 = ({} if qa is None or qa.empty else
               {r.question_id: (r.ac1, r.ac1_ci_low, r.ac1_ci_high) for r in qa.itertuples()})
        rows = []
        for q in questions:
            coefficient = ac1.get(q.question_id)
            ac1_text = (f"{fmt(coefficient[0], 2)} ({fmt(coefficient[1], 2)} to "
                        f"{fmt(coefficient[2], 2)})" if coefficient else "–")
            rows.append((("⚠ " if q.critical else "") + q.question_text, q.evidence(),
                         q.shape, q.suggestion(), ac1_text))
        parts.append("<h3>Questions to rewrite</h3>" + table_html(
            rows, ["question", "how often it split", "kind of split", "suggested rewrite",
                   "Gwet's AC1 (CI)"]))
        parts.append(
            "<p class='calib-muted'><em>How often it split</em>: calls this month on which "
            "fewer than three in four evaluator pairs gave the same answer, and in how many of "
            "the last three months that happened on most calls (two or more of three makes it a "
            "recurring criterion: the rubric, not the evaluators, is the problem). <em>Kind of "
            "split</em>: applicability (some marked N/A, others scored), scale (answers spread "
            "over a scale) or yes/no. <em>Gwet's AC1</em>: agreement beyond chance on this "
            "month's answers, N/A counted as an answer (1 = perfect). ⚠: a critical or fatal "
            "question, which swings the whole score.</p>")
    splits = a.critical or ()
    if splits:
        parts.append("<h3>Splits on critical or fatal questions</h3><ul>" + "".join(
            f"<li>{esc(s.sentence(data.call_label(s.calibration_id)))}</li>" for s in splits)
            + "</ul>")
    if not parts:
        return Section("", "")
    return Section("Questions that split the panel", "".join(parts), figures)

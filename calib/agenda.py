"""The discussion agenda for a finished calibration session.

The calls come in tier order (a range above ``discuss_max`` first), and for each call the disputed
questions, with every evaluator's answer and comment beside the expert's, the rubric notes already
agreed for the question, and talking points written from the answers ("3 of 5 marked N/A; the
expert marked No"). The agenda exports to Markdown and to a self-contained HTML page for the
meeting. Every user-supplied string (names, comments, form text) is escaped in HTML.
"""

from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

import pandas as pd

from calib.markup import markdown_text, without_tags
from calib.stats.categorical import answer_categories
from calib.stats.variance import VarianceResult, calibration_variance
from calib.tables import NA_CATEGORY, require_columns

TIER_ORDER = {"full_session": 0, "discuss": 1, "aligned": 2}
TIER_LABEL = {
    "full_session": "Full session — rubric rewrite likely",
    "discuss": "Discuss the gray-area criteria",
    "aligned": "Aligned — confirm briefly",
}

_SCORE_COLUMNS = ("calibration_id", "evaluator_id", "role", "status", "total_score")
_ANSWER_COLUMNS = ("calibration_id", "evaluator_id", "role", "question_id", "answer_id",
                   "answer_text", "points", "marked_na", "comment")


@dataclass(frozen=True)
class AnswerLine:
    """One evaluator's answer to one question."""

    evaluator_id: str
    evaluator_name: str
    role: str
    category: str | None
    answer_text: str
    points: float | None
    comment: str | None


@dataclass(frozen=True)
class DisputedQuestion:
    """A question on which the panel did not give one answer."""

    question_id: str
    question_text: str
    question_group_name: str
    agreement: float
    expert_answer: str | None
    answers: tuple[AnswerLine, ...]
    talking_points: tuple[str, ...]
    rubric_notes: tuple[str, ...]


@dataclass(frozen=True)
class AgendaItem:
    """One call on the agenda."""

    calibration_id: str
    conversation_id: str
    agent_name: str
    tier: str
    range: float
    expert_score: float | None
    scores: tuple[tuple[str, str, float], ...]  # (evaluator name, role, score)
    disputed: tuple[DisputedQuestion, ...]

    @property
    def expert_name(self) -> str | None:
        """The expert's name, when the expert scored the call."""
        return next((name for name, role, _ in self.scores if role == "expert"), None)

    def expert_words(self) -> str:
        """"expert Quinn Calder 91.8" (or "no expert score")."""
        if self.expert_score is None:
            return "no expert score"
        who = f" {self.expert_name}" if self.expert_name else ""
        return f"expert{who} {self.expert_score:.1f}"

    @property
    def label(self) -> str:
        """The call's one name, as the report's tables and charts show it: the agent and the
        first 8 characters of the conversation id."""
        short = (self.conversation_id or self.calibration_id)[:8]
        return f"{self.agent_name} · {short}" if self.agent_name else short

    def grid(self) -> tuple[list[str], list[tuple[str, list[AnswerLine | None]]]]:
        """The call as a grid: the disputed questions' headers (with the expert's answer), then
        one row per panel evaluator (name with total score, one answer per question)."""
        headers = [f"{q.question_text} (expert: {expert_words(q)})" for q in self.disputed]
        totals = {name: score for name, role, score in self.scores if role != "expert"}
        panel = sorted({(a.evaluator_name, a.evaluator_id) for q in self.disputed
                        for a in q.answers if a.role != "expert"})
        rows = []
        for name, evaluator_id in panel:
            cells = [next((a for a in q.answers if a.evaluator_id == evaluator_id), None)
                     for q in self.disputed]
            total = totals.get(name)
            rows.append((name if total is None else f"{name} ({total:.1f})", cells))
        return headers, rows


@dataclass(frozen=True)
class Agenda:
    """The whole agenda; ``items`` are in discussion order."""

    title: str
    items: tuple[AgendaItem, ...]
    excluded: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False)
    #: Sentences shown under the title (the KPI note, that agents are pseudonyms).
    notes: tuple[str, ...] = ()

    @property
    def table(self) -> pd.DataFrame:
        """One row per (call, disputed question), in agenda order."""
        rows = []
        for order, item in enumerate(self.items, start=1):
            for q in item.disputed or (None,):
                rows.append({
                    "order": order, "calibration_id": item.calibration_id, "tier": item.tier,
                    "range": item.range,
                    "question_id": q.question_id if q else None,
                    "question_text": q.question_text if q else None,
                    "agreement": q.agreement if q else None,
                    "talking_points": " ".join(q.talking_points) if q else "",
                })
        return pd.DataFrame(rows, columns=["order", "calibration_id", "tier", "range", "question_id",
                                           "question_text", "agreement", "talking_points"])

    def to_markdown(self) -> str:
        """The agenda as Markdown, one grid per call (names and comments Markdown-escaped)."""
        out = [f"# {_md(self.title)}", ""]
        out += [line for note in self.notes for line in (f"*{_md(note)}*", "")]
        if not self.items:
            out.append("No finished calibrations to discuss.")
        for n, item in enumerate(self.items, start=1):
            out += [f"## {n}. {_md(item.label)}", "",
                    f"**{TIER_LABEL.get(item.tier, item.tier)}** · range {item.range:.1f} points · "
                    f"{_md(item.expert_words())} · conversation `{item.conversation_id}`", ""]
            if not item.disputed:
                out += ["Every question was answered alike; confirm the interpretation briefly.", ""]
                continue
            headers, rows = item.grid()
            out += ["| evaluator (total) | " + " | ".join(_md(h) for h in headers) + " |",
                    "|---" * (len(headers) + 1) + "|"]
            for who, cells in rows:
                out.append(f"| {_md(who)} | " + " | ".join(_md(_cell_words(c)) for c in cells)
                           + " |")
            out.append("")
            for q in item.disputed:
                line = f"- **{_md(q.question_text)}**: " + " ".join(_md(p) for p in q.talking_points)
                out.append(line + "".join(f" *Agreed note: {_md(x)}*" for x in q.rubric_notes))
            comments = [(a.evaluator_name, q.question_text, a.comment) for q in item.disputed
                        for a in q.answers if a.comment]
            if comments:
                out += ["", "Comments:"] + [f"- {_md(who)} on {_md(qt)}: “{_md(without_tags(c))}”"
                                            for who, qt, c in comments]
            out.append("")
        return "\n".join(out)

    def to_html(self) -> str:
        """A self-contained HTML page, one grid per call (a printed page each): inline style,
        no script, nothing fetched; all text escaped."""
        e = html.escape
        parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{e(self.title)}"
                 f"</title><style>{_CSS}</style></head><body><h1>{e(self.title)}</h1>"]
        parts += [f"<p class='note'><em>{e(note)}</em></p>" for note in self.notes]
        if not self.items:
            parts.append("<p>No finished calibrations to discuss.</p>")
        for n, item in enumerate(self.items, start=1):
            parts.append(
                f"<section class='call tier-{e(item.tier)}'><h2>{n}. {e(item.label)}</h2>"
                f"<p><strong>{e(TIER_LABEL.get(item.tier, item.tier))}</strong> · range "
                f"{item.range:.1f} points · {e(item.expert_words())} · <small>conversation "
                f"{e(item.conversation_id)}</small></p>")
            if not item.disputed:
                parts.append("<p>Every question was answered alike; confirm the interpretation "
                             "briefly.</p></section>")
                continue
            headers, rows = item.grid()
            parts.append("<table><thead><tr><th>evaluator (total)</th>"
                         + "".join(f"<th>{e(h)}</th>" for h in headers) + "</tr></thead><tbody>")
            for who, cells in rows:
                parts.append(f"<tr><th>{e(who)}</th>"
                             + "".join(f"<td>{e(_cell_words(c))}</td>" for c in cells) + "</tr>")
            parts.append("</tbody></table><ul>")
            for q in item.disputed:
                parts.append(f"<li><strong>{e(q.question_text)}</strong>: "
                             + " ".join(e(p) for p in q.talking_points)
                             + "".join(f" <em>Agreed note: {e(x)}</em>" for x in q.rubric_notes)
                             + "</li>")
            parts.append("</ul>")
            comments = [(a.evaluator_name, q.question_text, a.comment) for q in item.disputed
                        for a in q.answers if a.comment]
            if comments:
                parts.append("<p class='comments'>Comments: " + "; ".join(
                    f"{e(who)} on {e(qt)}: “{e(without_tags(c))}”" for who, qt, c in comments)
                    + "</p>")
            parts.append("</section>")
        parts.append("</body></html>")
        return "".join(parts)


def _cell_words(line: AnswerLine | None) -> str:
    return "–" if line is None or line.category is None else answer_words(line)


def expert_words(question: DisputedQuestion) -> str:
    expert = next((a for a in question.answers if a.role == "expert"), None)
    return "no answer" if expert is None or expert.category is None else answer_words(expert)


_CSS = ("body{font-family:sans-serif;max-width:60rem;margin:2rem auto;color:#222}"
        "table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #bbb;"
        "padding:.25rem .5rem;text-align:left}tr.expert{font-weight:bold;background:#eef}"
        "section.call{border-left:6px solid #999;padding-left:1rem;margin-bottom:2rem}"
        "section.tier-full_session{border-color:#d55e00}section.tier-discuss{border-color:#e69f00}"
        "section.tier-aligned{border-color:#009e73}blockquote{background:#f6f6f6;margin:.5rem 0;"
        "padding:.5rem 1rem}small{color:#666;font-weight:normal}tbody th{text-align:left;"
        "font-weight:normal;white-space:nowrap}.comments{color:#555;font-size:.9rem}"
        "@media print{section.call{break-before:page;break-inside:avoid}}")


def _md(text: object) -> str:
    """User text as literal one-line Markdown (the rule of :mod:`calib.markup`)."""
    return markdown_text(text)


def answer_words(line: AnswerLine) -> str:
    """An answer in words: its label, with its points where the label is another number."""
    text = line.answer_text
    if line.points is None or text == NA_CATEGORY:
        return text
    try:
        same = float(text) == line.points
    except ValueError:
        return text
    return text if same else f"{text} ({line.points:g} pt{'' if line.points == 1 else 's'})"


def _talking_points(lines: Sequence[AnswerLine], expert: AnswerLine | None) -> tuple[str, ...]:
    """Sentences a facilitator can read out, written from the answers alone."""
    panel = [a for a in lines if a.role != "expert" and a.category is not None]
    points: list[str] = []
    if not panel:
        return ("No panel answers to compare.",)
    said = {a.answer_text: answer_words(a) for a in panel}
    counts = Counter(a.answer_text for a in panel)
    n = len(panel)
    top_text, top_n = counts.most_common(1)[0]
    verb = "marked" if top_text == NA_CATEGORY else "answered"
    if expert is not None and expert.category is not None:
        if expert.answer_text != top_text:
            points.append(f"{top_n} of {n} {verb} {said[top_text]}; the expert "
                          f"{'marked' if expert.answer_text == NA_CATEGORY else 'answered'} "
                          f"{answer_words(expert)}.")
        else:
            dissent = n - top_n
            points.append(f"{top_n} of {n} agreed with the expert ({said[top_text]}); "
                          f"{dissent} did not.")
    else:
        points.append(f"{top_n} of {n} {verb} {said[top_text]}; the expert gave no answer.")
    if NA_CATEGORY in counts and top_text != NA_CATEGORY:
        points.append(f"{counts[NA_CATEGORY]} marked N/A: agree first whether the question applies.")
    scored = [a.points for a in panel if a.points is not None]
    if len(set(scored)) > 1:
        points.append(f"The points given range from {min(scored):g} to {max(scored):g}.")
    return tuple(points)


def _check_variance(variance: VarianceResult, scores: pd.DataFrame, aligned_max: float,
                    discuss_max: float) -> None:
    """A variance passed in must be the one this agenda would compute: same tiers, same calls."""
    if (variance.aligned_max, variance.discuss_max) != (aligned_max, discuss_max):
        raise ValueError(
            f"The variance was cut with aligned_max={variance.aligned_max:g} and "
            f"discuss_max={variance.discuss_max:g}, but the agenda was asked for "
            f"{aligned_max:g} and {discuss_max:g}; pass the same thresholds to both, or leave "
            f"variance out and let the agenda compute it.")
    unknown = set(variance.table["calibration_id"]) - set(scores["calibration_id"])
    if unknown:
        raise ValueError(
            f"The variance covers {len(unknown)} calibration(s) that are not in these scores "
            f"(for example {sorted(map(str, unknown))[0]!r}); compute it from the same scores "
            f"table, or leave variance out.")


def build_agenda(
    scores: pd.DataFrame,
    answers: pd.DataFrame,
    *,
    rubric_notes: pd.DataFrame | None = None,
    title: str = "Calibration discussion agenda",
    aligned_max: float = 5.0,
    discuss_max: float = 15.0,
    agent_names: dict[str, str] | None = None,
    include_aligned: bool = True,
    variance: VarianceResult | None = None,
) -> Agenda:
    """Build the discussion agenda for the finished calibrations in ``scores``/``answers``.

    Parameters
    ----------
    scores, answers : DataFrame
        Tidy ``scores`` and ``answers`` tables (docs/architecture.md). Only FINISHED evaluations
        count; other rows are listed in ``Agenda.excluded``.
    rubric_notes : DataFrame, optional
        Notes in force, with at least ``question_id`` and ``decision`` (and optionally
        ``decided_on``); shown beside the questions they concern.
    aligned_max, discuss_max : float
        Tier thresholds in points (range ≤ aligned_max: aligned; ≤ discuss_max: discuss; above:
        full session), as in :func:`calib.stats.variance.calibration_variance`.
    agent_names : dict, optional
        Display names for agent ids.
    include_aligned : bool
        Keep aligned calls on the agenda (at the end) for a brief confirmation.
    variance : VarianceResult, optional
        ``calibration_variance(scores, aligned_max=..., discuss_max=...)`` when the caller has
        it already (the monthly report does); computed here when not given. It must have been
        cut with the same thresholds, and on these scores.

    Returns
    -------
    Agenda
        Calls in tier order, widest range first within a tier; within a call the disputed
        questions, lowest agreement first.

    Raises
    ------
    ValueError
        When a required column is missing, no evaluation is FINISHED, or ``variance`` was
        computed with other thresholds or on other scores.
    """
    require_columns(scores, _SCORE_COLUMNS, what="scores")
    require_columns(answers, _ANSWER_COLUMNS, what="answers")
    if aligned_max >= discuss_max:
        raise ValueError(f"aligned_max ({aligned_max}) must be below discuss_max ({discuss_max}).")
    if variance is None:
        variance = calibration_variance(scores, aligned_max=aligned_max, discuss_max=discuss_max)
    else:
        _check_variance(variance, scores, aligned_max, discuss_max)
    table = variance.table
    names = (scores.drop_duplicates("evaluator_id").set_index("evaluator_id")["evaluator_name"]
             .to_dict() if "evaluator_name" in scores else {})
    finished = scores[scores["status"] == "FINISHED"]
    finished_evals = set(zip(finished["calibration_id"], finished["evaluator_id"]))
    keep = [(c, ev) in finished_evals for c, ev in zip(answers["calibration_id"], answers["evaluator_id"])]
    answers = answers[keep].assign(
        _category=lambda f: answer_categories(f, weights="identity", na="category"))

    notes_by_q: dict[str, list[str]] = {}
    if rubric_notes is not None and len(rubric_notes):
        require_columns(rubric_notes, ("question_id", "decision"), what="rubric_notes")
        for _, note in rubric_notes.iterrows():
            when = f" ({note['decided_on']})" if "decided_on" in note and pd.notna(note["decided_on"]) else ""
            notes_by_q.setdefault(str(note["question_id"]), []).append(f"{note['decision']}{when}")

    ordered = table.assign(_tier=table["tier"].map(TIER_ORDER)).sort_values(
        ["_tier", "range"], ascending=[True, False], kind="stable")
    if not include_aligned:
        ordered = ordered[ordered["tier"] != "aligned"]

    items = []
    for _, call in ordered.iterrows():
        cal_id = call["calibration_id"]
        cal_scores = finished[finished["calibration_id"] == cal_id]
        score_list = tuple(
            (str(names.get(r.evaluator_id, r.evaluator_id)), r.role, float(r.total_score))
            for r in cal_scores.sort_values(["role", "total_score"]).itertuples()
            if pd.notna(r.total_score))
        disputed = []
        cal_answers = answers[answers["calibration_id"] == cal_id]
        for qid, qa in cal_answers.groupby("question_id", sort=False):
            lines = []
            for _, row in qa.iterrows():
                cat = None if pd.isna(row["_category"]) else str(row["_category"])
                text = NA_CATEGORY if cat == NA_CATEGORY else (
                    "(blank)" if cat is None else str(row["answer_text"] if pd.notna(row["answer_text"])
                                                      else row["answer_id"]))
                lines.append(AnswerLine(
                    evaluator_id=str(row["evaluator_id"]),
                    evaluator_name=str(names.get(row["evaluator_id"], row["evaluator_id"])),
                    role=str(row["role"]), category=cat, answer_text=text,
                    points=None if pd.isna(row["points"]) else float(row["points"]),
                    comment=None if pd.isna(row["comment"]) or row["comment"] == "" else str(row["comment"])))
            cats = [a.category for a in lines if a.category is not None]
            if len(set(cats)) <= 1:
                continue
            pairs = sum(c * (c - 1) for c in Counter(cats).values())
            agreement = pairs / (len(cats) * (len(cats) - 1))
            expert = next((a for a in lines if a.role == "expert"), None)
            lines.sort(key=lambda a: (a.role != "expert", a.evaluator_name))
            first = qa.iloc[0]
            disputed.append(DisputedQuestion(
                question_id=str(qid),
                question_text=str(first.get("question_text") or qid),
                question_group_name=str(first.get("question_group_name") or ""),
                agreement=agreement,
                expert_answer=None if expert is None else expert.answer_text,
                answers=tuple(lines),
                talking_points=_talking_points(lines, expert),
                rubric_notes=tuple(notes_by_q.get(str(qid), ())),
            ))
        disputed.sort(key=lambda q: (q.agreement, q.question_text))
        agent = str(call.get("agent_id") or "")
        items.append(AgendaItem(
            calibration_id=str(cal_id), conversation_id=str(call.get("conversation_id") or ""),
            agent_name=(agent_names or {}).get(agent, agent), tier=str(call["tier"]),
            range=float(call["range"]),
            expert_score=None if pd.isna(call["expert_score"]) else float(call["expert_score"]),
            scores=score_list, disputed=tuple(disputed)))
    return Agenda(title=title, items=tuple(items), excluded=variance.excluded)

"""The review's tables as a director reads them: names, the verdict in words first, the numbers
after, nothing but what the sentence rests on. The DataFrames (``ProgramReview.team_table`` and
the rest) stay for analysts; the page shows these.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Iterable, Sequence

if TYPE_CHECKING:  # pragma: no cover - typing only
    from calib.review.program import ProgramReview

_NO_MEETING = ("No agreed answers were recorded after the meetings in this period, so how far "
               "initial scores move at the meeting is not known yet. Record them after each "
               "meeting with calib consensus record and this table fills.")


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
                   for row in rows)
    return (f"<table class='review'><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>")


def teams_html(review: ProgramReview) -> str:
    """One row per team: the consistency and trend sentences, then their numbers."""
    rows = []
    for t in review.teams:
        numbers = " ".join(v.details() for v in (t.consistency, t.trend) if v is not None)
        rows.append([t.team, f"{t.n_calls} call(s) in {t.n_months} month(s)",
                     " ".join(t.sentences()) or "Not judged.", numbers or "–"])
    return _table(["team", "calls", "what the period shows", "numbers"], rows)


def evaluators_html(review: ProgramReview) -> str:
    """One row per evaluator: the change in words, then its evidence."""
    rows = [[p.name, ", ".join(p.teams), p.sentence(), p.details()] for p in review.evaluators]
    if not rows:
        return "<p>No evaluator scored calls shared with others in this period.</p>"
    return _table(["evaluator", "teams", "what changed", "evidence"], rows)


def meeting_html(review: ProgramReview) -> str:
    """One row per evaluator with agreed answers, or the sentence that says why none shows."""
    moves = review.meeting or ()
    if not moves:
        return f"<p>{escape(_NO_MEETING)}</p>"
    return _table(["evaluator", "at the meeting", "evidence"],
                  [[m.name, m.sentence(), m.details()] for m in moves])

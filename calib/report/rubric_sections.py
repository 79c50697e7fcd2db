"""Report sections for the rubric decision log and the agreed (consensus) scores.

Pure builders over :mod:`calib.rubric` and :mod:`calib.consensus`: the monthly report calls
``show_rubric(data)`` and ``show_consensus(data)`` with its :class:`calib.report.MonthData`, and
shows the returned :class:`calib.report.display.Section`. Every user-supplied string (question
text, decisions, names) is escaped.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from calib.consensus import agreement_over_time, initial_vs_agreed, over_time_html
from calib.report.display import Section, table_html
from calib.report.parallel import section
from calib.rubric import BEFORE_AFTER_COLUMNS, before_after, notes_in_force
from calib.tables import require_columns

__all__ = ["before_after_table", "before_after_html", "defects_html", "show_rubric",
           "show_consensus"]


def _num(x: Any, digits: int = 2, signed: bool = False) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "–"
    if math.isnan(v):
        return "–"
    return f"{v:+.{digits}f}" if signed else f"{v:.{digits}f}"


def before_after_table(answers: pd.DataFrame, notes: pd.DataFrame, *, as_of: str,
                       disputed_below: float = 0.75) -> pd.DataFrame:
    """Before/after figures of the notes in force at ``as_of`` (``YYYY-MM``).

    Parameters
    ----------
    answers : pandas.DataFrame
        The team's ``answers`` over the history window (with ``month``).
    notes : pandas.DataFrame
        ``Store.rubric_notes()``.
    as_of : str
        The report month; notes decided later are not in force yet.
    disputed_below : float
        As in :func:`calib.rubric.before_after`.

    Returns
    -------
    pandas.DataFrame
        :data:`calib.rubric.BEFORE_AFTER_COLUMNS`, one row per note in force.
    """

    if notes is None or notes.empty:
        return pd.DataFrame(columns=BEFORE_AFTER_COLUMNS)
    in_force = notes_in_force(notes, as_of=as_of)
    return before_after(answers, in_force, disputed_below=disputed_below)


def _change_words(r: Any) -> str:
    """The change in words: clear only when its interval excludes 0."""
    if r.fell is None:
        return "too early to tell (no call on one side)"
    low, high = r.change_ci_low, r.change_ci_high
    if not (isinstance(low, float) and math.isfinite(low)):
        return ("lower, too few calls to tell from chance" if r.fell else
                "not lower, too few calls to tell from chance")
    ci = f"CI {_num(low, signed=True)} to {_num(high, signed=True)}"
    if high < 0:
        return f"fell ({ci})"
    if low > 0:
        return f"rose ({ci})"
    return f"no clear change yet ({ci})"


def before_after_html(table: pd.DataFrame) -> str:
    """The before/after table as escaped HTML, with the n behind every figure."""

    require_columns(table, BEFORE_AFTER_COLUMNS, what="before/after table")
    if table.empty:
        return "<p>No rubric note is in force yet.</p>"
    rows = []
    for r in table.itertuples(index=False):
        verdict = _change_words(r)
        rows.append((r.question_text, f"{r.decided_on}: {r.decision}",
                     f"{_num(r.disagreement_before)} (n = {int(r.n_before)})",
                     f"{_num(r.disagreement_after)} (n = {int(r.n_after)})",
                     _num(r.change, signed=True), verdict))
    return table_html(rows, ["question", "note in force", "disagreement before",
                             "disagreement after", "change", "disagreement"], numeric=(2, 3, 4))


def defects_html(defects: pd.DataFrame) -> str:
    """Rubric defects (:func:`calib.rubric.rubric_defects`) as escaped HTML with the suggestion."""

    require_columns(defects, ("question_text", "sessions_high", "sessions_considered",
                              "latest_decision", "suggestion"), what="rubric defects")
    if defects.empty:
        return "<p>No question was disputed in most of the recent sessions.</p>"
    rows = [(r.question_text, f"{int(r.sessions_high)} of {int(r.sessions_considered)}",
             r.latest_decision if isinstance(r.latest_decision, str) else "no note yet",
             r.suggestion) for r in defects.itertuples(index=False)]
    return table_html(rows, ["question", "sessions with high disagreement", "latest note",
                             "suggestion"])


@section
def show_rubric(data: Any) -> Any:
    """Report section: notes in force with before/after figures.

    Parameters
    ----------
    data : calib.report.MonthData
        Uses ``answers``, ``rubric_notes``, ``month``, ``gate_closed`` and
        ``analysis.recurring``.

    Returns
    -------
    calib.report.display.Section
    """

    if data.gate_closed:
        return Section("", "")
    table = before_after_table(data.answers, data.rubric_notes, as_of=data.month)
    parts = ["<h3>Rubric notes in force and whether disagreement fell after them</h3>",
             "<p>Disagreement is 1 − pairwise agreement on the question, averaged over calls; "
             "a note's month counts as <em>before</em> (the meeting discussed that month's "
             "calls).</p>", before_after_html(table)]
    # Recurring criteria (rubric defects) are rows of "Questions to rewrite", with the
    # suggestion that fits their split; they are not repeated here.
    return Section("Rubric decisions", "".join(parts))


@section
def show_consensus(data: Any, store: Any = None) -> Any:
    """Report section: each evaluator's initial score against the agreed score, month by month.

    Parameters
    ----------
    data : calib.report.MonthData
        Uses ``agreed`` (read with the rest of the month, in the report's one store session),
        ``team``, ``months`` and ``gate_closed``.
    store : calib.store.Store, optional
        Read the agreed answers from this store instead (for a look at another store).

    Returns
    -------
    calib.report.display.Section
    """

    if data.gate_closed:
        return Section("", "")
    agreed = initial_vs_agreed(store, data.team, list(data.months)) if store is not None \
        else data.agreed
    return Section("Initial scores against the agreed score",
                   over_time_html(agreement_over_time(agreed)))

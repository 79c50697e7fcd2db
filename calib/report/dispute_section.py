"""The report's lines on disputed evaluations: each original score beside the panel's, in names.

A session may calibrate an existing evaluation an agent disputed (``calib select --include
CONVERSATION/EVALUATION``); the calls section then says, per such call, who scored it first and
how, what the panel's mean (and the agreed score, once recorded) is, and the verdict in words
(:mod:`calib.sessions.disputes`). Nothing shows while the month's gate is closed.
"""

from __future__ import annotations

from typing import Any

from calib.report.display import fmt, table_html
from calib.sessions.disputes import dispute_table

__all__ = ["disputes_html"]


def disputes_html(data: Any) -> str:
    """HTML (every cell escaped): a short table of the month's disputed evaluations, or "" when none."""
    originals = getattr(data, "originals", None)
    if originals is None or originals.empty or data.gate_closed:
        return ""
    names = {uid: data.name_of(uid) for uid in originals["original_evaluator_id"].dropna()}
    table = dispute_table(originals, data.month_scores, data.agreed, names=names,
                          band=float(data.params.get("aligned_max", 5)))
    rows = [(data.call_label(r.calibration_id) if r.calibration_id else
             str(r.conversation_id)[:8], r.original_evaluator, fmt(r.original_score, 1),
             f"{fmt(r.panel_mean, 1)} (n = {r.n_panel})", fmt(r.agreed_score, 1),
             r.verdict[0].upper() + r.verdict[1:] + ".")
            for r in table.itertuples(index=False)]
    return ("<h3>Disputed evaluations</h3><p>Calls calibrated because an evaluation of them was "
            "disputed: the original evaluator's score beside the panel's mean and the agreed "
            "score (once the meeting recorded it); the verdict reads the agreed score when "
            "there is one.</p>" + table_html(rows, ["call", "original evaluator", "original",
                                                     "panel mean", "agreed", "verdict"],
                                              numeric=(2, 3, 4)))

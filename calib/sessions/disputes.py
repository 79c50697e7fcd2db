"""A disputed evaluation's original score beside the panel's (``calib select --include CONV/EVAL``).

When a session calibrates an existing evaluation (an agent disputed its score), the plan keeps that
evaluation's total as the *original*. Once the calibration is open (every evaluation finished, or
revealed), :func:`dispute_table` sets it beside the panel's mean and, when the meeting recorded
agreed answers, the agreed score, with the verdict in words: the panel agrees with the original
score (within the aligned band, 5 points by default), or scores it N points higher or lower. The
verdict reads the agreed score when there is one, else the panel's mean. ``calib status`` and the
report's calls section show it; a sealed calibration shows no score.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

__all__ = ["ORIGINAL_COLUMNS", "DISPUTE_COLUMNS", "originals_of_plans", "dispute_table",
           "verdict"]

ORIGINAL_COLUMNS = ("session_id", "conversation_id", "original_evaluation_id",
                    "original_evaluator_id", "original_evaluator_name", "original_score")
DISPUTE_COLUMNS = ("calibration_id", "conversation_id", "agent_id", "original_evaluator",
                   "original_score", "n_panel", "panel_mean", "agreed_score", "compared_with",
                   "difference", "verdict")


def originals_of_plans(plans: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """The disputed evaluations of session plans (plan dicts as saved or ``SessionPlan.to_dict``).

    Returns
    -------
    pandas.DataFrame
        :data:`ORIGINAL_COLUMNS`, one row per planned conversation with an ``original_score``.
    """
    rows = []
    for plan in plans:
        for conv in plan.get("conversations") or ():
            if isinstance(conv, Mapping) and conv.get("original_score") is not None:
                rows.append({"session_id": plan.get("name"),
                             **{k: conv.get(k) for k in ORIGINAL_COLUMNS[1:]}})
    frame = pd.DataFrame(rows, columns=list(ORIGINAL_COLUMNS))
    frame["original_score"] = frame["original_score"].astype(float)
    return frame


def verdict(original: float, panel: float, *, band: float = 5.0, who: str = "the panel") -> str:
    """``"the panel agrees with the original score"`` within ``band`` points, else ``"the panel
    scores it 12 points higher"`` (or lower); the points are rounded to whole numbers.

    Examples
    --------
    >>> verdict(70.0, 82.4)
    'the panel scores it 12 points higher'
    >>> verdict(70.0, 66.0)
    'the panel agrees with the original score'
    """
    if math.isnan(original) or math.isnan(panel):
        return f"{who} has no score yet"
    gap = panel - original
    if abs(gap) <= band:
        return f"{who} agrees with the original score"
    points = round(abs(gap))
    return f"{who} scores it {points} point{'s' if points != 1 else ''} " \
           f"{'higher' if gap > 0 else 'lower'}"


def dispute_table(originals: pd.DataFrame, scores: pd.DataFrame,
                  agreed: pd.DataFrame | None = None, *,
                  names: Mapping[str, str] | None = None, band: float = 5.0) -> pd.DataFrame:
    """The original score of each disputed evaluation beside the panel's.

    Parameters
    ----------
    originals : pandas.DataFrame
        :data:`ORIGINAL_COLUMNS` (:func:`originals_of_plans`).
    scores : pandas.DataFrame
        The store's ``scores`` of open calibrations (sealed ones are left out or carry no score,
        and show as "has no score yet").
    agreed : pandas.DataFrame, optional
        :func:`calib.consensus.initial_vs_agreed` rows (``calibration_id``, ``agreed_score``).
    names : mapping, optional
        User id → name, for evaluators the plan does not name.
    band : float
        Points within which the panel agrees with the original (the aligned band).

    Returns
    -------
    pandas.DataFrame
        :data:`DISPUTE_COLUMNS`: ``compared_with`` is ``agreed score`` or ``panel mean``,
        ``difference`` = that score − the original (positive: the panel scores it higher).
    """
    names = names or {}
    rows = []
    for o in originals.itertuples(index=False):
        mine = scores[(scores["conversation_id"] == o.conversation_id)
                      & (scores["evaluation_id"] != o.original_evaluation_id)]
        finished = mine[(mine["status"] == "FINISHED") & mine["total_score"].notna()]
        cal_ids = list(dict.fromkeys(mine["calibration_id"]))
        cal_id = cal_ids[0] if cal_ids else None
        mean = float(finished["total_score"].mean()) if len(finished) else math.nan
        agreed_score = math.nan
        if agreed is not None and len(agreed) and cal_id is not None:
            hit = agreed.loc[agreed["calibration_id"] == cal_id, "agreed_score"]
            agreed_score = float(hit.iloc[0]) if len(hit) else math.nan
        reference = agreed_score if not math.isnan(agreed_score) else mean
        who = (o.original_evaluator_name if isinstance(o.original_evaluator_name, str)
               and o.original_evaluator_name else
               names.get(o.original_evaluator_id, str(o.original_evaluator_id)[:8]))
        agent = mine["agent_id"].dropna()
        rows.append({"calibration_id": cal_id, "conversation_id": o.conversation_id,
                     "agent_id": agent.iloc[0] if len(agent) else None,
                     "original_evaluator": who, "original_score": float(o.original_score),
                     "n_panel": len(finished), "panel_mean": mean, "agreed_score": agreed_score,
                     "compared_with": "agreed score" if not math.isnan(agreed_score)
                     else "panel mean", "difference": reference - float(o.original_score),
                     "verdict": verdict(float(o.original_score), reference, band=band,
                                        who="the panel")})
    return pd.DataFrame(rows, columns=list(DISPUTE_COLUMNS))

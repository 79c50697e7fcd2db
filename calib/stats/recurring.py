"""Recurring criteria: questions whose disagreement is high session after session.

When the same question is disputed in most recent sessions, the rubric is the problem (the
criterion needs behavioural anchors), not the evaluators. A question's disagreement in one
session is measured in one of two ways (``measure=``):

* ``"disputed_share"`` (default): the share of the session's calls on which the question was
  disputed, i.e. fewer than ``disputed_below`` of the evaluator pairs chose the same category
  (see :func:`calib.stats.variance.question_disagreement`); high when ≥ ``high_disagreement``
  (0.5: disputed on at least half of the calls);
* ``"disagreement"``: 1 − the mean pairwise percent agreement over the session's calls; high
  when ≥ ``high_disagreement``.

N/A is a category (disagreeing about applicability is a disagreement); blank answers are
missing and dropped (counted in ``.attrs["n_missing"]``). Calls where a question has a single
rating say nothing about agreement and are ignored.

References
----------
Gwet KL (2014). Handbook of Inter-Rater Reliability, 4th ed., ch. 2 (percent agreement).
Fleiss JL (1971). Psychol Bull 76:378-382.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from calib.stats.variance import disagreement_table
from calib.tables import require_columns

RECURRING_COLUMNS = ("question_id", "question_text", "sessions_considered", "sessions_high",
                     "recurring", "last_disagreement")
MEASURES = ("disputed_share", "disagreement")


def _check(last_n: int, min_high: int, high_disagreement: float, measure: str) -> None:
    if not isinstance(last_n, (int, np.integer)) or last_n < 1:
        raise ValueError(f"last_n must be a whole number of sessions ≥ 1, not {last_n!r}.")
    if not isinstance(min_high, (int, np.integer)) or not 1 <= min_high <= last_n:
        raise ValueError(f"min_high must be a whole number between 1 and last_n ({last_n}), "
                         f"not {min_high!r}.")
    if not isinstance(high_disagreement, (int, float)) or not 0 < high_disagreement <= 1:
        raise ValueError(f"high_disagreement must be a share in (0, 1], not "
                         f"{high_disagreement!r}.")
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {', '.join(map(repr, MEASURES))}, not "
                         f"{measure!r}.")


def recurring_criteria(answers: pd.DataFrame, *, last_n: int = 3, min_high: int = 2,
                       high_disagreement: float = 0.5,
                       measure: Literal["disputed_share", "disagreement"] = "disputed_share",
                       disputed_below: float = 0.75) -> pd.DataFrame:
    """Questions with high disagreement in at least ``min_high`` of the last ``last_n`` sessions.

    Parameters
    ----------
    answers : pandas.DataFrame
        One team's ``answers`` table over several sessions: ``session_id, calibration_id,
        evaluator_id, question_id, answer_id, marked_na`` (``month``, ``role`` and
        ``question_text`` are used when present). Sessions are ordered by ``(month,
        session_id)``.
    last_n : int
        Number of most recent sessions considered (default 3).
    min_high : int
        Sessions with high disagreement needed to call a question recurring (default 2).
    high_disagreement : float
        Threshold on the session measure (default 0.5).
    measure : {"disputed_share", "disagreement"}
        How a session's disagreement on a question is measured; see the module docstring.
    disputed_below : float
        Pairwise-agreement level below which a question is disputed on a call.

    Returns
    -------
    pandas.DataFrame
        Columns ``question_id, question_text, sessions_considered, sessions_high, recurring,
        last_disagreement``: ``sessions_considered`` counts the last-N sessions in which the
        question was rated by at least two evaluators on some call, ``last_disagreement`` is the
        measure in the most recent of them. Recurring questions first, then by
        ``sessions_high`` and ``last_disagreement`` descending. ``.attrs["sessions"]`` lists the
        sessions considered, oldest first; ``.attrs["n_missing"]`` counts blank answers dropped.

    Raises
    ------
    ValueError
        Missing columns, out-of-range parameters, answers from more than one team, or no
        question rated twice on any call.

    References
    ----------
    Gwet (2014); Fleiss (1971). See the module docstring.
    """
    _check(last_n, min_high, high_disagreement, measure)
    require_columns(answers, ["session_id", "calibration_id", "evaluator_id", "question_id",
                              "answer_id"], what="answers")
    if "team" in answers.columns and answers["team"].dropna().nunique() > 1:
        raise ValueError(f"answers holds {answers['team'].dropna().nunique()} teams; recurring "
                         f"criteria follow one team's sessions, so pass one team at a time.")
    per_call = disagreement_table(answers, disputed_below=disputed_below, summaries=False)
    n_missing = int(per_call.attrs.get("n_missing", 0))
    per_call = per_call.loc[per_call["n_ratings"] >= 2]
    if per_call.empty:
        raise ValueError("No question was answered by two evaluators on the same call, so no "
                         "disagreement can be measured; pass the answers of a calibration "
                         "panel.")
    per_call = per_call.assign(month=per_call["month"].fillna(""),
                               disagreement_call=1.0 - per_call["agreement"],
                               disputed_call=per_call["disputed"].astype(float))
    order = (per_call[["month", "session_id"]].drop_duplicates()
             .sort_values(["month", "session_id"], kind="stable"))
    sessions = list(order["session_id"].drop_duplicates(keep="last"))[-last_n:]
    recent = per_call.loc[per_call["session_id"].isin(sessions)]
    column = "disputed_call" if measure == "disputed_share" else "disagreement_call"
    per_session = recent.groupby(["question_id", "session_id"], sort=False)[column].mean()
    per_session = per_session.rename("value").reset_index()
    per_session["rank"] = per_session["session_id"].map({s: i for i, s in enumerate(sessions)})
    per_session = per_session.sort_values(["question_id", "rank"], kind="stable")
    grouped = per_session.groupby("question_id", sort=False)
    out = pd.DataFrame({
        "sessions_considered": grouped.size(),
        "sessions_high": grouped["value"].agg(lambda v: int((v >= high_disagreement - 1e-12)
                                                            .sum())),
        "last_disagreement": grouped["value"].last(),
    })
    texts = per_call.dropna(subset=["question_text"]).drop_duplicates("question_id",
                                                                       keep="last")
    out["question_text"] = texts.set_index("question_id")["question_text"].reindex(out.index)
    out["recurring"] = out["sessions_high"] >= min_high
    out = out.reset_index().sort_values(
        ["recurring", "sessions_high", "last_disagreement", "question_id"],
        ascending=[False, False, False, True], kind="stable")
    out = out[list(RECURRING_COLUMNS)].reset_index(drop=True)
    out["sessions_considered"] = out["sessions_considered"].astype(int)
    out["sessions_high"] = out["sessions_high"].astype(int)
    out["recurring"] = out["recurring"].astype(bool)
    out.attrs["sessions"] = sessions
    out.attrs["n_missing"] = n_missing
    return out

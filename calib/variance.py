"""The per-calibration variance table every session starts from, and question disagreement.

Decisions (documented here because the report reads them):

* **Who counts.** Only ``FINISHED`` evaluations with a total score count (see
  :func:`calib.stats.bias.prepare_scores`); everything else is returned in ``excluded`` with a
  reason. The expert's evaluation **counts** in ``n_evaluators``, mean, SD, min, max and range,
  as in the seed article, which takes every finished evaluation: the expert is one more reading
  of the call, and a range that hid the expert would hide an expert who is the outlier.
  ``within_5_share`` and ``deviation_from_expert`` compare the *other* evaluators with the
  expert.
* **Tier on the whole-point range.** The tiers (≤ 5 aligned, 6-15 discuss, > 15 full session)
  are whole-point bands, and QM tools show whole points; the range is rounded half up to a whole
  point before it is compared, so 5.4 is aligned and 5.5 (shown as 6) is discuss, 15.4 is
  discuss and 15.5 is a full session. The ``range`` column keeps the exact value.
* A calibration with fewer than two finished evaluations has no variance and is excluded.

References
----------
Shrout PE, Fleiss JL (1979). Psychol Bull 86:420-428 (SD and range as rater spread).
Gwet KL (2014). Handbook of Inter-Rater Reliability, 4th ed., ch. 2 (pairwise percent agreement
per subject, the quantity ``agreement`` below).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from calib.stats.bias import prepare_scores
from calib.tables import NA_CATEGORY, require_columns

VARIANCE_COLUMNS = ("calibration_id", "conversation_id", "agent_id", "n_evaluators", "mean", "sd",
                    "min", "max", "range", "expert_score", "within_5_share", "tier")
DEVIATION_COLUMNS = ("calibration_id", "evaluator_id", "evaluator_name", "role", "total_score",
                     "deviation_from_expert")
DISAGREEMENT_COLUMNS = ("calibration_id", "session_id", "month", "question_id", "question_text",
                        "n_ratings", "n_categories", "agreement", "disputed", "expert_category",
                        "expert_agreement", "categories")
TIERS = ("aligned", "discuss", "full_session")


@dataclass(frozen=True, eq=False)
class VarianceResult:
    """Result of :func:`calibration_variance`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per calibration: ``calibration_id, conversation_id, agent_id, n_evaluators, mean,
        sd, min, max, range, expert_score, within_5_share, tier``, sorted by range descending.
    deviations : pandas.DataFrame
        One row per counted evaluation: ``calibration_id, evaluator_id, evaluator_name, role,
        total_score, deviation_from_expert`` (NaN when the call has no finished expert score).
    excluded : pandas.DataFrame
        One row per dropped evaluation: ``evaluation_id, calibration_id, evaluator_id, role,
        status, reason``.
    """

    table: pd.DataFrame
    deviations: pd.DataFrame
    excluded: pd.DataFrame


def whole_points(values: pd.Series | np.ndarray) -> np.ndarray:
    """Round half up to whole points, robust to float noise (8.2 − 2.7 counts as 5.5)."""
    return np.floor(np.round(np.asarray(values, dtype=float), 6) + 0.5)


def discussion_tier(score_range: pd.Series | np.ndarray, *, aligned_max: float = 5.0,
                    discuss_max: float = 15.0) -> np.ndarray:
    """Discussion tier of each range, compared on the whole-point (half-up) range.

    Parameters
    ----------
    score_range : array-like of float
        Max − min of the finished scores of each calibration, in points.
    aligned_max, discuss_max : float
        Whole-point range at or below which a call is ``"aligned"`` (confirm briefly) and
        ``"discuss"`` (discuss the gray-area criteria); above ``discuss_max`` it is
        ``"full_session"`` (rubric rewrite likely).

    Returns
    -------
    numpy.ndarray of str
    """
    _check_thresholds(aligned_max, discuss_max)
    rounded = whole_points(score_range)
    return np.where(rounded <= aligned_max, TIERS[0],
                    np.where(rounded <= discuss_max, TIERS[1], TIERS[2])).astype(object)


def _check_thresholds(aligned_max: float, discuss_max: float) -> None:
    for name, value in (("aligned_max", aligned_max), ("discuss_max", discuss_max)):
        if not isinstance(value, (int, float)) or not 0 <= value <= 100:
            raise ValueError(f"{name} must be a number of points between 0 and 100, not "
                             f"{value!r}.")
    if aligned_max > discuss_max:
        raise ValueError(f"aligned_max ({aligned_max}) must not exceed discuss_max "
                         f"({discuss_max}); the aligned band lies below the discuss band.")


def calibration_variance(scores: pd.DataFrame, *, aligned_max: float = 5.0,
                         discuss_max: float = 15.0, within: float = 5.0) -> VarianceResult:
    """Per-calibration spread of the finished total scores and the discussion tier.

    Parameters
    ----------
    scores : pandas.DataFrame
        A ``scores`` table; ``calibration_id, evaluator_id, role, status, total_score`` are
        needed, ``conversation_id, agent_id, evaluator_name, evaluation_id`` are carried along.
    aligned_max : float
        Largest whole-point range still "aligned, confirm briefly" (default 5).
    discuss_max : float
        Largest whole-point range for "discuss the gray-area criteria" (default 15); above it,
        "full session, rubric rewrite likely".
    within : float
        Half-width in points of the band around the expert score used for ``within_5_share``
        (the share of the other evaluators with ``|score − expert| ≤ within``).

    Returns
    -------
    VarianceResult
        ``table``, ``deviations`` and ``excluded``; see :class:`VarianceResult`. ``sd`` is the
        sample SD (n − 1). ``expert_score`` and ``within_5_share`` are NaN without a finished
        expert evaluation.

    Raises
    ------
    ValueError
        Missing columns, thresholds out of order, scores outside 0-100, two experts on a call,
        or no calibration with two finished evaluations.

    References
    ----------
    Module docstring: the expert counts in the spread, and tiers use the whole-point range.
    """
    _check_thresholds(aligned_max, discuss_max)
    if not isinstance(within, (int, float)) or not within >= 0:
        raise ValueError(f"within must be a non-negative number of points, not {within!r}.")
    kept, excluded = prepare_scores(scores, extra=("role",))
    for name in ("conversation_id", "agent_id"):
        if name not in kept.columns:
            kept[name] = None
    size = kept.groupby("calibration_id")["total_score"].transform("size")
    lone = kept.loc[size < 2].reindex(columns=list(excluded.columns[:-1]))
    lone["reason"] = "the only finished evaluation of its calibration: no variance to compute"
    excluded = pd.concat([excluded, lone], ignore_index=True)
    kept = kept.loc[size >= 2].reset_index(drop=True)
    if kept.empty:
        raise ValueError(f"No calibration has two finished evaluations with a score "
                         f"({len(excluded)} evaluation(s) excluded; see the reasons with "
                         f"prepare_scores). Wait until the panel has finished scoring.")
    expert = kept.loc[kept["role"] == "expert"].set_index("calibration_id")["total_score"]
    kept["deviation_from_expert"] = kept["total_score"] - kept["calibration_id"].map(expert)
    others = kept.loc[kept["role"] != "expert"]
    within_share = (others["deviation_from_expert"].abs() <= within + 1e-9).where(
        others["deviation_from_expert"].notna()).groupby(others["calibration_id"]).mean()
    grouped = kept.groupby("calibration_id", sort=False)
    table = grouped["total_score"].agg(n_evaluators="size", mean="mean", sd="std", min="min",
                                       max="max")
    table["range"] = table["max"] - table["min"]
    ids = grouped[["conversation_id", "agent_id"]].first()
    table = ids.join(table).reset_index()
    table["expert_score"] = table["calibration_id"].map(expert).astype(float)
    table["within_5_share"] = table["calibration_id"].map(within_share).astype(float)
    table["tier"] = discussion_tier(table["range"], aligned_max=aligned_max,
                                    discuss_max=discuss_max)
    table = table.sort_values(["range", "calibration_id"], ascending=[False, True],
                              kind="stable").reset_index(drop=True)
    table["n_evaluators"] = table["n_evaluators"].astype(int)
    deviations = kept[list(DEVIATION_COLUMNS)].sort_values(
        ["calibration_id", "role", "evaluator_id"], kind="stable").reset_index(drop=True)
    return VarianceResult(table=table[list(VARIANCE_COLUMNS)], deviations=deviations,
                          excluded=excluded)


# --------------------------------------------------------------------------- questions


def answer_categories(answers: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Category of each answer row and a mask of missing rows (docs/architecture.md).

    The category is ``"N/A"`` when ``marked_na``, else ``answer_id``; a row with neither is
    missing (a blank answer), never a category.
    """
    na = answers["marked_na"].fillna(False).astype(bool) if "marked_na" in answers else \
        pd.Series(False, index=answers.index)
    category = answers["answer_id"].astype("object").where(~na, NA_CATEGORY)
    missing = category.isna()
    return category, missing


def _summaries(frame: pd.DataFrame, keys: list[str]) -> pd.Series:
    """``"Yes: 3, No: 1"`` per group of ``keys``, most frequent answer first."""
    counts = frame.groupby(keys + ["label"], sort=False).size().rename("k").reset_index()
    counts = counts.sort_values(keys + ["k"], ascending=[True] * len(keys) + [False],
                                kind="stable")
    text = counts["label"] + ": " + counts["k"].astype(str)
    return text.groupby([counts[k] for k in keys], sort=False).agg(", ".join)


def question_disagreement(answers: pd.DataFrame, *,
                          disputed_below: float = 0.75) -> pd.DataFrame:
    """Per calibration and question: how far the evaluators' answers agree.

    Parameters
    ----------
    answers : pandas.DataFrame
        An ``answers`` table; ``calibration_id, evaluator_id, role, question_id, answer_id,
        marked_na`` are needed (``question_text, answer_text, session_id, month`` are carried
        along when present).
    disputed_below : float
        A question is ``disputed`` on a call when fewer than this share of evaluator pairs chose
        the same category. The default 0.75 flags any single dissent among up to seven
        evaluators, and asks for two dissents from eight on.

    Returns
    -------
    pandas.DataFrame
        Columns ``calibration_id, session_id, month, question_id, question_text, n_ratings,
        n_categories, agreement, disputed, expert_category, expert_agreement, categories``:
        ``agreement`` is the pairwise percent agreement Σ n_k(n_k − 1) / (n(n − 1)) over the
        categories k (N/A is a category); ``expert_agreement`` the share of the other
        evaluators who chose the expert's category; ``categories`` a summary such as
        ``"Yes: 3, No: 1"`` (answer texts where known). Rows with one rating have NaN
        agreement and are not disputed. Sorted by ``agreement`` ascending.
        ``.attrs["n_missing"]`` counts blank answers that were dropped (neither an answer nor
        N/A), and ``.attrs["excluded"]`` lists them (evaluation, question).

    Raises
    ------
    ValueError
        Missing columns, a bad ``disputed_below``, or no answer left.

    References
    ----------
    Fleiss JL (1971), Psychol Bull 76:378-382 (per-subject agreement P_i); Gwet KL (2014),
    Handbook of Inter-Rater Reliability, 4th ed.
    """
    require_columns(answers, ["calibration_id", "evaluator_id", "question_id", "answer_id"],
                    what="answers")
    if not isinstance(disputed_below, (int, float)) or not 0 < disputed_below <= 1:
        raise ValueError(f"disputed_below must be a share in (0, 1], not {disputed_below!r}.")
    frame = answers.copy()
    for name in ("role", "question_text", "answer_text", "session_id", "month",
                 "evaluation_id"):
        if name not in frame.columns:
            frame[name] = None
    frame["category"], missing = answer_categories(frame)
    dropped = frame.loc[missing, ["evaluation_id", "calibration_id", "evaluator_id",
                                  "question_id"]]
    frame = frame.loc[~missing].drop_duplicates(["calibration_id", "question_id",
                                                 "evaluator_id"], keep="last")
    if frame.empty:
        raise ValueError("No answered question is left (every row is blank); pass the answers "
                         "of finished evaluations.")
    frame["label"] = frame["answer_text"].where(frame["answer_text"].notna(),
                                                frame["category"]).astype(str)
    frame.loc[frame["category"] == NA_CATEGORY, "label"] = NA_CATEGORY
    keys = ["calibration_id", "question_id"]
    counts = frame.groupby(keys + ["category"], sort=False).size().rename("k").reset_index()
    counts["pairs"] = (counts["k"] * (counts["k"] - 1)).astype(float)
    per = counts.groupby(keys, sort=False).agg(n_ratings=("k", "sum"),
                                               n_categories=("k", "size"),
                                               pairs=("pairs", "sum"))
    n = per["n_ratings"].astype(float)
    per["agreement"] = (per["pairs"] / (n * (n - 1))).where(n >= 2)
    per["disputed"] = (per["agreement"] < disputed_below).fillna(False).astype(bool)
    expert = frame.loc[frame["role"] == "expert"].set_index(keys)["category"]
    per["expert_category"] = expert.reindex(per.index)
    others = frame.loc[frame["role"] != "expert"].join(expert.rename("expert_cat"), on=keys)
    others = others.loc[others["expert_cat"].notna()]
    per["expert_agreement"] = (others["category"] == others["expert_cat"]).groupby(
        [others[k] for k in keys]).mean().reindex(per.index)
    first = frame.groupby(keys, sort=False)[["session_id", "month", "question_text"]].first()
    per = per.join(first)
    per["categories"] = _summaries(frame, keys)
    out = per.reset_index().sort_values(["agreement", "calibration_id", "question_id"],
                                        kind="stable", na_position="last")
    out = out[list(DISAGREEMENT_COLUMNS)].reset_index(drop=True)
    out["n_ratings"] = out["n_ratings"].astype(int)
    out["n_categories"] = out["n_categories"].astype(int)
    out.attrs["n_missing"] = int(missing.sum())
    out.attrs["excluded"] = dropped.astype(object).where(dropped.notna(), None).to_dict(
        "records")
    return out

"""The per-calibration variance table every session starts from, and question disagreement.

Decisions (documented here because the report reads them):

* **Who counts.** Only ``FINISHED`` evaluations with a total score count (see
  :func:`calib.stats._common.prepare_scores`); everything else is returned in ``excluded`` with a
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

from calib.stats._common import prepare_scores
from calib.stats.categorical import answer_categories
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
    aligned_max, discuss_max : float
        The tier thresholds the ``tier`` column was cut with.
    """

    table: pd.DataFrame
    deviations: pd.DataFrame
    excluded: pd.DataFrame
    aligned_max: float = 5.0
    discuss_max: float = 15.0


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

    Examples
    --------
    >>> discussion_tier([5.4, 5.5, 15.4, 15.5]).tolist()  # 5.5 shows as 6, 15.5 as 16
    ['aligned', 'discuss', 'discuss', 'full_session']
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

    Examples
    --------
    Call c1 spans 78-82 (aligned), c2 spans 70-90 (a full session); on c3 only the expert has
    finished, so there is no spread to measure and both of its evaluations are listed:

    >>> import pandas as pd
    >>> scores = pd.DataFrame({
    ...     "calibration_id": ["c1"] * 3 + ["c2"] * 3 + ["c3"] * 2,
    ...     "evaluator_id": ["x", "ann", "bob"] * 2 + ["x", "ann"],
    ...     "role": ["expert", "evaluator", "evaluator"] * 2 + ["expert", "evaluator"],
    ...     "status": ["FINISHED"] * 7 + ["INPROGRESS"],
    ...     "total_score": [80.0, 82.0, 78.0, 70.0, 90.0, 80.5, 60.0, None]})
    >>> result = calibration_variance(scores)
    >>> result.table[["calibration_id", "range", "tier", "within_5_share"]].values.tolist()
    [['c2', 20.0, 'full_session', 0.0], ['c1', 4.0, 'aligned', 1.0]]
    >>> result.excluded[["calibration_id", "evaluator_id"]].values.tolist()
    [['c3', 'ann'], ['c3', 'x']]
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
                          excluded=excluded, aligned_max=aligned_max, discuss_max=discuss_max)


# --------------------------------------------------------------------------- questions


_ANSWER_COLUMNS = ("calibration_id", "evaluator_id", "question_id", "answer_id", "answer_text",
                   "marked_na", "role", "question_text", "session_id", "month", "evaluation_id")


def _join_by_group(group: np.ndarray, text: np.ndarray, n_groups: int) -> np.ndarray:
    """``", ".join`` of ``text`` per group; ``group`` must be sorted."""
    bounds = np.searchsorted(group, np.arange(n_groups + 1))
    return np.array([", ".join(text[a:b]) for a, b in zip(bounds[:-1], bounds[1:])],
                    dtype=object)


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
        N/A), and ``.attrs["excluded"]`` lists them (evaluation, question). A second answer by
        the same evaluator to the same question of a call replaces the first.

    Raises
    ------
    ValueError
        Missing columns, a bad ``disputed_below``, or no answer left.

    References
    ----------
    Fleiss JL (1971), Psychol Bull 76:378-382 (per-subject agreement P_i); Gwet KL (2014),
    Handbook of Inter-Rater Reliability, 4th ed.

    Examples
    --------
    Four answers to one question: Yes, Yes, No and N/A. Of the 4 x 3 ordered pairs only the
    two Yes-Yes pairs agree (2 / 12 = 1/6), and one of the three others chose the expert's Yes:

    >>> import pandas as pd
    >>> answers = pd.DataFrame({
    ...     "calibration_id": ["c1"] * 4, "evaluator_id": ["x", "ann", "bob", "cy"],
    ...     "role": ["expert", "evaluator", "evaluator", "evaluator"],
    ...     "question_id": ["q1"] * 4, "answer_id": ["yes", "yes", "no", None],
    ...     "answer_text": ["Yes", "Yes", "No", None], "marked_na": [False, False, False, True]})
    >>> row = question_disagreement(answers).iloc[0]
    >>> [round(float(row[column]), 4) for column in ("agreement", "expert_agreement")]
    [0.1667, 0.3333]
    >>> bool(row["disputed"])
    True
    >>> row["categories"]
    'Yes: 2, No: 1, N/A: 1'
    """
    return disagreement_table(answers, disputed_below=disputed_below, summaries=True)


def disagreement_table(answers: pd.DataFrame, *, disputed_below: float = 0.75,
                       summaries: bool = True) -> pd.DataFrame:
    """:func:`question_disagreement`, optionally without the ``categories`` text (None), which
    is the slow part on a year of answers."""
    require_columns(answers, ["calibration_id", "evaluator_id", "question_id", "answer_id"],
                    what="answers")
    if not isinstance(disputed_below, (int, float)) or not 0 < disputed_below <= 1:
        raise ValueError(f"disputed_below must be a share in (0, 1], not {disputed_below!r}.")
    # Plain arrays, not a copied frame: a year of answers is ~650,000 rows.
    col = {c: (answers[c].to_numpy() if c in answers.columns
               else np.full(len(answers), None, dtype=object)) for c in _ANSWER_COLUMNS}
    # The category rule of docs/architecture.md (N/A is a category, a blank is missing).
    category = answer_categories(answers, weights="identity", na="category")
    missing = category.isna().to_numpy()
    dropped = pd.DataFrame({c: col[c][missing] for c in
                            ("evaluation_id", "calibration_id", "evaluator_id", "question_id")})
    if missing.all():
        raise ValueError("No answered question is left (every row is blank); pass the answers "
                         "of finished evaluations.")
    col = {c: v[~missing] for c, v in col.items()}
    col["category"] = category.to_numpy(object)[~missing]
    call, _ = pd.factorize(col["calibration_id"])
    question, questions = pd.factorize(col["question_id"])
    who, evaluators = pd.factorize(col["evaluator_id"])
    key = call.astype(np.int64) * len(questions) + question
    keep = ~pd.Series(key * len(evaluators) + who).duplicated(keep="last").to_numpy()
    if not keep.all():
        col, key = {c: v[keep] for c, v in col.items()}, key[keep]
    group, _ = pd.factorize(key)  # one group per (calibration, question), first-seen order
    cat, cats = pd.factorize(col["category"])
    n_groups, n_cats = int(group.max()) + 1, len(cats)
    cell, cell_size = np.unique(group.astype(np.int64) * n_cats + cat, return_counts=True)
    cell_group = cell // n_cats
    k = cell_size.astype(float)
    n = np.bincount(cell_group, weights=k, minlength=n_groups)
    pairs = np.bincount(cell_group, weights=k * (k - 1), minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        agreement = np.where(n >= 2, pairs / (n * (n - 1)), np.nan)
    is_expert = col["role"] == "expert"
    expert_cat = np.full(n_groups, -1)
    expert_cat[group[is_expert]] = cat[is_expert]
    compared = ~is_expert & (expert_cat[group] >= 0)
    same = (cat == expert_cat[group])[compared]
    with np.errstate(invalid="ignore", divide="ignore"):
        expert_agreement = (np.bincount(group[compared], weights=same, minlength=n_groups)
                            / np.bincount(group[compared], minlength=n_groups))
    first = np.empty(n_groups, dtype=np.int64)
    first[group[::-1]] = np.arange(len(group) - 1, -1, -1)
    take = {c: col[c][first] for c in
            ("calibration_id", "session_id", "month", "question_id", "question_text")}
    out = pd.DataFrame({**take, "n_ratings": n.astype(int),
                        "n_categories": np.bincount(cell_group, minlength=n_groups),
                        "agreement": agreement,
                        "disputed": np.nan_to_num(agreement, nan=1.0) < disputed_below,
                        "expert_category": np.where(expert_cat >= 0,
                                                    np.asarray(cats, dtype=object)[expert_cat],
                                                    None),
                        "expert_agreement": expert_agreement, "categories": None})
    if summaries:
        text = pd.Series(col["answer_text"])
        text = text.where(text.notna(), pd.Series(col["category"]))
        text = text.where(col["category"] != NA_CATEGORY, NA_CATEGORY).astype(str).to_numpy()
        cell_of_row = np.searchsorted(cell, group.astype(np.int64) * n_cats + cat)
        label = np.empty(cell.size, dtype=object)
        label[cell_of_row] = text
        order = np.lexsort((-cell_size, cell_group))  # by group, most frequent first
        parts = label[order] + ": " + cell_size[order].astype(str).astype(object)
        out["categories"] = _join_by_group(cell_group[order], parts, n_groups)
    out = out.sort_values(["agreement", "calibration_id", "question_id"], kind="stable",
                          na_position="last").reset_index(drop=True)
    out = out[list(DISAGREEMENT_COLUMNS)]
    out.attrs["n_missing"] = int(missing.sum())
    out.attrs["excluded"] = dropped.astype(object).where(dropped.notna(), None).to_dict(
        "records")
    return out

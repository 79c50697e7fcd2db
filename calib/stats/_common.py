"""Validation and reshaping helpers shared by the statistics modules.

The API here is deliberately small and stable, because several modules import it:

- :func:`to_matrix` turns a tidy long frame into a units x raters float matrix (NaN = missing).
- :func:`to_codes` does the same for categorical values, as integer codes (-1 = missing).
- :func:`check_scores_range` rejects scores outside the 0-100 scale (or another range).
- :func:`check_confidence` rejects a confidence level outside (0, 1).
- :func:`t_ci` gives a t-based confidence interval, optionally truncated.
- :func:`coefficient_interval` gives the interval of an agreement coefficient with the rules
  every coefficient shares (minimum size, zero SE, perfect agreement, possible range), and the
  sentence that says which rule applied.
- :func:`mean_ci` gives the mean, SD and t interval of a set of differences.
- :func:`month_number` turns ``YYYY-MM`` months into consecutive numbers for a trend.
- :func:`prepare_scores` applies the finished-evaluations policy of every function that takes a
  ``scores`` table; :func:`excluded_rows` and :func:`excluded_records` list what a function left
  out, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats as _st

from calib.tables import require_columns
from calib.values import MONTH_PATTERN

__all__ = [
    "RatingMatrix",
    "CodeMatrix",
    "to_matrix",
    "to_codes",
    "check_scores_range",
    "check_confidence",
    "t_ci",
    "Interval",
    "coefficient_interval",
    "MIN_UNITS_FOR_INTERVAL",
    "INTERVALS",
    "mean_ci",
    "month_number",
    "EXCLUDED_COLUMNS",
    "prepare_scores",
    "excluded_rows",
    "excluded_records",
]

#: The fewest units (calls) for which an interval is given. Below it a t interval has fewer than
#: 2 degrees of freedom (t = 12.7 at 1 df) and a Wald or linearised SE rests on one or two
#: values; the issue that set this found intervals such as [-3.57, 1] on two calls.
MIN_UNITS_FOR_INTERVAL = 3
#: Quantile choices for a Wald-type interval: ``"t"`` with n - 1 df (irrCAC, Gwet 2014) or ``"z"``
#: (statsmodels, SAS PROC FREQ, Fleiss-Cohen-Everitt 1969).
INTERVALS = ("t", "z")


@dataclass(frozen=True)
class RatingMatrix:
    """Ratings arranged as units x raters.

    Attributes
    ----------
    values : numpy.ndarray
        Float array of shape ``(n_units, n_raters)``; NaN where a rater did not rate a unit.
    units, raters : pandas.Index
        Labels of the rows and columns, in order of first appearance in the data.
    n_missing_rows : int
        Rows of the long input whose value was missing (NaN); they are not in ``values``.
    """

    values: np.ndarray
    units: pd.Index
    raters: pd.Index
    n_missing_rows: int


@dataclass(frozen=True)
class CodeMatrix:
    """Categorical ratings arranged as units x raters, as integer codes.

    Attributes
    ----------
    codes : numpy.ndarray
        Integer array of shape ``(n_units, n_raters)``; ``categories[code]`` is the rating,
        -1 where a rater did not rate a unit.
    units, raters : pandas.Index
        Labels of the rows and columns, in order of first appearance in the data.
    categories : pandas.Index
        The distinct categories, sorted when they are mutually comparable.
    n_missing_rows : int
        Rows of the long input whose value was missing; they are not in ``codes``.
    """

    codes: np.ndarray
    units: pd.Index
    raters: pd.Index
    categories: pd.Index
    n_missing_rows: int


def _positions(data: pd.DataFrame, interaction: str, evaluator: str, keep: np.ndarray,
               what: str) -> tuple[np.ndarray, np.ndarray, pd.Index, pd.Index]:
    """Row and column positions of the kept rows; raise on a duplicate (interaction,
    evaluator) pair."""
    unit_codes, units = pd.factorize(data[interaction].to_numpy(), sort=False)
    rater_codes, raters = pd.factorize(data[evaluator].to_numpy(), sort=False)
    if (unit_codes < 0).any() or (rater_codes < 0).any():
        column = interaction if (unit_codes < 0).any() else evaluator
        raise ValueError(f"{what} has rows with an empty {column!r}; every rating needs a "
                         f"{interaction!r} and a {evaluator!r}. Drop or fill those rows.")
    rows, cols = unit_codes[keep], rater_codes[keep]
    key = rows.astype(np.int64) * max(len(raters), 1) + cols
    cells = len(units) * len(raters)
    if cells <= 50_000_000:  # O(N) count; a sort only for very sparse, very wide designs
        duplicated = key.size > 0 and int(np.bincount(key, minlength=cells).max()) > 1
    else:
        duplicated = len(np.unique(key)) != len(key)
    if duplicated:
        counts = pd.Series(key).value_counts()
        first = int(counts.index[counts.values > 1][0])
        u, r = units[first // max(len(raters), 1)], raters[first % max(len(raters), 1)]
        raise ValueError(f"{what} has more than one rating for {interaction}={u!r} and "
                         f"{evaluator}={r!r}; keep one rating per {interaction} and "
                         f"{evaluator} (for example the latest submitted evaluation).")
    return rows, cols, units, raters


def to_matrix(data: pd.DataFrame, interaction: str, evaluator: str, score: str, *,
              what: str = "data") -> RatingMatrix:
    """Pivot a tidy long frame of numeric ratings into a units x raters matrix.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per rating.
    interaction, evaluator, score : str
        Column names of the rated interaction (e.g. ``calibration_id``), the evaluator
        (``evaluator_id``) and the numeric rating (``total_score``).
    what : str
        Name of the data used in error messages.

    Returns
    -------
    RatingMatrix
        Units and raters in order of first appearance; NaN for cells without a rating. Rows
        whose score is NaN count as missing and are reported in ``n_missing_rows``.

    Raises
    ------
    ValueError
        When a column is absent, the values are not numeric, an interaction or evaluator label
        is empty, or an (interaction, evaluator) pair has more than one non-missing rating.
    """
    require_columns(data, [interaction, evaluator, score], what=what)
    try:
        column = data[score]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            numbers = column.to_numpy(dtype=float, na_value=np.nan)
        else:
            numbers = pd.to_numeric(column, errors="raise").to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} column {score!r} must hold numbers (NaN for missing); "
                         f"convert it with pandas.to_numeric first ({exc}).") from exc
    if np.isinf(numbers).any():
        raise ValueError(f"{what} column {score!r} holds infinite values; replace them with "
                         f"NaN (missing) or a finite score.")
    keep = ~np.isnan(numbers)
    rows, cols, units, raters = _positions(data, interaction, evaluator, keep, what)
    matrix = np.full((len(units), len(raters)), np.nan)
    matrix[rows, cols] = numbers[keep]
    return RatingMatrix(matrix, pd.Index(units, name=interaction),
                        pd.Index(raters, name=evaluator), int((~keep).sum()))


def to_codes(data: pd.DataFrame, interaction: str, evaluator: str, category: str, *,
             what: str = "data") -> CodeMatrix:
    """Pivot a tidy long frame of categorical ratings into a units x raters code matrix.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per rating.
    interaction, evaluator, category : str
        Column names of the interaction, the evaluator and the category.
    what : str
        Name of the data used in error messages.

    Returns
    -------
    CodeMatrix
        ``codes[i, j]`` indexes ``categories``; -1 where missing (None/NaN values count as
        missing and are reported in ``n_missing_rows``).

    Raises
    ------
    ValueError
        As :func:`to_matrix`, except that values need not be numeric.
    """
    require_columns(data, [interaction, evaluator, category], what=what)
    value_codes, categories = pd.factorize(data[category], sort=False)
    keep = value_codes >= 0
    rows, cols, units, raters = _positions(data, interaction, evaluator, keep, what)
    try:
        order = np.argsort(np.asarray(categories), kind="stable")
    except TypeError:  # mixed types (numbers and "N/A"): numbers first, then text
        labels = list(categories)
        order = np.array(sorted(range(len(labels)), key=lambda i: (
            isinstance(labels[i], str), labels[i] if not isinstance(labels[i], str) else 0,
            str(labels[i]))), dtype=int)
    remap = np.empty(len(categories), dtype=np.int64)
    remap[order] = np.arange(len(categories))
    codes = np.full((len(units), len(raters)), -1, dtype=np.int64)
    codes[rows, cols] = remap[value_codes[keep]]
    return CodeMatrix(codes, pd.Index(units, name=interaction),
                      pd.Index(raters, name=evaluator),
                      pd.Index(np.asarray(categories, dtype=object)[order]),
                      int((~keep).sum()))


def check_scores_range(values: np.ndarray | pd.Series, *, name: str = "total_score",
                       lower: float = 0.0, upper: float = 100.0) -> None:
    """Raise ``ValueError`` when a non-missing score lies outside ``[lower, upper]``.

    Parameters
    ----------
    values : array-like of float
        Scores; NaN (missing) is allowed.
    name : str
        Column name used in the message.
    lower, upper : float
        The allowed closed range (the Genesys total score runs from 0 to 100).
    """
    array = np.asarray(values, dtype=float)
    finite = array[~np.isnan(array)]
    if finite.size == 0:
        return
    low, high = float(finite.min()), float(finite.max())
    if low < lower or high > upper:
        bad = low if low < lower else high
        raise ValueError(f"{name} holds {bad:g}, outside the {lower:g}-{upper:g} score scale; "
                         f"fix the data or pass score_range=None to skip this check.")


def check_confidence(confidence: float) -> float:
    """Return ``confidence`` as a float, or raise ``ValueError`` if it is not in (0, 1)."""
    try:
        level = float(confidence)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"confidence must be a number between 0 and 1, such as 0.95, not "
                         f"{confidence!r}.") from exc
    if not 0.0 < level < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1 (e.g. 0.95), not "
                         f"{confidence!r}.")
    return level


def t_ci(estimate: float, se: float, df: float, confidence: float = 0.95, *,
         lower_bound: float | None = None,
         upper_bound: float | None = None) -> tuple[float, float]:
    """Two-sided t-based confidence interval ``estimate +- t(df) * se``, optionally truncated.

    Parameters
    ----------
    estimate, se : float
        Point estimate and its standard error.
    df : float
        Degrees of freedom of the t quantile (``numpy.inf`` gives the normal interval).
    confidence : float
        Two-sided coverage.
    lower_bound, upper_bound : float, optional
        Truncate the interval to these limits (irrCAC truncates agreement coefficients at 1).

    Returns
    -------
    tuple of float
        ``(low, high)``; NaN when ``se`` is NaN or ``df`` is not positive.
    """
    level = check_confidence(confidence)
    if not np.isfinite(se) or not df > 0:
        return float("nan"), float("nan")
    half = float(_st.t.ppf(0.5 + level / 2.0, df)) * se
    low, high = estimate - half, estimate + half
    if lower_bound is not None:
        low = max(low, lower_bound)
    if upper_bound is not None:
        high = min(high, upper_bound)
    return float(low), float(high)


@dataclass(frozen=True)
class Interval:
    """A confidence interval and the sentence that explains it (empty when nothing to say)."""

    low: float
    high: float
    note: str = ""


def coefficient_interval(estimate: float, se: float, n: int, confidence: float, *,
                         distribution: str = "t", lowest: float = -1.0, highest: float = 1.0,
                         what: str = "calls") -> Interval:
    """Wald-type interval ``estimate +- q * se`` for a coefficient with a bounded range.

    The rules, in order (each gives its reason in ``note``):

    1. fewer than :data:`MIN_UNITS_FOR_INTERVAL` units: no interval (NaN);
    2. perfect agreement (``estimate == highest`` with ``se == 0``): the interval is the point
       ``[highest, highest]``, the limit of every published formula as disagreement vanishes;
       the note says it is perfect agreement on ``n`` units, not a certainty about others;
    3. ``se == 0`` otherwise (every unit contributes the same value): no interval, because a
       zero-width interval would claim a certainty that ``n`` units cannot give;
    4. otherwise the interval, truncated to ``[lowest, highest]`` (the coefficient's possible
       range), with a note when a limit was truncated.

    Parameters
    ----------
    estimate, se : float
        Point estimate and standard error.
    n : int
        Units the estimate rests on; the t quantile uses ``n - 1`` df.
    confidence : float
        Two-sided coverage.
    distribution : {"t", "z"}
        Quantile of the t distribution with ``n - 1`` df, or of the normal distribution.
    lowest, highest : float
        The coefficient's possible range.
    what : str
        Name of the units in the sentences.

    Returns
    -------
    Interval
    """
    nan = float("nan")
    if distribution not in INTERVALS:
        raise ValueError(f"interval must be 't' (t with n - 1 df) or 'z' (normal), not "
                         f"{distribution!r}.")
    if not np.isfinite(estimate):
        return Interval(nan, nan, "")
    if n < MIN_UNITS_FOR_INTERVAL:
        return Interval(nan, nan, f"No interval: it rests on {n} {what}, and an interval "
                                  f"needs at least {MIN_UNITS_FOR_INTERVAL}.")
    if not np.isfinite(se):
        return Interval(nan, nan, "No interval: the standard error is undefined here.")
    if se == 0.0:
        if estimate >= highest - 1e-12:
            return Interval(highest, highest,
                            f"Perfect agreement on all {n} {what}: the interval is the point "
                            f"{highest:g}, its limit when nothing disagrees; it describes "
                            f"these {what}, not a certainty about others.")
        return Interval(nan, nan, f"No interval: every one of the {n} {what} contributes the "
                                  f"same agreement, so the standard error is 0, and a zero-width "
                                  f"interval would claim a certainty that {n} {what} cannot "
                                  f"give.")
    df = n - 1 if distribution == "t" else np.inf
    low, high = t_ci(estimate, se, df, confidence)
    note = ""
    if low < lowest or high > highest:
        low, high = max(low, lowest), min(high, highest)
        note = (f"The interval is truncated to the coefficient's possible range "
                f"[{lowest:.4g}, {highest:.4g}].")
    return Interval(float(low), float(high), note)


def mean_ci(differences: np.ndarray,
            confidence: float) -> tuple[float, float, float, float]:
    """Mean, SD and the t-based CI of the mean of ``differences`` (NaN where undefined)."""
    n = differences.size
    mean = float(differences.mean()) if n else float("nan")
    if n < 2:
        return mean, float("nan"), float("nan"), float("nan")
    sd = float(differences.std(ddof=1))
    half = _st.t.ppf(0.5 + confidence / 2, n - 1) * sd / np.sqrt(n)
    return mean, sd, mean - half, mean + half


def month_number(months: pd.Series) -> np.ndarray:
    """Consecutive month numbers (year * 12 + month - 1) of ``YYYY-MM`` strings, for a trend.

    Raises
    ------
    ValueError
        When a month is not a ``YYYY-MM`` string.
    """
    text = months.astype(str)
    bad = months[~text.str.match(MONTH_PATTERN)]
    if len(bad):
        raise ValueError(f"month must be a 'YYYY-MM' string; found {bad.iloc[0]!r}. Give every "
                         f"evaluation the month of its calibration's createdDate (UTC).")
    periods = pd.PeriodIndex(text, freq="M")
    return np.asarray(periods.year * 12 + periods.month - 1, dtype=float)


# --------------------------------------------------------------------------------------------
# The finished-evaluations policy of every function that takes a ``scores`` table
# --------------------------------------------------------------------------------------------

#: Columns of the ``excluded`` tables: one row per evaluation left out, with the reason.
EXCLUDED_COLUMNS = ("evaluation_id", "calibration_id", "evaluator_id", "role", "status", "reason")


def prepare_scores(scores: pd.DataFrame, *, interaction: str = "calibration_id",
                   extra: Sequence[str] = ()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Apply the finished-evaluations policy to a ``scores`` table.

    Parameters
    ----------
    scores : pandas.DataFrame
        A ``scores`` table (``calib.tables.SCORES_COLUMNS``); needs at least ``interaction``,
        ``evaluator_id``, ``status`` and ``total_score``.
    interaction : str
        Column that identifies the scored call (one calibration per call).
    extra : sequence of str
        Further columns the caller needs.

    Returns
    -------
    kept, excluded : pandas.DataFrame
        ``kept`` holds one finished, scored evaluation per (interaction, evaluator);
        ``excluded`` one row per dropped evaluation with columns ``evaluation_id,
        calibration_id, evaluator_id, role, status, reason``.

    Raises
    ------
    ValueError
        When a column is missing, a score lies outside 0-100, or a calibration has more than
        one expert evaluator.
    """
    require_columns(scores, [interaction, "evaluator_id", "status", "total_score", *extra],
                    what="scores")
    frame = scores.copy()
    for name in ("evaluation_id", "calibration_id", "role", "evaluator_name"):
        if name not in frame.columns:
            frame[name] = None
    frame["total_score"] = pd.to_numeric(frame["total_score"], errors="coerce").astype(float)
    status = frame["status"].astype("object")
    # the first reason that applies, in plain arrays (a masked Series assignment each cost more
    # than the rest of the policy; this runs for every statistic of a report)
    reasons = np.full(len(frame), None, dtype=object)
    free = ~frame["evaluator_id"].isna().to_numpy(bool)
    reasons[~free] = "no evaluator id"
    not_finished = free & (status != "FINISHED").to_numpy(bool)
    reasons[not_finished] = ("status " + status[not_finished].astype(str)
                             + ", not FINISHED: only finished evaluations count").to_numpy(object)
    free &= ~not_finished
    no_total = free & frame["total_score"].isna().to_numpy(bool)
    reasons[no_total] = "FINISHED but without a total score"
    free &= ~no_total
    no_call = free & frame[interaction].isna().to_numpy(bool)
    reasons[no_call] = f"no {interaction}"
    reason = pd.Series(reasons, index=frame.index, dtype="object")
    usable = reason.isna()
    bad = frame.loc[usable & ~frame["total_score"].between(0.0, 100.0)]
    if len(bad):
        shown = ", ".join(f"{e} ({s:g})" for e, s in
                          zip(bad["evaluation_id"].head(3), bad["total_score"].head(3)))
        raise ValueError(f"{len(bad)} finished evaluation(s) have a total score outside 0-100, "
                         f"for example {shown}. Scores must be the normalised 0-100 total; "
                         f"fix or remove those rows.")
    # A second evaluation by the same evaluator of the same call: keep the latest submitted.
    order = frame.loc[usable]
    if "submitted_at" in order.columns:
        order = order.sort_values("submitted_at", kind="stable", na_position="first")
    dup = order.duplicated([interaction, "evaluator_id"], keep="last")
    reason[dup[dup].index] = ("a second finished evaluation by the same evaluator on the same "
                              "call; the latest submitted one is kept")
    kept = frame.loc[reason.isna()].reset_index(drop=True)
    if "role" in kept.columns:
        experts = kept.loc[kept["role"] == "expert"].groupby(interaction, sort=False).size()
        if (experts > 1).any():
            raise ValueError(f"{interaction} {experts[experts > 1].index[0]!r} has "
                             f"{int(experts.max())} finished expert evaluations; exactly one "
                             f"evaluation per call may have role 'expert'. Fix the role column.")
    excluded = frame.loc[reason.notna(), list(EXCLUDED_COLUMNS[:-1])].copy()
    excluded["reason"] = reason[reason.notna()]
    return kept, excluded.reset_index(drop=True)


def excluded_records(excluded: pd.DataFrame) -> list[dict]:
    """The excluded rows as plain records, safe to keep in ``DataFrame.attrs``.

    pandas compares ``attrs`` when frames are concatenated, which fails for a DataFrame value;
    rebuild the table with ``pandas.DataFrame(frame.attrs["excluded"])``.
    """
    return excluded.astype(object).where(excluded.notna(), None).to_dict("records")


def excluded_rows(rows: pd.DataFrame, reason: str) -> pd.DataFrame:
    """``rows`` of a prepared ``scores`` table as ``excluded`` rows, all with ``reason``."""
    out = rows.reindex(columns=list(EXCLUDED_COLUMNS[:-1])).copy()
    out["reason"] = reason
    return out

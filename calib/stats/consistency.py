"""How consistent the evaluators are, and whether that is changing over the history window.

**Level.** ICC(A,1) (absolute agreement, single evaluator: "would any one of my evaluators give
this call the same total?") with its McGraw & Wong CI, from :func:`calib.stats.icc` on the
evaluators' scores. The expert is left out by default: their level is judged on its own by the
drift check, and one drifting expert would otherwise read as the whole team disagreeing.

**Trend.** Monthly ICCs from about six calls each have CIs spanning most of the 0-1 scale
(statistics.md pitfall 11), so a regression through them can hardly detect anything, and the
ICC also moves with the spread of the calls' quality (pitfall 12), not only with agreement.
The trend is therefore tested on the quantity the evaluators control: each call's **spread**,
the SD in points of the evaluators' totals on that call. Every calibrated call is one
observation (about 36 over six months instead of 6 monthly points). The statistic is the
least-squares slope of the spread on the calendar-month index; its p-value comes from a
permutation test (the months are shuffled across calls, keeping each month's number of calls),
which needs no normality: spreads are skewed and lumpy because totals move in whole questions.
A falling spread means the evaluators agree more (improving).

References
----------
McGraw KO, Wong SP (1996). Psychol Methods 1:30-46. Koo TK, Li MY (2016). J Chiropr Med
15:155-163. Good P (2005). Permutation, Parametric and Bootstrap Tests of Hypotheses, 3rd ed.,
Springer, ch. 3 (permutation tests; p = (1 + #{|T*| >= |T|}) / (1 + B)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from calib.stats._common import check_confidence, month_number, prepare_scores
from calib.stats.intraclass import icc

MONTHLY_ICC_COLUMNS = ("month", "icc", "ci_low", "ci_high", "n_calls", "n_evaluators",
                       "n_dropped_calls")
_PERMUTATION_BLOCK = 1000


def _raters(scores: pd.DataFrame, include_expert: bool) -> pd.DataFrame:
    kept, _ = prepare_scores(scores, extra=("month",))
    if not include_expert and "role" in kept.columns:
        kept = kept[kept["role"] != "expert"]
    return kept


@dataclass(frozen=True)
class IccEstimate:
    """ICC(A,1) over a period: ``value``, ``ci_low``, ``ci_high`` (McGraw & Wong), ``n_calls``
    (calls scored by every evaluator of the period), ``n_evaluators``, ``n_dropped_calls``
    (calls left out because someone had not scored them), ``confidence``."""

    value: float
    ci_low: float
    ci_high: float
    n_calls: int
    n_evaluators: int
    n_dropped_calls: int
    confidence: float


def agreement_icc(scores: pd.DataFrame, *, include_expert: bool = False,
                  confidence: float = 0.95) -> IccEstimate:
    """ICC(A,1) of the evaluators' total scores over the rows given (a month or a window).

    Parameters
    ----------
    scores : pandas.DataFrame
        A ``scores`` table; finished evaluations count (``prepare_scores``).
    include_expert : bool
        Count the expert as one more evaluator (default: leave them out, see the module note).
    confidence : float
        Level of the CI.

    Returns
    -------
    IccEstimate

    Raises
    ------
    ValueError
        Fewer than two calls scored by every evaluator, fewer than two evaluators, or scores
        that are all identical (see :func:`calib.stats.icc`).

    Notes
    -----
    The ANOVA ICC needs a complete calls x evaluators table: calls someone did not score are
    dropped and counted in ``n_dropped_calls`` (with a changing panel, prefer one month).
    """
    confidence = check_confidence(confidence)
    return _icc_of(_raters(scores, include_expert), confidence)


def _icc_of(raters: pd.DataFrame, confidence: float) -> IccEstimate:
    """:func:`agreement_icc` of evaluations ``prepare_scores`` has already kept."""
    table = icc(raters, confidence=confidence, missing="drop_interactions")
    row = table.set_index("type").loc["ICC(A,1)"]
    return IccEstimate(value=float(row["icc"]), ci_low=float(row["ci_low"]),
                       ci_high=float(row["ci_high"]), n_calls=int(row["n_interactions"]),
                       n_evaluators=int(row["n_evaluators"]),
                       n_dropped_calls=int(table.attrs.get("dropped_interactions", 0)),
                       confidence=confidence)


def monthly_icc(scores: pd.DataFrame, *, include_expert: bool = False,
                confidence: float = 0.95) -> pd.DataFrame:
    """ICC(A,1) month by month, for the trend chart and the details line.

    Returns
    -------
    pandas.DataFrame
        ``month, icc, ci_low, ci_high, n_calls, n_evaluators, n_dropped_calls``; a month where
        the ICC cannot be computed (one call, identical scores) has NaN values and its calls
        counted in ``n_calls``.
    """
    raters = _raters(scores, include_expert)
    rows = []
    for month, part in raters.groupby(raters["month"].astype(str), sort=True):
        try:
            # prepared once above: the finished-evaluations policy keeps a month's part whole
            e = _icc_of(part.reset_index(drop=True), check_confidence(confidence))
            rows.append({"month": month, "icc": e.value, "ci_low": e.ci_low,
                         "ci_high": e.ci_high, "n_calls": e.n_calls,
                         "n_evaluators": e.n_evaluators, "n_dropped_calls": e.n_dropped_calls})
        except ValueError:
            rows.append({"month": month, "icc": np.nan, "ci_low": np.nan, "ci_high": np.nan,
                         "n_calls": int(part["calibration_id"].nunique()),
                         "n_evaluators": int(part["evaluator_id"].nunique()),
                         "n_dropped_calls": 0})
    return pd.DataFrame(rows, columns=list(MONTHLY_ICC_COLUMNS))


@dataclass(frozen=True, eq=False)
class SpreadTrend:
    """Result of :func:`spread_trend`.

    Attributes
    ----------
    calls : pandas.DataFrame
        ``calibration_id, month, month_index, n_ratings, spread`` (SD of the evaluators'
        totals on the call, points), one row per call with at least two ratings.
    monthly : pandas.DataFrame
        ``month, n_calls, mean_spread``.
    slope_per_month, slope_ci_low, slope_ci_high : float
        Least-squares slope of the spread on the month index (points per month) and its t CI.
    p_value : float
        Two-sided permutation p-value of the slope.
    fitted_first, fitted_last : float
        The fitted spread at the first and the last month.
    n_calls, n_months, n_permutations : int
    confidence : float
    """

    calls: pd.DataFrame
    monthly: pd.DataFrame
    slope_per_month: float
    slope_ci_low: float
    slope_ci_high: float
    p_value: float
    fitted_first: float
    fitted_last: float
    n_calls: int
    n_months: int
    n_permutations: int
    confidence: float


def spread_trend(scores: pd.DataFrame, *, include_expert: bool = False,
                 n_permutations: int = 9999, seed: int = 0,
                 confidence: float = 0.95) -> SpreadTrend:
    """Is the evaluators' disagreement on a call growing or shrinking over the window?

    Parameters
    ----------
    scores : pandas.DataFrame
        A ``scores`` table over the history window (``month`` is needed).
    include_expert : bool
        Count the expert's score in each call's spread (default: leave it out).
    n_permutations : int
        Random permutations of the months across calls for the p-value (seeded: the same data
        give the same p-value).
    seed : int
        Seed of the permutations.
    confidence : float
        Level of the slope's t CI (n − 2 df).

    Returns
    -------
    SpreadTrend

    Raises
    ------
    ValueError
        Fewer than three calls with two ratings, fewer than two months, or a bad argument.
    """
    confidence = check_confidence(confidence)
    if not isinstance(n_permutations, (int, np.integer)) or n_permutations < 99:
        raise ValueError(f"n_permutations must be an integer of at least 99 (9999 gives a "
                         f"p-value to about ±0.004), not {n_permutations!r}.")
    raters = _raters(scores, include_expert)
    per_call = raters.groupby("calibration_id").agg(
        month=("month", "first"), n_ratings=("total_score", "size"),
        spread=("total_score", lambda s: float(np.std(s, ddof=1)) if len(s) > 1 else np.nan))
    per_call = per_call[per_call["n_ratings"] >= 2].reset_index()
    per_call["month"] = per_call["month"].astype(str)
    months = int(per_call["month"].nunique())
    if len(per_call) < 3 or months < 2:
        raise ValueError(f"A trend needs calls with two or more ratings in at least two months "
                         f"(at least three calls); there are {len(per_call)} call(s) in "
                         f"{months} month(s). Pool a longer history window.")
    number = month_number(per_call["month"])
    per_call.insert(2, "month_index", (number - number.min()).astype(int))
    x = per_call["month_index"].to_numpy(float)
    y = per_call["spread"].to_numpy(float)
    fit = sps.linregress(x, y)
    half = sps.t.ppf(0.5 + confidence / 2, x.size - 2) * fit.stderr
    centred = x - x.mean()
    observed = abs(float(centred @ (y - y.mean())))
    rng = np.random.default_rng(seed)
    hits, remaining = 0, int(n_permutations)
    while remaining:
        block = min(remaining, _PERMUTATION_BLOCK)
        shuffled = rng.permuted(np.tile(y, (block, 1)), axis=1)
        # same sum of squares in x for every permutation: compare the cross-products
        hits += int((np.abs(shuffled @ centred) >= observed - 1e-9).sum())
        remaining -= block
    monthly = per_call.groupby("month", sort=True).agg(n_calls=("spread", "size"),
                                                       mean_spread=("spread", "mean"))
    return SpreadTrend(calls=per_call, monthly=monthly.reset_index(),
                       slope_per_month=float(fit.slope), slope_ci_low=float(fit.slope - half),
                       slope_ci_high=float(fit.slope + half),
                       p_value=(1 + hits) / (1 + int(n_permutations)),
                       fitted_first=float(fit.intercept + fit.slope * x.min()),
                       fitted_last=float(fit.intercept + fit.slope * x.max()),
                       n_calls=int(len(per_call)), n_months=months,
                       n_permutations=int(n_permutations), confidence=confidence)

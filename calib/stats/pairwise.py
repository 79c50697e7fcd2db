"""Evaluator means, the grand mean, and every pair of evaluators' difference with its SE and CI.

Two standard errors for the difference of evaluators ``a`` and ``b`` (positive = ``a`` scores
higher), named in the result:

- ``"paired"``: over the interactions both scored, the mean of the paired differences, SE
  ``sd(d) / sqrt(n)``, t interval with ``n - 1`` df (Student 1908; the bias of Bland & Altman
  1986). Each pair uses every call the two share, so missing scores cost only their own pairs.
- ``"anova"``: on the complete interactions x evaluators table, the difference of the two
  means with the pooled SE ``sqrt(2 MSE / n)`` from the two-way ANOVA without interaction and
  ``(n - 1)(k - 1)`` df, the error term of the ICC (Shrout & Fleiss 1979; McGraw & Wong 1996).
  It borrows strength from the whole panel, so it is narrower when evaluators disagree alike.

References
----------
Student (1908). The probable error of a mean. Biometrika 6:1-25 (the sleep data, p. 20).
Bland JM, Altman DG (1986). Lancet i:307-310.
Shrout PE, Fleiss JL (1979). Psychological Bulletin 86:420-428.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats as sps

from calib.stats._common import check_confidence, to_matrix

__all__ = ["EvaluatorComparison", "evaluator_differences", "MEANS_COLUMNS", "PAIRS_COLUMNS"]

MEANS_COLUMNS = ("evaluator", "n", "mean")
PAIRS_COLUMNS = ("evaluator_a", "evaluator_b", "n", "mean_a", "mean_b", "difference", "se",
                 "df", "ci_low", "ci_high", "pval")


@dataclass(frozen=True, eq=False)
class EvaluatorComparison:
    """Result of :func:`evaluator_differences`.

    Attributes
    ----------
    means : pandas.DataFrame
        ``evaluator, n, mean``: each evaluator's mean score over the interactions used.
    grand_mean : float
        Mean of every score used (with ``se="anova"``, the mean of the evaluator means).
    pairs : pandas.DataFrame
        ``evaluator_a, evaluator_b, n, mean_a, mean_b, difference, se, df, ci_low, ci_high,
        pval``: one row per pair in order of first appearance; ``difference = mean_a -
        mean_b`` over the ``n`` interactions the pair shares, ``pval`` the two-sided t test
        of no difference. NaN where a pair shares fewer than two interactions (paired).
    se : str
        ``"paired"`` or ``"anova"``.
    confidence : float
    n_interactions : int
        Interactions used.
    n_dropped_interactions : int
        Interactions left out (``"anova"``: with a missing score; ``"paired"``: scored by
        fewer than two evaluators).
    """

    means: pd.DataFrame
    grand_mean: float
    pairs: pd.DataFrame
    se: str
    confidence: float
    n_interactions: int
    n_dropped_interactions: int


def evaluator_differences(data: pd.DataFrame, *, interaction: str = "calibration_id",
                          evaluator: str = "evaluator_id", score: str = "total_score",
                          se: Literal["paired", "anova"] = "paired",
                          confidence: float = 0.95) -> EvaluatorComparison:
    """Each evaluator's mean, the grand mean and each pair's difference with SE and CI.

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy long table, one row per score (e.g. the finished rows of ``scores``).
    interaction, evaluator, score : str
        Column names.
    se : {"paired", "anova"}
        The standard error of a difference (module docstring). ``"anova"`` needs a complete
        table and drops the interactions with a missing score (counted).
    confidence : float
        Two-sided coverage of the t intervals.

    Returns
    -------
    EvaluatorComparison

    Raises
    ------
    ValueError
        On missing columns, non-numeric or duplicate scores, an unknown ``se``, fewer than
        two evaluators, or (``"anova"``) fewer than two complete interactions.

    References
    ----------
    Student (1908), p. 20: the paired difference of the two soporifics on 10 patients is
    1.58 hours, t = 4.06 on 9 df, 95% CI 0.70 to 2.46 (R ``t.test(..., paired = TRUE)`` on
    ``sleep``).

    Examples
    --------
    Student's (1908) extra hours of sleep of 10 patients under two soporifics, the patients
    standing in for calls and the drugs for evaluators:

    >>> import pandas as pd
    >>> drug_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]
    >>> drug_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
    >>> data = pd.DataFrame({"calibration_id": list(range(10)) * 2,
    ...                      "evaluator_id": ["drug 2"] * 10 + ["drug 1"] * 10,
    ...                      "total_score": drug_2 + drug_1})
    >>> pair = evaluator_differences(data).pairs.iloc[0]
    >>> [round(float(pair[c]), 2) for c in ("difference", "ci_low", "ci_high")]
    [1.58, 0.7, 2.46]
    >>> round(float(pair["difference"] / pair["se"]), 2), int(pair["df"])
    (4.06, 9)
    """
    level = check_confidence(confidence)
    if se not in ("paired", "anova"):
        raise ValueError(f"se must be 'paired' (each pair's shared calls) or 'anova' (pooled "
                         f"over the complete table), not {se!r}.")
    rating = to_matrix(data, interaction, evaluator, score, what="scores")
    values = rating.values[:, (~np.isnan(rating.values)).any(axis=0)]
    raters = rating.raters[(~np.isnan(rating.values)).any(axis=0)]
    if len(raters) < 2:
        raise ValueError(f"Comparing evaluators needs at least two with a score; found "
                         f"{len(raters)}. Add the other panel members' scores.")
    t_quantile = 0.5 + level / 2
    if se == "anova":
        complete = ~np.isnan(values).any(axis=1)
        values, dropped = values[complete], int((~complete).sum())
        n, k = values.shape
        if n < 2:
            raise ValueError(f"se='anova' needs at least two interactions scored by every "
                             f"evaluator; found {n}. Use se='paired'.")
        means = values.mean(axis=0)
        residual = values - values.mean(axis=1, keepdims=True) - means + values.mean()
        df = (n - 1) * (k - 1)
        mse = float((residual ** 2).sum()) / df
        pooled_se = float(np.sqrt(2 * mse / n))
        pairs = [_row(raters[i], raters[j], n, means[i], means[j], pooled_se, df, t_quantile)
                 for i, j in combinations(range(k), 2)]
        counts, grand = np.full(k, n), float(means.mean())
    else:
        shared = (~np.isnan(values)).sum(axis=1) >= 2
        dropped, values = int((~shared).sum()), values[shared]
        counts = (~np.isnan(values)).sum(axis=0)
        totals = np.where(np.isnan(values), 0.0, values).sum(axis=0)
        means = np.where(counts > 0, totals / np.maximum(counts, 1), np.nan)
        grand = float(np.nanmean(values)) if values.size else float("nan")
        pairs = []
        for i, j in combinations(range(len(raters)), 2):
            both = ~np.isnan(values[:, i]) & ~np.isnan(values[:, j])
            d = values[both, i] - values[both, j]
            m = int(d.size)
            sd_se = float(d.std(ddof=1) / np.sqrt(m)) if m >= 2 else float("nan")
            pairs.append(_row(raters[i], raters[j], m,
                              float(values[both, i].mean()) if m else float("nan"),
                              float(values[both, j].mean()) if m else float("nan"),
                              sd_se, m - 1, t_quantile))
    table = pd.DataFrame({"evaluator": list(raters), "n": np.asarray(counts, dtype=int),
                          "mean": np.asarray(means, dtype=float)}, columns=list(MEANS_COLUMNS))
    return EvaluatorComparison(table, grand, pd.DataFrame(pairs, columns=list(PAIRS_COLUMNS)),
                               se, level, int(len(values)), dropped)


def _row(a: object, b: object, n: int, mean_a: float, mean_b: float, se: float, df: float,
         t_quantile: float) -> tuple:
    difference = mean_a - mean_b
    nan = float("nan")
    if not (np.isfinite(se) and df >= 1):
        return a, b, n, mean_a, mean_b, difference, nan, nan, nan, nan, nan
    if se == 0.0:  # identical differences on every shared call: no variation to test
        return a, b, n, mean_a, mean_b, difference, 0.0, float(df), nan, nan, nan
    half = float(sps.t.ppf(t_quantile, df)) * se
    pval = float(2 * sps.t.sf(abs(difference / se), df))
    return (a, b, n, mean_a, mean_b, difference, se, float(df), difference - half,
            difference + half, pval)

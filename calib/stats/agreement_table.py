"""Two-rater agreement from a contingency table, with the table-based variance (Gwet 2014).

When two evaluators' answers are summarised as a q x q table (rows: the first evaluator's
category, columns: the second's), percent agreement, Cohen's kappa, Scott's pi and Gwet's
AC1/AC2 and their variances follow from the cell shares ``p_kl`` alone. Every coefficient here
is ``(pa - pe) / (1 - pe)`` with ``pa = sum_kl w_kl p_kl``, and its variance has one form
(Gwet 2014, ch. 2-3; for Cohen's kappa it is Fleiss, Cohen & Everitt 1969):

    var = [sum_kl p_kl (w_kl - (1 - c) g_kl)^2 - (pa - 2 (1 - c) pe)^2] / (n (1 - pe)^2)

where ``c`` is the coefficient and ``g_kl`` its chance-agreement gradient: for Cohen
``wbar_k. + wbar_.l`` (weights averaged over the other rater's marginals), for Scott
``pibar_k + pibar_l`` (over the pooled marginals ``pi``), for Gwet
``2 T_w (1 - (pi_k + pi_l) / 2) / (q (q - 1))``, and 0 for percent agreement. This differs
from the raw-ratings linearisation (:func:`calib.stats.gwet_ac`, :func:`calib.stats.scott_pi`)
by the factor ``sqrt((n - 1) / n)``: the table form divides by ``n``, the raw form by
``n - 1``.

References
----------
Gwet KL (2014). Handbook of Inter-Rater Reliability, 4th ed. Advanced Analytics, ch. 2-3.
Fleiss JL, Cohen J, Everitt BS (1969). Large sample standard errors of kappa and weighted
kappa. Psychological Bulletin 72:323-327.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from calib.stats._agreement import (
    WEIGHTS, AgreementResult, Interval, Weights, agreement_interval, check_interval, wald_test,
    weight_matrix)
from calib.stats._common import check_confidence

__all__ = ["agreement_from_table", "TABLE_COEFFICIENTS"]

TableCoefficient = Literal["percent_agreement", "cohen_kappa", "scott_pi", "gwet_ac"]
TABLE_COEFFICIENTS = ("percent_agreement", "cohen_kappa", "scott_pi", "gwet_ac")


def agreement_from_table(table: pd.DataFrame | np.ndarray, *,
                         coefficient: TableCoefficient = "gwet_ac",
                         weights: Weights = "identity", confidence: float = 0.95,
                         interval: Interval = "t") -> AgreementResult:
    """An agreement coefficient of two evaluators from their q x q contingency table.

    Parameters
    ----------
    table : pandas.DataFrame or numpy.ndarray
        Counts: rows are the first evaluator's categories, columns the second's, in the same
        order. A DataFrame's index holds the categories (numeric values for linear,
        quadratic or ordinal weights); an array's categories are 1..q.
    coefficient : {"percent_agreement", "cohen_kappa", "scott_pi", "gwet_ac"}
        The coefficient (Gwet's AC1, or AC2 under weights).
    weights : {"identity", "linear", "quadratic", "ordinal"}
        Agreement weights on the categories' values (see :func:`calib.stats.gwet_ac`).
    confidence : float
        Two-sided coverage of the interval.
    interval : {"t", "z"}
        t with ``n - 1`` df (irrCAC) or normal; the test ``z``/``pval`` uses the same.

    Returns
    -------
    AgreementResult
        ``n_units`` is the table total; ``se`` the table-based SE (module docstring); ``z``
        and ``pval`` test the coefficient = 0 with it.

    Raises
    ------
    ValueError
        For an unknown coefficient or weights, a table that is not square, negative or
        non-integer counts, an empty table, or chance agreement of 1.

    References
    ----------
    Gwet (2014). On R irrCAC's ``cont3x3abstractors`` table [[13, 0, 0], [0, 20, 7],
    [0, 4, 56]] it reports Cohen 0.7964094 (SE 0.05891072), Scott 0.7962397 (SE 0.05905473),
    AC1 0.8493305 (SE 0.04321747, 95% CI 0.764-0.935) and percent agreement 0.89
    (SE 0.03128898).

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame([[13, 0, 0], [0, 20, 7], [0, 4, 56]],
    ...                      index=["Ectopic", "AIU", "NIU"], columns=["Ectopic", "AIU", "NIU"])
    >>> kappa = agreement_from_table(table, coefficient="cohen_kappa")
    >>> round(kappa.estimate, 7), round(kappa.se, 8)
    (0.7964094, 0.05891072)
    >>> ac1 = agreement_from_table(table)
    >>> round(ac1.estimate, 7), round(ac1.ci_low, 3), round(ac1.ci_high, 3)
    (0.8493305, 0.764, 0.935)
    """
    if coefficient not in TABLE_COEFFICIENTS:
        raise ValueError(f"coefficient must be one of {', '.join(TABLE_COEFFICIENTS)}, not "
                         f"{coefficient!r}.")
    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {', '.join(WEIGHTS)}, not {weights!r}.")
    check_confidence(confidence)
    check_interval(interval)
    counts, labels = _counts(table)
    n = int(counts.sum())
    q = len(labels)
    w = weight_matrix(labels, weights)
    p = counts / n
    rows, cols = p.sum(axis=1), p.sum(axis=0)
    pooled = (rows + cols) / 2
    pa = float((w * p).sum())
    if coefficient == "percent_agreement":
        pe, gradient = 0.0, np.zeros((q, q))
    elif coefficient == "cohen_kappa":
        pe = float(rows @ w @ cols)
        gradient = (w @ cols)[:, None] + (w.T @ rows)[None, :]
    elif coefficient == "scott_pi":
        pe = float(pooled @ w @ pooled)
        spread = (w @ pooled + w.T @ pooled) / 2
        gradient = spread[:, None] + spread[None, :]
    else:
        factor = w.sum() / (q * (q - 1)) if q > 1 else np.nan
        pe = float(factor * (pooled * (1 - pooled)).sum())
        gradient = 2 * factor * (1 - (pooled[:, None] + pooled[None, :]) / 2)
    if not pe < 1:
        raise ValueError(f"{coefficient} is undefined because chance agreement is 1 (every "
                         f"answer in one category); report percent agreement instead.")
    estimate = (pa - pe) / (1 - pe)
    spread_sq = (p * (w - (1 - estimate) * gradient) ** 2).sum()
    var = (spread_sq - (pa - 2 * (1 - estimate) * pe) ** 2) / (n * (1 - pe) ** 2)
    se = float(np.sqrt(var)) if var > 1e-24 * max(1.0, estimate ** 2) else 0.0
    ci = agreement_interval(estimate, se, pe, n, confidence, interval)
    z, pval = wald_test(estimate, se, n, interval)
    name = "AC1" if coefficient == "gwet_ac" and weights == "identity" else (
        "AC2" if coefficient == "gwet_ac" else coefficient)
    return AgreementResult(name, float(estimate), se, ci.low, ci.high, pa, pe, n, 2 * n, 0, 0,
                           weights, z=z, pval=pval, note=ci.note, interval=interval)


def _counts(table: pd.DataFrame | np.ndarray) -> tuple[np.ndarray, list]:
    """Validated float counts and the category labels of a square contingency table."""
    if isinstance(table, pd.DataFrame):
        labels = list(table.index)
        if list(table.columns) != labels:
            raise ValueError(f"The table's columns {list(table.columns)!r} must be its index "
                             f"{labels!r} in the same order: both evaluators use one answer "
                             f"set. Reindex the columns.")
        values = table.to_numpy()
    else:
        values = np.asarray(table)
        labels = list(range(1, values.shape[0] + 1)) if values.ndim == 2 else []
    try:
        counts = values.astype(float)
    except (TypeError, ValueError) as exc:
        raise ValueError("The contingency table must hold counts (numbers).") from exc
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.shape[0] < 2:
        raise ValueError(f"The contingency table must be square with at least two "
                         f"categories, not of shape {counts.shape}; rows are the first "
                         f"evaluator's answers, columns the second's.")
    if not np.isfinite(counts).all() or (counts < 0).any() or (counts % 1 != 0).any():
        raise ValueError("The contingency table must hold whole, non-negative counts; fix "
                         "the cells that are negative, fractional or missing.")
    if counts.sum() == 0:
        raise ValueError("The contingency table is empty (all counts are 0); there is no "
                         "pair of answers to compare.")
    return counts, labels

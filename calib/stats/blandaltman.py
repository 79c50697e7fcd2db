"""Bland-Altman agreement of paired measurements: bias, limits of agreement and their precision.

For paired differences ``d = a - b`` with mean ``dbar`` and SD ``s`` over ``n`` pairs
(Bland & Altman 1986, "Precision of estimated limits of agreement"):

- the bias ``dbar`` has SE ``sqrt(s^2 / n)`` and a t interval with ``n - 1`` df;
- the limits of agreement are ``dbar -+ m s`` with the multiplier ``m`` (1.96 at 95%, or the 2
  the 1986 paper used), each with the approximate SE ``sqrt(3 s^2 / n)`` and a t interval with
  ``n - 1`` df.

The 1986 paper's PEFR example (Wright minus mini Wright, first readings, 17 subjects) gives
bias -2.1 (SE 9.4, 95% CI -22.0 to 17.8) and, with 2 SD, limits -79.7 and 75.5 with SE 16.3
and 95% CIs -114.3 to -45.1 and 40.9 to 110.1 (the paper rounds intermediate values).

References
----------
Bland JM, Altman DG (1986). Statistical methods for assessing agreement between two methods of
clinical measurement. Lancet i:307-310.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from calib.stats._common import check_confidence

__all__ = ["BlandAltmanResult", "bland_altman"]


@dataclass(frozen=True)
class BlandAltmanResult:
    """Agreement of two paired measurements ``a`` and ``b`` (differences ``a - b``).

    Attributes
    ----------
    n : int
        Pairs used.
    bias, sd : float
        Mean and standard deviation of the differences.
    ci_low, ci_high : float
        t interval (``n - 1`` df) of the bias.
    loa_low, loa_high : float
        Limits of agreement ``bias -+ multiplier * sd``.
    loa_se : float
        Approximate SE of each limit, ``sqrt(3 sd^2 / n)`` (Bland & Altman 1986).
    n_dropped : int
        Pairs with a missing value, left out.
    confidence : float
        Coverage of the intervals.
    bias_se : float
        SE of the bias, ``sd / sqrt(n)``.
    loa_low_ci_low, loa_low_ci_high, loa_high_ci_low, loa_high_ci_high : float
        t intervals (``n - 1`` df) of the lower and the upper limit.
    multiplier : float
        The ``m`` of the limits: the normal quantile at ``confidence`` (1.96 at 0.95) unless
        given.
    """

    n: int
    bias: float
    sd: float
    ci_low: float
    ci_high: float
    loa_low: float
    loa_high: float
    loa_se: float
    n_dropped: int
    confidence: float
    bias_se: float = float("nan")
    loa_low_ci_low: float = float("nan")
    loa_low_ci_high: float = float("nan")
    loa_high_ci_low: float = float("nan")
    loa_high_ci_high: float = float("nan")
    multiplier: float = float("nan")


def bland_altman(a: Sequence[float] | np.ndarray | pd.Series,
                 b: Sequence[float] | np.ndarray | pd.Series, *,
                 confidence: float = 0.95, multiplier: float | None = None
                 ) -> BlandAltmanResult:
    """Bias and limits of agreement between paired measurements, with their precision.

    Parameters
    ----------
    a, b : array-like of float
        Paired measurements of the same objects, same length. The difference is ``a - b``;
        pairs where either value is missing are dropped and counted in ``n_dropped``.
    confidence : float
        Coverage of the intervals of the bias and of each limit (t with ``n - 1`` df), and,
        without ``multiplier``, of the limits themselves (``m`` = normal quantile, 1.96).
    multiplier : float, optional
        The ``m`` in ``bias -+ m * sd``: 2 reproduces Bland & Altman (1986); default the
        normal quantile at ``confidence``.

    Returns
    -------
    BlandAltmanResult

    Raises
    ------
    ValueError
        When the lengths differ, a value is infinite, fewer than two complete pairs remain,
        or the multiplier is not a positive number.

    References
    ----------
    Bland & Altman (1986), Lancet i:307-310 (see the module docstring for the example).

    Examples
    --------
    Bland & Altman (1986), Table 1: peak expiratory flow (l/min) of 17 subjects on the Wright
    and the mini Wright meter. With 2 SD they report bias -2.1 (95% CI -22.0 to 17.8) and
    limits of agreement -79.7 to 75.5 (p. 309), from d and s rounded to one decimal first.

    >>> wright = [494, 395, 516, 434, 476, 557, 413, 442, 650, 433, 417, 656, 267, 478, 178,
    ...           423, 427]
    >>> mini = [512, 430, 520, 428, 500, 600, 364, 380, 658, 445, 432, 626, 260, 477, 259, 350,
    ...         451]
    >>> r = bland_altman(wright, mini, multiplier=2)
    >>> [round(float(v), 1) for v in (r.bias, r.ci_low, r.ci_high)]
    [-2.1, -22.0, 17.8]
    >>> [round(float(v), 1) for v in (r.loa_low, r.loa_high)]
    [-79.6, 75.4]
    """
    level = check_confidence(confidence)
    if multiplier is not None and not (isinstance(multiplier, (int, float))
                                       and np.isfinite(multiplier) and multiplier > 0):
        raise ValueError(f"multiplier must be a positive number such as 1.96 or 2, not "
                         f"{multiplier!r}.")
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"a and b must be one-dimensional and of the same length (got "
                         f"{x.shape} and {y.shape}); pass the paired measurements in order.")
    if np.isinf(x).any() or np.isinf(y).any():
        raise ValueError("a and b hold infinite values; replace them with NaN (missing) or a "
                         "finite measurement.")
    ok = ~(np.isnan(x) | np.isnan(y))
    d = x[ok] - y[ok]
    n = int(d.size)
    if n < 2:
        raise ValueError(f"Bland-Altman needs at least two complete pairs; {n} remain "
                         f"after dropping {int((~ok).sum())} pair(s) with a missing value.")
    bias, sd = float(d.mean()), float(d.std(ddof=1))
    m = float(sps.norm.ppf(0.5 + level / 2)) if multiplier is None else float(multiplier)
    t = float(sps.t.ppf(0.5 + level / 2, n - 1))
    bias_se, loa_se = sd / np.sqrt(n), float(np.sqrt(3 * sd ** 2 / n))
    low, high = bias - m * sd, bias + m * sd
    return BlandAltmanResult(
        n=n, bias=bias, sd=sd, ci_low=bias - t * bias_se, ci_high=bias + t * bias_se,
        loa_low=low, loa_high=high, loa_se=loa_se, n_dropped=int((~ok).sum()),
        confidence=level, bias_se=float(bias_se), loa_low_ci_low=low - t * loa_se,
        loa_low_ci_high=low + t * loa_se, loa_high_ci_low=high - t * loa_se,
        loa_high_ci_high=high + t * loa_se, multiplier=m)

"""Krippendorff's alpha for nominal, ordinal, interval and ratio data, with missing cells.

Alpha is ``1 - (n - 1) * sum_u d_u / E`` where ``n`` counts the pairable values (those in units
with at least two values), ``d_u = sum_{i != j in u} delta^2(v_i, v_j) / (m_u - 1)`` is the
disagreement inside unit ``u`` with ``m_u`` values, and ``E = sum_{i != j} delta^2`` over all
pairable values (Krippendorff 2011, eqs. for D_o and D_e, rewritten without the coincidence
matrix). Nothing here builds a values x values matrix for the interval, ordinal or nominal
metrics:

- interval: ``sum_{i != j} (v_i - v_j)^2 = 2 m SS`` for any set of ``m`` values with sum of
  squared deviations ``SS``, so ``d_u`` and ``E`` come from per-unit sums and sums of squares
  (O(N));
- ordinal: Krippendorff's rank metric ``(sum_{g=c..k} n_g - (n_c + n_k)/2)^2`` equals
  ``(r_k - r_c)^2`` with ``r_c = sum_{g<c} n_g + n_c / 2`` (mid-ranks of the pairable values),
  so ordinal alpha is interval alpha on ``r`` (O(N log N));
- nominal: ``sum_{i != j} [v_i != v_j] = m^2 - sum_c n_c^2`` (O(N log N));
- ratio: ``((c - k)/(c + k))^2`` does not decompose, so ``d_u`` is summed over the pairs inside
  each unit and ``E`` over pairs of distinct values in memory-bounded blocks (O(V^2) time for
  V distinct values, fine for integer scores; slow for many distinct decimals).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import sparse

from calib.stats._common import (
    MIN_UNITS_FOR_INTERVAL, check_confidence, check_scores_range, to_codes, to_matrix)
from calib.tables import require_columns

__all__ = ["AlphaResult", "krippendorff_alpha", "LEVELS"]

LEVELS = ("nominal", "ordinal", "interval", "ratio")
Level = Literal["nominal", "ordinal", "interval", "ratio"]
_BLOCK = 4_000_000  # floats per temporary block (32 MB)


@dataclass(frozen=True)
class AlphaResult:
    """Krippendorff's alpha with its bootstrap interval and what was used or dropped.

    Attributes
    ----------
    alpha : float
        The point estimate.
    level : str
        Metric: ``nominal``, ``ordinal``, ``interval`` or ``ratio``.
    ci_low, ci_high : float
        Percentile bootstrap limits; NaN when ``n_boot`` was 0 or no interval can be given
        (``note`` says why).
    n_units : int
        Units (interactions) with at least two values, the ones alpha uses.
    n_pairable_values : int
        Values in those units (Krippendorff's ``n``).
    n_dropped_units : int
        Units present in the data with fewer than two values (not pairable), left out.
    n_missing_values : int
        Rows whose value was missing (NaN/None), left out.
    n_boot : int
        Bootstrap replicates drawn.
    n_boot_undefined : int
        Replicates whose alpha is undefined (0/0): every pairable value in the resample is the
        same, as when one constant call is drawn every time. See the Notes of
        :func:`krippendorff_alpha` for how they enter the interval.
    note : str
        Why there is no interval, why it is a single point (perfect agreement), or how many
        undefined replicates it counted; empty when there is nothing to say.
    """

    alpha: float
    level: str
    ci_low: float
    ci_high: float
    n_units: int
    n_pairable_values: int
    n_dropped_units: int
    n_missing_values: int = 0
    n_boot: int = 0
    n_boot_undefined: int = 0
    note: str = ""


def krippendorff_alpha(data: pd.DataFrame, *, level: Level = "interval",
                       interaction: str = "calibration_id", evaluator: str = "evaluator_id",
                       score: str = "total_score", n_boot: int = 0, seed: int = 0,
                       confidence: float = 0.95,
                       score_range: tuple[float, float] | None = (0.0, 100.0)) -> AlphaResult:
    """Krippendorff's alpha reliability for any number of evaluators, with missing values.

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy long table, one row per rating (e.g. the ``scores`` table). An evaluator who did
        not rate a unit simply has no row, or a NaN/None value.
    level : {"nominal", "ordinal", "interval", "ratio"}
        Level of measurement, which sets the difference function (Krippendorff 2011).
    interaction, evaluator, score : str
        Column names of the rated interaction (the unit of analysis), the evaluator and the
        rated value: a score, or at the nominal level a category (``score="category"``).
    n_boot : int
        Number of bootstrap replicates for the confidence interval; 0 for none.
    seed : int
        Seed of the bootstrap (``numpy.random.default_rng``); the same seed gives the same
        interval.
    confidence : float
        Two-sided coverage of the percentile interval.
    score_range : tuple of float or None
        Allowed range of numeric values (the 0-100 score scale by default); ``None`` skips
        the check. Non-numeric values are allowed only with ``level="nominal"``.

    Returns
    -------
    AlphaResult
        ``alpha``, ``level``, ``ci_low``, ``ci_high``, ``n_units``, ``n_pairable_values``,
        ``n_dropped_units``, ``n_missing_values``, ``n_boot``, ``n_boot_undefined``, ``note``.

    Raises
    ------
    ValueError
        For an unknown level, a negative ``n_boot``, missing columns, duplicate ratings,
        non-numeric values at a numeric level, values outside ``score_range``, negative values
        at the ratio level, fewer than two units rated by two evaluators (e.g. a single
        evaluator, or one call: alpha compares disagreement within calls with disagreement
        across them, and one call always gives 0), or pairable values that are all identical
        (alpha is then undefined).

    Notes
    -----
    Missing data: values that are NaN are ignored, and units left with fewer than two values
    carry no information about agreement and are dropped (Krippendorff 2011); both counts are
    reported in the result.

    Bootstrap: units (calls) are resampled with replacement, keeping each unit's values
    together, and the interval is the percentile interval of the replicated alphas (Efron &
    Tibshirani 1993, ch. 13; the unit-level scheme of Zapf et al. 2016). Calls are what is
    sampled in a calibration, so this reflects call-to-call variability. It differs from the
    scheme of Hayes & Krippendorff (2007), which resamples pairable values within the
    observed coincidences and does not respect the clustering of values in units. Replicates
    are vectorised as unit-multiplicity weights over per-unit sufficient statistics.

    Degenerate replicates: a resample whose pairable values are all identical (for example the
    same constant call drawn every time) has zero expected disagreement and alpha 0/0. Such
    replicates are found exactly (every drawn unit constant, with one common value), never by
    rounding noise, and counted in ``n_boot_undefined``. They are neither dropped (which would
    condition the interval on the resamples that happen to vary) nor given a value: each
    counts against both limits (as the lowest value for the lower limit, the highest for the
    upper). When they exceed the ``(1 - confidence) / 2`` tail a limit cannot be found and no
    interval is given, which is what happens with three calls (one resample in nine is
    degenerate). No interval is given below three pairable units either. When every defined
    replicate equals 1 (perfect agreement) the interval is the point [1, 1] and ``note`` says
    it describes these calls, not a certainty about others.

    References
    ----------
    Krippendorff K (2011). Computing Krippendorff's alpha-reliability. Annenberg School for
    Communication Departmental Papers 43.
    Hayes AF, Krippendorff K (2007). Answering the call for a standard reliability measure
    for coding data. Communication Methods and Measures 1:77-89.
    Zapf A, Castell S, Morawietz L, Karch A (2016). Measuring inter-rater reliability for
    nominal data - which coefficients and confidence intervals are appropriate? BMC Medical
    Research Methodology 16:93.
    Efron B, Tibshirani RJ (1993). An Introduction to the Bootstrap. Chapman & Hall.

    Examples
    --------
    Krippendorff's (2011, section C) reliability data: 12 units, 4 observers, 7 values missing;
    he reports alpha = .743 (nominal), .815 (ordinal), .849 (interval) and .797 (ratio), on 40
    pairable values, the 12th unit (one value) not pairable.

    >>> import pandas as pd
    >>> ratings = [[1, 1, None, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2],
    ...            [1, 2, 3, 4], [4, 4, 4, 4], [1, 1, 2, 1], [2, 2, 2, 2], [None, 5, 5, 5],
    ...            [None, None, 1, 1], [None, None, 3, None]]
    >>> table = pd.DataFrame([(f"call-{i}", f"observer-{j}", value)
    ...                       for i, row in enumerate(ratings) for j, value in enumerate(row)],
    ...                      columns=["calibration_id", "evaluator_id", "total_score"])
    >>> [round(krippendorff_alpha(table, level=level).alpha, 3) for level in LEVELS]
    [0.743, 0.815, 0.849, 0.797]
    >>> result = krippendorff_alpha(table)
    >>> result.n_pairable_values, result.n_units, result.n_dropped_units, result.n_missing_values
    (40, 11, 1, 7)
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}.")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 0:
        raise ValueError(f"n_boot must be a whole number of bootstrap replicates (0 for no "
                         f"interval), not {n_boot!r}.")
    level_conf = check_confidence(confidence)
    units_of, numbers, n_units_seen, n_raters, n_missing = _long_values(
        data, interaction, evaluator, score, level, score_range)
    if n_raters < 2:
        raise ValueError(f"Alpha compares evaluators, but only {n_raters} evaluator rated; "
                         f"add the ratings of at least one more evaluator.")
    core = _Units.build(units_of, numbers, level)
    if core.n_units == 0:
        raise ValueError("No unit was rated by two or more evaluators, so no values are "
                         "pairable; alpha needs units with at least two ratings.")
    if core.n_units == 1:
        raise ValueError("Alpha needs at least two calls rated by two or more evaluators, but "
                         "only one call is: alpha compares the disagreement within calls with "
                         "the disagreement across calls, and on one call it is always 0. Add "
                         "calls, or report the spread of the scores on this call.")
    perfect, degenerate = core.agreement_state(np.ones((1, core.n_units)))
    if degenerate[0]:
        raise ValueError("All pairable values are identical, so expected disagreement is zero "
                         "and alpha is undefined; report percent agreement instead.")
    alpha = 1.0 if perfect[0] else float(core.alphas(np.ones((1, core.n_units)), level)[0])
    ci_low = ci_high = float("nan")
    undefined = 0
    note = ""
    if n_boot and core.n_units < MIN_UNITS_FOR_INTERVAL:
        note = (f"No interval: it rests on {core.n_units} calls, and an interval needs at least "
                f"{MIN_UNITS_FOR_INTERVAL}.")
    elif n_boot:
        rng = np.random.default_rng(seed)
        replicates = []
        chunk = max(1, min(n_boot, _BLOCK // max(core.n_units, core.n_values, 1)))
        for start in range(0, n_boot, chunk):
            size = min(chunk, n_boot - start)
            weights = rng.multinomial(core.n_units, np.full(core.n_units, 1.0 / core.n_units),
                                      size=size).astype(float)
            values = core.alphas(weights, level)
            perfect, degenerate = core.agreement_state(weights)
            values[perfect] = 1.0
            values[degenerate | ~np.isfinite(values)] = np.nan
            replicates.append(values)
        ci_low, ci_high, undefined, note = _percentile_interval(
            np.concatenate(replicates), level_conf, core.n_units)
    return AlphaResult(alpha, level, ci_low, ci_high, core.n_units, core.n_pairable,
                       n_units_seen - core.n_units, n_missing, int(n_boot), undefined, note)


def _percentile_interval(boots: np.ndarray, confidence: float,
                         n_units: int) -> tuple[float, float, int, str]:
    """Percentile limits with undefined (NaN) replicates counted against both limits."""
    nan = float("nan")
    undefined = np.isnan(boots)
    n_undefined, total = int(undefined.sum()), int(boots.size)
    tail = (1.0 - confidence) / 2.0
    with np.errstate(invalid="ignore"):
        low = float(np.quantile(np.where(undefined, -np.inf, boots), tail))
        high = float(np.quantile(np.where(undefined, np.inf, boots), 1.0 - tail))
    share = f"{n_undefined} of {total} resamples"
    if not (np.isfinite(low) and np.isfinite(high)):
        return nan, nan, n_undefined, (
            f"No interval: {share} drew calls whose values are all identical, where alpha is "
            f"undefined (0/0), more than the {100 * tail:.3g}% that each limit may leave out, "
            f"so a limit cannot be found; {n_units} calls are too few, add calls.")
    counted = (f" {share} had undefined alpha (all values identical) and count against both "
               f"limits, which widens the interval slightly." if n_undefined else "")
    if low == high:
        if low >= 1.0 - 1e-12:
            return 1.0, 1.0, n_undefined, (
                f"Perfect agreement on all {n_units} calls: every resample gives alpha 1, so "
                f"the interval is the point 1; it describes these calls, not a certainty about "
                f"others.{counted}")
        return nan, nan, n_undefined, (
            f"No interval: every resample gives alpha {low:.4g}, so resampling the "
            f"{n_units} calls shows no variation, which is not certainty.{counted}")
    return low, high, n_undefined, counted.strip()


def _long_values(data: pd.DataFrame, interaction: str, evaluator: str, score: str, level: str,
                 score_range: tuple[float, float] | None
                 ) -> tuple[np.ndarray, np.ndarray, int, int, int]:
    """Unit codes and numeric values of the non-missing ratings (categories coded for nominal)."""
    require_columns(data, [interaction, evaluator, score], what="data")
    if level != "nominal" or pd.api.types.is_numeric_dtype(data[score]):
        rating = to_matrix(data, interaction, evaluator, score)
        if score_range is not None:
            check_scores_range(rating.values, name=score, lower=score_range[0],
                               upper=score_range[1])
        matrix = rating.values
        if level == "ratio" and (matrix < 0).any():
            raise ValueError(f"The ratio metric needs non-negative values, but {score!r} has "
                             f"negative ones; use level='interval'.")
        rows, cols = np.nonzero(~np.isnan(matrix))
        values = matrix[rows, cols]
    else:
        coded = to_codes(data, interaction, evaluator, score)
        matrix = coded.codes
        rows, cols = np.nonzero(matrix >= 0)
        values = matrix[rows, cols].astype(float)
        rating = coded
    n_raters = int(np.count_nonzero(np.bincount(cols, minlength=1)))
    return rows, values, len(rating.units), n_raters, rating.n_missing_rows


@dataclass(frozen=True)
class _Units:
    """Per-unit sufficient statistics of the pairable values."""

    n_units: int
    n_pairable: int
    n_values: int
    sizes: np.ndarray        # m_u, float, shape (U,)
    sums: np.ndarray         # sum of centred values per unit
    squares: np.ndarray      # sum of squared centred values per unit
    counts: sparse.csr_matrix  # U x V counts of each distinct value (not for interval)
    distinct: np.ndarray     # the V distinct values, sorted (not for interval)
    packed: np.ndarray       # ratio only: values of unit u are packed[offsets[u]:offsets[u+1]]
    offsets: np.ndarray
    constant: np.ndarray     # per unit: code of its single distinct value, -1 if it varies

    @classmethod
    def build(cls, unit_codes: np.ndarray, values: np.ndarray, level: str) -> "_Units":
        sizes_all = np.bincount(unit_codes)
        pairable = sizes_all >= 2
        keep = pairable[unit_codes]
        unit_codes, values = unit_codes[keep], values[keep]
        unit_index = (np.cumsum(pairable) - 1)[unit_codes]
        n_units = int(pairable.sum())
        centred = values - values.mean() if values.size else values
        sizes = np.bincount(unit_index, minlength=n_units).astype(float)
        sums = np.bincount(unit_index, centred, minlength=n_units)
        squares = np.bincount(unit_index, centred * centred, minlength=n_units)
        if level == "interval":  # sums of squares suffice; skip the value counts
            distinct = np.empty(0)
            counts = sparse.csr_matrix((n_units, 0))
        else:
            distinct, value_index = np.unique(values, return_inverse=True)
            counts = sparse.csr_matrix((np.ones(values.size), (unit_index, value_index)),
                                       shape=(n_units, distinct.size))
            counts.sum_duplicates()
        order = np.argsort(unit_index, kind="stable") if level == "ratio" else slice(0, 0)
        offsets = np.concatenate([[0], np.cumsum(sizes).astype(np.int64)])
        return cls(n_units, int(values.size), int(distinct.size), sizes, sums, squares,
                   counts, distinct, values[order], offsets,
                   _constant_units(unit_index, values, n_units))

    def agreement_state(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each row of unit-multiplicity ``weights`` (B x U), decided exactly (never from
        rounding noise): whether every drawn unit is constant (no observed disagreement, alpha
        exactly 1) and whether, in addition, all drawn values are the same (zero expected
        disagreement, alpha 0/0)."""
        drawn = weights > 0
        perfect = ~(drawn & (self.constant < 0)[None, :]).any(axis=1)
        high = np.where(drawn, self.constant[None, :], -1).max(axis=1)
        low = np.where(drawn, self.constant[None, :], np.iinfo(np.int64).max).min(axis=1)
        return perfect, perfect & (high == low)

    def alphas(self, weights: np.ndarray, level: str) -> np.ndarray:
        """Alpha for each row of unit-multiplicity ``weights`` (B x U); the point estimate is
        a single row of ones."""
        n = weights @ self.sizes
        with np.errstate(divide="ignore", invalid="ignore"):
            if level == "interval":
                within = self.sizes * (self.squares - self.sums ** 2 / self.sizes) \
                    / (self.sizes - 1)
                ss_total = weights @ self.squares - (weights @ self.sums) ** 2 / n
                ratio = (weights @ within) / ss_total
                return 1.0 - (n - 1.0) / n * ratio
            value_totals = np.asarray((self.counts.T @ weights.T).T)  # B x V
            if level == "nominal":
                unit_sq = np.asarray(self.counts.multiply(self.counts).sum(axis=1)).ravel()
                within = (self.sizes ** 2 - unit_sq) / (self.sizes - 1)
                expected = n ** 2 - (value_totals ** 2).sum(axis=1)
                return 1.0 - (n - 1.0) * (weights @ within) / expected
            if level == "ordinal":
                ranks = np.cumsum(value_totals, axis=1) - value_totals / 2.0  # B x V
                ranks = ranks - ranks.mean(axis=1, keepdims=True)
                unit_sum = np.asarray(self.counts @ ranks.T)           # U x B
                unit_sq = np.asarray(self.counts @ (ranks ** 2).T)     # U x B
                within = (self.sizes[:, None] * (unit_sq - unit_sum ** 2 / self.sizes[:, None])
                          / (self.sizes[:, None] - 1))
                within_total = np.einsum("bu,ub->b", weights, within)
                ss_total = ((value_totals * ranks ** 2).sum(axis=1)
                            - (value_totals * ranks).sum(axis=1) ** 2 / n)
                return 1.0 - (n - 1.0) / n * within_total / ss_total
            within = self._ratio_within()
            expected = _ratio_expected(value_totals, self.distinct)
            return 1.0 - (n - 1.0) * (weights @ within) / expected

    def _ratio_within(self) -> np.ndarray:
        """``d_u`` for the ratio metric, summing pairs inside units of equal size at once."""
        within = np.zeros(self.n_units)
        sizes = self.sizes.astype(np.int64)
        for m in np.unique(sizes):
            members = np.flatnonzero(sizes == m)
            for start in range(0, members.size, max(1, _BLOCK // (m * m))):
                block = members[start:start + max(1, _BLOCK // (m * m))]
                index = self.offsets[block][:, None] + np.arange(m)[None, :]
                vals = self.packed[index]
                delta = _ratio_delta(vals[:, :, None], vals[:, None, :])
                within[block] = delta.sum(axis=(1, 2)) / (m - 1)
        return within


def _ratio_delta(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Krippendorff's ratio difference ``((a - b) / (a + b))^2``, zero when both are 0."""
    total = a + b
    return np.where(total > 0, ((a - b) / np.where(total > 0, total, 1.0)) ** 2, 0.0)


def _ratio_expected(value_totals: np.ndarray, distinct: np.ndarray) -> np.ndarray:
    """``sum_{c,k} n_c n_k delta^2(c, k)`` for each row of value counts, in blocks of rows of
    the V x V difference matrix so memory stays bounded."""
    expected = np.zeros(value_totals.shape[0])
    step = max(1, _BLOCK // max(distinct.size, 1))
    for start in range(0, distinct.size, step):
        block = _ratio_delta(distinct[start:start + step, None], distinct[None, :])
        expected += np.einsum("bi,ij,bj->b", value_totals[:, start:start + step], block,
                              value_totals)
    return expected


def _constant_units(unit_index: np.ndarray, values: np.ndarray, n_units: int) -> np.ndarray:
    """Per unit, a code of its value when all its values are equal, else -1."""
    if n_units == 0:
        return np.empty(0, dtype=np.int64)
    order = np.lexsort((values, unit_index))
    starts = np.concatenate([[0], np.flatnonzero(np.diff(unit_index[order])) + 1])
    lowest = values[order][starts]
    highest = np.maximum.reduceat(values[order], starts)
    _, codes = np.unique(lowest, return_inverse=True)
    return np.where(lowest == highest, codes.astype(np.int64), -1)

"""Evaluator severity over a history window, against the panel consensus that leaves them out.

One month gives each evaluator about six shared calls, so a one-month bias has a CI of several
points either way (statistics.md pitfall 16). This module pools the history window in the
additive two-way model

    y[call, evaluator] = mu + call + evaluator + e,

fitted by least squares on the *unbalanced* table (whoever scored whichever calls): the call
effects are absorbed (every rating is centred on its call's mean, Frisch-Waugh-Lovell), so an
evaluator's effect compares them with the others *on the same calls* and does not depend on
whether they happened to score easy or hard calls (Searle 1971, ch. 7).

Decisions recorded here
-----------------------
**Reference.** An evaluator's ``severity`` is their effect minus the mean effect of the *other*
panel evaluators: the leave-one-out consensus (pitfall 10). Positive = more lenient.

**The expert is not in the model.** Evaluations with role ``"expert"`` are left out of the
severity fit and out of the consensus, always, not only when their drift is a verdict. Reasons:
(1) the expert is the one rater whose level is *suspected* of moving (:func:`expert_drift` judges
it), and a reference must not move with the person being checked (pitfall 15); making the
reference depend on a drift verdict would make every evaluator's number jump when the verdict
flips; (2) modelling the expert with a per-month effect instead would add one parameter per
month for one rating per call, so their ratings would carry almost nothing about the
evaluators, while a drifting expert's per-call scatter (10-15 points a call in the sandbox's demo
team) would inflate the pooled residual variance: on ten sandbox seeds of the demo team, that
model leaves every estimate unchanged (complete panels) and widens the CIs by 9% on average, 20%
at most. The expert is instead measured *against* this consensus, month by month, adjusted for
who was on the panel (:mod:`calib.stats.expert_drift`).

**Calls needed.** With the current design, ``se**2 = sigma**2 * v`` where ``v`` comes from the
fit. Assuming each further shared call adds as much information as the average current one
(the panel keeps scoring calls together), ``v`` shrinks as ``n / (n + m)`` after ``m`` more calls,
so the CI half-width ``t * sigma * sqrt(v n / (n + m))`` falls under the target once
``n + m >= n v (t sigma / target)**2``; ``calls_needed`` is the smallest such ``m``. ``t`` is
taken at the current residual degrees of freedom, which errs on the side of more calls. For a
complete panel of K evaluators ``n v = K / (K - 1)``, so the total is about
``(t sigma / target)**2 K / (K - 1)`` calls.

References
----------
Searle SR (1971). Linear Models. Wiley, ch. 7 (two-way classification without interaction,
unbalanced data). Linacre JM, Facets manual (rater severity). statistics.md pitfalls 10, 15, 16.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from scipy import stats as sps

from calib.stats._common import check_confidence, excluded_rows, month_number, prepare_scores

SEVERITY_COLUMNS = ("evaluator_id", "evaluator_name", "n_calls", "n_reference", "severity", "se",
                    "ci_low", "ci_high", "half_width", "calls_needed")
MONTHLY_COLUMNS = ("month", "evaluator_id", "evaluator_name", "n_calls", "severity", "se",
                   "ci_low", "ci_high")
TREND_COLUMNS = ("evaluator_id", "evaluator_name", "n_months", "slope_per_month", "se",
                 "ci_low", "ci_high")
NOT_ESTIMABLE = 1e-8


@dataclass(frozen=True)
class _Fit:
    """Least-squares fit with call effects absorbed: ``G b = r`` solved by pseudo-inverse."""

    coefficients: np.ndarray
    g_inverse: np.ndarray
    row_space: np.ndarray      # orthonormal basis of G's row space (estimable directions)
    sigma: float               # residual SD (NaN without residual df)
    df_resid: int

    def contrast(self, weights: np.ndarray) -> tuple[float, float]:
        """Estimate and SE of ``weights @ b``; NaN when the contrast is not estimable."""
        projected = self.row_space @ (self.row_space.T @ weights)
        if np.linalg.norm(weights - projected) > NOT_ESTIMABLE * max(1.0, np.linalg.norm(weights)):
            return float("nan"), float("nan")
        variance = float(weights @ self.g_inverse @ weights)
        return float(weights @ self.coefficients), float(self.sigma * np.sqrt(max(variance, 0.0)))


def _fit(y: np.ndarray, call_codes: np.ndarray, design: sparse.csr_matrix) -> _Fit:
    """Absorb the call effects and solve the normal equations for the remaining columns."""
    n_obs = y.size
    n_calls = int(call_codes.max()) + 1
    per_call = np.bincount(call_codes, minlength=n_calls).astype(float)
    to_call = sparse.csr_matrix((np.ones(n_obs), (call_codes, np.arange(n_obs))),
                                shape=(n_calls, n_obs))
    call_sums = (to_call @ design).toarray()
    gram = (design.T @ design).toarray() - call_sums.T @ (call_sums / per_call[:, None])
    y_call_mean = np.bincount(call_codes, weights=y, minlength=n_calls) / per_call
    rhs = design.T @ y - call_sums.T @ y_call_mean
    eigenvalues, vectors = np.linalg.eigh((gram + gram.T) / 2)
    keep = eigenvalues > 1e-9 * max(float(eigenvalues.max(initial=0.0)), 1e-12)
    basis = vectors[:, keep]
    g_inverse = basis @ np.diag(1.0 / eigenvalues[keep]) @ basis.T
    coefficients = g_inverse @ rhs
    df_resid = n_obs - n_calls - int(keep.sum())
    sse = float(((y - y_call_mean[call_codes]) ** 2).sum() - coefficients @ rhs)
    sigma = float(np.sqrt(max(sse, 0.0) / df_resid)) if df_resid > 0 else float("nan")
    return _Fit(coefficients, g_inverse, basis, sigma, int(df_resid))


def _indicator(rows: np.ndarray, columns: np.ndarray, n_columns: int,
               values: np.ndarray | None = None) -> sparse.csr_matrix:
    data = np.ones(rows.size) if values is None else values
    return sparse.csr_matrix((data, (rows, columns)), shape=(rows.size, n_columns))


def _components(call_codes: np.ndarray, level_codes: np.ndarray, n_levels: int) -> np.ndarray:
    """Connected-component label of every level (levels linked by a shared call)."""
    parent = np.arange(n_levels)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_level: dict[int, int] = {}
    for call, level in zip(call_codes.tolist(), level_codes.tolist()):
        anchor = first_level.setdefault(call, level)
        a, b = find(anchor), find(level)
        if a != b:
            parent[b] = a
    return np.array([find(i) for i in range(n_levels)])


def _leave_one_out(level: int, peers: np.ndarray, n_levels: int, offset: int = 0) -> np.ndarray:
    """Contrast weights: the level minus the mean of its peers (the level itself excluded)."""
    weights = np.zeros(n_levels)
    others = peers[peers != level]
    weights[offset + level] = 1.0
    weights[offset + others] -= 1.0 / others.size
    return weights


@dataclass(frozen=True, eq=False)
class SeverityResult:
    """Result of :func:`panel_severity`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per panel evaluator over the whole window: ``evaluator_id, evaluator_name,
        n_calls`` (calls shared with at least one other panel evaluator), ``n_reference``
        (evaluators in the leave-one-out consensus), ``severity`` (points above the consensus;
        positive = lenient), ``se``, ``ci_low, ci_high`` (t with the fit's residual df),
        ``half_width`` and ``calls_needed`` (further shared calls until the half-width falls
        under ``target_half_width``; 0 when it already has; NaN when unknown).
    monthly : pandas.DataFrame
        ``month, evaluator_id, evaluator_name, n_calls, severity, se, ci_low, ci_high``: the
        same contrast within each month (evaluator x month effects, residual variance pooled
        over the window), for a "who is moving" line chart.
    trend : pandas.DataFrame
        ``evaluator_id, evaluator_name, n_months, slope_per_month, se, ci_low, ci_high``: the
        evaluator's linear change per month relative to the others' (evaluator-specific
        intercepts and slopes on the month index, call effects absorbed). NaN with one month.
    residual_sd, df_resid : float, int
        Residual SD (points) and degrees of freedom of the window fit.
    months : tuple of str
        The months the window covers.
    confidence, target_half_width : float
    excluded : pandas.DataFrame
        Evaluations left out, with a ``reason`` (unfinished, the expert's, alone on its call...).
    """

    table: pd.DataFrame
    monthly: pd.DataFrame
    trend: pd.DataFrame
    residual_sd: float
    df_resid: int
    months: tuple[str, ...]
    confidence: float
    target_half_width: float
    excluded: pd.DataFrame


def _panel_rows(scores: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    kept, excluded = prepare_scores(scores, extra=("month",))
    experts = kept["role"].eq("expert") if "role" in kept.columns else pd.Series(False, kept.index)
    dropped = [excluded, excluded_rows(kept[experts], "the expert's evaluation: the expert is "
                                                      "measured against the panel (expert_drift), "
                                                      "not part of the evaluators' consensus")]
    panel = kept[~experts]
    size = panel.groupby("calibration_id")["total_score"].transform("size")
    dropped.append(excluded_rows(panel[size < 2], "the only panel evaluation of its call: "
                                                  "nothing to compare it with"))
    panel = panel[size >= 2].reset_index(drop=True)
    return panel, pd.concat(dropped, ignore_index=True)


def panel_severity(scores: pd.DataFrame, *, target_half_width: float = 3.0,
                   confidence: float = 0.95) -> SeverityResult:
    """Each panel evaluator's severity over the window, against the leave-one-out consensus.

    Parameters
    ----------
    scores : pandas.DataFrame
        A ``scores`` table covering the history window (``month, calibration_id,
        evaluator_id, evaluator_name, role, status, total_score``). Only finished, scored
        evaluations count (:func:`calib.stats._common.prepare_scores`); the expert's are left out
        (see the module docstring).
    target_half_width : float
        CI half-width in points that counts as precise enough, usually the practical bias
        threshold; it only sets ``calls_needed``.
    confidence : float
        Level of the t-based CIs.

    Returns
    -------
    SeverityResult

    Raises
    ------
    ValueError
        Missing columns, scores outside 0-100, a bad confidence or target, or no call scored
        by two panel evaluators.
    """
    confidence = check_confidence(confidence)
    if not isinstance(target_half_width, (int, float)) or not target_half_width > 0:
        raise ValueError(f"target_half_width must be a positive number of points, not "
                         f"{target_half_width!r}.")
    panel, excluded = _panel_rows(scores)
    if panel.empty:
        raise ValueError("No call was scored by two panel evaluators (the expert aside), so no "
                         "evaluator can be compared with the others; pool more months or wait "
                         "until the panel has finished scoring.")
    names = (panel.dropna(subset=["evaluator_name"]).drop_duplicates("evaluator_id", keep="last")
             .set_index("evaluator_id")["evaluator_name"])
    y = panel["total_score"].to_numpy(float)
    call_codes, _ = pd.factorize(panel["calibration_id"], sort=False)
    rater_codes, raters = pd.factorize(panel["evaluator_id"], sort=True)
    n_raters = len(raters)
    months = tuple(sorted(panel["month"].astype(str).unique()))
    components = _components(call_codes, rater_codes, n_raters)
    shared = panel.groupby("evaluator_id")["calibration_id"].nunique()
    window = _fit(y, call_codes, _indicator(np.arange(y.size), rater_codes, n_raters))
    table = _window_table(window, raters, components, shared, target_half_width, confidence)
    table.insert(1, "evaluator_name", table["evaluator_id"].map(names))
    monthly = _monthly_table(panel, y, call_codes, confidence)
    monthly.insert(2, "evaluator_name", monthly["evaluator_id"].map(names))
    trend = _trend_table(panel, y, call_codes, rater_codes, raters, components, confidence)
    trend.insert(1, "evaluator_name", trend["evaluator_id"].map(names))
    return SeverityResult(table=table[list(SEVERITY_COLUMNS)],
                          monthly=monthly[list(MONTHLY_COLUMNS)],
                          trend=trend[list(TREND_COLUMNS)], residual_sd=window.sigma,
                          df_resid=window.df_resid, months=months, confidence=confidence,
                          target_half_width=float(target_half_width),
                          excluded=excluded.reset_index(drop=True))


def _window_table(fit: _Fit, raters, components, shared, target,
                  confidence) -> pd.DataFrame:
    n_raters = len(raters)
    t = sps.t.ppf(0.5 + confidence / 2, fit.df_resid) if fit.df_resid > 0 else float("nan")
    rows = []
    for level, evaluator in enumerate(raters):
        peers = np.flatnonzero(components == components[level])
        n = int(shared.get(evaluator, 0))
        estimate = se = needed = float("nan")
        if peers.size > 1:
            estimate, se = fit.contrast(_leave_one_out(level, peers, n_raters))
        half = t * se
        if np.isfinite(half) and fit.sigma > 0:
            # v * n is the per-call variance factor of this contrast (module docstring)
            total = n * (se / fit.sigma) ** 2 * (t * fit.sigma / target) ** 2
            needed = 0 if half < target else max(1, int(np.ceil(total - n)))
        rows.append({"evaluator_id": evaluator, "n_calls": n,
                     "n_reference": int(peers.size - 1), "severity": estimate, "se": se,
                     "ci_low": estimate - half, "ci_high": estimate + half, "half_width": half,
                     "calls_needed": needed})
    return pd.DataFrame(rows)


def _monthly_table(panel: pd.DataFrame, y, call_codes, confidence) -> pd.DataFrame:
    level_keys = panel["evaluator_id"].astype(str) + "\x1f" + panel["month"].astype(str)
    level_codes, levels = pd.factorize(level_keys, sort=True)
    n_levels = len(levels)
    fit = _fit(y, call_codes, _indicator(np.arange(y.size), level_codes, n_levels))
    t = sps.t.ppf(0.5 + confidence / 2, fit.df_resid) if fit.df_resid > 0 else float("nan")
    components = _components(call_codes, level_codes, n_levels)
    calls = panel.groupby(level_codes)["calibration_id"].nunique()
    rows = []
    for level, key in enumerate(levels):
        evaluator, month = key.split("\x1f")
        peers = np.flatnonzero(components == components[level])
        estimate, se = (fit.contrast(_leave_one_out(level, peers, n_levels)) if peers.size > 1
                        else (float("nan"), float("nan")))
        rows.append({"month": month, "evaluator_id": evaluator, "n_calls": int(calls[level]),
                     "severity": estimate, "se": se, "ci_low": estimate - t * se,
                     "ci_high": estimate + t * se})
    return pd.DataFrame(rows).sort_values(["month", "evaluator_id"], ignore_index=True)


def _trend_table(panel: pd.DataFrame, y, call_codes, rater_codes, raters, components,
                 confidence) -> pd.DataFrame:
    n_raters = len(raters)
    months = month_number(panel["month"])
    centred = months - months.mean()
    n_months = panel.groupby(rater_codes)["month"].nunique()
    rows_index = np.arange(y.size)
    design = sparse.hstack([_indicator(rows_index, rater_codes, n_raters),
                            _indicator(rows_index, rater_codes, n_raters, centred)]).tocsr()
    fit = _fit(y, call_codes, design)
    t = sps.t.ppf(0.5 + confidence / 2, fit.df_resid) if fit.df_resid > 0 else float("nan")
    rows = []
    for level, evaluator in enumerate(raters):
        peers = np.flatnonzero(components == components[level])
        estimate = se = float("nan")
        if peers.size > 1 and n_months[level] > 1:
            estimate, se = fit.contrast(_leave_one_out(level, peers, 2 * n_raters, n_raters))
        rows.append({"evaluator_id": evaluator, "n_months": int(n_months[level]),
                     "slope_per_month": estimate, "se": se, "ci_low": estimate - t * se,
                     "ci_high": estimate + t * se})
    return pd.DataFrame(rows)

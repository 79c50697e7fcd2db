"""Calibrator drift: does the scoring index (the expert's score) move away from the panel?

For each calibration with a finished expert evaluation and at least one other finished
evaluation, the difference ``expert − mean(other evaluators)`` is formed (positive = the expert
scores above the team). Differences are summarised per month and calibrator with a t-based CI,
and a least-squares trend over months tells whether the gap is growing. A calibrator whose
scores sit 10-12 points above the team makes the agents look like under-performers against the
index, so the default flag is at 10 points.

References
----------
Bland JM, Altman DG (1986). Lancet i:307-310 (mean difference with a t-based CI).
Draper NR, Smith H (1998). Applied Regression Analysis, 3rd ed., ch. 1 (slope CI, t with n−2 df).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd
from scipy import stats as sps

from calib.stats._common import check_confidence, mean_ci, month_number, prepare_scores

DRIFT_COLUMNS = ("month", "calibrator_id", "n", "drift", "ci_low", "ci_high", "flagged")


@dataclass(frozen=True, eq=False)
class DriftResult:
    """Result of :func:`calibrator_drift`.

    Attributes
    ----------
    table : pandas.DataFrame
        ``month, calibrator_id, n, drift, ci_low, ci_high, flagged``: per month and calibrator,
        the mean of expert − rest of the panel over ``n`` calibrations, sorted by month.
    slope_per_month, slope_ci_low, slope_ci_high : float
        Least-squares trend of the per-calibration differences over calendar months (all
        calibrators pooled: the drift of the team's scoring index), NaN with fewer than two
        months or three calibrations.
    flagged : bool
        Any month flagged, or a trend whose CI excludes 0 and whose fitted value at the latest
        month is at least the threshold (the trend uses every month, so a calibrator drifting
        *to* the threshold is caught even when single months are noisy).
    fitted_latest : float
        The trend line's value at the latest month (NaN without a trend).
    suggestion : str
        One sentence for the report.
    excluded : pandas.DataFrame
        Evaluations left out, with a ``reason``.
    """

    table: pd.DataFrame
    slope_per_month: float
    slope_ci_low: float
    slope_ci_high: float
    flagged: bool
    suggestion: str
    excluded: pd.DataFrame
    fitted_latest: float = float("nan")


def _slope(x: np.ndarray, y: np.ndarray,
           confidence: float) -> tuple[float, float, float, float]:
    """Slope, its CI, and the fitted value at the latest x (NaN without two months)."""
    if np.unique(x).size < 2 or x.size < 3:
        return float("nan"), float("nan"), float("nan"), float("nan")
    fit = sps.linregress(x, y)
    half = sps.t.ppf(0.5 + confidence / 2, x.size - 2) * fit.stderr
    return (float(fit.slope), float(fit.slope - half), float(fit.slope + half),
            float(fit.intercept + fit.slope * x.max()))


def _trend_flag(slope: tuple[float, float, float, float], threshold: float) -> bool:
    _, low, high, latest = slope
    return bool(np.isfinite(low) and (low > 0 or high < 0) and abs(latest) >= threshold)


def _suggestion(table: pd.DataFrame, threshold: float,
                slope: tuple[float, float, float, float], confidence: float,
                names: Mapping[str, str]) -> str:
    def named(ids) -> str:
        return ", ".join(names.get(c) or str(c) for c in ids)

    hits = table[table["flagged"]]
    if hits.empty and _trend_flag(slope, threshold):
        who = named(table["calibrator_id"].unique())
        return (f"Calibrator {who}: the gap between the expert and the rest of the panel is "
                f"growing by {slope[0]:+.1f} points a month and the trend reaches "
                f"{slope[3]:+.1f} points in {table['month'].max()}; rotate the calibrator role "
                f"and run a calibration-of-calibrators with the QM leadership panel before the "
                f"expert's scores are used as the target again.")
    if len(hits):
        last = hits.iloc[-1]
        direction = "above" if last["drift"] > 0 else "below"
        who = named(hits["calibrator_id"].unique())
        return (f"Calibrator {who}: the expert scores were {abs(last['drift']):.1f} points "
                f"{direction} the rest of the panel in {last['month']} ({confidence:.0%} CI "
                f"{last['ci_low']:.1f} to {last['ci_high']:.1f}, {len(hits)} flagged month(s)); "
                f"rotate the calibrator role and run a calibration-of-calibrators with the QM "
                f"leadership panel before the expert's scores are used as the target again.")
    low, high = slope[1], slope[2]
    if np.isfinite(low) and (low > 0 or high < 0):
        return (f"No month reached ±{threshold:g} points, but the gap between the expert and "
                f"the panel is moving by {slope[0]:+.2f} points a month; keep the calibrator "
                f"role under watch and plan a calibration-of-calibrators if it continues.")
    return (f"No month's gap between the expert and the panel reached ±{threshold:g} points "
            f"with a CI excluding zero; no rotation of the calibrator role is needed.")


def _names(scores: pd.DataFrame) -> dict[str, str]:
    """Evaluator id -> name where the scores carry names (the suggestion names the person)."""
    if "evaluator_name" not in scores:
        return {}
    named = scores.dropna(subset=["evaluator_name"])
    return dict(zip(named["evaluator_id"].astype(str), named["evaluator_name"].astype(str)))


def calibrator_drift(scores: pd.DataFrame, *, threshold: float = 10.0,
                     confidence: float = 0.95) -> DriftResult:
    """Per month, the calibrator's expert score minus the rest of the panel, with CI and trend.

    Parameters
    ----------
    scores : pandas.DataFrame
        A ``scores`` table with ``month, calibration_id, calibrator_id, evaluator_id, role,
        status, total_score``. The expert is the evaluation with role ``"expert"``. When
        ``calibrator_id`` is missing on a calibration, the expert's evaluator id stands in.
    threshold : float
        Points of absolute drift at which a month is ``flagged`` (when its CI also excludes 0).
    confidence : float
        Level of the per-month CI (t, n−1 df) and of the slope CI (t, n−2 df).

    Returns
    -------
    DriftResult

    Raises
    ------
    ValueError
        Missing columns, a month that is not ``YYYY-MM``, a bad threshold or confidence, or no
        calibration with both an expert and another finished evaluation.

    References
    ----------
    Bland & Altman (1986); Draper & Smith (1998). See the module docstring.

    Examples
    --------
    The calibrator's expert scores sit 0, 7 and then 14 points above a panel scoring 69 and 71
    on average; within a month the three calls differ by a point either side of that, so the
    SD is 1 and the 95% half width t(2) / sqrt(3) = 4.303 / 1.732 = 2.48:

    >>> import pandas as pd
    >>> gaps = {"2026-08": [-1, 1, 0], "2026-09": [6, 8, 7], "2026-10": [13, 15, 14]}
    >>> scores = pd.DataFrame(
    ...     [(month, f"{month}-{call}", "kim", evaluator, role, score, "FINISHED")
    ...      for month, month_gaps in gaps.items() for call, gap in enumerate(month_gaps)
    ...      for evaluator, role, score in (("kim", "expert", 70.0 + gap),
    ...                                     ("ann", "evaluator", 69.0),
    ...                                     ("bob", "evaluator", 71.0))],
    ...     columns=["month", "calibration_id", "calibrator_id", "evaluator_id", "role",
    ...              "total_score", "status"])
    >>> result = calibrator_drift(scores)
    >>> table = result.table.round(2)
    >>> table["drift"].tolist(), table["ci_low"].tolist(), table["flagged"].tolist()
    ([0.0, 7.0, 14.0], [-2.48, 4.52, 11.52], [False, False, True])
    >>> result.flagged, round(result.slope_per_month, 2)
    (True, 7.0)
    """
    confidence = check_confidence(confidence)
    if not isinstance(threshold, (int, float)) or not threshold > 0:
        raise ValueError(f"threshold must be a positive number of points, not {threshold!r}.")
    kept, excluded = prepare_scores(scores, extra=("month", "calibrator_id", "role"))
    is_expert = kept["role"] == "expert"
    per_call = kept.assign(is_expert=is_expert).groupby("calibration_id").agg(
        experts=("is_expert", "sum"), n=("is_expert", "size"))
    usable = per_call.index[(per_call["experts"] == 1) & (per_call["n"] >= 2)]
    dropped = kept.loc[~kept["calibration_id"].isin(usable)]
    if len(dropped):
        reason = np.where(dropped["calibration_id"].map(per_call["experts"]) == 0,
                          "no finished expert evaluation on the calibration",
                          "the expert is the only finished evaluation on the calibration")
        extra = dropped.reindex(columns=list(excluded.columns[:-1])).assign(reason=reason)
        excluded = pd.concat([excluded, extra], ignore_index=True)
    kept = kept.loc[kept["calibration_id"].isin(usable)]
    if kept.empty:
        raise ValueError("No calibration has both a finished expert evaluation and another "
                         "finished evaluation, so the expert cannot be compared with the "
                         "panel; check that one evaluation per calibration has role 'expert'.")
    expert = kept.loc[is_expert.reindex(kept.index)].set_index("calibration_id")
    panel = kept.loc[~is_expert.reindex(kept.index)].groupby("calibration_id")["total_score"]
    calls = pd.DataFrame({"month": expert["month"],
                          "calibrator_id": expert["calibrator_id"].where(
                              expert["calibrator_id"].notna(), expert["evaluator_id"]),
                          "diff": expert["total_score"] - panel.mean()})
    calls["month_index"] = month_number(calls["month"])
    rows = []
    for (month, calibrator), d in calls.groupby(["month", "calibrator_id"], sort=True)["diff"]:
        mean, _, low, high = mean_ci(d.to_numpy(float), confidence)
        excludes_zero = bool(low > 0 or high < 0) if np.isfinite(low) else False
        rows.append({"month": month, "calibrator_id": calibrator, "n": int(d.size),
                     "drift": mean, "ci_low": low, "ci_high": high,
                     "flagged": excludes_zero and abs(mean) >= threshold})
    table = pd.DataFrame(rows, columns=list(DRIFT_COLUMNS))
    table["flagged"] = table["flagged"].astype(bool)
    slope = _slope(calls["month_index"].to_numpy(float), calls["diff"].to_numpy(float),
                   confidence)
    return DriftResult(table=table, slope_per_month=slope[0], slope_ci_low=slope[1],
                       slope_ci_high=slope[2],
                       flagged=bool(table["flagged"].any()) or _trend_flag(slope, threshold),
                       suggestion=_suggestion(table, threshold, slope, confidence,
                                              _names(scores)),
                       excluded=excluded.reset_index(drop=True), fitted_latest=slope[3])

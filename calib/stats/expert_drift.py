"""The expert's level month by month, against the panel consensus adjusted for who scored.

:func:`calib.stats.calibrator_drift` compares the expert with the plain mean of the other
evaluators on each call. When the panel is incomplete, that mean depends on *who* scored the call:
a call scored only by the harshest evaluator makes the expert look lenient. Here each panel
rating is first corrected by its evaluator's severity from :func:`calib.stats.severity.
panel_severity` (centred over the panel, so the reference is the average panel evaluator), and
the expert's difference from the corrected panel mean is averaged per month, with a t-based CI
from that month's own per-call differences (no equal-variance assumption: a drifting expert's
differences scatter far more than a steady one's). With a complete panel the corrections sum to
zero on every call and the numbers equal ``calibrator_drift``'s.

The severity correction is estimated over the window and treated as known (its SE, about a
point, is small next to a month's drift CI); an evaluator whose severity cannot be estimated
(never shared a call) counts at face value.

References
----------
Bland JM, Altman DG (1986). Lancet i:307-310 (mean difference with a t-based CI).
Draper NR, Smith H (1998). Applied Regression Analysis, 3rd ed., ch. 1 (slope CI, t, n-2 df).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from calib.stats._common import (
    check_confidence, excluded_rows, mean_ci, month_number, prepare_scores)
from calib.stats.severity import SeverityResult, panel_severity

EXPERT_DRIFT_COLUMNS = ("month", "expert_id", "expert_name", "n_calls", "drift", "sd", "ci_low",
                        "ci_high")


@dataclass(frozen=True, eq=False)
class ExpertDriftResult:
    """Result of :func:`expert_drift`.

    Attributes
    ----------
    table : pandas.DataFrame
        ``month, expert_id, expert_name, n_calls, drift, sd, ci_low, ci_high``: per month and
        expert, the mean of (expert − severity-corrected panel mean) over ``n_calls`` calls;
        positive = the expert scores above the panel. Sorted by month.
    calls : pandas.DataFrame
        ``calibration_id, month, expert_id, n_panel, difference``: one row per call used.
    slope_per_month, slope_ci_low, slope_ci_high : float
        Least-squares trend of the per-call differences over calendar months (NaN with fewer
        than two months or three calls).
    confidence : float
    excluded : pandas.DataFrame
        Evaluations left out, with a ``reason``.
    """

    table: pd.DataFrame
    calls: pd.DataFrame
    slope_per_month: float
    slope_ci_low: float
    slope_ci_high: float
    confidence: float
    excluded: pd.DataFrame

    def month(self, month: str) -> pd.DataFrame:
        """The table's rows for one month (one per expert who scored that month)."""
        return self.table[self.table["month"] == month]


def expert_drift(scores: pd.DataFrame, severity: SeverityResult | None = None, *,
                 confidence: float = 0.95) -> ExpertDriftResult:
    """Per month, the expert's score minus the severity-corrected panel mean, with CI and trend.

    Parameters
    ----------
    scores : pandas.DataFrame
        A ``scores`` table over the history window; the expert is the evaluation with role
        ``"expert"`` (one per call at most).
    severity : SeverityResult, optional
        The panel's severities over the same window; computed with :func:`panel_severity` when
        omitted (when it cannot be, for example a single call, no correction is applied).
    confidence : float
        Level of the per-month CI (t, n−1 df) and of the slope CI (t, n−2 df).

    Returns
    -------
    ExpertDriftResult

    Raises
    ------
    ValueError
        Missing columns, scores outside 0-100, or no call with both a finished expert
        evaluation and a finished panel evaluation.
    """
    confidence = check_confidence(confidence)
    kept, excluded = prepare_scores(scores, extra=("month", "role"))
    if severity is None:
        try:
            severity = panel_severity(scores, confidence=confidence)
        except ValueError:
            severity = None
    correction = pd.Series(dtype=float)
    if severity is not None:
        table = severity.table.dropna(subset=["severity"])
        # LOO severity s = K/(K−1) × (effect − panel mean): back to the centred effect.
        k = table["n_reference"] + 1
        correction = pd.Series((table["severity"] * (k - 1) / k).to_numpy(),
                               index=table["evaluator_id"])
    is_expert = kept["role"].eq("expert")
    expert = kept[is_expert].set_index("calibration_id")
    panel = kept[~is_expert].copy()
    panel["corrected"] = panel["total_score"] - panel["evaluator_id"].map(correction).fillna(0.0)
    panel_mean = panel.groupby("calibration_id")["corrected"].agg(["mean", "size"])
    usable = expert.index.intersection(panel_mean.index)
    lonely = kept[kept["calibration_id"].isin(expert.index.difference(usable))]
    no_expert = kept[~kept["calibration_id"].isin(expert.index)]
    excluded = pd.concat(
        [excluded, excluded_rows(lonely, "the expert is the only finished evaluation on the call"),
         excluded_rows(no_expert, "no finished expert evaluation on the call")],
        ignore_index=True)
    if usable.empty:
        raise ValueError("No call has both a finished expert evaluation and a finished panel "
                         "evaluation, so the expert cannot be compared with the panel; check "
                         "that one evaluation per call has role 'expert'.")
    expert = expert.loc[usable]
    calls = pd.DataFrame({"calibration_id": usable, "month": expert["month"].astype(str).values,
                          "expert_id": expert["evaluator_id"].values,
                          "n_panel": panel_mean.loc[usable, "size"].astype(int).values,
                          "difference": (expert["total_score"]
                                         - panel_mean.loc[usable, "mean"]).values})
    names = (expert.dropna(subset=["evaluator_name"]).drop_duplicates("evaluator_id", keep="last")
             .set_index("evaluator_id")["evaluator_name"]) if "evaluator_name" in expert else {}
    rows = []
    for (month, expert_id), d in calls.groupby(["month", "expert_id"], sort=True)["difference"]:
        mean, sd, low, high = mean_ci(d.to_numpy(float), confidence)
        rows.append({"month": month, "expert_id": expert_id, "expert_name": names.get(expert_id),
                     "n_calls": int(d.size), "drift": mean, "sd": sd, "ci_low": low,
                     "ci_high": high})
    x = month_number(calls["month"])
    slope = low = high = float("nan")
    if np.unique(x).size >= 2 and x.size >= 3:
        fit = sps.linregress(x, calls["difference"].to_numpy(float))
        half = sps.t.ppf(0.5 + confidence / 2, x.size - 2) * fit.stderr
        slope, low, high = float(fit.slope), float(fit.slope - half), float(fit.slope + half)
    return ExpertDriftResult(table=pd.DataFrame(rows, columns=list(EXPERT_DRIFT_COLUMNS)),
                             calls=calls, slope_per_month=slope, slope_ci_low=low,
                             slope_ci_high=high, confidence=confidence,
                             excluded=excluded.reset_index(drop=True))

"""Verdicts on people: each evaluator's severity, and the expert's drift (rules in the package
docstring, :mod:`calib.verdicts`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from calib.stats.expert_drift import ExpertDriftResult
from calib.stats.severity import SeverityResult
from calib.verdicts.words import (REFERENCE, REFERENCE_WORDS, DriftWord, EvaluatorWord,
                                  ci_words, finite, month_words, plain, points, window_words)


@dataclass(frozen=True)
class EvaluatorVerdict:
    """One panel evaluator's severity verdict over the history window.

    ``severity`` is in points against :data:`REFERENCE_WORDS` (positive = lenient), with its
    ``ci_low``/``ci_high``, ``n_calls`` shared calls, ``n_reference`` evaluators in the
    consensus and ``calls_needed`` (None when it cannot be estimated yet).
    """

    evaluator_id: str
    evaluator_name: str | None
    verdict: EvaluatorWord
    severity: float
    ci_low: float
    ci_high: float
    n_calls: int
    n_reference: int
    calls_needed: int | None
    threshold: float
    confidence: float
    first_month: str
    last_month: str
    reference: str = REFERENCE

    @property
    def name(self) -> str:
        return self.evaluator_name or self.evaluator_id

    @property
    def flagged(self) -> bool:
        return self.verdict in ("lenient", "harsh")

    def sentence(self) -> str:
        """The verdict in plain words."""
        window = window_words(self.first_month, self.last_month)
        if self.verdict == "not enough shared calls":
            if self.calls_needed is None:
                return (f"Not enough shared calls yet to judge {self.name}: {self.n_calls} so "
                        f"far, too few even to estimate how many more are needed.")
            return (f"Not enough shared calls yet to judge {self.name} — about "
                    f"{self.calls_needed} more would settle it ({self.n_calls} so far).")
        side = "above" if self.severity > 0 else "below"
        if self.verdict == "within the band":
            return (f"{self.name} is within the band: over {window} they scored "
                    f"{points(self.severity)} {side} the other evaluators on the same calls, "
                    f"inside ±{self.threshold:g} points.")
        return (f"{self.name} is {self.verdict}: over {window} they scored "
                f"{points(self.severity)} {side} the other evaluators on the same calls "
                f"({self.n_calls} shared calls).")

    def details(self) -> str:
        """The numbers behind the verdict."""
        if not finite(self.ci_low):
            return (f"{self.n_calls} shared call(s): too few to estimate a severity with a CI "
                    f"against {REFERENCE_WORDS}; lenient or harsh when the CI excludes 0 and the "
                    f"severity is beyond ±{self.threshold:g} points.")
        out = (f"severity {self.severity:+.1f} points against {REFERENCE_WORDS}, "
               f"{ci_words(self.ci_low, self.ci_high, self.confidence)}, "
               f"{self.n_calls} shared calls, "
               f"{self.n_reference} evaluators in the consensus; lenient or harsh when the CI "
               f"excludes 0 and the severity is beyond ±{self.threshold:g} points")
        if self.verdict == "not enough shared calls" and self.calls_needed is not None:
            out += (f"; {self.calls_needed} more shared calls would bring the CI half-width under "
                    f"{self.threshold:g} points (residual SD and the current design)")
        return out + "."

    def to_dict(self) -> dict[str, Any]:
        return {k: plain(v) for k, v in asdict(self).items()} | {
            "sentence": self.sentence(), "details": self.details()}

    def flagged_record(self) -> dict[str, Any]:
        """This evaluator as a ``summary.json`` ``flagged_evaluators`` entry."""
        return {"evaluator_id": self.evaluator_id, "evaluator_name": self.evaluator_name,
                "reference": self.reference, "n": int(self.n_calls),
                "bias": plain(float(self.severity)), "ci_low": plain(float(self.ci_low)),
                "ci_high": plain(float(self.ci_high)), "verdict": self.verdict}


def evaluator_verdicts(severity: SeverityResult, *,
                       threshold: float = 3.0) -> tuple[EvaluatorVerdict, ...]:
    """Lenient / harsh / within the band / not enough shared calls, one per panel evaluator.

    Parameters
    ----------
    severity : SeverityResult
        From :func:`calib.stats.severity.panel_severity` over the history window, fitted with
        ``target_half_width=threshold``.
    threshold : float
        The practical threshold in points (the report's ``bias_threshold``).

    Returns
    -------
    tuple of EvaluatorVerdict
        Sorted by verdict (lenient and harsh first, by size), then by name.
    """
    check_threshold(threshold, "threshold")
    out = []
    first, last = severity.months[0], severity.months[-1]
    for row in severity.table.itertuples(index=False):
        s, low, high, half = row.severity, row.ci_low, row.ci_high, row.half_width
        needed = int(row.calls_needed) if finite(row.calls_needed) else None
        if finite(low) and (low > 0 or high < 0) and abs(s) > threshold:
            word: EvaluatorWord = "lenient" if s > 0 else "harsh"
        elif finite(half) and half < threshold:
            word = "within the band"
        else:
            word = "not enough shared calls"
        out.append(EvaluatorVerdict(
            evaluator_id=str(row.evaluator_id),
            evaluator_name=None if pd.isna(row.evaluator_name) else str(row.evaluator_name),
            verdict=word, severity=float(s), ci_low=float(low), ci_high=float(high),
            n_calls=int(row.n_calls), n_reference=int(row.n_reference), calls_needed=needed,
            threshold=float(threshold), confidence=severity.confidence, first_month=first,
            last_month=last))
    order = {"lenient": 0, "harsh": 0, "not enough shared calls": 1, "within the band": 2}
    return tuple(sorted(out, key=lambda v: (order[v.verdict], -abs(np.nan_to_num(v.severity)),
                                            v.name)))


def check_threshold(value: float, name: str) -> None:
    if not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} must be a positive number of points, not {value!r}.")


@dataclass(frozen=True)
class DriftVerdict:
    """The expert's level against the panel in the report month.

    ``drift`` is the expert's score minus the severity-corrected panel mean, in points, with the
    ``confidence`` CI and the Bonferroni-widened ``family_ci_low``/``family_ci_high``;
    ``months_beyond`` counts the consecutive months up to the report month with the drift beyond
    the threshold and a CI excluding 0; ``slope_*`` is the trend over the window (points a month).
    """

    expert_id: str
    expert_name: str | None
    month: str
    status: DriftWord
    drift: float
    ci_low: float
    ci_high: float
    n_calls: int
    family_ci_low: float
    family_ci_high: float
    family_confidence: float
    months_beyond: int
    sustained_months: int
    slope_per_month: float
    slope_ci_low: float
    slope_ci_high: float
    first_month: str
    threshold: float
    confidence: float
    reference: str = REFERENCE

    @property
    def name(self) -> str:
        return self.expert_name or self.expert_id

    @property
    def flagged(self) -> bool:
        return self.status == "drift"

    @property
    def trend_significant(self) -> bool:
        return finite(self.slope_ci_low) and (self.slope_ci_low > 0 or self.slope_ci_high < 0)

    def _gap(self) -> str:
        side = "above" if self.drift > 0 else "below"
        level = (f"{points(self.drift)} {side} the panel" if round(abs(self.drift), 1) else
                 "level with the panel")
        return (f"{level} in {month_words(self.month)} "
                f"({self.n_calls} call{'s' if self.n_calls != 1 else ''})")

    def _trend_words(self) -> str:
        if not self.trend_significant:
            return ""
        way = "grown" if self.slope_per_month * self.drift > 0 else "changed"
        return (f"; the gap has {way} by {abs(self.slope_per_month):.1f} points a month since "
                f"{month_words(self.first_month)}")

    def sentence(self) -> str:
        """The drift verdict in plain words."""
        if self.status == "no data":
            calls = (f"only {self.n_calls} call" if self.n_calls else "no call")
            return (f"{self.name}, the expert, scored {calls} together with the panel in "
                    f"{month_words(self.month)}: too few to check their level this month.")
        if self.status == "drift":
            why = (f"beyond ±{self.threshold:g} points in each of the last {self.months_beyond} "
                   f"months" if self.months_beyond >= self.sustained_months else
                   f"clearly beyond ±{self.threshold:g} points even allowing for monthly checks")
            return (f"{self.name}, the expert, has drifted from the panel: {self._gap()}, "
                    f"{why}{self._trend_words()}.")
        if self.status == "watch":
            return (f"Watch {self.name}, the expert: {self._gap()}, but that is not yet enough "
                    f"evidence that the gap is beyond ±{self.threshold:g} points"
                    f"{self._trend_words()}.")
        trend = self._trend_words() or ", with no clear trend"
        return f"{self.name}, the expert, scores in line with the panel: {self._gap()}{trend}."

    def details(self) -> str:
        """The numbers behind the verdict."""
        if self.status == "no data":
            return (f"{self.n_calls} call(s) with both the expert and the panel in "
                    f"{self.month}; a CI needs at least two.")
        return (f"drift {self.drift:+.1f} points against the panel mean corrected for each "
                f"evaluator's severity, {ci_words(self.ci_low, self.ci_high, self.confidence)}, "
                f"{self.n_calls} calls; {self.family_confidence:.2%} CI {self.family_ci_low:+.1f} "
                f"to {self.family_ci_high:+.1f} (Bonferroni over the window's months); "
                f"{self.months_beyond} consecutive month(s) beyond ±{self.threshold:g} with a CI "
                f"excluding 0; trend {self.slope_per_month:+.2f} points a month "
                f"({ci_words(self.slope_ci_low, self.slope_ci_high, self.confidence)}). A verdict "
                f"needs the widened CI wholly beyond ±{self.threshold:g} points, or "
                f"{self.sustained_months} months in a row beyond it.")

    def to_dict(self) -> dict[str, Any]:
        return {k: plain(v) for k, v in asdict(self).items()} | {
            "sentence": self.sentence(), "details": self.details()}

    def flagged_record(self) -> dict[str, Any]:
        """The expert as a ``summary.json`` ``flagged_evaluators`` entry (drift verdict only)."""
        return {"evaluator_id": self.expert_id, "evaluator_name": self.expert_name,
                "reference": self.reference, "n": int(self.n_calls),
                "bias": plain(float(self.drift)), "ci_low": plain(float(self.ci_low)),
                "ci_high": plain(float(self.ci_high)), "verdict": "drift"}


def _beyond(row: pd.Series, threshold: float) -> int:
    """+1 / −1 when the month's drift is beyond ±threshold with a CI excluding 0, else 0."""
    low, high, d = row["ci_low"], row["ci_high"], row["drift"]
    if finite(low) and low > 0 and d > threshold:
        return 1
    if finite(high) and high < 0 and d < -threshold:
        return -1
    return 0


def drift_verdicts(drift: ExpertDriftResult, *, month: str, threshold: float = 10.0,
                   sustained_months: int = 3) -> tuple[DriftVerdict, ...]:
    """The expert's drift in ``month`` as *drift*, *watch* or *steady* (module docstring rules).

    Parameters
    ----------
    drift : ExpertDriftResult
        From :func:`calib.stats.expert_drift.expert_drift` over the history window ending at
        ``month``.
    month : str
        The report month ``YYYY-MM``.
    threshold : float
        The drift band in points (the report's ``drift_threshold``).
    sustained_months : int
        Consecutive months beyond the threshold that make a verdict on their own.

    Returns
    -------
    tuple of DriftVerdict
        One per expert who scored calls with the panel during the window and is the expert of
        ``month`` (or, when nobody was, the window's last expert, with status ``"no data"``).
    """
    check_threshold(threshold, "threshold")
    if not isinstance(sustained_months, int) or sustained_months < 2:
        raise ValueError(f"sustained_months must be an integer of at least 2, not "
                         f"{sustained_months!r}.")
    table = drift.table[drift.table["month"] <= month]
    if table.empty:
        return ()
    months = pd.period_range(table["month"].min(), month, freq="M").astype(str)
    family = 1 - (1 - drift.confidence) / len(months)
    current = table[table["month"] == month]
    experts = list(current["expert_id"]) or [table.iloc[-1]["expert_id"]]
    out = []
    for expert_id in experts:
        rows = table[table["expert_id"] == expert_id].set_index("month")
        name = rows["expert_name"].dropna().iloc[-1] if rows["expert_name"].notna().any() else None
        common = dict(expert_id=str(expert_id), expert_name=name, month=month,
                      sustained_months=sustained_months, slope_per_month=drift.slope_per_month,
                      slope_ci_low=drift.slope_ci_low, slope_ci_high=drift.slope_ci_high,
                      first_month=str(months[0]), threshold=float(threshold),
                      confidence=drift.confidence, family_confidence=family)
        if month not in rows.index:
            nan = float("nan")
            out.append(DriftVerdict(status="no data", drift=nan, ci_low=nan, ci_high=nan,
                                    n_calls=0, family_ci_low=nan, family_ci_high=nan,
                                    months_beyond=0, **common))
            continue
        row = rows.loc[month]
        if not finite(row["ci_low"]):
            nan = float("nan")
            out.append(DriftVerdict(status="no data", drift=float(row["drift"]), ci_low=nan,
                                    ci_high=nan, n_calls=int(row["n_calls"]), family_ci_low=nan,
                                    family_ci_high=nan, months_beyond=0, **common))
            continue
        se = row["sd"] / np.sqrt(row["n_calls"])
        half = sps.t.ppf(0.5 + family / 2, row["n_calls"] - 1) * se
        f_low, f_high = row["drift"] - half, row["drift"] + half
        direction, run = _beyond(row, threshold), 0
        for m in reversed(list(months)):
            if (direction == 0 or m not in rows.index
                    or _beyond(rows.loc[m], threshold) != direction):
                break
            run += 1
        clears = finite(f_low) and (f_low > threshold or f_high < -threshold)
        ci_excludes_zero = finite(row["ci_low"]) and (row["ci_low"] > 0 or row["ci_high"] < 0)
        real_and_sizeable = ci_excludes_zero and abs(row["drift"]) >= threshold / 2
        # a significant trend matters when the band is already within this month's CI
        moving_towards_band = finite(drift.slope_ci_low) and (
            (drift.slope_ci_low > 0 and row["ci_high"] > threshold)
            or (drift.slope_ci_high < 0 and row["ci_low"] < -threshold))
        if clears or run >= sustained_months:
            status: DriftWord = "drift"
        elif real_and_sizeable or moving_towards_band:
            status = "watch"
        else:
            status = "steady"
        out.append(DriftVerdict(status=status, drift=float(row["drift"]),
                                ci_low=float(row["ci_low"]), ci_high=float(row["ci_high"]),
                                n_calls=int(row["n_calls"]), family_ci_low=float(f_low),
                                family_ci_high=float(f_high), months_beyond=run, **common))
    return tuple(out)

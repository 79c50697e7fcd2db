"""Verdicts on the team: how consistent the evaluators are, and whether that is changing (rules
in the package docstring, :mod:`calib.verdicts`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from calib.stats.consistency import IccEstimate, SpreadTrend
from calib.verdicts.words import (KOO_LI_CUTOFFS, KOO_LI_SOURCE, Level, TrendWord, ci_words,
                                  finite, month_words, plain, window_words)


def koo_li_level(value: float) -> Level:
    """Koo & Li (2016) word for an ICC value: < .5 poor, .5–.75 moderate, .75–.9 good,
    > .9 excellent (a value on a cut-off takes the level above it, except .9 which is good)."""
    if value > 0.9:
        return "excellent"
    for cutoff, word in KOO_LI_CUTOFFS:
        if value < cutoff:
            return word  # type: ignore[return-value]
    return "good"


@dataclass(frozen=True)
class ConsistencyVerdict:
    """How consistently the evaluators score the same call, from ICC(A,1) over the window."""

    icc: float
    ci_low: float
    ci_high: float
    level: Level
    low_level: Level
    high_level: Level
    n_calls: int
    n_evaluators: int
    n_dropped_calls: int
    first_month: str
    last_month: str
    confidence: float

    @property
    def certain(self) -> bool:
        return self.low_level == self.high_level

    @property
    def words(self) -> str:
        """``"good"`` or ``"uncertain between moderate and excellent"``."""
        return self.level if self.certain else (f"uncertain between {self.low_level} and "
                                                f"{self.high_level}")

    def sentence(self) -> str:
        """Consistency in plain words."""
        window = window_words(self.first_month, self.last_month)
        if self.certain:
            return (f"Evaluators' consistency on the same call is {self.level} over {window} "
                    f"({self.n_calls} calls; Koo & Li 2016 scale).")
        return (f"Evaluators' consistency on the same call is {self.words} over {window}, most "
                f"likely {self.level}: {self.n_calls} calls are too few to tell "
                f"(Koo & Li 2016 scale).")

    def details(self) -> str:
        dropped = (f"; {self.n_dropped_calls} calls left out because not every evaluator scored "
                   f"them" if self.n_dropped_calls else "")
        return (f"ICC(A,1) {self.icc:.2f}, {self.confidence:.0%} CI {self.ci_low:.2f} to "
                f"{self.ci_high:.2f} (McGraw & Wong 1996), {self.n_calls} calls × "
                f"{self.n_evaluators} evaluators, the expert left out{dropped}; "
                f"{KOO_LI_SOURCE}, applied to both CI limits.")

    def to_dict(self) -> dict[str, Any]:
        return {k: plain(v) for k, v in asdict(self).items()} | {
            "words": self.words, "sentence": self.sentence(), "details": self.details()}


def consistency_verdict(estimate: IccEstimate, *, first_month: str,
                        last_month: str) -> ConsistencyVerdict:
    """Koo & Li words for an ICC(A,1) estimate and its CI (see the module docstring)."""
    return ConsistencyVerdict(
        icc=estimate.value, ci_low=estimate.ci_low, ci_high=estimate.ci_high,
        level=koo_li_level(estimate.value), low_level=koo_li_level(estimate.ci_low),
        high_level=koo_li_level(estimate.ci_high), n_calls=estimate.n_calls,
        n_evaluators=estimate.n_evaluators, n_dropped_calls=estimate.n_dropped_calls,
        first_month=first_month, last_month=last_month, confidence=estimate.confidence)


@dataclass(frozen=True)
class TrendVerdict:
    """Whether the evaluators agree more or less over the window (per-call spread test).

    ``spread_first``/``spread_last`` are the fitted spreads (SD of the evaluators' scores on a
    call, points) at the first and last month; ``monthly`` holds ``(month, n_calls,
    mean_spread, icc, icc_ci_low, icc_ci_high)`` tuples for the chart and the details line.
    """

    direction: TrendWord
    slope_per_month: float
    slope_ci_low: float
    slope_ci_high: float
    p_value: float
    spread_first: float
    spread_last: float
    n_calls: int
    n_months: int
    n_permutations: int
    first_month: str
    last_month: str
    min_change: float
    confidence: float
    monthly: tuple[tuple[Any, ...], ...] = field(default=())

    def sentence(self) -> str:
        window = window_words(self.first_month, self.last_month)
        if self.direction == "too short":
            return (f"Too little history to tell whether evaluators are becoming more or less "
                    f"consistent ({self.n_calls} calls over {self.n_months} month(s)).")
        if self.direction == "flat":
            return (f"No clear change over {window}: evaluators' scores on the same call stay "
                    f"about {(self.spread_first + self.spread_last) / 2:.1f} points apart "
                    f"(standard deviation) — flat.")
        way = "more" if self.direction == "improving" else "less"
        move = "down" if self.direction == "improving" else "up"
        return (f"Evaluators are becoming {way} consistent ({self.direction}) over {window}: "
                f"their scores on the same call are now about {self.spread_last:.1f} points "
                f"apart (standard deviation), {move} from {self.spread_first:.1f} in "
                f"{month_words(self.first_month)}.")

    def details(self) -> str:
        if self.direction == "too short":
            return "the trend needs calls with two or more ratings in at least two months."
        iccs = "; ".join(f"{month_words(m)[:3]} {icc:.2f}" for m, _, _, icc, _, _ in self.monthly
                         if finite(icc))
        return (f"test: least-squares slope of each call's SD of evaluator scores on the month "
                f"index, {self.slope_per_month:+.2f} points a month "
                f"({ci_words(self.slope_ci_low, self.slope_ci_high, self.confidence)}), "
                f"permutation "
                f"p = {self.p_value:.3f} ({self.n_permutations:,} permutations), {self.n_calls} "
                f"calls in {self.n_months} months; improving or worsening when p < "
                f"{1 - self.confidence:.2f} and the fitted change is at least "
                f"{self.min_change:g} point(s)" + (f". Monthly ICC(A,1): {iccs}." if iccs
                                                     else "."))

    def to_dict(self) -> dict[str, Any]:
        out = {k: plain(v) for k, v in asdict(self).items() if k != "monthly"}
        out["monthly"] = [dict(zip(("month", "n_calls", "mean_spread", "icc", "icc_ci_low",
                                    "icc_ci_high"), map(plain, row))) for row in self.monthly]
        return out | {"sentence": self.sentence(), "details": self.details()}


def trend_verdict(spread: SpreadTrend, monthly_icc: pd.DataFrame | None = None, *,
                  min_change: float = 1.0) -> TrendVerdict:
    """Improving / flat / worsening from :func:`calib.stats.consistency.spread_trend`.

    Parameters
    ----------
    spread : SpreadTrend
    monthly_icc : pandas.DataFrame, optional
        From :func:`calib.stats.consistency.monthly_icc`, shown in the details line.
    min_change : float
        Smallest fitted change of the spread over the window, in points, worth a word.
    """
    if not isinstance(min_change, (int, float)) or min_change < 0:
        raise ValueError(f"min_change must be a non-negative number of points, not "
                         f"{min_change!r}.")
    change = spread.fitted_last - spread.fitted_first
    significant = spread.p_value < 1 - spread.confidence and abs(change) >= min_change
    direction: TrendWord = ("flat" if not significant else
                            "worsening" if change > 0 else "improving")
    months = list(spread.monthly["month"])
    iccs = (monthly_icc.set_index("month") if monthly_icc is not None
            else pd.DataFrame(columns=["icc", "ci_low", "ci_high"]))
    rows = tuple((m, int(n), float(s), *(float(iccs.loc[m, c]) if m in iccs.index else np.nan
                                         for c in ("icc", "ci_low", "ci_high")))
                 for m, n, s in spread.monthly[["month", "n_calls", "mean_spread"]].itertuples(
                     index=False))
    return TrendVerdict(direction=direction, slope_per_month=spread.slope_per_month,
                        slope_ci_low=spread.slope_ci_low, slope_ci_high=spread.slope_ci_high,
                        p_value=spread.p_value, spread_first=spread.fitted_first,
                        spread_last=spread.fitted_last, n_calls=spread.n_calls,
                        n_months=spread.n_months, n_permutations=spread.n_permutations,
                        first_month=months[0], last_month=months[-1],
                        min_change=float(min_change), confidence=spread.confidence,
                        monthly=rows)

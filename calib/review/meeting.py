"""How far each evaluator's initial score moves at the calibration meeting, and whether that
shrinks over the period.

The gap of a call is ``|initial score − agreed score|``, where the agreed score is re-derived from
the consensus answers recorded after the meeting (:func:`calib.consensus.initial_vs_agreed`).
Per evaluator, the least-squares slope of the gaps on the month index, with a t CI (n − 2 df),
says whether the evaluator moves less at the meeting (*converging*) or more (*diverging*): a
word only when the CI excludes 0 and the fitted gap changes by at least ``min_change`` points
over the period; *steady* otherwise; *too short* with fewer than three calls or two months.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats as sps

from calib.stats._common import check_confidence, month_number
from calib.tables import require_columns
from calib.verdicts.words import ci_words, month_words, plain

MeetingWord = Literal["converging", "diverging", "steady", "too short"]
MEETING_COLUMNS = ("evaluator_id", "evaluator_name", "n_calls", "n_months", "gap_first",
                   "gap_last", "slope_per_month", "slope_ci_low", "slope_ci_high", "verdict")


@dataclass(frozen=True)
class MeetingMove:
    """One evaluator's gap between initial and agreed scores over the period (points)."""

    evaluator_id: str
    evaluator_name: str | None
    verdict: MeetingWord
    n_calls: int
    n_months: int
    gap_first: float
    gap_last: float
    slope_per_month: float
    slope_ci_low: float
    slope_ci_high: float
    first_month: str
    last_month: str
    min_change: float
    confidence: float

    @property
    def name(self) -> str:
        return self.evaluator_name or self.evaluator_id

    def sentence(self) -> str:
        if self.verdict == "too short":
            return (f"{self.name}: {self.n_calls} call(s) with agreed answers in "
                    f"{self.n_months} month(s), too few to tell a change.")
        if self.verdict == "steady":
            return (f"{self.name}'s initial scores move about "
                    f"{(self.gap_first + self.gap_last) / 2:.1f} points at the meeting, with no "
                    f"clear change.")
        way = "less" if self.verdict == "converging" else "more"
        return (f"{self.name}'s initial scores move {way} at the meeting: about "
                f"{self.gap_first:.1f} points in {month_words(self.first_month)}, "
                f"{self.gap_last:.1f} in {month_words(self.last_month)}.")

    def details(self) -> str:
        if self.verdict == "too short":
            return "the change needs at least three calls in two months."
        return (f"slope of |initial − agreed| on the month, {self.slope_per_month:+.2f} points a "
                f"month ({ci_words(self.slope_ci_low, self.slope_ci_high, self.confidence)}), "
                f"{self.n_calls} calls in {self.n_months} months; a change counts when the CI "
                f"excludes 0 and the fitted gap moves by at least {self.min_change:g} point(s).")

    def to_dict(self) -> dict[str, Any]:
        return {k: plain(v) for k, v in asdict(self).items()} | {
            "sentence": self.sentence(), "details": self.details()}


def meeting_moves(agreed: pd.DataFrame, *, min_change: float = 1.0,
                  confidence: float = 0.95) -> tuple[MeetingMove, ...]:
    """One :class:`MeetingMove` per evaluator of ``agreed`` (the expert's own rows left out).

    Parameters
    ----------
    agreed : pandas.DataFrame
        :func:`calib.consensus.initial_vs_agreed` rows of every team (``month, evaluator_id,
        evaluator_name, role, difference``).
    min_change : float
        Smallest change of the fitted gap over the period, in points, worth a word.
    confidence : float
        Level of the slope's CI.

    Returns
    -------
    tuple of MeetingMove
        Converging first, then diverging (by size of the change), then the rest by name.
    """
    require_columns(agreed, ("month", "evaluator_id", "difference"), what="agreed scores")
    confidence = check_confidence(confidence)
    if not isinstance(min_change, (int, float)) or min_change < 0:
        raise ValueError(f"min_change must be a non-negative number of points, not "
                         f"{min_change!r}.")
    rows = agreed[agreed["role"] != "expert"] if "role" in agreed.columns else agreed
    rows = rows.dropna(subset=["difference"])
    out = []
    for evaluator, part in rows.groupby("evaluator_id", sort=True):
        names = part["evaluator_name"].dropna() if "evaluator_name" in part else pd.Series()
        x = month_number(part["month"]).astype(float)
        y = part["difference"].abs().to_numpy(float)
        months = sorted(part["month"].astype(str).unique())
        nan = float("nan")
        slope = low = high = first = last = nan
        word: MeetingWord = "too short"
        if len(y) >= 3 and len(months) >= 2:
            fit = sps.linregress(x, y)
            half = sps.t.ppf(0.5 + confidence / 2, len(y) - 2) * fit.stderr
            slope, low, high = float(fit.slope), float(fit.slope - half), float(fit.slope + half)
            first = float(fit.intercept + fit.slope * x.min())
            last = float(fit.intercept + fit.slope * x.max())
            word = "steady"
            if np.isfinite(half) and (low > 0 or high < 0) and abs(last - first) >= min_change:
                word = "converging" if last < first else "diverging"
        out.append(MeetingMove(
            evaluator_id=str(evaluator),
            evaluator_name=str(names.iloc[-1]) if len(names) else None, verdict=word,
            n_calls=int(len(y)), n_months=len(months), gap_first=first, gap_last=last,
            slope_per_month=slope, slope_ci_low=low, slope_ci_high=high,
            first_month=months[0], last_month=months[-1], min_change=float(min_change),
            confidence=confidence))
    order = {"converging": 0, "diverging": 1, "steady": 2, "too short": 3}
    return tuple(sorted(out, key=lambda m: (order[m.verdict],
                                            -abs(np.nan_to_num(m.gap_last - m.gap_first)),
                                            m.name)))


def meeting_table(moves: tuple[MeetingMove, ...]) -> pd.DataFrame:
    """The moves as a DataFrame with :data:`MEETING_COLUMNS`."""
    return pd.DataFrame([{c: getattr(m, c) for c in MEETING_COLUMNS} for m in moves],
                        columns=list(MEETING_COLUMNS))

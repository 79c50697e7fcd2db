"""Each evaluator's severity over the review period, and whether it moved toward the consensus.

The severity is the pooled model of :mod:`calib.stats.severity` (the monthly report's): call
effects absorbed, each evaluator against the leave-one-out consensus of the other panel
evaluators, the expert left out. The review fits it once over every team and month it covers,
so an evaluator who serves several teams is one row, compared on the calls they shared with
whoever scored them.

Decision recorded here
----------------------
**Improved** means *moved toward the consensus*: the evaluator's own trend (their slope per
month relative to the others', :attr:`calib.stats.severity.SeverityResult.trend`) has a CI that
excludes 0, and the fitted severity at the end of the period is closer to 0 than at its start by
at least ``min_change`` points. *Moved away* is the mirror image. *Steady* otherwise; *too
short* with fewer than two months. The fitted severity at a month is the window severity (the
evaluator's level at the rows' mean month) plus the slope times the distance to that month, so
an evaluator who crossed from lenient to harsh is not called improved by a window mean near 0.

**Relative, as every severity here.** The consensus an evaluator is compared with is the
others': when several evaluators of a panel drift the same way, the consensus drifts with them
and an evaluator who held still moves relative to it. The review says so in those words ("moved
toward the consensus"), never "improved" alone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from calib.stats._common import month_number
from calib.stats.severity import SeverityResult
from calib.verdicts.words import ci_words, finite, month_words, plain, points

ProgressWord = Literal["moved toward the consensus", "moved away from the consensus", "steady",
                       "too short"]

PROGRESS_COLUMNS = ("evaluator_id", "evaluator_name", "teams", "n_months", "n_calls",
                    "severity", "slope_per_month", "slope_ci_low", "slope_ci_high",
                    "severity_first", "severity_last", "verdict")


@dataclass(frozen=True)
class EvaluatorProgress:
    """One evaluator's severity over the period and the word for its change.

    ``severity_first``/``severity_last`` are the fitted severities (points above the consensus,
    positive = lenient) at ``first_month`` and ``last_month``; ``slope_*`` the change per month
    relative to the other evaluators, with its CI.
    """

    evaluator_id: str
    evaluator_name: str | None
    teams: tuple[str, ...]
    verdict: ProgressWord
    n_months: int
    n_calls: int
    severity: float
    slope_per_month: float
    slope_ci_low: float
    slope_ci_high: float
    severity_first: float
    severity_last: float
    first_month: str
    last_month: str
    min_change: float
    confidence: float

    @property
    def name(self) -> str:
        return self.evaluator_name or self.evaluator_id

    @property
    def improved(self) -> bool:
        return self.verdict == "moved toward the consensus"

    def sentence(self) -> str:
        """The change in plain words."""
        if self.verdict == "too short":
            return (f"{self.name} scored in {self.n_months} month(s) only: too short to tell "
                    f"whether their severity changed.")
        first, last = month_words(self.first_month), month_words(self.last_month)
        if self.verdict == "steady":
            return (f"{self.name} held steady: {_side(self.severity)} the other evaluators on "
                    f"the same calls over the period, with no clear change.")
        return (f"{self.name} {self.verdict}: from {_side(self.severity_first)} the others in "
                f"{first} to {_side(self.severity_last)} in {last}.")

    def details(self) -> str:
        if self.verdict == "too short":
            return "a trend needs calls shared with other evaluators in at least two months."
        return (f"slope {self.slope_per_month:+.2f} points a month relative to the others "
                f"({ci_words(self.slope_ci_low, self.slope_ci_high, self.confidence)}), "
                f"fitted severity {self.severity_first:+.1f} → {self.severity_last:+.1f}, "
                f"{self.n_calls} shared calls in {self.n_months} months, teams "
                f"{', '.join(self.teams)}; a change counts when the slope's CI excludes 0 and "
                f"the distance to the consensus changes by at least {self.min_change:g} "
                f"point(s).")

    def to_dict(self) -> dict[str, Any]:
        return {k: plain(v) for k, v in asdict(self).items()} | {
            "sentence": self.sentence(), "details": self.details()}


def _side(value: float) -> str:
    if not finite(value):
        return "unmeasured against"
    if round(abs(value), 1) == 0:
        return "level with"
    return f"{points(value)} {'above' if value > 0 else 'below'}"


def evaluator_progress(severity: SeverityResult, panel: pd.DataFrame, *,
                       min_change: float = 1.0) -> tuple[EvaluatorProgress, ...]:
    """One :class:`EvaluatorProgress` per panel evaluator of ``severity``.

    Parameters
    ----------
    severity : SeverityResult
        :func:`calib.stats.severity.panel_severity` over the review's scores.
    panel : pandas.DataFrame
        The scores it was fitted on (``team, month, evaluator_id`` are read for the teams and
        the months of each evaluator, and the rows' mean month).
    min_change : float
        Smallest change of the distance to the consensus, in points, worth a word.

    Returns
    -------
    tuple of EvaluatorProgress
        Those who moved first (toward, then away, by size of the change), then by name.
    """
    if not isinstance(min_change, (int, float)) or min_change < 0:
        raise ValueError(f"min_change must be a non-negative number of points, not "
                         f"{min_change!r}.")
    rows = panel[panel["role"] != "expert"] if "role" in panel.columns else panel
    numbers = pd.Series(month_number(rows["month"]), index=rows.index)
    centre = float(numbers.mean())  # the trend model centres the month index on all its rows
    teams = rows.groupby("evaluator_id")["team"].agg(lambda s: tuple(sorted(set(map(str, s)))))
    span = numbers.groupby(rows["evaluator_id"]).agg(["min", "max"])
    table = severity.table.set_index("evaluator_id")
    out = []
    for r in severity.trend.itertuples(index=False):
        level = table.loc[r.evaluator_id]
        first_n, last_n = span.loc[r.evaluator_id, "min"], span.loc[r.evaluator_id, "max"]
        first, last = _month_text(first_n), _month_text(last_n)
        s_first = float(level["severity"] + r.slope_per_month * (first_n - centre))
        s_last = float(level["severity"] + r.slope_per_month * (last_n - centre))
        word: ProgressWord
        if not finite(r.slope_per_month) or r.n_months < 2:
            word = "too short"
        elif (r.ci_low > 0 or r.ci_high < 0) and abs(abs(s_first) - abs(s_last)) >= min_change:
            word = ("moved toward the consensus" if abs(s_last) < abs(s_first)
                    else "moved away from the consensus")
        else:
            word = "steady"
        out.append(EvaluatorProgress(
            evaluator_id=str(r.evaluator_id),
            evaluator_name=None if pd.isna(r.evaluator_name) else str(r.evaluator_name),
            teams=teams.get(r.evaluator_id, ()), verdict=word, n_months=int(r.n_months),
            n_calls=int(level["n_calls"]), severity=float(level["severity"]),
            slope_per_month=float(r.slope_per_month), slope_ci_low=float(r.ci_low),
            slope_ci_high=float(r.ci_high), severity_first=s_first, severity_last=s_last,
            first_month=first, last_month=last, min_change=float(min_change),
            confidence=severity.confidence))
    order = {"moved toward the consensus": 0, "moved away from the consensus": 1, "steady": 2,
             "too short": 3}
    return tuple(sorted(out, key=lambda p: (order[p.verdict], -abs(np.nan_to_num(
        abs(p.severity_first) - abs(p.severity_last))), p.name)))


def progress_table(progress: tuple[EvaluatorProgress, ...]) -> pd.DataFrame:
    """The progress objects as a DataFrame with :data:`PROGRESS_COLUMNS`."""
    rows = [{c: (", ".join(p.teams) if c == "teams" else getattr(p, c)) for c in
             PROGRESS_COLUMNS} for p in progress]
    return pd.DataFrame(rows, columns=list(PROGRESS_COLUMNS))


def _month_text(number: float) -> str:
    n = int(number)
    return f"{n // 12:04d}-{n % 12 + 1:02d}"

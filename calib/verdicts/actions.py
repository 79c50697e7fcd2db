"""The ranked actions, the bundle the report reads, and the one builder that makes it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import pandas as pd

from calib.stats import consistency as cons, prepare_scores
from calib.stats.expert_drift import ExpertDriftResult, expert_drift
from calib.stats.severity import SeverityResult, panel_severity
from calib.values import MONTH_PATTERN
from calib.verdicts.people import (DriftVerdict, EvaluatorVerdict, check_threshold, drift_verdicts,
                                   evaluator_verdicts)
from calib.verdicts.team import ConsistencyVerdict, TrendVerdict, consistency_verdict, trend_verdict
from calib.verdicts.words import ActionKind, join, points, window_words


@dataclass(frozen=True)
class Action:
    """One ranked action: what to do (``title``), why (``evidence``, plain words), and whom it
    concerns (``subjects``, evaluator or expert ids). Built only from the verdict objects."""

    rank: int
    kind: ActionKind
    title: str
    evidence: str
    subjects: tuple[str, ...] = ()

    def sentence(self) -> str:
        return f"{self.title} {self.evidence}"

    def to_dict(self) -> dict[str, Any]:
        return {"rank": self.rank, "kind": self.kind, "title": self.title,
                "evidence": self.evidence, "subjects": list(self.subjects),
                "sentence": self.sentence()}


def _severity_evidence(v: EvaluatorVerdict) -> str:
    side = "above" if v.severity > 0 else "below"
    return f"{v.name} {points(v.severity)} {side} ({v.n_calls} shared calls)"


def rank_actions(evaluators: tuple[EvaluatorVerdict, ...], experts: tuple[DriftVerdict, ...],
                 consistency: ConsistencyVerdict | None, trend: TrendVerdict | None, *,
                 max_actions: int = 3) -> tuple[Action, ...]:
    """At most ``max_actions`` actions, ranked, each carrying its evidence (package docstring)."""
    candidates: list[tuple[ActionKind, str, str, tuple[str, ...]]] = []
    for e in (e for e in experts if e.flagged):
        candidates.append((
            "rotate calibrator",
            f"Rotate the calibrator role and run a calibration of calibrators with {e.name}.",
            f"{e.sentence()} Until then, judge evaluators against the panel, not against "
            f"{e.name}'s scores.", (e.expert_id,)))
    flagged = [v for v in evaluators if v.flagged]
    if flagged:
        who = join([f"{v.name} ({v.verdict})" for v in flagged])
        window = window_words(flagged[0].first_month, flagged[0].last_month)
        candidates.append((
            "review severity", f"Review scoring one-to-one with {who}.",
            f"Over {window} they scored consistently above (lenient) or below (harsh) the other "
            f"evaluators on the same calls, by more than {flagged[0].threshold:g} points: "
            f"{'; '.join(_severity_evidence(v) for v in flagged)}.",
            tuple(v.evaluator_id for v in flagged)))
    weak = consistency is not None and consistency.level in ("poor", "moderate")
    worse = trend is not None and trend.direction == "worsening"
    if weak or worse:
        parts = ([consistency.sentence()] if weak else []) + ([trend.sentence()] if worse else [])
        candidates.append((
            "clarify rubric",
            "Clarify the rubric where evaluators split, starting with this month's most "
            "disputed questions.", " ".join(parts), ()))
    for e in (e for e in experts if e.status == "watch"):
        candidates.append((
            "watch calibrator",
            f"Check {e.name}'s scoring at the next calibration of calibrators.", e.sentence(),
            (e.expert_id,)))
    short = [v for v in evaluators if v.verdict == "not enough shared calls"]
    if short:
        known = [v.calls_needed for v in short if v.calls_needed is not None]
        how_many = f"about {max(known)} more calls" if known else "more calls"
        counts = join([f"{v.name} {v.n_calls}" for v in short])
        evidence = (f"Their severity cannot be told from the ±{short[0].threshold:g}-point band "
                    f"yet; shared calls so far: {counts}"
                    + (f"; about {max(known)} more would settle it." if known else
                       ", too few even to estimate how many more are needed."))
        candidates.append((
            "more shared calls",
            f"Have {join([v.name for v in short])} score {how_many} together with the panel.",
            evidence, tuple(v.evaluator_id for v in short)))
    if not candidates:
        # nobody flagged, short of calls or on watch: say so, from the same objects
        parts = ([f"Every evaluator is within the ±{evaluators[0].threshold:g}-point band."]
                 if evaluators else [])
        parts += [e.sentence() for e in experts]
        parts += [x.sentence() for x in (consistency, trend) if x is not None]
        candidates.append(("keep cadence", "Keep the monthly calibration cadence.",
                           " ".join(parts), ()))
    return tuple(Action(rank=i + 1, kind=k, title=t, evidence=ev, subjects=s)
                 for i, (k, t, ev, s) in enumerate(candidates[:max_actions]))


@dataclass(frozen=True)
class Verdicts:
    """Everything the headline and the appendix say, for one team and report month.

    ``problems`` maps what could not be judged to why (a sentence), so a missing verdict is
    explained rather than silent.
    """

    month: str
    months: tuple[str, ...]
    evaluators: tuple[EvaluatorVerdict, ...]
    experts: tuple[DriftVerdict, ...]
    consistency: ConsistencyVerdict | None
    trend: TrendVerdict | None
    actions: tuple[Action, ...]
    problems: Mapping[str, str] = field(default_factory=dict)
    #: The fits the verdicts were read from, for the charts that draw the same numbers.
    severity: SeverityResult | None = field(default=None, compare=False, repr=False)
    drift: ExpertDriftResult | None = field(default=None, compare=False, repr=False)

    def headline(self) -> tuple[str, ...]:
        """The headline's sentences: consistency, trend, then the ranked actions."""
        lines = [x.sentence() for x in (self.consistency, self.trend) if x is not None]
        return tuple(lines + [f"{a.rank}. {a.sentence()}" for a in self.actions])

    def flagged_evaluators(self) -> list[dict[str, Any]]:
        """``summary.json``'s ``flagged_evaluators``: exactly the evaluators called lenient or
        harsh, then the expert when their drift is a verdict."""
        return ([v.flagged_record() for v in self.evaluators if v.flagged]
                + [e.flagged_record() for e in self.experts if e.flagged])

    def to_dict(self) -> dict[str, Any]:
        return {"month": self.month, "months": list(self.months),
                "evaluators": [v.to_dict() for v in self.evaluators],
                "experts": [e.to_dict() for e in self.experts],
                "consistency": self.consistency.to_dict() if self.consistency else None,
                "trend": self.trend.to_dict() if self.trend else None,
                "actions": [a.to_dict() for a in self.actions],
                "flagged_evaluators": self.flagged_evaluators(),
                "problems": dict(self.problems)}


def flagged_evaluators(verdicts: Verdicts) -> list[dict[str, Any]]:
    """``summary.json``'s ``flagged_evaluators`` (see :meth:`Verdicts.flagged_evaluators`)."""
    return verdicts.flagged_evaluators()


def build_verdicts(scores: pd.DataFrame, *, month: str | None = None,
                   bias_threshold: float = 3.0, drift_threshold: float = 10.0,
                   confidence: float = 0.95, sustained_months: int = 3,
                   min_trend_change: float = 1.0, n_permutations: int = 9999,
                   seed: int = 0, max_actions: int = 3) -> Verdicts:
    """All verdicts for one team's history window ending at ``month``.

    Parameters
    ----------
    scores : pandas.DataFrame
        The team's ``scores`` table over the history window (rows after ``month`` are ignored).
    month : str, optional
        The report month ``YYYY-MM``; defaults to the latest month in ``scores``.
    bias_threshold, drift_threshold : float
        The report's practical thresholds in points.
    confidence : float
        Level of every CI.
    sustained_months, min_trend_change, n_permutations, seed, max_actions
        See :func:`drift_verdicts`, :func:`trend_verdict`,
        :func:`calib.stats.consistency.spread_trend` and :func:`rank_actions`.

    Returns
    -------
    Verdicts
        What could not be computed is named in ``problems``; the rest is still judged.
    """

    check_threshold(bias_threshold, "bias_threshold")
    check_threshold(drift_threshold, "drift_threshold")
    if "month" not in scores.columns:
        raise ValueError("scores lacks the 'month' column; give every evaluation the YYYY-MM "
                         "month of its calibration.")
    months_present = scores["month"].dropna().astype(str)
    if months_present.empty:
        raise ValueError("scores holds no evaluation with a month; nothing to judge.")
    month = month or months_present.max()
    if not MONTH_PATTERN.match(str(month)):
        raise ValueError(f"month must be a 'YYYY-MM' string such as '2026-10', not {month!r}.")
    window = scores[scores["month"].astype(str) <= month]
    months = tuple(sorted(window["month"].astype(str).unique()))
    problems: dict[str, str] = {}

    def attempt(name, fn):
        try:
            return fn()
        except ValueError as exc:
            problems[name] = " ".join(str(exc).split())
            return None

    severity = attempt("severity", lambda: panel_severity(
        window, target_half_width=bias_threshold, confidence=confidence))
    evaluators = (evaluator_verdicts(severity, threshold=bias_threshold) if severity is not None
                  else _unjudged(window, bias_threshold, confidence, months))
    drift = attempt("expert drift", lambda: expert_drift(window, severity,
                                                         confidence=confidence))
    experts = (drift_verdicts(drift, month=month, threshold=drift_threshold,
                              sustained_months=sustained_months) if drift is not None else ())
    estimate = attempt("consistency", lambda: cons.agreement_icc(window, confidence=confidence))
    consistency = (consistency_verdict(estimate, first_month=months[0], last_month=months[-1])
                   if estimate is not None else None)
    spread = attempt("trend", lambda: cons.spread_trend(
        window, n_permutations=n_permutations, seed=seed, confidence=confidence))
    trend = (trend_verdict(spread, cons.monthly_icc(window, confidence=confidence),
                           min_change=min_trend_change) if spread is not None else None)
    actions = rank_actions(evaluators, experts, consistency, trend, max_actions=max_actions)
    return Verdicts(month=month, months=months, evaluators=evaluators, experts=experts,
                    consistency=consistency, trend=trend, actions=actions, problems=problems,
                    severity=severity, drift=drift)


def _unjudged(window: pd.DataFrame, threshold: float, confidence: float,
              months: tuple[str, ...]) -> tuple[EvaluatorVerdict, ...]:
    """Every panel evaluator as *not enough shared calls* when no severity could be fitted."""

    try:
        rows, _ = prepare_scores(window)
    except ValueError:  # the same problem is already named under "severity"
        return ()
    if "role" in rows.columns:
        rows = rows[rows["role"] != "expert"]
    nan = float("nan")
    out = []
    for evaluator_id, part in rows.groupby("evaluator_id", sort=True):
        name = part["evaluator_name"].dropna()
        out.append(EvaluatorVerdict(
            evaluator_id=str(evaluator_id),
            evaluator_name=str(name.iloc[-1]) if len(name) else None,
            verdict="not enough shared calls", severity=nan, ci_low=nan, ci_high=nan, n_calls=0,
            n_reference=0, calls_needed=None, threshold=float(threshold), confidence=confidence,
            first_month=months[0], last_month=months[-1]))
    return tuple(out)

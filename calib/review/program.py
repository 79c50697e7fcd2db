"""The program review: every team's reliability month by month, each team's trend, every
evaluator's severity over the period, and one paragraph for the director — all from the same
frozen verdict objects, so the paragraph cannot say what the tables do not.

Per team (each team's own scores): ICC(A,1) month by month with its CI
(:func:`calib.stats.consistency.monthly_icc`), the consistency verdict over the period and the
trend verdict of the per-call spread (:mod:`calib.verdicts`, the monthly report's rules). Across
teams: one pooled severity fit (:mod:`calib.review.progress`).
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from calib.quarterly import CalibratorReview, quarter_review, section_html
from calib.review.meeting import MeetingMove, meeting_moves, meeting_table
from calib.review.progress import EvaluatorProgress, evaluator_progress, progress_table
from calib.review.versions import (QuestionChange, version_changes, version_sentences,
                                   version_table, versions_html)
from calib.rubric import BEFORE_AFTER_COLUMNS, before_after, notes_in_force
from calib.stats import consistency as cons
from calib.stats.severity import SeverityResult, panel_severity
from calib.tables import require_columns
from calib.verdicts import (ConsistencyVerdict, TrendVerdict, consistency_verdict,
                            trend_verdict, window_words)
from calib.verdicts.words import join

RELIABILITY_COLUMNS = ("team", "month", "icc", "ci_low", "ci_high", "n_calls", "n_evaluators",
                       "n_dropped_calls")
_SHORTER = "consistency over the whole period"
TEAM_COLUMNS = ("team", "n_months", "n_calls", "icc", "ci_low", "ci_high", "consistency",
                "trend", "spread_first", "spread_last", "trend_p_value")


@dataclass(frozen=True)
class TeamReview:
    """One team over the period: its consistency and trend verdicts (None when they could not
    be judged, with the reason in ``problems``)."""

    team: str
    consistency: ConsistencyVerdict | None
    trend: TrendVerdict | None
    n_calls: int
    n_months: int
    problems: Mapping[str, str] = field(default_factory=dict)

    def sentences(self) -> tuple[str, ...]:
        said = [v.sentence() for v in (self.consistency, self.trend) if v is not None]
        return tuple(said + [f"{what.capitalize()}: {why}" for what, why in
                             self.problems.items()])


@dataclass(frozen=True, eq=False)
class ProgramReview:
    """Result of :func:`program_review`.

    Attributes
    ----------
    months : tuple of str
        The months reviewed.
    teams : tuple of TeamReview
        One per team, in the order asked.
    reliability : pandas.DataFrame
        :data:`RELIABILITY_COLUMNS`: ICC(A,1) per team per month with its CI (NaN where a month
        has too few complete calls).
    evaluators : tuple of EvaluatorProgress
        Every panel evaluator's severity over the period and its change.
    severity : SeverityResult or None
        The pooled fit behind ``evaluators`` (its ``monthly`` table draws the chart).
    meeting : tuple of MeetingMove or None
        How far each evaluator's initial scores move at the meeting, and whether that shrinks;
        None when no agreed scores were given, empty when none were recorded.
    calibrators : CalibratorReview or None
        The calibration of calibrators (:func:`calib.quarterly.quarter_review`) over the last
        quarter of the period, when the scores hold the leadership team's calibrations.
    versions : tuple of QuestionChange or None
        Every question before and after every new form version in the period
        (:func:`calib.review.versions.version_changes`); None when no answers were given.
    rubric : pandas.DataFrame or None
        The rubric notes in force at the period's end, before and after each
        (:func:`calib.rubric.before_after`); None when no notes were given.
    problems : mapping
        What could not be judged across teams, and why.
    """

    months: tuple[str, ...]
    teams: tuple[TeamReview, ...]
    reliability: pd.DataFrame
    evaluators: tuple[EvaluatorProgress, ...]
    severity: SeverityResult | None
    meeting: tuple[MeetingMove, ...] | None = None
    calibrators: CalibratorReview | None = None
    problems: Mapping[str, str] = field(default_factory=dict)
    versions: tuple[QuestionChange, ...] | None = None
    rubric: pd.DataFrame | None = None

    def versions_html(self) -> str:
        """Form versions and rubric notes compared, as the notebook shows them (escaped)."""
        return versions_html(self.versions, self.rubric)

    def version_table(self) -> pd.DataFrame:
        """One row per question and new form version
        (:data:`calib.review.versions.VERSION_COLUMNS`), real changes first."""
        return version_table(self.versions or ())

    def team_table(self) -> pd.DataFrame:
        """One row per team (:data:`TEAM_COLUMNS`)."""
        rows = []
        for t in self.teams:
            c, tr = t.consistency, t.trend
            rows.append({"team": t.team, "n_months": t.n_months, "n_calls": t.n_calls,
                         "icc": c.icc if c else float("nan"),
                         "ci_low": c.ci_low if c else float("nan"),
                         "ci_high": c.ci_high if c else float("nan"),
                         "consistency": c.words if c else "not judged",
                         "trend": tr.direction if tr else "too short",
                         "spread_first": tr.spread_first if tr else float("nan"),
                         "spread_last": tr.spread_last if tr else float("nan"),
                         "trend_p_value": tr.p_value if tr else float("nan")})
        return pd.DataFrame(rows, columns=list(TEAM_COLUMNS))

    def evaluator_table(self) -> pd.DataFrame:
        """One row per evaluator (:data:`calib.review.progress.PROGRESS_COLUMNS`)."""
        return progress_table(self.evaluators)

    def meeting_table(self) -> pd.DataFrame:
        """One row per evaluator (:data:`calib.review.meeting.MEETING_COLUMNS`)."""
        return meeting_table(self.meeting or ())

    def calibrators_html(self) -> str:
        """The calibration of calibrators as the quarterly notebook shows it (escaped HTML), or a
        sentence saying why there is none."""
        if self.calibrators is not None:
            return section_html(self.calibrators)
        why = self.problems.get("calibration of calibrators",
                                "the teams reviewed do not include the leadership team.")
        return f"<p>No calibration of calibrators: {html.escape(why)}</p>"

    def paragraph(self) -> str:
        """The director's paragraph: which teams are consistent, which drift, which evaluators
        improved — in plain words, from the verdict objects only."""
        window = window_words(self.months[0], self.months[-1])
        n = len(self.teams)
        parts = [f"Over {window}, {n} team{'s' if n != 1 else ''} were reviewed."]
        levels: dict[str, list[str]] = {}
        for t in self.teams:
            if t.consistency is None:
                levels.setdefault("not judged", []).append(t.team)
            elif not t.consistency.certain:
                levels.setdefault("uncertain", []).append(t.team)
            else:
                levels.setdefault(t.consistency.level, []).append(t.team)
        said = []
        for level in ("excellent", "good", "moderate", "poor"):
            if levels.get(level):
                said.append(f"{level} in {_teams(levels[level])}")
        if said:
            parts.append("Evaluators score the same call consistently: " + join(said) + ".")
        if levels.get("uncertain"):
            ranges: dict[str, list[str]] = {}
            for t in self.teams:
                if t.consistency is not None and not t.consistency.certain:
                    ranges.setdefault(f"between {t.consistency.low_level} and "
                                      f"{t.consistency.high_level}", []).append(t.team)
            parts.append("Too few calls yet to be sure of the level: " + join(
                [f"{words} in {_teams(names)}" for words, names in ranges.items()])
                + " (Koo & Li scale).")
        shorter = [t.team for t in self.teams if _SHORTER in t.problems]
        if shorter:
            parts.append(f"The panels of {_teams(shorter)} changed over the period, so their "
                         f"consistency is judged over their latest months with a stable panel "
                         f"only.")
        if levels.get("not judged"):
            parts.append(f"{_teams(levels['not judged']).capitalize()} could not be judged "
                         f"(see the team table).")
        trends = {word: [t.team for t in self.teams if t.trend and t.trend.direction == word]
                  for word in ("improving", "worsening")}
        if trends["worsening"]:
            parts.append(f"Agreement is getting worse in {_teams(trends['worsening'])}: rewrite "
                         f"the rubric questions they disagree on first.")
        if trends["improving"]:
            parts.append(f"Agreement is improving in {_teams(trends['improving'])}.")
        if not trends["worsening"] and not trends["improving"] and self.teams:
            parts.append("No team's agreement changed clearly over the period.")
        toward = [p.name for p in self.evaluators if p.verdict == "moved toward the consensus"]
        away = [p.name for p in self.evaluators if p.verdict == "moved away from the consensus"]
        measured = [p for p in self.evaluators if p.verdict != "too short"]
        if measured:
            if toward:
                parts.append(f"After calibration, {join(toward)} moved toward the consensus.")
            if away:
                parts.append(f"{join(away)} moved away from the consensus: discuss "
                             f"{'their' if len(away) > 1 else 'that'} scoring at the next "
                             f"calibration.")
            if not toward and not away:
                parts.append(f"None of the {len(measured)} evaluators measured changed their "
                             f"severity clearly.")
        parts += self._meeting_sentences()
        parts += version_sentences(self.versions, self.rubric)
        if self.calibrators is not None:
            flags = self.calibrators.flags
            flagged = flags[flags["flagged"]]
            if len(flagged):
                names = [str(n or i) for n, i in zip(flagged["calibrator_name"],
                                                      flagged["calibrator_id"])]
                parts.append(f"The quarterly calibration of calibrators flags {join(names)} "
                             f"(a bias against the leadership panel or a drift in their own "
                             f"team of {self.calibrators.threshold:g} points or more).")
            else:
                parts.append("The quarterly calibration of calibrators flags no calibrator.")
            parts.append(self.calibrators.rotation)
        return " ".join(parts)

    def _meeting_sentences(self) -> list[str]:
        if self.meeting is None:
            return []
        if not self.meeting:
            return ["No consensus answers were recorded after the meetings, so how far initial "
                    "scores move at the meeting is not known (record them with calib consensus "
                    "record)."]
        less = [m.name for m in self.meeting if m.verdict == "converging"]
        more = [m.name for m in self.meeting if m.verdict == "diverging"]
        said = []
        if less:
            said.append(f"At the meeting, the initial scores of {join(less)} now move less than "
                        f"at the start of the period.")
        if more:
            said.append(f"The initial scores of {join(more)} move more at the meeting than at "
                        f"the start: they read the rubric differently from the panel.")
        if not less and not more:
            said.append("How far initial scores move at the meeting did not change clearly for "
                        "any evaluator.")
        return said

    def to_dict(self) -> dict[str, Any]:
        return {"months": list(self.months),
                "teams": [{"team": t.team, "n_calls": t.n_calls, "n_months": t.n_months,
                           "consistency": t.consistency.to_dict() if t.consistency else None,
                           "trend": t.trend.to_dict() if t.trend else None,
                           "problems": dict(t.problems)} for t in self.teams],
                "evaluators": [p.to_dict() for p in self.evaluators],
                "meeting": (None if self.meeting is None
                            else [m.to_dict() for m in self.meeting]),
                "calibrators": None if self.calibrators is None else {
                    "flags": self.calibrators.flags.astype(object).where(
                        self.calibrators.flags.notna(), None).to_dict("records"),
                    "next_calibrator": self.calibrators.next_calibrator,
                    "rotation": self.calibrators.rotation},
                "versions": (None if self.versions is None
                             else [c.to_dict() for c in self.versions]),
                "rubric": (None if self.rubric is None else self.rubric.astype(object).where(
                    self.rubric.notna(), None).to_dict("records")),
                "paragraph": self.paragraph(), "problems": dict(self.problems)}


def _teams(names: Sequence[str]) -> str:
    return ("team " if len(names) == 1 else "teams ") + join(list(names))


def program_review(scores: pd.DataFrame, *, agreed: pd.DataFrame | None = None,
                   teams: Sequence[str] | None = None,
                   months: Sequence[str] | None = None, bias_threshold: float = 3.0,
                   drift_threshold: float = 10.0, leadership_team: str = "leadership",
                   confidence: float = 0.95, min_trend_change: float = 1.0,
                   n_permutations: int = 9999, seed: int = 0,
                   answers: pd.DataFrame | None = None, forms: pd.DataFrame | None = None,
                   questions: pd.DataFrame | None = None, notes: pd.DataFrame | None = None,
                   min_question_change: float = 0.05) -> ProgramReview:
    """Review the teams' calibration over the months.

    Parameters
    ----------
    scores : pandas.DataFrame
        A ``scores`` table of every team (``team, month, calibration_id, evaluator_id,
        evaluator_name, role, status, total_score``).
    agreed : pandas.DataFrame, optional
        Initial against agreed scores of every team (:func:`calib.review.load_agreed`), for
        how far initial scores move at the meeting; None leaves that part out.
    teams : sequence of str, optional
        The teams to review, in the order shown (default: every team in ``scores``).
    months : sequence of str, optional
        The months ``YYYY-MM`` (default: every month in ``scores``).
    bias_threshold : float
        Points of severity worth acting on (sets the severity fit's precision target).
    drift_threshold : float
        Points of calibrator bias or drift that flag a calibrator (the quarterly check).
    leadership_team : str
        The team of the quarterly leadership calibrations; when the teams reviewed include it,
        the calibration of calibrators runs over the period's last three months.
    confidence : float
        Level of every CI.
    min_trend_change : float
        Smallest fitted change in points that counts, for a team's spread and an evaluator's
        distance to the consensus.
    n_permutations, seed : int
        Of the spread trend's permutation test, and of the form versions' permutation test
        and bootstrap.
    answers, forms, questions : pandas.DataFrame, optional
        The teams' ``answers`` over the period, ``Store.forms()`` and
        ``Store.form_questions()`` (:func:`calib.review.load_forms`), for the form versions
        compared; None leaves that part out.
    notes : pandas.DataFrame, optional
        ``Store.rubric_notes()``: each note in force at the period's end before and after.
    min_question_change : float
        Smallest change of a question's per-call disagreement (0–1) worth a word.

    Returns
    -------
    ProgramReview
        What could not be judged is named in ``problems`` (per team and across teams).

    Raises
    ------
    ValueError
        Missing columns, a team asked for that ``scores`` does not hold, or no rows at all.
    """
    require_columns(scores, ("team", "month", "calibration_id", "evaluator_id", "role",
                             "status", "total_score"), what="scores")
    data = scores.assign(team=scores["team"].astype(str), month=scores["month"].astype(str))
    if months is not None:
        data = data[data["month"].isin([str(m) for m in months])]
    held = list(dict.fromkeys(sorted(data["team"].unique())))
    teams = list(teams) if teams else held
    missing = [t for t in teams if t not in held]
    if missing:
        raise ValueError(f"The scores hold no evaluation of team(s) {', '.join(missing)} in the "
                         f"months asked; the teams with scores are "
                         f"{', '.join(held) or 'none'}. Fix 'teams', or sync or import them.")
    data = data[data["team"].isin(teams)]
    if data.empty:
        raise ValueError("No evaluation in the teams and months asked; nothing to review.")
    period = tuple(sorted(months)) if months else tuple(sorted(data["month"].unique()))
    reviews, reliability = [], []
    for team in teams:
        review, monthly = _team(team, data[data["team"] == team], confidence=confidence,
                                min_trend_change=min_trend_change,
                                n_permutations=n_permutations, seed=seed)
        reviews.append(review)
        reliability.append(monthly.assign(team=team))
    problems: dict[str, str] = {}
    severity, progress = None, ()
    try:
        severity = panel_severity(data, target_half_width=bias_threshold, confidence=confidence)
        progress = evaluator_progress(severity, data, min_change=min_trend_change)
    except ValueError as exc:
        problems["evaluator severity"] = " ".join(str(exc).split())
    meeting = None
    if agreed is not None:
        rows = agreed[agreed["team"].astype(str).isin(teams)
                      & agreed["month"].astype(str).isin(period)]
        meeting = meeting_moves(rows, min_change=min_trend_change, confidence=confidence)
    calibrators = None
    if leadership_team in teams:
        try:
            calibrators = quarter_review(data, months=period[-3:],
                                         leadership_team=leadership_team,
                                         threshold=drift_threshold, confidence=confidence)
        except ValueError as exc:
            problems["calibration of calibrators"] = " ".join(str(exc).split())
    versions = rubric = None
    if answers is not None:
        require_columns(answers, ("team", "month"), what="answers")
        rows = answers[answers["team"].astype(str).isin(teams)
                       & answers["month"].astype(str).isin(period)]
        try:
            versions = version_changes(rows, data, forms, questions, confidence=confidence,
                                       min_change=min_question_change,
                                       n_resamples=n_permutations, seed=seed)
        except ValueError as exc:
            problems["form versions"] = " ".join(str(exc).split())
        if notes is not None:
            rubric = (before_after(rows, notes_in_force(notes, as_of=period[-1]),
                                   confidence=confidence) if len(notes)
                      else pd.DataFrame(columns=list(BEFORE_AFTER_COLUMNS)))
    table = (pd.concat(reliability, ignore_index=True) if reliability
             else pd.DataFrame(columns=list(RELIABILITY_COLUMNS)))
    return ProgramReview(months=period, teams=tuple(reviews),
                         reliability=table[list(RELIABILITY_COLUMNS)], evaluators=progress,
                         severity=severity, meeting=meeting, calibrators=calibrators,
                         problems=problems, versions=versions, rubric=rubric)


def _consistency(rows: pd.DataFrame, months: list[str], confidence: float,
                 problems: dict[str, str]) -> ConsistencyVerdict | None:
    """ICC(A,1) over the period; when the panel changed so that no call was scored by every
    evaluator of the period, over the longest span of latest months that has two such calls
    (the verdict's months say which, and ``problems`` why)."""
    first_error = None
    for start in range(len(months)):
        span = months[start:]
        try:
            estimate = cons.agreement_icc(rows[rows["month"].isin(span)], confidence=confidence)
        except ValueError as exc:
            first_error = first_error or " ".join(str(exc).split())
            continue
        if start:
            problems[_SHORTER] = (
                f"{first_error} The panel changed over the period, so consistency is judged "
                f"over {window_words(span[0], span[-1])} only.")
        return consistency_verdict(estimate, first_month=span[0], last_month=span[-1])
    problems["consistency"] = first_error or "no month with calls to judge."
    return None


def _team(team: str, rows: pd.DataFrame, *, confidence: float, min_trend_change: float,
          n_permutations: int, seed: int) -> tuple[TeamReview, pd.DataFrame]:
    problems: dict[str, str] = {}
    months = sorted(rows["month"].unique())

    def attempt(name, fn):
        try:
            return fn()
        except ValueError as exc:
            problems[name] = " ".join(str(exc).split())
            return None

    monthly = attempt("reliability", lambda: cons.monthly_icc(rows, confidence=confidence))
    if monthly is None:
        monthly = pd.DataFrame(columns=list(cons.MONTHLY_ICC_COLUMNS))
    consistency = _consistency(rows, months, confidence, problems)
    spread = attempt("trend", lambda: cons.spread_trend(
        rows, n_permutations=n_permutations, seed=seed, confidence=confidence))
    trend = (trend_verdict(spread, monthly, min_change=min_trend_change)
             if spread is not None else None)
    return TeamReview(team=team, consistency=consistency, trend=trend,
                      n_calls=int(rows["calibration_id"].nunique()), n_months=len(months),
                      problems=problems), monthly


def write_review(review: ProgramReview, output_dir: str) -> str | None:
    """Write ``review.json`` (the verdicts and the paragraph) into ``output_dir``; nothing when
    ``output_dir`` is empty (an interactive run). Returns the path written."""
    if not output_dir:
        return None
    path = Path(output_dir) / "review.json"
    path.write_text(json.dumps(review.to_dict(), indent=1, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    return str(path)

"""The report's numbers: one call per statistic from ``calib.stats`` and the verdicts, collected
in one frozen :class:`Analysis`.

Each statistic is computed on its own; when one cannot be computed (one calibration, no expert,
no history) the reason is recorded in ``Analysis.problems`` and the report says so instead of
failing. Nothing here is a new statistic and nothing here writes prose for the page: it only
chooses the inputs and collects the results (the words are the verdicts' and the sections').
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping

import pandas as pd

from calib import stats
from calib.agenda import build_agenda
from calib.context import ReportSettings
from calib.stats.variance import calibration_variance, question_disagreement
from calib.verdicts import build_verdicts
from calib.verdicts.questions import (answer_tolerance, critical_splits, evaluator_tolerance,
                                      question_verdicts)

#: A CI wider than this (on a 0–1 coefficient) is too wide to act on.
WIDE_COEFFICIENT_CI = 0.5


@dataclass(frozen=True)
class Analysis:
    """The month's results, as :func:`analyze` computed them (None: not computable, see
    ``problems``). While the blind gate is closed only ``problems`` is set.

    Attributes
    ----------
    problems : mapping
        Statistic → why it could not be computed (a sentence).
    warnings : tuple of str
        Sample-size warnings on the month's coefficients.
    variance : calib.stats.variance.VarianceResult
        Per-call variance and discussion tiers.
    call_order : tuple of str
        The report's one order of calls (calibration ids): :func:`call_order`.
    coefficients : mapping
        The month's ``"ICC(A,1)"``, ``"ICC(C,1)"`` and ``"alpha"``: value, ci_low, ci_high, n_calls.
    trend : pandas.DataFrame
        ``month, measure, value, ci_low, ci_high, n`` over the history window.
    verdicts : calib.verdicts.Verdicts
        Evaluators, the expert, consistency, trend and actions: what the headline says.
    bias : pandas.DataFrame
        The month against the expert and the consensus (``calib.stats.evaluator_bias``): the
        secondary view only.
    disagreement, question_agreement, distribution, recurring : pandas.DataFrame
        Per question and call, per question (AC1 with CI), the answers given, recurring criteria.
    gray_area : tuple of str
        The five least agreed question ids.
    tolerance, evaluator_tolerance : pandas.DataFrame
        Each answer against the others (:func:`calib.verdicts.questions.answer_tolerance`) and the
        counts per evaluator.
    critical : tuple of CriticalSplit
        Calls split on a critical or fatal question.
    questions : tuple of QuestionVerdict
        The questions to rewrite.
    g, d : GStudyResult, pandas.DataFrame
        G-study and D-study (with Φ's interval).
    evaluators_needed : int or None
    evaluators_needed_ci : tuple
        :func:`evaluators_needed_interval`.
    agenda : calib.agenda.Agenda
    """

    problems: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    variance: Any = None
    call_order: tuple[str, ...] = ()
    coefficients: Mapping[str, Any] = field(default_factory=dict)
    trend: pd.DataFrame | None = None
    verdicts: Any = None
    bias: pd.DataFrame | None = None
    disagreement: pd.DataFrame | None = None
    question_agreement: pd.DataFrame | None = None
    distribution: pd.DataFrame | None = None
    gray_area: tuple[str, ...] = ()
    recurring: pd.DataFrame | None = None
    tolerance: pd.DataFrame | None = None
    evaluator_tolerance: pd.DataFrame | None = None
    critical: tuple[Any, ...] = ()
    questions: tuple[Any, ...] = ()
    g: Any = None
    d: pd.DataFrame | None = None
    evaluators_needed: int | None = None
    evaluators_needed_ci: tuple[int | None, int | None] = (None, None)
    agenda: Any = None

    def __getstate__(self) -> dict:
        # a read-only mapping does not pickle; the report computes the analysis in a forked
        # copy of its kernel and sends it back pickled (calib.report.parallel)
        return {**self.__dict__, "problems": dict(self.problems)}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, problems=MappingProxyType(state["problems"]))


def _attempt(problems: dict, name: str, fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except (ValueError, ZeroDivisionError, KeyError, IndexError) as exc:
        problems[name] = " ".join(str(exc).split()) or type(exc).__name__
        return None


def _finished(scores: pd.DataFrame) -> pd.DataFrame:
    return scores[(scores["status"] == "FINISHED") & scores["total_score"].notna()]


def _coefficients(scores: pd.DataFrame, p: dict, problems: dict, key: str) -> dict:
    out: dict[str, Any] = {}
    icc = _attempt(problems, f"icc {key}", lambda: stats.icc(
        scores, confidence=p["confidence"], missing="drop_interactions"))
    if icc is not None:
        rows = icc.set_index("type")
        for label in ("ICC(A,1)", "ICC(C,1)"):
            if label in rows.index:
                r = rows.loc[label]
                out[label] = dict(value=r["icc"], ci_low=r["ci_low"], ci_high=r["ci_high"],
                                  n_calls=int(r["n_interactions"]),
                                  n_evaluators=int(r["n_evaluators"]))
    alpha = _attempt(problems, f"alpha {key}", lambda: stats.krippendorff_alpha(
        scores, n_boot=p["n_boot"], seed=p["seed"], confidence=p["confidence"]))
    if alpha is not None:
        out["alpha"] = dict(value=alpha.alpha, ci_low=alpha.ci_low, ci_high=alpha.ci_high,
                            n_calls=int(alpha.n_units), n_dropped_calls=int(alpha.n_dropped_units))
    return out


def analyze(data: Any) -> Analysis:
    """Compute the report month's statistics and the history trend.

    Parameters
    ----------
    data : MonthData
        From :func:`calib.report.load_month`.

    Returns
    -------
    Analysis
        With the gate closed only ``problems`` is set: no score-derived number exists.
    """

    p = {**ReportSettings().as_dict(), **data.params}
    problems: dict[str, str] = {}
    out: dict[str, Any] = {}
    if data.gate_closed:
        return Analysis(problems=MappingProxyType(problems))
    scores, answers = _finished(data.month_scores), data.month_answers
    out["variance"] = _attempt(problems, "variance", lambda: calibration_variance(
        data.month_scores, aligned_max=p["aligned_max"], discuss_max=p["discuss_max"]))
    out["call_order"] = tuple(call_order(out["variance"]))
    out["coefficients"] = _coefficients(scores, p, problems, data.month)
    trend = []
    for m in data.months:
        month_rows = _finished(data.scores[data.scores["month"] == m])
        if month_rows.empty:
            continue
        sub_problems: dict[str, str] = {}
        coef = _coefficients(month_rows, {**p, "n_boot": min(p["n_boot"], 300)}, sub_problems, m)
        for measure in ("ICC(A,1)", "alpha"):
            if measure in coef:
                c = coef[measure]
                trend.append(dict(month=m, measure=measure, value=c["value"],
                                  ci_low=c["ci_low"], ci_high=c["ci_high"], n=c["n_calls"]))
    out["trend"] = pd.DataFrame(trend, columns=["month", "measure", "value", "ci_low", "ci_high",
                                                "n"])
    # The verdicts: severity over the window against the leave-one-out consensus, the expert's
    # drift, consistency and its trend, the ranked actions. Headline and appendix read these.
    out["verdicts"] = _attempt(problems, "verdicts", lambda: build_verdicts(
        data.scores, month=data.month, bias_threshold=p["bias_threshold"],
        drift_threshold=p["drift_threshold"], confidence=p["confidence"], seed=p["seed"]))
    # The month's bias against the expert: a secondary view only, labelled as such.
    out["bias"] = _attempt(problems, "bias", lambda: stats.evaluator_bias(
        data.month_scores, threshold=p["bias_threshold"], confidence=p["confidence"]))
    if data.answers.empty and not data.month_scores.empty:
        # A scores-only spreadsheet: say once what needs per-question answers, then skip it.
        problems["questions"] = (
            "The data carry total scores only, no answer per question, so question agreement, "
            "the gray-area questions, recurring criteria and the discussion agenda are not "
            "computed. Import the answers file beside the scores to get them.")
    has_answers = not data.answers.empty

    def per_question(name: str, fn: Callable[[], Any]) -> Any:
        return _attempt(problems, name, fn) if has_answers else None

    out["disagreement"] = per_question("question disagreement",
                                       lambda: question_disagreement(answers))
    out["question_agreement"] = per_question("question agreement", lambda:
                                             stats.question_agreement(answers,
                                                                      confidence=p["confidence"]))
    out["distribution"] = per_question("answer distribution",
                                       lambda: stats.answer_distribution(answers))
    qa = out["question_agreement"]
    # ties broken by question id: the five must not depend on the order the answers came in
    # (the API-backed store and an imported file list them differently)
    out["gray_area"] = (() if qa is None or qa.empty else
                        tuple(qa.sort_values(["percent_agreement", "question_id"])
                              .query("percent_agreement < 1")["question_id"].head(5)))
    out["recurring"] = per_question("recurring criteria",
                                    lambda: stats.recurring_criteria(data.answers))
    out["tolerance"] = per_question("question tolerance", lambda: answer_tolerance(
        answers, tolerance=p["question_tolerance"]))
    if out["tolerance"] is not None:
        out["evaluator_tolerance"] = evaluator_tolerance(out["tolerance"])
    out["critical"] = per_question("critical questions", lambda: critical_splits(
        answers, data.form_questions)) or ()
    if has_answers and data.form_questions.empty:
        problems["critical questions"] = (
            "The store holds no form definition for these answers (imported files carry "
            "answers, not the form), so splits on critical or fatal questions are not checked.")
    out["questions"] = per_question("questions to rewrite", lambda: question_verdicts(
        answers, out["disagreement"], out["recurring"], form_questions=data.form_questions,
        answer_options=data.answer_options, notes=data.rubric_notes)) or ()
    out["g"] = _attempt(problems, "G-study", lambda: stats.g_study(scores))
    if out["g"] is not None:
        out["d"] = _attempt(problems, "D-study", lambda: stats.d_study(
            out["g"], range(1, 11), confidence=p["confidence"]))
        out["evaluators_needed"] = _attempt(problems, "D-study",
                                            lambda: stats.evaluators_needed(out["g"]))
        if out.get("d") is not None:
            out["evaluators_needed_ci"] = evaluators_needed_interval(out["d"])

    agents = {**dict(zip(data.users.get("user_id", []), data.users.get("name", []))),
              **data.agent_names}
    notes = data.rubric_notes if not data.rubric_notes.empty else None
    out["agenda"] = per_question("agenda", lambda: build_agenda(
        data.month_scores, answers, rubric_notes=notes, aligned_max=p["aligned_max"],
        discuss_max=p["discuss_max"], agent_names=agents, variance=out["variance"],
        title=f"{data.team} {data.month}: discussion agenda"))
    out["warnings"] = tuple(_warnings(out, p["confidence"]))
    return Analysis(problems=MappingProxyType(problems),
                    **{k: v for k, v in out.items() if v is not None})


def call_order(variance: Any) -> list[str]:
    """The report's one order of calls: full session, discuss, aligned; widest range first
    within a tier (the agenda's order), ties by id."""
    if variance is None or variance.table.empty:
        return []
    rank = {"full_session": 0, "discuss": 1, "aligned": 2}
    table = variance.table.assign(_tier=variance.table["tier"].map(rank).fillna(3))
    table = table.sort_values(["_tier", "range", "calibration_id"],
                              ascending=[True, False, True], kind="stable")
    return list(table["calibration_id"])


def evaluators_needed_interval(d: pd.DataFrame, target: float = 0.8) -> tuple[int | None,
                                                                             int | None]:
    """The D-study's panel size for ``target`` read off Φ's interval: the fewest evaluators
    whose upper limit reaches it, and the fewest whose lower limit does (None: more than the
    largest size studied)."""
    def first(column: str) -> int | None:
        hits = d.loc[d[column] >= target, "n_evaluators"]
        return int(hits.min()) if len(hits) else None
    return first("phi_high"), first("phi_low")


def _wide(c: dict | None) -> bool:
    if not c:
        return False
    low, high = c.get("ci_low"), c.get("ci_high")
    return low is None or high is None or any(map(_nan, (low, high))) or \
        high - low > WIDE_COEFFICIENT_CI


def _nan(x: Any) -> bool:
    try:
        return math.isnan(float(x))
    except (TypeError, ValueError):
        return True


def _warnings(out: dict, confidence: float) -> list[str]:
    """Coefficients of the month whose interval is too wide to act on. (Evaluators with too
    few shared calls are the verdicts' "not enough shared calls", not a warning.)"""
    warnings = []
    for name, c in out.get("coefficients", {}).items():
        if _wide(c):
            warnings.append(
                f"{name} of this month alone rests on {c.get('n_calls', 0)} call(s): its "
                f"{confidence:.0%} CI [{c.get('ci_low', float('nan')):.2f}, "
                f"{c.get('ci_high', float('nan')):.2f}] is too wide to act on; the consistency "
                f"verdict pools the history window for that reason.")
    return warnings

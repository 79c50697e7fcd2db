"""The AI calibrated like one more evaluator: everything the report's AI section and the
notebook show, as one frozen result (:func:`ai_calibration`).

Inputs are tidy frames — ``answers`` (every evaluator, the expert included), ``ai_answers`` and
``ai_runs`` (:mod:`calib.ai.tables`) — and the forms by id, as the store holds them
(:func:`ai_calibration_from_store`). The AI is never the reference: agreement and bias are
measured against the expert (who never keeps an AI answer they disagree with), and the panel's
agreement is shown with and without the AI as one more rater.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import pandas as pd

from calib.ai.agreement import (evaluator_anchoring, failure_rates, kept_versus_overrode,
                                paired_answers, question_agreement_with_ai)
from calib.ai.bias import ai_bias, ai_scores
from calib.ai.tables import ai_answers_frame, ai_runs_frame
from calib.ai.verdicts import QuestionVerdict, question_verdicts
from calib.stats._common import check_confidence

__all__ = ["AiBias", "AiCalibration", "ai_calibration", "ai_calibration_from_store", "ai_tables",
           "form_options", "TREND_COLUMNS", "BIAS_TREND_COLUMNS"]

TREND_COLUMNS = ("month", "question_id", "question_text", "n_calls",
                 "percent_agreement_expert", "ac1_expert", "ac1_expert_ci_low",
                 "ac1_expert_ci_high", "kept_rate")
BIAS_TREND_COLUMNS = ("month", "n_runs", "run_failure_rate", "n", "bias", "ci_low", "ci_high")


@dataclass(frozen=True)
class AiBias:
    """The AI's total-score bias against the expert, in points (see :mod:`calib.ai.bias`).

    ``n`` calls; ``bias`` the mean of (AI's evaluation − expert's), ``sd`` and the t interval
    ``ci_low``–``ci_high`` (NaN below two calls).
    """

    n: int
    bias: float
    sd: float
    ci_low: float
    ci_high: float
    confidence: float

    def sentence(self) -> str:
        """The bias in plain words, the interval after."""
        if self.n == 0 or math.isnan(self.bias):
            return "No call has both an expert evaluation and the AI's answers yet."
        way = "higher" if self.bias > 0 else "lower"
        interval = ("" if math.isnan(self.ci_low) else
                    f" ({100 * self.confidence:.0f}% CI {self.ci_low:+.1f} to "
                    f"{self.ci_high:+.1f})")
        clear = ("" if math.isnan(self.ci_low) else
                 " — more than chance" if self.ci_low > 0 or self.ci_high < 0 else
                 " — within chance")
        return (f"Had every AI suggestion been kept, calls would score {abs(self.bias):.1f} "
                f"points {way} than the expert scored them, over {self.n} calls{clear}"
                f"{interval}.")


@dataclass(frozen=True)
class AiCalibration:
    """Everything known about the AI as an evaluator, for one team and period.

    Attributes
    ----------
    verdicts : tuple of QuestionVerdict
        Per AI-scored question, in form order: keep on, review or turn off, with the evidence.
    questions : pandas.DataFrame
        :data:`calib.ai.agreement.QUESTION_COLUMNS`.
    anchoring : pandas.DataFrame
        :data:`calib.ai.agreement.ANCHORING_COLUMNS` (kept versus overrode per question).
    evaluators : pandas.DataFrame
        :data:`calib.ai.agreement.EVALUATOR_COLUMNS` (who keeps the AI's answers).
    bias : AiBias
    failures : pandas.DataFrame
        :data:`calib.ai.agreement.FAILURE_COLUMNS`.
    trend : pandas.DataFrame
        :data:`TREND_COLUMNS`, per month and question.
    bias_trend : pandas.DataFrame
        :data:`BIAS_TREND_COLUMNS`, per month.
    n_runs, n_failed_runs : int
        Evaluations AI scoring ran for, and those whose whole run failed.
    """

    verdicts: tuple[QuestionVerdict, ...]
    questions: pd.DataFrame
    anchoring: pd.DataFrame
    evaluators: pd.DataFrame
    bias: AiBias
    failures: pd.DataFrame
    trend: pd.DataFrame
    bias_trend: pd.DataFrame
    n_runs: int
    n_failed_runs: int


def form_options(forms: Mapping[str, Mapping]) -> tuple[dict[str, list], dict[tuple, float]]:
    """Each question's answer ids, and each (question, answer) option's points."""
    options: dict[str, list] = {}
    points: dict[tuple, float] = {}
    for form in forms.values():
        for group in form.get("questionGroups") or ():
            for q in group.get("questions") or ():
                for o in q.get("answerOptions") or ():
                    if o["id"] not in options.setdefault(q["id"], []):
                        options[q["id"]].append(o["id"])
                    if o.get("value") is not None:
                        points[(q["id"], o["id"])] = float(o["value"])
    return options, points


def _order(frame: pd.DataFrame, answers: pd.DataFrame) -> pd.DataFrame:
    """Rows in the order the questions first appear in ``answers`` (form order)."""
    rank = {q: i for i, q in enumerate(dict.fromkeys(answers["question_id"]))}
    return frame.assign(_r=frame["question_id"].map(rank)).sort_values(
        ["_r", "question_id"], kind="stable").drop(columns="_r").reset_index(drop=True)


def ai_calibration(answers: pd.DataFrame, ai_answers: pd.DataFrame, ai_runs: pd.DataFrame,
                   forms: Mapping[str, Mapping], *, confidence: float = 0.95
                   ) -> AiCalibration | None:
    """The AI calibrated against the expert and the panel.

    Parameters
    ----------
    answers : pandas.DataFrame
        ``calib.tables`` answers of every evaluator, the expert's included (role "expert").
    ai_answers, ai_runs : pandas.DataFrame
        :mod:`calib.ai.tables` frames of the same calibrations.
    forms : mapping
        Form version id → form JSON (``questionGroups``), to re-score and to know each
        question's full answer set.
    confidence : float
        Level of every interval.

    Returns
    -------
    AiCalibration or None
        None when no evaluation carries an AI answer (the form has no AI-enabled question, or
        AI scoring never ran): there is nothing to calibrate.
    """
    confidence = check_confidence(confidence)
    ai_answers, ai_runs = ai_answers_frame(ai_answers), ai_runs_frame(ai_runs)
    if ai_answers.empty:
        return None
    options, points = form_options(forms)
    pairs = paired_answers(answers, ai_answers)
    if pairs.empty:
        return None
    questions = _order(question_agreement_with_ai(pairs, options=options, points=points,
                                                  confidence=confidence), answers)
    anchoring = _order(kept_versus_overrode(pairs), answers)
    scored = ai_scores(pairs, answers, forms)
    overall = AiBias(**ai_bias(scored, confidence=confidence), confidence=confidence)
    trend, bias_rows = [], []
    for month, sub in pairs.groupby("month", sort=True):
        q = question_agreement_with_ai(sub, options=options, points=points,
                                       confidence=confidence)
        kept = kept_versus_overrode(sub).set_index("question_id")["kept_rate"]
        trend.append(q.assign(month=month, kept_rate=q["question_id"].map(kept)))
        runs = ai_runs[ai_runs["month"] == month]
        b = ai_bias(scored[scored["month"] == month], confidence=confidence)
        bias_rows.append({"month": month, "n_runs": len(runs),
                          "run_failure_rate": (runs["ai_failure_type"].notna().mean()
                                               if len(runs) else math.nan), **b})
    trend_frame = (pd.concat(trend, ignore_index=True)[list(TREND_COLUMNS)] if trend
                   else pd.DataFrame(columns=list(TREND_COLUMNS)))
    return AiCalibration(
        verdicts=question_verdicts(questions), questions=questions, anchoring=anchoring,
        evaluators=evaluator_anchoring(pairs), bias=overall,
        failures=failure_rates(ai_runs, ai_answers), trend=trend_frame,
        bias_trend=pd.DataFrame(bias_rows, columns=list(BIAS_TREND_COLUMNS)),
        n_runs=len(ai_runs), n_failed_runs=int(ai_runs["ai_failure_type"].notna().sum()))


def ai_calibration_from_store(store: Any, team: str, months: str | Iterable[str], *,
                              confidence: float = 0.95) -> AiCalibration | None:
    """:func:`ai_calibration` on a store's open calibrations of ``team`` in ``months``."""
    return ai_calibration(*ai_tables(store, team, months), confidence=confidence)


def ai_tables(store: Any, team: str, months: str | Iterable[str]) -> tuple:
    """What :func:`ai_calibration` takes, read from a store: the answers, the AI's answers, its
    runs and the form bodies."""
    return (store.answers(team, months), store.ai_answers(team, months),
            store.ai_runs(team, months), store.form_bodies())

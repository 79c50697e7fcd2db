"""The report's numbers: one call per statistic from ``calib.stats``.

Each statistic is computed on its own; when one cannot be computed (one calibration, no expert,
no history) the reason is recorded in ``analysis["problems"]`` and the report says so instead of
failing. Nothing here is a new statistic: it only chooses the inputs and collects the results.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import pandas as pd

from calib import stats
from calib.agenda import build_agenda
from calib.stats.variance import calibration_variance, question_disagreement

#: A CI wider than this (on a 0–1 coefficient) is too wide to act on.
WIDE_COEFFICIENT_CI = 0.5
#: A bias CI wider than this many points is too wide to act on.
WIDE_BIAS_CI = 10.0


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


def analyze(data: Any) -> dict[str, Any]:
    """Compute the report month's statistics and the history trend.

    Parameters
    ----------
    data : MonthData
        From :func:`calib.report.load_month`.

    Returns
    -------
    dict
        Keys: ``variance`` (VarianceResult), ``coefficients`` (ICC(A,1), ICC(C,1), alpha of the
        month), ``trend`` (DataFrame month, measure, value, ci_low, ci_high, n), ``bias``,
        ``disagreement``, ``question_agreement``, ``distribution``, ``gray_area`` (question ids),
        ``drift`` (DriftResult), ``recurring``, ``g``, ``d``, ``evaluators_needed``, ``agenda``,
        ``problems`` (statistic → why it is missing), ``warnings`` (sample-size warnings).
        With the gate closed only ``problems`` and ``warnings`` are set.
    """

    p = {"confidence": 0.95, "n_boot": 1000, "seed": 0, "aligned_max": 5, "discuss_max": 15,
         "bias_threshold": 3.0, "drift_threshold": 10.0, **data.params}
    problems: dict[str, str] = {}
    out: dict[str, Any] = {"problems": problems, "warnings": []}
    if data.gate_closed:
        return out
    scores, answers = _finished(data.month_scores), data.month_answers
    out["variance"] = _attempt(problems, "variance", lambda: calibration_variance(
        data.month_scores, aligned_max=p["aligned_max"], discuss_max=p["discuss_max"]))
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
    out["gray_area"] = ([] if qa is None or qa.empty else
                        list(qa.sort_values(["percent_agreement", "question_id"])
                             .query("percent_agreement < 1")["question_id"].head(5)))
    out["drift"] = _attempt(problems, "calibrator drift", lambda: stats.calibrator_drift(
        data.scores, threshold=p["drift_threshold"], confidence=p["confidence"]))
    out["recurring"] = per_question("recurring criteria",
                                    lambda: stats.recurring_criteria(data.answers))
    out["g"] = _attempt(problems, "G-study", lambda: stats.g_study(scores))
    if out["g"] is not None:
        out["d"] = _attempt(problems, "D-study", lambda: stats.d_study(out["g"]))
        out["evaluators_needed"] = _attempt(problems, "D-study",
                                            lambda: stats.evaluators_needed(out["g"]))

    agents = {**dict(zip(data.users.get("user_id", []), data.users.get("name", []))),
              **data.agent_names}
    notes = data.rubric_notes if not data.rubric_notes.empty else None
    out["agenda"] = per_question("agenda", lambda: build_agenda(
        data.month_scores, answers, rubric_notes=notes, aligned_max=p["aligned_max"],
        discuss_max=p["discuss_max"], agent_names=agents, variance=out["variance"],
        title=f"{data.team} {data.month}: discussion agenda"))
    out["warnings"] = _warnings(out)
    return out


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


def _warnings(out: dict) -> list[str]:
    warnings = []
    for name, c in out.get("coefficients", {}).items():
        if _wide(c):
            warnings.append(
                f"{name} rests on {c.get('n_calls', 0)} call(s): its {95}% CI "
                f"[{c.get('ci_low', float('nan')):.2f}, {c.get('ci_high', float('nan')):.2f}] is "
                f"too wide to act on. Pool several months before judging reliability.")
    bias = out.get("bias")
    if bias is not None and not bias.empty:
        wide = bias[(bias["ci_high"] - bias["ci_low"] > WIDE_BIAS_CI) | bias["ci_low"].isna()]
        if len(wide):
            names = ", ".join(sorted(set(map(str, wide["evaluator_name"]))))
            warnings.append(f"The bias CIs of {names} are wider than {WIDE_BIAS_CI:g} points: "
                            f"too few shared calls to judge these evaluators this month.")
    return warnings


def drift_suggestion(data: Any) -> str:
    """The drift result's suggestion with calibrators named, not identified by id."""
    drift = data.analysis.get("drift")
    if drift is None or not drift.suggestion:
        return ""
    suggestion = str(drift.suggestion)
    for calibrator_id in drift.table["calibrator_id"].dropna().unique():
        suggestion = suggestion.replace(str(calibrator_id), data.name_of(calibrator_id))
    return suggestion


def headline_sentence(data: Any) -> str:
    """One sentence a QM lead can act on, chosen from the month's results."""
    a = data.analysis
    if data.gate_closed:
        return ("Scores stay hidden until every evaluator has finished; chase the open "
                "evaluations listed below.")
    coef = a.get("coefficients", {})
    icc_a, icc_c = coef.get("ICC(A,1)"), coef.get("ICC(C,1)")
    bias = a.get("bias")
    drift = a.get("drift")
    flagged = [] if bias is None or bias.empty else sorted(set(
        bias.loc[bias["flagged"].astype(bool) & (bias["reference"] == "expert"),
                 "evaluator_name"].astype(str)))
    if drift is not None and drift.flagged:
        return ("The calibrator's own scores have drifted from the panel beyond the "
                f"{data.params.get('drift_threshold', 10.0):g}-point band: "
                f"{drift_suggestion(data)}")
    if flagged:
        return (f"Review scoring with {', '.join(flagged)} first: their bias against the expert "
                f"exceeds {data.params.get('bias_threshold', 3.0):g} points and its CI excludes 0.")
    if icc_a is None:
        return "Too few finished calibrations this month to estimate reliability; pool months."
    if icc_c and not _nan(icc_c["value"]) and icc_c["value"] - icc_a["value"] > 0.15:
        return ("Evaluators rank calls alike but differ in level: calibrate severity with the "
                "bias table before rewriting the form.")
    gray = a.get("gray_area") or []
    if icc_a["value"] >= 0.75 and not _wide(icc_a):
        return "Reliability is good; keep the monthly cadence and confirm the gray-area criteria."
    target = f" starting with the {len(gray)} gray-area question(s)" if gray else ""
    return (f"Scores disagree beyond severity alone: clarify the rubric{target} in this "
            f"month's session.")

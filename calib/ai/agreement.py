"""The AI's answers set beside the evaluators': per AI-enabled question, agreement with the
expert and the panel, kept versus overrode, and failures (used by :mod:`calib.ai.analysis`).

Categories follow ``docs/architecture.md``: an answer's ``answer_id``, or ``"N/A"`` when marked
not applicable (so misreading applicability is a disagreement); a question the AI failed on
(``ai_failure_type``) is no rating. Agreement uses Gwet's AC1 from :mod:`calib.stats` with the
question's full answer set plus N/A as categories.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd
from scipy import stats as _st

from calib.stats.categorical import answer_categories, gwet_ac
from calib.tables import NA_CATEGORY

__all__ = ["AI_RATER", "ai_category", "paired_answers", "question_agreement_with_ai",
           "kept_versus_overrode", "evaluator_anchoring", "failure_rates", "QUESTION_COLUMNS",
           "ANCHORING_COLUMNS", "EVALUATOR_COLUMNS", "FAILURE_COLUMNS"]

#: The AI's evaluator id in the frames this module builds (never a Genesys user id).
AI_RATER = "AI"

QUESTION_COLUMNS = (
    "question_id", "question_text", "n_calls", "percent_agreement_expert", "ac1_expert",
    "ac1_expert_ci_low", "ac1_expert_ci_high", "ac1_expert_note", "n_ai_higher", "n_ai_lower",
    "lean_p_value", "n_na_disputed", "ac1_panel", "ac1_panel_with_ai", "ac1_panel_with_ai_ci_low",
    "ac1_panel_with_ai_ci_high")
ANCHORING_COLUMNS = ("question_id", "n_prefilled", "n_kept", "kept_rate", "n_kept_right",
                     "n_kept_wrong", "n_overrode", "n_overrode_to_expert",
                     "n_overrode_away_from_expert")
EVALUATOR_COLUMNS = ("evaluator_id", "n_prefilled", "kept_rate", "n_ai_wrong",
                     "kept_rate_when_ai_wrong")
FAILURE_COLUMNS = ("level", "question_id", "failure_type", "n", "n_total", "rate")


def ai_category(ai_answers: pd.DataFrame) -> pd.Series:
    """The AI's category per row: ``"N/A"``, its ``ai_answer_id``, or None where it failed."""
    na = ai_answers["ai_marked_na"].fillna(False).astype(bool)
    failed = ai_answers["ai_failure_type"].notna()
    cat = ai_answers["ai_answer_id"].astype(object).where(ai_answers["ai_answer_id"].notna(),
                                                          None)
    cat = cat.where(~na, NA_CATEGORY)
    return cat.where(~failed, None)


def paired_answers(answers: pd.DataFrame, ai_answers: pd.DataFrame) -> pd.DataFrame:
    """Each submitted answer on an AI-scored question beside the AI's answer on the same
    evaluation: the ``answers`` columns plus ``category``, ``ai_category`` and
    ``ai_failure_type`` (an inner join on ``evaluation_id`` and ``question_id``)."""
    human = answers.assign(category=answer_categories(answers))
    ai = ai_answers[["evaluation_id", "question_id", "ai_failure_type"]].assign(
        ai_category=ai_category(ai_answers))
    return human.merge(ai, on=["evaluation_id", "question_id"], how="inner")


def _per_call_ai(pairs: pd.DataFrame) -> pd.Series:
    """The AI's category per (calibration, question): the expert's evaluation's, else the
    first evaluation's with an answer (Genesys copies one reading to every evaluation)."""
    ordered = pairs.assign(_r=(pairs["role"] != "expert").astype(int)).sort_values(
        ["calibration_id", "question_id", "_r", "evaluation_id"], kind="stable")
    return ordered.dropna(subset=["ai_category"]).groupby(
        ["calibration_id", "question_id"])["ai_category"].first()


def _ac1(rows: pd.DataFrame, categories: list, confidence: float):
    try:
        return gwet_ac(rows, categories=categories, confidence=confidence)
    except ValueError:  # no call with two ratings, or one category only
        return None


def _categories(question_id: str, observed: pd.Series, options: Mapping[str, list]) -> list:
    known = list(options.get(question_id, ()))
    return known + [c for c in dict.fromkeys(observed.dropna()) if c not in known] \
        + ([NA_CATEGORY] if NA_CATEGORY not in known else [])


def question_agreement_with_ai(pairs: pd.DataFrame, *, options: Mapping[str, list],
                               points: Mapping[tuple[str, str], float],
                               confidence: float = 0.95) -> pd.DataFrame:
    """Per AI-scored question: the AI against the expert (AC1 with CI, percent agreement, which
    way scored disagreements lean, N/A disputes) and against the panel (the panel's AC1 alone
    and with the AI as one more evaluator). Columns :data:`QUESTION_COLUMNS`.

    ``options`` maps a question id to its answer ids (the full answer set); ``points`` maps
    (question id, answer id) to the option's points, to tell which way a disagreement leans.
    The lean's p value is the exact two-sided sign test on the scored disagreements.
    """
    ai_call = _per_call_ai(pairs).rename("ai_category").reset_index()
    # split once: filtering the whole table again for every question cost more than the AC1s
    ai_by_question = dict(tuple(ai_call.groupby("question_id", sort=False)))
    no_ai = ai_call.iloc[:0]
    rows = []
    for qid, sub in pairs.groupby("question_id", sort=False):
        text = sub["question_text"].dropna().iloc[0] if sub["question_text"].notna().any() \
            else None
        ai_q = ai_by_question.get(qid, no_ai)
        # plain arrays from here on: a pandas filter per rater group cost more than the AC1s
        call = sub["calibration_id"].to_numpy(object)
        who = sub["evaluator_id"].to_numpy(object)
        given = sub["category"].to_numpy(object)
        is_expert = (sub["role"] == "expert").to_numpy(bool)
        answered = pd.notna(given)
        ai_calls = ai_q["calibration_id"].to_numpy(object)
        ai_given = ai_q["ai_category"].to_numpy(object)
        cats = _categories(qid, pd.Series(np.concatenate([given, ai_given]), dtype=object),
                           options)
        # the expert's answer beside the AI's on each call both answered, in the expert rows'
        # order (what an inner merge on the call gives; the AI has one answer per call)
        ai_of_call = dict(zip(ai_calls, ai_given))
        expert = is_expert & answered
        on_ai_call = pd.Series(call[expert], dtype=object).isin(list(ai_of_call)).to_numpy(bool)
        duo_call = call[expert][on_ai_call]
        duo_expert = given[expert][on_ai_call]
        duo_ai = np.array([ai_of_call[c] for c in duo_call], dtype=object)
        long = pd.DataFrame({
            "calibration_id": np.concatenate([duo_call, duo_call]),
            "evaluator_id": np.array(["expert"] * len(duo_call) + [AI_RATER] * len(duo_call),
                                     dtype=object),
            "category": np.concatenate([duo_expert, duo_ai])})
        vs_expert = _ac1(long, cats, confidence)
        pa = float((duo_expert == duo_ai).mean()) if len(duo_call) else np.nan
        scored = (duo_expert != NA_CATEGORY) & (duo_ai != NA_CATEGORY)
        ai_pts = np.array([points.get((qid, a), np.nan) for a in duo_ai[scored]])
        ex_pts = np.array([points.get((qid, a), np.nan) for a in duo_expert[scored]])
        higher, lower = int((ai_pts > ex_pts).sum()), int((ai_pts < ex_pts).sum())
        lean_p = (float(_st.binomtest(higher, higher + lower).pvalue) if higher + lower
                  else 1.0)
        disputed = int(((duo_expert == NA_CATEGORY) != (duo_ai == NA_CATEGORY)).sum())
        # the panel alone, and with the AI as one more evaluator on the panel's calls
        in_panel = ~is_expert & answered
        panel = pd.DataFrame({"calibration_id": call[in_panel], "evaluator_id": who[in_panel],
                              "category": given[in_panel]})
        ai_on_panel = pd.Series(ai_calls, dtype=object).isin(panel["calibration_id"]).to_numpy(
            bool)
        with_ai = pd.DataFrame({
            "calibration_id": np.concatenate([call[in_panel], ai_calls[ai_on_panel]]),
            "evaluator_id": np.concatenate([who[in_panel], np.array(
                [AI_RATER] * int(ai_on_panel.sum()), dtype=object)]),
            "category": np.concatenate([given[in_panel], ai_given[ai_on_panel]])})
        alone, joined = _ac1(panel, cats, confidence), _ac1(with_ai, cats, confidence)
        rows.append({
            "question_id": qid, "question_text": text, "n_calls": len(duo_call),
            "percent_agreement_expert": pa,
            "ac1_expert": vs_expert.estimate if vs_expert else np.nan,
            "ac1_expert_ci_low": vs_expert.ci_low if vs_expert else np.nan,
            "ac1_expert_ci_high": vs_expert.ci_high if vs_expert else np.nan,
            "ac1_expert_note": vs_expert.note if vs_expert else "too few calls",
            "n_ai_higher": higher, "n_ai_lower": lower, "lean_p_value": lean_p,
            "n_na_disputed": disputed,
            "ac1_panel": alone.estimate if alone else np.nan,
            "ac1_panel_with_ai": joined.estimate if joined else np.nan,
            "ac1_panel_with_ai_ci_low": joined.ci_low if joined else np.nan,
            "ac1_panel_with_ai_ci_high": joined.ci_high if joined else np.nan})
    return pd.DataFrame(rows, columns=list(QUESTION_COLUMNS))


def _panel_prefilled(pairs: pd.DataFrame) -> pd.DataFrame:
    """Panel answers the AI prefilled, with the expert's category on the same call."""
    expert = pairs[pairs["role"] == "expert"].set_index(["calibration_id", "question_id"])[
        "category"].rename("expert_category")
    panel = pairs[(pairs["role"] != "expert") & pairs["ai_category"].notna()
                  & pairs["category"].notna()]
    panel = panel.join(expert, on=["calibration_id", "question_id"])
    return panel.assign(kept=panel["category"] == panel["ai_category"])


def kept_versus_overrode(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per question: how often the panel kept the AI's prefilled answer, and whether what they
    kept or chose instead is the expert's answer (columns :data:`ANCHORING_COLUMNS`).

    ``n_kept_wrong`` counts kept answers the expert did not give: where keeping the AI moved
    an evaluator away from the expert (when their own reading differed) or let them agree
    with it on a misreading. Calls without an expert answer count in ``n_prefilled`` and
    ``n_kept`` only.
    """
    panel = _panel_prefilled(pairs).reset_index(drop=True)  # labels are positions now
    kept_all = panel["kept"].to_numpy(bool)
    has_expert = panel["expert_category"].notna().to_numpy(bool)
    right = (panel["category"] == panel["expert_category"]).to_numpy(bool)
    rows = []
    for qid, idx in panel.groupby("question_id", sort=False).groups.items():
        at = np.asarray(idx)
        kept, he, ok = kept_all[at], has_expert[at], right[at]
        rows.append({"question_id": qid, "n_prefilled": len(idx), "n_kept": int(kept.sum()),
                     "kept_rate": float(kept.mean()) if len(idx) else np.nan,
                     "n_kept_right": int((kept & he & ok).sum()),
                     "n_kept_wrong": int((kept & he & ~ok).sum()),
                     "n_overrode": int((~kept).sum()),
                     "n_overrode_to_expert": int((~kept & he & ok).sum()),
                     "n_overrode_away_from_expert": int((~kept & he & ~ok).sum())})
    return pd.DataFrame(rows, columns=list(ANCHORING_COLUMNS))


def evaluator_anchoring(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per panel evaluator: how often they kept the AI's answer, overall and where the AI's
    answer was not the expert's (an evaluator reading for themselves rarely keeps those).
    Columns :data:`EVALUATOR_COLUMNS`, highest ``kept_rate_when_ai_wrong`` first."""
    panel = _panel_prefilled(pairs)
    wrong = panel["expert_category"].notna() & (panel["ai_category"] != panel["expert_category"])
    out = pd.DataFrame({
        "evaluator_id": panel["evaluator_id"], "kept": panel["kept"].astype(float),
        "wrong": wrong, "kept_wrong": (panel["kept"] & wrong).astype(float)})
    grouped = out.groupby("evaluator_id")
    table = pd.DataFrame({"n_prefilled": grouped.size(), "kept_rate": grouped["kept"].mean(),
                          "n_ai_wrong": grouped["wrong"].sum().astype(int)})
    table["kept_rate_when_ai_wrong"] = (grouped["kept_wrong"].sum()
                                       / table["n_ai_wrong"].replace(0, np.nan))
    table = table.reset_index().sort_values(["kept_rate_when_ai_wrong", "evaluator_id"],
                                            ascending=[False, True], na_position="last")
    return table[list(EVALUATOR_COLUMNS)].reset_index(drop=True)


def failure_rates(ai_runs: pd.DataFrame, ai_answers: pd.DataFrame) -> pd.DataFrame:
    """How often the AI failed, by type: whole runs (``level`` "evaluation", over every run)
    and single questions (``level`` "question", per call: Genesys reads a call once and copies
    the reading to every evaluation of it, so a question counts once per calibration, over the
    calls whose run did not fail). Columns :data:`FAILURE_COLUMNS`; types that never occurred
    are not listed."""
    rows = []
    n_runs = len(ai_runs)
    for ftype, n in ai_runs["ai_failure_type"].dropna().value_counts().sort_index().items():
        rows.append({"level": "evaluation", "question_id": None, "failure_type": ftype,
                     "n": int(n), "n_total": n_runs, "rate": n / n_runs})
    per_call = ai_answers.drop_duplicates(["calibration_id", "question_id"])
    for qid, sub in per_call.groupby("question_id", sort=False):
        for ftype, n in sub["ai_failure_type"].dropna().value_counts().sort_index().items():
            rows.append({"level": "question", "question_id": qid, "failure_type": ftype,
                         "n": int(n), "n_total": len(sub), "rate": n / len(sub)})
    return pd.DataFrame(rows, columns=list(FAILURE_COLUMNS))



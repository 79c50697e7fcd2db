"""calib.ai on hand-made calls whose every number can be checked by hand, and against an
established implementation (irrCAC) on random data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from irrCAC import raw

from calib.ai.agreement import (evaluator_anchoring, kept_versus_overrode, paired_answers,
                                question_agreement_with_ai)
from calib.ai.analysis import ai_calibration, form_options
from calib.ai.bias import ai_scores
from calib.ai.verdicts import question_verdicts
from calib.scoring import score_evaluation
from calib.tables import answers_frame


def yes_no(qid, text, *, na=False, kill=False):
    return {"id": qid, "text": text, "type": "multipleChoiceQuestion", "naEnabled": na,
            "isKill": kill, "isCritical": kill,
            "answerOptions": [{"id": f"{qid}-yes", "text": "Yes", "value": 1},
                              {"id": f"{qid}-no", "text": "No", "value": 0}]}


FORM = {"id": "form-1", "weightMode": "SCALED", "questionGroups": [
    {"id": "g1", "weight": 60, "naEnabled": True, "questions": [
        yes_no("q1", "Greets"), yes_no("q2", "Uses hold well", na=True)]},
    {"id": "g2", "weight": 40, "questions": [yes_no("q3", "Discloses", kill=True)]}]}
FORMS = {"form-1": FORM}


def answer_rows(call, month, evaluator, role, given):
    """``given`` maps question id to "yes", "no" or "na"."""
    return [{"team": "t", "month": month, "calibration_id": call, "evaluation_id":
             f"{call}-{evaluator}", "evaluator_id": evaluator, "role": role,
             "form_id": "form-1", "question_id": q, "question_text": q.upper(),
             "answer_id": None if a == "na" else f"{q}-{a}", "marked_na": a == "na"}
            for q, a in given.items()]


def ai_rows(call, month, evaluators, given, failed=()):
    return [{"team": "t", "month": month, "calibration_id": call, "evaluation_id":
             f"{call}-{e}", "evaluator_id": e, "role": "expert" if e == "x" else "evaluator",
             "form_id": "form-1", "question_id": q,
             "ai_answer_id": None if a == "na" or q in failed else f"{q}-{a}",
             "ai_marked_na": a == "na" and q not in failed,
             "ai_failure_type": "LowConfidenceError" if q in failed else None}
            for e in evaluators for q, a in given.items()]


def small_case():
    """Two calls; expert x, panel a (keeps everything) and b (reads for themselves)."""
    answers, ai = [], []
    # call 1: AI says q1 yes (expert no), q2 N/A (expert yes)
    answers += answer_rows("c1", "2026-09", "x", "expert", {"q1": "no", "q2": "yes", "q3": "yes"})
    answers += answer_rows("c1", "2026-09", "a", "evaluator", {"q1": "yes", "q2": "na",
                                                               "q3": "yes"})
    answers += answer_rows("c1", "2026-09", "b", "evaluator", {"q1": "no", "q2": "yes",
                                                               "q3": "yes"})
    ai += ai_rows("c1", "2026-09", "xab", {"q1": "yes", "q2": "na"})
    # call 2: AI agrees with the expert on q1, fails on q2
    answers += answer_rows("c2", "2026-10", "x", "expert", {"q1": "yes", "q2": "no", "q3": "no"})
    answers += answer_rows("c2", "2026-10", "a", "evaluator", {"q1": "yes", "q2": "no",
                                                               "q3": "no"})
    answers += answer_rows("c2", "2026-10", "b", "evaluator", {"q1": "no", "q2": "no",
                                                               "q3": "no"})
    ai += ai_rows("c2", "2026-10", "xab", {"q1": "yes", "q2": "yes"}, failed=("q2",))
    return answers_frame(answers), pd.DataFrame(ai)


def test_kept_versus_overrode_counts_by_hand():
    answers, ai = small_case()
    pairs = paired_answers(answers, ai)
    kept = kept_versus_overrode(pairs).set_index("question_id")
    # q1: a kept twice (c1 wrong: expert no; c2 right), b overrode twice (c1 to the expert's
    # answer, c2 away from it)
    assert kept.loc["q1"].to_dict() == {
        "n_prefilled": 4, "n_kept": 2, "kept_rate": 0.5, "n_kept_right": 1, "n_kept_wrong": 1,
        "n_overrode": 2, "n_overrode_to_expert": 1, "n_overrode_away_from_expert": 1}
    # q2: prefilled on c1 only (failed on c2): a kept the N/A (wrong), b overrode to the expert
    assert kept.loc["q2", ["n_prefilled", "n_kept_wrong", "n_overrode_to_expert"]].tolist() \
        == [2, 1, 1]
    who = evaluator_anchoring(pairs).set_index("evaluator_id")
    assert who.loc["a", "kept_rate"] == 1.0 and who.loc["a", "kept_rate_when_ai_wrong"] == 1.0
    assert who.loc["b", "kept_rate"] == 0.0 and who.loc["b", "n_prefilled"] == 3
    assert who.loc["b", "kept_rate_when_ai_wrong"] == 0.0
    assert list(who.index) == ["a", "b"], "the evaluator who keeps wrong answers comes first"


def test_the_ai_evaluation_is_the_experts_with_the_ais_answers_scored_by_calib_scoring():
    answers, ai = small_case()
    scored = ai_scores(paired_answers(answers, ai), answers, FORMS).set_index(
        ["calibration_id", "evaluator_id"])["total_score"]
    # c1: AI q1 yes and q2 N/A, the expert's q3 yes: group 1 scores 1 of 1 (q2 N/A drops out)
    assert scored[("c1", "AI")] == score_evaluation(FORM, {"q1": "q1-yes", "q2": "N/A",
                                                           "q3": "q3-yes"}).total_score == 100
    # the expert: (1 of 2 points x 60 + 1 of 1 x 40) / (2 x 60 + 1 x 40)
    assert scored[("c1", "expert")] == pytest.approx(100 / 160 * 100)
    # c2: the expert failed the fatal question: both totals are 0 whatever the AI read
    assert scored[("c2", "AI")] == scored[("c2", "expert")] == 0


def test_na_on_a_question_without_na_is_not_applied():
    answers, ai = small_case()
    ai.loc[(ai["calibration_id"] == "c1") & (ai["question_id"] == "q1"),
           ["ai_answer_id", "ai_marked_na"]] = [None, True]
    scored = ai_scores(paired_answers(answers, ai), answers, FORMS).set_index(
        ["calibration_id", "evaluator_id"])["total_score"]
    assert scored[("c1", "AI")] == score_evaluation(FORM, {"q1": "q1-no", "q2": "N/A",
                                                           "q3": "q3-yes"}).total_score


def test_a_form_without_ai_answers_has_nothing_to_calibrate():
    answers, ai = small_case()
    assert ai_calibration(answers, ai.iloc[0:0], pd.DataFrame(), FORMS) is None


def test_the_whole_calibration_on_the_small_case():
    answers, ai = small_case()
    runs = ai.drop_duplicates("evaluation_id").assign(ai_failure_type=None)
    result = ai_calibration(answers, ai, runs, FORMS)
    assert [v.question_id for v in result.verdicts] == ["q1", "q2"]
    assert all(v.verdict != "keep on" for v in result.verdicts), "two calls prove nothing"
    assert result.bias.n == 2 and result.bias.bias == pytest.approx((100 - 62.5 + 0) / 2)
    assert set(result.trend["month"]) == {"2026-09", "2026-10"}
    failures = result.failures
    assert failures[["level", "question_id", "failure_type", "n", "n_total"]].values.tolist() \
        == [["question", "q2", "LowConfidenceError", 1, 2]], "once per call, not evaluation"
    assert "18.8 points higher" in result.bias.sentence()


def verdict_row(**kw):
    row = {"question_id": "q", "question_text": "Q", "n_calls": 40,
           "percent_agreement_expert": 0.9, "ac1_expert": 0.9, "ac1_expert_ci_low": 0.85,
           "ac1_expert_ci_high": 0.95, "ac1_expert_note": "", "n_ai_higher": 1,
           "n_ai_lower": 1, "lean_p_value": 1.0, "n_na_disputed": 0}
    return {**row, **kw}


@pytest.mark.parametrize("change, verdict, words", [
    ({}, "keep on", "no lean and no N/A dispute"),
    ({"ac1_expert_ci_low": 0.7}, "review", "not yet clearly good enough"),
    ({"ac1_expert": 0.5, "ac1_expert_ci_low": 0.3, "ac1_expert_ci_high": 0.7}, "turn off",
     "clearly worse"),
    ({"n_ai_higher": 8, "n_ai_lower": 0, "lean_p_value": 0.008}, "review", "more leniently"),
    ({"n_ai_higher": 0, "n_ai_lower": 8, "lean_p_value": 0.008}, "review", "more strictly"),
    ({"n_na_disputed": 5}, "review", "disputes whether the question applies"),
    ({"n_na_disputed": 3, "n_calls": 40}, "keep on", "no lean"),  # 3 of 40 is not 10 %
])
def test_verdict_rules(change, verdict, words):
    (v,) = question_verdicts(pd.DataFrame([verdict_row(**change)]))
    assert v.verdict == verdict and words in " ".join(v.reasons)


@pytest.mark.parametrize("seed", range(5))
def test_ai_against_the_expert_agrees_with_irrcac(seed):
    rng = np.random.default_rng(seed)
    answers, ai = [], []
    for i in range(30):
        expert = rng.choice(["yes", "no", "na"], p=[0.6, 0.3, 0.1])
        mine = expert if rng.random() < 0.7 else rng.choice(["yes", "no", "na"])
        answers += answer_rows(f"c{i}", "2026-09", "x", "expert", {"q2": expert})
        ai += ai_rows(f"c{i}", "2026-09", "x", {"q2": mine})
    answers, ai = answers_frame(answers), pd.DataFrame(ai)
    options, points = form_options(FORMS)
    row = question_agreement_with_ai(paired_answers(answers, ai), options=options,
                                     points=points).iloc[0]
    code = {"q2-yes": 0, "q2-no": 1, "N/A": 2}
    wide = pd.DataFrame({"expert": answers["answer_id"].fillna("N/A").map(code).to_numpy(),
                         "ai": ai["ai_answer_id"].fillna("N/A").map(code).to_numpy()})
    est = raw.CAC(wide, categories=[0, 1, 2], digits=12).gwet()["est"]
    assert row["ac1_expert"] == pytest.approx(est["coefficient_value"], abs=1e-9)
    low = est["confidence_interval"][0]
    if low >= 0:  # calib truncates only below -pe/(1-pe) < 0, irrCAC never below
        assert row["ac1_expert_ci_low"] == pytest.approx(low, abs=1e-9)
    else:
        assert row["ac1_expert_ci_low"] >= low - 1e-9
    assert row["ac1_expert_ci_high"] == pytest.approx(est["confidence_interval"][1], abs=1e-9)


def test_the_notebook_loader_says_when_there_is_nothing_to_calibrate(tmp_path):
    from calib.ai.load import load_ai_calibration

    with pytest.raises(ValueError, match="sandbox or 'store'|'sandbox' or 'store'"):
        load_ai_calibration("genesys", team="north", months=["2026-09"])
    with pytest.raises(ValueError, match="carries an AI answer.*Pick months"):
        load_ai_calibration("store", team="north", months=["2026-09"],
                            store_url=f"sqlite:///{tmp_path / 'empty.sqlite'}")

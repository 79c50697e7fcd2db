"""calib.scoring against the Genesys HELP-WEIGHTS rules (genesys-api.md §5)."""

import math

import pytest

from calib.scoring import score_evaluation


def yes_no(qid, points=1, *, critical=False, kill=False, na=True):
    return {"id": qid, "type": "multipleChoiceQuestion", "naEnabled": na, "isCritical": critical,
            "isKill": kill, "answerOptions": [{"id": f"{qid}-y", "text": "Yes", "value": points},
                                              {"id": f"{qid}-n", "text": "No", "value": 0}]}


def help_weights_form(mode="SCALED"):
    return {"weightMode": mode, "questionGroups": [
        {"id": "g1", "weight": 40, "naEnabled": True, "questions": [yes_no("q1"), yes_no("q2")]},
        {"id": "g2", "weight": 20, "naEnabled": True, "questions": [yes_no("q3")]},
    ]}


def test_help_weights_worked_example_is_60_percent():
    # G1: 2 one-point questions, weight 40, scores 1; G2: 1 one-point question, weight 20, scores 1
    result = score_evaluation(help_weights_form(), {"q1": "q1-y", "q2": "q2-n", "q3": "q3-y"})
    assert result.total_score == pytest.approx(60.0)
    assert not result.any_failed_kill


def test_weight_off_takes_points_at_face_value():
    result = score_evaluation(help_weights_form("OFF"), {"q1": "q1-y", "q2": "q2-n", "q3": "q3-y"})
    assert result.total_score == pytest.approx(100 * 2 / 3)


def test_na_question_is_excluded_from_possible_points():
    result = score_evaluation(help_weights_form(), {"q1": "q1-y", "q2": "N/A", "q3": "q3-n"})
    # G1 1 of 1 × 40, G2 0 of 1 × 20 → 40 / 60
    assert result.total_score == pytest.approx(100 * 40 / 60)
    assert result.group_scores[0].question_scores[1].marked_na


def test_all_na_group_counts_zero_of_zero():
    result = score_evaluation(help_weights_form(), {"q1": "N/A", "q2": "N/A", "q3": "q3-y"})
    assert result.total_score == pytest.approx(100.0)
    assert result.group_scores[0].possible == 0


def test_group_marked_na_in_genesys_structure():
    answers = {"questionGroupScores": [
        {"questionGroupId": "g1", "markedNA": True, "questionScores": []},
        {"questionGroupId": "g2", "questionScores": [{"questionId": "q3", "answerId": "q3-n"}]}]}
    result = score_evaluation(help_weights_form(), answers)
    assert result.total_score == pytest.approx(0.0)
    assert result.group_scores[0].marked_na


def test_critical_questions_count_in_both_scores():
    form = {"questionGroups": [{"id": "g", "weight": 1, "questions": [
        yes_no("c1", 2, critical=True), yes_no("n1", 1), yes_no("n2", 1)]}]}
    result = score_evaluation(form, {"c1": "c1-n", "n1": "n1-y", "n2": "n2-y"})
    assert result.total_score == pytest.approx(50.0)
    assert result.critical_score == pytest.approx(0.0)
    assert result.non_critical_score == pytest.approx(100.0)


def test_no_critical_questions_gives_nan_critical_score():
    result = score_evaluation(help_weights_form(), {"q1": "q1-y", "q2": "q2-y", "q3": "q3-y"})
    assert math.isnan(result.critical_score)
    assert result.to_genesys()["totalCriticalScore"] is None


def test_failed_fatal_question_zeroes_the_evaluation():
    form = help_weights_form()
    form["questionGroups"][1]["questions"].append(yes_no("k", kill=True, na=False))
    result = score_evaluation(form, {"q1": "q1-y", "q2": "q2-y", "q3": "q3-y", "k": "k-n"})
    assert result.total_score == 0.0
    assert result.any_failed_kill
    genesys = result.to_genesys()
    assert genesys["anyFailedKillQuestions"] is True
    kill_score = genesys["questionGroupScores"][1]["questionScores"][1]
    assert kill_score["failedKillQuestion"] is True


def test_passed_fatal_question_scores_normally():
    form = help_weights_form()
    form["questionGroups"][1]["questions"].append(yes_no("k", kill=True, na=False))
    result = score_evaluation(form, {"q1": "q1-y", "q2": "q2-y", "q3": "q3-y", "k": "k-y"})
    assert result.total_score == pytest.approx(100.0)
    assert not result.any_failed_kill


def test_scale_question_uses_option_values():
    form = {"questionGroups": [{"id": "g", "weight": 10, "questions": [
        {"id": "s", "type": "multipleChoiceQuestion", "answerOptions": [
            {"id": f"s{k}", "text": str(k), "value": k - 1} for k in range(1, 6)]}]}]}
    assert score_evaluation(form, {"s": "s4"}).total_score == pytest.approx(75.0)


def test_genesys_structure_matches_simple_mapping():
    simple = score_evaluation(help_weights_form(), {"q1": "q1-y", "q2": "q2-n", "q3": "q3-y"})
    nested = score_evaluation(help_weights_form(), simple.to_genesys())
    assert nested.total_score == simple.total_score


@pytest.mark.parametrize("answers, fragment", [
    ({"q1": "q1-y", "q2": "zzz", "q3": "q3-y"}, "not an option"),
    ({"q1": "q1-y", "q2": "q2-y", "q3": "q3-y", "q9": "x"}, "not on this form"),
    ({"q1": "q1-y", "q3": "q3-y"}, "has no answer"),
    ({"q1": "q1-y", "q2": 3, "q3": "q3-y"}, "answer id"),
])
def test_bad_answers_raise_sentences(answers, fragment):
    with pytest.raises(ValueError, match=fragment):
        score_evaluation(help_weights_form(), answers)


def test_na_on_question_without_na_raises():
    form = help_weights_form()
    form["questionGroups"][0]["questions"][0]["naEnabled"] = False
    with pytest.raises(ValueError, match="does not allow N/A"):
        score_evaluation(form, {"q1": "N/A", "q2": "q2-y", "q3": "q3-y"})


def test_list_entry_form_without_groups_raises():
    with pytest.raises(ValueError, match="questionGroups"):
        score_evaluation({"id": "f", "name": "x"}, {})


def test_unanswered_na_policy_excludes_question():
    result = score_evaluation(help_weights_form(), {"q1": "q1-y", "q3": "q3-y"}, unanswered="na")
    assert result.total_score == pytest.approx(100.0)

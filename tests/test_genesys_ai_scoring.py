"""calib.genesys and AI scoring: the settings PUT (body as the SDK models it) and reading the AI's
answers from evaluations, against the sandbox over HTTP (docs/genesys-ai-scoring.md)."""

from __future__ import annotations

import pytest

from calib.genesys import errors
from calib.genesys.ai_scoring import (EVALUATION_FAILURE_TYPES, EVALUATION_SOURCE_TYPES,
                                      QUESTION_FAILURE_TYPES, ai_answers, ai_scored_question_ids,
                                      ai_scoring, enabled_question_context_ids, settings_body)

WANTED = ("Uses the customer's name", "Avoids jargon")


def question_ids(form: dict, texts) -> set[str]:
    return {q["id"] for g in form["questionGroups"] for q in g["questions"] if q["text"] in texts}


def test_the_enums_are_the_sdks():
    sdk = pytest.importorskip("PureCloudPlatformClientV2")
    for model, attr, ours in ((sdk.AiScoring, "failure_type", EVALUATION_FAILURE_TYPES),
                              (sdk.AiAnswer, "failure_type", QUESTION_FAILURE_TYPES),
                              (sdk.EvaluationSource, "type", EVALUATION_SOURCE_TYPES)):
        instance = model()
        for value in ours:
            setattr(instance, attr, value)
            assert getattr(instance, attr) == value
        setattr(instance, attr, "NotAValue")
        assert getattr(instance, attr) == "outdated_sdk_version"


def test_settings_body_lists_every_question_as_the_sdk_serialises_it(sandbox):
    sdk = pytest.importorskip("PureCloudPlatformClientV2")
    with sandbox.client() as client:
        form = client.get_evaluation_form(sandbox.org.forms[1]["id"])
    enabled = question_ids(form, WANTED)
    body = settings_body(form, enabled)
    model = sdk.AiScoringSettings()
    model.question_group_settings = []
    for group in form["questionGroups"]:
        gs = sdk.QuestionGroupSettings()
        gs.question_group_context_id = group["contextId"]
        gs.question_settings = []
        for q in group["questions"]:
            qs = sdk.QuestionSettings()
            qs.question_context_id = q["contextId"]
            qs.settings = sdk.AiScoringSetting()
            qs.settings.enabled = q["id"] in enabled
            gs.question_settings.append(qs)
        model.question_group_settings.append(gs)
    assert body == sdk.ApiClient().sanitize_for_serialization(model)
    # context ids name the same questions
    contexts = {q["contextId"] for g in form["questionGroups"] for q in g["questions"]
                if q["id"] in enabled}
    assert settings_body(form, contexts) == body
    assert enabled_question_context_ids(body) == contexts


def test_settings_body_refuses_what_the_form_lacks(sandbox):
    form = sandbox.org.forms[1]
    with pytest.raises(ValueError, match="not-a-question is not a question .* of evaluation form"):
        settings_body(form, ["not-a-question"])
    with pytest.raises(ValueError, match="questionGroups"):
        settings_body({"id": "f"}, [])


def test_put_ai_scoring_settings_applies_and_echoes(fresh_sandbox):
    sb = fresh_sandbox()
    with sb.client() as client:
        form = client.get_evaluation_form(sb.org.forms[1]["id"])
        echo = client.put_ai_scoring_settings(form["id"], settings_body(form, question_ids(
            form, WANTED)))
        assert enabled_question_context_ids(echo) == {
            q["contextId"] for g in form["questionGroups"] for q in g["questions"]
            if q["text"] in WANTED}
        assert client.get_evaluation_form(form["id"])["aiScoring"] == echo
        with pytest.raises(errors.BadRequestError, match="at most 3 answer options"):
            client.put_ai_scoring_settings(form["id"], settings_body(form, question_ids(
                form, {"Explains next steps clearly"})))
        with pytest.raises(ValueError, match="body must be a mapping"):
            client.put_ai_scoring_settings(form["id"], ["not", "a", "body"])


def test_parsed_ai_answers_match_what_the_org_served(sandbox):
    org = sandbox.org
    truth = org.tidy_ai_answers().set_index(["evaluation_id", "question_id"])
    team = sandbox.truth.teams["demo"]
    seen = set()
    with sandbox.client() as client:
        evaluations = [ev for uid in [team["expert_id"], *team["panel_ids"]]
                       for ev in client.iter_evaluations(evaluator_user_id=uid)]
    for ev in evaluations:
        scoring = ai_scoring(ev)
        answers = ai_answers(ev)
        if scoring is None:
            assert answers == [] and "aiScoring" not in ev
            continue
        assert scoring.pending is False and scoring.date_last_changed
        for a in answers:
            row = truth.loc[(ev["id"], a.question_id)]
            assert a.answer_id == row.ai_answer_id
            assert a.marked_not_applicable == (True if row.ai_marked_na else
                                               None if row.ai_failure_type else False)
            assert a.failure_type == row.ai_failure_type and a.explanation == row.ai_explanation
            seen.add(a.failure_type)
        if ev["status"] == "FINISHED":
            assert len(answers) == (0 if scoring.failure_type else
                                    len(truth.loc[ev["id"]]))
    assert {None, "LowConfidenceError"} <= seen
    # which questions are AI-scored shows in the evaluations (no GET for the settings)
    assert ai_scored_question_ids(evaluations) == org.ai_enabled(org.forms[1]["id"])


def test_parsing_tolerates_missing_parts_and_names_a_malformed_one():
    assert ai_scoring({"id": "e"}) is None and ai_answers({"id": "e"}) == []
    assert ai_answers({"id": "e", "answers": {"questionGroupScores": [
        {"questionGroupId": "g", "questionScores": [{"questionId": "q"}]}]}}) == []
    with pytest.raises(errors.UnexpectedResponseError, match="aiAnswer of question q"):
        ai_answers({"id": "e", "answers": {"questionGroupScores": [
            {"questionGroupId": "g", "questionScores": [{"questionId": "q", "aiAnswer": "x"}]}]}})

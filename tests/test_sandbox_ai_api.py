"""AI scoring over the sandbox's HTTP API: the settings PUT (checked, echoed, saved) and the
AI fields of evaluations (docs/genesys-ai-scoring.md)."""

from __future__ import annotations

import json

import pytest
import requests

from calib.sandbox import open_persistent
from calib.sandbox.persist import load_org, read_summary
from tests.test_sandbox_behaviour import auth, candidate, create_body

NEW = ("Uses the customer's name", "Avoids jargon")


def settings_path(form_id: str) -> str:
    return f"/api/v2/quality/forms/evaluations/{form_id}/aiscoring/settings"


def body_for(form: dict, enabled_texts) -> dict:
    return {"questionGroupSettings": [
        {"questionGroupContextId": g["contextId"], "questionSettings": [
            {"questionContextId": q["contextId"],
             "settings": {"enabled": q["text"] in enabled_texts}} for q in g["questions"]]}
        for g in form["questionGroups"]]}


def enabled_texts(form: dict, settings: dict) -> set[str]:
    text = {q["contextId"]: q["text"] for g in form["questionGroups"] for q in g["questions"]}
    return {text[s["questionContextId"]] for g in settings["questionGroupSettings"]
            for s in g["questionSettings"] if s["settings"]["enabled"]}


def get(sb, h, path, **params):
    r = requests.get(sb.base_url + path, headers=h, params=params, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def test_settings_put_is_echoed_shown_on_the_form_and_used_by_new_evaluations(fresh_sandbox):
    sb = fresh_sandbox()
    h = auth(sb)
    form_id = sb.org.forms[1]["id"]
    form = get(sb, h, f"/api/v2/quality/forms/evaluations/{form_id}")
    assert len(enabled_texts(form, form["aiScoring"])) == 6  # the default settings
    # only the enabled questions: the rest are disabled (the body is the whole setting)
    partial = {"questionGroupSettings": [
        {"questionGroupContextId": g["contextId"], "questionSettings": [
            {"questionContextId": q["contextId"], "settings": {"enabled": True}}
            for q in g["questions"] if q["text"] in NEW]}
        for g in form["questionGroups"] if any(q["text"] in NEW for q in g["questions"])]}
    r = requests.put(sb.base_url + settings_path(form_id), json=partial, headers=h, timeout=30)
    assert r.status_code == 200, r.text
    echo = r.json()
    assert echo == body_for(form, NEW)  # every group and question, with its flag
    assert get(sb, h, f"/api/v2/quality/forms/evaluations/{form_id}")["aiScoring"] == echo
    assert sb.org.journal[-1]["op"] == "ai_scoring"

    r = requests.post(f"{sb.base_url}/api/v2/quality/calibrations", headers=h, timeout=30,
                      json=create_body(sb, candidate(sb, h)))
    cal = r.json()
    assert {json.dumps(e["aiScoring"]) for e in cal["evaluations"]} == {'{"pending": true}'}
    sb.advance_clock(days=30)
    cal = get(sb, h, f"/api/v2/quality/calibrations/{cal['id']}",
              calibratorId=cal["calibrator"]["id"])
    ids = {q["text"]: q["id"] for g in form["questionGroups"] for q in g["questions"]}
    finished = [e for e in cal["evaluations"] if e["status"] == "FINISHED"]
    assert finished
    for ev in finished:
        assert ev["aiScoring"]["pending"] is False and ev["evaluationSource"]["type"] == "User"
        if "failureType" in ev["aiScoring"]:
            continue
        scored = {q["questionId"]: q["aiAnswer"] for g in ev["answers"]["questionGroupScores"]
                  for q in g["questionScores"] if "aiAnswer" in q}
        assert set(scored) == {ids[t] for t in NEW}
        for qid, ai in scored.items():
            options = {o["id"] for o in sb.org.options[qid]}
            assert ai.get("answerId") in options or ai.get("markedNotApplicable") \
                or ai.get("failureType")


BAD_BODIES = [
    (lambda f: [], "must be an AiScoringSettings object"),
    (lambda f: {}, "must be an AiScoringSettings object"),
    (lambda f: {"questionGroupSettings": {"a": 1}}, "questionGroupSettings must be a list"),
    (lambda f: {"questionGroupSettings": [{"questionGroupContextId": "nope"}]},
     "'nope' is not a question group of evaluation form"),
    (lambda f: {"questionGroupSettings": [
        {"questionGroupContextId": f["questionGroups"][0]["contextId"],
         "questionSettings": [{"questionContextId": "nope", "settings": {"enabled": True}}]}]},
     "'nope' is not a question of question group"),
    (lambda f: {"questionGroupSettings": [
        {"questionGroupContextId": f["questionGroups"][0]["contextId"],
         "questionSettings": [{"questionContextId": f["questionGroups"][1]["questions"][0][
             "contextId"], "settings": {"enabled": True}}]}]},
     "is not a question of question group"),
    (lambda f: {"questionGroupSettings": [
        {"questionGroupContextId": f["questionGroups"][0]["contextId"],
         "questionSettings": [{"questionContextId": f["questionGroups"][0]["questions"][0][
             "contextId"], "settings": {"enabled": "yes"}}]}]},
     "must be true or false"),
    (lambda f: {"questionGroupSettings": [
        {"questionGroupContextId": f["questionGroups"][0]["contextId"], "questionSettings": [
            {"questionContextId": f["questionGroups"][0]["questions"][0]["contextId"],
             "settings": {"enabled": True}}] * 2}]},
     "is listed twice"),
    (lambda f: body_for(f, {"Explains next steps clearly"}),
     "at most 3 answer options, and it has 5"),
]


@pytest.mark.parametrize("make, says", BAD_BODIES)
def test_a_bad_settings_body_is_400_with_the_fix_and_changes_nothing(fresh_sandbox, make, says):
    sb = fresh_sandbox()
    h = auth(sb)
    form_id = sb.org.forms[1]["id"]
    before = get(sb, h, f"/api/v2/quality/forms/evaluations/{form_id}")
    r = requests.put(sb.base_url + settings_path(form_id), json=make(before), headers=h,
                     timeout=30)
    assert r.status_code == 400, r.text
    assert says in r.json()["message"], r.json()["message"]
    assert get(sb, h, f"/api/v2/quality/forms/evaluations/{form_id}") == before
    assert sb.org.journal == []


def test_unknown_form_is_404_and_there_is_no_get(fresh_sandbox):
    sb = fresh_sandbox()
    h = auth(sb)
    r = requests.put(sb.base_url + settings_path("no-such-form"), headers=h, timeout=30,
                     json={"questionGroupSettings": []})
    assert r.status_code == 404, r.text
    r = requests.get(sb.base_url + settings_path(sb.org.forms[1]["id"]), headers=h, timeout=30)
    assert r.status_code == 405  # the SDK has no GET for these settings


def test_a_persisted_org_saves_the_settings_and_replays_them(tmp_path):
    with open_persistent(tmp_path, seed=7) as sb:
        h = auth(sb)
        form = get(sb, h, f"/api/v2/quality/forms/evaluations/{sb.org.forms[1]['id']}")
        r = requests.put(sb.base_url + settings_path(form["id"]), json=body_for(form, NEW),
                         headers=h, timeout=30)
        assert r.status_code == 200, r.text
    org = load_org(tmp_path)
    assert enabled_texts(form, org.forms[1]["aiScoring"]) == set(NEW)
    assert {q for q in org.ai_enabled(form["id"])} == {
        q["id"] for g in form["questionGroups"] for q in g["questions"] if q["text"] in NEW}
    assert "AI scoring settings changed 1 time(s)" in read_summary(tmp_path).describe()

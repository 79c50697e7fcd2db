"""``calib consensus push`` on the real sandbox server (issue 18): the agreed answers written into
the expert's evaluation (the calibration's scoring index) with ``PUT …/evaluations/{id}``, a dry
run that sends nothing, an idempotent rerun, refusals that send nothing, the sandbox's checks of
the PUT, and a sync after the push that keeps the expert's own answers in the store."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
import requests

from calib.consensus import answer_category, initial_vs_agreed
from calib.consensus_push import PushRefused, push_consensus
from calib.genesys import errors
from calib.genesys.quality import CONSENSUS_MARK
from calib.sandbox import generate_org
from calib.sandbox.mutations import apply_entry
from calib.sandbox.render import evaluation_json
from calib.store import Store
from calib.sync import sync_month

MONTH = "2026-10"


def synced(sb, url):
    """A store holding demo's October, synced from the sandbox server."""
    store = Store(url)
    sync_month(sb.client(), store, team="demo", month=MONTH,
               calibrator_ids=[sb.teams()["demo"]["calibrator_id"]])
    return store


def disputed_questions(store, calibration_id):
    """Question id → the answer most non-experts gave, for every question the panel split on."""
    answers = store.answers("demo", MONTH)
    mine = answers[answers["calibration_id"] == calibration_id]
    out = {}
    for qid, rows in mine.groupby("question_id"):
        cats = [answer_category(r) for r in rows.itertuples(index=False)]
        if len({c for c in cats if c is not None}) > 1:
            others = [answer_category(r) for r in rows.itertuples(index=False)
                      if r.role != "expert" and answer_category(r) is not None]
            out[str(qid)] = max(sorted(set(others)), key=others.count)
    return out


def agree_against_the_expert(store, calibration_id, *, leave_out=0):
    """Record the non-experts' majority as agreed on every disputed question (but the last
    ``leave_out``); returns {question id: agreed category}."""
    agreed = disputed_questions(store, calibration_id)
    for qid in sorted(agreed)[:len(agreed) - leave_out]:
        store.record_consensus(calibration_id, qid, agreed[qid], by="Quinn Calder",
                               at="2026-11-02T10:00:00Z")
    return agreed


def call_with_a_dispute_against_the_expert(store):
    """A calibration where the panel's majority differs from the expert on some question."""
    for cal_id in store.calibrations("demo", MONTH)["calibration_id"]:
        answers = store.answers("demo", MONTH)
        expert = {str(r.question_id): answer_category(r)
                  for r in answers[(answers["calibration_id"] == cal_id)
                                   & (answers["role"] == "expert")].itertuples(index=False)}
        wanted = disputed_questions(store, cal_id)
        if len(wanted) >= 2 and any(expert.get(q) != a for q, a in wanted.items()):
            return cal_id
    raise AssertionError("no call of demo's October where the panel outvoted the expert")


def evaluation_in_genesys(sb, store, cal_id):
    row = store.calibrations("demo", MONTH).set_index("calibration_id").loc[cal_id]
    scores = store.scores("demo", MONTH)
    ev_id = scores[(scores["calibration_id"] == cal_id) & (scores["role"] == "expert")][
        "evaluation_id"].iloc[0]
    return sb.client().get_evaluation(row["conversation_id"], ev_id)


def held(evaluation):
    return {s["questionId"]: ("N/A" if s.get("markedNA") else s.get("answerId"))
            for g in evaluation["answers"]["questionGroupScores"] for s in g["questionScores"]}


@pytest.fixture
def pushed_world(fresh_sandbox, tmp_path):
    sb = fresh_sandbox()
    store = synced(sb, f"sqlite:///{tmp_path / 'calib.sqlite'}")
    cal_id = call_with_a_dispute_against_the_expert(store)
    yield sb, store, cal_id
    store.close()


def test_dry_run_sends_nothing_then_yes_writes_and_a_rerun_sends_nothing(pushed_world):
    sb, store, cal_id = pushed_world
    agreed = agree_against_the_expert(store, cal_id)
    before = evaluation_in_genesys(sb, store, cal_id)
    journal = len(sb.org.journal)

    dry = push_consensus(sb.client(), store, team="demo")
    assert dry.sent == 0 and len(sb.org.journal) == journal, "a dry run changes nothing"
    assert evaluation_in_genesys(sb, store, cal_id) == before
    row = dry.calls.set_index("calibration_id").loc[cal_id]
    assert row["action"] == "would send" and row["expert"] == "Quinn Calder"
    changed = {q: a for q, a in agreed.items() if held(before).get(q) != a}
    assert row["n_changed"] == len(changed) > 0
    # question by question, in words: the question text and the answers' texts
    form = sb.org.forms_by_id[before["evaluationForm"]["id"]]
    words = {q["id"]: q["text"] for g in form["questionGroups"] for q in g["questions"]}
    listed = dry.changes[dry.changes["calibration_id"] == cal_id]
    assert sorted(listed["question"]) == sorted(words[q] for q in changed)
    assert not listed["agreed"].str.fullmatch(r"[0-9a-f-]{36}").any()

    sent = push_consensus(sb.client(), store, team="demo", send=True, now=sb.now())
    assert sent.sent == 1
    after = evaluation_in_genesys(sb, store, cal_id)
    assert {q: held(after)[q] for q in agreed} == agreed
    assert after["rescore"] is True and after["version"] == 2
    assert CONSENSUS_MARK in after["answers"]["privateComments"]
    assert math.isclose(after["answers"]["totalScore"],
                        sent.calls.set_index("calibration_id").loc[cal_id, "agreed_score"],
                        abs_tol=1e-3)
    assert after["neverRelease"] is True, "the push keeps the evaluation out of agent KPIs"
    cal = sb.client().get_calibration(cal_id, calibrator_id=sb.teams()["demo"]["calibrator_id"])
    assert cal["scoringIndex"]["id"] == after["id"]
    note = [s.get("comments", "") for g in after["answers"]["questionGroupScores"]
            for s in g["questionScores"] if s["questionId"] in changed]
    assert all(c.startswith("Agreed in calibration: ") and "the expert answered" in c
               for c in note)

    journal = len(sb.org.journal)
    again = push_consensus(sb.client(), store, team="demo", send=True, now=sb.now())
    assert again.sent == 0 and len(sb.org.journal) == journal
    assert again.calls.set_index("calibration_id").loc[cal_id, "action"] == "already in Genesys"
    assert again.changes.empty


def test_after_push_and_sync_the_initial_and_agreed_scores_are_unchanged(pushed_world, tmp_path):
    sb, store, cal_id = pushed_world
    agree_against_the_expert(store, cal_id)
    before = initial_vs_agreed(store, "demo", MONTH)
    expert_before = store.scores("demo", MONTH).query("role == 'expert'")
    push_consensus(sb.client(), store, team="demo", send=True, now=sb.now())

    result = sync_month(sb.client(), store, team="demo", month=MONTH,
                        calibrator_ids=[sb.teams()["demo"]["calibrator_id"]])
    assert result.updated == 0 and result.inserted == 0 and result.pushed_without_original == 0
    pd.testing.assert_frame_equal(initial_vs_agreed(store, "demo", MONTH), before)
    pd.testing.assert_frame_equal(store.scores("demo", MONTH).query("role == 'expert'"),
                                  expert_before)
    row = before[(before["calibration_id"] == cal_id) & (before["role"] == "expert")].iloc[0]
    assert row["initial_score"] != row["agreed_score"], "the expert's own score, not the push"

    # a store that never saw the expert's own answers does not mistake the push for them
    fresh = synced(sb, f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    expert = fresh.scores("demo", MONTH, include_sealed=True)
    expert = expert[(expert["calibration_id"] == cal_id) & (expert["role"] == "expert")].iloc[0]
    assert expert["status"] == "FINISHED" and math.isnan(expert["total_score"])
    answers = fresh.answers("demo", MONTH)
    assert not (answers["evaluation_id"] == expert["evaluation_id"]).any()
    fresh.close()


def test_an_incomplete_consensus_is_refused_with_the_questions_and_nothing_is_sent(pushed_world):
    sb, store, cal_id = pushed_world
    agreed = agree_against_the_expert(store, cal_id, leave_out=1)
    missing = sorted(agreed)[-1]
    text = store.answers("demo", MONTH).set_index("question_id").loc[missing, "question_text"]
    text = text if isinstance(text, str) else text.iloc[0]
    journal = len(sb.org.journal)
    with pytest.raises(PushRefused) as err:
        push_consensus(sb.client(), store, team="demo", send=True)
    message = str(err.value)
    assert "nothing was sent" in message and "1 disputed question(s)" in message
    assert repr(text) in message and "calib consensus record" in message
    assert len(sb.org.journal) == journal

    other = next(c for c in store.calibrations("demo", MONTH)["calibration_id"] if c != cal_id)
    with pytest.raises(PushRefused, match="has no agreed answer recorded"):
        push_consensus(sb.client(), store, team="demo", calls=[other[:8]])
    with pytest.raises(PushRefused, match="names no stored call"):
        push_consensus(sb.client(), store, team="demo", calls=["zzzzzzzz"])
    assert len(sb.org.journal) == journal


def test_a_changed_form_or_a_rescore_since_the_sync_is_refused(pushed_world):
    sb, store, cal_id = pushed_world
    agree_against_the_expert(store, cal_id)
    ev = evaluation_in_genesys(sb, store, cal_id)
    # someone rescored the expert's evaluation in Genesys after the sync
    answers = ev["answers"]
    first = answers["questionGroupScores"][0]["questionScores"][0]
    options = [o["id"] for o in sb.org.options[first["questionId"]]]
    if first.get("markedNA") or not first.get("answerId"):
        first.pop("markedNA", None)
    first["answerId"] = next(o for o in options if o != first.get("answerId"))
    first["markedNA"] = False
    sb.client().update_evaluation(ev["conversation"]["id"], ev["id"], {**ev, "answers": answers})
    journal = len(sb.org.journal)
    with pytest.raises(PushRefused, match="changed in Genesys since the last sync"):
        push_consensus(sb.client(), store, team="demo", send=True)
    assert len(sb.org.journal) == journal

    # the form version in Genesys gains an answer option the store does not know
    form = sb.org.forms_by_id[ev["evaluationForm"]["id"]]
    question = form["questionGroups"][0]["questions"][0]
    question["answerOptions"].append({"id": "added-later", "text": "Partly", "value": 0})
    with pytest.raises(PushRefused, match="the form changed"):
        push_consensus(sb.client(), store, team="demo", send=True)
    assert len(sb.org.journal) == journal


def _put(sb, conversation_id, evaluation_id, body):
    token = requests.post(f"{sb.base_url}/oauth/token", auth=(sb.client_id, sb.client_secret),
                          data={"grant_type": "client_credentials"}, timeout=30).json()
    return requests.put(f"{sb.base_url}/api/v2/quality/conversations/{conversation_id}/"
                        f"evaluations/{evaluation_id}", data=json.dumps(body), timeout=30,
                        headers={"Authorization": f"Bearer {token['access_token']}",
                                 "Content-Type": "application/json"})


def test_the_sandbox_checks_the_answers_against_the_form_like_genesys(fresh_sandbox):
    sb = fresh_sandbox()
    org = sb.org
    cal = next(c for c in org.calibrations.values() if c.created < org.now())
    ev = sb.client().get_evaluation(cal.conversation_id, cal.evaluation_ids[0])
    assert ev["status"] == "FINISHED"
    form = org.forms_by_id[ev["evaluationForm"]["id"]]
    journal = len(org.journal)

    def with_answers(change):
        body = json.loads(json.dumps(ev))
        change(body["answers"]["questionGroupScores"])
        return body

    def no_na_question(groups):
        for g in groups:
            for s in g["questionScores"]:
                q = next(q for fg in form["questionGroups"] for q in fg["questions"]
                         if q["id"] == s["questionId"])
                if not q.get("naEnabled"):
                    return s
        raise AssertionError("every question allows N/A")

    cases = {
        "is not a question of group": lambda g: g[0]["questionScores"].append(
            {"questionId": "no-such-question", "answerId": "x"}),
        "is not an option of question": lambda g: g[0]["questionScores"][0].update(
            answerId="no-such-answer", markedNA=False),
        "does not allow N/A": lambda g: no_na_question(g).update(markedNA=True, answerId=None),
        "has no answer": lambda g: g[-1]["questionScores"].pop(),
        "is not a question group": lambda g: g[0].update(questionGroupId="no-such-group"),
    }
    for fragment, change in cases.items():
        r = _put(sb, cal.conversation_id, ev["id"], with_answers(change))
        assert r.status_code == 400, (fragment, r.text)
        body = r.json()
        assert body["status"] == 400 and body["code"] == "invalid.value"
        assert fragment in body["message"], (fragment, body["message"])
        assert {"message", "code", "status", "contextId", "details", "errors"} <= set(body)
    wrong_form = {**ev, "evaluationForm": {"id": org.forms[0]["id"]}}
    if org.forms[0]["id"] != form["id"]:
        assert "cannot be changed" in _put(sb, cal.conversation_id, ev["id"],
                                           wrong_form).json()["message"]
    assert _put(sb, cal.conversation_id, "no-such-evaluation", ev).status_code == 404
    pending = next((c.conversation_id, e) for c in org.calibrations.values()
                   for e in c.evaluation_ids
                   if org.evaluations[e].status(org.now()) != "FINISHED"
                   and org.evaluations[e].created <= org.now())
    r = _put(sb, pending[0], pending[1], {**ev, "id": pending[1], "evaluationForm": None})
    assert r.status_code == 400 and "only a FINISHED evaluation" in r.json()["message"]
    assert len(org.journal) == journal, "a refused PUT changes nothing"
    with pytest.raises(errors.BadRequestError, match="is not an option"):
        sb.client().update_evaluation(cal.conversation_id, ev["id"], with_answers(
            cases["is not an option of question"]))


def test_a_rescore_replays_from_the_journal_byte_for_byte(pushed_world):
    sb, store, cal_id = pushed_world
    agree_against_the_expert(store, cal_id)
    push_consensus(sb.client(), store, team="demo", send=True, now=sb.now())
    entry = sb.org.journal[-1]
    assert entry["op"] == "rescore_evaluation"
    replayed = generate_org(sb.org.seed)
    for e in json.loads(json.dumps(sb.org.journal)):
        apply_entry(replayed, e)
    ev_id = entry["id"]
    assert evaluation_json(replayed, replayed.evaluations[ev_id]) == \
        evaluation_json(sb.org, sb.org.evaluations[ev_id])


def test_the_official_sdk_serialises_the_push_and_reads_the_answer(pushed_world):
    """The body calib sends is an ``Evaluation`` the SDK can build and serialise without losing
    a field; the SDK's own ``put_quality_conversation_evaluation`` sends it to the sandbox and
    reads the ``EvaluationResponse``; every field of both is known to the SDK."""
    sdk = pytest.importorskip("PureCloudPlatformClientV2")
    from tests.test_sandbox_sdk import sdk_problems

    sb, store, cal_id = pushed_world
    agree_against_the_expert(store, cal_id)
    client = sb.client()
    sent_bodies, answers = [], []
    update = client.update_evaluation

    def recording(conversation_id, evaluation_id, body):
        sent_bodies.append((conversation_id, evaluation_id, json.loads(json.dumps(body))))
        answers.append(update(conversation_id, evaluation_id, body))
        return answers[-1]

    client.update_evaluation = recording
    push_consensus(client, store, team="demo", send=True, now=sb.now())
    (conversation_id, evaluation_id, body), = sent_bodies
    assert sdk_problems(body, "Evaluation") == []
    assert sdk_problems(answers[0], "EvaluationResponse") == []

    sdk.configuration.host = sb.base_url
    api = sdk.api_client.ApiClient(sb.base_url).get_client_credentials_token(
        sb.client_id, sb.client_secret)
    model = api._ApiClient__deserialize(body, "Evaluation")
    assert api.sanitize_for_serialization(model)["answers"] == body["answers"]
    response = sdk.QualityApi(api).put_quality_conversation_evaluation(
        conversation_id, evaluation_id, model)
    assert response.rescore is True and response.version == 3  # a second, identical rescore
    assert CONSENSUS_MARK in response.answers.private_comments
    got = {s.question_id: s.answer_id for g in response.answers.question_group_scores
           for s in g.question_scores if not s.marked_na}
    assert got == {s["questionId"]: s["answerId"] for g in body["answers"]["questionGroupScores"]
                   for s in g["questionScores"] if not s["markedNA"]}


def test_calib_consensus_push_on_the_command_line(fresh_sandbox, tmp_path, monkeypatch, capsys):
    """The verb against a real org's settings (the sandbox server): sync, record, dry run, --yes,
    rerun, sync again: the agreed-against-initial table is the same before and after."""
    import yaml

    from calib.cli import main

    sb = fresh_sandbox()
    monkeypatch.setenv("GENESYSCLOUD_API_REGION", sb.base_url)
    monkeypatch.setenv("GENESYSCLOUD_OAUTHCLIENT_ID", sb.client_id)
    monkeypatch.setenv("GENESYSCLOUD_OAUTHCLIENT_SECRET", sb.client_secret)
    url = f"sqlite:///{tmp_path / 'calib.sqlite'}"
    params = yaml.safe_load(open("parameters/demo.yaml"))
    params.update(backend="genesys", month=MONTH, store_url=url, history_months=1)
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(params))
    assert main(["sync", "--params", str(path)]) == 0
    with Store(url) as store:
        cal_id = call_with_a_dispute_against_the_expert(store)
        conversation = store.calibrations("demo", MONTH).set_index("calibration_id").loc[
            cal_id, "conversation_id"]
        agree_against_the_expert(store, cal_id)
    capsys.readouterr()
    assert main(["consensus", "show", "--team", "demo", "--store", url]) == 0
    before = capsys.readouterr().out

    assert main(["consensus", "push", "--params", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"· {conversation[:8]}: would send. The expert Quinn Calder's evaluation" in out
    assert " -> " in out and "Dry run: nothing was sent. 1 evaluation(s) would be updated" in out
    assert out.rstrip().endswith("--yes")
    assert not any(e["op"] == "rescore_evaluation" for e in sb.org.journal), "a dry run"

    assert main(["consensus", "push", "--params", str(path), "--yes"]) == 0
    assert "Sent the agreed answers of 1 call(s) to Genesys; 0 already held them" in \
        capsys.readouterr().out
    assert main(["consensus", "push", "--params", str(path), "--yes"]) == 0
    assert "Sent the agreed answers of 0 call(s) to Genesys; 1 already held them" in \
        capsys.readouterr().out

    assert main(["sync", "--params", str(path)]) == 0
    capsys.readouterr()
    assert main(["consensus", "show", "--team", "demo", "--store", url]) == 0
    assert capsys.readouterr().out == before


def test_the_scoring_index_is_pointed_at_the_pushed_evaluation(pushed_world):
    """Someone made another evaluation the scoring index: the push sets it back to the expert's
    evaluation it writes, and says so in the dry run."""
    sb, store, cal_id = pushed_world
    agree_against_the_expert(store, cal_id)
    calibrator = sb.teams()["demo"]["calibrator_id"]
    cal = sb.client().get_calibration(cal_id, calibrator_id=calibrator)
    expert_ev = evaluation_in_genesys(sb, store, cal_id)["id"]
    other = next(e["id"] for e in cal["evaluations"] if e["id"] != expert_ev)
    sb.client().update_calibration(cal_id, {"scoringIndex": {"id": other}})
    dry = push_consensus(sb.client(), store, team="demo")
    assert bool(dry.calls.set_index("calibration_id").loc[cal_id, "set_scoring_index"])
    assert sb.client().get_calibration(cal_id, calibrator_id=calibrator)["scoringIndex"]["id"] \
        == other, "a dry run changes nothing"
    push_consensus(sb.client(), store, team="demo", send=True)
    after = sb.client().get_calibration(cal_id, calibrator_id=calibrator)
    assert after["scoringIndex"]["id"] == expert_ev
    assert sorted(e["id"] for e in after["evaluations"]) == sorted(
        e["id"] for e in cal["evaluations"]), "no evaluator added or removed"
    again = push_consensus(sb.client(), store, team="demo")
    assert again.calls.set_index("calibration_id").loc[cal_id, "action"] == "already in Genesys"
    with pytest.raises(ValueError, match="2026-13"):
        push_consensus(sb.client(), store, team="demo", months=["2026-13"])

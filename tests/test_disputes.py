"""A disputed evaluation's original score beside the panel's (issue 18): ``calib select --include
CONVERSATION/EVALUATION`` keeps the original in the plan; once the calibration is open, ``calib
status`` and the report's calls section set it beside the panel's mean and agreed score, in
names, with the verdict in words. On the sandbox server, with the store the CLI uses."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from calib.cli import main
from calib.consensus import initial_vs_agreed
from calib.report.data import load_month
from calib.report.sections import show_calibrations
from calib.sessions import create_session
from calib.sessions.disputes import dispute_table, originals_of_plans, verdict
from calib.store import Store
from calib.sync import sync_month
from tests.test_sessions_include import disputed, plan_for


def test_the_verdict_in_words():
    assert verdict(70.0, 82.4) == "the panel scores it 12 points higher"
    assert verdict(80.0, 69.0) == "the panel scores it 11 points lower"
    assert verdict(70.0, 75.0) == "the panel agrees with the original score"
    assert verdict(70.0, 75.0, band=2) == "the panel scores it 5 points higher"
    assert verdict(70.0, 71.2, band=0) == "the panel scores it 1 point higher"
    assert verdict(70.0, math.nan) == "the panel has no score yet"


def test_the_table_compares_with_the_agreed_score_when_recorded_else_the_mean():
    originals = pd.DataFrame([{"session_id": "s", "conversation_id": "c1",
                               "original_evaluation_id": "old", "original_evaluator_id": "u9",
                               "original_evaluator_name": None, "original_score": 60.0}])
    scores = pd.DataFrame({"calibration_id": ["k1"] * 4, "conversation_id": ["c1"] * 4,
                           "evaluation_id": ["e1", "e2", "e3", "old"],
                           "agent_id": ["a1"] * 4, "status": ["FINISHED"] * 3 + ["FINISHED"],
                           "total_score": [70.0, 80.0, 75.0, 10.0]})
    table = dispute_table(originals, scores, names={"u9": "Ann Lee"})
    row = table.iloc[0]
    assert (row["original_evaluator"], row["n_panel"], row["panel_mean"]) == ("Ann Lee", 3, 75.0)
    assert row["compared_with"] == "panel mean" and row["difference"] == 15.0
    assert row["verdict"] == "the panel scores it 15 points higher"
    agreed = pd.DataFrame({"calibration_id": ["k1"], "agreed_score": [63.0]})
    row = dispute_table(originals, scores, agreed).iloc[0]
    assert row["compared_with"] == "agreed score" and row["original_evaluator"] == "u9"[:8]
    assert row["verdict"] == "the panel agrees with the original score"
    sealed = scores.assign(total_score=math.nan)
    assert dispute_table(originals, sealed).iloc[0]["verdict"] == "the panel has no score yet"


@pytest.fixture
def disputed_session(fresh_sandbox, tmp_path):
    """A demo session that calibrates a finished north evaluation, created, scored (the clock
    moves 14 days), synced and revealed, with the store the CLI reads."""
    sb = fresh_sandbox()
    conversation, ev = disputed(sb)
    _, plan = plan_for(sb, [f"{conversation}/{ev['id']}"], n=4)
    url = f"sqlite:///{tmp_path / 'calib.sqlite'}"
    store = Store(url, clock=sb.now)
    create_session(sb.client(), plan, dry_run=False, progress=False, now=sb.now(), store=store)
    sb.org.advance_clock(days=14)
    sync_month(sb.client(), store, team="demo", month="2026-11",
               calibrator_ids=[plan.calibrator_id])
    store.reveal("demo", "2026-11", by="Ana Analyst", reason="test")
    path = tmp_path / "plan.yaml"
    plan.to_yaml(path)
    yield sb, store, url, plan, path, conversation, ev
    store.close()


def status_output(sb, path, url, monkeypatch, capsys) -> str:
    """What ``calib status --plan`` prints for the plan at ``path``, against the sandbox as a
    Genesys org (credentials from the environment, as a user gives them)."""
    monkeypatch.setenv("GENESYSCLOUD_API_REGION", sb.base_url)
    monkeypatch.setenv("GENESYSCLOUD_OAUTHCLIENT_ID", sb.client_id)
    monkeypatch.setenv("GENESYSCLOUD_OAUTHCLIENT_SECRET", sb.client_secret)
    capsys.readouterr()
    assert main(["status", "--plan", str(path), "--backend", "genesys", "--store", url]) == 0
    return capsys.readouterr().out


def test_status_and_report_show_the_original_beside_the_panel_in_names(
        disputed_session, monkeypatch, capsys, tmp_path):
    sb, store, url, plan, path, conversation, ev = disputed_session
    first = plan.conversations[0]
    assert first.original_evaluator_name == ev["evaluator"]["name"]
    scores = store.scores("demo", "2026-11")
    panel = scores[(scores["conversation_id"] == conversation) & scores["total_score"].notna()]
    assert len(panel) >= 3, "the calibration is open after the reveal"
    expected_mean = float(panel["total_score"].mean())
    original = float(ev["answers"]["totalScore"])
    assert math.isclose(first.original_score, original)
    agent = sb.org.people[ev["agent"]["id"]].name
    evaluator = ev["evaluator"]["name"]

    out = status_output(sb, path, url, monkeypatch, capsys)
    line = next(x for x in out.splitlines() if conversation[:8] in x and "originally" in x)
    assert line.strip().startswith(f"{agent} · {conversation[:8]}: originally {original:.1f} "
                                   f"by {evaluator}; panel mean {expected_mean:.1f} "
                                   f"(n = {len(panel)}):")
    assert line.rstrip(".").endswith(verdict(original, expected_mean))

    # the report's calls section: the same numbers, and the agreed score once recorded
    cal_id = panel["calibration_id"].iloc[0]
    answers = store.answers("demo", "2026-11")
    expert = answers[(answers["calibration_id"] == cal_id) & (answers["role"] == "expert")]
    question = expert.iloc[0]
    store.record_consensus(cal_id, question["question_id"], question["answer_id"] or "N/A",
                           by="Quinn Calder", at=sb.now())
    agreed = initial_vs_agreed(store, "demo", "2026-11")
    agreed_score = float(agreed.loc[agreed["calibration_id"] == cal_id, "agreed_score"].iloc[0])
    data = load_month({"team": "demo", "month": "2026-11", "backend": "store",
                       "store_url": url, "history_months": 1, "calibrators": []})
    html = show_calibrations(data).html
    part = html.split("<h3>Disputed evaluations</h3>")[1]
    assert f"{agent} · {conversation[:8]}" in part and evaluator in part
    assert f"{original:.1f}" in part and f"{expected_mean:.1f} (n = {len(panel)})" in part
    assert f"{agreed_score:.1f}" in part
    words = verdict(original, agreed_score)
    assert words[0].upper() + words[1:] in part


def test_status_shows_no_panel_score_while_the_call_is_sealed(fresh_sandbox, tmp_path,
                                                              monkeypatch, capsys):
    sb = fresh_sandbox()
    conversation, ev = disputed(sb)
    _, plan = plan_for(sb, [f"{conversation}/{ev['id']}"], n=4)
    url = f"sqlite:///{tmp_path / 'calib.sqlite'}"
    with Store(url, clock=sb.now) as store:
        create_session(sb.client(), plan, dry_run=False, progress=False, now=sb.now(),
                       store=store)
        sync_month(sb.client(), store, team="demo", month="2026-11",
                   calibrator_ids=[plan.calibrator_id])
    path = tmp_path / "plan.yaml"
    plan.to_yaml(path)
    out = status_output(sb, path, url, monkeypatch, capsys)
    assert "panel's scores stay hidden until every evaluation is finished" in out
    assert "panel mean" not in out
    assert originals_of_plans([plan.to_dict()]).shape[0] == 1

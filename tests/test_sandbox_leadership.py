"""The sandbox's QM leadership team: the quarterly calibration of the calibrators."""

from __future__ import annotations

import numpy as np
import pytest
import requests

from calib.sandbox import generate_org
from calib.sandbox.leadership import QUARTER

SEEDS = (7, 8, 9)


@pytest.fixture(scope="module")
def orgs():
    return {seed: generate_org(seed) for seed in SEEDS}


def test_the_team_has_the_calibrators_and_two_qm_leads(orgs):
    org = orgs[7]
    teams = org.truth.teams
    lead = teams["leadership"]
    assert set(lead) == set(teams["demo"])
    members = {teams["demo"]["calibrator_id"], teams["north"]["calibrator_id"]}
    assert members < set(lead["panel_ids"]) and len(lead["panel_ids"]) == 3
    assert lead["calibrator_id"] in lead["panel_ids"] and lead["expert_id"] not in lead["panel_ids"]
    people = {pid: org.people[pid] for pid in (lead["calibrator_id"], lead["expert_id"])}
    assert {p.email for p in people.values()} == {"morgan.lee@demo.example",
                                                  "priya.nair@demo.example"}
    assert lead["calibrator_email"] == people[lead["calibrator_id"]].email
    assert all(p.title == "QM Lead" for p in people.values())
    for pid in people:  # steady leads: no severity, no drift
        assert org.truth.evaluator_severity[pid] == 0.0
        assert not any(cid == pid for cid, _ in org.truth.calibrator_drift)


def test_quarterly_sessions_are_finished_in_the_tidy_frames(orgs):
    org = orgs[7]
    lead = org.truth.teams["leadership"]
    scores, answers = org.tidy_scores(), org.tidy_answers()
    mine = scores[scores.team == "leadership"]
    assert mine.groupby("month").calibration_id.nunique().to_dict() == {m: 4 for m in QUARTER}
    assert (mine.status == "FINISHED").all() and mine.total_score.notna().all()
    assert set(mine.session_id) == {f"leadership/{m}" for m in QUARTER}
    assert (mine.calibrator_id == lead["calibrator_id"]).all()
    assert set(mine.loc[mine.role == "expert", "evaluator_id"]) == {lead["expert_id"]}
    assert set(mine.loc[mine.role == "evaluator", "evaluator_id"]) == set(lead["panel_ids"])
    assert mine.groupby("calibration_id").size().eq(4).all()
    assert set(mine.form_id) == {org.forms[1]["id"]}
    got = answers[answers.team == "leadership"]
    assert got.evaluation_id.nunique() == len(mine)


def test_sessions_only_in_quarter_months_inside_the_history():
    org = generate_org(7, months=["2026-05", "2026-06", "2026-09"])
    scores = org.tidy_scores()
    assert "leadership" in org.truth.teams
    assert set(scores.loc[scores.team == "leadership", "month"]) == {"2026-09"}
    assert set(scores.loc[scores.team == "demo", "month"]) == {"2026-05", "2026-06", "2026-09",
                                                               "2026-11"}


def test_the_drifting_calibrator_stands_out_against_the_leads(orgs):
    gaps, truths = [], []
    for org in orgs.values():
        s = org.tidy_scores()
        lead = s[s.team == "leadership"]
        demo_cal = org.truth.teams["demo"]["calibrator_id"]
        north_cal = org.truth.teams["north"]["calibrator_id"]
        leads = lead[lead.evaluator_id.isin([org.truth.teams["leadership"]["calibrator_id"],
                                             org.truth.teams["leadership"]["expert_id"]])]
        ref = leads.groupby("calibration_id").total_score.mean()
        by = lead.set_index("calibration_id")
        for who, store in ((demo_cal, gaps), (north_cal, None)):
            own = by[by.evaluator_id == who].total_score
            gap = float((own - ref[own.index]).mean())
            if store is None:
                assert abs(gap) < 6.0, gap
            else:
                store.append(gap)
                truths.append(np.mean([org.truth.calibrator_drift[(who, m)] for m in QUARTER]))
    # her drift over the quarter (~9 points on average) shows against the leads
    assert np.mean(gaps) > 5.0 and np.mean(gaps) == pytest.approx(np.mean(truths), abs=4.0)


def test_quarter_review_flags_the_demo_calibrator(orgs):
    from calib.quarterly import quarter_review

    for org in orgs.values():
        teams = org.truth.teams
        ids = [teams["demo"]["calibrator_id"], teams["north"]["calibrator_id"]]
        result = quarter_review(org.tidy_scores(), months=list(QUARTER), calibrator_ids=ids)
        assert ids[0] in result.flagged_ids and ids[1] not in result.flagged_ids


def test_http_lists_the_calibrations_under_the_leadership_calibrator(sandbox):
    client = sandbox.client()
    try:
        lead = sandbox.truth.teams["leadership"]
        cals = list(client.iter_calibrations(lead["calibrator_id"], page_size=5))
        assert len(cals) == 12
        assert {c["expertEvaluator"]["id"] for c in cals} == {lead["expert_id"]}
        assert all(len(c["evaluations"]) == 4 for c in cals)
        assert {e["status"] for c in cals for e in c["evaluations"]} == {"FINISHED"}
        demo_cal = sandbox.truth.teams["demo"]["calibrator_id"]
        assert all(demo_cal in {e["evaluator"]["id"] for e in c["evaluations"]} for c in cals)
    finally:
        client.close()
    token = requests.post(f"{sandbox.base_url}/oauth/token",
                          auth=(sandbox.client_id, sandbox.client_secret),
                          data={"grant_type": "client_credentials"}, timeout=10).json()
    users = requests.get(f"{sandbox.base_url}/api/v2/users", params={"pageSize": 500},
                         headers={"Authorization": f"Bearer {token['access_token']}"},
                         timeout=10).json()["entities"]
    assert {"morgan.lee@demo.example", "priya.nair@demo.example"} <= {u["email"] for u in users}

"""The sandbox's care teams (``generate_org(seed, care_teams=N)``): more teams, a form version
that rewrites an ambiguous question at a known month, an evaluator whose severity moves over the
year, and nothing of the other teams moves."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from calib.sandbox import generate_org
from calib.sandbox.care import FORM_NAME, REWRITTEN_TEXT, team_names, year_months

OLD_TEAMS = ("demo", "north", "pilot", "leadership")


@pytest.mark.parametrize("seed", [7, 8])
def test_the_other_teams_data_and_truth_are_the_same_with_care_teams(seed):
    plain, more = generate_org(seed), generate_org(seed, care_teams=3)
    for frame in ("tidy_scores", "tidy_answers"):
        old = getattr(plain, frame)()
        new = getattr(more, frame)()
        assert set(new["team"]) == set(old["team"]) | set(team_names(3))
        pd.testing.assert_frame_equal(new[new["team"].isin(OLD_TEAMS)].reset_index(drop=True),
                                      old.reset_index(drop=True))
    assert more.forms[:3] == plain.forms
    assert {t: dict(v) for t, v in more.truth.teams.items() if t in OLD_TEAMS} == \
        {t: dict(v) for t, v in plain.truth.teams.items()}
    for f in dataclasses.fields(plain.truth):
        old, new = getattr(plain.truth, f.name), getattr(more.truth, f.name)
        if f.name in ("severity_path", "moving_evaluator", "form_change"):
            assert not old and old is not new
        elif isinstance(old, dict) or hasattr(old, "items"):
            assert {k: v for k, v in new.items() if k in old} == dict(old), f.name
        else:
            assert new == old, f.name


def test_the_care_teams_have_a_year_on_two_versions_of_their_own_form():
    org = generate_org(7, care_teams=2)
    change = org.truth.form_change
    months = year_months(org)
    assert months[0] == "2025-11" and months[-1] == "2026-10" and change.first_month == "2026-05"
    scores = org.tidy_scores()
    care = scores[scores["team"].isin(team_names(2))]
    assert sorted(care["month"].unique()) == list(months)
    on = care.groupby("form_id")["month"].agg(["min", "max"])
    assert on.loc[change.version_before].tolist() == ["2025-11", "2026-04"]
    assert on.loc[change.version_after].tolist() == ["2026-05", "2026-10"]
    assert set(care["form_context_id"]) == {change.form_context_id}
    before, after = (org.forms_by_id[change.version_before],
                     org.forms_by_id[change.version_after])
    assert before["name"] == after["name"] == FORM_NAME and before["published"]
    texts = [{q["id"]: q["text"] for g in f["questionGroups"] for q in g["questions"]}
             for f in (before, after)]
    assert texts[0].keys() == texts[1].keys()  # same questions, one reworded
    changed = [q for q in texts[0] if texts[0][q] != texts[1][q]]
    assert changed == [change.question_id] and texts[1][change.question_id] == REWRITTEN_TEXT
    assert change.ambiguity_before == 0.95 and change.ambiguity_after < 0.2
    assert [g["weight"] for g in before["questionGroups"]] == \
        [g["weight"] for g in after["questionGroups"]]
    assert change.published < f"{change.first_month}-01"


def test_the_moving_evaluators_severity_is_linear_over_the_year_and_the_others_hold():
    for seed in range(6):
        org = generate_org(seed, care_teams=2)
        mover = org.truth.moving_evaluator
        path = [org.truth.severity_path[(mover.evaluator_id, m)] for m in year_months(org)]
        assert path[0] == mover.severity_first and path[-1] == mover.severity_last
        assert np.allclose(np.diff(path), 6.0 * np.sign(path[-1] - path[0]) / 11, atol=1e-3)
        assert {abs(mover.severity_first), abs(mover.severity_last)} == {0.0, 6.0}
        assert mover.team == "care-01" and mover.evaluator_id in org.teams["care-01"]["panel_ids"]
        assert {pid for pid, _ in org.truth.severity_path} == {mover.evaluator_id}
        # what the evaluator gives, against the call's other evaluators, follows the path
        scores = org.tidy_scores()
        care = scores[(scores["team"] == "care-01") & (scores["role"] == "evaluator")]
        gap = care["total_score"] - care.groupby("calibration_id")["total_score"].transform(
            lambda s: (s.sum() - s) / (len(s) - 1))
        mine = gap[care["evaluator_id"] == mover.evaluator_id]
        halves = mine.groupby(care.loc[mine.index, "month"] >= "2026-05").mean()
        assert np.sign(halves[True] - halves[False]) == np.sign(
            mover.severity_last - mover.severity_first)


def test_the_care_teams_count_is_checked():
    for bad in (-1, 61, 2.5, "3", True):
        with pytest.raises(ValueError, match="care_teams must be a whole number from 0 to 60"):
            generate_org(7, care_teams=bad)


def test_the_api_lists_each_form_once_with_its_versions(fresh_sandbox):
    sb = fresh_sandbox(seed=7, care_teams=1)
    change = sb.truth.form_change
    with sb.client() as client:
        listed = client.request("GET", "/api/v2/quality/forms/evaluations",
                                params={"expand": "publishHistory"})["entities"]
        versions = client.request(
            "GET", f"/api/v2/quality/forms/evaluations/{change.version_before}/versions")
        latest = client.request("GET", "/api/v2/quality/publishedforms/evaluations",
                                params={"onlyLatestPerContext": "true"})
        evaluation = client.request("GET", "/api/v2/quality/evaluations/query",
                                    params={"evaluatorUserId": sb.truth.teams["care-01"][
                                        "panel_ids"][0], "pageSize": 100})
    assert sorted(f["name"] for f in listed) == [FORM_NAME, "Voice Quality"]
    care = next(f for f in listed if f["name"] == FORM_NAME)
    assert care["contextId"] == change.form_context_id and care["id"] == change.version_after
    assert [v["id"] for v in care["publishedVersions"]["entities"]] == [
        change.version_before, change.version_after]
    assert [v["id"] for v in versions["entities"]] == [change.version_before,
                                                       change.version_after]
    assert len(latest["entities"]) == 2 and change.version_after in {
        f["id"] for f in latest["entities"]}
    used = {e["evaluationForm"]["id"] for e in evaluation["entities"]}
    assert used == {change.version_before, change.version_after}


@pytest.mark.slow
def test_the_official_sdk_reads_both_forms_and_their_versions(fresh_sandbox):
    sdk = pytest.importorskip("PureCloudPlatformClientV2")
    sb = fresh_sandbox(seed=7, care_teams=1)
    change = sb.truth.form_change
    sdk.configuration.host = sb.base_url
    api = sdk.api_client.ApiClient(sb.base_url).get_client_credentials_token(sb.client_id,
                                                                             sb.client_secret)
    quality = sdk.QualityApi(api)
    listed = quality.get_quality_forms_evaluations(expand="publishHistory")
    care = next(f for f in listed.entities if f.name == FORM_NAME)
    assert care.context_id == change.form_context_id
    assert [v.id for v in care.published_versions.entities] == [change.version_before,
                                                                change.version_after]
    versions = quality.get_quality_forms_evaluation_versions(change.version_after)
    assert [v.id for v in versions.entities] == [change.version_before, change.version_after]
    after = quality.get_quality_forms_evaluation(change.version_after)
    question = next(q for g in after.question_groups for q in g.questions
                    if q.id == change.question_id)
    assert question.text == REWRITTEN_TEXT and after.published is True
    latest = quality.get_quality_publishedforms_evaluations(only_latest_per_context=True)
    assert sorted(f.name for f in latest.entities) == [FORM_NAME, "Voice Quality"]

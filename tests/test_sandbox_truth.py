"""The synthetic org's ground truth is recoverable from the history it generates."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from calib.sandbox import generate_org
from calib.scoring import score_evaluation
from calib.tables import ANSWERS_COLUMNS, SCORES_COLUMNS


@pytest.fixture(scope="module")
def orgs():
    return [generate_org(seed) for seed in (7, 8, 9)]


def finished(org) -> pd.DataFrame:
    s = org.tidy_scores()
    return s[s.status == "FINISHED"].copy()


def against_panel_mean(scores: pd.DataFrame) -> pd.DataFrame:
    panel = scores[scores.role == "evaluator"].groupby("calibration_id").total_score.mean()
    return scores.assign(dev=scores.total_score - scores.calibration_id.map(panel))


def test_tidy_frames_follow_the_tables_contract(orgs):
    org = orgs[0]
    scores, answers = org.tidy_scores(), org.tidy_answers()
    assert list(scores.columns) == list(SCORES_COLUMNS)
    assert list(answers.columns) == list(ANSWERS_COLUMNS)
    assert {str(t) for t in scores.dtypes} >= {"float64", "bool", "datetime64[ns, UTC]"}
    done = scores.status == "FINISHED"
    assert scores.loc[done, "total_score"].between(0, 100).all()
    assert scores.loc[~done, "total_score"].isna().all()
    assert set(scores.role) == {"expert", "evaluator"}
    assert answers.loc[answers.marked_na, "points"].isna().all()
    assert (answers.points.dropna() <= answers.max_points[answers.points.notna()]).all()


def test_same_seed_same_history():
    a, b = generate_org(21).tidy_scores(), generate_org(21).tidy_scores()
    pd.testing.assert_frame_equal(a, b)
    assert not generate_org(22).tidy_scores().total_score.equals(a.total_score)


def test_vectorised_totals_match_calib_scoring(orgs):
    org = orgs[0]
    for ev in list(org.evaluations.values())[:60]:
        answers, result = org.evaluation_result(ev)
        assert result.total_score == pytest.approx(ev.total, nan_ok=True)
        assert result.any_failed_kill == ev.failed_kill
        again = score_evaluation(org.forms_by_id[ev.form_id],
                                 {q: ("N/A" if na else a) for q, (a, na, _) in answers.items()})
        assert again.total_score == pytest.approx(result.total_score, nan_ok=True)


def test_evaluator_severity_is_recovered(orgs):
    errors, estimates, truths = [], [], []
    for org in orgs:
        dev = against_panel_mean(finished(org))
        est = dev[dev.role == "evaluator"].groupby("evaluator_id").dev.mean()
        for evaluator, value in est.items():
            truth = org.truth.evaluator_severity[evaluator]
            errors.append(value - truth)
            estimates.append(value)
            truths.append(truth)
    assert abs(np.mean(errors)) < 1.0, "severity estimates are biased"
    assert np.corrcoef(estimates, truths)[0, 1] > 0.7


def _expert_slope(org, team: str) -> float:
    dev = against_panel_mean(finished(org))
    expert = dev[(dev.role == "expert") & (dev.team == team) & (dev.month < "2026-11")]
    by_month = expert.groupby("month").dev.mean()
    return float(np.polyfit(np.arange(len(by_month)), by_month.to_numpy(), 1)[0])


def test_demo_calibrator_drifts_up_and_north_is_stable(orgs):
    demo, north = [], []
    for org in orgs:
        cid = org.truth.teams["demo"]["calibrator_id"]
        assert org.truth.calibrator_drift[(cid, "2026-05")] == pytest.approx(0.0, abs=1.0)
        assert 10.0 <= org.truth.calibrator_drift[(cid, "2026-10")] <= 12.5
        demo.append(_expert_slope(org, "demo"))
        north.append(_expert_slope(org, "north"))
        assert demo[-1] > north[-1], "the drifting calibrator should drift more than the stable one"
    # true slope ≈ 11 points over 5 months ≈ 2.2 a month; six calls a month make each estimate noisy
    assert 1.0 < np.mean(demo) < 3.5, demo
    assert abs(np.mean(north)) < 1.0, north


def test_ambiguous_question_is_disputed_most(orgs):
    rates = []
    for org in orgs:
        ans = org.tidy_answers()
        yes_no = ans[ans.max_points <= 1]
        category = yes_no.answer_id.where(~yes_no.marked_na, "N/A")
        disputed = (yes_no.assign(category=category)
                    .groupby(["calibration_id", "question_id"]).category.nunique() > 1)
        rate = disputed.groupby("question_id").mean()
        amb = pd.Series(dict(org.truth.question_ambiguity))
        rates.append(rate.idxmax() == amb.idxmax())
        assert np.corrcoef(rate, amb[rate.index])[0, 1] > 0.5
    assert all(rates)


def test_agent_quality_predicts_scores(orgs):
    means, truths = [], []
    for org in orgs:
        s = finished(org)
        s = s[~s.any_failed_kill]
        mean = s.groupby("agent_id").total_score.mean()
        means += list(mean)
        truths += list(pd.Series(dict(org.truth.agent_quality))[mean.index])
    # two or three calls per agent: what happened on each call adds ~15 points of noise
    assert np.corrcoef(means, truths)[0, 1] > 0.4


def test_history_shape(orgs):
    org = orgs[0]
    s = org.tidy_scores()
    per_month = s.groupby(["team", "month"]).calibration_id.nunique()
    assert per_month["demo"].loc["2026-05":"2026-10"].eq(6).all()
    assert per_month["north"].eq(5).all() and list(per_month["pilot"].index) == ["2026-10"]
    nov = s[(s.team == "demo") & (s.month == "2026-11")]
    assert {"FINISHED"} < set(nov.status)
    v1 = s[s.month < "2026-08"].form_id.unique()
    v2 = s[s.month >= "2026-08"].form_id.unique()
    assert len(v1) == len(v2) == 1 and v1[0] != v2[0]
    assert (s.form_context_id.nunique()) == 1


def test_truth_is_read_only(orgs):
    with pytest.raises(TypeError):
        orgs[0].truth.evaluator_severity["x"] = 1.0


def test_size_overrides():
    org = generate_org(3, n_agents=12, n_evaluators=9, months=2, calls_per_month=4,
                       n_questions=20)
    s = org.tidy_scores()
    assert sorted(s.month.unique())[:2] == ["2026-09", "2026-10"]
    assert len(org.truth.teams["north"]["panel_ids"]) == 9
    assert s[(s.team == "north")].calibration_id.nunique() == 8
    form = org.forms[1]
    assert sum(len(g["questions"]) for g in form["questionGroups"]) == 20
    assert len(org.agents) == 12


@pytest.mark.parametrize("kwargs, fragment", [
    ({"seed": "7"}, "integer"), ({"months": 0}, "months"), ({"n_agents": 2}, "n_agents"),
    ({"n_questions": 1}, "n_questions"), ({"calls_per_month": 0}, "calls_per_month"),
])
def test_bad_sizes_raise(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        generate_org(**kwargs)


def test_evaluator_comments_carry_markup(orgs):
    comments = orgs[0].tidy_answers().comment.dropna()
    assert comments.str.contains("<b>").any() and comments.str.contains("&").any()
    assert comments.str.contains('"').any()
    assert not math.isnan(len(comments))

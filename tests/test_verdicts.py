"""The words follow the data: evaluator rule boundaries, the expert's watch/verdict boundary, the
Koo & Li levels, improving / flat / worsening histories, and actions that never contradict the
per-person verdicts (one set of objects feeds the headline, the appendix and summary.json)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from calib.sandbox import generate_org
from calib.stats.consistency import IccEstimate
from calib.stats.expert_drift import EXPERT_DRIFT_COLUMNS, ExpertDriftResult
from calib.stats.severity import SEVERITY_COLUMNS, SeverityResult
from calib.verdicts import (build_verdicts, consistency_verdict, drift_verdicts,
                            evaluator_verdicts, flagged_evaluators, koo_li_level, month_words,
                            window_words)
from tests.test_stats_consistency import history

SUMMARY_KEYS = {"evaluator_id", "evaluator_name", "reference", "n", "bias", "ci_low", "ci_high"}
NAN = float("nan")


# --------------------------------------------------------------------------- evaluators


def severity_result(rows: list[tuple]) -> SeverityResult:
    """rows: (id, severity, ci_low, ci_high, calls_needed)."""
    table = pd.DataFrame([{"evaluator_id": e, "evaluator_name": e.title(), "n_calls": 30,
                           "n_reference": 5, "severity": s, "se": (hi - lo) / 4,
                           "ci_low": lo, "ci_high": hi, "half_width": (hi - lo) / 2,
                           "calls_needed": need} for e, s, lo, hi, need in rows],
                         columns=list(SEVERITY_COLUMNS))
    return SeverityResult(table=table, monthly=pd.DataFrame(), trend=pd.DataFrame(),
                          residual_sd=5.0, df_resid=100, months=("2026-05", "2026-10"),
                          confidence=0.95, target_half_width=3.0, excluded=pd.DataFrame())


def test_lenient_and_harsh_need_a_ci_excluding_zero_and_a_point_beyond_the_threshold():
    verdicts = {v.evaluator_id: v for v in evaluator_verdicts(severity_result([
        ("ann", 4.0, 1.0, 7.0, 0),       # CI excludes 0, point beyond 3: lenient
        ("bob", 3.0, 1.0, 5.0, 0),       # point exactly at the threshold: not beyond
        ("cat", 5.0, -1.0, 11.0, 12),    # point beyond, CI includes 0, half-width 6
        ("dan", -3.5, -5.0, -2.0, 0),    # harsh
        ("eve", 1.0, -0.5, 2.5, 0),      # narrow, inside
        ("fay", 2.0, -1.5, 5.5, 1),      # half-width 3.5: cannot tell yet
        ("gus", NAN, NAN, NAN, NAN),     # one shared call: nothing estimable
    ]), threshold=3.0)}
    assert verdicts["ann"].verdict == "lenient" and verdicts["dan"].verdict == "harsh"
    assert verdicts["bob"].verdict == "within the band"
    assert verdicts["eve"].verdict == "within the band"
    assert verdicts["cat"].verdict == "not enough shared calls"
    assert verdicts["cat"].calls_needed == 12
    assert "about 12 more would settle it" in verdicts["cat"].sentence()
    assert verdicts["fay"].verdict == "not enough shared calls"
    assert verdicts["gus"].calls_needed is None
    assert "too few even to estimate" in verdicts["gus"].sentence()
    assert "lenient" in verdicts["ann"].sentence() and "above" in verdicts["ann"].sentence()
    assert "harsh" in verdicts["dan"].sentence() and "below" in verdicts["dan"].sentence()
    assert "+4.0" in verdicts["ann"].details() and "+1.0 to +7.0" in verdicts["ann"].details()


def test_the_flagged_list_holds_exactly_the_lenient_and_harsh_with_the_summary_keys():
    result = severity_result([("ann", 4.0, 1.0, 7.0, 0), ("bob", 1.0, -0.5, 2.5, 0),
                              ("dan", -3.5, -5.0, -2.0, 0)])
    evaluators = evaluator_verdicts(result)
    from calib.verdicts import Verdicts

    bundle = Verdicts(month="2026-10", months=("2026-10",), evaluators=evaluators, experts=(),
                      consistency=None, trend=None, actions=())
    flagged = flagged_evaluators(bundle)
    assert [f["evaluator_id"] for f in flagged] == ["ann", "dan"]
    for record in flagged:
        assert SUMMARY_KEYS <= set(record)
        assert record["reference"] == "consensus"
    assert flagged[0]["bias"] == 4.0 and flagged[0]["n"] == 30


# --------------------------------------------------------------------------- the expert


def drift_result(rows: list[tuple], slope=(NAN, NAN, NAN)) -> ExpertDriftResult:
    """rows: (month, drift, sd, n_calls); CIs are t-based as in expert_drift."""
    from scipy import stats as sps

    records = []
    for month, d, sd, n in rows:
        half = sps.t.ppf(0.975, n - 1) * sd / np.sqrt(n)
        records.append({"month": month, "expert_id": "quinn", "expert_name": "Quinn Calder",
                        "n_calls": n, "drift": d, "sd": sd, "ci_low": d - half,
                        "ci_high": d + half})
    return ExpertDriftResult(table=pd.DataFrame(records, columns=list(EXPERT_DRIFT_COLUMNS)),
                             calls=pd.DataFrame(), slope_per_month=slope[0],
                             slope_ci_low=slope[1], slope_ci_high=slope[2], confidence=0.95,
                             excluded=pd.DataFrame())


MONTHS = [f"2026-{m:02d}" for m in range(5, 11)]


def verdict_for(rows, slope=(NAN, NAN, NAN), sustained=3):
    (only,) = drift_verdicts(drift_result(rows, slope), month=rows[-1][0], threshold=10.0,
                             sustained_months=sustained)
    return only


def test_one_month_beyond_the_threshold_with_a_wide_ci_is_watch_not_a_verdict():
    # the demo month: +11.7 points, 95% CI about 0.9 to 22.6
    rows = [(m, 0.5, 3.0, 6) for m in MONTHS[:-1]] + [("2026-10", 11.7, 10.3, 6)]
    v = verdict_for(rows)
    assert v.ci_low > 0 and v.drift > 10
    assert v.status == "watch" and not v.flagged
    assert v.months_beyond == 1
    assert v.sentence().startswith("Watch Quinn Calder")
    assert "not yet enough evidence" in v.sentence()


def test_a_ci_clearing_the_threshold_after_the_monthly_checks_is_a_verdict():
    rows = [(m, 0.5, 3.0, 6) for m in MONTHS[:-1]] + [("2026-10", 25.0, 3.0, 6)]
    v = verdict_for(rows)
    assert v.family_confidence == pytest.approx(1 - 0.05 / 6)
    assert v.family_ci_low > 10
    assert v.status == "drift" and v.flagged
    assert "has drifted from the panel" in v.sentence()


def test_the_widened_ci_must_clear_the_threshold_not_only_the_95_percent_one():
    # 95% CI clears 10 (lower limit about 10.8) but the CI widened for six monthly checks does not
    rows = [(m, 0.5, 3.0, 6) for m in MONTHS[:-1]] + [("2026-10", 14.0, 3.0, 6)]
    v = verdict_for(rows)
    assert v.ci_low > 10 > v.family_ci_low
    assert v.status == "watch"


def test_three_months_in_a_row_beyond_the_threshold_are_a_verdict_two_are_watch():
    beyond = (12.0, 8.0, 6)
    three = [(m, 0.5, 3.0, 6) for m in MONTHS[:3]] + [(m, *beyond) for m in MONTHS[3:]]
    two = [(m, 0.5, 3.0, 6) for m in MONTHS[:4]] + [(m, *beyond) for m in MONTHS[4:]]
    assert verdict_for(three).status == "drift"
    assert verdict_for(three).months_beyond == 3
    assert "each of the last 3 months" in verdict_for(three).sentence()
    assert verdict_for(two).status == "watch"
    assert verdict_for(two, sustained=2).status == "drift"


def test_a_run_is_broken_by_a_change_of_direction_or_a_missing_month():
    flip = [(m, 0.5, 3.0, 6) for m in MONTHS[:3]] + [
        ("2026-08", -12.0, 8.0, 6), ("2026-09", 12.0, 8.0, 6), ("2026-10", 12.0, 8.0, 6)]
    assert verdict_for(flip).months_beyond == 2 and verdict_for(flip).status == "watch"
    gap = [(m, 12.0, 8.0, 6) for m in ("2026-06", "2026-07", "2026-09", "2026-10")]
    assert verdict_for(gap).months_beyond == 2 and verdict_for(gap).status == "watch"


def test_watch_needs_a_sizeable_real_gap_or_a_trend_towards_the_band():
    quiet = [(m, 1.0, 5.0, 6) for m in MONTHS]
    assert verdict_for(quiet).status == "steady"
    assert "in line with the panel" in verdict_for(quiet).sentence()
    assert "no clear trend" in verdict_for(quiet).sentence()
    tiny = [(m, 0.3, 0.1, 6) for m in MONTHS]  # real (CI excludes 0) but far inside the band
    assert verdict_for(tiny).ci_low > 0 and verdict_for(tiny).status == "steady"
    halfway = [(m, 0.5, 3.0, 6) for m in MONTHS[:-1]] + [("2026-10", 5.0, 2.0, 6)]
    assert verdict_for(halfway).status == "watch"
    # a significant trend: watch once the band lies inside this month's CI, not before
    assert verdict_for(quiet, slope=(1.2, 0.3, 2.1)).status == "steady"
    wide = [(m, 1.0, 10.0, 6) for m in MONTHS]
    trending = verdict_for(wide, slope=(1.2, 0.3, 2.1))
    assert trending.ci_high > 10 and trending.status == "watch"
    assert "grown by 1.2 points a month since May 2026" in trending.sentence()


def test_an_expert_without_two_calls_in_the_month_has_no_verdict():
    v = verdict_for([("2026-09", 1.0, 5.0, 6), ("2026-10", 4.0, NAN, 1)])
    assert v.status == "no data" and "only 1 call" in v.sentence()


# --------------------------------------------------------------------------- the team


@pytest.mark.parametrize(("value", "level"), [
    (0.0, "poor"), (0.4999, "poor"), (0.5, "moderate"), (0.7499, "moderate"), (0.75, "good"),
    (0.9, "good"), (0.9001, "excellent"), (-0.2, "poor"), (1.0, "excellent")])
def test_koo_li_levels_and_their_cut_offs(value, level):
    assert koo_li_level(value) == level


def test_koo_and_lis_own_example_reads_good_to_excellent():
    # Koo & Li (2016), "How to interpret ICC": ICC .932 with 95% CI .879 to .965 is "good" to
    # "excellent" on the basis of the CI
    estimate = IccEstimate(value=0.932, ci_low=0.879, ci_high=0.965, n_calls=30,
                           n_evaluators=3, n_dropped_calls=0, confidence=0.95)
    v = consistency_verdict(estimate, first_month="2026-05", last_month="2026-10")
    assert (v.level, v.low_level, v.high_level) == ("excellent", "good", "excellent")
    assert v.words == "uncertain between good and excellent"
    assert "ICC(A,1) 0.93, 95% CI 0.88 to 0.96" in v.details()


NOISE = {
    "improving": {f"2026-{m:02d}": n for m, n in zip(range(5, 11), (7, 6, 5, 3, 2, 1))},
    "flat": {f"2026-{m:02d}": 3.5 for m in range(5, 11)},
    "worsening": {f"2026-{m:02d}": n for m, n in zip(range(5, 11), (1, 2, 3, 5, 6, 7))},
}


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("shape", ["improving", "flat", "worsening"])
def test_the_trend_sentence_follows_the_history(shape, seed):
    v = build_verdicts(history(NOISE[shape], seed=seed), n_permutations=1999)
    assert v.trend.direction == shape, v.trend.details()
    sentence = v.trend.sentence()
    if shape == "flat":
        assert sentence.startswith("No clear change over May–October 2026")
    else:
        way, move = (("more", "down") if shape == "improving" else ("less", "up"))
        assert f"becoming {way} consistent ({shape})" in sentence
        assert f"{move} from {v.trend.spread_first:.1f} in May 2026" in sentence
        assert f"now about {v.trend.spread_last:.1f} points apart" in sentence
    assert "permutation p =" in v.trend.details()
    assert len(v.trend.monthly) == 6


ALIKE = {"ann": 0.0, "bob": 0.0, "cat": 0.0, "dan": 0.0}


@pytest.mark.parametrize(("noise", "severity", "words"), [(0.5, ALIKE, "excellent"),
                                                          (8.0, None, "poor")])
def test_the_consistency_sentence_follows_the_agreement(noise, severity, words):
    scores = history({f"2026-{m:02d}": noise for m in range(5, 11)},
                     **({"severity": severity} if severity else {}))
    v = build_verdicts(scores, n_permutations=999)
    assert v.consistency.certain and v.consistency.level == words, v.consistency.details()
    assert f"is {words} over May–October 2026" in v.consistency.sentence()
    assert "Koo & Li" in v.consistency.sentence()


def test_an_interval_spanning_two_levels_is_uncertain_between_them():
    # four evaluators who differ in level: the ICC(A,1) interval is wide (.55 to .98)
    v = build_verdicts(history({f"2026-{m:02d}": 0.5 for m in range(5, 11)}),
                       n_permutations=999)
    c = v.consistency
    assert (c.low_level, c.level, c.high_level) == ("moderate", "excellent", "excellent")
    assert not c.certain
    assert "uncertain between moderate and excellent over May–October 2026" in c.sentence()
    assert "most likely excellent" in c.sentence()


# --------------------------------------------------------------------------- actions


def sandbox_verdicts(seeds=range(6)):
    for seed in seeds:
        scores = generate_org(seed).tidy_scores()
        for team in ("demo", "north", "pilot", "leadership"):
            yield build_verdicts(scores[scores.team == team], month="2026-10",
                                 n_permutations=499)


def check_actions_agree_with_verdicts(v) -> None:
    assert 1 <= len(v.actions) <= 3
    assert [a.rank for a in v.actions] == list(range(1, len(v.actions) + 1))
    flagged = {e.evaluator_id: e for e in v.evaluators if e.flagged}
    short = {e.evaluator_id for e in v.evaluators if e.verdict == "not enough shared calls"}
    kinds = [a.kind for a in v.actions]
    for a in v.actions:
        if a.kind == "review severity":
            assert set(a.subjects) == set(flagged)
            for e in flagged.values():
                assert f"{e.name} ({e.verdict})" in a.title
        if a.kind == "more shared calls":
            assert set(a.subjects) == short
        if a.kind == "rotate calibrator":
            assert all(e.flagged for e in v.experts if e.expert_id in a.subjects)
        if a.kind == "watch calibrator":
            assert all(e.status == "watch" for e in v.experts if e.expert_id in a.subjects)
        for e in v.evaluators:  # nobody is called lenient or harsh against their verdict
            for word in ("lenient", "harsh"):
                if f"{e.name} ({word})" in a.sentence():
                    assert e.verdict == word
    # the most serious verdicts always make it into the three actions
    if any(e.flagged for e in v.experts):
        assert kinds[0] == "rotate calibrator"
    if flagged:
        assert "review severity" in kinds
    if "keep cadence" in kinds:
        assert not flagged and not short and not any(e.flagged for e in v.experts)


def test_actions_never_contradict_the_per_person_verdicts_on_sandbox_teams():
    seen = set()
    for v in sandbox_verdicts():
        check_actions_agree_with_verdicts(v)
        seen |= {a.kind for a in v.actions}
    assert {"review severity", "watch calibrator", "more shared calls"} <= seen


def test_a_quiet_team_gets_keep_the_cadence_with_its_evidence():
    v = build_verdicts(history({f"2026-{m:02d}": 0.3 for m in range(5, 11)}, severity=ALIKE),
                       n_permutations=999)
    check_actions_agree_with_verdicts(v)
    (only,) = v.actions
    assert only.kind == "keep cadence"
    assert "Every evaluator is within the ±3-point band." in only.evidence
    assert v.experts[0].status == "steady" and v.experts[0].sentence() in only.evidence
    assert v.consistency.sentence() in only.evidence and v.trend.sentence() in only.evidence


def test_a_drift_verdict_comes_first_and_the_expert_joins_the_flagged_list():
    rows = [(m, 12.0, 8.0, 6) for m in MONTHS]
    experts = drift_verdicts(drift_result(rows), month="2026-10")
    v = build_verdicts(history({f"2026-{m:02d}": 3.0 for m in range(5, 11)}),
                       n_permutations=999)
    from calib.verdicts import Verdicts, rank_actions

    bundle = Verdicts(month="2026-10", months=v.months, evaluators=v.evaluators,
                      experts=experts, consistency=v.consistency, trend=v.trend,
                      actions=rank_actions(v.evaluators, experts, v.consistency, v.trend))
    check_actions_agree_with_verdicts(bundle)
    assert bundle.actions[0].kind == "rotate calibrator"
    assert experts[0].sentence() in bundle.actions[0].evidence
    assert bundle.flagged_evaluators()[-1]["evaluator_id"] == "quinn"
    assert bundle.flagged_evaluators()[-1]["bias"] == 12.0


def test_headline_and_appendix_are_the_same_objects_and_to_dict_is_json():
    for v in sandbox_verdicts(range(2)):
        lines = v.headline()
        expected = [x.sentence() for x in (v.consistency, v.trend) if x is not None]
        assert list(lines[:len(expected)]) == expected
        assert list(lines[len(expected):]) == [f"{a.rank}. {a.sentence()}" for a in v.actions]
        data = json.loads(json.dumps(v.to_dict(), allow_nan=False))
        assert data["flagged_evaluators"] == json.loads(json.dumps(v.flagged_evaluators(),
                                                                   allow_nan=False))
        assert [e["sentence"] for e in data["evaluators"]] == [e.sentence()
                                                               for e in v.evaluators]
        assert {f["evaluator_id"] for f in data["flagged_evaluators"]} == (
            {e.evaluator_id for e in v.evaluators if e.flagged}
            | {e.expert_id for e in v.experts if e.flagged})


def test_what_cannot_be_judged_is_named_in_problems():
    scores = generate_org(0).tidy_scores()
    v = build_verdicts(scores[scores.team == "pilot"], n_permutations=499)
    assert v.consistency is None and v.trend is None
    assert "ICC" in v.problems["consistency"] and "two months" in v.problems["trend"]
    assert all(e.verdict == "not enough shared calls" for e in v.evaluators)
    alone = history({"2026-09": 2.0, "2026-10": 2.0})
    alone = alone[alone["role"].eq("expert") | (alone["evaluator_id"] == alone["calibration_id"]
                                                .map(lambda c: ["ann", "bob"][int(c[-1]) % 2]))]
    v = build_verdicts(alone, n_permutations=499)  # never two panel evaluators on one call
    assert "No call was scored by two panel evaluators" in v.problems["severity"]
    assert {e.evaluator_id for e in v.evaluators} == {"ann", "bob"}
    assert all(e.verdict == "not enough shared calls" and e.n_calls == 0 for e in v.evaluators)
    assert v.actions[0].kind == "more shared calls"
    with pytest.raises(ValueError, match="bias_threshold"):
        build_verdicts(scores, bias_threshold=0)
    with pytest.raises(ValueError, match="YYYY-MM"):
        build_verdicts(scores, month="October")
    with pytest.raises(ValueError, match="'month'"):
        build_verdicts(scores.drop(columns="month"))


def test_month_words():
    assert month_words("2026-10") == "October 2026"
    assert window_words("2026-05", "2026-10") == "May–October 2026"
    assert window_words("2025-11", "2026-04") == "November 2025–April 2026"
    assert window_words("2026-10", "2026-10") == "October 2026"

"""The sandbox's history looks like a real QM team's calibration months.

Bands (from the QM leads' description of a normal month): totals mostly 65–98; median score
range within a call about 8–12 points; about 20–30 % of calls aligned (range ≤ 5), 40–55 %
discuss (6–15), 20–30 % full session (> 15); a fatal question failed in ~1–3 % of evaluations,
and then by the whole panel. The tier mix is checked over three seeds pooled (198 calls): one
seed's 66 calls give each share a sampling SD of ~5–6 points, so a single seed can leave a
10-point band by chance while the generator is on target (20 seeds average 27/48/25 %).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from calib.sandbox import generate_org
from calib.stats import calibrator_drift
from calib.stats.variance import calibration_variance

SEEDS = (7, 8, 9)
PRODUCT = "Demonstrates strong product knowledge"


@pytest.fixture(scope="module")
def histories():
    out = {}
    for seed in SEEDS:
        org = generate_org(seed)
        s, a = org.tidy_scores(), org.tidy_answers()
        keep = s.team.isin(["demo", "north"]) & (s.month <= "2026-10") & (s.status == "FINISHED")
        out[seed] = (org, s[keep], a[a.calibration_id.isin(s.loc[keep, "calibration_id"])])
    return out


def test_tier_mix_and_median_range_match_a_real_team(histories):
    tables = []
    for seed, (_, scores, _) in histories.items():
        table = calibration_variance(scores).table
        assert 8.0 <= table["range"].median() <= 12.0, (seed, table["range"].median())
        shares = table.tier.value_counts(normalize=True)
        assert (shares.reindex(["aligned", "discuss", "full_session"]) >= 0.1).all(), shares
        tables.append(table)
    pooled = pd.concat(tables)
    shares = pooled.tier.value_counts(normalize=True)
    assert 0.20 <= shares["aligned"] <= 0.30, shares
    assert 0.40 <= shares["discuss"] <= 0.55, shares
    assert 0.20 <= shares["full_session"] <= 0.30, shares
    assert 8.0 <= pooled["range"].median() <= 12.0


def test_totals_sit_mostly_between_65_and_98(histories):
    totals = pd.concat([s.total_score for _, s, _ in histories.values()])
    assert totals.between(65, 98).mean() >= 0.7
    assert 72 <= totals.median() <= 85


def test_a_fatal_failure_is_rare_and_read_by_the_whole_panel(histories):
    scores = pd.concat([s for _, s, _ in histories.values()])
    rate = scores.any_failed_kill.mean()
    assert 0.005 <= rate <= 0.04, rate
    per_call = scores.groupby("calibration_id").any_failed_kill.mean()
    assert set(per_call.unique()) <= {0.0, 1.0}  # never one evaluator's noise
    assert (scores.loc[scores.any_failed_kill, "total_score"] == 0).all()


def test_product_knowledge_is_the_recurring_dispute_and_clear_questions_rarely_flip(histories):
    product_high = []
    for seed, (_, _, answers) in histories.items():
        category = answers.answer_id.where(~answers.marked_na, "N/A")
        disputed = (answers.assign(category=category)
                    .groupby(["team", "month", "calibration_id", "question_text"])
                    .category.nunique().gt(1))
        per_q = disputed.groupby(level="question_text").mean()
        assert per_q.idxmax() == PRODUCT, (seed, per_q.sort_values().tail(3))
        monthly = disputed.groupby(level=["team", "month", "question_text"]).mean()
        high = (monthly >= 0.5).groupby(level="question_text").mean()
        product_high.append(high[PRODUCT])
        assert high[PRODUCT] == high.max(), (seed, high.sort_values().tail(3))
        assert (high.drop(PRODUCT) < 0.5).all(), (seed, high.sort_values().tail(3))
        clear = per_q[per_q.index.isin(["Uses the approved greeting", "Avoids jargon",
                                        "Follows the data-protection policy"])]
        assert (clear <= 0.1).all(), (seed, clear)
    # disputed on half the calls or more in most team-months (12 a seed; 6 calls each)
    assert np.mean(product_high) >= 0.5, product_high


def test_na_is_used_and_disputed_on_applicability_questions(histories):
    answers = pd.concat([a for _, _, a in histories.values()])
    by_call = answers.groupby(["calibration_id", "question_text"]).marked_na.agg(["any", "all"])
    mixed = (by_call["any"] & ~by_call["all"]).groupby(level="question_text").sum()
    assert mixed.get("Uses hold appropriately", 0) >= 3
    assert mixed.get("Verifies the customer's identity", 0) >= 1
    na_share = answers.groupby("question_text").marked_na.mean()
    assert 0.3 <= na_share["Uses hold appropriately"] <= 0.7
    assert na_share[["Uses the approved greeting", "Reads the recording disclosure"]].eq(0).all()


def _independent(seed: int) -> tuple:
    """The seed's demo and north history as the panel scores it without AI scoring."""
    org = generate_org(seed, ai_scoring=False)
    s = org.tidy_scores()
    return org, s[s.team.isin(["demo", "north"]) & (s.month <= "2026-10") &
                  (s.status == "FINISHED")]


def test_drift_is_flagged_for_demo_in_october_and_not_for_north(histories):
    """The generator's drift story, against ``truth.calibrator_drift`` (the expert against a
    panel scoring independently), so on the orgs without AI scoring: from 2026-08 the panel
    anchors on the AI, which is lenient on empathy, and that pulls the panel up by about 0.4
    points a month (40 seeds: October's measured drift 11.6 instead of 12.0, flagged in 35 of 40
    instead of 36). With AI scoring the demo seed still shows the month itself."""
    for seed in histories:
        org, scores = _independent(seed)
        demo = calibrator_drift(scores[scores.team == "demo"])
        north = calibrator_drift(scores[scores.team == "north"])
        assert demo.flagged and not north.flagged, (seed, demo.table, north.table)
        oct_ = demo.table.set_index("month").loc["2026-10"]
        truth = org.truth.calibrator_drift[(org.truth.teams["demo"]["calibrator_id"], "2026-10")]
        assert oct_["ci_low"] <= truth <= oct_["ci_high"]
        assert oct_["drift"] == demo.table["drift"].max() or demo.slope_ci_low > 0
    # the demo seed shows the month itself, not only the trend, with AI scoring as without
    for scores in (histories[7][1], _independent(7)[1]):
        demo = calibrator_drift(scores.query("team == 'demo'"))
        assert demo.flagged and not calibrator_drift(scores.query("team == 'north'")).flagged
        table = demo.table.set_index("month")
        assert bool(table.loc["2026-10", "flagged"])
        assert not table.loc[:"2026-07", "flagged"].any()


def test_severities_span_about_plus_minus_four_points(histories):
    for org, _, _ in histories.values():
        for team in ("demo", "north"):
            panel = org.truth.teams[team]["panel_ids"]
            sev = np.array([org.truth.evaluator_severity[p] for p in panel])
            assert abs(sev.mean()) < 1e-3  # centred per team (rounded to 0.001)
            assert 6.5 <= sev.max() - sev.min() <= 11.5

"""The AI calibration recovers the sandbox's known truth over many seeds.

* **Verdicts** (team north, whose expert reads stably): the questions the AI reads badly
  (``Truth.ai_questions``: empathy lenient, hold confusing N/A) are the ones the verdicts say to
  review or turn off, the well-read ones are kept. Team demo's expert is the seed's drifting
  calibrator, who grows lenient from 2026-08: against that expert the lenient AI reads empathy
  *as the expert does*, so there only the N/A confusion must show (it does not depend on
  leniency) — the verdict follows the reference, as it should.
* **Anchoring**: the panel member who keeps the AI's answers most (``Truth.ai_acceptance``)
  tops the list of who keeps the AI's answers when they are not the expert's.
* **Bias**: the AI's total-score bias against the expert (its suggestions all kept, the rest as
  the expert read it) has a true value per seed and team: the mean over a large population of
  calls. One large org per seed (240 calls a month) is cut into 20 disjoint samples of 12 calls
  a month (a team's realistic calibration load, about 34 calls with AI answers); each sample's
  95% interval must cover the mean of the *other* 19 samples of its seed and team (its truth,
  estimated without it) at 95% ± 3 points. The truth must be that large: against the other 9 of
  10 samples its own error alone cuts the coverage to about 93.7% (measured: 91.7%).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from calib.ai.agreement import paired_answers
from calib.ai.analysis import ai_calibration
from calib.ai.bias import ai_bias, ai_scores
from calib.sandbox import generate_org
from tests.ai_frames import org_ai_tables

pytestmark = pytest.mark.slow  # 60 team-seeds and 8 large orgs: about a minute of CPU

VERDICT_SEEDS = range(30)
BIAS_SEEDS = range(8)
BIG, SAMPLE = 240, 12


def _outcomes(org, team):
    """The verdict rows of one team, and whether its most anchored evaluator comes first."""
    ai_answers, ai_runs = org_ai_tables(org)
    answers = org.tidy_answers()
    pick = (lambda f: f[f["team"] == team])
    result = ai_calibration(pick(answers), pick(ai_answers), pick(ai_runs), org.forms_by_id)
    readings = {q: t.reading for q, t in org.truth.ai_questions.items()}
    acceptance = org.truth.ai_acceptance
    anchorer = max(org.truth.teams[team]["panel_ids"], key=lambda p: acceptance.get(p, 0.0))
    rows = pd.DataFrame([{"seed": org.seed, "team": team, "question_id": v.question_id,
                          "reading": readings[v.question_id], "verdict": v.verdict}
                         for v in result.verdicts])
    return rows, result.evaluators["evaluator_id"].iloc[0] == anchorer


@pytest.fixture(scope="module")
def outcomes():
    frames, first = [], []
    for seed in VERDICT_SEEDS:
        org = generate_org(seed, calls_per_month=12, conversations_per_day=1)
        for team in ("north", "demo"):
            rows, top = _outcomes(org, team)
            frames.append(rows)
            first.append(top)
    return pd.concat(frames, ignore_index=True), first


@pytest.fixture(scope="module")
def verdicts(outcomes):
    return outcomes[0]


def test_badly_read_questions_are_flagged_and_well_read_ones_kept(verdicts):
    north = verdicts[verdicts["team"] == "north"]
    flagged = north["verdict"] != "keep on"
    well = north["reading"] == "reads well"
    # measured over these 30 seeds (about 33 calls each): 56 of 60 badly-read questions
    # flagged (lenient 26 of 30, N/A-confused 30 of 30), 109 of 120 well-read ones kept
    assert flagged[~well].mean() >= 0.9, north[~well & ~flagged]
    assert (~flagged[well]).mean() >= 0.85
    by_kind = north.groupby("reading")["verdict"].agg(lambda v: (v != "keep on").mean())
    assert by_kind["lenient"] >= 0.8 and by_kind["confuses N/A"] >= 0.95
    # confusing N/A is the worse reading: it is turned off more often than the lenient one
    off = north.groupby("reading")["verdict"].agg(lambda v: (v == "turn off").mean())
    assert off["confuses N/A"] > off["lenient"] and off["reads well"] == 0


def test_the_na_confusion_shows_even_against_a_lenient_expert(verdicts):
    demo = verdicts[verdicts["team"] == "demo"]
    # measured: hold flagged on 30 of 30 seeds; no well-read question turned off (of 120)
    hold = demo[demo["reading"] == "confuses N/A"]
    assert (hold["verdict"] != "keep on").mean() >= 0.95
    assert (demo.loc[demo["reading"] == "reads well", "verdict"] == "turn off").mean() == 0


def test_the_evaluator_who_anchors_on_the_ai_comes_first(outcomes):
    """Each team's panel has one evaluator who keeps the AI's answer 80-90 % of the times it
    differs from their own (the seed's edge case 1, now anchoring on the AI): ranked by how often
    they kept AI answers the expert did not give, they come first (measured: 59 of 60)."""
    _, first = outcomes
    assert sum(first) >= 0.95 * len(first)


def _bias_cover(seed):
    org = generate_org(seed, calls_per_month={"north": BIG, "demo": BIG, "pilot": 1},
                       conversations_per_day=1)
    ai_answers, _ = org_ai_tables(org)
    answers = org.tidy_answers()
    rows = []
    for team in ("north", "demo"):
        a = answers[answers["team"] == team]
        scored = ai_scores(paired_answers(a, ai_answers[ai_answers["team"] == team]), a,
                           org.forms_by_id)
        # disjoint samples of SAMPLE calls a month: the k-th call of each month goes to
        # sample k mod (BIG / SAMPLE)
        calls = a[["calibration_id", "month"]].drop_duplicates().sort_values(
            ["month", "calibration_id"])
        calls["sample"] = calls.groupby("month").cumcount() % (BIG // SAMPLE)
        scored = scored.merge(calls[["calibration_id", "sample"]], on="calibration_id")
        wide = scored.pivot_table(index=["calibration_id", "sample"], columns="evaluator_id",
                                  values="total_score").reset_index()
        diff = (wide["AI"] - wide["expert"]).to_numpy()
        total, count = np.nansum(diff), np.isfinite(diff).sum()
        for k, sub in scored.groupby("sample"):
            b = ai_bias(sub)
            mine = diff[(wide["sample"] == k).to_numpy()]
            truth = (total - np.nansum(mine)) / (count - np.isfinite(mine).sum())
            rows.append({"seed": seed, "team": team, "sample": k, "truth": truth, **b})
    return rows


def test_the_ai_bias_interval_covers_its_true_bias_at_the_nominal_rate():
    cover = pd.DataFrame([r for seed in BIAS_SEEDS for r in _bias_cover(seed)])
    hit = (cover["ci_low"] <= cover["truth"]) & (cover["truth"] <= cover["ci_high"])
    # measured: 301 of 320 intervals cover (94.1%)
    assert len(cover) >= 300 and cover["ci_low"].notna().all()
    assert 0.92 <= hit.mean() <= 0.98, hit.mean()
    # the lenient AI shows: against north's stable expert it scores calls higher on average
    north = cover[cover["team"] == "north"].groupby("seed")["truth"].mean()
    assert (north > 0).mean() >= 0.9

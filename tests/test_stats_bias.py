"""Evaluator bias, Bland-Altman and severity: published examples, statsmodels cross-checks, policy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from hypothesis import given, settings
from hypothesis import strategies as st

from calib.stats.bias import bland_altman, evaluator_bias, evaluator_severity

# Shrout & Fleiss (1979), Table 2: 6 targets rated by 4 judges.
SHROUT_FLEISS = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9],
                 [6, 2, 4, 7]]
# Bland & Altman (1986), Table 1: PEFR (l/min), first reading with each meter, 17 subjects.
WRIGHT = [494, 395, 516, 434, 476, 557, 413, 442, 650, 433, 417, 656, 267, 478, 178, 423, 427]
MINI_WRIGHT = [512, 430, 520, 428, 500, 600, 364, 380, 658, 445, 432, 626, 260, 477, 259, 350,
               451]


def shrout_fleiss_scores(expert: int | None = None) -> pd.DataFrame:
    rows = []
    for i, ratings in enumerate(SHROUT_FLEISS):
        for j, value in enumerate(ratings):
            rows.append({"calibration_id": f"t{i + 1}", "evaluator_id": f"j{j + 1}",
                         "evaluator_name": f"Judge {j + 1}", "evaluation_id": f"e{i}{j}",
                         "role": "expert" if j == expert else "evaluator",
                         "status": "FINISHED", "total_score": float(value)})
    return pd.DataFrame(rows)


def random_unbalanced(seed: int, n_calls: int = 30, n_raters: int = 6,
                      keep: float = 0.6) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    severity = rng.normal(0, 4, n_raters)
    rows = []
    for c in range(n_calls):
        quality = rng.normal(75, 8)
        chosen = [r for r in range(n_raters) if rng.random() < keep]
        chosen = chosen if len(chosen) >= 2 else [0, 1]
        for r in chosen:
            score = float(np.clip(quality + severity[r] + rng.normal(0, 3), 0, 100))
            rows.append({"calibration_id": f"c{c:03d}", "evaluator_id": f"r{r}",
                         "evaluator_name": f"Rater {r}", "evaluation_id": f"c{c}r{r}",
                         "role": "expert" if r == 0 else "evaluator", "status": "FINISHED",
                         "total_score": score})
    return pd.DataFrame(rows)


def test_bland_altman_reproduces_the_1986_pefr_example():
    r = bland_altman(WRIGHT, MINI_WRIGHT)
    assert r.n == 17 and r.n_dropped == 0
    assert r.bias == pytest.approx(-2.1, abs=0.05)
    assert r.sd == pytest.approx(38.8, abs=0.05)
    assert (r.loa_low, r.loa_high) == pytest.approx((-78.10, 73.86), abs=0.01)
    assert r.loa_se == pytest.approx(np.sqrt(3 * r.sd ** 2 / 17))


def test_bland_altman_drops_and_counts_incomplete_pairs():
    r = bland_altman([1.0, 2.0, np.nan, 4.0], [1.0, 1.0, 3.0, 2.0])
    assert r.n == 3 and r.n_dropped == 1 and r.bias == pytest.approx(1.0)


def test_bland_altman_rejects_mismatched_or_too_short_input():
    with pytest.raises(ValueError, match="same length"):
        bland_altman([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="at least two complete pairs"):
        bland_altman([1.0, np.nan], [2.0, 3.0])


def test_leave_one_out_consensus_bias_matches_shrout_fleiss_judge_1():
    out = evaluator_bias(shrout_fleiss_scores())
    judge1 = out[(out.evaluator_id == "j1") & (out.reference == "consensus")].iloc[0]
    assert judge1["n"] == 6
    assert judge1["bias"] == pytest.approx(19 / 6)
    assert (judge1["ci_low"], judge1["ci_high"]) == pytest.approx((2.04, 4.29), abs=0.005)
    assert bool(judge1["flagged"]), "CI excludes 0 and 3.17 > 3 points: must be flagged"
    assert (out.reference == "expert").sum() == 0, "no expert in the data: no expert rows"


def test_bias_against_the_expert_equals_bland_altman_of_the_paired_scores():
    out = evaluator_bias(shrout_fleiss_scores(expert=3), threshold=0.5)
    vs_expert = out[out.reference == "expert"].set_index("evaluator_id")
    assert list(vs_expert.index) == ["j1", "j2", "j3"], "the expert has no row against itself"
    table = np.array(SHROUT_FLEISS, dtype=float)
    for j in range(3):
        ref = bland_altman(table[:, j], table[:, 3])
        row = vs_expert.loc[f"j{j + 1}"]
        assert (row["bias"], row["sd"], row["ci_low"], row["ci_high"], row["loa_low"],
                row["loa_high"]) == pytest.approx((ref.bias, ref.sd, ref.ci_low, ref.ci_high,
                                                   ref.loa_low, ref.loa_high))
    assert list(out.columns) == ["evaluator_id", "evaluator_name", "reference", "n", "bias",
                                 "sd", "ci_low", "ci_high", "loa_low", "loa_high", "flagged"]


def test_flag_needs_both_a_ci_excluding_zero_and_a_practical_size():
    out = evaluator_bias(shrout_fleiss_scores(), threshold=3.5)
    consensus = out[out.reference == "consensus"].set_index("evaluator_id")
    # judge 1: CI excludes 0 but 3.17 < 3.5; judge 2: -3.72, CI excludes 0 -> flagged
    assert not consensus.loc["j1", "flagged"]
    assert consensus.loc["j2", "flagged"]
    assert consensus.loc["j2", "bias"] == pytest.approx(-3.7222, abs=1e-4)


def test_excluded_evaluations_are_reported_with_reasons():
    data = shrout_fleiss_scores(expert=3)
    extra = pd.DataFrame([
        {"calibration_id": "t1", "evaluator_id": "j5", "evaluation_id": "p1", "role": "evaluator",
         "status": "INPROGRESS", "total_score": np.nan},
        {"calibration_id": "t2", "evaluator_id": "j6", "evaluation_id": "p2", "role": "evaluator",
         "status": "FINISHED", "total_score": np.nan},
        {"calibration_id": "t9", "evaluator_id": "j1", "evaluation_id": "p3", "role": "evaluator",
         "status": "FINISHED", "total_score": 50.0},
    ])
    out = evaluator_bias(pd.concat([data, extra], ignore_index=True))
    excluded = pd.DataFrame(out.attrs["excluded"]).set_index("evaluation_id")
    assert set(excluded.index) == {"p1", "p2", "p3"}
    assert "not FINISHED" in excluded.loc["p1", "reason"]
    assert "without a total score" in excluded.loc["p2", "reason"]
    assert "only finished evaluation" in excluded.loc["p3", "reason"]
    assert out.loc[(out.evaluator_id == "j1") & (out.reference == "consensus"), "n"].item() == 6


def test_bad_input_raises_sentences_that_say_what_to_fix():
    one = shrout_fleiss_scores()
    with pytest.raises(ValueError, match="at least two evaluators"):
        evaluator_bias(one[one.evaluator_id == "j1"])
    wrong = one.copy()
    wrong.loc[0, "total_score"] = 130.0
    with pytest.raises(ValueError, match="outside 0-100"):
        evaluator_bias(wrong)
    with pytest.raises(ValueError, match="lacks the column"):
        evaluator_bias(one.drop(columns="total_score"))
    with pytest.raises(ValueError, match="confidence"):
        evaluator_bias(one, confidence=95)
    two_experts = one.copy()
    two_experts.loc[two_experts.calibration_id == "t1", "role"] = "expert"
    with pytest.raises(ValueError, match="expert"):
        evaluator_bias(two_experts)


def test_severity_on_balanced_data_is_mean_minus_grand_mean_with_anova_se():
    out = evaluator_severity(shrout_fleiss_scores()).set_index("evaluator_id")
    table = np.array(SHROUT_FLEISS, dtype=float)
    expected = table.mean(axis=0) - table.mean()
    np.testing.assert_allclose(out["severity"], expected)
    # Shrout & Fleiss (1979) Table 2: EMS = 1.02 with (n-1)(k-1) = 15 df.
    assert out.attrs["df_resid"] == 15
    assert out.attrs["residual_sd"] ** 2 == pytest.approx(1.02, abs=0.005)
    np.testing.assert_allclose(out["se"], np.sqrt(out.attrs["residual_sd"] ** 2 * 3 / 24))


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_severity_matches_statsmodels_ols_with_sum_coding_on_unbalanced_data(seed):
    data = random_unbalanced(seed)
    ours = evaluator_severity(data).set_index("evaluator_id")
    fit = smf.ols("total_score ~ C(calibration_id) + C(evaluator_id, Sum)", data).fit()
    raters = sorted(data.evaluator_id.unique())
    for k, rater in enumerate(raters):
        weights = np.zeros(len(fit.params))
        names = [f"C(evaluator_id, Sum)[S.{r}]" for r in raters[:-1]]
        idx = [list(fit.params.index).index(n) for n in names]
        if k < len(raters) - 1:
            weights[idx[k]] = 1.0
        else:
            weights[idx] = -1.0  # the omitted level is minus the sum of the others
        test = fit.t_test(weights)
        assert ours.loc[rater, "severity"] == pytest.approx(float(test.effect[0]), abs=1e-8)
        assert ours.loc[rater, "se"] == pytest.approx(float(test.sd[0, 0]), rel=1e-8)
        low, high = test.conf_int()[0]
        assert (ours.loc[rater, "ci_low"], ours.loc[rater, "ci_high"]) == pytest.approx(
            (low, high), rel=1e-8, abs=1e-8)
    assert ours.attrs["df_resid"] == int(fit.df_resid)


def test_severity_adjusts_for_which_calls_were_scored_unlike_raw_means():
    # Rater B scored only the hard calls: raw mean is low but B is not harsher than A.
    rows = []
    for c, quality in enumerate([90, 90, 90, 50, 50, 50]):
        raters = ["A", "C"] if quality == 90 else ["A", "B", "C"]
        for r in raters:
            noise = {"A": 0.5, "B": -0.5, "C": 0.0}[r] * (1 if c % 2 else -1)
            rows.append({"calibration_id": f"c{c}", "evaluator_id": r, "status": "FINISHED",
                         "role": "evaluator", "total_score": quality + noise})
    data = pd.DataFrame(rows)
    out = evaluator_severity(data).set_index("evaluator_id")
    raw = data.groupby("evaluator_id").total_score.mean()
    assert raw["A"] - raw["B"] > 15, "the raw means are confounded by call difficulty"
    assert abs(out.loc["A", "severity"] - out.loc["B", "severity"]) < 1.5


def test_severity_rejects_constant_scores_and_disconnected_panels():
    flat = shrout_fleiss_scores().assign(total_score=80.0)
    with pytest.raises(ValueError, match="exactly"):
        evaluator_severity(flat)
    apart = pd.DataFrame([
        {"calibration_id": c, "evaluator_id": r, "status": "FINISHED", "total_score": s}
        for c, pair, base in [("a1", "AB", 70), ("a2", "AB", 80), ("a3", "AB", 60),
                              ("b1", "CD", 75), ("b2", "CD", 65), ("b3", "CD", 85)]
        for r, s in zip(pair, (base + 1, base - 2))])
    apart.loc[0, "total_score"] += 3
    with pytest.raises(ValueError, match="never share a call"):
        evaluator_severity(apart)


def test_severity_reports_calls_with_a_single_rating_as_dropped():
    data = pd.concat([shrout_fleiss_scores(), pd.DataFrame([
        {"calibration_id": "solo", "evaluator_id": "j1", "evaluation_id": "solo1",
         "status": "FINISHED", "total_score": 40.0}])], ignore_index=True)
    out = evaluator_severity(data)
    excluded = pd.DataFrame(out.attrs["excluded"])
    assert list(excluded.evaluation_id) == ["solo1"]
    assert out.set_index("evaluator_id").loc["j1", "n"] == 6

"""Per-calibration variance table, discussion tiers and question disagreement."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from calib.tables import scores_frame
from calib.stats.variance import calibration_variance, discussion_tier, question_disagreement


def score_rows(calibration: str, values: dict[str, float], expert: str | None = None,
               status: dict[str, str] | None = None) -> list[dict]:
    status = status or {}
    return [{"team": "T", "month": "2026-03", "calibration_id": calibration,
             "conversation_id": f"conv-{calibration}", "agent_id": f"agent-{calibration}",
             "evaluation_id": f"{calibration}-{who}", "evaluator_id": who,
             "evaluator_name": who.title(), "role": "expert" if who == expert else "evaluator",
             "status": status.get(who, "FINISHED"),
             "total_score": value if status.get(who, "FINISHED") == "FINISHED" else np.nan}
            for who, value in values.items()]


def test_table_reports_spread_expert_and_share_within_band():
    rows = score_rows("c1", {"ann": 80.0, "bob": 84.0, "cy": 92.0, "exp": 86.0}, expert="exp")
    result = calibration_variance(scores_frame(rows))
    row = result.table.iloc[0]
    values = np.array([80.0, 84.0, 92.0, 86.0])
    assert row["n_evaluators"] == 4, "the expert counts in the spread"
    assert row["mean"] == pytest.approx(values.mean())
    assert row["sd"] == pytest.approx(values.std(ddof=1))
    assert (row["min"], row["max"], row["range"]) == (80.0, 92.0, 12.0)
    assert row["expert_score"] == 86.0
    # |80-86| = 6 out, |84-86| = 2 in, |92-86| = 6 out: 1 of the 3 other evaluators
    assert row["within_5_share"] == pytest.approx(1 / 3)
    assert row["tier"] == "discuss"
    assert row["conversation_id"] == "conv-c1" and row["agent_id"] == "agent-c1"
    dev = result.deviations.set_index("evaluator_id")["deviation_from_expert"]
    assert dev.to_dict() == {"exp": 0.0, "ann": -6.0, "bob": -2.0, "cy": 6.0}


def test_an_outlying_expert_widens_the_range():
    rows = score_rows("c1", {"ann": 80.0, "bob": 81.0, "exp": 99.0}, expert="exp")
    row = calibration_variance(scores_frame(rows)).table.iloc[0]
    assert row["range"] == 19.0 and row["tier"] == "full_session"


@pytest.mark.parametrize("spread, tier", [
    (0.0, "aligned"), (5.0, "aligned"), (5.4, "aligned"), (5.5, "discuss"), (6.0, "discuss"),
    (10.25, "discuss"), (15.0, "discuss"), (15.4, "discuss"), (15.5, "full_session"),
    (16.0, "full_session"), (40.0, "full_session")])
def test_tier_boundaries_use_the_whole_point_range(spread, tier):
    rows = score_rows("c", {"a": 60.0, "b": 60.0 + spread, "c": 60.0 + spread / 2})
    row = calibration_variance(scores_frame(rows)).table.iloc[0]
    assert row["range"] == pytest.approx(spread)
    assert row["tier"] == tier, f"range {spread} should be {tier}"


def test_float_noise_does_not_move_a_half_point_range_down():
    assert 8.2 - 2.7 < 5.5 and 16.4 - 0.9 < 15.5, "premise: binary floats give x.4999..."
    tiers = discussion_tier(np.array([8.2 - 2.7, 16.4 - 0.9]))
    assert list(tiers) == ["discuss", "full_session"]


def test_thresholds_are_parameters():
    rows = score_rows("c", {"a": 70.0, "b": 74.0})
    assert calibration_variance(scores_frame(rows)).table.tier[0] == "aligned"
    assert calibration_variance(scores_frame(rows), aligned_max=3).table.tier[0] == "discuss"
    assert calibration_variance(scores_frame(rows), aligned_max=1,
                                discuss_max=3).table.tier[0] == "full_session"


def test_only_finished_evaluations_count_and_the_rest_is_reported():
    rows = (score_rows("c1", {"a": 70.0, "b": 90.0, "c": 50.0, "d": 0.0},
                       status={"c": "INPROGRESS", "d": "RETRACTED"})
            + score_rows("c2", {"a": 70.0, "b": 72.0})
            + score_rows("c3", {"a": 10.0, "b": 0.0}, status={"b": "PENDING"}))
    frame = scores_frame(rows)
    frame.loc[(frame.calibration_id == "c2") & (frame.evaluator_id == "b"), "total_score"] = np.nan
    result = calibration_variance(frame)
    assert list(result.table.calibration_id) == ["c1"]
    assert result.table.n_evaluators[0] == 2
    reasons = result.excluded.set_index("evaluation_id")["reason"]
    assert set(reasons.index) == {"c1-c", "c1-d", "c2-b", "c2-a", "c3-b", "c3-a"}
    assert "INPROGRESS, not FINISHED" in reasons["c1-c"]
    assert "without a total score" in reasons["c2-b"]
    assert "only finished evaluation" in reasons["c2-a"]


def test_table_is_sorted_by_range_and_has_the_documented_columns():
    rows = (score_rows("small", {"a": 80.0, "b": 81.0})
            + score_rows("big", {"a": 50.0, "b": 90.0})
            + score_rows("mid", {"a": 70.0, "b": 80.0}))
    result = calibration_variance(scores_frame(rows))
    assert list(result.table.calibration_id) == ["big", "mid", "small"]
    assert list(result.table.columns) == [
        "calibration_id", "conversation_id", "agent_id", "n_evaluators", "mean", "sd", "min",
        "max", "range", "expert_score", "within_5_share", "tier"]
    assert result.table.expert_score.isna().all(), "no expert: NaN, never a made-up score"
    assert result.deviations.deviation_from_expert.isna().all()


def test_bad_input_raises_sentences():
    rows = score_rows("c", {"a": 70.0, "b": 74.0})
    with pytest.raises(ValueError, match="must not exceed"):
        calibration_variance(scores_frame(rows), aligned_max=20, discuss_max=15)
    with pytest.raises(ValueError, match="two finished evaluations"):
        calibration_variance(scores_frame(score_rows("c", {"a": 70.0})))
    with pytest.raises(ValueError, match="outside 0-100"):
        calibration_variance(scores_frame(score_rows("c", {"a": -3.0, "b": 5.0})))
    with pytest.raises(ValueError, match="within"):
        calibration_variance(scores_frame(rows), within=-1)


# --------------------------------------------------------------------------- questions

def answer_rows(calibration: str, question: str, answers: dict[str, str | None],
                expert: str | None = None) -> list[dict]:
    out = []
    for who, answer in answers.items():
        out.append({"calibration_id": calibration, "session_id": "T/2026-03", "month": "2026-03",
                    "evaluation_id": f"{calibration}-{who}", "evaluator_id": who,
                    "role": "expert" if who == expert else "evaluator", "question_id": question,
                    "question_text": f"Question {question}",
                    "answer_id": None if answer in (None, "N/A") else f"id-{answer}",
                    "answer_text": None if answer in (None, "N/A") else answer,
                    "marked_na": answer == "N/A"})
    return out


def test_question_disagreement_counts_na_as_a_category_and_blank_as_missing():
    rows = answer_rows("c1", "q1", {"a": "Yes", "b": "Yes", "c": "No", "d": "N/A", "e": None},
                       expert="a")
    out = question_disagreement(pd.DataFrame(rows))
    row = out.iloc[0]
    assert (row["n_ratings"], row["n_categories"]) == (4, 3)
    assert row["agreement"] == pytest.approx(2 / 12)  # only the Yes pair agrees
    assert bool(row["disputed"])
    assert row["expert_category"] == "id-Yes"
    assert row["expert_agreement"] == pytest.approx(1 / 3)
    assert row["categories"] == "Yes: 2, No: 1, N/A: 1"
    assert out.attrs["n_missing"] == 1 and out.attrs["excluded"][0]["evaluator_id"] == "e"


def test_unanimous_and_single_rating_questions_are_not_disputed():
    rows = (answer_rows("c1", "q1", {"a": "Yes", "b": "Yes", "c": "Yes"})
            + answer_rows("c1", "q2", {"a": "No"})
            + answer_rows("c2", "q1", {"a": "Yes", "b": "Yes", "c": "Yes", "d": "Yes",
                                       "e": "Yes", "f": "Yes", "g": "Yes", "h": "No"}))
    out = question_disagreement(pd.DataFrame(rows)).set_index(["calibration_id", "question_id"])
    assert out.loc[("c1", "q1"), "agreement"] == 1.0 and not out.loc[("c1", "q1"), "disputed"]
    assert np.isnan(out.loc[("c1", "q2"), "agreement"]) and not out.loc[("c1", "q2"), "disputed"]
    # 8 raters, one dissent: 21 of 28 pairs agree = 0.75, not below the default 0.75
    assert out.loc[("c2", "q1"), "agreement"] == pytest.approx(0.75)
    assert not out.loc[("c2", "q1"), "disputed"]
    strict = question_disagreement(pd.DataFrame(rows), disputed_below=1.0)
    assert strict.set_index(["calibration_id", "question_id"]).loc[("c2", "q1"), "disputed"]


def test_agreement_equals_brute_force_pair_counting_on_random_answers():
    rng = np.random.default_rng(3)
    rows = []
    for c in range(40):
        n = int(rng.integers(2, 7))
        picks = rng.choice(["Yes", "No", "N/A", "Partly"], size=n, p=[0.55, 0.25, 0.1, 0.1])
        rows += answer_rows(f"c{c}", "q", {f"r{i}": str(v) for i, v in enumerate(picks)})
    frame = pd.DataFrame(rows)
    out = question_disagreement(frame).set_index("calibration_id")
    for calibration, group in frame.groupby("calibration_id"):
        cats = list(group["answer_text"].fillna("N/A"))
        pairs = list(itertools.combinations(cats, 2))
        expected = sum(a == b for a, b in pairs) / len(pairs)
        assert out.loc[calibration, "agreement"] == pytest.approx(expected), calibration

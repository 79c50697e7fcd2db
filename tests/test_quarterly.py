"""Calibration of calibrators: each calibrator against the QM leadership panel, drift, rotation.

Until the sandbox serves its own "leadership" team, the quarterly calibrations are simulated here
from the sandbox org's ground truth (``generate_org(7)``): the calibrators of demo and north and
two QM leads score the same calls, each score being the agent's true quality plus the member's
true drift that month plus noise. Demo's calibrator drifts to about +12 points by 2026-10.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import pytest

from calib.quarterly import (DRIFT_COLUMNS, FLAG_COLUMNS, MONTHLY_COLUMNS, PANEL_COLUMNS,
                             calibrator_review, quarter_review, section_html)
from calib.sandbox import generate_org
from calib.tables import scores_frame

QUARTER = ("2026-08", "2026-09", "2026-10")
LEADS = {"lead-1": "Lee Lead", "lead-2": "Kim <b>Lead</b>"}


@pytest.fixture(scope="module")
def org():
    return generate_org(7)


def leadership_scores(org, *, drift: bool = True, calls_per_month: int = 6, seed: int = 11,
                      noise: float = 2.0) -> pd.DataFrame:
    truth = org.truth
    members = {truth.teams[t]["calibrator_id"]: org.people[truth.teams[t]["calibrator_id"]].name
               for t in ("demo", "north")}
    members.update(LEADS)
    rng = np.random.default_rng(seed)
    agents = sorted(truth.agent_quality)
    rows = []
    for month in QUARTER:
        for i in range(calls_per_month):
            agent = agents[int(rng.integers(len(agents)))]
            cal = f"leadership {month} #{i + 1}"
            for j, (member, name) in enumerate(members.items()):
                shift = truth.calibrator_drift.get((member, month), 0.0) if drift else 0.0
                score = float(np.clip(truth.agent_quality[agent] + shift + rng.normal(0, noise),
                                      0, 100))
                rows.append(dict(team="leadership", month=month, session_id=f"leadership/{month}",
                                 calibration_id=cal, conversation_id=f"conv {cal}", agent_id=agent,
                                 calibrator_id="lead-1", evaluation_id=f"{cal}/{j}",
                                 evaluator_id=member, evaluator_name=name,
                                 role="expert" if member == "lead-1" else "evaluator",
                                 status="FINISHED", total_score=score))
    return scores_frame(rows)


@pytest.fixture(scope="module")
def history(org):
    s = org.tidy_scores()
    return s[s["team"].isin(["demo", "north"]) & (s["month"] <= "2026-10")]


@pytest.fixture(scope="module")
def ids(org):
    return [org.truth.teams["demo"]["calibrator_id"], org.truth.teams["north"]["calibrator_id"]]


@pytest.fixture(scope="module")
def review(org, history, ids):
    return calibrator_review(leadership_scores(org), history, calibrator_ids=ids)


def test_the_drifting_demo_calibrator_is_flagged_and_north_is_not(review, ids):
    demo, north = ids
    assert review.flagged_ids == (demo,), review.flags
    reasons = review.flags.set_index("calibrator_id")["reasons"]
    assert "2026-10" in reasons[demo], "the month where the drift reaches the threshold is named"
    assert reasons[north] == ""


def test_monthly_bias_of_demo_grows_over_the_quarter_towards_its_true_drift(review, org, ids):
    demo = ids[0]
    own = review.monthly[review.monthly["evaluator_id"] == demo].set_index("month")
    assert list(own.index) == list(QUARTER)
    assert own.loc["2026-10", "bias"] > own.loc["2026-08", "bias"]
    true_oct = org.truth.calibrator_drift[(demo, "2026-10")]
    assert own.loc["2026-10", "ci_low"] - 3 < true_oct < own.loc["2026-10", "ci_high"] + 3


def test_quarter_bias_is_the_leave_one_out_difference(org, history, ids):
    lead = leadership_scores(org)
    wide = lead.pivot(index="calibration_id", columns="evaluator_id", values="total_score")
    demo = ids[0]
    others = wide.drop(columns=demo).mean(axis=1)
    expected = float((wide[demo] - others).mean())
    got = calibrator_review(lead, history, calibrator_ids=ids).panel.set_index("evaluator_id")
    assert got.loc[demo, "bias"] == pytest.approx(expected, abs=1e-9)
    assert got.loc[demo, "n"] == len(wide)


def test_rotation_names_the_unflagged_member_closest_to_the_panel(review, ids):
    demo = ids[0]
    assert review.next_calibrator is not None and review.next_calibrator != demo
    eligible = review.panel[~review.panel["evaluator_id"].isin(review.flagged_ids)]
    chosen = eligible.set_index("evaluator_id").loc[review.next_calibrator]
    assert chosen["worst_abs_bias"] == eligible["worst_abs_bias"].min()
    assert "Quinn Calder" in review.rotation and "Rotate" in review.rotation
    assert str(chosen["evaluator_name"]) in review.rotation


def test_without_drift_nobody_is_flagged_and_the_roles_stay(org, ids):
    s = org.tidy_scores()
    steady = s[(s["team"] == "north") & (s["month"] <= "2026-10")]
    north = ids[1]
    result = calibrator_review(leadership_scores(org, drift=False), steady,
                               calibrator_ids=[north])
    assert result.flagged_ids == ()
    assert result.rotation.startswith("No calibrator is flagged; keep the current roles")


def test_tables_have_their_documented_columns(review):
    assert tuple(review.panel.columns) == PANEL_COLUMNS
    assert tuple(review.monthly.columns) == MONTHLY_COLUMNS
    assert tuple(review.drift.columns) == DRIFT_COLUMNS
    assert tuple(review.flags.columns) == FLAG_COLUMNS
    assert set(review.drift["team"]) == {"demo", "north"}


def test_unfinished_leadership_evaluations_are_left_out_and_counted(org, history, ids):
    lead = leadership_scores(org)
    first_call = lead.index[lead["calibration_id"] == lead["calibration_id"].iloc[0]]
    lead.loc[first_call[:3], "status"] = "INPROGRESS"
    result = calibrator_review(lead, history, calibrator_ids=ids)
    reasons = result.excluded["reason"].tolist()
    assert len(reasons) == 4, "3 unfinished, and the one left alone on its call"
    assert sum("nothing to compare it with" in r for r in reasons) == 1
    assert result.panel["n"].max() == lead["calibration_id"].nunique() - 1


@pytest.mark.parametrize("kwargs, message", [
    (dict(calibrator_ids=["nobody"]), "finished no leadership calibration"),
    (dict(calibrator_ids=[]), "calibrator_ids is empty"),
    (dict(calibrator_ids=["lead-1"], threshold=0), "threshold must be a positive number"),
    (dict(calibrator_ids=["lead-1"], drift_months=1), "drift_months must be an integer"),
])
def test_bad_input_is_refused_in_a_sentence(org, history, kwargs, message):
    with pytest.raises(ValueError, match=message):
        calibrator_review(leadership_scores(org), history, **kwargs)


def test_missing_columns_are_named(org, history):
    lead = leadership_scores(org).drop(columns=["month"])
    with pytest.raises(ValueError, match="month"):
        calibrator_review(lead, history, calibrator_ids=["lead-1"])


def test_section_html_escapes_names_and_shows_the_proposal(review):
    page = section_html(review)
    assert "Kim <b>Lead</b>" not in page and html.escape("Kim <b>Lead</b>") in page
    assert html.escape(review.rotation) in page
    assert page.count("<table>") == 4


def test_quarter_review_finds_the_calibrators_in_one_table_of_all_teams(org, history, ids):
    everything = pd.concat([history, leadership_scores(org)], ignore_index=True)
    result = quarter_review(everything, months=QUARTER)
    assert set(result.flags["calibrator_id"]) == set(ids), "the leads calibrate no team"
    assert result.flagged_ids == (ids[0],)
    with pytest.raises(ValueError, match="No calibration of team 'leadership' in 2026-05"):
        quarter_review(everything, months=["2026-05"])


def test_the_sandbox_leadership_team_flags_the_drifting_calibrator(org):
    if "leadership" not in org.truth.teams:
        pytest.skip("the sandbox has no leadership team yet (quarterly calibrations 2026-08…10)")
    ids = [org.truth.teams["demo"]["calibrator_id"], org.truth.teams["north"]["calibrator_id"]]
    result = quarter_review(org.tidy_scores(), months=QUARTER, calibrator_ids=ids)
    assert ids[0] in result.flagged_ids and ids[1] not in result.flagged_ids
    assert result.next_calibrator not in result.flagged_ids


@pytest.mark.slow
def test_notebook_05_renders_the_section_on_the_sandbox(org, tmp_path):
    if "leadership" not in org.truth.teams:
        pytest.skip("the sandbox has no leadership team yet (quarterly calibrations 2026-08…10)")
    from pathlib import Path

    import papermill as pm

    root = Path(__file__).resolve().parents[1]
    out = pm.execute_notebook(str(root / "notebooks" / "05_calibration_of_calibrators.ipynb"),
                              str(tmp_path / "05.ipynb"), cwd=str(root / "notebooks"),
                              kernel_name="python3", progress_bar=False)
    text = "".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/html", ""))
                   for c in out.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "Rotate the calibrator role of Quinn Calder" in text

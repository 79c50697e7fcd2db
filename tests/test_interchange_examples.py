"""The example files under parameters/examples/ are generated from the sandbox (not hand-typed)
and each imports with the preset it illustrates, giving the sandbox month's scores."""

from __future__ import annotations

from pathlib import Path

import pytest

from calib.interchange import load_files
from calib.interchange.examples import main as examples_main
from calib.sandbox import generate_org

EXAMPLES = Path(__file__).resolve().parents[1] / "parameters" / "examples"


@pytest.fixture(scope="module")
def finished():
    scores = generate_org(7).tidy_scores()
    month = scores[(scores["team"] == "demo") & (scores["month"] == "2026-10")]
    return month[month["status"] == "FINISHED"]


def test_committed_examples_are_what_the_generator_writes(capsys):
    assert examples_main(["--check", "--out", str(EXAMPLES)]) == 0, capsys.readouterr().err


@pytest.mark.parametrize("name, options", [
    ("minimal_2026-10.csv", {}),
    ("wide_2026-10.csv", {"preset": "wide"}),
    ("genesys_2026-10.csv", {"preset": "genesys"}),
    ("other_tool_2026-10.csv", {"mapping": EXAMPLES / "other_tool_mapping.yaml"}),
])
def test_each_example_imports_to_the_sandbox_months_scores(finished, name, options):
    scores, _ = load_files(EXAMPLES / name, team="demo", **options)
    got = scores[scores["status"] == "FINISHED"]
    assert len(got) == len(finished)
    assert got["calibration_id"].nunique() == finished["calibration_id"].nunique()
    assert (got["role"] == "expert").sum() == (finished["role"] == "expert").sum()
    # the spreadsheet examples round scores to 0.1 points, as people type them
    assert sorted(got["total_score"]) == pytest.approx(sorted(finished["total_score"]),
                                                       abs=0.051)
    assert set(got["month"]) == {"2026-10"}


def test_tidy_examples_hold_the_six_history_months():
    files = sorted((EXAMPLES / "tidy").glob("demo_*.csv"))
    scores, answers = load_files(files, team="demo")
    assert sorted(scores["month"].unique()) == ["2026-05", "2026-06", "2026-07", "2026-08",
                                                "2026-09", "2026-10"]
    assert len(answers) > 10 * len(scores[scores["status"] == "FINISHED"]) // 2

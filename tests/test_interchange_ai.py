"""The optional AI scoring columns of the interchange format: a synced month with AI scoring
exports them and imports back to the same AI rows (and the same files); a month without AI
scoring exports exactly the columns it did before; a bad failure type is refused by row."""

from __future__ import annotations

import pandas as pd
import pytest

from calib.interchange import import_into_store
from calib.interchange.errors import InterchangeError
from calib.interchange.exporter import export_from_store
from calib.store import Store
from calib.sync import sync_month
from calib.tables import ANSWERS_COLUMNS, SCORES_COLUMNS

AI_MONTH, BEFORE_AI = "2026-10", "2026-06"
COMPARED = ["evaluation_id", "question_id", "calibration_id", "evaluator_id", "role",
            "ai_answer_id", "ai_marked_na", "ai_failure_type", "ai_explanation"]


@pytest.fixture(scope="module")
def synced(sandbox, tmp_path_factory):
    path = tmp_path_factory.mktemp("ai-interchange")
    store = Store(f"sqlite:///{path / 'synced.sqlite'}")
    info = sandbox.truth.teams["north"]
    with sandbox.client() as client:
        for month in (AI_MONTH, BEFORE_AI):
            sync_month(client, store, team="north", month=month,
                       calibrator_ids=[info["calibrator_id"]])
    yield store
    store.close()


def _sorted(frame, key):
    return frame.sort_values(key).reset_index(drop=True)


def test_ai_columns_round_trip_through_files(synced, tmp_path):
    first = export_from_store(synced, team="north", month=AI_MONTH, out_dir=tmp_path / "a")
    header = [pd.read_csv(p, nrows=0).columns.tolist() for p in first]
    assert header[0] == [*SCORES_COLUMNS, "ai_scored", "ai_run_failure_type"]
    assert header[1] == [*ANSWERS_COLUMNS, "ai_answer_id", "ai_marked_na", "ai_failure_type",
                         "ai_explanation"]
    with Store(f"sqlite:///{tmp_path / 'imported.sqlite'}") as other:
        import_into_store(other, first, team="north")
        want, got = synced.ai_answers("north", AI_MONTH), other.ai_answers("north", AI_MONTH)
        assert len(got) == len(want) > 0
        key = ["evaluation_id", "question_id"]
        pd.testing.assert_frame_equal(_sorted(want, key)[COMPARED], _sorted(got, key)[COMPARED])
        runs_want, runs_got = synced.ai_runs("north", AI_MONTH), other.ai_runs("north", AI_MONTH)
        pd.testing.assert_frame_equal(
            _sorted(runs_want, ["evaluation_id"])[["evaluation_id", "ai_failure_type"]],
            _sorted(runs_got, ["evaluation_id"])[["evaluation_id", "ai_failure_type"]])
        import_into_store(other, first, team="north")  # again: nothing changes
        pd.testing.assert_frame_equal(other.ai_answers("north", AI_MONTH), got)
        second = export_from_store(other, team="north", month=AI_MONTH, out_dir=tmp_path / "b")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]


def test_a_month_without_ai_scoring_exports_the_columns_it_always_had(synced, tmp_path):
    paths = export_from_store(synced, team="north", month=BEFORE_AI, out_dir=tmp_path)
    header = [pd.read_csv(p, nrows=0).columns.tolist() for p in paths]
    assert header == [list(SCORES_COLUMNS), list(ANSWERS_COLUMNS)]


def test_an_unknown_failure_type_is_refused_with_its_rows(synced, tmp_path):
    scores_path, answers_path = export_from_store(synced, team="north", month=AI_MONTH,
                                                  out_dir=tmp_path)
    answers = pd.read_csv(answers_path, dtype=str, keep_default_na=False)
    row = int(answers.index[answers["ai_answer_id"] != ""][0])
    answers.loc[row, "ai_failure_type"] = "Tired"
    answers.to_csv(answers_path, index=False)
    with Store(f"sqlite:///{tmp_path / 'refused.sqlite'}") as other:
        refused = r"(?s)ai_failure_type.*'Tired'.*LowConfidenceError"
        with pytest.raises(InterchangeError, match=refused) as caught:
            import_into_store(other, [scores_path, answers_path], team="north")
        assert str(row + 2) in str(caught.value), "the spreadsheet row is named"
        assert other.scores("north").empty and other.ai_answers("north").empty

"""The interchange format: round trips, the presets, Excel quirks, and idempotent imports."""

from __future__ import annotations

import pandas as pd
import pytest

from calib.interchange import (export_month, import_into_store, load_files, read_files)
from calib.sandbox import generate_org
from calib.store import Store
from calib.tables import ANSWERS_COLUMNS, SCORES_COLUMNS

SCORE_KEY = ["calibration_id", "evaluator_id"]
ANSWER_KEY = ["calibration_id", "evaluator_id", "question_group_id", "question_id"]


@pytest.fixture(scope="module")
def org_tables():
    org = generate_org(7)
    return org.tidy_scores(), org.tidy_answers()


def _month(frame, team, month, key):
    part = frame[(frame["team"] == team) & (frame["month"] == month)]
    return part.sort_values(key).reset_index(drop=True)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("month", ["2026-10", "2026-11"])  # 2026-11 has PENDING evaluations
def test_export_then_import_gives_back_the_same_tables(org_tables, tmp_path, fmt, month):
    scores, answers = org_tables
    paths = export_month(scores, answers, tmp_path, team="demo", month=month, fmt=fmt)
    got_scores, got_answers = load_files(paths, team="demo")
    pd.testing.assert_frame_equal(got_scores.sort_values(SCORE_KEY).reset_index(drop=True),
                                  _month(scores, "demo", month, SCORE_KEY))
    pd.testing.assert_frame_equal(got_answers.sort_values(ANSWER_KEY).reset_index(drop=True),
                                  _month(answers, "demo", month, ANSWER_KEY))
    assert list(got_scores.columns) == list(SCORES_COLUMNS)
    assert list(got_answers.columns) == list(ANSWERS_COLUMNS)


def test_exported_csv_has_the_documented_header_and_iso_times(org_tables, tmp_path):
    scores, answers = org_tables
    paths = export_month(scores, answers, tmp_path, team="pilot", month="2026-10")
    assert [p.name for p in paths] == ["pilot_2026-10_scores.csv", "pilot_2026-10_answers.csv"]
    lines = paths[0].read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(SCORES_COLUMNS)
    assert any(line.split(",")[15].endswith("Z") for line in lines[1:])


def test_minimal_spreadsheet_gets_documented_defaults(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("calibration,evaluator,score\nc1,ana,85\nc1,ben,\n", encoding="utf-8")
    batch = read_files(path, team="demo", month="2026-08")
    s = batch.scores.set_index("evaluator_id")
    assert s.loc["ana", "session_id"] == "demo/2026-08"
    assert s.loc["ana", "evaluation_id"] == "c1/ana"
    assert (s.loc["ana", "status"], s.loc["ben", "status"]) == ("FINISHED", "PENDING")
    assert (s["role"] == "evaluator").all()
    assert any("No expert is marked" in n for n in batch.notes)


def test_excel_quirks_bom_semicolons_and_decimal_commas_are_read(tmp_path):
    path = tmp_path / "excel.csv"
    text = ("Calibration ID;Evaluator ID;Total Score;Is Expert;Month\r\n"
            "007;ana;85,5;ja;2026-08\r\n007;ben;79;nein;2026-08\r\n")
    path.write_bytes("\ufeff".encode() + text.encode("utf-8"))
    scores, _ = load_files(path, team="demo")
    assert scores["calibration_id"].tolist() == ["007", "007"], "ids keep leading zeros"
    assert scores["total_score"].tolist() == [85.5, 79.0]
    assert scores["role"].tolist() == ["expert", "evaluator"]


def test_combined_file_keeps_na_as_an_answer_and_multiline_comments(tmp_path):
    path = tmp_path / "combined.csv"
    path.write_text(
        "calibration_id,evaluator_id,total_score,month,question_id,answer_id,answer_text,"
        "points,max_points,marked_na,comment\n"
        'c1,ana,80,2026-08,q1,a-yes,Yes,1,1,false,"good\nopening"\n'
        "c1,ana,80,2026-08,q2,,N/A,,1,true,\n", encoding="utf-8")
    scores, answers = load_files(path, team="demo")
    assert len(scores) == 1 and len(answers) == 2
    assert answers["answer_text"].tolist() == ["Yes", "N/A"]
    assert answers["marked_na"].tolist() == [False, True]
    assert answers["comment"].iloc[0] == "good\nopening"
    assert answers["evaluation_id"].tolist() == ["c1/ana", "c1/ana"]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_columns_left_entirely_blank_import_as_missing(tmp_path, fmt):
    frame = pd.DataFrame({"calibration_id": ["c1", "c1"], "evaluator_id": ["ana", "ben"],
                          "total_score": [80.0, 70.0], "month": "2026-08",
                          "agent_id": [None, None], "form_id": ["", ""]})
    path = tmp_path / f"blank.{fmt}"
    frame.to_csv(path, index=False) if fmt == "csv" else frame.to_parquet(path)
    scores, _ = load_files(path, team="demo")
    assert scores["agent_id"].tolist() == [None, None]
    assert scores["total_score"].tolist() == [80.0, 70.0]


def test_month_column_wins_over_submitted_time_and_a_calibration_stays_in_one_month(tmp_path):
    path = tmp_path / "times.csv"
    path.write_text("calibration_id,evaluator_id,total_score,submitted_at\n"
                    "c1,ana,85,2026-08-31T22:00:00Z\nc1,ben,80,2026-09-02T09:00:00Z\n"
                    "c2,ana,85,2026-09-03T10:00:00+02:00\n", encoding="utf-8")
    scores, _ = load_files(path, team="demo")
    assert scores.set_index(SCORE_KEY)["month"].to_dict() == {
        ("c1", "ana"): "2026-08", ("c1", "ben"): "2026-08", ("c2", "ana"): "2026-09"}
    path.write_text("calibration_id,evaluator_id,total_score,submitted_at,month\n"
                    "c1,ana,85,2026-08-31T22:00:00Z,2026-07\n", encoding="utf-8")
    assert load_files(path, team="demo")[0]["month"].tolist() == ["2026-07"]


def test_wide_preset_melts_one_column_per_evaluator(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("Call,Agent,Expert,Ana,Ben,Chloe,Month\n"
                    "c1,agent-1,Ana,90,85,,2026-08\nc2,agent-2,Ben,70,75,60,2026-08\n",
                    encoding="utf-8")
    scores, answers = load_files(path, team="demo", preset="wide")
    got = scores.set_index(SCORE_KEY)
    assert len(scores) == 5 and answers.empty
    assert got.loc[("c2", "Chloe"), "total_score"] == 60
    assert got.loc[("c1", "Ana"), "role"] == "expert" and got.loc[("c2", "Ben"), "role"] == \
        "expert"
    assert got.loc[("c1", "Ben"), "agent_id"] == "agent-1"


def test_genesys_preset_reads_api_field_names_and_ui_spellings(tmp_path):
    path = tmp_path / "genesys.csv"
    path.write_text(
        "Conversation ID,Evaluation ID,Calibration ID,Agent,Evaluator ID,Evaluator,Form Name,"
        "Evaluation Form ID,Status,Total Score,Critical Score,Is Scoring Index,Submitted Date\n"
        "conv-1,ev-1,cal-1,Ana Agent,u-1,Quinn,Voice QA,f-1,Finished,91.5,100,true,"
        "2026-08-03T10:00:00.000Z\n"
        "conv-1,ev-2,cal-1,Ana Agent,u-2,Emi,Voice QA,f-1,Completed,80,50,false,"
        "2026-08-04T10:00:00.000Z\n"
        "conv-1,ev-3,cal-1,Ana Agent,u-3,Raj,Voice QA,f-1,InProgress,,,false,\n",
        encoding="utf-8")
    scores, _ = load_files(path, team="demo", preset="genesys")
    got = scores.set_index("evaluation_id")
    assert got["status"].tolist() == ["FINISHED", "FINISHED", "INPROGRESS"]
    assert got.loc["ev-1", "role"] == "expert" and got.loc["ev-1", "evaluator_name"] == "Quinn"
    assert got.loc["ev-2", "critical_score"] == 50 and got.loc["ev-1", "agent_id"] == "Ana Agent"
    assert (scores["month"] == "2026-08").all()


def test_mapping_file_renames_columns_and_values(tmp_path):
    mapping = tmp_path / "maestro.yaml"
    mapping.write_text("base: tidy\ncolumns:\n  Ticket: calibration_id\n  Grader: evaluator_id\n"
                       "  QA %: total_score\n  Lead?: role\n  Internal note: ignore\n"
                       "values:\n  role: {Lead: expert, QA: evaluator}\n", encoding="utf-8")
    path = tmp_path / "maestro.csv"
    path.write_text("Ticket,Grader,QA %,Lead?,Internal note,Month\n"
                    "t1,ana,88,Lead,x,2026-08\nt1,ben,84,QA,y,2026-08\n", encoding="utf-8")
    scores, _ = load_files(path, team="demo", mapping=mapping)
    assert scores["role"].tolist() == ["expert", "evaluator"]
    assert scores["total_score"].tolist() == [88.0, 84.0]


def test_import_twice_changes_nothing_and_a_corrected_file_updates(tmp_path):
    path = tmp_path / "scores.csv"
    path.write_text("calibration_id,evaluator_id,total_score,is_expert,month\n"
                    "c1,ana,85,yes,2026-08\nc1,ben,80,no,2026-08\nc2,ana,75,yes,2026-08\n",
                    encoding="utf-8")
    with Store(f"sqlite:///{tmp_path / 's.sqlite'}") as store:
        first = import_into_store(store, path, team="demo").months[0]
        assert first.evaluations.inserted == 3
        again = import_into_store(store, path, team="demo").months[0]
        assert (again.evaluations.inserted, again.evaluations.updated,
                again.evaluations.deleted, again.evaluations.unchanged) == (0, 0, 0, 3)
        path.write_text("calibration_id,evaluator_id,total_score,is_expert,month\n"
                        "c1,ana,85,yes,2026-08\nc1,ben,82,no,2026-08\n", encoding="utf-8")
        planned = import_into_store(store, path, team="demo", dry_run=True).months[0]
        assert (planned.evaluations.updated, planned.evaluations.deleted) == (1, 1)
        assert store.scores("demo", "2026-08")["total_score"].tolist().count(80.0) == 1, \
            "a dry run writes nothing"
        fixed = import_into_store(store, path, team="demo").months[0]
        assert fixed.evaluations.updated == 1
        stored = store.scores("demo", "2026-08").set_index("evaluator_id")
        assert stored.loc["ben", "total_score"] == 82.0 and len(stored) == 2


def test_parquet_ids_stored_as_numbers_read_as_text(tmp_path):
    path = tmp_path / "numeric_ids.parquet"
    pd.DataFrame({"calibration_id": [1001.0, 1001.0], "evaluator_id": [7, 8],
                  "total_score": [80, 90], "month": "2026-08"}).to_parquet(path)
    scores, _ = load_files(path, team="demo")
    assert scores["calibration_id"].tolist() == ["1001", "1001"]
    assert scores["evaluator_id"].tolist() == ["7", "8"]


def test_mapping_status_spellings_apply_per_distinct_value(tmp_path):
    mapping = tmp_path / "m.yaml"
    mapping.write_text("values:\n  status: {Done: FINISHED, Waiting: PENDING}\n")
    path = tmp_path / "s.csv"
    path.write_text("calibration_id,evaluator_id,total_score,status,month\n"
                    "c1,ana,80,Done,2026-08\nc1,ben,,Waiting,2026-08\nc1,cy,70,finished,"
                    "2026-08\n")
    scores, _ = load_files(path, team="demo", mapping=mapping)
    assert scores["status"].tolist() == ["FINISHED", "PENDING", "FINISHED"]

"""Every bad-file case of issue 7: the message names the file, the row and the fix, and the store
is left exactly as it was (nothing half-imported)."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from calib.interchange import InterchangeError, import_into_store
from calib.store import Store

GOOD = ("calibration_id,evaluator_id,total_score,is_expert,month\n"
        "c1,ana,85,yes,2026-08\nc1,ben,80,no,2026-08\n"
        "c2,ana,90,yes,2026-08\nc2,ben,70.5,no,2026-08\n")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One store for the module: every test here must leave it unchanged, and checks that."""
    tmp_path = tmp_path_factory.mktemp("store")
    with Store(f"sqlite:///{tmp_path / 'store.sqlite'}") as s:
        good = tmp_path / "good.csv"
        good.write_text(GOOD, encoding="utf-8")
        import_into_store(s, [good], team="demo")
        yield s


def _snapshot(store):
    return (store.scores("demo", include_sealed=True).reset_index(drop=True),
            store.answers("demo").reset_index(drop=True), len(store.imports()))


def _import_fails(store, tmp_path, name, content, *, encoding="utf-8", **kwargs):
    """Import a bad file; return the error message after checking the store did not change."""
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding=encoding)
    before = _snapshot(store)
    with pytest.raises(InterchangeError) as info:
        import_into_store(store, [path], team="demo", **kwargs)
    after = _snapshot(store)
    pd.testing.assert_frame_equal(before[0], after[0])
    pd.testing.assert_frame_equal(before[1], after[1])
    assert before[2] == after[2], "a failed import must not be recorded"
    return str(info.value)


def _assert_names(message, file, rows, fix_words):
    assert file in message, f"the message should name the file {file}: {message}"
    listed = re.search(r"rows? ([0-9, ]+)", message)
    assert listed, f"the message should name the row: {message}"
    numbers = {int(n) for n in re.findall(r"\d+", listed.group(1))}
    assert set(rows) <= numbers, f"expected rows {rows} in {message}"
    assert "Fix:" in message and all(w.lower() in message.lower() for w in fix_words), message


def test_unknown_column_names_the_column_and_the_way_out(store, tmp_path):
    msg = _import_fails(store, tmp_path, "extra.csv",
                        "calibration_id,evaluator_id,total_score,mood\nc1,ana,85,happy\n")
    _assert_names(msg, "extra.csv", [1], ["mapping", "ignore"])
    assert "'mood'" in msg


def test_score_outside_0_100_names_each_row(store, tmp_path):
    msg = _import_fails(store, tmp_path, "range.csv",
                        "calibration_id,evaluator_id,total_score,month\n"
                        "c1,ana,85,2026-08\nc1,ben,120,2026-08\nc2,ana,-3,2026-08\n")
    _assert_names(msg, "range.csv", [3, 4], ["0 to 100"])
    assert "120" in msg and "-3" in msg


def test_points_above_the_forms_max_points(store, tmp_path):
    msg = _import_fails(store, tmp_path, "points.csv",
                        "calibration_id,evaluator_id,total_score,month,question_id,points,"
                        "max_points\n"
                        "c1,ana,85,2026-08,q1,1,1\nc1,ana,85,2026-08,q2,7,5\n")
    _assert_names(msg, "points.csv", [3], ["max_points"])


def test_evaluator_twice_on_the_same_call(store, tmp_path):
    msg = _import_fails(store, tmp_path, "twice.csv",
                        "calibration_id,evaluator_id,total_score,month\n"
                        "c1,ana,85,2026-08\nc1,ben,80,2026-08\nc1,ana,82,2026-08\n")
    _assert_names(msg, "twice.csv", [2, 4], ["one evaluation per evaluator"])


def test_expert_missing_on_one_calibration(store, tmp_path):
    msg = _import_fails(store, tmp_path, "noexpert.csv",
                        "calibration_id,evaluator_id,total_score,is_expert,month\n"
                        "c1,ana,85,yes,2026-08\nc1,ben,80,no,2026-08\n"
                        "c2,ana,90,no,2026-08\nc2,ben,70,no,2026-08\n")
    _assert_names(msg, "noexpert.csv", [4, 5], ["expert"])
    assert "no expert" in msg


def test_mixed_forms_in_one_session_name_the_odd_rows(store, tmp_path):
    msg = _import_fails(store, tmp_path, "forms.csv",
                        "calibration_id,evaluator_id,total_score,form_id,month\n"
                        "c1,ana,85,f-v1,2026-08\nc1,ben,80,f-v1,2026-08\n"
                        "c2,ana,90,f-v1,2026-08\nc2,ben,70,f-v2,2026-08\n")
    _assert_names(msg, "forms.csv", [5], ["one form version"])
    assert "rows 2" not in msg, "the rows on the session's usual form are not the mistake"


def test_non_utf8_file_names_the_row_with_the_bad_bytes(store, tmp_path):
    text = ("calibration_id,evaluator_id,evaluator_name,total_score,month\n"
            "c1,ana,Ana,85,2026-08\nc1,jose,José Núñez,80,2026-08\n")
    msg = _import_fails(store, tmp_path, "latin1.csv", text.encode("cp1252"))
    _assert_names(msg, "latin1.csv", [3], ["UTF-8"])


def test_utf16_excel_unicode_text_is_refused_with_the_fix(store, tmp_path):
    msg = _import_fails(store, tmp_path, "unicode.csv",
                        "calibration_id\tevaluator_id\ttotal_score\n".encode("utf-16"))
    _assert_names(msg, "unicode.csv", [1], ["CSV UTF-8"])


def test_decimal_comma_in_a_comma_separated_file(store, tmp_path):
    msg = _import_fails(store, tmp_path, "comma.csv",
                        "calibration_id,evaluator_id,total_score,month\n"
                        "c1,ana,85,2026-08\nc1,ben,80,5,2026-08\n")
    _assert_names(msg, "comma.csv", [3], ["separator"])
    assert "decimal comma" in msg


def test_quoted_decimal_comma_in_a_comma_separated_file_is_not_a_number(store, tmp_path):
    msg = _import_fails(store, tmp_path, "quoted.csv",
                        'calibration_id,evaluator_id,total_score,month\n'
                        'c1,ana,85,2026-08\nc1,ben,"80,5",2026-08\n')
    _assert_names(msg, "quoted.csv", [3], ["plain number"])


def test_several_problems_are_reported_together(store, tmp_path):
    msg = _import_fails(store, tmp_path, "many.csv",
                        "calibration_id,evaluator_id,total_score,status,month\n"
                        "c1,ana,185,FINISHED,2026-08\nc1,ben,80,Pondering,2026-08\n"
                        "c2,,70,FINISHED,2026-08\n")
    assert msg.startswith("Nothing was imported: 3 problems")
    assert "row 2" in msg and "row 3" in msg and "row 4" in msg


def test_a_good_and_a_bad_file_import_nothing(store, tmp_path):
    good = tmp_path / "sept.csv"
    good.write_text(GOOD.replace("2026-08", "2026-09"), encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text("calibration_id,evaluator_id,total_score,month\nc9,ana,101,2026-09\n")
    before = _snapshot(store)
    with pytest.raises(InterchangeError, match="bad.csv, row 2"):
        import_into_store(store, [good, bad], team="demo")
    assert store.months("demo") == ["2026-08"]
    pd.testing.assert_frame_equal(before[0], _snapshot(store)[0])


def test_answers_without_their_scores(store, tmp_path):
    scores = tmp_path / "s.csv"
    scores.write_text(GOOD, encoding="utf-8")
    answers = tmp_path / "a.csv"
    answers.write_text("calibration_id,evaluator_id,question_id,points,max_points\n"
                       "c1,ana,q1,1,1\nc7,zed,q1,0,1\n", encoding="utf-8")
    before = _snapshot(store)
    with pytest.raises(InterchangeError) as info:
        import_into_store(store, [scores, answers], team="demo")
    _assert_names(str(info.value), "a.csv", [3], ["scores file"])
    pd.testing.assert_frame_equal(before[0], _snapshot(store)[0])


def test_month_unknown_asks_for_a_month(store, tmp_path):
    msg = _import_fails(store, tmp_path, "nomonth.csv",
                        "calibration_id,evaluator_id,total_score\nc1,ana,85\n")
    _assert_names(msg, "nomonth.csv", [2], ["--month"])


def test_wrong_team_column(store, tmp_path):
    msg = _import_fails(store, tmp_path, "team.csv",
                        "team,calibration_id,evaluator_id,total_score,month\n"
                        "north,c1,ana,85,2026-08\n")
    _assert_names(msg, "team.csv", [2], ["--team"])


def test_missing_file_is_a_sentence(store, tmp_path):
    with pytest.raises(InterchangeError, match="does not exist.*Fix: Check the path"):
        import_into_store(store, [tmp_path / "nope.csv"], team="demo")


def test_two_experts_on_one_calibration(store, tmp_path):
    msg = _import_fails(store, tmp_path, "twoexperts.csv",
                        "calibration_id,evaluator_id,total_score,role,month\n"
                        "c1,ana,85,expert,2026-08\nc1,ben,80,expert,2026-08\n")
    _assert_names(msg, "twoexperts.csv", [2, 3], ["exactly one"])


def test_wide_expert_column_naming_no_evaluator(store, tmp_path):
    msg = _import_fails(store, tmp_path, "wide.csv",
                        "Call,Expert,Ana,Ben,Month\nc1,Ana,90,85,2026-08\nc2,Zed,70,75,2026-08\n",
                        preset="wide")
    _assert_names(msg, "wide.csv", [3], ["expert column"])
    assert "'Zed'" in msg


def test_combined_file_with_two_totals_for_one_evaluation(store, tmp_path):
    msg = _import_fails(store, tmp_path, "combined.csv",
                        "calibration_id,evaluator_id,total_score,month,question_id,points\n"
                        "c1,ana,85,2026-08,q1,1\nc1,ana,80,2026-08,q2,0\n")
    _assert_names(msg, "combined.csv", [2, 3], ["one total_score"])


def test_same_question_answered_twice(store, tmp_path):
    msg = _import_fails(store, tmp_path, "qtwice.csv",
                        "calibration_id,evaluator_id,total_score,month,question_id,points\n"
                        "c1,ana,85,2026-08,q1,1\nc1,ana,85,2026-08,q1,0\n")
    _assert_names(msg, "qtwice.csv", [2, 3], ["one answer per evaluator"])


def test_unreadable_values_name_their_rows(store, tmp_path):
    msg = _import_fails(store, tmp_path, "values.csv",
                        "calibration_id,evaluator_id,total_score,is_expert,submitted_at\n"
                        "c1,ana,85,perhaps,2026-08-03T10:00:00Z\nc1,ben,80,no,last tuesday\n")
    bool_line, time_line = msg.splitlines()[1:3]
    _assert_names(bool_line, "values.csv", [2], ["yes/no"])
    _assert_names(time_line, "values.csv", [3], ["ISO-8601"])


def test_workbook_is_refused_with_save_as_csv(store, tmp_path):
    msg = _import_fails(store, tmp_path, "scores.xlsx", b"PK\x03\x04 not really a workbook")
    assert "scores.xlsx" in msg and "CSV UTF-8" in msg


def test_broken_parquet_file(store, tmp_path):
    msg = _import_fails(store, tmp_path, "scores.parquet", b"PAR1 truncated")
    assert "scores.parquet" in msg and "not a readable Parquet file" in msg and "Fix:" in msg


def test_mapping_file_naming_an_unknown_calib_column(store, tmp_path):
    mapping = tmp_path / "m.yaml"
    mapping.write_text("columns:\n  Ticket: ticket_number\n", encoding="utf-8")
    with pytest.raises(InterchangeError, match=r"m.yaml: the mapping names unknown calib "
                                               r"columns \('Ticket': 'ticket_number'\)"):
        import_into_store(store, [tmp_path / "any.csv"], team="demo", mapping=mapping)


def test_header_repeating_a_column(store, tmp_path):
    msg = _import_fails(store, tmp_path, "repeat.csv",
                        "calibration_id,evaluator_id,total_score,total_score\nc1,ana,1,2\n")
    _assert_names(msg, "repeat.csv", [1], ["distinct name"])

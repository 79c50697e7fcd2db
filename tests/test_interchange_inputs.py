"""Adversarial inputs to ``calib import`` / ``calib export`` (issue 10): each is refused with a
sentence naming the file, the row and the fix, or read correctly; a refusal writes nothing.

Every refused import here runs through the CLI against a store that already holds a month, and
the store's full dump is compared before and after.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import pandas as pd
import pytest

from calib.cli import main
from calib.interchange import export_month, load_files, read_files
from calib.store import Store
from tests.store_dump import dump_store

HEAD = "calibration_id,evaluator_id,total_score,month\n"
ROOT = Path(__file__).resolve().parents[1]
TIDY = ROOT / "parameters" / "examples" / "tidy"


@pytest.fixture
def url(tmp_path) -> str:
    """A store that already holds a month, so that a refused import has something to spoil."""
    url = f"sqlite:///{tmp_path / 'held.sqlite'}"
    assert main(["import", str(TIDY / "demo_2026-09_scores.csv"),
                 str(TIDY / "demo_2026-09_answers.csv"), "--team", "demo", "--store", url]) == 0
    return url


def _refused(capsys, url: str, *argv: str) -> str:
    """Run ``calib import`` expecting a refusal; return stderr; the store must be unchanged."""
    with Store(url) as store:
        before = dump_store(store)
    capsys.readouterr()
    code = main(["import", *argv, "--team", "demo", "--store", url])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    with Store(url) as store:
        assert dump_store(store) == before, "a refused import must change nothing"
    return err


# ----------------------------------------------------------------- item 14: ids and numbers

def test_ids_differing_only_by_spaces_are_one_evaluator(tmp_path):
    path = tmp_path / "spaces.csv"
    path.write_text(HEAD + "c1,a ,80,2026-08\nc1, b,70,2026-08\nc2,a,75,2026-08\n"
                    "c2,b,71,2026-08\n", encoding="utf-8")
    batch = read_files(path, team="demo")
    assert sorted(batch.scores["evaluator_id"].unique()) == ["a", "b"]
    assert sorted(batch.scores["evaluation_id"]) == ["c1/a", "c1/b", "c2/a", "c2/b"]
    assert any("spaces around 2 id value(s)" in note for note in batch.notes), batch.notes


def test_the_same_evaluator_twice_once_with_a_space_is_named(tmp_path, capsys, url):
    path = tmp_path / "twice.csv"
    path.write_text(HEAD + "c1,a ,80,2026-08\nc1,a,70,2026-08\n", encoding="utf-8")
    err = _refused(capsys, url, str(path))
    assert "twice.csv, rows 2, 3: the same evaluator appears more than once" in err


def test_a_blank_id_of_spaces_is_refused_with_its_row(tmp_path, capsys, url):
    path = tmp_path / "blank.csv"
    path.write_text(HEAD + "c1,a,80,2026-08\n\"  \",b,70,2026-08\nc2,\" \",70,2026-08\n",
                    encoding="utf-8")
    err = _refused(capsys, url, str(path))
    assert "blank.csv, row 3: calibration_id is blank" in err, err
    assert "blank.csv, row 4: evaluator_id is blank" in err, err


def test_a_blank_question_id_is_refused_with_its_row(tmp_path, capsys, url):
    scores = tmp_path / "s.csv"
    scores.write_text(HEAD + "c1,a,80,2026-08\n", encoding="utf-8")
    answers = tmp_path / "a.csv"
    answers.write_text("calibration_id,evaluator_id,question_id,answer_id\nc1,a,q1,y\n"
                       "c1,a,\" \",n\n", encoding="utf-8")
    err = _refused(capsys, url, str(scores), str(answers))
    assert "a.csv, row 3: question_id is blank" in err, err


@pytest.mark.parametrize("points, top, shown", [("1e308", "inf", "max_points"),
                                                ("inf", "inf", "points"),
                                                ("1e400", "5", "points"),
                                                ("-inf", "5", "points")])
def test_numbers_that_are_not_finite_are_refused(tmp_path, capsys, url, points, top, shown):
    scores = tmp_path / "s.csv"
    scores.write_text(HEAD + "c1,a,80,2026-08\n", encoding="utf-8")
    answers = tmp_path / "a.csv"
    answers.write_text("calibration_id,evaluator_id,question_id,points,max_points\n"
                       f"c1,a,q1,{points},{top}\n", encoding="utf-8")
    err = _refused(capsys, url, str(scores), str(answers))
    assert f"a.csv, row 2: {shown} is not a finite number" in err, err


def test_an_infinite_total_score_is_refused(tmp_path, capsys, url):
    path = tmp_path / "s.csv"
    path.write_text(HEAD + "c1,a,inf,2026-08\n", encoding="utf-8")
    err = _refused(capsys, url, str(path))
    assert "s.csv, row 2: total_score is not a finite number" in err, err


def test_a_parquet_list_column_is_refused_not_stored_as_text(tmp_path, capsys, url):
    path = tmp_path / "lists.parquet"
    pd.DataFrame({"calibration_id": ["c1", "c1"], "evaluator_id": [["x"], ["y"]],
                  "total_score": [80.0, 70.0], "month": "2026-08"}).to_parquet(path)
    err = _refused(capsys, url, str(path))
    assert "lists.parquet" in err and "'evaluator_id' holds lists" in err, err
    assert "one value per cell" in err


def test_scores_on_a_0_to_1_scale_are_refused_with_the_fix(tmp_path, capsys, url):
    path = tmp_path / "fractions.csv"
    path.write_text(HEAD + "c1,a,0.85,2026-08\nc1,b,0.9,2026-08\nc2,a,1,2026-08\n",
                    encoding="utf-8")
    err = _refused(capsys, url, str(path))
    assert "fractions.csv" in err and "every total_score is between 0 and 1" in err, err
    assert "Multiply total_score by 100" in err and "0.85 → 85" in err, err


def test_all_zero_scores_are_not_mistaken_for_a_0_to_1_scale(tmp_path):
    path = tmp_path / "zeros.csv"
    path.write_text(HEAD + "c1,a,0,2026-08\nc1,b,0,2026-08\n", encoding="utf-8")
    scores, _ = load_files(path, team="demo")
    assert scores["total_score"].tolist() == [0.0, 0.0]


# ------------------------------------------------------------------ item 16: nothing to import

def test_a_header_only_file_is_refused(tmp_path, capsys, url):
    path = tmp_path / "empty.csv"
    path.write_text(HEAD, encoding="utf-8")
    err = _refused(capsys, url, str(path))
    assert "empty.csv: the file has a header but no data rows" in err, err


def test_a_wide_file_with_every_cell_blank_is_refused(tmp_path, capsys, url):
    path = tmp_path / "wide.csv"
    path.write_text("Call,Dana,Quinn,Month\ncall-01,,,2026-08\n", encoding="utf-8")
    err = _refused(capsys, url, str(path), "--preset", "wide")
    assert "wide.csv" in err and "no scores" in err, err


def test_a_header_only_answers_file_beside_its_scores_is_accepted(tmp_path):
    scores = tmp_path / "s.csv"
    scores.write_text(HEAD + "c1,a,80,2026-08\n", encoding="utf-8")
    answers = tmp_path / "a.csv"
    answers.write_text("calibration_id,evaluator_id,question_id,answer_id\n", encoding="utf-8")
    got, got_answers = load_files([scores, answers], team="demo")
    assert len(got) == 1 and got_answers.empty


# ----------------------------------------------------------------------- crashes and messages

def test_cr_only_line_endings_read_like_any_other(tmp_path):
    lf = tmp_path / "lf.csv"
    lf.write_text(HEAD + "c1,a,80,2026-08\nc1,b,70,2026-08\n", encoding="utf-8")
    cr = tmp_path / "cr.csv"
    cr.write_bytes(lf.read_bytes().replace(b"\n", b"\r"))
    pd.testing.assert_frame_equal(load_files(cr, team="demo")[0], load_files(lf, team="demo")[0])


def test_cr_only_line_endings_with_a_bad_row_name_the_row(tmp_path, capsys, url):
    path = tmp_path / "cr.csv"
    path.write_bytes((HEAD + "c1,a,80,2026-08\nc1,b,70\n").replace("\n", "\r").encode())
    err = _refused(capsys, url, str(path))
    assert "cr.csv, row 3: the header has 4 columns but these rows have 3 fields" in err, err


@pytest.mark.parametrize("yaml_text, key", [
    ("columns: [Ticket, Grader]\n", "columns"),
    ("values: [Done]\n", "values"),
    ("values:\n  status: [Done]\n", "values: status"),
    ("evaluators: Ana\n", "evaluators"),
    ("base: [tidy]\n", "base"),
    ("- just\n- a list\n", "the whole file"),
    ("just text\n", "the whole file"),
])
def test_a_mapping_file_with_the_wrong_shape_is_a_sentence(tmp_path, capsys, url, yaml_text,
                                                           key):
    mapping = tmp_path / "map.yaml"
    mapping.write_text(yaml_text, encoding="utf-8")
    data = tmp_path / "s.csv"
    data.write_text(HEAD + "c1,a,80,2026-08\n", encoding="utf-8")
    err = _refused(capsys, url, str(data), "--mapping", str(mapping))
    assert f"map.yaml: {key} " in err and "Fix:" in err, err


def test_a_mapping_file_not_in_utf8_names_the_file_and_the_encoding(tmp_path, capsys, url):
    mapping = tmp_path / "latin.yaml"
    mapping.write_bytes("columns:\n  Caf\u00e9: calibration_id\n".encode("latin-1"))
    data = tmp_path / "s.csv"
    data.write_text(HEAD + "c1,a,80,2026-08\n", encoding="utf-8")
    err = _refused(capsys, url, str(data), "--mapping", str(mapping))
    assert "latin.yaml, row 2: the mapping file is not UTF-8 text" in err, err
    assert "UTF-8" in err.split("Fix:")[1]


def test_a_header_longer_than_64_kib_is_read_whole(tmp_path):
    evaluators = [f"evaluator-{i:05d}" for i in range(5000)]  # about 80 KiB of header
    path = tmp_path / "wide.csv"
    path.write_text("Call,Month," + ",".join(evaluators) + "\n"
                    + "call-01,2026-08," + ",".join("80" for _ in evaluators) + "\n",
                    encoding="utf-8")
    assert len(path.read_text().splitlines()[0]) > 65536
    scores, _ = load_files(path, team="demo", preset="wide")
    assert len(scores) == 5000 and set(scores["evaluator_id"]) == set(evaluators)


def test_empty_unnamed_columns_are_dropped_and_named_ones_with_values_refused(tmp_path, capsys,
                                                                             url):
    trailing = tmp_path / "trailing.csv"  # Excel's trailing commas after formatted cells
    trailing.write_text("calibration_id,evaluator_id,total_score,month,,\n"
                        "c1,a,80,2026-08,,\nc1,b,70,2026-08,,\n", encoding="utf-8")
    assert len(load_files(trailing, team="demo")[0]) == 2
    holding = tmp_path / "holding.csv"
    holding.write_text("calibration_id,evaluator_id,,total_score,month\nc1,a,zz,80,2026-08\n",
                       encoding="utf-8")
    err = _refused(capsys, url, str(holding))
    assert "holding.csv, row 1: column(s) 3 hold values but have no name" in err, err


def test_a_huge_column_name_is_cut_short_in_the_message(tmp_path, capsys, url):
    path = tmp_path / "long.csv"
    path.write_text(HEAD.rstrip("\n") + "," + "x" * 70000 + "\nc1,a,80,2026-08,1\n",
                    encoding="utf-8")
    err = _refused(capsys, url, str(path))
    assert "long.csv, row 1: the column(s) 'xxxx" in err and "…'" in err, err[:300]
    assert len(err) < 1000


@pytest.mark.parametrize("yaml_text, says", [("a: &x [1]\nb: *x\n", "aliases"),
                                             ("base: tidy\nbase: wide\n", "appears twice")])
def test_a_mapping_file_with_aliases_or_repeated_keys_is_refused(tmp_path, capsys, url,
                                                                  yaml_text, says):
    mapping = tmp_path / "map.yaml"
    mapping.write_text(yaml_text, encoding="utf-8")
    data = tmp_path / "s.csv"
    data.write_text(HEAD + "c1,a,80,2026-08\n", encoding="utf-8")
    err = _refused(capsys, url, str(data), "--mapping", str(mapping))
    assert "map.yaml" in err and says in err, err


def test_utf16_without_a_byte_order_mark_is_named(tmp_path, capsys, url):
    for codec in ("utf-16-le", "utf-16-be"):
        path = tmp_path / f"{codec}.csv"
        path.write_bytes((HEAD + "c1,a,80,2026-08\n").encode(codec))
        assert not path.read_bytes().startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
        err = _refused(capsys, url, str(path))
        assert f"{codec}.csv, row 1: the file is UTF-16 text" in err, err


@pytest.mark.parametrize("when", ["0001-01-01", "9999-12-31", "1899-12-30T00:00:00Z"])
def test_dates_out_of_range_for_a_calibration_say_so(tmp_path, capsys, url, when):
    path = tmp_path / "dates.csv"
    path.write_text("calibration_id,evaluator_id,total_score,submitted_at\n"
                    f"c1,a,80,{when}\nc1,b,70,2026-08-03\n", encoding="utf-8")
    err = _refused(capsys, url, str(path))
    assert "dates.csv, row 2: submitted_at is a date, but outside" in err, err
    assert "not dates" not in err


def test_a_month_out_of_range_for_a_calibration_says_so(tmp_path, capsys, url):
    path = tmp_path / "m.csv"
    path.write_text(HEAD + "c1,a,80,0001-01\n", encoding="utf-8")
    err = _refused(capsys, url, str(path))
    assert "m.csv, row 2: month '0001-01' is outside" in err, err


def test_importing_a_folder_says_it_is_a_folder(tmp_path, capsys, url):
    folder = tmp_path / "exports"
    folder.mkdir()
    err = _refused(capsys, url, str(folder))
    assert "exports: this is a folder, not a file" in err, err
    assert "does not exist" not in err


def test_exporting_a_sealed_month_says_it_is_sealed_and_how_it_opens(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    path = tmp_path / "pending.csv"
    path.write_text("calibration_id,evaluator_id,total_score,status,month\n"
                    "c1,a,80,FINISHED,2026-08\nc1,b,,PENDING,2026-08\n"
                    "c2,a,70,FINISHED,2026-08\nc2,b,,INPROGRESS,2026-08\n", encoding="utf-8")
    assert main(["import", str(path), "--team", "demo", "--store", url]) == 0
    capsys.readouterr()
    code = main(["export", "--team", "demo", "--month", "2026-08", "--store", url,
                 "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert "holds no scores" not in err
    assert "2026-08 is sealed: its 2 calibrations" in err, err
    assert "after every evaluator finished, or after the deadline with an explicit reveal" in err
    assert not (tmp_path / "out").exists()


def test_exporting_a_partly_sealed_month_says_what_was_left_out(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    path = tmp_path / "partly.csv"
    path.write_text("calibration_id,evaluator_id,total_score,status,month\n"
                    "c1,a,80,FINISHED,2026-08\nc1,b,75,FINISHED,2026-08\n"
                    "c2,a,70,FINISHED,2026-08\nc2,b,,PENDING,2026-08\n", encoding="utf-8")
    assert main(["import", str(path), "--team", "demo", "--store", url]) == 0
    capsys.readouterr()
    assert main(["export", "--team", "demo", "--month", "2026-08", "--store", url,
                 "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr()
    assert "1 calibration(s) of 2026-08 are still sealed and were left out" in out.err
    exported = pd.read_csv(tmp_path / "out" / "demo_2026-08_scores.csv")
    assert set(exported["calibration_id"]) == {"c1"}


# ------------------------------------------------------- item 8: formulas in exported cells

DANGEROUS = ['=HYPERLINK("http://evil.example/x","click")', "+cmd|' /C calc'!A0", "-2+3",
             "@SUM(A1)", "\tx", "\r=1", "'=already quoted", "''-twice", "-ev1"]


def _month_with(texts: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    from calib.tables import answers_frame, scores_frame

    rows, answer_rows = [], []
    for i, text in enumerate(texts):
        rows.append({"team": "t", "month": "2026-08", "session_id": "s", "calibration_id": "c",
                     "conversation_id": None, "agent_id": "ag", "calibrator_id": None,
                     "evaluation_id": f"c/{i}", "evaluator_id": f"-ev{i}" if i else text,
                     "evaluator_name": text, "role": "evaluator", "status": "FINISHED",
                     "total_score": 50.0 + i, "critical_score": float("nan"),
                     "any_failed_kill": False, "submitted_at": pd.Timestamp("2026-08-03", tz="UTC"),
                     "form_id": "f", "form_context_id": "fc"})
        answer_rows.append({**{k: rows[-1][k] for k in (
            "team", "month", "session_id", "calibration_id", "conversation_id", "evaluation_id",
            "evaluator_id", "role", "form_id")}, "question_group_id": "g",
            "question_group_name": "G", "question_id": "q1", "question_text": text,
            "answer_id": "-1", "answer_text": "-1", "points": 0.0, "max_points": 3.0,
            "marked_na": False, "comment": text})
    return scores_frame(rows), answers_frame(answer_rows)


def test_export_neutralises_formulas_and_import_reverses_it_exactly(tmp_path):
    scores, answers = _month_with(DANGEROUS)
    paths = export_month(scores, answers, tmp_path, team="t", month="2026-08")
    raw = pd.read_csv(paths[0], dtype=str, keep_default_na=False)
    for cell in raw["evaluator_name"]:
        assert cell[0] not in "=+-@\t\r", f"{cell!r} would run as a formula in a spreadsheet"
    assert set(raw["evaluator_name"]) == {"'" + t if t.lstrip("'")[:1] in "=+-@\t\r" else t
                                          for t in DANGEROUS}
    assert sorted(raw["total_score"]) == [f"{50.0 + i}" for i in range(len(DANGEROUS))], \
        "numbers are never prefixed"
    got_scores, got_answers = load_files(paths, team="t")
    key = ["evaluation_id"]
    pd.testing.assert_frame_equal(got_scores.sort_values(key).reset_index(drop=True),
                                  scores.sort_values(key).reset_index(drop=True))
    pd.testing.assert_frame_equal(got_answers.sort_values(key).reset_index(drop=True),
                                  answers.sort_values(key).reset_index(drop=True))


def test_a_month_without_an_expert_survives_export_and_import(tmp_path, capsys):
    """Imported from a spreadsheet without experts, exported (role: evaluator on every row),
    imported again: the role column marks no expert, so nothing is missing."""
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    path = tmp_path / "plain.csv"
    path.write_text(HEAD + "c1,a,80,2026-08\nc1,b,70,2026-08\n", encoding="utf-8")
    assert main(["import", str(path), "--team", "demo", "--store", url]) == 0
    assert main(["export", "--team", "demo", "--month", "2026-08", "--store", url,
                 "--out", str(tmp_path / "out")]) == 0
    files = capsys.readouterr().out.split()[-2:]
    scores, _ = load_files(files, team="demo")
    assert scores["role"].tolist() == ["evaluator", "evaluator"]


def test_a_quoted_formula_from_another_tool_is_read_as_its_text(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("calibration_id,evaluator_id,evaluator_name,total_score,month\n"
                    "c1,a,'=SUM(1),80,2026-08\nc1,'-b,'-b,70,2026-08\n", encoding="utf-8")
    scores, _ = load_files(path, team="demo")
    assert scores["evaluator_name"].tolist() == ["=SUM(1)", "-b"]
    assert scores["evaluator_id"].tolist() == ["a", "-b"]

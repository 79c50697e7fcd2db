"""Imports keep to their own rows: a file without answers keeps the stored answers, a file never
takes over API-synced calibrations (nor a sync file ones), and a dry run says exactly what the
import would do, because it IS the import, rolled back.

Every refused operation is checked against a dump of every table (tests/store_dump.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from calib.cli import main
from calib.interchange import import_into_store
from calib.store import Store
from tests.store_dump import dump_store, shown_rows
from tests.test_store_helpers import month_frames

ROOT = Path(__file__).resolve().parents[1]
TIDY = ROOT / "parameters" / "examples" / "tidy"
SCORES, ANSWERS = TIDY / "demo_2026-10_scores.csv", TIDY / "demo_2026-10_answers.csv"


@pytest.fixture
def store(store_url: str):
    with Store(store_url) as s:
        yield s


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


# ------------------------------------------------------------------- item 1: answers are kept

def test_reimporting_a_scores_file_without_answers_keeps_every_stored_answer(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    assert _cli(capsys, "import", str(SCORES), str(ANSWERS), "--team", "demo",
                "--store", url)[0] == 0
    with Store(url) as store:
        answers_before = dump_store(store)["answers"]
    assert len(answers_before) == 546

    code, out, err = _cli(capsys, "import", str(SCORES), "--team", "demo", "--store", url)
    assert code == 0, err
    assert "removed 546" not in out
    assert "546 stored answers kept" in out, out
    with Store(url) as store:
        assert dump_store(store)["answers"] == answers_before


def test_a_corrected_scores_file_updates_its_rows_and_keeps_the_answers(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    assert _cli(capsys, "import", str(SCORES), str(ANSWERS), "--team", "demo",
                "--store", url)[0] == 0
    with Store(url) as store:
        before = dump_store(store)
    frame = pd.read_csv(SCORES, dtype=str, keep_default_na=False)
    fixed_eval = frame.loc[0, "evaluation_id"]
    frame.loc[0, "total_score"] = "12.5"
    corrected = tmp_path / "demo_2026-10_scores.csv"
    frame.to_csv(corrected, index=False)

    code, out, err = _cli(capsys, "import", str(corrected), "--team", "demo", "--store", url)
    assert code == 0, err
    assert "42 evaluations (new 0, changed 1, unchanged 41, removed 0)" in out, out
    with Store(url) as store:
        after = dump_store(store)
        stored = {r["evaluation_id"]: r["total_score"] for r in shown_rows(store, "evaluations")}
    assert after["answers"] == before["answers"], "a file without answers never deletes answers"
    assert stored[fixed_eval] == 12.5


def test_a_scores_file_without_a_calibration_removes_it_with_its_answers_only(tmp_path, capsys):
    """Files are the source of truth for their month: a calibration the scores no longer list
    goes, with its answers; every other answer stays."""
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    assert _cli(capsys, "import", str(SCORES), str(ANSWERS), "--team", "demo",
                "--store", url)[0] == 0
    frame = pd.read_csv(SCORES, dtype=str, keep_default_na=False)
    gone = frame.loc[0, "calibration_id"]
    kept_evals = {"demo/" + e for e in frame.loc[frame["calibration_id"] != gone,
                                                 "evaluation_id"]}  # as stored (team-scoped)
    shorter = tmp_path / "demo_2026-10_scores.csv"
    frame[frame["calibration_id"] != gone].to_csv(shorter, index=False)
    with Store(url) as store:
        want = sorted((r for r in dump_store(store)["answers"] if r[0] in kept_evals), key=repr)
    assert 0 < len(want) < 546
    assert _cli(capsys, "import", str(shorter), "--team", "demo", "--store", url)[0] == 0
    with Store(url) as store:
        assert dump_store(store)["answers"] == want


# ------------------------------------------------ item 2: API rows and file rows stay apart

def _api_month(store: Store) -> tuple[pd.DataFrame, pd.DataFrame]:
    scores, answers = month_frames(n_calibrations=2, n_evaluators=3)
    store.upsert_month("demo", "2026-10", scores, answers, source="api")
    return scores, answers


def test_a_file_using_an_api_calibration_id_is_refused_and_changes_nothing(store, tmp_path,
                                                                           capsys):
    _api_month(store)
    before = dump_store(store)
    taken = "demo-2026-10-cal0"
    path = tmp_path / "two_rows.csv"
    path.write_text("calibration_id,evaluator_id,total_score,month\n"
                    f"{taken},ana,80,2026-10\n{taken},ben,70,2026-10\n", encoding="utf-8")
    code, out, err = _cli(capsys, "import", str(path), "--team", "demo", "--store",
                          store._url.render_as_string(hide_password=False))
    assert code == 2
    assert f"calibration {taken!r}" in err and "synced from the Genesys API" in err, err
    assert "two_rows.csv, rows 2, 3" in err, err
    assert dump_store(store) == before


def test_a_file_in_another_month_using_an_api_id_is_refused_and_names_the_source(store,
                                                                               tmp_path):
    _api_month(store)
    before = dump_store(store)
    path = tmp_path / "sept.csv"
    path.write_text("calibration_id,evaluator_id,total_score,month\n"
                    "demo-2026-10-cal1,ana,80,2026-09\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"synced from the Genesys API.*2026-10"):
        import_into_store(store, path, team="demo")
    assert dump_store(store) == before


def test_a_file_reusing_an_api_evaluation_id_is_refused(store, tmp_path):
    _api_month(store)
    before = dump_store(store)
    path = tmp_path / "evals.csv"
    path.write_text("calibration_id,evaluation_id,evaluator_id,total_score,month\n"
                    "new-call,demo-2026-10-cal0-u-ev1,ana,80,2026-10\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"evaluation 'demo-2026-10-cal0-u-ev1'.*Genesys API"):
        import_into_store(store, path, team="demo")
    assert dump_store(store) == before


def test_files_and_api_share_a_month_without_touching_each_other(store, tmp_path):
    api_scores, _ = _api_month(store)
    api_rows = {r["evaluation_id"] for r in shown_rows(store, "evaluations")}
    path = tmp_path / "files.csv"
    path.write_text("calibration_id,evaluator_id,total_score,month\n"
                    "call-1,ana,80,2026-10\ncall-1,ben,70,2026-10\n", encoding="utf-8")
    import_into_store(store, path, team="demo")
    path.write_text("calibration_id,evaluator_id,total_score,month\n"
                    "call-2,ana,60,2026-10\n", encoding="utf-8")
    import_into_store(store, path, team="demo")  # call-1 goes; the API rows stay
    sources = {r["calibration_id"]: r["source"] for r in shown_rows(store, "calibrations")}
    assert sources == {"demo-2026-10-cal0": "api", "demo-2026-10-cal1": "api",
                       "call-2": "files"}
    stored = {r["evaluation_id"] for r in shown_rows(store, "evaluations")}
    assert stored == api_rows | {"call-2/ana"}


def test_an_api_sync_listing_a_file_calibration_is_refused_and_changes_nothing(store, tmp_path):
    path = tmp_path / "files.csv"
    path.write_text("calibration_id,evaluator_id,total_score,month\n"
                    "demo-2026-10-cal0,ana,80,2026-10\n", encoding="utf-8")
    import_into_store(store, path, team="demo")
    before = dump_store(store)
    scores, answers = month_frames(n_calibrations=2, n_evaluators=3)
    with pytest.raises(ValueError, match=r"calibration 'demo-2026-10-cal0'.*imported from "
                                         r"files"):
        store.upsert_month("demo", "2026-10", scores, answers, source="api")
    assert dump_store(store) == before
    # and a sync of other calibrations leaves the file's rows as they are
    scores, answers = month_frames(n_calibrations=2, n_evaluators=3, prefix="api-")
    store.upsert_month("demo", "2026-10", scores, answers, source="api")
    store.upsert_month("demo", "2026-10", *month_frames(n_calibrations=0), source="api")
    after = {r["calibration_id"]: r["source"] for r in shown_rows(store, "calibrations")}
    assert after == {"demo-2026-10-cal0": "files"}
    assert dump_store(store)["evaluations"] == before["evaluations"]


# ------------------------------------------- issue 11: the dry run is the import, rolled back

def _counts(report) -> list[tuple]:
    return [(m.month, m.n_scores, m.n_answers, m.evaluations, m.answers) for m in report.months]


def _dry_then_real(store: Store, paths, **kw) -> tuple[list, list]:
    before = dump_store(store)
    planned = import_into_store(store, paths, team="demo", dry_run=True, **kw)
    assert dump_store(store) == before, "a dry run writes nothing"
    done = import_into_store(store, paths, team="demo", **kw)
    return _counts(planned), _counts(done)


def test_the_dry_run_reports_exactly_what_the_import_then_does(store, tmp_path):
    # 1. a month shared with an API sync: the old diff path counted the API rows as removed
    _api_month(store)
    planned, done = _dry_then_real(store, [SCORES, ANSWERS])
    assert planned == done
    assert done[0][3].deleted == 0
    # 2. the same files again: nothing changes
    planned, done = _dry_then_real(store, [SCORES, ANSWERS])
    assert planned == done and done[0][3].unchanged == 42
    # 3. the scores file alone: the answers stay
    planned, done = _dry_then_real(store, [SCORES])
    assert planned == done and done[0][4].deleted == 0
    # 4. a calibration left out, one evaluation still pending (sealed: its scores are hidden
    #    from the public reads the old diff compared with)
    frame = pd.read_csv(SCORES, dtype=str, keep_default_na=False)
    first = frame["calibration_id"].iloc[0]
    frame = frame[frame["calibration_id"] != frame["calibration_id"].iloc[-1]].copy()
    frame.loc[frame.index[0], ["status", "total_score", "critical_score",
                               "submitted_at"]] = ["PENDING", "", "", ""]
    corrected = tmp_path / "demo_2026-10_scores.csv"
    frame.to_csv(corrected, index=False)
    shutil.copy(ANSWERS, tmp_path / "answers.csv")
    answers = pd.read_csv(ANSWERS, dtype=str, keep_default_na=False)
    answers = answers[answers["evaluation_id"].isin(frame["evaluation_id"])
                      & (answers["evaluation_id"] != frame["evaluation_id"].iloc[0])]
    answers.to_csv(tmp_path / "answers.csv", index=False)
    planned, done = _dry_then_real(store, [corrected, tmp_path / "answers.csv"])
    assert planned == done
    assert done[0][3].deleted == 7 and done[0][3].updated == 1
    assert first in {r["calibration_id"] for r in shown_rows(store, "calibrations")}
    # 5. once more with the sealed calibration in place: unchanged, both ways
    planned, done = _dry_then_real(store, [corrected, tmp_path / "answers.csv"])
    assert planned == done and not done[0][3].updated and not done[0][3].deleted


def test_a_refused_dry_run_says_so_like_the_import(store, tmp_path):
    _api_month(store)
    before = dump_store(store)
    path = tmp_path / "taken.csv"
    path.write_text("calibration_id,evaluator_id,total_score,month\n"
                    "demo-2026-10-cal0,ana,80,2026-10\n", encoding="utf-8")
    with pytest.raises(ValueError, match="synced from the Genesys API"):
        import_into_store(store, path, team="demo", dry_run=True)
    assert dump_store(store) == before

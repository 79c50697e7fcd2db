"""``calib import`` / ``calib export``: the verbs drive the library and print sentences."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd

from calib.cli import main
from calib.store import Store

CSV = ("calibration_id,evaluator_id,total_score,is_expert,month\n"
       "c1,ana,85,yes,2026-08\nc1,ben,80,no,2026-08\nc2,ana,75,yes,2026-08\nc2,ben,71,no,2026-08\n")


def _store_url(tmp_path, name="s.sqlite"):
    return f"sqlite:///{tmp_path / name}"


def test_import_dry_run_then_import_then_export_round_trip(tmp_path, capsys):
    src = tmp_path / "in.csv"
    src.write_text(CSV, encoding="utf-8")
    url = _store_url(tmp_path)
    assert main(["import", str(src), "--team", "demo", "--store", url, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would import" in out and "2026-08: 4 evaluations (new 4" in out
    with Store(url) as store:
        assert store.months("demo") == []
    assert main(["import", str(src), "--team", "demo", "--store", url]) == 0
    assert "imported" in capsys.readouterr().out
    out_dir = tmp_path / "out"
    assert main(["export", "--team", "demo", "--month", "2026-08", "--out", str(out_dir),
                 "--store", url, "--format", "parquet"]) == 0
    files = capsys.readouterr().out.split()
    assert [p.rsplit("/", 1)[1] for p in files] == ["demo_2026-08_scores.parquet",
                                                    "demo_2026-08_answers.parquet"]
    url2 = _store_url(tmp_path, "fresh.sqlite")
    assert main(["import", *files, "--team", "demo", "--store", url2]) == 0
    with Store(url) as a, Store(url2) as b:
        pd.testing.assert_frame_equal(a.scores("demo", "2026-08"), b.scores("demo", "2026-08"))


def test_bad_file_exits_2_with_sentences_and_no_traceback(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("calibration_id,evaluator_id,total_score,month\nc1,ana,140,2026-08\n",
                   encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "calib.cli", "import", str(bad), "--team",
                           "demo", "--store", _store_url(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "bad.csv, row 2: total_score is outside 0–100 (140)" in done.stderr
    assert "Fix:" in done.stderr


def test_export_of_an_empty_month_says_which_months_exist(tmp_path, capsys):
    src = tmp_path / "in.csv"
    src.write_text(CSV, encoding="utf-8")
    url = _store_url(tmp_path)
    assert main(["import", str(src), "--team", "demo", "--store", url]) == 0
    capsys.readouterr()
    assert main(["export", "--team", "demo", "--month", "2026-09", "--store", url,
                 "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no scores for team 'demo' in 2026-09 (it holds 2026-08)" in err


def test_preset_and_mapping_are_exclusive(tmp_path, capsys):
    src = tmp_path / "in.csv"
    src.write_text(CSV, encoding="utf-8")
    try:
        main(["import", str(src), "--team", "demo", "--preset", "wide", "--mapping", "m.yaml"])
    except SystemExit as exc:
        assert exc.code == 2
    assert "not allowed with argument" in capsys.readouterr().err

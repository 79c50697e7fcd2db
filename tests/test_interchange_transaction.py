"""A multi-month import is one transaction: a database failure part-way through writes nothing."""

from __future__ import annotations

import sqlalchemy as sa
from pathlib import Path

import pytest

from calib.interchange import import_into_store
from calib.store import Store, StoreError

ROOT = Path(__file__).resolve().parents[1]


def _two_month_files(tmp_path: Path) -> tuple[list[Path], list[str]]:
    from calib.interchange.exporter import export_month
    from calib.sandbox import generate_org

    org = generate_org(7)
    scores, answers = org.tidy_scores(), org.tidy_answers()
    months = ["2026-09", "2026-10"]
    paths: list[Path] = []
    for month in months:
        pick = lambda f: f[(f.team == "north") & (f.month == month)]  # noqa: E731
        paths += export_month(pick(scores), pick(answers), tmp_path, team="north", month=month)
    return paths, months


def test_failure_in_the_second_month_leaves_the_store_unchanged(tmp_path):
    paths, months = _two_month_files(tmp_path)
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    store = Store(url)
    # A real database failure while the second month is written: a trigger aborts the insert.
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TRIGGER fail_second_month BEFORE INSERT ON file_imports "
            f"WHEN NEW.month = '{months[1]}' BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    engine.dispose()
    with pytest.raises(StoreError, match="rolled back, nothing changed"):
        import_into_store(store, paths, team="north")
    assert store.scores(team="north").empty, "the first month must not stay half-imported"
    assert store.imports(team="north").empty

    with sa.create_engine(url).begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER fail_second_month")
    report = import_into_store(store, paths, team="north")
    assert [m.month for m in report.months] == months
    assert sorted(store.scores(team="north")["month"].unique()) == months
    assert len(store.imports(team="north")) == 2 * len(paths), "each file logged for each month"

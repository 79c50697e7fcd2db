"""Two processes writing the same SQLite store at once (two papermill runs) both succeed.

Real processes, a real file: WAL lets readers run beside the writer, the busy timeout makes a
writer wait for the other, and ``BEGIN IMMEDIATE`` keeps a read-then-write transaction from
failing with "database is locked".
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

from calib.store import Store

_WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from calib.store import Store
    from tests.test_store_helpers import month_frames, users_json, form_json

    url, team, go = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    while not go.exists():           # start both writers at the same moment
        time.sleep(0.005)
    store = Store(url)               # both may create the schema at once
    for round_ in range(2):
        for month in ("2026-09", "2026-10"):
            scores, answers = month_frames(team, month, seed=round_, n_calibrations=4)
            store.upsert_month(team, month, scores, answers, forms=[form_json()],
                               users=users_json())
            store.scores(team)       # read between writes, as a report run does
        store.record_run("report", team, "2026-10", "digest", "ok")
    print("done", team)
""")


def _start(url: str, team: str, go: Path, repo: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", _WRITER, url, team, str(go)], cwd=repo,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_processes_write_the_same_sqlite_file_at_once(tmp_path):
    repo = Path(__file__).resolve().parents[1]
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    go = tmp_path / "go"
    writers = [_start(url, team, go, repo) for team in ("demo", "north")]
    time.sleep(0.5)  # let both interpreters import and wait at the start line
    go.touch()
    outcomes = [w.communicate(timeout=120) for w in writers]
    for writer, (out, err) in zip(writers, outcomes):
        assert writer.returncode == 0, f"a concurrent writer failed:\n{err[-2000:]}"
        assert out.startswith("done")
    with Store(url) as store:
        assert store.teams() == ["demo", "north"]
        for team in ("demo", "north"):
            assert store.months(team) == ["2026-09", "2026-10"]
            assert len(store.scores(team)) == 2 * 4 * 4
        assert len(store.runs()) == 4
        journal = store._engine.connect().exec_driver_sql("PRAGMA journal_mode").scalar()
        assert journal == "wal"


def test_connections_switching_new_sqlite_files_to_wal_at_once_all_succeed(tmp_path):
    """Two runs opening a new store at the same moment: SQLite refused one of two simultaneous
    ``PRAGMA journal_mode=WAL`` at once with "database is locked", without consulting the busy
    timeout (each holds a shared lock and wants an exclusive one), in about 1 of 200 attempts.
    Many fresh files, each opened by three engines (three runs) whose connections line up right
    before calib's connection set-up, make that race certain to show."""
    import threading

    import sqlalchemy as sa

    from calib.store.engine import create_store_engine, parse_url

    failures: list[str] = []
    for trial in range(400):
        url = parse_url(f"sqlite:///{tmp_path / f'{trial}.sqlite'}")
        start = threading.Barrier(3, timeout=60)

        def connect() -> None:
            engine = create_store_engine(url)
            # Runs before calib's own "connect" hook, so the three set their journal mode
            # together.
            sa.event.listen(engine, "connect", lambda *_: start.wait(), insert=True)
            try:
                with engine.connect() as conn:
                    assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            except Exception as exc:  # noqa: BLE001 - every failure is the finding
                failures.append(f"{type(exc).__name__}: {exc}")
            finally:
                engine.dispose()

        threads = [threading.Thread(target=connect) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert not failures, f"{len(failures)} of 1200 first connections failed: {failures[:3]}"

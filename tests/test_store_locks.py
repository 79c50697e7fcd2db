"""Named store locks: one holder across threads and processes, freed when the holder dies.

Every test with ``store_url`` runs on a SQLite file and on a real PostgreSQL server
(tests/fixtures/postgres.py); the killed holder is a real process ended with SIGKILL.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from calib.store import SCHEMA_VERSION, LockBusy, Store, StoreError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def store(store_url: str):
    with Store(store_url) as s:
        yield s


def test_a_held_lock_is_busy_for_another_store_and_the_message_names_holder_and_purpose(
        store, store_url):
    with Store(store_url) as other:
        with store.lock("create:cal-1", purpose="creating the calibrations of plan 'Nov'"):
            with pytest.raises(LockBusy) as info:
                with other.lock("create:cal-1", purpose="a second run"):
                    pytest.fail("two holders of one lock")
        message = str(info.value)
        assert isinstance(info.value, StoreError)
        assert "'create:cal-1' (creating the calibrations of plan 'Nov')" in message
        assert f"process {os.getpid()} on host {socket.gethostname()!r}, since " in message
        assert "UTC" in message and "try again" in message
        holder = info.value.holder
        assert (holder.pid, holder.host) == (os.getpid(), socket.gethostname())
        with other.lock("create:cal-1"):  # released at the end of the block
            pass


def test_locks_with_other_names_do_not_block_each_other(store):
    with store.lock("create:cal-1"), store.lock("create:cal-2"), store.lock("tick:demo"):
        pass


def test_a_lock_is_released_when_its_block_raises(store, store_url):
    with pytest.raises(RuntimeError, match="boom"):
        with store.lock("x", purpose="p"):
            raise RuntimeError("boom")
    with Store(store_url) as other, other.lock("x"):
        pass


def test_waiting_gets_the_lock_once_the_holder_lets_go_and_gives_up_otherwise(store,
                                                                              store_url):
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with Store(store_url) as s, s.lock("tick:demo", purpose="a scheduled tick"):
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(30)
        with pytest.raises(LockBusy, match=r"a scheduled tick") as info:
            with store.lock("tick:demo", wait=0.3):
                pass
        assert 0.3 <= info.value.waited < 5
        threading.Timer(0.4, release.set).start()
        started = time.monotonic()
        with store.lock("tick:demo", wait=20):
            assert time.monotonic() - started >= 0.3
    finally:
        release.set()
        holder.join(30)


def test_two_threads_racing_for_a_lock_never_hold_it_together(store_url):
    inside, most, done = [0], [0], threading.Lock()
    wins: list[int] = []
    start = threading.Barrier(4)

    def contender(i: int) -> None:
        with Store(store_url) as s:
            start.wait()
            for _ in range(5):
                with s.lock("shared", wait=30, purpose=f"thread {i}"):
                    with done:
                        inside[0] += 1
                        most[0] = max(most[0], inside[0])
                    time.sleep(0.01)
                    with done:
                        inside[0] -= 1
                        wins.append(i)

    threads = [threading.Thread(target=contender, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(wins) == 20 and most[0] == 1


_HOLDER = textwrap.dedent("""
    import sys
    from calib.store import Store
    store = Store(sys.argv[1])
    with store.lock("create:cal-1", purpose="creating plan 'Nov' in a process to be killed"):
        print("held", flush=True)
        sys.stdin.readline()  # hold until killed
""")


def test_a_lock_held_by_a_killed_process_is_free_again(store, store_url):
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, store_url], cwd=ROOT, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "held", proc.stderr.read() if proc.poll() is not None else line
        with pytest.raises(LockBusy) as info:
            with store.lock("create:cal-1"):
                pass
        assert f"process {proc.pid}" in str(info.value)
        assert "in a process to be killed" in str(info.value)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    # The kernel (file lock) or the server (advisory lock of a closed session) let go; the
    # server notices the closed socket at once, the short wait only absorbs scheduling.
    with store.lock("create:cal-1", wait=10, purpose="after the crash") as me:
        assert me.pid == os.getpid()


def test_an_in_memory_store_locks_between_threads():
    store = Store("sqlite://")
    with store.lock("x", purpose="in memory"):
        box: list = []
        thread = threading.Thread(target=lambda: box.append(_try(store, "x")))
        thread.start()
        thread.join(10)
        assert isinstance(box[0], LockBusy) and "in memory" in str(box[0])
    assert _try(store, "x") is None


def _try(store: Store, name: str):
    try:
        with store.lock(name):
            return None
    except LockBusy as exc:
        return exc


def test_a_sqlite_lock_lives_in_a_file_beside_the_database(tmp_path):
    with Store(f"sqlite:///{tmp_path / 'calib.sqlite'}") as store:
        with store.lock("create:cal/1 ../x"):
            files = list((tmp_path / "calib.sqlite.locks").iterdir())
        assert len(files) == 1 and files[0].suffix == ".lock"
        assert files[0].parent == tmp_path / "calib.sqlite.locks", "names never climb out"


@pytest.mark.postgres
def test_a_released_postgres_lock_leaves_no_advisory_lock_on_a_pooled_connection(
        postgres_url):
    with Store(postgres_url) as store:
        with store.lock("create:cal-1"):
            assert _advisory_locks(store) == 1
        assert _advisory_locks(store) == 0
        with store._engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM locks")).scalar() == 0


def _advisory_locks(store: Store) -> int:
    with store._engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                                    "AND granted")).scalar()


@pytest.mark.postgres
def test_stores_in_different_postgres_schemas_do_not_share_locks(postgres_server, postgres_url):
    from tests.fixtures.postgres import _TEST_DATABASE

    other_schema = f"t_{os.getpid()}_other_locks"
    postgres_server.admin(f'CREATE SCHEMA "{other_schema}"', _TEST_DATABASE)
    try:
        other_url = (postgres_server.url(_TEST_DATABASE)
                     + f"?options=-csearch_path%3D{other_schema}")
        with Store(postgres_url) as one, Store(other_url) as two:
            with one.lock("create:cal-1"), two.lock("create:cal-1"):
                pass
    finally:
        postgres_server.admin(f'DROP SCHEMA IF EXISTS "{other_schema}" CASCADE', _TEST_DATABASE)


@pytest.mark.parametrize("bad, message", [("", "needs a name"), ("x" * 201, "under 200"),
                                          (None, "needs a name")])
def test_a_bad_lock_name_is_refused_with_a_sentence(bad, message):
    with pytest.raises(ValueError, match=message):
        with Store("sqlite://").lock(bad):
            pass


def test_a_negative_wait_is_refused():
    with pytest.raises(ValueError, match="wait must be a number of seconds"):
        with Store("sqlite://").lock("x", wait=-1):
            pass


def test_a_version_2_store_migrates_to_3_and_gains_the_locks_table(store_url):
    with Store(store_url) as store, store._engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE locks"))  # what a store written by schema 2 lacks
        conn.execute(sa.text("UPDATE schema_version SET version = 2"))
    with Store(store_url) as store:
        assert store.schema_version == SCHEMA_VERSION >= 3  # later versions migrate on
        with store._engine.connect() as conn:
            versions = conn.execute(sa.text("SELECT version FROM schema_version ORDER BY "
                                            "version")).scalars().all()
            assert sa.inspect(conn).has_table("locks")
        assert versions == list(range(2, SCHEMA_VERSION + 1))
        with store.lock("after migration"):
            pass


def test_an_unwritable_lock_folder_is_a_sentence_not_a_traceback(tmp_path):
    with Store(f"sqlite:///{tmp_path / 'calib.sqlite'}") as store:
        (tmp_path / "calib.sqlite.locks").write_text("a file where the folder should be")
        with pytest.raises(StoreError, match=r"Could not open the lock file .* must be "
                                             r"writable"):
            with store.lock("x"):
                pass

"""Named locks in the store: one holder at a time across processes and machines sharing it.

``Store.lock(name)`` is how two runs that must not act at once (two ``calib create`` of the same
plan, two scheduler ticks) find out about each other. Each back end uses a lock the operating
system or the database server releases by itself when the holder dies, so a crashed run never
leaves a lock behind and nobody has to clean up by hand:

PostgreSQL
    a session-level advisory lock (``pg_try_advisory_lock``) on a 64-bit hash of the store's
    schema and the lock's name, taken on a connection kept for the lock's whole life. The
    server drops it when that connection ends, whether it was closed or its process killed.
SQLite file
    an ``flock`` on ``<database>.locks/<slug>.lock`` beside the database file; the kernel drops
    it when the holder's file descriptor closes, including on SIGKILL. ``flock`` (not POSIX
    record locks) because it belongs to the open file, so two threads of one process exclude
    each other too. The files stay in place (removing a lock file would let two runs hold
    "the same" lock through different inodes). Like SQLite itself, this is for local disks.
in-memory SQLite
    a ``threading.Lock`` per store: such a database lives in one process only.

Who holds a lock (host, process id, since when, what for) is recorded beside it, in the
``locks`` table on PostgreSQL and in the lock file on SQLite, and is only ever used to write
the message of :class:`LockBusy`: the lock itself never depends on that record.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Callable, Iterator

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from calib.store.errors import StoreError

__all__ = ["LockBusy", "LockHolder", "StoreLocks"]

log = logging.getLogger("calib.store.locks")

MAX_NAME_LENGTH = 200
_POLL_S = (0.02, 0.25)  # first and longest pause between attempts while waiting
_RECORD_GRACE_S = 1.0  # how long a busy lock's new holder gets to record who it is


@dataclass(frozen=True)
class LockHolder:
    """Who holds (or held) a lock, as recorded when it was taken; for messages only."""

    name: str
    purpose: str
    host: str
    pid: int
    since: datetime  # aware UTC

    def describe(self) -> str:
        """``"process 4242 on host 'qa-laptop', since 2026-11-09 09:00:03 UTC"``."""
        return (f"process {self.pid} on host {self.host!r}, since "
                f"{self.since:%Y-%m-%d %H:%M:%S} UTC")


class LockBusy(StoreError):
    """Another run holds the lock; the message says what it is doing, who it is and what to do.

    Attributes
    ----------
    name, purpose : str
        The lock asked for, and what it protects (the holder's own words when recorded).
    holder : LockHolder or None
        Who holds it, when that was recorded in time to be read.
    waited : float
        Seconds spent waiting before giving up.
    """

    def __init__(self, name: str, purpose: str, holder: LockHolder | None,
                 waited: float) -> None:
        self.name, self.holder, self.waited = name, holder, waited
        self.purpose = (holder.purpose if holder and holder.purpose else purpose)
        what = f" ({self.purpose})" if self.purpose else ""
        who = (holder.describe() if holder is not None
               else "another process that has not recorded who it is yet")
        waited_text = f" (waited {waited:.0f} s for it)" if waited >= 1 else ""
        super().__init__(
            f"The store lock {name!r}{what} is held by {who}{waited_text}. Let that run "
            f"finish, then try again; if that process has stopped, the lock was released "
            f"with it, so you can try again now.")


def _validate(name: str, purpose: str, wait: float) -> None:
    if not isinstance(name, str) or not name.strip():
        raise ValueError("A store lock needs a name (such as 'create:<calibrator id>'); it "
                         "was empty.")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"The lock name is {len(name)} characters long; keep it under "
                         f"{MAX_NAME_LENGTH}.")
    if not isinstance(purpose, str):
        raise ValueError(f"purpose must be text saying what the lock protects, not "
                         f"{type(purpose).__name__}.")
    if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not wait >= 0:
        raise ValueError(f"wait must be a number of seconds >= 0, not {wait!r}.")


def _me(name: str, purpose: str) -> LockHolder:
    return LockHolder(name=name, purpose=purpose, host=socket.gethostname(), pid=os.getpid(),
                      since=datetime.now(timezone.utc).replace(microsecond=0))


def _poll(try_once: Callable[[], object | None], wait: float) -> tuple[object | None, float]:
    """Call ``try_once`` until it returns something or ``wait`` seconds passed."""
    started = time.monotonic()
    pause = _POLL_S[0]
    while True:
        got = try_once()
        waited = time.monotonic() - started
        if got is not None or waited >= wait:
            return got, waited
        time.sleep(min(pause, max(wait - waited, 0.0)))
        pause = min(pause * 2, _POLL_S[1])


class StoreLocks:
    """The locks of one store (see the module docstring); :meth:`hold` is ``Store.lock``."""

    def __init__(self, engine: sa.Engine, url: sa.URL, table: sa.Table) -> None:
        self._engine, self._table = engine, table
        self._dialect = url.get_backend_name()
        database = url.database
        self._in_memory = self._dialect == "sqlite" and (not database or database == ":memory:")
        self._dir = (None if self._dialect != "sqlite" or self._in_memory
                     else Path(f"{Path(database).expanduser().resolve()}.locks"))
        self._local: dict[str, tuple[threading.Lock, LockHolder | None]] = {}
        self._local_guard = threading.Lock()

    @contextlib.contextmanager
    def hold(self, name: str, *, wait: float = 0, purpose: str = "") -> Iterator[LockHolder]:
        """Hold lock ``name`` for the ``with`` block; raise :class:`LockBusy` if it stays taken.

        Parameters
        ----------
        name : str
            What is locked; the same name means the same lock for every process using the
            store.
        wait : float
            Seconds to keep trying before giving up (0: one attempt).
        purpose : str
            What the holder is doing, in words; quoted to anyone who finds the lock taken.

        Yields
        ------
        LockHolder
            This process's record as the holder.
        """
        _validate(name, purpose, wait)
        me = _me(name, purpose)
        if self._dialect == "postgresql":
            hold = self._hold_postgres
        elif self._in_memory:
            hold = self._hold_local
        else:
            hold = self._hold_file
        with hold(me, wait):
            yield me

    # -- PostgreSQL ------------------------------------------------------------------------
    @contextlib.contextmanager
    def _hold_postgres(self, me: LockHolder, wait: float) -> Iterator[None]:
        with _store_errors(me.name, "reach the store to take"):
            conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        # Whether the connection may go back to the pool: only when it surely holds no lock
        # (an interrupt between taking the lock and knowing it must not pool a held lock).
        clean = False
        try:
            with _store_errors(me.name, "take"):
                schema = conn.execute(sa.text("SELECT current_schema()")).scalar() or ""
                key = _advisory_key(f"{schema}\x00{me.name}")
                got, waited = _poll(lambda: conn.execute(
                    sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar() or None,
                    wait)
                if not got:
                    clean = True
                    holder = _holder_soon(lambda: self._recorded_holder(conn, me.name))
                    raise LockBusy(me.name, me.purpose, holder, waited)
                self._record_holder(conn, me)
            try:
                yield
            finally:
                try:
                    with contextlib.suppress(SQLAlchemyError):
                        conn.execute(self._table.delete().where(
                            self._table.c.name == me.name, self._table.c.pid == me.pid,
                            self._table.c.host == me.host))
                    clean = bool(conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"),
                                              {"k": key}).scalar())
                except SQLAlchemyError as exc:  # the session is gone, and its lock with it
                    log.warning("could not release the store lock %r (%s); closing its "
                                "connection releases it", me.name, _first_line(exc))
                else:
                    if not clean:
                        log.warning("the store lock %r was no longer held at release (the "
                                    "database connection dropped while it was held)", me.name)
        finally:
            # A connection that may still hold the lock is closed rather than pooled: ending
            # the session is what releases a session-level advisory lock.
            if not clean:
                with contextlib.suppress(Exception):
                    conn.invalidate()
            conn.close()

    def _record_holder(self, conn: sa.Connection, me: LockHolder) -> None:
        row = {"name": me.name, "purpose": me.purpose, "host": me.host, "pid": me.pid,
               "acquired_at": me.since.replace(tzinfo=None)}
        try:  # a record left by a holder that died is simply replaced
            conn.execute(self._table.delete().where(self._table.c.name == me.name))
            conn.execute(self._table.insert().values(**row))
        except SQLAlchemyError as exc:  # the lock is held; only the message would suffer
            log.warning("could not record the holder of the store lock %r: %s", me.name,
                        _first_line(exc))

    def _recorded_holder(self, conn: sa.Connection, name: str) -> LockHolder | None:
        try:
            row = conn.execute(sa.select(self._table).where(self._table.c.name == name)).first()
        except SQLAlchemyError:
            return None
        if row is None:
            return None
        return LockHolder(name=name, purpose=row.purpose or "", host=row.host or "?",
                          pid=int(row.pid or 0),
                          since=row.acquired_at.replace(tzinfo=timezone.utc))

    # -- SQLite file -----------------------------------------------------------------------
    @contextlib.contextmanager
    def _hold_file(self, me: LockHolder, wait: float) -> Iterator[None]:
        import fcntl

        folder = self._dir or Path(".")  # always set for a database file (see __init__)
        path = folder / f"{_slug(me.name)}.lock"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            handle = open(path, "a+", encoding="utf-8")  # never truncates another's record
        except OSError as exc:
            raise StoreError(f"Could not open the lock file {str(path)!r} for the store lock "
                             f"{me.name!r}: {exc.strerror or exc}. The folder beside the "
                             f"database must be writable; fix its permissions.") from None

        def try_once() -> bool | None:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return None
            return True

        try:
            got, waited = _poll(try_once, wait)
            if not got:
                holder = _holder_soon(lambda: _read_record(handle, me.name))
                raise LockBusy(me.name, me.purpose, holder, waited)
            _write_record(handle, me)
            try:
                yield
            finally:
                with contextlib.suppress(OSError):
                    handle.truncate(0)
                    handle.flush()
        finally:
            handle.close()  # closing the descriptor is what releases the flock

    # -- in-memory SQLite ------------------------------------------------------------------
    @contextlib.contextmanager
    def _hold_local(self, me: LockHolder, wait: float) -> Iterator[None]:
        with self._local_guard:
            lock = self._local.setdefault(me.name, (threading.Lock(), None))[0]
        got, waited = _poll(lambda: lock.acquire(blocking=False) or None, wait)
        if not got:
            raise LockBusy(me.name, me.purpose, self._local[me.name][1], waited)
        self._local[me.name] = (lock, me)
        try:
            yield
        finally:
            self._local[me.name] = (lock, None)
            lock.release()


def _holder_soon(read: Callable[[], LockHolder | None]) -> LockHolder | None:
    """The recorded holder, giving a holder that has just taken the lock a moment to write it.

    A record left by a holder on this host whose process is gone is stale (the next holder has
    not written its own yet) and is not quoted.
    """
    deadline = time.monotonic() + _RECORD_GRACE_S
    while True:
        holder = read()
        if holder is not None and not _dead_here(holder):
            return holder
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.02)


def _dead_here(holder: LockHolder) -> bool:
    if holder.host != socket.gethostname() or holder.pid <= 0:
        return False
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by someone else
        return False
    return False


@contextlib.contextmanager
def _store_errors(name: str, doing: str) -> Iterator[None]:
    """Database errors of the lock's own statements become a StoreError sentence."""
    try:
        yield
    except SQLAlchemyError as exc:
        raise StoreError(f"Could not {doing} the store lock {name!r}: {_first_line(exc)}. "
                         f"Check that the database is reachable, then run again.") from None


def _advisory_key(text: str) -> int:
    """A stable signed 64-bit key (PostgreSQL's ``bigint``) for ``text``."""
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _slug(name: str) -> str:
    """A file name for lock ``name``: readable part plus a hash, so names never collide."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")[:60] or "lock"
    return f"{readable}-{hashlib.sha256(name.encode('utf-8')).hexdigest()[:12]}"


def _write_record(handle: IO[str], me: LockHolder) -> None:
    try:
        handle.seek(0)
        handle.truncate(0)
        handle.write(json.dumps({"name": me.name, "purpose": me.purpose, "host": me.host,
                                 "pid": me.pid, "since": me.since.isoformat()}))
        handle.flush()
    except OSError as exc:  # the lock is held; only the message would suffer
        log.warning("could not record the holder of the store lock %r: %s", me.name, exc)


def _read_record(handle: IO[str], name: str) -> LockHolder | None:
    try:
        handle.seek(0)
        data = json.loads(handle.read() or "null")
        if not isinstance(data, dict):
            return None
        return LockHolder(name=name, purpose=str(data.get("purpose") or ""),
                          host=str(data.get("host") or "?"), pid=int(data.get("pid") or 0),
                          since=datetime.fromisoformat(str(data["since"])))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0].rstrip(".") if text else type(exc).__name__

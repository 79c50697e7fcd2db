"""Opening the store's database: URL choice, SQLite settings, schema creation and migration.

SQLite is configured for two processes at once (two papermill runs writing the same file):
write-ahead logging, so readers never block the writer; a 30 s busy timeout, so a writer waits
for the other instead of failing; and ``BEGIN IMMEDIATE`` for write transactions, because a
deferred transaction that later tries to write can fail with ``database is locked`` without the
busy handler ever being consulted.
"""

from __future__ import annotations

import os
import sqlite3
import time
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from calib.store.errors import StoreError
from calib.store.schema import MIGRATIONS, SCHEMA_VERSION

ENV_VAR = "CALIB_STORE_URL"
BUSY_TIMEOUT_S = 30.0
_WRITE_OPTION = "calib_write"


def default_url() -> str:
    """``$CALIB_STORE_URL`` if set, else the SQLite file ``<repo>/outputs/calib.sqlite``."""
    from_env = os.environ.get(ENV_VAR, "").strip()
    if from_env:
        return from_env
    repo = Path(__file__).resolve().parents[2]
    return f"sqlite:///{repo / 'outputs' / 'calib.sqlite'}"


def parse_url(url: str) -> sa.URL:
    """Parse a SQLAlchemy URL, raising :class:`StoreError` with a sentence when it is wrong."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(
            "The store URL could not be parsed; pass a SQLAlchemy URL such as "
            "'sqlite:////path/to/calib.sqlite' or 'postgresql+psycopg://user@host/db'.") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise StoreError(f"The store supports SQLite and PostgreSQL, not "
                         f"{parsed.get_backend_name()!r}; use a sqlite:/// or "
                         f"postgresql+psycopg:// URL.")
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")  # psycopg 3 is what we install
    return parsed


def create_store_engine(url: sa.URL) -> sa.Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and immediate write transactions."""
    if url.get_backend_name() == "postgresql":
        try:
            return sa.create_engine(url, pool_pre_ping=True)
        except NoSuchModuleError:
            raise StoreError("The PostgreSQL driver is not installed; run "
                             "`pip install 'psycopg[binary]'` or use a SQLite URL.") from None
    database = url.database
    in_memory = not database or database == ":memory:"
    if not in_memory:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    kwargs: dict = {"connect_args": {"timeout": BUSY_TIMEOUT_S, "check_same_thread": False}}
    if in_memory:
        kwargs["poolclass"] = sa.pool.StaticPool
    engine = sa.create_engine(url, **kwargs)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # noqa: ANN001 - DBAPI objects
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see module docstring)
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        if not in_memory:
            _enable_wal(cur)
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        write = conn.get_execution_options().get(_WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _enable_wal(cursor: sqlite3.Cursor) -> None:
    """Switch the database to write-ahead logging, waiting out another connection doing so.

    Two connections switching a new database to WAL at the same moment each hold a shared lock
    and want an exclusive one; SQLite refuses one of them at once with "database is locked"
    instead of deadlocking, without consulting the busy timeout. So the switch is retried for as
    long as that timeout (the other connection finishes within milliseconds).
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    pause = 0.002
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def write_connection(engine: sa.Engine) -> sa.Connection:
    """A connection whose transactions take the write lock at BEGIN (SQLite) — use as a context."""
    return engine.connect().execution_options(**{_WRITE_OPTION: True})


def ensure_schema(engine: sa.Engine, metadata: sa.MetaData) -> int:
    """Create or migrate the schema in one transaction; return the version now in place.

    Raises :class:`StoreError` when the database was written by a newer calib.
    """
    with write_connection(engine) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            # Serialize concurrent first opens of the same database.
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(74657)"))
        inspector = sa.inspect(conn)
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        version_table = metadata.tables["schema_version"]
        if not inspector.has_table("schema_version"):
            metadata.create_all(conn)
            conn.execute(version_table.insert().values(version=SCHEMA_VERSION, applied_at=now))
            return SCHEMA_VERSION
        current = conn.execute(sa.select(sa.func.max(version_table.c.version))).scalar() or 0
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"The store's schema is version {current} but this calib understands only up "
                f"to version {SCHEMA_VERSION}; upgrade calib or point CALIB_STORE_URL at "
                f"another database.")
        for version in range(current, SCHEMA_VERSION):
            migrate = MIGRATIONS.get(version)
            if migrate is None:
                raise StoreError(f"There is no migration from schema version {version}; "
                                 f"recreate the store or upgrade calib.")
            migrate(conn)
            conn.execute(version_table.insert().values(version=version + 1, applied_at=now))
        metadata.create_all(conn, checkfirst=True)
        return SCHEMA_VERSION

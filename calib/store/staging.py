"""The store's bulk write path: incoming rows go into a temporary table with the database's own
bulk loader, then one set-based statement per step compares and writes them.

Loading: PostgreSQL ``COPY … FROM STDIN (FORMAT BINARY)``; SQLite ``executemany`` of plain tuples
on the raw connection. Both run inside the caller's transaction, so a failure (or a dry run's
rollback) leaves no trace, and the temporary tables are dropped before the transaction ends.

Values are written exactly as SQLAlchemy would write them into the target table (same column
types, same bind processing: SQLite date-times as SQLAlchemy's text form, booleans as 0/1), so a
stored row and an incoming row compare equal in SQL exactly when their values are equal.

Comparing and writing (:func:`delete_missing`, :func:`write_staged`) are single statements
joining the staged table with the target on its primary key: ``DELETE … WHERE NOT EXISTS``,
``UPDATE … FROM`` where any column ``IS DISTINCT FROM`` (``IS NOT`` on SQLite), and
``INSERT … SELECT … WHERE NOT EXISTS``. No stored row is read into Python.
"""

from __future__ import annotations

import functools
from typing import Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
import sqlalchemy as sa

#: Rows handed to the driver at once: bounds the Python objects alive while loading.
CHUNK_ROWS = 100_000

_BINARY_TYPES = ((sa.Boolean, "bool"), (sa.DateTime, "timestamp"), (sa.Float, "float8"),
                 (sa.Integer, "int8"), (sa.Text, "text"))


def column_values(values: pd.Series | np.ndarray, column: sa.Column) -> np.ndarray:
    """``values`` as an object array of plain Python values for ``column``; None for missing.

    Text columns get ``str`` (an id read as a number is still an id), float columns ``float``,
    boolean columns ``bool``, date-time columns naive-UTC ``datetime`` (microseconds). Each
    conversion is one vectorised pass over the column (months hold up to millions of rows).
    """
    series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    kind = column.type
    if isinstance(kind, sa.DateTime):
        stamps = pd.DatetimeIndex(pd.to_datetime(series, utc=True)).tz_convert("UTC")
        naive = stamps.tz_localize(None).floor("us")
        out = naive.to_pydatetime().astype(object)
        out[naive.isna()] = None
        return out
    if isinstance(kind, sa.Float):
        numbers = pd.to_numeric(series).to_numpy(dtype="float64", na_value=np.nan)
        out = numbers.astype(object)
        out[np.isnan(numbers)] = None
        return out
    if isinstance(kind, sa.Boolean):
        if series.dtype == bool:
            return series.to_numpy(dtype=object)
        out = np.empty(len(series), dtype=object)
        present = ~np.asarray(pd.isna(series))
        out[present] = series[present].astype(bool).to_numpy(dtype=object)
        return out
    out = series.to_numpy(dtype=object)
    missing = pd.isna(out)
    if missing.any():
        out = out.copy()
        out[missing] = None
    if isinstance(kind, sa.String) and pd.api.types.infer_dtype(out, skipna=True) not in (
            "string", "empty"):
        out = out.copy()
        present = ~missing
        out[present] = [str(v) for v in out[present]]
    return out


#: Rows from which PostgreSQL is given statistics of a staged table (below, its guess is fine).
_ANALYZE_FROM_ROWS = 5_000


def stage(conn: sa.Connection, name: str, like: sa.Table, columns: Mapping[str, np.ndarray]
          ) -> sa.Table:
    """Load ``columns`` into the temporary table ``name`` (``like``'s types for those columns).

    ``columns`` maps a column of ``like`` to its values (:func:`column_values`), all of one
    length. The temporary table lives as long as the database connection and is emptied by
    :func:`unstage`, so a month written after another one creates nothing: creating and
    dropping tables costs more than a small month's rows. Returns the staged table.
    """
    staged = _staged_table(name, like, tuple(columns))
    conn.execute(sa.schema.CreateTable(staged, if_not_exists=True))
    conn.execute(staged.delete())  # empty already, unless a caller went on after a failure
    if load(conn, staged, columns) >= _ANALYZE_FROM_ROWS and conn.dialect.name == "postgresql":
        # temporary tables get no statistics by themselves; the joins below need them
        conn.execute(sa.text(f"ANALYZE {_quoted(conn, name)}"))
    return staged


@functools.lru_cache(maxsize=64)
def _staged_table(name: str, like: sa.Table, columns: tuple[str, ...]) -> sa.Table:
    """One Table object per staged shape, so that SQLAlchemy compiles each statement once."""
    return sa.Table(name, sa.MetaData(), *(sa.Column(c, like.c[c].type) for c in columns),
                    prefixes=["TEMPORARY"])


def load(conn: sa.Connection, table: sa.Table, columns: Mapping[str, np.ndarray]) -> int:
    """Append ``columns`` (:func:`column_values`) to ``table`` with the database's bulk loader;
    return the number of rows. The caller makes sure no key is taken (a staged table has none;
    a month table only when it holds none of the month's rows)."""
    arrays = [np.asarray(v, dtype=object) for v in columns.values()]
    if not arrays or not len(arrays[0]):
        return 0
    target = sa.Table(table.name, sa.MetaData(), *(sa.Column(c, table.c[c].type)
                                                   for c in columns))
    if conn.dialect.name == "postgresql":
        _copy_in(conn, target, arrays)
    else:
        _insert_many(conn, target, arrays)
    return len(arrays[0])


def unstage(conn: sa.Connection, staged: Sequence[sa.Table]) -> None:
    """Empty staged tables and drop their key indexes (for the next month on the connection).

    PostgreSQL truncates (a DELETE would leave dead rows that no autovacuum ever clears from a
    temporary table, and every later month would scan them); SQLite empties a whole table
    without visiting its rows.
    """
    if not staged:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("TRUNCATE " + ", ".join(_quoted(conn, t.name) for t in staged)))
        return
    for table in staged:
        conn.execute(table.delete())
        conn.execute(sa.text(f"DROP INDEX IF EXISTS {_quoted(conn, table.name + '_key')}"))


def _chunks(arrays: Sequence[np.ndarray]) -> Iterator[list[tuple]]:
    for start in range(0, len(arrays[0]), CHUNK_ROWS):
        yield list(zip(*(a[start:start + CHUNK_ROWS].tolist() for a in arrays)))


def _copy_in(conn: sa.Connection, staged: sa.Table, arrays: Sequence[np.ndarray]) -> None:
    types = [next(pg for kind, pg in _BINARY_TYPES if isinstance(c.type, kind))
             for c in staged.columns]
    names = ", ".join(_quoted(conn, c.name) for c in staged.columns)
    with conn.connection.driver_connection.cursor() as cursor:
        with cursor.copy(f"COPY {_quoted(conn, staged.name)} ({names}) FROM STDIN "
                         f"(FORMAT BINARY)") as copy:
            copy.set_types(types)
            for rows in _chunks(arrays):
                for row in rows:
                    copy.write_row(row)


def _insert_many(conn: sa.Connection, staged: sa.Table, arrays: Sequence[np.ndarray]) -> None:
    arrays = [_sqlite_form(conn, column, values)
              for column, values in zip(staged.columns, arrays)]
    marks = ", ".join("?" for _ in arrays)
    names = ", ".join(_quoted(conn, c.name) for c in staged.columns)
    cursor = conn.connection.driver_connection.cursor()
    try:
        for rows in _chunks(arrays):
            cursor.executemany(f"INSERT INTO {_quoted(conn, staged.name)} ({names}) "
                               f"VALUES ({marks})", rows)
    finally:
        cursor.close()


def _sqlite_form(conn: sa.Connection, column: sa.Column, values: np.ndarray) -> np.ndarray:
    """Values as SQLAlchemy binds them on SQLite: date-times as its text form (a ``bool`` binds
    as the integer 0/1 that SQLAlchemy writes for a Boolean, as it is)."""
    if isinstance(column.type, sa.DateTime):
        process = column.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        return np.array([None if v is None else process(v) for v in values], dtype=object)
    return values


def _quoted(conn: sa.Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def _key_match(target: sa.Table, staged: sa.Table) -> sa.ColumnElement:
    return sa.and_(*(target.c[c.name] == staged.c[c.name] for c in target.primary_key.columns))


def delete_missing(conn: sa.Connection, target: sa.Table, staged: sa.Table,
                   in_scope: sa.ColumnElement) -> int:
    """Delete the rows of ``target`` selected by ``in_scope`` whose key ``staged`` lacks."""
    if conn.dialect.name == "sqlite":
        if not conn.execute(sa.select(sa.exists().where(in_scope))).scalar():
            return 0  # nothing stored yet (a first write): no index needed
        # SQLite probes the staged rows once per stored row here and has no hash join: give it
        # the key as an index (one sort), or the look-up is a scan per row.
        keys = ", ".join(_quoted(conn, c.name) for c in target.primary_key.columns)
        conn.execute(sa.text(f"CREATE INDEX IF NOT EXISTS {_quoted(conn, staged.name + '_key')} "
                             f"ON {_quoted(conn, staged.name)} ({keys})"))
    absent = ~sa.exists().where(_key_match(target, staged))
    return conn.execute(target.delete().where(in_scope, absent)).rowcount


def write_staged(conn: sa.Connection, target: sa.Table, staged: sa.Table,
                 n_staged: int) -> dict[str, int]:
    """Update the rows of ``target`` whose staged values differ, insert the new keys; count.

    Only the staged columns are compared and written. Returns inserted, updated, unchanged.
    """
    keys = {c.name for c in target.primary_key.columns}
    compared = [c.name for c in staged.columns if c.name not in keys]
    updated = 0
    if compared:
        differs = sa.or_(*(target.c[c].is_distinct_from(staged.c[c]) for c in compared))
        updated = conn.execute(
            target.update().where(_key_match(target, staged), differs)
            .values({c: staged.c[c] for c in compared})).rowcount
    names = [c.name for c in staged.columns]
    fresh = sa.select(*staged.columns).where(~sa.exists().where(_key_match(target, staged)))
    inserted = conn.execute(target.insert().from_select(names, fresh),
                            execution_options={"preserve_rowcount": True}).rowcount
    return {"inserted": inserted, "updated": updated,
            "unchanged": n_staged - inserted - updated}

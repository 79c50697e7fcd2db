"""A store's every table as plain Python rows, to prove that a refused operation changed nothing.

Reads the database behind the public API on purpose: the public reads go through the blind gate
and leave sealed rows, reference data and logs out, and "nothing changed" must cover all of it.
This module holds no tests.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from calib.store import Store


def dump_store(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every table of ``store``: ``{table name: sorted list of row tuples}``.

    Rows are sorted by their text form, so two dumps of the same content compare equal whatever
    order the database returns them in. ``schema_version`` is included (it must not move either).
    """
    tables = store._tables  # the store's own schema: every table it would ever write
    out: dict[str, list[tuple[Any, ...]]] = {}
    with store._engine.connect() as conn:
        for name in sorted(tables):
            rows = [tuple(row) for row in conn.execute(sa.select(tables[name]))]
            out[name] = sorted(rows, key=repr)
    return out


def table_rows(store: Store, name: str) -> list[dict[str, Any]]:
    """One table's rows as dicts (unsorted), for assertions on particular columns."""
    table = store._tables[name]
    with store._engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(sa.select(table))]


def shown_rows(store: Store, name: str) -> list[dict[str, Any]]:
    """Like :func:`table_rows` for calibrations, evaluations or answers, with the ids as their
    source named them: ids from files are stored team-scoped (``calib.store.scope``)."""
    from calib.store.scope import shown_id

    t = store._tables
    cal, ev, table = t["calibrations"], t["evaluations"], t[name]
    joined = table
    if name in ("evaluations", "answers"):
        joined = joined if name == "evaluations" else \
            joined.join(ev, ev.c.evaluation_id == table.c.evaluation_id)
        joined = joined.join(cal, cal.c.calibration_id == ev.c.calibration_id)
    select = sa.select(table) if name == "calibrations" else \
        sa.select(table, cal.c.team.label("_team"), cal.c.source.label("_source"))
    with store._engine.connect() as conn:
        rows = [dict(row._mapping) for row in conn.execute(select.select_from(joined))]
    for row in rows:
        team, source = row.pop("_team", row.get("team")), row.pop("_source", row.get("source"))
        for column in ("calibration_id", "evaluation_id"):
            if column in row:
                row[column] = shown_id(team, source, row[column])
    return rows

"""Schema migrations that move data (the ones that only add tables live in :mod:`schema`).

``scope_file_ids`` (version 3 -> 4): ids from files become team-scoped keys
(:mod:`calib.store.scope`). A store written before version 4 holds file ids as the file named
them; each is moved to ``"<team>/<id>"`` with every row that refers to it, inside the version
bump's transaction. The shown ids do not change, so a re-import of the same files afterwards
changes nothing.
"""

from __future__ import annotations

from typing import Mapping

import sqlalchemy as sa

from calib.store.scope import FILES, SEPARATOR

# A prefix no real id carries, for the rare store where a moved key equals a key still to be
# moved (a file id that already reads "<team>/<another id>"): such stores move twice.
_PARKED = "\x01calib-moving\x01"


def scope_file_ids(conn: sa.Connection, tables: Mapping[str, sa.Table]) -> None:
    """Move every file-sourced calibration and evaluation to its team-scoped key."""
    cal, ev = tables["calibrations"], tables["evaluations"]
    files = cal.c.source == FILES
    cal_map = sa.select(cal.c.calibration_id.label("old"),
                        (cal.c.team + SEPARATOR + cal.c.calibration_id).label("new")).where(files)
    ev_map = (sa.select(ev.c.evaluation_id.label("old"),
                        (cal.c.team + SEPARATOR + ev.c.evaluation_id).label("new"))
              .select_from(ev.join(cal, cal.c.calibration_id == ev.c.calibration_id))
              .where(files))
    cal_pairs = [tuple(r) for r in conn.execute(cal_map)]
    ev_pairs = [tuple(r) for r in conn.execute(ev_map)]
    if not cal_pairs:
        return
    clash = ({new for _, new in cal_pairs} & set(conn.execute(sa.select(cal.c.calibration_id))
                                                 .scalars())
             or {new for _, new in ev_pairs} & set(conn.execute(sa.select(ev.c.evaluation_id))
                                                   .scalars()))
    if clash:
        _move(conn, tables, [(o, _PARKED + n) for o, n in cal_pairs],
              [(o, _PARKED + n) for o, n in ev_pairs])
        cal_pairs = [(_PARKED + n, n) for _, n in cal_pairs]
        ev_pairs = [(_PARKED + n, n) for _, n in ev_pairs]
    _move(conn, tables, cal_pairs, ev_pairs)


def _move(conn: sa.Connection, t: Mapping[str, sa.Table], cal_pairs: list[tuple[str, str]],
          ev_pairs: list[tuple[str, str]]) -> None:
    """Re-key calibrations and evaluations: copy parents to the new keys, point the children at
    them, drop the old parents; foreign keys hold at every statement."""
    md = sa.MetaData()
    cal_map = sa.Table("calib_move_calibrations", md, sa.Column("old", sa.Text, primary_key=True),
                       sa.Column("new", sa.Text), prefixes=["TEMPORARY"])
    ev_map = sa.Table("calib_move_evaluations", md, sa.Column("old", sa.Text, primary_key=True),
                      sa.Column("new", sa.Text), prefixes=["TEMPORARY"])
    md.create_all(conn)
    conn.execute(cal_map.insert(), [{"old": o, "new": n} for o, n in cal_pairs])
    if ev_pairs:
        conn.execute(ev_map.insert(), [{"old": o, "new": n} for o, n in ev_pairs])
    cal, ev = t["calibrations"], t["evaluations"]
    _copy_rekeyed(conn, cal, "calibration_id", cal_map)
    new_cal = (sa.select(cal_map.c.new).where(cal_map.c.old == ev.c.calibration_id)
               .scalar_subquery())
    rest = [c for c in ev.columns if c.name not in ("evaluation_id", "calibration_id")]
    conn.execute(ev.insert().from_select(
        ["evaluation_id", "calibration_id", *(c.name for c in rest)],
        sa.select(ev_map.c.new, new_cal, *rest)
        .select_from(ev.join(ev_map, ev_map.c.old == ev.c.evaluation_id))))
    _point(conn, t["answers"].c.evaluation_id, ev_map)
    conn.execute(ev.delete().where(ev.c.evaluation_id.in_(sa.select(ev_map.c.old))))
    existing = set(sa.inspect(conn).get_table_names())
    for child in ("calibration_assignments", "reveals", "consensus_answers",
                  "deadline_changes"):
        # a store older than the child's table (deadline_changes is version 2) has nothing to
        # point; the table is created after the last migration
        if child in existing:
            _point(conn, t[child].c.calibration_id, cal_map)
    conn.execute(cal.delete().where(cal.c.calibration_id.in_(sa.select(cal_map.c.old))))
    md.drop_all(conn)  # on failure the transaction's rollback drops them


def _copy_rekeyed(conn: sa.Connection, table: sa.Table, key: str, id_map: sa.Table) -> None:
    rest = [c for c in table.columns if c.name != key]
    conn.execute(table.insert().from_select(
        [key, *(c.name for c in rest)],
        sa.select(id_map.c.new, *rest)
        .select_from(table.join(id_map, id_map.c.old == table.c[key]))))


def _point(conn: sa.Connection, column: sa.Column, id_map: sa.Table) -> None:
    """Point ``column`` at the new keys of ``id_map``."""
    new = sa.select(id_map.c.new).where(id_map.c.old == column).scalar_subquery()
    conn.execute(column.table.update().where(column.in_(sa.select(id_map.c.old)))
                 .values({column.name: new}))

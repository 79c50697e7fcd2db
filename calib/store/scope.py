"""Ids from files are scoped by team inside the store; ids from the API are stored as they are.

A spreadsheet team names its calls ``call-01``, ``call-02``…, and so does the next team: such ids
are unique within a team's files only. The store keeps one key per calibration and evaluation
(the foreign keys of assignments, answers, reveals and consensus answers hang on it), so a
file's ``calibration_id`` and ``evaluation_id`` are stored as ``"<team>/<id>"`` and shown
without the prefix again wherever the store hands ids out (scores, answers, gate, status,
reveals, consensus, refusals). Team names cannot hold ``/`` (:func:`calib.values.check_team`),
so the prefix is unambiguous. API ids (Genesys UUIDs) are unique in the org and are never
rewritten. docs/interchange.md says why the scoping lives here.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa

FILES = "files"
SEPARATOR = "/"


def is_scoped(source: Any) -> bool:
    """True for rows whose ids are scoped by team (those from files)."""
    return source == FILES


def stored_id(team: str, source: str, row_id: str) -> str:
    """The key under which ``row_id`` of ``team`` from ``source`` is stored."""
    return f"{team}{SEPARATOR}{row_id}" if is_scoped(source) else row_id


def shown_id(team: str | None, source: str | None, row_id: str) -> str:
    """The id as its source named it, from a stored key.

    ``source`` None (the calibration is no longer stored, e.g. a reveal kept as history) falls
    back to the prefix: an API id never starts with ``"<team>/"``.
    """
    if row_id is None or team is None:
        return row_id
    prefix = f"{team}{SEPARATOR}"
    if (is_scoped(source) or source is None) and row_id.startswith(prefix):
        return row_id[len(prefix):]
    return row_id


def stored_column(values: pd.Series, team: str, source: str) -> pd.Series:
    """A column of ids as stored (vectorised :func:`stored_id`); missing values stay missing."""
    if not is_scoped(source):
        return values
    text = values.astype("object")
    return text.where(text.isna(), f"{team}{SEPARATOR}" + text.astype(str))


def show_columns(frame: pd.DataFrame, columns: tuple[str, ...] | list[str], *,
                 team: str = "team", source: str = "source") -> pd.DataFrame:
    """``frame`` with its id ``columns`` as the sources named them (vectorised).

    ``team`` and ``source`` name the columns that say, per row, whose id it is; a missing source
    falls back to the prefix as in :func:`shown_id`.
    """
    if frame.empty:
        return frame
    scoped = frame[source].isna() | (frame[source] == FILES)
    if not scoped.any():
        return frame
    frame = frame.copy()
    for name in frame.loc[scoped, team].dropna().unique():
        prefix = f"{name}{SEPARATOR}"
        rows = scoped & (frame[team] == name)
        for column in columns:
            values = frame.loc[rows, column].astype("object")
            has = values.notna() & values.astype(str).str.startswith(prefix)
            frame.loc[values.index[has], column] = values[has].astype(str).str.slice(len(prefix))
    return frame


def matches_shown(cal: sa.Table, column: sa.ColumnElement, shown: str) -> sa.ColumnElement:
    """SQL: ``column`` holds the stored key of the calibration shown as ``shown`` (joined to
    ``cal``, the calibrations table, for its team and source)."""
    scoped = cal.c.team + SEPARATOR + shown
    return sa.or_(sa.and_(cal.c.source != FILES, column == shown),
                  sa.and_(cal.c.source == FILES, column == scoped))


def resolve_calibration(conn: sa.Connection, cal: sa.Table, shown: str,
                        team: str | None) -> str:
    """The stored key of the calibration the analyst names ``shown`` (in ``team``, if given).

    Raises
    ------
    StoreError
        When no stored calibration has that id, or several teams' files use it and ``team``
        does not say which.
    """
    from calib.store.errors import StoreError

    where = matches_shown(cal, cal.c.calibration_id, shown)
    if team is not None:
        where = sa.and_(where, cal.c.team == team)
    found = conn.execute(sa.select(cal.c.calibration_id, cal.c.team).where(where)
                         .order_by(cal.c.team)).all()
    if not found:
        within = f" of team {team!r}" if team is not None else ""
        raise StoreError(f"Calibration {shown!r}{within} is not in the store; sync or import "
                         f"its month first.")
    if len(found) > 1:
        teams = ", ".join(repr(r.team) for r in found)
        raise StoreError(f"Calibration {shown!r} is in the files of several teams ({teams}); "
                         f"pass team= to say whose it is.")
    return found[0].calibration_id

"""The store's AI scoring tables: writing a month's ``ai_runs`` and ``ai_answers`` and reading
them back behind the blind gate.

Kept apart from the month upsert (:mod:`calib.store.upsert`): AI rows hang off stored
evaluations, so they are written after the month's evaluations, in their own transaction, and
go with their evaluation (ON DELETE CASCADE). Writing a month's AI rows makes the stored AI rows
of that team, month and source equal to the given ones: rows of evaluations that are not given
are removed, so a rerun after a failure, or after Genesys re-ran the AI, ends in the same state.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Mapping

import pandas as pd
import sqlalchemy as sa

from calib.ai.tables import ai_answers_frame, ai_runs_frame
from calib.store import convert as cv
from calib.store.gate import gate_table
from calib.store.scope import show_columns, stored_column

__all__ = ["AiStoreMixin", "upsert_ai", "load_ai_runs", "load_ai_answers"]

_RUN_COLUMNS = {"evaluation_id": "evaluation_id", "ai_failure_type": "failure_type",
                "ai_pending": "pending", "ai_date_last_changed": "date_last_changed",
                "evaluation_source_type": "source_type"}
_SOURCE_WORDS = {"api": "synced from the API", "files": "imported from files"}
_ANSWER_COLUMNS = {"evaluation_id": "evaluation_id", "question_id": "question_id",
                   "question_group_id": "question_group_id", "ai_answer_id": "answer_id",
                   "ai_marked_na": "marked_na", "ai_failure_type": "failure_type",
                   "ai_explanation": "explanation"}


def _records(frame: pd.DataFrame, names: Mapping[str, str]) -> list[dict]:
    rows = cv.frame_records(frame[list(names)].rename(columns=names))
    for row in rows:
        if "pending" in row and row["pending"] is not None:
            row["pending"] = bool(row["pending"])
    return rows


def _diff(conn: sa.Connection, table: sa.Table, old: list[dict], new: list[dict]
          ) -> dict[str, int]:
    """Make ``table``'s rows ``old`` equal ``new`` (by primary key) and count the changes."""
    pk = [c.name for c in table.primary_key.columns]
    before = {tuple(r[c] for c in pk): r for r in old}
    after = {tuple(r[c] for c in pk): r for r in new}
    gone = [k for k in before if k not in after]
    inserts = [r for k, r in after.items() if k not in before]
    updates = [r for k, r in after.items()
               if k in before and any(before[k][c] != r[c] for c in r)]
    where = sa.and_(*(table.c[c] == sa.bindparam(f"k_{c}") for c in pk))
    if gone:
        conn.execute(table.delete().where(where), [{f"k_{c}": k[i] for i, c in enumerate(pk)}
                                                   for k in gone])
    if inserts:
        conn.execute(table.insert(), inserts)
    if updates:
        columns = [c for c in updates[0] if c not in pk]
        conn.execute(table.update().where(where).values(
            {c: sa.bindparam(f"v_{c}") for c in columns}),
            [{**{f"k_{c}": r[c] for c in pk}, **{f"v_{c}": r[c] for c in columns}}
             for r in updates])
    return {"inserted": len(inserts), "updated": len(updates),
            "unchanged": len(after) - len(inserts) - len(updates), "deleted": len(gone)}


def upsert_ai(conn: sa.Connection, t: Mapping[str, sa.Table], team: str, month: str,
              runs: pd.DataFrame, answers: pd.DataFrame, *, source: str = "api"
              ) -> dict[str, dict[str, int]]:
    """Make the stored AI rows of ``team``/``month``/``source`` equal ``runs`` and ``answers``.

    An answer of an evaluation without a ``runs`` row gets an empty one (AI scoring ran; its
    failure and timing unknown). Raises ValueError, before any write, when a row names an
    evaluation that is not stored for this team, month and source (write the month first).
    """
    runs, answers = ai_runs_frame(runs), ai_answers_frame(answers)
    # ids from files are stored under their team's key, like the month's own rows
    runs = runs.assign(evaluation_id=stored_column(runs["evaluation_id"], team, source))
    answers = answers.assign(evaluation_id=stored_column(answers["evaluation_id"], team, source))
    for name, frame, key in (("ai_runs", runs, ["evaluation_id"]),
                             ("ai_answers", answers, ["evaluation_id", "question_id"])):
        if frame[key].isna().any().any():
            raise ValueError(f"{name} has rows without {' or '.join(key)}; every row needs "
                             f"them.")
        dup = frame[frame.duplicated(key)]
        if len(dup):
            raise ValueError(f"{name} lists {dict(dup[key].iloc[0])} more than once; keep one "
                             f"row per {' and '.join(key)}.")
    cal, ev = t["calibrations"], t["evaluations"]
    stored = {r[0] for r in conn.execute(
        sa.select(ev.c.evaluation_id).select_from(
            ev.join(cal, cal.c.calibration_id == ev.c.calibration_id))
        .where(cal.c.team == team, cal.c.month == month, cal.c.source == source))}
    named = set(runs["evaluation_id"]) | set(answers["evaluation_id"])
    unknown = sorted(named - stored)
    if unknown:
        where = _SOURCE_WORDS.get(source, source)
        raise ValueError(f"AI scoring names {len(unknown)} evaluation(s) not stored for team "
                         f"{team!r}, {month} ({where}), such as {unknown[0]!r}; write the "
                         f"month's scores first, or correct the evaluation ids.")
    missing = sorted(set(answers["evaluation_id"]) - set(runs["evaluation_id"]))
    if missing:
        runs = ai_runs_frame(pd.concat([runs, pd.DataFrame({"evaluation_id": missing})],
                                       ignore_index=True))
    scope = sorted(stored)
    counts = {}
    for name, frame, names in (("ai_runs", runs, _RUN_COLUMNS),
                               ("ai_answers", answers, _ANSWER_COLUMNS)):
        table = t["ai_evaluations" if name == "ai_runs" else "ai_answers"]
        old = [dict(r._mapping) for r in conn.execute(
            sa.select(table).where(table.c.evaluation_id.in_(scope)))]
        counts[name] = _diff(conn, table, old, _records(frame, names))
    return counts


def _open_rows(conn: sa.Connection, t: Mapping[str, sa.Table], table: sa.Table,
               team: str | None, months: list[str] | None) -> pd.DataFrame:
    cal, ev = t["calibrations"], t["evaluations"]
    gate = gate_table(conn, t, team, months)
    open_ids = list(gate.loc[gate["open"], "calibration_id"])
    q = (sa.select(cal.c.team, cal.c.month, cal.c.session_id, cal.c.calibration_id,
                   sa.func.coalesce(ev.c.conversation_id, cal.c.conversation_id)
                   .label("conversation_id"), ev.c.evaluator_id, ev.c.role,
                   sa.func.coalesce(ev.c.form_id, cal.c.form_id).label("form_id"), table,
                   cal.c.source)
         .select_from(table.join(ev, ev.c.evaluation_id == table.c.evaluation_id)
                      .join(cal, cal.c.calibration_id == ev.c.calibration_id))
         .where(cal.c.calibration_id.in_(open_ids)))
    if team is not None:
        q = q.where(cal.c.team == team)
    if months is not None:
        q = q.where(cal.c.month.in_(months))
    result = conn.execute(q)
    frame = pd.DataFrame([dict(r._mapping) for r in result], columns=list(result.keys()))
    return show_columns(frame, ("calibration_id", "evaluation_id"))


def load_ai_runs(conn: sa.Connection, t: Mapping[str, sa.Table], team: str | None,
                 months: list[str] | None) -> pd.DataFrame:
    """``ai_runs`` of the open calibrations of the selection (sealed ones left out)."""
    raw = _open_rows(conn, t, t["ai_evaluations"], team, months)
    raw = raw.rename(columns={v: k for k, v in _RUN_COLUMNS.items()})
    raw["ai_date_last_changed"] = [cv.aware(v) for v in raw["ai_date_last_changed"]]
    frame = ai_runs_frame(raw)
    return frame.sort_values(["team", "month", "calibration_id", "evaluation_id"],
                             kind="stable").reset_index(drop=True)


def load_ai_answers(conn: sa.Connection, t: Mapping[str, sa.Table], team: str | None,
                    months: list[str] | None) -> pd.DataFrame:
    """``ai_answers`` of the open calibrations of the selection, questions in form order."""
    raw = _open_rows(conn, t, t["ai_answers"], team, months)
    raw = raw.rename(columns={v: k for k, v in _ANSWER_COLUMNS.items()})
    fq = t["form_questions"]
    order = {(r[0], r[1]): r[2] for r in conn.execute(
        sa.select(fq.c.form_id, fq.c.question_id, fq.c.position))}
    raw["_position"] = [order.get(k, 10 ** 6) for k in zip(raw["form_id"], raw["question_id"])]
    raw = raw.sort_values(["team", "month", "calibration_id", "evaluation_id", "_position",
                           "question_id"], kind="stable")
    return ai_answers_frame(raw)


class AiStoreMixin:
    """The :class:`calib.store.Store` methods for AI scoring (``_write``, ``_read`` and
    ``_tables`` come from the store)."""

    _tables: Mapping[str, sa.Table]
    _write: Any
    _read: Any

    def upsert_ai(self, team: str, month: str, runs: pd.DataFrame, answers: pd.DataFrame, *,
                  source: str = "api") -> dict[str, dict[str, int]]:
        """Make the stored AI scoring of ``team``/``month``/``source`` equal the given tables.

        Parameters
        ----------
        team, month : str
        runs, answers : pandas.DataFrame
            ``calib.ai.tables`` ``ai_runs`` and ``ai_answers`` of evaluations already stored
            for this team, month and source (write the month with :meth:`upsert_month` first).
        source : {"api", "files"}

        Returns
        -------
        dict
            ``{"ai_runs": counts, "ai_answers": counts}``, counts as in
            :class:`calib.store.UpsertResult` (inserted, updated, unchanged, deleted).
        """
        team, month = cv.check_team(team), cv.check_month(month)
        if source not in ("api", "files"):
            raise ValueError(f"source must be 'api' or 'files', not {source!r}.")
        if not isinstance(runs, pd.DataFrame) or not isinstance(answers, pd.DataFrame):
            raise ValueError("runs and answers must be pandas DataFrames (calib.ai.tables).")
        return self._write(lambda conn: upsert_ai(conn, self._tables, team, month, runs,
                                                  answers, source=source))

    def ai_runs(self, team: str | None = None,
                months: str | Iterable[str] | None = None) -> pd.DataFrame:
        """The ``ai_runs`` table (``calib.ai.tables.AI_RUNS_COLUMNS``) of open calibrations."""
        team = None if team is None else cv.check_team(team)
        return self._read(load_ai_runs, self._tables, team, cv.month_list(months))

    def ai_answers(self, team: str | None = None,
                   months: str | Iterable[str] | None = None) -> pd.DataFrame:
        """The ``ai_answers`` table (``calib.ai.tables.AI_ANSWERS_COLUMNS``) of open
        calibrations; sealed calibrations' AI answers are left out like their answers."""
        team = None if team is None else cv.check_team(team)
        return self._read(load_ai_answers, self._tables, team, cv.month_list(months))

    def form_bodies(self, form_ids: Iterable[str] | None = None) -> dict[str, dict]:
        """The stored form versions as the API returned them (JSON), by form id: what
        :func:`calib.scoring.score_evaluation` needs to re-score the AI's answers."""
        forms = self._tables["forms"]
        stmt = sa.select(forms.c.form_id, forms.c.body)
        if form_ids is not None:
            stmt = stmt.where(forms.c.form_id.in_(list(form_ids)))
        rows = self._read(lambda c: list(c.execute(stmt)))
        return {fid: json.loads(body) for fid, body in rows if body}

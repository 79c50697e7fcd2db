"""The month upsert: compare what the source says now with what the store holds, change only
the difference, in one transaction.

Removal policy: a calibration that the same ``source`` listed before for the team and month but
no longer lists (deleted in Genesys) is *removed* with its assignments, evaluations and answers,
and its id is reported in :attr:`UpsertResult.removed_calibrations`. Reveals, consensus answers
and rubric notes are history and are kept.

Sources stay apart: rows of another source are never touched. An upsert that names a
calibration or evaluation id the store holds for another source (or another team or month) is
refused as a whole with :class:`StoredElsewhere`, before anything is written; an API sync never
changes rows imported from files, and an import never changes API-synced rows.

Answers are optional (``answers=None``): a file that carries only scores says nothing about the
answers, so the stored answers of the evaluations it keeps are left as they are; only the answers
of evaluations that go (their calibration or evaluation is no longer listed) go with them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import pandas as pd
import sqlalchemy as sa

from calib.store import convert as cv
from calib.store import incoming, scope, staging
from calib.store.errors import StoreError
from calib.store.incoming import CALIBRATION_KEYS  # noqa: F401 - documented here

#: Calibration ids fetched per statement (keeps far below SQLite's bound-parameter limit).
_IDS_PER_QUERY = 5_000


@dataclass(frozen=True)
class UpsertResult:
    """What an upsert changed, counted in stored rows of every table it touched.

    Attributes
    ----------
    inserted, updated, unchanged, deleted : int
        Row counts summed over calibrations, assignments, evaluations, answers, forms (with
        their questions and options) and users. A repeated upsert of the same data has
        ``inserted == updated == deleted == 0``.
    by_table : dict
        ``{table: {"inserted": n, "updated": n, "unchanged": n, "deleted": n}}``.
    removed_calibrations : tuple of str
        Calibrations the source no longer lists, removed from the store.
    """

    inserted: int
    updated: int
    unchanged: int
    deleted: int
    by_table: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    removed_calibrations: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        """True when anything was inserted, updated or deleted."""
        return bool(self.inserted or self.updated or self.deleted)


#: How each source is named in sentences.
SOURCE_WORDS = {"api": "synced from the Genesys API", "files": "imported from files"}


@dataclass(frozen=True)
class Conflict:
    """One id an upsert names that the store holds for another source, team or month."""

    kind: str  # "calibration" or "evaluation"
    row_id: str
    calibration_id: str
    team: str
    month: str
    source: str
    wanted: tuple[str, str, str]  # the (team, month, source) the upsert is writing

    def sentence(self) -> str:
        """What is wrong, naming the id, where it is stored and its source."""
        team, month, source = self.wanted
        where = f"team {self.team!r}, {self.month}"
        under = (f" (calibration {self.calibration_id!r})" if self.kind == "evaluation" else "")
        if self.source != source:
            rule = ("an import never changes rows synced from the API" if source == "files"
                    else "an API sync never changes rows imported from files")
            return (f"{self.kind} {self.row_id!r}{under} is already in the store, "
                    f"{SOURCE_WORDS.get(self.source, self.source)} ({where}); {rule}.")
        return (f"{self.kind} {self.row_id!r}{under} is already in the store under {where}, "
                f"not team {team!r}, {month}; a calibration belongs to one team and the month "
                f"it was created in.")

    def fix(self) -> str:
        """How to resolve it."""
        _, _, source = self.wanted
        if self.source != source and source == "files":
            return ("Give this call its own calibration (and evaluation) id in the file, or "
                    "leave it out: the API sync keeps it up to date.")
        if self.source != source:
            return ("Re-import that month's files without this calibration (files are the "
                    "source of truth for their month), then sync again.")
        return "Correct the month or team of these rows, or give the calibration another id."


class StoredElsewhere(StoreError):
    """An upsert names ids the store holds for another source, team or month; nothing written.

    Attributes
    ----------
    conflicts : tuple of Conflict
        Every such id, with where it is stored and its source.
    """

    def __init__(self, conflicts: Iterable[Conflict]) -> None:
        self.conflicts = tuple(conflicts)
        lines = [f"{c.sentence()} Fix: {c.fix()}" for c in self.conflicts[:10]]
        more = len(self.conflicts) - len(lines)
        if more > 0:
            lines.append(f"… and {more} more.")
        head = "Nothing was written: "
        text = head + lines[0] if len(lines) == 1 else \
            head + f"{len(self.conflicts)} ids are stored elsewhere.\n" + \
            "\n".join(f"- {line}" for line in lines)
        super().__init__(text)

    def __reduce__(self):  # picklable (papermill and multiprocessing pickle exceptions)
        return (StoredElsewhere, (self.conflicts,))


def _key(row: Mapping, pk: tuple[str, ...]) -> tuple:
    return tuple(row[c] for c in pk)


def apply_diff(conn: sa.Connection, table: sa.Table, existing: Iterable[Mapping],
               new: Iterable[Mapping], *, delete: bool = True) -> dict[str, int]:
    """Insert new keys, update changed rows, delete vanished keys (when ``delete``); count them.

    Only the columns present in the new rows are compared and written. Used for the reference
    data (users, forms: a few hundred rows); the month's rows take the bulk path.
    """
    pk = tuple(c.name for c in table.primary_key.columns)
    old = {_key(r, pk): r for r in existing}
    fresh = {_key(r, pk): r for r in new}
    inserts, updates, unchanged = [], [], 0
    compared: list[str] | None = None
    for key, row in fresh.items():
        before = old.get(key)
        if before is None:
            inserts.append(row)
            continue
        if compared is None:
            compared = [c for c in row if c not in pk]
        # stored values come back canonical already (NULL is None, never NaN)
        if [before[c] for c in compared] != [row[c] for c in compared]:
            updates.append(row)
        else:
            unchanged += 1
    gone = [k for k in old if k not in fresh] if delete else []
    if gone:
        clause = sa.and_(*(table.c[c] == sa.bindparam(f"k_{c}") for c in pk))
        conn.execute(table.delete().where(clause), [{f"k_{c}": k[i] for i, c in enumerate(pk)}
                                                    for k in gone])
    if inserts:
        conn.execute(table.insert(), inserts)
    if updates:
        columns = [c for c in updates[0] if c not in pk]
        stmt = (table.update()
                .where(sa.and_(*(table.c[c] == sa.bindparam(f"k_{c}") for c in pk)))
                .values({c: sa.bindparam(f"v_{c}") for c in columns}))
        conn.execute(stmt, [{**{f"k_{c}": r[c] for c in pk}, **{f"v_{c}": r[c] for c in columns}}
                            for r in updates])
    return {"inserted": len(inserts), "updated": len(updates), "unchanged": unchanged,
            "deleted": len(gone)}


def _fetch(conn: sa.Connection, table: sa.Table, where: Any) -> list[dict]:
    result = conn.execute(sa.select(table).where(where))
    keys = list(result.keys())
    return [dict(zip(keys, row)) for row in result]


def upsert_month(conn: sa.Connection, tables: Mapping[str, sa.Table], team: str, month: str,
                 scores: pd.DataFrame, answers: pd.DataFrame | None, *,
                 forms: Iterable[Mapping] = (), users: Iterable[Mapping] = (),
                 calibrations: Iterable[Mapping] = (), source: str = "api",
                 now: Any = None) -> UpsertResult:
    """Make the store's ``team``/``month`` rows of ``source`` equal the given data (see module).

    ``answers=None`` leaves the stored answers of the evaluations that stay as they are.
    Raises :class:`StoredElsewhere` before any write when an id belongs to another source,
    team or month. ``now`` (naive UTC, default the system clock) stamps recorded deadline
    changes.

    The month's rows go through the bulk path (:mod:`calib.store.staging`): the incoming
    calibrations, assignments, evaluations and answers are loaded into temporary tables with
    the database's bulk loader, checked and compared with set-based SQL, and only the
    difference is written.
    """
    t = tables
    data = incoming.checked_month(team, month, scores, answers, t["answers"])
    if scope.is_scoped(source):  # ids from files are unique within the team only
        data, calibrations = incoming.scoped(team, data, calibrations)
    cal_rows, assignment_rows = incoming.calibration_rows(team, month, source, data.scores,
                                                          calibrations)
    user_rows = {u["user_id"]: u for u in map(cv.user_row, users)}
    parsed_forms = [cv.form_rows(f) for f in forms]

    cal = t["calibrations"]
    wanted = (team, month, source)
    in_month = sa.and_(cal.c.team == team, cal.c.month == month, cal.c.source == source)
    old_cal = _fetch(conn, cal, in_month)
    seen = {r["calibration_id"] for r in old_cal}
    old_cal += [r for r in _fetch_ids(conn, cal, [c for c in cal_rows if c not in seen])
                if r["calibration_id"] not in seen]
    conflicts = [_conflict("calibration", r["calibration_id"], r, wanted)
                 for r in old_cal if (r["team"], r["month"], r["source"]) != wanted]
    staged: list[sa.Table] = []

    def stage(table: str, columns: Mapping[str, Any], *, converted: bool = False) -> sa.Table:
        target = t[table]
        if not converted:
            columns = {c: staging.column_values(pd.Series(v, dtype=object)
                                                if isinstance(v, list) else v, target.c[c])
                       for c, v in columns.items()}
        staged.append(staging.stage(conn, f"calib_staged_{table}", target, columns))
        return staged[-1]

    deadline_changes, refusal = _deadlines(cal_rows, old_cal)
    new_cal = stage("calibrations", _columns(cal_rows.values(), cal.columns.keys()))
    new_eval = stage("evaluations", {c: data.scores[c].reset_index(drop=True)
                                     for c in incoming.EVALUATION_COLUMNS})
    conflicts += _evaluations_elsewhere(conn, t, new_eval, {r["calibration_id"] for r in old_cal},
                                        wanted)
    conflicts += _other_source(conn, t, new_cal, new_eval, wanted)
    if conflicts:
        raise StoredElsewhere(sorted(conflicts, key=lambda c: (c.kind, c.row_id)))
    if refusal:
        raise ValueError(refusal)
    if deadline_changes:
        changed_at = now or cv.now_utc()
        conn.execute(t["deadline_changes"].insert(), [{**c, "changed_at": changed_at}
                                                      for c in deadline_changes])

    counts: dict[str, dict[str, int]] = {}
    # Reference data first (never deleted by a month sync).
    if user_rows:
        counts["users"] = apply_diff(conn, t["users"], _fetch(
            conn, t["users"], t["users"].c.user_id.in_(list(user_rows))), user_rows.values(),
            delete=False)
    for head, questions, options in parsed_forms:
        _write_form(conn, t, counts, head, questions, options)

    new_assign = stage("calibration_assignments", _columns(
        assignment_rows, ("calibration_id", "evaluator_id", "role")))
    answer_columns = None if data.answers is None else {
        c: data.answers[c] for c in incoming.ANSWER_COLUMNS}
    new_answers = None
    if answer_columns is not None and _month_holds_answers(conn, t, in_month):
        new_answers = stage("answers", answer_columns, converted=True)
    _write_month(conn, t, counts, in_month, new_cal, new_assign, new_eval,
                 new_answers if new_answers is not None else answer_columns,
                 n_calibrations=len(cal_rows), n_assignments=len(assignment_rows),
                 n_evaluations=len(data.scores), n_answers=data.n_answers)
    removed = _remove_calibrations(conn, t, counts, in_month, new_cal, team, source)
    staging.unstage(conn, staged)
    total = {k: sum(c[k] for c in counts.values())
             for k in ("inserted", "updated", "unchanged", "deleted")}
    return UpsertResult(**total, by_table=counts, removed_calibrations=removed)


def _write_month(conn: sa.Connection, t: Mapping[str, sa.Table], counts: dict,
                 in_month: sa.ColumnElement, new_cal: sa.Table, new_assign: sa.Table,
                 new_eval: sa.Table, new_answers: sa.Table | Mapping | None, *,
                 n_calibrations: int, n_assignments: int, n_evaluations: int,
                 n_answers: int) -> None:
    """Delete the month's rows that are no longer listed (children first), then insert and
    update parents first; foreign keys hold at every statement, and no cascade ever fires.

    ``new_answers`` is the staged answers; or, when the month holds no answers yet (the first
    import of a month), the answer columns themselves: every one is new, since no stored
    answer can share a key (their evaluations were checked), so they go straight into the
    table with the bulk loader; or None when the source carries no answers.

    Calibrations that go are deleted afterwards (:func:`_remove_calibrations`): an evaluation
    that moved to another calibration must not go with its old one.
    """
    cal, ev, asg, ans = (t["calibrations"], t["evaluations"], t["calibration_assignments"],
                         t["answers"])
    month_cals = sa.select(cal.c.calibration_id).where(in_month)
    month_answers = _month_answers(t, in_month)
    if new_answers is None:  # no answers given: only those of evaluations that go, go
        held = conn.execute(sa.select(sa.func.count()).select_from(ans)
                            .where(month_answers)).scalar_one()
        gone = conn.execute(ans.delete().where(month_answers, ~ans.c.evaluation_id.in_(
            sa.select(new_eval.c.evaluation_id)))).rowcount
        counts["answers"] = {"inserted": 0, "updated": 0, "unchanged": held - gone,
                             "deleted": gone}
    elif isinstance(new_answers, sa.Table):
        counts["answers"] = _deleted(staging.delete_missing(conn, ans, new_answers,
                                                            month_answers))
    else:
        counts["answers"] = _deleted(0)
    counts["evaluations"] = _deleted(staging.delete_missing(
        conn, ev, new_eval, ev.c.calibration_id.in_(month_cals)))
    counts["calibration_assignments"] = _deleted(staging.delete_missing(
        conn, asg, new_assign, asg.c.calibration_id.in_(month_cals)))
    counts["calibrations"] = _deleted(0)
    for name, table, n in (("calibrations", new_cal, n_calibrations),
                           ("calibration_assignments", new_assign, n_assignments),
                           ("evaluations", new_eval, n_evaluations),
                           ("answers", new_answers, n_answers)):
        if isinstance(table, sa.Table):
            _add(counts, name, staging.write_staged(conn, t[name], table, n))
        elif table is not None:
            _add(counts, name, {"inserted": staging.load(conn, t[name], table)})


def _month_answers(t: Mapping[str, sa.Table], in_month: sa.ColumnElement) -> sa.ColumnElement:
    cal, ev, ans = t["calibrations"], t["evaluations"], t["answers"]
    return ans.c.evaluation_id.in_(sa.select(ev.c.evaluation_id).where(
        ev.c.calibration_id.in_(sa.select(cal.c.calibration_id).where(in_month))))


def _month_holds_answers(conn: sa.Connection, t: Mapping[str, sa.Table],
                         in_month: sa.ColumnElement) -> bool:
    return bool(conn.execute(sa.select(sa.exists().where(_month_answers(t, in_month))))
                .scalar())


def _remove_calibrations(conn: sa.Connection, t: Mapping[str, sa.Table], counts: dict,
                         in_month: sa.ColumnElement, new_cal: sa.Table, team: str,
                         source: str) -> tuple[str, ...]:
    """Delete the month's calibrations the source no longer lists; return their shown ids."""
    cal = t["calibrations"]
    gone = ~cal.c.calibration_id.in_(sa.select(new_cal.c.calibration_id))
    ids = list(conn.execute(sa.select(cal.c.calibration_id).where(in_month, gone)).scalars())
    if ids:
        conn.execute(cal.delete().where(in_month, gone))
    counts["calibrations"]["deleted"] += len(ids)
    return tuple(sorted(scope.shown_id(team, source, c) for c in ids))


def _write_form(conn: sa.Connection, t: Mapping[str, sa.Table], counts: dict, head: dict,
                questions: list[dict], options: list[dict]) -> None:
    fid = head["form_id"]
    _add(counts, "forms", apply_diff(conn, t["forms"], _fetch(
        conn, t["forms"], t["forms"].c.form_id == fid), [head], delete=False))
    old_opts = _fetch(conn, t["form_answer_options"], t["form_answer_options"].c.form_id == fid)
    old_qs = _fetch(conn, t["form_questions"], t["form_questions"].c.form_id == fid)
    new_opts = {(o["question_id"], o["answer_id"]) for o in options}
    _add(counts, "form_answer_options", _delete_only(conn, t["form_answer_options"], [
        o for o in old_opts if (o["question_id"], o["answer_id"]) not in new_opts]))
    _add(counts, "form_questions", apply_diff(conn, t["form_questions"], old_qs, questions))
    _add(counts, "form_answer_options", apply_diff(conn, t["form_answer_options"], old_opts,
                                                   options, delete=False))


def _columns(rows: Iterable[Mapping], names: Iterable[str]) -> dict[str, list]:
    rows = list(rows)
    return {n: [r.get(n) for r in rows] for n in names}


def _fetch_ids(conn: sa.Connection, cal: sa.Table, ids: list[str]) -> list[dict]:
    """Stored calibrations with these ids, a bounded number of ids per statement."""
    found = []
    for start in range(0, len(ids), _IDS_PER_QUERY):
        found += _fetch(conn, cal, cal.c.calibration_id.in_(ids[start:start + _IDS_PER_QUERY]))
    return found


def _evaluations_elsewhere(conn: sa.Connection, t: Mapping[str, sa.Table], new_eval: sa.Table,
                           in_scope: set[str], wanted: tuple[str, str, str]) -> list[Conflict]:
    """Evaluation ids held by a calibration outside this team, month and source (other than a
    calibration the upsert lists itself, ``in_scope``, which is reported as such): updating
    one would move another source's row into this month."""
    cal, ev = t["calibrations"], t["evaluations"]
    team, month, source = wanted
    rows = conn.execute(
        sa.select(ev.c.evaluation_id, cal)
        .select_from(ev.join(new_eval, new_eval.c.evaluation_id == ev.c.evaluation_id)
                     .join(cal, cal.c.calibration_id == ev.c.calibration_id))
        .where(~sa.and_(cal.c.team == team, cal.c.month == month, cal.c.source == source)))
    return [_conflict("evaluation", r.evaluation_id, r._mapping, wanted) for r in rows
            if r.calibration_id not in in_scope]


def _conflict(kind: str, stored_id: str, home: Mapping, wanted: tuple[str, str, str]
              ) -> Conflict:
    """A conflict on ``stored_id``, whose calibration ``home`` is stored elsewhere, in the
    ids its source named."""
    shown = scope.shown_id(home["team"], home["source"], stored_id)
    cal = scope.shown_id(home["team"], home["source"], home["calibration_id"])
    return Conflict(kind, shown, cal, home["team"], home["month"], home["source"], wanted)


def _other_source(conn: sa.Connection, t: Mapping[str, sa.Table], new_cal: sa.Table,
                  new_eval: sa.Table, wanted: tuple[str, str, str]) -> list[Conflict]:
    """Ids the other source stores under the same name (as shown): a file never takes an id
    the API sync holds, nor the sync one a file holds, whatever the team."""
    cal, ev = t["calibrations"], t["evaluations"]
    team, _, source = wanted
    if scope.is_scoped(source):  # the staged ids carry this team's prefix; API ids are bare
        def shown(column: sa.ColumnElement) -> sa.ColumnElement:
            return sa.func.substr(column, len(team) + 2)

        def named(column: sa.ColumnElement, listed: sa.Select) -> sa.ColumnElement:
            return sa.and_(cal.c.source != scope.FILES, column.in_(listed))
    else:  # a stored file id carries its own team's prefix
        def shown(column: sa.ColumnElement) -> sa.ColumnElement:
            return column

        def named(column: sa.ColumnElement, listed: sa.Select) -> sa.ColumnElement:
            return sa.and_(cal.c.source == scope.FILES, sa.func.substr(
                column, sa.func.length(cal.c.team) + 2).in_(listed))
    found = [_conflict("calibration", r["calibration_id"], r, wanted) for r in _fetch(
        conn, cal, named(cal.c.calibration_id, sa.select(shown(new_cal.c.calibration_id))))]
    rows = conn.execute(sa.select(ev.c.evaluation_id, cal).select_from(
        ev.join(cal, cal.c.calibration_id == ev.c.calibration_id))
        .where(named(ev.c.evaluation_id, sa.select(shown(new_eval.c.evaluation_id)))))
    return found + [_conflict("evaluation", r.evaluation_id, r._mapping, wanted) for r in rows]


def _deadlines(cal_rows: dict[str, dict], old_cal: list[dict]) -> tuple[list[dict], str | None]:
    """A stored calibration deadline never moves earlier; a source that knows none keeps it.

    Fills the kept deadlines into ``cal_rows``; returns the later deadlines to record in
    ``deadline_changes``, and the refusal of the first earlier one (raised as a ValueError
    after the id checks, so the whole upsert rolls back): the panel was promised that blind
    window.
    """
    stored = {r["calibration_id"]: r["deadline"] for r in old_cal if r["deadline"] is not None}
    changes = []
    for cid, row in cal_rows.items():
        before = stored.get(cid)
        if before is None:
            continue
        if row["deadline"] is None:
            row["deadline"] = before
        elif row["deadline"] < before:
            shown = scope.shown_id(row["team"], row["source"], cid)
            return changes, (f"Calibration {shown!r} already has the deadline "
                             f"{before:%Y-%m-%d %H:%M} UTC; a deadline never moves earlier "
                             f"once set. Keep it, or give a later one.")
        elif row["deadline"] > before:
            changes.append({"session_id": row.get("session_id"), "calibration_id": cid,
                            "old_deadline": before, "new_deadline": row["deadline"]})
    return changes, None


def _deleted(n: int) -> dict[str, int]:
    return {"inserted": 0, "updated": 0, "unchanged": 0, "deleted": n}


def _delete_only(conn: sa.Connection, table: sa.Table, rows: list[dict]) -> dict[str, int]:
    """Delete exactly ``rows`` (by primary key) and count them."""
    counts = apply_diff(conn, table, rows, [], delete=True)
    return _deleted(counts["deleted"])


def _add(counts: dict[str, dict[str, int]], name: str, more: Mapping[str, int]) -> None:
    into = counts.setdefault(name, {"inserted": 0, "updated": 0, "unchanged": 0, "deleted": 0})
    for k, v in more.items():
        into[k] += v

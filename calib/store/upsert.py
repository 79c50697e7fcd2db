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
from calib.store import scope
from calib.store.errors import StoreError
from calib.tables import ROLES, STATUSES, answers_frame, require_columns, scores_frame

CALIBRATION_KEYS = ("calibration_id", "name", "session_id", "conversation_id", "agent_id",
                    "calibrator_id", "expert_id", "form_id", "form_context_id", "created_at",
                    "deadline", "evaluator_ids")
_EVALUATION_COLUMNS = ("evaluation_id", "calibration_id", "conversation_id", "agent_id",
                       "evaluator_id", "evaluator_name", "role", "status", "total_score",
                       "critical_score", "any_failed_kill", "submitted_at", "form_id",
                       "form_context_id")
_ANSWER_COLUMNS = ("evaluation_id", "question_id", "form_id", "question_group_id",
                   "question_group_name", "question_text", "answer_id", "answer_text", "points",
                   "max_points", "marked_na", "comment")


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

    Only the columns present in the new rows are compared and written.
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


def _check_frames(team: str, month: str, scores: pd.DataFrame,
                  answers: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    require_columns(scores, ("calibration_id", "evaluation_id", "evaluator_id", "role",
                             "status"), what="scores")
    if answers is not None:
        require_columns(answers, ("evaluation_id", "question_id"), what="answers")
        answers = answers_frame(answers)
    scores = scores_frame(scores)
    for name, frame in (("scores", scores), ("answers", answers)):
        if frame is None:
            continue
        for col, expected in (("team", team), ("month", month)):
            other = frame[col].dropna()
            other = other[other != expected]
            if len(other):
                raise ValueError(f"{name} has {len(other)} row(s) with {col} "
                                 f"{other.iloc[0]!r}, not {expected!r}; upsert one team and "
                                 f"month at a time.")
    for col in ("calibration_id", "evaluation_id", "evaluator_id", "role", "status"):
        if scores[col].isna().any():
            raise ValueError(f"scores has {int(scores[col].isna().sum())} row(s) without "
                             f"{col}; every evaluation needs one.")
    bad_role = sorted(set(scores["role"]) - set(ROLES))
    if bad_role:
        raise ValueError(f"scores has role(s) {bad_role}; use {list(ROLES)}.")
    bad_status = sorted(set(scores["status"]) - set(STATUSES))
    if bad_status:
        raise ValueError(f"scores has status(es) {bad_status}; use the Quality API's upper-case "
                         f"values {list(STATUSES)}.")
    dup = scores["evaluation_id"][scores["evaluation_id"].duplicated()]
    if len(dup):
        raise ValueError(f"scores lists evaluation {dup.iloc[0]!r} more than once; keep one row "
                         f"per evaluation.")
    if answers is None:
        return scores, None
    if answers[["evaluation_id", "question_id"]].isna().any().any():
        raise ValueError("answers has rows without evaluation_id or question_id; every answer "
                         "needs both.")
    orphan = sorted(set(answers["evaluation_id"]) - set(scores["evaluation_id"]))
    if orphan:
        raise ValueError(f"answers refers to {len(orphan)} evaluation(s) not in scores (such as "
                         f"{orphan[0]!r}); pass the scores rows of every evaluation answered.")
    dup = answers[answers.duplicated(["evaluation_id", "question_id"])]
    if len(dup):
        raise ValueError(f"answers has question {dup['question_id'].iloc[0]!r} of evaluation "
                         f"{dup['evaluation_id'].iloc[0]!r} more than once; keep one row per "
                         f"question answer.")
    return scores, answers


def _calibration_rows(team: str, month: str, source: str, scores: pd.DataFrame,
                      calibrations: Iterable[Mapping]) -> tuple[dict, list[dict]]:
    rows: dict[str, dict] = {}
    assigned: dict[tuple[str, str], str] = {}
    for rec in calibrations:
        if not isinstance(rec, Mapping) or not rec.get("calibration_id"):
            raise ValueError("Each calibration must be a dict with a 'calibration_id'.")
        unknown = sorted(set(rec) - set(CALIBRATION_KEYS))
        if unknown:
            raise ValueError(f"Calibration {rec['calibration_id']!r} has unknown key(s) "
                             f"{unknown}; the known keys are {list(CALIBRATION_KEYS)}.")
        cid = str(rec["calibration_id"])
        row = {k: cv.as_text(rec.get(k)) for k in CALIBRATION_KEYS
               if k not in ("created_at", "deadline", "evaluator_ids")}
        row["created_at"] = cv.to_naive_utc(rec.get("created_at"), what="created_at")
        row["deadline"] = cv.to_naive_utc(rec.get("deadline"), what="deadline")
        rows[cid] = row
        for ev in rec.get("evaluator_ids") or ():
            assigned.setdefault((cid, str(ev)), "evaluator")
        if rec.get("expert_id"):
            assigned[(cid, str(rec["expert_id"]))] = "expert"
    columns = ["calibration_id", "session_id", "conversation_id", "agent_id", "calibrator_id",
               "form_id", "form_context_id", "evaluator_id", "role"]
    fill = ("session_id", "conversation_id", "agent_id", "calibrator_id", "form_id",
            "form_context_id")
    for ev in cv.frame_records(scores[columns]):  # plain rows: a groupby costs 10x more here
        cid, evaluator, role = ev["calibration_id"], ev["evaluator_id"], ev["role"]
        row = rows.setdefault(cid, {"calibration_id": cid})
        for col in fill:
            if row.get(col) is None and ev[col] is not None:
                row[col] = str(ev[col])
        if role == "expert" and row.get("expert_id") is None:
            row["expert_id"] = evaluator
        if role == "expert" or (cid, evaluator) not in assigned:
            assigned[(cid, evaluator)] = role
    for cid, row in rows.items():
        for col in ("name", "conversation_id", "agent_id", "calibrator_id", "expert_id",
                    "form_id", "form_context_id", "created_at", "deadline"):
            row.setdefault(col, None)
        row.update(team=team, month=month, source=source)
        row["session_id"] = row.get("session_id") or f"{team}/{month}"
    assignments = [{"calibration_id": c, "evaluator_id": e, "role": r}
                   for (c, e), r in assigned.items()]
    return rows, assignments


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
    """
    scores, answers = _check_frames(team, month, scores, answers)
    shown_cal_ids = list(dict.fromkeys(scores["calibration_id"]))
    shown_eval_ids = list(scores["evaluation_id"])
    if scope.is_scoped(source):  # ids from files are unique within the team only
        scores, answers, calibrations = _scoped(team, scores, answers, calibrations)
    cal_rows, assignment_rows = _calibration_rows(team, month, source, scores, calibrations)
    evaluation_rows = cv.frame_records(scores[list(_EVALUATION_COLUMNS)])
    answer_rows = None if answers is None else cv.frame_records(answers[list(_ANSWER_COLUMNS)])
    user_rows = {u["user_id"]: u for u in map(cv.user_row, users)}
    parsed_forms = [cv.form_rows(f) for f in forms]

    t = tables
    counts: dict[str, dict[str, int]] = {}
    ids = list(cal_rows)
    wanted = (team, month, source)
    old_cal = _fetch(conn, t["calibrations"], sa.or_(
        sa.and_(t["calibrations"].c.team == team, t["calibrations"].c.month == month,
                t["calibrations"].c.source == source),
        t["calibrations"].c.calibration_id.in_(ids)))
    conflicts = [_conflict("calibration", r["calibration_id"], r, wanted)
                 for r in old_cal if (r["team"], r["month"], r["source"]) != wanted]
    in_month = [r["calibration_id"] for r in old_cal]
    eval_ids = [r["evaluation_id"] for r in evaluation_rows]
    old_eval = _fetch(conn, t["evaluations"], sa.or_(t["evaluations"].c.calibration_id.in_(in_month),
                                                     t["evaluations"].c.evaluation_id.in_(eval_ids)))
    # An evaluation id held by a calibration outside this team, month and source: updating it
    # would move another source's row into this month.
    in_scope = set(in_month)
    foreign = [(r["calibration_id"], r["evaluation_id"]) for r in old_eval
               if r["calibration_id"] not in in_scope]
    if foreign:
        homes = {r["calibration_id"]: r for r in _fetch(
            conn, t["calibrations"], t["calibrations"].c.calibration_id.in_(
                sorted({cid for cid, _ in foreign})))}
        conflicts += [_conflict("evaluation", eid, homes[cid], wanted) for cid, eid in foreign]
    conflicts += _other_source(conn, t, source, shown_cal_ids, shown_eval_ids, wanted)
    if conflicts:
        raise StoredElsewhere(sorted(conflicts, key=lambda c: (c.kind, c.row_id)))
    _keep_deadlines(conn, t, cal_rows, old_cal, now or cv.now_utc())
    old_assign = _fetch(conn, t["calibration_assignments"],
                        t["calibration_assignments"].c.calibration_id.in_(in_month))
    old_answers = _fetch(conn, t["answers"], t["answers"].c.evaluation_id.in_(
        [r["evaluation_id"] for r in old_eval]))

    # Reference data first (never deleted by a month sync). Then the month: deletes run
    # children-first (answers … calibrations), inserts and updates parents-first, so foreign keys
    # hold at every statement on both back ends.
    if user_rows:
        counts["users"] = apply_diff(conn, t["users"], _fetch(
            conn, t["users"], t["users"].c.user_id.in_(list(user_rows))), user_rows.values(),
            delete=False)
    for head, questions, options in parsed_forms:
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

    new_eval_ids = set(eval_ids)
    if answer_rows is None:  # no answers given: only those of evaluations that go, go
        gone = [r for r in old_answers if r["evaluation_id"] not in new_eval_ids]
        counts["answers"] = _delete_only(conn, t["answers"], gone)
        counts["answers"]["unchanged"] = len(old_answers) - len(gone)
    else:
        new_answer_keys = {(r["evaluation_id"], r["question_id"]) for r in answer_rows}
        counts["answers"] = _delete_only(conn, t["answers"], [
            r for r in old_answers
            if (r["evaluation_id"], r["question_id"]) not in new_answer_keys])
    counts["evaluations"] = _delete_only(conn, t["evaluations"], [
        r for r in old_eval if r["evaluation_id"] not in new_eval_ids])
    new_assign_keys = {(r["calibration_id"], r["evaluator_id"]) for r in assignment_rows}
    counts["calibration_assignments"] = _delete_only(conn, t["calibration_assignments"], [
        r for r in old_assign if (r["calibration_id"], r["evaluator_id"]) not in new_assign_keys])
    gone_cal = [r for r in old_cal if r["calibration_id"] not in cal_rows]
    removed = tuple(sorted(scope.shown_id(team, source, r["calibration_id"]) for r in gone_cal))
    counts["calibrations"] = _delete_only(conn, t["calibrations"], gone_cal)

    _add(counts, "calibrations", apply_diff(conn, t["calibrations"], old_cal,
                                            cal_rows.values(), delete=False))
    _add(counts, "calibration_assignments", apply_diff(
        conn, t["calibration_assignments"], old_assign, assignment_rows, delete=False))
    _add(counts, "evaluations", apply_diff(conn, t["evaluations"], old_eval, evaluation_rows,
                                           delete=False))
    if answer_rows is not None:
        _add(counts, "answers", apply_diff(conn, t["answers"], old_answers, answer_rows,
                                           delete=False))
    total = {k: sum(c[k] for c in counts.values())
             for k in ("inserted", "updated", "unchanged", "deleted")}
    return UpsertResult(**total, by_table=counts, removed_calibrations=removed)


def _scoped(team: str, scores: pd.DataFrame, answers: pd.DataFrame | None,
            calibrations: Iterable[Mapping]) -> tuple[pd.DataFrame, pd.DataFrame | None,
                                                      list[dict]]:
    """The frames and calibration records with file ids as stored (see :mod:`scope`)."""
    ids = ("calibration_id", "evaluation_id")
    scores = scores.assign(**{c: scope.stored_column(scores[c], team, scope.FILES)
                              for c in ids})
    if answers is not None:
        answers = answers.assign(**{c: scope.stored_column(answers[c], team, scope.FILES)
                                    for c in ids})
    records = []
    for rec in calibrations:
        if isinstance(rec, Mapping) and rec.get("calibration_id"):
            rec = {**rec, "calibration_id": scope.stored_id(team, scope.FILES,
                                                            str(rec["calibration_id"]))}
        records.append(rec)
    return scores, answers, records


def _conflict(kind: str, stored_id: str, home: Mapping, wanted: tuple[str, str, str]
              ) -> Conflict:
    """A conflict on ``stored_id``, whose calibration ``home`` is stored elsewhere, in the
    ids its source named."""
    shown = scope.shown_id(home["team"], home["source"], stored_id)
    cal = scope.shown_id(home["team"], home["source"], home["calibration_id"])
    return Conflict(kind, shown, cal, home["team"], home["month"], home["source"], wanted)


def _other_source(conn: sa.Connection, t: Mapping[str, sa.Table], source: str,
                  cal_ids: list[str], eval_ids: list[str], wanted: tuple[str, str, str]
                  ) -> list[Conflict]:
    """Ids the other source stores under the same name (as shown): a file never takes an id
    the API sync holds, nor the sync one a file holds, whatever the team."""
    cal, ev = t["calibrations"], t["evaluations"]
    if scope.is_scoped(source):  # API ids are stored as shown
        def named(column, ids):
            return sa.and_(cal.c.source != scope.FILES, column.in_(ids))
    else:  # a file id is stored behind its team's prefix
        def named(column, ids):
            return sa.and_(cal.c.source == scope.FILES,
                           sa.func.substr(column, sa.func.length(cal.c.team) + 2).in_(ids))
    found = [_conflict("calibration", r["calibration_id"], r, wanted) for r in _fetch(
        conn, cal, named(cal.c.calibration_id, cal_ids))]
    rows = conn.execute(sa.select(ev.c.evaluation_id, cal).select_from(
        ev.join(cal, cal.c.calibration_id == ev.c.calibration_id))
        .where(named(ev.c.evaluation_id, eval_ids)))
    found += [_conflict("evaluation", r.evaluation_id, r._mapping, wanted) for r in rows]
    return found


def _keep_deadlines(conn: sa.Connection, t: Mapping[str, sa.Table], cal_rows: dict[str, dict],
                    old_cal: list[dict], now: Any) -> None:
    """A stored calibration deadline never moves earlier; a source that knows none keeps it.

    A later deadline is recorded in ``deadline_changes``. An earlier one is refused (ValueError,
    so the whole upsert rolls back): the panel was promised that blind window.
    """
    stored = {r["calibration_id"]: r["deadline"] for r in old_cal if r["deadline"] is not None}
    for cid, row in cal_rows.items():
        before = stored.get(cid)
        if before is None:
            continue
        if row["deadline"] is None:
            row["deadline"] = before
        elif row["deadline"] < before:
            shown = scope.shown_id(row["team"], row["source"], cid)
            raise ValueError(f"Calibration {shown!r} already has the deadline "
                             f"{before:%Y-%m-%d %H:%M} UTC; a deadline never moves earlier once "
                             f"set. Keep it, or give a later one.")
        elif row["deadline"] > before:
            conn.execute(t["deadline_changes"].insert().values(
                session_id=row.get("session_id"), calibration_id=cid, old_deadline=before,
                new_deadline=row["deadline"], changed_at=now))


def _delete_only(conn: sa.Connection, table: sa.Table, rows: list[dict]) -> dict[str, int]:
    """Delete exactly ``rows`` (by primary key) and count them."""
    counts = apply_diff(conn, table, rows, [], delete=True)
    return {"inserted": 0, "updated": 0, "unchanged": 0, "deleted": counts["deleted"]}


def _add(counts: dict[str, dict[str, int]], name: str, more: Mapping[str, int]) -> None:
    into = counts.setdefault(name, {"inserted": 0, "updated": 0, "unchanged": 0, "deleted": 0})
    for k, v in more.items():
        into[k] += v

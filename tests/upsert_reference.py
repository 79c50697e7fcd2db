"""A straightforward reference for the store's month upsert, to check the bulk path against.

This is calib's month upsert as it was before the bulk write path (issue 16): every stored row
of the month is read into Python dicts, compared field by field, and written row by row. The
one change: calibrations that go are deleted after the evaluations moved (the old order let an
evaluation that moved to another calibration go with its old one, by cascade). It is slow and
obviously right; tests/test_store_bulk.py runs random upserts through both and compares every
table and every count. This module holds no tests.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import pandas as pd
import sqlalchemy as sa

from calib.store import convert as cv
from calib.store import scope
from calib.store.incoming import ANSWER_COLUMNS as _ANSWER_COLUMNS
from calib.store.incoming import EVALUATION_COLUMNS as _EVALUATION_COLUMNS
from calib.store.incoming import calibration_rows
# The row-by-row primitives are shared with the store (it still writes users and forms with
# them); what this reference re-implements is the month's diff, which the bulk path replaced.
from calib.store.upsert import (Conflict, StoredElsewhere, UpsertResult, _add, _delete_only,
                                _fetch, apply_diff)
from calib.tables import ROLES, STATUSES, answers_frame, require_columns, scores_frame


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


def reference_upsert_month(conn: sa.Connection, tables: Mapping[str, sa.Table], team: str,
                           month: str, scores: pd.DataFrame, answers: pd.DataFrame | None, *,
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
    cal_rows, assignment_rows = calibration_rows(team, month, source, scores, calibrations)
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
    counts["calibrations"] = {"inserted": 0, "updated": 0, "unchanged": 0, "deleted": 0}

    _add(counts, "calibrations", apply_diff(conn, t["calibrations"], old_cal,
                                            cal_rows.values(), delete=False))
    _add(counts, "calibration_assignments", apply_diff(
        conn, t["calibration_assignments"], old_assign, assignment_rows, delete=False))
    _add(counts, "evaluations", apply_diff(conn, t["evaluations"], old_eval, evaluation_rows,
                                           delete=False))
    if answer_rows is not None:
        _add(counts, "answers", apply_diff(conn, t["answers"], old_answers, answer_rows,
                                           delete=False))
    # last: an evaluation that moved to another calibration must not go with its old one
    _add(counts, "calibrations", _delete_only(conn, t["calibrations"], gone_cal))
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

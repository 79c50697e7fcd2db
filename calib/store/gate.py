"""The blind gate and evaluator status, computed from stored assignments and evaluations.

A calibration's gate is **open** when every assigned evaluator has a FINISHED evaluation, or
when an analyst revealed it after its deadline (:func:`reveal_rows`). Until then the store
shows status only. An evaluator whose every evaluation was RETRACTED no longer counts as
assigned. The deadline is the calibration's own deadline if one was stored, else its session
plan's, else the end of its month (UTC).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

import pandas as pd
import sqlalchemy as sa

from calib.store import convert as cv
from calib.store.errors import StoreError
from calib.store.scope import show_columns

GATE_COLUMNS = ("calibration_id", "conversation_id", "n_assigned", "n_finished", "deadline",
                "open", "reason")
STATUS_COLUMNS = ("calibration_id", "evaluator_id", "evaluator_name", "role", "status", "due")


def _calibration_filter(cal: sa.Table, team: str | None, months: list[str] | None,
                        calibration_ids: list[str] | None = None) -> Any:
    clauses = []
    if team is not None:
        clauses.append(cal.c.team == team)
    if months is not None:
        clauses.append(cal.c.month.in_(months))
    if calibration_ids is not None:
        clauses.append(cal.c.calibration_id.in_(calibration_ids))
    return sa.and_(sa.true(), *clauses)


def assignments(conn: sa.Connection, t: Mapping[str, sa.Table], team: str | None,
                months: list[str] | None, calibration_ids: list[str] | None = None
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(calibrations, assignments) frames for the selection, with deadlines and statuses.

    ``calibrations`` has calibration_id (as stored), team, month, conversation_id, deadline
    (naive UTC), source;
    ``assignments`` has calibration_id, evaluator_id, role, evaluator_name, eval_status (the
    evaluator's most advanced status: FINISHED beats INREVIEW, INPROGRESS, PENDING; RETRACTED
    only when every evaluation was retracted; None when no evaluation exists yet).
    """
    cal, ses, asg = t["calibrations"], t["sessions"], t["calibration_assignments"]
    ev, users = t["evaluations"], t["users"]
    where = _calibration_filter(cal, team, months, calibration_ids)
    cal_q = (sa.select(cal.c.calibration_id, cal.c.team, cal.c.month, cal.c.conversation_id,
                       cal.c.deadline, ses.c.deadline.label("session_deadline"), cal.c.source)
             .select_from(cal.outerjoin(ses, ses.c.session_id == cal.c.session_id))
             .where(where).order_by(cal.c.month, cal.c.calibration_id))
    cals = pd.DataFrame([dict(r._mapping) for r in conn.execute(cal_q)],
                        columns=["calibration_id", "team", "month", "conversation_id",
                                 "deadline", "session_deadline", "source"])
    cals["deadline"] = pd.Series(
        [_first_time(d, s) or cv.month_end(m) for d, s, m in
         zip(cals["deadline"], cals["session_deadline"], cals["month"])], dtype="object")
    cals = cals.drop(columns="session_deadline")
    ids = sa.select(cal.c.calibration_id).where(where)
    asg_q = (sa.select(asg.c.calibration_id, asg.c.evaluator_id, asg.c.role,
                       users.c.name.label("user_name"))
             .select_from(asg.outerjoin(users, users.c.user_id == asg.c.evaluator_id))
             .where(asg.c.calibration_id.in_(ids)))
    ev_q = (sa.select(ev.c.calibration_id, ev.c.evaluator_id, ev.c.status, ev.c.evaluator_name)
            .where(ev.c.calibration_id.in_(ids)))
    asg_df = pd.DataFrame([dict(r._mapping) for r in conn.execute(asg_q)],
                          columns=["calibration_id", "evaluator_id", "role", "user_name"])
    ev_df = pd.DataFrame([dict(r._mapping) for r in conn.execute(ev_q)],
                         columns=["calibration_id", "evaluator_id", "status", "evaluator_name"])
    rank = {"RETRACTED": 0, "PENDING": 1, "INPROGRESS": 2, "INREVIEW": 3, "FINISHED": 4}
    best: dict[tuple[str, str], tuple[str, str | None]] = {}
    for cid, eid, status, name in ev_df.itertuples(index=False, name=None):
        prior = best.get((cid, eid))
        if prior is None or rank[status] > rank[prior[0]]:
            best[(cid, eid)] = (status, name or (prior[1] if prior else None))
    asg_df["eval_status"] = [best.get(k, (None, None))[0]
                             for k in zip(asg_df["calibration_id"], asg_df["evaluator_id"])]
    asg_df["evaluator_name"] = [
        best.get(k, (None, None))[1] or u
        for k, u in zip(zip(asg_df["calibration_id"], asg_df["evaluator_id"]),
                        asg_df["user_name"])]
    asg_df = asg_df.drop(columns="user_name")
    asg_df = asg_df[asg_df["eval_status"] != "RETRACTED"].reset_index(drop=True)
    return cals, asg_df


def _first_time(*values: Any) -> datetime | None:
    for value in values:
        if value is not None and not pd.isna(value):
            return pd.Timestamp(value).to_pydatetime()
    return None


def latest_reveals(conn: sa.Connection, t: Mapping[str, sa.Table],
                   calibration_ids: list[str]) -> dict[str, Mapping]:
    """The most recent reveal of each calibration in ``calibration_ids``."""
    rv = t["reveals"]
    rows = conn.execute(sa.select(rv).where(rv.c.calibration_id.in_(calibration_ids))
                        .order_by(rv.c.revealed_at, rv.c.reveal_id))
    return {r.calibration_id: dict(r._mapping) for r in rows}


def gate_table(conn: sa.Connection, t: Mapping[str, sa.Table], team: str | None,
               months: list[str] | None, calibration_ids: list[str] | None = None
               ) -> pd.DataFrame:
    """One row per calibration: calibration_id (as stored), conversation_id, n_assigned,
    n_finished, deadline (UTC), open, reason, plus team, month and source (see
    :func:`shown_gate`)."""
    cals, asg = assignments(conn, t, team, months, calibration_ids)
    reveals = latest_reveals(conn, t, list(cals["calibration_id"]))
    n_assigned = asg.groupby("calibration_id").size()
    n_finished = asg[asg["eval_status"] == "FINISHED"].groupby("calibration_id").size()
    rows = []
    for c in cals.itertuples(index=False):
        assigned = int(n_assigned.get(c.calibration_id, 0))
        finished = int(n_finished.get(c.calibration_id, 0))
        rev = reveals.get(c.calibration_id)
        if assigned and finished == assigned:
            is_open, reason = True, "all finished"
        elif rev is not None:
            at = cv.aware(rev["revealed_at"]).strftime("%Y-%m-%d %H:%M UTC")
            is_open, reason = True, f"revealed by {rev['revealed_by']} at {at}"
        else:
            is_open, reason = False, "waiting"
        rows.append({"calibration_id": c.calibration_id, "conversation_id": c.conversation_id,
                     "n_assigned": assigned, "n_finished": finished,
                     "deadline": cv.aware(c.deadline), "open": is_open, "reason": reason,
                     "team": c.team, "month": c.month, "source": c.source})
    frame = pd.DataFrame(rows, columns=[*GATE_COLUMNS, "team", "month", "source"])
    frame["deadline"] = pd.to_datetime(frame["deadline"], utc=True)
    return frame.astype({"n_assigned": "int64", "n_finished": "int64", "open": "bool"})


def shown_gate(gate: pd.DataFrame) -> pd.DataFrame:
    """A :func:`gate_table` with the calibration ids as their source named them."""
    return show_columns(gate, ("calibration_id",))


def status_table(conn: sa.Connection, t: Mapping[str, sa.Table], team: str, month: str,
                 now: datetime) -> pd.DataFrame:
    """Per calibration and assigned evaluator: pending, in_progress, finished or overdue."""
    cals, asg = assignments(conn, t, team, [month])
    due = dict(zip(cals["calibration_id"], cals["deadline"]))
    shown = dict(zip(cals["calibration_id"], show_columns(cals, ("calibration_id",))
                     ["calibration_id"]))
    rows = []
    for a in asg.itertuples(index=False):
        deadline = due[a.calibration_id]
        if a.eval_status == "FINISHED":
            status = "finished"
        elif deadline is not None and now > deadline:
            status = "overdue"
        elif a.eval_status in ("INPROGRESS", "INREVIEW"):
            status = "in_progress"
        else:
            status = "pending"
        rows.append({"calibration_id": shown[a.calibration_id], "evaluator_id": a.evaluator_id,
                     "evaluator_name": a.evaluator_name, "role": a.role, "status": status,
                     "due": cv.aware(deadline)})
    frame = pd.DataFrame(rows, columns=list(STATUS_COLUMNS))
    frame["due"] = pd.to_datetime(frame["due"], utc=True)
    order = {"expert": 0, "evaluator": 1}
    return (frame.assign(_r=frame["role"].map(order))
            .sort_values(["calibration_id", "_r", "evaluator_id"], kind="stable")
            .drop(columns="_r").reset_index(drop=True))


def reveal_rows(conn: sa.Connection, t: Mapping[str, sa.Table], team: str, month: str, *,
                by: str, reason: str, now: datetime,
                calibration_ids: list[str] | None) -> int:
    """Record a reveal of every still-sealed calibration selected; refuse before a deadline.

    Raises
    ------
    StoreError
        When a selected sealed calibration's deadline has not passed at ``now``, or a
        ``calibration_ids`` entry (as its source named it) is not a calibration of this team
        and month.
    """
    stored = gate_table(conn, t, team, [month])
    gate = shown_gate(stored).assign(stored_id=stored["calibration_id"])
    if calibration_ids is not None:
        unknown = sorted(set(calibration_ids) - set(gate["calibration_id"]))
        if unknown:
            raise StoreError(f"Calibration(s) {', '.join(unknown)} are not calibrations of team "
                             f"{team!r} in {month}; check the ids with store.gate(team, month).")
        gate = gate[gate["calibration_id"].isin(calibration_ids)]
    sealed = gate[~gate["open"]]
    if sealed.empty:
        return 0
    now_ts = cv.aware(now)
    early = sealed[sealed["deadline"] > now_ts]
    if len(early):
        first = early.sort_values("deadline").iloc[0]
        raise StoreError(
            f"Refusing to reveal: {len(early)} calibration(s) of {team} {month} are still "
            f"waiting for evaluations and their deadline has not passed (the earliest is "
            f"{first['calibration_id']} due {first['deadline']:%Y-%m-%d %H:%M} UTC, now is "
            f"{now_ts:%Y-%m-%d %H:%M} UTC). Wait until the deadline, or until every assigned "
            f"evaluation is finished"
            + (f"; or pass calibration_ids= with the {len(sealed) - len(early)} whose deadline "
               f"has passed." if len(sealed) > len(early) else "."))
    conn.execute(t["reveals"].insert(), [
        {"team": team, "month": month, "calibration_id": cid, "revealed_by": by,
         "reason": reason, "revealed_at": now, "deadline": cv.to_naive_utc(deadline)}
        for cid, deadline in zip(sealed["stored_id"], sealed["deadline"])])
    return len(sealed)

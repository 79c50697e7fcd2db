"""The :class:`Store`: calib's history of calibrations, scores, sessions, decisions and runs."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from calib.store import convert as cv
from calib.store import gate as gate_mod
from calib.store import records as rec
from calib.store import scope
from calib.store.ai import AiStoreMixin
from calib.store.engine import create_store_engine, default_url, ensure_schema, parse_url, \
    write_connection
from calib.store.errors import StoreError
from calib.store.load import load_answers, load_scores
from calib.store.locks import LockHolder, StoreLocks
from calib.store.schema import build_metadata
from calib.store.upsert import UpsertResult, upsert_month


class Store(AiStoreMixin):
    """The history store: SQLite by default, PostgreSQL by URL (SQLAlchemy Core).

    Parameters
    ----------
    url : str, optional
        A SQLAlchemy URL. ``None`` uses ``$CALIB_STORE_URL``, else the SQLite file
        ``<repo>/outputs/calib.sqlite``. PostgreSQL URLs use psycopg 3
        (``postgresql+psycopg://user:password@host/db``).
    clock : callable, optional
        The backend's clock: returns the present as a datetime (naive means UTC). The sandbox
        org's clock in demos; default the system clock, which is Genesys Cloud's. The blind gate
        (overdue, reveal) judges deadlines only against it: no method takes the present from
        its caller, so nobody can open a calibration by claiming it is later than it is.

    Notes
    -----
    Opening a store creates or migrates its schema (table ``schema_version``). Every write is
    one transaction. Scores and answers are read back only through the blind gate
    (:meth:`gate`): a calibration's individual scores stay hidden until every assigned
    evaluation is FINISHED, or its deadline passed and an analyst called :meth:`reveal`.

    Examples
    --------
    >>> store = Store("sqlite:///outputs/calib.sqlite")        # doctest: +SKIP
    >>> store.upsert_month("demo", "2026-10", scores, answers)  # doctest: +SKIP
    >>> store.scores("demo", "2026-10")                         # doctest: +SKIP
    """

    def __init__(self, url: str | None = None, *,
                 clock: Callable[[], datetime] | None = None) -> None:
        if url is not None and not isinstance(url, str):
            raise ValueError(f"url must be a SQLAlchemy URL string, not {type(url).__name__}.")
        if clock is not None and not callable(clock):
            raise ValueError("clock must be a function returning the present (such as a "
                             "sandbox's now), not a value; the store asks it each time.")
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._url = parse_url(url or default_url())
        self._tables = build_metadata().tables
        self._engine = create_store_engine(self._url)
        try:
            self.schema_version = ensure_schema(self._engine, build_metadata())
        except SQLAlchemyError as exc:
            self._engine.dispose()
            raise StoreError(f"Could not open the store at {self.url_for_display}: "
                             f"{type(exc.orig or exc).__name__}: {_first_line(exc)}. Check "
                             f"that the database exists and is reachable.") from None
        self._locks = StoreLocks(self._engine, self._url, self._tables["locks"])

    # -- basics --------------------------------------------------------------------------
    @property
    def url_for_display(self) -> str:
        """The store's URL with any password masked."""
        return self._url.render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._engine.dialect.name

    def __repr__(self) -> str:
        return f"Store({self.url_for_display!r})"

    def now(self) -> datetime:
        """The present by the backend's clock, as naive UTC (the store's convention)."""
        at = cv.to_naive_utc(self._clock(), what="the clock's time")
        if at is None:
            raise StoreError("The store's clock returned no time; pass a clock that returns "
                             "a datetime.")
        return at

    def close(self) -> None:
        """Release the store's database connections."""
        self._engine.dispose()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def lock(self, name: str, *, wait: float = 0,
             purpose: str = "") -> AbstractContextManager[LockHolder]:
        """A named lock: one holder at a time among every process and machine using this store.

        Use it as ``with store.lock("create:<calibrator id>", purpose="creating plan X"):``.
        PostgreSQL holds an advisory lock on a connection kept for the block; a SQLite file
        store holds an ``flock`` on a file in ``<database>.locks/``; an in-memory store a
        process-local lock. The server or the kernel releases it when the holder exits or is
        killed, so a crashed run leaves no lock behind. Not re-entrant: taking a lock twice in
        one thread finds it busy.

        Parameters
        ----------
        name : str
            What is locked; the same name means the same lock.
        wait : float
            Seconds to keep trying while it is held elsewhere (default 0: try once).
        purpose : str
            What the holder is doing, in words; a run that finds the lock taken is told it.

        Raises
        ------
        calib.store.locks.LockBusy
            (a :class:`StoreError`) when another holder keeps it past ``wait``; the message
            names its purpose, host, process id and since when, and what to do.
        """
        return self._locks.hold(name, wait=wait, purpose=purpose)

    def _write(self, fn, *args: Any, rehearse: bool = False, **kwargs: Any) -> Any:
        """Run ``fn(conn, ...)`` in one write transaction; database errors become StoreError.

        ``rehearse=True`` runs the very same writes and rolls them back (a dry run that counts
        exactly what the real write would do).
        """
        try:
            with write_connection(self._engine) as conn, conn.begin() as transaction:
                result = fn(conn, *args, **kwargs)
                if rehearse:
                    transaction.rollback()
                return result
        except SQLAlchemyError as exc:
            raise StoreError(f"The store write failed and was rolled back, nothing changed: "
                             f"{_first_line(exc)}.") from None

    def _read(self, fn, *args: Any, **kwargs: Any) -> Any:
        with self._engine.connect() as conn, conn.begin():
            return fn(conn, *args, **kwargs)

    # -- the month's data ----------------------------------------------------------------
    def upsert_month(self, team: str, month: str, scores: pd.DataFrame, answers: pd.DataFrame,
                     *, forms: Iterable[Mapping] = (), users: Iterable[Mapping] = (),
                     calibrations: Iterable[Mapping] = (), source: str = "api"
                     ) -> UpsertResult:
        """Make the stored ``team``/``month`` data of ``source`` equal to the given tables.

        Parameters
        ----------
        team, month : str
            The team and the ``"YYYY-MM"`` month; rows of other teams or months are refused.
        scores, answers : pandas.DataFrame
            ``calib.tables`` ``scores`` (one row per evaluation, PENDING ones included) and
            ``answers`` (one row per question answer of those evaluations).
        forms : iterable of dict
            Form versions as the API returns them (``questionGroups`` included).
        users : iterable of dict
            Users as the API returns them (``id``, ``name``, ``email`` …).
        calibrations : iterable of dict
            Optional calibration details (keys in
            :data:`calib.store.upsert.CALIBRATION_KEYS`; ``evaluator_ids`` lists the assigned
            evaluators even before their evaluations exist; ``deadline`` overrides the
            session's).
        source : {"api", "files"}
            Where the data came from; a sync removes only calibrations of its own source.

        Returns
        -------
        UpsertResult
            Rows inserted, updated, unchanged and deleted. Repeating an upsert changes nothing.
            Calibrations that ``source`` no longer lists for the month are removed (with their
            evaluations and answers) and named in ``removed_calibrations``.
        """
        team, month = cv.check_team(team), cv.check_month(month)
        if source not in ("api", "files"):
            raise ValueError(f"source must be 'api' or 'files', not {source!r}.")
        if not isinstance(scores, pd.DataFrame) or not isinstance(answers, pd.DataFrame):
            raise ValueError("scores and answers must be pandas DataFrames (calib.tables).")
        forms, users, calibrations = list(forms), list(users), list(calibrations)
        return self._write(lambda conn: upsert_month(
            conn, self._tables, team, month, scores, answers, forms=forms, users=users,
            calibrations=calibrations, source=source, now=self.now()))

    def scores(self, team: str | None = None, months: str | Iterable[str] | None = None, *,
               include_sealed: bool = False) -> pd.DataFrame:
        """The tidy ``scores`` table (``calib.tables.SCORES_COLUMNS``), behind the blind gate.

        Parameters
        ----------
        team : str, optional
            One team, or all.
        months : str or list of str, optional
            One ``"YYYY-MM"`` month, several, or all.
        include_sealed : bool
            False (default): rows of sealed calibrations are left out. True: their rows are
            kept to show who has been assigned and their status, with ``total_score`` and
            ``critical_score`` NaN and ``any_failed_kill`` False — scores never leak.

        Returns
        -------
        pandas.DataFrame
            ``attrs["sealed"]`` summarizes the sealed calibrations (ids, counts, what was done
            with their rows); ``attrs["revealed"]`` lists calibrations opened by an explicit
            reveal, with the reason text ("revealed by X at T") the report must quote.
        """
        team = None if team is None else cv.check_team(team)
        return self._read(load_scores, self._tables, team, cv.month_list(months),
                          bool(include_sealed))

    def answers(self, team: str | None = None,
                months: str | Iterable[str] | None = None) -> pd.DataFrame:
        """The tidy ``answers`` table (``calib.tables.ANSWERS_COLUMNS``) of open calibrations.

        Answers of sealed calibrations are left out entirely; ``attrs["sealed"]`` says which.
        """
        team = None if team is None else cv.check_team(team)
        return self._read(load_answers, self._tables, team, cv.month_list(months))

    # -- the blind gate ------------------------------------------------------------------
    def gate(self, team: str, month: str) -> pd.DataFrame:
        """The blind gate of each calibration of ``team`` in ``month``.

        Returns
        -------
        pandas.DataFrame
            calibration_id, conversation_id, n_assigned, n_finished, deadline (UTC), open,
            reason (``"all finished"``, ``"revealed by X at T"`` or ``"waiting"``).
        """
        team, month = cv.check_team(team), cv.check_month(month)
        frame = self._read(gate_mod.gate_table, self._tables, team, [month])
        return gate_mod.shown_gate(frame)[list(gate_mod.GATE_COLUMNS)]

    def status(self, team: str, month: str) -> pd.DataFrame:
        """Each assigned evaluator's status per calibration, without any score.

        Overdue is judged against the store's clock (the backend's: see ``clock``).

        Returns
        -------
        pandas.DataFrame
            calibration_id, evaluator_id, evaluator_name, role, status (``pending``,
            ``in_progress``, ``finished`` or ``overdue``: not finished after the deadline),
            due (UTC).
        """
        team, month = cv.check_team(team), cv.check_month(month)
        return self._read(gate_mod.status_table, self._tables, team, month, self.now())

    def reveal(self, team: str, month: str, *, by: str, reason: str,
               calibration_ids: Iterable[str] | None = None) -> int:
        """Open the gate of sealed calibrations whose deadline has passed, and record it.

        "Passed" is judged by the store's clock (the backend's), never by the caller: the
        reveal time recorded is that clock's.

        Parameters
        ----------
        by : str
            Who reveals (the analyst); recorded and quoted in reports.
        reason : str
            Why, in words (for example "two evaluators on leave").
        calibration_ids : iterable of str, optional
            Only these calibrations; default every sealed calibration of the month.

        Returns
        -------
        int
            The number of calibrations revealed (already open ones are not counted).

        Raises
        ------
        StoreError
            When any selected sealed calibration's deadline has not passed yet: scores are
            never revealed early. Nothing is recorded in that case.
        """
        team, month = cv.check_team(team), cv.check_month(month)
        for name, value in (("by", by), ("reason", reason)):
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"reveal needs {name!r}: say who reveals and why; it is empty.")
        ids = None if calibration_ids is None else [str(c) for c in calibration_ids]
        return self._write(lambda conn: gate_mod.reveal_rows(
            conn, self._tables, team, month, by=by, reason=reason, now=self.now(),
            calibration_ids=ids))

    def reveals(self, team: str | None = None, month: str | None = None) -> pd.DataFrame:
        """The recorded reveals: team, month, calibration_id, revealed_by, reason,
        revealed_at, deadline (UTC)."""
        rv, cal = self._tables["reveals"], self._tables["calibrations"]
        where = rec.where_equal(rv, team=team, month=month and cv.check_month(month))
        q = (sa.select(rv, cal.c.source)
             .select_from(rv.outerjoin(cal, cal.c.calibration_id == rv.c.calibration_id))
             .where(where).order_by(rv.c.revealed_at, rv.c.reveal_id))
        rows = self._read(lambda c: [dict(r._mapping) for r in c.execute(q)])
        rows = scope.show_columns(pd.DataFrame(rows, columns=[*rv.columns.keys(), "source"]),
                                  ("calibration_id",)).to_dict("records")
        return rec.times_frame(rows, ["reveal_id", "team", "month", "calibration_id",
                                      "revealed_by", "reason", "revealed_at", "deadline"],
                               ["revealed_at", "deadline"])

    # -- sessions, rubric, consensus, runs -----------------------------------------------
    def save_session(self, plan: Mapping[str, Any]) -> str:
        """Save (or replace) a session plan; its ``name`` is the session id, which is returned.

        ``plan`` keys: name, team, month, focus, form_id, calibrator_id, expert_id, panel_ids,
        deadline, conversation_ids (extra keys are kept in the stored plan JSON).

        A stored session's deadline never moves earlier (no deadline means the end of its month):
        calib stores a session when it creates its calibrations, and the panel was promised that
        blind window. A later deadline is allowed and recorded in :meth:`deadline_changes`.

        Raises
        ------
        StoreError
            When the plan would move the stored deadline earlier; nothing is saved.
        """
        row = rec.session_row(plan, self.now())
        table, changes = self._tables["sessions"], self._tables["deadline_changes"]

        def save(conn: sa.Connection) -> str:
            old = conn.execute(sa.select(table.c.deadline, table.c.month).where(
                table.c.session_id == row["session_id"])).first()
            if old is not None:
                before = old.deadline or cv.month_end(old.month)
                after = row["deadline"] or cv.month_end(row["month"])
                if after < before:
                    raise StoreError(
                        f"Session {row['session_id']!r} already has the deadline "
                        f"{before:%Y-%m-%d %H:%M} UTC; a deadline never moves earlier once the "
                        f"calibrations exist (the panel was promised that blind window). Keep "
                        f"{before:%Y-%m-%d %H:%M} UTC or a later one in the plan.")
                if after > before:
                    conn.execute(changes.insert().values(
                        session_id=row["session_id"], calibration_id=None, old_deadline=before,
                        new_deadline=after, changed_at=row["saved_at"]))
            conn.execute(table.delete().where(table.c.session_id == row["session_id"]))
            conn.execute(table.insert().values(**row))
            return row["session_id"]
        return self._write(save)

    def deadline_changes(self) -> pd.DataFrame:
        """Every recorded move of a stored deadline, oldest first: session_id, calibration_id,
        old_deadline, new_deadline, changed_at (UTC)."""
        table, cal = self._tables["deadline_changes"], self._tables["calibrations"]
        q = (sa.select(table, cal.c.team, cal.c.source)
             .select_from(table.outerjoin(cal, cal.c.calibration_id == table.c.calibration_id))
             .order_by(table.c.change_id))
        rows = self._read(lambda c: [dict(r._mapping) for r in c.execute(q)])
        frame = pd.DataFrame(rows, columns=[*table.columns.keys(), "team", "source"])
        frame["source"] = frame["source"].fillna("api")  # a session's change: not a file id
        rows = scope.show_columns(frame, ("calibration_id",)).to_dict("records")
        return rec.times_frame(rows, ["session_id", "calibration_id", "old_deadline",
                                      "new_deadline", "changed_at"],
                               ["old_deadline", "new_deadline", "changed_at"])

    def session_plans(self, team: str | None = None, month: str | None = None) -> list[dict]:
        """Saved session plans as they were saved (the plan dict, extra keys included, such as
        each conversation's ``original_*`` fields), oldest month first."""
        table = self._tables["sessions"]
        where = rec.where_equal(table, team=team, month=month and cv.check_month(month))
        return self._read(lambda c: [json.loads(r.plan) for r in c.execute(
            sa.select(table.c.plan).where(where).order_by(table.c.month, table.c.session_id))
            if r.plan])

    def sessions(self, team: str | None = None, month: str | None = None) -> pd.DataFrame:
        """Saved session plans (panel_ids and conversation_ids as lists, deadline in UTC)."""
        table = self._tables["sessions"]
        where = rec.where_equal(table, team=team, month=month and cv.check_month(month))
        rows = self._read(lambda c: [dict(r._mapping) for r in c.execute(
            sa.select(table).where(where).order_by(table.c.month, table.c.session_id))])
        return rec.sessions_frame(rows)

    def add_rubric_note(self, question_id: str, *, decision: str, decided_on: Any,
                        form_context_id: str | None = None, form_version_id: str | None = None,
                        session_id: str | None = None,
                        anchors: Iterable[str] | str | None = None,
                        agreed_by: Iterable[str] | str | None = None) -> int:
        """Log an agreed interpretation of a question for a form (version); return its id.

        Parameters
        ----------
        question_id : str
        decision : str
            The agreed interpretation, in words.
        decided_on : date or str
            The meeting date (``YYYY-MM-DD``).
        form_context_id, form_version_id : str, optional
            The form (all versions) and/or the version the decision applies to; one is needed.
        session_id : str, optional
            The calibration session where it was agreed.
        anchors : list of str, optional
            Behavioural anchors (what a "Yes" looks like, what a "No" looks like).
        agreed_by : list of str, optional
            Who agreed.
        """
        row = rec.rubric_note_row(question_id=question_id, decision=decision,
                                  decided_on=decided_on, form_context_id=form_context_id,
                                  form_version_id=form_version_id, session_id=session_id,
                                  anchors=anchors, agreed_by=agreed_by,
                                  recorded_at=self.now())
        table = self._tables["rubric_notes"]
        return self._write(lambda c: c.execute(table.insert().values(**row))
                           .inserted_primary_key[0])

    def rubric_notes(self, question_id: str | None = None, *,
                     form_context_id: str | None = None,
                     form_version_id: str | None = None) -> pd.DataFrame:
        """The rubric decision log, oldest decision first, optionally for one question/form."""
        table = self._tables["rubric_notes"]
        where = rec.where_equal(table, question_id=question_id, form_context_id=form_context_id,
                                form_version_id=form_version_id)
        rows = self._read(lambda c: [dict(r._mapping) for r in c.execute(
            sa.select(table).where(where))])
        return rec.rubric_frame(rows)

    def record_consensus(self, calibration_id: str, question_id: str, answer_id: str | None, *,
                         by: str | Iterable[str], at: datetime | str,
                         team: str | None = None) -> None:
        """Record the answer a calibration meeting agreed on for one question.

        ``answer_id`` is the agreed option's id, or ``"N/A"`` when the question was agreed to
        be not applicable. The pre-discussion answers stay in :meth:`answers`. Refused while
        the calibration is sealed: a meeting happens after the scores are open.
        ``calibration_id`` is the id as :meth:`scores` shows it; ``team`` is needed only when
        several teams' files use that id (ids from files are scoped by team).
        """
        if not calibration_id or not question_id:
            raise ValueError("record_consensus needs a calibration_id and a question_id.")
        marked_na = answer_id == "N/A"
        agreed_by = by if isinstance(by, str) else ", ".join(map(str, by))
        if not agreed_by.strip():
            raise ValueError("record_consensus needs 'by': who agreed on the answer.")
        row = {"calibration_id": calibration_id, "question_id": question_id,
               "answer_id": None if marked_na else cv.as_text(answer_id),
               "marked_na": marked_na, "agreed_by": agreed_by,
               "agreed_at": cv.to_naive_utc(at, what="at")}
        if row["agreed_at"] is None:
            raise ValueError("record_consensus needs 'at': when the answer was agreed.")
        table = self._tables["consensus_answers"]
        team = None if team is None else cv.check_team(team)

        def save(conn: sa.Connection) -> None:
            stored = scope.resolve_calibration(conn, self._tables["calibrations"],
                                               str(calibration_id), team)
            row["calibration_id"] = stored
            gate = gate_mod.gate_table(conn, self._tables, None, None, [stored])
            if not bool(gate["open"].iloc[0]):
                raise StoreError(f"Calibration {calibration_id!r} is still sealed (waiting for "
                                 f"evaluations); record consensus after every evaluation is "
                                 f"finished or the scores were revealed.")
            conn.execute(table.delete().where(table.c.calibration_id == stored,
                                              table.c.question_id == question_id))
            conn.execute(table.insert().values(**row))
        self._write(save)

    def consensus(self, team: str | None = None, month: str | None = None, *,
                  calibration_id: str | None = None) -> pd.DataFrame:
        """Agreed answers: calibration_id, question_id, answer_id, marked_na, agreed_by,
        agreed_at (UTC)."""
        con, cal = self._tables["consensus_answers"], self._tables["calibrations"]
        where = rec.where_equal(cal, team=team, month=month)
        if calibration_id is not None:
            where = sa.and_(where, scope.matches_shown(cal, con.c.calibration_id,
                                                       str(calibration_id)))
        q = (sa.select(con, cal.c.team, cal.c.source)
             .select_from(con.join(cal, cal.c.calibration_id == con.c.calibration_id))
             .where(where).order_by(con.c.calibration_id, con.c.question_id))
        rows = self._read(lambda c: [dict(r._mapping) for r in c.execute(q)])
        rows = scope.show_columns(pd.DataFrame(rows, columns=[*con.columns.keys(), "team",
                                                              "source"]),
                                  ("calibration_id",)).to_dict("records")
        return rec.times_frame(rows, ["calibration_id", "question_id", "answer_id", "marked_na",
                                      "agreed_by", "agreed_at"], ["agreed_at"])

    def record_run(self, kind: str, team: str | None, month: str | None,
                   params_digest: str | None, status: str,
                   started_at: datetime | str | None = None,
                   finished_at: datetime | str | None = None, detail: str | None = None) -> int:
        """Record a report or sync run (``kind`` such as "report" or "sync"); return its id.

        ``detail`` is free text; never put secrets in it.
        """
        if not kind or not status:
            raise ValueError("record_run needs a kind (such as 'report') and a status.")
        row = {"kind": kind, "team": team, "month": month and cv.check_month(month),
               "params_digest": params_digest, "status": status,
               "started_at": cv.to_naive_utc(started_at, what="started_at"),
               "finished_at": cv.to_naive_utc(finished_at, what="finished_at"), "detail": detail}
        table = self._tables["runs"]
        return self._write(lambda c: c.execute(table.insert().values(**row))
                           .inserted_primary_key[0])

    def runs(self, kind: str | None = None, team: str | None = None,
             month: str | None = None) -> pd.DataFrame:
        """Recorded runs, oldest first."""
        table = self._tables["runs"]
        q = (sa.select(table).where(rec.where_equal(table, kind=kind, team=team, month=month))
             .order_by(table.c.run_id))
        rows = self._read(lambda c: [dict(r._mapping) for r in c.execute(q)])
        return rec.times_frame(rows, [c.name for c in table.columns],
                               ["started_at", "finished_at"])

    def record_import(self, team: str, month: str, *, file_name: str, sha256: str,
                      n_rows: int) -> int:
        """Record that a file's scores were imported (source "files"); return the import id."""
        row = {"team": cv.check_team(team), "month": cv.check_month(month),
               "file_name": str(file_name), "sha256": str(sha256), "n_rows": int(n_rows),
               "imported_at": self.now()}
        table = self._tables["file_imports"]
        return self._write(lambda c: c.execute(table.insert().values(**row))
                           .inserted_primary_key[0])

    def import_months(self, team: str,
                      months: Mapping[str, tuple[pd.DataFrame, pd.DataFrame | None]], *,
                      files: Iterable[tuple[str, str]] = (),
                      dry_run: bool = False) -> dict[str, UpsertResult]:
        """Upsert several months of file-sourced data and log the files, all in ONE transaction.

        A database failure part-way through leaves the store as it was: no month written, no
        file logged. ``months`` maps ``"YYYY-MM"`` to its ``(scores, answers)``; answers
        ``None`` means the files carry no answers for that month, so the stored ones are kept.
        ``files`` lists ``(file_name, sha256)`` pairs, logged for every month. ``dry_run``
        runs the same writes and rolls them back: the counts are exactly the import's.
        """
        team = cv.check_team(team)
        checked = {cv.check_month(m): v for m, v in months.items()}
        files = [(str(name), str(digest)) for name, digest in files]
        table = self._tables["file_imports"]

        def write(conn: sa.Connection) -> dict[str, UpsertResult]:
            results = {}
            for month, (scores, answers) in checked.items():
                results[month] = upsert_month(conn, self._tables, team, month, scores, answers,
                                              forms=[], users=[], calibrations=[], source="files",
                                              now=self.now())
                for name, digest in files:
                    conn.execute(table.insert().values(
                        team=team, month=month, file_name=name, sha256=digest,
                        n_rows=int(len(scores)), imported_at=self.now()))
            return results
        return self._write(write, rehearse=dry_run)

    def imports(self, team: str | None = None, month: str | None = None) -> pd.DataFrame:
        """Recorded file imports, oldest first."""
        table = self._tables["file_imports"]
        q = (sa.select(table).where(rec.where_equal(table, team=team, month=month))
             .order_by(table.c.import_id))
        rows = self._read(lambda c: [dict(r._mapping) for r in c.execute(q)])
        return rec.times_frame(rows, [c.name for c in table.columns], ["imported_at"])

    # -- reference data ------------------------------------------------------------------
    def forms(self) -> pd.DataFrame:
        """Stored form versions: form_id, form_context_id, name, published, weight_mode,
        modified_date (UTC), n_questions."""
        f, q = self._tables["forms"], self._tables["form_questions"]
        n = (sa.select(q.c.form_id, sa.func.count().label("n_questions"))
             .group_by(q.c.form_id).subquery())
        stmt = (sa.select(f.c.form_id, f.c.form_context_id, f.c.name, f.c.published,
                          f.c.weight_mode, f.c.modified_date,
                          sa.func.coalesce(n.c.n_questions, 0).label("n_questions"))
                .select_from(f.outerjoin(n, n.c.form_id == f.c.form_id))
                .order_by(f.c.form_context_id, f.c.modified_date, f.c.form_id))
        rows = self._read(lambda c: [dict(r._mapping) for r in c.execute(stmt)])
        return rec.times_frame(rows, ["form_id", "form_context_id", "name", "published",
                                      "weight_mode", "modified_date", "n_questions"],
                               ["modified_date"])

    def form_questions(self, form_id: str | None = None) -> pd.DataFrame:
        """Questions of stored forms in form order, with group, weight, flags and max_points."""
        q = self._tables["form_questions"]
        stmt = (sa.select(q).where(rec.where_equal(q, form_id=form_id))
                .order_by(q.c.form_id, q.c.position))
        rows = self._read(lambda c: [dict(r._mapping) for r in c.execute(stmt)])
        return pd.DataFrame(rows, columns=[c.name for c in q.columns])

    def answer_options(self, form_id: str | None = None) -> pd.DataFrame:
        """Answer options of stored forms: form_id, question_id, answer_id, answer_text, value."""
        o = self._tables["form_answer_options"]
        stmt = (sa.select(o).where(rec.where_equal(o, form_id=form_id))
                .order_by(o.c.form_id, o.c.question_id, o.c.position))
        rows = self._read(lambda c: [dict(r._mapping) for r in c.execute(stmt)])
        return pd.DataFrame(rows, columns=[c.name for c in o.columns])

    def users(self) -> pd.DataFrame:
        """Stored users: user_id, name, email, username, state, title, department."""
        u = self._tables["users"]
        rows = self._read(lambda c: [dict(r._mapping) for r in c.execute(
            sa.select(u).order_by(u.c.name, u.c.user_id))])
        return pd.DataFrame(rows, columns=[c.name for c in u.columns])

    def calibrations(self, team: str | None = None, month: str | None = None) -> pd.DataFrame:
        """Stored calibrations without any score: calibration_id, team, month, session_id,
        conversation_id, agent_id, calibrator_id, expert_id, form_id, source."""
        cal = self._tables["calibrations"]
        cols = ["calibration_id", "team", "month", "session_id", "conversation_id", "agent_id",
                "calibrator_id", "expert_id", "form_id", "source"]
        where = rec.where_equal(cal, team=team and cv.check_team(team),
                                month=month and cv.check_month(month))
        stmt = (sa.select(*(cal.c[c] for c in cols)).where(where)
                .order_by(cal.c.month, cal.c.calibration_id))
        rows = self._read(lambda c: [dict(r._mapping) for r in c.execute(stmt)])
        return pd.DataFrame(rows, columns=cols)

    def months(self, team: str) -> list[str]:
        """The months (``YYYY-MM``) with stored calibrations of ``team``, oldest first."""
        cal = self._tables["calibrations"]
        stmt = (sa.select(cal.c.month).where(cal.c.team == cv.check_team(team)).distinct()
                .order_by(cal.c.month))
        return self._read(lambda c: [r[0] for r in c.execute(stmt)])

    def teams(self) -> list[str]:
        """The teams with stored calibrations or sessions, sorted."""
        cal, ses = self._tables["calibrations"], self._tables["sessions"]
        stmt = sa.union(sa.select(cal.c.team), sa.select(ses.c.team))
        return self._read(lambda c: sorted({r[0] for r in c.execute(stmt)}))


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0].rstrip(".") if text else type(exc).__name__

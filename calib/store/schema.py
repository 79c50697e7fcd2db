"""The history store's tables (SQLAlchemy Core) and their versioned migrations.

Everything lives in one ``MetaData`` built by :func:`build_metadata`, so importing this module
does no work beyond defining functions. Timestamps are stored as naive UTC (``DateTime`` without
time zone) so that SQLite and PostgreSQL round-trip the same values; the store re-attaches UTC
when it reads them back.

Tables, and why each exists:

``schema_version``
    one row per applied schema version; the store refuses a database newer than its code.
``users``, ``forms``, ``form_questions``, ``form_answer_options``
    reference data from the API (users by id; each form *version* with its question groups,
    questions and answer options), kept across months and never deleted by a month sync.
``sessions``
    calib session plans (panel, deadline, conversations); ``session_id`` is the plan's name,
    or ``"<team>/<YYYY-MM>"`` for calibrations calib did not create.
``calibrations``, ``calibration_assignments``, ``evaluations``, ``answers``
    the month's data; ``source`` says where it came from (``"api"`` or ``"files"``) so that a
    sync only ever removes what its own source no longer lists. Calibration and evaluation ids
    from files are stored as ``"<team>/<id>"`` (:mod:`calib.store.scope`, version 4).
``deadline_changes``
    every move of a stored deadline (sessions and calibrations); a deadline only ever moves
    later, so the blind window a panel was promised cannot shrink.
``reveals``
    the analyst's explicit reveals of sealed calibrations after their deadline (the audit trail
    the report quotes).
``rubric_notes``
    the rubric decision log: the agreed interpretation of a question for a form version.
``consensus_answers``
    the answers a calibration meeting agreed on; the ``answers`` table keeps the
    pre-discussion answers, so the two can be compared.
``file_imports``
    one row per file whose scores were imported (source ``"files"``), with its digest.
``runs``
    report and sync run records.
``program_steps``
    what each calibration program's tick did: one row per team, cycle and step (select,
    create, status, reveal, report, close) with its state, when and its outcome, so a crashed
    tick resumes and a finished step is never done twice (:mod:`calib.program.ledger`).
``program_rotations``
    who holds a team's calibrator (expert evaluator) role from which cycle on: a rotation
    proposed by the quarterly calibration of calibrators (``proposed``), applied by
    ``calib program rotate --yes`` (``applied``, with the cycle it takes effect from and by
    whom), or set aside by a later proposal (``superseded``) (:mod:`calib.program.rotation`).
``ai_evaluations``, ``ai_answers``
    Genesys AI scoring of an evaluation (``aiScoring``: failure type, pending, last change;
    ``evaluationSource.type``) and the AI's suggested answer per question (``aiAnswer``),
    written by :mod:`calib.store.ai`; they go with their evaluation (ON DELETE CASCADE).
``locks``
    who holds each named store lock on PostgreSQL (host, process, since when, what for); the
    lock itself is an advisory lock (see :mod:`calib.store.locks`), this row only feeds the
    message a second run gets. SQLite keeps the same record in the lock file.
"""

from __future__ import annotations

from typing import Callable

import sqlalchemy as sa

from calib.store.migrate import scope_file_ids

SCHEMA_VERSION = 7


def build_metadata() -> sa.MetaData:
    """A fresh ``MetaData`` holding every table of the current schema version."""
    md = sa.MetaData()
    text, ts = sa.Text, sa.DateTime(timezone=False)
    sa.Table("schema_version", md,
             sa.Column("version", sa.Integer, primary_key=True),
             sa.Column("applied_at", ts, nullable=False))
    sa.Table("users", md,
             sa.Column("user_id", text, primary_key=True),
             sa.Column("name", text), sa.Column("email", text), sa.Column("username", text),
             sa.Column("state", text), sa.Column("title", text), sa.Column("department", text))
    sa.Table("forms", md,
             sa.Column("form_id", text, primary_key=True),
             sa.Column("form_context_id", text, index=True),
             sa.Column("name", text), sa.Column("published", sa.Boolean),
             sa.Column("weight_mode", text), sa.Column("modified_date", ts),
             sa.Column("body", text))  # the form's JSON as the API returned it
    sa.Table("form_questions", md,
             sa.Column("form_id", text, sa.ForeignKey("forms.form_id", ondelete="CASCADE"),
                       primary_key=True),
             sa.Column("question_id", text, primary_key=True),
             sa.Column("position", sa.Integer, nullable=False),
             sa.Column("question_group_id", text), sa.Column("question_group_name", text),
             sa.Column("group_weight", sa.Float), sa.Column("question_text", text),
             sa.Column("question_type", text), sa.Column("na_enabled", sa.Boolean),
             sa.Column("is_critical", sa.Boolean), sa.Column("is_kill", sa.Boolean),
             sa.Column("max_points", sa.Float))
    sa.Table("form_answer_options", md,
             sa.Column("form_id", text, primary_key=True),
             sa.Column("question_id", text, primary_key=True),
             sa.Column("answer_id", text, primary_key=True),
             sa.Column("position", sa.Integer, nullable=False),
             sa.Column("answer_text", text), sa.Column("value", sa.Float),
             sa.ForeignKeyConstraint(["form_id", "question_id"],
                                     ["form_questions.form_id", "form_questions.question_id"],
                                     ondelete="CASCADE"))
    sa.Table("sessions", md,
             sa.Column("session_id", text, primary_key=True),
             sa.Column("team", text, nullable=False), sa.Column("month", text, nullable=False),
             sa.Column("focus", text), sa.Column("form_id", text),
             sa.Column("calibrator_id", text), sa.Column("expert_id", text),
             sa.Column("panel_ids", text),  # JSON list
             sa.Column("deadline", ts), sa.Column("conversation_ids", text),  # JSON list
             sa.Column("plan", text),  # the whole plan as JSON, extra keys included
             sa.Column("saved_at", ts, nullable=False),
             sa.Index("ix_sessions_team_month", "team", "month"))
    sa.Table("calibrations", md,
             sa.Column("calibration_id", text, primary_key=True),
             sa.Column("team", text, nullable=False), sa.Column("month", text, nullable=False),
             sa.Column("session_id", text, nullable=False),
             sa.Column("name", text), sa.Column("conversation_id", text),
             sa.Column("agent_id", text), sa.Column("calibrator_id", text),
             sa.Column("expert_id", text), sa.Column("form_id", text),
             sa.Column("form_context_id", text), sa.Column("created_at", ts),
             sa.Column("deadline", ts), sa.Column("source", text, nullable=False),
             sa.Index("ix_calibrations_team_month", "team", "month"))
    sa.Table("calibration_assignments", md,
             sa.Column("calibration_id", text,
                       sa.ForeignKey("calibrations.calibration_id", ondelete="CASCADE"),
                       primary_key=True),
             sa.Column("evaluator_id", text, primary_key=True),
             sa.Column("role", text, nullable=False))
    sa.Table("evaluations", md,
             sa.Column("evaluation_id", text, primary_key=True),
             sa.Column("calibration_id", text,
                       sa.ForeignKey("calibrations.calibration_id", ondelete="CASCADE"),
                       nullable=False, index=True),
             sa.Column("conversation_id", text), sa.Column("agent_id", text),
             sa.Column("evaluator_id", text, nullable=False),
             sa.Column("evaluator_name", text), sa.Column("role", text, nullable=False),
             sa.Column("status", text, nullable=False),
             sa.Column("total_score", sa.Float), sa.Column("critical_score", sa.Float),
             sa.Column("any_failed_kill", sa.Boolean, nullable=False),
             sa.Column("submitted_at", ts), sa.Column("form_id", text),
             sa.Column("form_context_id", text))
    sa.Table("answers", md,
             sa.Column("evaluation_id", text,
                       sa.ForeignKey("evaluations.evaluation_id", ondelete="CASCADE"),
                       primary_key=True),
             sa.Column("question_id", text, primary_key=True),
             sa.Column("form_id", text),
             sa.Column("question_group_id", text), sa.Column("question_group_name", text),
             sa.Column("question_text", text), sa.Column("answer_id", text),
             sa.Column("answer_text", text), sa.Column("points", sa.Float),
             sa.Column("max_points", sa.Float), sa.Column("marked_na", sa.Boolean, nullable=False),
             sa.Column("comment", text))
    sa.Table("reveals", md,
             sa.Column("reveal_id", sa.Integer, primary_key=True, autoincrement=True),
             sa.Column("team", text, nullable=False), sa.Column("month", text, nullable=False),
             sa.Column("calibration_id", text, nullable=False, index=True),
             sa.Column("revealed_by", text, nullable=False),
             sa.Column("reason", text, nullable=False),
             sa.Column("revealed_at", ts, nullable=False),
             sa.Column("deadline", ts))
    sa.Table("rubric_notes", md,
             sa.Column("note_id", sa.Integer, primary_key=True, autoincrement=True),
             sa.Column("question_id", text, nullable=False, index=True),
             sa.Column("form_context_id", text), sa.Column("form_version_id", text),
             sa.Column("decided_on", sa.Date, nullable=False),
             sa.Column("session_id", text), sa.Column("decision", text, nullable=False),
             sa.Column("anchors", text),  # JSON list of behavioural anchors
             sa.Column("agreed_by", text),  # JSON list of names or ids
             sa.Column("recorded_at", ts, nullable=False))
    sa.Table("consensus_answers", md,
             sa.Column("calibration_id", text, primary_key=True),
             sa.Column("question_id", text, primary_key=True),
             sa.Column("answer_id", text), sa.Column("marked_na", sa.Boolean, nullable=False),
             sa.Column("agreed_by", text, nullable=False),
             sa.Column("agreed_at", ts, nullable=False))
    sa.Table("file_imports", md,
             sa.Column("import_id", sa.Integer, primary_key=True, autoincrement=True),
             sa.Column("team", text, nullable=False), sa.Column("month", text, nullable=False),
             sa.Column("file_name", text, nullable=False),
             sa.Column("sha256", text, nullable=False),
             sa.Column("n_rows", sa.Integer, nullable=False),
             sa.Column("imported_at", ts, nullable=False))
    sa.Table("deadline_changes", md,
             sa.Column("change_id", sa.Integer, primary_key=True, autoincrement=True),
             sa.Column("session_id", text), sa.Column("calibration_id", text),
             sa.Column("old_deadline", ts), sa.Column("new_deadline", ts, nullable=False),
             sa.Column("changed_at", ts, nullable=False))
    sa.Table("runs", md,
             sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=True),
             sa.Column("kind", text, nullable=False), sa.Column("team", text),
             sa.Column("month", text), sa.Column("params_digest", text),
             sa.Column("status", text, nullable=False),
             sa.Column("started_at", ts), sa.Column("finished_at", ts),
             sa.Column("detail", text))
    sa.Table("program_steps", md,
             sa.Column("team", text, primary_key=True),
             sa.Column("cycle", sa.Integer, primary_key=True),
             sa.Column("step", text, primary_key=True),
             sa.Column("cycle_start", ts, nullable=False),
             sa.Column("state", text, nullable=False),
             sa.Column("attempts", sa.Integer, nullable=False),
             sa.Column("started_at", ts), sa.Column("finished_at", ts),
             sa.Column("outcome", text), sa.Column("detail", text))
    sa.Table("program_rotations", md,
             sa.Column("rotation_id", sa.Integer, primary_key=True, autoincrement=True),
             sa.Column("team", text, nullable=False),
             sa.Column("expert_email", text, nullable=False),
             sa.Column("expert_name", text),
             sa.Column("state", text, nullable=False),
             sa.Column("from_cycle", sa.Integer),
             sa.Column("source", text, nullable=False),
             sa.Column("reason", text),
             sa.Column("proposed_at", ts, nullable=False),
             sa.Column("applied_at", ts), sa.Column("applied_by", text),
             sa.UniqueConstraint("team", "source", name="uq_program_rotations_team_source"))
    sa.Table("ai_evaluations", md,
             sa.Column("evaluation_id", text,
                       sa.ForeignKey("evaluations.evaluation_id", ondelete="CASCADE"),
                       primary_key=True),
             sa.Column("failure_type", text), sa.Column("pending", sa.Boolean),
             sa.Column("date_last_changed", ts), sa.Column("source_type", text))
    sa.Table("ai_answers", md,
             sa.Column("evaluation_id", text,
                       sa.ForeignKey("evaluations.evaluation_id", ondelete="CASCADE"),
                       primary_key=True),
             sa.Column("question_id", text, primary_key=True),
             sa.Column("question_group_id", text), sa.Column("answer_id", text),
             sa.Column("marked_na", sa.Boolean), sa.Column("failure_type", text),
             sa.Column("explanation", text))
    sa.Table("locks", md,
             sa.Column("name", text, primary_key=True),
             sa.Column("purpose", text), sa.Column("host", text),
             sa.Column("pid", sa.Integer), sa.Column("acquired_at", ts))
    return md


# Migrations from version N to N+1, applied in order inside the same transaction as the
# version bump. Version 1 is created directly from build_metadata().
MIGRATIONS: dict[int, Callable[[sa.Connection], None]] = {
    # 1 -> 2 adds the deadline_changes table only; ensure_schema's create_all(checkfirst=True)
    # creates it after the version bump.
    1: lambda conn: None,
    # 2 -> 3 adds the locks table only (created the same way).
    2: lambda conn: None,
    # 3 -> 4 moves the ids from files to their team-scoped keys (calib.store.scope).
    3: lambda conn: _scope_file_ids(conn),
    # 4 -> 5 adds the program_steps table only (created the same way).
    4: lambda conn: None,
    # 5 -> 6 adds the ai_evaluations and ai_answers tables only (created the same way).
    5: lambda conn: None,
    # 6 -> 7 adds the program_rotations table only (created the same way).
    6: lambda conn: None,
}


def _scope_file_ids(conn: sa.Connection) -> None:
    scope_file_ids(conn, build_metadata().tables)

"""The program review (issue 16): the director's view of calibration across teams and months.

Every team's reliability month by month with CIs and its trend verdict, every evaluator's
severity over the period (one pooled fit across teams) and whether it moved toward the
consensus, every question before and after a new form version or a rubric note, and one
paragraph for the director written from the same verdict objects.
``notebooks/06_program_review.ipynb`` renders it (``calib review --params FILE``).
"""

from __future__ import annotations

from calib.review.data import (FormData, check_parameters, load_agreed, load_forms, load_scores,
                               prepare, read_forms, read_scores, review_months, sync_teams)
from calib.review.meeting import MEETING_COLUMNS, MeetingMove, meeting_moves, meeting_table
from calib.review.program import (RELIABILITY_COLUMNS, TEAM_COLUMNS, ProgramReview, TeamReview,
                                  program_review, write_review)
from calib.review.progress import (PROGRESS_COLUMNS, EvaluatorProgress, evaluator_progress,
                                   progress_table)
from calib.review.versions import (VERSION_COLUMNS, QuestionChange, version_changes,
                                   version_table)

__all__ = ["FormData", "QuestionChange", "VERSION_COLUMNS", "load_forms", "read_forms",
           "read_scores", "sync_teams", "version_changes", "version_table", "MEETING_COLUMNS", "MeetingMove", "load_agreed", "meeting_moves", "meeting_table",
           "EvaluatorProgress", "PROGRESS_COLUMNS", "ProgramReview", "RELIABILITY_COLUMNS",
           "TEAM_COLUMNS", "TeamReview", "check_parameters", "evaluator_progress", "load_scores",
           "prepare", "program_review", "progress_table", "review_months", "write_review"]

"""Calibration sessions: the plan, its creation, its status, and the steps that tie them to a
backend.

* :mod:`~calib.sessions.plan` — :class:`SessionPlan`, the YAML file people review;
* :mod:`~calib.sessions.create` — idempotent creation under the store lock;
* :mod:`~calib.sessions.reconcile` — duplicates found and removed after a run;
* :mod:`~calib.sessions.status` — who has finished, never a score;
* :mod:`~calib.sessions.steps` — select → plan → create → follow, from parameters and a backend
  (shared by the ``calib`` verbs, notebooks 01 and 02 and the session-setup widget).
"""

from calib.sessions.create import (MAX_POST_ATTEMPTS, PLANNED_COLUMNS, CreationResult,
                                   calibration_body, create_session, creation_lock_name)
from calib.sessions.plan import (PLAN_BACKENDS, PlanError, PlannedConversation, SessionPlan,
                                 load_yaml, published_form_id, user_ids_by_email)
from calib.sessions.reconcile import (DUPLICATE_COLUMNS, calibrations_of, describe_duplicates,
                                      reconcile_duplicates)
from calib.sessions.status import STATUS_COLUMNS, session_status, summarize_status

__all__ = ["PlanError", "PlannedConversation", "SessionPlan", "CreationResult", "create_session",
           "creation_lock_name", "reconcile_duplicates", "describe_duplicates", "calibrations_of",
           "session_status", "summarize_status", "calibration_body", "user_ids_by_email",
           "published_form_id", "load_yaml", "STATUS_COLUMNS", "DUPLICATE_COLUMNS",
           "PLANNED_COLUMNS", "MAX_POST_ATTEMPTS", "PLAN_BACKENDS"]

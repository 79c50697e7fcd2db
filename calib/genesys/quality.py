"""Quality Management endpoints: calibrations, evaluations and evaluation forms (``genesys-api.md`` §3–5),
and the forms' AI scoring settings (``docs/genesys-ai-scoring.md``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from calib.genesys._util import check_page_size, expect_dict, segment

CALIBRATIONS = "/api/v2/quality/calibrations"
EVALUATIONS_QUERY = "/api/v2/quality/evaluations/query"
FORMS = "/api/v2/quality/forms/evaluations"
PUBLISHED_FORMS = "/api/v2/quality/publishedforms/evaluations"
MAX_PAGE_SIZE = 100

Instant = datetime | date | str

#: Written into ``answers.privateComments`` of an evaluation calib rescored with a calibration's
#: agreed answers (``calib consensus push``), so a later sync knows those answers are the
#: panel's, not the evaluator's blind scoring (:func:`is_consensus_push`).
CONSENSUS_MARK = "[calib consensus push]"


def is_consensus_push(evaluation: Mapping[str, Any]) -> bool:
    """True for an evaluation whose answers ``calib consensus push`` wrote (its mark is in
    ``answers.privateComments``)."""
    answers = evaluation.get("answers") if isinstance(evaluation, Mapping) else None
    note = answers.get("privateComments") if isinstance(answers, Mapping) else None
    return isinstance(note, str) and CONSENSUS_MARK in note


def _items(iterator: Iterator[Any], endpoint: str, required: Sequence[str] = ("id",)) -> Iterator[dict[str, Any]]:
    for item in iterator:
        yield expect_dict(item, endpoint, required=required)


def _expand(expand: str | Sequence[str] | None) -> str | None:
    if expand is None:
        return None
    if isinstance(expand, str):
        return expand
    return ",".join(expand)


class QualityMixin:
    """Quality endpoints of :class:`calib.genesys.GenesysClient`."""

    request: Any
    paginate: Any

    # -- calibrations -------------------------------------------------------------------------

    def create_calibration(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create a calibration (``POST /api/v2/quality/calibrations``).

        Parameters
        ----------
        body : Mapping
            A ``CalibrationCreate``: ``conversation: {id}`` is required; usually also
            ``evaluationForm``, ``calibrator``, ``agent``, ``evaluators``, ``expertEvaluator``.

        Returns
        -------
        dict
            The created ``Calibration`` (with ``id``).

        Raises
        ------
        calib.genesys.errors.ResponseLostError
            The request was sent but no response came: it may have been created. This call is
            never repeated automatically; list ``iter_calibrations(calibrator_id,
            conversation_id=...)`` and create again only if nothing is there.
        """
        if not isinstance(body, Mapping):
            raise ValueError("The calibration body must be a mapping such as {'conversation': {'id': ...}, ...}.")
        conversation = body.get("conversation")
        if not isinstance(conversation, Mapping) or not conversation.get("id"):
            raise ValueError("The calibration body needs 'conversation': {'id': <conversation id>} (the API requires it).")
        created = self.request("POST", CALIBRATIONS, json=dict(body), idempotent=False)
        return expect_dict(created, f"POST {CALIBRATIONS}", required=("id",))

    def get_calibration(
        self, calibration_id: str, *, calibrator_id: str | None = None, conversation_id: str | None = None
    ) -> dict[str, Any]:
        """Return one calibration; the API requires ``calibrator_id`` or ``conversation_id``."""
        if not calibrator_id and not conversation_id:
            raise ValueError("get_calibration needs calibrator_id= or conversation_id= (the API requires one of them).")
        path = f"{CALIBRATIONS}/{segment(calibration_id, 'calibration_id')}"
        body = self.request("GET", path, params={"calibratorId": calibrator_id, "conversationId": conversation_id})
        return expect_dict(body, f"GET {CALIBRATIONS}/{{calibrationId}}", required=("id",))

    def iter_calibrations(
        self,
        calibrator_id: str,
        *,
        conversation_id: str | None = None,
        start_time: Instant | None = None,
        end_time: Instant | None = None,
        expand: str | Sequence[str] | None = None,
        page_size: int = 100,
    ) -> Iterator[dict[str, Any]]:
        """Iterate over one calibrator's calibrations (the API lists per calibrator only).

        Parameters
        ----------
        calibrator_id : str
            Required by the API.
        conversation_id : str, optional
            Only calibrations of this conversation (how a lost create is reconciled).
        start_time, end_time : datetime, date or str, optional
            Created-date window.
        expand : str or list of str, optional
            Passed as ``expand``.
        page_size : int
            1 to 100.
        """
        segment(calibrator_id, "calibrator_id")
        check_page_size(page_size, MAX_PAGE_SIZE)
        params = {"calibratorId": calibrator_id, "conversationId": conversation_id, "startTime": start_time,
                  "endTime": end_time, "expand": _expand(expand), "pageSize": page_size}
        return _items(self.paginate(CALIBRATIONS, params=params), f"GET {CALIBRATIONS}")

    def update_calibration(self, calibration_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Update a calibration (``PUT``; the API applies ``evaluators``, ``expertEvaluator``, ``scoringIndex``)."""
        if not isinstance(body, Mapping):
            raise ValueError("The calibration body must be a mapping (the full Calibration from get_calibration).")
        path = f"{CALIBRATIONS}/{segment(calibration_id, 'calibration_id')}"
        return expect_dict(self.request("PUT", path, json=dict(body)), f"PUT {CALIBRATIONS}/{{calibrationId}}", ("id",))

    def delete_calibration(self, calibration_id: str, calibrator_id: str) -> dict[str, Any] | None:
        """Delete a calibration; ``calibrator_id`` is required by the API. Returns the deleted entity if sent."""
        segment(calibrator_id, "calibrator_id")
        path = f"{CALIBRATIONS}/{segment(calibration_id, 'calibration_id')}"
        body = self.request("DELETE", path, params={"calibratorId": calibrator_id})
        return None if body is None else expect_dict(body, f"DELETE {CALIBRATIONS}/{{calibrationId}}")

    # -- evaluations --------------------------------------------------------------------------

    def iter_evaluations(
        self,
        *,
        conversation_id: str | None = None,
        evaluator_user_id: str | None = None,
        agent_user_id: str | None = None,
        assignee_user_id: str | None = None,
        start_time: Instant | None = None,
        end_time: Instant | None = None,
        evaluation_state: str | Sequence[str] | None = None,
        form_context_id: str | None = None,
        expand_answer_total_scores: bool = True,
        page_size: int = 100,
        **extra: Any,
    ) -> Iterator[dict[str, Any]]:
        """Iterate over ``GET /api/v2/quality/evaluations/query``.

        Parameters
        ----------
        conversation_id, evaluator_user_id, agent_user_id, assignee_user_id : str, optional
            At least one is required by the API.
        start_time, end_time : datetime, date or str, optional
            Window (assigned date for evaluator/conversation queries).
        evaluation_state : str or list of str, optional
            ``PENDING``, ``INPROGRESS``, ``FINISHED``, ``INREVIEW``, ``RETRACTED``.
        form_context_id : str, optional
            All versions of one form.
        expand_answer_total_scores : bool
            Without it the API leaves ``answers`` empty; on by default.
        page_size : int
            1 to 100.
        **extra
            Further query parameters by their API names (``agentTeamId``, ``isReleased``, …).
        """
        if not any((conversation_id, evaluator_user_id, agent_user_id, assignee_user_id)):
            raise ValueError(
                "iter_evaluations needs conversation_id=, evaluator_user_id=, agent_user_id= or "
                "assignee_user_id= (the API requires one of them)."
            )
        check_page_size(page_size, MAX_PAGE_SIZE)
        states = [evaluation_state] if isinstance(evaluation_state, str) else evaluation_state
        params = {
            **extra, "conversationId": conversation_id, "evaluatorUserId": evaluator_user_id,
            "agentUserId": agent_user_id, "assigneeUserId": assignee_user_id, "startTime": start_time,
            "endTime": end_time, "evaluationState": list(states) if states else None,
            "formContextId": form_context_id, "expandAnswerTotalScores": bool(expand_answer_total_scores),
            "pageSize": page_size,
        }
        return _items(self.paginate(EVALUATIONS_QUERY, params=params), f"GET {EVALUATIONS_QUERY}")

    def get_evaluation(
        self, conversation_id: str, evaluation_id: str, *, expand: str | Sequence[str] | None = None
    ) -> dict[str, Any]:
        """Return one evaluation (``expand``: agent, assignee, evaluator, evaluationForm)."""
        path = (f"/api/v2/quality/conversations/{segment(conversation_id, 'conversation_id')}"
                f"/evaluations/{segment(evaluation_id, 'evaluation_id')}")
        body = self.request("GET", path, params={"expand": _expand(expand)})
        return expect_dict(body, "GET /api/v2/quality/conversations/{id}/evaluations/{id}", required=("id",))

    def update_evaluation(self, conversation_id: str, evaluation_id: str,
                          body: Mapping[str, Any]) -> dict[str, Any]:
        """Update an evaluation (``PUT /api/v2/quality/conversations/{conversationId}/
        evaluations/{evaluationId}``; ``QualityApi.put_quality_conversation_evaluation``).

        This changes the org: callers decide (dry run by default) before calling it. Changing
        question scores needs ``quality:evaluation:editScore`` (or ``quality:evaluation:edit``).

        Parameters
        ----------
        conversation_id, evaluation_id : str
        body : Mapping
            An ``Evaluation`` (as :meth:`get_evaluation` returns it) with the new ``answers``.

        Returns
        -------
        dict
            The ``EvaluationResponse``, rescored by the API.
        """
        if not isinstance(body, Mapping) or not isinstance(body.get("answers"), Mapping):
            raise ValueError("The evaluation body must be a mapping with 'answers' (an "
                             "EvaluationScoringSet with questionGroupScores).")
        path = (f"/api/v2/quality/conversations/{segment(conversation_id, 'conversation_id')}"
                f"/evaluations/{segment(evaluation_id, 'evaluation_id')}")
        return expect_dict(self.request("PUT", path, json=dict(body)),
                           "PUT /api/v2/quality/conversations/{id}/evaluations/{id}", ("id",))

    # -- evaluation forms ---------------------------------------------------------------------

    def iter_evaluation_forms(
        self, *, name: str | None = None, expand: str | Sequence[str] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Iterate over evaluation forms (no ``questionGroups`` here: use :meth:`get_evaluation_form`)."""
        params = {"name": name, "expand": _expand(expand), "pageSize": MAX_PAGE_SIZE}
        return _items(self.paginate(FORMS, params=params), f"GET {FORMS}")

    def get_evaluation_form(self, form_id: str) -> dict[str, Any]:
        """Return one form version with its ``questionGroups``."""
        body = self.request("GET", f"{FORMS}/{segment(form_id, 'form_id')}")
        return expect_dict(body, f"GET {FORMS}/{{formId}}", required=("id",))

    def iter_evaluation_form_versions(self, form_id: str) -> Iterator[dict[str, Any]]:
        """Iterate over all versions of a form."""
        path = f"{FORMS}/{segment(form_id, 'form_id')}/versions"
        return _items(self.paginate(path, params={"pageSize": MAX_PAGE_SIZE}), f"GET {FORMS}/{{formId}}/versions")

    def iter_published_evaluation_forms(
        self, *, name: str | None = None, only_latest_per_context: bool = False
    ) -> Iterator[dict[str, Any]]:
        """Iterate over published form versions (``onlyLatestPerContext`` keeps one per form)."""
        params = {"name": name, "onlyLatestPerContext": bool(only_latest_per_context), "pageSize": MAX_PAGE_SIZE}
        return _items(self.paginate(PUBLISHED_FORMS, params=params), f"GET {PUBLISHED_FORMS}")

    def put_ai_scoring_settings(self, form_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Set which questions of a form version are AI-scored (``PUT
        /api/v2/quality/forms/evaluations/{formId}/aiscoring/settings``; permission
        ``quality:evaluationForm:aiScoringEdit``).

        This changes the org: callers decide (dry run by default) before calling it.

        Parameters
        ----------
        form_id : str
            The form version's id.
        body : Mapping
            An ``AiScoringSettings``; build it with :func:`calib.genesys.ai_scoring.settings_body`,
            which lists every question so the result does not depend on how the API merges.

        Returns
        -------
        dict
            The ``AiScoringSettings`` the API answers with.
        """
        if not isinstance(body, Mapping):
            raise ValueError("The AI scoring settings body must be a mapping such as "
                             "calib.genesys.ai_scoring.settings_body(form, enabled) returns.")
        path = f"{FORMS}/{segment(form_id, 'form_id')}/aiscoring/settings"
        return expect_dict(self.request("PUT", path, json=dict(body)),
                           f"PUT {FORMS}/{{formId}}/aiscoring/settings")

    def get_published_evaluation_form(self, form_id: str) -> dict[str, Any]:
        """Return the most recent published version of a form."""
        body = self.request("GET", f"{PUBLISHED_FORMS}/{segment(form_id, 'form_id')}")
        return expect_dict(body, f"GET {PUBLISHED_FORMS}/{{formId}}", required=("id",))

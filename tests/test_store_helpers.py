"""Builders of realistic month data for the store tests (frames in the calib.tables shape).

Shared by tests/test_store*.py and tests/test_sync*.py (this module holds no tests).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from calib.tables import answers_frame, scores_frame

class Clock:
    """A backend clock a test can move, like the sandbox org's: ``Store(url, clock=clock)``."""

    def __init__(self, at: str) -> None:
        self.at = pd.Timestamp(at, tz="UTC").to_pydatetime()

    def __call__(self):
        return self.at

    def set(self, at: str) -> None:
        self.at = pd.Timestamp(at, tz="UTC").to_pydatetime()


FORM_ID = "form-v2"
FORM_CONTEXT = "form-ctx"


def form_json(form_id: str = FORM_ID, *, question_text: str = "Greeted the customer?") -> dict:
    """A two-group evaluation form as GET /api/v2/quality/forms/evaluations/{id} returns it."""
    yes_no = lambda q: [{"id": f"{q}-yes", "text": "Yes", "value": 1},  # noqa: E731
                        {"id": f"{q}-no", "text": "No", "value": 0}]
    return {
        "id": form_id, "name": "Voice QA", "contextId": FORM_CONTEXT, "published": True,
        "weightMode": "SCALED", "modifiedDate": "2026-04-01T09:00:00.000Z",
        "questionGroups": [
            {"id": "g-open", "name": "Opening", "weight": 40, "questions": [
                {"id": "q-greet", "text": question_text, "type": "multipleChoiceQuestion",
                 "naEnabled": True, "isCritical": False, "isKill": False,
                 "answerOptions": yes_no("q-greet")},
                {"id": "q-verify", "text": "Verified identity?", "type": "multipleChoiceQuestion",
                 "naEnabled": False, "isCritical": True, "isKill": True,
                 "answerOptions": yes_no("q-verify")}]},
            {"id": "g-resolve", "name": "Resolution", "weight": 60, "questions": [
                {"id": "q-scale", "text": "Explained clearly (1-5)?",
                 "type": "multipleChoiceQuestion", "naEnabled": False,
                 "answerOptions": [{"id": f"q-scale-{v}", "text": str(v), "value": v}
                                   for v in range(1, 6)]}]},
        ],
    }


QUESTIONS = [("g-open", "Opening", "q-greet", "Greeted the customer?", 1.0),
             ("g-open", "Opening", "q-verify", "Verified identity?", 1.0),
             ("g-resolve", "Resolution", "q-scale", "Explained clearly (1-5)?", 5.0)]


def users_json(n_evaluators: int = 3) -> list[dict]:
    people = [{"id": "u-expert", "name": "Erin Expert", "email": "erin@example.com"}]
    people += [{"id": f"u-ev{i}", "name": f"Eval <{i}>", "email": f"ev{i}@example.com"}
               for i in range(1, n_evaluators + 1)]
    return people


def month_frames(team: str = "demo", month: str = "2026-10", *, n_calibrations: int = 3,
                 n_evaluators: int = 3, seed: int = 0, statuses: dict | None = None,
                 prefix: str = "") -> tuple[pd.DataFrame, pd.DataFrame]:
    """``scores`` and ``answers`` of a month: each calibration scored by the expert and
    ``n_evaluators`` evaluators. ``statuses`` maps (calibration index, evaluator id) to a
    status other than FINISHED; unfinished evaluations carry no score and no answers."""
    rng = np.random.default_rng(seed)
    statuses = statuses or {}
    score_rows, answer_rows = [], []
    evaluators = ["u-expert"] + [f"u-ev{i}" for i in range(1, n_evaluators + 1)]
    for c in range(n_calibrations):
        cid = f"{prefix}{team}-{month}-cal{c}"
        for evaluator in evaluators:
            status = statuses.get((c, evaluator), "FINISHED")
            eid = f"{cid}-{evaluator}"
            finished = status == "FINISHED"
            picks = [int(rng.integers(0, 2)), 1, int(rng.integers(1, 6))]
            greet_na = bool(rng.random() < 0.2)
            score = round(float(rng.uniform(55, 100)), 3) if finished else np.nan
            score_rows.append({
                "team": team, "month": month, "session_id": f"{team}/{month}",
                "calibration_id": cid, "conversation_id": f"conv-{cid}",
                "agent_id": f"agent-{c % 2}", "calibrator_id": "u-cal",
                "evaluation_id": eid, "evaluator_id": evaluator,
                "evaluator_name": "Erin Expert" if evaluator == "u-expert" else None,
                "role": "expert" if evaluator == "u-expert" else "evaluator",
                "status": status, "total_score": score,
                "critical_score": 100.0 if finished else np.nan, "any_failed_kill": False,
                "submitted_at": (pd.Timestamp(f"{month}-15T10:00:00Z")
                                 + pd.Timedelta(minutes=len(score_rows))) if finished else pd.NaT,
                "form_id": FORM_ID, "form_context_id": FORM_CONTEXT})
            if not finished:
                continue
            for (gid, gname, qid, qtext, qmax), pick in zip(QUESTIONS, picks):
                na = qid == "q-greet" and greet_na
                if qid == "q-scale":
                    answer, text = f"q-scale-{pick}", str(pick)
                else:
                    answer = f"{qid}-{'yes' if pick else 'no'}"
                    text = "Yes" if pick else "No"
                answer_rows.append({
                    "team": team, "month": month, "session_id": f"{team}/{month}",
                    "calibration_id": cid, "conversation_id": f"conv-{cid}",
                    "evaluation_id": eid, "evaluator_id": evaluator,
                    "role": "expert" if evaluator == "u-expert" else "evaluator",
                    "form_id": FORM_ID, "question_group_id": gid, "question_group_name": gname,
                    "question_id": qid, "question_text": qtext,
                    "answer_id": None if na else answer, "answer_text": None if na else text,
                    "points": np.nan if na else float(pick), "max_points": qmax,
                    "marked_na": na, "comment": "ok" if pick else None})
    return scores_frame(score_rows), answers_frame(answer_rows)

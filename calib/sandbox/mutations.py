"""Every change to an org after :func:`~calib.sandbox.generate_org`, each recorded in a journal.

The org is deterministic from its seed, so its state after generation is the seed plus the
ordered list of changes made to it: calibrations created, changed and deleted through the API,
AI scoring settings changed, and clock moves. Each method below validates first, then changes the org, then appends one
JSON-ready entry to ``org.journal`` (nothing is recorded for a refused change). Replaying the
entries in order on ``generate_org(seed)`` (:func:`apply_entry`) gives the same org, ids and API
responses byte for byte: this is how :mod:`calib.sandbox.persist` keeps a demo org across
processes.

Each method runs inside ``org.changing()``: the org's lock, and for a persisted org the state
file's transaction (catch up with other processes first, save after).
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Iterable, Iterator, Sequence, TYPE_CHECKING

from calib.scoring import score_evaluation

from . import ai
from .ai_settings import check_enabled, settings_json
from .ids import iso, make_id

if TYPE_CHECKING:  # pragma: no cover
    from .org import Calibration, Evaluation, Org

__all__ = ["Mutations", "apply_entry", "UNCHANGED", "JournalError"]


class _Unchanged:
    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Any = _Unchanged()  # "leave this field as it is" in update_calibration


class JournalError(ValueError):
    """A journal entry that cannot be replayed on this org (another seed or calib version)."""


class Mutations:
    """The changing half of :class:`calib.sandbox.org.Org` (mixed in)."""

    journal: list[dict[str, Any]]
    persistence: Any  # calib.sandbox.persist.OrgState or None

    # ------------------------------------------------------------ plumbing
    @contextmanager
    def changing(self: "Org") -> Iterator[None]:
        """Hold the org for a change: its lock, and the state file's transaction if persisted."""
        if self.persistence is None:
            with self.lock:
                yield
        else:
            with self.persistence.transaction():
                yield

    def sync(self: "Org") -> None:
        """Catch up with changes other processes saved to this org's state (no-op in memory)."""
        if self.persistence is not None:
            self.persistence.refresh()

    # --------------------------------------------------------------- clock
    def advance_clock(self: "Org", *, days: float = 0.0, to: datetime | None = None) -> datetime:
        """Move the clock forward by ``days`` or to ``to``; it never moves backwards.

        Simulated evaluators have planned when they start and finish, so what is due by the
        new time is finished from then on.
        """
        with self.changing():
            target = to if to is not None else self._now + timedelta(days=days)
            if target < self._now:
                raise ValueError(f"The sandbox clock cannot move backwards (now {iso(self._now)}, "
                                 f"asked for {iso(target)}); pass a later time.")
            if target != self._now:
                self._now = target
                # full precision (iso() keeps milliseconds), so a replay lands on the same instant
                self.journal.append({"op": "clock", "to": target.isoformat()})
            return self._now

    # --------------------------------------------------------- calibrations
    def create_calibration(self: "Org", *, name: str, calibrator_id: str | None, agent_id: str,
                           conversation_id: str, form_id: str, expert_id: str | None,
                           evaluator_ids: Sequence[str]) -> "Calibration":
        """Create a calibration at the clock, as ``POST /api/v2/quality/calibrations`` does.

        Raises
        ------
        LookupError
            The conversation does not exist (or has not started by the clock).
        """
        with self.changing():
            conv = self.conversations.get(conversation_id)
            if conv is None:
                raise LookupError(f"Conversation {conversation_id} does not exist.")
            cal = self._new_calibration(
                name, self.team_of_calibrator(calibrator_id), calibrator_id or "", agent_id,
                conversation_id, form_id, self._now, expert_id, list(dict.fromkeys(evaluator_ids)))
            for eid in cal.evaluation_ids:
                self.plan_turnaround(self.evaluations[eid])
            self.journal.append({
                "op": "create_calibration", "id": cal.id, "name": name,
                "calibrator_id": calibrator_id, "agent_id": agent_id,
                "conversation_id": conversation_id,
                "conversation_day": conv.start.date().isoformat(), "form_id": form_id, "expert_id": expert_id, "evaluator_ids": list(evaluator_ids)})
            return cal

    def live_calibration(self: "Org", cal_id: str) -> "Calibration":
        """The calibration ``cal_id`` if it exists by the clock and is not deleted.

        Raises
        ------
        LookupError
            Otherwise.
        """
        cal = self.calibrations.get(cal_id)
        if cal is None or cal_id in self.deleted_calibrations or cal.created > self._now:
            raise LookupError(f"Calibration {cal_id}")
        return cal

    def update_calibration(self: "Org", cal_id: str, *, evaluator_ids: Any = UNCHANGED,
                           expert_id: Any = UNCHANGED,
                           scoring_index_id: Any = UNCHANGED) -> "Calibration":
        """Change a calibration's evaluators, expert or scoring index, as ``PUT`` does.

        New evaluators (and a new expert) get new PENDING evaluations created at the clock;
        removed ones keep theirs (as Genesys). Everything is checked before anything changes.

        Raises
        ------
        LookupError
            No such live calibration.
        ValueError
            ``scoring_index_id`` is not an evaluation of the calibration.
        """
        with self.changing():
            cal = self.live_calibration(cal_id)
            existing = {self.evaluations[e].evaluator_id for e in cal.evaluation_ids}
            added: list[tuple[str, str]] = []
            if evaluator_ids is not UNCHANGED:
                added += [(uid, "evaluator") for uid in dict.fromkeys(evaluator_ids)
                          if uid not in existing and uid != cal.expert_id]
            if expert_id is not UNCHANGED and expert_id and \
                    expert_id not in existing | {uid for uid, _ in added}:
                added.append((expert_id, "expert"))
            if scoring_index_id is not UNCHANGED and scoring_index_id is not None:
                will_exist = set(cal.evaluation_ids) | {
                    make_id(self.seed, "evaluation", cal.id, uid) for uid, _ in added}
                if scoring_index_id not in will_exist:
                    raise ValueError(f"scoringIndex {scoring_index_id} is not an evaluation of "
                                     f"this calibration.")
            for uid, role in added:
                ev = self._add_evaluation(cal, uid, role)
                ev.created = self._now
                ev.ai_enabled = self.ai_enabled(cal.form_id)  # the settings of now
                self.plan_turnaround(ev)
            entry: dict[str, Any] = {"op": "update_calibration", "id": cal.id}
            if evaluator_ids is not UNCHANGED:
                cal.evaluator_ids = list(dict.fromkeys(evaluator_ids))
                entry["evaluator_ids"] = list(evaluator_ids)
            if expert_id is not UNCHANGED:
                cal.expert_id = entry["expert_id"] = expert_id
            if scoring_index_id is not UNCHANGED:
                cal.scoring_index_id = entry["scoring_index_id"] = scoring_index_id
            self.journal.append(entry)
            return cal

    def delete_calibration(self: "Org", cal_id: str) -> "Calibration":
        """Delete a live calibration (it and its evaluations disappear from every listing).

        Raises
        ------
        LookupError
            No such live calibration.
        """
        with self.changing():
            cal = self.live_calibration(cal_id)
            self.deleted_calibrations.add(cal_id)
            self.journal.append({"op": "delete_calibration", "id": cal_id})
            return cal

    # ---------------------------------------------------------- evaluations
    def rescore_evaluation(self: "Org", evaluation_id: str, answers: Any, *,
                           form_id: str | None = None) -> "Evaluation":
        """Replace a finished evaluation's answers, as ``PUT
        /api/v2/quality/conversations/{cid}/evaluations/{eid}`` with new ``answers`` does.

        ``answers`` is an ``EvaluationScoringSet`` (``questionGroupScores`` with ``answerId``,
        ``markedNA`` and ``comments`` per question; ``comments`` and ``privateComments``
        overall). Scores are recomputed server-side from the form; the evaluation gets
        ``rescore: true`` and its version goes up by one. Everything is checked before anything
        changes.

        Raises
        ------
        LookupError
            No such live evaluation by the clock.
        ValueError
            The form is not the evaluation's, the evaluation is not FINISHED [emulator choice:
            simulated evaluators own unfinished ones], or the answers do not fit the form (a
            group or question not on it, an answer that is not an option of its question, N/A
            where the question does not allow it, a question left unanswered).
        """
        with self.changing():
            ev = self.evaluations.get(evaluation_id)
            if ev is None or ev.calibration_id in self.deleted_calibrations \
                    or ev.created > self._now:
                raise LookupError(f"Evaluation {evaluation_id}")
            if form_id is not None and form_id != ev.form_id:
                raise ValueError(f"The evaluation was scored on form version {ev.form_id}; its "
                                 f"form cannot be changed to {form_id}.")
            if ev.status(self._now) != "FINISHED":
                raise ValueError(f"Evaluation {evaluation_id} is {ev.status(self._now)}; only "
                                 f"a FINISHED evaluation can be rescored.")
            form = self.forms_by_id[ev.form_id]
            given = _answers_on_form(form, answers)
            result = score_evaluation(form, {"questionGroupScores": [
                {"questionGroupId": g["id"], "questionScores": [
                    {"questionId": q["id"], "answerId": given[q["id"]][0],
                     "markedNA": given[q["id"]][1], "comments": given[q["id"]][2]}
                    for q in g["questions"] if q["id"] in given]}
                for g in form["questionGroups"]]})
            self.evaluation_result(ev)  # simulate first, so nothing overwrites the new answers
            comments, private = answers.get("comments"), answers.get("privateComments")
            scoring = result.to_genesys(comments=comments or "")
            if private:
                scoring["privateComments"] = private
            ev.answers, ev.result = given, result
            ev.answers_json = ai.with_ai_answers(self, ev, scoring)
            ev.rescored_at, ev.version = self._now, ev.version + 1
            self.journal.append({
                "op": "rescore_evaluation", "id": ev.id, "form_id": ev.form_id,
                "answers": {"comments": comments, "privateComments": private,
                            "questionGroupScores": [
                                {"questionGroupId": g["id"], "questionScores": [
                                    {"questionId": qid, "answerId": given[qid][0],
                                     "markedNA": given[qid][1], "comments": given[qid][2]}
                                    for qid in (q["id"] for q in g["questions"])
                                    if qid in given]}
                                for g in form["questionGroups"]]}})
            return ev

    # ----------------------------------------------------------- AI scoring
    def set_ai_scoring(self: "Org", form_id: str, question_ids: Iterable[str]) -> frozenset[str]:
        """AI-score exactly ``question_ids`` on form version ``form_id`` from now on, as
        ``PUT /api/v2/quality/forms/evaluations/{formId}/aiscoring/settings`` does.

        Evaluations created from now on take these settings; existing ones keep theirs. The
        form version's ``aiScoring`` shows them.

        Raises
        ------
        LookupError
            No such form version.
        ValueError
            A question is not on the form, cannot be AI-scored (more than three answer options
            or not multiple choice), or more than 15 are given.
        """

        with self.changing():
            form = self.forms_by_id.get(form_id)
            if form is None:
                raise LookupError(f"Evaluation form {form_id}")
            enabled = check_enabled(form, question_ids)
            self.ai_settings[form_id].append((self._now, enabled))
            form["aiScoring"] = settings_json(form, enabled)
            self.journal.append({"op": "ai_scoring", "form_id": form_id,
                                 "enabled": sorted(enabled)})
            return enabled

    # ------------------------------------------------------------ progress
    def evaluation_progress(self: "Org", since: datetime, until: datetime) -> dict[str, Any]:
        """What simulated evaluators did between two clock times, on live calibrations.

        Returns
        -------
        dict
            ``finished`` (count finished in ``(since, until]``), ``finished_by``
            ({evaluator name: count}, most first), ``open`` (created by ``until`` and not
            finished by then).
        """
        with self.lock:
            finished_by: dict[str, int] = {}
            still_open = 0
            for cal in self.active_calibrations():
                if cal.created > until:
                    continue
                for eid in cal.evaluation_ids:
                    ev = self.evaluations[eid]
                    if ev.created > until:
                        continue
                    if ev.status(until) != "FINISHED":
                        still_open += 1
                    elif ev.finished_at > since:
                        name = self.people[ev.evaluator_id].name
                        finished_by[name] = finished_by.get(name, 0) + 1
        ranked = dict(sorted(finished_by.items(), key=lambda kv: (-kv[1], kv[0])))
        return {"finished": sum(ranked.values()), "finished_by": ranked, "open": still_open}


def apply_entry(org: "Org", entry: dict[str, Any]) -> None:
    """Replay one journal entry on ``org`` (see the module docstring).

    Raises
    ------
    JournalError
        The entry is unknown or does not fit this org (e.g. names a calibration it lacks).
    """
    op = entry.get("op") if isinstance(entry, dict) else None
    try:
        if op == "clock":
            org.advance_clock(to=datetime.fromisoformat(entry["to"]))
        elif op == "create_calibration":
            # generate the conversation's day so the lookup does not scan every day up to now
            org.conversations.day(datetime.fromisoformat(entry["conversation_day"]).date())
            cal = org.create_calibration(
                name=entry["name"], calibrator_id=entry["calibrator_id"],
                agent_id=entry["agent_id"], conversation_id=entry["conversation_id"],
                form_id=entry["form_id"], expert_id=entry["expert_id"],
                evaluator_ids=entry["evaluator_ids"])
            if cal.id != entry["id"]:
                raise JournalError(f"the calibration was replayed as {cal.id}, not {entry['id']}")
        elif op == "update_calibration":
            org.update_calibration(entry["id"], **{k: entry[k] for k in (
                "evaluator_ids", "expert_id", "scoring_index_id") if k in entry})
        elif op == "rescore_evaluation":
            org.rescore_evaluation(entry["id"], entry["answers"], form_id=entry["form_id"])
        elif op == "delete_calibration":
            org.delete_calibration(entry["id"])
        elif op == "ai_scoring":
            org.set_ai_scoring(entry["form_id"], entry["enabled"])
        else:
            raise JournalError(f"unknown change {op!r}")
    except (KeyError, LookupError, ValueError, TypeError) as exc:
        if isinstance(exc, JournalError):
            raise
        raise JournalError(f"change {op!r} does not replay ({exc})") from None


def _answers_on_form(form: dict[str, Any], answers: Any) -> dict[str, tuple]:
    """``{question id: (answer id, marked N/A, comment)}`` from an ``EvaluationScoringSet``,
    checked against the form's groups and questions (answer options and N/A are checked by the
    scoring); a ValueError names the first thing that does not fit."""
    if not isinstance(answers, dict) or not isinstance(answers.get("questionGroupScores"), list):
        raise ValueError("The evaluation needs 'answers' with a 'questionGroupScores' list.")
    groups = {g["id"]: {q["id"] for q in g["questions"]} for g in form["questionGroups"]}
    given: dict[str, tuple] = {}
    for group in answers["questionGroupScores"]:
        gid = group.get("questionGroupId") if isinstance(group, dict) else None
        if gid not in groups:
            raise ValueError(f"questionGroupId {gid!r} is not a question group of form "
                             f"{form['id']}.")
        if group.get("markedNA"):
            raise ValueError(f"Question group {gid} is marked N/A; answer or mark N/A its "
                             f"questions one by one [emulator choice].")
        for score in group.get("questionScores") or []:
            qid = score.get("questionId") if isinstance(score, dict) else None
            if qid not in groups[gid]:
                raise ValueError(f"questionId {qid!r} is not a question of group {gid} on form "
                                 f"{form['id']}.")
            if qid in given:
                raise ValueError(f"Question {qid} is answered twice.")
            answer = score.get("answerId")
            if answer is not None and not isinstance(answer, str):
                raise ValueError(f"The answerId of question {qid} must be a string.")
            comment = score.get("comments")
            given[qid] = (None if score.get("markedNA") else answer, bool(score.get("markedNA")),
                          comment if isinstance(comment, str) and comment else None)
    return given

"""A session plan: everything one calibration session needs, in a YAML file people review.

A :class:`SessionPlan` round-trips through YAML in ``parameters/sessions/`` (dates stay strings
there) and is validated against the org before anything is created: the panel, the form, the
recordings, the deadline (by the backend's clock) and the month the calibrations will belong to.
A plan file holding another plan is never overwritten unless asked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from calib.genesys import errors
from calib.genesys.month import find_users
from calib.selection import parse_instant, recording_available
from calib.selection.reducer import MEDIA_TYPES
from calib.values import ParameterError, check_month, check_team, parse_yaml, read_yaml

__all__ = ["PlanError", "PlannedConversation", "SessionPlan", "PLAN_BACKENDS", "load_yaml",
           "published_form_id", "user_ids_by_email", "plan_file_name"]

_PLAN_KEYS = ("name", "team", "month", "focus", "form_id", "calibrator_id", "expert_id",
              "panel_ids", "deadline", "conversations")
#: Optional keys: the org the plan's ids belong to (``genesys`` unless selected on the sandbox).
_OPTIONAL_KEYS = ("backend", "sandbox_seed")
PLAN_BACKENDS = ("genesys", "sandbox")


def plan_file_name(session_name: str) -> str:
    """The plan's file name: ``"demo 2026-11 general"`` → ``"demo-2026-11-general.yaml"``."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", str(session_name).strip()).strip("-.")
    if not stem:
        raise ValueError("The session name is empty; give the session a name.")
    return f"{stem}.yaml"


class PlanError(ValueError):
    """A session plan is invalid; ``problems`` lists every problem as a sentence."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        super().__init__(f"The session plan has {count} problem{'s' if count != 1 else ''}: "
                         + " ".join(self.problems))


def load_yaml(text: str) -> Any:
    """Parse YAML with calib's parameter rules (:func:`calib.values.parse_yaml`): dates stay
    strings, duplicate keys and aliases are refused."""
    return parse_yaml(text)


@dataclass(frozen=True)
class PlannedConversation:
    """One conversation of a plan; ``agent_id`` and ``reason`` come from selection.

    ``media_type`` is ``chat``, ``email`` or ``message`` for a digital interaction (its transcript
    or thread stands in for the recording); absent (None) means voice. The ``original_*``
    fields are set when the conversation was included to calibrate an existing evaluation
    (``calib select --include CONVERSATION/EVALUATION``): that evaluation and its evaluator's
    score (and name), kept as the original the panel's scores are compared with.
    """

    conversation_id: str
    agent_id: str | None = None
    reason: str | None = None
    media_type: str | None = None
    original_evaluation_id: str | None = None
    original_evaluator_id: str | None = None
    original_score: float | None = None
    original_evaluator_name: str | None = None

    @property
    def medium(self) -> str:
        """The media type, ``voice`` when the plan does not say."""
        return self.media_type or "voice"

    def to_dict(self) -> dict[str, Any]:
        """The YAML shape: only the fields that are set (voice is not written)."""
        values = {"conversation_id": self.conversation_id, "agent_id": self.agent_id,
                  "reason": self.reason,
                  "media_type": None if self.medium == "voice" else self.media_type,
                  "original_evaluation_id": self.original_evaluation_id,
                  "original_evaluator_id": self.original_evaluator_id,
                  "original_score": self.original_score,
                  "original_evaluator_name": self.original_evaluator_name}
        return {k: v for k, v in values.items() if v is not None}


@dataclass(frozen=True)
class SessionPlan:
    """Everything one calibration session needs.

    Attributes
    ----------
    name : str
        Session name; calibrations are named ``"<name> #<i>"`` and the store uses it as session id.
    team, month : str
        Team name and ``YYYY-MM``.
    focus : str
        Focus profile the conversations were selected with.
    form_id : str
        Published evaluation-form version id.
    calibrator_id, expert_id : str
        The calibrator, and the expert evaluator whose evaluation is the scoring index. The expert
        may be on the panel or named only here.
    panel_ids : tuple of str
        Evaluators (at least 2 distinct users).
    deadline : str
        ISO-8601 instant, kept as text until :meth:`deadline_at` parses it.
    conversations : tuple of PlannedConversation
    """

    name: str
    team: str
    month: str
    focus: str
    form_id: str
    calibrator_id: str
    expert_id: str
    panel_ids: tuple[str, ...]
    deadline: str
    conversations: tuple[PlannedConversation, ...] = field(default_factory=tuple)
    backend: str = "genesys"
    sandbox_seed: int = 7

    # -- construction and YAML ----------------------------------------------------------------

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> "SessionPlan":
        """Build a plan from a mapping (the YAML shape); raises :class:`PlanError` on bad shape."""
        if not isinstance(data, Mapping):
            raise PlanError([f"A session plan must be a mapping with keys {list(_PLAN_KEYS)}, "
                             f"not {type(data).__name__}."])
        problems = []
        unknown = sorted(set(data) - set(_PLAN_KEYS) - set(_OPTIONAL_KEYS))
        if unknown:
            problems.append(f"The plan has unknown key(s) {unknown}; the allowed keys are "
                            f"{list(_PLAN_KEYS)}.")
        missing = [k for k in _PLAN_KEYS if k not in data or data[k] in (None, "")]
        if missing:
            problems.append(f"The plan lacks {', '.join(missing)}; fill them in.")
        panel = data.get("panel_ids") or ()
        if isinstance(panel, str) or not isinstance(panel, Iterable):
            problems.append("panel_ids must be a list of user ids.")
            panel = ()
        convs = []
        for i, item in enumerate(data.get("conversations") or (), 1):
            if isinstance(item, str):
                convs.append(PlannedConversation(item))
            elif isinstance(item, Mapping) and item.get("conversation_id"):
                extra = sorted(set(item) - set(PlannedConversation.__dataclass_fields__))
                media = item.get("media_type")
                score = item.get("original_score")
                if extra:
                    problems.append(f"Conversation #{i} has unknown key(s) {extra}; the allowed "
                                    f"keys are {list(PlannedConversation.__dataclass_fields__)}.")
                elif media is not None and media not in MEDIA_TYPES:
                    problems.append(f"Conversation #{i} has media_type {media!r}; use one of "
                                    f"{list(MEDIA_TYPES)} (or leave it out for voice).")
                elif score is not None and (isinstance(score, bool)
                                            or not isinstance(score, (int, float))):
                    problems.append(f"Conversation #{i} has original_score {score!r}; give the "
                                    f"original evaluation's total score as a number.")
                else:
                    convs.append(PlannedConversation(
                        str(item["conversation_id"]), _text(item.get("agent_id")),
                        _text(item.get("reason")), _text(media),
                        _text(item.get("original_evaluation_id")),
                        _text(item.get("original_evaluator_id")),
                        None if score is None else float(score),
                        _text(item.get("original_evaluator_name"))))
            else:
                problems.append(f"Conversation #{i} must be an id or a mapping with conversation_id.")
        for key in ("deadline", "month"):
            if key in data and not isinstance(data[key], (str, type(None))):
                problems.append(f"{key} must be a quoted string in the YAML (for example "
                                f"'2026-11-20T17:00:00Z'), not {type(data[key]).__name__}.")
        backend = data.get("backend", "genesys")
        if backend not in PLAN_BACKENDS:
            problems.append(f"backend must be one of {', '.join(PLAN_BACKENDS)} (the org the "
                            f"plan's ids belong to), not {backend!r}.")
        seed = data.get("sandbox_seed", 7)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            problems.append(f"sandbox_seed must be a whole number such as 7, not {seed!r}.")
        for key, check in (("team", check_team), ("month", check_month)):
            if data.get(key) not in (None, ""):
                try:
                    check(data[key])
                except ParameterError as exc:
                    problems.append(str(exc))
        if problems:
            raise PlanError(problems)
        return cls(name=str(data["name"]), team=str(data["team"]), month=str(data["month"]),
                   focus=str(data["focus"]), form_id=str(data["form_id"]),
                   calibrator_id=str(data["calibrator_id"]), expert_id=str(data["expert_id"]),
                   panel_ids=tuple(str(p) for p in panel), deadline=str(data["deadline"]),
                   conversations=tuple(convs), backend=str(backend), sandbox_seed=int(seed))

    def to_dict(self) -> dict[str, Any]:
        """The YAML shape: plain strings, lists and mappings."""
        where = {"backend": self.backend, **({"sandbox_seed": self.sandbox_seed}
                                              if self.backend == "sandbox" else {})}
        return {"name": self.name, "team": self.team, "month": self.month, "focus": self.focus,
                "form_id": self.form_id, "calibrator_id": self.calibrator_id,
                "expert_id": self.expert_id, "panel_ids": list(self.panel_ids),
                "deadline": self.deadline,
                "conversations": [c.to_dict() for c in self.conversations], **where}

    def store_record(self) -> dict[str, Any]:
        """The dict :meth:`calib.store.Store.save_session` takes (adds ``conversation_ids``)."""
        record = self.to_dict()
        record["conversation_ids"] = self.conversation_ids
        return record

    def to_text(self) -> str:
        """The plan as the YAML text :meth:`to_yaml` writes."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True, width=100)

    def to_yaml(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the plan to ``path`` (parents created); returns the path.

        A file that already holds the same plan is left as it is. A file that holds another plan
        is replaced only with ``overwrite=True`` (``--force`` on the command line): a plan may
        have been reviewed, edited and committed, and its calibrations created from it.

        Raises
        ------
        PlanError
            When ``path`` holds a different plan and ``overwrite`` is False (nothing written).
        """
        path = Path(path)
        text = self.to_text()
        if path.is_file():
            old = path.read_text(encoding="utf-8")
            if old == text:
                return path
            if not overwrite:
                raise PlanError([f"{path} already holds a different plan "
                                 f"({_plan_difference(old, self)}); review it, then write this "
                                 f"one elsewhere or replace it explicitly (--force on the "
                                 f"command line, overwrite=True in Python)."])
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        return path

    @classmethod
    def from_yaml(cls, path: str | Path) -> "SessionPlan":
        """Read a plan written by :meth:`to_yaml` (or by hand); dates stay strings."""
        path = Path(path)
        if not path.is_file() and not path.is_dir():
            raise PlanError([f"The plan file {str(path)!r} does not exist; write one with "
                             f"`calib select` or SessionPlan.to_yaml()."])
        try:
            data = read_yaml(path, what="Plan file")
        except ParameterError as exc:
            raise PlanError([str(exc)]) from None
        return cls.from_mapping(data)

    @classmethod
    def from_selection(cls, candidates: pd.DataFrame, *, name: str, team: str, month: str,
                       focus: str, form_id: str, calibrator_id: str, expert_id: str,
                       panel_ids: Iterable[str], deadline: str) -> "SessionPlan":
        """A plan for the candidates of :func:`calib.selection.select_candidates` (in pick order)."""
        missing = {"conversation_id", "agent_id"} - set(candidates.columns)
        if missing:
            raise ValueError(f"The candidates lack {sorted(missing)}; pass Selection.candidates.")
        convs = tuple(PlannedConversation(
            str(r["conversation_id"]), _text(r.get("agent_id")), _text(r.get("reason")),
            None if r.get("media_type") in (None, "voice") or pd.isna(r.get("media_type"))
            else str(r["media_type"]),
            _text(_given(r.get("original_evaluation_id"))),
            _text(_given(r.get("original_evaluator_id"))),
            None if _given(r.get("original_score")) is None else float(r["original_score"]),
            _text(_given(r.get("original_evaluator_name"))))
            for r in candidates.to_dict("records"))
        return cls(name=name, team=team, month=month, focus=focus, form_id=form_id,
                   calibrator_id=calibrator_id, expert_id=expert_id,
                   panel_ids=tuple(str(p) for p in panel_ids), deadline=str(deadline),
                   conversations=convs)

    # -- derived values -----------------------------------------------------------------------

    @property
    def conversation_ids(self) -> list[str]:
        """Planned conversation ids, in plan order."""
        return [c.conversation_id for c in self.conversations]

    @property
    def evaluator_ids(self) -> list[str]:
        """Panel members other than the expert (the expert gets the scoring-index evaluation)."""
        return [p for p in dict.fromkeys(self.panel_ids) if p != self.expert_id]

    def deadline_at(self) -> datetime:
        """The deadline as an aware UTC datetime."""
        return parse_instant(self.deadline, what="deadline")

    # -- validation ---------------------------------------------------------------------------

    def validate(self, client: Any, *, now: datetime | str | None = None,
                 check_recordings: bool = True) -> None:
        """Check the plan against the org; raise :class:`PlanError` listing every problem.

        Checks: month format; panel of at least 2 distinct users without repeats; calibrator,
        expert and panel exist and are active; the form version is published; every conversation
        appears once and has a playable recording; the deadline parses and is after ``now``.

        Parameters
        ----------
        client : calib.genesys.GenesysClient
        now : datetime or str, optional
            The present (the sandbox's clock in demos); defaults to the system clock.
        check_recordings : bool
            Ask the recording-metadata API for every conversation.
        """
        problems: list[str] = []
        present = datetime.now(timezone.utc) if now is None else parse_instant(now, what="now")
        try:
            check_month(self.month)
            check_team(self.team)
        except ParameterError as exc:
            problems.append(str(exc))
        else:
            # The API files a calibration under the month it is created in; a plan whose month
            # differs would put the session in one month and its calibrations in another.
            if self.month != f"{present:%Y-%m}":
                problems.append(f"The plan's month is {self.month} but its calibrations would be "
                                f"created now, in {present:%Y-%m} (the clock says "
                                f"{present:%Y-%m-%d %H:%M} UTC), and calibrations belong to the "
                                f"month they are created in; set month: '{present:%Y-%m}'.")
        distinct = set(self.panel_ids)
        if len(distinct) < 2:
            problems.append(f"The panel has {len(distinct)} distinct evaluator(s); a calibration "
                            f"needs at least 2, so add panel members.")
        if len(distinct) != len(self.panel_ids):
            repeated = sorted({p for p in self.panel_ids if self.panel_ids.count(p) > 1})
            problems.append(f"The panel lists {', '.join(repeated)} more than once; list each "
                            f"evaluator once.")
        if not self.conversations:
            problems.append("The plan has no conversations; run selection first.")
        repeated_convs = sorted({c for c in self.conversation_ids if self.conversation_ids.count(c) > 1})
        if repeated_convs:
            problems.append(f"Conversation(s) {', '.join(repeated_convs)} appear more than once; "
                            f"each conversation gets one calibration.")
        try:
            deadline = self.deadline_at()
            if deadline <= present:
                problems.append(f"The deadline {self.deadline} is not in the future (now is "
                                f"{present:%Y-%m-%d %H:%M} UTC); set a later deadline.")
        except ValueError as exc:
            problems.append(str(exc))
        problems += self._user_problems(client)
        problems += self._form_problems(client)
        if check_recordings:
            for conv in self.conversations:
                try:
                    ok = recording_available(client.get_recording_metadata(conv.conversation_id),
                                             conv.medium)
                except errors.NotFoundError:
                    ok = False
                if not ok:
                    what = ("playable recording" if conv.medium == "voice" else
                            f"{conv.medium} transcript or thread to score (it is a "
                            f"{conv.medium})")
                    problems.append(f"Conversation {conv.conversation_id} has no {what}; remove "
                                    f"it or select again.")
        if problems:
            raise PlanError(problems)

    def _user_problems(self, client: Any) -> list[str]:
        roles: dict[str, list[str]] = {}
        for uid, role in ([(self.calibrator_id, "calibrator"), (self.expert_id, "expert")]
                          + [(p, "panel member") for p in self.panel_ids]):
            roles.setdefault(uid, [])
            if role not in roles[uid]:
                roles[uid].append(role)
        found = {u.get("id"): u for u in client.get_users(list(roles), state="any")}
        problems = []
        for uid, rs in roles.items():
            user = found.get(uid)
            what = " and ".join(rs)
            if user is None:
                problems.append(f"The {what} {uid} does not exist in the org; check the user id.")
            elif str(user.get("state", "active")).lower() != "active":
                problems.append(f"The {what} {user.get('name') or uid} ({uid}) is "
                                f"{user.get('state')}, not active; choose an active user.")
        return problems

    def _form_problems(self, client: Any) -> list[str]:
        published = list(client.iter_published_evaluation_forms())
        if any(f.get("id") == self.form_id for f in published):
            return []
        names = sorted({f"{f.get('name')} ({f.get('id')})" for f in published})
        return [f"The evaluation form {self.form_id} is not a published form version; publish it "
                f"or use one of: {', '.join(names) or 'none are published'}."]


def _plan_difference(old_text: str, plan: "SessionPlan") -> str:
    """What differs between a stored plan's text and ``plan``, in a few words."""
    try:
        old = SessionPlan.from_mapping(parse_yaml(old_text) or {})
    except (PlanError, ParameterError):
        return "it is not a valid plan"
    changed = [k for k in ("name", "team", "month", "focus", "form_id", "calibrator_id",
                           "expert_id", "deadline", "backend") if getattr(old, k) != getattr(plan, k)]
    if set(old.panel_ids) != set(plan.panel_ids):
        changed.append("panel")
    new_convs = len(set(plan.conversation_ids) - set(old.conversation_ids))
    if new_convs:
        changed.append(f"{new_convs} of {len(plan.conversations)} conversations")
    return "differs in " + ", ".join(changed) if changed else "differs only in the reasons"


def _given(value: Any) -> Any:
    """None for a missing value (None or NaN), else the value."""
    return None if value is None or (isinstance(value, float) and value != value) else value


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def user_ids_by_email(client: Any, emails: Iterable[str]) -> list[str]:
    """User ids for ``emails`` (case-insensitive), in order, by calib's one user look-up
    (:func:`calib.genesys.month.find_users`); raises naming every unknown email. Whether each
    user is active is :meth:`SessionPlan.validate`'s check, with a sentence of its own."""

    return [str(u["id"]) for u in find_users(client, list(emails))] if emails else []


def published_form_id(client: Any, name: str | None = None) -> str:
    """Id of the latest published version of the form called ``name`` (any form when None)."""
    forms = list(client.iter_published_evaluation_forms(only_latest_per_context=True))
    matching = [f for f in forms if name is None or str(f.get("name", "")).lower() == name.lower()]
    if not matching:
        names = sorted({str(f.get("name")) for f in forms})
        raise ValueError(f"No published evaluation form is called {name!r}; published forms: "
                         f"{', '.join(names) or 'none'}.")
    return str(matching[0]["id"])

"""Session plans, idempotent bulk creation of calibrations, and live status (never scores).

A :class:`SessionPlan` names everything one calibration session needs; it round-trips through
YAML in ``parameters/sessions/`` (dates stay strings there). :func:`create_session` creates one
Genesys calibration per planned conversation and is idempotent: the key is "a calibration of this
calibrator for this conversation", looked up before every POST, so a rerun creates nothing new, a
crash after k of n resumes with the n − k left, and a POST whose response was lost is found by
listing, never posted twice. With a store, a run holds the store lock of the plan's calibrator,
so two runs started together (two leads, or a restart of a run that looked stuck) cannot both
create; and after every run the plan's duplicate calibrations are reconciled
(:mod:`calib.reconcile`: the oldest kept, younger ones nobody has worked on deleted), which also
catches runs that do not share the store. :func:`session_status` reports who has finished,
without scores: the blind gate itself lives in the store (``Store.gate``/``Store.reveal``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from calib.genesys import errors
from calib.reconcile import (DUPLICATE_COLUMNS, calibrations_of, describe_duplicates,
                             reconcile_duplicates)
from calib.selection import parse_instant, recording_available
from calib.values import ParameterError, check_month, check_team, parse_yaml, read_yaml

__all__ = ["PlanError", "PlannedConversation", "SessionPlan", "CreationResult", "create_session",
           "creation_lock_name", "reconcile_duplicates", "session_status", "summarize_status",
           "calibration_body", "user_ids_by_email", "published_form_id", "load_yaml",
           "STATUS_COLUMNS", "DUPLICATE_COLUMNS"]

log = logging.getLogger("calib.sessions")

STATUS_COLUMNS = ("conversation_id", "calibration_id", "evaluator_id", "role", "status", "state",
                  "deadline")
PLANNED_COLUMNS = ("index", "name", "conversation_id", "agent_id", "calibration_id", "action")
MAX_POST_ATTEMPTS = 4
_PLAN_KEYS = ("name", "team", "month", "focus", "form_id", "calibrator_id", "expert_id",
              "panel_ids", "deadline", "conversations")
#: Optional keys: the org the plan's ids belong to (``genesys`` unless selected on the sandbox).
_OPTIONAL_KEYS = ("backend", "sandbox_seed")
PLAN_BACKENDS = ("genesys", "sandbox")


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
    """One conversation of a plan; ``agent_id`` and ``reason`` come from selection."""

    conversation_id: str
    agent_id: str | None = None
    reason: str | None = None


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
                convs.append(PlannedConversation(str(item["conversation_id"]),
                                                 _text(item.get("agent_id")), _text(item.get("reason"))))
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
                "conversations": [{k: v for k, v in (("conversation_id", c.conversation_id),
                                                     ("agent_id", c.agent_id), ("reason", c.reason))
                                   if v is not None} for c in self.conversations], **where}

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
        convs = tuple(PlannedConversation(str(r["conversation_id"]), _text(r.get("agent_id")),
                                          _text(r.get("reason")))
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
                    ok = recording_available(client.get_recording_metadata(conv.conversation_id))
                except errors.NotFoundError:
                    ok = False
                if not ok:
                    problems.append(f"Conversation {conv.conversation_id} has no playable "
                                    f"recording; remove it or select again.")
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


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def user_ids_by_email(client: Any, emails: Iterable[str]) -> list[str]:
    """User ids for ``emails`` (case-insensitive), in order; raises naming every unknown email."""
    wanted = [str(e).strip().lower() for e in emails]
    found: dict[str, str] = {}
    for user in client.iter_users():
        email = str(user.get("email") or "").lower()
        if email in wanted:
            found[email] = str(user["id"])
    unknown = [e for e in wanted if e not in found]
    if unknown:
        raise ValueError(f"No user with the email(s) {', '.join(unknown)} in the org; check the "
                         f"spelling or the user's state.")
    return [found[e] for e in wanted]


def published_form_id(client: Any, name: str | None = None) -> str:
    """Id of the latest published version of the form called ``name`` (any form when None)."""
    forms = list(client.iter_published_evaluation_forms(only_latest_per_context=True))
    matching = [f for f in forms if name is None or str(f.get("name", "")).lower() == name.lower()]
    if not matching:
        names = sorted({str(f.get("name")) for f in forms})
        raise ValueError(f"No published evaluation form is called {name!r}; published forms: "
                         f"{', '.join(names) or 'none'}.")
    return str(matching[0]["id"])


# --------------------------------------------------------------------------------- creation

@dataclass(frozen=True)
class CreationResult:
    """Outcome of :func:`create_session`.

    Attributes
    ----------
    created : int
        Calibrations created by this run (including those whose response was lost and which
        were then found by listing).
    existing : int
        Planned conversations that already had a calibration of this calibrator (left alone).
    planned : pandas.DataFrame
        One row per planned conversation: ``index, name, conversation_id, agent_id,
        calibration_id, action``; ``action`` is ``would create`` (dry run), ``created``,
        ``recovered`` (created, response lost, found by listing) or ``existing``.
        ``calibration_id`` is the calibration that stays after the reconcile.
    duplicates : pandas.DataFrame
        The younger duplicates the reconcile after the run found (columns
        :data:`calib.reconcile.DUPLICATE_COLUMNS`) and what it did with each: ``removed``,
        ``would remove`` (dry run), ``kept: evaluated`` or ``not removed``. Empty normally.
    duplicates_note : str
        Those outcomes in sentences for the person running the creation (the command prints
        it); ``""`` when there were no duplicates.
    """

    created: int
    existing: int
    planned: pd.DataFrame
    duplicates: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(DUPLICATE_COLUMNS)))
    duplicates_note: str = ""

    @property
    def removed_duplicates(self) -> tuple[str, ...]:
        """Ids of the duplicate calibrations this run deleted."""
        removed = self.duplicates[self.duplicates["action"] == "removed"]
        return tuple(removed["calibration_id"])


def calibration_body(plan: SessionPlan, index: int, conversation: PlannedConversation) -> dict[str, Any]:
    """The ``CalibrationCreate`` body for the ``index``-th (1-based) conversation of ``plan``."""
    body: dict[str, Any] = {
        "name": f"{plan.name} #{index}",
        "conversation": {"id": conversation.conversation_id},
        "evaluationForm": {"id": plan.form_id},
        "calibrator": {"id": plan.calibrator_id},
        "evaluators": [{"id": uid} for uid in plan.evaluator_ids],
        "expertEvaluator": {"id": plan.expert_id},
    }
    if conversation.agent_id:
        body["agent"] = {"id": conversation.agent_id}
    return body


def _existing(client: Any, plan: SessionPlan, conversation_id: str) -> list[dict[str, Any]]:
    """This calibrator's calibrations of this conversation, oldest first: the idempotency key."""
    return calibrations_of(client, plan, conversation_id)


def creation_lock_name(plan: SessionPlan) -> str:
    """The store lock a creation of ``plan`` holds: one per calibrator.

    Per calibrator rather than per plan because the idempotency key is "a calibration of this
    calibrator for this conversation": two plans of one calibrator that share a conversation
    would race for it just as two runs of the same plan do.
    """
    return f"create:{plan.calibrator_id}"


def _post_once(client: Any, plan: SessionPlan, body: dict[str, Any]) -> tuple[str, str]:
    """Create one calibration; returns (calibration id, action). Never posts twice for one key."""
    cid = body["conversation"]["id"]
    last: Exception | None = None
    for _attempt in range(MAX_POST_ATTEMPTS):
        try:
            return str(client.create_calibration(body)["id"]), "created"
        except (errors.TransportError, errors.ServerError, errors.RateLimitError) as exc:
            # The POST may or may not have been applied: the listing decides, and only an empty
            # listing allows another POST.
            last = exc
            log.info("create for conversation %s failed (%s); reconciling by listing", cid,
                     type(exc).__name__)
            found = _existing(client, plan, cid)
            if found:
                return str(found[0]["id"]), "recovered"
    raise errors.GenesysError(
        f"Creating the calibration for conversation {cid} failed {MAX_POST_ATTEMPTS} times and "
        f"none exists; rerun the creation later, it resumes where it stopped ({last}).")


def create_session(
    client: Any,
    plan: SessionPlan,
    *,
    dry_run: bool = True,
    store: Any = None,
    progress: bool = True,
    validate: bool = True,
    now: datetime | str | None = None,
    on_item: Callable[[int, str, str], None] | None = None,
    lock_wait: float = 0.0,
) -> CreationResult:
    """Create one calibration per planned conversation, idempotently.

    Before each POST the calibrator's calibrations of that conversation are listed; a
    conversation that has one is skipped (``existing``). A POST that fails without a clear answer
    (response lost, 5xx, transport error, 429 past the client's retries) is reconciled by listing
    again and repeated only if nothing is there. Rate limits are honoured by the client
    (``Retry-After``). Calibrations are named ``"<plan name> #<i>"``.

    With a store (and not a dry run) the whole run holds the store lock
    :func:`creation_lock_name` (the calibrator's), so a second run started at the same time
    stops with :class:`calib.store.LockBusy` naming the first, before it touches the org.
    After the run, dry or not, the plan's duplicates are reconciled
    (:func:`calib.reconcile.reconcile_duplicates`): runs that do not share the store, or a
    lost POST that committed late, can still have made two calibrations of one conversation.

    Parameters
    ----------
    client : calib.genesys.GenesysClient
    plan : SessionPlan
    dry_run : bool
        Default True: list what exists and show what would be created, create nothing.
    store : calib.store.Store, optional
        When given (and not a dry run), the run holds the calibrator's store lock and the plan
        is recorded with ``store.save_session``.
    progress : bool
        Show a tqdm.auto progress bar (notebook widget or terminal).
    validate : bool
        Run :meth:`SessionPlan.validate` first (recordings included).
    now : datetime or str, optional
        The present for the deadline check (the sandbox clock in demos).
    on_item : callable, optional
        Called as ``on_item(index, conversation_id, action)`` after each conversation.
    lock_wait : float
        Seconds to wait for the store lock while another run holds it (default 0: stop at
        once and say who holds it).

    Returns
    -------
    CreationResult
        ``duplicates`` and ``duplicates_note`` say what the reconcile found and did.

    Raises
    ------
    PlanError
        When validation fails (nothing is created).
    calib.store.LockBusy
        When another run holds the calibrator's store lock (nothing is done).
    calib.genesys.errors.GenesysError
        When the API keeps failing; a rerun resumes with the conversations left.
    """
    if not isinstance(plan, SessionPlan):
        raise ValueError(f"plan must be a SessionPlan (SessionPlan.from_yaml(path)), not "
                         f"{type(plan).__name__}.")
    if store is not None and not dry_run:
        lock = store.lock(creation_lock_name(plan), wait=lock_wait,
                          purpose=f"creating the calibrations of session plan {plan.name!r} "
                                  f"(team {plan.team}, {plan.month})")
    else:
        lock = nullcontext()
    with lock:
        if validate:
            plan.validate(client, now=now)
        if store is not None and not dry_run:
            store.save_session(plan.store_record())
        planned, created, existing = _create_each(client, plan, dry_run=dry_run,
                                                  progress=progress, on_item=on_item)
        duplicates = reconcile_duplicates(client, plan, dry_run=dry_run)
    # A row whose calibration is gone (this reconcile removed it as a younger duplicate, or
    # another run's did) points at the one that stays.
    survivors, live = duplicates.attrs["survivors"], duplicates.attrs["live"]
    planned["calibration_id"] = [
        survivors.get(conv, cal) if cal is not None and cal not in live else cal
        for conv, cal in zip(planned["conversation_id"], planned["calibration_id"])]
    note = describe_duplicates(duplicates)
    if note:
        log.warning("%s", note)
    return CreationResult(created=created, existing=existing, planned=planned,
                          duplicates=duplicates, duplicates_note=note)


def _create_each(client: Any, plan: SessionPlan, *, dry_run: bool, progress: bool,
                 on_item: Callable[[int, str, str], None] | None
                 ) -> tuple[pd.DataFrame, int, int]:
    """The creation loop: (planned rows, created, existing)."""
    from tqdm.auto import tqdm

    rows = []
    created = existing = 0
    bar = tqdm(total=len(plan.conversations), disable=not progress, unit="calibration",
               desc=f"{'dry run: ' if dry_run else ''}{plan.name}")
    try:
        for index, conv in enumerate(plan.conversations, 1):
            body = calibration_body(plan, index, conv)
            found = _existing(client, plan, conv.conversation_id)
            if found:
                cal_id, action = str(found[0]["id"]), "existing"
                existing += 1
            elif dry_run:
                cal_id, action = None, "would create"
            else:
                cal_id, action = _post_once(client, plan, body)
                created += 1
            rows.append((index, body["name"], conv.conversation_id, conv.agent_id, cal_id, action))
            bar.update(1)
            bar.set_postfix(created=created, existing=existing, refresh=False)
            if on_item is not None:
                on_item(index, conv.conversation_id, action)
    finally:
        bar.close()
    return pd.DataFrame(rows, columns=list(PLANNED_COLUMNS)), created, existing


# --------------------------------------------------------------------------------- status

def _state(status: str, overdue: bool) -> str:
    if status == "FINISHED":
        return "finished"
    if status == "RETRACTED":
        return "retracted"
    if overdue:
        return "overdue"
    return "in progress" if status in ("INPROGRESS", "INREVIEW") else "pending"


def session_status(client: Any, plan: SessionPlan, *, now: datetime | str | None = None) -> pd.DataFrame:
    """Live status per calibration and evaluator, read from the API; never any score.

    Parameters
    ----------
    client : calib.genesys.GenesysClient
    plan : SessionPlan
    now : datetime or str, optional
        The present, for ``overdue`` (the sandbox clock in demos); defaults to the system clock.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`STATUS_COLUMNS`: ``state`` is ``pending``, ``in progress``, ``finished``,
        ``overdue`` (not finished after the deadline), ``retracted``, or ``not created`` (a
        planned conversation without a calibration: one row with no evaluator). Only ids,
        statuses and states are copied from the API answer, so scores cannot leak through it.
    """
    present = datetime.now(timezone.utc) if now is None else parse_instant(now, what="now")
    deadline = plan.deadline_at()
    overdue = present > deadline
    rows = []
    for conv in plan.conversations:
        found = _existing(client, plan, conv.conversation_id)
        if not found:
            rows.append((conv.conversation_id, None, None, None, None, "not created", deadline))
            continue
        cal = found[0]
        evaluations = cal.get("evaluations") or []
        assigned = {(e.get("evaluator") or {}).get("id"): str(e.get("status") or "PENDING").upper()
                    for e in evaluations}
        # Evaluators assigned on the calibration but without an evaluation object yet are pending.
        for user in [*(cal.get("evaluators") or []), cal.get("expertEvaluator") or {}]:
            if user.get("id") and user["id"] not in assigned:
                assigned[user["id"]] = "PENDING"
        expert = (cal.get("expertEvaluator") or {}).get("id") or plan.expert_id
        for evaluator_id, status in assigned.items():
            if evaluator_id is None:
                continue
            role = "expert" if evaluator_id == expert else "evaluator"
            rows.append((conv.conversation_id, str(cal["id"]), evaluator_id, role, status,
                         _state(status, overdue), deadline))
    frame = pd.DataFrame(rows, columns=list(STATUS_COLUMNS))
    frame["deadline"] = pd.to_datetime(frame["deadline"], utc=True)
    return frame


def summarize_status(status: pd.DataFrame) -> pd.DataFrame:
    """Count states per evaluator: one row per evaluator, one column per state, plus ``total``.

    Parameters
    ----------
    status : pandas.DataFrame
        The output of :func:`session_status`.
    """
    states = ["pending", "in progress", "overdue", "finished", "retracted"]
    assigned = status[status["evaluator_id"].notna()]
    table = (assigned.groupby(["evaluator_id", "role"])["state"].value_counts()
             .unstack(fill_value=0).reindex(columns=states, fill_value=0))
    table["total"] = table.sum(axis=1)
    return table.reset_index()

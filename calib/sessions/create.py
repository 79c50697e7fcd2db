"""Creating a plan's calibrations, idempotently, one run at a time.

:func:`create_session` creates one Genesys calibration per planned conversation. The key is "a
calibration of this calibrator for this conversation", looked up before every POST, so a rerun
creates nothing new, a crash after k of n resumes with the n − k left, and a POST whose response
was lost is found by listing, never posted twice. With a store, a run holds the store lock of the
plan's calibrator, so two runs started together (two leads, or a restart of a run that looked
stuck) cannot both create; and after every run the plan's duplicate calibrations are reconciled
(:mod:`calib.sessions.reconcile`), which also catches runs that do not share the store.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from calib.genesys import errors
from calib.sessions.plan import PlannedConversation, SessionPlan
from calib.sessions.reconcile import (DUPLICATE_COLUMNS, calibrations_of, describe_duplicates,
                                      reconcile_duplicates)

__all__ = ["CreationResult", "create_session", "creation_lock_name", "calibration_body",
           "PLANNED_COLUMNS", "MAX_POST_ATTEMPTS"]

log = logging.getLogger("calib.sessions")

PLANNED_COLUMNS = ("index", "name", "conversation_id", "agent_id", "calibration_id", "action")
MAX_POST_ATTEMPTS = 4


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
        :data:`calib.sessions.reconcile.DUPLICATE_COLUMNS`) and what it did with each: ``removed``,
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
    (:func:`calib.sessions.reconcile.reconcile_duplicates`): runs that do not share the store, or a
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

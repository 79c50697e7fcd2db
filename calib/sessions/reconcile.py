"""Finding and removing duplicate calibrations of a session plan, after a creation run.

The store lock keeps two ``calib create`` runs sharing a store apart, but not runs that do not
share one (two stores, no store, another tool, a second org user), and a POST whose answer was
lost can commit late. So after every run :func:`reconcile_duplicates` lists the calibrator's
calibrations of each planned conversation and, where the plan has more than one (same
calibrator, same conversation, named ``"<plan name> #<i>"``), keeps the oldest and deletes the
younger ones: the Quality API's ``DELETE /api/v2/quality/calibrations/{id}?calibratorId=…``.

Rules, each for a reason:

- **The survivor is the oldest**, by ``createdDate`` with ties broken by id. Every run that
  reconciles at the same time then picks the same survivor, so two reconciles can never delete
  each other's copy and leave the conversation with none.
- **Only this plan's calibrations are touched**: one with another name (made by hand, or by
  another plan) is never deleted.
- **Work is never thrown away**: a duplicate an evaluator has started, finished or has in review
  is left in place and reported, for a person to resolve in Genesys Cloud.
- The state is read again right before each delete, so the check is not a stale listing's.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import pandas as pd

from calib.genesys import errors
from calib.genesys.month import ref
from calib.selection import parse_instant

if TYPE_CHECKING:
    from calib.sessions.plan import SessionPlan

__all__ = ["DUPLICATE_COLUMNS", "calibrations_of", "reconcile_duplicates", "describe_duplicates"]

log = logging.getLogger("calib.sessions")

DUPLICATE_COLUMNS = ("conversation_id", "calibration_id", "name", "created",
                     "kept_calibration_id", "action", "detail")
# Evaluation statuses that mean someone has put work into a calibration.
_WORKED_ON = frozenset({"INPROGRESS", "INREVIEW", "FINISHED"})
_UNKNOWN_TIME = datetime.max.replace(tzinfo=timezone.utc)


def _created(cal: dict[str, Any]) -> datetime:
    try:
        return parse_instant(cal.get("createdDate"), what="createdDate")
    except (TypeError, ValueError):
        return _UNKNOWN_TIME  # a calibration without a readable date is never the survivor


def _age_key(cal: dict[str, Any]) -> tuple[datetime, str]:
    return _created(cal), str(cal.get("id"))


def calibrations_of(client: Any, plan: "SessionPlan", conversation_id: str) -> list[dict[str, Any]]:
    """The plan calibrator's calibrations of ``conversation_id``, oldest first.

    This is creation's idempotency key (any calibration of this calibrator for this
    conversation, whatever its name), so the first one is the survivor the reconcile keeps.
    """
    found = []
    for cal in client.iter_calibrations(plan.calibrator_id, conversation_id=conversation_id):
        conv = ref(cal.get("conversation"))
        calibrator = ref(cal.get("calibrator"))
        if conv in (None, conversation_id) and calibrator in (None, plan.calibrator_id):
            found.append(cal)
    return sorted(found, key=_age_key)


def _is_plans(plan: "SessionPlan", cal: dict[str, Any]) -> bool:
    # The names calib.sessions.calibration_body gives: "<plan name> #<index>".
    return re.fullmatch(re.escape(plan.name) + r" #\d+", str(cal.get("name") or "")) is not None


def reconcile_duplicates(client: Any, plan: "SessionPlan", *, dry_run: bool = False
                         ) -> pd.DataFrame:
    """Remove the younger duplicate calibrations of ``plan``; keep the oldest of each.

    Parameters
    ----------
    client : calib.genesys.GenesysClient
    plan : calib.sessions.SessionPlan
    dry_run : bool
        List what would be removed and remove nothing.

    Returns
    -------
    pandas.DataFrame
        One row per younger duplicate found, columns :data:`DUPLICATE_COLUMNS`; ``action`` is
        ``removed``, ``would remove`` (dry run), ``kept: evaluated`` (an evaluator has started
        or finished it, so it is left for a person) or ``not removed`` (the delete failed;
        ``detail`` says why, a rerun tries again). ``attrs["survivors"]`` maps each planned
        conversation that has a calibration to the one that stays: the plan's oldest, or the
        oldest of any name when the plan has none there; ``attrs["live"]`` holds the ids of
        every calibration of the plan's conversations still there afterwards.
    """
    rows = []
    survivors: dict[str, str] = {}
    live: set[str] = set()
    for conv_id in plan.conversation_ids:
        found = calibrations_of(client, plan, conv_id)
        live.update(str(c["id"]) for c in found)
        mine = [c for c in found if _is_plans(plan, c)]
        if found:
            survivors[conv_id] = str((mine or found)[0]["id"])
        if len(mine) < 2:
            continue
        kept = str(mine[0]["id"])
        for dup in mine[1:]:
            outcome = _resolve(client, plan, str(dup["id"]), dry_run)
            if outcome is None or outcome[0] == "removed":
                live.discard(str(dup["id"]))
            if outcome is None:  # already gone: another reconcile removed it
                continue
            action, detail = outcome
            rows.append((conv_id, str(dup["id"]), dup.get("name"), dup.get("createdDate"),
                         kept, action, detail))
    frame = pd.DataFrame(rows, columns=list(DUPLICATE_COLUMNS))
    frame["created"] = pd.to_datetime(frame["created"], utc=True, format="ISO8601")
    frame.attrs["survivors"] = survivors
    frame.attrs["live"] = live
    return frame


def _resolve(client: Any, plan: "SessionPlan", cal_id: str, dry_run: bool
             ) -> tuple[str, str | None] | None:
    """What happens to one younger duplicate; None when it no longer exists."""
    try:
        fresh = client.get_calibration(cal_id, calibrator_id=plan.calibrator_id)
    except errors.NotFoundError:
        return None
    except errors.GenesysError as exc:
        return "not removed", f"reading it failed: {exc}"
    worked = sorted({str(e.get("status") or "").upper() for e in fresh.get("evaluations") or []}
                    & _WORKED_ON)
    if worked:
        return "kept: evaluated", f"evaluation status {', '.join(worked)}"
    if dry_run:
        return "would remove", None
    try:
        client.delete_calibration(cal_id, plan.calibrator_id)
    except errors.NotFoundError:
        return None
    except errors.GenesysError as exc:
        return "not removed", str(exc)
    log.info("removed duplicate calibration %s of conversation %s", cal_id,
             ref(fresh.get("conversation")))
    return "removed", None


def describe_duplicates(duplicates: pd.DataFrame) -> str:
    """Sentences for a person about what the reconcile did; ``""`` when there was nothing."""
    sentences = []

    def items(rows: pd.DataFrame, how: str) -> str:
        return "; ".join(f"{r.name!r} {r.calibration_id} ({how} {r.kept_calibration_id}, the "
                         f"oldest, of conversation {r.conversation_id})"
                         for r in rows.itertuples())

    def count(rows: pd.DataFrame) -> str:
        return f"{len(rows)} duplicate calibration{'s' if len(rows) != 1 else ''}"

    by_action = {a: duplicates[duplicates["action"] == a] for a in
                 ("removed", "would remove", "kept: evaluated", "not removed")}
    if len(by_action["removed"]):
        rows = by_action["removed"]
        sentences.append(f"Removed {count(rows)} that another run had created for the same "
                         f"conversation: {items(rows, 'kept')}.")
    if len(by_action["would remove"]):
        rows = by_action["would remove"]
        sentences.append(f"Found {count(rows)} that a run with creation enabled would remove: "
                         f"{items(rows, 'keeping')}.")
    if len(by_action["kept: evaluated"]):
        rows = by_action["kept: evaluated"]
        one = len(rows) == 1
        sentences.append(f"Left {count(rows)} in place because an evaluator has already "
                         f"started or finished {'it' if one else 'them'}: "
                         f"{items(rows, 'beside')}; retract or delete "
                         f"{'it' if one else 'them'} in Genesys Cloud if "
                         f"{'it' if one else 'they'} should go.")
    if len(by_action["not removed"]):
        rows = by_action["not removed"]
        details = "; ".join(f"{r.calibration_id}: {r.detail}" for r in rows.itertuples())
        sentences.append(f"Could not remove {count(rows)} ({details}); run the creation again "
                         f"to retry.")
    return " ".join(sentences)

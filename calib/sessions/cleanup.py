"""Old calibrations removed from the org after the retention a team sets (``calib cleanup``).

Calibrations pile up in Genesys Cloud: every session leaves one per conversation on each
evaluator's list. :func:`cleanup_calibrations` lists a team's calibrations created before the
retention cut-off (one listing per calibrator, ``endTime`` = the cut-off) and, only when asked,
deletes them (``DELETE /api/v2/quality/calibrations/{id}?calibratorId=…``). The listing always
comes first; a dry run is the default. The store keeps their scores: the retention must cover the
months the report syncs (``history_months``), so no later sync finds them gone and drops them
from the history.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

import pandas as pd

from calib.genesys import errors
from calib.values import ParameterError

__all__ = ["CLEANUP_COLUMNS", "CleanupResult", "retention_cutoff", "cleanup_calibrations"]

CLEANUP_COLUMNS = ("calibration_id", "name", "calibrator_id", "conversation_id", "created",
                   "finished", "evaluations", "action")


@dataclass(frozen=True)
class CleanupResult:
    """What :func:`cleanup_calibrations` listed and did.

    Attributes
    ----------
    cutoff : datetime
        Calibrations created before this instant are past the retention.
    listed : pandas.DataFrame
        One row per old calibration (columns :data:`CLEANUP_COLUMNS`), oldest first; ``action``
        is ``would delete`` (dry run), ``deleted`` or ``already gone``.
    deleted : int
        Calibrations this run deleted.
    """

    cutoff: datetime
    listed: pd.DataFrame
    deleted: int


def retention_cutoff(now: datetime, keep_months: int) -> datetime:
    """The first instant kept: the start of the month ``keep_months - 1`` months before ``now``'s
    (``keep_months=3`` on 2026-11-09 keeps September, October and November: cut-off 2026-09-01)."""
    if isinstance(keep_months, bool) or not isinstance(keep_months, int) or keep_months < 1:
        raise ParameterError(f"The retention must be a whole number of months, at least 1 (the "
                             f"current month), not {keep_months!r}.")
    period = pd.Period(now.astimezone(timezone.utc).replace(tzinfo=None), freq="M")
    first = (period - (keep_months - 1)).start_time
    return first.to_pydatetime().replace(tzinfo=timezone.utc)


def cleanup_calibrations(client, calibrator_ids: Iterable[str], *, keep_months: int,
                         now: datetime, dry_run: bool = True) -> CleanupResult:
    """List, then (unless ``dry_run``) delete, the calibrations past the retention.

    Parameters
    ----------
    client : calib.genesys.GenesysClient
    calibrator_ids : iterable of str
        The team's calibrators (the API lists and deletes per calibrator).
    keep_months : int
        Months kept, the current one included (:func:`retention_cutoff`).
    now : datetime
        The present (the backend's clock).
    dry_run : bool
        Default True: list only, delete nothing.

    Returns
    -------
    CleanupResult
        A rerun after an interruption lists what is left and finishes the job.
    """
    cutoff = retention_cutoff(now, keep_months)
    rows = []
    for calibrator in dict.fromkeys(str(c) for c in calibrator_ids):
        for cal in client.iter_calibrations(calibrator, end_time=cutoff):
            created = pd.Timestamp(cal.get("createdDate"))
            if pd.isna(created) or created.to_pydatetime() >= cutoff:
                continue  # the listing's window is the API's; the cut-off is checked here
            evaluations = cal.get("evaluations") or []
            rows.append({"calibration_id": str(cal["id"]), "name": cal.get("name"),
                         "calibrator_id": calibrator,
                         "conversation_id": (cal.get("conversation") or {}).get("id"),
                         "created": created,
                         "finished": sum(1 for e in evaluations if e.get("status") == "FINISHED"),
                         "evaluations": len(evaluations),
                         "action": "would delete"})
    listed = pd.DataFrame(rows, columns=list(CLEANUP_COLUMNS)).sort_values(
        ["created", "calibration_id"], ignore_index=True)
    deleted = 0
    if not dry_run:
        for i, row in listed.iterrows():
            try:
                client.delete_calibration(row["calibration_id"], row["calibrator_id"])
                listed.at[i, "action"] = "deleted"
                deleted += 1
            except errors.NotFoundError:
                listed.at[i, "action"] = "already gone"
    return CleanupResult(cutoff=cutoff, listed=listed, deleted=deleted)

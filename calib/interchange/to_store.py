"""Import validated files into the history store, month by month, idempotently.

Every file is validated (:func:`calib.interchange.importer.read_files`) before anything is written;
all months are then upserted in one transaction with ``source="files"``. A dry run is that same
transaction rolled back, so it reports exactly what the import would do.

Answers are replaced only for a month whose files hold answer rows: a file that carries only
scores leaves the stored answers of that month alone (docs/interchange.md).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd

from calib.interchange.errors import InterchangeError, problem
from calib.interchange.importer import ImportBatch, PathLike, read_files
from calib.store.upsert import StoredElsewhere


@dataclass(frozen=True)
class Changes:
    """Rows new, changed, unchanged and removed in one stored table."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0

    def __str__(self) -> str:
        return (f"new {self.inserted}, changed {self.updated}, unchanged {self.unchanged}, "
                f"removed {self.deleted}")


@dataclass(frozen=True)
class MonthImport:
    """What an import did (or, in a dry run, would do) to one month.

    ``evaluations`` and ``answers`` count rows of those two stored tables. ``has_answers`` is
    False when the files hold no answer rows for the month: the stored answers were then kept
    (``answers.unchanged``), except those of evaluations the import removed
    (``answers.deleted``).
    """

    month: str
    n_scores: int
    n_answers: int
    evaluations: Changes = Changes()
    answers: Changes = Changes()
    has_answers: bool = True


@dataclass(frozen=True)
class ImportReport:
    """The outcome of :func:`import_into_store`."""

    team: str
    dry_run: bool
    months: tuple[MonthImport, ...]
    notes: tuple[str, ...] = ()
    files: tuple[str, ...] = field(default_factory=tuple)

    def summary(self) -> str:
        """Human-readable lines, one per month."""
        verb = "would import" if self.dry_run else "imported"
        lines = [f"{verb} for team {self.team!r} from {len(self.files)} file(s):"]
        for m in self.months:
            if m.has_answers:
                answers = f"{m.n_answers} answers ({m.answers})"
            elif not (m.answers.unchanged or m.answers.deleted):
                answers = "no answers in the files"
            else:
                kept = "would be kept" if self.dry_run else "kept"
                answers = (f"no answers in the files: {m.answers.unchanged} stored answers "
                           f"{kept}")
                if m.answers.deleted:
                    answers += (f", {m.answers.deleted} "
                                f"{'would go' if self.dry_run else 'removed'} with their "
                                f"evaluations")
            lines.append(f"  {m.month}: {m.n_scores} evaluations ({m.evaluations}); {answers}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def import_into_store(store: Any, paths: Sequence[PathLike] | PathLike, *, team: str,
                      preset: str | None = None, mapping: PathLike | None = None,
                      month: str | None = None, dry_run: bool = False) -> ImportReport:
    """Validate files, then upsert each month they hold into the history store.

    Every file is validated before anything is written, so a bad file imports nothing. All
    months are written in one transaction (``Store.import_months``): importing the same files
    twice changes nothing, a corrected file updates the rows that changed, and a file that
    carries no answers keeps the stored answers.

    Parameters
    ----------
    store : calib.store.Store
        The history store.
    paths, team, preset, mapping, month
        As in :func:`read_files`.
    dry_run : bool
        Run the import and roll it back: report exactly what would change, writing nothing.

    Returns
    -------
    ImportReport

    Raises
    ------
    InterchangeError
        When a file has a problem, or names a calibration or evaluation the store holds for the
        API sync (or for another team or month); each problem names the file and rows.
    """
    batch = read_files(paths, team=team, preset=preset, mapping=mapping, month=month)
    per_month = {}
    for m, scores, answers in iter_months(batch):
        per_month[m] = (scores, answers if len(answers) else None)
    files = [] if dry_run else [(Path(p).name, _sha256(p)) for p in batch.files]
    try:
        # All months and the file log in one transaction: a failure part-way writes nothing.
        outcomes = store.import_months(team, per_month, files=files, dry_run=dry_run)
    except StoredElsewhere as exc:
        raise _name_rows(exc, batch) from None
    if not dry_run and batch.ai_runs is not None:
        # the AI columns hang off the evaluations just written (a second transaction per
        # month: rerunning the import repairs a failure between the two)
        for m in per_month:
            store.upsert_ai(team, m, batch.ai_runs[batch.ai_runs["month"] == m],
                            batch.ai_answers[batch.ai_answers["month"] == m], source="files")
    results = [MonthImport(m, len(s), 0 if a is None else len(a),
                           _changes(outcomes[m], "evaluations"), _changes(outcomes[m], "answers"),
                           has_answers=a is not None)
               for m, (s, a) in per_month.items()]
    return ImportReport(team, dry_run, tuple(results), batch.notes, batch.files)


def _name_rows(exc: StoredElsewhere, batch: ImportBatch) -> InterchangeError:
    """The store's refusal as problems naming the files and rows that use each id."""
    problems = []
    for conflict in exc.conflicts:
        column = "calibration_id" if conflict.kind == "calibration" else "evaluation_id"
        places = batch.rows_of(column, conflict.row_id) or {"<input>": []}
        problems += [problem(file, rows, conflict.sentence(), conflict.fix())
                     for file, rows in places.items()]
    return InterchangeError(problems)


def _sha256(path: PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _changes(outcome: Any, table: str) -> Changes:
    counts = dict(getattr(outcome, "by_table", {}).get(table, {}))
    return Changes(**{k: int(counts.get(k, 0)) for k in
                      ("inserted", "updated", "unchanged", "deleted")})


def iter_months(batch: ImportBatch) -> Iterable[tuple[str, pd.DataFrame, pd.DataFrame]]:
    """Yield ``(month, scores, answers)`` of a batch, month by month."""
    for m in batch.months:
        yield (m, batch.scores[batch.scores["month"] == m].reset_index(drop=True),
               batch.answers[batch.answers["month"] == m].reset_index(drop=True))

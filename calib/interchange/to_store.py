"""Import validated files into the history store, month by month, idempotently.

Every file is validated (:func:`calib.interchange.importer.read_files`) before anything is written;
each month is then upserted in one transaction with ``source="files"``. A dry run compares with
the store instead of writing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd

from calib.interchange.importer import ImportBatch, PathLike, read_files

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

    ``evaluations`` and ``answers`` count rows of those two stored tables.
    """

    month: str
    n_scores: int
    n_answers: int
    evaluations: Changes = Changes()
    answers: Changes = Changes()


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
            lines.append(f"  {m.month}: {m.n_scores} evaluations ({m.evaluations}); "
                         f"{m.n_answers} answers ({m.answers})")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def import_into_store(store: Any, paths: Sequence[PathLike] | PathLike, *, team: str,
                      preset: str | None = None, mapping: PathLike | None = None,
                      month: str | None = None, dry_run: bool = False) -> ImportReport:
    """Validate files, then upsert each month they hold into the history store.

    Every file is validated before anything is written, so a bad file imports nothing. Each
    month is replaced as a whole, all months in one transaction (``Store.import_months``): importing the same
    files twice changes nothing, and a corrected file updates the rows that changed.

    Parameters
    ----------
    store : calib.store.Store
        The history store.
    paths, team, preset, mapping, month
        As in :func:`read_files`.
    dry_run : bool
        Compare with the store and report what would change, writing nothing.

    Returns
    -------
    ImportReport
    """
    batch = read_files(paths, team=team, preset=preset, mapping=mapping, month=month)
    digests = {} if dry_run else {p: _sha256(p) for p in batch.files}
    per_month = {m: (batch.scores[batch.scores["month"] == m].reset_index(drop=True),
                     batch.answers[batch.answers["month"] == m].reset_index(drop=True))
                 for m in batch.months}
    if dry_run:
        results = [_diff_month(store, team, m, s, a) for m, (s, a) in per_month.items()]
    else:
        # All months and the file log in one transaction: a failure part-way writes nothing.
        outcomes = store.import_months(team, per_month, files=[(Path(p).name, d)
                                                                for p, d in digests.items()])
        results = [MonthImport(m, len(s), len(a), _changes(outcomes[m], "evaluations"),
                               _changes(outcomes[m], "answers"))
                   for m, (s, a) in per_month.items()]
    return ImportReport(team, dry_run, tuple(results), batch.notes, batch.files)


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


def _compare(new: pd.DataFrame, old: pd.DataFrame, keys: list[str]) -> Changes:
    """Compare two tidy tables row by row on ``keys`` (values, not dtypes)."""
    columns = [c for c in new.columns if c in old.columns and c not in keys]
    new_idx = new.set_index(keys)
    old_idx = old.set_index(keys)
    common = new_idx.index.intersection(old_idx.index)
    same = 0
    if len(common):
        a = new_idx.loc[common, columns].astype("object")
        b = old_idx.loc[common, columns].astype("object")
        a, b = a.where(a.notna(), None), b.where(b.notna(), None)
        same = int((a.to_numpy() == b.to_numpy()).all(axis=1).sum())
    return Changes(inserted=int((~new_idx.index.isin(old_idx.index)).sum()),
                   updated=len(common) - same, unchanged=same,
                   deleted=int((~old_idx.index.isin(new_idx.index)).sum()))


def _diff_month(store: Any, team: str, month: str, scores: pd.DataFrame,
                answers: pd.DataFrame) -> MonthImport:
    """What an upsert of this month would change in the store (evaluations and answers)."""
    return MonthImport(month, len(scores), len(answers),
                       _compare(scores, store.scores(team, [month], include_sealed=True),
                                ["evaluation_id"]),
                       _compare(answers, store.answers(team, [month]),
                                ["evaluation_id", "question_id"]))


def iter_months(batch: ImportBatch) -> Iterable[tuple[str, pd.DataFrame, pd.DataFrame]]:
    """Yield ``(month, scores, answers)`` of a batch, month by month."""
    for m in batch.months:
        yield (m, batch.scores[batch.scores["month"] == m].reset_index(drop=True),
               batch.answers[batch.answers["month"] == m].reset_index(drop=True))

"""Errors of the file interchange: every problem is a sentence naming the file, the row and the fix.

Validation collects problems instead of stopping at the first one, so an analyst fixes a file in
one pass. ``InterchangeError`` subclasses ``ValueError`` so the ``calib`` command prints it as a
clean message, and callers that only know ``ValueError`` still catch it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

#: How many row numbers one problem lists before it says "and N more".
MAX_ROWS_LISTED = 8
#: How many problems an error message lists before it says "and N more problems".
MAX_PROBLEMS_LISTED = 25


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one input file.

    Parameters
    ----------
    file : str
        The file's name as the analyst gave it.
    rows : tuple of int
        Row numbers as a spreadsheet shows them (the header is row 1, so the first data row of a
        CSV file is row 2). Empty when the problem concerns the whole file.
    message : str
        What is wrong, as a sentence.
    fix : str
        How to fix it, as a sentence.
    n_rows : int
        How many rows have the problem (``rows`` may list only the first few).
    """

    file: str
    rows: tuple[int, ...]
    message: str
    fix: str
    n_rows: int = 0

    def sentence(self) -> str:
        """The problem as one line: ``file, row N: message Fix: fix``."""
        return f"{self.file}{_rows_text(self.rows, self.n_rows)}: {self.message} Fix: {self.fix}"

    def __str__(self) -> str:
        return self.sentence()


def _rows_text(rows: tuple[int, ...], n_rows: int) -> str:
    if not rows:
        return ""
    total = max(n_rows, len(rows))
    listed = ", ".join(str(r) for r in rows[:MAX_ROWS_LISTED])
    label = "row" if total == 1 else "rows"
    more = total - min(len(rows), MAX_ROWS_LISTED)
    return f", {label} {listed}" + (f" and {more} more" if more > 0 else "")


def names_text(names: Sequence[object], *, limit: int = 10, width: int = 60) -> str:
    """Names (columns, values) for a message: quoted, each cut to ``width`` characters, at most
    ``limit`` of them, so a file with a 70 KB header or 10,000 columns still gets a sentence."""
    names = list(names)
    shown = [repr(n if len(str(n)) <= width else f"{str(n)[:width]}…") for n in names[:limit]]
    more = len(names) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def problem(file: str | Path, rows: Sequence[int], message: str, fix: str) -> Problem:
    """Build a :class:`Problem`, keeping the first few row numbers and the total count."""
    rows = sorted({int(r) for r in rows})  # a wide row holds several evaluations: name it once
    return Problem(file=_name(file), rows=tuple(rows[:MAX_ROWS_LISTED]), message=message,
                   fix=fix, n_rows=len(rows))


def _name(file: str | Path) -> str:
    return Path(file).name if file else "<input>"


@dataclass
class InterchangeError(ValueError):
    """Input files could not be imported; nothing was written.

    Attributes
    ----------
    problems : list of Problem
        Every problem found, each naming its file, row(s) and fix.
    """

    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        n = len(self.problems)
        head = (f"Nothing was imported: {n} problem{'s' if n != 1 else ''} found in the input "
                f"file{'s' if len({p.file for p in self.problems}) != 1 else ''}.")
        lines = [head] + [f"- {p.sentence()}" for p in self.problems[:MAX_PROBLEMS_LISTED]]
        if n > MAX_PROBLEMS_LISTED:
            lines.append(f"- and {n - MAX_PROBLEMS_LISTED} more problems.")
        return "\n".join(lines)

    def __reduce__(self):  # keep the exception picklable (papermill and multiprocessing pickle)
        return (InterchangeError, (self.problems,))


class ProblemLog:
    """Collects problems while validating; raises them all at once."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, file: str | Path, rows: Sequence[int], message: str, fix: str) -> None:
        """Record a problem affecting ``rows`` of ``file``."""
        self.problems.append(problem(file, rows, message, fix))

    def __bool__(self) -> bool:
        return bool(self.problems)

    def raise_if_any(self) -> None:
        """Raise :class:`InterchangeError` when any problem was recorded."""
        if self.problems:
            raise InterchangeError(list(self.problems))

"""Read one input file (CSV or Parquet) into a frame of text columns, with spreadsheet row numbers.

CSV files are read by pyarrow's multi-threaded reader with every column as dictionary-encoded
text, so ids keep their leading zeros, ``N/A`` stays an answer and not a missing value, and a
million rows of repeated ids cost little memory. Excel quirks are handled here: a UTF-8 byte-order
mark is skipped, the separator (``,`` ``;`` tab or ``|``) is detected from the header line, and
the separator is returned so that the caller can accept decimal commas in ``;``-separated files.
Files that are not UTF-8 and rows with the wrong number of fields are reported with their row
number (found by re-reading the file with Python's ``csv`` module, only on that error path).
Lines may end in LF, CR-LF or a lone CR (classic Mac), and the header line is read whole
however long it is.

Spreadsheet formula guard: calib's exporter writes a text cell that a spreadsheet would run as a
formula (one starting with ``=``, ``+``, ``-``, ``@``, tab or CR) with a ``'`` in front, as the
OWASP CSV-injection guidance advises. :func:`unquote_formula` reverses that here, so export →
import gives back the exact text; a cell of another tool written the same way reads as its text.
"""

from __future__ import annotations

import codecs
import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from calib.interchange.errors import InterchangeError, names_text, problem

SEPARATORS = (",", ";", "\t", "|")
_HEAD_BYTES = 1 << 16
#: The longest header line read (a wide file with thousands of evaluator columns fits).
MAX_HEADER_BYTES = 1 << 24
_LINE_BREAK = re.compile(rb"[\r\n]")
#: First characters a spreadsheet reads as the start of a formula (OWASP CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def needs_formula_quote(text: str) -> bool:
    """True when the exporter prefixes ``text`` with ``'``: after any leading quotes it starts
    like a formula. Counting the leading quotes makes the prefix reversible for every text,
    including one that already starts with ``'=``."""
    return text.lstrip("'").startswith(FORMULA_STARTS)


def unquote_formula(text: str) -> str:
    """Reverse the exporter's formula guard: ``'=x`` → ``=x``, ``''-y`` → ``'-y``."""
    return text[1:] if text.startswith("'") and needs_formula_quote(text) else text


def map_categories(series: pd.Series, func) -> tuple[pd.Series, int]:
    """Apply ``func`` (text → text or None) to a categorical column's distinct values, merging
    categories that become equal; return the new column and how many distinct values changed."""
    if not isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype("category")
    categories = series.cat.categories
    if not len(categories):
        return series, 0
    old = [str(v) for v in categories]
    new = [func(v) for v in old]
    changed = sum(a != b for a, b in zip(old, new))
    if not changed:
        return series, 0
    new_values = pd.Index([v for v in dict.fromkeys(new) if v not in (None, "")], dtype=object)
    lookup = {v: i for i, v in enumerate(new_values)}
    remap = np.array([lookup.get(v, -1) if v not in (None, "") else -1 for v in new] + [-1])
    codes = series.cat.codes.to_numpy()
    codes = remap[np.where(codes < 0, len(new), codes)]
    return pd.Series(pd.Categorical.from_codes(codes, categories=new_values),
                     index=series.index, name=series.name), changed


@dataclass(frozen=True)
class RawTable:
    """One file as read, before any column mapping.

    Attributes
    ----------
    path : pathlib.Path
        The file.
    frame : pandas.DataFrame
        The file's columns as read (text columns are ``category``; Parquet numeric columns keep
        their type) plus ``_row``, the spreadsheet row number of each record.
    separator : str or None
        The CSV separator detected, ``None`` for Parquet.
    """

    path: Path
    frame: pd.DataFrame
    separator: str | None


def read_table(path: str | Path) -> RawTable:
    """Read a ``.csv`` (or ``.txt``/``.tsv``) or ``.parquet`` file.

    Parameters
    ----------
    path : str or pathlib.Path
        The file to read.

    Returns
    -------
    RawTable

    Raises
    ------
    InterchangeError
        When the file is missing, empty, not UTF-8, has rows with the wrong number of fields, or
        repeats a column name; each problem names the file, the row and the fix.
    """
    path = Path(path)
    if path.is_dir():
        raise InterchangeError([problem(path, [], "this is a folder, not a file.",
                                        f"Name the files inside it, for example "
                                        f"`calib import {path}/*.csv`.")])
    if path.exists() and not path.is_file():
        raise InterchangeError([problem(path, [], f"{str(path)!r} is not a regular file (a "
                                        f"device or a pipe).", "Save the scores to a file "
                                        "first and import that file.")])
    if not path.is_file():
        raise InterchangeError([problem(path, [], f"the file {str(path)!r} does not exist.",
                                        "Check the path and the current directory.")])
    if path.suffix.lower() in (".parquet", ".pq"):
        return _read_parquet(path)
    if path.suffix.lower() in (".xlsx", ".xls", ".ods"):
        raise InterchangeError([problem(path, [], "calib reads CSV and Parquet files, not "
                                        "spreadsheet workbooks.",
                                        "In your spreadsheet use File > Save as > 'CSV UTF-8 "
                                        "(comma delimited)' and import the .csv file.")])
    return _read_csv(path)


def _read_parquet(path: Path) -> RawTable:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise InterchangeError([problem(path, [], f"the file is not a readable Parquet file "
                                        f"({exc}).", "Export the file again as Parquet, or as "
                                        "CSV UTF-8.")]) from None
    columns = []
    for name, column in zip(table.column_names, table.columns):
        kind = column.type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        if pa.types.is_nested(kind) or pa.types.is_binary(kind) \
                or pa.types.is_large_binary(kind) or pa.types.is_fixed_size_binary(kind):
            holds = "lists" if pa.types.is_list(kind) or pa.types.is_large_list(kind) \
                or pa.types.is_fixed_size_list(kind) else f"values of type {kind}"
            raise InterchangeError([problem(path, [], f"the column {name!r} holds {holds} "
                                            f"(Parquet type {kind}); calib reads one value per "
                                            f"cell.", "Write one row per value (one evaluation "
                                            "or answer per row), as text or a number.")])
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            column = column.dictionary_encode()
        columns.append(column)
    frame = pa.table(columns, names=table.column_names).to_pandas()
    _check_unique_names(path, list(frame.columns))
    frame["_row"] = pd.RangeIndex(1, len(frame) + 1)
    return RawTable(path, frame, None)


def _read_csv(path: Path) -> RawTable:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    with open(path, "rb") as fh:
        head = fh.read(_HEAD_BYTES)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or _looks_utf16(head):
        raise InterchangeError([problem(path, [1], "the file is UTF-16 text (Excel's 'Unicode "
                                        "Text'), which calib does not read.",
                                        "Save it as 'CSV UTF-8 (comma delimited)'.")])
    if b"\x00" in head:
        raise InterchangeError([problem(path, [], "the file holds binary data (NUL bytes), not "
                                        "CSV text.", "Export the scores as 'CSV UTF-8 (comma "
                                        "delimited)' or Parquet.")])
    if not head.strip():
        raise InterchangeError([problem(path, [], "the file is empty.",
                                        "Export it again with a header line and data rows.")])
    header = _header_line(path, head)
    separator = max(SEPARATORS, key=lambda s: _count_outside_quotes(header, s))
    names = next(csv.reader([header], delimiter=separator))
    names = [n.strip() for n in names]
    _check_unique_names(path, [n for n in names if n])
    blank_names = [f"_blank_column_{i + 1}" for i, n in enumerate(names) if not n]
    names = [n or f"_blank_column_{i + 1}" for i, n in enumerate(names)]
    text = pa.dictionary(pa.int32(), pa.string())
    bad_rows: list[int] = []

    def on_bad_row(row) -> str:
        bad_rows.append(1)
        return "skip"

    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1,
                                           block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=separator, newlines_in_values=True,
                                             invalid_row_handler=on_bad_row),
            convert_options=pacsv.ConvertOptions(column_types={n: text for n in names},
                                                 null_values=[""], strings_can_be_null=True,
                                                 quoted_strings_can_be_null=True),
        )
    except pa.ArrowInvalid as exc:
        if "UTF8" in str(exc) or "utf8" in str(exc).lower():
            raise InterchangeError([_encoding_problem(path, separator)]) from None
        raise InterchangeError([problem(path, [], f"the file cannot be read as CSV ({exc}).",
                                        "Open it in a spreadsheet and save it again as 'CSV "
                                        "UTF-8 (comma delimited)'.")]) from None
    if bad_rows:
        raise InterchangeError([_field_count_problem(path, separator, len(names))])
    frame = table.to_pandas()
    frame.columns = names
    frame = _drop_blank_columns(path, frame, blank_names)
    for name in frame.columns:
        frame[name], _ = map_categories(frame[name], unquote_formula)
    frame["_row"] = pd.RangeIndex(2, len(frame) + 2)
    return RawTable(path, frame, separator)


def _drop_blank_columns(path: Path, frame: pd.DataFrame, blank: list[str]) -> pd.DataFrame:
    """Columns without a header name: empty ones (a spreadsheet's trailing commas) are dropped,
    ones holding values are a problem."""
    holding = [name for name in blank if frame[name].notna().any()]
    if holding:
        numbers = [int(name.rsplit("_", 1)[1]) for name in holding]
        raise InterchangeError([problem(path, [1], f"column(s) {', '.join(map(str, numbers))} "
                                        f"hold values but have no name in the header.",
                                        "Give those columns a name (or delete them).")])
    return frame.drop(columns=blank)


def _looks_utf16(head: bytes) -> bool:
    """UTF-16 without a byte-order mark: text in Latin letters has a NUL in every other byte."""
    sample = head[:4096]
    if len(sample) < 4:
        return False
    even, odd = sample[0::2], sample[1::2]
    return max(even.count(0) / len(even), odd.count(0) / len(odd)) > 0.4


def _header_line(path: Path, head: bytes) -> str:
    """The first line, read whole (it may be longer than the first block), without its end."""
    first = _first_line(head)
    if first is None:
        with open(path, "rb") as fh:
            data = fh.read(MAX_HEADER_BYTES + 1)
        first = _first_line(data)
        if first is None:
            if len(data) > MAX_HEADER_BYTES:
                raise InterchangeError([problem(path, [1], f"the header line is longer than "
                                                f"{MAX_HEADER_BYTES >> 20} MiB.",
                                                "Check that the file is a CSV file with one "
                                                "header line.")])
            first = data
    if first.startswith(codecs.BOM_UTF8):
        first = first[len(codecs.BOM_UTF8):]
    try:
        return first.decode("utf-8")
    except UnicodeDecodeError:
        raise InterchangeError([_encoding_problem(path, None)]) from None


def _first_line(data: bytes) -> bytes | None:
    """The bytes before the first line break (LF, CR-LF or a lone CR); None when there is none.

    A line break inside a quoted header name is not an end of line.
    """
    start, quotes = 0, 0
    for match in _LINE_BREAK.finditer(data):
        quotes += data.count(b'"', start, match.start())
        start = match.start()
        if quotes % 2 == 0:
            return data[:match.start()]
    return None


def _count_outside_quotes(line: str, separator: str) -> int:
    count, quoted = 0, False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            count += 1
    return count


def _check_unique_names(path: Path, names: list[str]) -> None:
    seen, repeated = set(), []
    for name in names:
        if name in seen and name not in repeated:
            repeated.append(name)
        seen.add(name)
    if repeated:
        raise InterchangeError([problem(path, [1], f"the header repeats the column name(s) "
                                        f"{names_text(repeated)}.",
                                        "Give every column a distinct name.")])


def _records(path: Path, separator: str):
    """Yield (spreadsheet row, fields) for each record; only used on error paths."""
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as fh:
        for number, fields in enumerate(csv.reader(fh, delimiter=separator), start=1):
            yield number, fields


def _encoding_problem(path: Path, separator: str | None):
    rows = []
    for number, fields in _records(path, separator or ","):
        if any(any("\udc80" <= ch <= "\udcff" for ch in f) for f in fields):
            rows.append(number)
    return problem(path, rows, "the file is not UTF-8 text (it is probably in a Windows or Mac "
                   "code page such as cp1252, which shows accented names as garbage).",
                   "In Excel use File > Save as > 'CSV UTF-8 (comma delimited)', or convert "
                   "it with `iconv -f cp1252 -t utf-8 in.csv > out.csv`.")


def _field_count_problem(path: Path, separator: str, expected: int):
    rows, counts = [], set()
    for number, fields in _records(path, separator):
        if number > 1 and fields and len(fields) != expected:
            rows.append(number)
            counts.add(len(fields))
    shown = ", ".join(str(c) for c in sorted(counts)[:3])
    hint = (" A decimal comma such as 85,5 in a comma-separated file splits one number into two "
            "fields." if separator == "," else "")
    return problem(path, rows, f"the header has {expected} columns but these rows have {shown} "
                   f"fields (separator {separator!r}).{hint}",
                   "Quote values that contain the separator, or save the file from your "
                   "spreadsheet with ';' as the separator so that decimal commas are kept.")

"""Read one input file (CSV or Parquet) into a frame of text columns, with spreadsheet row numbers.

CSV files are read by pyarrow's multi-threaded reader with every column as dictionary-encoded
text, so ids keep their leading zeros, ``N/A`` stays an answer and not a missing value, and a
million rows of repeated ids cost little memory. Excel quirks are handled here: a UTF-8 byte-order
mark is skipped, the separator (``,`` ``;`` tab or ``|``) is detected from the header line, and
the separator is returned so that the caller can accept decimal commas in ``;``-separated files.
Files that are not UTF-8 and rows with the wrong number of fields are reported with their row
number (found by re-reading the file with Python's ``csv`` module, only on that error path).
"""

from __future__ import annotations

import codecs
import csv
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from calib.interchange.errors import InterchangeError, problem

SEPARATORS = (",", ";", "\t", "|")
_HEAD_BYTES = 1 << 16


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
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InterchangeError([problem(path, [1], "the file is UTF-16 text (Excel's 'Unicode "
                                        "Text'), which calib does not read.",
                                        "Save it as 'CSV UTF-8 (comma delimited)'.")])
    if not head.strip():
        raise InterchangeError([problem(path, [], "the file is empty.",
                                        "Export it again with a header line and data rows.")])
    header = _header_line(path, head)
    separator = max(SEPARATORS, key=lambda s: _count_outside_quotes(header, s))
    names = next(csv.reader([header], delimiter=separator))
    names = [n.strip() for n in names]
    _check_unique_names(path, names)
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
    frame["_row"] = pd.RangeIndex(2, len(frame) + 2)
    return RawTable(path, frame, separator)


def _header_line(path: Path, head: bytes) -> str:
    first = head.split(b"\n", 1)[0].rstrip(b"\r")
    if first.startswith(codecs.BOM_UTF8):
        first = first[len(codecs.BOM_UTF8):]
    try:
        return first.decode("utf-8")
    except UnicodeDecodeError:
        raise InterchangeError([_encoding_problem(path, None)]) from None


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
                                        f"{', '.join(map(repr, repeated))}.",
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

"""The values every layer checks the same way: team names, months, parameter files, and paths
that must stay inside their folder.

Low in the house on purpose: it imports nothing from calib, so the store, the interchange, the
report and the command line can all use the same rule without an upward import. One rule each:

* a **team** name is 1-64 letters, digits, ``-``, ``_`` or ``.``, starting with a letter or digit.
  It names folders under ``outputs/``, so nothing that could climb out of one (``/``, ``..`` at
  the start) is a team name;
* a **month** is ``"YYYY-MM"`` between 2000-01 and 2099-12 (a calibration outside that span is a
  typo, and years before 1 or after 9999 break date arithmetic);
* an **instant** is an aware datetime, a date (its midnight) or an ISO-8601 string; calib works
  in UTC, and a time written without an offset is UTC, as in Genesys Cloud's API;
* a **parameter file** is UTF-8 YAML whose top level is a mapping, read with dates and times kept
  as strings, duplicate keys refused (YAML keeps the last one silently) and aliases refused (a
  1 KB "billion laughs" file would otherwise expand to gigabytes);
* a **path** built from a name (team, form, question) is resolved and must stay inside its folder.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import yaml

__all__ = ["pick", "parse_instant", "MONTH_PATTERN", "ParameterError", "TEAM_PATTERN", "check_team", "check_month", "month_end",
           "read_yaml", "parse_yaml", "inside", "MAX_PARAMETER_FILE_BYTES"]

TEAM_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")  # \Z: "$" lets a final newline in
MONTH_PATTERN = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])\Z")
_MONTH = MONTH_PATTERN
FIRST_YEAR, LAST_YEAR = 2000, 2099
#: Parameter files and session plans are a few KB; a file past this is not one.
MAX_PARAMETER_FILE_BYTES = 1 << 20


class ParameterError(ValueError):
    """A parameter file or value is unusable; the message says what to fix."""


def _say(source: str | None, text: str) -> str:
    """``"<source>: text"``, or the text as a sentence of its own."""
    return f"{source}: {text}" if source else text[:1].upper() + text[1:]


def check_team(team: object, *, source: str | None = None) -> str:
    """Return ``team`` when it is a valid team name, else raise :class:`ParameterError`.

    Parameters
    ----------
    team : object
        The value to check.
    source : str, optional
        Where the value came from (a file name), to start the message with.

    Examples
    --------
    >>> check_team("demo")
    'demo'
    >>> check_team("../../x")
    Traceback (most recent call last):
    ...
    calib.values.ParameterError: Team '../../x' is not a team name: use 1 to 64 letters, digits, '-', '_' or '.', starting with a letter or digit (it names a folder under outputs/), e.g. 'demo'.
    """
    if not isinstance(team, str) or not team.strip():
        raise ParameterError(_say(source, "team is empty; set it to the team's name, e.g. "
                                          "'demo'."))
    if not TEAM_PATTERN.match(team):
        raise ParameterError(_say(
            source, f"team {team!r} is not a team name: use 1 to 64 letters, digits, '-', '_' "
                    f"or '.', starting with a letter or digit (it names a folder under "
                    f"outputs/), e.g. 'demo'."))
    return team


def check_month(month: object, *, source: str | None = None) -> str:
    """Return ``month`` when it is a ``"YYYY-MM"`` string from 2000-01 to 2099-12.

    Examples
    --------
    >>> check_month("2026-10")
    '2026-10'
    >>> check_month("0000-01")
    Traceback (most recent call last):
    ...
    calib.values.ParameterError: Month '0000-01' is outside 2000-01 to 2099-12; check the year.
    """
    match = _MONTH.match(month) if isinstance(month, str) else None
    if match is None:
        raise ParameterError(_say(source, f"month must be a quoted \"YYYY-MM\" string such as "
                                          f"\"2026-10\", not {month!r}; fix it."))
    if not FIRST_YEAR <= int(match.group(1)) <= LAST_YEAR:
        raise ParameterError(_say(source, f"month {month!r} is outside {FIRST_YEAR}-01 to "
                                          f"{LAST_YEAR}-12; check the year."))
    return month


def parse_instant(value: datetime | date | str, *, what: str = "time") -> datetime:
    """An aware UTC datetime from a datetime, a date (its midnight) or an ISO-8601 string.

    The one rule for instants in calib: a value without an offset is UTC.

    Examples
    --------
    >>> parse_instant("2026-11-20T17:00:00Z").isoformat()
    '2026-11-20T17:00:00+00:00'
    >>> parse_instant("2026-11-20").isoformat()
    '2026-11-20T00:00:00+00:00'
    >>> parse_instant("2026-11-20T18:00:00+01:00").isoformat()
    '2026-11-20T17:00:00+00:00'
    """
    if isinstance(value, datetime):
        stamp = value
    elif isinstance(value, date):
        stamp = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip()
        try:
            stamp = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "Zz" and text
                                           else text)
        except ValueError:
            raise ParameterError(f"The {what} {value!r} is not a date or an ISO-8601 date-time; "
                                 f"write it as YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ.") from None
    else:
        raise ParameterError(f"The {what} must be a date, a date-time or an ISO-8601 string, "
                             f"not {type(value).__name__}.")
    return stamp.replace(tzinfo=timezone.utc) if stamp.tzinfo is None or \
        stamp.utcoffset() is None else stamp.astimezone(timezone.utc)


def month_end(month: str) -> datetime:
    """The first instant (naive UTC) after ``month``."""
    year, mon = int(month[:4]), int(month[5:])
    return datetime(year + (mon == 12), 1 if mon == 12 else mon + 1, 1)


class _ParameterLoader(yaml.SafeLoader):
    """A safe loader that keeps dates and times as strings, and refuses aliases and duplicate
    keys. YAML 1.1 would turn ``2026-10-01`` into a date and ``12:30`` into the base-60 integer
    750; calib parses those strings itself."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.constructor.ConstructorError(
                None, None, "aliases (*name) are not allowed in calib parameter files; write "
                            "the value out in full", event.start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> dict:
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} appears twice (first at line "
                                f"{seen[key].line + 1}); keep one of them", key_node.start_mark)
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


_ParameterLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers
            if tag != "tag:yaml.org,2002:timestamp"
            and not (tag == "tag:yaml.org,2002:int" and ":" in rx.pattern)
            and not (tag == "tag:yaml.org,2002:float" and ":" in rx.pattern)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
# The integer and float patterns of YAML 1.1 without their base-60 forms (``1:30``).
_ParameterLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"))
_ParameterLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*"
               r"(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."))


def parse_yaml(text: str, *, source: str = "the YAML text") -> Any:
    """Parse YAML text with calib's parameter rules (see the module); any top level.

    Raises
    ------
    ParameterError
        Naming ``source``, the line and the fix.
    """
    try:
        return yaml.load(text, Loader=_ParameterLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None)
        if isinstance(exc, yaml.constructor.ConstructorError) and problem:
            raise ParameterError(f"{source}{where}: {problem}.") from None
        raise ParameterError(f"{source} is not valid YAML{where}; fix the syntax (indentation, "
                             f"quotes, colons) there.") from None


def read_yaml(path: str | Path, *, what: str = "Parameter file") -> dict[str, Any]:
    """Read a parameter file (UTF-8 YAML, a mapping at the top) with calib's rules.

    Parameters
    ----------
    path : str or Path
        The file.
    what : str
        How to name the file in messages ("Parameter file", "Session plan" …).

    Returns
    -------
    dict
        The mapping, with keys as strings and dates still strings.

    Raises
    ------
    ParameterError
        When the file is missing, a folder, too large, not UTF-8, not valid YAML, uses aliases
        or repeats a key, or is not a mapping.
    """
    path = Path(path)
    name = str(path)
    if path.is_dir():
        raise ParameterError(f"{what} {name!r} is a folder; pass the YAML file inside it.")
    if not path.is_file():
        raise ParameterError(f"{what} {name!r} does not exist; pass the path of a YAML file "
                             f"such as parameters/demo.yaml.")
    size = path.stat().st_size
    if size > MAX_PARAMETER_FILE_BYTES:
        raise ParameterError(f"{what} {name!r} is {size:,} bytes; a parameter file is a few KB. "
                             f"Check that this is the right file.")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ParameterError(f"{what} {name!r} is not UTF-8 text (byte {exc.start} on line "
                             f"{line}); save it as UTF-8 in your editor.") from None
    data = parse_yaml(text.lstrip("\ufeff"), source=f"{what} {name!r}")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ParameterError(f"{what} {name!r} must be a mapping of 'name: value' lines, not "
                             f"a {type(data).__name__}.")
    return {str(k): v for k, v in data.items()}


def pick(kind: str, typed: str, choices: dict[str, str], hint: str) -> str:
    """The one key of ``choices`` (key → the words a person knows it by) that ``typed`` names.

    ``typed`` may be the key, the words (case-insensitive), or the unique beginning (at least 3
    characters) of either, so people can type what the agenda shows instead of an id.

    Raises
    ------
    ParameterError
        When nothing or several choices match; the message lists some of the choices.

    Examples
    --------
    >>> pick("answer", "yes", {"a1": "Yes", "a2": "No"}, "the answers are")
    'a1'
    """
    wanted = str(typed).strip().lower()
    exact = [k for k, words in choices.items() if wanted in (k.lower(), str(words).lower())]
    if len(exact) == 1:
        return exact[0]
    found = exact or [k for k, words in choices.items()
                      if len(wanted) >= 3 and (k.lower().startswith(wanted)
                                               or str(words).lower().startswith(wanted))]
    if len(found) == 1:
        return found[0]
    shown = "; ".join(f"{words!r}" for words in list(dict.fromkeys(choices.values()))[:12])
    if not found:
        raise ParameterError(f"No {kind} matches {typed!r}; {hint}: {shown}.")
    raise ParameterError(f"{typed!r} matches {len(found)} {kind}s; type more of it. {hint}: "
                         f"{shown}.")


def inside(folder: str | Path, *parts: str) -> Path:
    """``folder / parts…`` resolved, refused when it would leave ``folder``.

    Names that come from data (teams, form ids) never choose where a file lands; this is the
    last check before writing.

    Examples
    --------
    >>> inside("/tmp/out", "demo", "2026-10").as_posix()
    '/tmp/out/demo/2026-10'
    >>> inside("/tmp/out", "../../etc")
    Traceback (most recent call last):
    ...
    calib.values.ParameterError: '../../etc' would write outside /tmp/out; use a plain name without '/' or '..'.
    """
    base = Path(folder).resolve()
    target = base.joinpath(*parts).resolve()
    if target != base and base not in target.parents:
        shown = "/".join(parts)
        raise ParameterError(f"{shown!r} would write outside {base}; use a plain name without "
                             f"'/' or '..'.")
    return target

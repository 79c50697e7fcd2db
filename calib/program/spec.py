"""A team's calibration program: the file ``parameters/programs/<team>.yaml`` and its calendar.

A program fixes the cadence of a team's calibration cycles (``monthly`` for a stable team,
``biweekly`` for a new QM program, ``weekly``) from an anchor instant, and what every cycle
does: how many calls, which focus (rotating), who calibrates, who scores, how long the blind
window stays shut, when the meeting is and what the report shows. :func:`read_program` checks
the file and says in a sentence what to fix; :class:`Program` works out each cycle's dates.

Cycle ``k`` (0 for the anchor's) starts at ``anchor + k`` cadence periods; its deadline is
``deadline_days`` after the start, its meeting ``meeting_days`` after the start and its report
is due ``report_lead_days`` before the meeting. A cycle's meeting comes before the next cycle
starts, so at any instant at most one cycle is open.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Mapping

import pandas as pd
from sqlalchemy.engine import url as sa_url

from calib.context import ReportSettings
from calib.values import ParameterError, check_team, parse_instant, read_yaml

__all__ = ["Program", "Cycle", "read_program", "program_files", "CADENCES", "REVEAL_POLICIES",
           "KINDS", "PROGRAM_KEYS"]

Cadence = Literal["quarterly", "monthly", "biweekly", "weekly"]
RevealPolicy = Literal["all_finished", "deadline"]
ProgramKind = Literal["team", "quarterly_review"]
CADENCES: tuple[str, ...] = ("quarterly", "monthly", "biweekly", "weekly")
REVEAL_POLICIES: tuple[str, ...] = ("all_finished", "deadline")
KINDS: tuple[str, ...] = ("team", "quarterly_review")
#: The shortest period of each cadence in days (a month has at least 28, a quarter 89).
_SHORTEST_DAYS = {"quarterly": 89, "monthly": 28, "biweekly": 14, "weekly": 7}
#: Months per period of the calendar-month cadences.
_MONTHS = {"quarterly": 3, "monthly": 1}

# name -> (type, default); a key without a default (``...``) is required.
PROGRAM_KEYS: Mapping[str, tuple[type | tuple[type, ...], Any]] = {
    "team": (str, ...), "backend": (str, "sandbox"), "sandbox_seed": (int, 7),
    "store_url": (str, ""), "cadence": (str, ...), "anchor": (str, ...),
    "calls": (int, 6), "focus_rotation": (list, ["general"]),
    "selection_days": (int, 14), "seed": (int, 0), "form_name": (str, ""),
    "calibrator_email": (str, ...), "expert_email": (str, ""),
    "calibrator_rotation": (list, []), "rotate_calibrator_every": (int, 1),
    "kind": (str, "team"), "review_programs": (list, []), "review_threshold": ((int, float), 10.0),
    "panel_emails": (list, []), "panel_size": (int, 0), "rotate_in": (list, []),
    "deadline_days": (int, 7), "meeting_days": (int, 10), "report_lead_days": (int, 1),
    "reveal": (str, "deadline"), "report": (dict, {}), "outputs": (str, ""),
}


@dataclass(frozen=True)
class Cycle:
    """One cycle of a program, with its dates (aware UTC) and what it uses."""

    index: int
    start: datetime
    deadline: datetime
    report_due: datetime
    meeting: datetime
    next_start: datetime
    focus: str
    calibrator_email: str
    panel_emails: tuple[str, ...]
    expert_email: str = ""
    #: Why ``expert_email`` holds the role this cycle, in words ("the program file", "the
    #: rotation schedule (2 of 3)", "rotation #4 applied by ...").
    expert_source: str = "the program file"

    @property
    def label(self) -> str:
        """The cycle's name in files and messages: its start date, ``2026-11-09``."""
        return f"{self.start:%Y-%m-%d}"


@dataclass(frozen=True)
class Program:
    """A team's calibration program, checked (see ``parameters/programs/demo.yaml``)."""

    team: str
    cadence: Cadence
    anchor: datetime
    calibrator_email: str
    expert_email: str = ""
    calibrator_rotation: tuple[str, ...] = ()
    rotate_calibrator_every: int = 1
    kind: ProgramKind = "team"
    review_programs: tuple[str, ...] = ()
    review_threshold: float = 10.0
    backend: str = "sandbox"
    sandbox_seed: int = 7
    store_url: str = ""
    calls: int = 6
    focus_rotation: tuple[str, ...] = ("general",)
    selection_days: int = 14
    seed: int = 0
    form_name: str = ""
    panel_emails: tuple[str, ...] = ()
    panel_size: int = 0
    rotate_in: tuple[str, ...] = ()
    deadline_days: int = 7
    meeting_days: int = 10
    report_lead_days: int = 1
    reveal: RevealPolicy = "deadline"
    report: ReportSettings = field(default_factory=ReportSettings)
    outputs: str = ""
    source: str = "the program"

    # -- the calendar ---------------------------------------------------------------------
    def cycle_start(self, index: int) -> datetime:
        """When cycle ``index`` starts (cycle 0 at the anchor)."""
        if self.cadence in _MONTHS:
            months = _MONTHS[self.cadence] * index
            return (pd.Timestamp(self.anchor) + pd.DateOffset(months=months)).to_pydatetime()
        days = 14 if self.cadence == "biweekly" else 7
        return self.anchor + timedelta(days=days * index)

    def cycle_index(self, now: datetime) -> int | None:
        """The cycle running at ``now`` (the last one started), None before the anchor."""
        if now < self.anchor:
            return None
        if self.cadence in _MONTHS:
            index = ((now.year - self.anchor.year) * 12 + now.month - self.anchor.month) \
                // _MONTHS[self.cadence]
        else:
            index = (now - self.anchor) // timedelta(days=14 if self.cadence == "biweekly" else 7)
        while index > 0 and self.cycle_start(index) > now:
            index -= 1
        while self.cycle_start(index + 1) <= now:
            index += 1
        return int(index)

    def cycle(self, index: int) -> Cycle:
        """Cycle ``index`` with its dates, focus, calibrator and panel."""
        if index < 0:
            raise ValueError(f"A cycle index is 0 or more, not {index}.")
        start = self.cycle_start(index)
        meeting = start + timedelta(days=self.meeting_days)
        return Cycle(index=index, start=start,
                     deadline=start + timedelta(days=self.deadline_days),
                     report_due=meeting - timedelta(days=self.report_lead_days),
                     meeting=meeting, next_start=self.cycle_start(index + 1),
                     focus=self.focus_rotation[index % len(self.focus_rotation)],
                     calibrator_email=self.calibrator_email,
                     panel_emails=self.panel_for(index), **self._expert_of(index))

    def _expert_of(self, index: int) -> dict[str, str]:
        """The expert evaluator (the seed's "calibrator", the scoring index) of cycle ``index``
        by the file alone: ``calibrator_rotation`` in turn, each for ``rotate_calibrator_every``
        cycles, else ``expert_email``. An applied rotation in the store overrides it
        (:func:`calib.program.rotation.cycle_for`)."""
        if not self.calibrator_rotation:
            return {"expert_email": self.expert_email, "expert_source": "the program file"}
        turn = (index // self.rotate_calibrator_every) % len(self.calibrator_rotation)
        return {"expert_email": self.calibrator_rotation[turn],
                "expert_source": f"the rotation schedule ({turn + 1} of "
                                 f"{len(self.calibrator_rotation)}, every "
                                 f"{self.rotate_calibrator_every} cycle(s))"}

    def panel_for(self, index: int) -> tuple[str, ...]:
        """The panel of cycle ``index``: every ``panel_emails`` member, then the seats left up
        to ``panel_size`` filled from ``rotate_in`` in turn, so each of them sits in as often
        as the others. Empty on the sandbox means the team's own panel."""
        core = tuple(self.panel_emails)
        seats = max(0, self.panel_size - len(core)) if self.panel_size else 0
        if not seats or not self.rotate_in:
            return core
        pool = self.rotate_in
        return core + tuple(pool[(index * seats + i) % len(pool)] for i in range(seats))


def _has_password(url: str) -> bool:
    try:
        return bool(sa_url.make_url(url).password)
    except Exception:  # noqa: BLE001 - an unparsable URL is the store's to refuse, later
        return ":" in url.split("@")[0].split("//")[-1] and "@" in url


def _kind_name(kind: Any) -> str:
    return " or ".join(k.__name__ for k in kind) if isinstance(kind, tuple) else kind.__name__


def read_program(path: str | Path) -> Program:
    """Read and check a program file; :class:`ParameterError` names the file, the key and the
    fix."""
    path = Path(path)
    return check_program(read_yaml(path, what="Program file"), source=str(path))


def check_program(values: Mapping[str, Any], *, source: str = "the program") -> Program:
    """A :class:`Program` from a mapping (the YAML shape), every rule checked."""
    def fail(text: str) -> None:
        raise ParameterError(f"{source}: {text}")

    unknown = sorted(set(values) - set(PROGRAM_KEYS))
    if unknown:
        fail(f"unknown key(s) {unknown}; the keys are {sorted(PROGRAM_KEYS)} (see "
             f"parameters/programs/demo.yaml).")
    missing = sorted(k for k, (_, d) in PROGRAM_KEYS.items() if d is ... and k not in values)
    if missing:
        fail(f"missing key(s) {missing}; every program names its team, cadence, anchor, "
             f"calibrator_email and expert_email (or calibrator_rotation).")
    given: dict[str, Any] = {}
    for key, (kind, default) in PROGRAM_KEYS.items():
        value = values.get(key, default)
        if isinstance(value, bool) or not isinstance(value, kind):
            fail(f"{key} must be a {_kind_name(kind)}, not {type(value).__name__} "
                 f"({value!r}); quote dates and times.")
        given[key] = value
    team = check_team(given["team"], source=source)
    if given["backend"] not in ("sandbox", "genesys"):
        fail(f"backend must be 'sandbox' or 'genesys', not {given['backend']!r}.")
    if given["store_url"] and _has_password(given["store_url"]):
        fail("store_url holds a password; secrets never go in program files: leave store_url "
             "empty and put the whole URL in the CALIB_STORE_URL environment variable.")
    if given["cadence"] not in CADENCES:
        fail(f"cadence must be one of {', '.join(CADENCES)}, not {given['cadence']!r} (monthly "
             f"for a stable team, biweekly for a new QM program, quarterly for the "
             f"leadership team's review).")
    if given["kind"] not in KINDS:
        fail(f"kind must be 'team' (a team's calibration cycles) or 'quarterly_review' (the "
             f"leadership team's calibration of calibrators), not {given['kind']!r}.")
    if given["kind"] == "quarterly_review":
        if given["cadence"] != "quarterly":
            fail(f"a quarterly_review program's cadence is quarterly, not "
                 f"{given['cadence']!r}: the calibration of calibrators is quarterly.")
        if not given["review_programs"]:
            fail("review_programs is empty; a quarterly_review program lists the program "
                 "files of the teams whose calibrators it reviews, e.g. [demo.yaml, "
                 "north.yaml] (relative to this file's folder).")
        if given["calibrator_rotation"]:
            fail("calibrator_rotation is for a team's program; the quarterly review's own "
                 "expert is expert_email.")
    elif given["review_programs"]:
        fail("review_programs belongs to a program of kind quarterly_review; remove it or "
             "set kind: quarterly_review.")
    elif given["cadence"] == "quarterly":
        fail("cadence quarterly is for the leadership team's review (kind: "
             "quarterly_review); a team calibrates monthly, biweekly or weekly.")
    if not 0 < given["review_threshold"] <= 100:
        fail(f"review_threshold must be a positive number of points, at most 100, not "
             f"{given['review_threshold']!r}.")
    rotation = given["calibrator_rotation"]
    bad = [v for v in rotation + given["review_programs"]
           if not isinstance(v, str) or not v.strip()]
    if bad:
        fail(f"calibrator_rotation and review_programs list non-empty strings, not "
             f"{bad[0]!r}.")
    lowered = [e.lower() for e in rotation]
    if len(set(lowered)) != len(lowered):
        fail("calibrator_rotation lists someone twice; list each person once (the list is "
             "taken in turn).")
    if len(rotation) == 1:
        fail("calibrator_rotation lists one person; a rotation needs at least two (or use "
             "expert_email).")
    if given["rotate_calibrator_every"] < 1:
        fail(f"rotate_calibrator_every must be 1 or more cycles, not "
             f"{given['rotate_calibrator_every']}.")
    if rotation and given["expert_email"]:
        fail("expert_email and calibrator_rotation both name who holds the calibrator "
             "(expert evaluator) role; keep calibrator_rotation and remove expert_email.")
    if not rotation and not given["expert_email"]:
        fail("missing key ['expert_email']; name the expert evaluator (the scoring index), "
             "or list calibrator_rotation to rotate the role.")
    if given["reveal"] not in REVEAL_POLICIES:
        fail(f"reveal must be 'all_finished' (scores open only when every evaluator has "
             f"finished) or 'deadline' (the rest opens at the deadline, the missing listed), "
             f"not {given['reveal']!r}.")
    try:
        anchor = parse_instant(given["anchor"], what="anchor")
    except ParameterError as exc:
        fail(str(exc))
    if given["cadence"] in _MONTHS and anchor.day > 28:
        fail(f"a {given['cadence']} program's anchor must fall on day 1 to 28 so that every month has "
             f"that day, not day {anchor.day}; move the anchor.")
    if not 3 <= given["calls"] <= 50:
        fail(f"calls must be 3 to 50 calls per session, not {given['calls']}.")
    shortest = _SHORTEST_DAYS[given["cadence"]]
    if not 1 <= given["selection_days"] <= shortest:
        fail(f"selection_days must be 1 to {shortest} days of conversations before each "
             f"{given['cadence']} cycle, not {given['selection_days']}: longer windows would "
             f"overlap and offer one call to two cycles.")
    for key in ("focus_rotation", "panel_emails", "rotate_in"):
        bad = [v for v in given[key] if not isinstance(v, str) or not v.strip()]
        if bad:
            fail(f"{key} must list non-empty strings, not {bad[0]!r}.")
    if not given["focus_rotation"]:
        fail("focus_rotation must name at least one focus, e.g. [general, empathy_handling].")
    deadline, meeting, lead = (given["deadline_days"], given["meeting_days"],
                               given["report_lead_days"])
    if not 1 <= deadline < meeting:
        fail(f"deadline_days ({deadline}) must be at least 1 and before meeting_days "
             f"({meeting}): the meeting discusses what the blind window collected.")
    if meeting >= shortest:
        fail(f"meeting_days ({meeting}) must be under {shortest} days for a {given['cadence']} "
             f"cadence, so that each meeting comes before the next cycle starts.")
    if not 0 <= lead <= meeting - deadline:
        fail(f"report_lead_days ({lead}) must be 0 to {meeting - deadline}: the report is "
             f"rendered after the deadline and before the meeting.")
    panel = [e.lower() for e in given["panel_emails"]]
    if len(set(panel)) != len(panel):
        fail("panel_emails lists someone twice; list each evaluator once.")
    overlap = sorted(set(panel) & {e.lower() for e in given["rotate_in"]})
    if overlap:
        fail(f"{', '.join(overlap)} is both on panel_emails and in rotate_in; a rotating "
             f"evaluator sits in rotate_in only.")
    if given["panel_size"] < 0 or (given["panel_size"] and given["panel_size"] < 2):
        fail(f"panel_size must be 0 (everyone listed) or at least 2, not {given['panel_size']}.")
    if given["panel_size"] and given["panel_size"] > len(panel) + len(given["rotate_in"]):
        fail(f"panel_size {given['panel_size']} is more than the {len(panel)} panel member(s) "
             f"and {len(given['rotate_in'])} rotating evaluator(s) listed.")
    try:
        report = ReportSettings.from_mapping(given["report"], source=f"{source}: report")
    except ParameterError as exc:
        raise ParameterError(str(exc)) from None
    unknown_report = sorted(set(given["report"]) - {f.name for f in fields(ReportSettings)})
    if unknown_report:
        fail(f"report has unknown setting(s) {unknown_report}; the settings are "
             f"{[f.name for f in fields(ReportSettings)]}.")
    return Program(
        team=team, cadence=given["cadence"], anchor=anchor,
        calibrator_email=given["calibrator_email"], expert_email=given["expert_email"],
        calibrator_rotation=tuple(rotation),
        rotate_calibrator_every=given["rotate_calibrator_every"], kind=given["kind"],
        review_programs=tuple(given["review_programs"]),
        review_threshold=float(given["review_threshold"]),
        backend=given["backend"], sandbox_seed=given["sandbox_seed"],
        store_url=given["store_url"], calls=given["calls"],
        focus_rotation=tuple(given["focus_rotation"]), selection_days=given["selection_days"],
        seed=given["seed"], form_name=given["form_name"],
        panel_emails=tuple(given["panel_emails"]), panel_size=given["panel_size"],
        rotate_in=tuple(given["rotate_in"]), deadline_days=deadline, meeting_days=meeting,
        report_lead_days=lead, reveal=given["reveal"], report=report,
        outputs=given["outputs"], source=source)


def program_files(path: str | Path) -> list[Path]:
    """The program files a path names: the file itself, or every ``*.yaml`` of a folder."""
    path = Path(path)
    if path.is_dir():
        found = sorted(p for p in path.glob("*.yaml") if p.is_file())
        if not found:
            raise ParameterError(f"The folder {str(path)!r} holds no program file (*.yaml); "
                                 f"see parameters/programs/demo.yaml.")
        return found
    return [path]

"""The care teams: more teams, a year of history, a form version that fixes an ambiguous
question, and an evaluator whose severity moves over the year (opt in with
``generate_org(seed, care_teams=N)``).

What the program review must find, with a known answer:

* **A form version change with a known effect.** The care teams score on their own form, "Care
  Quality" (another form context of the org, the same questions as Voice Quality). Its version
  2, published three days before the seventh month of the year, rewrites the most ambiguous
  question, "Demonstrates strong product knowledge", with behavioural anchors; from then on the
  question is much less ambiguous (0.95 → 0.15) and less of a judgement call (leniency
  1.0 → 0.25), so the panel splits on it less. Nothing else changes between the versions (same
  questions, same weights). The reworded question keeps its id and contextId, as every
  unchanged question does (the sandbox's ids stand for Genesys's contextIds across versions).
  ``Truth.form_change`` records the question, the versions and the month. A side effect that
  follows from the model, and is left in: severity now shows less on the rewritten question
  and more on the other judgement calls (empathy, first-contact resolution, next steps), which
  may split the panel a little more after the change.
* **An evaluator whose severity moves.** One evaluator of ``care-01`` moves linearly over the
  year, either from 6 points off the panel to level with it (*toward*) or from level to 6 points
  off (*away*), lenient or harsh: ``Truth.moving_evaluator`` says who and which way,
  ``Truth.severity_path`` the severity each month. Every other care evaluator holds still.

Everything here is drawn from its own random streams and added after the rest of the org is
built (people, truth, history), so the demo, north, pilot and leadership teams' ids, answers
and truth are the same with or without care teams.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from . import simulate
from .forms import build_form
from .history import add_calibration, month_start
from .ids import iso, make_id, make_rng
from .panel import form_arrays
from .people import make_people

if TYPE_CHECKING:  # pragma: no cover
    from .org import Org

__all__ = ["FORM", "FORM_NAME", "FormChangeTruth", "MovingSeverity", "REWRITTEN",
           "add_care_teams", "check_count", "team_names", "year_months"]

FORM = "care"                    # the namespace of the care form's ids
FORM_NAME = "Care Quality"
MAX_TEAMS = 60
REWRITTEN = "product"            # the spec key of the question version 2 rewrites
REWRITTEN_TEXT = ("Gives steps specific to the customer's product and model, without "
                  "referring to documentation more than once")
AMBIGUITY_AFTER = 0.15
LENIENCY_AFTER = 0.25
CHANGE_AT = 6                    # version 2 is used from the year's seventh month
MOVE_POINTS = 6.0                # how far the moving evaluator's severity travels
DEFAULT_PANEL = 6
DEFAULT_CALLS = 6


@dataclass(frozen=True)
class FormChangeTruth:
    """The care form's version change: the question it rewrote and when."""

    form_context_id: str
    form_name: str
    version_before: str           # form (version) ids
    version_after: str
    published: str                # ISO date-time of version 2's publication
    first_month: str              # the first month scored on version 2
    question_id: str
    text_before: str
    text_after: str
    ambiguity_before: float
    ambiguity_after: float
    ambiguity: MappingProxyType   # {question_id: ambiguity on version 1}, every question
    teams: tuple[str, ...]


@dataclass(frozen=True)
class MovingSeverity:
    """The care evaluator whose severity moves over the year (points, positive = lenient)."""

    evaluator_id: str
    team: str
    first_month: str
    last_month: str
    severity_first: float
    severity_last: float

    @property
    def direction(self) -> Literal["toward", "away"]:
        """Toward the panel (ends nearer 0) or away from it."""
        return "toward" if abs(self.severity_last) < abs(self.severity_first) else "away"


def check_count(value: object) -> int:
    """The number of care teams asked, checked (0 to 60)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or not 0 <= int(value) <= MAX_TEAMS:
        raise ValueError(f"care_teams must be a whole number from 0 to {MAX_TEAMS}, not "
                         f"{value!r}.")
    return int(value)


def team_names(n: int) -> tuple[str, ...]:
    """``care-01`` … ``care-NN``."""
    return tuple(f"care-{i:02d}" for i in range(1, n + 1))


def year_months(org: "Org") -> tuple[str, ...]:
    """The twelve months ending with the org's last history month."""
    end = pd.Period(org.size.months[-1], "M")
    return tuple(str(end - k) for k in range(11, -1, -1))


def add_care_teams(org: "Org") -> None:
    """Add ``org.size.care_teams`` care teams (forms, people, truth, history); nothing when 0."""
    n = org.size.care_teams
    if not n:
        return
    months = year_months(org)
    before, after = _add_forms(org, months)
    teams = team_names(n)
    _add_people(org, teams)
    _add_truth(org, teams, months, before, after)
    rng = make_rng(org.seed, "history", FORM)
    for team in teams:
        per_month = int(org.size.calls_per_month.get(team, DEFAULT_CALLS))
        for i, month in enumerate(months):
            form = before if i < CHANGE_AT else after
            start = month_start(month)
            agents = rng.choice(len(org.agents) - 1, size=per_month,
                                replace=per_month > len(org.agents) - 1)
            for c in range(per_month):
                created = start + timedelta(days=int(rng.integers(2, 26)),
                                            hours=int(rng.integers(8, 17)))
                conv_start = created - timedelta(days=float(rng.uniform(1, 4)))
                add_calibration(org, team, f"{team} {month} #{c + 1}",
                                org.agents[int(agents[c])], conv_start, created, rng,
                                finish_all=True, form=form)


def _add_forms(org: "Org", months: tuple[str, ...]) -> tuple[dict, dict]:
    first = month_start(months[0]) - timedelta(days=11)
    published = month_start(months[CHANGE_AT]) - timedelta(days=3)
    # same questions and weights on both versions: only the rewritten question differs
    v1 = build_form(org.seed, 1, org.specs, published=True, modified=iso(first + timedelta(
        hours=10)), form=FORM, name=FORM_NAME, all_questions=True, weight_version=2)
    v2 = build_form(org.seed, 2, org.specs, published=True, modified=iso(published + timedelta(
        hours=10)), form=FORM, name=FORM_NAME, all_questions=True, weight_version=2,
        texts={REWRITTEN: REWRITTEN_TEXT})
    qids = {s.key: make_id(org.seed, f"{FORM}-question", s.key) for s in org.specs}
    fixed = tuple(dataclasses.replace(s, ambiguity=AMBIGUITY_AFTER, leniency=LENIENCY_AFTER)
                  if s.key == REWRITTEN else s for s in org.specs)
    scale = np.array([(AMBIGUITY_AFTER / s.ambiguity) ** 2 if s.key == REWRITTEN else 1.0
                      for s in org.specs])
    for form in (v1, v2):
        org.forms.append(form)
        org.forms_by_id[form["id"]] = form
        org.qid_by_key[form["id"]] = dict(qids)
        org.options.update({q["id"]: q["answerOptions"] for g in form["questionGroups"]
                            for q in g["questions"]})
        org.form_arrays[form["id"]] = form_arrays(form, org.specs, qids)
        org.ai_settings[form["id"]] = []  # no AI scoring on the care form
    org.form_spec_arrays[v2["id"]] = simulate.spec_arrays(fixed)
    org.form_reading_scale[v2["id"]] = scale
    return v1, v2


def _add_people(org: "Org", teams: tuple[str, ...]) -> None:
    rng = make_rng(org.seed, "people", FORM)
    names = {p.name for p in org.people.values()}
    emails = {p.email for p in org.people.values()}
    for team in teams:
        lead = make_people(org.seed, rng, 1, f"calibrator-{team}", "Quality Lead", "Quality",
                           names, emails)[0]
        panel = make_people(org.seed, rng, int(org.size.n_evaluators.get(team, DEFAULT_PANEL)),
                            f"evaluator-{team}", "Quality Evaluator", "Quality", names, emails)
        for p in (lead, *panel):
            org.people[p.id] = p
        org.teams[team] = {"calibrator_email": lead.email, "calibrator_id": lead.id,
                           "panel_ids": tuple(p.id for p in panel), "expert_id": lead.id}


def _add_truth(org: "Org", teams: tuple[str, ...], months: tuple[str, ...], before: dict,
               after: dict) -> None:
    rng = make_rng(org.seed, "truth", FORM)
    old = org.truth
    severity, noise = dict(old.evaluator_severity), dict(old.evaluator_noise)
    drift, reading = dict(old.calibrator_drift), dict(old.evaluator_reading)
    amb = dict(old.question_ambiguity)  # the simulation reads by Voice Quality's ids
    future = [str(pd.Period(months[-1], "M") + k) for k in (1, 2, 3)]
    path: dict[tuple[str, str], float] = {}
    moving = None
    for t, team in enumerate(teams):
        info = org.teams[team]
        panel = info["panel_ids"]
        k = len(panel)
        spread = np.linspace(-4.0, 4.0, k) if k > 1 else np.zeros(1)
        sev = rng.permutation(spread) + rng.normal(0, 0.5, k)
        mover = int(rng.integers(k)) if t == 0 and k > 2 else -1
        if mover >= 0:  # the others are centred without the mover, who starts or ends at 0
            sev[mover] = 0.0
            others = np.arange(k) != mover
            sev[others] -= sev[others].mean()
        else:
            sev = sev - sev.mean()
        for pid, s in zip(panel, sev):
            severity[pid] = round(float(s), 3)
            noise[pid] = round(float(rng.uniform(0.4, 1.0)), 3)
        expert = info["expert_id"]
        severity[expert] = 0.0
        noise[expert] = round(float(rng.uniform(0.35, 0.7)), 3)
        for m in (*months, *future):
            drift[(expert, m)] = round(float(rng.normal(0, 0.5)), 3)
        for pid in (*panel, expert):
            raw = {q: float(rng.normal(0, 0.045)) * a * a for q, a in amb.items()}
            centre = float(np.mean(list(raw.values())))
            for q, v in raw.items():
                reading[(pid, q)] = round(v - centre, 4)
        if mover >= 0:
            toward = bool(rng.random() < 0.5)
            sign = 1.0 if rng.random() < 0.5 else -1.0
            start, end = (sign * MOVE_POINTS, 0.0) if toward else (0.0, sign * MOVE_POINTS)
            pid = panel[mover]
            for i, m in enumerate(months):
                path[(pid, m)] = round(start + (end - start) * i / (len(months) - 1), 3)
            for m in future:
                path[(pid, m)] = round(end, 3)
            moving = MovingSeverity(pid, team, months[0], months[-1], start, end)
    for (pid, m), value in path.items():
        org._severity_path.setdefault(pid, {})[m] = value
    for (cid, m), value in drift.items():
        org._drift_by_month.setdefault(cid, {})[m] = value
    ambiguity = {make_id(org.seed, f"{FORM}-question", s.key): s.ambiguity for s in org.specs}
    rewritten = next(s for s in org.specs if s.key == REWRITTEN)
    change = FormChangeTruth(
        form_context_id=before["contextId"], form_name=FORM_NAME, version_before=before["id"],
        version_after=after["id"], published=after["modifiedDate"],
        first_month=months[CHANGE_AT],
        question_id=make_id(org.seed, f"{FORM}-question", REWRITTEN), text_before=rewritten.text,
        text_after=REWRITTEN_TEXT, ambiguity_before=rewritten.ambiguity,
        ambiguity_after=AMBIGUITY_AFTER, ambiguity=MappingProxyType(ambiguity), teams=teams)
    org.truth = dataclasses.replace(
        old, evaluator_severity=MappingProxyType(severity),
        evaluator_noise=MappingProxyType(noise), calibrator_drift=MappingProxyType(drift),
        evaluator_reading=MappingProxyType(reading),
        teams=MappingProxyType({t: MappingProxyType(dict(v)) for t, v in org.teams.items()}),
        severity_path=MappingProxyType(path), moving_evaluator=moving, form_change=change)
    org._reading_cache.clear()

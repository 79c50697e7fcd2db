"""The org's people and ground truth (severities, noise, drift, readings, agent levels).

Built by :class:`calib.sandbox.org.Org` from the seed; see :class:`Truth` for what is known.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from . import ai, leadership, simulate
from .ids import make_id, make_rng
from .people import SCRIPT_NAME, Person, make_people

if TYPE_CHECKING:  # pragma: no cover
    from .org import Org

__all__ = ["Truth", "TEAM_SPECS", "build_people", "build_truth", "expected_total"]

TEAM_SPECS = {
    "demo": ("Quinn Calder", "quinn.calder@demo.example", "drift"),
    "north": ("Nora Lindqvist", "nora.lindqvist@demo.example", "stable"),
    "pilot": ("Pat Okafor", "pat.okafor@demo.example", "stable"),
}


@dataclass(frozen=True)
class Truth:
    """The org's ground truth, in score points (0–100 scale) unless stated.

    Attributes
    ----------
    evaluator_severity : {user_id: points}
        Expected shift of the evaluator's total score against an unbiased reading; each team's
        panel is centred on 0. Experts have 0 here and drift month by month instead.
    evaluator_noise : {user_id: points}
        SD of the evaluator's per-evaluation shift.
    calibrator_drift : {(calibrator_id, "YYYY-MM"): points}
        The calibrator's (expert's) expected shift against the panel mean that month.
    question_ambiguity : {question_id: float in [0, 1]}
    agent_quality : {user_id: float}
        The agent's expected total score from an unbiased, noiseless evaluator (current form).
    teams : {team: {"calibrator_email", "calibrator_id", "panel_ids", "expert_id"}}
        ``panel_ids`` are the evaluators besides the expert. Team ``"leadership"`` (see
        :mod:`calib.sandbox.leadership`) is the quarterly calibration of the calibrators: its
        panel is the demo and north calibrators plus QM lead Morgan Lee (its calibrator), and
        its expert is QM lead Priya Nair.
    evaluator_reading : {(user_id, question_id): points share}
        The evaluator's own reading of a question (centred per evaluator).
    never_finishes : {user_id: probability}
        Chance that the evaluator never finishes a new calibration evaluation.
    ai_questions : {question_id: calib.sandbox.ai.AiQuestionTruth}
        How the AI reads each question it can score (every yes/no question): ``reading`` is
        "reads well" for most, "lenient" for empathy (Yes threshold +0.15) and "confuses N/A"
        for hold (answers Yes on 45 % of calls where it does not apply, marks N/A on 15 % where
        it does); with its wavering, confidence band and per-question failure rates.
    ai_acceptance : {user_id: probability}
        The evaluator's propensity to keep the AI's prefilled answer where their own reading
        differs (anchoring on the AI): one evaluator per team's panel 0.8–0.9, the rest of the
        panel 0.1–0.5; 0 for the experts and calibrators (QM leads included), whose scoring
        index stays independent of the AI.
    ai_failure_rates : {failureType: probability}
        Per AI run (one call on one form version): the run fails and no question is answered.
    ai_quota_exhausted : tuple of (start, end) datetimes
        When the org's AI quota had run out: every evaluation created then has
        ``failureType`` QuotaReached (one window, the last days of one month from 2026-08).
    severity_path : {(user_id, "YYYY-MM"): points}
        Month by month severity of an evaluator whose severity moves (it replaces their
        ``evaluator_severity`` that month); empty unless the org has care teams
        (:mod:`calib.sandbox.care`).
    moving_evaluator : calib.sandbox.care.MovingSeverity or None
        Who that evaluator is, from where to where, and whether they move toward the panel.
    form_change : calib.sandbox.care.FormChangeTruth or None
        The care form's new version: which question it rewrote, when, and its ambiguity before
        and after.
    """

    evaluator_severity: Mapping[str, float]
    evaluator_noise: Mapping[str, float]
    calibrator_drift: Mapping[tuple[str, str], float]
    question_ambiguity: Mapping[str, float]
    agent_quality: Mapping[str, float]
    teams: Mapping[str, Mapping[str, Any]]
    evaluator_reading: Mapping[tuple[str, str], float]
    never_finishes: Mapping[str, float]
    ai_questions: Mapping[str, "ai.AiQuestionTruth"]
    ai_acceptance: Mapping[str, float]
    ai_failure_rates: Mapping[str, float]
    ai_quota_exhausted: tuple
    severity_path: Mapping[tuple[str, str], float] = field(
        default_factory=lambda: MappingProxyType({}))
    moving_evaluator: Any = None
    form_change: Any = None


def build_people(org: "Org") -> None:
    """Agents, each team's calibrator and panel, and the leadership team's QM leads."""
    rng = make_rng(org.seed, "people")
    names: set[str] = {spec[0] for spec in TEAM_SPECS.values()}
    emails: set[str] = {spec[1] for spec in TEAM_SPECS.values()}
    leadership.reserve_names(names, emails)
    agents = make_people(org.seed, rng, org.size.n_agents - 1, "agent", "Customer Care Agent",
                         "Customer Care", names, emails)
    agents.insert(3, Person(make_id(org.seed, "user", "agent", "script"), SCRIPT_NAME,
                            "script.agent@demo.example", "Customer Care Agent",
                            "Customer Care"))
    # one agent who left: still referenced by history, listed only with state=inactive
    if len(agents) > 5:
        a = agents[-1]
        agents[-1] = Person(a.id, a.name, a.email, a.title, a.department, "inactive")
    org.agents = agents
    for p in agents:
        org.people[p.id] = p
    for team, (cname, cemail, _) in TEAM_SPECS.items():
        cal = Person(make_id(org.seed, "user", "calibrator", team), cname, cemail,
                     "Quality Lead", "Quality")
        panel = make_people(org.seed, rng, org.size.n_evaluators.get(team, 3),
                            f"evaluator-{team}", "Quality Evaluator", "Quality", names, emails)
        org.people[cal.id] = cal
        for p in panel:
            org.people[p.id] = p
        org.teams[team] = {"calibrator_email": cemail, "calibrator_id": cal.id,
                            "panel_ids": tuple(p.id for p in panel), "expert_id": cal.id}
    leadership.add_team(org)


def build_truth(org: "Org") -> None:
    """Severities, noise, drift, readings and agent levels; sets ``org.truth``."""
    rng = make_rng(org.seed, "truth")
    severity, noise, drift, reading, never = {}, {}, {}, {}, {}
    amb = {make_id(org.seed, "question", s.key): s.ambiguity for s in org.specs}
    months = list(org.size.months) + ["2026-11", "2026-12", "2027-01"]
    for team, info in org.teams.items():
        if team not in TEAM_SPECS:
            continue
        panel = info["panel_ids"]
        k = len(panel)
        spread = np.linspace(-4.0, 4.0, k) if k > 1 else np.zeros(1)
        sev = rng.permutation(spread) + rng.normal(0, 0.5, k)
        sev = sev - sev.mean()
        for pid, s in zip(panel, sev):
            severity[pid] = round(float(s), 3)
            noise[pid] = round(float(rng.uniform(0.4, 1.0)), 3)
        expert = info["expert_id"]
        severity[expert] = 0.0
        noise[expert] = round(float(rng.uniform(0.35, 0.7)), 3)
        mode = TEAM_SPECS[team][2]
        top = float(rng.uniform(11.0, 12.0))
        for i, m in enumerate(months):
            if mode == "drift":
                steps = max(len(org.size.months) - 1, 1)
                wobble = rng.normal(0, 0.4) if 0 < i < steps else 0.0
                value = top * min(i, steps) / steps + wobble
                if i > steps:
                    value = top + 0.5 * (i - steps)
            else:
                value = rng.normal(0, 0.5)
            drift[(expert, m)] = round(float(value), 3)
        if k:
            never[panel[-1]] = 0.35
        for pid in (*panel, expert):
            raw = {q: float(rng.normal(0, 0.045)) * a * a for q, a in amb.items()}
            centre = float(np.mean(list(raw.values())))
            for q, v in raw.items():
                reading[(pid, q)] = round(v - centre, 4)
    leadership.add_truth(org, severity, noise, reading, amb)
    quality = {}
    for p in org.agents:
        # mid-range agents: the thresholds of a lenient or drifting evaluator stay below 1
        quality[p.id] = round(float(rng.uniform(0.64, 0.82)), 4)
    org._agent_level = dict(quality)
    org._drift_by_month: dict[str, dict[str, float]] = {}
    for (cid, m), value in drift.items():
        org._drift_by_month.setdefault(cid, {})[m] = value
    org.truth = Truth(
        evaluator_severity=MappingProxyType(severity),
        evaluator_noise=MappingProxyType(noise),
        calibrator_drift=MappingProxyType(drift),
        question_ambiguity=MappingProxyType(amb),
        agent_quality=MappingProxyType({a: expected_total(org, lvl)
                                        for a, lvl in quality.items()}),
        teams=MappingProxyType({t: MappingProxyType(dict(v)) for t, v in org.teams.items()}),
        evaluator_reading=MappingProxyType(reading),
        never_finishes=MappingProxyType(never),
        **ai.build_truth(org),
    )


def expected_total(org: "Org", level: float) -> float:
    """Expected total on the latest published form for an unbiased, noiseless evaluator."""
    form = org.forms[1]
    sa = org.spec_arrays
    arr = org.form_arrays[form["id"]]
    p = np.clip(level + sa.diff_offset, *simulate.P_RANGE)
    share_item = np.where(sa.kill_item, simulate.KILL_PASS_RATE, p)
    share = np.bincount(sa.item, weights=share_item, minlength=sa.n_questions) / np.bincount(
        sa.item, minlength=sa.n_questions)
    possible = arr.weight * arr.max_points * arr.on_form
    return round(100.0 * float((possible * share).sum() / possible.sum()), 3)

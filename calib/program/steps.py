"""What each step of a cycle does, on top of the session, sync, store and report modules.

Every step function takes a :class:`CycleRun` (the program, the cycle, the open backend and
store, the cycle's folder) and returns ``(state, outcome, detail)``: the state the ledger
records (``done`` or ``skipped``), one sentence, and a JSON-able detail. Each is
safe to repeat after a crash: the plan is kept in the ledger before anything is created,
creation finds what already exists, the late list and the report are written atomically.
"""

from __future__ import annotations

import csv
import html
import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from calib.context import Backend, project_path
from calib.program.spec import Cycle, Program
from calib.sessions import SessionPlan, calibrations_of, create_session, session_status
from calib.sessions.steps import late_evaluators, people, select_session, with_people
from calib.store import Store
from calib.sync import sync_months

__all__ = ["CycleRun", "cycle_folder", "selection_params", "preview_selection", "select", "create", "status", "reveal", "report",
           "late_list", "consensus_recorded", "REPORT_NOTEBOOK"]

REPORT_NOTEBOOK = "04_monthly_report.ipynb"
Result = tuple[str, str, dict[str, Any]]


def cycle_folder(program: Program, cycle: Cycle) -> Path:
    """``<outputs>/programs/<team>/<cycle start date>/``: the plan, the late list, the report
    and the agenda of one cycle."""
    root = project_path(program.outputs) if program.outputs else project_path("outputs")
    return root / "programs" / program.team / cycle.label


@dataclass
class CycleRun:
    """What a step works with."""

    program: Program
    cycle: Cycle
    backend: Backend
    store: Store
    now: datetime
    store_url: str
    plan: SessionPlan | None = None

    @property
    def folder(self) -> Path:
        folder = cycle_folder(self.program, self.cycle)
        folder.mkdir(parents=True, exist_ok=True)
        return folder


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


# -- select and create ------------------------------------------------------------------------

def selection_params(program: Program, cycle: Cycle, *, month: str) -> dict[str, Any]:
    """The selection parameters (:data:`calib.sessions.steps.SELECT_KEYS`) of a cycle: the
    calls of the ``selection_days`` before its start, its focus and panel, seed + index."""
    start = cycle.start - pd.Timedelta(days=program.selection_days)
    return {
        "team": program.team, "month": month, "backend": program.backend,
        "sandbox_seed": program.sandbox_seed, "start": start.isoformat(),
        "end": cycle.start.isoformat(), "n": program.calls, "focus": cycle.focus,
        "seed": program.seed + cycle.index, "calibrator_email": cycle.calibrator_email,
        "expert_email": cycle.expert_email, "panel_emails": list(cycle.panel_emails),
        "form_name": program.form_name,
        "deadline": cycle.deadline.isoformat().replace("+00:00", "Z"),
        "session_name": f"{program.team} {cycle.label} {cycle.focus}", "profiles": "",
        "out": ""}


def preview_selection(program: Program, backend: Backend, store: Store,
                      index: int | None = None) -> tuple[Any, SessionPlan]:
    """The selection a cycle would make, without creating or recording anything:
    ``(Selection, SessionPlan)``. By default the next cycle to select: the running one when
    its calls are not picked yet, else the one after it.

    Conversations after the backend's clock do not exist yet, so a cycle that starts later
    previews the calls known so far (and may find fewer than it needs)."""
    from calib.program.ledger import record
    from calib.program.rotation import applied_rotations, cycle_for

    if index is None:
        current = program.cycle_index(backend.now())
        if current is None:
            index = 0
        else:
            picked = record(store, program.team, current, "select")
            index = current + 1 if picked is not None and picked.final else current
    cycle = cycle_for(program, index, applied_rotations(store, program.team))
    return select_session(backend, _with_sandbox_panel(
        backend, selection_params(program, cycle, month=f"{cycle.start:%Y-%m}")))


def select(run: CycleRun) -> Result:
    """Pick the cycle's calls and fix its plan (kept in the ledger, so a rerun creates exactly
    this plan even when a new selection would pick otherwise)."""
    p, c = run.program, run.cycle
    if run.now >= c.deadline:
        return ("skipped", f"Missed: no tick ran between the cycle's start "
                           f"({c.start:%Y-%m-%d %H:%M}) and its deadline, so no session was "
                           f"created.", {})
    params = _with_sandbox_panel(run.backend, selection_params(p, c, month=f"{run.now:%Y-%m}"))
    _selection, plan = select_session(run.backend, params)
    plan.to_yaml(run.folder / "plan.yaml", overwrite=True)
    run.plan = plan
    return ("done", f"Selected {len(plan.conversations)} call(s) ({c.focus}) for a panel of "
                    f"{len(set(plan.panel_ids) | {plan.expert_id})}, expert {c.expert_email} "
                    f"({c.expert_source}), due {c.deadline:%Y-%m-%d %H:%M}.",
            {"plan": plan.to_dict(), "expert_email": c.expert_email,
             "expert_source": c.expert_source})


def _with_sandbox_panel(backend: Backend, params: dict[str, Any]) -> dict[str, Any]:
    """On the sandbox, an empty ``panel_emails`` means the team's own panel *and expert*; when
    the cycle's expert is someone else (a rotation), name the team's panel by email so that
    the selection takes the cycle's expert instead of the team's."""
    sandbox = backend.sandbox
    if sandbox is None or params["panel_emails"] or not params["expert_email"]:
        return params
    team = sandbox.teams().get(params["team"])
    if team is None:
        return params  # the selection refuses the team, with its sentence
    who = people(backend.client, [team["expert_id"], *team["panel_ids"]])
    emails = dict(zip(who["user_id"], who["email"]))
    if str(emails.get(team["expert_id"], "")).lower() == params["expert_email"].lower():
        return params
    return {**params, "panel_emails": [emails[i] for i in team["panel_ids"] if emails.get(i)]}


def create(run: CycleRun) -> Result:
    """Create the plan's calibrations (idempotent: what exists is found, not posted again).

    Once the deadline has passed a session can no longer be created (the panel would have no
    blind window): the step is recorded as missed, naming what exists, and the cycle closes."""
    if run.now >= run.cycle.deadline:
        client = run.backend.client
        found = [str(c[0]["id"]) for conv in run.plan.conversations
                 if (c := calibrations_of(client, run.plan, conv.conversation_id))]
        return ("skipped", f"Missed: the deadline passed before the calibrations were created "
                           f"({len(found)} of {len(run.plan.conversations)} exist and are left "
                           f"as they are).", {"calibration_ids": found})
    result = create_session(run.backend.client, run.plan, dry_run=False, store=run.store,
                            now=run.now, progress=False)
    ids = [str(i) for i in result.planned["calibration_id"] if i is not None]
    return ("done", f"Created {result.created}, already there {result.existing}.",
            {"calibration_ids": ids, "created": result.created, "existing": result.existing,
             "duplicates": result.duplicates_note or ""})


# -- status and reveal ------------------------------------------------------------------------

def late_list(run: CycleRun) -> pd.DataFrame:
    """Who still has evaluations of this cycle open: name, email, role, open, overdue,
    assigned (:func:`calib.sessions.steps.late_evaluators`)."""
    client = run.backend.client
    status = session_status(client, run.plan, now=run.now)
    who = people(client, status["evaluator_id"])
    return late_evaluators(with_people(status, who, id_column="evaluator_id",
                                       prefix="evaluator"))


def status(run: CycleRun) -> Result:
    """At the deadline: who is late, as ``late.md`` (to paste into a chat) and ``late.csv``."""
    late = late_list(run)
    c = run.cycle
    lines = [f"**{run.program.team} calibration {c.label} ({c.focus})**: the deadline was "
             f"{c.deadline:%a %d %b %H:%M} UTC; the meeting is {c.meeting:%a %d %b %H:%M} UTC."]
    if late.empty:
        lines.append("Everyone has finished. Thank you!")
    else:
        lines.append("Still open:")
        lines += [f"- {r.name} <{r.email}>: {r.open} of {r.assigned} open"
                  for r in late.itertuples(index=False)]
    _write_atomically(run.folder / "late.md", "\n".join(lines) + "\n")
    buffer = io.StringIO()
    late.to_csv(buffer, index=False, quoting=csv.QUOTE_MINIMAL)
    _write_atomically(run.folder / "late.csv", buffer.getvalue())
    names = [f"{r.name} <{r.email}>" for r in late.itertuples(index=False)]
    return ("done", "Nobody is late." if late.empty else
            f"{len(late)} evaluator(s) late: {', '.join(names)}; see late.md.",
            {"late": late.to_dict("records")})


def _sync(run: CycleRun, months: list[str]) -> pd.DataFrame:
    return sync_months(run.backend.client, run.store, team=run.program.team, months=months,
                       calibrators=[run.cycle.calibrator_email])


def reveal(run: CycleRun, calibration_ids: list[str]) -> Result:
    """At the deadline, by the policy: ``deadline`` reveals the cycle's calibrations still
    sealed, naming who is missing; ``all_finished`` reveals nothing (each opens by itself
    once every evaluator has finished)."""
    month = run.plan.month
    _sync(run, [month])
    gate = run.store.gate(run.program.team, month)
    gate = gate[gate["calibration_id"].isin(calibration_ids)]
    sealed = gate[~gate["open"]]
    if run.program.reveal == "all_finished":
        return ("done", f"Policy all_finished: {int(gate['open'].sum())} of {len(gate)} "
                        f"calibration(s) open, {len(sealed)} stay sealed until every evaluator "
                        f"has finished.", {"revealed": 0, "sealed": len(sealed)})
    if sealed.empty:
        return ("done", f"All {len(gate)} calibration(s) finished before the deadline; nothing "
                        f"to reveal.", {"revealed": 0, "sealed": 0})
    late = late_list(run)
    missing = ", ".join(late["name"]) if len(late) else "nobody"
    n = run.store.reveal(run.program.team, month, by="calib program",
                         reason=f"deadline passed ({run.cycle.label} cycle); missing: {missing}",
                         calibration_ids=list(sealed["calibration_id"]))
    return ("done", f"Revealed {n} sealed calibration(s) at the deadline; missing: {missing}.",
            {"revealed": n, "missing": list(late["name"])})


# -- report and agenda -------------------------------------------------------------------------

def report(run: CycleRun, calibration_ids: list[str]) -> Result:
    """Before the meeting: render the month's report into the cycle's folder (the runner
    syncs the history months first, on the program's backend and clock, as ``calib report``
    does) and write the cycle's agenda (its own calls only)."""
    from calib.render.runner import find_notebook, render

    p, month = run.program, run.plan.month
    notebook = find_notebook(REPORT_NOTEBOOK)
    params = {**_notebook_defaults(notebook),
              "team": p.team, "month": month, "backend": p.backend,
              "sandbox_seed": p.sandbox_seed, "files": [], "files_preset": "",
              # the program's own store_url (never a password: the program file has none),
              # else empty, so the runner finds the tick's store by the same rule
              # ($CALIB_STORE_URL) without the URL reaching the file
              "calibrators": [run.cycle.calibrator_email], "store_url": p.store_url,
              **_as_notebook_types(p.report.as_dict(), notebook)}
    params_file = run.folder / "report-params.yaml"
    _write_atomically(params_file, yaml.safe_dump(params, sort_keys=False))
    rendered = render(params_file, notebook=notebook, outputs_root=run.folder / "report")
    agenda_note = _agenda(run, month, calibration_ids)
    late = "" if run.now <= run.cycle.meeting else " (after the meeting: the tick ran late)"
    return ("done", f"Report {rendered.html.relative_to(run.folder)} and {agenda_note}{late}.",
            {"html": str(rendered.html), "summary": str(rendered.summary or ""),
             "agenda": str(run.folder / "agenda.md")})


def _notebook_defaults(notebook: Path) -> dict[str, Any]:
    """Every parameter of the report notebook at its default, the runner's own left out: a
    parameter the report gains later takes its default instead of failing the tick."""
    from calib.render.contract import RUNNER_SET, notebook_parameters

    return {name: param.default for name, param in notebook_parameters(notebook).items()
            if name not in RUNNER_SET and not param.help.lower().startswith("set by the runner")}


def _as_notebook_types(values: dict[str, Any], notebook: Path) -> dict[str, Any]:
    """The settings as the notebook's parameters cell types them (``aligned_max: 5`` is an
    integer there, and the contract refuses ``5.0`` for it)."""
    from calib.render.contract import notebook_parameters

    declared = notebook_parameters(notebook)
    out = {}
    for key, value in values.items():
        default = declared[key].default if key in declared else None
        if isinstance(default, int) and isinstance(value, float) and value.is_integer():
            value = int(value)
        out[key] = value
    return out


def _agenda(run: CycleRun, month: str, calibration_ids: list[str]) -> str:
    from calib.agenda import build_agenda
    from calib.rubric import notes_in_force

    store, team = run.store, run.program.team
    scores = store.scores(team, month)
    scores = scores[scores["calibration_id"].isin(calibration_ids)]
    if not (scores["status"] == "FINISHED").any():
        gate = store.gate(team, month)
        sealed = int((~gate[gate["calibration_id"].isin(calibration_ids)]["open"]).sum())
        text = (f"# {team} {run.cycle.label} ({run.cycle.focus}): discussion agenda\n\n"
                f"No call of this cycle is open yet: {sealed} calibration(s) stay sealed "
                f"(reveal policy {run.program.reveal}). Chase the evaluators in late.md; the "
                f"agenda lists the calls once their scores open.\n")
        _write_atomically(run.folder / "agenda.md", text)
        _write_atomically(run.folder / "agenda.html", f"<!doctype html><meta charset='utf-8'>"
                                                      f"<pre>{html.escape(text)}</pre>")
        return "agenda.md (no call open yet)"
    answers = store.answers(team, month)
    answers = answers[answers["calibration_id"].isin(calibration_ids)]
    notes = store.rubric_notes()
    users = store.users()
    in_force = notes_in_force(notes, as_of=month) if len(notes) else None
    agenda = build_agenda(scores, answers, rubric_notes=in_force,
                          agent_names=dict(zip(users["user_id"], users["name"])),
                          aligned_max=run.program.report.aligned_max,
                          discuss_max=run.program.report.discuss_max,
                          title=f"{team} {run.cycle.label} ({run.cycle.focus}): discussion agenda")
    _write_atomically(run.folder / "agenda.md", agenda.to_markdown())
    _write_atomically(run.folder / "agenda.html", agenda.to_html())
    return f"agenda.md with {len(agenda.items)} call(s)"


def consensus_recorded(run: CycleRun, calibration_ids: list[str]) -> bool:
    """Whether the meeting's agreed answers are in the store for any of the cycle's calls."""
    agreed = run.store.consensus(run.program.team, run.plan.month)
    return bool(len(agreed) and agreed["calibration_id"].isin(calibration_ids).any())


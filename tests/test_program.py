"""Program files, their calendar, the ledger, and ticking many teams (the quick tests).

The multi-cycle run with faults is tests/test_program_cycles.py; crash and concurrency are
tests/test_program_resume.py.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime, timezone

import pytest
import yaml

from calib.program import check_program, read_program
from calib.program.ledger import begin_step, end_step, step_records
from calib.program.teams import run_programs
from calib.store import Store
from calib.values import ParameterError
from tests.program_helpers import ROOT, clean_env, demo_program

UTC = timezone.utc
BASE = yaml.safe_load(demo_program())


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize("path", sorted((ROOT / "parameters" / "programs").glob("*.yaml")))
def test_the_committed_programs_are_valid(path):
    program = read_program(path)
    assert program.team == path.stem


@pytest.mark.parametrize("change, message", [
    ({"cadence": "daily"}, "cadence must be one of quarterly, monthly, biweekly, weekly"),
    ({"cadence": "quarterly"}, "cadence quarterly is for the leadership team's review"),
    ({"kind": "leadership"}, "kind must be 'team'"),
    ({"kind": "quarterly_review", "cadence": "quarterly"}, "review_programs is empty"),
    ({"kind": "quarterly_review", "review_programs": ["demo.yaml"]}, "cadence is quarterly"),
    ({"review_programs": ["demo.yaml"]}, "belongs to a program of kind quarterly_review"),
    ({"calibrator_rotation": ["a@x.example", "b@x.example"]},
     "expert_email and calibrator_rotation both name"),
    ({"expert_email": ""}, "name the expert evaluator"),
    ({"expert_email": "", "calibrator_rotation": ["a@x.example"]}, "at least two"),
    ({"expert_email": "", "calibrator_rotation": ["a@x.example", "A@x.example"]},
     "calibrator_rotation lists someone twice"),
    ({"expert_email": "", "calibrator_rotation": ["a@x.example", ""]}, "non-empty strings"),
    ({"expert_email": "", "calibrator_rotation": ["a@x.example", "b@x.example"],
      "rotate_calibrator_every": 0}, "rotate_calibrator_every must be 1 or more"),
    ({"review_threshold": 0}, "review_threshold must be a positive number"),
    ({"reveal": "never"}, "reveal must be 'all_finished'"),
    ({"anchor": "2026-12-31T09:00:00Z"}, "day 1 to 28"),
    ({"anchor": "next monday"}, "not a date or an ISO-8601 date-time"),
    ({"meeting_days": 30}, "must be under 28 days for a monthly cadence"),
    ({"deadline_days": 12}, "before meeting_days"),
    ({"report_lead_days": 5}, "report_lead_days (5) must be 0 to 3"),
    ({"calls": 2}, "calls must be 3 to 50"),
    ({"selection_days": 40}, "would overlap"),
    ({"focus_rotation": []}, "at least one focus"),
    ({"panel_emails": ["a@x.example", "A@x.example"]}, "lists someone twice"),
    ({"panel_size": 5, "panel_emails": ["a@x.example"]}, "more than the 1 panel member"),
    ({"report": {"n_boot": -1}}, "'n_boot'"),
    ({"report": {"colour": "red"}}, "unknown setting"),
    ({"calls": "6"}, "calls must be a int"),
    ({"colour": "red"}, "unknown key(s) ['colour']"),
    ({"team": "../x"}, "not a team name"),
    ({"store_url": "postgresql+psycopg://calib:hunter2@db/calib"}, "store_url holds a password"),
])
def test_a_bad_program_is_refused_with_a_sentence_naming_the_file(change, message):
    with pytest.raises(ParameterError) as caught:
        check_program({**BASE, **change}, source="programs/demo.yaml")
    assert message in str(caught.value)
    assert "hunter2" not in str(caught.value)
    assert str(caught.value).startswith("programs/demo.yaml")


def test_a_missing_key_is_named():
    values = {k: v for k, v in BASE.items() if k != "anchor"}
    with pytest.raises(ParameterError, match=r"missing key\(s\) \['anchor'\]"):
        check_program(values)


def test_the_monthly_calendar_keeps_the_anchor_day_and_time():
    program = check_program({**BASE, "anchor": "2026-11-28T09:00:00Z"})
    starts = [program.cycle_start(k) for k in range(4)]
    assert starts == [at("2026-11-28T09:00"), at("2026-12-28T09:00"), at("2027-01-28T09:00"),
                      at("2027-02-28T09:00")]
    assert program.cycle_index(at("2026-11-28T08:59")) is None
    assert program.cycle_index(at("2026-11-28T09:00")) == 0
    assert program.cycle_index(at("2027-01-28T08:59")) == 1
    assert program.cycle_index(at("2027-03-27T23:00")) == 3
    cycle = program.cycle(1)
    assert (cycle.deadline, cycle.report_due, cycle.meeting) == (
        at("2027-01-04T09:00"), at("2027-01-06T09:00"), at("2027-01-07T09:00"))
    assert cycle.focus == "general" and cycle.next_start == starts[2]


def test_a_biweekly_calendar_rotates_focus_and_panel_seats_in_turn():
    program = check_program({**BASE, "cadence": "biweekly", "meeting_days": 9,
                             "focus_rotation": ["general", "empathy_handling", "compliance"],
                             "panel_emails": ["a@x.example"], "panel_size": 3,
                             "rotate_in": ["b@x.example", "c@x.example", "d@x.example"]})
    assert program.cycle_index(at("2026-12-15T09:00")) == 1
    assert program.cycle_index(at("2026-12-29T08:00")) == 1
    cycles = [program.cycle(k) for k in range(4)]
    assert [c.focus for c in cycles] == ["general", "empathy_handling", "compliance", "general"]
    assert [c.panel_emails for c in cycles] == [
        ("a@x.example", "b@x.example", "c@x.example"),
        ("a@x.example", "d@x.example", "b@x.example"),
        ("a@x.example", "c@x.example", "d@x.example"),
        ("a@x.example", "b@x.example", "c@x.example")]
    seats = [e for c in cycles[:3] for e in c.panel_emails[1:]]
    assert sorted(seats) == sorted(["b@x.example", "c@x.example", "d@x.example"] * 2), \
        "over three cycles each rotating evaluator sits in equally often"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_ledger_counts_attempts_and_never_redoes_a_final_step(tmp_path, backend, request):
    url = (f"sqlite:///{tmp_path / 'calib.sqlite'}" if backend == "sqlite"
           else request.getfixturevalue("postgres_url"))
    with Store(url, clock=lambda: at("2026-12-01T09:00")) as store:
        start = at("2026-12-01T09:00")
        assert begin_step(store, "demo", 0, "select", start) == 1
        assert begin_step(store, "demo", 0, "select", start) == 2, "a crashed attempt is redone"
        end_step(store, "demo", 0, "select", "done", "Selected 3.", {"plan": {"name": "x"}})
        with pytest.raises(ValueError, match="never done twice"):
            begin_step(store, "demo", 0, "select", start)
        rows = step_records(store, "demo")
    assert rows[["cycle", "step", "state", "attempts"]].values.tolist() == [[0, "select", "done", 2]]
    assert rows.loc[0, "detail"] == {"plan": {"name": "x"}}
    assert rows.loc[0, "finished_at"] == at("2026-12-01T09:00")


def test_one_teams_failure_is_reported_and_the_others_still_tick(tmp_path):
    folder = tmp_path / "programs"
    folder.mkdir()
    (folder / "a-broken.yaml").write_text(yaml.safe_dump({**BASE, "team": "north",
                                                           "cadence": "fortnightly"}))
    (folder / "demo.yaml").write_text(demo_program(anchor="2027-06-01T09:00:00Z",
                                                   outputs=str(tmp_path / "out")))
    (folder / "pilot.yaml").write_text(yaml.safe_dump({
        **BASE, "team": "pilot", "calibrator_email": "pat.okafor@demo.example",
        "expert_email": "pat.okafor@demo.example", "anchor": "2026-11-09T09:00:00Z",
        "panel_emails": ["nobody@demo.example", "pat.okafor@demo.example"]}))
    env = clean_env(CALIB_SANDBOX_DIR=str(tmp_path / "sandbox"),
                    CALIB_STORE_URL=f"sqlite:///{tmp_path / 'calib.sqlite'}")
    done = subprocess.run([sys.executable, "-m", "calib.cli", "program", "run", str(folder),
                           "--yes"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "Traceback" not in out
    assert "a-broken.yaml: cadence must be one of" in out
    assert "pilot: FAILED: team pilot, cycle 2026-11-09, step select" in out
    assert "nobody@demo.example" in out, "the failing step names what to fix"
    assert "demo: nothing due" in out, "a team after a failing one still ticks"
    assert "2 of 3 program(s) failed" in out


def test_a_dry_run_does_nothing_and_says_how_to_act(tmp_path, monkeypatch):
    monkeypatch.setenv("CALIB_SANDBOX_DIR", str(tmp_path / "sandbox"))
    url = f"sqlite:///{tmp_path / 'calib.sqlite'}"
    monkeypatch.setenv("CALIB_STORE_URL", url)
    program = tmp_path / "demo.yaml"
    program.write_text(demo_program(anchor="2026-11-09T09:00:00Z",
                                    outputs=str(tmp_path / "out")))
    [outcome] = run_programs(program, dry_run=True)
    assert [(a.step, a.state) for a in outcome.result.actions] == [("select", "due"),
                                                                    ("create", "due")]
    with Store(url) as store:
        assert step_records(store).empty
    assert not (tmp_path / "out").exists()


def test_the_deploy_files_run_the_tick_calib_knows(tmp_path):
    """The crontab line and the systemd service call a verb the command line accepts."""
    import shlex

    from calib.cli import build_parser

    deploy = ROOT / "deploy"
    service = (deploy / "calib-program.service").read_text()
    exec_start = next(line for line in service.splitlines() if line.startswith("ExecStart="))
    cron = next(line for line in (deploy / "crontab.example").read_text().splitlines()
                if line and not line.startswith("#"))
    for command in (exec_start.split("=", 1)[1], cron.split("&&")[-1].split(">>")[0]):
        argv = shlex.split(command)
        assert argv[0].endswith("calib")
        args = build_parser().parse_args(argv[1:])
        assert args.func.__name__ == "_run" and args.yes, command
    assert "OnCalendar=" in (deploy / "calib-program.timer").read_text()
    assert "SECRET=\n" in (deploy / "calib.env.example").read_text(), "no secret is shipped"


def test_two_programs_of_one_team_in_one_store_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("CALIB_SANDBOX_DIR", str(tmp_path / "sandbox"))
    monkeypatch.setenv("CALIB_STORE_URL", f"sqlite:///{tmp_path / 'calib.sqlite'}")
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text(demo_program(anchor="2027-06-01T09:00:00Z"))
    first, second = run_programs([tmp_path / "a.yaml", tmp_path / "b.yaml"], dry_run=True)
    assert not first.failed
    assert second.failed and "already has the program" in second.error


def test_status_shows_the_calendar_who_is_late_and_the_next_step(tmp_path):
    env = clean_env(CALIB_SANDBOX_DIR=str(tmp_path / "sandbox"),
                    CALIB_STORE_URL=f"sqlite:///{tmp_path / 'calib.sqlite'}")
    program = tmp_path / "demo.yaml"
    program.write_text(demo_program(anchor="2026-11-09T09:00:00Z",
                                    outputs=str(tmp_path / "out")))

    def calib(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "calib.cli", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    out = calib("program", "status", str(program))
    assert re.search(r"2026-11-09\s+general\s+quinn\.calder@demo\.example\s+select\s+due",
                     out), out
    assert "Due now: 2026-11-09 select, 2026-11-09 create" in out
    assert "Next: 2026-11-09 status at Mon 16 Nov 2026 09:00 UTC." in out
    calib("program", "run", str(program), "--yes")
    out = calib("program", "status", str(program))
    assert re.search(r"2026-11-09\s+general\s+quinn\.calder@demo\.example\s+create\s+done\s+"
                     r"2026-11-19\s+3", out), out
    assert "Due now" not in out
    calib("sandbox", "advance", "--days", "7")
    out = calib("program", "run", str(program), "--yes")
    assert "2026-11-09 status:" in out and "2026-11-09 reveal:" in out, out
    late = (tmp_path / "out" / "programs" / "demo" / "2026-11-09" / "late.md").read_text()
    out = calib("program", "status", str(program))
    assert re.search(r"general\s+\S+\s+reveal\s+done", out), out
    names = [line.split(" <")[0].lstrip("- ") for line in late.splitlines() if " <" in line]
    assert names and all(name in out for name in names), (late, out)
    assert "Late list of the current cycle: " in out
    assert "Next: 2026-11-09 report at Wed 18 Nov 2026 09:00 UTC." in out


def _in_process(sandbox):
    from calib.context import Backend

    return lambda program: Backend("sandbox", sandbox.client(), sandbox=sandbox,
                                   clock=sandbox.now)


def test_a_cycle_nobody_ticked_before_its_deadline_is_missed_and_the_next_one_runs(
        tmp_path, monkeypatch, fresh_sandbox):
    url = f"sqlite:///{tmp_path / 'calib.sqlite'}"
    monkeypatch.setenv("CALIB_STORE_URL", url)
    sandbox = fresh_sandbox()
    program = tmp_path / "demo.yaml"
    program.write_text(demo_program(anchor="2026-11-09T09:00:00Z",
                                    outputs=str(tmp_path / "out")))
    sandbox.advance_clock(days=8)  # past the first cycle's deadline (day 7)
    [first] = run_programs(program, backend_factory=_in_process(sandbox))
    assert [(a.step, a.state) for a in first.result.actions] == [("select", "skipped"),
                                                                  ("close", "done")]
    assert "Missed" in first.result.actions[0].outcome
    assert first.result.next_due[:2] == ("2026-12-09", "select")
    sandbox.advance_clock(to=at("2026-12-09T10:00"))
    [second] = run_programs(program, backend_factory=_in_process(sandbox))
    assert [(a.cycle, a.step, a.state) for a in second.result.actions] == [
        ("2026-12-09", "select", "done"), ("2026-12-09", "create", "done")]


def test_a_plan_not_created_by_its_deadline_is_missed_not_created_late(
        tmp_path, monkeypatch, fresh_sandbox):
    from calib.program.steps import preview_selection

    url = f"sqlite:///{tmp_path / 'calib.sqlite'}"
    monkeypatch.setenv("CALIB_STORE_URL", url)
    sandbox = fresh_sandbox()
    path = tmp_path / "demo.yaml"
    path.write_text(demo_program(anchor="2026-11-09T09:00:00Z", outputs=str(tmp_path / "out")))
    program = read_program(path)
    backend = _in_process(sandbox)(program)
    with Store(url, clock=sandbox.now) as store:
        _, plan = preview_selection(program, backend, store)
        begin_step(store, "demo", 0, "select", program.cycle(0).start)
        end_step(store, "demo", 0, "select", "done", "selected", {"plan": plan.to_dict()})
    sandbox.advance_clock(days=7)  # the tick that should have created them never ran
    [outcome] = run_programs(path, backend_factory=_in_process(sandbox))
    assert [(a.step, a.state) for a in outcome.result.actions] == [("create", "skipped"),
                                                                   ("close", "done")]
    assert "0 of 3 exist" in outcome.result.actions[0].outcome
    with sandbox.client() as client:
        from calib.sessions import calibrations_of
        assert not any(calibrations_of(client, plan, c.conversation_id)
                       for c in plan.conversations), "nothing is created after the deadline"

"""Calibrator rotation: on a schedule, and by the quarterly review's proposal, on a served org.

The served demo org (``calib sandbox serve``) is ticked at the instants the calendars name, as in
tests/test_program_cycles.py. North rotates its expert every cycle between Nora Lindqvist and
Dana Ueda; the leadership team's quarterly review (``kind: quarterly_review``) flags demo's
drifting calibrator Quinn Calder and proposes a successor, which ``calib program rotate --yes``
applies to demo's next cycle. What is checked is what the API holds: each calibration's
``expertEvaluator``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone

import pytest
import yaml

from calib.program import check_program
from calib.program.ledger import step_records
from calib.program.ledger import begin_step, end_step
from calib.program.rotation import (applied_rotations, apply_rotation, cycle_for,
                                    next_cycle_to_select, pending, propose, rotations)
from calib.program.teams import run_programs
from calib.store import Store
from tests.program_helpers import ROOT, clean_env, demo_program, program_text, serve_demo_org

UTC = timezone.utc
BASE = yaml.safe_load(demo_program())


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_the_schedule_hands_the_role_on_every_n_cycles():
    program = check_program({**BASE, "expert_email": "", "rotate_calibrator_every": 2,
                             "calibrator_rotation": ["a@x.example", "b@x.example",
                                                     "c@x.example"]})
    experts = [program.cycle(k).expert_email for k in range(8)]
    assert experts == ["a@x.example", "a@x.example", "b@x.example", "b@x.example",
                       "c@x.example", "c@x.example", "a@x.example", "a@x.example"]
    assert "rotation schedule (2 of 3, every 2" in program.cycle(3).expert_source
    fixed = check_program(BASE)
    assert {fixed.cycle(k).expert_email for k in range(4)} == {"quinn.calder@demo.example"}


def test_quarterly_calendar_keeps_the_anchor_day():
    program = check_program({**BASE, "kind": "quarterly_review", "cadence": "quarterly",
                             "review_programs": ["demo.yaml"], "meeting_days": 14,
                             "anchor": "2026-11-09T09:00:00Z"})
    assert [program.cycle_start(k) for k in range(3)] == [
        at("2026-11-09T09:00"), at("2027-02-09T09:00"), at("2027-05-09T09:00")]
    assert program.cycle_index(at("2027-02-09T08:59")) == 0
    assert program.cycle_index(at("2027-05-09T09:00")) == 2


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_proposals_are_recorded_once_and_applied_from_the_next_cycle_to_select(
        tmp_path, backend, request):
    url = (f"sqlite:///{tmp_path / 'calib.sqlite'}" if backend == "sqlite"
           else request.getfixturevalue("postgres_url"))
    program = check_program(BASE)  # monthly from 2026-12-01 09:00, deadline day 7
    clock = {"now": at("2026-12-03T09:00")}
    with Store(url, clock=lambda: clock["now"]) as store:
        first = propose(store, "demo", "priya.nair@demo.example", expert_name="Priya Nair",
                        source="leadership quarterly review 2026-11-09", reason="Rotate.")
        assert first[1] is True
        again = propose(store, "demo", "priya.nair@demo.example", expert_name="Priya Nair",
                        source="leadership quarterly review 2026-11-09", reason="Rotate.")
        assert again == (first[0], False), "a rerun of the same review records nothing"
        second, _ = propose(store, "demo", "morgan.lee@demo.example", expert_name="Morgan Lee",
                            source="leadership quarterly review 2027-02-09", reason="Rotate.")
        assert pending(store, "demo")["rotation_id"] == second, "the latest proposal is pending"
        assert applied_rotations(store, "demo") == [], "a proposal alone changes nothing"
        assert cycle_for(program, 0, []).expert_email == "quinn.calder@demo.example"

        # cycle 0 runs and its calls are not picked yet: the rotation takes it
        assert next_cycle_to_select(program, store, clock["now"]) == 0
        begin_step(store, "demo", 0, "select", program.cycle(0).start)
        end_step(store, "demo", 0, "select", "done", "Selected 3.", {"plan": {}})
        assert next_cycle_to_select(program, store, clock["now"]) == 1, \
            "a cycle already selected keeps its plan"
        with pytest.raises(ValueError, match="#[0-9]+ is not a pending proposal of team north"):
            apply_rotation(store, check_program({**BASE, "team": "north"}), clock["now"],
                           by="tester", rotation_id=second)
        row = apply_rotation(store, program, clock["now"], by="tester", rotation_id=second)
        assert (row["state"], row["from_cycle"], row["applied_by"]) == ("applied", 1, "tester")
        frame = rotations(store, "demo").set_index("rotation_id")
        assert frame.loc[first[0], "state"] == "superseded"
        assert pending(store, "demo") is None

        clock["now"] = at("2027-01-05T09:00")  # cycle 1 runs, not selected: by hand from it
        by_hand = apply_rotation(store, program, clock["now"], by="tester",
                                 expert_email="dana.chen@demo.example", expert_name="Dana Chen")
        assert by_hand["from_cycle"] == 1 and by_hand["source"].startswith("by hand: tester")
        applied = applied_rotations(store, "demo")
    experts = [cycle_for(program, k, applied).expert_email for k in range(3)]
    assert experts == ["quinn.calder@demo.example", "dana.chen@demo.example",
                       "dana.chen@demo.example"], "the latest rotation of a cycle wins"
    assert "rotation #" in cycle_for(program, 2, applied).expert_source


@pytest.fixture
def served(tmp_path, monkeypatch):
    state = tmp_path / "sandbox"
    monkeypatch.setenv("CALIB_SANDBOX_DIR", str(state))
    monkeypatch.setenv("CALIB_STORE_URL", f"sqlite:///{tmp_path / 'calib.sqlite'}")
    with serve_demo_org(state) as server:
        yield server


def expert_on_the_api(client, plan: dict) -> set[str]:
    """The ``expertEvaluator`` ids of the plan's calibrations as the API stores them."""
    found = set()
    for conv in plan["conversations"]:
        for cal in client.iter_calibrations(plan["calibrator_id"],
                                            conversation_id=conv["conversation_id"]):
            if cal["name"].startswith(plan["name"] + " #"):
                stored = client.request("GET", f"/api/v2/quality/calibrations/{cal['id']}",
                                        params={"calibratorId": plan["calibrator_id"]})
                found.add(stored["expertEvaluator"]["id"])
    return found


def user_id(client, email: str) -> str:
    from calib.sessions.plan import user_ids_by_email

    return user_ids_by_email(client, [email])[0]


@pytest.mark.slow
def test_schedule_and_quarterly_proposal_set_each_cycles_expert_on_the_org(served, tmp_path):
    folder = tmp_path / "programs"
    folder.mkdir()
    out = tmp_path / "out"
    (folder / "demo.yaml").write_text(demo_program(anchor="2026-11-09T09:00:00Z",
                                                   outputs=str(out)))
    (folder / "north.yaml").write_text(program_text(
        "north", cadence="biweekly", anchor="2026-11-09T09:00:00Z",
        calibrator_email="nora.lindqvist@demo.example", rotate_calibrator_every=1,
        calibrator_rotation=["nora.lindqvist@demo.example", "dana.ueda@demo.example"],
        panel_emails=["alex.ueda@demo.example", "gus.ito@demo.example",
                      "eli.abbott@demo.example"],
        deadline_days=5, meeting_days=8, report_lead_days=1, reveal="deadline",
        outputs=str(out)))
    leadership = yaml.safe_load((ROOT / "parameters" / "programs" / "leadership.yaml").read_text())
    (folder / "leadership.yaml").write_text(yaml.safe_dump({
        **leadership, "report": {}, "outputs": str(out)}))
    env = clean_env(CALIB_SANDBOX_DIR=os.environ["CALIB_SANDBOX_DIR"],
                    CALIB_STORE_URL=os.environ["CALIB_STORE_URL"])

    def calib(*args: str, code: int = 0) -> str:
        done = subprocess.run([sys.executable, "-m", "calib.cli", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == code, done.stdout + done.stderr
        return done.stdout

    def tick_at(when: str) -> list:
        if at(when) > served.now():
            served.advance_clock(to=at(when))
        first = run_programs(folder)
        for outcome in first:
            assert not outcome.failed, (when, outcome.team,
                                        outcome.error or outcome.result.error)
        again = run_programs(folder)
        assert [a for o in again for a in o.result.actions] == [], \
            f"{when}: a second tick at the same instant finds nothing due"
        return first

    tick_at("2026-11-09T09:00")          # every cycle 0 created
    tick_at("2026-11-14T09:00")          # north's deadline
    tick_at("2026-11-16T09:00")          # demo's and leadership's deadline; north's report
    tick_at("2026-11-18T09:00")          # demo's report
    [lead] = [o for o in tick_at("2026-11-21T09:00") if o.team == "leadership"]  # the review
    review = [a for a in lead.result.actions if a.step == "report"]
    # the drifting demo calibrator, and only they, is flagged; steady Nora is not
    assert review and "flagged: quinn.calder@demo.example. " in review[0].outcome, review

    url = os.environ["CALIB_STORE_URL"]
    with Store(url) as store:
        proposed = rotations(store, "demo")
    assert list(proposed["state"]) == ["proposed"], proposed
    with Store(url) as store:
        assert rotations(store, "north").empty, "north's calibrator is in line: no proposal"
    successor = proposed.iloc[0]["expert_email"]
    assert successor != "quinn.calder@demo.example"
    assert (out / "programs" / "leadership" / "2026-11-09" / "review.html").is_file()

    status = calib("program", "status", str(folder / "demo.yaml"))
    assert f"Rotation proposal #{proposed.iloc[0]['rotation_id']} pending" in status, status
    dry = calib("program", "rotate", str(folder / "demo.yaml"))
    assert "from cycle 2026-12-09 (the next to select) the calibrator (expert evaluator) " \
           "would be" in dry and successor in dry and "Dry run: nothing was changed" in dry
    with Store(url) as store:
        assert list(rotations(store, "demo")["state"]) == ["proposed"], "a dry run changes nothing"
    done = calib("program", "rotate", str(folder / "demo.yaml"), "--yes")
    assert "applied: from cycle 2026-12-09" in done, done
    again = calib("program", "rotate", str(folder / "demo.yaml"), "--yes")
    assert "no rotation proposal pending" in again, "applying twice changes nothing more"

    tick_at("2026-11-23T09:00")          # north cycle 1: Dana Ueda's turn
    tick_at("2026-12-09T09:00")          # demo cycle 1: the successor; north cycle 2
    status = calib("program", "status", str(folder / "demo.yaml"))
    assert "Rotation #" in status and "applied by" in status, status
    lead_status = calib("program", "status", str(folder / "leadership.yaml"))
    assert "team demo's expert → " in lead_status and \
        "(applied from demo's cycle 2026-12-09)" in lead_status, lead_status

    with Store(url) as store:
        ledger = step_records(store)
    selects = ledger[(ledger["step"] == "select") & (ledger["state"] == "done")]
    want = {("demo", 0): "quinn.calder@demo.example", ("demo", 1): successor,
            ("north", 0): "nora.lindqvist@demo.example", ("north", 1): "dana.ueda@demo.example",
            ("north", 2): "nora.lindqvist@demo.example",
            ("leadership", 0): "priya.nair@demo.example"}
    with served.client() as client:
        for (team, k), email in want.items():
            [row] = selects[(selects["team"] == team) & (selects["cycle"] == k)].itertuples()
            assert row.detail["expert_email"] == email, (team, k, row.detail["expert_source"])
            assert expert_on_the_api(client, row.detail["plan"]) == {user_id(client, email)}, \
                (team, k)
    demo_row = selects[(selects["team"] == "demo") & (selects["cycle"] == 1)].iloc[0]
    assert f"rotation #{proposed.iloc[0]['rotation_id']}" in demo_row["outcome"]
    assert "demo" in status and successor in status

"""The calibration program over several cycles, on the demo org's clock, with faults injected.

A monthly program (demo, reveal at the deadline) and a bi-weekly one (north, scores open only
when everyone has finished) are ticked by ``calib.program.run_programs`` at every instant their
calendars name, and once more at each (a scheduler firing twice), against a served demo org
(``calib sandbox serve``: the report's own sync reaches it too) whose API answers some
requests 429 or 503 and drops some POST responses after committing them. Evaluators finish
late on their own (the sandbox plans it) and Vik Quist and Ada Xu often never finish.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest

from calib.program import read_program
from calib.program.ledger import step_records
from calib.program.teams import run_programs
from calib.sandbox.ids import parse_iso
from calib.store import Store
from tests.program_helpers import demo_program, program_text, serve_demo_org, set_faults

pytestmark = pytest.mark.slow

FAULTS = {"rate_429": 0.08, "rate_503": 0.01, "lose_response_rate": 0.12, "retry_after_s": 0,
          "seed": 11}
NO_FAULTS = {"rate_429": 0.0, "rate_503": 0.0, "lose_response_rate": 0.0}


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A served demo org in ``tmp_path/sandbox`` and a store in ``tmp_path``; the environment
    points every backend and store the program opens at them."""
    state = tmp_path / "sandbox"
    monkeypatch.setenv("CALIB_SANDBOX_DIR", str(state))
    monkeypatch.setenv("CALIB_STORE_URL", f"sqlite:///{tmp_path / 'calib.sqlite'}")
    with serve_demo_org(state) as server:
        yield server


def tick_instants(programs, until) -> list:
    """Every instant a calendar names (start, a day in, deadline, report due, meeting), sorted."""
    instants = set()
    for program in programs:
        k = 0
        while program.cycle_start(k) <= until:
            c = program.cycle(k)
            instants |= {c.start, c.start + timedelta(days=1, hours=3), c.deadline,
                         c.report_due, c.meeting}
            k += 1
    return sorted(t for t in instants if t <= until)


def test_two_programs_run_three_cycles_each_through_faults(served, tmp_path):
    folder = tmp_path / "programs"
    folder.mkdir()
    out = tmp_path / "out"
    (folder / "demo.yaml").write_text(demo_program(
        focus_rotation=["general", "empathy_handling", "compliance_phrases"], outputs=str(out)))
    (folder / "north.yaml").write_text(program_text(
        "north", cadence="biweekly", anchor="2027-01-04T09:00:00Z",
        calibrator_email="nora.lindqvist@demo.example",
        expert_email="nora.lindqvist@demo.example", focus_rotation=["general"],
        panel_emails=["dana.ueda@demo.example", "ada.xu@demo.example"], panel_size=3,
        rotate_in=["gus.ito@demo.example", "eli.abbott@demo.example"],
        deadline_days=5, meeting_days=8, report_lead_days=1, reveal="all_finished",
        outputs=str(out)))
    demo, north = read_program(folder / "demo.yaml"), read_program(folder / "north.yaml")
    until = parse_iso("2027-02-12T09:00:00Z")
    second_ticks = []
    for instant in tick_instants([demo, north], until):
        if instant > served.now():
            served.advance_clock(to=instant)
        set_faults(served, FAULTS)
        try:
            first = run_programs(folder)
            again = run_programs(folder)
        finally:
            set_faults(served, NO_FAULTS)
        for outcome in first + again:
            assert not outcome.failed, f"{instant}: {outcome.team}: {outcome.error or outcome.result.error}"
        second_ticks += [a for o in again for a in o.result.actions]
    assert second_ticks == [], "a second tick at the same instant must find nothing due"

    with Store(os.environ["CALIB_STORE_URL"]) as store:
        ledger = step_records(store)
        reveals = store.reveals()
    with served.client() as client:
        for program in (demo, north):
            mine = ledger[ledger["team"] == program.team]
            reported = mine[(mine["step"] == "report") & (mine["state"] == "done")]
            assert len(reported) >= 3, f"{program.team}: only {len(reported)} cycle(s) reported"
            for _, row in mine[(mine["step"] == "select") & (mine["state"] == "done")].iterrows():
                cycle = program.cycle(int(row["cycle"]))
                plan = row["detail"]["plan"]
                # exactly the planned calibrations: one per planned conversation, none twice
                for conv in plan["conversations"]:
                    found = [c for c in client.iter_calibrations(plan["calibrator_id"],
                                                                 conversation_id=conv["conversation_id"])
                             if c["name"].startswith(plan["name"] + " #")]
                    assert len(found) == 1, f"{plan['name']}: {conv} has {len(found)} calibrations"
                assert plan["deadline"].startswith(f"{cycle.deadline:%Y-%m-%dT%H:%M}")
                steps = mine[mine["cycle"] == row["cycle"]].set_index("step")
                if "report" in steps.index:
                    # the report and agenda exist before the meeting, after the deadline
                    done_at = steps.loc["report", "finished_at"].to_pydatetime()
                    assert cycle.deadline <= done_at <= cycle.meeting, (program.team, cycle.label)
                    detail = steps.loc["report", "detail"]
                    assert Path(detail["html"]).is_file() and Path(detail["agenda"]).is_file()
                    summary = json.loads(Path(detail["summary"]).read_text())
                    assert summary["team"] == program.team and summary["month"] == plan["month"]
                    late = Path(detail["agenda"]).with_name("late.md")
                    assert late.is_file() and cycle.label in late.read_text()
                if "reveal" in steps.index:
                    assert steps.loc["reveal", "finished_at"].to_pydatetime() >= cycle.deadline
            closed = mine[(mine["step"] == "close") & (mine["state"] == "done")]
            assert len(closed) >= 2, f"{program.team}: cycles are closed when the next starts"

    # the reveal happens only as the policy allows: never for all_finished, at the deadline
    # (never before) for the deadline policy, and the reason names who was missing
    assert not (reveals["team"] == "north").any(), "north's policy never reveals"
    demo_reveals = reveals[reveals["team"] == "demo"]
    assert len(demo_reveals), "someone was late in demo, so the deadline policy revealed"
    assert (demo_reveals["revealed_at"] >= demo_reveals["deadline"]).all()
    assert demo_reveals["reason"].str.contains("missing: ").all()
    north_late = ledger[(ledger["team"] == "north") & (ledger["step"] == "status")]
    assert any("Ada Xu" in o for o in north_late["outcome"]), \
        "Ada Xu, who often never finishes, is on a late list"

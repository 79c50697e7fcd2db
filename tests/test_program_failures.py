"""An older cycle's step that keeps failing does not hold the next cycle back, and stays in sight.

Demo's first cycle cannot write its late list (a directory stands where ``late.md`` goes, so its
status step fails at every tick, as a full disk or a broken share would); the next cycle still
starts on time on the served org, and ``calib program status`` names the failing step.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from calib.program.ledger import step_records
from calib.program.teams import run_programs
from calib.store import Store
from tests.program_helpers import ROOT, clean_env, demo_program, serve_demo_org

pytestmark = pytest.mark.slow


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def test_a_failing_step_of_cycle_k_does_not_block_cycle_k_plus_1(tmp_path, monkeypatch):
    state = tmp_path / "sandbox"
    url = f"sqlite:///{tmp_path / 'calib.sqlite'}"
    monkeypatch.setenv("CALIB_SANDBOX_DIR", str(state))
    monkeypatch.setenv("CALIB_STORE_URL", url)
    out = tmp_path / "out"
    program = tmp_path / "demo.yaml"
    program.write_text(demo_program(anchor="2026-11-09T09:00:00Z", outputs=str(out)))
    (out / "programs" / "demo" / "2026-11-09" / "late.md").mkdir(parents=True)
    with serve_demo_org(state) as served:
        [first] = run_programs(program)
        assert [(a.step, a.state) for a in first.result.actions] == [("select", "done"),
                                                                      ("create", "done")]
        served.advance_clock(to=at("2026-11-16T09:00"))
        [failing] = run_programs(program)
        assert failing.failed and "cycle 2026-11-09, step status" in failing.result.error
        served.advance_clock(to=at("2026-12-09T09:00"))
        [next_cycle] = run_programs(program)
        done = [(a.cycle, a.step, a.state) for a in next_cycle.result.actions]
        assert done == [("2026-12-09", "select", "done"), ("2026-12-09", "create", "done")], \
            "the next cycle starts on time although the old one keeps failing"
        assert next_cycle.failed and "cycle 2026-11-09, step status" in next_cycle.result.error
        with Store(url) as store:
            ledger = step_records(store, "demo").set_index(["cycle", "step"])
        assert ledger.loc[(0, "status"), "state"] == "failed"
        assert ledger.loc[(0, "status"), "attempts"] == 2, "retried by every tick"
        assert (0, "close") not in ledger.index, "the failing cycle is not closed over it"
        env = clean_env(CALIB_SANDBOX_DIR=str(state), CALIB_STORE_URL=url)
        shown = subprocess.run([sys.executable, "-m", "calib.cli", "program", "status",
                                str(program)], cwd=ROOT, env=env, capture_output=True,
                               text=True, timeout=300)
        assert shown.returncode == 0, shown.stdout + shown.stderr
        assert re.search(r"2026-11-09\s+general\s+quinn\.calder@demo\.example\s+status\s+"
                         r"failed", shown.stdout), shown.stdout
        assert re.search(r"2026-12-09\s+\S+\s+quinn\.calder@demo\.example\s+create\s+done",
                         shown.stdout), shown.stdout
        assert "FAILED: cycle 2026-11-09 step status (attempt 2)" in shown.stdout
        assert "late.md" in shown.stdout, "the failure says what went wrong"
        # the obstacle removed, the next tick picks up where the failure left off
        os.rmdir(out / "programs" / "demo" / "2026-11-09" / "late.md")
        [healed] = run_programs(program)
        steps = [(a.cycle, a.step, a.state) for a in healed.result.actions]
        assert not healed.failed, healed.result.error
        assert steps[:3] == [("2026-11-09", "status", "done"), ("2026-11-09", "reveal", "done"),
                             ("2026-11-09", "report", "done")], steps
        assert ("2026-11-09", "close", "done") in steps

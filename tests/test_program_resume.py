"""A tick killed mid-step resumes without a duplicate or a gap; two ticks at once, one acts.

Each tick is a real ``calib program run --yes`` process against a served demo org whose API
answers slowly (so a step is still running when the test kills it); the test watches the
store's ledger and sends SIGKILL the moment the step it aims at is recorded as started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from calib.program import read_program
from calib.program.ledger import step_records
from calib.store import Store
from tests.program_helpers import ROOT, clean_env, demo_program, serve_demo_org, set_faults

pytestmark = pytest.mark.slow


def start_tick(program_file, env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "calib.cli", "program", "run",
                             str(program_file), "--yes"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def ledger(url: str):
    with Store(url) as store:
        return step_records(store)


def kill_when_started(program_file, env, url: str, cycle: int, step: str) -> None:
    """Run a tick and SIGKILL it as soon as ``step`` of ``cycle`` is recorded as started."""
    store = Store(url)  # opened once: the poll must be much quicker than the step it aims at
    proc = start_tick(program_file, env)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            rows = step_records(store, "demo", cycle)
            hit = rows[rows["step"] == step]
            if len(hit) and hit.iloc[0]["state"] == "started":
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=30)
                return
            if proc.poll() is not None:
                pytest.fail(f"the tick ended before {step} started:\n{proc.stdout.read()}")
            time.sleep(0.01)
        pytest.fail(f"{step} never started")
    finally:
        store.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def finish_tick(program_file, env) -> str:
    proc = start_tick(program_file, env)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    assert "Traceback" not in out, out
    return out


def test_a_tick_killed_at_each_step_resumes_without_duplicate_or_gap(tmp_path):
    url = f"sqlite:///{tmp_path / 'calib.sqlite'}"
    env = clean_env(CALIB_SANDBOX_DIR=str(tmp_path / "sandbox"), CALIB_STORE_URL=url)
    program_file = tmp_path / "demo.yaml"
    program_file.write_text(demo_program(outputs=str(tmp_path / "out")))
    program = read_program(program_file)
    cycle = program.cycle(0)
    with serve_demo_org(tmp_path / "sandbox") as server:
        set_faults(server, {"latency_ms": 250})
        moments = [(cycle.start, ["select", "create"]), (cycle.deadline, ["status", "reveal"]),
                   (cycle.report_due, ["report"])]
        for at, aimed in moments:
            server.advance_clock(to=at)
            for step in aimed:
                kill_when_started(program_file, env, url, 0, step)
            finish_tick(program_file, env)
        server.advance_clock(to=cycle.meeting)
        set_faults(server, {"latency_ms": 0})
        assert "nothing due" in finish_tick(program_file, env)
        rows = ledger(url).set_index("step")
        with server.client() as client:
            plan = rows.loc["select", "detail"]["plan"]
            for conv in plan["conversations"]:
                found = [c for c in client.iter_calibrations(
                    plan["calibrator_id"], conversation_id=conv["conversation_id"])
                    if c["name"].startswith(plan["name"] + " #")]
                assert len(found) == 1, f"{conv['conversation_id']}: {len(found)} calibrations"
    for step in ("select", "create", "status", "reveal", "report"):
        assert rows.loc[step, "state"] == "done", (step, rows.loc[step, "outcome"])
        assert rows.loc[step, "attempts"] == 2, f"{step} was killed once, then done once"
    created = rows.loc["create", "detail"]
    assert len(created["calibration_ids"]) == len(plan["conversations"]) == 3
    assert (tmp_path / "out" / "programs" / "demo" / cycle.label / "late.md").is_file()
    assert os.path.isfile(rows.loc["report", "detail"]["html"])
    with Store(url) as store:
        reveals = store.reveals("demo")
    assert reveals["calibration_id"].is_unique, "each calibration revealed once"
    assert set(reveals["calibration_id"]) <= set(created["calibration_ids"])


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_ticks_started_together_only_one_acts(tmp_path, backend, request):
    url = (f"sqlite:///{tmp_path / 'calib.sqlite'}" if backend == "sqlite"
           else request.getfixturevalue("postgres_url"))
    env = clean_env(CALIB_SANDBOX_DIR=str(tmp_path / "sandbox"), CALIB_STORE_URL=url)
    program_file = tmp_path / "demo.yaml"
    program_file.write_text(demo_program(outputs=str(tmp_path / "out")))
    with serve_demo_org(tmp_path / "sandbox") as server:
        # slow answers keep the first tick busy while the second one starts
        set_faults(server, {"latency_ms": 60})
        server.advance_clock(to=read_program(program_file).cycle(0).start)
        ticks = [start_tick(program_file, env) for _ in range(2)]
        outputs = [p.communicate(timeout=300)[0] for p in ticks]
    assert [p.returncode for p in ticks] == [0, 0], outputs
    acted = [o for o in outputs if "select: Selected" in o]
    assert len(acted) == 1, outputs
    other = outputs[1 - outputs.index(acted[0])]
    assert "another tick is running" in other, other
    rows = ledger(url).set_index("step")
    assert rows.loc["select", "attempts"] == 1 and rows.loc["create", "attempts"] == 1
    assert rows.loc["create", "detail"]["created"] == 3

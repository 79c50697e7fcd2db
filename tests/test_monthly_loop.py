"""The README's monthly loop, command by command, as separate processes on one demo org.

Each step is a real ``calib`` process: the demo org (its calibrations and its clock) lives in a
state folder and the history in one store, both in a temporary folder, so the steps follow each
other as they do for a new user: select, create (dry run, then --yes), status, the evaluators
finish (the org clock moves), sync, reveal, report, agenda, consensus, rubric.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def calib(tmp_path_factory):
    folder = tmp_path_factory.mktemp("loop")
    env = {**os.environ, "CALIB_SANDBOX_DIR": str(folder / "sandbox"),
           "CALIB_STORE_URL": f"sqlite:///{folder / 'calib.sqlite'}"}
    for key in [k for k in env if k.startswith("GENESYSCLOUD_")]:
        del env[key]

    def run(*args: str, ok: bool = True) -> str:
        done = subprocess.run([sys.executable, "-m", "calib.cli", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
        text = done.stdout + done.stderr
        assert (done.returncode == 0) == ok, f"calib {' '.join(args)} → {done.returncode}:\n{text}"
        assert "Traceback" not in text, text
        return text

    run.folder = folder
    return run


def test_the_monthly_loop_runs_command_by_command_on_one_demo_org(calib):
    tmp = calib.folder
    plan = tmp / "plan.yaml"

    out = calib("select", "--params", "parameters/select-demo.yaml", "--out", str(plan))
    assert "Eli Nakamura" in out and "Billing" in out, "agents and queues by name"
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", out.split("Why each")[0].split(
        "conversation")[0]), "the funnel and agent columns carry no ids"

    out = calib("create", "--plan", str(plan))
    assert "Dry run: nothing was created. 6 calibration(s) would be created" in out
    assert "None of the 6 planned calibrations exists yet" in calib("status", "--plan", str(plan))

    out = calib("create", "--plan", str(plan), "--yes")
    assert "Created 6, already there 0" in out and "recorded in" in out
    out = calib("status", "--plan", str(plan))
    for name in ("Dana Chen", "Emi O'Neil", "Farah Quist", "Kai Brooks", "Theo Haddad",
                 "Vik Quist", "Quinn Calder"):
        assert name in out, f"{name} missing from the status:\n{out}"
    assert "kai.brooks@demo.example" in out and "0 of 6 calibration(s)" in out
    assert "Created 0, already there 6" in calib("create", "--plan", str(plan), "--yes"), \
        "a second create creates nothing"

    out = calib("sandbox", "advance", "--days", "14")
    assert "moved 14 days" in out and "evaluations finished" in out
    out = calib("status", "--plan", str(plan))
    assert "Late (the deadline has passed)" in out

    out = calib("sync", "--params", "parameters/demo.yaml", "--month", "2026-11")
    assert "Synced team demo up to 2026-11" in out and "2026-11" in out

    out = calib("reveal", "--params", "parameters/demo.yaml", "--month", "2026-11",
                "--by", "Ana Analyst", "--reason", "two evaluators on leave")
    assert re.search(r"Revealed \d+ calibration\(s\) of demo in 2026-11 at 2026-11-23 09:00",
                     out), out

    out = calib("report", "--params", "parameters/demo.yaml", "--month", "2026-11",
                "--outputs", str(tmp / "out"))
    html = tmp / "out" / "demo" / "2026-11" / "monthly_report.html"
    assert html.is_file(), out
    summary = json.loads((html.parent / "summary.json").read_text())
    assert summary["month"] == "2026-11" and summary["gate"] == "open"
    assert "revealed by Ana Analyst" in html.read_text()

    out = calib("agenda", "--team", "demo", "--month", "2026-11", "--out", str(tmp / "agenda"))
    agenda = (tmp / "agenda" / "agenda.md").read_text()
    conversation = re.search(r"conversation `([0-9a-f-]{36})`", agenda).group(1)
    section = agenda[agenda.index(conversation):]
    # the call's grid: its first disputed question and the expert's answer, from the header
    head = re.search(r"^\| evaluator \(total\) \| ([^|]+?) \(expert: ([^|]+?)\) \|", section,
                     re.M)
    question = head.group(1).replace("\\", "")
    answer = head.group(2).replace("\\", "").split(" (")[0]

    out = calib("consensus", "record", "--call", conversation[:8], "--question", question[:20],
                "--answer", answer.strip(), "--by", "Quinn Calder", "--by", "Dana Chen")
    assert f"Recorded the agreed answer {answer.strip()!r} to {question!r}" in out
    out = calib("consensus", "show", "--team", "demo", "--month", "2026-11")
    assert "Dana Chen" in out and not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", out)

    out = calib("rubric", "record", "--question", question, "--decision",
                "Yes only when the agent names the customer's product and gives its own steps.",
                "--date", "2026-11-24", "--agreed-by", "Quinn Calder", "--dir",
                str(tmp / "rubric"))
    assert f"Recorded decision #1 for {question!r}" in out
    md = next((tmp / "rubric").glob("*.md")).read_text()
    assert "Yes only when the agent names" in md


def test_a_second_select_keeps_a_plan_file_that_differs(calib):
    plan = calib.folder / "kept.yaml"
    plan.write_text("name: reviewed by hand\n")
    out = calib("select", "--params", "parameters/select-demo.yaml", "--out", str(plan), ok=False)
    assert "already holds a different plan" in out and "--force" in out
    assert plan.read_text() == "name: reviewed by hand\n"


def test_the_committed_example_plan_is_what_calib_select_writes_today(tmp_path):
    """parameters/sessions/demo-2026-11-general.yaml is generated: a fresh demo org's
    `calib select --params parameters/select-demo.yaml` writes exactly it."""
    env = {**os.environ, "CALIB_SANDBOX_DIR": str(tmp_path / "sandbox"),
           "CALIB_STORE_URL": f"sqlite:///{tmp_path / 'calib.sqlite'}"}
    fresh = tmp_path / "plan.yaml"
    done = subprocess.run([sys.executable, "-m", "calib.cli", "select", "--params",
                           "parameters/select-demo.yaml", "--out", str(fresh)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    committed = ROOT / "parameters" / "sessions" / "demo-2026-11-general.yaml"
    assert fresh.read_text() == committed.read_text(), (
        "the committed plan is stale: regenerate it with `calib select --params "
        "parameters/select-demo.yaml --force` and commit it")

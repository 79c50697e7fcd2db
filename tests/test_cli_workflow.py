"""The ``calib select``, ``calib create`` and ``calib status`` verbs, end to end on a sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from calib.cli import main
from calib.sessions import SessionPlan

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def plan_file(tmp_path_factory):
    out = tmp_path_factory.mktemp("plans") / "plan.yaml"
    params = yaml.safe_load((ROOT / "parameters" / "select-demo.yaml").read_text())
    params.update(n=4, start="2026-11-06", end="2026-11-07", out=str(out))
    path = out.parent / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    assert main(["select", "--params", str(path)]) == 0
    return out


def test_select_writes_a_plan_that_loads(plan_file):
    plan = SessionPlan.from_yaml(plan_file)
    assert len(plan.conversations) == 4 and len({c.agent_id for c in plan.conversations}) >= 3
    assert plan.deadline == "2026-11-20T17:00:00Z" and plan.name == "demo 2026-11 general"


def test_create_dry_run_then_create_then_rerun_then_status(plan_file, fresh_sandbox, monkeypatch, capsys):
    sb = fresh_sandbox()
    # The sandbox generates a day's conversations on first use; an id it has not generated yet
    # makes it generate every day. Touch the plan's day first to keep the test fast.
    list(sb.client().iter_conversation_details("2026-11-06", "2026-11-07"))
    monkeypatch.setenv("GENESYSCLOUD_API_REGION", sb.base_url)
    monkeypatch.setenv("GENESYSCLOUD_OAUTHCLIENT_ID", sb.client_id)
    monkeypatch.setenv("GENESYSCLOUD_OAUTHCLIENT_SECRET", sb.client_secret)
    now = ["--now", sb.now().isoformat()]
    capsys.readouterr()
    assert main(["create", "--plan", str(plan_file), "--dry-run", *now]) == 0
    assert "would create 4, already there 0" in capsys.readouterr().out
    assert main(["create", "--plan", str(plan_file), *now]) == 0
    assert "created 4, already there 0" in capsys.readouterr().out
    assert main(["create", "--plan", str(plan_file), *now]) == 0
    assert "created 0, already there 4" in capsys.readouterr().out
    assert main(["status", "--plan", str(plan_file), *now]) == 0
    out = capsys.readouterr().out
    assert "pending" in out and "score" not in out.lower()
    assert sb.client_secret not in out


def test_bad_parameters_fail_with_a_sentence(tmp_path, capsys):
    path = tmp_path / "params.yaml"
    path.write_text("team: demo\nn: 5\n")
    assert main(["select", "--params", str(path)]) == 2
    err = capsys.readouterr().err
    assert "missing key(s)" in err and "select-demo.yaml" in err


def test_status_without_credentials_names_the_variables(plan_file, monkeypatch, capsys):
    for name in ("GENESYSCLOUD_API_REGION", "GENESYSCLOUD_REGION", "GENESYSCLOUD_OAUTHCLIENT_ID",
                 "GENESYSCLOUD_OAUTHCLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    assert main(["status", "--plan", str(plan_file)]) == 2
    assert "GENESYSCLOUD_OAUTHCLIENT_ID" in capsys.readouterr().err

"""The ``calib select``, ``calib create`` and ``calib status`` verbs, end to end on a sandbox."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
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


def _point_at(sb, monkeypatch):
    """The environment of a real org, pointing at the sandbox server."""
    list(sb.client().iter_conversation_details("2026-11-06", "2026-11-07"))
    monkeypatch.setenv("GENESYSCLOUD_API_REGION", sb.base_url)
    monkeypatch.setenv("GENESYSCLOUD_OAUTHCLIENT_ID", sb.client_id)
    monkeypatch.setenv("GENESYSCLOUD_OAUTHCLIENT_SECRET", sb.client_secret)


def _count(sb, plan_file) -> int:
    plan = SessionPlan.from_yaml(plan_file)
    return sum(1 for c in sb.client().iter_calibrations(plan.calibrator_id)
               if c["conversation"]["id"] in plan.conversation_ids)


def test_create_without_yes_creates_nothing_even_against_a_real_org(plan_file, fresh_sandbox,
                                                                     monkeypatch, capsys):
    """Issue 11: the README said create is a dry run by default, the CLI created for real
    unless --dry-run was given, assigning live calibrations to a whole panel."""
    sb = fresh_sandbox()
    _point_at(sb, monkeypatch)
    capsys.readouterr()
    assert main(["create", "--plan", str(plan_file), "--backend", "genesys"]) == 0
    out = capsys.readouterr().out
    assert "Dry run: nothing was created. 4 calibration(s) would be created" in out
    assert "--yes" in out and _count(sb, plan_file) == 0


def test_create_yes_then_rerun_then_status_by_name(plan_file, fresh_sandbox, monkeypatch, capsys,
                                                    tmp_path):
    sb = fresh_sandbox()
    _point_at(sb, monkeypatch)
    store = ["--store", f"sqlite:///{tmp_path / 'calib.sqlite'}"]
    capsys.readouterr()
    assert main(["create", "--plan", str(plan_file), "--backend", "genesys", "--yes", *store]) == 0
    assert "Created 4, already there 0" in capsys.readouterr().out
    assert main(["create", "--plan", str(plan_file), "--backend", "genesys", "--yes", *store]) == 0
    assert "Created 0, already there 4" in capsys.readouterr().out
    assert _count(sb, plan_file) == 4
    assert main(["status", "--plan", str(plan_file), "--backend", "genesys"]) == 0
    out = capsys.readouterr().out
    names = {p.id: p for p in sb.org.people.values()}
    plan = SessionPlan.from_yaml(plan_file)
    for uid in plan.evaluator_ids:
        assert names[uid].name in out and names[uid].email in out, f"{names[uid].name} missing"
    assert "pending" in out and "score" not in out.lower() and "Empty DataFrame" not in out
    assert sb.client_secret not in out
    # the plan and its deadline are in the store, so the gate knows the real deadline
    from calib.store import Store

    with Store(store[1]) as st:
        assert st.sessions()["deadline"].tolist() == [pd.Timestamp("2026-11-20T17:00:00Z")]


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
    assert main(["status", "--plan", str(plan_file), "--backend", "genesys"]) == 2
    assert "GENESYSCLOUD_OAUTHCLIENT_ID" in capsys.readouterr().err

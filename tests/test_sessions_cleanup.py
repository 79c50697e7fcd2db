"""``calib cleanup`` (issue 18): old calibrations listed first, deleted only with --yes, never
inside the months the report syncs."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from calib.cli import main
from calib.sessions.cleanup import cleanup_calibrations, retention_cutoff
from calib.values import ParameterError

ROOT = Path(__file__).resolve().parents[1]


def test_the_cutoff_keeps_whole_months():
    now = datetime(2026, 11, 9, 9, tzinfo=timezone.utc)
    assert retention_cutoff(now, 1) == datetime(2026, 11, 1, tzinfo=timezone.utc)
    assert retention_cutoff(now, 3) == datetime(2026, 9, 1, tzinfo=timezone.utc)
    assert retention_cutoff(now, 12) == datetime(2025, 12, 1, tzinfo=timezone.utc)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ParameterError, match="at least 1"):
            retention_cutoff(now, bad)


def _old(sb, calibrator, before="2026-06"):
    return sum(c["createdDate"][:7] < before for c in sb.client().iter_calibrations(calibrator))


def _months(sb, calibrator):
    return sorted({c["createdDate"][:7] for c in sb.client().iter_calibrations(calibrator)})


def test_a_dry_run_lists_and_deletes_nothing_then_yes_deletes_only_the_old(fresh_sandbox):
    sb = fresh_sandbox()
    team = sb.teams()["demo"]
    before = _months(sb, team["calibrator_id"])
    assert before[0] == "2026-05"
    dry = cleanup_calibrations(sb.client(), [team["calibrator_id"]], keep_months=6,
                               now=sb.now())
    assert dry.deleted == 0 and set(dry.listed["action"]) == {"would delete"}
    old = _old(sb, team["calibrator_id"])
    assert old > 0 and len(dry.listed) == old
    assert (dry.listed["created"] < "2026-06-01").all()
    assert _months(sb, team["calibrator_id"]) == before
    done = cleanup_calibrations(sb.client(), [team["calibrator_id"]], keep_months=6,
                                now=sb.now(), dry_run=False)
    assert done.deleted == old and set(done.listed["action"]) == {"deleted"}
    assert _months(sb, team["calibrator_id"]) == before[1:]
    north = sb.teams()["north"]
    assert _months(sb, north["calibrator_id"])[0] == "2026-05", "another team is untouched"
    again = cleanup_calibrations(sb.client(), [team["calibrator_id"]], keep_months=6,
                                 now=sb.now(), dry_run=False)
    assert again.listed.empty and again.deleted == 0


def test_the_command_lists_first_and_refuses_a_retention_inside_the_history(
        fresh_sandbox, tmp_path, monkeypatch, capsys):
    sb = fresh_sandbox()
    monkeypatch.setenv("GENESYSCLOUD_API_REGION", sb.base_url)
    monkeypatch.setenv("GENESYSCLOUD_OAUTHCLIENT_ID", sb.client_id)
    monkeypatch.setenv("GENESYSCLOUD_OAUTHCLIENT_SECRET", sb.client_secret)
    params = yaml.safe_load((ROOT / "parameters" / "demo.yaml").read_text())
    params.update(backend="genesys", month="2026-11")
    path = tmp_path / "team.yaml"
    path.write_text(yaml.safe_dump(params))
    team = sb.teams()["demo"]
    before = _months(sb, team["calibrator_id"])
    old = _old(sb, team["calibrator_id"])

    assert main(["cleanup", "--params", str(path), "--keep-months", "3"]) == 2
    err = capsys.readouterr().err
    assert "shorter than the report's history_months (6)" in err
    assert main(["cleanup", "--params", str(path), "--keep-months", "6"]) == 0
    out = capsys.readouterr().out
    assert f"Dry run: nothing was deleted. {old} calibration(s) of team demo were created " \
           f"before 2026-06-01" in out and "--yes" in out and "would delete" in out
    assert _months(sb, team["calibrator_id"]) == before
    assert main(["cleanup", "--params", str(path), "--keep-months", "6", "--yes"]) == 0
    assert f"Deleted {old} calibration(s) of team demo created before 2026-06-01" in \
        capsys.readouterr().out
    assert _months(sb, team["calibrator_id"]) == before[1:]
    assert sb.client_secret not in out

"""One way in (issue 11): backends, stores and settings open in calib.context, and every user
error of a report run is a whole sentence before any kernel starts.

The Genesys cases use real HTTP: a sandbox server with the wrong secret (refused), an address
that never answers (unreachable), and no variables at all (missing).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from calib.cli import main
from calib.context import BackendError, ReportSettings, open_backend, store_url
from calib.values import ParameterError

ROOT = Path(__file__).resolve().parents[1]
DEMO = (ROOT / "parameters" / "demo.yaml").read_text()
GENESYS_VARS = ("GENESYSCLOUD_API_REGION", "GENESYSCLOUD_REGION", "GENESYSCLOUD_OAUTHCLIENT_ID",
                "GENESYSCLOUD_OAUTHCLIENT_SECRET")


def params(tmp_path: Path, **changes: str) -> Path:
    text = DEMO
    for key, value in changes.items():
        text = "\n".join(f"{key}: {value}" if line.startswith(f"{key}:") else line
                         for line in text.splitlines()) + "\n"
    path = tmp_path / "team.yaml"
    path.write_text(text)
    return path


def report(tmp_path: Path, path: Path, capsys) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["report", "--params", str(path), "--outputs", str(tmp_path / "out")])
    return code, capsys.readouterr().err


def no_kernel_ran(tmp_path: Path) -> bool:
    return not list((tmp_path / "out").rglob("*.ipynb")) if (tmp_path / "out").exists() else True


def test_missing_credentials_are_named_before_a_kernel_starts(tmp_path, monkeypatch, capsys):
    for name in GENESYS_VARS:
        monkeypatch.delenv(name, raising=False)
    code, err = report(tmp_path, params(tmp_path, backend="genesys"), capsys)
    assert code != 0 and "GENESYSCLOUD_OAUTHCLIENT_ID" in err and "GENESYSCLOUD_REGION" in err
    assert "cell" not in err and "ipynb" not in err and no_kernel_ran(tmp_path)


def test_refused_credentials_are_said_in_a_sentence(tmp_path, monkeypatch, capsys, sandbox):
    monkeypatch.setenv("GENESYSCLOUD_API_REGION", sandbox.base_url)
    monkeypatch.setenv("GENESYSCLOUD_OAUTHCLIENT_ID", sandbox.client_id)
    monkeypatch.setenv("GENESYSCLOUD_OAUTHCLIENT_SECRET", "not-the-secret")
    code, err = report(tmp_path, params(tmp_path, backend="genesys"), capsys)
    assert code != 0 and "refused the OAuth client credentials" in err
    assert "not-the-secret" not in err and no_kernel_ran(tmp_path)


def test_an_unreachable_api_is_said_within_seconds_not_after_retries(tmp_path, monkeypatch,
                                                                      capsys):
    """With no network a report used to take 34 s and end in a NameResolutionError dump."""
    monkeypatch.setenv("GENESYSCLOUD_API_REGION", "https://10.255.255.1:9")  # never answers
    monkeypatch.setenv("GENESYSCLOUD_OAUTHCLIENT_ID", "id")
    monkeypatch.setenv("GENESYSCLOUD_OAUTHCLIENT_SECRET", "secret")
    started = time.monotonic()
    code, err = report(tmp_path, params(tmp_path, backend="genesys"), capsys)
    elapsed = time.monotonic() - started
    assert code != 0 and "Cannot reach Genesys Cloud at https://10.255.255.1:9" in err
    assert "no answer within 10 s" in err and "Traceback" not in err
    assert elapsed < 30, f"the unreachable check took {elapsed:.0f} s"  # bound, not a benchmark
    assert no_kernel_ran(tmp_path)


def test_an_unreachable_store_is_named_before_a_kernel_starts(tmp_path, capsys):
    url = '"postgresql+psycopg://calib@127.0.0.1:9/nowhere"'
    code, err = report(tmp_path, params(tmp_path, store_url=url), capsys)
    assert code != 0 and "Could not open the store at postgresql+psycopg://calib@127.0.0.1:9" in err
    assert no_kernel_ran(tmp_path)


def test_an_unknown_team_is_refused_with_the_teams_there_are(tmp_path, capsys):
    """`team: salesfloor` used to render the demo team's data under that name."""
    code, err = report(tmp_path, params(tmp_path, team="salesfloor"), capsys)
    assert code != 0 and "The sandbox org has no team 'salesfloor'" in err
    assert "demo, leadership, north, pilot" in err and no_kernel_ran(tmp_path)


def test_another_teams_calibrator_is_refused(tmp_path, capsys):
    code, err = report(tmp_path, params(tmp_path, calibrators='["nora.lindqvist@demo.example"]'),
                       capsys)
    assert code != 0 and "not the calibrator of the sandbox team 'demo'" in err


def test_the_sandbox_backend_is_one_org_with_its_own_clock(tmp_path):
    state = tmp_path / "sandbox"
    with open_backend("sandbox", state_dir=state) as first:
        assert f"{first.now():%Y-%m-%d %H:%M}" == "2026-11-09 09:00"
        first.sandbox.advance_clock(days=3)
    with open_backend("sandbox", state_dir=state) as second:
        assert f"{second.now():%Y-%m-%d %H:%M}" == "2026-11-12 09:00", "the clock persisted"
        with second.open_store(f"sqlite:///{tmp_path / 's.sqlite'}") as store:
            assert f"{store.now():%Y-%m-%d %H:%M}" == "2026-11-12 09:00", "store on org clock"


def test_one_store_rule(monkeypatch, tmp_path):
    monkeypatch.setenv("CALIB_STORE_URL", "sqlite:///from-env.sqlite")
    assert store_url("sqlite:///explicit.sqlite") == "sqlite:///explicit.sqlite"
    assert store_url(None) == "sqlite:///from-env.sqlite"
    monkeypatch.delenv("CALIB_STORE_URL")
    monkeypatch.chdir(ROOT / "notebooks")  # notebooks run here; the rule finds the project root
    assert store_url(None) == f"sqlite:///{ROOT / 'outputs' / 'calib.sqlite'}"


def test_report_settings_have_one_set_of_defaults_and_refuse_nonsense():
    assert ReportSettings() == ReportSettings.from_mapping({"team": "demo"})
    assert ReportSettings().as_dict() == {
        "history_months": 6, "aligned_max": 5.0, "discuss_max": 15.0, "bias_threshold": 3.0,
        "drift_threshold": 10.0, "confidence": 0.95, "question_tolerance": 0.25, "n_boot": 1000,
        "seed": 0}
    with pytest.raises(ParameterError, match="'aligned_max' must be smaller than 'discuss_max'"):
        ReportSettings(aligned_max=20)
    with pytest.raises(ParameterError, match="'confidence' is nan"):
        ReportSettings(confidence=float("nan"))
    with pytest.raises(dataclass_error()):
        ReportSettings().confidence = 0.9  # type: ignore[misc]


def dataclass_error():
    from dataclasses import FrozenInstanceError

    return FrozenInstanceError


def test_an_unknown_backend_is_a_sentence():
    with pytest.raises(ParameterError, match="backend must be one of sandbox, genesys, files, "
                                             "store, not 'csv'"):
        open_backend("csv")


def test_a_backend_error_is_a_runtime_error_with_a_sentence():
    assert issubclass(BackendError, RuntimeError)


@pytest.mark.parametrize("value", ["demo\n", "2026-10\n"])
def test_a_trailing_newline_is_not_part_of_a_valid_name(value):
    """Found by the issue-10 adversarial pass: ``$`` let "demo\\n" through as a team (it would
    name a folder with a newline) and "2026-10\\n" as a month."""
    from calib.values import check_month, check_team

    with pytest.raises(ParameterError):
        check_team(value) if value.startswith("demo") else check_month(value)
    assert check_team("demo") == "demo" and check_month("2026-10") == "2026-10"


def _store_of_two_teams(tmp_path: Path) -> str:
    """A store holding the spreadsheet teams north and south (imported from files)."""
    from calib.interchange import export_month, import_into_store
    from calib.store import Store
    from tests.test_interchange_teams import MONTH, spreadsheet_month

    url = f"sqlite:///{tmp_path / 'teams.sqlite'}"
    with Store(url) as store:
        for seed, team in enumerate(("north", "south")):
            scores, answers = spreadsheet_month(team, seed)
            import_into_store(store, export_month(scores, answers, tmp_path / team, team=team,
                                                  month=MONTH), team=team)
    return url


@pytest.mark.parametrize("backend", ["store", "files"])
def test_an_unknown_team_in_the_store_is_refused_with_the_teams_it_holds(tmp_path, capsys,
                                                                        backend):
    """`backend: store` (and `files` reading earlier imports) used to say only that the team
    had no calibration in any month, and the store backend said it inside the kernel."""
    url = _store_of_two_teams(tmp_path)
    path = params(tmp_path, team="west", backend=backend, store_url=f'"{url}"')
    code, err = report(tmp_path, path, capsys)
    assert code != 0, err
    assert "The store at sqlite:///" in err and "holds no team 'west'" in err, err
    assert "its teams are north, south" in err and "Fix 'team'" in err, err
    assert no_kernel_ran(tmp_path)


def test_the_store_backend_checks_the_team_where_the_notebook_reads_too(tmp_path):
    from calib.report.data import load_month

    url = _store_of_two_teams(tmp_path)
    with pytest.raises(ParameterError, match=r"holds no team 'west'; its teams are north, "
                                             r"south"):
        load_month({"team": "west", "month": "2026-10", "backend": "store", "store_url": url},
                   analyze=False)


def test_an_empty_store_says_how_to_fill_it(tmp_path):
    from calib.report.data import prepare_month

    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    with pytest.raises(ParameterError, match=r"holds no team yet.*calib import --team west"):
        prepare_month({"team": "west", "month": "2026-10", "backend": "store",
                       "store_url": url, "calibrators": []})


def test_the_files_backend_check_runs_after_the_import_so_a_new_team_is_welcome(tmp_path):
    """Files without a team column name no team: the report's team is the files' team."""
    from calib.interchange import export_month
    from calib.report.data import prepare_month
    from tests.test_interchange_teams import MONTH, spreadsheet_month

    url = _store_of_two_teams(tmp_path)
    import pandas as pd

    scores, answers = spreadsheet_month("west", 3)
    paths = export_month(scores, answers, tmp_path / "west", team="west", month=MONTH)
    for path in paths:  # the files say nothing about their team
        pd.read_csv(path, dtype=str).drop(columns="team").to_csv(path, index=False)
    prepared = prepare_month({"team": "west", "month": MONTH, "backend": "files",
                              "files": [str(p) for p in paths], "store_url": url,
                              "calibrators": []})
    assert prepared.store_url == url

"""Parameter files are checked against the notebook's parameters cell before any kernel starts."""

from __future__ import annotations

from pathlib import Path

import nbformat
import re

import pytest

from calib.render.contract import (ParameterError, load, notebook_parameters, read_yaml,
                                 validate)

CELL = '''team: str = "demo"  # team name
month: str = "2026-10"  # YYYY-MM
backend: str = "sandbox"  # sandbox | genesys | files
calibrators: list = ["quinn.calder@demo.example"]
store_url: str = ""  # empty: outputs/calib.sqlite
history_months: int = 6
bias_threshold: float = 3.0
confidence: float = 0.95
output_dir: str = ""  # set by the runner
'''

GOOD = '''team: demo
month: "2026-10"
backend: sandbox
calibrators: ["quinn.calder@demo.example"]
store_url: ""
history_months: 6
bias_threshold: 3
confidence: 0.95
'''


def make_notebook(path: Path, cell: str = CELL, *, n_param_cells: int = 1,
                  rules: str | None = "calib.report.parameters:check") -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    if rules:  # the notebook declares its own parameter rules (issue 12)
        nb.metadata["calib"] = {"rules": rules}
    for _ in range(n_param_cells):
        code = nbformat.v4.new_code_cell(cell)
        code.metadata["tags"] = ["parameters"]
        nb.cells.append(code)
    nb.cells.append(nbformat.v4.new_code_cell("print(team)"))
    nbformat.write(nb, path)
    return path


@pytest.fixture
def notebook(tmp_path: Path) -> Path:
    return make_notebook(tmp_path / "nb.ipynb")


def write(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_good_file_validates_and_runner_keys_take_their_default(tmp_path, notebook):
    params = load(write(tmp_path, GOOD), notebook)
    assert params["team"] == "demo"
    assert params["output_dir"] == "", "output_dir is set by the runner, not required in YAML"
    assert params["bias_threshold"] == 3.0 and isinstance(params["bias_threshold"], float)
    assert list(params) == list(notebook_parameters(notebook)), "notebook order is kept"


def test_parameters_cell_reads_defaults_and_help(notebook):
    declared = notebook_parameters(notebook)
    assert declared["month"].default == "2026-10"
    assert declared["month"].help == "YYYY-MM"
    assert declared["calibrators"].default == ["quinn.calder@demo.example"]


def test_yaml_dates_and_times_stay_strings(tmp_path):
    data = read_yaml(write(tmp_path, "a: 2026-10-01\nb: 12:30\nc: 2026-10\nd: 7\n"))
    assert data == {"a": "2026-10-01", "b": "12:30", "c": "2026-10", "d": 7}


def test_unknown_key_fails_naming_it(tmp_path, notebook):
    with pytest.raises(ParameterError, match=r"unknown key\(s\) 'colour'.*Remove or rename"):
        load(write(tmp_path, GOOD + "colour: blue\n"), notebook)


def test_missing_key_fails_naming_it(tmp_path, notebook):
    text = GOOD.replace("team: demo\n", "")
    with pytest.raises(ParameterError, match=r"lacks the key\(s\) 'team'"):
        load(write(tmp_path, text), notebook)


def test_empty_team_fails(tmp_path, notebook):
    with pytest.raises(ParameterError, match="team is empty"):
        load(write(tmp_path, GOOD.replace("team: demo", 'team: ""')), notebook)


def test_team_that_would_escape_the_output_folder_fails(tmp_path, notebook):
    with pytest.raises(ParameterError, match="names a folder under outputs"):
        load(write(tmp_path, GOOD.replace("team: demo", 'team: "../etc"')), notebook)


@pytest.mark.parametrize("month", ['"2026-13"', '"2026-1"', "2026-10-01", '"Oct 2026"'])
def test_bad_month_fails_with_the_expected_form(tmp_path, notebook, month):
    with pytest.raises(ParameterError, match=r"month must be a quoted \"YYYY-MM\""):
        load(write(tmp_path, GOOD.replace('month: "2026-10"', f"month: {month}")), notebook)


def test_unquoted_number_month_fails_as_wrong_type(tmp_path, notebook):
    with pytest.raises(ParameterError, match="'month' must be a quoted string like '2026-10'"):
        load(write(tmp_path, GOOD.replace('month: "2026-10"', "month: 202610")), notebook)


def test_wrong_type_fails_naming_expected_type(tmp_path, notebook):
    with pytest.raises(ParameterError, match="'history_months' must be an integer"):
        load(write(tmp_path, GOOD.replace("history_months: 6", 'history_months: "6"')), notebook)


def test_bool_is_not_an_integer(tmp_path, notebook):
    with pytest.raises(ParameterError, match="'history_months' must be an integer"):
        load(write(tmp_path, GOOD.replace("history_months: 6", "history_months: true")), notebook)


def test_list_items_are_checked(tmp_path, notebook):
    with pytest.raises(ParameterError, match="not an email address"):
        load(write(tmp_path, GOOD.replace('["quinn.calder@demo.example"]', '["quinn"]')),
             notebook)


def test_bad_backend_and_confidence_fail(tmp_path, notebook):
    with pytest.raises(ParameterError, match="'backend' must be one of sandbox, genesys, files"):
        load(write(tmp_path, GOOD.replace("backend: sandbox", "backend: csv")), notebook)
    with pytest.raises(ParameterError, match="'confidence' must be between"):
        load(write(tmp_path, GOOD.replace("confidence: 0.95", "confidence: 95")), notebook)


@pytest.mark.parametrize("key", ["client_secret", "GENESYS_TOKEN", "api_key", "password"])
def test_secret_keys_are_refused_without_echoing_the_value(tmp_path, notebook, key):
    with pytest.raises(ParameterError, match="looks like a secret") as info:
        load(write(tmp_path, GOOD + f"{key}: s3cr3t-value\n"), notebook)
    assert "s3cr3t-value" not in str(info.value)


def test_url_with_password_is_refused_without_echoing_it(tmp_path, notebook):
    text = GOOD.replace('store_url: ""', 'store_url: "postgresql://qm:hunter2@db/calib"')
    with pytest.raises(ParameterError, match="CALIB_STORE_URL") as info:
        load(write(tmp_path, text), notebook)
    assert "hunter2" not in str(info.value)


def test_url_without_password_is_fine(tmp_path, notebook):
    text = GOOD.replace('store_url: ""', 'store_url: "sqlite:////tmp/x.sqlite"')
    assert load(write(tmp_path, text), notebook)["store_url"] == "sqlite:////tmp/x.sqlite"


def test_missing_file_and_bad_yaml_name_the_problem(tmp_path, notebook):
    with pytest.raises(ParameterError, match="does not exist"):
        load(tmp_path / "nope.yaml", notebook)
    with pytest.raises(ParameterError, match=r"not valid YAML at line \d"):
        load(write(tmp_path, "team: demo\nmonth: [\n"), notebook)
    with pytest.raises(ParameterError, match="must be a mapping"):
        load(write(tmp_path, "- a\n- b\n"), notebook)


def test_parameters_cell_must_be_literal_and_unique(tmp_path):
    with pytest.raises(ParameterError, match="not a literal"):
        notebook_parameters(make_notebook(tmp_path / "a.ipynb", "team = 'x'.upper()\n"))
    with pytest.raises(ParameterError, match="is not 'name = literal'"):
        notebook_parameters(make_notebook(tmp_path / "b.ipynb", "import os\n"))
    with pytest.raises(ParameterError, match="has 2 cells tagged 'parameters'"):
        notebook_parameters(make_notebook(tmp_path / "c.ipynb", n_param_cells=2))
    with pytest.raises(ParameterError, match="has 0 cells tagged 'parameters'"):
        notebook_parameters(make_notebook(tmp_path / "d.ipynb", n_param_cells=0))


def test_the_report_rules_check_thresholds_order():
    from calib.report.parameters import check

    declared = {"aligned_max": _p("aligned_max", 5), "discuss_max": _p("discuss_max", 15)}
    params = validate({"aligned_max": 15, "discuss_max": 5}, declared)
    with pytest.raises(ParameterError, match="'aligned_max' must be smaller than 'discuss_max'"):
        check(params)


def _p(name, default):
    from calib.render.contract import NotebookParameter

    return NotebookParameter(name, default, "")


# -- issue 10: every value bounded before a kernel starts; one YAML rule ------------------------

REPORT_NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "04_monthly_report.ipynb"
DEMO = (Path(__file__).resolve().parents[1] / "parameters" / "demo.yaml").read_text()


def _demo_with(tmp_path: Path, key: str, value: str) -> Path:
    lines = [f"{key}: {value}" if line.startswith(f"{key}:") else line
             for line in DEMO.splitlines()]
    assert lines != DEMO.splitlines(), f"parameters/demo.yaml has no {key!r} line"
    return write(tmp_path, "\n".join(lines) + "\n")


@pytest.mark.parametrize("key, value, says", [
    ("bias_threshold", ".inf", "'bias_threshold' is inf; give a finite number"),
    ("bias_threshold", ".nan", "'bias_threshold' is nan; give a finite number"),
    ("drift_threshold", "250", "'drift_threshold' must be a positive number of points, at most"),
    ("files_preset", '"xx"', "'files_preset' must be one of tidy, wide, genesys"),
    ("month", '"0000-01"', "month '0000-01' is outside 2000-01 to 2099-12"),
    ("history_months", "100000", "'history_months' must be from 1"),
    ("n_boot", "100000000000", "'n_boot' is 100,000,000,000 bootstrap resamples"),
    ("aligned_max", "1000", "'aligned_max' is 1000 points"),
    ("team", '"../../etc"', "is not a team name"),
])
def test_out_of_range_report_parameters_fail_before_a_kernel_starts(tmp_path, key, value, says):
    with pytest.raises(ParameterError, match=re.escape(says)):
        load(_demo_with(tmp_path, key, value), REPORT_NOTEBOOK)


def test_a_duplicated_key_is_refused_not_silently_the_last_one(tmp_path):
    text = DEMO + "team: salesfloor\n"
    with pytest.raises(ParameterError, match=r"the key 'team' appears twice \(first at line \d+\)"):
        load(write(tmp_path, text), REPORT_NOTEBOOK)


def test_a_yaml_alias_bomb_is_refused_at_once(tmp_path):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n"
        for i in range(8))
    assert len(bomb) < 1024
    with pytest.raises(ParameterError, match="aliases .* are not allowed"):
        read_yaml(write(tmp_path, bomb))


def test_a_parameter_file_that_is_not_utf8_is_named(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("team: démo\n".encode("latin-1"))
    with pytest.raises(ParameterError, match=r"latin1.yaml' is not UTF-8 text .* line 1"):
        read_yaml(path)


def test_the_demo_parameters_still_validate():
    params = load(Path(__file__).resolve().parents[1] / "parameters" / "demo.yaml",
                  REPORT_NOTEBOOK)
    assert params["team"] == "demo" and params["n_boot"] == 1000


# -- issue 12: the contract is generic, each notebook declares its own rules --------------------

def test_a_notebook_without_rules_takes_any_value_of_the_right_type(tmp_path):
    """params._check_known hard-coded every notebook's domain rules, so notebook 05's own
    `backend: store` was refused by `calib run`."""
    nb = make_notebook(tmp_path / "free.ipynb", rules=None)
    params = load(write(tmp_path, GOOD.replace("backend: sandbox", "backend: anything")), nb)
    assert params["backend"] == "anything"


def test_notebook_05_runs_on_the_store_backend_it_declares(tmp_path):
    nb = Path(__file__).resolve().parents[1] / "notebooks" / "05_calibration_of_calibrators.ipynb"
    text = 'backend: store\nsandbox_seed: 7\nstore_url: ""\nmonths: ["2026-08", "2026-09"]\n' \
           'leadership_team: leadership\nthreshold: 10.0\nconfidence: 0.95\n'
    assert load(write(tmp_path, text), nb)["backend"] == "store"
    with pytest.raises(ParameterError, match="'backend' must be sandbox or store"):
        load(write(tmp_path, text.replace("backend: store", "backend: files")), nb)


def test_a_notebook_declaring_rules_calib_lacks_is_named(tmp_path):
    nb = make_notebook(tmp_path / "bad.ipynb", rules="calib.nowhere:check")
    with pytest.raises(ParameterError, match=r"declares its rules as 'calib.nowhere:check', which "
                                             r"calib does not have"):
        load(write(tmp_path, GOOD), nb)

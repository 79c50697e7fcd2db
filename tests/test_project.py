"""Project-level promises: one source of dependencies, committed notebooks without outputs, a CLI
whose every verb has help."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_environment_yml_installs_the_project_and_nothing_else():
    """pyproject.toml is the single source of dependencies; environment.yml must only bring Python and
    pip and then install `-e .[dev]`, so the two can never drift apart."""
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    conda_pkgs = [d for d in deps if isinstance(d, str)]
    pip_sections = [d["pip"] for d in deps if isinstance(d, dict) and "pip" in d]
    assert sorted(re.split(r"[=<> ]", p)[0] for p in conda_pkgs) == ["pip", "python"], conda_pkgs
    assert pip_sections == [["-e .[dev]"]], pip_sections
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "dev" in pyproject["project"]["optional-dependencies"]
    python_pin = next(p for p in conda_pkgs if p.startswith("python"))
    required = pyproject["project"]["requires-python"].lstrip(">=")
    assert python_pin.split("=")[1] >= required, "environment.yml's Python is older than requires-python"


def test_readme_shows_the_two_commands_on_their_own_lines():
    lines = [line.strip() for line in (ROOT / "README.md").read_text().splitlines()]
    assert "make report" in lines and "make test" in lines


@pytest.mark.parametrize("notebook", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_are_committed_without_outputs(notebook):
    nb = json.loads(notebook.read_text())
    dirty = [i for i, c in enumerate(nb["cells"])
             if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))]
    assert not dirty, f"{notebook.name}: cells {dirty} carry outputs; clear them before committing"


@pytest.mark.parametrize("notebook", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_define_no_functions_or_classes(notebook):
    """Logic lives in calib/: a notebook cell is a call plus Markdown."""
    nb = json.loads(notebook.read_text())
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"])
        assert not re.search(r"^\s*(def|class|async def)\s", src, re.M), (
            f"{notebook.name} cell {i} defines a function or class; move it into calib/")


def _verbs():
    from calib.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return sorted(sub.choices)


def test_calib_command_has_help():
    out = subprocess.run([sys.executable, "-m", "calib.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "usage: calib" in out.stdout


@pytest.mark.parametrize("verb", _verbs())
def test_every_verb_has_help(verb):
    out = subprocess.run([sys.executable, "-m", "calib.cli", verb, "--help"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert f"calib {verb}" in out.stdout and len(out.stdout.splitlines()) >= 3

"""The runner's import of nbformat skips jsonschema's IRI grammars (calib.render._quick_imports)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("rfc3987_syntax") is None,
                                reason="rfc3987-syntax is not installed: jsonschema builds no "
                                       "IRI grammars to skip here")

PROBE = """
import sys
import calib.render.contract, calib.render.html
import nbformat, jsonschema
print("lark" in sys.modules, "iri" in jsonschema.FormatChecker.checkers)
import rfc3987_syntax
print(rfc3987_syntax.__name__)
"""


def test_the_renderer_loads_nbformat_without_building_the_iri_parsers():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[:2] == ["False", "False"], "jsonschema built its IRI grammars (lark imported)"
    assert out[2] == "rfc3987_syntax", "the hidden package stays importable by name afterwards"


def test_without_the_guard_jsonschema_would_build_them():
    """The check above can fail: a plain import of jsonschema loads lark here."""
    out = subprocess.run([sys.executable, "-c", "import sys, jsonschema; print('lark' in "
                          "sys.modules)"], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True"


def test_notebooks_still_validate_against_their_schema(tmp_path):
    import nbformat

    from calib.render.html import export_html  # noqa: F401  (the guarded import path)

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    nbformat.validate(nb)
    broken = nbformat.v4.new_notebook()
    broken["cells"] = [{"cell_type": "code"}]
    with pytest.raises(nbformat.ValidationError):
        nbformat.validate(broken)

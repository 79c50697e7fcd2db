"""notebooks/00_import_scores.ipynb runs top to bottom with papermill on the example files."""

from __future__ import annotations

from pathlib import Path

import nbformat
import papermill
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "00_import_scores.ipynb"


@pytest.mark.slow
def test_import_notebook_runs_and_shows_the_bad_file_sentences(tmp_path):
    out = tmp_path / "run.ipynb"
    papermill.execute_notebook(str(NOTEBOOK), str(out), cwd=str(NOTEBOOK.parent),
                               kernel_name="python3", progress_bar=False,
                               parameters={"store_url": f"sqlite:///{tmp_path / 's.sqlite'}"})
    text = "\n".join(
        o.get("text", "") for c in nbformat.read(out, as_version=4).cells
        if c.cell_type == "code" for o in c.get("outputs", []))
    assert "Nothing was imported" in text and "minimal_with_mistakes.csv, row 3" in text
    assert "unchanged 0" in text, "the first import into an empty store inserts everything"

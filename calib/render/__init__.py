"""Run a parameterized notebook headless: its parameter contract, papermill, and offline HTML.

Generic: nothing here knows one notebook from another. A notebook declares its own parameter
rules, its preparation and the files a run writes in its metadata (:mod:`calib.render.contract`);
:func:`render` checks a parameter file against it before any kernel starts, runs the notebook in
a private folder under a lock, and exports a self-contained HTML page (:mod:`calib.render.html`).
Imported lazily: papermill and nbconvert load only when a run starts.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ParameterError": "contract", "NotebookParameter": "contract",
    "NotebookContract": "contract", "read_yaml": "contract",
    "notebook_parameters": "contract", "notebook_contract": "contract", "validate": "contract",
    "load": "contract", "RenderError": "runner", "RenderResult": "runner", "render": "runner",
    "render_many": "runner", "find_notebook": "runner", "export_html": "html",
    "offline_problems": "html",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'calib.render' has no attribute {name!r}")
    return getattr(importlib.import_module(f"calib.render.{module}"), name)

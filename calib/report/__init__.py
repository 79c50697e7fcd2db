"""The monthly report: parameter validation, papermill runs, offline HTML, and report sections.

Names are imported lazily (``calib.report.render`` loads papermill only when called), so
``import calib.report`` stays cheap inside a notebook kernel.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ParameterError": "params",
    "NotebookParameter": "params",
    "read_yaml": "params",
    "notebook_parameters": "params",
    "validate": "params",
    "load_params": ("params", "load"),
    "RenderError": "runner",
    "RenderResult": "runner",
    "render": "runner",
    "render_many": "runner",
    "project_root": "runner",
    "export_html": "html",
    "offline_problems": "html",
    "MonthData": "data",
    "load_month": "data",
    "write_summary": "summary",
    "build_summary": "summary",
    "show_header": "sections",
    "show_headline": "sections",
    "show_calibrations": "sections",
    "show_charts": "sections",
    "show_recurring": "sections",
    "show_agenda": "sections",
    "show_appendix": "sections",
    "show_session": "sections",
    "show_rubric": "rubric_sections",
    "show_consensus": "rubric_sections",
    "Section": "sections",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'calib.report' has no attribute {name!r}")
    module, attr = target if isinstance(target, tuple) else (target, name)
    return getattr(importlib.import_module(f"calib.report.{module}"), attr)

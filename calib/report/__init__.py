"""The monthly report's content: its parameter rules, the month's data, the analysis, the
sections of the page and the summary. Running a notebook and exporting HTML are
:mod:`calib.render`'s job.

Names are imported lazily, so ``import calib.report`` stays cheap inside a notebook kernel.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "MonthData": "data",
    "load_month": "data",
    "write_summary": "summary",
    "build_summary": "summary",
    "show_header": "sections",
    "show_headline": "verdict_sections",
    "show_evaluators": "verdict_sections",
    "show_calibrations": "sections",
    "show_questions": "agenda_sections",
    "show_agenda": "agenda_sections",
    "show_appendix": "sections",
    "show_session": "sections",
    "show_rubric": "rubric_sections",
    "show_consensus": "rubric_sections",
    "Section": "sections",
    "show_ai_scoring": "ai_section",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'calib.report' has no attribute {name!r}")
    module, attr = target if isinstance(target, tuple) else (target, name)
    return getattr(importlib.import_module(f"calib.report.{module}"), attr)

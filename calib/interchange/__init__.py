"""Scores from any QM platform: the tidy interchange format, import and export without API access.

Public API::

    load_files(paths, *, team, preset=None, mapping=None, month=None) -> (scores, answers)
    read_files(...) -> ImportBatch            # the same, with notes on what was decided/dropped
    import_into_store(store, paths, *, team, preset=None, mapping=None, dry_run=False)
    export_month(scores, answers, out_dir, *, team, month, fmt="csv") -> list[Path]
    export_from_store(store, *, team, month, out_dir, fmt="csv") -> list[Path]

Errors are :class:`InterchangeError` (a ``ValueError``) listing every problem with its file, row
and fix. The format is documented in ``docs/interchange.md``.
"""

from calib.interchange.errors import InterchangeError, Problem
from calib.interchange.exporter import export_from_store, export_month
from calib.interchange.importer import ImportBatch, load_files, read_files
from calib.interchange.to_store import ImportReport, MonthImport, import_into_store
from calib.interchange.presets import PRESETS, Preset, get_preset, load_mapping

__all__ = [
    "InterchangeError", "Problem", "ImportBatch", "ImportReport", "MonthImport", "PRESETS",
    "Preset", "export_from_store", "export_month", "get_preset", "import_into_store",
    "load_files", "load_mapping", "read_files",
]

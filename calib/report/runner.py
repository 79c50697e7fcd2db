"""Run a notebook with a parameter file: validate, execute with papermill, export HTML.

One run writes ``<outputs>/<team>/<YYYY-MM>/`` with the executed notebook, its HTML page and,
for the monthly report, the ``summary.json`` that the notebook's last cell writes. A failing
cell raises :class:`RenderError` naming the cell and the error; the executed notebook is kept
as ``<name>.failed.ipynb`` and the older outputs of that month are removed, so nobody reads a
report that does not match the run. Several parameter files render in parallel: each run's
kernel is its own process, so threads suffice to drive them (and papermill's ``cwd`` option,
a process-wide ``chdir``, is never used).
"""

from __future__ import annotations

import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from calib.report.params import ParameterError, load

REPORT_NOTEBOOK = "04_monthly_report.ipynb"
SUMMARY_NAME = "summary.json"


class RenderError(RuntimeError):
    """A notebook run failed; the message names the cell, the error and the kept notebook."""


@dataclass(frozen=True)
class RenderResult:
    """What one run wrote.

    Attributes
    ----------
    params_file : Path
        The parameter file used.
    team, month : str
        From the parameters ("" when the notebook has no such parameter).
    output_dir : Path
        The run's folder.
    notebook, html : Path
        The executed notebook and its HTML page.
    summary : Path or None
        ``summary.json`` when the notebook wrote one.
    seconds : float
        Wall time of the run.
    """

    params_file: Path
    team: str
    month: str
    output_dir: Path
    notebook: Path
    html: Path
    summary: Path | None
    seconds: float


def project_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: the working directory) that holds
    both ``notebooks/`` and ``parameters/``; ``start`` itself when there is none."""
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / "notebooks").is_dir() and (folder / "parameters").is_dir():
            return folder
    return start


def default_notebook() -> Path:
    """The monthly report notebook of the project (``notebooks/04_monthly_report.ipynb``)."""
    for root in (project_root(), Path(__file__).resolve().parents[2]):
        candidate = root / "notebooks" / REPORT_NOTEBOOK
        if candidate.is_file():
            return candidate
    raise ParameterError(f"Cannot find notebooks/{REPORT_NOTEBOOK}; run calib from the project "
                         f"folder or pass the notebook explicitly.")


def output_stem(notebook: Path) -> str:
    """The output file name of a notebook: its stem without a leading ``NN_`` ordering prefix."""
    return re.sub(r"^\d+[_-]", "", notebook.stem) or notebook.stem


def plan_output_dir(params: dict, notebook: Path, outputs_root: Path) -> Path:
    """``<outputs_root>/<team>/<YYYY-MM>``, or ``<outputs_root>/<stem>`` for a notebook that
    has no team or month parameter."""
    parts = [str(params[k]) for k in ("team", "month") if params.get(k)]
    return outputs_root.joinpath(*parts) if parts else outputs_root / output_stem(notebook)


def render(params_file: str | Path, *, notebook: str | Path | None = None,
           outputs_root: str | Path | None = None, kernel_name: str = "python3",
           cell_timeout: int = 900, require_summary: bool | None = None) -> RenderResult:
    """Validate a parameter file, execute the notebook with it, and export the HTML page.

    Parameters
    ----------
    params_file : str or Path
        YAML parameter file; checked with :func:`calib.report.params.load` before any kernel
        starts.
    notebook : str or Path, optional
        Defaults to ``notebooks/04_monthly_report.ipynb``.
    outputs_root : str or Path, optional
        Defaults to ``outputs/`` in the project folder.
    kernel_name : str
        Jupyter kernel to run.
    cell_timeout : int
        Seconds one cell may run.
    require_summary : bool, optional
        Fail when the notebook wrote no ``summary.json``; by default only for the monthly
        report notebook.

    Returns
    -------
    RenderResult

    Raises
    ------
    ParameterError
        For a bad parameter file (no kernel was started).
    RenderError
        When a cell fails, or the summary is required and missing.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from calib.report.html import export_html

    started = time.perf_counter()
    params_file = Path(params_file)
    notebook = Path(notebook) if notebook is not None else default_notebook()
    params = load(params_file, notebook)
    root = Path(outputs_root) if outputs_root is not None else project_root() / "outputs"
    out_dir = plan_output_dir(params, notebook, root).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = output_stem(notebook)
    executed, html = out_dir / f"{stem}.ipynb", out_dir / f"{stem}.html"
    failed, summary = out_dir / f"{stem}.failed.ipynb", out_dir / SUMMARY_NAME
    if require_summary is None:
        require_summary = notebook.name == REPORT_NOTEBOOK
    for stale in (failed, summary if require_summary else None):
        if stale is not None and stale.exists():
            stale.unlink()
    if "output_dir" in params:
        params["output_dir"] = str(out_dir)

    try:
        papermill.execute_notebook(
            str(notebook), str(executed), parameters=params, kernel_name=kernel_name,
            progress_bar=False, log_output=False,
            execution_timeout=cell_timeout, report_mode=False)
    except PapermillExecutionError as exc:
        _keep_failed(executed, failed, html, summary if require_summary else None)
        first_line = next((ln for ln in exc.source.splitlines() if ln.strip()), "").strip()
        raise RenderError(
            f"{notebook.name} failed in cell {exc.cell_index + 1} (which starts "
            f"{first_line[:80]!r}) with "
            f"{exc.ename}: {_one_line(exc.evalue)}. The failed notebook is kept at "
            f"{failed}.") from None
    except Exception as exc:
        _keep_failed(executed, failed, html, summary if require_summary else None)
        raise RenderError(f"{notebook.name} could not run ({type(exc).__name__}: "
                          f"{_one_line(str(exc))}); see {failed} if it was written.") from exc

    if require_summary and not summary.is_file():
        _keep_failed(executed, failed, html, None)
        raise RenderError(f"{notebook.name} ran but wrote no {SUMMARY_NAME}; its last cell must "
                          f"call calib.report.write_summary(data). See {failed}.")
    title = " ".join(str(params[k]) for k in ("team", "month") if params.get(k))
    export_html(executed, html, title=f"{stem.replace('_', ' ')} {title}".strip())
    return RenderResult(params_file, str(params.get("team", "")), str(params.get("month", "")),
                        out_dir, executed, html, summary if summary.is_file() else None,
                        time.perf_counter() - started)


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _keep_failed(executed: Path, failed: Path, html: Path, summary: Path | None) -> None:
    if executed.exists():
        executed.replace(failed)
    for stale in (html, summary):
        if stale is not None and stale.exists():
            stale.unlink()


def render_many(params_files: Sequence[str | Path], *, jobs: int | None = None,
                notebook: str | Path | None = None, outputs_root: str | Path | None = None,
                kernel_name: str = "python3") -> list[RenderResult]:
    """Render several parameter files in parallel (one kernel process per file).

    Every file is validated first, and two files for the same team and month are refused, so a
    bad file fails the whole call before any kernel starts.

    Parameters
    ----------
    params_files : sequence of str or Path
        One YAML file per team (or per month).
    jobs : int, optional
        Parallel runs; default: the number of files, at most the number of CPUs.
    notebook, outputs_root, kernel_name
        As in :func:`render`.

    Returns
    -------
    list of RenderResult
        In the order of ``params_files``.

    Raises
    ------
    ParameterError
        For a bad or duplicated parameter file.
    RenderError
        After all runs finished, when one or more failed; the message lists each failure (the
        successful runs' outputs are written).
    """
    if not params_files:
        raise ParameterError("No parameter file given; pass at least one, e.g. "
                             "parameters/demo.yaml.")
    if jobs is not None and jobs < 1:
        raise ParameterError(f"jobs must be at least 1, not {jobs}.")
    nb = Path(notebook) if notebook is not None else default_notebook()
    seen: dict[tuple, Path] = {}
    for path in map(Path, params_files):
        params = load(path, nb)
        key = (params.get("team"), params.get("month"))
        if key in seen:
            raise ParameterError(f"{path.name} and {seen[key].name} both render team "
                                 f"{key[0]!r} for {key[1]!r}; keep one of them.")
        seen[key] = path
    workers = min(jobs or os.cpu_count() or 1, len(params_files))
    kwargs = dict(notebook=nb, outputs_root=outputs_root, kernel_name=kernel_name)
    if workers == 1:
        outcomes = [_attempt(p, kwargs) for p in params_files]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            outcomes = list(pool.map(_attempt, params_files, [kwargs] * len(params_files)))
    errors = [o for o in outcomes if isinstance(o, str)]
    if errors:
        done = sum(not isinstance(o, str) for o in outcomes)
        raise RenderError(f"{len(errors)} of {len(outcomes)} report(s) failed ({done} written): "
                          + " | ".join(errors))
    return outcomes  # type: ignore[return-value]


def _attempt(params_file: str | Path, kwargs: dict) -> RenderResult | str:
    try:
        return render(params_file, **kwargs)
    except (RenderError, ParameterError) as exc:
        return f"{Path(params_file).name}: {exc}"

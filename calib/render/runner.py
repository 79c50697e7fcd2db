"""Run a notebook with a parameter file: validate, execute with papermill, export HTML.

One run writes ``<outputs>/<team>/<YYYY-MM>/`` with the executed notebook, its HTML page and,
for the monthly report, the ``summary.json`` that the notebook's last cell writes. A failing
cell raises :class:`RenderError` naming the cell and the error; the executed notebook is kept
as ``<name>.failed.ipynb`` and the older outputs of that month are removed, so nobody reads a
report that does not match the run. Several parameter files render in parallel: each run's
kernel is its own process, so threads suffice to drive them (and papermill's ``cwd`` option,
a process-wide ``chdir``, is never used).

A run renders into a private folder beside its output folder and moves its files into place
only at the end, under a lock on the output folder: two runs for the same team and month
cannot delete each other's files; the second one to arrive stops at once and says so, and a
run that crashes leaves the previous report as it was.

The kernel starts before anything else runs (the monthly report's sync, in particular): its
start-up, and the imports the notebook declares, then run on another core beside the sync
instead of after it. Its environment marks it as runner-started (:mod:`calib.render.kernel`),
which lets the report spread its work over the machine's cores (:mod:`calib.report.parallel`).
"""

from __future__ import annotations

import fcntl
import functools
import os
import re
import shutil
import tempfile
import time
from contextlib import contextmanager
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from calib.context import BackendError, project_root
from calib.render.contract import ParameterError, load, notebook_contract
from calib.values import inside

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


def find_notebook(name: str) -> Path:
    """``notebooks/<name>`` of the project (or of calib's own checkout)."""
    for root in (project_root(), Path(__file__).resolve().parents[2]):
        candidate = root / "notebooks" / name
        if candidate.is_file():
            return candidate
    raise ParameterError(f"Cannot find notebooks/{name}; run calib from the project folder or "
                         f"pass the notebook explicitly.")


def output_stem(notebook: Path) -> str:
    """The output file name of a notebook: its stem without a leading ``NN_`` ordering prefix."""
    return re.sub(r"^\d+[_-]", "", notebook.stem) or notebook.stem


def plan_output_dir(params: dict, notebook: Path, outputs_root: Path) -> Path:
    """``<outputs_root>/<team>/<YYYY-MM>``, or ``<outputs_root>/<stem>`` for a notebook that
    has no team or month parameter; always inside ``outputs_root``."""
    if outputs_root.exists() and not outputs_root.is_dir():
        raise ParameterError(f"The outputs folder {str(outputs_root)!r} is a file; pass a folder "
                             f"(it is created when missing), such as outputs/.")
    parts = [str(params[k]) for k in ("team", "month") if params.get(k)]
    return inside(outputs_root, *(parts or [output_stem(notebook)]))


@contextmanager
def _render_lock(out_dir: Path, what: str):
    """Hold the output folder's render lock, or fail at once when another run holds it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / ".render.lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RenderError(f"Another run is rendering {what} into {out_dir} right now; "
                              f"nothing was changed. Wait for it to finish, then rerun if you "
                              f"still need to.") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def render(params_file: str | Path, *, notebook: str | Path,
           outputs_root: str | Path | None = None, kernel_name: str = "python3",
           cell_timeout: int = 900, overrides: dict | None = None,
           folder: Sequence[str] | None = None) -> RenderResult:
    """Validate a parameter file, execute the notebook with it, and export the HTML page.

    Parameters
    ----------
    params_file : str or Path
        YAML parameter file; checked with :func:`calib.render.contract.load` before any kernel
        starts.
    notebook : str or Path
        The notebook; its ``metadata["calib"]`` may declare rules, a preparation and the files
        a run must write (:mod:`calib.render.contract`).
    outputs_root : str or Path, optional
        Defaults to ``outputs/`` in the project folder.
    kernel_name : str
        Jupyter kernel to run.
    cell_timeout : int
        Seconds one cell may run.
    overrides : dict, optional
        Parameter values that replace the file's (``{"month": "2026-11"}``), checked the same
        way.
    folder : sequence of str, optional
        The output folder's parts under ``outputs_root`` (default :func:`plan_output_dir`'s).

    Returns
    -------
    RenderResult

    Raises
    ------
    ParameterError
        For a bad parameter file (no kernel was started), or a team or month the backend
        does not have (the kernel started beside the preparation is stopped).
    RenderError
        When a cell fails, or the summary is required and missing, or another run is
        rendering the same output folder.
    """
    started = time.perf_counter()
    params_file = Path(params_file)
    notebook = Path(notebook)
    params = load(params_file, notebook, overrides=overrides)
    contract = notebook_contract(notebook)
    with _booting_kernel(kernel_name, contract.imports) as km:
        if contract.prepare is not None:
            params = contract.prepare(params)
        out_dir, stem = _run(params, notebook, outputs_root, folder, kernel_name, cell_timeout,
                             contract.writes, km)
    summary = out_dir / SUMMARY_NAME
    return RenderResult(params_file, str(params.get("team", "")), str(params.get("month", "")),
                        out_dir, out_dir / f"{stem}.ipynb", out_dir / f"{stem}.html",
                        summary if summary.is_file() else None,
                        time.perf_counter() - started)


def _run(params: dict, notebook: Path, outputs_root: str | Path | None,
         folder: Sequence[str] | None, kernel_name: str, cell_timeout: int,
         writes: tuple[str, ...], km: object) -> tuple[Path, str]:
    """Render into the output folder under its lock; return the folder and the files' stem."""
    root = Path(outputs_root) if outputs_root is not None else project_root() / "outputs"
    out_dir = (inside(root.resolve(), *folder) if folder
               else plan_output_dir(params, notebook, root.resolve()))
    stem = output_stem(notebook)
    what = " ".join(str(params[k]) for k in ("team", "month") if params.get(k)) or stem
    with _render_lock(out_dir, what):
        # A private folder at the same depth as out_dir (the store URL rule looks two levels up).
        stage = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.rendering-", dir=out_dir.parent))
        try:
            _execute(notebook, params, out_dir, stage, stem, kernel_name, cell_timeout,
                     writes, km)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    return out_dir, stem


def _execute(notebook: Path, params: dict, out_dir: Path, stage: Path, stem: str,
             kernel_name: str, cell_timeout: int, writes: tuple[str, ...], km: object) -> None:
    """Run the notebook into ``stage`` on ``km``'s kernel (:func:`_booting_kernel`); on
    success move its files into ``out_dir``."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from calib.render.html import export_html

    executed, html = stage / f"{stem}.ipynb", stage / f"{stem}.html"
    failed = out_dir / f"{stem}.failed.ipynb"
    stale = [out_dir / f"{stem}.html"] + [out_dir / name for name in writes]
    if "output_dir" in params:
        params["output_dir"] = str(stage)
    try:
        # Saved once at the end (or with the failing cell), not after every cell: each save
        # serialises the whole notebook, figures included, while the kernel waits.
        papermill.execute_notebook(
            str(notebook), str(executed), parameters=params, kernel_name=kernel_name,
            progress_bar=False, log_output=False, request_save_on_cell_execute=False,
            execution_timeout=cell_timeout, report_mode=False,
            engine_name=_STARTED_KERNEL_ENGINE, km=km)
    except PapermillExecutionError as exc:
        _keep_failed(executed, failed, stale)
        first_line = next((ln for ln in exc.source.splitlines() if ln.strip()), "").strip()
        raise RenderError(
            f"{notebook.name} failed in cell {exc.cell_index + 1} (which starts "
            f"{first_line[:80]!r}) with "
            f"{exc.ename}: {_one_line(exc.evalue)}. The failed notebook is kept at "
            f"{failed}.") from None
    except Exception as exc:
        _keep_failed(executed, failed, stale)
        raise RenderError(f"{notebook.name} could not run ({type(exc).__name__}: "
                          f"{_one_line(str(exc))}); see {failed} if it was written.") from exc

    missing = [name for name in writes if not (stage / name).is_file()]
    if missing:
        _keep_failed(executed, failed, stale)
        raise RenderError(f"{notebook.name} ran but wrote no {', '.join(missing)}, which its "
                          f"metadata says every run writes; see {failed}.")
    title = " ".join(str(params[k]) for k in ("team", "month") if params.get(k))
    if "output_dir" in params:  # the kept notebook names the folder its files live in
        _point_at(executed, stage, out_dir)
    export_html(executed, html, title=f"{stem.replace('_', ' ')} {title}".strip())
    # The page last: a reader who sees the new page finds the summary that goes with it.
    moved = sorted(stage.iterdir(), key=lambda p: (p.suffix == ".html", p.name))
    for item in moved:
        os.replace(item, out_dir / item.name)
    if failed.exists():
        failed.unlink()


def _local_kernel_manager() -> type:
    """A kernel manager that talks to its kernel over Unix sockets (ZeroMQ's IPC transport).

    The default TCP transport listens on loopback ports without encryption, and ipykernel warns
    about it on every run. Sockets in the user's Jupyter runtime folder are reachable by that
    user only, which is what a headless run needs; the warning's cause is gone, not silenced.

    It also skips the SIGINT that jupyter_client sends before every shutdown: papermill shuts the
    kernel down only after the last cell finished (or failed), so there is nothing to interrupt,
    and an idle kernel hit by it printed "ERROR | KeyboardInterrupt caught in kernel" to the
    terminal of about one run in three on a fresh machine. The shutdown request, and the
    SIGTERM/SIGKILL fallback after it, still stop a kernel that does not answer.

    And it waits 1 s, not 2.5 s, for the kernel to exit after the shutdown request before it
    sends SIGTERM (SIGKILL 1 s later): after the last cell a kernel has nothing left to do, a
    normal exit takes 0.1-0.6 s, and about one kernel in ten did not exit at all until the
    SIGTERM, which added 2.5 s to its run.
    """
    import uuid

    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.paths import jupyter_runtime_dir
    from traitlets import default

    class IpcKernelManager(AsyncKernelManager):
        @default("transport")
        def _default_transport(self) -> str:
            return "ipc"

        @default("ip")
        def _default_ip(self) -> str:
            # jupyter_client's default is "kernel-ipc" in the working directory when the
            # connection file is not named yet: parallel kernels would share their sockets.
            folder = Path(jupyter_runtime_dir())
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            return str(folder / f"calib-{uuid.uuid4().hex}-ipc")

        @default("shutdown_wait_time")
        def _default_shutdown_wait_time(self) -> float:
            return 2.0  # half of it before SIGTERM, half before SIGKILL

        async def _async_interrupt_kernel(self) -> None:
            if self.shutting_down:
                return
            await super()._async_interrupt_kernel()

    return IpcKernelManager


#: The papermill engine that runs a notebook on a kernel the runner started (registered once).
_STARTED_KERNEL_ENGINE = "calib-started-kernel"


@contextmanager
def _booting_kernel(kernel_name: str, imports: Sequence[str] = ()):
    """Start a kernel (without waiting for it to be ready) that imports ``imports`` in the
    background, yield its manager, and on the way out stop it unless the notebook run already
    shut it down."""
    from jupyter_core.utils import run_sync

    from calib.render.kernel import RUNNER_VARIABLE, startup_line

    _register_started_kernel_engine()
    km = _local_kernel_manager()(kernel_name=kernel_name)
    # the history file papermill's client gives the kernels it starts: none on disk
    arguments = ["--HistoryManager.hist_file=:memory:"]
    if imports:
        arguments.append(f"--IPKernelApp.exec_lines={startup_line(imports)}")
    # the kernel's temporary files go to a folder removed after the run, however it ended
    scratch = tempfile.mkdtemp(prefix="calib-kernel-")
    try:
        run_sync(km.start_kernel)(extra_arguments=arguments,
                                  env={**os.environ, RUNNER_VARIABLE: "1", "TMPDIR": scratch})
        yield km
    finally:
        try:
            if km.has_kernel:  # the run never took it (a failed preparation) or failed early
                run_sync(km.shutdown_kernel)(now=True)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


@functools.cache
def _register_started_kernel_engine() -> None:
    """papermill's nbclient engine, run on a kernel calib started already: the client is
    given the kernel manager and shuts the kernel down at the end, as for a kernel it started
    itself (nbclient keeps a kernel it did not start alive unless told ``cleanup_kc``)."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines

    class StartedKernelEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False,
                                     stdout_file=None, stderr_file=None, start_timeout=60,
                                     execution_timeout=None, km=None, **kwargs):
            from papermill.log import logger

            client = PapermillNotebookClient(
                nb_man, km=km, kernel_name=kernel_name, timeout=execution_timeout,
                startup_timeout=start_timeout, log=logger, log_output=log_output,
                stdout_file=stdout_file, stderr_file=stderr_file)
            return client.execute(cleanup_kc=True)

    papermill_engines.register(_STARTED_KERNEL_ENGINE, StartedKernelEngine)


def _point_at(executed: Path, stage: Path, out_dir: Path) -> None:
    """Replace the private folder's path in the executed notebook's parameters cell."""
    text = executed.read_text(encoding="utf-8")
    if str(stage) in text:
        executed.write_text(text.replace(str(stage), str(out_dir)), encoding="utf-8")


def _one_line(text: str) -> str:
    """The text on one line, whole: a message is never cut mid-word."""
    return " ".join(str(text).split())


def _keep_failed(executed: Path, failed: Path, stale: list[Path]) -> None:
    """Keep the failed notebook beside the outputs and remove the month's older page and
    summary, so nobody reads a report that does not match the latest run."""
    if executed.exists():
        os.replace(executed, failed)
    for path in stale:
        if path.exists():
            path.unlink()


def render_many(params_files: Sequence[str | Path], *, notebook: str | Path,
                jobs: int | None = None, outputs_root: str | Path | None = None,
                kernel_name: str = "python3", overrides: dict | None = None
                ) -> list[RenderResult]:
    """Render several parameter files in parallel (one kernel process per file).

    Every file is validated first, and two files for the same team and month are refused, so a
    bad file fails the whole call before any kernel starts.

    Parameters
    ----------
    params_files : sequence of str or Path
        One YAML file per team (or per month).
    jobs : int, optional
        Parallel runs; default: the number of files, at most the number of CPUs.
    notebook, outputs_root, kernel_name, overrides
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
    nb = Path(notebook)
    if outputs_root is not None and Path(outputs_root).exists() and not Path(outputs_root).is_dir():
        raise ParameterError(f"The outputs folder {str(outputs_root)!r} is a file; pass a folder "
                             f"(it is created when missing), such as outputs/.")
    seen: dict[tuple, Path] = {}
    for path in map(Path, params_files):
        params = load(path, nb, overrides=overrides)
        key = (params.get("team"), params.get("month"))
        if key in seen:
            raise ParameterError(f"{path.name} and {seen[key].name} both render team "
                                 f"{key[0]!r} for {key[1]!r}; keep one of them.")
        seen[key] = path
    workers = min(jobs or os.cpu_count() or 1, len(params_files))
    kwargs = dict(notebook=nb, outputs_root=outputs_root, kernel_name=kernel_name,
                  overrides=overrides)
    if workers == 1:
        outcomes = [_attempt(p, kwargs) for p in params_files]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            outcomes = list(pool.map(_attempt, params_files, [kwargs] * len(params_files)))
    errors = [o for o in outcomes if isinstance(o, str)]
    if errors and len(outcomes) == 1:
        raise RenderError(errors[0])
    if errors:
        done = sum(not isinstance(o, str) for o in outcomes)
        raise RenderError(f"{len(errors)} of {len(outcomes)} report(s) failed ({done} written): "
                          + " | ".join(errors))
    return outcomes  # type: ignore[return-value]


def _attempt(params_file: str | Path, kwargs: dict) -> RenderResult | str:
    try:
        return render(params_file, **kwargs)
    except (RenderError, ParameterError, BackendError) as exc:
        return f"{Path(params_file).name}: {exc}"

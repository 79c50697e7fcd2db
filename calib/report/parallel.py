"""The monthly report's work spread over the machine's cores, in forked copies of its kernel.

The report's own work (reading and analysing the month, then building ten sections whose eight
figures are about half of it: laying out their text, rasterising, encoding the PNGs) ran on one
core while the machine has more. In a kernel the runner started (:mod:`calib.render.kernel`),
on Linux:

* :func:`calib.report.load_month` analyses the month and computes the AI scoring calibration
  in two forked copies (:class:`Forked`) while the kernel imports the sections' modules;
* the first ``show_*`` call on a month starts that section and every later section of the
  report (:data:`REPORT_SECTIONS`) that draws figures (:data:`FORKED_SECTIONS`), each in its
  own forked copy, at most one per CPU at a time; each call then returns the section its copy
  built (:func:`section`), and the sections without figures are built in place.

A copy builds from the objects as they were when it was forked, touches no database connection
and no kernel socket (what it prints is dropped), writes its result to a private file and
leaves with ``os._exit``, without the kernel's exit handlers. When a copy fails, the kernel does
the same work itself, so an error is raised where it would have been, with its own traceback.
The page is the same, byte for byte; a section built in a copy comes back without its
``figures`` (the matplotlib objects: they are drawn into its HTML already).

Interactive sessions, nbval and plain papermill runs, and systems other than Linux do
everything in place, as before.
"""

from __future__ import annotations

import functools
import io
import os
import pickle
import sys
import tempfile
import warnings
from typing import Any, Callable

from calib.render.kernel import runner_started as _in_runner_kernel

#: The monthly report's sections in the notebook's order (``notebooks/04_monthly_report``).
REPORT_SECTIONS = ("show_header", "show_headline", "show_evaluators", "show_calibrations",
                   "show_questions", "show_agenda", "show_rubric", "show_consensus",
                   "show_ai_scoring", "show_appendix")

#: The sections that draw figures, the heaviest first (the demo month: 0.6, 0.4, 0.2, 0.2,
#: 0.15 s of one core), so that the cores end together instead of one waiting for the longest
#: section started last. The others take a few milliseconds: they are built in place.
FORKED_SECTIONS = ("show_evaluators", "show_questions", "show_appendix", "show_calibrations",
                   "show_headline")

#: Seconds a copy may take before it is stopped and its work done in place (a safety net: a
#: section of a normal month takes well under a second).
COPY_TIMEOUT = 300.0

_in_copy = False  # set in every forked copy: a copy never forks again
_folder: str | None = None  # this process's private folder for the copies' results


def forking() -> bool:
    """Whether the report forks here: a kernel the runner started, on Linux, and not itself one
    of its copies."""
    return (_in_runner_kernel() and sys.platform.startswith("linux") and hasattr(os, "fork")
            and not _in_copy)


def _workers() -> int:
    return max(1, len(os.sched_getaffinity(0)))


def _result_path() -> str:
    """A new file name in this process's private folder: made on demand, removed with the last
    result taken from it and at exit (results no cell took, after a failed cell). The runner
    gives its kernels a temporary folder of their own and removes it after the run, since it may
    stop a finished kernel without running its exit handlers."""
    global _folder
    if _folder is None or not os.path.isdir(_folder):
        _folder = tempfile.mkdtemp(prefix="calib-forked-")
        import atexit
        import shutil

        atexit.register(shutil.rmtree, _folder, True)
    handle, path = tempfile.mkstemp(dir=_folder, suffix=".pickle")
    os.close(handle)
    return path


def _remove(path: str) -> None:
    """Remove a result file, and the private folder with the last one."""
    os.unlink(path)
    try:
        os.rmdir(os.path.dirname(path))
    except OSError:  # other results still in it
        pass


class Forked:
    """``fn()`` computed in a forked copy of this process while this one goes on.

    :meth:`result` returns the copy's value (pickled through a private file). Without ``fork``
    (default: :func:`forking`), or when the copy failed, :meth:`result` calls ``fn``
    here, so its exception is raised in this process. ``fn`` must not use a database
    connection or a socket this process opened.
    """

    def __init__(self, fn: Callable[[], Any], *, fork: bool | None = None) -> None:
        self._fn = fn
        self._pid: int | None = None
        if not (forking() if fork is None else fork):
            return
        path = _result_path()
        try:
            with warnings.catch_warnings():
                # Python 3.12+ warns on fork in a process with threads (the kernel's own I/O
                # threads): the copy only computes, writes one file and leaves at once.
                warnings.simplefilter("ignore", DeprecationWarning)
                pid = os.fork()
        except OSError:  # no memory or process left for a copy: the work is done here
            _remove(path)
            return
        self._path = path
        if pid == 0:  # the copy
            global _in_copy
            _in_copy = True
            code = 1
            try:
                sys.stdout = sys.stderr = io.StringIO()
                payload = pickle.dumps(fn(), protocol=pickle.HIGHEST_PROTOCOL)
                with open(self._path, "wb") as handle:
                    handle.write(payload)
                code = 0
            except BaseException:  # noqa: BLE001 - result() runs fn here and raises
                pass
            finally:
                os._exit(code)
        self._pid = pid

    @property
    def running(self) -> bool:
        return self._pid is not None

    def wait(self) -> None:
        """Wait for the copy to end (nothing to wait for without one); a copy still running
        after :data:`COPY_TIMEOUT` is stopped, and :meth:`result` does its work here."""
        if self._pid is None:
            return
        if not _ended([self._pid], COPY_TIMEOUT):
            os.kill(self._pid, 9)
        _, status = os.waitpid(self._pid, 0)
        self._pid = None
        self._ok = os.waitstatus_to_exitcode(status) == 0

    def result(self) -> Any:
        """The value of ``fn()`` (waits for the copy)."""
        if not hasattr(self, "_path"):
            return self._fn()
        self.wait()
        try:
            if self._ok:
                with open(self._path, "rb") as handle:
                    return pickle.load(handle)
        finally:
            _remove(self._path)
        return self._fn()


def preload_sections() -> None:
    """In a runner-started kernel, import the report's section modules now (matplotlib with
    them), while forked copies compute; elsewhere they load on first use."""
    if forking():
        import calib.report as report

        for name in REPORT_SECTIONS:
            getattr(report, name)


def section(fn: Callable) -> Callable:
    """Decorate a ``show_*(data)`` function of the report: in a runner-started kernel, its
    first call on a month starts it and the report's later sections in forked copies, and each
    call with only ``data`` returns what its copy built."""

    @functools.wraps(fn)
    def show(data: Any, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs or not forking():
            return fn(data, *args, **kwargs)
        jobs = getattr(data, "_section_jobs", None)
        if jobs is None and fn.__name__ in REPORT_SECTIONS:
            jobs = data._section_jobs = _start(
                data, REPORT_SECTIONS[REPORT_SECTIONS.index(fn.__name__):])
        job = (jobs or {}).pop(fn.__name__, None)
        return job.result() if job is not None else fn(data)

    show.built_in_place = fn
    return show


def _start(data: Any, names: tuple[str, ...]) -> dict[str, Forked]:
    """Start ``names`` in forked copies, in order, at most one per CPU running at a time."""
    import calib.report as report

    preload_sections()  # every section's module, matplotlib with them, before any fork
    functions = {name: getattr(report, name).built_in_place for name in FORKED_SECTIONS
                 if name in names}
    jobs: dict[str, Forked] = {}
    for name, fn in functions.items():
        while sum(job.running for job in jobs.values()) >= _workers():
            _wait_for_any([job for job in jobs.values() if job.running])
        jobs[name] = Forked(functools.partial(_without_figures, fn, data), fork=True)
    return jobs


def _wait_for_any(jobs: list[Forked]) -> None:
    """Wait until one of ``jobs`` ended: a core freed by a short section takes the next one at
    once (where Linux cannot tell which ends first, wait for the oldest)."""
    ended = _ended([job._pid for job in jobs], COPY_TIMEOUT)
    for job in jobs:
        if job._pid in ended or not ended:
            job.wait()
            return


def _ended(pids: list[int], timeout: float) -> set[int]:
    """The pids among ``pids`` that ended within ``timeout`` seconds (without reaping them);
    all of them, at once, where Linux has no process handles (before 5.3)."""
    import select

    handles: dict[int, int] = {}
    try:
        for pid in pids:
            handles[os.pidfd_open(pid)] = pid
    except (AttributeError, OSError):
        for handle in handles:
            os.close(handle)
        return set(pids)
    try:
        ready, _, _ = select.select(list(handles), [], [], timeout)
        return {handles[h] for h in ready}
    finally:
        for handle in handles:
            os.close(handle)


def _without_figures(fn: Callable, data: Any) -> Any:
    built = fn(data)
    if hasattr(built, "figures"):
        built.figures = {}  # drawn into the HTML already; Figures are heavy to send back
    return built

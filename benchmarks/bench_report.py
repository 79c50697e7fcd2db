"""Report rendering beside its floor, in one run.

The floor is an empty notebook (the report's parameters cell and nothing else) sent through the
very same path: parameter validation, papermill with a fresh kernel, nbconvert with calib's
offline template. Whatever the report costs above that floor is calib's own work: starting the
sandbox, syncing the history months, the statistics and the figures.

1. One team (``parameters/demo.yaml``): best wall time of the report, of the empty floor and of
   the *import floor* (issue 16: the parameters cell, then a cell that imports pandas,
   scipy.stats, matplotlib and SQLAlchemy and draws one figure, through the same path), and the
   ratios (targets: at most 2x the empty floor, at most 1.5x the import floor).
2. The sandbox's three calibrated teams in parallel (``--jobs`` = CPUs), each with its own
   store: wall time of all reports beside as many floors, and the ratio (target: at most 2x).
   (Twenty labels over three calibrators were used before the report refused unknown teams.)

Wall time, and CPU time of the runner plus its kernel (the kernel is a child process, reaped
before ``render`` returns, so ``RUSAGE_CHILDREN`` counts it). Other load on the machine inflates
both sides' wall times alike, which is why they run side by side; CPU time moves less with the
load, so both ratios are printed, with the load average before and after. The report reads a
store in the benchmark's own folder (not ``outputs/calib.sqlite``): its first run syncs the
history months into an empty store (printed as "first run"), the later ones find the store up to
date, as ``make report`` does when nothing changed.

    python -m benchmarks.bench_report            # 1 team x 3 repeats, 3 teams in parallel
    python -m benchmarks.bench_report --quick    # 1 team once, 3 teams
    python -m benchmarks.bench_report --one-team # part 1 only
    python -m benchmarks.bench_report --one-team --repeats 7  # best of 7 on a noisy machine
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "notebooks" / "04_monthly_report.ipynb"
CALIBRATORS = {"demo": "quinn.calder@demo.example", "north": "nora.lindqvist@demo.example",
               "pilot": "pat.okafor@demo.example"}


def floor_notebook(folder: Path) -> Path:
    """The report's parameters cell alone (no summary and no sync are required of it)."""
    nb = nbformat.read(REPORT, as_version=4)
    nb.cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    # the floor writes no summary and syncs nothing: keep the parameter rules only
    nb.metadata["calib"] = {"rules": nb.metadata["calib"]["rules"], "writes": []}
    path = folder / "floor.ipynb"
    nbformat.write(nb, path)
    return path


IMPORT_FLOOR_CELL = """import pandas as pd
import scipy.stats
import sqlalchemy
from matplotlib.figure import Figure
from calib.report.display import figure_html, Section

fig = Figure(figsize=(4, 3))
fig.add_subplot().plot(pd.Series([1.0, 2.0, 3.0]), scipy.stats.norm.pdf([1.0, 2.0, 3.0]))
Section("Floor", figure_html(fig, alt="one figure"))"""


def import_floor_notebook(folder: Path) -> Path:
    """The parameters cell, then the libraries the report uses and one figure."""
    nb = nbformat.read(floor_notebook(folder), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(IMPORT_FLOOR_CELL))
    path = folder / "import_floor.ipynb"
    nbformat.write(nb, path)
    return path


def team_files(folder: Path, count: int) -> list[Path]:
    """Parameter files for the sandbox's teams (at most its three calibrated teams: the report
    refuses a team the org does not have, so labels cannot stand in for teams any more)."""
    base = yaml.safe_load((ROOT / "parameters" / "demo.yaml").read_text())
    files = []
    for team, email in list(CALIBRATORS.items())[:count]:
        store = folder / f"bench-{team}.sqlite"
        params = {**base, "team": team, "calibrators": [email], "store_url": f"sqlite:///{store}"}
        path = folder / f"bench-{team}.yaml"
        path.write_text(yaml.safe_dump(params, sort_keys=False))
        files.append(path)
    return files


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def cpu_seconds() -> float:
    """User + system CPU of this process and of its reaped children (the kernels)."""
    own, kids = (resource.getrusage(resource.RUSAGE_SELF),
                 resource.getrusage(resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed_both(fn) -> tuple[float, float]:
    """Wall and CPU seconds of ``fn()``."""
    cpu = cpu_seconds()
    wall = timed(fn)
    return wall, cpu_seconds() - cpu


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def demo_params(folder: Path) -> Path:
    """``parameters/demo.yaml`` with a store in the benchmark's folder."""
    params = yaml.safe_load((ROOT / "parameters" / "demo.yaml").read_text())
    params["store_url"] = f"sqlite:///{folder / 'bench-demo.sqlite'}"
    path = folder / "demo.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--one-team", action="store_true",
                        help="part 1 only (the report against its floors), not the teams in "
                             "parallel")
    parser.add_argument("--repeats", type=int, default=None,
                        help="runs of each side in part 1 (default 3, 1 with --quick)")
    args = parser.parse_args(argv)

    from calib.render.runner import RenderError, render, render_many

    repeats, teams = (1, 3) if args.quick else (3, 3)
    repeats = args.repeats or repeats
    jobs = os.cpu_count() or 1
    work = Path(tempfile.mkdtemp(prefix="calib-bench-report-"))
    try:
        import_floor = import_floor_notebook(work)
        floor = floor_notebook(work)
        demo = demo_params(work)
        out = work / "outputs"
        print(f"load average before: {load_average()} ({os.cpu_count()} CPUs)")
        first = timed_both(lambda: render(demo, notebook=REPORT, outputs_root=out))
        report_times, floor_times, import_times = [], [], []
        for _ in range(repeats):  # alternate, so slow phases of the machine hit every side
            floor_times.append(timed_both(lambda: render(demo, notebook=floor,
                                                         outputs_root=out)))
            import_times.append(timed_both(lambda: render(demo, notebook=import_floor,
                                                          outputs_root=out)))
            report_times.append(timed_both(lambda: render(demo, notebook=REPORT,
                                                          outputs_root=out)))
        for label, pick in (("wall", 0), ("cpu ", 1)):
            one_report = min(t[pick] for t in report_times)
            one_floor = min(t[pick] for t in floor_times)
            one_import = min(t[pick] for t in import_times)
            print(f"one team, {label}: report {one_report:5.2f} s | empty floor "
                  f"{one_floor:5.2f} s (ratio {one_report / one_floor:4.2f}x, target <= 2x) | "
                  f"import floor {one_import:5.2f} s (ratio {one_report / one_import:4.2f}x, "
                  f"target <= 1.5x); best of {repeats}")
        print(f"first run (empty store, six months synced): {first[0]:5.2f} s wall, "
              f"{first[1]:5.2f} s cpu")
        print(f"load average after: {load_average()}")
        if args.one_team:
            return 0

        files = team_files(work, teams)
        par_floor = timed(lambda: render_many(files, jobs=jobs, notebook=floor,
                                              outputs_root=work / "floor-out"))
        failures: list[str] = []

        def many() -> None:
            try:
                render_many(files, jobs=jobs, notebook=REPORT, outputs_root=work / "out-many")
            except RenderError as exc:  # time what ran, and say what failed
                failures.append(str(exc))

        par_report = timed(many)
        print(f"{teams} teams, {jobs} jobs: report {par_report:6.1f} s | floor {par_floor:6.1f} s"
              f" | ratio {par_report / par_floor:4.2f}x (target <= 2x) | "
              f"{par_report / teams:5.1f} s per team")
        if failures:
            print(f"FAILED: {failures[0][:600]}")
            return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

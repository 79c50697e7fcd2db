"""Report rendering beside its floor, in one run.

The floor is an empty notebook (the report's parameters cell and nothing else) sent through the
very same path: parameter validation, papermill with a fresh kernel, nbconvert with calib's
offline template. Whatever the report costs above that floor is calib's own work: starting the
sandbox, syncing the history months, the statistics and the figures.

1. One team (``parameters/demo.yaml``): best wall time of the report and of the floor, and the
   ratio (target: at most 2x).
2. Twenty teams in parallel (``calib report`` with 20 parameter files, ``--jobs`` = CPUs): the
   teams are labels over the sandbox's three calibrators (each with its own SQLite store, since a
   calibration belongs to one team), so each renders a full month. Wall time
   of all twenty reports beside twenty floors, and the ratio (target: at most 2x).

Wall time, not CPU time: the kernel is another process. Other load on the machine inflates both
sides alike, which is why they run side by side.

    python -m benchmarks.bench_report            # 1 team x 3 repeats, 20 teams
    python -m benchmarks.bench_report --quick    # 1 team once, 3 teams
"""

from __future__ import annotations

import argparse
import os
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
    """The report's parameters cell alone (no summary, so no summary is required of it)."""
    nb = nbformat.read(REPORT, as_version=4)
    nb.cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    path = folder / "floor.ipynb"
    nbformat.write(nb, path)
    return path


def team_files(folder: Path, count: int) -> list[Path]:
    """``count`` parameter files, teams bench-01… over the sandbox's three calibrators."""
    base = yaml.safe_load((ROOT / "parameters" / "demo.yaml").read_text())
    sources = list(CALIBRATORS.items())
    files = []
    for i in range(count):
        source, email = sources[i % len(sources)]
        # A calibration belongs to one team in a store, so each label gets its own store.
        store = folder / f"bench-{i + 1:02d}.sqlite"
        params = {**base, "team": f"bench-{i + 1:02d}", "calibrators": [email],
                  "store_url": f"sqlite:///{store}"}
        path = folder / f"bench-{i + 1:02d}.yaml"
        path.write_text(yaml.safe_dump(params, sort_keys=False))
        files.append(path)
    return files


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    args = parser.parse_args(argv)

    from calib.render.runner import RenderError, render, render_many

    repeats, teams = (1, 3) if args.quick else (3, 20)
    jobs = os.cpu_count() or 1
    work = Path(tempfile.mkdtemp(prefix="calib-bench-report-"))
    try:
        floor = floor_notebook(work)
        demo = ROOT / "parameters" / "demo.yaml"
        out = work / "outputs"
        report_times, floor_times = [], []
        for _ in range(repeats):  # alternate, so slow phases of the machine hit both sides
            floor_times.append(timed(lambda: render(demo, notebook=floor, outputs_root=out)))
            report_times.append(timed(lambda: render(demo, notebook=REPORT, outputs_root=out)))
        one_report, one_floor = min(report_times), min(floor_times)
        print(f"one team: report {one_report:6.1f} s | floor {one_floor:6.1f} s | "
              f"ratio {one_report / one_floor:4.2f}x (target <= 2x; best of {repeats})")

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

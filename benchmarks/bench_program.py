"""A program tick over many teams: nothing due, and every team's report due beside its floor.

1. **Nothing due** (target: under 2 s for 20 teams): 20 program files whose current cycle is
   created and waiting for its deadline (its select and create steps are in the ledger). One
   ``run_programs`` of the folder opens the org and the store once, reads each program and
   its ledger, and finds nothing to do. Best wall time of a few runs.
2. **Every report due** (target: at most 1.2x the floor): the programs of the demo org's three
   teams (``demo``, ``north``, ``pilot``), repeated up to the team count, each copy with its
   own store and outputs (a calibration belongs to one team in a store), are ticked through
   select, create, status and reveal (not timed); then the clock reaches the report step and
   one tick renders every team's report and agenda. The floor is ``calib report`` alone on the
   very same report parameter files, one after another as the tick renders them (the runner's
   sync included on both sides), each on a copy of its store as it stood just before the timed
   tick: otherwise the floor would find the history months the tick's sync had just written and
   sync nothing, an advantage ``calib report`` run on its own never has. Each side runs in a
   fresh Python process (``calib program run --yes``; the floor renders its files one after
   another in one process), so neither inherits the other's imports. Ratio = tick / floor.

Both run against the persistent demo org in a throw-away state folder, as the command does.

    python -m benchmarks.bench_program            # 20 teams nothing due, 20 reports
    python -m benchmarks.bench_program --quick    # 20 teams nothing due, 3 reports
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
TEAMS = {"demo": ("quinn.calder@demo.example", "deadline"),
         "north": ("nora.lindqvist@demo.example", "deadline"),
         "pilot": ("pat.okafor@demo.example", "deadline")}
ANCHOR = "2026-12-01T09:00:00Z"
#: The idle programs start after the busy ones' report (the org clock never moves back).
IDLE_ANCHOR = "2027-01-04T09:00:00Z"


def program(team: str, calibrator: str, *, store: Path, outputs: Path, seed: int,
            anchor: str = ANCHOR) -> dict:
    return {"team": team, "backend": "sandbox", "sandbox_seed": 7,
            "store_url": f"sqlite:///{store}", "cadence": "monthly", "anchor": anchor,
            "calls": 3, "seed": seed, "calibrator_email": calibrator, "expert_email": calibrator,
            "deadline_days": 7, "meeting_days": 10, "report_lead_days": 1, "reveal": "deadline",
            "report": {"history_months": 3, "n_boot": 200}, "outputs": str(outputs)}


def nothing_due(work: Path, teams: int, repeats: int) -> float:
    """Best wall time of one tick over ``teams`` programs with nothing due."""
    from calib.program import read_program
    from calib.program.ledger import begin_step, end_step
    from calib.program.teams import run_programs
    from calib.sandbox.persist import load_org
    from calib.store import Store

    folder = work / "idle"
    folder.mkdir()
    store = work / "idle.sqlite"
    for i in range(teams):
        values = program(f"idle-{i + 1:02d}", "quinn.calder@demo.example", store=store,
                         outputs=work / "idle-out", seed=i, anchor=IDLE_ANCHOR)
        (folder / f"idle-{i + 1:02d}.yaml").write_text(yaml.safe_dump(values))
    org = load_org(Path(os.environ["CALIB_SANDBOX_DIR"]), 7)
    with org.changing():
        org.advance_clock(to=read_program(folder / "idle-01.yaml").cycle(0).start
                          + (read_program(folder / "idle-01.yaml").cycle(0).deadline
                             - read_program(folder / "idle-01.yaml").cycle(0).start) / 2)
    with Store(f"sqlite:///{store}") as s:
        for path in sorted(folder.glob("*.yaml")):
            p = read_program(path)
            plan = {"name": f"{p.team} seeded", "team": p.team, "month": "2026-12",
                    "focus": "general", "form_id": "f", "calibrator_id": "c", "expert_id": "e",
                    "panel_ids": ["a", "b"], "deadline": p.cycle(0).deadline.isoformat(),
                    "conversations": [{"conversation_id": "x"}]}
            for step, detail in (("select", {"plan": plan}), ("create", {"calibration_ids": []})):
                begin_step(s, p.team, 0, step, p.cycle(0).start)
                end_step(s, p.team, 0, step, "done", "seeded by the benchmark", detail)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        outcomes = run_programs(folder, dry_run=False)
        times.append(time.perf_counter() - start)
        acted = [a for o in outcomes for a in (o.result.actions if o.result else ())]
        failed = [o.error or o.result.error for o in outcomes if o.failed]
        if acted or failed:
            raise SystemExit(f"nothing should be due: {acted[:2]} {failed[:2]}")
    return min(times)


def reports_due(work: Path, teams: int) -> tuple[float, float, int]:
    """(tick seconds, floor seconds, reports) with every team's report due."""
    from calib.program import read_program
    from calib.program.teams import run_programs
    from calib.sandbox.persist import load_org

    folder = work / "busy"
    folder.mkdir()
    names = list(TEAMS)
    for i in range(teams):
        team = names[i % len(names)]
        calibrator, _policy = TEAMS[team]
        values = program(team, calibrator, store=work / f"busy-{i + 1:02d}.sqlite",
                         outputs=work / f"busy-out-{i + 1:02d}", seed=i)
        (folder / f"busy-{i + 1:02d}.yaml").write_text(yaml.safe_dump(values))
    cycle = read_program(folder / "busy-01.yaml").cycle(0)
    state = Path(os.environ["CALIB_SANDBOX_DIR"])

    def move_to(at) -> None:
        org = load_org(state, 7)
        with org.changing():
            org.advance_clock(to=at)

    def tick() -> list:
        outcomes = run_programs(folder, dry_run=False)
        failed = [f"{o.team}: {o.error or o.result.error}" for o in outcomes if o.failed]
        if failed:
            raise SystemExit("a tick failed: " + " | ".join(failed[:3]))
        return outcomes

    for at in (cycle.start, cycle.deadline):  # select, create, status, reveal: not timed
        move_to(at)
        tick()
    move_to(cycle.report_due)
    for i in range(teams):  # the floor starts from the store the tick starts from
        shutil.copyfile(work / f"busy-{i + 1:02d}.sqlite", work / f"floor-{i + 1:02d}.sqlite")
    start = time.perf_counter()
    subprocess.run([str(Path(sys.executable).with_name("calib")), "program", "run", str(folder),
                    "--yes"], check=True, stdout=subprocess.DEVNULL)
    tick_seconds = time.perf_counter() - start
    rendered = list(work.glob("busy-out-*/programs/*/*/report/**/*.html"))
    floor_params = []
    for i in range(teams):
        [path] = work.glob(f"busy-out-{i + 1:02d}/programs/*/*/report-params.yaml")
        values = yaml.safe_load(path.read_text())
        values["store_url"] = f"sqlite:///{work / f'floor-{i + 1:02d}.sqlite'}"
        floor_params.append(work / f"floor-{i + 1:02d}.yaml")
        floor_params[-1].write_text(yaml.safe_dump(values))
    floor = ("import sys\n"
             "from pathlib import Path\n"
             "from calib.render.runner import find_notebook, render\n"
             "notebook = find_notebook('04_monthly_report.ipynb')\n"
             "for i, path in enumerate(sys.argv[2:]):\n"
             "    render(Path(path), notebook=notebook,\n"
             "           outputs_root=Path(sys.argv[1]) / str(i))\n")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", floor, str(work / "floor"),
                    *map(str, floor_params)], check=True, stdout=subprocess.DEVNULL)
    floor_seconds = time.perf_counter() - start
    return tick_seconds, floor_seconds, len(rendered)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    args = parser.parse_args(argv)
    idle_teams, busy_teams, repeats = (20, 3, 2) if args.quick else (20, 20, 3)
    work = Path(tempfile.mkdtemp(prefix="calib-bench-program-"))
    os.environ["CALIB_SANDBOX_DIR"] = str(work / "sandbox")
    os.environ.pop("CALIB_STORE_URL", None)
    try:
        tick_s, floor_s, n = reports_due(work, busy_teams)
        idle = nothing_due(work, idle_teams, repeats)
        print(f"nothing due, {idle_teams} teams: one tick {idle:5.2f} s (target < 2 s; best of "
              f"{repeats})")
        print(f"every report due, {busy_teams} teams: tick {tick_s:6.1f} s for {n} report(s) | "
              f"calib report alone {floor_s:6.1f} s | ratio {tick_s / floor_s:4.2f}x "
              f"(target <= 1.2x)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Run every ``benchmarks/bench_*.py`` one after another, each in its own Python process.

Usage::

    python -m benchmarks            # full runs
    python -m benchmarks --quick    # smoke runs (each benchmark's --quick)
    python -m benchmarks --only client selection --quick
    python -m benchmarks --list

A fresh process per benchmark keeps timings and peak-memory figures from leaking between them.
The exit status is non-zero when any benchmark failed; the others still run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def discover() -> list[str]:
    """Names (without ``bench_``) of the benchmark scripts, sorted."""
    return sorted(p.stem[len("bench_"):] for p in HERE.glob("bench_*.py"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="pass --quick to every benchmark (smoke run)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these (e.g. client selection)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    names = discover()
    if args.list:
        print("\n".join(names))
        return 0
    if args.only:
        unknown = sorted(set(args.only) - set(names))
        if unknown:
            parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(names)}.")
        names = [n for n in names if n in args.only]
    failed = []
    for name in names:
        command = [sys.executable, "-m", f"benchmarks.bench_{name}"] + (["--quick"] if args.quick else [])
        print(f"\n=== bench_{name}{' --quick' if args.quick else ''} ===", flush=True)
        started = time.perf_counter()
        code = subprocess.call(command, cwd=HERE.parent)
        print(f"=== bench_{name}: {'ok' if code == 0 else f'FAILED (exit {code})'} "
              f"in {time.perf_counter() - started:.1f} s ===", flush=True)
        if code != 0:
            failed.append(name)
    if failed:
        print(f"\n{len(failed)} benchmark(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

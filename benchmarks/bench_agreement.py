"""Agreement statistics beside their reference implementations, in one run.

1. ICC, all six forms with F tests and CIs: :func:`calib.stats.icc` against
   ``pingouin.intraclass_corr`` on complete 60x8, 600x12 and 2,400x20 tables (target: at least
   100x faster at 2,400x20).
2. Interval Krippendorff's alpha on integer 0-100 scores with 30% missing cells:
   :func:`calib.stats.krippendorff_alpha` against ``krippendorff.alpha`` at the same sizes
   (target: faster at every size).
3. Interval alpha on decimal scores (two decimals) at 2,400x20 with 30% missing (target: under
   50 ms for the point estimate). ``krippendorff.alpha`` builds a units x values x values
   array in its coincidence step and cannot run at that size, so this prints the memory that
   array would need and compares both on a smaller decimal case instead.

Both sides get the same data. calib's timings include turning the long table into a matrix
(its input is the tidy long frame); pingouin also starts from the long frame; krippendorff is
handed the raters x units array it needs, so that conversion is not charged to it. Each timing
is the best of several runs, in CPU seconds of the process (``time.process_time``), so other
load on the machine does not skew the ratios.

    python -m benchmarks.bench_agreement            # full sizes
    python -m benchmarks.bench_agreement --quick    # a smoke run
"""

from __future__ import annotations

import argparse
import time
import warnings
from typing import Callable

import numpy as np
import pandas as pd

SIZES = ((60, 8), (600, 12), (2400, 20))
MAX_REFERENCE_BYTES = 1 << 30  # never let the reference allocate more than 1 GiB


def _best(func: Callable[[], object], repeats: int) -> float:
    """Best CPU time of ``repeats`` calls, in seconds.

    CPU time of this process (``time.process_time``) rather than wall time, so that other
    load on a shared machine does not skew the ratios; both sides are single-threaded here.
    """
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        func()
        best = min(best, time.process_time() - start)
    return best


def _scores(units: int, raters: int, *, seed: int, decimals: bool, missing: float
            ) -> tuple[pd.DataFrame, np.ndarray]:
    """A long scores frame and its units x raters matrix (NaN = missing)."""
    rng = np.random.default_rng(seed)
    matrix = (rng.normal(80, 8, (units, 1)) + rng.normal(0, 3, (1, raters))
              + rng.normal(0, 5, (units, raters)))
    matrix = np.clip(matrix.round(2) if decimals else matrix.round(), 0, 100)
    if missing:
        matrix[rng.random(matrix.shape) < missing] = np.nan
    frame = pd.DataFrame({
        "calibration_id": [f"cal-{i:05d}" for i in np.repeat(np.arange(units), raters)],
        "evaluator_id": [f"eval-{j:02d}" for j in np.tile(np.arange(raters), units)],
        "total_score": matrix.ravel(),
    })
    return frame, matrix


def bench_icc(sizes: tuple[tuple[int, int], ...], repeats: int) -> None:
    import pingouin

    from calib.stats import icc

    print("ICC, six forms with F tests and CIs (complete tables)")
    print(f"{'size':>10} {'calib ms':>10} {'pingouin ms':>12} {'ratio':>8}")
    for units, raters in sizes:
        frame, _ = _scores(units, raters, seed=units, decimals=True, missing=0.0)
        ours = _best(lambda: icc(frame), repeats)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = _best(lambda: pingouin.intraclass_corr(
                frame, targets="calibration_id", raters="evaluator_id",
                ratings="total_score"), max(1, repeats // 2))
        print(f"{units:>5}x{raters:<4} {ours * 1e3:>10.2f} {theirs * 1e3:>12.1f} "
              f"{theirs / ours:>7.0f}x")


def bench_alpha_integer(sizes: tuple[tuple[int, int], ...], repeats: int) -> None:
    import krippendorff

    from calib.stats import krippendorff_alpha

    print("\nInterval alpha, integer scores, 30% missing")
    print(f"{'size':>10} {'calib ms':>10} {'krippendorff ms':>16} {'ratio':>8}")
    for units, raters in sizes:
        frame, matrix = _scores(units, raters, seed=units + 1, decimals=False, missing=0.3)
        ours = _best(lambda: krippendorff_alpha(frame), repeats)
        theirs = _best(lambda: krippendorff.alpha(reliability_data=matrix.T,
                                                  level_of_measurement="interval"), repeats)
        check = abs(krippendorff_alpha(frame).alpha - krippendorff.alpha(
            reliability_data=matrix.T, level_of_measurement="interval"))
        print(f"{units:>5}x{raters:<4} {ours * 1e3:>10.2f} {theirs * 1e3:>16.2f} "
              f"{theirs / ours:>7.1f}x   |difference| {check:.1e}")


def bench_alpha_decimal(big: tuple[int, int], small: tuple[int, int], repeats: int) -> None:
    import krippendorff

    from calib.stats import krippendorff_alpha

    print("\nInterval alpha, decimal scores (2 decimals), 30% missing")
    frame, matrix = _scores(*big, seed=7, decimals=True, missing=0.3)
    distinct = np.unique(matrix[~np.isnan(matrix)]).size
    ours = _best(lambda: krippendorff_alpha(frame), repeats)
    boot = _best(lambda: krippendorff_alpha(frame, n_boot=1000, seed=1), 1)
    print(f"{big[0]}x{big[1]}: calib {ours * 1e3:.1f} ms (target < 50 ms); with a 1,000-"
          f"replicate bootstrap CI {boot * 1e3:.0f} ms")
    print(f"  krippendorff.alpha not run: with {distinct:,} distinct values its coincidence "
          f"step builds a units x values x values float64 array of "
          f"{big[0] * distinct ** 2 * 8 / 2 ** 30:,.0f} GiB")
    frame, matrix = _scores(*small, seed=8, decimals=True, missing=0.3)
    distinct = np.unique(matrix[~np.isnan(matrix)]).size
    needed = small[0] * distinct ** 2 * 8
    if needed > MAX_REFERENCE_BYTES:
        print(f"{small[0]}x{small[1]}: krippendorff would need {needed / 2 ** 30:.1f} GiB; "
              f"skipped (limit {MAX_REFERENCE_BYTES / 2 ** 30:.0f} GiB)")
        return
    ours = _best(lambda: krippendorff_alpha(frame), repeats)
    theirs = _best(lambda: krippendorff.alpha(reliability_data=matrix.T,
                                              level_of_measurement="interval"), 1)
    print(f"{small[0]}x{small[1]} ({distinct:,} distinct values): calib {ours * 1e3:.2f} ms, "
          f"krippendorff {theirs * 1e3:.0f} ms, ratio {theirs / ours:.0f}x")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    args = parser.parse_args(argv)
    if args.quick:
        sizes, repeats = ((60, 8), (300, 10)), 2
        big, small = (600, 12), (60, 6)
    else:
        sizes, repeats = SIZES, 5
        big, small = (2400, 20), (100, 8)
    bench_icc(sizes, repeats)
    bench_alpha_integer(sizes, repeats)
    bench_alpha_decimal(big, small, repeats)


if __name__ == "__main__":
    main()

"""Sensitivity analysis speed: a Saltelli design on the baseline, and what base 1024 over every free parameter costs.

    python benchmarks/bench_sensitivity.py [--base 32] [--replicates 10] [--workers 2]

Runs a Sobol design over the baseline's mechanism coefficients (the ranges of
experiments/sensitivity.py), prints points per second and simulated records
per second against the fixed-parameter batch engine measured in the same run,
and extrapolates the time of a Saltelli design with base 1024 over the
baseline's 13 default free parameters (goal: under 2 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import harmsim
from harmsim.calibrate.mle import default_free
from harmsim.sensitivity import sensitivity

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments"))
from sensitivity import RANGES


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", type=int, default=32)
    ap.add_argument("--replicates", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args(argv)
    sc = harmsim.load_scenario("baseline")
    t = time.perf_counter()
    harmsim.run_ensemble(sc, replicates=20_000, seed=1)
    fixed = 20_000 / (time.perf_counter() - t)
    t = time.perf_counter()
    kw = dict(ranges=RANGES, method="sobol", base=a.base, replicates=a.replicates, seed=0, workers=a.workers)
    res = sensitivity(sc, **kw)
    dt = time.perf_counter() - t
    n = len(res.points)
    records = n * a.replicates / dt
    d = len(default_free(sc, sc.record))
    full = 1024 * (2 * d + 2)
    print(f"fixed-parameter batch engine, 1 process   {fixed:10,.0f} records/s")
    print(
        f"Sobol design, {n} points x {a.replicates} replicates, {a.workers} workers: {dt:6.1f} s, "
        f"{n / dt:6.1f} points/s, {records:,.0f} records/s (ratio to the fixed-parameter engine {records / fixed:.2f})"
    )
    print(
        f"Saltelli base 1024 over {d} parameters = {full:,} points x {a.replicates} replicates: about "
        f"{full / (n / dt) / 60:.0f} min at this rate (goal < 2 min on 2 cores)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Sensitivity analysis speed: a Saltelli design with base 1024 over the baseline's 15 free parameters.

    python benchmarks/bench_sensitivity.py [--base 1024] [--replicates 10] [--workers 2]

Runs a Sobol design over the ranges the baseline declares (its 15 free
parameters: 32,768 points at base 1024), and prints its time, points per
second and simulated records per second against the fixed-parameter batch
engine measured in the same run (goal: base 1024 under 2 minutes on 2
cores). ``--base 64`` for a quick look (the rate, extrapolated to base 1024).
"""

from __future__ import annotations

import argparse
import sys
import time

import harmsim
from harmsim.analysis.sensitivity import sensitivity


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", type=int, default=1024)
    ap.add_argument("--replicates", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args(argv)
    sc = harmsim.load_scenario("baseline")
    t = time.perf_counter()
    harmsim.run_ensemble(sc, replicates=20_000, seed=1)
    fixed = 20_000 / (time.perf_counter() - t)
    t = time.perf_counter()
    kw = dict(method="sobol", base=a.base, replicates=a.replicates, seed=0, workers=a.workers)
    res = sensitivity(sc, **kw)
    dt = time.perf_counter() - t
    n = len(res.points)
    records = n * a.replicates / dt
    d = len(sc.ranges)
    full = 1024 * (2 * d + 2)
    print(f"fixed-parameter batch engine, 1 process   {fixed:10,.0f} records/s")
    print(
        f"Sobol design, {n} points x {a.replicates} replicates, {a.workers} workers: {dt:6.1f} s, "
        f"{n / dt:6.1f} points/s, {records:,.0f} records/s (ratio to the fixed-parameter engine {records / fixed:.2f})"
    )
    if n == full:
        print(f"Saltelli base 1024 over {d} parameters: {dt:.0f} s (goal < 120 s on 2 cores)")
    else:
        print(
            f"Saltelli base 1024 over {d} parameters = {full:,} points x {a.replicates} replicates: about "
            f"{full / (n / dt):.0f} s at this rate (goal < 120 s on 2 cores)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

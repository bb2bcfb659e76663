"""Sweep throughput: 1 against 2 worker processes, and a Dask LocalCluster against the pool.

    python benchmarks/bench_sweep.py [--points 1000] [--replicates 100] [--quick]

Every configuration runs the same Latin-hypercube sweep of the baseline
scenario (diffusion strength and non-binding agreement effect) and must give
the identical table; the script checks that and prints times and ratios.
Dask is optional: without ``distributed`` that line is skipped.
"""

from __future__ import annotations

import argparse
import os
import time

import pandas as pd

import harmsim
from harmsim.analysis.sweep import sweep

VARY = ["diffusion.strength=0:4", "agreements.nonbinding=0:1.5"]


def timed(**kw):
    t = time.perf_counter()
    res = sweep(harmsim.load_scenario("baseline"), VARY, sample="lhs", seed=1, progress=False, **kw)
    return time.perf_counter() - t, res.table


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1000)
    ap.add_argument("--replicates", type=int, default=100)
    ap.add_argument("--quick", action="store_true", help="100 points x 20 replicates")
    a = ap.parse_args(argv)
    pts, reps = (100, 20) if a.quick else (a.points, a.replicates)
    kw = dict(points=pts, replicates=reps)
    print(
        f"sweep of {pts} points x {reps} replicates (baseline, LHS over {len(VARY)} parameters), "
        f"{os.cpu_count()} CPUs\n"
    )
    t1, one = timed(workers=1, **kw)
    print(f"1 worker (in process)    {t1:7.1f} s   {pts / t1:7.1f} points/s")
    t2, two = timed(workers=2, **kw)
    pd.testing.assert_frame_equal(one, two)
    speedup = t1 / t2
    rate = pts / t2
    print(
        f"2 worker processes       {t2:7.1f} s   {rate:7.1f} points/s   speed-up {speedup:4.2f}x",
        "(goal >= 1.7x)",
    )
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        print("Dask LocalCluster        skipped (needs: pip install 'harmsim[distributed]')")
        return
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        client.submit(sum, [1]).result()  # cluster up before the clock starts
        t3, dask = timed(executor=client.get_executor(), **kw)
    pd.testing.assert_frame_equal(one, dask)
    print(
        f"Dask LocalCluster (2)    {t3:7.1f} s   {pts / t3:7.1f} points/s   overhead vs pool "
        f"{(t3 / t2 - 1) * 100:+5.1f}% (goal < 25%)"
    )
    print("\nall three tables identical")


if __name__ == "__main__":
    main()

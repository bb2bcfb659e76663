"""Forecast speed: 1,000 replicates to 2030 from a fit, against the fixed-parameter engine in the same run.

    python benchmarks/bench_forecast.py [--replicates 1000] [--workers 1]

Goal: a 1,000-replicate forecast of the baseline to 2030 from a maximum-
likelihood fit in under 10 s. A forecast runs one parameter set per
replicate, conditioned on the observed history; the ratio to the batch
engine's fixed-parameter ensemble of the same horizon, measured here, says
how much the per-replicate parameters cost (the parameter axis of the engine
is future work).
"""

from __future__ import annotations

import argparse
import time

import harmsim
from harmsim.analysis.forecast import forecast
from harmsim.calibrate import calibrate


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=1)
    a = ap.parse_args(argv)
    sc = harmsim.load_scenario("baseline")
    fit = calibrate(sc)
    forecast(sc, fit, until=2030, replicates=10, seed=0)  # warm caches (inputs compiled once per horizon)
    t = time.perf_counter()
    f = forecast(sc, fit, until=2030, replicates=a.replicates, seed=1, workers=a.workers)
    t_fc = time.perf_counter() - t
    long = sc.with_horizon(2030)
    t = time.perf_counter()
    harmsim.run_ensemble(long, replicates=a.replicates, seed=1)
    t_fixed = time.perf_counter() - t
    print(f"forecast to 2030, {a.replicates} replicates, {a.workers} worker(s): {t_fc:6.2f} s  (goal < 10 s)")
    print(f"fixed-parameter ensemble, same horizon and size:        {t_fixed:6.2f} s")
    print(f"ratio forecast / fixed-parameter:                      {t_fc / t_fixed:6.1f}x")
    print(f"({len(f.table)} probabilities, {len(f.cells)} cells)")


if __name__ == "__main__":
    main()

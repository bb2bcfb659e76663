"""The parameter axis on a non-linear parameter: ABC and Saltelli designs on `endogenous`, per simulation.

    python benchmarks/bench_axis.py [--replicates 2000]

The `endogenous` scenario's agreements arrive when members comply enough with the one before; its thresholds
(and, in that mode, the agreements' effects) are not linear coefficients. Measured in one process, one core,
the same machine and run:

1. a fixed-parameter ensemble of R replicates (one parameter set for all): the engine's speed;
2. ABC's inner loop: R replicates, each with its own draw of the thresholds, the agreements' effects,
   diffusion and the intercept from uniform priors (``run_draws``, what ABC, forecasts and counterfactuals
   call);
3. a Saltelli design over the two thresholds (SALib, 2 x 64 base points, 20 replicates a point) through
   ``sweep.evaluate``, per simulation, with the metrics every sweep computes.

Goal: 2 and 3 at no more than 2x the per-simulation cost of 1.
"""

from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")  # one core

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import harmsim  # noqa: E402
from harmsim.analysis.run import run_draws  # noqa: E402
from harmsim.analysis.sweep import evaluate  # noqa: E402
from harmsim.model import batch  # noqa: E402

PRIORS = {
    "agreements.threshold_nonbinding": (0.0, 0.5),
    "agreements.threshold_binding": (0.5, 1.0),
    "agreements.nonbinding": (0.0, 1.5),
    "diffusion.strength": (0.0, 3.0),
    "hazard.intercept": (-7.0, -4.5),
}


def _best(f, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=2000)
    a = ap.parse_args(argv)
    os.environ.setdefault("HARMSIM_PROGRESS", "0")
    sc = harmsim.load_scenario("endogenous")
    R = a.replicates
    seeds = harmsim.spawn_seeds(1, R)
    g = np.random.default_rng(np.random.SeedSequence(7))
    draws = pd.DataFrame({n: g.uniform(lo, hi, R) for n, (lo, hi) in PRIORS.items()})

    fixed = _best(lambda: batch.simulate(sc, seeds)) / R
    abc = _best(lambda: run_draws(sc, draws, seeds)) / R

    from SALib.sample import sobol as sobol_sample

    problem = {"num_vars": 2, "names": list(PRIORS)[:2], "bounds": [list(PRIORS[n]) for n in list(PRIORS)[:2]]}
    design = pd.DataFrame(sobol_sample.sample(problem, 64, calc_second_order=False, seed=3), columns=problem["names"])
    reps = 20
    sims = len(design) * reps
    saltelli = _best(lambda: evaluate(sc, design, replicates=reps, seed=0, progress=False), repeats=1) / sims
    one = pd.DataFrame({n: [float(sc.parameters()[n])] for n in problem["names"]})
    base = _best(lambda: evaluate(sc, one, replicates=sims, seed=0, progress=False), repeats=1) / sims

    print(f"scenario endogenous, {R} replicates, one core")
    print(f"{'':48s} {'per simulation':>15s} {'ratio':>7s}")
    print(f"{'1. fixed-parameter ensemble':48s} {fixed * 1e3:12.3f} ms {1.0:6.1f}x")
    print(f"{'2. ABC inner loop (5 parameters drawn per run)':48s} {abc * 1e3:12.3f} ms {abc / fixed:6.1f}x")
    print(f"{'3a. one sweep point, its runs and metrics':48s} {base * 1e3:12.3f} ms {base / fixed:6.1f}x")
    print(
        f"{f'3b. Saltelli design ({len(design)} points x {reps})':48s} {saltelli * 1e3:12.3f} ms "
        f"{saltelli / fixed:6.1f}x ({saltelli / base:.1f}x 3a)"
    )
    print("goal: 2 and 3b at no more than 2x of 1")


if __name__ == "__main__":
    main()

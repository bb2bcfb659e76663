"""harmsim's ABC-SMC against pyabc on the same problem, simulations per second.

    pip install pyabc      # optional; the benchmark says so if it is missing
    python benchmarks/bench_abc_pyabc.py [--sims 20000]

Same scenario (diffusion_only), same three uniform priors, same distance
(harmsim.calibrate.abc.distance on one batch-engine replicate per particle),
population 500, one core each. Prints both rates and their ratio, which is
why harmsim ships its own sampler.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import harmsim
from harmsim.calibrate import calibrate
from harmsim.calibrate.abc import distance
from harmsim.model import batch
from harmsim.model.params import RealRange
from harmsim.scoring.compare import aligned_years, fit_metrics, target

PRIORS = [
    RealRange("hazard.intercept", -5, 0),
    RealRange("diffusion.strength", -2, 5),
    RealRange("prerequisites.bundle", 0, 5),
]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sims", type=int, default=20_000)
    a = ap.parse_args(argv)
    sc = harmsim.load_scenario("diffusion_only")
    t = time.perf_counter()
    fit = calibrate(sc, "abc", priors=PRIORS, population=500, budget=a.sims, generations=50, min_acceptance=0.0, seed=1)
    ours = fit.log["diagnostics"]["simulations"] / (time.perf_counter() - t)
    print(f"harmsim ABC-SMC  {ours:8.0f} simulations/s  ({fit.log['diagnostics']['simulations']:,} simulations)")
    try:
        import pyabc
    except ImportError:
        print("pyabc            not installed (pip install pyabc) - skipped")
        return
    tg = target(sc, sc.record)
    seeds = iter(harmsim.spawn_seeds(2, 10 * a.sims))

    def model(p):
        s = sc.with_checked_values({r.name: float(p[r.name]) for r in PRIORS})
        adopt, _ = batch.simulate(s, [next(seeds)])
        return {"d": float(distance(fit_metrics(tg, aligned_years(tg, adopt)))[0])}

    prior = pyabc.Distribution(**{r.name: pyabc.RV("uniform", r.lo, r.hi - r.lo) for r in PRIORS})
    abc = pyabc.ABCSMC(
        model, prior, lambda x, y: x["d"], population_size=500, sampler=pyabc.sampler.SingleCoreSampler()
    )
    with tempfile.TemporaryDirectory() as tmp:
        abc.new("sqlite:///" + str(Path(tmp) / "abc.db"), {"d": 0.0})
        t = time.perf_counter()
        history = abc.run(max_total_nr_simulations=a.sims, max_nr_populations=50)
        elapsed = time.perf_counter() - t
        n = int(history.total_nr_simulations)
    theirs = n / elapsed
    print(f"pyabc ABC-SMC    {theirs:8.0f} simulations/s  ({n:,} simulations)")
    print(f"ratio            {ours / theirs:8.1f}x")


if __name__ == "__main__":
    main()

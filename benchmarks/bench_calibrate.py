"""Calibration speed: the exact-likelihood fit of the baseline, and ABC-SMC with 1e5 simulations.

    python benchmarks/bench_calibrate.py [--quick] [--workers 2]

Goals: the maximum-likelihood fit of the baseline, with its Hessian, under
10 s, also with state heterogeneity on; an ABC calibration with 1e5 simulated records under
15 s on two cores. The ABC run is timed against the fixed-parameter batch engine
measured in the same run (``--only abc`` runs that part alone).
"""

from __future__ import annotations

import argparse
import time

import harmsim
from harmsim.calibrate import calibrate
from harmsim.calibrate.likelihood import history, loglik, loglik_many, loglik_states
from harmsim.calibrate.mle import default_free


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1e4 simulations instead of 1e5")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--only", choices=("mle", "abc"), help="run one part")
    a = ap.parse_args(argv)
    sc = harmsim.load_scenario("baseline")
    if a.only != "abc":
        mle_part(sc)
    if a.only != "mle":
        abc_part(sc, a)


def mle_part(sc):
    h = history(sc, sc.record)
    n = 200

    def per_eval(fn):
        t = time.perf_counter()
        for i in range(n):
            fn(sc.with_checked_values({"diffusion.strength": 1.0 + i * 1e-4}), h)
        return (time.perf_counter() - t) / n

    exact = per_eval(loglik)
    midpoint = per_eval(lambda s, hh: loglik_states(s, hh).sum())  # the rule exactness replaced
    print(f"likelihood evaluation       {exact * 1e3:6.2f} ms (exact interval censoring)")
    print(f"  midpoint rule, same run   {midpoint * 1e3:6.2f} ms (ratio {exact / midpoint:.2f})")
    for name in ("baseline", "heterogeneity"):
        s0 = harmsim.load_scenario(name)
        h0 = history(s0, s0.record)
        free = default_free(s0, s0.record)
        base = s0.parameters()
        # a forward-difference gradient's parameter sets: the point and one neighbour per free parameter
        sets = [s0] + [s0.with_checked_values({f: base.get(f, 0.0) + 1e-6}) for f in free if f in base]
        loglik_many(sets, h0)
        t = time.perf_counter()
        for _ in range(5):
            loglik_many(sets, h0)
        block = (time.perf_counter() - t) / 5
        t = time.perf_counter()
        for _ in range(5):
            for s1 in sets:
                loglik(s1, h0)
        single = (time.perf_counter() - t) / 5
        print(
            f"gradient block of {len(sets):>2} sets, {name:<13} {block * 1e3:6.1f} ms; one at a time "
            f"{single * 1e3:6.1f} ms (ratio {single / block:.1f})"
        )
    for name in ("baseline", "heterogeneity"):
        t = time.perf_counter()
        fit = calibrate(harmsim.load_scenario(name))
        t_mle = time.perf_counter() - t
        evals = fit.log["diagnostics"]["likelihood evaluations"]
        print(
            f"MLE of {name:<20} {t_mle:6.2f} s  ({fit.n_params} free parameters, {evals} evaluations "
            f"incl. Hessian; goal < 10 s)"
        )


def abc_part(sc, a):
    """ABC-SMC with 1e5 simulations, and the fixed-parameter batch engine in the same run."""
    from harmsim.model import batch

    seeds = harmsim.spawn_seeds(4, 20_000)
    t = time.perf_counter()
    batch.simulate(sc, seeds)
    fixed = len(seeds) / (time.perf_counter() - t)
    print(f"fixed-parameter batch engine, 1 process {fixed:10,.0f} runs/s")
    budget = 10_000 if a.quick else 100_000
    free = [
        "hazard.intercept",
        "diffusion.strength",
        "agreements.nonbinding",
        "push_pull.migration",
        "prerequisites.bundle",
    ]
    t = time.perf_counter()
    abc = calibrate(
        sc,
        "abc",
        free=free,
        population=1000,
        budget=budget,
        generations=50,
        min_acceptance=0.0,
        seed=1,
        workers=a.workers,
    )
    t_abc = time.perf_counter() - t
    sims = abc.log["diagnostics"]["simulations"]
    print(
        f"ABC-SMC, {a.workers} workers       {t_abc:6.1f} s  ({sims:,} simulated records, "
        f"{abc.log['diagnostics']['generations run']} generations, {sims / t_abc:,.0f} records/s, "
        f"{sims / t_abc / (fixed * a.workers):.2f} of the fixed-parameter engine on as many cores; goal < 15 s for 1e5)"
    )
    print(abc.estimates[["parameter", "estimate", "se", "status"]].to_string(index=False))


if __name__ == "__main__":
    main()

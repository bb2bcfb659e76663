"""Speed at world scale: the world panel against the ASEAN scenario, per state-year, measured in one run.

    python benchmarks/bench_world.py [--quick] [--fit]

Prints, for ``world_baseline`` (188 states, 6 instruments, 1990-2015) and ``baseline`` (the ASEAN record,
11 states, 6 instruments, 1997-2015):

1. a 10,000-replicate ensemble (batch engine): seconds on one process and with two worker processes
   (wall clock, pool start-up included), replicates per second, and microseconds per state-instrument-year,
   with the ratio world / ASEAN;
2. peak traced memory of that ensemble (the adoption-year array and the engine's blocks);
3. the share of one process's time spent in diffusion's peer product, the dense (N x N) weights times the
   adopted indicators, which grows with N squared;
4. one evaluation of the log-likelihood, and the block of a gradient (every free parameter's neighbour),
   world and ASEAN, and ``world_organizations`` (the organizations' intercepts integrated out by importance
   sampling) with its ratio to ``world_baseline``, re-centred at each evaluation and with its proposal held
   as a fit holds it; the analytic gradient (:mod:`harmsim.calibrate.gradient`) against the block of
   differences, both models; with ``--fit`` also the whole maximum-likelihood fit of ``world_baseline``,
   standard errors included, with the analytic gradient and with forward differences (the baseline, about six
   minutes), and that of ``world_organizations`` with the analytic gradient (by differences it took 48
   minutes: too long to repeat in a benchmark);
5. one agreement unit's refit of the bindingness test on ``world_organizations`` (its first unit, from the
   scenario's values), the held proposal's rows moved along their tangents (what a refit does) against rows
   made afresh at every evaluation (``harmsim.calibrate.likelihood._shared.HOLD_ROWS`` False), and their ratio.

Targets (the world panel's goals): the ensemble under 10 s on two cores, the fit under 60 s. The figures are
wall-clock and CPU seconds on this machine at this moment: compare the ratios, which are measured side by side.
"""

from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")  # one core per process

import argparse  # noqa: E402
import cProfile  # noqa: E402
import pstats  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

import numpy as np  # noqa: E402

import harmsim  # noqa: E402
from harmsim.analysis import bindingness  # noqa: E402
from harmsim.analysis.run import run_draws  # noqa: E402
from harmsim.calibrate import likelihood, mle  # noqa: E402
from harmsim.calibrate.likelihood import history, loglik_gradient, loglik_many, set_shared_proposal  # noqa: E402
from harmsim.calibrate.mle import default_free, fit_mle  # noqa: E402
from harmsim.model.space import bounds_of  # noqa: E402


def cells(sc) -> int:
    """State-instrument-years the engine decides: its cost unit."""
    T, N, K = sc.world.shape
    return T * N * K


def ensemble_seconds(sc, replicates: int, workers: int) -> float:
    seeds = harmsim.spawn_seeds(2024, replicates)
    t = time.perf_counter()
    run_draws(sc, None, seeds, workers=workers)
    return time.perf_counter() - t


def diffusion_share(sc, replicates: int) -> float:
    seeds = harmsim.spawn_seeds(7, replicates)
    prof = cProfile.Profile()
    prof.enable()
    run_draws(sc, None, seeds)
    prof.disable()
    st = pstats.Stats(prof)
    total = st.total_tt
    # cumulative time of the term (the peer product it calls included)
    diff = sum(v[3] for k, v in st.stats.items() if k[0].endswith("diffusion.py") and k[2] == "dynamic")
    return diff / total if total else float("nan")


def _history(sc, held: bool):
    """The record's history; ``held``: the organization intercepts' proposal held at the scenario's values."""
    h = history(sc, sc.record)
    if held:
        set_shared_proposal(h, sc)
    return h


def likelihood_seconds(sc, held: bool = False) -> tuple[float, float]:
    h = _history(sc, held)
    free = default_free(sc, sc.record)
    loglik_many([sc], h)  # plans and caches once
    t = time.perf_counter()
    loglik_many([sc], h)
    one = time.perf_counter() - t
    t = time.perf_counter()
    loglik_many([sc] * (len(free) + 1), h)
    return one, time.perf_counter() - t


def gradient_seconds(sc, repeats: int = 5, held: bool = False) -> float:
    """One analytic gradient (the log-likelihood with it), the mean of ``repeats``."""
    h = _history(sc, held)
    free = default_free(sc, sc.record)
    bounds = [bounds_of(sc, n) for n in free]
    loglik_gradient(sc, h, free, bounds)
    t = time.perf_counter()
    for _ in range(repeats):
        loglik_gradient(sc, h, free, bounds)
    return (time.perf_counter() - t) / repeats


def _differences(scenario, hist, cells, free, bounds, x, midpoint=False):
    """The negative log posterior at ``x`` and its gradient by forward differences: ``len(x) + 1`` evaluations as
    one block, each parameter stepped inside its range (how a fit climbed before the analytic gradient; the
    baseline of the fit's speed-up)."""
    steps = mle._GRAD_STEP * np.maximum(1.0, np.abs(x))
    up = np.array([hi for _, hi in bounds])
    steps = np.where(x + steps <= up, steps, -steps)
    X = [x, *(x + np.eye(len(x))[j] * steps[j] for j in range(len(x)))]
    scs = [scenario.with_checked_values(mle._values(free, z)) for z in X]
    nll = -loglik_many(scs, hist, cells, midpoint=midpoint) - np.array([mle.penalty(sc) for sc in scs])
    return float(nll[0]), (nll[1:] - nll[0]) / steps


def fit_seconds(sc, analytic: bool) -> tuple[float, object]:
    """The whole MLE of ``sc`` (standard errors included), with the analytic gradient or forward differences
    (:func:`_differences` in place of the fit's gradient, its Hessian's included)."""
    saved = mle._nll_and_gradient
    if not analytic:
        mle._nll_and_gradient = _differences
    try:
        t = time.perf_counter()
        fit = fit_mle(sc, sc.record)
        return time.perf_counter() - t, fit
    finally:
        mle._nll_and_gradient = saved


def unit_refit_seconds(sc, hold: bool) -> tuple[float, dict]:
    """One agreement unit's refit of the bindingness test (:mod:`harmsim.analysis.bindingness`), from the
    scenario's values; ``hold``: rows moved along their tangents (else made afresh at every evaluation)."""
    saved, likelihood._shared.HOLD_ROWS = likelihood._shared.HOLD_ROWS, hold
    try:
        units = bindingness.agreement_units(sc)
        values = sc.parameters()
        free = [n for n in bindingness.UNIT_FREE if n in values]
        t = time.perf_counter()
        out = bindingness._unit_refit(sc, sc.record, units.iloc[0], free, values)
        return time.perf_counter() - t, out
    finally:
        likelihood._shared.HOLD_ROWS = saved


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1,000 replicates instead of 10,000")
    ap.add_argument("--fit", action="store_true", help="also time the world fit (minutes)")
    args = ap.parse_args()
    R = 1000 if args.quick else 10_000
    world, asean = harmsim.load_scenario("world_baseline"), harmsim.load_scenario("baseline")
    for sc in (world, asean):
        run_draws(sc, None, harmsim.spawn_seeds(1, 50))  # warm caches
    print(f"1. ensemble of {R:,} replicates (batch engine)")
    rows = {}
    for name, sc in (("world_baseline", world), ("baseline", asean)):
        one = ensemble_seconds(sc, R, 1)
        two = ensemble_seconds(sc, R, 2)
        per = one / (R * cells(sc)) * 1e6
        rows[name] = (one, two, per)
        T, N, K = sc.world.shape
        print(
            f"   {name:15s} {N:4d} states x {K} instruments x {T} years: one process {one:6.2f} s, two workers "
            f"{two:6.2f} s; {R / one:8.0f} replicates/s; {per:.4f} us per state-instrument-year"
        )
    ratio = rows["world_baseline"][2] / rows["baseline"][2]
    two = rows["world_baseline"][1]
    print(
        f"   world / ASEAN cost per state-instrument-year: {ratio:.2f}x (goal: the world ensemble under 10 s on "
        f"two cores; measured {two:.2f} s)"
    )
    tracemalloc.start()
    run_draws(world, None, harmsim.spawn_seeds(3, R))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"2. peak traced memory of the world ensemble: {peak / 2**20:.0f} MiB")
    share = diffusion_share(world, min(R, 2000))
    print(f"3. diffusion's dense peer product: {share:.0%} of one process's time on the world panel")
    w1, wg = likelihood_seconds(world)
    a1, ag = likelihood_seconds(asean)
    print(f"4. log-likelihood: world {w1 * 1e3:.0f} ms one evaluation, {wg:.2f} s per gradient block; ASEAN "
          f"{a1 * 1e3:.1f} ms, {ag:.3f} s; ratio {w1 / a1:.0f}x per evaluation")  # fmt: skip
    wa, aa = gradient_seconds(world), gradient_seconds(asean)
    print(f"   analytic gradient: world {wa * 1e3:.0f} ms ({wg / wa:.1f}x faster than the differences' block, "
          f"{wa / w1:.1f} evaluations' time), ASEAN {aa * 1e3:.1f} ms ({ag / aa:.1f}x)")  # fmt: skip
    orgs = harmsim.load_scenario("world_organizations")
    o1, og = likelihood_seconds(orgs)
    h1, hg = likelihood_seconds(orgs, held=True)
    ha = gradient_seconds(orgs, held=True)
    print(f"   with organization intercepts (world_organizations): {o1 * 1e3:.0f} ms one evaluation re-centred, "
          f"{og:.2f} s per gradient block; {o1 / w1:.1f}x and {og / wg:.1f}x world_baseline")  # fmt: skip
    print(f"   its proposal held (as a fit holds it): {h1 * 1e3:.0f} ms one evaluation, {hg:.2f} s per gradient "
          f"block, analytic gradient {ha * 1e3:.0f} ms ({og / ha:.1f}x faster than the re-centred block, "
          f"{hg / ha:.1f}x than the held one)")  # fmt: skip
    fast, a = unit_refit_seconds(orgs, True)
    slow, b = unit_refit_seconds(orgs, False)
    print(f"5. one unit's refit of the bindingness test on world_organizations ({a['unit']}): {fast:.1f} s with the "
          f"held rows moved along their tangents, {slow:.1f} s with rows made afresh ({slow / fast:.1f}x); "
          f"log-likelihood {a['loglik']:.6f} against {b['loglik']:.6f}")  # fmt: skip
    if args.fit:
        for analytic in (True, False):
            seconds, fit = fit_seconds(world, analytic)
            d = fit.log["diagnostics"]
            how = "analytic gradient" if analytic else "forward differences"
            print(f"   world fit, {how}: {seconds:.0f} s, standard errors included ({d['likelihood evaluations']:,} "
                  f"likelihood evaluations, {d['analytic gradients']:,} gradients; log-likelihood "
                  f"{fit.loglik:.3f}; goal 60 s)")  # fmt: skip
        seconds, fit = fit_seconds(orgs, True)
        d = fit.log["diagnostics"]
        print(f"   world_organizations fit, analytic gradient: {seconds:.0f} s, standard errors included "
              f"({d['likelihood evaluations']:,} likelihood evaluations, {d['analytic gradients']:,} analytic "
              f"gradients; log-likelihood {fit.loglik:.3f}; 48 minutes by differences, docs/regions.md)")  # fmt: skip


if __name__ == "__main__":
    main()

"""Posterior draws' speed: importance resampling and Markov chains on one fit, against a forecast from it in the
same run.

    python benchmarks/bench_posterior.py [--scenario baseline] [--observed-until 2005] [--replicates 1000]

Drawing a forecast's parameters from the fit's likelihood (``--parameters
posterior`` or ``mcmc``) costs likelihood evaluations on top of the
forecast itself. This times, on one fit, a 1,000-replicate forecast to 2015
with the default normal draws (the baseline), then each sampler drawing as
many sets, and prints their times, effective sample sizes, effective draws
per second and ratios to the forecast. It also times the likelihood per
parameter set in calls of 1, 64 and 1,000 sets: the chains evaluate their
64 sets of a step in one call, where chains run one after another would
make a call per set.
``--scenario heterogeneity_by_kind --observed-until 2008`` is the case
importance resampling cannot cover.
"""

from __future__ import annotations

import argparse
import time

import harmsim
from harmsim.analysis.forecast import forecast
from harmsim.analysis.predictive import fitted_data
from harmsim.calibrate import calibrate, mcmc_draws, posterior_draws
from harmsim.calibrate.likelihood import history, loglik_many
from harmsim.rng import stream


def _per_set(fit, sc, rec, batch: int) -> float:
    """Seconds per parameter set of one likelihood call on ``batch`` sets drawn around the estimate."""
    at = fit.apply(sc)
    hist = history(at, rec)
    table, _ = fit.sample_around(batch, stream(0, "bench"), df=4)
    drawn = table.attrs["drawn"]
    scs = [at.with_checked_values(dict(zip(drawn, row))) for row in table[drawn].to_numpy(float)]
    loglik_many(scs[:2], hist)  # warm the history's caches
    calls = max(1, 64 // batch)  # time a call of one set over several
    t = time.perf_counter()
    for _ in range(calls):
        loglik_many(scs, hist)
    return (time.perf_counter() - t) / (batch * calls)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="baseline")
    ap.add_argument("--observed-until", type=int, default=2005)
    ap.add_argument("--replicates", type=int, default=1000)
    a = ap.parse_args(argv)
    sc0 = harmsim.load_scenario(a.scenario)
    fit = calibrate(sc0, observed_until=a.observed_until)
    sc, rec = fitted_data(sc0, fit)
    t = time.perf_counter()
    forecast(sc0, fit, until=2015, replicates=a.replicates, seed=1)
    t_fc = time.perf_counter() - t
    rows = []
    for name, sampler in (("importance resampling", posterior_draws), ("Markov chains", mcmc_draws)):
        t = time.perf_counter()
        d = sampler(fit, sc, rec, a.replicates, seed=1)
        rows.append((name, time.perf_counter() - t, d.attrs["ess"]))
    print(
        f"{a.scenario}, fitted to {a.observed_until}: {len(fit.estimates)} parameters, "
        f"{a.replicates} parameter sets per forecast"
    )
    print(f"forecast to 2015 with the normal's draws (baseline):   {t_fc:7.2f} s")
    for name, secs, ess in rows:
        print(
            f"{name + ':':23s} {secs:7.2f} s  ({secs / t_fc:5.1f}x the forecast), effective sample size "
            f"{ess:7.0f}, {ess / secs:8.1f} effective draws per second"
        )
    (_, t_is, ess_is), (_, t_mc, ess_mc) = rows
    print(f"Markov chains / importance resampling, time:             {t_mc / t_is:6.1f}x")
    print(f"Markov chains / importance resampling, effective draws/s: {(ess_mc / t_mc) / (ess_is / t_is):6.2f}x")
    one, chains, large = (_per_set(fit, sc, rec, b) for b in (1, 64, 1000))
    print(
        f"likelihood per parameter set: {1e3 * one:.3f} ms one set a call, {1e3 * chains:.3f} ms 64 a call (the "
        f"chains' step), {1e3 * large:.3f} ms 1,000 a call; one a call / 64 a call {one / chains:.1f}x"
    )


if __name__ == "__main__":
    main()

"""Experiment: where does a fit's posterior lie, against its estimate and the normal approximation?

Forecasts draw a fit's parameters from its asymptotic normal by default, or
from its likelihood itself with a flat prior over each parameter's allowed
range, times the priors the scenario declares if any (``--parameters
posterior`` or ``mcmc``). On a weak fit the two can
differ a great deal, and the second then depends on the ranges: a flat
prior over a wide range is not uninformative where the likelihood is flat.
This prints, per parameter, the estimate and its standard error, the
normal's draws (cut to the range, as forecasts draw them), and the
posterior's mean, s.d. and 95% interval, then says in words which
parameters the posterior moves away from the estimate, and which
posterior intervals reach an edge of the range (there the range, where it
is a declared limit, shapes what is drawn).

Fit first (or take a backtest's fit from its ``fits/`` folder), then run
this from the repository's root:

    harmsim calibrate heterogeneity --observed-until 2011 --out fits/h2011
    python experiments/posterior_summary.py heterogeneity fits/h2011 --sampler mcmc
"""

from __future__ import annotations

import argparse

import pandas as pd

import harmsim
from harmsim.analysis.predictive import fitted_data
from harmsim.calibrate import load_fit, mcmc_draws, posterior_draws

#: how many posterior s.d.s from the estimate a mean must be to be said to have moved
MOVED = 1.0
#: how close (as a share of the range) a 95% interval's end must come to an edge to be said to reach it
EDGE = 0.01


def summary(scenario: str, fit_dir: str, sampler: str = "mcmc", n: int = 20_000, seed: int = 0) -> pd.DataFrame:
    """One row per drawn parameter: estimate, se, bounds, the normal's and the posterior's mean and s.d., the
    posterior's 2.5% and 97.5% quantiles; ``attrs`` the sampler's diagnostics."""
    fit = load_fit(fit_dir)
    sc, rec = fitted_data(harmsim.load_scenario(scenario), fit)
    draws = (mcmc_draws if sampler == "mcmc" else posterior_draws)(fit, sc, rec, n, seed)
    normal = fit.draw(n, seed)
    est = fit.estimates.set_index("parameter")
    rows = []
    for name in draws.attrs["drawn"]:
        r = est.loc[name]
        rows.append(
            {
                "parameter": name,
                "estimate": r["estimate"],
                "se": r["se"],
                "bound_lo": r["bound_lo"],
                "bound_hi": r["bound_hi"],
                "normal_mean": normal[name].mean(),
                "normal_sd": normal[name].std(),
                "posterior_mean": draws[name].mean(),
                "posterior_sd": draws[name].std(),
                "q025": draws[name].quantile(0.025),
                "q975": draws[name].quantile(0.975),
            }
        )
    table = pd.DataFrame(rows)
    table.attrs = dict(draws.attrs)
    return table


def words(table: pd.DataFrame) -> list[str]:
    """What the table says: parameters moved from their estimates, and intervals that reach a range's edge."""
    moved = table[(table["posterior_mean"] - table["estimate"]).abs() > MOVED * table["posterior_sd"]]
    width = table["bound_hi"] - table["bound_lo"]
    edge = table[
        (table["q025"] - table["bound_lo"] < EDGE * width) | (table["bound_hi"] - table["q975"] < EDGE * width)
    ]
    out = []
    if len(moved):
        out.append(
            f"The posterior mean lies more than {MOVED:g} posterior s.d. from the estimate for "
            + ", ".join(
                f"{r.parameter} ({r.estimate:.2f} -> {r.posterior_mean:.2f}, s.d. {r.posterior_sd:.2f})"
                for r in moved.itertuples()
            )
            + ": forecasts drawn from the normal, centred on the estimate, and from the posterior differ there."
        )
    else:
        out.append(f"No posterior mean lies more than {MOVED:g} posterior s.d. from its estimate.")
    if len(edge):
        out.append(
            "The 95% posterior interval reaches an edge of the allowed range for "
            + ", ".join(
                f"{r.parameter} ({r.q025:.2f} to {r.q975:.2f} in [{r.bound_lo:g}, {r.bound_hi:g}])"
                for r in edge.itertuples()
            )
            + ": there the range, not the likelihood, ends the posterior; where the edge is a declared limit "
            "rather than a natural one (a spread's 0), a wider range would move it."
        )
    else:
        out.append("No 95% posterior interval reaches an edge of its range.")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", help="the scenario the fit is of")
    ap.add_argument("fit", help="a fit's folder (harmsim calibrate --out, or a backtest's fits/ORIGIN-NAME)")
    ap.add_argument("--sampler", choices=("mcmc", "importance"), default="mcmc")
    ap.add_argument("-n", type=int, default=20_000, help="posterior draws (default 20,000)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    table = summary(args.scenario, args.fit, args.sampler, args.n, args.seed)
    a = table.attrs
    if a.get("sampler") == "mcmc":
        print(
            f"{a['chains']} chains, {a['steps']:,} steps after a warmup of {a['warmup']:,}: largest split R-hat "
            f"{a['rhat']:.4f}, effective sample size {a['ess']:,.0f}"
            + ("" if a["converged"] else " (not converged: read with care)")
        )
    else:
        print(f"importance resampling: effective sample size {a['ess']:,.0f} of {a['proposals']:,} proposals")
    with pd.option_context("display.width", 200, "display.float_format", "{:.2f}".format):
        print(table.to_string(index=False))
    for line in words(table):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

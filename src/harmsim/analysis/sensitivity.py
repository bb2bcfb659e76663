"""Global sensitivity analysis: which parameters drive the outcomes (Sobol indices or Morris screening).

A sensitivity analysis is a design, an evaluation and an analysis:

1. :func:`problem` sets the parameters' ranges: given ranges (``--vary``),
   or a fit's uncertainty (each estimate +- 2 standard errors, or an ABC
   posterior's 2.5-97.5% quantiles, inside the allowed range);
2. :func:`design` draws the points with SALib (Saltelli-Sobol or Morris
   trajectories), seeded from the root seed;
3. :func:`harmsim.analysis.sweep.evaluate` runs every point with the same replicate
   seeds (common random numbers), resumable and in parallel like a sweep;
4. :func:`analyze` turns each output into indices with SALib: first-order
   and total Sobol indices with confidence intervals, or Morris mu* and
   sigma.

Outputs: the fit metrics against the record (``year_mae``, ``curve_mad``),
each instrument's share of states adopting by the end of observation
(``adopted.K``) and median adoption year (``median_year.K``, "not adopted"
counted as the year after the end), and with endogenous agreements each
agreement's mean arrival year (``arrival.A``).

A stochastic model needs care: an output at a point is a mean over
replicates, so part of its variance across the design is simulation noise,
which the indices would read as sensitivity. :func:`analyze` reports beside
the indices each output's *noise share*: the mean squared standard error of
the points' means over the variance of those means. Indices of an output
with a large noise share say little; more replicates shrink it.

The analysis step takes any table of outputs, so SALib's own test functions
(Ishigami; a linear function for Morris) go through the same code path in
the tests.

>>> prob = {"num_vars": 2, "names": ["a", "b"], "bounds": [[0.0, 1.0], [0.0, 1.0]]}
>>> pts = design(prob, "morris", base=10, seed=1)
>>> y = pd.DataFrame({"y": 3 * pts["a"] + 0.1 * pts["b"]})
>>> idx = analyze(prob, "morris", pts, y, seed=1)
>>> idx.sort_values("mu_star", ascending=False)["parameter"].tolist()
['a', 'b']
"""

from __future__ import annotations

import concurrent.futures as cf
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from harmsim import _repr
from harmsim.errors import ConfigError
from harmsim.rng import SeedLike, stream_seed

__all__ = [
    "METHODS",
    "SensitivityResult",
    "analyze",
    "design",
    "held_at_estimate",
    "outputs_of",
    "problem",
    "sensitivity",
]

METHODS = ("sobol", "morris")


def _salib():
    try:
        import SALib  # noqa: F401
    except ImportError:
        raise ConfigError("sensitivity analysis needs SALib: pip install 'harmsim[sensitivity]'") from None


def problem(scenario, ranges=None, fit=None) -> dict:
    """A SALib problem: ``names`` and ``bounds``, from ranges (``"NAME=LO:HI"`` or RealRange), a fit, or else
    the ranges the scenario declares (its ``[ranges]`` table).

    >>> import harmsim
    >>> problem(harmsim.load_scenario("baseline"), ["diffusion.strength=-1:3", "hazard.intercept=-7:-4"])
    {'num_vars': 2, 'names': ['diffusion.strength', 'hazard.intercept'], 'bounds': [[-1.0, 3.0], [-7.0, -4.0]]}
    >>> problem(harmsim.load_scenario("diffusion_only"))
    Traceback (most recent call last):
    ...
    harmsim.errors.ConfigError: scenario 'diffusion_only' declares no [ranges]: give the parameters' ranges ...
    """
    from harmsim.model.params import RealRange
    from harmsim.model.space import bounds_of, parse_vary

    if ranges is not None and fit is not None:
        raise ConfigError("give the parameters' ranges or a fit, not both")
    if ranges is None and fit is None:
        if not scenario.ranges:
            raise ConfigError(
                f"scenario '{scenario.name}' declares no [ranges]: give the parameters' ranges (--vary NAME=LO:HI) "
                "or a fit (--from-fit DIR)"
            )
        ranges = [RealRange(n, lo, hi) for n, lo, hi in scenario.ranges]
    names, bounds = [], []
    if ranges is not None:
        for r in ranges:
            r = parse_vary(r, scenario) if isinstance(r, str) else r
            if not isinstance(r, RealRange):
                raise ConfigError(f"'{r.name}': sensitivity analysis needs real ranges (NAME=LO:HI)")
            names.append(r.name)
            bounds.append([float(r.lo), float(r.hi)])
    else:
        est = fit.estimates.set_index("parameter")
        for name, row in est.iterrows():
            lo, hi = bounds_of(scenario, name)
            if fit.samples is not None and name in fit.samples:
                a, b = np.quantile(fit.samples[name], [0.025, 0.975])
            elif np.isfinite(row["se"]) and row["se"] > 0:
                a, b = row["estimate"] - 2 * row["se"], row["estimate"] + 2 * row["se"]
            else:
                continue  # no uncertainty to explore: held at its estimate
            a, b = max(float(a), lo), min(float(b), hi)
            if b > a:
                names.append(str(name))
                bounds.append([a, b])
    if len(names) < 2:
        raise ConfigError(f"sensitivity analysis needs at least two parameters with a range, got {names}")
    if len(set(names)) != len(names):
        raise ConfigError(f"a parameter is given twice: {names}")
    return {"num_vars": len(names), "names": names, "bounds": bounds}


def held_at_estimate(fit, prob: dict) -> list[str]:
    """The fit's free parameters that :func:`problem` does not vary: without a standard error (at a bound, not
    identified) or with a range the scenario's bounds close, so held at their estimates. A ranking of the rest
    says nothing about them, and the output says so.

    >>> import pandas as pd
    >>> from harmsim.calibrate import Fit
    >>> est = pd.DataFrame({"parameter": ["a", "b"], "estimate": [0.1, 2.0], "se": [0.05, float("nan")]})
    >>> held_at_estimate(Fit("s", "", "r", "mle", est, loglik=-1.0, n_obs=10), {"names": ["a"]})
    ['b']
    """
    varied = set(prob["names"])
    return [str(p) for p in fit.estimates["parameter"] if p not in varied]


def design(prob: dict, method: str = "sobol", base: int = 256, seed: SeedLike = 0) -> pd.DataFrame:
    """The points of a Saltelli-Sobol (``base * (2 d + 2)`` points) or Morris (``base`` trajectories of
    ``d + 1`` points) design, a column per parameter."""
    _salib()
    if method not in METHODS:
        raise ConfigError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if isinstance(base, bool) or not isinstance(base, int) or base < 2:
        raise ConfigError(f"base must be an integer of at least 2, got {base!r}")
    s = stream_seed(seed, f"sensitivity-{method}") % (2**32)
    if method == "sobol":
        from SALib.sample import sobol

        if base & (base - 1):
            raise ConfigError(f"a Sobol design needs a power of two for its base, got {base}")
        x = sobol.sample(prob, base, calc_second_order=True, seed=s)
    else:
        from SALib.sample import morris

        x = morris.sample(prob, base, num_levels=4, seed=s)
    return pd.DataFrame(x, columns=prob["names"])


def analyze(
    prob: dict,
    method: str,
    points: pd.DataFrame,
    outputs: pd.DataFrame,
    se: pd.DataFrame | None = None,
    seed: SeedLike = 0,
) -> pd.DataFrame:
    """Indices per parameter and output; ``se`` (same shape as ``outputs``) gives the noise share.

    Sobol columns: ``parameter, output, S1, S1_conf, ST, ST_conf, noise_share``; Morris: ``parameter,
    output, mu_star, mu_star_conf, sigma, noise_share``. An output that does not vary over the design gets
    NaN indices.
    """
    _salib()
    s = stream_seed(seed, f"sensitivity-analysis-{method}") % (2**32)
    rows = []
    for out in outputs.columns:
        y = outputs[out].to_numpy(dtype=float)
        noise = float("nan")
        if se is not None and out in se and np.nanvar(y) > 0:
            noise = float(np.nanmean(se[out].to_numpy(dtype=float) ** 2) / np.nanvar(y))
        if not np.isfinite(y).all() or np.var(y) == 0:
            for name in prob["names"]:
                rows.append({"parameter": name, "output": out, "noise_share": noise})
            continue
        if method == "sobol":
            from SALib.analyze import sobol

            with warnings.catch_warnings():  # an output constant on part of the design: its indices say so
                warnings.simplefilter("ignore", UserWarning)
                warnings.simplefilter("ignore", FutureWarning)  # SALib's own calls into older pandas
                r = sobol.analyze(prob, y, calc_second_order=True, seed=s)
        else:
            from SALib.analyze import morris

            r = morris.analyze(prob, points[prob["names"]].to_numpy(dtype=float), y, num_levels=4, seed=s)
        for j, name in enumerate(prob["names"]):
            rows.append(
                {"parameter": name, "output": out, **{c: r[c][j] for c in _INDICES[method]}, "noise_share": noise}
            )
    return pd.DataFrame(rows)


#: the index columns of each method, as SALib names them
_INDICES = {"sobol": ("S1", "S1_conf", "ST", "ST_conf"), "morris": ("mu_star", "mu_star_conf", "sigma")}


def outputs_of(table: pd.DataFrame) -> list[str]:
    """The outputs a sensitivity analysis reads from an evaluated design table.

    >>> import pandas as pd
    >>> outputs_of(pd.DataFrame(columns=["point", "year_mae", "curve_mad", "adopted.untoc", "adopted.untoc_se"]))
    ['year_mae', 'curve_mad', 'adopted.untoc']
    """
    fixed = ["year_mae", "curve_mad"]
    per = [c for c in table.columns if c.startswith(("adopted.", "median_year.", "arrival.")) and not c.endswith("_se")]
    return [c for c in fixed + per if c in table]


@dataclass(frozen=True, eq=False)
class SensitivityResult:
    """Indices (tidy), the evaluated design, the SALib problem and provenance.

    ``indices``: one row per parameter and output (Sobol: ``S1, S1_conf,
    ST, ST_conf``; Morris: ``mu_star, mu_star_conf, sigma``), with the share
    of the output's variance that is replicate noise (``noise_share``). An
    example is under :func:`sensitivity`.
    """

    indices: pd.DataFrame
    points: pd.DataFrame
    problem: dict
    method: str
    provenance: dict = field(default_factory=dict)

    def _facts(self) -> dict:
        return {
            "scenario": self.provenance.get("scenario"),
            "method": self.method,
            "parameters": len(self.problem.get("names", [])),
            "points": len(self.points),
            "replicates": self.provenance.get("replicates"),
        }

    def __repr__(self) -> str:
        return _repr.text("SensitivityResult", self._facts())

    def _repr_html_(self) -> str:
        return _repr.html("SensitivityResult", self._facts(), self.summary("year_mae"))

    def summary(self, output: str = "year_mae") -> str:
        """The indices of one output in words: the leading parameters, and how much is noise."""
        t = self.indices[self.indices["output"] == output]
        key = "ST" if self.method == "sobol" else "mu_star"
        if t.empty or t[key].isna().all():
            return f"{output}: does not vary over the design"
        t = t.sort_values(key, ascending=False)
        lead = ", ".join(f"{r.parameter} ({getattr(r, key):.2f})" for r in t.head(3).itertuples())
        noise = t["noise_share"].iloc[0]
        words = f"{output}: largest {'total-effect indices' if key == 'ST' else 'mu*'}: {lead}."
        if np.isfinite(noise):
            words += f" Simulation noise is {noise:.0%} of its variance over the design"
            words += "; the indices mostly read noise: use more replicates." if noise > 0.3 else "."
        else:
            words += " Its simulation noise is not measured (no standard error over replicates for this output)."
        return words

    def save(self, folder: str | Path, figures: bool = True, force: bool = False) -> list[Path]:
        """Write indices.csv, points.csv, problem.json, provenance.json and a figure of the indices."""
        import json

        from harmsim._output import ResultFolder

        with ResultFolder(folder, "sensitivity", force) as rf:
            out = rf.path
            paths = [out / "indices.csv", out / "points.csv", out / "problem.json", out / "provenance.json"]
            self.indices.to_csv(paths[0], index=False)
            self.points.to_csv(paths[1], index=False)
            paths[2].write_text(json.dumps(self.problem, indent=2) + "\n")
            paths[3].write_text(json.dumps(self.provenance, indent=2, default=str) + "\n")
            if figures:
                from matplotlib.figure import Figure

                from harmsim.output.plots import plot_indices, save_figure

                fig = Figure(figsize=(6.5, 0.45 * self.problem["num_vars"] + 1.6), layout="constrained")
                plot_indices(fig.subplots(), self.indices, "year_mae", self.method)
                fig.suptitle(
                    f"Sensitivity of the year MAE ({self.method.capitalize()}, {len(self.points):,} points, "
                    f"{self.provenance.get('replicates', '?')} replicates each)",
                    fontsize=9,
                )
                paths += save_figure(fig, out, "indices")
            rf.add(paths)
        return rf.final


def sensitivity(
    scenario,
    *,
    ranges=None,
    fit=None,
    method: str = "sobol",
    base: int = 256,
    replicates: int = 10,
    seed: SeedLike = 0,
    record=None,
    workers: int = 1,
    executor: cf.Executor | None = None,
    cache: str | Path | None = None,
    progress: bool | None = None,
    force: bool = False,
) -> SensitivityResult:
    """Design, evaluate and analyze; see the module docstring. ``cache``: a CSV file for the evaluation
    (resumed if interrupted, like a sweep's ``out``; ``force`` replaces another analysis's cache there).

    A Morris screening far too small to trust (four trajectories, two
    replicates a point), to show the result's shape:

    >>> import harmsim
    >>> sc = harmsim.load_scenario("baseline")
    >>> vary = ["diffusion.strength=-1:3", "hazard.intercept=-7:-4"]
    >>> res = sensitivity(sc, ranges=vary, method="morris", base=4, replicates=2, seed=0)
    >>> res
    SensitivityResult(scenario='baseline', method='morris', parameters=2, points=12, replicates=2)
    >>> list(res.indices.columns)
    ['parameter', 'output', 'mu_star', 'mu_star_conf', 'sigma', 'noise_share']
    """
    from harmsim._version import build_info
    from harmsim.analysis.sweep import evaluate

    _salib()
    prob = problem(scenario, ranges, fit)
    pts = design(prob, method, base, seed)
    res = evaluate(
        scenario,
        pts,
        replicates=replicates,
        seed=seed,
        record=record,
        workers=workers,
        executor=executor,
        out=cache,
        progress=progress,
        described={"design": f"SALib {method}"},
        force=force,
    )
    table = res.table.sort_values("point").reset_index(drop=True)
    outs = outputs_of(table)
    se = pd.DataFrame({o: table[f"{o}_se"] for o in outs if f"{o}_se" in table})
    idx = analyze(prob, method, table, table[outs], se, seed)
    prov = {
        **res.provenance,
        "method": method,
        "base": base,
        "replicates": replicates,
        "problem": prob,
        "ranges_from": "a fit" if fit is not None else "given ranges" if ranges is not None else "scenario [ranges]",
        **build_info(),
    }
    return SensitivityResult(idx, table, prob, method, prov)

"""Simulated against observed: fit metrics on one year grid.

All metrics handle the two kinds of incomplete observation in a record:

* *not adopted by the end of the window* (right-censored): treated as
  adoption in year ``end + 1``, so a simulated adoption in year ``y`` of a
  state that never adopted counts ``end + 1 - y`` years of error (a lower
  bound on the true error);
* *adopted within an interval* ``[year_min, year_max]`` (interval-censored,
  e.g. HSU members that were not founders): any simulated year inside the
  interval has zero error; outside, the distance to the nearest end.

Metrics (rows of the fit table, one value per replicate, then summarized):

``curve_mad``
    per instrument, the mean over years of |simulated - observed| number of
    adopters by that year (observed: the band between sure and possible
    adopters when intervals exist; zero inside the band);
``year_mae``
    per instrument and per state, the mean absolute error of adoption years;
``rank_tau``
    per instrument, Kendall's tau-b between observed and simulated adoption
    order (interval-censored years ranked at their midpoint);
``agreement_error``
    per agreement, simulated minus recorded year (endogenous arrival only).

>>> import harmsim
>>> sc = harmsim.load_scenario("baseline")
>>> fit = compare(harmsim.run_ensemble(sc, replicates=4, seed=0), harmsim.observed_record())
>>> list(fit.columns)
['metric', 'item', 'mean', 'sd', 'q05', 'q95', 'replicates']
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import kendalltau

from .errors import ConfigError
from .record import Record
from .results import EnsembleResult, RunResult, quantile_band

__all__ = ["compare", "observed_bounds", "simulated_years"]


def observed_bounds(record: Record, states, instruments, end: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, K) earliest and latest possible adoption years; ``end + 1`` = not adopted."""
    a = record.adoptions.set_index(["state", "instrument"])
    idx = pd.MultiIndex.from_product([states, instruments])
    lo = a["year_min"].reindex(idx).to_numpy(dtype=float, na_value=np.nan)
    hi = a["year_max"].reindex(idx).to_numpy(dtype=float, na_value=np.nan)
    never = np.isnan(hi)
    lo = np.where(never, end + 1, lo).reshape(len(states), len(instruments))
    hi = np.where(never, end + 1, hi).reshape(len(states), len(instruments))
    return lo, hi


def simulated_years(result: RunResult | EnsembleResult, states, instruments, end: int) -> np.ndarray:
    """(R, N, K) simulated adoption years; ``end + 1`` = not adopted."""
    a = result.adoptions
    if "replicate" not in a:
        a = a.assign(replicate=0)
    reps = np.sort(a["replicate"].unique())
    idx = pd.MultiIndex.from_product([reps, states, instruments])
    y = a.set_index(["replicate", "state", "instrument"])["year"].reindex(idx)
    y = y.to_numpy(dtype=float, na_value=np.nan)
    y = np.where(np.isnan(y) | (y > end), end + 1, y)
    return y.reshape(len(reps), len(states), len(instruments))


def _summary(metric: str, items, values: np.ndarray) -> pd.DataFrame:
    """values (R, len(items)) -> rows with mean, sd and 90% interval over replicates."""
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return pd.DataFrame(
                {
                    "metric": metric,
                    "item": list(items),
                    "mean": np.nanmean(values, axis=0),
                    "sd": np.nanstd(values, axis=0, ddof=1) if len(values) > 1 else np.nan,
                    "q05": np.nanquantile(values, 0.05, axis=0),
                    "q95": np.nanquantile(values, 0.95, axis=0),
                    "replicates": np.isfinite(values).sum(axis=0),
                }
            )


def compare(simulated: RunResult | EnsembleResult, record: Record) -> pd.DataFrame:
    """The fit table of a run or ensemble against an observed record.

    Returns a tidy table with columns ``metric, item, mean, sd, q05, q95,
    replicates``; ``item`` is an instrument, a state, an agreement or
    ``all``. Its ``attrs["provenance"]`` carries the simulation's provenance.
    """
    sc = simulated.scenario
    states = [s for s in sc.world.states if s in set(record.state_ids)]
    instruments = [k for k in sc.world.instruments if k in set(record.instrument_ids)]
    if not states or not instruments:
        raise ConfigError(f"record '{record.name}' shares no states or instruments with scenario '{sc.name}'")
    start, end = sc.start, sc.end
    lo, hi = observed_bounds(record, states, instruments, end)
    sim = simulated_years(simulated, states, instruments, end)  # (R, N, K)
    err = np.maximum(np.maximum(lo - sim, 0.0), sim - hi)
    years = np.arange(start, end + 1)
    sim_c = (sim[..., None] <= years).sum(axis=1)  # (R, K, T)
    sure = (hi[..., None] <= years).sum(axis=0)  # (K, T)
    possible = (lo[..., None] <= years).sum(axis=0)
    curve = np.maximum(np.maximum(sure - sim_c, 0), sim_c - possible).mean(axis=2)  # (R, K)
    mid = (lo + hi) / 2
    tau = np.full((sim.shape[0], len(instruments)), np.nan)
    for k in range(len(instruments)):
        if np.ptp(mid[:, k]) == 0:
            continue
        for r in range(sim.shape[0]):
            if np.ptp(sim[r, :, k]) > 0:
                tau[r, k] = kendalltau(mid[:, k], sim[r, :, k]).statistic
    parts = [
        _summary("curve_mad", [*instruments, "all"], np.column_stack([curve, curve.mean(axis=1)])),
        _summary(
            "year_mae", [*instruments, "all"], np.column_stack([err.mean(axis=1), err.mean(axis=(1, 2))])
        ),
        _summary("year_mae", states, err.mean(axis=2)),
        _summary("rank_tau", instruments, tau),
    ]
    ag = simulated.agreements
    if len(ag) and "arrival" in ag and (ag["arrival"] == "endogenous").any() and len(record.agreements):
        a = ag if "replicate" in ag else ag.assign(replicate=0)
        rec_year = record.agreements.set_index("agreement")["year"]
        names = [x for x in dict.fromkeys(a["agreement"]) if x in rec_year.index]
        wide = a.pivot(index="replicate", columns="agreement", values="year")[names]
        vals = wide.to_numpy(dtype=float, na_value=np.nan)
        vals = np.where(np.isnan(vals), end + 1, vals) - rec_year[names].to_numpy(dtype=float)
        parts.append(_summary("agreement_error", names, vals))
    table = pd.concat(parts, ignore_index=True)
    table.attrs["provenance"] = dict(getattr(simulated, "provenance", {}))
    table.attrs["record"] = record.name
    return table


# Tables for figures ---------------------------------------------------------------------


def observed_curves(record: Record, start: int, end: int, instruments=None) -> pd.DataFrame:
    """Observed adopters by year per instrument: ``sure`` (adopted for certain) and ``possible``.

    The two differ only where adoption years are interval-censored.
    """
    instruments = list(instruments or record.instrument_ids)
    states = list(record.state_ids)
    lo, hi = observed_bounds(record, states, instruments, end)
    years = np.arange(start, end + 1)
    sure = (hi[..., None] <= years).sum(axis=0)
    possible = (lo[..., None] <= years).sum(axis=0)
    return pd.DataFrame(
        {
            "instrument": np.repeat(instruments, len(years)),
            "year": np.tile(years, len(instruments)),
            "sure": sure.ravel(),
            "possible": possible.ravel(),
        }
    )


def simulated_curves(result: EnsembleResult, quantiles=(0.05, 0.25, 0.5, 0.75, 0.95)) -> pd.DataFrame:
    """Simulated adopters by year per instrument: mean and quantiles over replicates."""
    c = result.cumulative()
    return quantile_band(c.groupby(["instrument", "year"], sort=False)["adopters"], quantiles)


def year_ranges(result: EnsembleResult) -> pd.DataFrame:
    """Per (state, instrument): share of replicates adopting, and quantiles of the year among adopters."""
    a = result.adoptions
    g = a.groupby(["state", "instrument"], sort=False)["year"]
    out = pd.DataFrame({"p_adopted": g.apply(lambda s: s.notna().mean())})
    yrs = (
        a.dropna(subset=["year"]).astype({"year": float}).groupby(["state", "instrument"], sort=False)["year"]
    )
    for q, name in ((0.05, "q05"), (0.5, "q50"), (0.95, "q95")):
        out[name] = yrs.quantile(q)
    return out.reset_index()

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
    per instrument and per state, the mean absolute error of adoption years
    (over the cells open to the state: on a record with organizations a
    regional treaty counts for its members only);
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

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from harmsim.data.observations import encode, observed_until
from harmsim.data.record import Record
from harmsim.data.world import NEVER, organization_membership
from harmsim.errors import ConfigError
from harmsim.model.tables import cumulative_counts, quantile_band

if TYPE_CHECKING:  # only named in annotations: results draw with this module's tables
    from harmsim.output.results import EnsembleResult, RunResult

__all__ = [
    "CELL_RUNS",
    "Target",
    "aligned_years",
    "calibration_by_group",
    "cell_scores",
    "compare",
    "compare_paired",
    "fit_metrics",
    "kendall_tau_b",
    "score_target",
    "simulated_years",
    "state_groups",
    "target",
]


def simulated_years(result: RunResult | EnsembleResult, states, instruments, end: int) -> np.ndarray:
    """(R, N, K) simulated adoption years; ``end + 1`` = not adopted.

    >>> import harmsim
    >>> ens = harmsim.run_ensemble(harmsim.load_scenario("baseline"), replicates=3, seed=0)
    >>> simulated_years(ens, ["PHL", "THA"], ["tip_law"], 2015).shape
    (3, 2, 1)
    """
    a = result.adoptions
    if "replicate" not in a:
        a = a.assign(replicate=0)
    reps = np.sort(a["replicate"].unique())
    idx = pd.MultiIndex.from_product([reps, states, instruments])
    y = a.set_index(["replicate", "state", "instrument"])["year"].reindex(idx)
    y = y.to_numpy(dtype=float, na_value=np.nan)
    y = np.where(np.isnan(y) | (y > end), end + 1, y)
    return y.reshape(len(reps), len(states), len(instruments))


def kendall_tau_b(observed: np.ndarray, simulated: np.ndarray) -> np.ndarray:
    """Kendall's tau-b between observed (N, K) and each replicate of simulated (R, N, K), per column.

    tau_b = sum_pairs s_o s_s / sqrt(sum s_o^2 * sum s_s^2) with s = sign of
    the pairwise difference (ties give 0), the same statistic as
    :func:`scipy.stats.kendalltau`; NaN where either side is constant.
    Vectorized over replicates and instruments.

    >>> import numpy as np
    >>> observed = np.array([[1.0, 2.0], [2.0, 1.0], [3.0, 3.0]])  # three states, two instruments
    >>> kendall_tau_b(observed, observed[None]).tolist()  # a replicate that orders the states as observed
    [[1.0, 1.0]]
    """
    i, j = np.triu_indices(observed.shape[0], 1)
    diff = observed[i] - observed[j]  # (P, K); NaN where a side is not observed
    valid = np.isfinite(diff)
    so = np.where(valid, np.sign(np.where(valid, diff, 0.0)), 0.0)
    out = np.full(simulated.shape[::2], np.nan)
    step = max(1, 2_000_000 // max(1, len(i) * simulated.shape[2]))
    for a in range(0, simulated.shape[0], step):
        ss = np.sign(simulated[a : a + step, i] - simulated[a : a + step, j]) * valid  # (r, P, K)
        num = (so * ss).sum(axis=1)
        den = np.sqrt((so**2).sum(axis=0) * (ss**2).sum(axis=1))
        out[a : a + step] = np.divide(num, den, out=np.full(num.shape, np.nan), where=den > 0)
    return out


def _summary(metric: str, items, values: np.ndarray) -> pd.DataFrame:
    """values (R, len(items)) -> rows with mean, sd and 90% interval over replicates."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns (e.g. tau of an unadopted instrument)
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


def observed_counts(lo: np.ndarray, hi: np.ndarray, years: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Observed adopters per instrument and year, (K, T) each: sure (by ``hi``) and possible (by ``lo``)."""
    return (hi[..., None] <= years).sum(axis=0), (lo[..., None] <= years).sum(axis=0)


@dataclass(frozen=True)
class Target:
    """A scenario's states and instruments aligned with a record's observations.

    >>> import harmsim
    >>> tg = target(harmsim.load_scenario("baseline"), harmsim.observed_record())
    >>> len(tg.states), tg.instruments[:2], tg.lo.shape  # the ten members of the window; Timor-Leste is not one
    (10, ['tip_law', 'untoc'], (10, 6))
    """

    states: list[str]
    instruments: list[str]
    state_index: np.ndarray  # positions in the scenario's world
    instrument_index: np.ndarray
    lo: np.ndarray  # (N, K) earliest possible adoption year (end + 1: not adopted)
    hi: np.ndarray  # (N, K) latest possible
    start: int
    end: int
    agreements: list[str]  # recorded agreements the scenario also has
    agreement_index: np.ndarray
    agreement_year: np.ndarray  # recorded years
    #: (N, K) the instrument is open to the state in some year of the window (a regional treaty: its
    #: organization's members); the cells scored and averaged. None: every cell (one region's record)
    open: np.ndarray | None = None

    @property
    def cells(self) -> np.ndarray:
        """(N, K) the cells a fit metric or score reads: those open to their state."""
        return np.ones(self.lo.shape, dtype=bool) if self.open is None else self.open


def target(scenario, record: Record) -> Target:
    """Align ``scenario`` with ``record`` (shared states, instruments and agreements).

    The comparison covers the observation window: the record's, cut at the
    scenario's horizon if that ends earlier; simulated years after it count as
    "not adopted by its end". States that are members in no year of the
    window (e.g. a later member) are left out.

    See :class:`Target` for an example.
    """
    w = scenario.world
    end = min(record.end, scenario.end)
    if end < record.end:
        record = observed_until(record, end)
    in_window = w.member[w.years <= end].any(axis=0)
    rs, ri = set(record.state_ids), set(record.instrument_ids)
    si = np.array([i for i, s in enumerate(w.states) if s in rs and in_window[i]], dtype=int)
    ki = np.array([k for k, x in enumerate(w.instruments) if x in ri], dtype=int)
    if not len(si) or not len(ki):
        raise ConfigError(f"record '{record.name}' shares no states or instruments with scenario '{scenario.name}'")
    states = [w.states[i] for i in si]
    instruments = [w.instruments[k] for k in ki]
    lo, hi = encode(record, states, instruments, scenario.start, end).bounds()
    rec_year = {a: y for a, y in zip(record.agreements["agreement"], record.agreements["year"]) if y <= end}
    ai = np.array([j for j, a in enumerate(w.agreements) if a in rec_year], dtype=int)
    return Target(
        states,
        instruments,
        si,
        ki,
        lo,
        hi,
        scenario.start,
        end,
        [w.agreements[j] for j in ai],
        ai,
        np.array([rec_year[w.agreements[j]] for j in ai], dtype=float),
        w.open_to[w.years <= end].any(axis=0)[np.ix_(si, ki)] if len(w.organizations) else None,
    )


def fit_metrics(tg: Target, sim: np.ndarray, arrival: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Every fit metric, per replicate, from simulated adoption years (R, N, K) aligned with ``tg``.

    ``sim`` uses ``end + 1`` for "not adopted". ``arrival`` (R, M) gives the
    simulated agreement years (NEVER: did not arrive) when they are
    endogenous. Returns arrays keyed ``curve_mad`` (R, K), ``curve_mad_all``
    (R,), ``year_mae`` (R, K), ``year_mae_all`` (R,), ``year_mae_state``
    (R, N), ``rank_tau`` (R, K) and, with ``arrival``, ``agreement_error``
    (R, M'). This is the one definition both :func:`compare` and sweeps use.

    >>> import harmsim
    >>> from harmsim.model import batch
    >>> sc = harmsim.load_scenario("baseline")
    >>> tg = target(sc, sc.record)
    >>> adopt, arrival = batch.simulate(sc, [1, 2, 3])
    >>> m = fit_metrics(tg, aligned_years(tg, adopt), arrival)
    >>> sorted(m), m["year_mae_all"].shape  # one value per replicate
    (['agreement_error', 'curve_mad', 'curve_mad_all', 'rank_tau', 'year_mae', 'year_mae_all', 'year_mae_state'], (3,))
    """
    lo, hi = tg.lo, tg.hi
    err = np.maximum(np.maximum(lo - sim, 0.0), sim - hi)
    years = np.arange(tg.start, tg.end + 1)
    sim_c = (sim[..., None] <= years).sum(axis=1)  # (R, K, T)
    sure, possible = observed_counts(lo, hi, years)  # (K, T) each
    curve = np.maximum(np.maximum(sure - sim_c, 0), sim_c - possible).mean(axis=2)
    out = {
        "curve_mad": curve,
        "curve_mad_all": curve.mean(axis=1),
        "rank_tau": kendall_tau_b(np.where(np.isfinite(lo) & tg.cells, (lo + hi) / 2, np.nan), sim),
    }
    if tg.open is None:
        out.update(year_mae=err.mean(axis=1), year_mae_all=err.mean(axis=(1, 2)), year_mae_state=err.mean(axis=2))
    else:  # a cell not open to its state is right in every run (neither adopts): not an error of zero
        err = np.where(tg.open, err, np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an instrument open to no state of the target
            out.update(
                year_mae=np.nanmean(err, axis=1),
                year_mae_all=np.nanmean(err, axis=(1, 2)),
                year_mae_state=np.nanmean(err, axis=2),
            )
    if arrival is not None and len(tg.agreements):
        a = arrival[:, tg.agreement_index].astype(float)
        a = np.where(a == NEVER, tg.end + 1, a)
        out["agreement_error"] = a - tg.agreement_year
    return out


def aligned_years(tg: Target, adopt_year: np.ndarray) -> np.ndarray:
    """Engine adoption years (R, N_world, K_world) -> (R, N, K) on the target, ``end + 1`` = not adopted.

    >>> import harmsim
    >>> from harmsim.model import batch
    >>> sc = harmsim.load_scenario("baseline")
    >>> tg = target(sc, sc.record)
    >>> adopt, _ = batch.simulate(sc, [1, 2, 3])  # (3, 11, 6): every state of the world
    >>> y = aligned_years(tg, adopt)
    >>> y.shape, float(y.max())  # 2016: not adopted by 2015
    ((3, 10, 6), 2016.0)
    """
    y = adopt_year[:, tg.state_index][:, :, tg.instrument_index].astype(float)
    return np.where((y == NEVER) | (y > tg.end), tg.end + 1, y)


def score_target(tg: Target, years: np.ndarray, seed=0) -> pd.DataFrame:
    """Predictive scores (:func:`harmsim.scoring.scores.score_cells`) of every observed cell of ``tg`` under
    simulated years (R, N, K) on the target (``end + 1``: not adopted): the one way a simulation is scored
    against a record's cells, by the mechanism comparison and by :func:`cell_scores`.

    Each cell adopted in the window, within an interval of it, or not by its end is scored against the
    simulated distribution of its outcome (a year of the window or "later"); cells adopted before the window,
    unobserved, or not open to their state (a regional treaty outside its organization: certain, and no
    evidence) are not. Columns of :func:`~harmsim.scoring.scores.score_cells`.

    >>> import harmsim
    >>> sc = harmsim.load_scenario("baseline")
    >>> tg = target(sc, sc.record)
    >>> y = simulated_years(harmsim.run_ensemble(sc, replicates=20, seed=0), tg.states, tg.instruments, tg.end)
    >>> cells = score_target(tg, y)
    >>> bool(cells["pit_mid"].between(0, 1).all()), len(cells) <= len(tg.states) * len(tg.instruments)
    (True, True)
    """
    from harmsim.scoring.scores import outcome_distribution, score_cells

    B = tg.end - tg.start + 2
    dist = outcome_distribution(years.astype(int), tg.start - 1, tg.end)
    mask = np.isfinite(tg.lo) & (tg.lo >= tg.start) & tg.cells
    lo = np.clip(np.nan_to_num(tg.lo, neginf=0) - tg.start, 0, B - 1).astype(int)
    hi = np.clip(np.nan_to_num(tg.hi, neginf=0) - tg.start, 0, B - 1).astype(int)
    return score_cells(dist, lo, hi, mask, seed)


#: the fewest runs where an outcome falls among them is read from (``harmsim run`` writes cells.csv, its
#: calibration and its map from this many replicates on)
CELL_RUNS = 20


def cell_scores(simulated: EnsembleResult, record: Record, seed=0) -> pd.DataFrame:
    """Where each observed outcome of ``record`` falls among the runs: one row per scored (state, instrument).

    Columns ``state, instrument, observed_lo, observed_hi`` (the record's years; ``end + 1``: not adopted by
    the end), ``median`` (the runs' median year, ``end + 1``: most runs do not adopt), and the scores of
    :func:`score_target`: ``log_score, crps, covered50, covered90, pit, pit_mid, abs_error``. ``pit_mid`` near 0:
    the record adopted earlier than nearly every run (the model late); near 1: later (the model early). On a
    calibrated model its mean over any group of cells is near 1/2. The table of ``harmsim run``'s ``cells.csv``
    and of its map.

    >>> import harmsim
    >>> sc = harmsim.load_scenario("baseline")
    >>> cells = cell_scores(harmsim.run_ensemble(sc, replicates=50, seed=0), sc.record)
    >>> row = cells.set_index(["state", "instrument"]).loc[("PHL", "untoc")]
    >>> int(row["observed_lo"]), bool(0 <= row["pit_mid"] <= 1)  # the Philippines ratified UNTOC in 2002
    (2002, True)
    """
    tg = target(simulated.scenario, record)
    cells = score_target(tg, simulated_years(simulated, tg.states, tg.instruments, tg.end), seed)
    i, k = cells["i"].to_numpy(), cells["k"].to_numpy()
    out = pd.DataFrame(
        {
            "state": np.asarray(tg.states, dtype=object)[i],
            "instrument": np.asarray(tg.instruments, dtype=object)[k],
            "observed_lo": tg.lo[i, k].astype(int),
            "observed_hi": tg.hi[i, k].astype(int),
            "median": tg.start + cells["median_bin"].to_numpy(),
        }
    )
    cols = ["log_score", "crps", "covered50", "covered90", "pit", "pit_mid", "abs_error"]
    return pd.concat([out, cells[cols]], axis=1)


def state_groups(record: Record, start: int, end: int) -> dict[str, dict[str, list[str]]]:
    """The groups of states a calibration is read by: ``{"subregion": {name: states}, "organization": {name:
    states}}``, subregions from the record's states table (states without one left out), organizations by
    membership in some year of ``start..end`` (a state in several is in each).

    >>> import harmsim
    >>> g = state_groups(harmsim.load_record("world"), 1990, 2015)
    >>> sorted(g), len(g["organization"]["SAARC"]), "IDN" in g["subregion"]["East Asia and Pacific"]
    (['organization', 'subregion'], 8, True)
    """
    out: dict[str, dict[str, list[str]]] = {}
    st = record.states
    if "subregion" in st:
        named = st[st["subregion"].fillna("").astype(str).str.strip() != ""]
        out["subregion"] = {str(k): list(v) for k, v in named.groupby("subregion", sort=True)["state"]}
    if len(record.organizations):
        years = np.arange(start, end + 1)
        orgs, member = organization_membership(record, years, list(record.state_ids))
        ever = member.any(axis=0)  # (O, N)
        out["organization"] = {
            o: [s for s, m in zip(record.state_ids, ever[j]) if m] for j, o in enumerate(orgs) if ever[j].any()
        }
    return out


#: fewer states than this give no reading: a standard error clustered by state needs enough states
MIN_STATES = 5


def calibration_by_group(cells: pd.DataFrame, groups: dict[str, dict[str, list[str]]]) -> pd.DataFrame:
    """Mean mid-PIT of each group's cells (:func:`cell_scores`), 1/2 when the runs are calibrated for the group.

    A group's mean below 1/2 says its states adopted earlier than the runs (the model late there), above later
    (the model early). Its standard error is clustered by state (a state's cells share its pace; the
    definition of :func:`~harmsim.scoring.scores.paired_difference`); with fewer than :data:`MIN_STATES`
    states a clustered standard error is too small to trust, and ``z`` is left empty. ``reading`` says where
    the mean lies beyond twice its standard error. Several groups read at once: at two standard errors about
    one in twenty is flagged by chance alone. Columns ``grouping, group, states, cells, mean_pit, se, z,
    reading``.

    >>> cells = pd.DataFrame({"state": list("ABCDEFG"), "pit_mid": [0.1, 0.2, 0.15, 0.1, 0.05, 0.2, 0.9]})
    >>> t = calibration_by_group(cells, {"subregion": {"north": list("ABCDEF"), "south": ["G"]}})
    >>> [(r.group, r.cells, round(r.mean_pit, 3)) for r in t.itertuples()]
    [('north', 6, 0.133), ('south', 1, 0.9)]
    >>> t["reading"].tolist()
    ['the record earlier than the runs (the model late)', 'fewer than 5 states: no reading']
    """
    from harmsim.scoring.scores import mean_pit

    rows = []
    for grouping, by in groups.items():
        for name, states in by.items():
            g = cells[cells["state"].isin(set(states))]
            if not len(g):
                continue
            d = mean_pit(g["pit_mid"], g["state"])
            z = d["z"] if d["clusters"] >= MIN_STATES else np.nan
            if d["clusters"] < MIN_STATES:
                reading = f"fewer than {MIN_STATES} states: no reading"
            elif not np.isfinite(z):
                reading = "no spread: no standard error"
            elif z < -2:
                reading = "the record earlier than the runs (the model late)"
            elif z > 2:
                reading = "the record later than the runs (the model early)"
            else:
                reading = "within twice its standard error of 1/2"
            rows.append(dict(grouping=grouping, group=name, states=d["clusters"], cells=d["cells"],
                             mean_pit=d["mean"], se=d["se"], z=z, reading=reading))  # fmt: skip
    cols = ["grouping", "group", "states", "cells", "mean_pit", "se", "z", "reading"]
    return pd.DataFrame(rows, columns=cols)


def _with_all(m: dict, metric: str) -> np.ndarray:
    return np.column_stack([m[metric], m[f"{metric}_all"]])


def _metric_values(simulated, record: Record) -> list[tuple[str, list, np.ndarray]]:
    """Every fit metric per replicate: (metric, items, values (R, items)), in the fit table's order."""
    sc = simulated.scenario
    tg = target(sc, record)
    sim = simulated_years(simulated, tg.states, tg.instruments, tg.end)
    arrival = None
    ag = simulated.agreements
    if len(ag) and "arrival" in ag and (ag["arrival"] == "endogenous").any() and len(tg.agreements):
        a = ag if "replicate" in ag else ag.assign(replicate=0)
        wide = a.pivot(index="replicate", columns="agreement", values="year")
        wide = wide.reindex(columns=list(sc.world.agreements))
        arrival = wide.to_numpy(dtype=float, na_value=float(NEVER))
    m = fit_metrics(tg, sim, arrival)
    parts = [
        ("curve_mad", [*tg.instruments, "all"], _with_all(m, "curve_mad")),
        ("year_mae", [*tg.instruments, "all"], _with_all(m, "year_mae")),
        ("year_mae", list(tg.states), m["year_mae_state"]),
        ("rank_tau", list(tg.instruments), m["rank_tau"]),
    ]
    if "agreement_error" in m:
        parts.append(("agreement_error", list(tg.agreements), m["agreement_error"]))
    return parts


def compare(simulated: RunResult | EnsembleResult, record: Record) -> pd.DataFrame:
    """The fit table of a run or ensemble against an observed record.

    Returns a tidy table with columns ``metric, item, mean, sd, q05, q95,
    replicates``; ``item`` is an instrument, a state, an agreement or
    ``all``. Its ``attrs["provenance"]`` carries the simulation's provenance.
    """
    parts = [_summary(metric, items, values) for metric, items, values in _metric_values(simulated, record)]
    table = pd.concat(parts, ignore_index=True)
    table.attrs["provenance"] = dict(getattr(simulated, "provenance", {}))
    table.attrs["record"] = record.name
    return table


#: metrics where a larger value is the better fit (the others are errors: smaller is better)
HIGHER_IS_BETTER = ("rank_tau",)


def compare_paired(a: EnsembleResult, b: EnsembleResult, record: Record) -> pd.DataFrame:
    """How much better or worse ``b`` fits ``record`` than ``a``, replicate by replicate on the same seeds.

    Replicate ``r`` of both runs from the same seed (common random numbers), so the difference of a metric
    within a replicate removes most of the simulation noise the two share. Per metric and item: the means of
    ``a`` and ``b``, the mean paired difference ``b - a`` with its standard error over replicates and 90%
    interval, and ``better``: ``a`` or ``b`` when the mean difference is beyond two standard errors (lower is
    better for the errors, higher for ``rank_tau``), ``cannot tell`` otherwise.

    >>> import harmsim
    >>> base = harmsim.load_scenario("baseline")
    >>> a = harmsim.run_ensemble(base, replicates=40, seed=1)
    >>> b = harmsim.run_ensemble(base.with_params({"diffusion.strength": 0.0}), seeds=a.seeds)
    >>> t = compare_paired(a, b, harmsim.observed_record())
    >>> list(t.columns)
    ['metric', 'item', 'mean_a', 'mean_b', 'difference', 'se', 'q05', 'q95', 'replicates', 'better']
    """
    if tuple(a.seeds) != tuple(b.seeds):
        raise ConfigError("a paired comparison needs both runs on the same seeds (run_ensemble(..., seeds=...))")
    rows = []
    for (metric, items, va), (metric_b, items_b, vb) in zip(_metric_values(a, record), _metric_values(b, record)):
        if metric != metric_b or items != items_b:
            raise ConfigError(
                f"'{a.scenario.name}' and '{b.scenario.name}' are compared on different {metric} items "
                f"({', '.join(map(str, items))} against {', '.join(map(str, items_b))}): give both the same record"
            )
        d = vb - va
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            n = np.isfinite(d).sum(axis=0)
            mean = np.nanmean(d, axis=0)
            se = np.nanstd(d, axis=0, ddof=1) / np.sqrt(n) if len(d) > 1 else np.full(len(items), np.nan)
            q05, q95 = np.nanquantile(d, 0.05, axis=0), np.nanquantile(d, 0.95, axis=0)
            ma, mb = np.nanmean(va, axis=0), np.nanmean(vb, axis=0)
        sign = 1.0 if metric in HIGHER_IS_BETTER else -1.0  # positive: b better
        for j, item in enumerate(items):
            gain = sign * mean[j]
            clear = np.isfinite(se[j]) and abs(mean[j]) > 2 * se[j]
            better = ("b" if gain > 0 else "a") if clear else "cannot tell"
            rows.append((metric, item, ma[j], mb[j], mean[j], se[j], q05[j], q95[j], int(n[j]), better))
    cols = ["metric", "item", "mean_a", "mean_b", "difference", "se", "q05", "q95", "replicates", "better"]
    table = pd.DataFrame(rows, columns=cols)
    table.attrs["scenarios"] = (a.scenario.name, b.scenario.name)
    table.attrs["record"] = record.name
    return table


# Tables for figures ---------------------------------------------------------------------


def observed_curves(record: Record, start: int, end: int, instruments=None, states=None) -> pd.DataFrame:
    """Observed adopters by year per instrument: ``sure`` (adopted for certain) and ``possible``.

    The two differ only where adoption years are interval-censored. ``states`` (default: every state of the
    record) limits the count, e.g. to the members of a window: the record also holds states that join later.
    """
    instruments = list(instruments or record.instrument_ids)
    states = list(record.state_ids if states is None else states)
    lo, hi = encode(record, states, instruments, start, end).bounds()
    years = np.arange(start, end + 1)
    sure, possible = observed_counts(lo, hi, years)
    return pd.DataFrame(
        {
            "instrument": np.repeat(instruments, len(years)),
            "year": np.tile(years, len(instruments)),
            "sure": sure.ravel(),
            "possible": possible.ravel(),
        }
    )


def organization_curves(record: Record, instruments=None) -> pd.DataFrame:
    """Per organization with members by year, instrument and year: its members that year and the share of them
    known to have adopted by then.

    ``members`` counts the organization's members in the year; ``adopted`` those among them whose adoption
    is certain by the year (an interval counts from its upper bound); ``share`` = adopted / members. A regional
    treaty is counted only for its own organization. Organizations recorded without members have no rows.

    >>> import harmsim
    >>> c = organization_curves(harmsim.load_record("world"), ["cets197"])
    >>> sorted(set(c["organization"]))
    ['COE']
    """
    instruments = list(instruments or record.instrument_ids)
    states = list(record.state_ids)
    _, hi = encode(record, states, instruments, record.start, record.end).bounds()
    years = np.arange(record.start, record.end + 1)
    owner = dict(zip(record.instruments["instrument"], record.instruments.get("organization", pd.Series(dtype=str))))
    orgs, members = organization_membership(record, years, states)
    rows = []
    for o, org in sorted(enumerate(orgs), key=lambda x: x[1]):
        member = members[:, o, :]
        if not member.any():  # recorded without members by year
            continue
        for k, inst in enumerate(instruments):
            own = owner.get(inst)
            if isinstance(own, str) and own and own != org:
                continue
            adopted = member & (hi[:, k][None, :] <= years[:, None])
            n = member.sum(axis=1)
            a = adopted.sum(axis=1)
            share = np.divide(a, n, out=np.full(len(years), np.nan), where=n > 0)
            rows.append(pd.DataFrame({"organization": org, "instrument": inst, "year": years, "members": n,
                                      "adopted": a, "share": share}))  # fmt: skip
    cols = ["organization", "instrument", "year", "members", "adopted", "share"]
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=cols)


def simulated_curves(result: EnsembleResult, quantiles=(0.05, 0.25, 0.5, 0.75, 0.95), states=None) -> pd.DataFrame:
    """Simulated adopters by year per instrument: mean and quantiles over replicates (of ``states`` if given)."""
    a = result.adoptions if states is None else result.adoptions[result.adoptions["state"].isin(list(states))]
    c = cumulative_counts(a, result.scenario.start, result.scenario.end)
    return quantile_band(c.groupby(["instrument", "year"], sort=False, observed=True)["adopters"], quantiles)


def year_ranges(result: EnsembleResult, end: int | None = None) -> pd.DataFrame:
    """Per (state, instrument): share of replicates adopting by ``end``, and quantiles of the adoption year over
    all replicates, "not adopted by ``end``" counted as ``end + 1`` (so a median after ``end`` says most
    replicates do not adopt). ``end`` defaults to the scenario's last year. Quantiles are years that occur.
    """
    end = result.scenario.end if end is None else end
    a = result.adoptions
    y = a["year"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    y = np.where(np.isnan(y) | (y > end), end + 1, y)
    t = pd.DataFrame({"state": a["state"].astype(str), "instrument": a["instrument"].astype(str), "year": y})
    g = t.groupby(["state", "instrument"], sort=False, observed=True)["year"]
    out = pd.DataFrame({"p_adopted": g.agg(lambda s: float((s <= end).mean()))})
    for q, name in ((0.05, "q05"), (0.5, "q50"), (0.95, "q95")):
        out[name] = g.agg(lambda s, q=q: np.quantile(s.to_numpy(), q, method="inverted_cdf"))
    return out.reset_index()


def compliance_curves(adoptions: pd.DataFrame, world, agreements=None) -> pd.DataFrame:
    """Share of members that comply with an agreement, by year (default: those later ones build on).

    Compliance with agreement ``a`` by the end of year ``t``: the share of
    (member state, instrument covered by ``a`` and open by ``t``) cells adopted
    by ``t``, computed by the one definition the endogenous arrival of
    agreements uses (:func:`harmsim.model.mechanisms.agreements.compliance`, here
    with the adoptions of year ``t`` included). From a tidy adoption table
    (simulated, with ``replicate``; or the record's, where an
    interval-censored adoption counts once it is sure, at ``year_max``).
    Columns: replicate, agreement, year, share; no rows when no agreement is built on (the world record's
    organizations date their agreements, none arrives by another's compliance).
    """
    from harmsim.model.mechanisms.agreements import compliance

    a = adoptions.copy()
    if "replicate" not in a:
        a["replicate"] = 0
    col = "year_max" if "year_max" in a else "year"
    # Default: the agreements a later agreement builds on by consensus (the study's Figure 3 chain).
    names = agreements or list(
        dict.fromkeys(world.agreements[p] for p, trig in zip(world.parent, world.trigger) if trig == "consensus")
    )
    if not names:
        return pd.DataFrame({"replicate": [], "agreement": [], "year": [], "share": []})
    reps = np.sort(a["replicate"].unique())
    idx = pd.MultiIndex.from_product([reps, world.states, world.instruments])
    y = a.set_index(["replicate", "state", "instrument"])[col].astype("Float64").reindex(idx)
    y = y.to_numpy(dtype=float, na_value=np.inf).reshape(len(reps), len(world.states), len(world.instruments))
    rows = []
    for m in names:
        j = world.agreements.index(m)
        opens = np.broadcast_to(world.opens, (len(reps), len(world.opens)))
        for ti, t in enumerate(world.years):
            share = compliance(y <= t, world.member[ti], opens, world.covers[j], t)
            rows.append(pd.DataFrame({"replicate": reps, "agreement": m, "year": int(t), "share": share}))
    return pd.concat(rows, ignore_index=True)

"""Forecasts: the calibrated model run past the end of observation, conditioned on what was observed.

A forecast answers "given what was known by the end of observation, when
will each state adopt each instrument?". It

1. extends the scenario's horizon to ``until`` (every input past its data
   needs an explicit rule, :mod:`harmsim.data.inputs`);
2. conditions on the observed history: every run starts from the start of
   the record and follows it exactly through the end of observation
   (:meth:`Observations.clamp <harmsim.data.observations.Observations.clamp>`),
   so peers, agreements and prerequisites stand as they were;
3. draws one parameter set per replicate from the fit's uncertainty
   (:meth:`Fit.draw <harmsim.calibrate.Fit.draw>`), not the point estimate
   alone, and runs the model forward.

Instruments without any adoption in the observation window (the ASEAN
Convention against Trafficking, signed in November 2015 and open for
ratification from 2016) have no fitted intercept offset: the record says
nothing about them. With ``unobserved="exchangeable"`` (the default) each
replicate draws their offset from a normal with the mean and standard
deviation of that replicate's offsets of the instruments that were observed
and that the record determines (status identified, bounded or narrowed; the reference
instrument counting as 0): the new instrument is treated as one more
instrument like those of the record, and the spread between instruments is
carried into the forecast as uncertainty. With
``unobserved="scenario"`` the scenario's hand-set offset is used for every
replicate, without uncertainty. Either choice is written into the forecast's
provenance.

>>> import harmsim
>>> from harmsim.calibrate import calibrate
>>> sc = harmsim.load_scenario("diffusion_only")
>>> f = forecast(sc, calibrate(sc), until=2020, replicates=50, seed=1)
>>> list(f.table.columns)
['state', 'instrument', 'year', 'p_adopted_by_year']
>>> bool(f.table.groupby(["state", "instrument"])["p_adopted_by_year"].is_monotonic_increasing.all())
True
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from harmsim.analysis.predictive import (
    FROM_LIKELIHOOD,
    UNOBSERVED,
    drawn_provenance,
    fitted_data,
    latent_posterior_draws,
    parameter_draws,
)
from harmsim.analysis.run import run_draws
from harmsim.calibrate.likelihood import shared_posterior_draws
from harmsim.data.observations import (
    BEFORE,
    CENSORED,
    DATED,
    INTERVAL,
    Observations,
    encode,
    observations,
    observed_until,
)
from harmsim.data.world import NEVER
from harmsim.errors import ConfigError
from harmsim.rng import SeedLike, spawn_seeds

__all__ = ["UNOBSERVED", "Forecast", "forecast"]
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


@dataclass(frozen=True, eq=False)
class Forecast:
    """A forecast: tidy tables, the simulated years behind them, and provenance.

    table: ``state, instrument, year, p_adopted_by_year`` for every state and
        instrument and every year from ``origin + 1`` to ``until``.
    cells: per state and instrument: ``status`` at the origin (adopted / open /
        unknown / not open: a regional treaty of an organization the state
        is not a member of by ``until``), ``p_by_until`` and the 5%, 50% and
        95% quantiles of the adoption year over all replicates (missing: not
        by ``until``).
    fan: per instrument and year: quantiles of the number of states that have
        adopted (``q05 ... q95``) and the observed number up to the origin.
    adopt: (R, N, K) simulated adoption years (NEVER: not by ``until``).

    ``provenance["forecast"]["choices"]`` says in words what the forecast
    assumed (how inputs were extended, what the parameters were drawn from).

    >>> import harmsim
    >>> from harmsim.calibrate import calibrate
    >>> sc = harmsim.load_scenario("diffusion_only")
    >>> f = forecast(sc, calibrate(sc), until=2020, replicates=50, seed=1)
    >>> f
    Forecast(scenario='diffusion_only', origin=2015, until=2020, replicates=50)
    >>> f.cells.query("state == 'BRN' and instrument == 'tip_protocol'")["status"].item()  # not a party in 2015
    'open'
    """

    table: pd.DataFrame
    cells: pd.DataFrame
    fan: pd.DataFrame
    adopt: np.ndarray
    arrival: np.ndarray
    draws: pd.DataFrame | None
    seeds: tuple[int, ...]
    origin: int
    until: int
    scenario: object
    observations: Observations
    provenance: dict = field(default_factory=dict)

    def _repr_html_(self) -> str:
        from html import escape

        return f"<pre>{escape(repr(self))}</pre>"

    def __repr__(self) -> str:
        return (
            f"Forecast(scenario={self.scenario.name!r}, origin={self.origin}, until={self.until}, "
            f"replicates={len(self.seeds)})"
        )

    def summary(self) -> str:
        """The forecast in words, as ``harmsim forecast`` prints it and saves it (``summary.txt``): where its
        parameters come from, what it assumed, and per instrument the number of states that have adopted at the
        origin and, median and 90% interval, at ``until``.

        >>> import harmsim
        >>> f = forecast(harmsim.load_scenario("diffusion_only"), until=2018, replicates=20, seed=1)
        >>> print(f.summary().splitlines()[0])
        diffusion_only: forecast from 2015 (end of observation) to 2018, 20 replicates, the scenario's own parameters
        """
        said = self.provenance.get("forecast", {})
        fit = said.get("fit")
        if fit is None:
            source = "the scenario's own parameters"
        else:
            where = self.provenance.get("from_fit")
            source = f"parameters from the {fit['method'].upper()} fit" + (f" in {where}" if where else "")
            source += {
                "estimate": " (its point estimates: a plug-in forecast)",
                "posterior": " (drawn from its likelihood)",
                "mcmc": " (drawn from its likelihood by Markov chains)",
            }.get(said.get("parameters"), "")
        lines = [
            f"{self.scenario.name}: forecast from {self.origin} (end of observation) to {self.until}, "
            f"{len(self.seeds)} replicates, {source}"
        ]
        lines += [f"  {note}" for note in said.get("choices", [])]
        lines += [
            f"  input {name} extended by '{rule}' over {lo}-{hi}" for name, rule, lo, hi in self.scenario.world.extended
        ]
        last = self.fan[self.fan["year"] == self.until].set_index("instrument")
        now = self.fan[self.fan["year"] == self.origin].set_index("instrument")
        lines.append(f"\nstates that have adopted, {self.origin} -> {self.until} (median and 90% interval):")
        for k in self.scenario.world.instruments:
            lines.append(
                f"  {k:<14} {int(now.loc[k, 'q50']):>2} -> {last.loc[k, 'q50']:>4.1f}  "
                f"[{last.loc[k, 'q05']:.0f}, {last.loc[k, 'q95']:.0f}]"
            )
        return "\n".join(lines)

    def save(self, folder: str | Path, figures: bool = True, force: bool = False) -> list[Path]:
        """Write forecast.csv, cells.csv, fan.csv, parameters.csv, summary.txt, provenance.json and fan figures.

        Into a new ``folder``; an existing result folder is replaced only with ``force`` (:mod:`harmsim._output`).
        """
        from harmsim._output import ResultFolder

        with ResultFolder(folder, "forecast", force) as rf:
            rf.add(self._write(rf.path, figures))
        return rf.final

    def _write(self, out: Path, figures: bool) -> list[Path]:
        paths = []
        for name, table in (("forecast", self.table), ("cells", self.cells), ("fan", self.fan)):
            paths.append(out / f"{name}.csv")
            table.to_csv(paths[-1], index=False)
        if self.draws is not None:
            paths.append(out / "parameters.csv")
            self.draws.assign(replicate=range(len(self.draws)), seed=list(self.seeds)).to_csv(paths[-1], index=False)
        paths.append(out / "summary.txt")
        paths[-1].write_text(self.summary() + "\n")
        paths.append(out / "provenance.json")
        paths[-1].write_text(json.dumps(self.provenance, indent=2, default=str) + "\n")
        if figures:
            from harmsim.output.plots import agreement_marks_by_instrument, figure_fan, instrument_labels, save_figure

            fig = figure_fan(
                self.fan,
                list(self.scenario.world.instruments),
                self.origin,
                names=instrument_labels(self.scenario.record),
                n_states=self.scenario.world.open_until(self.scenario.world.end),
                agreements=agreement_marks_by_instrument(self.scenario),
                suptitle=f"Forecast from {self.origin}: {self.scenario.name}, {len(self.seeds)} replicates",
            )
            paths += save_figure(fig, out, "fan")
            world_map = self.map()
            if world_map is not None:
                paths += save_figure(world_map, out, "map")
        return paths

    def map(self):
        """Per instrument, a world map of each open state's probability of adopting it by ``until``; states
        that had adopted by the origin grey, unknown hatched, not open white. None on a record of
        :data:`~harmsim.output.figures.MAP_STATES` states or fewer (a region's timeline and fan show it better).

        >>> import harmsim
        >>> f = forecast(harmsim.load_scenario("world_baseline"), until=2018, replicates=20, seed=1)
        >>> len(f.map().axes)  # six instruments and the colour bar (the scenario's parameters: no fit)
        7
        """
        from harmsim.output.figures import cells_map
        from harmsim.output.plots import figure_probability_map, instrument_labels

        title = f"Forecast from {self.origin}: {self.scenario.name}, {len(self.seeds)} replicates"
        names = instrument_labels(self.scenario.record)
        return cells_map(self.scenario, self.cells, self.origin, figure_probability_map, self.until, names, title)


def forecast(
    scenario,
    fit=None,
    *,
    until: int,
    replicates: int = 1000,
    seed: SeedLike = 0,
    record=None,
    unobserved: str = "exchangeable",
    parameters: str = "drawn",
    workers: int = 1,
    history=None,
) -> Forecast:
    """Forecast ``scenario`` (with ``fit``'s parameters) from the end of observation to ``until``.

    The observations are ``record`` (default: the scenario's), cut at the
    fit's ``observed_until`` when the fit was made on fewer years. See the
    module docstring for what is conditioned on and how parameters are drawn.
    ``history``: the record the states' propensities and the organizations'
    intercepts are drawn given (default: the observations). A held-out
    instrument's backtest passes the record its fit saw, every other
    instrument to the record's end, where its forecast's observations end the
    year before the instrument opened.
    ``parameters``: each replicate's fitted parameters drawn from the fit's
    normal approximation (``"drawn"``), at its point estimate (``"estimate"``,
    a plug-in forecast) or from its likelihood itself (``"posterior"``, or ``"mcmc"``); see
    :func:`~harmsim.analysis.predictive.fitted_parameters`.
    The result is the same on any number of ``workers``.
    """
    record = record if record is not None else scenario.record
    if fit is not None:
        fit.apply(scenario)  # refuses a fit of another scenario or other transforms
    origin = fit.observed_until if fit is not None and fit.observed_until is not None else record.end
    rec = observed_until(record, origin)
    origin = rec.end
    if isinstance(until, bool) or not isinstance(until, (int, np.integer)) or until <= origin:
        raise ConfigError(f"forecast: until must be a year after the end of observation ({origin}), got {until!r}")
    # the world reads the observed record: what the record shows ends at the origin (a trend is held there,
    # unless the fit saw later years of other cells: a held-out instrument's forecast)
    sc = scenario.with_record(rec).with_horizon(int(until))
    known = None
    if fit is not None and fit.observed_until is not None and fit.observed_until > origin:
        known = min(int(fit.observed_until), int(until))
        sc = sc.with_time_known_until(known)
    obs = observations(sc.world, rec)
    seeds = spawn_seeds(seed, replicates)
    # the data the fit saw: the observations, or the history a held-out instrument's fit saw
    fitted_to = None
    if parameters in FROM_LIKELIHOOD and fit is not None:
        fitted_to = fitted_data(scenario, fit, record if history is None else history)
    draws, notes = parameter_draws(sc, fit, replicates, seed, obs, unobserved, parameters, fitted_to)
    if known is not None:
        notes.append(
            f"time terms (a trend's period part, a region's slope): as fitted to {known}, the last year the fit "
            f"observed, though the observations here end in {origin}"
        )
    latent = shared = None
    if sc.dynamics.needs_latent or sc.dynamics.needs_shared:
        given, given_sc = (rec, sc) if history is None else (history, scenario.with_record(history))
        given_sc = fit.apply(given_sc) if fit is not None else given_sc
        whose = "" if history is None else f" (record '{history.name}', to {history.end})"
        if sc.dynamics.needs_latent:
            latent = latent_posterior_draws(given_sc, given, replicates, seed)
            notes.append(
                f"state propensities: drawn per replicate from each state's posterior given its observed history"
                f"{whose} (at the fit's point estimate, on the quadrature grid); states with no observed history "
                "from the prior"
            )
        if sc.dynamics.needs_shared:
            shared = shared_posterior_draws(given_sc, given, replicates, seed)
            notes.append(
                f"organization intercepts: drawn per replicate from their posterior given the observed history"
                f"{whose} (importance draws at the fit's point estimate); organizations without members in the "
                "record from the prior"
            )
    adopt, arrival = run_draws(sc, draws, seeds, obs.clamp(), workers=workers, latent=latent, shared=shared)
    w = sc.world
    prov = drawn_provenance(sc, fit, seeds, draws)
    prov["forecast"] = {
        "origin": origin,
        "until": int(until),
        "time_known_until": known,
        "parameters": parameters if fit is not None else None,
        "latent_given": None if history is None else history.name,
        "observations": f"record '{record.name}' up to {origin}",
        "fit": None if fit is None else {"method": fit.method, "scenario": fit.scenario, "record": fit.record},
        "choices": notes,
        "inputs_extended": [list(e) for e in w.extended],
    }
    return Forecast(
        table=_probabilities(w, adopt, origin, int(until)),
        cells=_cells(w, adopt, obs, origin, int(until)),
        fan=_fan(w, adopt, rec, origin),
        adopt=adopt,
        arrival=arrival,
        draws=draws,
        seeds=tuple(seeds),
        origin=origin,
        until=int(until),
        scenario=sc,
        observations=obs,
        provenance=prov,
    )


def _probabilities(w, adopt: np.ndarray, origin: int, until: int) -> pd.DataFrame:
    years = np.arange(origin + 1, until + 1)
    p = (adopt[..., None] <= years).mean(axis=0)  # (N, K, Y)
    N, K, Y = p.shape
    return pd.DataFrame(
        {
            "state": np.repeat(w.states, K * Y),
            "instrument": np.tile(np.repeat(w.instruments, Y), N),
            "year": np.tile(years, N * K),
            "p_adopted_by_year": p.ravel(),
        }
    )


def _cells(w, adopt: np.ndarray, obs: Observations, origin: int, until: int) -> pd.DataFrame:
    y = np.where(adopt == NEVER, until + 1, adopt).astype(float)
    q = np.quantile(y, [0.05, 0.5, 0.95], axis=0, method="inverted_cdf")  # (3, N, K)
    q = np.where(q > until, np.nan, q)
    adopted = (obs.kind == BEFORE) | ((obs.kind == DATED) & (obs.year <= origin))
    adopted |= (obs.kind == INTERVAL) & (obs.hi <= origin)
    status = np.where(adopted, "adopted", np.where(obs.kind == CENSORED, "open", "unknown"))
    # a regional treaty of an organization the state never belongs to in the horizon: not a forecast of 0
    never = ~w.open_to.any(axis=0) & w.member.any(axis=0)[:, None]
    status = np.where(never, "not open", status)
    N, K = adopt.shape[1:]
    out = pd.DataFrame(
        {
            "state": np.repeat(w.states, K),
            "instrument": np.tile(w.instruments, N),
            "status": status.ravel(),
            "p_by_until": (adopt <= until).mean(axis=0).ravel(),
        }
    )
    for name, v in zip(("q05", "q50", "q95"), q):
        out[name] = pd.array(np.where(np.isnan(v), 0, v).astype(int).ravel(), dtype="Int64")
        out.loc[np.isnan(v.ravel()), name] = pd.NA
    return out


def _fan(w, adopt: np.ndarray, record, origin: int) -> pd.DataFrame:
    """Adopters by year per instrument, forecast quantiles and the observed count to ``origin``.

    A year counts the states that are members that year, in the forecast and in the record alike: a state that
    joins later (Timor-Leste in 2025) counts from then, its adoptions before joining included, and not before.
    ``observed`` counts the adoptions known by each year; ``observed_possible`` adds those whose year is known
    only as an interval that has begun (the two differ only there).
    """
    years = w.years
    member = w.member.T  # (N, T)
    counts = ((adopt[..., None] <= years) & member[None, :, None, :]).sum(axis=1)  # (R, K, T)
    qs = np.quantile(counts, QUANTILES, axis=0)  # (Q, K, T)
    K, T = counts.shape[1:]
    out = pd.DataFrame({"instrument": np.repeat(w.instruments, T), "year": np.tile(years, K)})
    out["mean"] = counts.mean(axis=0).ravel()
    for q, v in zip(QUANTILES, qs):
        out[f"q{round(q * 100):02d}"] = v.ravel()
    lo, hi = encode(record, w.states, w.instruments, w.start, origin).bounds()  # (N, K)
    seen = np.tile(years <= origin, K)
    sure = ((hi[..., None] <= years) & member[:, None, :]).sum(axis=0)  # (K, T)
    possible = ((lo[..., None] <= years) & member[:, None, :]).sum(axis=0)
    for name, v in (("observed", sure), ("observed_possible", possible)):
        out[name] = pd.array(v.ravel(), dtype="Int64")
        out.loc[~seen, name] = pd.NA
    return out

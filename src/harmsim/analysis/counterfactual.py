"""Counterfactuals: the calibrated model with and without a change, on the same seeds and parameter draws.

:func:`counterfactual` runs the scenario twice from the start of its horizon
to ``until``: once on the record's inputs, once on the inputs changed by a
:class:`~harmsim.model.interventions.Change`. Replicate ``r`` of both runs uses the
same parameter set (drawn from the fit) and the same seed, so every draw of
every year is shared (common random numbers) and the difference between the
two runs is the change's effect alone, replicate by replicate; a change that
changes nothing gives exactly zero. The feature standardizations are the
scenario's own (:mod:`harmsim.data.features`), so a counterfactual richer region
really is richer for the model.

Reported per instrument, with 90% intervals over the paired replicates:

* adopters gained (+) or lost (-) by each year (``differences``);
* the shift in the median adoption year over the states (``summary``), a
  state that has not adopted by ``until`` counting as later than any year;
  where the median itself lies beyond ``until`` the shift is not defined and
  the share of such replicates is given instead.

Counterfactual histories are not conditioned on the observed record: what
happened after a change is exactly what the change would alter.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from harmsim.analysis.predictive import FROM_LIKELIHOOD, drawn_provenance, fitted_data, parameter_draws
from harmsim.analysis.run import run_draws
from harmsim.data.observations import observations
from harmsim.data.world import NEVER
from harmsim.errors import ConfigError
from harmsim.model.interventions import Change
from harmsim.model.mechanisms.agreements import binding_acting
from harmsim.model.tables import adopters_by_year
from harmsim.rng import SeedLike, spawn_seeds

__all__ = ["Counterfactual", "counterfactual"]


@dataclass(frozen=True, eq=False)
class Counterfactual:
    """Paired runs with and without a change: differences by year, a summary, cautions, provenance.

    ``differences``: instrument, year, mean, q05, q95 and ``share_changed``
    (adopters gained or lost by each year); ``summary``: per instrument, the
    adopters gained by the end and the shift in the median adoption year;
    ``cells``: per state and instrument open to it, the probability of
    adopting by the end without and with the change, their paired
    difference and its standard error over replicates, and the share of
    replicates whose adoption year the change moves (:func:`_cells`);
    ``report()`` says it in words. An example is under :func:`counterfactual`.
    """

    differences: pd.DataFrame
    summary: pd.DataFrame
    adopt_base: np.ndarray
    adopt_changed: np.ndarray
    change: Change
    scenario: object
    cautions: tuple[str, ...] = ()
    provenance: dict = field(default_factory=dict)
    cells: pd.DataFrame | None = None

    def _repr_html_(self) -> str:
        from html import escape

        return f"<pre>{escape(repr(self))}</pre>"

    def __repr__(self) -> str:
        n = len(self.adopt_base)
        return f"Counterfactual(change={self.change.name!r}, scenario={self.scenario.name!r}, replicates={n})"

    def report(self) -> str:
        """The summary in words and a table."""
        s = self.summary
        until = self.scenario.end
        lines = [
            f"Counterfactual '{self.change.name}' against '{self.scenario.name}', {self.scenario.start}-{until}, "
            f"{len(self.adopt_base)} paired replicates. {self.change.description}".strip()
        ]
        t = s.copy()
        lines.append(t.to_string(index=False, float_format=lambda x: f"{x:.2f}"))
        for _, r in s.iterrows():
            if r["gained_q05"] > 0 or r["gained_q95"] < 0:
                sign = "more" if r["gained_mean"] > 0 else "fewer"
                lines.append(
                    f"{r['instrument']}: {abs(r['gained_mean']):.1f} {sign} adopters by {until} "
                    f"(90% interval {r['gained_q05']:.0f} to {r['gained_q95']:.0f})."
                )
            elif r["gained_q05"] == r["gained_q95"] == 0:
                lines.append(f"{r['instrument']}: no difference by {until} in any replicate.")
            else:
                lines.append(f"{r['instrument']}: the 90% interval of the difference by {until} includes 0.")
        lines.extend(self.cautions)
        return "\n".join(lines)

    def save(self, folder: str | Path, figures: bool = True, force: bool = False) -> list[Path]:
        """Write differences.csv, summary.csv, cells.csv, report.txt, provenance.json and the figures (on a record
        of many states, a map of the change per state too).

        Into a new ``folder``; an existing result folder is replaced only with ``force`` (:mod:`harmsim._output`).
        """
        from harmsim._output import ResultFolder

        with ResultFolder(folder, "counterfactual", force) as rf:
            rf.add(self._write(rf.path, figures))
        return rf.final

    def _write(self, out: Path, figures: bool) -> list[Path]:
        paths = [out / "differences.csv", out / "summary.csv", out / "report.txt", out / "provenance.json"]
        self.differences.to_csv(paths[0], index=False)
        self.summary.to_csv(paths[1], index=False)
        paths[2].write_text(self.report() + "\n")
        paths[3].write_text(json.dumps(self.provenance, indent=2, default=str) + "\n")
        if self.cells is not None:
            paths.append(out / "cells.csv")
            self.cells.to_csv(paths[-1], index=False)
        if figures:
            from harmsim.output.plots import (
                agreement_marks_by_instrument,
                figure_differences,
                instrument_labels,
                save_figure,
            )

            fig = figure_differences(
                self.differences,
                list(self.scenario.world.instruments),
                names=instrument_labels(self.scenario.record),
                agreements=agreement_marks_by_instrument(self.scenario, self.change.apply(self.scenario.record)),
                suptitle=f"Counterfactual '{self.change.name}' against '{self.scenario.name}'",
            )
            paths += save_figure(fig, out, "differences")
            world_map = self.map()
            if world_map is not None:
                paths += save_figure(world_map, out, "map")
        return paths

    def map(self):
        """Per instrument, a world map of the change in each state's probability of adopting by the end (its
        paired difference, ``cells``); not open white. None on a record of
        :data:`~harmsim.output.figures.MAP_STATES` states or fewer (its figures by instrument show it better).

        >>> import harmsim
        >>> from harmsim.model.interventions import load_change
        >>> sc = harmsim.load_scenario("world_baseline")
        >>> change = load_change("experiments/changes/world_binding_2004_declaration.toml")
        >>> len(counterfactual(sc, None, change, replicates=20, seed=0).map().axes)  # six instruments, a colour bar
        7
        """
        from harmsim.output.figures import cells_map
        from harmsim.output.plots import figure_difference_map, instrument_labels

        if self.cells is None:
            return None
        w = self.scenario.world
        title = f"Counterfactual '{self.change.name}' against '{self.scenario.name}': with minus without"
        names = instrument_labels(self.scenario.record)
        return cells_map(self.scenario, self.cells, w.end, figure_difference_map, w.end, names, title)


def counterfactual(
    scenario,
    fit,
    change: Change,
    *,
    until: int | None = None,
    replicates: int = 500,
    seed: SeedLike = 0,
    unobserved: str = "exchangeable",
    parameters: str = "drawn",
    workers: int = 1,
) -> Counterfactual:
    """Run ``scenario`` (parameters drawn from ``fit``; None: its own) with and without ``change``; see the module.

    Both runs share their seeds and parameter draws, so a change that changes
    nothing differs by exactly zero and a real change's difference is its
    effect alone, replicate by replicate. ``parameters="estimate"`` runs every
    replicate at the fit's point estimate, the effect's spread then that of
    the simulation alone (:func:`~harmsim.analysis.predictive.parameter_draws`).

    >>> import harmsim
    >>> from harmsim.model.interventions import Change
    >>> sc = harmsim.load_scenario("baseline")
    >>> nothing = counterfactual(sc, None, Change(), replicates=20, seed=0)
    >>> bool((nothing.differences[["mean", "q05", "q95"]] == 0).all().all())
    True
    >>> no_2004 = Change.from_dict({"name": "no_2004", "agreements": [{"remove": "decl_tip_2004"}]})
    >>> cf = counterfactual(sc, None, no_2004, replicates=20, seed=0)
    >>> list(cf.summary.columns[:4])
    ['instrument', 'gained_mean', 'gained_q05', 'gained_q95']
    >>> bool((cf.adopt_base != cf.adopt_changed).any())  # the same seeds, another schedule
    True
    """
    until = scenario.end if until is None else until
    if isinstance(until, bool) or not isinstance(until, (int, np.integer)) or until < scenario.start:
        raise ConfigError(f"counterfactual: until must be a year from {scenario.start} on, got {until!r}")
    if fit is not None:
        fit.apply(scenario)
    base = scenario.with_horizon(int(until))
    changed = base.with_record(change.apply(scenario.record)) if not change.empty else base
    seeds = spawn_seeds(seed, replicates)
    obs = observations(scenario.world, scenario.record)
    fitted_to = fitted_data(scenario, fit) if parameters in FROM_LIKELIHOOD and fit is not None else None
    draws, notes = parameter_draws(base, fit, replicates, seed, obs, unobserved, parameters, fitted_to)
    changed, draws_changed = _with_parameters(changed, draws, change)
    a0, _ = run_draws(base, draws, seeds, workers=workers)
    a1, _ = run_draws(changed, draws_changed, seeds, workers=workers)
    w = base.world
    d = adopters_by_year(a1, w.years) - adopters_by_year(a0, w.years)  # (R, K, T): adopters gained
    diff = _differences(w, d)
    summary = _summary(w, d[..., -1], a0, a1)
    cautions = _cautions(change, fit, base)
    prov = drawn_provenance(base, fit, seeds, draws)
    prov["counterfactual"] = {
        "change": change.name,
        "parameters": parameters if fit is not None else None,
        "description": change.description,
        "file": change.where,
        "interventions": {
            "agreements": list(change.agreements),
            "covariates": list(change.covariates),
            "tiers": list(change.tiers),
            "membership": list(change.membership),
            "parameters": dict(change.parameters),
        },
        "choices": notes,
        "cautions": list(cautions),
    }
    return Counterfactual(diff, summary, a0, a1, change, base, tuple(cautions), prov, _cells(w, a0, a1))


def _with_parameters(changed, draws, change: Change):
    """The changed scenario with the change's ``[parameters]`` set, and the draws it runs with.

    Every parameter the change names is set on the scenario, numeric or not (a switch such as
    ``"diffusion.enabled" = false``, an arrival rule, a map of offsets), and in every draw: a fitted value never
    overrides what the change sets. Draws of parameters the changed scenario no longer has (its mechanism
    switched off) are dropped.
    """
    if not change.parameters:
        return changed, draws
    try:
        changed = changed.with_params(change.parameters)
    except ConfigError as exc:
        raise ConfigError(f"{change.where}: [parameters]: {exc}") from None
    if draws is None:
        return changed, None
    values = changed.parameters()
    named = set()
    for key, value in change.parameters.items():
        named |= {f"{key}.{k}" for k in value} if isinstance(value, Mapping) else {key}
    table = draws[[c for c in draws.columns if c in values]].copy()
    for c in table.columns:
        if c in named:
            table[c] = values[c]
    return changed, table


def _differences(w, d) -> pd.DataFrame:
    """Mean and 90% interval over paired replicates of ``d`` (R, K, T), the adopters gained by each year."""
    K, T = d.shape[1:]
    q05, q95 = np.quantile(d, [0.05, 0.95], axis=0)
    return pd.DataFrame(
        {
            "instrument": np.repeat(w.instruments, T),
            "year": np.tile(w.years, K),
            "mean": d.mean(axis=0).ravel(),
            "q05": q05.ravel(),
            "q95": q95.ravel(),
            "share_changed": (d != 0).mean(axis=0).ravel(),
        }
    )


def _cells(w, a0, a1) -> pd.DataFrame:
    """Per state and instrument open to it in the horizon: P(adopted by the end) without (``p_base``) and with
    (``p_changed``) the change, the paired ``difference`` and its standard error over replicates, and
    ``share_moved``, the share of replicates whose adoption year the change moves."""
    end = int(w.years[-1])
    d0 = (a0 != NEVER) & (a0 <= end)
    d1 = (a1 != NEVER) & (a1 <= end)
    diff = d1.astype(float) - d0.astype(float)  # (R, N, K)
    R = len(diff)
    se = diff.std(axis=0, ddof=1) / np.sqrt(R) if R > 1 else np.full(diff.shape[1:], np.nan)
    open_ = w.open_to.any(axis=0)  # (N, K): a regional treaty to its members only
    i, k = np.nonzero(open_)
    return pd.DataFrame(
        {
            "state": np.asarray(w.states, dtype=object)[i],
            "instrument": np.asarray(w.instruments, dtype=object)[k],
            "p_base": d0.mean(axis=0)[i, k],
            "p_changed": d1.mean(axis=0)[i, k],
            "difference": diff.mean(axis=0)[i, k],
            "se": se[i, k],
            "share_moved": (a0 != a1).mean(axis=0)[i, k],
        }
    )


def _median_years(w, adopt):
    """(R, K) median adoption year over the states that are members in some year; inf beyond the horizon."""
    states = w.member.any(axis=0)
    y = np.where(adopt == NEVER, np.inf, adopt.astype(float))[:, states]
    return np.quantile(y, 0.5, axis=1, method="inverted_cdf")


def _summary(w, g, a0, a1) -> pd.DataFrame:
    """Per instrument: adopters gained by the last year (``g``, (R, K)) and the shift in the median year."""
    m0, m1 = _median_years(w, a0), _median_years(w, a1)
    both = np.isfinite(m0) & np.isfinite(m1)
    with np.errstate(invalid="ignore"):  # inf - inf where both medians lie beyond the horizon
        shift = np.where(both, m1 - m0, np.nan)
    rows = []
    for k, inst in enumerate(w.instruments):
        s = shift[both[:, k], k]
        rows.append(
            {
                "instrument": inst,
                "gained_mean": g[:, k].mean(),
                "gained_q05": np.quantile(g[:, k], 0.05),
                "gained_q95": np.quantile(g[:, k], 0.95),
                "median_shift_mean": s.mean() if len(s) else np.nan,
                "median_shift_q05": np.quantile(s, 0.05) if len(s) else np.nan,
                "median_shift_q95": np.quantile(s, 0.95) if len(s) else np.nan,
                "median_beyond_horizon": float((~both[:, k]).mean()),
            }
        )
    return pd.DataFrame(rows)


def _binding_note(c: dict, scenario) -> str:
    """What a change that makes an agreement binding rests on: the fit's binding minus non-binding effect, and
    why its interval is not the last word where the evidence comes in a few organizations."""
    interval = (
        f"95% interval {c['ci_low']:.2f} to {c['ci_high']:.2f}"
        if np.isfinite(c["se"])
        else "no interval: the fit has no covariance"
    )
    words = [
        f"Note: the change acts through binding minus non-binding agreements, which the fit estimates at "
        f"{c['estimate']:.2f} log-odds ({interval})"
    ]
    if c["ci_low"] <= 0 <= c["ci_high"]:
        words.append("its interval includes 0: the record does not show binding agreements doing more")
    if len(getattr(scenario.record, "organizations", ())) > 1:
        words.append(
            "the fit counts every state-year as independent, but the evidence comes in a few organizations: the test "
            "of bindingness (harmsim bindingness) gives an interval that allows for it"
        )
    return "; ".join(words) + "."


def _cautions(change: Change, fit, scenario) -> list[str]:
    out = []
    if change.touches_bindingness and scenario.mechanism("agreements") is not None:
        free = set(fit.estimates["parameter"]) if fit is not None else set()
        estimated = "agreements.binding" in free
        if {"agreements.binding", "agreements.nonbinding"} <= free:
            out.append(_binding_note(fit.contrast("agreements.binding", "agreements.nonbinding"), scenario))
        if not estimated:
            ag = scenario.mechanism("agreements")
            why = "no fit was given" if fit is None else "the fit holds agreements.binding at the scenario's value"
            if not binding_acting(scenario.world, ag.lag, min(scenario.record.end, scenario.end)):
                why += "; no binding agreement acts inside the record's window, so no fit could estimate it"
            out.append(
                f"Caution: the change makes an agreement binding, but the effect of binding agreements is not "
                f"estimated from this record ({why}); the result reflects the scenario's assumed value "
                f"agreements.binding = {ag.binding}, not evidence."
            )
    if fit is None:
        out.append("Parameters: the scenario's own values (no fit): no parameter uncertainty.")
    else:
        est = fit.estimates.set_index("parameter")
        for name, value in change.parameters.items():
            if name not in est.index:
                continue
            e = est.loc[name]
            words = [
                f"the fit estimates {name} at {e['estimate']:.2f} (95% interval {e['lower']:.2f} to {e['upper']:.2f})"
            ]
            if e["estimate"] < 0 and value == 0:
                words.append("a negative value, so setting it to 0 removes a brake, not a push")
            if e["lower"] <= 0 <= e["upper"]:
                words.append("its interval includes 0: the record does not show the mechanism acting")
            out.append("Note: " + "; ".join(words) + ".")
    return out

"""Figures of a result in one call: ``ens.plot.cumulative()``, ``ens.plot.timeline()``, ``ens.plot.agreements()``,
``ens.plot.map()``.

This module computes the tables each figure needs (observed and simulated
curves, per-state year ranges over all replicates, the order of states by
observed adoption) and the words on it (instrument, state and agreement
names from the record, what was simulated and how), and hands them to
:mod:`harmsim.output.plots`, which only draws. The command line writes the same
figures.

>>> import harmsim
>>> ens = harmsim.run_ensemble(harmsim.load_scenario("baseline"), replicates=20, seed=1)
>>> fig = ens.plot.timeline()
>>> fig.axes[0].get_title().replace("\\n", " ")
'Specific national law on trafficking in persons'
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from harmsim.output.plots import (
    agreement_marks_by_instrument,
    figure_cumulative,
    figure_pit_map,
    figure_timeline,
    instrument_labels,
    plot_agreement_timing,
)
from harmsim.scoring.compare import CELL_RUNS, cell_scores, observed_curves, simulated_curves, year_ranges

__all__ = ["EnsemblePlots", "cells_map", "describe", "instrument_labels", "notes", "state_labels", "states_by_adoption"]

#: methods of a fit, as a sentence says them
_METHOD = {"mle": "fitted by maximum likelihood", "abc": "fitted by ABC"}
#: a record of more states than this gets a map of where its outcomes fall among the runs (a region's ten
#: states are a few specks on a world map; its timeline shows them better)
MAP_STATES = 40


def cells_map(scenario, cells: pd.DataFrame, year: int, figure, *args):
    """A figure of per-state ``cells`` (a forecast's, a counterfactual's) on the world map: the cells placed by
    their outlines (:func:`~harmsim.data.maps.map_codes`) and drawn by ``figure(shapes, values, instruments,
    *args, unplaced)``; None when the scenario has :data:`MAP_STATES` members or fewer by ``year``. The states
    it names as not drawn are those of cells not marked ``not open``.

    >>> import harmsim
    >>> from harmsim.output.plots import figure_probability_map
    >>> cells = pd.DataFrame({"state": ["THA"], "instrument": ["actip"], "status": ["open"], "p_by_until": [0.5]})
    >>> cells_map(harmsim.load_scenario("baseline"), cells, 2015, figure_probability_map, 2020) is None  # ten states
    True
    """
    from harmsim.data.maps import country_shapes, map_codes, unplaced

    w, rec = scenario.world, scenario.record
    if len(w.members_until(year)) <= MAP_STATES:
        return None
    values = cells.assign(code=cells["state"].map(map_codes(rec)))
    shown = values["state"] if "status" not in values else values.loc[values["status"] != "not open", "state"]
    return figure(country_shapes(), values, list(w.instruments), *args, unplaced(rec, shown))


def state_labels(record) -> dict[str, str]:
    """State id -> name.

    >>> import harmsim
    >>> state_labels(harmsim.observed_record())["KHM"]
    'Cambodia'
    """
    return {str(s): str(n) for s, n in zip(record.states["state"], record.states["name"])}


def states_by_adoption(record, states, instruments) -> list[str]:
    """``states`` ordered by when they adopted the ``instruments`` on record (mean of the known years, interval
    midpoints, not adopted counted as the year after the end), earliest first; ties by name.

    >>> import harmsim
    >>> states_by_adoption(harmsim.observed_record(), ["THA", "PHL", "MYS"], ["tip_law"])  # 2008, 2003, 2007
    ['PHL', 'MYS', 'THA']
    """
    a = record.adoptions[record.adoptions["instrument"].isin(instruments)]
    lo = a["year_min"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    hi = a["year_max"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    when = np.where(np.isnan(hi), record.end + 1, (lo + hi) / 2)
    mean = pd.Series(when, index=a["state"].astype(str).to_numpy()).groupby(level=0).mean()
    names = state_labels(record)
    return sorted(states, key=lambda s: (mean.get(s, np.inf), names.get(s, s)))


def describe(ens) -> str:
    """What an ensemble simulates, for a title: "simulated (fitted by maximum likelihood, 500 draws)" or
    "simulated (the scenario's parameters, 500 runs)".

    >>> import harmsim
    >>> describe(harmsim.run_ensemble(harmsim.load_scenario("baseline"), replicates=20, seed=1))
    "simulated (the scenario's parameters, 20 runs)"
    """
    pred = ens.provenance.get("predictive")
    n = ens.replicates
    if pred:
        return f"simulated ({_METHOD.get(pred.get('fit'), 'fitted')}, {n} draws)"
    return f"simulated (the scenario's parameters, {n} run{'s' if n != 1 else ''})"


def notes(record, ranges: pd.DataFrame, instruments, end: int) -> dict[str, str]:
    """A line for each panel whose instrument nobody adopted on record by ``end``: when it opened, and how often
    the simulation adopts it.

    >>> import harmsim
    >>> from harmsim.scoring.compare import year_ranges
    >>> ranges = year_ranges(harmsim.run_ensemble(harmsim.load_scenario("baseline"), replicates=20, seed=1), 2015)
    >>> print(notes(harmsim.observed_record(), ranges, ["tip_law", "actip"], 2015)["actip"].splitlines()[0])
    opened 2015; no member adopted it by 2015
    """
    out = {}
    rec = record.instruments.set_index("instrument")
    for k in instruments:
        a = record.adoptions[record.adoptions["instrument"] == k]
        if a["year_max"].notna().any():
            continue
        opens = rec.loc[k, "opens"] if "opens" in rec else None
        when = f"opened {int(opens)}; " if pd.notna(opens) else ""
        p = ranges.loc[ranges["instrument"] == k, "p_adopted"].mean()
        out[k] = f"{when}no member adopted it by {end}\nsimulated: {p:.1%} of state-runs adopt by {end}"
    return out


class EnsemblePlots:
    """The figures of an ensemble against a record (default: its scenario's); each method returns a Figure.

    >>> import harmsim
    >>> ens = harmsim.run_ensemble(harmsim.load_scenario("baseline"), replicates=20, seed=1)
    >>> sorted(EnsemblePlots(ens).all())  # no endogenous agreement: no figure of their timing
    ['cumulative', 'timeline']
    """

    def __init__(self, ens, record=None):
        self.ens = ens
        self.record = record if record is not None else ens.scenario.record
        self._ranges: dict = {}  # year ranges per (record, end): shared by the figures of one call to all()

    def _context(self, record=None):
        """(scenario, record, end, instruments, members of the window, title) for ``record`` (default: this one's)."""
        sc, rec = self.ens.scenario, record if record is not None else self.record
        end = min(sc.end, rec.end)
        inst = [k for k in sc.world.instruments if k in set(rec.instrument_ids)]
        members = list(sc.world.members_until(end))
        title = f"{sc.name}: {describe(self.ens)}, against the observed record '{rec.name}' ({rec.start}-{rec.end})"
        return sc, rec, end, inst, members, title

    def _year_ranges(self, rec, end: int) -> pd.DataFrame:
        key = (id(rec), end)
        if key not in self._ranges:
            self._ranges[key] = year_ranges(self.ens, end)
        return self._ranges[key]

    def cumulative(self, record=None):
        """Observed against simulated cumulative adopters, one panel per instrument, agreements marked."""
        sc, rec, end, inst, members, title = self._context(record)
        return figure_cumulative(
            observed_curves(rec, sc.start, end, inst, members),
            simulated_curves(self.ens, states=members),
            inst,
            sc.world.open_until(end),
            instrument_labels(rec),
            title,
            agreement_marks_by_instrument(sc),
            notes(rec, self._year_ranges(rec, end), inst, end),
        )

    def timeline(self, record=None):
        """Per state and instrument: observed year against the simulated range and median over all runs."""
        sc, rec, end, inst, members, title = self._context(record)
        ranges = self._year_ranges(rec, end)
        return figure_timeline(
            rec.adoptions,
            ranges,
            inst,
            end,
            self._timeline_rows(sc, rec, end, inst, members),
            instrument_labels(rec),
            title,
            state_labels(rec),
            agreement_marks_by_instrument(sc),
            notes(rec, ranges, inst, end),
        )

    @staticmethod
    def _timeline_rows(sc, rec, end: int, inst, members):
        """The timeline's rows: on one region's record its members in one order for every panel (read across
        panels, a state keeps its row); on a record with organizations, per instrument the states it is open
        to, each panel in its own order of adoption."""
        if not len(sc.world.organizations):
            return states_by_adoption(rec, members, inst)
        open_to = sc.world.states_open_until(end)
        return {k: states_by_adoption(rec, open_to[k], [k]) for k in inst}

    def agreements(self, record=None):
        """Endogenous agreements: simulated arrival years against the recorded ones (None when none is endogenous)."""
        from matplotlib.figure import Figure

        _, rec, end, _, _, title = self._context(record)
        ag = self.ens.agreements
        if not len(ag) or "arrival" not in ag or not (ag["arrival"] == "endogenous").any() or not len(rec.agreements):
            return None
        fig = Figure(figsize=(8.5, 4.4), layout="constrained")
        names = dict(zip(rec.agreements["agreement"], rec.agreements["name"]))
        plot_agreement_timing(fig.subplots(), ag, rec.agreements, end, names)
        fig.suptitle(title, fontsize=9)
        return fig

    def map(self, record=None, cells: pd.DataFrame | None = None):
        """Per instrument, a map of where each state's observed outcome falls among the runs (its mid-PIT,
        :func:`~harmsim.scoring.compare.cell_scores`): where the model is early, late or right, region by
        region. None on a record of :data:`MAP_STATES` states or fewer, or from fewer than
        :data:`~harmsim.scoring.compare.CELL_RUNS` runs. ``cells``: that table, if at hand.

        >>> import harmsim
        >>> ens = harmsim.run_ensemble(harmsim.load_scenario("world_baseline"), replicates=20, seed=1)
        >>> len(ens.plot.map().axes)  # six instruments and the colour bar
        7
        >>> harmsim.run_ensemble(harmsim.load_scenario("baseline"), replicates=5, seed=1).plot.map() is None
        True
        """
        from harmsim.data.maps import country_shapes, map_codes, unplaced

        sc, rec, end, inst, members, title = self._context(record)
        if len(members) <= MAP_STATES or self.ens.replicates < CELL_RUNS:
            return None
        cells = cells if cells is not None else cell_scores(self.ens, rec)
        codes, shapes = map_codes(rec), country_shapes()
        pit = cells.set_index(["state", "instrument"])["pit_mid"]
        open_to = sc.world.states_open_until(end)
        inside = set(members)
        rows = [(k, s, codes.get(s), pit.get((s, k), np.nan)) for k in inst for s in open_to[k] if s in inside]
        values = pd.DataFrame(rows, columns=["instrument", "state", "code", "pit_mid"])
        return figure_pit_map(shapes, values, inst, instrument_labels(rec), title, unplaced(rec, values["state"]))

    def all(self, record=None, cells: pd.DataFrame | None = None) -> dict:
        """Every figure that applies, by name (cumulative, timeline, agreements, map); ``cells`` for the map."""
        figs = {"cumulative": self.cumulative(record), "timeline": self.timeline(record)}
        ag = self.agreements(record)
        if ag is not None:
            figs["agreements"] = ag
        world_map = self.map(record, cells)
        if world_map is not None:
            figs["map"] = world_map
        return figs

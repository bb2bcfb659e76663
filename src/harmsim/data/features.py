"""Covariate features, and transforms fixed once on a reference window.

A coefficient such as ``capacity.strength`` is a log-odds change per
standard deviation of log GDP per capita. Which standard deviation? If it
were recomputed over whatever horizon a run has, the same fitted number
would mean something else in a forecast to 2030, in a backtest window, or in
a counterfactual where every state is richer (a uniform change would cancel
out exactly). So, as a fitted scaler stores its mean and scale, harmsim fixes
each standardization on a *reference window* (by default the record's
observation window, over member state-years) and stores it with the scenario
and with every fit. Any horizon and any counterfactual of that scenario
reuses the same numbers.

Raw features are plain functions of a :class:`~harmsim.data.world.World`; the
mechanisms read them standardized through :class:`Transforms`.

>>> import harmsim
>>> sc = harmsim.load_scenario("baseline")
>>> t = sc.transforms.table()
>>> sorted(t["feature"])
['capacity.log_gdp_pc', 'push_pull.gdp_gap', 'push_pull.net_migration']
>>> t["reference"].iloc[0]
'1997-2015'
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from harmsim.data.world import World
from harmsim.errors import ConfigError

__all__ = ["FEATURES", "Transforms", "gdp_gap", "log_gdp_pc", "net_migration"]


def log_gdp_pc(world: World) -> np.ndarray:
    """log GDP per capita, (T, N); refuses a non-positive value for a member.

    >>> import harmsim
    >>> w = harmsim.load_scenario("baseline").world
    >>> lg = log_gdp_pc(w)
    >>> lg.shape, round(float(lg[w.years.tolist().index(2010), w.states.index("SGP")]), 2)  # Singapore, 2010
    ((19, 11), 10.76)
    """
    g = world.covariate("gdp_pc")
    bad = world.member & np.isfinite(g) & (g <= 0)
    if bad.any():
        ti, i = np.argwhere(bad)[0]
        raise ConfigError(
            f"covariate 'gdp_pc' is {g[ti, i]} for {world.states[i]} in {world.years[ti]}: it must be positive"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(np.where(g > 0, g, np.nan))


def gdp_gap(world: World) -> np.ndarray:
    """log GDP per capita minus its mean over that year's members, (T, N).

    Relative by definition: a change that multiplies every member's GDP by the
    same factor leaves it unchanged (see docs/model.md).

    >>> import harmsim, numpy as np
    >>> w = harmsim.load_scenario("baseline").world
    >>> gap = gdp_gap(w)[w.years.tolist().index(2010)]
    >>> members = w.member[w.years.tolist().index(2010)]
    >>> round(float(np.nanmean(gap[members])), 12)  # zero over the year's members
    0.0
    """
    lg = log_gdp_pc(world)
    masked = np.where(world.member & np.isfinite(lg), lg, np.nan)
    with warnings.catch_warnings():  # a year without members: mean of nothing
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(masked, axis=1, keepdims=True)
    return lg - mean


def net_migration(world: World) -> np.ndarray:
    """Net immigration among the record's states as a share of population, (T, N).

    >>> import harmsim
    >>> w = harmsim.load_scenario("baseline").world
    >>> m = net_migration(w)[w.years.tolist().index(2010)]
    >>> bool(m[w.states.index("SGP")] > 0 > m[w.states.index("MMR")])  # a destination, an origin
    True
    """
    return world.net_migration()


#: every standardized feature: name -> raw function
FEATURES: dict[str, Callable[[World], np.ndarray]] = {
    "push_pull.net_migration": net_migration,
    "push_pull.gdp_gap": gdp_gap,
    "capacity.log_gdp_pc": log_gdp_pc,
}


class Transforms:
    """Standardizations of the features, fixed on a reference world.

    ``fixed`` pre-sets (mean, sd) per feature, e.g. from a saved fit, so that
    the fit's coefficients keep their meaning even if the inputs are edited.

    >>> import harmsim, numpy as np
    >>> w = harmsim.load_scenario("baseline").world
    >>> z = Transforms(w).standardized("capacity.log_gdp_pc", w)
    >>> z = z[w.member & np.isfinite(z)]  # the members' state-years of the reference window
    >>> round(float(z.mean()), 6), round(float(z.std()), 6)
    (0.0, 1.0)
    >>> fixed = Transforms(w, {"capacity.log_gdp_pc": (8.0, 2.0)})  # as a fit saved them
    >>> fixed.values("capacity.log_gdp_pc")
    (8.0, 2.0)
    """

    def __init__(self, reference: World, fixed: Mapping[str, tuple[float, float]] | None = None):
        self.reference = reference
        self._values: dict[str, tuple[float, float, int]] = {
            k: (float(m), float(s), -1) for k, (m, s) in (fixed or {}).items()
        }
        self._cache: dict = {}  # (feature, world) -> standardized array; worlds are cached and shared

    @property
    def window(self) -> tuple[int, int]:
        return self.reference.start, self.reference.end

    def values(self, name: str) -> tuple[float, float]:
        """(mean, sd) of feature ``name`` over the reference window's member state-years."""
        if name not in self._values:
            raw = FEATURES[name](self.reference)
            cells = raw[self.reference.member & np.isfinite(raw)]
            if cells.size < 2 or cells.std() == 0:
                self._values[name] = (0.0, 0.0, int(cells.size))
            else:
                self._values[name] = (float(cells.mean()), float(cells.std()), int(cells.size))
        m, s, _ = self._values[name]
        return m, s

    def standardized(self, name: str, world: World) -> np.ndarray:
        """Feature ``name`` on ``world``, standardized with the reference values; 0 outside membership.

        A feature that is constant on the reference window contributes 0.
        """
        key = (name, world)
        if key not in self._cache:
            mean, sd = self.values(name)
            raw = FEATURES[name](world)
            if sd == 0:
                z = np.zeros_like(raw, dtype=float)
            else:
                z = (raw - mean) / sd
                z = np.where(world.member & np.isfinite(z), z, 0.0)
            z.setflags(write=False)
            self._cache[key] = z
        return self._cache[key]

    def table(self, names=None) -> pd.DataFrame:
        """The transforms as a tidy table (feature, mean, sd, reference, cells): what fits store."""
        names = list(names) if names is not None else list(FEATURES)
        rows = []
        for n in names:
            try:
                m, s = self.values(n)
            except ConfigError:
                continue  # the record lacks what this feature needs
            rows.append(
                {
                    "feature": n,
                    "mean": m,
                    "sd": s,
                    "reference": f"{self.window[0]}-{self.window[1]}",
                    "cells": self._values[n][2],
                }
            )
        return pd.DataFrame(rows, columns=["feature", "mean", "sd", "reference", "cells"])

    def as_dict(self) -> dict[str, list[float]]:
        """{feature: [mean, sd]} of the features computed so far (JSON-ready)."""
        return {k: [m, s] for k, (m, s, _) in sorted(self._values.items())}

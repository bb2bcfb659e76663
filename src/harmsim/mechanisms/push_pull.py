"""Push/pull incentives: origin and destination states weigh cooperation differently.

Trafficking in the region follows migration from poorer origin states to
richer destination states (the study, section 2.1). An origin state gains
from protecting its emigrants; a destination state bears costs (labour supply,
enforcement) from cracking down. The term is

    term[i, k, t] = migration * z(net_migration[i, t]) + gdp_gap * z(gap[i, t])

with ``net_migration`` = (immigrants from the region - emigrants to it) /
population (UN DESA migrant stocks), ``gap`` = log GDP per capita minus the
mean over members that year (World Bank WDI), and ``z`` a standardization
over member state-years of the window.

Direction: ``migration < 0`` makes net receivers (THA, SGP, MYS, BRN) adopt
later than net senders; ``gdp_gap < 0`` makes richer-than-average states later.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..errors import ConfigError
from ..params import Real
from .base import Mechanism, zscore


def push_pull_term(net_migration, gap, migration: float, gdp_gap: float, member) -> np.ndarray:
    """The (T, N) log-odds term; see the module docstring."""
    return migration * zscore(net_migration, member) + gdp_gap * zscore(gap, member)


def gdp_gap(log_gdp: np.ndarray, member: np.ndarray) -> np.ndarray:
    """log GDP per capita minus its mean over that year's members, (T, N)."""
    masked = np.where(member & np.isfinite(log_gdp), log_gdp, np.nan)
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(masked, axis=1, keepdims=True)
    return log_gdp - mean


class PushPull(Mechanism):
    name = "push_pull"
    summary = "origin states gain, destination states lose from cooperating (migration, GDP gaps)"
    params = {
        "migration": Real(-0.5, -10.0, 10.0, "log-odds per SD of net immigration share (negative: receivers later)"),
        "gdp_gap": Real(0.0, -10.0, 10.0, "log-odds per SD of log GDP per capita above the members' mean"),
    }

    @classmethod
    def check_inputs(cls, world, p):
        rec = world.record
        if p.migration and not (len(rec.migration) and world.has_covariate("population")):
            raise ConfigError(
                f"mechanism 'push_pull' (migration) needs a migration table and a population covariate; "
                f"record '{rec.name}' lacks them (set migration = 0 or disable the mechanism)"
            )
        if p.gdp_gap and not world.has_covariate("gdp_pc"):
            raise ConfigError(
                f"mechanism 'push_pull' (gdp_gap) needs the covariate gdp_pc; record '{rec.name}' lacks it"
            )

    def static(self):
        w = self.world
        zm, zg = _features(w, bool(self.p.migration), bool(self.p.gdp_gap))
        return (self.p.migration * zm + self.p.gdp_gap * zg)[:, :, None]


@lru_cache(maxsize=64)
def _features(world, migration: bool, gap: bool):
    """Standardized net migration and GDP gap of a world, (T, N) each (zeros if unused).

    Cached: they do not depend on the coefficients, which calibration varies.
    """
    T, N = world.member.shape
    net = world.net_migration() if migration else np.zeros((T, N))
    g = gdp_gap(np.log(world.covariate("gdp_pc")), world.member) if gap else np.zeros((T, N))
    zm = push_pull_term(net, g, 1.0, 0.0, world.member)
    zg = push_pull_term(net, g, 0.0, 1.0, world.member)
    return zm, zg

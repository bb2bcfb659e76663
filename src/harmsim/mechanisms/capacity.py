"""State capacity: richer states implement faster.

Passing a law, ratifying a treaty or staffing a specialist unit takes
administrative and fiscal capacity, proxied by log GDP per capita (World Bank
WDI, current US$). The term is

    term[i, k, t] = strength * z(log gdp_pc[i, t])

standardized over member state-years of the window. Unlike the push/pull gap
it is an absolute level, so it also rises as the whole region grows richer.
Caveat (see the record's sources): Myanmar's GDP before 2012 is depressed by
the official exchange rate, so its capacity is understated.

Direction: ``strength > 0`` makes richer states adopt earlier.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..errors import ConfigError
from ..params import Real
from .base import Mechanism, zscore


def capacity_term(log_gdp: np.ndarray, strength: float, member: np.ndarray) -> np.ndarray:
    """The (T, N) log-odds term; see the module docstring."""
    return strength * zscore(log_gdp, member)


class Capacity(Mechanism):
    name = "capacity"
    summary = "richer states (log GDP per capita) implement faster"
    params = {"strength": Real(0.3, -10.0, 10.0, "log-odds per SD of log GDP per capita")}

    @classmethod
    def check_inputs(cls, world, p):
        if p.strength and not world.has_covariate("gdp_pc"):
            raise ConfigError(f"mechanism 'capacity' needs the covariate gdp_pc; record '{world.record.name}' lacks it")

    def static(self):
        if not self.p.strength:
            return None
        return self.p.strength * _feature(self.world)[:, :, None]


@lru_cache(maxsize=64)
def _feature(world) -> np.ndarray:
    """z(log GDP per capita), (T, N); cached because it does not depend on the coefficient."""
    return capacity_term(np.log(world.covariate("gdp_pc")), 1.0, world.member)

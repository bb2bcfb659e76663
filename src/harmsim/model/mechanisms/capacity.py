"""State capacity: richer states implement faster.

Passing a law, ratifying a treaty or staffing a specialist unit takes
administrative and fiscal capacity, proxied by log GDP per capita (World Bank
WDI, current US$). The term is

    term[i, k, t] = strength * z(log gdp_pc[i, t])

standardized on the scenario's reference window (:mod:`harmsim.data.features`). Unlike the push/pull gap
it is an absolute level, so it also rises as the whole region grows richer.
Caveat (see the record's sources): Myanmar's GDP before 2012 is depressed by
the official exchange rate, so its capacity is understated.

Direction: ``strength > 0`` makes richer states adopt earlier.
"""

from __future__ import annotations

from harmsim.errors import ConfigError
from harmsim.model.mechanisms.base import Mechanism
from harmsim.model.params import Real


class Capacity(Mechanism):
    name = "capacity"
    summary = "richer states (log GDP per capita) implement faster"
    linear = ("strength",)
    params = {"strength": Real(0.3, -10.0, 10.0, "log-odds per SD of log GDP per capita", expected=1)}

    @classmethod
    def check_inputs(cls, world, p):
        if p.strength and not world.has_covariate("gdp_pc"):
            raise ConfigError(f"mechanism 'capacity' needs the covariate gdp_pc; record '{world.record.name}' lacks it")

    def static(self):
        if not self.p.strength:
            return None
        return self.p.strength * self.transforms.standardized("capacity.log_gdp_pc", self.world)[:, :, None]

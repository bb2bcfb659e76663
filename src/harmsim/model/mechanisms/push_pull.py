"""Push/pull incentives: origin and destination states weigh cooperation differently.

Trafficking in the region follows migration from poorer origin states to
richer destination states (the study, section 2.1). An origin state gains
from protecting its emigrants; a destination state bears costs (labour supply,
enforcement) from cracking down. The term is

    term[i, k, t] = migration * z(net_migration[i, t]) + gdp_gap * z(gap[i, t])

with ``net_migration`` = (immigrants from the region - emigrants to it) /
population (UN DESA migrant stocks), ``gap`` = log GDP per capita minus the
mean over members that year (World Bank WDI), and ``z`` a standardization
fixed on the scenario's reference window (:mod:`harmsim.data.features`), so a
coefficient keeps its meaning over any horizon and in any counterfactual. The
gap is relative by definition: multiplying every member's GDP by one factor
leaves it unchanged (the capacity term, an absolute level, does change).

Direction: ``migration < 0`` makes net receivers (THA, SGP, MYS, BRN) adopt
later than net senders; ``gdp_gap < 0`` makes richer-than-average states later.
"""

from __future__ import annotations

from harmsim.errors import ConfigError
from harmsim.model.mechanisms.base import Mechanism
from harmsim.model.params import Real


class PushPull(Mechanism):
    name = "push_pull"
    summary = "origin states gain, destination states lose from cooperating (migration, GDP gaps)"
    linear = ("migration", "gdp_gap")
    params = {
        "migration": Real(
            -0.5, -10.0, 10.0, "log-odds per SD of net immigration share (negative: receivers later)", expected=-1
        ),
        "gdp_gap": Real(0.0, -10.0, 10.0, "log-odds per SD of log GDP per capita above the members' mean", expected=-1),
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
        w, t = self.world, self.transforms
        term = 0.0
        if self.p.migration:
            term = term + self.p.migration * t.standardized("push_pull.net_migration", w)
        if self.p.gdp_gap:
            term = term + self.p.gdp_gap * t.standardized("push_pull.gdp_gap", w)
        if isinstance(term, float):
            return None
        return term[:, :, None]

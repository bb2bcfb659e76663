"""External pressure: outside monitoring and global momentum.

Two outside forces the study names (section 3.2): the US State Department's
yearly Trafficking in Persons report, whose tiers shame governments, and the
global spread of anti-trafficking law after the UN Protocol (2000). The term,
for instruments in ``applies_to``, is

    term[i, k, t] = monitoring * [tier[i, t-1] in {2WL, 3}]
                  + momentum * share_criminalized[t-1]

with tiers from the TIP reports (Kelley and Heiss coding to 2015) and the
share of countries coded as fully criminalizing trafficking (Kelley and
Simmons). Both are lagged one year: a report or a global count is known only
after its year.

Direction: ``monitoring > 0`` speeds states on the Watch List or Tier 3;
``momentum > 0`` speeds everyone as the world moves.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from harmsim.errors import ConfigError
from harmsim.model.mechanisms.base import Mechanism
from harmsim.model.params import Instruments, Real

PRESSURE_TIERS = ("2WL", "3")


def external_term(pressured, global_share, monitoring: float, momentum: float) -> np.ndarray:
    """The (T, N) log-odds term from lagged indicators; see the module docstring."""
    return monitoring * pressured + momentum * global_share[:, None]


class External(Mechanism):
    name = "external"
    summary = "outside monitoring (US TIP tiers) and global momentum of criminalization"
    linear = ("monitoring", "momentum")
    params = {
        "monitoring": Real(
            0.5, -10.0, 10.0, "log-odds when on TIP Tier 2 Watch List or Tier 3 the year before", expected=1
        ),
        "momentum": Real(
            2.0, -50.0, 50.0, "log-odds per unit share of countries fully criminalizing, year before", expected=1
        ),
        "applies_to": Instruments(None, "instruments under external pressure (default: all)"),
    }

    @classmethod
    def check_inputs(cls, world, p):
        rec = world.record
        if p.monitoring and not len(rec.tiers):
            raise ConfigError(f"mechanism 'external' (monitoring) needs a tiers table; record '{rec.name}' lacks it")
        if p.momentum and not (rec.global_series["variable"] == "share_criminalized").any():
            raise ConfigError(
                f"mechanism 'external' (momentum) needs the global series 'share_criminalized'; "
                f"record '{rec.name}' lacks it"
            )

    def static(self):
        w = self.world
        K = len(w.instruments)
        pressured, share = _features(w, bool(self.p.monitoring), bool(self.p.momentum))
        term = external_term(pressured, share, self.p.monitoring, self.p.momentum)
        mask = np.ones(K, dtype=bool)
        if self.p.applies_to is not None:
            mask = np.isin(np.array(w.instruments), self.p.applies_to)
        return term[:, :, None] * mask[None, None, :]


@lru_cache(maxsize=64)
def _features(world, monitoring: bool, momentum: bool):
    """Indicators of the year before: (T, N) pressure and (T,) global share.

    Cached: they do not depend on the coefficients, which calibration varies.
    Raw 0/1 and shares, not standardized: nothing to fix on a reference window.
    """
    T, N = world.member.shape
    pressured = np.zeros((T, N))
    if monitoring:
        pressured = np.isin(world.tier_before(), PRESSURE_TIERS).astype(float)
    share = world.global_before("share_criminalized") if momentum else np.zeros(T)
    return pressured, share

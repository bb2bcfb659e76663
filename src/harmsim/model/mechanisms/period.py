"""A period effect: a shift of every hazard from a given year on.

The covariate-only event-history models of the diffusion literature add a
period dummy for a regime change; for ASEAN, the years after the 2004
Declaration (RECORD-PATTERNS 1). The term is

    term[i, k, t] = effect * [t >= year]

It is the "post-2004" variable of the Berry-Berry-style baseline scenario, and
a crude alternative to the agreements mechanism: a break in time with no
content (no instruments covered, no building on earlier agreements).

Direction: ``effect > 0`` raises every hazard from ``year`` on.
"""

from __future__ import annotations

from harmsim.model.mechanisms.base import Mechanism
from harmsim.model.params import Integer, Real


class Period(Mechanism):
    name = "period"
    summary = "a shift of every hazard from a given year on (post-2004 dummy)"
    linear = ("effect",)
    params = {
        "effect": Real(0.5, -10.0, 10.0, "log-odds added from `year` on"),
        "year": Integer(2005, 1800, 2100, "first year of the period"),
    }

    def static(self):
        w = self.world
        return (self.p.effect * (w.years >= self.p.year))[:, None, None].astype(float)

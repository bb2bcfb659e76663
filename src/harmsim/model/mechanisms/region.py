"""One organization's own pace within the pooled model: its members' deviations, drawn towards none.

The world panel fits one set of mechanisms to every state. A region may
still differ in ways they do not carry: ASEAN's members adopted faster after
2004 than the panel's pooled trend says (docs/regions.md, ASEAN's own
cells). This mechanism gives the members of one organization (``organization``)
their own level and their own slope in time, on top of everything pooled:

    term[i, k, t] = member[t, i] * (level + slope * s_t)
    s_t = (min(t, o) - center) / 10   (decades; o the record's last observed year: 2015, or a backtest's origin)

``member[t, i]`` is 1 while state ``i`` belongs to the organization (the
record's memberships by year), else 0. Past ``o`` the slope's part is held,
as the trend's period part is (docs/model.md): the record says nothing of a
region's pace after it.

The two deviations are partial pooling, a hierarchical model fitted by its
mode: each is a draw from a normal centred on 0 (the pooled model), so a fit
adds the penalty ``-level**2 / (2 level_sd**2) - slope**2 / (2 slope_sd**2)``
to the log-likelihood. With few members the penalty holds the deviations near
0 and the region takes the pooled model's pace; with many events it lets them
go. ``level_sd`` and ``slope_sd`` are declared, not fitted (one organization
cannot estimate the spread of organizations). A declared choice with a
source: the spread of the organizations' intercepts fitted on the world panel,
0.64 log-odds (``world_organizations``, docs/regions.md), is the scale of a
level that is one draw from the organizations' distribution. Nothing on the
record estimates the spread of the organizations' slopes; 0.5 log-odds per
decade (one log-odds over the two decades of the record) is a declared prior,
and its sensitivity is reported with the results (docs/regions.md).

On a record of one region without organizations (``asean``) the default
``organization = ""`` is every member, and the level and slope are the
intercept's and the trend's, held near 0 by the penalty: harmless, and
useless; the mechanism is meant for a panel.

Direction: none is claimed; ``level > 0`` or ``slope > 0`` says the
organization's members adopt faster (or faster as time goes on) than the
pooled model predicts for them.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from harmsim.model.mechanisms.base import Mechanism
from harmsim.model.mechanisms.organizations import membership_weights
from harmsim.model.params import Integer, Organization, Real


def region_members(world, organization: str) -> np.ndarray:
    """(T, N) 1.0 where the state belongs to ``organization`` that year (``""``: every member of a record
    without organizations), else 0.0.

    >>> import harmsim
    >>> sc = harmsim.load_scenario("world_baseline")
    >>> m = region_members(sc.world, "ASEAN")
    >>> int(m[sc.world.years.tolist().index(2015)].sum()), int(m[0].sum())  # ten members in 2015, six in 1990
    (10, 6)
    """
    # the organizations' memberships as their random intercepts read them, each weight 1 (a record without
    # organizations: its one region, column 0)
    return membership_weights(world, "sum")[:, :, world.organizations.index(organization) if organization else 0]


class Region(Mechanism):
    name = "region"
    summary = "one organization's own level and slope in time, drawn towards the pooled model (partial pooling)"
    linear = ("level", "slope")
    params = {
        "organization": Organization("", "the organization whose members deviate from the pooled model"),
        "level": Real(0.0, -10.0, 10.0, "log-odds added to the members' hazards"),
        "slope": Real(0.0, -10.0, 10.0, "log-odds per decade from the center year added to the members' hazards"),
        "center": Integer(2005, 1800, 2100, "center year of the slope"),
        "level_sd": Real(
            0.64, 0.01, 10.0, "standard deviation of the level's prior, the fit's penalty (declared, not fitted)"
        ),
        "slope_sd": Real(
            0.5, 0.01, 10.0, "standard deviation of the slope's prior, the fit's penalty (declared, not fitted)"
        ),
    }

    @classmethod
    def log_prior(cls, p) -> float:
        """The partial pooling's penalty: ``-level**2 / (2 level_sd**2) - slope**2 / (2 slope_sd**2)``."""
        level = float(p.level) ** 2 / (2 * float(p.level_sd) ** 2)
        slope = float(p.slope) ** 2 / (2 * float(p.slope_sd) ** 2)
        return -(level + slope)

    @classmethod
    def check_inputs(cls, world, p):
        """The organization is checked again when the scenario is bound to another record (``with_record``)."""
        ctx = {"organizations": world.organizations}
        cls.params["organization"].check("region.organization", p.organization, "mechanism 'region'", ctx)

    @cached_property
    def members(self) -> np.ndarray:
        """(T, N) the organization's membership by year (:func:`region_members`)."""
        return region_members(self.world, self.p.organization)

    def static(self):
        w = self.world
        s = (np.minimum(w.years, w.last_observed) - self.p.center) / 10.0  # (T,) held past the last observed year
        m = self.members
        return (self.p.level * m + self.p.slope * (m * s[:, None]))[:, :, None]

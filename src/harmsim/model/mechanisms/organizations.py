"""Organization heterogeneity: a random intercept per regional organization, shared by its members.

Members of one organization may adopt faster or slower than their covariates
and the organization's agreements explain: a secretariat that pushes, a
donor programme that funds the whole region, a shared legal tradition. A
random intercept per organization captures that without naming its cause,
and, on the world panel, keeps the organizations' own pace out of the
agreement effects (the same reason the bindingness test clusters by
organization):

    term[i, k, t] = sd * sum over o of w[t, i, o] * v[o],    v[o] ~ N(0, 1), drawn once per organization and run

Multiple membership (a state in the EU, the Council of Europe and the OSCE in
one year) is handled by the weights ``w`` (Browne, Goldstein and Rasbash
2001, multiple-membership models): with ``membership = "mean"`` (the
default) a state's weights are 1 / (its number of organizations that year),
so its intercept is the mean of its organizations' and has the same spread
``sd`` however many it belongs to; with ``"sum"`` each weight is 1, so
belonging to more organizations adds their effects. A state in no
organization that year has no term. Memberships change by year (the record's
memberships table), so a state's intercept changes when it joins or leaves.
On a record of one region without organizations (``asean``), the region is
the one organization of every member.

Each replicate draws ``v`` from its seed's ``organizations`` stream, so both
engines give identical histories. In the likelihood ``v`` is integrated out
by importance sampling around its posterior mode
(:mod:`harmsim.calibrate.likelihood`): organizations are crossed (a state in
several), so the integral does not split into one dimension per
organization the way the states' propensities do.

Direction: ``sd`` is a spread, not a direction; ``sd = 0`` is the model
without organization heterogeneity. A fitted ``sd`` well above 0 says that
organizations differ in ways the other mechanisms do not explain.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from harmsim.model.mechanisms.base import Mechanism
from harmsim.model.params import Choice, Real


def membership_weights(world, membership: str = "mean") -> np.ndarray:
    """(T, N, O) each state's weight on each organization's intercept per year (see the module docstring).

    >>> import harmsim
    >>> sc = harmsim.load_scenario("world_baseline")
    >>> w = membership_weights(sc.world)
    >>> fra = sc.world.states.index("FRA")
    >>> [(o, round(float(x), 2)) for o, x in zip(sc.world.organizations, w[-1, fra]) if x]  # EU and CoE
    [('EU', 0.5), ('COE', 0.5)]
    """
    if len(world.organizations):
        m = np.transpose(world.org_member, (0, 2, 1)) & world.member[:, :, None]  # (T, N, O)
    else:
        m = world.member[:, :, None]
    w = m.astype(float)
    if membership == "mean":
        count = w.sum(axis=2, keepdims=True)
        w = np.divide(w, count, out=np.zeros_like(w), where=count > 0)
    return w


class Organizations(Mechanism):
    name = "organizations"
    summary = "organization heterogeneity: a random intercept per regional organization (standard deviation estimated)"
    linear = ("sd",)
    params = {
        "sd": Real(0.5, 0.0, 10.0, "standard deviation of the organizations' intercepts (log-odds)"),
        "membership": Choice(
            "mean",
            ("mean", "sum"),
            "a state in several organizations: the mean of their intercepts, or their sum",
        ),
    }
    uses_shared = True

    def reads_adoptions(self):
        return None  # the organizations' intercepts, no adoptions

    @cached_property
    def weights(self) -> np.ndarray:
        """(T, N, O) membership weights (:func:`membership_weights`)."""
        return membership_weights(self.world, self.p.membership)

    def shared_width(self) -> int:
        return self.weights.shape[2]

    def dynamic(self, ti, view):
        if not self.p.sd:
            return None
        v = view.shared  # (R, O)
        return self.p.sd * np.einsum("no,ro->rn", self.weights[ti], v)[:, :, None]

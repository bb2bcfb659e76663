"""State heterogeneity: a propensity of each state to adopt, on the logit scale (a frailty).

The record shows state-level consistency (RECORD-PATTERNS 5): a state early
(or late) on one instrument tends to be early (or late) on the others, more
than its covariates explain; Thailand is last or near last on three of four
instruments, the Philippines first or near first on three. A random
intercept per state captures that without naming its cause:

    term[i, k, t] = sd * z[i],    z[i] ~ N(0, 1), drawn once per state and run

With ``by = "kind"`` each state has one independent propensity per
instrument kind (the record's ``kind`` column: national law, UN treaties,
regional treaties, institutions), ``term[i, k, t] = sd * z[i, kind(k)]``: a
state may be early on UN treaties and late on regional ones. One ``sd``
serves every kind.

Each replicate draws ``z`` from its own seed's ``frailty`` stream, so both
engines give identical histories. In the likelihood ``z`` is integrated out
by Gauss-Hermite quadrature, one dimension per state (and kind): given the
observed history, the terms of different states, and of different kinds,
factorize (:mod:`harmsim.calibrate.likelihood`).

Direction: ``sd`` is a spread, not a direction; ``sd = 0`` is the model
without heterogeneity. A fitted ``sd`` well above 0 says that states differ
in ways the other mechanisms do not explain.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from harmsim.model.mechanisms.base import Mechanism
from harmsim.model.params import Choice, Real


class Frailty(Mechanism):
    name = "frailty"
    summary = "state heterogeneity: a random intercept per state (standard deviation estimated)"
    linear = ("sd",)
    params = {
        "sd": Real(1.0, 0.0, 10.0, "standard deviation of the states' propensities (log-odds)"),
        "by": Choice("state", ("state", "kind"), "one propensity per state, or one per state and instrument kind"),
    }
    uses_latent = True

    def reads_adoptions(self):
        return None  # the state's own propensity, no adoptions

    @cached_property
    def _columns(self) -> np.ndarray:
        if self.p.by == "state":
            return np.zeros(len(self.world.instruments), dtype=np.int64)
        return np.unique(np.asarray(self.world.kinds, dtype=object).astype(str), return_inverse=True)[1].ravel()

    def latent_columns(self):
        return self._columns

    def dynamic(self, ti, view):
        if not self.p.sd:
            return None
        return self.p.sd * view.latent[:, :, self._columns]

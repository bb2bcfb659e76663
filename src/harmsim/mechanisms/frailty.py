"""State heterogeneity: a propensity of each state to adopt, on the logit scale (a frailty).

The record shows state-level consistency (RECORD-PATTERNS 5): a state early
(or late) on one instrument tends to be early (or late) on the others, more
than its covariates explain; Thailand is last or near last on three of four
instruments, the Philippines first or near first on three. A random
intercept per state captures that without naming its cause:

    term[i, k, t] = sd * z[i],    z[i] ~ N(0, 1), drawn once per state and run

Each replicate draws ``z`` from its own seed's ``frailty`` stream, so both
engines give identical histories. In the likelihood ``z`` is integrated out
by Gauss-Hermite quadrature, one dimension per state (given the observed
history, the states' terms factorize; :mod:`harmsim.calibrate.likelihood`).

Direction: ``sd`` is a spread, not a direction; ``sd = 0`` is the model
without heterogeneity. A fitted ``sd`` well above 0 says that states differ
in ways the other mechanisms do not explain.
"""

from __future__ import annotations

from ..params import Real
from .base import Mechanism


class Frailty(Mechanism):
    name = "frailty"
    summary = "state heterogeneity: a random intercept per state (standard deviation estimated)"
    params = {"sd": Real(1.0, 0.0, 10.0, "standard deviation of the states' propensities (log-odds)")}
    uses_latent = True

    def reads_adoptions(self):
        return None  # the state's own propensity, no adoptions

    def dynamic(self, ti, view):
        if not self.p.sd:
            return None
        return self.p.sd * view.latent[:, :, None]

"""Calibration: fit a scenario's parameters to an observed record.

``calibrate(scenario, method="mle")`` maximizes the exact event-history
likelihood (:mod:`.likelihood`, :mod:`.mle`). The result is a
:class:`~harmsim.calibrate.fit.Fit`: estimates with standard errors and an
identifiability status, log-likelihood, AIC/BIC, a TRACE-style log; it saves
to and loads from plain JSON/CSV, and scenarios can be run from it.

>>> import harmsim
>>> from harmsim.calibrate import calibrate
>>> fit = calibrate(harmsim.load_scenario("diffusion_only"), method="mle")
>>> sorted(fit.parameters())[:2]
['diffusion.strength', 'hazard.intercept']
"""

from __future__ import annotations

from ..errors import CalibrationError
from .fit import Fit, load_fit
from .likelihood import history, loglik, loglik_cells
from .mle import default_free, fit_mle

__all__ = ["METHODS", "Fit", "calibrate", "default_free", "history", "load_fit", "loglik", "loglik_cells"]

METHODS = ("mle",)


def calibrate(scenario, method: str = "mle", *, record=None, free: list[str] | None = None) -> Fit:
    """Fit ``scenario`` to ``record`` (default: the scenario's own record)."""
    record = record if record is not None else scenario.record
    if method not in METHODS:
        raise CalibrationError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    return fit_mle(scenario, record, free)

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

from harmsim.calibrate.abc import abc_smc, default_priors
from harmsim.calibrate.arrival import arrival_statement, arrival_thresholds
from harmsim.calibrate.fit import Fit, load_fit
from harmsim.calibrate.likelihood import history, loglik, loglik_cells, loglik_sampled, loglik_states
from harmsim.calibrate.mle import default_free, fit_mle, profile, with_profiles
from harmsim.calibrate.posterior import mcmc_draws, posterior_draws
from harmsim.errors import CalibrationError, ConfigError
from harmsim.model.params import RealRange

__all__ = [
    "METHODS",
    "Fit",
    "abc_smc",
    "calibrate",
    "default_free",
    "default_priors",
    "history",
    "load_fit",
    "loglik",
    "loglik_cells",
    "loglik_sampled",
    "loglik_states",
    "mcmc_draws",
    "posterior_draws",
    "profile",
    "with_profiles",
]

METHODS = ("mle", "abc")


def calibrate(
    scenario,
    method: str = "mle",
    *,
    record=None,
    free: list[str] | None = None,
    priors: list[RealRange] | None = None,
    profiles: bool = False,
    observed_until: int | None = None,
    starts: int = 1,
    progress: bool | None = False,
    **abc_options,
) -> Fit:
    """Fit ``scenario`` to ``record`` (default: the scenario's own record).

    ``method="mle"``: exact likelihood (:func:`~harmsim.calibrate.mle.fit_mle`).
    ``method="abc"``: ABC-SMC (:func:`~harmsim.calibrate.abc.abc_smc`) with
    ``priors`` (default: :func:`default_priors` of ``free``); further keyword
    arguments (population, budget, seed, workers, ...) go to the sampler.
    ``profiles=True`` (MLE) adds 95% profile-likelihood intervals and takes
    the identifiability status from them. ``observed_until=YEAR`` fits on the
    observations up to YEAR only (inputs may run further: they are
    exogenous), the first step of a backtest. ``starts`` (MLE): optimizer
    starts, with a warning when the best two maxima differ by more than 0.01.
    ``progress=True`` shows a progress bar (None: on a terminal only).
    """
    record = record if record is not None else scenario.record
    if observed_until is not None:
        from harmsim.data.observations import observed_until as cut

        if not isinstance(observed_until, bool) and isinstance(observed_until, int) and observed_until > record.end:
            raise ConfigError(
                f"observed until {observed_until} is after the record '{record.name}' ends ({record.end}): the record "
                f"observes nothing later; give a year up to {record.end}"
            )
        record = cut(record, observed_until)
    if method not in METHODS:
        raise CalibrationError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if method == "mle":
        if priors is not None or abc_options:
            raise CalibrationError("priors and sampler options are for method='abc'")
        fit = fit_mle(scenario, record, free, starts=starts, progress=progress)
        fit = with_profiles(scenario, record, fit) if profiles else fit
    else:
        if priors is None:
            priors = default_priors(scenario, list(free) if free is not None else default_free(scenario, record))
        fit = abc_smc(scenario, record, priors, progress=progress, **abc_options)
    ag = scenario.mechanism("agreements")
    if ag is not None and ag.arrival == "endogenous":
        fit.log["arrival"] = arrival_statement(arrival_thresholds(scenario, record))
    return fit

"""Draws from an MLE fit's likelihood itself, where its normal approximation is poor.

:meth:`Fit.draw <harmsim.calibrate.fit.Fit.draw>` draws from the asymptotic
normal (estimate, inverse Hessian). On a record of ten states many
parameters are weak: their likelihood is flat on one side and the normal,
read off the curvature at the estimate, is far wider or narrower than the
likelihood there (on the ASEAN record from 2005, ``push_pull.gdp_gap`` has
estimate 6.4 and standard error 32). :func:`posterior_draws` draws instead
from the likelihood times the fit's own penalty (the pooling of offsets by
kind, a spline's smoothness), with a flat prior over each parameter's
allowed range: the posterior the normal approximates. It uses
sampling-importance-resampling (Rubin 1988): proposals from a multivariate
Student t around the estimate with the fit's covariance as scale
(:meth:`Fit.sample_around <harmsim.calibrate.fit.Fit.sample_around>`, heavier
tails than the normal so that the weights stay bounded where the likelihood
is flatter than it), each weighted by its likelihood over its proposal
density, and the sets resampled in proportion to the weights. The
likelihood is the one the fit maximized (:func:`~harmsim.calibrate.likelihood.loglik_many`);
nothing here has a copy of it.

Proposals are drawn in batches until the weights' effective sample size
reaches :data:`TARGET_ESS` or :data:`MAX_PROPOSALS` have been drawn. The
effective sample size says how many independent draws the resampled sets are
worth; where it stays small the proposal covers the likelihood poorly and the
notes say so. Parameters the normal holds at their estimates (no standard
error, or too weak to draw inside their range) stay there: the draws are
then from the posterior given them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from harmsim.calibrate.fit import Fit
from harmsim.calibrate.likelihood import hidden_groups, history, loglik_many, set_proposal, set_shared_proposal
from harmsim.calibrate.mle import penalty
from harmsim.errors import CalibrationError
from harmsim.rng import SeedLike, stream

__all__ = ["BATCH", "MAX_PROPOSALS", "PROPOSAL_DF", "TARGET_ESS", "posterior_draws"]

#: degrees of freedom of the Student t proposal: tails heavy enough for a likelihood flatter than the normal
PROPOSAL_DF = 4
#: proposals drawn and weighted at a time
BATCH = 1000
#: stop drawing proposals once the weights' effective sample size reaches this
TARGET_ESS = 1000
#: and in any case after this many proposals
MAX_PROPOSALS = 50_000
#: how far the likelihood at the estimate may be from the fit's (relative) before the record is taken for another
_SAME_RECORD = 1e-4


def posterior_draws(
    fit: Fit,
    scenario,
    record,
    n: int,
    seed: SeedLike,
    target_ess: int = TARGET_ESS,
    max_proposals: int = MAX_PROPOSALS,
) -> pd.DataFrame:
    """``n`` parameter sets drawn from ``fit``'s posterior on ``record`` (a flat prior over each parameter's
    range, times the fit's penalty), by importance resampling of Student t proposals; see the module docstring.

    ``scenario`` and ``record`` are what the fit saw: the scenario fitted (its record the observations up to the
    fit's last year) and that record. The likelihood at the estimate must match the fit's, or the fit is
    refused as one of other data. The table's ``attrs`` carry the diagnostics: ``proposals`` drawn, the
    effective sample size ``ess``, the ``distinct`` sets among the ``n``, and ``held`` and ``drawn`` as in
    :meth:`~harmsim.calibrate.fit.Fit.sample_around`.

    >>> import harmsim
    >>> from harmsim.calibrate import calibrate
    >>> sc = harmsim.load_scenario("diffusion_only")
    >>> fit = calibrate(sc)
    >>> draws = posterior_draws(fit, sc, sc.record, 200, seed=0)
    >>> draws.shape, draws.attrs["ess"] >= 1000 or draws.attrs["proposals"] == 50_000
    ((200, 8), True)
    """
    if fit.method != "mle" or fit.covariance is None:
        raise CalibrationError(
            f"posterior draws reweight an MLE fit's normal approximation by its likelihood; this {fit.method.upper()} "
            "fit has no covariance to start from"
            + (" (an ABC fit's draws are posterior draws already: use its own draws)" if fit.method == "abc" else "")
        )
    if target_ess < 1 or max_proposals < BATCH:
        raise CalibrationError(
            f"target_ess must be at least 1 and max_proposals at least {BATCH}, got {target_ess} and {max_proposals}"
        )
    at = fit.apply(scenario)
    hist = history(at, record)
    if at.dynamics.needs_shared:  # the organization intercepts' importance proposal, at the estimate as the fit's
        set_shared_proposal(hist, at, None)
    if at.dynamics.needs_latent and hidden_groups(at, hist, None):
        set_proposal(hist, at)
    at_estimate = loglik_many([at], hist)[0]
    if not abs(at_estimate - fit.loglik) <= _SAME_RECORD * max(1.0, abs(fit.loglik)):
        raise CalibrationError(
            f"the log-likelihood at the fit's estimate is {at_estimate:.3f} on record '{record.name}' to "
            f"{record.end}, the fit's {fit.loglik:.3f}: posterior draws need the data the fit saw"
        )
    g = stream(seed, "posterior-proposals")
    tables, log_w = [], []
    ess = 0.0
    while sum(map(len, tables)) < max_proposals and ess < target_ess:
        table, log_q = fit.sample_around(BATCH, g, df=PROPOSAL_DF)
        drawn = table.attrs["drawn"]
        if not drawn:  # nothing drawn: every set the estimate
            return _resampled(table, np.zeros(BATCH), n, seed, table.attrs)
        if tables and drawn != tables[0].attrs["drawn"]:  # weights of two proposals' batches do not mix
            raise CalibrationError(
                "the proposals switched between drawing every parameter and holding the weak ones (draws inside "
                "the ranges at the edge of too rare): no posterior draws from this fit; use the normal's"
            )
        scs = [at.with_checked_values(dict(zip(drawn, row))) for row in table[drawn].to_numpy(float)]
        log_p = loglik_many(scs, hist) + np.array([penalty(s) for s in scs])
        tables.append(table)
        log_w.append(np.where(np.isfinite(log_p), log_p - log_q, -np.inf))
        w = _normalized(np.concatenate(log_w))
        ess = 1.0 / float((w**2).sum())
    attrs = {**tables[0].attrs, "proposals": sum(map(len, tables)), "ess": ess}
    return _resampled(pd.concat(tables, ignore_index=True), np.concatenate(log_w), n, seed, attrs)


def _normalized(log_w: np.ndarray) -> np.ndarray:
    """Self-normalized importance weights from their logs."""
    if not np.isfinite(log_w).any():
        raise CalibrationError("every proposal has zero likelihood: no posterior draws")
    w = np.exp(log_w - log_w.max())
    return w / w.sum()


def _resampled(table: pd.DataFrame, log_w: np.ndarray, n: int, seed: SeedLike, attrs: dict) -> pd.DataFrame:
    """``n`` rows of ``table`` drawn with replacement in proportion to the weights, with the diagnostics."""
    idx = stream(seed, "posterior-resample").choice(len(table), size=n, p=_normalized(log_w))
    out = table.iloc[idx].reset_index(drop=True)
    out.attrs = {"proposals": len(table), "ess": float(len(table)), **attrs, "distinct": len(np.unique(idx))}
    return out

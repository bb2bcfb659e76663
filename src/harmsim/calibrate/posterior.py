"""Draws from an MLE fit's likelihood itself, where its normal approximation is poor.

:meth:`Fit.draw <harmsim.calibrate.fit.Fit.draw>` draws from the asymptotic
normal (estimate, inverse Hessian). On a record of ten states many
parameters are weak: their likelihood is flat on one side and the normal,
read off the curvature at the estimate, is far wider or narrower than the
likelihood there (on the ASEAN record from 2005, ``push_pull.gdp_gap`` has
estimate 6.4 and standard error 32). :func:`posterior_draws` draws instead
from the likelihood times the fit's own penalty (the pooling of offsets by
kind, a spline's smoothness, the priors a scenario declares:
:mod:`harmsim.model.priors`), with a flat prior over each parameter's
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

Where no Student t covers the likelihood (the frailty scenarios on the ASEAN
record: effective sample sizes of 2 to 507 of 50,000 proposals from 2005,
2008 and 2011, because much of the posterior's mass lies far from the
estimate, at large spreads of the states' propensities), :func:`mcmc_draws` samples the same posterior by
Markov chain Monte Carlo instead: random-walk Metropolis chains run side by
side, one vectorized likelihood evaluation per step for all of them, with a
normal proposal adapted during a warmup to the pooled chains' covariance
(Haario, Saksman and Tamminen 2001, Bernoulli 7: 223-242) and the scale of
Roberts, Gelman and Gilks (1997), then frozen. They run until the split
R-hat of every parameter (:func:`split_rhat`) is under :data:`RHAT_MAX` and
the draws are worth :data:`TARGET_ESS` independent ones by the integrated
autocorrelation time (:func:`autocorrelation_time`), or :data:`MAX_STEPS`
steps are taken. Both samplers evaluate one target (:class:`_Posterior`):
one definition of the posterior.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from harmsim.calibrate.fit import Fit
from harmsim.calibrate.likelihood import hidden_groups, history, loglik_many, set_proposal, set_shared_proposal
from harmsim.calibrate.mle import penalty
from harmsim.errors import CalibrationError
from harmsim.rng import SeedLike, stream

__all__ = [
    "BATCH",
    "CHAINS",
    "MAX_PROPOSALS",
    "MAX_STEPS",
    "PROPOSAL_DF",
    "RHAT_MAX",
    "STEP_BLOCK",
    "TARGET_ESS",
    "WARMUP",
    "autocorrelation_time",
    "mcmc_draws",
    "posterior_draws",
    "split_rhat",
]

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
#: Markov chains run side by side
CHAINS = 64
#: their steps of warmup (adapting the proposal; discarded)
WARMUP = 1000
#: warmup steps between adaptations of the proposal
WINDOW = 100
#: steps between checks of the chains' convergence after the warmup
STEP_BLOCK = 500
#: and in any case no more steps than this after the warmup
MAX_STEPS = 10_000
#: the chains count as converged when every parameter's split R-hat is under this (Gelman et al. 2013 use 1.1;
#: Vehtari et al. 2021 advise 1.01 with far more draws per chain than a forecast can afford)
RHAT_MAX = 1.05
#: Sokal's window: sum the autocorrelations up to the first lag M with M >= this times the running estimate
_SOKAL_C = 5.0


class _Posterior:
    """The log posterior of a fit's drawn parameters on the data it saw: the likelihood it maximized
    (:func:`~harmsim.calibrate.likelihood.loglik_many`) plus its penalty (the scenario's declared priors among
    it), -inf outside the parameters' ranges (the flat prior). Both samplers evaluate this one function.

    Built from the fit, the scenario it fitted and the record it saw; refuses fits without a covariance and data
    on which the likelihood at the estimate is not the fit's.
    """

    def __init__(self, fit: Fit, scenario, record):
        if fit.method != "mle" or fit.covariance is None:
            abc = " (an ABC fit's draws are posterior draws already: use its own draws)" if fit.method == "abc" else ""
            raise CalibrationError(
                f"posterior draws start from an MLE fit's estimate and covariance; this {fit.method.upper()} fit "
                f"has no covariance to start from{abc}"
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
        self.at, self.hist = at, hist
        #: the scenario's declared priors in words (the penalty holds them), for the draws' notes
        self.priors = [f"{p.name} ~ {p.describe()}" for p in at.priors]
        est = fit.estimates
        self.bounds = {p: (lo, hi) for p, lo, hi in zip(est["parameter"], est["bound_lo"], est["bound_hi"])}

    def __call__(self, names: list[str], x: np.ndarray) -> np.ndarray:
        """(n,) log posterior, up to a constant, of the rows of ``x`` (values of ``names``)."""
        lo, hi = np.array([self.bounds[p] for p in names], dtype=float).T
        out = np.full(len(x), -np.inf)
        inside = np.flatnonzero(((x >= lo) & (x <= hi)).all(axis=1))
        if len(inside):
            scs = [self.at.with_checked_values(dict(zip(names, row))) for row in x[inside]]
            out[inside] = loglik_many(scs, self.hist) + np.array([penalty(s) for s in scs])
        return np.where(np.isfinite(out), out, -np.inf)


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
    range, times the fit's penalty and declared priors), by importance resampling of Student t proposals; see the
    module docstring.

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
    if target_ess < 1 or max_proposals < BATCH:
        raise CalibrationError(
            f"target_ess must be at least 1 and max_proposals at least {BATCH}, got {target_ess} and {max_proposals}"
        )
    log_post = _Posterior(fit, scenario, record)
    g = stream(seed, "posterior-proposals")
    tables, log_w = [], []
    ess = 0.0
    while sum(map(len, tables)) < max_proposals and ess < target_ess:
        table, log_q = fit.sample_around(BATCH, g, df=PROPOSAL_DF)
        drawn = table.attrs["drawn"]
        if not drawn:  # nothing drawn: every set the estimate
            attrs = {**table.attrs, "sampler": "importance", "priors": log_post.priors}
            return _resampled(table, np.zeros(BATCH), n, seed, attrs)
        if tables and drawn != tables[0].attrs["drawn"]:  # weights of two proposals' batches do not mix
            raise CalibrationError(
                "the proposals switched between drawing every parameter and holding the weak ones (draws inside "
                "the ranges at the edge of too rare): no posterior draws from this fit; use the normal's"
            )
        log_p = log_post(drawn, table[drawn].to_numpy(float))
        tables.append(table)
        log_w.append(np.where(np.isfinite(log_p), log_p - log_q, -np.inf))
        w = _normalized(np.concatenate(log_w))
        ess = 1.0 / float((w**2).sum())
    attrs = {
        **tables[0].attrs,
        "sampler": "importance",
        "proposals": sum(map(len, tables)),
        "ess": ess,
        "priors": log_post.priors,
    }
    return _resampled(pd.concat(tables, ignore_index=True), np.concatenate(log_w), n, seed, attrs)


def mcmc_draws(
    fit: Fit,
    scenario,
    record,
    n: int,
    seed: SeedLike,
    target_ess: int = TARGET_ESS,
    max_steps: int | None = None,
    chains: int | None = None,
    warmup: int | None = None,
) -> pd.DataFrame:
    """``n`` parameter sets drawn from ``fit``'s posterior on ``record`` (the target of :func:`posterior_draws`)
    by Markov chain Monte Carlo; see the module docstring. For fits whose likelihood no Student t around the
    estimate covers.

    ``chains`` (default :data:`CHAINS`) random-walk Metropolis chains start from the Student t proposal
    (spread wider than the posterior, as the convergence diagnostic needs) and move together, one vectorized
    likelihood evaluation per step. During the ``warmup`` steps (default :data:`WARMUP`) their normal proposal
    is adapted every :data:`WINDOW` steps to the pooled chains' covariance and an acceptance rate near 0.234;
    then it is frozen, the warmup discarded, and the chains run in blocks of :data:`STEP_BLOCK` steps until the
    split R-hat of every drawn parameter is under :data:`RHAT_MAX` and the effective sample size (draws over
    the largest integrated autocorrelation time) reaches ``target_ess``, or ``max_steps`` (default
    :data:`MAX_STEPS`) steps after the warmup are taken. The ``n`` sets are drawn uniformly from the kept steps
    of every chain. The table's ``attrs`` carry the diagnostics: ``chains``, ``warmup``, ``steps`` kept, the
    largest autocorrelation time ``tau`` (in steps) and its parameter (``slowest``), ``ess``, the largest split
    R-hat ``rhat``, ``converged`` (R-hat under :data:`RHAT_MAX`), the ``acceptance`` rate after the warmup,
    ``distinct`` sets, and ``held`` and ``drawn`` as in :meth:`~harmsim.calibrate.fit.Fit.sample_around`.

    >>> import harmsim
    >>> from harmsim.calibrate import calibrate
    >>> from harmsim.data.observations import observed_until
    >>> sc = harmsim.load_scenario("diffusion_only")
    >>> fit = calibrate(sc, free=["hazard.intercept", "diffusion.strength"], observed_until=2005)
    >>> rec = observed_until(sc.record, 2005)
    >>> draws = mcmc_draws(fit, sc.with_record(rec), rec, 200, seed=0, chains=16, warmup=300)
    >>> draws.shape, draws.attrs["converged"], draws.attrs["ess"] >= 1000
    ((200, 2), True, True)
    """
    max_steps = MAX_STEPS if max_steps is None else max_steps
    chains = CHAINS if chains is None else chains
    warmup = WARMUP if warmup is None else warmup
    if target_ess < 1 or max_steps < STEP_BLOCK or chains < 4 or warmup < WINDOW:
        raise CalibrationError(
            f"target_ess must be at least 1, max_steps at least {STEP_BLOCK}, chains at least 4 and warmup at least "
            f"{WINDOW}; got {target_ess}, {max_steps}, {chains} and {warmup}"
        )
    log_post = _Posterior(fit, scenario, record)
    g = stream(seed, "posterior-mcmc")
    start, _ = fit.sample_around(chains, g, df=PROPOSAL_DF)
    drawn = start.attrs["drawn"]
    if not drawn:
        raise CalibrationError(
            "no parameter of this fit has a standard error to start chains from: nothing to draw (every set would "
            "be the estimate; --parameters estimate says so)"
        )
    d = len(drawn)
    x = start[drawn].to_numpy(float).copy()
    log_p = log_post(drawn, x)
    if not np.isfinite(log_p).any():
        raise CalibrationError("every chain's start has zero likelihood: no posterior draws")
    # warmup: the proposal's shape from the pooled chains, its scale towards an acceptance of 0.234
    shape = fit.covariance.loc[drawn, drawn].to_numpy(float)
    scale = 2.38**2 / d  # Roberts, Gelman and Gilks (1997): optimal for a normal target
    seen = []
    for start_step in range(0, warmup, WINDOW):
        took, window = 0, min(WINDOW, warmup - start_step)
        for _ in range(window):
            took += _metropolis(x, log_p, drawn, log_post, scale * shape, g)
            seen.append(x.copy())
        scale *= np.exp(2 * (took / (window * chains) - 0.234))
        pooled = np.cov(np.concatenate(seen[len(seen) // 2 :]).T).reshape(d, d)
        if (np.diag(pooled) > 0).all():  # chains that have not moved in some direction keep the last shape
            shape = pooled + 1e-10 * np.diag(np.diag(pooled))
    # sampling with the proposal frozen
    blocks, accepted, steps = [], 0, 0
    while steps < max_steps:
        block = np.empty((min(STEP_BLOCK, max_steps - steps), chains, d))
        for t in range(len(block)):
            accepted += _metropolis(x, log_p, drawn, log_post, scale * shape, g)
            block[t] = x
        blocks.append(block)
        steps += len(block)
        kept = np.concatenate(blocks)
        tau = np.array([autocorrelation_time(kept[:, :, j]) for j in range(d)])
        rhat = np.array([split_rhat(kept[:, :, j]) for j in range(d)])
        if rhat.max() < RHAT_MAX and chains * steps / tau.max() >= target_ess:
            break
    table = pd.DataFrame(np.tile(start.iloc[0].to_numpy(float), (steps * chains, 1)), columns=start.columns)
    table[drawn] = kept.reshape(-1, d)
    slowest = int(np.argmax(tau))
    attrs = {
        **start.attrs,
        "sampler": "mcmc",
        "chains": chains,
        "warmup": warmup,
        "steps": steps,
        "tau": float(tau[slowest]),
        "slowest": drawn[slowest],
        "ess": float(chains * steps / tau[slowest]),
        "rhat": float(rhat.max()),
        "converged": bool(rhat.max() < RHAT_MAX),
        "acceptance": accepted / (steps * chains),
        "priors": log_post.priors,
    }
    out = _resampled(table, np.zeros(len(table)), n, seed, attrs)
    del out.attrs["proposals"]  # the chains drew no proposals to resample from
    return out


def _metropolis(x: np.ndarray, log_p: np.ndarray, names: list[str], log_post: _Posterior, cov, g) -> int:
    """One random-walk Metropolis step of every chain (rows of ``x``) with normal increments of covariance
    ``cov``, accepted with probability min(1, p(y) / p(x)). Updates ``x`` and ``log_p`` in place; returns the
    number of moves accepted."""
    y = x + g.multivariate_normal(np.zeros(x.shape[1]), cov, size=len(x), method="eigh")
    log_py = log_post(names, y)
    with np.errstate(invalid="ignore"):  # -inf - -inf: both outside the ranges, never taken
        take = np.log(g.random(len(x))) < log_py - log_p
    x[take], log_p[take] = y[take], log_py[take]
    return int(take.sum())


def split_rhat(chain: np.ndarray) -> float:
    """The split R-hat of a (steps, chains) chain of one parameter (Gelman et al. 2013, Bayesian Data Analysis,
    3rd ed., section 11.4): each chain cut in two halves, the root of the pooled variance estimate over the
    mean within-half variance. Near 1 when the chains have forgotten their starts and agree; well above it when
    they have not mixed.

    >>> from harmsim.rng import stream
    >>> g = stream(0, "doc")
    >>> round(split_rhat(g.standard_normal((1000, 4))), 2)
    1.0
    >>> split_rhat(g.standard_normal((1000, 4)) + np.arange(4)) > 1.5  # four chains in four places
    True
    """
    half = len(chain) // 2
    parts = np.concatenate([chain[:half], chain[half : 2 * half]], axis=1)
    within = parts.var(axis=0, ddof=1).mean()
    between = half * parts.mean(axis=0).var(ddof=1)
    if within <= 0:
        return float("inf") if between > 0 else 1.0
    return float(np.sqrt(((half - 1) / half * within + between / half) / within))


def autocorrelation_time(chain: np.ndarray, c: float = _SOKAL_C) -> float:
    """The integrated autocorrelation time, in steps, of a (steps, chains) chain of one parameter: one plus
    twice the sum of the autocorrelations (each chain's, by FFT, averaged over the chains), summed up to
    Sokal's (1997) automatic window, the first lag at least ``c`` times the running estimate. The chains' draws
    are worth about chains times steps over this many independent ones.

    For an AR(1) series with coefficient phi the time is (1 + phi) / (1 - phi):

    >>> from harmsim.rng import stream
    >>> g, phi = stream(0, "doc"), 0.8
    >>> x = np.zeros((20_000, 8))
    >>> for t in range(1, len(x)):
    ...     x[t] = phi * x[t - 1] + g.standard_normal(8)
    >>> round(autocorrelation_time(x))  # (1 + 0.8) / (1 - 0.8) = 9
    9
    """
    steps = len(chain)
    d = chain - chain.mean(axis=0)
    f = np.fft.rfft(d, n=2 * steps, axis=0)
    acf = np.fft.irfft(f * np.conj(f), n=2 * steps, axis=0)[:steps]
    varies = acf[0] > 0
    if not varies.any():  # no chain moved: no information in them
        return float("inf")
    rho = (acf[:, varies] / acf[0, varies]).mean(axis=1)
    taus = 2.0 * np.cumsum(rho) - 1.0
    inside = np.arange(steps) < c * taus
    window = int(np.argmin(inside)) if not inside.all() else steps - 1
    return float(taus[window])


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
    # distinct rows, not indices: a chain that rejects a move repeats its set
    out.attrs = {"proposals": len(table), "ess": float(len(table)), **attrs, "distinct": len(out.drop_duplicates())}
    return out

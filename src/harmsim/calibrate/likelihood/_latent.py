"""State propensities integrated out of the likelihood: Gauss-Hermite quadrature per state.

Given every adoption year the states separate, so each state's propensity is integrated out of its own cells
on the quadrature grid (:func:`_states`); where other cells read interval-censored years, the sum runs over
their joint year patterns, exactly up to :data:`MAX_PATTERNS` of them, importance-sampled beyond
(:func:`_latent_likelihood`).
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from harmsim.calibrate.likelihood._paths import _path_gradient, _path_terms, _proposal_paths, _year_choices
from harmsim.calibrate.likelihood._terms import (
    QUADRATURE_NODES,
    History,
    _block,
    _by_column,
    _cells,
    _ess,
    _lse,
    _nodes,
    history,
    quadrature,
)
from harmsim.errors import CalibrationError
from harmsim.model.dynamics import LOGIT, Block


def latent_posterior(scenario, record, nodes: int = QUADRATURE_NODES) -> tuple[np.ndarray, np.ndarray]:
    """The states' propensities given ``record``'s history, at ``scenario``'s parameters: on the quadrature grid.

    Returns the nodes ``x`` (Q,) and the posterior probability of each (Q, N, C): each state's (and column's)
    standard-normal prior times the likelihood of its cells, normalized over the nodes; the same sums that
    integrate the propensities out of :func:`loglik`. A state with no observed history keeps the prior.

    >>> import harmsim
    >>> sc = harmsim.load_scenario("heterogeneity")
    >>> x, post = latent_posterior(sc, sc.record)
    >>> post.shape[1:], bool(abs(post.sum(axis=0) - 1).max() < 1e-12)  # 11 states (Timor-Leste joins later)
    ((11, 1), True)
    """
    hist = history(scenario, record)
    x, w = quadrature(nodes)
    dyn = scenario.dynamics
    if not dyn.needs_latent:
        raise CalibrationError(f"scenario '{scenario.name}' has no state propensities (no frailty mechanism)")
    ll, _ = _cells(scenario, hist, LOGIT, _nodes(dyn, x))
    logp = _by_column(ll[0], dyn) + np.log(w)[:, None, None]  # (Q, N, C)
    post = np.exp(logp - logp.max(axis=0))
    return x, post / post.sum(axis=0)


#: A latent model's dependent interval-censored years are summed over exactly, pattern by pattern, when they
#: have at most this many joint year patterns (the issue's three-state case: 6); more are importance-sampled
MAX_PATTERNS = 4096


#: Paths first drawn for a latent model whose dependent interval-censored years have more patterns than
#: MAX_PATTERNS: doubled, to at most MAX_PATTERN_SAMPLES, until the Monte Carlo standard error of the
#: log-likelihood at the proposal's parameters is at most PATTERN_SE (:func:`_enough_paths`)
PATTERN_SAMPLES = 64


PATTERN_SE = 0.05


MAX_PATTERN_SAMPLES = 1024


def _patterns(hist: History, cells: np.ndarray) -> float:
    """The number of joint year patterns of ``cells`` (a float: it can be astronomically large)."""
    return float(np.prod([float(len(c)) for c in _year_choices(hist, cells)]))


def _latent_paths(hist: History, mask: np.ndarray, groups, samples: int):
    """(cells (M, 2), years (S, M), log q (S,) or None) for a latent model's dependent interval-censored cells.

    Every joint pattern of their years when there are at most :data:`MAX_PATTERNS` (``log q`` None: the
    likelihood is their exact sum); otherwise ``samples`` paths from the fixed proposal of
    :func:`_proposal_paths`.
    """
    cells = np.concatenate([g for g, _ in groups])
    choices = _year_choices(hist, cells)
    if _patterns(hist, cells) <= MAX_PATTERNS:
        grid = np.stack(np.meshgrid(*choices, indexing="ij"), axis=-1).reshape(-1, len(cells))
        return cells, grid, None
    return _proposal_paths(hist, mask, groups, samples)


def _enough_paths(hist: History, mask: np.ndarray, groups, nodes: int) -> int:
    """The number of paths a latent model's sampled likelihood uses under the current proposal: the first of
    :data:`PATTERN_SAMPLES` doubled whose Monte Carlo standard error at the proposal's parameters is at most
    :data:`PATTERN_SE` (:data:`MAX_PATTERN_SAMPLES` at most). Chosen once per proposal, so the estimate stays
    one smooth function of the parameters; on the world panel with a propensity per state, 64 paths."""
    cells = np.concatenate([g for g, _ in groups])
    key = ("enough", mask.tobytes(), cells.tobytes(), nodes)
    if key not in hist.cache:
        block, n = _block(hist.cache["proposal"]), PATTERN_SAMPLES
        while n < MAX_PATTERN_SAMPLES and _patterns(hist, cells) > MAX_PATTERNS:
            _, diag = _latent_likelihood(block, hist, mask, groups, nodes, n)
            if diag["log-likelihood Monte Carlo s.e."] <= PATTERN_SE:
                break
            n *= 2
        hist.cache[key] = n
    return hist.cache[key]


def _latent_likelihood(
    block: Block, hist: History, mask: np.ndarray, groups, nodes: int, samples: int | None, grad=None
):
    """((B,) log-likelihood, diagnostics) with state propensities and dependent interval-censored years.

    Given every year the states separate (quadrature per state, :func:`_path_terms`), so the likelihood is
    the sum over the hidden cells' year patterns of p(record, pattern): exact when every pattern is
    enumerated, otherwise an importance-sampling estimate from a fixed proposal (smooth in the parameters)
    whose Monte Carlo standard error the diagnostics give, with ``samples`` paths (None: enough for
    :data:`PATTERN_SE`, :func:`_enough_paths`). ``grad`` (one parameter set): add the gradient,
    each path's weighted by its share of the sum and each state's nodes by their posterior given the path.
    """
    if samples is None:
        samples = _enough_paths(hist, mask, groups, nodes)
    _, years, logq = _latent_paths(hist, mask, groups, samples)
    if logq is None:
        per, lp = _path_terms(block, hist, mask, groups, years, nodes, keep=grad is not None)  # (B, S)
        value, diag = logsumexp(per, axis=1), {"patterns": len(years), "log-likelihood Monte Carlo s.e.": 0.0}
        share = None if grad is None else np.exp(per[0] - value[0])
    else:
        # a proposal concentrated on few years draws the same path many times: each distinct path is evaluated once
        years, which = np.unique(years, axis=0, return_inverse=True)
        per, lp = _path_terms(block, hist, mask, groups, years, nodes, keep=grad is not None)
        lw = per[:, which.ravel()] - logq[None, :]
        value, diag = logsumexp(lw, axis=1) - np.log(len(logq)), _ess(lw[0])
        if grad is not None:
            share = np.bincount(which.ravel(), np.exp(lw[0] - logsumexp(lw[0])), minlength=len(years))
    if grad is not None:
        norm = logsumexp(lp, axis=1, keepdims=True)
        with np.errstate(invalid="ignore"):  # an impossible path (share 0) has no posterior
            post = np.where(np.isfinite(norm), share[:, None, None, None] * np.exp(lp - norm), 0.0)  # (S, Q, N, C)
        _path_gradient(block, hist, mask, groups, years, nodes, post, grad)
    return value, diag


def _states(block: Block, hist: History, mask: np.ndarray | None, nodes: int, grad=None) -> np.ndarray:
    """(B, N) :func:`loglik_states` for each parameter set of ``block``; ``grad`` (one parameter set): add the
    gradient of their sum, each node's terms weighted by the node's posterior for its state (a second pass)."""
    m = np.ones(hist.kind.shape, dtype=bool) if mask is None else mask
    if not block.needs_latent:
        ll, _ = _cells(block, hist)
        return np.where(m, ll[:, 0], 0.0).sum(axis=2)
    x, w = quadrature(nodes)
    z = _nodes(block, x)
    ll, _ = _cells(block, hist, LOGIT, z)
    lp = _by_column(np.where(m, ll, 0.0), block) + np.log(w)[:, None, None]  # (B, Q, N, C): states separate
    out = _lse(lp, axis=1)
    if grad is not None:
        post = np.exp(lp[0] - out[0][None])[..., block.latent_columns]  # (Q, N, K)
        _cells(block, hist, LOGIT, z, grad=grad.on(m).weighted(post))
    return out.sum(axis=-1)

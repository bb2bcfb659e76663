"""The exact likelihood of an observed record: a discrete-time event-history model.

The record shows each state's adoption history, so the model's yearly
adoption probabilities, evaluated on that history, give the probability of
the record (Allison 1982; Berry and Berry 1990 for policy diffusion). For
every cell (state ``i``, instrument ``k``) and every year ``t`` of the window
in which the cell is at risk (a member, the instrument open, its prerequisite
adopted, not yet adopted), with ``h = expit(eta[i, k, t])`` from the same
:class:`~harmsim.model.dynamics.Dynamics` the engines use:

* adopted in ``t``:              log h
* not (yet) adopted in ``t``:    log (1 - h)   (right-censored cells contribute
  this through the window's end)
* adopted within ``[lo, hi]`` (interval-censored): log (1 - h) for the years
  before ``lo``, then ``log(1 - prod_{t=lo..hi} (1 - h_t))``. An end-of-window
  status "yes" is the interval [start, end]; "no" is right-censoring at the
  end; "unknown" contributes nothing (and counts as not adopted for peers).

Only years of the observation window count (:mod:`harmsim.data.observations`):
the record's window, or an earlier end for a backtest
(``observed_until``); a scenario whose horizon runs further is evaluated
over the observation window only. The risk sets and gates are those of
:meth:`Dynamics.layer <harmsim.model.dynamics.Dynamics.layer>`, the engines' own,
and the terms read the record through the same
:class:`~harmsim.model.mechanisms.PastView`, which refuses any year not yet
decided.

Conditioning: the terms of year ``t`` read the recorded history before ``t``
(peers' adoptions, agreements at their recorded dates, prerequisites), so the
likelihood is exact for dated histories. Where other cells depend on an
interval-censored adoption (a peer's diffusion share, a prerequisite gate,
the Bass link), its unknown year is summed over exactly: a forward recursion
on the set of such adoptions made before each year (2**M sets; at most
:data:`MAX_HIDDEN` of them). A larger group (on the world panel, the
Council of Europe states known only to have ratified CETS 197 "by 2015")
is importance-sampled: :data:`GROUP_SAMPLES` paths of its years drawn once
from a fixed proposal and reweighted, an unbiased, smooth estimate whose
Monte Carlo error the fit reports (:func:`likelihood_path`). With state
propensities the states separate only given every year, so the sum runs over
the joint year patterns of such adoptions, with each state's propensity
integrated out per pattern: exactly, pattern by pattern, up to
:data:`MAX_PATTERNS` of them; beyond, by importance sampling from a fixed
proposal that draws each year from its conditional given the record and the
other unknown years at their midpoints (:func:`_conditionals`), with as many
paths as a Monte Carlo s.e. of :data:`PATTERN_SE` needs (:func:`_enough_paths`:
128 on ASEAN's six HSU years, 64 on the world panel's 39 years).
tests/test_likelihood_frequency.py checks every case against simulated
frequencies. With organization intercepts (crossed: a state in several
organizations) the likelihood integrates them by importance sampling around
their posterior mode, with the unknown years drawn or summed given each draw
(:func:`_shared_likelihood`; tests/test_world_model.py checks it against
simulated frequencies). Endogenous agreement arrival is replaced by the
recorded dates (use ABC for the free-running model).

Where each part lives: ``_terms`` the terms of one history (the one loop over
the window, :func:`_years`, and the cells' terms, :func:`_cells`); ``_paths``
the interval-censored years other cells read, summed or sampled; ``_latent``
the state propensities; ``_shared`` the organization intercepts. This module
chooses among them (:func:`_loglik`) and is the public face.

The gradient (:func:`loglik_gradient`) is accumulated inside the same passes:
each at-risk row's d ll / d eta (weighted by the hidden years' posterior in the
forward sum, by the importance weights of sampled paths) times the tangents of
:mod:`harmsim.calibrate.gradient`. With state propensities a second pass weighs
each quadrature node's rows by the node's posterior for the state given the
path (the derivative of the quadrature's log of a weighted sum).
"""

from __future__ import annotations

import numpy as np

from harmsim.calibrate.gradient import Tangents
from harmsim.calibrate.likelihood._latent import MAX_PATTERNS, _latent_likelihood, _states, latent_posterior
from harmsim.calibrate.likelihood._paths import (
    MAX_HIDDEN,
    _exact,
    _hidden,
    _sampled_groups,
    _split,
    _with_sampled,
    hidden_groups,
    set_proposal,
)
from harmsim.calibrate.likelihood._shared import _shared_likelihood, set_shared_proposal, shared_posterior_draws
from harmsim.calibrate.likelihood._terms import (
    QUADRATURE_NODES,
    History,
    _block,
    _cells,
    _Gradient,
    _nodes,
    history,
    quadrature,
)
from harmsim.data.observations import BEFORE, CENSORED, DATED, INTERVAL, UNOBSERVED
from harmsim.errors import CalibrationError
from harmsim.model.dynamics import LOGIT, Block

__all__ = [
    "BEFORE",
    "CENSORED",
    "DATED",
    "INTERVAL",
    "MAX_HIDDEN",
    "MAX_PATTERNS",
    "UNOBSERVED",
    "History",
    "at_risk_years",
    "hidden_groups",
    "history",
    "latent_posterior",
    "likelihood_path",
    "loglik",
    "loglik_cells",
    "loglik_gradient",
    "loglik_many",
    "loglik_sampled",
    "loglik_states",
    "quadrature",
    "set_proposal",
    "set_shared_proposal",
    "shared_posterior_draws",
]


def likelihood_path(scenario, hist: History, mask: np.ndarray | None = None, link=LOGIT) -> dict:
    """How :func:`loglik` evaluates this record under this scenario, for a fit's log.

    ``path``: ``exact`` (every unknown year other cells read summed over, or none; with state propensities,
    ``patterns`` says how many joint year patterns were summed) or ``sampled`` (too many to sum, or the
    organizations' intercepts integrated out: importance sampling, with its diagnostics at these parameters).
    ``groups``: the sizes of the groups of such years.

    >>> import harmsim
    >>> sc = harmsim.load_scenario("diffusion_only")
    >>> likelihood_path(sc, history(sc, sc.record))  # the HSU years, six intervals, summed over exactly
    {'path': 'exact', 'groups': [6]}
    """
    m = np.ones(hist.kind.shape, dtype=bool) if mask is None else mask
    groups = _hidden(scenario, hist, m, link)
    sizes = [len(g) for g, _ in groups]
    if scenario.dynamics.needs_shared:  # the organizations' intercepts: always importance-sampled
        _, diag = _shared_likelihood(_block(scenario), hist, m, groups)
        return {"path": "sampled", "groups": sizes, **diag}
    if not groups:
        return {"path": "exact", "groups": sizes}
    if scenario.dynamics.needs_latent:
        _, diag = _latent_likelihood(_block(scenario), hist, m, groups, QUADRATURE_NODES, None)
        return {"path": "exact" if "patterns" in diag else "sampled", "groups": sizes, **diag}
    large = _split(groups)[1]
    if not large:
        return {"path": "exact", "groups": sizes}
    _, diag = _sampled_groups(_block(scenario), hist, m, large, link)
    return {"path": "sampled", "groups": sizes, **diag}


def loglik_cells(scenario, hist: History, link=LOGIT) -> tuple[np.ndarray, int]:
    """Log-likelihood contribution of every (state, instrument) cell, (N, K), and the number
    of at-risk state-instrument-years (the sample size for BIC).

    ``link`` turns the year's log-odds into hazards (``log_probs``); another link
    (e.g. the Bass model's) reuses the same risk sets and gates. Under state
    heterogeneity (a mechanism with latent propensities) the cells of a state
    are not independent: use :func:`loglik_states` or :func:`loglik`.

    >>> import harmsim
    >>> sc = harmsim.load_scenario("diffusion_only")
    >>> cells, n = loglik_cells(sc, history(sc, sc.record))
    >>> cells.shape, n
    ((11, 6), 352)
    """
    if scenario.dynamics.needs_latent:
        raise CalibrationError(
            f"scenario '{scenario.name}' has state propensities: its cells do not separate; use loglik_states"
        )
    if scenario.dynamics.needs_shared:
        raise CalibrationError(
            f"scenario '{scenario.name}' has organization intercepts: its cells do not separate; use loglik"
        )
    ll, n_obs = _cells(scenario, hist, link)
    return ll[0, 0], n_obs


def at_risk_years(scenario, hist: History) -> int:
    """The number of at-risk state-instrument-years of the observation window (the sample size for BIC).

    >>> import harmsim
    >>> sc = harmsim.load_scenario("diffusion_only")
    >>> at_risk_years(sc, history(sc, sc.record))
    352
    """
    latent = _nodes(scenario.dynamics, [0.0]) if scenario.dynamics.needs_latent else None
    return _cells(scenario, hist, LOGIT, latent)[1]


def loglik_states(scenario, hist: History, mask: np.ndarray | None = None, nodes: int = QUADRATURE_NODES) -> np.ndarray:
    """(N,) log-likelihood of each state's histories (the cells in ``mask``, default all).

    With state propensities, each state's propensity ``z ~ N(0, 1)`` is
    integrated out by Gauss-Hermite quadrature over ``nodes`` points: given
    the observed history every other term is fixed, so the states' integrals
    are one-dimensional and independent (as are a state's propensities per
    instrument kind, each read by its own instruments' terms). Where another cell depends on an
    interval-censored adoption the states do not separate: :func:`loglik`
    sums over its year; this function reads it at its midpoint.

    >>> import harmsim
    >>> sc = harmsim.load_scenario("heterogeneity")
    >>> per_state = loglik_states(sc, history(sc, sc.record))
    >>> per_state.shape, bool((per_state <= 0).all())
    ((11,), True)
    """
    if scenario.dynamics.needs_shared:
        raise CalibrationError(
            f"scenario '{scenario.name}' has organization intercepts: its states do not separate; use loglik"
        )
    return _states(_block(scenario), hist, mask, nodes)[0]


def loglik(
    scenario,
    hist: History,
    mask: np.ndarray | None = None,
    nodes: int = QUADRATURE_NODES,
    link=LOGIT,
    samples: int | None = None,
) -> float:
    """Log-likelihood of the record (of the cells in ``mask``) under ``scenario``'s parameters.

    Exact where other cells depend on an interval-censored adoption (peers'
    diffusion shares, prerequisite gates, the Bass link): its unknown year is
    summed over (:func:`_forward`). Cells outside ``mask`` are conditioned on
    as recorded, an interval-censored one at its midpoint.

    With state propensities the states separate only given every year, so
    the sum runs over the joint year patterns of such adoptions: exact up to
    :data:`MAX_PATTERNS` patterns, importance-sampled with ``samples`` paths
    beyond (None: enough for a Monte Carlo standard error of :data:`PATTERN_SE`;
    :func:`likelihood_path` and :func:`loglik_sampled` report it).

    >>> import harmsim
    >>> sc = harmsim.load_scenario("baseline")
    >>> round(loglik(sc, history(sc, sc.record)), 2) < 0
    True
    """
    return float(loglik_many([scenario], hist, mask, nodes, link, samples)[0])


def loglik_many(
    scenarios,
    hist: History,
    mask: np.ndarray | None = None,
    nodes: int = QUADRATURE_NODES,
    link=LOGIT,
    samples: int | None = None,
    midpoint: bool = False,
) -> np.ndarray:
    """(B,) :func:`loglik` of each of ``scenarios`` (variants of one scenario: its parameters changed).

    ``midpoint``: with state propensities, read the interval-censored years other cells depend on at their
    midpoints instead of summing over them: a fast approximation, biased (tests/test_likelihood_frequency.py),
    that the optimizer uses only to find where to start climbing the exact surface.

    The parameter sets are evaluated together (:class:`~harmsim.model.dynamics.Block`):
    a block of finite-difference neighbours costs a few evaluations, not one
    each. Each value equals ``loglik(scenarios[b], ...)``.

    >>> import harmsim
    >>> from harmsim.calibrate.likelihood import history, loglik_many
    >>> sc = harmsim.load_scenario("baseline")
    >>> h = history(sc, sc.record)
    >>> lls = loglik_many([sc.with_params({"diffusion.strength": v}) for v in (0.0, 1.0)], h)
    >>> lls.shape
    (2,)
    """
    block = _block(scenarios) if isinstance(scenarios, Block) else Block(scenarios)
    m = np.ones(hist.kind.shape, dtype=bool) if mask is None else mask
    return _loglik(block, hist, m, nodes, link, samples, midpoint)


def loglik_gradient(
    scenario, hist: History, free, bounds, mask: np.ndarray | None = None, midpoint: bool = False
) -> tuple[float, np.ndarray]:
    """(:func:`loglik`, its gradient in the parameters ``free``), the gradient analytic: one pass of the
    likelihood and the mechanisms' tangents (:mod:`harmsim.calibrate.gradient`), however many parameters.

    ``bounds``: each parameter's allowed range. Exact where the log-likelihood is (equal to its derivative
    to rounding, tested against differences on every path); where the unknown years are importance-sampled,
    the exact derivative of the sampled estimate. With organization intercepts, the derivative of their
    importance-sampled estimate with its proposal held where :func:`set_shared_proposal` puts it (re-centred
    at every evaluation otherwise, the proposal's own movement is not differentiated: the value is a
    consistent estimate of the likelihood's gradient, not the estimate's exact derivative). With state
    propensities, a second pass weighs each node's terms by its posterior for the state (the derivative of the
    quadrature's log of sums); ``midpoint``: of :func:`loglik_many`'s midpoint approximation.

    >>> import harmsim
    >>> sc = harmsim.load_scenario("baseline")
    >>> ll, g = loglik_gradient(sc, history(sc, sc.record), ["hazard.intercept"], [(-20.0, 10.0)])
    >>> g.shape
    (1,)
    """
    m = np.ones(hist.kind.shape, dtype=bool) if mask is None else mask
    grad = _Gradient(Tangents(scenario, free, bounds), np.zeros(len(free)), m)
    ll = _loglik(_block(scenario), hist, m, QUADRATURE_NODES, LOGIT, None, midpoint, grad)
    return float(ll[0]), grad.total


def _loglik(block: Block, hist: History, m, nodes, link, samples, midpoint, grad=None) -> np.ndarray:
    """:func:`loglik_many` of a block on the cells ``m``: the choice of path; ``grad`` adds the gradient."""
    groups = _hidden(block.scenarios[0], hist, m, link)
    if block.needs_shared:
        if link is not LOGIT:
            raise CalibrationError("organization intercepts: the likelihood supports the logit link only")
        return _shared_likelihood(block, hist, m, groups, grad=grad)[0]
    if block.needs_latent and groups and not midpoint:
        return _latent_likelihood(block, hist, m, groups, nodes, samples, grad)[0]
    if block.needs_latent:
        return _states(block, hist, m, nodes, grad).sum(axis=1)
    if groups and _split(groups)[1]:
        return _with_sampled(block, hist, m, groups, link, grad)
    if groups:
        return _exact(block, hist, m, groups, link, grad=grad)
    ll, _ = _cells(block, hist, link, grad=grad)
    return np.where(m, ll[:, 0], 0.0).sum(axis=(1, 2))


def loglik_sampled(scenario, hist: History, samples: int | None = None, nodes: int = QUADRATURE_NODES) -> tuple:
    """(log-likelihood, diagnostics): :func:`loglik` and how it was computed.

    With state propensities and interval-censored years that other cells
    read, the diagnostics give the number of year patterns summed exactly
    (``patterns``) or, beyond :data:`MAX_PATTERNS`, the importance sampler's
    samples, effective samples and Monte Carlo standard error of the log-
    likelihood; with organization intercepts, those of their importance
    draws; otherwise the value is exact and its standard error 0.

    >>> import harmsim
    >>> sc = harmsim.load_scenario("diffusion_only")
    >>> ll, how = loglik_sampled(sc, history(sc, sc.record))
    >>> ll == loglik(sc, history(sc, sc.record)), how  # exact here: nothing sampled
    (True, {'samples': 0, 'log-likelihood Monte Carlo s.e.': 0.0})
    """
    m = np.ones(hist.kind.shape, dtype=bool)
    groups = _hidden(scenario, hist, m, LOGIT)
    if scenario.dynamics.needs_shared:
        value, diag = _shared_likelihood(_block(scenario), hist, m, groups)
        return float(value[0]), diag
    if not (scenario.dynamics.needs_latent and groups):
        return loglik(scenario, hist, nodes=nodes), {"samples": 0, "log-likelihood Monte Carlo s.e.": 0.0}
    value, diag = _latent_likelihood(_block(scenario), hist, m, groups, nodes, samples)
    return float(value[0]), diag

"""The exact likelihood of an observed record: a discrete-time event-history model.

The record shows each state's adoption history, so the model's yearly
adoption probabilities, evaluated on that history, give the probability of
the record (Allison 1982; Berry and Berry 1990 for policy diffusion). For
every cell (state ``i``, instrument ``k``) and every year ``t`` of the window
in which the cell is at risk (a member, the instrument open, its prerequisite
adopted, not yet adopted), with ``h = expit(eta[i, k, t])`` from the same
:class:`~harmsim.dynamics.Dynamics` the engines use:

* adopted in ``t``:              log h
* not (yet) adopted in ``t``:    log (1 - h)   (right-censored cells contribute
  this through the window's end)
* adopted within ``[lo, hi]`` (interval-censored): log (1 - h) for the years
  before ``lo``, then ``log(1 - prod_{t=lo..hi} (1 - h_t))``. An end-of-window
  status "yes" is the interval [start, end]; "no" is right-censoring at the
  end; "unknown" contributes nothing (and counts as not adopted for peers).

Only years of the observation window count (:mod:`harmsim.observations`):
the record's window, or an earlier end for a backtest
(``observed_until``); a scenario whose horizon runs further is evaluated
over the observation window only. The risk sets and gates are those of
:meth:`Dynamics.layer <harmsim.dynamics.Dynamics.layer>`, the engines' own,
and the terms read the record through the same
:class:`~harmsim.mechanisms.PastView`, which refuses any year not yet
decided.

Conditioning: the terms of year ``t`` read the recorded history before ``t``
(peers' adoptions, agreements at their recorded dates, prerequisites), so the
likelihood is exact for dated histories. Two approximations, both stated in
every fit's log: where an interval-censored adoption matters to other cells
(peers' diffusion shares, the same state's prerequisite gate) it is taken at
the midpoint of its interval, rounded (its own contribution is exact); and
endogenous agreement arrival is replaced by the recorded dates (use ABC for
the free-running model).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from scipy.special import logsumexp

from ..dynamics import LOGIT
from ..errors import CalibrationError, ConfigError
from ..mechanisms import PastView, State
from ..observations import BEFORE, CENSORED, DATED, INTERVAL, UNOBSERVED, Observations, observations

__all__ = [
    "BEFORE",
    "CENSORED",
    "DATED",
    "INTERVAL",
    "UNOBSERVED",
    "History",
    "at_risk_years",
    "history",
    "loglik",
    "loglik_cells",
    "loglik_states",
    "quadrature",
]


@dataclass(frozen=True, eq=False)
class History:
    """A record's observations aligned with a scenario's world.

    kind: (N, K) DATED / CENSORED / INTERVAL / BEFORE / UNOBSERVED.
    year, lo, hi, seen: (N, K) adoption year (DATED), interval bounds (INTERVAL),
    last year known not adopted (CENSORED).
    state: the R = 1 :class:`State` the mechanisms read (interval years at midpoints).
    end: the last year of the observation window.
    """

    kind: np.ndarray
    year: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    seen: np.ndarray
    state: State
    n_cells: int
    end: int
    obs: Observations


def history(scenario, record) -> History:
    """Align ``record`` with ``scenario``'s world; every state and instrument must be observed."""
    w = scenario.world
    try:
        obs = observations(w, record)
    except ConfigError as exc:
        raise CalibrationError(f"scenario '{scenario.name}': {exc}") from None
    dyn = scenario.dynamics
    state = dyn.initial_state(1, obs.clamp())  # the recorded schedule up to the window's end
    state.adopt_year[0] = obs.imputed()
    kind = obs.kind
    return History(
        kind,
        obs.year,
        obs.lo,
        obs.hi,
        obs.seen,
        state,
        int(((kind != BEFORE) & (kind != UNOBSERVED)).sum()),
        obs.end,
        obs,
    )


#: Gauss-Hermite nodes for integrating each state's propensity out of the likelihood (see tests for the error)
QUADRATURE_NODES = 24


def quadrature(n: int = QUADRATURE_NODES) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of the standard normal (probabilists' Gauss-Hermite), weights summing to 1."""
    x, w = hermegauss(n)
    return x, w / w.sum()


def _cells(scenario, hist: History, link=LOGIT, latent: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """(L, N, K) log-likelihood contribution of every cell for each of L latent settings, and the number of
    at-risk state-instrument-years. ``latent`` (L, N): the states' propensities (None: no latent mechanism)."""
    w = scenario.world
    dyn = scenario.dynamics
    S = hist.state if latent is None else replace(hist.state, latent=latent)
    N, K = hist.kind.shape
    L = 1 if latent is None else len(latent)
    ll = np.zeros((L, N, K))
    int_surv = np.zeros((L, N, K))  # log prob. of no adoption within the interval so far
    int_risk = np.zeros((N, K), dtype=bool)
    n_obs = 0
    kind, year, lo, hi, seen = hist.kind, hist.year, hist.lo, hist.hi, hist.seen
    observed = (kind != BEFORE) & (kind != UNOBSERVED)
    dated, cens_k, interval = kind == DATED, kind == CENSORED, kind == INTERVAL
    risk = np.empty((N, K), dtype=bool)
    eta = np.empty((L, N, K))
    for ti, t in enumerate(w.years):
        if t > hist.end:
            break
        view = PastView(S, int(t))
        eta_all = dyn.logit(ti, view)
        elig = dyn.eligible(ti, S) & observed[None]
        # The engines' risk sets and gates, layer by layer, gathered into (N, K).
        for li in range(len(dyn.layers)):
            idx, r, e = dyn.layer(li, ti, S, eta_all, elig)
            risk[:, idx] = r[0]
            eta[:, :, idx] = e
        dated_open = dated & (year >= t)
        cens = cens_k & (seen >= t)
        before_int = interval & (t < lo)
        in_int = interval & (t >= lo) & (t <= hi)
        n_obs += int((risk & (dated_open | cens | before_int | in_int)).sum())
        adopt_now = dated & (year == t)
        if (adopt_now & ~risk).any():
            i, k = np.argwhere(adopt_now & ~risk)[0]
            raise CalibrationError(
                f"the record has {w.states[i]} adopting {w.instruments[k]} in {t}, which scenario "
                f"'{scenario.name}' makes impossible (not a member, instrument not open, or prerequisite missing)"
            )
        log_h, log_s = link.log_probs(ti, view, eta, slice(None))
        ll += np.where(adopt_now & risk, log_h, 0.0)
        ll += np.where(risk & ((dated_open & ~adopt_now) | cens | before_int), log_s, 0.0)
        int_surv += np.where(risk & in_int, log_s, 0.0)
        int_risk |= risk & in_int
    if (interval & ~int_risk).any():
        i, k = np.argwhere(interval & ~int_risk)[0]
        raise CalibrationError(
            f"the record has {w.states[i]} adopting {w.instruments[k]} within [{lo[i, k]:.0f}, {hi[i, k]:.0f}], "
            f"but it is never at risk then in scenario '{scenario.name}'"
        )
    with np.errstate(divide="ignore"):
        ll += np.where(interval, np.log(-np.expm1(np.minimum(int_surv, -1e-300))), 0.0)
    return ll, n_obs


def loglik_cells(scenario, hist: History, link=LOGIT) -> tuple[np.ndarray, int]:
    """Log-likelihood contribution of every (state, instrument) cell, (N, K), and the number
    of at-risk state-instrument-years (the sample size for BIC).

    ``link`` turns the year's log-odds into hazards (``log_probs``); another link
    (e.g. the Bass model's) reuses the same risk sets and gates. Under state
    heterogeneity (a mechanism with latent propensities) the cells of a state
    are not independent: use :func:`loglik_states` or :func:`loglik`.
    """
    if scenario.dynamics.needs_latent:
        raise CalibrationError(
            f"scenario '{scenario.name}' has state propensities: its cells do not separate; use loglik_states"
        )
    ll, n_obs = _cells(scenario, hist, link)
    return ll[0], n_obs


def at_risk_years(scenario, hist: History) -> int:
    """The number of at-risk state-instrument-years of the observation window (the sample size for BIC)."""
    latent = np.zeros((1, len(scenario.world.states))) if scenario.dynamics.needs_latent else None
    return _cells(scenario, hist, LOGIT, latent)[1]


def loglik_states(scenario, hist: History, mask: np.ndarray | None = None, nodes: int = QUADRATURE_NODES) -> np.ndarray:
    """(N,) log-likelihood of each state's histories (the cells in ``mask``, default all).

    With state propensities, each state's propensity ``z ~ N(0, 1)`` is
    integrated out by Gauss-Hermite quadrature over ``nodes`` points: given
    the observed history every other term is fixed, so the states' integrals
    are one-dimensional and independent.
    """
    m = np.ones(hist.kind.shape, dtype=bool) if mask is None else mask
    if not scenario.dynamics.needs_latent:
        ll, _ = _cells(scenario, hist)
        return np.where(m, ll[0], 0.0).sum(axis=1)
    x, w = quadrature(nodes)
    ll, _ = _cells(scenario, hist, LOGIT, np.repeat(x[:, None], hist.kind.shape[0], axis=1))
    per_node = np.where(m[None], ll, 0.0).sum(axis=2)  # (Q, N)
    return logsumexp(per_node + np.log(w)[:, None], axis=0)


def loglik(scenario, hist: History, mask: np.ndarray | None = None, nodes: int = QUADRATURE_NODES) -> float:
    """Log-likelihood of the record (of the cells in ``mask``) under ``scenario``'s parameters."""
    return float(loglik_states(scenario, hist, mask, nodes).sum())

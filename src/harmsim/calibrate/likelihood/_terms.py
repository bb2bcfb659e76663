"""The likelihood's terms on one history: the record aligned with a scenario, each year's at-risk rows.

Every path of :mod:`harmsim.calibrate.likelihood` ends here: :func:`_years` is the one loop over the
observation window (the engines' own risk sets and gates), :func:`_cells` the cells' terms given every year
known (an interval-censored year other cells read at its midpoint), and :class:`_Gradient` the gradient they
add to. The rules are stated in the package's docstring.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from scipy.special import logsumexp

from harmsim.calibrate.gradient import Tangents
from harmsim.data.observations import BEFORE, CENSORED, DATED, INTERVAL, UNOBSERVED, Observations, observations
from harmsim.errors import CalibrationError, ConfigError
from harmsim.model.dynamics import LOGIT, Block
from harmsim.model.mechanisms import PastView, State


@dataclass(frozen=True, eq=False)
class History:
    """A record's observations aligned with a scenario's world, and the history the mechanisms read.

    ``obs``: the :class:`~harmsim.data.observations.Observations` (kind, year, lo, hi, seen per cell, the window);
    ``state``: the R = 1 :class:`State` the mechanisms read (interval years at midpoints); ``n_cells``: the
    cells the likelihood scores (neither BEFORE nor UNOBSERVED).

    >>> import harmsim
    >>> sc = harmsim.load_scenario("diffusion_only")
    >>> h = history(sc, sc.record)
    >>> h.n_cells, h.obs.kind.shape  # not scored: three of Timor-Leste's (one unobserved, two adopted before it joined)
    (63, (11, 6))
    """

    obs: Observations
    state: State
    cache: dict = field(default_factory=dict, repr=False)  # parameter-free plans of the exact sums

    # The observations' own fields, read through (one encoding: nothing copied)
    kind = property(lambda self: self.obs.kind)
    year = property(lambda self: self.obs.year)
    lo = property(lambda self: self.obs.lo)
    hi = property(lambda self: self.obs.hi)
    seen = property(lambda self: self.obs.seen)
    end = property(lambda self: self.obs.end)

    @property
    def n_cells(self) -> int:
        return int(((self.obs.kind != BEFORE) & (self.obs.kind != UNOBSERVED)).sum())


def history(scenario, record) -> History:
    """Align ``record`` with ``scenario``'s world; every state and instrument must be observed.

    See :class:`History` for an example.
    """
    w = scenario.world
    try:
        obs = observations(w, record)
    except ConfigError as exc:
        raise CalibrationError(f"scenario '{scenario.name}': {exc}") from None
    dyn = scenario.dynamics
    shared = np.zeros((1, dyn.shared_width)) if dyn.needs_shared else None  # organization intercepts at 0
    state = dyn.initial_state(1, obs.clamp(), shared=shared)  # the recorded schedule up to the window's end
    # the years the record does not know, read as the scenario's [inputs] unseen says
    state.adopt_year[0] = obs.imputed(w if scenario.unseen == "adopted" else None)
    hist = History(obs, state)
    hist.cache["proposal"] = scenario  # the importance proposal of large groups (see :func:`set_proposal`)
    return hist


#: Gauss-Hermite nodes for integrating each state's propensity out of the likelihood (see tests for the error)
QUADRATURE_NODES = 24


@lru_cache(maxsize=8)
def quadrature(n: int = QUADRATURE_NODES) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of the standard normal (probabilists' Gauss-Hermite), weights summing to 1."""
    x, w = hermegauss(n)
    x.flags.writeable = False
    w = w / w.sum()
    w.flags.writeable = False
    return x, w


def _nodes(dyn, x: np.ndarray) -> np.ndarray:
    """(L, N, C) propensities: every state's every column at node ``x[l]`` (``dyn``: Dynamics or Block)."""
    return np.broadcast_to(np.asarray(x, dtype=float)[:, None, None], (len(x), len(dyn.world.states), dyn.latent_width))


def _by_column(ll: np.ndarray, dyn) -> np.ndarray:
    """(..., N, C) cell terms (..., N, K) summed over the instruments that read each propensity column."""
    cols = dyn.latent_columns
    return np.stack([ll[..., cols == c].sum(axis=-1) for c in range(dyn.latent_width)], axis=-1)


def _block(model) -> Block:
    """A scenario as a block of one parameter set; a block as itself."""
    return model if isinstance(model, Block) else Block([model])


@dataclass(frozen=True, eq=False)
class _Spread:
    """Histories times propensity nodes, with each history's terms computed once.

    ``paths``: a :class:`State` of P histories with every propensity at 0; ``nodes``: the recorded history
    with the Q quadrature nodes' propensities, ``zero`` with them at 0. The propensities' term enters the
    log-odds additively and reads no adoption (:func:`_separable`), so the log-odds of history ``p`` at
    node ``q`` is history ``p``'s at 0 plus node ``q``'s term, and the rows of the state evaluated
    (history-major, node-minor, P x Q) cost P evaluations of the adoption-reading terms instead of P x Q.
    """

    paths: State
    nodes: State
    zero: State

    def eta(self, block: Block, ti: int) -> np.ndarray:
        """(B, P x Q, N, K) every row's log-odds in year ``ti``, before the layers' gates."""
        t = int(block.world.years[ti])
        P, Q = len(self.paths.adopt_year), len(self.nodes.latent)
        base = block.logit(ti, PastView(self.paths, t))
        base = np.broadcast_to(base, (base.shape[0], P, *base.shape[2:]))
        term = block.logit(ti, PastView(self.nodes, t)) - block.logit(ti, PastView(self.zero, t))
        term = np.broadcast_to(term, (base.shape[0], Q, *base.shape[2:]))  # one row where the spread is 0
        return (base[:, :, None] + term[:, None]).reshape(base.shape[0], P * Q, *base.shape[2:])

    def jacobians(self, tangents, ti: int, cols) -> tuple:
        """The year's tangents (:meth:`Tangents.jacobian`) on the histories, the nodes and the zero propensities:
        the log-odds' derivative at row (p, q) is the histories' at p plus the nodes' at q minus the zero's."""
        return tuple(tangents.jacobian(ti, s, cols) for s in (self.paths, self.nodes, self.zero))

    def rows(self, tangents, jacs, G: np.ndarray) -> np.ndarray:
        """(1, P parameters): the sum over every row and cell of ``G`` (P x Q, N, kc) times the tangents."""
        P, Q = len(self.paths.adopt_year), len(self.nodes.latent)
        G = G.reshape(P, Q, *G.shape[1:])
        by_node = G.sum(axis=0)
        out = tangents.rows(jacs[0], G.sum(axis=1)).sum(axis=0)
        out += tangents.rows(jacs[1], by_node).sum(axis=0) - tangents.rows(jacs[2], by_node).sum(axis=0)
        return out[None]

    def at(self, tangents, jacs, flat: np.ndarray) -> np.ndarray:
        """(P x Q, n, P parameters): the tangents at the cells ``flat``, per row (:meth:`Tangents.at`)."""
        P, Q = len(self.paths.adopt_year), len(self.nodes.latent)
        node = tangents.at(jacs[1], flat, Q) - tangents.at(jacs[2], flat, 1)
        return (tangents.at(jacs[0], flat, P)[:, None] + node[None]).reshape(P * Q, len(flat), -1)


def _separable(block: Block) -> bool:
    """Whether the propensities' terms read no adoption: every mechanism that reads them reads none."""
    return all(m.reads_adoptions() is None for m in block.scenarios[0].dynamics.mechanisms if m.uses_latent)


def _year_terms(block: Block, link, ti: int, S, observed: np.ndarray, cols=slice(None), spread=None):
    """The year's risk sets and (log h, log(1 - h)), each (B, R, N, K): B parameter sets, R histories in ``S``.

    ``cols``: the instruments to return (all by default); the hazards of the others are not computed.
    ``spread``: a :class:`_Spread` of the rows of ``S`` (their log-odds computed per history, not per row).
    """
    view = PastView(S, int(block.world.years[ti]))
    eta_all = block.logit(ti, view) if spread is None else spread.eta(block, ti)
    elig = block.eligible(ti, S) & observed[None]
    N, K = observed.shape
    R = max(len(S.adopt_year), 1 if S.latent is None else len(S.latent))
    risk = np.empty((block.B, R, N, K), dtype=bool)
    eta = np.empty((block.B, R, N, K))
    # The engines' risk sets and gates, layer by layer.
    for li in range(len(block.layers)):
        idx, r, e = block.layer(li, ti, S, eta_all, elig)
        risk[..., idx] = r
        eta[..., idx] = e
    risk, eta = risk[..., cols], eta[..., cols]
    log_h, log_s = link.log_probs(ti, view, eta, cols)
    if log_h.shape != eta.shape:  # a link that reads the history alone (the Bass model's)
        log_h, log_s = np.broadcast_to(log_h, eta.shape), np.broadcast_to(log_s, eta.shape)
    return risk, log_h, log_s


def _years(block: Block, link, hist: History, state, observed: np.ndarray, cols=slice(None), spread=None):
    """The likelihood's one pass over the observation window: each year's ``(ti, t, risk, log h, log(1 - h))``.

    ``state``: the history the mechanisms read, a :class:`State` for every year or a function of the year
    index giving one (the forward sum's sets of hidden adoptions). Every use of the likelihood (the cells of
    one history, the exact sum over hidden years, the sampled histories) accumulates over these years;
    what each does with an observed adoption at a cell not at risk is said where it does it: a history with
    one has probability 0, and the record is refused only when every history considered has one.
    """
    for ti, t in enumerate(block.world.years):
        if t > hist.end:
            return
        S = state(ti) if callable(state) else state
        yield (ti, int(t), *_year_terms(block, link, ti, S, observed, cols, spread))


def _cells(
    model,
    hist: History,
    link=LOGIT,
    latent: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    grad: _Gradient | None = None,
) -> tuple[np.ndarray, int]:
    """(B, L, N, K) log-likelihood contribution of every cell for each of B parameter sets (``model``: a
    scenario or a :class:`~harmsim.model.dynamics.Block`) and L latent settings, and the number of at-risk
    state-instrument-years. ``latent`` (L, N): the states' propensities (None: no latent mechanism).

    Other cells read an interval-censored adoption at its midpoint (``hist.state``): exact only where no
    cell depends on one (see :func:`loglik`). ``mask``: the cells whose possibility is checked (default all).
    ``grad`` (one parameter set): add the gradient of the sum over its cells (``grad.where``) to ``grad.total``.
    """
    block = _block(model)
    checked = np.ones(hist.kind.shape, dtype=bool) if mask is None else mask
    scenario, w = block.scenarios[0], block.world
    S = hist.state if latent is None else replace(hist.state, latent=latent)
    N, K = hist.kind.shape
    L = 1 if latent is None else len(latent)
    ll = np.zeros((block.B, L, N, K))
    int_surv = np.zeros((block.B, L, N, K))  # log prob. of no adoption within the interval so far
    int_risk = np.zeros((N, K), dtype=bool)
    n_obs = 0
    kind, year, lo, hi, seen = hist.kind, hist.year, hist.lo, hist.hi, hist.seen
    observed = (kind != BEFORE) & (kind != UNOBSERVED)
    dated, cens_k, interval = kind == DATED, kind == CENSORED, kind == INTERVAL
    if grad is not None:
        own = np.flatnonzero((interval & grad.where).ravel())
        own_acc = np.zeros((L, len(own), grad.tangents.P))
        row_w = np.ones((L, N, K)) if grad.weights is None else grad.weights
    for ti, t, risk, log_h, log_s in _years(block, link, hist, S, observed):
        dated_open = dated & (year >= t)
        cens = cens_k & (seen >= t)
        before_int = interval & (t < lo)
        in_int = interval & (t >= lo) & (t <= hi)
        n_obs += int((risk[0, 0] & (dated_open | cens | before_int | in_int)).sum())
        adopt_now = dated & (year == t)
        # one history: an observed adoption at a cell not at risk makes the record impossible here
        _check_possible(scenario, (adopt_now & ~risk).any(axis=(0, 1)) & checked, t)
        stays = (dated_open & ~adopt_now) | cens | before_int
        _add_year(ll, risk, log_h, log_s, adopt_now, stays)
        int_surv += np.where(risk & in_int, log_s, 0.0)
        int_risk |= (risk & in_int).any(axis=(0, 1))
        if grad is not None:
            r, h = risk[0], np.exp(log_h[0])
            G = _year_slopes(r, h, adopt_now, stays) * grad.where * row_w
            jac = grad.tangents.jacobian(ti, S, np.arange(K))
            grad.total += grad.tangents.rows(jac, G).sum(axis=0)
            if len(own):
                own_acc += (h * (r & in_int)).reshape(L, -1)[:, own, None] * grad.tangents.at(jac, own, L)
    if (interval & ~int_risk & checked).any():
        i, k = np.argwhere(interval & ~int_risk & checked)[0]
        raise CalibrationError(
            f"the record has {w.states[i]} adopting {w.instruments[k]} within [{lo[i, k]:.0f}, {hi[i, k]:.0f}], "
            f"but it is never at risk then in scenario '{scenario.name}'"
        )
    with np.errstate(divide="ignore"):
        ll += np.where(interval, np.log(-np.expm1(np.minimum(int_surv, -1e-300))), 0.0)
    if grad is not None and len(own):
        factor = _interval_factor(int_surv[0].reshape(L, -1)[:, own]) * row_w.reshape(L, -1)[:, own]
        grad.total += np.einsum("ln,lnp->p", factor, own_acc)
    return ll, n_obs


def _interval_factor(log_stay: np.ndarray) -> np.ndarray:
    """d log(1 - exp(I)) / dI times -1, at I the log probability of staying through an interval: the weight
    of each year's ``h d eta`` in the derivative of an interval-censored cell's term."""
    with np.errstate(divide="ignore", over="ignore"):
        return 1.0 / np.expm1(-np.minimum(log_stay, -1e-300))


def _add_year(ll: np.ndarray, risk, log_h, log_s, adopts: np.ndarray, survives: np.ndarray) -> None:
    """Add a year's terms to ``ll`` in place: log h where a cell at risk adopts, log(1 - h) where it is known
    not to have adopted that year (the one rule of the dated and censored terms)."""
    ll += np.where(adopts & risk, log_h, 0.0)
    ll += np.where(risk & survives, log_s, 0.0)


def _year_slopes(risk, h, adopts: np.ndarray, survives: np.ndarray) -> np.ndarray:
    """d (a year's terms of :func:`_add_year`) / d eta, one parameter set: 1 - h where a cell at risk adopts,
    -h where it is known not to (the logit's d log h / d eta and d log(1 - h) / d eta)."""
    return np.where(adopts & risk, 1.0 - h, 0.0) - np.where(survives & risk, h, 0.0)


def _check_possible(scenario, impossible: np.ndarray, t) -> None:
    if impossible.any():
        w = scenario.world
        i, k = np.argwhere(impossible)[0]
        raise CalibrationError(
            f"the record has {w.states[i]} adopting {w.instruments[k]} in {t}, which scenario "
            f"'{scenario.name}' makes impossible (not a member, instrument not open, or prerequisite missing)"
        )


def _lse(x: np.ndarray, axis: int = 0) -> np.ndarray:
    """log-sum-exp over ``axis`` (all -inf gives -inf), without scipy's per-call overhead."""
    m = x.max(axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return np.log(np.exp(x - m).sum(axis=axis)) + np.squeeze(m, axis=axis)


def _ess(lw: np.ndarray) -> dict:
    wn = np.exp(lw - logsumexp(lw))
    ess = float(1.0 / (wn**2).sum())
    # delta-method s.e. of the log of a mean of weights
    v = np.exp(lw - lw.max())
    se = float(v.std(ddof=1) / (v.mean() * np.sqrt(len(v)))) if len(v) > 1 else float("nan")
    return {"samples": len(lw), "effective samples": round(ess, 1), "log-likelihood Monte Carlo s.e.": round(se, 4)}


@dataclass
class _Gradient:
    """A gradient being accumulated (one parameter set): the tangents, the cells whose terms count, the sum
    (added to in place, shared by every view :meth:`on` gives)."""

    tangents: Tangents
    total: np.ndarray
    where: np.ndarray
    #: (L, N, K) the weight of each latent row's cells (the propensity posteriors that integrate it); None: one row
    weights: np.ndarray | None = None

    def on(self, where: np.ndarray) -> _Gradient:
        return replace(self, where=where)

    def weighted(self, weights: np.ndarray) -> _Gradient:
        return replace(self, weights=weights)

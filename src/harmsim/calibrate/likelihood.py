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

The gradient (:func:`loglik_gradient`) is accumulated inside the same passes:
each at-risk row's d ll / d eta (weighted by the hidden years' posterior in the
forward sum, by the importance weights of sampled paths) times the tangents of
:mod:`harmsim.calibrate.gradient`. With state propensities a second pass weighs
each quadrature node's rows by the node's posterior for the state given the
path (the derivative of the quadrature's log of a weighted sum).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from scipy.special import expit, gammaln, logsumexp, ndtri
from scipy.stats import chi2, qmc

from harmsim.calibrate.gradient import Tangents
from harmsim.data.observations import BEFORE, CENSORED, DATED, INTERVAL, UNOBSERVED, Observations, observations
from harmsim.data.world import NEVER
from harmsim.errors import CalibrationError, ConfigError
from harmsim.model.dynamics import LOGIT, Block
from harmsim.model.mechanisms import PastView, State
from harmsim.model.space import split_name
from harmsim.rng import stream

__all__ = [
    "BEFORE",
    "CENSORED",
    "DATED",
    "INTERVAL",
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
    "shared_posterior_draws",
]


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
    state.adopt_year[0] = obs.imputed()
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


#: the most interval-censored adoptions of one group summed over exactly (2**M patterns); a larger group (the
#: world panel's CETS 197 ratifications known only as "by 2015") is importance-sampled (:func:`_sampled_groups`)
MAX_HIDDEN = 10
#: paths drawn for a group too large to sum exactly: the Monte Carlo error is reported with the fit
GROUP_SAMPLES = 64


def _split(groups) -> tuple[list, list]:
    """(groups summed exactly, groups importance-sampled), by size."""
    return [g for g in groups if len(g[0]) <= MAX_HIDDEN], [g for g in groups if len(g[0]) > MAX_HIDDEN]


def set_proposal(hist: History, scenario) -> None:
    """Draw the paths of large groups' unknown years from ``scenario``'s hazards from now on.

    The importance-sampled likelihood of a large group is a smooth function of
    the parameters because its paths are drawn once, from a *fixed* proposal
    (the scenario the history was made with, or the one set here), and only
    reweighted as the parameters move; a fit re-centres the proposal on its
    estimate and maximizes again, so the paths sit where the likelihood is.

    >>> import harmsim
    >>> sc = harmsim.load_scenario("diffusion_only")
    >>> h = history(sc, sc.record)
    >>> set_proposal(h, sc.with_params({"diffusion.strength": 0.5}))  # an exact path draws nothing: unchanged
    >>> loglik(sc, h) == loglik(sc, history(sc, sc.record))
    True
    """
    hist.cache["proposal"] = scenario
    for key in [k for k in hist.cache if k[0] in ("paths", "backward", "shared mode", "enough")]:
        del hist.cache[key]


def _proposal_paths(hist: History, mask: np.ndarray, groups, samples: int):
    """(cells (M, 2), years (S, M), log q (S,)) for the cells of ``groups``, drawn independently per cell.

    Each cell's year within its interval is drawn from its own hazards under
    the proposal scenario, on the recorded history (other unknown years at
    their midpoints): ``q(t) ~ h(t) prod_{lo <= s < t} (1 - h(s))`` for ``t``
    in ``[lo, hi]``. With state propensities, ``q`` is that law mixed over the
    cell's propensity posterior given the recorded history (quadrature nodes),
    and then mixed (:data:`DEFENSIVE`) into the year's conditional given the
    whole record (:func:`_conditionals`), which also weighs the cells that
    read it. A fixed seed: the same history and proposal give the same paths.
    """
    cells = np.concatenate([g for g, _ in groups])
    key = ("paths", mask.tobytes(), cells.tobytes(), samples)
    if key in hist.cache:
        return hist.cache[key]
    sc = hist.cache["proposal"]
    block = _block(sc)
    observed = (hist.kind != BEFORE) & (hist.kind != UNOBSERVED)
    ci, ck = cells[:, 0], cells[:, 1]
    lo, hi = hist.lo[ci, ck], hist.hi[ci, ck]
    years = block.world.years[block.world.years <= hist.end]
    state, mix = hist.state, np.zeros((1, len(cells)))
    if block.needs_latent:  # the propensity posterior of each cell's state, given the recorded history
        x, wq = quadrature()
        z = _nodes(block, x)
        state = replace(hist.state, latent=z)
        logp = _by_column(_cells(block, hist, LOGIT, z)[0][0], block) + np.log(wq)[:, None, None]
        mix = (logp - logsumexp(logp, axis=0))[:, ci, block.latent_columns[ck]]  # (Q, M)
    log_q = np.full((len(mix), len(years), len(cells)), -np.inf)  # log prob. of adopting in year t, per node
    survived = np.zeros((len(mix), len(cells)))
    for ti, t, risk, log_h, log_s in _years(block, LOGIT, hist, state, observed):
        r = risk[0][:, ci, ck] & (t >= lo) & (t <= hi)
        log_q[:, ti] = np.where(r, survived + log_h[0][:, ci, ck], -np.inf)
        survived += np.where(r, log_s[0][:, ci, ck], 0.0)
    never = ~np.isfinite(log_q).any(axis=(0, 1))
    if never.any():
        i, k = cells[np.flatnonzero(never)[0]]
        w = block.world
        raise CalibrationError(
            f"the record has {w.states[i]} adopting {w.instruments[k]} within [{hist.lo[i, k]:.0f}, "
            f"{hist.hi[i, k]:.0f}], but it is never at risk then in scenario '{sc.name}'"
        )
    log_q = logsumexp(log_q - logsumexp(log_q, axis=1, keepdims=True) + mix[:, None, :], axis=0)  # (T, M)
    if block.needs_latent:
        log_q = _defended(_conditionals(block, hist, mask, groups, years), log_q)
    cdf = np.cumsum(np.exp(log_q), axis=0)
    u = stream(PATTERN_SEED, "interval proposal").random((samples, len(cells)))
    pick = np.minimum((cdf[None, :, :] < u[:, None, :]).sum(axis=1), len(years) - 1)  # (S, M) year index
    out = (cells, years[pick], log_q[pick, np.arange(len(cells))].sum(axis=1))
    hist.cache[key] = out
    return out


#: the share of a latent model's path proposal that draws each year from its own hazards alone (a defensive
#: mixture, Hesterberg 1995): every year in which its cell can adopt keeps proposal mass, so the estimate stays
#: unbiased where the conditionals at the other cells' midpoints give a year none
DEFENSIVE = 0.1


def _conditionals(block: Block, hist: History, mask: np.ndarray, groups, years: np.ndarray) -> np.ndarray:
    """(T, M) log p(year | record) of each hidden cell, the other hidden cells at their midpoints (-inf: none).

    Each is the likelihood itself (:func:`_path_terms`, propensities integrated out) of the record with the cell
    dated at each year of its interval: it weighs what the cell's own hazards do not, the other cells of its
    state that read it (a protocol gated on its treaty) and share its propensity. On the world panel with a
    propensity per state it raises the effective paths from 19 to 228 of 256 at world_baseline's estimates
    (spread 0.5). One evaluation over the cells' interval years, once per proposal.
    """
    cells = np.concatenate([g for g, _ in groups])
    mid = hist.state.adopt_year[0][cells[:, 0], cells[:, 1]]
    choices = _year_choices(hist, cells)
    owner = np.repeat(np.arange(len(cells)), [len(c) for c in choices])
    paths = np.repeat(mid[None, :], len(owner), axis=0)
    paths[np.arange(len(owner)), owner] = np.concatenate(choices)
    ll = _path_terms(block, hist, mask, groups, paths, QUADRATURE_NODES)[0][0]
    out = np.full((len(years), len(cells)), -np.inf)
    out[np.searchsorted(years, paths[np.arange(len(owner)), owner]), owner] = ll
    with np.errstate(invalid="ignore"):
        return out - logsumexp(out, axis=0, keepdims=True)


def _defended(conditional: np.ndarray, own: np.ndarray) -> np.ndarray:
    """(T, M) the proposal: the conditionals mixed with each year's own law by :data:`DEFENSIVE`; a cell whose
    conditionals give no year mass (impossible at the others' midpoints) takes its own law alone."""
    none = ~np.isfinite(conditional).any(axis=0)
    with np.errstate(divide="ignore"):
        mixed = np.logaddexp(np.log1p(-DEFENSIVE) + conditional, np.log(DEFENSIVE) + own)
    return np.where(none[None, :], own, mixed)


def _backward_paths(hist: History, mask: np.ndarray, group, samples: int):
    """(cells (M, 2), years (S, M), log q (S,)): ``samples`` paths of a small group's unknown years drawn from
    their exact conditional law given the record, under the proposal scenario.

    The forward recursion (:func:`_forward`) run once at the proposal records each year's log weights from the
    sets of hidden adoptions before it to the sets after; drawing the final set and then each earlier one
    backwards gives a path with probability ``q`` = p(path | record), a proposal that respects every gate
    between the hidden cells (a protocol not before its treaty). A fixed seed: the same paths every time.
    """
    cells, cols = group
    key = ("backward", mask.tobytes(), cells.tobytes(), samples)
    if key in hist.cache:
        return hist.cache[key]
    steps: list = []
    _forward(_block(hist.cache["proposal"]), hist, mask & cols[None, :], cells, cols, LOGIT, steps)
    M = len(cells)
    g = stream(PATTERN_SEED, f"backward paths {M}")
    final = _lse(steps[-1][2], axis=0)
    years = np.full((samples, M), NEVER, dtype=np.int64)
    log_q = np.zeros(samples)
    bits = 1 << np.arange(M)
    for s in range(samples):
        p = final - _lse(final, axis=0)
        cur = int(np.searchsorted(np.cumsum(np.exp(p)), g.random() * np.exp(p).sum()))
        log_q[s] = p[cur]
        for t, before, step in reversed(steps):
            col = step[:, cur]
            lp = col - _lse(col, axis=0)
            a = min(int(np.searchsorted(np.cumsum(np.exp(lp)), g.random())), len(lp) - 1)
            log_q[s] += lp[a]
            prev = int(before[a])
            years[s, ((cur & ~prev) & bits) != 0] = t
            cur = prev
    out = (cells, years, log_q)
    hist.cache[key] = out
    return out


def _dated_paths(hist: History, cells: np.ndarray, years: np.ndarray):
    """(kind (N, K), year (S, N, K), adoption years (S, N, K)) of the record with the hidden ``cells`` dated at
    each path's ``years`` (S, M): what a sampled path makes of the history."""
    hs, hk = cells[:, 0], cells[:, 1]
    kind = hist.kind.copy()
    kind[hs, hk] = DATED
    yr = np.broadcast_to(hist.year, (len(years), *hist.year.shape)).copy()
    yr[:, hs, hk] = years
    ay = np.broadcast_to(hist.state.adopt_year[0], (len(years), *kind.shape)).copy()
    ay[:, hs, hk] = years
    return kind, yr, ay


def _sampled_groups(block: Block, hist: History, mask: np.ndarray, groups, link, samples: int | None = None, grad=None):
    """((B,) log-likelihood of the groups' instruments, diagnostics of the first set), by importance sampling.

    The terms of a group's instruments read only the group's unknown years (the groups are closed under
    what terms read), so each drawn path makes them fully dated: the estimate is the log of the mean over
    paths of p(record, path) / q(path), unbiased for the likelihood, and smooth in the parameters. Its
    gradient (``grad``) is the paths' gradients weighted by their normalized importance weights.
    """
    cells, years, logq = _proposal_paths(hist, mask, groups, samples or GROUP_SAMPLES)
    cols = np.flatnonzero(np.logical_or.reduce([c for _, c in groups]))
    kind, yr, ay = _dated_paths(hist, cells, years)
    state = replace(hist.state, adopt_year=ay)
    tangents = None if grad is None else grad.tangents
    out = _dated_terms(block, hist, kind, yr, state, mask, cols, link, tangents)  # (B, S, N, kc)
    ll = out if grad is None else out[0]
    lw = ll.sum(axis=(2, 3)) - logq[None, :]  # (B, S)
    if grad is not None:
        w = np.exp(lw[0] - logsumexp(lw[0]))
        grad.total += np.where(w[:, None] > 0, w[:, None] * out[1], 0.0).sum(axis=0)
    return logsumexp(lw, axis=1) - np.log(len(years)), _ess(lw[0])


def _with_sampled(block: Block, hist: History, mask: np.ndarray, groups, link, grad=None) -> np.ndarray:
    """(B,) the likelihood with small groups summed exactly and large ones importance-sampled."""
    small, large = _split(groups)
    sampled_cols = np.logical_or.reduce([c for _, c in large])
    total, _ = _sampled_groups(block, hist, mask, large, link, grad=grad)
    rest = mask & ~sampled_cols[None, :]
    if small:
        return total + _exact(block, hist, rest, small, link, grad=grad)
    if rest.any():
        ll, _ = _cells(block, hist, link, mask=rest, grad=None if grad is None else grad.on(rest))
        total = total + np.where(rest, ll[:, 0], 0.0).sum(axis=(1, 2))
    return total


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


def hidden_groups(scenario, hist: History, mask: np.ndarray | None = None, link=LOGIT) -> list[int]:
    """The sizes of the groups of interval-censored adoptions in ``mask`` whose unknown years other cells' terms
    read (summed over or sampled by :func:`loglik`); empty when there are none. Parameter-free and cached: it
    evaluates no likelihood.

    >>> import harmsim
    >>> sc = harmsim.load_scenario("baseline")
    >>> hidden_groups(sc, history(sc, sc.record))
    [6]
    """
    m = np.ones(hist.kind.shape, dtype=bool) if mask is None else mask
    return [len(g) for g, _ in _hidden(scenario, hist, m, link)]


def _reads(scenario, link) -> np.ndarray | None:
    """(K, K) bool: instrument k's terms read instrument j's adoptions, under any mechanism or the link."""
    reads = getattr(link, "reads_adoptions", None)
    parts = [r for r in (scenario.dynamics.reads_adoptions, reads() if reads else None) if r is not None]
    return np.logical_or.reduce(parts) if parts else None


def _hidden(scenario, hist: History, mask: np.ndarray, link) -> list[tuple[np.ndarray, np.ndarray]]:
    """Groups of interval-censored cells in ``mask`` whose unknown years other cells' terms read.

    Each group: (M, 2) cells and the (K,) instruments whose terms read them
    (with their own). Groups touch disjoint instruments, so their sums are
    separate; every interval-censored cell of a group's instruments is in the
    group (its own terms may read the others); a cell of an instrument no
    group touches is exact by itself.
    """
    cells = np.argwhere((hist.kind == INTERVAL) & mask)
    if not len(cells):
        return []
    reads = _reads(scenario, link)
    if reads is None:
        return []
    key = ("groups", mask.tobytes(), reads.tobytes())
    if key not in hist.cache:
        hist.cache[key] = _groups(scenario, cells, reads)
    return hist.cache[key]


def _groups(scenario, cells: np.ndarray, reads: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The connected groups of :func:`_hidden`."""
    K = reads.shape[0]
    hidden_k = np.unique(cells[:, 1])
    hidden_k = hidden_k[reads[:, hidden_k].any(axis=0)]  # instruments some term reads
    # instruments linked through a reader, gathered into connected groups
    link_kk = np.eye(K, dtype=bool)
    link_kk[:, hidden_k] |= reads[:, hidden_k]
    link_kk |= link_kk.T
    groups, seen = [], np.zeros(K, dtype=bool)
    for k in hidden_k:
        if seen[k]:
            continue
        cols = np.zeros(K, dtype=bool)
        cols[k] = True
        while True:
            grown = cols | link_kk[cols].any(axis=0)
            if (grown == cols).all():
                break
            cols = grown
        seen |= cols
        # every unknown year in the group's instruments: an unread one's own terms may read the others
        g = cells[np.isin(cells[:, 1], np.flatnonzero(cols))]
        groups.append((g, cols))
    return groups


def _exact(block: Block, hist: History, mask: np.ndarray, groups, link, steps=None, grad=None) -> np.ndarray:
    """(B,) sum of the groups' forward recursions plus the cells outside every group (exact by themselves).

    ``steps``: a dict to which each group's recursion steps are added (see :func:`_forward`); ``grad``: add
    the gradient (one parameter set)."""
    touched = np.logical_or.reduce([cols for _, cols in groups])
    outside = mask & ~touched[None, :]
    # One parameter set: the outside cells ride along with the first group (one pass over the years); a block
    # evaluates them apart, in one pass without the adoption patterns' rows (cheaper per set).
    along = block.B == 1 and outside.any()
    total = np.zeros(block.B)
    for j, (g, cols) in enumerate(groups):
        if j == 0 and along:
            cols = cols | ~touched
        total += _forward(
            block,
            hist,
            mask & cols[None, :],
            g,
            cols,
            link,
            steps.setdefault(j, []) if steps is not None else None,
            grad,
        )
    if outside.any() and not along:  # propensities, if any, held at 0 as in the recursion
        z = _nodes(block, [0.0]) if block.needs_latent else None
        ll, _ = _cells(block, hist, link, z, mask=outside, grad=None if grad is None else grad.on(outside))
        total += np.where(outside, ll[:, 0], 0.0).sum(axis=(1, 2))
    return total


def _plan(scenario, hist: History, mask: np.ndarray, hidden: np.ndarray, cols: np.ndarray) -> dict:
    """What :func:`_forward` needs that does not depend on the parameters, computed once per history.

    Cells are indexed flat over the group's instruments ``cols`` (N * kc).
    """
    w = scenario.world
    key = ("plan", mask.tobytes(), hidden.tobytes(), cols.tobytes(), w.start, w.end, w.requires.tobytes())
    if key in hist.cache:
        return hist.cache[key]
    kind, year, seen = hist.kind, hist.year, hist.seen
    hs, hk = hidden[:, 0], hidden[:, 1]
    lo, hi = hist.lo[hs, hk], hist.hi[hs, hk]
    M = len(hidden)
    P = 1 << M
    code = np.arange(P)
    bits = ((code[:, None] >> np.arange(M)) & 1).astype(bool)  # (P, M): pattern -> adopted cells
    weight = 1 << np.arange(M)
    pairs = bool(np.isin(hk, w.requires[w.requires >= 0]).any())
    base = hist.state.adopt_year[0].copy()
    base[hs, hk] = NEVER
    dated, cens_k = (kind == DATED) & mask, (kind == CENSORED) & mask
    own = mask.copy()
    own[hs, hk] = False
    ivl = own & (kind == INTERVAL)  # interval-censored cells outside the sum: exact by themselves
    years = []
    for ti, t in enumerate(w.years):
        if t > hist.end:
            break
        # patterns possible before t: every cell whose interval ended adopted, none whose interval has not begun
        before = code[((code & ~((lo <= t - 1) @ weight)) == 0) & ((((hi <= t - 1) @ weight) & ~code) == 0)]
        window = (lo <= t) & (t <= hi)
        due = ((hi <= t) @ weight) & ~before  # (A,) cells that must adopt now
        a, b = before[:, None], code[None, :]
        ok = ((a & ~b) == 0) & ((b & ~a & ~(window @ weight)) == 0) & ((due[:, None] & ~b) == 0)  # (A, P)
        y = {"t": int(t), "ti": ti, "before": before, "window": window}
        y["quiet"] = len(before) == 1 and not window.any() and not due.any()
        y["now_flat"] = np.flatnonzero((dated & (year == t))[:, cols])
        stay = own & ((dated & (year > t)) | (cens_k & (seen >= t)) | (ivl & (t < hist.lo)))
        y["stay_flat"] = np.flatnonzero(stay[:, cols])
        y["interval_flat"] = np.flatnonzero((ivl & (hist.lo <= t) & (t <= hist.hi))[:, cols])
        if pairs:
            ia, ib = np.nonzero(ok)
            y.update(ia=ia, ib=ib, C=bits[ib] & ~bits[before[ia]])
            rows, adopting = before[ia], y["C"]
        else:
            y.update(ok=ok, free=b & ~a)
            rows, adopting = before, np.zeros((len(before), M), dtype=bool)
        y["A"] = bits[rows]
        ay = np.broadcast_to(base, (len(rows), *base.shape)).copy()
        ay[:, hs, hk] = np.where(y["A"], t - 1, np.where(adopting, t, NEVER))
        y["ay"] = ay
        years.append(y)
    plan = {"lo": lo, "hi": hi, "P": P, "pairs": pairs, "weight": weight, "years": years, "intervals": ivl[:, cols]}
    sub = np.flatnonzero(cols)
    plan["hidden_flat"] = hs * len(sub) + np.searchsorted(sub, hk)
    plan["cols"] = sub
    plan.update(bitsT=bits.T.astype(float), observed=(kind != BEFORE) & (kind != UNOBSERVED))
    hist.cache[key] = plan
    return plan


def _lse(x: np.ndarray, axis: int = 0) -> np.ndarray:
    """log-sum-exp over ``axis`` (all -inf gives -inf), without scipy's per-call overhead."""
    m = x.max(axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return np.log(np.exp(x - m).sum(axis=axis)) + np.squeeze(m, axis=axis)


def _forward(
    block: Block,
    hist: History,
    mask: np.ndarray,
    hidden: np.ndarray,
    cols: np.ndarray,
    link=LOGIT,
    steps=None,
    grad=None,
) -> np.ndarray:
    """(B,) exact log-likelihood of the cells in ``mask`` when the interval-censored cells ``hidden`` matter to
    others, for each parameter set of ``block``; ``mask`` holds cells of the group's instruments ``cols`` only.

    The unknown years are summed over by a forward recursion on the set of
    hidden cells adopted before each year (2**M patterns). Given that set and
    the set adopting in the year, every term of the year is known, because
    mechanisms read the past only as "adopted before t" or "adopted this year"
    (:class:`~harmsim.model.mechanisms.PastView`; the prerequisite gate compares
    years with t). When no hidden cell is another's prerequisite, the year's
    terms depend on the earlier set only, and one evaluation per set serves;
    otherwise each (before, after) pair is evaluated. A hidden cell adopts
    within its interval, at the latest in its last year. ``steps``: a list
    to which each year's (year, sets before, log weights to the sets after) is
    appended, for drawing patterns backwards (a block of one). States'
    propensities, if any, are held at 0.

    ``grad`` (a block of one): add the gradient, the expectation of the
    complete histories' gradients under the patterns' posterior given the
    record, which a backward pass over the recorded steps gives
    (:func:`_backward_gradient`).
    """
    scenario = block.scenarios[0]
    plan = _plan(scenario, hist, mask, hidden, cols)
    lo, hi = plan["lo"], plan["hi"]
    z = None if not block.needs_latent else _nodes(block, [0.0])
    B, NK = block.B, hist.kind.shape[0] * len(plan["cols"])
    alpha = np.full((B, plan["P"]), -np.inf)
    alpha[:, 0] = 0.0
    int_surv = np.zeros((B, NK))  # unread interval-censored cells: log prob. of no adoption so far
    hid = plan["hidden_flat"]
    years = plan["years"]

    def sets_before(ti):  # the history of every set of hidden adoptions before the year
        return replace(hist.state, adopt_year=years[ti]["ay"], latent=z)

    if grad is not None:
        tan, record = grad.tangents, []  # per year: what the backward pass needs
        own_acc = np.zeros((NK, tan.P))
    for ti, t, risk, log_h, log_s in _years(block, link, hist, sets_before, plan["observed"], plan["cols"]):
        y = years[ti]
        before, A = y["before"], y["A"]
        R = risk.shape[1]
        risk, log_h, log_s = risk.reshape(B, R, NK), log_h.reshape(B, R, NK), log_s.reshape(B, R, NK)
        now, stay, ivl = y["now_flat"], y["stay_flat"], y["interval_flat"]
        if grad is not None:
            jac = tan.jacobian(ti, sets_before(ti), plan["cols"])
            h = np.exp(log_h[0])  # (R, NK)
            G = np.zeros((R, NK))  # d (the year's terms every transition from a row shares) / d eta
            G[:, now] = 1.0 - h[:, now]
            G[:, stay] = -h[:, stay] * risk[0][:, stay]
            if len(ivl):  # cells riding along read no hidden cell: every row has their terms, row 0 serves; a gate's
                # tangent has a row per set, so broadcast to R rows before taking it
                own_acc[ivl] += (h[0, ivl] * risk[0, 0, ivl])[:, None] * tan.at(jac, ivl, R)[0]
        at_risk = risk[:, :, now]
        fixed = log_h[:, :, now].sum(-1) + (log_s[:, :, stay] * risk[:, :, stay]).sum(-1)  # (B, R)
        if not at_risk.all():  # a dated adoption some sets rule out (before its treaty): those sets have probability
            # 0; the record is refused only if every set rules it out
            impossible = np.zeros(hist.kind.shape, dtype=bool)
            impossible[:, plan["cols"]] = np.isin(np.arange(NK), now[(~at_risk).all(axis=1).any(axis=0)]).reshape(
                -1, len(plan["cols"])
            )
            _check_possible(scenario, impossible, t)
            fixed[~at_risk.all(-1)] = -np.inf
        int_surv[:, ivl] += log_s[:, 0, ivl] * risk[:, 0, ivl]
        r = risk[:, :, hid] & ~A  # hidden cells at risk, not yet adopted
        lh, ls = log_h[:, :, hid], log_s[:, :, hid]
        if y["quiet"]:  # one pattern and no interval open: nothing moves
            fixed += np.where(r, ls, 0.0).sum(-1)
            alpha[:, before] += fixed
            if steps is not None:
                step = np.full((1, plan["P"]), -np.inf)
                step[0, before] = alpha[0, before]
                steps.append((t, before, step))
            if grad is not None:
                G[:, hid] -= np.where(r[0], h[:, hid], 0.0)
                record.append(("quiet", before, tan.rows(jac, G)))
            continue
        if plan["pairs"]:
            C, ia, ib = y["C"], y["ia"], y["ib"]
            good = ~(C & ~r).any(-1)
            val = fixed + np.where(C, lh, np.where(r & (t <= hi), ls, 0.0)).sum(-1)
            step = np.full((B, len(before), plan["P"]), -np.inf)
            step[:, ia, ib] = np.where(good, alpha[:, before[ia]] + val, -np.inf)
            if grad is not None:  # each (before, after) pair is its own row
                G[:, hid] = np.where(C, 1.0 - h[:, hid], np.where(r[0] & (t <= hi), -h[:, hid], 0.0))
                record.append(("pairs", before, step[0], tan.rows(jac, G), ia, ib))
        else:
            cand = r & y["window"]
            fixed += np.where(r & (t < lo) | cand, ls, 0.0).sum(-1)
            # after = before + C: each cell of C trades its log(1 - h) for log h
            move = np.where(cand, lh - ls, 0.0) @ plan["bitsT"]
            ok = y["ok"] & ((y["free"] & ~(cand @ plan["weight"])[..., None]) == 0)
            step = np.where(ok, (alpha[:, before] + fixed)[..., None] + move, -np.inf)
            if grad is not None:  # a cell that adopts adds d(log h - log(1 - h)) / d eta = 1 times its tangent
                G[:, hid] -= np.where(r[0] & (t < lo) | cand[0], h[:, hid], 0.0)
                moves = tan.at(jac, hid, R) * cand[0][..., None]
                record.append(("sets", before, step[0], tan.rows(jac, G), moves))
        if steps is not None:
            steps.append((t, before, step[0]))
        alpha = _lse(step, axis=1)
        if grad is not None:
            record[-1] += (alpha[0].copy(),)  # quiet years add to alpha in place
    with np.errstate(divide="ignore"):
        own = np.log(-np.expm1(np.minimum(int_surv, -1e-300)))[:, plan["intervals"].ravel()].sum(-1)
    if grad is not None:
        grad.total += _backward_gradient(record, alpha[0], plan)
        inside = plan["intervals"].ravel()
        grad.total += _interval_factor(int_surv[0, inside]) @ own_acc[inside]
    return _lse(alpha, axis=1) + own


def _backward_gradient(record: list, final: np.ndarray, plan: dict) -> np.ndarray:
    """(P,) the gradient of :func:`_forward`'s log-likelihood: each year's terms' gradients weighted by the
    posterior of the (before, after) sets of hidden adoptions given the whole record.

    The posterior of the last set is proportional to exp(alpha); going back, a transition's posterior is the
    later set's times exp(step - alpha after), the earlier set's the sum of its transitions'.
    """
    post = np.exp(final - _lse(final, axis=0))
    total = 0.0
    for entry in reversed(record):
        kind, before = entry[0], entry[1]
        if kind == "quiet":
            total += post[before] @ entry[2]
            continue
        step, d_rows, after = entry[2], entry[3], entry[-1]
        with np.errstate(invalid="ignore"):
            cond = np.exp(step - after)  # p(before | after), (A, P) or per pair
        if kind == "pairs":
            ia, ib = entry[4], entry[5]
            m = np.nan_to_num(cond[ia, ib]) * post[ib]
            total += m @ d_rows
            post = np.zeros_like(post)
            np.add.at(post, before[ia], m)
        else:
            m = np.where(post > 0, np.nan_to_num(cond) * post, 0.0)  # (A, P)
            ma = m.sum(axis=1)
            total += ma @ d_rows + np.einsum("am,amp->p", m @ plan["bitsT"].T, entry[4])
            post = np.zeros_like(post)
            post[before] = ma
    return total


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


#: A latent model's dependent interval-censored years are summed over exactly, pattern by pattern, when they
#: have at most this many joint year patterns (the issue's three-state case: 6); more are importance-sampled
MAX_PATTERNS = 4096
#: Paths first drawn for a latent model whose dependent interval-censored years have more patterns than
#: MAX_PATTERNS: doubled, to at most MAX_PATTERN_SAMPLES, until the Monte Carlo standard error of the
#: log-likelihood at the proposal's parameters is at most PATTERN_SE (:func:`_enough_paths`)
PATTERN_SAMPLES = 64
PATTERN_SE = 0.05
MAX_PATTERN_SAMPLES = 1024
#: The fixed seed of the path draws: the same record and proposal give the same estimate.
PATTERN_SEED = 20150421
#: Rows (parameter sets x paths x quadrature nodes) evaluated at once: bounds the memory of a latent block
_ROWS = 12_288


def _year_choices(hist: History, cells: np.ndarray) -> list[np.ndarray]:
    """Each cell's possible adoption years: its interval, inside the observation window."""
    return [np.arange(int(hist.lo[i, k]), int(min(hist.hi[i, k], hist.end)) + 1) for i, k in cells]


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


def _path_setup(block: Block, hist: History, mask: np.ndarray, groups, nodes: int):
    """What every pass over sampled or enumerated paths shares: the hidden cells, the groups' instruments
    (an index array), the nodes' weights and propensities (w, z), the cells outside the groups and the chunk
    of paths per pass."""
    cells = np.concatenate([g for g, _ in groups])
    cols = np.flatnonzero(np.logical_or.reduce([c for _, c in groups]))
    x, w = quadrature(nodes)
    z = _nodes(block, x)
    others = mask.copy()
    others[:, cols] = False
    return cells, cols, w, z, others, max(1, _ROWS // (len(x) * block.B))


def _path_rows(block: Block, hist: History, cells, part: np.ndarray, z: np.ndarray, separable: bool):
    """(kind, year, state, spread) of the histories ``part`` (S, M) times the nodes ``z``: S x Q rows."""
    Q, N, C = z.shape
    S = len(part)
    kind, yr, ay = _dated_paths(hist, cells, part)
    state = replace(hist.state, adopt_year=np.repeat(ay, Q, axis=0), latent=np.tile(z, (S, 1, 1)))
    zero = replace(hist.state, latent=np.zeros((1, N, C)))
    spread = _Spread(replace(zero, adopt_year=ay), replace(hist.state, latent=z), zero) if separable else None
    return kind, np.repeat(yr, Q, axis=0), state, spread


def _path_terms(block: Block, hist: History, mask: np.ndarray, groups, years: np.ndarray, nodes: int, keep=False):
    """((B, S) log p(record with the groups' cells adopted in each path's ``years``), propensities integrated out
    per state; with ``keep``, (S, Q, N, C) each state's log terms per node of the first parameter set, else None).

    Only the groups' instruments read the paths (the groups are closed under what terms read): their terms are
    evaluated per path, in chunks of at most :data:`_ROWS` rows (parameter sets x paths x nodes), the other
    instruments' once per node; each state's columns are summed before its propensity is integrated out.
    """
    cells, cols, w, z, others, chunk = _path_setup(block, hist, mask, groups, nodes)
    Q, N, C = z.shape
    lat = block.latent_columns
    ll, _ = _cells(block, hist, LOGIT, z, mask=others)
    fixed = _by_column(np.where(others, ll, 0.0), block)  # (B, Q, N, C)
    separable = _separable(block)
    out, kept = [], []
    for s0 in range(0, len(years), chunk):
        part = years[s0 : s0 + chunk]
        kind, yr, state, spread = _path_rows(block, hist, cells, part, z, separable)
        g = _dated_terms(block, hist, kind, yr, state, mask, cols, spread=spread)
        g = np.stack([g[..., lat[cols] == c].sum(axis=-1) for c in range(C)], axis=-1)
        g = g.reshape(block.B, len(part), Q, N, C) + fixed[:, None] + np.log(w)[None, None, :, None, None]
        out.append(logsumexp(g, axis=2).sum(axis=(2, 3)))
        if keep:
            kept.append(g[0])
    return np.concatenate(out, axis=1), (np.concatenate(kept) if keep else None)


def _path_gradient(block: Block, hist: History, mask, groups, years: np.ndarray, nodes: int, post, grad) -> None:
    """Add to ``grad`` the gradient of the log-likelihood over the paths ``years``: every row's d ll / d eta
    weighted by ``post`` (S, Q, N, C), the path's share times the node's posterior for the state given it (the
    derivative of a log of sums of exponentials), the cells outside the groups once per node."""
    cells, cols, _, z, others, chunk = _path_setup(block, hist, mask, groups, nodes)
    Q = len(z)
    lat = block.latent_columns
    node_w = post.sum(axis=0)[..., lat]  # (Q, N, K): the cells outside the groups, summed over the paths
    _cells(block, hist, LOGIT, z, mask=others, grad=grad.on(others).weighted(node_w))
    separable = _separable(block)
    for s0 in range(0, len(years), chunk):
        part = years[s0 : s0 + chunk]
        kind, yr, state, spread = _path_rows(block, hist, cells, part, z, separable)
        row_w = post[s0 : s0 + len(part)][..., lat[cols]].reshape(len(part) * Q, -1, len(cols))
        _, rows = _dated_terms(block, hist, kind, yr, state, mask, cols, tangents=grad.tangents, spread=spread,
                               weights=row_w)  # fmt: skip
        grad.total += rows.sum(axis=0)


def _ess(lw: np.ndarray) -> dict:
    wn = np.exp(lw - logsumexp(lw))
    ess = float(1.0 / (wn**2).sum())
    # delta-method s.e. of the log of a mean of weights
    v = np.exp(lw - lw.max())
    se = float(v.std(ddof=1) / (v.mean() * np.sqrt(len(v)))) if len(v) > 1 else float("nan")
    return {"samples": len(lw), "effective samples": round(ess, 1), "log-likelihood Monte Carlo s.e.": round(se, 4)}


def _dated_terms(
    block: Block,
    hist: History,
    kind,
    year,
    state,
    mask,
    cols=slice(None),
    link=LOGIT,
    tangents=None,
    spread=None,
    weights=None,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """(B, R, N, kc) log-likelihood of histories dated at ``year`` (R, N, K), one per row of ``state``, for the
    instruments ``cols`` (all by default); a path with an adoption where its cell is not at risk has
    probability 0.

    Interval-censored cells left in ``kind`` (no other cell reads them) contribute their own interval term.
    With ``tangents`` (:class:`~harmsim.calibrate.gradient.Tangents`, one parameter set, ``cols`` an index
    array): also (R, P), the gradient of each history's log-likelihood over its cells in ``mask``.
    ``spread``: the rows of ``state`` as histories times propensity nodes (:class:`_Spread`); with
    ``tangents``, the gradient is then (1, P), the rows' sum. ``weights`` (R, N, kc): each row's cells' weight
    in the gradient (default 1).
    """
    observed = (kind != BEFORE) & (kind != UNOBSERVED)
    kind, year, mask = kind[:, cols], year[..., cols], mask[:, cols]
    seen, lo, hi = hist.seen[:, cols], hist.lo[:, cols], hist.hi[:, cols]
    dated = ((kind == DATED) & mask)[None]
    cens = (kind == CENSORED) & mask
    interval = (kind == INTERVAL) & mask
    ll = np.zeros((block.B, len(year), *kind.shape))
    int_surv = np.zeros_like(ll)
    if tangents is not None:
        R = len(year)
        rows = np.zeros((R if spread is None else 1, tangents.P))
        own = np.flatnonzero(interval.ravel())
        own_acc = np.zeros((R, len(own), tangents.P))
        row_w = 1.0 if weights is None else weights
    for ti, t, risk, log_h, log_s in _years(block, link, hist, state, observed, cols, spread):
        now = dated & (year == t)
        stay = (dated & (year > t)) | (cens & (seen >= t))[None] | (interval & (t < lo))[None]
        _add_year(ll, risk, log_h, log_s, now, stay)
        if interval.any():
            int_surv += np.where(risk & (interval & (t >= lo) & (t <= hi)), log_s, 0.0)
        ll = np.where(now & ~risk, -np.inf, ll)  # a path with an impossible adoption: probability 0
        if tangents is not None:
            r, h = risk[0], np.exp(log_h[0])
            G = _year_slopes(r, h, now, stay) * row_w
            if spread is None:
                jac = tangents.jacobian(ti, state, cols)
                rows += tangents.rows(jac, G)
            else:
                jac = spread.jacobians(tangents, ti, cols)
                rows += spread.rows(tangents, jac, G)
            if len(own):
                w = (h * (r & (interval & (t >= lo) & (t <= hi)))).reshape(R, -1)[:, own]
                at = tangents.at(jac, own, R) if spread is None else spread.at(tangents, jac, own)
                own_acc += w[..., None] * at
    if interval.any():
        with np.errstate(divide="ignore"):
            ll += np.where(interval, np.log(-np.expm1(np.minimum(int_surv, -1e-300))), 0.0)
    if tangents is None:
        return ll
    if len(own):
        factor = _interval_factor(int_surv[0].reshape(R, -1)[:, own])
        if weights is not None:
            factor = factor * weights.reshape(R, -1)[:, own]
        acc = np.einsum("rn,rnp->rp", factor, own_acc)
        rows += acc if spread is None else acc.sum(axis=0, keepdims=True)
    return ll, rows


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


# Organization intercepts: crossed random effects, integrated out by importance sampling ----------------------
#: importance draws of the organizations' intercepts per evaluation (their integral has no closed form: a state in
#: several organizations couples them); the Monte Carlo error is reported with the fit
SHARED_DRAWS = 128
#: degrees of freedom of the Student-t proposal around the posterior mode (heavier tails than the posterior)
SHARED_DF = 4


@dataclass(frozen=True)
class _Rows:
    """The at-risk years of some cells as flat rows, for adding the organizations' intercepts to their log-odds.

    ``eta`` (B, P, n): log-odds without the intercepts, per parameter set and path; ``adopt``, ``stay``,
    ``within`` (B, P, n) bool: the row's term is log h, log(1 - h), or part of an interval's survival;
    ``cell`` (n,): the row's interval cell (an index into the intervals, -1 outside); ``weights`` (n, O): the
    row's state's membership weights that year; ``intervals``: how many interval cells; ``ti``, ``flat`` (n,):
    the row's year index and its cell among the rows' states and instruments (``state * kc + column``), where
    the gradient finds its tangents.
    """

    eta: np.ndarray
    adopt: np.ndarray
    stay: np.ndarray
    within: np.ndarray
    cell: np.ndarray
    weights: np.ndarray
    intervals: int
    ti: np.ndarray
    flat: np.ndarray
    #: the held proposal's rows only (their masks are the centre's for every parameter set): :func:`_live`'s
    #: entries, kept between evaluations
    live: dict | None = field(default=None, compare=False)

    def of(self, b: int) -> _Rows:
        """The rows of parameter set ``b`` alone (a leading axis of 1)."""
        pick = slice(b, b + 1)
        return replace(self, eta=self.eta[pick], adopt=self.adopt[pick], stay=self.stay[pick], within=self.within[pick])


def _shared_mechanism(block: Block):
    return next(m for m in block.template.mechanisms if m.uses_shared)


def _shared_sd(block: Block) -> np.ndarray:
    """(B,) each parameter set's spread of the organization intercepts."""
    name = _shared_mechanism(block).name
    return np.array([float(sc.mechanism(name).sd) for sc in block.scenarios])


def _shared_rows(block: Block, hist: History, state, kind, year, mask, cols=slice(None), impossible="refuse"):
    """:class:`_Rows` of the cells in ``mask`` of instruments ``cols``, for each of the P histories of ``state``
    (dated at ``year`` (P, N, K)), with the intercepts at 0 (``state.shared``).

    ``impossible``: an adoption where its cell is not at risk is refused (``"refuse"``, one recorded history) or
    gives its path probability 0 (``"zero"``, through an ``adopt`` row with log-odds -inf).
    """
    weights = _shared_mechanism(block).weights  # (T, N, O)
    observed = (kind != BEFORE) & (kind != UNOBSERVED)
    kind_c, year_c, mask_c = kind[:, cols], year[..., cols], mask[:, cols]
    seen, lo, hi = hist.seen[:, cols], hist.lo[:, cols], hist.hi[:, cols]
    dated = (kind_c == DATED) & mask_c
    cens = (kind_c == CENSORED) & mask_c
    interval = (kind_c == INTERVAL) & mask_c
    cell_id = np.full(interval.shape, -1)
    cell_id[interval] = np.arange(int(interval.sum()))
    etas, adopts, stays, withins, cells, ws, tis, flats = [], [], [], [], [], [], [], []
    kc = kind_c.shape[1]
    for ti, t, risk, log_h, log_s in _years(block, LOGIT, hist, state, observed, cols):
        now = dated & (year_c == t)
        stay = (dated & (year_c > t)) | (cens & (seen >= t)) | (interval & (t < lo))
        within = interval & (t >= lo) & (t <= hi)
        if impossible == "refuse":
            full = np.zeros(kind.shape, dtype=bool)
            full[:, cols] = (now & ~risk).any(axis=(0, 1))
            _check_possible(block.scenarios[0], full, t)
        take = now | stay | within
        take = take.any(axis=0) if take.ndim == 3 else take  # (N, kc), over paths
        if not take.any():
            continue
        i, k = np.nonzero(take)
        r = risk[..., i, k]
        with np.errstate(invalid="ignore"):
            eta = np.where(r, log_h[..., i, k] - log_s[..., i, k], 0.0)
        a = np.broadcast_to(now[..., i, k], r.shape)
        eta = np.where(a & ~r, -np.inf, eta)  # an adoption where the cell is not at risk: probability 0
        etas.append(eta)
        adopts.append(a)
        stays.append(np.broadcast_to(stay[..., i, k], r.shape) & r)
        withins.append(np.broadcast_to(within[i, k], r.shape) & r)
        cells.append(cell_id[i, k])
        ws.append(weights[ti, i])
        tis.append(np.full(len(i), ti))
        flats.append(i * kc + k)
    if not etas:
        z = np.zeros((block.B, len(year) if year.ndim == 3 else 1, 0))
        none, empty = z.astype(bool), np.zeros(0, dtype=np.int64)
        return _Rows(z, none, none, none, empty, np.zeros((0, weights.shape[2])), 0, empty, empty)
    return _Rows(
        np.concatenate(etas, axis=-1),
        np.concatenate(adopts, axis=-1),
        np.concatenate(stays, axis=-1),
        np.concatenate(withins, axis=-1),
        np.concatenate(cells),
        np.concatenate(ws),
        int(interval.sum()),
        np.concatenate(tis),
        np.concatenate(flats),
    )


def _shared_terms(rows: _Rows, sd: np.ndarray, V: np.ndarray, active: np.ndarray, paired: bool = False):
    """Log-likelihood of ``rows`` with each draw's intercepts ``sd * weights @ V[j]`` added to their log-odds
    (``V`` (J, O'), the ``active`` organizations'): (B, P, J) for every path and draw, or (B, J) with
    ``paired`` (path j with draw j, P = J).

    Rows of states in no active organization do not move with the draws: they are evaluated once.
    """
    B, P, n = rows.eta.shape
    J = len(V)
    out = np.zeros((B, J) if paired else (B, P, J))
    if not n:
        return out
    A = rows.weights[:, active]
    moves = (A != 0).any(axis=1) | (rows.cell >= 0)
    still = ~moves
    if still.any():  # (B, P): the same for every draw
        e = rows.eta[..., still]
        log_s = -np.logaddexp(0.0, e)
        log_h = np.where(np.isneginf(e), -np.inf, e + log_s)
        fixed = np.where(rows.adopt[..., still], log_h, 0.0).sum(-1) + np.where(rows.stay[..., still], log_s, 0.0).sum(
            -1
        )
        out += fixed if paired else fixed[..., None]
    idx = np.flatnonzero(moves)
    if not len(idx):
        return out
    cell = rows.cell[idx]
    for b in range(B):
        # only the rows at risk on each path (an eighth of the paths' rows on the world panel) are evaluated
        lv = _live(rows, b, idx)
        col = (lambda x: x) if paired else (lambda x: x[:, None])  # (L,) own draw, or (L, J) every draw
        e = col(lv.eta) + sd[b] * _draw_shift(A[idx], V, lv, paired)
        log_s = -np.logaddexp(0.0, e)  # log(1 - h)
        log_h = np.where(np.isneginf(e), -np.inf, e + log_s)
        val = np.where(col(lv.adopt), log_h, 0.0) + np.where(col(lv.stay), log_s, 0.0)
        out[b] += _group_sum(lv.first, val, J if paired else P)
        if rows.intervals:  # each interval's survival over its rows, per path (and draw)
            ni, w = rows.intervals, lv.within
            surv = _group_sum(lv.first[w] * ni + cell[lv.row[w]], log_s[w], (J if paired else P) * ni)
            surv = surv.reshape(J, ni) if paired else surv.reshape(P, ni, J)
            with np.errstate(divide="ignore"):
                out[b] += np.log(-np.expm1(np.minimum(surv, -1e-300))).sum(axis=1)
    return out


@dataclass(frozen=True)
class _LiveRows:
    """The entries of a block of rows (P paths or J paired draws, n' rows) that carry a term: ``first`` (L,)
    their path, ``row`` (L,) their row among the n', and their ``eta``, ``adopt``, ``stay``, ``within`` (L,)."""

    first: np.ndarray
    row: np.ndarray
    eta: np.ndarray
    adopt: np.ndarray
    stay: np.ndarray
    within: np.ndarray


def _live(rows: _Rows, b: int, idx: np.ndarray | None = None) -> _LiveRows:
    """The entries of parameter set ``b``'s rows (those in ``idx``, or all) that are an adoption, a year
    without one or part of an interval: the others add nothing to the likelihood or its gradient."""
    cols = slice(None) if idx is None else idx
    key = None if rows.live is None else (b, b"" if idx is None else idx.tobytes())
    if key is not None and key in rows.live:
        first, row, adopt, stay, within = rows.live[key]
    else:
        adopt, stay, within = rows.adopt[b][:, cols], rows.stay[b][:, cols], rows.within[b][:, cols]
        first, row = np.nonzero(adopt | stay | within)
        adopt, stay, within = adopt[first, row], stay[first, row], within[first, row]
        if key is not None:
            rows.live[key] = first, row, adopt, stay, within
    return _LiveRows(first, row, rows.eta[b][:, cols][first, row], adopt, stay, within)


def _draw_shift(A: np.ndarray, V: np.ndarray, lv: _LiveRows, paired: bool) -> np.ndarray:
    """Each live entry's ``weights @ v_j`` (``A`` (n', O') the rows' weights): (L,) for its own draw
    (``paired``: path j with draw j), else (L, J) for every draw."""
    if paired:
        return np.einsum("lo,lo->l", A[lv.row], V[lv.first])
    return (A @ V.T)[lv.row]


def _group_sum(keys: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """(n, ...) the sum of ``values`` (L, ...) over the entries of each key in 0..n-1 (0 where none)."""
    out = np.zeros((n, *values.shape[1:]))
    if not len(keys):
        return out
    order = np.argsort(keys, kind="stable")
    k = keys[order]
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    out[k[starts]] = np.add.reduceat(values[order], starts, axis=0)
    return out


def _shared_mode(parts, sd: np.ndarray, active: np.ndarray, iterations: int = 100):
    """Per parameter set, the mode ``m`` (B, O') and Cholesky factor ``L`` (B, O', O') of the proposal's scale.

    The log posterior of the standard-normal intercepts given the dated and censored rows of ``parts`` (each
    :class:`_Rows`, averaged over its paths): a sum of logistic log-likelihoods, concave in v, climbed by Newton's
    method to machine precision so that the proposal, and the estimate with its fixed draws, move smoothly with
    the parameters. Interval rows are left out: the proposal need only be near the posterior.
    """
    B, n_org = len(sd), int(active.sum())
    v = np.zeros((B, n_org))
    if not n_org:
        return v, np.zeros((B, 0, 0))
    eye = np.eye(n_org)
    parts = [_moving(r, active, MODE_PATHS) for r in parts]
    for _ in range(iterations):
        grad = -v.copy()
        H = -np.broadcast_to(eye, (B, n_org, n_org)).copy()
        for r in parts:
            if not r.eta.shape[2]:
                continue
            A = r.weights[:, active]  # (n, O)
            e = r.eta + sd[:, None, None] * (v @ A.T)[:, None, :]  # (B, P, n)
            ok = np.isfinite(e)
            h = np.where(ok, expit(np.where(ok, e, 0.0)), 0.0)
            P = r.eta.shape[1]
            score = (np.where(r.adopt & ok, 1.0 - h, 0.0) - np.where(r.stay & ok, h, 0.0)).sum(axis=1) / P  # (B, n)
            info = (np.where((r.adopt | r.stay) & ok, h * (1.0 - h), 0.0)).sum(axis=1) / P
            grad += sd[:, None] * (score @ A)
            H -= (sd**2)[:, None, None] * np.einsum("bn,no,np->bop", info, A, A)
        step = np.linalg.solve(-H, grad[..., None])[..., 0]
        v = v + step
        if np.abs(step).max() < 1e-12:
            break
    cov = np.linalg.inv(-H)
    return v, np.linalg.cholesky((cov + np.transpose(cov, (0, 2, 1))) / 2)


#: joint year patterns of hidden years summed over exactly given each draw of the organizations' intercepts (more
#: are drawn, one path per draw)
SHARED_PATTERNS = 64
#: paths of the hidden years the proposal's mode averages over (the first ones; the estimate uses them all)
MODE_PATHS = 8
#: parameter sets evaluated together by the organization-intercept likelihood (bounds its memory)
SHARED_CHUNK = 4


def _moving(rows: _Rows, active: np.ndarray, paths: int) -> _Rows:
    """The dated and censored rows of ``rows`` that move with the active organizations' intercepts, on the
    first ``paths`` paths."""
    keep = (rows.weights[:, active] != 0).any(axis=1) & (rows.cell < 0)
    pick = (slice(None), slice(0, paths), keep)
    return _Rows(
        rows.eta[pick],
        rows.adopt[pick],
        rows.stay[pick],
        rows.within[pick],
        rows.cell[keep],
        rows.weights[keep],
        0,
        rows.ti[keep],
        rows.flat[keep],
    )


@lru_cache(maxsize=8)
def _shared_base_draws(J: int, n_org: int) -> tuple[np.ndarray, np.ndarray]:
    """Fixed standard-normal (J, n_org) and chi-square / df (J,) draws of the Student-t proposal: a scrambled
    Sobol sequence (quasi-Monte Carlo, less error than independent draws for the same J) with a fixed seed."""
    u = qmc.Sobol(n_org + 1, scramble=True, rng=stream(PATTERN_SEED, "organization proposal")).random(J)
    eps = ndtri(u[:, :n_org])
    scale = chi2.ppf(u[:, n_org], SHARED_DF) / SHARED_DF
    eps.flags.writeable = False
    scale.flags.writeable = False
    return eps, scale


@dataclass(frozen=True)
class _SharedDraws:
    """The importance sample of the organizations' intercepts (:func:`_shared_weights`): ``log_w`` (B, J) the
    log weight of each draw times the record's likelihood given it, ``V`` (B, J, O') the draws of the
    ``active`` (O,) organizations, ``sd`` (B,), the rows ``parts`` (the cells outside the hidden groups' columns,
    then those columns' rows on each path of their unknown years, read in ``path_state`` at the columns
    ``cols``), ``logq_paths`` (J,) the paths' proposal (None: every pattern is summed over given each
    draw), and then ``patterns`` (P, J), the first set's log-likelihood of each pattern given each draw."""

    log_w: np.ndarray
    V: np.ndarray
    active: np.ndarray
    sd: np.ndarray
    parts: list
    logq_paths: np.ndarray | None
    path_state: State | None
    cols: np.ndarray | None
    patterns: np.ndarray | None


def set_shared_proposal(hist: History, scenario, mask: np.ndarray | None = None) -> None:
    """Hold the importance proposal of the organizations' intercepts at its centre under ``scenario`` (None:
    re-centre at every evaluation again, the default).

    By default the proposal is centred at the intercepts' posterior mode at the parameters evaluated, which
    the mode's Newton iteration makes a smooth but costly function of them. Held fixed, the estimate's
    gradient is the importance-weighted gradient of the record's likelihood given each draw (Fisher's
    identity, :func:`loglik_gradient`), exact for that estimate. A fit holds it, climbs, re-centres it at
    the new estimate and climbs again until the maximum stops moving; at the parameters the proposal was
    centred at, the two estimates are the same number.

    The rows of the record at the centre are held with it (:class:`_HeldProposal`): where the parameters
    evaluated differ from the centre's only in ones the log-odds are linear in, their rows are the centre's
    moved along the mechanisms' tangents, without a pass over the years.
    """
    m = np.ones(hist.kind.shape, dtype=bool) if mask is None else mask
    key = ("shared proposal", m.tobytes())
    hist.cache.pop(key, None)
    if scenario is None:
        return
    block = _block(scenario)
    groups = _hidden(scenario, hist, m, LOGIT)
    rows = _shared_parts(block, hist, m, groups, SHARED_DRAWS)
    active, centre, scale = _shared_weights(block, hist, m, groups, SHARED_DRAWS, True, rows=rows)
    hist.cache[key] = _HeldProposal(
        active, centre, scale, block.scenarios[0], rows, SHARED_DRAWS, _groups_key(groups), hist.cache["proposal"]
    )


#: rows moved from the held proposal's along their tangents where only parameters they are linear in moved
#: (:class:`_HeldProposal`); False: every evaluation makes its rows afresh (the tests' reference)
HOLD_ROWS = True
#: the hazard's real parameters, each linear in every row's log-odds (the pooling's spread enters the penalty
#: alone; the pooling's kind is a choice, so a change of it makes the rows afresh)
_AFFINE_HAZARD = ("intercept", "offsets", "pool_sd")


@dataclass
class _HeldProposal:
    """The held proposal of the organizations' intercepts (:func:`set_shared_proposal`): the ``active``
    organizations, the centre ``m`` (O') and scale ``L`` (O', O') of the proposal, the ``scenario`` it was
    centred at and its rows ``(parts, log q of the paths, the paths' state, their columns)``
    (:func:`_shared_parts`) for ``draws`` draws, the hidden groups (``groups``, :func:`_groups_key`) and the
    paths' proposal scenario (``proposal``) they were made with; ``tangents``: per parameter name and part,
    its d eta / d theta at every row ((P, n), or (1, n) where every path has the same), made at first use;
    ``live``: per part, the entries that carry a term (:func:`_live`), found at first use.

    Under the logit link the log-odds are the intercept, the offsets and each mechanism's terms; the terms
    a mechanism declares linear in a coefficient are that coefficient times a term that does not depend on
    it, the gates' allowed sets and the eligibility do not depend on real parameters
    (:mod:`harmsim.calibrate.gradient`), and the rows are made with the organizations' intercepts at 0. So
    where a parameter set differs from the centre's in such parameters only, its rows are exactly the
    centre's with ``eta + sum_p tangent_p (theta_p - centre_p)``: a unit's refit of the bindingness test
    moves the intercept and the agreements' coefficients alone.
    """

    active: np.ndarray
    m: np.ndarray
    L: np.ndarray
    scenario: object
    rows: tuple
    draws: int
    groups: tuple
    proposal: object
    tangents: dict = field(default_factory=dict)
    live: dict = field(default_factory=dict)

    def moved(self, block: Block, hist: History, groups, draws: int):
        """``(names, (B, p) differences from the centre)`` when every parameter set of ``block`` differs from
        the centre only in parameters the rows are linear in (:func:`_affine`); None otherwise."""
        c = self.scenario
        if draws != self.draws or _groups_key(groups) != self.groups or hist.cache.get("proposal") is not self.proposal:
            return None
        centre = c.parameters()
        values = []
        for sc in block.scenarios:
            same = (
                sc.record is c.record
                and sc.transforms is c.transforms
                and (sc.start, sc.end, sc.reference, sc.extension) == (c.start, c.end, c.reference, c.extension)
                and sc.enabled == c.enabled
            )
            v = sc.parameters() if same else None
            if v is None or v.keys() != centre.keys():
                return None
            values.append(v)
        names = sorted({n for v in values for n, x in v.items() if x != centre[n]})
        if not all(_affine(c, n) for n in names):
            return None
        return names, np.array([[float(v[n]) - float(centre[n]) for n in names] for v in values])

    def parts(self, block: Block, hist: History, names, delta: np.ndarray) -> list:
        """The rows of every part for ``block``'s parameter sets: the centre's moved by ``delta`` (B, p)."""
        missing = [n for n in names if n not in self.tangents]
        parts, _, state, cols = self.rows
        if missing:  # d eta / d theta at every row: (1, n) where every path has the same, else (P, n)
            tan = Tangents(self.scenario, missing, [(-np.inf, np.inf)] * len(missing))
            K = hist.kind.shape[1]
            for j, rows in enumerate(parts):
                at = _row_tangents(tan, rows, hist.state if j == 0 else state, np.arange(K) if j == 0 else cols)
                live = (rows.adopt[0] | rows.stay[0] | rows.within[0]) & np.isfinite(rows.eta[0])
                at = np.where(live[..., None], at, 0.0)
                for i, name in enumerate(missing):
                    one = at[..., i]
                    self.tangents.setdefault(name, {})[j] = one[:1] if (one == one[:1]).all() else one
        out = []
        for j, rows in enumerate(parts):
            shift = sum(delta[:, i, None, None] * self.tangents[name][j][None] for i, name in enumerate(names))
            if names:
                eta = rows.eta + shift
            else:  # the centre itself
                eta = np.broadcast_to(rows.eta, (len(delta), *rows.eta.shape[1:]))
            shape = eta.shape
            out.append(
                replace(
                    rows,
                    eta=eta,
                    adopt=np.broadcast_to(rows.adopt, shape),
                    stay=np.broadcast_to(rows.stay, shape),
                    within=np.broadcast_to(rows.within, shape),
                    live=self.live.setdefault(j, {}),
                )
            )
        return out


def _affine(scenario, name: str) -> bool:
    """Whether the rows' log-odds are linear in parameter ``name`` with a slope that does not depend on it (see
    :class:`_HeldProposal`): the intercept and offsets, the pooling's spread (no log-odds), a coefficient
    a mechanism declares linear, the organizations' spread (the rows hold the intercepts at 0)."""
    group, key, _ = split_name(name)
    if group == "hazard":
        return key in _AFFINE_HAZARD
    j = scenario.enabled.index(group)
    m = scenario.dynamics.mechanisms[j]
    return key in m.linear_coefficients() or (m.uses_shared and key in m.linear)


def _groups_key(groups) -> tuple:
    """The hidden groups' cells and columns as bytes: the same groups give the same key."""
    return tuple((np.asarray(c).tobytes(), np.asarray(k).tobytes()) for c, k in groups)


def _row_tangents(tan: Tangents, rows: _Rows, state, cols: np.ndarray) -> np.ndarray:
    """(P, n, p): each row's d eta / d theta on each of the P histories of ``state`` (its columns ``cols``)."""
    P, n = rows.eta.shape[1:]
    out = np.zeros((P, n, tan.P))
    for ti in np.unique(rows.ti):
        sel = np.flatnonzero(rows.ti == ti)
        out[:, sel] = tan.at(tan.jacobian(int(ti), state, cols), rows.flat[sel], P)
    return out


def _shared_parts(block: Block, hist: History, mask: np.ndarray, groups, draws: int) -> tuple:
    """``(parts, log q of the paths, the paths' state, their columns)``: the :class:`_Rows` of the cells outside
    the hidden groups' columns, then those columns' rows on each path of their unknown years
    (:func:`_shared_paths`; no paths: one part, the rest None)."""
    K = hist.kind.shape[1]
    touched = np.logical_or.reduce([c for _, c in groups]) if groups else np.zeros(K, dtype=bool)
    base = _shared_rows(block, hist, hist.state, hist.kind, hist.year, mask & ~touched[None, :])
    if not groups:
        return [base], None, None, None
    cells, years, logq_paths = _shared_paths(hist, mask, groups, draws)
    kind, yr, ay = _dated_paths(hist, cells, years)
    state = replace(hist.state, adopt_year=ay)
    cols = np.flatnonzero(touched)
    return [base, _shared_rows(block, hist, state, kind, yr, mask, cols, impossible="zero")], logq_paths, state, cols


def _shared_weights(block: Block, hist: History, mask: np.ndarray, groups, draws: int, proposal_only=False, rows=None):
    """:class:`_SharedDraws` of the active organizations' intercepts (:func:`_shared_likelihood`); with
    ``proposal_only``, the proposal's centre and scale ``(active, m (O'), L (O', O'))`` alone. ``rows``: the
    parts of :func:`_shared_parts` when already made (else from the held proposal's, or made here)."""
    sd = _shared_sd(block)
    held = hist.cache.get(("shared proposal", mask.tobytes()))
    if rows is None:
        moved = held.moved(block, hist, groups, draws) if held is not None and HOLD_ROWS else None
        if moved is not None:
            _, logq_paths, state, cols = held.rows
            rows = held.parts(block, hist, *moved), logq_paths, state, cols
        else:
            rows = _shared_parts(block, hist, mask, groups, draws)
    parts, logq_paths, state, cols = rows
    base = parts[0]
    W = np.concatenate([p.weights for p in parts])
    active = (W != 0).any(axis=0)
    n_org = int(active.sum())
    if proposal_only:
        m, L = _shared_mode(parts, sd, active)
        return active, m[0], L[0]
    if held is not None and np.array_equal(held.active, active):
        m, L = np.broadcast_to(held.m, (block.B, n_org)), np.broadcast_to(held.L, (block.B, n_org, n_org))
    else:
        m, L = _shared_mode(parts, sd, active)
    eps, scale = _shared_base_draws(draws, n_org)
    z = eps / np.sqrt(scale)[:, None]  # (J, O) standard t draws
    V = m[:, None, :] + np.einsum("bop,jp->bjo", L, z)  # (B, J, O)
    # log prior (standard normal) minus log proposal (multivariate t with scale L), with their constants
    nu, d = SHARED_DF, n_org
    log_det = np.log(np.diagonal(L, axis1=1, axis2=2)).sum(axis=1)  # (B,)
    const = gammaln((nu + d) / 2) - gammaln(nu / 2) - d / 2 * np.log(nu * np.pi)
    log_q = const - 0.5 * (nu + d) * np.log1p((z**2).sum(axis=1) / nu)[None, :] - log_det[:, None]
    log_w = -0.5 * (V**2).sum(axis=2) - d / 2 * np.log(2 * np.pi) - log_q  # (B, J)
    patterns = None
    for b in range(block.B):
        log_w[b] += _shared_terms(base.of(b), sd[b : b + 1], V[b], active)[0, 0]
        if len(parts) > 1:
            one = parts[1].of(b)
            if logq_paths is None:  # every pattern, given each draw: their sum
                terms = _shared_terms(one, sd[b : b + 1], V[b], active)[0]
                patterns = terms if b == 0 else patterns
                log_w[b] += logsumexp(terms, axis=0)
            else:  # path j drawn with draw j: one joint importance sample
                log_w[b] += _shared_terms(one, sd[b : b + 1], V[b], active, paired=True)[0] - logq_paths
    return _SharedDraws(log_w, V, active, sd, parts, logq_paths, state, cols, patterns)


def _shared_paths(hist: History, mask: np.ndarray, groups, samples: int):
    """(cells, years (S, M), log q (S,) or None): every joint pattern of the groups' unknown years when there are at
    most :data:`SHARED_PATTERNS` (``log q`` None: summed over given each draw); otherwise paths of them drawn
    independently per group: a small group's from its exact conditional law (:func:`_backward_paths`), a large
    one's per cell (:func:`_proposal_paths`), both under the proposal scenario with the organizations' intercepts
    at their posterior mode (so the paths follow the organizations that are early or late)."""
    cells = np.concatenate([g for g, _ in groups])
    choices = _year_choices(hist, cells)
    if np.prod([float(len(c)) for c in choices]) <= SHARED_PATTERNS:  # few: every pattern, given each draw
        return cells, np.stack(np.meshgrid(*choices, indexing="ij"), axis=-1).reshape(-1, len(cells)), None
    small, large = _split(groups)
    key = ("shared mode", mask.tobytes())
    if key not in hist.cache:  # the organizations' intercepts at their posterior mode under the proposal scenario
        block = _block(hist.cache["proposal"])
        rows = _shared_rows(block, hist, hist.state, hist.kind, hist.year, mask)
        active = (rows.weights != 0).any(axis=0)
        v = np.zeros(len(active))
        v[active] = _shared_mode([rows], _shared_sd(block), active)[0][0]
        hist.cache[key] = v
    centred = replace(hist, state=replace(hist.state, shared=hist.cache[key][None, :]))
    parts = [_backward_paths(centred, mask, g, samples) for g in small]
    if large:
        parts.append(_proposal_paths(centred, mask, large, samples))
    cells = np.concatenate([c for c, _, _ in parts])
    years = np.concatenate([y for _, y, _ in parts], axis=1)
    return cells, years, np.sum([q for _, _, q in parts], axis=0)


def _shared_likelihood(block: Block, hist: History, mask: np.ndarray, groups, draws: int = SHARED_DRAWS, grad=None):
    """((B,) log-likelihood, diagnostics of the first set) with the organizations' intercepts integrated out.

    The intercepts ``v ~ N(0, I)`` are crossed (a state in several organizations), so they are integrated by
    importance sampling: ``draws`` fixed quasi-random Student-t draws around the posterior mode of ``v`` (Newton
    on the record's rows, :func:`_shared_mode`), the estimate ``mean_j phi(v_j) p(record | v_j) / q(v_j)``:
    unbiased for the likelihood and smooth in the parameters (the draws are fixed; the mode moves smoothly, or
    stays where :func:`set_shared_proposal` holds it). Hidden interval years that other cells read are summed
    over (every pattern, given each draw) or drawn with the intercepts (one path per draw,
    :func:`_shared_paths`). ``grad`` (one parameter set): add the estimate's gradient (:func:`_shared_gradient`).
    """
    if block.B > SHARED_CHUNK:  # parameter sets a few at a time: the rows of every path are held in memory
        out = [
            _shared_likelihood(Block(block.scenarios[i : i + SHARED_CHUNK]), hist, mask, groups, draws)
            for i in range(0, block.B, SHARED_CHUNK)
        ]
        return np.concatenate([v for v, _ in out]), out[0][1]
    s = _shared_weights(block, hist, mask, groups, draws)
    if grad is not None:
        _shared_gradient(s, hist, grad)
    return logsumexp(s.log_w, axis=1) - np.log(draws), _ess(s.log_w[0])


def _shared_gradient(s: _SharedDraws, hist: History, grad: _Gradient) -> None:
    """Add to ``grad`` the gradient of the importance-sampled log-likelihood of one parameter set, its
    proposal and draws held: ``sum_j w~_j d/dtheta log p(record | v_j)`` with ``w~`` the normalized weights.

    Each row's d ll / d eta (:func:`_shared_slopes`, weighted over the draws and, for the hidden years, over
    their patterns or paired paths) is contracted with the mechanisms' tangents of its year
    (:meth:`~harmsim.calibrate.gradient.Tangents.rows`); the intercepts' spread moves every row's log-odds by
    ``weights @ v_j``, which the slopes contract themselves.
    """
    tan = grad.tangents
    sd, V, active = s.sd[0], s.V[0], s.active
    w = np.exp(s.log_w[0] - logsumexp(s.log_w[0]))  # (J,)
    K = hist.kind.shape[1]
    G, spread = _shared_slopes(s.parts[0].of(0), sd, V, active, w[None, :])
    total = _shared_contract(tan, s.parts[0], G, hist.state, np.arange(K))
    if len(s.parts) > 1:
        one = s.parts[1].of(0)
        if s.logq_paths is None:  # every pattern given each draw: weighted by its posterior given the draw
            with np.errstate(invalid="ignore"):
                post = np.nan_to_num(np.exp(s.patterns - logsumexp(s.patterns, axis=0, keepdims=True)))
            G, more = _shared_slopes(one, sd, V, active, w[None, :] * post)
        else:  # path j with draw j
            G, more = _shared_slopes(one, sd, V, active, w, paired=True)
        total += _shared_contract(tan, s.parts[1], G, s.path_state, s.cols)
        spread += more
    if tan.shared is not None:
        total[tan.shared] += spread
    grad.total += total


def _shared_slopes(rows: _Rows, sd: float, V: np.ndarray, active: np.ndarray, weight: np.ndarray, paired=False):
    """(G, spread): each row's d ll / d eta summed over the draws with ``weight`` (P, J), or (J,) with
    ``paired`` (path j with draw j): G (P, n) or (J, n); and the derivative in the intercepts' spread, the
    same slopes times each row's ``weights @ v_j``. The terms are :func:`_shared_terms`': ``1 - h`` for an
    adoption, ``-h`` for a year without one, ``h S / (1 - S)`` inside an interval whose survival is ``S``."""
    P, n = rows.eta.shape[1:]
    J = len(V)
    lv = _live(rows, 0)  # the entries that carry a term (the others' slopes are 0)
    col = (lambda x: x) if paired else (lambda x: x[:, None])  # (L,) own draw, or (L, J) every draw
    lin = _draw_shift(rows.weights[:, active], V, lv, paired)
    e = col(lv.eta) + sd * lin
    ok = np.isfinite(e)
    h = np.where(ok, expit(np.where(ok, e, 0.0)), 0.0)
    g = np.where(col(lv.adopt) & ok, 1.0 - h, 0.0) - np.where(col(lv.stay) & ok, h, 0.0)
    if rows.intervals:
        ni, w = rows.intervals, lv.within
        with np.errstate(divide="ignore"):
            inner = np.log1p(-h[w])
        key = lv.first * ni + np.maximum(rows.cell[lv.row], 0)
        surv = _group_sum(key[w], np.where(ok[w], inner, 0.0), (J if paired else P) * ni)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            ratio = np.exp(surv) / -np.expm1(np.minimum(surv, -1e-300))  # S / (1 - S) per interval
        with np.errstate(invalid="ignore"):
            g[w] = g[w] + np.where(ok[w], h[w] * ratio[key[w]], 0.0)
    g = np.where(np.isfinite(g), g, 0.0)  # rows of paths with probability 0 carry weight 0
    gw = g * weight[lv.first]  # (L,) with its own draw's weight, or (L, J) with each draw's
    G = np.zeros((J if paired else P, n))
    G[lv.first, lv.row] = gw if paired else gw.sum(axis=1)
    return G, float((gw * lin).sum())


def _shared_contract(tan: Tangents, rows: _Rows, G: np.ndarray, state, cols: np.ndarray) -> np.ndarray:
    """(P,) the rows' slopes ``G`` (R, n) times their tangents, year by year, on the histories of ``state``."""
    out = np.zeros(tan.P)
    R, N = G.shape[0], state.adopt_year.shape[-2]
    for ti in np.unique(rows.ti):
        sel = rows.ti == ti
        Gy = np.zeros((R, N * len(cols)))
        Gy[:, rows.flat[sel]] = G[:, sel]
        out += tan.rows(tan.jacobian(int(ti), state, cols), Gy).sum(axis=0)
    return out


def shared_posterior_draws(scenario, record, n: int, seed, draws: int = 4 * SHARED_DRAWS) -> np.ndarray:
    """(n, O) draws of the organizations' standard-normal intercepts from their posterior given ``record``.

    Resampled, with ``seed``'s stream ``shared-posterior``, from ``draws`` importance draws weighted by the
    prior, the proposal and the record's likelihood (:func:`_shared_likelihood`), at the scenario's parameters.
    Organizations with no member in the record keep the prior.

    >>> import harmsim
    >>> sc = harmsim.load_scenario("world_organizations")
    >>> shared_posterior_draws(sc, sc.record, 5, seed=0).shape[0]
    5
    """
    hist = history(scenario, record)
    block = _block(scenario)
    m = np.ones(hist.kind.shape, dtype=bool)
    s = _shared_weights(block, hist, m, _hidden(scenario, hist, m, LOGIT), draws)
    log_w, V, active = s.log_w, s.V, s.active
    p = np.exp(log_w[0] - logsumexp(log_w[0]))
    g = stream(seed, "shared-posterior")
    out = g.standard_normal((n, len(active)))
    out[:, active] = V[0][np.minimum(np.searchsorted(np.cumsum(p), g.random(n)), len(p) - 1)]
    return out

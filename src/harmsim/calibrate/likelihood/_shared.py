"""Organization intercepts: crossed random effects integrated out of the likelihood by importance sampling.

A state in several organizations couples their intercepts, so the integral has no closed form: it is
estimated with :data:`SHARED_DRAWS` Student-t draws around the posterior mode (:func:`_shared_likelihood`),
the unknown years drawn or summed given each draw, and, during a fit, a held proposal whose rows move along
their tangents where only parameters they are linear in moved (:func:`set_shared_proposal`,
:data:`HOLD_ROWS`). tests/test_world_model.py checks it against simulated frequencies.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np
from scipy.special import expit, gammaln, logsumexp, ndtri
from scipy.stats import chi2, qmc

from harmsim.calibrate.gradient import Tangents
from harmsim.calibrate.likelihood._paths import (
    PATTERN_SEED,
    _backward_paths,
    _dated_paths,
    _hidden,
    _proposal_paths,
    _split,
    _year_choices,
)
from harmsim.calibrate.likelihood._terms import History, _block, _check_possible, _ess, _Gradient, _years, history
from harmsim.data.observations import BEFORE, CENSORED, DATED, INTERVAL, UNOBSERVED
from harmsim.model.dynamics import LOGIT, Block
from harmsim.model.mechanisms import State
from harmsim.model.space import split_name
from harmsim.rng import stream

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

    >>> import harmsim
    >>> from harmsim.calibrate.likelihood import history, loglik, set_shared_proposal
    >>> sc = harmsim.load_scenario("world_organizations")
    >>> h = history(sc, sc.record)
    >>> free = loglik(sc, h)  # the proposal centred at the parameters evaluated
    >>> set_shared_proposal(h, sc)
    >>> loglik(sc, h) == free  # held, and evaluated where it was centred: the same number
    True
    >>> set_shared_proposal(h, None)  # re-centred at every evaluation again
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

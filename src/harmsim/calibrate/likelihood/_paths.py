"""Adoption years other cells read but the record dates only within an interval: summed or sampled.

Where a peer's diffusion share, a prerequisite gate or the Bass link reads an interval-censored adoption, its
unknown year is summed over exactly, a forward recursion on the set of such adoptions made before each year
(:func:`_exact`, :func:`_forward`; at most :data:`MAX_HIDDEN` of them per group), or, for a larger group,
importance-sampled from a fixed proposal (:func:`_sampled_groups`, :func:`set_proposal`). The terms of a given
path of years (:func:`_dated_terms`, :func:`_path_terms`) serve the state propensities' and the organization
intercepts' sums too.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.special import logsumexp

from harmsim.calibrate.likelihood._terms import (
    QUADRATURE_NODES,
    History,
    _add_year,
    _block,
    _by_column,
    _cells,
    _check_possible,
    _ess,
    _interval_factor,
    _lse,
    _nodes,
    _separable,
    _Spread,
    _year_slopes,
    _years,
    quadrature,
)
from harmsim.data.observations import BEFORE, CENSORED, DATED, INTERVAL, UNOBSERVED
from harmsim.data.world import NEVER
from harmsim.errors import CalibrationError
from harmsim.model.dynamics import LOGIT, Block
from harmsim.rng import stream

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
    >>> from harmsim.calibrate.likelihood import history, loglik, set_proposal
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


def hidden_groups(scenario, hist: History, mask: np.ndarray | None = None, link=LOGIT) -> list[int]:
    """The sizes of the groups of interval-censored adoptions in ``mask`` whose unknown years other cells' terms
    read (summed over or sampled by :func:`loglik`); empty when there are none. Parameter-free and cached: it
    evaluates no likelihood.

    >>> import harmsim
    >>> from harmsim.calibrate.likelihood import hidden_groups, history
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


#: The fixed seed of the path draws: the same record and proposal give the same estimate.
PATTERN_SEED = 20150421


#: Rows (parameter sets x paths x quadrature nodes) evaluated at once: bounds the memory of a latent block
_ROWS = 12_288


def _year_choices(hist: History, cells: np.ndarray) -> list[np.ndarray]:
    """Each cell's possible adoption years: its interval, inside the observation window."""
    return [np.arange(int(hist.lo[i, k]), int(min(hist.hi[i, k], hist.end)) + 1) for i, k in cells]


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

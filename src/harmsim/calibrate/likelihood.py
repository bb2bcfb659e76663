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

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import log_expit

from ..errors import CalibrationError
from ..mechanisms.base import State
from ..world import NEVER, YEAR

__all__ = ["History", "history", "logit_link", "loglik", "loglik_cells"]

DATED, CENSORED, INTERVAL, BEFORE, UNOBSERVED = 1, 2, 3, 0, 4


@dataclass(frozen=True, eq=False)
class History:
    """A record's observations aligned with a scenario's world.

    kind: (N, K) DATED / CENSORED / INTERVAL / BEFORE (adopted before the window).
    year, lo, hi: (N, K) adoption year (DATED), interval bounds (INTERVAL).
    state: the R = 1 :class:`State` the mechanisms read (interval years at midpoints).
    """

    kind: np.ndarray
    year: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    state: State
    n_cells: int


def history(scenario, record) -> History:
    """Align ``record`` with ``scenario``'s world; every state and instrument must be observed."""
    w = scenario.world
    a = record.adoptions.set_index(["state", "instrument"])
    missing_s = [s for s in w.states if s not in set(record.state_ids)]
    missing_k = [k for k in w.instruments if k not in set(record.instrument_ids)]
    if missing_s or missing_k:
        raise CalibrationError(
            f"record '{record.name}' does not observe scenario '{scenario.name}' fully: "
            f"missing states {missing_s}, instruments {missing_k}"
        )
    N, K = len(w.states), len(w.instruments)
    idx = pd.MultiIndex.from_product([w.states, w.instruments])
    year = a["year"].reindex(idx).to_numpy(dtype=float, na_value=np.nan).reshape(N, K)
    lo = a["year_min"].reindex(idx).to_numpy(dtype=float, na_value=np.nan).reshape(N, K)
    hi = a["year_max"].reindex(idx).to_numpy(dtype=float, na_value=np.nan).reshape(N, K)
    kind = np.full((N, K), CENSORED)
    kind[np.isfinite(year)] = DATED
    kind[~np.isfinite(year) & np.isfinite(hi)] = INTERVAL
    kind[np.isfinite(year) & (year < w.start)] = BEFORE
    seen = a["observed"].reindex(idx).fillna(True).to_numpy(dtype=bool).reshape(N, K) if "observed" in a else True
    kind[~seen] = UNOBSERVED
    lo_c = np.where(kind == INTERVAL, np.maximum(lo, w.start), lo)
    if ((kind == INTERVAL) & (hi < w.start)).any():
        kind[(kind == INTERVAL) & (hi < w.start)] = BEFORE
    imputed = np.where(kind == DATED, year, np.where(kind == INTERVAL, np.round((lo_c + hi) / 2), np.nan))
    imputed = np.where(kind == BEFORE, np.where(np.isfinite(year), year, hi), imputed)
    adopt = np.where(np.isfinite(imputed), imputed, NEVER).astype(YEAR)[None]
    dyn = scenario.dynamics
    M = len(w.agreements)
    arrival = (
        np.where(w.agreement_year <= w.end, w.agreement_year, NEVER).astype(YEAR)[None]
        if M
        else (np.zeros((1, 0), dtype=YEAR))
    )
    open_year = w.opens.astype(np.int64).copy()
    for k, m in enumerate(w.opened_by):
        if m >= 0 and dyn.agreements is not None and dyn.agreements.endogenous:
            open_year[k] = arrival[0, m]
    state = State(adopt_year=adopt, arrival=arrival, open_year=open_year[None])
    return History(kind, year, lo_c, hi, state, int(((kind != BEFORE) & (kind != UNOBSERVED)).sum()))


def logit_link(ti: int, eta: np.ndarray, hist: History):
    """log h and log(1 - h) of the model's logistic hazard."""
    return log_expit(eta), log_expit(-eta)


def loglik_cells(scenario, hist: History, link=logit_link) -> tuple[np.ndarray, int]:
    """Log-likelihood contribution of every (state, instrument) cell, (N, K), and the number
    of at-risk state-instrument-years (the sample size for BIC).

    ``link(ti, eta, hist) -> (log h, log(1 - h))`` turns the year's log-odds into
    hazards; another link (e.g. the Bass model's) reuses the same risk sets.
    """
    w = scenario.world
    dyn = scenario.dynamics
    S = hist.state
    N, K = hist.kind.shape
    ll = np.zeros((N, K))
    int_surv = np.zeros((N, K))  # log prob. of no adoption within the interval so far
    int_risk = np.zeros((N, K), dtype=bool)
    n_obs = 0
    kind, year, lo, hi = hist.kind, hist.year, hist.lo, hist.hi
    all_k = np.arange(K)
    for ti, t in enumerate(w.years):
        eta = np.broadcast_to(dyn.logit(ti, S)[0], (N, K))
        risk = w.member[ti][:, None] & (S.open_year[0][None, :] <= t) & (kind != BEFORE) & (kind != UNOBSERVED)
        if dyn.prereq is not None:
            allowed, term = dyn.prereq.gate(S.adopt_year, t, all_k)
            eta = eta + term[0]
            risk &= allowed[0]
        # Cells still at risk in year t, by what is observed of them.
        dated_open = (kind == DATED) & (year >= t)
        cens = kind == CENSORED
        before_int = (kind == INTERVAL) & (t < lo)
        in_int = (kind == INTERVAL) & (t >= lo) & (t <= hi)
        obs = risk & (dated_open | cens | before_int | in_int)
        n_obs += int(obs.sum())
        adopt_now = (kind == DATED) & (year == t)
        if (adopt_now & ~risk).any():
            i, k = np.argwhere(adopt_now & ~risk)[0]
            raise CalibrationError(
                f"the record has {w.states[i]} adopting {w.instruments[k]} in {t}, which scenario "
                f"'{scenario.name}' makes impossible (not a member, instrument not open, or prerequisite missing)"
            )
        log_h, log_s = link(ti, eta, hist)
        ll += np.where(adopt_now & risk, log_h, 0.0)
        ll += np.where(risk & ((dated_open & ~adopt_now) | cens | before_int), log_s, 0.0)
        int_surv += np.where(risk & in_int, log_s, 0.0)
        int_risk |= risk & in_int
    interval = kind == INTERVAL
    if (interval & ~int_risk).any():
        i, k = np.argwhere(interval & ~int_risk)[0]
        raise CalibrationError(
            f"the record has {w.states[i]} adopting {w.instruments[k]} within [{lo[i, k]:.0f}, {hi[i, k]:.0f}], "
            f"but it is never at risk then in scenario '{scenario.name}'"
        )
    with np.errstate(divide="ignore"):
        ll += np.where(interval, np.log(-np.expm1(np.minimum(int_surv, -1e-300))), 0.0)
    return ll, n_obs


def loglik(scenario, hist: History) -> float:
    """Log-likelihood of the record under ``scenario``'s parameters."""
    return float(loglik_cells(scenario, hist)[0].sum())

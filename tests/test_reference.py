"""An independent reference simulator and log-likelihood: the model of docs/model.md for a diffusion-only
scenario, written as plain loops over states, instruments and years, against the batch engine, the Mesa model,
and the likelihood (one parameter set and a block of them).

The engines' identity tests compare two callers of the same ``Dynamics.step``; this one shares only the
random numbers with them (each cell's uniform threshold, from the seed's counter-based stream), not the rule:
risk sets, the peer share, the log-odds and the inversion rule are written out again from the documentation.
The likelihood's tests compared ``loglik_many`` with ``loglik``, which calls it; here both meet a sum of
log h and log(1 - h) over the at-risk years written out again (docs/model.md, section 10).

Mutations caught (``python scripts/mutations.py`` applies each to a copy of the package and runs these tests):
the peer share counting the state itself, a censored cell's last observed year dropped from the likelihood.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

import harmsim
from harmsim.calibrate.likelihood import history, loglik, loglik_many, loglik_states
from harmsim.data.record import record_from_tables
from harmsim.data.world import NEVER
from harmsim.model import batch
from harmsim.model.scenario import scenario_from_dict


def reference(sc, seeds) -> np.ndarray:
    """Adoption years (R, N, K) by the documented rule: a member state's open, not yet adopted instrument has
    log-odds intercept + offset + strength x (share of the other members that adopted it before the year); the
    cell adopts in the first year its survival since it became at risk falls to its threshold or below."""
    w = sc.world
    offsets = dict(sc.hazard.offsets)
    strength = dict(sc.mechanism("diffusion").items)["strength"]
    u = sc.dynamics.thresholds(seeds)  # the randomness the engines use, one uniform per cell for the run
    N, K = len(w.states), len(w.instruments)
    out = np.empty((len(seeds), N, K), dtype=np.int64)
    for r in range(len(seeds)):
        year = [[int(w.initial[i][k]) for k in range(K)] for i in range(N)]
        survival = [[1.0] * K for _ in range(N)]
        for ti, t in enumerate(w.years):
            t = int(t)
            adopting = []
            for i in range(N):
                if not w.member[ti][i]:
                    continue
                peers = [j for j in range(N) if j != i and w.member[ti][j]]
                for k in range(K):
                    if year[i][k] != NEVER or w.opens[k] > t:
                        continue
                    share = sum(1 for j in peers if year[j][k] < t) / len(peers) if peers else 0.0
                    eta = (sc.hazard.intercept + offsets.get(w.instruments[k], 0.0)) + strength * share
                    survival[i][k] *= float(expit(-eta))
                    if survival[i][k] <= u[r, i, k]:
                        adopting.append((i, k))
            for i, k in adopting:  # decided on the history before the year: adoptions take effect together
                year[i][k] = t
        out[r] = year
    return out


@pytest.mark.parametrize("strength", [0.0, 2.5, -1.5])
def test_the_engines_equal_an_independent_reference(strength):
    sc = scenario_from_dict(
        {
            "record": "asean",
            "hazard": {"intercept": -2.8, "offsets": {"untoc": 0.4, "actip": -1.0}},
            "mechanisms": {
                "diffusion": {"strength": strength, "weight_all": 1.0, "weight_subregion": 0.0, "weight_border": 0.0}
            },
        },
        where="test",
    )
    seeds = harmsim.spawn_seeds(31, 40)
    ref = reference(sc, seeds)
    engine, _ = batch.simulate(sc, seeds)
    np.testing.assert_array_equal(engine, ref)
    mesa = harmsim.run(sc, seed=seeds[3])
    np.testing.assert_array_equal(mesa.model.state.adopt_year[0], ref[3])
    adopted = (ref != NEVER) & (ref >= sc.start)
    assert 0.05 < adopted.mean() < 0.95  # the runs adopt some and not all: the comparison has content


def reference_loglik(sc, record, skip: str | None = None) -> float:
    """The log-likelihood of a record of dated and right-censored adoptions, by the documented rule: every year a
    member state's open, not yet adopted instrument is at risk with h = expit(intercept + offset + strength x share
    of the other members that adopted it before the year); log h in the year it adopts, log(1 - h) in every
    other year at risk up to the record's end. ``skip``: leave out that state's own terms (it still acts on
    its peers)."""
    w = sc.world
    offsets = dict(sc.hazard.offsets)
    strength = dict(sc.mechanism("diffusion").items)["strength"]
    adopted = {(a.state, a.instrument): int(a.year) for a in record.adoptions.itertuples() if not pd.isna(a.year)}
    years = {(i, k): adopted.get((s, x), NEVER) for i, s in enumerate(w.states) for k, x in enumerate(w.instruments)}
    total = 0.0
    for ti, t in enumerate(w.years):
        t = int(t)
        for i in range(len(w.states)):
            if not w.member[ti][i] or w.states[i] == skip:
                continue
            peers = [j for j in range(len(w.states)) if j != i and w.member[ti][j]]
            for k, name in enumerate(w.instruments):
                y = years[(i, k)]
                if w.opens[k] > t or y < t:
                    continue  # not open yet, or adopted in an earlier year
                share = sum(1 for j in peers if years[(j, k)] < t) / len(peers) if peers else 0.0
                h = float(expit(sc.hazard.intercept + offsets.get(name, 0.0) + strength * share))
                total += np.log(h) if y == t else np.log(1 - h)
    return total


def _dated_record():
    """Four states (D joins in 2002), two instruments (y opens in 2001), 2000-2006, adoptions dated or not yet."""
    states = pd.DataFrame({"state": ["A", "B", "C", "D"], "joined": [1990, 1990, 1990, 2002]})
    inst = pd.DataFrame({"instrument": ["x", "y"], "opens": ["", "2001"]})
    ad = pd.DataFrame(
        {
            "state": ["A", "B", "C", "A", "D"],
            "instrument": ["x", "x", "x", "y", "y"],
            "year": [2001, 2001, 2004, 2003, 2005],
        }
    )
    return record_from_tables("dated", 2000, 2006, {"states": states, "instruments": inst, "adoptions": ad})


def test_the_likelihood_equals_an_independent_reference():
    """One parameter set and a block of them (``loglik_many``) against the plain sum; the held-out difference of
    likelihoods (the predictive score of leave-one-out) against the reference's own per-state sum."""
    rec = _dated_record()
    scs = [
        scenario_from_dict(
            {
                "hazard": {"intercept": b, "offsets": {"y": -0.5}},
                "mechanisms": {
                    "diffusion": {"strength": s, "weight_all": 1.0, "weight_subregion": 0.0, "weight_border": 0.0}
                },
            },
            where="test",
            record=rec,
        )
        for b, s in ((-2.0, 0.0), (-2.5, 3.0), (-1.0, -2.0))
    ]
    h = history(scs[0], rec)
    ref = np.array([reference_loglik(sc, rec) for sc in scs])
    assert len(np.unique(np.round(ref, 6))) == 3
    np.testing.assert_allclose([loglik(sc, h) for sc in scs], ref, rtol=0, atol=1e-10)
    np.testing.assert_allclose(loglik_many(scs, h), ref, rtol=0, atol=1e-10)
    # state C held out: the difference of likelihoods is C's own terms, as the reference sums them
    held = np.zeros(h.kind.shape, dtype=bool)
    held[2] = True
    diff = loglik(scs[1], h) - loglik(scs[1], h, ~held)
    assert diff == pytest.approx(_state_terms(scs[1], rec, "C"), abs=1e-10)
    assert loglik_states(scs[1], h, held)[2] == pytest.approx(diff, abs=1e-10)


def _state_terms(sc, record, state) -> float:
    """The reference's terms of one state's cells (every other state's history as recorded)."""
    return reference_loglik(sc, record) - reference_loglik(sc, record, skip=state)

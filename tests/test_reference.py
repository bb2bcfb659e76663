"""An independent reference simulator: the model of docs/model.md for a diffusion-only scenario, written as
plain loops over states, instruments and years, against the batch engine and the Mesa model.

The engines' identity tests compare two callers of the same ``Dynamics.step``; this one shares only the
random numbers with them (each cell's uniform threshold, from the seed's counter-based stream), not the rule:
risk sets, the peer share, the log-odds and the inversion rule are written out again from the documentation.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

import harmsim
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

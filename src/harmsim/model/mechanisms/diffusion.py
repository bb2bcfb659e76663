"""Voluntary norm diffusion: states follow the peers that have already adopted.

The study's core claim is that members harmonized voluntarily; in the
policy-diffusion literature (Berry and Berry 1990; Simmons and Elkins 2004)
the standard form of that is emulation of peers. The term is

    term[i, k, t] = strength * s[i, k, t],
    s[i, k, t] = sum_j W[i, j] m[j, t] a[j, k, t-1] / sum_j W[i, j] m[j, t],

the weighted share of member peers ``j`` (``m`` = member that year) that had
adopted ``k`` before year ``t``, over the network

    W[i, j, t] = weight_all + weight_subregion [same subregion] + weight_border [land border]
                 + weight_organization [i and j members of a common organization in t],
    W[i, i, t] = 0.

On the world panel, ``weight_all`` is global diffusion (every state of the
world is a peer) and ``weight_organization`` the extra pull of the members
of a state's regional organizations that year; their ratio is estimated.

Direction: ``strength > 0`` makes adoption contagious: later adopters
cluster after early ones, and an instrument's uptake accelerates.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from harmsim.model.mechanisms.base import Mechanism
from harmsim.model.params import Real


def network(world, weight_all: float, weight_subregion: float, weight_border: float) -> np.ndarray:
    """The (N, N) peer weights W that do not change over time; see the module docstring."""
    sub = np.array(world.subregion, dtype=object)
    same = (sub[:, None] == sub[None, :]) & (sub[:, None] != "")
    W = weight_all + weight_subregion * same + weight_border * world.border
    W = W.astype(float)
    np.fill_diagonal(W, 0.0)
    return W


def peer_weights(W: np.ndarray, member: np.ndarray) -> np.ndarray:
    """Row-normalized weights over member peers, (N, N); a row without peers is 0."""
    wm = W * member[None, :]
    denom = wm.sum(axis=1, keepdims=True)
    return np.divide(wm, denom, out=np.zeros(wm.shape), where=denom > 0)


def peer_share(W: np.ndarray, adopted: np.ndarray, member: np.ndarray) -> np.ndarray:
    """Weighted share of member peers that adopted, (R, N, K) from adopted (R, N, K) 0/1."""
    return peer_weights(W, member) @ adopted


#: from this many states on, the peer product runs as one matrix product (see :func:`peer_product`)
ONE_PRODUCT_STATES = 64


def peer_product(W: np.ndarray, adopted: np.ndarray) -> np.ndarray:
    """``W @ adopted`` over the states: (N, N) row-normalized weights times (R, N, K) indicators -> (R, N, K).

    On a large panel the R replicates go into one (N, N) x (N, R K) matrix product, one BLAS call instead of
    R small ones: on the world panel (188 states) half the time (benchmarks/bench_world.py), the same values
    up to rounding (tested; equal to the bit there). A small region keeps the stacked product, whose sums the
    regression baselines fix to the last bit.
    """
    R, N, K = adopted.shape
    if N < ONE_PRODUCT_STATES or R == 1:
        return W @ adopted
    X = adopted.transpose(1, 0, 2).reshape(N, R * K).astype(float)
    return (W @ X).reshape(N, R, K).transpose(1, 0, 2)


@lru_cache(maxsize=64)
def _yearly_weights(
    world, weight_all: float, weight_subregion: float, weight_border: float, weight_organization: float = 0.0
) -> np.ndarray:
    """Row-normalized peer weights for each year's membership, (T, N, N); cached."""
    W = network(world, weight_all, weight_subregion, weight_border)
    if not weight_organization or not len(world.organizations):
        return np.stack([peer_weights(W, m) for m in world.member])
    shared = world.shared_organization
    out = []
    for ti, m in enumerate(world.member):
        Wt = W + weight_organization * shared[ti]
        np.fill_diagonal(Wt, 0.0)
        out.append(peer_weights(Wt, m))
    return np.stack(out)


class Diffusion(Mechanism):
    name = "diffusion"
    summary = "voluntary emulation: the weighted share of peers that have adopted"
    linear = ("strength",)
    params = {
        "strength": Real(2.0, -20.0, 20.0, "log-odds when every peer has adopted (vs none)", expected=1),
        "weight_all": Real(1.0, 0.0, 100.0, "weight of every other member"),
        "weight_subregion": Real(1.0, 0.0, 100.0, "extra weight of members in the same subregion"),
        "weight_border": Real(1.0, 0.0, 100.0, "extra weight of members sharing a land border"),
        "weight_organization": Real(
            0.0, 0.0, 1000.0, "extra weight of states in a common regional organization that year"
        ),
    }

    def __init__(self, world, p, transforms=None):
        super().__init__(world, p, transforms)
        # normalized weights, per year (membership changes): (T, N, N); the strength multiplies last
        self.W = _yearly_weights(world, p.weight_all, p.weight_subregion, p.weight_border, p.weight_organization)
        self.strength = float(p.strength)

    def reads_adoptions(self):
        return np.eye(len(self.world.instruments), dtype=bool)  # peers' adoptions of the same instrument

    def dynamic(self, ti, view):
        if not self.strength:
            return None
        return self.strength * peer_product(self.W[ti], view.adopted_before())

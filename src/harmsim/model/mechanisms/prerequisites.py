"""Prerequisites between instruments, and the bundling of a treaty with its protocol.

A state can join the UN Trafficking Protocol only if it is party to the
Convention (UNTOC art. 37(2)); the record's ``requires`` column declares such
links. Within a year, instruments are decided in order of their prerequisite
depth, so a state may ratify both in the same year. Six of the nine ASEAN
parties to the Protocol by 2015 did exactly that (the study, Table 4), so the
mechanism also carries a bundling effect:

    allowed[i, k, t] = a[i, req(k)] <= t        (no prerequisite: always)
    term[i, k, t]   = bundle * [a[i, req(k)] == t]

Direction: ``bundle > 0`` makes a protocol more likely in the year its parent
treaty is ratified. Disabled, prerequisites are not enforced at all.
"""

from __future__ import annotations

import numpy as np

from harmsim.model.mechanisms.base import Mechanism
from harmsim.model.params import Real


def layers(requires: np.ndarray) -> list[np.ndarray]:
    """Instrument indices grouped by prerequisite depth (0 = no prerequisite)."""
    depth = np.zeros(len(requires), dtype=int)
    for k in range(len(requires)):
        d, cur = 0, requires[k]
        while cur >= 0:
            d, cur = d + 1, requires[cur]
        depth[k] = d
    return [np.flatnonzero(depth == d) for d in range(depth.max() + 1 if len(depth) else 0)]


def gate(parent_year: np.ndarray, has: np.ndarray, t: int, bundle: float):
    """(allowed, term), each (R, N, K), from the prerequisites' adoption years.

    ``parent_year[..., k]`` is the adoption year of the prerequisite of ``k``
    (any value where ``has[k]`` is False), including this year's earlier
    layers; see the module docstring for the rule.
    """
    allowed = ~has | (parent_year <= t)
    term = np.where(has & (parent_year == t), bundle, 0.0)
    return allowed, term


class Prerequisites(Mechanism):
    name = "prerequisites"
    summary = "a protocol needs its treaty first; the two are often ratified together"
    linear = ("bundle",)
    params = {"bundle": Real(2.0, -10.0, 20.0, "log-odds in the year the prerequisite is adopted", expected=1)}

    def __init__(self, world, p, transforms=None):
        super().__init__(world, p, transforms)
        self.has = world.requires >= 0
        self.parent_index = np.where(self.has, world.requires, 0)
        self.bundle = float(p.bundle)
        self._subsets: dict[bytes, tuple] = {}  # per decision layer: (has, parent index) of its instruments

    def order(self):
        return layers(self.world.requires)

    def gates(self, idx):
        return bool(self.has[idx].any())

    def reads_adoptions(self):
        K = len(self.world.instruments)
        r = np.zeros((K, K), dtype=bool)
        r[np.flatnonzero(self.has), self.world.requires[self.has]] = True  # a protocol reads its treaty
        return r

    def gate(self, ti, view, idx):
        """(allowed, term) of instruments ``idx``: the rule of the module docstring."""
        key = idx.tobytes()
        sub = self._subsets.get(key)
        if sub is None:
            sub = self._subsets[key] = (self.has[idx], self.parent_index[idx]) if self.has[idx].any() else None
        if sub is None:
            return None
        return gate(view.adoption_years(sub[1]), sub[0], view.t, self.bundle)

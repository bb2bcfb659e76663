"""The yearly adoption step, shared by every engine and by the likelihood.

:class:`Dynamics` binds a scenario's mechanisms to a :class:`~harmsim.world.World`
and exposes the model's one definition of a year:

1. agreements that are due arrive (``before_year`` hooks);
2. every state at risk (a member, the instrument open, not yet adopted) gets
   the log-odds ``eta = intercept[k] + sum of mechanism terms``, computed on
   the history at the end of the previous year (synchronous update);
3. instruments are decided layer by layer in prerequisite order: a layer's
   prerequisite gate and bundling term see the earlier layers' adoptions of
   this same year;
4. state ``i`` adopts ``k`` when ``u[i, k] < expit(eta[i, k])``, with ``u``
   the run's uniform draws for that year, one per (state, instrument) cell,
   drawn whether or not the cell is at risk.

Every array carries a leading replicate axis ``R``. The Mesa model calls
:meth:`Dynamics.step` with ``R = 1``; the batch engine with many replicates.
Because the draws of a replicate come from its own seed in the same order,
both give identical histories.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
from scipy.special import expit

from .mechanisms import REGISTRY, Mechanism, State
from .mechanisms.prerequisites import layers
from .params import InstrumentMap, Real
from .world import NEVER, YEAR, World

__all__ = ["HAZARD_PARAMS", "Dynamics"]

HAZARD_PARAMS = {
    "intercept": Real(-3.5, -20.0, 10.0, "baseline log-odds of adopting in a year"),
    "offsets": InstrumentMap(0.0, -20.0, 20.0, "per-instrument shift of the intercept"),
}


class Dynamics:
    """A scenario's mechanisms bound to a world: the model's yearly step."""

    def __init__(self, world: World, scenario):
        self.world = world
        self.scenario = scenario
        self.mechanisms = [REGISTRY[name](world, p) for name, p in scenario.mechanisms]
        by_name = {m.name: m for m in self.mechanisms}
        self.prereq = by_name.get("prerequisites")
        self.agreements = by_name.get("agreements")
        self.hooks = [m for m in self.mechanisms if _overrides(m, "before_year")]
        self.dynamic_terms = [m for m in self.mechanisms if _overrides(m, "dynamic")]
        K = len(world.instruments)
        groups = layers(world.requires) if self.prereq else [np.arange(K)]
        #: instrument indices of each prerequisite layer, decided in this order, and their masks
        self.layers = groups
        self.layer_masks = [np.isin(np.arange(K), g) for g in groups]

    @cached_property
    def intercept(self) -> np.ndarray:
        """(K,) baseline log-odds per instrument."""
        h = self.scenario.hazard
        offsets = dict(h.offsets)
        return np.array([h.intercept + offsets.get(k, 0.0) for k in self.world.instruments])

    @cached_property
    def static_logit(self) -> np.ndarray:
        """(T, N, K) intercepts plus every state-independent term."""
        T, N, K = self.world.shape
        eta = np.broadcast_to(self.intercept, (T, N, K)).copy()
        for m in self.mechanisms:
            s = m.static()
            if s is not None:
                eta += s
        return eta

    def initial_state(self, replicates: int) -> State:
        """The history at the start of the window, for ``replicates`` copies."""
        w = self.world
        R = replicates
        M = len(w.agreements)
        arrival = np.full(M, NEVER, dtype=YEAR)
        open_year = w.opens.astype(np.int64).copy()
        if self.agreements is not None:
            arrival = self.agreements.initial_arrival()
            if self.agreements.endogenous:
                for k, m in enumerate(w.opened_by):
                    if m >= 0:
                        open_year[k] = arrival[m] if arrival[m] != NEVER else NEVER
        return State(
            adopt_year=np.broadcast_to(w.initial, (R, *w.initial.shape)).copy(),
            arrival=np.broadcast_to(arrival, (R, M)).copy(),
            open_year=np.broadcast_to(open_year, (R, len(open_year))).copy(),
        )

    def logit(self, ti: int, state: State) -> np.ndarray:
        """Log-odds from the history at the start of year index ``ti``, broadcastable to (R, N, K)."""
        eta = self.static_logit[ti][None]
        for m in self.dynamic_terms:
            d = m.dynamic(ti, state)
            if d is not None:
                eta = eta + d
        return eta  # (1, N, K) when no term depends on the history: broadcasts

    @cached_property
    def _static_open(self) -> np.ndarray | None:
        """(T, N, K) member and instrument open, when openings do not depend on the history."""
        if self.agreements is not None and self.agreements.endogenous:
            return None
        w = self.world
        return w.member[:, :, None] & (w.opens[None, None, :] <= w.years[:, None, None])

    def at_risk(self, ti: int, state: State) -> np.ndarray:
        """(R, N, K) cells that may adopt this year, before prerequisite gates."""
        static = self._static_open
        if static is not None:
            return static[ti] & (state.adopt_year == NEVER)
        t = self.world.years[ti]
        return self.world.member[ti][None, :, None] & (state.open_year[:, None, :] <= t) & (state.adopt_year == NEVER)

    def begin_year(self, ti: int, state: State) -> None:
        """Run the start-of-year hooks (agreement arrivals)."""
        for m in self.hooks:
            m.before_year(ti, state)

    def step(self, ti: int, state: State, draws: np.ndarray) -> np.ndarray:
        """Advance ``state`` through year index ``ti``; return the (R, N, K) new adoptions."""
        t = int(self.world.years[ti])
        self.begin_year(ti, state)
        eta = self.logit(ti, state)
        risk = self.at_risk(ti, state)
        # First layer (no prerequisites): on the whole array, masked to its columns.
        new = risk & (draws < expit(eta))
        if len(self.layers) > 1:
            new &= self.layer_masks[0]
        np.putmask(state.adopt_year, new, t)
        # Later layers: only their own columns, seeing this year's earlier adoptions.
        ay = state.adopt_year
        for idx in self.layers[1:]:
            if not risk[..., idx].any():  # common in small runs: skip the gate
                continue
            allowed, term = self.prereq.gate(ay, t, idx)
            e = eta[..., idx] + term  # eta may be (1, N, K): broadcasts
            adopt = risk[..., idx] & allowed & (draws[..., idx] < expit(e))
            sub = ay[..., idx]
            sub[adopt] = t
            ay[..., idx] = sub
            new[..., idx] = adopt
        return new


def _overrides(m, method: str) -> bool:
    return getattr(type(m), method) is not getattr(Mechanism, method)

"""The batch engine: many replicates of one scenario at once, over arrays.

Replicate ``r`` draws its uniforms from its own seed's ``adoption`` stream in
the same order as the Mesa model (year by year, one per state and
instrument), and every year goes through the same
:meth:`~harmsim.dynamics.Dynamics.step`; so replicate ``r`` equals
``harmsim.run(scenario, seed=seeds[r])`` exactly, while the Python overhead
is paid once per year for all replicates instead of once per agent.

Replicates are processed in chunks to bound memory.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .dynamics import Rows
from .errors import ConfigError
from .rng import stream
from .world import YEAR

__all__ = ["simulate"]

CHUNK = 512  # replicates per block: small blocks stay in cache (measured fastest)


def simulate(
    scenario, seeds: Sequence[int], progress=None, clamp=None, latent=None, rows=None
) -> tuple[np.ndarray, np.ndarray]:
    """Adoption years (R, N, K) and agreement arrival years (R, M) for ``seeds``.

    ``clamp`` (:class:`~harmsim.dynamics.Clamp`) conditions every replicate on a
    known history; the draws are the same with or without it. ``latent`` (R, N, C)
    replaces the states' propensities each seed would draw (e.g. draws from
    their posterior given the record, for a forecast). ``rows`` (R scenarios,
    variants of ``scenario``) gives each replicate its own parameters
    (:class:`~harmsim.dynamics.Rows`): replicate r equals
    ``simulate(rows[r], [seeds[r]])``; rows that differ in a non-linear
    parameter raise ConfigError.
    """
    if rows is not None:
        rows = list(rows)
        if len(rows) != len(seeds):
            raise ConfigError(f"{len(rows)} parameter rows for {len(seeds)} seeds")
        Rows(rows)  # refuse rows the parameter axis cannot carry, before any work
    dyn = scenario.dynamics
    T, N, K = scenario.world.shape
    M = len(scenario.world.agreements)
    R = len(seeds)
    adopt = np.empty((R, N, K), dtype=YEAR)
    arrival = np.empty((R, M), dtype=YEAR)
    for lo in range(0, R, CHUNK):
        chunk = seeds[lo : lo + CHUNK]
        if rows is not None:
            dyn = Rows(rows[lo : lo + CHUNK])
        draws = np.empty((len(chunk), T, N, K))
        for j, s in enumerate(chunk):
            stream(s, "adoption").random(out=draws[j])
        z = dyn.latent_draws(chunk) if latent is None else latent[lo : lo + len(chunk)]
        state = dyn.initial_state(len(chunk), clamp, z)
        for ti in range(T):
            dyn.step(ti, state, draws[:, ti], clamp=clamp)
        adopt[lo : lo + len(chunk)] = state.adopt_year
        arrival[lo : lo + len(chunk)] = state.arrival
        if progress is not None:
            progress(len(chunk))
    return adopt, arrival

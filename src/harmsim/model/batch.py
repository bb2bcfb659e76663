"""The batch engine: many replicates of one scenario at once, over arrays.

Replicate ``r`` takes its cells' thresholds from its own seed's
counter-based ``adoption`` stream with the same function as the Mesa model
(:meth:`~harmsim.model.dynamics.Dynamics.thresholds`, computed for all replicates
at once), and every year goes through the same
:meth:`~harmsim.model.dynamics.Dynamics.step`; so replicate ``r`` equals
``harmsim.run(scenario, seed=seeds[r])`` exactly, while the Python overhead
is paid once per year for all replicates instead of once per agent.

Replicates are processed in chunks to bound memory.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pandas.api.types import is_numeric_dtype

from harmsim.data.world import YEAR
from harmsim.errors import ConfigError
from harmsim.model.dynamics import Rows

__all__ = ["simulate"]

CHUNK = 1024  # replicates per block: fewer Python calls per replicate, arrays still in cache (measured fastest)


def simulate(
    scenario, seeds: Sequence[int], progress=None, clamp=None, latent=None, rows=None, shared=None
) -> tuple[np.ndarray, np.ndarray]:
    """Adoption years (R, N, K) and agreement arrival years (R, M) for ``seeds``.

    ``clamp`` (:class:`~harmsim.model.dynamics.Clamp`) conditions every replicate on a
    known history; the draws are the same with or without it. ``latent`` (R, N, C)
    replaces the states' propensities each seed would draw (e.g. draws from
    their posterior given the record, for a forecast). ``rows`` gives each
    replicate its own parameters (:class:`~harmsim.model.dynamics.Rows`): R
    scenarios (variants of ``scenario``), or a DataFrame with one column per
    dotted parameter name and one row per replicate (the other parameters as
    in ``scenario``). ``shared`` (R, O) likewise replaces the organizations'
    intercepts (:mod:`harmsim.model.mechanisms.organizations`). Replicate r equals
    ``simulate(row_r, [seeds[r]])``, whatever parameters differ (linear coefficients, thresholds, lags, choices).

    >>> import harmsim, pandas as pd
    >>> sc = harmsim.load_scenario("baseline")
    >>> seeds = harmsim.spawn_seeds(1, 3)
    >>> rows = pd.DataFrame({"diffusion.strength": [0.0, 1.0, 2.0]})
    >>> adopt, _ = simulate(sc, seeds, rows=rows)
    >>> one, _ = simulate(sc.with_params({"diffusion.strength": 2.0}), seeds[2:])
    >>> bool((adopt[2] == one[0]).all())
    True
    """
    matrix = None
    if rows is not None and hasattr(rows, "columns") and not all(is_numeric_dtype(t) for t in rows.dtypes):
        rows = [scenario.with_params(v) for v in rows.to_dict("records")]  # choices: a scenario per row, checked
    if rows is not None:
        if hasattr(rows, "columns"):  # a DataFrame of values
            names, matrix = [str(c) for c in rows.columns], rows.to_numpy(dtype=float)
            if len(matrix) != len(seeds):
                raise ConfigError(f"{len(matrix)} parameter rows for {len(seeds)} seeds")
            # refuse unknown names, and rows that change decision layers, before any work: two rows in which every
            # varying column varies
            probe = np.repeat(matrix[:1], 2, axis=0)
            for j in range(matrix.shape[1]):
                other = np.flatnonzero(matrix[:, j] != matrix[0, j])
                if len(other):
                    probe[1, j] = matrix[other[0], j]
            Rows.from_values(scenario, names, probe)
        else:
            rows = list(rows)
            if len(rows) != len(seeds):
                raise ConfigError(f"{len(rows)} parameter rows for {len(seeds)} seeds")
            Rows(rows)  # refuse rows of another world or list of mechanisms before any work
    dyn = scenario.dynamics
    T, N, K = scenario.world.shape
    M = len(scenario.world.agreements)
    R = len(seeds)
    adopt = np.empty((R, N, K), dtype=YEAR)
    arrival = np.empty((R, M), dtype=YEAR)
    for lo in range(0, R, CHUNK):
        chunk = seeds[lo : lo + CHUNK]
        if matrix is not None:
            dyn = Rows.from_values(scenario, names, matrix[lo : lo + CHUNK])
        elif rows is not None:
            dyn = Rows(rows[lo : lo + CHUNK])
        z = dyn.latent_draws(chunk) if latent is None else latent[lo : lo + len(chunk)]
        v = dyn.shared_draws(chunk) if shared is None else shared[lo : lo + len(chunk)]
        state = dyn.initial_state(len(chunk), clamp, z, dyn.thresholds(chunk), v)
        for ti in range(T):
            dyn.step(ti, state, clamp=clamp)
        adopt[lo : lo + len(chunk)] = state.adopt_year
        arrival[lo : lo + len(chunk)] = state.arrival
        if progress is not None:
            progress(len(chunk))
    return adopt, arrival

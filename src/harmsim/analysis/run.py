"""Running the model: ``run`` (one Mesa run) and ``run_ensemble`` (many replicates).

These two pure functions of (scenario, seed) are what everything else calls:
the CLI, comparisons, and later sweeps and calibration.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from harmsim._limits import check_memory
from harmsim.data.world import YEAR
from harmsim.errors import ConfigError
from harmsim.model import batch
from harmsim.model.tables import tidy_adoptions, tidy_agreements
from harmsim.output.results import EnsembleResult, RunResult, provenance
from harmsim.rng import SeedLike, seed_record, spawn_seeds

__all__ = ["ENGINES", "run", "run_draws", "run_ensemble"]

ENGINES = ("batch", "mesa")


def run(scenario, seed: SeedLike) -> RunResult:
    """Run the Mesa model once.

    >>> import harmsim
    >>> res = harmsim.run(harmsim.load_scenario("baseline"), seed=0)
    >>> list(res.adoptions.columns)
    ['state', 'instrument', 'year']
    >>> res.model.year
    2015
    """
    from harmsim.model.mesa_model import HarmonizationModel  # Mesa is imported when a Mesa model is made, not before

    model = HarmonizationModel(scenario, rng=seed)
    model.run_model()
    seed_rec = seed_record(seed)  # a child SeedSequence keeps its spawn key: the record reproduces the run
    return RunResult(
        adoptions=model.adoptions(),
        agreements=model.agreement_years(),
        seed=seed_rec,
        scenario=scenario,
        model=model,
        provenance=provenance(scenario, [seed_rec], "mesa"),
    )


#: memory per simulated state-instrument cell: the engine's arrays and the tidy adoption table (measured, rounded up)
_BYTES_PER_CELL = 64


def run_ensemble(
    scenario,
    seeds: Sequence[int] | None = None,
    *,
    replicates: int | None = None,
    seed: SeedLike | None = None,
    engine: str = "batch",
    progress: Callable[[int], None] | None = None,
) -> EnsembleResult:
    """Run many replicates: give ``seeds``, or ``replicates`` and a root ``seed``.

    With ``replicates=R, seed=S`` the R seeds are spawned from S with
    :class:`numpy.random.SeedSequence` (see :func:`harmsim.rng.spawn_seeds`).
    Replicate ``i`` equals ``run(scenario, seed=seeds[i])`` on either engine.

    >>> import harmsim
    >>> ens = harmsim.run_ensemble(harmsim.load_scenario("baseline"), replicates=3, seed=1)
    >>> ens.replicates, sorted(ens.adoptions.columns)
    (3, ['instrument', 'replicate', 'seed', 'state', 'year'])
    """
    if engine not in ENGINES:
        raise ConfigError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if seeds is None:
        if replicates is None or seed is None:
            raise ConfigError("give either seeds=[...] or both replicates=R and seed=S")
        if isinstance(replicates, int) and not isinstance(replicates, bool) and replicates > 0:
            N, K = len(scenario.world.states), len(scenario.world.instruments)
            check_memory(
                replicates * N * K * _BYTES_PER_CELL, f"{replicates:,} replicates of {N} states x {K} instruments"
            )
        seeds = spawn_seeds(seed, replicates)
    elif replicates is not None or seed is not None:
        raise ConfigError("give either seeds=[...] or replicates=R with seed=S, not both")
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ConfigError("an ensemble needs at least one seed")
    if any(s < 0 for s in seeds):
        raise ConfigError("seeds must be non-negative integers")
    w = scenario.world
    if engine == "batch":
        adopt, arrival = batch.simulate(scenario, seeds, progress)
    else:
        from harmsim.model.mesa_model import HarmonizationModel

        adopt = np.empty((len(seeds), *w.initial.shape), dtype=YEAR)
        arrival = np.empty((len(seeds), len(w.agreements)), dtype=YEAR)
        for r, s in enumerate(seeds):
            m = HarmonizationModel(scenario, rng=s, collect=False)
            m.run_model()
            adopt[r], arrival[r] = m.state.adopt_year[0], m.state.arrival[0]
            if progress is not None:
                progress(1)
    return EnsembleResult(
        adoptions=tidy_adoptions(w, adopt, seeds),
        agreements=tidy_agreements(w, scenario.dynamics, arrival, seeds),
        seeds=tuple(seeds),
        scenario=scenario,
        provenance=provenance(scenario, seeds, engine),
    )


def run_draws(
    scenario, draws, seeds: Sequence[int], clamp=None, workers: int = 1, latent=None, shared=None
) -> tuple[np.ndarray, np.ndarray]:
    """Replicate ``r`` with the parameters of row ``r`` of ``draws`` and seed ``seeds[r]``, on the batch engine.

    ``draws`` is a DataFrame of flat parameter names (one row per replicate;
    None: the scenario's own values for all). Returns adoption years (R, N, K)
    and agreement arrivals (R, M). Replicate ``r`` equals
    ``run_ensemble(scenario.with_params(draws.iloc[r]), seeds=[seeds[r]])``, on
    any number of ``workers`` (processes). ``latent`` (R, N, C) sets the states'
    propensities of each replicate (default: drawn from its seed), ``shared``
    (R, O) the organizations' intercepts likewise.

    >>> import harmsim, pandas as pd
    >>> sc = harmsim.load_scenario("baseline")
    >>> adopt, arrival = run_draws(sc, pd.DataFrame({"diffusion.strength": [0.0, 2.0]}), seeds=[5, 6])
    >>> adopt.shape, arrival.shape  # (replicates, states, instruments), (replicates, agreements)
    ((2, 11, 6), (2, 10))
    >>> one, _ = run_draws(sc.with_params({"diffusion.strength": 2.0}), None, [6])
    >>> bool((one[0] == adopt[1]).all())  # replicate 1: row 1's values with seed 6
    True
    """
    seeds = [int(s) for s in seeds]
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers must be a positive integer, got {workers!r}")
    if workers > 1 and len(seeds) > 1:
        return _run_draws_pool(scenario, draws, seeds, clamp, workers, latent, shared)
    if draws is None:
        return batch.simulate(scenario, seeds, clamp=clamp, latent=latent, shared=shared)
    if len(draws) != len(seeds):
        raise ConfigError(f"{len(draws)} parameter sets for {len(seeds)} seeds: give one per replicate")
    # the parameter axis: every replicate's parameters in one engine call, whatever differs between them
    return batch.simulate(scenario, seeds, clamp=clamp, latent=latent, rows=draws, shared=shared)


def _run_draws_pool(scenario, draws, seeds, clamp, workers, latent, shared):
    import itertools

    from harmsim._workers import process_pool

    bounds = np.linspace(0, len(seeds), min(workers * 4, len(seeds)) + 1).astype(int)
    parts = [(lo, hi) for lo, hi in itertools.pairwise(bounds) if hi > lo]
    with process_pool(workers) as pool:
        futures = [
            pool.submit(
                run_draws,
                scenario,
                None if draws is None else draws.iloc[lo:hi],
                seeds[lo:hi],
                clamp,
                1,
                None if latent is None else latent[lo:hi],
                None if shared is None else shared[lo:hi],
            )
            for lo, hi in parts
        ]
        results = [f.result() for f in futures]
    return np.concatenate([a for a, _ in results]), np.concatenate([g for _, g in results])

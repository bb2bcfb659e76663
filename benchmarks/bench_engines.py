"""Engine speed, measured side by side in one run (ratios, not absolute times).

    python benchmarks/bench_engines.py [--quick]

Prints:
1. the Mesa engine against a minimal Mesa model of the same size (10 agents,
   19 steps, three uniform draws per agent and step), with and without the
   per-year DataCollector;
2. the batch engine against the Mesa engine (runs per second, one core), and
   against the cost of drawing one uniform per state, instrument and year in
   bulk, into an array the size of one engine block (the bound named in the
   engine's goals; also as first measured, into a fresh 10-million-number
   array, page faults included); beside it, the cost of the engine's own
   draws (one counter-based threshold per state and instrument, all
   replicates at once) and of the former design (a SeedSequence-keyed
   generator per replicate, one uniform per cell and year);
3. batch cost against region size (synthetic regions of 10, 50, 200 states);
4. time and peak traced memory of a 1e5-run ensemble;
5. the parameter axis against one parameter set for all.

Sections 1 and 2 report CPU time of this process, the least of many blocks,
candidates measured in turns: on a shared machine other work only adds time.
"""

from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")  # one core

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import harmsim  # noqa: E402
import harmsim.rng  # noqa: E402
from harmsim._mesa import mesa  # noqa: E402
from harmsim.model import HarmonizationModel, batch  # noqa: E402
from harmsim.model.synthetic import synthetic_region, synthetic_scenario  # noqa: E402


class _Agent(mesa.Agent):
    def step(self):
        r = self.model.rng
        self.x = r.random() + r.random() + r.random()


class MinimalModel(mesa.Model):
    """The reference: 10 agents, a few draws each per step."""

    def __init__(self, seed):
        super().__init__(rng=seed)
        _Agent.create_agents(self, 10)

    def step(self):
        self.agents.shuffle_do("step")


def per_run(fn, n, blocks=5):
    """Least CPU seconds per call over ``blocks`` blocks of ``n`` calls.

    CPU time of this process, and the least block: on a shared machine other
    work only ever adds time, so the least is the figure it disturbed least.
    """
    out = []
    for b in range(blocks):
        t = time.process_time()
        for i in range(n):
            fn(b * n + i)
        out.append((time.process_time() - t) / n)
    return min(out)


def interleaved(fns: dict, rounds: int) -> dict:
    """Least CPU seconds of each of ``fns`` (name -> call), measured in turns, ``rounds`` times each.

    Measured in turns, a slow spell of the machine falls on every candidate alike.
    """
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(rounds):
        for name, fn in fns.items():
            t = time.process_time()
            fn()
            best[name] = min(best[name], time.process_time() - t)
    return best


def minimal(seed):
    m = MinimalModel(seed)
    for _ in range(19):
        m.step()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    args = ap.parse_args(argv)
    q = args.quick
    sc = harmsim.load_scenario("baseline")
    T, N, K = sc.world.shape
    print(
        f"harmsim {harmsim.__version__}, Mesa {mesa.__version__}, numpy {np.__version__}, "
        f"Python {sys.version.split()[0]}; scenario baseline: {T} years x {N} states x {K} instruments\n"
    )

    n = 40 if q else 100
    blocks = 5 if q else 15
    t_min = per_run(minimal, n, blocks)
    t_mesa = per_run(lambda s: HarmonizationModel(sc, rng=s).run_model(), n, blocks)
    t_mesa_nc = per_run(lambda s: HarmonizationModel(sc, rng=s, collect=False).run_model(), n, blocks)
    t_min = min(t_min, per_run(minimal, n, blocks))  # the reference again, after: the least of both
    print("1. Mesa engine against a minimal Mesa model (10 agents, 19 steps, 3 draws/agent/step; CPU time, least")
    print(f"   of {blocks} blocks of {n} runs)")
    print(f"   minimal Mesa model          {t_min * 1e3:7.3f} ms/run")
    print(f"   harmsim, DataCollector on   {t_mesa * 1e3:7.3f} ms/run   ratio {t_mesa / t_min:5.2f}x")
    print(
        f"   harmsim, collect=False      {t_mesa_nc * 1e3:7.3f} ms/run   ratio {t_mesa_nc / t_min:5.2f}x  "
        "(goal <= 2x)\n"
    )

    R = 4 * batch.CHUNK if q else 10 * batch.CHUNK
    seeds = harmsim.spawn_seeds(1, R)
    batch.simulate(sc, seeds[: batch.CHUNK])  # compiled arrays and caches, once
    g = np.random.default_rng(0)
    block = np.empty(batch.CHUNK * T * N * K)  # the uniforms one engine block would draw
    best = interleaved(
        {
            "batch": lambda: batch.simulate(sc, seeds),
            "bound": lambda: g.random(out=block),
            "fresh": lambda: g.random(10_000_000),
        },
        rounds=5 if q else 15,
    )
    t_batch = best["batch"] / R
    per_draw = best["bound"] / block.size
    bound = 1 / (per_draw * T * N * K)
    bound_fresh = 1 / (best["fresh"] / 10_000_000 * T * N * K)
    k = len(seeds)

    def former_draws():
        for s in seeds:
            harmsim.rng.stream(s, "adoption").random((T, N, K))

    def own_draws():
        for lo in range(0, k, batch.CHUNK):
            sc.dynamics.thresholds(seeds[lo : lo + batch.CHUNK])

    draws = interleaved({"former": former_draws, "own": own_draws}, rounds=3)
    former, own = k / draws["former"], k / draws["own"]
    print("2. Batch engine against the Mesa engine (one core)")
    print(f"   Mesa engine (collect=False) {1 / t_mesa_nc:9.0f} runs/s")
    print(
        f"   batch engine                {1 / t_batch:9.0f} runs/s   ratio {t_mesa_nc / t_batch:5.1f}x  (goal >= 50x)"
    )
    print(
        f"   draw-cost bound             {bound:9.0f} runs/s   ({1 / per_draw / 1e6:.0f}e6 uniform draws/s into an "
        f"array of one engine block, {T * N * K} draws per run);\n"
        f"                                                batch at {bound * t_batch:4.1f}x the bound (goal <= 3x)"
    )
    print(
        f"   the bound as first measured {bound_fresh:9.0f} runs/s   (10e6 draws into a fresh array: page faults "
        f"included); batch at {bound_fresh * t_batch:4.1f}x"
    )
    print(
        f"   the engine's draws alone    {own:9.0f} runs/s   ({N * K} counter-based thresholds per run: "
        f"{100 / (own * t_batch):.1f}% of the batch engine's time)"
    )
    print(
        f"   former draws alone          {former:9.0f} runs/s   (a SeedSequence-keyed generator per replicate, "
        f"{T * N * K} uniforms)\n"
    )

    print("3. Batch cost against region size (synthetic regions, 6 instruments, 20 years)")
    base = None
    for n_states in (10, 50, 200):
        ssc = synthetic_scenario(synthetic_region(n_states, 6, seed=1))
        reps = 2_000 if q else 10_000
        s2 = harmsim.spawn_seeds(2, reps)
        batch.simulate(ssc, s2[:100])
        t = time.perf_counter()
        batch.simulate(ssc, s2)
        per = (time.perf_counter() - t) / reps
        cells = np.prod(ssc.world.shape)
        base = base or per / cells
        print(
            f"   {n_states:4d} states  {per * 1e6:9.1f} us/run  {per / cells * 1e9:6.1f} ns per year-state-"
            f"instrument cell  ({per / cells / base:4.2f}x the 10-state cost per cell)"
        )

    R = 20_000 if q else 100_000
    seeds = harmsim.spawn_seeds(3, R)
    t = time.perf_counter()
    ens = harmsim.run_ensemble(sc, seeds=seeds)
    elapsed = time.perf_counter() - t
    rows = len(ens.adoptions)
    table_mib = ens.adoptions.memory_usage(deep=True).sum() / 2**20
    del ens
    tracemalloc.start()
    batch.simulate(sc, seeds)
    peak_engine = tracemalloc.get_traced_memory()[1]
    tracemalloc.reset_peak()
    harmsim.run_ensemble(sc, seeds=seeds)
    peak_all = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"\n4. Ensemble of {R:,} runs: {elapsed:.1f} s including its tidy table ({rows:,} rows, {table_mib:.0f} MiB)")
    print(
        f"   peak traced memory: engine alone {peak_engine / 2**20:.0f} MiB, "
        f"run_ensemble with the table {peak_all / 2**20:.0f} MiB"
    )
    parameter_axis(sc, 1000 if q else 5000)


def parameter_axis(sc, R: int) -> None:
    """5. One parameter set per replicate (the parameter axis) against one set for all, and one call per set."""
    from harmsim.model.space import bounds_of

    names = ["hazard.intercept", "diffusion.strength", "agreements.nonbinding", "push_pull.migration"]
    g = np.random.default_rng(np.random.SeedSequence(5))
    values = [{n: float(g.uniform(*bounds_of(sc, n)) * 0.1) for n in names} for _ in range(R)]
    rows = [sc.with_checked_values(v) for v in values]
    table = pd.DataFrame(values)
    seeds = harmsim.spawn_seeds(9, R)
    t = time.perf_counter()
    batch.simulate(sc, seeds)
    fixed = R / (time.perf_counter() - t)
    t = time.perf_counter()
    batch.simulate(sc, seeds, rows=table)
    axis = R / (time.perf_counter() - t)
    t = time.perf_counter()
    batch.simulate(sc, seeds, rows=rows)
    axis_sc = R / (time.perf_counter() - t)
    n = min(R, 500)
    t = time.perf_counter()
    for row, s in zip(rows[:n], seeds[:n]):
        batch.simulate(row, [s])
    one = n / (time.perf_counter() - t)
    print(f"\n5. {R:,} replicates, a parameter set each (4 parameters varied), 1 process:")
    print(f"   one set for all           {fixed:10,.0f} runs/s")
    ratio = axis / fixed
    print(f"   a set per replicate, axis {axis:10,.0f} runs/s ({ratio:.2f} of the fixed-parameter engine; goal 0.5)")
    print(f"     the same rows as scenarios {axis_sc:7,.0f} runs/s ({axis_sc / fixed:.2f}; a Scenario object per row)")
    print(f"   one call per set          {one:10,.0f} runs/s ({one / fixed:.2f})")


if __name__ == "__main__":
    main()

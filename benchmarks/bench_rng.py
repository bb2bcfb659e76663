"""How the batch engine could draw its uniforms faster: candidate generators, measured side by side in one run.

    python benchmarks/bench_rng.py [--replicates 20000]

The batch engine draws, for each replicate, T x N x K uniforms from the
replicate's own ``adoption`` stream (a PCG64 generator keyed by a
SeedSequence of its seed), so that replicate i equals ``run(seed_i)``. This
prints, per replicate of the baseline's shape and against drawing the same
number of uniforms in bulk (the bound):

1. today: a SeedSequence-keyed PCG64 per replicate (``harmsim.rng.stream``);
2. the SeedSequence hashing alone;
3. a Philox generator keyed directly by the seed (a counter-based generator: no
   SeedSequence, still one generator object per replicate);
4. a counter-based hash computed for all replicates at once (SplitMix64 of
   seed, stream and counter, in numpy): no per-replicate Python work; the Mesa
   model would compute the same hash for one replicate.

Measure before choosing: a candidate must keep replicate i identical in both
engines, and every stored result (regression baselines, documented figures)
changes with the generator.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import harmsim
from harmsim.rng import stream

_M1, _M2, _GOLD = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB), np.uint64(0x9E3779B97F4A7C15)


def _splitmix(x: np.ndarray) -> np.ndarray:
    x = x + _GOLD
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def counter_uniforms(seeds: np.ndarray, stream_key: int, n: int) -> np.ndarray:
    """(R, n) uniforms in [0, 1): SplitMix64(SplitMix64(seed ^ key) + counter), 53 bits each.

    Computed in place on one buffer (each temporary array is a pass over memory).
    """
    with np.errstate(over="ignore"):
        base = _splitmix(seeds.astype(np.uint64) ^ np.uint64(stream_key))
        x = np.add(base[:, None], np.arange(n, dtype=np.uint64)[None, :])
        tmp = np.empty_like(x)
        x += _GOLD
        np.right_shift(x, np.uint64(30), out=tmp)
        x ^= tmp
        x *= _M1
        np.right_shift(x, np.uint64(27), out=tmp)
        x ^= tmp
        x *= _M2
        np.right_shift(x, np.uint64(31), out=tmp)
        x ^= tmp
        x >>= np.uint64(11)
        u = x.astype(np.float64)
        u *= 1.0 / 2**53
    return u


def timed(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=20_000)
    a = ap.parse_args(argv)
    sc = harmsim.load_scenario("baseline")
    T, N, K = sc.world.shape
    R, n = a.replicates, T * N * K
    seeds = harmsim.spawn_seeds(1, R)
    out = np.empty((R, n))
    g = np.random.default_rng(np.random.SeedSequence(0))

    bound = timed(lambda: g.random(out=out))

    def today():
        for j, s in enumerate(seeds):
            stream(s, "adoption").random(out=out[j])

    def hashing():
        for s in seeds:
            np.random.SeedSequence(s, spawn_key=(7,)).generate_state(4)

    def philox():
        for j, s in enumerate(seeds):
            np.random.Generator(np.random.Philox(key=s)).random(out=out[j])

    arr = np.asarray(seeds, dtype=np.uint64)
    rows = [
        ("bulk draws (the bound)", bound),
        ("today: SeedSequence + PCG64 per replicate", timed(today)),
        ("  of which SeedSequence hashing", timed(hashing)),
        ("Philox keyed by the seed, per replicate", timed(philox)),
        ("counter-based hash, all replicates at once", timed(lambda: counter_uniforms(arr, 7, n))),
    ]
    print(f"{R:,} replicates x {n} uniforms (the baseline's {T} years x {N} states x {K} instruments)")
    for name, t in rows:
        print(f"{name:<45} {t * 1e6 / R:7.2f} us per replicate   ({t / bound:5.1f} x the bound)")
    u = counter_uniforms(arr[:1000], 7, n)
    print(f"counter-based uniforms: mean {u.mean():.4f} (0.5), sd {u.std():.4f} ({(1 / 12) ** 0.5:.4f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

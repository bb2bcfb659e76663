"""How the engines draw their randomness: the chosen design against the candidates, measured side by side in one run.

    python benchmarks/bench_rng.py [--replicates 20000]

Replicate i must equal ``run(seed_i)``, so each replicate's numbers depend
on its seed alone. Per replicate of the baseline's shape, against drawing
one uniform per state, instrument and year (T x N x K) in bulk from one
generator (the bound named in the engine's goals), this prints:

1. the former design: a SeedSequence-keyed PCG64 generator per replicate,
   T x N x K uniforms (and its SeedSequence hashing alone);
2. Philox keyed directly by the seed (no SeedSequence, still one generator
   object per replicate), T x N x K uniforms;
3. a counter-based hash (SplitMix64 of seed, stream and counter) for all
   replicates at once, T x N x K uniforms (one per cell and year);
4. harmsim's design: the same counter-based hash for N x K thresholds per
   replicate (one per cell for the whole run, ``Dynamics.thresholds``).
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
    dyn = sc.dynamics

    def thresholds():
        for lo in range(0, R, 512):  # the batch engine's blocks
            dyn.thresholds(seeds[lo : lo + 512])

    rows = [
        ("bulk draws (the bound)", bound),
        ("former: SeedSequence + PCG64 per replicate", timed(today)),
        ("  of which SeedSequence hashing", timed(hashing)),
        ("Philox keyed by the seed, per replicate", timed(philox)),
        ("counter-based hash, one per cell and year", timed(lambda: counter_uniforms(arr, 7, n))),
        (f"harmsim: counter-based, {N * K} thresholds", timed(thresholds)),
    ]
    print(f"{R:,} replicates x {n} uniforms (the baseline's {T} years x {N} states x {K} instruments)")
    for name, t in rows:
        print(f"{name:<45} {t * 1e6 / R:7.2f} us per replicate   ({t / bound:5.1f} x the bound)")
    u = counter_uniforms(arr[:1000], 7, n)
    print(f"counter-based uniforms: mean {u.mean():.4f} (0.5), sd {u.std():.4f} ({(1 / 12) ** 0.5:.4f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Seeds and random streams: the one place randomness is created.

harmsim never uses a global or unseeded generator. A run's seed is
normalised to a :class:`numpy.random.SeedSequence`; every consumer of
randomness gets its own *named stream* derived from it, so that adding a
draw in one place never shifts the draws of another. Replicate seeds are
derived from a root seed by a hash (never ``seed + i``) and exposed as plain
integers, so that replicate ``i`` of an ensemble can be rerun alone with
``harmsim.run(scenario, seed=seeds[i])``.

>>> from harmsim.rng import stream, spawn_seeds
>>> a = stream(7, "adoption").random(3)
>>> b = stream(7, "adoption").random(3)
>>> bool((a == b).all())
True
>>> len(set(spawn_seeds(7, 4)))
4
"""

from __future__ import annotations

import zlib

import numpy as np
from scipy.special import ndtri

from harmsim.errors import ConfigError

__all__ = [
    "SeedLike",
    "normals",
    "seed_record",
    "seed_sequence",
    "spawn_seeds",
    "stream",
    "stream_keys",
    "stream_seed",
    "uniforms",
]

SeedLike = int | np.integer | np.random.SeedSequence


def seed_sequence(seed: SeedLike) -> np.random.SeedSequence:
    """Normalise a seed (a non-negative integer or a SeedSequence).

    ``None`` is refused on purpose: an unseeded run cannot be reproduced.

    >>> seed_sequence(5).entropy
    5
    >>> seed_sequence(None)
    Traceback (most recent call last):
    ...
    harmsim.errors.ConfigError: seed must be a non-negative integer or numpy SeedSequence, got None
    """
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, dict) and set(seed) == {"entropy", "spawn_key"}:  # as :func:`seed_record` writes it
        try:
            return np.random.SeedSequence(seed["entropy"], spawn_key=tuple(int(k) for k in seed["spawn_key"]))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"seed {seed!r} is not a valid seed sequence: {exc}") from None
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise ConfigError(f"seed must be a non-negative integer or numpy SeedSequence, got {seed!r}")
    if seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed}")
    return np.random.SeedSequence(int(seed))


def seed_record(seed: SeedLike) -> int | dict:
    """What provenance records of a seed so that it reproduces the same draws.

    An integer stays an integer; a SeedSequence without a spawn key is its
    integer entropy; one with a spawn key (a child of another) is
    ``{"entropy": ..., "spawn_key": [...]}``, which :func:`seed_sequence`
    accepts back.

    >>> import numpy as np
    >>> seed_record(np.random.SeedSequence(5, spawn_key=(3,)))
    {'entropy': 5, 'spawn_key': [3]}
    >>> seed_record(7)
    7
    """
    ss = seed_sequence(seed)
    if not ss.spawn_key and isinstance(ss.entropy, (int, np.integer)):
        return int(ss.entropy)
    entropy = int(ss.entropy) if isinstance(ss.entropy, (int, np.integer)) else [int(e) for e in ss.entropy]
    return {"entropy": entropy, "spawn_key": [int(k) for k in ss.spawn_key]}


def _stream_key(name: str) -> int:
    # A stable integer per stream name (crc32 is fixed across platforms and runs).
    return zlib.crc32(name.encode("utf-8"))


def _child(seed: SeedLike, name: str) -> np.random.SeedSequence:
    if type(seed) is int and seed >= 0:  # fast path (hot in the batch engine), same sequence
        return np.random.SeedSequence(seed, spawn_key=(_stream_key(name),))
    ss = seed_sequence(seed)
    return np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, _stream_key(name)))


def stream(seed: SeedLike, name: str) -> np.random.Generator:
    """The named random stream of a run: a PCG64 Generator keyed by ``name``."""
    return np.random.Generator(np.random.PCG64(_child(seed, name)))


def stream_seed(seed: SeedLike, name: str) -> int:
    """A 63-bit integer seed for a library that wants an int (e.g. Mesa's own RNG).

    >>> a = stream_seed(0, "mesa")
    >>> a == stream_seed(0, "mesa"), a != stream_seed(1, "mesa"), 0 <= a < 2**63
    (True, True, True)
    """
    return _as_int(_child(seed, name))


def _as_int(ss: np.random.SeedSequence) -> int:
    hi, lo = ss.generate_state(2, np.uint32)
    return (int(hi) << 31) | (int(lo) >> 1)


def spawn_seeds(seed: SeedLike, n: int) -> list[int]:
    """``n`` independent replicate seeds derived from ``seed``, as 63-bit integers.

    Seed ``i`` is number ``i`` of ``seed``'s counter-based ``spawn`` stream
    (:func:`uniforms`' generator, all at once in numpy): the first seeds do
    not change when more are asked for, and nothing depends on the order in
    which replicates run.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ConfigError(f"the number of replicates must be a positive integer, got {n!r}")
    return (_counter(stream_keys([seed], "spawn"), int(n))[0] >> _S1).tolist()


# Counter-based draws: the engines' per-replicate randomness ------------------------------------
#
# The engines need a few dozen numbers per replicate (one per state and instrument), for
# thousands of replicates, each equal to what the replicate's seed gives alone. A generator
# object per replicate costs ~20 us in SeedSequence hashing and set-up, more than the
# replicate's whole simulation; a counter-based generator computes number j of replicate r
# as a hash of (key_r, j), for all replicates at once in numpy. The hash is SplitMix64
# (Steele, Lea & Flood 2014, "Fast splittable pseudorandom number generators", OOPSLA): the
# key is the state, number j is the finalizer of key + (j + 1) * golden gamma.

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11, _S1 = (np.uint64(k) for k in (30, 27, 31, 11, 1))


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finalizer on a fresh uint64 array, in place (wraps modulo 2**64)."""
    x ^= x >> _S30
    x *= _M1
    x ^= x >> _S27
    x *= _M2
    x ^= x >> _S31
    return x


def stream_keys(seeds, name: str) -> np.ndarray:
    """(R,) uint64 keys of the named counter-based stream of each seed.

    A seed that is an integer below 2**64 (what :func:`spawn_seeds` gives), or a
    SeedSequence holding only such an integer, is hashed with its stream name in
    numpy for all seeds at once; any other seed (a spawned SeedSequence, a larger
    integer) takes its key from its SeedSequence, one at a time. Either way a seed's
    key does not depend on the other seeds.

    >>> keys = stream_keys([1, 2, 3], "x")
    >>> keys.dtype, bool(stream_keys([2], "x")[0] == keys[1])
    (dtype('uint64'), True)
    >>> stream_keys(1, "x")
    Traceback (most recent call last):
    ...
    harmsim.errors.ConfigError: stream_keys: seeds must be a sequence (one per replicate), got 1
    """
    arr = np.asarray(seeds) if not isinstance(seeds, np.ndarray) else seeds
    if arr.ndim != 1:
        raise ConfigError(f"stream_keys: seeds must be a sequence (one per replicate), got {seeds!r}")
    if arr.ndim == 1 and arr.dtype.kind in "iu" and (arr.dtype.kind == "u" or arr.size == 0 or arr.min() >= 0):
        fast = arr.astype(np.uint64)
    else:
        fast = np.empty(len(seeds), dtype=np.uint64)
        slow = []
        for j, s in enumerate(seeds):
            ss = seed_sequence(s)
            if not ss.spawn_key and isinstance(ss.entropy, (int, np.integer)) and ss.entropy < 2**64:
                fast[j] = int(ss.entropy)
            else:
                slow.append(j)
                fast[j] = _child(ss, name).generate_state(1, np.uint64)[0]
        if slow:  # keys from a SeedSequence are already hashed with the name
            keys = _fast_keys(fast, name)
            keys[slow] = fast[slow]
            return keys
    return _fast_keys(fast, name)


def _fast_keys(seeds: np.ndarray, name: str) -> np.ndarray:
    with np.errstate(over="ignore"):
        k = _mix(seeds + _GAMMA)
        k ^= _mix(np.array([_stream_key(name)], dtype=np.uint64) * _GAMMA + _GAMMA)
        return _mix(k)


def uniforms(seeds, name: str, n: int) -> np.ndarray:
    """(R, n) uniforms on the open interval (0, 1) from each seed's named counter-based stream.

    Row r depends only on ``seeds[r]``, ``name`` and ``n``'s first values: the first
    numbers do not change when more are asked for.

    >>> u = uniforms([3, 4], "adoption", 5)
    >>> u.shape, bool(((u > 0) & (u < 1)).all())
    ((2, 5), True)
    >>> bool((uniforms([4], "adoption", 3) == u[1, :3]).all())
    True
    """
    x = _counter(stream_keys(seeds, name), n)
    x >>= _S11
    u = x.astype(np.float64)
    u += 0.5
    u *= 2.0**-53
    return u


def _counter(keys: np.ndarray, n: int) -> np.ndarray:
    """(R, n) uint64: SplitMix64's first ``n`` outputs from each key."""
    with np.errstate(over="ignore"):
        x = np.arange(1, n + 1, dtype=np.uint64) * _GAMMA
        x = keys[:, None] + x[None, :]
        return _mix(x)


def normals(seeds, name: str, n: int) -> np.ndarray:
    """(R, n) standard normals: the inverse normal CDF of :func:`uniforms`.

    Each row depends on its own seed alone, so a replicate draws the same
    values whichever others run beside it (any worker count, any batch).

    >>> z = normals([1, 2], "y", 3)
    >>> z.shape, bool((normals([2], "y", 3)[0] == z[1]).all())
    ((2, 3), True)
    """
    return ndtri(uniforms(seeds, name, n))

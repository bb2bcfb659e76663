"""Seeds and random streams: the one place randomness is created.

harmsim never uses a global or unseeded generator. A run's seed is
normalised to a :class:`numpy.random.SeedSequence`; every consumer of
randomness gets its own *named stream* derived from it, so that adding a
draw in one place never shifts the draws of another. Replicate seeds are
spawned from a root sequence (never ``seed + i``) and exposed as plain
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

from .errors import ConfigError

__all__ = ["SeedLike", "seed_record", "seed_sequence", "spawn_seeds", "stream", "stream_seed"]

SeedLike = int | np.integer | np.random.SeedSequence


def seed_sequence(seed: SeedLike) -> np.random.SeedSequence:
    """Normalise a seed (a non-negative integer or a SeedSequence).

    ``None`` is refused on purpose: an unseeded run cannot be reproduced.
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
    """A 63-bit integer seed for a library that wants an int (e.g. Mesa's own RNG)."""
    return _as_int(_child(seed, name))


def _as_int(ss: np.random.SeedSequence) -> int:
    hi, lo = ss.generate_state(2, np.uint32)
    return (int(hi) << 31) | (int(lo) >> 1)


def spawn_seeds(seed: SeedLike, n: int) -> list[int]:
    """``n`` independent replicate seeds spawned from ``seed``, as integers."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ConfigError(f"the number of replicates must be a positive integer, got {n!r}")
    ss = seed_sequence(seed)
    # Spawn from a fresh copy: SeedSequence.spawn counts its children, and the
    # caller's object must give the same seeds every time it is passed.
    root = np.random.SeedSequence(ss.entropy, spawn_key=ss.spawn_key)
    return [_as_int(child) for child in root.spawn(int(n))]

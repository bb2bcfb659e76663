"""One BLAS thread for a fit: estimates that do not depend on how many cores the machine has.

OpenBLAS splits a large matrix product over as many threads as the machine
has cores (or as ``OMP_NUM_THREADS`` allows), and the split changes the order
of the additions, so the last bit of a product depends on the thread count.
A maximum-likelihood fit of the world panel (188 states) carries that bit into
its optimizer's path and its stopping point: ``harmsim calibrate
world_baseline`` gave the binding effect 0.5150 with one thread and 0.5145
with two, the intercept -1.8113 and -1.8137 (measured on two cores; a Dask
worker, whose nanny sets ``OMP_NUM_THREADS=1``, agreed with the first, a local
process with the second). The ASEAN record's products are too small to be
split, and its fits were the same to the bit.

A fit therefore runs with BLAS held to one thread (:func:`one_blas_thread`),
wherever it runs: the same estimates on a laptop, a cluster node, a local
process or a Dask worker. One thread is no slower here (the world fit took
30.3 s with one thread and 31.8 s with two). What is left is the processor:
a machine whose OpenBLAS picks other kernels may still differ in the last
bits.
"""

from __future__ import annotations

import functools
import threading

__all__ = ["blas_threads", "one_blas_thread"]

_CONTROLLER = None
#: fits running now in this process's threads, and the limit the first of them set (restored by the last)
_LOCK = threading.Lock()
_RUNNING = 0
_LIMITER = None


def _controller():
    """The BLAS libraries loaded in this process, inspected once (numpy and scipy load theirs at import)."""
    global _CONTROLLER
    if _CONTROLLER is None:
        import scipy.linalg  # noqa: F401  (scipy's BLAS, if it has its own, is loaded before the inspection)
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


def one_blas_thread(func):
    """Decorate ``func`` to run with every BLAS library held to one thread, restored on return.

    The limit is the process's (BLAS has no other): while fits run in several threads of one process at once
    (a user's thread pool, a Dask worker with several threads), the first to start sets it and the last to
    end gives the caller's setting back, so none of them runs on more than one thread.

    >>> @one_blas_thread
    ... def threads():
    ...     return blas_threads()
    >>> set(threads()) <= {1}
    True
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        _hold()
        try:
            return func(*args, **kwargs)
        finally:
            _release()

    return wrapper


def _hold() -> None:
    global _RUNNING, _LIMITER
    with _LOCK:
        if _RUNNING == 0:
            _LIMITER = _controller().limit(limits=1, user_api="blas")
        _RUNNING += 1


def _release() -> None:
    global _RUNNING, _LIMITER
    with _LOCK:
        _RUNNING -= 1
        if _RUNNING == 0:
            _LIMITER.restore_original_limits()
            _LIMITER = None


def blas_threads() -> list[int]:
    """The thread count of every BLAS library loaded in this process (what a fit's arithmetic runs on).

    >>> all(n >= 1 for n in blas_threads())
    True
    """
    return [int(lib["num_threads"]) for lib in _controller().info() if lib.get("user_api") == "blas"]

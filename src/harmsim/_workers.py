"""Worker processes: how they are started, and what they keep between tasks of one job (a sweep, an ABC run).

Pools start their workers with ``spawn`` everywhere (:func:`process_pool`):
the same behaviour on Linux, macOS and Windows, and no copy of a parent's
threads or locks (a forked Dask or BLAS thread pool can hang).

A job pickles its big, read-only inputs (scenario, record) once and sends the
bytes with every task, keyed by a random token. A worker unpickles them for
the first task of a job and reuses them (with their compiled arrays) for the
rest. The token is a cache key only: it never enters a result.

Dask's nanny starts its workers with ``MALLOC_TRIM_THRESHOLD_`` set, which in
glibc also fixes the mmap threshold at 128 KiB: every block of the batch
engine (a few hundred KiB) then costs an mmap, an munmap and fresh page
faults, and a sweep ran 2.3 times slower on a Dask worker than in a pool
worker (measured). On such a worker harmsim raises the two thresholds once
(:func:`_arrays_from_the_heap`), which keeps memory returned to the system
above 32 MiB of free heap.
"""

from __future__ import annotations

import concurrent.futures as cf
import ctypes
import multiprocessing
import os
import pickle
import sys
import threading
import time
import uuid
from concurrent.futures.process import BrokenProcessPool

__all__ = ["POOL_BROKE", "WORKER_DIED", "job_inputs", "job_payload", "process_pool"]

#: what a pool that lost its workers at start-up usually means
POOL_BROKE = (
    "the worker processes stopped before doing any work; in a script, code that starts workers "
    '(workers > 1) must sit under `if __name__ == "__main__":` (they re-import the script)'
)

#: what the command line prints when a worker process died mid-job
WORKER_DIED = (
    "a worker process died before finishing its task (killed, or out of memory?); a sweep, a sensitivity "
    "analysis and a bindingness test keep what they finished: run the same command again to resume"
)


def process_pool(workers: int) -> cf.ProcessPoolExecutor:
    """A pool of ``workers`` spawned processes, each of which exits when the process that started it dies.

    The pool is returned only after one worker has started and run a trivial task. A worker that
    cannot start (most often: a script that starts workers outside ``if __name__ == "__main__":``,
    which every spawned worker re-imports and so re-runs) is then told as :class:`ConfigError`
    with :data:`POOL_BROKE`, before any of the job's large tasks is queued. With those queued, a
    Python without the 2023 fix of CPython issue 94777 (Debian 12's 3.11.2 is one) hangs instead
    of raising: the broken pool waits for ever to write a task that no worker will read.
    """
    from harmsim._limits import check_workers
    from harmsim.errors import ConfigError

    check_workers(workers)
    pool = _Pool(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_exit_with_parent,
        initargs=(os.getpid(),),
    )
    try:
        pool.submit(os.getpid).result()
    except BrokenProcessPool:
        pool.shutdown()
        raise ConfigError(POOL_BROKE) from None
    return pool


#: whether this Python's broken pools hang on shutdown (CPython issue 94777, fixed in 3.11.5)
_HANGS_WHEN_BROKEN = sys.version_info < (3, 11, 5)

#: seconds a broken pool's own clean-up is given before its pipe is closed under it (it takes well under one
#: when nothing blocks it)
BROKEN_CLEANUP_SECONDS = 5.0


class _Pool(cf.ProcessPoolExecutor):
    """A process pool that shuts down, once broken, also on a Python without the fix of CPython issue 94777.

    A worker that dies (killed, or out of memory) breaks the pool. Before Python 3.11.5 the
    broken pool's clean-up then waits for ever when tasks remain queued: the thread writing them
    blocks on a pipe that no worker reads any more. The fix made in 3.11.5 closes that pipe's
    reading end; this does the same on the older releases (Debian 12 ships 3.11.2), but only
    once the clean-up has had :data:`BROKEN_CLEANUP_SECONDS` and not finished. A clean-up that
    is not blocked closes that end itself, from the writing thread, and two threads closing one
    pipe at once fail (seen as ``OSError: [Errno 9] Bad file descriptor``, one run in twenty
    under load, when the end was closed at once).
    """

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if _HANGS_WHEN_BROKEN and getattr(self, "_broken", False):
            cleanup = getattr(self, "_executor_manager_thread", None)
            if cleanup is not None:
                cleanup.join(BROKEN_CLEANUP_SECONDS)
            reader = getattr(getattr(self, "_call_queue", None), "_reader", None)
            if reader is not None and (cleanup is None or cleanup.is_alive()):
                reader.close()  # blocked: the writing thread waits on the pipe and closes nothing meanwhile
        super().shutdown(wait=wait, cancel_futures=cancel_futures)


#: seconds between a worker's checks that its parent still runs
PARENT_CHECK_SECONDS = 1.0


def _exit_with_parent(parent: int) -> None:
    """Start a daemon thread that ends this worker once ``parent`` is gone (a killed sweep leaves no workers)."""

    def watch() -> None:
        while True:
            time.sleep(PARENT_CHECK_SECONDS)
            if os.getppid() != parent:  # re-parented: the pool's owner has died
                os._exit(1)

    threading.Thread(target=watch, name="harmsim-parent-watch", daemon=True).start()


_CACHE: dict[str, object] = {}
_DERIVED: dict[tuple[str, str], object] = {}


def job_payload(*inputs) -> dict:
    """The part of every task that carries the job's inputs."""
    return {"token": uuid.uuid4().hex, "payload": pickle.dumps(inputs, protocol=pickle.HIGHEST_PROTOCOL)}


def job_inputs(task: dict):
    """The job's inputs, unpickled once per worker and job (our own bytes, never untrusted input)."""
    token = task["token"]
    if token not in _CACHE:
        _CACHE.clear()
        _DERIVED.clear()
        _arrays_from_the_heap()
        _CACHE[token] = pickle.loads(task["payload"])
    return _CACHE[token]


def _arrays_from_the_heap() -> bool:
    """Undo the fixed 128 KiB mmap threshold that ``MALLOC_TRIM_THRESHOLD_`` implies in glibc (module docstring).

    Returns whether the thresholds were set.
    """
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # glibc's malloc.h
    return bool(libc.mallopt(m_mmap_threshold, 8 << 20)) and bool(libc.mallopt(m_trim_threshold, 32 << 20))


def job_derived(task: dict, name: str, build):
    """What ``build()`` makes from the job's inputs (e.g. the comparison target), once per worker and job."""
    job_inputs(task)  # a new job empties the cache
    key = (task["token"], name)
    if key not in _DERIVED:
        _DERIVED[key] = build()
    return _DERIVED[key]

"""What a worker process keeps between tasks of one job (a sweep, an ABC run).

A job pickles its big, read-only inputs (scenario, record) once and sends the
bytes with every task, keyed by a random token. A worker unpickles them for
the first task of a job and reuses them (with their compiled arrays) for the
rest. The token is a cache key only: it never enters a result.
"""

from __future__ import annotations

import pickle
import uuid

__all__ = ["job_inputs", "job_payload"]

_CACHE: dict[str, object] = {}


def job_payload(*inputs) -> dict:
    """The part of every task that carries the job's inputs."""
    return {"token": uuid.uuid4().hex, "payload": pickle.dumps(inputs, protocol=pickle.HIGHEST_PROTOCOL)}


def job_inputs(task: dict):
    """The job's inputs, unpickled once per worker and job (our own bytes, never untrusted input)."""
    token = task["token"]
    if token not in _CACHE:
        _CACHE.clear()
        _CACHE[token] = pickle.loads(task["payload"])
    return _CACHE[token]

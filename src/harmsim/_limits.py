"""Work that cannot fit is refused before it starts, with the figure.

A sweep of a billion points or an ensemble of a billion replicates would end
in a MemoryError traceback after minutes; a thousand worker processes of
about 150 MB each would exhaust a shared machine. These checks estimate the
memory a request needs and refuse, in one line, what needs more than half of
this machine's memory.
"""

from __future__ import annotations

import os

from harmsim.errors import ConfigError

__all__ = ["WORKER_BYTES", "check_memory", "check_workers", "memory_bytes"]

#: the resident size of one worker process with harmsim and its data loaded (measured: about 150 MB)
WORKER_BYTES = 150e6


def memory_bytes() -> float:
    """This machine's physical memory (8 GB where the system does not say)."""
    try:
        return float(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return 8e9


def _gb(n: float) -> str:
    return f"{n / 1e9:,.1f} GB"


def check_memory(n_bytes: float, what: str) -> None:
    """Refuse ``what`` if it needs more than half of the machine's memory."""
    mem = memory_bytes()
    if n_bytes > 0.5 * mem:
        raise ConfigError(
            f"{what} needs about {_gb(n_bytes)} of memory, more than half of this machine's {_gb(mem)}; "
            "ask for less (or split the work)"
        )


def check_workers(workers: int) -> None:
    """Refuse more worker processes than the machine has memory for, or far more than it has cores."""
    cores = os.cpu_count() or 1
    if workers > 4 * cores:
        raise ConfigError(f"{workers} worker processes on a machine with {cores} cores: use at most {4 * cores}")
    check_memory(workers * WORKER_BYTES, f"{workers} worker processes (about 150 MB each)")

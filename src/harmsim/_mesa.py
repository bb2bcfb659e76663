"""Import Mesa without its import-time side effect.

Mesa 3.3's ``mesa.batchrunner`` calls ``multiprocessing.set_start_method
("spawn", force=True)`` when it is imported (Mesa 3.4+ moved the call into
``batch_run``), which would silently change the start method of any program
that imports harmsim. harmsim imports Mesa only through this module, which
puts the start method back the way it found it.
"""

from __future__ import annotations

import multiprocessing

_before = multiprocessing.get_start_method(allow_none=True)

import mesa  # noqa: E402

if multiprocessing.get_start_method(allow_none=True) != _before:
    multiprocessing.set_start_method(_before, force=True)

__all__ = ["mesa"]

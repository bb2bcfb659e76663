"""harmsim's version, and which code and command made a result (every result's provenance starts here)."""

from __future__ import annotations

import shlex
import subprocess
import sys
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

__all__ = ["__version__", "build_info"]

try:
    __version__ = version("harmsim")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"


def build_info() -> dict[str, Any]:
    """Which code, and which command, made a result: harmsim's version; when harmsim runs from a git checkout,
    its commit and whether the checkout had uncommitted changes (``None`` for an installed package); the
    command line.

    >>> sorted(build_info())
    ['command_line', 'git_commit', 'git_dirty', 'harmsim_version']
    """
    commit, dirty = _git_state()
    argv = [Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python", *sys.argv[1:]]
    return {
        "harmsim_version": __version__,
        "git_commit": commit,
        "git_dirty": dirty,
        "command_line": shlex.join(argv),
    }


@lru_cache(maxsize=1)
def _git_state() -> tuple[str | None, bool | None]:
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None, None
    try:
        run = {"cwd": root, "capture_output": True, "text": True, "timeout": 10, "check": True}
        commit = subprocess.run(["git", "rev-parse", "HEAD"], **run).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], **run).stdout
    except (OSError, subprocess.SubprocessError):
        return None, None
    return commit or None, bool(status.strip())

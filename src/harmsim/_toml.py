"""Reading TOML files with errors that say which file and what is wrong, in one line."""

from __future__ import annotations

import tomllib
from pathlib import Path

from harmsim.errors import ConfigError, HarmsimError

__all__ = ["read_toml"]


def read_toml(path: Path, error: type[HarmsimError] = ConfigError) -> dict:
    """The parsed file; ``error`` (a HarmsimError class) for bad syntax or a file that is not UTF-8 text."""
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: TOML syntax error: {exc}") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not a UTF-8 text file") from None
    except RecursionError:
        raise error(f"{path}: nested too deeply to be a harmsim file") from None

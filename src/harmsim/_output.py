"""Result folders: written aside, renamed into place when complete, never mixed with an earlier result.

Every ``save`` of a result (a run or ensemble, a fit, a forecast, a
counterfactual, a backtest, a comparison) writes through a
:class:`ResultFolder`: the files go to a hidden temporary folder beside the
destination, a manifest (``harmsim-output.json``: what kind of result, its
files, the harmsim version) is written last, and the folder is renamed into
place. A killed command leaves the previous complete result, or nothing. An
existing folder with anything in it is refused unless ``force`` is given,
and even then only a harmsim result folder (one with a manifest) is
replaced: a user's own folder is never emptied.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

from .errors import OutputError

__all__ = ["MANIFEST", "ResultFolder", "is_complete"]

MANIFEST = "harmsim-output.json"


def _check_name(folder) -> Path:
    if folder is None or str(folder) == "" or "\x00" in str(folder):
        raise OutputError(f"{folder!r} is not a usable output folder name")
    return Path(folder)


class ResultFolder:
    """Write a result into ``path`` (temporary); on success it becomes ``folder``.

    >>> import tempfile, pathlib
    >>> dest = pathlib.Path(tempfile.mkdtemp()) / "out"
    >>> with ResultFolder(dest, "example") as rf:
    ...     _ = (rf.path / "table.csv").write_text("a,b\\n1,2\\n")
    ...     rf.add(rf.path / "table.csv")
    >>> [p.name for p in rf.final], is_complete(dest)
    (['table.csv'], True)
    """

    def __init__(self, folder, kind: str, force: bool = False):
        self.dest = _check_name(folder)
        self.kind = kind
        if self.dest.exists():
            if not self.dest.is_dir():
                raise OutputError(f"{self.dest} exists and is not a folder")
            if any(self.dest.iterdir()):
                if not (self.dest / MANIFEST).is_file():
                    raise OutputError(
                        f"{self.dest} exists and is not a harmsim result folder (no {MANIFEST}); it is never "
                        "replaced: choose another output folder"
                    )
                if not force:
                    raise OutputError(f"{self.dest} holds an earlier result: pass --force (force=True) to replace it")
        self.path: Path | None = None
        self._files: list[Path] = []
        self.final: list[Path] = []

    def add(self, *paths) -> None:
        """Register files written into :attr:`path` (lists of paths are flattened)."""
        for p in paths:
            if isinstance(p, (list, tuple)):
                self.add(*p)
            else:
                self._files.append(Path(p))

    def __enter__(self) -> ResultFolder:
        parent = self.dest.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self._sweep_litter(parent)
            self.path = Path(tempfile.mkdtemp(prefix=f".{self.dest.name}.partial-{os.getpid()}-", dir=parent))
        except OSError as exc:
            raise OutputError(f"cannot write to {self.dest}: {exc.strerror or exc}") from None
        return self

    def _sweep_litter(self, parent: Path) -> None:
        """Remove what a killed save into the same destination left: its partial and replaced folders."""
        for p in parent.glob(f".{glob.escape(self.dest.name)}.*-*"):
            kind, _, rest = p.name[len(self.dest.name) + 2 :].partition("-")
            if kind not in ("partial", "old") or not p.is_dir():
                continue
            pid = rest.split("-")[0]
            if kind == "partial" and pid.isdigit() and _running(int(pid)):
                continue  # another process is writing it now
            shutil.rmtree(p, ignore_errors=True)

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            return
        from .results import build_info

        root = self.path.resolve()
        files = sorted({p.resolve().relative_to(root).as_posix() for p in self._files})
        meta = {
            "kind": self.kind,
            "files": files,
            **build_info(),
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        (self.path / MANIFEST).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        old = None
        if self.dest.exists() and any(self.dest.iterdir()) and not (self.dest / MANIFEST).is_file():
            # someone put files there while we worked: never replace them; the result stays where it was written
            raise OutputError(
                f"{self.dest} has become a folder that is not a harmsim result while this one was written; the "
                f"result is in {self.path}"
            )
        if self.dest.exists():  # empty, or a result being replaced (checked on entry)
            old = self.dest.with_name(f".{self.dest.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}")
            os.replace(self.dest, old)
        os.replace(self.path, self.dest)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        self.final = [self.dest / f for f in files]


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def is_complete(folder) -> bool:
    """True when ``folder`` is a finished harmsim result: a manifest whose files are all there."""
    out = Path(folder)
    try:
        files = json.loads((out / MANIFEST).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return isinstance(files, list) and all(isinstance(f, str) and (out / f).is_file() for f in files)

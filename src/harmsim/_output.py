"""Result folders: written aside, renamed into place when complete, never mixed with an earlier result.

Every ``save`` of a result (a run or ensemble, a fit, a forecast, a
counterfactual, a backtest, a comparison) writes through a
:class:`ResultFolder`: the files go to a hidden temporary folder beside the
destination, a manifest (``harmsim-output.json``: what kind of result, its
files and their sizes, the harmsim version) is written last, and the folder
is renamed into place. A killed command leaves the previous complete result,
or nothing. An existing folder with anything in it is refused unless
``force`` is given, and even then only a harmsim result folder is replaced:
one whose manifest names its kind and lists every file in it, each the size
harmsim wrote. A user's own folder is never emptied, and only the files a
manifest lists are ever deleted.

One command at a time writes a destination (:class:`Lock`: a file beside it
holding the writer's process id). A destination that someone else filled or
changed while this command computed is not replaced, whatever ``force``
says: the new result is kept beside it and the message says where. Folders
and files are made with the permissions the user's umask gives, as any other
program's are.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

from harmsim.errors import OutputError

__all__ = ["MANIFEST", "Lock", "ResultFolder", "is_complete", "read_csv", "result_files", "share_like_others"]

MANIFEST = "harmsim-output.json"


def read_csv(path_or_buffer, **kw):
    r"""A CSV table with its numbers as written: every float the nearest to its text, as Python parses it.

    pandas before 3.0 parses floats by default with a fast parser that can
    miss the nearest float by a unit in the last place, so a saved fit read
    back differed from the fit in memory (5.6e-17 on ``diffusion_only``'s
    intercept with pandas 2.2); pandas 3 reads them exactly, and deprecates
    asking. Every table harmsim reads back (fits, sweep
    chunks, design and input files) goes through here.

    >>> import io
    >>> bool(read_csv(io.StringIO("x\n-2.8335848288915453\n"))["x"].iloc[0] == -2.8335848288915453)
    True
    """
    import pandas as pd

    major = int(re.match(r"\d+", pd.__version__).group())
    exact = {} if major >= 3 else {"float_precision": "round_trip"}  # round trip is 3.0's default
    return pd.read_csv(path_or_buffer, **exact, **kw)


def _check_name(folder) -> Path:
    if folder is None or str(folder) == "" or "\x00" in str(folder):
        raise OutputError(f"{folder!r} is not a usable output folder name")
    path = Path(folder)
    here = Path.cwd().resolve()
    full = path.resolve()
    if full == here or full in here.parents:
        # a result folder is replaced whole: never the folder a user works in, nor one holding it
        raise OutputError(
            f"{folder} is the current folder or holds it, and a result folder is created and replaced whole: "
            "name a new folder for the result, e.g. results/run1"
        )
    return path


def _umask() -> int:
    old = os.umask(0o022)
    os.umask(old)
    return old


def share_like_others(path, folder: bool = False) -> None:
    """Give ``path`` the permissions a plain ``open`` or ``mkdir`` gives under the user's umask.

    Temporary files and folders are made private (0600, 0700); renamed into place as they are, a result would
    be unreadable to colleagues on a shared server.
    """
    os.chmod(path, (0o777 if folder else 0o666) & ~_umask())


class Lock:
    """One writer at a time per destination: a lock file holding the writer's process id, taken atomically.

    A lock left by a process that no longer runs (a killed command) is taken over; one held by another live
    process is an :class:`~harmsim.errors.OutputError` that names it.

    >>> import tempfile, pathlib
    >>> lock = Lock(pathlib.Path(tempfile.mkdtemp()) / ".out.lock", "out")
    >>> lock.path.read_text() == str(os.getpid())
    True
    >>> lock.release()
    """

    def __init__(self, path, target, what: str = "harmsim command"):
        self.path = Path(path)
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
            except FileExistsError:
                pid = self._owner()
                if pid is not None and pid != os.getpid() and _running(pid):
                    raise OutputError(
                        f"another {what} (process {pid}) is writing to {target}; wait for it or use another --out"
                    ) from None
                self.path.unlink(missing_ok=True)  # stale: its owner is gone (or it is an earlier lock of ours)
                continue
            except OSError as exc:
                raise OutputError(f"cannot write to {target}: {exc.strerror or exc}") from None
            with os.fdopen(fd, "w") as f:
                f.write(str(os.getpid()))
            return
        raise OutputError(f"cannot take the lock {self.path}; another {what} may be starting there")

    def _owner(self) -> int | None:
        try:
            return int(self.path.read_text().strip())
        except (OSError, ValueError):
            return None

    def release(self) -> None:
        self.path.unlink(missing_ok=True)


def result_files(folder) -> tuple[str, list[str]] | None:
    """``(kind, files)`` when ``folder`` provably holds a harmsim result, else None.

    The proof is the manifest: JSON naming the result's kind and listing its files, every file in the folder
    listed, and, where the manifest records sizes (every result harmsim writes now does), each file of the size
    harmsim wrote. An empty or hand-made manifest proves nothing, nor does one beside a file it does not list.
    """
    out = Path(folder)
    try:
        meta = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(meta, dict):
        return None
    kind, files, sizes = meta.get("kind"), meta.get("files"), meta.get("sizes")
    if not (isinstance(kind, str) and kind and isinstance(files, list) and all(isinstance(f, str) for f in files)):
        return None
    present = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_symlink() or not p.is_dir()}
    if present - set(files) - {MANIFEST}:
        return None
    if sizes is not None:
        if not isinstance(sizes, dict) or set(sizes) != set(files):
            return None
        for f, size in sizes.items():
            p = out / f
            if p.is_symlink() or (p.exists() and p.stat().st_size != size):
                return None
    return kind, files


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
        dest = _check_name(folder)
        # A link to a folder: the result replaces what it points to, and the link stays a link.
        self.dest = dest.resolve() if dest.is_symlink() else dest
        self.kind = kind
        self.force = force
        self._seen = self._state()
        self.path: Path | None = None
        self._lock: Lock | None = None
        self._files: list[Path] = []
        self.final: list[Path] = []

    def _state(self) -> str | None:
        """What the destination holds: None (nothing) or the manifest of the result that ``force`` replaces.

        Raises for anything that may not be replaced."""
        d = self.dest
        if not d.exists():
            return None
        if not d.is_dir():
            raise OutputError(f"{d} exists and is not a folder")
        if not any(d.iterdir()):
            return None
        if result_files(d) is None:
            raise OutputError(
                f"{d} exists and is not a harmsim result folder (no {MANIFEST} that lists every file in it as "
                "harmsim wrote them); it is never replaced: choose another output folder"
            )
        if not self.force:
            raise OutputError(f"{d} holds an earlier result: pass --force (force=True) to replace it")
        return (d / MANIFEST).read_text(encoding="utf-8")

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
        except OSError as exc:
            raise OutputError(f"cannot write to {self.dest}: {exc.strerror or exc}") from None
        self._lock = Lock(parent / f".{self.dest.name}.lock", self.dest)
        try:
            self._sweep_litter(parent)
            self.path = Path(tempfile.mkdtemp(prefix=f".{self.dest.name}.partial-{os.getpid()}-", dir=parent))
            share_like_others(self.path, folder=True)
        except OSError as exc:
            self._lock.release()
            raise OutputError(f"cannot write to {self.dest}: {exc.strerror or exc}") from None
        return self

    def _sweep_litter(self, parent: Path) -> None:
        """Remove what a killed save into the same destination left: its partial and replaced folders."""
        for p in parent.glob(f".{glob.escape(self.dest.name)}.*-*"):
            kind, _, rest = p.name[len(self.dest.name) + 2 :].partition("-")
            if kind not in ("partial", "old") or p.is_symlink() or not p.is_dir():
                continue
            pid = rest.split("-")[0]
            if kind == "partial" and pid.isdigit() and _running(int(pid)):
                continue  # another process is writing it now
            if kind == "old":
                _remove_result(p)  # what its manifest lists, and nothing else
            else:
                shutil.rmtree(p, ignore_errors=True)

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is not None:
                shutil.rmtree(self.path, ignore_errors=True)
                return
            self._publish()
        finally:
            self._lock.release()

    def _publish(self) -> None:
        from harmsim._version import build_info

        root = self.path.resolve()
        files = {p.resolve().relative_to(root).as_posix() for p in self._files}
        # results saved inside this one (a backtest's fits) carry manifests of their own: this one lists them
        files |= {p.relative_to(root).as_posix() for p in root.glob(f"*/**/{MANIFEST}")}
        files = sorted(files)
        for f in files:
            share_like_others(root / f)
        meta = {
            "kind": self.kind,
            "files": files,
            "sizes": {f: (root / f).stat().st_size for f in files},
            **build_info(),
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        (self.path / MANIFEST).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        share_like_others(self.path / MANIFEST)
        try:
            now = self._state()
        except OutputError:
            now = "(not replaceable)"
        if now != self._seen:
            # filled or changed by someone else while this result was computed: never replace it
            kept = self.dest.with_name(f"{self.dest.name}.new-{os.getpid()}")
            os.replace(self.path, kept)
            raise OutputError(
                f"{self.dest} was written by someone else while this result was computed; it is left as it is, "
                f"and this result is in {kept}"
            )
        old = None
        if self.dest.exists():  # empty, or the result checked on entry
            old = self.dest.with_name(f".{self.dest.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}")
            os.replace(self.dest, old)
        os.replace(self.path, self.dest)
        if old is not None:
            _remove_result(old)
        self.final = [self.dest / f for f in files]


def _remove_result(folder: Path) -> None:
    """Delete a replaced result: the files its manifest lists, then the folders they leave empty.

    Anything else (nothing, unless it appeared after the check) stays where it is."""
    listed = result_files(folder)
    if listed is None and any(folder.iterdir()):
        return
    for f in [MANIFEST, *(listed[1] if listed else [])]:
        (folder / f).unlink(missing_ok=True)
    for d in sorted((p for p in folder.rglob("*") if p.is_dir() and not p.is_symlink()), key=lambda p: -len(p.parts)):
        if not any(d.iterdir()):
            d.rmdir()
    if not any(folder.iterdir()):
        folder.rmdir()


def _running(pid: int) -> bool:
    """Whether process ``pid`` runs (this one does; one we may not signal counts as running)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
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

"""Nothing lost, nothing overwritten: what a result folder or a sweep may replace, and who may read it.

Each test names the failure it guards against; each fails on the code before its fix (said per test).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from harmsim._output import MANIFEST, Lock, ResultFolder, result_files
from harmsim.cli import main
from harmsim.errors import ConfigError, OutputError

VARY = ["diffusion.strength=0:1:2"]


def _save(dest, name="table.csv", text="a\n1\n", force=False):
    with ResultFolder(dest, "example", force) as rf:
        (rf.path / name).write_text(text)
        rf.add(rf.path / name)
    return rf


def test_an_empty_manifest_proves_nothing(tmp_path):
    """Before: an empty harmsim-output.json let --force delete a user's folder (thesis.tex went)."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "thesis.tex").write_text("precious")
    (victim / MANIFEST).touch()
    assert main(["run", "baseline", "-r", "2", "--no-figures", "--out", str(victim), "--force"]) == 2
    assert (victim / "thesis.tex").read_text() == "precious"


def test_only_the_files_a_manifest_lists_may_go(tmp_path):
    """A real result with a user's file added is not a harmsim result any more: refused, file kept."""
    dest = tmp_path / "out"
    _save(dest)
    assert result_files(dest) == ("example", ["table.csv"])
    (dest / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="not a harmsim result folder"):
        _save(dest, force=True)
    assert (dest / "notes.txt").read_text() == "mine"
    (dest / "notes.txt").unlink()
    (dest / "table.csv").write_text("edited by hand, longer than before\n")  # a listed file changed
    with pytest.raises(OutputError, match="not a harmsim result folder"):
        _save(dest, force=True)
    (dest / "table.csv").write_text("a\n1\n")
    _save(dest, text="a\n2\n", force=True)
    assert (dest / "table.csv").read_text() == "a\n2\n"


def test_manifest_lists_sizes_and_nested_results(tmp_path):
    dest = tmp_path / "out"
    with ResultFolder(dest, "example") as rf:
        (rf.path / "sub").mkdir()
        with ResultFolder(rf.path / "sub" / "inner", "inner") as inner:
            (inner.path / "x.csv").write_text("x\n")
            inner.add(inner.path / "x.csv")
        (rf.path / "t.csv").write_text("t\n")
        rf.add(rf.path / "t.csv", inner.final)
    meta = json.loads((dest / MANIFEST).read_text())
    assert meta["sizes"] == {"sub/inner/harmsim-output.json": meta["sizes"]["sub/inner/harmsim-output.json"],
                             "sub/inner/x.csv": 2, "t.csv": 2}  # fmt: skip
    assert result_files(dest) is not None
    _save(dest, force=True)  # replaced whole: nested results included
    assert sorted(p.name for p in dest.iterdir()) == [MANIFEST, "table.csv"]


def test_two_writers_of_one_destination(tmp_path):
    """Before: two commands on the same new --out both printed 'wrote N files'; one result replaced the other."""
    dest = tmp_path / "out"
    first = ResultFolder(dest, "example")
    second = ResultFolder(dest, "example")  # both checked an empty destination
    with first as rf:
        (rf.path / "a.csv").write_text("a\n")
        rf.add(rf.path / "a.csv")
        holder = subprocess.run(
            [sys.executable, "-c",
             f"from harmsim._output import ResultFolder; ResultFolder({str(dest)!r}, 'x').__enter__()"],
            capture_output=True, text=True,
        )  # fmt: skip
        assert holder.returncode != 0 and f"process {os.getpid()}) is writing to" in holder.stderr
    with pytest.raises(OutputError, match="was written by someone else while this result was computed"):
        with second as rf:
            (rf.path / "b.csv").write_text("b\n")
            rf.add(rf.path / "b.csv")
    assert (dest / "a.csv").is_file() and not (dest / "b.csv").exists()
    assert (tmp_path / f"out.new-{os.getpid()}" / "b.csv").is_file()  # the second result is kept, not lost
    assert not (tmp_path / ".out.lock").exists()


def test_results_honour_the_umask(tmp_path):
    """Before: result folders were drwx------ and sweep tables -rw------- whatever the umask."""
    old = os.umask(0o022)
    try:
        _save(tmp_path / "out")
        assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o755
        assert stat.S_IMODE((tmp_path / "out" / "table.csv").stat().st_mode) == 0o644
        assert stat.S_IMODE((tmp_path / "out" / MANIFEST).stat().st_mode) == 0o644
        assert main(["sweep", "baseline", "--vary", VARY[0], "-r", "2", "--out", str(tmp_path / "s.csv"),
                     "--no-figures"]) == 0  # fmt: skip
        assert stat.S_IMODE((tmp_path / "s.csv").stat().st_mode) == 0o644
        assert stat.S_IMODE((tmp_path / "s.provenance.json").stat().st_mode) == 0o644
        os.umask(0o077)
        _save(tmp_path / "private")
        assert stat.S_IMODE((tmp_path / "private").stat().st_mode) == 0o700
    finally:
        os.umask(old)


def test_force_through_a_link_replaces_its_target_and_leaves_no_litter(tmp_path):
    """Before: --force onto a symlink left a hidden .X.old-PID-* link for good."""
    target = tmp_path / "scratch" / "run1"
    _save(target)
    link = tmp_path / "out"
    link.symlink_to(target, target_is_directory=True)
    _save(link, text="a\n2\n", force=True)
    assert link.is_symlink() and (target / "table.csv").read_text() == "a\n2\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    assert [p.name for p in target.parent.iterdir()] == ["run1"]


def test_a_sweep_never_replaces_files_that_are_not_a_sweeps(tmp_path):
    """Before: --out mydata.csv replaced a user's mydata.csv without --force and its siblings even with it."""
    mine = tmp_path / "mydata.csv"
    mine.write_text("my,own\n1,2\n")
    args = ["sweep", "baseline", "--vary", VARY[0], "-r", "2", "--out", str(mine), "--no-figures"]
    for extra in ([], ["--force"]):
        assert main(args + extra) == 2
        assert mine.read_text() == "my,own\n1,2\n"
    mine.unlink()
    (tmp_path / "mydata_response.png").write_bytes(b"a figure of mine")
    assert main([*args, "--force"]) == 2
    assert (tmp_path / "mydata_response.png").read_bytes() == b"a figure of mine"
    (tmp_path / "mydata_response.png").unlink()
    assert main(args) == 0  # a new sweep
    assert main(args) == 0  # the same sweep: read back
    mine.write_text(mine.read_text() + "a row of my own\n")  # edited by hand: no longer the sweep's table
    from harmsim import load_scenario
    from harmsim.analysis.sweep import sweep
    from harmsim.model.space import parse_vary

    sc = load_scenario("baseline")
    with pytest.raises(ConfigError, match="never replaced"):
        sweep(sc, [parse_vary(VARY[0], sc)], replicates=2, out=mine, force=True, progress=False)


def test_a_lock_of_a_dead_process_is_taken_over(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / ".out.lock").write_text(dead.stdout.strip())
    _save(tmp_path / "out")
    lock = Lock(tmp_path / "l", tmp_path)
    lock.release()
    assert not (tmp_path / "l").exists() and not (tmp_path / ".out.lock").exists()

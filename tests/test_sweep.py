"""Sweeps: designs, bad specifications, determinism across executors, resume after a kill."""

from __future__ import annotations

import concurrent.futures as cf
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import harmsim
from harmsim._workers import WORKER_DIED
from harmsim.analysis.sweep import sweep
from harmsim.cli import main
from harmsim.errors import ConfigError
from harmsim.model.params import CategoricalRange, IntegerRange, RealRange
from harmsim.model.space import design, parse_vary

VARY = ["diffusion.strength=0:2:3", "agreements.nonbinding=0:1:2"]


def test_parse_vary_types(baseline):
    assert parse_vary("diffusion.strength=0:3:4", baseline) == RealRange("diffusion.strength", 0.0, 3.0, 4)
    assert parse_vary("agreements.lag=0:3", baseline) == IntegerRange("agreements.lag", 0, 3, None)
    assert parse_vary("agreements.arrival=observed,endogenous", baseline) == CategoricalRange(
        "agreements.arrival", ("observed", "endogenous")
    )
    assert parse_vary("hazard.offsets.untoc=-1:1:3", baseline).name == "hazard.offsets.untoc"


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("diffusion.strenght=0:1:3", r"unknown parameter 'diffusion.strenght'.*valid: "),
        ("wibble=0:1:3", r"unknown parameter 'wibble'"),
        ("diffusion.strength=1:1:3", r"empty range"),
        ("diffusion.strength=0:1:0", r"empty range"),
        ("diffusion.strength=2:1:3", r"LO 2 is greater than HI 1"),
        ("diffusion.strength=a:b:3", r"must be numbers"),
        ("diffusion.strength=0:1:x", r"must be numbers"),
        ("diffusion.strength", r"expected NAME=LO:HI:N"),
        ("diffusion.strength=0:99:3", r"leaves the allowed range \[-20.0, 20.0\]"),
        ("agreements.arrival=psychic", r"choices: observed, endogenous"),
        ("agreements.lag=0.5:2", r"integer"),
    ],
)
def test_bad_specifications(baseline, text, pattern):
    with pytest.raises(ConfigError, match=pattern) as info:
        parse_vary(text, baseline)
    assert "\n" not in str(info.value)


def test_bad_specification_on_the_command_line(capsys, tmp_path):
    code = main(["sweep", "baseline", "--vary", "diffusion.strength=2:1:3", "--out", str(tmp_path / "s.csv")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "greater than HI" in err


def test_designs(baseline):
    ranges = [
        parse_vary(v, baseline)
        for v in ["diffusion.strength=0:1", "agreements.lag=0:3", "agreements.arrival=observed,endogenous"]
    ]
    for sample in ("lhs", "sobol"):
        d = design(ranges, sample, points=16, seed=3)
        assert len(d) == 16 and d["diffusion.strength"].between(0, 1).all()
        assert set(d["agreements.lag"]) <= {0, 1, 2, 3} and d["agreements.lag"].dtype.kind == "i"
        assert set(d["agreements.arrival"]) == {"observed", "endogenous"}
        pd.testing.assert_frame_equal(d, design(ranges, sample, points=16, seed=3))
        assert not d.equals(design(ranges, sample, points=16, seed=4))
    with pytest.raises(ConfigError, match="grid sampling needs N"):
        design(ranges, "grid")
    with pytest.raises(ConfigError, match="needs --points"):
        design(ranges, "lhs")
    g = design([parse_vary(v, baseline) for v in VARY], "grid")
    assert len(g) == 6 and list(g["point"]) == list(range(6))


def test_same_table_on_any_worker_count_and_executor(baseline, tmp_path):
    kw = dict(replicates=6, seed=5, chunk_size=1, progress=False)
    one = sweep(baseline, VARY, workers=1, **kw).table
    two = sweep(baseline, VARY, workers=2, **kw).table
    with cf.ThreadPoolExecutor(3) as ex:
        threads = sweep(baseline, VARY, executor=ex, **kw).table
    written = sweep(baseline, VARY, workers=2, out=tmp_path / "s.csv", **kw).table
    pd.testing.assert_frame_equal(one, two)
    pd.testing.assert_frame_equal(one, threads)
    pd.testing.assert_frame_equal(one, written, check_dtype=False)
    assert (tmp_path / "s.provenance.json").is_file()
    assert not (tmp_path / "s.csv.parts").exists()
    # The points differ from each other: the sweep measures something.
    assert one["year_mae"].nunique() == len(one)


def test_point_equals_direct_comparison(baseline):
    t = sweep(baseline, ["diffusion.strength=0.5:1.5:2"], replicates=8, seed=2, progress=False).table
    sc = baseline.with_params({"diffusion.strength": 1.5})
    fit = harmsim.compare(harmsim.run_ensemble(sc, replicates=8, seed=2), sc.record)
    direct = fit.query("metric == 'year_mae' and item == 'all'")["mean"].iloc[0]
    assert t.loc[t["diffusion.strength"] == 1.5, "year_mae"].iloc[0] == pytest.approx(direct, rel=1e-12)


def test_finished_sweep_is_reused_and_a_different_one_refused(baseline, tmp_path):
    out = tmp_path / "s.csv"
    first = sweep(baseline, VARY, replicates=3, seed=1, out=out, progress=False)
    mtime = out.stat().st_mtime_ns
    again = sweep(baseline, VARY, replicates=3, seed=1, out=out, progress=False)
    assert out.stat().st_mtime_ns == mtime
    pd.testing.assert_frame_equal(first.table, again.table)
    with pytest.raises(ConfigError, match="different sweep"):
        sweep(baseline, VARY, replicates=4, seed=1, out=out, progress=False)


def test_resume_after_kill(tmp_path):
    """Kill a sweep mid-way; the same command finishes it without redoing saved chunks."""
    out = tmp_path / "killed.csv"
    parts = tmp_path / "killed.csv.parts"
    cmd = [
        sys.executable,
        "-m",
        "harmsim.cli",
        "sweep",
        "baseline",
        "--vary",
        "diffusion.strength=0:3:40",
        "-r",
        "40",
        "--seed",
        "7",
        "--chunk-size",
        "1",
        "--no-figures",
        "--out",
        str(out),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(parts.glob("chunk-*.csv"))) < 5:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    saved = [pd.read_csv(p) for p in sorted(parts.glob("chunk-*.csv"))]
    assert 5 <= len(saved) < 40, "the sweep must be killed mid-way"
    assert not out.exists()
    subprocess.run(cmd, check=True, capture_output=True)
    resumed = pd.read_csv(out)
    fresh_out = tmp_path / "fresh.csv"
    subprocess.run([*cmd[:-1], str(fresh_out)], check=True, capture_output=True)
    pd.testing.assert_frame_equal(resumed, pd.read_csv(fresh_out))
    assert len(resumed) == 40 and list(resumed["point"]) == list(range(40))
    for chunk in saved:  # what was saved before the kill is what the final table holds
        p = int(chunk["point"].iloc[0])
        pd.testing.assert_frame_equal(resumed.iloc[[p]].reset_index(drop=True), chunk, check_dtype=False)


def _pool_workers(pid: int) -> list[int]:
    """The spawned pool workers among the children of process ``pid`` (Linux)."""
    found = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in children.read_text().split():
            try:
                cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in cmdline:
                found.append(int(child))
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_worker_killed_mid_sweep_is_told_in_one_line_and_the_sweep_resumes(tmp_path):
    """Before: a worker killed mid-sweep (say, by the kernel out of memory) ended the command in a traceback that
    blamed a script's missing main guard."""
    out = tmp_path / "s.csv"
    parts = tmp_path / "s.csv.parts"
    cmd = [sys.executable, "-m", "harmsim.cli", "sweep", "baseline", "--vary", "diffusion.strength=0:3:40"]
    cmd += ["-r", "40", "--seed", "7", "--chunk-size", "1", "--workers", "2", "--no-figures", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(parts.glob("chunk-*.csv"))) < 3:
        time.sleep(0.05)
    workers = _pool_workers(proc.pid)
    assert workers, "the sweep must run in pool workers"
    os.kill(workers[0], signal.SIGKILL)
    _, err = proc.communicate(timeout=120)
    ours = [line for line in err.splitlines() if line.startswith("harmsim:")]
    assert proc.returncode == 2 and ours == [f"harmsim: error: {WORKER_DIED}"], err
    assert "Traceback" not in err
    saved = len(list(parts.glob("chunk-*.csv")))
    assert 3 <= saved < 40 and not out.exists()
    subprocess.run(cmd, check=True, capture_output=True)  # the same command finishes it
    assert list(pd.read_csv(out)["point"]) == list(range(40))


class _Closing:
    """A pipe end that records being closed, and lets a waiting thread go when it is."""

    def __init__(self, released=None):
        self.closed, self.released = 0, released

    def close(self):
        self.closed += 1
        if self.released is not None:
            self.released.set()


def _broken_pool(monkeypatch):
    """A harmsim pool whose one worker died, its own clean-up run to the end, as on a Python before 3.11.5."""
    import harmsim._workers as w

    monkeypatch.setattr(w, "_HANGS_WHEN_BROKEN", True)
    pool = w.process_pool(1)
    with pytest.raises(cf.process.BrokenProcessPool):
        pool.submit(os._exit, 1).result()
    pool._executor_manager_thread.join(60)  # nothing was queued: it finishes by itself
    assert not pool._executor_manager_thread.is_alive()
    return pool


def test_a_broken_pool_that_cleaned_up_is_left_to_close_its_own_pipe(monkeypatch):
    """Before Python 3.11.5 a broken pool's pipe is closed under it only if its clean-up is blocked: closed while
    the pool's own thread closed it, it failed one run in twenty under load (OSError: Bad file descriptor)."""
    pool = _broken_pool(monkeypatch)
    pool._call_queue._reader = spy = _Closing()
    pool.shutdown()
    assert spy.closed == 0


def test_a_broken_pool_whose_clean_up_is_blocked_has_its_pipe_closed(monkeypatch):
    """The hang of CPython issue 94777: the clean-up waits on a pipe nobody reads; closing its reading end lets it
    finish (here a stand-in clean-up that waits until the end is closed)."""
    import threading

    import harmsim._workers as w

    pool = _broken_pool(monkeypatch)
    monkeypatch.setattr(w, "BROKEN_CLEANUP_SECONDS", 0.05)
    released = threading.Event()
    blocked = threading.Thread(target=released.wait, args=(10,), daemon=True)
    blocked.start()
    pool._executor_manager_thread = blocked
    pool._call_queue._reader = spy = _Closing(released)
    pool.shutdown()
    assert spy.closed == 1 and not blocked.is_alive()


def test_resume_keeps_saved_chunks(baseline, tmp_path, monkeypatch):
    """Chunks already on disk are read back, never recomputed."""
    import harmsim.analysis.sweep as sw

    out = tmp_path / "s.csv"
    kw = dict(replicates=3, seed=1, chunk_size=2, out=out, progress=False)
    calls = []
    real = sw._run_chunk

    def flaky(task):
        calls.append(task["points"][0][0])
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(task)

    monkeypatch.setattr(sw, "_run_chunk", flaky)
    with pytest.raises(KeyboardInterrupt):
        sweep(baseline, VARY, **kw)
    assert sorted(p.name for p in (tmp_path / "s.csv.parts").glob("chunk-*.csv")) == [
        "chunk-000000.csv",
        "chunk-000001.csv",
    ]
    calls.clear()
    monkeypatch.setattr(sw, "_run_chunk", real)
    counted = []
    monkeypatch.setattr(sw, "_run_chunk", lambda task: counted.append(task["points"][0][0]) or real(task))
    res = sweep(baseline, VARY, **kw)
    assert counted == [4]  # only the third chunk (points 4 and 5) was computed
    full = sweep(baseline, VARY, replicates=3, seed=1, chunk_size=2, progress=False).table
    pd.testing.assert_frame_equal(res.table, full, check_dtype=False)


def test_dask_local_cluster(baseline):
    distributed = pytest.importorskip("distributed")
    kw = dict(replicates=5, seed=3, chunk_size=2, progress=False)
    local = sweep(baseline, VARY, **kw).table
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        remote = sweep(baseline, VARY, executor=client.get_executor(), **kw).table
    pd.testing.assert_frame_equal(local, remote)


def test_dask_scheduler_option(tmp_path, capsys):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        code = main(
            [
                "sweep",
                "baseline",
                "--vary",
                "diffusion.strength=0:1:2",
                "-r",
                "3",
                "--no-figures",
                "--scheduler",
                cluster.scheduler_address,
                "--out",
                str(tmp_path / "d.csv"),
            ]
        )
    assert code == 0
    local = sweep(harmsim.load_scenario("baseline"), ["diffusion.strength=0:1:2"], replicates=3, progress=False).table
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "d.csv"), local, check_dtype=False)


def test_a_refused_scheduler_address_is_refused_at_once_and_a_listening_one_left_to_the_client():
    import socket

    from harmsim.cli.explore import _refused

    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        assert _refused(f"tcp://127.0.0.1:{port}") is None
    with pytest.raises(ConfigError, match=f"tcp://127.0.0.1:{port}: cannot connect .*no scheduler there"):
        _refused(f"tcp://127.0.0.1:{port}")  # closed now: nothing listens
    for other in ("inproc://worker", "tls://127.0.0.1:9", "tcp://no-port", "not an address"):
        assert _refused(other) is None  # left to the client, which says what is wrong with it


def test_unreachable_scheduler(capsys, tmp_path):
    pytest.importorskip("distributed")
    code = main(
        [
            "sweep",
            "baseline",
            "--vary",
            "diffusion.strength=0:1:2",
            "--scheduler",
            "tcp://127.0.0.1:9",
            "--out",
            str(tmp_path / "x.csv"),
        ]
    )
    assert code == 2 and "cannot connect" in capsys.readouterr().err


def test_sweep_figures(tmp_path):
    out = tmp_path / "g.csv"
    assert (
        main(
            [
                "sweep",
                "baseline",
                "--vary",
                "diffusion.strength=0:2:3",
                "--vary",
                "agreements.nonbinding=0:1:2",
                "-r",
                "3",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert (tmp_path / "g_landscape.png").stat().st_size > 10_000
    t = pd.read_csv(out)
    assert np.isfinite(t[["year_mae", "curve_mad", "year_mae_q05", "year_mae_q95"]].to_numpy()).all()


def test_a_sweep_is_redone_when_the_record_data_change(baseline, tmp_path):
    """The sweep's identity holds the record's contents: new data give a new table, not the old one."""
    from dataclasses import replace

    out = tmp_path / "s.csv"
    sweep(baseline, VARY, replicates=3, seed=1, out=out, progress=False)
    rec = baseline.record
    changed = replace(rec, adoptions=rec.adoptions.assign(year_min=rec.adoptions["year_min"] + 1))
    assert changed.digest != rec.digest
    with pytest.raises(ConfigError, match="different sweep"):
        sweep(baseline, VARY, replicates=3, seed=1, out=out, record=changed, progress=False)


def test_resume_state_damage_is_survived_or_said_in_one_line(baseline, tmp_path):
    """A parts folder without its spec (killed between two steps) starts afresh; a truncated chunk is recomputed;
    a truncated spec or provenance is one clear error; a Parquet name for the table is refused; a second
    sweep on the same output while one runs is refused."""
    from harmsim._output import Lock
    from harmsim.errors import OutputError

    kw = dict(replicates=3, seed=1, chunk_size=2, progress=False)
    full = sweep(baseline, VARY, **kw).table
    out = tmp_path / "a.csv"
    (tmp_path / "a.csv.parts").mkdir()  # killed before spec.json was written
    pd.testing.assert_frame_equal(sweep(baseline, VARY, out=out, **kw).table, full, check_dtype=False)
    # a truncated chunk
    out2 = tmp_path / "b.csv"
    parts = tmp_path / "b.csv.parts"
    import harmsim.analysis.sweep as sw

    real = sw._run_chunk
    calls = []

    def stop_after_two(task):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(task)

    sw._run_chunk = stop_after_two
    try:
        with pytest.raises(KeyboardInterrupt):
            sweep(baseline, VARY, out=out2, **kw)
    finally:
        sw._run_chunk = real
    chunk = parts / "chunk-000001.csv"
    text = chunk.read_text().splitlines()
    chunk.write_text("\n".join(text[:-1]) + "\n")  # one row lost
    pd.testing.assert_frame_equal(sweep(baseline, VARY, out=out2, **kw).table, full, check_dtype=False)
    # a truncated provenance
    prov = tmp_path / "b.provenance.json"
    prov.write_text(prov.read_text()[:40])
    with pytest.raises(ConfigError, match="cannot be read"):
        sweep(baseline, VARY, out=out2, **kw)
    with pytest.raises(ConfigError, match="name the CSV table"):
        sweep(baseline, VARY, out=tmp_path / "c.parquet", **kw)
    # another live process holds the lock
    parts3 = tmp_path / "d.csv.parts"
    parts3.mkdir()
    (parts3 / ".lock").write_text(str(os.getppid()))
    with pytest.raises(OutputError, match="another sweep"):
        sweep(baseline, VARY, out=tmp_path / "d.csv", **kw)
    # a lock left by a process that is gone is taken over
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (parts3 / ".lock").write_text(dead.stdout.strip())
    pd.testing.assert_frame_equal(sweep(baseline, VARY, out=tmp_path / "d.csv", **kw).table, full, check_dtype=False)
    assert not parts3.exists()
    lock = Lock(tmp_path / "x.lock", tmp_path, "sweep")  # held here: a taker in another process is refused
    taker = subprocess.run(
        [
            sys.executable,
            "-c",
            f"from harmsim._output import Lock; Lock({str(tmp_path / 'x.lock')!r}, 'there', 'sweep')",
        ],
        capture_output=True,
        text=True,
    )
    assert taker.returncode != 0 and "another sweep" in taker.stderr
    lock.release()
    assert not (tmp_path / "x.lock").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_pool_workers_exit_when_the_sweep_process_is_killed(tmp_path):
    """Killing only a sweep's main process leaves no pool workers behind."""
    script = tmp_path / "s.py"
    code = (
        "import os, sys, time\n"
        "from harmsim._workers import process_pool\n"
        "if __name__ == '__main__':\n"
        "    pool = process_pool(2)\n"
        "    futs = [pool.submit(time.sleep, 0.01) for _ in range(4)]\n"
        "    [f.result() for f in futs]\n"
        "    print(' '.join(str(p) for p in pool._processes), flush=True)\n"
        "    time.sleep(60)\n"
    )
    script.write_text(code)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    workers = [int(p) for p in proc.stdout.readline().split()]
    assert len(workers) == 2
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 15
    alive = workers
    while alive and time.time() < deadline:
        time.sleep(0.2)
        alive = [p for p in workers if _running(p)]
    assert not alive, f"workers {alive} outlived their parent"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by init) counts as gone
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def test_a_script_without_a_main_guard_is_told_in_one_line(tmp_path):
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import harmsim\n"
        "from harmsim.analysis.sweep import sweep\n"
        "sweep(harmsim.load_scenario('baseline'), ['diffusion.strength=0:2:4'], replicates=2, workers=2,"
        " progress=False)\n"
    )
    p = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    # Python's own multiprocessing may add, at interpreter exit, its resource tracker's warning about the failed
    # pool's semaphores (seen on Python 3.12): not harmsim's output, so it is set aside before the check
    ours = [line for line in p.stderr.splitlines() if "resource_tracker" not in line]
    assert p.returncode != 0 and 'if __name__ == "__main__":' in ours[-1]


def test_any_design_is_evaluated_like_a_sweep(baseline, tmp_path, capsys):
    """evaluate() on a user's table gives the rows sweep() gives for the same points; --design on the command
    line; a bad design is refused before any work."""
    from harmsim.analysis.sweep import evaluate

    kw = dict(replicates=4, seed=2, progress=False)
    swept = sweep(baseline, VARY, **kw).table
    points = swept[["diffusion.strength", "agreements.nonbinding"]].iloc[::-1].reset_index(drop=True)
    points.insert(0, "point", np.arange(10, 10 + len(points)))
    mine = evaluate(baseline, points, **kw).table.set_index(["diffusion.strength", "agreements.nonbinding"])
    ref = swept.set_index(["diffusion.strength", "agreements.nonbinding"]).loc[mine.index]
    pd.testing.assert_frame_equal(mine.drop(columns="point"), ref.drop(columns="point"))
    assert sorted(mine["point"]) == list(range(10, 16))
    assert (swept["year_mae_se"] == swept["year_mae_sd"] / np.sqrt(4)).all()
    with pytest.raises(ConfigError, match="unknown parameter"):
        evaluate(baseline, pd.DataFrame({"diffusion.strenght": [1.0]}), **kw)
    with pytest.raises(ConfigError, match="missing values"):
        evaluate(baseline, pd.DataFrame({"diffusion.strength": [1.0, None]}), **kw)
    f = tmp_path / "design.csv"
    points.to_csv(f, index=False)
    out = tmp_path / "d.csv"
    assert main(["sweep", "baseline", "--design", str(f), "-r", "4", "--seed", "2", "--out", str(out)]) == 0
    assert "best points by year_mae (lower is better" in capsys.readouterr().out
    from_cli = pd.read_csv(out).sort_values("point").reset_index(drop=True)
    from_py = mine.reset_index().sort_values("point").reset_index(drop=True)[from_cli.columns]
    pd.testing.assert_frame_equal(from_cli, from_py, check_dtype=False, rtol=1e-12)
    assert main(["sweep", "baseline", "--out", str(tmp_path / "e.csv")]) == 2
    assert "one of the two" in capsys.readouterr().err


def test_ranking_says_which_points_cannot_be_told_apart():
    from harmsim.analysis.sweep import ranking

    t = pd.DataFrame({"point": [0, 1, 2], "year_mae": [2.0, 2.1, 3.0], "year_mae_se": [0.05, 0.05, 0.05]})
    r = ranking(t, n=3).set_index("point")
    # gap 0.1 <= 2 * sqrt(0.05^2 + 0.05^2) = 0.141: tied; gap 1.0: not
    assert r.loc[0, "tied_with_best"] and r.loc[1, "tied_with_best"] and not r.loc[2, "tied_with_best"]
    assert r.loc[1, "gap_se"] == pytest.approx(np.hypot(0.05, 0.05))
    with pytest.raises(ConfigError, match="no standard error"):
        ranking(t.drop(columns="year_mae_se"))


def test_force_replaces_a_different_sweep(baseline, tmp_path, capsys):
    out = tmp_path / "s.csv"
    args = ["sweep", "baseline", "--vary", "diffusion.strength=0:1:2", "--no-figures", "--out", str(out)]
    assert main([*args, "-r", "2"]) == 0
    capsys.readouterr()
    assert main([*args, "-r", "3"]) == 2
    assert "pass --force" in capsys.readouterr().err
    assert main([*args, "-r", "3", "--force"]) == 0
    assert (pd.read_csv(out)["replicates"] == 3).all() and not (tmp_path / "s.csv.parts").exists()


def test_dask_workers_get_their_arrays_from_the_heap(monkeypatch):
    """Dask's MALLOC_TRIM_THRESHOLD_ fixes glibc's mmap threshold; a worker raises it back (Linux only)."""
    import sys

    from harmsim._workers import _arrays_from_the_heap

    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    assert _arrays_from_the_heap() is False
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    assert _arrays_from_the_heap() is sys.platform.startswith("linux")


def test_a_saved_chunk_with_undefined_metrics_is_read_back_and_a_cut_one_is_not(tmp_path):
    """An empty field is an undefined metric (kept); a line with fewer fields than the header is damage."""
    from harmsim.analysis.sweep import _atomic_write_csv, _read_chunk

    df = pd.DataFrame({"point": [4, 5], "x": [0.5, 1.5], "year_mae": [2.0, 2.5], "mean_year.actip": [np.nan, 2014.0]})
    path = tmp_path / "chunk-000002.csv"
    _atomic_write_csv(path, df)
    pd.testing.assert_frame_equal(_read_chunk(path, [4, 5]), df)
    assert _read_chunk(path, [4, 6]) is None  # not this chunk's points
    text = path.read_text()
    path.write_text(text[: text.rindex(",")] + "\n")  # the last line loses its last field
    assert _read_chunk(path, [4, 5]) is None
    path.write_text(text.rstrip("\n"))  # the final newline missing: the write did not finish
    assert _read_chunk(path, [4, 5]) is None
    path.write_text("")
    assert _read_chunk(path, [4, 5]) is None


def test_ranking_counts_ties_over_every_point_and_the_best_is_tied_with_itself():
    """Before: a best point without a standard error was not 'tied with itself' (the CLI said '-1 of the next
    2 points'), and the CLI counted ties among the five printed while the landscape marked every point."""
    from harmsim.analysis.sweep import ranking

    t = pd.DataFrame(
        {
            "point": range(8),
            "year_mae": [1.0, 1.05, 1.1, 1.12, 1.15, 1.18, 1.2, 5.0],
            "year_mae_se": [np.nan] + [0.1] * 7,
        }
    )
    r = ranking(t, n=len(t))
    assert bool(r["tied_with_best"].iloc[0]) and not r["tied_with_best"].iloc[1:].any()  # NaN: nothing else tied
    t["year_mae_se"] = 0.1
    assert int(ranking(t, n=len(t))["tied_with_best"].sum()) - 1 == 6 > len(ranking(t)) - 1


@pytest.mark.parametrize("bad", ["", None, 1.5, 1e30, "x"])
def test_a_design_point_column_of_non_integers_is_refused(baseline, bad):
    """Found by the design-table fuzz test: an empty or fractional point id reached the workers as a crash."""
    from harmsim.model.space import checked_points

    with pytest.raises(ConfigError, match="design column 'point' must hold whole numbers"):
        checked_points(baseline, pd.DataFrame({"point": [0, bad], "diffusion.strength": [1.0, 2.0]}))
    ok = checked_points(baseline, pd.DataFrame({"point": ["7", 3.0], "diffusion.strength": [1.0, 2.0]}))
    assert ok["point"].tolist() == [7, 3]


@pytest.mark.parametrize(
    ("column", "values", "message"),
    [
        ("diffusion.strength", [True, False], "design column 'diffusion.strength' must hold numbers; it holds 'True'"),
        (
            "agreements.lag",
            [0, False],
            "design column 'agreements.lag': 'agreements.lag' must be an integer, got False",
        ),
        ("hazard.offsets", [1.0], "design column 'hazard.offsets': unknown parameter 'hazard.offsets'"),
    ],
)
def test_a_design_column_says_where_and_refuses_true_and_false(baseline, column, values, message):
    """Found by the fuzz test's plain-message property: True and False passed as the numbers 1 and 0 (pandas
    calls them numeric; a set holds False and 0 as one), and an unknown column was refused without naming the
    design."""
    from harmsim.model.space import checked_points

    with pytest.raises(ConfigError, match=re.escape(message)):
        checked_points(baseline, pd.DataFrame({column: values}))
    assert checked_points(baseline, pd.DataFrame({"agreements.lag": [0, 1]}))["agreements.lag"].tolist() == [0, 1]

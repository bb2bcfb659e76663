"""Kill harmsim commands at random moments and check what they leave on disk, and that reruns reproduce.

    python scripts/fault_injection.py [--kills 50] [--seed 1] [--workdir DIR]

Three commands, each first run to completion for a reference result:

* ``harmsim sweep`` (two worker processes, one point per chunk): after a kill the table is absent or
  complete; rerunning the same command resumes and must give the reference table exactly;
* ``harmsim calibrate --method abc`` (two workers) and ``harmsim run`` with figures: after a kill the
  result folder is absent or complete (its manifest lists files that all exist); rerunning gives the
  reference files exactly.

Each kill sends SIGKILL at a uniformly random moment of the command's reference duration, alternately to
the whole process group and to the main process only; then no worker process of the killed command may
survive it by more than a few seconds. The script prints one line per kill and a summary: kills survived,
results reproduced, leftovers. POSIX only.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from harmsim._output import is_complete


def commands(work: Path) -> dict[str, list[str]]:
    h = [sys.executable, "-m", "harmsim.cli"]
    return {
        "sweep": [
            *h,
            "sweep",
            "baseline",
            "--vary",
            "diffusion.strength=0:3:24",
            "-r",
            "40",
            "--chunk-size",
            "1",
            "--workers",
            "2",
            "--no-figures",
            "--seed",
            "3",
            "--out",
            str(work / "sweep.csv"),
        ],
        "abc": [
            *h,
            "calibrate",
            "diffusion_only",
            "--method",
            "abc",
            "--population",
            "100",
            "--budget",
            "1500",
            "--generations",
            "3",
            "--workers",
            "2",
            "--seed",
            "5",
            "--out",
            str(work / "abc"),
            "--force",
        ],
        "run": [*h, "run", "baseline", "-r", "400", "--seed", "7", "--out", str(work / "run"), "--force"],
    }


def result(name: str, work: Path):
    """The command's result on disk: a table, or a folder's files (bytes of its tables)."""
    if name == "sweep":
        p = work / "sweep.csv"
        return pd.read_csv(p) if p.is_file() else None
    d = work / name
    if not d.exists():
        return None
    if not is_complete(d):
        return "INCOMPLETE"
    files = ("samples.csv", "estimates.csv") if name == "abc" else ("adoptions.csv", "agreements.csv", "fit.csv")
    return {f: (d / f).read_bytes() for f in files}


def same(a, b) -> bool:
    if isinstance(a, pd.DataFrame) and isinstance(b, pd.DataFrame):
        return a.equals(b)
    return a == b


def alive(pids) -> list[int]:
    out = []
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                if f.read().split(")")[-1].split()[0] != "Z":
                    out.append(p)
        except OSError:
            pass
    return out


def group_members(pgid: int) -> list[int]:
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if os.getpgid(int(d.name)) == pgid:
                    pids.append(int(d.name))
            except OSError:
                pass
    return pids


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", type=Path, default=None)
    a = ap.parse_args(argv)
    work = a.workdir or Path(tempfile.mkdtemp(prefix="harmsim-faults-"))
    rng = np.random.default_rng(a.seed)
    cmds = commands(work)
    reference, duration = {}, {}
    for name, cmd in cmds.items():
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        duration[name] = time.perf_counter() - t
        reference[name] = result(name, work)
        print(f"reference {name}: {duration[name]:.1f} s", flush=True)
    survived = reproduced = incomplete = orphans = 0
    names = list(cmds)
    for k in range(a.kills):
        name = names[k % len(names)]
        mode = "group" if (k // len(names)) % 2 == 0 else "main"
        if name == "sweep":
            for p in (work / "sweep.csv", work / "sweep.provenance.json"):
                p.unlink(missing_ok=True)
            shutil.rmtree(work / "sweep.csv.parts", ignore_errors=True)
        proc = subprocess.Popen(
            cmds[name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        at = float(rng.uniform(0.05, 1.0) * duration[name])
        time.sleep(at)
        members = group_members(proc.pid)
        if mode == "group":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.time() + 10
        left = alive(m for m in members if m != proc.pid)
        while left and time.time() < deadline:
            time.sleep(0.2)
            left = alive(left)
        orphans += len(left)
        for p in left:
            os.kill(p, signal.SIGKILL)
        state = result(name, work)
        ok_disk = state is None or same(state, reference[name]) or (name != "sweep" and state != "INCOMPLETE")
        incomplete += state == "INCOMPLETE"
        survived += ok_disk
        subprocess.run(cmds[name], check=True, capture_output=True)
        again = same(result(name, work), reference[name])
        reproduced += again
        print(
            f"kill {k + 1:2d}: {name:<5} {mode:<5} at {at:5.1f} s: on disk "
            f"{'ok' if ok_disk else 'BAD'}, rerun {'reproduces' if again else 'DIFFERS'}, "
            f"workers left {len(left)}",
            flush=True,
        )
    litter = sorted(p.name for p in work.iterdir() if ".partial-" in p.name or ".old-" in p.name)
    print(
        f"\n{a.kills} kills: {survived} left a complete earlier result or nothing ({incomplete} incomplete), "
        f"{reproduced} reruns reproduced the reference, {orphans} worker processes outlived a kill by 10 s, "
        f"{len(litter)} partial folders left ({', '.join(litter) or 'none'})"
    )
    return 0 if survived == reproduced == a.kills and not orphans else 1


if __name__ == "__main__":
    sys.exit(main())

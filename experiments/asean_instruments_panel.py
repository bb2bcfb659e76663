"""Experiment: does the world panel forecast ASEAN better when it holds ASEAN's own regional instruments?

The packaged ASEAN record follows two instruments the world record lacks:
the ASEAN treaty on mutual legal assistance (``asean_mlat``, a regional
treaty concluded with the 2004 Declaration, ratified by the ten members
from 2005 to 2013) and the Heads of Specialist Trafficking Units process
(``hsu_process``, a regional process founded in 2004). The ASEAN record's
own fit forecasts ASEAN's cells as well as or better than the world panel
(docs/regions.md); the world panel's reference class of regional treaties
has no Asian treaty ratified inside the window (SAARC's convention apart),
and the ASEAN record scores cells the panel never sees.

This adds both to the world record by a rule declared before any fit was
run: every instrument of the ASEAN record the world record lacks, open to
ASEAN's members only (``organization = "ASEAN"``), with the ASEAN record's
kind, opening year and outcomes of the ten members (Timor-Leste, not a
member inside the window, is left out); the agreement that opens it, and
the world record's ASEAN agreements that call for it, are those of the
ASEAN record, matched on their date and bindingness (the 2004 Declaration opens the treaty
and, like the 2015 Convention, calls for both). Nothing else changes:
world_baseline is refitted on the enlarged record, its two new offsets free,
and backtested from 2005, 2008 and 2011, and with the ASEAN treaty held out.

What it compares, paired per cell with standard errors clustered by state:

1. from 2005, 2008 and 2011, on ASEAN's cells against the ASEAN record
   (``baseline_trend``), every cell both score, the new instruments' among
   them: the goal "ASEAN's own backtests better with the panel" is met if
   better beyond twice the standard error from one origin or more and worse
   from none; the same on the four instruments both records held before;
2. on ASEAN's cells, against the world panel without the new instruments;
3. on every cell, against the world panel without them;
4. the ASEAN treaty held out (``--hold-out asean_mlat``: its cells
   unobserved in the fit, forecast from its opening year to 2015), the panel
   against the ASEAN record's ``baseline_trend`` held out the same way, and
   each against the constant hazard: the panel forecasts a held-out ASEAN
   treaty better if better than the ASEAN record beyond twice the standard
   error (ten states: a rough standard error, said in the output).

Run the two reference backtests first (docs_numbers jobs asean-backtests and
world-backtests), then, from the repository's root:

    python experiments/asean_instruments_panel.py out/asean-instruments out/bt_asean/baseline_trend out/bt_world

It writes the enlarged record, a scenario on it that extends world_baseline,
its backtests and the ASEAN record's hold-out into the output folder, and
prints the four comparisons.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

import harmsim
from harmsim.cli import main as harmsim_main

sys.path.insert(0, str(Path(__file__).resolve().parent))
from paired_backtests import (  # the experiment beside this one
    against_asean_and_world,
    backtest_scenario,
    paired,
    panel_arguments,
    report,
    verdicts,
)

SCENARIO = """\
# world_baseline on the world record with ASEAN's own regional instruments (experiments/asean_instruments_panel.py)
extends = "world_baseline"
name = "world_asean_instruments"
description = "world_baseline fitted to the world record with the ASEAN record's treaty on mutual legal assistance \
and the specialist units' process"
record = "record"

[hazard.offsets]  # world_baseline's, and the two new instruments' from 0
untoc = 0.5
tip_protocol = 0.0
cets197 = 0.0
saarc2002 = 0.0
actip = 0.0
asean_mlat = 0.0
hsu_process = 0.0
"""

HELD_OUT = "asean_mlat"
NOTE = "added from the packaged ASEAN record by experiments/asean_instruments_panel.py"


def new_instruments(world, asean) -> list[str]:
    """The ASEAN record's instruments the world record lacks, in the ASEAN record's order."""
    return [k for k in asean.instrument_ids if k not in set(world.instrument_ids)]


def _same_date(world, asean) -> dict[str, str]:
    """ASEAN record agreement id -> the world record's ASEAN agreement of the same date and bindingness (where
    there is one: on 21 November 2015 ASEAN signed its Convention and adopted a plan of action)."""
    ours = world.agreements[world.agreements["organization"] == "ASEAN"]
    held = dict(zip(zip(ours["date"].astype(str), ours["binding"]), ours["agreement"]))
    theirs = asean.agreements
    keys = zip(theirs["agreement"], zip(theirs["date"].astype(str), theirs["binding"]))
    return {a: held[key] for a, key in keys if key in held}


def instrument_rows(world, asean) -> pd.DataFrame:
    """:func:`new_instruments` as rows of the world record's instruments.csv, open to ASEAN's members only."""
    same = _same_date(world, asean)
    inst = asean.instruments.set_index("instrument")
    rows = []
    for k in new_instruments(world, asean):
        r = inst.loc[k]
        opened_by = str(r.get("opened_by") or "")
        rows.append({
            "instrument": k, "name": r["name"], "kind": r["kind"],
            "opens": "" if pd.isna(r["opens"]) else int(r["opens"]), "opened_by": same.get(opened_by, ""),
            "requires": "", "organization": "ASEAN", "source": r["source"], "note": NOTE,
        })  # fmt: skip
    return pd.DataFrame(rows)


def adoption_rows(world, asean) -> pd.DataFrame:
    """The ASEAN record's outcomes of :func:`new_instruments` for ASEAN's members (in the world record's
    memberships), as rows of the world record's adoptions.csv: years, intervals and censoring as recorded."""
    members = set(world.memberships.loc[world.memberships["organization"] == "ASEAN", "state"])
    ad = asean.adoptions
    ad = ad[ad["instrument"].isin(new_instruments(world, asean)) & ad["state"].isin(members)]

    def text(v):
        return "" if pd.isna(v) else str(int(v))

    return pd.DataFrame({
        "state": ad["state"], "instrument": ad["instrument"], "year": ad["year"].map(text),
        "year_min": ad["year_min"].map(text), "year_max": ad["year_max"].map(text),
        "seen_until": ad["seen_until"].where(ad["year"].isna() & ad["year_min"].isna()).map(text),
        "date": "", "precision": "year",
        "month": "", "source": ad["source"], "confidence": "high",
        "note": [f"{n}; {NOTE}" if isinstance(n, str) and n else NOTE for n in ad.get("note", [""] * len(ad))],
    })  # fmt: skip


def coverage(world, asean) -> dict[str, list[str]]:
    """World record ASEAN agreement id -> the new instruments its ASEAN-record counterpart calls for."""
    new = set(new_instruments(world, asean))
    out = {}
    for a, theirs in _same_date(world, asean).items():
        covers = asean.agreements.loc[asean.agreements["agreement"] == a, "covers"].iloc[0]
        calls = [k for k in covers if k in new]
        if calls:
            out.setdefault(theirs, []).extend(k for k in calls if k not in out.get(theirs, []))
    return out


def write_record(folder: Path) -> dict:
    """Write the world record's tables to ``folder`` with ASEAN's instruments added (instruments, outcomes
    and the coverage of ASEAN's agreements); return what was added."""
    rc = harmsim_main(["record", "world", "--out", str(folder), "--force"])
    if rc:
        raise SystemExit(rc)
    world, asean = harmsim.load_record("world"), harmsim.load_record("asean")
    inst, adopt, cover = instrument_rows(world, asean), adoption_rows(world, asean), coverage(world, asean)
    for name, rows in (("instruments.csv", inst), ("adoptions.csv", adopt)):
        table = pd.read_csv(folder / name, dtype=str, keep_default_na=False)
        pd.concat([table, rows.astype(str)], ignore_index=True).fillna("").to_csv(folder / name, index=False)
    table = pd.read_csv(folder / "agreements.csv", dtype=str, keep_default_na=False)
    for agreement, calls in cover.items():
        at = table["agreement"] == agreement
        table.loc[at, "covers"] = table.loc[at, "covers"].str.cat([" ".join(calls)] * int(at.sum()), sep=" ")
        table.loc[at, "note"] = (
            table.loc[at, "note"]
            .str.cat([f"calls for {' '.join(calls)} as in the ASEAN record ({NOTE})"] * int(at.sum()), sep="; ")
            .str.lstrip("; ")
        )
    table.to_csv(folder / "agreements.csv", index=False)
    return {"instruments": inst, "adoptions": adopt, "coverage": cover}


def held_out(args, out: Path) -> tuple[int, Path, Path]:
    """Back-test the panel and the ASEAN record with the ASEAN treaty held out; exit code and both folders."""
    import harmsim.cli

    panel, alone = out / f"hold-out-{HELD_OUT}", out / f"asean-hold-out-{HELD_OUT}"
    rc = 0
    for scenario, folder in ((str(out / "world_asean_instruments.toml"), panel), ("baseline_trend", alone)):
        cmd = ["backtest", scenario, "--hold-out", HELD_OUT, "--replicates", str(args.replicates)]
        rc = rc or harmsim.cli.main([*cmd, "--out", str(folder), "--force"])
    return rc, panel, alone


def main(argv=None) -> int:
    args = panel_arguments(__doc__.splitlines()[0], "folder for the enlarged record, its scenario and backtests",
                           argv)  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    added = write_record(args.out / "record")
    calls = "; ".join(f"{a} calls for {' '.join(k)}" for a, k in added["coverage"].items())
    print(f"added {', '.join(added['instruments']['instrument'])} with {len(added['adoptions'])} outcomes; {calls}")
    rc, backtest = backtest_scenario(args.out, "world_asean_instruments", SCENARIO, args.replicates)
    if rc:
        return rc
    rc = against_asean_and_world(args, backtest, "the panel with ASEAN's instruments")
    asean, new = harmsim.load_record("asean").state_ids, tuple(added["instruments"]["instrument"])
    before = paired(args.asean, backtest, asean, without=new)
    print("\n1b. The same on the four instruments both records held before")
    print(before.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    for line in verdicts(before, "the panel with ASEAN's instruments against the ASEAN record"):
        print(line)
    print("\n3. The same on every cell")
    rc = rc or report(args.world, backtest, what="the panel with ASEAN's instruments against the world panel")
    print(f"\n4. {HELD_OUT} held out: the panel against the ASEAN record (ten states: a rough standard error)")
    rc_h, panel, alone = held_out(args, args.out)
    return rc or rc_h or report(alone, panel, asean, what=f"the panel's forecast of the held-out {HELD_OUT}")


if __name__ == "__main__":
    raise SystemExit(main())

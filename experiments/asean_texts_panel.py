"""Experiment: does the world panel forecast ASEAN better when it knows ASEAN's plans and work programmes?

The world record holds three of ASEAN's texts besides its 2015 plan: the
1997 Declaration on Transnational Crime, the 2004 Declaration against
Trafficking and the 2015 Convention. The packaged ASEAN record holds the
follow-ups the study traces between them (ASEAN Vision 2020, the 1999 Plan
of Action, the 2002 Work Programme, the 2007 guidelines and work plan, the
2011 joint statement). The ASEAN record's own fit forecasts ASEAN's cells
as well as or better than the world panel (docs/regions.md), and the
agreements it knows are one of the things the world record lacks.

This adds those texts to the world record as ASEAN's agreements, by a rule
declared before any fit was run: every agreement of the ASEAN record that
the world record lacks (matched on its date), whose coverage includes an
instrument of the world record, with its coverage restricted to the world's
instruments (the ASEAN MLAT and the specialist units are not in the world
record, so the 2009 decision on the units, which calls for nothing else,
is not added). Nothing else changes: world_baseline is refitted on the
enlarged record and backtested from 2005, 2008 and 2011.

What it compares, paired per cell with standard errors clustered by state:

1. on ASEAN's cells, against the ASEAN record (``baseline_trend``): the goal
   "ASEAN's own backtests better with the panel" is met if better beyond
   twice the standard error from one origin or more and worse from none;
2. on ASEAN's cells, against the world panel without the texts;
3. on every cell, against the world panel without the texts (do ASEAN's
   texts change the forecasts of everyone else?).

Run the two reference backtests first (docs_numbers jobs asean-backtests and
world-backtests), then, from the repository's root:

    python experiments/asean_texts_panel.py out/asean-texts out/bt_asean/baseline_trend out/bt_world

It writes the enlarged record, a scenario on it that extends world_baseline,
and the backtest, into the output folder, and prints the three comparisons.
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
    panel_arguments,
    report,
)

SCENARIO = """\
# world_baseline on the world record with ASEAN's other texts (experiments/asean_texts_panel.py)
extends = "world_baseline"
name = "world_asean_texts"
description = "world_baseline fitted to the world record with the ASEAN record's plans, work programmes and statements"
record = "record"
"""


def asean_texts(world, asean) -> pd.DataFrame:
    """The ASEAN record's agreements the world record lacks, as rows of the world record's agreements.csv.

    A text is the same as one the world record holds when ASEAN has an agreement of that date there; a text
    whose coverage names none of the world's instruments is left out (it could act only through the general
    term, on a coding the world record never made)."""
    ours = world.agreements[world.agreements["organization"] == "ASEAN"]
    held = dict(zip(ours["date"].astype(str), ours["agreement"]))  # date -> the world record's id
    date = dict(zip(asean.agreements["agreement"], asean.agreements["date"].astype(str)))
    instruments = set(world.instrument_ids)
    rows = []
    for a in asean.agreements.itertuples():
        covers = [k for k in a.covers if k in instruments]
        if str(a.date) in held or not covers:
            continue
        rows.append({
            "agreement": f"asean_{a.agreement}", "organization": "ASEAN", "name": a.name, "date": a.date,
            "year": int(a.year), "binding": "yes" if a.binding else "no", "kind": a.kind, "covers": " ".join(covers),
            "trigger": a.trigger, "builds_on": held.get(date.get(a.builds_on), f"asean_{a.builds_on}") if a.builds_on
            else "",
            "covers_basis": "the packaged ASEAN record's coding, restricted to the world record's instruments",
            "source_id": a.agreement, "source": a.source, "confidence": "medium",
            "note": "added from the packaged ASEAN record by experiments/asean_texts_panel.py",
        })  # fmt: skip
    return pd.DataFrame(rows)


def write_record(folder: Path) -> pd.DataFrame:
    """Write the world record's tables to ``folder`` with :func:`asean_texts` added to its agreements; return
    the rows added."""
    rc = harmsim_main(["record", "world", "--out", str(folder), "--force"])
    if rc:
        raise SystemExit(rc)
    added = asean_texts(harmsim.load_record("world"), harmsim.load_record("asean"))
    table = pd.read_csv(folder / "agreements.csv", dtype=str, keep_default_na=False)
    pd.concat([table, added.astype(str)], ignore_index=True).fillna("").to_csv(folder / "agreements.csv", index=False)
    return added


def main(argv=None) -> int:
    args = panel_arguments(__doc__.splitlines()[0], "folder for the enlarged record, its scenario and its backtest",
                           argv)  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    added = write_record(args.out / "record")
    print(f"added {len(added)} of ASEAN's texts: {', '.join(added['source_id'])}")
    rc, backtest = backtest_scenario(args.out, "world_asean_texts", SCENARIO, args.replicates)
    if rc:
        return rc
    rc = against_asean_and_world(args, backtest, "the panel with ASEAN's texts")
    print("\n3. The same on every cell")
    return rc or report(args.world, backtest, what="the panel with ASEAN's texts against the world panel")


if __name__ == "__main__":
    raise SystemExit(main())

"""Experiment: does a panel of ASEAN's own part of the world forecast ASEAN better than the whole world?

The world panel borrows strength from 178 states outside ASEAN and forecasts
ASEAN's own cells no better than the ASEAN record alone (docs/regions.md).
One reading is that most of those states are unlike ASEAN's. This fits the
same scenario, world_baseline, to the states of the two Kelley-Simmons
subregions ASEAN's members and neighbours belong to, East Asia and Pacific
and South Asia (32 states: ASEAN, COMMIT, SAARC and their neighbours; South
Asia keeps SAARC's convention in the regional treaties' reference class,
which ACTIP's offset needs), and backtests it from 2005, 2008 and 2011.

What it compares, on the cells each pair of backtests score for the ten ASEAN
states, paired per cell with standard errors clustered by state:

1. the Asia-Pacific panel against the ASEAN record (``baseline_trend``);
2. the Asia-Pacific panel against the world panel (``world_baseline``);
3. both again without ACTIP's cells: on the sub-panel the regional treaties'
   reference class, from which ACTIP's hazard comes, is SAARC's convention
   alone (CETS 197 has no member in it), so this separates what the
   reference class does from what the other mechanisms do. A breakdown
   made after seeing 1 and 2, so exploratory.

A caveat on the model: diffusion's global weight reads the share of the
panel's states that adopted, so on the sub-panel it is the share among the
32 states, no longer the world's; the recorded global series (the share
criminalizing, which momentum reads) stays global.

Run the two reference backtests first (docs_numbers jobs asean-backtests and
world-backtests), then, from the repository's root:

    python experiments/asia_pacific_panel.py out/asia-pacific out/bt_asean/baseline_trend out/bt_world

It writes the sub-record (``harmsim record world --subregions ... --out``),
a scenario on it that extends world_baseline, and the backtest, into the
output folder, and prints the three paired comparisons.
"""

from __future__ import annotations

import sys
from pathlib import Path

import harmsim
from harmsim.cli import main as harmsim_main

sys.path.insert(0, str(Path(__file__).resolve().parent))
from paired_backtests import (  # the experiment beside this one
    against_asean_and_world,
    backtest_scenario,
    paired,
    panel_arguments,
    verdicts,
)

#: the Kelley-Simmons subregions of ASEAN's members and of their neighbours in COMMIT and SAARC
SUBREGIONS = ("East Asia and Pacific", "South Asia")

SCENARIO = """\
# world_baseline on the states of two Kelley-Simmons subregions (experiments/asia_pacific_panel.py)
extends = "world_baseline"
name = "asia_pacific"
description = "world_baseline fitted to the states of East Asia and Pacific and South Asia only"
record = "record"
"""


def main(argv=None) -> int:
    args = panel_arguments(__doc__.splitlines()[0], "folder for the sub-record, its scenario and its backtest", argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rc = harmsim_main(["record", "world", "--subregions", ",".join(SUBREGIONS), "--out", str(args.out / "record")])
    if rc:
        return rc
    rc, backtest = backtest_scenario(args.out, "asia_pacific", SCENARIO, args.replicates)
    if rc:
        return rc
    rc = against_asean_and_world(args, backtest, "the Asia-Pacific panel")
    asean = harmsim.load_record("asean").state_ids
    print("\n3. Both without ACTIP's cells (exploratory)")
    for ref, what in ((args.asean, "against the ASEAN record"), (args.world, "against the world panel")):
        table = paired(ref, backtest, asean, without=("actip",))
        print(table[table["a"] == table.iloc[0]["a"]].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        for line in verdicts(table, f"the Asia-Pacific panel {what}, ACTIP left out,"):
            print(line)
    return rc


if __name__ == "__main__":
    raise SystemExit(main())

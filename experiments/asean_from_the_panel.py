"""Experiment: does the world panel forecast ASEAN better than the ASEAN record alone?

The panel's promise is that ASEAN's parameters borrow strength from every
other region. This compares two backtests on the cells both score for the ten
ASEAN states (same origin, same instrument, same outcome; the study's and
Kelley and Simmons' criminalization years differ for some states, and those
cells are left out), paired per cell with standard errors clustered by state:
a positive gain means the panel forecast ASEAN's own cells better.

Run the two backtests first (each takes minutes; the world fit at each origin
dominates), then this script on their folders, from the repository's root:

    harmsim backtest baseline_trend --replicates 500 --out out/bt_asean
    harmsim backtest world_baseline --replicates 500 --out out/bt_world
    python experiments/asean_from_the_panel.py out/bt_asean out/bt_world

The baselines (uniform, constant hazard, event-history logit) are compared
too: each fitted on its own record, they show how much of a difference comes
from the data rather than from the model.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import harmsim

sys.path.insert(0, str(Path(__file__).resolve().parent))
from paired_backtests import report  # the experiment beside this one


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("asean", type=Path, help="folder of a backtest on the asean record")
    ap.add_argument("world", type=Path, help="folder of a backtest on the world record")
    args = ap.parse_args(argv)
    states = harmsim.load_record("asean").state_ids
    return report(args.asean, args.world, states, what="the panel's forecast of ASEAN's cells")


if __name__ == "__main__":
    raise SystemExit(main())

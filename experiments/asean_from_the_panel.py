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
from pathlib import Path

import pandas as pd

import harmsim
from harmsim.analysis.backtest import common_cells


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("asean", type=Path, help="folder of a backtest on the asean record")
    ap.add_argument("world", type=Path, help="folder of a backtest on the world record")
    args = ap.parse_args(argv)
    a = pd.read_csv(args.asean / "cells.csv")
    b = pd.read_csv(args.world / "cells.csv")
    states = harmsim.load_record("asean").state_ids
    table = common_cells(a, b, states)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    for _, r in table[table["a"] == a["model"].iloc[0]].iterrows():
        beyond = abs(r["log_score_gain"]) > 2 * r["log_score_se"]
        verdict = ("better" if r["log_score_gain"] > 0 else "worse") if beyond else "not told apart (within 2 s.e.)"
        print(f"from {r['origin']}: the panel's forecast of ASEAN's {r['cells']} common cells is {verdict}: "
              f"{r['log_score_gain']:+.3f} per cell (s.e. {r['log_score_se']:.3f})")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

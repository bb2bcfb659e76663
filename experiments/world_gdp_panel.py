"""Experiment: does state capacity, log GDP per head, make the world panel forecast better?

world_baseline reads no covariate (docs/regions.md): the world record's GDP
per head (WDI, current US$) starts in 1999 and the panel in 1990. The ASEAN
record's scenarios read GDP (capacity, the push/pull gap), and the
covariates are what the ASEAN record has and the world panel lacks. This
tests GDP on the years it covers, by a rule declared before any fit was run:

- the states with a value of GDP per head in every year 1999-2011 (the
  series' span; the others, named in the output, are left out of both
  scenarios);
- both scenarios extend world_baseline on that sub-record, over 1999-2015;
- "with GDP" adds the capacity mechanism (log GDP per head, standardized on
  1999-2011, its start the mechanism's default 0.3, free in the fit) and
  carries each state's 2011 value to 2015 (``[inputs] extend``, the rule
  world_baseline uses for the TIP tiers); the push/pull gap is not added:
  against the mean of every state in the record it differs from the level
  only by a term common to all states in a year, which the period absorbs;
- both are backtested from 2005, 2008 and 2011 (500 replicates, seed 0,
  the recorded schedule and inputs, as every panel backtest).

Declared: GDP improves the panel's forecasts if "with GDP" is better than
"without" on their common cells beyond twice the standard error (paired per
cell, clustered by state) from one origin or more and worse from none. The
same comparison on ASEAN's cells, and "with GDP" against the ASEAN record
there, are reported beside it (on the members with a complete series).

Run the ASEAN record's backtest first (docs_numbers job asean-backtests),
then, from the repository's root:

    python experiments/world_gdp_panel.py out/world-gdp out/bt_asean/baseline_trend

It writes the sub-record, the two scenarios and their backtests into the
output folder and prints the comparisons.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

import harmsim

sys.path.insert(0, str(Path(__file__).resolve().parent))
from paired_backtests import backtest_scenario, report  # the experiment beside this one

#: the years of the world record's GDP per head (its first and last)
GDP_YEARS = (1999, 2011)

WITHOUT = """\
# world_baseline on the states with GDP per head, 1999-2015 (experiments/world_gdp_panel.py)
extends = "world_baseline"
name = "world_1999"
description = "world_baseline on the states with GDP per head in every year 1999-2011, over 1999-2015"
record = "../record"

[window]
start = 1999
end = 2015
"""

WITH = """\
# world_1999 with state capacity, log GDP per head (experiments/world_gdp_panel.py)
extends = "../without/world_1999.toml"
name = "world_1999_gdp"
description = "world_1999 with state capacity (log GDP per head, its 2011 value carried to 2015)"

[inputs]
reference = [1999, 2011]
extend = { tiers = "carry", share_criminalized = "carry", gdp_pc = "carry" }

[mechanisms.capacity]
strength = 0.3
"""


def states_with_gdp(world) -> tuple[list[str], list[str]]:
    """The world record's states with GDP per head in every year of :data:`GDP_YEARS`, and the others."""
    cov = world.covariates
    span = cov[(cov["year"] >= GDP_YEARS[0]) & (cov["year"] <= GDP_YEARS[1])]
    years = GDP_YEARS[1] - GDP_YEARS[0] + 1
    counts = span.dropna(subset=["gdp_pc"]).groupby("state")["year"].nunique()
    kept = [s for s in world.state_ids if counts.get(s, 0) == years]
    return kept, [s for s in world.state_ids if s not in set(kept)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="folder for the sub-record, the two scenarios and their backtests")
    ap.add_argument("asean", type=Path, help="folder of a backtest of baseline_trend on the asean record")
    ap.add_argument("--replicates", "-r", type=int, default=500, help="replicates per backtest forecast")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    world = harmsim.load_record("world")
    kept, left = states_with_gdp(world)
    names = world.states.set_index("state")["name"]
    print(f"{len(kept)} states with GDP per head in every year {GDP_YEARS[0]}-{GDP_YEARS[1]}; left out: "
          + ", ".join(f"{names[s]} ({s})" for s in left))  # fmt: skip
    world.subset(kept, name="world_gdp").write(args.out / "record")
    folders = {}
    for key, text, name in (("without", WITHOUT, "world_1999"), ("with", WITH, "world_1999_gdp")):
        (args.out / key).mkdir(exist_ok=True)
        rc, folders[key] = backtest_scenario(args.out / key, name, text, args.replicates)
        if rc:
            return rc
    print("\ncapacity.strength at each origin (log-odds per SD of log GDP per head):")
    for origin in (2005, 2008, 2011):
        est = pd.read_csv(folders["with"] / "fits" / f"{origin}-world_1999_gdp" / "estimates.csv")
        r = est.set_index("parameter").loc["capacity.strength"]
        interval = "includes 0" if r["lower"] <= 0 <= r["upper"] else "excludes 0"
        print(f"  from {origin}: {r['estimate']:+.3f} (s.e. {r['se']:.3f}), its 95% interval {interval}")
    print("\n1. With GDP against without, on every cell")
    rc = report(folders["without"], folders["with"], what="the panel with GDP against without")
    asean = harmsim.load_record("asean").state_ids
    print("\n2. The same on ASEAN's cells")
    rc = rc or report(folders["without"], folders["with"], asean, what="the panel with GDP against without")
    print("\n3. With GDP against the ASEAN record, on ASEAN's cells")
    return rc or report(args.asean, folders["with"], asean, what="the panel with GDP against the ASEAN record")


if __name__ == "__main__":
    raise SystemExit(main())

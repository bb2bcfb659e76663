"""Experiment: what would have happened otherwise? The study's questions as counterfactuals.

Fits the baseline scenario to the 1997-2015 record by maximum likelihood,
then runs it with and without each change in experiments/changes/ on the same
seeds and parameter draws (1997-2015, so the answers are about the record's
own years):

* no 2004 Declaration;
* the 2004 Declaration binding;
* the binding Convention in 2004 instead of 2015;
* no outside pressure (no US TIP reports, no global momentum);
* no diffusion among peers.

Writes the fit and, per change, differences.csv, summary.csv, report.txt and
a figure into OUT_DIR, and a combined summary.csv:

    python experiments/counterfactuals.py OUT_DIR [--replicates 500] [--seed 0] [--until 2015]

About a minute on one core.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

import harmsim
from harmsim.analysis.counterfactual import counterfactual
from harmsim.calibrate import calibrate
from harmsim.model.interventions import load_change

CHANGES = (
    "no_2004_declaration",
    "binding_2004_declaration",
    "convention_in_2004",
    "no_outside_pressure",
    "no_diffusion",
)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--replicates", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--until", type=int, default=2015)
    a = ap.parse_args(argv)
    sc = harmsim.load_scenario("baseline")
    fit = calibrate(sc)
    fit.save(a.out / "fit", force=True)  # this script owns its result folders
    here = Path(__file__).resolve().parent / "changes"
    rows = []
    for name in CHANGES:
        cf = counterfactual(
            sc, fit, load_change(here / f"{name}.toml"), until=a.until, replicates=a.replicates, seed=a.seed
        )
        cf.save(a.out / name, force=True)
        print(cf.report(), end="\n\n")
        rows.append(cf.summary.assign(change=name))
    table = pd.concat(rows, ignore_index=True)
    table = table[["change", *[c for c in table.columns if c != "change"]]]
    table.to_csv(a.out / "summary.csv", index=False)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Experiment: how much of a backtest's verdict is Monte Carlo noise?

A backtest's paired gains carry two kinds of noise. Sampling noise, the
states the record happens to hold, is what each gain's standard error
(clustered by state) measures. Monte Carlo noise comes from forecasting
with a finite number of replicates: another seed gives other simulated
years and other scores. The fits are maximum-likelihood estimates and do
not depend on the seed, so backtests of one scenario from the same origins
with different seeds differ by the forecasts' random numbers alone.

This reads the ``cells.csv`` of several such backtest folders (one per
seed), checks that they scored the same cells, and gives, per origin and
baseline, the scenario's paired gain in log score in each (the mean over
cells of the scenario's log score less the baseline's), their mean, their
standard deviation across seeds (the Monte Carlo standard deviation of one
run's gain), the mean sampling standard error, and the ratio of the two.
It says in words whether each verdict (beyond twice the standard error or
not) is the same with every seed. Only the scenario's and the baselines'
own forecasts are read, not the pools.

Run the backtests first, then this script on their folders, from the
repository's root, e.g.:

    for s in 0 1 2 3; do harmsim backtest world_baseline -r 500 --seed $s --no-figures --out out/mc/seed$s; done
    python experiments/monte_carlo_backtests.py out/mc out/mc/seed0 out/mc/seed1 out/mc/seed2 out/mc/seed3

It writes ``monte_carlo.csv`` into the folder given first and prints the
table. The backtest folders are only read: a file added to one would keep
``harmsim backtest --force`` from replacing it, since harmsim replaces only
a folder holding nothing but what it wrote.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from harmsim.analysis.backtest import Backtest, _monte_carlo_words
from harmsim.analysis.backtest import monte_carlo as spread

KEYS = ["origin", "state", "instrument", "outcome"]


def gains(folder: Path) -> tuple[str, pd.DataFrame, set]:
    """The scenario of a backtest folder, per origin and baseline its paired gain with the sampling s.e.
    (:meth:`~harmsim.analysis.backtest.Backtest.paired` of the folder's cells), and the cells it scored."""
    folder = Path(folder)
    provenance = json.loads((folder / "provenance.json").read_text())
    cells = pd.read_csv(folder / "cells.csv")
    scored = set(map(tuple, cells[KEYS].astype(str).to_numpy()))
    return provenance["scenario"], Backtest(pd.DataFrame(), cells, provenance=provenance).paired(), scored


def monte_carlo(folders: list[Path]) -> pd.DataFrame:
    """Per origin and baseline over the folders' seeds (:func:`harmsim.analysis.backtest.monte_carlo`): the gains,
    their mean and s.d., the mean sampling s.e., the ratio and whether the verdict is the same in each."""
    named = [gains(f) for f in folders]
    scenarios = {s for s, _, _ in named}
    if len(scenarios) != 1:
        raise SystemExit(f"the folders backtest different scenarios: {', '.join(sorted(scenarios))}")
    if any(scored != named[0][2] for _, _, scored in named[1:]):
        raise SystemExit("the folders did not score the same cells: not the same backtest with another seed")
    out = spread(pd.concat([t.assign(seed=i) for i, (_, t, _) in enumerate(named)], ignore_index=True))
    out.insert(0, "scenario", scenarios.pop())
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="folder for monte_carlo.csv")
    ap.add_argument("folders", type=Path, nargs="+", help="backtest folders of one scenario, one per seed")
    args = ap.parse_args(argv)
    if len(args.folders) < 2:
        raise SystemExit("give two or more backtest folders (one per seed): one seed shows no Monte Carlo spread")
    table = monte_carlo(args.folders)
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "monte_carlo.csv", index=False)
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    for _, r in table.iterrows():
        print(_monte_carlo_words(r, r["scenario"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

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

A second table (``shared_noise.csv``) asks where the Monte Carlo noise
comes from. Per origin, for the scenario and the logit (the forecasts that
simulate), it sets the standard deviation of the model's mean log score over
the seeds beside the one its cells' binomial noise would give if the cells
were independent: a cell whose outcome has probability ``p``, estimated
from ``R`` replicates, has a log score of Monte Carlo variance about
``(1 - p) / (R p)`` (the delta method), and the mean of ``n`` independent
cells the square root of their sum over ``n``. A measured spread well above
that is noise the cells share: a replicate's parameter draw moves every
cell's forecast together (compare a backtest with ``--parameters
estimate``, which draws none). The delta method fails for outcomes few
replicates produced (``p R`` below 5, whose log score is smoothed), so the
table counts those cells.

Run the backtests first, then this script on their folders, from the
repository's root, e.g.:

    for s in 0 1 2 3; do harmsim backtest world_baseline -r 500 --seed $s --no-figures --out out/mc/seed$s; done
    python experiments/monte_carlo_backtests.py out/mc out/mc/seed0 out/mc/seed1 out/mc/seed2 out/mc/seed3

It writes ``monte_carlo.csv`` and ``shared_noise.csv`` into the folder given
first and prints the tables. The backtest folders are only read: a file added to one would keep
``harmsim backtest --force`` from replacing it, since harmsim replaces only
a folder holding nothing but what it wrote.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from harmsim.analysis.backtest import LOGIT, Backtest, _monte_carlo_words
from harmsim.analysis.backtest import monte_carlo as spread

KEYS = ["origin", "state", "instrument", "outcome"]
#: below this many replicates producing a cell's outcome (p R), the delta method's variance is not to be trusted
FEW = 5


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


def shared_noise(folders: list[Path]) -> pd.DataFrame:
    """Per origin and simulated model (the scenario, the logit): the s.d. of its mean log score over the
    folders' seeds (``measured_sd``) beside the one independent cells would give (``independent_sd``, the
    delta method on each folder's cells, averaged), their ``ratio``, and the ``few`` cells whose outcome fewer
    than :data:`FEW` replicates produced (in the first folder), where the delta method fails."""
    rows = []
    for folder in map(Path, folders):
        provenance = json.loads((folder / "provenance.json").read_text())
        replicates = provenance["backtest"]["replicates"]
        cells = pd.read_csv(folder / "cells.csv")
        cells = cells[cells["model"].isin([provenance["scenario"], LOGIT])]
        for (origin, model), g in cells.groupby(["origin", "model"], sort=False):
            p = np.exp(g["log_score"].to_numpy(float))
            rows.append({"folder": str(folder), "origin": origin, "model": model, "cells": len(g),
                         "score": float(g["log_score"].mean()),
                         "independent_sd": float(np.sqrt(((1 - p) / (replicates * p)).sum()) / len(g)),
                         "few": int((p * replicates < FEW).sum())})  # fmt: skip
    t = pd.DataFrame(rows)
    out = (
        t.groupby(["origin", "model"], sort=False)
        .agg(
            cells=("cells", "first"),
            runs=("score", "size"),
            measured_sd=("score", "std"),
            independent_sd=("independent_sd", "mean"),
            few=("few", "first"),
        )
        .reset_index()
    )
    out["ratio"] = out["measured_sd"] / out["independent_sd"]
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
    noise = shared_noise(args.folders)
    noise.to_csv(args.out / "shared_noise.csv", index=False)
    print("\nEach model's mean log score over the seeds, against independent cells' binomial noise (delta method):")
    print(noise.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    for _, r in noise.iterrows():
        few = f"; {r['few']} of its cells' outcomes produced by fewer than {FEW} replicates" if r["few"] else ""
        print(f"from {r['origin']}, '{r['model']}': Monte Carlo s.d. {r['measured_sd']:.3f} over {r['runs']} "
              f"seeds, {r['ratio']:.1f} times the {r['independent_sd']:.3f} of independent cells{few}.")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Experiment: which scenarios forecast better than the logit, beyond Monte Carlo as well as sampling noise?

A backtest's gain over the event-history logit carries sampling noise (its
standard error, clustered by state) and, on ASEAN's few cells, Monte Carlo
noise of a similar size at 500 replicates (docs/forecasting.md). This reads
one backtest folder per scenario, each run with further seeds
(``harmsim backtest SCENARIO --monte-carlo-seeds ...``, whose
``monte_carlo.csv`` spreads each gain over the seeds), and tabulates, per
scenario and origin: the scenario's and the logit's mean log score per
scored cell in the run's own seed, the paired gain with its standard error,
and the gain's mean, range and Monte Carlo standard deviation over the
seeds with the verdict of each (better or worse beyond twice the standard
error, or not told apart). It counts the verdicts that hold with every seed
and names those that change with the seed, and it says which scenarios
score exactly as another, cell by cell: one model on this record, whatever
their files say.

Run the backtests first, then this script on their folders, from the
repository's root, e.g.:

    for s in baseline diffusion_only; do
        harmsim backtest $s -r 5000 --monte-carlo-seeds 1 --no-figures --out out/bt5000/$s
    done
    python experiments/scenario_backtests.py out/bt5000 out/bt5000/baseline out/bt5000/diffusion_only

It writes ``scenario_backtests.csv`` into the folder given first (the
backtest folders are only read) and prints the table and its reading.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from harmsim.analysis.backtest import LOGIT, _reading

COLUMNS = ["scenario", "origin", "cells", "log_score", "logit", "gain", "se", "runs", "gain_mean", "gain_min",
           "gain_max", "monte_carlo_sd", "verdicts"]  # fmt: skip


def read(folder: Path) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    """A backtest folder's scenario, its rows of the table (one per origin), and its own cells."""
    folder = Path(folder)
    scenario = json.loads((folder / "provenance.json").read_text())["scenario"]
    scores = pd.read_csv(folder / "scores.csv").set_index(["origin", "model"])["log_score"]
    paired = pd.read_csv(folder / "paired.csv")
    paired = paired[paired["baseline"] == LOGIT]
    if not len(paired):
        raise SystemExit(f"{folder}: no paired gain over the {LOGIT} (run the backtest with the logit baseline)")
    rows = pd.DataFrame(
        {
            "scenario": scenario,
            "origin": paired["origin"].to_numpy(),
            "cells": paired["cells"].to_numpy(),
            "log_score": [scores[(o, scenario)] for o in paired["origin"]],
            "logit": [scores[(o, LOGIT)] for o in paired["origin"]],
            "gain": paired["log_score_gain"].to_numpy(),
            "se": paired["log_score_se"].to_numpy(),
        }
    )
    spread = folder / "monte_carlo.csv"
    if spread.exists():
        mc = pd.read_csv(spread)
        mc = mc[mc["baseline"] == LOGIT].set_index("origin")
        for c in ("runs", "gain_mean", "gain_min", "gain_max", "monte_carlo_sd", "verdicts"):
            rows[c] = rows["origin"].map(mc[c])
    else:  # one seed: its own verdict, no spread
        rows["runs"] = 1
        for c in ("gain_mean", "gain_min", "gain_max"):
            rows[c] = rows["gain"]
        rows["monte_carlo_sd"] = np.nan
        rows["verdicts"] = [
            _reading({"log_score_gain": g, "log_score_se": s}) for g, s in zip(rows["gain"], rows["se"])
        ]
    cells = pd.read_csv(folder / "cells.csv")
    return scenario, rows[COLUMNS], cells[cells["model"] == scenario]


def identical(cells: dict[str, pd.DataFrame]) -> list[tuple[str, str]]:
    """Pairs of scenarios whose forecasts score the same cells with the same log score, to 1e-12."""
    keys = ["origin", "state", "instrument", "outcome"]
    out = []
    ordered = {name: c.sort_values(keys).reset_index(drop=True) for name, c in cells.items()}
    labels = {name: c[keys].astype(str) for name, c in ordered.items()}
    names = list(ordered)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            x, y = ordered[a], ordered[b]
            if len(x) == len(y) and labels[a].equals(labels[b]):
                if np.allclose(x["log_score"], y["log_score"], rtol=0, atol=1e-12):
                    out.append((a, b))
    return out


def reading(table: pd.DataFrame, same: list[tuple[str, str]]) -> list[str]:
    """The table in words: how many verdicts hold with every seed, which change, which are gains."""
    settled = table[~table["verdicts"].str.contains(",")]
    moving = table[table["verdicts"].str.contains(",")]
    lines = [
        f"{len(table)} comparisons with the {LOGIT} ({table['scenario'].nunique()} scenarios); with every seed: "
        + ", ".join(f"{n} {v}" for v, n in settled["verdicts"].value_counts().items())
        + (f"; {len(moving)} change with the seed" if len(moving) else "; none changes with the seed")
        + "."
    ]
    for _, r in moving.iterrows():
        lines.append(
            f"'{r['scenario']}' from {r['origin']}: {r['gain_mean']:+.3f} per cell ({r['gain_min']:+.3f} to "
            f"{r['gain_max']:+.3f} over {r['runs']} seeds, s.e. {r['se']:.3f}): {r['verdicts']}, with the seed."
        )
    for _, r in settled[settled["verdicts"] == "better"].iterrows():
        lines.append(
            f"'{r['scenario']}' from {r['origin']} is better than the logit with every seed: {r['gain_mean']:+.3f} "
            f"per cell (s.e. {r['se']:.3f}); about one comparison in forty would be by chance."
        )
    for a, b in same:
        lines.append(f"'{b}' scores exactly as '{a}', cell by cell: on this record the two are one model.")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="folder for scenario_backtests.csv")
    ap.add_argument("folders", type=Path, nargs="+", help="backtest folders, one per scenario")
    args = ap.parse_args(argv)
    read_in = [read(f) for f in args.folders]
    table = pd.concat([rows for _, rows, _ in read_in], ignore_index=True)
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "scenario_backtests.csv", index=False)
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    for line in reading(table, identical({name: cells for name, _, cells in read_in})):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

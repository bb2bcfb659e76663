"""Experiment: are several backtests' forecasts early or late, overall and on one instrument?

Calibration in the large of a forecast is the mean of its cells' PIT values
(where each outcome falls in its forecast): 1/2 when the forecasts are
calibrated, below it the record adopted earlier than forecast (the
forecasts late), above later. A backtest's ``scores.csv`` gives it for
every scored cell (``mean_pit``); this reads the ``cells.csv`` of several
backtest folders and gives it per origin and model for all cells and for
the cells of one instrument, with standard errors clustered by state
(:func:`harmsim.scoring.scores.paired_difference`). An instrument scored
with both outcomes from every origin (criminalization on the world panel)
shows calibration without the selection of cells a source that stops
dating absences brings (the UN treaties after 2011). Folders written
before ``pit_mid`` existed are read through their randomized PIT, whose
mean is the same in expectation.

Run the backtests first, then this script on their folders, from the
repository's root, e.g.:

    harmsim backtest world_baseline --replicates 500 --out out/bt_world
    harmsim backtest world_organizations --replicates 500 --out out/bt_orgs
    python experiments/calibration_of_backtests.py out/calibration out/bt_world out/bt_orgs --instrument tip_law

It writes ``calibration.csv`` into the first folder and prints the table.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from harmsim.scoring.scores import mean_pit


def calibration(folder: Path, instrument: str | None) -> pd.DataFrame:
    """Per origin and model of one backtest folder: the mean PIT of every scored cell and of ``instrument``'s,
    with standard errors clustered by state and the number of cells."""
    cells = pd.read_csv(Path(folder) / "cells.csv")
    pit = "pit_mid" if "pit_mid" in cells else "pit"
    rows = []
    for (origin, model), g in cells.groupby(["origin", "model"], sort=False):
        row = {"folder": "/".join(Path(folder).parts[-2:]), "origin": origin, "model": model, "pit": pit}
        parts = {"all": g}
        if instrument:
            parts[instrument] = g[g["instrument"] == instrument]
        for name, part in parts.items():
            d = mean_pit(part[pit], part["state"])
            row.update({f"{name}_cells": d["cells"], f"{name}_mean": d["mean"], f"{name}_se": d["se"]})
        rows.append(row)
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="folder for calibration.csv")
    ap.add_argument("folders", type=Path, nargs="+", help="backtest folders (each with cells.csv)")
    ap.add_argument("--instrument", default=None, help="also the cells of this instrument alone")
    ap.add_argument("--baselines", action="store_true", help="keep the baselines' rows of every folder")
    a = ap.parse_args(argv)
    table = pd.concat([calibration(f, a.instrument) for f in a.folders], ignore_index=True)
    if not a.baselines:  # the baselines are the same in every folder: keep them from the first only
        first = table["folder"] == "/".join(a.folders[0].parts[-2:])
        table = table[first | ~table["model"].isin(["uniform", "constant hazard", "event-history logit"])]
    a.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(a.out / "calibration.csv", index=False)
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print(
        "mean PIT: 1/2 when calibrated; below, the record adopted earlier than forecast (late); above, later "
        f"(early); s.e. clustered by state. Wrote {a.out / 'calibration.csv'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

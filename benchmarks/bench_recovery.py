"""Parameter recovery at scale: coverage of the MLE's 95% intervals over many synthetic records.

    python benchmarks/bench_recovery.py [--records 100] [--states 40]

Simulates records from known parameters (diffusion, bundling, intercept) on a
synthetic region, fits each back by maximum likelihood, and prints per
parameter the coverage of the 95% Wald intervals (nominal 0.95), the mean
bias and the RMSE. The small version of this check runs in the test suite.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import harmsim
from harmsim.calibrate import calibrate
from harmsim.data.record import record_from_tables
from harmsim.model.scenario import scenario_from_dict
from harmsim.model.synthetic import synthetic_region

TRUTH = {"hazard.intercept": -3.0, "diffusion.strength": 2.0, "prerequisites.bundle": 1.5}


def with_history(region, simulated):
    tables = dict(region.tables())
    ad = simulated.astype({"state": str, "instrument": str})
    ad["year_min"] = ad["year_max"] = ad["year"]
    keep = {
        "states": tables["states"][["state", "joined", "subregion"]],
        "instruments": tables["instruments"][["instrument", "opens", "requires"]],
        "adoptions": ad,
        "borders": tables["borders"],
    }
    return record_from_tables(region.name, region.start, region.end, keep)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=100)
    ap.add_argument("--states", type=int, default=40)
    a = ap.parse_args(argv)
    region = synthetic_region(a.states, 3, seed=5)
    mech = {"diffusion": {"strength": 2.0}, "prerequisites": {"bundle": 1.5}}
    truth_sc = scenario_from_dict({"hazard": {"intercept": -3.0}, "mechanisms": mech}, where="truth", record=region)
    rows = []
    t = time.perf_counter()
    for seed in harmsim.spawn_seeds(2026, a.records):
        rec = with_history(region, harmsim.run(truth_sc, seed=seed).adoptions)
        start = {
            "hazard": {"intercept": -2.0},
            "mechanisms": {"diffusion": {"strength": 0.5}, "prerequisites": {"bundle": 0.0}},
        }
        fit = calibrate(scenario_from_dict(start, where="fit", record=rec), free=list(TRUTH))
        for r in fit.estimates.itertuples():
            rows.append(
                {"parameter": r.parameter, "estimate": r.estimate, "covered": r.lower <= TRUTH[r.parameter] <= r.upper}
            )
    df = pd.DataFrame(rows)
    df["error"] = df["estimate"] - df["parameter"].map(TRUTH)
    out = df.groupby("parameter").agg(
        coverage=("covered", "mean"), bias=("error", "mean"), rmse=("error", lambda e: float(np.sqrt(np.mean(e**2))))
    )
    print(f"{a.records} synthetic records of {a.states} states x 3 instruments, {time.perf_counter() - t:.0f} s")
    print(out.to_string(float_format=lambda x: f"{x:.3f}"))


if __name__ == "__main__":
    main()

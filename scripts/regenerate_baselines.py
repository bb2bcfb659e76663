"""Regenerate the stored regression baselines in tests/baselines/.

Run after a deliberate change of the model's behaviour, then review the diff
(``git diff tests/baselines``) and say in the commit why the numbers moved::

    python scripts/regenerate_baselines.py

The baselines: the fit tables of the shipped baseline and endogenous
scenarios against the packaged record, from fixed ensembles (``BASELINES``);
the baseline's maximum-likelihood fit (log-likelihood and estimates,
``mle_table``); a small sweep (``sweep_table``) and a small ABC run
(``abc_table``), both deterministic given their seeds.
"""

from __future__ import annotations

from pathlib import Path

import harmsim

OUT = Path(__file__).resolve().parents[1] / "tests" / "baselines"
ROOT = Path(__file__).resolve().parents[1]
BASELINES = {
    # file name: (scenario, replicates, root seed)
    "baseline_fit.csv": ("baseline", 200, 20261128),
    "endogenous_fit.csv": ("endogenous", 200, 20261128),
}


def fit_table(scenario: str, replicates: int, seed: int):
    sc = harmsim.load_scenario(ROOT / "scenarios" / f"{scenario}.toml")
    ens = harmsim.run_ensemble(sc, replicates=replicates, seed=seed)
    return harmsim.compare(ens, harmsim.observed_record())


def mle_table():
    """The baseline's MLE: one row per free parameter (estimate, se, status) and the log-likelihood."""
    from harmsim.calibrate import calibrate

    fit = calibrate(harmsim.load_scenario(ROOT / "scenarios" / "baseline.toml"))
    est = fit.estimates[["parameter", "estimate", "se", "status"]].copy()
    est.loc[len(est)] = ["loglik", fit.loglik, float("nan"), ""]
    return est


def sweep_table():
    from harmsim.analysis.sweep import sweep

    sc = harmsim.load_scenario(ROOT / "scenarios" / "baseline.toml")
    vary = ["diffusion.strength=0:2:3", "agreements.nonbinding=0:1:2"]
    return sweep(sc, vary, replicates=10, seed=20261129, progress=False).table


def abc_table():
    from harmsim.calibrate import calibrate
    from harmsim.model.params import RealRange

    sc = harmsim.load_scenario(ROOT / "scenarios" / "diffusion_only.toml")
    priors = [RealRange("hazard.intercept", -5, 0), RealRange("diffusion.strength", -2, 5)]
    fit = calibrate(sc, "abc", priors=priors, population=50, budget=400, generations=3, seed=20261129)
    return fit.samples


#: file name: what it stores
TABLES = {"baseline_mle.csv": mle_table, "sweep.csv": sweep_table, "abc_samples.csv": abc_table}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (scenario, replicates, seed) in BASELINES.items():
        table = fit_table(scenario, replicates, seed)
        table.to_csv(OUT / name, index=False, float_format="%.12g")
        print(f"wrote {OUT / name} ({len(table)} rows)")
    for name, make in TABLES.items():
        table = make()
        table.to_csv(OUT / name, index=False, float_format="%.12g")
        print(f"wrote {OUT / name} ({len(table)} rows)")


if __name__ == "__main__":
    main()

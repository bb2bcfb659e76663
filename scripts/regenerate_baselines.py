"""Regenerate the stored regression baselines in tests/baselines/.

Run after a deliberate change of the model's behaviour, then review the diff
(``git diff tests/baselines``) and say in the commit why the numbers moved::

    python scripts/regenerate_baselines.py

The baseline is the fit table of the shipped baseline scenario against the
packaged record, from a fixed ensemble (see ``BASELINES`` below).
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


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (scenario, replicates, seed) in BASELINES.items():
        table = fit_table(scenario, replicates, seed)
        table.to_csv(OUT / name, index=False, float_format="%.12g")
        print(f"wrote {OUT / name} ({len(table)} rows)")


if __name__ == "__main__":
    main()

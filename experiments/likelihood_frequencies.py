"""Experiment: does the likelihood the optimizer climbs match what the engines simulate?

Three states, one instrument, 2000-2008, intercept -2.2, state A's adoption
known only within [2000, 2005]; for diffusion alone, state propensities
alone, and both together, 200,000 batch runs: the eight commonest histories'
simulated frequencies against exp(log-likelihood), with the chi-square over
those eight and one bin for the rest (8 degrees of freedom; 1% critical value
20.09), and for the combined case the midpoint reading the optimizer used
before, and the importance-sampled path forced. Run from the repository's root:

    python experiments/likelihood_frequencies.py

About 30 s. The same tables are asserted by tests/test_likelihood_frequency.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

from scipy.stats import chi2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.test_likelihood_frequency import CASES, chi_square, frequency_table

import harmsim.calibrate.likelihood as L


def main() -> int:
    critical = chi2.ppf(0.99, 8)
    for case in CASES:
        table, stat, df = frequency_table(case)
        print(f"\n{case}: chi-square {stat:.1f} on {df} df (1% critical value {critical:.2f})")
        print(table.drop(columns="mc_se").to_string(index=False, float_format=lambda v: f"{v:.5f}"))
        if case == "both":
            print(f"midpoint reading of A's year: chi-square {chi_square(table, 'midpoint', 200_000):.1f}")
    L._latent.MAX_PATTERNS = 1
    table, stat, df = frequency_table("both", sampled=True)
    print(f"\nboth, importance-sampled (4,096 paths): chi-square {stat:.1f} on {df} df")
    print(table.drop(columns="midpoint").to_string(index=False, float_format=lambda v: f"{v:.5f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

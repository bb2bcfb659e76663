"""Shared fixtures: the packaged record and scenarios, loaded once."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

import harmsim

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))


@pytest.fixture(scope="session")
def record():
    return harmsim.observed_record()


@pytest.fixture(scope="session")
def baseline():
    return harmsim.load_scenario(ROOT / "scenarios" / "baseline.toml")


@pytest.fixture(scope="session")
def grid_moments():
    """:func:`_grid_moments`, for the tests of the posterior samplers (tests/test_posterior.py, test_priors.py)."""
    return _grid_moments


def _grid_moments(sc, rec, fit, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The posterior's mean and s.d. of two free parameters ``names`` (a flat prior on the ranges, times the fit's
    penalty, declared priors among it), by summing the likelihood times the penalty over a 121 x 121 grid of +-6
    standard errors (cut at the ranges): the reference the posterior samplers are tested against."""
    from harmsim.calibrate import history
    from harmsim.calibrate.likelihood import loglik_many
    from harmsim.calibrate.mle import bounds_of, penalty

    at = fit.apply(sc)
    est = fit.estimates.set_index("parameter")
    axes = []
    for name in names:
        lo, hi = bounds_of(sc, name)
        centre, se = est.loc[name, "estimate"], est.loc[name, "se"]
        axes.append(np.linspace(max(lo, centre - 6 * se), min(hi, centre + 6 * se), 121))
    grid = np.array(np.meshgrid(*axes, indexing="ij")).reshape(2, -1).T
    scs = [at.with_checked_values(dict(zip(names, point))) for point in grid]
    log_p = loglik_many(scs, history(at, rec)) + np.array([penalty(s) for s in scs])
    w = np.exp(log_p - log_p.max())
    w /= w.sum()
    mean = w @ grid
    return mean, np.sqrt(w @ (grid - mean) ** 2)


# Hypothesis profiles: "ci" (the default test run) and "fuzz" (scripts/fuzz.sh: 10,000 inputs per property).
settings.register_profile("ci", max_examples=60, deadline=None)
settings.register_profile("fuzz", max_examples=int(os.environ.get("HARMSIM_FUZZ_EXAMPLES", "10000")), deadline=None)
settings.load_profile(os.environ.get("HARMSIM_HYPOTHESIS_PROFILE", "ci"))

# Progress lines on a captured stderr would mix with the messages tests read (tests/test_progress.py checks them)
os.environ.setdefault("HARMSIM_PROGRESS", "0")

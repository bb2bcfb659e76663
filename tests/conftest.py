"""Shared fixtures: the packaged record and scenarios, loaded once."""

from __future__ import annotations

import os
from pathlib import Path

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


# Hypothesis profiles: "ci" (the default test run) and "fuzz" (scripts/fuzz.sh: 10,000 inputs per property).
settings.register_profile("ci", max_examples=60, deadline=None)
settings.register_profile("fuzz", max_examples=int(os.environ.get("HARMSIM_FUZZ_EXAMPLES", "10000")), deadline=None)
settings.load_profile(os.environ.get("HARMSIM_HYPOTHESIS_PROFILE", "ci"))

# Progress lines on a captured stderr would mix with the messages tests read (tests/test_progress.py checks them)
os.environ.setdefault("HARMSIM_PROGRESS", "0")

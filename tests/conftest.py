"""Shared fixtures: the packaged record and scenarios, loaded once."""

from __future__ import annotations

from pathlib import Path

import pytest

import harmsim

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))


@pytest.fixture(scope="session")
def record():
    return harmsim.observed_record()


@pytest.fixture(scope="session")
def baseline():
    return harmsim.load_scenario(ROOT / "scenarios" / "baseline.toml")

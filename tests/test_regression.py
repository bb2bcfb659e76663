"""Regression: the fit tables of shipped scenarios against stored baselines.

A failure means the model's behaviour changed. If the change is deliberate,
regenerate with ``python scripts/regenerate_baselines.py`` and explain the
move in the commit.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("regen", ROOT / "scripts" / "regenerate_baselines.py")
regen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(regen)


@pytest.mark.parametrize("name", list(regen.BASELINES))
def test_fit_table_matches_stored_baseline(name):
    stored = pd.read_csv(ROOT / "tests" / "baselines" / name)
    now = regen.fit_table(*regen.BASELINES[name])
    assert list(now["metric"]) == list(stored["metric"])
    assert list(now["item"]) == list(stored["item"])
    for col in ("mean", "sd", "q05", "q95"):
        np.testing.assert_allclose(
            now[col].to_numpy(float),
            stored[col].to_numpy(float),
            rtol=1e-9,
            atol=1e-12,
            equal_nan=True,
            err_msg=f"{name}: {col}",
        )
    assert (now["replicates"].to_numpy() == stored["replicates"].to_numpy()).all()

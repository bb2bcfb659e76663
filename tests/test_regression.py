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


def test_baseline_mle_matches_stored_baseline():
    """The log-likelihood to 2e-3 (the optimizer's stopping rule); each estimate with a standard error within 5%
    of it (parameters the record does not bound drift along their flat direction and are not compared)."""
    stored = pd.read_csv(ROOT / "tests" / "baselines" / "baseline_mle.csv").set_index("parameter")
    now = regen.mle_table().set_index("parameter")
    assert list(now.index) == list(stored.index)
    assert now.loc["loglik", "estimate"] == pytest.approx(stored.loc["loglik", "estimate"], abs=2e-3)
    est = stored.drop("loglik")
    bounded = est["se"].notna() & est["status"].isin(["bounded", "weak"])
    assert bounded.sum() >= 10
    gap = (now.loc[est.index, "estimate"] - est["estimate"]).abs()
    assert (gap[bounded] < 0.05 * est.loc[bounded, "se"]).all(), gap[bounded].to_dict()
    assert (now.loc[est.index[bounded], "status"] == est.loc[bounded, "status"]).all()
    # a drifting parameter stops where the optimizer's numerics stop it (the dependency floors' scipy stopped the
    # HSU offset where its status reads "weak", not "not identified"): it must not read as bounded
    drifting = est.index[~bounded]
    assert not now.loc[drifting, "status"].eq("bounded").any(), now.loc[drifting, "status"].to_dict()


@pytest.mark.parametrize("name", ["sweep.csv", "abc_samples.csv"])
def test_sweep_and_abc_match_stored_baselines(name):
    stored = pd.read_csv(ROOT / "tests" / "baselines" / name)
    now = regen.TABLES[name]()
    now = pd.read_csv(__import__("io").StringIO(now.to_csv(index=False, float_format="%.12g")))
    pd.testing.assert_frame_equal(now, stored, check_dtype=False, rtol=1e-9, atol=1e-12)

"""docs/contributing.md's example mechanism, taken from the guide itself: registered, it passes every contract
test, runs the same on both engines and on the parameter axis, and enters the likelihood."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import harmsim
from harmsim.calibrate.likelihood import history, loglik
from harmsim.model import batch
from harmsim.model.mechanisms import REGISTRY
from harmsim.model.scenario import scenario_from_dict

from . import test_mechanisms as contract

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "contributing.md"


@pytest.fixture(scope="module")
def portfolio():
    """The guide's mechanism, as the module a contributor would write, registered at the end of the registry."""
    text = GUIDE.read_text()
    block = re.search(r"<!-- example mechanism[^>]*-->\s*```python\n(.*?)```", text, re.S)
    assert block, "docs/contributing.md lost its example mechanism"
    module = types.ModuleType("harmsim.model.mechanisms.portfolio")
    exec(compile(block.group(1), str(GUIDE), "exec"), module.__dict__)
    sys.modules[module.__name__] = module
    REGISTRY["portfolio"] = module.Portfolio
    try:
        yield module.Portfolio
    finally:
        del REGISTRY["portfolio"]
        del sys.modules[module.__name__]


def _with_portfolio(baseline, strength: float):
    mechs = {m: {k: v for k, v in p.as_dict().items() if v is not None} for m, p in baseline.mechanisms}
    mechs["portfolio"] = {"strength": strength}
    raw = {
        "hazard": {"intercept": baseline.hazard.intercept, "offsets": dict(baseline.hazard.offsets)},
        "mechanisms": mechs,
    }
    return scenario_from_dict(raw, where="docs/contributing.md")


def test_the_guides_mechanism_passes_the_contract(portfolio, baseline):
    assert list(REGISTRY)[-1] == "portfolio"
    contract.test_contract("portfolio", baseline)
    contract.test_reads_adoptions_is_truthful("portfolio", baseline)
    contract.test_linear_coefficients_are_linear_to_the_bit("portfolio", baseline)
    contract.test_block_rows_equal_each_parameter_set("portfolio", baseline)


def test_the_guides_mechanism_runs_alike_on_both_engines_and_the_axis(portfolio, baseline):
    sc = _with_portfolio(baseline, 1.5)
    seeds = harmsim.spawn_seeds(3, 6)
    adopt, _ = batch.simulate(sc, seeds)
    mesa = harmsim.run(sc, seed=seeds[0])
    np.testing.assert_array_equal(mesa.model.state.adopt_year[0], adopt[0])
    rows = pd.DataFrame({"portfolio.strength": [0.0, 1.5, 3.0, -1.0, 1.5, 0.5]})
    axis, _ = batch.simulate(sc, seeds, rows=rows)
    np.testing.assert_array_equal(axis[1], adopt[1])
    own, _ = batch.simulate(sc.with_params({"portfolio.strength": 3.0}), seeds[2:3])
    np.testing.assert_array_equal(axis[2], own[0])
    # it acts: states adopt sooner with momentum than without
    later, _ = batch.simulate(sc.with_params({"portfolio.strength": 0.0}), harmsim.spawn_seeds(3, 300))
    sooner, _ = batch.simulate(sc.with_params({"portfolio.strength": 3.0}), harmsim.spawn_seeds(3, 300))
    assert (sooner <= 2015).mean() > (later <= 2015).mean()


def test_the_guides_mechanism_enters_the_likelihood(portfolio, baseline):
    """At strength 0 the likelihood is the baseline's to the bit (a zero effect is the mechanism off); away from
    0 it moves, and its sign is the record's to tell."""
    hist = history(baseline, baseline.record)
    zero = _with_portfolio(baseline, 0.0)
    assert loglik(zero, history(zero, zero.record)) == loglik(baseline, hist)
    values = [loglik(s, history(s, s.record)) for s in (_with_portfolio(baseline, v) for v in (-2.0, 2.0))]
    assert all(np.isfinite(values)) and values[0] != values[1]

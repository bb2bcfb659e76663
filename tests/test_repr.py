"""Short reprs and HTML reprs: a notebook cell ending with a result shows what it is, not its tables."""

from __future__ import annotations

import pytest

import harmsim
from harmsim.analysis.sweep import sweep
from harmsim.calibrate import calibrate


def _objects(baseline):
    from harmsim.analysis.sensitivity import sensitivity

    ens = harmsim.run_ensemble(baseline, replicates=3, seed=1)
    return {
        "Scenario": baseline,
        "Record": baseline.record,
        "RunResult": harmsim.run(baseline, seed=1),
        "EnsembleResult": ens,
        "Fit": calibrate(harmsim.load_scenario("diffusion_only")),
        "SweepResult": sweep(baseline, ["diffusion.strength=0:1:2"], replicates=2, progress=False),
        "SensitivityResult": sensitivity(
            baseline, ranges=["diffusion.strength=0:1", "hazard.intercept=-7:-5"], method="morris", base=2, replicates=2
        ),
    }


def test_reprs_are_short_and_say_what_the_object_is(baseline):
    pytest.importorskip("SALib")
    for kind, obj in _objects(baseline).items():
        text = repr(obj)
        assert text.startswith(f"{kind}(") and len(text) < 300, text
        html = obj._repr_html_()
        assert html.startswith("<") and kind in html and len(html) < 5000, kind

"""The benchmark scripts stay runnable: each imports against the package as it is, and the world fit's baseline
(forward differences in place of the analytic gradient) reaches the fit's maximum. Their figures are printed by
the scripts and never asserted here: timings on shared machines are noise."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

import harmsim

BENCHMARKS = sorted((Path(__file__).resolve().parents[1] / "benchmarks").glob("bench_*.py"))


def _load(path: Path):
    """Import a benchmark script as a module, leaving the process's environment as it was (the scripts pin BLAS
    to one thread for their own runs)."""
    saved = dict(os.environ)
    try:
        spec = importlib.util.spec_from_file_location(f"_benchmark_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return module


def test_there_are_benchmarks():
    assert len(BENCHMARKS) >= 10


@pytest.mark.parametrize("path", BENCHMARKS, ids=lambda p: p.stem)
def test_each_benchmark_imports_and_has_a_main(path):
    try:
        module = _load(path)
    except ModuleNotFoundError as e:  # an optional extra (the dashboard's browser driver) not installed here
        if (e.name or "").split(".")[0] == "harmsim":
            raise
        pytest.skip(f"{path.name} needs {e.name}, an optional extra not installed here")
    assert callable(getattr(module, "main", None)), f"{path.name} has no main()"
    assert (module.__doc__ or "").strip(), f"{path.name} does not say what it measures"


def test_the_world_fits_baseline_by_differences_reaches_the_same_maximum():
    """``bench_world.py --fit`` times the fit with the analytic gradient against the same fit by forward
    differences; both must climb to one maximum, or the ratio compares two different fits."""
    bench = _load(next(p for p in BENCHMARKS if p.stem == "bench_world"))
    sc = harmsim.load_scenario("diffusion_only")
    _, analytic = bench.fit_seconds(sc, analytic=True)
    _, differences = bench.fit_seconds(sc, analytic=False)
    assert differences.loglik == pytest.approx(analytic.loglik, abs=1e-3)
    a = analytic.estimates.set_index("parameter")
    d = differences.estimates.set_index("parameter")
    bounded = a["status"] == "bounded"
    assert bounded.sum() >= 3
    assert (d.loc[bounded, "estimate"] - a.loc[bounded, "estimate"]).abs().max() < 0.01
    import harmsim.calibrate.mle as mle

    assert mle._nll_and_gradient.__module__ == "harmsim.calibrate.mle"  # put back after the baseline's fit

"""Global sensitivity analysis: analytic test functions through the same design and analysis code, and the
harmsim pipeline's determinism, resumability and ranges from a fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import harmsim
from harmsim.cli import main
from harmsim.errors import ConfigError

pytest.importorskip("SALib")

from harmsim.analysis.sensitivity import analyze, design, held_at_estimate, problem, sensitivity

#: Ishigami (a = 7, b = 0.1): analytic first-order and total indices (Sobol' and Levitan 1999)
ISHIGAMI_S1 = [0.3139, 0.4424, 0.0]
ISHIGAMI_ST = [0.5576, 0.4424, 0.2437]


@pytest.mark.statistical
def test_ishigami_indices_match_the_analytic_values():
    from SALib.test_functions import Ishigami

    prob = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-np.pi, np.pi]] * 3}
    pts = design(prob, "sobol", base=1024, seed=3)
    assert len(pts) == 1024 * (2 * 3 + 2)
    y = pd.DataFrame({"ishigami": Ishigami.evaluate(pts.to_numpy())})
    idx = analyze(prob, "sobol", pts, y, seed=3).set_index("parameter")
    for j, name in enumerate(prob["names"]):
        r = idx.loc[name]
        assert abs(r["S1"] - ISHIGAMI_S1[j]) <= max(r["S1_conf"], 0.02), (name, r["S1"], r["S1_conf"])
        assert abs(r["ST"] - ISHIGAMI_ST[j]) <= max(r["ST_conf"], 0.02), (name, r["ST"], r["ST_conf"])


def test_morris_ranks_a_function_with_a_known_order():
    prob = {"num_vars": 4, "names": ["big", "mid", "small", "none"], "bounds": [[0.0, 1.0]] * 4}
    pts = design(prob, "morris", base=20, seed=2)
    y = pd.DataFrame({"y": 8 * pts["big"] + 3 * pts["mid"] ** 2 + 0.5 * pts["small"]})
    idx = analyze(prob, "morris", pts, y, seed=2).set_index("parameter")
    assert idx.sort_values("mu_star", ascending=False).index.tolist() == ["big", "mid", "small", "none"]
    assert idx.loc["none", "mu_star"] == pytest.approx(0.0, abs=1e-12)
    assert idx.loc["big", "sigma"] == pytest.approx(0.0, abs=1e-9)  # linear: no interaction, no curvature


VARY = ["diffusion.strength=0:3", "agreements.nonbinding=0:1.5", "push_pull.migration=-2:0"]


def test_same_indices_on_any_worker_count_and_after_a_resume(baseline, tmp_path, monkeypatch):
    import harmsim.analysis.sweep as sw

    kw = dict(ranges=VARY, method="morris", base=4, replicates=4, seed=5)
    one = sensitivity(baseline, **kw)
    assert len(one.points) == 4 * (3 + 1)
    two = sensitivity(baseline, workers=2, **kw)
    pd.testing.assert_frame_equal(one.indices, two.indices)
    # interrupted after two chunks, then resumed from its cache: the same indices. A low intercept leaves some
    # instruments unadopted at some points, so some outputs are undefined there (NaN), as in real analyses
    kw = {**kw, "ranges": [*VARY[:2], "hazard.intercept=-12:-6"]}
    cache = tmp_path / "points.csv"
    real, calls = sw._run_chunk, []

    def stop(task):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(task)

    monkeypatch.setattr(sw, "_run_chunk", stop)
    with pytest.raises(KeyboardInterrupt):
        sensitivity(baseline, cache=cache, **{**kw, "base": 40})
    saved = sorted((tmp_path / "points.csv.parts").glob("chunk-*.csv"))
    assert len(saved) == 2
    # some points have undefined outputs (the mean year of an instrument no replicate adopted): saved all the same
    assert any(pd.read_csv(f).isna().any().any() for f in saved)
    counted = []
    monkeypatch.setattr(sw, "_run_chunk", lambda task: counted.append(task["points"][0][0]) or real(task))
    resumed = sensitivity(baseline, cache=cache, **{**kw, "base": 40})
    n_chunks = -(-len(resumed.points) // sw._default_chunk(len(resumed.points), kw["replicates"]))
    assert len(counted) == n_chunks - 2  # the two saved chunks were read back, not recomputed
    monkeypatch.setattr(sw, "_run_chunk", real)
    fresh = sensitivity(baseline, **{**kw, "base": 40})
    pd.testing.assert_frame_equal(resumed.indices, fresh.indices)
    pd.testing.assert_frame_equal(resumed.points, fresh.points)
    # outputs: fit metrics, adoption shares and median years, with the noise share beside the indices
    outs = set(one.indices["output"])
    assert {"year_mae", "curve_mad", "adopted.tip_law", "median_year.untoc"} <= outs
    assert one.indices.loc[one.indices["output"] == "year_mae", "noise_share"].between(0, 1).all()
    assert "largest mu*" in one.summary() and "Simulation noise is" in one.summary()
    assert "noise is not measured" in one.summary("median_year.untoc")  # a median has no standard error here


def test_ranges_from_a_fit_and_bad_requests(baseline, tmp_path, capsys):
    from harmsim.calibrate import calibrate

    fit = calibrate(baseline, free=["hazard.intercept", "diffusion.strength", "agreements.nonbinding"])
    prob = problem(baseline, fit=fit)
    est = fit.estimates.set_index("parameter")
    for name, (lo, hi) in zip(prob["names"], prob["bounds"]):
        e, se = est.loc[name, "estimate"], est.loc[name, "se"]
        assert lo == pytest.approx(max(e - 2 * se, -20)) and hi == pytest.approx(min(e + 2 * se, 20))
    with pytest.raises(ConfigError, match="power of two"):
        design(prob, "sobol", base=100)
    with pytest.raises(ConfigError, match="not both"):
        problem(baseline, ranges=VARY, fit=fit)
    declared = problem(baseline)  # the scenario's [ranges]
    assert declared["names"] == [n for n, _, _ in baseline.ranges]
    assert declared["bounds"] == [[lo, hi] for _, lo, hi in baseline.ranges]
    with pytest.raises(ConfigError, match=r"declares no \[ranges\]: give .*--vary"):
        problem(harmsim.load_scenario("diffusion_only"))
    with pytest.raises(ConfigError, match="real ranges"):
        problem(baseline, ranges=["agreements.arrival=observed,endogenous", "diffusion.strength=0:1"])
    out = tmp_path / "s"
    args = ["sensitivity", "baseline", "--method", "morris", "--base", "3", "-r", "3"]
    varied = [a for v in VARY for a in ("--vary", v)]
    assert main([*args, *varied, "--out", str(out)]) == 0
    assert {"indices.csv", "points.csv", "indices.png", "harmsim-output.json"} <= {p.name for p in out.iterdir()}
    t = pd.read_csv(out / "indices.csv")
    assert {"parameter", "output", "mu_star", "mu_star_conf", "sigma", "noise_share"} <= set(t.columns)
    assert not list(tmp_path.glob(".s.points*"))  # the evaluation cache goes once the result is in place
    capsys.readouterr()
    # from a fit, a parameter it gives no interval (here: its standard error taken away) is named as held
    assert held_at_estimate(fit, prob) == []
    fit.estimates.loc[fit.estimates["parameter"] == "diffusion.strength", "se"] = np.nan
    assert held_at_estimate(fit, problem(baseline, fit=fit)) == ["diffusion.strength"]
    fit.save(tmp_path / "fit")
    assert main([*args, "--from-fit", str(tmp_path / "fit"), "--out", str(tmp_path / "f")]) == 0
    printed = capsys.readouterr().out
    assert "held at the fit's estimates" in printed and "standard error): diffusion.strength;" in printed
    no_ranges = ["sensitivity", "diffusion_only", "--method", "morris", "--base", "3", "-r", "3"]
    assert main([*no_ranges, "--out", str(tmp_path / "t")]) == 2
    assert "--vary" in capsys.readouterr().err


def test_sobol_columns_as_documented(baseline):
    res = sensitivity(baseline, ranges=VARY[:2], method="sobol", base=4, replicates=2, seed=1)
    assert list(res.indices.columns) == ["parameter", "output", "S1", "S1_conf", "ST", "ST_conf", "noise_share"]
    assert len(res.points) == 4 * (2 * 2 + 2)
    assert harmsim.__version__ == res.provenance["harmsim_version"]


def test_a_parameter_that_cannot_act_is_said_on_the_figure():
    """#23 item 16. Before: the Sobol figure showed agreements.binding (the binding Convention comes at the
    window's end) as an empty row with no note."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from harmsim.output.plots import plot_indices

    t = pd.DataFrame(
        {"output": "year_mae", "parameter": ["diffusion.strength", "agreements.binding"], "S1": [0.4, 0.0],
         "S1_conf": [0.05, 0.0], "ST": [0.5, 0.0], "ST_conf": [0.06, 0.0], "noise_share": [0.1, 0.1]}
    )  # fmt: skip
    ax = plot_indices(plt.figure().subplots(), t, "year_mae", "sobol")
    notes = [a.get_text() for a in ax.texts]
    assert notes == ["no effect at any point: cannot act in this window"]
    assert ax.texts[0].xy[1] == 0  # beside agreements.binding, the lowest row
    plt.close("all")

"""Forecasts: conditioned on the record, probabilities that behave, the same on any worker count."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import harmsim
from harmsim.analysis.forecast import forecast
from harmsim.calibrate import calibrate
from harmsim.cli import main
from harmsim.data.world import NEVER
from harmsim.errors import CalibrationError, ConfigError


@pytest.fixture(scope="module")
def fit_2008():
    sc = harmsim.load_scenario("diffusion_only")
    return sc, calibrate(sc, observed_until=2008)


def test_forecast_table_is_complete_monotone_and_one_where_adopted(fit_2008):
    sc, fit = fit_2008
    f = forecast(sc, fit, until=2020, replicates=200, seed=3)
    assert f.origin == 2008 and fit.observed_until == 2008
    t = f.table
    w = f.scenario.world
    assert list(t.columns) == ["state", "instrument", "year", "p_adopted_by_year"]
    assert len(t) == len(w.states) * len(w.instruments) * 12 and t["year"].min() == 2009
    assert t.groupby(["state", "instrument"])["p_adopted_by_year"].is_monotonic_increasing.all()
    assert t["p_adopted_by_year"].between(0, 1).all()
    p = t.set_index(["state", "instrument", "year"])["p_adopted_by_year"].sort_index()
    assert (p.loc[("MYS", "untoc")] == 1.0).all()  # ratified 2004, before the origin
    assert p.loc[("THA", "untoc", 2009)] < 1.0  # ratified 2013: after the origin, not known to the forecast
    cells = f.cells.set_index(["state", "instrument"])
    assert cells.loc[("MYS", "untoc"), "status"] == "adopted" and cells.loc[("THA", "untoc"), "status"] == "open"


def test_forecast_follows_the_observed_history_through_the_origin(fit_2008, record):
    sc, fit = fit_2008
    f = forecast(sc, fit, until=2012, replicates=100, seed=1)
    w = f.scenario.world
    y = pd.DataFrame(f.adopt.reshape(len(f.seeds), -1))
    rec = record.adoptions.set_index(["state", "instrument"])
    for j, (s, k) in enumerate((s, k) for s in w.states for k in w.instruments):
        obs = rec.loc[(s, k), "year"]
        col = y[j]
        if pd.notna(obs) and obs <= 2008:
            assert (col == obs).all(), (s, k)
        elif (rec.loc[(s, k), "observed"] and pd.isna(rec.loc[(s, k), "year_max"])) or (pd.notna(obs) and obs > 2008):
            assert ((col > 2008) | (col == NEVER)).all(), (s, k)


def test_forecast_identical_on_any_worker_count(fit_2008):
    sc, fit = fit_2008
    one = forecast(sc, fit, until=2016, replicates=24, seed=9)
    two = forecast(sc, fit, until=2016, replicates=24, seed=9, workers=2)
    assert np.array_equal(one.adopt, two.adopt)
    pd.testing.assert_frame_equal(one.table, two.table)


def test_parameters_vary_across_replicates_and_unobserved_offsets_are_stated():
    sc = harmsim.load_scenario("baseline")
    fit = calibrate(sc, free=["hazard.intercept", "diffusion.strength", "hazard.offsets.untoc"])
    f = forecast(sc, fit, until=2018, replicates=50, seed=2)
    assert f.draws["diffusion.strength"].std() > 0
    notes = " ".join(f.provenance["forecast"]["choices"])
    assert "offset of 'actip' (no adoption observed): drawn per replicate" in notes
    assert f.draws["hazard.offsets.actip"].std() > 0
    g = forecast(sc, fit, until=2018, replicates=50, seed=2, unobserved="scenario")
    assert "hand-set -2.0" in " ".join(g.provenance["forecast"]["choices"])
    assert "hazard.offsets.actip" not in g.draws


def test_a_plug_in_forecast_is_the_forecast_of_the_fit_without_its_uncertainty(fit_2008):
    """``parameters="estimate"`` runs every replicate at the point estimate: replicate for replicate the forecast
    of the same fit stripped of its covariance (whose draws are the estimate), where the default draws differ."""
    sc, fit = fit_2008
    plug_in = forecast(sc, fit, until=2016, replicates=40, seed=4, parameters="estimate")
    stripped = forecast(sc, replace(fit, covariance=None), until=2016, replicates=40, seed=4)
    drawn = forecast(sc, fit, until=2016, replicates=40, seed=4)
    assert np.array_equal(plug_in.adopt, stripped.adopt) and not np.array_equal(plug_in.adopt, drawn.adopt)
    estimates = pd.Series(fit.parameters())
    pd.testing.assert_series_equal(plug_in.draws.max()[estimates.index], estimates, check_names=False)
    assert (plug_in.draws.nunique() == 1).all() and (drawn.draws[estimates.index].nunique() > 1).any()
    assert plug_in.provenance["forecast"]["parameters"] == "estimate"
    assert (
        "point estimates for every replicate (plug-in: the fit's uncertainty left out)"
        in plug_in.provenance["forecast"]["choices"][0]
    )
    with pytest.raises(ConfigError, match="parameters must be one of drawn, estimate, posterior, mcmc, got 'mean'"):
        forecast(sc, fit, until=2016, replicates=4, parameters="mean")


def test_forecast_refuses_bad_requests(fit_2008, record):
    sc, fit = fit_2008
    with pytest.raises(ConfigError, match="after the end of observation"):
        forecast(sc, fit, until=2005)
    cov = record.covariates.copy()
    cov["population"] *= 2  # changes the standardized net migration share
    other = replace(harmsim.load_scenario("push_pull_only"), record=replace(record, covariates=cov))
    pfit = calibrate(harmsim.load_scenario("push_pull_only"))
    with pytest.raises(CalibrationError, match=r"standardization of 'push_pull\.net_migration'"):
        forecast(other, pfit, until=2020, replicates=5)


def test_forecast_command(tmp_path, capsys):
    fit_dir = tmp_path / "fit"
    assert main(["calibrate", "diffusion_only", "--observed-until", "2010", "--out", str(fit_dir)]) == 0
    out = tmp_path / "fc"
    assert (
        main(
            ["forecast", "diffusion_only", "--from-fit", str(fit_dir), "--until", "2030", "-r", "60", "--out", str(out)]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "observations up to 2010" in text and "forecast from 2010 (end of observation) to 2030" in text
    t = pd.read_csv(out / "forecast.csv")
    assert t["year"].min() == 2011 and t["year"].max() == 2030
    assert {"forecast.csv", "cells.csv", "fan.csv", "parameters.csv", "summary.txt", "provenance.json", "fan.png"} <= {
        p.name for p in out.iterdir()
    }
    saved = (out / "summary.txt").read_text()  # what was printed, kept with the result
    assert "forecast from 2010 (end of observation) to 2030, 60 replicates, parameters from the MLE fit" in saved
    assert saved.strip() in text and "states that have adopted, 2010 -> 2030" in saved
    assert main(["forecast", "diffusion_only", "--from-fit", str(fit_dir), "--until", "2030", "--out", str(out),
                 "--force", "--extend", "gdp_pc"]) == 2  # fmt: skip
    assert "expected INPUT=RULE" in capsys.readouterr().err
    assert main(["forecast", "diffusion_only", "--from-fit", str(fit_dir), "--until", "2030", "-r", "20",
                 "--parameters", "estimate", "--out", str(out), "--force", "--no-figures"]) == 0  # fmt: skip
    assert "(its point estimates: a plug-in forecast)" in capsys.readouterr().out
    assert (pd.read_csv(out / "parameters.csv").drop(columns=["replicate", "seed"]).nunique() == 1).all()
    assert main(["forecast", "diffusion_only", "--from-fit", str(fit_dir), "--until", "2030", "--out", str(out),
                 "--force", "--extend", "gdp_pc"]) == 2  # fmt: skip
    assert "expected INPUT=RULE" in capsys.readouterr().err


def test_the_fan_counts_the_horizons_members_and_hatches_interval_years():
    """#23 item 15. Before: the fan's axis and counts took in Timor-Leste (a member from 2025, its 2009 UN
    accessions inputs), so UNTOC's observed line reached 11 where the run figures stop at 10; and the HSU
    panel's observed line jumped from 4 to 10 in 2015 with no sign that six years are known only as 2004-2015."""
    sc = harmsim.load_scenario("baseline")
    f = forecast(sc, None, until=2020, replicates=50, seed=2)
    fan = f.fan.set_index(["instrument", "year"])
    assert fan.loc[("untoc", 2015), "observed"] == 10 and fan["q95"].max() <= 10
    hsu = fan.loc["hsu_process"]
    assert hsu.loc[2010, "observed"] == 4 and hsu.loc[2010, "observed_possible"] == 10
    assert hsu.loc[2003, "observed_possible"] == 0
    assert len(sc.world.members_until(2020)) == 10 and "TLS" in sc.world.states
    far = forecast(sc, None, until=2030, replicates=20, seed=2).fan.set_index(["instrument", "year"])
    # a year counts that year's members: Timor-Leste (UNTOC 2009, before it joined) from 2025 on
    assert far.loc[("untoc", 2015), "observed"] == 10 and far.loc[("untoc", 2024), "q05"] == 10
    assert far.loc[("untoc", 2025), "q05"] == 11


def test_a_forecast_records_the_fits_values_and_says_when_the_unobserved_rule_does_nothing(fit_2008):
    """#21 item 4 (part). Before: provenance.json of a run from a fit listed the scenario file's values, and
    `--unobserved scenario` gave a forecast identical to the default without a word (every offset, the unobserved
    instruments' included, came from the fit through pooling)."""
    sc, fit = fit_2008
    f = forecast(sc, fit, until=2012, replicates=40, seed=1)
    est = fit.parameters()
    assert f.provenance["parameters"]["hazard.intercept"] == pytest.approx(est["hazard.intercept"])
    assert f.provenance["parameters"]["hazard.intercept"] != sc.parameters()["hazard.intercept"]
    assert f.provenance["drawn_per_replicate"] == sorted(f.draws.columns)
    full = calibrate(harmsim.load_scenario("baseline"))  # pooled by kind: ACTIP's offset comes from the fit
    g = forecast(harmsim.load_scenario("baseline"), full, until=2018, replicates=20, seed=1)
    assert any("changes nothing here" in n for n in g.provenance["forecast"]["choices"])


def test_a_world_forecast_says_which_cells_are_not_open_and_maps_the_rest():
    """A regional treaty of an organization the state never joins is 'not open', not a forecast of 0; the
    world forecast draws a map of the open cells' probabilities (one region's does not)."""
    sc = harmsim.load_scenario("world_baseline")
    f = forecast(sc, until=2018, replicates=20, seed=4)
    cells = f.cells.set_index(["state", "instrument"])
    assert cells.loc[("FRA", "saarc2002"), "status"] == "not open" and cells.loc[("THA", "actip"), "status"] == "open"
    assert cells.loc[("FRA", "cets197"), "status"] == "adopted"
    assert cells.loc[("USA", "cets197"), "status"] == "not open"
    closed = f.cells[f.cells["status"] == "not open"]
    open_to = sc.world.states_open_until(2018)
    assert len(closed) == sum(188 - len(open_to[k]) for k in ("cets197", "saarc2002", "actip")) == 499
    assert (closed["p_by_until"] == 0).all()
    fig = f.map()
    assert len(fig.axes) == 7 and "probability of adopting by 2018" in fig.axes[-1].get_xlabel()
    asean = forecast(harmsim.load_scenario("diffusion_only"), until=2017, replicates=5, seed=1)
    assert asean.map() is None and "not open" not in set(asean.cells["status"])


def test_a_plug_in_run_from_a_fit_is_the_run_of_the_fit_without_its_uncertainty(tmp_path, capsys):
    """``harmsim run --from-fit DIR --parameters estimate``: every replicate at the point estimates, replicate for
    replicate the ensemble of the same fit stripped of its covariance; said in the output and the provenance, and
    refused without a fit."""
    import json

    from harmsim.analysis.predictive import predictive_ensemble
    from harmsim.calibrate import load_fit

    fit_dir = tmp_path / "fit"
    assert main(["calibrate", "diffusion_only", "--out", str(fit_dir)]) == 0
    sc, fit = harmsim.load_scenario("diffusion_only"), load_fit(fit_dir)
    plug_in = predictive_ensemble(sc, fit, 12, seed=5, parameters="estimate")
    stripped = predictive_ensemble(sc, replace(fit, covariance=None), 12, seed=5)
    pd.testing.assert_frame_equal(plug_in.adoptions, stripped.adoptions)
    assert not predictive_ensemble(sc, fit, 12, seed=5).adoptions.equals(plug_in.adoptions)
    capsys.readouterr()
    out = tmp_path / "run"
    args = ["run", "diffusion_only", "-r", "20", "--parameters", "estimate", "--no-figures", "--out", str(out)]
    assert main([*args, "--from-fit", str(fit_dir)]) == 0
    assert "parameters at the point estimates of the MLE fit in" in capsys.readouterr().out
    predictive = json.loads((out / "provenance.json").read_text())["predictive"]
    assert predictive["parameters"] == "estimate"
    assert all(len(set(values)) == 1 for values in predictive["draws"].values())
    assert main([*args, "--force"]) == 2
    assert "--parameters estimate: the point estimates are a fit's; give --from-fit DIR" in capsys.readouterr().err


def test_a_parameter_held_at_its_scenario_value_is_said_wherever_a_fit_is_drawn_from(tmp_path, capsys):
    """binding_only's binding effect acts from 2016 only (ASEAN's one binding agreement, the 2015 Convention):
    every fit holds it at the scenario's value, and a forecast from the fit and a backtest's origins say so in
    words, since what they draw uses a value set by hand."""
    said = "holds agreements.binding = 0.3 (no effect on the likelihood of this record): what is drawn from this"
    fit_dir, out = tmp_path / "fit", tmp_path / "fc"
    assert main(["calibrate", "binding_only", "--out", str(fit_dir)]) == 0
    capsys.readouterr()
    args = ["forecast", "binding_only", "--from-fit", str(fit_dir), "--until", "2020", "-r", "20", "--no-figures"]
    assert main([*args, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"the fit {said} fit uses the scenario's value for it, set by hand, wherever it acts" in err
    assert main(["backtest", "binding_only", "--origins", "2011", "-r", "20", "--no-figures",
                 "--out", str(tmp_path / "bt")]) == 0  # fmt: skip
    assert f"from 2011: the fit of 'binding_only' {said}" in capsys.readouterr().out
    fit = calibrate(harmsim.load_scenario("diffusion_only"))
    assert not fit.fixed and fit.held_note() is None  # nothing held, nothing said

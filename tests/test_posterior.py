"""Posterior draws: an MLE fit's likelihood sampled by importance resampling and by Markov chain Monte Carlo,
checked against the likelihood on a grid and against each other, and carried through forecasts, runs and
counterfactuals (backtests: tests/test_counterfactual.py, beside the plug-in's)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import harmsim
from harmsim.analysis.counterfactual import counterfactual
from harmsim.analysis.forecast import forecast
from harmsim.analysis.predictive import fitted_data, fitted_parameters, predictive_ensemble
from harmsim.calibrate import calibrate
from harmsim.calibrate.posterior import (
    BATCH,
    RHAT_MAX,
    STEP_BLOCK,
    autocorrelation_time,
    mcmc_draws,
    posterior_draws,
    split_rhat,
)
from harmsim.cli import main
from harmsim.data.observations import observed_until
from harmsim.errors import CalibrationError, ConfigError
from harmsim.model.interventions import Change
from harmsim.rng import stream

PAIR = ["hazard.intercept", "external.momentum"]


@pytest.fixture(scope="module")
def two_parameters():
    """The baseline with two free parameters, fitted to the ASEAN record up to 2005: the scenario and record the
    fit saw, and the fit."""
    sc = harmsim.load_scenario("baseline")
    rec = observed_until(sc.record, 2005)
    return sc.with_record(rec), rec, calibrate(sc, free=PAIR, observed_until=2005)


def test_posterior_draws_have_the_likelihoods_mean_and_spread_where_the_normals_differ(two_parameters, grid_moments):
    """Against the posterior summed on a grid, the draws' means are within 0.08 s.d. and their s.d. within 8%;
    the normal approximation's mean of the intercept is 0.16 s.d. off (the likelihood is skewed), and the Student
    t proposals unweighted would be 41% too wide: the weights do the work."""
    sc, rec, fit = two_parameters
    mean, sd = grid_moments(sc, rec, fit, PAIR)
    draws = posterior_draws(fit, sc, rec, 4000, seed=0)
    assert draws.attrs["ess"] >= 1000 and draws.attrs["proposals"] % BATCH == 0
    assert np.all(np.abs(draws[PAIR].mean().to_numpy() - mean) < 0.08 * sd)
    assert np.all(np.abs(draws[PAIR].std().to_numpy() / sd - 1) < 0.08)
    normal = fit.draw(4000, seed=0)
    assert abs(normal[PAIR[0]].mean() - mean[0]) > 0.12 * sd[0]
    proposals, _ = fit.sample_around(4000, stream(0, "test"), df=4)
    assert np.all(proposals[PAIR].std().to_numpy() / sd > 1.3)


def test_posterior_draws_are_reproducible_and_stop_at_their_limits(two_parameters):
    sc, rec, fit = two_parameters
    a = posterior_draws(fit, sc, rec, 300, seed=5)
    pd.testing.assert_frame_equal(a, posterior_draws(fit, sc, rec, 300, seed=5))
    assert not a.equals(posterior_draws(fit, sc, rec, 300, seed=6))
    assert a.attrs["distinct"] == len(a.drop_duplicates()) <= 300
    capped = posterior_draws(fit, sc, rec, 10, seed=5, target_ess=10**9, max_proposals=3 * BATCH)
    assert capped.attrs["proposals"] == 3 * BATCH and capped.attrs["ess"] < 10**9
    assert posterior_draws(fit, sc, rec, 10, seed=5, target_ess=1).attrs["proposals"] == BATCH


def test_posterior_draws_keep_parameters_without_a_standard_error_at_their_estimates():
    """``hazard.offsets.hsu_process`` (no HSU is dated: at its bound, no standard error) stays at the estimate;
    the other parameters move."""
    sc = harmsim.load_scenario("diffusion_only")
    fit = calibrate(sc)
    draws = posterior_draws(fit, sc, sc.record, 200, seed=1)
    estimate = fit.parameters()["hazard.offsets.hsu_process"]
    assert (draws["hazard.offsets.hsu_process"] == estimate).all()
    assert "hazard.offsets.hsu_process" not in draws.attrs["drawn"]
    assert draws["diffusion.strength"].nunique() > 50


def test_posterior_draws_refuse_fits_they_cannot_reweight(two_parameters):
    sc, rec, fit = two_parameters
    with pytest.raises(CalibrationError, match="posterior draws need the data the fit saw"):
        posterior_draws(fit, sc.with_record(harmsim.load_record("asean")), harmsim.load_record("asean"), 5, 0)
    with pytest.raises(CalibrationError, match="an ABC fit's draws are posterior draws already"):
        posterior_draws(replace(fit, method="abc"), sc, rec, 5, 0)
    with pytest.raises(CalibrationError, match="has no covariance to start from"):
        posterior_draws(replace(fit, covariance=None), sc, rec, 5, 0)
    with pytest.raises(CalibrationError, match="max_proposals at least 1000"):
        posterior_draws(fit, sc, rec, 5, 0, max_proposals=10)
    with pytest.raises(ConfigError, match="needs the scenario and record the fit saw"):
        fitted_parameters(fit, 5, 0, "posterior")


def test_the_normal_sampler_draws_as_the_fit_always_has(two_parameters):
    """:meth:`Fit.sample_around` without ``df`` is :meth:`Fit.draw`'s sampler, stream for stream; its log densities
    are the normal's and, with ``df``, the t's (checked against scipy, up to each one's constant)."""
    from scipy.stats import multivariate_normal, multivariate_t

    _, _, fit = two_parameters
    normal, log_q = fit.sample_around(50, stream(3, "fit-draws"))
    pd.testing.assert_frame_equal(normal, fit.draw(50, seed=3))
    est = fit.estimates.set_index("parameter")
    centre, scale = est.loc[PAIR, "estimate"].to_numpy(float), fit.covariance.loc[PAIR, PAIR].to_numpy(float)
    exact = multivariate_normal(centre, scale).logpdf(normal[PAIR].to_numpy())
    np.testing.assert_allclose(log_q - log_q[0], exact - exact[0], atol=1e-9)
    t_draws, log_t = fit.sample_around(50, stream(3, "t"), df=4)
    exact = multivariate_t(centre, scale, df=4).logpdf(t_draws[PAIR].to_numpy())
    np.testing.assert_allclose(log_t - log_t[0], exact - exact[0], atol=1e-9)


def test_forecasts_runs_and_counterfactuals_draw_from_the_posterior(tmp_path, capsys):
    """``parameters="posterior"`` through every predictive run: the forecast's notes and provenance give the
    effective sample size; the run and the counterfactual draw the same sets for the same seed; the commands
    take the option and refuse it without a fit."""
    sc = harmsim.load_scenario("diffusion_only")
    fit = calibrate(sc, observed_until=2008)
    f = forecast(sc, fit, until=2016, replicates=40, seed=2, parameters="posterior")
    note = f.provenance["forecast"]["choices"][0]
    assert "from the MLE fit's likelihood (a flat prior over each parameter's range" in note
    assert f"effective sample size {f.provenance['posterior_draws']['effective_sample_size']:,.0f}" in note
    assert f.provenance["forecast"]["parameters"] == "posterior"
    direct = posterior_draws(fit, *fitted_data(sc, fit), 40, seed=2)
    pd.testing.assert_frame_equal(f.draws[direct.columns], direct)
    ens = predictive_ensemble(sc, fit, 40, seed=2, parameters="posterior")
    assert ens.provenance["posterior_draws"]["proposals"] == f.provenance["posterior_draws"]["proposals"]
    cf = counterfactual(sc, calibrate(sc), Change(), replicates=20, seed=3, parameters="posterior")
    assert (cf.differences[["mean", "q05", "q95"]] == 0).all().all()
    assert "likelihood" in cf.provenance["counterfactual"]["choices"][0]

    fit_dir = tmp_path / "fit"
    assert main(["calibrate", "diffusion_only", "--out", str(fit_dir)]) == 0
    out = tmp_path / "run"
    args = ["run", "diffusion_only", "-r", "20", "--parameters", "posterior", "--no-figures", "--out", str(out)]
    capsys.readouterr()
    assert main([*args, "--from-fit", str(fit_dir)]) == 0
    assert "parameters drawn from the likelihood of the MLE fit in" in capsys.readouterr().out
    assert json.loads((out / "provenance.json").read_text())["predictive"]["parameters"] == "posterior"
    assert main([*args, "--force"]) == 2
    refusal = "--parameters posterior: the likelihood drawn from is a fit's; give --from-fit DIR"
    assert refusal in capsys.readouterr().err
    fc = ["forecast", "diffusion_only", "--from-fit", str(fit_dir), "--until", "2020", "-r", "20", "--no-figures"]
    assert main([*fc, "--parameters", "posterior", "--out", str(tmp_path / "fc")]) == 0
    assert "(drawn from its likelihood)" in capsys.readouterr().out


def test_few_effective_draws_are_said_in_the_notes_and_the_backtest_summary(monkeypatch, two_parameters):
    """Below :data:`FEW_EFFECTIVE` the forecast's note and a backtest's summary warn, naming the model and origin;
    above it they do not."""
    import harmsim.calibrate.posterior as posterior
    from harmsim.analysis.backtest import _posterior_words
    from harmsim.analysis.predictive import FEW_EFFECTIVE

    sc, rec, fit = two_parameters
    table = fit.draw(5, seed=0)
    for ess, warned in ((FEW_EFFECTIVE - 1, True), (FEW_EFFECTIVE, False)):
        table.attrs = {"proposals": 50_000, "ess": float(ess), "distinct": 3}
        monkeypatch.setattr(posterior, "posterior_draws", lambda *args, **kw: table)
        _, note = fitted_parameters(fit, 5, 0, "posterior", (sc, rec))
        assert ("few effective draws (under 200)" in note) is warned
        coverage = [{"origin": 2008, "model": "m", "effective_sample_size": float(ess), "proposals": 50_000},
                    {"origin": 2011, "model": "m", "effective_sample_size": 5000.0, "proposals": 9000}]  # fmt: skip
        words = _posterior_words("posterior", coverage)
        assert f"the smallest effective sample size of the importance weights {ess} (m from 2008" in words
        assert ("Under 200 for m from 2008: there the forecasts rest on few distinct" in words) is warned
        assert ("(the proposals cover the likelihood poorly: --parameters mcmc)" in words) is warned


def test_posterior_draws_refuse_batches_from_two_proposals(monkeypatch, two_parameters):
    """Importance weights of batches drawn from different proposals (all parameters drawn in one, the weak ones
    held in the next) do not mix: refused, not resampled together."""
    from harmsim.calibrate.fit import Fit

    sc, rec, fit = two_parameters
    real = Fit.sample_around
    calls = []

    def switching(self, n, g, df=None):
        table, log_q = real(self, n, g, df)
        calls.append(n)
        if len(calls) > 1:  # the second batch holds the momentum at its estimate
            table[PAIR[1]] = fit.parameters()[PAIR[1]]
            table.attrs = {**table.attrs, "drawn": [PAIR[0]], "held": [PAIR[1]]}
        return table, log_q

    monkeypatch.setattr(Fit, "sample_around", switching)
    with pytest.raises(CalibrationError, match="the proposals switched between drawing every parameter"):
        posterior_draws(fit, sc, rec, 5, seed=0, target_ess=10**9)


def test_a_held_out_instruments_posterior_forecast_weighs_the_history_its_fit_saw():
    """A held-out instrument's fit saw every other instrument to the record's end, while its forecast's
    observations end before the instrument opened: the posterior is weighed on the history the fit saw, and
    refused on the forecast's shorter observations, which are not the fit's data."""
    from harmsim.analysis.backtest import held_out

    sc = harmsim.load_scenario("diffusion_only")
    seen = held_out(sc.record, "asean_mlat")
    fit = calibrate(sc, record=seen)
    cut = observed_until(sc.record, 2003)
    f = forecast(sc, fit, until=2015, replicates=20, seed=1, record=cut, history=seen, parameters="posterior")
    assert f.provenance["posterior_draws"]["effective_sample_size"] > 0
    with pytest.raises(CalibrationError, match="posterior draws need the data the fit saw"):
        forecast(sc, fit, until=2015, replicates=20, seed=1, record=cut, parameters="posterior")


# Markov chain Monte Carlo -----------------------------------------------------------------------------------


def test_mcmc_draws_have_the_likelihoods_mean_and_spread(two_parameters, grid_moments):
    """The chains' draws against the posterior summed on the grid: means within 0.08 s.d., s.d. within 8%, as the
    importance draws; converged, with the effective sample size the stopping rule asked for and an acceptance
    rate near the 0.234 the warmup aims at."""
    sc, rec, fit = two_parameters
    mean, sd = grid_moments(sc, rec, fit, PAIR)
    draws = mcmc_draws(fit, sc, rec, 4000, seed=0, chains=16, warmup=300)
    a = draws.attrs
    assert a["sampler"] == "mcmc" and a["converged"] and a["rhat"] < RHAT_MAX and a["ess"] >= 1000
    assert a["steps"] % STEP_BLOCK == 0 and 0.1 < a["acceptance"] < 0.45 and "proposals" not in a
    assert np.all(np.abs(draws[PAIR].mean().to_numpy() - mean) < 0.08 * sd)
    assert np.all(np.abs(draws[PAIR].std().to_numpy() / sd - 1) < 0.08)


def test_mcmc_draws_are_reproducible_stop_at_their_limits_and_refuse_what_they_cannot_do(two_parameters):
    sc, rec, fit = two_parameters
    a = mcmc_draws(fit, sc, rec, 300, seed=5, chains=8, warmup=100, max_steps=STEP_BLOCK)
    pd.testing.assert_frame_equal(a, mcmc_draws(fit, sc, rec, 300, seed=5, chains=8, warmup=100, max_steps=500))
    assert not a.equals(mcmc_draws(fit, sc, rec, 300, seed=6, chains=8, warmup=100, max_steps=500))
    assert a.attrs["steps"] == STEP_BLOCK and a.attrs["chains"] == 8 and a.attrs["distinct"] == len(a.drop_duplicates())
    long = mcmc_draws(fit, sc, rec, 10, seed=5, chains=8, warmup=100, target_ess=10**9, max_steps=2 * STEP_BLOCK)
    assert long.attrs["steps"] == 2 * STEP_BLOCK and long.attrs["ess"] < 10**9
    with pytest.raises(CalibrationError, match="chains at least 4"):
        mcmc_draws(fit, sc, rec, 5, 0, chains=2)
    with pytest.raises(CalibrationError, match="an ABC fit's draws are posterior draws already"):
        mcmc_draws(replace(fit, method="abc"), sc, rec, 5, 0)
    with pytest.raises(CalibrationError, match="posterior draws need the data the fit saw"):
        mcmc_draws(fit, sc.with_record(harmsim.load_record("asean")), harmsim.load_record("asean"), 5, 0)


@pytest.mark.parametrize("phi", [0.0, 0.5, 0.9])
def test_the_autocorrelation_time_of_an_autoregressive_series(phi):
    """For AR(1) chains with coefficient phi the integrated autocorrelation time is (1 + phi) / (1 - phi): 1, 3
    and 19 steps; the estimate from 16 chains of 20,000 steps is within 10%."""
    g = stream(1, "ar1")
    x = np.zeros((20_000, 16))
    noise = g.standard_normal(x.shape)
    for t in range(1, len(x)):
        x[t] = phi * x[t - 1] + noise[t]
    assert autocorrelation_time(x) == pytest.approx((1 + phi) / (1 - phi), rel=0.1)
    assert autocorrelation_time(np.ones((100, 4))) == np.inf  # chains that never move say nothing


def test_split_rhat_tells_chains_that_agree_from_chains_that_do_not():
    """Independent draws from one law: R-hat near 1. Chains in different places, or one chain drifting (which
    only splitting each chain in halves sees): well above :data:`RHAT_MAX`."""
    g = stream(2, "rhat")
    assert split_rhat(g.standard_normal((2000, 8))) < 1.01
    assert split_rhat(g.standard_normal((2000, 8)) + np.linspace(0, 1, 8)) > RHAT_MAX
    drifting = g.standard_normal((2000, 1)) + np.linspace(0, 3, 2000)[:, None]
    assert split_rhat(drifting) > RHAT_MAX
    assert split_rhat(np.ones((10, 4))) == 1.0


@pytest.mark.slow
def test_the_two_samplers_agree_on_a_weak_fit():
    """The baseline's fit to 2005 (13 drawn parameters, several weak: ``push_pull.gdp_gap`` has estimate 6.5
    and standard error 32) sampled by importance resampling and by the chains, two independent routes to one
    posterior: every parameter's mean within 0.15 posterior s.d. of the other's and its s.d. within 15%."""
    sc = harmsim.load_scenario("baseline")
    fit = calibrate(sc, observed_until=2005)
    data = fitted_data(sc, fit)
    imp = posterior_draws(fit, *data, 8000, seed=0)
    chains = mcmc_draws(fit, *data, 8000, seed=0)
    assert imp.attrs["ess"] >= 1000 and chains.attrs["converged"] and chains.attrs["ess"] >= 1000
    names = chains.attrs["drawn"]
    sd = imp[names].std()
    assert ((imp[names].mean() - chains[names].mean()).abs() < 0.15 * sd).all()
    assert ((chains[names].std() / sd - 1).abs() < 0.15).all()


def test_the_commands_draw_by_markov_chains(monkeypatch, tmp_path, capsys):
    """``--parameters mcmc`` on forecast and run (short chains here): said in the first line, the note and the
    provenance; refused without a fit."""
    import harmsim.calibrate.posterior as posterior

    monkeypatch.setattr(posterior, "CHAINS", 8)
    monkeypatch.setattr(posterior, "WARMUP", 100)
    fit_dir = tmp_path / "fit"
    args = ["calibrate", "baseline", "--free", *PAIR, "--observed-until", "2005", "--out", str(fit_dir)]
    assert main(args) == 0
    fc = ["forecast", "baseline", "--from-fit", str(fit_dir), "--until", "2012", "-r", "20", "--no-figures"]
    capsys.readouterr()
    assert main([*fc, "--parameters", "mcmc", "--out", str(tmp_path / "fc")]) == 0
    out = capsys.readouterr().out
    assert "(drawn from its likelihood by Markov chains)" in out and "by 8 random-walk Metropolis chains" in out
    prov = json.loads((tmp_path / "fc" / "provenance.json").read_text())
    assert prov["posterior_draws"]["chains"] == 8 and prov["forecast"]["parameters"] == "mcmc"
    run = ["run", "baseline", "-r", "10", "--parameters", "mcmc", "--no-figures", "--out", str(tmp_path / "run")]
    assert main([*run, "--from-fit", str(fit_dir)]) == 0
    assert "parameters drawn by Markov chains from the likelihood of the MLE fit in" in capsys.readouterr().out
    assert main([*run, "--force"]) == 2
    assert "--parameters mcmc: the likelihood drawn from is a fit's; give --from-fit DIR" in capsys.readouterr().err


def test_mcmc_forecasts_say_how_the_chains_converged(monkeypatch, two_parameters):
    """``parameters="mcmc"``: the note gives the chains, R-hat and effective sample size, the provenance each
    diagnostic; chains that have not converged are said in the note and in a backtest's summary."""
    import harmsim.calibrate.posterior as posterior
    from harmsim.analysis.backtest import _posterior_words
    from harmsim.analysis.predictive import drawn_provenance

    sc, rec, fit = two_parameters
    monkeypatch.setattr(posterior, "CHAINS", 8)
    monkeypatch.setattr(posterior, "WARMUP", 100)
    table, note = fitted_parameters(fit, 50, 0, "mcmc", (sc, rec))
    a = table.attrs
    assert f"by 8 random-walk Metropolis chains of {a['steps']:,} steps after a warmup of 100" in note
    assert f"largest split R-hat {a['rhat']:.4f}, effective sample size {a['ess']:,.0f}" in note
    prov = drawn_provenance(sc, fit, [0] * 50, table)["posterior_draws"]
    assert prov["chains"] == 8 and prov["split_rhat"] == round(a["rhat"], 4) and prov["converged"] == a["converged"]
    assert ("have not converged" in note) is (not a["converged"])
    for converged in (True, False):
        table.attrs = {**a, "converged": converged, "rhat": 1.01 if converged else 1.3}
        monkeypatch.setattr(posterior, "mcmc_draws", lambda *args, **kw: table)
        _, note = fitted_parameters(fit, 50, 0, "mcmc", (sc, rec))
        assert ("the chains have not converged (R-hat 1.05 or more)" in note) is (not converged)
        coverage = [{"origin": 2008, "model": "m", "effective_sample_size": 900.0, "split_rhat": table.attrs["rhat"],
                     "converged": converged}]  # fmt: skip
        words = _posterior_words("mcmc", coverage)
        assert "(Markov chain Monte Carlo, a flat prior" in words and "--parameters mcmc)" in words
        assert f"the largest split R-hat {table.attrs['rhat']:.4f} (m from 2008" in words
        assert ("Not converged for m from 2008" in words) is (not converged)

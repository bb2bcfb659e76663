"""Interventions, counterfactuals and backtests."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import harmsim
from harmsim.analysis.backtest import backtest
from harmsim.analysis.counterfactual import counterfactual
from harmsim.calibrate import calibrate
from harmsim.cli import main
from harmsim.data.world import NEVER
from harmsim.errors import ConfigError
from harmsim.model.interventions import Change, load_change
from harmsim.model.scenario import scenario_from_dict
from harmsim.scoring.scores import outcome_distribution

from .test_calibrate import record_with_adoptions


# Change files -------------------------------------------------------------------------------------
def test_each_intervention_changes_the_inputs(record):
    ag = lambda r: r.agreements.set_index("agreement")  # noqa: E731
    moved = Change.from_dict({"agreements": [{"move": "actip_2015", "year": 2004}]}).apply(record)
    assert ag(moved).loc["actip_2015", "year"] == 2004
    assert moved.instruments.set_index("instrument").loc["actip", "opens"] == 2004  # it opens its own ratification
    gone = Change.from_dict({"agreements": [{"remove": "decl_tip_2004"}]}).apply(record)
    assert "decl_tip_2004" not in gone.agreement_ids
    assert ag(gone).loc["joint_statement_2011", "builds_on"] == "decl_transnational_crime_1997"
    assert gone.instruments.set_index("instrument").loc["asean_mlat", "opened_by"] == ""
    bound = Change.from_dict({"agreements": [{"set": "decl_tip_2004", "binding": True, "covers": ["untoc"]}]})
    b = ag(bound.apply(record))
    assert b.loc["decl_tip_2004", "binding"] and b.loc["decl_tip_2004", "covers"] == ("untoc",)
    added = Change.from_dict(
        {
            "agreements": [
                {"add": "x_2020", "year": 2020, "binding": True, "covers": ["actip"], "builds_on": "actip_2015"}
            ]
        }
    ).apply(record)
    assert ag(added).loc["x_2020", "trigger"] == "consensus"
    rich = Change.from_dict(
        {"covariates": [{"name": "gdp_pc", "states": ["THA"], "years": [2000, 2001], "multiply": 2}]}
    )
    c0, c1 = record.covariates.set_index(["state", "year"]), rich.apply(record).covariates.set_index(["state", "year"])
    assert c1.loc[("THA", 2000), "gdp_pc"] == pytest.approx(2 * c0.loc[("THA", 2000), "gdp_pc"])
    assert c1.loc[("THA", 2002), "gdp_pc"] == pytest.approx(c0.loc[("THA", 2002), "gdp_pc"])
    quiet = Change.from_dict({"tiers": [{"set": ""}]}).apply(record)
    assert (quiet.tiers["tier"] == "").all()
    late = Change.from_dict({"membership": [{"state": "KHM", "joined": 2005}]}).apply(record)
    assert dict(zip(late.states.state, late.states.joined))["KHM"] == 2005


@pytest.mark.parametrize(
    ("raw", "pattern"),
    [
        ({"agreements": [{"remove": "nope"}]}, r"unknown agreement 'nope'; known: vision_2020"),
        ({"agreements": [{"move": "actip_2015"}]}, r"'year' must be a year"),
        ({"agreements": [{"set": "decl_tip_2004", "binding": "yes"}]}, r"'binding' must be true or false"),
        ({"agreements": [{"set": "decl_tip_2004", "covers": ["nope"]}]}, r"unknown instrument 'nope'"),
        ({"agreements": [{"move": "decl_tip_2004", "year": 1990}]}, r"not valid: .* dated before"),
        ({"agreements": [{"remove": "a", "move": "b"}]}, r"exactly one of add, remove, move, set"),
        ({"covariates": [{"name": "gdp", "set": 1}]}, r"one of the record's covariates: gdp_pc, population"),
        ({"covariates": [{"name": "gdp_pc", "multiply": 2, "states": ["XXX"]}]}, r"unknown state 'XXX'"),
        ({"tiers": [{"set": "4"}]}, r"'set' must be one of 1, 2, 2WL, 3"),
        ({"membership": [{"state": "TLS", "joined": "soon"}]}, r"'joined' must be a year"),
        ({"colour": 1}, r"unknown key 'colour'"),
    ],
)
def test_bad_change_files_say_what_is_wrong(record, raw, pattern):
    with pytest.raises(ConfigError, match=pattern):
        Change.from_dict(raw, where="c.toml").apply(record)


# Counterfactuals ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fitted():
    sc = harmsim.load_scenario("baseline")
    return sc, calibrate(sc, free=["hazard.intercept", "agreements.nonbinding", "diffusion.strength"])


def test_a_change_that_changes_nothing_differs_by_exactly_zero(fitted, tmp_path):
    sc, fit = fitted
    path = tmp_path / "none.toml"
    path.write_text('name = "none"\n[[covariates]]\nname = "gdp_pc"\nmultiply = 1.0\n')
    cf = counterfactual(sc, fit, load_change(path), until=2020, replicates=40, seed=3)
    assert np.array_equal(cf.adopt_base, cf.adopt_changed)
    assert (cf.differences[["mean", "q05", "q95"]] == 0).all().all()
    empty = counterfactual(sc, fit, Change(), until=2015, replicates=20, seed=3)
    assert np.array_equal(empty.adopt_base, empty.adopt_changed)


def test_removing_the_2004_declaration_slows_what_it_covers(fitted):
    sc, fit = fitted
    cf = counterfactual(
        sc, fit, Change.from_dict({"agreements": [{"remove": "decl_tip_2004"}]}), replicates=200, seed=1
    )
    s = cf.summary.set_index("instrument")
    assert s.loc["asean_mlat", "gained_mean"] < 0 and s.loc["untoc", "gained_mean"] == 0  # untoc: not covered
    d = cf.differences
    assert (d[(d["year"] <= 2004)]["mean"] == 0).all() and (d[d["year"] == 2005]["mean"] < 0).any()  # lag 1


def test_binding_counterfactual_carries_a_caution(fitted):
    sc, fit = fitted
    cf = counterfactual(sc, fit, Change.from_dict({"agreements": [{"set": "decl_tip_2004", "binding": True}]}),
                        replicates=20, seed=1)  # fmt: skip
    assert "not estimated from this record" in cf.report()
    assert "no binding agreement acts inside the record's window, so no fit could estimate it" in cf.report()
    world = harmsim.load_scenario("world_baseline")  # binding agreements act there: only the fit is missing
    change = Change.from_dict({"agreements": [{"set": "asean_decl_2004", "binding": True}]})
    words = counterfactual(world, None, change, replicates=4, seed=1).report()
    assert "not estimated from this record (no fit was given)" in words and "no fit could" not in words
    nd = counterfactual(sc, fit, Change.from_dict({"parameters": {"diffusion.strength": 0.0}}), replicates=20, seed=1)
    assert "the fit estimates diffusion.strength" in nd.report()


def test_binding_counterfactual_says_what_it_rests_on_where_the_fit_estimates_both_effects():
    """On the world panel the fit estimates binding and non-binding effects: a change that makes ASEAN's 2004
    Declaration binding acts through their difference, and the note gives it with its interval and says that
    interval ignores the clustering in organizations (the test of bindingness allows for it)."""
    from harmsim.calibrate.fit import Fit

    names = ["agreements.binding", "agreements.nonbinding"]
    est = pd.DataFrame({"parameter": names, "estimate": [0.5, 0.1], "se": [0.2, 0.1], "lower": [0.1, -0.1],
                        "upper": [0.9, 0.3], "bound_lo": -5.0, "bound_hi": 5.0, "status": "bounded"})  # fmt: skip
    cov = pd.DataFrame([[0.04, 0.0], [0.0, 0.01]], index=names, columns=names)

    def report(scenario: str, agreement: str, covariance=cov) -> str:
        sc = harmsim.load_scenario(scenario)
        fit = Fit(scenario, sc.digest, sc.record.name, "mle", est, loglik=-1.0, n_obs=1, covariance=covariance)
        change = Change.from_dict({"agreements": [{"set": agreement, "binding": True}]})
        return counterfactual(sc, fit, change, replicates=4, seed=1).report()

    world = report("world_baseline", "asean_decl_2004")
    assert "binding minus non-binding agreements, which the fit estimates at 0.40 log-odds" in world
    assert "(95% interval -0.04 to 0.84); its interval includes 0" in world  # se sqrt(0.05) = 0.224
    assert "harmsim bindingness" in world and "not estimated from this record" not in world
    asean = report("baseline", "decl_tip_2004")  # one region: no organizations for the evidence to cluster in
    assert "which the fit estimates at 0.40 log-odds" in asean and "harmsim bindingness" not in asean
    bare = report("world_baseline", "asean_decl_2004", covariance=None)  # the difference, and no interval
    assert "at 0.40 log-odds (no interval: the fit has no covariance)" in bare


@pytest.mark.parametrize("fit_or_not", ["fitted", "hand-set"])
def test_parameter_changes_of_every_kind_act(fitted, fit_or_not):
    """Before: "diffusion.enabled" = false was accepted and ignored (an effect of exactly zero), and a map of
    offsets or a choice (the arrival rule) under [parameters] ended in a traceback."""
    sc, fit = fitted
    fit = fit if fit_or_not == "fitted" else None
    kw = dict(replicates=100, seed=1)
    off = counterfactual(sc, fit, Change.from_dict({"parameters": {"diffusion.enabled": False}}), **kw)
    zero = counterfactual(sc, fit, Change.from_dict({"parameters": {"diffusion.strength": 0.0}}), **kw)
    assert (off.differences["mean"] != 0).any()
    pd.testing.assert_frame_equal(off.differences, zero.differences)  # strength 0 is the mechanism switched off
    offs = counterfactual(sc, fit, Change.from_dict({"parameters": {"hazard.offsets": {"untoc": 3.0}}}), **kw)
    s = offs.summary.set_index("instrument")
    assert s.loc["untoc", "gained_mean"] > 0 and s.loc["asean_mlat", "gained_mean"] == 0
    endo = counterfactual(sc, fit, Change.from_dict({"parameters": {"agreements.arrival": "endogenous"}}), **kw)
    assert endo.scenario is not None and len(endo.summary)


def test_counterfactual_command(tmp_path, capsys):
    fit_dir = tmp_path / "fit"
    assert main(["calibrate", "diffusion_only", "--out", str(fit_dir)]) == 0
    out = tmp_path / "cf"
    args = ["counterfactual", "diffusion_only", "--from-fit", str(fit_dir), "--until", "2020", "-r", "30"]
    change = "experiments/changes/no_diffusion.toml"
    assert main([*args, "--change", change, "--out", str(out)]) == 0
    assert "Counterfactual 'no_diffusion'" in capsys.readouterr().out
    assert {"differences.csv", "summary.csv", "report.txt", "provenance.json", "differences.png"} <= {
        p.name for p in out.iterdir()
    }
    bad = tmp_path / "bad.toml"
    bad.write_text("[[agreements]]\nremove = 'nope'\n")
    assert main([*args, "--change", str(bad), "--out", str(tmp_path / "cf2")]) == 2
    assert "unknown agreement 'nope'" in capsys.readouterr().err
    assert main([*args, "--change", change, "--out", str(out)]) == 2  # the earlier result stays
    assert "pass --force" in capsys.readouterr().err


# Backtests ----------------------------------------------------------------------------------------
def test_outcome_distribution_by_hand():
    adopt = np.array([[[2006]], [[2006]], [[2008]], [[NEVER]]], dtype=np.int16)
    d = outcome_distribution(adopt, 2005, 2008)  # outcomes 2006, 2007, 2008, later
    np.testing.assert_allclose(d[0, 0], np.array([2.5, 0.5, 1.5, 1.5]) / 6)


@pytest.mark.statistical
def test_true_parameters_beat_the_baselines_on_a_synthetic_region():
    """A record simulated from known parameters: forecasts with the truth beat uniform and constant hazard."""
    from harmsim.model.synthetic import synthetic_region

    region = synthetic_region(50, 3, seed=8)
    spec = {
        "hazard": {"intercept": -3.2},
        "mechanisms": {"diffusion": {"strength": 3.0}, "prerequisites": {"bundle": 2.0}},
    }
    truth = scenario_from_dict(spec, where="truth", record=region)
    rec = record_with_adoptions(region, harmsim.run(truth, seed=2024).adoptions)
    sc = scenario_from_dict(spec, where="truth", record=rec)
    bt = backtest(sc, [2006, 2010], replicates=400, seed=1, refit=False, baselines=("uniform", "constant hazard"))
    s = bt.scores.pivot(index="origin", columns="model", values="log_score")
    assert (s[sc.name] > s["uniform"]).all() and (s[sc.name] > s["constant hazard"]).all(), s
    b = bt.scores.pivot(index="origin", columns="model", values="crps")
    assert (b[sc.name] < b["uniform"]).all(), b


def test_backtest_command_on_the_record(tmp_path, capsys):
    out = tmp_path / "bt"
    assert main(["backtest", "diffusion_only", "--origins", "2008,2011", "-r", "100", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "from 2008: 'diffusion_only'" in text
    saved = (out / "summary.txt").read_text()  # the verdicts in words, kept with the result
    assert saved.strip() in text and "from 2011: 'diffusion_only'" in saved
    scores = pd.read_csv(out / "scores.csv")
    assert set(scores["model"]) == {"diffusion_only", "event-history logit", "uniform", "constant hazard"}
    assert set(scores["origin"]) == {2008, 2011}
    # every model is scored on the same cells
    assert scores.groupby("origin")["events"].nunique().eq(1).all()
    assert (out / "backtest.png").is_file() and (out / "fits" / "2008-diffusion_only" / "fit.json").is_file()
    # the gains by instrument add up, weighted by their cells, to the gain over all cells
    paired = pd.read_csv(out / "paired.csv").set_index(["origin", "baseline"])
    by = pd.read_csv(out / "paired_by_instrument.csv")
    assert by["instrument"].nunique() > 1
    for (o, b), g in by.groupby(["origin", "baseline"]):
        assert g["cells"].sum() == paired.loc[(o, b), "cells"]
        weighted = (g["log_score_gain"] * g["cells"]).sum() / g["cells"].sum()
        assert weighted == pytest.approx(paired.loc[(o, b), "log_score_gain"], abs=1e-12)
    # every fit's parameter the record does not bound is named under its origin (the specialist units' offset
    # runs to its bound: four states joined the process in its founding year, the others at unknown dates)
    shaky, names = 0, {m.replace(" ", "_"): m for m in scores["model"]}  # fits/<origin>-<model, _ for spaces>
    for folder in sorted((out / "fits").iterdir()):
        origin, model = folder.name.split("-", 1)
        model = names[model]
        est = pd.read_csv(folder / "estimates.csv")
        for r in est[est["status"].isin(["at bound", "not identified"])].itertuples():
            shaky += 1
            line = f"from {origin}: the fit of '{model}' leaves "
            assert any(t.startswith(line) and f"{r.parameter} = " in t for t in text.splitlines()), (line, r)
    assert shaky
    assert main(["backtest", "diffusion_only", "--origins", "2015", "--out", str(out), "--force"]) == 2
    assert "origins must be years from 1997 to 2014" in capsys.readouterr().err


def test_held_out_record_hides_every_outcome_of_the_instrument_and_keeps_inputs():
    from harmsim.analysis.backtest import held_out
    from harmsim.data.observations import BEFORE, UNOBSERVED, observations

    sc = harmsim.load_scenario("baseline")
    rec = held_out(sc.record, "asean_mlat")
    k = sc.world.instruments.index("asean_mlat")
    real, hidden = observations(sc.world, sc.record), observations(sc.world, rec)
    assert ((hidden.kind[:, k] == UNOBSERVED) | (real.kind[:, k] == BEFORE)).all()
    assert (hidden.kind[:, k] == real.kind[:, k])[real.kind[:, k] == BEFORE].all()
    others = np.arange(len(sc.world.instruments)) != k
    assert np.array_equal(hidden.kind[:, others], real.kind[:, others])


def test_backtest_holds_out_an_instrument_and_scores_it_from_its_opening(tmp_path, capsys):
    out = tmp_path / "ho"
    args = ["backtest", "diffusion_only", "--hold-out", "asean_mlat", "-r", "50", "--out", str(out), "--no-figures"]
    assert main(args) == 0
    scores = pd.read_csv(out / "scores.csv")
    opens = int(harmsim.load_scenario("diffusion_only").world.opens[
        harmsim.load_scenario("diffusion_only").world.instruments.index("asean_mlat")])  # fmt: skip
    assert set(scores["origin"]) == {opens - 1}
    cells = pd.read_csv(out / "cells.csv")
    assert set(cells["instrument"]) == {"asean_mlat"} and len(cells) == scores["events"].sum()
    fit = json.loads((out / "fits" / f"{opens - 1}-diffusion_only" / "fit.json").read_text())
    assert fit["record"].endswith("~without-asean_mlat")  # the fit never saw the instrument's outcomes
    paired = pd.read_csv(out / "paired.csv")
    assert set(paired["baseline"]) == {"event-history logit", "uniform", "constant hazard"}
    assert (paired["cells"] == scores["events"].iloc[0]).all() and (paired["log_score_se"] > 0).all()
    assert "'asean_mlat' is held out: the fits saw every other instrument to 2015" in capsys.readouterr().out
    assert main(["backtest", "diffusion_only", "--hold-out", "nope", "--out", str(tmp_path / "x")]) == 2
    assert "not an instrument" in capsys.readouterr().err
    # other origins are refused with a hold-out, not ignored; its own origin may be named
    given = ["backtest", "diffusion_only", "--hold-out", "asean_mlat", "--out", str(tmp_path / "y"), "--origins"]
    assert main([*given, "2008"]) == 2
    assert f"forecast from {opens - 1}, the year before it opened; origins [2008] cannot" in capsys.readouterr().err
    assert not (tmp_path / "y").exists()
    sc = harmsim.load_scenario("diffusion_only")
    assert backtest(sc, [opens - 1], hold_out="asean_mlat", replicates=5, baselines=()).fits.keys() == (
        backtest(sc, hold_out="asean_mlat", replicates=5, baselines=()).fits.keys()
    )


def test_a_held_out_instruments_forecast_reads_the_trend_its_fit_estimated_to_the_records_end():
    """The fit of a hold-out sees every other instrument to 2015, so it estimates the period trend to 2015; the
    forecast, which starts the year before the instrument opened, runs that trend as fitted instead of holding it
    at its origin. The rules for the trend past the last observed year then act only past 2015: inside the window
    the three give the same forecast to the bit (they differed while the trend was held at the origin)."""
    from harmsim.analysis.backtest import held_out
    from harmsim.data.observations import observed_until

    sc = harmsim.load_scenario("baseline_trend")
    kw = {"replicates": 40, "seed": 3, "hold_out": "asean_mlat", "baselines": ()}
    runs = {rule: backtest(sc.with_params({"trend.beyond": rule}), **kw) for rule in ("drift", "hold")}
    np.testing.assert_array_equal(runs["drift"].cells["log_score"], runs["hold"].cells["log_score"])
    (((origin, _), fit),) = runs["drift"].fits.items()
    cut = observed_until(held_out(sc.record, "asean_mlat"), origin)
    f = harmsim.forecast(sc, fit, until=2015, replicates=10, seed=0, record=cut)
    assert f.scenario.world.last_observed == 2015 and f.provenance["forecast"]["time_known_until"] == 2015
    assert any("as fitted to 2015" in c for c in f.provenance["forecast"]["choices"])
    fitted = fit.apply(sc)
    forecast_trend = fit.apply(f.scenario).dynamics.mechanism("trend").static()[:, 0, 0]
    whole = fitted.dynamics.mechanism("trend").static()[:, 0, 0]
    np.testing.assert_allclose(forecast_trend, whole[-len(forecast_trend) :])  # the trend as fitted, to 2015
    held = fit.apply(sc.with_record(cut).with_horizon(2015)).dynamics.mechanism("trend").static()[:, 0, 0]
    assert not np.allclose(held, whole[-len(held) :])  # what the forecast read before: held from the origin


def test_a_held_out_instruments_forecast_draws_the_states_propensities_given_what_its_fit_saw(monkeypatch):
    """With state propensities, a hold-out's forecast draws each state's propensity from its posterior given the
    history its fit saw (every other instrument to 2015), not only the years up to the forecast's origin."""
    import harmsim.analysis.backtest as module
    from harmsim.analysis.backtest import held_out
    from harmsim.data.observations import observed_until

    sc = harmsim.load_scenario("heterogeneity")
    given, real = [], module.forecast
    monkeypatch.setattr(module, "forecast", lambda *a, **k: given.append(k.get("history")) or real(*a, **k))
    run = backtest(sc, replicates=40, seed=0, hold_out="asean_mlat", baselines=())
    assert [(h.name, h.end) for h in given] == [("asean~without-asean_mlat", 2015)]
    (((origin, _), fit),) = run.fits.items()
    cut = observed_until(held_out(sc.record, "asean_mlat"), origin)
    kw = {"until": 2015, "replicates": 40, "seed": 0, "record": cut}
    up_to_origin, as_fitted = harmsim.forecast(sc, fit, **kw), harmsim.forecast(sc, fit, history=given[0], **kw)
    assert up_to_origin.provenance["forecast"]["latent_given"] is None
    assert as_fitted.provenance["forecast"]["latent_given"] == "asean~without-asean_mlat"
    assert any("(record 'asean~without-asean_mlat', to 2015)" in c for c in as_fitted.provenance["forecast"]["choices"])
    assert (as_fitted.adopt != up_to_origin.adopt).any()  # the same seeds, other propensities


def test_the_schedule_known_at_an_origin_leaves_out_later_agreements_but_not_openers():
    from harmsim.analysis.backtest import schedule_known_at

    rec = harmsim.observed_record()
    known = schedule_known_at(rec, 2005)
    years = dict(zip(known.agreements["agreement"], known.agreements["year"]))
    assert max(y for a, y in years.items() if a != "actip_2015") <= 2005
    assert "actip_2015" in years  # it opens ACTIP: kept at its date
    assert len(known.agreements) < len(rec.agreements) and known.adoptions.equals(rec.adoptions)
    assert schedule_known_at(rec, 2015) is rec  # nothing after the record's end
    world = harmsim.load_record("world")
    left = set(world.agreements["agreement"]) - set(schedule_known_at(world, 2008).agreements["agreement"])
    assert left == {"eu_dir_2011_36", "las_arabinit_2010", "oas_wp_2010", "sadc_spa_2009", "asean_apa_2015"}


def test_a_backtest_with_the_schedule_known_at_the_origin():
    """From 2005 the ASEAN record's later plans (2007, 2009, 2011) are left out, so the forecasts differ; from
    2011 nothing is dated after the origin but ACTIP's convention, which opens an instrument and stays, so they are
    the same to the bit; the provenance and the summary say which schedule was used; unknown schedules refused."""
    from harmsim.analysis.backtest import backtest

    sc = harmsim.load_scenario("baseline")
    kw = {"replicates": 60, "seed": 2, "refit": False, "baselines": ("uniform",)}
    rec_bt, org_bt = (backtest(sc, [2005, 2011], schedule=s, **kw) for s in ("recorded", "origin"))
    a = rec_bt.cells.set_index(["origin", "model", "state", "instrument"])["log_score"]
    b = org_bt.cells.set_index(["origin", "model", "state", "instrument"])["log_score"]
    assert a.loc[2011].equals(b.loc[2011])
    assert not a.loc[(2005, "baseline")].equals(b.loc[(2005, "baseline")])
    assert a.loc[(2005, "uniform")].equals(b.loc[(2005, "uniform")])
    assert org_bt.provenance["backtest"]["schedule"] == "origin"
    assert "left out of its fit and forecast" in org_bt.summary()
    assert "conditional on the agreements made after each origin" in rec_bt.summary()
    with pytest.raises(ConfigError, match="schedule 'later': choices are recorded, origin"):
        backtest(sc, [2005], schedule="later", **kw)
    with pytest.raises(ConfigError, match="inputs 'later': choices are recorded, origin"):
        backtest(sc, [2005], inputs="later", **kw)


def test_inputs_known_at_an_origin_are_cut_there_and_extended_by_the_scenarios_rules():
    """The dated inputs end at the origin; the scenario's rules carry them on (GDP by its log-linear trend, tiers
    held), so a model bound to the cut record reads values past the origin that differ from the recorded ones;
    memberships, agreements and adoptions stay."""
    from harmsim.analysis.backtest import inputs_known_at

    rec = harmsim.observed_record()
    cut = inputs_known_at(rec, 2008)
    for table in ("covariates", "tiers", "migration"):
        assert getattr(cut, table)["year"].max() <= 2008 < getattr(rec, table)["year"].max()
    assert cut.agreements.equals(rec.agreements) and cut.adoptions.equals(rec.adoptions)
    assert inputs_known_at(rec, 2030) is rec
    sc = harmsim.load_scenario("baseline")
    a, b = sc.world, sc.with_record(cut).world
    upto = a.years <= 2008
    gdp_a, gdp_b = a.covariate("gdp_pc"), b.covariate("gdp_pc")
    np.testing.assert_array_equal(gdp_a[upto], gdp_b[upto])
    assert not np.allclose(gdp_a[~upto], gdp_b[~upto], equal_nan=True)  # a trend from 2004-2008, not the data
    mig_a, mig_b = a.net_migration(), b.net_migration()
    assert not np.allclose(mig_a[~upto], mig_b[~upto])
    assert {"gdp_pc", "migration"} <= {e[0] for e in b.extended}


def test_a_backtest_from_the_inputs_known_at_an_origin_standardizes_on_the_years_up_to_it():
    """GDP and migration are read as standard deviations from a mean over the reference window: from what was
    known in 2008 that window ends in 2008, for the scenario and the logit alike, while the recorded inputs keep
    the whole window's (1997-2015) standardizations."""
    sc = harmsim.load_scenario("baseline")
    kw = {"replicates": 20, "seed": 0, "baselines": ("event-history logit",)}
    up_to = sc.with_reference(1997, 2008).transforms
    assert up_to.window == (1997, 2008)
    assert up_to.values("capacity.log_gdp_pc") != sc.transforms.values("capacity.log_gdp_pc")
    known = backtest(sc, [2008], inputs="origin", **kw).fits
    recorded = backtest(sc, [2008], **kw).fits
    for model in ("baseline", "event-history logit"):
        mean, sd = known[(2008, model)].transforms["capacity.log_gdp_pc"]
        assert (mean, sd) == pytest.approx(up_to.values("capacity.log_gdp_pc"), rel=1e-12)
        mean, sd = recorded[(2008, model)].transforms["capacity.log_gdp_pc"]
        assert (mean, sd) == pytest.approx(sc.transforms.values("capacity.log_gdp_pc"), rel=1e-12)
    with pytest.raises(ConfigError, match=r"reference window .* record's start \(1997\).* got 1990-2005"):
        sc.with_reference(1990, 2005)


def test_the_backtest_command_takes_the_schedule_and_the_inputs(tmp_path, capsys):
    out = tmp_path / "bt"
    args = ["backtest", "diffusion_only", "--origins", "2008", "--schedule", "origin", "--inputs", "origin"]
    assert main([*args, "-r", "30", "--no-figures", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "left out of its fit and forecast" in text and "cut at each origin" in text
    prov = json.loads((out / "provenance.json").read_text())["backtest"]
    assert prov["schedule"] == prov["inputs"] == "origin"
    fit = json.loads((out / "fits" / "2008-diffusion_only" / "fit.json").read_text())
    assert fit["record"] == "asean-schedule-2008-inputs-2008"  # the fit saw what was known in 2008


def test_the_logit_baseline_on_the_world_panel_leaves_out_gdp():
    """The world's GDP series has gaps no rule fills: the logit keeps intercepts, peers' share and the period."""
    from harmsim.analysis.backtest import logit_baseline

    sc = logit_baseline(harmsim.load_record("world"))
    assert "capacity" not in sc.enabled and {"diffusion", "period"} <= set(sc.enabled)
    assert sc.world.shape[1] == len(harmsim.load_record("world").state_ids)  # it builds on the whole panel
    assert "capacity" in logit_baseline(harmsim.observed_record()).enabled  # the ASEAN logit is unchanged


def test_backtest_of_a_scenario_on_a_record_without_gdp():
    """The global record has no GDP per capita: its logit leaves capacity out instead of stopping at the
    missing covariate (``harmsim backtest global_diffusion`` failed with "has no covariate 'gdp_pc'")."""
    from harmsim.analysis.backtest import backtest, logit_baseline

    rec = harmsim.load_record("global_criminalization")
    assert "capacity" not in logit_baseline(rec).enabled and "diffusion" in logit_baseline(rec).enabled
    bt = backtest(harmsim.load_scenario("global_diffusion"), [2011], replicates=50, seed=1)
    assert set(bt.scores["model"]) == {"global_diffusion", "event-history logit", "uniform", "constant hazard"}
    assert bt.scores["events"].nunique() == 1 and bt.scores["events"].iloc[0] > 0


def test_the_linear_pool_scores_the_mean_of_the_scenarios_and_the_logits_forecasts(tmp_path, capsys):
    """An outcome's probability under the pool is the mean of its probabilities under the two forecasts (an
    interval's too: its sum over years is linear), so each cell's pool log score is log((e^a + e^b) / 2) of the
    two log scores, and its mid-PIT the mean of theirs; the pool is not ranked as a baseline."""
    out = tmp_path / "pool"
    args = ["backtest", "diffusion_only", "--origins", "2008,2011", "-r", "60", "--pool", "--out", str(out)]
    assert main([*args, "--no-figures"]) == 0
    text = capsys.readouterr().out
    cells = pd.read_csv(out / "cells.csv").set_index(["origin", "model", "state", "instrument"]).sort_index()
    a, b, p = (cells.xs(m, level="model") for m in ("diffusion_only", "event-history logit", "linear pool"))
    assert len(p) == len(a) == len(b) > 20 and p.index.equals(a.index)
    np.testing.assert_allclose(p["log_score"], np.logaddexp(a["log_score"], b["log_score"]) - np.log(2), atol=1e-9)
    np.testing.assert_allclose(p["pit_mid"], (a["pit_mid"] + b["pit_mid"]) / 2, atol=1e-9)
    enc = pd.read_csv(out / "encompassing.csv")
    assert enc[["adds", "to"]].values.tolist() == [["diffusion_only", "event-history logit"],
                                                   ["event-history logit", "diffusion_only"]] * 2  # fmt: skip
    mine = enc[enc["adds"] == "diffusion_only"].set_index("origin")["log_score_gain"]
    for origin, gain in mine.items():  # the pool against the logit, per cell and on average
        own = (p["log_score"] - b["log_score"]).xs(origin, level="origin")
        assert gain == pytest.approx(own.mean())
    by = pd.read_csv(out / "encompassing_by_instrument.csv")
    assert by["instrument"].nunique() > 1
    for (o, adds), g in by.groupby(["origin", "adds"]):  # the instruments' gains add up to the whole's
        whole = enc[(enc["origin"] == o) & (enc["adds"] == adds)].iloc[0]
        assert g["cells"].sum() == whole["cells"]
        assert (g["log_score_gain"] * g["cells"]).sum() / g["cells"].sum() == pytest.approx(whole["log_score_gain"])
    assert "linear pool" not in set(pd.read_csv(out / "paired.csv")["baseline"])
    assert "'diffusion_only' adds" in text and "to 'event-history logit'" in text
    with pytest.raises(ConfigError, match="add the logit to the baselines"):
        backtest(harmsim.load_scenario("diffusion_only"), [2011], pool=True, baselines=("uniform",))


@given(st.lists(st.tuples(st.floats(1e-12, 1.0), st.floats(1e-12, 1.0)), min_size=1, max_size=30))
def test_the_pooled_log_score_is_the_log_of_the_mean_probability_and_between_the_two(pairs):
    """Concavity, cell by cell: never below the mean of the two log scores, never above the larger; and the log
    of the mean probability."""
    from harmsim.scoring.scores import pooled_log_score

    p, q = np.array(pairs).T
    a, b = np.log(p), np.log(q)
    pool = pooled_log_score(a, b)
    assert (pool >= (a + b) / 2 - 1e-12).all() and (pool <= np.maximum(a, b) + 1e-12).all()
    np.testing.assert_allclose(np.exp(pool), (p + q) / 2, rtol=1e-12)


def test_a_scenario_pooled_with_itself_adds_nothing():
    """The shipped logit pooled with the logit baseline: the same model, fitted and forecast from the same seed,
    so the pool is each of them, every gain exactly 0, read as adding nothing."""
    bt = backtest(harmsim.load_scenario("event_history_logit"), [2011], replicates=30, pool=True,
                  baselines=("event-history logit",))  # fmt: skip
    enc = bt.encompassing()
    assert len(enc) == 2 and (enc["log_score_gain"] == 0).all() and (enc["crps_gain"] == 0).all()
    assert set(enc["reading"]) == {"nothing measurable"}
    assert "adds nothing measurable" in bt.summary()
    # the ranking on mean scores is said with what the paired differences support: here nothing
    assert "paired per cell, no difference is beyond twice its standard error." in bt.summary()
    assert " beats " not in bt.summary()


def test_a_ranking_says_which_of_its_differences_hold_beyond_noise():
    """A backtest's summary ranks the models by mean log score, then says which differences hold paired per
    cell: a rank on means alone read as 'beats' claimed wins the standard errors did not support."""
    from harmsim.analysis.backtest import _ranks_beyond_noise

    pairs = pd.DataFrame({"baseline": ["A", "B", "C", "D"], "log_score_gain": [0.5, -0.5, 0.1, 0.3],
                          "log_score_se": [0.1, 0.1, 0.1, float("nan")]})  # fmt: skip
    assert _ranks_beyond_noise(pairs) == (
        "paired per cell, beyond twice the standard error it is better than A; worse than B; not told apart from C, D"
    )
    assert _ranks_beyond_noise(pairs.iloc[2:]) == "paired per cell, no difference is beyond twice its standard error"
    assert _ranks_beyond_noise(pairs.iloc[:1]) == "paired per cell, beyond twice the standard error it is better than A"
    assert _ranks_beyond_noise(pairs.iloc[:0]) == "no baseline paired with it"


def test_the_weighted_pool_takes_its_weight_from_the_forecasts_of_the_years_before_the_origin(tmp_path, capsys):
    """``--pool-weights inner``: per origin, the weight on the scenario is the one whose pool scored best on the
    forecasts made three years earlier of the years up to the origin; each cell's weighted pool log score is
    log(w e^a + (1 - w) e^b) of the two log scores; the pool is not ranked; the inner origin's fits are kept and an
    origin there is not fitted twice."""
    from harmsim.scoring.scores import pooled_log_score

    out = tmp_path / "weighted"
    args = ["backtest", "diffusion_only", "--origins", "2008,2011", "-r", "60", "--pool", "--pool-weights", "inner"]
    assert main([*args, "--out", str(out), "--no-figures"]) == 0
    text = capsys.readouterr().out
    table = pd.read_csv(out / "weighted_pool.csv").set_index("origin")
    assert table["inner_origin"].to_dict() == {2008: 2005, 2011: 2008}
    assert ((table["weight"] >= 0) & (table["weight"] <= 1)).all() and (table["inner_cells"] > 10).all()
    # the weight is the best on its inner cells: the pool there at least as good as either forecast alone
    assert (
        table["inner_pool_log_score"] >= table[["inner_log_score", "inner_logit_log_score"]].max(axis=1) - 1e-9
    ).all()
    cells = pd.read_csv(out / "cells.csv").set_index(["origin", "model", "state", "instrument"]).sort_index()
    a, b, p = (cells.xs(m, level="model") for m in ("diffusion_only", "event-history logit", "weighted pool"))
    assert len(p) == len(a) > 20 and p.index.equals(a.index)
    for origin, w in table["weight"].items():
        on = p.index.get_level_values("origin") == origin
        expected = pooled_log_score(a["log_score"][on], b["log_score"][on], w)
        np.testing.assert_allclose(p["log_score"][on], expected, atol=1e-9)
        assert table.loc[origin, "gain_logit"] == pytest.approx((p["log_score"] - b["log_score"])[on].mean())
    assert "weighted pool" not in set(pd.read_csv(out / "paired.csv")["baseline"])
    assert "weight " in text and "(from the forecasts made in 2005 of 2006-2008" in text
    fits = sorted(p.name for p in (out / "fits").iterdir())
    assert fits == [f"{o}-{m}" for o in (2005, 2008, 2011) for m in ("diffusion_only", "event-history_logit")]
    prov = json.loads((out / "provenance.json").read_text())["backtest"]
    assert prov["pool_weights"] == "inner" and prov["inner_years"] == 3 and set(prov["weights"]) == {"2008", "2011"}


def test_nothing_after_the_origin_enters_the_pools_weight():
    """Adoptions after the origin moved to the record's last year: the scores from the origin change, the weight
    estimated before it does not, to the bit."""
    sc = harmsim.load_scenario("diffusion_only")
    ad = sc.record.adoptions.copy()
    later = pd.to_numeric(ad["year"], errors="coerce") > 2011
    assert later.sum() >= 3
    for col in ("year", "year_min", "year_max"):
        ad.loc[later, col] = sc.record.end
    moved = sc.with_record(replace(sc.record, adoptions=ad))
    kw = {"replicates": 40, "pool": True, "pool_weights": "inner", "baselines": ("event-history logit",)}
    one, two = backtest(sc, [2011], **kw), backtest(moved, [2011], **kw)
    assert one.weighted_pool()["weight"].tolist() == two.weighted_pool()["weight"].tolist()
    assert one.weighted_pool()["inner_cells"].tolist() == two.weighted_pool()["inner_cells"].tolist()
    assert not np.allclose(one.scores["log_score"], two.scores["log_score"])


def test_the_weighted_pool_is_refused_where_it_cannot_be_weighted_before_the_origin():
    sc = harmsim.load_scenario("diffusion_only")
    with pytest.raises(ConfigError, match="score it too"):
        backtest(sc, [2011], pool_weights="inner")
    with pytest.raises(ConfigError, match="choices are equal, inner"):
        backtest(sc, [2011], pool=True, pool_weights="fitted")
    with pytest.raises(ConfigError, match=r"origins \[1999\] are too early"):
        backtest(sc, [1999, 2008], pool=True, pool_weights="inner")
    with pytest.raises(ConfigError, match="use equal weights with --hold-out"):
        backtest(sc, hold_out="asean_mlat", pool=True, pool_weights="inner")
    from harmsim.scoring.scores import pooled_log_score

    with pytest.raises(ConfigError, match=r"pool weight 1.5: must lie in \[0, 1\]"):
        pooled_log_score([0.0], [0.0], 1.5)


@given(st.lists(st.tuples(st.floats(-20.0, 0.0), st.floats(-20.0, 0.0)), min_size=1, max_size=30))
def test_the_pools_weight_is_the_best_on_its_cells(pairs):
    """The estimated weight's pool is at least as good on the cells as any other weight's, the two forecasts
    alone among them; where the first forecast is at least as good on every cell, all the weight is on it."""
    from harmsim.scoring.scores import pool_weight, pooled_log_score

    a, b = np.array(pairs).T
    w = pool_weight(a, b)
    best = pooled_log_score(a, b, w).mean()
    for other in np.linspace(0.0, 1.0, 21):
        assert best >= pooled_log_score(a, b, other).mean() - 1e-7
    top = np.maximum(a, b)
    if (top > b + 1e-6).any():  # at least as good everywhere, better somewhere
        assert pool_weight(top, b) == 1.0 and pool_weight(b, top) == 0.0


def test_two_forecasts_that_time_adoptions_alike_tie_given_adoption_whatever_they_expect_of_adopting():
    """On adopters only (a sample selected by adopting), the forecast that expects more adoptions wins the log
    score by log(p_adopt ratio) per cell, and ties on the score given adoption: the part the selection cannot
    bias. A non-adopter's cell has no score given adoption."""
    from harmsim.scoring.scores import score_cells

    timing = np.array([0.5, 0.3, 0.2])  # given adoption, the years of a three-year window
    low, high = np.append(0.2 * timing, 0.8), np.append(0.9 * timing, 0.1)
    dist = np.stack([np.stack([low, high])] * 3)  # (N=3, K=2, B=4): instrument 0 expects few adoptions
    lo = hi = np.array([[0, 0], [1, 1], [3, 3]])  # two adopters (years 1 and 2), one "later"
    cells = score_cells(dist, lo, hi, np.ones((3, 2), bool)).set_index(["i", "k"])
    for i in (0, 1):
        assert cells.loc[(i, 1), "log_score"] - cells.loc[(i, 0), "log_score"] == pytest.approx(np.log(0.9 / 0.2))
        assert cells.loc[(i, 1), "log_score_adopted"] == pytest.approx(cells.loc[(i, 0), "log_score_adopted"])
        assert cells.loc[(i, 0), "log_score_adopted"] == pytest.approx(np.log(timing[lo[i, 0]]))
    assert cells.loc[(2, 0), "log_score_adopted"] != cells.loc[(2, 0), "log_score_adopted"]  # NaN
    assert cells["p_adopt"].round(6).tolist() == [0.2, 0.9] * 3
    assert cells.loc[(0, 0), "log_score_whether"] == pytest.approx(np.log(0.2))
    assert cells.loc[(2, 1), "log_score_whether"] == pytest.approx(np.log(0.1))  # "later": the whole log score


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0.01, 1.0), min_size=4, max_size=4),
    st.lists(st.floats(0.01, 1.0), min_size=4, max_size=4),
    st.integers(0, 3),
    st.integers(0, 3),
)
def test_whether_and_when_add_up_to_the_log_score_and_whether_ignores_the_timing(w1, w2, a, span):
    """Every outcome (a year, an interval inside the window, one reaching past it, "later"): the two parts add up
    to the log score; and two forecasts with the same chance of adopting tie on whether, however they time it."""
    from harmsim.scoring.scores import score_cells

    first = np.array(w1) / sum(w1)
    timing = np.array(w2[:3]) / sum(w2[:3])
    second = np.append((1.0 - first[3]) * timing, first[3])  # first's chance of adopting, another timing
    dist = np.stack([first, second])[None]  # (N=1, K=2, B=4)
    b = min(a + span, 3)
    cells = score_cells(dist, np.full((1, 2), a), np.full((1, 2), b), np.ones((1, 2), bool))
    parts = cells["log_score_whether"] + cells["log_score_adopted"].fillna(0.0)
    np.testing.assert_allclose(parts, cells["log_score"], rtol=0, atol=1e-12)
    assert cells["log_score_adopted"].notna().tolist() == [b < 3] * 2
    if b < 3 or a == 3:  # an outcome that says whether: the chance of adopting decides it
        assert cells["log_score_whether"].iloc[0] == pytest.approx(cells["log_score_whether"].iloc[1])


def test_a_backtest_reads_the_timing_of_adoptions_where_the_record_selected_them(tmp_path, capsys):
    """The Protocol's non-party (Brunei) known only to 2008: from 2008 its scored cells are the ratifications alone,
    the backtest names them as selected, and scores each model's adoptions given adoption, per cell the log score
    less the log of its probability of adopting. Whether they adopt is the rest: its gain and the timing's, over
    the adoptions, add up to the gain in log score, baseline by baseline."""
    sc = harmsim.load_scenario("diffusion_only")
    ad = sc.record.adoptions.copy()
    selected = ["tip_protocol"]
    absent = ad["instrument"].isin(selected) & ad["year"].isna() & ad["year_min"].isna()
    assert absent.sum() == 1
    ad.loc[absent, "seen_until"] = 2008
    bt = backtest(sc.with_record(replace(sc.record, adoptions=ad)), [2008], replicates=60)
    cells = bt.cells[bt.cells["model"] == "diffusion_only"]
    adopted = ~cells["outcome"].str.startswith(("later", "after"))
    np.testing.assert_allclose(
        cells["log_score_adopted"][adopted], (cells["log_score"] - np.log(cells["p_adopt"]))[adopted]
    )
    assert cells["log_score_adopted"][~adopted].isna().all()
    timing = bt.given_adoption()
    assert set(timing["baseline"]) == {"event-history logit", "uniform", "constant hazard"}
    assert (timing["selected"] == ", ".join(selected)).all() and (timing["cells"] == adopted.sum()).all()
    by = bt.given_adoption(by_instrument=True)
    assert set(by.loc[by["selected"] != "", "instrument"]) <= set(selected)
    part = bt.whether()
    assert part["baseline"].tolist() == timing["baseline"].tolist() and (part["cells"] == len(cells)).all()
    assert (part["adoptions"] == adopted.sum()).all() and (part["expected_model"] == cells["p_adopt"].sum()).all()
    paired = bt.paired().set_index("baseline").loc[part["baseline"], "log_score_gain"].to_numpy()
    added = part["log_score_gain"] + timing["log_score_gain"] * timing["cells"] / part["cells"]
    np.testing.assert_allclose(added, paired, rtol=0, atol=1e-9)
    bt.save(tmp_path / "bt", figures=False)
    assert (tmp_path / "bt" / "given_adoption_by_instrument.csv").exists()
    assert (tmp_path / "bt" / "whether_by_instrument.csv").exists()
    summary = bt.summary()
    assert "selected by adopting: tip_protocol" in summary and "Whether the states adopt by the end" in summary


def test_paired_difference_clusters_by_state_by_hand():
    from harmsim.scoring.scores import paired_difference

    a = np.zeros(6)
    b = np.array([1.0, 1.0, 1.0, 3.0, 3.0, 3.0])  # two states, each with three identical cells
    r = paired_difference(a, b, ["A", "A", "A", "B", "B", "B"])
    assert r["difference"] == 2.0 and r["cells"] == 6 and r["clusters"] == 2
    # clusters: sums 3 and 9 against 3 * 2 = 6 each: G/(G-1) * (9 + 9) / 36 = 1, s.e. 1
    assert r["se"] == pytest.approx(1.0)
    # as six independent cells the s.e. would be smaller: clustering is what widens it
    independent = paired_difference(a, b, ["A", "B", "C", "D", "E", "F"])
    assert independent["se"] < r["se"]
    assert np.isnan(paired_difference(a, b, ["A"] * 6)["se"])


# Placebo agreements -------------------------------------------------------------------------------
def _placebo_pvalues(effect: float, n_records: int, placebos: int) -> list[float]:
    from harmsim.calibrate.placebo import placebo_test
    from harmsim.model.synthetic import synthetic_region

    region = synthetic_region(40, 3, seed=12)
    mech = {"agreements": {"nonbinding": effect, "binding": 0.0}}
    truth = scenario_from_dict({"hazard": {"intercept": -3.5}, "mechanisms": mech}, where="truth", record=region)
    out = []
    for s in harmsim.spawn_seeds(int(effect * 10) + 1, n_records):
        rec = replace(record_with_adoptions(region, harmsim.run(truth, seed=s).adoptions), agreements=region.agreements)
        model = scenario_from_dict({"hazard": {"intercept": -3.0}, "mechanisms": mech}, where="m", record=rec)
        null = scenario_from_dict({"hazard": {"intercept": -3.0}}, where="n", record=rec)
        pt = placebo_test(
            model, null, rec, placebos=placebos, seed=s, free=["hazard.intercept", "agreements.nonbinding"]
        )
        out.append(pt.p_value)
    return out


@pytest.mark.statistical
def test_placebo_p_values_uniform_without_agreement_effects_and_at_their_minimum_with_them():
    """Without an effect the recorded schedule is one more exchangeable draw: p spreads over (0, 1] (12 records,
    19 placebos each: mean near 0.5, no pile-up at the minimum); with a strong effect no placebo gains as much,
    so p sits at its minimum 1/20."""
    null = _placebo_pvalues(0.0, 12, 19)
    assert 0.3 <= np.mean(null) <= 0.7 and max(null) >= 0.6 and sum(p <= 0.05 for p in null) <= 2, null
    strong = _placebo_pvalues(2.0, 4, 19)
    assert all(p == pytest.approx(1 / 20) for p in strong), strong


def test_placebo_schedules_are_exchangeable_with_the_recorded_one(record):
    """Same number of steps inside the window, same binding labels, the Convention (acting after 2015) where it
    is, rotations both ways, no repeats, never the recorded schedule; 99 distinct ones exist for ASEAN."""
    from harmsim.calibrate.placebo import placebo_schedules

    real = record.agreements
    fakes = placebo_schedules(record, 99, seed=3)
    assert len(fakes) == 99
    shifts = [s for s, _ in fakes]
    assert min(shifts) < 0 < max(shifts)
    seen = set()
    for _, f in fakes:
        ag = f.agreements
        assert ((ag["year"] <= 2014) & ~ag["binding"]).sum() == ((real["year"] <= 2014) & ~real["binding"]).sum()
        assert ag.loc[ag["binding"], "year"].tolist() == [2015]
        assert (ag["binding"] == real["binding"]).all()
        assert sorted(map(tuple, ag["covers"])) == sorted(map(tuple, real["covers"]))
        key = (tuple(ag["year"]), tuple(map(tuple, ag["covers"])))
        assert key not in seen and key != (tuple(real["year"]), tuple(map(tuple, real["covers"])))
        seen.add(key)


def test_the_figure_marks_what_the_change_did_to_the_agreements(record):
    """#23 item 16. Before: the counterfactual figure drew a removed declaration as an ordinary one."""
    from harmsim.output.plots import agreement_marks

    sc = harmsim.load_scenario("baseline")
    gone = Change.from_dict({"agreements": [{"remove": "decl_tip_2004"}]}).apply(record)
    marks = {(m[0], m[3]) for m in agreement_marks(sc, gone)}
    assert (2004, "removed") in marks and (1997, "") in marks
    moved = Change.from_dict({"agreements": [{"move": "actip_2015", "year": 2004}]}).apply(record)
    marks = {(m[0], m[3]) for m in agreement_marks(sc, moved)}
    assert (2015, "removed") in marks and (2004, "moved") in marks
    bound = Change.from_dict({"agreements": [{"set": "decl_tip_2004", "binding": True}]}).apply(record)
    assert (2004, True, "changed") in {(m[0], m[2], m[3]) for m in agreement_marks(sc, bound)}
    assert all(len(m) == 3 for m in agreement_marks(sc))  # without a change: as before


def test_backtest_scores_a_cell_not_adopted_by_a_year_after_the_origin_and_counts_unknown_ones():
    """A source that ends before the record (Kelley and Simmons' criminalization coding in 2014) leaves a state
    "not adopted by 2012, then unknown": scored as "after 2012" (any later year or none), not dropped, which
    left only the instrument's adoptions to score. A state known only up to the origin (not adopted by 2008,
    then unknown) is not scored, and is counted in the scores' ``unknown`` column and said in the summary.

    Mutation caught (``python scripts/mutations.py backtest-drops-censored-after-origin``): the ``after`` cells
    left out of the scored mask (the earlier rule)."""
    sc = harmsim.load_scenario("diffusion_only")
    ad = sc.record.adoptions.copy()
    for state, seen in (("SGP", 2012), ("VNM", 2008)):  # criminalized in 2015 and 2012
        row = (ad["state"] == state) & (ad["instrument"] == "tip_law")
        ad.loc[row, ["year", "year_min", "year_max"]] = pd.NA
        ad.loc[row, "seen_until"] = seen
    rec = replace(sc.record, adoptions=ad)
    bt = backtest(sc, [2008], record=rec, replicates=20, baselines=("uniform",), refit=False)
    cells = bt.cells.set_index(["model", "state", "instrument"]).sort_index()
    sgp = cells.loc[("uniform", "SGP", "tip_law")]
    assert sgp["outcome"] == "after 2012"
    assert sgp["log_score"] == pytest.approx(np.log(4 / 8))  # 2013, 2014, 2015, later of 2009..2015 + later
    assert ("uniform", "VNM", "tip_law") not in cells.index
    assert (bt.scores["unknown"] == 1).all()
    assert "1 more cells open at the origin (tip_law 1) have no status after it" in bt.summary()
    assert bt.provenance["backtest"]["unknown_by_instrument"] == {"2008": {"tip_law": 1}}
    assert int(bt.scores.loc[bt.scores["model"] == "uniform", "adoptions"].iloc[0]) == int(
        (~cells.loc["uniform", "outcome"].str.startswith(("later", "after"))).sum()
    )


def test_a_counterfactual_gives_the_change_per_state_and_maps_it_on_the_world():
    """Per state and instrument open to it: P(adopted by the end) without and with the change and their paired
    difference; nothing changed gives exactly 0 everywhere; a binding 2004 Declaration raises ASEAN's states
    and no state outside the organizations it covers by more than noise; the world gets a map."""
    from harmsim.model.interventions import Change, load_change

    sc = harmsim.load_scenario("world_baseline")
    nothing = counterfactual(sc, None, Change(), replicates=20, seed=2)
    assert (nothing.cells["difference"] == 0).all() and (nothing.cells["share_moved"] == 0).all()
    cells = nothing.cells.set_index(["state", "instrument"])
    assert ("FRA", "saarc2002") not in cells.index and ("FRA", "cets197") in cells.index
    regional = sum(len(sc.world.states_open_until(2015)[k]) for k in ("cets197", "saarc2002", "actip"))
    assert len(cells) == 188 * 3 + regional == 188 * 3 + 47 + 8 + 10
    change = load_change("experiments/changes/world_binding_2004_declaration.toml")
    binding = sc.with_params({"agreements.binding": 1.5})  # the scenario's own values make the two alike (0.3)
    cf = counterfactual(binding, None, change, replicates=100, seed=2)
    c = cf.cells
    asean = set(harmsim.load_record("world").memberships.query("organization == 'ASEAN'")["state"])
    law = c[c["instrument"] == "tip_law"]
    assert law.loc[law["state"].isin(asean), "difference"].mean() > 0.02
    assert (law.loc[~law["state"].isin(asean), "difference"].abs() <= 3 * law["se"].max() + 1e-12).all()
    assert np.allclose(c["difference"], c["p_changed"] - c["p_base"])
    assert len(cf.map().axes) == 7 and counterfactual(harmsim.load_scenario("baseline"), None, Change(),
                                                     replicates=5, seed=1).map() is None  # fmt: skip


def test_monte_carlo_seeds_forecast_again_from_the_same_fits(tmp_path, capsys):
    """A backtest with a further seed keeps its own cells, fits once per origin and model, and spreads each gain
    over the two seeds exactly as the backtest run with that seed alone gives it; the command writes the table."""
    sc = harmsim.load_scenario("diffusion_only")
    plain = backtest(sc, [2008], replicates=60)
    again = backtest(sc, [2008], replicates=60, monte_carlo_seeds=[1])
    other = backtest(sc, [2008], replicates=60, seed=1)
    pd.testing.assert_frame_equal(again.cells, plain.cells)
    assert sorted(again.fits) == sorted(plain.fits) and plain.monte_carlo.empty
    mc = again.monte_carlo.set_index("baseline")
    both = pd.concat([plain.paired(), other.paired()]).groupby("baseline")["log_score_gain"]
    assert set(mc.index) == {"event-history logit", "uniform", "constant hazard"} and (mc["runs"] == 2).all()
    np.testing.assert_allclose(mc["gain_mean"], both.mean().loc[mc.index], rtol=0, atol=1e-12)
    np.testing.assert_allclose(mc["monte_carlo_sd"], both.std().loc[mc.index], rtol=0, atol=1e-12)
    assert (mc["model"] == "diffusion_only").all() and again.provenance["backtest"]["monte_carlo_seeds"] == [1]
    assert "Monte Carlo noise: each gain over the forecasts' seeds" in again.summary()
    for seeds in ([0], [1, 1]):
        with pytest.raises(ConfigError, match="give each once, and not the backtest's own seed 0"):
            backtest(sc, [2008], replicates=60, monte_carlo_seeds=seeds)
    out = tmp_path / "bt"
    args = ["backtest", "diffusion_only", "--origins", "2011", "-r", "40", "--monte-carlo-seeds", "3,4"]
    assert main([*args, "--no-figures", "--out", str(out)]) == 0
    table = pd.read_csv(out / "monte_carlo.csv")
    assert (table["runs"] == 3).all() and (table["origin"] == 2011).all()
    capsys.readouterr()
    with pytest.raises(SystemExit) as refused:
        main([*args[:-1], "3,x", "--out", str(tmp_path / "no")])
    assert refused.value.code == 2 and "non-negative integer seeds" in capsys.readouterr().err


def test_posterior_backtests_keep_the_fits_and_say_how_well_the_likelihood_was_covered(drawn_backtest):
    """``parameters="posterior"``: the same fits as the default, each forecast drawn from its fit's likelihood;
    the provenance has each forecast's effective sample size and the summary the smallest."""
    posterior = backtest_with_parameters(drawn_backtest, "posterior")
    coverage = posterior.provenance["backtest"]["posterior_draws"]
    assert [(c["origin"], c["model"]) for c in coverage] == [(2008, "diffusion_only"), (2008, "event-history logit")]
    worst = min(c["effective_sample_size"] for c in coverage)
    assert f"the smallest effective sample size of the importance weights {worst:,.0f}" in posterior.summary()
    assert "Posterior forecasts" not in drawn_backtest.summary()
    assert not drawn_backtest.provenance["backtest"]["posterior_draws"]


def test_mcmc_backtests_keep_the_fits_and_say_how_the_chains_converged(drawn_backtest, monkeypatch):
    """``parameters="mcmc"`` (short chains here): the same fits as the default, each forecast drawn by Markov
    chains from its fit's likelihood; the provenance has each forecast's R-hat and effective sample size, the
    summary the worst of each."""
    import harmsim.calibrate.posterior as posterior

    monkeypatch.setattr(posterior, "CHAINS", 8)
    monkeypatch.setattr(posterior, "WARMUP", 100)
    monkeypatch.setattr(posterior, "MAX_STEPS", posterior.STEP_BLOCK)
    chains = backtest_with_parameters(drawn_backtest, "mcmc")
    coverage = chains.provenance["backtest"]["posterior_draws"]
    assert [(c["origin"], c["model"], c["chains"]) for c in coverage] == [
        (2008, "diffusion_only", 8),
        (2008, "event-history logit", 8),
    ]
    worst = max(c["split_rhat"] for c in coverage)
    assert "(Markov chain Monte Carlo, a flat prior" in chains.summary()
    assert f"the largest split R-hat {worst:.4f}" in chains.summary()


def test_a_plug_in_counterfactual_runs_both_arms_at_the_estimate():
    """``parameters="estimate"``: every replicate of both arms at the fit's point estimates (recorded in the
    provenance), the arms still paired replicate by replicate, so a change that changes nothing differs by 0."""
    sc = harmsim.load_scenario("diffusion_only")
    fit = calibrate(sc)
    cf = counterfactual(sc, fit, Change(), replicates=20, seed=3, parameters="estimate")
    assert (cf.differences[["mean", "q05", "q95"]] == 0).all().all()
    assert cf.provenance["counterfactual"]["parameters"] == "estimate"
    assert "(plug-in: the fit's uncertainty left out)" in cf.provenance["counterfactual"]["choices"][0]
    drawn = counterfactual(sc, fit, Change(), replicates=20, seed=3)
    assert not np.array_equal(cf.adopt_base, drawn.adopt_base)
    with pytest.raises(ConfigError, match="parameters must be one of drawn, estimate"):
        counterfactual(sc, fit, Change(), replicates=2, parameters="point")


@pytest.fixture(scope="module")
def drawn_backtest():
    """diffusion_only backtested from 2008 with the default draws: what the other choices of parameters are
    compared with."""
    return backtest(harmsim.load_scenario("diffusion_only"), [2008], replicates=60)


def backtest_with_parameters(drawn, parameters: str):
    """The backtest of :func:`drawn_backtest` with ``parameters``, checked to have the same fits as the default
    and, from them, other forecasts of the scenario and the logit alike (uniform's and the constant hazard's
    scores, which draw nothing, the same)."""
    other = backtest(harmsim.load_scenario("diffusion_only"), [2008], replicates=60, parameters=parameters)
    for key, fit in drawn.fits.items():
        pd.testing.assert_frame_equal(other.fits[key].estimates, fit.estimates)
    a, b = (bt.scores.set_index("model")["log_score"] for bt in (drawn, other))
    assert (a[["uniform", "constant hazard"]] == b[["uniform", "constant hazard"]]).all()
    assert (a[["diffusion_only", "event-history logit"]] != b[["diffusion_only", "event-history logit"]]).all()
    assert other.provenance["backtest"]["parameters"] == parameters
    return other


def test_plug_in_backtests_forecast_the_scenario_and_the_logit_at_their_estimates(drawn_backtest, tmp_path, capsys):
    """``parameters="estimate"``: the same fits as the default, each forecast at its point estimate (the
    scenario's and the logit's scores change, uniform's and the constant hazard's do not), said in the summary
    and the provenance; the command takes the option, and refuses another value (and a counterfactual without a
    fit to take the estimates from)."""
    sc, drawn = harmsim.load_scenario("diffusion_only"), drawn_backtest
    plug_in = backtest_with_parameters(drawn, "estimate")
    assert "Plug-in forecasts" in plug_in.summary()
    assert "Plug-in forecasts" not in drawn.summary()
    with pytest.raises(ConfigError, match="parameters 'point': choices are drawn, estimate, posterior"):
        backtest(sc, [2008], replicates=10, parameters="point")
    out = tmp_path / "bt"
    args = ["backtest", "diffusion_only", "--origins", "2011", "-r", "30", "--no-figures", "--out", str(out)]
    assert main([*args, "--parameters", "estimate"]) == 0
    assert "Plug-in forecasts" in capsys.readouterr().out
    with pytest.raises(SystemExit) as refused:
        main([*args, "--parameters", "point", "--force"])
    assert refused.value.code == 2 and "invalid choice: 'point'" in capsys.readouterr().err
    change = tmp_path / "nothing.toml"
    change.write_text('name = "nothing"\n', encoding="utf-8")
    cf = [
        "counterfactual",
        "baseline",
        "--change",
        str(change),
        "--parameters",
        "estimate",
        "--out",
        str(tmp_path / "cf"),
    ]
    assert main(cf) == 2
    assert "--parameters estimate: the point estimates are a fit's; give --from-fit DIR" in capsys.readouterr().err


@given(st.lists(st.integers(0, 10**9), min_size=1, max_size=6))
def test_the_seeds_option_reads_what_it_is_given_and_refuses_the_rest(seeds):
    """Comma-separated non-negative integers round-trip; a negative one, an empty item or a word is refused."""
    import argparse

    from harmsim.cli._common import _seeds

    assert _seeds(",".join(map(str, seeds))) == seeds
    for bad in (",".join(map(str, [*seeds, -1])), ",".join(map(str, seeds)) + ",", "x," + str(seeds[0])):
        with pytest.raises(argparse.ArgumentTypeError, match="non-negative integer seeds"):
            _seeds(bad)

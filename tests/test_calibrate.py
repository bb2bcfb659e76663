"""Calibration: the likelihood by hand, fits that save and load, bad inputs, recovery."""

from __future__ import annotations

import dataclasses
import re
import sys

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

import harmsim
import harmsim.model.params
from harmsim.calibrate import calibrate, history, load_fit, loglik, loglik_cells
from harmsim.cli import main
from harmsim.data.record import record_from_tables
from harmsim.errors import CalibrationError
from harmsim.model.scenario import scenario_from_dict


def tiny_record(adoptions):
    """Three states (A, B joins in 2001, C), two instruments (x; y requires x), 2000-2002."""
    states = pd.DataFrame({"state": ["A", "B", "C"], "joined": [1990, 2001, 1990], "subregion": ["n", "n", "s"]})
    inst = pd.DataFrame({"instrument": ["x", "y"], "opens": ["", ""], "requires": ["", "x"]})
    ad = pd.DataFrame(adoptions, columns=["state", "instrument", "year", "year_min", "year_max"])
    return record_from_tables("tiny", 2000, 2002, {"states": states, "instruments": inst, "adoptions": ad})


def scenario(rec, mechs, intercept=-1.0, offsets=None):
    return scenario_from_dict(
        {"hazard": {"intercept": intercept, "offsets": offsets or {}}, "mechanisms": mechs}, where="t", record=rec
    )


def lh(e):
    return np.log(expit(e))


def ls(e):
    return np.log(1 - expit(e))


def test_likelihood_by_hand_intercepts_and_prerequisites():
    rec = tiny_record(
        [
            ("A", "x", 2001, 2001, 2001),
            ("A", "y", 2001, 2001, 2001),  # with its prerequisite, same year: bundled
            ("B", "x", "", 2001, 2002),  # interval-censored
            ("C", "y", "", "", ""),
            ("C", "x", 2000, 2000, 2000),
        ]
    )
    a, oy, bundle = -1.0, 0.5, 2.0
    sc = scenario(rec, {"prerequisites": {"bundle": bundle}}, intercept=a, offsets={"y": oy})
    ey = a + oy
    expected = (
        # A: x survives 2000, adopted 2001; y needs x: not at risk 2000, adopted 2001 with the bundle term
        ls(a)
        + lh(a)
        + lh(ey + bundle)
        # B joins 2001: x adopted in 2001 or 2002, summed over both: in 2001, y is at risk in 2001 with
        # the bundle term and in 2002 without it; in 2002, y is at risk only in 2002, with the bundle.
        + np.log(
            expit(a) * (1 - expit(ey + bundle)) * (1 - expit(ey)) + (1 - expit(a)) * expit(a) * (1 - expit(ey + bundle))
        )
        # C: x in 2000; y at risk 2000 (bundle), 2001, 2002, never adopted
        + lh(a)
        + ls(ey + bundle)
        + ls(ey)
        + ls(ey)
    )
    assert loglik(sc, history(sc, rec)) == pytest.approx(expected, rel=1e-12)


def test_likelihood_by_hand_with_diffusion():
    rec = tiny_record([("A", "x", 2000, 2000, 2000), ("C", "x", 2002, 2002, 2002)])
    a, s = -2.0, 1.5
    sc = scenario(
        rec,
        {"diffusion": {"strength": s, "weight_all": 1.0, "weight_subregion": 0.0, "weight_border": 0.0}},
        intercept=a,
    )
    cells, n_obs = loglik_cells(sc, history(sc, rec))
    # C: 2000 no peer adopted; 2001 peers A (adopted) and B (member from 2001, not adopted): share 1/2;
    # 2002: same peers, share 1/2, adopts.
    c_x = ls(a) + ls(a + s * 0.5) + lh(a + s * 0.5)
    assert cells[2, 0] == pytest.approx(c_x, rel=1e-12)
    # B: members 2001-2002, peers A and C: 2001 share 1/2 (A), 2002 share 1/2 (C adopts only in 2002)
    assert cells[1, 0] == pytest.approx(ls(a + s * 0.5) + ls(a + s * 0.5), rel=1e-12)
    # at-risk years: x: A 1, B 2, C 3; y (prerequisites off, so not gated, never adopted): A 3, B 2, C 3
    assert n_obs == (1 + 2 + 3) + (3 + 2 + 3)


def test_a_parameter_block_gives_each_sets_likelihood_by_hand():
    """loglik_many over a block of parameter sets against the likelihood written out by hand for each set (not
    against loglik, which calls loglik_many): intercept and diffusion strength varied, some at 0."""
    from harmsim.calibrate.likelihood import loglik_many

    rec = tiny_record([("A", "x", 2000, 2000, 2000), ("C", "x", 2002, 2002, 2002)])
    mech = {"diffusion": {"strength": 1.0, "weight_all": 1.0, "weight_subregion": 0.0, "weight_border": 0.0}}
    base = scenario(rec, mech, intercept=-2.0)
    sets = [(-2.0, 1.5), (-1.0, 0.0), (-3.0, 2.5), (-2.0, -1.0), (0.5, 1.5)]
    scs = [base.with_params({"hazard.intercept": a, "diffusion.strength": s}) for a, s in sets]

    def by_hand(a, s):
        # x: A adopts in 2000 (no peer before); B (member from 2001) sees 1/2 twice; C sees 0, 1/2, adopts at 1/2
        # y: nobody adopts, no peer share: A 3, B 2, C 3 years at risk
        return lh(a) + 2 * ls(a + s / 2) + ls(a) + ls(a + s / 2) + lh(a + s / 2) + 8 * ls(a)

    np.testing.assert_allclose(loglik_many(scs, history(base, rec)), [by_hand(a, s) for a, s in sets], rtol=1e-12)


def test_impossible_record_is_refused():
    rec = tiny_record([("A", "y", 2000, 2000, 2000)])  # y without x
    sc = scenario(rec, {"prerequisites": {"bundle": 0.0}})
    with pytest.raises(CalibrationError, match="A adopting y in 2000"):
        loglik(sc, history(sc, rec))


def test_mle_on_the_asean_record_saves_loads_and_runs(tmp_path):
    sc = harmsim.load_scenario("diffusion_only")
    fit = calibrate(sc)
    assert np.isfinite(fit.loglik) and fit.aic == pytest.approx(2 * fit.n_params - 2 * fit.loglik)
    est = fit.estimates.set_index("parameter")
    assert est.loc["diffusion.strength", "status"] == "bounded" and est.loc["diffusion.strength", "se"] > 0
    # the likelihood at the estimates is the reported maximum, and nearby points are lower
    best = fit.apply(sc)
    h = history(best, sc.record)
    assert loglik(best, h) == pytest.approx(fit.loglik, abs=1e-6)
    for d in (-0.2, 0.2):
        moved = best.with_params({"diffusion.strength": fit.parameters()["diffusion.strength"] + d})
        assert loglik(moved, h) < fit.loglik
    fit.save(tmp_path / "fit")
    back = load_fit(tmp_path / "fit")
    # to the bit, on every pandas the package allows (before 3.0 its default float parser could miss by an ulp)
    pd.testing.assert_frame_equal(back.estimates, fit.estimates, check_exact=True)
    assert back.loglik == fit.loglik and back.n_obs == fit.n_obs
    np.testing.assert_array_equal(back.covariance.to_numpy(), fit.covariance.to_numpy())
    draws = back.draw(200, seed=1)
    pd.testing.assert_frame_equal(draws, fit.draw(200, seed=1), check_exact=True)  # a reloaded fit draws the same
    assert list(draws.columns) == list(fit.estimates["parameter"])
    assert (draws["diffusion.strength"].std() > 0) and draws.equals(back.draw(200, seed=1))
    assert "Calibration log" in (tmp_path / "fit" / "trace.md").read_text()


def test_binding_effect_outside_the_window_is_held_fixed():
    sc = harmsim.load_scenario("binding_only")
    fit = calibrate(sc, free=["hazard.intercept", "agreements.binding"])
    assert "agreements.binding" in fit.fixed and list(fit.estimates["parameter"]) == ["hazard.intercept"]


@pytest.mark.parametrize(
    ("free", "pattern"),
    [
        (["diffusion.strenght"], "unknown parameter 'diffusion.strenght'"),
        ([], "nothing to estimate"),
        (["agreements.arrival"], "'agreements.arrival' is not real-valued"),
    ],
)
def test_bad_free_parameters(free, pattern):
    sc = harmsim.load_scenario("baseline")
    with pytest.raises(CalibrationError) as info:
        calibrate(sc, free=free)
    assert pattern in str(info.value)


def test_fit_of_another_scenario_is_refused(tmp_path, capsys):
    assert main(["calibrate", "diffusion_only", "--out", str(tmp_path / "f")]) == 0
    code = main(["run", "baseline", "--from-fit", str(tmp_path / "f"), "-r", "3", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and "this fit is of scenario 'diffusion_only'" in err and err.count("\n") == 1
    assert (
        main(
            [
                "run",
                "diffusion_only",
                "--from-fit",
                str(tmp_path / "f"),
                "-r",
                "20",
                "--no-figures",
                "--out",
                str(tmp_path / "r"),
            ]
        )
        == 0
    )
    a = pd.read_csv(tmp_path / "r" / "adoptions.csv")
    assert a["replicate"].nunique() == 20


def test_bad_fit_folder(tmp_path):
    with pytest.raises(CalibrationError, match=r"no fit\.json"):
        load_fit(tmp_path)
    (tmp_path / "fit.json").write_text('{"format": "something else"}')
    with pytest.raises(CalibrationError, match="not a harmsim fit"):
        load_fit(tmp_path)


@pytest.mark.statistical
def test_parameter_recovery_on_synthetic_records():
    """Records simulated from known parameters are fitted back; 95% intervals cover the truth."""
    from harmsim.model.synthetic import synthetic_region

    region = synthetic_region(40, 3, seed=5)
    truth = {"hazard.intercept": -3.0, "diffusion.strength": 2.0, "prerequisites.bundle": 1.5}
    base = scenario_from_dict(
        {
            "hazard": {"intercept": -3.0},
            "mechanisms": {"diffusion": {"strength": 2.0}, "prerequisites": {"bundle": 1.5}},
        },
        where="truth",
        record=region,
    )
    covered, estimates = [], []
    for seed in harmsim.spawn_seeds(77, 12):
        sim = harmsim.run(base, seed=seed).adoptions
        rec = record_with_adoptions(region, sim)
        fit = calibrate(
            scenario_from_dict(
                {
                    "hazard": {"intercept": -2.0},
                    "mechanisms": {"diffusion": {"strength": 0.5}, "prerequisites": {"bundle": 0.0}},
                },
                where="fit",
                record=rec,
            ),
            free=list(truth),
        )
        e = fit.estimates.set_index("parameter")
        covered.append([(e.loc[p, "lower"] <= v <= e.loc[p, "upper"]) for p, v in truth.items()])
        estimates.append([e.loc[p, "estimate"] for p in truth])
    coverage = np.mean(covered)
    bias = np.mean(estimates, axis=0) - np.array(list(truth.values()))
    assert coverage >= 0.8, f"95% intervals covered the truth in {coverage:.0%} of cases"
    assert np.all(np.abs(bias) < np.array([0.5, 1.0, 1.0])), bias


def record_with_adoptions(region, simulated):
    """A copy of ``region`` whose adoptions are a simulated history."""
    tables = {name: t for name, t in region.tables().items()}
    ad = simulated.copy()
    ad["state"] = ad["state"].astype(str)
    ad["instrument"] = ad["instrument"].astype(str)
    ad["year_min"] = ad["year"]
    ad["year_max"] = ad["year"]
    tables["adoptions"] = ad
    tables["instruments"] = tables["instruments"][["instrument", "opens", "requires"]]
    tables["states"] = tables["states"][["state", "joined", "subregion"]]
    keep = {k: v for k, v in tables.items() if k in ("states", "instruments", "adoptions", "borders")}
    return record_from_tables(region.name, region.start, region.end, keep)


FREE = ["hazard.intercept", "diffusion.strength", "prerequisites.bundle"]


@pytest.mark.statistical
@pytest.mark.parametrize(
    ("name", "free"),
    [
        ("diffusion_only", FREE),
        ("baseline", ["hazard.intercept", "agreements.nonbinding", "push_pull.migration"]),
    ],
)
def test_abc_and_mle_agree_within_their_uncertainty(name, free):
    sc = harmsim.load_scenario(name)
    mle = calibrate(sc, free=free).estimates.set_index("parameter")
    abc = calibrate(sc, "abc", free=free, population=200, budget=6000, seed=3).estimates.set_index("parameter")
    for p in free:
        gap = abs(mle.loc[p, "estimate"] - abc.loc[p, "estimate"])
        assert gap < 2 * np.hypot(mle.loc[p, "se"], abc.loc[p, "se"]), p
    # ABC summarizes the record, so it cannot be more certain than the exact likelihood
    assert (abc["se"] >= 0.5 * mle["se"]).all()
    # ... but it must have learned: an ABC that never updates returns its prior (the width ratio would be 1)
    assert (abc["upper"] - abc["lower"] < 0.8 * (abc["bound_hi"] - abc["bound_lo"])).any()


def test_abc_stops_when_no_proposal_falls_inside_the_priors(monkeypatch):
    """A proposal kernel far wider than the priors used to loop forever; the generation now stops and says why."""
    sc = harmsim.load_scenario("diffusion_only")
    priors = [
        harmsim.model.params.RealRange("hazard.intercept", -5, 0),
        harmsim.model.params.RealRange("diffusion.strength", 0, 3),
    ]
    monkeypatch.setattr(np.linalg, "cholesky", lambda a: 1e6 * np.eye(len(a)))
    with pytest.warns(harmsim.HarmsimWarning, match=r"stopped early \(every proposal fell outside the priors\)"):
        fit = calibrate(sc, "abc", priors=priors, population=20, budget=200, generations=3, seed=1)
    gens = fit.log["diagnostics"]["generations"]
    assert gens[-1]["stopped"] == "every proposal fell outside the priors"


def test_abc_is_reproducible_on_any_worker_count(tmp_path):
    sc = harmsim.load_scenario("diffusion_only")
    priors = [
        harmsim.model.params.RealRange("hazard.intercept", -5, 0),
        harmsim.model.params.RealRange("diffusion.strength", -2, 5),
    ]
    kw = dict(priors=priors, population=50, budget=400, generations=3, seed=11)
    one = calibrate(sc, "abc", **kw)
    two = calibrate(sc, "abc", workers=2, batch_size=40, **kw)
    pd.testing.assert_frame_equal(one.estimates, two.estimates)
    pd.testing.assert_frame_equal(one.samples, two.samples)
    gens = pd.DataFrame(one.log["diagnostics"]["generations"])
    assert gens["generation"].iloc[0] == 0 and (np.diff(gens["epsilon"].iloc[1:].to_numpy()) <= 0).all()
    one.save(tmp_path / "abc")
    back = load_fit(tmp_path / "abc")
    pd.testing.assert_frame_equal(back.samples, one.samples)
    assert back.draw(10, seed=0).shape == (10, 2)


@pytest.mark.parametrize(
    ("priors", "pattern"),
    [
        ([harmsim.model.params.RealRange("diffusion.strenght", 0, 1)], "unknown parameter"),
        ([harmsim.model.params.RealRange("diffusion.strength", 1, 1)], "lo < hi"),
        ([], "at least one prior"),
    ],
)
def test_bad_priors(priors, pattern):
    with pytest.raises((CalibrationError, harmsim.ConfigError), match=pattern):
        calibrate(harmsim.load_scenario("diffusion_only"), "abc", priors=priors, population=20, budget=100)


def test_bad_prior_on_the_command_line(capsys):
    code = main(["calibrate", "diffusion_only", "--method", "abc", "--prior", "diffusion.strength=3:1"])
    err = capsys.readouterr().err
    assert code == 2 and "greater than HI" in err and err.count("\n") == 1


def test_the_notes_of_a_comparison_on_the_world_panel_leave_out_one_regions_arrival_rule():
    """`harmsim compare-mechanisms world_baseline` failed after its fits: the note on what the agreements'
    dates say of endogenous arrival built a scenario that the world record refuses (arrival is one region's
    rule). On the world no note is owed: binding agreements act inside its window."""
    from harmsim.analysis.comparison import _untestable

    world = harmsim.load_scenario("world_baseline")
    assert _untestable([world], world.record) == []
    asean = harmsim.load_scenario("baseline")
    notes = " ".join(_untestable([asean], asean.record))
    assert "Not testable on this record" in notes and "endogenous" in notes


@pytest.fixture(scope="module")
def comparison():
    """One comparison serves several tests: four scenarios (two identical on the record), placebo schedules."""
    from harmsim.analysis.comparison import compare_mechanisms

    scs = {n: harmsim.load_scenario(n) for n in ("baseline", "binding_only", "no_asean", "diffusion_only")}
    comp = compare_mechanisms(list(scs.values()), replicates=20, seed=1, cross_validate=False, placebos=2, workers=2)
    return comp, scs


def test_compare_mechanisms_table_and_verdict(tmp_path, comparison):
    from harmsim.analysis.report import write_comparison

    comp, scs = comparison
    t = comp.table.set_index("model")
    assert set(t.index) == {"baseline", "binding_only = no_asean", "diffusion_only", "bass (per instrument)"}
    assert t["d_aic"].min() == 0 and t["aic_weight"].sum() == pytest.approx(1.0)
    # binding_only fixes the non-binding effect at 0: one parameter fewer, likelihood no higher
    assert t.loc["binding_only = no_asean", "k"] == t.loc["baseline", "k"] - 1
    assert t.loc["binding_only = no_asean", "loglik"] <= t.loc["baseline", "loglik"] + 1e-6
    assert (t["coverage90"] >= t["coverage50"]).all() and (t["coverage50"] > 0.3).all()
    assert t.loc["baseline", "coverage90"] > 0.8  # the fitted model's 90% intervals hold most observed years
    tests = comp.tests.set_index("test")
    assert tests.loc["baseline vs binding_only = no_asean", "df"] == 1
    assert f"'{t['d_aic'].idxmin()}' has the lowest AIC" in comp.verdict
    # the Bass row is the Bass model with its imitation terms (on the risk sets of the first scenario with
    # prerequisites), which carry its fit
    from harmsim.analysis.comparison import fit_bass

    bass_sc = next(s for s in scs.values() if s.dynamics.mechanism("prerequisites") is not None)
    b = fit_bass(bass_sc, bass_sc.record)
    assert t.loc["bass (per instrument)", "loglik"] == pytest.approx(b["loglik"], abs=1e-9)
    _imitation_carries_the_fit(bass_sc, b)
    paths = write_comparison(comp, scs, tmp_path, replicates=20, seed=1)
    names_written = {p.name for p in paths}
    assert {"comparison.csv", "verdict.txt", "baseline_incremental.png", "baseline_cumulative.pdf"} <= names_written
    assert load_fit(tmp_path / "fits" / "diffusion_only").scenario == "diffusion_only"


def test_leave_one_out_scores_are_predictive():
    """A held-out state's predictive log-likelihood is below its in-sample contribution."""
    from harmsim.analysis.comparison import _loo_model

    sc = harmsim.load_scenario("diffusion_only")
    fit = calibrate(sc)
    hist = history(sc, sc.record)
    cells, _ = loglik_cells(fit.apply(sc), hist)
    held = np.zeros(hist.kind.shape, dtype=bool)
    held[0] = True
    assert _loo_model(sc, sc.record, hist, fit, [held]) <= cells[0].sum() + 1e-9


def test_bass_fit():
    from harmsim.analysis.comparison import BassLink, fit_bass

    sc = harmsim.load_scenario("diffusion_only")
    b = fit_bass(sc, sc.record)
    K = len(sc.world.instruments)
    link = BassLink(b["params"], sc.world)
    assert b["k"] == 10 and b["loglik"] == pytest.approx(loglik(sc, b["hist"], link=link), rel=1e-9)
    assert (b["params"][:K] > 0).all() and (b["params"][K:] >= 0).all()
    _imitation_carries_the_fit(sc, b)


def _imitation_carries_the_fit(sc, b):
    """The fitted imitation terms move the likelihood: with every q set to 0 the record is far less likely (on
    ASEAN about 21 log-likelihood units). Catches a Bass hazard that drops q x share (scripts/mutations.py)."""
    from harmsim.analysis.comparison import BassLink

    K = len(sc.world.instruments)
    without = b["params"].copy()
    without[K:] = 0.0
    assert (b["params"][K:] > 0.05).sum() >= 3
    assert loglik(sc, b["hist"], link=BassLink(without, sc.world)) < b["loglik"] - 5


def test_bass_likelihood_by_hand_counts_the_imitation_term():
    """The Bass hazard h = p + q * (share of the other members that adopted before the year), by hand on three
    states: the innovation term p and the imitation term q both enter. Before, removing ``q * share`` from
    ``BassLink`` left every Bass test passing."""
    from harmsim.analysis.comparison import BassLink

    states = pd.DataFrame({"state": ["A", "B", "C"], "joined": [1990, 1990, 1990]})
    inst = pd.DataFrame({"instrument": ["x"]})
    ad = pd.DataFrame({"state": ["A", "B"], "instrument": ["x", "x"], "year": [2001, 2003]})
    rec = record_from_tables("bass", 2000, 2004, {"states": states, "instruments": inst, "adoptions": ad})
    sc = scenario(rec, {})
    p, q = 0.1, 0.6
    link = BassLink(np.array([p, q]), sc.world)
    # 2000: nobody before (all survive p); 2001: A adopts at p, B and C survive p; 2002: A before, B and C see 1/2;
    # 2003: B adopts seeing 1/2 (A), C survives seeing 1/2 (B adopts only now); 2004: C survives seeing 2/2
    expected = (
        3 * np.log(1 - p)
        + np.log(p) + 2 * np.log(1 - p)
        + 2 * np.log(1 - p - q / 2)
        + np.log(p + q / 2) + np.log(1 - p - q / 2)
        + np.log(1 - p - q)
    )  # fmt: skip
    assert loglik(sc, history(sc, rec), link=link) == pytest.approx(expected, rel=1e-12)
    no_imitation = BassLink(np.array([p, 0.0]), sc.world)
    # without imitation every year's hazard is p: A 1 survival and an adoption, B 3 and one, C 5 survivals
    assert loglik(sc, history(sc, rec), link=no_imitation) == pytest.approx(9 * np.log(1 - p) + 2 * np.log(p))


def test_end_of_window_status_enters_the_likelihood():
    """A modelled instrument observed only as end-of-window status (like the study's Table 2)."""
    states = pd.DataFrame({"state": ["A", "B", "C"], "joined": [1990, 1990, 1990]})
    inst = pd.DataFrame({"instrument": ["unit"]})
    ad = pd.DataFrame({"state": [], "instrument": [], "year": []})
    status = pd.DataFrame({"state": ["A", "B", "C"], "instrument": ["unit"] * 3, "value": ["yes", "no", "unknown"]})
    rec = record_from_tables(
        "status", 2000, 2002, {"states": states, "instruments": inst, "adoptions": ad, "status": status}
    )
    a = rec.adoptions.set_index("state")
    assert (a.loc["A", "year_min"], a.loc["A", "year_max"]) == (2000, 2002) and a["observed"].tolist() == [
        True,
        True,
        False,
    ]
    sc = scenario(rec, {}, intercept=-1.0)
    # A: adopted by 2002 (year unknown); B: never; C: not observed, no contribution
    expected = np.log(1 - (1 - expit(-1.0)) ** 3) + 3 * ls(-1.0)
    assert loglik(sc, history(sc, rec)) == pytest.approx(expected, rel=1e-12)
    # Any simulated outcome of an unobserved cell is no error.
    fit = harmsim.compare(harmsim.run_ensemble(sc, replicates=30, seed=0), rec)
    assert fit.query("metric == 'year_mae' and item == 'C'")["mean"].iloc[0] == 0


def test_status_contradicting_a_dated_adoption_is_refused():
    states = pd.DataFrame({"state": ["A"], "joined": [1990]})
    inst = pd.DataFrame({"instrument": ["unit"]})
    ad = pd.DataFrame({"state": ["A"], "instrument": ["unit"], "year": [2001]})
    status = pd.DataFrame({"state": ["A"], "instrument": ["unit"], "value": ["no"]})
    with pytest.raises(harmsim.RecordError, match="contradicts the adoptions table"):
        record_from_tables(
            "bad", 2000, 2002, {"states": states, "instruments": inst, "adoptions": ad, "status": status}
        )


def test_table2_status_enters_when_modelled(tmp_path):
    """Adding a Table 2 item to the record's instruments makes its status data part of the likelihood."""
    import shutil

    folder = tmp_path / "asean_su"
    shutil.copytree(harmsim.observed_record().path, folder)
    with open(folder / "instruments.csv", "a") as f:
        f.write('specialist_unit,Specialist anti-trafficking police unit,national_institution,,,,,"study, Table 2",\n')
    (folder / "record.toml").write_text(
        (folder / "record.toml").read_text().replace('name = "asean"', 'name = "asean_su"')
    )
    rec = harmsim.load_record(folder)
    su = rec.adoptions[rec.adoptions.instrument == "specialist_unit"].set_index("state")
    assert su.loc["THA", "year_max"] == 2015 and pd.isna(su.loc["MYS", "year_max"])  # Table 2: yes / no
    sc = scenario_from_dict(
        {"record": str(folder), "hazard": {"intercept": -3.0}, "mechanisms": {"diffusion": {"strength": 1.0}}},
        where="t",
    )
    hist = history(sc, rec)
    cells, _ = loglik_cells(sc, hist)
    k = sc.world.instruments.index("specialist_unit")
    members = sc.world.member.any(axis=0)  # Timor-Leste joins after the window: no terms
    assert np.isfinite(cells[:, k]).all() and (cells[members, k] < 0).all() and (cells[~members, k] == 0).all()
    fit = calibrate(sc, free=["hazard.intercept", "hazard.offsets.specialist_unit", "diffusion.strength"])
    assert np.isfinite(fit.loglik)


def test_profile_likelihood_intervals():
    sc = harmsim.load_scenario("diffusion_only")
    free = ["hazard.intercept", "diffusion.strength", "hazard.offsets.hsu_process"]
    fit = calibrate(sc, free=free, profiles=True)
    e = fit.estimates.set_index("parameter")
    d = e.loc["diffusion.strength"]
    assert d["profile_lower"] < d["estimate"] < d["profile_upper"] and d["status"] == "identified"
    # for a well-identified parameter the profile and Wald intervals nearly agree
    assert abs((d["profile_upper"] - d["profile_lower"]) - (d["upper"] - d["lower"])) < 0.25 * (d["upper"] - d["lower"])
    # the HSU offset is bounded only from below by the record
    h = e.loc["hazard.offsets.hsu_process"]
    assert np.isfinite(h["profile_lower"]) and not np.isfinite(h["profile_upper"]) and h["status"] != "identified"
    prof = pd.DataFrame(fit.log["profiles"]["diffusion.strength"])
    assert prof["loglik"].max() <= fit.loglik + 1e-6


def test_verdicts_say_signs_nulls_bounds_and_flat_directions():
    """A fit never calls a Wald-bounded parameter identified, and says in words what goes against the theory."""
    from harmsim.calibrate.fit import Fit

    est = pd.DataFrame(
        {
            "parameter": ["diffusion.strength", "agreements.nonbinding", "hazard.offsets.hsu_process", "period.effect"],
            "estimate": [-2.04, 0.71, 20.0, -0.5],
            "se": [1.71, 0.27, np.nan, 0.1],
            "lower": [-5.40, 0.19, np.nan, -0.7],
            "upper": [1.32, 1.24, np.nan, -0.3],
            "bound_lo": [-20.0, -10.0, -20.0, -10.0],
            "bound_hi": [20.0, 10.0, 20.0, 10.0],
            "status": ["bounded", "bounded", "at bound", "bounded"],
        }
    )
    log = {"diagnostics": {"converged": True, "flat directions": [{"eigenvalue": 1e-4, "parameters": ["a.x", "b.y"]}]}}
    words = "\n".join(Fit("s", "d", "r", "mle", est, -90.0, 300, log=log).verdicts())
    assert "Identified" not in words and "Wald 95% interval inside the allowed range" in words
    assert "diffusion.strength is estimated negative (-2.04), against the direction the theory predicts" in words
    assert "its 95% interval (-5.40 to 1.32) includes 0" in words
    assert "agreements.nonbinding" not in words.split("Wald")[0] and "nonbinding is estimated" not in words
    assert "period.effect is estimated" not in words  # no direction declared: nothing to say
    assert "hazard.offsets.hsu_process sits at a bound" in words
    assert "nearly flat in one direction (Hessian eigenvalue 1.0e-04), along which a.x, b.y trade off" in words
    assert "convergence is not identification" in words


def test_models_identical_on_the_record_are_reported_once(comparison):
    """binding_only and no_asean differ only by a binding effect that acts after 2015: one model, said so."""
    comp, _ = comparison
    models = list(comp.table["model"])
    assert "binding_only = no_asean" in models and "binding_only" not in models and "no_asean" not in models
    assert comp.table["aic_weight"].sum() == pytest.approx(1.0)
    assert len(comp.tests) == 1 and "equally: do regional agreements matter at all?" in comp.tests["question"].iloc[0]
    assert "binding_only and no_asean are one model" in comp.verdict
    assert "Not testable on this record: whether binding agreements act differently" in comp.verdict
    assert "Endogenous arrival rests on 2 recorded dates (2004, 2015)" in comp.verdict
    # a fit that leaves a parameter unbounded is said, as a backtest says it (no HSU is dated: diffusion_only's
    # offset runs to its bound; where the baseline's optimizer stops short of it, in a direction the likelihood
    # hardly rises along, depends on the platform's floating point, so every fit's caveat is checked, whatever it is)
    assert "The fit of 'diffusion_only' leaves hazard.offsets.hsu_process = 20 (at bound)" in comp.verdict
    assert "its k counts it among its free parameters." in comp.verdict
    for name, fit in comp.fits.items():
        caveat = fit.caveat(f"The fit of '{name}' leaves")
        assert caveat is None or caveat in comp.verdict


@pytest.mark.slow
def test_compare_mechanisms_on_two_workers_gives_the_same_result():
    from harmsim.analysis.comparison import compare_mechanisms

    scs = [harmsim.load_scenario(n) for n in ("diffusion_only", "push_pull_only")]
    one = compare_mechanisms(scs, replicates=10, seed=3, cross_validate=False)
    two = compare_mechanisms(scs, replicates=10, seed=3, cross_validate=False, workers=2)
    pd.testing.assert_frame_equal(one.table, two.table)
    untimed = [re.sub(r"\(\d+ s\)", "", c.verdict) for c in (one, two)]  # the verdict ends with its time
    assert untimed[0] == untimed[1]


@pytest.mark.slow
def test_compare_mechanisms_runs_on_the_world_panel(tmp_path):
    """It failed twice after its fits (two minutes): on the note about endogenous arrival, then on the figure
    of the study's chain of agreements, which the world's organizations do not have."""
    out = tmp_path / "c"
    assert main(["compare-mechanisms", "world_baseline", "--no-cv", "-r", "20", "--out", str(out)]) == 0
    verdict = (out / "verdict.txt").read_text()
    assert "On the record 'world', 'world_baseline' has the lowest AIC" in verdict
    assert "The fit of 'world_baseline' leaves diffusion.strength = " in verdict and "endogenous" not in verdict
    assert (out / "world_baseline_cumulative.png").exists() and not list(out.glob("*incremental*"))


def test_compare_mechanisms_runs_the_placebo_test(comparison):
    comp, _ = comparison
    assert "Placebo test: the recorded agreements' log-likelihood gain" in comp.verdict
    assert comp.tests["placebo_p"].between(1 / 3, 1).all() and len(comp.placebo) == 2


def test_offsets_pooled_by_kind_give_an_instrument_without_events_a_hazard():
    """The Convention (no ratification inside 1997-2015) takes its offset from its kind, with that uncertainty."""
    from harmsim.calibrate.mle import default_free
    from harmsim.calibrate.pooling import kinds, log_prior

    sc = harmsim.load_scenario("diffusion_only")
    assert kinds(sc) == {"un_treaty": ["untoc", "tip_protocol"], "regional_treaty": ["asean_mlat", "actip"]}
    moved = sc.with_params({"hazard.offsets.actip": 0.6 - 2.0})
    assert log_prior(moved) == pytest.approx(log_prior(sc.with_params({"hazard.offsets.actip": 0.6})) - 4 / 4)
    fit = calibrate(sc)
    est = fit.estimates.set_index("parameter")
    actip, mlat = est.loc["hazard.offsets.actip"], est.loc["hazard.offsets.asean_mlat"]
    assert abs(actip["estimate"] - mlat["estimate"]) < 2.0 and 0.5 < actip["se"] < 3.0
    assert fit.log["pooling"]["from kind only"] == ["actip"]
    assert any("hazard.offsets.actip: no adoption in the window" in v for v in fit.verdicts())
    # the uncertainty reaches the draws forecasts use
    draws = fit.draw(2000, seed=1)
    assert draws["hazard.offsets.actip"].std() == pytest.approx(actip["se"], rel=0.1)
    # without pooling the Convention's offset is not estimated at all (nothing in the record bears on it)
    unpooled = sc.with_params({"hazard.pooling": "none"})
    assert "hazard.offsets.actip" not in default_free(unpooled, unpooled.record)
    assert log_prior(unpooled) == 0.0


def test_arrival_thresholds_are_the_values_that_reproduce_the_recorded_dates():
    """Endogenous arrival run over the record's own adoptions arrives at the recorded year exactly for thresholds
    in the reported interval (checked on a grid, with the HSU members' unknown years at either end)."""
    from harmsim.calibrate.arrival import arrival_statement, arrival_thresholds
    from harmsim.data.observations import BEFORE, DATED, INTERVAL, observations
    from harmsim.data.world import NEVER

    sc = harmsim.load_scenario("endogenous")
    table = arrival_thresholds(sc).set_index("agreement")
    assert list(table.index) == ["decl_tip_2004", "actip_2015"]
    w = sc.world
    obs = observations(w, sc.record)
    known = np.isin(obs.kind, (DATED, BEFORE))
    completions = {
        end: np.where(known, obs.year, np.where(obs.kind == INTERVAL, getattr(obs, end), NEVER)).astype(np.int64)
        for end in ("lo", "hi")
    }

    def arrival(threshold, name, years):
        param = table.loc[name, "parameter"]
        dyn = sc.with_params({param: threshold}).dynamics
        st = dyn.initial_state(1)
        st.adopt_year[0] = years
        for ti in range(len(w.years)):
            dyn.begin_year(ti, st)
        return int(st.arrival[0, w.agreements.index(name)])

    for name, r in table.iterrows():
        for th in np.round(np.arange(0.0, 1.0001, 0.025), 3):
            hit = {end: arrival(th, name, y) == r["year"] for end, y in completions.items()}
            if np.isfinite(r["lower"]) and r["lower"] < th <= r["upper"]:
                assert all(hit.values()), (name, th)
            if any(hit.values()):
                assert r["lower_any"] < th <= r["upper_any"] + 1e-12, (name, th)
    words = " ".join(arrival_statement(arrival_thresholds(sc)))
    assert "cannot tell them apart" in words and "the scenario's 0.85 is within those bounds" in words


def test_draw_holds_only_parameters_without_a_standard_error():
    """A NaN row of the covariance holds that parameter at its estimate, the others keep their spread; a
    covariance with a negative variance direction is refused."""
    from dataclasses import replace

    fit = calibrate(harmsim.load_scenario("baseline"), free=["hazard.intercept", "diffusion.strength"])
    names = list(fit.estimates["parameter"])
    cov = fit.covariance.copy()
    cov.loc["hazard.intercept", :] = np.nan
    cov.loc[:, "hazard.intercept"] = np.nan
    draws = replace(fit, covariance=cov).draw(4000, seed=3)
    est = fit.estimates.set_index("parameter")
    assert (draws["hazard.intercept"] == est.loc["hazard.intercept", "estimate"]).all()
    assert draws["diffusion.strength"].std() == pytest.approx(np.sqrt(fit.covariance.iloc[1, 1]), rel=0.1)
    bad = pd.DataFrame([[1.0, 2.0], [2.0, 1.0]], index=names, columns=names)  # eigenvalues 3 and -1
    with pytest.raises(CalibrationError, match="not positive semi-definite"):
        replace(fit, covariance=bad).draw(10, seed=3)


def test_a_fit_folder_keeps_nothing_of_an_earlier_fit_and_refuses_an_edited_scenario(tmp_path):
    """A fit folder is replaced whole, only when asked (no stale samples from an ABC fit); a scenario of the same
    name with a changed fixed parameter or mechanism is refused."""
    from dataclasses import replace

    from harmsim.errors import OutputError

    sc = harmsim.load_scenario("baseline")
    fit = calibrate(sc, free=["hazard.intercept", "diffusion.strength"])
    abc_like = replace(fit, samples=pd.DataFrame({"hazard.intercept": [-9.0], "diffusion.strength": [9.0]}))
    d = tmp_path / "fit"
    abc_like.save(d)
    assert (d / "samples.csv").is_file()
    with pytest.raises(OutputError, match="pass --force"):
        fit.save(d)
    assert (d / "samples.csv").is_file()  # refused: the earlier result is untouched
    fit.save(d, force=True)
    assert not (d / "samples.csv").exists()
    loaded = load_fit(d)
    assert loaded.samples is None and loaded.model_digest == fit.model_digest
    assert loaded.draw(3, seed=1)["diffusion.strength"].nunique() == 3  # from the covariance, not old samples
    # the fitted parameters may differ; anything the fit held given may not
    loaded.apply(sc.with_params({"diffusion.strength": 0.1}))
    with pytest.raises(CalibrationError, match="is not the one this fit is of"):
        loaded.apply(sc.with_params({"push_pull.migration": 0.3}))
    # the horizon is not part of the model: forecasts extend it
    loaded.apply(sc.with_horizon(2020))


@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        (lambda d: _json_edit(d, n_obs="many"), "'n_obs' must be a non-negative integer"),
        (lambda d: _json_edit(d, n_obs=None), "'n_obs' must be a non-negative integer"),
        (lambda d: _json_edit(d, loglik="high"), "'loglik' must be a number"),
        (lambda d: (d / "covariance.csv").write_text(""), "covariance.csv"),
        (lambda d: (d / "covariance.csv").write_text("x,a\na,1\n"), "rows and columns"),
        (lambda d: (d / "estimates.csv").write_bytes(b"\xff\xfe\x00"), "estimates.csv"),
        (lambda d: (d / "fit.json").write_text('{"format": '), "not valid JSON"),
    ],
)
def test_a_damaged_fit_folder_is_one_clear_error(tmp_path, edit, pattern):
    fit = calibrate(harmsim.load_scenario("baseline"), free=["hazard.intercept", "diffusion.strength"])
    d = tmp_path / "fit"
    fit.save(d)
    edit(d)
    with pytest.raises(CalibrationError, match=pattern):
        load_fit(d)


def _json_edit(d, **values):
    import json

    meta = json.loads((d / "fit.json").read_text())
    meta.update(values)
    (d / "fit.json").write_text(json.dumps(meta))


def test_every_use_of_the_likelihood_goes_through_its_one_year_loop(baseline, monkeypatch):
    """The cells of one history, the exact sum over hidden years (the baseline's HSU intervals) and the sampled
    histories all take their years from ``_years``: one definition of the pass over the window."""
    from harmsim.calibrate import likelihood as lk
    from harmsim.calibrate.likelihood import _latent, _paths, _shared, _terms

    calls = []
    real = _terms._years

    def counted(*args, **kwargs):
        calls.append(1)
        yield from real(*args, **kwargs)

    for part in (_terms, _paths, _latent, _shared):  # every part of the likelihood that names it
        if hasattr(part, "_years"):
            monkeypatch.setattr(part, "_years", counted)
    hist = lk.history(baseline, baseline.record)
    diffusion = harmsim.load_scenario("diffusion_only")
    hist_d = lk.history(diffusion, baseline.record)
    uses = {}
    for name, f in (
        ("cells", lambda: lk.loglik_cells(diffusion, hist_d)),
        ("exact", lambda: lk.loglik(baseline, hist)),
        ("sampled", lambda: lk.loglik_sampled(baseline, hist, samples=16)),
    ):
        calls.clear()
        f()
        uses[name] = len(calls)
    assert all(n > 0 for n in uses.values()), uses


def test_several_starts_are_logged_and_agree_on_a_simple_fit():
    from harmsim.calibrate.mle import fit_mle

    sc = harmsim.load_scenario("diffusion_only")
    fit = fit_mle(sc, sc.record, ["hazard.intercept", "diffusion.strength"], starts=3, uncertainty=False)
    d = fit.log["diagnostics"]
    assert d["starts"] == 3 and len(d["maxima"]) == 3
    assert d["maxima"][0] - d["maxima"][1] <= 0.01 and "several maxima" not in d
    assert not any("several maxima" in v for v in fit.verdicts())


def test_starts_that_disagree_are_said(monkeypatch):
    """A start that stops short of the top (here: its result made 0.05 worse) is reported in words."""
    import harmsim.calibrate.mle as M

    real = M.minimize
    calls = []

    def second_stops_short(*args, **kwargs):
        res = real(*args, **kwargs)
        calls.append(res)
        if len(calls) == 2:
            res.fun = float(res.fun) - 0.05  # the second start reports a higher log posterior than the first
        return res

    monkeypatch.setattr(M, "minimize", second_stops_short)
    sc = harmsim.load_scenario("diffusion_only")
    fit = M.fit_mle(sc, sc.record, ["hazard.intercept", "diffusion.strength"], starts=2, uncertainty=False)
    assert "several maxima" in fit.log["diagnostics"]
    assert any(v.startswith("Warning: the best two of 2 optimizer starts") for v in fit.verdicts())
    with pytest.raises(CalibrationError, match="starts must be a positive integer"):
        M.fit_mle(sc, sc.record, ["hazard.intercept"], starts=0)


def test_draws_hold_a_parameter_the_record_does_not_bound():
    """Parameters whose normals reach far past their ranges (baseline_trend from 2005: trend s.e. 88 on a range
    of 40, with others as wide) made every forecast fail: draws inside all ranges at once were too rare. They
    are now held at their estimates and the others drawn given them."""
    from harmsim.calibrate.fit import Fit

    names = ["hazard.intercept", "trend.linear", "trend.quadratic", "trend.duration"]
    wide = 1e4
    est = pd.DataFrame(
        {
            "parameter": names,
            "estimate": [-3.0, 5.0, -2.0, 1.0],
            "se": [0.2, wide, wide, wide],
            "lower": [-3.4, -wide, -wide, -wide],
            "upper": [-2.6, wide, wide, wide],
            "bound_lo": [-20.0, -20.0, -20.0, -10.0],
            "bound_hi": [10.0, 20.0, 20.0, 10.0],
            "status": ["bounded", "weak", "weak", "not identified"],
        }
    )
    cov = np.diag([0.04, wide**2, wide**2, wide**2])
    cov[0, 1] = cov[1, 0] = 10.0
    fit = Fit(scenario="x", scenario_digest="", model_digest=None, record="r", observed_until=None, transforms={},
              method="mle", estimates=est, loglik=-1.0, n_obs=10,
              covariance=pd.DataFrame(cov, index=names, columns=names), fixed={}, log={})  # fmt: skip
    d = fit.draw(500, seed=1)
    assert d.attrs["held"] == ["trend.linear", "trend.quadratic", "trend.duration"]
    assert (d["trend.linear"] == 5.0).all() and (d["trend.duration"] == 1.0).all()
    # the intercept is drawn given the held trend: conditional s.e. sqrt(0.04 - 10^2 / 10^8), about 0.2
    assert d["hazard.intercept"].std() == pytest.approx(0.2, rel=0.15)
    assert d["hazard.intercept"].mean() == pytest.approx(-3.0, abs=0.05)
    # a fit whose normal stays inside its ranges is drawn as before, nothing held
    narrow = pd.DataFrame(np.diag([0.04, 1.0, 1.0, 1.0]), index=names, columns=names)
    ok = dataclasses.replace(fit, estimates=est.assign(se=[0.2, 1, 1, 1], status=["bounded"] * 4), covariance=narrow)
    assert not ok.draw(100, seed=1).attrs.get("held")


def test_a_fit_holds_blas_to_one_thread_and_gives_the_callers_threads_back(monkeypatch):
    """OpenBLAS splits a large product over its threads, and the split changes its last bit: fitted with two
    threads the world panel's binding effect was 0.5145, with one 0.5150 (harmsim._threads). Every likelihood
    evaluation of a fit, and the Bass model's, now runs on one thread, whatever the caller set."""
    from threadpoolctl import threadpool_limits

    import harmsim.analysis.comparison as comparison
    import harmsim.calibrate.mle as mle
    from harmsim._threads import blas_threads

    if not blas_threads() and sys.platform == "darwin":
        pytest.skip("threadpoolctl sees no BLAS it can hold here (Apple's Accelerate): the fit runs as it is")
    assert blas_threads(), "numpy's OpenBLAS is loaded: the test reads its thread count (threadpoolctl too old?)"
    seen = []

    def spy(real):
        def counted(*args, **kwargs):
            seen.append(set(blas_threads()))
            return real(*args, **kwargs)

        return counted

    monkeypatch.setattr(mle, "_nll_and_gradient", spy(mle._nll_and_gradient))
    monkeypatch.setattr(comparison, "minimize", spy(comparison.minimize))
    sc = harmsim.load_scenario("diffusion_only")
    with threadpool_limits(limits=2, user_api="blas"):
        mle.fit_mle(sc, sc.record, uncertainty=False)
        comparison.fit_bass(sc, sc.record)
        after = set(blas_threads())
    assert len(seen) > 2 and all(s == {1} for s in seen), seen
    assert after == {2}  # the caller's limit is given back


def test_fits_in_two_threads_at_once_hold_blas_from_the_first_start_to_the_last_end(monkeypatch):
    """BLAS has one limit per process: with a limit per fit, the first fit to end gave the caller's threads
    back while the other still ran, and the last restored the first's one thread for good. The first to start
    now sets it and the last to end restores it (a stand-in for threadpoolctl records the calls: OpenBLAS
    itself ignores a limit set from another thread once the main thread has set one)."""
    import threading

    import harmsim._threads as threads

    calls = []

    class Limiter:
        def restore_original_limits(self):
            calls.append("restore")

    class Controller:
        def limit(self, *, limits, user_api):
            calls.append(("limit", limits, user_api))
            return Limiter()

    monkeypatch.setattr(threads, "_controller", Controller)
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()

    @threads.one_blas_thread
    def first():
        a_in.set()
        b_in.wait(5)

    @threads.one_blas_thread
    def second():
        b_in.set()
        a_out.wait(5)
        calls.append("second still running")

    ta, tb = threading.Thread(target=first), threading.Thread(target=second)
    ta.start()
    a_in.wait(5)
    tb.start()
    ta.join(5)
    a_out.set()
    tb.join(5)
    assert calls == [("limit", 1, "blas"), "second still running", "restore"]
    assert threads._RUNNING == 0 and threads._LIMITER is None


@pytest.mark.slow
def test_the_world_fit_is_the_same_with_one_blas_thread_or_two():
    """The world panel's products are large enough for OpenBLAS to split; before, the two fits differed in the
    third decimal (the binding effect 0.5150 and 0.5145, the intercept -1.8113 and -1.8137)."""
    from threadpoolctl import threadpool_limits

    sc = harmsim.load_scenario("world_baseline")
    fits = []
    for threads in (1, 2):
        with threadpool_limits(limits=threads, user_api="blas"):
            fits.append(calibrate(sc, starts=1).estimates)
    pd.testing.assert_frame_equal(fits[0], fits[1], check_exact=True)

"""The test of bindingness: units, the random-effects contrast, randomization, power panels, resume, the command.

A small panel of four organizations (two with binding agreements, two with non-binding ones, one state in two
organizations) runs the whole test in seconds; the world record's membership structure checks recovery of a
known effect.
"""

from __future__ import annotations

import math
import types

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

import harmsim
from harmsim.analysis import bindingness as B
from harmsim.errors import CalibrationError, ConfigError
from harmsim.model.scenario import scenario_from_dict
from harmsim.model.synthetic import synthetic_organizations


def four_organizations():
    """16 states in four organizations of four (s03 also in O2, s07 in O3, s11 in O4), 2000-2012; O1 and O2 sign
    binding agreements."""
    return synthetic_organizations(4, 4)


def scenario_on(record, binding=1.0, nonbinding=0.2):
    raw = {
        "hazard": {"intercept": -2.5},
        "mechanisms": {
            "agreements": {"binding": binding, "nonbinding": nonbinding, "lag": 0, "lead": 0.0},
            "diffusion": {"strength": 0.5, "weight_all": 1.0, "weight_subregion": 0.0, "weight_border": 0.0,
                          "weight_organization": 1.0},
        },
    }  # fmt: skip
    return scenario_from_dict(raw, record=record)


@pytest.fixture(scope="module")
def simulated():
    """The four-organization panel with outcomes simulated from known effects, and its scenario."""
    region = four_organizations()
    rec = B.synthetic_panel(scenario_on(region), region, seed=11)
    return scenario_on(rec), rec


# Units ---------------------------------------------------------------------------------------------------------


def test_units_are_organizations_by_kind_with_exposure(simulated):
    sc, _ = simulated
    units = B.agreement_units(sc).set_index("unit")
    assert list(units.index) == ["O1 binding", "O2 binding", "O3 non-binding", "O4 non-binding"]
    # O1: 4 states x 1 instrument x 2002..2012 (lag 0) = 44; O2 has five members (s03 too) from 2003: 50;
    # O3 five from 2004: 45; O4 five, on x from 2002 (55) and on y from its opening in 2003, not before (50)
    assert units["exposure"].tolist() == [44, 50, 45, 105]


def test_synthetic_organizations_shape_and_refusals():
    rec = synthetic_organizations(12, 10, binding=5)
    assert len(rec.state_ids) == 120 and list(rec.state_ids) == sorted(rec.state_ids)
    summary = rec.organization_summary()
    assert summary["binding"].sum() == 5 and summary["non_binding"].sum() == 7
    assert (summary["members"] == [10] + [11] * 11).all()  # each but the first shares a state with the one before
    for kwargs, message in [
        ({"n_organizations": 1}, "n_organizations must be an integer >= 2"),
        ({"states_per": True}, "states_per must be an integer >= 2"),
        ({"binding": 5}, r"binding must be an integer from 0 to n_organizations \(4\)"),
        ({"start": 2000, "end": 2004}, "the window must span at least 6 years"),
    ]:
        with pytest.raises(ConfigError, match=message):
            synthetic_organizations(**kwargs)


def test_the_world_record_has_three_binding_units_and_five_non_binding():
    units = B.agreement_units(harmsim.load_scenario("world_baseline"))
    assert units["binding"].sum() == 3 and (~units["binding"]).sum() == 5
    assert "ASEAN binding" not in set(units["unit"])  # ACTIP acts after the window: no exposure


def test_one_region_is_refused():
    with pytest.raises(CalibrationError, match="no regional organizations"):
        B.agreement_units(harmsim.load_scenario("baseline"))


def test_one_against_the_rest_relabels_only_the_unit(simulated):
    _, rec = simulated
    units = B.agreement_units(scenario_on(rec))
    relabelled = B._one_against_the_rest(rec, units.iloc[2])
    assert relabelled.agreements.set_index("agreement")["binding"].to_dict() == {
        "o1_agreement": False, "o2_agreement": False, "o3_agreement": True, "o4_agreement": False
    }  # fmt: skip


# The contrast --------------------------------------------------------------------------------------------------


def test_contrast_without_spread_is_the_weighted_difference_of_means():
    y = np.array([1.0, 1.4, 0.2, 0.0, 0.1])
    se = np.array([0.5, 0.5, 0.5, 0.5, 0.5])  # between-unit scatter well inside the units' own error: tau = 0
    lab = np.array([True, True, False, False, False])
    c = B.random_effects_contrast(y, se, lab)
    assert c["tau"] == 0.0
    assert c["estimate"] == pytest.approx(y[lab].mean() - y[~lab].mean())
    # Knapp-Hartung: t on U - 2 = 3 df, variance scaled up only when the residual heterogeneity exceeds 1
    se_c = math.sqrt(0.25 / 2 + 0.25 / 3)
    assert c["ci_high"] - c["estimate"] == pytest.approx(stats.t.ppf(0.975, 3) * se_c)


def test_contrast_widens_with_spread_between_units():
    lab = np.array([True, True, True, False, False, False])
    tight = B.random_effects_contrast([1.0, 1.1, 0.9, 0.0, 0.1, -0.1], [0.1] * 6, lab)
    loose = B.random_effects_contrast([1.8, 0.2, 1.0, 0.8, -0.9, 0.1], [0.1] * 6, lab)
    assert tight["tau"] < 0.1 < loose["tau"]
    assert (loose["ci_high"] - loose["ci_low"]) > 5 * (tight["ci_high"] - tight["ci_low"])


def test_contrast_needs_both_kinds_and_three_units():
    assert math.isnan(B.random_effects_contrast([1.0, 0.0], [0.1, 0.1], [True, False])["estimate"])
    assert math.isnan(B.random_effects_contrast([1.0, 0.0, 2.0], [0.1] * 3, [True] * 3)["estimate"])


def test_randomization_enumerates_every_labelling_and_reaches_its_minimum():
    """A strong effect: only the recorded labelling is as extreme, p = 1 / C(8, 3)."""
    y = [2.0, 2.1, 1.9, 0.0, 0.1, -0.1, 0.05, -0.05]
    lab = [True, True, True, False, False, False, False, False]
    p, table = B.randomization_p(y, [0.1] * 8, lab)
    assert len(table) == math.comb(8, 3) and table["recorded"].sum() == 1
    assert (table["binding_units"] == 3).all()
    assert p == pytest.approx(1 / 56)


def test_randomization_draws_labellings_when_there_are_too_many():
    g = np.random.default_rng(np.random.SeedSequence(4))
    y = g.normal(size=30)
    lab = np.arange(30) < 12  # C(30, 12) = 86 million
    p, table = B.randomization_p(y, [0.3] * 30, lab, permutations=199, seed=3)
    assert len(table) == 200 and table["recorded"].iloc[0]
    assert 1 / 200 <= p <= 1
    assert B.randomization_p(y, [0.3] * 30, lab, permutations=199, seed=3)[0] == p  # the seed fixes the draws


@pytest.mark.statistical
def test_randomization_p_is_uniform_without_an_effect():
    """Unit effects with organization spread and no label effect: p-values spread evenly over (0, 1]."""
    g = np.random.default_rng(np.random.SeedSequence(2024))
    lab = np.array([True] * 3 + [False] * 5)
    ps = []
    for _ in range(400):
        se = g.uniform(0.1, 0.6, 8)
        y = 0.3 + g.normal(0, 0.5, 8) + g.normal(0, se)
        ps.append(B.randomization_p(y, se, lab)[0])
    ps = np.array(ps)
    assert abs(np.mean(ps <= 0.05) - 0.05) < 0.035
    assert abs(np.mean(ps <= 0.5) - 0.5) < 0.08
    assert stats.kstest(ps, "uniform").pvalue > 0.001  # discrete (56 labellings): a loose check of the whole shape


# Synthetic panels ----------------------------------------------------------------------------------------------


def test_synthetic_panel_keeps_the_observation_pattern():
    sc = harmsim.load_scenario("world_baseline")
    rec = sc.record
    fake = B.synthetic_panel(sc, rec, seed=5)
    from harmsim.calibrate.likelihood import BEFORE, INTERVAL, UNOBSERVED, history

    real, synth = history(sc, rec).obs, history(sc, fake).obs
    assert ((real.kind == UNOBSERVED) == (synth.kind == UNOBSERVED)).all()
    before = real.kind == BEFORE
    assert (synth.kind[before] == BEFORE).all() and np.array_equal(real.year[before], synth.year[before])
    assert not (synth.kind == INTERVAL).any()
    assert fake.adoptions["year"].max() <= rec.end  # nothing simulated past the window enters the panel


@pytest.mark.statistical
def test_a_known_bindingness_effect_is_recovered_on_the_world_memberships():
    """Panels simulated on the world record's memberships with binding - non-binding = 1.0: the pooled fit
    recovers the difference (mean within 0.3) and its 95% interval covers it in most panels. Fails when
    ``binding`` is not applied to binding agreements (checked: with the binding unit term built from the
    non-binding agreements in ``_recorded_salience``, the two coefficients are not identified apart)."""
    base = harmsim.load_scenario("world_baseline").with_params(
        {"agreements.binding": 1.3, "agreements.nonbinding": 0.3, "diffusion.strength": 0.0,
         "external.momentum": 0.0, "hazard.intercept": -3.5}
    )  # fmt: skip
    from harmsim.calibrate.mle import fit_mle

    free = ["hazard.intercept", "agreements.binding", "agreements.nonbinding"]
    diffs, covered = [], []
    for seed in harmsim.spawn_seeds(9, 6):
        rec = B.synthetic_panel(base, base.record, seed)
        start = {"hazard.intercept": -2.0, "agreements.binding": 0.0, "agreements.nonbinding": 0.0}
        fit = fit_mle(base.with_record(rec), rec, free, start=start)  # started away from the truth
        e = fit.estimates.set_index("parameter")["estimate"]
        cov = fit.covariance
        d = e["agreements.binding"] - e["agreements.nonbinding"]
        se = math.sqrt(cov.loc[free[1], free[1]] + cov.loc[free[2], free[2]] - 2 * cov.loc[free[1], free[2]])
        assert se < 0.6, f"the difference is not identified on the panel (s.e. {se:.2f})"
        diffs.append(d)
        covered.append(abs(d - 1.0) <= 1.96 * se)
    assert abs(np.mean(diffs) - 1.0) < 0.3, diffs
    assert np.mean(covered) >= 4 / 6


# The whole test ------------------------------------------------------------------------------------------------

COLUMNS = ["contrast", "estimate", "ci_low", "ci_high", "p_randomization", "p_leads", "power_at_0.5",
           "power_at_1.0", "false_rejection_at_0"]  # fmt: skip


def test_the_whole_test_writes_its_table_verdict_and_figure(simulated, tmp_path):
    sc, rec = simulated
    test = B.bindingness_test(sc, rec, panels=2, seed=1)
    assert list(test.table.columns[: len(COLUMNS)]) == COLUMNS
    main = test.table.set_index("contrast").loc["binding - non-binding"]
    assert main["ci_low"] < main["estimate"] < main["ci_high"]
    assert 1 / 6 <= main["p_randomization"] <= 1  # C(4, 2) = 6 labellings
    assert {0.0, 0.5, 1.0} == set(test.power["effect"]) and len(test.power) == 6
    words = test.words()
    assert "binding minus non-binding" in words.lower() and "power" in words.lower()
    assert "0.167" in words  # the smallest p four units allow, said in words
    paths = test.save(tmp_path / "out")
    names = {p.name for p in paths}
    assert {"bindingness.csv", "verdict.txt", "forest.png", "units.csv", "power.csv", "design.csv"} <= names
    assert pd.read_csv(tmp_path / "out" / "bindingness.csv").columns.tolist()[: len(COLUMNS)] == COLUMNS
    design = pd.read_csv(tmp_path / "out" / "design.csv")
    assert design["difference"].tolist() == [0.5, 1.0] and (design["units"] == 4).all()
    simulated = test.power.groupby("effect")["called_rejects"].mean()
    assert design["power_simulated"].tolist() == simulated.loc[[0.5, 1.0]].tolist()
    # four units as precise as these need many more to detect 0.5 than to detect 1.0
    assert design["units_for_target"].iloc[0] > design["units_for_target"].iloc[1] > 4
    assert "How many units the test would need" in words and "design.csv" in words


# How many units ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("units", "binding"), [(8, 3), (12, 2)])
def test_the_power_approximation_agrees_with_simulating_the_meta_regression(units, binding):
    """Unit effects drawn around their label's mean (organization spread 0.5, each unit's standard error 0.33),
    the meta-regression's interval computed 2,000 times per difference: its rejection rate is the noncentral t's
    within 0.04 (the simulation's standard error is at most 0.011)."""
    g = np.random.default_rng(np.random.SeedSequence(20))
    labels = np.arange(units) < binding
    se = np.full(units, 0.33)
    for d in (0.0, 0.5, 1.0):
        rejects = 0
        for _ in range(2000):
            y = d * labels + g.normal(0, 0.5, units) + g.normal(0, se)
            c = B.random_effects_contrast(y, se, labels)
            rejects += c["ci_low"] > 0 or c["ci_high"] < 0
        assert rejects / 2000 == pytest.approx(B.contrast_power(d, units, binding, 0.5**2 + 0.33**2), abs=0.04)


def test_units_for_power_is_the_first_design_that_reaches_it():
    n = B.units_for_power(0.5, 0.36, 3 / 8)
    assert B.contrast_power(0.5, n, round(3 / 8 * n), 0.36) >= 0.8
    assert B.contrast_power(0.5, n - 1, round(3 / 8 * (n - 1)), 0.36) < 0.8
    assert B.units_for_power(1.0, 0.36, 3 / 8) < n < B.units_for_power(0.5, 0.72, 3 / 8)  # bigger: fewer; noisier: more
    assert B.units_for_power(0.5, 0.36, 1 / 2) < n  # a balanced design needs fewer
    assert B.units_for_power(0.5, 0.36, 0.0) is None and B.units_for_power(0.0, 0.36, 0.5) is None
    assert B.units_for_power(0.05, 0.36, 0.5, most=100) is None
    assert math.isnan(B.contrast_power(0.5, 2, 1, 0.36)) and math.isnan(B.contrast_power(0.5, 8, 0, 0.36))


@given(d=st.floats(0.01, 3), units=st.integers(3, 200), share=st.floats(0.05, 0.95), v=st.floats(0.01, 4))
def test_the_power_is_symmetric_and_grows_with_the_difference(d, units, share, v):
    b = min(max(round(share * units), 1), units - 1)
    p = B.contrast_power(d, units, b, v)
    assert p == pytest.approx(B.contrast_power(-d, units, b, v), abs=1e-9)
    assert B.contrast_power(0.0, units, b, v) == pytest.approx(0.05, abs=1e-4)
    assert 0.05 - 1e-4 <= p <= 1.0
    assert p <= B.contrast_power(2 * d, units, b, v) + 1e-9


def _killed_at(monkeypatch, n: int) -> list[str]:
    """Make the ``n``-th refit task raise KeyboardInterrupt (a kill), once; the tasks run are listed."""
    real_task, calls, killed = B._task, [], []

    def task(job, spec):
        calls.append(spec["what"])
        if not killed and len(calls) == n:
            killed.append(n)
            raise KeyboardInterrupt
        return real_task(job, spec)

    monkeypatch.setattr(B, "_task", task)
    return calls


def test_a_killed_test_resumes_from_its_saved_refits(simulated, tmp_path, monkeypatch):
    sc, rec = simulated
    whole = B.bindingness_test(sc, rec, panels=2, seed=1)
    calls = _killed_at(monkeypatch, 4)
    cache = tmp_path / "refits"
    with pytest.raises(KeyboardInterrupt):
        B.bindingness_test(sc, rec, panels=2, seed=1, cache=cache)
    assert len(list(cache.glob("*.json"))) == 1 + 3  # spec.json and the three finished tasks
    assert calls == ["record"] * 4  # each unit's refit on the real record is a task of its own
    calls.clear()
    resumed = B.bindingness_test(sc, rec, panels=2, seed=1, cache=cache)
    assert len(calls) == 4 + 3 * 2 - 3  # only the tasks not saved: four units, two panels per effect
    pd.testing.assert_frame_equal(resumed.table, whole.table)
    assert not cache.exists()  # cleared once the test is complete


def test_a_rerun_with_fewer_panels_reuses_the_real_records_saved_refits(simulated, tmp_path, monkeypatch):
    sc, rec = simulated
    calls = _killed_at(monkeypatch, 3)
    cache = tmp_path / "refits"
    with pytest.raises(KeyboardInterrupt):
        B.bindingness_test(sc, rec, panels=2, seed=1, cache=cache)
    calls.clear()
    test = B.bindingness_test(sc, rec, panels=0, seed=1, cache=cache)
    assert calls == ["record"] * 2  # two of the four units were saved by the killed run
    assert test.power.empty and test.units["status"].eq("estimated").all()


def test_the_command_refuses_a_one_region_scenario(tmp_path, capsys):
    from harmsim.cli import main

    assert main(["bindingness", "baseline", "--out", str(tmp_path / "b"), "--panels", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no regional organizations" in err[0]


def _worded(estimate: float, ci: tuple, p: float) -> str:
    """The verdict of a test whose tables say what is given (the verdict reads nothing else)."""
    row = {"estimate": estimate, "ci_low": ci[0], "ci_high": ci[1], "p_randomization": p, "p_leads": 0.5, "tau": 0.1,
           "power_at_0.5": 0.2, "power_at_1.0": 0.5, "false_rejection_at_0": 0.03, "labellings": 70}  # fmt: skip
    table = pd.DataFrame([{"contrast": c, **row} for c in ("binding - non-binding", "binding - non-binding, general",
                          "binding - non-binding (pooled model, not clustered)")])  # fmt: skip
    units = pd.DataFrame({"unit": ["U1 binding", "U2 binding", "U3 non-binding", "U4 non-binding"],
                          "binding": [True, True, False, False], "status": "estimated", "called_se": 0.3})  # fmt: skip
    test = types.SimpleNamespace(table=table, units=units, settings={"spread": 0.5, "lead_years": 2},
                                 design=pd.DataFrame())  # fmt: skip
    return B._verdict(test).split("For the study's claim of voluntarism: ")[1].split("\n")[0]


def test_the_verdict_on_voluntarism_follows_the_contrast_and_names_the_panel_s_limits():
    """Four readings: established either way, suggestive, or not told apart; the limits are the panel's own
    units (no region is assumed: a synthetic panel's binding units are not European)."""
    assert "not supported on this panel" in _worded(0.9, (0.3, 1.5), 0.01)
    reversed_ = _worded(-0.9, (-1.5, -0.3), 0.01)
    assert "less adoption" in reversed_ and "not a reversal" in reversed_
    suggestive = _worded(0.9, (0.3, 1.5), 0.2)
    assert "may do more" in suggestive and "does not confirm" in suggestive
    assert "may do less" in _worded(-0.9, (-1.5, -0.3), 0.2)
    null = _worded(0.2, (-0.5, 0.9), 0.6)
    assert "no evidence" in null and "4 units, the binding ones U1 binding, U2 binding" in null
    assert "European" not in null


def test_the_command_runs_the_test_on_a_panel_from_files_and_writes_its_results(simulated, tmp_path, capsys):
    """``harmsim bindingness SCENARIO --out DIR`` as a user runs it on a panel of their own: a scenario file naming
    a record folder beside it. It prints the verdict and writes the table with the issue's columns, the verdict
    and the forest figure; the saved refits are cleared once the test is complete; a second run into the same
    folder is refused without --force, in one line."""
    from harmsim.cli import main

    rec = simulated[1]
    rec.write(tmp_path / "record")
    (tmp_path / "panel.toml").write_text(
        'name = "panel"\nrecord = "record"\n[hazard]\nintercept = -2.5\n'
        "[mechanisms.agreements]\nbinding = 1.0\nnonbinding = 0.2\nlag = 0\nlead = 0.0\n"
        "[mechanisms.diffusion]\nstrength = 0.5\nweight_all = 1.0\nweight_subregion = 0.0\nweight_border = 0.0\n"
        "weight_organization = 1.0\n"
    )
    out = tmp_path / "b"
    args = ["bindingness", str(tmp_path / "panel.toml"), "--out", str(out), "--panels", "2", "--permutations", "20"]
    assert main(args) == 0
    said = capsys.readouterr().out
    assert "For the study's claim of voluntarism: " in said and f"to {out}" in said
    table = pd.read_csv(out / "bindingness.csv")
    assert {"contrast", "estimate", "ci_low", "ci_high", "p_randomization", "p_leads", "power_at_0.5",
            "power_at_1.0", "false_rejection_at_0"} <= set(table.columns)  # fmt: skip
    assert table.loc[0, "contrast"] == "binding - non-binding" and 0 < table.loc[0, "p_randomization"] <= 1
    assert (out / "verdict.txt").read_text().strip() and any(out.glob("*forest*.png"))
    assert pd.read_csv(out / "design.csv")["units_for_target"].notna().all()
    assert not (tmp_path / ".b.refits").exists()
    assert main(args) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1

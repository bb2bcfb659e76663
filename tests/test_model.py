"""The Mesa model: determinism, the engines' identity, the DataCollector, model rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import harmsim
from harmsim.rng import spawn_seeds

from .conftest import SCENARIOS


def test_same_seed_same_result_different_seed_differs(baseline):
    a, b = harmsim.run(baseline, seed=5), harmsim.run(baseline, seed=5)
    pd.testing.assert_frame_equal(a.adoptions, b.adoptions)
    pd.testing.assert_frame_equal(a.agreements, b.agreements)
    c = harmsim.run(baseline, seed=6)
    assert not a.adoptions.equals(c.adoptions)


def test_unseeded_runs_are_refused(baseline):
    with pytest.raises(harmsim.ConfigError, match="seed"):
        harmsim.run(baseline, seed=None)
    with pytest.raises(harmsim.ConfigError, match="non-negative"):
        harmsim.run(baseline, seed=-1)


def test_provenance_seed_reproduces_the_run(baseline):
    """A child SeedSequence is recorded with its spawn key: the recorded seed reruns the same history."""
    import json

    child = np.random.SeedSequence(5, spawn_key=(3,))
    a = harmsim.run(baseline, seed=child)
    recorded = json.loads(json.dumps(a.provenance))["seeds"][0]  # as written to provenance.json
    assert recorded == {"entropy": 5, "spawn_key": [3]} == a.seed
    pd.testing.assert_frame_equal(harmsim.run(baseline, seed=recorded).adoptions, a.adoptions)
    assert not harmsim.run(baseline, seed=5).adoptions.equals(a.adoptions)  # the parent is another run
    assert harmsim.run(baseline, seed=np.random.SeedSequence(5)).seed == 5
    with pytest.raises(harmsim.ConfigError, match="not a valid seed sequence"):
        harmsim.run(baseline, seed={"entropy": "x", "spawn_key": [1]})


def test_spawned_seeds_are_stable_and_distinct():
    s = spawn_seeds(42, 50)
    assert s == spawn_seeds(42, 50) and len(set(s)) == 50
    assert s[:10] == spawn_seeds(42, 10)
    assert spawn_seeds(np.random.SeedSequence(42), 5) == spawn_seeds(42, 5)


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_batch_replicate_equals_mesa_run(path):
    sc = harmsim.load_scenario(path)
    seeds = spawn_seeds(11, 12)
    ens = harmsim.run_ensemble(sc, seeds=seeds)
    for i in (0, 5, 11):
        one = harmsim.run(sc, seed=seeds[i])
        rep = ens.replicate(i)
        pd.testing.assert_frame_equal(rep.adoptions, one.adoptions)
        pd.testing.assert_frame_equal(
            rep.agreements.reset_index(drop=True), one.agreements.reset_index(drop=True), check_dtype=False
        )
    mesa = harmsim.run_ensemble(sc, seeds=seeds, engine="mesa")
    pd.testing.assert_frame_equal(mesa.adoptions, ens.adoptions)


def test_datacollector_matches_adoption_table(baseline):
    res = harmsim.run(baseline, seed=3)
    df = res.model.datacollector.get_agent_vars_dataframe().reset_index()
    final = df[df["Step"] == df["Step"].max()].set_index("state")
    adopted = res.adoptions.dropna(subset=["year"]).groupby("state", observed=True)["instrument"].apply(set)
    assert set(final.index) == set(res.model.world.states) - {"TLS"}  # agents: the members of 2015
    for state in final.index:
        got = {k for k in res.model.world.instruments if final.loc[state, f"adopted_{k}"]}
        assert got == adopted.get(state, set())
    years = res.model.datacollector.get_model_vars_dataframe()["year"]
    assert list(years) == list(range(1996, 2016))  # step 0: the initial state


def test_a_run_without_collection_has_an_empty_datacollector_and_the_same_history(baseline):
    """collect=False skips the tables (the DataCollector is made only when asked for); the history is the same."""
    from harmsim.model import HarmonizationModel

    quiet = HarmonizationModel(baseline, rng=5, collect=False)
    quiet.run_model()
    assert quiet.datacollector.get_model_vars_dataframe().empty
    loud = HarmonizationModel(baseline, rng=5)
    loud.run_model()
    assert len(loud.datacollector.get_model_vars_dataframe()) == len(baseline.world.years) + 1
    pd.testing.assert_frame_equal(quiet.adoptions(), loud.adoptions())
    replacement = harmsim.model.mesa_model.mesa.DataCollector(model_reporters={"year": "year"})
    quiet.datacollector = replacement  # a user's own collector, as in any Mesa model
    quiet.datacollector.collect(quiet)
    assert quiet.datacollector is replacement and list(replacement.get_model_vars_dataframe()["year"]) == [2015]


def test_states_enter_when_they_join(baseline):
    res = harmsim.run(baseline, seed=0)
    khm = res.adoptions.query("state == 'KHM'")["year"].dropna()
    assert (khm >= 1999).all()
    m = harmsim.HarmonizationModel(baseline, seed=0)
    assert "KHM" not in {a.state_id for a in m.agents}
    for _ in range(3):
        m.step()
    assert "KHM" in {a.state_id for a in m.agents}


def test_instruments_open_and_prerequisites_hold():
    sc = harmsim.load_scenario("baseline")
    ens = harmsim.run_ensemble(sc, replicates=200, seed=0)
    w = ens.adoptions.pivot_table(
        index=["replicate", "state"], columns="instrument", values="year", aggfunc="first", observed=True
    )
    assert (w["untoc"].dropna() >= 2000).all() and (w["asean_mlat"].dropna() >= 2004).all()
    both = w[["untoc", "tip_protocol"]].dropna()
    assert (both["tip_protocol"] >= both["untoc"]).all()
    assert w.loc[w["untoc"].isna(), "tip_protocol"].isna().all()
    assert (w["actip"].dropna() == 2015).all()


def test_endogenous_agreements_follow_compliance():
    sc = harmsim.load_scenario("endogenous")
    ens = harmsim.run_ensemble(sc, replicates=100, seed=2)
    ag = ens.agreements.pivot(index="replicate", columns="agreement", values="year")
    assert (ag["decl_transnational_crime_1997"] == 1997).all()
    # Follow-ups keep their recorded distance from what they follow.
    d = (ag["work_programme_2002"] - ag["decl_transnational_crime_1997"]).dropna()
    assert (d == 5).all()
    arrived = ag["decl_tip_2004"].dropna()
    assert len(arrived) > 50 and arrived.nunique() > 1
    # A lower threshold can only bring the declaration earlier (same draws).
    low = harmsim.run_ensemble(sc.with_params({"agreements.threshold_nonbinding": 0.05}), seeds=ens.seeds)
    lag = low.agreements.pivot(index="replicate", columns="agreement", values="year")["decl_tip_2004"]
    assert (lag.fillna(9999) <= ag["decl_tip_2004"].fillna(9999)).all()
    assert lag.mean() < arrived.mean()


def test_global_record_runs():
    sc = harmsim.load_scenario("global_diffusion")
    ens = harmsim.run_ensemble(sc, replicates=5, seed=0)
    assert ens.adoptions["state"].nunique() == 170
    fit = harmsim.compare(ens, sc.record)
    assert np.isfinite(fit.query("metric == 'curve_mad' and item == 'tip_law'")["mean"]).all()


def test_a_mesa_model_like_any_other_after_its_window_at_step_0_and_in_space():
    """Before: step() after 2015 counted Mesa's steps on; step 0 (1996) held Laos and Myanmar, who join in
    1997; the borders the dashboard draws were in no Mesa space; n_adopted was a reporter, not an attribute."""
    import mesa

    m = harmsim.HarmonizationModel("baseline", rng=5)
    assert m.year == 1996 and {a.state_id for a in m.agents} == {"BRN", "IDN", "MYS", "PHL", "SGP", "THA", "VNM"}
    m.step()
    assert {"LAO", "MMR"} <= {a.state_id for a in m.agents} and "KHM" not in {a.state_id for a in m.agents}
    m.run_model()
    steps, time = m.steps, getattr(m, "time", None)
    with pytest.warns(harmsim.HarmsimWarning, match="has run its last year"):
        m.step()
    assert (m.year, m.steps, getattr(m, "time", None), m.running) == (2015, steps, time, False)
    assert isinstance(m.grid, mesa.space.NetworkGrid)
    tha = next(a for a in m.agents if a.state_id == "THA")
    assert sorted(a.state_id for a in tha.neighbours()) == ["KHM", "LAO", "MMR", "MYS"]
    assert tha.pos == m.world.states.index("THA") and tha in m.grid.get_cell_list_contents([tha.pos])
    assert all(a.n_adopted == len(a.adopted) for a in m.agents)
    df = m.datacollector.get_agent_vars_dataframe().reset_index()
    assert set(df[df["Step"] == 0]["state"]) == {"BRN", "IDN", "MYS", "PHL", "SGP", "THA", "VNM"}

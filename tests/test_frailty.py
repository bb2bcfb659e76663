"""State heterogeneity (a random intercept per state): engines, likelihood by quadrature, recovery, forecasts.

The simulated frequency of small histories against exp(log-likelihood) with state propensities is in
test_horizons.py, beside the same test for the other models.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import harmsim
from harmsim.analysis.predictive import latent_posterior_draws
from harmsim.calibrate import calibrate, history, loglik, loglik_cells
from harmsim.calibrate.likelihood import loglik_sampled, loglik_states
from harmsim.errors import CalibrationError
from harmsim.model.scenario import scenario_from_dict
from harmsim.model.synthetic import synthetic_region, synthetic_scenario
from harmsim.rng import normals

from .test_calibrate import record_with_adoptions


def with_frailty(sc, sd=1.0):
    raw = sc.to_dict()
    return scenario_from_dict({**raw, "mechanisms": {**raw["mechanisms"], "frailty": {"sd": sd}}}, record=sc.record)


def test_engines_identical_with_state_propensities(baseline):
    sc = with_frailty(baseline, 1.2)
    seeds = harmsim.spawn_seeds(21, 40)
    pd.testing.assert_frame_equal(
        harmsim.run_ensemble(sc, seeds=seeds).adoptions, harmsim.run_ensemble(sc, seeds=seeds, engine="mesa").adoptions
    )
    big = with_frailty(synthetic_scenario(synthetic_region(15, 4, seed=2)), 2.0)
    s2 = harmsim.spawn_seeds(3, 20)
    pd.testing.assert_frame_equal(
        harmsim.run_ensemble(big, seeds=s2).adoptions, harmsim.run_ensemble(big, seeds=s2, engine="mesa").adoptions
    )


def test_propensities_per_kind(baseline, record):
    """By kind: one propensity per state and instrument kind, the same in both engines; with one kind it is the
    model with one propensity per state; its likelihood integrates each (state, kind) separately."""
    raw = baseline.to_dict()
    by_kind = scenario_from_dict(
        {**raw, "mechanisms": {**raw["mechanisms"], "frailty": {"sd": 1.2, "by": "kind"}}}, record=baseline.record
    )
    dyn = by_kind.dynamics
    assert dyn.latent_width == len(set(by_kind.world.kinds)) > 1
    z = dyn.latent_draws([5, 6])
    assert z.shape == (2, len(by_kind.world.states), dyn.latent_width)
    # each seed's counter-based frailty stream, state by state and kind by kind
    C = dyn.latent_width
    N = len(baseline.world.states)
    np.testing.assert_array_equal(z, normals([5, 6], "frailty", N * C).reshape(2, N, C))
    one = with_frailty(baseline, 1.2).dynamics.latent_draws([5, 6])
    np.testing.assert_array_equal(one[..., 0], normals([5, 6], "frailty", N))
    seeds = harmsim.spawn_seeds(8, 30)
    pd.testing.assert_frame_equal(
        harmsim.run_ensemble(by_kind, seeds=seeds).adoptions,
        harmsim.run_ensemble(by_kind, seeds=seeds, engine="mesa").adoptions,
    )
    # independent propensities per kind make a state's instruments of different kinds independent
    h = history(by_kind, record)
    assert loglik(by_kind, h) != pytest.approx(loglik(with_frailty(baseline, 1.2), h), abs=1e-3)
    inst = baseline.record.instruments.assign(kind="all")
    single = replace(baseline.record, instruments=inst)
    a = scenario_from_dict(by_kind.to_dict(), record=single)
    b = scenario_from_dict(with_frailty(baseline, 1.2).to_dict(), record=single)
    assert a.dynamics.latent_width == 1
    assert loglik(a, history(a, single)) == pytest.approx(loglik(b, history(b, single)), abs=1e-12)


def test_propensities_spread_states_apart(baseline):
    """With a large sd, the same state is early (or late) across instruments: adoption years correlate."""
    seeds = harmsim.spawn_seeds(4, 300)
    y = harmsim.run_ensemble(with_frailty(baseline, 3.0), seeds=seeds).adoptions
    y0 = harmsim.run_ensemble(baseline, seeds=seeds).adoptions

    def mean_state_corr(a):
        w = a.assign(y=a["year"].astype("Float64").fillna(2016).astype(float))
        w = w[w["instrument"].isin(["tip_law", "untoc", "asean_mlat"]) & (w["state"] != "TLS")]
        p = w.pivot_table(index=["replicate", "state"], columns="instrument", values="y", observed=True)
        return p.corr().to_numpy()[np.triu_indices(3, 1)].mean()

    assert mean_state_corr(y) > mean_state_corr(y0) + 0.2


def test_quadrature_error_is_small(baseline, record):
    sc = with_frailty(baseline, 1.0)
    h = history(sc, record)
    exact = loglik(sc, h, nodes=96)
    assert abs(loglik(sc, h) - exact) < 1e-3  # the default 24 nodes
    assert abs(loglik(sc, h, nodes=8) - exact) > abs(loglik(sc, h) - exact)
    with pytest.raises(CalibrationError, match="use loglik_states"):
        loglik_cells(sc, h)
    # sd = 0 is the model without heterogeneity: the same terms state by state, and, summed over the HSU
    # years that peers read (importance-sampled: 6 cells of 12 years each), the exact forward recursion's value
    # within the sampler's reported Monte Carlo error
    zero, hb = with_frailty(baseline, 0.0), history(baseline, record)
    assert float(loglik_states(zero, h).sum()) == pytest.approx(float(loglik_states(baseline, hb).sum()), abs=1e-9)
    value, diag = loglik_sampled(zero, history(zero, record), samples=4096)
    se = diag["log-likelihood Monte Carlo s.e."]
    assert 0 < se < 0.02 and diag["effective samples"] > 2000
    assert abs(value - loglik(baseline, hb)) < 4 * se


def test_held_out_predictive_is_the_difference_of_likelihoods(baseline, record):
    """The exact likelihood (summing over the HSU years) minus the likelihood without state 3's cells is state
    3's own terms. Its last check reaches the one-history pass on both sides; that pass meets an independent
    reference, per state too, in tests/test_reference.py (scripts/mutations.py: survival counted where a cell
    is not at risk fails both)."""
    h = history(baseline, record)
    held = np.zeros(h.kind.shape, dtype=bool)
    held[3] = True
    cells, _ = loglik_cells(baseline, h)
    difference = loglik(baseline, h) - loglik(baseline, h, ~held)
    assert difference == pytest.approx(cells[held].sum())
    # the state's own likelihood (its own path) against the difference of the whole record's (the exact one)
    assert loglik_states(baseline, h, held)[3] == pytest.approx(difference)


@pytest.mark.statistical
def test_frailty_sd_recovered_on_synthetic_records():
    region = synthetic_region(40, 4, seed=3)
    spec = {"hazard": {"intercept": -3.0}, "mechanisms": {"diffusion": {"strength": 1.5}, "frailty": {"sd": 1.5}}}
    truth = scenario_from_dict(spec, where="truth", record=region)
    est, covered = [], []
    for s in harmsim.spawn_seeds(1, 8):
        rec = record_with_adoptions(region, harmsim.run(truth, seed=s).adoptions)
        start = {"hazard": {"intercept": -2.0}, "mechanisms": {"diffusion": {"strength": 0.5}, "frailty": {"sd": 0.5}}}
        fit = calibrate(
            scenario_from_dict(start, record=rec), free=["hazard.intercept", "diffusion.strength", "frailty.sd"]
        )
        e = fit.estimates.set_index("parameter").loc["frailty.sd"]
        est.append(e["estimate"])
        covered.append(e["lower"] <= 1.5 <= e["upper"])
    assert abs(np.mean(est) - 1.5) < 0.4, est
    assert np.mean(covered) >= 0.6, covered


def test_forecast_draws_propensities_from_their_posterior(baseline, record):
    """Given the record, late adopters get low propensities and early ones high; no history keeps the prior."""
    sc = with_frailty(baseline, 2.0)
    z = latent_posterior_draws(sc, record, 4000, seed=1)
    m = dict(zip(sc.world.states, z.mean(axis=0)))
    assert m["THA"] < 0 < m["PHL"]
    assert abs(m["TLS"]) < 0.1 and z[:, sc.world.states.index("TLS")].std() == pytest.approx(1.0, abs=0.1)
    f = harmsim.forecast(sc, None, until=2020, replicates=50, seed=2)
    assert "posterior given its observed history" in " ".join(f.provenance["forecast"]["choices"])
    assert f.table.groupby(["state", "instrument"])["p_adopted_by_year"].is_monotonic_increasing.all()


@pytest.mark.parametrize("name", ["baseline", "heterogeneity", "baseline_trend"])
def test_loglik_many_equals_one_at_a_time(name):
    """The parameter block (finite-difference neighbours, and far-apart sets) gives each set's own likelihood,
    also with unknown years summed over and with propensities integrated out. (``loglik`` is a block of one:
    the values themselves meet an independent reference in tests/test_reference.py.)"""
    from harmsim.calibrate.likelihood import loglik_many
    from harmsim.calibrate.mle import default_free

    sc = harmsim.load_scenario(name)
    h = history(sc, sc.record)
    free = default_free(sc, sc.record)
    scs = [sc] + [sc.with_checked_values({n: 0.37 * (j % 3) - 0.2}) for j, n in enumerate(free)]
    many = loglik_many(scs, h)
    one = np.array([loglik(s, h) for s in scs])
    np.testing.assert_allclose(many, one, rtol=0, atol=1e-10)
    assert len(np.unique(np.round(one, 8))) > len(scs) // 2  # the sets differ
    held = np.ones(h.kind.shape, dtype=bool)
    held[2] = False
    np.testing.assert_allclose(loglik_many(scs[:4], h, held), [loglik(s, h, held) for s in scs[:4]], atol=1e-10)


def _gated_record():
    """Six states, a treaty ``x`` and a protocol ``y`` that requires it, 2000-2008: four states' treaty years are
    known only as "by the protocol's year" (as on the world panel), so the bundling (both in one year) says
    where each lies, which its own hazards do not."""
    from harmsim.data.record import record_from_tables

    states = pd.DataFrame({"state": list("ABCDEF"), "joined": [1990] * 6})
    instruments = pd.DataFrame({"instrument": ["x", "y"], "requires": ["", "x"]})
    protocol = dict(zip("ABCDE", (2002, 2003, 2004, 2005, 2006)))
    rows = [(s, "x", "", 2000, protocol[s]) for s in "ABCD"]
    rows += [(s, "y", y, y, y) for s, y in protocol.items()]
    rows += [("E", "x", 2004, 2004, 2004), ("F", "x", 2001, 2001, 2001)]
    ad = pd.DataFrame(rows, columns=["state", "instrument", "year", "year_min", "year_max"])
    return record_from_tables("gated", 2000, 2008, {"states": states, "instruments": instruments, "adoptions": ad})


def test_sampled_years_are_drawn_from_their_conditionals(monkeypatch):
    """The proposal of a latent model's sampled years weighs the cells that read them (here the protocol's gate
    and bundling): the estimate (forced) agrees with the exact sum over all 360 patterns within its Monte Carlo
    error, and keeps far more effective paths than drawing each year from its own hazards (``DEFENSIVE = 1``)."""
    import harmsim.calibrate.likelihood as L

    rec = _gated_record()
    raw = {"hazard": {"intercept": -2.0}, "mechanisms": {"prerequisites": {"bundle": 3.0}, "frailty": {"sd": 1.0}}}
    sc = scenario_from_dict(raw, record=rec)
    exact, how = loglik_sampled(sc, history(sc, rec))
    assert how["patterns"] == 3 * 4 * 5 * 6
    monkeypatch.setattr(L._latent, "MAX_PATTERNS", 1)
    value, diag = loglik_sampled(sc, history(sc, rec))
    assert diag["samples"] >= L._latent.PATTERN_SAMPLES and diag["effective samples"] > 0.8 * diag["samples"]
    assert abs(value - exact) < 4 * diag["log-likelihood Monte Carlo s.e."], (value, exact, diag)
    monkeypatch.setattr(L._paths, "DEFENSIVE", 1.0)
    _, own = loglik_sampled(sc, history(sc, rec))
    assert own["effective samples"] < 0.5 * diag["effective samples"], (own, diag)

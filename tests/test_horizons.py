"""Inputs, observations and horizons: the design points, one test each.

- inputs past their data only by an explicit rule, recorded; a gap no rule covers is an error;
- transforms fixed on a reference window: a coefficient means the same in any horizon and counterfactual;
- one at-risk and gating rule: simulated frequencies of small histories match exp(log-likelihood),
  for the agent model and for both non-agent baselines;
- mechanisms read the past through one view: peeking at a later year fails in both engines and the likelihood;
- a longer horizon keeps the earlier years' draws; replicate i equals run(sc, seed_i) over any horizon;
- observations have their own window (observed_until).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import harmsim
from harmsim.analysis.comparison import BassLink, _simulate_bass
from harmsim.calibrate import history, loglik, loglik_cells
from harmsim.data.inputs import Extension, Rule, extend_series
from harmsim.data.observations import CENSORED, DATED, INTERVAL, UNOBSERVED, observations, observed_until
from harmsim.data.record import record_from_tables
from harmsim.data.world import NEVER
from harmsim.errors import CalibrationError, ConfigError, LookaheadError
from harmsim.model.mechanisms import REGISTRY, Mechanism
from harmsim.model.params import Real
from harmsim.model.scenario import scenario_from_dict

RULES = {"gdp_pc": "trend:5", "population": "trend:5", "migration": "carry", "tiers": "carry"}


# Inputs over any horizon --------------------------------------------------------------------------
def test_horizon_past_the_data_needs_a_rule_naming_input_state_and_year(baseline):
    bare = replace(baseline, extension=Extension())
    with pytest.raises(ConfigError, match=r"input 'migration' has no value for BRN in 2021 .* no extension rule"):
        bare.with_horizon(2030)
    with pytest.raises(ConfigError, match=r"global series 'share_criminalized' has no value for 2015"):
        bare.with_extension(RULES).with_horizon(2030)
    sc = bare.with_extension({**RULES, "share_criminalized": "carry"}).with_horizon(2030)
    ext = {name: (rule, lo, hi) for name, rule, lo, hi in sc.world.extended}
    assert ext["gdp_pc"] == ("trend:5", 2024, 2030) and ext["migration"] == ("carry", 2021, 2030)
    assert ext["share_criminalized"] == ("carry", 2015, 2029)  # the year before each year


def test_missing_value_inside_the_data_is_an_error_not_a_mean(record):
    cov = record.covariates.copy()
    cov.loc[(cov.state == "THA") & (cov.year == 2005), "gdp_pc"] = np.nan
    rec = replace(record, covariates=cov)
    with pytest.raises(ConfigError, match=r"input 'gdp_pc' has no value for THA in 2005"):
        scenario_from_dict({"mechanisms": {"capacity": {"strength": 1.0}}}, where="t", record=rec)


def test_a_gap_or_a_late_start_points_to_a_table_and_a_table_fills_it(record, tmp_path):
    """carry and trend extend past a series' last year only: for a gap, a year before a state's first value or
    a state without data, the error says where the state's data run and points to a table rule (not to the
    rule the scenario already has); a table fills every missing year, for a state without any data too."""
    mech = {"mechanisms": {"capacity": {"strength": 1.0}}}
    cases = {
        "THA": (lambda c: (c.state == "THA") & (c.year == 2005), "THA in 2005 .* (a gap in THA's data, 1990-2023;"),
        "VNM": (lambda c: (c.state == "VNM") & (c.year < 2000), "VNM in 1997 .* (VNM's data start in 2000;"),
        "LAO": (lambda c: c.state == "LAO", "LAO in 1997 .* (LAO has no value of it at all;"),
    }
    fill = {"THA": [2005], "VNM": range(1990, 2000), "LAO": range(1990, 2024)}
    for state, (where, message) in cases.items():
        cov = record.covariates.copy()
        cov.loc[where(cov), "gdp_pc"] = np.nan
        rec = replace(record, covariates=cov)
        for extend in ({}, {"gdp_pc": "carry"}):
            with pytest.raises(ConfigError) as err:
                scenario_from_dict({**mech, "inputs": {"extend": extend}}, where="t", record=rec)
            text = str(err.value)
            assert re.search(message.replace("(", r"\("), text) and 'gdp_pc = { table = "file.csv" }' in text
            assert 'gdp_pc = "carry"' not in text  # the forward rules would not fill it
        table = tmp_path / f"{state}.csv"
        pd.DataFrame([(state, y, 900.0) for y in fill[state]], columns=["state", "year", "value"]).to_csv(
            table, index=False
        )
        sc = scenario_from_dict({**mech, "inputs": {"extend": {"gdp_pc": {"table": str(table)}}}}, where="t",
                                record=rec)  # fmt: skip
        gdp = sc.transforms.standardized("capacity.log_gdp_pc", sc.world)  # reads the filled series
        column = sc.world.states.index(state)
        filled = [sc.world.years.tolist().index(y) for y in fill[state] if y in sc.world.years]
        assert np.isfinite(gdp[filled, column]).all() and len(filled)


def test_extension_rules_by_hand(tmp_path):
    years, v = [2019, 2020, 2021], [100.0, 110.0, 121.0]
    assert extend_series(years, v, [2022, 2023], Rule("carry"), "x").tolist() == [121.0, 121.0]
    np.testing.assert_allclose(extend_series(years, v, [2022], Rule("trend", 3), "x"), [133.1])  # log-linear
    share = extend_series([2000, 2001], [0.5, 0.6], [2030], Rule("trend", 2), "s")
    assert 0 < share[0] < 1  # a share stays a share (logit scale)
    table = tmp_path / "g.csv"
    pd.DataFrame({"state": ["THA"], "year": [2024], "value": [9999.0]}).to_csv(table, index=False)
    ext = Extension.parse({"gdp_pc": {"table": "g.csv"}}, where="x.toml", base=tmp_path)
    assert ext.rule("gdp_pc").lookup("THA", 2024) == 9999.0
    for bad, msg in (("sideways", "is not a rule"), ("trend:1", "is not a rule"), (3, "must be")):
        with pytest.raises(ConfigError, match=msg):
            Extension.parse({"gdp_pc": bad}, where="x.toml")


# Transforms fixed on a reference window -----------------------------------------------------------
def test_longer_horizon_leaves_earlier_terms_unchanged_to_the_last_bit(baseline):
    long = baseline.with_horizon(2030)
    T = len(baseline.world.years)
    assert np.array_equal(long.dynamics.static_logit[:T], baseline.dynamics.static_logit)
    later = baseline.with_horizon(2015, start=2003)
    assert np.array_equal(later.dynamics.static_logit, baseline.dynamics.static_logit[2003 - 1997 :])


def test_uniform_gdp_change_moves_capacity_not_the_relative_gap(baseline, record):
    cov = record.covariates.copy()
    cov["gdp_pc"] *= 1.5
    richer = baseline.with_record(replace(record, covariates=cov))
    t = baseline.transforms
    assert richer.transforms is t  # the coefficients keep their meaning
    cap0 = t.standardized("capacity.log_gdp_pc", baseline.world)
    cap1 = t.standardized("capacity.log_gdp_pc", richer.world)
    m = baseline.world.member
    np.testing.assert_allclose(cap1[m] - cap0[m], np.log(1.5) / t.values("capacity.log_gdp_pc")[1])
    gap0 = t.standardized("push_pull.gdp_gap", baseline.world)
    np.testing.assert_allclose(t.standardized("push_pull.gdp_gap", richer.world), gap0, atol=1e-12)
    # Only Thailand richer: the gap moves too.
    cov2 = record.covariates.copy()
    cov2.loc[cov2.state == "THA", "gdp_pc"] *= 1.5
    tha = baseline.with_record(replace(record, covariates=cov2))
    i = baseline.world.states.index("THA")
    assert (t.standardized("push_pull.gdp_gap", tha.world)[:, i] > gap0[:, i] + 0.1)[m[:, i]].all()
    # ... and so do the model's terms
    d = richer.dynamics.static_logit - baseline.dynamics.static_logit
    assert np.abs(d[m]).min() > 0


# One at-risk and gating rule ----------------------------------------------------------------------
def tiny(adoptions=()):
    """Three states, x and y (y requires x), 2000-2002; C joins in 2001."""
    states = pd.DataFrame({"state": ["A", "B", "C"], "joined": [1990, 1990, 2001], "subregion": ["n", "n", "s"]})
    inst = pd.DataFrame({"instrument": ["x", "y"], "opens": ["", ""], "requires": ["", "x"], "kind": ["law", "treaty"]})
    ad = pd.DataFrame(list(adoptions), columns=["state", "instrument", "year"])
    return record_from_tables("tiny", 2000, 2002, {"states": states, "instruments": inst, "adoptions": ad})


def _frequencies(adopt: np.ndarray) -> Counter:
    return Counter(map(bytes, adopt.reshape(len(adopt), -1).astype(np.int16)))


def _record_of(key: bytes, world) -> object:
    y = np.frombuffer(key, dtype=np.int16).reshape(len(world.states), len(world.instruments))
    rows = [(s, k, int(y[i, j])) for i, s in enumerate(world.states) for j, k in enumerate(world.instruments)]
    return tiny([r for r in rows if r[2] != NEVER])


def _check_frequencies(sc, adopt, loglik_of, top=8):
    n = len(adopt)
    for key, count in _frequencies(adopt).most_common(top):
        p = np.exp(loglik_of(_record_of(key, sc.world)))
        se = np.sqrt(p * (1 - p) / n)
        assert abs(count / n - p) < 4.5 * se + 1e-4, (count / n, p)


AGENT = {"diffusion": {"strength": 1.5}, "prerequisites": {"bundle": 2.0}}
LOGIT = {"diffusion": {"strength": 1.0}, "period": {"effect": 0.7, "year": 2001}}
FRAILTY = {"prerequisites": {"bundle": 1.0}, "frailty": {"sd": 1.5}}  # integrated out by quadrature
BY_KIND = {"prerequisites": {"bundle": 1.0}, "frailty": {"sd": 2.0, "by": "kind"}}  # one propensity per kind


@pytest.mark.statistical
@pytest.mark.parametrize(
    "mechs",
    [AGENT, LOGIT, FRAILTY, BY_KIND],
    ids=["agent model", "event-history logit", "state propensities", "propensities per kind"],
)
def test_simulated_frequency_matches_likelihood(mechs):
    sc = scenario_from_dict({"hazard": {"intercept": -1.2, "offsets": {"y": 0.4}}, "mechanisms": mechs}, record=tiny())
    ens = harmsim.run_ensemble(sc, replicates=100_000, seed=11)
    adopt = ens.adoptions["year"].to_numpy(dtype=float, na_value=NEVER).reshape(100_000, 3, 2)

    def ll(rec):
        s = scenario_from_dict(sc.to_dict(), record=rec)
        return loglik(s, history(s, rec))

    _check_frequencies(sc, adopt, ll)


@pytest.mark.statistical
def test_bass_simulation_matches_bass_likelihood():
    """The Bass baseline simulates and scores on the same risk sets (it may bundle a protocol with its treaty)."""
    sc = scenario_from_dict({"mechanisms": {"prerequisites": {"bundle": 0.0}}}, record=tiny())
    params = np.array([0.25, 0.2, 0.6, 0.9])  # p_x, p_y, q_x, q_y
    adopt = _simulate_bass(sc, params, 100_000, seed=5)
    same_year = ((adopt[..., 0] == adopt[..., 1]) & (adopt[..., 1] != NEVER)).any()
    assert same_year  # the old simulator never let y follow x within a year

    def ll(rec):
        s = scenario_from_dict(sc.to_dict(), record=rec)
        return float(loglik_cells(s, history(s, rec), BassLink(params, s.world))[0].sum())

    _check_frequencies(sc, adopt, ll)
    # by hand, independent of the code both sides share: A adopted x in 2000, B did not; in 2001 C joins, so B's
    # peers are A and C and B adopts x with probability p_x + q_x / 2 = 0.25 + 0.6 / 2 (without imitation: 0.25)
    x = 0
    first = (adopt[:, 0, x] == 2000) & (adopt[:, 1, x] != 2000)
    share = (adopt[first, 1, x] == 2001).mean()
    assert first.sum() > 10_000 and share == pytest.approx(0.25 + 0.6 / 2, abs=0.02), share


# Exact interval censoring ------------------------------------------------------------------------
def _interval_record(name, start, end, states, instruments, adoptions):
    """``adoptions``: (state, instrument, year) or (state, instrument, lo, hi) for an interval."""
    rows = [(a[0], a[1], a[2], a[2], a[2]) if len(a) == 3 else (a[0], a[1], "", a[2], a[3]) for a in adoptions]
    ad = pd.DataFrame(rows, columns=["state", "instrument", "year", "year_min", "year_max"])
    return record_from_tables(name, start, end, {"states": states, "instruments": instruments, "adoptions": ad})


def _interval_probabilities(sc, adopt, make_record, cell, lo, hi, top=6):
    """(simulated frequency, exact likelihood, midpoint likelihood) of the commonest histories with each of
    ``cell``'s adoptions known only within its [lo, hi] (one cell, or lists of cells and bounds)."""
    cells, los, his = (cell, lo, hi) if isinstance(cell, list) else ([cell], [lo], [hi])
    inside = np.ones(len(adopt), dtype=bool)
    for (i, k), a, b in zip(cells, los, his):
        inside &= (adopt[:, i, k] >= a) & (adopt[:, i, k] <= b)
    rest = adopt[inside].copy()
    for i, k in cells:
        rest[:, i, k] = -1  # the year is unknown: histories that differ only there are one observation
    out = []
    n = len(adopt)
    for key, count in _frequencies(rest).most_common(top):
        y = np.frombuffer(key, dtype=np.int16).reshape(adopt.shape[1:])
        rec = make_record(y)
        s = scenario_from_dict(sc.to_dict(), record=rec)
        h = history(s, rec)
        try:
            mid = np.exp(loglik_cells(s, h)[0].sum())
        except CalibrationError:  # the midpoint can put a protocol before its treaty
            mid = np.nan
        out.append((count / n, np.exp(loglik(s, h)), mid))
    return out


@pytest.mark.statistical
def test_dependent_interval_censored_cell_matches_simulation():
    """Three states, diffusion 3, one adoption known only within [2000, 2005] (the case that exposed the midpoint
    rule's bias): the exact sum over its years matches simulated frequencies; the midpoint rule does not."""
    states = pd.DataFrame({"state": ["A", "B", "C"], "joined": [1990] * 3})
    inst = pd.DataFrame({"instrument": ["x"]})
    mechs = {"diffusion": {"strength": 3.0, "weight_all": 1.0, "weight_subregion": 0.0, "weight_border": 0.0}}
    base = _interval_record("three", 2000, 2008, states, inst, [])
    sc = scenario_from_dict({"hazard": {"intercept": -2.2}, "mechanisms": mechs}, record=base)
    n = 400_000
    ens = harmsim.run_ensemble(sc, replicates=n, seed=3)
    adopt = ens.adoptions["year"].to_numpy(dtype=float, na_value=NEVER).reshape(n, 3, 1).astype(np.int16)

    def make(y):
        rows = [("A", "x", 2000, 2005)] + [(s, "x", int(y[j, 0])) for j, s in ((1, "B"), (2, "C")) if y[j, 0] != NEVER]
        return _interval_record("three", 2000, 2008, states, inst, rows)

    rows = _interval_probabilities(sc, adopt, make, (0, 0), 2000, 2005)
    biased = 0
    for freq, exact, mid in rows:
        se = np.sqrt(exact * (1 - exact) / n)
        assert abs(freq - exact) < 4.5 * se + 1e-5, (freq, exact, mid)
        biased += abs(freq - mid) > 6 * se
    assert biased, "the midpoint rule should be detectably wrong on some of these histories"


def _check_tiny_intervals(sc, seed, intervals, n=200_000, top=8):
    """Simulated frequencies against the exact likelihood on :func:`tiny`, with ``intervals`` ((state index,
    instrument index, lo, hi), ...) known only within their bounds."""
    ens = harmsim.run_ensemble(sc, replicates=n, seed=seed)
    adopt = ens.adoptions["year"].to_numpy(dtype=float, na_value=NEVER).reshape(n, 3, 2).astype(np.int16)
    w = sc.world
    cells = [(i, k) for i, k, _, _ in intervals]

    def make(y):
        rows = [(w.states[i], w.instruments[k], lo, hi) for i, k, lo, hi in intervals]
        rows += [
            (s, k, int(y[i, j]))
            for i, s in enumerate(w.states)
            for j, k in enumerate(w.instruments)
            if y[i, j] != NEVER and (i, j) not in cells
        ]
        states = pd.DataFrame({"state": ["A", "B", "C"], "joined": [1990, 1990, 2001], "subregion": ["n", "n", "s"]})
        inst = pd.DataFrame(
            {"instrument": ["x", "y"], "opens": ["", ""], "requires": ["", "x"], "kind": ["law", "treaty"]}
        )
        return _interval_record("tiny", 2000, 2002, states, inst, rows)

    los, his = [lo for *_, lo, _ in intervals], [hi for *_, hi in intervals]
    for freq, exact, _ in _interval_probabilities(sc, adopt, make, cells, los, his, top=top):
        se = np.sqrt(exact * (1 - exact) / n)
        assert abs(freq - exact) < 4.5 * se + 1e-5, (freq, exact)


@pytest.mark.statistical
def test_interval_censored_prerequisite_matches_simulation():
    """A treaty known only within [2000, 2002] gates its protocol in the same state (bundled in its year) and
    acts on peers through diffusion: each (before, after) pair of adoption sets is summed."""
    sc = scenario_from_dict({"hazard": {"intercept": -1.2, "offsets": {"y": 0.4}}, "mechanisms": AGENT}, record=tiny())
    _check_tiny_intervals(sc, 12, [(0, 0, 2000, 2002)])


@pytest.mark.statistical
def test_unknown_years_of_a_treaty_and_its_protocol_match_simulation():
    """A treaty and its protocol both known only within an interval, no diffusion: nothing reads the protocol,
    but its own gate reads the treaty's unknown year, so both are summed over together."""
    mechs = {"prerequisites": {"bundle": 2.0}}
    sc = scenario_from_dict({"hazard": {"intercept": -1.0, "offsets": {"y": 0.3}}, "mechanisms": mechs}, record=tiny())
    _check_tiny_intervals(sc, 21, [(0, 0, 2000, 2001), (0, 1, 2001, 2002)], top=6)


# History by view ----------------------------------------------------------------------------------
class Peek(Mechanism):
    name = "peek"
    summary = "a broken mechanism that reads the year being decided"
    params = {"strength": Real(1.0, -5.0, 5.0, "log-odds")}

    def dynamic(self, ti, view):
        return self.p.strength * view.adopted_before(view.t + 1)


def test_reading_a_later_year_fails_in_both_engines_and_the_likelihood(monkeypatch):
    monkeypatch.setitem(REGISTRY, "peek", Peek)
    rec = tiny([("A", "x", 2001)])
    sc = scenario_from_dict({"mechanisms": {"peek": {}}}, record=rec)
    with pytest.raises(LookaheadError, match="a mechanism may read only the past"):
        harmsim.run_ensemble(sc, replicates=2, seed=0)
    with pytest.raises(LookaheadError):
        harmsim.run(sc, seed=0)
    with pytest.raises(LookaheadError):
        loglik(sc, history(sc, rec))


def test_view_hides_undecided_years():
    from harmsim.model.mechanisms import PastView, State

    ay = np.array([[[2000, 2003], [2001, NEVER]]], dtype=np.int16)
    st = State(ay, np.array([[1999, 2005]], dtype=np.int16), np.array([[1990, 2004]]))
    v = PastView(st, 2001, same_year=np.array([True, False]))
    assert v.adopted_before().tolist() == [[[True, False], [False, False]]]
    assert v.adoption_years().tolist() == [[[2000, NEVER], [2001, NEVER]]]  # same year visible for layer 0 only
    assert v.arrivals().tolist() == [[1999, NEVER]] and v.open_years().tolist() == [[1990, NEVER]]


# Common random numbers over horizons --------------------------------------------------------------
def test_longer_horizon_keeps_earlier_draws_and_engines_agree(baseline):
    seeds = harmsim.spawn_seeds(3, 40)
    short = harmsim.run_ensemble(baseline, seeds=seeds).adoptions
    long = harmsim.run_ensemble(baseline.with_horizon(2030), seeds=seeds).adoptions
    upto = long["year"].where(long["year"] <= 2015)
    pd.testing.assert_series_equal(short["year"], upto, check_names=False)
    assert (long["year"] > 2015).any()
    mesa = harmsim.run_ensemble(baseline.with_horizon(2030), seeds=seeds[:10], engine="mesa").adoptions
    batch = long[long["replicate"] < 10].reset_index(drop=True)
    pd.testing.assert_frame_equal(mesa, batch)


# Observations with their own window ---------------------------------------------------------------
def test_observed_until_cuts_outcomes_not_inputs(record):
    cut = observed_until(record, 2008)
    a = cut.adoptions.set_index(["state", "instrument"])
    assert pd.isna(a.loc[("THA", "untoc"), "year"]) and a.loc[("THA", "untoc"), "seen_until"] == 2008
    assert a.loc[("MYS", "untoc"), "year"] == 2004
    # HSU non-founders: adopted in 2004-2015; cut at 2008: not before 2004, unknown after
    assert pd.isna(a.loc[("PHL", "hsu_process"), "year_max"]) and a.loc[("PHL", "hsu_process"), "seen_until"] == 2003
    assert cut.covariates is record.covariates and cut.agreements is record.agreements
    sc = harmsim.load_scenario("baseline")
    obs = observations(sc.world, cut)
    i, k = sc.world.states.index("PHL"), sc.world.instruments.index("hsu_process")
    assert obs.kind[i, k] == CENSORED and obs.seen[i, k] == 2003 and obs.end == 2008
    full = observations(sc.world, record)
    assert full.kind[i, k] == INTERVAL
    assert full.kind[sc.world.states.index("TLS"), sc.world.instruments.index("tip_law")] == UNOBSERVED
    assert (obs.kind == DATED).sum() < (full.kind == DATED).sum()
    with pytest.raises(ConfigError, match="before the record"):
        observed_until(record, 1990)


def test_likelihood_uses_the_observation_window_not_the_horizon(baseline, record):
    cut = observed_until(record, 2008)
    h = history(baseline, cut)
    ll_long = loglik(baseline.with_horizon(2030), history(baseline.with_horizon(2030), cut))
    assert ll_long == pytest.approx(loglik(baseline, h), abs=1e-12)
    assert ll_long == pytest.approx(loglik(baseline.with_horizon(2008), history(baseline.with_horizon(2008), cut)))
    assert loglik_cells(baseline, h)[1] < loglik_cells(baseline, history(baseline, record))[1]


def test_compare_uses_the_observation_window(baseline, record):
    seeds = harmsim.spawn_seeds(1, 30)
    a = harmsim.compare(harmsim.run_ensemble(baseline, seeds=seeds), record)
    b = harmsim.compare(harmsim.run_ensemble(baseline.with_horizon(2030), seeds=seeds), record)
    pd.testing.assert_frame_equal(a, b)
    assert "TLS" not in set(a["item"])  # not a member in any observed year

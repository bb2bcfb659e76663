"""One organization's own level and slope (the region mechanism): its term by hand, its refusals, its penalty,
and the partial pooling it fits: a known deviation recovered with a loose prior, drawn to 0 by a tight one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from harmsim.data.record import record_from_tables
from harmsim.errors import ConfigError
from harmsim.model.mechanisms.region import Region, region_members
from harmsim.model.scenario import scenario_from_dict

from .test_world_model import TWO_LAWS, _many_organizations

STATES = pd.DataFrame({"state": ["A", "B", "C", "D"], "joined": [1990] * 4, "subregion": ["n", "n", "s", "s"]})
#: C leaves O1 after 2001; D joins O1 in 2002; B is in O2 only
SPELLS = pd.DataFrame(
    {
        "organization": ["O1", "O1", "O1", "O2"],
        "state": ["A", "C", "D", "B"],
        "joined": [1990, 1990, 2002, 1990],
        "left": ["", "2001", "", ""],
    }
)


def panel(end: int = 2005, first: str = "O1"):
    """The four states, 2000-``end``; the first organization named ``first``."""
    spells = SPELLS.assign(organization=SPELLS["organization"].replace("O1", first))
    tables = {
        "states": STATES,
        "instruments": TWO_LAWS,
        "adoptions": pd.DataFrame(columns=["state", "instrument", "year", "year_min", "year_max"]),
        "organizations": pd.DataFrame({"organization": [first, "O2"], "membership": ["recorded", "recorded"]}),
        "memberships": spells,
        "agreements": pd.DataFrame(columns=["agreement", "organization", "year", "binding", "covers"]),
    }
    return record_from_tables("regions", 2000, end, tables)


def scenario(record, region, end=None):
    raw = {"hazard": {"intercept": -2.0}, "mechanisms": {"region": region}}
    if end is not None:
        raw["window"] = {"start": 2000, "end": end}
    return scenario_from_dict(raw, record=record, where="test.toml")


def test_the_term_by_hand_follows_membership_and_is_held_past_the_record():
    """level + slope x decades from the center for the organization's members in their years, 0 for others;
    past the record's last year the slope's part stays at its value there."""
    rec = panel(end=2003)
    sc = scenario(rec, {"organization": "O1", "level": 0.7, "slope": 0.4, "center": 2001}, end=2005)
    w = sc.world
    term = sc.dynamics.mechanism("region").static()[:, :, 0]
    years = w.years.tolist()
    a, b, c, d = (w.states.index(s) for s in "ABCD")
    for t in years:
        s = (min(t, 2003) - 2001) / 10
        ti = years.index(t)
        assert term[ti, a] == pytest.approx(0.7 + 0.4 * s)
        assert term[ti, b] == 0.0  # in O2 only
        assert term[ti, c] == (pytest.approx(0.7 + 0.4 * s) if t <= 2001 else 0.0)
        assert term[ti, d] == (pytest.approx(0.7 + 0.4 * s) if t >= 2002 else 0.0)
    assert term[years.index(2005), a] == term[years.index(2003), a]  # held


def test_members_default_to_the_one_region_of_a_record_without_organizations(baseline):
    m = region_members(baseline.world, "")
    np.testing.assert_array_equal(m, baseline.world.member.astype(float))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("O3", "names unknown organization 'O3'; allowed: O1, O2"),
        ("", "must name one of the record's organizations: O1, O2"),
        (3, "must be an organization id, got 3"),
    ],
)
def test_an_organization_the_record_does_not_have_is_refused(value, message):
    with pytest.raises(ConfigError, match=f"test.toml: 'region.organization' {message}"):
        scenario(panel(), {"organization": value})


def test_a_named_organization_on_a_record_without_organizations_is_refused():
    with pytest.raises(ConfigError, match=r"unknown organization 'ASEAN'; allowed: \"\" \(the record has no"):
        scenario_from_dict({"mechanisms": {"region": {"organization": "ASEAN"}}}, where="test.toml")


def test_the_penalty_is_the_normal_priors_and_its_scales_are_not_fitted(baseline):
    from harmsim.calibrate.mle import default_free, penalty

    sc = scenario(panel(), {"organization": "O1", "level": 0.6, "slope": -0.5, "level_sd": 0.3, "slope_sd": 2.0})
    p = sc.mechanism("region")
    assert Region.log_prior(p) == pytest.approx(-(0.6**2) / (2 * 0.09) - 0.25 / 8)
    assert penalty(sc) == pytest.approx(Region.log_prior(p))
    free = default_free(sc, sc.record)
    assert {"region.level", "region.slope"} <= set(free)
    assert not {"region.level_sd", "region.slope_sd"} & set(free)


@pytest.mark.statistical
def test_a_known_deviation_is_recovered_with_a_loose_prior_and_pooled_with_a_tight_one():
    """One organization of eight states (two of them also in another) adopts faster (level +1.2) and faster still
    over time (slope +1.0 per decade) than the other 64 states. With a loose prior (sd 10) the fits to ten
    simulated panels centre on the truth: their mean within 2.5 standard errors of the mean (the estimates' own
    spread over the panels) for both, and every level's interval above 0. (With eight states the Wald standard
    errors run a little small: over twenty panels the z-scores' spread was 1.2, not 1, so single panels are not
    held to them.) With a tight prior (sd 0.05) both are held near 0, the pooled model.

    Mutation: drop the penalty (``Region.log_prior`` returning 0): the tight prior no longer holds them."""
    from harmsim.analysis.bindingness import synthetic_panel
    from harmsim.calibrate.mle import fit_mle

    rec = _many_organizations()
    region = {"organization": "O03", "level": 1.2, "slope": 1.0, "level_sd": 10.0, "slope_sd": 10.0}
    truth = scenario_from_dict({"hazard": {"intercept": -3.0}, "mechanisms": {"region": region}}, record=rec)
    free = ["hazard.intercept", "region.level", "region.slope"]
    rows = []
    for seed in range(1, 11):
        sim = synthetic_panel(truth, rec, seed)
        rows.append(fit_mle(truth.with_record(sim), sim, free).estimates.set_index("parameter"))
    for name, true in (("region.level", 1.2), ("region.slope", 1.0)):
        est = np.array([r.loc[name, "estimate"] for r in rows])
        assert abs(est.mean() - true) < 2.5 * est.std(ddof=1) / np.sqrt(len(est)), (name, est.round(2))
    assert all(r.loc["region.level", "lower"] > 0 for r in rows)
    tight = truth.with_params({"region.level_sd": 0.05, "region.slope_sd": 0.05})
    est = fit_mle(tight.with_record(sim), sim, free).estimates.set_index("parameter")["estimate"]
    assert abs(est["region.level"]) < 0.15 and abs(est["region.slope"]) < 0.15, est.to_dict()


def test_a_record_without_the_organization_is_refused_and_it_cannot_be_swept():
    from harmsim.model.space import parse_vary

    sc = scenario(panel(), {"organization": "O1"})
    with pytest.raises(
        ConfigError,
        match=r"mechanism 'region': 'region.organization' names unknown organization 'O1'; allowed: O3, O2",
    ):
        sc.with_record(panel(first="O3"))
    with pytest.raises(ConfigError, match=r"'region\.organization' names an organization and cannot be swept"):
        parse_vary("region.organization=O1,O2", sc)


def test_the_fit_says_in_words_what_it_shows_of_the_region(tmp_path):
    """The summary names the organization and the declared scales, and says for each deviation whether its
    interval includes 0; the scales go into the fit's log, and a fit saved and loaded says the same."""
    from harmsim.analysis.bindingness import synthetic_panel
    from harmsim.calibrate.fit import load_fit
    from harmsim.calibrate.mle import fit_mle

    rec = _many_organizations()
    region = {"organization": "O03", "level": 1.5, "slope": 0.0, "level_sd": 10.0, "slope_sd": 0.5}
    truth = scenario_from_dict({"hazard": {"intercept": -3.0}, "mechanisms": {"region": region}}, record=rec)
    sim = synthetic_panel(truth, rec, 1)
    fit = fit_mle(truth.with_record(sim), sim, ["hazard.intercept", "region.level", "region.slope"])
    assert fit.log["region"] == {"organization": "O03", "level_sd": 10.0, "slope_sd": 0.5}
    text = fit.summary()
    assert "The members of O03 get a level and a slope of their own" in text
    assert "standard deviations 10 log-odds and 0.5 per decade, declared, not fitted" in text
    assert "O03's members are faster than the pooled model predicts." in text
    assert "O03's slope is not told apart from the pooled model's." in text
    fit.save(tmp_path / "fit")
    assert load_fit(tmp_path / "fit").summary() == text


@pytest.mark.statistical
def test_simulated_frequency_matches_likelihood_with_a_region_and_state_propensities():
    """One organization's own level and slope (O1: C leaving after 2001) together with a propensity per state,
    organization peers in diffusion and agreements of both kinds: the likelihood of each of the commonest
    histories equals its frequency in 100,000 simulated runs, dated and with A's year of x known only within
    2000-2002 (a peer that diffusion reads).

    Mutation: drop the region's term from the likelihood's scenario (level and slope 0 there): the histories
    where O1's members adopt early are off by tens of standard errors."""
    from .test_world_model import MECHS, frequencies_match_likelihood

    mechs = {**MECHS, "region": {"organization": "O1", "level": 0.9, "slope": 2.0, "center": 2001},
             "frailty": {"sd": 0.8}}  # fmt: skip
    assert frequencies_match_likelihood(mechs, seed=11) >= 8

"""The model on records with regional organizations: coverage, eligibility, the terms, and the likelihood.

A tiny panel checks each rule by hand (four states, two organizations, one state in both); the packaged world
record checks that the rules read its tables as documented.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest

import harmsim
from harmsim.calibrate import likelihood as L
from harmsim.data.observations import observations
from harmsim.data.record import load_record, record_from_tables
from harmsim.data.world import NEVER, World
from harmsim.errors import ConfigError
from harmsim.model.scenario import scenario_from_dict

STATES = pd.DataFrame({"state": ["A", "B", "C", "D"], "joined": [1990] * 4, "subregion": ["n", "n", "s", "s"]})
ORGS = pd.DataFrame({"organization": ["O1", "O2"], "membership": ["recorded", "recorded"]})
#: C is in both organizations, and leaves O1 after 2001; D joins O2 in 2002
SPELLS = pd.DataFrame(
    {
        "organization": ["O1", "O1", "O1", "O2", "O2"],
        "state": ["A", "B", "C", "C", "D"],
        "joined": [1990, 1990, 1990, 1990, 2002],
        "left": ["", "", "2001", "", ""],
    }
)
INSTRUMENTS = pd.DataFrame(
    {
        "instrument": ["x", "r"],
        "opens": ["", ""],
        "opened_by": ["", "o2_treaty"],
        "organization": ["", "O2"],
        "kind": ["law", "regional_treaty"],
    }
)
AGREEMENTS = pd.DataFrame(
    {
        "agreement": ["o1_decl", "o2_treaty"],
        "organization": ["O1", "O2"],
        "year": [2000, 2001],
        "binding": ["no", "yes"],
        "covers": ["x", "x r"],
    }
)


def panel(adoptions=()) -> object:
    """The tiny panel, 2000-2003, with ``adoptions``: (state, instrument, year) or (state, instrument, lo, hi)."""
    rows = [(a[0], a[1], a[2], a[2], a[2]) if len(a) == 3 else (a[0], a[1], "", a[2], a[3]) for a in adoptions]
    ad = pd.DataFrame(rows, columns=["state", "instrument", "year", "year_min", "year_max"])
    tables = {
        "states": STATES,
        "instruments": INSTRUMENTS,
        "adoptions": ad,
        "organizations": ORGS,
        "memberships": SPELLS,
        "agreements": AGREEMENTS,
    }
    return record_from_tables("orgs", 2000, 2003, tables)


MECHS = {
    "agreements": {"nonbinding": 0.8, "binding": 1.5, "binding_general": 0.0, "lead": 0.0, "lag": 0},
    "diffusion": {"strength": 1.2, "weight_all": 1.0, "weight_subregion": 0.0, "weight_border": 0.0,
                  "weight_organization": 3.0},
}  # fmt: skip


def scenario(record, mechs=MECHS):
    raw = {"hazard": {"intercept": -1.6, "offsets": {"r": -0.3}}, "mechanisms": mechs}
    return scenario_from_dict(raw, record=record)


# Coverage and eligibility -------------------------------------------------------------------------------------
def test_an_agreement_covers_the_members_of_its_organization_in_their_years():
    w = World.build(panel())
    t = {y: i for i, y in enumerate(w.years)}
    d, o2 = w.agreements.index("o1_decl"), w.agreements.index("o2_treaty")
    A, C, D = (w.states.index(s) for s in "ACD")
    assert w.covered[t[2001], C, d] and not w.covered[t[2002], C, d]  # C left O1 after 2001
    assert w.covered[t[2001], C, o2] and w.covered[t[2002], C, o2]  # and stays in O2: both at once before
    assert not w.covered[t[2001], D, o2] and w.covered[t[2002], D, o2]  # D joins O2 in 2002
    assert not w.covered[:, A, o2].any()


def test_a_regional_treaty_is_open_only_to_members_of_its_organization():
    w = World.build(panel())
    r = w.instruments.index("r")
    assert w.opens[r] == 2001  # no year given: it opens with its agreement
    assert w.open_to[:, :, r].tolist() == [[False, False, True, False]] * 2 + [[False, False, True, True]] * 2
    sc = scenario(panel())
    elig = sc.dynamics._static_eligible
    assert not elig[0, :, r].any() and elig[1, :, r].tolist() == [False, False, True, False]


def test_an_adoption_by_a_non_member_is_refused_by_the_record():
    with pytest.raises(harmsim.errors.RecordError, match="member"):
        panel([("A", "r", 2002)])


# The terms by hand ----------------------------------------------------------------------------------------------
def test_agreement_terms_by_hand():
    """Each state's term from its own organizations: effects by bindingness, on what each calls for or not, and
    the lead. (A mutation covering every state by every agreement fails the first assertion.)"""
    mechs = {"agreements": {"nonbinding": 0.5, "binding": 2.0, "nonbinding_general": 0.0, "binding_general": 0.25,
                            "lead": 0.125, "lead_years": 1, "lag": 0}}  # fmt: skip
    sc = scenario(panel(), mechs)
    term = next(m for m in sc.dynamics.mechanisms if m.name == "agreements").static()
    w = sc.world
    x, r = w.instruments.index("x"), w.instruments.index("r")
    A, C, D = (w.states.index(s) for s in "ACD")
    # A (O1 only): the declaration from 2000 on x; nothing from O2
    assert term[:, A, x].tolist() == [0.5, 0.5, 0.5, 0.5]
    assert term[:, A, r].tolist() == [0.0] * 4
    # C: O1's declaration while in O1 (2000-2001), O2's treaty from 2001 (binding 2.0 on x and r), and its lead
    # (2000: the year before the treaty, on both)
    assert term[:, C, x].tolist() == [0.5 + 0.125, 0.5 + 2.0, 2.0, 2.0]
    assert term[:, C, r].tolist() == [0.125, 2.0, 2.0, 2.0]
    # D joins O2 in 2002: the treaty acts from then; no lead (not a member in 2000)
    assert term[:, D, x].tolist() == [0.0, 0.0, 2.0, 2.0]


def test_general_effect_acts_on_what_an_agreement_does_not_call_for():
    mechs = {"agreements": {"nonbinding": 0.0, "binding": 0.0, "nonbinding_general": 0.75, "lag": 0}}
    sc = scenario(panel(), mechs)
    term = next(m for m in sc.dynamics.mechanisms if m.name == "agreements").static()
    w = sc.world
    A, r, x = w.states.index("A"), w.instruments.index("r"), w.instruments.index("x")
    assert term[:, A, r].tolist() == [0.75] * 4  # the declaration does not call for r
    assert term[:, A, x].tolist() == [0.0] * 4


def test_organization_peers_weigh_more_in_diffusion():
    """Weights by hand: C's peers in 2001 are A and B (O1, weight 1 + 3) and D (no shared organization, 1)."""
    sc = scenario(panel())
    W = next(m for m in sc.dynamics.mechanisms if m.name == "diffusion").W
    w = sc.world
    A, B, C, D = (w.states.index(s) for s in "ABCD")
    t = list(w.years).index(2001)
    np.testing.assert_allclose(W[t, C, [A, B, D]], np.array([4.0, 4.0, 1.0]) / 9.0)
    t = list(w.years).index(2002)  # C has left O1 and D has joined O2
    np.testing.assert_allclose(W[t, C, [A, B, D]], np.array([1.0, 1.0, 4.0]) / 6.0)


def test_endogenous_arrival_is_refused_with_organizations():
    mechs = {"agreements": {"arrival": "endogenous"}}
    with pytest.raises(ConfigError, match=r"endogenous.*organizations"):
        scenario(panel(), mechs).dynamics  # noqa: B018


# The likelihood -------------------------------------------------------------------------------------------------
def _years_of(adopt_row, w):
    return [(w.states[i], w.instruments[k], int(adopt_row[i, k])) for i, k in np.argwhere(adopt_row != NEVER)]


@pytest.mark.statistical
def test_simulated_frequency_matches_likelihood_with_organizations():
    """Two organizations, one state in both and one leaving, organization peers in diffusion, agreements of both
    kinds and a treaty open to one organization: the likelihood of each of the commonest histories equals its
    frequency in 100,000 simulated runs."""
    sc = scenario(panel())
    n = 100_000
    ens = harmsim.run_ensemble(sc, replicates=n, seed=3)
    w = sc.world
    adopt = ens.adoptions["year"].to_numpy(dtype=float, na_value=NEVER).reshape(n, *w.initial.shape)
    counts = Counter(map(bytes, adopt.astype(np.int16).reshape(n, -1)))
    for key, count in counts.most_common(8):
        row = np.frombuffer(key, dtype=np.int16).reshape(w.initial.shape)
        rec = panel(_years_of(row, w))
        s = scenario(rec)
        p = np.exp(L.loglik(s, L.history(s, rec)))
        se = np.sqrt(p * (1 - p) / n)
        assert abs(count / n - p) < 4.5 * se + 1e-4, (count / n, p)


def test_a_large_group_is_importance_sampled_and_agrees_with_the_exact_sum(monkeypatch):
    """Interval-censored peers that diffusion reads: the sampled estimate (the path for groups too large to sum)
    is within its Monte Carlo error of the exact sum, here small enough to do both."""
    rec = panel([("A", "x", 2000, 2002), ("B", "x", 2001, 2003), ("C", "x", 2001), ("D", "r", 2002, 2003)])
    s = scenario(rec)
    exact = L.loglik(s, L.history(s, rec))
    assert L.likelihood_path(s, L.history(s, rec))["path"] == "exact"
    monkeypatch.setattr(L._paths, "MAX_HIDDEN", 0)
    monkeypatch.setattr(L._paths, "GROUP_SAMPLES", 4096)
    h = L.history(s, rec)
    how = L.likelihood_path(s, h)
    assert how["path"] == "sampled" and how["samples"] == 4096
    sampled = L.loglik(s, h)
    assert abs(sampled - exact) < 4 * how["log-likelihood Monte Carlo s.e."] + 1e-3, (sampled, exact, how)
    # a smooth surface: the paths are drawn once, so nearby parameters move the estimate smoothly
    up = L.loglik(s.with_params({"diffusion.strength": 1.2 + 1e-6}), h)
    assert abs(up - sampled) < 1e-4


def test_a_prerequisite_is_implied_by_what_requires_it():
    """The world panel's UNTOC coding stops in 2011 for some states that joined the Protocol later: the Protocol's
    year bounds UNTOC's (an interval), instead of a history the prerequisite gate makes impossible."""
    sc = harmsim.load_scenario("world_baseline")
    h = L.history(sc, sc.record)
    w = sc.world
    i, u = w.states.index("BDI"), w.instruments.index("untoc")
    assert h.kind[i, u] == L.INTERVAL and (h.lo[i, u], h.hi[i, u]) == (2012, 2012)


def _unseen_panel(a_seen: bool, d_known: bool):
    """The tiny panel with A's law known not adopted only to 2001 (or dated 2002), D's never observed (or dated
    2000), B's dated 2003 and C's an interval."""
    rows = [
        ("A", "x", "" if a_seen else 2002, 2001 if a_seen else ""),
        ("B", "x", 2003, ""),
        ("C", "x", "", ""),
    ] + ([("D", "x", 2000, "")] if d_known else [])
    ad = pd.DataFrame(rows, columns=["state", "instrument", "year", "seen_until"])
    ad["year_min"] = ["", "", 2001] + ([""] if d_known else [])
    ad["year_max"] = ["", "", 2002] + ([""] if d_known else [])
    tables = {"states": STATES, "instruments": INSTRUMENTS, "adoptions": ad, "organizations": ORGS,
              "memberships": SPELLS, "agreements": AGREEMENTS}  # fmt: skip
    if not d_known:
        tables["status"] = pd.DataFrame({"state": ["D"], "instrument": ["x"], "value": ["unknown"]})
    return record_from_tables("orgs", 2000, 2003, tables)


def test_unseen_years_are_read_as_the_scenario_says():
    """With [inputs] unseen = "adopted" the other cells read a cell, in the years the record does not know, as
    adopted at the first it could: A's law after 2001, D's from 2000. Every cell's term is then the default
    reading's on the record with those adoptions dated, A's own (to 2001) with D's alone dated."""
    from dataclasses import replace

    rec = _unseen_panel(a_seen=True, d_known=False)
    lower = scenario(rec)
    upper = replace(lower, unseen="adopted")
    h_lo, h_up = L.history(lower, rec), L.history(upper, rec)
    x = rec.instrument_ids.index("x")
    a, d = (lower.world.states.index(s) for s in "AD")
    assert h_lo.kind[a, x] == L.CENSORED and h_lo.seen[a, x] == 2001 and h_lo.kind[d, x] == L.UNOBSERVED
    assert (h_lo.state.adopt_year[0, [a, d], x] == NEVER).all()
    assert h_up.state.adopt_year[0, a, x] == 2002 and h_up.state.adopt_year[0, d, x] == 2000
    cells_up, _ = L.loglik_cells(upper, h_up)
    cells_lo, _ = L.loglik_cells(lower, h_lo)
    dated = _unseen_panel(a_seen=False, d_known=True)
    cells_dated, _ = L.loglik_cells(scenario(dated), L.history(scenario(dated), dated))
    others = np.ones(cells_up.shape, dtype=bool)
    others[[a, d], x] = False
    np.testing.assert_allclose(cells_up[others], cells_dated[others], rtol=0, atol=1e-12)
    assert not np.allclose(cells_up[others], cells_lo[others])  # diffusion reads them
    d_dated = _unseen_panel(a_seen=True, d_known=True)
    cells_d, _ = L.loglik_cells(scenario(d_dated), L.history(scenario(d_dated), d_dated))
    assert cells_up[a, x] == pytest.approx(cells_d[a, x], abs=1e-12) and cells_up[a, x] != cells_lo[a, x]
    assert cells_up[d, x] == cells_lo[d, x] == 0.0  # never observed: no term of its own
    # on the world panel a Protocol party never observed reads as one from the Protocol's opening year
    world = harmsim.load_scenario("world_baseline")
    obs = observations(world.world, world.record)
    i, k = world.world.states.index("IND"), world.world.instruments.index("tip_protocol")
    assert obs.kind[i, k] == L.UNOBSERVED and world.world.opens[k] == 2000
    assert obs.imputed()[i, k] == NEVER and obs.imputed(world.world)[i, k] == 2000
    # nothing reads adoptions: the two readings are one likelihood
    quiet = {"agreements": MECHS["agreements"]}
    assert L.loglik(scenario(rec, quiet), L.history(scenario(rec, quiet), rec)) == L.loglik(
        replace(scenario(rec, quiet), unseen="adopted"), L.history(replace(scenario(rec, quiet), unseen="adopted"), rec)
    )


# The world record -------------------------------------------------------------------------------------------------
def test_world_coverage_reads_the_memberships_table():
    rec = load_record("world")
    w = World.build(rec)
    t = {y: i for i, y in enumerate(w.years)}
    fd = w.agreements.index("eu_fd_2002_629")
    eu_2003 = set(rec.members("EU", 2003))
    covered = {s for s, c in zip(w.states, w.covered[t[2003], :, fd]) if c}
    assert covered == eu_2003 and "POL" not in covered  # Poland joined the EU in 2004
    assert w.covered[t[2004], w.states.index("POL"), fd]
    # an organization whose members the record does not know covers no state
    osce = w.agreements.index("osce_ap_2003")
    assert not w.covered[:, :, osce].any()
    saarc = w.instruments.index("saarc2002")
    afg = w.states.index("AFG")
    assert not w.open_to[t[2006], afg, saarc] and w.open_to[t[2007], afg, saarc]


# Organization intercepts -----------------------------------------------------------------------------------------
ORG_MECHS = {**MECHS, "organizations": {"sd": 1.2, "membership": "mean"}}


def _coarsened(row: np.ndarray, w, lo: int, hi: int) -> tuple:
    """A simulated history as the record would show it when A's year of x is known only within [lo, hi]."""
    out = row.copy()
    a, x = w.states.index("A"), w.instruments.index("x")
    if lo <= out[a, x] <= hi:
        out[a, x] = -1  # "within [lo, hi]"
    return tuple(out.ravel().tolist())


@pytest.mark.statistical
def test_simulated_frequency_matches_likelihood_with_organization_intercepts():
    """Organization intercepts (sd 1.2; C in both organizations, weights 1/2 each, and leaving O1 after 2001; D
    joining O2 in 2002) on top of organization peers in diffusion: the likelihood, with the intercepts integrated
    out by importance sampling, equals the frequency of each of the commonest histories in 100,000 simulated runs,
    dated and with A's year of x known only within 2000-2002 (a peer that diffusion reads: its years are summed
    over given each draw of the intercepts).

    Mutation: drop the intercepts from the likelihood (``organizations.sd`` 0 there): the histories where both
    organizations move together are off by tens of standard errors."""
    assert frequencies_match_likelihood(ORG_MECHS, seed=5) > 0  # the comparison ran


def frequencies_match_likelihood(mechs, seed: int, n: int = 100_000) -> int:
    """Simulate the tiny panel under ``mechs`` ``n`` times and assert that the likelihood of each of the six
    commonest histories, dated and with A's year of x known only within 2000-2002, equals its frequency within 4.5
    standard errors; return how many were compared."""
    sc = scenario(panel(), mechs)
    ens = harmsim.run_ensemble(sc, replicates=n, seed=seed)
    w = sc.world
    adopt = ens.adoptions["year"].to_numpy(dtype=float, na_value=NEVER).reshape(n, *w.initial.shape).astype(int)
    compared = 0
    for coarse in (False, True):
        keys = [_coarsened(r, w, 2000, 2002) if coarse else tuple(r.ravel().tolist()) for r in adopt]
        for key, count in Counter(keys).most_common(6):
            row = np.array(key).reshape(w.initial.shape)
            known = _years_of(np.where(row == -1, NEVER, row), w)
            if coarse and (row == -1).any():
                known.append(("A", "x", 2000, 2002))
            elif coarse:
                continue
            rec = panel(known)
            s = scenario(rec, mechs)
            p = np.exp(L.loglik(s, L.history(s, rec)))
            se = np.sqrt(p * (1 - p) / n)
            assert abs(count / n - p) < 4.5 * se + 1e-4, (coarse, key, count / n, p)
            compared += 1
    return compared


def test_organization_intercepts_at_zero_spread_are_the_model_without_them():
    """sd = 0: the importance-sampled likelihood equals the likelihood without the mechanism, within its Monte
    Carlo error; and it rises from there on a panel where one organization is much faster than the other."""
    rec = panel([("A", "x", 2000), ("B", "x", 2000), ("C", "x", 2001), ("D", "r", 2003)])
    s0 = scenario(rec, {**MECHS, "organizations": {"sd": 0.0}})
    plain = scenario(rec)
    h = L.history(s0, rec)
    how = L.likelihood_path(s0, h)
    assert how["path"] == "sampled" and how["samples"] == L._shared.SHARED_DRAWS
    assert (
        abs(L.loglik(s0, h) - L.loglik(plain, L.history(plain, rec)))
        < 4 * how["log-likelihood Monte Carlo s.e."] + 1e-3
    )
    # smooth in the spread: the draws are fixed, the mode moves smoothly
    a, b = (L.loglik(s0.with_params({"organizations.sd": v}), h) for v in (0.5, 0.5 + 1e-6))
    assert abs(b - a) < 1e-3


def test_membership_weights_are_the_mean_or_the_sum_of_a_states_organizations():
    from harmsim.model.mechanisms.organizations import membership_weights

    w = scenario(panel()).world
    c, d = w.states.index("C"), w.states.index("D")
    mean, total = membership_weights(w, "mean"), membership_weights(w, "sum")
    y2000, y2003 = 0, 3
    assert mean[y2000, c].tolist() == [0.5, 0.5] and total[y2000, c].tolist() == [1.0, 1.0]
    assert mean[y2003, c].tolist() == [0.0, 1.0]  # left O1 after 2001
    assert mean[y2000, d].tolist() == [0.0, 0.0] and mean[y2003, d].tolist() == [0.0, 1.0]  # joined O2 in 2002


def test_organization_intercepts_move_every_member_together_in_the_engines():
    """One replicate's draw shifts the log-odds of every member of an organization by sd x its draw (weighted by
    membership), the same in the batch engine and the Mesa model."""
    sc = scenario(panel(), ORG_MECHS)
    seeds = harmsim.spawn_seeds(2, 3)
    from harmsim.model import batch

    a_batch, _ = batch.simulate(sc, seeds)
    for r, seed in enumerate(seeds):
        run = harmsim.run(sc, seed=seed)
        np.testing.assert_array_equal(run.model.state.adopt_year[0], a_batch[r])
    v = sc.dynamics.shared_draws(seeds)
    assert v.shape == (3, 2)
    m = sc.dynamics.mechanism("organizations")
    state = sc.dynamics.initial_state(3, shared=v)
    from harmsim.model.mechanisms import PastView

    term = m.dynamic(0, PastView(state, 2000))[:, :, 0]
    c = sc.world.states.index("C")
    np.testing.assert_allclose(term[:, c], 1.2 * (v[:, 0] + v[:, 1]) / 2)
    np.testing.assert_allclose(term[:, 0], 1.2 * v[:, 0])


#: two national instruments, open from the start, neither requiring the other
TWO_LAWS = pd.DataFrame(
    {"instrument": ["x", "y"], "opens": ["", ""], "opened_by": ["", ""], "organization": ["", ""], "kind": ["law"] * 2}
)


def _many_organizations(n_orgs: int = 12, per: int = 6):
    """A panel of ``n_orgs`` organizations of ``per`` states each (every third state also in the next one), two
    national instruments, 1995-2014, no adoptions recorded yet."""
    states = [f"S{j:03d}" for j in range(n_orgs * per)]
    spells = [(f"O{j // per:02d}", s, 1990, "") for j, s in enumerate(states)]
    spells += [(f"O{(j // per + 1) % n_orgs:02d}", s, 1990, "") for j, s in enumerate(states) if j % 3 == 0]
    tables = {
        "states": pd.DataFrame({"state": states, "joined": [1990] * len(states), "subregion": ["n"] * len(states)}),
        "instruments": TWO_LAWS,
        "adoptions": pd.DataFrame(columns=["state", "instrument", "year", "year_min", "year_max"]),
        "organizations": pd.DataFrame(
            {"organization": [f"O{j:02d}" for j in range(n_orgs)], "membership": ["recorded"] * n_orgs}
        ),
        "memberships": pd.DataFrame(spells, columns=["organization", "state", "joined", "left"]),
        "agreements": pd.DataFrame(
            {"agreement": ["a"], "organization": ["O00"], "year": [2000], "binding": ["no"], "covers": ["x"]}
        ),
    }
    return record_from_tables("many", 1995, 2014, tables)


@pytest.mark.statistical
def test_the_spread_of_organization_intercepts_is_recovered():
    """Twelve organizations of six states (a third of the states in two), intercept -3, sd 1: the maximum-
    likelihood estimate of sd from one simulated panel is within 2.5 standard errors of 1 for each of three
    seeds, and far from 0; with sd 0 in the simulation, the estimate's interval contains 0's neighbourhood."""
    from harmsim.analysis.bindingness import synthetic_panel
    from harmsim.calibrate.mle import fit_mle

    rec = _many_organizations()
    raw = {"hazard": {"intercept": -3.0}, "mechanisms": {"organizations": {"sd": 1.0}}}
    truth = scenario_from_dict(raw, record=rec)
    free = ["hazard.intercept", "organizations.sd"]
    for seed in (1, 2, 3):
        sim = synthetic_panel(truth, rec, seed)
        fit = fit_mle(truth.with_record(sim), sim, free, start={"organizations.sd": 0.5})
        row = fit.estimates.set_index("parameter").loc["organizations.sd"]
        assert abs(row["estimate"] - 1.0) < 2.5 * row["se"], (seed, row.to_dict())
        assert row["lower"] > 0.2, row.to_dict()
    flat = scenario_from_dict({**raw, "mechanisms": {"organizations": {"sd": 0.0}}}, record=rec)
    sim = synthetic_panel(flat, rec, 4)
    fit = fit_mle(flat.with_record(sim), sim, free, start={"organizations.sd": 0.5})
    assert fit.estimates.set_index("parameter").loc["organizations.sd", "estimate"] < 0.5

"""The likelihood's analytic gradient against central differences of the likelihood, on every path.

The gradient (:func:`harmsim.calibrate.likelihood.loglik_gradient`) is accumulated inside each path of the
likelihood: dated and censored cells, interval-censored cells no other reads (their interval term), the exact
sum over hidden years (the forward recursion's posterior, by a backward pass; with and without a hidden
treaty that a protocol requires), the importance-sampled paths (weighted by their importance weights), the
cells outside a group that ride along with it, and the organization intercepts' importance sample with its
proposal held (Fisher's identity: each draw's gradient, weighted). Each is set against central differences of
:func:`~harmsim.calibrate.likelihood.loglik` at a point off the defaults, every parameter free, linear ones
(the mechanisms' unit terms) and non-linear ones (diffusion's weights, differenced) alike.

Mutations caught (``python scripts/mutations.py gradient-moves gradient-interval``): the adopting hidden
cells' tangents left out of the backward pass fail the forward cases; the interval term's weight left out
fails the unread-interval case. ``gradient-shared-spread``, ``gradient-shared-weights`` and
``gradient-shared-interval`` (the intercepts' spread without its tangent, the draws unweighted, an interval's
weight left out under the intercepts) fail the organization cases.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import harmsim
import harmsim.calibrate.likelihood as L
from harmsim.calibrate.likelihood import history, loglik_gradient, loglik_many
from harmsim.calibrate.mle import fit_mle
from harmsim.data.record import record_from_tables
from harmsim.model.scenario import scenario_from_dict
from harmsim.model.space import bounds_of

STATES = pd.DataFrame({"state": list("ABCDEF"), "joined": [1990] * 6})
INSTRUMENTS = pd.DataFrame(
    {"instrument": ["x", "y"], "kind": ["treaty", "protocol"], "requires": ["", "x"], "opens": [2000, 2000]}
)
#: (state, instrument, lo, hi): a dated adoption when lo == hi, interval-censored otherwise
ROWS = [
    ("A", "x", 2000, 2004),
    ("B", "x", 2002, 2002),
    ("C", "x", 2001, 2006),
    ("D", "x", 2005, 2005),
    ("E", "x", 2003, 2008),
    ("F", "x", 2004, 2004),
    ("B", "y", 2004, 2004),
    ("D", "y", 2005, 2005),
    ("A", "y", 2003, 2009),
    ("F", "y", 2006, 2010),
]
TREND = {"trend": {"linear": 0.4, "quadratic": -0.2}}
DIFFUSION = {"diffusion": {"strength": 1.5, "weight_all": 0.7, "weight_subregion": 0.0, "weight_border": 0.0}}
BUNDLE = {"prerequisites": {"bundle": 1.2}}


def _record(rows=ROWS, instruments=INSTRUMENTS):
    ad = pd.DataFrame(
        [(s, k, lo if lo == hi else "", lo, hi) for s, k, lo, hi in rows],
        columns=["state", "instrument", "year", "year_min", "year_max"],
    )
    return record_from_tables("gradient", 2000, 2010, {"states": STATES, "instruments": instruments, "adoptions": ad})


def _scenario(mechanisms, record):
    return scenario_from_dict(
        {"hazard": {"intercept": -2.0, "offsets": {"y": -0.3}}, "mechanisms": mechanisms}, record=record
    )


@contextmanager
def _rows_afresh():
    """Every evaluation makes the organization rows afresh (the held proposal's rows are not moved along their
    tangents): the reference the held rows and the analytic gradient are checked against."""
    hold, L._shared.HOLD_ROWS = L._shared.HOLD_ROWS, False
    try:
        yield
    finally:
        L._shared.HOLD_ROWS = hold


def check(sc, free=None, mask=None, rel=1e-5):
    """The analytic gradient against central differences at the scenario's values."""
    h = history(sc, sc.record)
    values = sc.parameters()
    free = free or [n for n in values if isinstance(values[n], float) and n not in _FIXED]
    bounds = [bounds_of(sc, n) for n in free]
    if sc.dynamics.needs_shared:  # the organization intercepts' proposal held where the fit holds it
        L.set_shared_proposal(h, sc, mask)
    ll, g = loglik_gradient(sc, h, free, bounds, mask)
    assert np.isfinite(ll) and np.isfinite(g).all()
    assert ll == pytest.approx(float(loglik_many([sc], h, mask)[0]), rel=1e-12)
    fd = []
    with _rows_afresh():  # differences of rows made afresh, not moved along the tangents
        for n, (lo, hi) in zip(free, bounds):
            step = 1e-5 * max(1.0, abs(values.get(n, 0.0)))
            up, down = min(values.get(n, 0.0) + step, hi), max(values.get(n, 0.0) - step, lo)
            v = loglik_many([sc.with_params({n: up}), sc.with_params({n: down})], h, mask)
            fd.append((v[0] - v[1]) / (up - down))
    np.testing.assert_allclose(g, fd, rtol=rel, atol=rel * np.abs(fd).max(), err_msg=str(free))
    return g


#: the pooling spread enters the penalty, never the likelihood
_FIXED = {"hazard.pool_sd"}


def test_dated_and_unread_interval_cells():
    """No term reads another cell: each interval-censored cell contributes its own interval term."""
    rec = _record(instruments=INSTRUMENTS.assign(requires=""))
    sc = _scenario(TREND, rec)
    assert L.hidden_groups(sc, history(sc, rec)) == []
    check(sc)


def test_exact_sum_over_hidden_years_with_a_hidden_treaty():
    """Diffusion reads x's and y's unknown years; y requires x, so each (before, after) pair is evaluated."""
    rec = _record()
    sc = _scenario({**TREND, **DIFFUSION, **BUNDLE}, rec)
    plan_pairs = L._paths._plan
    assert L.hidden_groups(sc, history(sc, rec)) == [5]
    calls = []

    def spy(*args):
        out = plan_pairs(*args)
        calls.append(out["pairs"])
        return out

    try:
        L._paths._plan = spy
        check(sc)
    finally:
        L._paths._plan = plan_pairs
    assert any(calls)


def test_exact_sum_over_hidden_years_of_one_instrument_with_cells_riding_along():
    """Only x's years hidden (sets before each year, no pairs); y's cells ride along with the group."""
    rows = [r for r in ROWS if r[1] == "x"] + [("B", "y", 2004, 2004), ("D", "y", 2005, 2005)]
    rec = _record(rows, INSTRUMENTS.assign(requires=""))
    sc = _scenario({**DIFFUSION, **TREND}, rec)
    h = history(sc, rec)
    ((cells, cols),) = L._paths._hidden(sc, h, np.ones(h.kind.shape, dtype=bool), L.LOGIT)
    assert not L._paths._plan(sc, h, np.ones(h.kind.shape, dtype=bool), cells, cols)["pairs"]
    free = ["hazard.intercept", "hazard.offsets.y", "diffusion.strength", "diffusion.weight_all", "trend.linear"]
    check(sc, free)


def test_a_prerequisite_reads_the_hidden_years_and_unread_intervals_ride_along():
    """y's prerequisite gate reads x's unknown years (a row per set of them); z's interval-censored cells read
    nothing and ride along. Their tangents were taken from one row, which failed on the gate's rows
    (``harmsim backtest experiments/scenarios/world_no_time_proxies.toml --hold-out cets197``)."""
    instruments = pd.DataFrame(
        {"instrument": ["x", "y", "z"], "kind": ["treaty", "protocol", "law"], "requires": ["", "x", ""]}
    ).assign(opens=2000)
    rows = [*ROWS, ("A", "z", 2001, 2005), ("C", "z", 2003, 2003), ("E", "z", 2002, 2007)]
    rec = _record(rows, instruments)
    sc = _scenario({**TREND, **BUNDLE}, rec)
    assert L.hidden_groups(sc, history(sc, rec)) == [5]  # x's intervals only; z's ride along
    check(sc)


def test_importance_sampled_paths(monkeypatch):
    """Groups too large to sum: the gradient of the sampled estimate, the paths weighted by importance."""
    monkeypatch.setattr(L._paths, "MAX_HIDDEN", 2)
    rec = _record()
    sc = _scenario({**TREND, **DIFFUSION, **BUNDLE}, rec)
    h = history(sc, rec)
    assert L.likelihood_path(sc, h)["path"] == "sampled"
    check(sc)


def test_a_mask():
    """Cells outside the mask act on peers only (a leave-one-out score's fit)."""
    rec = _record()
    sc = _scenario({**TREND, **DIFFUSION, **BUNDLE}, rec)
    mask = np.zeros(history(sc, rec).kind.shape, dtype=bool)
    mask[:3] = True
    check(sc, ["hazard.intercept", "diffusion.strength", "diffusion.weight_all", "prerequisites.bundle"], mask)


@pytest.mark.parametrize(
    "name",
    ["baseline", "baseline_spline", "endogenous", "event_history_logit", "no_asean", "heterogeneity",
     "heterogeneity_by_kind"],
)  # fmt: skip
def test_shipped_scenarios(name):
    """The ASEAN record's scenarios, every default free parameter, at a point off their defaults."""
    sc = harmsim.load_scenario(name)
    from harmsim.calibrate.mle import default_free

    free = default_free(sc, sc.record)
    g = np.random.default_rng(np.random.SeedSequence(7)).uniform(-0.3, 0.3, len(free))
    values = {n: float(np.clip(sc.parameters().get(n, 0.0) + d, *bounds_of(sc, n))) for n, d in zip(free, g)}
    check(sc.with_params(values), free, rel=1e-4)


def test_world_panel():
    """The world panel: an exact group with a hidden treaty, a sampled group, cells riding along; diffusion's
    organization weight at its lower bound (where the world fit puts it) is differenced inwards."""
    sc = harmsim.load_scenario("world_baseline")
    from harmsim.calibrate.mle import default_free

    check(sc, default_free(sc, sc.record), rel=1e-4)
    check(sc.with_params({"diffusion.weight_organization": 0.0}), ["diffusion.weight_organization"], rel=1e-4)


def test_world_panel_with_treaty_commitments():
    """Treaty commitments: criminalization's term reads the ratifications of the treaties that oblige it, among
    them the 24 CETS 197 ratifications known only as "by 2015" (a sampled group the law's cells now ride with)."""
    sc = harmsim.load_scenario(Path(__file__).parents[1] / "experiments" / "scenarios" / "world_commitments.toml")
    check(sc, ["hazard.intercept", "commitments.effect", "diffusion.strength", "trend.linear"], rel=1e-4)


def test_world_panel_with_asean_own_level_and_slope():
    """ASEAN's own level and slope (the region mechanism) away from 0: their tangents are the members' unit
    terms, held past the record's end."""
    sc = harmsim.load_scenario("world_asean").with_params({"region.level": -0.4, "region.slope": 0.6})
    check(sc, ["hazard.intercept", "region.level", "region.slope", "trend.linear"], rel=1e-4)


# Organization intercepts: two organizations, C in both and leaving O1 after 2001, D joining O2 in 2002 ----------
ORG_STATES = pd.DataFrame({"state": ["A", "B", "C", "D"], "joined": [1990] * 4})
ORG_TABLES = {
    "organizations": pd.DataFrame({"organization": ["O1", "O2"], "membership": ["recorded", "recorded"]}),
    "memberships": pd.DataFrame(
        {
            "organization": ["O1", "O1", "O1", "O2", "O2"],
            "state": ["A", "B", "C", "C", "D"],
            "joined": [1990, 1990, 1990, 1990, 2002],
            "left": ["", "", "2001", "", ""],
        }
    ),
    "agreements": pd.DataFrame(
        {
            "agreement": ["o1_decl", "o2_treaty"],
            "organization": ["O1", "O2"],
            "year": [2000, 2001],
            "binding": ["no", "yes"],
            "covers": ["x", "x r"],
        }
    ),
    "instruments": pd.DataFrame(
        {
            "instrument": ["x", "r"],
            "opens": ["", ""],
            "opened_by": ["", "o2_treaty"],
            "organization": ["", "O2"],
            "kind": ["law", "regional_treaty"],
        }
    ),
}
ORG_MECHS = {
    "agreements": {"nonbinding": 0.8, "binding": 1.5, "binding_general": 0.3, "lead": 0.0, "lag": 0},
    "diffusion": {"strength": 1.2, "weight_all": 1.0, "weight_subregion": 0.0, "weight_border": 0.0,
                  "weight_organization": 3.0},
    "organizations": {"sd": 1.2, "membership": "mean"},
}  # fmt: skip


def _org_scenario(adoptions, mechanisms=ORG_MECHS):
    rows = [(a[0], a[1], a[2], a[2], a[2]) if len(a) == 3 else (a[0], a[1], "", a[2], a[3]) for a in adoptions]
    ad = pd.DataFrame(rows, columns=["state", "instrument", "year", "year_min", "year_max"])
    rec = record_from_tables("orgs", 2000, 2004, {"states": ORG_STATES, "adoptions": ad, **ORG_TABLES})
    raw = {"hazard": {"intercept": -1.6, "offsets": {"r": -0.3}}, "mechanisms": mechanisms}
    return scenario_from_dict(raw, record=rec)


ORG_FREE = [
    "hazard.intercept",
    "hazard.offsets.r",
    "agreements.nonbinding",
    "agreements.binding",
    "agreements.binding_general",
    "diffusion.strength",
    "diffusion.weight_organization",
    "organizations.sd",
]


def test_organization_intercepts_dated_and_unread_intervals():
    """Organization intercepts integrated by importance sampling, the proposal held: dated and censored cells,
    and an interval no other cell reads (its term's weight inside the draws)."""
    mechanisms = {k: v for k, v in ORG_MECHS.items() if k != "diffusion"}
    sc = _org_scenario([("B", "x", 2001), ("A", "x", 2000, 2003), ("D", "r", 2003), ("C", "r", 2002, 2004)], mechanisms)
    h = history(sc, sc.record)
    assert L.hidden_groups(sc, h) == []
    check(sc, [n for n in ORG_FREE if not n.startswith("diffusion.")])


def test_organization_intercepts_with_hidden_years_summed_given_each_draw():
    """A's year of x, read by diffusion, is summed over (every pattern, given each draw of the intercepts)."""
    sc = _org_scenario([("A", "x", 2000, 2002), ("B", "x", 2001), ("C", "x", 2003), ("D", "r", 2003)])
    h = history(sc, sc.record)
    assert L.hidden_groups(sc, h) and L.likelihood_path(sc, h)["path"] == "sampled"
    m = np.ones(h.kind.shape, dtype=bool)
    groups = L._paths._hidden(sc, h, m, L.LOGIT)
    assert L._shared._shared_paths(h, m, groups, L._shared.SHARED_DRAWS)[2] is None  # every pattern
    check(sc, ORG_FREE)


def test_organization_intercepts_with_paths_drawn_with_the_draws(monkeypatch):
    """Too many patterns to sum: one path of the hidden years per draw (paired), and a mask."""
    monkeypatch.setattr(L._shared, "SHARED_PATTERNS", 1)
    sc = _org_scenario([("A", "x", 2000, 2002), ("B", "x", 2001, 2003), ("C", "x", 2003), ("D", "r", 2003)])
    h = history(sc, sc.record)
    m = np.ones(h.kind.shape, dtype=bool)
    assert L._shared._shared_paths(h, m, L._paths._hidden(sc, h, m, L.LOGIT), L._shared.SHARED_DRAWS)[2] is not None
    check(sc, ORG_FREE)
    m[1] = False
    check(sc, ORG_FREE, mask=m)


def test_a_held_proposal_at_its_centre_is_the_re_centred_estimate():
    """Held where it was centred, the proposal gives the number :func:`loglik` gives (the same draws); held
    elsewhere, a different estimate of the same likelihood, within its Monte Carlo error."""
    sc = _org_scenario([("A", "x", 2000, 2002), ("B", "x", 2001), ("C", "x", 2003), ("D", "r", 2003)])
    h = history(sc, sc.record)
    free = sc.parameters()
    plain = L.loglik(sc, h)
    L.set_shared_proposal(h, sc)
    assert L.loglik(sc, h) == plain
    moved = sc.with_params({"organizations.sd": 0.6, "hazard.intercept": free["hazard.intercept"] + 0.3})
    held = L.loglik(moved, h)
    L.set_shared_proposal(h, None)
    again, diag = L.loglik_sampled(moved, h)
    assert held != again
    assert abs(held - again) < 4 * diag["log-likelihood Monte Carlo s.e."] + 1e-3


def test_world_organizations():
    """The packaged panel with organization intercepts: the spread, diffusion's organization weight and the
    intercept, at the scenario's values (a sampled group of hidden years, paths paired with the draws)."""
    sc = harmsim.load_scenario("world_organizations")
    check(sc, ["hazard.intercept", "diffusion.weight_organization", "organizations.sd"], rel=1e-4)


#: parameters the rows' log-odds are linear in (the intercept, an offset, linear coefficients, the spread)
AFFINE = {
    "hazard.intercept": 0.3,
    "hazard.offsets.r": -0.4,
    "agreements.nonbinding": -0.5,
    "agreements.binding": 0.7,
    "agreements.binding_general": 0.2,
    "diffusion.strength": -0.6,
    "organizations.sd": 0.25,
}


def _moves(sc, names):
    """Three parameter sets moved from ``sc``'s values in ``names`` (by AFFINE's steps, or 0.5)."""
    v = sc.parameters()
    return [
        sc.with_params({n: v[n] + f * AFFINE.get(n, 0.5) for n in names[: len(names) - 2 + j]})
        for j, f in enumerate((1.0, -1.0, 0.5))
    ]


def _held_against_afresh(sc, moved, free, mask=None):
    """The likelihood and gradient with the held proposal's rows moved along their tangents against rows made
    afresh at every parameter set; returns how many parameters had tangents made."""
    h = history(sc, sc.record)
    L.set_shared_proposal(h, sc, mask)
    bounds = [bounds_of(sc, n) for n in free]
    fast = loglik_many(moved, h, mask)
    fast_g = [loglik_gradient(m, h, free, bounds, mask) for m in moved]
    held = next(v for k, v in h.cache.items() if k[0] == "shared proposal")
    with _rows_afresh():
        slow = loglik_many(moved, h, mask)
        slow_g = [loglik_gradient(m, h, free, bounds, mask) for m in moved]
    np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-9)
    for (a, ga), (b, gb) in zip(fast_g, slow_g):
        assert a == pytest.approx(b, rel=1e-12, abs=1e-9)
        np.testing.assert_allclose(ga, gb, rtol=1e-9, atol=1e-9)
    return len(held.tangents)


@pytest.mark.parametrize("case", ["unread intervals", "patterns", "paired paths"])
def test_held_rows_moved_along_their_tangents_equal_rows_made_afresh(case, monkeypatch):
    """Where the parameters move only in ones the log-odds are linear in, the held proposal's rows moved along
    the mechanisms' tangents give the likelihood and gradient of rows made afresh, to rounding, on every
    organization path: dated and interval cells, hidden years summed given each draw, paths paired with
    draws (and a mask).

    Mutation caught (``python scripts/mutations.py held-rows-unmoved``): the held rows left at the centre's
    log-odds fail every case."""
    if case == "unread intervals":
        mech = {k: v for k, v in ORG_MECHS.items() if k != "diffusion"}
        sc = _org_scenario([("B", "x", 2001), ("A", "x", 2000, 2003), ("D", "r", 2003), ("C", "r", 2002, 2004)], mech)
    else:
        if case == "paired paths":
            monkeypatch.setattr(L._shared, "SHARED_PATTERNS", 1)
        sc = _org_scenario([("A", "x", 2000, 2002), ("B", "x", 2001, 2003), ("C", "x", 2003), ("D", "r", 2003)])
    names = [n for n in AFFINE if n in sc.parameters()]
    assert _held_against_afresh(sc, _moves(sc, names), names) == len(names)
    if case == "paired paths":
        h = history(sc, sc.record)
        m = np.ones(h.kind.shape, dtype=bool)
        m[1] = False
        assert _held_against_afresh(sc, _moves(sc, names), names, mask=m) == len(names)


def test_held_rows_are_made_afresh_when_a_non_linear_parameter_moves():
    """Diffusion's organization weight sits inside the peer average: a parameter set that moves it gets rows
    made afresh (no tangent is made for it), and the value equals the un-held computation's."""
    sc = _org_scenario([("A", "x", 2000, 2002), ("B", "x", 2001), ("C", "x", 2003), ("D", "r", 2003)])
    assert L._shared._affine(sc, "diffusion.strength") and L._shared._affine(sc, "organizations.sd")
    assert not L._shared._affine(sc, "diffusion.weight_organization") and not L._shared._affine(sc, "agreements.lag")
    moved = [sc.with_params({"diffusion.weight_organization": 2.0, "hazard.intercept": -1.2})]
    assert _held_against_afresh(sc, moved, ["diffusion.weight_organization", "hazard.intercept"]) == 0


def test_world_organizations_held_rows():
    """The packaged panel, as a unit refit of the bindingness test moves it (intercept, agreement effects, lead),
    with the spread and diffusion's strength: rows moved along their tangents equal rows made afresh."""
    sc = harmsim.load_scenario("world_organizations")
    names = ["hazard.intercept", "agreements.binding", "agreements.nonbinding", "agreements.lead", "organizations.sd"]
    names += ["diffusion.strength", "hazard.offsets.cets197"]
    assert _held_against_afresh(sc, _moves(sc, names), names) == len(names)


def test_fit_with_organization_intercepts_matches_differences(monkeypatch):
    """A fit with organization intercepts climbs the held proposal's estimate to the same maximum and standard
    errors with the analytic gradient as with forward differences, and says how often it re-centred."""
    sc = _org_scenario([("A", "x", 2000, 2002), ("B", "x", 2001), ("C", "x", 2003), ("D", "r", 2003)])
    free = ["hazard.intercept", "agreements.nonbinding", "organizations.sd"]
    fast = _against_differences(monkeypatch, sc, free, loglik_tol=1e-3, se_rtol=0.02)
    assert "re-centred at its maximum" in fast.log["diagnostics"]["organization proposal"]
    # the reported maximum is the likelihood a user computes at the estimate
    at = sc.with_params(dict(zip(free, fast.estimates["estimate"])))
    assert fast.loglik == pytest.approx(L.loglik(at, history(at, sc.record)), abs=1e-9)


# State propensities: each quadrature node's terms weighed by the node's posterior for the state ----------------
FRAILTY = {"frailty": {"sd": 0.8}}


def test_state_propensities_without_hidden_years():
    """No term reads another cell: the states separate, one quadrature per state (the midpoint path)."""
    sc = _scenario({**TREND, **FRAILTY}, _record(instruments=INSTRUMENTS.assign(requires="")))
    assert L.hidden_groups(sc, history(sc, sc.record)) == []
    check(sc)


def test_state_propensities_summed_over_every_pattern(monkeypatch):
    """Diffusion and the gate read five unknown years: their 6,300 joint patterns summed, each with every
    state's propensity integrated out."""
    monkeypatch.setattr(L._latent, "MAX_PATTERNS", 10_000)
    sc = _scenario({**TREND, **DIFFUSION, **BUNDLE, **FRAILTY}, _record())
    how = L.likelihood_path(sc, history(sc, sc.record))
    assert how["path"] == "exact" and how["patterns"] == 6300
    check(sc)


def test_state_propensities_with_sampled_paths():
    """Too many patterns: the sampled estimate's gradient, each path weighted by its share, by kind, a mask."""
    for mechs in ({**TREND, **DIFFUSION, **BUNDLE, **FRAILTY}, {**DIFFUSION, "frailty": {"sd": 1.1, "by": "kind"}}):
        sc = _scenario(mechs, _record())
        assert L.likelihood_path(sc, history(sc, sc.record))["path"] == "sampled"
        check(sc)
    mask = np.zeros(history(sc, sc.record).kind.shape, dtype=bool)
    mask[:4] = True
    check(sc, None, mask)


def test_the_midpoint_approximation():
    """The fast surface a fit with state propensities climbs first has its analytic gradient too."""
    sc = _scenario({**TREND, **DIFFUSION, **BUNDLE, **FRAILTY}, _record())
    h = history(sc, sc.record)
    free = ["hazard.intercept", "diffusion.strength", "prerequisites.bundle", "frailty.sd", "trend.linear"]
    values = sc.parameters()
    _, g = loglik_gradient(sc, h, free, [bounds_of(sc, n) for n in free], midpoint=True)
    fd = []
    for n in free:
        step = 1e-5 * max(1.0, abs(values[n]))
        moved = [sc.with_params({n: values[n] + step}), sc.with_params({n: values[n] - step})]
        v = loglik_many(moved, h, midpoint=True)
        fd.append((v[0] - v[1]) / (2 * step))
    np.testing.assert_allclose(g, fd, rtol=1e-5)
    assert not np.allclose(g, loglik_gradient(sc, h, free, [bounds_of(sc, n) for n in free])[1], rtol=1e-3)


@pytest.mark.slow
def test_world_panel_with_state_propensities():
    """The world panel with a propensity per state: 39 sampled unknown years across three instruments."""
    sc = harmsim.load_scenario("world_propensities").with_params({"frailty.sd": 0.5})
    check(sc, ["hazard.intercept", "frailty.sd", "diffusion.strength", "prerequisites.bundle", "agreements.binding"])


def test_fit_with_state_propensities_matches_differences(monkeypatch):
    """A fit with state propensities (first the midpoint surface, then the sampled one) reaches the same
    maximum and standard errors with the analytic gradient as with differences."""
    sc = _scenario({**DIFFUSION, **BUNDLE, **FRAILTY}, _record())
    fast = _against_differences(
        monkeypatch, sc, ["hazard.intercept", "diffusion.strength", "frailty.sd"], loglik_tol=1e-3, se_rtol=0.02
    )
    assert fast.log["diagnostics"]["analytic gradients"] > 0


def test_fit_with_the_analytic_gradient_reaches_the_maximum_of_differences(monkeypatch):
    """The fit climbs to the same maximum, with the same standard errors, as with forward differences."""
    sc = _scenario({**TREND, **DIFFUSION, **BUNDLE}, _record())
    free = ["hazard.intercept", "hazard.offsets.y", "diffusion.strength", "trend.linear", "prerequisites.bundle"]
    _against_differences(monkeypatch, sc, free, loglik_tol=1e-4, se_rtol=0.01)


def _against_differences(monkeypatch, sc, free, loglik_tol: float, se_rtol: float):
    """Fit ``sc`` with the analytic gradient and again with central differences of the objective: the same
    maximum, estimates and standard errors within the tolerances. Returns the analytic fit."""
    import harmsim.calibrate.mle as mle

    fast = fit_mle(sc, sc.record, free)
    assert fast.log["diagnostics"]["analytic gradients"] > 0
    analytic = mle._nll_and_gradient

    def by_differences(scenario, hist, cells, free, bounds, x, midpoint=False):
        """The same objective, its gradient by central differences of its value (one-sided at a bound)."""
        value = analytic(scenario, hist, cells, free, bounds, x, midpoint)[0]
        g = np.empty(len(x))
        for j, (lo, hi) in enumerate(bounds):
            step = 1e-6 * max(1.0, abs(x[j]))
            up, down = x.copy(), x.copy()
            up[j], down[j] = min(x[j] + step, hi), max(x[j] - step, lo)
            f_up = analytic(scenario, hist, cells, free, bounds, up, midpoint)[0]
            f_down = analytic(scenario, hist, cells, free, bounds, down, midpoint)[0]
            g[j] = (f_up - f_down) / (up[j] - down[j])
        return value, g

    monkeypatch.setattr(mle, "_nll_and_gradient", by_differences)
    slow = fit_mle(sc, sc.record, free)
    assert fast.loglik == pytest.approx(slow.loglik, abs=loglik_tol)
    np.testing.assert_allclose(fast.estimates["estimate"], slow.estimates["estimate"], atol=0.02)
    np.testing.assert_allclose(fast.estimates["se"], slow.estimates["se"], rtol=se_rtol)
    return fast


def test_world_panel_read_both_ways():
    """Commitments and screening together: the law's term reads the treaties, and the treaties' terms read the law,
    so each instrument's cells ride with the other's."""
    sc = harmsim.load_scenario(Path(__file__).parents[1] / "experiments" / "scenarios" / "world_screening.toml")
    check(sc, ["hazard.intercept", "screening.effect", "commitments.effect", "trend.linear"], rel=1e-4)

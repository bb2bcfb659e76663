"""Covariate features, the tier lag, compliance curves and summaries, checked against values worked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import harmsim
from harmsim.data.features import Transforms, gdp_gap, log_gdp_pc, net_migration
from harmsim.data.record import record_from_tables
from harmsim.data.world import World
from harmsim.scoring.compare import compliance_curves, year_ranges


def two_states(**extra) -> harmsim.Record:
    """A and B, 2000-2010; B twice as populous and four times as rich; migrants from A to B every 5 years."""
    years = range(2000, 2011)
    tables = {
        "states": pd.DataFrame({"state": ["A", "B"], "joined": [1990, 1990], "subregion": ["n", "n"]}),
        "instruments": pd.DataFrame({"instrument": ["x", "y"], "kind": ["law", "law"]}),
        "adoptions": pd.DataFrame({"state": ["A", "B"], "instrument": ["x", "x"], "year": [2003, 2006]}),
        "covariates": pd.DataFrame(
            {
                "state": ["A"] * 11 + ["B"] * 11,
                "year": [*years, *years],
                "gdp_pc": [1000.0] * 11 + [4000.0] * 11,
                "population": [100_000.0] * 11 + [200_000.0] * 11,
            }
        ),
        "migration": pd.DataFrame(
            {"origin": ["A"] * 3, "destination": ["B"] * 3, "year": [2000, 2005, 2010], "migrants": [10e3, 20e3, 30e3]}
        ),
        "tiers": pd.DataFrame(
            {
                "state": ["A"] * 9 + ["B"] * 9,
                "year": [*range(2002, 2011), *range(2002, 2011)],
                "tier": ["3"] + ["2"] * 8 + ["not_ranked"] + ["1"] * 8,
            }
        ),
        "agreements": pd.DataFrame(
            {"agreement": ["d"], "year": [2001], "binding": ["no"], "covers": ["x y"], "trigger": ["anchor"]}
        ),
        **extra,
    }
    return record_from_tables("two", 2000, 2010, tables)


@pytest.fixture(scope="module")
def world() -> World:
    return World.build(two_states(), 2000, 2010)


def test_gdp_features_by_hand(world):
    np.testing.assert_allclose(log_gdp_pc(world)[:, 0], np.log(1000.0))
    # log(1000) - mean(log 1000, log 4000) = -log(4) / 2
    np.testing.assert_allclose(gdp_gap(world), np.tile([-np.log(4) / 2, np.log(4) / 2], (11, 1)))


def test_net_migration_interpolates_the_five_year_stocks(world):
    m = net_migration(world)
    t = {y: i for i, y in enumerate(world.years)}
    # 2003: stock 10 + 3/5 * 10 = 16 thousand from A in B (populations 100 and 200 thousand)
    assert m[t[2003], 1] == pytest.approx(16 / 200) and m[t[2003], 0] == pytest.approx(-16 / 100)
    assert m[t[2005], 1] == pytest.approx(20 / 200) and m[t[2010], 0] == pytest.approx(-30 / 100)


def test_tiers_are_read_with_a_one_year_lag(world):
    tb = world.tier_before()
    t = {y: i for i, y in enumerate(world.years)}
    assert tb[t[2002], 0] == "" and tb[t[2003], 0] == "3" and tb[t[2004], 0] == "2" and tb[t[2004], 1] == "1"


def test_standardization_is_fixed_on_the_reference_window(world):
    tr = Transforms(world)
    mean, sd = tr.values("push_pull.gdp_gap")
    assert mean == pytest.approx(0.0) and sd == pytest.approx(np.log(4) / 2)
    z = tr.standardized("push_pull.gdp_gap", world)
    np.testing.assert_allclose(z[:, 0], -1.0)
    np.testing.assert_allclose(z[:, 1], 1.0)
    # a later horizon reuses the reference numbers: its z-scores mean the same
    assert tr.values("capacity.log_gdp_pc") == pytest.approx((np.log(1000 * 4000) / 2, np.log(4) / 2))


def test_compliance_curve_and_year_ranges_by_hand(world):
    rec = two_states()
    c = compliance_curves(rec.adoptions, world, agreements=["d"]).set_index("year")["share"]
    # cells (A, x), (A, y), (B, x), (B, y); A adopts x in 2003, B in 2006
    assert c[2002] == 0 and c[2003] == pytest.approx(0.25) and c[2006] == pytest.approx(0.5)
    sc = harmsim.model.scenario.scenario_from_dict({"hazard": {"intercept": -1.0}}, record=rec)
    ens = harmsim.run_ensemble(sc, replicates=200, seed=4)
    r = year_ranges(ens).set_index(["state", "instrument"])
    a = ens.adoptions
    end = sc.end
    for key, sub in a.groupby(["state", "instrument"], observed=True):
        # over all replicates, "not adopted by the end" counted as end + 1; quantiles are years that occur
        years = sub["year"].astype("Float64").fillna(end + 1).astype(float).clip(upper=end + 1)
        assert r.loc[key, "p_adopted"] == pytest.approx((years <= end).mean())
        for q, col in ((0.05, "q05"), (0.5, "q50"), (0.95, "q95")):
            assert r.loc[key, col] == np.quantile(years, q, method="inverted_cdf")
    share = ens.share_adopted().set_index(["instrument", "year"])
    by_hand = (
        a.assign(done=(a["year"] <= 2005).fillna(False))
        .groupby(["replicate", "instrument"], observed=True)["done"]
        .mean()
    )
    assert share.loc[("x", 2005), "mean"] == pytest.approx(by_hand.xs("x", level="instrument").mean())


def test_record_summary_counts():
    s = two_states().summary()
    assert s.loc["x", "dated"] == 2 and s.loc["x", "first"] == 2003 and s.loc["x", "last"] == 2006
    assert s.loc["y", "dated"] == 0 and s.loc["y", "not_adopted"] == 2

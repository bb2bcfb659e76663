"""The packaged world record: its invariants, its sources, and the rule that no outcome passes 2015.

Counts are checked against ``data-raw/world/`` read here directly (not through the build script), so a
build that drops or invents rows fails.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import harmsim
from harmsim.data.record import load_record, packaged_records
from harmsim.errors import RecordError

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data-raw" / "world"
ASEAN = ("BRN", "KHM", "IDN", "LAO", "MYS", "MMR", "PHL", "SGP", "THA", "VNM")
#: the Kelley-Simmons panel codes these states' Protocol ratified by 2011 but UNTOC not (UNTOC art. 37(2))
CONFLICTS = {"GRC", "HTI", "IND", "IRL", "ISL", "VCT"}


@pytest.fixture(scope="module")
def world():
    return load_record("world")


def _raw(name):
    return pd.read_csv(RAW / name, dtype=str, keep_default_na=False)


def _pair(rec, state, inst):
    a = rec.adoptions
    row = a[(a.state == state) & (a.instrument == inst)]
    assert len(row) == 1, (state, inst)
    return row.iloc[0]


def test_world_is_packaged_with_its_window(world):
    assert "world" in packaged_records()
    assert (world.start, world.end) == (1990, 2015)
    assert len(world.state_ids) == 188
    assert world.instrument_ids == ("tip_law", "untoc", "tip_protocol", "cets197", "saarc2002", "actip")
    assert len(world.organizations) == 15 and len(world.agreements) == 23
    assert world.sources["adoptions"] and world.sources["covariates"]


@pytest.mark.parametrize("name", ["asean", "global_criminalization", "world"])
def test_no_outcome_after_2015(name):
    """Later events judge forecasts: no outcome table of any packaged record is dated after 2015."""
    rec = load_record(name)
    a = rec.adoptions
    for col in ("year", "year_min", "year_max", "seen_until"):
        assert (a[col].dropna() <= 2015).all(), col
    for col in ("date",):
        if col in a:
            dated = a[col][a[col] != ""]
            assert (pd.to_datetime(dated, format="mixed") <= pd.Timestamp("2015-12-31")).all()
    assert rec.end <= 2015
    if len(rec.memberships):
        assert (rec.memberships["joined"] <= 2015).all() and (rec.memberships["left"].dropna() <= 2015).all()
    if len(rec.agreements):
        assert (rec.agreements["year"] <= 2015).all()
    if name == "world":
        rt = _raw("regional_treaty_ratifications.csv")
        for col in ("signed_date", "ratified_date", "ratified_not_after"):
            assert (rt[col][rt[col] != ""] <= "2015-12-31").all(), col


def test_un_treaty_and_law_events_are_the_sources_less_the_conflicts(world):
    """Every adopted row of the panel is a dated adoption, except the six conflicting pairs; ASEAN's UN
    treaty years the panel lacks come from the ASEAN record."""
    out = _raw("outcomes.csv")
    adopted = out[out.status == "adopted"]
    counts = world.summary()
    law = adopted[adopted.instrument == "national_law"]
    assert counts.loc["tip_law", "dated"] == len(law) == 130
    prot = adopted[(adopted.instrument == "tip_protocol") & ~adopted.iso3.isin(CONFLICTS)]
    assert counts.loc["tip_protocol", "dated"] == len(prot) == 147
    untoc = adopted[adopted.instrument == "untoc"]
    # + BRN (unrecorded in the panel), THA and VNM (after its end in 2011), from the ASEAN record
    assert counts.loc["untoc", "dated"] == len(untoc) + 3 == 147
    for state in CONFLICTS:
        for inst in ("untoc", "tip_protocol"):
            row = _pair(world, state, inst)
            assert not row.observed and "conflict" in row.note, (state, inst)
    for state, year in dict(BRN=2008, THA=2013, VNM=2012).items():
        row = _pair(world, state, "untoc")
        assert row.year == year and "ASEAN record" in row.source


def test_day_and_year_precision_kept(world):
    out = _raw("outcomes.csv")
    day = out[(out.precision == "day") & ~out.iso3.isin(CONFLICTS)].iloc[0]
    row = _pair(world, day.iso3, day.instrument)
    assert row.date == day.date and row.precision == "day" and row.year == int(day.year)
    a = world.adoptions
    assert set(a.precision[a.year.notna() & (a.instrument != "cets197")]) <= {"day", "year"}


def test_not_adopted_by_a_year_is_censoring_then_unobserved(world):
    """'Not ratified by 2011' (the panel's end): seen_until 2011, not 'not adopted by 2015'."""
    out = _raw("outcomes.csv")
    censored = out[(out.status != "adopted") & (out.observed_until.astype(int) < 2015)]
    assert len(censored) > 50
    for r in censored.head(20).itertuples():
        if r.iso3 in CONFLICTS or (r.iso3 in ASEAN and r.instrument == "untoc"):
            continue
        row = _pair(world, r.iso3, {"national_law": "tip_law"}.get(r.instrument, r.instrument))
        assert pd.isna(row.year_max) and row.seen_until == int(r.observed_until) and row.observed


def test_unobserved_pairs_are_not_filled(world):
    """States no source codes (e.g. the ten without a criminalization coding) are unobserved, not 'no'."""
    for state in ("CPV", "SOM", "AND"):
        row = _pair(world, state, "tip_law")
        assert not row.observed and pd.isna(row.year_max)
    assert world.cells().loc["AND", "tip_law"] == "?"


def test_regional_treaties_only_for_members_with_intervals(world):
    assert world.members("SAARC", 2006) == ("BGD", "BTN", "IND", "LKA", "MDV", "NPL", "PAK")
    assert "AFG" in world.members("SAARC", 2007)
    cells = world.cells()
    assert cells.loc["BGD", "saarc2002"] == "2002-2005" and cells.loc["BGD", "cets197"] == "-"
    assert cells.loc["FRA", "cets197"] == "2006-2008"  # signed 2006, in force 2008: deposit by 2008-01-31
    assert cells.loc["CZE", "cets197"] == ">2014"  # not signed by February 2015; 2015 unresolved
    assert cells.loc["RUS", "cets197"] == "."
    assert (cells.loc[list(ASEAN), "actip"] == ".").all()
    assert cells.loc["BLR", "cets197"] == "-"  # acceded as a non-member: outside the record's rule
    rt = _raw("regional_treaty_ratifications.csv")
    cets = rt[(rt.agreement_id == "COE-CETS-197") & (rt.party_by_2015 == "yes") & (rt.iso3 != "BLR")]
    s = world.summary().loc["cets197"]
    assert s["dated"] + s["interval"] == len(cets) == 42


def test_several_memberships_at_once_and_spells(world):
    m = world.memberships
    fra = set(m.organization[m.state == "FRA"])
    assert {"EU", "COE"} <= fra
    syc = m[(m.state == "SYC") & (m.organization == "SADC")].sort_values("joined")
    assert syc[["joined", "left"]].astype(object).values.tolist() == [[1997, 2004], [2008, pd.NA]]
    assert "SYC" in world.members("SADC", 2004) and "SYC" not in world.members("SADC", 2005)
    with pytest.raises(RecordError, match="unknown organization 'NATO'"):
        world.members("NATO", 2000)


def test_agreements_belong_to_organizations_binding_varies(world):
    ag = world.agreements
    assert set(ag.organization) <= set(world.organization_ids)
    assert ag.binding.sum() == 7 and (~ag.binding).sum() == 16
    by = ag.set_index("agreement")
    assert by.loc["eu_fd_2002_629", "binding"] and not by.loc["asean_decl_2004", "binding"]
    assert by.loc["coe_cets_197", "covers"] == ("tip_law", "cets197")
    assert by.loc["asean_decl_1997", "year"] == 1997
    missing = world.organization_summary().query("membership == 'missing'")
    assert set(missing.index) == {"ECCAS", "ECOWAS_ECCAS", "BALI", "OAS", "OSCE", "LAS", "AU", "EU_AFRICA"}
    assert (missing["members"] == 0).all()


def test_covariates_and_tiers(world):
    cov = world.covariates
    assert cov.year.min() == 1990 and cov.year.max() == 2011 and cov.state.nunique() == 180
    assert {"gdp_pc", "population", "polity", "us_aid", "ngos"} <= set(cov.columns)
    raw = _raw("covariates.csv")
    r = raw[(raw.iso3 == "THA") & (raw.year == "2005")].iloc[0]
    assert cov.query("state == 'THA' and year == 2005").gdp_pc.iloc[0] == pytest.approx(float(r.gdp_per_capita))
    assert cov.gdp_pc[cov.year < 1999].isna().all()  # nothing interpolated or spliced
    t = world.tiers
    assert t.year.min() == 2001 and set(t.tier) <= {"1", "2", "2WL", "3", "not_ranked"}
    assert t.query("state == 'THA' and year == 2010").tier.iloc[0] == "2WL"


def test_names_come_from_iso_3166(world):
    pycountry = pytest.importorskip("pycountry")
    for s, name in zip(world.states.state, world.states.name):
        c = pycountry.countries.get(alpha_3=s)
        assert name == (getattr(c, "common_name", None) or c.name)


def test_build_script_reproduces_the_packaged_files(tmp_path):
    """The shipped tables are exactly what scripts/build_world.py makes from data-raw/world/."""
    pytest.importorskip("pycountry")
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_world.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    shipped = Path(load_record("world").path)
    for f in sorted(shipped.glob("*.csv")):
        assert (tmp_path / f.name).read_bytes() == f.read_bytes(), f.name


def test_world_roundtrips_through_its_files(world, tmp_path):
    world.write(tmp_path)
    back = load_record(tmp_path)
    for tname, table in world.tables().items():
        pd.testing.assert_frame_equal(getattr(back, tname), table, check_dtype=False, obj=tname)


def test_a_subset_keeps_its_states_rows_and_the_whole_context(world, tmp_path):
    keep = ["THA", "FRA", "DEU", "BGD"]
    sub = world.subset(keep, name="four")
    assert sub.state_ids == ("BGD", "DEU", "FRA", "THA") and sub.name == "four"  # in the record's order
    for tname in ("adoptions", "status", "covariates", "tiers", "memberships"):
        table = getattr(sub, tname)
        assert set(table["state"]) <= set(keep), tname
        whole = getattr(world, tname)
        assert len(table) == whole["state"].isin(keep).sum(), tname  # every row of a kept state stays
    for tname in ("instruments", "agreements", "organizations", "global_series"):
        pd.testing.assert_frame_equal(getattr(sub, tname), getattr(world, tname), obj=tname)
    assert sub.members("EU", 2010) == ("DEU", "FRA") and sub.members("ASEAN", 2010) == ("THA",)
    assert sub.digest != world.digest
    sub.write(tmp_path)  # the sub-record passes the same validation as any record
    back = load_record(tmp_path)
    for tname, table in sub.tables().items():
        pd.testing.assert_frame_equal(getattr(back, tname), table, check_dtype=False, obj=tname)


def test_a_subset_runs_a_world_scenario(world):
    sub = world.subset(["THA", "VNM", "LAO", "KHM", "BGD", "IND"])
    sc = harmsim.load_scenario("world_baseline").with_record(sub)
    out = harmsim.run(sc, seed=1).adoptions
    assert set(out["state"]) == set(sub.state_ids)


@pytest.mark.parametrize("states, pattern", [(["THA", "XXX"], "unknown state\\(s\\) XXX"), ([], "at least one state")])
def test_a_subset_refuses_unknown_or_no_states(world, states, pattern):
    with pytest.raises(RecordError, match=pattern):
        world.subset(states)


def test_tip_law_codings_compared_for_asean(world):
    """docs/record.md's comparison of the two tip_law codings for the ten, checked."""
    asean = harmsim.observed_record()
    w, s = world.cells().loc[list(ASEAN), "tip_law"], asean.cells().loc[list(ASEAN), "tip_law"]
    same = [x for x in ASEAN if w[x] == s[x]]
    assert same == ["KHM", "IDN", "MYS", "MMR", "PHL", "THA", "VNM"]
    assert (w["LAO"], s["LAO"]) == ("2006", "2004")
    assert (w["SGP"], s["SGP"]) == (">2014", "2015")
    assert (w["BRN"], s["BRN"]) == ("?", "2004")


# ---------------------------------------------------------------- validation of the new tables


@pytest.fixture
def folder(tmp_path):
    dst = tmp_path / "world"
    shutil.copytree(load_record("world").path, dst)
    return dst


def _append(path, line):
    with open(path, "a", encoding="utf-8") as f:
        f.write(line + "\n")


def _replace(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        # a non-member ratifies a members-only treaty
        (
            lambda d: _append(d / "adoptions.csv", "BLR,cets197,2013,2013,2013,,,,,x,,"),
            r"adoptions.csv, line \d+: BLR adopts cets197 in 2013 but is not a member of COE",
        ),
        # an adoption before its instrument opens
        (
            lambda d: _replace(d / "adoptions.csv", "ALB,untoc,2002,2002,2002", "ALB,untoc,1998,1998,1998"),
            r"adoptions.csv, line \d+: ALB adopts untoc in 1998, before it opens in 2000",
        ),
        (
            lambda d: _append(d / "memberships.csv", "EU,FRA,2000,,x,,"),
            r"memberships.csv, line \d+: spells of FRA in EU overlap",
        ),
        (
            lambda d: _append(d / "memberships.csv", "NATO,FRA,2000,,x,,"),
            r"memberships.csv, line \d+: unknown organization 'NATO'",
        ),
        (
            lambda d: _append(d / "memberships.csv", "EU,NOR,2000,1999,x,,"),
            r"memberships.csv, line \d+: left 1999 is before joined 2000",
        ),
        (
            lambda d: _append(d / "memberships.csv", "OSCE,FRA,1995,,x,,"),
            r"memberships.csv, line \d+: organization 'OSCE' is declared with membership 'missing'",
        ),
        (
            lambda d: _replace(d / "agreements.csv", "2002-07-19,2002", "2002-07-19,2003"),
            r"agreements.csv, line \d+: date 2002-07-19 does not fall in the year 2003",
        ),
        (
            lambda d: _replace(d / "agreements.csv", 'eu_fd_2002_629,EU,"Council', 'eu_fd_2002_629,,"Council'),
            r"agreements.csv, line \d+: organization is empty",
        ),
        (
            lambda d: _replace(d / "instruments.csv", ",COE,", ",COEX,"),
            r"instruments.csv, line \d+: unknown organization 'COEX'",
        ),
        (
            lambda d: _replace(d / "organizations.csv", ",recorded,", ",partly,"),
            r"organizations.csv, line \d+: membership must be one of recorded, missing",
        ),
        (
            lambda d: _replace(d / "adoptions.csv", "2007-02-06", "2008-02-06"),
            r"adoptions.csv, line \d+: date 2008-02-06 does not fall in the year 2007",
        ),
        (
            lambda d: _replace(d / "adoptions.csv", "2007-02-06", "2007-02-30"),
            r"adoptions.csv, line \d+: date '2007-02-30' is not a calendar date",
        ),
    ],
)
def test_world_tables_are_validated(folder, edit, pattern):
    edit(folder)
    with pytest.raises(RecordError, match=pattern):
        load_record(folder)


def test_docs_table_of_observations_is_current(world):
    """docs/record.md's table of how each instrument is observed is the record's summary."""
    text = (ROOT / "docs" / "record.md").read_text(encoding="utf-8")
    rows = {}
    for line in text.split("### How it observes")[1].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] in world.instrument_ids:
            rows[cells[0]] = [int(c) for c in cells[1:]]
    cols = ["dated", "interval", "not_adopted", "censored", "unobserved", "not_open"]
    expected = {k: [int(v) for v in r] for k, r in world.summary()[cols].iterrows()}
    assert rows == expected


def test_the_model_simulates_organizations_it_reads(world):
    """A world of inputs from a record with organizations: every agreement covers the members of its own
    organization only (before: refused), so no agreement covers every state."""
    from harmsim.data.world import World

    w = World.build(world)
    assert len(w.organizations) == len(world.organizations)
    assert not w.covered.all(axis=1).any()

"""The packaged ASEAN record against the study's tables, value by value."""

from __future__ import annotations

import pandas as pd
import pytest

import harmsim
from harmsim.errors import RecordError
from harmsim.model.scenario import scenario_from_dict

# The study, Table 1 (Criminalization): year of the specific national law.
TABLE1 = dict(BRN=2004, KHM=2008, IDN=2007, LAO=2004, MYS=2007, MMR=2005, PHL=2003, SGP=2015, THA=2008, VNM=2012)
# Table 4: UNTOC and UN Trafficking Protocol (None: not a party).
UNTOC = dict(BRN=2008, KHM=2005, IDN=2009, LAO=2003, MYS=2004, MMR=2004, PHL=2002, SGP=2007, THA=2013, VNM=2012)
PROTOCOL = dict(BRN=None, KHM=2007, IDN=2009, LAO=2003, MYS=2009, MMR=2004, PHL=2002, SGP=2015, THA=2013, VNM=2012)
# Table 3: ASEAN MLAT ratification.
MLAT = dict(BRN=2006, KHM=2010, IDN=2008, LAO=2007, MYS=2005, MMR=2009, PHL=2008, SGP=2005, THA=2013, VNM=2005)
HSU_FOUNDERS = {"KHM", "LAO", "MMR", "THA"}
# Table 2: specialist units, training for prosecutors & judges, victim support.
TABLE2 = {
    "BRN": ("yes", "no", "yes"),
    "KHM": ("yes", "yes", "yes"),
    "IDN": ("yes", "limited", "yes"),
    "LAO": ("yes", "unknown", "limited"),
    "MYS": ("no", "unknown", "yes"),
    "MMR": ("yes", "no", "limited"),
    "PHL": ("yes", "yes", "yes"),
    "SGP": ("no", "unknown", "limited"),
    "THA": ("yes", "yes", "yes"),
    "VNM": ("yes", "yes", "limited"),
}
MEMBERS = ("BRN", "KHM", "IDN", "LAO", "MYS", "MMR", "PHL", "SGP", "THA", "VNM")  # of 1997-2015


def _year(rec, state, inst):
    a = rec.adoptions
    row = a[(a.state == state) & (a.instrument == inst)]
    assert len(row) == 1
    return row.iloc[0]


@pytest.mark.parametrize(
    ("inst", "table"),
    [("tip_law", TABLE1), ("untoc", UNTOC), ("tip_protocol", PROTOCOL), ("asean_mlat", MLAT)],
)
def test_dated_adoptions_match_the_study(record, inst, table):
    for state, year in table.items():
        row = _year(record, state, inst)
        if year is None:
            assert pd.isna(row.year) and pd.isna(row.year_max)
        else:
            assert row.year == year and row.year_min == year and row.year_max == year
            assert row.source.startswith("study, Table")


def test_hsu_founders_dated_others_interval_censored(record):
    for state in MEMBERS:
        row = _year(record, state, "hsu_process")
        if state in HSU_FOUNDERS:
            assert row.year == 2004
        else:
            assert pd.isna(row.year) and (row.year_min, row.year_max) == (2004, 2015)


def test_no_actip_ratification_and_nothing_after_2015(record):
    assert record.adoptions.query("instrument == 'actip'")["year_max"].isna().all()
    assert (record.adoptions["year_max"].dropna() <= 2015).all()
    assert record.end == 2015


def test_status_matches_table2(record):
    s = record.status.set_index(["state", "instrument"])["value"]
    for state, vals in TABLE2.items():
        got = tuple(s[(state, k)] for k in ("specialist_unit", "prosecutor_training", "victim_support"))
        assert got == vals, state
    # The study's text: eight states have specialist units.
    assert (record.status.query("instrument == 'specialist_unit'")["value"] == "yes").sum() == 8


def test_states_and_agreements(record):
    assert record.state_ids == (*MEMBERS, "TLS")
    joined = dict(zip(record.states.state, record.states.joined))
    assert joined["TLS"] == 2025  # a member after the window: data, not code
    assert joined["KHM"] == 1999 and joined["LAO"] == joined["MMR"] == 1997 and joined["VNM"] == 1995
    ag = record.agreements.set_index("agreement")
    assert ag.loc["actip_2015", "binding"] and ag.loc["actip_2015", "year"] == 2015
    assert not ag.loc[["decl_transnational_crime_1997", "decl_tip_2004"], "binding"].any()
    assert ag["binding"].sum() == 1
    assert ag.loc["joint_statement_2011", "date"] == "2011-05-08"
    assert set(ag.index) >= {
        "vision_2020",
        "plan_of_action_1999",
        "work_programme_2002",
        "practitioner_guidelines_2007",
        "work_plan_2007_2009",
        "hsu_into_somtc_2009",
    }
    # Every value carries a source.
    for table in (record.adoptions, record.status, record.states, record.agreements):
        assert (table["source"] != "").all()


def test_record_patterns_visible_in_the_data(record):
    """RECORD-PATTERNS 2 and 3: bundled ratification and the MLAT's first year."""
    a = record.adoptions.pivot(index="state", columns="instrument", values="year")
    same = (a["tip_protocol"] == a["untoc"]).fillna(False)
    assert set(a.index[same]) == {"IDN", "LAO", "MMR", "PHL", "THA", "VNM", "TLS"}  # TLS: 2009, before joining
    assert set(a.index[a["asean_mlat"] == 2005]) == {"MYS", "SGP", "VNM"}


def test_covariates_cover_the_window(record):
    c = record.covariates
    assert set(c.state) == set(record.state_ids)
    window = c[(c.year >= 1997) & (c.year <= 2015)]
    assert window["gdp_pc"].notna().all() and len(window) == 11 * 19
    assert set(record.migration.year) >= {1995, 2000, 2005, 2010, 2015}


def test_global_record_loads(record):
    g = harmsim.load_record("global_criminalization")
    assert len(g.state_ids) == 170 and g.instrument_ids == ("tip_law",)
    assert (g.start, g.end) == (1967, 2014)
    assert harmsim.load_record("global") is g


@pytest.mark.parametrize("name", ["asean", "global_criminalization"])
def test_record_roundtrips_through_its_files(name, tmp_path):
    """load(write(r)) equals r, table by table, and the files keep the packaged format."""
    rec = harmsim.load_record(name)
    paths = rec.write(tmp_path)
    assert tmp_path / "record.toml" in paths
    back = harmsim.load_record(tmp_path)
    for field in ("name", "title", "start", "end", "sources", "description", "files", "status_items"):
        assert getattr(back, field) == getattr(rec, field), field
    assert set(back.tables()) == set(rec.tables())
    for tname, table in rec.tables().items():
        pd.testing.assert_frame_equal(getattr(back, tname), table, check_dtype=False, obj=tname)
    if name == "asean":
        ag = pd.read_csv(tmp_path / "agreements.csv")
        assert set(ag["binding"]) == {"yes", "no"} and ag["covers"].iloc[0] == "tip_law untoc"
        assert (tmp_path / "tip_tiers.csv").is_file() and (tmp_path / "migrant_stock.csv").is_file()


def test_edited_record_runs(tmp_path, baseline):
    """A user copies the record, moves the 2004 Declaration to 2002, and runs a scenario on it.

    The year is what counts: a date left in the old year is refused in one line, naming both."""
    harmsim.observed_record().write(tmp_path)
    ag = pd.read_csv(tmp_path / "agreements.csv", dtype=str, keep_default_na=False)
    ag.loc[ag["agreement"] == "decl_tip_2004", "year"] = "2002"
    ag.to_csv(tmp_path / "agreements.csv", index=False)
    harmsim.data.record._load.cache_clear()
    with pytest.raises(RecordError, match=r"agreements.csv, line \d+: date 2004-11-29 does not fall in the year 2002"):
        harmsim.load_record(tmp_path)
    ag.loc[ag["agreement"] == "decl_tip_2004", "date"] = ""
    ag.to_csv(tmp_path / "agreements.csv", index=False)
    harmsim.data.record._load.cache_clear()
    text = (tmp_path / "record.toml").read_text().replace('name = "asean"', 'name = "asean_moved"')
    (tmp_path / "record.toml").write_text(text)
    sc = scenario_from_dict({**baseline.to_dict(), "record": str(tmp_path)}, where="t")
    assert (
        sc.record.name == "asean_moved"
        and dict(zip(sc.record.agreement_ids, sc.world.agreement_year))["decl_tip_2004"] == 2002
    )
    assert len(harmsim.run_ensemble(sc, replicates=3, seed=0).adoptions)


def test_unknown_record_name():
    with pytest.raises(RecordError, match="no such record"):
        harmsim.load_record("atlantis")


def test_build_script_reproduces_the_derived_tables(tmp_path):
    """Every table scripts/build_records.py derives from data-raw/ (the others are transcribed by hand) is exactly
    the one the package ships, so each of its numbers traces back to a raw file and its source. The tables compared
    are those the script writes, so a table it adds is compared too."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    subprocess.run(
        [sys.executable, str(root / "scripts" / "build_records.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    written = {d.name: sorted(f.name for f in d.glob("*.csv")) for d in tmp_path.iterdir() if d.is_dir()}
    assert written == {
        "asean": ["covariates.csv", "global_series.csv", "migrant_stock.csv", "tip_tiers.csv"],
        "global_criminalization": ["adoptions.csv", "instruments.csv", "states.csv"],
    }
    for record, files in written.items():
        shipped = Path(harmsim.load_record(record).path)
        for name in files:
            assert (tmp_path / record / name).read_bytes() == (shipped / name).read_bytes(), f"{record}/{name}"

"""Malformed records give a RecordError naming the file, the row and the problem."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import harmsim
from harmsim.errors import RecordError


@pytest.fixture
def folder(tmp_path):
    src = harmsim.observed_record().path
    dst = tmp_path / "rec"
    shutil.copytree(src, dst)
    return dst


def _edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize(
    ("file", "old", "new", "pattern"),
    [
        (
            "adoptions.csv",
            "BRN,tip_law,2004",
            "XXX,tip_law,2004",
            r"adoptions.csv, line 2: unknown state 'XXX'",
        ),
        ("adoptions.csv", "BRN,untoc,2008", "BRN,untok,2008", r"line \d+: unknown instrument 'untok'"),
        (
            "adoptions.csv",
            "KHM,tip_law,2008",
            "BRN,tip_law,2008",
            r"line 3: duplicate row for \(BRN, tip_law\)",
        ),
        (
            "adoptions.csv",
            "BRN,tip_law,2004,2004,2004",
            "BRN,tip_law,2017,2017,2017",
            r"line 2: year 2017 is outside the data's range",
        ),
        (
            "adoptions.csv",
            "BRN,tip_law,2004,2004,2004",
            "BRN,tip_law,20x4,2004,2004",
            r"line 2: year '20x4' is not a year",
        ),
        (
            "adoptions.csv",
            "BRN,tip_law,2004,2004,2004",
            "BRN,tip_law,2004,2003,2004",
            r"disagrees with year_min",
        ),
        (
            "status.csv",
            "BRN,specialist_unit,yes",
            "BRN,specialist_unit,maybe",
            r"status.csv, line 2: value must be",
        ),
        ("states.csv", "state,name,joined", "state,name,joinedx", r"states.csv: missing column"),
        (
            "agreements.csv",
            "tip_law untoc,anchor",
            "tip_law untocx,anchor",
            r"agreements.csv, line 2: covers unknown instrument 'untocx'",
        ),
        (
            "instruments.csv",
            ',untoc,tip_law,"UN Treaty',
            ',untox,tip_law,"UN Treaty',
            r"instruments.csv, line 4: requires unknown",
        ),
        (
            "instruments.csv",
            ',untoc,tip_law,"UN Treaty',
            ',untoc,tip_lax,"UN Treaty',
            r"instruments.csv, line 4: obliges unknown instrument 'tip_lax'",
        ),
        (
            "instruments.csv",
            ',untoc,tip_law,"UN Treaty',
            ',untoc,tip_protocol,"UN Treaty',
            r"instruments.csv, line 4: 'tip_protocol' obliges itself",
        ),
        (
            "instruments.csv",
            ',untoc,tip_law,"UN Treaty',
            ',untoc,tip_law tip_law,"UN Treaty',
            r"instruments.csv, line 4: obliges 'tip_law' twice",
        ),
        # wrong data that loaded before: values out of their range, duplicates, self-borders
        ("global_series.csv", "1967,share_criminalized,0.006369", "1967,share_criminalized,1.4", r"is a share"),
        ("covariates.csv", "BRN,1990,23658.7166330381", "BRN,1990,-23658.7", r"line 2: gdp_pc -23658.7 is outside"),
        ("covariates.csv", "BRN,1990,23658.7166330381", "BRN,1990,1e308", r"line 2: gdp_pc 1e308 is outside"),
        ("covariates.csv", "BRN,1990,23658.7166330381", "BRN,1990,inf", r"line 2: gdp_pc 'inf' is not a finite"),
        ("borders.csv", "BRN,MYS,", "BRN,BRN,", r"borders.csv, line 2: a state cannot border itself"),
        ("borders.csv", "state_a,state_b,source\n", "state_a,state_b,source\nMYS,BRN,x\n", r"duplicate row"),
        ("migrant_stock.csv", "BRN,KHM,1990,0,", "BRN,IDN,1990,0,", r"duplicate row for \(BRN, IDN, 1990\)"),
        ("tip_tiers.csv", "BRN,2002,", "BRN,2001,", r"tip_tiers.csv, line 3: duplicate row for \(BRN, 2001\)"),
        ("global_series.csv", "1968,share_cri", "1967,share_cri", r"duplicate row for \(share_criminalized, 1967\)"),
        ("record.toml", "start = 1997", "start = true", r"start and end must be integer years"),
        ("record.toml", "end = 2015", "end = 100000000000", r"start and end must be integer years"),
        ("record.toml", 'states = "states.csv"', "states = 5", r"'tables' must be a table of file names"),
        ("status.csv", "BRN,specialist_unit,yes", "BRN,specalist_unit,yes", r"status.csv, line 2: unknown item"),
    ],
)
def test_bad_files(folder, file, old, new, pattern):
    _edit(folder / file, old, new)
    harmsim.data.record._load.cache_clear()
    with pytest.raises(RecordError, match=pattern):
        harmsim.load_record(folder)


def test_malformed_csv(folder):
    (folder / "borders.csv").write_text('state_a,state_b\n"BRN,MYS\n')
    with pytest.raises(RecordError, match=r"borders.csv"):
        harmsim.load_record(folder)


def test_bad_manifest(folder):
    (folder / "record.toml").write_text("name = [\n")
    with pytest.raises(RecordError, match="TOML syntax error"):
        harmsim.load_record(folder)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet="0123456789-x .", min_size=0, max_size=6))
def test_year_field_never_crashes(tmp_path_factory, text):
    """Any text in a year cell is either a valid year or a RecordError, never another exception."""
    d = tmp_path_factory.mktemp("r")
    shutil.copytree(harmsim.observed_record().path, d / "rec")
    path = d / "rec" / "adoptions.csv"
    _edit(path, "PHL,tip_law,2003,2003,2003", f"PHL,tip_law,{text.replace(',', '')},,")
    try:
        rec = harmsim.load_record(d / "rec")
    except RecordError as exc:
        assert "adoptions.csv, line" in str(exc)
    else:
        y = rec.adoptions.query("state == 'PHL' and instrument == 'tip_law'")["year"].iloc[0]
        assert str(y) == text.strip() or (text.strip() == "" and str(y) == "<NA>") or int(text) == y


def _edited(tmp_path, table, edit):
    """The ASEAN record written to a folder, one table edited with pandas (all text), loaded again."""
    harmsim.observed_record().write(tmp_path)
    files = {"covariates": "covariates.csv", "migration": "migrant_stock.csv", "global_series": "global_series.csv"}
    path = tmp_path / files.get(table, f"{table}.csv")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    edit(df)
    df.to_csv(path, index=False)
    return harmsim.load_record(tmp_path)


def _set(table_filter, col, value):
    def edit(df):
        df.loc[table_filter(df), col] = value

    return edit


@pytest.mark.parametrize(
    ("table", "edit", "pattern"),
    [
        ("states", _set(lambda d: d.state == "BRN", "left", "1980"), r"left 1980 is before joined 1984"),
        ("adoptions", _set(lambda d: (d.state == "BRN") & (d.instrument == "untoc"), ["year", "year_min", "year_max"],
                           "1998"), r"BRN adopts untoc in 1998, before it opens in 2000"),
        ("adoptions", _set(lambda d: (d.state == "BRN") & (d.instrument == "tip_law"), ["year", "year_min", "year_max"],
                           "1850"), r"year 1850 is outside the data's range 1900-2015"),
        ("adoptions", _set(lambda d: (d.state == "BRN") & (d.instrument == "tip_law"), "year", "2_004"),
         r"year '2_004' is not a year"),
        ("adoptions", _set(lambda d: (d.state == "BRN") & (d.instrument == "tip_law"), "year", "２００４"),
         r"is not a year"),
        ("adoptions", _set(lambda d: (d.state == "BRN") & (d.instrument == "tip_law"), "year", "٢٠٠٤"),
         r"is not a year"),
        ("agreements", _set(lambda d: d.agreement == "vision_2020", "covers", "tip_law untoc tip_law"),
         r"covers 'tip_law' twice"),
        ("covariates", _set(lambda d: d.index == 0, "population", "1"), r"population 1 is outside its range"),
        ("covariates", _set(lambda d: d.index == 0, "gdp_pc", "9900000"), r"gdp_pc 9900000 is outside its range"),
        ("migration", _set(lambda d: d.index == 0, "migrants", "1e14"), r"migrants 1e\+14 is more than"),
        ("global_series", _set(lambda d: d.index == len(d) - 1, "variable", "share_criminalised"),
         r"the variables span different years .*a misspelt name"),
    ],
)  # fmt: skip
def test_values_once_loaded_without_a_word_are_refused(tmp_path, table, edit, pattern):
    """Before: each of these loaded and changed results silently (found by fuzzing)."""
    with pytest.raises(RecordError, match=pattern):
        _edited(tmp_path, table, edit)


def test_observed_until_must_be_a_year_inside_the_record(capsys):
    from harmsim.cli import main

    with pytest.raises(SystemExit):
        main(["calibrate", "baseline", "--observed-until", "٢٠٠٨"])
    assert "expected a year" in capsys.readouterr().err
    assert main(["calibrate", "baseline", "--observed-until", "9999"]) == 2
    assert "observed until 9999 is after the record 'asean' ends (2015)" in capsys.readouterr().err

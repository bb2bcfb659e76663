"""Figures of the world record: country outlines, what a map shows per state, adoption per organization."""

from __future__ import annotations

import numpy as np
import pytest

import harmsim
from harmsim.cli import main
from harmsim.data.maps import country_shapes, map_values
from harmsim.scoring.compare import organization_curves

#: states of the world record with no outline at Natural Earth's 1:110m scale (its README names Singapore,
#: Andorra and Monaco among them)
SMALL = {"AND", "ATG", "BHR", "BRB", "COM", "CPV", "DMA", "FSM", "GRD", "KIR", "KNA", "LCA", "LIE", "MCO", "MDV",
         "MHL", "MLT", "MUS", "NRU", "SGP", "SMR", "STP", "SYC", "TON", "VCT", "WSM"}  # fmt: skip


@pytest.fixture(scope="module")
def world():
    return harmsim.load_record("world")


def test_every_state_but_the_smallest_has_an_outline(world):
    shapes = country_shapes()
    missing = {s for s in world.state_ids if s not in shapes}
    assert missing == SMALL
    lon = np.concatenate([r[:, 0] for rings in shapes.values() for r in rings])
    lat = np.concatenate([r[:, 1] for rings in shapes.values() for r in rings])
    assert lon.min() >= -180 and lon.max() <= 180 and lat.min() >= -90 and lat.max() <= 90


def test_map_values_read_the_record(world):
    v = map_values(world, "cets197").set_index("state")
    dated = world.adoptions.query("instrument == 'cets197'").dropna(subset=["year"]).set_index("state")["year"]
    assert len(dated) > 10
    assert (v.loc[dated.index, "year"] == dated).all() and (v.loc[dated.index, "status"] == "adopted").all()
    assert v.loc["USA", "status"] == "not open" and np.isnan(v.loc["USA", "year"])  # not in the Council of Europe
    assert not v.loc["MLT", "drawn"] and v.loc["FRA", "drawn"]
    interval = v[v["status"] == "adopted within"]
    assert len(interval) and (interval["year"] <= world.end).all()  # shown at the upper bound, "adopted by"
    law = map_values(world, "tip_law")
    assert set(law["status"]) <= {"before", "adopted", "adopted within", "not adopted", "unobserved"}


def test_organization_curves_by_hand():
    """The four-state panel of the model tests: C leaves O1 after 2001, D joins O2 in 2002."""
    from .test_world_model import panel

    rec = panel([("A", "x", 2001), ("C", "x", 2000), ("D", "r", 2003), ("B", "x", 2002, 2003)])
    c = organization_curves(rec).set_index(["organization", "instrument", "year"]).sort_index()
    o1 = c.loc[("O1", "x")]
    assert o1["members"].tolist() == [3, 3, 2, 2]  # A, B, C; C a member through 2001, the year it left
    # A from 2001, C from 2000 while a member; B known adopted only from 2003 (the interval's upper bound)
    assert o1["adopted"].tolist() == [1, 2, 1, 2]
    assert ("O1", "r") not in c.index  # O2's treaty is counted for O2 alone
    o2 = c.loc[("O2", "r")]
    assert o2["members"].tolist() == [1, 1, 2, 2] and o2["adopted"].tolist() == [0, 0, 0, 1]


def test_record_figures_command(tmp_path, capsys):
    out = tmp_path / "figs"
    assert main(["record", "world", "--figures", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"map_tip_law.png", "map_cets197.png", "organizations.png"} <= names
    assert main(["record", "world", "--figures", str(out)]) == 2  # an earlier result stays without --force
    assert "--force" in capsys.readouterr().err


def test_the_organization_figure_has_a_panel_per_organization_with_members(world):
    from harmsim.output.plots import figure_organizations

    curves = organization_curves(world)
    marks = {"EU": [(2002, "fd", True), (2002, "decl", False)]}
    fig = figure_organizations(curves, list(world.instrument_ids), marks)
    titled = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titled == ["ASEAN", "COE", "COMMIT", "ECOWAS", "EU", "SAARC", "SADC"]
    eu = fig.axes[titled.index("EU")]
    styles = sorted(line.get_linestyle() for line in eu.get_lines() if line.get_xdata()[0] == 2002 and
                    len(set(line.get_xdata())) == 1)  # fmt: skip
    assert styles == ["-", "--"]  # the non-binding declaration dashed, the binding decision solid


def test_map_codes_place_every_state_of_the_shipped_records():
    """The world record's ids are ISO codes; the global criminalization panel names its states and is placed
    through their Correlates of War codes, which the world record holds beside the ISO ones."""
    from harmsim.data.maps import map_codes

    for name in ("world", "asean", "global_criminalization"):
        record = harmsim.load_record(name)
        codes = map_codes(record)
        assert set(codes) == set(record.state_ids), name
        assert len(set(codes.values())) == len(codes), name  # no two states on one outline
    codes = map_codes(harmsim.load_record("global_criminalization"))
    assert (codes["Burma"], codes["UArabEmir"], codes["CostaRica"]) == ("MMR", "ARE", "CRI")

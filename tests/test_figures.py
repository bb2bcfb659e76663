"""What the figures say, checked on their content: names not ids, agreement dates, legends, medians over all runs,
the order of states, and what was simulated (hand-set or fitted)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import harmsim
from harmsim.analysis.predictive import predictive_ensemble
from harmsim.calibrate import calibrate
from harmsim.cli import main
from harmsim.output.figures import instrument_labels, state_labels, states_by_adoption
from harmsim.scoring.compare import simulated_curves, year_ranges


@pytest.fixture(scope="module")
def ens():
    return harmsim.run_ensemble(harmsim.load_scenario("baseline"), replicates=200, seed=3)


def _texts(fig):
    return [t.get_text() for t in fig.findobj(match=lambda o: hasattr(o, "get_text"))]


def _vlines(ax):
    return {round(line.get_xdata()[0], 3) for line in ax.get_lines() if len(set(line.get_xdata())) == 1}


def test_timeline_speaks_in_names_and_marks_the_agreements(ens):
    rec = ens.scenario.record
    fig = ens.plot.timeline()
    inst = instrument_labels(rec)
    states = state_labels(rec)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == [inst[k] for k in ens.scenario.world.instruments]
    members = [s for s in ens.scenario.world.states if s != "TLS"]
    order = states_by_adoption(rec, members, list(ens.scenario.world.instruments))
    for ax in panels:
        assert [t.get_text() for t in ax.get_yticklabels()] == [states[s] for s in order]
        assert {1997, 2004, 2015} <= _vlines(ax)  # the declarations and the binding convention
        assert ax.get_xticks()[-1] == 2016  # "later": not adopted by 2015
    assert panels[-1].get_xticklabels()[-1].get_text() == "later"
    text = " ".join(_texts(fig))
    for words in (
        "agreement, non-binding (declaration, plan)",
        "agreement, binding (convention, law)",
        "median over all runs",
    ):
        assert words in text
    assert "no member adopted it by 2015" in text  # the Convention's panel says why it is empty
    assert "the scenario's parameters, 200 runs" in fig._suptitle.get_text()
    # states by observed adoption: Lao PDR and the Philippines (early adopters) before Singapore
    assert order.index("LAO") < order.index("SGP") and order.index("PHL") < order.index("SGP")


def test_medians_are_over_all_replicates(ens):
    """A state-instrument that most runs never adopt has its median at 'later' (end + 1), not at the adopters'."""
    r = year_ranges(ens).set_index(["state", "instrument"])
    actip = r.xs("actip", level="instrument")
    assert (actip["p_adopted"] < 0.5).all() and (actip["q50"] == 2016).all()
    law = r.xs("tip_law", level="instrument").drop(index="TLS")  # Timor-Leste joins in 2025
    assert (law["q50"] <= 2015).all() and (law["q50"] == law["q50"].round()).all()
    curves = simulated_curves(ens)
    assert (curves["q50"] == curves["q50"].round()).all()  # whole numbers of states


def test_a_fitted_ensemble_says_so_and_lists_its_draws(tmp_path, capsys):
    sc = harmsim.load_scenario("diffusion_only")
    fit = calibrate(sc)
    pred = predictive_ensemble(sc, fit, 50, seed=1)
    assert "fitted by maximum likelihood, 50 draws" in pred.plot.cumulative()._suptitle.get_text()
    p = pred.parameters
    drawn = p[p["source"] == "fit (mle)"]
    assert set(drawn["parameter"]) == set(fit.estimates["parameter"]) and drawn["replicate"].notna().all()
    assert drawn.groupby("parameter")["value"].nunique().max() > 1  # one value per draw
    held = p[p["source"] == "scenario"]
    assert held["replicate"].isna().all() and not set(held["parameter"]) & set(drawn["parameter"])
    fit.save(tmp_path / "fit")
    out = tmp_path / "run"
    assert main(["run", "diffusion_only", "--from-fit", str(tmp_path / "fit"), "-r", "20", "--out", str(out)]) == 0
    assert "parameters drawn from the MLE fit" in capsys.readouterr().out
    csv = pd.read_csv(out / "parameters.csv")
    intercept = csv.loc[csv["parameter"] == "hazard.intercept", "value"].astype(float)
    assert len(intercept) == 20 and intercept.nunique() > 1


def test_agreements_figure_names_its_rows_and_has_a_legend():
    sc = harmsim.load_scenario("endogenous")
    ens = harmsim.run_ensemble(sc, replicates=50, seed=1)
    fig = ens.plot.agreements()
    ax = fig.axes[0]
    names = dict(zip(sc.record.agreements["agreement"], sc.record.agreements["name"]))
    labels = [t.get_text().replace("\n", " ") for t in ax.get_yticklabels()]
    assert labels and all(lbl in names.values() for lbl in labels)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["recorded (non-binding)", "recorded (binding)", "simulated (runs)"]
    assert harmsim.run_ensemble(harmsim.load_scenario("baseline"), replicates=2, seed=1).plot.agreements() is None


def test_every_figure_of_the_command_line_is_the_result_method(tmp_path):
    """Each figure `harmsim run` writes is, pixel for pixel, the figure of the result's own plot method on the
    same ensemble (not only a file of that name)."""
    from PIL import Image

    out = tmp_path / "r"
    assert main(["run", "endogenous", "-r", "30", "--out", str(out)]) == 0
    assert np.isfinite(pd.read_csv(out / "fit.csv")["mean"]).any()
    sc = harmsim.load_scenario("endogenous")
    ens = harmsim.run_ensemble(sc, replicates=30, seed=0)
    figures = ens.plot.all(sc.record)
    assert set(figures) == {"cumulative", "timeline", "agreements"}
    for stem, fig in figures.items():
        fig.savefig(tmp_path / f"{stem}.png", dpi=200)
        cli = np.asarray(Image.open(out / f"{stem}.png").convert("RGB"))
        own = np.asarray(Image.open(tmp_path / f"{stem}.png").convert("RGB"))
        assert cli.shape == own.shape and (cli == own).all(), stem
        assert (own != 255).any(axis=2).mean() > 0.01, stem  # something is drawn


def test_backtest_figure_ticks_are_the_origins():
    from harmsim.output.plots import figure_backtest

    scores = pd.DataFrame(
        {
            "origin": [2005, 2008, 2011] * 2,
            "model": ["a"] * 3 + ["b"] * 3,
            "log_score": [-2.0, -1.5, -1.0, -2.1, -1.4, -1.1],
            "crps": [1.0, 0.8, 0.5, 1.1, 0.7, 0.6],
            "coverage90": [0.9, 1.0, 1.0, 0.8, 0.9, 1.0],
        }
    )
    fig = figure_backtest(scores)
    for ax in fig.axes:
        assert list(ax.get_xticks()) == [2005, 2008, 2011]


def test_incremental_figure_names_the_agreements(ens):
    from matplotlib.figure import Figure

    from harmsim.output.plots import plot_incremental
    from harmsim.scoring.compare import compliance_curves

    sc = ens.scenario
    ax = Figure().subplots()
    observed = compliance_curves(sc.record.adoptions, sc.world)
    plot_incremental(ax, observed, compliance_curves(ens.adoptions, sc.world), sc.record.agreements)
    text = " ".join(_texts(ax.figure)).replace("\n", " ")
    assert "ASEAN Declaration on Transnational Crime" in text and "(binding)" in text
    assert not any(a in text for a in sc.record.agreements["agreement"])  # no ids


def test_world_panels_scale_to_the_states_an_instrument_is_open_to_and_mark_its_agreements():
    """On a record with organizations a panel's scale is the states its instrument is open to (SAARC's eight
    members for its convention, not 188 states), and it marks the agreements that call for the instrument
    (not the Council of Europe's on SAARC's panel); on one region's record every panel marks the region's
    whole sequence, as before."""
    from harmsim.output.plots import agreement_marks_by_instrument

    sc = harmsim.load_scenario("world_baseline")
    ens = harmsim.run_ensemble(sc, replicates=5, seed=0)
    fig = ens.plot.cumulative()
    panels = dict(zip(sc.world.instruments, [ax for ax in fig.axes if ax.get_visible()]))
    open_to = sc.world.open_until(2015)
    assert open_to["saarc2002"] == 8 and open_to["tip_law"] == len(sc.world.members_until(2015))
    for k, ax in panels.items():
        assert ax.get_ylim()[1] == pytest.approx(open_to[k] + 0.3)
    ag = sc.record.agreements
    for k in ("saarc2002", "cets197"):
        calls = ag[ag["covers"].map(lambda c, k=k: k in c) & (ag["trigger"] != "follow_up")]
        assert len(calls) and _vlines(panels[k]) == set(calls["year"].astype(float))
    saarc = {m[1] for m in agreement_marks_by_instrument(sc)["saarc2002"]}
    assert saarc and all("Council of Europe" not in name for name in saarc)
    asean = agreement_marks_by_instrument(harmsim.load_scenario("baseline"))
    assert len({tuple(v) for v in asean.values()}) == 1  # one region: the same marks on every panel
    # the timeline: a row per state the instrument is open to, in a panel tall enough to read them
    timeline = dict(zip(sc.world.instruments, [ax for ax in ens.plot.timeline().axes if ax.get_visible()]))
    names = sc.record.states.set_index("state")["name"]
    saarc = sc.record.memberships.query("organization == 'SAARC'")["state"]
    assert {t.get_text() for t in timeline["saarc2002"].get_yticklabels()} == set(names[saarc])
    assert len(timeline["tip_law"].get_yticklabels()) == open_to["tip_law"]
    assert timeline["tip_law"].get_figure().get_size_inches()[1] > 0.1 * open_to["tip_law"]


def test_a_legend_with_long_entries_fits_its_figure():
    """A counterfactual's five legend entries did not fit four to a row and were cut at both edges: the
    columns are now as many as fit, measured in the font (and one region's figures keep their four)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from harmsim.output.plots import figure_differences

    diff = pd.DataFrame({"instrument": "tip_law", "year": [2000, 2001], "mean": 0.0, "q05": 0.0, "q95": 0.0})
    marks = [(1997, "a", False, ""), (2004, "b", False, "changed"), (2015, "c", True, "")]
    fig = figure_differences(diff, ["tip_law"] * 3, agreements=marks)
    # an agreement of the first or last year is drawn inside the panel, not on its edge (1997 and 2015 were)
    left, right = fig.axes[0].get_xlim()
    assert left < 2000 and right > 2001
    FigureCanvasAgg(fig).draw()
    box, frame = fig.legends[0].get_window_extent(), fig.bbox
    assert box.x0 >= frame.x0 and box.x1 <= frame.x1 and fig.legends[0]._ncols == 3
    ens = harmsim.run_ensemble(harmsim.load_scenario("baseline"), replicates=5, seed=0)
    assert ens.plot.cumulative().legends[0]._ncols == 4
    from matplotlib.lines import Line2D

    from harmsim.output.plots._base import _legend_columns

    two_lines = [Line2D([], [], label="short\n" + "a second line, long " * 4), Line2D([], [], label="b")]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a newline measured as a glyph warned (the organizations' legend)
        assert _legend_columns(two_lines, 4.0, 2) == 1 and _legend_columns(two_lines, 10.0, 2) == 2


def test_the_lowest_panel_of_every_column_shows_its_years():
    """The organizations' figure has seven panels in three columns: the EU's and SAARC's, lowest in theirs, had
    no years below them (the shared axis hides every row's but the last, and the last row had one panel)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from harmsim.output.plots import figure_organizations
    from harmsim.scoring.compare import organization_curves

    rec = harmsim.load_record("world")
    curves = organization_curves(rec, ["tip_law"])
    orgs = list(dict.fromkeys(curves["organization"]))
    assert len(orgs) == 7
    fig = figure_organizations(curves, ["tip_law"], {})
    FigureCanvasAgg(fig).draw()
    shown = [ax for ax in fig.axes if ax.get_visible()]

    def years_below(ax):
        return any(t.get_visible() and t.get_text() for t in ax.get_xticklabels())

    assert [years_below(ax) for ax in shown] == [False, False, False, False, True, True, True]

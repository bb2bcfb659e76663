"""Adoption over time: cumulative curves and per-state timelines of runs and ensembles, per organization too."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from harmsim.output.plots._base import (
    INSTRUMENT_COLORS,
    MANY_ROWS,
    OBS,
    SIM,
    _agreement_handles,
    _band,
    _band_handles,
    _frame,
    _grid,
    _later_axis,
    _legend_columns,
    _mark_agreements,
    _note,
    _observed,
    _observed_handles,
    _panels,
    _per,
    _style,
    _wrap,
)


def plot_cumulative(
    ax,
    observed: pd.DataFrame,
    simulated: pd.DataFrame,
    instrument: str,
    n_states: int | None = None,
    title: str | None = None,
    agreements=None,
    note: str | None = None,
):
    """Observed adopters (step line; shaded where interval-censored) against the simulated band.

    ``observed``: columns instrument, year, sure, possible.
    ``simulated``: columns instrument, year, q05, q25, q50, q95 (and q75).
    ``agreements``: (year, label[, binding]) to mark; ``note``: a line written in the panel.

    >>> import harmsim
    >>> from matplotlib.figure import Figure
    >>> from harmsim.scoring.compare import observed_curves, simulated_curves
    >>> sc = harmsim.load_scenario("baseline")
    >>> ens = harmsim.run_ensemble(sc, replicates=20, seed=0)
    >>> observed = observed_curves(sc.record, 1997, 2015, ["tip_law"])
    >>> ax = plot_cumulative(Figure().subplots(), observed, simulated_curves(ens), "tip_law", n_states=10)
    >>> ax.get_title(), bool(ax.get_ylim()[1] >= 10)
    ('tip_law', True)
    """
    _mark_agreements(ax, agreements)
    _note(ax, note)
    o = observed[observed["instrument"] == instrument]
    s = simulated[simulated["instrument"] == instrument]
    _band(ax, s)
    ax.step(s["year"], s["q50"], where="post", color=SIM, linewidth=1.4)
    _observed(ax, o)
    return _frame(ax, o, title or instrument, n_states)


def plot_timeline(
    ax,
    observed: pd.DataFrame,
    ranges: pd.DataFrame,
    instrument: str,
    end: int,
    states=None,
    title: str | None = None,
    labels=None,
    agreements=None,
    note: str | None = None,
):
    """Per state: observed adoption year (dot; bar for an interval) against the simulated 5-95% range and median.

    ``observed``: the record's adoptions (state, instrument, year, year_min, year_max).
    ``ranges``: :func:`harmsim.scoring.compare.year_ranges` output (quantiles over all
    replicates, "not adopted by ``end``" as ``end + 1``). Both are drawn at
    ``end + 1``, the column labelled "later", when they fall after ``end``.
    ``labels``: state id -> name for the rows; ``agreements``: (year, label[,
    binding]) to mark; ``note``: a line written in the panel.

    >>> import harmsim
    >>> from matplotlib.figure import Figure
    >>> from harmsim.scoring.compare import year_ranges
    >>> sc = harmsim.load_scenario("baseline")
    >>> ranges = year_ranges(harmsim.run_ensemble(sc, replicates=20, seed=0), 2015)
    >>> ax = plot_timeline(Figure().subplots(), sc.record.adoptions, ranges, "tip_law", 2015)
    >>> [t.get_text() for t in ax.get_yticklabels()][:3]
    ['BRN', 'KHM', 'IDN']
    """
    o = observed[observed["instrument"] == instrument].set_index("state")
    r = ranges[ranges["instrument"] == instrument].set_index("state")
    states = list(states or o.index)
    never = end + 1
    _mark_agreements(ax, agreements)
    for y, s in enumerate(states):
        if s in r.index:
            q05, q50, q95 = (min(float(r.loc[s, c]), never) for c in ("q05", "q50", "q95"))
            if q05 < never:  # some replicates adopt by the end
                alpha = 0.25 + 0.65 * float(r.loc[s, "p_adopted"])
                ax.plot([q05, q95], [y, y], color=SIM, linewidth=4, alpha=alpha, solid_capstyle="butt")
            ax.plot(q50, y, "|", color=SIM, markersize=9, markeredgewidth=1.5)
        if s not in o.index:
            continue
        lo, hi = o.loc[s, "year_min"], o.loc[s, "year_max"]
        if pd.isna(hi):
            ax.plot(never, y, marker=">", color=OBS, markersize=5, markerfacecolor="white")
        elif lo == hi:
            ax.plot(lo, y, "o", color=OBS, markersize=4.5)
        else:
            ax.plot([lo, hi], [y, y], color=OBS, linewidth=1.2)
            ax.plot([lo, hi], [y, y], "|", color=OBS, markersize=6)
    ax.set_yticks(range(len(states)), [(labels or {}).get(s, s) for s in states])
    ax.invert_yaxis()
    if len(states) > MANY_ROWS:  # a row per state of a world panel: its name small enough to sit in its row
        ax.tick_params(axis="y", labelsize=5)
        ax.set_ylim(len(states) - 0.5, -0.5)
    ax.axvline(end + 0.5, color="#999999", linewidth=0.6, linestyle=":")
    ax.set_title(title or instrument, fontsize=9)
    _style(ax)
    _later_axis(ax, end)
    _note(ax, note)
    ax.grid(axis="x", color="#eeeeee", linewidth=0.6)
    return ax


def figure_cumulative(
    observed, simulated, instruments, n_states, names=None, suptitle=None, agreements=None, notes=None, what="simulated"
):
    """One panel per instrument: observed vs simulated cumulative adopters (``what`` names the simulation).

    ``n_states`` (the panels' scale) and ``agreements`` (the marks) are given for every panel, or per
    instrument as mappings from its id (:meth:`~harmsim.data.world.World.open_until`,
    :func:`agreement_marks_by_instrument`).

    >>> import harmsim
    >>> from harmsim.scoring.compare import observed_curves, simulated_curves
    >>> sc = harmsim.load_scenario("baseline")
    >>> ens = harmsim.run_ensemble(sc, replicates=20, seed=0)
    >>> fig = figure_cumulative(observed_curves(sc.record, 1997, 2015), simulated_curves(ens), ["tip_law", "untoc"], 10)
    >>> len(fig.axes)
    2
    """
    handles = [
        *_observed_handles(),
        Line2D([], [], color=SIM, linewidth=1.4, label=f"{what}: median"),
        *_band_handles(what),
        *_agreement_handles(agreements),
    ]

    def draw(ax, k, title):
        plot_cumulative(ax, observed, simulated, k, _per(n_states, k), title, _per(agreements, k), (notes or {}).get(k))

    return _panels(instruments, draw, "member states that have adopted", handles, names, suptitle)


def figure_timeline(
    observed,
    ranges,
    instruments,
    end,
    states,
    names=None,
    suptitle=None,
    state_names=None,
    agreements=None,
    notes=None,
    what="simulated",
):
    """One panel per instrument: per-state observed year vs simulated range (rows in the order of ``states``).

    ``states`` is one list for every panel, or per instrument a mapping from its id (the states it is open
    to, on the world record); a panel grows with its rows, so a world panel keeps a readable row per state.

    >>> import harmsim
    >>> from harmsim.scoring.compare import year_ranges
    >>> sc = harmsim.load_scenario("baseline")
    >>> ranges = year_ranges(harmsim.run_ensemble(sc, replicates=20, seed=0), 2015)
    >>> len(figure_timeline(sc.record.adoptions, ranges, ["tip_law", "untoc"], 2015, list(sc.world.states)).axes)
    2
    """
    cols = min(3, len(instruments))
    rows = [len(_per(states, k) or ()) for k in instruments]
    tallest = [max(rows[i : i + cols]) for i in range(0, len(rows), cols)]
    wide = max(rows, default=0) > MANY_ROWS  # room for the years beside a world panel's country names
    heights = [max(3.0, 0.11 * n + 1.0) for n in tallest]
    fig, axes = _grid(len(instruments), width=16.0 if wide else 10.0, row_height=heights, cols=cols)
    for ax, k in zip(axes, instruments):
        plot_timeline(
            ax,
            observed,
            ranges,
            k,
            end,
            _per(states, k),
            (names or {}).get(k, k),
            state_names,
            _per(agreements, k),
            (notes or {}).get(k),
        )
    handles = [
        Line2D([], [], marker="o", color=OBS, linestyle="", label="observed year"),
        Line2D([], [], color=OBS, marker="|", label="observed interval"),
        Line2D([], [], marker=">", color=OBS, markerfacecolor="white", linestyle="", label=f"not adopted by {end}"),
        Line2D([], [], color=SIM, linewidth=4, alpha=0.6, label=f"{what}: 5-95% (opacity: share adopting)"),
        Line2D([], [], color=SIM, marker="|", linestyle="", markersize=9, label=f"{what}: median over all runs"),
        *_agreement_handles(agreements),
    ]
    ncol = _legend_columns(handles, fig.get_size_inches()[0], 4)
    fig.legend(handles=handles, loc="outside lower center", ncol=ncol, fontsize=8, frameon=False)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    return fig


def plot_incremental(ax, observed: pd.DataFrame, simulated: pd.DataFrame, agreements: pd.DataFrame):
    """Incremental institutional development (after the study's Figure 3).

    Lines: members' compliance with what an agreement covers, for each
    agreement a later one builds on, observed (solid) and simulated (median,
    dashed, with 90% band). Vertical lines: the agreements that build on them,
    dotted when non-binding, solid when binding. Markers on the time axis: every
    agreement. ``observed`` / ``simulated``: :func:`harmsim.scoring.compare.compliance_curves`;
    ``agreements``: agreement, year, binding, trigger, builds_on.

    >>> from matplotlib.figure import Figure
    >>> agreements = pd.DataFrame({"agreement": ["a", "b"], "year": [1997, 2004], "binding": [False, False],
    ...                            "trigger": ["consensus", "consensus"], "builds_on": [None, "a"]})
    >>> observed = pd.DataFrame({"agreement": "a", "year": [1998, 2004], "share": [0.1, 0.5]})
    >>> simulated = pd.DataFrame({"agreement": "a", "replicate": [0, 0, 1, 1], "year": [1998, 2004] * 2,
    ...                           "share": [0.1, 0.4, 0.2, 0.6]})
    >>> ax = plot_incremental(Figure().subplots(), observed, simulated, agreements)
    >>> len(ax.collections) >= 1  # the simulated band
    True
    """
    colors = ["#2b6cb0", "#c05621", "#2f855a", "#6b46c1"]
    label = dict(zip(agreements["agreement"], agreements["name"])) if "name" in agreements else {}
    for c, (name, g) in zip(colors, simulated.groupby("agreement", sort=False)):
        band = g.groupby("year")["share"].quantile([0.05, 0.5, 0.95]).unstack()
        ax.fill_between(band.index, band[0.05], band[0.95], color=c, alpha=0.15, linewidth=0)
        ax.plot(band.index, band[0.5], color=c, linewidth=1.2, linestyle="--")
        o = observed[observed["agreement"] == name].groupby("year")["share"].mean()
        legend = _wrap(f"compliance with the {label.get(name, name)}", 60)
        ax.plot(o.index, o.values, color=c, linewidth=1.8, label=legend)
        for _, r in agreements[(agreements["builds_on"] == name) & (agreements["trigger"] == "consensus")].iterrows():
            ax.axvline(r["year"], color=c, linewidth=1.0, linestyle="-" if r["binding"] else ":")
            kind = "binding" if r["binding"] else "non-binding"
            ax.annotate(
                f"{_wrap(label.get(r['agreement'], r['agreement']), 28)}\n({kind})",
                (r["year"], 1.0),
                xytext=(-4, -2),
                textcoords="offset points",
                ha="right",
                va="top",
                fontsize=7,
                color=c,
            )
    for _, r in agreements.iterrows():
        major = r["trigger"] != "follow_up"
        ax.plot(
            r["year"],
            -0.06 if major else -0.03,
            marker="s" if r["binding"] else "o",
            markersize=7 if major else 4,
            color="black",
            markerfacecolor="black" if r["binding"] else "white",
            clip_on=False,
        )
    ax.set_ylim(-0.1, 1.05)
    ax.set_ylabel("share of members complying", fontsize=9)
    ax.set_xlabel("year (markers: every agreement; square = binding)", fontsize=9)
    ax.legend(
        fontsize=7,
        frameon=False,
        loc="center left",
        title="observed (solid); simulated (dashed, 90% band)",
        title_fontsize=7,
    )
    _style(ax)
    return ax


def plot_agreement_timing(ax, simulated: pd.DataFrame, recorded: pd.DataFrame, end: int, labels=None):
    """Endogenous agreements: the simulated distribution of arrival years against the recorded year.

    ``simulated``: agreement table of an ensemble (replicate, agreement, year);
    ``recorded``: the record's agreements (agreement, year, binding). Agreements
    that did not arrive by ``end`` are counted at ``end + 1`` ("later").
    ``labels``: agreement id -> name for the rows. Adds its own legend.

    >>> from matplotlib.figure import Figure
    >>> simulated = pd.DataFrame({"replicate": [0, 1, 2], "agreement": "decl", "year": [2003, 2004, None]})
    >>> recorded = pd.DataFrame({"agreement": ["decl"], "year": [2004], "binding": [False]})
    >>> ax = plot_agreement_timing(Figure().subplots(), simulated, recorded, end=2015)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['decl']
    """
    names = [a for a in recorded["agreement"] if a in set(simulated["agreement"])]
    rec = recorded.set_index("agreement")
    for y, name in enumerate(names):
        yrs = simulated.loc[simulated["agreement"] == name, "year"].astype("Float64").fillna(end + 1).astype(float)
        yrs = yrs.clip(upper=end + 1)
        counts = yrs.value_counts(normalize=True).sort_index()
        ax.scatter(counts.index, np.full(len(counts), y), s=400 * counts.values, color=SIM, alpha=0.5, linewidths=0)
        binding = bool(rec.loc[name, "binding"])
        ax.plot(
            rec.loc[name, "year"],
            y,
            marker="s" if binding else "o",
            color=OBS,
            markerfacecolor=OBS if binding else "white",
            markersize=6,
        )
    ax.set_yticks(range(len(names)), [_wrap((labels or {}).get(n, n), 48) for n in names], fontsize=7)
    ax.invert_yaxis()
    ax.axvline(end + 0.5, color="#999999", linewidth=0.6, linestyle=":")
    _style(ax)
    _later_axis(ax, end)
    ax.set_xlabel("year of arrival", fontsize=8)
    ax.grid(axis="x", color="#eeeeee", linewidth=0.6)
    dot = {"linestyle": "", "color": OBS}
    ax.legend(
        handles=[
            Line2D([], [], marker="o", markerfacecolor="white", label="recorded (non-binding)", **dot),
            Line2D([], [], marker="s", label="recorded (binding)", **dot),
            Line2D([], [], marker="o", color=SIM, alpha=0.5, linestyle="", markersize=9, label="simulated (runs)"),
        ],
        fontsize=7,
        frameon=False,
        loc="lower left",
    )
    return ax


def plot_organization(ax, curves: pd.DataFrame, instruments, agreements=None, names=None, title=None):
    """Share of an organization's members (each year) known to have adopted each instrument, its agreements
    marked (``agreements``: (year, label, binding) tuples; binding solid, non-binding dashed).

    ``curves``: one organization's rows of :func:`~harmsim.scoring.compare.organization_curves`.

    >>> import harmsim
    >>> from matplotlib.figure import Figure
    >>> from harmsim.scoring.compare import organization_curves
    >>> curves = organization_curves(harmsim.load_record("world"), ["cets197", "tip_law"])
    >>> coe = curves[curves["organization"] == "COE"]
    >>> ax = plot_organization(Figure().subplots(), coe, ["cets197", "tip_law"], agreements=[(2005, "CETS 197", True)])
    >>> len(ax.lines)  # a curve per instrument, the convention's solid line
    3
    """
    for j, k in enumerate(instruments):
        c = curves[curves["instrument"] == k]
        if len(c):
            color = INSTRUMENT_COLORS[j % len(INSTRUMENT_COLORS)]
            ax.step(c["year"], c["share"], where="post", color=color, linewidth=1.3, label=(names or {}).get(k, k))
    _mark_agreements(ax, agreements)
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(title or "", fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=8)
    return ax


def figure_organizations(curves: pd.DataFrame, instruments, agreements: dict, names=None, suptitle=None):
    """One panel per organization (``curves`` of :func:`~harmsim.scoring.compare.organization_curves`), each with
    its own agreements (``agreements``: organization -> (year, label, binding) tuples).

    >>> import harmsim
    >>> from harmsim.scoring.compare import organization_curves
    >>> curves = organization_curves(harmsim.load_record("world"), ["tip_law", "tip_protocol"])
    >>> two = curves[curves["organization"].isin(["ASEAN", "SAARC"])]
    >>> marks = {"ASEAN": [(2004, "2004 Declaration", False)], "SAARC": [(2002, "Convention", True)]}
    >>> len(figure_organizations(two, ["tip_law", "tip_protocol"], marks).axes)
    2
    """
    orgs = list(dict.fromkeys(curves["organization"]))
    inst = [k for k in instruments if k in set(curves["instrument"])]
    colors = [INSTRUMENT_COLORS[j % len(INSTRUMENT_COLORS)] for j in range(len(inst))]
    handles = [Line2D([], [], color=c, linewidth=1.3, label=(names or {}).get(k, k)) for c, k in zip(colors, inst)]
    handles += _agreement_handles([a for o in orgs for a in agreements.get(o, ())])

    def draw(ax, org, title):
        plot_organization(ax, curves[curves["organization"] == org], inst, agreements.get(org), names, title)

    return _panels(orgs, draw, "share of the organization's members that have adopted", handles, suptitle=suptitle,
                   cols=min(3, len(orgs)))  # fmt: skip

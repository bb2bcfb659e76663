"""The dashboard's figures: one run against the record, and the states drawn as rings on a map."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.collections import PatchCollection
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Patch, Wedge
from matplotlib.ticker import MaxNLocator

from harmsim.output.plots._base import (
    INSTRUMENT_COLORS,
    RUN,
    _agreement_handles,
    _band,
    _band_handles,
    _frame,
    _mark_agreements,
    _observed,
    _observed_handles,
    _panels,
    _per,
)


def plot_states(
    ax, states: pd.DataFrame, cells: pd.DataFrame, borders: pd.DataFrame, labels=None, title=None, legend_ax=None
):
    """The member states as a network at rough geographic positions, each a ring of one wedge per instrument.

    ``states``: columns state, name, x, y, member (bool), note (text under the name, may be empty).
    ``cells``: columns state, instrument, adopted (bool), new (bool: adopted this year, drawn with a dark edge).
    ``borders``: columns state_a, state_b (the links drawn). ``labels``: instrument id -> legend text.
    Wedges run clockwise from the top in the order instruments first appear in ``cells``; a state not yet a
    member is drawn hollow with a dashed outline. The legend goes on ``legend_ax`` if given (its frame
    hidden), else beside the map. Drawn in two layers, :func:`plot_state_map` (what a year does not change)
    and :func:`plot_rings` (what it does), so that a page redrawn every year can keep the first.

    >>> import pandas as pd
    >>> from matplotlib.figure import Figure
    >>> states = pd.DataFrame({"state": ["A", "B", "C"], "name": ["Aland", "Bland", "Cland"], "x": [0, 1, 0.5],
    ...                        "y": [0, 0, 1], "member": [True, True, False], "note": ""})
    >>> cells = pd.DataFrame({"state": ["A", "A", "B", "B", "C", "C"], "instrument": ["law", "treaty"] * 3,
    ...                       "adopted": [True, True, True, False, False, False],
    ...                       "new": [False, True, False, False, False, False]})
    >>> borders = pd.DataFrame({"state_a": ["A"], "state_b": ["B"]})
    >>> ax = plot_states(Figure().subplots(), states, cells, borders)
    >>> ax.get_aspect()  # a map: one unit is as long across as up
    1.0
    """
    plot_state_map(ax, states, borders, list(dict.fromkeys(cells["instrument"])), labels, legend_ax)
    plot_rings(ax, states, cells)
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def _ring_colors(instruments) -> dict:
    return {k: INSTRUMENT_COLORS[i % len(INSTRUMENT_COLORS)] for i, k in enumerate(instruments)}


def _ring_radius(states: pd.DataFrame) -> float:
    return 0.05 * max(np.ptp(states["x"]), np.ptp(states["y"]), 1.0)


def plot_state_map(ax, states: pd.DataFrame, borders: pd.DataFrame, instruments, labels=None, legend_ax=None):
    """The still layer of :func:`plot_states`: the border links, the map's extent and the instruments' legend.

    See :func:`plot_rings` for an example.
    """
    at = states.set_index("state")
    r = _ring_radius(states)
    color = _ring_colors(instruments)
    for a, b in zip(borders["state_a"], borders["state_b"]):
        if a in at.index and b in at.index:
            ax.plot(*zip(at.loc[a, ["x", "y"]], at.loc[b, ["x", "y"]]), color="#c8c8c8", linewidth=1.2, zorder=0)
    ax.set_aspect("equal")
    ax.set_xlim(states["x"].min() - 2 * r, states["x"].max() + 2 * r)
    ax.set_ylim(states["y"].min() - 3 * r, states["y"].max() + 1.5 * r)
    ax.set_axis_off()
    handles = [Patch(facecolor=color[k], label=(labels or {}).get(k, k)) for k in instruments]
    handles.append(Patch(facecolor="#eeeeee", label="not adopted"))
    handles.append(Patch(facecolor="white", edgecolor="#222222", linewidth=1.6, label="adopted this year"))
    if legend_ax is not None:
        legend_ax.set_axis_off()
        legend_ax.legend(
            handles=handles, loc="center", fontsize=8.5, frameon=False, title="instruments", ncol=2, title_fontsize=9
        )
    else:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False)
    return ax


def plot_rings(ax, states: pd.DataFrame, cells: pd.DataFrame) -> list:
    """The moving layer of :func:`plot_states`: each state's ring, count and name. Returns the artists drawn.

    >>> import pandas as pd
    >>> from matplotlib.figure import Figure
    >>> states = pd.DataFrame({"state": ["A", "B"], "name": ["Aland", "Bland"], "x": [0, 1], "y": [0, 0],
    ...                        "member": True, "note": ""})
    >>> cells = pd.DataFrame({"state": ["A", "A", "B", "B"], "instrument": ["law", "treaty"] * 2,
    ...                       "adopted": [True, True, True, False], "new": False})
    >>> ax = Figure().subplots()
    >>> plot_state_map(ax, states, pd.DataFrame({"state_a": ["A"], "state_b": ["B"]}), ["law", "treaty"]) is ax
    True
    >>> len(plot_rings(ax, states, cells)) > 0  # the artists a year's redraw removes
    True
    """
    instruments = list(dict.fromkeys(cells["instrument"]))
    color = _ring_colors(instruments)
    r = _ring_radius(states)
    step = 360.0 / max(len(instruments), 1)
    wedges, style, centres, out = [], [], [], []
    for s, row in states.set_index("state").iterrows():
        c = cells[cells["state"] == s].set_index("instrument")
        for i, k in enumerate(instruments):
            adopted = bool(row["member"]) and k in c.index and bool(c.loc[k, "adopted"])
            new = adopted and bool(c.loc[k, "new"])
            wedges.append(Wedge((row["x"], row["y"]), r, 90 - (i + 1) * step, 90 - i * step, width=0.45 * r))
            style.append(
                (
                    new,  # this year's wedges last, their dark edge on top
                    color[k] if adopted else ("#eeeeee" if row["member"] else "white"),
                    "#222222" if new else "white" if row["member"] else "#999999",
                    1.6 if new else 0.8,
                    "-" if row["member"] else "--",
                )
            )
        centres.append(Circle((row["x"], row["y"]), 0.55 * r))
        n = int(c["adopted"].sum()) if row["member"] and len(c) else 0
        out.append(ax.text(row["x"], row["y"], str(n) if row["member"] else "", ha="center", va="center", fontsize=9))
        text = str(row["name"]) + (f"\n{row['note']}" if row.get("note") else "")
        out.append(ax.text(row["x"], row["y"] - 1.25 * r, text, ha="center", va="top", fontsize=8.5, color="#333333"))
    order = sorted(range(len(wedges)), key=lambda j: style[j][0])
    ring = PatchCollection(
        [wedges[j] for j in order],
        facecolors=[style[j][1] for j in order],
        edgecolors=[style[j][2] for j in order],
        linewidths=[style[j][3] for j in order],
        linestyles=[style[j][4] for j in order],
        zorder=2,
    )
    centre = PatchCollection(centres, facecolors="white", edgecolors="none", zorder=1)
    return [ax.add_collection(centre, autolim=False), ax.add_collection(ring, autolim=False), *out]


def plot_run(ax, observed, run, instrument, band=None, n_states=None, title=None, agreements=None):
    """One run's adopters so far (red) against the observed step line and, if given, a band of many runs.

    ``observed``: columns instrument, year, sure, possible. ``run``: columns instrument, year, adopters
    (the years simulated so far). ``band``: columns instrument, year, q05, q25, q75, q95, or None.
    Drawn in two layers: everything but the run (:func:`plot_run_frame`), then the run (:func:`plot_run_line`).

    >>> import harmsim, pandas as pd
    >>> from matplotlib.figure import Figure
    >>> from harmsim.scoring.compare import observed_curves
    >>> observed = observed_curves(harmsim.observed_record(), 1997, 2015, ["tip_law"])
    >>> run = pd.DataFrame({"instrument": "tip_law", "year": [1997, 1998, 1999], "adopters": [0, 1, 1]})
    >>> ax = plot_run(Figure().subplots(), observed, run, "tip_law", n_states=10)
    >>> ax.get_title()
    'tip_law'
    """
    plot_run_frame(ax, observed, instrument, band, n_states, title, agreements)
    plot_run_line(ax, run, instrument)
    return ax


def plot_run_frame(ax, observed, instrument, band=None, n_states=None, title=None, agreements=None):
    """The still layer of :func:`plot_run`: agreements, the band, the observed line, title and scales.

    >>> import harmsim, pandas as pd
    >>> from matplotlib.figure import Figure
    >>> from harmsim.scoring.compare import observed_curves
    >>> ax = plot_run_frame(Figure().subplots(), observed_curves(harmsim.observed_record(), 1997, 2015), "tip_law")
    >>> run = pd.DataFrame({"instrument": "tip_law", "year": [1997, 1998], "adopters": [0, 1]})
    >>> len(plot_run_line(ax, run, "tip_law"))  # each step redraws only these: the line and its last dot
    2
    """
    _mark_agreements(ax, agreements)
    if band is not None:
        _band(ax, band[band["instrument"] == instrument])
    o = observed[observed["instrument"] == instrument]
    _observed(ax, o)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
    return _frame(ax, o, title or instrument, n_states)


def plot_run_line(ax, run, instrument) -> list:
    """The moving layer of :func:`plot_run`: the run's adopters so far and a dot at its last year (the artists).

    See :func:`plot_run_frame` for an example.
    """
    s = run[run["instrument"] == instrument]
    if not len(s):
        return []
    (line,) = ax.step(s["year"], s["adopters"], where="post", color=RUN, linewidth=2.0)
    (dot,) = ax.plot(s["year"].iloc[-1], s["adopters"].iloc[-1], "o", color=RUN, markersize=4)
    return [line, dot]


def figure_run(
    observed,
    run,
    instruments,
    n_states,
    band=None,
    band_label=None,
    names=None,
    agreements=None,
    suptitle=None,
    layout="constrained",
    cols=3,
    width=10.0,
):
    """One panel per instrument (:func:`plot_run`), with one legend: the dashboard's chart.

    ``layout=None``: no layout engine (the caller sets the margins), for a figure redrawn every step;
    ``cols`` panels a row, ``width`` inches wide.

    >>> import harmsim, pandas as pd
    >>> from harmsim.scoring.compare import observed_curves
    >>> observed = observed_curves(harmsim.observed_record(), 1997, 2015)
    >>> run = pd.DataFrame({"instrument": ["tip_law", "untoc"] * 2, "year": [1997, 1997, 1998, 1998],
    ...                     "adopters": [0, 1, 1, 2]})
    >>> len(figure_run(observed, run, ["tip_law", "untoc"], 10).axes)
    2
    """
    handles = [*_observed_handles(), Line2D([], [], color=RUN, linewidth=2.0, label="this run")]
    if band is not None:
        handles += _band_handles(band_label or "simulated")
    handles += _agreement_handles(agreements)

    def draw(ax, k, title):
        plot_run(ax, observed, run, k, band, _per(n_states, k), title, _per(agreements, k))

    return _panels(instruments, draw, "member states that have adopted", handles, names, suptitle, layout, cols, width)

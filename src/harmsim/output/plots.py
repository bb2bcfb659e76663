"""Figures from tidy tables: each function draws on an Axes and returns it.

Nothing here computes a statistic: the tables come from :mod:`harmsim.scoring.compare`
(observed and simulated curves, year ranges), :mod:`harmsim.model.tables`, the
record and the result objects. By result:

* runs and ensembles: :func:`plot_cumulative`, :func:`plot_timeline` and their
  panels :func:`figure_cumulative`, :func:`figure_timeline`;
* the dashboard: :func:`plot_run` (:func:`plot_run_frame`, :func:`plot_run_line`),
  :func:`figure_run`, :func:`plot_states` (:func:`plot_state_map`, :func:`plot_rings`);
* forecasts and backtests: :func:`plot_fan`, :func:`figure_fan`, :func:`figure_backtest`;
* counterfactuals: :func:`plot_difference`, :func:`figure_differences`;
* sweeps and sensitivity analyses: :func:`plot_response`, :func:`plot_landscape`,
  :func:`plot_indices`;
* mechanism comparison: :func:`plot_pit`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.collections import PatchCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Patch, Rectangle, Wedge
from matplotlib.ticker import MaxNLocator

__all__ = [
    "figure_backtest",
    "figure_cumulative",
    "figure_differences",
    "figure_fan",
    "figure_organizations",
    "figure_run",
    "figure_timeline",
    "figure_world_map",
    "plot_cumulative",
    "plot_difference",
    "plot_fan",
    "plot_forest",
    "plot_indices",
    "plot_organization",
    "plot_pit",
    "plot_placebos",
    "plot_rings",
    "plot_run",
    "plot_run_frame",
    "plot_run_line",
    "plot_state_map",
    "plot_states",
    "plot_timeline",
    "plot_world_map",
]

#: a timeline panel with more rows than this (the world panel's states) gets small labels and a wide figure
MANY_ROWS = 40

SIM = "#2b6cb0"
OBS = "#111111"
#: how a regional agreement's year is marked on a panel
AGREEMENT = {"color": "#8a8a8a", "linewidth": 0.8, "linestyle": "--"}
#: how a binding agreement's year is marked
BINDING = {"color": "#555555", "linewidth": 1.1, "linestyle": "-"}
#: an agreement a counterfactual removes (or moves away from this year), and one it adds (or moves here, or changes)
REMOVED = {"color": "#b03a2e", "linewidth": 1.1, "linestyle": ":"}
CHANGED = {"color": "#1e7b45", "linewidth": 1.1, "linestyle": "-."}


def _style(ax):
    ax.spines[["top", "right"]].set_visible(False)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    ax.tick_params(labelsize=8)
    ax.grid(axis="y", color="#e5e5e5", linewidth=0.6)
    ax.set_axisbelow(True)


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


def _band(ax, b: pd.DataFrame) -> None:
    """The 90% and 50% bands (columns year, q05, q25, q75, q95), as steps."""
    ax.fill_between(b["year"], b["q05"], b["q95"], color=SIM, alpha=0.18, linewidth=0, step="post")
    ax.fill_between(b["year"], b["q25"], b["q75"], color=SIM, alpha=0.30, linewidth=0, step="post")


def _frame(ax, o: pd.DataFrame, title: str, n_states) -> object:
    """Title, the states' scale and the observed years (with room for agreements of the first and last year)."""
    ax.set_title(title, fontsize=9)
    if n_states:
        ax.set_ylim(-0.3, n_states + 0.3)
    _years_axis(ax, o["year"])
    _style(ax)
    return ax


def _years_axis(ax, years) -> None:
    """The panel's years, with room either side for an agreement of the first or the last year (a mark on
    the panel's edge is not seen)."""
    ax.set_xlim(years.min() - 0.6, years.max() + 0.6)


def _observed_handles() -> list:
    """Legend entries of :func:`_observed`."""
    return [
        Line2D([], [], color=OBS, linewidth=1.6, label="observed"),
        Patch(facecolor="none", edgecolor=OBS, hatch="////", label="observed, year known only as interval"),
    ]


def _band_handles(what: str) -> list:
    """Legend entries of :func:`_band`, ``what`` naming the runs."""
    return [
        Patch(color=SIM, alpha=0.45, label=f"{what}: 50% band"),
        Patch(color=SIM, alpha=0.2, label=f"{what}: 90% band"),
    ]


def _observed(ax, o: pd.DataFrame) -> None:
    """The observed adopters (step line), hatched up to those possible where years are known as intervals."""
    if (o["possible"] != o["sure"]).any():
        ax.fill_between(
            o["year"],
            o["sure"],
            o["possible"],
            step="post",
            facecolor="none",
            edgecolor=OBS,
            hatch="////",
            linewidth=0,
            alpha=0.5,
        )
    ax.step(o["year"], o["sure"], where="post", color=OBS, linewidth=1.6)


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


def _note(ax, note: str | None) -> None:
    if note:
        ax.text(0.03, 0.5, note, transform=ax.transAxes, fontsize=7, va="center", color="#555555")


def _later_axis(ax, end: int) -> None:
    """Year ticks every five years up to ``end`` (ten, over more than thirty years: the world record's laws go
    back to the 1960s), and ``end + 1`` labelled "later" (not by ``end``)."""
    lo = ax.get_xlim()[0]
    step = 5 if end - lo <= 30 else 10
    first = int(math.ceil(lo / step) * step)
    ticks = [t for t in range(first, end - 1, step)]
    ax.set_xticks([*ticks, end + 1], [*(str(t) for t in ticks), "later"])
    ax.set_xlim(right=end + 1.7)


def _grid(n: int, width=10.0, row_height=2.6, layout="constrained", cols=3):
    """``n`` panels, ``cols`` a row; ``row_height`` in inches, one for every row or a list, one per row."""
    cols = min(cols, n)
    rows = math.ceil(n / cols)
    heights = list(row_height) if isinstance(row_height, (list, tuple)) else [row_height] * rows
    # A bare Figure (no pyplot): no global state, freed when dropped.
    fig = Figure(figsize=(width, sum(heights) + 0.9), layout=layout)
    axes = fig.subplots(rows, cols, squeeze=False, sharex=True, gridspec_kw={"height_ratios": heights})
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return fig, axes.ravel()[:n]


def _per(value, instrument):
    """A figure argument given for every panel, or per instrument (a mapping from instrument id)."""
    return value.get(instrument) if isinstance(value, Mapping) else value


def _agreement_handles(agreements) -> list:
    """Legend entries for the agreement marks that appear (``agreements``: marks, or instrument -> marks)."""
    if isinstance(agreements, Mapping):
        agreements = [a for marks in agreements.values() for a in marks or ()]
    kinds = {bool(a[2]) if len(a) > 2 else False for a in agreements or () if len(a) < 4 or not a[3]}
    changes = {a[3] for a in agreements or () if len(a) > 3 and a[3]}
    out = []
    if False in kinds:
        out.append(Line2D([], [], **AGREEMENT, label="agreement, non-binding (declaration, plan)"))
    if True in kinds:
        out.append(Line2D([], [], **BINDING, label="agreement, binding (convention, law)"))
    if "removed" in changes:
        out.append(Line2D([], [], **REMOVED, label="removed by the change (or moved from here)"))
    if changes - {"removed"}:
        out.append(Line2D([], [], **CHANGED, label="added, moved here or changed by the change"))
    return out


def _legend_columns(handles, width: float, most: int, fontsize: float = 8.0) -> int:
    """The most columns, up to ``most``, in which a legend of ``handles`` fits a figure ``width`` inches wide.

    A legend wider than its figure is cut at both edges (the layout engine does not shrink it): a
    counterfactual's five entries, its change's the longest, did not fit four to a row. Columns are filled as
    matplotlib fills them (the first ones one entry longer); each is as wide as its widest label, measured in
    the font, plus the handle and its padding (2.8 em), with 2 em between columns.
    """
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    font, text = FontProperties(size=fontsize), TextToPath()

    def inches(label: str) -> float:  # a label of several lines is as wide as its widest
        return max(text.get_text_width_height_descent(line, font, ismath=False)[0] for line in label.split("\n")) / 72

    label_width = {h.get_label(): inches(h.get_label()) for h in handles}
    labels, em = [h.get_label() for h in handles], fontsize / 72
    for ncol in range(min(most, len(labels)), 1, -1):
        short, extra = divmod(len(labels), ncol)  # as matplotlib splits them: the first `extra` one longer
        sizes = [short + 1] * extra + [short] * (ncol - extra)
        columns = [labels[a:b] for a, b in itertools.pairwise(np.cumsum([0, *sizes])) if b > a]
        needed = sum(max(label_width[t] for t in c) + 2.8 * em for c in columns) + 2 * em * (len(columns) - 1)
        if needed <= width - 0.1:
            return ncol
    return 1


def _panels(
    instruments, draw, ylabel: str, handles, names=None, suptitle=None, layout="constrained", cols=3, width=10.0
):
    """One panel per instrument, ``draw(ax, instrument, title)`` on each, years below, one legend.

    ``layout=None`` leaves the margins to the caller (``subplots_adjust``), the legend at the bottom edge.
    """
    fig, axes = _grid(len(instruments), width=width, layout=layout, cols=cols)
    for ax, k in zip(axes, instruments):
        draw(ax, k, (names or {}).get(k, k))
    for ax in axes[-min(cols, len(axes)) :]:
        ax.set_xlabel("year", fontsize=8)
    fig.supylabel(ylabel, fontsize=9)
    loc = "outside lower center" if layout == "constrained" else "lower center"
    ncol = _legend_columns(handles, width, 4 if cols > 2 else 2)
    fig.legend(handles=handles, loc=loc, ncol=ncol, fontsize=8, frameon=False)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    return fig


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


def plot_landscape(
    ax,
    grid: pd.DataFrame,
    metric: str = "year_mae",
    cmap: str = "viridis_r",
    label: str | None = None,
    own=None,
    tied: pd.DataFrame | None = None,
):
    """A fit landscape: ``grid`` from :func:`harmsim.analysis.sweep.landscape` (index y, columns x) as a heatmap.

    Lower is better (``cmap`` reversed: bright is good). The best cell is
    marked with a white star; ``own`` (x, y), if given, marks the scenario's
    own values with a white circle; ``tied`` (bool, shaped like ``grid``)
    outlines the cells the replicates cannot tell from the best
    (:func:`harmsim.analysis.sweep.ranking`). ``label`` names the colour bar (default:
    ``metric``).
    """
    xs, ys = grid.columns.to_numpy(dtype=float), grid.index.to_numpy(dtype=float)
    mesh = ax.pcolormesh(_edges(xs), _edges(ys), grid.to_numpy(dtype=float), cmap=cmap, shading="flat")
    cb = ax.figure.colorbar(mesh, ax=ax)
    cb.set_label(label or f"{metric} (lower is better)", fontsize=8)
    cb.ax.tick_params(labelsize=8)
    iy, ix = np.unravel_index(np.nanargmin(grid.to_numpy(dtype=float)), grid.shape)
    if tied is not None:
        ex, ey = _edges(xs), _edges(ys)
        first = True
        for (jy, jx), t in np.ndenumerate(tied.reindex(index=grid.index, columns=grid.columns).to_numpy(dtype=bool)):
            if t:
                ax.add_patch(
                    Rectangle((ex[jx], ey[jy]), ex[jx + 1] - ex[jx], ey[jy + 1] - ey[jy], fill=False, ec="white",
                              ls=":", lw=1.2, label="not told apart from the best" if first else None)
                )  # fmt: skip
                first = False
    ax.plot(xs[ix], ys[iy], marker="*", color="white", markersize=12, markeredgecolor="black", ls="none",
            label="best point")  # fmt: skip
    if own is not None and all(v is not None for v in own):
        ax.plot(*own, marker="o", markersize=8, markerfacecolor="none", markeredgecolor="white", markeredgewidth=1.5,
                ls="none", label="the scenario's values")  # fmt: skip
    ax.legend(fontsize=7, loc="upper right", framealpha=0.6)
    ax.set_xlabel(grid.columns.name, fontsize=9)
    ax.set_ylabel(grid.index.name, fontsize=9)
    ax.tick_params(labelsize=8)
    return ax


def plot_indices(ax, indices: pd.DataFrame, output: str = "year_mae", method: str = "sobol"):
    """Sensitivity indices of one ``output``: Sobol first-order and total with confidence intervals, or
    Morris mu* with its interval and sigma; parameters sorted by the total (or mu*), largest on top.

    ``indices`` is the tidy table of :func:`harmsim.analysis.sensitivity.analyze`.

    >>> import pandas as pd
    >>> from matplotlib.figure import Figure
    >>> idx = pd.DataFrame({"parameter": ["a", "b"], "output": "year_mae", "S1": [0.6, 0.1], "S1_conf": [0.1, 0.05],
    ...                     "ST": [0.8, 0.2], "ST_conf": [0.1, 0.05], "noise_share": 0.1})
    >>> ax = plot_indices(Figure().subplots(), idx)
    >>> [t.get_text() for t in ax.get_yticklabels()]  # the largest total index on top
    ['b', 'a']
    """
    t = indices[indices["output"] == output]
    key = "ST" if method == "sobol" else "mu_star"
    t = t.sort_values(key, ascending=True)
    y = np.arange(len(t))
    if method == "sobol":
        ax.barh(y + 0.2, t["ST"], height=0.4, xerr=t["ST_conf"], color=SIM, alpha=0.8, label="total (ST)")
        ax.barh(y - 0.2, t["S1"], height=0.4, xerr=t["S1_conf"], color=OBS, alpha=0.8, label="first order (S1)")
        ax.set_xlabel(f"Sobol index of {output} (share of its variance)", fontsize=9)
    else:
        ax.barh(y, t["mu_star"], height=0.5, xerr=t["mu_star_conf"], color=SIM, alpha=0.8, label="mu* (95% interval)",
                error_kw={"ecolor": "0.35", "capsize": 2, "lw": 0.8})  # fmt: skip
        ax.plot(t["sigma"], y + 0.32, "v", color=OBS, markersize=4, ls="none", label="sigma (interactions)")
        ax.set_xlabel(f"Morris elementary effects on {output}", fontsize=9)
    noise = t["noise_share"].dropna()
    if len(noise):
        ax.set_title(f"simulation noise: {noise.iloc[0]:.0%} of the output's variance", fontsize=8)
    # a row of exact zeros is no small effect: the parameter changed the output at no point of the design
    cols = ["ST", "ST_conf", "S1"] if method == "sobol" else ["mu_star", "sigma"]
    for j, none in enumerate((t[cols].fillna(0) == 0).all(axis=1).to_numpy()):
        if none:
            ax.annotate("no effect at any point: cannot act in this window", (0, j), xytext=(4, 0),
                        textcoords="offset points", va="center", fontsize=7, color="0.35")  # fmt: skip
    ax.set_yticks(y, t["parameter"], fontsize=8)
    ax.axvline(0, color="0.5", linewidth=0.6)
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    _style(ax)
    return ax


def plot_response(ax, table: pd.DataFrame, x: str, metric: str = "year_mae", own=None):
    """A one-parameter response curve: mean ``metric`` with its 5-95% band over replicates (lower is better).

    ``table`` is a sweep table with columns ``x``, ``metric``, ``metric_q05`` and ``metric_q95``; ``own``, if
    given, marks the scenario's own value of ``x`` with a dashed line.
    """
    t = table.sort_values(x)
    ax.fill_between(
        t[x],
        t[f"{metric}_q05"],
        t[f"{metric}_q95"],
        color=SIM,
        alpha=0.2,
        linewidth=0,
        label="5-95% over replicates",
    )
    ax.plot(t[x], t[metric], color=SIM, marker="o", markersize=3, linewidth=1.4, label="mean")
    if own is not None:
        ax.axvline(own, color="0.4", linestyle="--", linewidth=0.8, label="the scenario's value")
    ax.set_xlabel(x, fontsize=9)
    ax.set_ylabel(f"{metric} (lower is better)", fontsize=9)
    ax.legend(fontsize=8, frameon=False)
    _style(ax)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6))
    return ax


def _edges(v: np.ndarray) -> np.ndarray:
    """Cell edges around sorted centres (for pcolormesh)."""
    if len(v) == 1:
        return np.array([v[0] - 0.5, v[0] + 0.5])
    mid = (v[1:] + v[:-1]) / 2
    return np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])


def plot_incremental(ax, observed: pd.DataFrame, simulated: pd.DataFrame, agreements: pd.DataFrame):
    """Incremental institutional development (after the study's Figure 3).

    Lines: members' compliance with what an agreement covers, for each
    agreement a later one builds on, observed (solid) and simulated (median,
    dashed, with 90% band). Vertical lines: the agreements that build on them,
    dotted when non-binding, solid when binding. Markers on the time axis: every
    agreement. ``observed`` / ``simulated``: :func:`harmsim.scoring.compare.compliance_curves`;
    ``agreements``: agreement, year, binding, trigger, builds_on.
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


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(str(text), width)) or str(text)


def _mark_agreements(ax, agreements):
    """A vertical line per (year, label[, binding[, change]]): dashed for non-binding agreements, solid for
    binding ones; a counterfactual's removed agreements dotted red, those it adds, moves or changes green."""
    for a in agreements or ():
        change = a[3] if len(a) > 3 else None
        style = REMOVED if change == "removed" else CHANGED if change else BINDING if len(a) > 2 and a[2] else AGREEMENT
        ax.axvline(a[0], **style, zorder=0)


def plot_fan(ax, fan: pd.DataFrame, instrument: str, origin: int, n_states=None, title=None, agreements=None):
    """A fan chart: observed adopters to ``origin``, then the forecast's 50% and 90% bands and median.

    ``fan``: columns instrument, year, observed (and observed_possible: hatched up to it where years are known
    only as intervals), q05, q25, q50, q75, q95 (from :class:`harmsim.analysis.forecast.Forecast`). ``agreements``:
    (year, label) pairs to mark.

    >>> import harmsim
    >>> from matplotlib.figure import Figure
    >>> from harmsim.calibrate import calibrate
    >>> sc = harmsim.load_scenario("diffusion_only")
    >>> f = harmsim.forecast(sc, calibrate(sc), until=2020, replicates=50, seed=1)
    >>> ax = plot_fan(Figure().subplots(), f.fan, "tip_protocol", f.origin, n_states=10)
    >>> left, right = ax.get_xlim()  # room for an agreement of the first or the last year
    >>> bool(left < 1997 and right > 2020)
    True
    """
    f = fan[fan["instrument"] == instrument]
    after = f[f["year"] >= origin]
    _band(ax, after)
    ax.step(after["year"], after["q50"], where="post", color=SIM, linewidth=1.4)
    seen = f[f["observed"].notna()]
    possible = seen["observed_possible"] if "observed_possible" in seen else seen["observed"]
    _observed(ax, pd.DataFrame({"year": seen["year"], "sure": seen["observed"].astype(float),
                                "possible": possible.astype(float)}))  # fmt: skip
    ax.axvline(origin + 0.5, color=OBS, linewidth=0.8, linestyle="--")
    _mark_agreements(ax, agreements)
    ax.set_title(title or instrument, fontsize=9)
    if n_states:
        ax.set_ylim(-0.3, n_states + 0.3)
    _years_axis(ax, f["year"])
    _style(ax)
    return ax


def figure_fan(fan, instruments, origin, names=None, n_states=None, agreements=None, suptitle=None):
    """One fan chart per instrument (see :func:`plot_fan`), with a shared legend.

    >>> import harmsim
    >>> from harmsim.calibrate import calibrate
    >>> sc = harmsim.load_scenario("diffusion_only")
    >>> f = harmsim.forecast(sc, calibrate(sc), until=2020, replicates=50, seed=1)
    >>> len(figure_fan(f.fan, ["tip_law", "tip_protocol"], f.origin, n_states=10).axes)
    2
    """
    handles = [
        *_observed_handles(),
        Line2D([], [], color=OBS, linewidth=0.8, linestyle="--", label="end of observation"),
        Line2D([], [], color=SIM, linewidth=1.4, label="forecast median"),
        Patch(color=SIM, alpha=0.45, label="50% band"),
        Patch(color=SIM, alpha=0.2, label="90% band"),
        *_agreement_handles(agreements),
    ]

    def draw(ax, k, title):
        plot_fan(ax, fan, k, origin, _per(n_states, k), title=title, agreements=_per(agreements, k))

    return _panels(instruments, draw, "states that have adopted", handles, names, suptitle)


def plot_difference(ax, diff: pd.DataFrame, instrument: str, title=None, agreements=None):
    """A counterfactual's effect: adopters gained (+) or lost (-) by year, mean and 90% interval.

    ``diff``: columns instrument, year, mean, q05, q95 (from
    :class:`harmsim.analysis.counterfactual.Counterfactual`).

    >>> import harmsim
    >>> from matplotlib.figure import Figure
    >>> from harmsim.model.interventions import Change
    >>> no_2004 = Change.from_dict({"agreements": [{"remove": "decl_tip_2004"}]})
    >>> cf = harmsim.counterfactual(harmsim.load_scenario("baseline"), None, no_2004, replicates=20)
    >>> ax = plot_difference(Figure().subplots(), cf.differences, "tip_protocol")
    >>> ax.get_title()
    'tip_protocol'
    """
    d = diff[diff["instrument"] == instrument]
    ax.axhline(0, color=OBS, linewidth=0.6)
    ax.fill_between(d["year"], d["q05"], d["q95"], color=SIM, alpha=0.22, linewidth=0, step="post")
    ax.step(d["year"], d["mean"], where="post", color=SIM, linewidth=1.4)
    _mark_agreements(ax, agreements)
    ax.set_title(title or instrument, fontsize=9)
    _years_axis(ax, d["year"])
    _style(ax)
    return ax


def figure_differences(diff, instruments, names=None, agreements=None, suptitle=None):
    """One panel per instrument: adopters gained or lost by a change (see :func:`plot_difference`).

    >>> import harmsim
    >>> from harmsim.model.interventions import Change
    >>> no_2004 = Change.from_dict({"agreements": [{"remove": "decl_tip_2004"}]})
    >>> cf = harmsim.counterfactual(harmsim.load_scenario("baseline"), None, no_2004, replicates=20)
    >>> len(figure_differences(cf.differences, ["tip_law", "tip_protocol"]).axes)
    2
    """
    handles = [
        Line2D([], [], color=SIM, linewidth=1.4, label="mean difference"),
        Patch(color=SIM, alpha=0.3, label="90% interval over paired replicates"),
        *_agreement_handles(agreements),
    ]

    def draw(ax, k, title):
        plot_difference(ax, diff, k, title=title, agreements=_per(agreements, k))

    return _panels(instruments, draw, "adopters with the change minus without", handles, names, suptitle)


_BACKTEST_METRICS = (
    ("log_score", "mean log score per event (higher is better)"),
    ("crps", "ranked probability score (lower is better)"),
    ("coverage90", "90% interval coverage (0.9 is calibrated)"),
)


def plot_backtest(ax, scores: pd.DataFrame, metric: str, label: str | None = None):
    """One backtest score by origin, a line per model (``scores`` from :class:`harmsim.analysis.backtest.Backtest`)."""
    markers = "osD^v<>"
    colors = (SIM, "#dd6b20", "#38a169", "#805ad5", "#718096", "#d53f8c")
    for j, (model, g) in enumerate(scores.groupby("model", sort=False)):
        g = g.sort_values("origin")
        color = colors[j % len(colors)]
        ax.plot(g["origin"], g[metric], marker=markers[j % len(markers)], linewidth=1.2, color=color, label=model)
    if metric == "coverage90":
        ax.axhline(0.9, color=OBS, linewidth=0.6, linestyle="--")
        ax.set_ylim(0, 1.02)
    ax.set_title(label or metric, fontsize=9)
    ax.set_xlabel("origin (last year observed)", fontsize=8)
    _style(ax)
    ax.set_xticks(sorted(scores["origin"].unique()))  # after _style, whose locator would replace them
    return ax


def figure_backtest(scores: pd.DataFrame, suptitle=None):
    """Log score, ranked probability score and coverage by origin for every model (see :func:`plot_backtest`).

    >>> import harmsim
    >>> bt = harmsim.backtest(harmsim.load_scenario("diffusion_only"), [2008], replicates=50, baselines=("uniform",))
    >>> [ax.get_title() for ax in figure_backtest(bt.scores).axes][0]
    'mean log score per event (higher is better)'
    """
    fig = Figure(figsize=(10, 3.4), layout="constrained")
    axes = fig.subplots(1, 3)
    for ax, (metric, label) in zip(axes, _BACKTEST_METRICS):
        plot_backtest(ax, scores, metric, label)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), fontsize=8, frameon=False)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    return fig


def save_figure(fig, folder, stem: str, dpi: int = 200) -> list:
    """Write ``fig`` as ``stem.png`` and ``stem.pdf`` into ``folder``; return the paths."""
    from pathlib import Path

    paths = [Path(folder) / f"{stem}.{ext}" for ext in ("png", "pdf")]
    for p in paths:
        fig.savefig(p, dpi=dpi)
    return paths


def instrument_labels(record, width: int = 34) -> dict[str, str]:
    """Instrument id -> its name from the record without the parenthesis, wrapped at ``width`` characters, for
    panel titles."""
    out = {}
    for k, name in zip(record.instruments["instrument"], record.instruments["name"]):
        short = str(name).split(" (")[0] if isinstance(name, str) and name else str(k)
        out[str(k)] = _wrap(short, width)
    return out


def agreement_marks(scenario, changed=None) -> list[tuple]:
    """(year, name, binding) of the record's agreements that are not follow-ups (declarations, conventions).

    With ``changed`` (the record a counterfactual changed), each mark carries a fourth item saying what the
    change did: ``"removed"`` (gone, or moved away from this year), ``"added"``, ``"moved"`` (its new year) or
    ``"changed"`` (made binding or not, or covering other instruments); ``""`` where it left it alone.

    >>> import harmsim
    >>> sorted(m[0] for m in agreement_marks(harmsim.load_scenario("baseline")))
    [1997, 1997, 2004, 2015]
    """
    return [mark for mark, _ in _marks_and_covers(scenario, changed)]


def agreement_marks_by_instrument(scenario, changed=None) -> dict[str, list[tuple]]:
    """Instrument id -> the :func:`agreement_marks` its panels show.

    On a record with regional organizations, the agreements that call for the instrument (before or after
    ``changed``): the world panel's agreements belong to fifteen organizations, and a panel marking every one
    would mark the Council of Europe's convention on the SAARC convention's panel. On one region's record,
    every agreement on every panel: they are the region's one sequence (the study's), each building on the
    last.

    >>> import harmsim
    >>> marks = agreement_marks_by_instrument(harmsim.load_scenario("world_baseline"))
    >>> sorted({m[1] for m in marks["saarc2002"]})[0][:50]
    'SAARC Convention on Preventing and Combating Traff'
    >>> len(agreement_marks_by_instrument(harmsim.load_scenario("baseline"))["untoc"])
    4
    """
    marks = _marks_and_covers(scenario, changed)
    one_region = not len(scenario.world.organizations)
    return {k: [m for m, covers in marks if one_region or k in covers] for k in scenario.world.instruments}


def _marks_and_covers(scenario, changed=None) -> list[tuple[tuple, frozenset]]:
    """:func:`agreement_marks`, each with the instruments its agreement calls for (before or after the
    change)."""

    def marks(record):
        ag = record.agreements
        return {
            a: (int(y), str(n or a), bool(b), tuple(c))
            for a, n, y, t, b, c in zip(
                ag["agreement"], ag["name"], ag["year"], ag["trigger"], ag["binding"], ag["covers"]
            )
            if t != "follow_up"
        }

    base = marks(scenario.record)
    if changed is None:
        return [(m[:3], frozenset(m[3])) for m in base.values()]
    after = marks(changed)
    out = []
    for a, (y, n, b, c) in base.items():
        if a not in after:
            out.append(((y, n, b, "removed"), frozenset(c)))
        elif after[a][0] != y:
            out += [((y, n, b, "removed"), frozenset(c)), ((*after[a][:3], "moved"), frozenset(after[a][3]))]
        else:
            change = "changed" if after[a][2:] != (b, c) else ""
            out.append(((*after[a][:3], change), frozenset(c) | frozenset(after[a][3])))
    out += [((*m[:3], "added"), frozenset(m[3])) for a, m in after.items() if a not in base]
    return out


def plot_pit(ax, pit: pd.DataFrame, bins: int = 10, title: str | None = None):
    """Histogram of PIT values (column ``pit``) with the flat line of calibrated predictions.

    Too many values near 0 and 1 (a U shape): intervals too narrow; a hump in
    the middle: too wide (see :mod:`harmsim.scoring.scores`).

    >>> import numpy as np, pandas as pd
    >>> from matplotlib.figure import Figure
    >>> ax = plot_pit(Figure().subplots(), pd.DataFrame({"pit": np.linspace(0.05, 0.95, 40)}))
    >>> ax.get_xlabel()
    'PIT'
    """
    v = pit["pit"].to_numpy(float)
    ax.hist(v, bins=np.linspace(0, 1, bins + 1), color=SIM, alpha=0.7, edgecolor="white")
    ax.axhline(len(v) / bins, color=OBS, linewidth=0.8, linestyle="--")
    ax.set_xlim(0, 1)
    ax.set_title(title or "PIT", fontsize=9)
    ax.set_xlabel("PIT", fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=8)
    return ax


def plot_placebos(ax, placebos: pd.DataFrame, title: str | None = None):
    """The placebo schedules' likelihood gains as a histogram, the recorded schedule's gain as a line.

    ``placebos``: the placebo table of :func:`~harmsim.calibrate.placebo.placebo_test` (or the comparison's
    ``placebo.csv``) for one test: columns ``gain`` and ``real_gain`` (one value), ``p`` optional.

    >>> import pandas as pd
    >>> from matplotlib.figure import Figure
    >>> t = pd.DataFrame({"gain": [0.5, 1.0, 2.0, 4.0], "real_gain": 3.0})
    >>> plot_placebos(Figure().subplots(), t).get_xlabel()
    'log-likelihood gain over the model without agreements'
    """
    gains = placebos["gain"].to_numpy(float)
    real = float(placebos["real_gain"].iloc[0])
    ax.hist(gains, bins=min(30, max(5, len(gains) // 3)), color=SIM, alpha=0.7, edgecolor="white")
    ax.axvline(real, color=OBS, linewidth=1.6)
    k = int((gains >= real - 1e-9).sum())
    lo, hi = ax.get_xlim()
    right = real > (lo + hi) / 2  # the words on the side with room
    ax.text(
        real,
        ax.get_ylim()[1] * 0.95,
        f"recorded schedule \n{k} of {len(gains)} placebos gain as much "
        if right
        else f" recorded schedule\n {k} of {len(gains)} placebos gain as much",
        color=OBS,
        fontsize=8,
        va="top",
        ha="right" if right else "left",
    )
    ax.set_xlabel("log-likelihood gain over the model without agreements", fontsize=8)
    ax.set_ylabel("placebo schedules", fontsize=8)
    ax.set_title(title or "Recorded agreements against placebo schedules", fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=8)
    return ax


def plot_forest(ax, units: pd.DataFrame, contrast: pd.Series | None = None, title: str | None = None):
    """Forest plot: each agreement unit's effect with its 95% interval, binding filled, non-binding open.

    ``units``: columns ``unit``, ``binding``, ``estimate``, ``ci_low``, ``ci_high`` (one row per unit, as
    :func:`~harmsim.analysis.bindingness.bindingness_test` gives them); ``contrast``: a row with ``estimate``,
    ``ci_low``, ``ci_high`` drawn below the units as the binding-minus-non-binding difference.

    >>> import pandas as pd
    >>> from matplotlib.figure import Figure
    >>> units = pd.DataFrame({"unit": ["A binding", "B binding", "C non-binding"], "binding": [True, True, False],
    ...                       "estimate": [1.0, 0.8, 0.1], "ci_low": [0.2, -0.4, -0.5], "ci_high": [1.8, 2.0, 0.7]})
    >>> contrast = pd.Series({"estimate": 0.8, "ci_low": -0.3, "ci_high": 1.9})
    >>> ax = plot_forest(Figure().subplots(), units, contrast)
    >>> [t.get_text() for t in ax.get_yticklabels()][-1]
    'binding - non-binding'
    """
    u = units.sort_values(["binding", "estimate"], ascending=[False, True]).reset_index(drop=True)
    y = np.arange(len(u))[::-1] + (1.5 if contrast is not None else 0)
    for yi, (_, r) in zip(y, u.iterrows()):
        color = OBS if r["binding"] else SIM
        ax.plot([r["ci_low"], r["ci_high"]], [yi, yi], color=color, linewidth=1.2)
        ax.plot(r["estimate"], yi, "s", color=color, markersize=6, markerfacecolor=color if r["binding"] else "white")
    labels = list(u["unit"])
    ticks = list(y)
    if contrast is not None:
        ax.plot([contrast["ci_low"], contrast["ci_high"]], [0, 0], color="black", linewidth=1.6)
        ax.plot(contrast["estimate"], 0, "D", color="black", markersize=7)
        labels.append("binding - non-binding")
        ticks.append(0)
        ax.axhline(0.75, color="0.8", linewidth=0.6)
    ax.axvline(0, color="0.5", linewidth=0.8, linestyle="--")
    ax.set_yticks(ticks, labels, fontsize=8)
    ax.set_xlabel("log-odds on the instruments the agreements call for (95% interval)", fontsize=8)
    ax.set_title(title or "Agreement effect per organization: binding (filled) and non-binding (open)", fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(axis="x", labelsize=8)
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


def plot_world_map(ax, shapes: dict, values: pd.DataFrame, start: int, end: int, title=None):
    """States coloured by adoption year (``values`` of :func:`~harmsim.data.maps.map_values`); not adopted
    light grey, unobserved hatched, not open to the state (a regional treaty) and places outside the record
    white. Returns the Axes and the colour mapping's ScalarMappable as ``ax.harmsim_scale`` (for a colour bar).

    >>> import harmsim
    >>> from matplotlib.figure import Figure
    >>> from harmsim.data.maps import country_shapes, map_values
    >>> values = map_values(harmsim.load_record("world"), "cets197")
    >>> ax = plot_world_map(Figure().subplots(), country_shapes(), values, 1990, 2015)
    >>> hasattr(ax, "harmsim_scale")  # for a colour bar: figure_world_map draws one
    True
    """
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    cmap, norm = plt_colormap("viridis_r"), Normalize(start, end)

    def fill(status, year):
        if status == "unobserved":
            return None
        if np.isfinite(year):
            return cmap(norm(min(max(year, start), end)))
        return "#d9d9d9"

    shown = values[values["status"] != "not open"]
    colors = {s: fill(st, y) for s, st, y in zip(shown["state"], shown["status"], shown["year"])}
    _fill_states(ax, shapes, colors, box=False)
    ax.set_title(title or "", fontsize=9)
    ax.harmsim_scale = ScalarMappable(norm=norm, cmap=cmap)
    return ax


def figure_world_map(shapes: dict, values: pd.DataFrame, start: int, end: int, title=None):
    """A world map of adoption years with a colour bar and, below it, the states it cannot draw.

    >>> import harmsim
    >>> from harmsim.data.maps import country_shapes, map_values
    >>> values = map_values(harmsim.load_record("world"), "tip_protocol")
    >>> len(figure_world_map(country_shapes(), values, 1990, 2015).axes)  # the map and its colour bar
    2
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 5.6), layout="constrained")
    ax = fig.subplots()
    plot_world_map(ax, shapes, values, start, end, title)
    bar = fig.colorbar(ax.harmsim_scale, ax=ax, orientation="horizontal", fraction=0.04, pad=0.02)
    lines = [
        f"year adopted (yellow {start} or before, dark {end}; an interval at its upper bound); grey: not adopted by "
        f"{end} or the last year observed; hatched: unobserved; white: not open to the state",
        *_unplaced_line(values.loc[~values["drawn"], "state"].tolist()),
    ]
    bar.set_label("\n".join(_wrap(line, 140) for line in lines), fontsize=8)  # whole inside the figure's width
    bar.ax.tick_params(labelsize=8)
    return fig


def _fill_states(ax, shapes: dict, colors: Mapping, frame=None, box: bool = True):
    """Every outline of ``shapes`` on ``ax``: filled with ``colors[code]`` (None: light grey, hatched), white
    where ``colors`` has no entry. ``frame``: the codes to frame (else the world); ``box``: a light frame
    around the map rather than none. The one way a map of states is drawn."""
    from matplotlib.collections import PolyCollection

    faces, polys, hatched = [], [], []
    for code, rings in shapes.items():
        color = colors.get(code, "white")
        if color is None:
            color = "#eeeeee"
            hatched += rings
        polys += rings
        faces += [color] * len(rings)
    ax.add_collection(PolyCollection(polys, facecolors=faces, edgecolors="#999999", linewidths=0.2))
    if hatched:
        ax.add_collection(PolyCollection(hatched, facecolors="none", edgecolors="#aaaaaa", linewidths=0.2, hatch="///"))
    x0, x1, y0, y1 = -180.0, 180.0, -58.0, 84.0
    framed = [r for c in (frame or ()) if c in shapes for r in shapes[c]]
    if framed:
        xy = np.concatenate(framed)
        (x0, y0), (x1, y1) = np.quantile(xy, 0.01, axis=0), np.quantile(xy, 0.99, axis=0)
        pad = 0.08 * max(x1 - x0, y1 - y0, 10.0)
        x0, x1, y0, y1 = x0 - pad, x1 + pad, y0 - pad, y1 + pad
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    if box:
        ax.set_xticks([])
        ax.set_yticks([])
        for side in ax.spines.values():
            side.set_edgecolor("#cccccc")
    else:
        ax.set_axis_off()
    return ax


def plot_pit_map(ax, shapes: dict, values: pd.DataFrame, title=None, zoom: bool = False):
    """States coloured by where the record's outcome falls among the runs (``pit_mid`` of
    :func:`~harmsim.scoring.compare.cell_scores`): red below 1/2, the record earlier than most runs (the model
    late); blue above, later (the model early); pale at the runs' median. Returns the Axes, with the colour
    mapping as ``ax.harmsim_scale`` (for a colour bar).

    ``values``: columns code (the state's outline), pit_mid (NaN: a cell not scored, adopted before the window
    or unobserved: hatched). States not in ``values`` (the instrument not open to them) are white. ``zoom``
    frames the states of ``values`` (a regional treaty's members) rather than the world.

    >>> import pandas as pd
    >>> from matplotlib.figure import Figure
    >>> from harmsim.data.maps import country_shapes
    >>> values = pd.DataFrame({"code": ["IND", "PAK", "NPL"], "pit_mid": [0.1, 0.9, float("nan")]})
    >>> ax = plot_pit_map(Figure().subplots(), country_shapes(), values, "SAARC convention", zoom=True)
    >>> bool(ax.get_xlim()[1] < 120)  # South Asia, not the world
    True
    """
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    cmap, norm = plt_colormap("RdBu"), Normalize(0.0, 1.0)
    colors = {c: cmap(norm(p)) if np.isfinite(p) else None for c, p in zip(values["code"], values["pit_mid"])}
    _fill_states(ax, shapes, colors, frame=list(values["code"]) if zoom else None)
    ax.set_title(title or "", fontsize=9)
    ax.harmsim_scale = ScalarMappable(norm=norm, cmap=cmap)
    return ax


#: the fill of a state that had adopted an instrument by a forecast's origin
ADOPTED_FILL = "#bdbdbd"


def plot_probability_map(ax, shapes: dict, values: pd.DataFrame, title=None, zoom: bool = False):
    """States coloured by a forecast's probability of adopting by its last year (``p_by_until`` of
    :class:`~harmsim.analysis.forecast.Forecast`'s cells, status ``open``); adopted by the origin grey
    (:data:`ADOPTED_FILL`), unknown hatched, not open or not in ``values`` white. Returns the Axes, with the
    colour mapping as ``ax.harmsim_scale``.

    >>> import pandas as pd
    >>> from matplotlib.figure import Figure
    >>> from harmsim.data.maps import country_shapes
    >>> values = pd.DataFrame({"code": ["THA", "VNM", "LAO", "FRA"], "status": ["open", "open", "adopted", "not open"],
    ...                        "p_by_until": [0.8, 0.3, 1.0, 0.0]})
    >>> ax = plot_probability_map(Figure().subplots(), country_shapes(), values, "ACTIP", zoom=True)
    >>> bool(ax.get_xlim()[0] > 60)  # South-East Asia: France, not open, does not frame it
    True
    """
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    cmap, norm = plt_colormap("viridis_r"), Normalize(0.0, 1.0)
    shown = values[values["status"] != "not open"]
    fill = {"adopted": lambda p: ADOPTED_FILL, "open": lambda p: cmap(norm(p)), "unknown": lambda p: None}
    colors = {c: fill[st](p) for c, st, p in zip(shown["code"], shown["status"], shown["p_by_until"])}
    _fill_states(ax, shapes, colors, frame=list(shown["code"]) if zoom else None)
    ax.set_title(title or "", fontsize=9)
    ax.harmsim_scale = ScalarMappable(norm=norm, cmap=cmap)
    return ax


def plot_difference_map(ax, shapes: dict, values: pd.DataFrame, vmax: float, title=None, zoom: bool = False):
    """States coloured by a counterfactual's change in their probability of adopting (``difference`` of
    :class:`~harmsim.analysis.counterfactual.Counterfactual`'s cells): purple more likely with the change,
    orange less, pale unchanged, on a scale of plus or minus ``vmax``; states not in ``values`` white. Returns
    the Axes, with the colour mapping as ``ax.harmsim_scale``.

    >>> import pandas as pd
    >>> from matplotlib.figure import Figure
    >>> from harmsim.data.maps import country_shapes
    >>> values = pd.DataFrame({"code": ["THA", "VNM"], "difference": [0.2, 0.0]})
    >>> ax = plot_difference_map(Figure().subplots(), country_shapes(), values, 0.25, "ACTIP")
    >>> ax.harmsim_scale.norm.vmin, ax.harmsim_scale.norm.vmax
    (-0.25, 0.25)
    """
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    cmap, norm = plt_colormap("PuOr"), Normalize(-vmax, vmax)  # orange below 0, purple above
    colors = {c: cmap(norm(d)) for c, d in zip(values["code"], values["difference"])}
    _fill_states(ax, shapes, colors, frame=list(values["code"]) if zoom else None)
    ax.set_title(title or "", fontsize=9)
    ax.harmsim_scale = ScalarMappable(norm=norm, cmap=cmap)
    return ax


def _map_panels(values: pd.DataFrame, instruments, draw, names, suptitle, lines):
    """One map per instrument (``draw(ax, values of the instrument, title, zoom)``, a regional treaty's framed
    on the states ``values`` gives it), two a row, one colour bar labelled with ``lines``."""
    cols = min(2, len(instruments))
    rows = math.ceil(len(instruments) / cols)
    fig = Figure(figsize=(10.5, 2.9 * rows + 1.3), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()  # not shared: a regional treaty's map is framed
    for ax in axes[len(instruments) :]:
        ax.set_visible(False)
    axes = axes[: len(instruments)]
    everywhere = set(values["code"])
    for ax, k in zip(axes, instruments):
        v = values[values["instrument"] == k]
        draw(ax, v, (names or {}).get(k, k), len(set(v["code"])) < 0.5 * len(everywhere))
    bar = fig.colorbar(axes[0].harmsim_scale, ax=list(axes), orientation="horizontal", fraction=0.03, pad=0.02,
                       aspect=60)  # fmt: skip
    bar.set_label("\n".join(_wrap(line, 150) for line in lines), fontsize=8)
    bar.ax.tick_params(labelsize=8)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    return fig


def _unplaced_line(unplaced) -> list[str]:
    return [f"not drawn (no outline at 1:110m): {', '.join(unplaced)}"] if unplaced else []


def figure_pit_map(shapes: dict, values: pd.DataFrame, instruments, names=None, suptitle=None, unplaced=()):
    """One map per instrument of where the record's outcomes fall among the runs (:func:`plot_pit_map`), a
    regional treaty's framed on its members, one colour bar; ``values`` with an ``instrument`` column.

    >>> import pandas as pd
    >>> from harmsim.data.maps import country_shapes
    >>> values = pd.DataFrame({"instrument": ["untoc", "untoc"], "code": ["FRA", "IND"], "pit_mid": [0.2, 0.7]})
    >>> len(figure_pit_map(country_shapes(), values, ["untoc"]).axes)  # the map and its colour bar
    2
    """
    lines = [
        "where the record's outcome falls among the runs (mid-PIT): 0 earlier than every run (the model late), 0.5 at "
        "their median, 1 later than every run (the model early; not adopted by the end counts as later)",
        "hatched: not scored (adopted before the window, or unobserved); white: not open to the state",
        *_unplaced_line(unplaced),
    ]

    def draw(ax, v, title, zoom):
        plot_pit_map(ax, shapes, v, title, zoom=zoom)

    return _map_panels(values, instruments, draw, names, suptitle, lines)


def figure_probability_map(shapes: dict, values: pd.DataFrame, instruments, until: int, names=None, suptitle=None,
                           unplaced=()):  # fmt: skip
    """One map per instrument of a forecast's probability of adoption by ``until`` (:func:`plot_probability_map`),
    a regional treaty's framed on its members, one colour bar; ``values``: a forecast's cells with a ``code``.

    >>> import pandas as pd
    >>> from harmsim.data.maps import country_shapes
    >>> values = pd.DataFrame({"instrument": "actip", "code": ["THA", "VNM"], "status": "open",
    ...                        "p_by_until": [0.8, 0.3]})
    >>> len(figure_probability_map(country_shapes(), values, ["actip"], 2020).axes)  # the map and its colour bar
    2
    """
    lines = [
        f"probability of adopting by {until}, over the forecast's replicates (states that had not by the origin)",
        "grey: adopted by the origin; hatched: status unknown at the origin; white: not open to the state",
        *_unplaced_line(unplaced),
    ]

    def draw(ax, v, title, zoom):
        plot_probability_map(ax, shapes, v, title, zoom=zoom)

    return _map_panels(values[values["status"] != "not open"], instruments, draw, names, suptitle, lines)


def figure_difference_map(shapes: dict, values: pd.DataFrame, instruments, until: int, names=None, suptitle=None,
                          unplaced=()):  # fmt: skip
    """One map per instrument of a counterfactual's change in each state's probability of adopting by ``until``
    (:func:`plot_difference_map`), one symmetric scale for every panel (the largest change, at least 0.05),
    a regional treaty's framed on its members; ``values``: a counterfactual's cells with a ``code``.

    >>> import pandas as pd
    >>> from harmsim.data.maps import country_shapes
    >>> values = pd.DataFrame({"instrument": "actip", "code": ["THA", "VNM"], "difference": [0.2, -0.1]})
    >>> len(figure_difference_map(country_shapes(), values, ["actip"], 2015).axes)  # the map and its colour bar
    2
    """
    vmax = max(0.05, math.ceil(20 * float(values["difference"].abs().max() if len(values) else 0.0)) / 20)
    lines = [
        f"change in the probability of adopting by {until}, with the change minus without, paired replicate by "
        "replicate (purple: more likely with it; orange: less)",
        "white: not open to the state",
        *_unplaced_line(unplaced),
    ]

    def draw(ax, v, title, zoom):
        plot_difference_map(ax, shapes, v, vmax, title, zoom=zoom)

    return _map_panels(values, instruments, draw, names, suptitle, lines)


def plt_colormap(name: str):
    """A named Matplotlib colormap (the registry, not pyplot's global state)."""
    import matplotlib

    return matplotlib.colormaps[name]


#: one color per instrument in the dashboard's state rings (Okabe-Ito, readable with colour-blindness)
INSTRUMENT_COLORS = ("#E69F00", "#56B4E9", "#009E73", "#CC79A7", "#0072B2", "#D55E00", "#F0E442", "#000000")
#: a single run, against the observed step line and the bands
RUN = "#c0392b"


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


def _count_color(n: int, most: int):
    """The fill of a state that has adopted ``n`` of at most ``most`` instruments (none: the rings' light grey)."""
    return "#eeeeee" if n <= 0 else plt_colormap("YlGnBu")(0.25 + 0.75 * n / max(most, 1))


def plot_adoption_map_frame(ax, shapes: dict, most: int, legend_ax=None, unplaced=()):
    """The still layer of a run on a world map (:func:`plot_adoption_map`): every outline unfilled, the extent,
    and the key of instruments adopted, 0 to ``most``.

    What a record of many states shows in place of the network of rings. ``shapes``: ISO alpha-3 code -> rings
    (:func:`~harmsim.data.maps.country_shapes`). ``unplaced``: names of the run's states the map has no outline
    for (small states at this scale), said under the key: they are counted, not drawn. The key goes on
    ``legend_ax`` if given (its frame hidden), else under the map.

    See :func:`plot_adoption_map` for an example.
    """
    _fill_states(ax, shapes, {}, box=False)  # every outline, white: the moving layer fills the members
    handles = [Patch(facecolor=_count_color(n, most), edgecolor="#999999", linewidth=0.4,
                     label=f"{n} instrument{'' if n == 1 else 's'}") for n in range(most + 1)]  # fmt: skip
    handles.append(Patch(facecolor="white", edgecolor=RUN, linewidth=1.4, label="adopted one this year"))
    handles.append(Patch(facecolor="white", edgecolor="#bbbbbb", linewidth=0.4, label="not a member (yet)"))
    where = legend_ax if legend_ax is not None else ax
    if legend_ax is not None:
        legend_ax.set_axis_off()
    top = 1.0 if legend_ax is not None else -0.02
    where.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, top), fontsize=8.5, frameon=False, ncol=3,
                 title="instruments adopted in this run", title_fontsize=9)  # fmt: skip
    if unplaced:
        n, few = len(unplaced), ", ".join(unplaced[:4]) + (", ..." if len(unplaced) > 4 else "")
        text = f"{n} state{'s' if n > 1 else ''} without an outline at this scale ({few}): counted, not drawn"
        y, va = (0.0, "bottom") if legend_ax is not None else (-0.3, "top")
        where.text(0.5, y, _wrap(text, 125), transform=where.transAxes, ha="center", va=va, fontsize=7.5,
                   color="#555555")  # fmt: skip
    return ax


def plot_adoption_map(ax, shapes: dict, table: pd.DataFrame, most: int) -> list:
    """The moving layer of a run on a world map: each member state filled by how many instruments it has
    adopted, outlined in red in a year it adopts one. Returns the artists drawn.

    ``table``: columns code (the state's outline in ``shapes``; states without one are skipped), member (bool),
    adopted (count), new (bool: an adoption this year). States not members are left to the still layer.

    >>> import pandas as pd
    >>> from matplotlib.figure import Figure
    >>> from harmsim.data.maps import country_shapes
    >>> shapes = country_shapes()
    >>> ax = plot_adoption_map_frame(Figure().subplots(), shapes, most=3, unplaced=["Singapore"])
    >>> table = pd.DataFrame({"code": ["FRA", "IND", "SGP"], "member": [True, True, True], "adopted": [2, 0, 1],
    ...                       "new": [True, False, False]})
    >>> fill, outline = plot_adoption_map(ax, shapes, table, most=3)  # what a year's redraw removes
    >>> len(fill.get_paths()) == len(shapes["FRA"]) + len(shapes["IND"]), len(outline.get_paths()) == len(shapes["FRA"])
    (True, True)
    """
    from matplotlib.collections import PolyCollection

    rows = table[table["member"].astype(bool) & table["code"].isin(list(shapes))]
    polys, faces, new = [], [], []
    for code, n, is_new in zip(rows["code"], rows["adopted"], rows["new"]):
        polys += shapes[code]
        faces += [_count_color(int(n), most)] * len(shapes[code])
        if is_new:
            new += shapes[code]
    fill = PolyCollection(polys, facecolors=faces, edgecolors="#888888", linewidths=0.25, zorder=2)
    outline = PolyCollection(new, facecolors="none", edgecolors=RUN, linewidths=1.2, zorder=3)
    return [ax.add_collection(fill, autolim=False), ax.add_collection(outline, autolim=False)]


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

"""The pieces every figure shares: colours and line styles, the frame of an axis, bands and observed steps,
agreement marks, panels of several axes and their legends, saving."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

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
    for ax in axes.ravel()[max(n - cols, 0) : (rows - 1) * cols]:  # the lowest panel of a column the last row
        ax.xaxis.set_tick_params(labelbottom=True)  # leaves empty: its years, which the shared axis hid
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


def save_figure(fig, folder, stem: str, dpi: int = 200) -> list:
    """Write ``fig`` as ``stem.png`` and ``stem.pdf`` into ``folder``; return the paths.

    >>> import tempfile
    >>> from matplotlib.figure import Figure
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     [p.name for p in save_figure(Figure(), folder, "empty", dpi=20)]
    ['empty.png', 'empty.pdf']
    """
    from pathlib import Path

    paths = [Path(folder) / f"{stem}.{ext}" for ext in ("png", "pdf")]
    for p in paths:
        fig.savefig(p, dpi=dpi)
    return paths


def plt_colormap(name: str):
    """A named Matplotlib colormap (the registry, not pyplot's global state)."""
    import matplotlib

    return matplotlib.colormaps[name]


#: one color per instrument in the dashboard's state rings (Okabe-Ito, readable with colour-blindness)
INSTRUMENT_COLORS = ("#E69F00", "#56B4E9", "#009E73", "#CC79A7", "#0072B2", "#D55E00", "#F0E442", "#000000")


#: a single run, against the observed step line and the bands
RUN = "#c0392b"

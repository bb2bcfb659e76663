"""World maps: adoption years, where the model misses (PIT), probabilities of adopting and differences by state."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from harmsim.output.plots._base import RUN, _wrap, plt_colormap


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

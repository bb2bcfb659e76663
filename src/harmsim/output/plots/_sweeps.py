"""Sweeps and sensitivity analyses: response curves, landscapes and sensitivity indices."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from harmsim.output.plots._base import OBS, SIM, _style


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

    >>> from matplotlib.figure import Figure
    >>> grid = pd.DataFrame([[3.0, 2.0], [2.5, 1.0]], index=[0.0, 1.0], columns=[0.5, 1.5])
    >>> ax = plot_landscape(Figure().subplots(), grid, own=(0.5, 0.0))
    >>> [round(float(v), 1) for v in ax.lines[0].get_data()[0]]  # the best cell's star, at x = 1.5
    [1.5]
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

    >>> from matplotlib.figure import Figure
    >>> table = pd.DataFrame({"strength": [0.0, 1.0, 2.0], "year_mae": [3.0, 2.0, 2.5],
    ...                       "year_mae_q05": [2.5, 1.5, 2.0], "year_mae_q95": [3.5, 2.5, 3.0]})
    >>> ax = plot_response(Figure().subplots(), table, "strength", own=1.0)
    >>> ax.get_xlabel(), len(ax.lines)
    ('strength', 2)
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

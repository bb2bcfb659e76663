"""How well a model forecasts: backtest scores, two backtests paired, PIT histograms, placebo schedules, the
bindingness forest."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from harmsim.output.plots._base import OBS, SIM, _style

_BACKTEST_METRICS = (
    ("log_score", "mean log score per event (higher is better)"),
    ("crps", "ranked probability score (lower is better)"),
    ("coverage90", "90% interval coverage (0.9 is calibrated)"),
)


def plot_backtest(ax, scores: pd.DataFrame, metric: str, label: str | None = None):
    """One backtest score by origin, a line per model (``scores`` from :class:`harmsim.analysis.backtest.Backtest`).

    >>> from matplotlib.figure import Figure
    >>> scores = pd.DataFrame({"origin": [2005, 2008, 2005, 2008], "model": ["m", "m", "logit", "logit"],
    ...                        "log_score": [-1.2, -1.0, -1.5, -1.1]})
    >>> ax = plot_backtest(Figure().subplots(), scores, "log_score")
    >>> [line.get_label() for line in ax.lines]
    ['m', 'logit']
    """
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


#: the parts of a paired gain that :func:`plot_paired` draws: column of the gain, of its s.e., marker, label
_PAIRED_PARTS = (
    ("log_score_gain", "log_score_se", "D", "log score per cell"),
    ("whether_gain", "whether_se", "o", "whether they adopt (per cell)"),
    ("timing_gain", "timing_se", "^", "timing, given adoption (per adoption)"),
)


def plot_paired(ax, table: pd.DataFrame, title: str | None = None):
    """Two backtests' paired gain per origin, with twice its standard error either side: the log score per
    cell (filled), and where both backtests score them its two parts, whether the states adopt and the timing
    given adoption (open). ``table`` as :func:`~harmsim.analysis.paired.compare_backtests` gives it; the first
    pair of models is drawn, not the baselines (whose gain on the same cells is 0).

    A bar that crosses the dashed line at 0 is a gain not told apart from none, as the verdicts say.

    >>> import pandas as pd
    >>> from matplotlib.figure import Figure
    >>> table = pd.DataFrame({"origin": [2005, 2008], "a": ["x", "x"], "b": ["y", "y"], "cells": [35, 24],
    ...                       "log_score_gain": [0.11, 0.12], "log_score_se": [0.10, 0.03]})
    >>> ax = plot_paired(Figure().subplots(), table)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['from 2005 (35 cells)', 'from 2008 (24 cells)']
    """
    first = table[table["a"] == table["a"].iloc[0]].reset_index(drop=True)
    rows = np.arange(len(first))[::-1].astype(float)
    parts = [p for p in _PAIRED_PARTS if p[0] in first and first[p[0]].notna().any()]
    step = 0.22
    for j, (gain, se, marker, label) in enumerate(parts):
        y = rows + (len(parts) - 1) * step / 2 - j * step
        color = SIM if j == 0 else "#718096"
        ax.errorbar(first[gain], y, xerr=2 * first[se], fmt=marker, color=color, markersize=6 if j == 0 else 5,
                    markerfacecolor=color if j == 0 else "white", elinewidth=1.2 if j == 0 else 0.9, capsize=0,
                    label=label)  # fmt: skip
    ax.axvline(0, color="0.5", linewidth=0.8, linestyle="--")
    ax.set_yticks(rows, [f"from {o} ({c} cells)" for o, c in zip(first["origin"], first["cells"])], fontsize=8)
    ax.set_ylim(-0.6, len(first) - 0.4)
    ax.set_xlabel("gain of the second over the first (2 s.e. either side, clustered by state)", fontsize=8)
    default = f"{first['b'].iloc[0]} against {first['a'].iloc[0]}" if len(first) else ""
    ax.set_title(title or default, fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(axis="x", labelsize=8)
    if len(parts) > 1:
        ax.legend(fontsize=7, frameon=False, loc="best")
    return ax

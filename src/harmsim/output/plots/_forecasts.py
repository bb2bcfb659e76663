"""Forecasts and counterfactuals: fan charts and differences with their intervals."""

from __future__ import annotations

import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from harmsim.output.plots._base import (
    OBS,
    SIM,
    _agreement_handles,
    _band,
    _mark_agreements,
    _observed,
    _observed_handles,
    _panels,
    _per,
    _style,
    _years_axis,
)


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

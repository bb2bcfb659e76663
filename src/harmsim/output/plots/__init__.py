"""Figures from tidy tables: each function draws on an Axes and returns it.

Nothing here computes a statistic: the tables come from :mod:`harmsim.scoring.compare`
(observed and simulated curves, year ranges), :mod:`harmsim.model.tables`, the
record and the result objects. By result:

* runs and ensembles: :func:`plot_cumulative`, :func:`plot_timeline` and their
  panels :func:`figure_cumulative`, :func:`figure_timeline`;
* the dashboard: :func:`plot_run` (:func:`plot_run_frame`, :func:`plot_run_line`),
  :func:`figure_run`, :func:`plot_states` (:func:`plot_state_map`, :func:`plot_rings`);
* forecasts and backtests: :func:`plot_fan`, :func:`figure_fan`, :func:`figure_backtest`, two backtests
  paired: :func:`plot_paired`;
* counterfactuals: :func:`plot_difference`, :func:`figure_differences`;
* sweeps and sensitivity analyses: :func:`plot_response`, :func:`plot_landscape`,
  :func:`plot_indices`;
* mechanism comparison: :func:`plot_pit`;
* world maps: :func:`plot_world_map`, :func:`figure_world_map`, and where a model misses, its probabilities and
  differences by state (:func:`figure_pit_map`, :func:`figure_probability_map`, :func:`figure_difference_map`).

One part per kind of figure: ``_timelines``, ``_forecasts``, ``_scores``, ``_sweeps``, ``_maps``, ``_dashboard``;
``_marks`` turns a record into the words and agreement marks on them, and ``_base`` holds what they share
(colours, frames, bands, panels, :func:`save_figure`). Import from here.
"""

from __future__ import annotations

from harmsim.output.plots._base import save_figure
from harmsim.output.plots._dashboard import (
    figure_run,
    plot_rings,
    plot_run,
    plot_run_frame,
    plot_run_line,
    plot_state_map,
    plot_states,
)
from harmsim.output.plots._forecasts import figure_differences, figure_fan, plot_difference, plot_fan
from harmsim.output.plots._maps import (
    figure_difference_map,
    figure_pit_map,
    figure_probability_map,
    figure_world_map,
    plot_adoption_map,
    plot_adoption_map_frame,
    plot_difference_map,
    plot_pit_map,
    plot_probability_map,
    plot_world_map,
)
from harmsim.output.plots._marks import agreement_marks, agreement_marks_by_instrument, instrument_labels
from harmsim.output.plots._scores import (
    figure_backtest,
    plot_backtest,
    plot_forest,
    plot_paired,
    plot_pit,
    plot_placebos,
)
from harmsim.output.plots._sweeps import plot_indices, plot_landscape, plot_response
from harmsim.output.plots._timelines import (
    figure_cumulative,
    figure_organizations,
    figure_timeline,
    plot_agreement_timing,
    plot_cumulative,
    plot_incremental,
    plot_organization,
    plot_timeline,
)

__all__ = [
    "agreement_marks",
    "agreement_marks_by_instrument",
    "figure_backtest",
    "figure_cumulative",
    "figure_difference_map",
    "figure_differences",
    "figure_fan",
    "figure_organizations",
    "figure_pit_map",
    "figure_probability_map",
    "figure_run",
    "figure_timeline",
    "figure_world_map",
    "instrument_labels",
    "plot_adoption_map",
    "plot_adoption_map_frame",
    "plot_agreement_timing",
    "plot_backtest",
    "plot_cumulative",
    "plot_difference",
    "plot_difference_map",
    "plot_fan",
    "plot_forest",
    "plot_incremental",
    "plot_indices",
    "plot_landscape",
    "plot_organization",
    "plot_paired",
    "plot_pit",
    "plot_pit_map",
    "plot_placebos",
    "plot_probability_map",
    "plot_response",
    "plot_rings",
    "plot_run",
    "plot_run_frame",
    "plot_run_line",
    "plot_state_map",
    "plot_states",
    "plot_timeline",
    "plot_world_map",
    "save_figure",
]

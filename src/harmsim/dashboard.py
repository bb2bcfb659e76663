"""The dashboard: the Mesa model in the browser, on Mesa's SolaraViz.

``harmsim dashboard [SCENARIO] [--fit DIR] [--port P]`` serves it (the
optional extra ``harmsim[viz]`` installs Mesa's visualization and Solara).
It looks and works like any Mesa model's page: Reset, play/pause and Step in
the sidebar, one step a year; a switch for every mechanism the scenario has
on, a slider or choice for each of their parameters, and a seed box (empty:
a fresh seed each Reset, shown under the charts). As in every Mesa page, the
sliders take effect at Reset. The main view shows

* the member states as a network at rough geographic positions (links:
  shared land borders), each a ring with one wedge per instrument, filled
  once the state has adopted it and outlined in the year it does;
* per instrument, this run's adopters so far against the observed record
  (1997-2015) and a band of many runs, the regional agreements' dates
  marked (dashed: non-binding declarations; solid: the binding
  Convention). Without a fit the band is 200 runs of the parameters now in
  force; with ``--fit`` it is the fit's predictive band (its uncertainty
  drawn, 500 runs) and the sliders start at the fit's estimates.

Everything a page draws comes from the model (its adoption table) and from
the functions of :mod:`harmsim.scoring.compare`; :mod:`harmsim.output.plots` draws it.

Python use, in a notebook or a ``solara run`` script::

    from harmsim.dashboard import Page    # the page of the baseline
    Page                                  # shows it in a notebook

    from harmsim.dashboard import make_page
    page = make_page("baseline", fit="fits/baseline")
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import warnings
import weakref
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import PIL.Image
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from harmsim.errors import ConfigError, HarmsimWarning
from harmsim.model.mechanisms import REGISTRY
from harmsim.model.mesa_model import HarmonizationModel
from harmsim.model.params import Choice, InstrumentMap, Integer, Real
from harmsim.model.scenario import Scenario, load_scenario
from harmsim.model.space import parameter_spec, split_name
from harmsim.model.tables import cumulative_counts
from harmsim.output import plots
from harmsim.scoring.compare import observed_curves, simulated_curves

__all__ = [
    "POSITIONS",
    "changes",
    "controls",
    "fit_band",
    "make_page",
    "model_class",
    "run_tables",
    "serve",
    "state_tables",
]

#: Rough layout positions (longitude, latitude in degrees) of the member states: about each country's centre,
#: Malaysia and Singapore set apart so that their rings do not overlap. For drawing only: nothing is computed
#: from them. A state of another record without a position goes on a circle around the region.
POSITIONS = {
    "BRN": (114.8, 6.3),
    "KHM": (104.9, 12.4),
    "IDN": (111.0, -3.5),
    "LAO": (102.6, 19.4),
    "MYS": (101.8, 5.2),
    "MMR": (96.0, 20.5),
    "PHL": (122.0, 12.5),
    "SGP": (104.6, 0.8),
    "THA": (100.6, 14.8),
    "VNM": (107.6, 15.9),
    "TLS": (125.8, -8.8),
}
#: environment variables through which ``harmsim dashboard`` hands its arguments to the served page
ENV_SCENARIO, ENV_FIT = "HARMSIM_DASHBOARD_SCENARIO", "HARMSIM_DASHBOARD_FIT"
#: runs in the band of the parameters in force (no fit), and in a fit's predictive band
BAND_RUNS, FIT_RUNS = 200, 500
#: What Mesa's page does not set: every slider shows its value under its knob, labels wrap above their slider
#: instead of being cut, and the tab bar of the only tab ("Page 0") is hidden.
PAGE_CSS = """
.v-input__slider .v-input__slot { flex-wrap: wrap; }
.v-input__slider .v-input__slot > .v-label {
  flex: 0 0 100%; max-width: 100% !important; height: auto !important; white-space: normal; overflow: visible;
  margin-bottom: 2px;
}
.v-input__slider { margin-bottom: 14px; }
.v-slider__thumb-label-container { display: block !important; }
.v-slider .v-slider__thumb-label.v-slider__thumb-label {
  transform: translate(-50%, 22px) !important; width: auto !important; height: auto !important;
  border-radius: 0 !important; padding: 0 2px; background-color: transparent !important;
  border-color: transparent !important; color: #1565c0 !important; font-size: 12px; white-space: nowrap;
}
.v-slider .v-slider__thumb-label > * { transform: none !important; }
.v-tabs:not(:has(.v-tab ~ .v-tab)) { display: none; }
"""


def _viz():
    """Mesa's visualization and Solara, or a ConfigError saying how to install them."""
    try:
        with warnings.catch_warnings():  # Solara's check of Mesa's own components' hooks: not the user's concern
            warnings.filterwarnings("ignore", category=UserWarning, module="solara.validate_hooks")
            import solara
            from mesa.visualization import SolaraViz
            from mesa.visualization.utils import update_counter
    except ImportError as exc:
        raise ConfigError(
            f"the dashboard needs Mesa's visualization (missing: {exc.name}); install it with "
            "pip install 'harmsim[viz]'"
        ) from None
    return solara, SolaraViz, update_counter


# Controls ------------------------------------------------------------------------------------------------------
def _label(sc: Scenario, name: str) -> str:
    group, key, inst = split_name(name)
    if inst is not None:  # hazard.offsets.K
        name = plots.instrument_labels(sc.record, 10_000).get(inst, inst)
        return f"offset: {name}"  # whole: the page wraps a long label above its slider
    return f"{group}: {key.replace('_', ' ')}"


def _step(lo: float, hi: float) -> float:
    """A round slider step of about a hundredth of the range."""
    raw = (hi - lo) / 100
    return float(10 ** math.floor(math.log10(raw))) if raw > 0 else 0.01


def _control(sc: Scenario, name: str, value, ranges: dict) -> dict | None:
    """One Mesa user parameter for a scenario parameter, or None for those a dashboard does not vary."""
    spec = parameter_spec(sc, name)
    if str(getattr(spec, "doc", "")).startswith("calibration:"):
        return None  # how a fit pools offsets: no part of a run
    label = _label(sc, name)
    if isinstance(spec, Choice):
        return {"type": "Select", "value": value, "values": list(spec.choices), "label": label}
    if isinstance(spec, Integer):
        lo, hi = spec.lo, min(spec.hi, max(value, spec.lo) + 10)
        return {"type": "SliderInt", "value": int(value), "min": lo, "max": hi, "step": 1, "label": label}
    if isinstance(spec, (Real, InstrumentMap)) and isinstance(value, (int, float)):
        # the declared range, widened to hold the value; else the value +- 2 inside what is allowed
        lo, hi = ranges.get(name, (max(spec.lo, value - 2.0), min(spec.hi, value + 2.0)))
        lo, hi = min(lo, value), max(hi, value)
        step = _step(lo, hi)
        return {"type": "SliderFloat", "value": float(value), "min": lo, "max": hi, "step": step, "label": label}
    return None


def controls(scenario: Scenario | str = "baseline", fit=None) -> dict:
    """Mesa's ``model_params`` for the dashboard: seed box, mechanism switches, parameter sliders and choices.

    Keys are :class:`~harmsim.model.mesa_model.HarmonizationModel` keywords (``diffusion_strength``,
    ``diffusion_enabled``, ``rng``). Sliders span the scenario's declared ``[ranges]`` (widened to hold
    the starting value) or, for a parameter without one, its value +- 2 inside what the parameter allows.
    They start at the scenario's values, or at a fit's estimates when ``fit`` is given.

    >>> c = controls("baseline")
    >>> c["diffusion_strength"]["min"], c["diffusion_strength"]["max"], c["diffusion_strength"]["value"]
    (-1.0, 3.0, 0.9)
    >>> c["diffusion_enabled"]["type"], c["rng"]["type"]
    ('Checkbox', 'InputText')
    """
    sc = load_scenario(scenario) if not isinstance(scenario, Scenario) else scenario
    if fit is not None:
        sc = fit.apply(sc)
    ranges = {n: (lo, hi) for n, lo, hi in sc.ranges}
    values = sc.parameters()
    out: dict = {"rng": {"type": "InputText", "value": "", "label": "seed (empty: a new one at each Reset)"}}
    for group in ("hazard", *REGISTRY):
        if group != "hazard":
            if group not in sc.enabled:
                continue
            out[f"{group}_enabled"] = {"type": "Checkbox", "value": True, "label": f"{group.replace('_', '/')} on"}
        for name, value in values.items():
            if split_name(name)[0] != group:
                continue
            c = _control(sc, name, value, ranges)
            if c is not None:
                out[name.replace(".", "_")] = c
    return out


def model_class(scenario: Scenario) -> type[HarmonizationModel]:
    """The dashboard's model: :class:`HarmonizationModel` on ``scenario``, its seed given as text.

    The seed box gives a string: empty for a fresh seed, else a whole number.

    >>> M = model_class(load_scenario("baseline"))
    >>> M(rng="7").seed
    7
    """

    class DashboardModel(HarmonizationModel):
        default_scenario = scenario

        def __init__(self, scenario=None, *, rng=None, **kwargs):
            super().__init__(scenario, rng=_seed(rng), **kwargs)

    DashboardModel.__qualname__ = DashboardModel.__name__ = f"HarmonizationModel[{scenario.name}]"
    return DashboardModel


def _seed(text):
    if text is None or (isinstance(text, str) and not text.strip()):
        return secrets.randbits(63)
    if isinstance(text, str):
        try:
            text = int(text.strip())
        except ValueError:
            raise ConfigError(f"seed must be a whole number (or empty for a new one), got {text!r}") from None
    if isinstance(text, (int, np.integer)) and not isinstance(text, bool) and text >= 0:
        return int(text)
    raise ConfigError(f"seed must be a whole number >= 0 (or empty for a new one), got {text!r}")


# Tables --------------------------------------------------------------------------------------------------------
def state_tables(model: HarmonizationModel) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """What the network draws: (states, cells, borders) tables of the model's current year.

    ``states``: state, name, x, y, member, note (for states that join later in the window: when);
    ``cells``: state, instrument, adopted, new (adopted this year), for the instruments open to the state (a
    regional treaty: its organization's members); ``borders``: the record's land borders.

    >>> m = HarmonizationModel("baseline", rng=1, collect=False)
    >>> m.step()
    >>> states, cells, borders = state_tables(m)
    >>> states.loc[states["state"] == "KHM", ["member", "note"]].values.tolist()
    [[False, 'joins 1999']]
    """
    w = model.world
    members = {a.state_id for a in model.agents}
    window = set(w.members_until(w.end))
    in_window = [i for i, s in enumerate(w.states) if s in window]
    ids = [w.states[i] for i in in_window]
    ids_set = set(ids)
    missing = [s for s in ids if s not in POSITIONS]
    xy = dict(POSITIONS)
    for n, s in enumerate(missing):  # states without a position: on a circle
        t = 2 * math.pi * n / max(len(missing), 1)
        xy[s] = (110 + 14 * math.cos(t), 5 + 14 * math.sin(t))
    states = pd.DataFrame(
        {
            "state": ids,
            "name": [w.state_names[i] for i in in_window],
            "x": [xy[s][0] for s in ids],
            "y": [xy[s][1] for s in ids],
            "member": [s in members for s in ids],
            "note": [
                "" if s in members or w.joined[i] <= model.year else f"joins {w.joined[i]}"
                for i, s in zip(in_window, ids)
            ],
        }
    )
    open_to = {k: set(v) for k, v in w.states_open_until(w.end).items()}  # a regional treaty: its members only
    a = model.adoptions()
    a = a[[s in ids_set and s in open_to[k] for s, k in zip(a["state"], a["instrument"])]]
    year = a["year"].astype("Float64").to_numpy(dtype=float, na_value=np.inf)
    cells = pd.DataFrame(
        {
            "state": a["state"].astype(str).to_numpy(),
            "instrument": a["instrument"].astype(str).to_numpy(),
            "adopted": year <= model.year,
            "new": year == model.year,
        }
    )
    return states, cells, model.config.record.borders[["state_a", "state_b"]]


def run_tables(model: HarmonizationModel) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(observed, run): the record's adopters per instrument and year over the window, and this run's so far.

    >>> m = HarmonizationModel("baseline", rng=1, collect=False)
    >>> for _ in range(3):
    ...     m.step()
    >>> observed, run = run_tables(m)
    >>> int(run["year"].max()), int(observed["year"].max())
    (1999, 2015)
    """
    sc = model.config
    observed = _observed_of(sc)
    if model.year < sc.start:
        run = pd.DataFrame({"instrument": [], "year": [], "adopters": []})
    else:
        a = model.adoptions()
        run = cumulative_counts(a[a["state"].isin(_members(sc))], sc.start, model.year).drop(columns="replicate")
    return observed, run


def _members(sc: Scenario) -> tuple[str, ...]:
    """The states every chart counts: members in the observed window (not states that join after it)."""
    return sc.world.members_until(sc.observed_until)


@lru_cache(maxsize=16)
def _observed_of(sc: Scenario) -> pd.DataFrame:
    """The record's adopters per instrument and year over the window, of its members (the same every step)."""
    return observed_curves(sc.record, sc.start, sc.observed_until, states=_members(sc))


@lru_cache(maxsize=16)
def _band_of(sc: Scenario) -> pd.DataFrame:
    from harmsim.analysis.run import run_ensemble

    return simulated_curves(run_ensemble(sc, replicates=BAND_RUNS, seed=0), states=_members(sc))


def fit_band(scenario: Scenario, fit, runs: int = FIT_RUNS, seed: int = 0) -> pd.DataFrame:
    """A fit's predictive band: quantiles of adopters per instrument and year over ``runs`` draws.

    >>> from harmsim.calibrate import calibrate
    >>> sc = load_scenario("diffusion_only")
    >>> list(fit_band(sc, calibrate(sc), runs=20).columns)
    ['instrument', 'year', 'mean', 'q05', 'q25', 'q50', 'q75', 'q95']
    """
    from harmsim.analysis.predictive import predictive_ensemble

    return simulated_curves(predictive_ensemble(scenario, fit, runs, seed), states=_members(scenario))


# Page ----------------------------------------------------------------------------------------------------------
def _titles(sc: Scenario) -> tuple[dict, dict]:
    return plots.instrument_labels(sc.record), plots.agreement_marks_by_instrument(sc)


CHART_TITLE = "Member states that have adopted each instrument:\nthe record, and this run to {year}"


class _Layers:
    """A figure of a still layer and a moving one, redrawn each year by painting the moving artists on a copy.

    The still layer (axes, observed lines, band, legend, borders) is drawn once per model; a step paints only
    what the year changes (matplotlib's blitting) and encodes the picture as a PNG. Rebuilding and
    re-rendering both figures every year cost most of a step (benchmarks/bench_dashboard.py).
    """

    def __init__(self, fig: Figure, title, dpi: float):
        title.set_animated(True)  # the title changes every year: not part of the still layer
        self.fig, self.title, self.moving = fig, title, []
        fig.set_dpi(dpi)
        self.canvas = FigureCanvasAgg(fig)
        self.canvas.draw()
        self.background = self.canvas.copy_from_bbox(fig.bbox)

    def png(self, moving: list) -> bytes:
        """The figure with ``moving`` (artists on its axes, replacing the last ones) painted over the still layer."""
        for a in self.moving:
            if a not in moving:
                a.remove()
        self.moving = moving
        self.canvas.restore_region(self.background)
        for a in moving:
            a.set_animated(True)
            self.fig.draw_artist(a)
        w, h = self.canvas.get_width_height()
        image = PIL.Image.frombuffer("RGBA", (w, h), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        out = io.BytesIO()
        image.convert("RGB").save(out, format="png", compress_level=1)
        return out.getvalue()


def on_map(model: HarmonizationModel) -> bool:
    """Whether the page draws the states on a world map rather than as a network of rings: a record with states
    the network has no position for (the world, the global criminalization panel), too many for rings.

    >>> [on_map(HarmonizationModel(name, rng=1, collect=False)) for name in ("baseline", "world_baseline")]
    [False, True]
    """
    w = model.world
    return any(s not in POSITIONS for s in w.members_until(w.end))


def map_table(model: HarmonizationModel) -> pd.DataFrame:
    """What the world map draws of the model's year, per state of the window: state, name, code (its outline,
    :func:`~harmsim.data.maps.map_codes`; missing when it has none), member, adopted (instruments adopted so far),
    open (instruments open to it), new (an adoption this year).

    >>> m = HarmonizationModel("world_baseline", rng=1, collect=False)
    >>> for _ in range(12):
    ...     m.step()
    >>> t = map_table(m).set_index("state")
    >>> int(t.loc["FRA", "open"]), int(t.loc["IND", "open"]), int(t.loc["USA", "open"])  # CoE's, SAARC's treaty
    (4, 4, 3)
    """
    states, cells, _ = state_tables(model)
    per = cells.groupby("state").agg(adopted=("adopted", "sum"), open=("adopted", "size"), new=("new", "any"))
    codes = _codes_of(model.config.record)
    t = states[["state", "name", "member"]].join(per, on="state")
    t["code"] = t["state"].map(codes)
    t[["adopted", "open"]] = t[["adopted", "open"]].fillna(0).astype(int)
    t["new"] = t["new"].astype("boolean").fillna(False).astype(bool) & t["member"]
    return t[["state", "name", "code", "member", "adopted", "open", "new"]]


@lru_cache(maxsize=4)
def _codes_of(record) -> dict:
    from harmsim.data.maps import map_codes

    return map_codes(record)


# Each figure is a still part, built once per model, and a moving part, built each year on it; drawn whole
# (the figure functions, what tests read) or layered (the page).
def _network_still(model) -> tuple[Figure, object]:
    """The network's figure without the year: borders, extent, legend, and an empty title (on a record of many
    states, :func:`on_map`, the world map's)."""
    if on_map(model):
        return _map_still(model)
    states, cells, borders = state_tables(model)
    fig = Figure(figsize=(6.0, 6.4))  # about the size it is shown at: text at its point size
    ax, legend_ax = fig.subplots(2, 1, height_ratios=[2.6, 1])
    fig.subplots_adjust(left=0.01, right=0.99, top=0.93, bottom=0.01, hspace=0.02)
    labels = plots.instrument_labels(model.config.record, 34)
    plots.plot_state_map(ax, states, borders, list(dict.fromkeys(cells["instrument"])), labels, legend_ax)
    return fig, ax.set_title("", fontsize=11)


def _map_still(model) -> tuple[Figure, object]:
    """The world map's figure without the year: every outline, the key, the states it cannot draw."""
    from harmsim.data.maps import country_shapes, unplaced

    t = map_table(model)
    fig = Figure(figsize=(6.0, 4.0))  # about the size it is shown at: text at its point size
    ax = fig.add_axes((0.01, 0.31, 0.98, 0.61))  # the map (its aspect fixes its height: 2.3 in at this width)
    legend_ax = fig.add_axes((0.01, 0.01, 0.98, 0.29))
    missing = unplaced(model.config.record, t["state"])
    plots.plot_adoption_map_frame(ax, country_shapes(), int(t["open"].max()), legend_ax, missing)
    return fig, ax.set_title("", fontsize=11)


def _network_moving(model, fig: Figure, title) -> list:
    """The year's rings, counts and names (or the map's fills), and the title: the artists drawn."""
    if on_map(model):
        from harmsim.data.maps import country_shapes

        t = map_table(model)
        title.set_text(_network_title(model, t["adopted"].sum(), t["open"].sum()))
        return [*plots.plot_adoption_map(fig.axes[0], country_shapes(), t, int(t["open"].max())), title]
    states, cells, _ = state_tables(model)
    title.set_text(_network_title(model, cells["adopted"].sum(), len(cells)))
    return [*plots.plot_rings(fig.axes[0], states, cells), title]


def _network_title(model, adopted: int, cells: int) -> str:
    """``2001: 37 of 590 adoptions``: adoptions so far of the cells open to the states in the window."""
    if model.year < model.world.start:
        return f"before {model.world.start}"
    return f"{model.year}: {int(adopted)} of {_counted(int(cells), 'adoption')}"


def _network_figure(model) -> Figure:
    """The network as a figure (what the page shows, drawn whole)."""
    fig, title = _network_still(model)
    _network_moving(model, fig, title)
    return fig


def _chart_still(model, band: pd.DataFrame | None, band_label: str) -> tuple[Figure, object]:
    """The adoption chart without this run: observed lines, band, agreements, legend, and an empty title."""
    observed, run = run_tables(model)
    names, marks = _titles(model.config)
    instruments = list(model.world.instruments)
    fig = plots.figure_run(
        observed,
        run.iloc[:0],
        instruments,
        model.config.world.open_until(model.config.observed_until),  # the states _members counts
        band=band,
        band_label=band_label,
        names=names,
        agreements=marks,
        layout=None,  # fixed margins: no layout engine for a figure redrawn every year
        cols=2,
        width=6.0,
    )
    height = 1.8 * math.ceil(len(instruments) / 2) + 2.1
    fig.set_size_inches(6.0, height)  # about the size it is shown at: text at its point size
    fig.subplots_adjust(left=0.09, right=0.98, top=1 - 0.95 / height, bottom=1.3 / height, hspace=0.8, wspace=0.18)
    return fig, fig.suptitle("", fontsize=10)


def _chart_moving(model, fig: Figure, title) -> list:
    """This run's lines so far, and the title: the artists drawn."""
    _, run = run_tables(model)
    title.set_text(CHART_TITLE.format(year=model.year))
    lines = [a for ax, k in zip(fig.axes, model.world.instruments) for a in plots.plot_run_line(ax, run, k)]
    return [*lines, title]


def _chart_figure(model, band: pd.DataFrame | None, band_label: str) -> Figure:
    """The adoption chart as a figure (what the page shows, drawn whole)."""
    fig, title = _chart_still(model, band, band_label)
    _chart_moving(model, fig, title)
    return fig


#: per model, its two layered figures (dropped with the model)
_LAYERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
DPI = 100


def _layered_png(model, key: str, still, moving) -> bytes:
    """Figure ``key`` of the model's year as PNG bytes: ``still()`` built once per model, ``moving`` each year."""
    layers = _LAYERS.setdefault(model, {})
    if key not in layers:
        layers[key] = _Layers(*still(), DPI)
    lay = layers[key]
    return lay.png(moving(model, lay.fig, lay.title))


def network_png(model) -> bytes:
    """The network of the model's year as PNG bytes (see :class:`_Layers`)."""
    return _layered_png(model, "network", lambda: _network_still(model), _network_moving)


def chart_png(model, band: pd.DataFrame | None, band_label: str) -> bytes:
    """The adoption chart of the model's year as PNG bytes (see :class:`_Layers`)."""
    return _layered_png(model, "chart", lambda: _chart_still(model, band, band_label), _chart_moving)


def _image(png: bytes, alt: str):
    """An <img> of the PNG with its text for readers and tests (solara.HTML: no widget per image)."""
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}" style="width:100%;max-width:640px">'


def changes(model: HarmonizationModel, start: Scenario) -> list[str]:
    """What the model's parameters change from the dashboard's starting point ``start``, in words.

    >>> sc = load_scenario("baseline")
    >>> changes(HarmonizationModel(sc, rng=1, diffusion_strength=3.0, capacity_enabled=False), sc)
    ['capacity off', 'diffusion: strength 3 (was 0.9)']
    """
    out = [f"{m} off" for m in start.enabled if m not in model.config.enabled]
    now, before = model.config.parameters(), start.parameters()
    for name, value in now.items():
        if name in before and value != before[name]:
            out.append(f"{_label(start, name)} {_fmt(value)} (was {_fmt(before[name])})")
    return out


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _status(model, start: Scenario, fit_dir) -> str:
    """The line under the charts (HTML): the year, the seed, and where the parameters come from."""
    if model.year < model.world.start:
        year = f"<b>Before {model.world.start}</b>: press Step to simulate a year, or ▶ to play"
    else:
        year = f"<b>{model.year}</b>" + ("" if model.running else ": the end of the window")
    how = f"the fit in {fit_dir}" if fit_dir else f"scenario '{start.name}'"
    diff = changes(model, start)
    how += f", changed: {'; '.join(diff)}" if diff else ""
    return (
        f"{year} · {_counted(len(model.agents), 'member')} · {_counted(model.n_adopters, 'adoption')} · "
        f"seed <code>{model.seed}</code> "
        f"(type it in the seed box and Reset to repeat this run) · parameters from {html.escape(how)}"
    )


def _counted(n: int, noun: str) -> str:
    """``1 adoption``, ``2 adoptions``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def make_page(scenario: Scenario | str = "baseline", fit=None, fit_dir: str | None = None):
    """A Solara page component (Mesa's SolaraViz) for ``scenario``, with a fit's band and estimates if given.

    Each browser session gets its own model. ``fit`` is a :class:`~harmsim.calibrate.Fit` (or a fit folder).

    Needs the ``viz`` extra. The page is a component, for a Solara app or a
    notebook cell; :func:`serve` serves it.

    >>> page = make_page("baseline")
    >>> callable(page)
    True
    """
    solara, SolaraViz, update_counter = _viz()
    sc = load_scenario(scenario) if not isinstance(scenario, Scenario) else scenario
    if isinstance(fit, (str, Path)):
        from harmsim.calibrate import load_fit

        fit_dir, fit = str(fit), load_fit(fit)
    start_sc = fit.apply(sc) if fit is not None else sc
    params = controls(sc, fit)
    Model = model_class(start_sc)
    fixed_band = fit_band(sc, fit) if fit is not None else None
    fit_label = f"fit ({fit.method.upper()}, {FIT_RUNS} draws)" if fit is not None else ""

    @solara.component
    def Network(model):
        update_counter.get()
        png = network_png(model)
        alt = f"Member states and their instruments, {_LAYERS[model]['network'].title.get_text()}"
        solara.HTML(tag="div", unsafe_innerHTML=_image(png, alt))

    @solara.component
    def Adoption(model):
        update_counter.get()
        band = fixed_band if fixed_band is not None else _band_of(model.config)
        label = fit_label or f"these parameters ({BAND_RUNS} runs)"
        alt = f"{CHART_TITLE.format(year=model.year)}; band: {label}"
        solara.HTML(tag="div", unsafe_innerHTML=_image(chart_png(model, band, label), alt))
        solara.HTML(tag="p", unsafe_innerHTML=_status(model, start_sc, fit_dir))  # no Markdown: it loads KaTeX

    @solara.component
    def Page():
        model = solara.use_memo(lambda: Model(**{k: v["value"] for k, v in params.items()}), [])
        solara.Title(f"harmsim: {sc.name}")  # the browser tab's title
        solara.Style(PAGE_CSS)
        SolaraViz(
            model,
            components=[(Adoption, 0), (Network, 0)],
            model_params=params,
            name=f"harmsim: {sc.name}",
            play_interval=400,
        )

    return Page


def _app_page():
    """The page ``harmsim dashboard`` serves: scenario and fit from the environment."""
    return make_page(os.environ.get(ENV_SCENARIO, "baseline"), fit=os.environ.get(ENV_FIT) or None)


def _loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(scenario: str = "baseline", *, fit: str | None = None, port: int = 8765, host: str = "127.0.0.1") -> int:
    """Serve the dashboard with Solara until interrupted; returns the server's exit code.

    Everything a page needs is checked first (the extra installed, the scenario, the fit, the port), so a
    mistake is one error here rather than a traceback in the browser:

    >>> import socket
    >>> with socket.socket() as taken:
    ...     taken.bind(("127.0.0.1", 0))
    ...     taken.listen()
    ...     serve("baseline", port=taken.getsockname()[1])
    Traceback (most recent call last):
    ...
    harmsim.errors.ConfigError: cannot serve on 127.0.0.1:... (Address already in use); choose another --port
    """
    _viz()
    sc = load_scenario(scenario)
    if fit is not None:
        from harmsim.calibrate import load_fit

        loaded = load_fit(fit)
        loaded.apply(sc)  # refuses a fit of another scenario, before the server starts
        for said in (loaded.caveat(), loaded.held_note()):
            if said:
                warnings.warn(said + " (the page's fitted band too)", HarmsimWarning, stacklevel=2)
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds: a port just freed is free
        try:
            s.bind((host, port))
        except OSError as exc:
            raise ConfigError(f"cannot serve on {host}:{port} ({exc.strerror}); choose another --port") from None
    env = {
        # Solara's defaults a user may override: no usage telemetry sent, no check of Mesa's hooks, no warning
        # that a plain-http localhost page gets lax cookies
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
        "SOLARA_CHECK_HOOKS": "off",
        "PYTHONWARNINGS": "ignore::UserWarning:solara.server.starlette",
        **os.environ,
        ENV_SCENARIO: sc.path or scenario,
        ENV_FIT: str(fit or ""),
    }
    if not _loopback(host):
        warnings.warn(
            f"serving on {host} makes the dashboard reachable from other machines: anyone who can reach port {port} "
            "can run simulations on this one; use --host 127.0.0.1 unless that is meant",
            HarmsimWarning,
            stacklevel=2,
        )
    # Solara's command line in a process that exits when this one is gone, killed or not (_dashboard_server)
    cmd = [sys.executable, "-m", "harmsim._dashboard_server", "run", "harmsim._dashboard_app"]
    cmd += ["--host", host, "--port", str(port)]
    # production: no reloader; no check for a newer Solara (the viz extra holds it at the release its files match)
    cmd += ["--production", "--no-open", "--no-check-version", "--log-level", "warning"]
    print(f"harmsim dashboard: http://{host}:{port} (scenario {sc.name}{f', fit {fit}' if fit else ''}); Ctrl-C stops")
    server = subprocess.Popen(cmd, env=env)

    def stop(*_):
        """Stop the server; it waits for open pages to close, so after a few seconds it is killed."""
        server.terminate()
        threading.Timer(5.0, lambda: server.poll() is None and server.kill()).start()

    previous = signal.signal(signal.SIGTERM, stop)  # a terminated `harmsim dashboard` takes its server with it
    try:
        return server.wait()
    except KeyboardInterrupt:  # Ctrl-C
        stop()
        server.wait()
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)


def __getattr__(name):
    if name == "Page":  # the baseline's page, built when asked for (it needs the viz extra)
        return make_page("baseline")
    raise AttributeError(name)

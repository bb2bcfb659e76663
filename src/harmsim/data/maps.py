"""Country outlines for world maps, and what a map of a record shows per state.

The outlines are Natural Earth's Admin 0 countries at 1:110m (public domain,
naturalearthdata.com), shipped in the world record's folder as
``shapes.csv`` (one row per vertex: state, part, lon, lat; built by
scripts/build_world.py from the shapefile). Nothing is downloaded at run
time. Small states have no polygon at this scale (Singapore, Malta,
Bahrain, most island states): :func:`map_values` marks them ``drawn =
False`` so that a map can list them instead of dropping them silently.

>>> shapes = country_shapes()
>>> len(shapes["FRA"]) > 1, shapes["FRA"][0].shape[1]   # mainland, Corsica, ...: one (n, 2) array per ring
(True, 2)
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from harmsim.data.observations import BEFORE, DATED, INTERVAL, UNOBSERVED, encode
from harmsim.data.record import Record

__all__ = ["country_shapes", "map_codes", "map_values", "unplaced"]


@lru_cache(maxsize=1)
def _shape_table() -> pd.DataFrame:
    with resources.files("harmsim.data").joinpath("world", "shapes.csv").open("rb") as f:
        return pd.read_csv(f, dtype={"state": str})


def country_shapes() -> dict[str, list[np.ndarray]]:
    """ISO alpha-3 code -> the country's rings, each an (n, 2) array of (longitude, latitude)."""
    out: dict[str, list[np.ndarray]] = {}
    for (state, _), ring in _shape_table().groupby(["state", "part"], sort=False):
        out.setdefault(state, []).append(ring[["lon", "lat"]].to_numpy())
    return out


def map_codes(record: Record) -> dict[str, str]:
    """The outline each state of ``record`` is drawn with: state id -> ISO alpha-3 code, for the states found.

    A state's id is its code when it is one (the world record's ids are ISO
    codes); otherwise its Correlates of War code (``ccode`` or ``cowcode``)
    is looked up in the world record, which holds both (the global
    criminalization panel names its states and gives their COW codes).
    States found neither way are left out: a map says how many it could not place.

    >>> from harmsim.data.record import load_record
    >>> codes = map_codes(load_record("global_criminalization"))
    >>> codes["Burma"], codes["Antigua&Barbuda"]
    ('MMR', 'ATG')
    """
    from harmsim.data.record import load_record

    world = load_record("world").states
    iso = set(world["state"]) | set(_shape_table()["state"])
    cow = {c: s for c, s in zip(pd.to_numeric(world["cowcode"], errors="coerce"), world["state"]) if pd.notna(c)}
    column = next((c for c in ("ccode", "cowcode") if c in record.states.columns), None)
    codes = pd.to_numeric(record.states[column], errors="coerce") if column else pd.Series(np.nan, record.states.index)
    ccode = dict(zip(record.states["state"], codes))
    out = {}
    for s in record.state_ids:
        if s in iso:
            out[s] = s
        elif ccode.get(s) in cow:
            out[s] = cow[ccode[s]]
    return out


def unplaced(record: Record, states) -> list[str]:
    """The names of ``states`` (ids of ``record``) a map cannot draw, sorted: no outline at this scale, or no
    code to place them by. A map says them rather than dropping them silently.

    >>> from harmsim.data.record import load_record
    >>> unplaced(load_record("world"), ["SGP", "FRA", "MLT"])
    ['Malta', 'Singapore']
    """
    codes, shapes = map_codes(record), _shape_table()["state"]
    names = dict(zip(record.states["state"], record.states["name"])) if "name" in record.states else {}
    drawn = set(shapes)
    return sorted({names.get(s, s) for s in states if codes.get(s) not in drawn})


def map_values(record: Record, instrument: str) -> pd.DataFrame:
    """Per state of ``record``: what it shows of ``instrument`` and whether a map can draw it.

    Columns ``state``, ``name``, ``year`` (the adoption year; an interval's upper bound, "adopted by"; NaN when
    not adopted), ``status`` (``before`` the window, ``adopted``, ``adopted within`` an interval, ``not adopted``
    by the state's last observed year, ``unobserved``, ``not open``: a regional treaty of an organization the
    state never belonged to in the window), ``drawn`` (the state has an outline).

    >>> from harmsim.data.record import load_record
    >>> v = map_values(load_record("world"), "saarc2002").set_index("state")
    >>> v.loc["IND", "status"], float(v.loc["IND", "year"]), v.loc["FRA", "status"]  # SAARC's convention: an interval
    ('adopted within', 2005.0, 'not open')
    """
    states = list(record.state_ids)
    obs = encode(record, states, [instrument], record.start, record.end)
    kind, year, hi = obs.kind[:, 0], obs.year[:, 0], obs.hi[:, 0]
    status = np.select(
        [kind == BEFORE, kind == DATED, kind == INTERVAL, kind == UNOBSERVED],
        ["before", "adopted", "adopted within", "unobserved"],
        "not adopted",
    )
    shown = np.where((kind == DATED) | (kind == BEFORE), year, np.where(kind == INTERVAL, hi, np.nan))
    owner = record.instruments.set_index("instrument").get("organization", pd.Series(dtype=str)).get(instrument)
    if isinstance(owner, str) and owner:  # a regional treaty: states never in its organization cannot hold it
        ms = record.memberships
        inside = set(ms.loc[(ms["organization"] == owner) & (ms["joined"] <= record.end), "state"])
        status = np.where([s in inside for s in states], status, "not open")
    names = record.states.set_index("state")["name"] if "name" in record.states.columns else pd.Series(dtype=str)
    drawn = set(_shape_table()["state"])
    return pd.DataFrame(
        {
            "state": states,
            "name": [names.get(s, s) for s in states],
            "year": shown,
            "status": status,
            "drawn": [s in drawn for s in states],
        }
    )

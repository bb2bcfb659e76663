"""A record compiled to arrays over one window: what every engine reads.

:class:`World` turns the tidy tables of a :class:`~harmsim.record.Record`
into numpy arrays indexed ``[year, state]``, ``[state, instrument]`` and so
on, once per (record, window). Mechanisms, both engines and the likelihood
read these arrays and nothing else, so every engine sees identical inputs.

Year ``t`` has index ``t - start``. ``NEVER`` marks "not (yet) happened".
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from .errors import ConfigError
from .record import Record

__all__ = ["NEVER", "World"]

#: "Not (yet) happened" in year arrays; years are stored as int16 (cheaper to scan).
NEVER = np.int16(32767)
YEAR = np.int16


@dataclass(frozen=True, eq=False)
class World:
    """Arrays of one record over the window ``start..end`` (inclusive)."""

    record: Record
    start: int
    end: int
    years: np.ndarray  # (T,)
    states: tuple[str, ...]  # N
    instruments: tuple[str, ...]  # K
    agreements: tuple[str, ...]  # M
    member: np.ndarray  # (T, N) bool: the state is a member that year
    opens: np.ndarray  # (K,) int: first year adoptable (NEVER: opened only by its agreement)
    opened_by: np.ndarray  # (K,) int: agreement index or -1
    requires: np.ndarray  # (K,) int: prerequisite instrument index or -1
    initial: np.ndarray  # (N, K) int: adoption years before the window, else NEVER
    agreement_year: np.ndarray  # (M,) recorded year
    binding: np.ndarray  # (M,) bool
    covers: np.ndarray  # (M, K) bool
    trigger: tuple[str, ...]  # M
    parent: np.ndarray  # (M,) int: agreement it builds on, or -1
    subregion: tuple[str, ...]  # N
    border: np.ndarray  # (N, N) bool
    state_names: tuple[str, ...]  # N
    joined: np.ndarray  # (N,) year joined
    entering: tuple[tuple[int, ...], ...]  # per year: states that are members but were not the year before
    leaving: tuple[tuple[int, ...], ...]  # per year: states that were members the year before but are not

    @property
    def shape(self) -> tuple[int, int, int]:
        """(years, states, instruments)."""
        return len(self.years), len(self.states), len(self.instruments)

    @classmethod
    def build(cls, record: Record, start: int | None = None, end: int | None = None) -> World:
        """Compile ``record`` over ``start..end`` (default: the record's own window)."""
        start = record.start if start is None else start
        end = record.end if end is None else end
        if not record.start <= start <= end <= record.end:
            raise ConfigError(
                f"window {start}-{end} must lie inside the record '{record.name}' ({record.start}-{record.end})"
            )
        return _build(record, start, end)

    # Covariates -----------------------------------------------------------------
    def covariate(self, name: str) -> np.ndarray:
        """A yearly covariate as a (T, N) array; NaN where the record has no value."""
        return _covariate(self, name)

    def has_covariate(self, name: str) -> bool:
        return name in self.record.covariates.columns

    def tier(self) -> np.ndarray:
        """US TIP report tier as a (T, N) array of strings ('' where none)."""
        return _tier(self)

    def global_series(self, variable: str) -> np.ndarray:
        """A yearly global series as (T,), carried forward past its last year."""
        return _global(self, variable)

    def net_migration(self) -> np.ndarray:
        """Net immigration among the record's states as a share of population, (T, N).

        (immigrants from the other states - emigrants to them) / population,
        with stocks linearly interpolated between the source's 5-year points
        and held constant beyond them.
        """
        return _net_migration(self)


@lru_cache(maxsize=32)
def _build(record: Record, start: int, end: int) -> World:
    years = np.arange(start, end + 1)
    st = record.states
    states = tuple(st["state"])
    inst = record.instruments
    instruments = tuple(inst["instrument"])
    ag = record.agreements
    agreements = tuple(ag["agreement"])
    joined = st["joined"].to_numpy()
    left = st["left"].fillna(NEVER).to_numpy(dtype=np.int64)
    member = (years[:, None] >= joined[None, :]) & (years[:, None] <= left[None, :])
    prev = np.vstack([np.zeros((1, len(states)), dtype=bool), member[:-1]])
    aidx = {a: j for j, a in enumerate(agreements)}
    kidx = {k: j for j, k in enumerate(instruments)}
    opened_by = np.array([aidx.get(a, -1) if a else -1 for a in inst["opened_by"]], dtype=np.int64)
    opens = inst["opens"].fillna(-(10**6)).to_numpy(dtype=np.int64)
    requires = np.array([kidx[r] if r else -1 for r in inst["requires"]], dtype=np.int64)
    initial = np.full((len(states), len(instruments)), NEVER, dtype=YEAR)
    sidx = {s: j for j, s in enumerate(states)}
    ad = record.adoptions
    for s, k, y in zip(ad["state"], ad["instrument"], ad["year"]):
        if y is not pd.NA and y < start:
            initial[sidx[s], kidx[k]] = y
    covers = np.zeros((len(agreements), len(instruments)), dtype=bool)
    for j, items in enumerate(ag["covers"]):
        for k in items:
            covers[j, kidx[k]] = True
    parent = np.array([aidx[p] if p else -1 for p in ag["builds_on"]], dtype=np.int64)
    border = np.zeros((len(states), len(states)), dtype=bool)
    for a, b in zip(record.borders["state_a"], record.borders["state_b"]):
        border[sidx[a], sidx[b]] = border[sidx[b], sidx[a]] = True
    return World(
        record=record,
        start=start,
        end=end,
        years=years,
        states=states,
        instruments=instruments,
        agreements=agreements,
        member=member,
        opens=opens,
        opened_by=opened_by,
        requires=requires,
        initial=initial,
        agreement_year=ag["year"].to_numpy(dtype=np.int64),
        binding=ag["binding"].to_numpy(dtype=bool),
        covers=covers,
        trigger=tuple(ag["trigger"]),
        parent=parent,
        subregion=tuple(st["subregion"]),
        border=border,
        state_names=tuple(st["name"]),
        joined=joined,
        entering=tuple(tuple(np.flatnonzero(m & ~p).tolist()) for m, p in zip(member, prev)),
        leaving=tuple(tuple(np.flatnonzero(p & ~m).tolist()) for m, p in zip(member, prev)),
    )


def _frame(world: World, table: pd.DataFrame, column: str) -> pd.DataFrame:
    wide = table.pivot(index="year", columns="state", values=column)
    return wide.reindex(index=world.years, columns=list(world.states))


@lru_cache(maxsize=64)
def _covariate(world: World, name: str) -> np.ndarray:
    if not world.has_covariate(name):
        raise ConfigError(f"record '{world.record.name}' has no covariate '{name}'")
    return _frame(world, world.record.covariates, name).to_numpy(dtype=float)


@lru_cache(maxsize=8)
def _tier(world: World) -> np.ndarray:
    t = world.record.tiers
    if not len(t):
        return np.full((len(world.years), len(world.states)), "", dtype=object)
    return _frame(world, t, "tier").fillna("").to_numpy(dtype=object)


@lru_cache(maxsize=16)
def _global(world: World, variable: str) -> np.ndarray:
    g = world.record.global_series
    s = g[g["variable"] == variable].set_index("year")["value"]
    if s.empty:
        raise ConfigError(f"record '{world.record.name}' has no global series '{variable}'")
    full = s.reindex(range(min(s.index.min(), world.start), world.end + 1)).ffill().bfill()
    return full.reindex(world.years).to_numpy(dtype=float)


@lru_cache(maxsize=8)
def _net_migration(world: World) -> np.ndarray:
    m = world.record.migration
    if not len(m):
        raise ConfigError(f"record '{world.record.name}' has no migration table")
    inflow = m.groupby(["destination", "year"])["migrants"].sum()
    outflow = m.groupby(["origin", "year"])["migrants"].sum()
    net = inflow.rename_axis(["state", "year"]).sub(outflow.rename_axis(["state", "year"]), fill_value=0.0)
    wide = net.unstack("state").reindex(columns=list(world.states)).fillna(0.0)
    span = range(min(wide.index.min(), world.start), max(wide.index.max(), world.end) + 1)
    wide = wide.reindex(span).interpolate(method="index", limit_area="inside").ffill().bfill()
    pop = world.covariate("population")
    return wide.reindex(world.years).to_numpy(dtype=float) / pop

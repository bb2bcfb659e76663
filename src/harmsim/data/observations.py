"""Observations: what a record shows of each (state, instrument) cell, over its own window.

Inputs drive a simulation over any horizon; observations are what the
simulation is compared with and conditioned on, and they have their own
window, the record's ``start..end``. This module is the one place where a
record's adoption table becomes per-cell observations:

``DATED``       adopted in a known year inside the window;
``BEFORE``      adopted before the window starts, or while not a member (an
                input: the model decides only for members);
``INTERVAL``    adopted within ``[lo, hi]``, year unknown (interval-censored);
``CENSORED``    not adopted by ``seen`` (right-censored; ``seen`` is the
                window's end, or earlier where less is known);
``UNOBSERVED``  nothing known.

:func:`observed_until` cuts a record's observations at an earlier year
while keeping its inputs (covariates, membership, the agreement schedule:
exogenous), the basis of backtests: fit on what was known in 2005, forecast
to 2015, score against the rest.

>>> import harmsim
>>> rec = observed_until(harmsim.observed_record(), 2005)
>>> rec.end, int(rec.adoptions.query("state == 'THA' and instrument == 'untoc'")["year"].isna().iloc[0])
(2005, 1)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
import pandas as pd

from harmsim.data.record import Record
from harmsim.data.world import NEVER, YEAR
from harmsim.errors import ConfigError

__all__ = [
    "BEFORE",
    "CENSORED",
    "DATED",
    "INTERVAL",
    "UNOBSERVED",
    "Clamp",
    "Observations",
    "encode",
    "observations",
    "observed_until",
]

BEFORE, DATED, CENSORED, INTERVAL, UNOBSERVED = 0, 1, 2, 3, 4


@dataclass(frozen=True)
class Clamp:
    """A known history to condition on; arrays (N, K) over the world's cells.

    known_until: through this year the cell's status is known (below the
        horizon start: nothing known).
    year: the cell's adoption year if it falls within what is known, else NEVER.
    force_by: the cell is known to have adopted by this year (the end of an
        interval-censored adoption): if it has not yet, it adopts then.
    schedule_until: agreements scheduled up to this year are known (they
        arrive at their scheduled year even under endogenous arrival).

    >>> import harmsim
    >>> sc = harmsim.load_scenario("baseline")
    >>> clamp = observations(sc.world, sc.record).clamp()
    >>> i, k = sc.world.states.index("MYS"), sc.world.instruments.index("hsu_process")
    >>> int(clamp.known_until[i, k]), int(clamp.force_by[i, k])  # set up 2004-2015: not before, by 2015 at last
    (2003, 2015)
    """

    known_until: np.ndarray
    year: np.ndarray
    force_by: np.ndarray
    schedule_until: int

    def apply(self, t: int, adopt: np.ndarray, idx, adopt_year: np.ndarray) -> np.ndarray:
        known = t <= self.known_until[:, idx]
        forced = (self.force_by[:, idx] == t) & (adopt_year[..., idx] == NEVER)
        return np.where(known, self.year[:, idx] == t, adopt | forced)


@lru_cache(maxsize=64)
def observed_until(record: Record, year: int) -> Record:
    """``record`` with its observations cut at ``year`` (inputs unchanged).

    An adoption after ``year`` becomes "not adopted by ``year``"; an
    interval-censored adoption whose interval straddles ``year`` becomes
    "not adopted before the interval, unknown after" (``seen_until`` = the
    interval's first year - 1); end-of-window statuses, which speak of the
    record's end, are dropped.
    """
    if isinstance(year, bool) or not isinstance(year, (int, np.integer)):
        raise ConfigError(f"observed until must be a year, got {year!r}")
    year = int(year)
    if year >= record.end:
        return record
    if year < record.start:
        raise ConfigError(
            f"observed until {year} is before the record '{record.name}' starts ({record.start}): nothing observed"
        )
    a = record.adoptions.copy()
    # copies: without pandas' copy-on-write (pandas 2) the columns would change with the assignment below
    y, lo, hi = a["year"].copy(), a["year_min"].copy(), a["year_max"].copy()
    seen = a["seen_until"].copy()
    later = y.notna() & (y > year)
    gone = y.isna() & lo.notna() & (lo > year)
    straddle = y.isna() & lo.notna() & (lo <= year) & (hi > year)
    a.loc[later | gone | straddle, ["year", "year_min", "year_max"]] = pd.NA
    seen = seen.where(~straddle, lo - 1)
    a["seen_until"] = seen.where(seen.isna() | (seen <= year), year).astype("Int64")
    a.loc[later | gone, "note"] = f"observations cut at {year}: not adopted by then"
    a.loc[straddle, "note"] = f"observations cut at {year}: not adopted before the interval, unknown after"
    return replace(
        record,
        end=year,
        title=f"{record.title} (observed until {year})",
        adoptions=a,
        status=record.status.iloc[0:0],
    )


@dataclass(frozen=True, eq=False)
class Observations:
    """A record's observations aligned with a world's states and instruments, (N, K) each.

    ``year``: DATED and BEFORE adoption years; ``lo, hi``: INTERVAL bounds;
    ``seen``: the last year a CENSORED cell is known not to have adopted.
    ``start, end``: the observation window.

    >>> import harmsim
    >>> sc = harmsim.load_scenario("baseline")
    >>> obs = observations(sc.world, sc.record)
    >>> i, k = sc.world.states.index("PHL"), sc.world.instruments.index("tip_law")
    >>> bool(obs.kind[i, k] == DATED), int(obs.year[i, k])  # the Philippines criminalized in 2003
    (True, 2003)
    >>> lo, hi = obs.bounds()
    >>> j = sc.world.instruments.index("hsu_process")
    >>> bool(obs.kind[sc.world.states.index("MYS"), j] == INTERVAL), float(hi[sc.world.states.index("MYS"), j])
    (True, 2015.0)
    """

    kind: np.ndarray
    year: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    seen: np.ndarray
    start: int
    end: int

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(N, K) earliest and latest possible adoption years; ``end + 1``: not adopted by the window's end.

        DATED and BEFORE cells: their year; INTERVAL: ``[lo, hi]``; CENSORED: from the year after ``seen``
        to "not adopted"; UNOBSERVED: ``[-inf, end + 1]`` (any simulated outcome fits, ranked nowhere).
        What compare scores simulated years against and what the observed curves count.
        """
        k, never = self.kind, self.end + 1.0
        dated = (k == DATED) | (k == BEFORE)
        lo = np.where(
            dated, self.year, np.where(k == INTERVAL, self.lo, np.where(k == CENSORED, self.seen + 1, -np.inf))
        )
        hi = np.where(dated, self.year, np.where(k == INTERVAL, self.hi, never))
        return lo.astype(float), hi.astype(float)

    def imputed(self, world=None) -> np.ndarray:
        """(N, K) adoption years with an interval at its rounded midpoint (NEVER: not adopted).

        With ``world`` (whose instruments' opening years and open cells are read), a cell in years the
        record does not know, after the year it was last seen not to have adopted or from the window's
        start if it was never seen, is read as adopted in the first of those years in which it could
        adopt (open to the state, the instrument open, up to the window's end); without, as not adopted:
        the two bounds of what those years can hold.

        >>> import harmsim
        >>> sc = harmsim.load_scenario("world_baseline")
        >>> obs = observations(sc.world, sc.record)
        >>> i, k = sc.world.states.index("BGD"), sc.world.instruments.index("tip_protocol")
        >>> int(obs.seen[i, k]), bool(obs.imputed()[i, k] == NEVER), int(obs.imputed(sc.world)[i, k])
        (2011, True, 2012)
        """
        k = self.kind
        mid = np.round((self.lo + self.hi) / 2)
        y = np.where((k == DATED) | (k == BEFORE), self.year, np.where(k == INTERVAL, mid, np.nan))
        y = np.where(np.isfinite(y), y, NEVER).astype(YEAR)
        if world is None:
            return y
        unseen = ((k == CENSORED) & (self.seen < self.end)) | (k == UNOBSERVED)
        after = np.where(k == CENSORED, self.seen, self.start - 1)  # the last year known
        years = world.years[:, None, None]
        could = world.adoptable & (years <= self.end)
        could &= years > after
        first = world.years[np.argmax(could, axis=0)]
        return np.where(unseen & could.any(axis=0), first, y).astype(YEAR)

    def clamp(self) -> Clamp:
        """The observed history as a :class:`Clamp`, for runs conditioned on it.

        DATED and CENSORED cells follow the record through what is known; an
        INTERVAL cell is known not to adopt before ``lo``, is free within the
        interval and adopts at ``hi`` if it has not; UNOBSERVED cells are free.
        Agreements scheduled up to the window's end are known.
        """
        k = self.kind
        known = np.full(k.shape, self.start - 1, dtype=np.int64)
        known = np.where(k == DATED, self.end, known)
        known = np.where(k == CENSORED, self.seen, known)
        known = np.where(k == INTERVAL, self.lo - 1, known)
        year = np.where(k == DATED, self.year, NEVER)
        force = np.where(k == INTERVAL, self.hi, NEVER)
        return Clamp(
            known_until=known.astype(np.int64),
            year=year.astype(np.int64),
            force_by=force.astype(np.int64),
            schedule_until=self.end,
        )


def observations(world, record: Record) -> Observations:
    """Align ``record``'s observations with ``world`` (every world state and instrument must be in the record).

    The observation window is the record's, cut at the world's end if that is
    earlier; it never runs past either. An adoption while the state was not a
    member is an input (BEFORE).

    A prerequisite is implied by what requires it: a state that joined the UN
    Protocol in ``y`` was party to UNTOC by ``y`` (UNTOC art. 37(2)), so where
    the record leaves the prerequisite unknown or censored before ``y`` (the
    world panel's UNTOC coding ends in 2011 for some states), it is an
    interval observation ending in ``y``: never a gap the model would
    contradict, and never a date made up.

    >>> import harmsim
    >>> sc = harmsim.load_scenario("world_baseline")
    >>> obs = observations(sc.world, sc.record)
    >>> obs.kind.shape, (obs.start, obs.end)  # 188 states, 6 instruments, observed 1990-2015
    ((188, 6), (1990, 2015))
    """
    missing_s = [s for s in world.states if s not in set(record.state_ids)]
    missing_k = [k for k in world.instruments if k not in set(record.instrument_ids)]
    if missing_s or missing_k:
        raise ConfigError(
            f"record '{record.name}' does not observe the world fully: missing states {missing_s}, "
            f"instruments {missing_k}"
        )
    obs = encode(record, world.states, world.instruments, world.start, world.end, (world.years, world.member))
    return _implied_prerequisites(obs, world.requires, world.opens)


def _implied_prerequisites(obs: Observations, requires: np.ndarray, opens: np.ndarray) -> Observations:
    """``obs`` with each prerequisite left unknown or censored before what requires it was adopted made an
    interval ending in that year (see :func:`observations`)."""
    kind, lo, hi = obs.kind.copy(), obs.lo.copy(), obs.hi.copy()
    changed = False
    for k, j in enumerate(requires):
        if j < 0:
            continue
        by = np.where(kind[:, k] == DATED, obs.year[:, k], np.where(kind[:, k] == INTERVAL, hi[:, k], np.nan))
        known_not = np.where(kind[:, j] == CENSORED, obs.seen[:, j], -np.inf)
        gap = np.isfinite(by) & ((kind[:, j] == UNOBSERVED) | ((kind[:, j] == CENSORED) & (known_not < by)))
        first = np.maximum(np.maximum(known_not + 1, obs.start), opens[j])
        gap &= first <= np.nan_to_num(by, nan=-np.inf)
        if not gap.any():
            continue
        kind[gap, j] = INTERVAL
        lo[gap, j] = first[gap]
        hi[gap, j] = by[gap]
        changed = True
    if not changed:
        return obs
    return replace(obs, kind=kind, lo=lo, hi=hi, seen=np.where(kind == CENSORED, obs.seen, np.nan))


def encode(record: Record, states, instruments, start: int, end: int, membership=None) -> Observations:
    """What ``record`` shows of each (state, instrument) cell over ``start..end``: the one encoding.

    ``membership`` (years (T,), member (T, N)) makes an adoption while not a member an input (BEFORE);
    without it only years before ``start`` are.
    Compare, forecasts, backtests and the likelihood all read a record through this function.

    >>> import harmsim
    >>> obs = encode(harmsim.observed_record(), ["THA", "PHL"], ["untoc"], 1997, 2015)
    >>> obs.kind.tolist(), obs.year.tolist()
    ([[1], [1]], [[2013.0], [2002.0]])
    """
    end = min(record.end, end)
    if end < record.end:
        record = observed_until(record, end)
    a = record.adoptions.set_index(["state", "instrument"])
    states, instruments = list(states), list(instruments)
    N, K = len(states), len(instruments)
    idx = pd.MultiIndex.from_product([states, instruments])

    def col(name):
        return a[name].reindex(idx).to_numpy(dtype=float, na_value=np.nan).reshape(N, K)

    year, lo, hi, seen = col("year"), col("year_min"), col("year_max"), col("seen_until")
    kind = np.full((N, K), CENSORED)
    kind[np.isfinite(year)] = DATED
    kind[~np.isfinite(year) & np.isfinite(hi)] = INTERVAL
    kind[np.isfinite(year) & (year < start)] = BEFORE
    if membership is not None:  # an adoption while not a member (before joining) is an input, not an outcome
        years, member = membership
        ti = np.clip(np.nan_to_num(year, nan=start) - start, 0, len(years) - 1).astype(int)
        outside = ~np.take_along_axis(np.asarray(member).T, ti, axis=1)
        kind[np.isfinite(year) & (year >= start) & (year <= years[-1]) & outside] = BEFORE
    kind[(kind == INTERVAL) & (hi < start)] = BEFORE
    year = np.where((kind == BEFORE) & ~np.isfinite(year), hi, year)
    observed = a["observed"].reindex(idx).fillna(True).to_numpy(dtype=bool).reshape(N, K)
    kind[~observed] = UNOBSERVED
    kind[(kind == CENSORED) & (seen < start)] = UNOBSERVED
    lo = np.where(kind == INTERVAL, np.maximum(lo, start), lo)
    seen = np.where(kind == CENSORED, np.where(np.isfinite(seen), seen, end), np.nan)
    return Observations(kind, year, lo, hi, seen, start, end)

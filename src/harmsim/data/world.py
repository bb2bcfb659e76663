"""Inputs compiled to arrays over one horizon: what every engine reads.

:class:`World` turns the *input* tables of a :class:`~harmsim.data.record.Record`
(membership, instruments, the schedule of agreements, borders, covariates,
tiers, migrant stocks, global series) into numpy arrays indexed ``[year,
state]``, ``[state, instrument]`` and so on, once per (record, horizon,
extension rules). Mechanisms, both engines and the likelihood read these
arrays and nothing else, so every engine sees identical inputs.

The horizon is free: it may run past the record's observation window (a
forecast) as long as every input needed is covered by data or by an explicit
extension rule (:mod:`harmsim.data.inputs`). Observations (adoptions) are not
part of a world, except the adoptions before its first year, which are its
initial condition.

Year ``t`` has index ``t - start``. ``NEVER`` marks "not (yet) happened".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import numpy as np
import pandas as pd

from harmsim.data.inputs import Extension, extend_series
from harmsim.data.record import Record
from harmsim.errors import ConfigError

__all__ = ["NEVER", "World", "organization_membership"]

#: "Not (yet) happened" in year arrays; years are stored as int16 (cheaper to scan).
NEVER = np.int16(32767)
YEAR = np.int16
#: the longest horizon harmsim compiles (years); a guard against typos such as 20300
MAX_YEARS = 500


@dataclass(frozen=True, eq=False)
class World:
    """Arrays of one record's inputs over the horizon ``start..end`` (inclusive).

    What every engine and the likelihood read, built once per scenario
    (:meth:`build`); arrays are indexed (year, state, ...) in the order of
    ``years``, ``states`` and ``instruments``.

    >>> from harmsim.data.record import load_record
    >>> w = World.build(load_record("world"), 1990, 2015)
    >>> w.shape, len(w.organizations)  # (years, states, instruments)
    ((26, 188, 6), 15)
    """

    record: Record
    start: int
    end: int
    extension: Extension
    years: np.ndarray  # (T,)
    states: tuple[str, ...]  # N
    instruments: tuple[str, ...]  # K
    agreements: tuple[str, ...]  # M
    member: np.ndarray  # (T, N) bool: the state is a member that year
    opens: np.ndarray  # (K,) int: first year adoptable (NEVER: opened only by its agreement)
    opened_by: np.ndarray  # (K,) int: agreement index or -1
    requires: np.ndarray  # (K,) int: prerequisite instrument index or -1
    initial: np.ndarray  # (N, K) int: adoption years before the horizon or before joining, else NEVER
    agreement_year: np.ndarray  # (M,) scheduled year (the record's, or a change file's)
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
    #: regional organizations (O; empty for a one-region record, whose agreements cover every member)
    organizations: tuple[str, ...] = ()
    #: (T, O, N) bool: the state is a member of the organization that year (never, for one whose members the
    #: record does not know: its agreements cover no state)
    org_member: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0), dtype=bool), repr=False)
    #: (M,) int: the organization each agreement belongs to, or -1 (it covers every member of the record)
    agreement_org: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False)
    #: (K,) int: the organization an instrument (a regional treaty) is open to, or -1 (open to every member)
    instrument_org: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False)
    #: a year after the record's end through which the time terms are known (:attr:`last_observed`), or None
    time_known_until: int | None = None
    #: inputs extended past their data so far, by name (filled as inputs are read)
    _extended: dict = field(default_factory=dict, repr=False)

    @cached_property
    def kinds(self) -> tuple[str, ...]:
        """(K,) each instrument's kind from the record (``""`` where none is given)."""
        table = self.record.instruments.set_index("instrument")["kind"]
        return tuple(str(table.get(i, "") or "") for i in self.instruments)

    @cached_property
    def obliges(self) -> np.ndarray:
        """(K, K) bool: a party to instrument ``k`` undertakes to adopt instrument ``j`` (``[k, j]``; the record's
        ``obliges`` column, e.g. the UN Protocol's art. 5: criminalization).

        >>> from harmsim.data.record import load_record
        >>> w = World.build(load_record("world"), 1990, 2015)
        >>> sorted(w.instruments[k] for k in np.flatnonzero(w.obliges[:, w.instruments.index("tip_law")]))
        ['actip', 'cets197', 'saarc2002', 'tip_protocol']
        """
        out = np.zeros((len(self.instruments), len(self.instruments)), dtype=bool)
        for k, items in enumerate(self.record.instruments["obliges"]):  # validated: known ids, in this order
            out[k, [self.instruments.index(j) for j in items]] = True
        return out

    @property
    def last_observed(self) -> int:
        """The last year the time terms (a trend's period part, a region's slope) are known for; held past it.

        The record's end, unless a fit observed later years of other cells than
        those this world's record holds: a held-out instrument's forecast starts
        the year before it opened, while the fit, which saw every other
        instrument to the record's end, estimated the trend to that end
        (:func:`~harmsim.analysis.forecast.forecast`).
        """
        return self.record.end if self.time_known_until is None else max(self.record.end, self.time_known_until)

    def members_until(self, year: int) -> tuple[str, ...]:
        """States that are members in some year of the horizon up to ``year`` (the record also holds states
        that join later, counted by no figure of those years)."""
        return tuple(s for s, m in zip(self.states, self.member[self.years <= year].any(axis=0)) if m)

    def states_open_until(self, year: int) -> dict[str, tuple[str, ...]]:
        """Instrument id -> the states it is open to in some year of the horizon up to ``year``: the rows of a
        figure's panel (a regional treaty's are its organization's members, not every state).

        >>> from harmsim.data.record import load_record
        >>> World.build(load_record("world"), 1990, 2015).states_open_until(2015)["saarc2002"]
        ('AFG', 'BGD', 'BTN', 'IND', 'LKA', 'MDV', 'NPL', 'PAK')
        """
        ever = self.open_to[self.years <= year].any(axis=0)  # (N, K)
        return {k: tuple(s for s, o in zip(self.states, ever[:, j]) if o) for j, k in enumerate(self.instruments)}

    def open_until(self, year: int) -> dict[str, int]:
        """Instrument id -> how many states it is open to up to ``year`` (:meth:`states_open_until`): the scale
        of a figure's panel.

        >>> from harmsim.data.record import load_record
        >>> w = World.build(load_record("world"), 1990, 2015)
        >>> w.open_until(2015)["tip_law"], w.open_until(2015)["saarc2002"]
        (188, 8)
        """
        return {k: len(states) for k, states in self.states_open_until(year).items()}

    @cached_property
    def covered(self) -> np.ndarray:
        """(T, N, M) bool: agreement ``m`` covers state ``i`` in year ``t``.

        A member of the record, and of the agreement's organization that year
        (several at once is common: EU, Council of Europe and OSCE). An agreement
        of no organization (a one-region record) covers every member.
        """
        return self._members_of(self.agreement_org)

    @cached_property
    def open_to(self) -> np.ndarray:
        """(T, N, K) bool: the state may hold instrument ``k`` in year ``t`` (whether or not it is open yet).

        A member of the record, and, for an instrument of an organization (a
        regional treaty), a member of that organization that year.
        """
        return self._members_of(self.instrument_org)

    @cached_property
    def adoptable(self) -> np.ndarray:
        """(T, N, K) bool: instrument ``k`` is open in year ``t`` and open to the state (:attr:`open_to`), at its
        recorded opening year: the engines' at-risk gate before the history, and the likelihood's first year a
        cell it does not see could have adopted in."""
        out = self.open_to & (self.opens[None, None, :] <= self.years[:, None, None])
        out.flags.writeable = False  # shared by every model of this world
        return out

    def _members_of(self, owners: np.ndarray) -> np.ndarray:
        """(T, N, len(owners)) bool: a member of the record and, where an owner organization is given (>= 0),
        of that organization, in each year."""
        out = np.broadcast_to(self.member[:, :, None], (*self.member.shape, len(owners))).copy()
        for j, o in enumerate(owners):
            if o >= 0:
                out[:, :, j] &= self.org_member[:, o, :]
        return out

    @cached_property
    def shared_organization(self) -> np.ndarray:
        """(T, N, N) bool: states ``i`` and ``j`` are members of a common organization in year ``t``."""
        m = self.org_member.astype(np.float32)  # (T, O, N)
        return np.einsum("toi,toj->tij", m, m) > 0

    @property
    def shape(self) -> tuple[int, int, int]:
        """(years, states, instruments)."""
        return len(self.years), len(self.states), len(self.instruments)

    @classmethod
    def build(
        cls,
        record: Record,
        start: int | None = None,
        end: int | None = None,
        extension: Extension | None = None,
        time_known_until: int | None = None,
    ) -> World:
        """Compile ``record``'s inputs over ``start..end`` (default: the record's observation window).

        ``time_known_until``: see :attr:`last_observed`.
        """
        start = record.start if start is None else start
        end = record.end if end is None else end
        if not start <= end:
            raise ConfigError(f"horizon {start}-{end}: start must not be after end")
        if end - start + 1 > MAX_YEARS:
            raise ConfigError(f"horizon {start}-{end} is {end - start + 1} years; harmsim compiles at most {MAX_YEARS}")
        if start < record.start:
            raise ConfigError(
                f"horizon {start}-{end} starts before the record '{record.name}' ({record.start}): "
                "its adoptions before the horizon are its initial condition"
            )
        return _build(record, start, end, extension or Extension(), time_known_until)

    # Inputs ------------------------------------------------------------------------------------
    def has_covariate(self, name: str) -> bool:
        return name in self.record.covariates.columns

    def covariate(self, name: str) -> np.ndarray:
        """A yearly covariate as a (T, N) array, extended by its rule past the data.

        Raises ConfigError for a member state-year that neither the data nor a
        rule covers; years a state is not a member may be NaN.
        """
        return _covariate(self, name)

    def tier_before(self) -> np.ndarray:
        """US TIP report tier of the year before each year, (T, N) strings.

        ``''`` before the first report in the record (the reports began in 2001),
        where a report did not cover a state, and for a state the record has no
        report row for at all (the world panel's states outside the Kelley-Simmons
        panel): no pressure by reports is then what the model assumes.
        """
        return _tier_before(self)

    def global_before(self, variable: str) -> np.ndarray:
        """A global series in the year before each year, (T,)."""
        return _global_before(self, variable)

    def net_migration(self) -> np.ndarray:
        """Net immigration among the record's states as a share of population, (T, N).

        (immigrants from the other states - emigrants to them) / population,
        with stocks linearly interpolated between the source's 5-year points
        and extended past the last one only by the rule for ``migration``.
        """
        return _net_migration(self)

    @property
    def extended(self) -> tuple[tuple[str, str, int, int], ...]:
        """Inputs extended past their data so far: (input, rule, first year, last year)."""
        return tuple(sorted(self._extended.values()))


def _note(world: World, name: str, rule, years) -> None:
    if len(years):
        d = world._extended
        old = d.get(name)
        lo, hi = int(min(years)), int(max(years))
        if old is not None:
            lo, hi = min(lo, old[2]), max(hi, old[3])
        d[name] = (name, rule.describe(), lo, hi)


@lru_cache(maxsize=32)
def _build(record: Record, start: int, end: int, extension: Extension, time_known_until: int | None) -> World:
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
    prev_member = np.vstack([np.zeros((1, len(states)), dtype=bool), member[:-1]])  # all enter in the first year
    aidx = {a: j for j, a in enumerate(agreements)}
    kidx = {k: j for j, k in enumerate(instruments)}
    opened_by = np.array([aidx.get(a, -1) if a else -1 for a in inst["opened_by"]], dtype=np.int64)
    opens = inst["opens"].fillna(-(10**6)).to_numpy(dtype=np.int64)
    for k, m in enumerate(opened_by):
        if m >= 0 and inst["opens"].iloc[k] is pd.NA:  # no year given: it opens with its agreement
            opens[k] = ag["year"].iloc[m]
    requires = np.array([kidx[r] if r else -1 for r in inst["requires"]], dtype=np.int64)
    initial = np.full((len(states), len(instruments)), NEVER, dtype=YEAR)
    sidx = {s: j for j, s in enumerate(states)}
    ad = record.adoptions
    for s, k, y in zip(ad["state"], ad["instrument"], ad["year"]):
        if y is pd.NA:
            continue
        i = sidx[s]
        # Adoptions before the horizon, or while not a member (e.g. a treaty ratified before joining),
        # are inputs: the model decides only for members.
        if y < start or (y <= end and not member[y - start, i]):
            initial[i, kidx[k]] = y
    covers = np.zeros((len(agreements), len(instruments)), dtype=bool)
    for j, items in enumerate(ag["covers"]):
        for k in items:
            covers[j, kidx[k]] = True
    parent = np.array([aidx[p] if p else -1 for p in ag["builds_on"]], dtype=np.int64)
    orgs, org_member, agreement_org, instrument_org = _organizations(record, years, states, ag, inst)
    border = np.zeros((len(states), len(states)), dtype=bool)
    for a, b in zip(record.borders["state_a"], record.borders["state_b"]):
        border[sidx[a], sidx[b]] = border[sidx[b], sidx[a]] = True
    return World(
        record=record,
        start=start,
        end=end,
        extension=extension,
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
        entering=tuple(tuple(np.flatnonzero(m & ~p).tolist()) for m, p in zip(member, prev_member)),
        leaving=tuple(tuple(np.flatnonzero(p & ~m).tolist()) for m, p in zip(member, prev_member)),
        organizations=orgs,
        org_member=org_member,
        agreement_org=agreement_org,
        instrument_org=instrument_org,
        time_known_until=None if time_known_until is None else int(time_known_until),
    )


def organization_membership(record: Record, years, states) -> tuple[tuple, np.ndarray]:
    """(organizations, (T, O, N) bool): who is a member of which organization in each of ``years``.

    A spell counts from the year joined through the year left (a state is a member in the year it leaves).

    >>> import harmsim
    >>> orgs, m = organization_membership(harmsim.load_record("world"), np.array([2015]), ["FRA", "USA"])
    >>> [o for j, o in enumerate(orgs) if m[0, j, 0]], bool(m[0, :, 1].any())
    (['EU', 'COE'], False)
    """
    years = np.asarray(years)
    orgs = tuple(record.organizations["organization"])
    oidx = {o: j for j, o in enumerate(orgs)}
    sidx = {s: j for j, s in enumerate(states)}
    org_member = np.zeros((len(years), len(orgs), len(states)), dtype=bool)
    m = record.memberships
    for o, s, j, left in zip(m["organization"], m["state"], m["joined"], m["left"]):
        if s not in sidx:
            continue
        last = NEVER if pd.isna(left) else int(left)
        org_member[(years >= int(j)) & (years <= last), oidx[o], sidx[s]] = True
    return orgs, org_member


def _organizations(record: Record, years: np.ndarray, states: tuple, ag: pd.DataFrame, inst: pd.DataFrame):
    """(organizations, (T, O, N) membership, (M,) agreement's organization, (K,) instrument's organization)."""
    orgs, org_member = organization_membership(record, years, states)
    oidx = {o: j for j, o in enumerate(orgs)}

    def owner(table):  # a table without the column (an empty agreements table) belongs to no organization
        return [oidx[o] if o else -1 for o in (table["organization"] if "organization" in table else [""] * len(table))]

    agreement_org = np.array(owner(ag), dtype=np.int64)
    instrument_org = np.array(owner(inst), dtype=np.int64)
    return orgs, org_member, agreement_org, instrument_org


def _missing(world: World, name: str, i: int, year: int, observed=None) -> ConfigError:
    """The error for an input without a value: where it is missing, why no rule filled it, and what would.

    ``observed``: the years the state has data for, when known. The ``carry`` and ``trend`` rules extend a
    series past its last value only, so for a year before a state's first value or in a gap the error says so
    and points to a table, rather than to a rule that would not fill it.
    """
    rule, state = world.extension.rule(name), world.states[i]
    where = f"input '{name}' has no value for {state} in {year} in record '{world.record.name}'"
    why = f"its rule '{rule.describe()}' gives no value" if rule else "no extension rule covers it"
    seen = None if observed is None else sorted(int(y) for y in observed)
    if seen is None or (seen and year > seen[-1]):  # past the data: what the forward rules are for
        if rule is None:
            return ConfigError(
                f'{where} and {why}; add [inputs.extend] {name} = "carry" (or "trend:5", or '
                '{ table = "file.csv" }) to the scenario, or shorten the horizon'
            )
        return ConfigError(f"{where} and {why}")
    if not seen:
        place = f"{state} has no value of it at all"
    elif year < seen[0]:
        place = f"{state}'s data start in {seen[0]}"
    else:
        place = f"a gap in {state}'s data, {seen[0]}-{seen[-1]}"
    return ConfigError(
        f"{where} and {why} ({place}; rules other than a table extend past the data's last year only); give "
        f'the values in a table ([inputs.extend] {name} = {{ table = "file.csv" }} fills every year the data '
        "lack), start the window later, or leave the state out"
    )


def _series_by_state(world: World, name: str, data: pd.DataFrame, column: str, years: np.ndarray) -> np.ndarray:
    """(len(years), N) values of a per-state input: data where present, the rule past the data, else NaN."""
    wide = data.pivot(index="year", columns="state", values=column).reindex(columns=list(world.states))
    out = wide.reindex(index=years).to_numpy(dtype=float, copy=True)
    rule = world.extension.rule(name)
    if rule is None:
        return out
    for i, s in enumerate(world.states):
        col = wide[s].dropna()
        if rule.kind == "table":  # a table fills every year the data lack, a state without any data included
            later = np.isnan(out[:, i])
        elif not len(col):
            continue
        else:
            later = years > col.index.max()
        if later.any():
            out[later, i] = extend_series(col.index, col.to_numpy(), years[later], rule, name, s)
            _note(world, name, rule, years[later])
    return out


def _check(world: World, name: str, values: np.ndarray, need: np.ndarray, years: np.ndarray, data=None) -> None:
    """Refuse a needed value that neither the data nor a rule gave; ``data`` (year x state, the data alone)
    lets the error say where the state's data run."""
    bad = need & ~np.isfinite(values)
    if bad.any():
        ti, i = np.argwhere(bad)[0]
        observed = None if data is None else data.index[data.iloc[:, i].notna()]
        raise _missing(world, name, int(i), int(years[ti]), observed)


@lru_cache(maxsize=64)
def _covariate(world: World, name: str) -> np.ndarray:
    if not world.has_covariate(name):
        raise ConfigError(f"record '{world.record.name}' has no covariate '{name}'")
    cov = world.record.covariates
    out = _series_by_state(world, name, cov, name, world.years)
    data = cov.pivot(index="year", columns="state", values=name).reindex(columns=list(world.states))
    _check(world, name, out, world.member, world.years, data)
    return out


@lru_cache(maxsize=8)
def _tier_before(world: World) -> np.ndarray:
    t = world.record.tiers
    T, N = world.member.shape
    out = np.full((T, N), "", dtype=object)
    if not len(t):
        return out
    prev = world.years - 1
    wide = t.pivot(index="year", columns="state", values="tier").reindex(columns=list(world.states))
    first, last = int(wide.index.min()), int(wide.index.max())
    rule = world.extension.rule("tiers")
    reported = wide.notna().any(axis=0).to_numpy()  # a state the record has no report row for: never ranked
    for ti, y in enumerate(prev):
        if y < first:
            continue  # before the first report: no pressure by reports
        for i, s in enumerate(world.states):
            if not world.member[ti, i] or not reported[i]:
                continue
            v = wide.at[y, s] if y in wide.index else np.nan
            if isinstance(v, str):
                out[ti, i] = v
                continue
            if y > last and rule is not None and rule.kind == "carry":
                col = wide[s].dropna()
                if len(col):
                    out[ti, i] = col.iloc[-1]
                    _note(world, "tiers", rule, [y])
                    continue
            raise _missing(world, "tiers", i, int(y))
    return out


@lru_cache(maxsize=16)
def _global_before(world: World, variable: str) -> np.ndarray:
    g = world.record.global_series
    s = g[g["variable"] == variable].set_index("year")["value"].sort_index()
    if s.empty:
        raise ConfigError(f"record '{world.record.name}' has no global series '{variable}'")
    prev = world.years - 1
    out = s.reindex(prev).to_numpy(dtype=float, copy=True)
    rule = world.extension.rule(variable)
    later = prev > s.index.max()
    if rule is not None and later.any():
        out[later] = extend_series(s.index, s.to_numpy(), prev[later], rule, variable)
        _note(world, variable, rule, prev[later])
    bad = ~np.isfinite(out)
    if bad.any():
        y = int(prev[np.flatnonzero(bad)[0]])
        why = f"its rule '{rule.describe()}' gives no value" if rule else "no extension rule covers it"
        raise ConfigError(
            f"global series '{variable}' has no value for {y} in record '{world.record.name}' and {why}; "
            f'add [inputs.extend] {variable} = "carry" (or "trend:5") to the scenario, or shorten the horizon'
        )
    return out


@lru_cache(maxsize=8)
def _net_migration(world: World) -> np.ndarray:
    m = world.record.migration
    if not len(m):
        raise ConfigError(f"record '{world.record.name}' has no migration table")
    inflow = m.groupby(["destination", "year"])["migrants"].sum()
    outflow = m.groupby(["origin", "year"])["migrants"].sum()
    net = inflow.rename_axis(["state", "year"]).sub(outflow.rename_axis(["state", "year"]), fill_value=0.0)
    wide = net.unstack("state").reindex(columns=list(world.states)).fillna(0.0).sort_index()
    first, last = int(wide.index.min()), int(wide.index.max())
    years = world.years
    inside = (years >= first) & (years <= last)
    span = range(first, last + 1)
    interp = wide.reindex(span).interpolate(method="index")
    out = np.full((len(years), len(world.states)), np.nan)
    out[inside] = interp.reindex(years[inside]).to_numpy(dtype=float)
    rule = world.extension.rule("migration")
    later = years > last
    if rule is not None and rule.kind == "table" and later.any():
        for i, s in enumerate(world.states):  # a user's table gives the net immigrant count
            out[later, i] = [rule.lookup(s, int(y)) for y in years[later]]
        _note(world, "migration", rule, years[later])
    elif rule is not None and later.any():
        # Extend each directed stock, then net them (a trend of a difference is not a difference of stocks).
        for i, s in enumerate(world.states):
            vin = m[m["destination"] == s].groupby("year")["migrants"].sum()
            vout = m[m["origin"] == s].groupby("year")["migrants"].sum()
            ext_in = extend_series(vin.index, vin.to_numpy(), years[later], rule, "migration", s)
            ext_out = extend_series(vout.index, vout.to_numpy(), years[later], rule, "migration", s)
            out[later, i] = np.nan_to_num(ext_in) - np.nan_to_num(ext_out)
        _note(world, "migration", rule, years[later])
    _check(world, "migration", out, world.member, years)
    return out / world.covariate("population")

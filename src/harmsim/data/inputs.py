"""Exogenous inputs over any horizon, and the explicit rules that extend them past their data.

A simulation reads *inputs* (covariates, TIP tiers, global series, migrant
stocks, membership, the schedule of agreements) over its horizon, which may
run past the years the record has data for (a forecast to 2030 from data
that end in 2023). harmsim never fills such years silently: each input that
must be extended names its rule, in the scenario file::

    [inputs.extend]
    gdp_pc = "trend:5"        # log-linear trend over the last 5 years of data, per state
    population = "trend:5"
    tiers = "carry"           # last reported tier, carried forward
    share_criminalized = "carry"
    migration = "carry"       # stocks held at the last 5-year point
    # or a user's table: gdp_pc = { table = "my_gdp.csv" }  (state, year, value)

Rules:

``carry``
    the last observed value, held constant;
``trend:N``
    a straight line fitted to the last ``N`` years of data, on the scale on
    which the input is unbounded: the log for positive quantities (GDP,
    population, migrant stocks: constant growth), the logit for a share in
    (0, 1), the value itself otherwise;
``table``
    values from a CSV file given by the user (``state, year, value``; for a
    global series ``year, value``), for the years the data lack.

An input needed in a year that neither the data nor a rule covers is a
:class:`~harmsim.errors.ConfigError` naming the input, the state and the
year. Every rule that was actually used is recorded (:attr:`World.extended
<harmsim.data.world.World.extended>`) and goes into provenance.

>>> rules = Extension.parse({"gdp_pc": "trend:5", "tiers": "carry"}, where="example.toml")
>>> rules.rule("gdp_pc")
Rule(kind='trend', years=5, table=None)
>>> extend_series([2000, 2001, 2002], [1.0, 2.0, 4.0], [2003, 2004], Rule("trend", 3), "gdp_pc")
array([ 8., 16.])
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from harmsim._output import read_csv
from harmsim.errors import ConfigError

__all__ = ["Extension", "Rule", "extend_series"]

KINDS = ("carry", "trend", "table")


@dataclass(frozen=True)
class Rule:
    """How one input is extended past its data."""

    kind: str
    years: int | None = None
    table: tuple[tuple[str, int, float], ...] | None = None  # (state or '', year, value)

    def describe(self) -> str:
        if self.kind == "trend":
            return f"trend:{self.years}"
        if self.kind == "table":
            digest = hashlib.sha256(repr(self.table).encode()).hexdigest()[:10]
            return f"table ({len(self.table or ())} values, {digest})"
        return self.kind

    def lookup(self, state: str, year: int) -> float:
        for s, y, v in self.table or ():
            if s == state and y == year:
                return v
        return np.nan


@dataclass(frozen=True)
class Extension:
    """The extension rules of a scenario: input name -> :class:`Rule` (hashable, frozen)."""

    rules: tuple[tuple[str, Rule], ...] = ()

    def rule(self, name: str) -> Rule | None:
        return dict(self.rules).get(name)

    def merged(self, other: Extension) -> Extension:
        """These rules, with ``other``'s replacing any of the same input."""
        return Extension(tuple(sorted({**dict(self.rules), **dict(other.rules)}.items())))

    def as_dict(self) -> dict:
        """The rules as written in a scenario file (tables by their value count)."""
        return {n: r.describe() for n, r in self.rules}

    @classmethod
    def parse(cls, raw: Mapping, *, where: str, base: Path | None = None) -> Extension:
        """Validate ``[inputs.extend]`` of a scenario file."""
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{where}: 'inputs.extend' must be a table of input = rule")
        out = []
        for name, spec in raw.items():
            key = f"inputs.extend.{name}"
            if isinstance(spec, Mapping):
                unknown = [k for k in spec if k != "table"]
                if unknown or "table" not in spec or not isinstance(spec["table"], str):
                    raise ConfigError(f"{where}: '{key}' as a table takes one key, table = \"file.csv\"")
                out.append((name, Rule("table", table=_read_table(spec["table"], base, where, key))))
                continue
            if not isinstance(spec, str):
                raise ConfigError(f'{where}: \'{key}\' must be "carry", "trend:N" or {{ table = "file.csv" }}')
            if spec == "carry":
                out.append((name, Rule("carry")))
            elif spec.startswith("trend:") and spec[6:].isdigit() and 2 <= int(spec[6:]) <= 50:
                out.append((name, Rule("trend", years=int(spec[6:]))))
            else:
                raise ConfigError(
                    f'{where}: \'{key}\' = {spec!r} is not a rule; allowed: "carry", "trend:N" (N from 2 to 50), '
                    'or { table = "file.csv" }'
                )
        return cls(tuple(sorted(out)))


def _read_table(fname: str, base: Path | None, where: str, key: str):
    path = (base / fname) if base is not None else Path(fname)
    if not path.is_file():
        raise ConfigError(f"{where}: '{key}': no such file {fname}")
    try:
        df = read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: '{key}': {path} is not a readable CSV table ({exc})") from None
    if not {"year", "value"} <= set(df.columns):
        raise ConfigError(f"{where}: '{key}': {path} needs columns year, value (and state for a per-state input)")
    states = df["state"].astype(str) if "state" in df else pd.Series([""] * len(df))
    years = pd.to_numeric(df["year"], errors="coerce")
    values = pd.to_numeric(df["value"], errors="coerce")
    bad = years.isna() | values.isna() | ~np.isfinite(values) | (years != years.round())
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise ConfigError(f"{where}: '{key}': {path}, line {i + 2}: year and value must be finite numbers")
    return tuple((s, int(y), float(v)) for s, y, v in zip(states, years, values))


def extend_series(years, values, wanted, rule: Rule, name: str, state: str = "") -> np.ndarray:
    """Values of one series (observed at ``years``) in the later years ``wanted``, by ``rule``."""
    years = np.asarray(years, dtype=float)
    values = np.asarray(values, dtype=float)
    wanted = np.asarray(wanted, dtype=float)
    if rule.kind == "table":
        return np.array([rule.lookup(state, int(y)) for y in wanted])
    if not len(values):
        return np.full(len(wanted), np.nan)
    if rule.kind == "carry":
        return np.full(len(wanted), values[np.argmax(years)])
    last = years.max()
    keep = years > last - rule.years
    x, v = years[keep], values[keep]
    if len(x) < 2:
        return np.full(len(wanted), values[np.argmax(years)])
    fwd, back = _scale(v)
    slope, icept = np.polyfit(x, fwd(v), 1)
    return back(icept + slope * wanted)


def _scale(v: np.ndarray):
    """(forward, inverse) transform on which a trend is linear; see the module docstring."""
    if (v > 0).all() and (v < 1).all():
        return (lambda a: np.log(a / (1 - a))), (lambda z: 1 / (1 + np.exp(-z)))
    if (v > 0).all():
        return np.log, np.exp
    return (lambda a: a), (lambda z: z)

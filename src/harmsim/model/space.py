"""The parameter space: every parameter's name, declared spec (type, default, allowed range) and bounds.

A parameter is named by a dotted path: ``hazard.intercept``, ``hazard.offsets.untoc`` (one per
instrument), ``diffusion.strength`` (a mechanism's parameter). The hazard's parameters are declared here;
each mechanism declares its own (``Mechanism.params``). Scenarios, the engines' parameter axis, sweeps,
priors and the likelihood look parameters up through :func:`parameter_spec`; ranges come from ``--vary``
text (:func:`parse_vary`), designs from ranges (:func:`design`) or from a table (:func:`checked_points`),
and an estimated parameter's bounds from :func:`bounds_of`.

>>> import harmsim
>>> parameter_spec(harmsim.load_scenario("baseline"), "diffusion.strength").hi
20.0
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from itertools import product

import numpy as np
import pandas as pd

from harmsim._limits import check_memory
from harmsim.errors import CalibrationError, ConfigError
from harmsim.model.mechanisms import REGISTRY
from harmsim.model.params import (
    CategoricalRange,
    Choice,
    InstrumentMap,
    Instruments,
    Integer,
    IntegerRange,
    Organization,
    Real,
    RealRange,
    finite_real,
)
from harmsim.rng import SeedLike, stream

__all__ = [
    "HAZARD_PARAMS",
    "SAMPLERS",
    "Range",
    "bounds_of",
    "checked_points",
    "design",
    "parameter_spec",
    "parse_vary",
    "plain_values",
    "real_spec",
    "split_name",
]

SAMPLERS = ("grid", "lhs", "sobol")
#: a parameter varied over a range (a sweep's axis, a prior's support)
Range = RealRange | IntegerRange | CategoricalRange

HAZARD_PARAMS = {
    "intercept": Real(-3.5, -20.0, 10.0, "baseline log-odds of adopting in a year"),
    "offsets": InstrumentMap(0.0, -20.0, 20.0, "per-instrument shift of the intercept"),
    "pooling": Choice(
        "kind", ("kind", "none"), "calibration: offsets of instruments of one kind drawn towards each other, or not"
    ),
    "pool_sd": Real(1.0, 0.05, 10.0, "calibration: spread (log-odds) of offsets within a kind, when pooled"),
}


def split_name(name: str) -> tuple[str, str, str | None]:
    """``(group, key, instrument)`` of a dotted name: ``hazard.offsets.untoc`` -> ``("hazard", "offsets", "untoc")``,
    ``diffusion.strength`` -> ``("diffusion", "strength", None)``.

    >>> split_name("hazard.offsets.untoc"), split_name("diffusion.strength")
    (('hazard', 'offsets', 'untoc'), ('diffusion', 'strength', None))
    """
    group, _, rest = name.partition(".")
    key, _, sub = rest.partition(".")
    return group, key, sub or None


def parameter_spec(scenario, name: str):
    """The declared spec (Real, Integer, Choice, ...) of a flat parameter name.

    Refuses a name the scenario does not have with a ConfigError listing the valid ones.
    """
    known = scenario.parameters()
    parts = name.split(".")
    group = parts[0]
    specs = HAZARD_PARAMS if group == "hazard" else REGISTRY[group].params if group in REGISTRY else None
    if specs is not None and len(parts) == 3 and parts[1] == "offsets" and group == "hazard":
        if parts[2] in scenario.record.instrument_ids:
            return specs["offsets"]
    if name not in known or specs is None or len(parts) != 2:
        valid = ", ".join(k for k, v in known.items() if isinstance(v, (int, float, str)) and v is not None)
        raise ConfigError(f"unknown parameter '{name}' for scenario '{scenario.name}'; valid: {valid}")
    return specs[parts[1]]


def real_spec(scenario, name: str, table: str, noun: str, where: str):
    """The spec of a real parameter named in a scenario's ``[table]`` (``ranges``, ``priors``); a name the
    scenario lacks, or one of a parameter that is not real, is refused naming the file and the table.

    >>> import harmsim
    >>> real_spec(harmsim.load_scenario("baseline"), "agreements.lag", "ranges", "range", "x.toml")
    Traceback (most recent call last):
    ...
    harmsim.errors.ConfigError: x.toml: 'ranges."agreements.lag"': only real parameters take a range (...)
    """
    try:
        spec = parameter_spec(scenario, name)
    except ConfigError as exc:
        raise ConfigError(f"{where}: '{table}': {exc}") from None
    if not isinstance(spec, (Real, InstrumentMap)):
        raise ConfigError(
            f"{where}: '{table}.\"{name}\"': only real parameters take a {noun} ({name} is {spec.describe()})"
        )
    return spec


def bounds_of(scenario, name: str) -> tuple[float, float]:
    """Allowed range of a real parameter, from its declaration.

    >>> import harmsim
    >>> bounds_of(harmsim.load_scenario("baseline"), "diffusion.strength")
    (-20.0, 20.0)
    >>> bounds_of(harmsim.load_scenario("baseline"), "agreements.lag")
    Traceback (most recent call last):
    ...
    harmsim.errors.CalibrationError: parameter 'agreements.lag' is not real-valued (integer in [0, 10]); ...
    """
    spec = parameter_spec(scenario, name)
    if not isinstance(spec, (Real, InstrumentMap)):
        raise CalibrationError(f"parameter '{name}' is not real-valued ({spec.describe()}); it cannot be estimated")
    return float(spec.lo), float(spec.hi)


def parse_vary(text: str, scenario) -> Range:
    """Parse ``NAME=LO:HI[:N]`` (a numeric range) or ``NAME=A,B,...`` (listed values).

    The range is typed by the parameter's declaration: real, integer or
    categorical; it must lie inside the parameter's allowed range.

    >>> import harmsim
    >>> parse_vary("diffusion.strength=0:3:4", harmsim.load_scenario("baseline"))
    RealRange(name='diffusion.strength', lo=0.0, hi=3.0, n=4)
    """
    if not isinstance(text, str) or "=" not in text:
        raise ConfigError(f"--vary {text!r}: expected NAME=LO:HI:N or NAME=A,B,...")
    name, _, body = (s.strip() for s in text.partition("="))
    spec = parameter_spec(scenario, name)
    where = f"--vary {text}"
    if isinstance(spec, Choice):
        choices = tuple(c.strip() for c in body.split(",") if c.strip())
        if not choices:
            raise ConfigError(f"{where}: empty list of values; choices: {', '.join(spec.choices)}")
        for c in choices:
            spec.check(name, c, where, {})
        return CategoricalRange(name, choices)
    if isinstance(spec, Instruments):
        raise ConfigError(f"{where}: '{name}' is a list of instruments and cannot be swept")
    if isinstance(spec, Organization):
        raise ConfigError(f"{where}: '{name}' names an organization and cannot be swept: one scenario per organization")
    if "," in body and ":" not in body:
        raise ConfigError(f"{where}: give a numeric range LO:HI:N for '{name}' (lists are for choices)")
    bits = body.split(":")
    if len(bits) not in (2, 3):
        raise ConfigError(f"{where}: expected LO:HI or LO:HI:N")
    try:
        lo, hi = float(bits[0]), float(bits[1])
        n = int(bits[2]) if len(bits) == 3 else None
    except ValueError:
        raise ConfigError(f"{where}: LO, HI and N must be numbers, got {body!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ConfigError(f"{where}: LO and HI must be finite numbers")
    if lo > hi:
        raise ConfigError(f"{where}: LO {bits[0]} is greater than HI {bits[1]}")
    if lo == hi or (n is not None and n < 1):
        raise ConfigError(f"{where}: empty range (need LO < HI and N >= 1)")
    bounds = (spec.lo, spec.hi) if isinstance(spec, (Real, Integer, InstrumentMap)) else (lo, hi)
    if lo < bounds[0] or hi > bounds[1]:
        raise ConfigError(f"{where}: [{lo}, {hi}] leaves the allowed range [{bounds[0]}, {bounds[1]}] of '{name}'")
    if isinstance(spec, Integer):
        if lo != int(lo) or hi != int(hi):
            raise ConfigError(f"{where}: '{name}' is an integer; LO and HI must be integers")
        return IntegerRange(name, int(lo), int(hi), n)
    return RealRange(name, lo, hi, n)


def design(
    ranges: Sequence[Range], sample: str = "grid", points: int | None = None, seed: SeedLike = 0
) -> pd.DataFrame:
    """The design: one row per point (column ``point``, then one column per parameter).

    ``grid``: the product of every range's grid (a real range needs N).
    ``lhs`` / ``sobol``: ``points`` draws from :mod:`scipy.stats.qmc`, seeded
    from the named stream ``design`` of ``seed``.

    >>> from harmsim.model.params import RealRange
    >>> design([RealRange("diffusion.strength", 0.0, 2.0, 3)]).values.tolist()
    [[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]
    >>> lhs = design([RealRange("a", 0.0, 1.0, None), RealRange("b", 0.0, 1.0, None)], "lhs", points=4, seed=0)
    >>> lhs.shape, list(lhs.columns)
    ((4, 3), ['point', 'a', 'b'])
    """
    from scipy.stats import qmc

    if sample not in SAMPLERS:
        raise ConfigError(f"sample must be one of {', '.join(SAMPLERS)}, got {sample!r}")
    if not ranges:
        raise ConfigError("a sweep needs at least one --vary")
    names = [r.name for r in ranges]
    if len(set(names)) != len(names):
        raise ConfigError(f"a parameter is varied twice: {names}")
    if sample == "grid":
        for r in ranges:
            if isinstance(r, RealRange) and r.n is None:
                raise ConfigError(f"grid sampling needs N for '{r.name}' (NAME=LO:HI:N)")
        check_memory(math.prod(_grid_size(r) for r in ranges) * _BYTES_PER_POINT, "the grid of this sweep")
        rows = list(product(*(r.grid() for r in ranges)))
    else:
        if points is None or isinstance(points, bool) or points < 1:
            raise ConfigError(f"{sample} sampling needs --points P >= 1, got {points!r}")
        check_memory(points * _BYTES_PER_POINT, f"{points:,} {sample} points")
        gen = stream(seed, "design")
        engine = (
            qmc.LatinHypercube(d=len(ranges), rng=gen)
            if sample == "lhs"
            else qmc.Sobol(d=len(ranges), scramble=True, rng=gen)
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # Sobol balance for non-powers of 2
            u = engine.random(points)
        cols = [r.from_unit(u[:, j]) for j, r in enumerate(ranges)]
        rows = list(zip(*cols))
    table = pd.DataFrame(rows, columns=names)
    for r in ranges:
        if isinstance(r, IntegerRange):
            table[r.name] = table[r.name].astype(int)
    table.insert(0, "point", np.arange(len(table)))
    return table


#: memory per design point: its row in the design and in the result table (about 60 columns), rounded up
_BYTES_PER_POINT = 2000


def _grid_size(r) -> int:
    """Points of a range's grid, without building it."""
    if isinstance(r, CategoricalRange):
        return len(r.choices)
    if isinstance(r, IntegerRange) and r.n is None:
        return r.hi - r.lo + 1
    return r.n or 2


def checked_points(scenario, points) -> pd.DataFrame:
    """A design table, checked: numeric or choice columns named after ``scenario``'s parameters, every value
    inside its allowed range or among its choices, and a ``point`` column numbering the points (added if
    missing). What sweeps, sensitivity analyses and ``harmsim sweep --design`` evaluate.

    >>> import harmsim, pandas as pd
    >>> sc = harmsim.load_scenario("baseline")
    >>> checked_points(sc, pd.DataFrame({"diffusion.strength": [0.0, 1.0]}))["point"].tolist()
    [0, 1]
    >>> checked_points(sc, pd.DataFrame({"diffusion.strength": [0.0, 100.0]}))
    Traceback (most recent call last):
    ...
    harmsim.errors.ConfigError: design column 'diffusion.strength': 100.0 (row 1) is outside the allowed range ...
    """
    if not isinstance(points, pd.DataFrame) or not len(points):
        raise ConfigError("a design is a table with one row per point and a column per parameter")
    table = points.reset_index(drop=True).copy()
    names = [c for c in table.columns if c != "point"]
    if not names:
        raise ConfigError("a design needs at least one parameter column")
    for name in names:
        try:
            spec = parameter_spec(scenario, str(name))
        except ConfigError as exc:  # say where: a column of the user's table
            raise ConfigError(f"design column '{name}': {exc}") from None
        col = table[name]
        if col.isna().any():
            raise ConfigError(f"design column '{name}' has missing values")
        # True and False are numbers to pandas and equal to 1 and 0 in a set; to a design they are neither
        numbers = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
        if isinstance(spec, (Real, InstrumentMap)) and not numbers:
            # one real per point: a column of numbers (a number too large for a float arrives as text)
            bad = next((v for v in col if finite_real(v) is None), col.iloc[0])
            raise ConfigError(f"design column '{name}' must hold numbers; it holds {str(bad)[:40]!r}")
        if isinstance(spec, (Real, InstrumentMap)):
            v = col.to_numpy(dtype=float)
            bad = np.flatnonzero(~(np.isfinite(v) & (v >= spec.lo) & (v <= spec.hi)))
            if len(bad):
                raise ConfigError(
                    f"design column '{name}': {float(v[bad[0]])!r} (row {bad[0]}) is outside the allowed range "
                    f"[{spec.lo}, {spec.hi}]"
                )
        else:
            for _, value in dict.fromkeys((type(v), v) for v in col):  # distinct by type too: False is not 0
                spec.check(str(name), value.item() if hasattr(value, "item") else value, f"design column '{name}'", {})
    if "point" not in table:
        table.insert(0, "point", np.arange(len(table)))
    else:
        ids = pd.to_numeric(table["point"], errors="coerce")
        f = ids.astype(float)
        whole = ids.notna() & np.isfinite(f) & (f % 1 == 0) & (np.abs(f) < 2**53)
        if not whole.all():
            bad = table["point"][~whole].iloc[0]
            shown = repr(bad) if isinstance(bad, str) or bad is None else f"{float(bad):g}"
            raise ConfigError(f"design column 'point' must hold whole numbers, got {shown}")
        table["point"] = ids.astype(np.int64)
        if table["point"].duplicated().any():
            raise ConfigError("design column 'point' must number the points without repeats")
    check_memory(len(table) * _BYTES_PER_POINT, f"a design of {len(table):,} points")
    return table[["point", *names]]


def plain_values(values: dict) -> dict:
    """numpy scalars -> Python scalars (for validation and for pickling to any executor).

    >>> import numpy as np
    >>> plain_values({"a": np.float64(1.5), "b": np.int64(2), "c": "mean"})
    {'a': 1.5, 'b': 2, 'c': 'mean'}
    """
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in values.items()}

"""Typed parameters: declared once, validated on the way in, frozen after.

Every tunable number of the model is declared by its mechanism as a *spec*
(:class:`Real`, :class:`Integer`, :class:`Choice`, :class:`Instruments`,
:class:`InstrumentMap`) with a default, an allowed range and a one-line
meaning. The same specs validate scenario files, give sweeps and priors their
ranges, and document the model (``harmsim params``).

A validated set of values is a :class:`ParamSet`: immutable, hashable, and
read by attribute. Unknown keys and out-of-range values are refused with a
:class:`~harmsim.errors.ConfigError` that names the file, the key and what is
allowed.

>>> specs = {"strength": Real(1.0, -10, 10, "log-odds per unit")}
>>> p = ParamSet.build("diffusion", specs, {"strength": 2}, where="example.toml")
>>> p.strength
2.0
>>> ParamSet.build("diffusion", specs, {"strenght": 2}, where="example.toml")
Traceback (most recent call last):
...
harmsim.errors.ConfigError: example.toml: unknown key 'diffusion.strenght'; allowed: strength
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harmsim.errors import ConfigError

__all__ = ["Choice", "InstrumentMap", "Instruments", "Integer", "Organization", "ParamSet", "Real", "finite_real"]


def finite_real(value: Any) -> float | None:
    """``value`` as a float when it is a number (not a bool) that a float holds finitely, else None.

    TOML, JSON and CSV readers hand over integers of any size: one too large for a float is not a number here.

    >>> finite_real(2), finite_real(10**400), finite_real(float("nan")), finite_real(True), finite_real("1")
    (2.0, None, None, None, None)
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):  # numpy's numbers are Real too
        return None
    try:
        v = float(value)
    except OverflowError:
        return None
    return v if math.isfinite(v) else None


@dataclass(frozen=True)
class Real:
    """A real number in ``[lo, hi]``; ``expected`` is the sign the theory predicts for a coefficient (0: none).

    >>> Real(1.0, -10, 10).check("diffusion.strength", 2, "x.toml", {})
    2.0
    >>> Real(1.0, -10, 10).check("diffusion.strength", 11, "x.toml", {})
    Traceback (most recent call last):
    ...
    harmsim.errors.ConfigError: x.toml: 'diffusion.strength' = 11 is outside the allowed range [-10, 10]
    """

    default: float
    lo: float
    hi: float
    doc: str = ""
    expected: int = 0

    def check(self, key: str, value: Any, where: str, ctx: Mapping) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: '{key}' must be a number, got {value!r}")
        v = finite_real(value)
        if v is None or not self.lo <= v <= self.hi:
            raise ConfigError(f"{where}: '{key}' = {value!r} is outside the allowed range [{self.lo}, {self.hi}]")
        return v

    def describe(self) -> str:
        return f"real in [{self.lo}, {self.hi}]"


@dataclass(frozen=True)
class Integer:
    """An integer in ``[lo, hi]``.

    >>> Integer(1, 0, 5).check("agreements.lag", 2.0, "x.toml", {})  # a whole float is an integer
    2
    >>> Integer(1, 0, 5).check("agreements.lag", 7, "x.toml", {})
    Traceback (most recent call last):
    ...
    harmsim.errors.ConfigError: x.toml: 'agreements.lag' = 7 is outside the allowed range [0, 5]
    """

    default: int
    lo: int
    hi: int
    doc: str = ""

    def check(self, key: str, value: Any, where: str, ctx: Mapping) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise ConfigError(f"{where}: '{key}' must be an integer, got {value!r}")
        if not self.lo <= value <= self.hi:
            raise ConfigError(f"{where}: '{key}' = {value!r} is outside the allowed range [{self.lo}, {self.hi}]")
        return int(value)

    def describe(self) -> str:
        return f"integer in [{self.lo}, {self.hi}]"


@dataclass(frozen=True)
class Choice:
    """One of a fixed set of strings.

    >>> Choice("mean", ("mean", "max")).check("m.rule", "min", "x.toml", {})
    Traceback (most recent call last):
    ...
    harmsim.errors.ConfigError: x.toml: 'm.rule' = 'min' is not allowed; choices: mean, max
    """

    default: str
    choices: tuple[str, ...]
    doc: str = ""

    def check(self, key: str, value: Any, where: str, ctx: Mapping) -> str:
        if value not in self.choices:
            raise ConfigError(f"{where}: '{key}' = {value!r} is not allowed; choices: {', '.join(self.choices)}")
        return value

    def describe(self) -> str:
        return "one of " + ", ".join(self.choices)


@dataclass(frozen=True)
class Instruments:
    """A set of instrument ids of the record (``None`` as default means all).

    >>> Instruments(None).check("external.applies_to", ["untoc"], "x.toml", {"instruments": ("tip_law", "untoc")})
    ('untoc',)
    """

    default: tuple[str, ...] | None
    doc: str = ""

    def check(self, key: str, value: Any, where: str, ctx: Mapping) -> tuple[str, ...]:
        known = ctx["instruments"]
        if not isinstance(value, (list, tuple)) or not all(isinstance(x, str) for x in value):
            raise ConfigError(f"{where}: '{key}' must be a list of instrument ids, got {value!r}")
        for x in value:
            if x not in known:
                raise ConfigError(f"{where}: '{key}' names unknown instrument '{x}'; known: {', '.join(known)}")
        return tuple(dict.fromkeys(value))

    def describe(self) -> str:
        return "list of instrument ids"


@dataclass(frozen=True)
class Organization:
    """The id of one regional organization of the record; ``""`` (the default) means the record's one region,
    allowed only on a record without organizations.

    >>> Organization().check("region.organization", "EU", "x.toml", {"organizations": ("ASEAN",)})
    Traceback (most recent call last):
    ...
    harmsim.errors.ConfigError: x.toml: 'region.organization' names unknown organization 'EU'; allowed: ASEAN
    """

    default: str = ""
    doc: str = ""

    def check(self, key: str, value: Any, where: str, ctx: Mapping) -> str:
        known = tuple(ctx.get("organizations", ()))
        if not isinstance(value, str):
            raise ConfigError(f"{where}: '{key}' must be an organization id, got {value!r}")
        if value == "" and known:
            raise ConfigError(f"{where}: '{key}' must name one of the record's organizations: {', '.join(known)}")
        if value and value not in known:
            allowed = ", ".join(known) if known else '"" (the record has no organizations: its one region)'
            raise ConfigError(f"{where}: '{key}' names unknown organization '{value}'; allowed: {allowed}")
        return value

    def describe(self) -> str:
        return 'an organization id of the record ("": the one region of a record without organizations)'


@dataclass(frozen=True)
class InstrumentMap:
    """A table ``{instrument: real}``; instruments left out take ``fill``.

    >>> spec = InstrumentMap(0.0, -20, 20)
    >>> spec.check("hazard.offsets", {"untoc": 0.5}, "x.toml", {"instruments": ("tip_law", "untoc")})
    (('untoc', 0.5),)
    >>> spec.check("hazard.offsets", {"nope": 1}, "x.toml", {"instruments": ("tip_law", "untoc")})
    Traceback (most recent call last):
    ...
    harmsim.errors.ConfigError: x.toml: unknown key 'hazard.offsets.nope'; allowed: tip_law, untoc
    """

    fill: float
    lo: float
    hi: float
    doc: str = ""

    @property
    def default(self) -> dict:
        return {}

    def check(self, key: str, value: Any, where: str, ctx: Mapping) -> tuple[tuple[str, float], ...]:
        known = ctx["instruments"]
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: '{key}' must be a table of instrument = number, got {value!r}")
        out = {}
        for k, v in value.items():
            if k not in known:
                raise ConfigError(f"{where}: unknown key '{key}.{k}'; allowed: {', '.join(known)}")
            out[k] = Real(self.fill, self.lo, self.hi).check(f"{key}.{k}", v, where, ctx)
        return tuple(sorted(out.items()))

    def describe(self) -> str:
        return f"table instrument = real in [{self.lo}, {self.hi}]"


@dataclass(frozen=True)
class ParamSet:
    """Validated, immutable values of one parameter group (a mechanism's)."""

    group: str
    items: tuple[tuple[str, Any], ...]

    @classmethod
    def build(cls, group: str, specs: Mapping, values: Mapping, *, where: str, ctx: Mapping | None = None) -> ParamSet:
        """Validate ``values`` against ``specs``; missing keys take defaults."""
        ctx = ctx or {}
        unknown = [k for k in values if k not in specs]
        if unknown:
            raise ConfigError(f"{where}: unknown key '{group}.{unknown[0]}'; allowed: {', '.join(specs) or '(none)'}")
        out = {}
        for key, spec in specs.items():
            if key in values:
                out[key] = spec.check(f"{group}.{key}", values[key], where, ctx)
            elif isinstance(spec, InstrumentMap):
                out[key] = ()
            else:
                out[key] = tuple(spec.default) if isinstance(spec.default, list) else spec.default
        return cls(group, tuple(out.items()))

    def __getattr__(self, name: str) -> Any:
        for k, v in object.__getattribute__(self, "items"):
            if k == name:
                return v
        raise AttributeError(f"parameter group '{self.group}' has no parameter '{name}'")

    def as_dict(self) -> dict:
        return {k: (dict(v) if isinstance(v, tuple) and v and isinstance(v[0], tuple) else v) for k, v in self.items}


# Ranges: the typed parameter spaces that sweeps (and priors) read ------------------------


@dataclass(frozen=True)
class RealRange:
    """A real parameter varied over ``[lo, hi]``; ``n`` grid points (grid sampling)."""

    name: str
    lo: float
    hi: float
    n: int | None = None

    def grid(self) -> list[float]:
        import numpy as np

        return [float(x) for x in np.linspace(self.lo, self.hi, self.n or 2)]

    def from_unit(self, u):
        return self.lo + u * (self.hi - self.lo)


@dataclass(frozen=True)
class IntegerRange:
    """An integer parameter varied over ``lo..hi`` (inclusive)."""

    name: str
    lo: int
    hi: int
    n: int | None = None

    def grid(self) -> list[int]:
        import numpy as np

        if self.n is None:
            return list(range(self.lo, self.hi + 1))
        return sorted({round(float(x)) for x in np.linspace(self.lo, self.hi, self.n)})

    def from_unit(self, u):
        import numpy as np

        return np.minimum(self.lo + np.floor(u * (self.hi - self.lo + 1)), self.hi).astype(int)


@dataclass(frozen=True)
class CategoricalRange:
    """A parameter taking each of ``choices``."""

    name: str
    choices: tuple

    def grid(self) -> list:
        return list(self.choices)

    def from_unit(self, u):
        import numpy as np

        idx = np.minimum((u * len(self.choices)).astype(int), len(self.choices) - 1)
        return np.array(self.choices, dtype=object)[idx]

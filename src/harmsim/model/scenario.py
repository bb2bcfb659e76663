"""Scenarios: which mechanisms are on, with which parameters, over which window.

A scenario is a TOML file::

    name = "baseline"
    description = "one line shown by `harmsim scenarios`"
    record = "asean"            # packaged record name, or a folder relative to this file

    [window]                    # the simulated horizon; default: the record's observation window
    start = 1997
    end = 2015                  # may run past the observations (a forecast) if inputs cover it

    [inputs]                    # optional
    reference = [1997, 2015]    # years the standardizations are fixed on (default: the record's window)
    unseen = "not adopted"      # how the likelihood reads a cell in years the record does not know
    [inputs.extend]             # how inputs are extended past their data (harmsim.data.inputs)
    gdp_pc = "trend:5"

    [hazard]
    intercept = -3.5
    offsets = { untoc = 0.5 }   # per-instrument shifts

    [mechanisms.diffusion]      # a table present = mechanism on
    strength = 2.0
    [mechanisms.agreements]
    enabled = false             # or switched off explicitly

    [ranges]                    # optional: plausible ranges, what sensitivity analyses explore by default
    "diffusion.strength" = [-1.0, 3.0]

    [priors]                    # optional: densities fits and posterior draws add (harmsim.model.priors)
    "diffusion.strength" = { distribution = "normal", location = 0.0, scale = 2.0 }

A scenario may extend another and give only what differs::

    extends = "baseline"        # a shipped scenario's name, or a file relative to this one
    [mechanisms.diffusion]
    strength = 0.0              # every other key is the base's
    [mechanisms.agreements]
    enabled = false

Tables are merged key by key (an offsets table changes the instruments it
names); the name is the extending file's own, never the base's.

Every key is checked against the declared parameter specs
(:mod:`harmsim.model.params`); a bad file raises :class:`~harmsim.errors.ConfigError`
naming the file, the key and what is allowed. A :class:`Scenario` is frozen;
:meth:`Scenario.with_params` returns a validated copy with some values changed.

>>> import harmsim
>>> sc = harmsim.load_scenario("baseline")
>>> sc.name, sc.start, sc.end
('baseline', 1997, 2015)
>>> sc.with_params({"diffusion.strength": 0.0}).parameters()["diffusion.strength"]
0.0
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from harmsim import _repr
from harmsim._toml import read_toml
from harmsim.data.features import Transforms
from harmsim.data.inputs import Extension
from harmsim.data.record import Record, load_record
from harmsim.data.world import MAX_YEARS, World
from harmsim.errors import ConfigError, HarmsimError
from harmsim.model.dynamics import Dynamics
from harmsim.model.mechanisms import REGISTRY
from harmsim.model.params import Integer, ParamSet
from harmsim.model.priors import Prior, parse_priors
from harmsim.model.space import HAZARD_PARAMS, real_spec, split_name

__all__ = [
    "UNSEEN",
    "Scenario",
    "keyword_parameters",
    "list_scenarios",
    "load_scenario",
    "scenario_dir",
    "scenario_from_dict",
]

#: how the likelihood's terms read a cell in the years the record does not know (after a year it was last seen
#: not to have adopted, or never seen): "not adopted" (the default), or "adopted" at the first of those years in
#: which it could adopt, the other bound. Simulations draw those years either way (docs/model.md, "Cells the
#: record does not observe").
UNSEEN = ("not adopted", "adopted")

#: a scenario's name becomes a folder name (fits of a comparison): nothing that could leave that folder
_NAME = re.compile(r"[A-Za-z0-9_@+-][A-Za-z0-9_.@+-]{0,63}")
_TOP_KEYS = ("name", "description", "record", "window", "inputs", "hazard", "mechanisms", "fixed", "ranges", "priors")


@dataclass(frozen=True, eq=False)
class Scenario:
    """A validated, immutable scenario.

    Built by :func:`~harmsim.load_scenario` from a file or by
    :func:`scenario_from_dict`; every change returns a validated copy
    (``with_params``, ``with_record``, ``with_horizon``), so a scenario that
    exists is one whose every value is in its allowed range.

    >>> import harmsim
    >>> sc = harmsim.load_scenario("baseline")
    >>> sc
    Scenario(name='baseline', record='asean', window='1997-2015', mechanisms='push_pull, diffusion, ...', parameters=32)
    >>> sc.with_params({"diffusion.strength": 99})
    Traceback (most recent call last):
    ...
    harmsim.errors.ConfigError: scenario 'baseline': 'diffusion.strength' = 99 is outside the allowed range [-20.0, ...]
    """

    name: str
    description: str
    record: Record
    start: int
    end: int
    hazard: ParamSet
    mechanisms: tuple[tuple[str, ParamSet], ...]
    path: str | None = None
    record_ref: str = "asean"
    #: parameters that define the scenario and calibration holds at their values
    fixed: tuple[str, ...] = ()
    #: years the feature standardizations are fixed on (default: the record's observation window)
    reference: tuple[int, int] | None = None
    #: how inputs are extended past their data
    extension: Extension = field(default_factory=Extension)
    #: how the likelihood's terms read a cell in the years the record does not know (:data:`UNSEEN`)
    unseen: str = "not adopted"
    #: plausible ranges of real parameters, (name, lo, hi): what sensitivity analyses and sweeps explore
    #: by default (``[ranges]``); not part of the parameterization
    ranges: tuple[tuple[str, float, float], ...] = ()
    #: declared priors on real parameters (``[priors]``, :mod:`harmsim.model.priors`): densities on top of the
    #: flat prior over each allowed range, which fits, posterior draws and ABC add
    priors: tuple[Prior, ...] = ()
    #: transforms inherited from the scenario this one was derived from (counterfactuals, fits)
    inherited_transforms: Transforms | None = field(default=None, repr=False)
    #: a year after the record's end through which the time terms are known (a forecast from a fit that saw
    #: later years of other cells: :meth:`with_time_known_until`); not part of the scenario's file
    time_known_until: int | None = field(default=None, repr=False)
    _raw: Mapping = field(default_factory=dict, repr=False)

    def _facts(self) -> dict:
        return {
            "name": self.name,
            "record": self.record.name,
            "window": f"{self.start}-{self.end}",
            "mechanisms": ", ".join(self.enabled) or "none",
            "parameters": len(self.parameters()),
            **({"priors": ", ".join(p.name for p in self.priors)} if self.priors else {}),
        }

    def __repr__(self) -> str:
        return _repr.text("Scenario", self._facts())

    def _repr_html_(self) -> str:
        return _repr.html("Scenario", {**self._facts(), "description": self.description})

    @property
    def observed_until(self) -> int:
        """Last year of the observation window: the record's end, or the horizon's if earlier."""
        return min(self.end, self.record.end)

    @property
    def reference_window(self) -> tuple[int, int]:
        return self.reference or (self.record.start, self.record.end)

    @property
    def enabled(self) -> tuple[str, ...]:
        """Names of the mechanisms that are on."""
        return tuple(n for n, _ in self.mechanisms)

    def mechanism(self, name: str) -> ParamSet | None:
        """The parameters of mechanism ``name``, or None if it is off."""
        return dict(self.mechanisms).get(name)

    def parameters(self) -> dict[str, Any]:
        """All parameter values, flat: ``{"hazard.intercept": -3.5, "diffusion.strength": 2.0, ...}``."""
        out = {}
        for group, ps in (("hazard", self.hazard), *self.mechanisms):
            for k, v in ps.items:
                if k == "offsets":
                    for inst, x in v:
                        out[f"{group}.offsets.{inst}"] = x
                else:
                    out[f"{group}.{k}"] = v
        return out

    def to_dict(self) -> dict:
        """The scenario as a nested dict (the TOML structure, all defaults filled in)."""
        mech = {}
        for name, ps in self.mechanisms:
            mech[name] = {k: v for k, v in ps.as_dict().items() if v is not None}
        return {
            "name": self.name,
            "description": self.description,
            "record": self.record_ref,
            "window": {"start": self.start, "end": self.end},
            "inputs": {
                **({"reference": list(self.reference)} if self.reference else {}),
                **({"unseen": self.unseen} if self.unseen != UNSEEN[0] else {}),
                "extend": self.extension.as_dict(),
            },
            "hazard": {**self.hazard.as_dict(), "offsets": dict(self.hazard.offsets)},
            "mechanisms": mech,
            "fixed": list(self.fixed),
            **({"ranges": {n: [lo, hi] for n, lo, hi in self.ranges}} if self.ranges else {}),
            **({"priors": {p.name: p.as_dict() for p in self.priors}} if self.priors else {}),
        }

    @property
    def digest(self) -> str:
        """A short hash of the full parameterization (for provenance; the declared ranges are not in it)."""
        raw = {k: v for k, v in self.to_dict().items() if k != "ranges"}
        text = json.dumps(raw, sort_keys=True, default=list)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def model_digest(self, free) -> str:
        """A short hash of what a fit of the parameters ``free`` holds given: the mechanisms and every other
        parameter's value, and the window's start. A fit checks it before it is applied (an edited scenario
        of the same name is refused). The horizon's end and the record are not in it: forecasts extend the
        one, backtests cut the other."""
        free = set(free)
        fixed = {k: v for k, v in self.parameters().items() if k not in free}
        held = {"mechanisms": list(self.enabled), "fixed": fixed, "start": self.start}
        if self.priors:  # a fit under other priors is another fit (absent without priors: digests stay)
            held["priors"] = {p.name: p.as_dict() for p in self.priors}
        if self.unseen != UNSEEN[0]:  # and one that reads the unseen years otherwise
            held["unseen"] = self.unseen
        text = json.dumps(held, sort_keys=True, default=list)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def with_params(self, values: Mapping[str, Any]) -> Scenario:
        """A copy with flat-named parameters changed, validated like a file.

        Names are ``group.key`` as in :meth:`parameters`, e.g.
        ``"agreements.binding"`` or ``"hazard.offsets.untoc"``. A parameter
        of a mechanism that is off is refused. A map given for a map
        parameter (``{"hazard.offsets": {"untoc": 1.0}}``) changes the keys it
        names and keeps the others. ``"<mechanism>.enabled"`` switches a
        mechanism off or on, as ``enabled`` does in a scenario file (one
        switched on starts from its defaults, changed by the values given
        with it).

        >>> sc = load_scenario("baseline").with_params({"hazard.offsets": {"untoc": 1.0}})
        >>> dict(sc.hazard.offsets)["untoc"], dict(sc.hazard.offsets)["asean_mlat"]
        (1.0, 0.6)
        >>> "diffusion" in load_scenario("baseline").with_params({"diffusion.enabled": False}).enabled
        False
        """
        if not isinstance(values, Mapping):
            raise ConfigError(f"with_params takes a mapping of parameter names to values, got {type(values).__name__}")
        raw = json.loads(json.dumps(self.to_dict(), default=list))
        on = set(self.enabled)
        values = dict(values)
        for name in [n for n in values if isinstance(n, str) and n.endswith(".enabled") and n.count(".") == 1]:
            mech, switch = split_name(name)[0], values.pop(name)
            if mech not in REGISTRY:
                raise ConfigError(f"unknown mechanism in '{name}'; mechanisms: {', '.join(REGISTRY)}")
            if not isinstance(switch, (bool, np.bool_)):
                raise ConfigError(f"'{name}' must be true or false, got {switch!r}")
            raw["mechanisms"].setdefault(mech, {})["enabled"] = bool(switch)
            on.add(mech)  # its values may come with the switch, whichever way it goes
            if not switch:  # the ranges and priors of a mechanism switched off go with it
                for table in ("ranges", "priors"):
                    if table in raw:
                        raw[table] = {k: v for k, v in raw[table].items() if split_name(k)[0] != mech}
        for name, value in values.items():
            if not isinstance(name, str):
                raise ConfigError(f"parameter name {name!r} is not a string (names are 'group.key')")
            group, key, instrument = split_name(name)
            if group == "hazard":
                target = raw.setdefault("hazard", {})
            elif group in REGISTRY:
                if group not in on:
                    raise ConfigError(
                        f"parameter '{name}': mechanism '{group}' is off in scenario '{self.name}' "
                        f"(on: {', '.join(self.enabled) or 'none'})"
                    )
                target = raw["mechanisms"][group]
            else:
                raise ConfigError(f"unknown parameter '{name}'; groups: hazard, {', '.join(REGISTRY)}")
            if not key:
                raise ConfigError(f"unknown parameter '{name}': give group.key")
            last = key
            if instrument is not None:  # a map's entry (hazard.offsets.K)
                target = target.setdefault(key, {})
                if not isinstance(target, dict):
                    raise ConfigError(f"unknown parameter '{name}'")
                last = instrument
            if isinstance(value, Mapping) and isinstance(target.get(last), dict):
                value = {**target[last], **value}  # a map (the offsets) changes where given, keeps the rest
            target[last] = value
        return self._rebuilt(raw)

    def with_priors(self, priors: Mapping[str, Mapping[str, Any] | None]) -> Scenario:
        """A copy with declared priors added, replaced or (given None) removed, validated like a file's
        ``[priors]`` (:mod:`harmsim.model.priors`).

        >>> sc = load_scenario("heterogeneity").with_priors({"frailty.sd": {"distribution": "normal", "scale": 1}})
        >>> [p.describe() for p in sc.priors], sc.with_priors({"frailty.sd": None}).priors
        (['normal(0, 1)'], ())
        """
        if not isinstance(priors, Mapping):
            raise ConfigError(f"with_priors takes a mapping of parameter names to priors, got {type(priors).__name__}")
        raw = json.loads(json.dumps(self.to_dict(), default=list))
        table = {**raw.get("priors", {}), **priors}
        raw["priors"] = {name: p for name, p in table.items() if p is not None}
        return self._rebuilt(raw)

    def _rebuilt(self, raw: dict) -> Scenario:
        """The scenario ``raw`` (this one's :meth:`to_dict`, changed) validated anew, on this one's record,
        extension rules, transforms and known time terms."""
        raw["inputs"].pop("extend", None)
        sc = scenario_from_dict(
            raw,
            where=f"scenario '{self.name}'",
            base=self._base(),
            path=self.path,
            record=self.record,
            extension=self.extension,
            transforms=self.transforms,
        )
        if self.time_known_until is not None:
            sc = sc.with_time_known_until(self.time_known_until)
        return sc

    def with_horizon(self, end: int, start: int | None = None) -> Scenario:
        """The same scenario over another horizon; transforms stay those of its reference window.

        >>> import harmsim
        >>> sc = harmsim.load_scenario("baseline").with_horizon(2010)
        >>> sc.start, sc.end, sc.observed_until
        (1997, 2010, 2010)
        """
        start = self.start if start is None else start
        sc = replace(self, start=start, end=end, inherited_transforms=self.transforms)
        sc._validate_inputs(f"scenario '{self.name}' over {start}-{end}")
        return sc

    def with_extension(self, rules: Mapping[str, Any]) -> Scenario:
        """The same scenario with (more) extension rules for its inputs, e.g. ``{"gdp_pc": "trend:5"}``."""
        ext = self.extension.merged(Extension.parse(rules, where=f"scenario '{self.name}'", base=self._base()))
        sc = replace(self, extension=ext, inherited_transforms=self.transforms)
        sc._validate_inputs(f"scenario '{self.name}'")
        return sc

    def with_record(self, record: Record) -> Scenario:
        """The same scenario on changed inputs (a counterfactual), keeping this scenario's transforms."""
        sc = replace(self, record=record, inherited_transforms=self.transforms)
        sc._validate_inputs(f"scenario '{self.name}' on record '{record.name}'")
        return sc

    def with_reference(self, start: int, end: int) -> Scenario:
        """The same scenario with its feature standardizations fixed anew on ``start``-``end`` of its own record.

        Why: a backtest from what was known at an origin must not standardize
        GDP or migration with their means over years after it; this fixes them
        on the years up to the origin (:func:`~harmsim.analysis.backtest.backtest`,
        ``inputs="origin"``). Unlike :meth:`with_record`, the transforms are not
        inherited, so a fit of the result refers to the new window.

        >>> import harmsim
        >>> sc = harmsim.load_scenario("baseline").with_reference(1997, 2005)
        >>> sc.transforms.window
        (1997, 2005)
        """
        start, end = int(start), int(end)
        if not self.record.start <= start <= end:
            raise ConfigError(
                f"scenario '{self.name}': a reference window must be years from the record's start "
                f"({self.record.start}) with start <= end, got {start}-{end}"
            )
        sc = replace(self, reference=(start, end), inherited_transforms=None)
        sc._validate_inputs(f"scenario '{self.name}' with reference {start}-{end}")
        return sc

    def with_time_known_until(self, year: int) -> Scenario:
        """The same scenario with its time terms known through ``year``, a year after its record's end.

        Why: a held-out instrument's forecast starts before the instrument
        opened, so its record ends there; but its fit saw every other
        instrument to the end of the window and estimated the trend's period
        part (and a region's slope) over it. Holding them at the forecast's
        origin would throw that estimate away, while the logit baseline keeps
        its fitted period effect. The world's :attr:`~harmsim.data.world.World.last_observed`
        becomes ``year``: the time terms run as fitted to it and are held (or
        drift) past it.

        >>> import harmsim
        >>> from harmsim.data.observations import observed_until
        >>> sc = harmsim.load_scenario("baseline_trend")
        >>> cut = sc.with_record(observed_until(sc.record, 2004))
        >>> cut.world.last_observed, cut.with_time_known_until(2015).world.last_observed
        (2004, 2015)
        """
        year = int(year)
        if year < self.record.end:
            raise ConfigError(
                f"scenario '{self.name}': time terms known until {year}, before its record's end "
                f"({self.record.end}); give a year from {self.record.end} on"
            )
        return replace(self, time_known_until=year, inherited_transforms=self.transforms)

    def _validate_inputs(self, where: str) -> None:
        """Compile the world and every mechanism's static term once, so missing inputs are said now."""
        try:
            for mname, ps in self.mechanisms:
                REGISTRY[mname].check_inputs(self.world, ps)
            self.dynamics.static_logit  # noqa: B018 (computes every input-dependent term)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None

    def with_checked_values(self, values: Mapping[str, float]) -> Scenario:
        """Like :meth:`with_params`, for numeric values already checked against the parameter space.

        The optimizers' inner loop, ABC and the parameter axis call this thousands of times; it skips the
        file-level validation that :meth:`with_params` repeats each time. Names must be the scenario's
        (:func:`~harmsim.model.space.parameter_spec`) and values inside their ranges
        (:func:`~harmsim.model.space.bounds_of`, :func:`~harmsim.model.space.checked_points`): nothing is checked here.
        An integer parameter gets an int.

        >>> sc = load_scenario("baseline")
        >>> sc.with_checked_values({"diffusion.strength": 2.0, "agreements.lag": 2.0}).parameters()["agreements.lag"]
        2
        """
        groups = {"hazard": dict(self.hazard.items), **{n: dict(p.items) for n, p in self.mechanisms}}
        for name, value in values.items():
            group, key, instrument = split_name(name)
            g = groups[group]
            if instrument is not None:  # hazard.offsets.K
                g[key] = tuple(sorted({**dict(g[key]), instrument: float(value)}.items()))
            else:
                whole = group != "hazard" and isinstance(REGISTRY[group].params.get(key), Integer)
                g[key] = int(value) if whole else float(value)
        return replace(
            self,
            inherited_transforms=self.transforms,
            hazard=ParamSet("hazard", tuple(groups["hazard"].items())),
            mechanisms=tuple((n, ParamSet(n, tuple(groups[n].items()))) for n, _ in self.mechanisms),
        )

    def _base(self) -> Path | None:
        return Path(self.path).parent if self.path else None

    def __getstate__(self):
        # Cached arrays are rebuilt where the scenario is unpickled (e.g. in a worker).
        return {k: v for k, v in self.__dict__.items() if k not in ("world", "dynamics")}

    @cached_property
    def world(self) -> World:
        """The record's inputs compiled over this scenario's horizon."""
        return World.build(self.record, self.start, self.end, self.extension, self.time_known_until)

    @cached_property
    def transforms(self) -> Transforms:
        """Feature standardizations fixed on the reference window (shared by derived scenarios)."""
        if self.inherited_transforms is not None:
            return self.inherited_transforms
        lo, hi = self.reference_window
        return Transforms(World.build(self.record, lo, hi, self.extension))

    @cached_property
    def dynamics(self) -> Dynamics:
        """The mechanisms bound to the world (the model's yearly step)."""
        return Dynamics(self.world, self, self.transforms)


def scenario_dir() -> Path:
    """Folder of the scenarios shipped with harmsim.

    >>> (scenario_dir() / "baseline.toml").is_file()
    True
    """
    packaged = resources.files("harmsim") / "scenarios"
    if packaged.is_dir():
        return Path(str(packaged))
    # Source checkout or editable install: the repository's scenarios/ folder.
    return Path(__file__).resolve().parents[3] / "scenarios"


def list_scenarios() -> list[tuple[str, str]]:
    """(name, description) of every shipped scenario.

    >>> names = [name for name, _ in list_scenarios()]
    >>> "baseline" in names and "world_baseline" in names
    True
    """
    out = []
    for p in sorted(scenario_dir().glob("*.toml")):
        try:
            meta = tomllib.loads(p.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError:
            continue
        out.append((p.stem, str(meta.get("description", "")).strip()))
    return out


def load_scenario(path_or_name: str | Path) -> Scenario:
    """Load and validate a scenario file, or a shipped scenario by name.

    >>> load_scenario("no_asean").enabled
    ('push_pull', 'diffusion', 'external', 'capacity', 'prerequisites')
    """
    if not isinstance(path_or_name, (str, Path)) or not str(path_or_name) or "\x00" in str(path_or_name):
        raise ConfigError(f"{path_or_name!r}: not a scenario file or the name of a shipped scenario")
    p = Path(path_or_name)
    if not p.exists() and p.suffix == "" and (scenario_dir() / f"{p}.toml").is_file():
        p = scenario_dir() / f"{p}.toml"
    if not p.is_file():
        names = ", ".join(n for n, _ in list_scenarios())
        raise ConfigError(f"{path_or_name}: no such scenario file (shipped scenarios: {names})")
    return scenario_from_dict(_extended(p, ()), where=str(p), base=p.parent, path=str(p))


def _extended(path: Path, chain: tuple[Path, ...]) -> dict:
    """A scenario file's raw tables with its ``extends`` chain resolved: the base's, overridden key by key."""
    raw = read_toml(path, ConfigError)
    parent = raw.pop("extends", None)
    if parent is None:
        return raw
    if not isinstance(parent, str) or not parent:
        raise ConfigError(f"{path}: 'extends' must be a shipped scenario's name or a scenario file, got {parent!r}")
    here = path.resolve()
    if here in chain:
        cycle = " -> ".join(str(p) for p in (*chain, here))
        raise ConfigError(f"{path}: 'extends' goes round in a circle: {cycle}")
    target = (path.parent / parent) if (path.parent / parent).is_file() else Path(parent)
    if not target.is_file() and target.suffix == "" and (scenario_dir() / f"{parent}.toml").is_file():
        target = scenario_dir() / f"{parent}.toml"
    if not target.is_file():
        names = ", ".join(n for n, _ in list_scenarios())
        raise ConfigError(f"{path}: extends '{parent}', which is no scenario file nor shipped scenario ({names})")
    base = _extended(target, (*chain, here))
    base.pop("name", None)  # a scenario's name is its own
    record = base.get("record")
    if isinstance(record, str) and (target.parent / record).exists():
        base["record"] = str((target.parent / record).resolve())  # relative to the base's folder, not this one's
    if "description" not in raw and isinstance(base.get("description"), str):
        raw["description"] = f"extends {target.stem}: {base['description']}"
    out = _merged(base, raw)
    # a prior this file declares replaces the base's whole (a normal has no df to inherit from a t)
    if isinstance(out.get("priors"), Mapping) and isinstance(raw.get("priors"), Mapping):
        out["priors"] = {**out["priors"], **raw["priors"]}
    # the base's ranges and priors of a mechanism this file switches off go with it (as with_params drops them)
    mechanisms = out.get("mechanisms")
    for key in ("ranges", "priors"):
        table, own = out.get(key), raw.get(key, {})
        if isinstance(mechanisms, Mapping) and isinstance(table, Mapping) and isinstance(own, Mapping):
            off = [m for m, t in mechanisms.items() if isinstance(t, Mapping) and t.get("enabled") is False]
            out[key] = {k: v for k, v in table.items() if k in own or split_name(str(k))[0] not in off}
    return out


def _merged(base: Mapping, over: Mapping) -> dict:
    """``base`` with ``over``'s keys; tables merged key by key, anything else replaced."""
    out = dict(base)
    for k, v in over.items():
        out[k] = _merged(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) else v
    return out


def _safe_stem(path) -> str:
    """A file's stem as a scenario name: characters a folder name should not carry become '_'."""
    stem = re.sub(r"[^A-Za-z0-9_.@+-]", "_", Path(path).stem)[:64].lstrip(".")
    return stem or "scenario"


def scenario_from_dict(
    raw: Mapping,
    *,
    where: str = "scenario",
    base: Path | None = None,
    path: str | None = None,
    record: Record | None = None,
    extension: Extension | None = None,
    transforms: Transforms | None = None,
) -> Scenario:
    """Validate a scenario given as a nested dict (the TOML structure).

    ``record`` binds the scenario to an in-memory record (e.g. a synthetic
    region) instead of the one ``raw["record"]`` names.

    >>> scenario_from_dict({"name": "tiny", "mechanisms": {"diffusion": {"strength": 1.0}}})
    Scenario(name='tiny', record='asean', window='1997-2015', mechanisms='diffusion', parameters=8)
    >>> scenario_from_dict({"name": "tiny", "mechanisms": {"diffusion": {"strenght": 1.0}}})
    Traceback (most recent call last):
    ...
    harmsim.errors.ConfigError: scenario: unknown key 'diffusion.strenght'; allowed: strength, weight_all, ...
    """
    unknown = [k for k in raw if k not in _TOP_KEYS]
    if unknown:
        raise ConfigError(f"{where}: unknown key '{unknown[0]}'; allowed: {', '.join(_TOP_KEYS)}")
    name = raw.get("name", _safe_stem(path) if path else "scenario")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigError(
            f"{where}: 'name' must be 1-64 letters, digits or any of _ - . @ +, not starting with '.' (it names "
            f"output folders), got {name!r}"
        )
    desc = raw.get("description", "")
    if not isinstance(desc, str):
        raise ConfigError(f"{where}: 'description' must be a string")
    ref = raw.get("record", "asean") if record is None else record.name
    if not isinstance(ref, str):
        raise ConfigError(f"{where}: 'record' must be a record name or folder")
    if record is None:
        record = _record(ref, base, where)
    window = _table(raw, "window", where)
    bad = [k for k in window if k not in ("start", "end")]
    if bad:
        raise ConfigError(f"{where}: unknown key 'window.{bad[0]}'; allowed: start, end")
    start, end = window.get("start", record.start), window.get("end", record.end)
    for key, v in (("start", start), ("end", end)):
        if isinstance(v, bool) or not isinstance(v, int):
            raise ConfigError(f"{where}: 'window.{key}' must be an integer year, got {v!r}")
    if not record.start <= start <= end <= start + MAX_YEARS - 1:
        raise ConfigError(
            f"{where}: window {start}-{end} must start inside the record '{record.name}' "
            f"({record.start}-{record.end}), with start <= end, and span at most {MAX_YEARS} years"
        )
    reference, unseen, parsed_ext = _inputs(_table(raw, "inputs", where), record, where, base)
    extension = parsed_ext if extension is None else extension
    ctx = {"instruments": record.instrument_ids, "organizations": record.organization_ids}
    hazard = ParamSet.build("hazard", HAZARD_PARAMS, _table(raw, "hazard", where), where=where, ctx=ctx)
    mechs = []
    table = _table(raw, "mechanisms", where)
    for mname, values in table.items():
        if mname not in REGISTRY:
            raise ConfigError(f"{where}: unknown mechanism '{mname}'; allowed: {', '.join(REGISTRY)}")
        if not isinstance(values, Mapping):
            raise ConfigError(f"{where}: 'mechanisms.{mname}' must be a table")
        values = dict(values)
        enabled = values.pop("enabled", True)
        if not isinstance(enabled, bool):
            raise ConfigError(f"{where}: 'mechanisms.{mname}.enabled' must be true or false, got {enabled!r}")
        ps = ParamSet.build(mname, REGISTRY[mname].params, values, where=where, ctx=ctx)
        if enabled:
            mechs.append((mname, ps))
    order = list(REGISTRY)
    mechs.sort(key=lambda x: order.index(x[0]))
    fixed = raw.get("fixed", [])
    if not isinstance(fixed, (list, tuple)) or not all(isinstance(x, str) for x in fixed):
        raise ConfigError(f"{where}: 'fixed' must be a list of parameter names")
    sc = Scenario(
        name=name,
        description=desc.strip(),
        record=record,
        start=start,
        end=end,
        hazard=hazard,
        mechanisms=tuple(mechs),
        path=path,
        record_ref=ref,
        fixed=tuple(fixed),
        reference=reference,
        extension=extension,
        unseen=unseen,
        inherited_transforms=transforms,
        _raw=dict(raw),
    )
    known = sc.parameters()
    for name in sc.fixed:
        if name not in known:
            raise ConfigError(f"{where}: 'fixed' names unknown parameter '{name}'; valid: {', '.join(known)}")
    if "ranges" in raw:
        sc = replace(sc, ranges=_ranges(sc, _table(raw, "ranges", where), where))
    if "priors" in raw:
        sc = replace(sc, priors=parse_priors(sc, _table(raw, "priors", where), where))
    sc._validate_inputs(where)
    return sc


def _ranges(sc: Scenario, table: dict, where: str) -> tuple[tuple[str, float, float], ...]:
    """Validate ``[ranges]``: ``"group.name" = [lo, hi]`` for real parameters, inside their allowed range."""
    out = []
    for name, value in table.items():
        spec = real_spec(sc, name, "ranges", "range", where)
        ok = (
            isinstance(value, (list, tuple))
            and len(value) == 2
            and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and (isinstance(v, int) or math.isfinite(v))
                for v in value
            )  # an int of any size is finite (math.isfinite would overflow on a huge one)
        )
        if not ok or not spec.lo <= value[0] < value[1] <= spec.hi:
            raise ConfigError(
                f"{where}: 'ranges.\"{name}\"' must be [lo, hi] with lo < hi inside the allowed range "
                f"[{spec.lo}, {spec.hi}], got {value!r}"
            )
        out.append((name, float(value[0]), float(value[1])))
    return tuple(out)


def _inputs(table: dict, record: Record, where: str, base: Path | None):
    """Validate ``[inputs]``: (reference window or None, the reading of unseen years, extension rules)."""
    bad = [k for k in table if k not in ("reference", "unseen", "extend")]
    if bad:
        raise ConfigError(f"{where}: unknown key 'inputs.{bad[0]}'; allowed: reference, unseen, extend")
    unseen = table.get("unseen", UNSEEN[0])
    if unseen not in UNSEEN:
        raise ConfigError(
            f"{where}: 'inputs.unseen' must be one of {', '.join(repr(u) for u in UNSEEN)}, got {unseen!r}"
        )
    ref = table.get("reference")
    if ref is not None:
        if (
            not isinstance(ref, (list, tuple))
            or len(ref) != 2
            or not all(isinstance(y, int) and not isinstance(y, bool) for y in ref)
            or not record.start <= ref[0] <= ref[1] <= ref[0] + MAX_YEARS - 1
        ):
            raise ConfigError(
                f"{where}: 'inputs.reference' must be [start, end], two years with start <= end from the "
                f"record's start ({record.start}) on, got {ref!r}"
            )
        ref = (int(ref[0]), int(ref[1]))
    return ref, unseen, Extension.parse(table.get("extend", {}), where=where, base=base)


def _table(raw: Mapping, key: str, where: str) -> dict:
    v = raw.get(key, {})
    if not isinstance(v, Mapping):
        raise ConfigError(f"{where}: '{key}' must be a table")
    return dict(v)


def _record(ref: str, base: Path | None, where: str) -> Record:
    try:
        if base is not None and (base / ref).exists():
            return load_record(base / ref)
        return load_record(ref)
    except HarmsimError as exc:
        raise ConfigError(f"{where}: record '{ref}': {exc}") from None


def keyword_parameters(scenario: Scenario, params: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters given as Python keywords (dots as underscores) -> the same values under their dotted names.

    Every parameter of ``scenario`` has a keyword, its dotted name with the
    dots replaced by underscores (``diffusion_strength``,
    ``hazard_offsets_untoc``): what a Mesa model's constructor and
    ``mesa.batch_run`` pass. ``<mechanism>_enabled`` switches a mechanism
    (``diffusion_enabled=False``). A keyword that two parameters share that
    way is refused, naming both.

    >>> import harmsim
    >>> keyword_parameters(harmsim.load_scenario("baseline"), {"diffusion_strength": 0.5})
    {'diffusion.strength': 0.5}
    """
    dotted = [
        *scenario.parameters(),
        *(f"hazard.offsets.{k}" for k in scenario.record.instrument_ids),
        *(f"{m}.enabled" for m in REGISTRY),  # switches, as in a scenario file
    ]
    names: dict[str, list[str]] = {}
    for name in dict.fromkeys(dotted):
        names.setdefault(name.replace(".", "_"), []).append(name)
    out = {}
    for key, value in params.items():
        match = names.get(key)
        if match is None:
            valid = ", ".join(k for k, v in names.items() if len(v) == 1)
            raise ConfigError(f"unknown parameter keyword '{key}' for scenario '{scenario.name}'; valid: {valid}")
        if len(match) > 1:
            raise ConfigError(
                f"parameter keyword '{key}' is ambiguous ({' or '.join(match)}): give the dotted name to "
                "Scenario.with_params instead"
            )
        out[match[0]] = value
    return out

"""Interventions: changes to a scenario's inputs and agreement schedule, read from a change file.

A counterfactual asks what the calibrated model says would have happened
had the inputs been different. Interventions never edit the engine: each is
a change to the record's input tables (the agreement schedule, covariates,
TIP tiers, membership) or to a parameter, and the changed record is
validated like any other. A change file (TOML)::

    name = "convention_2004"
    description = "The binding Convention signed with the 2004 Declaration"

    [[agreements]]               # one table per change, applied in order
    move = "actip_2015"          # add / remove / move / set
    year = 2004

    [[agreements]]
    set = "decl_tip_2004"
    binding = true               # make it binding
    covers = ["tip_law", "untoc"]  # change what it covers

    [[agreements]]
    add = "regional_treaty_2008"
    year = 2008
    binding = true
    covers = ["tip_law"]
    builds_on = "decl_tip_2004"  # trigger defaults to "consensus" when it builds on one, else "anchor"

    [[agreements]]
    remove = "decl_tip_2004"     # what built on it builds on its parent; what it opened opens by its date

    [[covariates]]
    name = "gdp_pc"
    states = ["THA"]             # default: every state
    years = [2000, 2015]         # default: every year
    multiply = 1.5               # or add = ..., or set = ...

    [[tiers]]
    set = ""                     # "" = no report: no US TIP monitoring
    years = [2001, 2030]

    [[membership]]
    state = "TLS"
    joined = 2030                # and/or left = YEAR

    [parameters]                 # parameter values that hold in the changed world
    "diffusion.strength" = 0.0

Moving an agreement also moves the opening of the instruments it opens (the
Convention opens its own ratification). A change file that changes nothing
is allowed: its counterfactual differs from the baseline by exactly zero.

>>> import harmsim
>>> ch = Change.from_dict({"agreements": [{"move": "actip_2015", "year": 2004}]}, where="example")
>>> rec = ch.apply(harmsim.observed_record())
>>> dict(zip(rec.agreements["agreement"], rec.agreements["year"]))["actip_2015"]
2004
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from harmsim._toml import read_toml
from harmsim.data.record import TIERS, Record, _to_file, record_from_tables
from harmsim.errors import ConfigError, HarmsimError
from harmsim.model.params import finite_real

__all__ = ["Change", "load_change"]

_TOP = ("name", "description", "agreements", "covariates", "tiers", "membership", "parameters")
_AG_ACTIONS = ("add", "remove", "move", "set")
_AG_KEYS = {
    "add": ("add", "year", "binding", "covers", "trigger", "builds_on", "name"),
    "remove": ("remove",),
    "move": ("move", "year"),
    "set": ("set", "binding", "covers", "year"),
}


@dataclass(frozen=True)
class Change:
    """A validated set of interventions (see the module docstring)."""

    name: str = "change"
    description: str = ""
    agreements: tuple[Mapping, ...] = ()
    covariates: tuple[Mapping, ...] = ()
    tiers: tuple[Mapping, ...] = ()
    membership: tuple[Mapping, ...] = ()
    parameters: Mapping = field(default_factory=dict)
    where: str = "change"

    @classmethod
    def from_dict(cls, raw: Mapping, *, where: str = "change") -> Change:
        """Validate the structure of a change file given as a dict (values are checked against a record in apply)."""
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{where}: a change file is a table")
        unknown = [k for k in raw if k not in _TOP]
        if unknown:
            raise ConfigError(f"{where}: unknown key '{unknown[0]}'; allowed: {', '.join(_TOP)}")
        name = raw.get("name", "change")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{where}: 'name' must be a non-empty string")
        desc = raw.get("description", "")
        if not isinstance(desc, str):
            raise ConfigError(f"{where}: 'description' must be a string")
        lists = {}
        for key in ("agreements", "covariates", "tiers", "membership"):
            v = raw.get(key, [])
            if not isinstance(v, list) or not all(isinstance(x, Mapping) for x in v):
                raise ConfigError(f"{where}: '{key}' must be a list of tables ([[{key}]] in TOML)")
            lists[key] = tuple(dict(x) for x in v)
        for j, a in enumerate(lists["agreements"]):
            acts = [k for k in _AG_ACTIONS if k in a]
            if len(acts) != 1:
                raise ConfigError(
                    f"{where}: agreements[{j}] needs exactly one of {', '.join(_AG_ACTIONS)} (the agreement id)"
                )
            bad = [k for k in a if k not in _AG_KEYS[acts[0]]]
            if bad:
                raise ConfigError(
                    f"{where}: agreements[{j}] ({acts[0]}): unknown key '{bad[0]}'; allowed: "
                    + ", ".join(_AG_KEYS[acts[0]])
                )
        params = raw.get("parameters", {})
        if not isinstance(params, Mapping):
            raise ConfigError(f"{where}: 'parameters' must be a table of \"group.key\" = value")
        return cls(name, desc, lists["agreements"], lists["covariates"], lists["tiers"], lists["membership"],
                   dict(params), where)  # fmt: skip

    @property
    def empty(self) -> bool:
        return not (self.agreements or self.covariates or self.tiers or self.membership or self.parameters)

    @property
    def touches_bindingness(self) -> bool:
        """True when the change makes an agreement binding or adds a binding one."""
        return any(a.get("binding") is True for a in self.agreements if "set" in a or "add" in a)

    def apply(self, record: Record) -> Record:
        """``record`` with these interventions applied to its inputs, validated like a record file."""
        tables = {name: _to_file(name, t, record) for name, t in record.tables().items()}
        ag = tables.get("agreements", pd.DataFrame(columns=["agreement", "year", "binding", "covers"])).astype(str)
        inst = tables["instruments"].astype(object)
        for j, a in enumerate(self.agreements):
            ag, inst = _agreement(ag, inst, a, f"{self.where}: agreements[{j}]", record)
        tables["agreements"], tables["instruments"] = ag, inst
        for j, c in enumerate(self.covariates):
            tables["covariates"] = _covariate(tables.get("covariates"), c, f"{self.where}: covariates[{j}]", record)
        for j, c in enumerate(self.tiers):
            tables["tiers"] = _tiers(tables.get("tiers"), c, f"{self.where}: tiers[{j}]", record)
        for j, m in enumerate(self.membership):
            tables["states"] = _membership(tables["states"], m, f"{self.where}: membership[{j}]", record)
        if self.empty:
            return record
        try:
            return record_from_tables(
                f"{record.name}+{self.name}",
                record.start,
                record.end,
                tables,
                title=f"{record.title} (changed: {self.name})",
                sources=record.sources,
                description=record.description,
                status_items=record.status_items,
            )
        except HarmsimError as exc:
            raise ConfigError(f"{self.where}: the changed record is not valid: {exc}") from None


def load_change(path: str | Path) -> Change:
    r"""Read and validate a change file (TOML).

    Its keys and the form of its values are checked here, with the file's
    name in every message; the names it refers to (agreements, states,
    years) are checked against a record when it is applied.

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "no_2004.toml"
    >>> _ = path.write_text('name = "no_2004"\n[[agreements]]\nremove = "decl_tip_2004"\n')
    >>> change = load_change(path)
    >>> change.name, len(change.agreements)
    ('no_2004', 1)
    >>> _ = path.write_text('name = "no_2004"\n[[agreement]]\nremove = "decl_tip_2004"\n')
    >>> load_change(path)
    Traceback (most recent call last):
    ...
    harmsim.errors.ConfigError: ...no_2004.toml: unknown key 'agreement'; allowed: name, description, agreements, ...
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{path}: no such change file")
    return Change.from_dict(read_toml(p), where=str(p))


# Each intervention --------------------------------------------------------------------------------
def _year(v: Any, where: str, key: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not 1800 <= v <= 2100:
        raise ConfigError(f"{where}: '{key}' must be a year from 1800 to 2100, got {v!r}")
    return int(v)


def _ids(v: Any, known, where: str, key: str, what: str) -> list[str]:
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ConfigError(f"{where}: '{key}' must be a list of {what} ids, got {v!r}")
    for x in v:
        if x not in known:
            raise ConfigError(f"{where}: '{key}' names unknown {what} '{x}'; known: {', '.join(known)}")
    return list(v)


def _agreement(ag: pd.DataFrame, inst: pd.DataFrame, a: Mapping, where: str, record: Record):
    ag = ag.copy()
    inst = inst.copy()
    ids = list(ag["agreement"])
    action = next(k for k in _AG_ACTIONS if k in a)
    target = a[action]
    if not isinstance(target, str) or not target:
        raise ConfigError(f"{where}: '{action}' must be an agreement id")
    if action != "add" and target not in ids:
        raise ConfigError(f"{where}: unknown agreement '{target}'; known: {', '.join(ids)}")
    if action == "add" and target in ids:
        raise ConfigError(f"{where}: agreement '{target}' exists already (use set or move)")
    row = ids.index(target) if action != "add" else None
    if action == "remove":
        parent = ag.at[row, "builds_on"] if "builds_on" in ag else ""
        if "builds_on" in ag:
            children = ag["builds_on"] == target
            ag.loc[children, "builds_on"] = parent
            if not parent:
                ag.loc[children, "trigger"] = "anchor"
        inst.loc[inst["opened_by"] == target, "opened_by"] = ""
        return ag.drop(index=row).reset_index(drop=True), inst
    if action == "move" and "year" not in a:
        raise ConfigError(f"{where}: 'year' must be a year from 1800 to 2100 (where to move '{target}' to)")
    if action in ("move", "set") and "year" in a:
        year = _year(a["year"], where, "year")
        ag.at[row, "year"] = str(year)
        if "date" in ag:
            ag.at[row, "date"] = str(year)
        opened = inst["opened_by"] == target
        inst.loc[opened, "opens"] = year
    if action == "set" or action == "add":
        if action == "add":
            year = _year(a.get("year"), where, "year")
            parent = a.get("builds_on", "")
            if not isinstance(parent, str) or (parent and parent not in ids):
                raise ConfigError(f"{where}: 'builds_on' names unknown agreement {parent!r}; known: {', '.join(ids)}")
            trigger = a.get("trigger", "consensus" if parent else "anchor")
            new = {c: "" for c in ag.columns}
            new.update(agreement=target, year=str(year), binding="no", covers="", trigger=trigger, builds_on=parent)
            if "name" in ag:
                new["name"] = str(a.get("name", target))
            if "source" in ag:
                new["source"] = "counterfactual (a change file)"
            ag = pd.concat([ag, pd.DataFrame([new])], ignore_index=True)
            row = len(ag) - 1
        if "binding" in a:
            if not isinstance(a["binding"], bool):
                raise ConfigError(f"{where}: 'binding' must be true or false, got {a['binding']!r}")
            ag.at[row, "binding"] = "yes" if a["binding"] else "no"
        if "covers" in a:
            ag.at[row, "covers"] = " ".join(_ids(a["covers"], record.instrument_ids, where, "covers", "instrument"))
    return ag, inst


def _select(table: pd.DataFrame, c: Mapping, where: str, record: Record, allowed: tuple[str, ...]):
    bad = [k for k in c if k not in allowed]
    if bad:
        raise ConfigError(f"{where}: unknown key '{bad[0]}'; allowed: {', '.join(allowed)}")
    states = _ids(c["states"], record.state_ids, where, "states", "state") if "states" in c else list(record.state_ids)
    lo, hi = 1800, 2100
    if "years" in c:
        ys = c["years"]
        if not isinstance(ys, list) or len(ys) != 2:
            raise ConfigError(f"{where}: 'years' must be [first, last], got {ys!r}")
        lo, hi = _year(ys[0], where, "years"), _year(ys[1], where, "years")
    years = pd.to_numeric(table["year"])
    return table["state"].isin(states) & (years >= lo) & (years <= hi)


def _covariate(table, c: Mapping, where: str, record: Record):
    if table is None or not len(table):
        raise ConfigError(f"{where}: the record has no covariates")
    name = c.get("name")
    cols = [x for x in table.columns if x not in ("state", "year", "source", "note")]
    if name not in cols:
        raise ConfigError(f"{where}: 'name' must be one of the record's covariates: {', '.join(cols)}; got {name!r}")
    ops = [k for k in ("multiply", "add", "set") if k in c]
    if len(ops) != 1:
        raise ConfigError(f"{where}: give exactly one of multiply, add, set")
    v = c[ops[0]]
    if finite_real(v) is None:
        shown = f"{v!r}" if len(repr(v)) < 40 else f"{repr(v)[:20]}... ({len(repr(v))} characters)"
        raise ConfigError(f"{where}: '{ops[0]}' must be a finite number, got {shown}")
    mask = _select(table, c, where, record, ("name", "states", "years", "multiply", "add", "set"))
    table = table.copy()
    x = pd.to_numeric(table[name]).astype(float)
    x[mask] = {"multiply": x[mask] * v, "add": x[mask] + v, "set": float(v)}[ops[0]]
    table[name] = x
    return table


def _tiers(table, c: Mapping, where: str, record: Record):
    if table is None or not len(table):
        raise ConfigError(f"{where}: the record has no tiers table")
    v = c.get("set")
    if v not in TIERS:
        raise ConfigError(f"{where}: 'set' must be one of {', '.join(x or '(blank: no report)' for x in TIERS)}")
    mask = _select(table, c, where, record, ("states", "years", "set"))
    table = table.copy()
    table.loc[mask, "tier"] = v
    return table


def _membership(states: pd.DataFrame, m: Mapping, where: str, record: Record):
    bad = [k for k in m if k not in ("state", "joined", "left")]
    if bad or "state" not in m:
        raise ConfigError(f"{where}: a membership change takes state, joined and/or left")
    s = m["state"]
    if s not in record.state_ids:
        raise ConfigError(f"{where}: unknown state {s!r}; known: {', '.join(record.state_ids)}")
    states = states.copy().astype(object)
    i = list(states["state"]).index(s)
    for key in ("joined", "left"):
        if key in m:
            states.at[i, key] = _year(m[key], where, key)
    return states

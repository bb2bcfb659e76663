"""Observed records: the data a model is run against and compared with.

A record is a folder with a ``record.toml`` manifest and CSV tables. Nothing
in this module knows about ASEAN: the packaged ASEAN record
(``observed_record()``), the world panel of every state and its regional
organizations (``load_record("world")``) and the global criminalization panel
(``load_record("global_criminalization")``) are folders of the same format,
and a user's own region is one more.

Tables (columns; ``*`` marks required tables):

* ``states``\\*: ``state, joined`` [``name, subregion, left, source, note``]
* ``instruments``\\*: ``instrument`` [``name, kind, opens, opened_by,
  requires, obliges, organization, source, note``]. ``opens`` is the first
  year the instrument can be adopted (blank: always); ``opened_by`` names the
  agreement that opens it; ``requires`` names an instrument that must be
  adopted first (same year allowed); ``obliges`` (space-separated ids) the
  instruments a party to this treaty undertakes to adopt (the UN Protocol's
  art. 5: criminalization); ``organization`` (a regional treaty) makes it open
  only to the members of that organization, in the years they are members.
* ``adoptions``\\*: ``state, instrument, year`` [``year_min, year_max,
  seen_until, date, precision, source, note``]. ``year`` is missing when the state had not
  adopted by the end of the record, or when only an interval ``[year_min,
  year_max]`` is known (interval-censored). Pairs not listed were not
  adopted. ``seen_until`` (for a pair not adopted) is the last year it is
  known not to have adopted, when that is before the record's end. ``date``
  (``YYYY-MM-DD``, where the day is known) must fall in the adoption's year
  or interval. An adoption may not come before its instrument opens, nor,
  for an instrument of an organization, from a state that is not a member.
* ``status``: ``state, instrument, value`` with value in yes / limited /
  no / unknown (end-of-window status without a year). For an instrument the
  model has (listed in ``instruments``), a status fills in the adoption of
  a pair the adoptions table does not list: yes / limited = adopted within
  the window (an interval), no = not adopted, unknown = not observed.
* ``agreements``: ``agreement, year, binding, covers`` [``trigger, builds_on,
  organization, date, name, kind, source, note``] (covers: space-separated
  instrument ids; trigger: anchor / follow_up / consensus). ``year`` is the
  year that counts; ``date``, where given, must fall in it. ``organization``
  names the organization the agreement belongs to (required when the record
  has an ``organizations`` table): it covers the states that are members of
  that organization in a year.
* ``organizations``: ``organization`` [``name, kind, founded, membership,
  source, note``]; ``membership`` is ``recorded`` (the ``memberships`` table
  lists its members by year) or ``missing`` (its members are not known: its
  agreements cover no state).
* ``memberships``: ``organization, state, joined`` [``left, source, note``]:
  one row per spell; ``left`` is the last year of the spell (blank: a member
  to the end); a state may belong to several organizations at once and
  return to one after leaving (spells of one pair must not overlap).
* ``borders``: ``state_a, state_b``; ``covariates``: ``state, year`` and
  numeric columns; ``tiers``: ``state, year, tier``; ``migration``:
  ``origin, destination, year, migrants``; ``global_series``: ``year,
  variable, value``.

Loading validates everything and raises :class:`~harmsim.errors.RecordError`
naming the file, the row (its line in the CSV file) and the problem.

>>> import harmsim
>>> rec = harmsim.observed_record()
>>> rec.start, rec.end, len(rec.state_ids)  # ten members and Timor-Leste (joined 2025)
(1997, 2015, 11)
>>> int(rec.adoptions.query("state == 'PHL' and instrument == 'tip_law'").year.iloc[0])
2003
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from harmsim import _repr
from harmsim._toml import read_toml
from harmsim.errors import RecordError

__all__ = ["Record", "load_record", "observed_record", "packaged_records", "record_from_tables"]

STATUS_VALUES = ("yes", "limited", "no", "unknown")
TRIGGERS = ("anchor", "follow_up", "consensus")
TIERS = ("1", "2", "2WL", "3", "not_ranked", "")
_MIN_YEAR, _MAX_YEAR = 1800, 2100
#: no modern anti-trafficking law or treaty is older: an adoption year before it is a typo, not data
_MIN_ADOPTION_YEAR = 1900
_YEAR = re.compile(r"-?[0-9]+")
#: no quantity in a record is this large; a bigger value is an error, not data
_HUGE = 1e15
#: plausible ranges of the covariates the mechanisms read: (lo, hi, "open") excludes lo
#: the ranges hold every state's values 1960-2023 with room to spare (WDI: GDP per head from about 20 to 250,000
#: current US$; populations from about 10,000 to 1.5 billion)
_COVARIATES = {"gdp_pc": (10.0, 1e6), "population": (1e3, 3e9)}
#: more migrants than this between two states is no count of people
_MAX_MIGRANTS = 1e9
_ALIASES = {"global": "global_criminalization"}
_TABLES = {
    "states": True,
    "instruments": True,
    "adoptions": True,
    "status": False,
    "agreements": False,
    "borders": False,
    "covariates": False,
    "tiers": False,
    "migration": False,
    "global_series": False,
    "organizations": False,
    "memberships": False,
}
MEMBERSHIP = ("recorded", "missing")
#: a date as ISO 8601 gives it, to the day, the month or the year: 2004-11-29, 2004-11 or 2004
_DATE = re.compile(r"[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?")


@dataclass(frozen=True, eq=False)
class Record:
    """An observed record: states, instruments, adoptions and their context.

    Treat the tables as read-only: records are cached and shared.

    >>> from harmsim.data.record import load_record
    >>> rec = load_record("asean")
    >>> rec.cells().loc[["KHM", "MYS"], ["tip_law", "asean_mlat"]]
    instrument tip_law asean_mlat
    state
    KHM           2008       2010
    MYS           2007       2005
    >>> rec.adoptions.query("state == 'MYS' and instrument == 'tip_law'")["source"].iloc[0]  # every value's source
    'study, Table 1 (Criminalization)'
    """

    name: str
    title: str
    start: int
    end: int
    path: str
    states: pd.DataFrame
    instruments: pd.DataFrame
    adoptions: pd.DataFrame
    status: pd.DataFrame
    agreements: pd.DataFrame
    borders: pd.DataFrame
    covariates: pd.DataFrame
    tiers: pd.DataFrame
    migration: pd.DataFrame
    global_series: pd.DataFrame
    #: regional organizations and their members' spells (empty for a one-region record)
    organizations: pd.DataFrame = field(default_factory=lambda: _empty_organizations())
    memberships: pd.DataFrame = field(default_factory=lambda: _empty_memberships())
    sources: dict = field(default_factory=dict)
    description: str = ""
    #: file name of each table in the record's folder (as its record.toml names them)
    files: dict = field(default_factory=dict)
    #: items of the status table that are not instruments (record.toml's ``status_items``), e.g. the study's
    #: Table 2 specialist units; a status row naming neither is an error (a mistyped id is never skipped)
    status_items: tuple = ()

    def _facts(self) -> dict:
        return {
            "name": self.name,
            "years": f"{self.start}-{self.end}",
            "states": len(self.states),
            "instruments": len(self.instruments),
            "adoptions": int((self.adoptions["year"].notna() | self.adoptions["year_max"].notna()).sum()),
            "agreements": len(self.agreements),
            **({"organizations": len(self.organizations)} if len(self.organizations) else {}),
        }

    def __repr__(self) -> str:
        return _repr.text("Record", self._facts())

    def _repr_html_(self) -> str:
        return _repr.html("Record", {"title": self.title, **self._facts()})

    @property
    def state_ids(self) -> tuple[str, ...]:
        return tuple(self.states["state"])

    @property
    def instrument_ids(self) -> tuple[str, ...]:
        return tuple(self.instruments["instrument"])

    @property
    def agreement_ids(self) -> tuple[str, ...]:
        return tuple(self.agreements["agreement"])

    @property
    def organization_ids(self) -> tuple[str, ...]:
        return tuple(self.organizations["organization"])

    def members(self, organization: str, year: int) -> tuple[str, ...]:
        """States that are members of ``organization`` in ``year``, in the record's state order.

        >>> from harmsim.data.record import load_record
        >>> load_record("world").members("SAARC", 2006)  # Afghanistan joined in 2007
        ('BGD', 'BTN', 'IND', 'LKA', 'MDV', 'NPL', 'PAK')
        """
        if organization not in self.organization_ids:
            known = ", ".join(self.organization_ids) or "none"
            raise RecordError(f"record '{self.name}': unknown organization '{organization}' (known: {known})")
        m = self.spells(year, year)
        inside = set(m["state"][m["organization"] == organization])
        return tuple(s for s in self.state_ids if s in inside)

    def subset(self, states, name: str | None = None) -> Record:
        """The record restricted to ``states``: a regional sub-panel, every other table cut to match.

        Why: a model fitted to a sub-panel borrows strength only from the
        states in it (say, ASEAN's neighbours instead of the world). The
        instruments, organizations and agreements stay whole; the rows of
        states not kept go from every table a state keys (adoptions,
        status, covariates, tiers, memberships; borders and migration where
        either end is gone). The global series stay as recorded, so a
        mechanism reading the share of all states that adopted reads it
        among the states kept, while a recorded global series (the share
        criminalizing) stays global. ``name``: the sub-record's name
        (default ``<record>~<n>states``).

        >>> from harmsim.data.record import load_record
        >>> sub = load_record("world").subset(["BGD", "IND", "NPL"])
        >>> sub.name, sub.state_ids, sub.members("SAARC", 2006)
        ('world~3states', ('BGD', 'IND', 'NPL'), ('BGD', 'IND', 'NPL'))
        """
        keep = list(dict.fromkeys(states))
        unknown = [s for s in keep if s not in self.state_ids]
        if unknown:
            raise RecordError(f"record '{self.name}': unknown state(s) {', '.join(unknown)}")
        if not keep:
            raise RecordError(f"record '{self.name}': a subset needs at least one state")
        inside = set(keep)

        def rows(table: pd.DataFrame, *cols: str) -> pd.DataFrame:
            if not len(table):
                return table
            kept = np.logical_and.reduce([table[c].isin(inside).to_numpy() for c in cols])
            return table[kept].reset_index(drop=True)

        return replace(
            self,
            name=name or f"{self.name}~{len(keep)}states",
            title=f"{self.title}, restricted to {len(keep)} of its states",
            states=rows(self.states, "state"),
            adoptions=rows(self.adoptions, "state"),
            status=rows(self.status, "state"),
            borders=rows(self.borders, "state_a", "state_b"),
            covariates=rows(self.covariates, "state"),
            tiers=rows(self.tiers, "state"),
            migration=rows(self.migration, "origin", "destination"),
            memberships=rows(self.memberships, "state"),
            description=f"{self.description} Restricted to {len(keep)} of its {len(self.states)} states.".strip(),
        )

    @cached_property
    def digest(self) -> str:
        """A short hash of the record's contents (window and every table): results computed on a record
        carry it, so a changed data file is never mistaken for the same record.

        >>> from harmsim.data.record import load_record
        >>> len(load_record("asean").digest)
        12
        """
        h = hashlib.sha256(f"{self.start}-{self.end}".encode())
        for name in _TABLES:
            h.update(name.encode())
            h.update(getattr(self, name).to_csv(index=False).encode())
        return h.hexdigest()[:12]

    def tables(self) -> dict[str, pd.DataFrame]:
        """All non-empty tables by name."""
        return {n: getattr(self, n) for n in _TABLES if len(getattr(self, n))}

    def write(self, folder: str | Path) -> list[Path]:
        """Write the record as a folder that :func:`load_record` reads back: record.toml and CSV tables.

        ``load_record(folder)`` then equals this record table by table, so a
        user can copy the packaged record, edit a table (say, agreements.csv)
        and run a scenario on it.

        >>> import tempfile, harmsim
        >>> with tempfile.TemporaryDirectory() as d:
        ...     _ = harmsim.observed_record().write(d)
        ...     harmsim.load_record(d).agreement_ids[:2]
        ('vision_2020', 'decl_transnational_crime_1997')
        """
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        files = {name: self.files.get(name, f"{name}.csv") for name in self.tables()}
        written = []
        for name, table in self.tables().items():
            path = out / files[name]
            _to_file(name, table, self).to_csv(path, index=False, lineterminator="\n")
            written.append(path)
        manifest = out / "record.toml"
        manifest.write_text(_manifest(self, files), encoding="utf-8")
        return [manifest, *written]

    def summary(self) -> pd.DataFrame:
        """Per instrument, how the record observes its pairs (a quick look).

        ``dated``: adopted in a known year; ``interval``: adopted within a known interval; ``not_adopted``: not
        adopted by the end; ``censored``: not adopted by a year before the end, unobserved after it;
        ``unobserved``: no observation; ``not_open``: states the instrument is not open to (not members of its
        organization in any year of the window); ``first``/``last``: the earliest and latest adoption years.

        >>> from harmsim.data.record import load_record
        >>> load_record("world").summary().loc["cets197", ["dated", "interval", "not_open"]].tolist()
        [18, 24, 141]
        """
        a = self.adoptions.assign(open=self._open_pairs())
        adopted = a["year_max"].notna()
        kinds = pd.DataFrame(
            {
                "instrument": a["instrument"],
                "dated": adopted & a["year"].notna(),
                "interval": adopted & a["year"].isna(),
                "not_adopted": ~adopted & a["observed"] & (a["seen_until"] >= self.end) & a["open"],
                "censored": ~adopted & a["observed"] & (a["seen_until"] < self.end) & a["open"],
                "unobserved": ~a["observed"] & a["open"],
                "not_open": ~a["open"],
            }
        )
        out = kinds.groupby("instrument", sort=False).sum().astype(int)
        g = a[adopted].groupby("instrument", sort=False)
        out["first"] = g["year_min"].min()
        out["last"] = g["year_max"].max()
        return out.reindex(list(self.instrument_ids)).astype({"first": "Int64", "last": "Int64"})

    def spells(self, first: int, last: int) -> pd.DataFrame:
        """The membership spells that overlap the years ``first..last`` (a spell's ``left`` is its last year).

        >>> from harmsim.data.record import load_record
        >>> w = load_record("world")  # Seychelles left SADC in 2004 and returned in 2008
        >>> len(w.spells(2005, 2007).query("state == 'SYC'")), len(w.spells(2004, 2008).query("state == 'SYC'"))
        (0, 2)
        """
        m = self.memberships
        return m[(m["joined"] <= last) & ~(m["left"] < first).fillna(False)]

    def _open_pairs(self) -> np.ndarray:
        """Per adoptions row: whether its instrument is open to its state at some year of the window."""
        org = dict(zip(self.instruments["instrument"], self.instruments["organization"]))
        inside = self.spells(self.start, self.end)
        members = set(zip(inside["organization"], inside["state"]))
        pairs = zip(self.adoptions["state"], self.adoptions["instrument"])
        return np.array([not org[k] or (org[k], s) in members for s, k in pairs], dtype=bool)

    def cells(self) -> pd.DataFrame:
        """The adoptions as printed by ``harmsim record``: a state by instrument table of text cells.

        ``2004`` adopted that year; ``2002-2005`` adopted within the interval; ``.`` not adopted by the end;
        ``>2011`` not adopted by 2011, unobserved after; ``?`` not observed; ``-`` not open to the state
        (not a member of the instrument's organization).

        >>> from harmsim.data.record import load_record
        >>> load_record("world").cells().loc[["BGD", "CZE"], ["untoc", "cets197", "saarc2002"]]
        instrument untoc cets197  saarc2002
        state
        BGD        >2011       -  2002-2005
        CZE        >2011   >2014          -
        """
        a = self.adoptions
        cell = a["year"].astype("string")
        interval = a["year"].isna() & a["year_max"].notna()
        cell[interval] = a.loc[interval, "year_min"].astype(str) + "-" + a.loc[interval, "year_max"].astype(str)
        censored = a["year_max"].isna() & (a["seen_until"] < self.end)
        cell[censored] = ">" + a.loc[censored, "seen_until"].astype(str)
        cell = cell.fillna(".")
        cell[~a["observed"].astype(bool).to_numpy()] = "?"
        cell[~self._open_pairs()] = "-"
        wide = a.assign(cell=cell).pivot(index="state", columns="instrument", values="cell")
        return wide.reindex(index=list(self.state_ids), columns=list(self.instrument_ids))

    def organization_summary(self) -> pd.DataFrame:
        """Per organization: members at the end of the window (where recorded) and agreements, binding or not.

        >>> from harmsim.data.record import load_record
        >>> load_record("world").organization_summary().loc[["SAARC", "OSCE"]]
                     membership  members  binding  non_binding
        organization
        SAARC          recorded        8        1            0
        OSCE            missing        0        0            1
        """
        o = self.organizations.set_index("organization")
        at_end = self.spells(self.end, self.end)
        ag = self.agreements
        return pd.DataFrame(
            {
                "membership": o["membership"],
                "members": at_end.groupby("organization")["state"].nunique().reindex(o.index).fillna(0).astype(int),
                "binding": ag[ag["binding"]].groupby("organization").size().reindex(o.index).fillna(0).astype(int),
                "non_binding": ag[~ag["binding"]].groupby("organization").size().reindex(o.index).fillna(0).astype(int),
            }
        )


def packaged_records() -> list[str]:
    """Names of the records shipped with harmsim.

    >>> packaged_records()
    ['asean', 'global_criminalization', 'world']
    """
    root = resources.files("harmsim") / "data"
    return sorted(p.name for p in root.iterdir() if (p / "record.toml").is_file())


def observed_record() -> Record:
    """The packaged ASEAN record, 1997-2015 (the default record)."""
    return load_record("asean")


def load_record(path_or_name: str | Path = "asean") -> Record:
    """Load a record by packaged name (``asean``, ``world``, ``global_criminalization``) or folder.

    A path may point at the folder or at its ``record.toml``.

    >>> load_record("global").instrument_ids
    ('tip_law',)
    """
    return _load(str(_resolve(path_or_name)))


def _resolve(path_or_name: str | Path) -> Path:
    text = str(path_or_name)
    name = _ALIASES.get(text, text)
    if name in packaged_records():
        return Path(str(resources.files("harmsim") / "data" / name))
    p = Path(text).expanduser()
    if p.is_file() and p.name == "record.toml":
        p = p.parent
    if not (p / "record.toml").is_file():
        raise RecordError(
            f"{text}: no such record (packaged records: {', '.join(packaged_records())}; "
            "or give a folder holding record.toml)"
        )
    return p.resolve()


@lru_cache(maxsize=16)
def _load(folder: str) -> Record:
    base = Path(folder)
    manifest = base / "record.toml"
    meta = read_toml(manifest, RecordError)
    for key in ("name", "start", "end", "tables"):
        if key not in meta:
            raise RecordError(f"{manifest}: missing key '{key}'")
    tables = meta["tables"]
    if not isinstance(tables, dict) or not all(isinstance(v, str) and v for v in tables.values()):
        raise RecordError(f"{manifest}: 'tables' must be a table of file names, e.g. [tables] states = \"states.csv\"")
    if not isinstance(meta["name"], str) or not meta["name"]:
        raise RecordError(f"{manifest}: 'name' must be a non-empty string")
    unknown = set(meta["tables"]) - set(_TABLES)
    if unknown:
        raise RecordError(f"{manifest}: unknown table(s) {sorted(unknown)}; known: {', '.join(_TABLES)}")
    raw = {}
    for tname in _TABLES:
        fname = meta["tables"].get(tname)
        raw[tname] = None if fname is None else _read(base / fname)
    rec = _assemble(meta, raw, str(base), where=str(manifest))
    return replace(rec, files={k: v for k, v in meta["tables"].items() if isinstance(v, str)})


def record_from_tables(
    name: str,
    start: int,
    end: int,
    tables: dict[str, pd.DataFrame],
    *,
    title: str = "",
    sources: dict | None = None,
    description: str = "",
    status_items=(),
) -> Record:
    """Build and validate a record from in-memory tables (same columns as the files).

    Used for synthetic regions; errors name ``<name>/<table>`` instead of a file.
    The values are read as the files' text is (a year ``"2003"``, a blank
    ``""``) and validated by the same rules.

    >>> import pandas as pd
    >>> tables = {
    ...     "states": pd.DataFrame({"state": ["A", "B", "C"], "joined": 2000}),
    ...     "instruments": pd.DataFrame({"instrument": ["law"]}),
    ...     "adoptions": pd.DataFrame({"state": ["A", "B"], "instrument": "law", "year": ["2003", ""],
    ...                                "year_min": ["", "2004"], "year_max": ["", "2006"]}),
    ... }
    >>> record_from_tables("toy", 2000, 2010, tables).cells()["law"].tolist()  # dated, an interval, not adopted
    ['2003', '2004-2006', '.']
    >>> tables["adoptions"].loc[0, "year"] = "2012"
    >>> record_from_tables("toy", 2000, 2010, tables)
    Traceback (most recent call last):
    ...
    harmsim.errors.RecordError: <toy>/adoptions, line 2: year 2012 is outside the data's range 1900-2010
    """
    raw = {}
    for tname, df in tables.items():
        if tname not in _TABLES:
            raise RecordError(f"<{name}>: unknown table '{tname}'; known: {', '.join(_TABLES)}")
        text = df.astype(object).where(df.notna(), "").astype(str)
        raw[tname] = (Path(f"<{name}>/{tname}"), text.apply(lambda c: c.str.strip()))
    for tname in _TABLES:
        raw.setdefault(tname, None)
    meta = {
        "name": name,
        "title": title or name,
        "start": start,
        "end": end,
        "sources": sources or {},
        "description": description,
        "status_items": list(status_items),
    }
    return _assemble(meta, raw, f"<{name}>", where=f"<{name}>")


def _assemble(meta: dict, raw: dict, path: str, where: str) -> Record:
    start, end = meta["start"], meta["end"]
    if not all(isinstance(y, int) and not isinstance(y, bool) for y in (start, end)) or not (
        _MIN_YEAR <= start <= end <= _MAX_YEAR
    ):
        raise RecordError(
            f"{where}: start and end must be integer years in {_MIN_YEAR}-{_MAX_YEAR} with start <= end, got "
            f"{start!r} and {end!r}"
        )
    for tname, required in _TABLES.items():
        if required and raw[tname] is None:
            raise RecordError(f"{where}: the table '{tname}' is required")
    v = _Validator(start, end)
    states = v.states(raw["states"])
    organizations = v.organizations(raw["organizations"])
    memberships = v.memberships(raw["memberships"], organizations)
    instruments = v.instruments(raw["instruments"])
    agreements = v.agreements(raw["agreements"], instruments)
    v.check_opened_by(instruments, agreements)
    sources = meta.get("sources", {})
    if not isinstance(sources, dict) or not all(isinstance(v, str) for v in sources.values()):
        raise RecordError(f"{where}: 'sources' must be a table of texts, e.g. [sources] adoptions = \"the study\"")
    items = meta.get("status_items", [])
    if not isinstance(items, list) or not all(isinstance(x, str) and x for x in items):
        raise RecordError(f"{where}: 'status_items' must be a list of item ids, e.g. [\"specialist_unit\"]")
    status = v.status(raw["status"], tuple(items))
    adoptions = v.merge_status(v.adoptions(raw["adoptions"]), status, raw["status"][0] if raw["status"] else None)
    v.check_eligible(adoptions, instruments, agreements, memberships, raw["adoptions"], raw["status"])
    return Record(
        name=str(meta["name"]),
        title=str(meta.get("title", meta["name"])),
        start=start,
        end=end,
        path=path,
        states=states,
        instruments=instruments,
        adoptions=adoptions,
        status=status,
        agreements=agreements,
        borders=v.borders(raw["borders"]),
        covariates=v.covariates(raw["covariates"]),
        tiers=v.tiers(raw["tiers"]),
        migration=v.migration(raw["migration"]),
        global_series=v.global_series(raw["global_series"]),
        organizations=organizations,
        memberships=memberships,
        sources=dict(meta.get("sources", {})),
        description=str(meta.get("description", "")).strip(),
        status_items=tuple(items),
    )


def _read(path: Path) -> tuple[Path, pd.DataFrame]:
    if not path.is_file():
        raise RecordError(f"{path}: file not found")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise RecordError(f"{path}: malformed CSV: {str(exc).strip()}") from None
    df.columns = [c.strip() for c in df.columns]
    return path, df.apply(lambda s: s.str.strip())


class _Validator:
    """Row-level checks; each failure names file, CSV line and problem."""

    def __init__(self, start: int, end: int):
        self.start, self.end = start, end
        self.state_ids: set[str] = set()
        self.instrument_ids: set[str] = set()
        self.organization_ids: set[str] = set()
        self.organization_order: tuple[str, ...] = ()
        # Canonical orders follow the files' row order.
        self.state_order: tuple[str, ...] = ()
        self.instrument_order: tuple[str, ...] = ()

    @staticmethod
    def fail(path: Path, i: int | None, msg: str) -> RecordError:
        where = f"{path}" if i is None else f"{path}, line {i + 2}"
        return RecordError(f"{where}: {msg}")

    def require(self, src, cols):
        path, df = src
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise self.fail(path, None, f"missing column(s) {missing}; found {list(df.columns)}")
        return path, df

    def year(self, path, i, col, text, *, nullable, lo=_MIN_YEAR, hi=_MAX_YEAR):
        if text == "":
            if nullable:
                return pd.NA
            raise self.fail(path, i, f"{col} is empty")
        # int() also reads '2_004', ' 2004' and non-ASCII digits: a year in a data file is ASCII digits
        if not _YEAR.fullmatch(text):
            raise self.fail(path, i, f"{col} '{text}' is not a year")
        y = int(text)
        if not lo <= y <= hi:
            raise self.fail(path, i, f"{col} {y} is outside the data's range {lo}-{hi}")
        return y

    def ids(self, path, df, col, known, what):
        for i, x in enumerate(df[col]):
            if x not in known:
                raise self.fail(path, i, f"unknown {what} '{x}' (known: {', '.join(sorted(known))})")

    def instrument_list(self, path, i, col, text, known: tuple[str, ...]) -> tuple[str, ...]:
        """A cell of space-separated instrument ids (``covers``, ``obliges``): each known, none twice."""
        items = tuple(text.split())
        if len(set(items)) < len(items):
            twice = next(k for k in items if items.count(k) > 1)
            raise self.fail(path, i, f"{col} '{twice}' twice")
        for k in items:
            if k not in known:
                raise self.fail(path, i, f"{col} unknown instrument '{k}' (known: {', '.join(known)})")
        return items

    def unique(self, path, df, cols):
        dup = df.duplicated(cols, keep="first")
        if dup.any():
            i = int(dup.to_numpy().nonzero()[0][0])
            key = ", ".join(df.iloc[i][c] for c in cols)
            raise self.fail(path, i, f"duplicate row for ({key})")

    def date_in(self, path, i, text, lo, hi):
        """A date (``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``) that must fall in the years ``lo..hi`` (blank: none)."""
        if text == "":
            return
        if not _DATE.fullmatch(text):
            raise self.fail(path, i, f"date '{text}' is not a date as YYYY-MM-DD (or YYYY-MM, or YYYY)")
        try:
            day = pd.Timestamp(text)
        except ValueError:
            raise self.fail(path, i, f"date '{text}' is not a calendar date") from None
        if lo is pd.NA or hi is pd.NA:
            raise self.fail(path, i, f"date {text} is given for a pair with no adoption year")
        if not lo <= day.year <= hi:
            years = f"{lo}" if lo == hi else f"{lo}-{hi}"
            raise self.fail(
                path,
                i,
                f"date {text} does not fall in the year {years} the row gives: the year is what counts; "
                "correct the date or leave it blank",
            )

    def _unknown_organization(self, org):
        known = ", ".join(self.organization_order) or "none: the record has no organizations table"
        return f"unknown organization '{org}' (known: {known})"

    def organizations(self, src):
        self.organization_ids, self.organization_order = set(), ()
        if src is None:
            return _empty_organizations()
        path, df = self.require(src, ["organization"])
        self.unique(path, df, ["organization"])
        for col in ("name", "kind", "founded", "membership", "source", "note"):
            if col not in df:
                df[col] = "recorded" if col == "membership" else ""
        for i, (o, m) in enumerate(zip(df["organization"], df["membership"])):
            if o == "":
                raise self.fail(path, i, "empty organization id")
            if m not in MEMBERSHIP:
                raise self.fail(path, i, f"membership must be one of {', '.join(MEMBERSHIP)}, got '{m}'")
        df["founded"] = pd.array(
            [self.year(path, i, "founded", x, nullable=True) for i, x in enumerate(df["founded"])], dtype="Int64"
        )
        self.organization_ids = set(df["organization"])
        self.organization_order = tuple(df["organization"])
        return df.reset_index(drop=True)

    def memberships(self, src, organizations):
        if src is None:
            return _empty_memberships()
        path, df = self.require(src, ["organization", "state", "joined"])
        for i, o in enumerate(df["organization"]):
            if o not in self.organization_ids:
                raise self.fail(path, i, self._unknown_organization(o))
        self.ids(path, df, "state", self.state_ids, "state")
        for col in ("left", "source", "note"):
            if col not in df:
                df[col] = ""
        joined = [self.year(path, i, "joined", x, nullable=False) for i, x in enumerate(df["joined"])]
        left = [self.year(path, i, "left", x, nullable=True) for i, x in enumerate(df["left"])]
        for i, (j, lft) in enumerate(zip(joined, left)):
            if lft is not pd.NA and lft < j:
                raise self.fail(path, i, f"left {lft} is before joined {j}")
        df["joined"] = pd.array(joined, dtype="int64")
        df["left"] = pd.array(left, dtype="Int64")
        missing = set(organizations["organization"][organizations["membership"] == "missing"])
        for i, o in enumerate(df["organization"]):
            if o in missing:
                raise self.fail(path, i, f"organization '{o}' is declared with membership 'missing' in the "
                                "organizations table, yet has members here: declare it 'recorded'")  # fmt: skip
        order = df.assign(line_no=range(len(df))).sort_values(["organization", "state", "joined"], kind="stable")
        prev = None
        for r in order.itertuples():
            key = (r.organization, r.state)
            if prev is not None and prev[0] == key and (prev[1] is pd.NA or prev[1] >= r.joined):
                raise self.fail(path, r.line_no, f"spells of {r.state} in {r.organization} overlap (a spell from "
                                f"{r.joined} begins before the one before it ends)")  # fmt: skip
            prev = (key, r.left)
        return df.reset_index(drop=True)

    def check_eligible(self, adoptions, instruments, agreements, memberships, raw_adoptions, raw_status):
        """No adoption before its instrument opens, nor of an organization's instrument by a non-member.

        The year checked is the adoption's year, or for an interval its last year (the adoption may fall
        late in it); an instrument an agreement opens opens in the year the record gives the agreement.
        """
        opens = dict(zip(instruments["instrument"], instruments["opens"]))
        ag_year = dict(zip(agreements["agreement"], agreements["year"]))
        for k, a in zip(instruments["instrument"], instruments["opened_by"]):
            if a:
                opens[k] = int(ag_year[a]) if opens[k] is pd.NA else max(int(opens[k]), int(ag_year[a]))
        org = {k: o for k, o in zip(instruments["instrument"], instruments["organization"]) if o}
        spells: dict[tuple[str, str], list[tuple[int, float]]] = {}
        for o, s, j, lft in zip(memberships["organization"], memberships["state"], memberships["joined"],
                                memberships["left"]):  # fmt: skip
            spells.setdefault((o, s), []).append((int(j), np.inf if lft is pd.NA else int(lft)))
        for s, k, lo, hi in zip(adoptions["state"], adoptions["instrument"], adoptions["year_min"],
                                adoptions["year_max"]):  # fmt: skip
            if hi is pd.NA:
                continue
            lo, hi = int(lo), int(hi)
            when = f"in {hi}" if lo == hi else f"within {lo}-{hi}"
            problem = None
            if opens[k] is not pd.NA and hi < opens[k]:
                problem = f"{s} adopts {k} {when}, before it opens in {opens[k]}"
            elif k in org and not any(j <= hi and lo <= lft for j, lft in spells.get((org[k], s), [])):
                problem = (f"{s} adopts {k} {when} but is not a member of {org[k]} then ({k} is open only to "
                           f"the members of {org[k]})")  # fmt: skip
            if problem:
                raise self._at_pair(raw_adoptions, raw_status, s, k, problem)

    def _at_pair(self, raw_adoptions, raw_status, state, instrument, msg):
        """An error at the line of the adoptions (or else status) file that gives this pair."""
        for src in (raw_adoptions, raw_status):
            if src is None:
                continue
            path, df = src
            hit = ((df["state"] == state) & (df["instrument"] == instrument)).to_numpy().nonzero()[0]
            if len(hit):
                return self.fail(path, int(hit[0]), msg)
        return RecordError(msg)

    def states(self, src):
        path, df = self.require(src, ["state", "joined"])
        self.unique(path, df, ["state"])
        for i, s in enumerate(df["state"]):
            if s == "":
                raise self.fail(path, i, "empty state id")
        df["joined"] = [self.year(path, i, "joined", x, nullable=False) for i, x in enumerate(df["joined"])]
        if "left" in df:
            df["left"] = pd.array(
                [self.year(path, i, "left", x, nullable=True) for i, x in enumerate(df["left"])],
                dtype="Int64",
            )
            early = (df["left"] < pd.Series(df["joined"], dtype="Int64")).fillna(False).to_numpy(dtype=bool)
            if early.any():
                i = int(early.nonzero()[0][0])
                raise self.fail(path, i, f"left {df['left'].iloc[i]} is before joined {df['joined'].iloc[i]}")
        else:
            df["left"] = pd.array([pd.NA] * len(df), dtype="Int64")
        for col in ("name", "subregion", "source", "note"):
            if col not in df:
                df[col] = df["state"] if col == "name" else ""
        df["joined"] = df["joined"].astype("int64")
        self.state_ids = set(df["state"])
        self.state_order = tuple(df["state"])
        return df.reset_index(drop=True)

    def instruments(self, src):
        path, df = self.require(src, ["instrument"])
        self.unique(path, df, ["instrument"])
        for col in ("name", "kind", "opens", "opened_by", "requires", "obliges", "organization", "source", "note"):
            if col not in df:
                df[col] = ""
        for i, o in enumerate(df["organization"]):
            if o and o not in self.organization_ids:
                raise self.fail(path, i, self._unknown_organization(o))
        df["opens"] = pd.array(
            [self.year(path, i, "opens", x, nullable=True) for i, x in enumerate(df["opens"])],
            dtype="Int64",
        )
        known = set(df["instrument"])
        for i, r in enumerate(df["requires"]):
            if r and r not in known:
                raise self.fail(path, i, f"requires unknown instrument '{r}' (known: {', '.join(sorted(known))})")
        order = tuple(df["instrument"])
        df["obliges"] = [self.instrument_list(path, i, "obliges", x, order) for i, x in enumerate(df["obliges"])]
        for i, (k, items) in enumerate(zip(df["instrument"], df["obliges"])):
            if k in items:
                raise self.fail(path, i, f"'{k}' obliges itself: name the other instruments a party adopts")
        req = dict(zip(df["instrument"], df["requires"]))
        for i, k in enumerate(df["instrument"]):
            seen, cur = {k}, req[k]
            while cur:
                if cur in seen:
                    raise self.fail(path, i, f"prerequisites of '{k}' form a cycle")
                seen.add(cur)
                cur = req[cur]
        self.instrument_ids = known
        self.instrument_order = tuple(df["instrument"])
        self.instruments_path = path
        return df.reset_index(drop=True)

    def adoptions(self, src):
        path, df = self.require(src, ["state", "instrument", "year"])
        self.ids(path, df, "state", self.state_ids, "state")
        self.ids(path, df, "instrument", self.instrument_ids, "instrument")
        self.unique(path, df, ["state", "instrument"])
        for col in ("year_min", "year_max", "seen_until", "source", "note"):
            if col not in df:
                df[col] = ""
        rows = []
        for i, r in df.iterrows():
            y = self.year(path, i, "year", r["year"], nullable=True, lo=_MIN_ADOPTION_YEAR, hi=self.end)
            lo = self.year(path, i, "year_min", r["year_min"], nullable=True, lo=_MIN_ADOPTION_YEAR, hi=self.end)
            hi = self.year(path, i, "year_max", r["year_max"], nullable=True, lo=_MIN_ADOPTION_YEAR, hi=self.end)
            if y is not pd.NA:
                lo = y if lo is pd.NA else lo
                hi = y if hi is pd.NA else hi
                if not lo == y == hi:
                    raise self.fail(path, i, f"year {y} disagrees with year_min/year_max {lo}/{hi}")
            elif (lo is pd.NA) != (hi is pd.NA):
                raise self.fail(path, i, "an interval needs both year_min and year_max")
            elif lo is not pd.NA and lo > hi:
                raise self.fail(path, i, f"year_min {lo} is after year_max {hi}")
            if "date" in df:
                self.date_in(path, i, r["date"], lo, hi)
            seen = self.year(path, i, "seen_until", r["seen_until"], nullable=True, hi=self.end)
            if seen is not pd.NA and (hi is not pd.NA):
                raise self.fail(path, i, "seen_until is for a pair not adopted (as far as is known); this one is")
            rows.append((y, lo, hi, self.end if seen is pd.NA else seen))
        for j, col in enumerate(("year", "year_min", "year_max", "seen_until")):
            df[col] = pd.array([r[j] for r in rows], dtype="Int64")
        # Pairs not listed were not adopted by the end of the record.
        full = pd.MultiIndex.from_product(
            [self.state_order, self.instrument_order],
            names=["state", "instrument"],
        ).to_frame(index=False)
        df["_listed"] = True
        out = full.merge(df, on=["state", "instrument"], how="left")
        text_cols = [c for c in out.columns if c not in ("state", "instrument", "year", "year_min", "year_max")]
        for col in text_cols:
            if col not in ("seen_until", "_listed"):
                out[col] = out[col].fillna("")
        out["seen_until"] = out["seen_until"].fillna(self.end).astype("Int64")
        out["_listed"] = out["_listed"].notna()  # True where listed; missing where the merge added the pair
        out["observed"] = True
        return out

    def merge_status(self, adoptions, status, status_path):
        """End-of-window status of a modelled instrument, for pairs the adoptions table does not date.

        yes / limited: adopted within the window, year unknown (interval start-end);
        no: not adopted by the end; unknown: not observed. A status that contradicts
        a listed adoption is an error.
        """
        a = adoptions.set_index(["state", "instrument"])
        for i, r in status.iterrows():
            key = (r["state"], r["instrument"])
            if r["instrument"] not in self.instrument_ids:
                continue
            row = a.loc[key]
            adopted = row["year_max"] is not pd.NA
            if row["_listed"]:
                says = r["value"] in ("yes", "limited")
                if r["value"] != "unknown" and says != adopted:
                    raise self.fail(status_path, i, f"status '{r['value']}' of {key} contradicts the adoptions table")
                if r["value"] == "unknown" and not adopted:  # a blank row says no more than the status
                    a.loc[key, "observed"] = False
                continue
            src = r.get("source", "") or "status table"
            if r["value"] in ("yes", "limited"):
                a.loc[key, ["year_min", "year_max"]] = [self.start, self.end]
                note = f"end-of-window status '{r['value']}': adopted by {self.end}, year unknown"
            elif r["value"] == "unknown":
                a.loc[key, "observed"] = False
                note = "end-of-window status unknown: not observed"
            else:
                note = f"end-of-window status 'no': not adopted by {self.end}"
            a.loc[key, "note"] = f"{note}: {r['note']}" if r.get("note", "") else note
            a.loc[key, "source"] = src
        out = a.reset_index().drop(columns="_listed")
        for col in ("year", "year_min", "year_max", "seen_until"):
            out[col] = out[col].astype("Int64")
        return out

    def agreements(self, src, instruments):
        if src is None:
            return pd.DataFrame(
                {
                    "agreement": pd.Series(dtype=str),
                    "year": pd.Series(dtype="int64"),
                    "binding": pd.Series(dtype=bool),
                    "covers": pd.Series(dtype=object),
                    "trigger": pd.Series(dtype=str),
                    "builds_on": pd.Series(dtype=str),
                }
            )
        path, df = self.require(src, ["agreement", "year", "binding", "covers"])
        self.unique(path, df, ["agreement"])
        for col in ("name", "date", "kind", "trigger", "builds_on", "organization", "source", "note"):
            if col not in df:
                df[col] = "anchor" if col == "trigger" else ""
        df["year"] = [self.year(path, i, "year", x, nullable=False) for i, x in enumerate(df["year"])]
        for i, (d, y) in enumerate(zip(df["date"], df["year"])):
            self.date_in(path, i, d, y, y)
        for i, o in enumerate(df["organization"]):
            if o and o not in self.organization_ids:
                raise self.fail(path, i, self._unknown_organization(o))
            if not o and self.organization_ids:
                raise self.fail(path, i, "organization is empty: in a record with organizations, every agreement "
                                "names the organization it belongs to")  # fmt: skip
        binding = []
        for i, b in enumerate(df["binding"]):
            if b not in ("yes", "no"):
                raise self.fail(path, i, f"binding must be yes or no, got '{b}'")
            binding.append(b == "yes")
        df["binding"] = binding
        df["covers"] = [
            self.instrument_list(path, i, "covers", c, self.instrument_order) for i, c in enumerate(df["covers"])
        ]
        order = {a: j for j, a in enumerate(df["agreement"])}
        for i, r in df.iterrows():
            if r["trigger"] not in TRIGGERS:
                raise self.fail(path, i, f"trigger must be one of {', '.join(TRIGGERS)}, got '{r['trigger']}'")
            parent = r["builds_on"]
            if r["trigger"] == "anchor":
                if parent:
                    raise self.fail(path, i, "an anchor agreement builds on nothing")
                continue
            if parent not in order:
                raise self.fail(path, i, f"builds_on names unknown agreement '{parent}'")
            if order[parent] >= i:
                raise self.fail(path, i, f"builds_on '{parent}' must be listed before '{r['agreement']}'")
            if df["year"].iloc[order[parent]] > r["year"]:
                raise self.fail(path, i, f"'{r['agreement']}' is dated before '{parent}' it builds on")
        df["year"] = df["year"].astype("int64")
        return df.reset_index(drop=True)

    def check_opened_by(self, instruments, agreements):
        known = set(agreements["agreement"])
        for i, a in enumerate(instruments["opened_by"]):
            if a and a not in known:
                raise self.fail(self.instruments_path, i, f"opened_by names unknown agreement '{a}'")

    def status(self, src, items=()):
        if src is None:
            return pd.DataFrame(columns=["state", "instrument", "value"])
        path, df = self.require(src, ["state", "instrument", "value"])
        self.ids(path, df, "state", self.state_ids, "state")
        known = self.instrument_ids | set(items)
        for i, x in enumerate(df["instrument"]):
            if x not in known:
                raise self.fail(
                    path,
                    i,
                    f"unknown item '{x}' (instruments: {', '.join(self.instrument_order)}; status-only items, as "
                    f"record.toml's status_items declares them: {', '.join(items) or 'none'})",
                )
        self.unique(path, df, ["state", "instrument"])
        for i, v in enumerate(df["value"]):
            if v not in STATUS_VALUES:
                raise self.fail(path, i, f"value must be one of {', '.join(STATUS_VALUES)}, got '{v}'")
        return df.reset_index(drop=True)

    def borders(self, src):
        if src is None:
            return pd.DataFrame(columns=["state_a", "state_b"])
        path, df = self.require(src, ["state_a", "state_b"])
        self.ids(path, df, "state_a", self.state_ids, "state")
        self.ids(path, df, "state_b", self.state_ids, "state")
        same = (df["state_a"] == df["state_b"]).to_numpy()
        if same.any():
            i = int(same.nonzero()[0][0])
            raise self.fail(path, i, f"a state cannot border itself ({df['state_a'].iloc[i]})")
        pair = pd.DataFrame({"a": df[["state_a", "state_b"]].min(axis=1), "b": df[["state_a", "state_b"]].max(axis=1)})
        self.unique(path, pair, ["a", "b"])  # a border is listed once, in either order
        return df.reset_index(drop=True)

    def _numeric(self, path, df, cols, ranges=None):
        """Columns as floats: a number, blank (missing), finite, and inside ``ranges[col]`` = (lo, hi) if given
        (exclusive of a bound marked by a tuple's third item ``"open"``)."""
        for c in cols:
            vals = pd.to_numeric(df[c].replace("", None), errors="coerce")
            bad = (vals.isna() & (df[c] != "")) | np.isinf(vals.astype(float))
            if bad.any():
                i = int(bad.to_numpy().nonzero()[0][0])
                raise self.fail(path, i, f"{c} '{df[c].iloc[i]}' is not a finite number")
            vals = vals.astype(float)
            lo, hi, *how = (ranges or {}).get(c, (-_HUGE, _HUGE))
            low = (vals <= lo) if how else (vals < lo)
            out = (low | (vals > hi)).fillna(False).to_numpy()
            if out.any():
                i = int(out.nonzero()[0][0])
                side = "above" if how else "at least"
                raise self.fail(path, i, f"{c} {df[c].iloc[i]} is outside its range ({side} {lo:g}, at most {hi:g})")
            df[c] = vals

    def covariates(self, src):
        if src is None:
            return pd.DataFrame(columns=["state", "year"])
        path, df = self.require(src, ["state", "year"])
        self.ids(path, df, "state", self.state_ids, "state")
        df["year"] = [self.year(path, i, "year", x, nullable=False) for i, x in enumerate(df["year"])]
        self.unique(path, df.astype({"year": str}), ["state", "year"])
        self._numeric(path, df, [c for c in df.columns if c not in ("state", "year", "source", "note")], _COVARIATES)
        return df.reset_index(drop=True)

    def tiers(self, src):
        if src is None:
            return pd.DataFrame(columns=["state", "year", "tier"])
        path, df = self.require(src, ["state", "year", "tier"])
        self.ids(path, df, "state", self.state_ids, "state")
        df["year"] = [self.year(path, i, "year", x, nullable=False) for i, x in enumerate(df["year"])]
        self.unique(path, df.astype({"year": str}), ["state", "year"])
        for i, t in enumerate(df["tier"]):
            if t not in TIERS:
                allowed = ", ".join(x or "(blank)" for x in TIERS)
                raise self.fail(path, i, f"tier must be one of {allowed}, got '{t}'")
        return df.reset_index(drop=True)

    def migration(self, src):
        if src is None:
            return pd.DataFrame(columns=["origin", "destination", "year", "migrants"])
        path, df = self.require(src, ["origin", "destination", "year", "migrants"])
        self.ids(path, df, "origin", self.state_ids, "state")
        self.ids(path, df, "destination", self.state_ids, "state")
        df["year"] = [self.year(path, i, "year", x, nullable=False) for i, x in enumerate(df["year"])]
        self.unique(path, df.astype({"year": str}), ["origin", "destination", "year"])
        self._numeric(path, df, ["migrants"])
        if (df["migrants"] > _MAX_MIGRANTS).any():
            i = int((df["migrants"] > _MAX_MIGRANTS).to_numpy().nonzero()[0][0])
            raise self.fail(path, i, f"migrants {df['migrants'].iloc[i]:g} is more than {_MAX_MIGRANTS:g}: not a count")
        if (df["migrants"] < 0).any():
            i = int((df["migrants"] < 0).to_numpy().nonzero()[0][0])
            raise self.fail(path, i, "migrants must not be negative")
        return df.reset_index(drop=True)

    def global_series(self, src):
        if src is None:
            return pd.DataFrame(columns=["year", "variable", "value"])
        path, df = self.require(src, ["year", "variable", "value"])
        df["year"] = [self.year(path, i, "year", x, nullable=False) for i, x in enumerate(df["year"])]
        self.unique(path, df.astype({"year": str}), ["variable", "year"])
        self._numeric(path, df, ["value"])
        spans = {v: (int(g.min()), int(g.max()), len(g)) for v, g in df.groupby("variable", sort=False)["year"]}
        for v, (lo, hi, n) in spans.items():
            if n != hi - lo + 1:
                raise self.fail(path, None, f"variable '{v}' skips years within {lo}-{hi}: give every year (a value "
                                "may be blank)")  # fmt: skip
        if len({(lo, hi) for lo, hi, _ in spans.values()}) > 1:
            listed = "; ".join(f"{v} {lo}-{hi}" for v, (lo, hi, _) in spans.items())
            raise self.fail(path, None, f"the variables span different years ({listed}): a misspelt name? Give "
                            "each variable every year of the table (a value may be blank)")  # fmt: skip
        share = df["variable"].astype(str).str.startswith("share").to_numpy() & ~df["value"].between(0, 1).to_numpy()
        if share.any():
            i = int(share.nonzero()[0][0])
            raise self.fail(path, i, f"{df['variable'].iloc[i]} {df['value'].iloc[i]} is a share: it must be in [0, 1]")
        return df.reset_index(drop=True)


def _empty_organizations() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "organization": pd.Series(dtype=str),
            "name": pd.Series(dtype=str),
            "membership": pd.Series(dtype=str),
            "founded": pd.Series(dtype="Int64"),
        }
    )


def _empty_memberships() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "organization": pd.Series(dtype=str),
            "state": pd.Series(dtype=str),
            "joined": pd.Series(dtype="int64"),
            "left": pd.Series(dtype="Int64"),
        }
    )


def _to_file(name: str, table: pd.DataFrame, record: Record) -> pd.DataFrame:
    """A validated table back in its file format (the inverse of the validator's conversions)."""
    t = table.copy()
    if name == "adoptions":
        t = t.drop(columns=["observed"], errors="ignore")
        not_needed = t["seen_until"].isna() | (t["seen_until"] >= record.end) | t["year_max"].notna()
        t["seen_until"] = t["seen_until"].astype("Int64").mask(not_needed)
    elif name == "agreements":
        t["binding"] = np.where(t["binding"].astype(bool), "yes", "no")
        t["covers"] = [" ".join(c) for c in t["covers"]]
    elif name == "instruments":
        t["obliges"] = [" ".join(c) for c in t["obliges"]]
    return t


def _toml_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _manifest(record: Record, files: dict) -> str:
    lines = [
        f"name = {_toml_string(record.name)}",
        f"title = {_toml_string(record.title)}",
        f"start = {int(record.start)}",
        f"end = {int(record.end)}",
        f"description = {_toml_string(record.description)}",
        *(
            [f"status_items = [{', '.join(_toml_string(x) for x in record.status_items)}]"]
            if record.status_items
            else []
        ),
        "",
        "[tables]",
        *[f"{k} = {_toml_string(v)}" for k, v in files.items()],
        "",
        "[sources]",
        *[f"{_toml_string(str(k))} = {_toml_string(str(v))}" for k, v in record.sources.items()],
        "",
    ]
    return "\n".join(lines)

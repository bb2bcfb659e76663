"""Property-based tests of every parser: generated inputs load, or raise the documented error naming where.

Each parser (scenario, record, change file, saved fit, sweep range) gets generated inputs built from valid
ones with keys and values replaced, added or dropped. The property: the input loads, or raises the library's
own error (ConfigError, RecordError, CalibrationError) naming the file or table; never anything else.

In the test run each property gets the ``ci`` profile's examples; ``scripts/fuzz.sh`` runs the ``fuzz``
profile (10,000 inputs per parser).
"""

from __future__ import annotations

import json
import math
import re
import shutil

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import harmsim
from harmsim.calibrate import calibrate, load_fit
from harmsim.data.record import record_from_tables
from harmsim.errors import CalibrationError, ConfigError, RecordError
from harmsim.model.interventions import Change
from harmsim.model.scenario import scenario_from_dict
from harmsim.model.space import parse_vary

pytestmark = pytest.mark.filterwarnings("ignore")

# Values of every kind a file can hold, including the awkward ones.
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(
        ["", "..", "../x", "a\x00b", "baseline", "asean", "observed", "kind", "yes", "0:1:3", "adopted", "not adopted"]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)

BASE = harmsim.load_scenario("baseline").to_dict()
PATHS = [(top, key) for top, sub in BASE.items() if isinstance(sub, dict) for key in sub] + [(k, None) for k in BASE]


def _mutated(base: dict, edits) -> dict:
    raw = json.loads(json.dumps(base, default=list))
    for (top, key), value, drop in edits:
        if key is None:
            if drop:
                raw.pop(top, None)
            else:
                raw[top] = value
        elif isinstance(raw.get(top), dict):
            if drop:
                raw[top].pop(key, None)
            else:
                raw[top][key] = value
    return raw


edits = st.lists(
    st.tuples(
        st.sampled_from([*PATHS, ("inputs", "unseen"), ("mechanisms", "wibble"), ("zzz", None)]), values, st.booleans()
    ),
    min_size=1,
    max_size=4,
)
nested = st.tuples(
    st.sampled_from(["push_pull", "diffusion", "agreements", "external", "frailty", "trend"]),
    st.text(max_size=10),
    values,
)


NUMPY_REPR = re.compile(r"\bnp\.[a-z_]+[0-9]*\(")


def _said(exc, *where: str) -> None:
    """One message, in words a reader reads: naming where (one of ``where``, if given), numbers as written."""
    message = str(exc)
    assert message and (not where or any(w in message for w in where)), message
    assert not NUMPY_REPR.search(message), message  # np.float64(100.0) where the file said 100


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=edits, deep=st.lists(nested, max_size=3))
def test_scenario_parser(edits, deep):
    raw = _mutated(BASE, edits)
    for mech, key, value in deep:
        if isinstance(raw.get("mechanisms"), dict) and isinstance(raw["mechanisms"].get(mech), dict):
            raw["mechanisms"][mech][key] = value
    try:
        scenario_from_dict(raw, where="fuzz.toml")
    except (ConfigError, RecordError) as exc:
        _said(exc, "fuzz.toml", "record")


TINY = {
    "states": pd.DataFrame({"state": ["A", "B"], "joined": ["1990", "1995"], "subregion": ["n", "s"]}),
    "instruments": pd.DataFrame(
        {"instrument": ["x", "y"], "requires": ["", "x"], "obliges": ["", "x"], "kind": ["law", "treaty"]}
    ),
    "adoptions": pd.DataFrame({"state": ["A"], "instrument": ["x"], "year": ["2001"]}),
    "covariates": pd.DataFrame({"state": ["A", "B"], "year": ["2000", "2000"], "gdp_pc": ["1000", "2000"]}),
    "borders": pd.DataFrame({"state_a": ["A"], "state_b": ["B"]}),
    "global_series": pd.DataFrame({"year": ["2000"], "variable": ["share_criminalized"], "value": ["0.5"]}),
}
cells = st.one_of(
    st.text(max_size=8), st.sampled_from(["", "A", "B", "x", "y", "2001", "1e308", "inf", "-1", "yes", "nan"])
)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=st.lists(st.tuples(st.sampled_from(sorted(TINY)), st.integers(0, 3), st.integers(0, 3), cells), max_size=5),
    window=st.tuples(st.integers(1700, 2200), st.integers(1700, 2200)),
)
def test_record_parser(edits, window):
    tables = {k: v.copy() for k, v in TINY.items()}
    for name, row, col, text in edits:
        t = tables[name]
        c = t.columns[col % len(t.columns)]
        if row < len(t):
            t.loc[t.index[row], c] = text
        else:
            tables[name] = pd.concat([t, t.iloc[[0]].assign(**{c: text})], ignore_index=True)
    try:
        record_from_tables("fuzz", *window, tables)
    except RecordError as exc:
        _said(exc, "fuzz")


CHANGE_KEYS = ["agreements", "covariates", "tiers", "membership", "parameters", "name", "description", "wibble"]
change_items = st.dictionaries(
    st.sampled_from(
        [
            "add",
            "remove",
            "move",
            "set",
            "year",
            "binding",
            "covers",
            "builds_on",
            "name",
            "states",
            "years",
            "multiply",
            "state",
            "joined",
            "left",
            "x",
        ]
    ),
    values | st.sampled_from(["decl_tip_2004", "actip_2015", "THA", "gdp_pc", 2004, ["tip_law"]]),
    max_size=4,
)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.dictionaries(st.sampled_from(CHANGE_KEYS), values | st.lists(change_items, max_size=3), max_size=4))
def test_change_file_parser(raw):
    from harmsim.analysis.counterfactual import _with_parameters

    try:
        change = Change.from_dict(raw, where="fuzz-change.toml")
        change.apply(harmsim.observed_record())
        _with_parameters(harmsim.load_scenario("baseline"), None, change)  # [parameters] of every kind
    except (ConfigError, RecordError) as exc:
        _said(exc, "fuzz-change.toml", "<")


@pytest.fixture(scope="module")
def saved_fit(tmp_path_factory):
    d = tmp_path_factory.mktemp("fit") / "fit"
    calibrate(harmsim.load_scenario("baseline"), free=["hazard.intercept", "diffusion.strength"]).save(d)
    return d


FIT_KEYS = [
    "format",
    "scenario",
    "scenario_digest",
    "record",
    "method",
    "n_obs",
    "loglik",
    "fixed",
    "log",
    "transforms",
    "observed_until",
    "model_digest",
]


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    changes=st.dictionaries(st.sampled_from(FIT_KEYS), values, max_size=3),
    drop=st.lists(st.sampled_from(FIT_KEYS), max_size=2),
    csv=st.one_of(st.none(), st.text(max_size=40)),
    which=st.sampled_from(["estimates.csv", "covariance.csv"]),
)
def test_fit_parser(saved_fit, tmp_path_factory, changes, drop, csv, which):
    d = tmp_path_factory.mktemp("f") / "fit"
    shutil.copytree(saved_fit, d)
    meta = json.loads((d / "fit.json").read_text())
    meta.update(changes)
    for k in drop:
        meta.pop(k, None)
    (d / "fit.json").write_text(json.dumps(meta, default=str, allow_nan=True))
    if csv is not None:
        (d / which).write_text(csv)
    try:
        fit = load_fit(d)
    except CalibrationError as exc:
        _said(exc, str(d))
        return
    assert isinstance(fit.n_obs, int) and all(math.isfinite(v) for v in fit.estimates["estimate"])
    try:  # what a loaded fit is used for: its transforms, its window, its draws
        harmsim.forecast(harmsim.load_scenario("baseline"), fit, until=2017, replicates=3)
    except (CalibrationError, ConfigError):
        pass


RECORD_KEYS = ["name", "title", "start", "end", "description", "status_items", "tables", "sources", "wibble"]


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(changes=st.dictionaries(st.sampled_from(RECORD_KEYS), values, max_size=3))
def test_record_manifest_parser(tmp_path_factory, changes):
    """record.toml with keys replaced by values of any kind: loads, or one RecordError naming the file."""
    import tomllib

    d = tmp_path_factory.mktemp("rec")
    harmsim.observed_record().write(d)
    meta = tomllib.loads((d / "record.toml").read_text())
    meta.update(changes)
    (d / "record.toml").write_text(_toml(meta))
    try:
        harmsim.load_record(d)
    except RecordError as exc:
        _said(exc, str(d))


def _toml(value, key=None) -> str:
    """A TOML document of ``value`` (a table); values TOML cannot hold are written as strings."""
    scalars_, tables = [], []
    for k, v in value.items():
        name = json.dumps(str(k))
        if isinstance(v, dict):
            tables.append(f"[{name}]\n" + _toml(v, k))
        else:
            scalars_.append(f"{name} = {_toml_value(v)}")
    return "\n".join(scalars_) + "\n" + "\n".join(tables)


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return {math.inf: "inf", -math.inf: "-inf"}.get(v, "nan" if v != v else repr(v))
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v if not isinstance(x, dict) and x is not None) + "]"
    return json.dumps("" if v is None or isinstance(v, dict) else str(v))


DESIGN_COLUMNS = ["diffusion.strength", "hazard.offsets.untoc", "agreements.lag", "agreements.arrival",
                  "hazard.offsets", "point", "x.y", "diffusion.enabled"]  # fmt: skip


# each input runs a sweep (one replicate per point): a tenth of the profile's count, at least 25
@settings(deadline=None, max_examples=max(25, settings.default.max_examples // 10),
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(
    columns=st.lists(st.sampled_from(DESIGN_COLUMNS), min_size=1, max_size=3, unique=True),
    cells=st.lists(scalars, min_size=1, max_size=6),
)
def test_design_table_parser(baseline, columns, cells):
    """A design table of any columns and values: evaluated, or one ConfigError."""
    from harmsim.analysis.sweep import evaluate

    n = max(1, len(cells) // len(columns))
    data = {c: [cells[(i * len(columns) + j) % len(cells)] for i in range(n)] for j, c in enumerate(columns)}
    try:
        table = pd.DataFrame(data)
    except OverflowError:  # pandas 2 cannot hold an integer beyond 64 bits but as an object
        table = pd.DataFrame(data, dtype=object)
    try:
        evaluate(baseline, table, replicates=1, progress=False)
    except ConfigError as exc:
        _said(exc, "design")


@settings(deadline=None)
@given(
    text=st.one_of(
        st.text(max_size=30),
        st.builds(
            lambda n, a, b, c: f"{n}={a}:{b}:{c}",
            st.sampled_from(
                ["diffusion.strength", "hazard.offsets.untoc", "agreements.lag", "agreements.arrival", "x.y"]
            ),
            st.text(max_size=6),
            st.text(max_size=6),
            st.text(max_size=6),
        ),
    )
)
def test_sweep_range_parser(baseline, text):
    try:
        parse_vary(text, baseline)
    except ConfigError as exc:
        _said(exc)


_WORLD = harmsim.load_record("world")


@settings(deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(
    states=st.lists(st.sampled_from(_WORLD.state_ids) | st.text(min_size=1, max_size=4), max_size=12),
)
def test_a_subset_keeps_exactly_its_states_or_refuses_in_words(states):
    """Any list of states: a sub-record of those states in the record's order, every state-keyed row of theirs
    and no other; or, for an unknown or empty list, a RecordError that names the problem."""
    known = [s for s in states if s in _WORLD.state_ids]
    if not states or len(known) < len(states):
        with pytest.raises(RecordError, match=r"unknown state|at least one state"):
            _WORLD.subset(states)
        return
    sub = _WORLD.subset(states)
    assert sub.state_ids == tuple(s for s in _WORLD.state_ids if s in set(states))
    for name in ("adoptions", "covariates", "tiers", "memberships", "status"):
        whole = getattr(_WORLD, name)
        assert len(getattr(sub, name)) == int(whole["state"].isin(states).sum()), name

"""Scenario files: shipped ones load; bad ones give one clear ConfigError."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import harmsim
from harmsim.errors import ConfigError
from harmsim.model.scenario import scenario_from_dict

from .conftest import SCENARIOS


def test_shipped_scenarios_are_listed():
    names = {n for n, _ in harmsim.list_scenarios()}
    assert {"baseline", "binding_only", "no_asean", "diffusion_only", "push_pull_only"} <= names
    assert all(desc for _, desc in harmsim.list_scenarios())


def test_scenario_meanings():
    assert harmsim.load_scenario("binding_only").mechanism("agreements").nonbinding == 0.0
    assert "agreements" not in harmsim.load_scenario("no_asean").enabled
    assert harmsim.load_scenario("diffusion_only").enabled == ("diffusion", "prerequisites")
    assert harmsim.load_scenario("push_pull_only").enabled == ("push_pull", "prerequisites")
    assert set(harmsim.load_scenario("baseline").enabled) == {
        "push_pull",
        "diffusion",
        "agreements",
        "external",
        "capacity",
        "prerequisites",
    }


_DIFFUSION = "[mechanisms.diffusion]\n[ranges]\n"
BAD = [
    ("colour = 1\n", r"unknown key 'colour'; allowed: name"),
    ("[mechanisms.diffusion]\nstrenght = 1\n", r"unknown key 'diffusion.strenght'; allowed: strength"),
    ("[mechanisms.diffusion]\nstrength = 'high'\n", r"'diffusion.strength' must be a number"),
    (
        "[mechanisms.diffusion]\nstrength = 99\n",
        r"'diffusion.strength' = 99 is outside the allowed range \[-20.0, 20.0\]",
    ),
    ("[mechanisms.telepathy]\nstrength = 1\n", r"unknown mechanism 'telepathy'; allowed: push_pull"),
    ("[mechanisms.agreements]\narrival = 'psychic'\n", r"choices: observed, endogenous"),
    ("[mechanisms.agreements]\nlag = 1.5\n", r"'agreements.lag' must be an integer"),
    ("[hazard]\noffsets = { untok = 1 }\n", r"unknown key 'hazard.offsets.untok'; allowed: tip_law"),
    ("[window]\nstart = 1990\n", r"window 1990-2015 must start inside the record"),
    ("[mechanisms.external]\napplies_to = ['x']\n", r"unknown instrument 'x'"),
    ("name = [\n", r"TOML syntax error"),
    ("[mechanisms.diffusion]\nenabled = 'yes'\n", r"enabled' must be true or false"),
    ('[ranges]\n"diffusion.strenght" = [0, 1]\n', r"'ranges': unknown parameter 'diffusion.strenght'"),
    ('[mechanisms.agreements]\n[ranges]\n"agreements.lag" = [0, 2]\n', r"only real parameters take a range"),
    (f'{_DIFFUSION}"diffusion.strength" = [1, 0]\n', r"must be \[lo, hi\] with lo < hi inside .*-20.0, 20.0"),
    (f'{_DIFFUSION}"diffusion.strength" = [0, 99]\n', r"must be \[lo, hi\] with lo < hi"),
    (f"{_DIFFUSION}\"diffusion.strength\" = 'wide'\n", r"must be \[lo, hi\]"),
    ("[inputs]\nunseen = 'maybe'\n", r"'inputs.unseen' must be one of 'not adopted', 'adopted', got 'maybe'"),
    ("[inputs]\nunsen = 'adopted'\n", r"unknown key 'inputs.unsen'; allowed: reference, unseen, extend"),
]


@pytest.mark.parametrize(("text", "pattern"), BAD)
def test_bad_scenario_files(tmp_path, text, pattern):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=pattern) as info:
        harmsim.load_scenario(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_mechanism_needing_missing_data_is_refused(tmp_path):
    path = tmp_path / "g.toml"
    path.write_text('record = "global_criminalization"\n[mechanisms.capacity]\nstrength = 1\n')
    with pytest.raises(ConfigError, match="needs the covariate gdp_pc"):
        harmsim.load_scenario(path)


def test_with_params_validates(baseline):
    sc = baseline.with_params({"diffusion.strength": 0.5, "hazard.offsets.untoc": 1.0})
    assert sc.mechanism("diffusion").strength == 0.5
    assert sc.parameters()["hazard.offsets.untoc"] == 1.0
    assert baseline.mechanism("diffusion").strength != 0.5  # the original is unchanged
    with pytest.raises(ConfigError, match="outside the allowed range"):
        baseline.with_params({"diffusion.strength": 1e6})
    with pytest.raises(ConfigError, match=r"unknown parameter 'wibble\.x'"):
        baseline.with_params({"wibble.x": 1})
    with pytest.raises(ConfigError, match="mechanism 'agreements' is off"):
        harmsim.load_scenario("no_asean").with_params({"agreements.binding": 1})
    assert sc.digest != baseline.digest


def test_with_params_changes_only_the_offsets_it_names(baseline):
    before = dict(baseline.hazard.offsets)
    sc = baseline.with_params({"hazard.offsets": {"untoc": 1.0}})
    assert dict(sc.hazard.offsets) == {**before, "untoc": 1.0}
    with pytest.raises(ConfigError, match="not a string"):
        baseline.with_params({1: 1})
    with pytest.raises(ConfigError, match="takes a mapping"):
        baseline.with_params(None)


@settings(max_examples=80, deadline=None)
@given(value=st.one_of(st.floats(allow_nan=True), st.integers(), st.text(max_size=5), st.booleans()))
def test_any_value_is_accepted_or_refused_cleanly(value):
    raw = {"mechanisms": {"diffusion": {"strength": value}}}
    try:
        sc = scenario_from_dict(raw, where="prop.toml")
    except ConfigError as exc:
        assert "prop.toml" in str(exc) and "diffusion.strength" in str(exc)
    else:
        assert -20 <= sc.mechanism("diffusion").strength <= 20
        assert not isinstance(value, (bool, str))


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_every_scenario_loads_and_runs(path):
    sc = harmsim.load_scenario(path)
    res = harmsim.run(sc, seed=0)
    n = len(sc.world.states) * len(sc.world.instruments)
    assert len(res.adoptions) == n
    assert list(res.adoptions.columns) == ["state", "instrument", "year"]
    assert str(res.adoptions["year"].dtype) == "Int64"
    years = res.adoptions["year"].dropna()
    assert years.between(sc.record.start - 100, sc.end).all()
    assert res.model.year == sc.end


def test_names_never_become_paths_outside_a_folder(tmp_path):
    """A scenario's name names the folders of its fits: one that could leave a folder is refused."""
    for bad in ("../../ESCAPED", "a\x00b", ".hidden", "x" * 65, "a/b", ""):
        with pytest.raises(ConfigError, match="'name' must be"):
            scenario_from_dict({"name": bad}, where="evil.toml")
    f = tmp_path / "my scenario (v2).toml"
    f.write_text("[mechanisms.diffusion]\nstrength = 1.0\n")
    assert harmsim.load_scenario(f).name == "my_scenario__v2_"


def test_declared_ranges_round_trip_and_stay_out_of_the_digest(baseline, tmp_path):
    """[ranges] is read, written back by to_dict, carried by with_params, and does not change the digest."""
    names = [n for n, _, _ in baseline.ranges]
    assert "diffusion.strength" in names and ("diffusion.strength", -1.0, 3.0) in baseline.ranges
    again = scenario_from_dict(baseline.to_dict(), where="t")
    assert again.ranges == baseline.ranges and again.digest == baseline.digest
    raw = {k: v for k, v in baseline.to_dict().items() if k != "ranges"}
    assert scenario_from_dict(raw, where="t").digest == baseline.digest
    assert baseline.with_params({"diffusion.strength": 0.5}).ranges == baseline.ranges


def test_the_reading_of_unseen_years_round_trips_and_makes_another_fit(tmp_path):
    """[inputs] unseen: read, written back only when not the default (every digest of before stays), carried by
    with_params and extends, and part of the model digest a saved fit checks."""
    world = harmsim.load_scenario("world_baseline")
    assert world.unseen == "not adopted" and "unseen" not in world.to_dict()["inputs"]
    path = tmp_path / "upper.toml"
    path.write_text('extends = "world_baseline"\nname = "upper"\n[inputs]\nunseen = "adopted"\n')
    upper = harmsim.load_scenario(path)
    assert upper.unseen == "adopted" and upper.extension == world.extension  # the base's other inputs kept
    assert upper.to_dict()["inputs"]["unseen"] == "adopted"
    assert scenario_from_dict(upper.to_dict(), where="t").unseen == "adopted"
    assert upper.with_params({"diffusion.strength": 0.5}).unseen == "adopted"
    free = ["diffusion.strength"]
    assert upper.model_digest(free) != world.with_params({}).model_digest(free)
    assert scenario_from_dict(world.to_dict(), where="t").digest == world.digest


def test_a_scenario_extends_another_with_only_what_differs(tmp_path):
    """#23 item 19: extends = "baseline", then the keys that change; tables merged key by key."""
    (tmp_path / "nod.toml").write_text(
        'extends = "baseline"\n[hazard]\noffsets = { untoc = 1.0 }\n[mechanisms.diffusion]\nstrength = 0.0\n'
        "[mechanisms.agreements]\nenabled = false\n"
    )
    (tmp_path / "nod2.toml").write_text(
        'extends = "nod.toml"\nname = "second"\n[mechanisms.capacity]\nstrength = 1.5\n'
    )
    base = harmsim.load_scenario("baseline")
    sc = harmsim.load_scenario(tmp_path / "nod.toml")
    changed = {k for k, v in sc.parameters().items() if base.parameters().get(k) != v}
    assert sc.name == "nod" and changed == {"hazard.offsets.untoc", "diffusion.strength"}
    assert sc.parameters()["hazard.offsets.asean_mlat"] == base.parameters()["hazard.offsets.asean_mlat"]
    assert "agreements" not in sc.enabled and sc.description.startswith("extends baseline:")
    two = harmsim.load_scenario(tmp_path / "nod2.toml")
    assert two.name == "second" and two.parameters()["capacity.strength"] == 1.5
    assert two.parameters()["diffusion.strength"] == 0.0 and two.start == base.start
    (tmp_path / "a.toml").write_text('extends = "b.toml"\n')
    (tmp_path / "b.toml").write_text('extends = "a.toml"\n')
    with pytest.raises(ConfigError, match="goes round in a circle"):
        harmsim.load_scenario(tmp_path / "a.toml")
    (tmp_path / "c.toml").write_text('extends = "atlantis"\n')
    with pytest.raises(ConfigError, match="extends 'atlantis', which is no scenario file"):
        harmsim.load_scenario(tmp_path / "c.toml")
    (tmp_path / "d.toml").write_text('extends = "baseline"\n[mechanisms.diffusion]\nstrenght = 1.0\n')
    with pytest.raises(ConfigError, match="strenght"):
        harmsim.load_scenario(tmp_path / "d.toml")

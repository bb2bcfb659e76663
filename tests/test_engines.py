"""Engines: identity on synthetic regions, Mesa's batch_run, and Mesa 3.3 batch_run's known defects.

Mesa 3.3's batch_run drops the final state of a model that stops itself,
runs one step too many with max_steps, keeps every finished model alive, and
switches the multiprocessing start method at import. These tests show that
harmsim's own runs have none of these, on either Mesa version.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import weakref

import numpy as np
import pandas as pd
import pytest

import harmsim
from harmsim._mesa import mesa
from harmsim.errors import ConfigError, HarmsimWarning
from harmsim.model import HarmonizationModel
from harmsim.model.synthetic import synthetic_region, synthetic_scenario

from .conftest import SCENARIOS

MESA = tuple(int(x) for x in mesa.__version__.split(".")[:2])


def members_by(sc, year) -> set:
    """States that are members (agents) in ``year``; Timor-Leste joins only in 2025."""
    w = sc.world
    return {s for s, j in zip(w.states, w.joined) if j <= year}


@pytest.mark.parametrize(("n", "k", "like"), [(7, 3, "baseline"), (25, 5, "endogenous"), (12, 7, "diffusion_only")])
def test_engines_identical_on_synthetic_regions(n, k, like):
    sc = synthetic_scenario(synthetic_region(n, k, seed=n), like=like)
    seeds = harmsim.spawn_seeds(n * 100 + k, 30)
    batch = harmsim.run_ensemble(sc, seeds=seeds)
    mesa_runs = harmsim.run_ensemble(sc, seeds=seeds, engine="mesa")
    pd.testing.assert_frame_equal(batch.adoptions, mesa_runs.adoptions)
    pd.testing.assert_frame_equal(batch.agreements, mesa_runs.agreements)
    assert batch.adoptions["year"].notna().any()


def test_engines_identical_over_many_seeds(baseline):
    seeds = harmsim.spawn_seeds(99, 300)
    b = harmsim.run_ensemble(baseline, seeds=seeds)
    m = harmsim.run_ensemble(baseline, seeds=seeds, engine="mesa")
    pd.testing.assert_frame_equal(b.adoptions, m.adoptions)


def test_chunked_batch_equals_unchunked(baseline, monkeypatch):
    import harmsim.model.batch as batch

    seeds = harmsim.spawn_seeds(4, 25)
    whole = harmsim.run_ensemble(baseline, seeds=seeds).adoptions
    monkeypatch.setattr(batch, "CHUNK", 7)
    pd.testing.assert_frame_equal(harmsim.run_ensemble(baseline, seeds=seeds).adoptions, whole)


def test_final_year_is_kept_and_no_extra_step(baseline):
    m = HarmonizationModel(baseline, rng=3)
    m.run_model()
    assert not m.running and m.steps == 19 and m.year == 2015
    with pytest.warns(HarmsimWarning, match="step\\(\\) does nothing"):
        m.step()  # a stopped model does not move, and says so
    assert m.steps in (19, 20) and m.year == 2015 and m.ti == 18
    df = m.datacollector.get_model_vars_dataframe()
    assert len(df) == 20 and df["year"].iloc[-1] == 2015  # initial state + 19 years
    agents = m.datacollector.get_agent_vars_dataframe().reset_index()
    last = agents[agents["Step"] == agents["Step"].max()]
    assert agents["Step"].max() == 19
    final = harmsim.run(baseline, seed=3).adoptions.dropna(subset=["year"])
    final = final[final["state"].isin(members_by(baseline, 2015))]  # agents are the members
    inst = baseline.world.instruments
    recorded = {(r["state"], k) for _, r in last.iterrows() for k in inst if r[f"adopted_{k}"]}
    assert recorded == set(zip(final["state"], final["instrument"]))


def test_mesa_batch_run_matches_batch_engine(baseline):
    """mesa.batch_run drives HarmonizationModel over a parameter; its rows agree with harmsim's own runs.

    Mesa 3.3 reports the step before the last for a model that stops itself
    (its known defect, fixed in 3.4): there the rows are compared with the
    harmsim result as of that year.
    """
    seeds = [11, 12, 13]
    strengths = [0.0, 2.0]
    if MESA >= (3, 4):
        rows = mesa.batch_run(
            HarmonizationModel,
            {"scenario": "baseline", "diffusion_strength": strengths},
            rng=seeds,
            number_processes=1,
            data_collection_period=-1,
            display_progress=False,
        )
        df = pd.DataFrame(rows)
        df["seed"] = df["RunId"].map(dict(enumerate(s for s in seeds for _ in strengths)))
    else:
        rows = mesa.batch_run(
            HarmonizationModel,
            {"scenario": "baseline", "seed": seeds, "diffusion_strength": strengths},
            iterations=1,
            number_processes=1,
            data_collection_period=-1,
            display_progress=False,
        )
        df = pd.DataFrame(rows)
    assert set(df["year"]) == ({2015} if MESA >= (3, 4) else {2014})
    assert set(map(float, df["diffusion_strength"])) == set(strengths) and df["scenario"].eq("baseline").all()
    inst = baseline.world.instruments
    for (s, strength), g in df.groupby(["seed", "diffusion_strength"]):
        ens = harmsim.run_ensemble(baseline.with_params({"diffusion.strength": strength}), seeds=[s])
        a = ens.adoptions
        y = g["year"].iloc[0]
        expected = a[(a["year"] <= y) & a["state"].isin(members_by(baseline, y))]
        got = {(r["state"], k) for _, r in g.iterrows() for k in inst if r[f"adopted_{k}"]}
        assert got == set(zip(expected["state"], expected["instrument"])), (s, strength)
        for k in inst:  # model reporters: adopters per instrument among the members
            assert (g[f"adopters_{k}"] == (expected["instrument"] == k).sum()).all()


def test_constructor_follows_mesa_conventions(baseline):
    """No seed: a fresh one, recorded, that reproduces the run; parameters as keywords; refusals name the key."""
    m, other = HarmonizationModel("baseline"), HarmonizationModel("baseline")
    assert isinstance(m.seed, int) and m.seed != other.seed
    m.run_model()
    other.run_model()  # finished models are released (Mesa 3.3 keeps unfinished ones: docs/engines.md)
    again = HarmonizationModel("baseline", rng=m.seed)
    again.run_model()
    np.testing.assert_array_equal(m.state.adopt_year, again.state.adopt_year)
    kw = HarmonizationModel(baseline, rng=4, diffusion_strength=0.5, hazard_offsets_untoc=1.0)
    p = kw.config.parameters()
    assert p["diffusion.strength"] == 0.5 and p["hazard.offsets.untoc"] == 1.0
    kw.run_model()
    with pytest.raises(harmsim.ConfigError, match=r"unknown parameter keyword 'difusion_strength'.*diffusion_strength"):
        HarmonizationModel(baseline, rng=1, difusion_strength=1.0)
    with pytest.raises(harmsim.ConfigError, match="outside the allowed range"):
        HarmonizationModel(baseline, rng=1, diffusion_strength=99.0)
    with pytest.raises(harmsim.ConfigError, match="not both"):
        HarmonizationModel(baseline, rng=1, seed=1)
    with pytest.raises(harmsim.ConfigError, match="not a numpy Generator"):
        HarmonizationModel(baseline, rng=np.random.default_rng(np.random.SeedSequence(1)))


def test_ambiguous_keywords_are_refused():
    from types import SimpleNamespace

    from harmsim.model.scenario import keyword_parameters

    fake = SimpleNamespace(
        name="fake",
        parameters=lambda: {"a.b_c": 1.0, "a_b.c": 2.0, "d.e": 3.0},
        record=SimpleNamespace(instrument_ids=()),
    )
    assert keyword_parameters(fake, {"d_e": 1.0}) == {"d.e": 1.0}
    with pytest.raises(harmsim.ConfigError, match=r"'a_b_c' is ambiguous \(a\.b_c or a_b\.c\)"):
        keyword_parameters(fake, {"a_b_c": 1.0})


def test_user_draws_do_not_move_the_adoption_stream(baseline):
    """Agent code drawing from model.rng and model.random (and shuffling agents) leaves the history alone."""

    class Noisy(HarmonizationModel):
        def step(self):
            self.rng.random(5)
            self.random.random()
            self.agents.shuffle_do("__repr__")
            super().step()

    seeds = harmsim.spawn_seeds(21, 5)
    ens = harmsim.run_ensemble(baseline, seeds=seeds)
    for r, s in enumerate(seeds):
        m = Noisy(baseline, rng=s, collect=False)
        m.run_model()
        got = m.adoptions().dropna(subset=["year"])
        want = ens.adoptions[ens.adoptions["replicate"] == r].dropna(subset=["year"])
        assert set(zip(got["state"], got["instrument"], got["year"])) == set(
            zip(want["state"], want["instrument"], want["year"])
        )


def test_finished_models_are_not_kept_alive(baseline):
    refs = []
    original = HarmonizationModel.__init__

    def tracking(self, *a, **kw):
        original(self, *a, **kw)
        refs.append(weakref.ref(self))

    HarmonizationModel.__init__ = tracking
    try:
        harmsim.run_ensemble(baseline, replicates=50, seed=0, engine="mesa")
    finally:
        HarmonizationModel.__init__ = original
    gc.collect()
    assert len(refs) == 50 and all(r() is None for r in refs)


@pytest.mark.slow
def test_memory_flat_over_10000_mesa_runs(baseline):
    """After 10,000 finished Mesa runs, no model is alive and Python's heap has not grown.

    ``sys.getallocatedblocks`` counts live Python memory blocks; one kept
    model would hold thousands of them.
    """

    def runs(n, first):
        for i in range(first, first + n):
            HarmonizationModel(baseline, rng=i, collect=False).run_model()
        gc.collect()
        return sys.getallocatedblocks()

    runs(200, 0)
    after_1k = runs(1_000, 1_000)
    after_10k = runs(9_000, 2_000)
    assert not [o for o in gc.get_objects() if isinstance(o, HarmonizationModel)]
    assert after_10k - after_1k < 2_000, f"{after_10k - after_1k} more blocks after 9,000 more runs"


def test_import_does_not_change_the_start_method():
    code = (
        "import multiprocessing as mp; b = mp.get_start_method(allow_none=True); "
        "import harmsim, harmsim.analysis.sweep, harmsim.model; print(b, mp.get_start_method(allow_none=True))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == out[1]


def test_mesa_is_imported_only_with_the_mesa_model():
    """The batch engine, sweeps' workers and the CLI's start-up do without Mesa; the model's classes load it."""
    code = (
        "import sys, harmsim, harmsim.analysis.sweep, harmsim.analysis.sensitivity, harmsim.cli; "
        "sc = harmsim.load_scenario('baseline'); harmsim.run_ensemble(sc, replicates=2, seed=0); "
        "before = 'mesa' in sys.modules; m = harmsim.HarmonizationModel; "
        "print(before, 'mesa' in sys.modules, m is harmsim.model.HarmonizationModel, hasattr(harmsim, 'nothing'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True", "True", "False"]


def test_synthetic_ensemble_has_one_row_per_replicate_state_instrument():
    small = synthetic_scenario(synthetic_region(10, 2, seed=0))
    a = harmsim.run_ensemble(small, replicates=5, seed=0)
    assert a.adoptions.shape[0] == 5 * 10 * 2
    assert np.isin(a.adoptions["instrument"].unique(), ["i01", "i02"]).all()


def test_datacollector_year_by_year_matches_batch_engine(baseline):
    """Every year's DataCollector record of the Mesa model equals the batch engine's history."""
    seed = harmsim.spawn_seeds(8, 1)[0]
    m = HarmonizationModel(baseline, rng=seed)
    m.run_model()
    years = m.datacollector.get_model_vars_dataframe()["year"].to_numpy()
    agents = m.datacollector.get_agent_vars_dataframe().reset_index()
    inst = baseline.world.instruments
    batch_years = harmsim.run_ensemble(baseline, seeds=[seed]).adoptions.dropna(subset=["year"])
    for step, g in agents.groupby("Step"):
        year = years[int(step)]
        recorded = {(r["state"], k) for _, r in g.iterrows() for k in inst if r[f"adopted_{k}"]}
        expected = batch_years[(batch_years["year"] <= year) & batch_years["state"].isin(members_by(baseline, year))]
        assert recorded == set(zip(expected["state"], expected["instrument"])), year
        assert (g["n_adopted"] == g[[f"adopted_{k}" for k in inst]].sum(axis=1)).all()


def test_ensemble_parameters_table(baseline):
    ens = harmsim.run_ensemble(baseline, replicates=2, seed=0)
    p = ens.parameters.set_index("parameter")["value"]
    assert p["diffusion.strength"] == baseline.parameters()["diffusion.strength"]


def test_result_folders_are_written_aside_and_replaced_only_when_asked(tmp_path, baseline):
    """A result appears complete (with its manifest) or not at all; an earlier result is replaced only with
    force, whole; a folder that is not a harmsim result is never replaced; a failed save leaves no trace."""
    import json

    from harmsim._output import MANIFEST, ResultFolder, is_complete

    ens = harmsim.run_ensemble(baseline, replicates=3, seed=1)
    out = tmp_path / "out"
    paths = ens.save(out)
    assert is_complete(out) and all(p.parent == out and p.is_file() for p in paths)
    assert sorted(json.loads((out / MANIFEST).read_text())["files"]) == sorted(p.name for p in paths)
    f = harmsim.forecast(baseline, None, until=2017, replicates=4, seed=2)
    with pytest.raises(harmsim.OutputError, match="pass --force"):
        f.save(out, figures=False)
    f.save(out, figures=False, force=True)
    assert not (out / "adoptions.csv").exists() and (out / "forecast.csv").is_file() and is_complete(out)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    with pytest.raises(harmsim.OutputError, match="never replaced"):
        ens.save(mine, force=True)
    assert (mine / "notes.txt").read_text() == "keep"
    with pytest.raises(RuntimeError), ResultFolder(out, "ensemble", force=True) as rf:
        ens.write(rf.path)
        raise RuntimeError("killed half way")
    assert (out / "forecast.csv").is_file() and is_complete(out)  # the earlier complete result
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no partial folder left
    (out / "forecast.csv").unlink()
    assert not is_complete(out)
    with pytest.raises(harmsim.OutputError, match="not a usable output folder"):
        ens.save("")


def test_a_killed_save_leaves_no_litter_for_the_next(tmp_path, baseline):
    """Partial and replaced folders of a save whose process died are removed by the next save there."""
    from harmsim._output import is_complete

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = dead.stdout.strip()
    (tmp_path / f".out.partial-{pid}-abc").mkdir()
    (tmp_path / f".out.old-{pid}-def").mkdir()
    (tmp_path / f".out.partial-{os.getpid()}-live").mkdir()  # a save in progress (this process) is left alone
    (tmp_path / ".other.partial-1-x").mkdir()  # another destination's
    harmsim.run_ensemble(baseline, replicates=2, seed=1).save(tmp_path / "out")
    assert is_complete(tmp_path / "out")
    assert {p.name for p in tmp_path.iterdir() if p.name.startswith(".")} == {
        f".out.partial-{os.getpid()}-live",
        ".other.partial-1-x",
    }


def test_files_put_in_the_destination_during_a_save_are_never_replaced(tmp_path, baseline):
    from harmsim._output import ResultFolder

    ens = harmsim.run_ensemble(baseline, replicates=2, seed=1)
    dest = tmp_path / "out"
    with (
        pytest.raises(harmsim.OutputError, match="was written by someone else while this result was computed"),
        ResultFolder(dest, "ensemble") as rf,
    ):
        rf.add(ens.write(rf.path))
        dest.mkdir()
        (dest / "thesis.tex").write_text("mine")
    assert (dest / "thesis.tex").read_text() == "mine"


def _rows_equal_their_own_runs(sc, rows, table, seeds) -> np.ndarray:
    """One engine call over ``rows`` (scenarios) and over ``table`` (their values) equals each row's own run."""
    from harmsim.model import batch

    adopt, arrival = batch.simulate(sc, seeds, rows=rows)
    a_table, g_table = batch.simulate(sc, seeds, rows=table)  # the same rows as a table of values
    np.testing.assert_array_equal(a_table, adopt)
    np.testing.assert_array_equal(g_table, arrival)
    for r, (row, seed) in enumerate(zip(rows, seeds)):
        a1, g1 = batch.simulate(row, [seed])
        np.testing.assert_array_equal(a1[0], adopt[r])
        np.testing.assert_array_equal(g1[0], arrival[r])
    return adopt


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_parameter_axis_equals_one_run_per_parameter_set(path):
    """Replicate r with parameters theta_r in one engine call equals the batch engine and the Mesa model run with
    theta_r alone, to the bit: intercept, offsets and every linear coefficient varied at random (some at 0)."""
    from harmsim.model.space import bounds_of
    from harmsim.rng import stream

    sc = harmsim.load_scenario(path)
    names = ["hazard.intercept"] + [f"hazard.offsets.{k}" for k in sc.world.instruments[:3]]
    for (mname, _), m in zip(sc.mechanisms, sc.dynamics.mechanisms):
        names += [f"{mname}.{c}" for c in m.linear_coefficients()]
    g = stream(3, path.stem)
    rows, table = [], []
    for _ in range(6):
        values = {}
        for n in names:
            lo, hi = bounds_of(sc, n)
            values[n] = 0.0 if g.random() < 0.2 and lo <= 0 <= hi else float(g.uniform(max(lo, -3), min(hi, 3)))
        rows.append(sc.with_params(values))
        table.append(values)
    table = pd.DataFrame(table)
    table["diffusion.strength" if "diffusion.strength" in table else names[0]] = 0.5  # a shared value
    rows[:] = [sc.with_params(v) for v in table.to_dict("records")]
    seeds = harmsim.spawn_seeds(11, len(rows))
    adopt = _rows_equal_their_own_runs(sc, rows, table, seeds)
    mesa_run = harmsim.run(rows[0], seed=seeds[0])
    np.testing.assert_array_equal(mesa_run.model.state.adopt_year[0], adopt[0])


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_parameter_axis_takes_every_parameter(path):
    """Every parameter of every mechanism varied between rows, non-linear ones and choices included (lags,
    persistence, weights, thresholds, arrival): each row equals its own run to the bit, in one engine call, as
    a list of scenarios and as a table. Before: rows differing in a non-linear parameter were refused and the
    callers ran them one at a time, silently (ABC on `endogenous` 90x slower per simulation)."""
    from harmsim.model.params import Choice, Integer, Real
    from harmsim.model.space import parameter_spec
    from harmsim.rng import stream

    sc = harmsim.load_scenario(path)
    g = stream(5, path.stem)
    # frailty.by changes how many propensities a replicate draws: rows cannot share it (refused, tested below)
    names = [n for n, v in sc.parameters().items() if not n.startswith("hazard.") and v is not None]
    names = [n for n in names if n != "frailty.by"]

    def accepted(name, choice):  # a record may refuse a choice (endogenous arrival with organizations)
        try:
            sc.with_params({name: choice}).dynamics  # noqa: B018
        except ConfigError:
            return False
        return True

    choices = {n: [c for c in spec.choices if accepted(n, c)] for n in names
               if isinstance(spec := parameter_spec(sc, n), Choice)}  # fmt: skip
    rows, table = [], []
    for r in range(8):
        values = {}
        for n in names:
            spec = parameter_spec(sc, n)
            if isinstance(spec, Choice):
                values[n] = choices[n][int(g.integers(len(choices[n])))]
            elif isinstance(spec, Integer):
                values[n] = int(g.integers(spec.lo, min(spec.hi, spec.lo + 3) + 1))
            elif isinstance(spec, Real):
                lo, hi = max(spec.lo, -2.0), min(spec.hi, 2.0)
                values[n] = float(g.uniform(lo, hi)) if r % 3 else float(sc.parameters()[n])  # some rows alike
        values["hazard.intercept"] = float(g.uniform(-6, -3))
        rows.append(sc.with_params(values))
        table.append(values)
    _rows_equal_their_own_runs(sc, rows, pd.DataFrame(table), harmsim.spawn_seeds(13, len(rows)))


def test_endogenous_thresholds_are_one_binding_for_all_rows():
    """The agreements' thresholds travel as (R,) arrays (``row_params``): one bound mechanism for 50 rows that
    all differ, and the rows equal their own runs."""
    from harmsim.model import batch
    from harmsim.model.dynamics import Rows

    sc = harmsim.load_scenario("endogenous")
    R = 50
    g = np.random.default_rng(np.random.SeedSequence(4))
    names = ["agreements.threshold_nonbinding", "agreements.threshold_binding", "agreements.nonbinding"]
    values = np.column_stack([g.uniform(0, 0.5, R), g.uniform(0.5, 1, R), g.uniform(0, 1.5, R)])
    rows = Rows.from_values(sc, names, values)
    j = [n for n, _ in sc.mechanisms].index("agreements")
    assert len(rows.parts[j]) == 1 and rows.parts[j][0].rows is None
    assert rows.parts[j][0].whole.threshold.shape == (R, len(sc.world.agreements))
    seeds = harmsim.spawn_seeds(2, R)
    adopt, arrival = batch.simulate(sc, seeds, rows=pd.DataFrame(values, columns=names))
    for r in (0, 17, 49):
        a1, g1 = batch.simulate(sc.with_params(dict(zip(names, values[r]))), [seeds[r]])
        np.testing.assert_array_equal(a1[0], adopt[r])
        np.testing.assert_array_equal(g1[0], arrival[r])


def test_parameter_axis_refuses_unknown_and_non_numeric_names_in_a_matrix(baseline):
    from harmsim.model import batch

    het = harmsim.load_scenario("heterogeneity")
    with pytest.raises(harmsim.ConfigError, match=r"'frailty': rows that differ .* state propensities"):
        batch.simulate(het, [1, 2], rows=[het, het.with_params({"frailty.by": "kind"})])

    with pytest.raises(harmsim.ConfigError, match=r"unknown parameter 'diffusion\.nonsense'.*valid: .*strength"):
        batch.simulate(baseline, [1, 2], rows=pd.DataFrame({"diffusion.nonsense": [1.0, 2.0]}))
    with pytest.raises(harmsim.ConfigError, match=r"unknown parameter 'hazard\.offsets\.nonsense'"):
        batch.simulate(baseline, [1, 2], rows=pd.DataFrame({"hazard.offsets.nonsense": [1.0, 2.0]}))
    with pytest.raises(harmsim.ConfigError, match=r"'agreements\.arrival' is not a numeric parameter"):
        batch.simulate(baseline, [1, 2], rows=pd.DataFrame({"agreements.arrival": [1.0, 2.0]}))
    # a non-linear value shared by every row goes into the template: the run with that value
    shared = pd.DataFrame({"agreements.lag": [2.0, 2.0], "diffusion.strength": [0, 1]})
    a, _ = batch.simulate(baseline, [1, 2], rows=shared)
    b, _ = batch.simulate(baseline.with_params({"agreements.lag": 2, "diffusion.strength": 1.0}), [2])
    np.testing.assert_array_equal(a[1], b[0])


def test_parameter_axis_refuses_rows_of_another_structure(baseline):
    from harmsim.model import batch

    other = harmsim.load_scenario("diffusion_only")
    with pytest.raises(harmsim.ConfigError, match=r"cannot share a parameter axis .* one list of mechanisms"):
        batch.simulate(baseline, [1, 2], rows=[baseline, other])


def test_a_gate_whose_non_linear_parameter_differs_between_rows(baseline, monkeypatch):
    """A gate bound once per distinct value of a non-linear parameter, on its own rows: the engines' axis (rows
    of replicates) and the likelihood's blocks (rows of parameter sets on one history) give each row's own
    history, log-odds and gates exactly. No shipped gate has such a parameter, so a made-up one stands in."""
    import sys
    import types

    from harmsim.data.world import NEVER
    from harmsim.model.dynamics import Block
    from harmsim.model.mechanisms import REGISTRY
    from harmsim.model.mechanisms.base import Mechanism, PastView
    from harmsim.model.params import Integer, Real
    from harmsim.model.scenario import scenario_from_dict
    from harmsim.rng import stream

    class Window(Mechanism):
        """Adoption allowed only from ``opens`` on, with ``push`` added in that first year.

        Direction: ``push > 0`` makes the first allowed year likelier."""

        name = "window"
        summary = "a made-up gate for the test"
        linear = ("push",)
        params = {"opens": Integer(2000, 1990, 2020, "first year"), "push": Real(0.5, -5.0, 5.0, "first-year push")}

        def gate(self, ti, view, idx):
            t = int(self.world.years[ti])
            allowed = np.full((1, len(self.world.states), len(idx)), t >= self.p.opens)
            return allowed, np.full(allowed.shape, self.p.push * float(t == self.p.opens))

        def reads_adoptions(self):
            return None

    module = types.ModuleType("harmsim.model.mechanisms.window")
    module.Window = Window
    Window.__module__ = module.__name__
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(REGISTRY, "window", Window)
    mechs = {m: {k: v for k, v in p.as_dict().items() if v is not None} for m, p in baseline.mechanisms}
    mechs["window"] = {}
    raw = {"hazard": {"intercept": -2.5, "offsets": dict(baseline.hazard.offsets)}, "mechanisms": mechs}
    sc = scenario_from_dict(raw, where="test")
    values = [(1999, 0.5), (2003, 1.0), (1999, -1.0), (2006, 0.0), (2003, 2.0)]
    rows = [sc.with_params({"window.opens": o, "window.push": q}) for o, q in values]
    table = pd.DataFrame(values, columns=["window.opens", "window.push"]).astype(float)
    _rows_equal_their_own_runs(sc, rows, table, harmsim.spawn_seeds(8, len(rows)))
    block = Block(rows)
    assert len(block.parts[-1]) == 3  # one binding per distinct opening year
    world = sc.world
    T, N, K = world.shape
    state = sc.dynamics.initial_state(2)
    g = stream(2, "window history")
    state.adopt_year[:] = np.where(g.random((2, N, K)) < 0.4, world.start + g.integers(0, T, (2, N, K)), NEVER)
    risk = np.ones((2, N, K), dtype=bool)
    for ti in range(T):
        view = PastView(state, int(world.years[ti]))
        eta = np.broadcast_to(block.logit(ti, view), (len(rows), 2, N, K))
        for li in range(len(block.layers)):
            _, r, e = block.layer(li, ti, state, eta, risk)
            for b, s in enumerate(rows):
                _, r1, e1 = s.dynamics.layer(li, ti, state, eta[b], risk)
                np.testing.assert_array_equal(np.broadcast_to(r, (len(rows), *np.shape(r1)))[b], r1)
                np.testing.assert_array_equal(np.broadcast_to(e, (len(rows), *np.shape(e1)))[b], e1)

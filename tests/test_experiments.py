"""The experiment scripts that compare two backtests, run on small tables written here.

``experiments/paired_backtests.py`` pairs two backtests' cells (same origin, state, instrument and outcome)
and says per origin whether the second is better, worse or not told apart from the first;
``experiments/asean_from_the_panel.py`` does the same on the ASEAN states only;
``experiments/asia_pacific_panel.py`` writes a regional sub-panel and its scenario, then compares alike;
``experiments/monte_carlo_backtests.py`` gives a gain's spread over backtests run with other seeds.
``experiments/scenario_backtests.py`` tabulates scenarios' gains over the logit, beyond Monte Carlo noise.
``experiments/posterior_summary.py`` sets a fit's posterior beside its estimate and normal approximation.
``experiments/law_and_treaty_order.py`` counts which came first, a state's law or the treaty that obliges it.
"""

from __future__ import annotations

import json
import runpy
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import harmsim
from harmsim.analysis.backtest import LOGIT

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


def _cells(folder: Path, model: str, scores: dict) -> Path:
    """A backtest folder whose cells.csv holds ``scores`` {(origin, state): log score} for instrument k, with a
    baseline scored alike in both."""
    rows = []
    for (origin, state), s in scores.items():
        rows.append({"origin": origin, "model": model, "state": state, "instrument": "k", "outcome": "later",
                     "log_score": s})  # fmt: skip
        rows.append({"origin": origin, "model": "uniform", "state": state, "instrument": "k", "outcome": "later",
                     "log_score": -1.0})  # fmt: skip
    folder.mkdir()
    pd.DataFrame(rows).to_csv(folder / "cells.csv", index=False)
    return folder


def _run(script: str, args: list[str], capsys) -> tuple[int, str]:
    saved = sys.argv
    sys.argv = [script, *args]
    try:
        with pytest.raises(SystemExit) as stop:
            runpy.run_path(str(EXPERIMENTS / script), run_name="__main__")
    finally:
        sys.argv = saved
    return stop.value.code, capsys.readouterr().out


def test_paired_backtests_says_which_forecasts_better(tmp_path, capsys):
    """Better by 0.5 on every cell of one origin (clustered s.e. 0): "better"; on another origin +0.5 and -0.5
    alternately: "not told apart"; the shared baseline's gain is exactly 0."""
    states = [f"S{i}" for i in range(8)]
    a = {(o, s): -2.0 for o in (2005, 2008) for s in states}
    b = {(2005, s): -1.5 for s in states} | {(2008, s): -2.0 + (0.5 if i % 2 else -0.5) for i, s in enumerate(states)}
    code, out = _run(
        "paired_backtests.py", [str(_cells(tmp_path / "a", "m1", a)), str(_cells(tmp_path / "b", "m2", b))], capsys
    )
    assert code == 0
    assert "from 2005: m2 against m1 on 8 common cells is better: +0.500 per cell" in out
    assert "from 2008: m2 against m1 on 8 common cells is not told apart (within 2 s.e.): +0.000" in out
    table = runpy.run_path(str(EXPERIMENTS / "paired_backtests.py"))["paired"](tmp_path / "a", tmp_path / "b")
    assert table.loc[table["a"] == "uniform (a)", "log_score_gain"].abs().max() == 0.0
    assert list(table.loc[table["a"] == "uniform (a)", "b"].unique()) == ["uniform (b)"]  # named by its folder
    # half and half: the pool gives each 2005 outcome (e^-2 + e^-1.5) / 2, above m1's and below m2's on every cell
    first = table[(table["a"] == "m1") & (table["origin"] == 2005)].iloc[0]
    assert first["b_adds"] == pytest.approx(np.log((np.exp(-2) + np.exp(-1.5)) / 2) + 2.0)
    assert first["a_adds"] == pytest.approx(np.log((np.exp(-2) + np.exp(-1.5)) / 2) + 1.5)
    assert "from 2005: m2 against m1" in out and "'m2' mixed into 'm1' adds (+0.281" in out
    assert "'m1' mixed into 'm2' costs (-0.219" in out
    assert "from 2008" in out and "'m2' mixed into 'm1' adds nothing measurable (+0.031" in out


def test_paired_backtests_names_a_model_both_folders_score_by_its_folder(tmp_path, capsys):
    """The same scenario run two ways (e.g. ``--parameters estimate`` beside the default) is named by the
    shortest ends of the folders' paths that differ, in the table and the sentences alike."""
    states = [f"S{i}" for i in range(4)]
    drawn = _cells(tmp_path / "drawn", "m1", {(2005, s): -2.0 for s in states})
    (tmp_path / "plug-in").mkdir()
    plug_in = _cells(tmp_path / "plug-in" / "drawn", "m1", {(2005, s): -1.0 for s in states})
    code, out = _run("paired_backtests.py", [str(drawn), str(plug_in)], capsys)
    assert code == 0
    assert "from 2005: m1 (plug-in/drawn) against m1 (" in out and "/drawn) on 4 common cells is better" in out
    table = runpy.run_path(str(EXPERIMENTS / "paired_backtests.py"))["paired"](drawn, plug_in)
    assert set(table["b"]) == {"m1 (plug-in/drawn)", "uniform (plug-in/drawn)"}
    assert not table["a"].str.startswith("m1 (plug-in").any()


def test_paired_backtests_compares_the_timing_of_adoptions_where_both_score_it(tmp_path, capsys):
    """Adoption cells scored given adoption in both folders: the second times them better by 0.3 on every one
    (clustered s.e. 0), read as better on the timing alone; a "later" cell has no timing and is not counted. With
    the same log score, the second loses on whether they adopt what it gains on the timing: the two parts add up."""
    rows = {"a": [], "b": []}
    for i in range(4):
        outcome = "later" if i == 3 else "2010"
        for folder, model, timing in (("a", "m1", -1.0), ("b", "m2", -0.7)):
            rows[folder].append({"origin": 2008, "model": model, "state": f"S{i}", "instrument": "k",
                                 "outcome": outcome, "log_score": -1.5,
                                 "log_score_adopted": np.nan if outcome == "later" else timing,
                                 "log_score_whether": -1.5 if outcome == "later" else -1.5 - timing})  # fmt: skip
    for folder, r in rows.items():
        (tmp_path / folder).mkdir()
        pd.DataFrame(r).to_csv(tmp_path / folder / "cells.csv", index=False)
    code, out = _run("paired_backtests.py", [str(tmp_path / "a"), str(tmp_path / "b")], capsys)
    assert code == 0
    assert "on the timing alone (3 adoptions, given adoption) better: +0.300 (s.e. 0.000)" in out
    table = runpy.run_path(str(EXPERIMENTS / "paired_backtests.py"))["paired"](tmp_path / "a", tmp_path / "b")
    assert table.iloc[0]["adoptions"] == 3 and table.iloc[0]["timing_gain"] == pytest.approx(0.3)
    assert table.iloc[0]["whether_gain"] == pytest.approx(-0.3 * 3 / 4)
    assert table.iloc[0]["whether_gain"] + 0.3 * 3 / 4 == pytest.approx(table.iloc[0]["log_score_gain"])
    assert "on whether they adopt (4 cells) worse: -0.225" in out


def test_paired_backtests_on_a_record_s_states_and_without_common_cells(tmp_path, capsys):
    """``--states asean`` keeps the ASEAN states (the panel's other states are left out); folders without a
    common cell exit 1 with a sentence."""
    a = {(2005, s): -2.0 for s in ("THA", "VNM", "FRA", "DEU")}
    b = {(2005, "THA"): -1.0, (2005, "VNM"): -3.0, (2005, "FRA"): 0.0, (2005, "DEU"): 0.0}
    fa, fb = _cells(tmp_path / "a", "asean", a), _cells(tmp_path / "b", "world", b)
    code, out = _run("paired_backtests.py", [str(fa), str(fb), "--states", "asean"], capsys)
    assert code == 0 and "on 2 common cells" in out and "+0.000 per cell" in out
    code, out = _run("asean_from_the_panel.py", [str(fa), str(fb)], capsys)
    assert code == 0 and "the panel's forecast of ASEAN's cells on 2 common cells" in out
    other = _cells(tmp_path / "c", "world", {(2011, "THA"): -1.0})
    code, out = _run("paired_backtests.py", [str(fa), str(other)], capsys)
    assert code == 1 and "score no common cell" in out


def test_asia_pacific_panel_writes_its_sub_record_and_scenario_and_compares(tmp_path, capsys, monkeypatch):
    """The experiment's wiring, its backtest replaced by a table: the sub-record holds the 32 states of the two
    subregions, the scenario it writes loads (world_baseline on that record), and the three comparisons are
    printed, the third without ACTIP's cells."""
    import harmsim.cli

    real_main, seen = harmsim.cli.main, {}

    def main(argv):
        if argv[0] != "backtest":
            return real_main(argv)
        sc = harmsim.load_scenario(argv[1])
        seen["scenario"] = sc
        out = Path(argv[argv.index("--out") + 1])
        out.mkdir(parents=True)
        pairs = [(s, k) for s in ("THA", "VNM") for k in ("untoc", "actip")]
        rows = [{"origin": 2005, "model": "asia_pacific", "state": s, "instrument": k, "outcome": "later",
                 "log_score": -1.0 if k == "untoc" else -3.0} for s, k in pairs]  # fmt: skip
        pd.DataFrame(rows).to_csv(out / "cells.csv", index=False)
        return 0

    monkeypatch.setattr(harmsim.cli, "main", main)
    ref = pd.DataFrame([{"origin": 2005, "model": "m", "state": s, "instrument": k, "outcome": "later",
                         "log_score": -2.0} for s in ("THA", "VNM") for k in ("untoc", "actip")])  # fmt: skip
    (tmp_path / "ref").mkdir()
    ref.to_csv(tmp_path / "ref" / "cells.csv", index=False)
    out = tmp_path / "ap"
    code, printed = _run("asia_pacific_panel.py", [str(out), str(tmp_path / "ref"), str(tmp_path / "ref")], capsys)
    assert code == 0
    sc = seen["scenario"]
    assert sc.name == "asia_pacific" and len(sc.record.states) == 32 and "THA" in sc.record.state_ids
    assert set(sc.record.states["subregion"]) == {"East Asia and Pacific", "South Asia"}
    assert sc.mechanism("agreements") is not None  # world_baseline's mechanisms, extended
    assert "on 4 common cells is not told apart" in printed  # +1 and -1 on two states each: gain 0
    assert "ACTIP left out, on 2 common cells is better: +1.000 per cell" in printed


@pytest.mark.parametrize("path", sorted((EXPERIMENTS / "scenarios").glob("*.toml")), ids=lambda p: p.stem)
def test_every_experiment_scenario_loads_and_runs(path):
    """The experiment scenarios docs/regions.md reports are not shipped, so nothing else loads them: each still
    reads under the current validation, names itself after its file, extends a shipped scenario (differing in
    what it says, the rest inherited) and runs."""
    raw = tomllib.loads(path.read_text())
    sc = harmsim.load_scenario(path)
    assert sc.name == path.stem
    assert raw["extends"] in [name for name, _ in harmsim.list_scenarios()]
    base = harmsim.load_scenario(raw["extends"])
    assert sc.record.name == base.record.name and sc.digest != base.digest
    res = harmsim.run(sc, seed=0)
    assert len(res.adoptions) == len(sc.world.states) * len(sc.world.instruments)


def test_asean_texts_panel_adds_the_asean_record_s_follow_ups_to_the_world_record(tmp_path):
    """The declared rule: the ASEAN record's texts the world record lacks (by date), covering a world instrument,
    restricted to the world's instruments, each building on the world record's own ids; the enlarged record
    loads."""
    sys.path.insert(0, str(EXPERIMENTS))
    try:
        from asean_texts_panel import asean_texts, write_record
    finally:
        sys.path.remove(str(EXPERIMENTS))
    world, asean = harmsim.load_record("world"), harmsim.load_record("asean")
    added = asean_texts(world, asean)
    texts = ["vision_2020", "plan_of_action_1999", "work_programme_2002", "practitioner_guidelines_2007",
             "work_plan_2007_2009", "joint_statement_2011"]  # fmt: skip
    assert list(added["source_id"]) == texts
    assert not set(added["date"].astype(str)) & set(world.agreements["date"].astype(str))
    assert all(set(c.split()) <= set(world.instrument_ids) for c in added["covers"])
    ids = set(world.agreements["agreement"]) | set(added["agreement"])
    assert all(b in ids for b in added["builds_on"] if b)
    assert write_record(tmp_path / "r").equals(added)
    enlarged = harmsim.load_record(tmp_path / "r")
    assert len(enlarged.agreements) == len(world.agreements) + 6
    assert enlarged.organization_summary().loc["ASEAN", "non_binding"] == 3 + 6


def test_asean_instruments_panel_adds_asean_s_own_instruments_to_the_world_record(tmp_path, capsys, monkeypatch):
    """The declared rule: the ASEAN record's instruments the world record lacks, open to ASEAN's members only,
    with the ten members' outcomes and ASEAN's agreements that call for them matched on date and bindingness
    (the 2015 Convention, not the plan of action signed the same day); the enlarged record loads, its scenario
    frees the two new offsets, and the four comparisons are printed (backtests replaced by tables)."""
    import harmsim.cli

    sys.path.insert(0, str(EXPERIMENTS))
    try:
        from asean_instruments_panel import coverage, new_instruments
    finally:
        sys.path.remove(str(EXPERIMENTS))
    world, asean = harmsim.load_record("world"), harmsim.load_record("asean")
    assert new_instruments(world, asean) == ["asean_mlat", "hsu_process"]
    both = ["asean_mlat", "hsu_process"]
    assert coverage(world, asean) == {"asean_decl_2004": both, "asean_actip_2015": both}

    real_main, seen = harmsim.cli.main, []

    def main(argv):
        if argv[0] != "backtest":
            return real_main(argv)
        seen.append(argv)
        out = Path(argv[argv.index("--out") + 1])
        out.mkdir(parents=True)
        panel = argv[1].endswith(".toml")
        kinds = ("asean_mlat",) if "--hold-out" in argv else ("untoc", "asean_mlat")
        rows = [{"origin": 2005, "model": "m", "state": s, "instrument": k, "outcome": "later",
                 "log_score": -1.0 if panel else -2.0} for s in ("THA", "VNM") for k in kinds]  # fmt: skip
        pd.DataFrame(rows).to_csv(out / "cells.csv", index=False)
        return 0

    monkeypatch.setattr(harmsim.cli, "main", main)
    ref = tmp_path / "ref"
    ref.mkdir()
    pd.DataFrame([{"origin": 2005, "model": "m", "state": s, "instrument": k, "outcome": "later",
                   "log_score": -2.0} for s in ("THA", "VNM") for k in ("untoc", "asean_mlat")]).to_csv(
        ref / "cells.csv", index=False)  # fmt: skip
    out = tmp_path / "ai"
    code, printed = _run("asean_instruments_panel.py", [str(out), str(ref), str(ref)], capsys)
    assert code == 0
    enlarged = harmsim.load_record(out / "record")
    assert enlarged.instrument_ids[-2:] == ("asean_mlat", "hsu_process")
    assert set(enlarged.instruments.set_index("instrument").loc[both, "organization"]) == {"ASEAN"}
    mlat = enlarged.adoptions.query("instrument == 'asean_mlat' and year.notna()")
    assert sorted(mlat["state"]) == sorted(set(asean.state_ids) - {"TLS"})
    assert int(mlat.set_index("state").loc["THA", "year"]) == 2013  # the study's Table 3
    sc = harmsim.load_scenario(out / "world_asean_instruments.toml")
    free = harmsim.calibrate.default_free(sc, sc.record)
    assert {"hazard.offsets.asean_mlat", "hazard.offsets.hsu_process"} <= set(free)
    held = [a for a in seen if "--hold-out" in a]
    assert [a[1] for a in held] == [str(out / "world_asean_instruments.toml"), "baseline_trend"]
    assert "on 4 common cells is better: +1.000 per cell" in printed  # 1: every cell both score
    assert "held-out asean_mlat on 2 common cells is better: +1.000 per cell" in printed  # 4: the hold-out


def test_world_gdp_panel_keeps_the_states_with_gdp_and_adds_capacity_alone(tmp_path, capsys, monkeypatch):
    """The declared rule: the states with GDP per head in every year 1999-2011 (Myanmar, without any, left
    out), both scenarios world_baseline over 1999-2015 on them, "with GDP" adding capacity alone, free in the fit,
    its 2011 values carried on; the comparisons and the estimate's interval are printed (backtests replaced)."""
    import harmsim.cli
    from harmsim.calibrate.mle import default_free

    sys.path.insert(0, str(EXPERIMENTS))
    try:
        from world_gdp_panel import states_with_gdp
    finally:
        sys.path.remove(str(EXPERIMENTS))
    world = harmsim.load_record("world")
    kept, left = states_with_gdp(world)
    assert "MMR" in left and "THA" in kept and len(kept) + len(left) == len(world.state_ids)
    cov = world.covariates[world.covariates["state"].isin(kept) & world.covariates["year"].between(1999, 2011)]
    assert cov["gdp_pc"].notna().all()
    real_main, seen = harmsim.cli.main, {}

    def main(argv):
        if argv[0] != "backtest":
            return real_main(argv)
        sc = harmsim.load_scenario(argv[1])
        seen[sc.name] = sc
        out = Path(argv[argv.index("--out") + 1])
        with_gdp = sc.mechanism("capacity") is not None
        rows = [{"origin": 2005, "model": sc.name, "state": s, "instrument": "untoc", "outcome": "later",
                 "log_score": -1.0 if with_gdp else -2.0} for s in ("THA", "VNM", "FRA")]  # fmt: skip
        estimate = pd.DataFrame([{"parameter": "capacity.strength", "estimate": 0.2, "se": 0.1, "lower": 0.004,
                                  "upper": 0.396}])  # fmt: skip
        for o in (2005, 2008, 2011):
            (out / "fits" / f"{o}-{sc.name}").mkdir(parents=True)
            estimate.to_csv(out / "fits" / f"{o}-{sc.name}" / "estimates.csv", index=False)
        pd.DataFrame(rows).to_csv(out / "cells.csv", index=False)
        return 0

    monkeypatch.setattr(harmsim.cli, "main", main)
    ref = tmp_path / "ref"
    ref.mkdir()
    pd.DataFrame([{"origin": 2005, "model": "baseline_trend", "state": s, "instrument": "untoc", "outcome": "later",
                   "log_score": -3.0} for s in ("THA", "VNM")]).to_csv(ref / "cells.csv", index=False)  # fmt: skip
    code, printed = _run("world_gdp_panel.py", [str(tmp_path / "gdp"), str(ref)], capsys)
    assert code == 0
    without, with_gdp = seen["world_1999"], seen["world_1999_gdp"]
    assert without.start == with_gdp.start == 1999 and set(without.world.states) == set(kept)
    assert without.mechanism("capacity") is None
    assert "capacity.strength" in default_free(with_gdp, with_gdp.record)
    assert with_gdp.reference_window == (1999, 2011)
    assert "from 2005: +0.200 (s.e. 0.100), its 95% interval excludes 0" in printed
    assert "the panel with GDP against without on 3 common cells is better: +1.000 per cell" in printed
    assert "Myanmar (MMR)" in printed
    assert "the panel with GDP against the ASEAN record on 2 common cells is better: +2.000 per cell" in printed


def test_calibration_of_backtests_reads_mid_or_randomized_pit_per_origin_and_instrument(tmp_path, capsys):
    """Cells whose PIT is 0.2 everywhere read 0.2 (late) with zero spread; a folder written before pit_mid
    existed is read through its randomized PIT; the shared baselines are kept from the first folder only."""
    rows = []
    for origin in (2005, 2011):
        for i in range(6):
            for model, pit in (("m1", 0.2), ("uniform", 0.5)):
                rows.append({"origin": origin, "model": model, "state": f"S{i}", "instrument": "law" if i % 2 else "k",
                             "pit": pit, "pit_mid": pit})  # fmt: skip
    a = tmp_path / "bt" / "a"
    a.mkdir(parents=True)
    pd.DataFrame(rows).to_csv(a / "cells.csv", index=False)
    b = tmp_path / "bt" / "b"
    b.mkdir()
    old = pd.DataFrame(rows).drop(columns="pit_mid").replace({"m1": "m2"})
    old.loc[old["model"] == "m2", "pit"] = 0.8
    old.to_csv(b / "cells.csv", index=False)
    code, out = _run("calibration_of_backtests.py", [str(tmp_path / "out"), str(a), str(b), "--instrument", "law"],
                     capsys)  # fmt: skip
    assert code == 0 and "mean PIT: 1/2 when calibrated" in out
    t = pd.read_csv(tmp_path / "out" / "calibration.csv")
    m1 = t[t["model"] == "m1"].iloc[0]
    assert (m1["pit"], m1["all_cells"], m1["law_cells"]) == ("pit_mid", 6, 3)
    assert m1["all_mean"] == pytest.approx(0.2) and m1["law_se"] == pytest.approx(0.0)
    m2 = t[t["model"] == "m2"].iloc[0]
    assert m2["pit"] == "pit" and m2["all_mean"] == pytest.approx(0.8)
    assert list(t.loc[t["model"] == "uniform", "folder"].unique()) == ["bt/a"]


def _seeded(folder: Path, shift: float, outcome: str = "later") -> Path:
    """A backtest folder of scenario m whose per-cell log scores beat the uniform baseline's by 1 + ``shift``,
    with a spread across six states and a linear pool the experiment leaves out."""
    rows = []
    for i in range(6):
        for model, score in (("m", -1.0 + shift + 0.1 * (i % 3)), ("uniform", -2.0), ("linear pool", -9.0)):
            rows.append({"origin": 2008, "model": model, "state": f"S{i}", "instrument": "k", "outcome": outcome,
                         "log_score": score, "crps": 0.5})  # fmt: skip
    folder.mkdir(parents=True)
    pd.DataFrame(rows).to_csv(folder / "cells.csv", index=False)
    (folder / "provenance.json").write_text('{"scenario": "m", "backtest": {"replicates": 100}}')
    return folder


def test_monte_carlo_backtests_gives_the_spread_of_a_gain_over_seeds(tmp_path, capsys):
    """Three seeds whose gains are 1.1, 1.2 and 1.3 (and the same spread over states): mean 1.2 and Monte Carlo
    s.d. 0.1, the verdict 'better' with every seed, written beside the folders, not into them; folders that scored
    other cells are refused."""
    folders = [_seeded(tmp_path / f"seed{s}", 0.1 * s) for s in range(3)]
    code, out = _run("monte_carlo_backtests.py", [str(tmp_path / "mc"), *(str(f) for f in folders)], capsys)
    assert code == 0
    t = pd.read_csv(tmp_path / "mc" / "monte_carlo.csv")
    assert not any((f / "monte_carlo.csv").exists() for f in folders)  # the backtests' folders are only read
    assert t[["scenario", "baseline", "runs", "cells"]].values.tolist() == [["m", "uniform", 3, 6]]
    r = t.iloc[0]
    assert r["gain_mean"] == pytest.approx(1.2) and r["monte_carlo_sd"] == pytest.approx(0.1)
    assert r["ratio"] == pytest.approx(r["monte_carlo_sd"] / r["sampling_se"]) and r["verdicts"] == "better"
    assert "'better' with every seed" in out
    noise = pd.read_csv(tmp_path / "mc" / "shared_noise.csv").iloc[0]
    p = np.exp(-1.0 + 0.1 * (np.arange(6) % 3) + 0.1 * np.arange(3)[:, None])  # (seeds, cells)
    independent = (np.sqrt(((1 - p) / (100 * p)).sum(axis=1)) / 6).mean()  # the delta method, per seed, averaged
    assert (noise["model"], noise["runs"], noise["few"]) == ("m", 3, 0)
    assert noise["measured_sd"] == pytest.approx(0.1) and noise["independent_sd"] == pytest.approx(independent)
    assert f"Monte Carlo s.d. 0.100 over 3 seeds, {0.1 / independent:.1f} times the {independent:.3f}" in out
    # at 12 replicates the first folder's cells of p e^-1 and e^-0.9 (four of six) are produced by 4.4 and 4.9 of
    # them, fewer than 5, those of p e^-0.8 by 5.4
    for f in folders:
        (f / "provenance.json").write_text('{"scenario": "m", "backtest": {"replicates": 12}}')
    few = runpy.run_path(str(EXPERIMENTS / "monte_carlo_backtests.py"))["shared_noise"](folders).iloc[0]
    assert few["few"] == 4 and few["independent_sd"] == pytest.approx(independent * np.sqrt(100 / 12))
    other = _seeded(tmp_path / "other", 0.0, outcome="2010")
    with pytest.raises(SystemExit, match="did not score the same cells"):
        runpy.run_path(str(EXPERIMENTS / "monte_carlo_backtests.py"))["monte_carlo"]([folders[0], other])


def _scenario_folder(folder: Path, scenario: str, gains: dict, cells: list[float], spread: dict | None = None) -> Path:
    """A backtest folder of ``scenario``: per origin its gain and s.e. over the logit (``gains``), its cells' log
    scores at 2008, and, when given, the Monte Carlo spread per origin (gain_min, gain_max, verdicts)."""
    folder.mkdir(parents=True)
    (folder / "provenance.json").write_text(json.dumps({"scenario": scenario}))
    scores = [{"origin": o, "model": m, "log_score": v} for o in gains for m, v in ((scenario, -1.0), (LOGIT, -1.2))]
    pd.DataFrame(scores).to_csv(folder / "scores.csv", index=False)
    paired = [{"origin": o, "model": scenario, "baseline": b, "cells": 9, "log_score_gain": g, "log_score_se": se}
              for o, (g, se) in gains.items() for b in (LOGIT, "uniform")]  # fmt: skip
    pd.DataFrame(paired).to_csv(folder / "paired.csv", index=False)
    states = [f"S{i}" for i in range(len(cells))]
    cells = pd.DataFrame({"origin": 2008, "model": scenario, "state": states, "instrument": "k", "outcome": "later",
                          "log_score": cells})  # fmt: skip
    cells.to_csv(folder / "cells.csv", index=False)
    if spread is not None:
        rows = [{"model": scenario, "origin": o, "baseline": LOGIT, "runs": 2, "gain_mean": (lo + hi) / 2,
                 "gain_min": lo, "gain_max": hi, "monte_carlo_sd": (hi - lo) / np.sqrt(2), "verdicts": v}
                for o, (lo, hi, v) in spread.items()]  # fmt: skip
        pd.DataFrame(rows).to_csv(folder / "monte_carlo.csv", index=False)
    return folder


def test_scenario_backtests_counts_the_verdicts_that_hold_with_every_seed_and_names_one_model_twice(tmp_path, capsys):
    """Three scenarios: one better with both seeds from 2005 and better or not with the seed from 2008; one run
    with a single seed, level; a third scoring its cells exactly as the second: said to be one model."""
    s1 = _scenario_folder(tmp_path / "s1", "s1", {2005: (0.5, 0.1), 2008: (0.25, 0.1)}, [-1.0, -2.0],
                          {2005: (0.45, 0.55, "better"), 2008: (0.15, 0.35, "better, not told apart")})  # fmt: skip
    s2 = _scenario_folder(tmp_path / "s2", "s2", {2005: (-0.1, 0.1)}, [-1.5, -0.5])
    s3 = _scenario_folder(tmp_path / "s3", "s3", {2005: (-0.1, 0.1)}, [-1.5, -0.5])
    code, out = _run("scenario_backtests.py", [str(tmp_path / "t"), str(s1), str(s2), str(s3)], capsys)
    assert code == 0
    t = pd.read_csv(tmp_path / "t" / "scenario_backtests.csv")
    assert t[["scenario", "origin", "runs"]].values.tolist() == [["s1", 2005, 2], ["s1", 2008, 2], ["s2", 2005, 1],
                                                                 ["s3", 2005, 1]]  # fmt: skip
    assert t.loc[2, "verdicts"] == "not told apart" and np.isnan(t.loc[2, "monte_carlo_sd"])
    assert t.loc[0, "logit"] == pytest.approx(-1.2) and t.loc[0, "gain_mean"] == pytest.approx(0.5)
    assert (
        "4 comparisons with the event-history logit (3 scenarios); with every seed: 2 not told apart, 1 better" in out
    )
    assert "; 1 change with the seed." in out
    assert "'s1' from 2008: +0.250 per cell (+0.150 to +0.350 over 2 seeds, s.e. 0.100): better, not told apart" in out
    assert "'s1' from 2005 is better than the logit with every seed: +0.500 per cell" in out
    assert "'s3' scores exactly as 's2', cell by cell: on this record the two are one model." in out
    assert "'s2' scores exactly as 's1'" not in out


def test_posterior_summary_says_where_the_posterior_moves_and_where_a_range_shapes_it(tmp_path, capsys):
    """On a small fit: one row per drawn parameter with the normal's and the posterior's moments, and the
    sentences; on a table written here, a mean moved by more than one posterior s.d. and an interval at a
    range's edge are named, and a parameter with neither is not."""
    from harmsim.calibrate import calibrate

    fit = calibrate(harmsim.load_scenario("baseline"), free=["hazard.intercept", "external.momentum"],
                    observed_until=2005)  # fmt: skip
    fit.save(tmp_path / "fit")
    code, out = _run("posterior_summary.py", ["baseline", str(tmp_path / "fit"), "--sampler", "importance",
                                              "-n", "2000"], capsys)  # fmt: skip
    assert code == 0 and "importance resampling: effective sample size" in out
    assert "posterior_mean" in out and "hazard.intercept" in out and "external.momentum" in out
    words = runpy.run_path(str(EXPERIMENTS / "posterior_summary.py"))["words"]
    row = {"estimate": 0.0, "se": 1.0, "bound_lo": -10.0, "bound_hi": 10.0, "normal_mean": 0.0, "normal_sd": 1.0,
           "posterior_mean": 0.0, "posterior_sd": 1.0, "q025": -2.0, "q975": 2.0}  # fmt: skip
    table = pd.DataFrame([{"parameter": "calm", **row},
                          {"parameter": "moved", **row, "posterior_mean": 1.5},
                          {"parameter": "at_edge", **row, "q975": 9.95}])  # fmt: skip
    said = " ".join(words(table))
    assert "from the estimate for moved (0.00 -> 1.50, s.d. 1.00)" in said
    assert "reaches an edge of the allowed range for at_edge (-2.00 to 9.95 in [-10, 10])" in said
    assert "calm" not in said
    assert words(table.iloc[:1]) == [
        "No posterior mean lies more than 1 posterior s.d. from its estimate.",
        "No 95% posterior interval reaches an edge of its range.",
    ]


def test_sweep_of_diffusion_and_agreements_writes_its_grid_curve_and_figures(tmp_path, capsys):
    """The sweep experiment (docs/sweeps.md) runs both its designs, the grid of 9 x 11 points and the response
    curve of 16, and names the best point; two replicates a point keep it quick."""
    main = runpy.run_path(str(EXPERIMENTS / "sweep_diffusion_agreements.py"))["main"]
    main([str(tmp_path), "--replicates", "2", "--workers", "1"])
    out = capsys.readouterr().out
    assert len(pd.read_csv(tmp_path / "grid.csv")) == 9 * 11
    assert len(pd.read_csv(tmp_path / "nonbinding.csv")) == 16
    for name in ("landscape", "nonbinding_response"):
        assert (tmp_path / f"{name}.png").stat().st_size > 0 and (tmp_path / f"{name}.pdf").stat().st_size > 0
    assert "best grid point: diffusion.strength = " in out and "best with non-binding agreements switched off" in out


@pytest.mark.slow
def test_mechanism_comparison_is_compare_mechanisms(tmp_path, capsys):
    """The study's experiment of record runs the command it names and writes its table (quick: no refits)."""
    code, out = _run("mechanism_comparison.py", [str(tmp_path), "--quick", "--replicates", "20"], capsys)
    assert code == 0
    assert (tmp_path / "comparison.csv").is_file() and "baseline" in out


def test_law_and_treaty_order_counts_each_order_and_leaves_out_unknown_years(tmp_path, capsys):
    """Three states with a law and the treaty that obliges it (law first, same year, treaty first), one whose
    treaty year is known only within an interval (left out: its order may be unknown), one with the law alone."""
    from harmsim.data.record import record_from_tables

    states = pd.DataFrame({"state": list("ABCDE"), "joined": [1990] * 5})
    instruments = pd.DataFrame({"instrument": ["x", "p"], "obliges": ["", "x"]})
    rows = [("A", "x", 2001), ("A", "p", 2003), ("B", "x", 2002), ("B", "p", 2002), ("C", "x", 2006),
            ("C", "p", 2002), ("D", "x", 2001), ("E", "x", 2004)]  # fmt: skip
    ad = pd.DataFrame([(s, k, y, y, y) for s, k, y in rows] + [("D", "p", "", 2000, 2005)],
                      columns=["state", "instrument", "year", "year_min", "year_max"])  # fmt: skip
    rec = record_from_tables("order", 2000, 2008, {"states": states, "instruments": instruments, "adoptions": ad})
    order = runpy.run_path(str(EXPERIMENTS / "law_and_treaty_order.py"))["order_table"]
    got = order(rec).iloc[0].to_dict()
    assert got == {"treaty": "p", "obliges": "x", "states": 3, "law_first": 1, "same_year": 1, "treaty_first": 1,
                   "median_gap": 0.0}  # fmt: skip
    code, out = _run("law_and_treaty_order.py", ["--record", "asean", "--out", str(tmp_path / "order.csv")], capsys)
    assert code == 0 and "tip_protocol" in out
    table = pd.read_csv(tmp_path / "order.csv")
    row = table[table["treaty"] == "tip_protocol"].iloc[0]  # the study, Table 4: four parties ratified first
    assert (row["law_first"], row["same_year"], row["treaty_first"]) == (3, 2, 4)

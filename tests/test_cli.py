"""The command line: outputs, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pandas as pd
import pytest

import harmsim
from harmsim.cli import main


def test_scenarios_and_record(capsys, tmp_path):
    assert main(["scenarios"]) == 0
    assert "baseline" in capsys.readouterr().out
    assert main(["record"]) == 0
    out = capsys.readouterr().out
    assert "2004-2015" in out and "PHL" in out
    assert main(["record", "--out", str(tmp_path / "rec")]) == 0
    assert (tmp_path / "rec" / "adoptions.csv").is_file()


def test_record_status_lists_the_status_items_only(capsys):
    """The end-of-window status of the study's Table 2 items, without a column of an instrument (Timor-Leste's
    unobserved tip_law is a '?' in the adoption table, not an empty status column)."""
    assert main(["record"]) == 0
    out = capsys.readouterr().out
    status = out.split("End-of-window status")[1].split("Regional agreements")[0]
    assert "specialist_unit" in status and "tip_law" not in status and "NaN" not in status


def test_record_world_writes_a_regional_sub_panel(tmp_path, capsys, monkeypatch):
    from harmsim.cli import records

    out = tmp_path / "sub"
    assert main(["record", "world", "--subregions", "South Asia", "--states", "THA", "--out", str(out)]) == 0
    assert "9 of its 188 states" in capsys.readouterr().out
    sub = harmsim.load_record(out)
    assert set(sub.state_ids) == {"AFG", "BGD", "BTN", "IND", "LKA", "MDV", "NPL", "PAK", "THA"}
    shown = {}
    monkeypatch.setattr(records, "write_record_figures", lambda rec, folder, force: shown.setdefault("r", rec) and [])
    assert main(["record", "world", "--subregions", "South Asia", "--figures", str(tmp_path / "fig")]) == 0
    assert len(shown["r"].state_ids) == 8  # the figures are the sub-panel's too
    assert main(["record", "world", "--subregions", "Asia", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown subregion(s) Asia" in err[0] and "South Asia" in err[0]


def test_record_world_prints_a_summary_and_asked_states(capsys):
    assert main(["record", "world"]) == 0
    out = capsys.readouterr().out
    assert "188 states: --states" in out and "Organizations" in out and "coe_cets_197" in out
    assert "\nFRA " not in out  # no row per state for a record this large
    assert main(["record", "world", "--states", "BGD,FRA"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.startswith(("BGD ", "FRA "))}
    assert rows["BGD"][-2:] == ["2002-2005", "-"] and rows["FRA"][3] == "2006-2008"


def test_compare_prints_fit_table(capsys, tmp_path):
    assert main(["compare", "baseline", "-r", "20", "--seed", "3", "--out", str(tmp_path / "fit.csv")]) == 0
    out = capsys.readouterr().out
    assert "curve_mad" in out and "rank_tau" in out and "year_mae" in out
    fit = pd.read_csv(tmp_path / "fit.csv")
    assert (fit["replicates"] <= 20).all()


def test_compare_endogenous_reports_agreement_timing(capsys):
    assert main(["compare", "endogenous", "-r", "10"]) == 0
    assert "agreement_error" in capsys.readouterr().out


def test_run_writes_tables_provenance_and_figures(tmp_path):
    out = tmp_path / "run"
    assert main(["run", "baseline", "-r", "30", "--seed", "1", "--out", str(out)]) == 0
    for f in (
        "adoptions.csv",
        "agreements.csv",
        "parameters.csv",
        "provenance.json",
        "fit.csv",
        "cumulative.png",
        "cumulative.pdf",
        "timeline.png",
        "timeline.pdf",
    ):
        assert (out / f).is_file(), f
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["scenario"] == "baseline" and len(prov["seeds"]) == 30 and prov["engine"] == "batch"
    assert prov["parameters"]["diffusion.strength"] == pytest.approx(0.9)
    a = pd.read_csv(out / "adoptions.csv")
    assert set(a.columns) == {"replicate", "seed", "state", "instrument", "year"}
    assert (out / "cumulative.png").stat().st_size > 20_000
    manifest = json.loads((out / "harmsim-output.json").read_text())
    assert manifest["kind"] == "run" and "fit.csv" in manifest["files"] and "timeline.pdf" in manifest["files"]
    cells = pd.read_csv(out / "cells.csv")  # where each observed outcome falls among the runs
    assert {"state", "instrument", "observed_lo", "median", "pit_mid", "covered90"} <= set(cells.columns)
    assert cells["pit_mid"].between(0, 1).all() and len(cells) > 20
    calibration = pd.read_csv(out / "calibration.csv")  # ASEAN's mainland and maritime states
    assert sorted(calibration["group"]) == ["mainland", "maritime"] and not (out / "map.png").exists()
    one = tmp_path / "one"  # one run: no distribution to place an outcome in
    assert main(["run", "baseline", "--out", str(one), "--no-figures"]) == 0
    assert (one / "fit.csv").is_file() and not (one / "cells.csv").exists() and not (one / "calibration.csv").exists()


def test_run_on_the_world_maps_where_the_runs_miss_and_says_it(tmp_path, capsys):
    """On a record of many states a run draws, per instrument, a map of where each state's outcome falls among
    the runs, and says which subregions and organizations the runs miss beyond twice the standard error."""
    out = tmp_path / "run"
    assert main(["run", "world_baseline", "-r", "40", "--out", str(out), "--no-figures"]) == 0
    said = capsys.readouterr().out
    assert "where the runs miss the record (mean mid-PIT of each group's cells" in said
    assert "the scenario's parameters" in said and "groups beyond twice their standard error" in said
    calibration = pd.read_csv(out / "calibration.csv")
    assert set(calibration["grouping"]) == {"subregion", "organization"}
    assert {"ASEAN", "SAARC", "COE", "South Asia"} <= set(calibration["group"])
    assert calibration.loc[calibration["group"] == "SAARC", "states"].item() == 8
    cells = pd.read_csv(out / "cells.csv")
    assert not ((cells["instrument"] == "saarc2002") & (cells["state"] == "FRA")).any()  # not open to France
    fig = harmsim.run_ensemble(harmsim.load_scenario("world_baseline"), replicates=20, seed=1).plot.map(
        cells=cells.assign(pit_mid=0.5)
    )
    assert [ax.get_title().split("\n")[0] for ax in fig.axes[:1]] == ["Full criminalization of"]


def test_an_occupied_out_folder_is_refused_before_any_work(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "baseline", "--seed", "1", "--out", str(out), "--no-figures"]) == 0
    capsys.readouterr()
    assert main(["calibrate", "baseline", "--free", "hazard.intercept", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "pass --force" in err and err.count("\n") == 1
    assert main(["run", "baseline", "--seed", "2", "--out", str(out), "--no-figures", "--force"]) == 0
    assert json.loads((out / "provenance.json").read_text())["seeds"] != []
    (tmp_path / "own").mkdir()
    (tmp_path / "own" / "thesis.tex").write_text("x")
    assert main(["run", "baseline", "--out", str(tmp_path / "own"), "--force"]) == 2
    assert "never replaced" in capsys.readouterr().err and (tmp_path / "own" / "thesis.tex").is_file()
    with pytest.raises(SystemExit) as info:
        main(["run", "baseline", "--out", ""])
    assert info.value.code == 2 and "expected an output folder" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (["run", "no_such_scenario", "--out", "x"], "no such scenario file"),
        (["compare", "baseline", "--record", "atlantis"], "no such record"),
        (["record", "world", "--states", "FRA,XXX"], "unknown state(s) XXX in record 'world'"),
    ],
)
def test_errors_are_one_line_exit_2(capsys, args, pattern):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert pattern in err and err.count("\n") == 1 and "Traceback" not in err


def test_tracebacks_found_by_fuzzing_are_one_line_errors(tmp_path, capsys, monkeypatch):
    """Before each fix, each of these ended in a Python traceback (the file and line it came from said)."""
    import json

    cases = []
    # record.toml: sources as a text or a number (record.py)
    for value in ('"x"', "5"):
        rec = tmp_path / f"rec{len(cases)}"
        assert main(["record", "--out", str(rec)]) == 0
        text = (rec / "record.toml").read_text().replace("[sources]", "[sources_was]")
        (rec / "record.toml").write_text(f"sources = {value}\n" + text)
        cases.append((["record", str(rec)], "'sources' must be a table of texts"))
    # a change file: a 400-digit integer (interventions.py)
    big = tmp_path / "big.toml"
    big.write_text('name = "big"\n[[covariates]]\nname = "gdp_pc"\nmultiply = ' + "1" * 400 + "\n")
    cases.append((["counterfactual", "baseline", "--change", str(big), "-r", "2", "--out", str(tmp_path / "c")],
                  "'multiply' must be a finite number"))  # fmt: skip
    # a fit folder: observed_until a list, transforms not [mean, sd], a bound that is not a number (fit.py)
    fit = tmp_path / "fit"
    assert main(["calibrate", "diffusion_only", "--out", str(fit)]) == 0
    for i, (key, value) in enumerate([("observed_until", [1, 2]), ("transforms", {"capacity.log_gdp_pc": 0.0})]):
        bad = tmp_path / f"fit{i}"
        bad.mkdir()
        for f in fit.iterdir():
            (bad / f.name).write_bytes(f.read_bytes())
        meta = json.loads((bad / "fit.json").read_text())
        meta[key] = value
        (bad / "fit.json").write_text(json.dumps(meta))
        cases.append((["forecast", "diffusion_only", "--from-fit", str(bad), "--until", "2017", "-r", "2",
                       "--out", str(tmp_path / f"f{i}")], f"'{key}'"))  # fmt: skip
    bound = tmp_path / "fit_bound"
    bound.mkdir()
    for f in fit.iterdir():
        (bound / f.name).write_bytes(f.read_bytes())
    est = pd.read_csv(bound / "estimates.csv").astype({"bound_lo": object})
    est.loc[0, "bound_lo"] = "low"
    est.to_csv(bound / "estimates.csv", index=False)
    cases.append((["forecast", "diffusion_only", "--from-fit", str(bound), "--until", "2017", "-r", "2",
                   "--out", str(tmp_path / "fb")], "every 'bound_lo' must be a number"))  # fmt: skip
    # the current folder as --out
    monkeypatch.chdir(tmp_path)
    cases.append((["sensitivity", "baseline", "--method", "morris", "--base", "4", "-r", "2", "--out", "."],
                  "is the current folder or holds it"))  # fmt: skip
    # control characters in what a message quotes
    cases.append((["run", "bad\x1b[31mname", "--out", "x"], "bad\\x1b[31mname: no such scenario"))
    capsys.readouterr()
    for args, pattern in cases:
        assert main(args) == 2, args
        err = capsys.readouterr().err
        assert pattern in err and err.count("\n") == 1 and "\x1b" not in err, (args, err)
    with pytest.raises(SystemExit):
        main(["sweep", "baseline", "--sample", "x\x07y", "--out", "s.csv"])
    err = capsys.readouterr().err
    assert "x\\x07y" in err and "\x07" not in err


def test_bad_scenario_file_from_a_real_process(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[mechanisms.diffusion]\nstrength = 'lots'\n")
    p = subprocess.run([sys.executable, "-m", "harmsim.cli", "compare", str(bad)], capture_output=True, text=True)
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1 and "diffusion.strength" in p.stderr and str(bad) in p.stderr
    assert "Traceback" not in p.stderr


def test_bad_option_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["compare", "baseline", "-r", "0"])
    assert info.value.code == 2
    assert "positive integer" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["record", "world", "--states", "FRA,,BGD"])
    assert info.value.code == 2 and "expected comma-separated ids" in capsys.readouterr().err


def test_run_endogenous_draws_agreement_timing(tmp_path):
    out = tmp_path / "endo"
    assert main(["run", "endogenous", "-r", "20", "--out", str(out)]) == 0
    assert (out / "agreements.png").stat().st_size > 10_000
    ag = pd.read_csv(out / "agreements.csv")
    assert set(ag["arrival"]) == {"endogenous"} and ag["replicate"].nunique() == 20


def test_calibrate_command(tmp_path, capsys):
    assert (
        main(
            [
                "calibrate",
                "diffusion_only",
                "--free",
                "hazard.intercept",
                "diffusion.strength",
                "--out",
                str(tmp_path / "f"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "log-likelihood" in out and "AIC" in out and "diffusion.strength" in out
    assert (tmp_path / "f" / "trace.md").is_file()
    assert main(["calibrate", "diffusion_only", "--prior", "diffusion.strength=0:1"]) == 2
    assert "--prior is for --method abc" in capsys.readouterr().err


def test_output_cut_short_by_a_pipe_is_not_an_error():
    """`harmsim ... | head` ends quietly: here the reader is gone before the first line."""
    code = (
        "import os, sys\n"
        "from harmsim.cli import main\n"
        "r, w = os.pipe()\n"
        "os.close(r)\n"
        "os.dup2(w, 1)\n"
        "sys.exit(main(['params', 'baseline']))\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "Broken pipe" not in p.stderr and "Traceback" not in p.stderr and "Exception ignored" not in p.stderr


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (["compare", "baseline", "-r", "1000000000"], r"1,000,000,000 replicates .* needs about [\d,.]+ GB"),
        (["sweep", "baseline", "--vary", "diffusion.strength=1:2:1000000000", "--out", "x.csv"], "grid of this sweep"),
        (["sweep", "baseline", "--vary", "diffusion.strength=1:2:3", "-w", "1000", "--out", "x.csv"], "cores"),
    ],
)
def test_work_that_cannot_fit_is_refused_before_it_starts(capsys, tmp_path, monkeypatch, args, pattern):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert re.search(pattern, err) and err.count("\n") == 1
    assert not (tmp_path / "x.csv.parts").exists()


def test_bad_output_names_and_scheduler_are_one_line(capsys, tmp_path):
    for args in (
        ["sweep", "baseline", "--vary", "diffusion.strength=0:1:2", "--out", ""],
        ["compare", "baseline", "-r", "2", "--out", str(tmp_path)],
    ):
        with pytest.raises(SystemExit) as info:
            main(args)
        assert info.value.code == 2 and "--out" in capsys.readouterr().err
    pytest.importorskip("distributed")
    out = str(tmp_path / "s.csv")
    assert (
        main(["sweep", "baseline", "--vary", "diffusion.strength=0:1:2", "--scheduler", "not a url", "--out", out]) == 2
    )
    err = capsys.readouterr().err
    assert "cannot connect" in err and err.count("\n") == 1


def test_help_shows_every_default(capsys):
    """Every option with a default names it in --help, in every command."""
    import argparse

    from harmsim.cli import _parser

    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name, parser in sub.choices.items():
        text = " ".join(parser.format_help().split())
        for action in parser._actions:
            d = action.default
            if not action.option_strings or d in (None, False, argparse.SUPPRESS):
                continue
            shown = ",".join(map(str, d)) if isinstance(d, (list, tuple)) else str(d)
            assert re.search(rf"default:? {re.escape(shown)}\b", text), (name, action.option_strings, shown)


def test_provenance_names_the_code_and_the_command(tmp_path):
    """provenance.json and every manifest carry the command line, and the git commit when run from a checkout."""
    out = tmp_path / "r"
    assert main(["run", "baseline", "-r", "3", "--no-figures", "--out", str(out)]) == 0
    prov = json.loads((out / "provenance.json").read_text())
    manifest = json.loads((out / "harmsim-output.json").read_text())
    for meta in (prov, manifest):
        assert {"git_commit", "git_dirty", "command_line", "harmsim_version"} <= set(meta)
        from pathlib import Path

        checkout = (Path(__file__).resolve().parents[1] / ".git").exists()
        assert (meta["git_commit"] is not None) == checkout
        if checkout:
            assert re.fullmatch(r"[0-9a-f]{40}", meta["git_commit"]) and isinstance(meta["git_dirty"], bool)


def test_abc_warns_when_it_stops_at_its_generation_cap(tmp_path, capsys):
    """A run cut by --generations says so in one line, in its log, and its trace has no numpy reprs."""
    out = tmp_path / "abc"
    args = ["calibrate", "diffusion_only", "--method", "abc", "--population", "50", "--budget", "3000"]
    assert main([*args, "--generations", "2", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "harmsim: warning: ABC stopped at its generation cap (2) after" in err and "Traceback" not in err
    trace = (out / "trace.md").read_text()
    assert "np.float64" not in trace and "| generation | epsilon |" in trace
    assert json.loads((out / "fit.json").read_text())["log"]["diagnostics"]["stopped"] == "generation cap (2)"
    assert main([*args, "--generations", "2", "--min-acceptance", "0.9", "--out", str(tmp_path / "b")]) == 0
    assert "warning" not in capsys.readouterr().err  # stopped on purpose, by its acceptance rule


def test_progress_bars_for_calibration_and_steps(capsys):
    """MLE shows its iterations and log posterior, ABC its simulations against the budget with the remaining time,
    step bars their count; all on stderr, none when asked not to."""
    import harmsim
    from harmsim.calibrate import calibrate
    from harmsim.cli._common import _steps

    sc = harmsim.load_scenario("diffusion_only")
    calibrate(sc, progress=True)
    err = capsys.readouterr().err
    assert "MLE diffusion_only" in err and "log posterior" in err and "standard errors" in err
    calibrate(sc, "abc", population=50, budget=1000, min_acceptance=0.5, progress=True)
    err = capsys.readouterr().err
    assert "ABC diffusion_only" in err and "/1000" in err and "<" in err  # elapsed<remaining
    calibrate(sc, progress=False)
    assert capsys.readouterr().err == ""
    step = _steps(2, "compare-mechanisms", progress=True)
    for what in ("a", "b", "placebo"):  # a step beyond the total extends it
        step(what)
    assert (step.bar.n, step.bar.total) == (3, 3)
    assert "compare-mechanisms" in capsys.readouterr().err


def test_params_prints_one_row_per_offset(capsys):
    """Before: the offsets map was printed as one dict, breaking the table's columns."""
    assert main(["params", "baseline"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.split() == ["untoc", "0.3"] for line in lines)
    assert not any("{" in line for line in lines)


def test_compare_says_which_metrics_no_replicate_defines(capsys):
    """Before: an empty 'rank_tau actip' row over 0 replicates."""
    assert main(["compare", "baseline", "-r", "5"]) == 0
    out = capsys.readouterr().out
    assert "undefined in every replicate" in out and "rank_tau actip" in out.splitlines()[-1]
    assert not any(line.split()[-1:] == ["0"] for line in out.splitlines() if line.startswith(" rank_tau"))


def test_compare_on_the_world_prints_the_extreme_states_and_writes_them_all(capsys, tmp_path):
    """188 per-state rows drowned the instruments' few: the printed table keeps the five highest and lowest of
    each metric, ranked, says how many it leaves out, and --out writes every row; one region's ten are all
    printed."""
    assert main(["compare", "world_baseline", "-r", "5", "--out", str(tmp_path / "fit.csv")]) == 0
    out = capsys.readouterr().out
    fit = pd.read_csv(tmp_path / "fit.csv")
    states = set(harmsim.load_record("world").state_ids)
    per_state = fit[fit["item"].isin(states) & (fit["metric"] == "year_mae")]
    printed = [line.split() for line in out.splitlines() if line.split()[1:2] and line.split()[1] in states]
    assert len(per_state) > 100 and len(printed) == 10
    ranked = per_state.sort_values("mean", ascending=False, kind="stable")
    assert [r[1] for r in printed[:5]] == list(ranked["item"][:5])
    assert f"{len(per_state) - 10} per-state rows not shown" in out
    assert "where the runs miss" not in out  # five runs: no distribution to place an outcome in
    assert main(["compare", "baseline", "-r", "5"]) == 0
    out = capsys.readouterr().out
    assert "per-state rows not shown" not in out and sum(" KHM " in line for line in out.splitlines()) == 1
    assert main(["compare", "world_baseline", "-r", "20"]) == 0  # where the runs miss, by subregion and organization
    out = capsys.readouterr().out
    assert "where the runs miss the record (mean mid-PIT of each group's cells, 1/2 when calibrated" in out
    assert re.search(r"\d+ of 16 groups beyond twice their standard error", out)


def test_compare_two_scenarios_on_the_same_seeds(capsys, tmp_path):
    """#23 item 19: harmsim compare A B, paired differences on the same seeds."""
    assert main(["compare", "baseline", "baseline", "-r", "10", "--out", str(tmp_path / "same.csv")]) == 0
    same = pd.read_csv(tmp_path / "same.csv")
    assert (same["difference"].dropna() == 0).all() and set(same["better"]) == {"cannot tell"}
    assert main(["compare", "baseline", "diffusion_only", "-r", "60", "--out", str(tmp_path / "two.csv")]) == 0
    out = capsys.readouterr().out
    assert "diffusion_only (b) against baseline (a)" in out and "overall:" in out
    two = pd.read_csv(tmp_path / "two.csv")
    assert {"mean_a", "mean_b", "difference", "se", "better"} <= set(two.columns)
    row = two[(two["metric"] == "year_mae") & (two["item"] == "all")].iloc[0]
    assert row["difference"] == pytest.approx(row["mean_b"] - row["mean_a"])


def test_a_fit_with_parameters_the_record_does_not_bound_is_said_where_it_is_used(tmp_path, capsys):
    """#23 item 8: run --from-fit, forecast and counterfactual used parameters at their bounds without a word."""
    fit = tmp_path / "fit"
    assert main(["calibrate", "diffusion_only", "--out", str(fit)]) == 0
    est = pd.read_csv(fit / "estimates.csv")
    assert (est["status"] == "at bound").any()  # the HSU offset: every founder joined in 2004
    capsys.readouterr()
    change = "experiments/changes/no_diffusion.toml"
    for args in (
        ["run", "diffusion_only", "--from-fit", str(fit), "-r", "5", "--no-figures", "--out", str(tmp_path / "r")],
        ["forecast", "diffusion_only", "--from-fit", str(fit), "--until", "2017", "-r", "5", "--no-figures",
         "--out", str(tmp_path / "f")],
        ["counterfactual", "diffusion_only", "--from-fit", str(fit), "--change", change, "-r", "5", "--no-figures",
         "--out", str(tmp_path / "c")],
    ):  # fmt: skip
        assert main(args) == 0
        err = capsys.readouterr().err
        assert err.count("harmsim: warning: the fit's hazard.offsets.hsu_process") == 1, (args[0], err)

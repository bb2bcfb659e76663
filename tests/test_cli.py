"""The command line: outputs, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pandas as pd
import pytest

from harmsim.cli import main


def test_scenarios_and_record(capsys, tmp_path):
    assert main(["scenarios"]) == 0
    assert "baseline" in capsys.readouterr().out
    assert main(["record"]) == 0
    out = capsys.readouterr().out
    assert "2004-2015" in out and "PHL" in out
    assert main(["record", "--out", str(tmp_path / "rec")]) == 0
    assert (tmp_path / "rec" / "adoptions.csv").is_file()


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
    ],
)
def test_errors_are_one_line_exit_2(capsys, args, pattern):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert pattern in err and err.count("\n") == 1 and "Traceback" not in err


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

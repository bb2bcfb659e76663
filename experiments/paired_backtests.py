"""Experiment: which of two backtests forecasts the same cells better, paired cell by cell?

What ``harmsim compare-backtests A B`` prints (:mod:`harmsim.analysis.paired`:
the two forecasts paired on the cells both score, the gain's standard error
clustered by state, whether each adds to the other, and each part of the log
score), kept as a script for the experiments beside it, which compare their
own backtests with the same functions.

Run the two backtests first, then this script on their folders, from the
repository's root, e.g. the world panel with and without organization
intercepts:

    harmsim backtest world_baseline --replicates 500 --out out/bt_world
    harmsim backtest world_organizations --replicates 500 --out out/bt_orgs
    python experiments/paired_backtests.py out/bt_world out/bt_orgs

``--states RECORD`` keeps the states of a packaged record only (``asean``:
the ten ASEAN states and Timor-Leste, as ``asean_from_the_panel.py`` does).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

import harmsim
from harmsim.analysis.paired import PairedBacktests, compare_backtests
from harmsim.errors import ConfigError


def paired(a_dir: Path, b_dir: Path, states=None, without=()) -> pd.DataFrame:
    """:func:`~harmsim.analysis.paired.compare_backtests`' table of two backtest folders (``b`` minus ``a``), on
    ``states`` only when given, the instruments ``without`` left out; empty when they share no scored cell."""
    try:
        return compare_backtests(a_dir, b_dir, states=states, without=without).table
    except ConfigError:
        return pd.DataFrame()


def verdicts(table: pd.DataFrame, what: str) -> list[str]:
    """One sentence per origin for the two models' own comparison (not the baselines'):
    :meth:`~harmsim.analysis.paired.PairedBacktests.verdicts`."""
    return PairedBacktests(table, "a", "b").verdicts(what)


def report(a_dir: Path, b_dir: Path, states=None, what: str | None = None) -> int:
    """Print the paired table and its verdicts; 1 when the folders share no scored cell."""
    try:
        pair = compare_backtests(a_dir, b_dir, states=states)
    except ConfigError as exc:
        print(exc)
        return 1
    print(pair.summary(what))
    return 0


def panel_arguments(description: str, out_help: str, argv=None) -> argparse.Namespace:
    """The command line the panel experiments share: an output folder, then the folders of the two reference
    backtests (the ASEAN record's and the world panel's), and the replicates per forecast."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("out", type=Path, help=out_help)
    ap.add_argument("asean", type=Path, help="folder of a backtest of baseline_trend on the asean record")
    ap.add_argument("world", type=Path, help="folder of a backtest of world_baseline on the world record")
    ap.add_argument("--replicates", "-r", type=int, default=500, help="replicates per backtest forecast")
    return ap.parse_args(argv)


def backtest_scenario(out: Path, name: str, text: str, replicates: int) -> tuple[int, Path]:
    """Write the scenario ``text`` to ``out/NAME.toml`` and backtest it into ``out/backtest`` (``harmsim
    backtest``, looked up when called, so a test can stand in for it); its exit code and folder."""
    import harmsim.cli

    scenario = out / f"{name}.toml"
    scenario.write_text(text, encoding="utf-8")
    folder = out / "backtest"
    args = ["backtest", str(scenario), "--replicates", str(replicates), "--out", str(folder), "--force"]
    return harmsim.cli.main(args), folder


def against_asean_and_world(args: argparse.Namespace, backtest: Path, label: str) -> int:
    """The two comparisons every panel experiment prints, on ASEAN's cells: ``backtest`` against the ASEAN
    record's backtest and against the world panel's (the folders of :func:`panel_arguments`)."""
    asean, title = harmsim.load_record("asean").state_ids, label[0].upper() + label[1:]
    print(f"\n1. {title} against the ASEAN record, on ASEAN's cells")
    rc = report(args.asean, backtest, asean, what=f"{label} against the ASEAN record")
    print(f"\n2. {title} against the world panel, on ASEAN's cells")
    return rc or report(args.world, backtest, asean, what=f"{label} against the world panel")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a", type=Path, help="folder of the first backtest (the reference)")
    ap.add_argument("b", type=Path, help="folder of the second backtest (its gain over the first is printed)")
    ap.add_argument("--states", metavar="RECORD", help="keep the states of this packaged record only")
    args = ap.parse_args(argv)
    states = harmsim.load_record(args.states).state_ids if args.states else None
    return report(args.a, args.b, states)


if __name__ == "__main__":
    raise SystemExit(main())

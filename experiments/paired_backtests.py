"""Experiment: which of two backtests forecasts the same cells better, paired cell by cell?

Two backtests scored on their own cells are not comparable when their
cells differ, and even on the same cells their mean log scores differ by
more than the per-cell pairing shows. This compares two backtest folders on
the cells both score (same origin, state and instrument, same outcome),
per origin: the mean per-cell log-score gain of the second over the first,
with its standard error clustered by state (``harmsim.analysis.backtest.
common_cells``), and the same for every baseline both ran (uniform,
constant hazard, event-history logit), which shows how much of a
difference comes from the records rather than the models. Per origin it
also says whether each forecast adds to the other: the gain of their
equal-weight linear pool over each, from the cells' log scores alone; and,
where both backtests score them, each part of the log score: whether the
states adopt by the end (every common cell) and the timing alone (the
adoptions, scored given adoption).

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
from harmsim.analysis.backtest import common_cells


def paired(a_dir: Path, b_dir: Path, states=None, without=()) -> pd.DataFrame:
    """:func:`~harmsim.analysis.backtest.common_cells` of two backtest folders' ``cells.csv`` (``b`` minus
    ``a``), on ``states`` only when given, the instruments ``without`` left out. A model both folders score
    (the same scenario run two ways, and every baseline) is named with its folder, so the sentences say which
    forecast is which."""
    a = pd.read_csv(Path(a_dir) / "cells.csv")
    b = pd.read_csv(Path(b_dir) / "cells.csv")
    table = common_cells(a[~a["instrument"].isin(without)], b[~b["instrument"].isin(without)], states)
    same = table["a"] == table["b"] if len(table) else pd.Series(dtype=bool)
    if same.any():
        a_name, b_name = _names(Path(a_dir), Path(b_dir))
        table.loc[same, "a"] = table.loc[same, "a"] + f" ({a_name})"
        table.loc[same, "b"] = table.loc[same, "b"] + f" ({b_name})"
    return table


def _names(a: Path, b: Path) -> tuple[str, str]:
    """The shortest trailing parts of two folders' paths that tell them apart (``seed0`` and ``seed1``;
    ``drawn/seed0`` and ``plug-in/seed0``)."""
    a_parts, b_parts = a.resolve().parts, b.resolve().parts
    for n in range(1, max(len(a_parts), len(b_parts)) + 1):
        a_name, b_name = "/".join(a_parts[-n:]), "/".join(b_parts[-n:])
        if a_name != b_name:
            return a_name, b_name
    return str(a), str(b)


def verdicts(table: pd.DataFrame, what: str) -> list[str]:
    """One sentence per origin for the two models' own comparison (not the baselines'): better, worse, or
    not told apart when the gain is within twice its standard error."""
    out = []
    first = table.iloc[0]["a"] if len(table) else None
    for _, r in table[table["a"] == first].iterrows():
        verdict = _word(r["log_score_gain"], r["log_score_se"], ("better", "worse", "not told apart (within 2 s.e.)"))
        out.append(
            f"from {r['origin']}: {what} on {r['cells']} common cells is {verdict}: "
            f"{r['log_score_gain']:+.3f} per cell (s.e. {r['log_score_se']:.3f}, {r['states']} states); "
            f"half and half, {_adds(r, 'b')} and {_adds(r, 'a')}" + _parts(r)
        )
    return out


def _parts(r) -> str:
    """The two on each part of the log score where both backtests score it: whether the states adopt (every
    common cell), and the timing alone (the adoptions, scored given adoption)."""
    out = ""
    if "whether_gain" in r and not pd.isna(r["whether_gain"]):
        gain, se = r["whether_gain"], r["whether_se"]
        out += f"; on whether they adopt ({r['cells']} cells) {_word(gain, se)}: {gain:+.3f} (s.e. {se:.3f})"
    if "timing_gain" in r and r.get("adoptions", 0) and not pd.isna(r["timing_gain"]):
        n, gain, se = int(r["adoptions"]), r["timing_gain"], r["timing_se"]
        out += f"; on the timing alone ({n} adoptions, given adoption) {_word(gain, se)}: {gain:+.3f} (s.e. {se:.3f})"
    return out


def _word(gain: float, se: float, words: tuple[str, str, str] = ("better", "worse", "not told apart")) -> str:
    """A gain in words: ``words[0]`` beyond twice its standard error above 0, ``words[1]`` below, else ``words[2]``
    (also where the standard error is missing)."""
    return words[0] if gain > 2 * se else words[1] if gain < -2 * se else words[2]


def _adds(r, which: str) -> str:
    """Whether the equal-weight pool of the two forecasts beats the other one: does ``which`` add to it?"""
    other = "a" if which == "b" else "b"
    gain, se = r[f"{which}_adds"], r[f"{which}_adds_se"]
    reading = _word(gain, se, ("adds", "costs", "adds nothing measurable"))
    return f"'{r[which]}' mixed into '{r[other]}' {reading} ({gain:+.3f}, s.e. {se:.3f})"


def report(a_dir: Path, b_dir: Path, states=None, what: str | None = None) -> int:
    """Print the paired table and its verdicts; 1 when the folders share no scored cell."""
    table = paired(a_dir, b_dir, states)
    if not len(table):
        print(f"{a_dir} and {b_dir} score no common cell (origins, states, instruments and outcomes differ)")
        return 1
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    what = what or f"{table.iloc[0]['b']} against {table.iloc[0]['a']}"
    for line in verdicts(table, what):
        print(line)
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

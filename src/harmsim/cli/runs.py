"""Running a scenario: ``harmsim run`` (tables and figures) and ``compare`` (its fit to the record, or two
scenarios on the same seeds)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from harmsim._output import ResultFolder
from harmsim.analysis.run import ENGINES, run_ensemble
from harmsim.cli._common import (
    _ensemble,
    _few_states,
    _format_fit,
    _out_file,
    _out_folder,
    _parameters_option,
    _positive,
    _seed,
)
from harmsim.data.record import load_record
from harmsim.errors import ConfigError
from harmsim.model.scenario import load_scenario
from harmsim.output.plots import save_figure
from harmsim.scoring.compare import CELL_RUNS, calibration_by_group, cell_scores, compare, state_groups


def add_parsers(sub) -> None:
    """This group's subcommands, on the ``harmsim`` parser's subparsers."""
    for name, helptext in (
        ("run", "run a scenario and write tables and figures"),
        ("compare", "run a scenario and print its fit to the observed record"),
    ):
        c = sub.add_parser(name, help=helptext)
        c.add_argument("scenario", help="scenario file, or the name of a shipped scenario")
        if name == "compare":
            c.add_argument(
                "other",
                nargs="?",
                help="a second scenario: both run on the same seeds, and their fits compared replicate by replicate",
            )
        c.add_argument(
            "--replicates",
            "-r",
            type=_positive,
            default=100 if name == "compare" else 1,
            help="replicates (compare: for the fit table's spread; run: 1 is one Mesa run to inspect)",
        )
        c.add_argument("--seed", "-s", type=_seed, default=0, help="root seed (default 0)")
        c.add_argument(
            "--engine",
            choices=ENGINES,
            default=None,
            help="batch (default for more than one replicate) or mesa",
        )
        c.add_argument("--record", default=None, help="record to compare with (default: the scenario's)")
        if name == "run":
            c.add_argument("--out", type=_out_folder, required=True, help="output folder")
            c.add_argument("--force", action="store_true", help="replace an earlier result in --out")
            c.add_argument(
                "--from-fit",
                type=Path,
                metavar="DIR",
                help="draw each replicate's parameters from a saved fit",
            )
            _parameters_option(c, "a plug-in ensemble (with --from-fit)")
            c.add_argument("--no-figures", action="store_true", help="write tables only")
        else:
            c.add_argument("--out", type=_out_file, help="also write the fit table as CSV")


def cmd_run(args) -> int:
    sc, ens, rec = _ensemble(args)
    cells, calibration = _placed(sc, ens, rec, args.seed)
    with ResultFolder(args.out, "run", args.force) as rf:
        rf.add(_write_run(rf.path, ens, rec, cells, calibration, args))
    paths = rf.final
    pred = ens.provenance.get("predictive")
    how = "scenario's parameters"
    if pred:
        drawn = {
            "estimate": "at the point estimates of",
            "posterior": "drawn from the likelihood of",
            "mcmc": "drawn by Markov chains from the likelihood of",
        }.get(pred.get("parameters"), "drawn from")
        how = f"parameters {drawn} the {pred['fit'].upper()} fit in {args.from_fit}"
    print(f"{sc.name}: {ens.replicates} replicate(s), {how}, seed {args.seed}, engine {ens.provenance['engine']}")
    if calibration is not None:
        print(_misses(calibration, fitted=bool(pred)))
    print(f"wrote {len(paths)} files to {args.out}: {', '.join(p.name for p in paths)}")
    return 0


def _write_run(out: Path, ens, rec, cells, calibration, args) -> list[Path]:
    paths = ens.write(out)
    fit = compare(ens, rec)
    tables = {"fit.csv": fit}
    if cells is not None:
        tables["cells.csv"] = cells
    if calibration is not None:
        tables["calibration.csv"] = calibration
    for name, table in tables.items():
        table.to_csv(out / name, index=False)
        paths.append(out / name)
    if not args.no_figures:
        for stem, f in ens.plot.all(rec, cells=cells).items():
            paths += save_figure(f, out, stem)
    return paths


def _placed(sc, ens, rec, seed) -> tuple:
    """(cells, calibration): where each outcome falls among the runs (:func:`cell_scores`) and the mean per
    group of states (None without groups); both None under :data:`CELL_RUNS` replicates, too few to place
    an outcome among."""
    if ens.replicates < CELL_RUNS:
        return None, None
    cells = cell_scores(ens, rec, seed=seed)
    groups = state_groups(rec, sc.start, min(sc.end, rec.end))
    return cells, (calibration_by_group(cells, groups) if groups else None)


#: groups named in the words under a run (calibration.csv has them all)
MISSES_SHOWN = 8


def _misses(calibration: pd.DataFrame, fitted: bool) -> str:
    """Where the runs miss the record, in words: the groups whose mean mid-PIT is beyond twice its standard
    error of 1/2, the furthest first."""
    flagged = calibration[calibration["z"].abs() > 2].sort_values("z", key=abs, ascending=False)
    tested = int(calibration["z"].notna().sum())
    where = "in-sample: the parameters were fitted to this record" if fitted else "the scenario's parameters"
    head = (
        f"where the runs miss the record (mean mid-PIT of each group's cells, 1/2 when calibrated; {where}): "
        f"{len(flagged)} of {tested} groups beyond twice their standard error (about 1 in 20 would be by chance)"
    )
    lines = [head]
    for r in flagged.head(MISSES_SHOWN).itertuples():
        lines.append(f"  {r.grouping} {r.group}: {r.mean_pit:.2f} (s.e. {r.se:.2f}), {r.reading}")
    if len(flagged) > MISSES_SHOWN:
        lines.append(f"  ... and {len(flagged) - MISSES_SHOWN} more in calibration.csv")
    return "\n".join(lines)


def cmd_compare(args) -> int:
    if args.other is not None:
        return _compare_two(args)
    sc, ens, rec = _ensemble(args)
    fit = compare(ens, rec)
    print(
        f"{sc.name} vs record '{rec.name}': {ens.replicates} replicates, seed {args.seed}, "
        f"engine {ens.provenance['engine']}"
    )
    print(_format_fit(fit, rec.state_ids))
    _, calibration = _placed(sc, ens, rec, args.seed)
    if calibration is not None:
        print(_misses(calibration, fitted=bool(ens.provenance.get("predictive"))))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        fit.to_csv(args.out, index=False)
        print(f"wrote {args.out}")
    return 0


def _compare_two(args) -> int:
    """harmsim compare A B: both on the same seeds, their fits' paired differences."""
    from harmsim.scoring.compare import compare_paired

    if getattr(args, "from_fit", None):
        raise ConfigError("compare A B runs each scenario's own parameters; --from-fit is for one scenario")
    a, b = load_scenario(args.scenario), load_scenario(args.other)
    engine = args.engine or "batch"
    ens_a = run_ensemble(a, replicates=args.replicates, seed=args.seed, engine=engine)
    ens_b = run_ensemble(b, seeds=ens_a.seeds, engine=engine)
    rec = load_record(args.record) if args.record else a.record
    table = compare_paired(ens_a, ens_b, rec)
    print(
        f"{b.name} (b) against {a.name} (a), record '{rec.name}': {ens_a.replicates} paired replicates on the same "
        f"seeds (root seed {args.seed}); difference = b - a, its standard error over replicates"
    )
    shown, cut = _few_states(table[table["replicates"] > 0], rec.state_ids, "difference")
    shown = shown.copy()
    for c in ("mean_a", "mean_b", "difference", "se", "q05", "q95"):
        shown[c] = shown[c].map(lambda x: "" if pd.isna(x) else f"{x:.3f}")
    print(shown.to_string(index=False) + cut)
    overall = table[(table["item"] == "all")].set_index("metric")["better"]
    words = {
        "a": f"{a.name} fits better",
        "b": f"{b.name} fits better",
        "cannot tell": "the runs cannot tell them apart",
    }
    print("overall: " + "; ".join(f"{m}: {words[v]}" for m, v in overall.items()) + " (lower errors are better)")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out, index=False)
        print(f"wrote {args.out}")
    return 0


#: the command names of this group and their handlers
COMMANDS = {"run": cmd_run, "compare": cmd_compare}

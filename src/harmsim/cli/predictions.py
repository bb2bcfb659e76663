"""Predictions from a fit: ``harmsim forecast``, ``counterfactual``, ``backtest`` and ``compare-backtests``."""

from __future__ import annotations

import sys
from pathlib import Path

from harmsim.analysis.backtest import INNER_YEARS, ORIGINS, POOL_WEIGHTS, SCHEDULES
from harmsim.cli._common import (
    _borrow_options,
    _borrow_said,
    _estimates_need_a_fit,
    _fit_said,
    _out_folder,
    _parameters_option,
    _positive,
    _seed,
    _seeds,
    _year,
)
from harmsim.errors import ConfigError
from harmsim.model.scenario import load_scenario


def add_parsers(sub) -> None:
    """This group's subcommands, on the ``harmsim`` parser's subparsers."""
    fc = sub.add_parser("forecast", help="forecast adoption past the end of observation from a fit")
    fc.add_argument("scenario", help="scenario file, or the name of a shipped scenario")
    fc.add_argument("--from-fit", type=Path, metavar="DIR", required=True, help="a saved fit (harmsim calibrate --out)")
    fc.add_argument("--until", type=_year, required=True, metavar="YEAR", help="last year to forecast")
    fc.add_argument("--replicates", "-r", type=_positive, default=1000, help="replicates (default 1000)")
    fc.add_argument("--seed", "-s", type=_seed, default=0, help="root seed (default 0)")
    fc.add_argument(
        "--unobserved",
        choices=("exchangeable", "scenario"),
        default="exchangeable",
        help="offset of an instrument with no adoption observed: drawn like the others' (exchangeable) or as the "
        "scenario sets it (scenario)",
    )
    _parameters_option(fc, "a plug-in forecast")
    fc.add_argument("--workers", "-w", type=_positive, default=1, help="processes (default 1)")
    fc.add_argument("--extend", action="append", metavar="INPUT=RULE", help="extension rule for an input (repeat)")
    fc.add_argument("--out", type=_out_folder, required=True, help="output folder")
    fc.add_argument("--force", action="store_true", help="replace an earlier result in --out")
    fc.add_argument("--no-figures", action="store_true", help="write tables only")
    cf = sub.add_parser("counterfactual", help="run a fitted scenario with and without a change file, paired")
    cf.add_argument("scenario", help="scenario file, or the name of a shipped scenario")
    cf.add_argument("--from-fit", type=Path, metavar="DIR", help="draw parameters from a saved fit (default: none)")
    cf.add_argument("--change", type=Path, required=True, metavar="FILE", help="change file (TOML)")
    cf.add_argument("--until", type=_year, metavar="YEAR", help="last year (default: the scenario's end)")
    cf.add_argument("--replicates", "-r", type=_positive, default=500, help="paired replicates (default 500)")
    cf.add_argument("--seed", "-s", type=_seed, default=0, help="root seed (default 0)")
    _parameters_option(cf, "the effect's spread then the simulation's alone (with --from-fit)")
    cf.add_argument("--workers", "-w", type=_positive, default=1, help="processes (default 1)")
    cf.add_argument("--extend", action="append", metavar="INPUT=RULE", help="extension rule for an input (repeat)")
    cf.add_argument("--out", type=_out_folder, required=True, help="output folder")
    cf.add_argument("--force", action="store_true", help="replace an earlier result in --out")
    cf.add_argument("--no-figures", action="store_true", help="write tables only")
    bt = sub.add_parser(
        "backtest", help="fit at earlier origins, forecast to the record's end, score against baselines"
    )
    bt.add_argument("scenario", help="scenario file, or the name of a shipped scenario")
    bt.add_argument("--origins", help=f"last observed years, comma-separated (default {','.join(map(str, ORIGINS))})")
    bt.add_argument(
        "--hold-out",
        metavar="INSTRUMENT",
        help="leave this instrument out of the fits and forecast it from the year before it opened "
        "(instead of --origins)",
    )
    bt.add_argument(
        "--schedule",
        choices=SCHEDULES,
        default="recorded",
        help="agreements dated after an origin: at their recorded dates, the forecast conditional on them (default), "
        "or left out, as known at the origin (an agreement that opens an instrument stays)",
    )
    bt.add_argument(
        "--inputs",
        choices=SCHEDULES,
        default="recorded",
        help="covariates, tiers, migrant stocks and global series after an origin: as recorded (default), or cut "
        "at the origin and extended past it by the scenario's rules, as known at the origin",
    )
    bt.add_argument(
        "--pool",
        action="store_true",
        help="also score the linear pool of the scenario's and the logit's forecasts, half each: does either "
        "add information the other lacks? (encompassing.csv)",
    )
    bt.add_argument(
        "--pool-weights",
        choices=POOL_WEIGHTS,
        default="equal",
        help="with --pool: 'inner' also scores the pool weighted by how the two forecasts made "
        f"{INNER_YEARS} years before each origin scored up to it (weighted_pool.csv; default: equal only)",
    )
    bt.add_argument("--replicates", "-r", type=_positive, default=1000, help="replicates per forecast (default 1000)")
    bt.add_argument("--seed", "-s", type=_seed, default=0, help="root seed (default 0)")
    bt.add_argument(
        "--monte-carlo-seeds",
        type=_seeds,
        default=[],
        metavar="SEEDS",
        help="further seeds, comma-separated: the forecasts again from the same fits, and each gain's spread over "
        "the seeds beside its sampling s.e. (monte_carlo.csv)",
    )
    _parameters_option(bt, "plug-in forecasts of the scenario and the logit alike")
    _borrow_options(bt, "SOURCE (a scenario, e.g. world_baseline), fitted on its own record to each origin")
    bt.add_argument("--workers", "-w", type=_positive, default=1, help="processes per forecast (default 1)")
    bt.add_argument("--out", type=_out_folder, required=True, help="output folder")
    bt.add_argument("--force", action="store_true", help="replace an earlier result in --out")
    bt.add_argument("--no-figures", action="store_true", help="write tables only")
    cb = sub.add_parser(
        "compare-backtests",
        help="two saved backtests paired on the cells both score: is the second better, worse, or not told apart?",
    )
    cb.add_argument("a", type=Path, metavar="A", help="folder of the first backtest (the reference)")
    cb.add_argument("b", type=Path, metavar="B", help="folder of the second (its gain over the first is printed)")
    cb.add_argument(
        "--states",
        metavar="RECORD",
        help="keep the states of this record only (a packaged name, e.g. asean, or a folder)",
    )
    cb.add_argument("--without", metavar="INSTRUMENTS", help="leave these instruments out (comma-separated)")
    cb.add_argument(
        "--again",
        nargs=2,
        action="append",
        type=Path,
        metavar=("A2", "B2"),
        help="folders of the same two backtests run with other seeds (repeat): each gain's Monte Carlo spread",
    )
    cb.add_argument(
        "--out", type=Path, metavar="FILE", help="write the paired table (CSV), FILE.json and the figure beside it"
    )
    cb.add_argument("--no-figures", action="store_true", help="with --out: write the table and FILE.json only")


def _extended(sc, rules):
    """The scenario with ``--extend INPUT=RULE`` rules added."""
    if not rules:
        return sc
    parsed = {}
    for text in rules:
        name, sep, rule = text.partition("=")
        if not sep or not name or not rule:
            raise ConfigError(f"--extend {text!r}: expected INPUT=RULE, e.g. gdp_pc=trend:5")
        parsed[name.strip()] = rule.strip()
    return sc.with_extension(parsed)


def cmd_forecast(args) -> int:
    from harmsim.analysis.forecast import forecast

    sc = _extended(load_scenario(args.scenario), args.extend)
    fit = _fit_said(args.from_fit, sc)
    f = forecast(
        sc,
        fit,
        until=args.until,
        replicates=args.replicates,
        seed=args.seed,
        unobserved=args.unobserved,
        parameters=args.parameters,
        workers=args.workers,
    )
    f.provenance["from_fit"] = str(args.from_fit)
    paths = f.save(args.out, figures=not args.no_figures, force=args.force)
    print(f.summary())
    print(f"wrote {len(paths)} files to {args.out}: {', '.join(p.name for p in paths)}")
    return 0


def cmd_counterfactual(args) -> int:
    from harmsim.analysis.counterfactual import counterfactual
    from harmsim.model.interventions import load_change

    sc = _extended(load_scenario(args.scenario), args.extend)
    _estimates_need_a_fit(args)
    fit = _fit_said(args.from_fit, sc) if args.from_fit else None
    cf = counterfactual(
        sc,
        fit,
        load_change(args.change),
        until=args.until,
        replicates=args.replicates,
        seed=args.seed,
        parameters=args.parameters,
        workers=args.workers,
    )
    print(cf.report())
    paths = cf.save(args.out, figures=not args.no_figures, force=args.force)
    print(f"wrote {len(paths)} files to {args.out}: {', '.join(p.name for p in paths)}")
    return 0


def cmd_compare_backtests(args) -> int:
    from harmsim.analysis.paired import compare_backtests
    from harmsim.data.record import load_record

    states = None if args.states is None else load_record(args.states).state_ids
    without = [x.strip() for x in (args.without or "").split(",") if x.strip()]
    pair = compare_backtests(args.a, args.b, again=args.again or (), states=states, without=without)
    print(pair.summary())
    if args.out is not None:
        paths = pair.save(args.out, figures=not args.no_figures)
        print(f"wrote {paths[0]} and, beside it, {', '.join(p.name for p in paths[1:])}")
    return 0


def cmd_backtest(args) -> int:
    from harmsim.analysis.backtest import backtest

    try:
        origins = None if args.origins is None else [int(x) for x in args.origins.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(
            f"--origins {args.origins!r}: expected years separated by commas, e.g. 2005,2008,2011"
        ) from None
    sc = load_scenario(args.scenario)
    said = _borrow_said(args)
    borrow = None
    if said is not None:
        from harmsim.calibrate.borrowing import Borrowing

        borrow = Borrowing(load_scenario(said[0]), said[1], said[2])
    bt = backtest(
        sc,
        origins,
        borrow=borrow,
        hold_out=args.hold_out,
        schedule=args.schedule,
        inputs=args.inputs,
        pool=args.pool,
        pool_weights=args.pool_weights,
        replicates=args.replicates,
        seed=args.seed,
        monte_carlo_seeds=args.monte_carlo_seeds,
        parameters=args.parameters,
        workers=args.workers,
        progress=lambda what: print(what, file=sys.stderr, flush=True),
    )
    print(bt.summary())
    paths = bt.save(args.out, figures=not args.no_figures, force=args.force)
    print(f"wrote {len(paths)} files and {len(bt.fits)} fits to {args.out}")
    return 0


#: the command names of this group and their handlers
COMMANDS = {
    "forecast": cmd_forecast,
    "counterfactual": cmd_counterfactual,
    "backtest": cmd_backtest,
    "compare-backtests": cmd_compare_backtests,
}

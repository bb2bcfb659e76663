"""The ``harmsim`` command: a thin layer over the Python API.

Every error harmsim raises on purpose (:class:`~harmsim.errors.HarmsimError`)
is printed as one line on stderr with exit code 2, without a traceback.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import unicodedata
import warnings
from pathlib import Path

import pandas as pd

from ._output import ResultFolder
from ._version import __version__
from .compare import compare
from .errors import ConfigError, HarmsimError, HarmsimWarning
from .params import CategoricalRange, RealRange
from .record import load_record, packaged_records
from .run import ENGINES, run_ensemble
from .scenario import list_scenarios, load_scenario

__all__ = ["main"]


def printable(text: str) -> str:
    r"""``text`` with control and other invisible characters shown as escapes (``\x1b``, ``\n``).

    Error messages quote what the user gave (a file name, a value read from a file); a terminal must not act on
    escape sequences in it, and a message stays one line.

    >>> printable("bad\x1b[31mname\n")
    'bad\\x1b[31mname\\n'
    """
    return "".join(c if unicodedata.category(c)[0] != "C" else c.encode("unicode_escape").decode("ascii") for c in text)


def _int_at_least(lo: int, what: str, hi: int | None = None):
    """An argparse type: an integer >= ``lo`` (and <= ``hi`` if given), refused with one clear line otherwise."""

    def parse(text: str) -> int:
        # int() also reads '2_004' and non-ASCII digits ('٢٠٢٠'): a number on a command line is ASCII digits
        if not re.fullmatch(r"[+-]?[0-9]+", text.strip()):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        v = int(text)
        if v < lo or (hi is not None and v > hi):
            raise argparse.ArgumentTypeError(f"expected {what}, got {v}")
        return v

    return parse


_positive = _int_at_least(1, "a positive integer")
_year = _int_at_least(1800, "a year (1800 or later)")
_seed = _int_at_least(0, "a non-negative integer seed")
_port = _int_at_least(1, "a port number 1-65535", hi=65535)


def _id_list(text: str) -> list[str]:
    """An argparse type: comma-separated ids (state codes and the like), none empty."""
    ids = [x.strip() for x in text.split(",")]
    if not all(ids):
        raise argparse.ArgumentTypeError(f"expected comma-separated ids, e.g. BRN,KHM; got {text!r}")
    return ids


def _out_file(text: str) -> Path:
    """An argparse type: a file to write (a name, not a folder)."""
    p = _out_folder(text)
    if p.name in ("", ".", "..") or text.endswith(("/", "\\")) or p.is_dir():
        raise argparse.ArgumentTypeError(f"expected a file name, got the folder {text!r}")
    return p


def _out_folder(text: str) -> Path:
    """An argparse type: a result folder's name (not empty, no NUL)."""
    if not text.strip() or "\x00" in text:
        raise argparse.ArgumentTypeError(f"expected an output folder, got {text!r}")
    return Path(text)


class _Defaults(argparse.HelpFormatter):
    """Every option's default in its help, unless the help already says it."""

    def _get_help_string(self, action):
        text = (action.help or "").strip()
        default = action.default
        if default is None or default is False or default is argparse.SUPPRESS or not action.option_strings:
            return text
        shown = ",".join(map(str, default)) if isinstance(default, (list, tuple)) else str(default)
        if re.search(rf"\bdefault:? {re.escape(shown)}\b", text) or "(default:" in text:
            return text
        return f"{text} (default: {shown})" if text else f"default: {shown}"


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _Defaults)
        super().__init__(*args, **kwargs)

    def add_argument(self, *args, **kwargs):
        # an option without help text still shows its default
        if kwargs.get("help") is None and args and str(args[0]).startswith("-"):
            kwargs["help"] = " "  # argparse prints no line for an empty help
        return super().add_argument(*args, **kwargs)

    def error(self, message):  # one line, exit 2 (argparse's own convention); it may quote what the user typed
        self.exit(2, f"{self.prog}: error: {printable(message)}\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="harmsim", description="Agent-based simulation of regional legal harmonization.")
    p.add_argument("--version", action="version", version=f"harmsim {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    r = sub.add_parser("record", help="print the observed record, or write it as CSV")
    r.add_argument("name", nargs="?", default="asean", help=f"record name or folder ({', '.join(packaged_records())})")
    r.add_argument("--out", type=Path, help="folder to write the record's tables to")
    r.add_argument(
        "--states",
        type=_id_list,
        default=None,
        help=f"print these states' adoption years (comma-separated ids; a record of more than {_RECORD_ROWS} "
        "states prints its summary otherwise)",
    )

    sub.add_parser("scenarios", help="list the shipped scenarios")

    pa = sub.add_parser("params", help="list a scenario's parameters with their allowed ranges")
    pa.add_argument("scenario", nargs="?", default="baseline")

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
            c.add_argument("--no-figures", action="store_true", help="write tables only")
        else:
            c.add_argument("--out", type=_out_file, help="also write the fit table as CSV")
    ca = sub.add_parser("calibrate", help="fit a scenario's parameters to the record")
    ca.add_argument("scenario", help="scenario file, or the name of a shipped scenario")
    ca.add_argument("--method", choices=("mle", "abc"), default="mle", help="exact likelihood (mle) or ABC-SMC (abc)")
    ca.add_argument("--free", nargs="+", metavar="NAME", help="parameters to estimate (default: all real ones)")
    ca.add_argument("--record", default=None, help="record to fit (default: the scenario's)")
    ca.add_argument(
        "--observed-until",
        type=_year,
        metavar="YEAR",
        help="fit on the observations up to YEAR only (a backtest's origin; inputs run further)",
    )
    ca.add_argument("--out", type=_out_folder, help="folder to save the fit in (fit.json, estimates.csv, trace.md)")
    ca.add_argument("--force", action="store_true", help="replace an earlier result in --out")
    ca.add_argument("--profile", action="store_true", help="MLE: add 95%% profile-likelihood intervals (slower)")
    ca.add_argument("--prior", action="append", metavar="NAME=LO:HI", help="ABC: a uniform prior (repeat)")
    ca.add_argument("--population", type=_positive, default=500, help="ABC: particles per generation")
    ca.add_argument("--budget", type=_positive, default=100_000, help="ABC: most simulations in all")
    ca.add_argument("--generations", type=_positive, default=8, help="ABC: most generations")
    ca.add_argument(
        "--min-acceptance",
        type=float,
        default=0.02,
        help="ABC: stop when a generation accepts fewer of its proposals than this",
    )
    ca.add_argument("--seed", "-s", type=_seed, default=0, help="ABC: root seed")
    ca.add_argument("--workers", "-w", type=_positive, default=1, help="ABC: processes")
    cm = sub.add_parser("compare-mechanisms", help="fit every competing scenario and two baselines; rank them")
    cm.add_argument("scenarios", nargs="*", help="scenarios to compare (default: the shipped competitors)")
    cm.add_argument("--replicates", "-r", type=_positive, default=200, help="predictive draws per model")
    cm.add_argument("--seed", "-s", type=_seed, default=0)
    cm.add_argument("--no-cv", action="store_true", help="skip the leave-one-out refits (faster)")
    cm.add_argument("--workers", "-w", type=_positive, default=1, help="processes (one model per task)")
    cm.add_argument(
        "--placebos",
        type=_int_at_least(0, "a non-negative integer"),
        default=0,
        metavar="N",
        help="placebo test of the agreements with N shifted and permuted schedules (19 recommended; default 0: off)",
    )
    cm.add_argument("--out", type=_out_folder, help="folder for the table, the verdict, the fits and the figures")
    cm.add_argument("--force", action="store_true", help="replace an earlier result in --out")
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
    cf.add_argument("--workers", "-w", type=_positive, default=1, help="processes (default 1)")
    cf.add_argument("--extend", action="append", metavar="INPUT=RULE", help="extension rule for an input (repeat)")
    cf.add_argument("--out", type=_out_folder, required=True, help="output folder")
    cf.add_argument("--force", action="store_true", help="replace an earlier result in --out")
    cf.add_argument("--no-figures", action="store_true", help="write tables only")
    bt = sub.add_parser(
        "backtest", help="fit at earlier origins, forecast to the record's end, score against baselines"
    )
    bt.add_argument("scenario", help="scenario file, or the name of a shipped scenario")
    bt.add_argument(
        "--origins", default="2005,2008,2011", help="last observed years, comma-separated (default 2005,2008,2011)"
    )
    bt.add_argument("--replicates", "-r", type=_positive, default=1000, help="replicates per forecast (default 1000)")
    bt.add_argument("--seed", "-s", type=_seed, default=0, help="root seed (default 0)")
    bt.add_argument("--workers", "-w", type=_positive, default=1, help="processes per forecast (default 1)")
    bt.add_argument("--out", type=_out_folder, required=True, help="output folder")
    bt.add_argument("--force", action="store_true", help="replace an earlier result in --out")
    bt.add_argument("--no-figures", action="store_true", help="write tables only")
    da = sub.add_parser(
        "dashboard",
        help="the model in the browser (Mesa's SolaraViz; needs pip install 'harmsim[viz]')",
        description="Serve the dashboard: the member states stepping year by year, sliders for the mechanisms' "
        "parameters, this run against the record. Open the address it prints; Ctrl-C stops it.",
    )
    da.add_argument(
        "scenario",
        nargs="?",
        default="baseline",
        help="scenario file, or the name of a shipped scenario (default: baseline)",
    )
    da.add_argument(
        "--from-fit", type=Path, metavar="DIR", help="a saved fit: sliders start at its estimates, charts show its band"
    )
    da.add_argument("--port", "-p", type=_port, default=8765, help="port to serve on")
    da.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")
    se = sub.add_parser("sensitivity", help="global sensitivity analysis: Sobol indices or Morris screening (SALib)")
    se.add_argument("scenario", help="scenario file, or the name of a shipped scenario")
    se.add_argument("--method", choices=("sobol", "morris"), default="sobol", help="default sobol")
    se.add_argument(
        "--base",
        type=_positive,
        default=256,
        help="Sobol: base sample, a power of two (default 256); Morris: trajectories",
    )
    se.add_argument(
        "--vary",
        action="append",
        metavar="NAME=LO:HI",
        help="a parameter's range (repeat; default: the ranges the scenario declares in [ranges])",
    )
    se.add_argument("--from-fit", type=Path, metavar="DIR", help="ranges from a fit's uncertainty instead")
    se.add_argument("--replicates", "-r", type=_positive, default=10, help="replicates per point (default 10)")
    se.add_argument("--seed", "-s", type=_seed, default=0, help="root seed (default 0)")
    se.add_argument("--workers", "-w", type=_positive, default=1, help="processes (default 1)")
    se.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask distributed scheduler instead")
    se.add_argument("--out", type=_out_folder, required=True, help="output folder")
    se.add_argument("--force", action="store_true", help="replace an earlier result in --out")
    se.add_argument("--no-figures", action="store_true", help="write tables only")
    sw = sub.add_parser("sweep", help="sweep parameters over a design and score every point against the record")
    sw.add_argument("scenario", help="scenario file, or the name of a shipped scenario")
    sw.add_argument(
        "--vary",
        action="append",
        metavar="NAME=LO:HI[:N]",
        help="a parameter range (repeat); NAME=A,B,... for choices",
    )
    sw.add_argument(
        "--design",
        type=Path,
        metavar="CSV",
        help="evaluate these points instead: a column per parameter (flat names), one row per point",
    )
    sw.add_argument("--sample", choices=("grid", "lhs", "sobol"), default="grid", help="how points are placed")
    sw.add_argument("--points", type=_positive, help="number of points for lhs and sobol")
    sw.add_argument("--replicates", "-r", type=_positive, default=20, help="replicates per point")
    sw.add_argument("--seed", "-s", type=_seed, default=0)
    sw.add_argument("--record", default=None, help="record to compare with (default: the scenario's)")
    sw.add_argument("--out", type=_out_file, required=True, help="CSV file (resumed if interrupted)")
    sw.add_argument("--force", action="store_true", help="replace a different sweep's table or chunks at --out")
    sw.add_argument("--workers", "-w", type=_positive, default=1, help="processes (default 1)")
    sw.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask distributed scheduler instead")
    sw.add_argument("--chunk-size", type=_positive, help="points per task (default: from the number of points)")
    sw.add_argument("--no-figures", action="store_true")
    return p


def _ensemble(args):
    sc = load_scenario(args.scenario)
    if getattr(args, "from_fit", None):
        return _ensemble_from_fit(sc, args)
    engine = args.engine or ("batch" if args.replicates > 1 else "mesa")
    from ._progress import bar as progress_bar

    with progress_bar(args.replicates, f"{sc.name} ({engine})", "run", leave=False) as bar:
        ens = run_ensemble(sc, replicates=args.replicates, seed=args.seed, engine=engine, progress=bar.update)
    rec = load_record(args.record) if args.record else sc.record
    return sc, ens, rec


def _ensemble_from_fit(sc, args):
    """Replicates whose parameters are drawn from a fit: one parameter set per replicate."""
    from .predictive import predictive_ensemble

    ens = predictive_ensemble(sc, _fit_said(args.from_fit, sc), args.replicates, args.seed)
    ens.provenance["from_fit"] = str(args.from_fit)
    rec = load_record(args.record) if args.record else sc.record
    return sc, ens, rec


def cmd_calibrate(args) -> int:
    from .calibrate import calibrate

    sc = load_scenario(args.scenario)
    rec = load_record(args.record) if args.record else None
    if args.method == "mle":
        if args.prior:
            raise ConfigError("--prior is for --method abc")
        fit = calibrate(
            sc,
            method="mle",
            record=rec,
            free=args.free,
            profiles=args.profile,
            observed_until=args.observed_until,
            progress=None,
        )
    else:
        from .space import parse_vary

        priors = None
        if args.prior:
            priors = [parse_vary(p, sc) for p in args.prior]
            bad = [p.name for p in priors if not isinstance(p, RealRange)]
            if bad:
                raise ConfigError(f"--prior needs real ranges NAME=LO:HI; not real: {', '.join(bad)}")
        fit = calibrate(
            sc,
            method="abc",
            record=rec,
            free=args.free,
            priors=priors,
            population=args.population,
            budget=args.budget,
            generations=args.generations,
            min_acceptance=args.min_acceptance,
            seed=args.seed,
            workers=args.workers,
            observed_until=args.observed_until,
            progress=None,
        )
    print(fit.summary())
    print(f"({fit.log.get('seconds', 0):.1f} s)")
    if args.out:
        paths = fit.save(args.out, force=args.force)
        print(f"wrote {', '.join(p.name for p in paths)} to {args.out}")
    return 0


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
    from .forecast import forecast

    sc = _extended(load_scenario(args.scenario), args.extend)
    fit = _fit_said(args.from_fit, sc)
    f = forecast(
        sc,
        fit,
        until=args.until,
        replicates=args.replicates,
        seed=args.seed,
        unobserved=args.unobserved,
        workers=args.workers,
    )
    f.provenance["from_fit"] = str(args.from_fit)
    paths = f.save(args.out, figures=not args.no_figures, force=args.force)
    print(
        f"{sc.name}: forecast from {f.origin} (end of observation) to {f.until}, {len(f.seeds)} replicates, "
        f"parameters from the {fit.method.upper()} fit in {args.from_fit}"
    )
    for note in f.provenance["forecast"]["choices"]:
        print(f"  {note}")
    for name, rule, lo, hi in f.scenario.world.extended:
        print(f"  input {name} extended by '{rule}' over {lo}-{hi}")
    last = f.fan[f.fan["year"] == f.until].set_index("instrument")
    now = f.fan[f.fan["year"] == f.origin].set_index("instrument")
    print(f"\nstates that have adopted, {f.origin} -> {f.until} (median and 90% interval):")
    for k in sc.world.instruments:
        print(
            f"  {k:<14} {int(now.loc[k, 'q50']):>2} -> {last.loc[k, 'q50']:>4.1f}  "
            f"[{last.loc[k, 'q05']:.0f}, {last.loc[k, 'q95']:.0f}]"
        )
    print(f"wrote {len(paths)} files to {args.out}: {', '.join(p.name for p in paths)}")
    return 0


def cmd_counterfactual(args) -> int:
    from .counterfactual import counterfactual
    from .interventions import load_change

    sc = _extended(load_scenario(args.scenario), args.extend)
    fit = _fit_said(args.from_fit, sc) if args.from_fit else None
    cf = counterfactual(
        sc,
        fit,
        load_change(args.change),
        until=args.until,
        replicates=args.replicates,
        seed=args.seed,
        workers=args.workers,
    )
    print(cf.report())
    paths = cf.save(args.out, figures=not args.no_figures, force=args.force)
    print(f"wrote {len(paths)} files to {args.out}: {', '.join(p.name for p in paths)}")
    return 0


def cmd_backtest(args) -> int:
    from .backtest import backtest

    try:
        origins = [int(x) for x in args.origins.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(
            f"--origins {args.origins!r}: expected years separated by commas, e.g. 2005,2008,2011"
        ) from None
    sc = load_scenario(args.scenario)
    bt = backtest(
        sc,
        origins,
        replicates=args.replicates,
        seed=args.seed,
        workers=args.workers,
        progress=lambda what: print(f"fitting and forecasting {what}", file=sys.stderr, flush=True),
    )
    print(bt.summary())
    paths = bt.save(args.out, figures=not args.no_figures, force=args.force)
    print(f"wrote {len(paths)} files and {len(bt.fits)} fits to {args.out}")
    return 0


def _steps(total: int, desc: str, progress: bool | None = None):
    """A progress bar of named steps on stderr (shown on a terminal), as a callback ``step(what)`` called when a
    step is done; a step beyond ``total`` (e.g. placebo refits) extends it. Close ``step.bar`` at the end."""
    from ._progress import bar as progress_bar

    bar = progress_bar(total, desc, "step", progress)

    def step(what: str) -> None:
        if bar.n >= bar.total:
            bar.total += 1
        bar.update(1)
        bar.set_postfix_str(f"done: {what}")

    step.bar = bar  # the caller closes it when the work is done
    return step


def cmd_compare_mechanisms(args) -> int:
    from .calibrate.comparison import COMPETITORS, compare_mechanisms

    names = args.scenarios or list(COMPETITORS)
    scenarios = {}
    for n in names:
        sc = load_scenario(n)
        scenarios[sc.name] = sc
    step = _steps(len(scenarios) + 1, "compare-mechanisms")
    try:
        comp = compare_mechanisms(
            list(scenarios.values()),
            replicates=args.replicates,
            seed=args.seed,
            cross_validate=not args.no_cv,
            placebos=args.placebos,
            workers=args.workers,
            progress=step,
        )
    finally:
        step.bar.close()
    print(comp)
    if args.out:
        from .calibrate.report import write_comparison

        paths = write_comparison(
            comp, scenarios, args.out, replicates=args.replicates, seed=args.seed, force=args.force
        )
        print(f"wrote {len(paths)} files and the fits to {args.out}")
    return 0


def _format_fit(fit: pd.DataFrame) -> str:
    """The fit table as printed; a metric no replicate defines is said in words below it, not shown empty."""
    undefined = fit[fit["replicates"] == 0]
    out = fit[fit["replicates"] > 0].copy()
    for c in ("mean", "sd", "q05", "q95"):
        out[c] = out[c].map(lambda x: "" if pd.isna(x) else f"{x:.2f}")
    text = out.to_string(index=False)
    if len(undefined):
        cols = [c for c in undefined.columns if c not in ("metric", "replicates", "mean", "sd", "q05", "q95")]
        which = ", ".join(f"{r['metric']} {' '.join(str(r[c]) for c in cols)}" for _, r in undefined.iterrows())
        text += (
            f"\nundefined in every replicate (too few adopters, in the record or the runs, to rank or compare): {which}"
        )
    return text


#: a record with more states than this prints its summary, not a row per state (unless --states asks)
_RECORD_ROWS = 40


def cmd_record(args) -> int:
    rec = load_record(args.name)
    if args.out:
        paths = rec.write(args.out)
        print(f"wrote {len(paths)} files to {args.out} (load them with harmsim record {args.out})")
        return 0
    unknown = [s for s in args.states or () if s not in rec.state_ids]
    if unknown:
        raise ConfigError(f"--states: unknown state(s) {', '.join(unknown)} in record '{rec.name}'")
    print(f"{rec.title} ({rec.name}, {rec.start}-{rec.end})\n")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print("Per instrument: how its pairs of state and instrument are observed")
        print(rec.summary().to_string())
        wide = rec.cells()
        if args.states:
            wide = wide.loc[args.states]
        if args.states or len(wide) <= _RECORD_ROWS:
            print(
                "\nAdoption years (a-b = within the interval; . = not adopted by the end; >Y = not adopted by Y, "
                "unobserved after; ? = not observed; - = not open to the state)"
            )
            print(wide.to_string())
        else:
            print(f"\n{len(wide)} states: --states A,B,... prints their adoption years; --out DIR writes every table")
        items = rec.status[rec.status["instrument"].isin(rec.status_items)]
        if len(items):
            print("\nEnd-of-window status")
            print(
                items.pivot(index="state", columns="instrument", values="value")
                .reindex(index=list(rec.state_ids), columns=list(rec.status_items))
                .dropna(how="all")
                .to_string()
            )
        if len(rec.organizations):
            print("\nOrganizations (members at the end of the window; missing = members by year not recorded)")
            print(rec.organization_summary().to_string())
        if len(rec.agreements):
            print("\nRegional agreements")
            cols = ["year", "agreement", *(["organization"] if len(rec.organizations) else []), "binding", "covers"]
            g = rec.agreements[cols].copy()
            g["binding"] = g["binding"].map({True: "binding", False: "non-binding"})
            g["covers"] = g["covers"].map(" ".join)
            print(g.to_string(index=False))
    return 0


def cmd_dashboard(args) -> int:
    from .dashboard import serve

    fit = None if args.from_fit is None else str(args.from_fit)
    return serve(args.scenario, fit=fit, port=args.port, host=args.host)


def _fit_said(folder, scenario):
    """A saved fit of ``scenario`` (another scenario's is refused first), its parameters the record does not
    bound said in one warning line."""
    from .calibrate import load_fit

    fit = load_fit(folder)
    fit.apply(scenario)
    caveat = fit.caveat()
    if caveat:
        warnings.warn(caveat, HarmsimWarning, stacklevel=2)
    return fit


def _compare_two(args) -> int:
    """harmsim compare A B: both on the same seeds, their fits' paired differences."""
    from .compare import compare_paired

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
    shown = table[table["replicates"] > 0].copy()
    for c in ("mean_a", "mean_b", "difference", "se", "q05", "q95"):
        shown[c] = shown[c].map(lambda x: "" if pd.isna(x) else f"{x:.3f}")
    print(shown.to_string(index=False))
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


def cmd_scenarios(args) -> int:
    rows = list_scenarios()
    width = max(len(n) for n, _ in rows)
    for name, desc in rows:
        print(f"{name:<{width}}  {desc}")
    return 0


def cmd_params(args) -> int:
    from .mechanisms import REGISTRY
    from .space import HAZARD_PARAMS

    sc = load_scenario(args.scenario)
    values = sc.parameters()
    print(f"scenario {sc.name}: mechanisms on: {', '.join(sc.enabled) or 'none'}")
    for group, specs in (("hazard", HAZARD_PARAMS), *((n, REGISTRY[n].params) for n in REGISTRY)):
        state = "" if group == "hazard" or group in sc.enabled else "  (off)"
        print(f"\n[{group}]{state}")
        for key, spec in specs.items():
            if key == "offsets":  # a row per instrument, under the map's own description
                print(f"  {key:<22} {'':<12} {spec.describe():<28} {spec.doc}")
                for k, x in values.items():
                    if k.startswith("hazard.offsets."):
                        print(f"    {k.removeprefix('hazard.offsets.'):<20} {x!s}")
                continue
            v = values.get(f"{group}.{key}", "")
            print(f"  {key:<22} {v!s:<12} {spec.describe():<28} {spec.doc}")
    return 0


def cmd_compare(args) -> int:
    if args.other is not None:
        return _compare_two(args)
    sc, ens, rec = _ensemble(args)
    fit = compare(ens, rec)
    print(
        f"{sc.name} vs record '{rec.name}': {ens.replicates} replicates, seed {args.seed}, "
        f"engine {ens.provenance['engine']}"
    )
    print(_format_fit(fit))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        fit.to_csv(args.out, index=False)
        print(f"wrote {args.out}")
    return 0


def cmd_run(args) -> int:
    sc, ens, rec = _ensemble(args)
    with ResultFolder(args.out, "run", args.force) as rf:
        rf.add(_write_run(rf.path, sc, ens, rec, args))
    paths = rf.final
    pred = ens.provenance.get("predictive")
    how = f"parameters drawn from the {pred['fit'].upper()} fit in {args.from_fit}" if pred else "scenario's parameters"
    print(f"{sc.name}: {ens.replicates} replicate(s), {how}, seed {args.seed}, engine {ens.provenance['engine']}")
    print(f"wrote {len(paths)} files to {args.out}: {', '.join(p.name for p in paths)}")
    return 0


def _write_run(out: Path, sc, ens, rec, args) -> list[Path]:
    paths = ens.write(out)
    fit = compare(ens, rec)
    fit.to_csv(out / "fit.csv", index=False)
    paths.append(out / "fit.csv")
    if not args.no_figures:
        for stem, f in ens.plot.all(rec).items():
            for ext in ("png", "pdf"):
                p = out / f"{stem}.{ext}"
                f.savefig(p, dpi=200)
                paths.append(p)
    return paths


def cmd_sweep(args) -> int:
    from .space import parse_vary
    from .sweep import evaluate, ranking, sweep

    sc = load_scenario(args.scenario)
    if (args.design is None) == (not args.vary):
        raise ConfigError("give the points as --vary ranges or as a --design table (one of the two)")
    ranges = [parse_vary(v, sc) for v in args.vary or []]
    rec = load_record(args.record) if args.record else None
    executor, client = _executor(args.scheduler)
    kw = dict(
        replicates=args.replicates,
        seed=args.seed,
        record=rec,
        workers=args.workers,
        executor=executor,
        out=args.out,
        chunk_size=args.chunk_size,
        force=args.force,
    )
    try:
        if args.design is not None:
            res = evaluate(sc, _read_design(args.design), **kw)
        else:
            res = sweep(sc, ranges, sample=args.sample, points=args.points, **kw)
    finally:
        if client is not None:
            client.close()
    t = res.table
    names = [r.name for r in ranges] if ranges else [c for c in _read_design(args.design).columns if c != "point"]
    print(f"{sc.name}: {len(t)} points x {args.replicates} replicates, seed {args.seed} -> {args.out}")
    print("best points by year_mae (lower is better; mean and standard error over replicates):")
    best = ranking(t, "year_mae")
    print(
        best[["point", *names, "year_mae", "year_mae_se", "tied_with_best", "curve_mad", "rank_tau"]].to_string(
            index=False, float_format=lambda x: f"{x:.3g}"
        )
    )
    # over every point, as the landscape marks them, not only the ones printed
    tied = int(ranking(t, "year_mae", n=len(t))["tied_with_best"].sum()) - 1
    if tied:
        print(
            f"{tied} of the other {len(t) - 1} points {'is' if tied == 1 else 'are'} within two standard errors of "
            "the best: the replicates cannot tell them apart (more replicates would)."
        )
    if not args.no_figures and ranges:
        numeric = [r.name for r in ranges if not isinstance(r, CategoricalRange)]
        written = _sweep_figures(res.table, numeric, args.out, args.sample, sc)
        if written:
            print(f"figures: {', '.join(str(p) for p in written)}")
    return 0


def cmd_sensitivity(args) -> int:
    from .sensitivity import sensitivity

    sc = load_scenario(args.scenario)
    if args.vary is not None and args.from_fit is not None:
        raise ConfigError("give the parameters' ranges as --vary NAME=LO:HI or take them from --from-fit DIR, not both")
    fit = _fit_said(args.from_fit, sc) if args.from_fit else None
    if fit is not None:
        sc = fit.apply(sc)
    executor, client = _executor(args.scheduler)
    # the evaluation resumes from a cache beside the output folder; it goes once the result is in place
    cache = args.out.with_name(f".{args.out.name}.points.csv")
    try:
        res = sensitivity(
            sc,
            ranges=args.vary,
            fit=fit,
            method=args.method,
            base=args.base,
            replicates=args.replicates,
            seed=args.seed,
            workers=args.workers,
            executor=executor,
            cache=cache,
            force=args.force,
        )
    finally:
        if client is not None:
            client.close()
    paths = res.save(args.out, figures=not args.no_figures, force=args.force)
    for p in (cache, cache.with_name(cache.stem + ".provenance.json"), cache.with_suffix(".parquet")):
        p.unlink(missing_ok=True)
    print(f"{sc.name}: {args.method} sensitivity, {len(res.points)} points x {args.replicates} replicates")
    for output in ("year_mae", "curve_mad"):
        print(res.summary(output))
    print(f"wrote {len(paths)} files to {args.out}: {', '.join(p.name for p in paths)}")
    return 0


def _executor(address):
    """(executor, client) for a Dask scheduler address, or (None, None)."""
    if not address:
        return None, None
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError("--scheduler needs Dask: pip install 'harmsim[distributed]'") from None
    try:
        client = Client(address, timeout="10s")
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"--scheduler {address}: cannot connect ({exc})") from None
    return client.get_executor(), client


def _read_design(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ConfigError(f"--design {path}: {exc}") from None


def _sweep_figures(table, numeric, out: Path, sample: str, sc) -> list[Path]:
    from matplotlib.figure import Figure

    from .plots import plot_landscape, plot_response
    from .sweep import landscape, ranking

    own = sc.parameters()
    reps = int(table["replicates"].iloc[0])
    if len(numeric) == 1:
        fig = Figure(figsize=(5.5, 3.6), layout="constrained")
        ax = plot_response(fig.subplots(), table, numeric[0], own=own.get(numeric[0]))
        ax.set_title(f"{sc.name}: year MAE against {numeric[0]} ({reps} replicates per point)", fontsize=9)
        path = out.with_name(out.stem + "_response.png")
    elif len(numeric) == 2 and sample == "grid":
        fig = Figure(figsize=(5.8, 4.4), layout="constrained")
        ranked = ranking(table, "year_mae", n=len(table)).assign(tied=lambda d: d["tied_with_best"].astype(float))
        ax = plot_landscape(
            fig.subplots(),
            landscape(table, numeric[0], numeric[1]),
            label="mean absolute error of adoption years (lower is better)",
            own=(own.get(numeric[0]), own.get(numeric[1])),
            tied=landscape(ranked, numeric[0], numeric[1], "tied") > 0.5,
        )
        ax.set_title(f"{sc.name}: fit landscape, {reps} replicates per point", fontsize=9)
        path = out.with_name(out.stem + "_landscape.png")
    else:
        return []
    fig.savefig(path, dpi=200)
    return [path]


#: commands whose --out is a result folder (harmsim._output)
_RESULT_FOLDERS = {"run", "calibrate", "compare-mechanisms", "forecast", "counterfactual", "backtest", "sensitivity"}


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    handler = {
        "record": cmd_record,
        "scenarios": cmd_scenarios,
        "params": cmd_params,
        "compare": cmd_compare,
        "run": cmd_run,
        "sweep": cmd_sweep,
        "sensitivity": cmd_sensitivity,
        "calibrate": cmd_calibrate,
        "compare-mechanisms": cmd_compare_mechanisms,
        "forecast": cmd_forecast,
        "backtest": cmd_backtest,
        "counterfactual": cmd_counterfactual,
        "dashboard": cmd_dashboard,
    }[args.command]
    with warnings.catch_warnings():
        warnings.showwarning = _one_line_warning
        return _run(handler, args)


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """harmsim's warnings as one line on stderr; others as Python prints them."""
    if issubclass(category, HarmsimWarning):
        print(f"harmsim: warning: {printable(str(message))}", file=sys.stderr)
    else:
        print(warnings.formatwarning(message, category, filename, lineno, line), end="", file=sys.stderr)


def _run(handler, args) -> int:
    try:
        if args.command in _RESULT_FOLDERS and getattr(args, "out", None) is not None:
            ResultFolder(args.out, args.command, args.force)  # refuse an occupied --out before any work
        return handler(args)
    except HarmsimError as exc:
        print(f"harmsim: error: {printable(str(exc))}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (e.g. `harmsim compare ... | head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        print(f"harmsim: error: {printable(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("harmsim: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

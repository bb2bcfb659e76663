"""Exploring the parameter space: ``harmsim sweep`` and ``sensitivity``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from harmsim._output import read_csv
from harmsim.cli._common import (
    _fit_said,
    _out_file,
    _out_folder,
    _positive,
    _seed,
)
from harmsim.data.record import load_record
from harmsim.errors import ConfigError
from harmsim.model.params import CategoricalRange
from harmsim.model.scenario import load_scenario


def add_parsers(sub) -> None:
    """This group's subcommands, on the ``harmsim`` parser's subparsers."""
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


def cmd_sweep(args) -> int:
    from harmsim.analysis.sweep import evaluate, ranking, sweep
    from harmsim.model.space import parse_vary

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
    from harmsim.analysis.sensitivity import held_at_estimate, sensitivity

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
    held = held_at_estimate(fit, res.problem) if fit is not None else []
    if held:
        print(f"held at the fit's estimates, no interval to vary them over (at a bound, not identified, or without a "
              f"standard error): {', '.join(held)}; the indices say nothing about them")  # fmt: skip
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
    _refused(address)
    try:
        client = Client(address, timeout="10s")
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"--scheduler {address}: cannot connect ({exc})") from None
    return client.get_executor(), client


def _refused(address: str) -> None:
    """Refuse a ``tcp://HOST:PORT`` address at once when nothing listens there: Dask's client would retry it for
    its whole timeout. Any other answer (or another protocol) is left to the client."""
    import socket
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(address)
        host, port = parts.hostname, parts.port
    except ValueError:
        return
    if parts.scheme != "tcp" or not host or port is None:
        return
    try:
        socket.create_connection((host, port), timeout=2).close()
    except ConnectionRefusedError as exc:
        raise ConfigError(
            f"--scheduler {address}: cannot connect ({exc.strerror or exc}: no scheduler there)"
        ) from None
    except OSError:
        return


def _read_design(path: Path) -> pd.DataFrame:
    try:
        return read_csv(path)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ConfigError(f"--design {path}: {exc}") from None


def _sweep_figures(table, numeric, out: Path, sample: str, sc) -> list[Path]:
    from matplotlib.figure import Figure

    from harmsim.analysis.sweep import landscape, ranking
    from harmsim.output.plots import plot_landscape, plot_response

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


#: the command names of this group and their handlers
COMMANDS = {"sweep": cmd_sweep, "sensitivity": cmd_sensitivity}

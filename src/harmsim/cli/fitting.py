"""Fitting: ``harmsim calibrate`` (MLE or ABC) and ``compare-mechanisms``."""

from __future__ import annotations

import sys
from pathlib import Path

from harmsim.cli._common import (
    _borrow_options,
    _borrow_said,
    _int_at_least,
    _out_folder,
    _positive,
    _seed,
    _steps,
    _year,
)
from harmsim.data.record import load_record
from harmsim.errors import ConfigError
from harmsim.model.params import RealRange
from harmsim.model.scenario import load_scenario


def add_parsers(sub) -> None:
    """This group's subcommands, on the ``harmsim`` parser's subparsers."""
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
    ca.add_argument(
        "--starts",
        type=_positive,
        default=3,
        help="MLE: optimizer starts (the start values and points around them); warns when the best two maxima "
        "differ by more than 0.01",
    )
    ca.add_argument(
        "--prior",
        action="append",
        metavar="NAME=LO:HI",
        help="ABC: a uniform prior (repeat); a scenario's [priors] densities weigh on top of it",
    )
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
    _borrow_options(
        ca,
        "SOURCE: a saved fit's folder, or a scenario fitted first on its own record (to --observed-until when given)",
    )
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
        help=(
            "placebo test of the agreements with N schedules exchangeable with the recorded one "
            "(99 recommended: p in steps of 0.01; default 0: off)"
        ),
    )
    cm.add_argument("--out", type=_out_folder, help="folder for the table, the verdict, the fits and the figures")
    cm.add_argument("--force", action="store_true", help="replace an earlier result in --out")
    bi = sub.add_parser("bindingness", help="test binding against non-binding agreements across organizations")
    bi.add_argument("scenario", help="scenario (file or shipped name) on a record with organizations")
    bi.add_argument("--out", type=_out_folder, required=True, help="folder for bindingness.csv, verdict.txt, figures")
    bi.add_argument("--from-fit", type=Path, metavar="DIR", help="the scenario's saved pooled fit (default: fit it)")
    bi.add_argument(
        "--permutations",
        type=_int_at_least(1, "a positive integer"),
        default=999,
        metavar="N",
        help="labellings drawn when there are more than 5,000 (else every labelling is used)",
    )
    bi.add_argument(
        "--panels",
        type=_int_at_least(0, "a non-negative integer"),
        default=40,
        metavar="N",
        help="synthetic panels per known effect for the power columns (0: none)",
    )
    bi.add_argument("--spread", type=float, default=0.5, help="organization-level spread of the synthetic panels")
    bi.add_argument("--seed", "-s", type=_seed, default=0, help="root seed of the panels and drawn labellings")
    where = bi.add_mutually_exclusive_group()
    where.add_argument("--workers", "-w", type=_positive, default=1, help="local processes for the refits")
    where.add_argument("--scheduler", metavar="ADDRESS", help="run the refits on a Dask distributed scheduler")
    bi.add_argument("--force", action="store_true", help="replace an earlier result in --out (and its saved refits)")


def cmd_calibrate(args) -> int:
    from harmsim.calibrate import calibrate

    sc = load_scenario(args.scenario)
    rec = load_record(args.record) if args.record else None
    said = _borrow_said(args)
    if said is not None:
        sc, lender = _borrowed(sc, *said, observed_until=args.observed_until)
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
            starts=args.starts,
            progress=None,
        )
    else:
        from harmsim.model.space import parse_vary

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
    if said is not None:
        from harmsim.calibrate.borrowing import record_borrowing

        record_borrowing(fit, lender, said[1], said[2], said[0])
    print(fit.summary())
    print(f"({fit.log.get('seconds', 0):.1f} s)")
    if args.out:
        paths = fit.save(args.out, force=args.force)
        print(f"wrote {', '.join(p.name for p in paths)} to {args.out}")
    return 0


def _borrowed(sc, source: str, names: tuple[str, ...], inflation: float, observed_until: int | None):
    """``sc`` with the priors ``source`` lends it (a saved fit's folder, or a scenario fitted first), and the
    source's fit."""
    from harmsim.calibrate import calibrate, load_fit
    from harmsim.calibrate.borrowing import Borrowing, borrow_from_fit, leaks

    folder = Path(source)
    if (folder / "fit.json").is_file():
        fit = load_fit(folder)
        if leaks(fit, observed_until):
            seen = fit.observed_until if fit.observed_until is not None else "its record's end"
            raise ConfigError(
                f"--borrow-from {source}: that fit saw observations to {seen}, after --observed-until "
                f"{observed_until}; fit the source to {observed_until} (harmsim calibrate SOURCE --observed-until "
                f"{observed_until})"
            )
        out = borrow_from_fit(sc, fit, names, inflation)
    else:
        borrowing = Borrowing(load_scenario(source), names, inflation)
        borrowing.check(sc)
        print(f"fitting {borrowing.source.name}, the source of the borrowed priors", file=sys.stderr, flush=True)
        fit = calibrate(borrowing.source, observed_until=observed_until)
        out = borrowing.apply(sc, fit)
    return out, fit


def cmd_compare_mechanisms(args) -> int:
    from harmsim.analysis.comparison import COMPETITORS, compare_mechanisms

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
        from harmsim.analysis.report import write_comparison

        paths = write_comparison(
            comp, scenarios, args.out, replicates=args.replicates, seed=args.seed, force=args.force
        )
        print(f"wrote {len(paths)} files and the fits to {args.out}")
    return 0


def cmd_bindingness(args) -> int:
    from harmsim.analysis.bindingness import agreement_units, bindingness_test
    from harmsim.cli._common import _fit_said
    from harmsim.cli.explore import _executor

    sc = load_scenario(args.scenario)
    fit = _fit_said(args.from_fit, sc) if args.from_fit else None
    cache = args.out.parent / f".{args.out.name}.refits"
    executor, client = _executor(args.scheduler)
    # one step per refit task: each unit on the real record, each synthetic panel, and the pooled fit if made
    step = _steps(len(agreement_units(sc)) + 3 * args.panels + (fit is None), "bindingness")
    try:
        test = bindingness_test(
            sc,
            fit=fit,
            panels=args.panels,
            spread=args.spread,
            permutations=args.permutations,
            seed=args.seed,
            workers=args.workers,
            executor=executor,
            cache=cache,
            force=args.force,
            progress=step,
        )
    finally:
        step.bar.close()
        if client is not None:
            client.close()
    print(test.words())
    paths = test.save(args.out, force=args.force)
    print(f"wrote {', '.join(p.name for p in paths)} to {args.out} ({test.log['seconds']:.0f} s)")
    return 0


#: the command names of this group and their handlers
COMMANDS = {
    "calibrate": cmd_calibrate,
    "compare-mechanisms": cmd_compare_mechanisms,
    "bindingness": cmd_bindingness,
}

"""What every command shares: argument types, the parser's class, and the ensemble and fit helpers."""

from __future__ import annotations

import argparse
import re
import unicodedata
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from harmsim.analysis.run import run_ensemble
from harmsim.data.record import load_record
from harmsim.errors import ConfigError, HarmsimWarning
from harmsim.model.scenario import load_scenario


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


def _seeds(text: str) -> list[int]:
    """An argparse type: comma-separated non-negative integer seeds, none empty, e.g. 1,2,3."""
    try:
        seeds = [int(x) for x in text.split(",")]
    except ValueError:
        seeds = []
    if not seeds or min(seeds) < 0:
        raise argparse.ArgumentTypeError(
            f"expected non-negative integer seeds separated by commas, e.g. 1,2,3; got {text!r}"
        )
    return seeds


_port = _int_at_least(1, "a port number 1-65535", hi=65535)


def _id_list(text: str) -> list[str]:
    """An argparse type: comma-separated ids (state codes and the like) or names (subregions), none empty."""
    ids = [x.strip() for x in text.split(",")]
    if not all(ids):
        raise argparse.ArgumentTypeError(f"expected comma-separated ids or names, e.g. BRN,KHM; got {text!r}")
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


def _parameters_option(parser, what: str) -> None:
    """``--parameters drawn|estimate|posterior|mcmc``: a fit's parameters drawn per replicate from its normal
    approximation, at its point estimate, or drawn from its likelihood itself (by importance resampling or
    Markov chain Monte Carlo)."""
    from harmsim.analysis.predictive import PARAMETERS

    parser.add_argument(
        "--parameters",
        choices=PARAMETERS,
        default="drawn",
        help=f"the fitted parameters of each replicate: drawn from the fit's normal approximation (default); at "
        f"its point estimate, {what}; or drawn from its likelihood itself (posterior: importance resampling, "
        "for weak fits; mcmc: Markov chains, slower, for fits importance resampling covers poorly)",
    )


def _borrow_options(parser, source: str) -> None:
    """``--borrow-from SOURCE --borrow NAMES [--borrow-inflation K]``: priors borrowed from another fit
    (:mod:`harmsim.calibrate.borrowing`)."""
    parser.add_argument("--borrow-from", metavar="SOURCE", help=f"borrow priors from {source}")
    parser.add_argument(
        "--borrow",
        metavar="NAMES",
        help="with --borrow-from: the parameters whose priors are borrowed, comma-separated (each of the same "
        "meaning on both records)",
    )
    parser.add_argument(
        "--borrow-inflation",
        type=float,
        metavar="K",
        help="with --borrow-from: each borrowed prior's scale is K times the source's standard error (default 1; "
        "2 counts the source's information a quarter)",
    )


def _borrow_said(args) -> tuple[str, tuple[str, ...], float] | None:
    """The ``--borrow-from`` source, parameters and inflation, or None; the three go together."""
    source, names, inflation = args.borrow_from, args.borrow, args.borrow_inflation
    if source is None:
        if names is not None or inflation is not None:
            raise ConfigError("--borrow and --borrow-inflation need --borrow-from SOURCE (where to borrow from)")
        return None
    parsed = tuple(n.strip() for n in (names or "").split(",") if n.strip())
    if not parsed:
        raise ConfigError(
            f"--borrow-from {source}: name the parameters to borrow with --borrow, e.g. "
            "--borrow agreements.nonbinding,external.monitoring"
        )
    return source, parsed, 1.0 if inflation is None else inflation


def _estimates_need_a_fit(args) -> None:
    """Refuse ``--parameters estimate``, ``posterior`` or ``mcmc`` without ``--from-fit``: each is a fit's."""
    choice = getattr(args, "parameters", "drawn")
    if choice != "drawn" and not getattr(args, "from_fit", None):
        what = "the point estimates are" if choice == "estimate" else "the likelihood drawn from is"
        raise ConfigError(f"--parameters {choice}: {what} a fit's; give --from-fit DIR")


def _ensemble(args):
    sc = load_scenario(args.scenario)
    _estimates_need_a_fit(args)
    if getattr(args, "from_fit", None):
        return _ensemble_from_fit(sc, args)
    engine = args.engine or ("batch" if args.replicates > 1 else "mesa")
    from harmsim._progress import bar as progress_bar

    with progress_bar(args.replicates, f"{sc.name} ({engine})", "run", leave=False) as bar:
        ens = run_ensemble(sc, replicates=args.replicates, seed=args.seed, engine=engine, progress=bar.update)
    rec = load_record(args.record) if args.record else sc.record
    return sc, ens, rec


def _ensemble_from_fit(sc, args):
    """Replicates whose parameters are drawn from a fit: one parameter set per replicate."""
    from harmsim.analysis.predictive import predictive_ensemble

    ens = predictive_ensemble(sc, _fit_said(args.from_fit, sc), args.replicates, args.seed, args.parameters)
    ens.provenance["from_fit"] = str(args.from_fit)
    rec = load_record(args.record) if args.record else sc.record
    return sc, ens, rec


def _steps(total: int, desc: str, progress: bool | None = None):
    """A progress bar of named steps on stderr (shown on a terminal), as a callback ``step(what)`` called when a
    step is done; a step beyond ``total`` (e.g. placebo refits) extends it. Close ``step.bar`` at the end."""
    from harmsim._progress import bar as progress_bar

    bar = progress_bar(total, desc, "step", progress)

    def step(what: str) -> None:
        if bar.n >= bar.total:
            bar.total += 1
        bar.update(1)
        bar.set_postfix_str(f"done: {what}")

    step.bar = bar  # the caller closes it when the work is done
    return step


#: more per-state rows than this and a printed fit table shows the extremes only (the whole table: --out)
STATE_ROWS = 20


def _few_states(table: pd.DataFrame, states, by: str) -> tuple[pd.DataFrame, str]:
    """``table`` with its per-state rows cut to the five highest and five lowest ``by`` of each metric (ranked,
    in the place of the first), when there are more than :data:`STATE_ROWS` (188 rows of the world panel drown
    the instruments' few); and the sentence that says so ("" when nothing was cut)."""
    table = table.reset_index(drop=True)
    order = pd.Series(table.index, index=table.index, dtype=float)  # where each row is printed
    per_state = table["item"].isin(set(states))
    cut, dropped = [], 0
    for _, rows in table[per_state].groupby("metric", sort=False):
        if len(rows) <= STATE_ROWS:
            continue
        ranked = rows.sort_values(by, ascending=False, kind="stable")
        keep = pd.concat([ranked.head(5), ranked.tail(5)])
        order[keep.index] = rows.index[0] + np.arange(len(keep)) / len(keep)  # in their place, ranked
        cut += [i for i in rows.index if i not in keep.index]
        dropped += len(rows) - len(keep)
    if not dropped:
        return table, ""
    how = "the five largest differences either way" if by == "difference" else "the five highest and lowest"
    shown = table.drop(index=cut).loc[order.drop(index=cut).sort_values(kind="stable").index]
    return shown, f"\n{dropped} per-state rows not shown ({how} are): --out FILE writes them all"


def _format_fit(fit: pd.DataFrame, states=()) -> str:
    """The fit table as printed; a metric no replicate defines is said in words below it, not shown empty; of
    many ``states``, the extremes (:func:`_few_states`)."""
    fit, cut = _few_states(fit, states, "mean")
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
    return text + cut


def _fit_said(folder, scenario):
    """A saved fit of ``scenario`` (another scenario's is refused first), its parameters the record does not
    bound said in one warning line, and those it held at the scenario's values in another."""
    from harmsim.calibrate import load_fit

    fit = load_fit(folder)
    fit.apply(scenario)
    for said in (fit.caveat(), fit.held_note()):
        if said:
            warnings.warn(said, HarmsimWarning, stacklevel=2)
    return fit

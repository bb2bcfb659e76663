"""The ``harmsim`` command: a thin layer over the Python API, one module per group of commands.

Every error harmsim raises on purpose (:class:`~harmsim.errors.HarmsimError`)
is printed as one line on stderr with exit code 2, without a traceback; so is
a worker process that died mid-job.
Groups: :mod:`.records` (record, scenarios, params), :mod:`.runs` (run,
compare), :mod:`.explore` (sweep, sensitivity), :mod:`.fitting` (calibrate,
compare-mechanisms), :mod:`.predictions` (forecast, counterfactual,
backtest, compare-backtests), :mod:`.serve` (dashboard). A group gives ``add_parsers(sub)``
and ``COMMANDS`` (name -> handler); adding a command means adding both.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from concurrent.futures import BrokenExecutor

from harmsim._output import ResultFolder
from harmsim._version import __version__
from harmsim._workers import WORKER_DIED
from harmsim.cli import explore, fitting, predictions, records, runs, serve
from harmsim.cli._common import _Parser, printable
from harmsim.errors import HarmsimError, HarmsimWarning

__all__ = ["main"]

GROUPS = (records, runs, fitting, predictions, serve, explore)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="harmsim", description="Agent-based simulation of regional legal harmonization.")
    p.add_argument("--version", action="version", version=f"harmsim {__version__}", help="print the version and exit")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for group in GROUPS:
        group.add_parsers(sub)
    return p


#: commands whose --out is a result folder (harmsim._output)
_RESULT_FOLDERS = {
    "run",
    "calibrate",
    "compare-mechanisms",
    "bindingness",
    "forecast",
    "counterfactual",
    "backtest",
    "sensitivity",
}


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    handler = next(g.COMMANDS[args.command] for g in GROUPS if args.command in g.COMMANDS)
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
    except BrokenExecutor:  # a worker process died mid-job (one that cannot start is a ConfigError)
        print(f"harmsim: error: {WORKER_DIED}", file=sys.stderr)
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

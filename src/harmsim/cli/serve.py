"""The dashboard: ``harmsim dashboard``."""

from __future__ import annotations

from pathlib import Path

from harmsim.cli._common import (
    _port,
)


def add_parsers(sub) -> None:
    """This group's subcommands, on the ``harmsim`` parser's subparsers."""
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


def cmd_dashboard(args) -> int:
    from harmsim.dashboard import serve

    fit = None if args.from_fit is None else str(args.from_fit)
    return serve(args.scenario, fit=fit, port=args.port, host=args.host)


#: the command names of this group and their handlers
COMMANDS = {"dashboard": cmd_dashboard}

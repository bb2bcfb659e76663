"""The record and the scenarios: ``harmsim record``, ``scenarios`` and ``params``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from harmsim.cli._common import (
    _id_list,
)
from harmsim.data.record import load_record, packaged_records
from harmsim.errors import ConfigError
from harmsim.model.scenario import list_scenarios, load_scenario


def add_parsers(sub) -> None:
    """This group's subcommands, on the ``harmsim`` parser's subparsers."""
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


def cmd_scenarios(args) -> int:
    rows = list_scenarios()
    width = max(len(n) for n, _ in rows)
    for name, desc in rows:
        print(f"{name:<{width}}  {desc}")
    return 0


def cmd_params(args) -> int:
    from harmsim.model.mechanisms import REGISTRY
    from harmsim.model.space import HAZARD_PARAMS

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


#: the command names of this group and their handlers
COMMANDS = {"record": cmd_record, "scenarios": cmd_scenarios, "params": cmd_params}

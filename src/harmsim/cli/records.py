"""The record and the scenarios: ``harmsim record``, ``scenarios`` and ``params``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from harmsim.cli._common import (
    _id_list,
    _out_folder,
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
        "--figures",
        type=_out_folder,
        metavar="DIR",
        help="folder for figures of the record: a world map of adoption years per instrument and, for a record "
        "with organizations, adoption per organization with its agreements",
    )
    r.add_argument("--force", action="store_true", help="replace an earlier result in --figures")
    r.add_argument(
        "--states",
        type=_id_list,
        default=None,
        help=f"print these states' adoption years (comma-separated ids; a record of more than {_RECORD_ROWS} "
        "states prints its summary otherwise); with --out, write the record of these states only",
    )
    r.add_argument(
        "--subregions",
        type=_id_list,
        default=None,
        help="the states of these subregions (comma-separated, as the record's states table names them), "
        "alone or added to --states: a regional sub-panel",
    )

    sub.add_parser("scenarios", help="list the shipped scenarios")

    pa = sub.add_parser("params", help="list a scenario's parameters with their allowed ranges")
    pa.add_argument("scenario", nargs="?", default="baseline")


#: a record with more states than this prints its summary, not a row per state (unless --states asks)
_RECORD_ROWS = 40


def _chosen(rec, args) -> list[str] | None:
    """The states --states and --subregions name, in the record's order; None when neither is given."""
    if args.states is None and args.subregions is None:
        return None
    unknown = [s for s in args.states or () if s not in rec.state_ids]
    if unknown:
        raise ConfigError(f"--states: unknown state(s) {', '.join(unknown)} in record '{rec.name}'")
    regions = set(rec.states["subregion"].dropna()) if "subregion" in rec.states else set()
    missing = [r for r in args.subregions or () if r not in regions]
    if missing:
        raise ConfigError(
            f"--subregions: unknown subregion(s) {', '.join(missing)} in record '{rec.name}' "
            f"(known: {', '.join(sorted(x for x in regions if x)) or 'none'})"
        )
    named = set(args.states or ())
    if args.subregions:
        named |= set(rec.states.loc[rec.states["subregion"].isin(args.subregions), "state"])
    return [s for s in rec.state_ids if s in named]


def cmd_record(args) -> int:
    rec = load_record(args.name)
    chosen = _chosen(rec, args)
    if args.out or args.figures:
        # what is written (the figures, the tables) is the chosen states' sub-panel; what is printed, the
        # whole record's summary with the chosen states' rows
        folder = args.out or args.figures
        out = rec if chosen is None else rec.subset(chosen, name=f"{rec.name}_{folder.name}")
    if args.figures:
        paths = write_record_figures(out, args.figures, force=args.force)
        print(f"wrote {len(paths)} files to {args.figures}: {', '.join(p.name for p in paths)}")
        if not args.out:
            return 0
    if args.out:
        paths = out.write(args.out)
        what = "" if chosen is None else f", {len(chosen)} of its {len(rec.states)} states"
        print(f"wrote {len(paths)} files to {args.out}{what} (load them with harmsim record {args.out})")
        return 0
    print(f"{rec.title} ({rec.name}, {rec.start}-{rec.end})\n")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print("Per instrument: how its pairs of state and instrument are observed")
        print(rec.summary().to_string())
        wide = rec.cells()
        if chosen is not None:
            wide = wide.loc[chosen]
        if chosen is not None or len(wide) <= _RECORD_ROWS:
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


def write_record_figures(rec, folder, force: bool = False) -> list[Path]:
    """Maps of adoption years (one per instrument) and, with organizations, adoption per organization."""
    from harmsim._output import ResultFolder
    from harmsim.data.maps import country_shapes, map_values
    from harmsim.output.plots import figure_organizations, figure_world_map, instrument_labels, save_figure
    from harmsim.scoring.compare import organization_curves

    names = instrument_labels(rec)
    with ResultFolder(folder, "record-figures", force) as rf:
        paths = []
        shapes = country_shapes()
        for k in rec.instrument_ids:
            values = map_values(rec, k)
            if not values["drawn"].any():
                continue
            title = f"{names.get(k, k)}: year adopted ({rec.name} record, {rec.start}-{rec.end})"
            paths += save_figure(figure_world_map(shapes, values, rec.start, rec.end, title.replace("\n", " ")),
                                 rf.path, f"map_{k}")  # fmt: skip
        if len(rec.organizations):
            curves = organization_curves(rec)
            ag = rec.agreements
            marks = {
                org: [(int(r.year), r.agreement, bool(r.binding)) for r in g.itertuples() if r.year <= rec.end]
                for org, g in ag.groupby("organization")
            }
            title = f"Adoption by the members of each organization, {rec.start}-{rec.end}"
            fig = figure_organizations(curves, list(rec.instrument_ids), marks, names, title)
            paths += save_figure(fig, rf.path, "organizations")
        rf.add(paths)
    return [p for p in rf.final if p.parent == rf.dest]


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
    if sc.ranges:
        print("\n[ranges]  (what sensitivity analyses explore by default)")
        for name, lo, hi in sc.ranges:
            print(f"  {name:<34} [{lo:g}, {hi:g}]")
    if sc.priors:
        print("\n[priors]  (densities on top of the flat prior over each allowed range: what fits add)")
        for p in sc.priors:
            print(f"  {p.name:<34} ~ {p.describe()}")
    return 0


#: the command names of this group and their handlers
COMMANDS = {"record": cmd_record, "scenarios": cmd_scenarios, "params": cmd_params}

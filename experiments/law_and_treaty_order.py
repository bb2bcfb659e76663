"""Experiment: which came first, a state's law or its ratification of a treaty that obliges the law?

Treaty commitments (a party criminalizes sooner) and screening (a state that
has criminalized ratifies sooner) read the record's ``obliges`` links in
opposite directions (docs/model.md, 7.12 and 7.13). Before any model, the
record itself says how often each order occurred. For every treaty that
obliges an instrument, this counts the states whose two years are both known
to the year (an interval-censored year is left out, as its order may be
unknown): the law first, both in one year, the treaty first, with the
median gap. Neither fitted term reads an adoption of the same year, so the
middle column is what both leave to the rest of the model.

Run from the repository's root:

    python experiments/law_and_treaty_order.py                 # the world record
    python experiments/law_and_treaty_order.py --record asean  # the study's ten states

It prints the table and, with ``--out FILE``, writes it as CSV.
"""

from __future__ import annotations

import argparse

import pandas as pd

import harmsim


def order_table(record) -> pd.DataFrame:
    """One row per (treaty, obliged instrument): the states with both years known to the year, how many adopted
    the obliged instrument first, in the treaty's year, or after it, and the median of law year minus treaty
    year.

    >>> t = order_table(harmsim.load_record("asean"))
    >>> t.loc[t["treaty"] == "tip_protocol", ["states", "law_first", "same_year", "treaty_first"]].values.tolist()
    [[9, 3, 2, 4]]
    """
    a = record.adoptions
    dated = a[a["year_min"] == a["year_max"]]
    year = dated.pivot_table(index="state", columns="instrument", values="year_max", aggfunc="first")
    rows = []
    for _, ins in record.instruments.iterrows():
        for law in ins["obliges"]:
            if ins["instrument"] not in year or law not in year:
                continue
            both = year[[law, ins["instrument"]]].dropna()
            gap = both[law] - both[ins["instrument"]]
            rows.append(
                {
                    "treaty": ins["instrument"],
                    "obliges": law,
                    "states": len(both),
                    "law_first": int((gap < 0).sum()),
                    "same_year": int((gap == 0).sum()),
                    "treaty_first": int((gap > 0).sum()),
                    "median_gap": float(gap.median()) if len(gap) else float("nan"),
                }
            )
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--record", default="world", help="a shipped record's name or a record folder (default: world)")
    ap.add_argument("--out", help="write the table to this CSV file")
    args = ap.parse_args(argv)
    record = harmsim.load_record(args.record)
    table = order_table(record)
    print(f"record '{record.name}': the order of a law and the treaties that oblige it, states with both years known")
    print(table.to_string(index=False))
    if args.out:
        table.to_csv(args.out, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

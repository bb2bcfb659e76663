"""Rebuild the derived tables of the packaged records from ``data-raw/``.

The hand-transcribed tables of the ASEAN record (states, instruments,
adoptions, status, agreements, borders) are primary data and are edited by
hand. This script derives the rest, so that every packaged number can be
traced back to a raw file:

* ``asean/covariates.csv``: GDP per capita and population of the ten members
  and Timor-Leste (a member from 2025)
  (World Bank WDI, see ``data-raw/README.md``);
* ``asean/tip_tiers.csv``: US TIP report tiers of the eleven;
* ``asean/migrant_stock.csv``: bilateral migrant stocks among the eleven;
* ``asean/global_series.csv`` and the whole ``global_criminalization`` record:
  from Kelley and Simmons' criminalization coding.

Run from the repository root::

    python scripts/build_records.py [--out DIR]

``--out DIR`` writes ``DIR/asean/`` and ``DIR/global_criminalization/`` instead of the package's data (a test
checks that they equal the shipped files). The output is deterministic; ``git diff`` after a run shows what
changed.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data-raw"
DATA = ROOT / "src" / "harmsim" / "data"
ASEAN = ["BRN", "KHM", "IDN", "LAO", "MYS", "MMR", "PHL", "SGP", "THA", "VNM"]
# Timor-Leste joined on 26 October 2025 (a state of the record, a member from 2025: data, not code).
REGION = [*ASEAN, "TLS"]
WDI_GDP = "World Bank WDI NY.GDP.PCAP.CD (current US$), open-numbers WDI extract (vintage ~2025)"
WDI_POP = "World Bank WDI SP.POP.TOTL"
KS = "Kelley and Simmons criminalization coding (criminalization_jk_2015-08-10)"


def _write(df: pd.DataFrame, path: Path) -> None:
    df.to_csv(path, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} ({len(df)} rows)")


def build_asean(data: Path = DATA) -> None:
    out = data / "asean"
    out.mkdir(parents=True, exist_ok=True)
    gdp = pd.read_csv(RAW / "gdp_per_capita.csv")
    pop = pd.read_csv(RAW / "population.csv")
    cov = gdp.merge(pop, on=["iso3", "year"], how="outer")
    cov = cov[cov.iso3.isin(REGION)].rename(columns={"iso3": "state", "gdp_pc_current_usd": "gdp_pc"})
    cov = cov.sort_values(["state", "year"])[["state", "year", "gdp_pc", "population"]]
    _write(cov, out / "covariates.csv")

    tiers = pd.read_csv(RAW / "tip_tiers.csv", dtype=str, keep_default_na=False)
    tiers = tiers[tiers.iso3.isin(REGION)].rename(columns={"iso3": "state", "uncertain_or_note": "note"})
    _write(tiers[["state", "year", "tier", "note", "source"]], out / "tip_tiers.csv")

    mig = pd.read_csv(RAW / "migrant_stock.csv")
    mig = mig[mig.origin_iso3.isin(REGION) & mig.destination_iso3.isin(REGION)]
    mig = mig.rename(columns={"origin_iso3": "origin", "destination_iso3": "destination", "edition": "source"})
    _write(mig[["origin", "destination", "year", "migrants", "source"]], out / "migrant_stock.csv")

    _write(global_share(), out / "global_series.csv")


def _crim_panel() -> pd.DataFrame:
    return pd.read_csv(RAW / "global_criminalization.csv")


def global_share() -> pd.DataFrame:
    """Share of the coded countries that fully criminalize trafficking, by year.

    The source panel drops a country once it reaches level 2, so the share is
    (countries that reached level 2 by year t) / (countries coded by year t).
    """
    d = _crim_panel()
    entered = d.groupby("country").year.min()
    full = d[d.crimlevel == 2].groupby("country").year.min()
    years = range(int(d.year.min()), int(d.year.max()) + 1)
    rows = []
    for y in years:
        n = int((entered <= y).sum())
        k = int((full <= y).sum())
        rows.append(
            dict(
                year=y,
                variable="share_criminalized",
                value=round(k / n, 6),
                source=f"{KS}: {k} of {n} coded countries at level 2 (full) by {y}",
            )
        )
    return pd.DataFrame(rows)


def build_global(data: Path = DATA) -> None:
    """The global record: one instrument (full criminalization), ~170 states."""
    out = data / "global_criminalization"
    out.mkdir(parents=True, exist_ok=True)
    d = _crim_panel().sort_values(["country", "year"])
    start, end = int(d.year.min()), int(d.year.max())
    g = d.groupby("country")
    first, last = g.year.min(), g.year.max()
    full = d[d.crimlevel == 2].groupby("country").year.min()
    states = pd.DataFrame(
        {
            "state": first.index,
            "name": first.index,
            "ccode": g.ccode.first().to_numpy(),
            "joined": first.to_numpy(),
            "left": [pd.NA if (c in full.index or last[c] == end) else int(last[c]) for c in first.index],
            "source": KS,
        }
    )
    states["left"] = states["left"].astype("Int64")
    _write(states, out / "states.csv")
    instruments = pd.DataFrame(
        [
            dict(
                instrument="tip_law",
                name="Full criminalization of trafficking in persons (crimlevel 2)",
                kind="national_law",
                opens=pd.NA,
                opened_by="",
                requires="",
                source=KS,
                note="level 1 (partial) is not counted as adoption",
            )
        ]
    )
    _write(instruments, out / "instruments.csv")
    rows = []
    for c in first.index:
        if c in full.index:
            y = int(full[c])
            note = "already at level 2 in its first coded year" if y == first[c] else ""
            rows.append(dict(state=c, instrument="tip_law", year=y, year_min=y, year_max=y, source=KS, note=note))
        else:
            rows.append(
                dict(
                    state=c,
                    instrument="tip_law",
                    year=pd.NA,
                    year_min=pd.NA,
                    year_max=pd.NA,
                    source=KS,
                    note=f"not at level 2 by {last[c]}",
                )
            )
    ad = pd.DataFrame(rows)
    for col in ("year", "year_min", "year_max"):
        ad[col] = ad[col].astype("Int64")
    _write(ad, out / "adoptions.csv")
    print(f"global record window {start}-{end}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DATA, help="folder to write into (default: the package's data)")
    args = ap.parse_args()
    build_asean(args.out)
    build_global(args.out)

"""Build the packaged ``world`` record from ``data-raw/world/``.

``data-raw/world/`` holds the world panel as compiled from its sources (every
row carries its own ``source`` and ``confidence``): states, Kelley-Simmons
covariates 1990-2011, outcomes (UN Protocol and UNTOC ratifications, full
criminalization), regional organizations, their membership spells, their
agreements, and the ratifications of the regional treaties (CETS 197, the
SAARC convention of 2002, ACTIP). This script turns them into a record of
harmsim's format (``src/harmsim/data/world/``), with these rules, each said
again in docs/record.md:

* **Window 1990-2015.** Every state is in the panel for the whole window
  (``joined`` = 1990); organizations' memberships are spells by year.
* **Instruments** keep the ids of the ASEAN record where the instrument is
  the same: ``tip_law`` (here Kelley and Simmons' full criminalization,
  crimlevel 2), ``untoc``, ``tip_protocol`` (requires ``untoc``), ``actip``;
  the two other regional treaties are ``cets197`` (Council of Europe) and
  ``saarc2002``. A regional treaty is open only to its organization's members
  and opens with the agreement that adopted it.
* **Day or year.** A ratification known to the day keeps its date; one known
  to the year only is dated by its year (the model's step is a year, so the
  year is exact at that resolution; ``precision`` says which).
* **Intervals.** A regional treaty ratified by a known bound (``ratified_not_after``)
  or only known to be in force by 2015 is an interval from the later of its
  opening and the state's signature to that bound.
* **Censoring.** "Not adopted by year Y" (the Kelley-Simmons panel ends in
  2011, the criminalization coding in 2011-2014) is ``seen_until = Y``: the
  years after Y are unobserved, never filled.
* **Unobserved.** A pair that no source codes is listed in ``status.csv`` as
  ``unknown``. So are the six states whose Protocol ratification (Kelley and
  Simmons) comes before a UNTOC ratification the same data do not have,
  which UNTOC art. 37(2) makes impossible: the sources conflict and neither
  is kept as an observation (both pairs unknown, the conflict in ``note``).
  CETS 197 parties whose status in 2015 is unresolved (CZE, LIE, MCO) are
  known not to have signed by February 2015: not adopted to 2014, 2015
  unobserved. SAARC's Afghanistan (ratification not found): unknown.
* **Belarus** acceded to CETS 197 in 2013 as a non-member of the Council of
  Europe. The record's rule makes a regional treaty open to members only, so
  that accession is not an adoption of the record; it is reported here.
* **ASEAN's UN treaties.** Where the panel has no year for a UN treaty of an
  ASEAN member (Brunei's UNTOC, unrecorded; Thailand's and Viet Nam's, after
  the panel's end in 2011), the year comes from the packaged ASEAN record
  (the study's Table 4, checked against UN treaty status): a source, not a
  fill. Where both give a year they agree. ``tip_law`` is not merged: the two
  records code different things (docs/record.md compares them).
* **ASEAN's 1997 Declaration on Transnational Crime** (non-binding), the
  start of ASEAN's sequence in the study, is added to ASEAN's agreements from
  the packaged ASEAN record (its date and coding there).
* **Covariates** as in the panel, renamed to harmsim's names (``gdp_pc``,
  ``population``, ...); nothing interpolated. The US TIP tier goes to
  ``tip_tiers.csv`` in the ASEAN record's codes (2.5 = ``2WL``; not in the
  report or a special case = ``not_ranked``), from the first report (2001).
* **Names** of states from ISO 3166 (pycountry), the panel's spelling kept
  as ``name_ks``.
* **Country shapes** for maps (``shapes.csv``): Natural Earth's 1:110m
  countries (public domain; ``data-raw/world/maps/``, read with pyshp),
  one row per vertex, keyed by ISO alpha-3 (``adm0_a3`` where ``iso_a3`` is
  -99), coordinates rounded to 0.01 degree. States without a polygon at that
  scale are not drawn, and a map says which.

Run from the repository root (needs pycountry and pyshp: ``pip install -e ".[dev]"``)::

    python scripts/build_world.py            # or --out DIR to write elsewhere

The output is deterministic; ``git diff`` after a run shows what changed.
"""

from __future__ import annotations

import argparse
import csv
import itertools
from pathlib import Path

import pandas as pd
import pycountry
from build_records import global_share  # the same series as the ASEAN record's, from the same coding

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data-raw" / "world"
OUT = ROOT / "src" / "harmsim" / "data" / "world"
ASEAN = ROOT / "src" / "harmsim" / "data" / "asean"
START, END = 1990, 2015
KS_PANEL = "Kelley and Simmons (2015), AJPS replication data (kelley_simmons_ajps_2014_replication.dta)"
INSTRUMENT_OF = {"national_law": "tip_law", "untoc": "untoc", "tip_protocol": "tip_protocol"}
#: the regional treaty instrument of each organization that has one, and the agreement that adopted it
TREATIES = {
    "COE": ("cets197", "COE-CETS-197"),
    "SAARC": ("saarc2002", "SAARC-CONV-2002"),
    "ASEAN": ("actip", "ASEAN-ACTIP-2015"),
}
COVARIATES = {
    "gdp_per_capita": "gdp_pc",
    "gdp_per_capita_alt": "gdp_pc_alt",
    "population": "population",
    "population_alt": "population_alt",
    "democracy": "democracy",
    "autocracy": "autocracy",
    "polity": "polity",
    "fh_political_rights": "fh_political_rights",
    "fh_civil_liberties": "fh_civil_liberties",
    "rule_of_law": "rule_of_law",
    "corruption": "corruption",
    "igos": "igos",
    "ngos": "ngos",
    "us_aid": "us_aid",
    "us_aid_alt": "us_aid_alt",
    "incidence_origin": "incidence_origin",
    "incidence_transit": "incidence_transit",
    "incidence_destination": "incidence_destination",
}
TIER_CODE = {"1.0": "1", "2.0": "2", "2.5": "2WL", "3.0": "3"}


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(RAW / name, dtype=str, keep_default_na=False)


def _write(df: pd.DataFrame, name: str) -> None:
    df.to_csv(OUT / name, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    print(f"wrote {OUT / name} ({len(df)} rows)")


def _agreement_id(raw_id: str) -> str:
    return raw_id.lower().replace("-", "_")


def iso_name(iso3: str) -> str:
    """The state's common English name from ISO 3166 (pycountry)."""
    c = pycountry.countries.get(alpha_3=iso3)
    if c is None:
        raise SystemExit(f"build_world: {iso3} is not an ISO 3166-1 alpha-3 code")
    return getattr(c, "common_name", None) or c.name


def states(raw: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "state": raw["iso3"],
            "name": [iso_name(s) for s in raw["iso3"]],
            "name_ks": raw["name"],
            "cowcode": raw["cowcode"],
            "subregion": raw["subregion_label"],
            "joined": START,
            "in_ks_panel": raw["in_ks_panel"],
            "source": "ISO 3166-1 (pycountry) for codes and names; subregion: Kelley-Simmons `subregion`, labels "
            "inferred from the member lists",
        }
    )


def _renamed(raw: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """The raw table's columns under harmsim's names (the keys), in that order."""
    return raw.rename(columns={v: k for k, v in columns.items()})[list(columns)]


def organizations(raw: pd.DataFrame) -> pd.DataFrame:
    cols = ["organization", "name", "kind", "founded", "membership", "source", "confidence"]
    return _renamed(raw, {**{c: c for c in cols}, "membership": "membership_by_year"})


def memberships(raw: pd.DataFrame) -> pd.DataFrame:
    return _renamed(
        raw,
        {"organization": "organization", "state": "iso3", "joined": "joined_year", "left": "left_year",
         "source": "source", "confidence": "confidence", "note": "notes"},
    )  # fmt: skip


def agreements(raw: pd.DataFrame) -> pd.DataFrame:
    treaty = {org: inst for org, (inst, _) in TREATIES.items()}
    rows = []
    for r in raw.itertuples():
        covers, dropped = [], []
        for token in r.covers.split():
            if token == "regional_treaty":
                (covers.append(treaty[r.organization]) if r.organization in treaty else dropped.append(token))
            else:
                covers.append(INSTRUMENT_OF[token])
        note = r.notes
        if dropped:
            note = (note + "; " if note else "") + (
                "covers a regional treaty that is not an instrument of this record (its parties are not known)"
            )
        rows.append((_agreement_id(r.agreement_id), r.organization, r.title, r.date_adopted, r.year_adopted,
                     r.binding, r.kind, " ".join(covers), r.entry_into_force, r.transposition_deadline,
                     r.covers_basis, r.agreement_id, r.source, r.confidence, note))  # fmt: skip
    # ASEAN's 1997 Declaration on Transnational Crime, as the packaged ASEAN record dates and codes it
    asean = pd.read_csv(ASEAN / "agreements.csv", dtype=str, keep_default_na=False).set_index("agreement")
    d = asean.loc["decl_transnational_crime_1997"]
    covers = " ".join(k for k in d["covers"].split() if k in set(INSTRUMENT_OF.values()))
    rows.append(("asean_decl_1997", "ASEAN", d["name"], d["date"], d["year"], d["binding"], d["kind"], covers,
                 "", "", "harmsim's ASEAN record (agreements.csv, decl_transnational_crime_1997)",
                 "decl_transnational_crime_1997", d["source"], "high",
                 "added from the packaged ASEAN record: the start of ASEAN's sequence in the study"))  # fmt: skip
    cols = ["agreement", "organization", "name", "date", "year", "binding", "kind", "covers", "entry_into_force",
            "transposition_deadline", "covers_basis", "source_id", "source", "confidence", "note"]  # fmt: skip
    out = pd.DataFrame(rows, columns=cols)
    # every agreement at its recorded date: none is coded as following up another
    out.insert(cols.index("covers") + 1, "trigger", "anchor")
    out.insert(cols.index("covers") + 2, "builds_on", "")
    return out.sort_values(["organization", "year", "agreement"], kind="stable").reset_index(drop=True)


def instruments() -> pd.DataFrame:
    un = "UN Treaty Collection, chapter XVIII-12{} (opened for signature 12 December 2000, Palermo)"
    cols = ["instrument", "name", "kind", "opens", "opened_by", "requires", "obliges", "organization", "source", "note"]
    rows = [
        ("tip_law", "Full criminalization of trafficking in persons (Kelley-Simmons crimlevel 2)", "national_law",
         "", "", "", "", "", "Kelley and Simmons criminalization coding (criminalization_jk_2015-08-10)",
         "the ASEAN record's tip_law is the study's specific law; docs/record.md compares the two codings"),
        ("untoc", "UN Convention against Transnational Organized Crime (ratification or accession)", "un_treaty",
         "2000", "", "", "", "", un.format(""), ""),
        ("tip_protocol",
         "UN Protocol to Prevent, Suppress and Punish Trafficking in Persons (ratification or accession)",
         "un_treaty", "2000", "", "untoc", "tip_law", "",
         un.format("-a") + "; UNTOC art. 37(2): a protocol needs the Convention; art. 5: parties criminalize "
         "trafficking", ""),
        ("cets197", "Council of Europe Convention on Action against Trafficking in Human Beings (CETS 197)",
         "regional_treaty", "", _agreement_id("COE-CETS-197"), "", "tip_law", "COE",
         "Council of Europe Treaty Office; opened for signature 16 May 2005 (Warsaw); art. 18: parties criminalize "
         "trafficking",
         "open to non-members too (Belarus acceded in 2013); here to members only"),
        ("saarc2002",
         "SAARC Convention on Preventing and Combating Trafficking in Women and Children for Prostitution",
         "regional_treaty", "", _agreement_id("SAARC-CONV-2002"), "", "tip_law", "SAARC",
         "signed 5 January 2002, Kathmandu; in force 15 November 2005; art. III: parties make trafficking an "
         "offence under their criminal law",
         "the convention's trafficking is of women and children for prostitution, narrower than full "
         "criminalization"),
        ("actip", "ASEAN Convention against Trafficking in Persons, Especially Women and Children (ratification)",
         "regional_treaty", "", _agreement_id("ASEAN-ACTIP-2015"), "", "tip_law", "ASEAN",
         "signed 21 November 2015, Kuala Lumpur; art. 5: parties criminalize trafficking",
         "no ratification inside the window"),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


def _unknown(state: str, instrument: str, source: str, note: str) -> dict:
    """A status row: the pair is not observed (no source codes it, or its sources conflict)."""
    return dict(state=state, instrument=instrument, value="unknown", source=source, note=note)


def _row(
    state,
    instrument,
    *,
    year="",
    lo="",
    hi="",
    seen="",
    date="",
    precision="",
    month="",
    source="",
    confidence="",
    note="",
):
    return dict(
        state=state,
        instrument=instrument,
        year=year,
        year_min=lo,
        year_max=hi,
        seen_until=seen,
        date=date,
        precision=precision,
        month=month,
        source=source,
        confidence=confidence,
        note=note,
    )


def outcomes(raw: pd.DataFrame) -> tuple[list[dict], list[dict]]:
    """Adoption rows and unobserved pairs from the UN treaties and national laws."""
    conflict = set(raw.iso3[(raw.instrument == "untoc") & raw.notes.str.contains("CONFLICT")])
    rows, unknown = [], []
    for r in raw.itertuples():
        inst = INSTRUMENT_OF[r.instrument]
        if r.instrument in ("untoc", "tip_protocol") and r.iso3 in conflict:
            note = (
                "sources conflict: the Kelley-Simmons data code the Protocol ratified by 2011 but UNTOC not, which "
                "UNTOC art. 37(2) rules out; neither pair is kept as an observation"
                + (f" (the data give the Protocol in {r.year})" if r.year else "")
            )
            unknown.append(_unknown(r.iso3, inst, r.source, note))
            continue
        if r.status == "adopted":
            rows.append(
                _row(
                    r.iso3,
                    inst,
                    year=r.year,
                    lo=r.year,
                    hi=r.year,
                    date=r.date,
                    precision=r.precision,
                    month=r.month,
                    source=r.source,
                    confidence=r.confidence,
                    note=r.notes,
                )
            )
        else:
            seen = r.observed_until if int(r.observed_until) < END else ""
            rows.append(_row(r.iso3, inst, seen=seen, source=r.source, confidence=r.confidence, note=r.notes))
    return rows, unknown


def asean_treaty_years(rows: list[dict], unknown: list[dict]) -> tuple[list[dict], list[dict]]:
    """The ASEAN record's UN treaty years where the panel has none (censored or unobserved pairs)."""
    asean = pd.read_csv(ASEAN / "adoptions.csv", dtype=str, keep_default_na=False)
    members = set(pd.read_csv(ASEAN / "states.csv", dtype=str).query("joined <= '2015'").state)
    study = {
        (r.state, r.instrument): r
        for r in asean.itertuples()
        if r.instrument in ("untoc", "tip_protocol") and r.state in members and r.year
    }

    def from_study(r, why: str) -> dict:
        return _row(r.state, r.instrument, year=r.year, lo=r.year, hi=r.year, precision="year",
                    source=f"harmsim's ASEAN record: {r.source}", confidence="high",
                    note=f"{why}; {r.note}".rstrip("; "))  # fmt: skip

    out = []
    for row in rows:
        key = (row["state"], row["instrument"])
        if key in study and not row["year"]:
            seen = row["seen_until"] or "its end"
            out.append(from_study(study.pop(key), f"the world panel has no year (not adopted by {seen})"))
            continue
        if key in study and study[key].year != row["year"]:
            raise SystemExit(f"build_world: {key} is {row['year']} in the panel, {study[key].year} in ASEAN's")
        study.pop(key, None)
        out.append(row)
    kept = [u for u in unknown if (u["state"], u["instrument"]) not in study]
    out += [from_study(r, "not in the world panel") for r in study.values()]  # pairs the panel does not code
    return out, kept


def regional_treaties(raw: pd.DataFrame, members: pd.DataFrame, agreements_: pd.DataFrame):
    """Adoption rows and unobserved pairs of the regional treaties (members only)."""
    opened = {inst: int(agreements_.set_index("source_id").loc[aid, "year"]) for inst, aid in TREATIES.values()}
    by_id = {aid: (org, inst) for org, (inst, aid) in TREATIES.items()}
    rows, unknown, outside = [], [], []
    for r in raw.itertuples():
        org, inst = by_id[r.agreement_id]
        if not (members[(members.organization == org) & (members.iso3 == r.iso3)]).shape[0]:
            outside.append(f"{r.iso3} {inst} ({r.ratified_date or r.party_by_2015})")
            continue
        common = dict(source=r.source, confidence=r.confidence)
        signed = int(r.signed_date[:4]) if r.signed_date else opened[inst]
        lo = max(opened[inst], signed)
        if r.party_by_2015 == "yes" and r.ratified_date:
            y = r.ratified_date[:4]
            rows.append(
                _row(r.iso3, inst, year=y, lo=y, hi=y, date=r.ratified_date, precision="day", note=r.notes, **common)
            )
        elif r.party_by_2015 == "yes":
            hi = int(r.ratified_not_after[:4]) if r.ratified_not_after else END
            why = (
                f"ratified on or before {r.ratified_not_after}"
                if r.ratified_not_after
                else "a party by 2015, ratification date not found"
            )
            rows.append(_row(r.iso3, inst, lo=lo, hi=hi, note=f"{why}; {r.notes}".rstrip("; "), **common))
        elif r.party_by_2015 == "no":
            rows.append(_row(r.iso3, inst, note=r.notes, **common))
        elif inst == "cets197":
            rows.append(
                _row(
                    r.iso3,
                    inst,
                    seen=END - 1,
                    note="not signed as of February 2015; whether it signed or ratified later in 2015 is not "
                    f"resolved, so 2015 is unobserved; {r.notes}",
                    **common,
                )
            )
        else:
            unknown.append(_unknown(r.iso3, inst, r.source, f"ratification not found; {r.notes}"))
    return rows, unknown, outside


def covariates(raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    cov = raw.rename(columns={"iso3": "state", **COVARIATES})[["state", "year", *COVARIATES.values()]]
    t = raw[(raw.year.astype(int) >= 2001) & (raw.tip_tier_status != "")]
    tiers = pd.DataFrame(
        {
            "state": t.iso3,
            "year": t.year,
            "tier": [TIER_CODE.get(v, "not_ranked") for v in t.tip_tier],
            "note": ["" if s == "ranked" else s for s in t.tip_tier_status],
            "source": f"US TIP reports as coded by {KS_PANEL} (`tier`; 555 = not in report, 666 = special case)",
        }
    )
    return cov, tiers


def shapes() -> pd.DataFrame:
    """Natural Earth's country outlines, one row per vertex: state, part (a ring), lon, lat."""
    import shapefile  # pyshp

    reader = shapefile.Reader(str(RAW / "maps" / "ne_110m_admin_0_countries.shp"), encoding="latin-1")
    rows = []
    for sr in reader.iterShapeRecords():
        rec = sr.record.as_dict()
        code = rec["iso_a3"] if rec["iso_a3"] != "-99" else rec["adm0_a3"]
        pts, starts = sr.shape.points, [*sr.shape.parts, len(sr.shape.points)]
        for j, (a, b) in enumerate(itertools.pairwise(starts)):
            rows += [(code, j, round(x, 2), round(y, 2)) for x, y in pts[a:b]]
    out = pd.DataFrame(rows, columns=["state", "part", "lon", "lat"])
    return out.sort_values(["state", "part"], kind="stable").reset_index(drop=True)


def main(argv: list[str] | None = None) -> None:
    global OUT
    parser = argparse.ArgumentParser(description="Build the packaged world record from data-raw/world/.")
    parser.add_argument("--out", type=Path, default=OUT, help="folder to write (default: the package's)")
    OUT = parser.parse_args(argv).out
    OUT.mkdir(parents=True, exist_ok=True)
    raw_states = _read("states.csv")
    _write(states(raw_states), "states.csv")
    _write(organizations(_read("organizations.csv")), "organizations.csv")
    raw_members = _read("memberships.csv")
    _write(memberships(raw_members), "memberships.csv")
    ag = agreements(_read("agreements.csv"))
    _write(ag, "agreements.csv")
    _write(instruments(), "instruments.csv")
    rows, unknown = outcomes(_read("outcomes.csv"))
    rows, unknown = asean_treaty_years(rows, unknown)
    trows, tunknown, outside = regional_treaties(_read("regional_treaty_ratifications.csv"), raw_members, ag)
    ad = pd.DataFrame(rows + trows)
    ad = ad.sort_values(["instrument", "state"], kind="stable").reset_index(drop=True)
    _write(ad, "adoptions.csv")
    # every (state, instrument) pair with no observation at all: unobserved, never filled
    listed = set(zip(ad.state, ad.instrument)) | {(u["state"], u["instrument"]) for u in unknown + tunknown}
    gaps = []
    for s in raw_states.iso3:
        for inst in ("tip_law", "untoc", "tip_protocol"):
            if (s, inst) not in listed:
                gaps.append(_unknown(s, inst, "", "no source in the world panel codes this pair"))
    status = pd.DataFrame(unknown + tunknown + gaps).sort_values(["instrument", "state"], kind="stable")
    _write(status, "status.csv")
    cov, tiers = covariates(_read("covariates.csv"))
    _write(cov, "covariates.csv")
    _write(tiers, "tip_tiers.csv")
    share = global_share()
    _write(share[share.year <= 2015], "global_series.csv")
    _write(shapes(), "shapes.csv")
    if OUT != ROOT / "src" / "harmsim" / "data" / "world":
        (OUT / "record.toml").write_bytes((ROOT / "src" / "harmsim" / "data" / "world" / "record.toml").read_bytes())
    print("left out as outside their treaty's organization:", ", ".join(outside) or "none")


if __name__ == "__main__":
    main()

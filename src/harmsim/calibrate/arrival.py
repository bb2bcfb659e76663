"""What the recorded arrival dates show about endogenous arrival's thresholds.

Under ``arrival = "endogenous"`` a consensus agreement arrives in the first
year its parent's compliance reaches a threshold
(:mod:`harmsim.model.mechanisms.agreements`). Given the record, compliance in each
year is known (up to the interval-censored adoptions), so the arrival year is
a deterministic function of the threshold: the recorded year is reproduced by
every threshold in an interval and by no other. The likelihood of the
arrival years is therefore 1 inside that interval and 0 outside: the
threshold is *set-identified*, and within the set endogenous and recorded
arrival are one model on this record. The ASEAN record has two consensus
agreements (the 2004 Declaration, non-binding; the 2015 Convention, binding),
so each threshold is pinned to one interval by one date.

Compliance grows as adoptions are made earlier, so the interval-censored
adoptions (the HSU members) give two intervals: the thresholds that reproduce
the date whatever their years (``lower``, ``upper``), and those that
reproduce it for some years inside their intervals (``lower_any``,
``upper_any``).

>>> import harmsim
>>> t = arrival_thresholds(harmsim.load_scenario("endogenous"))
>>> t[["agreement", "parameter", "year"]].to_string(index=False).split("\\n")[1].split()
['decl_tip_2004', 'agreements.threshold_nonbinding', '2004']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from harmsim.data.observations import BEFORE, DATED, INTERVAL, observations
from harmsim.data.world import NEVER
from harmsim.model.mechanisms.agreements import compliance
from harmsim.model.space import split_name

__all__ = ["arrival_statement", "arrival_thresholds"]


def arrival_thresholds(scenario, record=None) -> pd.DataFrame:
    """One row per consensus agreement the record dates inside its window.

    Columns: agreement, parameter (the threshold it uses), year (recorded),
    value (the scenario's), lower, upper (thresholds in ``(lower, upper]``
    reproduce the year for every completion of interval-censored adoptions;
    NaN if none does), lower_any, upper_any (outer bounds of those that reproduce it for some
    completion), inside
    (the scenario's value reproduces it for every completion).
    """
    record = scenario.record if record is None else record
    w = scenario.world
    p = scenario.mechanism("agreements")
    obs = observations(w, record)
    k = obs.kind
    known = (k == DATED) | (k == BEFORE)
    early = np.where(known, obs.year, np.where(k == INTERVAL, obs.lo, np.inf))
    late = np.where(known, obs.year, np.where(k == INTERVAL, obs.hi, np.inf))
    recorded = scenario.with_params({"agreements.arrival": "observed"}) if p is not None else scenario
    open_year = recorded.dynamics.initial_state(1).open_year
    min_gap = int(p.min_gap) if p is not None else 1
    rows = []
    for m, (name, trig) in enumerate(zip(w.agreements, w.trigger)):
        par, y = int(w.parent[m]), int(w.agreement_year[m])
        if trig != "consensus" or par < 0 or y > obs.end or y == NEVER:
            continue
        first = int(w.agreement_year[par]) + min_gap
        c = {}
        for label, years in (("early", early), ("late", late)):
            shares = []
            for t in range(max(first, w.start), y + 1):
                ti = t - w.start
                shares.append(float(compliance((years < t)[None], w.member[ti], open_year, w.covers[par], t)[0]))
            c[label] = np.array(shares)
        param = "agreements.threshold_binding" if w.binding[m] else "agreements.threshold_nonbinding"
        value = float(getattr(p, split_name(param)[1])) if p is not None else float("nan")
        lo_all = c["early"][:-1].max() if len(c["early"]) > 1 else 0.0
        hi_all = c["late"][-1]
        lo_any = c["late"][:-1].max() if len(c["late"]) > 1 else 0.0
        hi_any = c["early"][-1]
        ok = hi_all > lo_all
        rows.append(
            {
                "agreement": name,
                "parameter": param,
                "year": y,
                "value": value,
                "lower": lo_all if ok else np.nan,
                "upper": hi_all if ok else np.nan,
                "lower_any": lo_any,
                "upper_any": hi_any,
                "inside": bool(ok and lo_all < value <= hi_all),
            }
        )
    return pd.DataFrame(
        rows,
        columns=["agreement", "parameter", "year", "value", "lower", "upper", "lower_any", "upper_any", "inside"],
    )


def arrival_statement(table: pd.DataFrame) -> list[str]:
    """The table in words: how much the recorded arrival dates can show.

    >>> import harmsim
    >>> print(arrival_statement(arrival_thresholds(harmsim.load_scenario("endogenous")))[0][:58])
    Endogenous arrival rests on 2 recorded dates (2004, 2015).
    """
    if table.empty:
        return ["The record dates no agreement that could arrive endogenously: nothing bears on the thresholds."]
    dates = ", ".join(str(y) for y in table["year"])
    out = [
        f"Endogenous arrival rests on {len(table)} recorded date{'s' if len(table) > 1 else ''} ({dates}). "
        "Given the recorded adoptions, arrival is a deterministic function of the threshold, so each date pins "
        "its threshold only to an interval; every value inside reproduces the date exactly, and there the "
        "likelihood of the record is the same under endogenous and recorded arrival: the record cannot tell "
        "them apart, and a threshold chosen to hit a date is no evidence for the mechanism."
    ]
    for _, r in table.iterrows():
        if np.isfinite(r["lower"]):
            where = f"in ({r['lower']:.3f}, {r['upper']:.3f}]"
        else:
            where = "for no single value whatever the unknown adoption years"
        words = (
            f"{r['parameter']}: the {r['year']} arrival of {r['agreement']} is reproduced {where} "
            f"(for some years of the interval-censored adoptions, at most ({r['lower_any']:.3f}, "
            f"{r['upper_any']:.3f}])"
        )
        if np.isfinite(r["value"]) and np.isfinite(r["lower"]):
            words += f"; the scenario's {r['value']:g} is {'inside' if r['inside'] else 'outside'} it"
        elif np.isfinite(r["value"]):
            within = r["lower_any"] < r["value"] <= r["upper_any"]
            words += f"; the scenario's {r['value']:g} is {'within' if within else 'outside'} those bounds"
        out.append(words + ".")
    return out

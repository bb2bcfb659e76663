"""Synthetic regions: records of any size with covariates, a network and agreements.

A synthetic region lets users study how the model and the methods behave at
scale (tens to hundreds of states, many instruments) and gives calibration a
ground truth. It is an ordinary :class:`~harmsim.data.record.Record`, built in
memory and validated like a packaged one; nothing about it is observed (its
adoptions table is empty), so comparisons against it are only meaningful
after a simulated history has been recorded into it.

What is drawn, all from the named stream ``synthetic`` of ``seed``:

* states on the unit square; subregion = which half (west/east); a land border
  between states closer than the distance that gives about three neighbours
  each; about one in ten joins during the window;
* instruments ``i01..``; every third requires the one before; the first is
  always open, the others open at staggered years;
* log GDP per capita ~ N(8.5, 1) growing 2-4% a year; population lognormal;
  migrant stocks every 5 years from poorer to richer neighbours (gravity-like);
  yearly TIP-like tiers (poorer states more often on the watch list);
  a logistic global share of criminalization;
* an agreement chain: an anchor declaration at the start, a follow-up plan,
  a non-binding consensus declaration and a binding convention.

>>> from harmsim.model.synthetic import synthetic_region
>>> rec = synthetic_region(50, 4, seed=1)
>>> len(rec.state_ids), rec.instrument_ids
(50, ('i01', 'i02', 'i03', 'i04'))

:func:`synthetic_organizations` builds the other shape: several regional
organizations, their members (some in two at once) and one agreement each,
binding or not, the structure the test of bindingness reads
(:mod:`harmsim.analysis.bindingness`). It draws nothing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from harmsim.data.record import Record, record_from_tables
from harmsim.errors import ConfigError
from harmsim.rng import SeedLike, stream

__all__ = ["synthetic_organizations", "synthetic_region", "synthetic_scenario"]


def synthetic_region(
    n_states: int, n_instruments: int = 4, seed: SeedLike = 0, *, start: int = 2000, end: int = 2019
) -> Record:
    """A synthetic region of ``n_states`` states and ``n_instruments`` instruments."""
    for name, v, lo in (("n_states", n_states, 2), ("n_instruments", n_instruments, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ConfigError(f"{name} must be an integer >= {lo}, got {v!r}")
    if not (isinstance(start, int) and isinstance(end, int) and start + 5 <= end):
        raise ConfigError(f"the window must span at least 6 years, got {start}-{end}")
    g = stream(seed, "synthetic")
    N, K = int(n_states), int(n_instruments)
    ids = [f"s{i:03d}" for i in range(1, N + 1)]
    xy = g.random((N, 2))
    late = g.random(N) < 0.1
    joined = np.where(late, g.integers(start + 1, end - 2, N), start - 10)
    states = pd.DataFrame(
        {
            "state": ids,
            "name": [f"State {i}" for i in range(1, N + 1)],
            "joined": joined,
            "subregion": np.where(xy[:, 0] < 0.5, "west", "east"),
            "source": "synthetic",
        }
    )
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    radius = np.sqrt(3.0 / (np.pi * N))  # about three neighbours each
    ia, ib = np.nonzero(np.triu(d < radius, 1))
    borders = pd.DataFrame({"state_a": [ids[i] for i in ia], "state_b": [ids[j] for j in ib], "source": "synthetic"})
    inst = [f"i{k:02d}" for k in range(1, K + 1)]
    opens = [pd.NA] + [int(start + 1 + g.integers(0, 6)) for _ in range(K - 1)]
    requires = ["" if (k % 3 != 2) else inst[k - 1] for k in range(K)]
    for k in range(K):  # a protocol cannot open before its treaty
        if requires[k]:
            opens[k] = opens[k - 1] if opens[k - 1] is pd.NA else max(opens[k], opens[k - 1])
    instruments = pd.DataFrame(
        {
            "instrument": inst,
            "name": [f"Instrument {k}" for k in range(1, K + 1)],
            "kind": "synthetic",
            "opens": opens,
            "opened_by": "",
            "requires": requires,
            "source": "synthetic",
        }
    )
    adoptions = pd.DataFrame(
        {
            "state": np.repeat(ids, K),
            "instrument": np.tile(inst, N),
            "year": "",
            "source": "synthetic (nothing observed)",
        }
    )
    span = np.arange(start - 10, end + 6)
    growth = g.uniform(0.02, 0.04, N)
    log_gdp = g.normal(8.5, 1.0, N)[None, :] + growth[None, :] * (span - start)[:, None]
    pop = np.exp(g.normal(16.0, 1.5, N))
    covariates = pd.DataFrame(
        {
            "state": np.tile(ids, len(span)),
            "year": np.repeat(span, N),
            "gdp_pc": np.exp(log_gdp).ravel(),
            "population": np.tile(pop, len(span)),
        }
    )
    mig_rows = []
    for y in range(5 * (span[0] // 5 + 1), span[-1] + 1, 5):
        lg = log_gdp[y - span[0]]
        pull = np.maximum(lg[None, :] - lg[:, None], 0.0) * np.exp(-d / 0.3)
        np.fill_diagonal(pull, 0.0)
        stock = np.round(0.01 * pop[:, None] * pull * g.lognormal(0, 0.3, (N, N)))
        oi, di = np.nonzero(stock)
        mig_rows.append(
            pd.DataFrame(
                {
                    "origin": [ids[i] for i in oi],
                    "destination": [ids[j] for j in di],
                    "year": y,
                    "migrants": stock[oi, di],
                }
            )
        )
    migration = pd.concat(mig_rows, ignore_index=True)
    poor = log_gdp < np.median(log_gdp, axis=1, keepdims=True)
    watch = g.random(log_gdp.shape) < np.where(poor, 0.4, 0.1)
    tiers = pd.DataFrame(
        {
            "state": np.tile(ids, len(span)),
            "year": np.repeat(span, N),
            "tier": np.where(watch, "2WL", "2").ravel(),
        }
    )
    mid = (start + end) / 2
    global_series = pd.DataFrame(
        {"year": span, "variable": "share_criminalized", "value": 1 / (1 + np.exp(-(span - mid) / 3.0))}
    )
    covers = [" ".join(sorted(g.choice(inst, size=min(K, 2), replace=False))) for _ in range(4)]
    agreements = pd.DataFrame(
        {
            "agreement": [
                "anchor_declaration",
                "follow_up_plan",
                "consensus_declaration",
                "binding_convention",
            ],
            "year": [start, start + 2, start + (end - start) // 2, end - 1],
            "binding": ["no", "no", "no", "yes"],
            "covers": [inst[0], covers[1], " ".join(inst[: max(1, K // 2)]), " ".join(inst)],
            "trigger": ["anchor", "follow_up", "consensus", "consensus"],
            "builds_on": ["", "anchor_declaration", "anchor_declaration", "consensus_declaration"],
            "source": "synthetic",
        }
    )
    return record_from_tables(
        f"synthetic_{N}x{K}",
        start,
        end,
        {
            "states": states,
            "instruments": instruments,
            "adoptions": adoptions,
            "borders": borders,
            "covariates": covariates,
            "migration": migration,
            "tiers": tiers,
            "global_series": global_series,
            "agreements": agreements,
        },
        title=f"Synthetic region: {N} states, {K} instruments, {start}-{end}",
        sources={"all": f"harmsim.synthetic_region({N}, {K}, seed={seed!r})"},
    )


def synthetic_organizations(
    n_organizations: int = 4,
    states_per: int = 4,
    *,
    binding: int | None = None,
    start: int = 2000,
    end: int = 2012,
) -> Record:
    """Organizations of ``states_per`` states each, every one with one agreement, the first ``binding`` binding.

    A panel with the structure of the world record in miniature, for trying
    the test of bindingness, its power and the figures of organizations on a
    case whose truth is set (:func:`harmsim.analysis.bindingness.synthetic_panel`
    simulates its outcomes from a scenario). Nothing is drawn:

    * states ``s00``.., joined before the window; organization ``O1`` has the
      first ``states_per``, ``O2`` the next, and so on; the last state of each
      organization but the last is also a member of the next (multiple
      membership, as the EU's members are of the Council of Europe);
    * two instruments of one kind: ``x``, open throughout, and ``y``, opening
      three years into the window;
    * one agreement per organization, in the window's third, fourth or fifth
      year in turn, calling for ``x`` (the last one for ``x`` and ``y``); the
      first ``binding`` organizations' agreements are binding (default: half,
      rounded down), the others not;
    * no outcome is observed (an empty adoptions table).

    >>> rec = synthetic_organizations(4, 4)
    >>> rec.organization_summary()[["members", "binding", "non_binding"]]
                  members  binding  non_binding
    organization
    O1                  4        1            0
    O2                  5        1            0
    O3                  5        0            1
    O4                  5        0            1
    >>> rec.members("O2", 2005)[:2]  # s03 belongs to O1 and O2
    ('s03', 's04')
    """
    for name, v, lo in (("n_organizations", n_organizations, 2), ("states_per", states_per, 2)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ConfigError(f"{name} must be an integer >= {lo}, got {v!r}")
    n_org, per = int(n_organizations), int(states_per)
    n_binding = n_org // 2 if binding is None else binding
    if isinstance(n_binding, bool) or not isinstance(n_binding, (int, np.integer)) or not 0 <= n_binding <= n_org:
        raise ConfigError(f"binding must be an integer from 0 to n_organizations ({n_org}), got {binding!r}")
    if not (isinstance(start, int) and isinstance(end, int) and start + 5 <= end):
        raise ConfigError(f"the window must span at least 6 years, got {start}-{end}")
    orgs = [f"O{j + 1}" for j in range(n_org)]
    width = max(2, len(str(n_org * per - 1)))  # ids sort as they are numbered
    ids = [f"s{i:0{width}d}" for i in range(n_org * per)]
    spells = [(orgs[i // per], s) for i, s in enumerate(ids)]
    spells += [(orgs[j + 1], ids[(j + 1) * per - 1]) for j in range(n_org - 1)]
    tables = {
        "states": pd.DataFrame({"state": ids, "joined": start - 10, "subregion": [o for o, _ in spells[: len(ids)]]}),
        "instruments": pd.DataFrame(
            {"instrument": ["x", "y"], "opens": ["", str(start + 3)], "kind": "law", "source": "synthetic"}
        ),
        "adoptions": pd.DataFrame(columns=["state", "instrument", "year"]),
        "organizations": pd.DataFrame({"organization": orgs, "membership": "recorded", "source": "synthetic"}),
        "memberships": pd.DataFrame(
            {"organization": [o for o, _ in spells], "state": [s for _, s in spells], "joined": start - 10}
        ),
        "agreements": pd.DataFrame(
            {
                "agreement": [f"{o.lower()}_agreement" for o in orgs],
                "organization": orgs,
                "year": [start + 2 + j % 3 for j in range(n_org)],
                "binding": ["yes" if j < n_binding else "no" for j in range(n_org)],
                "covers": ["x"] * (n_org - 1) + ["x y"],
                "source": "synthetic",
            }
        ),
    }
    return record_from_tables(
        f"organizations_{n_org}x{per}",
        start,
        end,
        tables,
        title=f"Synthetic organizations: {n_org} of {per} states, {n_binding} with a binding agreement, {start}-{end}",
        sources={"all": f"harmsim.synthetic_organizations({n_org}, {per}, binding={n_binding})"},
    )


def synthetic_scenario(region: Record, like: str = "baseline", without: tuple[str, ...] = ()):
    """A shipped scenario's mechanisms and parameters, bound to a synthetic region.

    Per-instrument settings (``hazard.offsets``, ``external.applies_to``) are
    dropped, since the region's instruments are different; so are the
    mechanisms named in ``without`` (e.g. one that reads an input the region
    lacks).

    >>> sc = synthetic_scenario(synthetic_region(20, 3, seed=0))
    >>> sc.world.shape
    (20, 20, 3)
    """
    from harmsim.model.scenario import load_scenario, scenario_from_dict

    base = load_scenario(like).to_dict()
    base["hazard"].pop("offsets", None)
    base.get("mechanisms", {}).get("external", {}).pop("applies_to", None)
    base.pop("window", None)
    base.pop("ranges", None)  # ranges name the source record's instruments
    for name in without:
        base.get("mechanisms", {}).pop(name, None)
    base["name"] = f"{base['name']}@{region.name}"
    return scenario_from_dict(base, where=f"synthetic scenario like '{like}'", record=region)

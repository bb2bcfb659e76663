"""Partial pooling of the instruments' intercept offsets by kind.

An instrument's offset is its baseline log-odds relative to the reference
instrument. The record dates few adoptions per instrument, and none at all
for the ASEAN Convention against Trafficking in Persons (signed November
2015; its first ratification falls after the window). Left alone, such an
offset is set by hand or runs to a bound. Pooled, the offsets of the
instruments of one kind (the record's ``kind`` column: ``un_treaty``,
``regional_treaty``, ...) are drawn towards their common level:

    offset_k ~ Normal(level_kind, pool_sd**2)

with a flat prior on each kind's level, so that the fit maximizes the
log-likelihood plus ``-sum_k (offset_k - mean of its kind)**2 / (2 pool_sd**2)``
(the level profiled out; a kind of one instrument adds nothing). An
instrument without events then takes its kind's level, with an uncertainty
of about ``pool_sd`` carried into the fit's covariance and so into forecasts.
``pool_sd`` (default 1.0 log-odds: offsets within a kind within about +-2 of
each other) is a declared prior scale, not an estimate: with two instruments
per kind the record cannot estimate it. ``[hazard] pooling = "none"`` turns
pooling off.

>>> import harmsim
>>> sc = harmsim.load_scenario("baseline")
>>> kinds(sc)["regional_treaty"]
['asean_mlat', 'actip']
>>> round(log_prior(sc), 4)  # -(0.3 + 0.2) ** 2 / 4 - (0.6 + 2.0) ** 2 / 4, with pool_sd 1
-1.7525
"""

from __future__ import annotations

import numpy as np

__all__ = ["kinds", "log_prior", "pooled"]


def pooled(scenario) -> bool:
    """True when the scenario pools its offsets by kind.

    >>> import harmsim
    >>> pooled(harmsim.load_scenario("baseline"))
    True
    """
    return scenario.hazard.pooling == "kind"


def kinds(scenario) -> dict[str, list[str]]:
    """Instruments of the scenario's world by kind, for the kinds with at least two (empty if not pooled)."""
    if not pooled(scenario):
        return {}
    w = scenario.world
    out: dict[str, list[str]] = {}
    for k, kind in zip(w.instruments, w.kinds):
        if kind:
            out.setdefault(kind, []).append(k)
    return {kind: ks for kind, ks in out.items() if len(ks) > 1}


def log_prior(scenario) -> float:
    """The pooling term at the scenario's offsets (0 when not pooled)."""
    groups = kinds(scenario)
    if not groups:
        return 0.0
    offsets = dict(scenario.hazard.offsets)
    sd = float(scenario.hazard.pool_sd)
    total = 0.0
    for ks in groups.values():
        o = np.array([offsets.get(k, 0.0) for k in ks])
        total -= float(((o - o.mean()) ** 2).sum()) / (2 * sd**2)
    return total

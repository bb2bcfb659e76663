"""The parameter space: every parameter's name, declared spec (type, default, allowed range) and bounds.

A parameter is named by a dotted path: ``hazard.intercept``, ``hazard.offsets.untoc`` (one per
instrument), ``diffusion.strength`` (a mechanism's parameter). The hazard's parameters are declared here;
each mechanism declares its own (``Mechanism.params``). Scenarios, the engines' parameter axis, sweeps,
priors and the likelihood look parameters up through :func:`parameter_spec`.

>>> import harmsim
>>> parameter_spec(harmsim.load_scenario("baseline"), "diffusion.strength").hi
20.0
"""

from __future__ import annotations

from .errors import ConfigError
from .mechanisms import REGISTRY
from .params import Choice, InstrumentMap, Real

__all__ = ["HAZARD_PARAMS", "parameter_spec", "split_name"]

HAZARD_PARAMS = {
    "intercept": Real(-3.5, -20.0, 10.0, "baseline log-odds of adopting in a year"),
    "offsets": InstrumentMap(0.0, -20.0, 20.0, "per-instrument shift of the intercept"),
    "pooling": Choice(
        "kind", ("kind", "none"), "calibration: offsets of instruments of one kind drawn towards each other, or not"
    ),
    "pool_sd": Real(1.0, 0.05, 10.0, "calibration: spread (log-odds) of offsets within a kind, when pooled"),
}


def split_name(name: str) -> tuple[str, str, str | None]:
    """``(group, key, instrument)`` of a dotted name: ``hazard.offsets.untoc`` -> ``("hazard", "offsets", "untoc")``,
    ``diffusion.strength`` -> ``("diffusion", "strength", None)``.

    >>> split_name("hazard.offsets.untoc"), split_name("diffusion.strength")
    (('hazard', 'offsets', 'untoc'), ('diffusion', 'strength', None))
    """
    group, _, rest = name.partition(".")
    key, _, sub = rest.partition(".")
    return group, key, sub or None


def parameter_spec(scenario, name: str):
    """The declared spec (Real, Integer, Choice, ...) of a flat parameter name.

    Refuses a name the scenario does not have with a ConfigError listing the valid ones.
    """
    known = scenario.parameters()
    parts = name.split(".")
    group = parts[0]
    specs = HAZARD_PARAMS if group == "hazard" else REGISTRY[group].params if group in REGISTRY else None
    if specs is not None and len(parts) == 3 and parts[1] == "offsets" and group == "hazard":
        if parts[2] in scenario.record.instrument_ids:
            return specs["offsets"]
    if name not in known or specs is None or len(parts) != 2:
        valid = ", ".join(k for k, v in known.items() if isinstance(v, (int, float, str)) and v is not None)
        raise ConfigError(f"unknown parameter '{name}' for scenario '{scenario.name}'; valid: {valid}")
    return specs[parts[1]]

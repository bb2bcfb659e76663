"""Priors borrowed from another model's fit: how one region's parameters borrow strength from a panel.

The ASEAN record dates 39 adoptions by ten states; the world panel dates
thousands. Where the two models share a mechanism of the same meaning (an
agreement that calls for the instrument, the pressure of a worse US TIP
tier, the UNTOC a Protocol requires, the years since a treaty opened), the
panel's estimate says what the ASEAN record alone cannot: on the panel fitted
to 2005, ``external.monitoring`` is 0.35 (s.e. 0.23), on the ASEAN record
-0.38 (s.e. 0.80) (docs/regions.md, "Priors borrowed from the panel").
Borrowing turns the source's fit into a declared prior of the target:

    parameter ~ Normal(source estimate, (inflation * source s.e.)^2)

for each parameter named, truncated to its allowed range like every prior
(:mod:`harmsim.model.priors`). With ``inflation = 1`` the target treats its
states as exchangeable with the source's: the normal approximation to the
source's posterior is its prior (a meta-analytic prior with no spread between
the two). ``inflation > 1`` discounts the source: the power prior of Ibrahim
and Chen (2000, Statistical Science 15: 46-60) with weight ``a0`` on the
source's likelihood is, in the normal approximation, ``inflation =
1 / sqrt(a0)`` (2 counts the source's information a quarter).

Only parameters whose meaning is the same on both records should be
borrowed: an intercept or offsets against another reference instrument, a
period trend centred on another year or fitted to another region's years,
a coefficient on a feature standardized on another record's spread each
mean something else on the target. Which parameters those are is the
user's claim; borrowing checks that both scenarios have them as real
parameters, that the target fits them, and that the source's fit bounds
them (a finite standard error), and refuses otherwise.

A backtest (:func:`harmsim.analysis.backtest.backtest`, ``borrow=``) fits
the source to each origin's observations, under the same schedule and
inputs rules as the target, so no year after the origin enters the prior.

>>> import harmsim
>>> b = Borrowing(harmsim.load_scenario("baseline"), ("agreements.nonbinding",), inflation=2.0)
>>> b.parameters, b.inflation
(('agreements.nonbinding',), 2.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harmsim.errors import ConfigError
from harmsim.model.params import finite_real
from harmsim.model.space import real_spec

__all__ = ["Borrowing", "borrow_from_fit", "priors_from_fit", "record_borrowing"]


def priors_from_fit(fit, parameters: Sequence[str], inflation: float = 1.0) -> dict[str, dict]:
    """Normal priors at ``fit``'s estimates of ``parameters``, each with scale ``inflation`` times its standard
    error, as :meth:`Scenario.with_priors <harmsim.model.scenario.Scenario.with_priors>` takes them.

    A parameter the fit did not estimate, or whose standard error is missing (not identified, at a bound) is
    refused, naming the fit's status for it: a prior with no scale would be a hand-set constant.

    >>> import pandas as pd
    >>> from harmsim.calibrate.fit import Fit
    >>> est = pd.DataFrame({"parameter": ["external.monitoring"], "estimate": [0.35], "se": [0.23],
    ...                     "status": ["bounded"]})
    >>> fit = Fit("world_baseline", "d", "world", "mle", est, -1.0, 10)
    >>> priors_from_fit(fit, ["external.monitoring"], inflation=2.0)
    {'external.monitoring': {'distribution': 'normal', 'location': 0.35, 'scale': 0.46}}
    """
    inflation = _inflation(inflation)
    rows = fit.estimates.set_index("parameter")
    out = {}
    for name in parameters:
        if name not in rows.index:
            raise ConfigError(
                f"borrowed prior '{name}': the fit of '{fit.scenario}' did not estimate it; it estimated "
                f"{', '.join(rows.index)}"
            )
        row = rows.loc[name]
        se = finite_real(row.get("se"))
        if se is None or se <= 0:
            status = row.get("status", "no standard error")
            raise ConfigError(
                f"borrowed prior '{name}': the fit of '{fit.scenario}' gives it no standard error ({status}); a "
                "parameter the source's data do not bound cannot lend a prior"
            )
        out[name] = {"distribution": "normal", "location": float(row["estimate"]), "scale": inflation * se}
    return out


def check_target(target, parameters: Sequence[str]) -> None:
    """Refuse a ``target`` that lacks a borrowed parameter as a real one, or holds it fixed (a prior on a
    parameter no fit frees says nothing).

    >>> import harmsim
    >>> check_target(harmsim.load_scenario("baseline_trend"), ["external.momentum"])
    Traceback (most recent call last):
    ...
    harmsim.errors.ConfigError: borrowing into 'baseline_trend': it holds external.momentum fixed; ...
    """
    for name in parameters:
        real_spec(target, name, "borrow", "borrowed prior", f"borrowing into '{target.name}'")
        if name in target.fixed:
            raise ConfigError(
                f"borrowing into '{target.name}': it holds {name} fixed; a prior on a parameter no fit frees "
                "says nothing (borrow another, or free it)"
            )


def borrow_from_fit(target, fit, parameters: Sequence[str], inflation: float = 1.0):
    """``target`` with the priors ``fit`` lends it on ``parameters`` (:func:`priors_from_fit`); they replace any
    it declares on the same parameters.

    >>> import harmsim, pandas as pd
    >>> from harmsim.calibrate.fit import Fit
    >>> est = pd.DataFrame({"parameter": ["external.monitoring"], "estimate": [0.35], "se": [0.23]})
    >>> fit = Fit("world_baseline", "d", "world", "mle", est, -1.0, 10)
    >>> sc = borrow_from_fit(harmsim.load_scenario("baseline_trend"), fit, ["external.monitoring"])
    >>> [p.describe() for p in sc.priors]
    ['normal(0.35, 0.23)']
    """
    check_target(target, parameters)
    return target.with_priors(priors_from_fit(fit, parameters, inflation))


def _inflation(value) -> float:
    v = finite_real(value)
    if v is None or v <= 0:
        raise ConfigError(
            f"borrowing inflation must be a positive number (1: the source's standard errors as they are; 2: "
            f"its information counted a quarter), got {value!r}"
        )
    return v


@dataclass(frozen=True)
class Borrowing:
    """Priors on ``parameters`` borrowed from ``source`` (a scenario, fitted on its own record), their scales the
    source's standard errors times ``inflation``; see the module docstring.

    >>> import harmsim
    >>> Borrowing(harmsim.load_scenario("baseline"), ("agreements.sideways",))
    Traceback (most recent call last):
    ...
    harmsim.errors.ConfigError: borrowing from 'baseline': 'borrow': ...
    """

    source: object
    parameters: tuple[str, ...]
    inflation: float = 1.0

    def __post_init__(self) -> None:
        names = tuple(self.parameters) if not isinstance(self.parameters, str) else (self.parameters,)
        if not names:
            raise ConfigError(f"borrowing from '{self.source.name}': name at least one parameter to borrow")
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ConfigError(f"borrowing from '{self.source.name}': {', '.join(repeated)} named more than once")
        for name in names:
            real_spec(self.source, name, "borrow", "borrowed prior", f"borrowing from '{self.source.name}'")
        object.__setattr__(self, "parameters", names)
        object.__setattr__(self, "inflation", _inflation(self.inflation))

    def check(self, target) -> None:
        """Refuse a ``target`` that cannot take these priors (:func:`check_target`)."""
        check_target(target, self.parameters)

    def apply(self, target, fit):
        """``target`` with the priors ``fit`` (the source's) lends it; they replace any it declares on the same
        parameters."""
        if fit.scenario != self.source.name:
            raise ConfigError(
                f"borrowing from '{self.source.name}': the fit given is of '{fit.scenario}', another scenario"
            )
        return borrow_from_fit(target, fit, self.parameters, self.inflation)

    def as_dict(self) -> dict:
        """For provenance: the source (its name, digest and record), the parameters and the inflation."""
        return {
            "source": self.source.name,
            "source_digest": self.source.digest,
            "source_record": self.source.record.name,
            "parameters": list(self.parameters),
            "inflation": self.inflation,
        }


def record_borrowing(fit, source_fit, parameters: Sequence[str], inflation: float, source: str) -> None:
    """Write on ``fit``'s log (``borrowed``) the priors ``source_fit`` lent it and where they came from, so that
    the fit carries them: :meth:`Fit.apply <harmsim.calibrate.fit.Fit.apply>` puts them back on the scenario it
    is applied to (a forecast's posterior draws then sample under them), and ``trace.md`` names them.

    >>> import pandas as pd
    >>> from harmsim.calibrate.fit import Fit
    >>> est = pd.DataFrame({"parameter": ["external.monitoring"], "estimate": [0.35], "se": [0.23]})
    >>> source = Fit("world_baseline", "d", "world", "mle", est, -1.0, 10, observed_until=2008)
    >>> target = Fit("baseline_trend", "d", "asean", "mle", est, -1.0, 10, observed_until=2008)
    >>> record_borrowing(target, source, ["external.monitoring"], 2.0, "world_baseline")
    >>> target.log["borrowed"]["priors"]
    {'external.monitoring': {'distribution': 'normal', 'location': 0.35, 'scale': 0.46}}
    """
    fit.log["borrowed"] = {
        "source": str(source),
        "source_scenario": source_fit.scenario,
        "source_record": source_fit.record,
        "source_observed_until": source_fit.observed_until,
        "parameters": list(parameters),
        "inflation": float(inflation),
        "lent": lent(source_fit, parameters),
        "priors": priors_from_fit(source_fit, parameters, inflation),
    }


def lent(fit, names: Sequence[str]) -> dict[str, list[float]]:
    """The estimate and standard error ``fit`` lends each of ``names`` (for provenance)."""
    return {n: [p["location"], p["scale"]] for n, p in priors_from_fit(fit, names).items()}


def leaks(fit, observed_until: int | None) -> bool:
    """True when ``fit`` may have seen observations after ``observed_until`` (None: no limit), as a source fit
    lending priors to a fit of earlier years must not. A fit of a whole record counts as seeing past any year.

    >>> import pandas as pd
    >>> from harmsim.calibrate.fit import Fit
    >>> f = Fit("a", "d", "asean", "mle", pd.DataFrame(), None, 0, observed_until=2010)
    >>> leaks(f, 2005), leaks(f, 2010), leaks(f, None)
    (True, False, False)
    """
    if observed_until is None:
        return False
    return fit.observed_until is None or fit.observed_until > observed_until

"""Priors a scenario declares on its real parameters (``[priors]``).

Every real parameter has an allowed range, and a fit or a posterior sampler
that reads nothing else treats every value in that range as equally
plausible: a flat prior. Where the likelihood leaves a parameter free, that
flat prior decides the posterior. On the ASEAN record the frailty scenarios'
posterior mean of ``frailty.sd`` is 6.5 under the flat prior on [0, 10],
against an estimate of 1.19 (docs/forecasting.md, "Markov chains on the
frailty scenarios"): the range, not the record, puts it there. A prior that
says what is plausible is a modelling decision the record cannot make, so
harmsim declares none; a scenario may::

    [priors]
    "frailty.sd" = { distribution = "normal", location = 0.0, scale = 1.0 }
    "diffusion.strength" = { distribution = "student_t", location = 0.0, scale = 2.5, df = 3 }

Each prior is a density on top of the flat one: it is truncated to the
parameter's allowed range (so a normal at 0 on ``frailty.sd``, whose range
starts at 0, is a half-normal; Gelman 2006, Bayesian Analysis 1: 515-534,
on priors for the scale of a hierarchical model). Its log density, up to a
constant, is what the maximum likelihood fit adds to the log-likelihood
(making the estimate a posterior mode), what both posterior samplers add to
the target (:mod:`harmsim.calibrate.posterior`), and what ABC weighs its
particles by. The fit's reported log-likelihood, AIC and BIC stay the
record's, without it.

A prior chosen after seeing how its fits forecast is tuning, not a prior:
declare it before the fits it is judged by.

>>> import harmsim
>>> sc = harmsim.load_scenario("heterogeneity").with_params({"frailty.sd": 2.0})
>>> p = Prior("frailty.sd", "normal", 0.0, 1.0)
>>> p.describe(), float(p.log_density(2.0))
('normal(0, 1)', -2.0)
>>> round(log_density((p,), sc), 3)
-2.0
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from harmsim.errors import ConfigError
from harmsim.model.params import finite_real
from harmsim.model.space import real_spec, split_name

__all__ = ["DISTRIBUTIONS", "Prior", "log_density", "log_density_rows", "parse_priors"]

#: the families a prior may take, and the keys each reads
DISTRIBUTIONS = {"normal": ("location", "scale"), "student_t": ("location", "scale", "df")}


@dataclass(frozen=True)
class Prior:
    """One parameter's prior: a normal or Student t density (location, scale, and for the t its degrees of
    freedom), truncated to the parameter's allowed range.

    >>> Prior("diffusion.strength", "student_t", 0.0, 2.5, 3.0).describe()
    'student_t(0, 2.5; df 3)'
    """

    name: str
    distribution: str
    location: float
    scale: float
    df: float | None = None

    def log_density(self, x):
        """Log density at ``x`` (a number or an array), up to a constant: what a fit adds for this parameter.

        >>> float(Prior("a.b", "student_t", 0.0, 1.0, 1.0).log_density(1.0))  # Cauchy: -log(1 + 1)
        -0.6931471805599453
        """
        z = (np.asarray(x, dtype=float) - self.location) / self.scale
        if self.distribution == "normal":
            return -0.5 * z**2
        return -0.5 * (self.df + 1.0) * np.log1p(z**2 / self.df)

    def as_dict(self) -> dict:
        """The prior as its scenario file states it."""
        out = {"distribution": self.distribution, "location": self.location, "scale": self.scale}
        return {**out, "df": self.df} if self.df is not None else out

    def describe(self) -> str:
        """One line: ``normal(0, 1)``, ``student_t(0, 2.5; df 3)``."""
        body = f"{self.location:g}, {self.scale:g}"
        return f"{self.distribution}({body}; df {self.df:g})" if self.df is not None else f"{self.distribution}({body})"


def parse_priors(scenario, table: Mapping, where: str) -> tuple[Prior, ...]:
    """Validate ``[priors]``: ``"group.name" = {distribution = ..., location = ..., scale = ..., df = ...}`` for
    real parameters the scenario has. The location is finite (0 if not given; it may lie outside the allowed
    range, to which the density is truncated); the scale and the degrees of freedom are positive.

    >>> import harmsim
    >>> sc = harmsim.load_scenario("heterogeneity")
    >>> parse_priors(sc, {"frailty.sd": {"distribution": "normal", "scale": 1}}, "x.toml")
    (Prior(name='frailty.sd', distribution='normal', location=0.0, scale=1.0, df=None),)
    >>> parse_priors(sc, {"frailty.sd": {"distribution": "cauchy", "scale": 1}}, "x.toml")
    Traceback (most recent call last):
    ...
    harmsim.errors.ConfigError: x.toml: 'priors."frailty.sd".distribution' must be one of normal, student_t, ...
    """
    out = []
    for name, spec_value in table.items():
        key = f'priors."{name}"'
        real_spec(scenario, name, "priors", "prior", where)
        if not isinstance(spec_value, Mapping):
            raise ConfigError(
                f"{where}: '{key}' must be a table, e.g. {{ distribution = \"normal\", location = 0, scale = 1 }}"
            )
        dist = spec_value.get("distribution")
        if dist not in DISTRIBUTIONS:
            raise ConfigError(
                f"{where}: '{key}.distribution' must be one of {', '.join(DISTRIBUTIONS)}, got {dist!r} "
                "(a Cauchy is a student_t with df = 1)"
            )
        allowed = ("distribution", *DISTRIBUTIONS[dist])
        extra = [k for k in spec_value if k not in allowed]
        if extra:
            raise ConfigError(
                f"{where}: unknown key '{key}.{extra[0]}' for a {dist} prior; allowed: {', '.join(allowed)}"
            )
        location = finite_real(spec_value.get("location", 0.0))
        if location is None:  # outside the range is allowed: a normal at 0 on a spread that starts at 0.05
            raise ConfigError(f"{where}: '{key}.location' must be a finite number, got {spec_value.get('location')!r}")
        values = {}
        for k in DISTRIBUTIONS[dist][1:]:
            v = finite_real(spec_value.get(k))
            if v is None or v <= 0:
                raise ConfigError(f"{where}: '{key}.{k}' must be a positive number, got {spec_value.get(k)!r}")
            values[k] = v
        out.append(Prior(name, dist, location, values["scale"], values.get("df")))
    return tuple(out)


def _value(scenario, name: str) -> float:
    group, key, instrument = split_name(name)
    ps = scenario.hazard if group == "hazard" else scenario.mechanism(group)
    if instrument is not None:  # an offset not listed is 0 (the reference)
        return float(dict(getattr(ps, key)).get(instrument, 0.0))
    return float(getattr(ps, key))


def log_density(priors: tuple[Prior, ...], scenario) -> float:
    """The declared priors' log density, up to a constant, at the scenario's values (0 without priors)."""
    return float(sum(p.log_density(_value(scenario, p.name)) for p in priors))


def log_density_rows(priors: tuple[Prior, ...], names: list[str], theta: np.ndarray) -> np.ndarray:
    """(n,) the declared priors' log density at each row of ``theta`` (values of ``names``); priors on parameters
    not in ``names`` are constant across the rows and left out.

    >>> p = (Prior("diffusion.strength", "normal", 0.0, 1.0),)
    >>> log_density_rows(p, ["hazard.intercept", "diffusion.strength"], np.array([[0.0, 1.0], [5.0, 2.0]]))
    array([-0.5, -2. ])
    """
    out = np.zeros(len(theta))
    for p in priors:
        if p.name in names:
            out += p.log_density(theta[:, names.index(p.name)])
    return out

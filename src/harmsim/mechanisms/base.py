"""The protocol every mechanism follows, and the state they read.

A mechanism adds a term to the log-odds of adoption,

    logit h[i, k, t] = intercept[k] + sum over mechanisms m of term_m[i, k, t],

where ``h`` is the probability that state ``i`` adopts instrument ``k`` in
year ``t`` if it has not yet. A term has a part that depends only on the
inputs (``static``: an array ``(T, N, K)`` computed once per parameter set)
and a part that depends on the simulated history (``dynamic``: evaluated each
year on a :class:`State` whose arrays carry a leading replicate axis). Both
engines and the likelihood call these same methods, so each formula exists
once.

To add a mechanism, write a module with one :class:`Mechanism` subclass and
register it in ``harmsim.mechanisms.REGISTRY``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..params import ParamSet
from ..world import World

__all__ = ["Mechanism", "State", "zscore"]


@dataclass
class State:
    """The simulated history at the start of a year, for R replicates.

    adopt_year: (R, N, K) adoption year, NEVER if not adopted.
    arrival: (R, M) arrival year of each agreement, NEVER if not arrived.
    open_year: (R, K) first year each instrument can be adopted.
    """

    adopt_year: np.ndarray
    arrival: np.ndarray
    open_year: np.ndarray


class Mechanism:
    """Base class: subclasses set ``name``, ``summary``, ``params`` and override hooks."""

    name: ClassVar[str]
    summary: ClassVar[str]
    params: ClassVar[Mapping]

    def __init__(self, world: World, p: ParamSet):
        self.world = world
        self.p = p

    @classmethod
    def check_inputs(cls, world: World, p: ParamSet) -> None:
        """Raise ConfigError if the record lacks data this mechanism needs."""

    def static(self) -> np.ndarray | None:
        """State-independent part of the term, (T, N, K) or broadcastable; None if zero."""
        return None

    def dynamic(self, ti: int, state: State) -> np.ndarray | None:
        """History-dependent part of the term in year index ``ti``, broadcastable to (R, N, K)."""
        return None

    def before_year(self, ti: int, state: State) -> None:
        """Update ``state`` at the start of year index ``ti`` (e.g. arrivals)."""


def zscore(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Standardize ``x`` over the cells where ``mask`` holds; NaN and outside become 0.

    Standardizing makes each coefficient a log-odds change per standard
    deviation of its covariate over the member state-years of the window.
    """
    vals = x[mask & np.isfinite(x)]
    if vals.size < 2 or vals.std() == 0:
        return np.zeros_like(x, dtype=float)
    z = (x - vals.mean()) / vals.std()
    return np.where(np.isfinite(z), z, 0.0)

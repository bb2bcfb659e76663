"""The protocol every mechanism follows, and the one view of the history they read.

A mechanism adds a term to the log-odds of adoption,

    logit h[i, k, t] = intercept[k] + sum over mechanisms m of term_m[i, k, t],

where ``h`` is the probability that state ``i`` adopts instrument ``k`` in
year ``t`` if it has not yet. A term has a part that depends only on the
inputs (``static``: an array ``(T, N, K)`` computed once per parameter set)
and a part that depends on the history (``dynamic``: evaluated each year).
Besides terms, a mechanism may

* *gate* instruments (``gate``: who may adopt at all this year, plus a term;
  e.g. a protocol needs its treaty), deciding instruments in layers
  (``order``) so a gate can see this year's decisions of earlier layers;
* *move the schedule* of agreements and openings (``initial_schedule``,
  ``before_year``; e.g. agreements that arrive when members comply enough).

The history reaches mechanisms only through a :class:`PastView` of the year
being decided: the engines hold the simulated history, the likelihood the
whole observed record, and the view refuses, with a
:class:`~harmsim.errors.LookaheadError`, any question about a year not yet
decided. So a new mechanism cannot leak the future into the likelihood.

Both engines and the likelihood call these same methods, so each formula
exists once. To add a mechanism, write a module with one :class:`Mechanism`
subclass and register it in ``harmsim.model.mechanisms.REGISTRY``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

import numpy as np

from harmsim.data.world import NEVER, World
from harmsim.errors import LookaheadError
from harmsim.model.params import ParamSet

__all__ = ["Mechanism", "PastView", "State"]


@dataclass
class State:
    """The history, for R replicates (the engines' working arrays).

    adopt_year: (R, N, K) adoption year, NEVER if not adopted.
    arrival: (R, M) arrival year of each agreement, NEVER if not arrived.
    open_year: (R, K) first year each instrument can be adopted.
    latent: (R, N, C) standard-normal propensities of the states, C per state
        (one per instrument group a mechanism declares, see
        :meth:`Mechanism.latent_columns`; drawn once per replicate from its
        ``frailty`` stream; quadrature nodes in the likelihood), or None when
        no mechanism uses them.
    threshold: (R, N, K) each cell's uniform draw, fixed for the run: the cell
        adopts in the first year its probability of not having adopted since
        it became at risk falls to or below it (the engines' randomness; None
        in the likelihood).
    survival: (R, N, K) that probability so far (1 until the cell is at risk).
    shared: (R, O) standard-normal intercepts of the regional organizations
        (drawn once per replicate from its ``organizations`` stream; importance
        draws in the likelihood), or None when no mechanism uses them.

    >>> import harmsim
    >>> state = harmsim.load_scenario("baseline").dynamics.initial_state(2)
    >>> state.adopt_year.shape, state.arrival.shape, state.open_year.shape  # (R, N, K), (R, M), (R, K)
    ((2, 11, 6), (2, 10), (2, 6))
    """

    adopt_year: np.ndarray
    arrival: np.ndarray
    open_year: np.ndarray
    latent: np.ndarray | None = None
    threshold: np.ndarray | None = None
    survival: np.ndarray | None = None
    shared: np.ndarray | None = None

    def rows(self, idx) -> State:
        """Replicates ``idx`` only, as copies (a mechanism bound for some rows of a parameter axis reads them)."""

        def pick(a):
            return None if a is None else a[idx]

        return State(
            *(pick(getattr(self, f)) for f in ("adopt_year", "arrival", "open_year", "latent", "threshold")),
            survival=pick(self.survival),
            shared=pick(self.shared),
        )


class PastView:
    """The history as known at the start of year ``t``: what a mechanism may read.

    ``same_year`` (K,) marks instruments already decided this year (earlier
    decision layers): their adoptions in ``t`` are visible to gates.

    >>> import harmsim
    >>> state = harmsim.load_scenario("baseline").dynamics.initial_state(1)
    >>> view = PastView(state, 2000)
    >>> view.adopted_before().shape, int(view.adopted_before().sum())  # no ASEAN state adopted before 1997
    ((1, 11, 6), 0)
    """

    __slots__ = ("_same", "_state", "t")

    def __init__(self, state: State, t: int, same_year: np.ndarray | None = None):
        self._state = state
        self.t = int(t)
        self._same = same_year

    def rows(self, idx) -> PastView:
        """The same view of replicates ``idx`` only (copies of their history)."""
        return PastView(self._state.rows(idx), self.t, self._same)

    def _check(self, year: int, what: str) -> None:
        if year > self.t:
            raise LookaheadError(f"{what} asked while deciding {self.t}: a mechanism may read only the past")

    def adopted_before(self, year: int | None = None) -> np.ndarray:
        """(R, N, K) bool: adopted before ``year`` (default: the year being decided)."""
        y = self.t if year is None else int(year)
        self._check(y, f"adoptions before {y}")
        return self._state.adopt_year < y

    def adoption_years(self, idx=slice(None)) -> np.ndarray:
        """(R, N, k) adoption years of instruments ``idx``; undecided years read as NEVER.

        The year being decided is visible only for instruments of earlier layers.
        """
        ay = self._state.adopt_year[..., idx]
        limit = self.t - 1 if self._same is None else self._same[idx] + (self.t - 1)
        return np.where(ay <= limit, ay, NEVER)

    def arrivals(self, year: int | None = None) -> np.ndarray:
        """(R, M) arrival years of agreements by ``year`` (default: the year being decided), else NEVER."""
        y = self.t if year is None else int(year)
        self._check(y, f"agreement arrivals by {y}")
        a = self._state.arrival
        return np.where(a <= y, a, NEVER)

    @property
    def latent(self) -> np.ndarray:
        """(R, N, C) the states' standard-normal propensities (fixed over time: no future to leak)."""
        z = self._state.latent
        if z is None:
            raise LookaheadError("no latent propensities in this history: the mechanism must declare uses_latent")
        return z

    @property
    def shared(self) -> np.ndarray:
        """(R, O) the organizations' standard-normal intercepts (fixed over time: no future to leak)."""
        v = self._state.shared
        if v is None:
            raise LookaheadError("no organization intercepts in this history: the mechanism must declare uses_shared")
        return v

    def open_years(self) -> np.ndarray:
        """(R, K) years instruments opened, NEVER if not open by the year being decided."""
        o = self._state.open_year
        return np.where(o <= self.t, o, NEVER)


class Mechanism:
    """Base class: subclasses set ``name``, ``summary``, ``params`` and override hooks.

    The shipped mechanisms are in :mod:`harmsim.model.mechanisms`, and
    docs/contributing.md adds one, tested. A mechanism bound to a world:

    >>> import harmsim
    >>> diffusion = harmsim.load_scenario("baseline").dynamics.mechanism("diffusion")
    >>> diffusion.name, diffusion.summary.split(":")[0]
    ('diffusion', 'voluntary emulation')
    """

    name: ClassVar[str]
    summary: ClassVar[str]
    params: ClassVar[Mapping]
    #: True when the mechanism reads the states' latent propensities (``PastView.latent``)
    uses_latent: ClassVar[bool] = False
    #: True when the mechanism reads the organizations' shared intercepts (``PastView.shared``)
    uses_shared: ClassVar[bool] = False
    #: coefficients its terms are linear in, each multiplied last: term = sum of coefficient x unit term, summed
    #: in this order (the engines' parameter axis relies on it; a contract test checks it to the bit). Hooks
    #: other than the terms (``static``, ``dynamic``, ``gate``) must not read them.
    linear: ClassVar[tuple[str, ...]] = ()
    #: parameters its hooks also take as (R,) arrays, one value per replicate (broadcast against the leading
    #: replicate axis), so that the parameter axis binds it once for rows that differ in them; every other
    #: non-linear parameter is bound once per distinct value (a contract test checks both to the bit)
    row_params: ClassVar[tuple[str, ...]] = ()

    def __init__(self, world: World, p: ParamSet, transforms=None):
        self.world = world
        self.p = p
        #: the scenario's :class:`~harmsim.data.features.Transforms` (standardizations fixed on a reference window)
        self.transforms = transforms

    @classmethod
    def unused(cls, p: ParamSet) -> set[str]:
        """Parameters that have no effect under ``p``'s choices (left out of a fit's default free parameters)."""
        return set()

    @classmethod
    def log_prior(cls, p: ParamSet) -> float:
        """A penalty a fit adds to the log-likelihood (log prior density up to a constant; 0: none)."""
        return 0.0

    @classmethod
    def check_inputs(cls, world: World, p: ParamSet) -> None:
        """Raise ConfigError if the record lacks data this mechanism needs."""

    @property
    def moves_schedule(self) -> bool:
        """True when agreement arrivals or openings depend on the simulated history."""
        return False

    def static(self) -> np.ndarray | None:
        """State-independent part of the term, (T, N, K) or broadcastable; None if zero."""
        return None

    def dynamic(self, ti: int, view: PastView) -> np.ndarray | None:
        """History-dependent part of the term in year index ``ti``, broadcastable to (R, N, K)."""
        return None

    def order(self) -> list[np.ndarray] | None:
        """Instrument indices in decision layers (earlier layers' same-year adoptions are visible), or None."""
        return None

    def gate(self, ti: int, view: PastView, idx: np.ndarray):
        """(allowed, term) for instruments ``idx``, each broadcastable to (R, N, len(idx)); None if no gate."""
        return None

    def gates(self, idx: np.ndarray) -> bool:
        """Whether :meth:`gate` can act on any of instruments ``idx`` (lets the engines skip it)."""
        return True

    def reads_adoptions(self) -> np.ndarray | None:
        """(K, K) bool: the terms of instrument k read adoptions of instrument j (``[k, j]``); None: none.

        Given the agreement schedule. The exact likelihood sums an unknown
        adoption year only over the terms that read it. A mechanism that
        overrides :meth:`dynamic` or :meth:`gate` without overriding this is
        taken to read every instrument's adoptions.
        """
        if not (overrides(type(self), "dynamic") or overrides(type(self), "gate")):
            return None
        K = len(self.world.instruments)
        return np.ones((K, K), dtype=bool)

    def linear_coefficients(self) -> tuple[str, ...]:
        """The coefficients of :attr:`linear` that this bound instance is linear in (all, unless a mode such as
        endogenous arrival makes a term non-linear)."""
        return self.linear

    def latent_columns(self) -> np.ndarray | None:
        """(K,) int: the column of the states' propensities (``PastView.latent``) each instrument's terms read.

        None for a mechanism without propensities; a mechanism with them reads
        one column (0) unless it says otherwise. The likelihood integrates each
        state's columns out separately, so each instrument's terms must read
        only its own column.
        """
        return np.zeros(len(self.world.instruments), dtype=np.int64) if self.uses_latent else None

    def shared_width(self) -> int:
        """O, the shared intercepts the mechanism reads (``PastView.shared``); 0 without any."""
        return 0

    def initial_schedule(self, arrival: np.ndarray, open_year: np.ndarray, known_until: int) -> None:
        """Adjust the (M,) arrivals and (K,) openings at the start; agreements up to ``known_until`` are given."""

    def before_year(self, ti: int, view: PastView, schedule: State) -> None:
        """Update the schedule (``arrival``, ``open_year`` of ``schedule``) at the start of year index ``ti``."""


@lru_cache(maxsize=256)
def overrides(cls, method: str) -> bool:
    """True when mechanism class ``cls`` overrides hook ``method`` of :class:`Mechanism`."""
    return getattr(cls, method) is not getattr(Mechanism, method)

"""The Mesa model: member states as agents, one step per year.

:class:`HarmonizationModel` is a :class:`mesa.Model`; each member state is a
:class:`MemberState` agent that enters the model in the year it joins the
region and keeps its own adoption record. A year (one :meth:`step`):

1. states joining this year enter (new agents); states leaving are removed;
2. the model evaluates the year's decisions of all states at once with
   :class:`~harmsim.dynamics.Dynamics` (synchronous update: every state
   decides on the region as it stood at the end of the previous year, so the
   order agents act in cannot matter); each (state, instrument) cell
   carries one uniform threshold for the whole run, from the run's
   counter-based ``adoption`` stream, as in the batch engine;
3. each agent applies its own decisions (``MemberState.step``);
4. the ``DataCollector`` records each state's adoptions.

The decision step is the same function the batch engine and the likelihood
use; that is what makes the engines agree exactly.

>>> import harmsim
>>> sc = harmsim.load_scenario("baseline")
>>> m = HarmonizationModel(sc, seed=1)
>>> m.run_model()
>>> m.year, len(m.agents)
(2015, 10)
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from ._mesa import mesa
from .errors import ConfigError
from .results import tidy_adoptions, tidy_agreements
from .rng import SeedLike, seed_sequence, stream_seed
from .scenario import Scenario, load_scenario
from .world import NEVER

__all__ = ["HarmonizationModel", "MemberState"]


class MemberState(mesa.Agent):
    """One member state: its attributes and its adoption record."""

    def __init__(self, model: HarmonizationModel, index: int):
        super().__init__(model)
        w = model.world
        self.index = index
        self.state_id: str = w.states[index]
        self.name: str = w.state_names[index]
        self.subregion: str = w.subregion[index]
        self.joined: int = int(w.joined[index])
        #: instrument id -> year adopted (pre-window adoptions included)
        self.adopted: dict[str, int] = {w.instruments[k]: int(y) for k, y in enumerate(w.initial[index]) if y != NEVER}
        self.adopted_this_year: tuple[str, ...] = ()
        #: space-separated ids of the instruments adopted so far (a DataCollector column)
        self.adopted_ids: str = " ".join(self.adopted)

    def step(self) -> None:
        """Apply this year's decisions, taken by the shared dynamics on this state's row."""
        self.adopted_this_year = self.model.decisions.get(self.index, ())
        if self.adopted_this_year:
            for inst in self.adopted_this_year:
                self.adopted[inst] = self.model.year
            self.adopted_ids = " ".join(self.adopted)


class HarmonizationModel(mesa.Model):
    """Regional legal harmonization as a Mesa model; see the module docstring.

    Parameters
    ----------
    scenario : Scenario, or a scenario file or shipped scenario name
        What to simulate (record, window, mechanisms, parameters).
    seed : int or numpy.random.SeedSequence
        The run's seed. Mesa's own generator gets a seed derived from it; the
        adoption draws come from the separate named stream ``adoption``.
    rng : int, optional
        Alternative name for ``seed``, so that ``mesa.batch_run(...,
        rng=[...])`` works; give one of the two.
    collect : bool
        Record each state's adoptions every year in ``datacollector``
        (default). ``False`` skips the per-year tables (the run's outcome is
        the same) and makes a run about twice as fast.

    ``mesa.batch_run`` works with it (see docs/engines.md)::

        mesa.batch_run(HarmonizationModel, {"scenario": "baseline"}, rng=range(10))
    """

    def __init__(
        self,
        scenario="baseline",
        seed: SeedLike | None = None,
        *,
        rng: SeedLike | None = None,
        collect: bool = True,
    ):
        if (seed is None) == (rng is None):
            raise ConfigError("HarmonizationModel needs exactly one of seed= or rng= (an integer)")
        if not isinstance(scenario, Scenario):
            scenario = _cached_scenario(str(scenario))
        ss = seed_sequence(seed if seed is not None else rng)
        super().__init__(rng=stream_seed(ss, "mesa"))
        #: the harmsim Scenario (not ``scenario``: Mesa 3.5 reserves ``Model.scenario``)
        self.config = scenario
        self.world = scenario.world
        self.dynamics = scenario.dynamics
        self.seed = seed if seed is not None else rng
        self.collect = collect
        self.state = self.dynamics.initial_state(
            1, latent=self.dynamics.latent_draws([ss]), threshold=self.dynamics.thresholds([ss])
        )
        self.ti = -1
        self.year = self.world.start - 1
        self.new_adoptions = np.zeros((1, *self.world.initial.shape), dtype=bool)
        #: this year's decisions: state index -> instrument ids adopted
        self.decisions: dict[int, tuple[str, ...]] = {}
        self._agent_of: dict[int, MemberState] = {}
        self.datacollector = mesa.DataCollector(
            model_reporters={"year": "year", "adopters": "n_adopters"},
            agent_reporters={"state": "state_id", "adopted": "adopted_ids"},
        )
        self._update_membership(0)
        self.running = True
        if collect:  # Mesa's convention: step 0 holds the initial state (year start - 1)
            self.datacollector.collect(self)

    @property
    def n_adopters(self) -> int:
        """(state, instrument) adoptions so far, pre-window ones included."""
        return int((self.state.adopt_year[0] != NEVER).sum())

    def _update_membership(self, ti: int) -> None:
        entering, leaving = self.world.entering[ti], self.world.leaving[ti]
        for i in entering:
            if i not in self._agent_of:
                self._agent_of[i] = MemberState(self, i)
        for i in leaving:
            if i in self._agent_of:
                self._agent_of.pop(i).remove()

    def step(self) -> None:
        """Advance one year."""
        if not self.running:
            return
        self.ti += 1
        self.year = int(self.world.years[self.ti])
        self._update_membership(self.ti)
        self.new_adoptions = self.dynamics.step(self.ti, self.state)
        rows, cols = np.nonzero(self.new_adoptions[0])  # few cells: a Python loop is cheapest
        inst = self.world.instruments
        self.decisions = {}
        for i, k in zip(rows.tolist(), cols.tolist()):
            self.decisions[i] = (*self.decisions.get(i, ()), inst[k])
        self.agents.do("step")
        if self.collect:
            self.datacollector.collect(self)
        if self.ti == len(self.world.years) - 1:
            self.running = False
            _forget_model(self)

    def run_model(self) -> None:
        """Step through the whole window."""
        while self.running:
            self.step()

    # Results --------------------------------------------------------------------
    def adoptions(self) -> pd.DataFrame:
        """Tidy adoption table: state, instrument, year (Int64; missing = not adopted)."""
        return tidy_adoptions(self.world, self.state.adopt_year)

    def agreement_years(self) -> pd.DataFrame:
        """Tidy agreement table: agreement, year (Int64; missing = did not arrive)."""
        return tidy_agreements(self.world, self.dynamics, self.state.arrival)


def _forget_model(model) -> None:
    """Drop Mesa 3.3's class-level reference to a finished model.

    Mesa 3.3 counts agent ids in ``Agent._ids``, a dict keyed by model that is
    never emptied, so every model ever made stays in memory (Mesa 3.4 moved
    the counter onto the model). A finished harmsim model creates no more
    agents, so its entry can go.
    """
    ids = getattr(mesa.Agent, "_ids", None)
    if isinstance(ids, dict):
        ids.pop(model, None)


@lru_cache(maxsize=32)
def _cached_scenario(path_or_name: str) -> Scenario:
    return load_scenario(path_or_name)

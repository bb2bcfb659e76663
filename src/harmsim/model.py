"""The Mesa model: member states as agents, one step per year.

:class:`HarmonizationModel` is a :class:`mesa.Model`; each member state is a
:class:`MemberState` agent that enters the model in the year it joins the
region and keeps its own adoption record. A year (one :meth:`step`):

1. states joining this year enter (new agents); states leaving are removed;
2. the year's uniform draws are taken from the run's ``adoption`` stream,
   one per (state, instrument) cell;
3. the model evaluates the year's decisions of all states at once with
   :class:`~harmsim.dynamics.Dynamics` (synchronous update: every state
   decides on the region as it stood at the end of the previous year, so the
   order agents act in cannot matter);
4. each agent applies its own decisions (``MemberState.step``);
5. the ``DataCollector`` records each state's adoptions.

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

import mesa
import numpy as np
import pandas as pd

from .rng import SeedLike, seed_sequence, stream, stream_seed
from .world import NEVER

__all__ = ["HarmonizationModel", "MemberState"]


class MemberState(mesa.Agent):
    """One member state: its attributes and its adoption record."""

    def __init__(self, model: HarmonizationModel, index: int):
        super().__init__(model)
        w = model.world
        row = w.record.states.iloc[index]
        self.index = index
        self.state_id: str = w.states[index]
        self.name: str = row["name"]
        self.subregion: str = row["subregion"]
        self.joined: int = int(row["joined"])
        #: instrument id -> year adopted (pre-window adoptions included)
        self.adopted: dict[str, int] = {
            w.instruments[k]: int(y) for k, y in enumerate(w.initial[index]) if y != NEVER
        }
        self.adopted_this_year: tuple[str, ...] = ()

    @property
    def adopted_ids(self) -> str:
        """Space-separated ids of the instruments adopted so far (a DataCollector column)."""
        return " ".join(self.adopted)

    def step(self) -> None:
        """Apply this year's decisions, taken by the shared dynamics on this state's row."""
        w = self.model.world
        new = self.model.new_adoptions[0, self.index]
        self.adopted_this_year = tuple(w.instruments[k] for k in np.flatnonzero(new))
        for inst in self.adopted_this_year:
            self.adopted[inst] = self.model.year


class HarmonizationModel(mesa.Model):
    """Regional legal harmonization as a Mesa model; see the module docstring.

    Parameters
    ----------
    scenario : Scenario
        What to simulate (record, window, mechanisms, parameters).
    seed : int or numpy.random.SeedSequence
        The run's seed. Mesa's own generator gets a seed derived from it; the
        adoption draws come from the separate named stream ``adoption``.
    """

    def __init__(self, scenario, seed: SeedLike):
        ss = seed_sequence(seed)
        super().__init__(rng=stream_seed(ss, "mesa"))
        #: the harmsim Scenario (not ``scenario``: Mesa 3.5 reserves ``Model.scenario``)
        self.config = scenario
        self.world = scenario.world
        self.dynamics = scenario.dynamics
        self.seed = seed
        self._draws = stream(ss, "adoption")
        self.state = self.dynamics.initial_state(1)
        self.ti = -1
        self.year = self.world.start - 1
        self.new_adoptions = np.zeros((1, *self.world.initial.shape), dtype=bool)
        self._agent_of: dict[int, MemberState] = {}
        self.datacollector = mesa.DataCollector(
            model_reporters={"year": "year", "adopters": "n_adopters"},
            agent_reporters={"state": "state_id", "adopted": "adopted_ids"},
        )
        self._update_membership(0)
        self.running = True

    @property
    def n_adopters(self) -> int:
        """(state, instrument) adoptions so far, pre-window ones included."""
        return int((self.state.adopt_year[0] != NEVER).sum())

    def _update_membership(self, ti: int) -> None:
        member = self.world.member[ti]
        for i in np.flatnonzero(member):
            if i not in self._agent_of:
                self._agent_of[i] = MemberState(self, int(i))
        for i in [i for i in self._agent_of if not member[i]]:
            self._agent_of.pop(i).remove()

    def step(self) -> None:
        """Advance one year."""
        if not self.running:
            return
        self.ti += 1
        self.year = int(self.world.years[self.ti])
        self._update_membership(self.ti)
        draws = self._draws.random(self.world.initial.shape)[None]
        self.new_adoptions = self.dynamics.step(self.ti, self.state, draws)
        self.agents.do("step")
        self.datacollector.collect(self)
        if self.ti == len(self.world.years) - 1:
            self.running = False

    def run_model(self) -> None:
        """Step through the whole window."""
        while self.running:
            self.step()

    # Results --------------------------------------------------------------------
    def adoptions(self) -> pd.DataFrame:
        """Tidy adoption table: state, instrument, year (Int64; missing = not adopted)."""
        return adoption_table(self.world, self.state.adopt_year[0])

    def agreement_years(self) -> pd.DataFrame:
        """Tidy agreement table: agreement, year (Int64; missing = did not arrive)."""
        return agreement_table(self.world, self.dynamics, self.state.arrival[0])


def adoption_table(world, adopt_year: np.ndarray) -> pd.DataFrame:
    """(N, K) adoption years -> tidy table in record order."""
    N, K = adopt_year.shape
    years = pd.array(np.where(adopt_year == NEVER, 0, adopt_year).ravel(), dtype="Int64")
    years[(adopt_year == NEVER).ravel()] = pd.NA
    return pd.DataFrame(
        {
            "state": np.repeat(world.states, K),
            "instrument": np.tile(world.instruments, N),
            "year": years,
        }
    )


def agreement_table(world, dynamics, arrival: np.ndarray) -> pd.DataFrame:
    """(M,) arrival years -> tidy table; empty when agreements are off."""
    ag = dynamics.agreements
    if ag is None:
        return pd.DataFrame(
            {
                "agreement": pd.Series(dtype=str),
                "year": pd.Series(dtype="Int64"),
                "binding": pd.Series(dtype=bool),
                "arrival": pd.Series(dtype=str),
            }
        )
    years = pd.array(np.where(arrival == NEVER, 0, arrival), dtype="Int64")
    years[arrival == NEVER] = pd.NA
    return pd.DataFrame(
        {
            "agreement": list(world.agreements),
            "year": years,
            "binding": world.binding,
            "arrival": ag.p.arrival,
        }
    )

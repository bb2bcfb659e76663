"""The Mesa model: member states as agents, one step per year.

:class:`HarmonizationModel` is a :class:`mesa.Model`; each member state is a
:class:`MemberState` agent that enters the model in the year it joins the
region and keeps its own adoption record. A year (one :meth:`step`):

1. states joining this year enter (new agents); states leaving are removed;
2. the model evaluates the year's decisions of all states at once with
   :class:`~harmsim.model.dynamics.Dynamics` (synchronous update: every state
   decides on the region as it stood at the end of the previous year, so the
   order agents act in cannot matter); each (state, instrument) cell
   carries one uniform threshold for the whole run, from the run's
   counter-based ``adoption`` stream, as in the batch engine;
3. each agent applies its own decisions (``MemberState.step``);
4. the ``DataCollector`` records the year: adopters and share of members per
   instrument (model level), and per state which instruments it has adopted
   (agent level, one column per instrument).

The decision step is the same function the batch engine and the likelihood
use; that is what makes the engines agree exactly.

**Whose randomness is whose.** The adoption thresholds (and the states'
propensities, when a scenario has them) are fixed when the model is built,
from counter-based streams of the run's seed. Mesa's own generators,
``model.random`` and ``model.rng``, are seeded from a separate stream of the
same seed and belong to your code: agent code that draws from them (or
shuffles agents) does not change the adoption history, which stays equal to
the batch engine's for the same seed.

>>> import harmsim
>>> m = HarmonizationModel("baseline", rng=1, diffusion_strength=0.5)
>>> m.run_model()
>>> m.year, len(m.agents), m.config.parameters()["diffusion.strength"]
(2015, 10, 0.5)
"""

from __future__ import annotations

import functools
import secrets
import warnings
from functools import lru_cache

import numpy as np
import pandas as pd

from harmsim._mesa import mesa
from harmsim.data.world import NEVER
from harmsim.errors import ConfigError, HarmsimWarning
from harmsim.model.scenario import Scenario, keyword_parameters, load_scenario
from harmsim.model.tables import tidy_adoptions, tidy_agreements
from harmsim.rng import SeedLike, seed_record, seed_sequence, stream_seed

__all__ = ["HarmonizationModel", "MemberState"]


class MemberState(mesa.Agent):
    """One member state: its attributes and its adoption record.

    Its decisions are taken by the model's shared dynamics (one definition of
    every mechanism for every engine); the agent holds what it adopted, when.

    >>> m = HarmonizationModel("baseline", rng=0)
    >>> m.run_model()
    >>> mys = next(a for a in m.agents if a.state_id == "MYS")
    >>> mys.name, sorted(n.state_id for n in mys.neighbours())  # land borders, on Mesa's network space
    ('Malaysia', ['BRN', 'IDN', 'THA'])
    >>> set(mys.adopted) <= set(m.world.instruments)  # instrument -> the year it adopted it
    True
    """

    def __init__(self, model: HarmonizationModel, index: int):
        super().__init__(model)
        w = model.world
        self.index = index
        self.state_id: str = w.states[index]
        self.name: str = w.state_names[index]
        self.subregion: str = w.subregion[index]
        self.joined: int = int(w.joined[index])
        #: instrument id -> year adopted (pre-window adoptions included)
        self.adopted: dict[str, int] = {
            w.instruments[k]: y for k, y in enumerate(w.initial[index].tolist()) if y != NEVER
        }
        self.adopted_this_year: tuple[str, ...] = ()

    @property
    def n_adopted(self) -> int:
        """Instruments this state has adopted so far (pre-window adoptions included)."""
        return len(self.adopted)

    def neighbours(self) -> list[MemberState]:
        """The member states it shares a land border with, found on the model's network space (``model.grid``)."""
        return self.model.grid.get_neighbors(self.pos, include_center=False)

    def step(self) -> None:
        """Apply this year's decisions, taken by the shared dynamics on this state's row."""
        self.adopted_this_year = self.model.decisions.get(self.index, ())
        for inst in self.adopted_this_year:
            self.adopted[inst] = self.model.year

    def __repr__(self) -> str:
        return f"MemberState({self.state_id}, {len(self.adopted)} instruments adopted)"


class HarmonizationModel(mesa.Model):
    """Regional legal harmonization as a Mesa model; see the module docstring.

    Parameters
    ----------
    scenario : Scenario, or a scenario file or shipped scenario name
        What to simulate (record, window, mechanisms, parameters); default
        the class's ``default_scenario``, "baseline". Mesa 3.5's SolaraViz
        passes a Mesa ``Scenario`` object on Reset: its values are taken as
        keyword parameters (and its ``rng`` as the seed) of the default
        scenario.
    rng : int or numpy.random.SeedSequence, optional
        The run's seed (Mesa's name for it). Without one the model picks a
        fresh 63-bit seed and records it in ``model.seed``, as Mesa models do.
    seed : int, optional
        The same as ``rng`` (Mesa 3.3's ``batch_run`` passes ``seed``); give
        one of the two.
    collect : bool
        Record every year in ``datacollector`` (default). ``False`` skips the
        tables (the run's outcome is the same) and makes a run faster.
    **kwargs
        Any scenario parameter, by its dotted name with dots as underscores:
        ``diffusion_strength=0.5``, ``hazard_offsets_untoc=1.0``. A name that
        two parameters share that way is refused (use the Scenario's
        ``with_params``); see :func:`harmsim.model.scenario.keyword_parameters`.
        ``<mechanism>_enabled=False`` switches a mechanism off.

    ``mesa.batch_run`` works with it over any parameter (see docs/engines.md)::

        mesa.batch_run(HarmonizationModel, {"diffusion_strength": [0, 1, 2]}, rng=range(10))
    """

    #: the scenario a model is built on when none is given (a subclass may set its own)
    default_scenario: Scenario | str = "baseline"

    def __init__(
        self,
        scenario: Scenario | str | None = None,
        *,
        rng: SeedLike | None = None,
        seed: SeedLike | None = None,
        collect: bool = True,
        **kwargs,  # named kwargs: Mesa 3.3's SolaraViz accepts parameters through a **kwargs only
    ):
        if scenario is None:
            scenario = type(self).default_scenario
        elif _is_mesa_scenario(scenario):
            values = dict(scenario)
            mesa_rng = values.pop("rng", None)
            if mesa_rng is not None:
                if rng is not None or seed is not None:
                    raise ConfigError("give the run's seed in the Mesa Scenario or as rng=/seed=, not both")
                rng = mesa_rng
            scenario, kwargs = type(self).default_scenario, {**values, **kwargs}
        if rng is not None and seed is not None:
            raise ConfigError("give the run's seed as rng= or seed=, not both")
        given = rng if rng is not None else seed
        if isinstance(given, np.random.Generator):
            raise ConfigError("rng must be an integer seed or a SeedSequence, not a numpy Generator")
        if given is None:
            given = secrets.randbits(63)  # Mesa's convention; recorded in self.seed, so the run can be repeated
        if not isinstance(scenario, Scenario):
            scenario = _cached_scenario(str(scenario))
        if kwargs:
            scenario = scenario.with_params(keyword_parameters(scenario, kwargs))
        ss = seed_sequence(given)
        super().__init__(rng=stream_seed(ss, "mesa"))
        #: the harmsim Scenario (not ``scenario``: Mesa 3.5 reserves ``Model.scenario``)
        self.config = scenario
        self.world = scenario.world
        self.dynamics = scenario.dynamics
        #: the run's seed, as given or picked (an int, or {"entropy", "spawn_key"} for a spawned sequence)
        self.seed = seed_record(given)
        self.collect = collect
        self.state = self.dynamics.initial_state(
            1,
            latent=self.dynamics.latent_draws([ss]),
            threshold=self.dynamics.thresholds([ss]),
            shared=self.dynamics.shared_draws([ss]),
        )
        self.ti = -1
        self.year = self.world.start - 1
        self.new_adoptions = np.zeros((1, *self.world.initial.shape), dtype=bool)
        #: this year's decisions: state index -> instrument ids adopted
        self.decisions: dict[int, tuple[str, ...]] = {}
        self._agent_of: dict[int, MemberState] = {}
        #: Mesa's network space: a node per state of the record, an edge per land border; members stand on theirs
        self.grid = mesa.space.NetworkGrid(_border_graph(self.world).copy())  # its nodes will hold this model's agents
        # Step 0 is the year before the window: its members are the states that joined before the first year
        # (those joining in the first year enter with the first step)
        for i in np.flatnonzero(self.world.member[0] & (self.world.joined < self.world.start)).tolist():
            self._enter(i)
        self.running = True
        self._datacollector = None  # made when first used: without collect a run never needs it
        if collect:  # Mesa's convention: step 0 holds the initial state (year start - 1)
            self.datacollector.collect(self)

    @property
    def datacollector(self) -> mesa.DataCollector:
        """Mesa's DataCollector of the run's years (empty tables when the model was made with ``collect=False``)."""
        if self._datacollector is None:
            self._datacollector = mesa.DataCollector(
                model_reporters=self._model_reporters(), agent_reporters=self._agent_reporters()
            )
        return self._datacollector

    @datacollector.setter
    def datacollector(self, value) -> None:
        self._datacollector = value

    def _model_reporters(self) -> dict:
        out = {"year": "year", "members": lambda m: len(m._agent_of), "adopters": "n_adopters"}
        for k, inst in enumerate(self.world.instruments):
            out[f"adopters_{inst}"] = lambda m, k=k: m.adopters_of(k)
            out[f"share_{inst}"] = lambda m, k=k: m.adopters_of(k) / max(len(m._agent_of), 1)
        return out

    def _agent_reporters(self) -> dict:
        out = {"state": "state_id", "n_adopted": "n_adopted"}
        for inst in self.world.instruments:
            out[f"adopted_{inst}"] = lambda a, inst=inst: inst in a.adopted
        return out

    @property
    def n_adopters(self) -> int:
        """(state, instrument) adoptions of the current members so far, pre-window ones included."""
        return sum(self.adopters_of(k) for k in range(len(self.world.instruments)))

    def adopters_of(self, k: int) -> int:
        """Current members that have adopted instrument ``k`` (an index of ``world.instruments``)."""
        members = np.fromiter(self._agent_of, dtype=int, count=len(self._agent_of))
        return int((self.state.adopt_year[0, members, k] != NEVER).sum())

    def _enter(self, i: int) -> None:
        agent = self._agent_of[i] = MemberState(self, i)
        self.grid.place_agent(agent, i)

    def _update_membership(self, ti: int) -> None:
        entering, leaving = self.world.entering[ti], self.world.leaving[ti]
        for i in entering:
            if i not in self._agent_of:
                self._enter(i)
        for i in leaving:
            if i in self._agent_of:
                agent = self._agent_of.pop(i)
                self.grid.remove_agent(agent)
                agent.remove()

    def step(self) -> None:
        """Advance one year; after the window's last year the model stops: ``running`` is False and a further
        ``step()`` changes nothing and warns."""
        if not self.running:  # reached only through the class's step (the instance's is the no-op by then)
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
            # Mesa counts every call of step (steps, and Mesa 3.5's time): after the last year a call must
            # neither count nor move the year, so the instance's step becomes a no-op that says so
            self.step = functools.partial(_finished_step, self.year)  # holds no reference to the model
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

    def __repr__(self) -> str:
        return (
            f"HarmonizationModel(scenario={self.config.name!r}, seed={self.seed!r}, year={self.year}, "
            f"members={len(self._agent_of)}, adoptions={self.n_adopters})"
        )


def _finished_step(year: int) -> None:
    """``step()`` once the window is over: nothing happens (the year, ``steps`` and Mesa's time stay)."""
    warnings.warn(
        f"the model has run its last year ({year}); step() does nothing (running is False)",
        HarmsimWarning,
        stacklevel=3,
    )


@lru_cache(maxsize=8)
def _border_graph(world):
    """The record's states as nodes (their indices), their land borders as edges: a networkx graph."""
    import networkx as nx

    g = nx.Graph()
    g.add_nodes_from(range(len(world.states)))
    rows, cols = np.nonzero(np.triu(world.border))
    g.add_edges_from(zip(rows.tolist(), cols.tolist()))
    return g


def _is_mesa_scenario(obj) -> bool:
    """Whether ``obj`` is a Mesa (3.5 and later) ``Scenario``: what SolaraViz's Reset passes as ``scenario``."""
    cls = _mesa_scenario_class()
    return cls is not None and isinstance(obj, cls)


@lru_cache(maxsize=1)
def _mesa_scenario_class():
    """Mesa's ``Scenario`` class, or None (Mesa 3.3 has none); looked up once, not per model."""
    try:
        from mesa.experimental.scenarios import Scenario as MesaScenario
    except ImportError:
        return None
    return MesaScenario


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

"""The yearly adoption step, shared by every engine and by the likelihood.

:class:`Dynamics` binds a scenario's mechanisms to a :class:`~harmsim.data.world.World`
and holds the model's one definition of a year:

1. mechanisms that move the schedule update it (``before_year``: e.g.
   agreements that arrive when members comply enough);
2. a cell (state ``i``, instrument ``k``) is *eligible* when ``i`` is a member
   and ``k`` is open (:meth:`Dynamics.eligible`); it is *at risk* when also not
   yet adopted;
3. every cell gets the log-odds ``eta = intercept[k] + sum of mechanism
   terms``, computed on the history before the year (synchronous update);
4. instruments are decided in layers (a mechanism's ``order``, e.g.
   prerequisite depth); gates (a mechanism's ``gate``) remove cells and add
   terms, seeing this year's decisions of earlier layers
   (:meth:`Dynamics.layer`);
5. a cell at risk adopts with probability ``h(eta)``, ``h`` the link
   (logistic by default; the Bass baseline brings its own). The engines
   decide it by inversion: each cell has one uniform ``u`` for the whole run
   (its *threshold*) and adopts in the first year in which its probability of
   not having adopted since it became at risk, ``S = prod (1 - h)``, falls to
   ``u`` or below. Given no adoption before (``u < S_prev``), that happens
   with probability ``h`` exactly, so the model is the same as one uniform
   per cell and year, with one draw per cell instead of one per cell-year.
   Only the cells at risk are computed (their log-odds gathered, the rule
   applied, the results put back): the values are those of the rule on whole
   arrays, to the bit, at the cost of the cells at risk (a third of the
   cells in an average year of the baseline).

Steps 2 and 4 are the at-risk and gating rule; the engines (:meth:`step`),
the likelihood and the non-agent baselines all call them, so there is one.
Every array carries a leading replicate axis ``R``: the Mesa model calls
:meth:`step` with ``R = 1``, the batch engine with many replicates; because a
replicate's thresholds come from its own seed (:meth:`Dynamics.thresholds`,
a counter-based stream, :func:`harmsim.rng.uniforms`), both give identical
histories.

A :class:`Clamp` conditions a run on a known history: through each cell's
last known year it adopts exactly when the record says, whatever its draw.
Forecasts run the model from the start of the record clamped to the
observations, so the draws of every year are the same with or without a
change (common random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.special import expit, log_expit

from harmsim.data.observations import Clamp
from harmsim.data.world import NEVER, YEAR, World
from harmsim.errors import ConfigError
from harmsim.model.mechanisms import REGISTRY, PastView, State
from harmsim.model.mechanisms.base import overrides
from harmsim.model.params import InstrumentMap, Integer, Real
from harmsim.model.space import HAZARD_PARAMS, parameter_spec, split_name
from harmsim.rng import normals, uniforms

__all__ = ["HAZARD_PARAMS", "LOGIT", "Block", "Clamp", "Dynamics", "Logit", "Rows"]


class Logit:
    """The model's link: h = expit(eta).

    >>> Logit().survival(0, None, np.array([0.0, 2.0]), None).round(4).tolist()  # log-odds 0: one in two
    [0.5, 0.1192]
    """

    #: h depends on each cell's log-odds alone, so the engines evaluate it on the cells at risk only
    elementwise = True

    def survival(self, ti: int, view: PastView, eta: np.ndarray, idx) -> np.ndarray:
        """1 - h = expit(-eta), one ufunc call (exact in the tail, unlike 1 - expit(eta))."""
        return expit(-eta)

    def log_probs(self, ti: int, view: PastView, eta: np.ndarray, idx) -> tuple[np.ndarray, np.ndarray]:
        """(log h, log(1 - h)), from one ``log_expit``: log(1 - h) = log h - eta (absolute error ~1e-16 |eta|)."""
        log_h = log_expit(eta)
        return log_h, log_h - eta


LOGIT = Logit()


class Dynamics:
    """A scenario's mechanisms bound to a world: the model's yearly step.

    Every engine and the likelihood read a scenario's mechanisms through it;
    the terms that do not depend on the history are computed once
    (``static_logit``, (T, N, K)).

    >>> import harmsim
    >>> d = harmsim.load_scenario("baseline").dynamics
    >>> [m.name for m in d.mechanisms], d.static_logit.shape
    (['push_pull', 'diffusion', 'agreements', 'external', 'capacity', 'prerequisites'], (19, 11, 6))
    """

    def __init__(self, world: World, scenario, transforms=None):
        self.world = world
        self.scenario = scenario
        self.mechanisms = [REGISTRY[name](world, p, transforms) for name, p in scenario.mechanisms]
        over = {h: [m for m in self.mechanisms if _overrides(m, h)] for h in ("dynamic", "gate", "before_year")}
        self.dynamic_terms = over["dynamic"]
        self.gates = over["gate"]
        self.schedulers = over["before_year"]
        K = len(world.instruments)
        order = next((o for o in (m.order() for m in self.mechanisms) if o is not None), None)
        #: instrument indices of each decision layer, decided in this order
        self.layers = [np.asarray(g) for g in order] if order else [np.arange(K)]
        #: (K,) bool per layer: instruments decided in earlier layers (visible to gates this year)
        self.earlier = [np.isin(np.arange(K), np.concatenate([*self.layers[:i], []])) for i in range(len(self.layers))]
        #: (K,) bool: the first layer's instruments
        self.first_layer = np.isin(np.arange(K), self.layers[0])
        #: the gates that can act on each layer
        self.layer_gates = [[g for g in self.gates if g.gates(idx)] for idx in self.layers]
        self._single = len(self.layers) == 1
        #: True when some mechanism reads the states' latent propensities (drawn per replicate)
        self.needs_latent = any(m.uses_latent for m in self.mechanisms)
        #: True when some mechanism reads the organizations' shared intercepts (drawn per replicate)
        self.needs_shared = any(m.uses_shared for m in self.mechanisms)
        if self.needs_latent and self.needs_shared:
            raise ConfigError(
                f"scenario '{self.scenario.name}': state propensities (frailty) and organization intercepts "
                "(organizations) together are not supported: the likelihood integrates one or the other"
            )

    @property
    def shared_width(self) -> int:
        """O, the organizations' shared intercepts per replicate (0 without any)."""
        return max([m.shared_width() for m in self.mechanisms], default=0)

    @cached_property
    def latent_columns(self) -> np.ndarray | None:
        """(K,) int: the propensity column each instrument's terms read, or None without propensities."""
        cols = [c for c in (m.latent_columns() for m in self.mechanisms) if c is not None]
        if not cols:
            return None
        if any(not np.array_equal(c, cols[0]) for c in cols[1:]):
            raise ConfigError(
                f"scenario '{self.scenario.name}': mechanisms with state propensities disagree on their columns"
            )
        return np.asarray(cols[0])

    @property
    def latent_width(self) -> int:
        """C, the propensities per state (0 without any)."""
        cols = self.latent_columns
        return 0 if cols is None else int(cols.max()) + 1

    @cached_property
    def reads_adoptions(self) -> np.ndarray | None:
        """(K, K) bool: instrument k's terms read instrument j's adoptions under some mechanism; None: none."""
        parts = [r for r in (m.reads_adoptions() for m in self.mechanisms) if r is not None]
        return np.logical_or.reduce(parts) if parts else None

    def mechanism(self, name: str):
        """The bound mechanism ``name``, or None if it is off."""
        return next((m for m in self.mechanisms if m.name == name), None)

    @property
    def schedule_moves(self) -> bool:
        """True when arrivals or openings depend on the simulated history."""
        return any(m.moves_schedule for m in self.mechanisms)

    @cached_property
    def intercept(self) -> np.ndarray:
        """(K,) baseline log-odds per instrument."""
        return _intercept(self.world, self.scenario.hazard)

    @cached_property
    def static_logit(self) -> np.ndarray:
        """(T, N, K) intercepts plus every state-independent term."""
        T, N, K = self.world.shape
        eta = np.broadcast_to(self.intercept, (T, N, K)).copy()
        for m in self.mechanisms:
            s = m.static()
            if s is not None:
                eta += s
        return eta

    def initial_state(
        self,
        replicates: int,
        clamp: Clamp | None = None,
        latent: np.ndarray | None = None,
        threshold: np.ndarray | None = None,
        shared: np.ndarray | None = None,
    ) -> State:
        """The history at the start of the horizon, for ``replicates`` copies.

        ``latent`` (R, N, C): the states' propensities, when a mechanism uses them
        (the engines draw them with :meth:`latent_draws`). ``threshold`` (R, N, K):
        the cells' uniforms (:meth:`thresholds`), for the engines' :meth:`step`.
        ``shared`` (R, O): the organizations' intercepts (:meth:`shared_draws`).
        """
        w = self.world
        R = replicates
        M = len(w.agreements)
        arrival = np.where(w.agreement_year <= w.end, w.agreement_year, NEVER).astype(YEAR)
        open_year = w.opens.astype(np.int64).copy()
        known_until = w.start - 1 if clamp is None else max(w.start - 1, clamp.schedule_until)
        for m in self.mechanisms:
            m.initial_schedule(arrival, open_year, known_until)
        return State(
            adopt_year=np.broadcast_to(w.initial, (R, *w.initial.shape)).copy(),
            arrival=np.broadcast_to(arrival, (R, M)).copy(),
            open_year=np.broadcast_to(open_year, (R, len(open_year))).copy(),
            latent=latent,
            threshold=threshold,
            survival=None if threshold is None else np.ones(threshold.shape),
            shared=shared,
        )

    def thresholds(self, seeds) -> np.ndarray:
        """(R, N, K) each cell's uniform from each seed's counter-based ``adoption`` stream.

        Cell (i, k) is number ``i * K + k`` of the stream: a replicate's thresholds
        depend on its seed alone, and the Mesa model (R = 1) and the batch engine
        compute them with the same function.
        """
        N, K = self.world.initial.shape
        return uniforms(seeds, "adoption", N * K).reshape(-1, N, K)

    def latent_draws(self, seeds) -> np.ndarray | None:
        """(R, N, C) standard normals from each seed's counter-based ``frailty`` stream, or None if unused.

        State i's C values are numbers ``i * C`` to ``i * C + C - 1`` of the stream.
        """
        if not self.needs_latent:
            return None
        N, C = len(self.world.states), self.latent_width
        return normals(seeds, "frailty", N * C).reshape(-1, N, C)

    def shared_draws(self, seeds) -> np.ndarray | None:
        """(R, O) standard normals from each seed's counter-based ``organizations`` stream, or None if unused.

        Organization o's value is number o of the stream.
        """
        if not self.needs_shared:
            return None
        return normals(seeds, "organizations", self.shared_width).reshape(-1, self.shared_width)

    # The one at-risk and gating rule ----------------------------------------------------------
    @cached_property
    def _static_eligible(self) -> np.ndarray | None:
        """(T, N, K) instrument open to the state (a member, of its organization too) and open, when openings do
        not depend on the history."""
        if self.schedule_moves:
            return None
        return self.world.adoptable

    def _first_eligible(self, ti: int, elig: np.ndarray) -> np.ndarray:
        """``elig`` restricted to the first decision layer's instruments (precomputed when eligibility is static)."""
        static = self._static_first_eligible
        return elig & self.first_layer if static is None else static[ti][None]

    @cached_property
    def _static_first_eligible(self) -> np.ndarray | None:
        static = self._static_eligible
        return None if static is None else static & self.first_layer

    def eligible(self, ti: int, state: State) -> np.ndarray:
        """Cells that could adopt in year index ``ti`` if not yet adopted: the instrument open to the state (a
        member of the record, and of the instrument's organization if it has one) and open.

        (1 or R, N, K); add ``adopt_year == NEVER`` for the cells at risk.
        """
        static = self._static_eligible
        if static is not None:
            return static[ti][None]
        t = self.world.years[ti]
        return self.world.open_to[ti][None] & (state.open_year[:, None, :] <= t)

    def logit(self, ti: int, view: PastView) -> np.ndarray:
        """Log-odds from the history before year index ``ti``, broadcastable to (R, N, K)."""
        eta = self.static_logit[ti][None]
        for m in self.dynamic_terms:
            d = m.dynamic(ti, view)
            if d is not None:
                eta = eta + d
        return eta  # (1, N, K) when no term depends on the history: broadcasts

    def layer(self, li: int, ti: int, state: State, eta: np.ndarray, risk: np.ndarray):
        """(idx, risk, eta) of decision layer ``li`` after every gate: the gating rule.

        ``risk`` and ``eta`` are the whole (., N, K) arrays of the year; the
        gates see this year's adoptions of earlier layers.
        """
        idx = self.layers[li]
        gated = self._gated(li)
        if self._single and not gated:
            return slice(None), risk, eta
        r, e = risk[..., idx], eta[..., idx]
        if gated:
            view = PastView(state, int(self.world.years[ti]), self.earlier[li])
            for allowed, term in self._gate_terms(li, ti, view, idx):
                r = r & allowed
                if term is not None:
                    e = e + term
        return idx, r, e

    def _gated(self, li: int) -> bool:
        """Whether some gate can act on decision layer ``li``."""
        return bool(self.layer_gates[li])

    def _gate_terms(self, li: int, ti: int, view: PastView, idx):
        """(allowed, term or None) of each gate acting on layer ``li`` this year (the parameter axes override)."""
        for g in self.layer_gates[li]:
            out = g.gate(ti, view, idx)
            if out is not None:
                yield out

    # The engines' step --------------------------------------------------------------------------
    def begin_year(self, ti: int, state: State) -> None:
        """Let the mechanisms that move the schedule update it."""
        if self.schedulers:
            view = PastView(state, int(self.world.years[ti]))
            for m in self.schedulers:
                m.before_year(ti, view, state)

    def step(self, ti: int, state: State, link=LOGIT, clamp: Clamp | None = None) -> np.ndarray:
        """Advance ``state`` through year index ``ti``; return the (R, N, K) new adoptions.

        ``state`` carries the cells' thresholds and survival products (:meth:`initial_state`).
        """
        t = int(self.world.years[ti])
        self.begin_year(ti, state)
        view = PastView(state, t)
        eta = self.logit(ti, view)
        ay = state.adopt_year
        elig = self.eligible(ti, state)
        notyet = ay == NEVER
        risk = elig & notyet
        new = np.zeros(ay.shape, dtype=bool)
        for li in range(len(self.layers)):
            if li == 0 and not self._gated(0):  # on the whole arrays, masked to the layer's columns: no copies
                idx, r, e = slice(None), (risk if self._single else self._first_eligible(ti, elig) & notyet), eta
            elif li > 0 and not risk[..., self.layers[li]].any():
                continue  # nobody at risk in this layer: nothing to decide
            else:
                idx, r, e = self.layer(li, ti, state, eta, risk)
            self._decide(t, ti, view, state, idx, r, e, link, clamp, new)
        return new

    def _decide(self, t, ti, view, state, idx, r, e, link, clamp, new) -> None:
        """The threshold rule (step 5) on the cells ``r`` (., N, k) at risk in one layer; updates ``state``, ``new``.

        Only the cells at risk are computed (a third of the cells in an average
        year of the baseline): their link is evaluated on their log-odds alone
        when the link is elementwise, so every value equals the whole-array
        computation's to the bit.
        """
        ay, K = state.adopt_year, state.adopt_year.shape[-1]  # C-contiguous (initial_state): flat views write through
        whole = isinstance(idx, slice)
        cells = r.reshape(-1).nonzero()[0]  # positions in r's (R, N, k)
        pos = cells if whole else _positions(cells, idx, K)  # the same cells in the state's (R, N, K)
        if getattr(link, "elementwise", False):
            f = link.survival(ti, view, _take(e, r.shape, cells), idx)
        else:
            f = _take(link.survival(ti, view, e, idx), r.shape, cells)
        surv = state.survival.reshape(-1)
        q = surv.take(pos) * f
        hit = state.threshold.reshape(-1).take(pos) >= q
        if clamp is None:
            surv[pos] = q
            adopted = pos.compress(hit)
        else:  # known years adopt as the record says and leave the survival product alone
            grow = t > clamp.known_until.reshape(-1)[pos % ay[0].size]
            surv[pos[grow]] = q[grow]
            adopt = np.zeros(r.shape, dtype=bool)
            adopt.reshape(-1)[cells[hit]] = True
            adopt = clamp.apply(t, adopt, idx, ay)
            if whole and not self._single:
                adopt &= self.first_layer  # the clamp speaks for every column; later layers decide theirs
            found = adopt.reshape(-1).nonzero()[0]
            adopted = found if whole else _positions(found, idx, K)
        ay.reshape(-1)[adopted] = t
        new.reshape(-1)[adopted] = True


def _positions(cells: np.ndarray, idx: np.ndarray, K: int) -> np.ndarray:
    """Flat positions in (R, N, K) of flat positions ``cells`` in (R, N, len(idx)), the columns ``idx``."""
    row, j = np.divmod(cells, len(idx))
    return row * K + idx[j]


def _take(a: np.ndarray, shape: tuple, cells: np.ndarray) -> np.ndarray:
    """``np.broadcast_to(a, shape).reshape(-1)[cells]`` without making the broadcast array."""
    if a.shape == shape:
        return a.reshape(-1).take(cells)
    if a.shape[0] == 1 and a.shape[1:] == shape[1:]:
        return a.reshape(-1).take(cells % a.size)  # one row for every replicate
    return np.broadcast_to(a, shape)[np.unravel_index(cells, shape)]


def _overrides(m, method: str) -> bool:
    return overrides(type(m), method)


def _one_structure(scenarios, what: str) -> None:
    """Refuse scenarios that cannot share ``what``: it needs one world and one list of mechanisms."""
    first = scenarios[0]
    names = [n for n, _ in first.mechanisms]
    for sc in scenarios[1:]:
        if not _same_world(sc.world, first.world) or [n for n, _ in sc.mechanisms] != names:
            raise ConfigError(
                f"scenario '{sc.name}' cannot share {what} with '{first.name}': it needs one world and one list of "
                "mechanisms"
            )


def _same_world(a: World, b: World) -> bool:
    """The same inputs: one object, or built from the same record over the same horizon and extension rules."""
    return a is b or (a.record is b.record and (a.start, a.end) == (b.start, b.end) and a.extension == b.extension)


def _intercept(world: World, hazard) -> np.ndarray:
    offsets = dict(hazard.offsets)
    return np.array([hazard.intercept + offsets.get(k, 0.0) for k in world.instruments])


@dataclass(frozen=True)
class _Part:
    """Mechanism j bound for a group of rows: ``rows`` (None: every row, in order) and its terms' units.

    ``units``: [(coefficients (R_g,) or None, bound instance)]: the term is the sum of coefficient x the unit
    instance's term (None: the instance's own term). ``whole``: the instance with the group's values, linear
    coefficients those of the group's first row: what the hooks other than terms (schedule, order) use.
    """

    rows: np.ndarray | None
    units: list
    whole: object


class Block:
    """Many parameter sets of one scenario on one history, evaluated together: a leading parameter axis.

    The likelihood's finite-difference gradients and Hessians ask for dozens
    of parameter sets that differ in one or two values. A block binds the
    mechanisms as the engines' parameter axis does (:class:`Rows`, the same
    functions): linear coefficients through unit copies, any other parameter
    once per distinct value (the history is shared by every parameter set, so
    values per replicate do not apply here), and adds the terms with a
    leading axis ``B`` (one row per parameter set); a year's Python work is
    paid once per block, not once per set. Row ``b`` equals what
    ``scenarios[b].dynamics`` gives (tested to the bit).

    The scenarios must share the world and the list of mechanisms (those of
    ``with_params`` or calibration variants of one scenario); the history
    (``State``) is shared by every row.

    >>> import harmsim
    >>> sc = harmsim.load_scenario("baseline")
    >>> block = Block([sc, sc.with_params({"hazard.intercept": -5.0})])
    >>> block.static_logit.shape  # (parameter sets, years, states, instruments)
    (2, 19, 11, 6)
    """

    def __init__(self, scenarios):
        self.scenarios = list(scenarios)
        first = self.scenarios[0]
        self.template = dyn = first.dynamics
        self.world = dyn.world
        _one_structure(self.scenarios, "a parameter block (the likelihood's)")
        self.B = len(self.scenarios)
        self.layers, self.earlier, self._single = dyn.layers, dyn.earlier, dyn._single
        self.needs_latent = dyn.needs_latent
        self.needs_shared = dyn.needs_shared
        #: per mechanism: its parts (:class:`_Part`), one per group of parameter sets bound alike
        self.parts = _bind_all(self.world, first, dyn.mechanisms, _varying(self.scenarios), self.B, per_row=False)
        _check_alike(dyn.mechanisms, self.parts)
        self._dynamic = [j for j, m in enumerate(dyn.mechanisms) if _overrides(m, "dynamic")]
        self._gates = _gates_by_layer(dyn.mechanisms, self.parts, self.layers)

    @property
    def reads_adoptions(self) -> np.ndarray | None:
        return self.template.reads_adoptions

    @property
    def latent_columns(self) -> np.ndarray | None:
        return self.template.latent_columns

    @property
    def latent_width(self) -> int:
        return self.template.latent_width

    def eligible(self, ti: int, state: State) -> np.ndarray:
        return self.template.eligible(ti, state)

    @cached_property
    def static_logit(self) -> np.ndarray:
        """(B, T, N, K) intercepts plus every state-independent term, per parameter set."""
        intercepts = np.stack([_intercept(self.world, sc.hazard) for sc in self.scenarios])
        return _static_logit(self.parts, intercepts, self.world.shape)

    def logit(self, ti: int, view: PastView) -> np.ndarray:
        """(B, R or 1, N, K) log-odds from the history before year index ``ti``."""
        eta = self.static_logit[:, ti][:, None]
        for j in self._dynamic:
            for part in self.parts[j]:
                d = _combine([(c, u.dynamic(ti, view)) for c, u in part.units], ndim=4)
                if d is not None:
                    eta = eta + _on_rows(d, part.rows, self.B)
        return eta

    #: the one gating rule (``eta`` (B, R, N, K); results carry the parameter axis where a gate adds one)
    layer = Dynamics.layer

    def _gated(self, li: int) -> bool:
        return bool(self._gates[li])

    def _gate_terms(self, li: int, ti: int, view: PastView, idx):
        for j in self._gates[li]:
            out = _gate_over_parts(self.parts[j], lambda part: view, ti, idx, self.B, ndim=4)
            if out is not None:
                yield out


def _gate_over_parts(parts, view_of, ti: int, idx, P: int, ndim: int):
    """A gate's ``(allowed, term)`` over a parameter axis of P rows bound in ``parts``, or None if it does not act.

    ``view_of(part)``: the history the part's gate reads; ``ndim``: 3 when the rows are the replicates (the
    results carry the row axis), 4 when every row reads one shared history (a parameter axis in front).
    """
    allowed_all = term_all = None
    for part in parts:
        outs = [(c, u.gate(ti, view_of(part), idx)) for c, u in part.units]
        if all(o is None for _, o in outs):
            continue
        allowed = next(o[0] for _, o in outs if o is not None)  # who may adopt: no coefficient in it
        term = _combine([(c, None if o is None else o[1]) for c, o in outs], ndim=ndim)
        if part.rows is None:
            return allowed, term
        cells = np.broadcast_shapes(
            np.shape(allowed)[-(ndim - 1) :], (1,) if term is None else np.shape(term)[-(ndim - 1) :]
        )
        if allowed_all is None:
            allowed_all, term_all = np.ones((P, *cells), dtype=bool), np.zeros((P, *cells))
        allowed_all[part.rows] = allowed
        if term is not None:
            term_all[part.rows] = term
    return None if allowed_all is None else (allowed_all, term_all)


def _on_rows(d: np.ndarray, rows, P: int) -> np.ndarray:
    """A term of some parameter rows, (P_g, ...) or shared (...): as an addition for all P (zero elsewhere)."""
    if rows is None:
        return d
    d = d if d.ndim == 4 else d[None]
    out = np.zeros((P, *d.shape[1:]))
    out[rows] = d
    return out


def _varying(scenarios) -> list[dict]:
    """Per mechanism of ``scenarios`` (variants of one), the parameters that differ, each with every row's value."""
    first = scenarios[0]
    out = []
    for j in range(len(first.mechanisms)):
        sets = [sc.mechanisms[j][1] for sc in scenarios]
        keys = {k for ps in sets[1:] for (k, v), (_, v0) in zip(ps.items, sets[0].items) if v != v0}
        out.append({k: [getattr(ps, k) for ps in sets] for k in sorted(keys)})
    return out


def _bind_all(world, first, mechanisms, varying: list[dict], P: int, per_row: bool) -> list[list]:
    """Every mechanism bound for P parameter rows: per mechanism, its parts (:class:`_Part`).

    ``mechanisms``: ``first``'s bound mechanisms (row 0's values); ``varying[j]``: mechanism j's parameters that
    differ between rows, each with its P values; ``per_row``: carry a mechanism's ``row_params`` as (P,)
    arrays (the rows are the replicates, as in :class:`Rows`), or else once per distinct value.
    """
    out = []
    for j, m in enumerate(mechanisms):
        cols = varying[j]
        if not cols:
            out.append([_Part(None, [(None, m)], m)])
            continue
        ps0, cls = first.mechanisms[j][1], type(m)
        carried = set(cls.linear) | (set(cls.row_params) if per_row else set())
        parts, todo = [], _groups(cols, carried, np.arange(P))
        while todo:
            rows = todo.pop(0)
            try:
                parts.append(_bind(world, cls, ps0, cols, rows, first.transforms, P, per_row))
            except _Regroup as split:  # a mode (e.g. endogenous arrival) makes a linear coefficient non-linear
                todo[:0] = _groups({k: cols[k] for k in split.names}, set(), rows)
        out.append(parts)
    return out


def _bind(world, cls, ps0, cols: dict, rows: np.ndarray, transforms, P: int, per_row: bool):
    """Mechanism ``cls`` bound for ``rows`` (their parameters other than linear and per-row ones agree)."""
    row_params = set(cls.row_params) if per_row else set()

    def varies(k) -> bool:
        return len({_key(cols[k][r]) for r in rows}) > 1

    def bound(values: dict):
        return cls(world, type(ps0)(ps0.group, tuple(values.items())), transforms)

    first = {k: v[rows[0]] for k, v in cols.items()}
    values = {k: first.get(k, v) for k, v in ps0.items}
    linear = bound(values).linear_coefficients()
    split = [k for k in cols if k not in linear and k not in row_params and varies(k)]
    if split:
        raise _Regroup(split)
    values.update({k: _column(cols[k], rows) for k in cols if k not in linear and k in row_params and varies(k)})
    whole = bound(values)
    everyone = None if len(rows) == P else rows
    if not any(k in linear and varies(k) for k in cols):
        return _Part(everyone, [(None, whole)], whole)
    units = []
    for c in linear:
        coef = _column(cols[c], rows).astype(float) if c in cols else np.full(len(rows), float(values[c]))
        if coef.any():
            unit = {k: (1.0 if k == c else 0.0 if k in linear else v) for k, v in values.items()}
            units.append((coef, bound(unit)))
    return _Part(everyone, units, whole)


def _check_alike(mechanisms, parts) -> None:
    """Rows must share what is decided once for all: decision layers and propensity columns."""
    for m, ps in zip(mechanisms, parts):
        for part in ps:
            w = part.whole
            same_order = _same_layers(w.order(), m.order())
            same_latent = w.uses_latent == m.uses_latent and _same_array(w.latent_columns(), m.latent_columns())
            if not (same_order and same_latent):
                raise ConfigError(
                    f"mechanism '{m.name}': rows that differ in its parameters change its decision layers or "
                    "state propensities; run them as separate scenarios"
                )


def _gates_by_layer(mechanisms, parts, layers) -> list[list[int]]:
    """Per decision layer, the mechanisms whose gate can act on it for some row."""
    return [
        [j for j, m in enumerate(mechanisms) if _overrides(m, "gate") and any(p.whole.gates(idx) for p in parts[j])]
        for idx in layers
    ]


def _static_logit(parts, intercepts: np.ndarray, shape) -> np.ndarray:
    """(P, T, N, K): intercepts (P, K) plus every state-independent term, per parameter row."""
    P = len(intercepts)
    T, N, K = shape
    eta = np.broadcast_to(intercepts[:, None, None, :], (P, T, N, K)).copy()
    for ps in parts:
        for part in ps:
            s = _combine([(c, u.static()) for c, u in part.units], ndim=4)
            if s is not None:
                if part.rows is None:
                    eta += s
                else:
                    eta[part.rows] += s  # (rows, T, N, K) or shared by them: broadcasts either way
    return eta


class Rows(Dynamics):
    """One parameter set per replicate: the simulation's parameter axis, for every parameter.

    ``scenarios[r]`` (variants of one scenario) gives replicate r's parameters; row r equals
    ``scenarios[r].dynamics`` to the bit (tested on every shipped scenario). Each mechanism's varying
    parameters are carried the cheapest way its math allows:

    * the intercept and offsets: a (R, K) matrix;
    * a coefficient the mechanism declares *linear* (its terms are coefficient x unit term, the coefficient
      multiplied last): the mechanism bound once per coefficient with that coefficient 1 and the others 0,
      the rows' terms the unit terms times (R, 1, 1) columns of coefficients, summed in the mechanism's order;
    * a parameter the mechanism declares in ``row_params`` (its hooks broadcast an (R,) array of it, e.g. the
      endogenous agreements' thresholds): one binding with the (R,) values;
    * any other (a lag, a switch, a choice): one binding per distinct value, each on its rows.

    So an ABC or a Saltelli design over thresholds runs at the engine's speed, and nothing is refused for
    being non-linear.

    >>> import harmsim, numpy as np
    >>> sc = harmsim.load_scenario("baseline")
    >>> rows = Rows([sc, sc.with_params({"diffusion.strength": 0.0})])
    >>> bool(np.array_equal(rows.static_logit[0], sc.dynamics.static_logit))
    True
    """

    def __init__(self, scenarios):
        scenarios = list(scenarios)
        first = scenarios[0]
        _one_structure(scenarios, "a parameter axis (the engines')")
        intercepts = np.stack([_intercept(first.world, sc.hazard) for sc in scenarios])  # (R, K)
        self._setup(first, intercepts, _varying(scenarios))

    @classmethod
    def from_values(cls, scenario, names, values) -> Rows:
        """Rows from a matrix: ``values[r, j]`` is parameter ``names[j]`` (dotted) of row r; the rest as in
        ``scenario``.

        The same rows as ``Rows([scenario.with_params(dict(zip(names, v))) for v in values])``, without a
        scenario per row (what ABC, sweeps and sensitivity analyses run: thousands of rows). Values are taken
        as given: callers check them against the parameters' ranges.
        """
        values = np.asarray(values, dtype=float)
        names = list(names)
        if values.ndim != 2 or values.shape[1] != len(names):
            raise ConfigError(f"a parameter matrix needs one column per name ({len(names)}), got shape {values.shape}")
        R = len(values)
        mech = [n for n, _ in scenario.mechanisms]
        specs = {}
        for n in names:  # unknown names refused with the valid ones; a matrix of numbers holds numbers only
            specs[n] = parameter_spec(scenario, n)
            if not isinstance(specs[n], (Real, Integer, InstrumentMap)):
                raise ConfigError(f"'{n}' is not a numeric parameter of scenario '{scenario.name}'")
        same = (values == values[:1]).all(axis=0) if R else np.zeros(len(names), dtype=bool)
        if same.any():  # a value shared by every row belongs to the template, as in the rows of scenarios
            scenario = scenario.with_checked_values({n: values[0, j] for j, n in enumerate(names) if same[j]})
        col = {n: values[:, j] for j, n in enumerate(names) if not same[j]}
        hz = scenario.hazard
        offsets = dict(hz.offsets)
        base = col.get("hazard.intercept", np.full(R, float(hz.intercept)))
        fill = {k: np.full(R, float(offsets.get(k, 0.0))) for k in scenario.world.instruments}
        intercepts = np.stack([base + col.get(f"hazard.offsets.{k}", fill[k]) for k in scenario.world.instruments], 1)
        varying = [{} for _ in mech]
        for n, v in col.items():
            group, key, _ = split_name(n)
            if group in mech:
                whole = isinstance(specs[n], Integer)
                varying[mech.index(group)][key] = [int(x) for x in v] if whole else v
        rows = cls.__new__(cls)
        rows._setup(scenario, intercepts, varying)
        return rows

    def _setup(self, first, intercepts: np.ndarray, varying: list[dict]) -> None:
        """Bind ``first``'s mechanisms and, for those whose parameters vary, what carries the rows' values.

        ``varying[j]``: mechanism j's parameters that differ between rows, each with its R values.
        """
        Dynamics.__init__(self, first.world, first, first.transforms)
        self.R = R = len(intercepts)
        self.row_intercepts = intercepts
        #: per mechanism: its parts (:class:`_Part`), one per group of rows bound alike
        self.parts = _bind_all(self.world, first, self.mechanisms, varying, R, per_row=True)
        _check_alike(self.mechanisms, self.parts)
        self._row_dynamic = [j for j, m in enumerate(self.mechanisms) if _overrides(m, "dynamic")]
        self._row_schedulers = [j for j, m in enumerate(self.mechanisms) if _overrides(m, "before_year")]
        self._row_gates = _gates_by_layer(self.mechanisms, self.parts, self.layers)

    @property
    def schedule_moves(self) -> bool:
        return any(part.whole.moves_schedule for parts in self.parts for part in parts)

    def initial_state(self, replicates, clamp=None, latent=None, threshold=None, shared=None) -> State:
        state = Dynamics.initial_state(self, replicates, clamp, latent, threshold, shared)
        movers = [
            j for j, parts in enumerate(self.parts) if len(parts) > 1 and _overrides(parts[0].whole, "initial_schedule")
        ]
        if not movers:
            return state
        w = self.world
        known_until = w.start - 1 if clamp is None else max(w.start - 1, clamp.schedule_until)
        label = np.zeros((self.R, len(movers)), dtype=np.int64)
        for c, j in enumerate(movers):
            for g, part in enumerate(self.parts[j]):
                label[part.rows if part.rows is not None else slice(None), c] = g
        for combo in np.unique(label, axis=0):
            rows = np.flatnonzero((label == combo).all(axis=1))
            arrival = np.where(w.agreement_year <= w.end, w.agreement_year, NEVER).astype(YEAR)
            open_year = w.opens.astype(np.int64).copy()
            for j, m in enumerate(self.mechanisms):
                inst = self.parts[j][combo[movers.index(j)]].whole if j in movers else m
                inst.initial_schedule(arrival, open_year, known_until)
            state.arrival[rows] = arrival
            state.open_year[rows] = open_year
        return state

    @cached_property
    def static_logit(self) -> np.ndarray:
        """(R, T, N, K) intercepts plus every state-independent term, per row."""
        return _static_logit(self.parts, self.row_intercepts, self.world.shape)

    def logit(self, ti: int, view: PastView) -> np.ndarray:
        eta, owned = self.static_logit[:, ti], False
        for j in self._row_dynamic:
            for part in self.parts[j]:
                sub = view if part.rows is None else view.rows(part.rows)
                d = _combine([(c, u.dynamic(ti, sub)) for c, u in part.units], ndim=3)
                if d is None:
                    continue
                if part.rows is None:
                    eta, owned = eta + d, True
                else:
                    if not owned:
                        eta, owned = eta.copy(), True
                    eta[part.rows] += d
        return eta

    def begin_year(self, ti: int, state: State) -> None:
        t = int(self.world.years[ti])
        for j in self._row_schedulers:
            for part in self.parts[j]:
                if part.rows is None:
                    part.whole.before_year(ti, PastView(state, t), state)
                    continue
                sub = state.rows(part.rows)
                part.whole.before_year(ti, PastView(sub, t), sub)
                state.arrival[part.rows] = sub.arrival
                state.open_year[part.rows] = sub.open_year

    def _gated(self, li: int) -> bool:
        return bool(self._row_gates[li])

    def _gate_terms(self, li: int, ti: int, view: PastView, idx):
        for j in self._row_gates[li]:
            out = _gate_over_parts(
                self.parts[j], lambda part: view if part.rows is None else view.rows(part.rows), ti, idx, self.R, ndim=3
            )
            if out is not None:
                yield out


class _Regroup(Exception):
    """Internal: a group's rows must be split further by these parameters (a mode changes what is linear)."""

    def __init__(self, names):
        super().__init__(names)
        self.names = list(names)


def _key(v):
    """A hashable form of a parameter value (instrument maps are tuples; arrays are not values here)."""
    return v if not isinstance(v, np.ndarray) else tuple(v.tolist())


def _column(values, rows: np.ndarray) -> np.ndarray:
    """The rows' values of one parameter as an array (numbers: float or int as given)."""
    return np.asarray([values[r] for r in rows]) if not isinstance(values, np.ndarray) else values[rows]


def _groups(cols: dict, carried: set, rows: np.ndarray) -> list[np.ndarray]:
    """``rows`` split by the distinct values of the parameters of ``cols`` outside ``carried``, in row order."""
    keys = [k for k in cols if k not in carried]
    if not keys:
        return [rows]
    label: dict = {}
    for r in rows:
        label.setdefault(tuple(_key(cols[k][r]) for k in keys), []).append(r)
    return [np.asarray(v) for v in label.values()]


def _same_layers(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def _same_array(a, b) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and np.array_equal(a, b))


def _combine(parts, ndim: int):
    """Sum of coefficient column x unit term over ``parts`` [(coef (R,) or None, term)], in order; None if none.

    A part without coefficients is the row-0 instance's own term, the same for every row.
    """
    total = None
    for coef, term in parts:
        if term is None:
            continue
        term = np.asarray(term, dtype=float)
        if coef is not None:
            shaped = coef.reshape((-1,) + (1,) * (ndim - 1))
            term = shaped * term
        total = term if total is None else total + term
    return total

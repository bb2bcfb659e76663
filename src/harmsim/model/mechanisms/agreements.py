"""Regional agreements and incremental institutional development.

The study's first finding: ASEAN's declarations (1997, 2004), plans and work
programmes (1999, 2002, 2007) and finally a binding convention (2015) each
built on the consensus of the one before, and each kept the instruments it
covers on the agenda. Each agreement ``a`` that has arrived raises the
salience of the instruments it covers, from ``lag`` years after its arrival:

    term[i, k, t] = sum_a covers[a, k] * beta(a) * persistence ** (t - y_a - lag) * [t >= y_a + lag]
    beta(a) = binding if a is legally binding else nonbinding

so salience accumulates as agreements pile up (``persistence`` = 1) or fades
(< 1).

In a record with regional organizations (the ``world`` panel) an agreement
belongs to one organization and acts on state ``i`` only in the years ``i``
is a member of it (``covered[t, i, a]``; a state in the EU, the Council of
Europe and the OSCE is covered by the agreements of all three), and two more
terms separate what the agreement does from when it comes:

    + sum_a covered[t, i, a] (1 - covers[a, k]) * gamma(a) * persistence ** (t - y_a - lag) * [t >= y_a + lag]
    + lead * sum_a covered[t, i, a] covers[a, k] * [y_a - lead_years <= t < y_a]
    gamma(a) = binding_general if binding else nonbinding_general

``*_general`` is the agreement's effect on instruments it does not call for
(a general rise in salience rather than compliance with what it asks);
``lead`` is the pre-trend placebo: the years *before* an agreement arrives
(at its recorded date, also under endogenous arrival: a lead reads the
record's schedule, an input). A lead clearly different from 0 says that
agreement effects pick up a trend that was already there (the agreement
followed adoptions, not the reverse).

Agreements arrive either at their recorded dates (``arrival =
"observed"``) or endogenously (``"endogenous"``):

* an *anchor* (the 1997 texts) arrives at its recorded date;
* a *follow_up* (plan, work programme) arrives the recorded number of years
  after the agreement it follows;
* a *consensus* agreement arrives in the first year ``t``, at least
  ``min_gap`` years after the agreement it builds on, in which the members'
  compliance with that agreement reached the threshold:

      compliance[t] = mean over (member i, covered open instrument k) of [a[i, k] < t] >= threshold

  with ``threshold_binding`` for a binding agreement and
  ``threshold_nonbinding`` otherwise. An instrument opened by an agreement
  (the ASEAN MLAT by the 2004 Declaration, ACTIP by the 2015 Convention)
  opens when that agreement arrives.

Endogenous arrival needs one region: compliance is measured over the
record's members, so a record with organizations refuses it.

Direction: ``nonbinding > 0`` (``binding > 0``) makes covered instruments
more likely once a non-binding (binding) agreement is in force. With
endogenous arrival, a lower threshold brings agreements earlier.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from harmsim.data.world import NEVER
from harmsim.errors import ConfigError
from harmsim.model.mechanisms.base import Mechanism
from harmsim.model.params import Choice, Integer, Real

ARRIVALS = ("observed", "endogenous")


def salience(arrival: np.ndarray, t, beta: np.ndarray, covers: np.ndarray, lag: int, persistence: float):
    """Summed agreement effect per instrument: arrival (..., M) -> (..., K)."""
    age = t - arrival.astype(np.int64) - lag
    active = (age >= 0) & (arrival != NEVER)
    decay = persistence ** np.where(active, age, 0) if persistence != 1.0 else 1.0
    return (np.where(active, beta * decay, 0.0)) @ covers


def compliance(adopted_before: np.ndarray, member: np.ndarray, open_year: np.ndarray, covers_row, t) -> np.ndarray:
    """Compliance with an agreement at the start of year ``t``, per replicate (R,).

    The share of (member state, instrument covered by the agreement and open
    by ``t``) cells adopted before ``t``. ``adopted_before`` is (R, N, K),
    ``member`` (N,), ``open_year`` (R, K). The one definition: endogenous
    arrival and the incremental-development figure both call it.
    """
    inst = covers_row[None, :] & (open_year <= t)  # (R, K)
    cells = member[None, :, None] & inst[:, None, :]  # (R, N, K)
    n = cells.sum(axis=(1, 2))
    done = (cells & adopted_before).sum(axis=(1, 2))
    return np.divide(done, n, out=np.zeros(n.shape), where=n > 0)


def binding_acting(world, lag: int, end: int) -> list[str]:
    """The binding agreements that take effect inside the window (arrive at least ``lag`` years before ``end``):
    the only evidence a binding effect can be estimated from. On the ASEAN record there is none (the 2015
    Convention acts from 2016), on the world panel several.

    >>> import harmsim
    >>> binding_acting(harmsim.load_scenario("baseline").world, lag=1, end=2015)
    []
    >>> "coe_cets_197" in binding_acting(harmsim.load_scenario("world_baseline").world, lag=1, end=2015)
    True
    """
    return [a for a, y, b in zip(world.agreements, world.agreement_year, world.binding) if b and y + lag <= end]


def _per_row(value) -> np.ndarray:
    """A parameter's value with an axis for the agreements: (1,) for one value, (R, 1) for one per replicate."""
    return np.asarray(value, dtype=float)[..., None]


@lru_cache(maxsize=64)
def _recorded_salience(world, lag: int, persistence: float, lead_years: int) -> np.ndarray:
    """The unit terms of recorded arrivals, one per linear coefficient in :attr:`Agreements.linear`'s order:
    (5, T, 1, K) for a one-region record, (5, T, N, K) for one whose agreements belong to organizations.

    Cached: the term is linear in the coefficients, which calibration varies.
    """
    arr = np.where(world.agreement_year <= world.end, world.agreement_year, NEVER).astype(np.int64)
    age = world.years[:, None] - arr[None, :] - lag  # (T, M)
    active = (age >= 0) & (arr[None, :] != NEVER)
    decay = np.where(active, persistence ** np.where(active, age, 0), 0.0) if persistence != 1.0 else active * 1.0
    ahead = arr[None, :] - world.years[:, None]  # (T, M)
    leading = ((ahead >= 1) & (ahead <= lead_years) & (arr[None, :] != NEVER)) * 1.0
    nb = (~world.binding) * 1.0
    bd = world.binding * 1.0
    covers = world.covers * 1.0
    other = 1.0 - covers
    weights = (decay * nb, decay * bd, decay * nb, decay * bd, leading)  # each (T, M)
    targets = (covers, covers, other, other, covers)  # (M, K): the instruments each unit acts on
    if not len(world.organizations):  # one region: every member is covered by every agreement
        return np.stack([np.stack([row @ c for row in w]) for w, c in zip(weights, targets)])[:, :, None, :]
    cov = world.covered * 1.0  # (T, N, M)
    return np.stack([np.einsum("tnm,tm,mk->tnk", cov, w, c) for w, c in zip(weights, targets)])


class Agreements(Mechanism):
    name = "agreements"
    summary = "regional agreements raise the salience of what they cover; observed or endogenous arrival"
    linear = ("nonbinding", "binding", "nonbinding_general", "binding_general", "lead")
    #: taken as one value per replicate: the thresholds and gap of endogenous arrival, and the effects where that
    #: mode makes them non-linear (the parameter axis runs an ABC over them in one engine call)
    row_params = (
        "nonbinding",
        "binding",
        "nonbinding_general",
        "binding_general",
        "threshold_nonbinding",
        "threshold_binding",
        "min_gap",
    )
    params = {
        "nonbinding": Real(0.3, -10.0, 10.0, "log-odds per non-binding agreement covering the instrument", expected=1),
        "binding": Real(0.3, -10.0, 10.0, "log-odds per binding agreement covering the instrument", expected=1),
        "nonbinding_general": Real(
            0.0, -10.0, 10.0, "log-odds per non-binding agreement in force on an instrument it does not call for"
        ),
        "binding_general": Real(
            0.0, -10.0, 10.0, "log-odds per binding agreement in force on an instrument it does not call for"
        ),
        "lead": Real(0.0, -10.0, 10.0, "log-odds in the lead_years before an agreement calling for the instrument"),
        "lead_years": Integer(2, 1, 10, "years before an agreement that its lead covers"),
        "lag": Integer(1, 0, 10, "years from an agreement's arrival to its first effect"),
        "persistence": Real(1.0, 0.0, 1.0, "yearly factor by which an agreement's effect is kept (1: permanent)"),
        "arrival": Choice("observed", ARRIVALS, "agreements at their recorded dates, or when consensus is reached"),
        "threshold_nonbinding": Real(
            0.15, 0.0, 1.0, "compliance with the previous agreement that brings a non-binding one"
        ),
        "threshold_binding": Real(0.85, 0.0, 1.0, "compliance with the previous agreement that brings a binding one"),
        "min_gap": Integer(1, 1, 50, "fewest years between an agreement and the one that builds on it"),
    }

    def __init__(self, world, p, transforms=None):
        super().__init__(world, p, transforms)
        self.beta = np.where(world.binding, _per_row(p.binding), _per_row(p.nonbinding))  # (M,) or (R, M)
        self.gamma = np.where(world.binding, _per_row(p.binding_general), _per_row(p.nonbinding_general))
        self.endogenous = p.arrival == "endogenous"
        rec = world.agreement_year
        self.offset = np.where(world.parent >= 0, rec - rec[np.maximum(world.parent, 0)], 0)
        self.threshold = np.where(world.binding, _per_row(p.threshold_binding), _per_row(p.threshold_nonbinding))

    @classmethod
    def check_inputs(cls, world, p):
        if p.arrival != "endogenous":
            return
        if len(world.organizations):
            raise ConfigError(
                f"mechanism 'agreements': arrival = \"endogenous\" measures compliance over one region's members; "
                f"record '{world.record.name}' has regional organizations: use arrival = \"observed\""
            )

    @property
    def moves_schedule(self) -> bool:
        return self.endogenous

    def linear_coefficients(self):
        # endogenous salience sums beta x decay over agreements in one product: linear, but not term by term
        return () if self.endogenous else self.linear

    def initial_schedule(self, arrival, open_year, known_until):
        """Endogenous arrival: only anchors and agreements up to ``known_until`` keep their scheduled year."""
        if not self.endogenous:
            return
        w = self.world
        known = (np.array(w.trigger) == "anchor") | (w.agreement_year <= known_until)
        arrival[~known] = NEVER
        for k, m in enumerate(w.opened_by):
            if m >= 0:
                open_year[k] = arrival[m] if arrival[m] != NEVER else NEVER

    def static(self):
        units = _recorded_salience(self.world, self.p.lag, self.p.persistence, self.p.lead_years)
        if self.endogenous:  # the arrivals are simulated (``dynamic``); the lead reads the recorded schedule
            return self.p.lead * units[4] if self.p.lead else None
        out = None
        for name, unit in zip(self.linear, units):  # in the declared order; a zero coefficient adds nothing
            c = getattr(self.p, name)
            if c or out is None:
                out = c * unit if out is None else out + c * unit
        return out

    def reads_adoptions(self):
        return None  # arrivals only: in the likelihood the schedule is the recorded one

    def dynamic(self, ti, view):
        if not self.endogenous:
            return None
        w = self.world
        arrivals, t = view.arrivals(), w.years[ti]
        s = salience(arrivals, t, self.beta, w.covers, self.p.lag, self.p.persistence)
        if np.any(self.gamma):
            s = s + salience(arrivals, t, self.gamma, ~w.covers, self.p.lag, self.p.persistence)
        return s[:, None, :]

    def before_year(self, ti, view, schedule):
        if not self.endogenous:
            return
        w = self.world
        t = int(w.years[ti])
        arr = schedule.arrival
        adopted = None
        for m, trig in enumerate(w.trigger):
            par = w.parent[m]
            if trig == "anchor" or par < 0:
                continue
            pending = arr[:, m] == NEVER
            if not pending.any():
                continue
            parent_at = arr[:, par].astype(np.int64)
            if trig == "follow_up":
                due = pending & (parent_at != NEVER) & (parent_at + self.offset[m] == t)
            else:
                ready = pending & (parent_at != NEVER) & (t >= parent_at + self.p.min_gap)
                if not ready.any():
                    continue
                if adopted is None:
                    adopted = view.adopted_before()
                share = compliance(adopted, w.member[ti], schedule.open_year, w.covers[par], t)
                due = ready & (share >= self.threshold[..., m])
            if due.any():
                arr[due, m] = t
                for k in np.flatnonzero(w.opened_by == m):
                    schedule.open_year[due, k] = t

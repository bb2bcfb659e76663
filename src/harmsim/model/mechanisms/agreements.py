"""Regional agreements and incremental institutional development.

The study's first finding: ASEAN's declarations (1997, 2004), plans and work
programmes (1999, 2002, 2007) and finally a binding convention (2015) each
built on the consensus of the one before, and each kept the instruments it
covers on the agenda. Each agreement ``a`` that has arrived raises the
salience of the instruments it covers, from ``lag`` years after its arrival:

    term[i, k, t] = sum_a covers[a, k] * beta(a) * persistence ** (t - y_a - lag) * [t >= y_a + lag]
    beta(a) = binding if a is legally binding else nonbinding

so salience accumulates as agreements pile up (``persistence`` = 1) or fades
(< 1). Agreements arrive either at their recorded dates (``arrival =
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

Direction: ``nonbinding > 0`` (``binding > 0``) makes covered instruments
more likely once a non-binding (binding) agreement is in force. With
endogenous arrival, a lower threshold brings agreements earlier.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from harmsim.data.world import NEVER, YEAR
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


def _per_row(value) -> np.ndarray:
    """A parameter's value with an axis for the agreements: (1,) for one value, (R, 1) for one per replicate."""
    return np.asarray(value, dtype=float)[..., None]


@lru_cache(maxsize=64)
def _recorded_salience(world, lag: int, persistence: float) -> np.ndarray:
    """Salience per instrument and year from recorded arrivals, per unit effect of
    non-binding (``[0]``) and binding (``[1]``) agreements: (2, T, K).

    Cached: salience is linear in the two effects, which calibration varies.
    """
    arr = np.where(world.agreement_year <= world.end, world.agreement_year, NEVER).astype(YEAR)
    out = np.zeros((2, len(world.years), len(world.instruments)))
    for kind, binding in enumerate((False, True)):
        unit = (world.binding == binding).astype(float)
        out[kind] = np.stack([salience(arr, t, unit, world.covers, lag, persistence) for t in world.years])
    return out


class Agreements(Mechanism):
    name = "agreements"
    summary = "regional agreements raise the salience of what they cover; observed or endogenous arrival"
    linear = ("nonbinding", "binding")
    #: taken as one value per replicate: the thresholds and gap of endogenous arrival, and the effects where that
    #: mode makes them non-linear (the parameter axis runs an ABC over them in one engine call)
    row_params = ("nonbinding", "binding", "threshold_nonbinding", "threshold_binding", "min_gap")
    params = {
        "nonbinding": Real(0.3, -10.0, 10.0, "log-odds per non-binding agreement covering the instrument", expected=1),
        "binding": Real(0.3, -10.0, 10.0, "log-odds per binding agreement covering the instrument", expected=1),
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
        self.endogenous = p.arrival == "endogenous"
        rec = world.agreement_year
        self.offset = np.where(world.parent >= 0, rec - rec[np.maximum(world.parent, 0)], 0)
        self.threshold = np.where(world.binding, _per_row(p.threshold_binding), _per_row(p.threshold_nonbinding))

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
        if self.endogenous:
            return None
        by_kind = _recorded_salience(self.world, self.p.lag, self.p.persistence)  # (2, T, K)
        return (self.p.nonbinding * by_kind[0] + self.p.binding * by_kind[1])[:, None, :]

    def reads_adoptions(self):
        return None  # arrivals only: in the likelihood the schedule is the recorded one

    def dynamic(self, ti, view):
        if not self.endogenous:
            return None
        w = self.world
        s = salience(view.arrivals(), w.years[ti], self.beta, w.covers, self.p.lag, self.p.persistence)
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

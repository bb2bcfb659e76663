"""How the log-odds move with the free parameters: the tangents of the likelihood's analytic gradient.

A finite-difference gradient evaluates the likelihood once more per free
parameter: on the world panel (19 parameters) a gradient cost ten to fifteen
evaluations, and the fit spent most of its time there. Under the
logit link the record's log-likelihood depends on the parameters only through
each at-risk row's log-odds ``eta``, so

    d ll / d theta_p = sum over rows of (d ll / d eta_row) (d eta_row / d theta_p).

The first factor is what each path of the likelihood already has at hand
(:mod:`harmsim.calibrate.likelihood`): ``1 - h`` where a cell adopts, ``-h``
where it is known not to, weighted by the posterior of the unknown years where
they are summed over or sampled. The second factor is this module's: the
*tangents* of the log-odds, year by year, built from the mechanisms' own
terms, so no mechanism's math is written a second time:

* the intercept and an instrument's offset move ``eta`` by 1 on their
  instruments (``eta = intercept + offset[k] + terms``, the one intercept rule
  of :mod:`harmsim.model.dynamics`);
* a coefficient a mechanism declares *linear* moves it by the mechanism's
  term with that coefficient 1 and its other linear coefficients 0 (the unit
  term the parameter axis binds, :class:`~harmsim.model.dynamics.Block`);
* any other parameter (a weight inside diffusion's peer average) by a central
  difference of that mechanism's terms alone (one-sided at a bound).

The gates' allowed sets and the eligibility do not depend on real parameters,
so the risk sets are constants of the gradient. The organizations' random
intercepts (``sd * weights @ v``) move the log-odds by ``weights @ v`` per unit
of their spread, a tangent that depends on the draw of ``v``: the likelihood
that integrates them adds it (:class:`Tangents` only records which parameter is
the spread). State propensities (``sd * z``) move it by ``z`` at each quadrature
node; the likelihood weighs each node by its posterior for the state.
"""

from __future__ import annotations

import numpy as np

from harmsim.model.dynamics import _overrides
from harmsim.model.mechanisms import PastView
from harmsim.model.space import split_name

#: the relative step of the central difference of a parameter that enters the log-odds non-linearly
NONLINEAR_STEP = 1e-5


class Tangents:
    """d eta / d theta for the ``free`` parameters of ``scenario``, year by year (see the module docstring).

    ``bounds`` (P, 2): each parameter's allowed range (a non-linear parameter at a bound is differenced
    inwards). The static part, (P, T, N, K), is computed once; the terms that read the history (diffusion's
    shares, the prerequisites' bundling in the year a treaty is ratified) are evaluated per year on the
    histories the likelihood reads.

    >>> import harmsim
    >>> sc = harmsim.load_scenario("baseline")
    >>> tan = Tangents(sc, ["hazard.intercept", "diffusion.strength"], [(-20, 10), (-20, 20)])
    >>> tan.static.shape[0], float(tan.static[0].min()), float(tan.static[0].max())
    (2, 1.0, 1.0)
    """

    def __init__(self, scenario, free, bounds):
        dyn = scenario.dynamics
        world = dyn.world
        T, N, K = world.shape
        self.P = P = len(free)
        self.dyn, self.world, self.K = dyn, world, K
        self.static = np.zeros((P, T, N, K))
        self.dynamic: list[tuple[int, list]] = []  # (p, [(coefficient, bound mechanism)])
        self.gates: list[tuple[int, list]] = []
        #: the index of the organization intercepts' spread among ``free`` (None: not free); its tangent
        #: ``weights @ v`` is the integrating likelihood's, per draw of the intercepts ``v``
        self.shared: int | None = None
        group_of = {ps.group: j for j, (_, ps) in enumerate(scenario.mechanisms)}
        for p, name in enumerate(free):
            group, key, instrument = split_name(name)
            if group == "hazard":
                self.static[p] += self._hazard(key, instrument)
                continue
            j = group_of[group]
            m, ps = dyn.mechanisms[j], scenario.mechanisms[j][1]
            if m.uses_shared:
                self.shared = p
                continue
            units = self._units(m, ps, key, bounds[p], scenario.transforms)
            for coef, u in units:
                s = u.static()
                if s is not None:
                    self.static[p] += coef * np.broadcast_to(np.asarray(s, dtype=float), (T, N, K))
            if _overrides(m, "dynamic"):
                self.dynamic.append((p, units))
            if _overrides(m, "gate"):
                self.gates.append((p, units))

    def _hazard(self, key: str, instrument: str | None) -> np.ndarray:
        """(K,) how the intercept of each instrument moves with hazard parameter ``key`` (0 for the pooling's
        settings, which enter the penalty only)."""
        out = np.zeros(self.K)
        if key == "intercept":
            out[:] = 1.0
        elif key == "offsets" and instrument in self.world.instruments:
            out[list(self.world.instruments).index(instrument)] = 1.0
        return out

    def _units(self, m, ps, key: str, bounds, transforms) -> list:
        """[(coefficient, bound instance)] whose weighted terms are the derivative of ``m``'s terms in ``key``."""
        cls = type(m)

        def bound(values: dict):
            items = tuple((k, values.get(k, v)) for k, v in ps.items)
            return cls(self.world, type(ps)(ps.group, items), transforms)

        linear = m.linear_coefficients()
        if key in linear:
            return [(1.0, bound({c: 1.0 if c == key else 0.0 for c in linear}))]
        v = float(getattr(ps, key))
        h = NONLINEAR_STEP * max(1.0, abs(v))
        lo, hi = bounds
        if v - h < lo:
            return [(1.0 / h, bound({key: v + h})), (-1.0 / h, m)]
        if v + h > hi:
            return [(1.0 / h, m), (-1.0 / h, bound({key: v - h}))]
        return [(0.5 / h, bound({key: v + h})), (-0.5 / h, bound({key: v - h}))]

    def jacobian(self, ti: int, state, cols: np.ndarray) -> tuple[np.ndarray, list]:
        """The year's tangents of the instruments ``cols`` (an index array): (static (P, N, kc), [(p, (R or 1,
        N, kc))] of the terms that read the history in ``state``), gates included layer by layer as the
        engines add them (:meth:`~harmsim.model.dynamics.Dynamics.layer`)."""
        t = int(self.world.years[ti])
        static = self.static[:, ti][..., cols]
        terms = []
        if self.dynamic:
            view = PastView(state, t)
            for p, units in self.dynamic:
                d = _weighted([(c, u.dynamic(ti, view)) for c, u in units])
                if d is not None:
                    terms.append((p, _full(d, self.K)[..., cols]))
        if self.gates:
            dyn = self.dyn
            for li, idx in enumerate(dyn.layers):
                if not dyn._gated(li):
                    continue
                keep = np.isin(idx, cols)
                if not keep.any():
                    continue
                view = PastView(state, t, dyn.earlier[li])
                for p, units in self.gates:
                    outs = [(c, u.gate(ti, view, idx)) for c, u in units]
                    d = _weighted([(c, None if o is None else o[1]) for c, o in outs])
                    if d is None:
                        continue
                    d = _as3(d)
                    full = np.zeros((d.shape[0], self.world.shape[1], self.K))
                    full[..., idx] = d
                    terms.append((p, full[..., cols]))
        return static, terms

    def rows(self, jac, G: np.ndarray) -> np.ndarray:
        """(R, P): sum over cells of ``G`` (R, N, kc) or (R, N * kc), d ll / d eta, times the tangents ``jac``."""
        static, terms = jac
        R = G.shape[0]
        G = G.reshape(R, *static.shape[1:])
        out = G.reshape(R, -1) @ static.reshape(self.P, -1).T
        for p, d in terms:
            out[:, p] += (G * d).sum(axis=(1, 2))
        return out

    def at(self, jac, flat: np.ndarray, R: int) -> np.ndarray:
        """(R, n, P): the tangents at the cells ``flat`` (indices over N * kc), per history."""
        static, terms = jac
        out = np.broadcast_to(static.reshape(self.P, -1)[:, flat].T, (R, len(flat), self.P)).copy()
        for p, d in terms:
            out[..., p] += np.broadcast_to(d, (R, *static.shape[1:])).reshape(R, -1)[:, flat]
        return out


def _weighted(parts):
    """Sum of coefficient x term over ``parts``; None if every term is None."""
    total = None
    for c, term in parts:
        if term is None:
            continue
        term = c * np.asarray(term, dtype=float)
        total = term if total is None else total + term
    return total


def _as3(d: np.ndarray) -> np.ndarray:
    """A term broadcastable to (R, N, K) as a 3-d array (a leading axis of 1 where it has none)."""
    return d if d.ndim == 3 else d.reshape((1,) * (3 - d.ndim) + d.shape)


def _full(d: np.ndarray, K: int) -> np.ndarray:
    """A term broadcastable to (R, N, K) with its instrument axis whole (R and N may stay 1)."""
    d = _as3(d)
    return d if d.shape[-1] == K else np.broadcast_to(d, (*d.shape[:-1], K))

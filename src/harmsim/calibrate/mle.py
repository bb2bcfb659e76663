"""Maximum likelihood: the exact event-history likelihood, maximized with scipy.optimize.

Free parameters are real-valued scenario parameters (by default every real
coefficient of the scenario's mechanisms and the hazard intercept and
offsets; see :func:`default_free`). The optimizer climbs with the
likelihood's analytic gradient (:func:`~harmsim.calibrate.likelihood.loglik_gradient`).
Estimates come with standard errors from the observed information (central
differences of that gradient), Wald 95% intervals, and an identifiability
status:

* ``bounded``: finite SE and the Wald 95% interval inside the allowed range
  (curvature at the optimum; identification itself is checked only by
  profiles);
* ``weak``: the interval reaches past a bound of the allowed range;
* ``at bound``: the estimate sits on a bound (the likelihood rises past it);
* ``not identified``: the curvature in its direction is (numerically) zero.

Parameters that cannot move the likelihood of this record at all (e.g. a
binding agreement that takes effect only after the window) are held fixed
and listed with that reason. :func:`with_profiles` adds profile-likelihood
intervals and takes the status from them instead: ``identified`` (the 95%
profile interval is closed on both sides), ``weak`` (closed on one side),
``not identified`` (open on both). Directions in which the log-likelihood is
nearly flat (small Hessian eigenvalues) are logged with the parameters that
load on them, and :meth:`Fit.summary` warns about them.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from harmsim._threads import one_blas_thread
from harmsim.calibrate.fit import Fit
from harmsim.calibrate.likelihood import (
    BEFORE,
    CENSORED,
    INTERVAL,
    MAX_HIDDEN,
    MAX_PATTERNS,
    UNOBSERVED,
    at_risk_years,
    hidden_groups,
    history,
    likelihood_path,
    loglik,
    loglik_gradient,
    loglik_many,
    set_proposal,
    set_shared_proposal,
)
from harmsim.calibrate.pooling import kinds, log_prior
from harmsim.errors import CalibrationError
from harmsim.model.mechanisms import REGISTRY, Mechanism
from harmsim.model.priors import log_density as declared_log_density
from harmsim.model.space import bounds_of, split_name
from harmsim.rng import stream

__all__ = ["default_free", "fit_mle"]

# Held fixed unless asked for: ratios only (weights), or not in the likelihood (thresholds).
_NOT_BY_DEFAULT = {
    "diffusion.weight_all",
    "diffusion.weight_subregion",
    "diffusion.weight_border",
    "agreements.persistence",
    "agreements.threshold_nonbinding",
    "agreements.threshold_binding",
    "trend.drift",  # past the record's last year by definition: forecasts draw it (analysis.predictive)
    "trend.smoothness",  # the spline's declared penalty scale: fitted, it would let the penalty vanish
    "region.level_sd",  # the partial pooling's declared scales: fitted, they would let the penalty vanish
    "region.slope_sd",
}
#: Free by default only on a record with regional organizations, where agreements of both kinds cover some
#: states and not others: in one region they are collinear with the agreement effects and the period.
_ORGANIZATIONS_ONLY = {
    "agreements.nonbinding_general",
    "agreements.binding_general",
    "agreements.lead",
    "diffusion.weight_organization",
}


#: log-likelihood units by which the best two maxima of several starts may differ without a warning
STARTS_TOLERANCE = 0.01


def default_free(scenario, record) -> list[str]:
    """Every real coefficient of the scenario, plus the intercept and identifiable offsets.

    Parameters the scenario lists under ``fixed`` (those that define it, like
    ``agreements.nonbinding = 0`` in ``binding_only``) are left out, and so,
    on a one-region record, are the terms only organizations identify (the
    agreements' general effects and leads, the weight of shared organizations).

    Offsets: one per instrument with an observed adoption in the window, except
    the first such instrument (the reference, absorbed by the intercept); with
    pooling by kind (:mod:`~harmsim.calibrate.pooling`), also one per
    instrument without events whose kind has an instrument with events.

    >>> import harmsim
    >>> sc = harmsim.load_scenario("binding_only")
    >>> free = default_free(sc, sc.record)
    >>> "agreements.binding" in free, "agreements.nonbinding" in free  # the scenario fixes the non-binding effect
    (True, False)
    """
    hist = history(scenario, record)
    inst = [k for k, o in zip(scenario.world.instruments, _with_events(hist)) if o]
    # with pooling, an instrument without events takes its offset from its kind
    pooled = {k for ks in kinds(scenario).values() if set(ks) & set(inst) for k in ks}
    ref = inst[0] if inst else None
    names = ["hazard.intercept"]
    names += [f"hazard.offsets.{k}" for k in scenario.world.instruments if k != ref and (k in inst or k in pooled)]
    one_region = not len(scenario.world.organizations)
    unused = {f"{m}.{n}" for m, p in scenario.mechanisms for n in REGISTRY[m].unused(p)}
    for name, value in scenario.parameters().items():
        group = split_name(name)[0]
        if group == "hazard" or name in _NOT_BY_DEFAULT or name in scenario.fixed or name in unused:
            continue
        if one_region and name in _ORGANIZATIONS_ONLY:
            continue
        if isinstance(value, float):
            names.append(name)
    return names


def _values(free, x) -> dict:
    return {n: float(v) for n, v in zip(free, x)}


@one_blas_thread
def fit_mle(
    scenario,
    record,
    free: list[str] | None = None,
    *,
    cells: np.ndarray | None = None,
    start: dict | None = None,
    uncertainty: bool = True,
    hessian_step: float = 1e-3,
    starts: int = 1,
    progress: bool | None = False,
) -> Fit:
    """Maximize the exact likelihood of ``record`` under ``scenario`` over ``free``.

    ``cells`` (N, K) bool restricts the likelihood to those state-instrument
    histories (the others still act on peers): the basis of leave-one-out
    scores. ``start`` overrides start values; ``uncertainty=False`` skips the
    Hessian (standard errors are then NaN). ``progress``: a bar of the
    optimizer's iterations and the log-likelihood (None: on a terminal only).

    ``starts``: the optimizer runs from the start values and from
    ``starts - 1`` more points, each parameter moved by up to 1 (or a quarter
    of its range, if less) from its start, drawn from the stream
    ``mle-starts`` of seed 0 (the same points every time). The best maximum
    is kept; the log lists every start's, and when the best two differ by
    more than :data:`STARTS_TOLERANCE` the fit warns that the likelihood has
    several maxima or the optimizer stops early (a plateau).

    >>> import harmsim
    >>> sc = harmsim.load_scenario("diffusion_only")
    >>> fit = fit_mle(sc, sc.record)
    >>> round(fit.loglik, 1), fit.n_obs  # n_obs: at-risk state-instrument-years
    (-98.0, 352)
    >>> status = fit.estimates.set_index("parameter")["status"]
    >>> status["diffusion.strength"], status["hazard.offsets.hsu_process"]  # no HSU is dated: nothing bounds it
    ('bounded', 'at bound')
    """
    t0 = time.perf_counter()
    free = list(free) if free is not None else default_free(scenario, record)
    if not free:
        raise CalibrationError("nothing to estimate: the list of free parameters is empty")
    if isinstance(starts, bool) or not isinstance(starts, (int, np.integer)) or starts < 1:
        raise CalibrationError(f"starts must be a positive integer, got {starts!r}")
    known = scenario.parameters()
    for name in free:
        if name not in known and not name.startswith("hazard.offsets."):
            raise CalibrationError(f"unknown parameter '{name}' for scenario '{scenario.name}'")
    hist = history(scenario, record)
    bounds = [bounds_of(scenario, n) for n in free]
    begin = {**known, **(start or {})}
    x0 = np.array([np.clip(begin.get(n, 0.0), lo, hi) for n, (lo, hi) in zip(free, bounds)])

    scenario.with_params(_values(free, x0))  # validates the names once
    # Organization intercepts: their importance proposal is held (the estimate and its analytic gradient are
    # then one smooth function), and re-centred at each maximum reached until the maximum stops moving
    shared = scenario.dynamics.needs_shared
    if shared:
        set_shared_proposal(hist, scenario.with_params(_values(free, x0)), cells)

    # With state propensities and interval-censored years that other cells read, the exact likelihood sums over
    # their year patterns (tens of times the cost of one evaluation): each start first climbs the midpoint
    # approximation, which is fast, and the exact surface from where that stops.
    needs_warm = scenario.dynamics.needs_latent and bool(hidden_groups(scenario, hist, cells))
    warm = [False]  # climbing the midpoint approximation now

    def nll_many(X) -> np.ndarray:
        """Negative log posterior (log-likelihood plus pooling) at each row of X, evaluated as one block."""
        scs = [scenario.with_checked_values(_values(free, x)) for x in X]
        return -loglik_many(scs, hist, cells, midpoint=warm[0]) - np.array([penalty(sc) for sc in scs])

    base = nll_many([x0])[0]
    if not np.isfinite(base):
        raise CalibrationError(f"the record is impossible under scenario '{scenario.name}' at its start values")
    keep = _with_effect(nll_many, base, x0, bounds)
    fixed = {
        n: {"value": float(x0[j]), "reason": "no effect on the likelihood of this record"}
        for j, n in enumerate(free)
        if j not in keep
    }
    free = [free[j] for j in keep]
    bounds = [bounds[j] for j in keep]
    x0 = x0[keep]
    # The gradient is analytic: one pass of the likelihood (two with state propensities) whatever the number
    # of parameters (harmsim.calibrate.gradient), on the midpoint approximation too; each evaluation has one.
    evals = [0]

    def f_and_grad(x):
        evals[0] += 1
        return _nll_and_gradient(scenario, hist, cells, free, bounds, x, midpoint=warm[0])

    path = []
    bar = _bar(progress, f"MLE {scenario.name}", "iteration")
    # An importance-sampled likelihood is known to its Monte Carlo error only: climbing further than a tenth of
    # it buys nothing (the organization intercepts' fit crawled 0.001 per ten iterations for half an hour)
    how = likelihood_path(scenario.with_params(_values(free, x0)), hist, cells)
    gain = max(PLATEAU_GAIN, PLATEAU_SHARE * float(how.get("log-likelihood Monte Carlo s.e.", 0.0)))

    def plateau(intermediate_result):
        # a parameter without curvature drifts towards its bound while the likelihood barely moves: stop there
        path.append(float(intermediate_result.fun))
        bar.update(1)
        bar.set_postfix_str(f"log posterior {-path[-1]:.3f}, {evals[0]:,} evaluations", refresh=False)
        if len(path) > PLATEAU_ITERATIONS and path[-1 - PLATEAU_ITERATIONS] - path[-1] < gain:
            raise StopIteration

    def climb(start):
        return minimize(
            f_and_grad,
            start,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            callback=plateau,
            options={"maxiter": 500, "ftol": 1e-10, "gtol": 1e-6},
        )

    points = _start_points(x0, bounds, starts)
    same = list(range(len(points)))  # the climb whose maximum each start reaches
    if needs_warm:
        # climb the midpoint approximation from every start; draw the sampled paths (if the patterns are too
        # many to sum) at the best of those maxima, where the exact surface's maximum is near; then climb the
        # exact surface once from each distinct approximate maximum
        warm[0] = True
        near = []
        for point in points:
            path.clear()
            near.append(climb(point))
        warm[0] = False
        set_proposal(hist, scenario.with_params(_values(free, min(near, key=lambda r: float(r.fun)).x)))
        distinct, same = [], [0] * len(near)
        for j in sorted(range(len(near)), key=lambda j: float(near[j].fun)):
            twin = next((i for i, k in enumerate(distinct) if abs(float(near[k].fun - near[j].fun)) < 1e-3), None)
            if twin is None:
                distinct.append(j)
                twin = len(distinct) - 1
            same[j] = twin
        points = [near[j].x for j in distinct]
    climbs = []
    for point in points:
        path.clear()
        climbs.append(climb(point))
    results = [climbs[i] for i in same]
    maxima = sorted((-float(r.fun) for r in results), reverse=True)
    res = min(results, key=lambda r: float(r.fun))
    recentred = []
    if shared:
        # The intercepts' proposal (and the sampled paths, if any) re-centred at the maximum reached, where the
        # held estimate becomes the likelihood a user computes at those values, and climbed again. A climb on
        # held draws overshoots: it finds where those draws happen to weigh high, and re-centred there the
        # estimate can be lower. So the best re-centred point is kept, and the loop stops when re-centring
        # no longer improves on it by the plateau's gain.
        best = None
        for _ in range(SHARED_RECENTRINGS + 1):
            _recentre(scenario, free, hist, cells, res.x, how["path"] == "sampled")
            res.fun = float(nll_many([res.x])[0])
            recentred.append(-res.fun)
            if best is not None and -res.fun < -best.fun + gain:
                break
            best = res
            if len(recentred) > SHARED_RECENTRINGS:
                break
            path.clear()
            res = climb(res.x)
        if res is not best:  # back to the best point, the proposal centred there
            res = best
            _recentre(scenario, free, hist, cells, res.x, how["path"] == "sampled")
    elif how["path"] == "sampled":
        # an importance-sampled group: its paths were drawn at the start values; draw them again at the
        # estimate (where the likelihood is) and maximize once more from there
        set_proposal(hist, scenario.with_params(_values(free, res.x)))
        path.clear()
        res = climb(res.x)
    on_plateau = not res.success and len(path) > PLATEAU_ITERATIONS and "StopIteration" in str(res.message)
    message = (
        f"stopped on a plateau: the log-likelihood rose by less than {gain:.3g} over the last "
        f"{PLATEAU_ITERATIONS} iterations"
        + (f" (a tenth of its Monte Carlo s.e. at the start, {gain * 10:.3g})" if gain > PLATEAU_GAIN else "")
        if on_plateau
        else str(res.message)
    )
    x = res.x
    final = scenario.with_params(_values(free, x))
    prior = penalty(final)
    ll = -float(res.fun) - prior  # the record's log-likelihood, without the pooling term and penalties
    if uncertainty:
        bar.set_description(f"MLE {scenario.name}: standard errors")
        H = _hessian_of_gradient(
            lambda z: _nll_and_gradient(scenario, hist, cells, free, bounds, z)[1], x, bounds, hessian_step
        )
        cov, status, se = _uncertainty(H, x, bounds)
    else:
        H = np.full((len(x), len(x)), np.nan)
        cov, status, se = H.copy(), ["not assessed"] * len(x), np.full(len(x), np.nan)
    bar.close()
    lower, upper = x - 1.96 * se, x + 1.96 * se
    est = pd.DataFrame(
        {
            "parameter": free,
            "estimate": x,
            "se": se,
            "lower": lower,
            "upper": upper,
            "bound_lo": [b[0] for b in bounds],
            "bound_hi": [b[1] for b in bounds],
            "status": status,
        }
    )
    n_obs = at_risk_years(final, hist)  # (all cells: the sample the model is judged on)
    log = _fit_log(
        final,
        hist,
        free=free,
        x0=x0,
        ll=ll,
        prior=prior,
        hessian=H,
        hessian_step=hessian_step,
        iterations=int(res.nit),
        message=message,
        converged=bool(res.success or on_plateau),
        evaluations=evals[0],
        gradients=evals[0] + (2 * len(x) if uncertainty else 0),  # the Hessian's: 2 per parameter
        starts=starts,
        maxima=maxima,
        recentred=recentred if shared else None,
        seconds=time.perf_counter() - t0,
    )
    return Fit(
        scenario=scenario.name,
        scenario_digest=scenario.digest,
        model_digest=scenario.model_digest(free),
        record=record.name,
        observed_until=record.end,
        transforms=scenario.transforms.as_dict(),
        method="mle",
        estimates=est,
        loglik=ll,
        n_obs=n_obs,
        covariance=pd.DataFrame(cov, index=free, columns=free),
        fixed=fixed,
        log=log,
    )


def _with_effect(nll_many, base: float, x0: np.ndarray, bounds) -> list[int]:
    """The indices of the parameters that move the negative log posterior: each moved by 0.5 (inside its range)
    from ``x0``, in one block. One that moves neither the record's likelihood nor the penalty is held fixed by
    the fit; one with a declared prior or pooled by kind moves the penalty, so it stays free and its prior
    carries into the covariance."""
    moved = np.repeat(x0[None], len(x0), axis=0)
    for j in range(len(x0)):
        moved[j, j] = x0[j] + 0.5 if x0[j] + 0.5 <= bounds[j][1] else x0[j] - 0.5
    return np.flatnonzero(np.abs(nll_many(moved) - base) >= 1e-9).tolist()


def _start_points(x0: np.ndarray, bounds, starts: int) -> list[np.ndarray]:
    """``x0`` and ``starts - 1`` points, each parameter moved by up to 1 (or a quarter of its range, if less),
    from the stream ``mle-starts`` of seed 0: the same points every time."""
    points = [x0]
    if starts > 1:
        lo_b, hi_b = np.array([b[0] for b in bounds]), np.array([b[1] for b in bounds])
        reach = np.minimum(1.0, (hi_b - lo_b) / 4)
        g = stream(0, "mle-starts")
        points += [np.clip(x0 + g.uniform(-1, 1, len(x0)) * reach, lo_b, hi_b) for _ in range(starts - 1)]
    return points


def _fit_log(
    scenario,
    hist,
    *,
    free: list[str],
    x0: np.ndarray,
    ll: float,
    prior: float,
    hessian: np.ndarray,
    hessian_step: float,
    iterations: int,
    message: str,
    converged: bool,
    evaluations: int,
    gradients: int,
    starts: int,
    maxima: list[float],
    recentred: list[float] | None,
    seconds: float,
) -> dict:
    """The fit's log (``trace.md``): the data, what is maximized and how, the optimizer's diagnostics, the
    approximations, and the pooling, regional, prior and penalty terms at the estimate ``scenario``."""
    region = scenario.mechanism("region")  # one organization's own level and slope, partially pooled
    log = {
        "data": f"{hist.n_cells} state-instrument histories ({int((hist.kind == 1).sum())} dated adoptions, "
        f"{int((hist.kind == 3).sum())} interval-censored, {int((hist.kind == 2).sum())} not adopted by "
        f"{hist.end}), observation window {scenario.start}-{hist.end}",
        "targets": "the exact discrete-time event-history likelihood of every adoption history (all weights 1)"
        + (", plus the pooling of offsets by kind" if kinds(scenario) else "")
        + (", plus the trend spline's smoothness penalty" if _spline(scenario) else "")
        + (", plus the partial pooling of the region's own level and slope" if region is not None else "")
        + (
            ", plus the declared priors (" + ", ".join(f"{p.name} ~ {p.describe()}" for p in scenario.priors) + ")"
            if scenario.priors
            else ""
        ),
        "method": "maximum likelihood: scipy.optimize.minimize (L-BFGS-B within the parameters' allowed ranges), "
        + "the gradient analytic; standard errors from central differences of the gradient (the observed information)",
        "settings": {"free": free, "start": dict(zip(free, map(float, x0))), "hessian_step": hessian_step},
        "diagnostics": {
            "converged": converged,
            "message": message,
            "iterations": iterations,
            "likelihood evaluations": evaluations,
            "analytic gradients": gradients,
            "Hessian eigenvalues": np.round(np.linalg.eigvalsh(hessian), 4).tolist()
            if np.isfinite(hessian).all()
            else "n/a",
            "flat directions": _flat_directions(hessian, free),
            "starts": starts,
            "maxima": [round(m, 4) for m in maxima],
            **(
                {
                    "organization proposal": "held during each climb and re-centred at its maximum "
                    f"{len(recentred)} time(s), the best kept; log posterior at each re-centring: "
                    + ", ".join(f"{v:.4f}" for v in recentred)
                }
                if recentred is not None
                else {}
            ),
        },
        "approximations": [
            *_interval_note(scenario, hist, ll),
            *_unseen_note(scenario, hist),
            "agreements enter at their recorded dates (endogenous arrival is not part of this likelihood)",
        ],
        "seconds": seconds,
    }
    if kinds(scenario):
        log["pooling"] = _pooling_log(scenario, free, hist, prior)
    if region is not None:
        log["region"] = {k: region.as_dict()[k] for k in ("organization", "level_sd", "slope_sd")}
    if scenario.priors:
        log["priors"] = {p.name: p.as_dict() for p in scenario.priors}
    if prior:
        log["penalty"] = prior  # what the fit added to the log-likelihood at its estimate
    if starts > 1 and maxima[0] - maxima[1] > STARTS_TOLERANCE:
        log["diagnostics"]["several maxima"] = (
            f"the best two of {starts} optimizer starts reach log posteriors {maxima[0]:.4f} and {maxima[1]:.4f} "
            f"(apart by more than {STARTS_TOLERANCE}): the likelihood has several maxima, or the optimizer stops "
            "before the top; the best is kept"
        )
    return log


def penalty(scenario) -> float:
    """What a fit adds to the log-likelihood: the pooling of offsets by kind, every mechanism's penalty (the
    trend spline's smoothness, a region's partial pooling) and the scenario's declared priors
    (:mod:`harmsim.model.priors`), at the scenario's values."""
    return (
        log_prior(scenario)
        + sum(REGISTRY[m].log_prior(p) for m, p in scenario.mechanisms)
        + declared_log_density(scenario.priors, scenario)
    )


def _spline(scenario) -> bool:
    return any(m == "trend" and p.basis == "spline" for m, p in scenario.mechanisms)


def _with_events(hist) -> np.ndarray:
    """(K,) bool: instruments with an adoption observed inside the window (dated or within an interval)."""
    seen = (hist.kind != BEFORE) & (hist.kind != UNOBSERVED)
    return (seen & (np.isfinite(hist.year) | np.isfinite(hist.hi))).any(axis=0)


def _pooling_log(scenario, free, hist, prior: float) -> dict:
    """What the pooling did: the kinds, the spread, and the offsets that rest on their kind alone."""
    w = scenario.world
    events = _with_events(hist)
    groups = kinds(scenario)
    alone = [
        k for ks in groups.values() for k in ks if f"hazard.offsets.{k}" in free and not events[w.instruments.index(k)]
    ]
    return {
        "sd": float(scenario.hazard.pool_sd),
        "kinds": groups,
        "log prior": prior,
        "from kind only": alone,
    }


def _unseen_note(scenario, hist) -> list[str]:
    """How the fit read the years the record does not know of cells that other cells' terms read, in words."""
    if all(m.reads_adoptions() is None for m in scenario.dynamics.mechanisms):
        return []
    early = int(((hist.kind == CENSORED) & (hist.seen < hist.end)).sum())
    never = int((hist.kind == UNOBSERVED).sum())
    if not early + never:
        return []
    cells = f"{early} cells known only to a year before {hist.end} and {never} never observed"
    if scenario.unseen == "adopted":
        return [
            f"{cells} are read by the other cells' terms as adopted in the first year they could after what is "
            'known ([inputs] unseen = "adopted"): the upper bound of what those years can hold'
        ]
    return [
        f"{cells} are read by the other cells' terms as not adopted in the years the record does not know: the "
        'lower bound of what those years can hold; [inputs] unseen = "adopted" fits the upper one'
    ]


def _interval_note(scenario, hist, ll: float) -> list[str]:
    """How the fit treated interval-censored adoptions that other cells' terms depend on, and the organizations'
    intercepts, in words."""
    if scenario.dynamics.needs_shared:
        how = likelihood_path(scenario, hist)
        years = (
            f"; interval-censored adoptions that other cells depend on, in groups of {how['groups']}: one path of "
            f"their years drawn with each draw (groups of up to {MAX_HIDDEN} from their exact conditional law)"
            if how["groups"]
            else ""
        )
        return [
            f"the organizations' intercepts integrated out by importance sampling ({how['samples']} quasi-random "
            "Student-t draws around their posterior mode, drawn anew at each parameter set from fixed uniforms)"
            f"{years}: log-likelihood {ll:.3f}, Monte Carlo s.e. {how['log-likelihood Monte Carlo s.e.']:.3f}, "
            f"{how['effective samples']:.0f} effective draws at the estimate"
        ]
    if not (hist.kind == INTERVAL).any():
        return []
    how = likelihood_path(scenario, hist)
    latent = scenario.dynamics.needs_latent
    if how["path"] == "sampled":
        where = (
            "with state propensities, their joint year patterns (more than "
            f"{MAX_PATTERNS:,}) importance-sampled, propensities integrated out per path"
            if latent
            else f"groups of up to {MAX_HIDDEN} summed over exactly, larger ones importance-sampled"
        )
        return [
            f"interval-censored adoptions that other cells depend on, in groups of {how['groups']}: {where} "
            f"({how['samples']} paths drawn at the estimate; log-likelihood {ll:.3f}, Monte Carlo s.e. "
            f"{how['log-likelihood Monte Carlo s.e.']:.3f}, {how['effective samples']:.0f} effective paths)"
        ]
    if latent and how["groups"]:
        return [
            f"none for interval-censored adoptions: with state propensities, the {how['patterns']:,} joint year "
            "patterns of those other cells depend on are summed over exactly, propensities integrated out per pattern"
        ]
    return ["none for interval-censored adoptions: where other cells depend on one, its year is summed over"]


def _nll_and_gradient(scenario, hist, cells, free, bounds, x, midpoint=False) -> tuple[float, np.ndarray]:
    """The negative log posterior at ``x`` and its gradient: the likelihood's analytic
    (:func:`~harmsim.calibrate.likelihood.loglik_gradient`; ``midpoint``: of the midpoint approximation), the
    penalty's by central differences (it reads the parameters alone, no likelihood: microseconds)."""
    sc = scenario.with_checked_values(_values(free, x))
    ll, g = loglik_gradient(sc, hist, free, bounds, cells, midpoint=midpoint)
    pen = penalty(sc)
    if _penalized(scenario):
        for j in range(len(x)):
            h = _GRAD_STEP * max(1.0, abs(x[j]))
            up, down = x.copy(), x.copy()
            up[j] += h
            down[j] -= h
            g[j] += (
                penalty(scenario.with_checked_values(_values(free, up)))
                - penalty(scenario.with_checked_values(_values(free, down)))
            ) / (2 * h)
    return -(ll + pen), -g


def _recentre(scenario, free, hist, cells, x, paths: bool) -> None:
    """Centre the organization intercepts' importance proposal (and, with ``paths``, the sampled paths of the
    unknown years) at the parameters ``x``."""
    at = scenario.with_params(_values(free, x))
    if paths:
        set_proposal(hist, at)
    set_shared_proposal(hist, at, cells)


def _penalized(scenario) -> bool:
    """Whether the fit adds a penalty to this scenario's likelihood (:func:`penalty`)."""
    return (
        bool(kinds(scenario))
        or bool(scenario.priors)
        or any(REGISTRY[m].log_prior.__func__ is not Mechanism.log_prior.__func__ for m, _ in scenario.mechanisms)
    )


def _hessian_of_gradient(grad, x, bounds, h):
    """Hessian of the negative log-likelihood by central differences of its analytic gradient (2P gradients,
    steps kept inside bounds), symmetrized."""
    p = len(x)
    steps, xc = _hessian_steps(x, bounds, h)
    H = np.empty((p, p))
    for j in range(p):
        up, down = xc.copy(), xc.copy()
        up[j] += steps[j]
        down[j] -= steps[j]
        H[:, j] = (grad(up) - grad(down)) / (2 * steps[j])
    return (H + H.T) / 2


def _hessian_steps(x, bounds, h) -> tuple[np.ndarray, np.ndarray]:
    """(steps, centre) of a central-difference Hessian: relative steps of ``h``, at most a quarter of a
    parameter's range, the centre moved inside the bounds by one step."""
    steps = np.array([min(h * max(1.0, abs(v)), (hi - lo) / 4) for v, (lo, hi) in zip(x, bounds)])
    return steps, np.array([np.clip(v, lo + s, hi - s) for v, (lo, hi), s in zip(x, bounds, steps)])


def _bar(progress: bool | None, desc: str, unit: str, total: int | None = None):
    """A progress bar on stderr (``progress`` None: a bar on a terminal, a line every few seconds elsewhere)."""
    from harmsim._progress import bar

    return bar(total, desc, unit, progress)


#: the optimizer stops when the log-likelihood rose by less than PLATEAU_GAIN over PLATEAU_ITERATIONS iterations
#: (likelihood-ratio statistics are then accurate to about twice that)
PLATEAU_GAIN = 1e-4
PLATEAU_ITERATIONS = 20
#: with an importance-sampled likelihood, the plateau's gain is at least this share of its Monte Carlo s.e.
PLATEAU_SHARE = 0.1
#: relative step of the penalty's central differences (the square root of machine epsilon)
_GRAD_STEP = np.sqrt(np.finfo(float).eps)
#: with organization intercepts, at most this many climbs after the first, each from the intercepts' importance
#: proposal re-centred at the last maximum
SHARED_RECENTRINGS = 4


#: a Hessian eigenvalue below this (log-likelihood units per unit parameter squared) marks a nearly flat direction
FLAT = 1e-2


def _flat_directions(H, free) -> list[dict]:
    """Nearly flat directions of the log-likelihood: eigenvalue and the parameters loading on each."""
    if not np.isfinite(H).all():
        return []
    w, V = np.linalg.eigh(H)
    out = []
    for j in np.flatnonzero(w < FLAT):
        loads = np.argsort(-np.abs(V[:, j]))
        names = [free[i] for i in loads if abs(V[i, j]) > 0.3][:4]
        out.append({"eigenvalue": float(w[j]), "parameters": names})
    return out


def _uncertainty(H, x, bounds):
    p = len(x)
    status = ["bounded"] * p
    se = np.full(p, np.nan)
    cov = np.full((p, p), np.nan)
    if np.isfinite(H).all():
        w, V = np.linalg.eigh(H)
        tiny = w <= 1e-8 * max(1.0, np.abs(w).max())
        if not tiny.any():
            cov = V @ np.diag(1 / w) @ V.T
            se = np.sqrt(np.diag(cov))
        else:
            # Directions without curvature: the parameters that load on them are not identified.
            loads = (np.abs(V[:, tiny]) > 0.2).any(axis=1)
            keep = ~loads
            if keep.any():
                sub = H[np.ix_(keep, keep)]
                try:
                    c = np.linalg.inv(sub)
                    if (np.diag(c) > 0).all():
                        cov[np.ix_(keep, keep)] = c
                        se[keep] = np.sqrt(np.diag(c))
                except np.linalg.LinAlgError:
                    pass
            for j in np.flatnonzero(loads):
                status[j] = "not identified"
    for j, ((lo, hi), v) in enumerate(zip(bounds, x)):
        span = hi - lo
        if min(v - lo, hi - v) < 1e-6 * span:
            status[j] = "at bound"
        elif status[j] == "bounded" and (not np.isfinite(se[j]) or v - 1.96 * se[j] < lo or v + 1.96 * se[j] > hi):
            status[j] = "weak" if np.isfinite(se[j]) else "not identified"
    return cov, status, se


def _objective(fit: Fit) -> float:
    """What the fit maximized: the record's log-likelihood plus its penalty (pooling, smoothness, priors)."""
    return fit.loglik + fit.log.get("penalty", fit.log.get("pooling", {}).get("log prior", 0.0))


def profile(scenario, record, fit: Fit, name: str, points: int = 11) -> pd.DataFrame:
    """The profile log-likelihood of one parameter: the others re-maximized at each value.

    The grid spans the estimate +- 3 standard errors within the parameter's
    allowed range, or the whole range (and the estimate) without a standard
    error. Columns: value, loglik.
    """
    est = fit.estimates.set_index("parameter")
    if name not in est.index:
        raise CalibrationError(f"'{name}' is not a free parameter of this fit")
    lo, hi = bounds_of(scenario, name)
    x, se = float(est.loc[name, "estimate"]), float(est.loc[name, "se"])
    if np.isfinite(se) and se > 0:
        grid = np.unique(np.clip(np.linspace(x - 3 * se, x + 3 * se, points), lo, hi))
    else:  # no curvature at the estimate: the profile must look over the whole allowed range
        grid = np.unique(np.append(np.linspace(lo, hi, points), x))
    others = [p for p in est.index if p != name]
    start = fit.parameters()
    rows = []
    for v in grid:
        fixed_sc = scenario.with_checked_values({name: float(v)})
        if others:
            f = fit_mle(fixed_sc, record, others, start=start, uncertainty=False)
            ll = _objective(f)
        else:
            ll = loglik(fixed_sc, history(fixed_sc, record)) + penalty(fixed_sc)
        rows.append({"value": float(v), "loglik": ll})
    return pd.DataFrame(rows)


def profile_interval(table: pd.DataFrame, ll_max: float, level: float = 0.95) -> tuple[float, float]:
    """Where the profile crosses ``ll_max - chi2(1, level) / 2``; NaN on a side it never crosses."""
    from scipy.stats import chi2

    cut = ll_max - chi2.ppf(level, 1) / 2
    v, ll = table["value"].to_numpy(), table["loglik"].to_numpy()
    inside = ll >= cut
    if not inside.any():
        return float("nan"), float("nan")
    i0, i1 = np.flatnonzero(inside)[[0, -1]]

    def cross(a, b):
        return v[a] + (cut - ll[a]) * (v[b] - v[a]) / (ll[b] - ll[a])

    lower = cross(i0 - 1, i0) if i0 > 0 else float("nan")
    upper = cross(i1, i1 + 1) if i1 < len(v) - 1 else float("nan")
    return float(lower), float(upper)


def with_profiles(scenario, record, fit: Fit, points: int = 11) -> Fit:
    """``fit`` with profile-likelihood 95% intervals for every free parameter, and statuses from them.

    A parameter whose profile drops by the chi-square cut on both sides is
    ``identified``; on one side only, ``weak``; on neither, ``not identified``.
    """
    from dataclasses import replace

    t0 = time.perf_counter()
    est = fit.estimates.copy()
    profiles = {}
    for j, name in enumerate(est["parameter"]):
        table = profile(scenario, record, fit, name, points)
        profiles[name] = table.to_dict("list")
        lo, hi = profile_interval(table, _objective(fit))
        est.loc[j, "profile_lower"], est.loc[j, "profile_upper"] = lo, hi
        found = np.isfinite([lo, hi]).sum()
        if est.loc[j, "status"] != "at bound":
            est.loc[j, "status"] = ("not identified", "weak", "identified")[found]
    log = {**fit.log, "profiles": profiles, "seconds": fit.log.get("seconds", 0.0) + time.perf_counter() - t0}
    log["method"] = fit.log.get("method", "") + "; 95% profile-likelihood intervals (others re-maximized)"
    return replace(fit, estimates=est, log=log)

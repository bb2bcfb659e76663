"""Predictive draws: parameter sets from a fit, states' propensities from their posterior, and the runs.

Everything that simulates "what the fitted model predicts" draws here: ``harmsim run --from-fit`` and the
dashboard's fitted band (:func:`predictive_ensemble`), forecasts and counterfactuals
(:func:`parameter_draws`, :func:`latent_posterior_draws`), and the predictive scores of
``compare-mechanisms`` (:func:`predictive_draws`). Replicate ``r`` runs with the ``r``-th parameter set and
the ``r``-th seed spawned from ``seed``, on the engines' parameter axis (:func:`harmsim.analysis.run.run_draws`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from harmsim.analysis.run import run_draws
from harmsim.calibrate.likelihood import latent_posterior
from harmsim.data.observations import BEFORE, DATED, INTERVAL, Observations, observed_until
from harmsim.errors import ConfigError
from harmsim.model.tables import tidy_adoptions, tidy_agreements
from harmsim.output.results import EnsembleResult, provenance
from harmsim.rng import SeedLike, spawn_seeds, stream

__all__ = [
    "FEW_EFFECTIVE",
    "FROM_LIKELIHOOD",
    "PARAMETERS",
    "UNOBSERVED",
    "drawn_provenance",
    "fitted_parameters",
    "latent_posterior_draws",
    "parameter_draws",
    "predictive_draws",
    "predictive_ensemble",
]

#: how an instrument with no adoption in the observation window gets its offset (see :func:`parameter_draws`)
UNOBSERVED = ("exchangeable", "scenario")
#: what a replicate's fitted parameters are: a draw from the fit's normal approximation, the point estimate
#: (a plug-in forecast), or a draw from the fit's likelihood itself, by importance resampling or by Markov chain
#: Monte Carlo (see :func:`fitted_parameters`)
PARAMETERS = ("drawn", "estimate", "posterior", "mcmc")
#: the choices that draw from the fit's likelihood, and so need the data it saw (:func:`fitted_data`)
FROM_LIKELIHOOD = ("posterior", "mcmc")
#: below this effective sample size of the posterior draws, the notes warn that they rest on few distinct
#: parameter sets
FEW_EFFECTIVE = 200
#: statuses of a fitted offset that count as determined by the record
PINNED = ("identified", "bounded", "narrowed")


def _one_of(name: str, value: str, choices: tuple[str, ...]) -> None:
    """Refuse a choice not among ``choices``, naming the argument and the choices."""
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")


def fitted_data(scenario, fit, record=None) -> tuple:
    """The scenario and record ``fit`` saw: ``record`` (default: the scenario's) cut at the fit's last observed
    year, and the scenario reading it. :func:`fitted_parameters` needs them for posterior draws."""
    record = record if record is not None else scenario.record
    if fit is not None and fit.observed_until is not None and fit.observed_until < record.end:
        record = observed_until(record, fit.observed_until)
    return scenario.with_record(record), record


def fitted_parameters(
    fit, n: int, seed: SeedLike, parameters: str = "drawn", fitted_to: tuple | None = None
) -> tuple[pd.DataFrame, str]:
    """``n`` sets of ``fit``'s parameters, one row each, and a note saying which. Every predictive run takes its
    fitted parameters from here.

    - ``"drawn"`` (the default): from the fit's normal approximation (:meth:`~harmsim.calibrate.fit.Fit.draw`).
    - ``"estimate"``: every one the point estimate, a plug-in run.
    - ``"posterior"``: from the fit's likelihood itself, a flat prior over each parameter's range
      (:func:`~harmsim.calibrate.posterior.posterior_draws`), where the normal approximation is poor: weak
      parameters of a small record. ``fitted_to`` is then the scenario and record the fit saw
      (:func:`fitted_data`).
    - ``"mcmc"``: from the same posterior by Markov chain Monte Carlo
      (:func:`~harmsim.calibrate.posterior.mcmc_draws`), where no importance proposal covers it (the frailty
      scenarios); slower, with its convergence in the note.

    >>> import harmsim
    >>> from harmsim.calibrate import calibrate
    >>> fit = calibrate(harmsim.load_scenario("diffusion_only"))
    >>> plug_in, note = fitted_parameters(fit, 3, 0, "estimate")
    >>> bool((plug_in.iloc[0] == pd.Series(fit.parameters())).all()), bool((plug_in.nunique() == 1).all())
    (True, True)
    """
    _one_of("parameters", parameters, PARAMETERS)
    if parameters == "estimate":
        names = list(fit.estimates["parameter"])
        table = pd.DataFrame(np.tile(fit.estimates["estimate"].to_numpy(float), (n, 1)), columns=names)
        return table, (
            f"parameters: the {fit.method.upper()} fit's point estimates for every replicate (plug-in: "
            "the fit's uncertainty left out)"
        )
    if parameters in FROM_LIKELIHOOD:
        from harmsim.calibrate.posterior import PROPOSAL_DF, RHAT_MAX, mcmc_draws, posterior_draws

        if fitted_to is None:
            raise ConfigError(f"parameters={parameters!r} needs the scenario and record the fit saw (fitted_to)")
        sampler = posterior_draws if parameters == "posterior" else mcmc_draws
        table = sampler(fit, *fitted_to, n, seed)
        a = table.attrs
        declared = f"; declared priors: {', '.join(a['priors'])}" if a.get("priors") else ""
        note = (
            f"parameters: one draw per replicate from the {fit.method.upper()} fit's likelihood (a flat prior over "
            f"each parameter's range, times the fit's penalty{declared}), "
        )
        if a.get("sampler") == "mcmc":
            note += (
                f"by {a['chains']} random-walk Metropolis chains of {a['steps']:,} steps after a warmup of "
                f"{a['warmup']:,}: largest split R-hat {a['rhat']:.4f}, effective sample size {a['ess']:,.0f} "
                f"(autocorrelation time {a['tau']:.0f} steps, of {a['slowest']}), {a['distinct']:,} distinct sets "
                f"among {n:,}"
            )
            if not a["converged"]:
                note += (
                    f"; the chains have not converged (R-hat {RHAT_MAX} or more): the draws may still remember "
                    "where the chains started"
                )
        else:
            note += (
                f"resampled from {a['proposals']:,} Student-t({PROPOSAL_DF}) proposals around the estimate: "
                f"effective sample size {a['ess']:,.0f}, {a['distinct']:,} distinct sets among {n:,}"
            )
        if a["ess"] < FEW_EFFECTIVE:
            cure = " (the proposal covers the likelihood poorly: --parameters mcmc)" * (parameters == "posterior")
            note += (
                f"; few effective draws (under {FEW_EFFECTIVE}): the forecast's parameter uncertainty rests on few "
                f"distinct sets{cure}"
            )
        return table, note
    return fit.draw(n, seed), f"parameters: one draw per replicate from the {fit.method.upper()} fit's uncertainty"


def parameter_draws(
    scenario,
    fit,
    n: int,
    seed: SeedLike,
    obs: Observations,
    unobserved: str = "exchangeable",
    parameters: str = "drawn",
    fitted_to: tuple | None = None,
) -> tuple[pd.DataFrame | None, list[str]]:
    """``n`` parameter sets from ``fit`` (None: the scenario's values), and notes on choices made.

    Instruments with no adoption in the observation window get an offset by
    the ``unobserved`` rule (see the module docstring).

    ``parameters="drawn"`` (the default) draws each set from the fit's
    uncertainty (:meth:`~harmsim.calibrate.fit.Fit.draw`), so a forecast
    carries what the record leaves unknown about the parameters.
    ``"estimate"`` gives every set the point estimate: a plug-in forecast,
    whose spread is the simulation's and the states' latent terms' alone.
    It answers two questions the default cannot: how much a forecast's
    score owes to parameter uncertainty, and how much of a backtest's Monte
    Carlo noise comes from the parameter draws, which every cell of a
    replicate shares (docs/forecasting.md). What is not estimated is drawn
    either way: the drift past the record's end from its prior, and the
    offset of an instrument the record has not seen from the spread of the
    others' (each from the point estimates, under ``"estimate"``).
    ``"posterior"`` and ``"mcmc"`` draw each set from the fit's likelihood itself, given
    ``fitted_to``, the scenario and record the fit saw (:func:`fitted_parameters`).

    >>> import harmsim
    >>> from harmsim.calibrate import calibrate
    >>> from harmsim.data.observations import observations
    >>> sc = harmsim.load_scenario("diffusion_only")
    >>> obs = observations(sc.world, sc.record)
    >>> draws, notes = parameter_draws(sc, calibrate(sc), 5, 0, obs)
    >>> draws.shape, notes[0]
    ((5, 8), "parameters: one draw per replicate from the MLE fit's uncertainty")
    >>> parameter_draws(sc, None, 5, 0, obs)[0] is None  # no fit: the scenario's own values
    True
    >>> plug_in, notes = parameter_draws(sc, calibrate(sc), 5, 0, obs, parameters="estimate")
    >>> bool((plug_in.nunique() == 1).all()), notes[0][:44]
    (True, "parameters: the MLE fit's point estimates fo")
    """
    _one_of("unobserved", unobserved, UNOBSERVED)
    _one_of("parameters", parameters, PARAMETERS)  # refused even where there is no fit to apply it to
    if fit is None:
        return None, ["parameters: the scenario's own values for every replicate (no fit: no parameter uncertainty)"]
    draws, note = fitted_parameters(fit, n, seed, parameters, fitted_to)
    notes = [note]
    if draws.attrs.get("held"):
        notes.append(
            "held at their estimates, the record not bounding them (draws inside every range were too rare): "
            + ", ".join(draws.attrs["held"])
            + "; the other parameters drawn given them"
        )
    draws, drift_note = _drift(scenario, draws, seed)
    notes += drift_note
    w = scenario.world
    seen = ((obs.kind == DATED) | (obs.kind == INTERVAL)).any(axis=0)
    missing = [
        k
        for j, k in enumerate(w.instruments)
        if not seen[j] and f"hazard.offsets.{k}" not in draws and not (obs.kind[:, j] == BEFORE).all()
    ]
    if not missing:
        if any(not seen[j] for j in range(len(w.instruments))):
            notes.append(
                "every instrument's offset comes from the fit (those without an observed adoption through pooling "
                "by kind): the rule for unobserved instruments ('exchangeable' or 'scenario') changes nothing here"
            )
        return draws, notes
    if unobserved == "scenario":
        offsets = dict(scenario.hazard.offsets)
        for k in missing:
            notes.append(
                f"offset of '{k}' (no adoption observed): the scenario's hand-set {offsets.get(k, 0.0)}, "
                "without uncertainty"
            )
        return draws, notes
    status = dict(zip(fit.estimates["parameter"], fit.estimates["status"]))
    est = [c for c in draws.columns if c.startswith("hazard.offsets.") and status.get(c) in PINNED]
    left_out = [c for c in draws.columns if c.startswith("hazard.offsets.") and c not in est]
    values = np.column_stack([np.zeros(len(draws)), draws[est].to_numpy(float)]) if est else np.zeros((len(draws), 1))
    mean, sd = values.mean(axis=1), values.std(axis=1, ddof=1) if values.shape[1] > 1 else np.zeros(len(draws))
    if left_out:
        notes.append("offsets left out of the spread because the record does not pin them down: " + ", ".join(left_out))
    g = stream(seed, "unobserved-offsets")
    draws = draws.copy()
    for k in missing:
        draws[f"hazard.offsets.{k}"] = np.clip(g.normal(mean, sd), -20.0, 20.0)
        notes.append(
            f"offset of '{k}' (no adoption observed): drawn per replicate from the spread of "
            f"{values.shape[1]} observed instruments' offsets, the reference's 0 included (mean {mean.mean():.2f}, "
            f"sd {sd.mean():.2f}): exchangeable instruments"
        )
    return draws, notes


def _drift(scenario, draws: pd.DataFrame, seed: SeedLike) -> tuple[pd.DataFrame, list[str]]:
    """With ``trend.beyond = "drift"``: each replicate's drift past the last observed year, from its prior.

    The prior is a normal centred on 0 whose standard deviation is the period trend's slope at that year in the
    replicate's own draw (log-odds per decade): the trend as likely to go on at its last pace as to stop or
    turn. Nothing in the record informs it, so it is drawn, never estimated (docs/forecasting.md).
    """
    values = scenario.parameters()
    if values.get("trend.beyond") != "drift":
        return draws, []
    end = scenario.world.last_observed

    def drawn(name):  # the replicates' values, or the scenario's where the fit does not draw it
        return draws[name].to_numpy(float) if name in draws else np.full(len(draws), float(values[name]))

    trend = scenario.dynamics.mechanism("trend")
    slope = trend.period_slope({n: drawn(n) for n in values if n.startswith("trend.") and isinstance(values[n], float)})
    draws = draws.copy()
    draws["trend.drift"] = np.clip(stream(seed, "trend-drift").normal(0.0, 1.0, len(draws)) * np.abs(slope), -20, 20)
    return draws, [
        f"trend.drift (past {end}): drawn per replicate from a normal centred on 0 with the period trend's slope at "
        f"{end} as its standard deviation (median |slope| {np.median(np.abs(slope)):.2f} log-odds per decade): "
        "the trend as likely to go on as to stop or turn, its uncertainty growing with the horizon"
    ]


def latent_posterior_draws(scenario, record, n: int, seed: SeedLike) -> np.ndarray:
    """(n, N, C) draws of the states' propensities (C per state) from their posterior given ``record``'s history.

    Each state's propensity has a standard-normal prior; given the observed
    history its posterior is proportional to the prior times the likelihood of
    the state's histories (the same quadrature that integrates it out of the
    likelihood, :mod:`harmsim.calibrate.likelihood`), evaluated at the
    scenario's parameters. A late adopter (Thailand) gets a low propensity, an
    early one a high propensity; a state with no observed years keeps the prior.

    >>> import harmsim
    >>> sc = harmsim.load_scenario("heterogeneity")
    >>> z = latent_posterior_draws(sc, sc.record, 200, seed=0)
    >>> z.shape  # (draws, states, propensities per state)
    (200, 11, 1)
    >>> mean = dict(zip(sc.world.states, z.mean(axis=0)[:, 0]))
    >>> bool(mean["PHL"] > 0 > mean["THA"]), bool(abs(mean["TLS"]) < 0.2)  # Timor-Leste: no year observed
    (True, True)
    """
    x, post = latent_posterior(scenario, record)  # (Q,), (Q, N, C)
    cdf = np.cumsum(post, axis=0)
    u = stream(seed, "latent-posterior").random((n, *post.shape[1:]))
    idx = np.minimum((u[:, None] > cdf[None]).sum(axis=1), len(x) - 1)  # (n, N, C)
    return x[idx]


def drawn_provenance(scenario, fit, seeds, draws: pd.DataFrame | None) -> dict:
    """The provenance of runs whose parameters come from ``fit``: ``parameters`` are the fit's point estimates
    (not the scenario file's values), and ``drawn_per_replicate`` names those drawn anew for each replicate.

    >>> import harmsim
    >>> from harmsim.calibrate import calibrate
    >>> sc = harmsim.load_scenario("diffusion_only")
    >>> fit = calibrate(sc, free=["hazard.intercept"])
    >>> prov = drawn_provenance(sc, fit, [1], fit.draw(1, 0))
    >>> prov["parameters"]["hazard.intercept"] == fit.parameters()["hazard.intercept"], prov["drawn_per_replicate"]
    (True, ['hazard.intercept'])
    """
    prov = provenance(fit.apply(scenario) if fit is not None else scenario, seeds, "batch")
    prov["drawn_per_replicate"] = [] if draws is None else sorted(draws.columns)
    a = draws.attrs if draws is not None else {}
    if a.get("sampler") == "importance":  # posterior draws: how well the proposal covered the likelihood
        from harmsim.calibrate.posterior import PROPOSAL_DF

        prov["posterior_draws"] = {
            "sampler": "importance resampling",
            "proposals": int(a["proposals"]),
            "proposal": f"multivariate Student t, {PROPOSAL_DF} degrees of freedom, the fit's covariance as scale",
            "effective_sample_size": round(float(a["ess"]), 1),
            "distinct_sets": int(a["distinct"]),
            "held_at_estimate": list(a.get("held", [])),
        }
    elif a.get("sampler") == "mcmc":  # the chains' convergence
        prov["posterior_draws"] = {
            "sampler": "random-walk Metropolis, proposal adapted in the warmup",
            "chains": int(a["chains"]),
            "warmup": int(a["warmup"]),
            "steps": int(a["steps"]),
            "split_rhat": round(float(a["rhat"]), 4),
            "converged": bool(a["converged"]),
            "autocorrelation_time": round(float(a["tau"]), 1),
            "slowest": a["slowest"],
            "acceptance": round(float(a["acceptance"]), 3),
            "effective_sample_size": round(float(a["ess"]), 1),
            "distinct_sets": int(a["distinct"]),
            "held_at_estimate": list(a.get("held", [])),
        }
    if a.get("priors"):  # the scenario's declared priors, which both samplers' target holds
        prov["posterior_draws"]["declared_priors"] = list(a["priors"])
    return prov


def predictive_draws(scenario, fit, replicates: int, seed: SeedLike, parameters: str = "drawn"):
    """One simulated history per parameter set drawn from the fit (all at its point estimate with
    ``parameters="estimate"``, from its likelihood with ``"posterior"``: :func:`fitted_parameters`).

    Returns adoption years (R, N, K), agreement arrivals (R, M), the draws and the seeds.

    >>> import harmsim
    >>> from harmsim.calibrate import calibrate
    >>> sc = harmsim.load_scenario("diffusion_only")
    >>> adopt, arrival, draws, seeds = predictive_draws(sc, calibrate(sc), 5, seed=0)
    >>> adopt.shape, len(draws), len(seeds)
    ((5, 11, 6), 5, 5)
    """
    fitted_to = fitted_data(scenario, fit) if parameters in FROM_LIKELIHOOD else None
    draws, _ = fitted_parameters(fit, replicates, seed, parameters, fitted_to)
    seeds = spawn_seeds(seed, replicates)
    adopt, arrival = run_draws(scenario, draws, seeds)
    return adopt, arrival, draws, seeds


def predictive_ensemble(scenario, fit, replicates: int = 200, seed: SeedLike = 0, parameters: str = "drawn"):
    """Predictive ensemble of a fit (posterior or sampling distribution), as an EnsembleResult.

    Replicate ``r`` runs with the ``r``-th parameter set of ``fit.draw(replicates, seed)``
    (every one the point estimate with ``parameters="estimate"``: a plug-in ensemble, whose spread is the
    simulation's alone; with ``"posterior"``, drawn from the fit's likelihood, :func:`fitted_parameters`) and
    the ``r``-th seed spawned from ``seed``.

    >>> import harmsim
    >>> from harmsim.calibrate import calibrate
    >>> sc = harmsim.load_scenario("diffusion_only")
    >>> ens = predictive_ensemble(sc, calibrate(sc), replicates=5, seed=0)
    >>> sorted(ens.parameters["source"].unique())  # fixed parameters from the scenario, free ones drawn
    ['fit (mle)', 'scenario']
    """
    fit.apply(scenario)  # refuses a fit of another scenario
    adopt, arrival, draws, seeds = predictive_draws(scenario, fit, replicates, seed, parameters)
    prov = drawn_provenance(scenario, fit, seeds, draws)
    prov["predictive"] = {
        "fit": fit.method,
        "scenario": fit.scenario,
        "parameters": parameters,
        "draws": draws.to_dict("list"),
    }
    return EnsembleResult(
        tidy_adoptions(scenario.world, adopt, seeds),
        tidy_agreements(scenario.world, scenario.dynamics, arrival, seeds),
        tuple(seeds),
        scenario,
        prov,
    )

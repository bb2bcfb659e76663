"""Mechanism comparison: which explanation of the record does the record support?

Every competing scenario is fitted by maximum likelihood to the same record,
next to two non-agent baselines reviewers know: an event-history logit in the
style of Berry and Berry (1990) (the shipped scenario
``event_history_logit``: instrument intercepts, log GDP per capita, share of
members adopted, post-2004) and a Bass (1969) diffusion model per instrument
(hazard ``p_k + q_k * share adopted``). All are scored on the same risk sets:

* log-likelihood, AIC, BIC and their differences from the best model, with
  Akaike weights;
* out-of-sample: leave-one-state-out and leave-one-instrument-out predictive
  log-likelihood (refit without the held-out histories; a held-out instrument
  is predicted at the common intercept);
* calibrated predictions, from the posterior predictive distribution
  (parameters drawn from the fit's uncertainty, one simulated history per
  draw): mean log predictive score and ranked probability score (CRPS) of
  every observed cell's outcome, coverage of the 50% and 90% predictive
  intervals, the error of the predictive median, PIT values for a
  calibration histogram (:mod:`harmsim.scoring.scores`, the same definitions the
  backtests use), and the fit metrics of :func:`harmsim.scoring.compare`.

The verdict is stated from the numbers (Burnham and Anderson 2002: a ΔAIC
below 2 is no evidence, 4-7 some, above 10 strong), with likelihood-ratio
tests of the study's claim where the models are nested.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.stats import chi2

from harmsim._threads import one_blas_thread
from harmsim.analysis.predictive import predictive_draws
from harmsim.calibrate.arrival import arrival_statement, arrival_thresholds
from harmsim.calibrate.likelihood import BEFORE, DATED, INTERVAL, UNOBSERVED, history, loglik, loglik_cells
from harmsim.calibrate.mle import default_free, fit_mle
from harmsim.model.mechanisms.agreements import binding_acting
from harmsim.model.mechanisms.diffusion import peer_share
from harmsim.model.scenario import load_scenario
from harmsim.model.space import split_name
from harmsim.rng import SeedLike, stream
from harmsim.scoring.compare import aligned_years, fit_metrics, score_target, target
from harmsim.scoring.scores import summarize

__all__ = ["COMPETITORS", "Comparison", "compare_mechanisms", "fit_bass"]

COMPETITORS = (
    "baseline",
    "binding_only",
    "no_asean",
    "diffusion_only",
    "push_pull_only",
    "external_only",
    "baseline_trend",
    "no_asean_trend",
    "event_history_logit",
)
#: nested pairs tested by likelihood ratio: (larger, smaller, what the test asks)
NESTED = (
    ("baseline", "binding_only", "do non-binding agreements matter (nonbinding = 0)?"),
    ("baseline", "no_asean", "do regional agreements matter at all?"),
    ("baseline_trend", "no_asean_trend", "do regional agreements matter beyond a common time trend?"),
)


@dataclass(frozen=True, eq=False)
class Comparison:
    """The comparison table, the tests, the verdict in words, and the fits.

    ``table``: one row per model (``model, k, loglik, aic, d_aic,
    aic_weight, bic, d_bic``, the predictive scores and the fit metrics);
    ``tests``: the likelihood-ratio tests of nested pairs; ``verdict``: what
    the record supports and what it cannot test, in words. An example is
    under :func:`compare_mechanisms`.
    """

    table: pd.DataFrame
    tests: pd.DataFrame
    verdict: str
    fits: dict = field(default_factory=dict)
    #: placebo schedules' gains per test (None when not run)
    placebo: pd.DataFrame | None = None
    #: randomized PIT value of every observed cell under each model's predictive distribution
    pit: pd.DataFrame | None = None

    def __str__(self) -> str:
        t = self.table.copy()
        for c in t.columns:
            if t[c].dtype.kind == "f":
                t[c] = t[c].map(lambda x: "" if pd.isna(x) else f"{x:.2f}")
        parts = [t.to_string(index=False)]
        if len(self.tests):
            parts.append(self.tests.to_string(index=False, float_format=lambda x: f"{x:.3g}"))
        parts.append(self.verdict)
        return "\n\n".join(parts)


# The Bass baseline -----------------------------------------------------------------------


class BassLink:
    """The Bass model's hazard, h = p_k + q_k * F_k(t - 1), clipped into (0, 1), as a link.

    ``F_k`` is the share of the other members that adopted ``k`` before the
    year. Used as a link, it shares the agent model's risk sets and gates
    (:meth:`Dynamics.layer <harmsim.model.dynamics.Dynamics.layer>`) in the engine
    and in the likelihood alike.
    """

    #: h reads the peers' adoptions, not a cell's log-odds: the engines evaluate it on whole arrays
    elementwise = False

    def __init__(self, params: np.ndarray, world):
        K = params.shape[0] // 2
        self.p, self.q = params[:K], params[K:]
        self.world = world
        self.ones = np.ones((len(world.states), len(world.states)))
        np.fill_diagonal(self.ones, 0.0)

    def _h(self, ti, view, idx):
        adopted = view.adopted_before()[..., idx].astype(float)
        share = peer_share(self.ones, adopted, self.world.member[ti])
        return np.clip(self.p[idx] + self.q[idx] * share, 1e-9, 1 - 1e-9)

    def reads_adoptions(self):
        return np.eye(len(self.world.instruments), dtype=bool)  # the share of adopters of the same instrument

    def survival(self, ti, view, eta, idx):
        return 1.0 - self._h(ti, view, idx)

    def log_probs(self, ti, view, eta, idx):
        h = self._h(ti, view, idx)
        return np.log(h), np.log1p(-h)


@one_blas_thread
def fit_bass(scenario, record, cells: np.ndarray | None = None, fallback: np.ndarray | None = None) -> dict:
    """Maximum-likelihood Bass model per instrument on ``scenario``'s risk sets.

    Instruments with no observed adoption (in ``cells``) take ``fallback``
    parameters (default: the mean of the others').

    >>> import harmsim
    >>> sc = harmsim.load_scenario("diffusion_only")
    >>> bass = fit_bass(sc, sc.record)
    >>> bass["k"], bass["n_obs"], bass["params"].shape  # p and q for each of six instruments; ACTIP's borrowed
    (10, 352, (12,))
    """
    hist = history(scenario, record)
    mask = np.ones(hist.kind.shape, dtype=bool) if cells is None else cells
    observed = (((hist.kind == DATED) | (hist.kind == INTERVAL)) & mask).any(axis=0)
    K = len(scenario.world.instruments)
    est = np.flatnonzero(observed)

    def full(x):
        p = np.full(K, np.nan)
        q = np.full(K, np.nan)
        p[est], q[est] = x[: len(est)], x[len(est) :]
        fp = np.mean(x[: len(est)]) if fallback is None else fallback[0]
        fq = np.mean(x[len(est) :]) if fallback is None else fallback[1]
        p[~observed], q[~observed] = fp, fq
        return np.concatenate([p, q])

    def nll(x):
        return -loglik(scenario, hist, mask, link=BassLink(full(x), scenario.world))

    x0 = np.concatenate([np.full(len(est), 0.02), np.full(len(est), 0.3)])
    bounds = [(1e-6, 0.9)] * len(est) + [(0.0, 3.0)] * len(est)
    res = minimize(nll, x0, method="L-BFGS-B", bounds=bounds)
    params = full(res.x)
    _, n_obs = loglik_cells(scenario, hist, BassLink(params, scenario.world))
    return {"params": params, "loglik": -float(res.fun), "k": 2 * len(est), "n_obs": n_obs, "hist": hist}


def _simulate_bass(scenario, params, replicates: int, seed: SeedLike) -> np.ndarray:
    """Simulated adoption years (R, N, K) of the Bass model, on the engines' own step and risk sets."""
    w = scenario.world
    dyn = scenario.dynamics
    state = dyn.initial_state(replicates, threshold=stream(seed, "bass").random((replicates, *w.initial.shape)))
    link = BassLink(params, w)
    for ti in range(len(w.years)):
        dyn.step(ti, state, link=link)
    return state.adopt_year


# Scores ----------------------------------------------------------------------------------


def _scores(tg, sims, seed: SeedLike = 0) -> tuple[dict, np.ndarray]:
    """Predictive scores of the observed cells (:mod:`harmsim.scoring.scores`) and the fit metrics; and the PIT values.

    Each observed cell adopted in the window, within an interval of it, or not by its end is scored against
    the simulated distribution of its outcome (a year of the window or "later").
    """
    y = aligned_years(tg, sims)  # (R, N, K), end + 1 = not adopted
    m = fit_metrics(tg, y)
    cells = score_target(tg, y, seed)
    s = summarize(cells)
    out = {k: s[k] for k in ("log_score", "crps", "coverage50", "coverage90")}
    out["median_error"] = s["year_mae"]
    out["year_mae"] = float(m["year_mae_all"].mean())
    out["curve_mad"] = float(m["curve_mad_all"].mean())
    return out, cells["pit"].to_numpy()


def _loo_model(scenario, record, hist, full_fit, groups) -> float:
    """Predictive log-likelihood of each group of cells held out in turn."""
    total = 0.0
    free = list(full_fit.estimates["parameter"])
    start = full_fit.parameters()
    for held in groups:
        keep = ~held
        free_g = [p for p in free if not _offset_of_held(p, scenario, held)]
        start_g = {k: (0.0 if _offset_of_held(k, scenario, held) else v) for k, v in start.items()}
        f = fit_mle(scenario, record, free_g, cells=keep, start=start_g, uncertainty=False)
        sc = scenario.with_checked_values({**start_g, **f.parameters()})
        # the held-out cells' predictive log-likelihood given the rest (exact also with state propensities)
        total += loglik(sc, hist) - loglik(sc, hist, ~held)
    return total


def _model(sc, record, by_state, by_inst, cross_validate, replicates, seed):
    """One model's fit, leave-one-out scores and predictive scores (a task of its own: no shared state)."""
    fit = fit_mle(sc, record, default_free(sc, record))
    hist = history(sc, record)
    row = {"model": sc.name, "k": fit.n_params, "loglik": fit.loglik, "aic": fit.aic, "bic": fit.bic}
    if cross_validate:
        row["loso_ll"] = _loo_model(sc, record, hist, fit, by_state)
        row["loio_ll"] = _loo_model(sc, record, hist, fit, by_inst)
    scores, pit = _scores(target(sc, record), predictive_draws(sc, fit, replicates, seed)[0], seed)
    row.update(scores)
    return row, fit, pit


def _offset_of_held(name: str, scenario, held: np.ndarray) -> bool:
    """Is ``name`` the intercept offset of an instrument whose every history is held out?"""
    if not name.startswith("hazard.offsets."):
        return False
    k = scenario.world.instruments.index(split_name(name)[2])
    return bool(held[:, k].all())


def _loo_bass(scenario, record, groups, fallback) -> float:
    total = 0.0
    for held in groups:
        fb = fallback if held.all(axis=0).any() else None
        f = fit_bass(scenario, record, cells=~held, fallback=fb)
        link = BassLink(f["params"], scenario.world)
        total += loglik(scenario, f["hist"], link=link) - loglik(scenario, f["hist"], ~held, link=link)
    return total


def compare_mechanisms(
    scenarios=COMPETITORS,
    record=None,
    *,
    replicates: int = 200,
    seed: SeedLike = 0,
    cross_validate: bool = True,
    placebos: int = 0,
    workers: int = 1,
    progress=None,
) -> Comparison:
    """Fit and score every scenario and the Bass baseline on one record; see the module docstring.

    ``workers`` > 1 fits the scenarios in that many processes (the results do
    not depend on it: each model's work is seeded by ``seed`` alone).

    ``progress(what)`` is called when each model, the Bass baseline and each placebo test is done.

    ``placebos=N`` adds the placebo test of the agreements
    (:mod:`harmsim.calibrate.placebo`) for each nested pair that asks about
    them, with N placebo schedules (99 gives p-values in steps of 0.01).

    >>> c = compare_mechanisms(("diffusion_only", "binding_only"), replicates=20, cross_validate=False)
    >>> sorted(c.table["model"])  # the Bass diffusion model is always a baseline
    ['bass (per instrument)', 'binding_only', 'diffusion_only']
    >>> c.verdict.startswith("Not testable on this record: whether binding agreements act differently")
    True
    """
    t0 = time.perf_counter()
    scs = [load_scenario(s) if isinstance(s, str) else s for s in scenarios]
    record = record if record is not None else scs[0].record
    rows, fits, pit = [], {}, {}
    structure = scs[0]
    hist0 = history(structure, record)
    N, K = hist0.kind.shape
    observed = ~np.isin(hist0.kind, (BEFORE, UNOBSERVED))
    by_state = [np.eye(N, dtype=bool)[i][:, None] & observed for i in range(N)]
    by_inst = [
        np.eye(K, dtype=bool)[k][None, :] & observed
        for k in range(K)
        if ((hist0.kind[:, k] == DATED) | (hist0.kind[:, k] == INTERVAL)).any()
    ]
    args = (record, by_state, by_inst, cross_validate, replicates, seed)
    if workers > 1 and len(scs) > 1:
        from harmsim._workers import process_pool

        with process_pool(min(workers, len(scs))) as pool:
            futures = [pool.submit(_model, sc, *args) for sc in scs]
            done = []
            for sc, fut in zip(scs, futures):
                done.append(fut.result())
                if progress:
                    progress(sc.name)
    else:
        done = []
        for sc in scs:
            done.append(_model(sc, *args))
            if progress:
                progress(sc.name)
    for sc, (row, fit, p) in zip(scs, done):
        fits[sc.name] = fit
        pit[sc.name] = p
        rows.append(row)
    bass_sc = next(
        (s for s in scs if s.dynamics.mechanism("prerequisites") is not None and not s.dynamics.needs_latent),
        structure,
    )
    bass = fit_bass(bass_sc, record)
    n_obs = bass["n_obs"]
    row = {
        "model": "bass (per instrument)",
        "k": bass["k"],
        "loglik": bass["loglik"],
        "aic": 2 * bass["k"] - 2 * bass["loglik"],
        "bic": bass["k"] * np.log(n_obs) - 2 * bass["loglik"],
    }
    if cross_validate:
        K_ = len(bass_sc.world.instruments)
        fb = (np.nanmean(bass["params"][:K_]), np.nanmean(bass["params"][K_:]))
        row["loso_ll"] = _loo_bass(bass_sc, record, by_state, fb)
        row["loio_ll"] = _loo_bass(bass_sc, record, by_inst, fb)
    sims = _simulate_bass(bass_sc, bass["params"], replicates, seed)
    scores, pit["bass (per instrument)"] = _scores(target(bass_sc, record), sims, seed)
    row.update(scores)
    rows.append(row)
    if progress:
        progress("bass")
    table = pd.DataFrame(rows)
    table, same = _merge_identical(table)
    table["d_aic"] = table["aic"] - table["aic"].min()
    table["d_bic"] = table["bic"] - table["bic"].min()
    wts = np.exp(-0.5 * table["d_aic"])
    table["aic_weight"] = wts / wts.sum()
    table = table.sort_values("aic").reset_index(drop=True)
    cols = ["model", "k", "loglik", "aic", "d_aic", "aic_weight", "bic", "d_bic"]
    cols += [c for c in ("loso_ll", "loio_ll") if c in table]
    cols += ["log_score", "crps", "coverage50", "coverage90", "median_error", "year_mae", "curve_mad"]
    table = table[cols]
    tests = _nested_tests(fits, same)
    notes = _identity_notes(same, fits, scs) + _untestable(scs, record) + _fit_caveats(fits)
    placebo_rows, placebo_words = [], []
    if placebos:
        from harmsim.calibrate.placebo import placebo_test

        by_name = {s.name: s for s in scs}
        refitted: dict[str, pd.DataFrame] = {}  # placebo refits depend on the larger model only
        twin_of = {n: merged for merged, names in same.items() for n in names}
        done = set()
        for big, small, _ in NESTED:
            key = (twin_of.get(big, big), twin_of.get(small, small))
            if key in done:
                continue
            done.add(key)
            if big in fits and small in fits and by_name[big].mechanism("agreements") is not None:
                pt = placebo_test(
                    by_name[big],
                    by_name[small],
                    record,
                    placebos=placebos,
                    seed=seed,
                    fits=(fits[big], fits[small]),
                    refits=refitted.get(big),
                    workers=workers,
                )
                refitted[big] = pt.placebos
                placebo_rows.append(pt.placebos.assign(test=f"{key[0]} vs {key[1]}", real_gain=pt.real_gain))
                placebo_words.append(f"{key[0]} vs {key[1]}: {pt.words()}")
                if progress:
                    progress(f"placebo schedules for {big} vs {small}")
                if len(tests):
                    hit = tests["test"].str.startswith(f"{big} vs")
                    tests.loc[hit, "placebo_p"] = pt.p_value
    verdict = _verdict(table, tests, record, time.perf_counter() - t0)
    placebo = pd.concat(placebo_rows, ignore_index=True) if placebo_rows else None
    pit_table = pd.DataFrame([(m, v) for m, vals in pit.items() for v in vals], columns=["model", "pit"])
    return Comparison(table, tests, " ".join([*notes, verdict, *placebo_words]), fits, placebo, pit_table)


def _merge_identical(table: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Merge models that are one model on this record: the same log-likelihood (to 1e-6) and parameter count.

    Returns the table with one row per distinct model (named ``a = b``) and
    ``{merged name: [models]}``. Akaike weights are then shared by distinct
    models only, and a likelihood-ratio test against either is one test.
    """
    same: dict[str, list[str]] = {}
    keep = []
    used = set()
    for i, r in table.iterrows():
        if i in used:
            continue
        twins = [
            j
            for j, s in table.iterrows()
            if j != i and j not in used and abs(s["loglik"] - r["loglik"]) < 1e-6 and s["k"] == r["k"]
        ]
        row = r.copy()
        if twins:
            names = [r["model"], *[table.loc[j, "model"] for j in twins]]
            row["model"] = " = ".join(names)
            same[row["model"]] = names
            used.update(twins)
        keep.append(row)
    return pd.DataFrame(keep).reset_index(drop=True), same


def _identity_notes(same: dict, fits: dict, scenarios) -> list[str]:
    notes = []
    for merged, names in same.items():
        ll = fits[names[0]].loglik if names[0] in fits else float("nan")
        notes.append(
            f"On this record {' and '.join(names)} are one model: the same maximized log-likelihood ({ll:.2f}) with "
            f"the same number of free parameters, so they are reported once ('{merged}') and share one Akaike weight."
        )
    return notes


def _fit_caveats(fits) -> list[str]:
    """A line per fit that leaves parameters unbounded by the record: its k counts them, and its predictive
    scores draw on them as they are."""
    out = []
    for name, fit in fits.items():
        caveat = fit.caveat(f"The fit of '{name}' leaves")
        if caveat:
            n = int(fit.estimates["status"].isin(["at bound", "not identified"]).sum())
            out.append(f"{caveat}; its k counts {'it' if n == 1 else 'them'} among its free parameters.")
    return out


def _untestable(scenarios, record) -> list[str]:
    """Hypotheses the record cannot test, and why (bindingness when no binding agreement acts in the window)."""
    out = []
    sc = next((s for s in scenarios if s.mechanism("agreements") is not None), None)
    if sc is None:
        return out
    w, p = sc.world, sc.mechanism("agreements")
    end = min(record.end, sc.end)
    if not binding_acting(w, p.lag, end):
        binding = [f"{a} ({y})" for a, y, b in zip(w.agreements, w.agreement_year, w.binding) if b]
        which = (
            f"the only binding agreement{'s' if len(binding) > 1 else ''}, {', '.join(binding)}, "
            if binding
            else ("no binding agreement ")
        )
        out.append(
            f"Not testable on this record: whether binding agreements act differently from non-binding ones, "
            f"because {which}takes effect only after the observation window ({record.start}-{end}, lag {p.lag}); "
            "the binding effect is held at its assumed value and nothing here is evidence about it."
        )
    if len(w.organizations):  # endogenous arrival is one region's rule: no thresholds to speak of
        return out
    # recorded against endogenous arrival: what the arrival dates can show
    endo = sc.with_params({"agreements.arrival": "endogenous"})
    table = arrival_thresholds(endo, record).assign(value=np.nan)
    out.extend(arrival_statement(table))
    return out


def _nested_tests(fits, same: dict | None = None) -> pd.DataFrame:
    """Likelihood-ratio tests of the nested pairs; a test against a model identical to one already tested is
    reported once, with both names."""
    rows: dict[tuple, dict] = {}
    twin_of = {n: merged for merged, names in (same or {}).items() for n in names}
    for big, small, question in NESTED:
        if big not in fits or small not in fits:
            continue
        key = (twin_of.get(big, big), twin_of.get(small, small))
        if key in rows:  # the same test under another name: one test, both questions
            rows[key]["question"] += f" (equally: {question})"
            continue
        lr = 2 * (fits[big].loglik - fits[small].loglik)
        df = max(1, fits[big].n_params - fits[small].n_params)
        rows[key] = {
            "test": f"{key[0]} vs {key[1]}",
            "question": question,
            "LR": lr,
            "df": df,
            "p": float(chi2.sf(max(lr, 0.0), df)),
        }
    return pd.DataFrame(list(rows.values()))


def _strength(d: float) -> str:
    if d < 2:
        return "no real evidence"
    if d < 4:
        return "weak evidence"
    if d < 10:
        return "some to considerable evidence"
    return "strong evidence"


def _verdict(table, tests, record, seconds) -> str:
    best = table.iloc[0]
    second = table.iloc[1] if len(table) > 1 else None
    lines = [
        f"On the record '{record.name}', '{best['model']}' has the lowest AIC (Akaike weight {best['aic_weight']:.2f})."
    ]
    if second is not None:
        lines.append(
            f"Against the runner-up '{second['model']}' (ΔAIC {second['d_aic']:.1f}): "
            f"{_strength(second['d_aic'])} for '{best['model']}'."
        )
    by_bic = table.sort_values("bic").iloc[0]["model"]
    if by_bic != best["model"]:
        lines.append(f"BIC, which penalizes parameters more, prefers '{by_bic}' instead.")
    if "loso_ll" in table:
        lines.append(
            f"Out of sample, '{table.sort_values('loso_ll').iloc[-1]['model']}' predicts held-out states best "
            f"and '{table.sort_values('loio_ll').iloc[-1]['model']}' held-out instruments best."
        )
    for _, t in tests.iterrows():
        answer = "yes" if t["p"] < 0.05 else "not at the 5% level"
        placebo_p = t.get("placebo_p", float("nan"))
        if t["p"] < 0.05 and placebo_p == placebo_p and placebo_p > 0.05:  # (NaN: no placebo test)
            answer = (
                f"yes against the chi-squared reference, but not against placebo schedules (placebo p = "
                f"{placebo_p:.2f}): the gain is what a wrongly dated step in time also gives"
            )
        lines.append(
            f"{t['question'][0].upper()}{t['question'][1:]} Likelihood ratio {t['LR']:.2f} on {t['df']} df, "
            f"p = {t['p']:.3g}: {answer}."
        )
    lines.append(f"({seconds:.0f} s)")
    return " ".join(lines)

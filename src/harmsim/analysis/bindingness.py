"""The test of bindingness: are binding agreements followed by more adoption than non-binding ones?

The study's central contrast. Inside one region it cannot be tested (ASEAN's
only binding agreement acts after 2015); on the world panel, agreements of
both kinds cover different states in different years. The pooled model
(:mod:`~harmsim.calibrate.mle`) gives one ``binding`` and one ``nonbinding``
effect, but its interval treats every state-year as independent evidence,
while the evidence comes in a handful of organizations: five of the six
binding agreements that cover anyone are European. So the test works at the
level where the label varies.

**Units.** An *agreement unit* is one organization's agreements of one kind
(the EU's binding Framework Decision and Directive; the EU's non-binding
Brussels Declaration; ECOWAS' three non-binding texts). A unit counts when it
covers some state in some year of the window on an instrument it calls for
(its *exposure*, in covered state-instrument-years).

**Unit effects.** Each unit's effect is estimated one against the rest: the
record with that unit's agreements labelled binding and every other
agreement non-binding, refitted with the agreement terms (called-for and
general effects, lead) and the intercept free and every other parameter at
the pooled fit's value. The unit's effect is then the fitted ``binding``
coefficient, with its standard error; it does not depend on the labels.

**The contrast.** Binding minus non-binding: a random-effects meta-regression
of the unit effects on the label (DerSimonian-Laird spread between units,
Knapp-Hartung interval on ``U - 2`` degrees of freedom). The spread between
organizations enters the interval: this is the clustering by organization.

**Randomization.** Under the null that the label does not matter, the units
are exchangeable: the binding label is reassigned among them (every
labelling with the same number of binding units when there are at most
:data:`MAX_LABELLINGS`, else ``permutations`` random ones) and the contrast
recomputed. Unit effects do not depend on labels, so no refit is needed:

    p_randomization = #{labellings with |contrast| >= |observed|} / #labellings

**Leads.** ``p_leads`` is the pooled fit's two-sided Wald p of the lead term
(the years before an agreement that calls for the instrument): a clear lead
says agreements follow adoption rather than the reverse.

**Power.** Synthetic panels: the pooled fit's model on the real record (its
states, memberships, agreements, observation pattern: each cell observed as
in the record, its outcome simulated), with the binding effect set to the
non-binding one plus a known difference (0, 0.5, 1.0 log-odds; the general
effects equal). Every unit is refitted on each panel as on the real one, an
organization-level deviation N(0, ``spread``) is added to each unit's
estimate (the linearized equivalent of simulating that deviation, which the
model's two labels cannot), and the contrast's interval is computed.
``power_at_0.5`` and ``power_at_1.0`` are the shares of panels whose
interval excludes 0; ``false_rejection_at_0`` the share at a difference of 0.

**How many units.** The contrast's power is also approximated without
simulation (:func:`contrast_power`): unit effects with variance ``spread**2``
plus the units' own mean squared standard error, the contrast's standard
error from the numbers of binding and non-binding units, and Student's t on
``U - 2`` degrees of freedom, noncentral. It agrees with simulating the
meta-regression within about 0.02 wherever the spread is above 0 (the tests
hold it within 0.04 of 2,000 simulations each of two designs), and
with the synthetic panels at the real ones' number of units (the verdict
sets the two side by side). From it, :func:`units_for_power` gives the
smallest number of units, as precise as these and with the same share
binding, that would detect a difference of 0.5 or 1.0 with power 0.8
(``design.csv``): what the panel is short of, in organizations.

Refits run as tasks (local processes or a Dask cluster), each saved as it
finishes; a killed test resumes from them.

>>> import harmsim
>>> units = agreement_units(harmsim.load_scenario("world_baseline"))
>>> sorted(units.loc[units["binding"], "organization"])
['COE', 'EU', 'SAARC']
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import math
import shutil
import sys
import time
from dataclasses import dataclass, field, replace
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from harmsim.errors import CalibrationError, ConfigError
from harmsim.rng import SeedLike, stream, stream_seed

__all__ = [
    "BindingnessTest",
    "agreement_units",
    "bindingness_test",
    "contrast_power",
    "random_effects_contrast",
    "randomization_p",
    "synthetic_panel",
    "units_for_power",
]

#: the parameters a unit's refit frees; every other parameter stays at the pooled fit's value
UNIT_FREE = (
    "hazard.intercept",
    "agreements.binding",
    "agreements.nonbinding",
    "agreements.binding_general",
    "agreements.nonbinding_general",
    "agreements.lead",
)
#: every labelling is enumerated up to this many (else ``permutations`` are drawn)
MAX_LABELLINGS = 5000
#: known binding-minus-non-binding differences of the power simulations (log-odds)
EFFECTS = (0.0, 0.5, 1.0)
#: the power a design is asked to reach (design.csv), and the most units searched for it
DESIGN_POWER = 0.8
DESIGN_MOST_UNITS = 1000
#: the contrasts, by the coefficient a unit's refit gives for it
CONTRASTS = {
    "binding - non-binding": "agreements.binding",
    "binding - non-binding, general": "agreements.binding_general",
}


# Units ---------------------------------------------------------------------------------------------------------


def agreement_units(scenario) -> pd.DataFrame:
    """One row per agreement unit (organization x binding): its agreements and its exposure in the window.

    ``exposure`` counts covered (state, instrument, year) cells in which an
    agreement of the unit is in force (from ``lag`` years after its date) on
    an instrument it calls for that is open that year; units without
    exposure cannot be estimated and are left out.

    >>> from harmsim.model.scenario import scenario_from_dict
    >>> from harmsim.model.synthetic import synthetic_organizations
    >>> sc = scenario_from_dict({"mechanisms": {"agreements": {"lag": 0}}}, record=synthetic_organizations(4, 4))
    >>> agreement_units(sc)[["unit", "binding", "exposure"]]  # O4's agreement calls for y before it opens
                 unit  binding  exposure
    0      O1 binding     True        44
    1      O2 binding     True        50
    2  O3 non-binding    False        45
    3  O4 non-binding    False       105
    """
    w = scenario.world
    ag = scenario.record.agreements
    if not len(w.organizations):
        raise CalibrationError(
            f"record '{scenario.record.name}' has no regional organizations: bindingness varies only across "
            "organizations (use the world record)"
        )
    lag = int(scenario.mechanism("agreements").lag) if scenario.mechanism("agreements") is not None else 1
    years = w.years[w.years <= scenario.end]
    arr = np.asarray(w.agreement_year, dtype=float)
    active = years[:, None] >= arr[None, :] + lag  # (T', M)
    cov = np.asarray(w.covered[: len(years)], dtype=float)  # (T', N, M)
    is_open = years[:, None] >= np.asarray(w.opens)[None, :]  # (T', K)
    per_agreement = np.einsum("tnm,tm,mk,tk->m", cov, active * 1.0, np.asarray(w.covers, dtype=float), is_open * 1.0)
    exposure = dict(zip(ag["agreement"], per_agreement))
    rows = []
    for (org, binding), g in ag.groupby(["organization", "binding"], sort=True):
        e = int(sum(exposure.get(a, 0.0) for a in g["agreement"]))
        if e > 0:
            kind = "binding" if binding else "non-binding"
            rows.append(
                {
                    "unit": f"{org} {kind}",
                    "organization": org,
                    "binding": bool(binding),
                    "agreements": " ".join(g["agreement"]),
                    "exposure": e,
                }
            )
    units = pd.DataFrame(rows, columns=["unit", "organization", "binding", "agreements", "exposure"])
    if units["binding"].nunique() < 2:
        raise CalibrationError("the record's agreements in force inside the window are all of one kind: no contrast")
    return units


def _one_against_the_rest(record, unit: pd.Series):
    """The record with ``unit``'s agreements labelled binding and every other agreement non-binding."""
    ag = record.agreements.copy()
    ag["binding"] = ag["agreement"].isin(unit["agreements"].split())
    return replace(record, name=f"{record.name}~{unit['unit'].replace(' ', '_')}", agreements=ag)


def _unit_refit(scenario, record, unit: pd.Series, free: list[str], start: dict) -> dict:
    """The unit's effects (called-for and general) and their standard errors, one against the rest."""
    from harmsim.calibrate.mle import fit_mle

    rec = _one_against_the_rest(record, unit)
    try:
        fit = fit_mle(scenario.with_record(rec), rec, free, start=start)
    except CalibrationError as exc:
        return {"unit": unit["unit"], "status": f"not estimated: {exc}"}
    e = fit.estimates.set_index("parameter")
    out = {"unit": unit["unit"], "loglik": fit.loglik, "status": "estimated"}
    for contrast, name in CONTRASTS.items():
        tag = "general" if "general" in contrast else "called"
        ok = name in e.index and np.isfinite(e.loc[name, "se"]) and e.loc[name, "status"] != "not identified"
        out[f"{tag}_estimate"] = float(e.loc[name, "estimate"]) if name in e.index else math.nan
        out[f"{tag}_se"] = float(e.loc[name, "se"]) if ok else math.nan
        out[f"{tag}_status"] = str(e.loc[name, "status"]) if name in e.index else "no effect on the likelihood"
        out[f"{tag}_ci_low"] = out[f"{tag}_estimate"] - 1.96 * out[f"{tag}_se"]
        out[f"{tag}_ci_high"] = out[f"{tag}_estimate"] + 1.96 * out[f"{tag}_se"]
    return out


# The contrast and its randomization distribution -------------------------------------------------------------


def random_effects_contrast(effect, se, binding) -> dict:
    """Binding minus non-binding over units: DerSimonian-Laird spread, Knapp-Hartung interval.

    A meta-regression of ``effect`` on the binding label, each unit weighted by
    ``1 / (se**2 + tau**2)``; ``tau`` (the spread between units beyond their
    own sampling error) by the method of moments. The interval uses Student's
    t on ``U - 2`` degrees of freedom, its variance scaled by the residual
    heterogeneity when that exceeds 1 (Knapp and Hartung 2003).

    >>> c = random_effects_contrast([1.0, 1.2, 0.1, 0.0, 0.2], [0.2] * 5, [True, True, False, False, False])
    >>> round(c["estimate"], 2), c["ci_low"] > 0
    (1.0, True)
    """
    y = np.asarray(effect, dtype=float)
    v = np.asarray(se, dtype=float) ** 2
    lab = np.asarray(binding, dtype=bool)
    keep = np.isfinite(y) & np.isfinite(v) & (v > 0)
    y, v, lab = y[keep], v[keep], lab[keep]
    U = len(y)
    nan = {"estimate": math.nan, "se": math.nan, "ci_low": math.nan, "ci_high": math.nan, "tau": math.nan}
    if U < 3 or lab.all() or not lab.any():
        return {**nan, "units": U, "df": max(U - 2, 0)}
    X = np.column_stack([np.ones(U), lab * 1.0])
    w = 1.0 / v
    XtWX = X.T @ (w[:, None] * X)
    beta = np.linalg.solve(XtWX, X.T @ (w * y))
    Q = float(np.sum(w * (y - X @ beta) ** 2))
    trace = float(np.sum(w) - np.trace(np.linalg.solve(XtWX, X.T @ ((w**2)[:, None] * X))))
    tau2 = max(0.0, (Q - (U - 2)) / trace) if trace > 0 else 0.0
    ws = 1.0 / (v + tau2)
    XtWX = X.T @ (ws[:, None] * X)
    beta = np.linalg.solve(XtWX, X.T @ (ws * y))
    cov = np.linalg.inv(XtWX)
    df = U - 2
    q = float(np.sum(ws * (y - X @ beta) ** 2)) / df if df > 0 else 1.0
    se_c = math.sqrt(cov[1, 1] * max(1.0, q))
    half = stats.t.ppf(0.975, df) * se_c if df > 0 else math.inf
    return {
        "estimate": float(beta[1]),
        "se": se_c,
        "ci_low": float(beta[1] - half),
        "ci_high": float(beta[1] + half),
        "tau": math.sqrt(tau2),
        "non-binding mean": float(beta[0]),
        "units": U,
        "df": df,
    }


def contrast_power(difference: float, units: int, binding: int, unit_variance: float, alpha: float = 0.05) -> float:
    """The approximate power of the contrast's interval (:func:`random_effects_contrast`) to exclude 0.

    Each unit's effect varies around its label's mean with ``unit_variance``
    (the spread between organizations squared plus the unit's own squared
    standard error); the contrast's standard error is then
    ``sqrt(unit_variance * (1 / binding + 1 / (units - binding)))``, and the
    Knapp-Hartung interval's rejection rate is that of a noncentral t on
    ``units - 2`` degrees of freedom with noncentrality ``difference / se``.
    Checked against simulating the meta-regression itself: within about 0.02
    where the spread is above 0; with no spread at all it overstates the power of
    small differences (the interval's variance is never scaled below the
    units' own), e.g. 0.42 against 0.32 at 0.5 with eight units.

    >>> round(contrast_power(1.0, 8, 3, 0.36), 2), round(contrast_power(1.0, 50, 19, 0.36), 2)
    (0.48, 1.0)
    >>> round(contrast_power(0.0, 8, 3, 0.36), 3)  # no difference: the interval's nominal error rate
    0.05
    """
    if units < 3 or not 1 <= binding <= units - 1 or not unit_variance > 0:
        return math.nan
    df = units - 2
    ncp = difference / math.sqrt(unit_variance * (1.0 / binding + 1.0 / (units - binding)))
    crit = stats.t.ppf(1.0 - alpha / 2, df)
    # both tails as upper tails (P(T < -c | ncp) = P(T > c | -ncp)): scipy's lower tail is NaN far out on 1 df
    return float(stats.nct.sf(crit, df, abs(ncp)) + stats.nct.sf(crit, df, -abs(ncp)))


def units_for_power(
    difference: float,
    unit_variance: float,
    binding_share: float,
    power: float = DESIGN_POWER,
    alpha: float = 0.05,
    most: int = DESIGN_MOST_UNITS,
) -> int | None:
    """The smallest number of units whose contrast reaches ``power`` at ``difference`` (:func:`contrast_power`),
    a ``binding_share`` of them binding (rounded, at least one of each kind); None if more than ``most`` would.

    >>> units_for_power(0.5, 0.36, 3 / 8), units_for_power(1.0, 0.36, 3 / 8)
    (50, 15)
    >>> units_for_power(0.05, 0.36, 3 / 8) is None  # a tiny difference: more than 1,000 units
    True
    """
    if not (0 < binding_share < 1 and unit_variance > 0 and difference != 0):
        return None
    for n in range(3, most + 1):
        b = min(max(round(binding_share * n), 1), n - 1)
        if contrast_power(difference, n, b, unit_variance, alpha) >= power:
            return n
    return None


def _estimated(units: pd.DataFrame) -> pd.DataFrame:
    """The units whose refit estimated their effect on what they call for, with a standard error: the evidence."""
    return units[units["status"].eq("estimated") & np.isfinite(units["called_se"].astype(float))]


def _design(units: pd.DataFrame, spread: float, power: pd.DataFrame) -> pd.DataFrame:
    """design.csv: per known difference, the approximate power at this panel's units beside the simulated one,
    and how many units as precise as these, the same share binding, power 0.8 would take."""
    est = _estimated(units)
    n, b = len(est), int(est["binding"].sum())
    variance = spread**2 + float(np.mean(est["called_se"].astype(float) ** 2)) if n else math.nan
    rows = []
    for d in EFFECTS[1:]:
        sim = power.loc[np.isclose(power["effect"], d), "called_rejects"] if len(power) else pd.Series(dtype=float)
        need = units_for_power(d, variance, b / n) if n else None
        rows.append({
            "difference": d, "units": n, "binding_units": b, "spread": spread, "unit_variance": variance,
            "power_approximation": contrast_power(d, n, b, variance) if n else math.nan,
            "power_simulated": float(sim.mean()) if len(sim) else math.nan,
            "target_power": DESIGN_POWER, "units_for_target": need if need is not None else math.nan,
        })  # fmt: skip
    return pd.DataFrame(rows)


def _labellings(n_units: int, n_binding: int, permutations: int, seed: SeedLike) -> tuple[np.ndarray, bool]:
    """(L, U) bool labellings with ``n_binding`` binding units: all of them, or ``permutations`` drawn."""
    total = math.comb(n_units, n_binding)
    if total <= MAX_LABELLINGS:
        out = np.zeros((total, n_units), dtype=bool)
        for j, idx in enumerate(combinations(range(n_units), n_binding)):
            out[j, list(idx)] = True
        return out, True
    g = stream(seed, "bindingness-labels")
    out = np.zeros((permutations, n_units), dtype=bool)
    for j in range(permutations):
        out[j, g.choice(n_units, n_binding, replace=False)] = True
    return out, False


def randomization_p(effect, se, binding, permutations: int = 999, seed: SeedLike = 0) -> tuple[float, pd.DataFrame]:
    """Two-sided randomization p of the contrast, with the labels reassigned among the units.

    Every labelling with as many binding units as recorded (the recorded one
    among them) when there are at most :data:`MAX_LABELLINGS`; otherwise the
    recorded one and ``permutations`` drawn from the stream
    ``bindingness-labels`` of ``seed``. Returns p and the table of labellings.

    >>> p, table = randomization_p([1.0, 1.2, 0.1, 0.0, 0.2], [0.2] * 5, [True, True, False, False, False])
    >>> len(table), round(p, 2)
    (10, 0.1)
    """
    y = np.asarray(effect, dtype=float)
    s = np.asarray(se, dtype=float)
    lab = np.asarray(binding, dtype=bool)
    ok = np.isfinite(y) & np.isfinite(s)
    y, s, lab = y[ok], s[ok], lab[ok]
    observed = random_effects_contrast(y, s, lab)["estimate"]
    if not np.isfinite(observed):
        return math.nan, pd.DataFrame(columns=["labelling", "binding_units", "contrast", "recorded"])
    labels, exhaustive = _labellings(len(y), int(lab.sum()), permutations, seed)
    if not exhaustive:
        labels = np.vstack([lab[None], labels])
    values = np.array([random_effects_contrast(y, s, row)["estimate"] for row in labels])
    recorded = (labels == lab[None]).all(axis=1)
    p = float(np.mean(np.abs(values) >= abs(observed) - 1e-12))
    table = pd.DataFrame(
        {
            "labelling": np.arange(1, len(labels) + 1),
            "binding_units": [int(np.flatnonzero(row).size) for row in labels],
            "contrast": values,
            "recorded": recorded,
        }
    )
    return p, table


# Synthetic panels ----------------------------------------------------------------------------------------------


def synthetic_panel(scenario, record, seed: SeedLike):
    """The record with each observed cell's outcome simulated by ``scenario``, its observation pattern kept.

    A cell adopted before the window (or while not a member) keeps its
    recorded year, an input; an unobserved cell stays unobserved; every other
    cell is observed up to where the record observes it (its "not adopted by"
    year, else the window's end): dated at the simulated year if that comes
    by then, else not adopted by then. So the panel has the real states,
    memberships, agreements and gaps, and no interval-censored years.

    >>> import harmsim
    >>> from harmsim.model.scenario import scenario_from_dict
    >>> region = harmsim.synthetic_organizations(4, 4)
    >>> sc = scenario_from_dict({"hazard": {"intercept": -2.5}}, record=region)
    >>> panel = synthetic_panel(sc, region, seed=11)
    >>> panel.state_ids == region.state_ids, int(panel.adoptions["year"].notna().sum()) > 0
    (True, True)
    """
    from harmsim.analysis.run import run
    from harmsim.calibrate.likelihood import BEFORE, CENSORED, UNOBSERVED, history

    obs = history(scenario, record).obs
    sim = run(scenario.with_record(record), seed=seed).adoptions
    w = scenario.world
    states, insts = list(w.states), list(w.instruments)
    years = (
        sim.assign(year=pd.to_numeric(sim["year"], errors="coerce"))
        .pivot(index="state", columns="instrument", values="year")
        .reindex(index=states, columns=insts)
        .to_numpy(dtype=float)
    )
    real = record.adoptions.set_index(["state", "instrument"])
    rows = []
    for i, s in enumerate(states):
        for k, inst in enumerate(insts):
            kind = obs.kind[i, k]
            if kind == BEFORE:
                r = real.loc[(s, inst)] if (s, inst) in real.index else None
                y = float(r["year"]) if r is not None and pd.notna(r["year"]) else float(obs.year[i, k])
                rows.append((s, inst, y, y, y, math.nan, True))
            elif kind == UNOBSERVED:
                rows.append((s, inst, math.nan, math.nan, math.nan, math.nan, False))
            else:
                horizon = obs.seen[i, k] if kind == CENSORED else obs.end
                y = years[i, k]
                if np.isfinite(y) and y <= horizon:
                    rows.append((s, inst, y, y, y, math.nan, True))
                else:
                    rows.append((s, inst, math.nan, math.nan, math.nan, float(horizon), True))
    ad = pd.DataFrame(rows, columns=["state", "instrument", "year", "year_min", "year_max", "seen_until", "observed"])
    for c in ("year", "year_min", "year_max", "seen_until"):
        ad[c] = ad[c].astype("Int64")
    return replace(record, name=f"{record.name}~synthetic", adoptions=ad)


# Tasks ---------------------------------------------------------------------------------------------------------


def _task(job: dict, spec: dict) -> list[dict]:
    """One task: one unit's refit on the real record, or every unit's refit on one synthetic panel.

    The real record's refits are one task each because they are the slow ones
    (interval-censored years sampled by paths with state propensities: minutes
    each, against about a second on a synthetic panel, which has none), so
    that local workers or a cluster share them.
    """
    from harmsim._workers import job_inputs

    scenario, record, units, free, start = job_inputs(job)
    if spec["what"] == "record":
        return [_unit_refit(scenario, record, units.iloc[spec["unit"]], free, start)]
    truth = scenario.with_params(spec["truth"])
    rec = synthetic_panel(truth, record, spec["seed"])
    return [_unit_refit(scenario, rec, u, free, start) for _, u in units.iterrows()]


class _Tasks:
    """Task results saved one file each in a folder beside the output, so that a killed test resumes."""

    def __init__(self, folder: Path | None, spec: dict, force: bool):
        self.folder = folder
        if folder is None:
            return
        spec_path = folder / "spec.json"
        if folder.exists() and spec_path.exists():
            old = json.loads(spec_path.read_text(encoding="utf-8"))
            if old != spec and not force:
                raise ConfigError(
                    f"{folder} holds the refits of a different bindingness test (scenario, fit, settings, record or "
                    "harmsim version differ); rerun with the same arguments to resume, or pass --force to start afresh"
                )
            if old != spec:
                shutil.rmtree(folder)
        folder.mkdir(parents=True, exist_ok=True)
        if not spec_path.exists():
            spec_path.write_text(json.dumps(spec, indent=2, sort_keys=True), encoding="utf-8")

    def done(self, key: str) -> list[dict] | None:
        if self.folder is None:
            return None
        f = self.folder / f"{key}.json"
        try:
            return json.loads(f.read_text(encoding="utf-8")) if f.exists() else None
        except (OSError, json.JSONDecodeError):
            return None  # a damaged file is recomputed

    def save(self, key: str, value: list[dict]) -> None:
        if self.folder is None:
            return
        tmp = self.folder / f".{key}.json.tmp"
        tmp.write_text(json.dumps(value, default=float), encoding="utf-8")
        tmp.replace(self.folder / f"{key}.json")

    def clear(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


def _run_tasks(job: dict, specs: dict, tasks: _Tasks, workers: int, executor, progress) -> dict:
    results = {k: tasks.done(k) for k in specs}
    todo = [k for k, v in results.items() if v is None]
    n_done = len(specs) - len(todo)
    if progress and n_done:
        progress(f"resumed: {n_done} of {len(specs)} refit tasks saved")
    own = None
    if executor is None and workers > 1 and len(todo) > 1:
        from harmsim._workers import process_pool

        own = executor = process_pool(workers)
    try:
        if executor is None:
            for j, k in enumerate(todo):
                results[k] = _task(job, specs[k])
                tasks.save(k, results[k])
                if progress:
                    progress(f"refits {k} ({n_done + j + 1}/{len(specs)})")
        else:
            futures = {executor.submit(_task, job, specs[k]): k for k in todo}
            for j, fut in enumerate(cf.as_completed(futures)):
                k = futures[fut]
                results[k] = fut.result()
                tasks.save(k, results[k])
                if progress:
                    progress(f"refits {k} ({n_done + j + 1}/{len(specs)})")
    except KeyboardInterrupt:
        if own is not None:
            own.shutdown(wait=False, cancel_futures=True)
            own = None
        where = f" in {tasks.folder}" if tasks.folder else ""
        print(f"harmsim: bindingness test interrupted; finished refits are saved{where}. Run the same command "
              "again to resume.", file=sys.stderr)  # fmt: skip
        raise
    finally:
        if own is not None:
            own.shutdown()
    return results


# The test ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class BindingnessTest:
    """The contrasts (``table``: one row per contrast, the columns of bindingness.csv), the unit effects, the
    randomization distribution, the power simulations, the pooled fit's view, and the words.

    ``save`` writes bindingness.csv, verdict.txt (:meth:`words`), units.csv,
    labellings.csv, power.csv, design.csv (how many units the contrast would
    need: :func:`units_for_power`) and the forest figure; an example is under
    :func:`bindingness_test`.
    """

    table: pd.DataFrame
    units: pd.DataFrame
    labellings: pd.DataFrame
    power: pd.DataFrame
    pooled: dict
    settings: dict
    log: dict = field(default_factory=dict)
    design: pd.DataFrame = field(default_factory=pd.DataFrame)

    def words(self) -> str:
        """The verdict in words: what the data show and what they cannot, whichever way it falls."""
        return _verdict(self)

    def __repr__(self) -> str:
        main = self.table.iloc[0]
        return (
            f"BindingnessTest(binding - non-binding = {main['estimate']:.3f} [{main['ci_low']:.3f}, "
            f"{main['ci_high']:.3f}], p_randomization = {main['p_randomization']:.3f}, units = {int(main['units'])})"
        )

    def figure(self):
        """The forest figure: each unit's effect on what it calls for, and the contrast across units."""
        from matplotlib.figure import Figure

        from harmsim.output.plots import plot_forest

        u = self.units.rename(
            columns={"called_estimate": "estimate", "called_ci_low": "ci_low", "called_ci_high": "ci_high"}
        )
        u = u[np.isfinite(u["ci_low"].astype(float))]
        fig = Figure(figsize=(6.5, 0.35 * len(u) + 1.8), layout="constrained")
        plot_forest(fig.subplots(), u, self.table.iloc[0])
        return fig

    def save(self, folder, force: bool = False) -> list[Path]:
        """Write bindingness.csv, units.csv, labellings.csv, power.csv, design.csv, verdict.txt, forest.png/.pdf
        and provenance.json into a new result ``folder`` (replaced only with ``force``)."""
        from harmsim._output import ResultFolder
        from harmsim._version import build_info
        from harmsim.output.plots import save_figure

        with ResultFolder(folder, "bindingness", force) as rf:
            out = rf.path
            names = ("bindingness.csv", "units.csv", "labellings.csv", "power.csv", "design.csv", "verdict.txt")
            paths = [out / n for n in names]
            self.table.to_csv(paths[0], index=False)
            self.units.to_csv(paths[1], index=False)
            self.labellings.to_csv(paths[2], index=False)
            self.power.to_csv(paths[3], index=False)
            self.design.to_csv(paths[4], index=False)
            paths[5].write_text(self.words(), encoding="utf-8")
            paths += save_figure(self.figure(), out, "forest")
            prov = out / "provenance.json"
            prov.write_text(
                json.dumps({**build_info(), **self.settings, **self.log, "pooled": self.pooled}, indent=2,
                           default=str) + "\n", encoding="utf-8")  # fmt: skip
            paths.append(prov)
            rf.add(paths)
        return rf.final


def bindingness_test(
    scenario,
    record=None,
    *,
    fit=None,
    panels: int = 20,
    spread: float = 0.5,
    permutations: int = 999,
    seed: SeedLike = 0,
    workers: int = 1,
    executor=None,
    cache: Path | str | None = None,
    force: bool = False,
    progress=None,
) -> BindingnessTest:
    """Test binding against non-binding agreements across organizations (module docstring).

    ``fit``: the pooled MLE of ``scenario`` on ``record`` (made when not
    given: the slowest step). ``panels`` synthetic panels per known effect
    for the power columns (0: no power simulations). ``cache``: a folder
    where each refit task is saved as it finishes, and from which a killed
    test resumes. ``executor``: a concurrent.futures executor (a Dask
    client's) instead of ``workers`` local processes.

    On four synthetic organizations whose outcomes are simulated with a
    binding effect of 1.0 and a non-binding one of 0.2 (two power panels
    per effect, to keep the example short):

    >>> from harmsim.model.scenario import scenario_from_dict
    >>> from harmsim.model.synthetic import synthetic_organizations
    >>> raw = {"hazard": {"intercept": -2.5}, "mechanisms": {"agreements": {"binding": 1.0, "nonbinding": 0.2}}}
    >>> region = synthetic_organizations(4, 4)
    >>> panel = synthetic_panel(scenario_from_dict(raw, record=region), region, seed=11)
    >>> test = bindingness_test(scenario_from_dict(raw, record=panel), panel, panels=2, seed=1)
    >>> test.table["contrast"].tolist()
    ['binding - non-binding', 'binding - non-binding, general', 'binding - non-binding (pooled model, not clustered)']
    >>> int(test.table.loc[0, "labellings"])  # two binding units among four: C(4, 2) labellings, so p >= 1/6
    6
    >>> print(test.words().splitlines()[0])
    The test of bindingness
    """
    from harmsim._version import __version__
    from harmsim._workers import job_payload
    from harmsim.calibrate.mle import fit_mle

    t0 = time.perf_counter()
    record = record if record is not None else scenario.record
    scenario = scenario.with_record(record) if record is not scenario.record else scenario
    ag = scenario.mechanism("agreements")
    if ag is None or ag.arrival != "observed":
        raise CalibrationError("the bindingness test needs a scenario with agreements at their recorded dates")
    for name, v, lo in (("panels", panels, 0), ("permutations", permutations, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ConfigError(f"{name} must be an integer >= {lo}, got {v!r}")
    if not (isinstance(spread, (int, float)) and 0 <= spread <= 5):
        raise ConfigError(f"spread must be a number in [0, 5], got {spread!r}")
    units = agreement_units(scenario)
    if fit is None:
        if progress:
            progress("the pooled fit")
        fit = fit_mle(scenario, record)
    values = fit.parameters()
    base = fit.apply(scenario)
    free = [n for n in UNIT_FREE if n in values]
    if "agreements.binding" not in free:
        raise CalibrationError("the pooled fit does not estimate agreements.binding: nothing to contrast")
    # the panels' truth: binding = non-binding + the known difference; the general effects equal
    nb, nbg = values.get("agreements.nonbinding", 0.0), values.get("agreements.nonbinding_general", 0.0)
    specs = {f"record-{i:02d}": {"what": "record", "unit": i} for i in range(len(units))}
    for j, d in enumerate(EFFECTS):
        for p in range(panels):
            specs[f"panel-{j}-{p:04d}"] = {
                "what": "panel",
                "effect": d,
                "truth": {"agreements.binding": nb + d, "agreements.binding_general": nbg},
                "seed": stream_seed(seed, f"bindingness-panel-{j}-{p}"),
            }
    # what the saved refits depend on; not the number of panels, since a task's key and seed do not, so a
    # test rerun with more (or no) panels reuses the refits a killed one saved
    spec = {
        "scenario": scenario.name,
        "scenario_digest": scenario.digest,
        "record": record.name,
        "record_digest": getattr(record, "digest", None),
        "fit": {k: round(float(v), 12) for k, v in values.items()},
        "seed": stream_seed(seed, "bindingness"),
        "harmsim_version": __version__,
    }
    tasks = _Tasks(Path(cache) if cache is not None else None, spec, force)
    job = job_payload(base, record, units, free, values)
    results = _run_tasks(job, specs, tasks, workers, executor, progress)
    real = pd.DataFrame([r for i in range(len(units)) for r in results[f"record-{i:02d}"]])
    unit_table = units.merge(real, on="unit", how="left")
    labels = unit_table["binding"].to_numpy()
    rows, labellings = [], []
    p_leads = _p_lead(fit)
    power_rows = []
    for j, d in enumerate(EFFECTS):
        for p in range(panels):
            res = pd.DataFrame(results[f"panel-{j}-{p:04d}"])
            g = stream(stream_seed(seed, f"bindingness-spread-{j}-{p}"), "spread")
            dev = g.normal(0.0, spread, len(res)) if spread > 0 else np.zeros(len(res))
            row = {"effect": d, "panel": p + 1}
            for contrast in CONTRASTS:
                tag = "general" if "general" in contrast else "called"
                c = random_effects_contrast(res[f"{tag}_estimate"] + dev, res[f"{tag}_se"], labels)
                row[f"{tag}_estimate"] = c["estimate"]
                row[f"{tag}_ci_low"], row[f"{tag}_ci_high"] = c["ci_low"], c["ci_high"]
                row[f"{tag}_rejects"] = bool(c["ci_low"] > 0 or c["ci_high"] < 0)
            power_rows.append(row)
    power = pd.DataFrame(power_rows)
    for contrast in CONTRASTS:
        tag = "general" if "general" in contrast else "called"
        c = random_effects_contrast(unit_table[f"{tag}_estimate"], unit_table[f"{tag}_se"], labels)
        p_rand, lab = randomization_p(
            unit_table[f"{tag}_estimate"], unit_table[f"{tag}_se"], labels, permutations, seed
        )
        labellings.append(lab.assign(contrast=contrast) if len(lab) else lab)

        def rate(d, tag=tag):
            if not len(power):
                return math.nan
            sel = power[np.isclose(power["effect"], d)]
            return float(sel[f"{tag}_rejects"].mean()) if len(sel) else math.nan

        rows.append(
            {
                "contrast": contrast,
                "estimate": c["estimate"],
                "ci_low": c["ci_low"],
                "ci_high": c["ci_high"],
                "p_randomization": p_rand,
                "p_leads": p_leads,
                "power_at_0.5": rate(0.5),
                "power_at_1.0": rate(1.0),
                "false_rejection_at_0": rate(0.0),
                "units": c["units"],
                "tau": c["tau"],
                "labellings": len(lab),
            }
        )
    pooled = _pooled(fit)
    rows.append(
        {
            "contrast": "binding - non-binding (pooled model, not clustered)",
            "estimate": pooled["estimate"],
            "ci_low": pooled["ci_low"],
            "ci_high": pooled["ci_high"],
            "p_randomization": math.nan,
            "p_leads": p_leads,
            "power_at_0.5": math.nan,
            "power_at_1.0": math.nan,
            "false_rejection_at_0": math.nan,
            "units": len(units),
            "tau": math.nan,
            "labellings": 0,
        }
    )
    table = pd.DataFrame(rows)
    lab_table = pd.concat([x for x in labellings if len(x)], ignore_index=True) if any(len(x) for x in labellings) \
        else pd.DataFrame()  # fmt: skip
    settings = {
        "scenario": scenario.name,
        "scenario_digest": scenario.digest,
        "record": record.name,
        "panels": panels,
        "effects": list(EFFECTS),
        "spread": spread,
        "permutations": permutations,
        "seed": int(seed) if isinstance(seed, (int, np.integer)) else str(seed),
        "unit_free": free,
        "fit_loglik": fit.loglik,
        "lead_years": int(ag.lead_years),
    }
    test = BindingnessTest(table, unit_table, lab_table, power, pooled, settings,
                           {"seconds": time.perf_counter() - t0, "tasks": len(specs)},
                           _design(unit_table, spread, power))  # fmt: skip
    tasks.clear()
    return test


def _p_lead(fit) -> float:
    e = fit.estimates.set_index("parameter")
    if "agreements.lead" not in e.index or not np.isfinite(e.loc["agreements.lead", "se"]):
        return math.nan
    z = e.loc["agreements.lead", "estimate"] / e.loc["agreements.lead", "se"]
    return float(2 * stats.norm.sf(abs(z)))


def _pooled(fit) -> dict:
    """The pooled model's binding minus non-binding, its Wald interval from the fit's covariance (not clustered)."""
    a, b = "agreements.binding", "agreements.nonbinding"
    if not {a, b} <= set(fit.estimates["parameter"]):
        return {"estimate": math.nan, "ci_low": math.nan, "ci_high": math.nan}
    return fit.contrast(a, b)


def _fmt(x: float, d: int = 2) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.{d}f}"


def _verdict(test: BindingnessTest) -> str:
    t = test.table.set_index("contrast")
    main = t.loc["binding - non-binding"]
    gen = t.loc["binding - non-binding, general"]
    pooled = t.loc["binding - non-binding (pooled model, not clustered)"]
    u = test.units
    est_units = _estimated(u)
    nb, bd = int((~est_units["binding"]).sum()), int(est_units["binding"].sum())
    lines = [
        "The test of bindingness",
        "",
        f"Evidence: {len(est_units)} agreement units (an organization's agreements of one kind) cover some state on "
        f"an instrument they call for inside the window: {bd} binding ({_names(est_units, True)}) and {nb} "
        f"non-binding ({_names(est_units, False)}).",
        "",
        f"Binding minus non-binding, on the instruments an agreement calls for: {_fmt(main['estimate'])} log-odds, "
        f"95% interval {_fmt(main['ci_low'])} to {_fmt(main['ci_high'])} across organizations (spread between units "
        f"{_fmt(main['tau'])}); randomization p = {_fmt(main['p_randomization'], 3)} over {int(main['labellings'])} "
        "labellings of the units.",
        f"The pooled model, which counts every state-year as independent, gives {_fmt(pooled['estimate'])} "
        f"({_fmt(pooled['ci_low'])} to {_fmt(pooled['ci_high'])}): "
        + (
            "its interval is narrower because it ignores that the evidence comes in a few organizations."
            if np.isfinite(pooled["ci_low"])
            and np.isfinite(main["ci_low"])
            and (pooled["ci_high"] - pooled["ci_low"]) < (main["ci_high"] - main["ci_low"])
            else "clustering by organization does not widen it here."
        ),
        f"On instruments an agreement does not call for (its general effect): {_fmt(gen['estimate'])} "
        f"({_fmt(gen['ci_low'])} to {_fmt(gen['ci_high'])}), randomization p = {_fmt(gen['p_randomization'], 3)}.",
        "",
    ]
    clear = np.isfinite(main["ci_low"]) and (main["ci_low"] > 0 or main["ci_high"] < 0)
    rand_small = np.isfinite(main["p_randomization"]) and main["p_randomization"] <= 0.05
    if clear and rand_small:
        sign = "more" if main["estimate"] > 0 else "less"
        lines.append(
            f"What the data show: binding agreements are followed by {sign} adoption of what they call for than "
            "non-binding ones, beyond the spread between organizations and beyond a reassignment of the labels."
        )
    elif clear:
        lines.append(
            "What the data show: the interval excludes 0, but the randomization test does not confirm it: with so "
            f"few units ({int(main['labellings'])} labellings), an arrangement of the labels as extreme is not rare. "
            "The contrast is suggestive, not established."
        )
    else:
        lines.append(
            "What the data show: binding and non-binding agreements cannot be told apart; the interval across "
            "organizations includes 0."
        )
    minp = 1.0 / main["labellings"] if main["labellings"] else math.nan
    reach = (
        "the randomization test can reach conventional significance."
        if minp <= 0.05
        else "too few units for the randomization test ever to reach p <= 0.05."
    )
    lines.append(f"The smallest randomization p these units allow is {_fmt(minp, 3)}: {reach}")
    pw5, pw1, fr = main["power_at_0.5"], main["power_at_1.0"], main["false_rejection_at_0"]
    if np.isfinite(pw5):
        lines.append(
            f"Power (synthetic panels with the real memberships and observation pattern, organization spread "
            f"{test.settings['spread']:g}): {_fmt(pw5 * 100, 0)}% at a true difference of 0.5 log-odds, "
            f"{_fmt(pw1 * 100, 0)}% at 1.0; the interval excludes a true 0 in {_fmt(fr * 100, 0)}% of panels"
            + (" (above the nominal 5%: read a rejection with that in mind)." if fr > 0.1 else ".")
        )
        if not clear and pw5 < 0.8:
            lines.append(
                "A difference of 0.5 log-odds would usually go undetected: this null result says little about "
                "effects that size."
            )
        elif not clear:
            lines.append(
                "A difference of 0.5 log-odds would usually have been detected: the null result is informative "
                "about effects that size."
            )
    else:
        lines.append("Power was not simulated (--panels 0).")
    lines += _design_words(test.design)
    pl = main["p_leads"]
    if np.isfinite(pl):
        reading = (
            "adoption was already rising before agreements arrived: agreement effects partly pick up a "
            "pre-existing trend."
            if pl <= 0.05
            else "no sign that agreements only followed a trend already there."
        )
        years = test.settings.get("lead_years", 2)
        lines.append(f"Leads (the {years} years before an agreement calling for the instrument): p = {_fmt(pl, 3)}; "
                     + reading)  # fmt: skip
    lines += ["", "For the study's claim of voluntarism: " + _for_voluntarism(main, clear, rand_small, est_units)]
    lines += [
        "",
        "Method: each unit's effect is fitted one against the rest (the unit's agreements labelled binding, all "
        "others non-binding; intercept and agreement terms free, other parameters at the pooled fit); the contrast "
        "is a random-effects meta-regression on the label (DerSimonian-Laird, Knapp-Hartung interval). Units' "
        "standard errors hold the other parameters fixed. Panels have no interval-censored years.",
    ]
    return "\n".join(lines) + "\n"


def _design_words(design: pd.DataFrame) -> list[str]:
    """How many units the contrast would need, in words, with the approximation set beside the simulation."""
    if not len(design) or not np.isfinite(design["unit_variance"].iloc[0]):
        return []
    first = design.iloc[0]
    at = " and ".join(f"{_fmt(r.power_approximation * 100, 0)}% at {r.difference:.1f}" for r in design.itertuples())
    sim = design["power_simulated"]
    check = (
        " (the synthetic panels: " + " and ".join(f"{_fmt(v * 100, 0)}%" for v in sim) + ")"
        if sim.notna().all()
        else ""
    )
    need = "; ".join(
        f"at a difference of {r.difference:.1f}, "
        + (f"about {int(r.units_for_target)} units" if np.isfinite(r.units_for_target) else
           f"more than {DESIGN_MOST_UNITS:,} units")
        for r in design.itertuples()
    )  # fmt: skip
    return [
        f"How many units the test would need (an approximation: Student's t on U - 2 degrees of freedom, each "
        f"unit's effect varying with variance {_fmt(first['unit_variance'], 2)}, the organization spread "
        f"{first['spread']:g} squared plus its own squared standard error): at these {int(first['units'])} units it "
        f"gives {at}{check}. "
        f"Power {first['target_power']:.0%} would take, with units as precise as these and the same share binding "
        f"({int(first['binding_units'])} of {int(first['units'])}): {need} (design.csv)."
    ]


def _for_voluntarism(main, clear: bool, rand_small: bool, units: pd.DataFrame) -> str:
    """What the contrast means for the claim that integration owes little to binding treaties, with the limits
    this panel has (how many units, which are binding) named from the units, not assumed."""
    more = main["estimate"] > 0
    if clear and rand_small and more:
        return ("binding agreements add to what states do voluntarily; the claim that integration owes little to "
                "binding treaties is not supported on this panel.")  # fmt: skip
    if clear and rand_small:
        return ("binding agreements are followed by less adoption than non-binding ones: nothing here supports "
                "binding treaties as the road to integration, though the claim of voluntarism predicts no difference, "
                "not a reversal; what else sets the binding units apart is worth a look.")  # fmt: skip
    if clear:
        return (f"binding agreements may do {'more' if more else 'less'} than non-binding ones, but the randomization "
                "test does not confirm it: the panel neither supports nor contradicts the claim.")  # fmt: skip
    binding = _names(units, True) or "none"
    return ("the panel gives no evidence that binding agreements do more than non-binding ones, which is consistent "
            "with integration by voluntary, incremental steps; it does not prove it, for the reasons above: "
            f"{len(units)} units, the binding ones {binding}.")  # fmt: skip


def _names(units: pd.DataFrame, binding: bool) -> str:
    return ", ".join(units.loc[units["binding"] == binding, "unit"])

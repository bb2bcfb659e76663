"""Fit objects: estimates with their uncertainty, a reviewer's log, save and load.

A :class:`Fit` is plain data. :meth:`Fit.save` writes a folder of JSON and
CSV (never pickle), :func:`load_fit` reads it back and validates it, and
:meth:`Fit.apply` / :meth:`Fit.draw` turn it back into scenarios to run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from harmsim import _repr
from harmsim._output import read_csv
from harmsim.errors import CalibrationError, ConfigError
from harmsim.model.params import finite_real
from harmsim.model.priors import Prior
from harmsim.model.space import split_name
from harmsim.rng import SeedLike, stream

__all__ = ["Fit", "load_fit"]

_FORMAT = "harmsim-fit/1"


@dataclass(frozen=True, eq=False)
class Fit:
    """The result of a calibration.

    estimates: one row per free parameter: ``parameter, estimate, se, lower,
    upper, bound_lo, bound_hi, status`` (``lower``/``upper``: 95% interval;
    ``status``: identified (closed profile interval) / bounded (Wald interval
    inside the range) / narrowed (ABC posterior well inside the prior) /
    weak / not identified / at bound).
    fixed: parameters held at the scenario's values, with the reason.
    samples: posterior draws (ABC) or None.
    observed_until: the last year of observations the fit used (a backtest's origin).
    transforms: the feature standardizations the coefficients refer to,
    ``{feature: [mean, sd]}`` (:mod:`harmsim.data.features`).
    model_digest: :meth:`Scenario.model_digest <harmsim.model.scenario.Scenario.model_digest>` of the scenario
    fitted, for its free parameters (None in fits saved before it existed).
    log: what a reviewer needs to follow the calibration (data, targets,
    method, settings, diagnostics, time).

    >>> import harmsim
    >>> from harmsim.calibrate import calibrate
    >>> sc = harmsim.load_scenario("diffusion_only")
    >>> fit = calibrate(sc)
    >>> print(fit.summary().splitlines()[0])
    MLE fit of scenario 'diffusion_only' to record 'asean' (observations up to 2015)
    >>> fit.apply(sc).parameters()["diffusion.strength"] == fit.parameters()["diffusion.strength"]  # the estimates, run
    True
    """

    scenario: str
    scenario_digest: str
    record: str
    method: str
    estimates: pd.DataFrame
    loglik: float | None
    n_obs: int
    covariance: pd.DataFrame | None = None
    samples: pd.DataFrame | None = None
    fixed: dict = field(default_factory=dict)
    log: dict = field(default_factory=dict)
    observed_until: int | None = None
    transforms: dict = field(default_factory=dict)
    model_digest: str | None = None

    def _facts(self) -> dict:
        return {
            "scenario": self.scenario,
            "method": self.method,
            "record": self.record,
            "observed_until": self.observed_until,
            "parameters": len(self.estimates),
            "loglik": None if self.loglik is None else round(float(self.loglik), 3),
        }

    def __repr__(self) -> str:
        return _repr.text("Fit", self._facts())

    def _repr_html_(self) -> str:
        est = self.estimates[[c for c in ("parameter", "estimate", "se", "status") if c in self.estimates]]
        return _repr.html("Fit", self._facts()) + est.to_html(index=False, float_format=lambda x: f"{x:.3g}")

    @property
    def n_params(self) -> int:
        return len(self.estimates)

    @property
    def aic(self) -> float | None:
        return None if self.loglik is None else 2 * self.n_params - 2 * self.loglik

    @property
    def bic(self) -> float | None:
        return None if self.loglik is None else self.n_params * np.log(self.n_obs) - 2 * self.loglik

    def parameters(self) -> dict[str, float]:
        """Point estimates by flat parameter name."""
        return dict(zip(self.estimates["parameter"], self.estimates["estimate"].astype(float)))

    def apply(self, scenario, values: dict | None = None):
        """``scenario`` with the fit's estimates (or ``values``); refuses a scenario the fit is not of.

        A fit made under priors borrowed from another fit (:mod:`harmsim.calibrate.borrowing`) carries them: they
        are put on ``scenario`` first, replacing any it declares on the same parameters, so a forecast from the
        fit draws from the posterior the fit was made under.
        """
        if scenario.name != self.scenario:
            raise CalibrationError(
                f"this fit is of scenario '{self.scenario}', not '{scenario.name}'; "
                f"calibrate '{scenario.name}' or run '{self.scenario}'"
            )
        borrowed = self.log.get("borrowed", {}).get("priors")
        if borrowed:
            scenario = scenario.with_priors(borrowed)
        self.check_transforms(scenario)
        free = list(self.estimates["parameter"])
        if self.model_digest is not None and scenario.model_digest(free) != self.model_digest:
            declared = {p.name: p.as_dict() for p in scenario.priors}
            what = (
                f"its declared priors ({', '.join(declared) or 'none'}) are not the fit's "
                f"({', '.join(self.log.get('priors', {})) or 'none'})"
                if self.method == "mle" and declared != self.log.get("priors", {})
                else "its mechanisms or the values of parameters the fit held given changed since"
            )
            raise CalibrationError(
                f"scenario '{scenario.name}' is not the one this fit is of: {what} (model digest "
                f"{scenario.model_digest(free)}, fit {self.model_digest}); refit"
            )
        known = scenario.parameters()
        unknown = [p for p in self.estimates["parameter"] if p not in known and not p.startswith("hazard.offsets.")]
        if unknown:
            raise CalibrationError(f"the fit names parameters scenario '{scenario.name}' lacks: {unknown}")
        try:
            return scenario.with_params(values if values is not None else self.parameters())
        except ConfigError as exc:
            raise CalibrationError(f"the fit's values do not fit scenario '{scenario.name}': {exc}") from None

    def contrast(self, a: str, b: str) -> dict[str, float]:
        """``a`` minus ``b``, two free parameters, with its standard error and Wald 95% interval from the fit's
        covariance (``estimate, se, ci_low, ci_high``; the last three NaN without a covariance). The contrast a
        comparison of mechanisms rests on, such as binding minus non-binding agreements; like every Wald interval
        of a likelihood fit it counts each state-year as independent, so it is narrower than one that allows for
        outcomes clustered in a few organizations (:mod:`harmsim.analysis.bindingness`).

        >>> import pandas as pd
        >>> names = ["agreements.binding", "agreements.nonbinding"]
        >>> est = pd.DataFrame({"parameter": names, "estimate": [0.5, 0.1]})
        >>> cov = pd.DataFrame([[0.04, 0.01], [0.01, 0.02]], index=names, columns=names)
        >>> fit = Fit("s", "", "r", "mle", est, loglik=-10.0, n_obs=100, covariance=cov)
        >>> c = fit.contrast(*names)
        >>> round(c["estimate"], 2), round(c["se"], 3), round(c["ci_low"], 2)  # se: sqrt(0.04 + 0.02 - 2 * 0.01)
        (0.4, 0.2, 0.01)
        >>> fit.contrast("agreements.binding", "diffusion.strength")
        Traceback (most recent call last):
        harmsim.errors.CalibrationError: diffusion.strength is not a free parameter of this fit (of scenario 's'): \
no contrast with it
        """
        free = set(self.estimates["parameter"])
        for name in (a, b):
            if name not in free:
                raise CalibrationError(
                    f"{name} is not a free parameter of this fit (of scenario '{self.scenario}'): no contrast with it"
                )
        value = self.parameters()
        est = value[a] - value[b]
        cov = self.covariance
        var = float(cov.loc[a, a] + cov.loc[b, b] - 2 * cov.loc[a, b]) if cov is not None else float("nan")
        se = float(np.sqrt(var)) if var >= 0 else float("nan")
        return {"estimate": est, "se": se, "ci_low": est - 1.96 * se, "ci_high": est + 1.96 * se}

    def caveat(self, subject: str = "the fit's") -> str | None:
        """One line naming the parameters the data do not bound (at a bound, or not identified), or None.

        Runs, forecasts and counterfactuals drawn from the fit use these values as they are: what they show
        about those parameters comes from the bound or the optimizer's stopping point, not from the record.
        ``subject`` begins the line (a backtest names the model whose fit it is).
        """
        est = self.estimates
        if "status" not in est:
            return None
        shaky = est[est["status"].isin(["at bound", "not identified"])]
        if not len(shaky):
            return None
        items = ", ".join(f"{r.parameter} = {r.estimate:.3g} ({r.status})" for r in shaky.itertuples())
        return (
            f"{subject} {items}: the record does not bound {'it' if len(shaky) == 1 else 'them'}, and what is drawn "
            "from this fit uses the value as it is"
        )

    def held_note(self, subject: str = "the fit") -> str | None:
        """One line naming the parameters the fit held at the scenario's values, with the reason, or None.

        A parameter that moves no year of the likelihood of the record a fit saw (a binding agreement that
        arrives at the record's end; a term whose condition the record never met by a backtest's origin) is
        held, not estimated. Runs, forecasts and counterfactuals drawn from the fit use the scenario's value for
        it wherever it acts: a value set by hand, which the caveat of :meth:`caveat` does not name (it names the
        free parameters the record does not bound). ``subject`` begins the line.

        >>> import harmsim
        >>> from harmsim.calibrate import calibrate
        >>> fit = calibrate(harmsim.load_scenario("binding_only"), free=["hazard.intercept", "agreements.binding"])
        >>> print(fit.held_note())  # ASEAN's one binding agreement, the 2015 Convention, acts from 2016
        the fit holds agreements.binding = 0.3 (no effect on the likelihood of this record): what is drawn from \
this fit uses the scenario's value for it, set by hand, wherever it acts
        """
        if not self.fixed:
            return None
        items = "; ".join(f"{k} = {v['value']:.3g} ({v['reason']})" for k, v in self.fixed.items())
        which, acts = ("it", "it acts") if len(self.fixed) == 1 else ("them", "they act")
        return (
            f"{subject} holds {items}: what is drawn from this fit uses the scenario's value for {which}, set by "
            f"hand, wherever {acts}"
        )

    def check_transforms(self, scenario) -> None:
        """Refuse a scenario whose feature standardizations differ from the fit's.

        The coefficients are log-odds per standard deviation of features fixed on
        a reference window; if the scenario's inputs over that window changed,
        the fitted numbers would mean something else.
        """
        for name, (mean, sd) in self.transforms.items():
            m, s = scenario.transforms.values(name)
            if not (np.isclose(m, mean, rtol=1e-9, atol=1e-12) and np.isclose(s, sd, rtol=1e-9, atol=1e-12)):
                raise CalibrationError(
                    f"the fit's standardization of '{name}' (mean {mean:.6g}, sd {sd:.6g}) differs from scenario "
                    f"'{scenario.name}' ({m:.6g}, {s:.6g}): its inputs over the reference window changed; refit"
                )

    def draw(self, n: int, seed: SeedLike) -> pd.DataFrame:
        """``n`` parameter sets from the fit's uncertainty (one row each).

        ABC: resampled posterior draws. MLE: the asymptotic normal
        (estimate, covariance), redrawn until inside the parameters' bounds;
        parameters without a standard error stay at their estimate. When the
        normal of some parameter reaches so far past its range that draws
        inside every bound are too rare (a parameter the record does not
        bound, with an enormous standard error), the parameters whose status
        is weak, at bound or not identified are held at their estimates and
        the others drawn from the normal given them; the held ones are listed
        in the table's ``attrs["held"]`` (forecasts say so).
        """
        g = stream(seed, "fit-draws")
        if self.samples is not None and len(self.samples):
            idx = g.integers(0, len(self.samples), n)
            return self.samples.iloc[idx][list(self.estimates["parameter"])].reset_index(drop=True)
        return self.sample_around(n, g)[0]

    def sample_around(self, n: int, g: np.random.Generator, df: float | None = None) -> tuple[pd.DataFrame, np.ndarray]:
        """``n`` parameter sets around the MLE, and each one's log density under the distribution drawn from
        (up to a constant). ``df=None``: the asymptotic normal of :meth:`draw` (the same draws from the same
        generator); ``df``: a multivariate Student t with ``df`` degrees of freedom and the same scale, whose
        heavier tails make it an importance proposal for the likelihood itself
        (:func:`~harmsim.calibrate.posterior.posterior_draws`). Both are cut to the parameters' bounds, and hold
        the same parameters at their estimates (``attrs["held"]``); ``attrs["drawn"]`` names the others.

        >>> import harmsim
        >>> from harmsim.calibrate import calibrate
        >>> from harmsim.rng import stream
        >>> fit = calibrate(harmsim.load_scenario("diffusion_only"))
        >>> table, logq = fit.sample_around(4, stream(0, "doc"), df=4)
        >>> table.shape, logq.shape, bool((logq <= 0).all())  # the mode's log density is 0
        ((4, 8), (4,), True)
        """
        est = self.estimates.set_index("parameter")
        names = list(est.index)
        mean = est["estimate"].to_numpy(float)
        lo, hi = est["bound_lo"].to_numpy(float), est["bound_hi"].to_numpy(float)
        out = np.tile(mean, (n, 1))

        def result(cols, cov, held=None) -> tuple[pd.DataFrame, np.ndarray]:
            table = pd.DataFrame(out, columns=names)
            if held is not None:
                table.attrs["held"] = held
            table.attrs["drawn"] = [names[j] for j in cols]
            return table, _log_density(out[:, cols] - mean[cols], cov, df)

        if self.covariance is None:
            return result([], None)
        full = self.covariance.reindex(index=names, columns=names).to_numpy(float)
        # parameters with a standard error are drawn jointly; the others stay at their estimates
        var = np.diag(full)
        free = np.flatnonzero(np.isfinite(var) & (var > 0))
        free = free[np.isfinite(full[np.ix_(free, free)]).all(axis=1)]
        if not len(free):
            return result([], None)
        cov = full[np.ix_(free, free)]
        w = np.linalg.eigvalsh(cov)
        if w.min() < -1e-8 * max(1.0, w.max()):
            raise CalibrationError(
                f"the fit's covariance of {', '.join(names[j] for j in free)} is not positive semi-definite "
                f"(smallest eigenvalue {w.min():.3g}): no draws from it"
            )
        if _draw_inside(g, out, free, mean, cov, lo, hi, n, df=df):
            return result(free, cov)
        # Some parameter's normal reaches far past its range (e.g. a trend with s.e. 88 on a range of 40): hold
        # the ones the record does not bound at their estimates and draw the rest given them.
        status = est["status"].to_numpy()
        held = [j for j in free if status[j] in ("weak", "at bound", "not identified")]
        keep = np.array([j for j in free if j not in held], dtype=int)
        out[:] = mean
        cond = None
        if len(held) and len(keep):
            h = np.array(held)
            c_kk, c_kh, c_hh = full[np.ix_(keep, keep)], full[np.ix_(keep, h)], full[np.ix_(h, h)]
            cond = c_kk - c_kh @ np.linalg.pinv(c_hh) @ c_kh.T
            cond = (cond + cond.T) / 2
        if cond is None or not _draw_inside(g, out, keep, mean, cond, lo, hi, n, df=df):
            keep, cond = np.array([], dtype=int), None  # nothing left to draw: every one at its estimate
            out[:] = mean
        return result(keep, cond, [names[j] for j in free if j not in set(keep.tolist())])

    def summary(self) -> str:
        """The fit in words and a table (what `harmsim calibrate` prints)."""
        upto = f" (observations up to {self.observed_until})" if self.observed_until is not None else ""
        lines = [f"{self.method.upper()} fit of scenario '{self.scenario}' to record '{self.record}'{upto}"]
        if self.loglik is not None:
            lines.append(
                f"log-likelihood {self.loglik:.2f}, {self.n_params} free parameters, "
                f"{self.n_obs} at-risk state-instrument-years; AIC {self.aic:.1f}, BIC {self.bic:.1f}"
            )
        t = self.estimates.copy()
        for c in ("estimate", "se", "lower", "upper"):
            t[c] = t[c].map(lambda x: "" if pd.isna(x) else f"{x:.3f}")
        cols = ["parameter", "estimate", "se", "lower", "upper"]
        if "profile_lower" in t:
            for c in ("profile_lower", "profile_upper"):
                t[c] = t[c].map(lambda x: "open" if pd.isna(x) else f"{x:.3f}")
            cols += ["profile_lower", "profile_upper"]
        lines.append(t[[*cols, "status"]].to_string(index=False))
        lines.extend(self.verdicts())
        if self.fixed:
            lines.append(
                "Held fixed: " + "; ".join(f"{k} = {v['value']} ({v['reason']})" for k, v in self.fixed.items()) + "."
            )
        return "\n".join(lines)

    def _region_words(self, lo_col: str, hi_col: str) -> list[str]:
        """What the fit says of one organization's own level and slope (the region mechanism), in words."""
        region = self.log.get("region")
        if not region:
            return []
        org = region["organization"] or "the record's region"
        out = [
            f"The members of {org} get a level and a slope of their own, drawn towards the pooled model by normal "
            f"priors (standard deviations {region['level_sd']:g} log-odds and {region['slope_sd']:g} per decade, "
            "declared, not fitted): their estimates are shrunk towards 0."
        ]
        e = self.estimates.set_index("parameter")
        for name, what in (("region.level", "level"), ("region.slope", "slope")):
            if name not in e.index or pd.isna(e.loc[name, lo_col]):
                continue
            r = e.loc[name]
            inside = r[lo_col] <= 0 <= r[hi_col]
            out.append(
                f"{name} is {r['estimate']:+.2f} (95% interval {r[lo_col]:.2f} to {r[hi_col]:.2f}): "
                + (
                    f"{org}'s {what} is not told apart from the pooled model's."
                    if inside
                    else f"{org}'s members are {'faster' if r['estimate'] > 0 else 'slower'} than the pooled model "
                    + ("predicts." if what == "level" else "predicts, more so as time goes on.")
                )
            )
        return out

    def verdicts(self) -> list[str]:
        """What the fit can and cannot say, in words: identification, signs against the theory, warnings."""
        e = self.estimates
        status = dict(zip(e["parameter"], e["status"]))
        out = []
        groups = {
            "identified": "Identified (95% profile interval closed, inside the allowed range)",
            "bounded": "Wald 95% interval inside the allowed range (identification not checked: use profiles)",
            "narrowed": "Posterior clearly narrower than the prior",
        }
        for s, text in groups.items():
            names = [p for p, v in status.items() if v == s]
            if names:
                out.append(f"{text}: {', '.join(names)}.")
        rest = [f"{p} ({v})" for p, v in status.items() if v not in groups]
        if rest:
            out.append("Not pinned down by the record: " + ", ".join(rest) + ".")
        lo_col, hi_col = ("profile_lower", "profile_upper") if "profile_lower" in e else ("lower", "upper")
        for _, r in e.iterrows():
            words = _sign_words(r["parameter"], float(r["estimate"]), r[lo_col], r[hi_col], r["status"])
            if words:
                out.append(words)
        for _, r in e[e["status"] == "at bound"].iterrows():
            if r["bound_lo"] == 0 and abs(r["estimate"]) < 1e-6 * max(1.0, r["bound_hi"]):
                out.append(
                    f"{r['parameter']} is estimated at 0, the edge of its range: the record shows none of it beyond "
                    "what the other terms explain (a boundary estimate: its Wald interval means nothing)."
                )
                continue
            out.append(
                f"Warning: {r['parameter']} sits at a bound of its allowed range ({r['estimate']:.3g}); the likelihood "
                "rises past it, so its estimate is a limit, not a value the record supports."
            )
        for d in self.log.get("diagnostics", {}).get("flat directions", []) or []:
            names = d["parameters"]
            where = (
                f"along {names[0]}: the record hardly bounds it"
                if len(names) == 1
                else f"along which {', '.join(names)} trade off: the record cannot tell them apart"
            )
            out.append(
                f"Warning: the log-likelihood is nearly flat in one direction (Hessian eigenvalue "
                f"{d['eigenvalue']:.1e}), {where}."
            )
        out.extend(self.log.get("arrival", []))
        pool = self.log.get("pooling")
        if pool:
            kinds = "; ".join(f"{kind}: {', '.join(ks)}" for kind, ks in pool["kinds"].items())
            out.append(f"Offsets are pooled by kind ({kinds}; spread {pool['sd']:g} log-odds, a declared prior scale).")
            for k in pool["from kind only"]:
                out.append(
                    f"hazard.offsets.{k}: no adoption in the window; its value and interval come from its kind "
                    "through the pooling, not from evidence on this instrument."
                )
        out.extend(self._region_words(lo_col, hi_col))
        declared = self.log.get("priors")
        if declared:
            out.append(
                "Estimates are posterior modes under the scenario's declared priors ("
                + ", ".join(f"{n} ~ {_prior_words(d)}" for n, d in declared.items())
                + "), not maximum likelihood estimates; the log-likelihood, AIC and BIC are the record's alone."
            )
        several = self.log.get("diagnostics", {}).get("several maxima")
        if several:
            out.append(f"Warning: {several}.")
        conv = self.log.get("diagnostics", {}).get("converged")
        if conv is False:
            out.append("Warning: the optimizer did not report convergence; treat the estimates with care.")
        elif conv and any(s in ("at bound", "not identified", "weak") for s in status.values()):
            out.append(
                "The optimizer converged, but convergence is not identification: see the warnings and statuses above."
            )
        return out

    # Persistence -------------------------------------------------------------------------
    def save(self, folder: str | Path, force: bool = False) -> list[Path]:
        """Write fit.json, estimates.csv, covariance.csv, samples.csv and trace.md into a new ``folder``.

        The folder is written aside and renamed into place when complete, so it never mixes two fits; an
        existing result folder is replaced only with ``force`` (:mod:`harmsim._output`).
        """
        from harmsim._output import ResultFolder

        with ResultFolder(folder, "fit", force) as rf:
            rf.add(self._write(rf.path))
        return rf.final

    def _write(self, out: Path) -> list[Path]:
        meta = {
            "format": _FORMAT,
            "scenario": self.scenario,
            "scenario_digest": self.scenario_digest,
            "record": self.record,
            "observed_until": self.observed_until,
            "transforms": self.transforms,
            "model_digest": self.model_digest,
            "method": self.method,
            "loglik": self.loglik,
            "n_obs": self.n_obs,
            "aic": self.aic,
            "bic": self.bic,
            "fixed": self.fixed,
            "log": self.log,
        }
        paths = [out / "fit.json", out / "estimates.csv"]
        self.estimates.to_csv(paths[1], index=False)
        if self.covariance is not None:
            self.covariance.to_csv(out / "covariance.csv")
            paths.append(out / "covariance.csv")
        if self.samples is not None:
            self.samples.to_csv(out / "samples.csv", index=False)
            paths.append(out / "samples.csv")
        (out / "trace.md").write_text(_trace(self))
        paths.append(out / "trace.md")
        paths[0].write_text(json.dumps(meta, indent=2, default=_json_default) + "\n")
        return paths


def _draw_inside(g, out: np.ndarray, cols: np.ndarray, mean, cov, lo, hi, n: int, tries: int = 1000, df=None) -> bool:
    """Fill ``out[:, cols]`` with draws of N(mean[cols], cov) (with ``df``: the multivariate t of that centre
    and scale) inside the bounds; False when too few fall inside."""
    filled = 0
    for _ in range(tries):
        x = g.multivariate_normal(mean[cols], cov, size=max(n, 64), method="eigh")
        if df is not None:  # a normal over the root of an independent chi-square over df: the multivariate t
            x = mean[cols] + (x - mean[cols]) / np.sqrt(g.chisquare(df, size=len(x)) / df)[:, None]
        ok = x[((x >= lo[cols]) & (x <= hi[cols])).all(axis=1)]
        take = min(len(ok), n - filled)
        out[filled : filled + take, cols] = ok[:take]
        filled += take
        if filled == n:
            return True
    return False


def _log_density(d: np.ndarray, cov, df) -> np.ndarray:
    """(n,) log density, up to a constant, of deviations ``d`` (n, p) from the centre of a normal (``df``
    None) or multivariate t of scale ``cov``; zeros where nothing is drawn (``cov`` None)."""
    if cov is None or not d.shape[1]:
        return np.zeros(len(d))
    m2 = np.einsum("ij,jk,ik->i", d, np.linalg.pinv(cov, hermitian=True), d)  # squared Mahalanobis distances
    return -0.5 * m2 if df is None else -(df + d.shape[1]) / 2 * np.log1p(m2 / df)


def load_fit(folder: str | Path) -> Fit:
    """Read a fit written by :meth:`Fit.save` (plain JSON and CSV; nothing is executed).

    >>> import tempfile, harmsim
    >>> from harmsim.calibrate import calibrate
    >>> fit = calibrate(harmsim.load_scenario("diffusion_only"))
    >>> folder = tempfile.mkdtemp()
    >>> _ = fit.save(folder, force=True)
    >>> again = load_fit(folder)
    >>> again.estimates["estimate"].equals(fit.estimates["estimate"]), again.loglik == fit.loglik
    (True, True)
    """
    d = Path(folder)
    meta_path = d / "fit.json"
    if not meta_path.is_file():
        raise CalibrationError(f"{d}: no fit.json (not a saved fit)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CalibrationError(f"{meta_path}: not valid JSON: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        raise CalibrationError(f"{meta_path}: not a harmsim fit (format {_FORMAT})")
    for key in ("scenario", "scenario_digest", "record", "method", "n_obs"):
        if key not in meta:
            raise CalibrationError(f"{meta_path}: missing '{key}'")
    for key in ("scenario", "scenario_digest", "record", "method"):
        if not isinstance(meta[key], str):
            raise CalibrationError(f"{meta_path}: '{key}' must be a string, got {meta[key]!r}")
    n_obs = meta["n_obs"]
    if isinstance(n_obs, bool) or not isinstance(n_obs, int) or n_obs < 0:
        raise CalibrationError(f"{meta_path}: 'n_obs' must be a non-negative integer, got {n_obs!r}")
    loglik = meta.get("loglik")
    if loglik is not None and (isinstance(loglik, bool) or not isinstance(loglik, (int, float))):
        raise CalibrationError(f"{meta_path}: 'loglik' must be a number or null, got {loglik!r}")
    for key in ("fixed", "log", "transforms"):
        if not isinstance(meta.get(key, {}), dict):
            raise CalibrationError(f"{meta_path}: '{key}' must be a JSON object")
    for name, pair in meta.get("transforms", {}).items():
        if not (isinstance(pair, list) and len(pair) == 2 and all(finite_real(x) is not None for x in pair)):
            raise CalibrationError(
                f"{meta_path}: 'transforms' maps each feature to [mean, sd], two finite numbers; '{name}' has {pair!r}"
            )
    until = meta.get("observed_until")
    if until is not None and not (isinstance(until, int) and not isinstance(until, bool) and 1800 <= until <= 2100):
        raise CalibrationError(f"{meta_path}: 'observed_until' must be a year (1800-2100) or null, got {until!r}")
    est = _csv(d / "estimates.csv")
    need = {"parameter", "estimate", "se", "lower", "upper", "bound_lo", "bound_hi", "status"}
    if not need <= set(est.columns):
        raise CalibrationError(f"{d / 'estimates.csv'}: missing columns {sorted(need - set(est.columns))}")
    names = list(est["parameter"].astype(str))
    if not pd.api.types.is_numeric_dtype(est["estimate"]) or not np.isfinite(est["estimate"].to_numpy(float)).all():
        raise CalibrationError(f"{d / 'estimates.csv'}: every estimate must be a finite number")
    for col in ("se", "lower", "upper", "bound_lo", "bound_hi"):
        if not pd.api.types.is_numeric_dtype(est[col]):
            raise CalibrationError(f"{d / 'estimates.csv'}: every '{col}' must be a number (or empty)")
    cov = None
    if (d / "covariance.csv").is_file():
        cov = _csv(d / "covariance.csv", index_col=0)
        if list(cov.index.astype(str)) != names or list(cov.columns.astype(str)) != names:
            raise CalibrationError(f"{d / 'covariance.csv'}: rows and columns must be the estimates' parameters")
        if not all(pd.api.types.is_numeric_dtype(cov[c]) for c in cov.columns):
            raise CalibrationError(f"{d / 'covariance.csv'}: every entry must be a number (or empty)")
    samples = _csv(d / "samples.csv") if (d / "samples.csv").is_file() else None
    if samples is not None and list(samples.columns.astype(str)) != names:
        raise CalibrationError(f"{d / 'samples.csv'}: its columns must be the estimates' parameters")
    return Fit(
        scenario=meta["scenario"],
        scenario_digest=meta["scenario_digest"],
        record=meta["record"],
        method=meta["method"],
        estimates=est,
        loglik=loglik,
        n_obs=n_obs,
        covariance=cov,
        samples=samples,
        fixed=meta.get("fixed", {}),
        log=meta.get("log", {}),
        observed_until=meta.get("observed_until"),
        transforms=meta.get("transforms", {}),
        model_digest=meta.get("model_digest"),
    )


def _csv(path: Path, **kw) -> pd.DataFrame:
    try:
        return read_csv(path, **kw)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise CalibrationError(f"{path}: {exc}") from None


def _json_default(x):
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    return str(x)


def _trace(fit: Fit) -> str:
    """A TRACE-style calibration log (Schmolke et al. 2010; Grimm et al. 2014) in Markdown."""
    log = fit.log
    lines = [
        f"# Calibration log: scenario '{fit.scenario}' ({fit.method})",
        "",
        "## Data",
        f"- record: {fit.record}; {log.get('data', '')}",
        *_borrowed_lines(log.get("borrowed")),
        "",
        "## Targets and weights",
        f"- {log.get('targets', '')}",
        "",
        "## Method and settings",
        f"- {log.get('method', '')}",
    ]
    for k, v in log.get("settings", {}).items():
        lines.append(f"- {k}: {_plain(v)}")
    lines += ["", "## Diagnostics"]
    for k, v in log.get("diagnostics", {}).items():
        if isinstance(v, list) and v and all(isinstance(r, dict) for r in v):
            lines += [f"- {k}:", "", *_table(v), ""]
        else:
            lines.append(f"- {k}: {_plain(v)}")
    lines += ["", "## Approximations", *[f"- {a}" for a in log.get("approximations", [])], ""]
    lines += [
        "## Time",
        f"- {log.get('seconds', float('nan')):.2f} s",
        "",
        "## Result",
        "",
        "```",
        fit.summary(),
        "```",
        "",
    ]
    return "\n".join(lines)


def _borrowed_lines(borrowed: dict | None) -> list[str]:
    """The trace's line on priors borrowed from another fit (``harmsim calibrate --borrow-from``)."""
    if not borrowed:
        return []
    until = borrowed.get("source_observed_until") or "its end"
    lent = ", ".join(f"{n} {est:.3g} (s.e. {se:.3g})" for n, (est, se) in borrowed.get("lent", {}).items())
    return [
        f"- priors borrowed from the fit of '{borrowed['source_scenario']}' on record {borrowed['source_record']} "
        f"(observed to {until}; {borrowed['source']}): normal at {lent}, scales {_plain(borrowed['inflation'])} "
        "times these standard errors"
    ]


def _plain(v):
    """Numbers as a reader writes them (no ``np.float64(...)``), in dicts and lists too."""
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_plain(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(str(_plain(x)) for x in v) + "]"
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float):
        return f"{v:.4g}"
    return v


def _table(rows: list[dict]) -> list[str]:
    """A Markdown table of dict rows (columns in first-seen order)."""
    cols = list(dict.fromkeys(k for r in rows for k in r))
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        out.append("| " + " | ".join(str(_plain(r.get(c, ""))) for c in cols) + " |")
    return out


def _prior_words(d: dict) -> str:
    """A declared prior as a fit's log stores it, in one line: ``normal(0, 1)``."""
    return Prior("", **d).describe()


def _sign_words(name: str, est: float, lo, hi, status: str) -> str:
    """A sentence on the sign of a mechanism coefficient: against the theory? interval containing 0?"""
    from harmsim.model.mechanisms import REGISTRY

    group, key, _ = split_name(name)
    spec = REGISTRY[group].params.get(key) if group in REGISTRY else None
    expected = getattr(spec, "expected", 0)
    if not expected:
        return ""
    sign = "positive" if est > 0 else "negative" if est < 0 else "zero"
    against = est * expected < 0
    has_ci = lo is not None and hi is not None and not (pd.isna(lo) and pd.isna(hi))
    lo_v = -np.inf if lo is None or pd.isna(lo) else float(lo)
    hi_v = np.inf if hi is None or pd.isna(hi) else float(hi)
    zero_in = has_ci and lo_v <= 0 <= hi_v
    if not against and not zero_in:
        return ""
    want = "positive" if expected > 0 else "negative"
    parts = [f"{name} is estimated {sign} ({est:.2f})"]
    if against:
        parts[0] += f", against the direction the theory predicts ({want}; {group}: {REGISTRY[group].summary})"
    if zero_in:
        lo_t = "open" if not np.isfinite(lo_v) else f"{lo_v:.2f}"
        hi_t = "open" if not np.isfinite(hi_v) else f"{hi_v:.2f}"
        parts.append(f"its 95% interval ({lo_t} to {hi_t}) includes 0")
    return "; ".join(parts) + "."

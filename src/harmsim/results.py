"""Results of runs: tidy tables with their provenance.

A :class:`RunResult` is one run; an :class:`EnsembleResult` many replicates
of one scenario. Tables are long and tidy, keyed by replicate; ``provenance``
says what produced them (package versions, scenario and its digest, every
parameter, seeds, engine) and is written beside the tables by :meth:`save`.
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import _repr
from .rng import seed_record
from .world import NEVER

__all__ = ["EnsembleResult", "RunResult", "adopters_by_year", "build_info", "provenance"]


def _version() -> str:
    from . import __version__

    return __version__


def build_info() -> dict[str, Any]:
    """Which code, and which command, made a result: harmsim's version; when harmsim runs from a git checkout,
    its commit and whether the checkout had uncommitted changes (``None`` for an installed package); the
    command line.

    >>> sorted(build_info())
    ['command_line', 'git_commit', 'git_dirty', 'harmsim_version']
    """
    commit, dirty = _git_state()
    argv = [Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python", *sys.argv[1:]]
    return {
        "harmsim_version": _version(),
        "git_commit": commit,
        "git_dirty": dirty,
        "command_line": shlex.join(argv),
    }


@lru_cache(maxsize=1)
def _git_state() -> tuple[str | None, bool | None]:
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None, None
    try:
        run = {"cwd": root, "capture_output": True, "text": True, "timeout": 10, "check": True}
        commit = subprocess.run(["git", "rev-parse", "HEAD"], **run).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], **run).stdout
    except (OSError, subprocess.SubprocessError):
        return None, None
    return commit or None, bool(status.strip())


def _installed(package: str) -> str:
    """An installed package's version, read from its metadata (without importing it: Mesa costs a second)."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def provenance(scenario, seeds, engine: str) -> dict[str, Any]:
    """What produced a result: enough to rerun it (with :func:`build_info`: code version and command line)."""
    return {
        **build_info(),
        "mesa_version": _installed("mesa"),
        "numpy_version": np.__version__,
        "pandas_version": pd.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "scenario": scenario.name,
        "scenario_file": scenario.path,
        "scenario_digest": scenario.digest,
        "record": scenario.record.name,
        "window": [scenario.start, scenario.end],
        "mechanisms": list(scenario.enabled),
        "parameters": scenario.parameters(),
        "engine": engine,
        "seeds": [seed_record(s) for s in seeds],
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }


@dataclass(frozen=True, eq=False)
class RunResult:
    """One run: ``adoptions`` (state, instrument, year), ``agreements`` (agreement, year, ...).

    ``model`` is the Mesa model after its last step (``None`` for a run taken
    from a batch).
    """

    adoptions: pd.DataFrame
    agreements: pd.DataFrame
    seed: int | dict  # see harmsim.rng.seed_record
    scenario: Any
    model: Any = None
    provenance: dict = field(default_factory=dict)

    def _facts(self) -> dict:
        return {
            "scenario": getattr(self.scenario, "name", self.scenario),
            "seed": self.seed,
            "engine": self.provenance.get("engine", "mesa" if self.model is not None else "batch"),
            "adoptions": int(self.adoptions["year"].notna().sum()),
        }

    def __repr__(self) -> str:
        return _repr.text("RunResult", self._facts())

    def _repr_html_(self) -> str:
        return _repr.html("RunResult", self._facts(), "tables: adoptions, agreements; provenance")


@dataclass(frozen=True, eq=False)
class EnsembleResult:
    """Many replicates: tables keyed by ``replicate`` and ``seed``."""

    adoptions: pd.DataFrame
    agreements: pd.DataFrame
    seeds: tuple[int, ...]
    scenario: Any
    provenance: dict = field(default_factory=dict)

    def _facts(self) -> dict:
        return {
            "scenario": getattr(self.scenario, "name", self.scenario),
            "replicates": len(self.seeds),
            "engine": self.provenance.get("engine", "batch"),
            "window": f"{self.scenario.start}-{self.scenario.end}",
        }

    def __repr__(self) -> str:
        return _repr.text("EnsembleResult", self._facts())

    def _repr_html_(self) -> str:
        return _repr.html("EnsembleResult", self._facts(), "tables: adoptions, agreements; provenance")

    @property
    def replicates(self) -> int:
        return len(self.seeds)

    @property
    def plot(self):
        """The ensemble's figures in one call each: ``ens.plot.cumulative()``, ``.timeline()``, ``.agreements()``
        (:class:`harmsim.figures.EnsemblePlots`; pass ``record=`` to compare with another record)."""
        from .figures import EnsemblePlots

        return EnsemblePlots(self)

    @property
    def parameters(self) -> pd.DataFrame:
        """The parameters as run: columns ``replicate, parameter, value, source``.

        A parameter every replicate shares has one row with ``replicate`` missing and ``source`` "scenario";
        a parameter drawn from a fit (a predictive ensemble) has one row per replicate with ``source`` "fit
        (mle)" or "fit (abc)".
        """
        pred = self.provenance.get("predictive") or {}
        drawn = pred.get("draws", {})
        held = {k: v for k, v in self.provenance.get("parameters", {}).items() if k not in drawn}
        rows = [{"replicate": pd.NA, "parameter": k, "value": v, "source": "scenario"} for k, v in held.items()]
        source = f"fit ({pred.get('fit', '?')})"
        for k, values in drawn.items():
            rows += [{"replicate": r, "parameter": k, "value": v, "source": source} for r, v in enumerate(values)]
        out = pd.DataFrame(rows, columns=["replicate", "parameter", "value", "source"])
        out["replicate"] = out["replicate"].astype("Int64")
        return out

    def replicate(self, i: int) -> RunResult:
        """Replicate ``i`` as a :class:`RunResult` (without a model)."""
        a = self.adoptions[self.adoptions["replicate"] == i].drop(columns=["replicate", "seed"])
        # (categorical columns keep all their categories, like a single run's table)
        g = self.agreements[self.agreements["replicate"] == i].drop(columns=["replicate", "seed"])
        return RunResult(
            a.reset_index(drop=True),
            g.reset_index(drop=True),
            self.seeds[i],
            self.scenario,
            provenance=self.provenance,
        )

    def cumulative(self) -> pd.DataFrame:
        """Adopters per (replicate, instrument, year) over the window, cumulative."""
        return cumulative_counts(self.adoptions, self.scenario.start, self.scenario.end)

    def share_adopted(self, quantiles=(0.05, 0.25, 0.5, 0.75, 0.95)) -> pd.DataFrame:
        """Share of states adopted per instrument and year: mean and quantiles over replicates."""
        c = self.cumulative()
        n = self.adoptions.groupby(["replicate", "instrument"], observed=True)["state"].count().iloc[0]
        c["share"] = c["adopters"] / n
        return quantile_band(c.groupby(["instrument", "year"], sort=False, observed=True)["share"], quantiles)

    def save(self, folder: str | Path, force: bool = False) -> list[Path]:
        """Write adoptions.csv, agreements.csv, parameters.csv and provenance.json into a new ``folder``.

        An existing result folder is replaced only with ``force`` (:mod:`harmsim._output`).
        """
        from ._output import ResultFolder

        with ResultFolder(folder, "ensemble", force) as rf:
            rf.add(self.write(rf.path))
        return rf.final

    def write(self, out: Path) -> list[Path]:
        """Write the tables into the existing folder ``out`` (what :meth:`save` writes); return the paths."""
        paths = [
            out / "adoptions.csv",
            out / "agreements.csv",
            out / "parameters.csv",
            out / "provenance.json",
        ]
        self.adoptions.to_csv(paths[0], index=False)
        self.agreements.to_csv(paths[1], index=False)
        params = self.parameters
        params["value"] = [json.dumps(v) if isinstance(v, (list, tuple)) else v for v in params["value"]]
        params.to_csv(paths[2], index=False)
        paths[3].write_text(json.dumps(self.provenance, indent=2, default=str) + "\n")
        return paths


def tidy_adoptions(world, adopt_year: np.ndarray, seeds=None) -> pd.DataFrame:
    """Engine adoption years (R, N, K) -> the tidy adoption table, in record order.

    Columns ``state, instrument, year`` (``year`` Int64, missing = not
    adopted), preceded by ``replicate, seed`` when ``seeds`` are given.
    ``state`` and ``instrument`` are categoricals ordered as in the record,
    which keeps tables of 1e5 runs small.
    """
    R, N, K = adopt_year.shape
    flat = adopt_year.reshape(-1)
    never = flat == NEVER
    cols = {}
    if seeds is not None:
        cols["replicate"] = np.repeat(np.arange(R), N * K)
        cols["seed"] = np.repeat(np.asarray(seeds, dtype=np.uint64), N * K)
    cols["state"] = pd.Categorical.from_codes(np.tile(np.repeat(np.arange(N), K), R), categories=world.states)
    cols["instrument"] = pd.Categorical.from_codes(np.tile(np.arange(K), R * N), categories=world.instruments)
    cols["year"] = pd.arrays.IntegerArray(np.where(never, 0, flat).astype(np.int64), never)
    return pd.DataFrame(cols)


def tidy_agreements(world, dynamics, arrival: np.ndarray, seeds=None) -> pd.DataFrame:
    """Engine arrival years (R, M) -> the tidy agreement table (empty when agreements are off).

    Columns ``agreement, year`` (Int64; missing = did not arrive), ``binding``,
    ``arrival`` (observed / endogenous), preceded by ``replicate, seed`` when
    ``seeds`` are given.
    """
    ag = dynamics.mechanism("agreements")
    R, M = arrival.shape if ag is not None else (0, 0)
    flat = arrival.reshape(-1) if ag is not None else np.zeros(0, dtype=arrival.dtype)
    never = flat == NEVER
    cols = {}
    if seeds is not None:
        cols["replicate"] = np.repeat(np.arange(R), M)
        cols["seed"] = np.repeat(np.asarray(seeds, dtype=np.uint64)[:R], M)
    cols["agreement"] = np.tile(np.array(world.agreements, dtype=object), R)
    cols["year"] = pd.arrays.IntegerArray(np.where(never, 0, flat).astype(np.int64), never)
    cols["binding"] = np.tile(world.binding, R).astype(bool)
    cols["arrival"] = np.full(R * M, ag.p.arrival if ag is not None else "", dtype=object)
    return pd.DataFrame(cols)


def adopters_by_year(adopt_year: np.ndarray, years: np.ndarray) -> np.ndarray:
    """(R, K, T) number of states that have adopted each instrument by each of ``years``, from (R, N, K) years."""
    return (adopt_year[..., None] <= years).sum(axis=1)


_EMPIRICAL = "inverted_cdf"  # a quantile is a value the data take


def quantile_band(grouped, quantiles) -> pd.DataFrame:
    """Mean and quantiles (columns ``mean``, ``q05``, ...) of a grouped series, as a flat table.

    Quantiles are values the series takes (the inverse of its empirical distribution function), so a
    median of counts of states is a whole number of states.
    """
    out = grouped.mean().rename("mean").to_frame()
    for q in quantiles:
        out[f"q{round(q * 100):02d}"] = grouped.agg(
            lambda x, q=q: np.quantile(x.to_numpy(float), q, method="inverted_cdf")
        )
    return out.reset_index()


def cumulative_counts(adoptions: pd.DataFrame, start: int, end: int) -> pd.DataFrame:
    """Cumulative adopters per (replicate, instrument, year) from a tidy adoption table."""
    years = np.arange(start, end + 1)
    a = adoptions.copy()
    if "replicate" not in a:
        a["replicate"] = 0
    instruments = list(dict.fromkeys(a["instrument"]))
    reps = np.sort(a["replicate"].unique())
    y = a["year"].to_numpy(dtype=float, na_value=np.inf)
    ri = np.searchsorted(reps, a["replicate"].to_numpy())
    ki = pd.Categorical(a["instrument"], categories=instruments).codes
    counts = np.zeros((len(reps), len(instruments), len(years)))
    # adopters by year: adoption year <= t
    yi = np.searchsorted(years, y, side="left")
    ok = np.isfinite(y) & (y <= end)
    yi = np.where(y < start, 0, yi)
    np.add.at(counts, (ri[ok], ki[ok], yi[ok]), 1)
    counts = counts.cumsum(axis=2)
    R, K, T = counts.shape
    return pd.DataFrame(
        {
            "replicate": np.repeat(reps, K * T),
            "instrument": np.tile(np.repeat(instruments, T), R),
            "year": np.tile(years, R * K),
            "adopters": counts.ravel().astype(int),
        }
    )

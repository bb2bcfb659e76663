"""Results of runs: tidy tables with their provenance.

A :class:`RunResult` is one run; an :class:`EnsembleResult` many replicates
of one scenario. Tables are long and tidy, keyed by replicate; ``provenance``
says what produced them (package versions, scenario and its digest, every
parameter, seeds, engine) and is written beside the tables by :meth:`save`.
"""

from __future__ import annotations

import json
import platform
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .rng import seed_record
from .world import NEVER

__all__ = ["EnsembleResult", "RunResult", "adopters_by_year", "provenance"]


def _version() -> str:
    from . import __version__

    return __version__


def provenance(scenario, seeds, engine: str) -> dict[str, Any]:
    """What produced a result: enough to rerun it."""
    from ._mesa import mesa

    return {
        "harmsim_version": _version(),
        "mesa_version": mesa.__version__,
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


@dataclass(frozen=True, eq=False)
class EnsembleResult:
    """Many replicates: tables keyed by ``replicate`` and ``seed``."""

    adoptions: pd.DataFrame
    agreements: pd.DataFrame
    seeds: tuple[int, ...]
    scenario: Any
    provenance: dict = field(default_factory=dict)

    @property
    def replicates(self) -> int:
        return len(self.seeds)

    @property
    def parameters(self) -> pd.DataFrame:
        """The scenario's parameters (one row each), as run."""
        p = self.provenance.get("parameters", {})
        return pd.DataFrame({"parameter": list(p), "value": list(p.values())})

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
        n = self.adoptions.groupby(["replicate", "instrument"])["state"].count().iloc[0]
        c["share"] = c["adopters"] / n
        return quantile_band(c.groupby(["instrument", "year"], sort=False)["share"], quantiles)

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
        params = self.provenance.get("parameters", {})
        pd.DataFrame(
            {
                "parameter": list(params),
                "value": [json.dumps(v) if isinstance(v, (list, tuple)) else v for v in params.values()],
            }
        ).to_csv(paths[2], index=False)
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


def quantile_band(grouped, quantiles) -> pd.DataFrame:
    """Mean and quantiles (columns ``mean``, ``q05``, ...) of a grouped series, as a flat table."""
    out = grouped.mean().rename("mean").to_frame()
    for q in quantiles:
        out[f"q{round(q * 100):02d}"] = grouped.quantile(q)
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

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
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harmsim import _repr
from harmsim._version import build_info
from harmsim.model.tables import cumulative_counts, quantile_band
from harmsim.rng import seed_record

__all__ = ["EnsembleResult", "RunResult", "build_info", "provenance"]


def _installed(package: str) -> str:
    """An installed package's version, read from its metadata (without importing it: Mesa costs a second)."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def provenance(scenario, seeds, engine: str) -> dict[str, Any]:
    """What produced a result: enough to rerun it (with :func:`build_info`: code version and command line).

    >>> import harmsim
    >>> p = provenance(harmsim.load_scenario("baseline"), [1, 2], "batch")
    >>> p["scenario"], p["record"], p["seeds"], p["window"]
    ('baseline', 'asean', [1, 2], [1997, 2015])
    """
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
    from a batch). ``provenance`` holds what a rerun needs: the scenario and
    its digest, the record, the parameters, the seed and the versions.

    >>> import harmsim
    >>> res = harmsim.run(harmsim.load_scenario("baseline"), seed=0)
    >>> res
    RunResult(scenario='baseline', seed=0, engine='mesa', adoptions=...)
    >>> res.provenance["scenario"], res.provenance["seeds"], res.provenance["harmsim_version"] == harmsim.__version__
    ('baseline', [0], True)
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
    """Many replicates: tables keyed by ``replicate`` and ``seed``.

    >>> import harmsim
    >>> ens = harmsim.run_ensemble(harmsim.load_scenario("baseline"), replicates=3, seed=1)
    >>> ens
    EnsembleResult(scenario='baseline', replicates=3, engine='batch', window='1997-2015')
    >>> list(ens.adoptions.columns), ens.adoptions["replicate"].nunique()
    (['replicate', 'seed', 'state', 'instrument', 'year'], 3)
    >>> ens.parameters.query("parameter == 'hazard.intercept'")[["value", "source"]].values.tolist()
    [[-5.6, 'scenario']]
    """

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
        (:class:`harmsim.output.figures.EnsemblePlots`; pass ``record=`` to compare with another record)."""
        from harmsim.output.figures import EnsemblePlots

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
        from harmsim._output import ResultFolder

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

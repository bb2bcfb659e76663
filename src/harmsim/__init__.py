"""harmsim: agent-based simulation of regional legal harmonization.

Member states (Mesa agents) adopt laws and join institutions year by year
under push/pull incentives, voluntary diffusion, regional agreements that
build on each other, external pressure, state capacity and prerequisites.
The observed ASEAN record of 1997-2015 ships with the package. Calibrated
scenarios forecast past the end of observation (``forecast``), are judged by
backtests inside the record (``backtest``; two of them paired cell by cell,
``compare_backtests``), and answer "what if"
(``counterfactual`` with a ``Change``).

>>> import harmsim
>>> sc = harmsim.load_scenario("baseline")
>>> res = harmsim.run(sc, seed=0)
>>> fit = harmsim.compare(res, harmsim.observed_record())
"""

from __future__ import annotations

from harmsim._version import __version__
from harmsim.analysis.backtest import backtest
from harmsim.analysis.counterfactual import counterfactual
from harmsim.analysis.forecast import forecast
from harmsim.analysis.paired import compare_backtests
from harmsim.analysis.run import run, run_ensemble
from harmsim.data.observations import observed_until
from harmsim.data.record import Record, load_record, observed_record
from harmsim.errors import CalibrationError, ConfigError, HarmsimError, HarmsimWarning, OutputError, RecordError
from harmsim.model.interventions import Change, load_change
from harmsim.model.scenario import Scenario, list_scenarios, load_scenario
from harmsim.model.synthetic import synthetic_organizations, synthetic_region, synthetic_scenario
from harmsim.output.results import EnsembleResult, RunResult
from harmsim.rng import spawn_seeds
from harmsim.scoring.compare import compare

__all__ = [
    "CalibrationError",
    "Change",
    "ConfigError",
    "EnsembleResult",
    "HarmonizationModel",
    "HarmsimError",
    "HarmsimWarning",
    "MemberState",
    "OutputError",
    "Record",
    "RecordError",
    "RunResult",
    "Scenario",
    "__version__",
    "backtest",
    "compare",
    "compare_backtests",
    "counterfactual",
    "forecast",
    "list_scenarios",
    "load_change",
    "load_record",
    "load_scenario",
    "observed_record",
    "observed_until",
    "run",
    "run_ensemble",
    "spawn_seeds",
    "synthetic_organizations",
    "synthetic_region",
    "synthetic_scenario",
]


def __getattr__(name: str):
    """The Mesa model's classes, imported when first asked for: Mesa (and what it imports) costs most of
    ``import harmsim``, and the batch engine, sweeps' workers and most commands never use it."""
    if name in ("HarmonizationModel", "MemberState"):
        from harmsim.model import mesa_model as model

        return getattr(model, name)
    raise AttributeError(f"module 'harmsim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), "HarmonizationModel", "MemberState"})  # the lazy ones too, for completion

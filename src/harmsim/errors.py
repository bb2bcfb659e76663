"""The exceptions harmsim raises on purpose.

Every error a user can cause is one of these, so callers (and the CLI) can
catch :class:`HarmsimError` and report one clear line::

    HarmsimError
    ├── ConfigError        a scenario, parameter or option is invalid
    ├── RecordError        an observed record (data files) is invalid
    ├── CalibrationError   a fit cannot be made or loaded
    ├── OutputError        a result cannot be written where asked
    └── LookaheadError     a mechanism asked for history of a year not yet decided

and one warning, :class:`HarmsimWarning`, for a result that was produced but
should be read with care (e.g. a calibration that stopped at its generation
cap); the CLI prints it as one line.

Each message names where the problem is (file, key or row), what was found,
and what is allowed.
"""

from __future__ import annotations

__all__ = [
    "CalibrationError",
    "ConfigError",
    "HarmsimError",
    "HarmsimWarning",
    "LookaheadError",
    "OutputError",
    "RecordError",
]


class HarmsimError(Exception):
    """Base class of every error harmsim raises on purpose.

    Catch it to report a user's mistake in one line, as the CLI does; any
    other exception is a defect of harmsim.

    >>> import harmsim
    >>> try:
    ...     harmsim.load_scenario("baseline").with_params({"diffusion.strenght": 1.0})
    ... except harmsim.HarmsimError as e:
    ...     print(type(e).__name__, "|", str(e).split(";")[0])
    ConfigError | scenario 'baseline': unknown key 'diffusion.strenght'
    """


class ConfigError(HarmsimError, ValueError):
    """A scenario file, a parameter value or a command-line option is invalid (an example under
    :class:`HarmsimError`)."""


class RecordError(HarmsimError, ValueError):
    """An observed record, or one of its data files, is invalid.

    >>> import tempfile, harmsim
    >>> harmsim.load_record(tempfile.mkdtemp())
    Traceback (most recent call last):
    ...
    harmsim.errors.RecordError: ...: no such record (packaged records: asean, global_criminalization, world; ...)
    """


class CalibrationError(HarmsimError):
    """A calibration cannot be run, or a saved fit cannot be used.

    >>> import tempfile
    >>> from harmsim.calibrate import load_fit
    >>> load_fit(tempfile.mkdtemp())
    Traceback (most recent call last):
    ...
    harmsim.errors.CalibrationError: ...: no fit.json (not a saved fit)
    """


class OutputError(HarmsimError):
    """A result cannot be written where asked (an existing folder without force, an unusable name).

    >>> import tempfile, harmsim
    >>> ens = harmsim.run_ensemble(harmsim.load_scenario("baseline"), replicates=2, seed=0)
    >>> folder = tempfile.mkdtemp()
    >>> _ = ens.save(folder, force=True)
    >>> ens.save(folder)
    Traceback (most recent call last):
    ...
    harmsim.errors.OutputError: ... holds an earlier result: pass --force (force=True) to replace it
    """


class LookaheadError(HarmsimError):
    """A mechanism read the history of a year that is not yet decided.

    Mechanisms see the history only through :class:`~harmsim.model.mechanisms.base.PastView`,
    which raises this instead of answering; it guards the likelihood, which
    holds the whole observed record, against terms that peek at the future.

    >>> import harmsim
    >>> from harmsim.model.mechanisms.base import PastView
    >>> view = PastView(harmsim.load_scenario("baseline").dynamics.initial_state(1), 2000)
    >>> view.adopted_before(2001)
    Traceback (most recent call last):
    ...
    harmsim.errors.LookaheadError: adoptions before 2001 asked while deciding 2000: a mechanism may read only the past
    """


class HarmsimWarning(UserWarning):
    """A result was produced, but a stated condition limits how far it can be trusted.

    ABC stopping at its generation cap is one: an example is under
    :func:`harmsim.calibrate.abc.abc_smc`. ``warnings.simplefilter("error",
    HarmsimWarning)`` makes every such result an error.
    """

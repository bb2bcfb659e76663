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
    """A scenario file, a parameter value or a command-line option is invalid."""


class RecordError(HarmsimError, ValueError):
    """An observed record, or one of its data files, is invalid."""


class CalibrationError(HarmsimError):
    """A calibration cannot be run, or a saved fit cannot be used."""


class OutputError(HarmsimError):
    """A result cannot be written where asked (an existing folder without force, an unusable name)."""


class LookaheadError(HarmsimError):
    """A mechanism read the history of a year that is not yet decided.

    Mechanisms see the history only through :class:`~harmsim.model.mechanisms.base.PastView`,
    which raises this instead of answering; it guards the likelihood, which
    holds the whole observed record, against terms that peek at the future.
    """


class HarmsimWarning(UserWarning):
    """A result was produced, but a stated condition limits how far it can be trusted."""

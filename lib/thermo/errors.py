"""Errors the library raises on bad input: one message that says what was wrong and what to do."""


class ThermoError(Exception):
    """Base class for every error thermo raises on purpose."""


class ConfigError(ThermoError, ValueError):
    """An invalid configuration or argument, detected before any work starts."""


class EnvironmentProblem(ThermoError):
    """Something missing from the machine rather than wrong with the computation (a dataset, the
    network). Never stored as a ``failed`` result: fixing the machine makes the point computable."""


class DatasetNotFound(EnvironmentProblem, FileNotFoundError):
    """A dataset is not available offline; the message says where we looked and how to get it."""


class CorruptRecord(ThermoError):
    """A results-store record that cannot be trusted (truncated, not JSON, wrong experiment)."""


class MissingResults(ThermoError):
    """Results a chapter, claim or second-stage experiment needs are not cached (a claim is then
    ``not yet tested``; the book build stops with this error and says how to compute them)."""

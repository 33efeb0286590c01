"""Experiments: one function per paper-figure family, pure in (config) and returning plain data.

Each :class:`Experiment` has an id, a version (bump it when the meaning of a result changes:
old records are then recomputed), the list of configs each profile runs, and ``compute(config)``.
``run(experiment_id, profile)`` goes through the results store: a cached record is loaded, a
missing one is computed (with progress bars) and saved with provenance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from thermo.errors import ConfigError, MissingResults
from thermo.profiles import PROFILES, check_profile
from thermo.results import Store, cached, check_experiment_id


@dataclass(frozen=True)
class Experiment:
    id: str
    version: int
    configs: Callable[[str], list]  # profile -> configs of the points to run
    compute: Callable[[dict], dict]
    title: str
    check: Callable[[dict], None] = lambda config: None  # raise ConfigError before any work
    needs: tuple[str, ...] = ()  # experiments whose cached results this one's configs are built from

    def known_keys(self) -> frozenset:
        """Every config key this experiment's profiles use (a key outside them is a typo)."""
        if self not in _KEYS:
            keys: set = set()
            for p in PROFILES:
                try:
                    keys.update(k for cfg in self.configs(p) for k in cfg)
                except (MissingResults, ConfigError):  # a second stage not ready: keys from other profiles
                    continue
            _KEYS[self] = frozenset(keys)
        return _KEYS[self]

    def check_config(self, config: dict) -> dict:
        """``config`` if its keys are this experiment's and ``check`` passes; one ConfigError
        otherwise (an unknown key would be ignored by ``compute`` yet change the record's key)."""
        if not isinstance(config, dict):
            raise ConfigError(f"{self.id}: a config must be a dict, got {type(config).__name__}")
        known = self.known_keys()
        unknown = sorted(set(config) - known) if known else []
        if unknown:
            raise ConfigError(f"{self.id}: unknown config key{'s' if len(unknown) > 1 else ''} "
                              f"{', '.join(map(repr, unknown))}; its keys are {', '.join(sorted(known))}")
        self.check(config)
        return config

    def checked_configs(self, profile: str) -> list:
        """The profile's configs, each validated with ``check`` before anything runs."""
        configs = self.configs(check_profile(profile))
        for cfg in configs:
            self.check(cfg)
        return configs


REGISTRY: dict[str, Experiment] = {}
_KEYS: dict = {}  # Experiment -> frozenset of its config keys


def register(exp: Experiment) -> Experiment:
    check_experiment_id(exp.id)
    REGISTRY[exp.id] = exp
    return exp


def get(experiment_id: str) -> Experiment:
    """A registered experiment (the papers register theirs on import: :mod:`thermo.catalog` loads
    them all)."""
    if experiment_id not in REGISTRY:
        raise ConfigError(
            f"unknown experiment {experiment_id!r}: choose one of {', '.join(sorted(REGISTRY))}"
        )
    return REGISTRY[experiment_id]


def in_dependency_order(ids) -> list[str]:
    """``ids`` reordered so that every experiment comes after the ones it ``needs`` (those among
    ``ids``); otherwise the given order is kept."""
    ids = list(dict.fromkeys(ids))
    placed: list[str] = []

    def place(i, stack=()):
        if i in placed:
            return
        if i in stack:
            raise ConfigError(f"experiments depend on each other in a cycle: {' -> '.join((*stack, i))}")
        for dep in get(i).needs:
            if dep in ids:
                place(dep, (*stack, i))
        placed.append(i)

    for i in ids:
        place(i)
    return placed


def run(experiment_id: str, profile: str, store: Store | None = None, recompute: bool = False) -> list[dict]:
    """Every point of an experiment in ``profile``, from the store or computed now."""
    exp = get(experiment_id)
    return [
        cached(exp.id, exp.version, cfg, exp.compute, profile, store=store, recompute=recompute)
        for cfg in exp.checked_configs(profile)
    ]

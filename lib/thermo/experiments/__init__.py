"""Experiments: one function per paper-figure family, pure in (config) and returning plain data.

Each :class:`Experiment` has an id, a version (bump it when the meaning of a result changes:
old records are then recomputed), the list of configs each profile runs, and ``compute(config)``.
``run(experiment_id, profile)`` goes through the results store: a cached record is loaded, a
missing one is computed (with progress bars) and saved with provenance.

An experiment may also say what one of its runs computes, from the config alone: ``plan(config)``
returns a :class:`RunPlan` (the model and its input, the optimizer, how many steps and
evaluations; or the JAX pieces of the run as :class:`Work`). ``python -m thermo cost``
(:mod:`thermo.cost`) counts FLOPs from it and ``tests/test_paper_configs.py`` takes one step with it.
"""

from __future__ import annotations

import math
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
    plan: Callable[[dict], RunPlan] | None = None  # config -> what one run computes (thermo.cost)

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


@dataclass(frozen=True)
class Work:
    """A jittable piece of a JAX run: ``make()`` returns ``(fn, args)`` (``args`` arrays or
    ``jax.ShapeDtypeStruct``), and the run calls ``fn(*args)`` ``times`` times. Pieces with the
    same ``key`` cost the same, so they are counted once (XLA's cost analysis of the compiled
    ``fn``: :func:`thermo.cost.xla_flops`)."""

    name: str
    key: tuple
    make: Callable[[], tuple]
    times: float


@dataclass(frozen=True)
class RunPlan:
    """What one run of an experiment computes, from its config alone (no data loaded, no results
    read): returned by ``Experiment.plan(config)``.

    ``kind="torch"``: ``build()`` makes the model on the CPU; one example has shape ``in_shape``
    with a label in ``0..num_classes - 1``; ``loss(logits, labels)`` (None: cross-entropy) and
    ``optimizer(model)`` are what the run uses. Over the run ``train_examples`` examples go
    through a forward and backward pass (every epoch's training set, and probes that take a
    gradient) and ``forward_examples`` through a forward pass alone (evaluations, probes);
    ``model_key`` names the architecture and input (runs with equal keys cost the same per example).

    ``kind="jax"``: ``jax_step(n)`` returns ``(step, args)``, one training step of the run's
    network on ``n`` synthetic examples: ``step(*args) -> (loss, new_params)`` with ``args[0]`` the
    parameters; ``jax_work`` the run's jittable pieces and how often each runs.

    ``kind="analysis"``: no training; its arithmetic is in ``extra_flops``.

    ``extra_flops(model)`` (``model`` the built torch model on the meta device, or None): what
    neither counter sees (eigensolvers, power iterations), from closed forms explained in
    ``note``. ``precision`` is the run's floating-point type (the JAX kernel chapters use float64).
    """

    kind: str
    steps: int = 0  # optimizer (or full-batch gradient-descent) steps
    epochs: int | None = None  # passes over the training set; None: the run counts steps
    build: Callable | None = None
    model_key: tuple = ()
    in_shape: tuple = ()
    num_classes: int = 0
    batch_size: int = 0
    loss: Callable | None = None
    optimizer: Callable | None = None
    train_examples: int = 0
    forward_examples: int = 0
    jax_step: Callable[[int], tuple] | None = None
    jax_work: tuple = ()
    extra_flops: Callable | None = None
    precision: str = "float32"
    note: str = ""

    KINDS = ("torch", "jax", "analysis")

    def __post_init__(self):
        if self.kind not in self.KINDS:
            raise ConfigError(f"a RunPlan's kind must be one of {self.KINDS}, got {self.kind!r}")
        if self.precision not in ("float32", "float64"):
            raise ConfigError(f"a RunPlan's precision must be float32 or float64, got {self.precision!r}")


def evaluations(train_config, steps_per_epoch: int) -> int:
    """How many times ``thermo.train.fit`` scores its test (or validation) set in a run of
    ``train_config``: after every ``eval_every`` epochs and the last one, and after each of its
    ``eval_steps`` that the run reaches."""
    epochs, every = train_config.epochs, train_config.eval_every
    per_epoch = sum(1 for e in range(1, epochs + 1) if e % every == 0 or e == epochs)
    last = epochs * steps_per_epoch
    return per_epoch + len({s for s in train_config.eval_steps if s <= last})


def torch_plan(build: Callable, model_key: tuple, in_shape, num_classes: int, train_config, n_train: int,
               n_eval: int, **extra) -> RunPlan:
    """The :class:`RunPlan` of a ``thermo.train.fit`` run of ``train_config`` on ``n_train``
    examples scored on ``n_eval`` (every evaluation of :func:`evaluations`). ``extra`` adds to the
    plan's fields: ``train_examples`` and ``forward_examples`` are added to the loop's own
    (probes, a final test score), the others replace the defaults (``optimizer``: SGD or Adam of the
    config over every parameter, as ``thermo.train.fit`` makes it)."""
    spe = math.ceil(n_train / train_config.batch_size)

    def default_optimizer(model):
        from thermo import train

        return train.make_optimizer(model, train_config)

    fields = {"kind": "torch", "steps": train_config.epochs * spe, "epochs": train_config.epochs, "build": build,
              "model_key": model_key, "in_shape": tuple(in_shape), "num_classes": num_classes,
              "batch_size": train_config.batch_size, "optimizer": default_optimizer,
              "train_examples": train_config.epochs * n_train + extra.pop("train_examples", 0),
              "forward_examples": evaluations(train_config, spe) * n_eval + extra.pop("forward_examples", 0)}
    return RunPlan(**{**fields, **extra})


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

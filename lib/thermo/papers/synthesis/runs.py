"""The synthesis chapter's experiments (``notebooks/synthesis/01-four-thermometers``): one network
trained under four controllers of its temperature, every run read by the four thermometers of
:mod:`thermo.papers.synthesis.thermometers`.

One compute function, :func:`syn_run`: Fashion-MNIST (quick), the network of the config, SGD with
momentum and the softmax cross-entropy at inverse temperature ``beta``
(:func:`thermo.softmax.torch_beta_loss`), under one ``schedule``:

- ``cosine``: cosine annealing from ``lr`` with the weight decay of the config;
- ``tempbalance``: the same with :class:`thermo.tempbalance.TempBalance` (one parameter group per
  tuned layer, factors from alpha every epoch);
- ``actcool``: :class:`thermo.actcool.ActCoolLR` driving the learning rate along ActCoolR's linear
  cooling curve (its eq. 8) from ``t_start``;
- ``autol2``: the cosine learning rate with :class:`thermo.l2.AutoL2` driving the weight decay.

The test set is scored after every epoch. The record is ``TrainResult.to_record`` with the
thermometers' layers, pairs, baselines and seconds (:meth:`ThermometerSet.record`). Runs checkpoint
after every epoch and resume where they stopped (``python -m thermo run`` again). The grids are in
:mod:`thermo.papers.synthesis.configs`.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from thermo import actcool, apt, data, l2, models, softmax, tempbalance, train
from thermo.errors import ConfigError
from thermo.experiments import Experiment, RunPlan, register, torch_plan
from thermo.papers.synthesis import configs
from thermo.papers.synthesis.thermometers import ThermometerSet
from thermo.results import config_hash

VERSION = 1


def train_config(config: dict) -> train.TrainConfig:
    """Every TrainConfig field of the config; ActCoolLR's runs start from ``lr_init`` and the
    controller takes over (constant schedule underneath), the others anneal by cosine per step;
    AutoL2 starts at ``l2_start``. The test set is scored after every epoch."""
    schedule = "constant" if config["schedule"] == "actcool" else "cosine"
    lr = config["lr_init"] if config["schedule"] == "actcool" else config["lr"]
    wd = config["l2_start"] if config["schedule"] == "autol2" else config["weight_decay"]
    return train.TrainConfig.from_config(config, schedule=schedule, lr=lr, weight_decay=wd, eval_every=1)


def check(config: dict) -> None:
    """Every error of a config before any work: the schedule, beta, the probe period and batch, the
    data set and the model (which the thermometers must be able to read), and each controller's
    settings."""
    if config["schedule"] not in configs.SCHEDULES:
        raise ConfigError(f"schedule must be one of {configs.SCHEDULES}, got {config['schedule']!r}")
    softmax.check_beta(config["beta"])
    apt.check_granularity(config["granularity"])
    if not (isinstance(config["probe_size"], int) and config["probe_size"] >= 1):
        raise ConfigError(f"probe_size must be a positive number of examples, got {config['probe_size']!r}")
    sp = data.spec(config["dataset"])
    model = build_model(config, sp.in_shape, sp.num_classes)
    ThermometerSet(model, torch.zeros(1, *sp.in_shape), config["beta"], config["probe_every"], config["granularity"])
    train_config(config)
    if config["schedule"] == "tempbalance":
        tempbalance.check_scales(config["s1"], config["s2"])
    if config["schedule"] == "actcool":
        actcool.linear_target(config["t_start"], 1, config["gamma"])
        apt.check_lr_grid(lr_grid(config))
    if config["schedule"] == "autol2":
        l2.AutoL2(config["l2_start"], config["l2_every"])


def build_model(config: dict, in_shape, num_classes: int):
    """The config's network (an MLP with the config's ``hidden`` layers, when it names them), with He's
    initialization when ``init`` is ``"he"`` (:func:`thermo.models.init_normal_`)."""
    extra = {"hidden": tuple(config["hidden"])} if config.get("hidden") else {}
    model = models.build(config["model"], in_shape, num_classes, width=config["width"], **extra)
    if config.get("init") not in (None, "he"):
        raise ConfigError(f"init must be None (torch's default) or 'he', got {config['init']!r}")
    return models.init_normal_(model) if config.get("init") == "he" else model


def lr_grid(config: dict) -> np.ndarray:
    low, high, points = config["lr_grid"]
    return np.geomspace(float(low), float(high), int(points))


def datasets(config: dict):
    """The seeded training subset and test subset of the config."""
    tr = data.load(config["dataset"], "train", n=config["n_train"], seed=0)
    te = data.load(config["dataset"], "test", n=config["n_test"], seed=0)
    return tr, te


def controllers(config: dict, model, cfg: train.TrainConfig, steps: int):
    """``(callbacks, optimizer)`` of the run's controller (None: SGD over every parameter)."""
    schedule = config["schedule"]
    if schedule == "tempbalance":
        tb = tempbalance.TempBalance(model, config["s1"], config["s2"])
        return [tb], train.make_optimizer(tb.param_groups(cfg.weight_decay), cfg)
    if schedule == "actcool":
        target = actcool.linear_target(config["t_start"], steps, config["gamma"])
        return [actcool.ActCoolLR(target, lr_init=config["lr_init"], every=config["probe_every"],
                                  granularity=config["granularity"], lr_grid=lr_grid(config))], None
    if schedule == "autol2":
        return [l2.AutoL2(config["l2_start"], config["l2_every"])], None
    return [], None


def syn_run(config: dict) -> dict:
    """Train one network under one controller with the four thermometers (see the module docstring)."""
    check(config)
    tr, te = datasets(config)
    torch.manual_seed(config["seed"])
    model = build_model(config, tr.in_shape, tr.num_classes)
    cfg = train_config(config)
    steps = cfg.epochs * math.ceil(len(tr) / cfg.batch_size)
    control, optimizer = controllers(config, model, cfg, steps)
    therm = ThermometerSet(model, tr.x[:config["probe_size"]], config["beta"], config["probe_every"],
                           config["granularity"])
    res = train.fit(model, tr, te, cfg, callbacks=[*control, *therm.callbacks], optimizer=optimizer,
                    loss_fn=softmax.torch_beta_loss(config["beta"]),
                    run_id=f"syn-{config_hash('syn-run', VERSION, config)}",
                    description=f"{config['model']} {config['schedule']} beta {config['beta']:g} seed {config['seed']}")
    decays = {"l2_decays": list(control[0].decays)} if config["schedule"] == "autol2" else {}
    return res.to_record(thermometers=therm.record(), **decays)


def plan_run(config: dict) -> RunPlan:
    """:func:`syn_run`'s run: the network with SGD, the test set scored every epoch, one extra forward
    of a training batch per APT reading, the probe batch once per epoch; TempBalance's and the alpha
    thermometer's eigensolvers are not counted (a few per epoch)."""
    ds = data.shape(config["dataset"])
    cfg = train_config(config)
    n_train = config["n_train"] or ds.n_train
    n_test = config["n_test"] or ds.n_test
    steps = cfg.epochs * math.ceil(n_train / cfg.batch_size)
    probes = (steps // config["probe_every"]) * (2 if config["schedule"] == "actcool" else 1)

    def build():
        return build_model(config, ds.in_shape, ds.num_classes)

    forward = probes * cfg.batch_size + (cfg.epochs + 1) * config["probe_size"]
    return torch_plan(build, ("syn", config["model"], ds.name, config["width"]), ds.in_shape, ds.num_classes, cfg,
                      n_train, n_test, forward_examples=forward,
                      note="APT readings: an extra forward of one batch; the logit scale: the probe batch per epoch")


SCHEDULES = register(Experiment("syn-schedules", VERSION, configs.schedule_configs, syn_run,
                                "Synthesis: one network under cosine, TempBalance, ActCoolLR and AutoL2, read by "
                                "four thermometers", check, plan=plan_run))
BETA = register(Experiment("syn-beta", VERSION, configs.beta_configs, syn_run,
                           "Synthesis: the cosine baseline at two other softmax inverse temperatures beta "
                           "(eta = eta_0 / beta), read by four thermometers", check, plan=plan_run))

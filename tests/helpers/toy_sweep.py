"""A reader's own experiment, swept by ``python -m thermo run`` through ``THERMO_EXPERIMENT_MODULES``:
a small MLP on scikit-learn's digits over a learning-rate grid that reaches divergence (lr = 1000:
a non-finite loss is recorded as ``diverged`` and the sweep goes on). The sweep tests use it."""

from __future__ import annotations

import torch

from thermo import data, models, train
from thermo.experiments import Experiment, register

GRID = {"dataset": "digits", "model": "mlp", "width": 0.25, "epochs": 2, "batch_size": 64, "schedule": "constant"}
LRS = [0.01, 0.3, 1000.0]


def configs(profile: str) -> list[dict]:
    return [{**GRID, "lr": lr, "seed": 0} for lr in LRS]


def check(config: dict) -> None:
    sp = data.spec(config["dataset"])
    models.build(config["model"], sp.in_shape, sp.num_classes, width=config["width"])
    train.TrainConfig.from_config(config)


def compute(config: dict) -> dict:
    tr, te = data.load(config["dataset"], "train"), data.load(config["dataset"], "test")
    torch.manual_seed(config["seed"])
    model = models.build(config["model"], tr.in_shape, tr.num_classes, width=config["width"])
    res = train.fit(model, tr, te, train.TrainConfig.from_config(config), progress=False)
    return res.to_record(diverged_at_step=res.diverged_at_step)


TOY = register(Experiment("toy-lr-sweep", 1, configs, compute, "A reader's learning-rate sweep (tests)", check))

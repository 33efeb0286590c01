"""``lr-sweep``: final accuracy of one model over a grid of learning rates, divergence included.

A generic sweep that later chapters build on (the optimal learning rate against the softmax
temperature, TempBalance's initial-LR ablation). The grid deliberately reaches learning rates
at which training diverges: such points are stored with status ``diverged`` and the step it
happened, and the sweep goes on. Note that a ReLU network often dies before it diverges (quick
profile: from lr = 1 to 100 the loss stays finite but accuracy falls to chance); only a
non-finite loss counts as divergence (lr = 1000 here).
"""

from __future__ import annotations

import torch

from thermo import data, models, train
from thermo.experiments import Experiment, register

GRID = {
    "smoke": {"dataset": "digits", "model": "mlp", "width": 0.25, "epochs": 2, "batch_size": 64,
              "lrs": [0.01, 0.3, 1000.0], "seeds": [0]},
    "quick": {"dataset": "digits", "model": "mlp", "width": 0.5, "epochs": 20, "batch_size": 64,
              "lrs": [0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 1000.0], "seeds": [0, 1, 2]},
    "paper": {"dataset": "fashion-mnist", "model": "mlp", "width": 1.0, "epochs": 50, "batch_size": 128,
              "lrs": [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0], "seeds": [0, 1, 2, 3, 4]},
}


def configs(profile: str) -> list[dict]:
    g = GRID[profile]
    base = {k: v for k, v in g.items() if k not in ("lrs", "seeds")}
    return [{**base, "lr": lr, "seed": seed} for lr in g["lrs"] for seed in g["seeds"]]


def train_config(config: dict) -> train.TrainConfig:
    return train.TrainConfig(epochs=config["epochs"], lr=config["lr"], batch_size=config["batch_size"],
                             seed=config["seed"], schedule="constant", momentum=0.9).validate()


def check(config: dict) -> None:
    """Everything that can be wrong with a point, found before any point runs."""
    sp = data.spec(config["dataset"])
    models.build(config["model"], sp.in_shape, sp.num_classes, width=config["width"])
    train_config(config)


def compute(config: dict) -> dict:
    cfg = train_config(config)
    tr = data.load(config["dataset"], "train")
    te = data.load(config["dataset"], "test")
    torch.manual_seed(config["seed"])
    model = models.build(config["model"], tr.in_shape, tr.num_classes, width=config["width"])
    res = train.fit(model, tr, te, cfg, progress=False)
    out = {"status": res.status, "history": res.history, "steps": res.steps_done,
           "final_test_acc": res.final("test_acc"), "diverged_at_step": res.diverged_at_step}
    if res.status == "diverged":
        out["reason"] = f"non-finite loss at step {res.diverged_at_step}"
    return out


register(Experiment("lr-sweep", 1, configs, compute,
                    "Final test accuracy over a learning-rate grid (divergent rates included)", check))

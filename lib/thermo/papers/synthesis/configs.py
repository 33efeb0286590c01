"""The synthesis chapter's per-profile grids (chapter ``notebooks/synthesis/01-four-thermometers``):
pure data, read by :mod:`thermo.papers.synthesis.runs`.

One network trained under four controllers of its temperature, every run read by the same four
thermometers (:mod:`thermo.papers.synthesis.thermometers`):

- ``cosine``: cosine annealing of the learning rate with a fixed weight decay (the baseline);
- ``tempbalance``: the same, with TempBalance's layer-wise learning rates on top (its Algorithm 1);
- ``actcool``: ActCoolLR driving the learning rate along ActCoolR's linear cooling curve (its eq. 8);
- ``autol2``: the cosine learning rate, with AutoL2 (the L2 paper's Algorithm 1) driving the weight decay.

``syn-schedules`` runs the four at beta = 1 with the same seeds (:func:`schedule_configs`);
``syn-beta`` runs the baseline at two other inverse temperatures beta of the softmax, at the
learning rate eta_0 / beta that the Temperature-check paper recommends (:func:`beta_configs`).

Quick profile (CPU): Fashion-MNIST, ResNet-20 at width 0.5 (BatchNorm) on a fixed subset of 10,000
training images, scored on 5,000 test images after every epoch (the L2 clock needs the test curve),
15 epochs, batch 128, SGD with momentum 0.9, eta_0 = 0.1, weight decay 5e-4: the network, data and
optimizer of the TempBalance and ActCoolR chapters. ActCoolLR starts its cooling curve at the
temperature the ActCoolR chapter uses for this network (0.6, per-position patterns, gamma = 1).
AutoL2 starts at lambda = 5e-3 and measures every 10 steps: with momentum 0.9 and eta_0 = 0.1 that
shrinks the weights by eta * lambda / (1 - momentum) = 0.005 per step, as the L2 chapter's ConvNet
(lambda 0.1, eta 0.05, no momentum). Three seeds (the book's 43, 37, 13).

Smoke profile (tests, seconds): an MLP with five hidden layers of 64 units (each with 64
eigenvalues, enough for the Hill estimate; He's initialization, without which so deep an MLP does
not start learning in a few steps) on 512 images, 6 epochs of batches of 64 at eta_0 = 0.05, the
same three seeds: every reading and every analysis runs, on a network that trains in a second.
"""

from __future__ import annotations

from dataclasses import dataclass

SCHEDULES = ("cosine", "tempbalance", "actcool", "autol2")
SEEDS = {"smoke": (43, 37, 13), "quick": (43, 37, 13), "paper": (43, 37, 13)}
BETAS = (0.5, 2.0)  # syn-beta: beta besides the 1 of syn-schedules
GRANULARITY = "position"  # the APT patterns of the thermometer and of ActCoolLR (thermo.apt)


@dataclass(frozen=True)
class Setting:
    """The data, network and optimizer of a profile's runs, and how often the thermometers read."""

    dataset: str
    n_train: int | None  # None: the whole training split
    n_test: int | None
    model: str
    width: float
    hidden: tuple | None  # the MLP's hidden layers (thermo.models.MLP); None for the other networks
    init: str | None  # "he": weights ~ N(0, 2 / fan_in) (thermo.models.init_normal_); None: torch's default
    epochs: int
    batch_size: int
    lr: float  # eta_0: the cosine's start, TempBalance's base
    weight_decay: float
    probe_every: int  # APT, the effective LR and the L2 clock every this many steps
    probe_size: int  # the fixed probe batch of the logit scale (the first examples of the training set)
    lr_grid: tuple  # ActCoolLR's LR range at the first batch: (low, high, points) of a log grid


SETTINGS = {
    "smoke": Setting("fashion-mnist", 512, 512, "mlp", 1.0, (64,) * 5, "he", 6, 64, 0.05, 5e-4, 4, 64,
                     (1e-3, 10.0, 7)),
    "quick": Setting("fashion-mnist", 10000, 5000, "resnet20", 0.5, None, None, 15, 128, 0.1, 5e-4, 10, 256,
                     (1e-4, 1e2, 31)),
    "paper": Setting("cifar10", None, None, "resnet20", 1.0, None, None, 200, 128, 0.1, 5e-4, 10, 256,
                     (1e-4, 1e2, 31)),
}


@dataclass(frozen=True)
class Controllers:
    """The settings of the three controllers (the papers' defaults where they have one)."""

    s1: float = 0.5  # TempBalance's LR factors (its eq. 2)
    s2: float = 1.5
    t_start: float = 0.6  # ActCoolLR's cooling curve C(i) = t_start (1 - (i / i_total)^gamma) (ActCoolR's eq. 8)
    gamma: float = 1.0
    lr_init: float = 0.05  # ActCoolLR's LR until its first measurement
    l2_start: float = 5e-3  # AutoL2's first lambda
    l2_every: int = 10  # AutoL2 measures the training loss and error every this many steps


CONTROLLERS = {"smoke": Controllers(), "quick": Controllers(), "paper": Controllers(t_start=3.17)}


def point(profile: str, schedule: str, seed: int, beta: float = 1.0) -> dict:
    """The config of one run: the profile's :class:`Setting`, ``schedule`` and its controller's
    settings (None for the others), the seed and the softmax's inverse temperature ``beta`` at the
    learning rate eta_0 / beta."""
    s, c = SETTINGS[profile], CONTROLLERS[profile]
    tb, ac, al = schedule == "tempbalance", schedule == "actcool", schedule == "autol2"
    return {"dataset": s.dataset, "n_train": s.n_train, "n_test": s.n_test, "model": s.model, "width": s.width,
            "hidden": list(s.hidden) if s.hidden else None, "init": s.init, "epochs": s.epochs,
            "batch_size": s.batch_size, "momentum": 0.9, "schedule": schedule, "lr": round(s.lr / beta, 12),
            "weight_decay": s.weight_decay, "beta": beta, "seed": seed, "probe_every": s.probe_every,
            "probe_size": s.probe_size, "granularity": GRANULARITY,
            "s1": c.s1 if tb else None, "s2": c.s2 if tb else None,
            "t_start": c.t_start if ac else None, "gamma": c.gamma if ac else None,
            "lr_init": c.lr_init if ac else None, "lr_grid": list(s.lr_grid) if ac else None,
            "l2_start": c.l2_start if al else None, "l2_every": c.l2_every if al else None}


def schedule_configs(profile: str) -> list[dict]:
    """``syn-schedules``: the four controllers at beta = 1, every seed (the same seeds for each)."""
    return [point(profile, s, seed) for seed in SEEDS[profile] for s in SCHEDULES]


def beta_configs(profile: str) -> list[dict]:
    """``syn-beta``: the cosine baseline at the other betas, every seed (beta = 1 is in ``syn-schedules``)."""
    return [point(profile, "cosine", seed, beta) for seed in SEEDS[profile] for beta in BETAS]

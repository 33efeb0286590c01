"""The grids of the L2 chapter (``notebooks/l2-regularization/01-l2-and-the-learning-rate``), per
profile, and the config dicts each experiment runs: pure data, no torch, no JAX.

Lewkowycz and Gur-Ari (2020), supplement: Fig. 2a-c and Figs. 1b / S3 (``l2-tstar``), Section D /
Fig. S7 (``l2-narrow``), Section E / Algorithm 1 and Figs. S9, S11 (``l2-autol2``), Theorem 1 and
Fig. 5 (``l2-kernel-decay``, ``l2-eq1``); AutoL2 against a fixed lambda picked on a validation split
(``l2-autol2-val``).

The config dicts are the results store's keys: a change to any of them (a key, a value, the order
of floats that are rounded) orphans the cached records, so the expansions below are kept exactly
as they were when those records were computed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

BUDGET_ETA = 0.1  # the learning rate of the lambda-for-a-budget analysis (Figs. 1b, S3) and of AutoL2's FC runs


@dataclass(frozen=True)
class TstarGrid:
    """``l2-tstar``: eta x (eta * lambda) products (t* ~ c / (eta lambda) spans a decade), extra
    lambdas at ``BUDGET_ETA`` for the budget analysis, and the lambda = 0 control for the seeds in
    ``zero_lam_seeds``. Each run lasts min(``cap``, 2 / (eta lambda)) steps."""

    widths: tuple[int, ...]
    seeds: tuple[int, ...]
    etas: tuple[float, ...]
    products: tuple[float, ...]
    extra_lams: tuple[float, ...]
    cap: int
    n_train: int
    n_test: int | None  # None: every mnist-5k example outside the training set
    zero_lam_seeds: tuple[int, ...]


TSTAR = {
    "smoke": TstarGrid(widths=(16,), seeds=(0,), etas=(0.1,), products=(3e-3, 1e-2, 3e-2), extra_lams=(),
                       cap=300, n_train=128, n_test=512, zero_lam_seeds=(0,)),
    "quick": TstarGrid(widths=(128, 256), seeds=(0, 1), etas=(0.05, 0.1, 0.2), products=(1e-4, 3e-4, 1e-3),
                       extra_lams=(2e-4, 5e-4), cap=20000, n_train=512, n_test=None, zero_lam_seeds=(0,)),
    "paper": TstarGrid(widths=(2048,), seeds=(0,), etas=(0.01, 0.025, 0.05, 0.1, 0.3),
                       products=(1e-5, 3e-5, 1e-4, 3e-4, 1e-3), extra_lams=(1e-4, 2e-4, 5e-4), cap=400000,
                       n_train=512, n_test=None, zero_lam_seeds=(0,)),
}


def run_length(cap: int, eta: float, lam: float) -> int:
    """Twice the law's t* for c = 1, at most ``cap`` steps (``cap`` for lambda = 0)."""
    return cap if lam == 0 else min(cap, int(math.ceil(2.0 / (eta * lam))))


def _tstar_point(g: TstarGrid, width: int, seed: int, eta: float, lam: float) -> dict:
    return {"dataset": "mnist-5k", "n_train": g.n_train, "n_test": g.n_test, "model": "fc3",
            "width": width, "sigma_w2": 2.0, "eta": eta, "lam": lam, "steps": run_length(g.cap, eta, lam),
            "seed": seed, "per_decade": 25}


def tstar_configs(profile: str) -> list[dict]:
    """Every (width, seed, eta, lambda) point of ``l2-tstar`` in ``profile``."""
    g = TSTAR[profile]
    out = []
    for width in g.widths:
        for seed in g.seeds:
            lams = {(eta, round(p / eta, 12)) for eta in g.etas for p in g.products}
            lams |= {(BUDGET_ETA, lam) for lam in g.extra_lams}
            if seed in g.zero_lam_seeds:
                lams.add((BUDGET_ETA, 0.0))
            out += [_tstar_point(g, width, seed, eta, lam) for eta, lam in sorted(lams)]
    return out


@dataclass(frozen=True)
class NarrowGrid:
    """``l2-narrow`` (supplement Section D, Fig. S7): a narrow FC network on a large training set
    (all of Fashion-MNIST; the supplement used CIFAR-10), minibatch SGD at ``eta``."""

    width: int
    seeds: tuple[int, ...]
    lams: tuple[float, ...]
    cap: int
    n_train: int | None  # None: the whole training split
    n_test: int | None
    eta: float = 0.1
    batch_size: int = 512


NARROW = {
    "smoke": NarrowGrid(width=8, seeds=(0,), lams=(1e-3, 1e-2), cap=200, n_train=1024, n_test=512),
    "quick": NarrowGrid(width=64, seeds=(0, 1), lams=(1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3), cap=30000,
                        n_train=None, n_test=None),
    "paper": NarrowGrid(width=64, seeds=(0, 1, 2), lams=(1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2), cap=400000,
                        n_train=None, n_test=None),
}


def narrow_configs(profile: str) -> list[dict]:
    """Every (lambda, seed) point of ``l2-narrow`` in ``profile``."""
    g = NARROW[profile]
    return [{"dataset": "fashion-mnist", "n_train": g.n_train, "n_test": g.n_test, "model": "fc3",
             "width": g.width, "sigma_w2": 2.0, "eta": g.eta, "lam": lam, "batch_size": g.batch_size,
             "steps": run_length(g.cap, g.eta, lam), "seed": seed, "per_decade": 25}
            for lam in g.lams for seed in g.seeds]


@dataclass(frozen=True)
class AutoL2Grid:
    """``l2-autol2``: the FC setup of ``l2-tstar`` (``fc_*``; the fixed-lambda runs it is compared
    with are ``l2-tstar``'s at ``BUDGET_ETA``) and a small ConvNet on Fashion-MNIST (``conv_*``)
    against fixed lambdas ``conv_lams``."""

    fc_width: int
    fc_steps: int
    fc_n_train: int
    fc_n_test: int | None
    seeds: tuple[int, ...]
    conv_n_train: int | None
    conv_n_test: int | None
    conv_epochs: int
    conv_width: float
    conv_lams: tuple[float, ...]


AUTOL2 = {
    "smoke": AutoL2Grid(fc_width=16, fc_steps=300, fc_n_train=128, fc_n_test=512, seeds=(0,), conv_n_train=512,
                        conv_n_test=256, conv_epochs=2, conv_width=0.25, conv_lams=(1e-3,)),
    "quick": AutoL2Grid(fc_width=256, fc_steps=20000, fc_n_train=512, fc_n_test=None, seeds=(0, 1),
                        conv_n_train=10000, conv_n_test=None, conv_epochs=20, conv_width=1.0,
                        conv_lams=(1e-4, 1e-3, 1e-2)),
    "paper": AutoL2Grid(fc_width=2048, fc_steps=100000, fc_n_train=512, fc_n_test=None, seeds=(0, 1, 2),
                        conv_n_train=None, conv_n_test=None, conv_epochs=100, conv_width=1.0,
                        conv_lams=(1e-5, 1e-4, 1e-3, 1e-2)),
}


def autol2_configs(profile: str) -> list[dict]:
    """Per seed: AutoL2 on the FC network, AutoL2 on the ConvNet, and the ConvNet at each fixed lambda."""
    g = AUTOL2[profile]
    out = []
    for seed in g.seeds:
        out.append({"setup": "fc3", "dataset": "mnist-5k", "n_train": g.fc_n_train, "n_test": g.fc_n_test,
                    "model": "fc3", "width": g.fc_width, "sigma_w2": 2.0, "eta": BUDGET_ETA, "steps": g.fc_steps,
                    "method": "autol2", "l2_start": 0.1, "every": 5, "seed": seed, "per_decade": 25})
        conv = {"setup": "convnet", "dataset": "fashion-mnist", "n_train": g.conv_n_train,
                "n_test": g.conv_n_test, "model": "convnet", "width": g.conv_width, "eta": 0.05,
                "batch_size": 128, "epochs": g.conv_epochs, "seed": seed}
        out.append({**conv, "method": "autol2", "l2_start": 0.1, "every": 10})
        out += [{**conv, "method": "fixed", "lam": lam} for lam in g.conv_lams]
    return out



@dataclass(frozen=True)
class AutoL2ValGrid:
    """``l2-autol2-val``: AutoL2 against the fixed lambda picked on a validation split, both setups of
    ``l2-autol2`` on the same training sets, with ``*_n_val`` examples of the training split held
    out (never trained on) to score every run along training. The fixed lambdas span the old grids
    and beyond (``fc_lams`` at ``BUDGET_ETA``, ``conv_lams`` down to 0, no L2: the one edge that
    cannot be extended). Every run scores its validation split and the test set at the same
    points; a fixed FC run lasts ``run_length(fc_steps, eta, lambda)`` steps, as in ``l2-tstar``."""

    seeds: tuple[int, ...]
    fc_width: int
    fc_steps: int
    fc_n_train: int
    fc_n_val: int
    fc_n_test: int | None  # None: every mnist-5k example outside the training and validation sets
    fc_lams: tuple[float, ...]
    conv_n_train: int
    conv_n_val: int
    conv_n_test: int | None
    conv_epochs: int
    conv_width: float
    conv_lams: tuple[float, ...]


AUTOL2_VAL = {
    "smoke": AutoL2ValGrid(seeds=(0,), fc_width=16, fc_steps=200, fc_n_train=128, fc_n_val=128, fc_n_test=256,
                           fc_lams=(1e-3, 1e-2, 1e-1), conv_n_train=256, conv_n_val=128, conv_n_test=256,
                           conv_epochs=2, conv_width=0.25, conv_lams=(0.0, 1e-3)),
    "quick": AutoL2ValGrid(seeds=(0, 1, 2), fc_width=256, fc_steps=20000, fc_n_train=512, fc_n_val=1000,
                           fc_n_test=None, fc_lams=(1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1), conv_n_train=10000,
                           conv_n_val=5000, conv_n_test=None, conv_epochs=20, conv_width=1.0,
                           conv_lams=(0.0, 1e-5, 1e-4, 1e-3, 1e-2)),
    "paper": AutoL2ValGrid(seeds=(0, 1, 2, 3, 4), fc_width=2048, fc_steps=100000, fc_n_train=512, fc_n_val=1000,
                           fc_n_test=None, fc_lams=(1e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1),
                           conv_n_train=50000, conv_n_val=10000, conv_n_test=None, conv_epochs=100, conv_width=1.0,
                           conv_lams=(0.0, 1e-5, 1e-4, 1e-3, 1e-2)),
}


def autol2_val_configs(profile: str) -> list[dict]:
    """Per seed and setup: AutoL2, then a fixed lambda per grid point; FC full batch at ``BUDGET_ETA``
    on 512 mnist-5k digits, ConvNet on Fashion-MNIST (batch 128, eta = 0.05)."""
    g = AUTOL2_VAL[profile]
    out = []
    for seed in g.seeds:
        fc = {"setup": "fc3", "dataset": "mnist-5k", "n_train": g.fc_n_train, "n_val": g.fc_n_val,
              "n_test": g.fc_n_test, "model": "fc3", "width": g.fc_width, "sigma_w2": 2.0, "eta": BUDGET_ETA,
              "seed": seed, "per_decade": 25}
        out.append({**fc, "method": "autol2", "steps": g.fc_steps, "l2_start": 0.1, "every": 5})
        out += [{**fc, "method": "fixed", "lam": lam, "steps": run_length(g.fc_steps, BUDGET_ETA, lam)}
                for lam in g.fc_lams]
        conv = {"setup": "convnet", "dataset": "fashion-mnist", "n_train": g.conv_n_train, "n_val": g.conv_n_val,
                "n_test": g.conv_n_test, "model": "convnet", "width": g.conv_width, "eta": 0.05, "batch_size": 128,
                "epochs": g.conv_epochs, "seed": seed}
        out.append({**conv, "method": "autol2", "l2_start": 0.1, "every": 10})
        out += [{**conv, "method": "fixed", "lam": lam} for lam in g.conv_lams]
    return out


@dataclass(frozen=True)
class Network:
    """A bias-free ReLU MLP with ``k`` weight layers (k - 1 hidden layers of ``width``): k-homogeneous."""

    k: int
    width: int


@dataclass(frozen=True)
class DecayGrid:
    """``l2-kernel-decay`` (Theorem 1): networks, lambdas and seeds, gradient descent at ``eta`` up to
    t = ``time`` (t = eta * step) on ``n_train`` examples, the NTK measured on the first ``probe``."""

    networks: tuple[Network, ...]
    lams: tuple[float, ...]
    seeds: tuple[int, ...]
    eta: float
    time: float
    n_train: int
    probe: int


DECAY = {
    "smoke": DecayGrid(networks=(Network(2, 64),), lams=(0.05,), seeds=(0,), eta=0.5, time=20.0, n_train=32,
                       probe=16),
    "quick": DecayGrid(networks=(Network(2, 512), Network(2, 2048), Network(3, 512), Network(3, 1024)),
                       lams=(0.0, 0.01), seeds=(0, 1), eta=0.5, time=200.0, n_train=200, probe=64),
    "paper": DecayGrid(networks=(Network(2, 4096), Network(2, 16384), Network(3, 4096)), lams=(0.0, 0.01),
                       seeds=(0, 1, 2), eta=0.1, time=200.0, n_train=200, probe=200),
}


def decay_configs(profile: str) -> list[dict]:
    """Every (network, lambda, seed) point of ``l2-kernel-decay`` in ``profile``."""
    g = DECAY[profile]
    return [{"dataset": "mnist-5k", "task": "even-odd", "pool": 2, "n_train": g.n_train, "probe": g.probe,
             "k": net.k, "width": net.width, "lam": lam, "eta": g.eta, "steps": int(round(g.time / g.eta)),
             "seed": seed, "parameterization": "ntk", "bias": False}
            for net in g.networks for lam in g.lams for seed in g.seeds]


@dataclass(frozen=True)
class Eq1Grid:
    """``l2-eq1`` (Fig. 5(c)): the empirical NTK of a ``kernel_width`` two-layer network drives eq. 1,
    compared with a ``wide_width`` network trained by gradient descent at ``eta`` up to t = ``time``."""

    kernel_width: int
    wide_width: int
    n_train: int
    n_test: int
    eta: float
    time: float
    lam: float = 0.01


EQ1 = {
    "smoke": Eq1Grid(kernel_width=64, wide_width=256, n_train=32, n_test=32, eta=0.5, time=20.0),
    "quick": Eq1Grid(kernel_width=5000, wide_width=20000, n_train=200, n_test=200, eta=0.5, time=400.0),
    "paper": Eq1Grid(kernel_width=5000, wide_width=100000, n_train=200, n_test=200, eta=0.01, time=400.0),
}


def eq1_configs(profile: str) -> list[dict]:
    """The one point of ``l2-eq1`` in ``profile``."""
    g = EQ1[profile]
    return [{"dataset": "mnist-5k", "task": "even-odd", "pool": 2, "n_train": g.n_train, "n_test": g.n_test,
             "kernel_width": g.kernel_width, "wide_width": g.wide_width, "lam": g.lam, "eta": g.eta,
             "steps": int(round(g.time / g.eta)), "seed": 0, "parameterization": "ntk", "bias": False}]

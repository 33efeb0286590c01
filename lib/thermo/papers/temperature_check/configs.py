"""Per-profile grids of the Temperature-check chapter (``notebooks/temperature-check/01-softmax-temperature``):
pure data, and the config dicts each experiment runs, built from it.

Agarwala, Pennington, Dauphin, Schoenholz (2020): Fig. 1 (the collapse in eta * beta^2, eq. 5),
Figs. 2-3 (the timescales tau_z of eq. 7 and tau_nl of eq. 9), Fig. 4 (eta* ~ 1/beta), Fig. 5 (the
(beta, ||Z0||) phase plane), Fig. 6 and Sec. 3.4 (tuning beta), Fig. 7 / App. C (tau_z against the
infinite-width kernel) and App. A.3 (the conditioning of the linearized dynamics).

The JAX experiments run on Fashion-MNIST images average-pooled by ``pool``, a fully connected ReLU
(or Erf) MLP in the standard parameterization inside the correlated construction of App. D.1; the
torch experiments (Figs. 4 and 6) train with minibatch SGD. The config dicts (keys, values) are the
results store's keys: a change here is a new experiment point, so keep them as they are.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

# --- the JAX experiments' data and network -------------------------------------------------------------

@dataclass(frozen=True)
class Data:
    """Fashion-MNIST subset and network of the JAX experiments: ``n_train`` / ``n_test`` images pooled
    by ``pool``, an MLP of ``depth`` hidden layers of ``width`` units."""

    n_train: int
    n_test: int
    pool: int
    width: int
    depth: int


DATA = {"smoke": Data(n_train=32, n_test=64, pool=4, width=32, depth=1),
        "quick": Data(n_train=256, n_test=1000, pool=2, width=512, depth=2),
        "paper": Data(n_train=1024, n_test=10000, pool=1, width=2048, depth=2)}


def base(profile: str, seed: int = 0) -> dict:
    """The keys every full-batch run of ``profile`` shares."""
    return {"dataset": "fashion-mnist", **asdict(DATA[profile]), "activation": "relu", "seed": seed,
            "float64": True}


# --- Fig. 1: the collapse ------------------------------------------------------------------------------

@dataclass(frozen=True)
class GDRun:
    """One effective learning rate eta_tilde = eta * beta^2 and the number of full-batch steps at it."""

    eta_tilde: float
    steps: int


@dataclass(frozen=True)
class CollapseGrid:
    betas: tuple
    runs: tuple  # of GDRun


# Two effective learning rates: at eta_tilde = 1 every beta <= 0.3 diverged within five steps (the
# largest usable eta_tilde shrinks with beta, Fig. 4's argument), so a second, smaller eta_tilde
# with more steps shows the small-beta networks too.
COLLAPSE = {
    "smoke": CollapseGrid(betas=(0.3, 3.0), runs=(GDRun(1.0, 20),)),
    "quick": CollapseGrid(betas=(0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0),
                          runs=(GDRun(1.0, 400), GDRun(0.1, 1000))),
    "paper": CollapseGrid(betas=tuple(np.logspace(-3, 3, 13)),
                          runs=(GDRun(1.0, 2000), GDRun(0.1, 5000), GDRun(0.01, 20000))),
}


def collapse_configs(profile: str) -> list[dict]:
    """``tc-fig1-collapse``: c = -1 (Z0 = 0), one initialization, every beta at each eta_tilde."""
    g = COLLAPSE[profile]
    return [{**base(profile), "c": -1.0, "beta": float(b), "eta_tilde": run.eta_tilde, "steps": run.steps}
            for run in g.runs for b in g.betas]


# --- Figs. 2-3: the timescales -------------------------------------------------------------------------

@dataclass(frozen=True)
class TimescaleGrid:
    """Short runs (four steps at ``short_eta_tilde``) over betas x cs x activations measure tau_z and
    tau_nl; long runs (the network alone, at ``long_beta``) show when learning starts (Fig. 2)."""

    betas: tuple
    cs: tuple
    short_eta_tilde: float
    long_beta: float
    long_steps: int
    long_eta_tilde: float
    short_activations: tuple = ("relu",)


TIMESCALES = {
    "smoke": TimescaleGrid(betas=(0.5, 2.0), cs=(-0.99, 0.0), short_eta_tilde=1e-3, long_beta=1.0, long_steps=20,
                           long_eta_tilde=1.0),
    "quick": TimescaleGrid(betas=(0.1, 0.3, 1.0, 3.0, 10.0), cs=(-1 + 1e-4, -1 + 1e-2, -0.9, -0.5, 0.0, 0.5, 1.0),
                           short_eta_tilde=1e-3, long_beta=1.0, long_steps=3000, long_eta_tilde=1e-3,
                           short_activations=("relu", "erf")),
    "paper": TimescaleGrid(betas=tuple(np.logspace(-2, 2, 9)),
                           cs=(-1 + 1e-6, -1 + 1e-4, -1 + 1e-2, -0.9, -0.5, 0.0, 0.5, 1.0),
                           short_eta_tilde=1e-4, long_beta=1.0, long_steps=2000, long_eta_tilde=1.0,
                           short_activations=("relu", "erf")),
}


def timescale_configs(profile: str) -> list[dict]:
    """``tc-timescales``: the short runs (mode "short") and the long ones (mode "long")."""
    g = TIMESCALES[profile]
    short = [{**base(profile), "activation": act, "c": float(c), "beta": float(b), "eta_tilde": g.short_eta_tilde,
              "steps": 4, "record": [0, 1, 2, 4], "timescales": True, "mode": "short"}
             for act in g.short_activations for b in g.betas for c in g.cs]
    # Fig. 2 (centre, right): at a small eta_tilde tau_z spans from about one step to many, so the delay
    # before learning starts is visible (at eta_tilde = 1 every tau_z here is below a tenth of a step);
    # the network alone, no linearization.
    long = [{**base(profile), "c": float(c), "beta": g.long_beta, "eta_tilde": g.long_eta_tilde,
             "steps": g.long_steps, "timescales": True, "linearized": False, "mode": "long"} for c in g.cs]
    return short + long


# --- Fig. 3, the why: the non-linear part of one step against its size ---------------------------------

@dataclass(frozen=True)
class StepScalingGrid:
    steps: tuple  # step sizes s along the loss gradient


STEP_SCALING = {
    "smoke": StepScalingGrid(steps=tuple(np.logspace(0, -8, 5))),
    "quick": StepScalingGrid(steps=tuple(np.logspace(0, -8, 17))),
    "paper": StepScalingGrid(steps=tuple(np.logspace(0, -10, 21))),
}


def step_scaling_configs(profile: str) -> list[dict]:
    """``tc-nl-step-scaling``: ReLU and Erf at a small and an order-one ||Z0||, beta = 1."""
    return [{**base(profile), "activation": act, "c": float(c), "beta": 1.0, "steps": list(STEP_SCALING[profile].steps)}
            for act in ("relu", "erf") for c in (-1 + 1e-4, 0.0)]


# --- Fig. 4: the best learning rate against beta (torch) -----------------------------------------------

@dataclass(frozen=True)
class EtaStarGrid:
    """A learning-rate grid ``eta0 / beta * factor`` for every beta, each seed; minibatch SGD."""

    dataset: str
    n_train: int | None
    model: str
    width: float
    epochs: int
    batch_size: int
    betas: tuple
    eta0: float
    factors: tuple
    seeds: tuple


ETA_STAR = {
    "smoke": EtaStarGrid(dataset="digits", n_train=None, model="mlp", width=0.25, epochs=2, batch_size=64,
                         betas=(0.5, 2.0), eta0=0.05, factors=(0.25, 1.0, 4.0), seeds=(0,)),
    "quick": EtaStarGrid(dataset="fashion-mnist", n_train=5000, model="mlp", width=0.5, epochs=10, batch_size=128,
                         betas=(0.1, 0.3, 1.0, 3.0, 10.0), eta0=0.05,
                         factors=(1 / 8, 1 / 4, 1 / 2, 1.0, 2.0, 4.0, 8.0), seeds=(0, 1)),
    "paper": EtaStarGrid(dataset="cifar10", n_train=None, model="wrn-16-4", width=1.0, epochs=200, batch_size=128,
                         betas=tuple(np.logspace(-2, 2, 9)), eta0=0.01,
                         factors=(1 / 8, 1 / 4, 1 / 2, 1.0, 2.0, 4.0, 8.0), seeds=(0, 1, 2)),
}


def eta_star_configs(profile: str) -> list[dict]:
    """``tc-fig4-eta-star``: every (beta, learning rate, seed) of the grid."""
    g = ETA_STAR[profile]
    shared = {"dataset": g.dataset, "n_train": g.n_train, "model": g.model, "width": g.width, "epochs": g.epochs,
              "batch_size": g.batch_size}
    return [{**shared, "beta": float(b), "lr": float(g.eta0 / b * f), "momentum": 0.9, "seed": s}
            for b in g.betas for f in g.factors for s in g.seeds]


# --- Fig. 5: the (beta, ||Z0||) phase plane (JAX) ------------------------------------------------------

@dataclass(frozen=True)
class PhaseGrid:
    """Each (beta, c) point trains the network alone at eta = f / beta for every f of ``factors``
    (eta_tilde = f * beta), the paper's App. D.2 sweep of eta in proportion to 1 / beta."""

    betas: tuple
    cs: tuple
    factors: tuple
    steps: int
    width: int


PHASE = {
    "smoke": PhaseGrid(betas=(0.3, 3.0), cs=(-0.99, 0.0), factors=(0.5, 2.0), steps=20, width=32),
    "quick": PhaseGrid(betas=(0.03, 0.1, 0.3, 1.0, 3.0, 10.0), cs=(-1 + 1e-4, -0.99, -0.75, 0.0, 1.0),
                       factors=(0.25, 0.5, 1.0, 2.0, 4.0), steps=200, width=256),
    "paper": PhaseGrid(betas=tuple(np.logspace(-2, 2, 9)), cs=(-1 + 1e-6, -1 + 1e-4, -0.99, -0.9, -0.5, 0.0, 1.0),
                       factors=(0.1, 0.3, 1.0, 3.0, 10.0), steps=2000, width=2048),
}
EARLY_STEP = 20  # Fig. 5(b): the accuracy after 20 steps


def phase_configs(profile: str) -> list[dict]:
    """``tc-fig5-phase-plane``: every (beta, c, f), recorded at 0, ``EARLY_STEP`` and the end."""
    g = PHASE[profile]
    early = min(EARLY_STEP, g.steps)
    return [{**base(profile), "width": g.width, "c": float(c), "beta": float(b), "eta_tilde": float(f * b),
             "lr_factor": float(f), "steps": g.steps, "record": [0, early, g.steps], "linearized": False,
             "mode": "phase"}
            for b in g.betas for c in g.cs for f in g.factors]


# --- Fig. 6: beta sweeps of a ConvNet with and without BatchNorm, tuned as in Sec. 3.4 (torch) ----------

@dataclass(frozen=True)
class BetaSweepGrid:
    """Sec. 3.4: step 1 tunes eta0 over ``tune_lrs`` at beta = 1 (first seed); step 2 runs every beta
    at eta0 / beta with every seed; each for the network with and without BatchNorm."""

    dataset: str
    n_train: int | None
    width: float
    epochs: int
    batch_size: int
    tune_lrs: tuple
    betas: tuple
    seeds: tuple
    model: str = "convnet"


BETA_SWEEP = {
    "smoke": BetaSweepGrid(dataset="digits", n_train=None, width=0.25, epochs=2, batch_size=64,
                           tune_lrs=(0.02, 0.08), betas=(0.1, 1.0), seeds=(0, 1)),
    "quick": BetaSweepGrid(dataset="fashion-mnist", n_train=5000, width=0.5, epochs=5, batch_size=128,
                           tune_lrs=(0.0125, 0.025, 0.05, 0.1, 0.2), betas=(0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0),
                           seeds=(0, 1, 2, 3, 4)),
    "paper": BetaSweepGrid(dataset="cifar10", n_train=None, width=1.0, epochs=200, batch_size=128,
                           tune_lrs=tuple(np.logspace(-3, -0.5, 6)), betas=tuple(np.logspace(-2, 1, 7)),
                           seeds=tuple(range(10)), model="wrn-16-4"),  # the paper's WRN with and without BatchNorm
}
NORMS = (False, True)  # the network without and with BatchNorm


def _sweep_base(profile: str, batchnorm: bool) -> dict:
    g = BETA_SWEEP[profile]
    return {"dataset": g.dataset, "n_train": g.n_train, "width": g.width, "epochs": g.epochs,
            "batch_size": g.batch_size, "model": g.model, "batchnorm": batchnorm, "momentum": 0.9}


def tune_configs(profile: str) -> list[dict]:
    """``tc-fig6-tune``, Sec. 3.4 step 1: the learning-rate grid at beta = 1, first seed, each network."""
    g = BETA_SWEEP[profile]
    return [{**_sweep_base(profile, bn), "beta": 1.0, "lr": float(lr), "seed": g.seeds[0]}
            for bn in NORMS for lr in g.tune_lrs]


def beta_sweep_configs_at(profile: str, eta0: dict) -> list[dict]:
    """``tc-fig6-beta-sweep``, Sec. 3.4 step 2, given ``eta0`` (batchnorm -> the tuned learning rate):
    every beta at eta0 / beta, every seed, each network."""
    g = BETA_SWEEP[profile]
    return [{**_sweep_base(profile, bn), "beta": float(b), "lr": float(eta0[bn] / b), "eta0": eta0[bn], "seed": s}
            for bn in NORMS for b in g.betas for s in g.seeds]


# --- Fig. 6 as fair comparisons: eta0 picked on a validation split, seeds for the paper's effect ----------

@dataclass(frozen=True)
class ValidatedSweep:
    """Sec. 3.4 again, with eta0 picked without test data: step 1 runs ``tune_lrs`` at beta = 1 for
    each ``tune_seeds``, trained on the ``n_train`` examples of ``BETA_SWEEP`` and scored on ``n_val``
    more held out from the training split; step 2 runs ``plain_betas`` (without BatchNorm: the betas
    below 1 that tuning picks from, and 1) and ``bn_betas`` (with BatchNorm: 1 and the paper's
    optimum, 10) at eta0 / beta for every seed, scored on the same validation split during training
    and on the test set once at the end."""

    n_val: int
    tune_lrs: tuple
    tune_seeds: tuple
    plain_betas: tuple
    bn_betas: tuple
    seeds: tuple


# 20 seeds: the paired spread of the cached 5-seed sweep (about 1.3 points between two betas) detects
# 0.86 points, the paper's one quantified gain from beta (its Table 1), with 80 % power at about 20 pairs.
# The grid of learning rates reaches a factor of four beyond the cached sweep's best at either end
# (0.0125 with BatchNorm was its smallest point).
VALIDATED = {
    "smoke": ValidatedSweep(n_val=300, tune_lrs=(0.02, 0.08), tune_seeds=(0,), plain_betas=(0.1, 1.0),
                            bn_betas=(1.0, 10.0), seeds=(0, 1)),
    "quick": ValidatedSweep(n_val=5000, tune_lrs=(0.003125, 0.00625, 0.0125, 0.025, 0.05, 0.1, 0.2), tune_seeds=(0, 1),
                            plain_betas=(0.01, 0.03, 0.1, 0.3, 1.0), bn_betas=(1.0, 10.0), seeds=tuple(range(20))),
    "paper": ValidatedSweep(n_val=5000, tune_lrs=tuple(np.logspace(-3, -0.5, 6)), tune_seeds=(0, 1),
                            plain_betas=(0.01, 0.03, 0.1, 0.3, 1.0), bn_betas=(1.0, 10.0), seeds=tuple(range(10))),
}


def _validated_base(profile: str, batchnorm: bool) -> dict:
    g = BETA_SWEEP[profile]
    return {**_sweep_base(profile, batchnorm), "n_val": VALIDATED[profile].n_val, "eval_every": g.epochs}


def val_tune_configs(profile: str) -> list[dict]:
    """``tc-fig6-val-tune``: the learning-rate grid at beta = 1, each tuning seed, each network, scored
    on the validation split (at the end of training only)."""
    v = VALIDATED[profile]
    return [{**_validated_base(profile, bn), "beta": 1.0, "lr": float(lr), "seed": s}
            for bn in NORMS for lr in v.tune_lrs for s in v.tune_seeds]


def val_sweep_configs_at(profile: str, eta0: dict) -> list[dict]:
    """``tc-fig6-val-sweep`` given ``eta0`` (batchnorm -> the validated learning rate): each network's
    betas at eta0 / beta, every seed."""
    v = VALIDATED[profile]
    return [{**_validated_base(profile, bn), "beta": float(b), "lr": float(eta0[bn] / b), "eta0": eta0[bn], "seed": s}
            for bn, betas in ((False, v.plain_betas), (True, v.bn_betas)) for b in betas for s in v.seeds]


# --- Fig. 7 (App. C): tau_z against the infinite-width kernel's prediction (JAX) -----------------------

@dataclass(frozen=True)
class KernelNet:
    """One architecture of Fig. 7 and the data it sees (a CNN's infinite-width kernel is far dearer)."""

    architecture: str
    n_train: int
    pool: int
    width: int


@dataclass(frozen=True)
class NtkGrid:
    networks: tuple  # of KernelNet
    betas: tuple
    cs: tuple


NTK_PRED = {
    "smoke": NtkGrid(networks=(KernelNet("mlp", n_train=32, pool=4, width=64),), betas=(1.0,), cs=(-0.99, 0.0, 1.0)),
    "quick": NtkGrid(networks=(KernelNet("mlp", n_train=256, pool=2, width=2048),), betas=(0.3, 1.0, 3.0, 10.0),
                     cs=(-1 + 1e-4, -1 + 1e-2, -0.9, -0.5, 0.0, 0.5, 1.0)),
    "paper": NtkGrid(networks=(KernelNet("mlp", n_train=1024, pool=1, width=2000),
                               KernelNet("cnn", n_train=256, pool=4, width=128)),
                     betas=tuple(np.logspace(-1, 2, 7)),
                     cs=(-1 + 1e-6, -1 + 1e-4, -1 + 1e-2, -0.9, -0.5, 0.0, 0.5, 1.0)),
}
TAU_Z_ETA_TILDE = 1e-3  # the vanishing step whose first step measures tau_z


def ntk_pred_configs(profile: str) -> list[dict]:
    """``tc-fig7-ntk``: per architecture, activation (ReLU, Erf), labels (true, shuffled) and beta, every c."""
    g = NTK_PRED[profile]
    return [{"dataset": "fashion-mnist", "n_train": net.n_train, "pool": net.pool, "width": net.width, "depth": 2,
             "activation": act, "labels": labels, "beta": float(b), "cs": [float(c) for c in g.cs],
             "eta_tilde": TAU_Z_ETA_TILDE, "seed": 0, "float64": True,
             **({"architecture": net.architecture} if net.architecture != "mlp" else {})}
            for net in g.networks for act in ("relu", "erf") for labels in ("true", "shuffled") for b in g.betas]


# --- App. A.3: the conditioning of the linearized dynamics against beta --------------------------------

@dataclass(frozen=True)
class ConditioningGrid:
    n_train: int
    pool: int
    width: int
    betas: tuple


# Beyond beta ~ 4 the smallest eigenvalue of the ReLU network's H is below float64 rounding (kappa > 1e15).
CONDITIONING = {
    "smoke": ConditioningGrid(n_train=16, pool=4, width=64, betas=(0.1, 1.0, 10.0)),
    "quick": ConditioningGrid(n_train=64, pool=2, width=512, betas=tuple(np.logspace(-2, 0.6, 14))),
    "paper": ConditioningGrid(n_train=128, pool=1, width=2048, betas=tuple(np.logspace(-2, 0.6, 14))),
}


def conditioning_configs(profile: str) -> list[dict]:
    """``tc-a3-conditioning``: one config per activation, every beta inside it."""
    g = CONDITIONING[profile]
    return [{"dataset": "fashion-mnist", "n_train": g.n_train, "pool": g.pool, "width": g.width, "depth": 2,
             "activation": act, "betas": [float(b) for b in g.betas], "c": 0.0, "seed": 0, "float64": True}
            for act in ("relu", "erf")]

"""ActCoolR's per-profile grids (chapter ``notebooks/actcoolr/01-activation-pattern-temperature``):
pure data, read by :mod:`thermo.papers.actcoolr.runs`.

- Figs. 1-2 (the paper's APT under LR schedules, the LR range and the erf model of its eq. 5):
  :func:`fig1_configs`.
- Fig. 3 and Table 2 (ActCoolLR following the linear cooling curves of its eq. 8, and other epoch
  budgets): :func:`fig3_configs`.
- Table 1, Fashion-MNIST row (constant LR, 1-cycle, ActCoolLR): :func:`table1_configs`.
- The constant LR of Table 1 tuned on a validation split held out from the training split (for a
  fair ActCoolLR against constant LR): :func:`const_tune_configs`; the constant LR at its
  validated value for the seeds of Table 1: :func:`const_best_point`.

Quick profile (CPU): Fashion-MNIST, ResNet-20 at width 0.5 on 10,000 training images for Figs.
1-3 (15 epochs, batch 128, SGD momentum 0.9, weight decay 5e-4); the Fashion-MNIST benchmark
ConvNet on 20,000 images, 10 epochs, three seeds for Table 1. The paper: ResNet-32 and VGG-16 on
CIFAR-10, 200 epochs for Table 1 (``paper`` profile).

The config dicts (and so the keys of every cached record) are exactly those of the first version
of these experiments: the dataclasses below name the fields the dicts were built from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SCHEDULES = ("constant", "step", "onecycle", "cosine", "actcool")
FIG1_SCHEDULES = ("constant", "step", "onecycle", "cosine")  # the hand-made schedules of Fig. 1
RANGE_SCHEDULES = ("onecycle", "step")  # the Fig. 1 runs that record the LR range after every epoch (Fig. 2)
TABLE1_SCHEDULES = ("constant", "onecycle", "actcool")
GRANS = ("example", "position", "neuron")  # granularities of a pattern (thermo.apt)
GAMMAS = (0.5, 1.0, 2.0, 4.0)  # Fig. 3: the exponents of the cooling curve C_gamma (the paper's eq. 8)
LRS = {"constant": 0.05, "step": 0.1, "onecycle": 0.2, "cosine": 0.1, "actcool": 0.05}  # base / peak / initial
BATCH_SIZE = 128
PCT_START = 0.3  # 1-cycle's warm-up fraction (torch's OneCycleLR default, thermo.train)


@dataclass(frozen=True)
class Network:
    """The data set and network of a run, and its epochs."""

    dataset: str
    n_train: int | None  # None: the whole training split
    n_test: int | None
    model: str
    width: float
    epochs: int


@dataclass(frozen=True)
class Table1Grid:
    """Table 1 (Fashion-MNIST ConvNet): data sizes, epochs, seeds and width per profile."""

    n_train: int | None
    n_test: int | None
    epochs: int
    seeds: tuple[int, ...]
    width: float

    def network(self) -> Network:
        return Network("fashion-mnist", self.n_train, self.n_test, "fmnist-convnet", self.width, self.epochs)


@dataclass(frozen=True)
class Cooling:
    """Fig. 3: where the cooling curves start, and the seeds of the gamma sweep (the budget runs
    of Table 2 use the first seed only)."""

    t_start: float
    seeds: tuple[int, ...]


@dataclass(frozen=True)
class LRGrid:
    """The log grid of the LR range (``apt.lr_range``); stored in a config as ``[low, high, points]``."""

    low: float
    high: float
    points: int

    def as_config(self) -> list:
        return [self.low, self.high, self.points]

    @classmethod
    def of(cls, config: dict) -> LRGrid:
        low, high, points = config["lr_grid"]
        return cls(float(low), float(high), int(points))

    def values(self) -> np.ndarray:
        return np.geomspace(self.low, self.high, self.points)


FIGS = {  # Figs. 1-3
    "smoke": Network("fashion-mnist", 256, 256, "resnet20", 0.25, 2),
    "quick": Network("fashion-mnist", 10000, None, "resnet20", 0.5, 15),
    "paper": Network("cifar10", None, None, "resnet32", 1.0, 200),
}
TABLE1 = {
    "smoke": Table1Grid(256, 256, 2, (43,), 0.25),
    "quick": Table1Grid(20000, None, 10, (43, 37, 13), 1.0),
    "paper": Table1Grid(None, None, 200, (43, 37, 13), 1.0),
}
# The paper starts every cooling curve at T = 3.17 (89 % of patterns change), in its per-example
# definition. Per-position patterns read far lower once training is under way: in ac-fig1-schedules
# the constant run (lr 0.05) reads 2.45 and 1.86 at its first two measurements and 0.4-0.5 from
# epoch 2 on; 1-cycle reads about 0.6 around its peak LR of 0.2 (epochs 4-6). A first attempt from
# T_start = 2.0 asked for learning rates at the clamp (10) after the first epoch and both steep
# curves (gamma 2, 4) collapsed to chance. The ResNet's curves therefore start at 0.6, the
# temperature of 1-cycle's peak; the paper profile keeps 3.17.
FIG3 = {
    "smoke": Cooling(0.6, (43,)),
    "quick": Cooling(0.6, (43, 37, 13)),
    "paper": Cooling(3.17, (43, 37, 13)),
}
PAPER_T_START = 3.17


@dataclass(frozen=True)
class ConstTune:
    """Table 1's constant LR tuned on a validation split (DESIGN.md section 8): the LR grid (around
    ``LRS["constant"]``, with points on both sides so that its best is not on an edge), the seeds
    (the validation accuracy is averaged over them) and ``n_val``, the examples of the training
    split held out from the training subset (the same subset as ``ac-table1-fmnist``'s) to score
    on. The runs record no APT probes (they change nothing in training and cost 5 %)."""

    lrs: tuple[float, ...]
    seeds: tuple[int, ...]
    n_val: int


CONST_TUNE = {
    "smoke": ConstTune((0.05, 0.1), (43,), 128),
    "quick": ConstTune((0.01, 0.02, 0.05, 0.1), (43, 37), 5000),
    "paper": ConstTune((0.01, 0.02, 0.05, 0.1), (43, 37), 5000),
}
# 1-cycle's peak LR tuned the same way (ac-onecycle-tune), around the peak of the paper's Fig. 1 (0.2): Table 1's
# other baseline at its own best, so that "ActCoolLR on par with 1-cycle" is judged against a tuned rival.
ONECYCLE_TUNE = {
    "smoke": ConstTune((0.1, 0.2), (43,), 128),
    "quick": ConstTune((0.05, 0.1, 0.2, 0.4), (43, 37), 5000),
    "paper": ConstTune((0.05, 0.1, 0.2, 0.4), (43, 37), 5000),
}
TUNE = {"constant": CONST_TUNE, "onecycle": ONECYCLE_TUNE}  # Table 1's baselines and their tuning grids


def lr_grid(profile: str) -> LRGrid:
    return LRGrid(1e-3, 10.0, 7) if profile == "smoke" else LRGrid(1e-4, 1e2, 31)


def budgets(profile: str) -> list[int]:
    """Table 2: the epoch budgets of the gamma = 1 runs besides the full length."""
    e = FIGS[profile].epochs
    return [max(1, e // 3), 2 * e // 3] if profile != "smoke" else [1]


def point(profile: str, schedule: str, seed: int = 43, lr_range: bool = False, gamma: float | None = None,
          epochs: int | None = None, probe_grans=("example", "position"), t_start: float = PAPER_T_START,
          network: Network | None = None, lr: float | None = None) -> dict:
    """The config of one run: ``network`` (default: that of Figs. 1-3) trained with ``schedule`` at
    ``lr`` (default ``LRS[schedule]``); ActCoolLR's ``t_start`` and ``gamma`` only for
    ``schedule="actcool"``."""
    net = network or FIGS[profile]
    actcool = schedule == "actcool"
    return {"dataset": net.dataset, "n_train": net.n_train, "n_test": net.n_test, "model": net.model,
            "width": net.width, "epochs": epochs or net.epochs, "schedule": schedule,
            "lr": LRS[schedule] if lr is None else lr,
            "batch_size": BATCH_SIZE, "momentum": 0.9, "weight_decay": 5e-4, "seed": seed,
            "probe_every": 2 if profile == "smoke" else 10, "probe_grans": list(probe_grans), "lr_range": lr_range,
            "lr_grid": lr_grid(profile).as_config(), "t_start": t_start if actcool else None,
            "gamma": gamma if actcool else None, "actcool_granularity": "position" if actcool else None}


def fig1_configs(profile: str) -> list[dict]:
    """Figs. 1-2: the four schedules; the LR range after every epoch for 1-cycle and step decay."""
    return [point(profile, s, lr_range=s in RANGE_SCHEDULES) for s in FIG1_SCHEDULES]


def fig3_configs(profile: str) -> list[dict]:
    """Fig. 3: ActCoolLR for gamma in {0.5, 1, 2, 4}; Table 2: gamma = 1 for other epoch budgets."""
    cool = FIG3[profile]
    out = [point(profile, "actcool", gamma=g, t_start=cool.t_start, seed=seed) for seed in cool.seeds for g in GAMMAS]
    return out + [point(profile, "actcool", gamma=1.0, epochs=b, t_start=cool.t_start, seed=cool.seeds[0])
                  for b in budgets(profile)]


def table1_configs(profile: str) -> list[dict]:
    """Table 1, Fashion-MNIST: the benchmark ConvNet with a constant LR, 1-cycle and ActCoolLR."""
    t = TABLE1[profile]
    return [point(profile, s, seed=seed, gamma=1.0, network=t.network()) for s in TABLE1_SCHEDULES for seed in t.seeds]


def tune_configs(profile: str, schedule: str) -> list[dict]:
    """Table 1's ``schedule`` (a baseline of :data:`TUNE`) at every LR of its tuning grid, trained on
    the training subset of ``ac-table1-fmnist`` and scored on ``n_val`` held-out examples of the
    training split."""
    t, tune = TABLE1[profile], TUNE[schedule][profile]
    return [{**point(profile, schedule, seed=seed, network=t.network(), lr=lr, probe_grans=()), "n_val": tune.n_val}
            for lr in tune.lrs for seed in tune.seeds]


def const_tune_configs(profile: str) -> list[dict]:
    """``ac-table1-const-tune``: the constant LR over ``CONST_TUNE`` (:func:`tune_configs`)."""
    return tune_configs(profile, "constant")


def onecycle_tune_configs(profile: str) -> list[dict]:
    """``ac-onecycle-tune``: 1-cycle's peak LR over ``ONECYCLE_TUNE`` (:func:`tune_configs`)."""
    return tune_configs(profile, "onecycle")


def best_point(profile: str, schedule: str, seed: int, lr: float) -> dict:
    """Table 1's ``schedule`` run of ``seed`` at ``lr`` (the validated one): ``ac-table1-fmnist``'s
    config with only the LR changed."""
    return point(profile, schedule, seed=seed, gamma=1.0, network=TABLE1[profile].network(), lr=lr)


def const_best_point(profile: str, seed: int, lr: float) -> dict:
    """:func:`best_point` of the constant LR."""
    return best_point(profile, "constant", seed, lr)

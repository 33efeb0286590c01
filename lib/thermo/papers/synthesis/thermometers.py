"""Four thermometers in one training run (chapter ``notebooks/synthesis/01-four-thermometers``).

Each paper of the book reads a different temperature of training, and none reads the others'. This
module puts the four instruments into one set of ``thermo.train`` callbacks, so that the same run
of :func:`thermo.train.fit` is read by all of them:

- :class:`AlphaThermometer` (TempBalance): PL_Alpha_Hill of every Conv2d/Linear layer with enough
  eigenvalues (TempBalance's eq. 3, :func:`thermo.htsr.layer_metrics`) at the start and after every
  epoch, and once the random-matrix baseline of each layer's shape (:func:`thermo.htsr.random_alpha`).
- :class:`APTThermometer` (ActCoolR): the activation pattern temperature of every ReLU layer
  (ActCoolR's eq. 4, :class:`thermo.apt.APTProbe`) every ``every`` steps.
- :class:`LogitThermometer` (Temperature check): the logit scale ``beta * ||z||`` (root mean square
  over a fixed probe batch, eval mode) at the start and after every epoch, and the effective
  learning rate ``eta * beta^2`` every ``every`` steps.
- :class:`L2Clock` (L2 and the optimal learning rate): the physical time ``eta * lambda * t``
  summed step by step, every ``every`` steps, and after every evaluation the running time-to-peak
  t* of the test accuracy (:func:`thermo.l2.time_to_peak`) and the physical time at t*.

:class:`ThermometerSet` builds the four and checks, before any training, that the model can be read:
ReLU modules for APT, Conv2d/Linear layers with enough eigenvalues for alpha, a beta for the logit
scale (the clock checks for a weight decay when training starts, before the first step). Reading
does not change the run: no thermometer draws from torch's random generator, moves a BatchNorm
statistic or touches a gradient, so a run with the thermometers ends with the same weights as one
without (tests/test_synthesis.py). Every thermometer times its own work (``seconds``), the
pattern-recording hooks inside the training step's forward pass included, and resumes exactly from
a checkpoint (its state under its class name).

Which learning rate and which lambda: the mean over parameters of each parameter group's ``lr`` and
``weight_decay`` (weighted by the group's number of parameters), so that TempBalance's layer-wise
factors count as they act; with one group this is the schedule's learning rate. Momentum (0.9 in
every run) multiplies every step's effective size by the same 1 / (1 - momentum), which is left out.
"""

from __future__ import annotations

import contextlib
import math
import time

import torch
from torch import nn

from thermo import apt, htsr, l2, softmax, train
from thermo.errors import ConfigError
from thermo.tempbalance import n_eigs

KEYS = {"alpha": "alpha", "apt": "apt_position", "logit": "logit_scale", "eff_lr": "eff_lr",
        "time": "phys_time"}


class Timed(train.Callback):
    """A callback that adds the wall seconds of its own work to ``seconds`` (saved with its state)."""

    seconds = 0.0

    @contextlib.contextmanager
    def timed(self):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds += time.perf_counter() - t0

    def state_dict(self) -> dict:
        return {"seconds": self.seconds}

    def load_state_dict(self, state: dict) -> None:
        self.seconds = state["seconds"]


def check_every(every) -> int:
    if not (isinstance(every, int) and not isinstance(every, bool) and every >= 1):
        raise ConfigError(f"every must be a positive integer number of steps, got {every!r}")
    return every


def layer_pairs(model: nn.Module) -> list[tuple[str, str]]:
    """``(relu, weight layer)`` for every ReLU module that follows a Conv2d/Linear in registration
    order, paired with the last such layer registered before it (in a ResNet block ``relu1`` reads
    ``conv1`` and ``relu2`` reads ``conv2``; the shortcut, registered after ``relu2``, is not its
    partner). The pairs let a layer's APT and its alpha be compared."""
    pairs, last = [], None
    for name, m in model.named_modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            last = name
        elif isinstance(m, nn.ReLU) and last is not None:
            pairs.append((name, last))
    return pairs


def mean_group(optimizer, key: str, weights) -> float:
    """The mean of ``group[key]`` over the optimizer's parameter groups, weighted by ``weights``."""
    groups = optimizer.param_groups
    return sum(w * g.get(key, 0.0) for g, w in zip(groups, weights)) / sum(weights)


def group_weights(optimizer) -> list[int]:
    """The number of parameters of each group (a group without parameters counts one, to be defined)."""
    return [max(1, sum(p.numel() for p in g["params"])) for g in optimizer.param_groups]


class AlphaThermometer(Timed):
    """TempBalance's thermometer: PL_Alpha_Hill of every layer with at least ``min_eigs``
    eigenvalues, logged as ``alpha:<layer>`` at the start and after every epoch; ``baseline`` holds
    each layer's random-matrix alpha (the same shape, Gaussian entries)."""

    def __init__(self, model: nn.Module, min_eigs: int = htsr.MIN_EIGS):
        layers = htsr.weight_layers(model)
        if not layers:
            raise ConfigError(f"{type(model).__name__} has no Conv2d or Linear layer: alpha (TempBalance's "
                              "PL_Alpha_Hill) reads the spectra of their weight matrices")
        kept = [(n, m) for n, m in layers if n_eigs(m.weight.shape) >= min_eigs]
        if not kept:
            raise ConfigError(f"no Conv2d/Linear layer of {type(model).__name__} has {min_eigs} eigenvalues or more: "
                              "the Hill estimate of alpha needs them (make the network wider)")
        self.names = [n for n, _ in kept]
        self.shapes = {n: list(m.weight.shape) for n, m in kept}
        with self.timed():
            self.baseline = {n: htsr.random_alpha(tuple(s)) for n, s in self.shapes.items()}

    def measure(self, state) -> None:
        with self.timed():
            for r in htsr.layer_metrics(state.model, names=self.names):
                state.log_step(f"{KEYS['alpha']}:{r['name']}", r["alpha_hill"])

    def on_train_start(self, state) -> None:
        if state.step == 0:  # a resumed run has its first reading already
            self.measure(state)

    def on_epoch_end(self, state) -> None:
        self.measure(state)


class _TimedRecorder(apt.PatternRecorder):
    """:class:`thermo.apt.PatternRecorder` whose hooks add their time to ``owner.seconds``."""

    def __init__(self, model, granularity: str, owner: Timed):
        super().__init__(model, granularity)
        self.owner = owner

    def _hook(self, name):
        record = super()._hook(name)

        def hook(module, inputs, output):
            t0 = time.perf_counter()
            record(module, inputs, output)
            self.owner.seconds += time.perf_counter() - t0

        return hook


class APTThermometer(apt.APTProbe, Timed):
    """ActCoolR's thermometer: :class:`thermo.apt.APTProbe` (key ``apt_position``, per layer), timed,
    the pattern hooks of the step's own forward pass included."""

    def __init__(self, every: int = 10, granularity: str = "position"):
        super().__init__(every=check_every(every), granularity=granularity, per_layer=True,
                         key=f"apt_{granularity}")

    def on_train_start(self, state) -> None:
        with self.timed():
            super().on_train_start(state)

    def on_batch_start(self, state, batch) -> None:  # APTProbe's, with timed hooks
        with self.timed():
            if (state.step + 1) % self.every == 0:
                self._rng = apt.rng_snapshot()
                self._rec = _TimedRecorder(state.model, self.granularity, self).__enter__()

    def before_optimizer_step(self, state, batch) -> None:
        with self.timed():
            super().before_optimizer_step(state, batch)

    def after_optimizer_step(self, state, batch, loss: float) -> None:
        with self.timed():
            super().after_optimizer_step(state, batch, loss)

    def state_dict(self) -> dict:
        return {**super().state_dict(), "seconds": self.seconds}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.seconds = state["seconds"]


def logit_scale(model: nn.Module, x: torch.Tensor, beta: float) -> float:
    """``beta`` times the root mean square over the examples of ``x`` of the norm of the logits
    ``z`` (the network's output; the loss reads ``Z = beta z``), in eval mode, without side effects."""
    was_training = model.training
    model.eval()
    try:
        with apt.frozen_side_effects(model):
            z = model(x)
    finally:
        model.train(was_training)
    return beta * float(z.double().pow(2).sum(dim=1).mean().sqrt())


class LogitThermometer(Timed):
    """The Temperature-check thermometer: the logit scale ``beta * ||z||`` on the fixed ``probe``
    inputs at the start and after every epoch (``logit_scale``), and the effective learning rate
    ``eta * beta^2`` every ``every`` steps (``eff_lr``). ``beta`` is the inverse temperature of the
    run's loss (:func:`thermo.softmax.torch_beta_loss`; 1.0 for plain cross-entropy)."""

    def __init__(self, probe: torch.Tensor, beta, every: int = 10):
        if beta is None:
            raise ConfigError("the logit scale reads beta * ||z||: give the inverse temperature beta of the run's "
                              "loss (1.0 for plain cross-entropy)")
        self.beta = softmax.check_beta(beta)
        if not (isinstance(probe, torch.Tensor) and probe.ndim >= 2 and len(probe) >= 1):
            raise ConfigError("the logit scale needs a probe batch of inputs (a tensor with one example per row)")
        self.probe, self.every = probe, check_every(every)
        self.weights: list[int] = []

    def measure(self, state) -> None:
        with self.timed():
            state.log_step(KEYS["logit"], logit_scale(state.model, self.probe.to(state.device), self.beta))

    def on_train_start(self, state) -> None:
        self.weights = group_weights(state.optimizer)
        if state.step == 0:
            self.measure(state)

    def after_optimizer_step(self, state, batch, loss: float) -> None:
        if state.step % self.every == 0:
            with self.timed():
                state.log_step(KEYS["eff_lr"], mean_group(state.optimizer, "lr", self.weights) * self.beta ** 2)

    def on_epoch_end(self, state) -> None:
        self.measure(state)


class L2Clock(Timed):
    """The L2 paper's clock: the physical time ``tau = sum over steps of eta * lambda`` (every
    ``every`` steps in ``phys_time`` of the step history), and after every evaluation, in the
    history: ``eval_step``, ``phys_time`` (tau then), ``tstar_step`` (the running time-to-peak t*
    of the test accuracy so far, :func:`thermo.l2.time_to_peak` with a running mean over
    ``window`` evaluations) and ``tstar_time`` (tau at t*)."""

    def __init__(self, every: int = 10, window: int = 3):
        self.every, self.window = check_every(every), window
        self.tau = 0.0
        self.eval_steps: list[int] = []
        self.eval_taus: list[float] = []
        self.weights: list[int] = []

    def on_train_start(self, state) -> None:
        self.weights = group_weights(state.optimizer)
        if max(g.get("weight_decay", 0.0) for g in state.optimizer.param_groups) <= 0:
            raise ConfigError("the L2 clock eta * lambda * t needs a weight decay lambda > 0 in the optimizer")

    def before_optimizer_step(self, state, batch) -> None:  # the LR and lambda this step uses
        with self.timed():
            self.tau += sum(w * g["lr"] * g.get("weight_decay", 0.0)
                            for g, w in zip(state.optimizer.param_groups, self.weights)) / sum(self.weights)

    def after_optimizer_step(self, state, batch, loss: float) -> None:
        if state.step % self.every == 0:
            state.log_step(KEYS["time"], self.tau)

    def on_epoch_end(self, state) -> None:
        acc = state.history.get("test_acc", [])
        if len(acc) <= len(self.eval_steps):  # no evaluation this epoch
            return
        with self.timed():
            self.eval_steps.append(state.step)
            self.eval_taus.append(self.tau)
            try:
                peak = l2.time_to_peak(self.eval_steps, acc, window=self.window)
                step, at = peak.step, self.eval_taus[peak.index]
            except ConfigError:  # a flat curve so far has no peak
                step, at = math.nan, math.nan
            for name, value in (("eval_step", state.step), (KEYS["time"], self.tau), ("tstar_step", step),
                                ("tstar_time", at)):
                state.log_epoch(name, value)

    def state_dict(self) -> dict:
        return {"tau": self.tau, "eval_steps": list(self.eval_steps), "eval_taus": list(self.eval_taus),
                "seconds": self.seconds}

    def load_state_dict(self, state: dict) -> None:
        self.tau, self.seconds = state["tau"], state["seconds"]
        self.eval_steps, self.eval_taus = list(state["eval_steps"]), list(state["eval_taus"])


class ThermometerSet:
    """The four thermometers for one run, every reading checked before training: ``probe`` the
    fixed inputs of the logit scale, ``beta`` the inverse temperature of the run's loss, ``every``
    the period in steps of APT, the effective LR and the clock. ``callbacks`` go to
    :func:`thermo.train.fit` after any controller (TempBalance, ActCoolLR, AutoL2), so that they read
    the learning rate and lambda that the step uses."""

    NAMES = ("alpha", "apt", "logit", "clock")

    def __init__(self, model: nn.Module, probe: torch.Tensor, beta, every: int = 10, granularity: str = "position"):
        check_every(every)
        apt.check_granularity(granularity)
        apt.relu_layers(model)  # one clear error for a network without ReLU modules
        self.logit = LogitThermometer(probe, beta, every)
        self.alpha = AlphaThermometer(model)
        self.apt = APTThermometer(every, granularity)
        self.clock = L2Clock(every)
        self.relus = [n for n, _ in apt.relu_layers(model)]
        self.pairs = [(r, w) for r, w in layer_pairs(model) if w in self.alpha.baseline]

    @property
    def callbacks(self) -> list[train.Callback]:
        return [self.alpha, self.apt, self.logit, self.clock]

    def seconds(self) -> dict[str, float]:
        """Wall seconds each thermometer spent so far."""
        return {name: round(getattr(self, name).seconds, 4) for name in self.NAMES}

    def record(self) -> dict:
        """What a results record keeps besides the readings: the layers in network order, their shapes
        and random-matrix alphas, the (ReLU, weight layer) pairs, beta, the period, the seconds."""
        return {"relu_layers": self.relus, "alpha_layers": self.alpha.names, "shapes": self.alpha.shapes,
                "alpha_baseline": self.alpha.baseline, "pairs": [list(p) for p in self.pairs],
                "beta": self.logit.beta, "every": self.clock.every, "probe_size": len(self.logit.probe),
                "instrument_seconds": self.seconds()}

"""Activation pattern temperature (APT) and the erf model of the learning-rate range (ActCoolR).

Chapter: notebooks/actcoolr/. Paper: ``shared/papers/actcoolr.md`` (Section 3, eqs. 1-5). No public
code exists for the paper; this module is written from its equations, with the sign conventions
fixed below (the extracted equations have garbled signs).

- **Patterns** (eq. 1): the sign pattern ``output > 0`` of every ReLU module, captured with forward
  hooks and stored bit-packed (uint8, 8 units per byte). ``granularity`` says what one *pattern*
  is: ``"example"`` the whole layer's bit-vector for one example (the paper's literal definition),
  ``"position"`` the channel vector at one spatial position of one example, ``"neuron"`` a single
  unit of one example.
- **APT** (eq. 4): ``T = -log2(fraction of the batch's patterns that did not change)`` between two
  parameter states. If none is unchanged the paper's regularizer counts half a pattern as
  unchanged, so ``T <= log2(2 n)`` for ``n`` patterns (8.00 for 128 examples at "example").
- **LR range** (Section 3.3): the probability that a pattern changes at ``theta - lr * d`` (``d``
  the plain gradient on one batch), over a log grid of ``lr``.
- **The erf model** (eq. 5), in a consistent form: ``P_change(lr) = Phi((ln lr - mu) / sigma)``, Phi
  the standard normal CDF, natural log. (As printed, eq. 5 gives the probability that a pattern is
  *unchanged* and grows with lr, which cannot be: larger steps change more patterns.) The rival
  ``P_change = 1 - exp(-lr / lr0)``: independent flips whose number grows linearly with lr.

Default granularity. ``apt_between`` keeps the paper's literal ``"example"``; the tools used in
training (``APTProbe``, ``lr_range``, ``actcool.ActCoolLR``) default to ``"position"``. Measured on
Fashion-MNIST at initialization (batch 128; ResNet-20 at width 0.5 and the benchmark ConvNet), the
learning rate at which the mean T reaches the paper's starting temperature 3.17 is about 4e-4 and
2e-3 for "example" patterns (every layer already reads the ceiling 8.00 at lr 0.05, so the
measurement carries no information at usable learning rates), about 0.06 for "position" patterns,
and beyond 100 for single neurons (T = 0.18 and 0.02 at lr 0.05). Only "position" puts the paper's
temperature range where networks are trained; the ActCoolR chapter shows the comparison.

BatchNorm and dropout in the extra forward passes: BatchNorm stays in training mode (statistics of
the same batch, as in the step's own forward, so a change of pattern comes from the weights and
not from switching to running statistics) and its running statistics are restored afterwards;
the random state of the step's own forward is replayed so dropout draws the same masks.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from thermo.errors import ConfigError
from thermo.train import Callback

GRANULARITIES = ("example", "position", "neuron")
_BITS = torch.tensor([128, 64, 32, 16, 8, 4, 2, 1], dtype=torch.uint8)


def check_granularity(granularity: str) -> None:
    if granularity not in GRANULARITIES:
        raise ConfigError(f"granularity must be one of {GRANULARITIES}, got {granularity!r}")


def relu_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    from thermo.models import relu_modules

    layers = relu_modules(model)
    if not layers:
        raise ConfigError(f"{type(model).__name__} has no nn.ReLU modules: APT needs ReLU modules to hook "
                          "(functional relu calls cannot be seen)")
    return layers


def pack(active: torch.Tensor, granularity: str) -> torch.Tensor:
    """Bit-pack a layer's boolean activation map (B, C, ...) into uint8, the pattern axis second:
    (B, bytes) for "example" (one row per example); (B, channel bytes, positions) for "position"
    (the channels packed in place, without transposing the map: one pattern per (example,
    position) column); (B * units,) of 0/1 for "neuron" (a pattern is one bit)."""
    b = active.shape[0]
    if granularity == "neuron":
        return active.reshape(-1).to(torch.uint8)
    if granularity == "position" and active.ndim > 2:
        rows = active.reshape(b, active.shape[1], -1)  # (B, C, H * W), a free view of NCHW
    else:
        rows = active.reshape(b, -1)
    if rows.device.type == "cpu" and rows.ndim == 2:  # numpy packs along the last axis ~4x faster than torch
        return torch.from_numpy(np.packbits(rows.contiguous().numpy(), axis=1))
    return packbits_torch(rows)  # along a middle axis numpy is ~15x slower than this (measured, 128x16x28x28)


def packbits_torch(rows: torch.Tensor) -> torch.Tensor:
    """``np.packbits(rows, axis=1)`` in torch ops, on the tensor's own device (the GPU path)."""
    pad = (-rows.shape[1]) % 8
    if pad:
        rows = nn.functional.pad(rows.movedim(1, -1), (0, pad)).movedim(-1, 1)
    shape = (rows.shape[0], rows.shape[1] // 8, 8, *rows.shape[2:])
    bits = _BITS.to(rows.device).reshape(1, 1, 8, *([1] * (rows.ndim - 2)))
    return (rows.reshape(shape).to(torch.uint8) * bits).sum(2, dtype=torch.uint8)


def unchanged_fraction(before: torch.Tensor, after: torch.Tensor) -> tuple[float, int]:
    """(fraction of patterns identical in both, number of patterns); a pattern is the bytes along
    axis 1 of :func:`pack`'s output (one bit for "neuron")."""
    same = before == after if before.ndim == 1 else (before == after).all(dim=1)
    return float(same.float().mean()), int(same.numel())


def temperature(unchanged: float, n: int) -> float:
    """Eq. (4) with the paper's regularizer: ``-log2`` of the unchanged fraction; if no pattern is
    unchanged, half a pattern is counted, so the ceiling is ``log2(2 n)``."""
    if not 0 <= unchanged <= 1:
        raise ConfigError(f"an unchanged fraction must be in [0, 1], got {unchanged}")
    return -math.log2(max(unchanged, 0.5 / n))


class PatternRecorder:
    """Forward hooks on every ReLU module that store the packed patterns of the next forward."""

    def __init__(self, model: nn.Module, granularity: str):
        check_granularity(granularity)
        self.layers = relu_layers(model)
        self.granularity = granularity
        self.patterns: dict[str, torch.Tensor] = {}
        self.handles: list = []

    def __enter__(self):
        for name, module in self.layers:
            self.handles.append(module.register_forward_hook(self._hook(name)))
        return self

    def _hook(self, name):
        def hook(module, inputs, output):
            self.patterns[name] = pack(output.detach() > 0, self.granularity)

        return hook

    def __exit__(self, *exc):
        for h in self.handles:
            h.remove()
        self.handles = []

    def nbytes(self) -> int:
        return sum(p.numel() * p.element_size() for p in self.patterns.values())


@contextlib.contextmanager
def frozen_side_effects(model: nn.Module, rng_state=None):
    """For extra forward passes: BatchNorm running statistics restored afterwards, gradients off,
    and (optionally) the CPU/CUDA random state set to ``rng_state`` and restored afterwards."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [(m.running_mean.clone() if m.running_mean is not None else None,
              m.running_var.clone() if m.running_var is not None else None,
              m.num_batches_tracked.clone() if m.num_batches_tracked is not None else None) for m in bns]
    cpu_state = torch.get_rng_state()
    cuda_state = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    if rng_state is not None:
        torch.set_rng_state(rng_state[0])
        if rng_state[1] is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng_state[1])
    try:
        with torch.no_grad():
            yield
    finally:
        for m, (mean, var, count) in zip(bns, saved):
            if mean is not None:
                m.running_mean.copy_(mean)
                m.running_var.copy_(var)
            if count is not None:
                m.num_batches_tracked.copy_(count)
        torch.set_rng_state(cpu_state)
        if cuda_state is not None:
            torch.cuda.set_rng_state_all(cuda_state)


def rng_snapshot():
    return torch.get_rng_state(), torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None


def patterns(model: nn.Module, x: torch.Tensor, granularity: str = "example", rng_state=None) -> dict:
    """The packed patterns of every ReLU layer for the batch ``x`` at the model's current weights."""
    with PatternRecorder(model, granularity) as rec, frozen_side_effects(model, rng_state):
        model(x)
    return rec.patterns


def layer_temperatures(before: dict, after: dict) -> dict[str, float]:
    out = {}
    for name, p in before.items():
        frac, n = unchanged_fraction(p, after[name])
        out[name] = temperature(frac, n)
    return out


def apt_between(model: nn.Module, x: torch.Tensor, state_before: dict, state_after: dict,
                granularity: str = "example") -> dict[str, float]:
    """Eq. (4) per ReLU layer: ``{name: T}`` between two parameter states (``state_dict``s) on the
    batch ``x``. The mean over layers is the network's T. The model is left as it was given."""
    check_granularity(granularity)
    relu_layers(model)
    original = {k: v.detach().clone() for k, v in model.state_dict().items()}
    rng = rng_snapshot()
    try:
        model.load_state_dict(state_before)
        before = patterns(model, x, granularity, rng)
        model.load_state_dict(state_after)
        after = patterns(model, x, granularity, rng)
    finally:
        model.load_state_dict(original)
    return layer_temperatures(before, after)


def mean_temperature(temps: dict[str, float]) -> float:
    return float(np.mean(list(temps.values())))


class APTProbe(Callback):
    """Measures APT every ``every`` steps during training, without a second backward pass.

    At the start of a probed step it attaches hooks, so the step's own forward (theta_t) records
    the patterns, and keeps the random state; after the optimizer step one extra no-grad forward
    on the same batch at theta_{t+1} (same random state, BatchNorm statistics restored) gives the
    patterns to compare. Per-layer T (``<key>:<layer>``) and the mean (``<key>``, default ``apt``) go
    into the step history; ``bytes_per_example`` is the pattern memory of one probe.
    """

    def __init__(self, every: int = 10, granularity: str = "position", per_layer: bool = True, key: str = "apt"):
        check_granularity(granularity)
        self.key = key
        if not (isinstance(every, int) and every >= 1):
            raise ConfigError(f"every must be a positive integer, got {every!r}")
        self.every, self.granularity, self.per_layer = every, granularity, per_layer
        self._rec: PatternRecorder | None = None
        self._rng = None
        self.bytes_per_example: float | None = None
        self.n_patterns: int | None = None  # the fewest patterns of a layer in the last probe
        self.last: dict[str, float] = {}

    def on_train_start(self, state) -> None:
        relu_layers(state.model)

    def on_batch_start(self, state, batch) -> None:
        if (state.step + 1) % self.every == 0:  # the step about to run is step + 1
            self._rng = rng_snapshot()
            self._rec = PatternRecorder(state.model, self.granularity).__enter__()

    def before_optimizer_step(self, state, batch) -> None:
        if self._rec is not None:
            self._rec.__exit__()  # the step's own forward is done: stop recording

    def after_optimizer_step(self, state, batch, loss: float) -> None:
        if self._rec is None:
            return
        rec, self._rec = self._rec, None
        x = batch[0]
        after = patterns(state.model, x, self.granularity, self._rng)
        self.bytes_per_example = rec.nbytes() / len(x)
        temps = layer_temperatures(rec.patterns, after)
        self.n_patterns = min(unchanged_fraction(p, after[k])[1] for k, p in rec.patterns.items())
        self.last = temps
        state.log_step(self.key, mean_temperature(temps))
        if self.per_layer:
            for name, t in temps.items():
                state.log_step(f"{self.key}:{name}", t)

    def state_dict(self) -> dict:  # what the last probe found (checkpoints are never taken mid-probe)
        return {"bytes_per_example": self.bytes_per_example, "n_patterns": self.n_patterns, "last": dict(self.last)}

    def load_state_dict(self, state: dict) -> None:
        self.bytes_per_example, self.n_patterns = state["bytes_per_example"], state["n_patterns"]
        self.last = dict(state["last"])


# --- the learning-rate range and the erf model ----------------------------------------------------

def check_lr_grid(lrs) -> np.ndarray:
    grid = np.asarray(lrs, dtype=float)
    if grid.ndim != 1 or grid.size < 2 or not np.all(np.isfinite(grid)) or np.any(grid <= 0) \
            or np.any(np.diff(grid) <= 0):
        raise ConfigError("the learning-rate grid must be positive, finite and strictly increasing")
    return grid


def default_lr_grid(points: int = 31, low: float = 1e-4, high: float = 1e2) -> np.ndarray:
    return np.geomspace(low, high, points)


def lr_range(model: nn.Module, batch, lrs=None, granularity: str = "position", loss_fn=None) -> dict:
    """Section 3.3: for the current parameters theta and the plain gradient ``d`` of the loss on one
    batch, the per-layer probability that a pattern changes at ``theta - lr * d`` for every ``lr``.

    Returns ``{"lrs": grid, "p_change": {layer: array over lrs}, "n_patterns": {layer: n}}``. The
    model's parameters, its gradients, BatchNorm statistics and the random state are restored; an
    optimizer is not touched (no step is taken).
    """
    check_granularity(granularity)
    relu_layers(model)
    grid = check_lr_grid(default_lr_grid() if lrs is None else lrs)
    loss_fn = loss_fn or nn.functional.cross_entropy
    x, y = batch
    params = [p for p in model.parameters() if p.requires_grad]
    saved_grads = [None if p.grad is None else p.grad.detach().clone() for p in params]
    base = [p.detach().clone() for p in params]
    rng = rng_snapshot()
    try:
        for p in params:
            p.grad = None
        with frozen_side_effects_grad(model, rng):
            loss_fn(model(x), y).backward()
        direction = [torch.zeros_like(p) if p.grad is None else p.grad.detach().clone() for p in params]
        before = patterns(model, x, granularity, rng)
        probs: dict[str, list] = {name: [] for name in before}
        counts = {}
        for lr in grid:
            with torch.no_grad():
                for p, b, d in zip(params, base, direction):
                    p.copy_(b - lr * d)
            after = patterns(model, x, granularity, rng)
            for name in before:
                frac, n = unchanged_fraction(before[name], after[name])
                probs[name].append(1.0 - frac)
                counts[name] = n
    finally:
        with torch.no_grad():
            for p, b, g in zip(params, base, saved_grads):
                p.copy_(b)
                p.grad = g
    return {"lrs": grid, "p_change": {k: np.array(v) for k, v in probs.items()}, "n_patterns": counts}


@contextlib.contextmanager
def frozen_side_effects_grad(model: nn.Module, rng_state):
    """Like :func:`frozen_side_effects` but with gradients on (the forward of the direction)."""
    with frozen_side_effects(model, rng_state), torch.enable_grad():
        yield


def _check_probabilities(lrs, p):
    """A curve the erf and exponential models can be fitted to: at least 3 points, probabilities in
    [0, 1] that vary and grow with the learning rate overall (least-squares slope against ln lr > 0;
    a flat or falling curve used to come back as sigma = 1e9 without a word)."""
    grid = check_lr_grid(lrs)
    prob = np.asarray(p, dtype=float)
    if prob.shape != grid.shape:
        raise ConfigError(f"one probability per learning rate: got {prob.size} for {grid.size}")
    if not np.all(np.isfinite(prob)) or np.any(prob < 0) or np.any(prob > 1):
        raise ConfigError("probabilities must lie in [0, 1]")
    if grid.size < 3:
        raise ConfigError(f"fitting a model of the LR range needs at least 3 learning rates, got {grid.size}")
    if np.all(prob == prob[0]):
        raise ConfigError(f"the probabilities do not vary (all {prob[0]:g}): a flat LR range has nothing to fit")
    slope = float(np.polyfit(np.log(grid), prob, 1)[0])
    if slope <= 0:
        raise ConfigError(f"the probabilities do not grow with the learning rate (least-squares slope {slope:.3g} "
                          "against ln lr): a pattern changes more often at larger learning rates")
    return grid, prob


@dataclass(frozen=True)
class Fit:
    params: dict  # the fitted parameters
    errors: dict  # their standard errors
    r2: float
    rmse: float
    residuals: np.ndarray

    def __getitem__(self, key):
        return self.params[key]


def _fit(model, grid, prob, p0, names) -> Fit:
    from scipy.optimize import curve_fit

    popt, pcov = curve_fit(model, grid, prob, p0=p0, maxfev=20000)
    pred = model(grid, *popt)
    resid = prob - pred
    ss_tot = float(np.sum((prob - prob.mean()) ** 2))
    r2 = 1.0 - float(np.sum(resid**2)) / ss_tot if ss_tot > 0 else float("nan")
    errs = np.sqrt(np.clip(np.diag(pcov), 0, None)) if np.all(np.isfinite(pcov)) else np.full(len(popt), np.nan)
    return Fit(dict(zip(names, map(float, popt))), dict(zip(names, map(float, errs))), r2,
               float(np.sqrt(np.mean(resid**2))), resid)


def erf_model(lrs, mu, sigma):
    """P_change(lr) = Phi((ln lr - mu) / sigma)."""
    from scipy.special import ndtr

    return ndtr((np.log(lrs) - mu) / sigma)


def exponential_model(lrs, lr0):
    """P_change(lr) = 1 - exp(-lr / lr0)."""
    return -np.expm1(-np.asarray(lrs) / lr0)


def fit_erf(lrs, p_change) -> Fit:
    """Least squares fit of :func:`erf_model` (``scipy.optimize.curve_fit``): mu, sigma, their
    standard errors, R^2 and the residuals."""
    grid, prob = _check_probabilities(lrs, p_change)
    mid = float(np.log(grid[np.argmin(np.abs(prob - 0.5))]))
    return _fit(erf_model, grid, prob, [mid, 1.0], ["mu", "sigma"])


def fit_exponential(lrs, p_change) -> Fit:
    """Least squares fit of :func:`exponential_model`: lr0 and its standard error, R^2, residuals."""
    grid, prob = _check_probabilities(lrs, p_change)
    mid = float(grid[np.argmin(np.abs(prob - 0.5))]) / math.log(2)
    return _fit(exponential_model, grid, prob, [mid], ["lr0"])

"""One training loop for every chapter (DESIGN.md section 6, ``thermo.train``).

``fit(model, train_set, test_set, config, callbacks=(), run_id=None)`` trains with SGD (momentum
by default) or Adam on in-memory tensors and returns a plain-data :class:`TrainResult`.

- **Learning rates.** Each step sets ``group["lr"] = base_lr(t) * group.get("lr_scale", 1.0)``
  where ``base_lr`` is the config's schedule (constant, cosine, step) evaluated at the fractional
  epoch ``t``. Layer-wise methods (TempBalance) only write ``lr_scale`` on parameter groups, so
  they compose with any base schedule.
- **Callbacks** (:class:`Callback`) see the run at train start, epoch start, batch start (before
  the forward: e.g. to attach hooks or keep the RNG state of a step), after backward but before
  the optimizer step (gradient terms such as spectral-norm regularization), after the step (a
  second forward at the new weights for ActCoolR) and at epoch end. A callback may take over the
  base learning rate by setting ``state.lr_override`` (ActCoolLR); ``log_lr_steps`` records the
  base LR of every step. ``state.log_step``
  and ``state.log_epoch`` add scalars to the history that lands in the results record.
- **Divergence.** A non-finite loss stops the run; the result has status ``diverged`` and the
  global step where it happened (never an exception, never NaN curves).
- **Checkpoints.** With a ``run_id``, the model, optimizer, history, RNG state and callback states
  are written atomically after every epoch; calling ``fit`` again with the same ``run_id`` and
  config resumes from the last finished epoch (a run that was killed). A finished run removes
  its checkpoint. On the CPU, with the same torch thread count, a resumed run ends with exactly
  the weights and metrics of an uninterrupted one (tests/test_faults.py kills one with SIGKILL);
  on a GPU that also needs ``torch.use_deterministic_algorithms(True)``. Batches come from a permutation seeded by
  ``(seed, epoch)``, so a resumed run sees the same batches as an uninterrupted one. Checkpoints
  load with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from thermo.errors import ConfigError
from thermo.paths import checkpoints_dir
from thermo.results import config_hash

SCHEDULES = ("constant", "cosine", "step", "onecycle", "sgdr")
OPTIMIZERS = ("sgd", "adam")
AUGMENTATIONS = ("none", "crop-flip")


@dataclass
class TrainConfig:
    """Hyper-parameters of one run; :meth:`validate` runs before any work starts."""

    epochs: int
    lr: float
    batch_size: int = 128
    optimizer: str = "sgd"
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "cosine"
    step_milestones: tuple = ()  # fractions of training for the step schedule
    step_gamma: float = 0.1
    seed: int = 0
    eval_batch_size: int = 1024
    device: str = "auto"
    eval_every: int = 1  # evaluate on the test set every this many epochs (and always after the last)
    eval_steps: tuple = ()  # also evaluate after these global steps (e.g. log-spaced, see log_spaced_steps)
    lr_per_step: bool = True  # False: the schedule moves once per epoch (torch's scheduler.step() per epoch)
    onecycle_pct_start: float = 0.3  # onecycle: torch's OneCycleLR(max_lr=lr, pct_start, div_factor, final_div_factor)
    onecycle_div_factor: float = 25.0
    onecycle_final_div_factor: float = 1e4
    sgdr_t0: float = 10.0  # sgdr: torch's CosineAnnealingWarmRestarts(T_0 epochs, T_mult), eta_min = 0
    sgdr_t_mult: int = 1
    log_lr_steps: bool = False  # record the base LR used at every step in the step history ("lr")
    augment: str = "none"  # "crop-flip": random crop after zero padding and horizontal flip, on the device
    augment_padding: int = 4

    def validate(self) -> TrainConfig:
        if not (isinstance(self.epochs, int) and self.epochs >= 1):
            raise ConfigError(f"epochs must be a positive integer, got {self.epochs!r}")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ConfigError(f"learning rate must be a positive number, got {self.lr!r}")
        if not (isinstance(self.batch_size, int) and self.batch_size >= 1):
            raise ConfigError(f"batch_size must be a positive integer, got {self.batch_size!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if not 0 <= self.momentum < 1:
            raise ConfigError(f"momentum must be in [0, 1), got {self.momentum}")
        if self.weight_decay < 0:
            raise ConfigError(f"weight_decay cannot be negative, got {self.weight_decay}")
        if not 0 < self.onecycle_pct_start < 1:
            raise ConfigError(f"onecycle_pct_start must be in (0, 1), got {self.onecycle_pct_start}")
        if self.sgdr_t0 <= 0 or not (isinstance(self.sgdr_t_mult, int) and self.sgdr_t_mult >= 1):
            raise ConfigError(f"sgdr needs t0 > 0 and an integer t_mult >= 1, got {self.sgdr_t0}, {self.sgdr_t_mult}")
        if any(not 0 < m < 1 for m in self.step_milestones):
            raise ConfigError("step_milestones are fractions of training, each in (0, 1)")
        if self.augment not in AUGMENTATIONS:
            raise ConfigError(f"augment must be one of {AUGMENTATIONS}, got {self.augment!r}")
        if not (isinstance(self.augment_padding, int) and self.augment_padding >= 0):
            raise ConfigError(f"augment_padding must be a non-negative integer, got {self.augment_padding!r}")
        if not (isinstance(self.eval_every, int) and self.eval_every >= 1):
            raise ConfigError(f"eval_every must be a positive integer, got {self.eval_every!r}")
        if any(not (isinstance(t, int) and t >= 1) for t in self.eval_steps):
            raise ConfigError("eval_steps must be positive integers (global optimizer steps)")
        if self.device not in ("auto", "cpu") and not self.device.startswith("cuda"):
            raise ConfigError(f"device must be 'auto', 'cpu' or 'cuda[:i]', got {self.device!r}")
        return self

    def base_lr(self, t: float, steps_per_epoch: int | None = None) -> float:
        """The schedule's learning rate at fractional epoch ``t`` (0 <= t <= epochs).

        ``onecycle`` follows torch's ``OneCycleLR`` (two phases, cosine annealing) step by step:
        from ``lr / div_factor`` up to ``lr`` over the first ``pct_start`` of the steps, then down to
        ``lr / (div_factor * final_div_factor)``; it needs ``steps_per_epoch``. ``sgdr`` follows
        ``CosineAnnealingWarmRestarts`` with restarts after ``sgdr_t0`` epochs (times ``sgdr_t_mult``).
        """
        frac = min(max(t / self.epochs, 0.0), 1.0)
        if self.schedule == "cosine":
            return 0.5 * self.lr * (1.0 + math.cos(math.pi * frac))
        if self.schedule == "step":
            return self.lr * self.step_gamma ** sum(frac >= m for m in self.step_milestones)
        if self.schedule == "onecycle":
            if not steps_per_epoch:
                raise ConfigError("the onecycle schedule needs steps_per_epoch")
            total = self.epochs * steps_per_epoch
            step = min(int(round(t * steps_per_epoch)), total - 1)
            initial = self.lr / self.onecycle_div_factor
            final = initial / self.onecycle_final_div_factor
            peak = float(self.onecycle_pct_start * total) - 1
            if step <= peak:
                start, end, pct = initial, self.lr, step / peak
            else:
                start, end, pct = self.lr, final, (step - peak) / (total - 1 - peak)
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        if self.schedule == "sgdr":
            t_i, t_cur = self.sgdr_t0, t
            while t_cur >= t_i:
                t_cur -= t_i
                t_i *= self.sgdr_t_mult
            return 0.5 * self.lr * (1.0 + math.cos(math.pi * t_cur / t_i))
        return self.lr


def crop_flip(x: torch.Tensor, padding: int, generator: torch.Generator) -> torch.Tensor:
    """Random crop of the original size after zero-padding by ``padding`` pixels on each side, then a
    horizontal flip with probability 1/2, independently per image, as one batched gather on the
    batch's device (torchvision's RandomCrop(padding) + RandomHorizontalFlip, without a loop)."""
    b, _, h, w = x.shape
    offsets = torch.randint(0, 2 * padding + 1, (2, b), generator=generator).to(x.device)
    flips = (torch.rand(b, generator=generator) < 0.5).to(x.device)
    padded = nn.functional.pad(x, (padding, padding, padding, padding))
    rows = offsets[0, :, None] + torch.arange(h, device=x.device)  # (b, h)
    cols = offsets[1, :, None] + torch.arange(w, device=x.device)  # (b, w)
    cols = torch.where(flips[:, None], cols.flip(1), cols)
    idx = torch.arange(b, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[idx, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2).contiguous()


def log_spaced_steps(last: int, per_decade: int = 20, first: int = 1) -> tuple:
    """Distinct integer steps from ``first`` to ``last`` (both included), about ``per_decade`` per
    factor of 10: where to evaluate a long run whose interesting times span decades."""
    if not (isinstance(last, int) and last >= first >= 1):
        raise ConfigError(f"need integers 1 <= first <= last, got first={first}, last={last}")
    if per_decade < 1:
        raise ConfigError(f"per_decade must be at least 1, got {per_decade}")
    n = max(2, int(math.ceil(per_decade * math.log10(last / first))) + 1)
    grid = {int(round(first * (last / first) ** (i / (n - 1)))) for i in range(n)}
    return tuple(sorted(grid | {first, last}))


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


@dataclass
class TrainState:
    """What callbacks see: the live model and optimizer, counters and the history."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    config: TrainConfig
    device: torch.device
    loss_fn: Callable
    epoch: int = 0
    step: int = 0
    steps_per_epoch: int = 0
    history: dict = field(default_factory=dict)
    step_history: dict = field(default_factory=dict)
    batch_acc: float = float("nan")  # accuracy of the last step's batch (before its update)
    lr_override: float | None = None  # a callback that drives the LR (ActCoolLR) sets the base LR here
    lr: float = float("nan")  # the base LR of the current step (schedule or override)

    def log_epoch(self, name: str, value) -> None:
        self.history.setdefault(name, []).append(_scalar(value))

    def log_step(self, name: str, value) -> None:
        self.step_history.setdefault("step:" + name, []).append(self.step)
        self.step_history.setdefault(name, []).append(_scalar(value))


def _scalar(value):
    if isinstance(value, torch.Tensor):
        value = value.item()
    return float(value) if isinstance(value, (int, float)) else value


class Callback:
    """Override what you need; every hook gets the :class:`TrainState`."""

    def on_train_start(self, state: TrainState) -> None: ...
    def on_epoch_start(self, state: TrainState) -> None: ...
    def on_batch_start(self, state: TrainState, batch) -> None: ...
    def before_optimizer_step(self, state: TrainState, batch) -> None: ...
    def after_optimizer_step(self, state: TrainState, batch, loss: float) -> None: ...
    def on_epoch_end(self, state: TrainState) -> None: ...

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None: ...


@dataclass
class TrainResult:
    status: str  # "ok" or "diverged"
    epochs_done: int
    steps_done: int
    diverged_at_step: int | None
    history: dict
    step_history: dict
    wall_seconds: float
    resumed_from_epoch: int

    def final(self, key: str):
        values = self.history.get(key) or [None]
        return values[-1]

    def to_dict(self) -> dict:
        return asdict(self)


@torch.no_grad()
def evaluate(model: nn.Module, dataset, loss_fn=None, batch_size: int = 1024, device=None):
    """Mean loss and accuracy of ``model`` on a whole dataset (eval mode, no gradients)."""
    loss_fn = loss_fn or nn.functional.cross_entropy
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    total_loss, correct, n = 0.0, 0, 0
    for i in range(0, len(dataset), batch_size):
        x = dataset.x[i:i + batch_size].to(device)
        y = dataset.y[i:i + batch_size].to(device)
        out = model(x)
        total_loss += float(loss_fn(out, y, reduction="sum"))
        correct += int((out.argmax(1) == y).sum())
        n += len(y)
    model.train(was_training)
    return total_loss / n, correct / n


def make_optimizer(model_or_groups, config: TrainConfig) -> torch.optim.Optimizer:
    params = model_or_groups.parameters() if isinstance(model_or_groups, nn.Module) else model_or_groups
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)


def _checkpoint_path(run_id: str) -> Path:
    return checkpoints_dir() / run_id / "last.pt"


def _save_checkpoint(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(payload, tmp)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _checkpoint_payload(fingerprint, state: TrainState, callbacks, device, spent: float, started: float) -> dict:
    return {
        "fingerprint": fingerprint,
        "model": state.model.state_dict(),
        "optimizer": state.optimizer.state_dict(),
        "epoch": state.epoch,
        "step": state.step,
        "history": state.history,
        "step_history": state.step_history,
        "callbacks": [cb.state_dict() for cb in callbacks],
        "rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if device.type == "cuda" else [],
        "wall_seconds": spent + time.time() - started,
    }


def fit(
    model: nn.Module,
    train_set,
    test_set,
    config: TrainConfig,
    callbacks: Sequence[Callback] = (),
    loss_fn: Callable | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    run_id: str | None = None,
    progress: bool | None = None,
    description: str = "train",
    keep_checkpoint: bool = False,
    checkpoint_every: int = 1,
) -> TrainResult:
    """Train ``model`` and return its history; see the module docstring for the contract.

    ``loss_fn(logits, targets, reduction="mean")`` defaults to cross-entropy; it must accept
    ``reduction="sum"`` too (used for evaluation), like torch's functional losses.
    ``optimizer`` may be given (e.g. with one parameter group per layer for TempBalance);
    otherwise SGD/Adam over all parameters is made from the config. ``run_id`` turns on
    checkpoints (every ``checkpoint_every`` epochs: full-batch runs have one step per epoch) and
    resume; the checkpoint is deleted once the run has ended (ok or diverged) unless
    ``keep_checkpoint``. ``progress=None`` shows tqdm bars unless ``THERMO_PROGRESS=0``.

    Evaluation: after every ``config.eval_every`` epochs (and the last one) the test loss and
    accuracy go into ``history`` with that epoch's training loss and accuracy (means over its
    batches); after each global step in ``config.eval_steps`` the test loss and accuracy, and the
    loss and accuracy of that step's batch (before its update), go into ``step_history``.
    """
    config.validate()
    if len(train_set) == 0:
        raise ConfigError("the training set is empty")
    device = resolve_device(config.device)
    torch.manual_seed(config.seed)
    model.to(device)
    loss_fn = loss_fn or nn.functional.cross_entropy
    optimizer = optimizer or make_optimizer(model, config)
    steps_per_epoch = math.ceil(len(train_set) / config.batch_size)
    state = TrainState(model, optimizer, config, device, loss_fn, steps_per_epoch=steps_per_epoch)
    if progress is None:
        progress = os.environ.get("THERMO_PROGRESS", "1") != "0"

    if not (isinstance(checkpoint_every, int) and checkpoint_every >= 1):
        raise ConfigError(f"checkpoint_every must be a positive integer, got {checkpoint_every!r}")
    eval_steps = set(config.eval_steps)
    ckpt = _checkpoint_path(run_id) if run_id else None
    fingerprint = config_hash("train", 1, asdict(config))
    resumed_from, spent = 0, 0.0
    if ckpt is not None and ckpt.exists():
        payload = torch.load(ckpt, map_location=device, weights_only=True)
        if payload.get("fingerprint") == fingerprint:
            model.load_state_dict(payload["model"])
            optimizer.load_state_dict(payload["optimizer"])
            state.epoch, state.step = payload["epoch"], payload["step"]
            state.history, state.step_history = payload["history"], payload["step_history"]
            for cb, cb_state in zip(callbacks, payload["callbacks"]):
                cb.load_state_dict(cb_state)
            torch.set_rng_state(payload["rng"].cpu())
            if payload.get("cuda_rng") and torch.cuda.is_available():
                torch.cuda.set_rng_state_all([t.cpu() for t in payload["cuda_rng"]])
            resumed_from, spent = state.epoch, payload["wall_seconds"]

    started = time.time()
    status, diverged_at = "ok", None
    for cb in callbacks:
        cb.on_train_start(state)
    epochs = tqdm(
        range(state.epoch, config.epochs), desc=description, disable=not progress,
        initial=state.epoch, total=config.epochs, mininterval=1.0,
    )
    for epoch in epochs:
        state.epoch = epoch
        model.train()
        for cb in callbacks:
            cb.on_epoch_start(state)
        perm = torch.randperm(len(train_set), generator=torch.Generator().manual_seed(
            config.seed * 1_000_003 + epoch))
        run_loss, run_correct, seen = 0.0, 0, 0
        augment_rng = torch.Generator().manual_seed(config.seed * 1_000_003 + epoch + 7919)
        for b in range(steps_per_epoch):
            idx = perm[b * config.batch_size:(b + 1) * config.batch_size]
            x, y = train_set.x[idx].to(device), train_set.y[idx].to(device)
            if config.augment == "crop-flip":
                x = crop_flip(x, config.augment_padding, augment_rng)
            for cb in callbacks:
                cb.on_batch_start(state, (x, y))
            if state.lr_override is not None:
                lr_now = state.lr_override
            else:
                lr_now = config.base_lr(epoch + (b / steps_per_epoch if config.lr_per_step else 0.0), steps_per_epoch)
            state.lr = lr_now
            if config.log_lr_steps:
                state.step_history.setdefault("lr", []).append(lr_now)
            for group in optimizer.param_groups:
                group["lr"] = lr_now * group.get("lr_scale", 1.0)
            optimizer.zero_grad(set_to_none=True)
            out = model(x)
            loss = loss_fn(out, y)
            if not torch.isfinite(loss):
                status, diverged_at = "diverged", state.step
                break
            loss.backward()
            for cb in callbacks:
                cb.before_optimizer_step(state, (x, y))
            optimizer.step()
            state.step += 1
            lv = loss.item()
            batch_correct = int((out.argmax(1) == y).sum())
            state.batch_acc = batch_correct / len(y)
            for cb in callbacks:
                cb.after_optimizer_step(state, (x, y), lv)
            run_loss += lv * len(y)
            run_correct += batch_correct
            seen += len(y)
            if state.step in eval_steps:
                step_test_loss, step_test_acc = evaluate(model, test_set, loss_fn, config.eval_batch_size, device)
                if not math.isfinite(step_test_loss):
                    status, diverged_at = "diverged", state.step
                    break
                state.log_step("test_loss", step_test_loss)
                state.log_step("test_acc", step_test_acc)
                state.log_step("train_loss", lv)
                state.log_step("train_acc", batch_correct / len(y))
        if status == "diverged":
            break
        last_epoch = epoch + 1 == config.epochs
        if (epoch + 1) % config.eval_every and not last_epoch:
            for cb in callbacks:
                cb.on_epoch_end(state)
            state.epoch = epoch + 1
            if ckpt is not None and (epoch + 1) % checkpoint_every == 0:
                _save_checkpoint(ckpt, _checkpoint_payload(fingerprint, state, callbacks, device, spent, started))
            continue
        test_loss, test_acc = evaluate(model, test_set, loss_fn, config.eval_batch_size, device)
        if not math.isfinite(test_loss):
            status, diverged_at = "diverged", state.step
            break
        state.log_epoch("epoch", epoch + 1)
        state.log_epoch("lr", state.lr)
        state.log_epoch("train_loss", run_loss / seen)
        state.log_epoch("train_acc", run_correct / seen)
        state.log_epoch("test_loss", test_loss)
        state.log_epoch("test_acc", test_acc)
        for cb in callbacks:
            cb.on_epoch_end(state)
        state.epoch = epoch + 1
        epochs.set_postfix(loss=f"{run_loss / seen:.3f}", test_acc=f"{test_acc:.3f}")
        if ckpt is not None and ((epoch + 1) % checkpoint_every == 0 or last_epoch):
            _save_checkpoint(ckpt, _checkpoint_payload(fingerprint, state, callbacks, device, spent, started))
    epochs.close()
    if ckpt is not None and not keep_checkpoint:
        ckpt.unlink(missing_ok=True)
    return TrainResult(
        status=status,
        epochs_done=state.epoch,
        steps_done=state.step,
        diverged_at_step=diverged_at,
        history=state.history,
        step_history=state.step_history,
        wall_seconds=round(spent + time.time() - started, 3),
        resumed_from_epoch=resumed_from,
    )

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
  (each under a stable key, :func:`callback_keys`) are written atomically after every epoch with a
  SHA-256 of their contents; calling ``fit`` again with the same ``run_id`` resumes from the last
  finished epoch (a run that was killed, or stopped with Ctrl-C: ``KeyboardInterrupt`` propagates and
  the last finished checkpoint stays whole). A checkpoint is only resumed if its fingerprint
  (:func:`run_fingerprint`: the config, the model's parameter names and shapes, the optimizer's
  groups, both data sets) and its callbacks match this run; otherwise, or if it is damaged, one
  warning names it and training starts from scratch. A checkpoint that cannot be written (a full
  disk) is one warning and training goes on. A finished run removes its checkpoint. On the CPU,
  with the same torch thread count, a resumed run ends with exactly the weights and records of an
  uninterrupted one, whatever the callbacks (tests/test_resume.py; tests/test_faults.py kills one
  with SIGKILL); on a GPU that also needs ``torch.use_deterministic_algorithms(True)``. Batches come
  from a permutation seeded by ``(seed, epoch)``, so a resumed run sees the same batches as an
  uninterrupted one. Checkpoints load with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import math
import os
import time
import warnings
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

    @classmethod
    def from_config(cls, config: dict, **overrides) -> TrainConfig:
        """The TrainConfig of an experiment's config: every key that names a field (lists become
        tuples), then ``overrides`` (for keys an experiment names differently, e.g. ``lr=config["eta"]``);
        validated. Other keys of ``config`` (model, dataset, ...) are not training settings."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise ConfigError(f"TrainConfig has no field {', '.join(map(repr, unknown))}")
        values = {k: v for k, v in config.items() if k in names and k not in overrides} | overrides
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
        return cls(**values).validate()

    def validate(self) -> TrainConfig:
        """Raise one ConfigError naming the first setting that is wrong; else return self."""
        for ok, message in self._checks():
            if not ok():
                raise ConfigError(message)
        return self

    def _checks(self):
        wd = self.weight_decay
        return (
            (lambda: _positive_int(self.epochs), f"epochs must be a positive integer, got {self.epochs!r}"),
            (lambda: _positive_number(self.lr), f"learning rate must be a positive number, got {self.lr!r}"),
            (lambda: _positive_int(self.batch_size), f"batch_size must be a positive integer, got {self.batch_size!r}"),
            (lambda: self.optimizer in OPTIMIZERS, f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}"),
            (lambda: self.schedule in SCHEDULES, f"schedule must be one of {SCHEDULES}, got {self.schedule!r}"),
            (lambda: 0 <= self.momentum < 1, f"momentum must be in [0, 1), got {self.momentum}"),
            (lambda: _finite_number(wd), f"weight_decay must be a finite number, got {wd!r}"),
            (lambda: wd >= 0, f"weight_decay cannot be negative, got {wd}"),
            (lambda: 0 < self.onecycle_pct_start < 1,
             f"onecycle_pct_start must be in (0, 1), got {self.onecycle_pct_start}"),
            (lambda: self.sgdr_t0 > 0 and _positive_int(self.sgdr_t_mult),
             f"sgdr needs t0 > 0 and an integer t_mult >= 1, got {self.sgdr_t0}, {self.sgdr_t_mult}"),
            (lambda: all(0 < m < 1 for m in self.step_milestones),
             "step_milestones are fractions of training, each in (0, 1)"),
            (lambda: self.augment in AUGMENTATIONS, f"augment must be one of {AUGMENTATIONS}, got {self.augment!r}"),
            (lambda: isinstance(self.augment_padding, int) and self.augment_padding >= 0,
             f"augment_padding must be a non-negative integer, got {self.augment_padding!r}"),
            (lambda: _positive_int(self.eval_every), f"eval_every must be a positive integer, got {self.eval_every!r}"),
            (lambda: all(_positive_int(t) for t in self.eval_steps),
             "eval_steps must be positive integers (global optimizer steps)"),
            (lambda: self.device in ("auto", "cpu") or self.device.startswith("cuda"),
             f"device must be 'auto', 'cpu' or 'cuda[:i]', got {self.device!r}"),
        )

    def base_lr(self, t: float, steps_per_epoch: int | None = None) -> float:
        """The schedule's learning rate at fractional epoch ``t`` (0 <= t <= epochs): one function
        per schedule (:data:`SCHEDULE_FUNCTIONS`), each tested against torch's scheduler."""
        return SCHEDULE_FUNCTIONS[self.schedule](self, t, steps_per_epoch)


def _positive_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 1


def _finite_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _positive_number(x) -> bool:
    return _finite_number(x) and x > 0


def constant_lr(cfg: TrainConfig, t: float, steps_per_epoch=None) -> float:
    return cfg.lr


def cosine_lr(cfg: TrainConfig, t: float, steps_per_epoch=None) -> float:
    """Cosine annealing from ``lr`` to 0 over the run (torch's ``CosineAnnealingLR``, eta_min 0)."""
    frac = min(max(t / cfg.epochs, 0.0), 1.0)
    return 0.5 * cfg.lr * (1.0 + math.cos(math.pi * frac))


def step_lr(cfg: TrainConfig, t: float, steps_per_epoch=None) -> float:
    """``lr`` times ``step_gamma`` per milestone passed (fractions of training; torch's ``MultiStepLR``)."""
    frac = min(max(t / cfg.epochs, 0.0), 1.0)
    return cfg.lr * cfg.step_gamma ** sum(frac >= m for m in cfg.step_milestones)


def onecycle_lr(cfg: TrainConfig, t: float, steps_per_epoch=None) -> float:
    """torch's ``OneCycleLR`` step by step (two phases, cosine annealing): from ``lr / div_factor``
    up to ``lr`` over the first ``pct_start`` of the steps, then down to
    ``lr / (div_factor * final_div_factor)``; it needs ``steps_per_epoch``."""
    if not steps_per_epoch:
        raise ConfigError("the onecycle schedule needs steps_per_epoch")
    total = cfg.epochs * steps_per_epoch
    step = min(int(round(t * steps_per_epoch)), total - 1)
    initial = cfg.lr / cfg.onecycle_div_factor
    final = initial / cfg.onecycle_final_div_factor
    peak = float(cfg.onecycle_pct_start * total) - 1
    if step <= peak:
        start, end, pct = initial, cfg.lr, step / peak
    else:
        start, end, pct = cfg.lr, final, (step - peak) / (total - 1 - peak)
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)


def sgdr_lr(cfg: TrainConfig, t: float, steps_per_epoch=None) -> float:
    """torch's ``CosineAnnealingWarmRestarts``: restarts after ``sgdr_t0`` epochs (times ``sgdr_t_mult``)."""
    t_i, t_cur = cfg.sgdr_t0, t
    while t_cur >= t_i:
        t_cur -= t_i
        t_i *= cfg.sgdr_t_mult
    return 0.5 * cfg.lr * (1.0 + math.cos(math.pi * t_cur / t_i))


SCHEDULE_FUNCTIONS = {"constant": constant_lr, "cosine": cosine_lr, "step": step_lr, "onecycle": onecycle_lr,
                      "sgdr": sgdr_lr}


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
    batch_loss: float = float("nan")  # loss of the last step's batch (before its update)
    status: str = "ok"  # "diverged" once a loss (training or evaluation) is not finite
    diverged_at: int | None = None  # the global step at which it happened

    def diverge(self) -> None:
        """The one divergence path: the run stops after this step and is recorded as diverged."""
        if self.status == "ok":
            self.status, self.diverged_at = "diverged", self.step

    @property
    def diverged(self) -> bool:
        return self.status == "diverged"

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
    def on_train_end(self, state: TrainState) -> None: ...

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

    def to_record(self, **extra) -> dict:
        """The data of a results record, one shape for every experiment: ``status`` (and
        ``reason`` when diverged), ``history`` (``step_history`` when logged), ``final_<name>``
        of every curve, ``train_seconds``, ``epochs_done``, ``steps_done``, then ``extra``."""
        out = {"status": self.status, "history": self.history}
        if self.status == "diverged":
            out["reason"] = diverged_reason(self.diverged_at_step)
        if self.step_history:
            out["step_history"] = self.step_history
        for name in ("test_acc", "test_loss", "train_acc", "train_loss"):
            if name in self.history:
                out[f"final_{name}"] = self.final(name)
        out.update(train_seconds=self.wall_seconds, epochs_done=self.epochs_done, steps_done=self.steps_done)
        return {**out, **extra}


def diverged_reason(step) -> str:
    """The one wording of a diverged run's reason (records and captions quote it)."""
    return f"non-finite loss at step {step}"


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


# --- checks of the data ----------------------------------------------------------------------------

def check_datasets(train_set, test_set) -> None:
    """Bad data, found before any work: an empty set, labels outside the data set's classes (when
    it knows ``num_classes``), NaN or inf in the inputs (a data fault, not a diverged run)."""
    for which, ds in (("training", train_set), ("test", test_set)):
        if len(ds) == 0:
            raise ConfigError(f"the {which} set is empty")
        k, y = getattr(ds, "num_classes", None), ds.y
        if isinstance(k, int) and not (y.is_floating_point() or y.is_complex()):
            lo, hi = int(y.min()), int(y.max())
            if lo < 0 or hi >= k:
                raise ConfigError(f"labels of the {which} set must lie in 0..{k - 1} for {k} classes, got {lo}..{hi}")
        x = ds.x
        if x.is_floating_point() and not torch.isfinite(x.sum(dtype=torch.float64)):  # one pass, no copy
            bad = int((~torch.isfinite(x)).sum())
            if bad:
                values = f"{bad} value" + "s" * (bad != 1)
                raise ConfigError(f"the {which} set has NaN or infinite inputs ({values}); "
                                  "clean the data before training")


# --- checkpoints -----------------------------------------------------------------------------------

CHECKPOINT_FORMAT = 2


class DamagedCheckpoint(Exception):
    """A checkpoint file that cannot be trusted; the message says why."""


def _checkpoint_path(run_id: str) -> Path:
    return checkpoints_dir() / run_id / "last.pt"


def _short(text: str) -> str:
    """The first line of an exception message, at most 160 characters (torch's are paragraphs)."""
    line = str(text).strip().splitlines()[0] if str(text).strip() else ""
    return line if len(line) <= 160 else line[:157] + "..."


def _tensor_bytes(t: torch.Tensor):
    t = t.detach().cpu().contiguous().reshape(-1)
    return t.view(torch.uint8).numpy().data if t.numel() else b""


def _feed(h, obj) -> None:
    if isinstance(obj, torch.Tensor):
        h.update(f"tensor {obj.dtype} {tuple(obj.shape)};".encode())
        h.update(_tensor_bytes(obj))
    elif isinstance(obj, dict):
        h.update(f"dict {len(obj)};".encode())
        for k, v in obj.items():
            _feed(h, k)
            _feed(h, v)
    elif isinstance(obj, (list, tuple)):
        h.update(f"{'list' if isinstance(obj, list) else 'tuple'} {len(obj)};".encode())
        for v in obj:
            _feed(h, v)
    else:
        h.update(f"{type(obj).__name__} {obj!r};".encode())


def payload_digest(obj) -> str:
    """SHA-256 of a checkpoint's contents (tensors by dtype, shape and bytes; numbers by repr), the
    same before ``torch.save`` and after ``torch.load`` on any device."""
    h = hashlib.sha256()
    _feed(h, obj)
    return h.hexdigest()


def _labels_and_size(ds) -> str:
    h = hashlib.sha256(repr((getattr(ds, "name", type(ds).__name__), getattr(ds, "split", None), len(ds),
                             tuple(ds.x.shape), str(ds.y.dtype))).encode())
    h.update(_tensor_bytes(ds.y))
    return h.hexdigest()[:16]


def run_fingerprint(config: TrainConfig, model: nn.Module, optimizer, train_set, test_set) -> dict:
    """What a checkpoint must match to be resumed, part by part: the config, the model (parameter
    and buffer names, shapes, dtypes), the optimizer (class, groups and their sizes), and each data
    set (name, split, size, input shape and a hash of the labels)."""
    model_layout = [(k, tuple(v.shape), str(v.dtype)) for k, v in model.state_dict().items()]
    groups = [(g.get("name"), len(g["params"])) for g in optimizer.param_groups]
    return {
        "config": config_hash("train", 1, asdict(config)),
        "model": hashlib.sha256(repr(model_layout).encode()).hexdigest()[:16],
        "optimizer": hashlib.sha256(repr((type(optimizer).__name__, groups)).encode()).hexdigest()[:16],
        "training data": _labels_and_size(train_set),
        "test data": _labels_and_size(test_set),
    }


def callback_keys(callbacks) -> list[str]:
    """The stable key of each callback's saved state: its class name and its index among the
    callbacks of the same class (``TempBalance:0``, ``APTProbe:1``), not its place in the list."""
    keys, seen = [], {}
    for cb in callbacks:
        name = type(cb).__name__
        keys.append(f"{name}:{seen.get(name, 0)}")
        seen[name] = seen.get(name, 0) + 1
    return keys


def write_checkpoint(path: Path, state: dict) -> None:
    """Write ``state`` with its checksum atomically: a temporary file in the same folder, fsynced,
    then renamed over ``path``. Whatever interrupts it (a full disk, Ctrl-C), the temporary file is
    removed and ``path`` keeps the previous checkpoint."""
    blob = {"format": CHECKPOINT_FORMAT, "sha256": payload_digest(state), "state": state}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            torch.save(blob, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def read_checkpoint(path: Path, map_location="cpu") -> dict:
    """The state saved in a checkpoint after its checksum is verified (``torch.load`` with
    ``weights_only=True``: no code is unpickled). Raises :class:`DamagedCheckpoint` if the file is
    not a readable torch file (truncated, not a zip, unsafe), of another format, or altered."""
    try:
        blob = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises many kinds on a bad file
        raise DamagedCheckpoint(f"unreadable: {type(err).__name__}: {_short(err)}") from None
    if not (isinstance(blob, dict) and blob.get("format") == CHECKPOINT_FORMAT and isinstance(blob.get("state"), dict)):
        raise DamagedCheckpoint("not a checkpoint of this version of thermo.train")
    if payload_digest(blob["state"]) != blob.get("sha256"):
        raise DamagedCheckpoint("its contents do not match its checksum")
    return blob["state"]


class Checkpoints:
    """Checkpoint and resume of one run (``<checkpoints>/<run_id>/last.pt``): see the module docstring."""

    def __init__(self, run_id: str, fingerprint: dict, callbacks, every: int = 1):
        self.path = _checkpoint_path(run_id)
        self.fingerprint = fingerprint
        self.every = every
        self.callbacks = dict(zip(callback_keys(callbacks), callbacks))
        self.write_failed = False

    def differences(self, saved: dict) -> list[str]:
        theirs = saved.get("fingerprint") if isinstance(saved.get("fingerprint"), dict) else {}
        out = [part for part, value in self.fingerprint.items() if theirs.get(part) != value]
        states = saved.get("callbacks") if isinstance(saved.get("callbacks"), dict) else {}
        missing = [k for k, cb in self.callbacks.items() if k not in states and cb.state_dict()]
        extra = [k for k, s in states.items() if k not in self.callbacks and s]
        if missing:
            out.append(f"callbacks: no saved state for {', '.join(missing)}")
        if extra:
            out.append(f"callbacks: saved state of {', '.join(extra)}, which this run does not have")
        return out

    def resume(self, state: TrainState) -> tuple[int, float]:
        """Load the checkpoint into the run if there is one that matches; (epoch resumed from,
        seconds spent before)."""
        if not self.path.is_file():
            return 0, 0.0
        try:
            saved = read_checkpoint(self.path)  # on the CPU: load_state_dict moves tensors where they belong
        except DamagedCheckpoint as err:
            with contextlib.suppress(OSError):
                self.path.unlink(missing_ok=True)
            warnings.warn(f"the checkpoint {self.path} is damaged ({err}) and was deleted; training starts "
                          "from scratch", stacklevel=3)
            return 0, 0.0
        differ = self.differences(saved)
        if differ:
            warnings.warn(f"the checkpoint {self.path} belongs to another run (different {'; '.join(differ)}); "
                          "training starts from scratch", stacklevel=3)
            return 0, 0.0
        state.model.load_state_dict(saved["model"])
        state.optimizer.load_state_dict(saved["optimizer"])
        state.epoch, state.step = saved["epoch"], saved["step"]
        state.history, state.step_history = saved["history"], saved["step_history"]
        for key, cb in self.callbacks.items():
            if key in saved["callbacks"]:
                cb.load_state_dict(saved["callbacks"][key])
        torch.set_rng_state(saved["rng"].cpu())
        if saved.get("cuda_rng") and torch.cuda.is_available():
            torch.cuda.set_rng_state_all([t.cpu() for t in saved["cuda_rng"]])
        return state.epoch, saved["wall_seconds"]

    def save(self, state: TrainState, spent: float, started: float) -> None:
        payload = {
            "fingerprint": self.fingerprint,
            "model": state.model.state_dict(),
            "optimizer": state.optimizer.state_dict(),
            "epoch": state.epoch,
            "step": state.step,
            "history": state.history,
            "step_history": state.step_history,
            "callbacks": {key: cb.state_dict() for key, cb in self.callbacks.items()},
            "rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if state.device.type == "cuda" else [],
            "wall_seconds": spent + time.time() - started,
        }
        try:
            write_checkpoint(self.path, payload)
        except OSError as err:
            if not self.write_failed:
                warnings.warn(f"could not write the checkpoint {self.path} ({err.strerror or err}); training "
                              "goes on without it", stacklevel=3)
            self.write_failed = True

    def after_epoch(self, state: TrainState, spent: float, started: float) -> None:
        """Save after every ``every`` epochs and after the last one."""
        if state.epoch % self.every == 0 or state.epoch == state.config.epochs:
            self.save(state, spent, started)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


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
    state = _start(model, train_set, test_set, config, loss_fn, optimizer, checkpoint_every)
    ckpt = Checkpoints(run_id, run_fingerprint(config, model, state.optimizer, train_set, test_set), callbacks,
                       checkpoint_every) if run_id else None
    resumed_from, spent = ckpt.resume(state) if ckpt else (0, 0.0)
    hooks = [*callbacks, StepEvaluation(test_set)]  # engineering after the user's callbacks
    started = time.time()
    _call(hooks, "on_train_start", state)
    bar = _progress_bar(progress, description, state.epoch, config.epochs)
    try:  # Ctrl-C included: the last finished checkpoint stays whole (written atomically), never removed
        for epoch in range(state.epoch, config.epochs):
            totals = train_epoch(state, train_set, hooks, epoch)
            if not state.diverged:
                end_epoch(state, test_set, hooks, totals, bar)
            if state.diverged:
                break
            if ckpt:
                ckpt.after_epoch(state, spent, started)
    finally:
        bar.close()
    _call(hooks, "on_train_end", state)
    if ckpt and not keep_checkpoint:
        ckpt.remove()
    return TrainResult(state.status, state.epoch, state.step, state.diverged_at, state.history, state.step_history,
                       round(spent + time.time() - started, 3), resumed_from)


def _start(model, train_set, test_set, config, loss_fn, optimizer, checkpoint_every) -> TrainState:
    """Everything checked before any work (config, data, checkpoint period), then the run's state."""
    config.validate()
    if not _positive_int(checkpoint_every):
        raise ConfigError(f"checkpoint_every must be a positive integer, got {checkpoint_every!r}")
    check_datasets(train_set, test_set)
    device = resolve_device(config.device)
    torch.manual_seed(config.seed)
    model.to(device)
    optimizer = optimizer or make_optimizer(model, config)
    return TrainState(model, optimizer, config, device, loss_fn or nn.functional.cross_entropy,
                      steps_per_epoch=math.ceil(len(train_set) / config.batch_size))


def _call(hooks, name: str, state: TrainState, *args) -> None:
    for cb in hooks:
        getattr(cb, name)(state, *args)


def _progress_bar(progress: bool | None, description: str, done: int, total: int):
    if progress is None:
        progress = os.environ.get("THERMO_PROGRESS", "1") != "0"
    return tqdm(desc=description, disable=not progress, initial=done, total=total, mininterval=1.0, unit="epoch")


def batches(train_set, config: TrainConfig, epoch: int, device):
    """The epoch's mini-batches: a permutation seeded by ``(seed, epoch)`` (a resumed run sees the
    same batches), augmented on the device with a generator seeded the same way."""
    base = config.seed * 1_000_003 + epoch
    perm = torch.randperm(len(train_set), generator=torch.Generator().manual_seed(base))
    augment_rng = torch.Generator().manual_seed(base + 7919)
    for b in range(0, len(train_set), config.batch_size):
        idx = perm[b:b + config.batch_size]
        x, y = train_set.x[idx].to(device), train_set.y[idx].to(device)
        if config.augment == "crop-flip":
            x = crop_flip(x, config.augment_padding, augment_rng)
        yield x, y


@dataclass
class EpochTotals:
    """Sums over an epoch's batches, for its mean training loss and accuracy."""

    loss: float = 0.0
    correct: int = 0
    seen: int = 0


def train_epoch(state: TrainState, train_set, hooks, epoch: int) -> EpochTotals:
    """One pass over the training set; stops early if the run diverges."""
    state.epoch = epoch
    state.model.train()
    _call(hooks, "on_epoch_start", state)
    totals = EpochTotals()
    for b, (x, y) in enumerate(batches(train_set, state.config, epoch, state.device)):
        _call(hooks, "on_batch_start", state, (x, y))
        set_lr(state, epoch, b)
        train_step(state, x, y, hooks, totals)
        if state.diverged:
            break
    return totals


def set_lr(state: TrainState, epoch: int, b: int) -> None:
    """The base LR of this step (a callback's override, else the schedule at the fractional epoch)
    times each parameter group's ``lr_scale``."""
    cfg, spe = state.config, state.steps_per_epoch
    if state.lr_override is not None:
        state.lr = state.lr_override
    else:
        state.lr = cfg.base_lr(epoch + (b / spe if cfg.lr_per_step else 0.0), spe)
    if cfg.log_lr_steps:
        state.step_history.setdefault("lr", []).append(state.lr)
    for group in state.optimizer.param_groups:
        group["lr"] = state.lr * group.get("lr_scale", 1.0)


def train_step(state: TrainState, x, y, hooks, totals: EpochTotals) -> None:
    """Forward, backward, the callbacks' gradient terms, the optimizer step, the callbacks' look
    at the new weights; a non-finite loss diverges the run before any update."""
    state.optimizer.zero_grad(set_to_none=True)
    out = state.model(x)
    loss = state.loss_fn(out, y)
    if not torch.isfinite(loss):
        state.diverge()
        return
    loss.backward()
    _call(hooks, "before_optimizer_step", state, (x, y))
    state.optimizer.step()
    state.step += 1
    state.batch_loss = loss.item()
    correct = int((out.argmax(1) == y).sum())
    state.batch_acc = correct / len(y)
    _call(hooks, "after_optimizer_step", state, (x, y), state.batch_loss)
    totals.loss += state.batch_loss * len(y)
    totals.correct += correct
    totals.seen += len(y)


def end_epoch(state: TrainState, test_set, hooks, totals: EpochTotals, bar) -> None:
    """The epoch's evaluation (every ``eval_every`` epochs and the last), the callbacks'
    ``on_epoch_end``, then the epoch counts as done. A non-finite test loss diverges the run."""
    cfg, done = state.config, state.epoch + 1
    if done % cfg.eval_every == 0 or done == cfg.epochs:
        test_loss, test_acc = evaluate(state.model, test_set, state.loss_fn, cfg.eval_batch_size, state.device)
        if not math.isfinite(test_loss):
            state.diverge()
            return
        for name, value in (("epoch", done), ("lr", state.lr), ("train_loss", totals.loss / totals.seen),
                            ("train_acc", totals.correct / totals.seen), ("test_loss", test_loss),
                            ("test_acc", test_acc)):
            state.log_epoch(name, value)
        bar.set_postfix(loss=f"{totals.loss / totals.seen:.3f}", test_acc=f"{test_acc:.3f}")
    _call(hooks, "on_epoch_end", state)
    state.epoch = done
    bar.update(1)


class StepEvaluation(Callback):
    """After each global step in ``config.eval_steps``: test loss and accuracy, and the loss and
    accuracy of that step's batch (before its update), into ``step_history``."""

    def __init__(self, test_set):
        self.test_set = test_set

    def after_optimizer_step(self, state: TrainState, batch, loss: float) -> None:
        if state.step not in state.config.eval_steps:
            return
        test_loss, test_acc = evaluate(state.model, self.test_set, state.loss_fn, state.config.eval_batch_size,
                                       state.device)
        if not math.isfinite(test_loss):
            state.diverge()
            return
        for name, value in (("test_loss", test_loss), ("test_acc", test_acc), ("train_loss", state.batch_loss),
                            ("train_acc", state.batch_acc)):
            state.log_step(name, value)

"""ActCoolLR (ActCoolR Section 4, eqs. 6-8): a learning rate that makes the activation pattern
temperature follow a target cooling curve.

The erf model (``thermo.apt``) says ``P_change(lr) = Phi((ln lr - mu) / sigma)``. Every ``every``
steps the controller measures the network's mean temperature T at the learning rate it used,
turns it into ``P = 1 - 2^-T``, re-estimates ``mu = ln lr - sigma Phi^-1(P)`` with ``sigma`` held from
an initial LR-range fit (eq. 6 in our sign convention), and aims for the target
``C = C(step + every)`` (at most the last step) with ``lr* = exp(mu + sigma Phi^-1(1 - 2^-C))``
(eq. 7). Between two measurements the learning rate moves linearly from the old value to ``lr*``
(the paper's interpolation). Probabilities of 0 or 1 are regularized by half a pattern (``thermo.apt``).

Which temperature: the mean over layers of the per-layer T, as the paper controls; ``sigma`` comes
from fitting the erf model to ``P = 1 - 2^-mean T`` over the LR range of the first batch.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from thermo import apt
from thermo.errors import ConfigError
from thermo.train import Callback


def linear_target(t_start: float, total_steps: int, gamma: float = 1.0) -> Callable[[int], float]:
    """Eq. (8): ``C_gamma(i) = T_start (1 - (i / i_total)^gamma)``, cooling from T_start to 0."""
    if not (t_start > 0 and gamma > 0 and total_steps >= 1):
        raise ConfigError(f"need T_start > 0, gamma > 0 and total_steps >= 1, got {t_start}, {gamma}, {total_steps}")
    return lambda i: t_start * (1.0 - min(max(i / total_steps, 0.0), 1.0) ** gamma)


def ceiling(n_patterns: int) -> float:
    """The largest measurable temperature for ``n`` patterns: ``log2(2 n)`` (the regularizer)."""
    return math.log2(2 * n_patterns)


def probability_from_temperature(t: float, n_patterns: int) -> float:
    """``P_change = 1 - 2^-T``, kept half a pattern away from 0 and 1."""
    p = 1.0 - 2.0 ** (-t)
    half = 0.5 / n_patterns
    return min(max(p, half), 1.0 - half)


class ActCoolLR(Callback):
    """The controller as a ``thermo.train`` callback that takes over the base learning rate.

    ``target(step) -> T`` (e.g. :func:`linear_target`), ``lr_init`` the learning rate until the
    first measurement, ``sigma`` the erf width (None: fitted on the first batch's LR range),
    ``every`` the measurement period (10 in the paper), ``lr_bounds`` a safety clamp on the chosen
    learning rate. The LR used and the measured and target temperatures land in the step history.
    """

    def __init__(self, target: Callable[[int], float], lr_init: float, sigma: float | None = None, every: int = 10,
                 granularity: str = "position", lr_bounds: tuple = (1e-6, 10.0), lr_grid=None):
        apt.check_granularity(granularity)
        if not (isinstance(every, int) and every >= 1):
            raise ConfigError(f"every must be a positive integer, got {every!r}")
        if not (lr_init > 0 and lr_bounds[0] > 0 and lr_bounds[0] < lr_bounds[1]):
            raise ConfigError(f"need lr_init > 0 and 0 < lr_bounds[0] < lr_bounds[1], got {lr_init}, {lr_bounds}")
        if sigma is not None and not sigma > 0:
            raise ConfigError(f"sigma must be positive, got {sigma}")
        if not callable(target):
            raise ConfigError(f"target must be a function of the step giving a temperature, got {target!r}")
        self.target, self.lr_init, self.sigma, self.every = target, float(lr_init), sigma, every
        self.target_at(0)
        self.granularity, self.lr_bounds, self.lr_grid = granularity, lr_bounds, lr_grid
        self.probe = apt.APTProbe(every=every, granularity=granularity, per_layer=False)
        self.lr_from, self.lr_to, self.segment_start = self.lr_init, self.lr_init, 0
        self.mu: float | None = None
        self.calibration: dict | None = None

    def target_at(self, step: int) -> float:
        """The target temperature at ``step``, checked: a finite number >= 0 (T = -log2 of a fraction)."""
        t = self.target(step)
        if isinstance(t, bool) or not isinstance(t, (int, float, np.integer, np.floating)) \
                or not math.isfinite(t) or t < 0:
            raise ConfigError(f"the target temperature must be a finite number >= 0, got {t!r} at step {step}")
        return float(t)

    def next_lr(self, measured_t: float, lr_used: float, target_t: float, n_patterns: int) -> float:
        """Eqs. (6)-(7): mu from the measurement at ``lr_used``, then the LR giving ``target_t``."""
        from scipy.special import ndtri

        p = probability_from_temperature(measured_t, n_patterns)
        self.mu = math.log(lr_used) - self.sigma * float(ndtri(p))
        p_target = probability_from_temperature(target_t, n_patterns)
        lr = math.exp(self.mu + self.sigma * float(ndtri(p_target)))
        return float(np.clip(lr, *self.lr_bounds))

    def calibrate(self, model, batch, loss_fn=None) -> None:
        """Fit sigma (and a first mu) on the LR range of one batch."""
        rng = apt.lr_range(model, batch, self.lr_grid, self.granularity, loss_fn)
        p_by_layer = np.array(list(rng["p_change"].values()))
        n = min(rng["n_patterns"].values())
        temps = np.array([[apt.temperature(1.0 - p, n) for p in row] for row in p_by_layer])
        p_mean = 1.0 - 2.0 ** (-temps.mean(axis=0))
        fit = apt.fit_erf(rng["lrs"], p_mean)
        self.sigma = self.sigma or fit["sigma"]
        self.calibration = {"lrs": rng["lrs"], "p_mean": p_mean, "mu": fit["mu"], "sigma": fit["sigma"],
                            "r2": fit.r2}

    def on_train_start(self, state) -> None:
        self.target_at(state.step)  # both ends of what is left, before any step
        self.target_at(state.config.epochs * state.steps_per_epoch)
        self.probe.on_train_start(state)
        self.checked = False

    def check_ceiling(self, model, x, step: int) -> None:
        """The target cannot exceed what can be measured: ``log2(2 n)`` for the ``n`` patterns of the
        layer with the fewest (one forward on the first batch, before any step)."""
        rec = apt.patterns(model, x, self.granularity, apt.rng_snapshot())
        n = min(apt.unchanged_fraction(p, p)[1] for p in rec.values())
        t0 = self.target_at(step)
        if t0 > ceiling(n):
            raise ConfigError(f"the target temperature {t0:.2f} is above the ceiling log2(2 n) = {ceiling(n):.2f} "
                              f"for the {n} {self.granularity!r} patterns of the smallest layer "
                              f"(batches of {x.shape[0]})")

    def on_batch_start(self, state, batch) -> None:
        if not getattr(self, "checked", False):
            self.check_ceiling(state.model, batch[0], state.step)
            self.checked = True
        if self.sigma is None:
            self.calibrate(state.model, batch, state.loss_fn)
        frac = min((state.step - self.segment_start) / self.every, 1.0)
        state.lr_override = self.lr_from + frac * (self.lr_to - self.lr_from)
        self.probe.on_batch_start(state, batch)

    def before_optimizer_step(self, state, batch) -> None:
        self.probe.before_optimizer_step(state, batch)

    def after_optimizer_step(self, state, batch, loss: float) -> None:
        had_probe = self.probe._rec is not None
        self.probe.after_optimizer_step(state, batch, loss)
        if not had_probe:
            return
        measured = state.step_history[self.probe.key][-1]
        n = self.probe.n_patterns
        total = state.config.epochs * state.steps_per_epoch  # no target beyond the end of training
        target = self.target_at(min(state.step + self.every, total))
        self.lr_from, self.lr_to = state.lr, self.next_lr(measured, state.lr, target, n)
        self.segment_start = state.step
        state.log_step("target_apt", self.target_at(state.step))
        state.log_step("mu", self.mu)

    def state_dict(self) -> dict:
        cal = {k: (np.asarray(v).tolist() if isinstance(v, np.ndarray) else v)
               for k, v in (self.calibration or {}).items()}
        return {"sigma": self.sigma, "mu": self.mu, "lr_from": self.lr_from, "lr_to": self.lr_to,
                "segment_start": self.segment_start, "calibration": cal, "probe": self.probe.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.sigma, self.mu = state["sigma"], state["mu"]
        self.lr_from, self.lr_to, self.segment_start = state["lr_from"], state["lr_to"], state["segment_start"]
        self.calibration = state.get("calibration") or self.calibration  # a resumed run keeps its LR-range fit
        if state.get("probe"):
            self.probe.load_state_dict(state["probe"])

"""L2 regularization and the optimal learning rate (Lewkowycz and Gur-Ari, 2020).

Chapter: notebooks/l2-regularization/. The supplement is ``shared/papers/l2-regularization-
supplement.md``; its main-text results are summarized in ``l2-regularization-notes.md``.

- :func:`time_to_peak` the step of peak test accuracy t* (the law: t* ~ c / (eta lambda)).
- :func:`physical_time` eta * lambda * t, the time in which runs with different (eta, lambda)
  should collapse.
- :func:`predict_lambda` the L2 coefficient whose t* equals a budget: lambda = c / (eta T).
- :class:`AutoL2` Algorithm 1 of the supplement (Section E), as a plain object and as a
  ``thermo.train`` callback.

How L2 is applied: as the ``weight_decay`` of torch's SGD, which adds ``lambda * theta`` to the
gradient before the momentum buffer. That is exactly the gradient of the loss term
``(lambda / 2) ||theta||^2`` over all parameters (biases included), with or without momentum
(it is "coupled" L2, not the decoupled decay of AdamW).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from thermo.errors import ConfigError
from thermo.train import Callback


@dataclass(frozen=True)
class Peak:
    step: int  # t*: the evaluation step where the smoothed test accuracy is largest
    accuracy: float  # the smoothed accuracy there
    raw_max: float  # the largest single evaluation
    index: int  # position of t* among the evaluations


def fitted_step(steps, train_acc, level: float = 1.0) -> int | None:
    """The first evaluation step at which the training accuracy reached ``level`` (None if never)."""
    for s, a in zip(steps, train_acc):
        if a >= level:
            return int(s)
    return None


def time_to_peak(steps, test_acc, window: int = 3, after: int | None = None) -> Peak:
    """t*, the step of peak test accuracy, robust to evaluation noise.

    Rule: evaluations are taken on log-spaced steps; the accuracies are smoothed with a centred
    running mean over ``window`` consecutive evaluations (shrinking at the ends), and t* is the
    first step where the smoothed curve is largest. On a log-spaced grid the window spans a fixed
    *ratio* of steps, so the smoothing does not favour early or late peaks. ``window=1`` is the
    plain argmax. (A "first step within 0.1 pt of the maximum" rule flattens the law's slope on
    flat peaks: it picks the early edge of the plateau.) ``after`` restricts the search to steps
    >= ``after`` (e.g. :func:`fitted_step`: the peak after the training set is fitted, when an
    early peak during fitting competes with the late one).
    """
    s = np.asarray(steps, dtype=float)
    a = np.asarray(test_acc, dtype=float)
    if s.ndim != 1 or s.shape != a.shape or s.size == 0:
        raise ConfigError(f"steps and test_acc must be 1-D and of equal, non-zero length, got {s.shape}, {a.shape}")
    if np.any(np.diff(s) <= 0):
        raise ConfigError("steps must be strictly increasing")
    if not np.all(np.isfinite(a)):
        raise ConfigError("test accuracies must be finite (a diverged run has no peak)")
    if not (isinstance(window, int) and window >= 1 and window % 2 == 1):
        raise ConfigError(f"window must be a positive odd integer, got {window!r}")
    if a.size > 1 and np.all(a == a[0]):
        raise ConfigError(f"the test accuracy is the same at every evaluation ({a[0]:g}): a flat curve has no peak")
    h = window // 2
    smooth = np.array([a[max(0, i - h):i + h + 1].mean() for i in range(a.size)])
    start = 0 if after is None else int(np.searchsorted(s, after))
    if start >= s.size:
        raise ConfigError(f"no evaluation at or after step {after}")
    i = start + int(np.argmax(smooth[start:]))
    return Peak(int(s[i]), float(smooth[i]), float(a.max()), i)


def physical_time(steps, eta: float, lam: float):
    """eta * lambda * t: the time unit of the L2 law (t* ~ c in these units)."""
    check_eta_lambda(eta, lam)
    return eta * lam * np.asarray(steps, dtype=float)


def check_eta_lambda(eta: float, lam: float) -> None:
    if not (isinstance(eta, (int, float)) and math.isfinite(eta) and eta > 0):
        raise ConfigError(f"the learning rate eta must be a positive number, got {eta!r}")
    if not (isinstance(lam, (int, float)) and math.isfinite(lam) and lam >= 0):
        raise ConfigError(f"the L2 coefficient lambda must be >= 0, got {lam!r}")


def predict_lambda(c: float, eta: float, budget: float) -> float:
    """The L2 coefficient whose peak falls at the end of a budget of ``budget`` steps:
    ``lambda = c / (eta * T)`` (notes, item 3), with ``c = eta * lambda * t*`` measured on one run."""
    check_eta_lambda(eta, 0.0)
    if not (math.isfinite(budget) and budget > 0):
        raise ConfigError(f"the budget T must be a positive number of steps, got {budget!r}")
    if not (math.isfinite(c) and c > 0):
        raise ConfigError(f"the constant c = eta * lambda * t* must be positive, got {c!r}")
    return c / (eta * budget)


class AutoL2(Callback):
    """Algorithm 1 of the supplement (Section E), as printed there.

    Start with ``l2``. Every ``every`` steps take one measurement of (loss, error) and call
    :meth:`update`. The loss (or the error) *increases* if it is above its running minimum at
    this measurement **and** at the previous one. If it increases and ``step > min_step``, divide
    ``l2`` by 10 and set ``min_step = 0.1 / l2 + step`` (with the new ``l2``, counted in steps, as
    printed). Otherwise the running minima absorb the *previous* measurement (not the current
    one: a single bad measurement never enters the minimum before it is confirmed).

    As a ``thermo.train`` callback it measures the *training* loss and error averaged over the
    batches of the last ``every`` steps (for full-batch training: the training set), writes the
    coefficient into every parameter group's ``weight_decay`` (see the module docstring: that is
    the L2 loss term) and logs ``l2`` in the step history at every measurement.
    """

    def __init__(self, l2: float = 0.1, every: int = 5):
        if not (isinstance(every, int) and every >= 1):
            raise ConfigError(f"AutoL2 measures every `every` >= 1 steps, got {every!r}")
        check_eta_lambda(1.0, l2)
        if l2 == 0:
            raise ConfigError("AutoL2 needs a positive initial l2 (it only divides it)")
        self.l2, self.every = float(l2), every
        self.min_loss = self.min_error = math.inf
        self.min_step = 0.0
        self.prev: tuple[float, float] | None = None
        self.decays: list[int] = []
        self._sum = [0.0, 0.0, 0]

    def update(self, step: int, loss: float, error: float) -> float:
        """Take one measurement at ``step``; return the L2 coefficient in force after it."""
        prev = self.prev
        increases = prev is not None and (
            (loss > self.min_loss and prev[0] > self.min_loss)
            or (error > self.min_error and prev[1] > self.min_error)
        )
        if increases and step > self.min_step:
            self.l2 /= 10.0
            self.min_step = 0.1 / self.l2 + step
            self.decays.append(step)
        elif prev is not None:
            self.min_loss = min(prev[0], self.min_loss)
            self.min_error = min(prev[1], self.min_error)
        self.prev = (float(loss), float(error))
        return self.l2

    # --- as a training callback --------------------------------------------------------------
    def _apply(self, state) -> None:
        for group in state.optimizer.param_groups:
            group["weight_decay"] = self.l2

    def on_train_start(self, state) -> None:
        self._apply(state)

    def after_optimizer_step(self, state, batch, loss: float) -> None:
        self._sum[0] += loss
        self._sum[1] += 1.0 - state.batch_acc
        self._sum[2] += 1
        if state.step % self.every == 0:
            n = self._sum[2]
            self.update(state.step, self._sum[0] / n, self._sum[1] / n)
            self._sum = [0.0, 0.0, 0]
            self._apply(state)
            state.log_step("l2", self.l2)

    def state_dict(self) -> dict:
        return {"l2": self.l2, "min_loss": self.min_loss, "min_error": self.min_error,
                "min_step": self.min_step, "prev": self.prev, "decays": list(self.decays), "sum": list(self._sum)}

    def load_state_dict(self, state: dict) -> None:
        self.l2, self.min_loss, self.min_error = state["l2"], state["min_loss"], state["min_error"]
        self.min_step, self.decays, self._sum = state["min_step"], list(state["decays"]), list(state["sum"])
        self.prev = tuple(state["prev"]) if state["prev"] is not None else None


# --- the supplement's eq. 1 (Theorem 1 and 2): kernel dynamics of a k-homogeneous network --------

LOSSES = ("logistic", "mse")


def loss_derivative(f, y, loss: str):
    """dl/df for one output per example: logistic ``l = log(1 + exp(-y f))`` (labels +-1), or
    ``mse`` ``l = (f - y)^2 / 2``."""
    if loss == "logistic":
        return -y / (1.0 + np.exp(y * f))
    if loss == "mse":
        return f - y
    raise ConfigError(f"loss must be one of {LOSSES}, got {loss!r}")


def check_homogeneity(k: float, lam: float) -> None:
    if not (math.isfinite(k) and k >= 1):
        raise ConfigError(f"the homogeneity degree k must be >= 1 (1 is a linear model), got {k!r}")
    check_eta_lambda(1.0, lam)


def kernel_decay(k: float, lam: float, t):
    """Theorem 1: Theta_t / Theta_0 = exp(-2 (k - 1) lambda t) (gradient-flow time t = eta * step)."""
    check_homogeneity(k, lam)
    return np.exp(-2.0 * (k - 1.0) * lam * np.asarray(t, dtype=float))


def eq1_evolve(theta_train, f0_train, y, k: float, lam: float, times, theta_test_train=None, f0_test=None,
               loss: str = "logistic", rtol: float = 1e-8, atol: float = 1e-10) -> dict:
    """Integrate the supplement's eq. 1 in the infinite-width limit, where the kernel only decays:

        df(x)/dt = -(1/N) sum_{x' in S} Theta_t(x, x') l'(f(x'), y(x')) - k lambda f(x),
        Theta_t = exp(-2 (k - 1) lambda t) Theta_0,

    for the N training points (``theta_train`` (N, N), ``f0_train`` (N,)) and, optionally, test
    points (``theta_test_train`` (M, N), ``f0_test`` (M,)) that the training points drive. The
    loss is the mean over the training set (the 1/N), as in our gradient descent. Uses
    ``scipy.integrate.solve_ivp`` (RK45). Returns ``{"t", "train", "test"}`` with outputs at
    ``times``."""
    from scipy.integrate import solve_ivp

    check_homogeneity(k, lam)
    th = np.asarray(theta_train, dtype=float)
    f0 = np.asarray(f0_train, dtype=float).ravel()
    yv = np.asarray(y, dtype=float).ravel()
    n = f0.size
    if th.shape != (n, n) or yv.shape != (n,):
        raise ConfigError(f"theta_train must be ({n}, {n}) and y ({n},) for {n} training outputs, "
                          f"got {th.shape} and {yv.shape}")
    has_test = theta_test_train is not None
    tt = np.asarray(theta_test_train, dtype=float) if has_test else np.zeros((0, n))
    g0 = np.asarray(f0_test, dtype=float).ravel() if has_test else np.zeros(0)
    if tt.shape != (g0.size, n):
        raise ConfigError(f"theta_test_train must be ({g0.size}, {n}), got {tt.shape}")
    rate = 2.0 * (k - 1.0) * lam
    times = np.asarray(times, dtype=float)

    def rhs(t, z):
        f, g = z[:n], z[n:]
        lp = loss_derivative(f, yv, loss)
        decay = math.exp(-rate * t)
        return np.concatenate([-decay * (th @ lp) / n - k * lam * f, -decay * (tt @ lp) / n - k * lam * g])

    sol = solve_ivp(rhs, (0.0, float(times.max())), np.concatenate([f0, g0]), t_eval=times, rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(f"eq. 1 integration failed: {sol.message}")
    return {"t": sol.t, "train": sol.y[:n].T, "test": sol.y[n:].T}


def eq1_closed_form_mse(theta_train, f0_train, y, k: float, lam: float, times, quad_points: int = 4001):
    """Theorem 2 / eq. S10 for the MSE loss (``l' = f - y``), mode by mode in the eigenbasis of
    Theta_0 (eigenvalues theta_a / N with the mean loss): with c = 2 (k - 1) lambda and
    E_a(t) = exp(-theta_a (1 - e^{-c t}) / c) (-> exp(-theta_a t) for c = 0),

        f_a(t) = e^{-k lambda t} E_a(t) [ f_a(0) + y_a theta_a int_0^t e^{-(k-2) lambda s} / E_a(s) ds ].

    The integral is done by the trapezoidal rule on ``quad_points`` points per time (an
    independent check of :func:`eq1_evolve`). Returns the (len(times), N) outputs."""
    check_homogeneity(k, lam)
    th = np.asarray(theta_train, dtype=float)
    n = th.shape[0]
    evals, evecs = np.linalg.eigh(th / n)
    fa0 = evecs.T @ np.asarray(f0_train, dtype=float).ravel()
    ya = evecs.T @ np.asarray(y, dtype=float).ravel()
    c = 2.0 * (k - 1.0) * lam

    def big_e(s):
        s = np.asarray(s, dtype=float)
        phase = s if c == 0 else -np.expm1(-c * s) / c
        return np.exp(-np.outer(phase, evals))  # (len(s), modes)

    out = []
    for t in np.asarray(times, dtype=float):
        s = np.linspace(0.0, t, quad_points)
        integrand = np.exp(-(k - 2.0) * lam * s)[:, None] / big_e(s)
        integral = np.trapezoid(integrand, s, axis=0) if t > 0 else np.zeros_like(evals)
        fa = math.exp(-k * lam * t) * big_e([t])[0] * (fa0 + ya * evals * integral)
        out.append(evecs @ fa)
    return np.array(out)


def decay_rate(t, kernel_norms, t_min: float = 0.0):
    """The exponential decay rate of a kernel's norm: minus the slope of ln ||Theta_t|| against t
    over ``t >= t_min``, with its standard error (least squares)."""
    from scipy import stats as st

    t = np.asarray(t, dtype=float)
    y = np.log(np.asarray(kernel_norms, dtype=float))
    keep = t >= t_min
    if keep.sum() < 3:
        raise ConfigError(f"need at least 3 kernel measurements at t >= {t_min}, got {int(keep.sum())}")
    fit = st.linregress(t[keep], y[keep])
    return -float(fit.slope), float(fit.stderr)

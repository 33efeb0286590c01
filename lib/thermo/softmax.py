"""The softmax inverse temperature beta (Agarwala, Pennington, Dauphin, Schoenholz: "Temperature check").

Chapter: notebooks/temperature-check/. Paper: ``shared/papers/temperature-check.md``. JAX is
imported lazily (through :mod:`thermo.ntk`); :func:`torch_beta_loss` is the torch loss for
``thermo.train.fit``.

- :func:`beta_cross_entropy` eq. (1): softmax cross-entropy of ``Z = beta * z``, mean over examples.
- :func:`effective_lr` eta_tilde = eta * beta^2 (eq. 5: the linearized dynamics depend on it only).
- :func:`correlated_network` App. D.1, eqs. 71-72: ``z_c = (W1 h(x; th1) + W2 h(x; th2)) / sqrt 2``
  with th2 = th1 and corr(W1, W2) = c at initialization, only (th1, W1) trained, so the NTK does
  not depend on c and ``||Z0|| = beta sqrt(1 + c) ||z0||`` in expectation (c = -1: Z0 = 0 exactly).
- :func:`tau_z_theory` eq. (7) as printed (a materialized kernel), :func:`tau_z_from_network` the
  same for a network through kernel-vector products; :func:`tau_z_empirical` and :func:`tau_nl_empirical`
  from short-time trajectories of the network and its linearization.

tau_nl: the extracted eq. 9 and the definition after it are garbled (a ratio of two second
derivatives is not a time). We define it as a time: ``tau_nl = ||dZ/dt(0)|| / ||d^2 Z_nl/dt^2(0)||``,
the first derivative of the logits over the second derivative of their non-linear part
``Z_nl = Z - Z_lin``, estimated at small t from ``||Z(t) - Z(0)|| / t`` and ``2 ||Z(t) - Z_lin(t)|| / t^2``.
"""

from __future__ import annotations

import math

import numpy as np

from thermo.errors import ConfigError


def check_beta(beta) -> float:
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not math.isfinite(beta) or beta <= 0:
        raise ConfigError(f"the inverse temperature beta must be a positive finite number, got {beta!r}")
    return float(beta)


def effective_lr(eta: float, beta: float) -> float:
    """eta_tilde = eta * beta^2."""
    return float(eta) * check_beta(beta) ** 2


def _one_hot(labels, k: int):
    import jax.numpy as jnp

    labels = jnp.asarray(labels)
    if labels.ndim == 2:
        return labels
    return jnp.eye(k, dtype=jnp.result_type(float))[labels]


def check_labels(labels, k: int) -> None:
    """Integer labels must lie in 0..k-1 (checked on concrete arrays; skipped inside a jit trace)."""
    import jax

    if isinstance(labels, jax.core.Tracer):
        return
    lab = np.asarray(labels)
    if lab.ndim == 1 and (lab.size and (lab.min() < 0 or lab.max() >= k)):
        raise ConfigError(f"labels must lie in 0..{k - 1} for {k} classes, got {lab.min()}..{lab.max()}")


def beta_cross_entropy(logits, labels, beta: float):
    """Eq. (1): mean over examples of ``-sum_k y_k ln softmax(beta z)_k``; ``labels`` integer classes
    or one-hot rows. JAX; differentiable in ``logits``."""
    import jax
    import jax.numpy as jnp

    check_beta(beta)
    k = logits.shape[-1]
    check_labels(labels, k)
    y = _one_hot(labels, k)
    return -jnp.mean(jnp.sum(y * jax.nn.log_softmax(beta * logits, axis=-1), axis=-1))


def torch_beta_loss(beta: float):
    """The same loss for ``thermo.train.fit``: ``loss_fn(logits, targets, reduction="mean")``."""
    import torch

    beta = check_beta(beta)

    def loss_fn(logits, targets, reduction: str = "mean"):
        return torch.nn.functional.cross_entropy(beta * logits, targets, reduction=reduction)

    return loss_fn


def check_correlation(c) -> float:
    if not (isinstance(c, (int, float)) and math.isfinite(c) and -1.0 <= c <= 1.0):
        raise ConfigError(f"the correlation c must lie in [-1, 1], got {c!r}")
    return float(c)


def correlated_network(body_init, body_apply, width: int, classes: int, in_shape, c: float, seed: int = 0):
    """App. D.1: a network whose initial logits are scaled by sqrt(1 + c) without changing its NTK.

    ``body_init``/``body_apply`` are a ``stax`` network up to the last hidden layer (``width``
    features). Returns ``(apply_fn, params)``: ``params = (th1, W1)`` are the trained parameters; the
    frozen copy (th2 = th1, W2 = c W1 + sqrt(1 - c^2) W') is closed over. Readout weights are
    standard normal scaled by 1/sqrt(width) (the standard parameterization's readout).
    """
    import jax

    c = check_correlation(c)
    k_body, k1, k2 = jax.random.split(jax.random.PRNGKey(seed), 3)
    _, th = body_init(k_body, in_shape)
    w1 = jax.random.normal(k1, (width, classes)) / math.sqrt(width)
    w_other = jax.random.normal(k2, (width, classes)) / math.sqrt(width)
    w2 = c * w1 + math.sqrt(max(0.0, 1.0 - c * c)) * w_other
    th2 = th  # the frozen copy: equal to the trained body at initialization (JAX arrays are immutable)

    def apply_fn(params, x):
        th1, wa = params
        return (body_apply(th1, x) @ wa + body_apply(th2, x) @ w2) / math.sqrt(2.0)

    return apply_fn, (th, w1)


def tau_z_theory(ntk, z0, y, eta_tilde: float) -> float:
    """Eq. (7) as printed: ``||Z0||_F / (eta_tilde ||Theta (Y - softmax(Z0))||_F)``.

    ``ntk``: an (N, N) kernel acting identically on every logit, or neural-tangents' (N, N, K, K)
    layout; ``z0``: the (N, K) softmax inputs Z0 = beta z0; ``y``: one-hot (N, K). With a loss that is
    a *mean* over the N examples pass ``ntk / N`` (our gradient descent uses the mean)."""
    th = np.asarray(ntk, dtype=float)
    z = np.asarray(z0, dtype=float)
    yy = np.asarray(y, dtype=float)
    if z.ndim != 2 or yy.shape != z.shape:
        raise ConfigError(f"z0 and y must both be (N, K); got {z.shape} and {yy.shape}")
    n, k = z.shape
    if th.shape == (n, n):
        pass
    elif th.shape == (n, n, k, k):
        pass
    else:
        raise ConfigError(f"ntk must be ({n}, {n}) or ({n}, {n}, {k}, {k}) for z0 of shape {z.shape}, got {th.shape}")
    if not eta_tilde > 0:
        raise ConfigError(f"eta_tilde must be positive, got {eta_tilde}")
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    a = yy - p
    grad = th @ a if th.ndim == 2 else np.einsum("ijab,jb->ia", th, a)
    return float(np.linalg.norm(z) / (eta_tilde * np.linalg.norm(grad)))


def tau_z_from_network(apply_fn, params, x, labels, beta: float, eta_tilde: float) -> float:
    """Eq. (7) for a network, without materializing its kernel: ``Theta (Y - softmax(Z0))`` by one
    vjp and one jvp (``thermo.ntk.ntk_vector_product``), with the mean-over-examples loss of
    ``thermo.ntk.gd`` (hence the kernel divided by N). Z0 = beta * apply_fn(params, x)."""
    import jax

    from thermo import ntk

    beta = check_beta(beta)
    if not eta_tilde > 0:
        raise ConfigError(f"eta_tilde must be positive, got {eta_tilde}")
    z = apply_fn(params, x)
    n, k = z.shape
    check_labels(labels, k)
    a = _one_hot(labels, k) - jax.nn.softmax(beta * z, axis=-1)
    tv = np.asarray(ntk.ntk_vector_product(apply_fn, params, x, a))
    return float(np.linalg.norm(beta * np.asarray(z)) / (eta_tilde * np.linalg.norm(tv) / n))


def tau_z_empirical(t, z_traj) -> float:
    """``||Z0||_F / (||Z(t1) - Z0||_F / t1)`` from the first recorded time t1 > 0 of a trajectory
    ``z_traj`` (list of (N, K) softmax inputs at times ``t``, t[0] = 0)."""
    t = np.asarray(t, dtype=float)
    i = int(np.argmax(t > 0))
    rate = np.linalg.norm(np.asarray(z_traj[i]) - np.asarray(z_traj[0])) / t[i]
    return float(np.linalg.norm(np.asarray(z_traj[0])) / rate)


def tau_nl_empirical(t, z_traj, zlin_traj) -> float:
    """``||dZ/dt(0)|| / ||d^2 Z_nl/dt^2(0)||`` from the first recorded time t1 > 0:
    ``(||Z(t1) - Z0|| / t1) / (2 ||Z(t1) - Z_lin(t1)|| / t1^2)``; infinite for a linear model."""
    t = np.asarray(t, dtype=float)
    i = int(np.argmax(t > 0))
    first = np.linalg.norm(np.asarray(z_traj[i]) - np.asarray(z_traj[0])) / t[i]
    second = 2.0 * np.linalg.norm(np.asarray(z_traj[i]) - np.asarray(zlin_traj[i])) / t[i] ** 2
    return float(first / second) if second > 0 else math.inf


def softmax_hessian_factors(z) -> tuple[np.ndarray, np.ndarray]:
    """Per example i, the non-zero spectrum of the softmax Hessian ``S_i = diag(p_i) - p_i p_i^T``
    (p_i = softmax(z_i)): eigenvalues (N, K-1) and eigenvectors (N, K, K-1). The dropped eigenvalue
    is the zero of the all-ones direction (probabilities sum to one)."""
    z = np.asarray(z, dtype=float)
    if z.ndim != 2 or z.shape[1] < 2:
        raise ConfigError(f"z must be (N, K) with K >= 2, got shape {z.shape}")
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    s = np.einsum("ia,ab->iab", p, np.eye(z.shape[1])) - np.einsum("ia,ib->iab", p, p)
    w, v = np.linalg.eigh(s)  # ascending: the first is the null direction
    return w[:, 1:], v[:, :, 1:]


def linearized_spectrum(ntk, z) -> np.ndarray:
    """App. A.3: the non-zero eigenvalues of ``H = (Theta (x) Id_K) S(Z)``, the matrix of the
    linearized dynamics ``dZ/dt = -eta_tilde H (Z - Z*)`` near a point Z (``ntk``: (N, N) kernel
    acting identically on every logit; ``z``: (N, K) softmax inputs). H is a product of two positive
    semi-definite matrices, so its non-zero eigenvalues are those of the symmetric
    ``S^1/2 (Theta (x) Id) S^1/2`` restricted to the range of S: N (K - 1) of them, ascending."""
    th = np.asarray(ntk, dtype=float)
    w, v = softmax_hessian_factors(z)
    n = w.shape[0]
    if th.shape != (n, n):
        raise ConfigError(f"ntk must be ({n}, {n}) for z of shape {np.shape(z)}, got {th.shape}")
    b = v * np.sqrt(np.clip(w, 0.0, None))[:, None, :]  # (N, K, K-1): U_i sqrt(D_i)
    gram = np.einsum("iaq,jar->iqjr", b, b)  # (U_i sqrt D_i)^T (U_j sqrt D_j)
    m = (th[:, None, :, None] * gram).reshape(n * w.shape[1], n * w.shape[1])
    return np.linalg.eigvalsh(0.5 * (m + m.T))


def linearized_condition(ntk, z) -> float:
    """kappa(H) = largest / smallest non-zero eigenvalue of :func:`linearized_spectrum` (App. A.3).
    In float64 values beyond about 1e15 are limited by rounding."""
    ev = linearized_spectrum(ntk, z)
    return float(ev[-1] / ev[0]) if ev[0] > 0 else math.inf


def nonlinear_remainder(apply_fn, params, x, direction, steps) -> dict:
    """How the non-linear part of a step grows with its size: for each s of ``steps``,
    ``||f(theta + s d) - f(theta) - s J d||_F`` (the remainder after the linearized model), and the
    smooth second-order prediction ``||D^2 f[d, d]||_F / 2`` (a jvp of a jvp). For a smooth network
    ``remainder / s^2`` tends to the prediction as s -> 0; a ReLU network adds the units whose pattern
    flips, whose contributions are first order in s each and incoherent in sign (the chapter's Fig. 3)."""
    import jax

    def f(p):
        return apply_fn(p, x)

    f0, jd = jax.jvp(f, (params,), (direction,))
    d2 = jax.jvp(lambda p: jax.jvp(f, (p,), (direction,))[1], (params,), (direction,))[1]
    rem = []
    for s in steps:
        moved = jax.tree_util.tree_map(lambda a, b, s=s: a + s * b, params, direction)
        rem.append(float(np.linalg.norm(np.asarray(f(moved) - f0 - s * jd))))
    return {"steps": [float(s) for s in steps], "remainder": rem,
            "second_order": float(np.linalg.norm(np.asarray(d2))) / 2.0}

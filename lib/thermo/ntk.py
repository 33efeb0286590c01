"""Neural tangent kernels and full-batch gradient descent in JAX (the kernel chapters' one loop).

Shared by the L2 chapter (the decaying NTK of homogeneous networks, the supplement's eq. 1) and
the Temperature-check chapter (the linearized model). JAX and neural-tangents are imported here
only, through :mod:`thermo.nt_compat`, so the torch chapters never load them.

- :func:`mlp` a fully connected ``stax`` network in the *standard* parameterization (weights
  ~ N(0, W_std^2 / fan_in), the convention of both papers' code), with or without biases.
- :func:`cnn` / :func:`cnn_body` a small convolutional ``stax`` network (convolutions, Flatten, Dense),
  the same conventions.
- :func:`empirical_ntk` Theta(x1, x2) = J(x1) J(x2)^T, materialized (for checks, up to about
  64-200 examples) with an implementation that works on jax 0.5.3 (see ``shared/STACK.md``).
- :func:`ntk_vector_product` Theta v without materializing Theta: one vjp and one jvp.
- :func:`gd_step` one step of that loop, for counting its cost and for quick checks.
- :func:`gd` the full-batch gradient-descent loop: loss (mean over examples) plus
  ``(l2 / 2) ||theta||^2``, recorded at chosen steps, optionally with the linearized model
  (``nt.linearize``) trained side by side from the same initialization.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from thermo.errors import ConfigError
from thermo.nt_compat import neural_tangents

IMPLEMENTATIONS = {"jacobian": "JACOBIAN_CONTRACTION", "vector_products": "NTK_VECTOR_PRODUCTS"}
BROKEN = {"structured_derivatives": "STRUCTURED_DERIVATIVES", "auto": "AUTO"}


def _jax():
    import jax

    return jax


def enable_float64(on: bool = True) -> None:
    """JAX computes in float32 unless told otherwise (call before creating arrays)."""
    _jax().config.update("jax_enable_x64", bool(on))


PARAMETERIZATIONS = ("standard", "ntk")


def mlp(widths: Sequence[int], out_dim: int, activation: str = "relu", bias: bool = True,
        w_std: float = 2.0**0.5, b_std: float = 0.0, parameterization: str = "standard"):
    """``stax.serial`` of Dense(width) + activation for each width, then Dense(out_dim).

    ``parameterization="standard"``: weights ~ N(0, w_std^2 / fan_in), the convention of the
    papers' finite networks; its NTK grows with the width. ``"ntk"``: weights ~ N(0, 1) times
    w_std / sqrt(fan_in) in the forward pass; the NTK has a finite infinite-width limit, the
    setting of the kernel theory. ``bias=False`` gives a bias-free network, which with ReLU is
    k-homogeneous in its parameters with k = len(widths) + 1 (in either parameterization).
    Returns (init_fn, apply_fn, kernel_fn).
    """
    layers = _hidden_layers(widths, activation, bias, w_std, b_std, parameterization)
    return neural_tangents().stax.serial(*layers, _readout(out_dim, bias, w_std, b_std, parameterization))


def _readout(out_dim, bias, w_std, b_std, parameterization):
    """The Dense read-out layer to ``out_dim`` outputs shared by :func:`mlp` and :func:`cnn`."""
    if out_dim < 1:
        raise ConfigError(f"out_dim must be positive, got {out_dim}")
    bstd = (b_std if b_std > 0 else 0.0) if bias else None
    return neural_tangents().stax.Dense(int(out_dim), W_std=w_std, b_std=bstd, parameterization=parameterization)


def _layer_kit(activation, bias, b_std, parameterization):
    """(stax, activation layer constructor, b_std for stax) after checking the shared arguments."""
    if parameterization not in PARAMETERIZATIONS:
        raise ConfigError(f"parameterization must be one of {PARAMETERIZATIONS}, got {parameterization!r}")
    stax = neural_tangents().stax
    acts = {"relu": stax.Relu, "erf": stax.Erf}
    if activation not in acts:
        raise ConfigError(f"activation must be one of {tuple(acts)}, got {activation!r}")
    return stax, acts[activation], ((b_std if b_std > 0 else 0.0) if bias else None)


def _hidden_layers(widths, activation, bias, w_std, b_std, parameterization) -> list:
    stax, act, bstd = _layer_kit(activation, bias, b_std, parameterization)
    if any(int(w) < 1 for w in widths):
        raise ConfigError(f"widths must be positive, got {list(widths)}")
    layers = []
    for w in widths:
        layers += [stax.Dense(int(w), W_std=w_std, b_std=bstd, parameterization=parameterization), act()]
    return layers


def mlp_body(widths: Sequence[int], activation: str = "relu", bias: bool = True, w_std: float = 2.0**0.5,
             b_std: float = 0.0, parameterization: str = "standard"):
    """The hidden part of :func:`mlp` (Dense(width) + activation for each width, no readout): the
    ``body`` of a correlated network (``thermo.softmax.correlated_network``)."""
    if not widths:
        raise ConfigError("a body needs at least one hidden layer")
    return neural_tangents().stax.serial(*_hidden_layers(widths, activation, bias, w_std, b_std, parameterization))


def cnn_body(channels: Sequence[int], activation: str = "relu", bias: bool = True, w_std: float = 2.0**0.5,
             b_std: float = 0.0, parameterization: str = "standard", kernel: int = 3):
    """A small convolutional ``stax`` body: for each entry of ``channels`` a ``kernel`` x ``kernel``
    convolution ("SAME" padding, stride 1) and the activation, then ``Flatten``. Inputs are NHWC
    images; the output has H * W * channels[-1] features."""
    if not channels:
        raise ConfigError("a convolutional body needs at least one layer")
    if any(int(c) < 1 for c in channels) or kernel < 1:
        raise ConfigError(f"channels and kernel size must be positive, got {list(channels)} and {kernel}")
    stax, act, bstd = _layer_kit(activation, bias, b_std, parameterization)
    layers = []
    for c in channels:
        layers += [stax.Conv(int(c), (kernel, kernel), padding="SAME", W_std=w_std, b_std=bstd,
                             parameterization=parameterization), act()]
    return stax.serial(*layers, stax.Flatten())


def cnn(channels: Sequence[int], out_dim: int, activation: str = "relu", bias: bool = True, w_std: float = 2.0**0.5,
        b_std: float = 0.0, parameterization: str = "standard", kernel: int = 3):
    """:func:`cnn_body` and a Dense read-out: (init_fn, apply_fn, kernel_fn), the same conventions as
    :func:`mlp` (one definition: finite network, ``nt.linearize``, empirical and infinite-width NTK)."""
    return neural_tangents().stax.serial(cnn_body(channels, activation, bias, w_std, b_std, parameterization, kernel),
                                         _readout(out_dim, bias, w_std, b_std, parameterization))


def homogeneity_degree(widths: Sequence[int], bias: bool) -> int:
    """k of a ReLU MLP built by :func:`mlp`: f(a theta) = a^k f(theta) for a bias-free network."""
    if bias:
        raise ConfigError("a network with biases is not homogeneous in its parameters: build it with bias=False")
    return len(widths) + 1


def check_implementation(implementation: str) -> str:
    if implementation in BROKEN:
        raise ConfigError(
            f"empirical-NTK implementation {implementation!r} ({BROKEN[implementation]}) fails with jax 0.5.3 "
            "(see shared/STACK.md); use 'jacobian' or 'vector_products'"
        )
    if implementation not in IMPLEMENTATIONS:
        raise ConfigError(f"implementation must be one of {tuple(IMPLEMENTATIONS)}, got {implementation!r}")
    return IMPLEMENTATIONS[implementation]


def empirical_ntk(apply_fn, params, x1, x2=None, implementation: str = "jacobian", trace: bool = True,
                  batch_size: int | None = None):
    """The empirical NTK of ``apply_fn`` at ``params``: (N1, N2) summed over outputs divided by
    their number if ``trace`` (the kernel acting identically on every logit, as neural-tangents'
    ``trace_axes``), else neural-tangents' (N1, N2, K, K) layout. ``batch_size`` splits the
    examples (``nt.batch``) to bound the memory of the Jacobians."""
    nt = neural_tangents()
    impl = getattr(nt.NtkImplementation, check_implementation(implementation))
    fn = nt.empirical_ntk_fn(apply_fn, trace_axes=(-1,) if trace else (), vmap_axes=0, implementation=impl)
    if batch_size:
        fn = nt.batch(fn, batch_size=batch_size, store_on_device=False)
    out = fn(x1, x2, params)
    if trace:
        k = apply_fn(params, x1[:1]).shape[-1]
        out = out / k
    return out


def ntk_vector_product(apply_fn, params, x, v):
    """``(Theta v)_i = sum_j Theta(x_i, x_j) v_j`` for ``v`` of the outputs' shape (N, K), exactly,
    without the kernel: Theta v = J (J^T v), one vjp (J^T v) then one jvp (J u)."""
    jax = _jax()

    def f(p):
        return apply_fn(p, x)

    _, vjp = jax.vjp(f, params)
    (u,) = vjp(v)
    _, tv = jax.jvp(f, (params,), (u,))
    return tv


def sq_norm(params) -> float:
    jax = _jax()
    return sum(jax.numpy.vdot(p, p) for p in jax.tree_util.tree_leaves(params))


@dataclass
class GDResult:
    steps: list  # the recorded steps (0 = initialization)
    train_loss: list  # mean loss without the L2 term
    outputs: dict  # name -> list of (N, K) arrays of the network's outputs on that set
    linear_outputs: dict = field(default_factory=dict)  # the same for the linearized model
    params: object = None  # the final parameters
    diverged_at: int | None = None


def _check_gd(eta, l2, steps) -> None:
    if not (np.isfinite(eta) and eta > 0):
        raise ConfigError(f"the learning rate eta must be a positive number, got {eta!r}")
    if not (np.isfinite(l2) and l2 >= 0):
        raise ConfigError(f"the L2 coefficient must be >= 0, got {l2!r}")
    if not (isinstance(steps, int) and steps >= 0):
        raise ConfigError(f"steps must be a non-negative integer, got {steps!r}")


def _gd_runner(f, loss_fn, eta: float, l2: float):
    """``run(params, n, x, y)``: n full-batch steps of gradient descent on ``f`` inside one
    ``jax.lax.fori_loop`` (n is traced: compiled once; data as arguments, not constants XLA would
    try to fold)."""
    jax = _jax()
    jnp = jax.numpy

    def objective(p, xs, ys):
        return jnp.mean(loss_fn(f(p, xs), ys)) + 0.5 * l2 * sq_norm(p)

    grad = jax.grad(objective)

    def run(p, n, xs, ys):
        def step(_, p):
            return jax.tree_util.tree_map(lambda a, g: a - eta * g, p, grad(p, xs, ys))

        return jax.lax.fori_loop(0, n, step, p)

    return jax.jit(run)


def gd_step(f, loss_fn: Callable, eta: float, l2: float = 0.0):
    """One step of :func:`gd`'s gradient descent as a function ``step(params, x, y) -> (loss,
    new_params)`` (not jitted; ``loss`` includes the L2 term): what ``python -m thermo cost``
    compiles to count a step's FLOPs, and what a test runs once on a few examples."""
    jax = _jax()
    jnp = jax.numpy
    _check_gd(eta, l2, 1)

    def objective(p, xs, ys):
        return jnp.mean(loss_fn(f(p, xs), ys)) + 0.5 * l2 * sq_norm(p)

    def step(p, xs, ys):
        loss, grad = jax.value_and_grad(objective)(p, xs, ys)
        return loss, jax.tree_util.tree_map(lambda a, g: a - eta * g, p, grad)

    return step


def gd(apply_fn, params, x, y, loss_fn: Callable, eta: float, steps: int, l2: float = 0.0,
       record: Sequence[int] = (), eval_sets: dict | None = None, linearized: bool = False,
       callback: Callable | None = None) -> GDResult:
    """Full-batch gradient descent on ``mean_i loss_fn(f(x_i), y_i) + (l2 / 2) ||theta||^2``.

    Records the outputs on ``{"train": x, **eval_sets}`` after every step in ``record`` (0 is the
    initialization); with ``linearized`` the model ``f_lin(theta) = f(theta0) + J(theta0)(theta -
    theta0)`` (``nt.linearize``) is trained with the same steps and recorded side by side.
    ``callback(step, params)`` runs at every recorded step (e.g. to measure the kernel). A
    non-finite loss stops the run (``diverged_at``). The last step is always recorded. Between
    records the steps run inside one ``jax.lax.fori_loop``, compiled once.
    """
    jax = _jax()
    jnp = jax.numpy
    _check_gd(eta, l2, steps)
    sets = {"train": x, **(eval_sets or {})}
    record = sorted({int(s) for s in record if 0 <= s <= steps} | {steps})
    models = {"net": apply_fn}
    if linearized:
        models["lin"] = neural_tangents().linearize(apply_fn, params)
    runners = {k: _gd_runner(f, loss_fn, eta, l2) for k, f in models.items()}
    state = dict.fromkeys(models, params)
    res = GDResult([], [], {k: [] for k in sets}, {k: [] for k in sets} if linearized else {})
    done = 0
    for target in record:
        if target > done:
            state = {k: runners[k](state[k], target - done, x, y) for k in models}
            done = target
        loss = float(jnp.mean(loss_fn(apply_fn(state["net"], x), y)))
        if not np.isfinite(loss):
            res.diverged_at = target
            break
        res.steps.append(target)
        res.train_loss.append(loss)
        for name, xs in sets.items():
            res.outputs[name].append(np.asarray(apply_fn(state["net"], xs)))
            if linearized:
                res.linear_outputs[name].append(np.asarray(models["lin"](state["lin"], xs)))
        if callback is not None:
            callback(target, state["net"])
    res.params = state["net"]
    return res

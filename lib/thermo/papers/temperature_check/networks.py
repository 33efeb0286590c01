"""The data and networks of the Temperature-check chapter's JAX experiments
(``notebooks/temperature-check/01-softmax-temperature``).

Fashion-MNIST images average-pooled and standardized with the training subset's statistics, and the
correlated network of the paper's App. D.1 (``thermo.softmax.correlated_network``: two copies of a
network whose read-outs have correlation c, so that ||Z0|| = beta sqrt(1 + c) ||z0|| can be set
without changing the kernel), as an MLP or a small CNN; and the infinite-width kernel of the same
architecture (Fig. 7, App. C; App. A.3). JAX is imported only inside the functions that need it.
"""

from __future__ import annotations

import math

import torch

from thermo import data, softmax
from thermo.errors import ConfigError

ARCHITECTURES = ("mlp", "cnn")


def fmnist_flat(n_train: int, n_test: int, pool: int = 2, seed: int = 0):
    """(x_train, y_train, x_test, y_test): Fashion-MNIST pooled by ``pool``, flattened, standardized
    with the training subset's mean and std (float64 numpy), integer labels."""
    tr = data.load("fashion-mnist", "train", n=n_train, seed=seed)
    te = data.load("fashion-mnist", "test", n=n_test, seed=seed)

    def prep(ds):
        x = torch.nn.functional.avg_pool2d(ds.x, pool) if pool > 1 else ds.x
        return x.flatten(1).double().numpy(), ds.y.numpy()

    (xtr, ytr), (xte, yte) = prep(tr), prep(te)
    mu, sd = xtr.mean(), xtr.std()
    return (xtr - mu) / sd, ytr, (xte - mu) / sd, yte


def check_architecture(config: dict) -> str:
    arch = config.get("architecture", "mlp")
    if arch not in ARCHITECTURES:
        raise ConfigError(f"architecture must be one of {ARCHITECTURES}, got {arch!r}")
    return arch


def _side(in_dim: int) -> int:
    side = math.isqrt(in_dim)
    if side * side != in_dim:
        raise ConfigError(f"a CNN needs square images; {in_dim} inputs are not a square")
    return side


def as_inputs(config: dict, x):
    """The flat images of :func:`fmnist_flat` as the network of ``config`` takes them: unchanged for
    the MLP, NHWC images (one channel) for the CNN."""
    if config.get("architecture", "mlp") == "cnn":
        side = _side(x.shape[1])
        return x.reshape(len(x), side, side, 1)
    return x


def network(config: dict, in_dim: int):
    """(apply_fn, params) of the correlated network of ``config`` (architecture: "mlp", the default,
    or "cnn"; width = hidden units or channels, depth, activation, c, seed) for ``in_dim`` flat inputs."""
    from thermo import ntk

    widths = [config["width"]] * config["depth"]
    if check_architecture(config) == "cnn":
        side = _side(in_dim)
        init, apply_body, _ = ntk.cnn_body(widths, config["activation"])
        return softmax.correlated_network(init, apply_body, side * side * config["width"], 10, (-1, side, side, 1),
                                          config["c"], seed=config["seed"])
    init, apply_body, _ = ntk.mlp_body(widths, config["activation"])
    return softmax.correlated_network(init, apply_body, config["width"], 10, (-1, in_dim), config["c"],
                                      seed=config["seed"])


def infinite_width_kernel_fn(config: dict):
    """neural-tangents' ``kernel_fn`` of the architecture of ``config`` (with its read-out)."""
    from thermo import ntk

    build = ntk.cnn if config.get("architecture", "mlp") == "cnn" else ntk.mlp
    return build([config["width"]] * config["depth"], 10, config["activation"])[2]

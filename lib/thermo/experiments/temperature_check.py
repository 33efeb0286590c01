"""Temperature check (Agarwala, Pennington, Dauphin, Schoenholz): the softmax inverse temperature
beta, the collapse onto the linearized model, the timescales tau_z and tau_nl, and eta* ~ 1/beta.

JAX experiments (full-batch gradient descent through ``thermo.ntk.gd``, float64) on Fashion-MNIST
images average-pooled to 14 x 14 (196 inputs), standardized with the training set's statistics,
10 classes; the network is a fully connected ReLU MLP in the standard parameterization inside the
correlated construction of App. D.1 (``thermo.softmax.correlated_network``), so that ||Z0|| can be
set by c without changing the kernel:

- ``tc-fig1-collapse``: c = -1 (Z0 = 0), one initialization, beta over four decades with
  eta = eta_tilde / beta^2: the network and its linearization side by side (Fig. 1).
- ``tc-timescales``: beta x c grid; tau_z by eq. 7 (kernel-vector products) and from the first step
  of a run with a vanishing step size, tau_nl from the same steps (Figs. 2-3); and, for one beta,
  longer runs per c for the accuracy against t and t / tau_z (Fig. 2, centre and right).

A torch experiment for Fig. 4 (the best learning rate against beta, minibatch SGD with the beta
cross-entropy as the loss of ``thermo.train.fit``):

- ``tc-fig4-eta-star``: a learning-rate grid centred on eta0 / beta for every beta, two seeds.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from thermo import data, models, softmax, train
from thermo.errors import ConfigError
from thermo.experiments import Experiment, register

VERSION = 1


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


def network(config: dict, in_dim: int):
    """(apply_fn, params) of the correlated MLP of ``config`` (width, depth, activation, c, seed)."""
    from thermo import ntk

    init, apply_body, _ = ntk.mlp_body([config["width"]] * config["depth"], config["activation"])
    return softmax.correlated_network(init, apply_body, config["width"], 10, (-1, in_dim), config["c"],
                                      seed=config["seed"])


def _accuracy(z, y) -> float:
    return float(np.mean(np.argmax(z, axis=1) == y))


def _ce(z_soft, y) -> float:
    """Mean cross-entropy of softmax inputs Z (already multiplied by beta)."""
    z = z_soft - z_soft.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-np.mean(logp[np.arange(len(y)), y]))


def check_jax(config: dict) -> None:
    softmax.check_beta(config["beta"])
    softmax.check_correlation(config["c"])
    if not (config["eta_tilde"] > 0 and config["steps"] >= 1):
        raise ConfigError(f"need eta_tilde > 0 and steps >= 1, got {config['eta_tilde']} and {config['steps']}")


def run_gd(config: dict) -> dict:
    """One full-batch run of the network and its linearization; curves at log-spaced steps."""
    import jax.numpy as jnp

    from thermo import ntk

    check_jax(config)
    ntk.enable_float64()
    xtr, ytr, xte, yte = fmnist_flat(config["n_train"], config["n_test"], config["pool"])
    apply_fn, params = network(config, xtr.shape[1])
    beta = config["beta"]
    eta = config["eta_tilde"] / beta**2
    record = [0, *train.log_spaced_steps(config["steps"], per_decade=config.get("per_decade", 12))]
    if config.get("record"):
        record = sorted(set(config["record"]) | {config["steps"]})
    res = ntk.gd(apply_fn, params, jnp.asarray(xtr), jnp.asarray(ytr),
                 lambda z, t: softmax.beta_cross_entropy(z, t, beta), eta, config["steps"], record=record,
                 eval_sets={"test": jnp.asarray(xte)}, linearized=True)
    out = {"steps": res.steps, "eta": eta, "z0_norm": float(np.linalg.norm(beta * res.outputs["train"][0]))}
    for kind, outs in (("net", res.outputs), ("lin", res.linear_outputs)):
        ztr = [beta * np.asarray(o) for o in outs["train"]]
        zte = [beta * np.asarray(o) for o in outs["test"]]
        out[kind] = {"train_loss": [_ce(z, ytr) for z in ztr], "train_acc": [_accuracy(z, ytr) for z in ztr],
                     "test_acc": [_accuracy(z, yte) for z in zte], "z_norm": [float(np.linalg.norm(z)) for z in ztr]}
    znet = [beta * np.asarray(o) for o in res.outputs["train"]]
    zlin = [beta * np.asarray(o) for o in res.linear_outputs["train"]]
    out["deviation"] = [float(np.linalg.norm(a - b)) for a, b in zip(znet, zlin)]
    if config.get("timescales"):
        t = np.asarray(res.steps, dtype=float)
        out["tau_z_empirical"] = softmax.tau_z_empirical(t, znet)
        out["tau_nl"] = softmax.tau_nl_empirical(t, znet, zlin)
        out["tau_z_theory"] = softmax.tau_z_from_network(apply_fn, params, jnp.asarray(xtr), jnp.asarray(ytr), beta,
                                                         config["eta_tilde"])
    if res.diverged_at is not None:
        return {**out, "status": "diverged", "reason": f"non-finite loss by step {res.diverged_at}"}
    return {**out, "status": "ok"}


# --- Fig. 1: the collapse ---------------------------------------------------------------------------

DATA = {"smoke": {"n_train": 32, "n_test": 64, "pool": 4, "width": 32, "depth": 1},
        "quick": {"n_train": 256, "n_test": 1000, "pool": 2, "width": 512, "depth": 2},
        "paper": {"n_train": 1024, "n_test": 10000, "pool": 1, "width": 2048, "depth": 2}}
COLLAPSE = {"smoke": {"betas": [0.3, 3.0], "eta_tilde": 1.0, "steps": 20},
            "quick": {"betas": [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0], "eta_tilde": 1.0, "steps": 400},
            "paper": {"betas": list(np.logspace(-3, 3, 13)), "eta_tilde": 1.0, "steps": 2000}}


def _base(profile: str, seed: int = 0) -> dict:
    return {"dataset": "fashion-mnist", **DATA[profile], "activation": "relu", "seed": seed, "float64": True}


def collapse_configs(profile: str) -> list[dict]:
    g = COLLAPSE[profile]
    return [{**_base(profile), "c": -1.0, "beta": float(b), "eta_tilde": g["eta_tilde"], "steps": g["steps"]}
            for b in g["betas"]]


# --- Figs. 2-3: the timescales ----------------------------------------------------------------------

TIMESCALES = {
    "smoke": {"betas": [0.5, 2.0], "cs": [-0.99, 0.0], "short_eta_tilde": 1e-3, "long_beta": 1.0, "long_steps": 20,
              "long_eta_tilde": 1.0},
    "quick": {"betas": [0.1, 0.3, 1.0, 3.0, 10.0], "cs": [-1 + 1e-4, -1 + 1e-2, -0.9, -0.5, 0.0, 0.5, 1.0],
              "short_eta_tilde": 1e-3, "long_beta": 1.0, "long_steps": 300, "long_eta_tilde": 1.0},
    "paper": {"betas": list(np.logspace(-2, 2, 9)), "cs": [-1 + 1e-6, -1 + 1e-4, -1 + 1e-2, -0.9, -0.5, 0.0, 0.5, 1.0],
              "short_eta_tilde": 1e-4, "long_beta": 1.0, "long_steps": 2000, "long_eta_tilde": 1.0},
}


def timescale_configs(profile: str) -> list[dict]:
    g = TIMESCALES[profile]
    short = [{**_base(profile), "c": float(c), "beta": float(b), "eta_tilde": g["short_eta_tilde"], "steps": 4,
              "record": [0, 1, 2, 4], "timescales": True, "mode": "short"} for b in g["betas"] for c in g["cs"]]
    long = [{**_base(profile), "c": float(c), "beta": g["long_beta"], "eta_tilde": g["long_eta_tilde"],
             "steps": g["long_steps"], "timescales": True, "mode": "long"} for c in g["cs"]]
    return short + long


register(Experiment("tc-fig1-collapse", VERSION, collapse_configs, run_gd,
                    "Temperature check Fig. 1: beta and eta varied at fixed eta*beta^2, network vs linearized",
                    check_jax))
register(Experiment("tc-timescales", VERSION, timescale_configs, run_gd,
                    "Temperature check Figs. 2-3: tau_z and tau_nl over beta and ||Z0||", check_jax))


# --- Fig. 4: the best learning rate against beta (torch) ---------------------------------------------

ETA_STAR = {
    "smoke": {"dataset": "digits", "n_train": None, "model": "mlp", "width": 0.25, "epochs": 2, "batch_size": 64,
              "betas": [0.5, 2.0], "eta0": 0.05, "factors": [0.25, 1.0, 4.0], "seeds": [0]},
    "quick": {"dataset": "fashion-mnist", "n_train": 5000, "model": "mlp", "width": 0.5, "epochs": 10,
              "batch_size": 128, "betas": [0.1, 0.3, 1.0, 3.0, 10.0], "eta0": 0.05,
              "factors": [1 / 8, 1 / 4, 1 / 2, 1.0, 2.0, 4.0, 8.0], "seeds": [0, 1]},
    "paper": {"dataset": "cifar10", "n_train": None, "model": "wrn-16-4", "width": 1.0, "epochs": 200,
              "batch_size": 128, "betas": list(np.logspace(-2, 2, 9)), "eta0": 0.01,
              "factors": [1 / 8, 1 / 4, 1 / 2, 1.0, 2.0, 4.0, 8.0], "seeds": [0, 1, 2]},
}


def eta_star_configs(profile: str) -> list[dict]:
    g = ETA_STAR[profile]
    base = {k: g[k] for k in ("dataset", "n_train", "model", "width", "epochs", "batch_size")}
    return [{**base, "beta": float(b), "lr": float(g["eta0"] / b * f), "momentum": 0.9, "seed": s}
            for b in g["betas"] for f in g["factors"] for s in g["seeds"]]


def _torch_config(config: dict) -> train.TrainConfig:
    return train.TrainConfig(epochs=config["epochs"], lr=config["lr"], batch_size=config["batch_size"],
                             momentum=config["momentum"], schedule="constant", seed=config["seed"]).validate()


def check_eta_star(config: dict) -> None:
    softmax.check_beta(config["beta"])
    sp = data.spec(config["dataset"])
    models.build(config["model"], sp.in_shape, sp.num_classes, width=config["width"])
    _torch_config(config)


def run_eta_star(config: dict) -> dict:
    check_eta_star(config)
    tr = data.load(config["dataset"], "train", n=config["n_train"], seed=0)
    te = data.load(config["dataset"], "test", seed=0)
    torch.manual_seed(config["seed"])
    model = models.build(config["model"], tr.in_shape, tr.num_classes, width=config["width"])
    res = train.fit(model, tr, te, _torch_config(config), loss_fn=softmax.torch_beta_loss(config["beta"]),
                    progress=False)
    out = {"status": res.status, "history": res.history, "final_test_acc": res.final("test_acc"),
           "best_test_acc": max(res.history.get("test_acc", [math.nan]) or [math.nan])}
    if res.status != "ok":
        out["reason"] = f"non-finite loss at step {res.diverged_at_step}"
    return out


register(Experiment("tc-fig4-eta-star", VERSION, eta_star_configs, run_eta_star,
                    "Temperature check Fig. 4: test accuracy over a learning-rate grid centred on eta0 / beta",
                    check_eta_star))


def eta_star(records) -> list[dict]:
    """Per beta: the grid's best learning rate by mean final test accuracy over seeds (diverged runs
    count as chance), refined by a parabola through the best point and its two neighbours in
    log eta (the grid point itself when it lies on the edge)."""
    by_beta: dict[float, dict[float, list]] = {}
    for r in records:
        c = r["config"]
        acc = r["data"]["final_test_acc"] if r["status"] == "ok" else 0.1
        by_beta.setdefault(c["beta"], {}).setdefault(c["lr"], []).append(acc)
    out = []
    for beta, grid in sorted(by_beta.items()):
        lrs = np.array(sorted(grid))
        acc = np.array([np.mean(grid[lr]) for lr in lrs])
        i = int(np.argmax(acc))
        best = float(lrs[i])
        if 0 < i < len(lrs) - 1:
            x = np.log(lrs[i - 1:i + 2])
            a, b, _ = np.polyfit(x, acc[i - 1:i + 2], 2)
            if a < 0:
                best = float(np.exp(np.clip(-b / (2 * a), x[0], x[-1])))
        out.append({"beta": beta, "eta_star": best, "grid_best": float(lrs[i]), "best_acc": float(acc[i]),
                    "on_edge": i in (0, len(lrs) - 1)})
    return out

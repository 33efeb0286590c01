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

from thermo import claims, data, models, softmax, train
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


ARCHITECTURES = ("mlp", "cnn")


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

    arch = config.get("architecture", "mlp")
    if arch not in ARCHITECTURES:
        raise ConfigError(f"architecture must be one of {ARCHITECTURES}, got {arch!r}")
    if arch == "cnn":
        side = _side(in_dim)
        init, apply_body, _ = ntk.cnn_body([config["width"]] * config["depth"], config["activation"])
        return softmax.correlated_network(init, apply_body, side * side * config["width"], 10, (-1, side, side, 1),
                                          config["c"], seed=config["seed"])
    init, apply_body, _ = ntk.mlp_body([config["width"]] * config["depth"], config["activation"])
    return softmax.correlated_network(init, apply_body, config["width"], 10, (-1, in_dim), config["c"],
                                      seed=config["seed"])


def infinite_width_kernel_fn(config: dict):
    """neural-tangents' ``kernel_fn`` of the architecture of ``config`` (with its read-out)."""
    from thermo import ntk

    if config.get("architecture", "mlp") == "cnn":
        return ntk.cnn([config["width"]] * config["depth"], 10, config["activation"])[2]
    return ntk.mlp([config["width"]] * config["depth"], 10, config["activation"])[2]


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
    linear = config.get("linearized", True)
    res = ntk.gd(apply_fn, params, jnp.asarray(xtr), jnp.asarray(ytr),
                 lambda z, t: softmax.beta_cross_entropy(z, t, beta), eta, config["steps"], record=record,
                 eval_sets={"test": jnp.asarray(xte)}, linearized=linear)
    kinds = {"net": res.outputs, **({"lin": res.linear_outputs} if linear else {})}
    ztrain = {k: [beta * np.asarray(o) for o in outs["train"]] for k, outs in kinds.items()}
    out = {"steps": res.steps, "eta": eta, "z0_norm": float(np.linalg.norm(ztrain["net"][0]))}
    for kind, outs in kinds.items():
        ztr, zte = ztrain[kind], [beta * np.asarray(o) for o in outs["test"]]
        out[kind] = {"train_loss": [_ce(z, ytr) for z in ztr], "train_acc": [_accuracy(z, ytr) for z in ztr],
                     "test_acc": [_accuracy(z, yte) for z in zte], "z_norm": [float(np.linalg.norm(z)) for z in ztr]}
    if linear:
        out["deviation"] = [float(np.linalg.norm(a - b)) for a, b in zip(ztrain["net"], ztrain["lin"])]
    if config.get("timescales"):
        t = np.asarray(res.steps, dtype=float)
        out["tau_z_empirical"] = softmax.tau_z_empirical(t, ztrain["net"])
        if linear:
            out["tau_nl"] = softmax.tau_nl_empirical(t, ztrain["net"], ztrain["lin"])
            out["tau_z_theory"] = softmax.tau_z_from_network(apply_fn, params, jnp.asarray(xtr), jnp.asarray(ytr),
                                                             beta, config["eta_tilde"])
    if res.diverged_at is not None:
        return {**out, "status": "diverged", "reason": f"non-finite loss by step {res.diverged_at}"}
    return {**out, "status": "ok"}


# --- Fig. 1: the collapse ---------------------------------------------------------------------------

DATA = {"smoke": {"n_train": 32, "n_test": 64, "pool": 4, "width": 32, "depth": 1},
        "quick": {"n_train": 256, "n_test": 1000, "pool": 2, "width": 512, "depth": 2},
        "paper": {"n_train": 1024, "n_test": 10000, "pool": 1, "width": 2048, "depth": 2}}
# Two effective learning rates: at eta_tilde = 1 every beta <= 0.3 diverged within five steps (the
# largest usable eta_tilde shrinks with beta, Fig. 4's argument), so a second, smaller eta_tilde
# with more steps shows the small-beta networks too.
COLLAPSE = {"smoke": {"betas": [0.3, 3.0], "runs": [(1.0, 20)]},
            "quick": {"betas": [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0], "runs": [(1.0, 400), (0.1, 1000)]},
            "paper": {"betas": list(np.logspace(-3, 3, 13)), "runs": [(1.0, 2000), (0.1, 5000), (0.01, 20000)]}}


def _base(profile: str, seed: int = 0) -> dict:
    return {"dataset": "fashion-mnist", **DATA[profile], "activation": "relu", "seed": seed, "float64": True}


def collapse_configs(profile: str) -> list[dict]:
    g = COLLAPSE[profile]
    return [{**_base(profile), "c": -1.0, "beta": float(b), "eta_tilde": et, "steps": steps}
            for et, steps in g["runs"] for b in g["betas"]]


# --- Figs. 2-3: the timescales ----------------------------------------------------------------------

TIMESCALES = {
    "smoke": {"betas": [0.5, 2.0], "cs": [-0.99, 0.0], "short_eta_tilde": 1e-3, "long_beta": 1.0, "long_steps": 20,
              "long_eta_tilde": 1.0},
    "quick": {"betas": [0.1, 0.3, 1.0, 3.0, 10.0], "cs": [-1 + 1e-4, -1 + 1e-2, -0.9, -0.5, 0.0, 0.5, 1.0],
              "short_eta_tilde": 1e-3, "long_beta": 1.0, "long_steps": 3000, "long_eta_tilde": 1e-3,
              "short_activations": ["relu", "erf"]},
    "paper": {"betas": list(np.logspace(-2, 2, 9)), "cs": [-1 + 1e-6, -1 + 1e-4, -1 + 1e-2, -0.9, -0.5, 0.0, 0.5, 1.0],
              "short_eta_tilde": 1e-4, "long_beta": 1.0, "long_steps": 2000, "long_eta_tilde": 1.0,
              "short_activations": ["relu", "erf"]},
}


def timescale_configs(profile: str) -> list[dict]:
    g = TIMESCALES[profile]
    short = [{**_base(profile), "activation": act, "c": float(c), "beta": float(b), "eta_tilde": g["short_eta_tilde"],
              "steps": 4, "record": [0, 1, 2, 4], "timescales": True, "mode": "short"}
             for act in g.get("short_activations", ["relu"]) for b in g["betas"] for c in g["cs"]]
    # Fig. 2 (centre, right): at a small eta_tilde tau_z spans from about one step to many, so the delay
    # before learning starts is visible (at eta_tilde = 1 every tau_z here is below a tenth of a step);
    # the network alone, no linearization.
    long = [{**_base(profile), "c": float(c), "beta": g["long_beta"], "eta_tilde": g["long_eta_tilde"],
             "steps": g["long_steps"], "timescales": True, "linearized": False, "mode": "long"} for c in g["cs"]]
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


def build_model(config: dict, in_shape, classes: int):
    """The torch model of a beta run (``batchnorm`` passed on when the config names it)."""
    extra = {"batchnorm": config["batchnorm"]} if "batchnorm" in config else {}
    return models.build(config["model"], in_shape, classes, width=config["width"], **extra)


def check_beta_run(config: dict) -> None:
    softmax.check_beta(config["beta"])
    sp = data.spec(config["dataset"])
    build_model(config, sp.in_shape, sp.num_classes)
    _torch_config(config)


def run_beta_run(config: dict) -> dict:
    """Minibatch SGD with the beta cross-entropy as the loss of ``thermo.train.fit`` (Figs. 4 and 6)."""
    check_beta_run(config)
    tr = data.load(config["dataset"], "train", n=config["n_train"], seed=0)
    te = data.load(config["dataset"], "test", seed=0)
    torch.manual_seed(config["seed"])
    model = build_model(config, tr.in_shape, tr.num_classes)
    res = train.fit(model, tr, te, _torch_config(config), loss_fn=softmax.torch_beta_loss(config["beta"]),
                    progress=False)
    out = {"status": res.status, "history": res.history, "final_test_acc": res.final("test_acc"),
           "best_test_acc": max(res.history.get("test_acc", [math.nan]) or [math.nan])}
    if res.status != "ok":
        out["reason"] = f"non-finite loss at step {res.diverged_at_step}"
    return out


register(Experiment("tc-fig4-eta-star", VERSION, eta_star_configs, run_beta_run,
                    "Temperature check Fig. 4: test accuracy over a learning-rate grid centred on eta0 / beta",
                    check_beta_run))


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


# --- Fig. 5: the (beta, ||Z0||) phase plane (JAX) -----------------------------------------------------

# Each (beta, c) point trains the network alone (no linearization) at eta = f / beta for every f of
# the grid (eta_tilde = f * beta), the paper's App. D.2 sweep of eta in proportion to 1 / beta.
PHASE = {
    "smoke": {"betas": [0.3, 3.0], "cs": [-0.99, 0.0], "factors": [0.5, 2.0], "steps": 20, "width": 32},
    "quick": {"betas": [0.03, 0.1, 0.3, 1.0, 3.0, 10.0], "cs": [-1 + 1e-4, -0.99, -0.75, 0.0, 1.0],
              "factors": [0.25, 0.5, 1.0, 2.0, 4.0], "steps": 200, "width": 256},
    "paper": {"betas": list(np.logspace(-2, 2, 9)), "cs": [-1 + 1e-6, -1 + 1e-4, -0.99, -0.9, -0.5, 0.0, 1.0],
              "factors": [0.1, 0.3, 1.0, 3.0, 10.0], "steps": 2000, "width": 2048},
}
EARLY_STEP = 20  # Fig. 5(b): the accuracy after 20 steps


def phase_configs(profile: str) -> list[dict]:
    g = PHASE[profile]
    early = min(EARLY_STEP, g["steps"])
    return [{**_base(profile), "width": g["width"], "c": float(c), "beta": float(b), "eta_tilde": float(f * b),
             "lr_factor": float(f), "steps": g["steps"], "record": [0, early, g["steps"]], "linearized": False,
             "mode": "phase"}
            for b in g["betas"] for c in g["cs"] for f in g["factors"]]


register(Experiment("tc-fig5-phase-plane", VERSION, phase_configs, run_gd,
                    "Temperature check Fig. 5: the (beta, ||Z0||) phase plane at the best of eta = f / beta",
                    check_jax))


def phase_table(records):
    """One row per (beta, c) point at its best learning rate (by final test accuracy; diverged runs
    excluded): ||Z0||, the best f, the test accuracy, the training accuracy after ``EARLY_STEP``
    steps, the final ||Z||_F, and how many of the learning rates diverged."""
    import pandas as pd

    groups: dict = {}
    for r in records:
        c = r["config"]
        groups.setdefault((c["beta"], c["c"]), []).append(r)
    rows = []
    for (beta, c), recs in sorted(groups.items()):
        ok = [r for r in recs if r["status"] == "ok"]
        row = {"beta": beta, "c": c, "z0_norm": recs[0]["data"].get("z0_norm", np.nan),
               "diverged": len(recs) - len(ok), "lr_factor": np.nan, "test_acc": np.nan, "early_acc": np.nan,
               "final_z_norm": np.nan}
        if ok:
            best = max(ok, key=lambda r: r["data"]["net"]["test_acc"][-1])
            d = best["data"]
            early = d["steps"].index(min(EARLY_STEP, best["config"]["steps"]))
            row.update(lr_factor=best["config"]["lr_factor"], test_acc=d["net"]["test_acc"][-1],
                       early_acc=d["net"]["train_acc"][early], final_z_norm=d["net"]["z_norm"][-1])
        rows.append(row)
    return pd.DataFrame(rows)


# --- Fig. 6: beta sweeps of a ConvNet with and without BatchNorm, tuned as in Sec. 3.4 (torch) -------

BETA_SWEEP = {
    "smoke": {"dataset": "digits", "n_train": None, "width": 0.25, "epochs": 2, "batch_size": 64,
              "tune_lrs": [0.02, 0.08], "betas": [0.1, 1.0], "seeds": [0, 1]},
    "quick": {"dataset": "fashion-mnist", "n_train": 5000, "width": 0.5, "epochs": 5, "batch_size": 128,
              "tune_lrs": [0.0125, 0.025, 0.05, 0.1, 0.2], "betas": [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0],
              "seeds": [0, 1, 2, 3, 4]},
    "paper": {"dataset": "cifar10", "n_train": None, "width": 1.0, "epochs": 200, "batch_size": 128,
              "tune_lrs": list(np.logspace(-3, -0.5, 6)), "betas": list(np.logspace(-2, 1, 7)),
              "seeds": list(range(10)), "model": "wrn-16-4"},  # the paper's WRN with and without BatchNorm
}
NORMS = (False, True)  # the network without and with BatchNorm


def _sweep_base(profile: str, batchnorm: bool) -> dict:
    g = BETA_SWEEP[profile]
    return {**{k: g[k] for k in ("dataset", "n_train", "width", "epochs", "batch_size")},
            "model": g.get("model", "convnet"), "batchnorm": batchnorm, "momentum": 0.9}


def tune_configs(profile: str) -> list[dict]:
    """Sec. 3.4, step 1: the learning-rate grid at beta = 1, first seed, each network."""
    g = BETA_SWEEP[profile]
    return [{**_sweep_base(profile, bn), "beta": 1.0, "lr": float(lr), "seed": g["seeds"][0]}
            for bn in NORMS for lr in g["tune_lrs"]]


def tuned_lr(profile: str, batchnorm: bool) -> float:
    """eta_0 of Sec. 3.4: the grid learning rate of ``tc-fig6-tune`` with the best final test
    accuracy at beta = 1 (diverged runs count as chance)."""
    from thermo import claims

    recs = [r for r in claims.cached_records("tc-fig6-tune", profile) if r["config"]["batchnorm"] == batchnorm]
    best = max(recs, key=lambda r: r["data"]["final_test_acc"] if r["status"] == "ok" else 0.0)
    return float(best["config"]["lr"])


def beta_sweep_configs(profile: str) -> list[dict]:
    """Sec. 3.4, step 2: beta over the grid with eta = eta_0 / beta, every seed, each network. Needs
    ``tc-fig6-tune`` cached (run it first): eta_0 comes from its results."""
    g = BETA_SWEEP[profile]
    out = []
    for bn in NORMS:
        eta0 = tuned_lr(profile, bn)
        out += [{**_sweep_base(profile, bn), "beta": float(b), "lr": float(eta0 / b), "eta0": eta0, "seed": s}
                for b in g["betas"] for s in g["seeds"]]
    return out


register(Experiment("tc-fig6-tune", VERSION, tune_configs, run_beta_run,
                    "Temperature check Sec. 3.4, step 1: the learning rate at beta = 1, ConvNet with and without "
                    "BatchNorm", check_beta_run))
register(Experiment("tc-fig6-beta-sweep", VERSION, beta_sweep_configs, run_beta_run,
                    "Temperature check Fig. 6: test accuracy against beta at eta_0 / beta, ConvNet with and without "
                    "BatchNorm, several seeds", check_beta_run, needs=("tc-fig6-tune",)))


def beta_sweep_table(records):
    """Per (network, beta): mean, std and maximum of the final test accuracy over seeds (diverged runs
    count as chance, 0.1) and the number diverged."""
    import pandas as pd

    rows = [{"batchnorm": r["config"]["batchnorm"], "beta": r["config"]["beta"], "seed": r["config"]["seed"],
             "acc": r["data"]["final_test_acc"] if r["status"] == "ok" else 0.1,
             "diverged": r["status"] != "ok"} for r in records]
    t = pd.DataFrame(rows)
    return (t.groupby(["batchnorm", "beta"])
            .agg(mean=("acc", "mean"), std=("acc", "std"), max=("acc", "max"), seeds=("acc", "size"),
                 diverged=("diverged", "sum"))
            .reset_index())


# --- Fig. 7 (App. C): tau_z against the infinite-width kernel's prediction (JAX) ----------------------

NTK_PRED = {
    "smoke": {"n_train": 32, "pool": 4, "width": 64, "betas": [1.0], "cs": [-0.99, 0.0, 1.0]},
    "quick": {"n_train": 256, "pool": 2, "width": 2048, "betas": [0.3, 1.0, 3.0, 10.0],
              "cs": [-1 + 1e-4, -1 + 1e-2, -0.9, -0.5, 0.0, 0.5, 1.0]},
    "paper": {"n_train": 1024, "pool": 1, "width": 2000, "betas": list(np.logspace(-1, 2, 7)),
              "cs": [-1 + 1e-6, -1 + 1e-4, -1 + 1e-2, -0.9, -0.5, 0.0, 0.5, 1.0],
              "architectures": {"mlp": {}, "cnn": {"width": 128, "pool": 4, "n_train": 256}}},
}
TAU_Z_ETA_TILDE = 1e-3  # the vanishing step whose first step measures tau_z


def ntk_pred_configs(profile: str) -> list[dict]:
    g = NTK_PRED[profile]
    out = []
    for arch, over in g.get("architectures", {"mlp": {}}).items():
        a = {**g, **over}
        out += [{"dataset": "fashion-mnist", "n_train": a["n_train"], "pool": a["pool"], "width": a["width"],
                 "depth": 2, "activation": act, "labels": labels, "beta": float(b), "cs": [float(c) for c in g["cs"]],
                 "eta_tilde": TAU_Z_ETA_TILDE, "seed": 0, "float64": True,
                 **({"architecture": arch} if arch != "mlp" else {})}
                for act in ("relu", "erf") for labels in ("true", "shuffled") for b in g["betas"]]
    return out


def check_ntk_pred(config: dict) -> None:
    softmax.check_beta(config["beta"])
    for c in config["cs"]:
        softmax.check_correlation(c)
    if config["labels"] not in ("true", "shuffled"):
        raise ConfigError(f"labels must be 'true' or 'shuffled', got {config['labels']!r}")
    if config.get("architecture", "mlp") not in ARCHITECTURES:
        raise ConfigError(f"architecture must be one of {ARCHITECTURES}, got {config['architecture']!r}")


def run_ntk_pred(config: dict) -> dict:
    """For each c: ||Z0||, tau_z from the first step of gradient descent at a vanishing eta_tilde, and
    ||Theta_inf (Y - softmax(Z0)) / N||_F with Theta_inf the infinite-width NTK of the same
    architecture (neural-tangents' ``kernel_fn``)."""
    import jax.numpy as jnp

    from thermo import ntk

    check_ntk_pred(config)
    ntk.enable_float64()
    xtr, ytr, _, _ = fmnist_flat(config["n_train"], 16, config["pool"])
    if config["labels"] == "shuffled":
        ytr = np.random.default_rng(config["seed"] + 1).permutation(ytr)
    x, beta = jnp.asarray(as_inputs(config, xtr)), config["beta"]
    theta_inf = np.asarray(infinite_width_kernel_fn(config)(x, x, "ntk"))
    y = np.eye(10)[ytr]
    rows = []
    for c in config["cs"]:
        apply_fn, params = network({**config, "c": c}, xtr.shape[1])
        eta = config["eta_tilde"] / beta**2  # x is already in the network's input layout
        res = ntk.gd(apply_fn, params, x, jnp.asarray(ytr), lambda z, t: softmax.beta_cross_entropy(z, t, beta),
                     eta, 1, record=[0, 1])
        z = [beta * np.asarray(o) for o in res.outputs["train"]]
        tau = softmax.tau_z_empirical([0, 1], z)
        p = np.exp(z[0] - z[0].max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        pred = float(np.linalg.norm(theta_inf @ (y - p)) / len(y))
        rows.append({"c": c, "z0_norm": float(np.linalg.norm(z[0])), "tau_z": tau,
                     "tau_z_eta_over_z0": tau * config["eta_tilde"] / float(np.linalg.norm(z[0])),
                     "inverse_drive": 1.0 / pred})
    return {"status": "ok", "rows": rows}


register(Experiment("tc-fig7-ntk", VERSION, ntk_pred_configs, run_ntk_pred,
                    "Temperature check Fig. 7 / App. C: tau_z of wide networks against the infinite-width NTK",
                    check_ntk_pred))


# --- App. A.3: the conditioning of the linearized dynamics against beta ------------------------------

CONDITIONING = {
    "smoke": {"n_train": 16, "pool": 4, "width": 64, "betas": [0.1, 1.0, 10.0]},
    "quick": {"n_train": 64, "pool": 2, "width": 512, "betas": list(np.logspace(-2, 0.6, 14))},
    "paper": {"n_train": 128, "pool": 1, "width": 2048, "betas": list(np.logspace(-2, 0.6, 14))},
}  # beyond beta ~ 4 the smallest eigenvalue of the ReLU network's H is below float64 rounding (kappa > 1e15)


def conditioning_configs(profile: str) -> list[dict]:
    g = CONDITIONING[profile]
    return [{"dataset": "fashion-mnist", "n_train": g["n_train"], "pool": g["pool"], "width": g["width"], "depth": 2,
             "activation": act, "betas": [float(b) for b in g["betas"]], "c": 0.0, "seed": 0, "float64": True}
            for act in ("relu", "erf")]


def check_conditioning(config: dict) -> None:
    for b in config["betas"]:
        softmax.check_beta(b)


def run_conditioning(config: dict) -> dict:
    """kappa of H = (Theta (x) Id) S(beta z) (App. A.3) for every beta, with z the initial logits of the
    finite network (c = 0) and Theta the architecture's infinite-width NTK on the same examples."""
    import jax.numpy as jnp

    from thermo import ntk

    check_conditioning(config)
    ntk.enable_float64()
    xtr, _, _, _ = fmnist_flat(config["n_train"], 16, config["pool"])
    x = jnp.asarray(xtr)
    _, _, kernel_fn = ntk.mlp([config["width"]] * config["depth"], 10, config["activation"])
    theta = np.asarray(kernel_fn(x, x, "ntk"))
    apply_fn, params = network(config, xtr.shape[1])
    z = np.asarray(apply_fn(params, x))
    ev_theta = np.linalg.eigvalsh(theta)
    rows = []
    for b in config["betas"]:
        kappa = softmax.linearized_condition(theta, b * z)
        rows.append({"beta": b, "z_norm": float(b * np.linalg.norm(z)),
                     "kappa": kappa if math.isfinite(kappa) and kappa < 1e15 else None})  # None: past rounding
    return {"status": "ok", "rows": rows, "kappa_ntk": float(ev_theta[-1] / ev_theta[0]),
            "z_norm_base": float(np.linalg.norm(z))}


register(Experiment("tc-a3-conditioning", VERSION, conditioning_configs, run_conditioning,
                    "Temperature check App. A.3: condition number of the linearized dynamics against beta",
                    check_conditioning))


# --- Fig. 3, the why: how the non-linear part of one step grows with the step's size --------------------

STEP_SCALING = {
    "smoke": {"steps": list(np.logspace(0, -8, 5))},
    "quick": {"steps": list(np.logspace(0, -8, 17))},
    "paper": {"steps": list(np.logspace(0, -10, 21))},
}


def step_scaling_configs(profile: str) -> list[dict]:
    return [{**_base(profile), "activation": act, "c": float(c), "beta": 1.0, "steps": STEP_SCALING[profile]["steps"]}
            for act in ("relu", "erf") for c in (-1 + 1e-4, 0.0)]


def check_step_scaling(config: dict) -> None:
    softmax.check_beta(config["beta"])
    softmax.check_correlation(config["c"])
    if not all(s > 0 for s in config["steps"]):
        raise ConfigError(f"step sizes must be positive, got {config['steps']}")


def run_step_scaling(config: dict) -> dict:
    """``softmax.nonlinear_remainder`` of the network of ``config`` along its loss gradient (the direction
    of the first gradient-descent step) for a log grid of step sizes; also the first-order change
    ``||J d||`` for scale."""
    import jax
    import jax.numpy as jnp

    from thermo import ntk

    check_step_scaling(config)
    ntk.enable_float64()
    xtr, ytr, _, _ = fmnist_flat(config["n_train"], 16, config["pool"])
    apply_fn, params = network(config, xtr.shape[1])
    x = jnp.asarray(xtr)
    grad = jax.grad(lambda p: softmax.beta_cross_entropy(apply_fn(p, x), ytr, config["beta"]))(params)
    direction = jax.tree_util.tree_map(lambda g: -g, grad)
    out = softmax.nonlinear_remainder(apply_fn, params, x, direction, config["steps"])
    first = jax.jvp(lambda p: apply_fn(p, x), (params,), (direction,))[1]
    return {"status": "ok", **out, "first_order": float(np.linalg.norm(np.asarray(first)))}


register(Experiment("tc-nl-step-scaling", VERSION, step_scaling_configs, run_step_scaling,
                    "Temperature check Fig. 3: the non-linear remainder of one step against its size, ReLU and Erf",
                    check_step_scaling))


# --- the claims ----------------------------------------------------------------------------------------

_CH = "notebooks/temperature-check/01-softmax-temperature"


def measure_collapse(profile: str) -> claims.Measurement:
    """The largest spread over beta of the linearized model's training loss at any recorded step,
    relative to the loss there, per eta_tilde; the value is the largest over eta_tilde. Exact
    arithmetic gives 0; float64 rounding, amplified by the dynamics, gives 1e-14 to 1e-8 (larger at
    eta_tilde = 1, nearer the linearized model's stability edge). A real beta dependence, like the
    networks' own, is of order 1e-2."""
    recs = [r for r in claims.cached_records("tc-fig1-collapse", profile) if r["status"] == "ok"]
    per_group = {}
    for et in sorted({r["config"]["eta_tilde"] for r in recs}):
        g = [r for r in recs if r["config"]["eta_tilde"] == et]
        if len(g) < 2:
            continue
        n = min(len(r["data"]["steps"]) for r in g)
        loss = np.array([r["data"]["lin"]["train_loss"][:n] for r in g])
        per_group[et] = float((np.ptp(loss, axis=0) / np.abs(loss).mean(axis=0)).max())
    if not per_group:
        raise claims.MissingResults("fewer than two finished betas at one eta_tilde")
    return claims.Measurement(max(per_group.values()), n=len(recs),
                              detail="largest relative spread over beta of the linearized model's training loss at "
                                     "any recorded step, Z0 = 0; per eta_tilde "
                                     + ", ".join(f"{et:g}: {v:.1e}" for et, v in per_group.items()))


def _slope_measurement(rows, what: str) -> claims.Measurement:
    if rows.empty:
        raise claims.MissingResults("fewer than 3 betas per c")
    w = 1 / rows.slope_se.clip(lower=1e-6) ** 2
    mean = float(np.average(rows.slope, weights=w))
    return claims.Measurement(mean, float(np.sqrt(1 / w.sum()) if len(rows) == 1 else rows.slope.std(ddof=1)),
                              n=len(rows), detail=f"{what}: inverse-variance mean of the log-log slope over "
                                                  f"{len(rows)} values of c (spread: std over c); per c "
                                                  f"{[round(float(v), 2) for v in rows.slope]}")


def measure_tau_nl(profile: str, activation: str = "relu") -> claims.Measurement:
    from thermo.plots import temperature_check as tcp

    slopes = tcp.tau_nl_slopes(tcp.timescale_table(claims.cached_records("tc-timescales", profile)))
    return _slope_measurement(slopes[slopes.activation == activation],
                              f"{activation} MLP, tau_nl from the first step at eta_tilde = 1e-3")


def measure_eta_star(profile: str) -> claims.Measurement:
    from thermo import stats

    stars = [s for s in eta_star(claims.cached_records("tc-fig4-eta-star", profile)) if not s["on_edge"]]
    if len(stars) < 3:
        raise claims.MissingResults("fewer than 3 betas with an interior optimum")
    fit = stats.loglog_fit([s["beta"] for s in stars], [s["eta_star"] for s in stars])
    return claims.Measurement(fit.slope, fit.slope_se, n=len(stars),
                              detail=f"log-log fit of eta* against beta over {len(stars)} betas with an interior "
                                     "optimum (MLP, Fashion-MNIST 5k, SGD with momentum, 10 epochs, 2 seeds)")


def measure_ntk_prediction(profile: str) -> claims.Measurement:
    from thermo.plots import temperature_check as tcp

    t = tcp.ntk_prediction_table(claims.cached_records("tc-fig7-ntk", profile))
    corrs = [float(np.corrcoef(np.log(g.inverse_drive), np.log(g.tau_z_eta_over_z0))[0, 1])
             for _, g in t.groupby(["activation", "labels"])]
    return claims.Measurement(min(corrs), n=len(t),
                              detail=f"smallest correlation of log(tau_z eta_tilde / ||Z0||) with the log of the "
                                     f"infinite-width prediction over {len(corrs)} (activation, labels) groups")


def measure_best_beta(profile: str, batchnorm: bool) -> claims.Measurement:
    t = beta_sweep_table(claims.cached_records("tc-fig6-beta-sweep", profile))
    g = t[t.batchnorm == batchnorm].set_index("beta")
    best = float(g["mean"].idxmax())
    return claims.Measurement(best, n=int(g.seeds.sum()),
                              detail=f"beta with the best mean final test accuracy over {int(g.seeds.max())} seeds "
                                     f"({100 * g['mean'].max():.2f} %; at beta = 1: {100 * g.loc[1.0, 'mean']:.2f} %), "
                                     f"ConvNet {'with' if batchnorm else 'without'} BatchNorm, eta = eta0 / beta")


for _claim in (
    claims.Claim("tc-collapse", "temperature-check", "Fig. 1, eq. 5",
                 "The linearized model's learning curves depend on eta and beta only through eta * beta^2",
                 "identical curves", claims.at_most(1e-6, 1e-3, "largest relative spread of the loss"),
                 measure=measure_collapse, chapter=_CH, section="tc-fig1"),
    claims.Claim("tc-tau-nl", "temperature-check", "Fig. 3, eq. 9",
                 "The non-linear timescale in units of the effective LR scales as tau_nl * eta_tilde ~ beta",
                 "slope 1 on log-log axes", claims.slope_rule(1.0, 0.1),
                 measure=measure_tau_nl, chapter=_CH, section="tc-fig3"),
    claims.Claim("tc-tau-nl-erf", "temperature-check", "Fig. 3, eq. 9",
                 "The same scaling for a smooth (Erf) network, the setting of the derivation",
                 "slope 1 on log-log axes", claims.slope_rule(1.0, 0.1),
                 measure=lambda p: measure_tau_nl(p, "erf"), chapter=_CH, section="tc-fig3"),
    claims.Claim("tc-eta-star", "temperature-check", "Fig. 4",
                 "The best learning rate scales as eta* ~ 1/beta", "slope -1 on log-log axes",
                 claims.slope_rule(-1.0, 0.3), measure=measure_eta_star, chapter=_CH, section="tc-fig4"),
    claims.Claim("tc-beta-no-norm", "temperature-check", "Fig. 6(a)",
                 "Without normalization the best (mean over seeds) inverse temperature is below 1",
                 "beta ~ 1e-2 (WRN, CIFAR-10)", claims.at_most(0.3, 0.5, "best beta"),
                 measure=lambda p: measure_best_beta(p, False), chapter=_CH, section="tc-fig6"),
    claims.Claim("tc-ntk-tau-z", "temperature-check", "Fig. 7, App. C",
                 "tau_z / ||Z0|| of wide networks follows the infinite-width NTK's ||Theta (Y - softmax(Z0))||^-1",
                 "highly correlated", claims.at_least(0.99, 0.9, "correlation"),
                 measure=measure_ntk_prediction, chapter=_CH, section="tc-fig7"),
):
    claims.register(_claim)

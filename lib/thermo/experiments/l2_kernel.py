"""The kernel side of the L2 paper (Theorem 1, supplement Fig. 5), in JAX through ``thermo.ntk``.

Data: 200 training and 200 test examples of ``mnist-5k`` with even/odd labels (+1 / -1),
average-pooled to 14 x 14 (196 inputs: the CPU-scale choice; the supplement used the full
images), standardized with the training set's mean and standard deviation. One output, logistic
loss (the two-class softmax cross-entropy), mean over the training set. Networks are bias-free ReLU
MLPs in the NTK parameterization, so their kernel has a finite infinite-width limit; a bias-free
ReLU network with L weight layers is k = L homogeneous in its parameters.

- ``l2-kernel-decay``: train with small-step gradient descent and L2, measure the empirical NTK
  on 64 training examples along training, fit the decay rate of its Frobenius norm in units of
  t = eta * step, and compare with Theorem 1's 2 (k - 1) lambda; lambda = 0 as the control.
- ``l2-eq1``: the supplement's Fig. 5(c). The empirical NTK of a width-5,000 two-layer network
  on the 400 examples drives eq. 1 for k = 1 (a constant kernel) and k = 2 (a kernel decaying as
  exp(-2 lambda t)), from the initial outputs of a much wider network that is trained with
  gradient descent; the three are compared over time (time = step * eta).
"""

from __future__ import annotations

import numpy as np
import torch

from thermo import claims, data, l2, ntk, train
from thermo.errors import ConfigError
from thermo.experiments import Experiment, register

DECAY_VERSION = 1
EQ1_VERSION = 1


def even_odd(n_train: int, n_test: int, pool: int = 2, seed: int = 0):
    """(x_train, y_train, x_test, y_test) as float32 numpy arrays, labels +1 (even) / -1 (odd)."""
    full = data.load("mnist-5k", "train")
    idx = torch.randperm(len(full), generator=torch.Generator().manual_seed(seed))
    x = torch.nn.functional.avg_pool2d(full.x, pool) if pool > 1 else full.x
    x = x.flatten(1).numpy()
    y = np.where(full.y.numpy() % 2 == 0, 1.0, -1.0).astype(np.float32)
    tr, te = idx[:n_train].numpy(), idx[n_train:n_train + n_test].numpy()
    mu, sd = x[tr].mean(), x[tr].std()
    xs = ((x - mu) / sd).astype(np.float32)
    return xs[tr], y[tr, None], xs[te], y[te, None]


def logistic(f, y):
    import jax

    return jax.nn.softplus(-y * f)


def _network(widths, seed, in_dim):
    import jax

    init, apply_fn, _ = ntk.mlp(widths, 1, bias=False, parameterization="ntk")
    _, params = init(jax.random.PRNGKey(seed), (-1, in_dim))
    return apply_fn, params


# --- Theorem 1: the kernel decays at 2 (k - 1) lambda ---------------------------------------------

DECAY_GRID = {
    "smoke": {"cases": [(2, 64)], "lams": [0.05], "seeds": [0], "eta": 0.5, "time": 20.0, "n_train": 32,
              "probe": 16},
    "quick": {"cases": [(2, 512), (2, 2048), (3, 512), (3, 1024)], "lams": [0.0, 0.01], "seeds": [0, 1],
              "eta": 0.5, "time": 200.0, "n_train": 200, "probe": 64},
    "paper": {"cases": [(2, 4096), (2, 16384), (3, 4096)], "lams": [0.0, 0.01], "seeds": [0, 1, 2],
              "eta": 0.1, "time": 200.0, "n_train": 200, "probe": 200},
}


def decay_configs(profile: str) -> list[dict]:
    g = DECAY_GRID[profile]
    return [{"dataset": "mnist-5k", "task": "even-odd", "pool": 2, "n_train": g["n_train"], "probe": g["probe"],
             "k": k, "width": w, "lam": lam, "eta": g["eta"], "steps": int(round(g["time"] / g["eta"])),
             "seed": seed, "parameterization": "ntk", "bias": False}
            for k, w in g["cases"] for lam in g["lams"] for seed in g["seeds"]]


def check_decay(config: dict) -> None:
    l2.check_homogeneity(config["k"], config["lam"])
    l2.check_eta_lambda(config["eta"], config["lam"])
    if config.get("bias", False):
        ntk.homogeneity_degree([1], bias=True)  # raises: a network with biases is not homogeneous
    if config["probe"] > config["n_train"]:
        raise ConfigError(f"the kernel probe ({config['probe']}) cannot exceed the training set ({config['n_train']})")


def kernel_decay(config: dict) -> dict:
    check_decay(config)
    xtr, ytr, _, _ = even_odd(config["n_train"], 0, config["pool"])
    widths = [config["width"]] * (config["k"] - 1)
    apply_fn, params = _network(widths, config["seed"], xtr.shape[1])
    probe = xtr[:config["probe"]]
    steps = config["steps"]
    record = sorted({0, *train.log_spaced_steps(steps, 20), *np.linspace(0, steps, 21).astype(int).tolist()})
    norms, cosines, k0 = [], [], {}

    def measure(step, p):
        kern = np.asarray(ntk.empirical_ntk(apply_fn, p, probe), dtype=np.float64)
        if step == 0:
            k0["K"] = kern
        norms.append(float(np.linalg.norm(kern)))
        cosines.append(float(np.sum(kern * k0["K"]) / (np.linalg.norm(kern) * np.linalg.norm(k0["K"]))))

    res = ntk.gd(apply_fn, params, xtr, ytr, logistic, eta=config["eta"], steps=steps, l2=config["lam"],
                 record=record, callback=measure)
    if res.diverged_at is not None:
        return {"status": "diverged", "reason": f"non-finite loss at step {res.diverged_at}"}
    t = config["eta"] * np.asarray(res.steps, dtype=float)
    t_min = 0.25 * t.max()  # after the first quarter: the fitting transient moves the kernel too
    rate, rate_se = l2.decay_rate(t, norms, t_min=t_min)
    acc = [float(np.mean(np.sign(o[:, 0]) == ytr[:, 0])) for o in res.outputs["train"]]
    return {"t": t, "kernel_norm": norms, "kernel_cosine": cosines, "train_loss": res.train_loss,
            "train_acc": acc, "rate": rate, "rate_se": rate_se, "t_min": t_min,
            "predicted_rate": 2.0 * (config["k"] - 1) * config["lam"]}


register(Experiment("l2-kernel-decay", DECAY_VERSION, decay_configs, kernel_decay,
                    "L2 Theorem 1: the NTK of a k-homogeneous network decays as exp(-2(k-1) lambda t)", check_decay))


def measure_decay(profile: str) -> claims.Measurement:
    """Claim ``l2-ntk-decay``: measured / predicted decay rate for the widest network of each k
    with lambda > 0, mean over k and seeds (± the standard deviation over them)."""
    recs = [r for r in claims.cached_records("l2-kernel-decay", profile) if r["status"] == "ok"]
    pos = [r for r in recs if r["config"]["lam"] > 0]
    if not pos:
        raise claims.MissingResults("no l2-kernel-decay run with lambda > 0")
    ks = {r["config"]["k"] for r in pos}
    widest = {k: max(r["config"]["width"] for r in pos if r["config"]["k"] == k) for k in ks}
    ratios = [r["data"]["rate"] / r["data"]["predicted_rate"] for r in pos
              if r["config"]["width"] == widest[r["config"]["k"]]]
    sd = float(np.std(ratios, ddof=1)) if len(ratios) > 1 else None
    return claims.Measurement(float(np.mean(ratios)), sd, n=len(ratios),
                              detail=f"k = {sorted(widest)}, widths {[widest[k] for k in sorted(widest)]}, "
                                     f"{len(ratios)} runs; rate fitted to ln||Theta_t|| after the first quarter "
                                     "of training (± std over runs)")


claims.register(claims.Claim(
    "l2-ntk-decay", "l2", "Theorem 1, Fig. 5",
    "The NTK of a k-homogeneous network trained with L2 decays as exp(-2 (k - 1) lambda t)",
    "rate 2 (k - 1) lambda", claims.within(1.0, 0.1, "measured / predicted rate"), measure=measure_decay,
    chapter="notebooks/l2-regularization/01-l2-and-the-learning-rate", section="l2-fig5",
))


# --- Fig. 5(c): eq. 1 with an empirical kernel against a wide network -----------------------------

EQ1_GRID = {
    "smoke": {"kernel_width": 64, "wide_width": 256, "n_train": 32, "n_test": 32, "eta": 0.5, "time": 20.0},
    "quick": {"kernel_width": 5000, "wide_width": 20000, "n_train": 200, "n_test": 200, "eta": 0.5,
              "time": 400.0},
    "paper": {"kernel_width": 5000, "wide_width": 100000, "n_train": 200, "n_test": 200, "eta": 0.01,
              "time": 400.0},
}


def eq1_configs(profile: str) -> list[dict]:
    g = EQ1_GRID[profile]
    return [{"dataset": "mnist-5k", "task": "even-odd", "pool": 2, "n_train": g["n_train"], "n_test": g["n_test"],
             "kernel_width": g["kernel_width"], "wide_width": g["wide_width"], "lam": 0.01, "eta": g["eta"],
             "steps": int(round(g["time"] / g["eta"])), "seed": 0, "parameterization": "ntk", "bias": False}]


def check_eq1(config: dict) -> None:
    l2.check_eta_lambda(config["eta"], config["lam"])
    if config.get("bias", False):
        ntk.homogeneity_degree([1], bias=True)


def eq1_dynamics(config: dict) -> dict:
    check_eq1(config)
    xtr, ytr, xte, yte = even_odd(config["n_train"], config["n_test"], config["pool"])
    xall = np.concatenate([xtr, xte])
    n = len(xtr)
    k_apply, k_params = _network([config["kernel_width"]], config["seed"] + 1, xtr.shape[1])
    theta = np.asarray(ntk.empirical_ntk(k_apply, k_params, xall, batch_size=100), dtype=np.float64)
    w_apply, w_params = _network([config["wide_width"]], config["seed"], xtr.shape[1])
    steps = config["steps"]
    record = sorted({0, *train.log_spaced_steps(steps, 20), *np.linspace(0, steps, 41).astype(int).tolist()})
    res = ntk.gd(w_apply, w_params, xtr, ytr, logistic, eta=config["eta"], steps=steps, l2=config["lam"],
                 record=record, eval_sets={"test": xte})
    if res.diverged_at is not None:
        return {"status": "diverged", "reason": f"non-finite loss at step {res.diverged_at}"}
    t = config["eta"] * np.asarray(res.steps, dtype=float)
    f_net = np.array([o[:, 0] for o in res.outputs["train"]])
    g_net = np.array([o[:, 0] for o in res.outputs["test"]])
    out = {"t": t, "theta_train_diag_mean": float(np.mean(np.diag(theta)[:n]))}

    def summarize(name, f, g):
        out[f"{name}_train_loss"] = np.mean(np.logaddexp(0.0, -ytr[:, 0] * f), axis=1)
        out[f"{name}_test_acc"] = np.mean(np.sign(g) == yte[:, 0], axis=1)
        out[f"{name}_train_acc"] = np.mean(np.sign(f) == ytr[:, 0], axis=1)
        out[f"{name}_f_norm"] = np.sqrt(np.mean(f**2, axis=1))

    summarize("network", f_net, g_net)
    for k in (1, 2):
        sol = l2.eq1_evolve(theta[:n, :n], f_net[0], ytr[:, 0], k, config["lam"], t,
                            theta_test_train=theta[n:, :n], f0_test=g_net[0], loss="logistic")
        summarize(f"eq1_k{k}", sol["train"], sol["test"])
    return out


register(Experiment("l2-eq1", EQ1_VERSION, eq1_configs, eq1_dynamics,
                    "L2 Fig. 5(c): eq. 1 with an empirical NTK (k = 1, 2) against a wide network", check_eq1))


def fit_of(out: dict, name: str, key: str = "train_loss") -> float:
    """Root-mean-square difference, over time, between a curve of eq. 1 and the network's."""
    return float(np.sqrt(np.mean((np.asarray(out[f"{name}_{key}"]) - np.asarray(out[f"network_{key}"])) ** 2)))

"""The Temperature-check chapter's experiments (``notebooks/temperature-check/01-softmax-temperature``):
compute functions and the registered :class:`~thermo.experiments.Experiment` objects.

JAX (full-batch gradient descent through ``thermo.ntk.gd``, float64; JAX imported only inside the
compute functions), on the data and networks of :mod:`.networks`:

- ``tc-fig1-collapse``: c = -1 (Z0 = 0), beta over four decades at eta = eta_tilde / beta^2, the
  network and its linearization side by side (the paper's Fig. 1, eq. 5).
- ``tc-timescales``: beta x c grid; tau_z by eq. 7 (kernel-vector products) and from the first step
  of a run with a vanishing step size, tau_nl (eq. 9) from the same steps (Figs. 2-3); longer runs
  per c for the accuracy against t and t / tau_z (Fig. 2, centre and right).
- ``tc-nl-step-scaling``: the non-linear remainder of one step against its size (why Fig. 3 bends
  for ReLU).
- ``tc-fig5-phase-plane``: the (beta, ||Z0||) plane at the best of eta = f / beta (Fig. 5).
- ``tc-fig7-ntk``: tau_z against the infinite-width NTK's prediction (Fig. 7, App. C).
- ``tc-a3-conditioning``: kappa of the linearized dynamics against beta (App. A.3).

torch (minibatch SGD with the beta cross-entropy as the loss of ``thermo.train.fit``):

- ``tc-fig4-eta-star``: a learning-rate grid centred on eta0 / beta for every beta (Fig. 4).
- ``tc-fig6-tune`` and ``tc-fig6-beta-sweep``: the two steps of Sec. 3.4 (Fig. 6); the sweep's
  configs read the tuning's cached results (``thermo.claims.cached_records``).
- ``tc-fig6-val-tune`` and ``tc-fig6-val-sweep``: the same two steps with eta0 picked on a validation
  split held out from the training split, and 20 seeds for the paired comparisons of Fig. 6's claims.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

from thermo import claims, data, models, softmax, train
from thermo.errors import ConfigError
from thermo.experiments import Experiment, RunPlan, Work, register, torch_plan

from . import analysis, configs
from .networks import as_inputs, check_architecture, fmnist_flat, infinite_width_kernel_fn, network

VERSION = 1


# --- the full-batch runs of Figs. 1-3 and 5 (JAX) ------------------------------------------------------

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


def _recorded_steps(config: dict) -> list[int]:
    if config.get("record"):
        return sorted(set(config["record"]) | {config["steps"]})
    return [0, *train.log_spaced_steps(config["steps"], per_decade=config.get("per_decade", 12))]


def _curves(ztr: list, zte: list, ytr, yte) -> dict:
    """Train loss and accuracy, test accuracy and ||Z||_F at every recorded step (Z = beta z)."""
    return {"train_loss": [_ce(z, ytr) for z in ztr], "train_acc": [_accuracy(z, ytr) for z in ztr],
            "test_acc": [_accuracy(z, yte) for z in zte], "z_norm": [float(np.linalg.norm(z)) for z in ztr]}


def run_gd(config: dict) -> dict:
    """One full-batch run of the network and (unless ``linearized`` is false) its linearization, at
    eta = eta_tilde / beta^2; curves at log-spaced (or the given) steps, and with ``timescales`` the
    empirical tau_z, tau_nl and eq. 7's tau_z."""
    import jax.numpy as jnp

    from thermo import ntk

    check_jax(config)
    ntk.enable_float64()
    xtr, ytr, xte, yte = fmnist_flat(config["n_train"], config["n_test"], config["pool"])
    apply_fn, params = network(config, xtr.shape[1])
    beta = config["beta"]
    eta = config["eta_tilde"] / beta**2
    linear = config.get("linearized", True)
    res = ntk.gd(apply_fn, params, jnp.asarray(xtr), jnp.asarray(ytr),
                 lambda z, t: softmax.beta_cross_entropy(z, t, beta), eta, config["steps"],
                 record=_recorded_steps(config), eval_sets={"test": jnp.asarray(xte)}, linearized=linear)
    kinds = {"net": res.outputs, **({"lin": res.linear_outputs} if linear else {})}
    ztrain = {k: [beta * np.asarray(o) for o in outs["train"]] for k, outs in kinds.items()}
    out = {"steps": res.steps, "eta": eta, "z0_norm": float(np.linalg.norm(ztrain["net"][0]))}
    for kind, outs in kinds.items():
        out[kind] = _curves(ztrain[kind], [beta * np.asarray(o) for o in outs["test"]], ytr, yte)
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
        # ntk.gd checks the loss at the recorded steps only: it turned non-finite by that step
        return {**out, "status": "diverged", "reason": f"non-finite loss by step {res.diverged_at}"}
    return {**out, "status": "ok"}


# --- what a JAX run computes (python -m thermo cost; tests/test_paper_configs.py) ------------------------

def _in_dim(config: dict) -> int:
    """Inputs per example of :func:`.networks.fmnist_flat`: 28 x 28 images average-pooled by ``pool``."""
    return (28 // config["pool"]) ** 2


def _examples(config: dict, n: int, concrete: bool = False):
    """``n`` inputs in the layout the network of ``config`` takes, and integer labels: standard
    normal numbers (``concrete``) or only their shapes (what XLA's cost analysis needs)."""
    import jax
    import jax.numpy as jnp

    dim = _in_dim(config)
    side = math.isqrt(dim)
    shape = (n, side, side, 1) if check_architecture(config) == "cnn" else (n, dim)
    dtype = jnp.result_type(float)  # float64 once enabled (the runs compute in float64)
    if not concrete:
        return jax.ShapeDtypeStruct(shape, dtype), jax.ShapeDtypeStruct((n,), jnp.int32)
    rng = np.random.default_rng(0)
    return jnp.asarray(rng.standard_normal(shape), dtype=dtype), jnp.asarray(rng.integers(0, 10, n), dtype=jnp.int32)


def _model(config: dict, linearized: bool = False):
    """(apply_fn, params) of the run's correlated network, or of its linearization."""
    apply_fn, params = network({"c": 0.0, **config}, _in_dim(config))
    if linearized:
        from thermo.nt_compat import neural_tangents

        apply_fn = neural_tangents().linearize(apply_fn, params)
    return apply_fn, params


def _gd_step(config: dict, n: int, concrete: bool = False, linearized: bool = False):
    """One full-batch step of :func:`run_gd`'s gradient descent (``thermo.ntk.gd_step``) on ``n``
    examples at eta = eta_tilde / beta^2: ``(step, (params, x, y))``."""
    from thermo import ntk

    apply_fn, params = _model(config, linearized)
    beta = config["beta"]
    step = ntk.gd_step(apply_fn, lambda z, t: softmax.beta_cross_entropy(z, t, beta),
                       config.get("eta_tilde", 1.0) / beta**2)
    return step, (params, *_examples(config, n, concrete))


def _forward(config: dict, n: int, linearized: bool = False):
    apply_fn, params = _model(config, linearized)
    return apply_fn, (params, _examples(config, n)[0])


def _net_key(config: dict) -> tuple:
    return (check_architecture(config), config["width"], config["depth"], config["activation"], _in_dim(config))


def _step_work(config: dict, n: int, times: float, linearized: bool = False) -> Work:
    name = "gd step" + (", linearized" if linearized else "")
    return Work(name, ("tc-step", *_net_key(config), n, linearized),
                functools.partial(_gd_step, config, n, linearized=linearized), times)


def _forward_work(config: dict, n: int, times: float, linearized: bool = False) -> Work:
    name = "forward" + (", linearized" if linearized else "")
    return Work(name, ("tc-forward", *_net_key(config), n, linearized),
                functools.partial(_forward, config, n, linearized=linearized), times)


def plan_gd(config: dict) -> RunPlan:
    """:func:`run_gd`'s run: ``steps`` full-batch steps of the network (and of its linearization),
    and at every recorded step the loss on the training set and the outputs on both sets (for
    both models); with ``timescales`` eq. 7's kernel-vector product, counted as one more step."""
    n, m, records = config["n_train"], config["n_test"], len(_recorded_steps(config))
    linear = config.get("linearized", True)
    extra_step = 1 if linear and config.get("timescales") else 0
    work = [_step_work(config, n, config["steps"] + extra_step), _forward_work(config, n, 2 * records),
            _forward_work(config, m, records)]
    if linear:
        work += [_step_work(config, n, config["steps"], True), _forward_work(config, n, records, True),
                 _forward_work(config, m, records, True)]
    return RunPlan("jax", steps=config["steps"], jax_step=functools.partial(_gd_step, config, concrete=True),
                   jax_work=tuple(work), precision="float64")


register(Experiment("tc-fig1-collapse", VERSION, configs.collapse_configs, run_gd,
                    "Temperature check Fig. 1: beta and eta varied at fixed eta*beta^2, network vs linearized",
                    check_jax, plan=plan_gd))
register(Experiment("tc-timescales", VERSION, configs.timescale_configs, run_gd,
                    "Temperature check Figs. 2-3: tau_z and tau_nl over beta and ||Z0||", check_jax, plan=plan_gd))
register(Experiment("tc-fig5-phase-plane", VERSION, configs.phase_configs, run_gd,
                    "Temperature check Fig. 5: the (beta, ||Z0||) phase plane at the best of eta = f / beta",
                    check_jax, plan=plan_gd))


# --- Fig. 3, the why: how the non-linear part of one step grows with the step's size (JAX) -------------

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


def _jvp(config: dict, n: int, second: bool = False):
    """``jax.jvp`` of the network's outputs along a direction of the parameters' shape (or a jvp of
    that jvp, ``second``): what :func:`thermo.softmax.nonlinear_remainder` computes."""
    import jax

    apply_fn, params = _model(config)

    def f(p, x):
        return apply_fn(p, x)

    def first(p, d, x):
        return jax.jvp(lambda q: f(q, x), (p,), (d,))[1]

    def twice(p, d, x):
        return jax.jvp(lambda q: first(q, d, x), (p,), (d,))[1]

    return (twice if second else first), (params, params, _examples(config, n)[0])


def plan_step_scaling(config: dict) -> RunPlan:
    """:func:`run_step_scaling`: one gradient (counted as a step), two jvps, a jvp of a jvp and a
    forward pass per step size, on the training set; no training."""
    n, key = config["n_train"], _net_key(config)
    work = (_step_work(config, n, 1), _forward_work(config, n, len(config["steps"])),
            Work("jvp", ("tc-jvp", *key, n), functools.partial(_jvp, config, n), 2),
            Work("jvp of a jvp", ("tc-jvp2", *key, n), functools.partial(_jvp, config, n, True), 1))
    return RunPlan("analysis", jax_step=functools.partial(_gd_step, config, concrete=True), jax_work=work,
                   precision="float64", note="no training: one gradient and the remainders along it")


register(Experiment("tc-nl-step-scaling", VERSION, configs.step_scaling_configs, run_step_scaling,
                    "Temperature check Fig. 3: the non-linear remainder of one step against its size, ReLU and Erf",
                    check_step_scaling, plan=plan_step_scaling))


# --- Figs. 4 and 6: minibatch SGD with the beta cross-entropy (torch) ----------------------------------

def build_model(config: dict, in_shape, classes: int):
    """The torch model of a beta run (``batchnorm`` passed on when the config names it)."""
    extra = {"batchnorm": config["batchnorm"]} if "batchnorm" in config else {}
    return models.build(config["model"], in_shape, classes, width=config["width"], **extra)


def _train_config(config: dict) -> train.TrainConfig:
    return train.TrainConfig.from_config(config, schedule="constant")


def check_beta_run(config: dict) -> None:
    softmax.check_beta(config["beta"])
    n_val = config.get("n_val")
    if n_val is not None and not (isinstance(n_val, int) and n_val > 0):
        raise ConfigError(f"n_val (the validation split) must be a positive integer, got {n_val!r}")
    sp = data.spec(config["dataset"])
    build_model(config, sp.in_shape, sp.num_classes)
    _train_config(config)


def train_and_validation(config: dict):
    """The training set of a beta run and, with ``n_val``, the validation split held out from the
    training split: ``n_val`` examples that a seeded subset of ``n_train + n_val`` holds after its
    first ``n_train`` (without ``n_train``, the whole split less ``n_val``); else None."""
    n_val = config.get("n_val")
    if not n_val:
        return data.load(config["dataset"], "train", n=config["n_train"], seed=0), None
    n_train = config["n_train"] or len(data.load(config["dataset"], "train").y) - n_val
    full = data.load(config["dataset"], "train", n=n_train + n_val, seed=0)
    make = data.ArrayDataset
    return (make(full.x[:n_train], full.y[:n_train], full.name, "train", full.num_classes),
            make(full.x[n_train:], full.y[n_train:], full.name, "validation", full.num_classes))


def run_beta_run(config: dict) -> dict:
    """Minibatch SGD with the beta cross-entropy as the loss of ``thermo.train.fit`` (Figs. 4 and 6);
    the record of ``TrainResult.to_record`` with the best test accuracy of any epoch added. With
    ``n_val`` the curves are scored on the validation split (``val_*``, ``final_val_acc``) and the test
    set once, at the end (``final_test_acc``; None if the run diverged)."""
    check_beta_run(config)
    tr, val = train_and_validation(config)
    te = data.load(config["dataset"], "test", seed=0)
    torch.manual_seed(config["seed"])
    model = build_model(config, tr.in_shape, tr.num_classes)
    cfg = _train_config(config)
    res = train.fit(model, tr, te if val is None else val, cfg, loss_fn=softmax.torch_beta_loss(config["beta"]),
                    progress=False)
    if val is None:
        return res.to_record(best_test_acc=max(res.history.get("test_acc", [math.nan]) or [math.nan]))
    out = {k.replace("final_test_", "final_val_"): v for k, v in res.to_record().items()}
    out["history"] = {k.replace("test_", "val_"): v for k, v in out["history"].items()}
    ok = res.status == "ok"
    out["final_test_acc"] = train.evaluate(model, te, batch_size=cfg.eval_batch_size)[1] if ok else None
    return out


def tuned_lr(profile: str, batchnorm: bool) -> float:
    """eta_0 of Sec. 3.4 from the cached results of ``tc-fig6-tune`` (see
    :func:`.analysis.tuned_lr_of`); :class:`~thermo.errors.MissingResults` if they are not cached."""
    return analysis.tuned_lr_of(claims.cached_records("tc-fig6-tune", profile), batchnorm)


def beta_sweep_configs(profile: str) -> list[dict]:
    """Sec. 3.4, step 2: beta over the grid with eta = eta_0 / beta, every seed, each network. Needs
    ``tc-fig6-tune`` cached (run it first): eta_0 comes from its results."""
    return configs.beta_sweep_configs_at(profile, {bn: tuned_lr(profile, bn) for bn in configs.NORMS})


def val_sweep_configs(profile: str) -> list[dict]:
    """``tc-fig6-val-sweep``: the betas at eta0 / beta with eta0 picked on the validation split by
    ``tc-fig6-val-tune`` (:func:`.analysis.validated_lr`); MissingResults until that is cached, and a
    ConfigError if a network's best learning rate lies on the grid's edge (extend the grid then)."""
    tune = claims.cached_records("tc-fig6-val-tune", profile)
    eta0 = {}
    for bn in configs.NORMS:
        lr, edge = analysis.validated_lr(tune, bn)
        if edge:
            raise ConfigError(f"the validated learning rate {'with' if bn else 'without'} BatchNorm is {lr:g}, the "
                              f"edge of the grid {configs.VALIDATED[profile].tune_lrs}: extend "
                              "configs.VALIDATED[...].tune_lrs (a new experiment id) and tune again")
        eta0[bn] = lr
    return configs.val_sweep_configs_at(profile, eta0)


def plan_beta_run(config: dict) -> RunPlan:
    """:func:`run_beta_run`'s run: the network with SGD on the beta cross-entropy, every epoch (or
    ``eval_every``) scored, and with ``n_val`` the test set once at the end."""
    ds = data.shape(config["dataset"])
    n_val = config.get("n_val")

    def build():
        return build_model(config, ds.in_shape, ds.num_classes)

    return torch_plan(build, ("tc", config["model"], ds.name, config["width"], config.get("batchnorm")), ds.in_shape,
                      ds.num_classes, _train_config(config), config["n_train"] or ds.n_train - (n_val or 0),
                      n_val or ds.n_test, forward_examples=ds.n_test if n_val else 0,
                      loss=softmax.torch_beta_loss(config["beta"]))


register(Experiment("tc-fig4-eta-star", VERSION, configs.eta_star_configs, run_beta_run,
                    "Temperature check Fig. 4: test accuracy over a learning-rate grid centred on eta0 / beta",
                    check_beta_run, plan=plan_beta_run))
register(Experiment("tc-fig6-tune", VERSION, configs.tune_configs, run_beta_run,
                    "Temperature check Sec. 3.4, step 1: the learning rate at beta = 1, ConvNet with and without "
                    "BatchNorm", check_beta_run, plan=plan_beta_run))
register(Experiment("tc-fig6-beta-sweep", VERSION, beta_sweep_configs, run_beta_run,
                    "Temperature check Fig. 6: test accuracy against beta at eta_0 / beta, ConvNet with and without "
                    "BatchNorm, several seeds", check_beta_run, needs=("tc-fig6-tune",), plan=plan_beta_run))
register(Experiment("tc-fig6-val-tune", VERSION, configs.val_tune_configs, run_beta_run,
                    "Temperature check Sec. 3.4, step 1 on a validation split: eta0 at beta = 1, ConvNet with and "
                    "without BatchNorm", check_beta_run, plan=plan_beta_run))
register(Experiment("tc-fig6-val-sweep", VERSION, val_sweep_configs, run_beta_run,
                    "Temperature check Fig. 6 as paired comparisons: beta < 1 without BatchNorm, beta = 10 with it, "
                    "against beta = 1 at the validated eta0, 20 seeds", check_beta_run, needs=("tc-fig6-val-tune",),
                    plan=plan_beta_run))


# --- Fig. 7 (App. C): tau_z against the infinite-width kernel's prediction (JAX) -----------------------

def check_ntk_pred(config: dict) -> None:
    softmax.check_beta(config["beta"])
    for c in config["cs"]:
        softmax.check_correlation(c)
    if config["labels"] not in ("true", "shuffled"):
        raise ConfigError(f"labels must be 'true' or 'shuffled', got {config['labels']!r}")
    check_architecture(config)


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


def _kernel(config: dict, n: int):
    """The architecture's infinite-width NTK on ``n`` examples (neural-tangents' closed-form ``kernel_fn``)."""
    kernel_fn = infinite_width_kernel_fn(config)
    return (lambda x: kernel_fn(x, x, "ntk")), (_examples(config, n)[0],)


def plan_ntk_pred(config: dict) -> RunPlan:
    """:func:`run_ntk_pred`: the infinite-width NTK on the training set, then per c one
    gradient-descent step with the outputs before and after it (a loss and an output pass each)."""
    n, cs = config["n_train"], len(config["cs"])
    one = {**config, "c": config["cs"][0]}
    work = (Work("infinite-width NTK", ("tc-kernel", *_net_key(one), n), functools.partial(_kernel, one, n), 1),
            _step_work(one, n, cs), _forward_work(one, n, 4 * cs))
    return RunPlan("jax", steps=cs, jax_step=functools.partial(_gd_step, one, concrete=True), jax_work=work,
                   precision="float64", note="one step per c from each initialization")


register(Experiment("tc-fig7-ntk", VERSION, configs.ntk_pred_configs, run_ntk_pred,
                    "Temperature check Fig. 7 / App. C: tau_z of wide networks against the infinite-width NTK",
                    check_ntk_pred, plan=plan_ntk_pred))


# --- App. A.3: the conditioning of the linearized dynamics against beta (JAX) ---------------------------

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


def _mlp_kernel(config: dict, n: int):
    """The MLP's infinite-width NTK on ``n`` examples, as :func:`run_conditioning` builds it."""
    from thermo import ntk

    kernel_fn = ntk.mlp([config["width"]] * config["depth"], 10, config["activation"])[2]
    return (lambda x: kernel_fn(x, x, "ntk")), (_examples(config, n)[0],)


def plan_conditioning(config: dict) -> RunPlan:
    """:func:`run_conditioning`: no training; the NTK and one forward pass on the training set
    (XLA), then per beta the eigenvalues of the N (K - 1) square matrix of App. A.3 (closed form:
    about 4/3 (9 N)^3 each, plus the Gram products) and those of the kernel."""
    n, betas = config["n_train"], len(config["betas"])
    one = {**config, "beta": config["betas"][0]}
    flops = 4 / 3 * n**3 + betas * (4 / 3 * (9 * n) ** 3 + 2 * 10 * 81 * n**2)
    work = (Work("infinite-width NTK", ("tc-mlp-kernel", *_net_key(one), n), functools.partial(_mlp_kernel, one, n),
                 1), _forward_work(one, n, 1))
    return RunPlan("analysis", jax_step=functools.partial(_gd_step, one, concrete=True), jax_work=work,
                   extra_flops=lambda model: flops, precision="float64",
                   note="no training: kernels and eigensolvers (closed form)")


register(Experiment("tc-a3-conditioning", VERSION, configs.conditioning_configs, run_conditioning,
                    "Temperature check App. A.3: condition number of the linearized dynamics against beta",
                    check_conditioning, plan=plan_conditioning))

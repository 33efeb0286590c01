"""The runs of the L2 chapter (``notebooks/l2-regularization/01-l2-and-the-learning-rate``): one
compute function per experiment and the :class:`~thermo.experiments.Experiment` objects,
registered on import. Lewkowycz and Gur-Ari (2020), supplement.

- ``l2-tstar`` (supplement Fig. 2a-c; also Figs. 1b / S3, the lambda for a budget): the
  supplement's fully connected network (3 hidden ReLU layers, standard parameterization with
  sigma_w^2 = 2 and zero-initialized biases, softmax cross-entropy) trained with full-batch SGD (no
  momentum, constant learning rate eta, L2 coefficient lambda as weight decay) on 512 MNIST
  examples from ``mnist-5k``; the test set is every other mnist-5k example (3,488 + 1,000). Test
  accuracy is evaluated on log-spaced steps, so t* (:func:`thermo.l2.time_to_peak`) has the same
  relative resolution at every scale. Each run lasts min(cap, 2 / (eta lambda)) steps: twice the
  law's t* for c = 1 (the supplement's pilot on this machine measured c <= 0.5).
- ``l2-narrow`` (Section D, Fig. S7): the same network at width 64 on all of Fashion-MNIST with
  minibatch SGD, same compute function.
- ``l2-autol2`` (Section E, Algorithm 1; Figs. S9, S11): AutoL2 (:class:`thermo.l2.AutoL2`)
  without a learning-rate schedule, on the FC network above (the fixed-lambda runs it is compared
  with are ``l2-tstar``'s at eta = 0.1) and on the book's small ConvNet against fixed lambdas.
  AutoL2 measures the training loss and error averaged over the batches since its last
  measurement (for full-batch training, the training set).
- ``l2-autol2-val``: the same two AutoL2 setups against fixed lambdas on a grid reaching past the
  old one, every run scored along training on a validation split held out from the training split
  (the training sets are those of ``l2-autol2``) and on the test set at the same points; the
  analysis picks the fixed lambda and each run's stopping point on the validation split only.
- ``l2-kernel-decay`` (Theorem 1, Fig. 5) and ``l2-eq1`` (Fig. 5(c), eq. 1), in JAX through
  :mod:`thermo.ntk`: 200 training and 200 test examples of ``mnist-5k`` with even/odd labels (+1 /
  -1), average-pooled to 14 x 14 (the CPU-scale choice; the supplement used the full images),
  standardized with the training set's mean and standard deviation; one output, logistic loss,
  mean over the training set. Networks are bias-free ReLU MLPs in the NTK parameterization, so a
  network with L weight layers is k = L homogeneous in its parameters. ``l2-kernel-decay`` trains
  with small-step gradient descent and L2, measures the empirical NTK on a probe of training
  examples along training and fits the decay rate of its Frobenius norm in units of
  t = eta * step (Theorem 1: 2 (k - 1) lambda). ``l2-eq1`` drives eq. 1 with the empirical NTK
  of a width-5,000 two-layer network, for k = 1 (a constant kernel) and k = 2 (a kernel decaying
  as exp(-2 lambda t)), from the initial outputs of a much wider network trained with gradient
  descent.

Records keep the keys the chapter's :mod:`~thermo.papers.l2.analysis` reads (``eval_steps``,
``test_acc``, ``t_star``, ...); training runs add :meth:`thermo.train.TrainResult.to_record`'s.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

from thermo import data, l2, models, ntk, train
from thermo.errors import ConfigError
from thermo.experiments import Experiment, RunPlan, Work, evaluations, register, torch_plan
from thermo.papers.l2 import configs
from thermo.results import config_hash

VERSION = 1  # l2-tstar, l2-narrow, l2-autol2
VAL_VERSION = 1  # l2-autol2-val
DECAY_VERSION = 1
EQ1_VERSION = 1


# --- the law: t* over (eta, lambda) ---------------------------------------------------------------

def check(config: dict) -> None:
    """``l2-tstar`` / ``l2-narrow``: eta > 0, lambda >= 0, positive integer steps and width."""
    l2.check_eta_lambda(config["eta"], config["lam"])
    if not (isinstance(config["steps"], int) and config["steps"] >= 1):
        raise ConfigError(f"steps must be a positive integer, got {config['steps']!r}")
    if not (isinstance(config["width"], int) and config["width"] >= 1):
        raise ConfigError(f"width must be a positive integer, got {config['width']!r}")


def split(config: dict):
    """mnist-5k: 512 training examples (a fixed subset) and every other mnist-5k example as the test
    set. Other datasets (the narrow-network experiment): the first ``n_train`` of a fixed shuffle of
    the training split (all of it if None) and the test split."""
    if config["dataset"] != "mnist-5k":
        tr = data.load(config["dataset"], "train", n=config["n_train"], seed=0)
        return tr, data.load(config["dataset"], "test", n=config.get("n_test"), seed=0)
    full = data.load(config["dataset"], "train")
    idx = torch.randperm(len(full), generator=torch.Generator().manual_seed(0))
    tr, rest = idx[:config["n_train"]], idx[config["n_train"]:]
    test = data.load(config["dataset"], "test")
    x_te, y_te = torch.cat([full.x[rest], test.x]), torch.cat([full.y[rest], test.y])
    if config.get("n_test"):
        x_te, y_te = x_te[:config["n_test"]], y_te[:config["n_test"]]
    make = data.ArrayDataset
    return (make(full.x[tr].contiguous(), full.y[tr].contiguous(), config["dataset"], "train", 10),
            make(x_te.contiguous(), y_te.contiguous(), config["dataset"], "test", 10))


def build_model(config: dict, in_shape, num_classes: int):
    """The supplement's FC network: 3 hidden ReLU layers of ``width``, sigma_w^2 = ``sigma_w2``, zero biases."""
    torch.manual_seed(config["seed"])
    w = config["width"]
    model = models.MLP(in_shape, num_classes, hidden=(w, w, w), bias=True)
    return models.init_normal_(model, sigma_w=math.sqrt(config["sigma_w2"]), sigma_b=0.0)


def _curves(res: train.TrainResult) -> dict:
    """The step-evaluated curves under the record keys the analysis reads."""
    sh = res.step_history
    return {"eval_steps": sh.get("step:test_acc", []), "test_acc": sh.get("test_acc", []),
            "test_loss": sh.get("test_loss", []), "train_loss": sh.get("train_loss", []),
            "train_acc": sh.get("train_acc", [])}


def compute_tstar(config: dict) -> dict:
    """One run of ``l2-tstar`` or ``l2-narrow``: the test curve on log-spaced steps, t* and
    c = eta * lambda * t* (``peak_at_end``: the peak is at one of the last two evaluations, so t* is
    a lower bound)."""
    check(config)
    tr, te = split(config)
    model = build_model(config, tr.in_shape, tr.num_classes)
    batch = config.get("batch_size") or len(tr)  # full batch unless given
    per_epoch = -(-len(tr) // batch)
    epochs = -(-config["steps"] // per_epoch)
    tcfg = train.TrainConfig.from_config(
        config, epochs=epochs, lr=config["eta"], batch_size=batch, momentum=0.0, weight_decay=config["lam"],
        schedule="constant", eval_every=epochs, eval_batch_size=4096,
        eval_steps=train.log_spaced_steps(epochs * per_epoch, config["per_decade"]))
    run_id = f"l2-{config_hash('l2-tstar', VERSION, config)}"
    res = train.fit(model, tr, te, tcfg, run_id=run_id, checkpoint_every=max(1, 500 // per_epoch),
                    description=f"fc3 w{config['width']} eta {config['eta']} lam {config['lam']}")
    curves = _curves(res)
    if res.status != "ok":
        return res.to_record(**curves)
    peak = l2.time_to_peak(curves["eval_steps"], curves["test_acc"])
    return res.to_record(**curves, t_star=peak.step, peak_acc=peak.accuracy, raw_max_acc=peak.raw_max,
                         c=config["eta"] * config["lam"] * peak.step,
                         peak_at_end=peak.index >= len(curves["eval_steps"]) - 2)


# --- what a run computes (python -m thermo cost; tests/test_paper_configs.py) ---------------------------

def _sizes(config: dict, n_val: int = 0) -> tuple[int, int]:
    """(training examples, test examples) of :func:`split` (or :func:`split_val`, which also holds
    out ``n_val``), without loading: mnist-5k's test set is every digit outside the training (and
    validation) sets."""
    ds = data.shape(config["dataset"])
    if config["dataset"] != "mnist-5k":
        return config["n_train"] or ds.n_train, config.get("n_test") or ds.n_test
    rest = ds.n_train - config["n_train"] - n_val + ds.n_test
    return config["n_train"], min(config.get("n_test") or rest, rest)


def _fc_build(config: dict):
    ds = data.shape(config["dataset"])
    return functools.partial(build_model, config, ds.in_shape, ds.num_classes), ("l2-fc3", ds.name, config["width"])


def _full_batch_config(config: dict, n_train: int, weight_decay: float) -> train.TrainConfig:
    """The TrainConfig of :func:`_autol2_fc` and :func:`_val_fit`'s FC runs: ``steps`` full-batch
    steps, scored at log-spaced steps and at the end."""
    steps = config["steps"]
    return train.TrainConfig.from_config(
        config, epochs=steps, lr=config["eta"], batch_size=n_train, momentum=0.0, weight_decay=weight_decay,
        schedule="constant", eval_every=steps, eval_batch_size=4096,
        eval_steps=train.log_spaced_steps(steps, config["per_decade"]))


def plan_tstar(config: dict) -> RunPlan:
    """:func:`compute_tstar`'s run: the FC network, plain SGD (full batch unless ``batch_size``),
    scored at log-spaced steps and at the end."""
    ds = data.shape(config["dataset"])
    n_train, n_test = _sizes(config)
    batch = config.get("batch_size") or n_train
    per_epoch = -(-n_train // batch)
    epochs = -(-config["steps"] // per_epoch)
    tcfg = train.TrainConfig.from_config(
        config, epochs=epochs, lr=config["eta"], batch_size=batch, momentum=0.0, weight_decay=config["lam"],
        schedule="constant", eval_every=epochs, eval_batch_size=4096,
        eval_steps=train.log_spaced_steps(epochs * per_epoch, config["per_decade"]))
    build, key = _fc_build(config)
    return torch_plan(build, key, ds.in_shape, ds.num_classes, tcfg, n_train, n_test)


TSTAR = register(Experiment("l2-tstar", VERSION, configs.tstar_configs, compute_tstar,
                            "L2 Fig. 2: time to peak test accuracy over (eta, lambda), FC on 512 MNIST", check,
                            plan=plan_tstar))
NARROW = register(Experiment("l2-narrow", VERSION, configs.narrow_configs, compute_tstar,
                             "L2 Fig. S7: where the law fails, a narrow FC network (width 64) on Fashion-MNIST",
                             check, plan=plan_tstar))


# --- AutoL2 (Algorithm 1) against fixed lambda -----------------------------------------------------

def check_autol2(config: dict) -> None:
    l2.check_eta_lambda(config["eta"], config.get("lam", 0.0))
    if config["method"] == "autol2":
        l2.AutoL2(config["l2_start"], config["every"])


def _autol2_fc(config: dict) -> dict:
    tr, te = split(config)
    model = build_model(config, tr.in_shape, tr.num_classes)
    steps = config["steps"]
    auto = l2.AutoL2(config["l2_start"], config["every"])
    tcfg = train.TrainConfig.from_config(
        config, epochs=steps, lr=config["eta"], batch_size=len(tr), momentum=0.0, weight_decay=config["l2_start"],
        schedule="constant", eval_every=steps, eval_batch_size=4096,
        eval_steps=train.log_spaced_steps(steps, config["per_decade"]))
    res = train.fit(model, tr, te, tcfg, callbacks=[auto],
                    run_id=f"l2-autol2-{config_hash('l2-autol2', VERSION, config)}", checkpoint_every=500,
                    description=f"AutoL2 fc3 seed {config['seed']}")
    sh = res.step_history
    return res.to_record(
        eval_steps=sh.get("step:test_acc", []), test_acc=sh.get("test_acc", []), train_loss=sh.get("train_loss", []),
        l2_steps=sh.get("step:l2", [])[::10], l2=sh.get("l2", [])[::10], decays=auto.decays,
        max_test_acc=max(sh["test_acc"]) if sh.get("test_acc") else None)


def _autol2_conv(config: dict) -> dict:
    tr = data.load(config["dataset"], "train", n=config["n_train"], seed=0)
    te = data.load(config["dataset"], "test", n=config["n_test"], seed=0)
    torch.manual_seed(config["seed"])
    model = models.build("convnet", tr.in_shape, tr.num_classes, width=config["width"])
    auto = config["method"] == "autol2"
    callbacks = [l2.AutoL2(config["l2_start"], config["every"])] if auto else []
    tcfg = train.TrainConfig.from_config(config, lr=config["eta"], momentum=0.0, schedule="constant",
                                         weight_decay=config["l2_start"] if auto else config["lam"])
    res = train.fit(model, tr, te, tcfg, callbacks=callbacks,
                    run_id=f"l2-autol2-{config_hash('l2-autol2', VERSION, config)}",
                    description=f"convnet {config['method']} {config.get('lam', '')} seed {config['seed']}")
    h, sh = res.history, res.step_history
    return res.to_record(
        epoch=h.get("epoch", []), test_acc=h.get("test_acc", []), train_loss=h.get("train_loss", []),
        l2_steps=sh.get("step:l2", []), l2=sh.get("l2", []), decays=callbacks[0].decays if auto else [],
        max_test_acc=max(h["test_acc"]) if h.get("test_acc") else None)


def compute_autol2(config: dict) -> dict:
    """One run of ``l2-autol2``: the test curve, AutoL2's lambda over training and its best test accuracy."""
    check_autol2(config)
    return _autol2_fc(config) if config["setup"] == "fc3" else _autol2_conv(config)


def _conv_plan(config: dict, n_train: int, n_eval: int, weight_decay: float, **extra) -> RunPlan:
    """The ConvNet runs of ``l2-autol2`` and ``l2-autol2-val``: plain SGD, scored every epoch."""
    ds = data.shape(config["dataset"])
    tcfg = train.TrainConfig.from_config(config, lr=config["eta"], momentum=0.0, schedule="constant",
                                         weight_decay=weight_decay)

    def build():
        return models.build("convnet", ds.in_shape, ds.num_classes, width=config["width"])

    return torch_plan(build, ("l2-convnet", ds.name, config["width"]), ds.in_shape, ds.num_classes, tcfg, n_train,
                      n_eval, **extra)


def plan_autol2(config: dict) -> RunPlan:
    """:func:`compute_autol2`'s run: the FC network full batch or the ConvNet (AutoL2 only changes
    the weight decay: no extra pass)."""
    start = config["l2_start"] if config["method"] == "autol2" else config["lam"]
    n_train, n_test = _sizes(config)
    if config["setup"] != "fc3":
        return _conv_plan(config, n_train, n_test, start)
    ds = data.shape(config["dataset"])
    build, key = _fc_build(config)
    return torch_plan(build, key, ds.in_shape, ds.num_classes, _full_batch_config(config, n_train, start), n_train,
                      n_test)


AUTOL2 = register(Experiment("l2-autol2", VERSION, configs.autol2_configs, compute_autol2,
                             "L2 Figs. S9-S11: AutoL2 against fixed L2 without an LR schedule", check_autol2,
                             plan=plan_autol2))



# --- AutoL2 against a fixed lambda picked on a validation split (a fair baseline) -----------------

def split_val(config: dict):
    """``(train, validation, test)``: the training set of ``l2-autol2`` and ``n_val`` examples held out
    from the rest of the training split (never trained on). mnist-5k: the 512 digits of :func:`split`,
    the next ``n_val`` of its permutation, and the test set every other mnist-5k example. Other
    datasets: the first ``n_train`` of the seeded subset of ``n_train + n_val`` (the very subset
    ``data.load(n=n_train)`` gives) and the rest, and the test split."""
    n_tr, n_val = config["n_train"], config["n_val"]
    make = data.ArrayDataset
    if config["dataset"] != "mnist-5k":
        full = data.load(config["dataset"], "train", n=n_tr + n_val, seed=0)
        te = data.load(config["dataset"], "test", n=config.get("n_test"), seed=0)
        return (make(full.x[:n_tr], full.y[:n_tr], full.name, "train", full.num_classes),
                make(full.x[n_tr:], full.y[n_tr:], full.name, "validation", full.num_classes), te)
    full = data.load(config["dataset"], "train")
    idx = torch.randperm(len(full), generator=torch.Generator().manual_seed(0))
    tr, val, rest = idx[:n_tr], idx[n_tr:n_tr + n_val], idx[n_tr + n_val:]
    test = data.load(config["dataset"], "test")
    x_te, y_te = torch.cat([full.x[rest], test.x]), torch.cat([full.y[rest], test.y])
    if config.get("n_test"):
        x_te, y_te = x_te[:config["n_test"]], y_te[:config["n_test"]]
    return (make(full.x[tr].contiguous(), full.y[tr].contiguous(), config["dataset"], "train", 10),
            make(full.x[val].contiguous(), full.y[val].contiguous(), config["dataset"], "validation", 10),
            make(x_te.contiguous(), y_te.contiguous(), config["dataset"], "test", 10))


class TestAlongside(train.Callback):
    """Scores the test set wherever the run scores its validation split (the ``test_set`` given to
    :func:`thermo.train.fit`): after each step of ``eval_steps`` (``per_step``) or after each evaluated
    epoch, logged as ``heldout_acc``. The curve only reports; nothing is chosen on it."""

    def __init__(self, test_set, per_step: bool):
        self.test_set, self.per_step = test_set, per_step

    def _log(self, state, log) -> None:
        acc = train.evaluate(state.model, self.test_set, state.loss_fn, state.config.eval_batch_size, state.device)[1]
        log("heldout_acc", acc)

    def after_optimizer_step(self, state, batch, loss: float) -> None:
        if self.per_step and state.step in state.config.eval_steps:
            self._log(state, state.log_step)

    def on_epoch_end(self, state) -> None:
        done, cfg = state.epoch + 1, state.config
        if not self.per_step and (done % cfg.eval_every == 0 or done == cfg.epochs):
            self._log(state, state.log_epoch)


def check_autol2_val(config: dict) -> None:
    check_autol2(config)
    if not (isinstance(config["n_val"], int) and config["n_val"] >= 1):
        raise ConfigError(f"n_val must be a positive integer (examples held out for validation), "
                          f"got {config['n_val']!r}")


def _val_fit(config: dict):
    """The model and TrainConfig of one ``l2-autol2-val`` run (the FC network or the ConvNet)."""
    tr, val, te = split_val(config)
    auto = config["method"] == "autol2"
    wd = config["l2_start"] if auto else config["lam"]
    if config["setup"] == "fc3":
        model = build_model(config, tr.in_shape, tr.num_classes)
        steps = config["steps"]
        tcfg = train.TrainConfig.from_config(
            config, epochs=steps, lr=config["eta"], batch_size=len(tr), momentum=0.0, weight_decay=wd,
            schedule="constant", eval_every=steps, eval_batch_size=4096,
            eval_steps=train.log_spaced_steps(steps, config["per_decade"]))
    else:
        torch.manual_seed(config["seed"])
        model = models.build("convnet", tr.in_shape, tr.num_classes, width=config["width"])
        tcfg = train.TrainConfig.from_config(config, lr=config["eta"], momentum=0.0, schedule="constant",
                                             weight_decay=wd)
    return tr, val, te, model, tcfg


def compute_autol2_val(config: dict) -> dict:
    """One run of ``l2-autol2-val``: trained on the training set, scored along training on the
    validation split (``val_acc``) and on the test set at the same points (``test_acc``); AutoL2's
    lambda over training. FC curves are on log-spaced steps (``eval_steps``), ConvNet ones per epoch."""
    check_autol2_val(config)
    tr, val, te, model, tcfg = _val_fit(config)
    per_step = config["setup"] == "fc3"
    auto = l2.AutoL2(config["l2_start"], config["every"]) if config["method"] == "autol2" else None
    res = train.fit(model, tr, val, tcfg, callbacks=[*([auto] if auto else []), TestAlongside(te, per_step)],
                    run_id=f"l2-autol2-val-{config_hash('l2-autol2-val', VAL_VERSION, config)}",
                    checkpoint_every=500 if per_step else 1,
                    description=f"{config['setup']} {config['method']} {config.get('lam', '')} seed {config['seed']}")
    h = res.step_history if per_step else res.history
    where = "step:test_acc" if per_step else "epoch"
    return res.to_record(
        at=h.get(where, []), val_acc=h.get("test_acc", []), test_acc=h.get("heldout_acc", []),
        train_loss=h.get("train_loss", []), l2_steps=res.step_history.get("step:l2", [])[::10 if per_step else 1],
        l2=res.step_history.get("l2", [])[::10 if per_step else 1], decays=auto.decays if auto else [])


def plan_autol2_val(config: dict) -> RunPlan:
    """:func:`compute_autol2_val`'s run: trained as in ``l2-autol2``, scored on the validation split
    (the loop's evaluations) and on the test set at the same points (:class:`TestAlongside`)."""
    n_val = config["n_val"]
    n_train, n_test = _sizes(config, n_val)
    wd = config["l2_start"] if config["method"] == "autol2" else config["lam"]
    if config["setup"] != "fc3":
        tcfg = train.TrainConfig.from_config(config, lr=config["eta"], momentum=0.0, schedule="constant")
        tests = evaluations(tcfg, -(-n_train // tcfg.batch_size))
        return _conv_plan(config, n_train, n_val, wd, forward_examples=tests * n_test)
    ds = data.shape(config["dataset"])
    build, key = _fc_build(config)
    tcfg = _full_batch_config(config, n_train, wd)
    return torch_plan(build, key, ds.in_shape, ds.num_classes, tcfg, n_train, n_val,
                      forward_examples=len(tcfg.eval_steps) * n_test)


AUTOL2_VAL = register(Experiment("l2-autol2-val", VAL_VERSION, configs.autol2_val_configs, compute_autol2_val,
                                 "L2 Figs. S9-S11, fair: AutoL2 against the fixed lambda picked on a validation "
                                 "split (extended grid)", check_autol2_val, plan=plan_autol2_val))

# --- the kernel side: Theorem 1 and eq. 1 (JAX) ----------------------------------------------------

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
    """The logistic loss log(1 + exp(-y f)) of one output per example (labels +-1)."""
    import jax

    return jax.nn.softplus(-y * f)


def _network(widths, seed, in_dim):
    import jax

    init, apply_fn, _ = ntk.mlp(widths, 1, bias=False, parameterization="ntk")
    _, params = init(jax.random.PRNGKey(seed), (-1, in_dim))
    return apply_fn, params


def check_decay(config: dict) -> None:
    l2.check_homogeneity(config["k"], config["lam"])
    l2.check_eta_lambda(config["eta"], config["lam"])
    if config.get("bias", False):
        ntk.homogeneity_degree([1], bias=True)  # raises: a network with biases is not homogeneous
    if config["probe"] > config["n_train"]:
        raise ConfigError(f"the kernel probe ({config['probe']}) cannot exceed the training set ({config['n_train']})")


def kernel_decay(config: dict) -> dict:
    """One run of ``l2-kernel-decay``: ||Theta_t|| and cos(Theta_t, Theta_0) along training, and the
    decay rate fitted after the first quarter of training against Theorem 1's 2 (k - 1) lambda."""
    check_decay(config)
    xtr, ytr, _, _ = even_odd(config["n_train"], 0, config["pool"])
    apply_fn, params = _network([config["width"]] * (config["k"] - 1), config["seed"], xtr.shape[1])
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
        return {"status": "diverged", "reason": train.diverged_reason(res.diverged_at)}
    t = config["eta"] * np.asarray(res.steps, dtype=float)
    t_min = 0.25 * t.max()  # after the first quarter: the fitting transient moves the kernel too
    rate, rate_se = l2.decay_rate(t, norms, t_min=t_min)
    acc = [float(np.mean(np.sign(o[:, 0]) == ytr[:, 0])) for o in res.outputs["train"]]
    return {"t": t, "kernel_norm": norms, "kernel_cosine": cosines, "train_loss": res.train_loss,
            "train_acc": acc, "rate": rate, "rate_se": rate_se, "t_min": t_min,
            "predicted_rate": 2.0 * (config["k"] - 1) * config["lam"]}


def _examples(n: int, in_dim: int, concrete: bool = False):
    """``n`` inputs and +-1 labels as :func:`even_odd` gives them: standard normal numbers
    (``concrete``) or their shapes (for XLA's cost analysis)."""
    import jax
    import jax.numpy as jnp

    if not concrete:
        return jax.ShapeDtypeStruct((n, in_dim), jnp.float32), jax.ShapeDtypeStruct((n, 1), jnp.float32)
    rng = np.random.default_rng(0)
    return (jnp.asarray(rng.standard_normal((n, in_dim)), dtype=jnp.float32),
            jnp.asarray(rng.choice([-1.0, 1.0], (n, 1)), dtype=jnp.float32))


def _in_dim(config: dict) -> int:
    return (28 // config["pool"]) ** 2


def _kernel_step(widths, config: dict, n: int, concrete: bool = False, seed: int = 0):
    """One step of :func:`thermo.ntk.gd` on the logistic loss with L2 for the bias-free network of
    ``widths``: ``(step, (params, x, y))``."""
    apply_fn, params = _network(widths, seed, _in_dim(config))
    return ntk.gd_step(apply_fn, logistic, config["eta"], config["lam"]), (params, *_examples(n, _in_dim(config),
                                                                                              concrete))


def _kernel_forward(widths, config: dict, n: int):
    apply_fn, params = _network(widths, 0, _in_dim(config))
    return apply_fn, (params, _examples(n, _in_dim(config))[0])


def _empirical_ntk(widths, config: dict, n1: int, n2: int):
    """:func:`thermo.ntk.empirical_ntk` between ``n1`` and ``n2`` examples (Jacobian contraction)."""
    apply_fn, params = _network(widths, 0, _in_dim(config))
    x1, x2 = _examples(n1, _in_dim(config))[0], _examples(n2, _in_dim(config))[0]
    return (lambda p, a, b: ntk.empirical_ntk(apply_fn, p, a, b)), (params, x1, x2)


def _kernel_work(widths, config: dict, n: int, steps: int, forwards: float) -> list:
    """A gradient-descent run of the network of ``widths``: ``steps`` steps and ``forwards`` forward
    passes on the ``n`` training examples."""
    key = ("l2-kernel-net", tuple(widths), _in_dim(config), n)
    return [Work("gd step", (*key, "step"), functools.partial(_kernel_step, widths, config, n), steps),
            Work("forward", (*key, "forward"), functools.partial(_kernel_forward, widths, config, n), forwards)]


def _kernel_records(steps: int, linear_points: int) -> int:
    """How many steps :func:`kernel_decay` and :func:`eq1_dynamics` record (log-spaced and linear)."""
    return len({0, *train.log_spaced_steps(steps, 20), *np.linspace(0, steps, linear_points).astype(int).tolist()})


def plan_decay(config: dict) -> RunPlan:
    """:func:`kernel_decay`'s run: ``steps`` full-batch steps; at every recorded step the loss and
    the outputs on the training set and the empirical NTK on the probe."""
    widths = [config["width"]] * (config["k"] - 1)
    records, n, probe = _kernel_records(config["steps"], 21), config["n_train"], config["probe"]
    work = _kernel_work(widths, config, n, config["steps"], 2 * records)
    work.append(Work("empirical NTK", ("l2-ntk", tuple(widths), _in_dim(config), probe, probe),
                     functools.partial(_empirical_ntk, widths, config, probe, probe), records))
    return RunPlan("jax", steps=config["steps"], jax_step=functools.partial(_kernel_step, widths, config,
                                                                            concrete=True), jax_work=tuple(work))


DECAY = register(Experiment("l2-kernel-decay", DECAY_VERSION, configs.decay_configs, kernel_decay,
                            "L2 Theorem 1: the NTK of a k-homogeneous network decays as exp(-2(k-1) lambda t)",
                            check_decay, plan=plan_decay))


def check_eq1(config: dict) -> None:
    l2.check_eta_lambda(config["eta"], config["lam"])
    if config.get("bias", False):
        ntk.homogeneity_degree([1], bias=True)


def _summaries(name: str, f, g, ytr, yte) -> dict:
    """Training loss, test and training accuracy and output norm over time of outputs ``f`` (train) and ``g`` (test)."""
    return {f"{name}_train_loss": np.mean(np.logaddexp(0.0, -ytr[:, 0] * f), axis=1),
            f"{name}_test_acc": np.mean(np.sign(g) == yte[:, 0], axis=1),
            f"{name}_train_acc": np.mean(np.sign(f) == ytr[:, 0], axis=1),
            f"{name}_f_norm": np.sqrt(np.mean(f**2, axis=1))}


def eq1_dynamics(config: dict) -> dict:
    """The run of ``l2-eq1``: the wide network's curves against eq. 1's with k = 1 and k = 2."""
    check_eq1(config)
    xtr, ytr, xte, yte = even_odd(config["n_train"], config["n_test"], config["pool"])
    n = len(xtr)
    k_apply, k_params = _network([config["kernel_width"]], config["seed"] + 1, xtr.shape[1])
    theta = np.asarray(ntk.empirical_ntk(k_apply, k_params, np.concatenate([xtr, xte]), batch_size=100),
                       dtype=np.float64)
    w_apply, w_params = _network([config["wide_width"]], config["seed"], xtr.shape[1])
    steps = config["steps"]
    record = sorted({0, *train.log_spaced_steps(steps, 20), *np.linspace(0, steps, 41).astype(int).tolist()})
    res = ntk.gd(w_apply, w_params, xtr, ytr, logistic, eta=config["eta"], steps=steps, l2=config["lam"],
                 record=record, eval_sets={"test": xte})
    if res.diverged_at is not None:
        return {"status": "diverged", "reason": train.diverged_reason(res.diverged_at)}
    t = config["eta"] * np.asarray(res.steps, dtype=float)
    f_net = np.array([o[:, 0] for o in res.outputs["train"]])
    g_net = np.array([o[:, 0] for o in res.outputs["test"]])
    out = {"t": t, "theta_train_diag_mean": float(np.mean(np.diag(theta)[:n]))}
    out.update(_summaries("network", f_net, g_net, ytr, yte))
    for k in (1, 2):
        sol = l2.eq1_evolve(theta[:n, :n], f_net[0], ytr[:, 0], k, config["lam"], t,
                            theta_test_train=theta[n:, :n], f0_test=g_net[0], loss="logistic")
        out.update(_summaries(f"eq1_k{k}", sol["train"], sol["test"], ytr, yte))
    return out


def plan_eq1(config: dict) -> RunPlan:
    """:func:`eq1_dynamics`: the empirical NTK of the kernel network on the training and test
    examples (in blocks of 100, as ``batch_size=100`` computes it), then ``steps`` full-batch steps of
    the wide network with the outputs on both sets at every recorded step. Eq. 1's integration (an
    ODE on a 400 x 200 kernel, well under a GFLOP) is not counted."""
    n, m = config["n_train"], config["n_test"]
    blocks = math.ceil((n + m) / 100) ** 2
    kernel = [config["kernel_width"]]
    work = _kernel_work([config["wide_width"]], config, n, config["steps"], 2 * _kernel_records(config["steps"], 41))
    work += [Work("forward, test", ("l2-kernel-net", (config["wide_width"],), _in_dim(config), m, "forward"),
                  functools.partial(_kernel_forward, [config["wide_width"]], config, m),
                  _kernel_records(config["steps"], 41)),
             Work("empirical NTK (100 x 100 block)", ("l2-ntk", tuple(kernel), _in_dim(config), 100, 100),
                  functools.partial(_empirical_ntk, kernel, config, 100, 100), blocks)]
    step = functools.partial(_kernel_step, [config["wide_width"]], config, concrete=True)
    return RunPlan("jax", steps=config["steps"], jax_step=step, jax_work=tuple(work),
                   note="eq. 1's ODE integration not counted (tiny)")


EQ1 = register(Experiment("l2-eq1", EQ1_VERSION, configs.eq1_configs, eq1_dynamics,
                          "L2 Fig. 5(c): eq. 1 with an empirical NTK (k = 1, 2) against a wide network", check_eq1,
                          plan=plan_eq1))

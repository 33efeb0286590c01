"""``l2-tstar``: the main law of Lewkowycz and Gur-Ari (supplement Fig. 2a-c, our Fig. ``l2-fig2-tstar``).

The supplement's fully connected network (3 hidden ReLU layers, standard parameterization with
sigma_w^2 = 2 and zero-initialized biases, softmax cross-entropy) trained with full-batch SGD (no
momentum, constant learning rate eta, L2 coefficient lambda as weight decay) on 512 MNIST
examples from ``mnist-5k``; the test set is every other mnist-5k example (3,488 + 1,000). Test
accuracy is evaluated on log-spaced steps, so t* (``thermo.l2.time_to_peak``) has the same
relative resolution at every scale. Each run lasts ``steps`` = min(cap, 2 / (eta lambda))
steps: twice the law's t* for c = 1 (the supplement's pilot on this machine measured c <= 0.5).

Also used for the optimal lambda against a budget (Figs. 1b, S3, ``l2-fig1b-lambda-pred``): at
eta = 0.1 the lambda grid is denser, and the best accuracy reached within a budget T comes from
the same evaluations.
"""

from __future__ import annotations

import math

import torch

from thermo import claims, data, l2, models, stats, train
from thermo.errors import ConfigError
from thermo.experiments import Experiment, register
from thermo.results import config_hash

VERSION = 1
SIGMA_W = math.sqrt(2.0)
GRIDS = {
    # eta x (eta*lambda) products (t* ~ c / (eta lambda) spans a decade), extra lambdas at eta = 0.1
    # for the budget analysis, and the lambda = 0 control.
    "smoke": {"widths": [16], "seeds": [0], "etas": [0.1], "products": [3e-3, 1e-2, 3e-2], "extra_lams": [],
              "cap": 300, "n_train": 128, "n_test": 512, "zero_lam_seeds": [0]},
    "quick": {"widths": [128, 256], "seeds": [0, 1], "etas": [0.05, 0.1, 0.2], "products": [1e-4, 3e-4, 1e-3],
              "extra_lams": [2e-4, 5e-4], "cap": 20000, "n_train": 512, "n_test": None, "zero_lam_seeds": [0]},
    "paper": {"widths": [2048], "seeds": [0], "etas": [0.01, 0.025, 0.05, 0.1, 0.3],
              "products": [1e-5, 3e-5, 1e-4, 3e-4, 1e-3], "extra_lams": [1e-4, 2e-4, 5e-4], "cap": 400000,
              "n_train": 512, "n_test": None, "zero_lam_seeds": [0]},
}
BUDGET_ETA = 0.1


def _point(g, width, seed, eta, lam):
    steps = g["cap"] if lam == 0 else min(g["cap"], int(math.ceil(2.0 / (eta * lam))))
    return {"dataset": "mnist-5k", "n_train": g["n_train"], "n_test": g["n_test"], "model": "fc3",
            "width": width, "sigma_w2": 2.0, "eta": eta, "lam": lam, "steps": steps, "seed": seed,
            "per_decade": 25}


def configs(profile: str) -> list[dict]:
    g = GRIDS[profile]
    out = []
    for width in g["widths"]:
        for seed in g["seeds"]:
            lams = {(eta, round(p / eta, 12)) for eta in g["etas"] for p in g["products"]}
            lams |= {(BUDGET_ETA, lam) for lam in g["extra_lams"]}
            if seed in g["zero_lam_seeds"]:
                lams.add((BUDGET_ETA, 0.0))
            out += [_point(g, width, seed, eta, lam) for eta, lam in sorted(lams)]
    return out


def check(config: dict) -> None:
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
    torch.manual_seed(config["seed"])
    w = config["width"]
    model = models.MLP(in_shape, num_classes, hidden=(w, w, w), bias=True)
    return models.init_normal_(model, sigma_w=math.sqrt(config["sigma_w2"]), sigma_b=0.0)


def compute(config: dict) -> dict:
    check(config)
    tr, te = split(config)
    model = build_model(config, tr.in_shape, tr.num_classes)
    steps = config["steps"]
    batch = config.get("batch_size") or len(tr)  # full batch unless given
    per_epoch = -(-len(tr) // batch)
    epochs = -(-steps // per_epoch)
    tcfg = train.TrainConfig(
        epochs=epochs, lr=config["eta"], batch_size=batch, momentum=0.0, weight_decay=config["lam"],
        schedule="constant", seed=config["seed"], eval_every=epochs, eval_batch_size=4096,
        eval_steps=train.log_spaced_steps(epochs * per_epoch, config["per_decade"]),
    )
    run_id = f"l2-{config_hash('l2-tstar', VERSION, config)}"
    res = train.fit(model, tr, te, tcfg, run_id=run_id, checkpoint_every=max(1, 500 // per_epoch),
                    description=f"fc3 w{config['width']} eta {config['eta']} lam {config['lam']}")
    sh = res.step_history
    out = {"status": res.status, "steps_done": res.steps_done, "diverged_at_step": res.diverged_at_step,
           "eval_steps": sh.get("step:test_acc", []), "test_acc": sh.get("test_acc", []),
           "test_loss": sh.get("test_loss", []), "train_loss": sh.get("train_loss", []),
           "train_acc": sh.get("train_acc", []), "wall_seconds": res.wall_seconds}
    if res.status != "ok":
        out["reason"] = f"non-finite loss at step {res.diverged_at_step}"
        return out
    peak = l2.time_to_peak(out["eval_steps"], out["test_acc"])
    out.update(t_star=peak.step, peak_acc=peak.accuracy, raw_max_acc=peak.raw_max,
               c=config["eta"] * config["lam"] * peak.step,
               peak_at_end=peak.index >= len(out["eval_steps"]) - 2)
    return out


register(Experiment("l2-tstar", VERSION, configs, compute,
                    "L2 Fig. 2: time to peak test accuracy over (eta, lambda), FC on 512 MNIST", check))

NARROW = {
    "smoke": {"width": 8, "seeds": [0], "lams": [1e-3, 1e-2], "cap": 200, "n_train": 1024, "n_test": 512},
    "quick": {"width": 64, "seeds": [0, 1], "lams": [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3], "cap": 30000,
              "n_train": None, "n_test": None},
    "paper": {"width": 64, "seeds": [0, 1, 2], "lams": [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2], "cap": 400000,
              "n_train": None, "n_test": None},
}


def narrow_configs(profile: str) -> list[dict]:
    """Supplement D / Fig. S7: a narrow network (width 64) on a large training set (all 60,000
    Fashion-MNIST images; the supplement used CIFAR-10), minibatch SGD (batch 512), eta = 0.1."""
    g = NARROW[profile]
    eta = 0.1
    return [{"dataset": "fashion-mnist", "n_train": g["n_train"], "n_test": g["n_test"], "model": "fc3",
             "width": g["width"], "sigma_w2": 2.0, "eta": eta, "lam": lam, "batch_size": 512,
             "steps": min(g["cap"], int(math.ceil(2.0 / (eta * lam)))), "seed": seed, "per_decade": 25}
            for lam in g["lams"] for seed in g["seeds"]]


register(Experiment("l2-narrow", VERSION, narrow_configs, compute,
                    "L2 Fig. S7: where the law fails, a narrow FC network (width 64) on Fashion-MNIST", check))


# --- the claim this experiment tests -------------------------------------------------------------

def tstar_table(profile: str):
    """One row per run that peaked before its end (lambda > 0): width, seed, eta, lambda, t*."""
    rows = []
    for r in claims.cached_records("l2-tstar", profile):
        c, d = r["config"], r["data"]
        if r["status"] == "ok" and c["lam"] > 0:
            rows.append({"width": c["width"], "seed": c["seed"], "eta": c["eta"], "lam": c["lam"],
                         "eta_lam": c["eta"] * c["lam"], "t_star": d["t_star"], "peak_acc": d["peak_acc"],
                         "c": d["c"], "peak_at_end": d["peak_at_end"], "steps": c["steps"]})
    return rows


def measure_tstar(profile: str) -> claims.Measurement:
    """Claim ``l2-tstar``: the log-log slope of t* (mean over seeds) against eta*lambda, for the
    widest network; runs whose peak is at the end of the run (not passed) are left out."""
    rows = [r for r in tstar_table(profile) if not r["peak_at_end"]]
    if not rows:
        raise claims.MissingResults("no l2-tstar run passed its peak")
    widest = max(r["width"] for r in rows)
    pts: dict = {}
    for r in rows:
        if r["width"] == widest:
            pts.setdefault((r["eta"], r["lam"]), []).append(r["t_star"])
    if len(pts) < 3:
        raise claims.MissingResults(f"{len(pts)} (eta, lambda) point(s) passed their peak; a slope needs 3")
    x = [e * lam for e, lam in pts]
    y = [math.exp(sum(math.log(t) for t in ts) / len(ts)) for ts in pts.values()]
    fit = stats.loglog_fit(x, y)
    return claims.Measurement(fit.slope, fit.slope_se, n=len(x),
                              detail=f"width {widest}, {len(x)} (eta, lambda) points, geometric mean of t* over "
                                     f"seeds, least squares in log-log (± standard error); R^2 = {fit.r2:.3f}")


claims.register(claims.Claim(
    "l2-tstar", "l2", "Fig. 2 (supplement)", "The step of peak test accuracy scales as t* ~ c / (eta lambda)",
    "slope -1 on log-log axes", claims.slope_rule(-1.0, 0.15), measure=measure_tstar,
    chapter="notebooks/l2-regularization/01-l2-and-the-learning-rate", section="l2-fig2",
))

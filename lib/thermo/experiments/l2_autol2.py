"""``l2-autol2``: AutoL2 (supplement Section E, Algorithm 1) against fixed L2 coefficients, without a
learning-rate schedule (supplement Figs. S9, S11; our figure ``l2-figs9-autol2``).

Two setups, both plain SGD with a constant learning rate:
- ``fc3``: the network and data of ``l2-tstar`` (width 256, 512 MNIST examples, full batch,
  eta = 0.1). AutoL2 starts at lambda = 0.1 and measures every 5 steps (the supplement's values);
  the fixed-lambda runs it is compared with are the ``l2-tstar`` runs at eta = 0.1 (same network,
  seeds and data), so only the AutoL2 runs are computed here.
- ``convnet``: the book's small ConvNet on 10,000 Fashion-MNIST images, batch 128, eta = 0.05,
  20 epochs, AutoL2 measuring every 10 steps, against fixed lambda in {1e-4, 1e-3, 1e-2}.

What AutoL2 measures: the training loss and error averaged over the batches since its last
measurement (for full-batch training, the training set) - see ``thermo.l2.AutoL2``.
"""

from __future__ import annotations

import numpy as np
import torch

from thermo import claims, data, l2, models, stats, train
from thermo.experiments import Experiment, l2_tstar, register
from thermo.results import config_hash

VERSION = 1
GRID = {
    "smoke": {"fc_width": 16, "fc_steps": 300, "fc_n_train": 128, "fc_n_test": 512, "seeds": [0],
              "conv_n_train": 512, "conv_n_test": 256, "conv_epochs": 2, "conv_width": 0.25, "conv_lams": [1e-3]},
    "quick": {"fc_width": 256, "fc_steps": 20000, "fc_n_train": 512, "fc_n_test": None, "seeds": [0, 1],
              "conv_n_train": 10000, "conv_n_test": None, "conv_epochs": 20, "conv_width": 1.0,
              "conv_lams": [1e-4, 1e-3, 1e-2]},
    "paper": {"fc_width": 2048, "fc_steps": 100000, "fc_n_train": 512, "fc_n_test": None, "seeds": [0, 1, 2],
              "conv_n_train": None, "conv_n_test": None, "conv_epochs": 100, "conv_width": 1.0,
              "conv_lams": [1e-5, 1e-4, 1e-3, 1e-2]},
}


def configs(profile: str) -> list[dict]:
    g = GRID[profile]
    out = []
    for seed in g["seeds"]:
        out.append({"setup": "fc3", "dataset": "mnist-5k", "n_train": g["fc_n_train"], "n_test": g["fc_n_test"],
                    "model": "fc3", "width": g["fc_width"], "sigma_w2": 2.0, "eta": 0.1, "steps": g["fc_steps"],
                    "method": "autol2", "l2_start": 0.1, "every": 5, "seed": seed, "per_decade": 25})
        conv = {"setup": "convnet", "dataset": "fashion-mnist", "n_train": g["conv_n_train"],
                "n_test": g["conv_n_test"], "model": "convnet", "width": g["conv_width"], "eta": 0.05,
                "batch_size": 128, "epochs": g["conv_epochs"], "seed": seed}
        out.append({**conv, "method": "autol2", "l2_start": 0.1, "every": 10})
        out += [{**conv, "method": "fixed", "lam": lam} for lam in g["conv_lams"]]
    return out


def check(config: dict) -> None:
    l2.check_eta_lambda(config["eta"], config.get("lam", 0.0))
    if config["method"] == "autol2":
        l2.AutoL2(config["l2_start"], config["every"])


def _fc(config: dict) -> dict:
    tr, te = l2_tstar.split(config)
    model = l2_tstar.build_model(config, tr.in_shape, tr.num_classes)
    steps = config["steps"]
    auto = l2.AutoL2(config["l2_start"], config["every"])
    tcfg = train.TrainConfig(epochs=steps, lr=config["eta"], batch_size=len(tr), momentum=0.0,
                             weight_decay=config["l2_start"], schedule="constant", seed=config["seed"],
                             eval_every=steps, eval_batch_size=4096,
                             eval_steps=train.log_spaced_steps(steps, config["per_decade"]))
    run_id = f"l2-autol2-{config_hash('l2-autol2', VERSION, config)}"
    res = train.fit(model, tr, te, tcfg, callbacks=[auto], run_id=run_id, checkpoint_every=500,
                    description=f"AutoL2 fc3 seed {config['seed']}")
    sh = res.step_history
    return {"status": res.status, "eval_steps": sh.get("step:test_acc", []), "test_acc": sh.get("test_acc", []),
            "train_loss": sh.get("train_loss", []), "l2_steps": sh.get("step:l2", [])[::10],
            "l2": sh.get("l2", [])[::10], "decays": auto.decays,
            "max_test_acc": max(sh["test_acc"]) if sh.get("test_acc") else None}


def _conv(config: dict) -> dict:
    tr = data.load(config["dataset"], "train", n=config["n_train"], seed=0)
    te = data.load(config["dataset"], "test", n=config["n_test"], seed=0)
    torch.manual_seed(config["seed"])
    model = models.build("convnet", tr.in_shape, tr.num_classes, width=config["width"])
    auto = config["method"] == "autol2"
    callbacks = [l2.AutoL2(config["l2_start"], config["every"])] if auto else []
    tcfg = train.TrainConfig(epochs=config["epochs"], lr=config["eta"], batch_size=config["batch_size"],
                             momentum=0.0, weight_decay=config["l2_start"] if auto else config["lam"],
                             schedule="constant", seed=config["seed"])
    res = train.fit(model, tr, te, tcfg, callbacks=callbacks,
                    run_id=f"l2-autol2-{config_hash('l2-autol2', VERSION, config)}",
                    description=f"convnet {config['method']} {config.get('lam', '')} seed {config['seed']}")
    h, sh = res.history, res.step_history
    return {"status": res.status, "epoch": h.get("epoch", []), "test_acc": h.get("test_acc", []),
            "train_loss": h.get("train_loss", []), "l2_steps": sh.get("step:l2", []), "l2": sh.get("l2", []),
            "decays": callbacks[0].decays if auto else [],
            "max_test_acc": max(h["test_acc"]) if h.get("test_acc") else None}


def compute(config: dict) -> dict:
    check(config)
    out = _fc(config) if config["setup"] == "fc3" else _conv(config)
    if out["status"] != "ok":
        out["reason"] = "non-finite loss"
    return out


register(Experiment("l2-autol2", VERSION, configs, compute,
                    "L2 Figs. S9-S11: AutoL2 against fixed L2 without an LR schedule", check))


def comparison(profile: str) -> list[dict]:
    """Per setup and seed: AutoL2's best test accuracy, the best fixed lambda's and which lambda
    that was (FC: the l2-tstar runs at eta = 0.1 and lambda > 0)."""
    rows = []
    recs = claims.cached_records("l2-autol2", profile)
    fc_fixed = [r for r in claims.cached_records("l2-tstar", profile)
                if r["config"]["eta"] == 0.1 and r["config"]["lam"] > 0 and r["status"] == "ok"]
    for r in recs:
        c = r["config"]
        if c["method"] != "autol2" or r["status"] != "ok":
            continue
        if c["setup"] == "fc3":
            fixed = [(f["config"]["lam"], max(f["data"]["test_acc"])) for f in fc_fixed
                     if f["config"]["seed"] == c["seed"] and f["config"]["width"] == c["width"]]
        else:
            fixed = [(f["config"]["lam"], f["data"]["max_test_acc"]) for f in recs
                     if f["config"]["setup"] == "convnet" and f["config"]["method"] == "fixed"
                     and f["config"]["seed"] == c["seed"] and f["status"] == "ok"]
        if not fixed:
            continue
        lam, best = max(fixed, key=lambda p: p[1])
        rows.append({"setup": c["setup"], "seed": c["seed"], "autol2": r["data"]["max_test_acc"],
                     "best_fixed": best, "best_lam": lam, "difference": r["data"]["max_test_acc"] - best})
    return rows


def measure_autol2(profile: str) -> claims.Measurement:
    """Claim ``l2-autol2``: best test accuracy of AutoL2 minus that of the best fixed lambda, paired
    over setups and seeds (± half-width of the 95 % t interval)."""
    rows = comparison(profile)
    if len(rows) < 2:
        raise claims.MissingResults(f"{len(rows)} AutoL2 / fixed-lambda pair(s) cached; the interval needs 2")
    diff = stats.paired_difference([r["autol2"] for r in rows], [r["best_fixed"] for r in rows])
    per_pair = np.round([100 * r["difference"] for r in rows], 2).tolist()
    setups = ", ".join(sorted({r["setup"] for r in rows}))
    return claims.Measurement(diff.mean, diff.half_width, n=diff.n, unit="pt",
                              detail=f"{diff.n} pairs ({setups} x seeds); best test accuracy within the same steps, "
                                     f"AutoL2 minus the best fixed lambda (± 95 % CI half-width); per pair (pt): "
                                     f"{per_pair}")


claims.register(claims.Claim(
    "l2-autol2", "l2", "Figs. S9-S11 (supplement)",
    "Without an LR schedule, AutoL2 reaches a higher test accuracy than the best fixed lambda in the same steps",
    "higher accuracy, faster", claims.positive_difference(), measure=measure_autol2,
    chapter="notebooks/l2-regularization/01-l2-and-the-learning-rate", section="l2-autol2",
))

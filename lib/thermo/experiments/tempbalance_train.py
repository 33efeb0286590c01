"""Training with TempBalance against its baselines (TempBalance Section 4, Figs. 3, 5-7, 10-11).

One compute function, :func:`tb_run`, trains one network with one method:
``cal`` (SGD, cosine annealing), ``snr`` (CAL + spectral-norm regularization), ``tb``
(TempBalance on top of CAL) or ``tb+snr``. Every run records its test accuracy over training,
the scales TempBalance chose, the final PL_Alpha_Hill of every layer with at least 50 eigenvalues
(Figs. 10-11) and the time spent in balancing (overhead).

Quick profile (CPU): Fashion-MNIST, 10,000 training images (a fixed subset) and the full test
set, 12 epochs, batch 128, SGD with momentum 0.9 and weight decay 5e-4, cosine annealing stepped
per epoch; a ResNet-20 at width 0.5 and a VGG-11 at width 0.25 (both with BatchNorm), no
augmentation. Seeds are the paper's first three (43, 37, 13). The learning rates and lambda_sr
grids are the paper's; the grids are searched on seed 43 only (the paper used five seeds).
Paper profile: Table 1's settings for CIFAR-100 ResNet18 and VGG16 (200 epochs, random crop and
flip, the five seeds, eta_0 and lambda_sr of Table 1).
"""

from __future__ import annotations

import time

import numpy as np
import torch

from thermo import claims, data, htsr, models, stats, train
from thermo.errors import ConfigError
from thermo.experiments import Experiment, register
from thermo.results import config_hash
from thermo.tempbalance import METRICS, SpectralNormRegularizer, TempBalance, check_scales

VERSION = 1
METHODS = ("cal", "snr", "tb", "tb+snr")
SEEDS = {"smoke": [43], "quick": [43, 37, 13], "paper": [43, 37, 13, 51, 71]}
ARCHS = {  # model, width, the paper's eta_0 for TB and the CAL grid, SNR's lambda grid and best, TB+SNR's
    "smoke": {"resnet": ("resnet20", 0.5, 0.1, [0.1], [0.01], 0.01, 0.001)},
    "quick": {"resnet": ("resnet20", 0.5, 0.1, [0.05, 0.1, 0.15], [0.001, 0.005, 0.01], 0.01, 0.001),
              "vgg": ("vgg11", 0.25, 0.05, [0.025, 0.05, 0.1], [0.001, 0.005, 0.01], 0.005, 0.005)},
    "paper": {"resnet": ("resnet18", 1.0, 0.1, [0.05, 0.1, 0.15], [0.001, 0.005, 0.01, 0.015], 0.01, 0.001),
              "vgg": ("vgg16", 1.0, 0.05, [0.025, 0.05, 0.1], [0.001, 0.005, 0.01, 0.015], 0.005, 0.005)},
}
DATA = {
    "smoke": {"dataset": "fashion-mnist", "n_train": 256, "n_test": 256, "epochs": 2, "augment": "none"},
    "quick": {"dataset": "fashion-mnist", "n_train": 10000, "n_test": None, "epochs": 12, "augment": "none"},
    "paper": {"dataset": "cifar100", "n_train": None, "n_test": None, "epochs": 200, "augment": "crop-flip"},
}


def point(profile: str, arch: str, method: str, seed: int, lr: float | None = None, lambda_sr: float | None = None,
          width_factor: float = 1.0, metric: str = "alpha_hill", every="epoch") -> dict:
    model, width, eta0, _, _, snr_best, tbsnr_lam = ARCHS[profile][arch]
    d = DATA[profile]
    s1, s2 = (0.6, 1.4) if method == "tb+snr" else (0.5, 1.5)
    if "snr" in method and lambda_sr is None:
        lambda_sr = snr_best if method == "snr" else tbsnr_lam
    return {"dataset": d["dataset"], "n_train": d["n_train"], "n_test": d["n_test"], "model": model,
            "width": round(width * width_factor, 4), "method": method, "lr": lr if lr is not None else eta0,
            "lambda_sr": lambda_sr if "snr" in method else None,
            "s1": s1 if "tb" in method else None, "s2": s2 if "tb" in method else None,
            "metric": metric if "tb" in method else None, "every": every if "tb" in method else None,
            "epochs": d["epochs"], "batch_size": 128, "momentum": 0.9, "weight_decay": 5e-4,
            "augment": d["augment"], "lr_per_step": False, "eval_every": 3 if profile == "quick" else 1,
            "seed": seed}


# Fair, powered TB vs CAL (DESIGN.md section 8): CAL's initial LR is tuned on a validation split held
# out from the training split (never on test accuracy), on a grid whose best point is not on its edge;
# then TB (at the paper's eta_0) and CAL (at its validated best) run with COMPARE_SEEDS, enough pairs to
# detect the paper's median gain (~0.4 pt) with 80 % power from the measured paired spread (~0.6 pt).
N_VAL = {"smoke": 128, "quick": 5000, "paper": 5000}
TUNE_SEEDS = {"smoke": [43], "quick": [43, 37], "paper": [43, 37]}
TUNE_GRID = {"smoke": {"resnet": [0.05, 0.1]},
             "quick": {"resnet": [0.05, 0.1, 0.15, 0.2], "vgg": [0.025, 0.05, 0.1, 0.2]},
             "paper": {"resnet": [0.05, 0.1, 0.15, 0.2], "vgg": [0.025, 0.05, 0.1, 0.2]}}
COMPARE_SEEDS = {"smoke": [43], "quick": [43, 37, 13, 51, 71, 7, 11, 19, 23, 29], "paper": [43, 37, 13, 51, 71]}


def tune_configs(profile: str) -> list[dict]:
    """CAL at every LR of its grid, trained on the training subset and scored on the validation
    split (``n_val`` examples of the training split that the subset leaves out)."""
    return [{**point(profile, arch, "cal", seed, lr=lr), "n_val": N_VAL[profile]}
            for arch, grid in TUNE_GRID[profile].items() for lr in grid for seed in TUNE_SEEDS[profile]]


def cal_validated_lr(profile: str, records=None) -> dict:
    """CAL's best initial LR per architecture by mean final validation accuracy over the tuning
    seeds; ConfigError if the best sits on the grid's edge (extend ``TUNE_GRID`` then)."""
    import pandas as pd

    records = records if records is not None else claims.cached_records("tb-cal-tune", profile)
    rows = [{"model": r["config"]["model"], "lr": r["config"]["lr"],
             "val_acc": r["data"]["final_val_acc"] if r["status"] == "ok" else 0.0} for r in records]
    means = pd.DataFrame(rows).groupby(["model", "lr"]).val_acc.mean()
    best = {}
    for arch, grid in TUNE_GRID[profile].items():
        model = ARCHS[profile][arch][0]
        lr = float(means.loc[model].idxmax())
        if len(grid) > 2 and lr in (min(grid), max(grid)):
            raise ConfigError(f"CAL's best validated LR for {model} is {lr:g}, the edge of its grid {grid}: extend "
                              "TUNE_GRID and run tb-cal-tune again")
        best[arch] = lr
    return best


def compare_configs(profile: str) -> list[dict]:
    """TB at the paper's eta_0 and CAL at its validated LR for every seed of ``COMPARE_SEEDS``, less
    the points ``tb-fig3-main`` already holds (the analysis pools both)."""
    best = cal_validated_lr(profile)
    have = {canonical(c) for c in fig3_configs(profile)}
    out = []
    for arch in ARCHS[profile]:
        for seed in COMPARE_SEEDS[profile]:
            for cfg in (point(profile, arch, "tb", seed), point(profile, arch, "cal", seed, lr=best[arch])):
                if canonical(cfg) not in have:
                    out.append(cfg)
    return out


def canonical(config: dict) -> str:
    from thermo.results import canonical_json

    return canonical_json(config)


def fig3_configs(profile: str) -> list[dict]:
    """The four methods at the paper's eta_0 (and SNR's best lambda) for every seed, plus the
    tuning grids (CAL's eta_0, SNR's lambda_sr) on the first seed."""
    out = []
    seeds = SEEDS[profile]
    for arch, (_, _, eta0, cal_grid, snr_grid, _, _) in ARCHS[profile].items():
        for seed in seeds:
            out += [point(profile, arch, m, seed) for m in METHODS]
        out += [point(profile, arch, "cal", seeds[0], lr=lr) for lr in cal_grid if lr != eta0]
        best = ARCHS[profile][arch][5]
        out += [point(profile, arch, "snr", seeds[0], lambda_sr=lam) for lam in snr_grid if lam != best]
    return out


def fig5_configs(profile: str) -> list[dict]:
    """TB at the other initial learning rates of CAL's grid (first seed), beside fig3's CAL grid."""
    seeds = SEEDS[profile]
    return [point(profile, arch, "tb", seeds[0], lr=lr) for arch, a in ARCHS[profile].items() for lr in a[3]
            if lr != a[2]]


def fig6_configs(profile: str) -> list[dict]:
    """TB and CAL at 0.5x and 1.5x the width (the ResNet; two seeds in quick)."""
    seeds = SEEDS[profile][:2] if profile == "quick" else SEEDS[profile]
    return [point(profile, "resnet", m, s, width_factor=f) for f in (0.5, 1.5) for m in ("cal", "tb")
            for s in seeds]


def fig7_configs(profile: str) -> list[dict]:
    """TB driven by the other metrics (the ResNet, every seed)."""
    return [point(profile, "resnet", "tb", s, metric=m) for m in METRICS if m != "alpha_hill"
            for s in SEEDS[profile]]


def every_configs(profile: str) -> list[dict]:
    """TB balancing every 10 and every 100 steps instead of every epoch (the ResNet, two seeds)."""
    seeds = SEEDS[profile][:2]
    return [point(profile, "resnet", "tb", s, every=n) for n in (10, 100) for s in seeds]


def check(config: dict) -> None:
    n_val = config.get("n_val")
    if n_val is not None and not (isinstance(n_val, int) and not isinstance(n_val, bool) and n_val >= 1):
        raise ConfigError(f"n_val must be a positive number of validation examples, got {n_val!r}")
    if config["method"] not in METHODS:
        raise ConfigError(f"method must be one of {METHODS}, got {config['method']!r}")
    if "tb" in config["method"]:
        check_scales(config["s1"], config["s2"])
        if config["metric"] not in METRICS:
            raise ConfigError(f"metric must be one of {METRICS}, got {config['metric']!r}")
    if "snr" in config["method"] and not (config["lambda_sr"] is not None and config["lambda_sr"] >= 0):
        raise ConfigError(f"lambda_sr must be a non-negative number, got {config['lambda_sr']!r}")
    sp = data.spec(config["dataset"])
    models.build(config["model"], sp.in_shape, sp.num_classes, width=config["width"])
    train_config(config)


def train_config(config: dict) -> train.TrainConfig:
    return train.TrainConfig(
        epochs=config["epochs"], lr=config["lr"], batch_size=config["batch_size"], momentum=config["momentum"],
        weight_decay=config["weight_decay"], schedule="cosine", lr_per_step=config["lr_per_step"],
        augment=config["augment"], eval_every=config["eval_every"], seed=config["seed"],
    ).validate()


def normalized(tr, te):
    """Per-channel standardization with the training set's statistics (the paper's per-dataset
    normalization; augmentation then pads with the mean colour rather than black)."""
    mean = tr.x.mean(dim=(0, 2, 3), keepdim=True)
    std = tr.x.std(dim=(0, 2, 3), keepdim=True)
    make = data.ArrayDataset
    return (make((tr.x - mean) / std, tr.y, tr.name, tr.split, tr.num_classes),
            make((te.x - mean) / std, te.y, te.name, te.split, te.num_classes))


class Timed(train.Callback):
    """Wall seconds spent inside another callback's balancing (TempBalance.apply)."""

    def __init__(self, tb: TempBalance):
        self.tb, self.seconds, self.calls = tb, 0.0, 0
        original = tb.apply

        def timed(optimizer):
            t0 = time.perf_counter()
            out = original(optimizer)
            self.seconds += time.perf_counter() - t0
            self.calls += 1
            return out

        tb.apply = timed


def split_validation(full, n_train: int):
    """The first ``n_train`` examples of a seeded subset of the training split (the very subset
    ``data.load(n=n_train)`` gives: one permutation) and the rest as the validation split."""
    make = data.ArrayDataset
    return (make(full.x[:n_train], full.y[:n_train], full.name, "train", full.num_classes),
            make(full.x[n_train:], full.y[n_train:], full.name, "validation", full.num_classes))


def tb_run(config: dict) -> dict:
    """One training run; with ``n_val`` it is scored on the validation split during training (its
    history holds ``val_*``) and on the test set once at the end (``final_test_acc``)."""
    check(config)
    n_val = config.get("n_val")
    te = data.load(config["dataset"], "test", n=config["n_test"], seed=0)
    if n_val:
        n_train = config["n_train"] or len(data.load(config["dataset"], "train").y) - n_val
        full = data.load(config["dataset"], "train", n=n_train + n_val, seed=0)
        tr, val = split_validation(full, n_train)
        (tr, te), (_, val) = normalized(tr, te), normalized(tr, val)
    else:
        tr = data.load(config["dataset"], "train", n=config["n_train"], seed=0)
        tr, te = normalized(tr, te)
    torch.manual_seed(config["seed"])
    model = models.build(config["model"], tr.in_shape, tr.num_classes, width=config["width"])
    cfg = train_config(config)
    callbacks, optimizer, timer = [], None, None
    if "tb" in config["method"]:
        tb = TempBalance(model, config["s1"], config["s2"], metric=config["metric"], every=config["every"])
        optimizer = train.make_optimizer(tb.param_groups(config["weight_decay"]), cfg)
        timer = Timed(tb)
        callbacks.append(tb)
    if "snr" in config["method"]:
        callbacks.append(SpectralNormRegularizer(model, config["lambda_sr"]))
    run_id = f"tb-train-{config_hash('tb-train', VERSION, config)}"
    desc = f"{config['model']} {config['method']} lr {config['lr']} seed {config['seed']}"
    res = train.fit(model, tr, val if n_val else te, cfg, callbacks=callbacks, optimizer=optimizer, run_id=run_id,
                    description=desc)
    out = {"status": res.status, "history": res.history, "final_test_acc": res.final("test_acc"),
           "train_seconds": res.wall_seconds, "tb_seconds": timer.seconds if timer else 0.0,
           "tb_calls": timer.calls if timer else 0}
    if n_val:  # the curve was scored on the validation split; the test set is scored once, at the end
        out["history"] = {k.replace("test_", "val_"): v for k, v in res.history.items()}
        out["final_val_acc"] = res.final("test_acc")
        out["final_test_acc"] = train.evaluate(model, te, batch_size=cfg.eval_batch_size)[1] if res.status == "ok" \
            else None
    if res.status != "ok":
        out["reason"] = f"non-finite loss at step {res.diverged_at_step}"
        return out
    model.cpu()
    out["layers"] = [{"name": r["name"], "n_eigs": r["n_eigs"], "alpha_hill": r["alpha_hill"]}
                     for r in htsr.layer_metrics(model) if not r["too_few_eigs"]]
    return out


register(Experiment("tb-fig3-main", VERSION, fig3_configs, tb_run,
                    "TempBalance Fig. 3 / Table 1: CAL vs SNR vs TB vs TB+SNR (and the tuning grids)", check))
register(Experiment("tb-cal-tune", VERSION, tune_configs, tb_run,
                    "CAL's initial learning rate tuned on a validation split (for a fair TB vs CAL)", check))
register(Experiment("tb-vs-cal", VERSION, compare_configs, tb_run,
                    "TB vs CAL at its validated learning rate, 10 seeds per model (powered for ~0.4 pt)", check,
                    needs=("tb-cal-tune",)))
register(Experiment("tb-fig5-lr", VERSION, fig5_configs, tb_run,
                    "TempBalance Fig. 5: TB against CAL over the initial learning rate", check))
register(Experiment("tb-fig6-width", VERSION, fig6_configs, tb_run,
                    "TempBalance Fig. 6: TB against CAL at three widths", check))
register(Experiment("tb-fig7-metric", VERSION, fig7_configs, tb_run,
                    "TempBalance Fig. 7: TB driven by other HT-SR metrics", check))
register(Experiment("tb-every", VERSION, every_configs, tb_run,
                    "TempBalance every N steps instead of every epoch (cost and effect)", check))


# --- the claim ------------------------------------------------------------------------------------

def runs_frame(records):
    """One row per training run of the ``tb-*`` experiments: its settings, status, final test
    accuracy and timings (``tb_share`` = seconds inside TempBalance / seconds of training)."""
    import pandas as pd

    rows = []
    for r in records:
        c, d = r["config"], r.get("data") or {}
        train_s = d.get("train_seconds") or np.nan
        rows.append({
            "model": c["model"], "width": c["width"], "method": c["method"], "seed": c["seed"], "lr": c["lr"],
            "lambda_sr": c["lambda_sr"], "metric": c["metric"], "every": str(c["every"]) if c["every"] else None,
            "status": r["status"], "test_acc": d.get("final_test_acc", np.nan) if r["status"] == "ok" else np.nan,
            "train_seconds": train_s, "tb_seconds": d.get("tb_seconds", 0.0), "tb_calls": d.get("tb_calls", 0),
            "tb_share": d.get("tb_seconds", 0.0) / train_s,
        })
    return pd.DataFrame(rows)


def main_table(profile: str, records=None):
    """Fig. 3's runs at the main settings (every seed): one row per (arch, method, seed), from
    ``records`` (default: the cached ones)."""
    import pandas as pd

    rows = []
    main = {config_hash("tb-fig3-main", VERSION, c) for arch in ARCHS[profile] for s in SEEDS[profile]
            for c in [point(profile, arch, m, s) for m in METHODS]}
    for r in records if records is not None else claims.cached_records("tb-fig3-main", profile):
        if r["config_hash"] in main and r["status"] == "ok":
            c = r["config"]
            rows.append({"model": c["model"], "method": c["method"], "seed": c["seed"], "lr": c["lr"],
                         "lambda_sr": c["lambda_sr"], "test_acc": r["data"]["final_test_acc"]})
    return pd.DataFrame(rows)


def measure_tb_beats_cal(profile: str) -> claims.Measurement:
    """Claim ``tb-beats-cal``: TB minus CAL test accuracy, paired by seed and model, mean and the
    half-width of its 95 % t interval (points of accuracy)."""
    t = main_table(profile)
    pivot = t.pivot_table(index=["model", "seed"], columns="method", values="test_acc")
    pairs = pivot[["tb", "cal"]].dropna() if {"tb", "cal"} <= set(pivot.columns) else []
    if len(pairs) < 2:
        raise claims.MissingResults(f"{len(pairs)} TB/CAL pair(s); a confidence interval needs 2")
    diff = stats.paired_difference(pairs["tb"], pairs["cal"])
    per_model = (pairs["tb"] - pairs["cal"]).groupby(level="model").mean()
    return claims.Measurement(diff.mean, diff.half_width, n=diff.n, unit="pt",
                              detail=f"{diff.n} pairs (models x seeds); mean TB - CAL per model (pt): "
                                     f"{ {k: round(100 * v, 2) for k, v in per_model.items()} }")


claims.register(claims.Claim(
    "tb-beats-cal", "tempbalance", "Table 1, Fig. 3",
    "TempBalance (TB) reaches a higher test accuracy than cosine annealing (CAL) with the same budget",
    "+0.3 to +1.2 pt over CAL (CIFAR-100, ResNet18/VGG16, 5 seeds)", claims.positive_difference(),
    measure=measure_tb_beats_cal, chapter="notebooks/tempbalance/02-training-with-tempbalance", section="tb-fig3",
))


def final_alphas(records) -> list[dict]:
    """Figs. 10-11: every layer's final PL_Alpha_Hill, with the run's model, method and seed."""
    return [{"model": r["config"]["model"], "method": r["config"]["method"], "seed": r["config"]["seed"],
             "layer": L["name"], "alpha": L["alpha_hill"]}
            for r in records if r["status"] == "ok" for L in r["data"].get("layers", [])
            if np.isfinite(L["alpha_hill"])]


def frame(experiment_id: str, profile: str):
    """The cached records of one ``tb-*`` experiment as a :func:`runs_frame` (MissingResults if none)."""
    return runs_frame(claims.cached_records(experiment_id, profile))


def _paired(a, b, what: str, unit: str = "pt") -> claims.Measurement:
    if len(a) < 2:
        raise claims.MissingResults(f"{len(a)} pair(s) for {what}; a confidence interval needs 2")
    d = stats.paired_difference(a, b)
    return claims.Measurement(d.mean, d.half_width, n=d.n, unit=unit, detail=what)


def lr_grid_pairs(profile: str):
    """Fig. 5: TB and CAL test accuracy at every initial LR of CAL's grid (first seed, both
    models): the CAL grid and TB's main run come from ``tb-fig3-main``, TB's other LRs from
    ``tb-fig5-lr``. Columns model, lr, cal, tb."""
    seed = SEEDS[profile][0]
    both = runs_frame(claims.cached_records("tb-fig3-main", profile) + claims.cached_records("tb-fig5-lr", profile))
    sub = both[(both.seed == seed) & both.method.isin(["cal", "tb"])]
    return sub.pivot_table(index=["model", "lr"], columns="method", values="test_acc").dropna().reset_index()


def measure_tb_lr_grid(profile: str) -> claims.Measurement:
    p = lr_grid_pairs(profile)
    return _paired(p["tb"], p["cal"], f"TB - CAL at {len(p)} (model, initial LR) points, seed {SEEDS[profile][0]}")


def width_pairs(profile: str):
    """Fig. 6: TB and CAL on the ResNet at 0.5x, 1x and 1.5x its width (the 1x runs are
    ``tb-fig3-main``'s), paired by seed. Columns width, seed, cal, tb."""
    model = ARCHS[profile]["resnet"][0]
    both = runs_frame(claims.cached_records("tb-fig6-width", profile) + claims.cached_records("tb-fig3-main", profile))
    seeds = {c["seed"] for c in fig6_configs(profile)}
    eta0 = ARCHS[profile]["resnet"][2]
    sub = both[(both.model == model) & both.seed.isin(seeds) & both.method.isin(["cal", "tb"]) & (both.lr == eta0)]
    return sub.pivot_table(index=["width", "seed"], columns="method", values="test_acc").dropna().reset_index()


def measure_tb_width(profile: str) -> claims.Measurement:
    p = width_pairs(profile)
    if p.width.nunique() < 2:
        raise claims.MissingResults("Fig. 6 needs runs at more than one width")
    return _paired(p["tb"], p["cal"], f"TB - CAL at {p.width.nunique()} widths x {p.seed.nunique()} seeds")


def metric_pairs(profile: str):
    """Fig. 7: final test accuracy per seed of TB driven by each metric (the ResNet; alpha_hill
    is ``tb-fig3-main``'s TB), with CAL for reference. Columns seed, cal and one per metric."""
    model = ARCHS[profile]["resnet"][0]
    main = main_table(profile)
    main = main[main.model == model]
    rows = [{"seed": r.seed, "column": "cal" if r.method == "cal" else "alpha_hill", "test_acc": r.test_acc}
            for r in main.itertuples() if r.method in ("cal", "tb")]
    abl = frame("tb-fig7-metric", profile)
    rows += [{"seed": r.seed, "column": r.metric, "test_acc": r.test_acc} for r in abl.itertuples()]
    import pandas as pd

    return pd.DataFrame(rows).pivot_table(index="seed", columns="column", values="test_acc").reset_index()


def measure_tb_metric(profile: str) -> claims.Measurement:
    p = metric_pairs(profile)
    others = [m for m in METRICS if m != "alpha_hill" and m in p.columns]
    if "alpha_hill" not in p.columns or not others:
        raise claims.MissingResults("Fig. 7 needs TB runs with alpha_hill and another metric")
    best = max(others, key=lambda m: p[m].mean())
    both = p[["alpha_hill", best]].dropna()
    return _paired(both["alpha_hill"], both[best], f"alpha_hill - the best other metric ({best}), paired by seed")


def alpha_spread_pairs(profile: str, records=None):
    """Figs. 10-11: standard deviation over layers of the final PL_Alpha_Hill, per model and seed,
    for TB and CAL at the main settings. Columns model, seed, cal, tb."""
    import pandas as pd

    main = {config_hash("tb-fig3-main", VERSION, point(profile, arch, m, s))
            for arch in ARCHS[profile] for s in SEEDS[profile] for m in ("cal", "tb")}
    records = records if records is not None else claims.cached_records("tb-fig3-main", profile)
    recs = [r for r in records if r["config_hash"] in main]
    a = pd.DataFrame(final_alphas(recs))
    if a.empty:
        raise claims.MissingResults("no final alphas cached")
    spread = a.groupby(["model", "seed", "method"]).alpha.std().unstack("method")
    return spread.dropna().reset_index()


def measure_tb_alpha_spread(profile: str) -> claims.Measurement:
    p = alpha_spread_pairs(profile)
    if not {"cal", "tb"} <= set(p.columns):
        raise claims.MissingResults("needs TB and CAL runs")
    return _paired(p["cal"], p["tb"], "std over layers of the final alpha, CAL minus TB, paired by model and seed",
                   unit="")


def measure_tb_overhead(profile: str) -> claims.Measurement:
    """Seconds inside TempBalance over seconds of training, largest over the main TB runs
    (balancing once per epoch)."""
    t = frame("tb-fig3-main", profile)
    t = t[t.method.isin(["tb", "tb+snr"]) & (t.status == "ok")]
    if t.empty:
        raise claims.MissingResults("no TB run cached")
    return claims.Measurement(float(t.tb_share.max()), None, n=len(t), unit="%",
                              detail=f"largest of {len(t)} runs; median {100 * t.tb_share.median():.3g} %")


_CH = "notebooks/tempbalance/02-training-with-tempbalance"
for _id, _place, _statement, _paper, _rule, _measure, _section in (
    ("tb-lr-grid", "Fig. 5", "TB beats CAL at every initial learning rate of the grid",
     "TB above CAL at every LR (ResNet18, VGG16)", claims.positive_difference(), measure_tb_lr_grid, "tb-fig5"),
    ("tb-width", "Fig. 6", "TB beats CAL at every network width",
     "TB above CAL at widths 50 %, 100 %, 150 % (ResNet18/34, VGG16/19)", claims.positive_difference(),
     measure_tb_width, "tb-fig6"),
    ("tb-metric", "Fig. 7", "PL_Alpha_Hill is the best HT-SR metric to drive TB", "best of the metrics tried",
     claims.positive_difference(), measure_tb_metric, "tb-fig7"),
    ("tb-alpha-spread", "Figs. 10-11", "TB leaves the layers' PL_Alpha_Hill more concentrated than CAL does",
     "more concentrated, nearer 2", claims.positive_difference(), measure_tb_alpha_spread, "tb-fig10"),
    ("tb-overhead", "Sec. 5 (limitations)", "Balancing once per epoch costs a small share of training time",
     "1.4 s per epoch, about 6 % (V100)", claims.at_most(0.06, 0.10, "the share of training time", "%"),
     measure_tb_overhead, "tb-cost"),
):
    claims.register(claims.Claim(_id, "tempbalance", _place, _statement, _paper, _rule, measure=_measure,
                                 chapter=_CH, section=_section))

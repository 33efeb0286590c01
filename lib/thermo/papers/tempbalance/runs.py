"""TempBalance's runs (chapters ``notebooks/tempbalance/01-esd-and-hill`` and
``notebooks/tempbalance/02-training-with-tempbalance``): one compute function per experiment and
the :class:`~thermo.experiments.Experiment` objects, registered on import. Zhou et al. (2023).

Chapter 1:

- ``tb-s-vs-alpha`` (App. A.2, Fig. 9; :func:`s_vs_alpha`): for each size M and decay exponent s,
  an M x M matrix ``W = U diag(sqrt(lambda)) V^T`` with ``lambda_k = k^-s`` and Haar-random
  orthogonal U, V (one pair per M and seed, reused across s; float64). Its ESD goes through
  ``htsr.esd`` and PL_Alpha_Hill (eq. 3 and the official rule); ``s_hat = 1 / (alpha - 1)`` is
  compared with s.
- ``tb-esd-fits`` (a Fig. 1 analogue; :func:`esd_fits`): trains a small network on Fashion-MNIST
  and returns every layer's metrics and ESD, with WeightWatcher's and ``powerlaw``'s alphas for
  the same layers.

Chapter 2 (Section 4, Figs. 3, 5-7, 10-11, Table 1): one compute function, :func:`tb_run`, trains
one network with one method: ``cal`` (SGD, cosine annealing), ``snr`` (CAL + spectral-norm
regularization), ``tb`` (TempBalance, eq. 2, on top of CAL) or ``tb+snr``. Every run records its
test accuracy over training, the scales TempBalance chose, the final PL_Alpha_Hill of every layer
with at least 50 eigenvalues (Figs. 10-11) and the time spent in balancing (overhead). The
experiments ``tb-fig3-main``, ``tb-fig5-lr``, ``tb-fig6-width``, ``tb-fig7-metric``, ``tb-every``,
``tb-cal-tune``, ``tb-vs-cal``, ``tb-snr-tune`` (SNR's lambda_sr on a validation split) and
``tb-excess`` (TB on ``alpha_excess``, beyond the paper) differ only in their configs
(:mod:`~thermo.papers.tempbalance.configs`).

Records: a training run's data is :meth:`thermo.train.TrainResult.to_record`'s (``status``,
``history``, ``final_test_acc``, ``train_seconds``, ...) plus ``tb_seconds``, ``tb_calls`` and
``layers``; ``tb-esd-fits`` also keeps the whole :class:`~thermo.train.TrainResult` under ``train``
(the key its first records hold).
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import time
import warnings

import numpy as np
import torch
from tqdm import tqdm

from thermo import claims, data, htsr, models, train
from thermo.errors import ConfigError
from thermo.experiments import Experiment, RunPlan, register, torch_plan
from thermo.papers.tempbalance import configs
from thermo.papers.tempbalance.configs import ARCHS, COMPARE_SEEDS, METHODS, SNR_TUNE_GRID, TUNE_GRID
from thermo.results import canonical_json, config_hash
from thermo.tempbalance import METRICS, SpectralNormRegularizer, TempBalance, check_scales

S_VS_ALPHA_VERSION = 1
ESD_FITS_VERSION = 1
VERSION = 1  # every training experiment of chapter 2 (tb-fig3-main, ..., tb-vs-cal)


# --- chapter 1: Fig. 9, s = 1 / (alpha - 1) on synthetic spectra -----------------------------------

def check_s_vs_alpha(config: dict) -> None:
    if any(s <= 0 for s in config["s_values"]):
        raise ConfigError(f"every decay exponent s must be positive, got {config['s_values']}")
    if any(int(m) < 4 for m in config["sizes"]):
        raise ConfigError(f"matrix sizes must be at least 4, got {config['sizes']}")


def s_vs_alpha(config: dict) -> dict:
    """One row per (M, s): PL_Alpha_Hill under both threshold rules, ``s_hat = 1 / (alpha - 1)``
    and the largest relative round-off of the computed eigenvalues."""
    check_s_vs_alpha(config)
    sizes, s_values, seed = config["sizes"], config["s_values"], config["seed"]
    rows = []
    for m in tqdm(sizes, desc="Fig. 9 sizes", mininterval=1.0):
        pair = htsr.orthogonal_pair(m, seed=[seed, m])  # one (U, V) per size, reused for every s
        for s in s_values:
            lam = htsr.powerlaw_eigs(m, s)
            w = torch.from_numpy(htsr.matrix_with_eigs(lam, pair=pair))
            eigs = htsr.esd(w)
            a_eq3 = htsr.alpha_hill(eigs, xmin_rule="eq3")
            a_off = htsr.alpha_hill(eigs, xmin_rule="official")
            rows.append({
                "m": m, "s": s, "alpha_eq3": a_eq3, "alpha_official": a_off,
                "s_hat_eq3": 1 / (a_eq3 - 1), "s_hat_official": 1 / (a_off - 1),
                "max_rel_eig_error": float(np.max(np.abs(eigs - lam) / lam)),
            })
    return {"rows": rows}


# --- chapter 1: the ESDs of a trained network (Fig. 1 analogue) -------------------------------------

def _crosscheck_weightwatcher(model) -> dict:
    """WeightWatcher's alpha and xmin per layer name (its KS-based x_min search). Its messages (on
    import it prints about CUDA and SVD back-ends to stdout and stderr) are kept from the reader."""
    logging.getLogger("weightwatcher").setLevel(logging.ERROR)
    quiet = io.StringIO()
    with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import weightwatcher as ww

        logging.getLogger("weightwatcher").setLevel(logging.ERROR)
        df = ww.WeightWatcher(model=model).analyze()
    return {row.longname: {"alpha": float(row.alpha), "xmin": float(row.xmin)} for row in df.itertuples()}


def _crosscheck_powerlaw(eigs) -> dict:
    """``powerlaw.Fit``: continuous power law, x_min chosen by minimising the KS distance."""
    import powerlaw

    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = powerlaw.Fit(np.asarray(eigs), verbose=False)
    return {"alpha": float(fit.power_law.alpha), "xmin": float(fit.power_law.xmin)}


def check_esd_fits(config: dict) -> None:
    sp = data.spec(config["dataset"])
    models.build(config["model"], sp.in_shape, sp.num_classes, width=config["width"])
    train.TrainConfig.from_config(config, schedule="cosine")


def _crosschecked_layers(model) -> list[dict]:
    """Every layer's metrics and ESD (:func:`thermo.htsr.layer_metrics`) with the eq. 3 threshold,
    the official rule's alpha, and WeightWatcher's and ``powerlaw``'s alpha and threshold."""
    ww_alpha = _crosscheck_weightwatcher(model)
    layers = []
    for rec in htsr.layer_metrics(model, with_eigs=True):
        eigs = rec["eigs"]
        fit_eq3 = htsr.hill_fit(eigs) if not rec["note"] else None
        pl = _crosscheck_powerlaw(eigs) if eigs.size >= 10 else {"alpha": None, "xmin": None}
        layers.append({
            **rec,
            "xmin_eq3": fit_eq3.xmin if fit_eq3 else None,
            "alpha_official": htsr.alpha_hill(eigs, xmin_rule="official") if fit_eq3 else None,
            "ww_alpha": ww_alpha.get(rec["name"], {}).get("alpha"),
            "ww_xmin": ww_alpha.get(rec["name"], {}).get("xmin"),
            "powerlaw_alpha": pl["alpha"],
            "powerlaw_xmin": pl["xmin"],
        })
    return layers


def esd_fits(config: dict) -> dict:
    train_set = data.load(config["dataset"], "train", n=config["n_train"], seed=config["seed"])
    test_set = data.load(config["dataset"], "test", n=config["n_test"], seed=config["seed"])
    torch.manual_seed(config["seed"])
    model = models.build(config["model"], train_set.in_shape, train_set.num_classes, width=config["width"])
    tcfg = train.TrainConfig.from_config(config, schedule="cosine")
    desc = f"{config['model']} on {config['dataset']}"
    run_id = f"tb-esd-fits-{config_hash('tb-esd-fits', ESD_FITS_VERSION, config)}"  # resumes if killed
    result = train.fit(model, train_set, test_set, tcfg, description=desc, run_id=run_id)
    out = result.to_record(train=result.to_dict())
    if result.status != "ok":
        return out
    model.cpu()
    out["layers"] = _crosschecked_layers(model)
    return out


# --- what a run computes (python -m thermo cost; tests/test_paper_configs.py) ---------------------------

def plan_s_vs_alpha(config: dict) -> RunPlan:
    """No training: per size M two Haar-random orthogonal matrices (QR of a Gaussian, about 4/3 M^3
    each), then per s the product U diag V^T (2 M^3), the Gram matrix (2 M^3) and its eigenvalues
    (about 4/3 M^3 for a symmetric eigensolver without vectors), in float64."""
    n_s = len(config["s_values"])
    flops = sum(2 * 4 / 3 * m**3 + n_s * (2 + 2 + 4 / 3) * m**3 for m in map(int, config["sizes"]))
    return RunPlan("analysis", extra_flops=lambda model: flops, precision="float64",
                   note="no training: synthetic spectra (QR, products and eigensolvers, closed form)")


def plan_esd_fits(config: dict) -> RunPlan:
    """:func:`esd_fits`'s run: the network trained with cosine annealing, scored every epoch."""
    ds = data.shape(config["dataset"])

    def build():
        return models.build(config["model"], ds.in_shape, ds.num_classes, width=config["width"])

    return torch_plan(build, ("tb", config["model"], ds.name, config["width"]), ds.in_shape, ds.num_classes,
                      train.TrainConfig.from_config(config, schedule="cosine"), config["n_train"] or ds.n_train,
                      config["n_test"] or ds.n_test,
                      note="the ESD fits after training (eigensolvers, WeightWatcher, powerlaw) are not counted")


register(Experiment("tb-s-vs-alpha", S_VS_ALPHA_VERSION, configs.s_vs_alpha_configs, s_vs_alpha,
                    "TempBalance Fig. 9: s = 1/(alpha - 1) on synthetic power-law spectra", check_s_vs_alpha,
                    plan=plan_s_vs_alpha))
register(Experiment("tb-esd-fits", ESD_FITS_VERSION, configs.esd_fits_configs, esd_fits,
                    "TempBalance Fig. 1 analogue: ESDs and Hill fits of a trained network", check_esd_fits,
                    plan=plan_esd_fits))


# --- chapter 2: one training run ------------------------------------------------------------------

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
    """The run's training settings: every TrainConfig field of ``config``, cosine annealing."""
    return train.TrainConfig.from_config(config, schedule="cosine")


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


def run_data(config: dict):
    """``(train, test, validation)``, standardized with the training set's statistics; validation
    is None without ``n_val`` (then the training set is the seeded subset of ``n_train``)."""
    n_val = config.get("n_val")
    val = None
    te = data.load(config["dataset"], "test", n=config["n_test"], seed=0)
    if n_val:
        n_train = config["n_train"] or len(data.load(config["dataset"], "train").y) - n_val
        full = data.load(config["dataset"], "train", n=n_train + n_val, seed=0)
        tr, val = data.split_validation(full, n_train)
        (tr, te), (_, val) = normalized(tr, te), normalized(tr, val)
    else:
        tr = data.load(config["dataset"], "train", n=config["n_train"], seed=0)
        tr, te = normalized(tr, te)
    return tr, te, val


def scored_on_validation(out: dict, final_test_acc) -> dict:
    """A record whose curves were scored on the validation split: its ``test_*`` curves and finals
    renamed ``val_*``, and ``final_test_acc`` the test set's, scored once at the end."""
    out = {k.replace("final_test_", "final_val_"): v for k, v in out.items()}
    out["history"] = {k.replace("test_", "val_"): v for k, v in out["history"].items()}
    out["final_test_acc"] = final_test_acc
    return out


def tb_run(config: dict) -> dict:
    """One training run; with ``n_val`` it is scored on the validation split during training (its
    history holds ``val_*``) and on the test set once at the end (``final_test_acc``)."""
    check(config)
    tr, te, val = run_data(config)
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
    res = train.fit(model, tr, val if val is not None else te, cfg, callbacks=callbacks, optimizer=optimizer,
                    run_id=run_id, description=desc)
    out = res.to_record(tb_seconds=timer.seconds if timer else 0.0, tb_calls=timer.calls if timer else 0)
    if val is not None:  # the curve was scored on the validation split; the test set is scored once, at the end
        ok = res.status == "ok"
        out = scored_on_validation(out, train.evaluate(model, te, batch_size=cfg.eval_batch_size)[1] if ok else None)
    if res.status != "ok":
        return out
    model.cpu()
    out["layers"] = [{"name": r["name"], "n_eigs": r["n_eigs"], "alpha_hill": r["alpha_hill"]}
                     for r in htsr.layer_metrics(model) if not r["too_few_eigs"]]
    return out


# --- chapter 2: the second stage of a fair TB vs CAL ----------------------------------------------

def validated_best(records, key: str, grids: dict, profile: str, what: str, experiment: str) -> dict:
    """Per architecture, the value of ``key`` (a config field) with the best mean final validation
    accuracy over the tuning seeds (a diverged run scores 0); ConfigError if the best sits on the
    edge of its grid ``grids[arch]`` (then the grid must be extended and ``experiment`` run again)."""
    import pandas as pd

    rows = [{"model": r["config"]["model"], key: r["config"][key],
             "val_acc": r["data"]["final_val_acc"] if r["status"] == "ok" else 0.0} for r in records]
    means = pd.DataFrame(rows).groupby(["model", key]).val_acc.mean()
    best = {}
    for arch, grid in grids.items():
        model = ARCHS[profile][arch].model
        value = float(means.loc[model].idxmax())
        if len(grid) > 2 and value in (min(grid), max(grid)):
            raise ConfigError(f"{what} for {model} is {value:g}, the edge of its grid {grid}: extend the grid and "
                              f"run {experiment} again")
        best[arch] = value
    return best


def cal_validated_lr(profile: str, records=None) -> dict:
    """CAL's best initial LR per architecture by mean final validation accuracy over the tuning
    seeds; ConfigError if the best sits on the grid's edge (extend ``TUNE_GRID`` then)."""
    records = records if records is not None else claims.cached_records("tb-cal-tune", profile)
    return validated_best(records, "lr", TUNE_GRID[profile], profile, "CAL's best validated LR", "tb-cal-tune")


def snr_validated_lambda(profile: str, records=None) -> dict:
    """SNR's best lambda_sr per architecture on the validation split (``tb-snr-tune``), as
    :func:`cal_validated_lr`; ConfigError if it sits on the edge of ``SNR_TUNE_GRID``."""
    records = records if records is not None else claims.cached_records("tb-snr-tune", profile)
    return validated_best(records, "lambda_sr", SNR_TUNE_GRID[profile], profile, "SNR's best validated lambda_sr",
                          "tb-snr-tune")


def canonical(config: dict) -> str:
    return canonical_json(config)


def compare_configs(profile: str) -> list[dict]:
    """TB at the paper's eta_0 and CAL at its validated LR for every seed of ``COMPARE_SEEDS``, less
    the points ``tb-fig3-main`` already holds (the analysis pools both)."""
    best = cal_validated_lr(profile)
    have = {canonical(c) for c in configs.fig3_configs(profile)}
    out = []
    for arch in ARCHS[profile]:
        for seed in COMPARE_SEEDS[profile]:
            for cfg in (configs.point(profile, arch, "tb", seed),
                        configs.point(profile, arch, "cal", seed, lr=best[arch])):
                if canonical(cfg) not in have:
                    out.append(cfg)
    return out


def snr_val_configs(profile: str) -> list[dict]:
    """SNR and TB+SNR at SNR's validated lambda_sr (``tb-snr-tune``) for every seed of
    ``COMPARE_SEEDS``, less the points ``tb-fig3-main`` already holds (the analysis pools both)."""
    have = {canonical(c) for c in configs.fig3_configs(profile)}
    return [c for c in configs.snr_val_points(profile, snr_validated_lambda(profile)) if canonical(c) not in have]


# --- what a training run computes (python -m thermo cost; tests/test_paper_configs.py) ----------------

def balancing_flops(model, tuned) -> float:
    """One TempBalance balancing (:meth:`thermo.tempbalance.TempBalance.metrics`), closed form: per
    tuned layer and per slice of its weight (m x n, n the smaller side), the Gram matrix (2 m n^2)
    and its eigenvalues (about 4/3 n^3, a symmetric eigensolver without vectors)."""
    modules = dict(model.named_modules())
    total = 0.0
    for name in tuned:
        out, inp, *kernel = modules[name].weight.shape
        big, small = max(out, inp), min(out, inp)
        total += math.prod(kernel) * (2 * big * small**2 + 4 / 3 * small**3)
    return total


def snr_flops_per_step(model) -> float:
    """SNR's power iteration per step (:class:`thermo.tempbalance.SpectralNormRegularizer`, one
    iteration): two matrix-vector products (4 m n) and the rank-one gradient term (2 m n) per weight."""
    return 6.0 * sum(p.numel() for p in model.parameters() if p.ndim > 1)


def _run_sizes(config: dict) -> tuple[int, int, int]:
    """(training examples, examples scored at every evaluation, examples scored once at the end) of
    :func:`tb_run`, from :func:`run_data`'s rules."""
    ds = data.shape(config["dataset"])
    n_test = config["n_test"] or ds.n_test
    n_val = config.get("n_val")
    if n_val:
        return config["n_train"] or ds.n_train - n_val, n_val, n_test
    return config["n_train"] or ds.n_train, n_test, 0


def _tempbalance(model, config: dict) -> TempBalance:
    return TempBalance(model, config["s1"], config["s2"], metric=config["metric"], every=config["every"])


def plan_run(config: dict) -> RunPlan:
    """:func:`tb_run`'s run: the network, TempBalance's parameter groups for TB methods, the
    balancing's eigensolvers and SNR's power iterations (closed forms)."""
    ds = data.shape(config["dataset"])
    cfg = train_config(config)
    n_train, n_eval, final = _run_sizes(config)
    steps = cfg.epochs * math.ceil(n_train / cfg.batch_size)
    method = config["method"]

    def build():
        return models.build(config["model"], ds.in_shape, ds.num_classes, width=config["width"])

    def optimizer(model):
        if "tb" in method:
            return train.make_optimizer(_tempbalance(model, config).param_groups(config["weight_decay"]), cfg)
        return train.make_optimizer(model, cfg)

    def extra(model) -> float:
        flops = 0.0
        if "tb" in method:
            applies = 1 + (cfg.epochs if config["every"] == "epoch" else steps // config["every"])
            flops += applies * balancing_flops(model, _tempbalance(model, config).tuned)
        if "snr" in method:
            flops += steps * snr_flops_per_step(model)
        return flops

    return torch_plan(build, ("tb", config["model"], ds.name, config["width"]), ds.in_shape, ds.num_classes, cfg,
                      n_train, n_eval, forward_examples=final, optimizer=optimizer, extra_flops=extra,
                      note="TB's eigensolvers and SNR's power iterations: closed forms" if method != "cal" else "")


register(Experiment("tb-fig3-main", VERSION, configs.fig3_configs, tb_run,
                    "TempBalance Fig. 3 / Table 1: CAL vs SNR vs TB vs TB+SNR (and the tuning grids)", check,
                    plan=plan_run))
register(Experiment("tb-cal-tune", VERSION, configs.tune_configs, tb_run,
                    "CAL's initial learning rate tuned on a validation split (for a fair TB vs CAL)", check,
                    plan=plan_run))
register(Experiment("tb-vs-cal", VERSION, compare_configs, tb_run,
                    "TB vs CAL at its validated learning rate, 10 seeds per model (powered for ~0.4 pt)", check,
                    needs=("tb-cal-tune",), plan=plan_run))
register(Experiment("tb-snr-tune", VERSION, configs.snr_tune_configs, tb_run,
                    "SNR's lambda_sr tuned on a validation split (for a fair SNR baseline)", check, plan=plan_run))
register(Experiment("tb-snr-val", VERSION, snr_val_configs, tb_run,
                    "SNR and TB+SNR at SNR's validated lambda_sr, the seeds of tb-vs-cal (fair SNR baselines)", check,
                    needs=("tb-snr-tune",), plan=plan_run))
register(Experiment("tb-excess", VERSION, configs.excess_configs, tb_run,
                    "TB driven by alpha minus a random matrix's alpha of the same shape (beyond the paper), the "
                    "seeds of tb-vs-cal", check, plan=plan_run))
register(Experiment("tb-fig5-lr", VERSION, configs.fig5_configs, tb_run,
                    "TempBalance Fig. 5: TB against CAL over the initial learning rate", check, plan=plan_run))
register(Experiment("tb-fig6-width", VERSION, configs.fig6_configs, tb_run,
                    "TempBalance Fig. 6: TB against CAL at three widths", check, plan=plan_run))
register(Experiment("tb-fig7-metric", VERSION, configs.fig7_configs, tb_run,
                    "TempBalance Fig. 7: TB driven by other HT-SR metrics", check, plan=plan_run))
register(Experiment("tb-every", VERSION, configs.every_configs, tb_run,
                    "TempBalance every N steps instead of every epoch (cost and effect)", check, plan=plan_run))

"""ActCoolR's experiments (chapter ``notebooks/actcoolr/01-activation-pattern-temperature``): APT
(the paper's eqs. 1-4) under LR schedules (Fig. 1), the LR range and its erf model (eq. 5, Fig. 2),
ActCoolLR following the cooling curves of eq. 8 (Fig. 3, Table 2) and the Fashion-MNIST row of
Table 1.

One compute function, :func:`ac_run`, trains one network with one schedule (``constant``,
``step``, ``onecycle``, ``cosine``) or with ``actcool`` (ActCoolLR driving the LR), with APT probes
(every ``probe_every`` steps, per layer, at the granularities listed) and, optionally, the LR
range analysis at initialization and after every epoch for the three granularities. With
``n_val`` in its config a run is scored on that many examples of the training split held out from
its training subset (:func:`thermo.data.split_validation`) and on the test set once, at the end: the tuning of
Table 1's constant LR (``ac-table1-const-tune``), whose validated LR the constant runs of
``ac-table1-const-best`` use. The grids are in :mod:`thermo.papers.actcoolr.configs`.
"""

from __future__ import annotations

import math

import torch

from thermo import actcool, apt, claims, data, models, train
from thermo.errors import ConfigError, MissingResults
from thermo.experiments import Experiment, RunPlan, register, torch_plan
from thermo.papers.actcoolr import analysis, configs
from thermo.results import canonical_json, config_hash

VERSION = 1


def check(config: dict) -> None:
    """Every error of a config, before any work: schedule, granularities, LR grid, data set and
    model, and ActCoolLR's starting temperature against the ceiling of its batch."""
    if config["schedule"] not in configs.SCHEDULES:
        raise ConfigError(f"schedule must be one of {configs.SCHEDULES}, got {config['schedule']!r}")
    for g in config["probe_grans"]:
        apt.check_granularity(g)
    apt.check_lr_grid(configs.LRGrid.of(config).values())
    sp = data.spec(config["dataset"])
    models.build(config["model"], sp.in_shape, sp.num_classes, width=config["width"])
    if config["schedule"] == "actcool" and config["t_start"] > actcool.ceiling(config["batch_size"]):
        raise ConfigError(f"T_start {config['t_start']} is above the ceiling for batches of {config['batch_size']}")
    n_val = config.get("n_val")
    if n_val is not None and not (isinstance(n_val, int) and not isinstance(n_val, bool) and n_val >= 1):
        raise ConfigError(f"n_val must be a positive number of validation examples, got {n_val!r}")


class LRRange(train.Callback):
    """The LR range analysis (``apt.lr_range``, the paper's Fig. 2) on a fixed batch at
    initialization and after every epoch."""

    def __init__(self, batch, lrs, grans):
        self.batch, self.lrs, self.grans = batch, lrs, grans
        self.rows: list[dict] = []

    def _measure(self, state, epoch):
        for g in self.grans:
            out = apt.lr_range(state.model, self.batch, self.lrs, g)
            self.rows.append({"epoch": epoch, "granularity": g,
                              "p_change": {k: v.tolist() for k, v in out["p_change"].items()},
                              "n_patterns": out["n_patterns"]})

    def on_train_start(self, state):
        if state.epoch == 0 and not self.rows:
            self._measure(state, 0)

    def on_epoch_end(self, state):
        self._measure(state, state.epoch + 1)

    def state_dict(self):
        return {"rows": self.rows}

    def load_state_dict(self, s):
        self.rows = list(s["rows"])


def train_config(config: dict) -> train.TrainConfig:
    """ActCoolLR runs keep the LR constant between its updates; step decay divides by 10 at 50 %
    and 75 % of training; the LR of every step is logged."""
    return train.TrainConfig.from_config(config, schedule={"actcool": "constant"}.get(config["schedule"],
                                                                                      config["schedule"]),
                                         log_lr_steps=True, step_milestones=(0.5, 0.75), step_gamma=0.1)


def datasets(config: dict):
    """``(train, test, validation)`` of a run; validation is ``None`` without ``n_val``."""
    te = data.load(config["dataset"], "test", n=config["n_test"], seed=0)
    n_val = config.get("n_val")
    if not n_val:
        return data.load(config["dataset"], "train", n=config["n_train"], seed=0), te, None
    n_train = config["n_train"] or len(data.load(config["dataset"], "train").y) - n_val
    tr, val = data.split_validation(data.load(config["dataset"], "train", n=n_train + n_val, seed=0), n_train)
    return tr, te, val


def ac_run(config: dict) -> dict:
    """Train one network (see the module docstring); the record's data is
    ``TrainResult.to_record`` plus the probes' granularities and bytes per example, the LR range
    (``lrs``, ``rows``) when asked for, and ActCoolLR's calibration. With ``n_val`` the curves and
    ``final_val_*`` are scored on the validation split and ``final_test_acc`` once at the end."""
    check(config)
    tr, te, val = datasets(config)
    torch.manual_seed(config["seed"])
    model = models.build(config["model"], tr.in_shape, tr.num_classes, width=config["width"])
    probes = {g: apt.APTProbe(every=config["probe_every"], granularity=g, key=f"apt_{g}")
              for g in config["probe_grans"]}
    lr_grid = configs.LRGrid.of(config).values()
    callbacks: list = []
    rng_cb = None
    if config["lr_range"]:
        fixed = (tr.x[:config["batch_size"]], tr.y[:config["batch_size"]])
        rng_cb = LRRange(fixed, lr_grid, configs.GRANS)
        callbacks.append(rng_cb)
    ctl = None
    if config["schedule"] == "actcool":
        steps = config["epochs"] * -(-len(tr) // config["batch_size"])
        ctl = actcool.ActCoolLR(actcool.linear_target(config["t_start"], steps, config["gamma"]), lr_init=config["lr"],
                                every=config["probe_every"], granularity=config["actcool_granularity"],
                                lr_grid=lr_grid)
        callbacks.append(ctl)
    callbacks += probes.values()

    run_id = f"ac-{config_hash('ac-run', VERSION, config)}"
    cfg = train_config(config)
    res = train.fit(model, tr, te if val is None else val, cfg, callbacks=callbacks, run_id=run_id,
                    description=f"{config['model']} {config['schedule']} lr {config['lr']:g} seed {config['seed']}")
    extra: dict = {"probe_granularities": list(probes),
                   "bytes_per_example": {g: p.bytes_per_example for g, p in probes.items()}}
    if rng_cb:
        extra["lr_range"] = {"lrs": lr_grid.tolist(), "rows": rng_cb.rows}
    if ctl is not None:
        extra["calibration"] = dict(ctl.calibration or {})  # arrays become lists in the results store
    out = res.to_record(**extra)
    if val is not None:  # the curves were scored on the validation split; the test set once, at the end
        out["history"] = {k.replace("test_", "val_"): v for k, v in out["history"].items()}
        out["final_val_acc"], out["final_val_loss"] = out.pop("final_test_acc", None), out.pop("final_test_loss", None)
        out["final_test_acc"] = (train.evaluate(model, te, batch_size=cfg.eval_batch_size)[1] if res.status == "ok"
                                 else None)
    return out


def validated_constant_lr(profile: str, records=None) -> float:
    """Table 1's constant LR with the best mean final validation accuracy over the tuning seeds
    (``ac-table1-const-tune``); ConfigError if it sits on the grid's edge (extend
    ``configs.CONST_TUNE`` then)."""
    records = records if records is not None else claims.cached_records("ac-table1-const-tune", profile)
    return analysis.validated_lr(analysis.tune_table(records), configs.CONST_TUNE[profile].lrs)


def validated_onecycle_lr(profile: str, records=None) -> float:
    """1-cycle's peak LR with the best mean final validation accuracy over the tuning seeds
    (``ac-onecycle-tune``); ConfigError if it sits on the grid's edge (extend ``configs.ONECYCLE_TUNE``)."""
    records = records if records is not None else claims.cached_records("ac-onecycle-tune", profile)
    return analysis.validated_lr(analysis.tune_table(records), configs.ONECYCLE_TUNE[profile].lrs,
                                 "1-cycle's peak LR", "configs.ONECYCLE_TUNE and run ac-onecycle-tune")


def best_configs(profile: str, schedule: str, lr: float) -> list[dict]:
    """``schedule`` at its validated ``lr`` for every seed of Table 1, less the points
    ``ac-table1-fmnist`` already holds (the analysis pools both)."""
    have = {canonical_json(c) for c in configs.table1_configs(profile)}
    out = [configs.best_point(profile, schedule, seed, lr) for seed in configs.TABLE1[profile].seeds]
    return [c for c in out if canonical_json(c) not in have]


def const_best_configs(profile: str) -> list[dict]:
    """``ac-table1-const-best``: the constant LR at its validated value (:func:`best_configs`)."""
    return best_configs(profile, "constant", validated_constant_lr(profile))


def onecycle_best_configs(profile: str) -> list[dict]:
    """``ac-onecycle-best``: 1-cycle at its validated peak LR (:func:`best_configs`)."""
    return best_configs(profile, "onecycle", validated_onecycle_lr(profile))


# --- what a run computes (python -m thermo cost; tests/test_paper_configs.py) ---------------------------

def _probe_passes(config: dict, steps: int) -> tuple[int, int]:
    """(forward-and-backward passes, forward-only passes) of one batch that the run's instruments
    add to training: each APT probe's forward after its step; the LR range at initialization and
    after every epoch, per granularity one gradient and a forward at theta and at each LR of the
    grid; ActCoolLR's own probe, its calibration (an LR range) and its ceiling check."""
    points = configs.LRGrid.of(config).points
    every = config["probe_every"]
    backward, forward = 0, len(config["probe_grans"]) * (steps // every)
    if config["lr_range"]:
        ranges = (config["epochs"] + 1) * len(configs.GRANS)
        backward, forward = backward + ranges, forward + ranges * (1 + points)
    if config["schedule"] == "actcool":
        backward, forward = backward + 1, forward + steps // every + (1 + points) + 1
    return backward, forward


def plan_run(config: dict) -> RunPlan:
    """:func:`ac_run`'s run: the network with SGD, every epoch scored, and the APT probes and LR
    ranges as extra passes of one batch."""
    ds = data.shape(config["dataset"])
    cfg = train_config(config)
    n_test = config["n_test"] or ds.n_test
    n_val = config.get("n_val")
    n_train = (config["n_train"] or ds.n_train - n_val) if n_val else (config["n_train"] or ds.n_train)
    steps = cfg.epochs * math.ceil(n_train / cfg.batch_size)
    backward, forward = _probe_passes(config, steps)

    def build():
        return models.build(config["model"], ds.in_shape, ds.num_classes, width=config["width"])

    return torch_plan(build, ("ac", config["model"], ds.name, config["width"]), ds.in_shape, ds.num_classes, cfg,
                      n_train, n_val or n_test, train_examples=backward * cfg.batch_size,
                      forward_examples=forward * cfg.batch_size + (n_test if n_val else 0),
                      note="APT probes and LR ranges: extra passes of one batch")


FIG1 = register(Experiment("ac-fig1-schedules", VERSION, configs.fig1_configs, ac_run,
                           "ActCoolR Figs. 1-2: APT under four LR schedules, the LR range over training", check,
                           plan=plan_run))
FIG3 = register(Experiment("ac-fig3-cooling", VERSION, configs.fig3_configs, ac_run,
                           "ActCoolR Fig. 3 / Table 2: ActCoolLR following linear cooling curves", check,
                           plan=plan_run))
TABLE1 = register(Experiment("ac-table1-fmnist", VERSION, configs.table1_configs, ac_run,
                             "ActCoolR Table 1, Fashion-MNIST: constant LR vs 1-cycle vs ActCoolLR", check,
                             plan=plan_run))
def register_tuning(tune_id: str, best_id: str, tune_configs, best_configs_fn, what: str) -> tuple:
    """A Table 1 baseline tuned on a validation split: the tuning grid (``tune_id``) and the baseline
    at its validated LR for every seed (``best_id``, which needs the grid)."""
    return (register(Experiment(tune_id, VERSION, tune_configs, ac_run,
                                f"ActCoolR Table 1: {what} tuned on a validation split (a fair rival for ActCoolLR)",
                                check, plan=plan_run)),
            register(Experiment(best_id, VERSION, best_configs_fn, ac_run,
                                f"ActCoolR Table 1: {what} at its validated value, every seed", check,
                                needs=(tune_id,), plan=plan_run)))


CONST_TUNE, CONST_BEST = register_tuning("ac-table1-const-tune", "ac-table1-const-best", configs.const_tune_configs,
                                         const_best_configs, "the constant LR")
ONECYCLE_TUNE, ONECYCLE_BEST = register_tuning("ac-onecycle-tune", "ac-onecycle-best", configs.onecycle_tune_configs,
                                               onecycle_best_configs, "1-cycle's peak LR")
TUNING = {"constant": (CONST_TUNE.id, CONST_BEST.id),
          "onecycle": (ONECYCLE_TUNE.id, ONECYCLE_BEST.id)}  # Table 1's tuned baselines: (grid, best)


def tuned_baseline(profile: str, schedule: str, run) -> tuple:
    """A tuned baseline of Table 1 (a key of :data:`TUNING`) as the chapter shows it: the tuning
    table (:func:`analysis.tune_table`, ``None`` until the grid is cached), the runs at the validated
    LR (``[]`` until cached) and, while either is missing or the best LR sits on the grid's edge, why.
    ``run(experiment_id, profile)`` loads (or computes) an experiment's records: ``catalog.run``."""
    tune_id, best_id = TUNING[schedule]
    try:
        tune = analysis.tune_table(run(tune_id, profile))
    except (MissingResults, ConfigError) as err:
        return None, [], str(err)
    try:
        return tune, run(best_id, profile), ""
    except (MissingResults, ConfigError) as err:
        return tune, [], str(err)


"""ActCoolR's analysis (chapter ``notebooks/actcoolr/01-activation-pattern-temperature``): records
in, tables and named facts out. The single source of every number the chapter states and every
claim (:mod:`thermo.papers.actcoolr.claims`) measures.

Records are those of :mod:`thermo.papers.actcoolr.runs` (``ac-*``): a step history with the mean
APT (the paper's eqs. 1-4) under ``apt_<granularity>`` and each ReLU layer's under
``apt_<granularity>:<layer>`` (measured every ``probe_every`` steps, their steps under
``step:<key>``), the learning rate of every step under ``lr``, and for some runs the LR range of a
fixed batch after every epoch (the paper's Fig. 2). By section of the chapter:

- which granularity (:func:`granularity_table`, :func:`granularity_facts`);
- Fig. 1, APT under schedules (:func:`onecycle_decay_linearity`, :func:`layer_linearity`,
  :func:`linearity_estimate`, :func:`schedule_facts`) and per layer (:func:`cooling_order`,
  :func:`layer_order_facts`);
- eq. 5 and Fig. 2, the erf model against its exponential rival (:func:`range_fit_table`,
  :func:`erf_fit_summary`, :func:`erf_win_share`, :func:`network_fit_table`, :func:`sigma_cv`,
  :func:`sigma_cv_estimate`, :func:`erf_facts`);
- Fig. 3 and Table 2, ActCoolLR (:func:`tracking_table`, :func:`tracking_estimate`,
  :func:`cooling_facts`, :func:`budget_table`);
- Table 1 (:func:`table1`, :func:`actcool_minus`, :func:`table1_facts`) and the constant LR tuned
  on a validation split (:func:`tune_table`, :func:`validated_lr`, :func:`tune_facts`);
- the cost of a probe (:func:`probe_cost`, :func:`probe_cost_facts`);
- the tables as the chapter shows them (``show_*``: :class:`thermo.tables.Table`, HTML with a unit
  in every numeric header), built from the tables above without changing them.

A ``*_facts`` function returns ``{glue key: text}`` for ``figures.glue_facts``. Every interval
is an :class:`thermo.claims.Estimate` (95 %), written ``est [lo, hi]``: the claims
(:mod:`thermo.papers.actcoolr.claims`) measure these same estimates.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from thermo import actcool, apt, data, models, paths, tables
from thermo.claims import Estimate
from thermo.errors import ConfigError, MissingResults
from thermo.papers.actcoolr import configs


class Series(NamedTuple):
    steps: np.ndarray
    values: np.ndarray


class EpochMeans(NamedTuple):
    epochs: np.ndarray  # counted from 1
    means: np.ndarray


# --- records --------------------------------------------------------------------------------------

def finished(records) -> list[dict]:
    """The runs that ended ``ok`` (a diverged run has no final numbers to compare)."""
    return [r for r in records if r["status"] == "ok"]


def by_schedule(records) -> dict[str, dict]:
    """The finished runs of ``ac-fig1-schedules`` by schedule, in the order of Fig. 1."""
    runs = {r["config"]["schedule"]: r for r in finished(records)}
    return {s: runs[s] for s in configs.SCHEDULES if s in runs}


def require(runs: dict, *schedules: str) -> None:
    """:class:`MissingResults` unless every schedule has a finished run."""
    missing = [s for s in schedules if s not in runs]
    if missing:
        raise MissingResults(f"no finished {', '.join(missing)} run of ac-fig1-schedules")


def range_runs(runs: dict) -> dict[str, dict]:
    """The runs with an LR range after every epoch (1-cycle and step decay)."""
    return {s: runs[s] for s in configs.RANGE_SCHEDULES if s in runs}


def series(record, key: str) -> Series:
    """``(steps, values)`` of one probed quantity of a run's step history."""
    h = record["data"]["step_history"]
    return Series(np.asarray(h[f"step:{key}"], dtype=float), np.asarray(h[key], dtype=float))


def steps_per_epoch(record) -> int:
    c = record["config"]
    return -(-c["n_train"] // c["batch_size"])


def epoch_means(record, key: str) -> EpochMeans:
    """The mean of a probed quantity over the measurements of each epoch, epochs counted from 1
    (an epoch without a measurement is left out)."""
    steps, values = series(record, key)
    spe = steps_per_epoch(record)
    epoch = ((steps - 1) // spe).astype(int)  # the history counts steps from 1 (after the optimizer step)
    epoch = np.minimum(epoch, record["config"]["epochs"] - 1)
    out_e, out_v = [], []
    for e in np.unique(epoch):
        out_e.append(e + 1)
        out_v.append(values[epoch == e].mean())
    return EpochMeans(np.asarray(out_e), np.asarray(out_v))


def final_test_error(record) -> float:
    """Final test error in %."""
    return 100 * (1 - record["data"]["final_test_acc"])


def layer_names(record, granularity: str) -> list[str]:
    """The ReLU layers of a run in network order: the results store sorts keys as text, so the order
    comes from the model the config builds (``models.relu_modules``); names the model lacks keep
    their stored order at the end."""
    prefix = f"apt_{granularity}:"
    stored = [k[len(prefix):] for k in record["data"]["step_history"] if k.startswith(prefix)]
    c = record["config"]
    try:
        sp = data.spec(c["dataset"])
        order = [n for n, _ in models.relu_modules(models.build(c["model"], sp.in_shape, sp.num_classes,
                                                                width=c["width"]))]
    except (KeyError, ConfigError):  # a record without a buildable model: keep the stored order
        return stored
    return [n for n in order if n in stored] + [n for n in stored if n not in order]


# --- which granularity: the LR range of the network -----------------------------------------------

def mean_p_change(row) -> np.ndarray:
    """``1 - 2^-T`` of the mean over layers of T: the network's probability, as ActCoolLR uses it."""
    n = min(row["n_patterns"].values())
    temps = np.array([[apt.temperature(1.0 - q, n) for q in p] for p in row["p_change"].values()])
    return 1.0 - 2.0 ** (-temps.mean(axis=0))


def range_row(record, epoch: int, granularity: str) -> dict:
    """The LR range of one granularity measured after ``epoch`` (0: at initialization)."""
    rows = record["data"]["lr_range"]["rows"]
    return next(r for r in rows if r["epoch"] == epoch and r["granularity"] == granularity)


def network_range(record, epoch: int) -> dict[str, np.ndarray]:
    """The network's probability of a changed pattern over the LR grid, per granularity, after ``epoch``."""
    return {row["granularity"]: mean_p_change(row) for row in record["data"]["lr_range"]["rows"]
            if row["epoch"] == epoch}


def lr_grid(record) -> np.ndarray:
    """The learning rates of a run's LR range."""
    return np.asarray(record["data"]["lr_range"]["lrs"], dtype=float)


def half_change_lr(lrs, p) -> float:
    """The learning rate at which ``p`` (rising over the log grid ``lrs``) crosses 0.5, interpolated
    in log lr; ``inf`` if it stays below 0.5 over the whole grid, ``0.0`` if it is already above at
    the grid's first point (a grid edge is not a measurement)."""
    lrs, p = np.asarray(lrs, dtype=float), np.asarray(p, dtype=float)
    if p.max() < 0.5:
        return float("inf")
    if p[0] >= 0.5:
        return 0.0
    return float(np.exp(np.interp(0.5, p, np.log(lrs))))


def lr_text(lr: float, lrs) -> str:
    """A learning rate from :func:`half_change_lr` as text: beyond or below the grid at its edges."""
    if np.isinf(lr):
        return f"beyond the grid (> {max(lrs):g})"
    if lr == 0.0:
        return f"below the grid (< {min(lrs):g})"
    return f"{lr:.3g}"


def granularity_table(cycle) -> pd.DataFrame:
    """Per granularity, from the 1-cycle run: the fewest patterns per layer, the network's
    probability of a change at lr 0.05 at initialization, the lr at which it is 0.5 at
    initialization and after the last epoch (as text: "beyond the grid" where it is never
    reached), and the mean APT over the first half of training."""
    lrs, last, half_way = lr_grid(cycle), cycle["config"]["epochs"], cycle["config"]["epochs"] // 2
    rows = []
    for g in configs.GRANS:
        first = range_row(cycle, 0, g)
        p0, p1 = mean_p_change(first), mean_p_change(range_row(cycle, last, g))
        row = {"granularity": g, "patterns per layer (fewest)": min(first["n_patterns"].values()),
               "P(change) at lr 0.05, initialization": float(np.interp(np.log(0.05), np.log(lrs), p0)),
               "lr at P = 0.5, initialization": lr_text(half_change_lr(lrs, p0), lrs),
               "lr at P = 0.5, last epoch": lr_text(half_change_lr(lrs, p1), lrs)}
        if f"apt_{g}" in cycle["data"]["step_history"]:
            row["mean APT in training, first half"] = float(epoch_means(cycle, f"apt_{g}").means[:half_way].mean())
        rows.append(row)
    return pd.DataFrame(rows).set_index("granularity")


def granularity_facts(gran: pd.DataFrame, cycle) -> dict[str, str]:
    p, half = "P(change) at lr 0.05, initialization", "lr at P = 0.5, "
    return {
        "ac-p-example": f"{gran.loc['example', p]:.3f}",
        "ac-p-neuron": f"{gran.loc['neuron', p]:.3f}",
        "ac-t-example-train": f"{gran.loc['example', 'mean APT in training, first half']:.2f}",
        "ac-ceiling": f"{actcool.ceiling(cycle['config']['batch_size']):.2f}",
        "ac-pos-shift": f"{gran.loc['position', half + 'initialization']} at initialization to "
                        f"{gran.loc['position', half + 'last epoch']} after the last epoch",
        "ac-ex-shift": f"{gran.loc['example', half + 'initialization']} to "
                       f"{gran.loc['example', half + 'last epoch']}",
    }


# --- Fig. 1: what schedules do to the temperature -------------------------------------------------

def line_r2(x, y) -> float:
    """R^2 of the least-squares line through ``(x, y)``."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    slope, icpt = np.polyfit(x, y, 1)
    resid = y - (slope * x + icpt)
    return float(1 - np.sum(resid**2) / np.sum((y - y.mean()) ** 2))


def onecycle_decay_linearity(record, key: str = "apt_position", pct_start: float = configs.PCT_START) -> dict:
    """Fig. 1's observation: the per-epoch mean APT over the epochs that lie wholly in the decay
    phase of the 1-cycle schedule (after ``pct_start`` of training), its line fit's R^2 and slope
    (temperature per epoch)."""
    epochs, means = epoch_means(record, key)
    first = int(np.ceil(pct_start * record["config"]["epochs"])) + 1
    mask = epochs >= first
    x, y = epochs[mask], means[mask]
    if x.size < 3:
        return {"r2": float("nan"), "slope": float("nan"), "epochs": x.tolist(), "means": y.tolist()}
    return {"r2": line_r2(x, y), "slope": float(np.polyfit(x, y, 1)[0]), "epochs": x.tolist(), "means": y.tolist()}


def epoch_lr(record, epochs) -> np.ndarray:
    """The mean learning rate of each of ``epochs`` (counted from 1) over its steps."""
    lr, spe = np.asarray(record["data"]["step_history"]["lr"], dtype=float), steps_per_epoch(record)
    return np.array([lr[(e - 1) * spe:e * spe].mean() for e in np.asarray(epochs, dtype=int)])


def line_rmse(x, y) -> float:
    """Root-mean-square residual of the least-squares line of ``y`` on ``x``."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    slope, icpt = np.polyfit(x, y, 1)
    return float(np.sqrt(np.mean((y - (slope * x + icpt)) ** 2)))


def power_fit(lr, y) -> tuple[float, float]:
    """``(rmse, b)`` of the least-squares fit ``y = a * lr**b`` (started from the log-log line of
    the positive points); ``(nan, nan)`` if it does not converge."""
    from scipy.optimize import curve_fit

    lr, y = np.asarray(lr, float), np.asarray(y, float)
    pos = (lr > 0) & (y > 0)
    if pos.sum() < 2:
        return float("nan"), float("nan")
    b0, loga0 = np.polyfit(np.log(lr[pos]), np.log(y[pos]), 1)
    try:
        (a, b), _ = curve_fit(lambda x, a, b: a * x**b, lr, y, p0=[np.exp(loga0), b0], maxfev=20000)
    except (RuntimeError, ValueError):
        return float("nan"), float("nan")
    return float(np.sqrt(np.mean((a * lr**b - y) ** 2))), float(b)


def layer_linearity(record, granularity: str = "position", pct_start: float = configs.PCT_START) -> pd.DataFrame:
    """Is the cooling linear beyond what the learning rate explains? Per ReLU layer, over the epochs
    of 1-cycle's decay phase (:func:`onecycle_decay_linearity`): the RMSE of a line in the epoch
    through the layer's per-epoch mean APT, and of two rivals with as many parameters that make the
    temperature a function of the epoch's mean LR alone, affine (``rmse_affine``) and a power
    ``a * lr**b`` (``rmse_power``, ``exponent`` b); ``ratio`` is the line's RMSE over the better
    rival's (below 1: the line fits better than the LR explains)."""
    rows = []
    for name in layer_names(record, granularity):
        lin = onecycle_decay_linearity(record, f"apt_{granularity}:{name}", pct_start)
        if len(lin["epochs"]) < 3:
            continue
        x, y, lr = np.asarray(lin["epochs"], float), np.asarray(lin["means"], float), epoch_lr(record, lin["epochs"])
        rmse_line, rmse_affine = line_rmse(x, y), line_rmse(lr, y)
        rmse_power, exponent = power_fit(lr, y)
        rival = np.nanmin([rmse_affine, rmse_power])
        rows.append({"layer": name, "rmse_line": rmse_line, "rmse_affine": rmse_affine, "rmse_power": rmse_power,
                     "exponent": exponent, "ratio": rmse_line / rival if rival > 0 else np.nan})
    return pd.DataFrame(rows, columns=["layer", "rmse_line", "rmse_affine", "rmse_power", "exponent", "ratio"])


def linearity_estimate(layers: pd.DataFrame) -> Estimate:
    """The mean over layers of :func:`layer_linearity`'s ratio (the line's RMSE over the better
    LR-only fit's), with its bootstrap interval over layers."""
    ratios = layers.ratio.dropna().to_numpy()
    if ratios.size < 2:
        raise MissingResults(f"{ratios.size} layer(s) with a decay phase of at least 3 epochs; an interval needs 2")
    return Estimate.bootstrap(ratios, np.mean, method="bootstrap over layers",
                              detail=f"RMSE of a line in the epoch over that of the better LR-only fit (affine "
                                     f"in the LR, or a * lr^b), per-epoch mean APT of each of {ratios.size} ReLU "
                                     "layers over 1-cycle's decay phase, mean over layers")


SCHEDULE_WORDS = {"onecycle": "1-cycle", "step": "step decay", "constant": "constant LR"}  # as the page names them


def schedule_table(runs: dict) -> pd.DataFrame:
    """Per schedule of Fig. 1: the mean APT ('position') of the last epoch and the final test error."""
    final_t = {s: float(epoch_means(r, "apt_position").means[-1]) for s, r in runs.items()}
    return pd.DataFrame({"final mean APT": final_t,
                         "final test error (%)": {s: final_test_error(r) for s, r in runs.items()}})


def onecycle_peak_temperature(cycle) -> float:
    """The mean APT of the 1-cycle run over the epochs around its largest learning rate."""
    means = epoch_means(cycle, "apt_position").means
    peak = int(np.argmax(cycle["data"]["history"]["lr"]))  # the epoch (from 0) with the largest learning rate
    return float(means[max(0, peak - 1):peak + 2].mean())


def schedule_facts(runs: dict) -> dict[str, str]:
    """The constant run's first temperatures, 1-cycle's at its peak and its linear decay, the final
    temperature and test error per schedule."""
    const, cycle = runs["constant"], runs["onecycle"]
    first = series(const, "apt_position").values
    later = epoch_means(const, "apt_position").means
    lin = onecycle_decay_linearity(cycle)
    table = schedule_table(runs)
    lr_r2 = line_r2(lin["epochs"], epoch_lr(cycle, lin["epochs"])) if len(lin["epochs"]) >= 3 else float("nan")
    layers = layer_linearity(cycle)
    try:
        ratio = linearity_estimate(layers)
        versus = (f"{ratio.text()} (mean over {ratio.n} layers; the line is better in {int((layers.ratio < 1).sum())}; "
                  f"median exponent b {layers.exponent.median():.2f})")
    except MissingResults:
        versus = "not measurable (too few epochs in the decay phase)"
    return {
        "ac-t-first": f"{first[0]:.2f} and {first[1]:.2f}",
        "ac-t-later": f"{later[1]:.2f}" if len(later) > 1 else "n/a",
        "ac-t-onecycle-peak": f"{onecycle_peak_temperature(cycle):.2f}",
        "ac-linear-r2": f"{lin['r2']:.3f}",
        "ac-linear-lr-r2": f"{lr_r2:.3f}",
        "ac-linear-vs-lr": versus,
        "ac-linear-slope": f"{lin['slope']:.3f} per epoch",
        "ac-final-t": ", ".join(f"{SCHEDULE_WORDS.get(s, s)} {t:.2g} bits" for s, t in table["final mean APT"].items()),
        "ac-fig1-errors": ", ".join(f"{s} {e:.1f} %" for s, e in table["final test error (%)"].items()),
    }


def cooling_order(record, granularity: str = "position", fraction: float = 0.5) -> dict:
    """Does APT cool from bottom to top? For every ReLU layer, its first-epoch mean T and the first
    epoch whose mean T falls below ``fraction`` of it; the Spearman correlations of depth with the
    first-epoch T (``hotter_deeper``, positive: deeper layers are hotter) and with that epoch
    (``spearman``, positive: deeper layers cool later)."""
    from scipy.stats import spearmanr

    names = layer_names(record, granularity)
    when, start = [], []
    for name in names:
        e, m = epoch_means(record, f"apt_{granularity}:{name}")
        below = np.nonzero(m < fraction * m[0])[0]
        when.append(float(e[below[0]]) if below.size else float(e[-1] + 1))
        start.append(float(m[0]))
    depth = np.arange(len(names))
    rho = spearmanr(depth, when).statistic if len(set(when)) > 1 else float("nan")
    hot = spearmanr(depth, start).statistic if len(set(start)) > 1 else float("nan")
    return {"layers": names, "epoch": when, "first_epoch_t": start, "spearman": float(rho),
            "hotter_deeper": float(hot)}


def layer_order_facts(runs: dict) -> dict[str, str]:
    """The two rank correlations of :func:`cooling_order` for the runs with an LR range."""
    orders = {s: cooling_order(r) for s, r in range_runs(runs).items()}
    return {"ac-hotter-deeper": ", ".join(f"{s} {o['hotter_deeper']:+.2f}" for s, o in orders.items()),
            "ac-cool-order": ", ".join(f"{s} {o['spearman']:+.2f}" for s, o in orders.items())}


# --- eq. 5 and Fig. 2: the erf model against its exponential rival --------------------------------

def transition(p, pad: int = 1):
    """Indices of the LR grid inside the transition (0.01 < P < 0.99), padded by ``pad`` points on
    each side: where the two models of the LR range differ."""
    p = np.asarray(p)
    inside = np.nonzero((p > 0.01) & (p < 0.99))[0]
    if inside.size == 0:
        return np.arange(p.size)
    return np.arange(max(0, inside[0] - pad), min(p.size, inside[-1] + pad + 1))


@dataclass(frozen=True)
class LayerFit:
    """One LR range with the erf model (eq. 5) and the exponential rival fitted to it (``None``
    where a fit failed)."""

    lrs: np.ndarray
    p: np.ndarray
    erf: apt.Fit | None
    exponential: apt.Fit | None


def fit_both(lrs, p) -> LayerFit:
    lrs, p = np.asarray(lrs, dtype=float), np.asarray(p, dtype=float)
    try:
        return LayerFit(lrs, p, apt.fit_erf(lrs, p), apt.fit_exponential(lrs, p))
    except (RuntimeError, ConfigError):  # curve_fit gave up, or a flat curve
        return LayerFit(lrs, p, None, None)


def layer_fit(record, layer: str, epoch: int, granularity: str = "position") -> LayerFit:
    """Both models fitted to one layer's LR range after ``epoch``."""
    return fit_both(lr_grid(record), range_row(record, epoch, granularity)["p_change"][layer])


def range_fits(record, granularity: str = "position") -> pd.DataFrame:
    """The erf model and its exponential rival fitted to every layer's LR range after every epoch:
    one row per (epoch, layer) with mu, sigma and R^2 of the erf fit, lr0 of the exponential fit,
    and both fits' root-mean-square error over the transition. A row whose fit fails to converge
    keeps NaN (and says so)."""
    lrs = lr_grid(record)
    rows = []
    for row in record["data"]["lr_range"]["rows"]:
        if row["granularity"] != granularity:
            continue
        for layer, p in row["p_change"].items():
            f = fit_both(lrs, p)
            out = {"epoch": row["epoch"], "layer": layer, "mu": np.nan, "sigma": np.nan, "r2_erf": np.nan,
                   "lr0": np.nan, "rmse_erf": np.nan, "rmse_exp": np.nan, "converged": f.erf is not None}
            if f.erf is not None:
                idx = transition(f.p)
                out.update(mu=f.erf["mu"], sigma=f.erf["sigma"], r2_erf=f.erf.r2, lr0=f.exponential["lr0"],
                           rmse_erf=float(np.sqrt(np.mean(f.erf.residuals[idx] ** 2))),
                           rmse_exp=float(np.sqrt(np.mean(f.exponential.residuals[idx] ** 2))))
            rows.append(out)
    return pd.DataFrame(rows)


def range_fit_table(runs: dict) -> pd.DataFrame:
    """:func:`range_fits` of every run with an LR range, with a ``schedule`` column."""
    return pd.concat([range_fits(r).assign(schedule=s) for s, r in range_runs(runs).items()], ignore_index=True)


@dataclass(frozen=True)
class ErfFitSummary:
    median_r2: float  # of the erf model, over the converged (run, epoch, layer) fits
    exp_better: float  # fraction of those fits where the exponential has the smaller RMSE over the transition
    n: int


def erf_fit_summary(fits: pd.DataFrame) -> ErfFitSummary:
    ok = fits.dropna(subset=["r2_erf"])
    if not len(ok):
        return ErfFitSummary(float("nan"), float("nan"), 0)
    return ErfFitSummary(float(ok.r2_erf.median()), float((ok.rmse_exp < ok.rmse_erf).mean()), len(ok))


def erf_win_share(fits: pd.DataFrame) -> Estimate:
    """The share of (run, epoch, layer) fits in which the erf model has the smaller RMSE over the
    transition than its exponential rival, with a bootstrap interval over layers (a layer's fits
    of one run, every epoch, are resampled together: they are not independent)."""
    ok = fits.dropna(subset=["rmse_erf", "rmse_exp"])
    groups = [(g.rmse_erf < g.rmse_exp).to_numpy() for _, g in ok.groupby(["schedule", "layer"])]
    if len(groups) < 2:
        raise MissingResults(f"{len(groups)} layer(s) with converged fits; an interval needs 2")

    def share(sample):
        return float(np.concatenate(sample).mean())

    return Estimate.bootstrap(groups, share, method="bootstrap over layers", unit="%",
                              detail=f"share of {len(ok)} fits ({len(groups)} layers of {ok.schedule.nunique()} "
                                     "runs, every epoch; 'position' patterns) where the erf model's RMSE over the "
                                     "transition is below that of 1 - exp(-lr/lr0)")


def erf_table(fits: pd.DataFrame) -> pd.DataFrame:
    """Per run, the medians over its layer fits."""
    cols = ["r2_erf", "rmse_erf", "rmse_exp", "sigma"]
    return fits.dropna(subset=["r2_erf"]).groupby("schedule")[cols].median()


def network_fits(record, granularity: str = "position") -> pd.DataFrame:
    """The erf model fitted to the network's probability (:func:`mean_p_change`) after every epoch:
    epoch, mu, sigma, R^2. sigma's coefficient of variation over epochs is the paper's "nearly
    constant" claim."""
    lrs = lr_grid(record)
    rows = []
    for row in record["data"]["lr_range"]["rows"]:
        if row["granularity"] == granularity:
            try:
                f = apt.fit_erf(lrs, mean_p_change(row))
            except (RuntimeError, ConfigError):  # curve_fit gave up, or a flat curve: no row, not a made-up one
                continue
            rows.append({"epoch": row["epoch"], "mu": f["mu"], "sigma": f["sigma"], "r2": f.r2,
                         "sigma_se": f.errors["sigma"]})
    return pd.DataFrame(rows)


def network_fit_table(runs: dict) -> pd.DataFrame:
    """:func:`network_fits` of every run with an LR range, with a ``schedule`` column."""
    return pd.concat([network_fits(r).assign(schedule=s) for s, r in range_runs(runs).items()], ignore_index=True)


def sigma_cv(net: pd.DataFrame) -> dict[str, float]:
    """Per run, the coefficient of variation (std / mean) of the network's sigma over epochs."""
    return {s: float(g.sigma.std(ddof=1) / g.sigma.mean()) for s, g in net.groupby("schedule")}


def sigma_cv_estimate(net: pd.DataFrame) -> Estimate:
    """The mean over runs of :func:`sigma_cv` with its t interval over runs."""
    cvs = sigma_cv(net)
    if len(cvs) < 2:
        raise MissingResults(f"{len(cvs)} run(s) with an LR range; an interval needs 2")
    per_run = ", ".join(f"{s} {100 * v:.1f} %" for s, v in cvs.items())
    return Estimate.mean(list(cvs.values()), unit="%",
                         detail="std / mean of sigma over epochs, erf fitted to the network's probability "
                                f"('position') after every epoch, mean over runs; per run: {per_run}")


def exponential_erf_widths(lrs, lr0s=(1e-2, 1e-1, 1.0)) -> dict[float, float]:
    """sigma of the erf model fitted to an exact exponential curve ``1 - exp(-lr/lr0)`` on ``lrs``:
    the same for every lr0 (its width in log lr is fixed)."""
    lrs = np.asarray(lrs, dtype=float)
    return {lr0: apt.fit_erf(lrs, apt.exponential_model(lrs, lr0))["sigma"] for lr0 in lr0s}


def exponential_sigma(widths: dict[float, float]) -> float:
    """The erf width of an exponential curve: the mean of :func:`exponential_erf_widths`."""
    return float(np.mean(list(widths.values())))


def exponential_sigma_facts(widths: dict[float, float]) -> dict[str, str]:
    return {"ac-exp-sigma": f"{exponential_sigma(widths):.2f}",
            "ac-exp-sigma-each": ", ".join(f"lr0 = {k:g}: {v:.3f}" for k, v in widths.items())
                                 + f" (pi/sqrt(6) = {np.pi / np.sqrt(6):.3f})"}


def erf_facts(fits: pd.DataFrame, net: pd.DataFrame) -> dict[str, str]:
    """The erf model's median R^2, how often its rival fits better, sigma's range and coefficient of
    variation per run, and where 1-cycle's network transition (exp(mu)) moves during training."""
    s = erf_fit_summary(fits)
    cycle = net[net.schedule == "onecycle"]
    try:
        wins = erf_win_share(fits).text()
    except MissingResults:
        wins = "not measurable (fewer than two layers)"
    try:
        cv = sigma_cv_estimate(net).text()
    except MissingResults:
        cv = "not measurable (one run)"
    return {
        "ac-erf-r2": f"{s.median_r2:.3f}" if s.n else "n/a",
        "ac-erf-n": f"{s.n}",
        "ac-exp-better": f"{100 * s.exp_better:.0f} %",
        "ac-erf-wins": wins,
        "ac-sigma-cv": ", ".join(f"{k} {100 * v:.1f} %" for k, v in sigma_cv(net).items()),
        "ac-sigma-cv-mean": cv,
        "ac-sigma-range": f"{net.sigma.min():.2f} to {net.sigma.max():.2f}" if len(net) else "n/a",
        "ac-cycle-mu": f"{np.exp(cycle.mu.iloc[0]):.3f} at initialization to {np.exp(cycle.mu.max()):.2f}"
                       if len(cycle) else "n/a",
    }


# --- Fig. 3 and Table 2: ActCoolLR -----------------------------------------------------------------

def tracking_error(record, warmup: float = 0.1, stop: float = 0.9) -> float:
    """ActCoolLR: mean of |T - C| / C over the measurements between ``warmup`` and ``stop`` of
    training (the target C falls to 0 at the end, where a relative error means nothing)."""
    steps, t = series(record, "apt")
    c = series(record, "target_apt").values
    total = record["config"]["epochs"] * steps_per_epoch(record)
    mask = (steps >= warmup * total) & (steps <= stop * total) & (c > 0)
    if not mask.any():
        return float("nan")
    return float(np.mean(np.abs(t[mask] - c[mask]) / c[mask]))


def epoch_tracking_error(record, warmup: float = 0.1, stop: float = 0.9) -> float:
    """ActCoolLR: mean over epochs of |mean T - mean C| / mean C, each mean over the epoch's
    measurements between ``warmup`` and ``stop`` of training: the deviation of the temperature
    from its target once the scatter of single one-batch measurements is averaged out."""
    steps, t = series(record, "apt")
    c = series(record, "target_apt").values
    total = record["config"]["epochs"] * steps_per_epoch(record)
    mask = (steps >= warmup * total) & (steps <= stop * total) & (c > 0)
    epoch = ((steps - 1) // steps_per_epoch(record)).astype(int)
    devs = []
    for e in np.unique(epoch[mask]):
        m = mask & (epoch == e)
        devs.append(abs(t[m].mean() - c[m].mean()) / c[m].mean())
    return float(np.mean(devs)) if devs else float("nan")


def full_length(records, profile: str) -> list[dict]:
    """The finished gamma-sweep runs of ``ac-fig3-cooling`` (the full epoch budget), all seeds."""
    return [r for r in finished(records) if r["config"]["epochs"] == configs.FIGS[profile].epochs]


def main_cooling_runs(records, profile: str) -> list[dict]:
    """Fig. 3: the full-length runs of the first seed, by gamma."""
    seed = configs.FIG3[profile].seeds[0]
    return sorted([r for r in full_length(records, profile) if r["config"]["seed"] == seed],
                  key=lambda r: r["config"]["gamma"])


def budget_runs(records, profile: str) -> list[dict]:
    """Table 2: the gamma = 1 runs of the first seed, one per epoch budget, shortest first."""
    seed = configs.FIG3[profile].seeds[0]
    return sorted([r for r in finished(records) if r["config"]["gamma"] == 1.0 and r["config"]["seed"] == seed],
                  key=lambda r: r["config"]["epochs"])


def half_change_lrs(record) -> tuple[float, float]:
    """exp(mu): the learning rate at which ActCoolLR's model puts P(change) = 0.5, first and last estimate."""
    mu = np.asarray(record["data"]["step_history"]["mu"], dtype=float)
    return float(np.exp(mu[0])), float(np.exp(mu[-1]))


def tracking_table(records, profile: str) -> pd.DataFrame:
    """One row per full-length ActCoolLR run: gamma, seed, tracking error of single measurements
    and of epoch means, mean LR, the LR of P = 0.5 (first and last estimate) and the test error."""
    rows = []
    for r in full_length(records, profile):
        first, last = half_change_lrs(r)
        rows.append({"gamma": r["config"]["gamma"], "seed": r["config"]["seed"],
                     "tracking error (%)": 100 * tracking_error(r),
                     "epoch tracking error (%)": 100 * epoch_tracking_error(r),
                     "mean LR": float(np.mean(r["data"]["step_history"]["lr"])),
                     "LR at P = 0.5, first": first, "LR at P = 0.5, last": last, "test error (%)": final_test_error(r)})
    return pd.DataFrame(rows)


def tracking_estimate(track: pd.DataFrame, column: str = "epoch tracking error (%)") -> Estimate:
    """The mean over full-length runs (every gamma and seed) of a tracking error of
    :func:`tracking_table`, as a fraction, with its t interval over runs."""
    values = track[column].dropna().to_numpy() / 100
    if values.size < 2:
        raise MissingResults(f"{values.size} finished ActCoolLR run(s); an interval needs 2")
    what = ("|mean T - mean C| / mean C per epoch (measurements averaged over the epoch)" if column.startswith("epoch")
            else "|T - C| / C of single measurements")
    return Estimate.mean(values, unit="%", detail=f"mean {what} from 10 % to 90 % of training, mean over "
                                                  f"{values.size} runs (every gamma and seed)")


def per_gamma_table(track: pd.DataFrame) -> pd.DataFrame:
    """Mean, standard deviation and count over seeds, per gamma."""
    cols = ["tracking error (%)", "epoch tracking error (%)", "test error (%)", "mean LR"]
    return track.groupby("gamma")[cols].agg(["mean", "std", "count"])


def hot_cold_difference(track: pd.DataFrame) -> Estimate | None:
    """Test error of the hottest curve (largest gamma) minus the coldest, paired by seed (a
    fraction, shown in points); ``None`` with fewer than two seeds."""
    pairs = track.pivot_table(index="seed", columns="gamma", values="test error (%)")
    both = pairs[[pairs.columns.min(), pairs.columns.max()]].dropna()
    if len(both) < 2:
        return None
    return Estimate.paired(both[pairs.columns.max()] / 100, both[pairs.columns.min()] / 100, unit="pt")


def mean_text(values, unit: str = "%") -> str:
    """A mean of values given in percent, ``est [lo, hi]`` (t over seeds) when there are two or more."""
    v = np.asarray(values, dtype=float) / 100
    if v.size < 2:
        return f"{100 * v.mean():.1f} {unit} (one seed)"
    return Estimate.mean(v, unit=unit, method="t over runs").text()


def cooling_facts(track: pd.DataFrame, profile: str) -> dict[str, str]:
    """Fig. 3: tracking errors, test error per gamma, the learning rates chosen and exp(mu)."""
    errors = track.groupby("gamma")["test error (%)"]
    main = track[track.seed == configs.FIG3[profile].seeds[0]].set_index("gamma").sort_index()
    d = hot_cold_difference(track)
    est = {}
    for key, column in (("ac-track", "epoch tracking error (%)"), ("ac-track-single", "tracking error (%)")):
        try:
            est[key] = tracking_estimate(track, column).text()
        except MissingResults:
            est[key] = f"{track[column].mean():.1f} % (one run)"
    return {
        **est,
        "ac-fig3-errors": ", ".join(f"gamma = {g:g}: {mean_text(e)}" for g, e in errors),
        "ac-fig3-seeds": f"{int(errors.count().min())}",
        "ac-fig3-mean-lr": f"{track['mean LR'].min():.3f} to {track['mean LR'].max():.3f}",
        "ac-fig3-mu": ", ".join(f"gamma = {g:g}: {r['LR at P = 0.5, first']:.3f} to {r['LR at P = 0.5, last']:.3f}"
                                for g, r in main.iterrows()),
        "ac-fig3-hot-cold": f"{d.text()} ({d.n} seeds)" if d else "not measurable (one seed)",
    }


def budget_table(budget) -> pd.DataFrame:
    """Table 2: final test error and tracking errors (single measurements, epoch means) per epoch budget."""
    rows = [{"epochs": r["config"]["epochs"], "test error (%)": final_test_error(r),
             "tracking error (%)": 100 * tracking_error(r), "epoch tracking error (%)": 100 * epoch_tracking_error(r)}
            for r in budget]
    return pd.DataFrame(rows).set_index("epochs")


def budget_facts(table: pd.DataFrame) -> dict[str, str]:
    return {"ac-budget": ", ".join(f"{int(e)} epochs {v:.2f} %" for e, v in table["test error (%)"].items())}


# --- Table 1 ---------------------------------------------------------------------------------------

def table1(records) -> pd.DataFrame:
    """Table 1 analogue: test error (a fraction) per schedule, learning rate and seed (the
    finished runs of ``ac-table1-fmnist`` and ``ac-table1-const-best``). Columns schedule, lr,
    seed, error."""
    return pd.DataFrame([{"schedule": r["config"]["schedule"], "lr": r["config"]["lr"], "seed": r["config"]["seed"],
                          "error": 1 - r["data"]["final_test_acc"]} for r in finished(records)],
                        columns=["schedule", "lr", "seed", "error"])


def table1_summary(t1: pd.DataFrame) -> pd.DataFrame:
    """Per schedule and learning rate: mean and standard deviation of the test error (%) over
    seeds, and the seeds."""
    out = t1.groupby(["schedule", "lr"]).error.agg(["mean", "std", "count"]).reset_index()
    out = out.assign(order=out.schedule.map(list(configs.TABLE1_SCHEDULES).index), mean=100 * out["mean"],
                     std=100 * out["std"])
    return out.sort_values(["order", "lr"]).drop(columns="order").set_index(["schedule", "lr"])


def actcool_minus(t1: pd.DataFrame, baseline: str, lr: float | None = None) -> Estimate | None:
    """ActCoolLR's test error minus ``baseline``'s (at ``lr``; default the baseline's LR in
    ``configs.LRS``), paired by seed (a fraction, shown in points); ``None`` with fewer than two
    seeds that have both."""
    lr = configs.LRS[baseline] if lr is None else lr
    base = t1[(t1.schedule == baseline) & np.isclose(t1.lr, lr)].set_index("seed").error
    act = t1[t1.schedule == "actcool"].set_index("seed").error
    seeds = sorted(set(base.index) & set(act.index))
    if len(seeds) < 2:
        return None
    a, b = act[seeds].to_numpy(), base[seeds].to_numpy()
    worse = int((a > b).sum())
    e = Estimate.paired(a, b, unit="pt", detail=f"ActCoolLR minus {SCHEDULE_NAMES[baseline]} (lr {lr:g}) test error, "
                                                f"paired by seed ({len(seeds)} seeds: {', '.join(map(str, seeds))}); "
                                                f"ActCoolLR is worse in {worse} of {len(seeds)}")
    return dataclasses.replace(e, facts={"worse": worse})


SCHEDULE_NAMES = {"constant": "constant LR", "step": "step decay", "onecycle": "1-cycle", "cosine": "cosine",
                  "actcool": "ActCoolLR"}


def minus_text(d: Estimate) -> str:
    """An :func:`actcool_minus` estimate as the page quotes it: the interval, the seeds where
    ActCoolLR is worse, and the smallest effect those seeds detect."""
    return (f"{d.text()} (ActCoolLR worse in {d.facts['worse']} of {d.n} seeds; smallest effect detectable with "
            f"80 % power {100 * d.detectable():.2g} pt)")


def table1_facts(t1: pd.DataFrame) -> dict[str, str]:
    """The untuned comparison of ``ac-table1-fmnist``: ActCoolLR minus the constant LR (0.05) and
    minus 1-cycle (peak 0.2), paired by seed, and the mean errors."""
    out = {}
    for key, baseline in (("ac-t1-diff", "constant"), ("ac-t1-vs-cycle", "onecycle")):
        d = actcool_minus(t1, baseline)
        out[key] = minus_text(d) if d else "not measurable (fewer than two seeds)"
    default = t1[np.isclose(t1.lr, t1.schedule.map(configs.LRS))]
    means = default.groupby("schedule").error.mean().reindex(list(configs.TABLE1_SCHEDULES)).dropna()
    out["ac-t1-errors"] = ", ".join(f"{SCHEDULE_NAMES[s]} {100 * m:.2f} %" for s, m in means.items())
    return out


def tune_table(records) -> pd.DataFrame:
    """The tuning runs of a baseline's LR (``ac-table1-const-tune``, ``ac-onecycle-tune``): one row per (lr, seed) with
    the final validation accuracy (0 for a run that diverged) and test accuracy."""
    rows = [{"lr": r["config"]["lr"], "seed": r["config"]["seed"],
             "val_acc": r["data"]["final_val_acc"] if r["status"] == "ok" else 0.0,
             "test_acc": r["data"].get("final_test_acc") if r["status"] == "ok" else np.nan} for r in records]
    return pd.DataFrame(rows, columns=["lr", "seed", "val_acc", "test_acc"])


def tune_summary(tune: pd.DataFrame) -> pd.DataFrame:
    """Final validation accuracy (%) per LR (rows) and seed (columns), with the mean over seeds."""
    out = 100 * tune.pivot_table(index="lr", columns="seed", values="val_acc")
    return out.assign(mean=out.mean(axis=1))


def validated_lr(tune: pd.DataFrame, grid, what: str = "the constant LR",
                 where: str = "configs.CONST_TUNE and run ac-table1-const-tune") -> float:
    """The LR of ``grid`` with the best mean validation accuracy over seeds; ConfigError if it sits
    on the grid's edge (a grid of three or more points: extend it and tune again). ``what`` names the
    baseline, ``where`` the grid to extend and the experiment to run again, in the errors."""
    means = tune.groupby("lr").val_acc.mean()
    if means.empty:
        raise MissingResults(f"no tuning run of {what}")
    best = float(means.idxmax())
    if len(grid) > 2 and np.isclose(best, [min(grid), max(grid)]).any():
        raise ConfigError(f"{what}'s best validated value is {best:g}, the edge of its grid "
                          f"{list(grid)}: extend {where} again")
    return best


def validated_or_none(tune: pd.DataFrame | None, grid) -> float | None:
    """:func:`validated_lr`, or ``None`` when there is no tuning yet or its best is on the grid's edge."""
    if tune is None or tune.empty:
        return None
    try:
        return validated_lr(tune, grid)
    except ConfigError:
        return None


FAIR_KEYS = {"constant": {"tune": "ac-t1-tune", "best-lr": "ac-t1-best-lr", "fair": "ac-t1-fair"},
             "onecycle": {"tune": "ac-t1-cycle-tune", "best-lr": "ac-t1-cycle-best-lr", "fair": "ac-t1-cycle-fair"}}


def fair_facts(tune: pd.DataFrame | None, t1: pd.DataFrame, grid, schedule: str = "constant") -> dict[str, str]:
    """The fair comparison of Table 1 against a tuned baseline (``schedule``: the constant LR, or
    1-cycle's peak LR): the validation accuracy per LR of its tuning (mean over seeds), the validated
    LR, and ActCoolLR minus the baseline at that LR, paired by seed, with the smallest effect its
    seeds could detect; keys :data:`FAIR_KEYS`. ``tune`` is
    ``None`` until the tuning grid is cached; ``t1`` must hold the baseline's validated runs."""
    keys = FAIR_KEYS[schedule]
    if tune is None or tune.empty:
        return {keys["tune"]: "not run yet", keys["best-lr"]: "not chosen yet", keys["fair"]: "not measured yet"}
    means = tune.groupby("lr").val_acc.mean()
    out = {keys["tune"]: ", ".join(f"lr {lr:g}: {100 * v:.2f} %" for lr, v in means.items())}
    try:
        best = validated_lr(tune, grid)
    except ConfigError:
        out.update({keys["best-lr"]: f"{float(means.idxmax()):g}, the edge of the grid (extend the grid)",
                    keys["fair"]: "not measured (no validated LR inside the grid)"})
        return out
    d = actcool_minus(t1, schedule, best)
    out[keys["best-lr"]] = f"{best:g}"
    out[keys["fair"]] = minus_text(d) if d else (f"not measured yet (the {SCHEDULE_NAMES[schedule]} runs at the "
                                                 "validated LR are not cached)")
    return out


# --- what a measurement costs ---------------------------------------------------------------------

@dataclass(frozen=True)
class ProbeCost:
    """The last ``make bench`` run of ``benchmarks/apt.py``: one row per (model, granularity)."""

    table: pd.DataFrame
    measured: str
    machine: str
    torch: str


def probe_cost(path: Path | None = None) -> ProbeCost | None:
    """The benchmark results at ``path`` (default ``benchmarks/results/apt.json``, written by
    ``make bench``); ``None`` if never measured."""
    path = Path(path) if path is not None else paths.repo_root() / "benchmarks" / "results" / "apt.json"
    if not path.is_file():
        return None
    bench = json.loads(path.read_text())
    table = pd.DataFrame(bench["rows"]).set_index(["model", "granularity"])
    return ProbeCost(table, bench["measured"], bench["machine"], bench["torch"])


def probe_cost_facts(cost: ProbeCost | None) -> dict[str, str]:
    """One measurement over one training step per model ('position' patterns), a bare forward over
    a forward and backward, the overhead at one measurement every ten steps, and when."""
    keys = ("ac-cost", "ac-cost-forward", "ac-cost-overhead", "ac-cost-when")
    if cost is None:
        return dict.fromkeys(keys, "not measured (run make bench)")
    position = cost.table.xs("position", level="granularity")
    fwd = position.forward_over_forward_backward
    return dict(zip(keys, (
        ", ".join(f"{m} {v:.2f}" for m, v in position.measurement_over_step.items()),
        f"{fwd.min():.2f} to {fwd.max():.2f}",
        f"{100 * position.measurement_over_step.max() / 10:.0f} %",
        f"{cost.measured[:10]} ({cost.machine}, torch {cost.torch})",
    )))


def pattern_memory(records) -> pd.DataFrame:
    """Bytes of stored patterns per example, per model and granularity, as the runs recorded them."""
    return pd.DataFrame([{"model": r["config"]["model"], **r["data"]["bytes_per_example"]}
                         for r in records]).set_index("model")


# --- the tables as the chapter shows them (thermo.tables: HTML, a unit in every numeric header) -------

GRAN_NAMES = {"example": "per example", "position": "per position", "neuron": "per neuron"}


def _pm(values, decimals: int | None = None) -> str:
    """Mean and standard deviation (ddof 1) of ``values`` as ``m ± s``, both with ``decimals``
    decimals (default: two significant digits of the mean); just ``m`` for one value."""
    v = np.asarray(values, dtype=float)
    m = float(v.mean())
    if decimals is None:
        decimals = max(0, 1 - int(np.floor(np.log10(abs(m))))) if m else 2
    if v.size < 2:
        return f"{m:.{decimals}f}"
    return f"{m:.{decimals}f} ± {v.std(ddof=1):.{decimals}f}"


def show_granularity(gran: pd.DataFrame) -> tables.Table:
    """:func:`granularity_table` for the page."""
    p, half = "P(change) at lr 0.05, initialization", "lr at P = 0.5, "
    df = pd.DataFrame({
        "pattern": [GRAN_NAMES.get(g, g) for g in gran.index],
        "patterns per layer, fewest": gran["patterns per layer (fewest)"].to_numpy(),
        "P(change) at η = 0.05, initialization (probability)": gran[p].to_numpy(),
        "η where P = 0.5, initialization": gran[half + "initialization"].to_numpy(),
        "η where P = 0.5, last epoch": gran[half + "last epoch"].to_numpy(),
        "mean APT, first half of training (bits)": gran.get("mean APT in training, first half",
                                                            pd.Series(np.nan, index=gran.index)).to_numpy(),
    })
    return tables.show(df, caption="The three definitions of a pattern in the 1-cycle run: the network's probability "
                       "of a changed pattern at η = 0.05 and the learning rate η at which it reaches one half "
                       "(from the LR range), and the mean APT over the first half of training (- where not recorded).",
                       unitless=("patterns per layer, fewest",), digits=3)


def show_schedules(table: pd.DataFrame) -> tables.Table:
    """:func:`schedule_table` for the page."""
    df = pd.DataFrame({"schedule": [SCHEDULE_NAMES.get(s, s) for s in table.index],
                       "mean APT, last epoch (bits)": table["final mean APT"].to_numpy(),
                       "final test error (%)": table["final test error (%)"].to_numpy()})
    return tables.show(df, caption="Per schedule (one seed): the mean APT of the last epoch ('position' patterns) "
                       "and the final test error.", digits=3)


def show_erf(erf: pd.DataFrame) -> tables.Table:
    """:func:`erf_table` for the page."""
    df = pd.DataFrame({"run": [SCHEDULE_NAMES.get(s, s) for s in erf.index],
                       "R² of the erf model": erf.r2_erf.to_numpy(),
                       "RMSE of the erf model (probability)": erf.rmse_erf.to_numpy(),
                       "RMSE of the exponential (probability)": erf.rmse_exp.to_numpy(),
                       "σ of the erf model (ln η)": erf.sigma.to_numpy()})
    return tables.show(df, caption="Per run, medians over every layer and epoch: the erf model's R², both "
                       "models' root-mean-square error over the transition, and the erf model's width σ.",
                       unitless=("R² of the erf model",), digits=3)


def show_per_gamma(track: pd.DataFrame) -> tables.Table:
    """:func:`tracking_table` per gamma for the page: mean ± standard deviation over seeds."""
    rows = [{"γ": float(g), "seeds": len(t),
             "tracking error, single measurements (%)": _pm(t["tracking error (%)"], 1),
             "tracking error, epoch means (%)": _pm(t["epoch tracking error (%)"], 1),
             "mean learning rate chosen": _pm(t["mean LR"]),
             "final test error (%)": _pm(t["test error (%)"], 1)}
            for g, t in track.groupby("gamma")]
    return tables.show(pd.DataFrame(rows), caption="ActCoolLR per γ, mean ± standard deviation over seeds: "
                       "the relative deviation of the temperature from its target (10 % to 90 % of training), the "
                       "mean learning rate it chose and the final test error.", unitless=("γ", "seeds"))


def show_budget(table: pd.DataFrame) -> tables.Table:
    """:func:`budget_table` for the page."""
    df = pd.DataFrame({"budget (epochs)": table.index.to_numpy(),
                       "final test error (%)": table["test error (%)"].to_numpy(),
                       "tracking error, single measurements (%)": table["tracking error (%)"].to_numpy(),
                       "tracking error, epoch means (%)": table["epoch tracking error (%)"].to_numpy()})
    return tables.show(df, caption="ActCoolLR with γ = 1 per training budget (one run each): the final test "
                       "error and the relative deviation of the temperature from its target.", digits=3)


def show_tune(tune: pd.DataFrame, what: str = "the constant learning rate") -> tables.Table:
    """:func:`tune_summary` for the page (``what``: the baseline tuned)."""
    summary = tune_summary(tune)
    df = pd.DataFrame({"learning rate": summary.index.to_numpy(),
                       **{(f"seed {c} (%)" if c != "mean" else "mean over seeds (%)"): summary[c].to_numpy()
                          for c in summary.columns}})
    return tables.show(df, caption=f"Tuning {what}: final validation accuracy on training "
                       "examples that no run trains on, per learning rate and seed.", unitless=("learning rate",))


def show_table1(t1: pd.DataFrame) -> tables.Table:
    """:func:`table1_summary` for the page."""
    summary = table1_summary(t1).reset_index()
    df = pd.DataFrame({"schedule": summary.schedule.map(lambda s: SCHEDULE_NAMES.get(s, s)).to_numpy(),
                       "learning rate": summary.lr.to_numpy(), "seeds": summary["count"].to_numpy(),
                       "mean test error (%)": summary["mean"].to_numpy(),
                       "standard deviation over seeds (pt)": summary["std"].to_numpy()})
    return tables.show(df, caption="The Fashion-MNIST row of ActCoolR's Table 1 at our scale: the final test error "
                       "per schedule and learning rate (initial, peak or constant).",
                       unitless=("learning rate", "seeds"), digits=3)


PROBE_COLUMNS = {"plain_step_ms": "training step (ms)", "probed_step_ms": "step with a measurement (ms)",
                 "measurement_over_step": "one measurement (fraction of a training step)",
                 "forward_over_forward_backward": "bare forward pass (fraction of forward and backward)",
                 "pattern_bytes_per_example": "patterns (bytes per example)"}


def show_probe_cost(cost: ProbeCost) -> tables.Table:
    """The benchmark of :func:`probe_cost` for the page."""
    df = cost.table.reset_index().rename(columns={**PROBE_COLUMNS, "granularity": "pattern"})
    df["pattern"] = df["pattern"].map(lambda g: GRAN_NAMES.get(g, g))
    if "patterns (bytes per example)" in df:
        df["patterns (bytes per example)"] = df["patterns (bytes per example)"].round().astype(int)
    return tables.show(df, caption=f"What one APT measurement costs, batch {configs.BATCH_SIZE}, one thread "
                       f"(benchmarks/apt.py, run {cost.measured[:10]}).", digits=3)


def show_pattern_memory(records) -> tables.Table:
    """:func:`pattern_memory` for the page."""
    mem = pattern_memory(records)
    df = pd.DataFrame({"model": mem.index.to_numpy(),
                       **{f"{GRAN_NAMES.get(g, g)} (bytes per example)": mem[g].round().astype(int).to_numpy()
                          for g in mem.columns}})
    return tables.show(df, caption="Stored (bit-packed) patterns per example, per model and granularity, as the runs "
                       "recorded them.")

"""ActCoolR's figures (chapter ``notebooks/actcoolr/01-activation-pattern-temperature``): records
and the tables of :mod:`thermo.papers.actcoolr.analysis` in, axes out. Every number a reader
would cite comes from ``analysis``; here it is only drawn.

One function per figure of the chapter, each built from panels: the LR range per granularity
(the paper's Fig. 2, :func:`granularity_figure`), APT under four schedules (Fig. 1,
:func:`schedules_figure`) and per layer (:func:`layers_figure`), the erf model of eq. 5 against
an exponential rival (Fig. 2, :func:`erf_figure`), ActCoolLR following the cooling curves of
eq. 8 (Fig. 3, :func:`cooling_figure`), its epoch budgets (Table 2, :func:`budget_figure`) and
the Fashion-MNIST row of Table 1 (:func:`table1_figure`). :func:`publish` saves a figure with
its title and lead from :data:`CAPTIONS`.
"""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

from thermo import apt, figures
from thermo.papers.actcoolr import analysis, configs

SCHEDULE_COLORS = {"constant": "tab:gray", "step": "tab:blue", "onecycle": "tab:red", "cosine": "tab:green",
                   "actcool": "tab:purple"}
SCHEDULE_LABELS = {"constant": "constant LR", "onecycle": "1-cycle", "actcool": "ActCoolLR"}


Caption = figures.Caption  # the gallery title and caption lead of each figure


CAPTIONS = {
    "ac-fig2-granularity": Caption(
        "The probability that an activation pattern changes over the LR range, for three granularities",
        "P(pattern changes) for the network (1 - 2^-T of the mean over layers of T) after a step theta - lr * d "
        "along one batch's gradient d, over a log grid of lr, for patterns defined per example (the paper's "
        "definition), per spatial position and per neuron; left at initialization, right after the last epoch "
        "of the 1-cycle run; dotted: the run's peak learning rate"),
    "ac-fig1-schedules": Caption(
        "Learning rate, activation pattern temperature and test error under four schedules",
        "From left: the learning rate of every step; the APT of the first ReLU layer and the mean APT over "
        "all ReLU layers ('position' patterns; thin: every measurement, thick: per-epoch mean); the test error. "
        "APT measured every 10 steps on the training batch"),
    "ac-fig1-layers": Caption(
        "Activation pattern temperature per ReLU layer over training",
        "Per-epoch mean APT ('position' patterns) of every ReLU layer, dark at the bottom of the network and "
        "light at the top, for the 1-cycle and step-decay runs"),
    "ac-fig2-erf": Caption(
        "The erf model of the LR range against an exponential rival, and its parameters over training",
        "Left two: one layer's LR range ('position' patterns) at initialization and after epoch {mid_epoch} of "
        "the 1-cycle run, with the erf model (eq. 5) and 1 - exp(-lr/lr0) fitted by least squares. Third: mu and "
        "sigma of the erf model fitted to the network's probability after every epoch, with standard errors. "
        "Right: the two models' RMSE over the transition, one point per (run, epoch, layer)"),
    "ac-fig3-cooling": Caption(
        "ActCoolLR following linear cooling curves",
        "Left: the measured mean APT ('position' patterns, every 10 steps, solid) and the target C_gamma of eq. 8 "
        "(dashed) for gamma = 0.5, 1, 2, 4 from T_start = {t_start:g}; middle: the learning rate ActCoolLR chose; "
        "right: the test error. One seed; the table below has all of them"),
    "ac-table2-budget": Caption(
        "ActCoolLR with a linear target for several training budgets",
        "Test error against the fraction of the training budget for ActCoolLR with gamma = 1, one run per budget"),
    "ac-table1-fmnist": Caption(
        "Table 1, Fashion-MNIST row: constant learning rate, 1-cycle and ActCoolLR",
        "Final top-1 test error of the Fashion-MNIST benchmark ConvNet, one dot per seed, diamond and bar the "
        "mean and its 95 % interval (t over seeds){extra}"),
}


def publish(fig, figure_id: str, records, **fields):
    """``figures.publish`` with the figure's title and lead from :data:`CAPTIONS`."""
    cap = CAPTIONS[figure_id]
    return figures.publish(fig, figure_id, list(records), title=cap.title, lead=cap.lead.format(**fields))


def _error_curve(ax, record, x_scale: float = 1.0, **style):
    h = record["data"]["history"]
    ax.plot(np.asarray(h["epoch"]) / x_scale, 100 * (1 - np.asarray(h["test_acc"])), marker="o", ms=3, **style)


def _lr_curve(ax, record, **style):
    lr = np.asarray(record["data"]["step_history"]["lr"])
    ax.plot(np.arange(1, lr.size + 1) / analysis.steps_per_epoch(record), lr, **style)


# --- which granularity ----------------------------------------------------------------------------

def granularity_panel(ax, record, epoch: int):
    """The network's probability of a changed pattern over the LR range, one curve per granularity,
    at one epoch's measurement, with the run's peak learning rate dotted."""
    lrs = analysis.lr_grid(record)
    for g, p in analysis.network_range(record, epoch).items():
        ax.plot(lrs, p, marker="o", ms=3, label=g)
    ax.axvline(record["config"]["lr"], color="black", ls=":", lw=1, label="peak LR of the run")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("P(pattern changes)")
    ax.set_title(f"LR range after epoch {epoch}")
    ax.legend(fontsize=8)


def granularity_figure(cycle):
    """At initialization and after the last epoch of the 1-cycle run."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    granularity_panel(axes[0], cycle, 0)
    granularity_panel(axes[1], cycle, cycle["config"]["epochs"])
    return fig


# --- Fig. 1 ---------------------------------------------------------------------------------------

def schedule_panels(axes, records, granularity: str = "position"):
    """Fig. 1 analogue, one line per schedule: the learning rate, APT of the first ReLU layer, the
    mean APT (smoothed over an epoch's measurements), and the test error, against epochs."""
    for r in records:
        color = SCHEDULE_COLORS[r["config"]["schedule"]]
        spe = analysis.steps_per_epoch(r)
        _lr_curve(axes[0], r, color=color, label=r["config"]["schedule"])
        first = analysis.layer_names(r, granularity)[0]
        for ax, key in ((axes[1], f"apt_{granularity}:{first}"), (axes[2], f"apt_{granularity}")):
            s = analysis.series(r, key)
            ax.plot(s.steps / spe, s.values, color=color, alpha=0.25, lw=0.8)
            e = analysis.epoch_means(r, key)
            ax.plot(e.epochs - 0.5, e.means, color=color, lw=1.8)
        _error_curve(axes[3], r, color=color)
    axes[0].set_ylabel("learning rate")
    axes[0].legend(fontsize=8)
    axes[1].set_ylabel(f"APT, first ReLU layer ({granularity})")
    axes[2].set_ylabel(f"mean APT over layers ({granularity})")
    axes[3].set_ylabel("test error (%)")
    for ax in axes:
        ax.set_xlabel("epoch")


def schedules_figure(runs: dict):
    fig, axes = plt.subplots(1, 4, figsize=(18, 3.8))
    schedule_panels(axes, list(runs.values()))
    return fig


def layer_panel(ax, record, granularity: str = "position"):
    """Per-layer APT over training (per-epoch means), coloured from the bottom layer (dark) to the
    top (light)."""
    names = analysis.layer_names(record, granularity)
    cmap = matplotlib.colormaps["viridis"]
    for i, name in enumerate(names):
        e = analysis.epoch_means(record, f"apt_{granularity}:{name}")
        ax.plot(e.epochs, e.means, color=cmap(i / max(1, len(names) - 1)), lw=1.2)
    sm = matplotlib.cm.ScalarMappable(cmap=cmap, norm=matplotlib.colors.Normalize(0, len(names) - 1))
    ax.figure.colorbar(sm, ax=ax, label="depth (ReLU layer index)")
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"APT per layer ({granularity})")
    ax.set_title(f"{record['config']['schedule']}: per-layer APT")


def layers_figure(runs: dict):
    """The runs with an LR range (1-cycle, step decay), one panel each."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for ax, r in zip(axes, analysis.range_runs(runs).values()):
        layer_panel(ax, r)
    return fig


# --- eq. 5 and Fig. 2 -----------------------------------------------------------------------------

def erf_panel(ax, fit: analysis.LayerFit, title: str):
    """One layer's LR range with the erf model and the exponential rival fitted to it."""
    ax.plot(fit.lrs, fit.p, "o", color="black", ms=4, label="measured")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("P(pattern changes)")
    if fit.erf is None:
        ax.set_title(f"{title} (no fit converged)")
        return
    grid = np.geomspace(fit.lrs[0], fit.lrs[-1], 400)
    fe, fx = fit.erf, fit.exponential
    ax.plot(grid, apt.erf_model(grid, fe["mu"], fe["sigma"]), color="tab:red",
            label=f"erf: mu = {fe['mu']:.2f}, sigma = {fe['sigma']:.2f}")
    ax.plot(grid, apt.exponential_model(grid, fx["lr0"]), color="tab:blue", ls="--",
            label=f"1 - exp(-lr/lr0): lr0 = {fx['lr0']:.3g}")
    ax.set_title(title)
    ax.legend(fontsize=8)


def network_fit_panel(ax, net, exp_sigma: float):
    """mu and sigma of the erf model fitted to the network's probability after every epoch, per run,
    with the width of an exponential curve dotted."""
    for s, g in net.groupby("schedule"):
        ax.errorbar(g.epoch, g.sigma, yerr=g.sigma_se, marker="o", ms=3, label=f"sigma ({s})",
                    color=SCHEDULE_COLORS[s])
        ax.plot(g.epoch, g.mu, ls="--", color=SCHEDULE_COLORS[s], label=f"mu ({s})")
    ax.axhline(exp_sigma, color="grey", ls=":", lw=1, label="sigma of an exponential curve")
    ax.set_xlabel("epoch")
    ax.set_ylabel("fitted mu and sigma (network)")
    ax.legend(fontsize=7)


def rmse_panel(ax, fits):
    """The two models' RMSE over the transition, one point per (run, epoch, layer)."""
    ok = fits.dropna(subset=["r2_erf"])
    ax.loglog(ok.rmse_erf, ok.rmse_exp, ".", alpha=0.4)
    lim = [max(1e-4, min(ok.rmse_erf.min(), ok.rmse_exp.min())) if len(ok) else 1e-3, 1.0]
    ax.plot(lim, lim, color="black", lw=1)
    ax.set_xlabel("RMSE of the erf model (transition)")
    ax.set_ylabel("RMSE of 1 - exp(-lr/lr0)")
    ax.set_title("below the diagonal: the exponential fits better")


def erf_figure(cycle, fits, net, exp_sigma: float, mid_epoch: int):
    """The first ReLU layer of the 1-cycle run at initialization and after ``mid_epoch``, the
    network's fitted parameters over training, and the RMSE of both models for every fit."""
    layer = analysis.layer_names(cycle, "position")[0]
    fig, axes = plt.subplots(1, 4, figsize=(19, 4))
    for ax, epoch in zip(axes, (0, mid_epoch)):
        erf_panel(ax, analysis.layer_fit(cycle, layer, epoch), f"{layer}, after epoch {epoch}")
    network_fit_panel(axes[2], net, exp_sigma)
    rmse_panel(axes[3], fits)
    return fig


# --- Fig. 3 and Table 2 ---------------------------------------------------------------------------

def cooling_panels(axes, records):
    """Fig. 3 analogue: measured APT against its target for each gamma, the learning rate ActCoolLR
    chose, and the test error."""
    cmap = matplotlib.colormaps["plasma"]
    gammas = sorted({r["config"]["gamma"] for r in records})
    for r in records:
        g = r["config"]["gamma"]
        color = cmap(gammas.index(g) / max(1, len(gammas) - 1) * 0.85)
        spe = analysis.steps_per_epoch(r)
        t, c = analysis.series(r, "apt"), analysis.series(r, "target_apt")
        axes[0].plot(t.steps / spe, t.values, color=color, lw=0.8, alpha=0.7)
        axes[0].plot(c.steps / spe, c.values, color=color, ls="--", lw=1.5, label=f"gamma = {g:g}")
        _lr_curve(axes[1], r, color=color)
        _error_curve(axes[2], r, color=color)
    axes[0].set_ylabel("mean APT (solid) and target (dashed)")
    axes[0].legend(fontsize=8)
    axes[1].set_ylabel("learning rate chosen")
    axes[1].set_yscale("log")
    axes[2].set_ylabel("test error (%)")
    for ax in axes:
        ax.set_xlabel("epoch")


def cooling_figure(records):
    fig, axes = plt.subplots(1, 3, figsize=(16, 4))
    cooling_panels(axes, records)
    return fig


def budget_figure(budget):
    """Test error against the fraction of the budget, one line per budget."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for r in budget:
        _error_curve(ax, r, x_scale=r["config"]["epochs"], label=f"{r['config']['epochs']} epochs")
    ax.set_xlabel("fraction of the budget")
    ax.set_ylabel("test error (%)")
    ax.legend(fontsize=8)
    return fig


# --- Table 1 --------------------------------------------------------------------------------------

def table1_extra(best_lr: float | None) -> str:
    """The end of the Table 1 caption: which learning rates the columns use."""
    base = (f"; the constant LR at {configs.LRS['constant']:g} and 1-cycle at its peak {configs.LRS['onecycle']:g}, as "
            "in Fig. 1")
    if best_lr is None or np.isclose(best_lr, configs.LRS["constant"]):
        return base + ("" if best_lr is None else ", which is also the constant LR's validated value")
    return base + f"; second column: the constant LR at its validated value {best_lr:g}"


def table1_figure(t1, best_lr: float | None = None):
    """One dot per seed and schedule at its LR of Fig. 1 (and the constant LR at ``best_lr``, its
    validated value, when that differs); diamond and bar: the mean and its 95 % t interval."""
    from scipy import stats as st

    columns = [(s, configs.LRS[s], SCHEDULE_LABELS[s]) for s in configs.TABLE1_SCHEDULES]
    if best_lr is not None and not np.isclose(best_lr, configs.LRS["constant"]):
        columns.insert(1, ("constant", best_lr, f"constant LR\n(validated, {best_lr:g})"))
    fig, ax = plt.subplots(figsize=(1.9 * len(columns) + 0.5, 4))
    for i, (s, lr, _) in enumerate(columns):
        e = t1[(t1.schedule == s) & np.isclose(t1.lr, lr)].error.to_numpy() * 100
        ax.scatter(np.full(e.size, i), e, color=SCHEDULE_COLORS[s], s=20)
        if e.size:
            half = st.t.ppf(0.975, e.size - 1) * e.std(ddof=1) / np.sqrt(e.size) if e.size > 1 else 0
            ax.errorbar(i + 0.15, e.mean(), yerr=half, fmt="D", capsize=4, color=SCHEDULE_COLORS[s])
    ax.set_xticks(range(len(columns)), [label for _, _, label in columns])
    ax.set_ylabel("test error (%)")
    return fig

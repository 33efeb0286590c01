"""ActCoolR's figures (chapter ``notebooks/actcoolr/01-activation-pattern-temperature``): records
and the tables of :mod:`thermo.papers.actcoolr.analysis` in, axes out. Every number a reader
would cite comes from ``analysis``; here it is only drawn.

One function per figure of the chapter, each built from panels and sized for the page column
(at most about 8 in wide, text of 9 pt or more, panels stacked in rows): the LR range per
granularity (after ActCoolR's Fig. 2, :func:`granularity_figure`), APT under four schedules
(ActCoolR's Fig. 1, :func:`schedules_figure`) and per layer (:func:`layers_figure`), the erf
model of ActCoolR's eq. 5 against an exponential rival (ActCoolR's Fig. 2, :func:`erf_figure`)
and its parameters over training (:func:`erf_params_figure`), ActCoolLR following the cooling
curves of ActCoolR's eq. 8 (its Fig. 3, :func:`cooling_figure`), its epoch budgets (its Table 2,
:func:`budget_figure`) and the Fashion-MNIST row of its Table 1 (:func:`table1_figure`).
:func:`publish` saves a figure with its title and lead from :data:`CAPTIONS`.
"""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from thermo import apt, figures
from thermo.papers.actcoolr import analysis, configs

SCHEDULE_COLORS = {"constant": "tab:gray", "step": "tab:blue", "onecycle": "tab:red", "cosine": "tab:green",
                   "actcool": "tab:purple"}
SCHEDULE_LABELS = {"constant": "constant LR", "step": "step decay", "onecycle": "1-cycle", "cosine": "cosine",
                   "actcool": "ActCoolLR"}
GRAN_LABELS = {"example": "per example", "position": "per position", "neuron": "per neuron"}
WIDTH = 8.0  # inches: 10 pt text shows at 11.7 px in the page column (figures.COLUMN_PX)
NOTE_PT = 9  # the smallest text of a figure (notes inside the axes): 10.3 px on the page at WIDTH
LR_LABEL = r"learning rate $\eta$"
APT_LABEL = r"APT $T$ (bits)"
P_LABEL = r"$P_\mathrm{change}$"


Caption = figures.Caption  # the gallery title and caption lead of each figure


# The leads are format strings (``publish`` fills their ``{fields}``): a brace of LaTeX is doubled.
CAPTIONS = {
    "ac-fig2-granularity": Caption(
        "The probability that an activation pattern changes over the LR range, for three granularities",
        "The network's probability that a pattern changes in one step along a batch's gradient, over a log grid "
        "of learning rates, for patterns defined per example (the paper's definition), per spatial position and "
        r"per neuron. Left at initialization, right after the last epoch of the 1-cycle run; the step is "
        r"$\theta - \eta d$ with $d$ the batch's gradient, and $P_\mathrm{{change}} = 1 - 2^{{-\bar T}}$ with "
        r"$\bar T$ the mean over ReLU layers of the APT; dotted: the run's peak learning rate"),
    "ac-fig1-schedules": Caption(
        "Learning rate, activation pattern temperature and test error under four schedules",
        "Top left: the learning rate of every step; top right: the APT of the first ReLU layer; bottom left: the "
        "mean APT over all ReLU layers ('position' patterns; thin: every measurement, thick: per-epoch mean); "
        "bottom right: the test error. APT measured every 10 steps on the training batch. The APT axes end at "
        "the 99th percentile of the measurements (or just above the thick curves): the few single measurements "
        "above, in the first epoch, are counted in each panel's note"),
    "ac-fig1-layers": Caption(
        "Activation pattern temperature per ReLU layer over training",
        "Per-epoch mean APT ('position' patterns) of every ReLU layer, dark at the bottom of the network and "
        "light at the top, for the 1-cycle (top) and step-decay (bottom) runs"),
    "ac-fig2-erf": Caption(
        "The erf model of the LR range against an exponential rival",
        "Top: one layer's LR range ('position' patterns) at initialization and after epoch {mid_epoch} of the "
        "1-cycle run, with the erf model (our reading of ActCoolR's eq. 5) and an exponential rival fitted by "
        r"least squares. The models are $\Phi((\ln\eta - \mu)/\sigma)$ and $1 - e^{{-\eta/\eta_0}}$, their fitted "
        "parameters in each panel's note. Bottom: the two models' root-mean-square error over the transition, "
        "one point per run, epoch and layer"),
    "ac-fig2-erf-params": Caption(
        "The erf model's location and width over training",
        "The location and width of the erf model fitted to the network's probability of a changed pattern after "
        r"every epoch. Left $\mu$, right $\sigma$ with its standard errors, of $\Phi((\ln\eta - \mu)/\sigma)$; "
        r"dotted: the $\sigma$ that the same fit returns for an exact exponential curve $1 - e^{{-\eta/\eta_0}}$, "
        r"whatever $\eta_0$"),
    "ac-fig3-cooling": Caption(
        "ActCoolLR following linear cooling curves",
        "Top: the measured mean APT ('position' patterns; thin: every 10 steps, dots: per-epoch mean) and its "
        r"target (dashed) for four cooling exponents. The target is $C_\gamma(i) = T_\mathrm{{start}}(1 - "
        r"(i/i_\mathrm{{total}})^\gamma)$ with $\gamma$ = 0.5, 1, 2, 4 from $T_\mathrm{{start}}$ = {t_start:g}; "
        "the axis ends at the 99th percentile of the measurements, the few above are counted in the note. "
        "Middle: the learning rate ActCoolLR chose (log scale); bottom: the test error. One seed; the table "
        "below has all of them"),
    "ac-table2-budget": Caption(
        "ActCoolLR with a linear target for several training budgets",
        r"Test error against the fraction of the training budget for ActCoolLR with the linear target "
        r"($\gamma = 1$), one run per budget"),
    "ac-table1-fmnist": Caption(
        "ActCoolR's Table 1, Fashion-MNIST row: constant learning rate, 1-cycle and ActCoolLR",
        "Final top-1 test error of the Fashion-MNIST benchmark ConvNet (the Fashion-MNIST row of ActCoolR's "
        "Table 1), one dot per seed, diamond and bar the mean and its 95 % interval (t over seeds){extra}"),
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


def clip_to_curves(ax, measured, curves, what: str = "measurements") -> int:
    """End an APT axis at the 99th percentile of the single ``measured`` values or 15 % above the
    ``curves`` it must show whole (per-epoch means, targets), whichever is higher, so that a few
    first-epoch spikes do not flatten the curves; the values above are counted in a note on the
    axes. Returns that count."""
    raw = np.concatenate([np.asarray(m, dtype=float) for m in measured])
    raw = raw[np.isfinite(raw)]
    top = max(1.15 * max(float(np.nanmax(c)) for c in curves), float(np.percentile(raw, 99)))
    ax.set_ylim(-0.03 * top, top)
    above = int((raw > top).sum())
    if above:
        ax.text(0.98, 0.96, f"{above} of {raw.size} {what} clipped, max {raw.max():.1f}",
                transform=ax.transAxes, ha="right", va="top", fontsize=NOTE_PT)
    return above


def _outside_legend(fig, handles, ncols: int):
    fig.legend(handles=handles, loc="outside upper center", ncols=ncols)


# --- which granularity ----------------------------------------------------------------------------

def granularity_panel(ax, record, epoch: int):
    """The network's probability of a changed pattern over the LR range, one curve per granularity,
    at one epoch's measurement, with the run's peak learning rate dotted."""
    lrs = analysis.lr_grid(record)
    for g, p in analysis.network_range(record, epoch).items():
        ax.plot(lrs, p, marker="o", ms=3, label=GRAN_LABELS.get(g, g))
    ax.axvline(record["config"]["lr"], color="black", ls=":", lw=1, label=r"peak $\eta$ of the run")
    ax.set_xscale("log")
    ax.set_xlabel(LR_LABEL)
    ax.set_ylabel(P_LABEL)


def granularity_figure(cycle):
    """At initialization (left) and after the last epoch (right) of the 1-cycle run."""
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 3.6), sharey=True, layout="constrained")
    last = cycle["config"]["epochs"]
    granularity_panel(axes[0], cycle, 0)
    granularity_panel(axes[1], cycle, last)
    axes[0].set_title("at initialization")
    axes[1].set_title(f"after epoch {last} (the last)")
    axes[1].set_ylabel("")
    _outside_legend(fig, axes[0].get_legend_handles_labels()[0], ncols=4)
    return fig


# --- ActCoolR's Fig. 1 ----------------------------------------------------------------------------

def schedule_panels(axes, records, granularity: str = "position"):
    """After ActCoolR's Fig. 1, one line per schedule: the learning rate, APT of the first ReLU
    layer, the mean APT (thin: every measurement, thick: per-epoch means) and the test error,
    against epochs. The APT axes end near the curves (:func:`clip_to_curves`)."""
    measured = {1: [], 2: []}
    thick = {1: [], 2: []}
    for r in records:
        schedule = r["config"]["schedule"]
        color = SCHEDULE_COLORS[schedule]
        spe = analysis.steps_per_epoch(r)
        _lr_curve(axes[0], r, color=color, label=SCHEDULE_LABELS.get(schedule, schedule))
        first = analysis.layer_names(r, granularity)[0]
        for i, key in ((1, f"apt_{granularity}:{first}"), (2, f"apt_{granularity}")):
            s = analysis.series(r, key)
            axes[i].plot(s.steps / spe, s.values, color=color, alpha=0.25, lw=0.8)
            e = analysis.epoch_means(r, key)
            axes[i].plot(e.epochs - 0.5, e.means, color=color, lw=1.8)
            measured[i].append(s.values)
            thick[i].append(e.means)
        _error_curve(axes[3], r, color=color)
    for i in (1, 2):
        clip_to_curves(axes[i], measured[i], thick[i])
    for ax, title, ylabel in zip(axes, ("learning rate", "APT of the first ReLU layer", "mean APT over the ReLU layers",
                                        "test error"), (r"$\eta$", APT_LABEL, APT_LABEL, "test error (%)")):
        ax.set_title(title)
        ax.set_ylabel(ylabel)
    for ax in axes[2:]:
        ax.set_xlabel("epoch")


def schedules_figure(runs: dict):
    """Two rows of two panels (:func:`schedule_panels`) with the schedules' legend above."""
    fig, axes = plt.subplots(2, 2, figsize=(WIDTH, 6.4), sharex=True, layout="constrained")
    schedule_panels(axes.ravel(), list(runs.values()))
    _outside_legend(fig, axes[0, 0].get_legend_handles_labels()[0], ncols=4)
    return fig


def layer_panel(ax, record, granularity: str = "position", cmap=None):
    """Per-layer APT over training (per-epoch means), coloured from the bottom layer (dark) to the
    top (light). Returns the number of layers."""
    names = analysis.layer_names(record, granularity)
    cmap = cmap or matplotlib.colormaps["viridis"]
    for i, name in enumerate(names):
        e = analysis.epoch_means(record, f"apt_{granularity}:{name}")
        ax.plot(e.epochs, e.means, color=cmap(i / max(1, len(names) - 1)), lw=1.2)
    ax.set_ylabel(APT_LABEL)
    ax.set_title(f"{SCHEDULE_LABELS.get(record['config']['schedule'], record['config']['schedule'])}: "
                 "per-layer APT")
    return len(names)


def layers_figure(runs: dict):
    """The runs with an LR range (1-cycle, step decay), one row each, one colour bar for depth."""
    recs = list(analysis.range_runs(runs).values())
    fig, axes = plt.subplots(len(recs), 1, figsize=(7.0, 2.9 * len(recs) + 0.4), sharex=True, sharey=True,
                             layout="constrained", squeeze=False)
    cmap = matplotlib.colormaps["viridis"]
    n = max(layer_panel(ax, r, cmap=cmap) for ax, r in zip(axes[:, 0], recs))
    axes[-1, 0].set_xlabel("epoch")
    sm = matplotlib.cm.ScalarMappable(cmap=cmap, norm=matplotlib.colors.Normalize(0, n - 1))
    fig.colorbar(sm, ax=axes[:, 0].tolist(), label="depth (ReLU layer index)")
    return fig


# --- ActCoolR's eq. 5 and Fig. 2 ------------------------------------------------------------------

def erf_panel(ax, fit: analysis.LayerFit, title: str):
    """One layer's LR range with the erf model and the exponential rival fitted to it; their
    parameters in a note at the upper left (where the curve is still flat)."""
    ax.plot(fit.lrs, fit.p, "o", color="black", ms=4, label="measured")
    ax.set_xscale("log")
    ax.set_xlabel(LR_LABEL)
    ax.set_ylabel(P_LABEL)
    if fit.erf is None:
        ax.set_title(f"{title} (no fit converged)")
        return
    grid = np.geomspace(fit.lrs[0], fit.lrs[-1], 400)
    fe, fx = fit.erf, fit.exponential
    ax.plot(grid, apt.erf_model(grid, fe["mu"], fe["sigma"]), color="tab:red", label=r"erf model")
    ax.plot(grid, apt.exponential_model(grid, fx["lr0"]), color="tab:blue", ls="--",
            label=r"$1 - e^{-\eta/\eta_0}$")
    ax.text(0.03, 0.96, f"$\\mu$ = {fe['mu']:.2f}, $\\sigma$ = {fe['sigma']:.2f}\n$\\eta_0$ = {fx['lr0']:.3g}",
            transform=ax.transAxes, ha="left", va="top", fontsize=NOTE_PT)
    ax.set_title(title)


def rmse_panel(ax, fits):
    """The two models' RMSE over the transition, one point per (run, epoch, layer), per run."""
    ok = fits.dropna(subset=["r2_erf"])
    for s, g in ok.groupby("schedule"):
        ax.plot(g.rmse_erf, g.rmse_exp, ".", alpha=0.5, color=SCHEDULE_COLORS.get(s, "black"),
                label=SCHEDULE_LABELS.get(s, s))
    ax.set_xscale("log")
    ax.set_yscale("log")
    lim = [max(1e-4, min(ok.rmse_erf.min(), ok.rmse_exp.min())) if len(ok) else 1e-3, 1.0]
    ax.plot(lim, lim, color="black", lw=1)
    ax.text(0.96, 0.04, "exponential better", transform=ax.transAxes, ha="right", va="bottom", fontsize=NOTE_PT)
    ax.text(0.04, 0.96, "erf model better", transform=ax.transAxes, ha="left", va="top", fontsize=NOTE_PT)
    ax.set_xlabel("RMSE of the erf model")
    ax.set_ylabel(r"RMSE of $1 - e^{-\eta/\eta_0}$")
    ax.set_title("over the transition, every fit")
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 0.55), fontsize=NOTE_PT)


def erf_figure(cycle, fits, mid_epoch: int):
    """Top: the first ReLU layer of the 1-cycle run at initialization and after ``mid_epoch``, both
    models fitted; bottom: the RMSE of both models for every fit."""
    layer = analysis.layer_names(cycle, "position")[0]
    fig = plt.figure(figsize=(WIDTH, 7.2), layout="constrained")
    grid = fig.add_gridspec(2, 4)
    top = [fig.add_subplot(grid[0, 0:2])]
    top.append(fig.add_subplot(grid[0, 2:4], sharey=top[0]))
    for ax, epoch in zip(top, (0, mid_epoch)):
        erf_panel(ax, analysis.layer_fit(cycle, layer, epoch),
                  f"{layer}, " + ("at initialization" if epoch == 0 else f"after epoch {epoch}"))
    top[1].set_ylabel("")
    rmse_panel(fig.add_subplot(grid[1, 1:3]), fits)
    _outside_legend(fig, top[0].get_legend_handles_labels()[0], ncols=3)
    return fig


def network_fit_panels(ax_mu, ax_sigma, net, exp_sigma: float):
    """mu (left) and sigma (right, with standard errors) of the erf model fitted to the network's
    probability after every epoch, per run, with the width of an exponential curve dotted."""
    for s, g in net.groupby("schedule"):
        label = SCHEDULE_LABELS.get(s, s)
        ax_mu.plot(g.epoch, g.mu, marker="o", ms=3, color=SCHEDULE_COLORS[s], label=label)
        ax_sigma.errorbar(g.epoch, g.sigma, yerr=g.sigma_se, marker="o", ms=3, color=SCHEDULE_COLORS[s], label=label)
    ax_sigma.axhline(exp_sigma, color="grey", ls=":", lw=1.5, label=r"$\sigma$ of an exponential curve")
    ax_mu.set_title(r"location $\mu$")
    ax_mu.set_ylabel(r"$\mu$ (in $\ln\eta$)")
    ax_sigma.set_title(r"width $\sigma$")
    ax_sigma.set_ylabel(r"$\sigma$ (in $\ln\eta$)")
    for ax in (ax_mu, ax_sigma):
        ax.set_xlabel("epoch")


def erf_params_figure(net, exp_sigma: float):
    """The network's fitted mu and sigma over training, side by side, the legend above."""
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 3.6), layout="constrained")
    network_fit_panels(axes[0], axes[1], net, exp_sigma)
    _outside_legend(fig, axes[1].get_legend_handles_labels()[0], ncols=3)
    return fig


# --- ActCoolR's Fig. 3 and Table 2 ----------------------------------------------------------------

def cooling_panels(axes, records):
    """After ActCoolR's Fig. 3: measured APT (thin: every measurement, dots: per-epoch means)
    against its target for each gamma, the learning rate ActCoolLR chose, and the test error."""
    cmap = matplotlib.colormaps["plasma"]
    gammas = sorted({r["config"]["gamma"] for r in records})
    measured, curves = [], []
    for r in records:
        g = r["config"]["gamma"]
        color = cmap(gammas.index(g) / max(1, len(gammas) - 1) * 0.85)
        spe = analysis.steps_per_epoch(r)
        t, c = analysis.series(r, "apt"), analysis.series(r, "target_apt")
        e = analysis.epoch_means(r, "apt")
        axes[0].plot(t.steps / spe, t.values, color=color, lw=0.7, alpha=0.45)
        axes[0].plot(e.epochs - 0.5, e.means, "o", color=color, ms=4)
        axes[0].plot(c.steps / spe, c.values, color=color, ls="--", lw=1.8, label=f"$\\gamma$ = {g:g}")
        measured.append(t.values)
        curves += [c.values, e.means]
        _lr_curve(axes[1], r, color=color)
        _error_curve(axes[2], r, color=color)
    clip_to_curves(axes[0], measured, curves)
    style = [Line2D([], [], color="grey", lw=0.7, label="measured"),
             Line2D([], [], color="grey", marker="o", ls="", ms=4, label="epoch mean"),
             Line2D([], [], color="grey", ls="--", lw=1.8, label="target")]
    axes[0].legend(handles=style, loc="center right", fontsize=NOTE_PT)
    axes[0].set_ylabel(APT_LABEL)
    axes[0].set_title("mean APT and its target")
    axes[1].set_ylabel(r"$\eta$ chosen")
    axes[1].set_yscale("log")
    axes[1].set_title("learning rate")
    axes[2].set_ylabel("test error (%)")
    axes[2].set_title("test error")
    axes[-1].set_xlabel("epoch")


def cooling_figure(records):
    """Three rows sharing the epoch axis (:func:`cooling_panels`), the gammas' legend above."""
    fig, axes = plt.subplots(3, 1, figsize=(7.0, 8.4), sharex=True, layout="constrained")
    cooling_panels(axes, records)
    handles = [h for h in axes[0].get_lines() if not h.get_label().startswith("_")]
    _outside_legend(fig, handles, ncols=len(handles))
    return fig


def budget_figure(budget):
    """Test error against the fraction of the budget, one line per budget."""
    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    for r in budget:
        _error_curve(ax, r, x_scale=r["config"]["epochs"], label=f"{r['config']['epochs']} epochs")
    ax.set_xlabel("fraction of the budget")
    ax.set_ylabel("test error (%)")
    ax.legend()
    return fig


# --- ActCoolR's Table 1 ---------------------------------------------------------------------------

def table1_extra(best_lr: float | None, cycle_lr: float | None = None) -> str:
    """The end of the caption of ``ac-table1-fmnist``: which learning rates the columns use
    (``best_lr``, ``cycle_lr``: the constant LR's and 1-cycle's validated values, if any)."""
    text = (f"; the constant LR at {configs.LRS['constant']:g} and 1-cycle at its peak {configs.LRS['onecycle']:g}, "
            "as in the schedule runs (`ac-fig1-schedules`)")
    for name, lr, default in (("the constant LR", best_lr, configs.LRS["constant"]),
                              ("1-cycle's peak LR", cycle_lr, configs.LRS["onecycle"])):
        if lr is None:
            continue
        text += (f"; {name} validated on held-out data is {lr:g}, the value used" if np.isclose(lr, default)
                 else f"; beside it, {name} at its value validated on held-out data, {lr:g}")
    return text


def table1_figure(t1, best_lr: float | None = None, cycle_lr: float | None = None):
    """One dot per seed and schedule at its LR of the schedule runs (and the constant LR at
    ``best_lr``, 1-cycle at ``cycle_lr``, their validated values, where they differ); diamond and
    bar: the mean and its 95 % t interval."""
    from scipy import stats as st

    columns = [(s, configs.LRS[s], SCHEDULE_LABELS[s]) for s in configs.TABLE1_SCHEDULES]
    for schedule, lr, label in (("onecycle", cycle_lr, "1-cycle"), ("constant", best_lr, "constant LR")):
        if lr is not None and not np.isclose(lr, configs.LRS[schedule]):
            at = [s for s, _, _ in columns].index(schedule)
            columns[at] = (schedule, configs.LRS[schedule], f"{label}\n(as in Fig. 1, {configs.LRS[schedule]:g})")
            columns.insert(at + 1, (schedule, lr, f"{label}\n(validated, {lr:g})"))
    fig, ax = plt.subplots(figsize=(min(1.9 * len(columns) + 0.5, WIDTH), 4), layout="constrained")
    for i, (s, lr, _) in enumerate(columns):
        e = t1[(t1.schedule == s) & np.isclose(t1.lr, lr)].error.to_numpy() * 100
        ax.scatter(i + np.linspace(-0.08, 0.08, e.size), e, color=SCHEDULE_COLORS[s], s=20)  # spread: seeds can tie
        if e.size:
            half = st.t.ppf(0.975, e.size - 1) * e.std(ddof=1) / np.sqrt(e.size) if e.size > 1 else 0
            ax.errorbar(i + 0.15, e.mean(), yerr=half, fmt="D", capsize=4, color=SCHEDULE_COLORS[s])
    ax.set_xticks(range(len(columns)), [label for _, _, label in columns])
    ax.set_ylabel("test error (%)")
    return fig

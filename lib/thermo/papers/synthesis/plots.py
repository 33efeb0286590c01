"""The synthesis chapter's figures (``notebooks/synthesis/01-four-thermometers``): the tables of
:mod:`thermo.papers.synthesis.analysis` in, axes out. Every number a reader would cite comes from
``analysis``; here it is only drawn.

One function per figure, panels stacked in rows and sized for the page column (7 in wide, text of
9 pt or more): the five readings of the four thermometers over training (:func:`readings_figure`),
then one figure per question: cooling against alpha (:func:`cool_alpha_figure`), TempBalance and
the cooling order (:func:`order_figure`), the controllers and the alphas (:func:`alpha_shift_figure`),
the L2 clock (:func:`clock_figure`) and the logit scale against beta and the schedule
(:func:`logit_figure`). :func:`publish` saves a figure with its title and lead from :data:`CAPTIONS`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import ticker
from matplotlib.lines import Line2D

from thermo import figures
from thermo.claims import Estimate
from thermo.papers.synthesis import analysis, configs

COLORS = {"cosine": "tab:gray", "tempbalance": "tab:blue", "actcool": "tab:purple", "autol2": "tab:orange"}
NAMES = analysis.NAMES
WIDTH = 7.0  # inches: 10 pt text shows at 12.7 px in the page column (figures.COLUMN_PX)
NOTE_PT = 9

Caption = figures.Caption

CAPTIONS = {
    "syn-fig1-four-thermometers": Caption(
        "Four thermometers read in the same runs",
        "The five readings of the four thermometers over training, one line per controller, mean over seeds. "
        "From the top: ActCoolR's activation pattern temperature (mean over the ReLU layers of the per-epoch "
        "mean, 'position' patterns); TempBalance's PL_Alpha_Hill minus the random-matrix alpha of each layer's "
        r"shape, mean over layers; the Temperature-check paper's logit scale $\beta\|z\|$ on a fixed probe batch "
        r"and its effective learning rate $\eta\beta^2$; the L2 paper's physical time $\eta\lambda t$, with a "
        "dot where the test accuracy peaked (t*; in these runs always at the last evaluation). All runs at "
        "beta = 1"),
    "syn-fig2-cooling-vs-alpha": Caption(
        "Do the layers that cool first have the smallest alpha?",
        "Top: every (ReLU, conv) pair of layers of the first seed's runs, the epoch at which the ReLU's APT fell "
        "below half of its first epoch's against the conv's final alpha minus its random-matrix alpha. Bottom: "
        "Spearman's correlation of the two per run over all paired layers (filled dots) and among the square "
        "layers (as many input as output channels) of one width, averaged over the widths (open dots); the "
        "diamond is the mean of the filled dots with its 95 % bootstrap interval over seeds"),
    "syn-fig3-tb-cooling-order": Caption(
        "Does TempBalance change the order in which layers cool?",
        "Top: the cooling epoch of every paired layer, by depth, under cosine annealing and TempBalance (mean "
        "over seeds; thin: single seeds). Bottom: Spearman's correlation of the cooling orders of two runs of "
        "different seeds, cosine against cosine and TempBalance against cosine, and the difference of the means "
        "with its 95 % bootstrap interval over seeds"),
    "syn-fig4-actcool-alphas": Caption(
        "Do the controllers change the alphas?",
        "Top: the final PL_Alpha_Hill of every layer the thermometer reads, by depth, per controller (mean over "
        "seeds), and the random-matrix alpha of each layer's shape (dotted; its two peaks are the first "
        "convolutions of the second and third stages, which double the channels and so are not square). The "
        "layers are the 18 of the previous figures. Bottom: each controller's alphas "
        "minus the cosine run's of the same seed, mean over layers, per seed (dots), and the mean with its 95 % "
        "bootstrap interval over seeds (diamond)"),
    "syn-fig5-physical-time": Caption(
        "APT on the L2 paper's clock, and where the test accuracy peaks",
        "Top: the mean APT (per-epoch means, mean over seeds) against the epoch; middle: against the physical "
        r"time $\eta\lambda t$ (log scale); bottom: every run's test-accuracy peak t*, in epochs and in "
        r"$\eta\lambda t$. Peaks at one value of $\eta\lambda t$ would lie on one horizontal line; here every "
        "run peaks at its last evaluation (dotted line)"),
    "syn-fig6-logit-scale": Caption(
        "Is the final logit scale set by beta or by the schedule?",
        r"Top: the final logit scale $\beta\|z\|$ of the cosine runs against $\beta$ (one dot per seed; the "
        r"learning rate $\eta_0/\beta$), the least-squares line in log-log, and the slopes 0 (set by training) "
        r"and 1 ($\|z\|$ unchanged) through the mean at $\beta = 1$ (dotted and dashed). Bottom: the final "
        r"$\beta\|z\|$ of every controller at beta = 1, one dot per seed, on the same log scale"),
}


def publish(fig, figure_id: str, records, **fields):
    """``figures.publish`` with the figure's title and lead from :data:`CAPTIONS`."""
    cap = CAPTIONS[figure_id]
    return figures.publish(fig, figure_id, list(records), title=cap.title, lead=cap.lead.format(**fields))


def log_axis(ax, which: str = "y") -> None:
    """A log scale whose minor ticks stay unlabelled when the axis spans more than a decade (their
    labels would overlap); call it after drawing."""
    axis = ax.yaxis if which == "y" else ax.xaxis
    (ax.set_yscale if which == "y" else ax.set_xscale)("log")
    lo, hi = (ax.get_ylim if which == "y" else ax.get_xlim)()
    if lo > 0 and hi / lo > 10:
        axis.set_minor_formatter(ticker.NullFormatter())
    else:  # less than a decade: few, plainly written ticks (20, not 2 x 10^1)
        plain = ticker.FuncFormatter(lambda v, _: f"{v:g}")
        axis.set_minor_locator(ticker.LogLocator(base=10, subs=(2.0, 3.0, 5.0)))
        axis.set_major_formatter(plain)
        axis.set_minor_formatter(plain)


def _legend_above(fig, axes):
    handles = [h for h in axes.get_lines() if not h.get_label().startswith("_")]
    fig.legend(handles=handles, loc="outside upper center", ncols=len(handles))


def _schedules(frame) -> list[str]:
    return [s for s in configs.SCHEDULES if s in set(frame.schedule)]


def _estimate_marker(ax, x: float, e: Estimate | None, color: str = "black", label: str | None = None):
    """A diamond at an estimate with its 95 % interval as error bar (nothing if there is none)."""
    if e is None:
        return
    ax.errorbar([x], [e.value], yerr=[[e.value - e.lo], [e.hi - e.value]], fmt="D", color=color, capsize=4,
                label=label)


# --- the four readings ----------------------------------------------------------------------------

READING_AXES = {  # reading: (title, y label, log scale)
    "apt": ("ActCoolR: activation pattern temperature", "mean APT (bits)", False),
    "alpha_excess": ("TempBalance: alpha beyond its shape", r"$\alpha - \alpha_\mathrm{random}$", False),
    "logit_scale": ("Temperature check: logit scale", r"$\beta\|z\|$", True),
    "eff_lr": ("Temperature check: effective learning rate", r"$\eta\beta^2$", True),
    "phys_time": ("L2: physical time (dots: test-accuracy peak)", r"$\eta\lambda t$", True),
}


def readings_figure(curves, peaks):
    """Five rows sharing the epoch axis, one per reading, the controllers overlaid; the peaks
    (``analysis.peak_table``, medians over seeds) as dots on the physical time."""
    fig, axes = plt.subplots(len(READING_AXES), 1, figsize=(WIDTH, 11.5), sharex=True, layout="constrained")
    for ax, (reading, (title, ylabel, _)) in zip(axes, READING_AXES.items()):
        for s in _schedules(curves):
            c = curves[(curves.schedule == s) & (curves.reading == reading)].sort_values("epoch")
            ax.plot(c.epoch, c.value, color=COLORS[s], lw=1.6, label=NAMES[s])
        ax.set_title(title)
        ax.set_ylabel(ylabel)
    med = peaks.groupby("schedule")[["t* (epochs)", "tau*"]].median()
    for s in _schedules(peaks):
        if np.isfinite(med.loc[s, "tau*"]) and med.loc[s, "tau*"] > 0:
            axes[-1].plot([med.loc[s, "t* (epochs)"]], [med.loc[s, "tau*"]], "o", color=COLORS[s], ms=7)
    for ax, (_, _, log) in zip(axes, READING_AXES.values()):
        if log:
            log_axis(ax)
    axes[1].axhline(0, color="black", lw=0.8, ls=":")
    axes[-1].set_xlabel("epoch")
    _legend_above(fig, axes[0])
    return fig


# --- question 1: cooling against alpha ------------------------------------------------------------

def cool_alpha_figure(layer_tables: dict, table, estimate: Estimate | None):
    """Top: cooling epoch against alpha excess per layer for the runs in ``layer_tables``
    ({schedule: analysis.layer_table}); bottom: the per-run correlations and their mean."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(WIDTH, 7.0), layout="constrained")
    for s, t in layer_tables.items():
        top.plot(t["cooling epoch"], t["alpha excess"], "o", color=COLORS[s], ms=5, alpha=0.8, label=NAMES[s])
    top.set_xlabel("cooling epoch (APT below half of its first epoch)")
    top.set_ylabel(r"final $\alpha - \alpha_\mathrm{random}$")
    top.set_title("every paired layer, first seed")
    names = _schedules(table)
    for i, s in enumerate(names):
        g = table[table.schedule == s]
        bottom.plot(np.full(len(g), i - 0.12), g["rho (cooling, excess)"], "o", color=COLORS[s], ms=6)
        if "rho (cooling, excess within shapes)" in g:
            bottom.plot(np.full(len(g), i + 0.12), g["rho (cooling, excess within shapes)"], "o", mfc="none",
                        color=COLORS[s], ms=6)
    bottom.legend(handles=[Line2D([], [], marker="o", ls="", color="black", label="every paired layer"),
                           Line2D([], [], marker="o", ls="", mfc="none", color="black", label="layers of one shape")],
                  loc="lower left", fontsize="small")
    _estimate_marker(bottom, len(names), estimate)
    bottom.axhline(0, color="black", lw=0.8, ls=":")
    bottom.set_xticks(range(len(names) + 1), [NAMES[s] for s in names] + ["all (mean)"])
    bottom.set_ylabel("Spearman rho")
    bottom.set_ylim(-1.05, 1.05)
    bottom.set_title("rank correlation of cooling epoch and alpha excess, per run")
    _legend_above(fig, top)
    return fig


# --- question 2: TempBalance and the cooling order ------------------------------------------------

def order_figure(orders: dict, pairs, estimate: Estimate | None):
    """Top: cooling epoch by depth, cosine and TempBalance; bottom: the correlations of pairs of runs
    of different seeds, and the difference of their means."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(WIDTH, 6.6), layout="constrained")
    for s in ("cosine", "tempbalance"):
        runs = np.array([v for (sched, _), v in sorted(orders.items()) if sched == s])
        if not runs.size:
            continue
        depth = np.arange(runs.shape[1])
        for v in runs:
            top.plot(depth, v, color=COLORS[s], lw=0.6, alpha=0.4)
        top.plot(depth, runs.mean(axis=0), "o-", color=COLORS[s], lw=1.8, ms=4, label=NAMES[s])
    top.set_xlabel("depth (index of the paired layer)")
    top.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    top.set_ylabel("cooling epoch")
    top.set_title("when each layer cools")
    kinds = ("cosine vs cosine", "TempBalance vs cosine")
    for i, kind in enumerate(kinds):
        v = pairs[pairs.pair == kind].rho
        bottom.plot(np.full(len(v), i), v, "o", color=COLORS["cosine" if i == 0 else "tempbalance"], ms=6)
    _estimate_marker(bottom, 2, estimate)
    bottom.axhline(0, color="black", lw=0.8, ls=":")
    bottom.set_xticks(range(3), [*kinds, "difference"])
    bottom.set_ylabel("Spearman rho")
    bottom.set_title("how alike two runs' cooling orders are (pairs of different seeds)")
    _legend_above(fig, top)
    return fig


# --- question 3: the controllers and the alphas ---------------------------------------------------

def alpha_shift_figure(profiles, shifts, estimates: dict):
    """Top: final alpha by depth per controller (``profiles`` from ``analysis.alpha_profiles``);
    bottom: the per-seed shifts against cosine, with each controller's mean and its interval."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(WIDTH, 6.6), layout="constrained")
    for s in _schedules(profiles):
        p = profiles[profiles.schedule == s].sort_values("depth")
        top.plot(p.depth, p.alpha, "o-", color=COLORS[s], ms=4, lw=1.4, label=NAMES[s])
    base = profiles.drop_duplicates("depth").sort_values("depth")
    top.plot(base.depth, base["random alpha"], ":", color="black", lw=1.4, label="random matrix")
    top.set_xlabel("depth (index of the layer)")
    top.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    top.set_ylabel(r"final $\alpha$ (PL_Alpha_Hill)")
    names = [s for s in configs.SCHEDULES[1:] if s in set(shifts.schedule)]
    for i, s in enumerate(names):
        v = shifts[shifts.schedule == s]["alpha shift (1)"]
        bottom.plot(np.full(len(v), i - 0.1), v, "o", color=COLORS[s], ms=6)
        _estimate_marker(bottom, i + 0.15, estimates.get(s), color=COLORS[s])
    bottom.axhline(0, color="black", lw=0.8, ls=":")
    bottom.set_xticks(range(len(names)), [f"{NAMES[s]} - cosine" for s in names])
    bottom.set_ylabel(r"mean $\Delta\alpha$ over layers")
    _legend_above(fig, top)
    return fig


# --- question 4: the L2 clock ----------------------------------------------------------------------

def clock_figure(points, peaks):
    """Top: mean APT per epoch against the epoch; middle: against eta * lambda * t; bottom: every
    run's peak in epochs and in eta * lambda * t."""
    fig, axes = plt.subplots(3, 1, figsize=(WIDTH, 9.0), layout="constrained")
    for s in _schedules(points):
        g = points[points.schedule == s].assign(epoch_index=lambda d: np.ceil(d.epoch - 1e-9))
        per = g.groupby("epoch_index")[["apt", "tau"]].mean()
        axes[0].plot(per.index - 0.5, per.apt, "o-", color=COLORS[s], ms=3, label=NAMES[s])
        axes[1].plot(per.tau, per.apt, "o-", color=COLORS[s], ms=3)
        p = peaks[peaks.schedule == s]
        axes[2].plot(p["t* (epochs)"], p["tau*"], "o", color=COLORS[s], ms=7)
    axes[0].set_xlabel("epoch")
    axes[1].set_xlabel(r"physical time $\eta\lambda t$")
    log_axis(axes[1], "x")
    for ax in axes[:2]:
        ax.set_ylabel("mean APT (bits)")
    axes[0].set_title("on the step clock")
    axes[1].set_title("on the L2 paper's clock")
    end = float(np.ceil(points.epoch.max() - 1e-9))  # the last epoch: a peak there is the budget's, not the dynamics'
    axes[2].axvline(end, color="gray", ls=":", lw=1.2)
    axes[2].annotate("end of training", (end, 0.5), xycoords=("data", "axes fraction"), xytext=(-6, 0),
                     textcoords="offset points", ha="right", va="center", color="gray")
    axes[2].set_xlim(0, end + 0.5)
    axes[2].set_xlabel("test-accuracy peak t* (epochs)")
    axes[2].set_ylabel(r"$\eta\lambda t$ at t*")
    log_axis(axes[2])
    axes[2].set_title("where each run's test accuracy peaks")
    _legend_above(fig, axes[0])
    return fig


# --- question 5: the logit scale -------------------------------------------------------------------

def logit_figure(logits, slope: Estimate | None):
    """Top: final beta * ||z|| against beta (cosine), the fitted line and the two reference slopes;
    bottom: final beta * ||z|| per controller at beta = 1."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(WIDTH, 6.6), layout="constrained")
    cos = logits[logits.schedule == "cosine"]
    top.plot(cos.beta, cos["logit scale"], "o", color=COLORS["cosine"], ms=6, label="cosine runs")
    betas = np.geomspace(cos.beta.min(), cos.beta.max(), 20)
    at_one = cos[np.isclose(cos.beta, 1.0)]["logit scale"]
    center = float(np.exp(np.log(at_one).mean())) if len(at_one) else float(np.exp(np.log(cos["logit scale"]).mean()))
    if slope is not None:
        top.plot(betas, center * betas ** slope.value, color="black", lw=1.4, label=f"fit: slope {slope.value:.2f}")
    for s, style in ((0.0, (0, (1, 2))), (1.0, (0, (4, 2)))):
        top.plot(betas, center * betas ** s, color="gray", ls=style, lw=1.2, label=f"slope {s:g}")
    top.set_xscale("log")
    top.set_xticks(sorted(cos.beta.unique()), [f"{b:g}" for b in sorted(cos.beta.unique())])
    top.xaxis.set_minor_formatter(ticker.NullFormatter())
    log_axis(top)
    top.set_xlabel(r"inverse temperature $\beta$")
    top.set_ylabel(r"final $\beta\|z\|$")
    top.legend(loc="best", fontsize=NOTE_PT)
    one = logits[np.isclose(logits.beta, 1.0)]
    names = _schedules(one)
    for i, s in enumerate(names):
        v = one[one.schedule == s]["logit scale"]
        bottom.plot(np.full(len(v), i), v, "o", color=COLORS[s], ms=6)
    bottom.set_xticks(range(len(names)), [NAMES[s] for s in names])
    bottom.set_yscale("log")
    bottom.set_ylim(top.get_ylim())  # the same scale as the top: the two spreads compare by eye
    log_axis(bottom)
    bottom.set_ylabel(r"final $\beta\|z\|$ at $\beta = 1$")
    return fig

"""TempBalance's figures (chapters ``notebooks/tempbalance/01-esd-and-hill`` and
``notebooks/tempbalance/02-training-with-tempbalance``): records and the tables of
:mod:`thermo.papers.tempbalance.analysis` in, axes out. Every number a reader would cite comes from
``analysis``; here it is only drawn.

Chapter 1: the paper's Fig. 9 (:func:`s_vs_alpha`, :func:`s_error_by_size`, :func:`fig9_figure`)
and an analogue of its Fig. 1 (:func:`esd_with_hill_fit`, :func:`fig1_figure`). Chapter 2: Fig. 3
and Table 1 (:func:`method_panel`, :func:`grid_panel`, :func:`fig3_figure`), the factors of eq. 2
over training (:func:`scale_heatmap`, :func:`scales_figure`), Figs. 5 and 6
(:func:`tb_vs_cal_panel`, :func:`fig5_figure`, :func:`fig6_figure`), Fig. 7
(:func:`fig7_figure`), Figs. 10-11 (:func:`alpha_distribution`, :func:`fig10_figure`), each
layer's alpha beside its random-matrix baseline (:func:`baseline_panel`, :func:`baseline_figure`)
and the cost of balancing (:func:`overhead_figure`). :func:`publish` saves a figure with its title and
lead from :data:`CAPTIONS`; :func:`styled` formats a table for the page.
"""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np

from thermo import figures, htsr
from thermo.papers.tempbalance import analysis
from thermo.papers.tempbalance.configs import ARCHS

Caption = figures.Caption  # the gallery title and caption lead of each figure


CAPTIONS = {
    "tb-fig9-s-vs-alpha": Caption(
        "s = 1/(alpha - 1) on synthetic power-law spectra, and its error against M",
        "Left: PL_Alpha_Hill (eq. 3, k = M/2) of M x M matrices whose eigenvalues decay as k^-s, against s, with "
        "the curve s = 1/(alpha - 1). Right: mean relative error of s_hat = 1/(alpha - 1) over the s grid against "
        "M, measured (points) and the closed form (lines), for the paper's rule and the official code's. Sizes "
        "{sizes}, {n_s} values of s from {s_min} to {s_max}, float64"),
    "tb-fig1-esd-fits": Caption(
        "ESDs and Hill fits of the most and least heavy-tailed layers of a trained network",
        "ESDs (blue histograms, log-spaced bins) of the most and least heavy-tailed layers with at least 50 "
        "eigenvalues of a trained network; black line: the Hill threshold lambda_min of eq. 3 with k = n/2; solid "
        "red: the tail above it; dashed red: the fitted power law, scaled to the tail's share of eigenvalues"),
    "tb-fig3-main": Caption(
        "TempBalance against cosine annealing and spectral-norm regularization",
        "Left panels: final test accuracy of CAL, SNR, TB and TB+SNR, one dot per seed, diamond and bar the mean "
        "and standard deviation over seeds, for each model at the main settings (the paper's eta_0, SNR's chosen "
        "lambda_sr). Right panels: the tuning grids on the first seed, CAL's initial learning rate and SNR's "
        "lambda_sr (circled: the value used for every seed). Fashion-MNIST, SGD with cosine annealing per epoch"),
    "tb-alg1-scales": Caption(
        "The learning-rate factors TempBalance chose, layer by layer, over training",
        "Each row is a tuned layer, each column an evaluation epoch; the colour is the factor eq. 2 gave the "
        "layer's learning rate (blue s1: the most heavy-tailed layer, red s2: the lightest-tailed), for the TB "
        "run of the first seed of each model"),
    "tb-fig5-lr": Caption(
        "TempBalance and cosine annealing over the initial learning rate",
        "Final test accuracy of TB (red) and CAL (blue) against the initial learning rate, first seed, per model"),
    "tb-fig6-width": Caption(
        "TempBalance and cosine annealing at three widths",
        "Final test accuracy of TB (red) and CAL (blue) against the width of {model}, mean over seeds (line) and "
        "each seed (dots)"),
    "tb-fig7-metric": Caption(
        "TempBalance driven by three heavy-tailed metrics",
        "Final test accuracy of {model} trained with TB driven by PL_Alpha_Hill, the spectral norm and "
        "AlphaWeighted, and with CAL, one dot per seed, diamond and bar the mean and standard deviation"),
    "tb-fig10-alpha-dist": Caption(
        "The distribution of the final PL_Alpha_Hill over layers and seeds, TB against CAL",
        "Violins: the final PL_Alpha_Hill of every layer with at least 50 eigenvalues, pooled over seeds, for "
        "CAL and TB at the main settings (quartiles dashed, each layer a dot); star: the mean; grey dashes: "
        "alpha = 2"),
    "tb-shape-baseline": Caption(
        "Each layer's final PL_Alpha_Hill beside what its shape alone scores",
        "For every layer with at least 50 eigenvalues, in network order: the PL_Alpha_Hill of Gaussian random "
        "matrices of the layer's shape (grey bars, mean of 5 draws, the same estimator: eq. 3 with k = n/2), and "
        "the final PL_Alpha_Hill after training with CAL (blue) and TB (red), mean over seeds; hatched bars mark "
        "the channel-doubling layers (out = 2 x in). Grey dashes: alpha = 2"),
    "tb-overhead": Caption(
        "The cost and the effect of balancing every epoch, every 100 steps and every 10 steps",
        "Left: seconds inside TempBalance (metric, eq. 2, writing the optimizer's groups) over seconds of "
        "training, mean over seeds, log scale, against the paper's 6 % and this book's 10 % target. Right: final "
        "test accuracy per seed (bar: mean) with CAL for reference. {model}"),
}


def publish(fig, figure_id: str, records, **fields):
    """``figures.publish`` with the figure's title and lead from :data:`CAPTIONS`."""
    cap = CAPTIONS[figure_id]
    return figures.publish(fig, figure_id, list(records), title=cap.title, lead=cap.lead.format(**fields))


def styled(table, precision: int, scientific=()):
    """A table for the page: no index, ``precision`` digits, missing values as "-", the columns
    ``scientific`` in scientific notation."""
    style = table.style.hide(axis="index").format(precision=precision, na_rep="-")
    return style.format("{:.1e}", subset=list(scientific)) if scientific else style


def _plain_log_axis(axis) -> None:
    axis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    axis.set_minor_formatter(matplotlib.ticker.NullFormatter())


# --- chapter 1: Fig. 9 -----------------------------------------------------------------------------

def s_vs_alpha(ax, rows, rule: str = "eq3"):
    """TempBalance Fig. 9: PL_Alpha_Hill (x) against the true decay exponent s (y), one series
    per matrix size M, over the curve ``s = 1 / (alpha - 1)``."""
    sizes = sorted({r["m"] for r in rows})
    cmap = matplotlib.colormaps["viridis"]
    for i, m in enumerate(sizes):
        pts = [(r[f"alpha_{rule}"], r["s"]) for r in rows if r["m"] == m]
        a, s = np.array(pts).T
        ax.scatter(a, s, s=12, color=cmap(i / max(1, len(sizes) - 1)), label=f"M = {m}", zorder=3)
    alphas = np.array([r[f"alpha_{rule}"] for r in rows])
    grid = np.linspace(alphas.min() * 0.98, alphas.max() * 1.02, 400)
    ax.plot(grid, 1 / (grid - 1), color="crimson", lw=1.5, label="s = 1/(alpha - 1)", zorder=2)
    ax.set_xscale("log")
    _plain_log_axis(ax.xaxis)
    ax.set_xticks([1.5, 2, 3, 4, 6])
    ax.set_xlabel("PL_Alpha_Hill")
    ax.set_ylabel("decay exponent s")
    ax.set_title("s against PL_Alpha_Hill")
    ax.legend(fontsize=8, ncol=2)


def s_error_by_size(ax, rows):
    """Mean relative error of ``s_hat = 1/(alpha - 1)`` against M, measured
    (:func:`~thermo.papers.tempbalance.analysis.s_error_by_size`) and the closed form
    (:func:`thermo.htsr.hill_bias_factor`), for both threshold rules."""
    for rule, marker in (("eq3", "o"), ("official", "s")):
        errs = analysis.s_error_by_size(rows, rule)
        ms = errs.index.to_numpy()
        ax.plot(ms, errs["mean"].to_numpy(), marker=marker, ls="none", label=f"measured ({rule})")
        ax.plot(ms, [1 - htsr.hill_bias_factor(int(m), rule) for m in ms], lw=1, label=f"closed form ({rule})")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("matrix size M")
    ax.set_ylabel("mean |s_hat - s| / s")
    ax.set_title("error shrinks with M")
    ax.legend(fontsize=8)


def fig9_figure(rows):
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    s_vs_alpha(ax1, rows)
    s_error_by_size(ax2, rows)
    return fig


# --- chapter 1: Fig. 1 analogue --------------------------------------------------------------------

def esd_with_hill_fit(ax, layer: dict, bins: int | None = None):
    """TempBalance Fig. 1 style: the ESD histogram (log-spaced bins, density), the threshold
    ``lambda_min`` of eq. 3, the tail, and the fitted power law scaled to the tail's share."""
    eigs = np.asarray(layer["eigs"], dtype=float)
    eigs = eigs[eigs > 0]
    n = eigs.size
    bins = bins or int(np.clip(n // 4, 10, 60))
    xmin, alpha = layer["xmin_eq3"], layer["alpha_hill"]
    edges = np.logspace(np.log10(eigs.min()), np.log10(eigs.max()), bins + 1)
    ax.hist(eigs, bins=edges, density=True, color="tab:blue", alpha=0.55, label="ESD")
    tail = eigs[eigs > xmin]
    k = tail.size
    counts, _ = np.histogram(tail, bins=edges)
    widths = np.diff(edges)
    centers = np.sqrt(edges[:-1] * edges[1:])
    mask = counts > 0
    tail_density = counts[mask] / (n * widths[mask])
    ax.plot(centers[mask], tail_density, color="crimson", lw=1.5, label=f"tail (k = {k})")
    grid = np.logspace(np.log10(xmin), np.log10(eigs.max()), 200)
    fitted = (k / n) * (alpha - 1) / xmin * (grid / xmin) ** (-alpha)
    ax.plot(grid, fitted, color="crimson", ls="--", lw=1.5, label=f"PL fit, alpha = {alpha:.2f}")
    ax.axvline(xmin, color="black", lw=1.2, label="lambda_min")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("eigenvalue of W^T W")
    ax.set_ylabel("density")
    ax.set_title(f"{layer['name']} {tuple(layer['shape'])}")
    ax.legend(fontsize=8)


def fig1_figure(layers):
    """The most and the least heavy-tailed layers (:func:`~thermo.papers.tempbalance.analysis.heavy_and_light`)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, L, label in zip(axes, analysis.heavy_and_light(layers), ("more heavy-tailed", "less heavy-tailed")):
        esd_with_hill_fit(ax, L)
        ax.set_title(f"{label}: {L['name']} {tuple(L['shape'])}")
    return fig


# --- chapter 2: Fig. 3 / Table 1 -------------------------------------------------------------------

METHOD_LABELS = {"cal": "CAL", "snr": "SNR", "tb": "TB", "tb+snr": "TB+SNR"}
METHOD_COLORS = {"cal": "tab:blue", "snr": "tab:green", "tb": "tab:red", "tb+snr": "tab:purple"}


def method_panel(ax, frame, model: str, methods=("cal", "snr", "tb", "tb+snr")):
    """Fig. 3 analogue for one model: every seed's test accuracy (dots) and the mean with a
    standard-deviation bar per method."""
    for i, m in enumerate(methods):
        acc = frame[(frame.model == model) & (frame.method == m)].test_acc.dropna().to_numpy() * 100
        if acc.size == 0:
            continue
        jitter = np.linspace(-0.12, 0.12, acc.size) if acc.size > 1 else np.zeros(1)
        ax.scatter(i + jitter, acc, s=18, color=METHOD_COLORS[m], alpha=0.6, zorder=3)
        ax.errorbar(i + 0.3, acc.mean(), yerr=acc.std(ddof=1) if acc.size > 1 else 0, fmt="D",
                    color=METHOD_COLORS[m], capsize=4, ms=6, zorder=4)
    ax.set_xticks(range(len(methods)), [METHOD_LABELS[m] for m in methods])
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(model)


def grid_panel(ax, frame, x: str, method: str, xlabel: str, best=None):
    """Tuning grid (one seed): test accuracy of ``method`` against hyper-parameter ``x``,
    the value used for every seed marked."""
    sub = frame[frame.method == method].dropna(subset=["test_acc"])
    for model, g in sub.groupby("model"):
        g = g.sort_values(x)
        line, = ax.plot(g[x], g.test_acc * 100, marker="o", label=model)
        if best is not None and model in best:
            hit = g[np.isclose(g[x], best[model])]
            ax.scatter(hit[x], hit.test_acc * 100, s=120, facecolor="none", edgecolor=line.get_color(), zorder=4)
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"{METHOD_LABELS[method]}: {xlabel} grid")
    ax.legend(fontsize=8)


def fig3_figure(main, runs, profile: str):
    """Every model's methods at the main settings (``main``: :func:`analysis.main_table`), then the
    tuning grids of the first seed (``runs``: :func:`analysis.runs_frame` of ``tb-fig3-main``)."""
    archs = list(ARCHS[profile].values())
    fig, axes = plt.subplots(1, len(archs) + 2, figsize=(4.2 * (len(archs) + 2), 4))
    for ax, a in zip(axes, archs):
        method_panel(ax, main, a.model)
    grid = analysis.tuning_grid(runs, profile)
    grid_panel(axes[-2], grid[grid.lambda_sr.isna()], "lr", "cal", "initial learning rate",
               best={a.model: a.eta0 for a in archs})
    grid_panel(axes[-1], grid[grid.method == "snr"], "lambda_sr", "snr", "lambda_sr",
               best={a.model: a.snr_best for a in archs})
    return fig


# --- chapter 2: the factors of eq. 2 over training -------------------------------------------------

def scale_heatmap(ax, record):
    """The learning-rate factors TempBalance set, layer by layer (rows) at each evaluation
    (columns) of one run (:func:`analysis.scale_grid`), and the colour bar's limits at s1 and s2."""
    layers, grid = analysis.scale_grid(record)
    c = record["config"]
    im = ax.imshow(grid, aspect="auto", cmap="coolwarm", vmin=c["s1"], vmax=c["s2"], interpolation="nearest")
    ax.set_yticks(range(len(layers)), layers, fontsize=6)
    ax.set_xticks(range(grid.shape[1]), range(1, grid.shape[1] + 1))  # logged at the end of every epoch
    ax.set_xlabel("end of epoch")
    ax.set_title(f"TB's LR factor per layer ({c['model']}, seed {c['seed']})")
    ax.figure.colorbar(im, ax=ax, label="lr factor")
    return grid


def scales_figure(tb_runs):
    fig, axes = plt.subplots(1, len(tb_runs), figsize=(6.5 * len(tb_runs), 5))
    for ax, rec in zip(np.atleast_1d(axes), tb_runs):
        scale_heatmap(ax, rec)
    return fig


# --- chapter 2: Figs. 5 and 6 ----------------------------------------------------------------------

def tb_vs_cal_panel(ax, frame, x: str, xlabel: str, model: str | None = None, log: bool = True):
    """Figs. 5-6: TB and CAL test accuracy against ``x`` (mean over seeds, seeds as dots)."""
    sub = frame if model is None else frame[frame.model == model]
    for m in ("cal", "tb"):
        g = sub[sub.method == m].dropna(subset=["test_acc"])
        if g.empty:
            continue
        ax.scatter(g[x], g.test_acc * 100, s=14, alpha=0.5, color=METHOD_COLORS[m])
        mean = g.groupby(x).test_acc.mean() * 100
        ax.plot(mean.index, mean.values, marker="o", color=METHOD_COLORS[m], label=METHOD_LABELS[m])
    if log:
        ax.set_xscale("log")
        _plain_log_axis(ax.xaxis)
    ax.set_xticks(sorted(sub[x].unique()))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(model or "")
    ax.legend(fontsize=8)


def fig5_figure(frame, profile: str):
    """TB and CAL over the initial learning rate, one panel per model (``frame``: :func:`analysis.lr_grid_frame`)."""
    models = [a.model for a in ARCHS[profile].values()]
    fig, axes = plt.subplots(1, len(models), figsize=(5.5 * len(models), 4))
    for ax, model in zip(np.atleast_1d(axes), models):
        tb_vs_cal_panel(ax, frame, "lr", "initial learning rate", model=model)
    return fig


def fig6_figure(frame, profile: str):
    """TB and CAL over the ResNet's width (``frame``: :func:`analysis.width_frame`)."""
    fig, ax = plt.subplots(figsize=(5.5, 4))
    tb_vs_cal_panel(ax, frame, "width", "width factor of ResNet-20", model=ARCHS[profile]["resnet"].model, log=False)
    return fig


# --- chapter 2: Fig. 7 -----------------------------------------------------------------------------

def fig7_figure(frame, profile: str):
    """Test accuracy per driver of TB (and CAL), one dot per seed, diamond and bar the mean and
    standard deviation (``frame``: :func:`analysis.metric_frame`)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for i, name in enumerate(analysis.DRIVERS):
        acc = frame[frame.driver == name].test_acc.dropna().to_numpy() * 100
        color = "tab:blue" if name == "CAL" else "tab:red"
        if acc.size:
            ax.scatter(np.full(acc.size, i), acc, s=18, alpha=0.6, color=color)
            ax.errorbar(i + 0.2, acc.mean(), yerr=acc.std(ddof=1) if acc.size > 1 else 0, fmt="D", capsize=4,
                        color=color)
    ax.set_xticks(range(len(analysis.DRIVERS)), ["CAL"] + [f"TB: {d}" for d in analysis.DRIVERS[1:]], fontsize=8)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(ARCHS[profile]["resnet"].model)
    return fig


# --- chapter 2: Figs. 10-11 ------------------------------------------------------------------------

def alpha_distribution(ax, alphas, model: str):
    """Figs. 10-11 analogue: the distribution of the final PL_Alpha_Hill over layers and seeds,
    TB against CAL (seaborn violins), mean (star) and median (bar) marked, alpha = 2 dashed."""
    import seaborn as sns

    sub = alphas[(alphas.model == model) & alphas.method.isin(["cal", "tb"])].copy()
    sub["method"] = sub.method.map(METHOD_LABELS)
    order = ["CAL", "TB"]
    sns.violinplot(data=sub, x="method", y="alpha", hue="method", order=order, hue_order=order, ax=ax, cut=0,
                   inner="quartile", palette={"CAL": METHOD_COLORS["cal"], "TB": METHOD_COLORS["tb"]},
                   legend=False)
    sns.stripplot(data=sub, x="method", y="alpha", order=order, ax=ax, color="black", size=2.5, alpha=0.5)
    for i, m in enumerate(order):
        a = sub[sub.method == m].alpha
        if a.empty:
            continue
        ax.scatter([i], [a.mean()], marker="*", s=160, color="gold", edgecolor="black", zorder=5,
                   label="mean" if i == 0 else None)
    ax.axhline(2.0, color="grey", ls="--", lw=1, label="alpha = 2")
    ax.set_xlabel("")
    ax.set_ylabel("final PL_Alpha_Hill per layer")
    ax.set_title(model)
    ax.legend(fontsize=8, loc="upper right")


def fig10_figure(alphas, profile: str):
    """One panel per model (``alphas``: :func:`analysis.main_alphas`)."""
    models = [a.model for a in ARCHS[profile].values()]
    fig, axes = plt.subplots(1, len(models), figsize=(5.5 * len(models), 4.2))
    for ax, model in zip(np.atleast_1d(axes), models):
        alpha_distribution(ax, alphas, model)
    return fig


# --- chapter 2: what the shape alone scores ----------------------------------------------------------

def baseline_panel(ax, table, model: str):
    """One model's rows of :func:`analysis.baseline_table`: the random alpha as bars, the final
    alphas of CAL and TB as dots."""
    t = table.loc[model]
    x = np.arange(len(t))
    ax.bar(x, t["random alpha"], color="lightgrey", edgecolor="grey", label="random matrix, same shape",
           hatch=[None if sq else "//" for sq in t["square"]])
    for m in ("cal", "tb"):
        col = f"alpha, {m.upper()}"
        if col in t.columns:
            ax.scatter(x, t[col], color=METHOD_COLORS[m], s=28, zorder=3, label=f"trained, {METHOD_LABELS[m]}")
    ax.axhline(2.0, color="grey", ls="--", lw=1)
    ax.set_xticks(x, t.index, rotation=90, fontsize=7)
    ax.set_ylim(1.5, None)
    ax.set_ylabel("PL_Alpha_Hill")
    ax.set_title(model)
    ax.legend(fontsize=8, loc="lower right", framealpha=0.9)


def baseline_figure(table):
    """One panel per model of :func:`analysis.baseline_table`."""
    models = list(dict.fromkeys(table.index.get_level_values(0)))
    fig, axes = plt.subplots(1, len(models), figsize=(6 * len(models), 4.2), squeeze=False)
    for ax, model in zip(axes[0], models):
        baseline_panel(ax, table, model)
    return fig


# --- chapter 2: the cost of balancing --------------------------------------------------------------

def overhead_figure(frame, table, profile: str):
    """Left: the share of training time spent balancing per frequency (``table``:
    :func:`analysis.cost_table`); right: test accuracy per seed and frequency (``frame``:
    :func:`analysis.cost_frame`)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    shown = table.drop(index="none (CAL)", errors="ignore")
    axes[0].bar(range(len(shown)), 100 * shown.share, color="tab:red")
    axes[0].axhline(6.0, color="grey", ls="--", lw=1, label="paper: 6 % (ResNet18, V100, per epoch)")
    axes[0].axhline(10.0, color="black", ls=":", lw=1, label="target for every 10 steps: 10 %")
    axes[0].set_yscale("log")
    axes[0].set_xticks(range(len(shown)), shown.index)
    axes[0].set_ylabel("share of training time (%)")
    axes[0].set_title("time spent balancing")
    axes[0].legend(fontsize=8)
    order = list(table.index)
    for i, name in enumerate(order):
        acc = frame[frame.balancing == name].test_acc.dropna() * 100
        axes[1].scatter(np.full(len(acc), i), acc, color="tab:blue" if name.startswith("none") else "tab:red", s=20)
        if len(acc):
            axes[1].plot([i - 0.2, i + 0.2], [acc.mean()] * 2, color="black")
    axes[1].set_xticks(range(len(order)), order, fontsize=8)
    axes[1].set_ylabel("test accuracy (%)")
    seeds = sorted(int(s) for s in frame.seed.unique())
    axes[1].set_title(f"{ARCHS[profile]['resnet'].model}, seeds {seeds}")
    return fig

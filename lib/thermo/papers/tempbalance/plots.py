"""TempBalance's figures and page tables (chapters ``notebooks/tempbalance/01-esd-and-hill`` and
``notebooks/tempbalance/02-training-with-tempbalance``): records and the tables of
:mod:`thermo.papers.tempbalance.analysis` in, axes and page tables out. Every number a reader would
cite comes from ``analysis``; here it is only drawn or formatted.

Chapter 1: the paper's Fig. 9 (:func:`s_vs_alpha`, :func:`s_error_by_size`, :func:`fig9_figure`)
and an analogue of its Fig. 1 (:func:`esd_with_hill_fit`, :func:`fig1_figure`). Chapter 2: the
paper's Fig. 3 and Table 1 (:func:`method_panel`, :func:`grid_panel`, :func:`fig3_figure`), the
factors of its eq. 2 over training (:func:`scale_heatmap`, :func:`scales_figure`), its Figs. 5 and 6
(:func:`tb_vs_cal_panel`, :func:`fig5_figure`, :func:`fig6_figure`), its Fig. 7
(:func:`fig7_figure`), its Figs. 10-11 (:func:`alpha_distribution`, :func:`fig10_figure`), each
layer's alpha beside its random-matrix baseline (:func:`baseline_panel`, :func:`baseline_figure`)
and the cost of balancing (:func:`overhead_figure`). :func:`publish` saves a figure with its title and
lead from :data:`CAPTIONS`; :func:`table` shows an analysis table on the page (:data:`TABLES`: its
caption, headers with units, and the summary of a long one).

Every figure is sized for the page column (``figures.COLUMN_PX``): at most 6.8 in wide, panels that
need room stacked in rows, text at 8 pt or more, so ``figures.check_legible`` passes with margin.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import matplotlib
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd

from thermo import figures, htsr, tables
from thermo.papers.tempbalance import analysis
from thermo.papers.tempbalance.configs import ARCHS

Caption = figures.Caption  # the gallery title and caption lead of each figure
WIDTH = 6.8  # inches: a figure this wide shows 8 pt text at 11 px in the page column

CAPTIONS = {
    "tb-fig9-s-vs-alpha": Caption(
        "s = 1/(alpha - 1) on synthetic power-law spectra, and its error against M",
        "Top: PL_Alpha_Hill $\\hat\\alpha$ (TempBalance's eq. 3, $k = M/2$) of $M \\times M$ matrices whose "
        "eigenvalues decay as $\\lambda_k = k^{{-s}}$, against $s$, coloured by $M$, with the curve "
        "$s = 1/(\\alpha - 1)$. Bottom: mean relative error of $\\hat s = 1/(\\hat\\alpha - 1)$ over the $s$ grid "
        "against $M$, measured (points) and the closed form (lines), for the paper's threshold rule and the "
        "official code's. Sizes $M$ = {sizes}; {n_s} values of $s$ from {s_min} to {s_max}, float64"),
    "tb-fig1-esd-fits": Caption(
        "ESDs and Hill fits of the most and least heavy-tailed layers of a trained network",
        "ESDs (blue histograms, log-spaced bins) of the most (top) and least (bottom) heavy-tailed layers with at "
        "least 50 eigenvalues of a trained network; black line: the Hill threshold $\\lambda_\\mathrm{{min}}$ of "
        "TempBalance's eq. 3 with $k = n/2$; solid red: the tail above it; dashed red: the fitted power law, "
        "scaled to the tail's share of eigenvalues"),
    "tb-fig3-main": Caption(
        "TempBalance against cosine annealing and spectral-norm regularization",
        "Top row: final test accuracy of CAL, SNR, TB and TB+SNR, one dot per seed, diamond and bar the mean "
        "and standard deviation over seeds, for each model at the main settings (the paper's $\\eta_0$, SNR's "
        "chosen $\\lambda_\\mathrm{{sr}}$). Bottom row: the tuning grids on the first seed, CAL's initial learning "
        "rate $\\eta_0$ and SNR's $\\lambda_\\mathrm{{sr}}$ (circled: the value used for every seed). "
        "Fashion-MNIST, SGD with cosine annealing per epoch"),
    "tb-alg1-scales": Caption(
        "The learning-rate factors TempBalance chose, layer by layer, over training",
        "Each row is a tuned layer, each column an evaluation epoch; the colour is the factor "
        "$\\eta_t^i / \\eta_t$ that TempBalance's eq. 2 gave the layer's learning rate (blue $s_1$: the most "
        "heavy-tailed layer, red $s_2$: the lightest-tailed), for the TB run of the first seed of each model"),
    "tb-fig5-lr": Caption(
        "TempBalance and cosine annealing over the initial learning rate",
        "Final test accuracy of TB (red) and CAL (blue) against the initial learning rate $\\eta_0$, first seed, "
        "per model"),
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
        "Violins: the final PL_Alpha_Hill $\\alpha$ of every layer with at least 50 eigenvalues, pooled over "
        "seeds, for CAL and TB at the main settings (quartiles dashed, each layer a dot); star: the mean; grey "
        "dashes: $\\alpha = 2$"),
    "tb-shape-baseline": Caption(
        "Each layer's final PL_Alpha_Hill beside what its shape alone scores",
        "For every layer with at least 50 eigenvalues, in network order: the PL_Alpha_Hill of Gaussian random "
        "matrices of the layer's shape (grey bars, mean of 5 draws, the same estimator: TempBalance's eq. 3 with "
        "$k = n/2$), and the final PL_Alpha_Hill after training with CAL (blue) and TB (red), mean over seeds; "
        "hatched bars mark the channel-doubling layers (out = 2 $\\times$ in). Grey dashes: $\\alpha = 2$"),
    "tb-powered": Caption(
        "The powered comparisons, pair by pair",
        "One panel per comparison of the report, titled with its status; every dot is one pair (the same model "
        "and seed, so data order and initialization cancel), plotted above its model; right: the mean difference "
        "with its 95 % t interval. Dashed: the paper's effect (for TB on the excess, the paper's median TB − CAL "
        "gain); dotted: the smallest effect the comparison detects with 80 % power. {snr}"),
    "tb-overhead": Caption(
        "The cost and the effect of balancing every epoch, every 100 steps and every 10 steps",
        "Top: seconds inside TempBalance (metric, TempBalance's eq. 2, writing the optimizer's groups) over "
        "seconds of training, mean over seeds, log scale, against the paper's 6 % and this book's 10 % target. "
        "Bottom: final test accuracy per seed (bar: mean) with CAL for reference. Model: {model}"),
}


def publish(fig, figure_id: str, records, **fields):
    """``figures.publish`` with the figure's title and lead from :data:`CAPTIONS` (a list field is
    written as its items joined by ", ")."""
    cap = CAPTIONS[figure_id]
    fields = {k: ", ".join(map(str, v)) if isinstance(v, (list, tuple)) else v for k, v in fields.items()}
    return figures.publish(fig, figure_id, list(records), title=cap.title, lead=cap.lead.format(**fields))


# --- tables on the page --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Shown:
    """How one analysis table is shown: its caption, its headers (analysis column -> header with its
    unit), the columns held as fractions and shown in percent, the dimensionless or counted columns
    (``unitless``), and the one-sentence summary a long table collapses behind."""

    caption: str
    headers: dict = field(default_factory=dict)
    percent: tuple = ()
    unitless: tuple = ()
    summary: str | None = None
    digits: int = 4


_ALPHA_RULES = {"eq. 3 (ours)": "paper's rule (ours)", "official rule": "official code's rule"}
TABLES = {
    "tb-s-error": Shown(
        "Relative error |ŝ − s| / s of ŝ = 1/(α̂ − 1) per matrix size M, over the s grid, with the paper's "
        "threshold rule, its closed form and the official code's rule; last column: the largest relative "
        "error of the computed eigenvalues",
        {"mean error, eq. 3": "mean error, paper's rule (%)", "max error, eq. 3": "max error, paper's rule (%)",
         "closed form, eq. 3": "closed form, paper's rule (%)", "mean error, official": "mean error, official (%)",
         "eigenvalue round-off": "eigenvalue round-off (relative)"},
        percent=("mean error, eq. 3", "max error, eq. 3", "closed form, eq. 3", "mean error, official"),
        unitless=("M",)),
    "tb-crosscheck-alpha": Shown(
        "PL_Alpha_Hill α of each layer of the trained network from four estimators (α is dimensionless)",
        {"eigenvalues": "eigenvalues", **{k: f"α, {v}" for k, v in _ALPHA_RULES.items()},
         "WeightWatcher": "α, WeightWatcher", "powerlaw": "α, powerlaw"},
        unitless=("eigenvalues", "α, paper's rule (ours)", "α, official code's rule", "α, WeightWatcher",
                  "α, powerlaw")),
    "tb-crosscheck-xmin": Shown(
        "The threshold λ_min each estimator chose (an eigenvalue of WᵀW, in the weights' squared units) and "
        "the tail sizes above it",
        {"eq. 3 (ours)": "λ_min, paper's rule (eigenvalue)", "WeightWatcher": "λ_min, WeightWatcher (eigenvalue)",
         "powerlaw": "λ_min, powerlaw (eigenvalue)", "tail size, eq. 3": "tail size, paper's rule",
         "tail size, powerlaw": "tail size, powerlaw"},
        unitless=("tail size, paper's rule", "tail size, powerlaw")),
    "tb-plan": Shown(
        "TempBalance's plan for the ResNet at initialization: every weight layer, whether it is tuned (and "
        "why not), the BatchNorms that follow it, its PL_Alpha_Hill α and its learning-rate factor",
        {"shape": "weight shape", "batchnorms": "BatchNorms tuned with it", "alpha_hill": "α",
         "factor": "LR factor η_i / η"},
        unitless=("eigenvalues", "α", "LR factor η_i / η"),
        summary="Every weight layer of the ResNet in network order: the first, the last and those with fewer than "
                "50 eigenvalues keep the base rate, the others get a factor between s₁ and s₂ (click to show)"),
    "tb-method-summary": Shown(
        "Final test accuracy per model and method at the main settings, mean and standard deviation over seeds",
        unitless=("seeds",)),
    "tb-paired": Shown(
        "Each method minus CAL, paired by model and seed, with the 95 % t interval of the mean difference",
        {"mean diff (pt)": "mean difference (pt)", "CI low": "95 % CI low (pt)", "CI high": "95 % CI high (pt)"},
        unitless=("pairs",)),
    "tb-lr-grid": Shown(
        "Final test accuracy of CAL and TB at each initial learning rate η₀ (first seed)",
        {"lr": "η₀", "cal": "CAL test acc (%)", "tb": "TB test acc (%)"}, unitless=("η₀",)),
    "tb-width": Shown(
        "Final test accuracy of CAL and TB per width factor of the ResNet and seed, and their difference",
        {"width": "width factor", "cal": "CAL test acc (%)", "tb": "TB test acc (%)"},
        percent=("cal", "tb"), unitless=("width factor", "seed")),
    "tb-metric": Shown(
        "Final test accuracy of the ResNet per driver of TB (and CAL), over seeds",
        {"mean": "test acc (%)", "std": "std (pt)", "count": "seeds"}, unitless=("seeds",)),
    "tb-alpha-summary": Shown(
        "The final PL_Alpha_Hill α of the layers with at least 50 eigenvalues, pooled over seeds (α is "
        "dimensionless)",
        {"mean": "mean α", "median": "median α", "std": "std of α", "mean_distance_to_2": "mean |α − 2|"},
        unitless=("layers", "mean α", "median α", "std of α", "mean |α − 2|")),
    "tb-baselines": Shown(
        "Each layer's random-matrix baseline of PL_Alpha_Hill and its final α under CAL and TB (mean over seeds), "
        "with the excess α − α_random (all dimensionless)",
        {"shape": "weight shape", "square": "square", "random alpha": "α_random", "alpha, CAL": "α, CAL",
         "alpha, TB": "α, TB"},
        unitless=("α_random", "α, CAL", "excess, CAL", "α, TB", "excess, TB"),
        summary="The final α of every layer with at least 50 eigenvalues lies below what a random matrix of its "
                "shape scores, under CAL and TB alike (click to show the 25 layers)", digits=3),
    "tb-cost": Shown(
        "What balancing costs per frequency (the ResNet, mean over seeds); CAL does not balance",
        {"calls": "calls", "tb_seconds": "time balancing (s)", "train_seconds": "training time (s)",
         "share": "share of training (%)", "test_acc": "test acc (%)", "seconds per call": "per call (s)"},
        percent=("share", "test_acc"), unitless=("runs", "calls"), digits=3),
    "tb-paper-config": Shown(
        "The first configuration of the paper profile's main experiment",
        summary="One run of the paper profile: CIFAR-100, ResNet18 at full width, 200 epochs, SGD with momentum "
                "0.9 and weight decay, cosine annealing, crop and flip (click to show every setting)"),
    "tb-claims": Shown("The claims as the reproduction report assesses them from the cached results"),
}
_ROW_NAMES = {"cal": "CAL", "snr": "SNR", "tb": "TB", "tb+snr": "TB+SNR", "alpha_hill": "TB: PL_Alpha_Hill",
              "spectral_norm": "TB: spectral norm", "alpha_weighted": "TB: AlphaWeighted"}
_TUPLE_TEXT = re.compile(r"^\((\d+(?:, \d+)*),?\)$")


def _cell_text(value):
    """A shape (tuple, or its text) as ``8 × 8 × 3 × 3``; ``None`` as a dash; anything else unchanged."""
    if isinstance(value, tuple) and all(isinstance(v, int) for v in value):
        return " × ".join(map(str, value))
    if isinstance(value, str):
        found = _TUPLE_TEXT.match(value)
        return " × ".join(found[1].split(", ")) if found else ("-" if value == "None" else value)
    return value


def table(key: str, frame: pd.DataFrame) -> tables.Table:
    """``frame`` (an analysis table) as the page shows it (:data:`TABLES`): a named index as columns,
    fractions in percent, headers with units, shapes as ``a × b``, no Python repr."""
    spec = TABLES[key]
    shown = frame.reset_index() if any(n is not None for n in frame.index.names) else frame.copy()
    shown.columns = [str(c) for c in shown.columns]
    for col in spec.percent:
        shown[col] = shown[col] * 100
    for col in shown.columns:
        if isinstance(shown[col].dtype, pd.api.extensions.ExtensionDtype) and pd.api.types.is_numeric_dtype(shown[col]):
            shown[col] = shown[col].astype("float64")  # a nullable integer: a missing value shows as "-"
        elif shown[col].dtype == object or pd.api.types.is_string_dtype(shown[col]):
            named = col in ("method", "vs", "driver")
            shown[col] = shown[col].map(lambda v, named=named: _ROW_NAMES.get(v, v) if named else _cell_text(v))
    shown = shown.rename(columns=spec.headers)
    return tables.show(shown, caption=spec.caption, unitless=spec.unitless, digits=spec.digits,
                       summary=spec.summary, index=False)


def _legend(ax, names: dict | None = None, **kwargs) -> None:
    """A legend whose entries read ``names[label]`` (math for the page) while the artists keep their plain
    labels (the series names of the figure's CSV)."""
    handles, labels = ax.get_legend_handles_labels()
    names = names or {}
    ax.legend(handles, [names.get(lab, lab) for lab in labels], **kwargs)


def _plain_log_axis(axis, ticks=None) -> None:
    """A log axis labelled with plain numbers (``ticks``, if given, only there)."""
    if ticks is not None:
        axis.set_major_locator(matplotlib.ticker.FixedLocator(list(ticks)))
    axis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_locator(matplotlib.ticker.NullLocator())


def _shape_text(shape) -> str:
    return " × ".join(str(int(v)) for v in shape)


# --- chapter 1: the paper's Fig. 9 -----------------------------------------------------------------

RULE_NAMES = {"eq3": "paper's rule", "official": "official code"}


def s_vs_alpha(ax, rows, rule: str = "eq3"):
    """TempBalance's Fig. 9: PL_Alpha_Hill (x) against the true decay exponent s (y), coloured by the
    matrix size M (a colour bar), over the curve ``s = 1 / (alpha - 1)``."""
    sizes = sorted({r["m"] for r in rows})
    cmap = matplotlib.colormaps["viridis"]
    norm = matplotlib.colors.LogNorm(min(sizes), max(sizes) if len(sizes) > 1 else 2 * min(sizes))
    for m in sizes:
        pts = [(r[f"alpha_{rule}"], r["s"]) for r in rows if r["m"] == m]
        a, s = np.array(pts).T
        ax.scatter(a, s, s=12, color=cmap(norm(m)), label=f"M = {m}", zorder=3)
    alphas = np.array([r[f"alpha_{rule}"] for r in rows])
    grid = np.linspace(alphas.min() * 0.98, alphas.max() * 1.02, 400)
    ax.plot(grid, 1 / (grid - 1), color="crimson", lw=1.5, label="s = 1/(alpha - 1)", zorder=2)
    ax.set_xscale("log")
    _plain_log_axis(ax.xaxis, [t for t in (1.25, 1.5, 2, 3, 4, 6) if grid[0] <= t <= grid[-1]])
    ax.set_xlabel(r"PL_Alpha_Hill $\hat\alpha$")
    ax.set_ylabel(r"decay exponent $s$")
    ax.set_title(r"$s$ against PL_Alpha_Hill")
    curve = ax.get_lines()[-1]
    ax.legend([curve], [r"$s = 1/(\alpha - 1)$"], loc="upper right")
    bar = ax.figure.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, label="matrix size $M$")
    bar.set_ticks([m for m in (16, 64, 256, 1024) if min(sizes) <= m <= max(sizes)] or sizes[:1])
    bar.ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    bar.ax.yaxis.set_minor_locator(matplotlib.ticker.NullLocator())


def s_error_by_size(ax, rows):
    """Mean relative error of ``s_hat = 1/(alpha - 1)`` against M, measured
    (:func:`~thermo.papers.tempbalance.analysis.s_error_by_size`) and the closed form
    (:func:`thermo.htsr.hill_bias_factor`), for both threshold rules (one colour per rule)."""
    names = {}
    for (rule, marker), color in zip((("eq3", "o"), ("official", "s")), ("tab:blue", "tab:orange")):
        errs = analysis.s_error_by_size(rows, rule)
        ms = errs.index.to_numpy()
        ax.plot(ms, errs["mean"].to_numpy(), marker=marker, ls="none", color=color, label=f"measured ({rule})")
        ax.plot(ms, [1 - htsr.hill_bias_factor(int(m), rule) for m in ms], lw=1, color=color,
                label=f"closed form ({rule})")
        names |= {f"measured ({rule})": f"{RULE_NAMES[rule]}, measured",
                  f"closed form ({rule})": f"{RULE_NAMES[rule]}, closed form"}
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("matrix size $M$")
    ax.set_ylabel(r"mean $|\hat s - s|\,/\,s$")
    ax.set_title("the error shrinks with $M$")
    _legend(ax, names, fontsize=9)


def fig9_figure(rows):
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(WIDTH, 7.4))
    s_vs_alpha(ax1, rows)
    s_error_by_size(ax2, rows)
    return fig


# --- chapter 1: an analogue of the paper's Fig. 1 -----------------------------------------------------

def esd_with_hill_fit(ax, layer: dict, bins: int | None = None):
    """TempBalance's Fig. 1 style: the ESD histogram (log-spaced bins, density), the threshold
    ``lambda_min`` of its eq. 3, the tail, and the fitted power law scaled to the tail's share."""
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
    ax.set_xlabel(r"eigenvalue $\lambda$ of $W^\top W$")
    ax.set_ylabel("density")
    ax.set_title(f"{layer['name']} ({_shape_text(layer['shape'])})")
    _legend(ax, {f"tail (k = {k})": f"tail ($k$ = {k})", f"PL fit, alpha = {alpha:.2f}":
                 rf"power-law fit, $\alpha$ = {alpha:.2f}", "lambda_min": r"$\lambda_\mathrm{min}$"}, fontsize=9)


def fig1_figure(layers):
    """The most and the least heavy-tailed layers (:func:`~thermo.papers.tempbalance.analysis.heavy_and_light`),
    one above the other."""
    fig, axes = plt.subplots(2, 1, figsize=(WIDTH, 7.4))
    for ax, L, label in zip(axes, analysis.heavy_and_light(layers), ("more heavy-tailed", "less heavy-tailed")):
        esd_with_hill_fit(ax, L)
        ax.set_title(f"{label}: {L['name']} ({_shape_text(L['shape'])})")
    return fig


# --- chapter 2: the paper's Fig. 3 / Table 1 ----------------------------------------------------------

METHOD_LABELS = {"cal": "CAL", "snr": "SNR", "tb": "TB", "tb+snr": "TB+SNR"}
METHOD_COLORS = {"cal": "tab:blue", "snr": "tab:green", "tb": "tab:red", "tb+snr": "tab:purple"}
MODEL_STYLES = (("black", "o"), ("tab:gray", "s"))  # the models of a tuning grid: neither is a method's colour


def method_panel(ax, frame, model: str, methods=("cal", "snr", "tb", "tb+snr")):
    """The paper's Fig. 3 for one model: every seed's test accuracy (dots) and the mean with a
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


def grid_panel(ax, frame, x: str, method: str, xlabel: str, best=None, title: str | None = None):
    """Tuning grid (one seed): test accuracy of ``method`` against hyper-parameter ``x`` (log axis,
    ticks at the grid's values), the value used for every seed circled."""
    sub = frame[frame.method == method].dropna(subset=["test_acc"])
    for (model, g), (color, marker) in zip(sub.groupby("model"), MODEL_STYLES * 4):
        g = g.sort_values(x)
        ax.plot(g[x], g.test_acc * 100, marker=marker, color=color, label=model)
        if best is not None and model in best:
            hit = g[np.isclose(g[x], best[model])]
            ax.scatter(hit[x], hit.test_acc * 100, s=140, facecolor="none", edgecolor=color, zorder=4)
    ax.set_xscale("log")
    _plain_log_axis(ax.xaxis, sorted(sub[x].unique()))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title or f"{METHOD_LABELS[method]}: {xlabel} grid")
    ax.legend(fontsize=9)


def fig3_figure(main, runs, profile: str):
    """Every model's methods at the main settings (``main``: :func:`analysis.main_table`) in the top row,
    then the tuning grids of the first seed (``runs``: :func:`analysis.runs_frame` of ``tb-fig3-main``)."""
    archs = list(ARCHS[profile].values())
    nrows = math.ceil((len(archs) + 2) / 2)
    fig, axes = plt.subplots(nrows, 2, figsize=(WIDTH, 3.3 * nrows))
    axes = list(axes.ravel())
    for ax, a in zip(axes, archs):
        method_panel(ax, main, a.model)
    grid = analysis.tuning_grid(runs, profile)
    seed = analysis.first_seed(profile)
    cal_ax, snr_ax = axes[len(archs) + (len(archs) % 2)], axes[len(archs) + (len(archs) % 2) + 1]
    for ax in axes[len(archs):len(archs) + (len(archs) % 2)]:
        ax.set_visible(False)
    grid_panel(cal_ax, grid[grid.lambda_sr.isna()], "lr", "cal", r"initial learning rate $\eta_0$",
               best={a.model: a.eta0 for a in archs}, title=rf"CAL over $\eta_0$ (seed {seed})")
    grid_panel(snr_ax, grid[grid.method == "snr"], "lambda_sr", "snr", r"$\lambda_\mathrm{sr}$",
               best={a.model: a.snr_best for a in archs}, title=rf"SNR over $\lambda_\mathrm{{sr}}$ (seed {seed})")
    return fig


# --- chapter 2: the factors of TempBalance's eq. 2 over training ------------------------------------------

def scale_heatmap(ax, record):
    """The learning-rate factors TempBalance set, layer by layer (rows) at each evaluation
    (columns) of one run (:func:`analysis.scale_grid`), and the colour bar's limits at s1 and s2."""
    layers, grid = analysis.scale_grid(record)
    c = record["config"]
    im = ax.imshow(grid, aspect="auto", cmap="coolwarm", vmin=c["s1"], vmax=c["s2"], interpolation="nearest")
    ax.set_yticks(range(len(layers)), layers, fontsize=9)
    ax.set_xticks(range(grid.shape[1]), range(1, grid.shape[1] + 1))  # logged at the end of every epoch
    ax.grid(False)
    ax.set_xlabel("end of epoch")
    ax.set_title(f"{c['model']}, seed {c['seed']}")
    ax.figure.colorbar(im, ax=ax, label=r"LR factor $\eta_t^i / \eta_t$")
    return grid


def scales_figure(tb_runs):
    """One heatmap per run, stacked, each as tall as its number of layers needs for 9 pt names."""
    counts = [len(analysis.scale_grid(rec)[0]) for rec in tb_runs]
    fig, axes = plt.subplots(len(tb_runs), 1, figsize=(WIDTH, 0.19 * sum(counts) + 1.5 * len(tb_runs)),
                             height_ratios=[n + 6 for n in counts], squeeze=False)
    for ax, rec in zip(axes[:, 0], tb_runs):
        scale_heatmap(ax, rec)
    return fig


# --- chapter 2: the paper's Figs. 5 and 6 -------------------------------------------------------------

def tb_vs_cal_panel(ax, frame, x: str, xlabel: str, model: str | None = None, log: bool = True):
    """The paper's Figs. 5-6: TB and CAL test accuracy against ``x`` (mean over seeds, seeds as dots)."""
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
    ax.legend(fontsize=9)


def fig5_figure(frame, profile: str):
    """TB and CAL over the initial learning rate, one panel per model side by side
    (``frame``: :func:`analysis.lr_grid_frame`)."""
    models = [a.model for a in ARCHS[profile].values()]
    fig, axes = plt.subplots(1, len(models), figsize=(WIDTH if len(models) > 1 else 4.5, 3.6), squeeze=False)
    for ax, model in zip(axes[0], models):
        tb_vs_cal_panel(ax, frame, "lr", r"initial learning rate $\eta_0$", model=model)
    return fig


def fig6_figure(frame, profile: str):
    """TB and CAL over the ResNet's width (``frame``: :func:`analysis.width_frame`)."""
    fig, ax = plt.subplots(figsize=(5.5, 4))
    model = ARCHS[profile]["resnet"].model
    tb_vs_cal_panel(ax, frame, "width", f"width factor of {model}", model=model, log=False)
    return fig


# --- chapter 2: the paper's Fig. 7 --------------------------------------------------------------------

DRIVER_LABELS = {"CAL": "CAL", "alpha_hill": "TB:\nPL_Alpha_Hill", "spectral_norm": "TB:\nspectral norm",
                 "alpha_weighted": "TB:\nAlphaWeighted"}


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
    ax.set_xticks(range(len(analysis.DRIVERS)), [DRIVER_LABELS.get(d, d) for d in analysis.DRIVERS])
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(ARCHS[profile]["resnet"].model)
    return fig


# --- chapter 2: the paper's Figs. 10-11 ---------------------------------------------------------------

def alpha_distribution(ax, alphas, model: str):
    """The paper's Figs. 10-11: the distribution of the final PL_Alpha_Hill over layers and seeds,
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
    ax.set_ylabel(r"final PL_Alpha_Hill $\alpha$ per layer")
    ax.set_title(model)
    _legend(ax, {"alpha = 2": r"$\alpha = 2$"}, fontsize=9, loc="upper right")


def fig10_figure(alphas, profile: str):
    """One panel per model, side by side (``alphas``: :func:`analysis.main_alphas`)."""
    models = [a.model for a in ARCHS[profile].values()]
    fig, axes = plt.subplots(1, len(models), figsize=(WIDTH if len(models) > 1 else 4.5, 4), squeeze=False)
    for ax, model in zip(axes[0], models):
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
    ax.set_xticks(x, t.index, rotation=90, fontsize=9)
    ax.set_xlim(-0.6, len(t) - 0.4)
    ax.set_ylim(1.5, None)
    ax.set_ylabel(r"PL_Alpha_Hill $\alpha$")
    ax.set_title(model)


def baseline_figure(table):
    """One panel per model of :func:`analysis.baseline_table`, stacked, under one legend (a hatched
    bar: a channel-doubling layer)."""
    from matplotlib.patches import Patch

    models = list(dict.fromkeys(table.index.get_level_values(0)))
    fig, axes = plt.subplots(len(models), 1, figsize=(WIDTH, 0.4 + 4.2 * len(models)), squeeze=False)
    for ax, model in zip(axes[:, 0], models):
        baseline_panel(ax, table, model)
    entries = dict(zip(*reversed(axes[0, 0].get_legend_handles_labels())))
    entries = {"random matrix, same shape": entries.pop("random matrix, same shape"),
               "random matrix, channel-doubling layer": Patch(facecolor="lightgrey", edgecolor="grey", hatch="//"),
               **entries}
    fig.legend(list(entries.values()), list(entries), loc="outside upper center", ncol=2, fontsize=9)
    return fig


def powered_panel(ax, pairs, assessment, models) -> None:
    """One powered comparison (``pairs``: its rows of :func:`analysis.powered_pairs`; ``assessment``:
    the report's row): the pairs' differences per model, their mean and 95 % interval, zero, the
    paper's effect and the smallest detectable effect; a panel without pairs says why."""
    title = analysis.POWERED[assessment.claim.id]
    ax.axhline(0.0, color="black", lw=0.8)
    ax.set_xticks(range(len(models) + 1), [*models, "mean"])
    ax.set_xlim(-0.6, len(models) + 0.6)
    ax.set_ylabel("difference (pt)")
    e = assessment.measurement
    if pairs.empty or e is None:
        ax.text(0.5, 0.5, "its runs are not all cached", transform=ax.transAxes, ha="center", va="center",
                fontsize=9, color="grey")
        ax.set_yticks([])
        ax.set_title(f"{title}\n{assessment.status}", fontsize=10)
        return
    rng = np.random.default_rng(0)  # jitter only spreads the dots sideways
    for i, model in enumerate(models):
        d = 100 * pairs[pairs.model == model]["diff"].to_numpy()
        ax.scatter(i + rng.uniform(-0.15, 0.15, d.size), d, s=16, alpha=0.7, color=MODEL_STYLES[i % 2][0],
                   marker=MODEL_STYLES[i % 2][1])
    x = len(models)
    ax.errorbar([x], [100 * e.value], yerr=[[100 * (e.value - e.lo)], [100 * (e.hi - e.value)]], fmt="D",
                color="tab:red", capsize=4, lw=1.5, label="mean, 95 % interval")
    paper, detect = 100 * assessment.claim.rule.margin, 100 * e.detectable()
    ax.axhline(paper, color="grey", ls="--", lw=1, label="the paper's effect")
    ax.axhline(detect, color="grey", ls=":", lw=1.2, label="detectable (80 % power)")
    head = f"{title}: {assessment.status}"
    head = head if len(head) <= 36 else f"{title}\n{assessment.status}"  # a long one on two lines
    ax.set_title(f"{head}\nn = {e.n}, paper {paper:.2f} pt, detects {detect:.2f} pt", fontsize=9)


def powered_figure(pairs, assessments, models):
    """:func:`powered_panel` for each comparison of :data:`analysis.POWERED` in a 2 x 2 grid
    (``assessments``: claim id -> the report's row; ``models``: the x positions), one legend above."""
    fig, axes = plt.subplots(2, 2, figsize=(WIDTH, 7.0))
    for ax, cid in zip(axes.flat, analysis.POWERED):
        powered_panel(ax, pairs[pairs.comparison == cid], assessments[cid], models)
    handles = {}
    for ax in axes.flat:
        handles.update(zip(*reversed(ax.get_legend_handles_labels())))
    if handles:
        fig.legend(list(handles.values()), list(handles), loc="outside upper center", ncol=3, fontsize=9)
    return fig


# --- chapter 2: the cost of balancing --------------------------------------------------------------

def overhead_figure(frame, table, profile: str):
    """Top: the share of training time spent balancing per frequency (``table``:
    :func:`analysis.cost_table`); bottom: test accuracy per seed and frequency (``frame``:
    :func:`analysis.cost_frame`)."""
    fig, axes = plt.subplots(2, 1, figsize=(WIDTH, 6.6))
    shown = table.drop(index="none (CAL)", errors="ignore")
    axes[0].bar(range(len(shown)), 100 * shown.share, color="tab:red")
    axes[0].axhline(6.0, color="grey", ls="--", lw=1, label="paper: 6 % (ResNet18, V100, per epoch)")
    axes[0].axhline(10.0, color="black", ls=":", lw=1, label="target for every 10 steps: 10 %")
    axes[0].set_yscale("log")
    _plain_log_axis(axes[0].yaxis, (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30))
    axes[0].set_xticks(range(len(shown)), shown.index)
    axes[0].set_ylabel("share of training time (%)")
    axes[0].set_title("time spent balancing")
    axes[0].legend(fontsize=9, loc="center left")
    order = list(table.index)
    for i, name in enumerate(order):
        acc = frame[frame.balancing == name].test_acc.dropna() * 100
        axes[1].scatter(np.full(len(acc), i), acc, color="tab:blue" if name.startswith("none") else "tab:red", s=20)
        if len(acc):
            axes[1].plot([i - 0.2, i + 0.2], [acc.mean()] * 2, color="black")
    axes[1].set_xticks(range(len(order)), order)
    axes[1].set_ylabel("test accuracy (%)")
    seeds = ", ".join(str(s) for s in sorted(int(s) for s in frame.seed.unique()))
    axes[1].set_title(f"{ARCHS[profile]['resnet'].model}, seeds {seeds}")
    return fig

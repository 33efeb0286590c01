"""Figures of the Temperature-check chapter (``notebooks/temperature-check/01-softmax-temperature``):
records or :mod:`.analysis` tables in, axes out, and each figure's title and lead for
``thermo.figures.publish`` (:func:`caption`). Nothing here computes a number the chapter cites.

The paper's (Agarwala et al., 2020) Fig. 1 (the collapse), Fig. 2 (tau_z), Fig. 3 (tau_nl, and why
it bends for ReLU), Fig. 4 (eta*), Fig. 5 (the phase plane), Fig. 6 (tuning beta), Fig. 7 (tau_z
against the infinite-width kernel) and App. A.3 (conditioning).

Every figure fits the page column (``thermo.figures.check_legible``): at most 7.5 in wide, panels
stacked where they need room, and one colour scale per quantity (``viridis`` for beta everywhere)
with a colourbar that names each value instead of a legend of near-identical colours. Axis labels
are mathtext and caption leads Markdown with ``$...$`` math; the ``label`` of each line or marker
set stays plain text, since it names the series of the figure's CSV.
"""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter

from thermo import figures

from . import analysis
from .configs import EARLY_STEP

Caption = figures.Caption  # the gallery title (plain words) and the caption lead (Markdown, $...$ math)

CAPTIONS = {
    "tc-fig1-collapse": Caption(
        "Learning curves at a fixed effective learning rate, against raw and effective time",
        "Training accuracy of one initialization ($Z^0 = 0$ by the correlated construction, $c = -1$) trained with "
        "full-batch gradient descent at $\\eta = \\tilde\\eta/\\beta^2$, colour by $\\beta$, one row per "
        "$\\tilde\\eta$; left against $\\eta\\, t$ (time in units of the raw learning rate), right against "
        "$\\tilde\\eta\\, t = \\eta\\beta^2 t$ with the linearized model (black dashes), whose curve is the same "
        "for every $\\beta$. A diverged run's curve stops at its last finite step (cross); step 0 is drawn at "
        "step 0.01"),
    "tc-fig2-tau-z": Caption(
        "The time to start learning against the size of the initial softmax inputs",
        "Top: $\\tau_z\\tilde\\eta/\\lVert Z^0\\rVert_F$ ($\\tau_z$ from the first step at "
        "$\\tilde\\eta = 10^{{-3}}$) against $\\lVert Z^0\\rVert_F$, one line per $\\beta$ through the "
        "correlations $c$ of the initialization. Bottom: training accuracy of the network alone at "
        "$\\beta = {long_beta:g}$ and $\\tilde\\eta = {long_eta_tilde:g}$, one run per $c$ (colour by "
        "$\\lVert Z^0\\rVert_F$), against the step $t$ (left) and against $t/\\tau_z$ (right)"),
    "tc-fig3-tau-nl": Caption(
        "The time to leave the linearized regime over the inverse temperature and the size of the initial logits",
        "$\\tau_\\mathrm{nl} = \\lVert\\dot Z\\rVert/\\lVert\\ddot Z_\\mathrm{nl}\\rVert$ at initialization, "
        "from the first step at $\\tilde\\eta = 10^{-3}$, times $\\tilde\\eta$ (top) and times "
        "$\\tilde\\eta/\\beta$ (bottom), against $\\lVert Z^0\\rVert_F$, one line per $\\beta$ through the "
        "correlations $c$; left the ReLU network, right the same architecture with Erf"),
    "tc-fig3-step-scaling": Caption(
        "The non-linear part of one step against the step's size, ReLU and Erf",
        "The remainder $\\lVert f(\\theta + s\\,d) - f(\\theta) - s\\,J d\\rVert$ of one step of size $s$ along "
        "the loss gradient $d$ after the linearized model, divided by $s^2$, for the chapter's MLP at "
        "$\\beta = 1$ with ReLU (solid) and Erf (dashed) at two correlations $c$; dotted: the smooth "
        "second-order term $\\lVert D^2 f[d, d]\\rVert/2$. A flat line is a quadratic remainder"),
    "tc-fig4-eta-star": Caption(
        "The best learning rate against the inverse temperature",
        "Top: final test accuracy (mean over seeds) over the learning-rate grid, colour by $\\beta$. Bottom: the "
        "best learning rate $\\eta^*$ (a parabola in $\\log\\eta$ through the best grid point and its "
        "neighbours; hollow: at the grid's edge, left out of the fit) against $\\beta$, the fitted power law "
        "and the paper's slope $-1$"),
    "tc-fig5-phase-plane": Caption(
        "The phase plane of inverse temperature and initial logit size: accuracy at the best learning rate, "
        "early accuracy, final logits",
        "One marker per $(\\beta, c)$ point of the correlated initialization, at the learning rate "
        "$\\eta = f/\\beta$ with the best final test accuracy among the grid of $f$. Top: that test "
        "accuracy; middle: the training accuracy after {early_step} steps at the same learning rate; bottom: "
        "the final $\\lVert Z\\rVert_F$. Grey: $\\lVert Z^0\\rVert_F > \\sqrt2\\,\\beta\\lVert z^0\\rVert_F$, "
        "which the construction cannot reach; red crosses: every learning rate diverged"),
    "tc-fig6-beta-sweep": Caption(
        "Tuning the inverse temperature of a ConvNet with and without BatchNorm",
        "The procedure of the paper's Sec. 3.4. Top (step 1): final test accuracy over the learning-rate grid "
        "at $\\beta = 1$ (first seed), which picks $\\eta_0$ per network. Bottom (step 2): final test accuracy "
        "against $\\beta$ at the learning rate $\\eta_0/\\beta$, mean and one standard deviation over seeds "
        "(solid, bars) and the best seed (dashed)"),
    "tc-fig7-ntk": Caption(
        "The time to start learning of wide networks against the infinite-width kernel's prediction",
        "$\\tau_z\\tilde\\eta/\\lVert Z^0\\rVert_F$, with $\\tau_z$ from the first gradient-descent step at "
        "$\\tilde\\eta = 10^{-3}$, against the prediction "
        "$\\lVert\\Theta_\\infty(Y - \\sigma(Z^0))/N\\rVert_F^{-1}$, with $\\Theta_\\infty$ the infinite-width "
        "NTK of the same architecture; one marker per $(\\beta, c)$, colour by $\\beta$, filled for true labels "
        "and hollow for shuffled ones; top Erf, bottom ReLU"),
    "tc-a3-conditioning": Caption(
        "The condition number of the linearized dynamics against the size of the softmax inputs",
        "The condition number $\\kappa$ of $H = (\\Theta\\otimes\\mathrm{Id})\\,S(\\beta z^0)$ on the range of "
        "$S$, with $\\Theta$ the infinite-width NTK and $z^0$ the initial logits of a finite network on the same "
        "images, against $\\lVert\\beta z^0\\rVert_F$ for a range of $\\beta$; values past float64 rounding "
        "($\\kappa > 10^{15}$) are left out"),
}

WIDTH = 7.5  # inches: the widest figure of the chapter (8 pt text shows at 10 px in the page column)
SMALL = 8  # pt: legends


def caption(figure_id: str, records=()) -> dict:
    """``title`` and ``lead`` of a figure, for ``figures.publish(fig, figure_id, records, **caption(...))``."""
    title, lead = CAPTIONS[figure_id].title, CAPTIONS[figure_id].lead
    if figure_id == "tc-fig2-tau-z":
        c = analysis.long_runs(records)[0]["config"]
        lead = lead.format(long_beta=c["beta"], long_eta_tilde=c["eta_tilde"])
    elif figure_id == "tc-fig5-phase-plane":
        lead = lead.format(early_step=EARLY_STEP)
    return {"title": title, "lead": lead}


def _colors(name: str, n: int, top: float = 1.0):
    cmap = matplotlib.colormaps[name]
    return [cmap(i / max(1, n - 1) * top) for i in range(n)]


def value_colors(fig, axes, values, label: str, cmap: str = "viridis", fmt: str = "{:g}", top: float = 1.0) -> dict:
    """One colour per value (sorted) from ``cmap`` and a colourbar beside ``axes`` with one band per
    value, named by its tick: the legend of a family of curves, in the colours drawn."""
    values = sorted(values)
    colors = _colors(cmap, len(values), top)
    norm = BoundaryNorm(np.arange(len(values) + 1) - 0.5, len(values))
    bar = fig.colorbar(ScalarMappable(norm, ListedColormap(colors)), ax=axes, ticks=range(len(values)),
                       aspect=30, pad=0.02)
    bar.set_label(label)
    bar.ax.set_yticklabels([fmt.format(v) for v in values])
    bar.ax.minorticks_off()
    return dict(zip(values, colors))


def _plain(value, _pos=None) -> str:
    return f"{value:g}"


def tidy_log_axes(fig):
    """On every log axis of ``fig`` that spans less than a factor 30, ticks at 1, 2 and 5 times a power
    of ten (every integer multiple under a factor 3), written as plain numbers, and no labelled minor
    ticks: matplotlib's own labels of the minor ticks there collide ("3 x 10^-4 4 x 10^-4")."""
    for ax in fig.axes:
        for axis, (lo, hi) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            lo, hi = sorted((lo, hi))
            if axis.get_scale() != "log" or lo <= 0 or hi / lo >= 30:
                continue
            axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0) if hi / lo >= 3 else np.arange(1.0, 10.0)))
            axis.set_major_formatter(FuncFormatter(_plain))
            axis.set_minor_formatter(NullFormatter())
    return fig


def _log_ticks_at(ax, values, axis: str = "x"):
    """Major ticks at ``values`` (written as ``:g``), no minor labels: a log axis shorter than a decade."""
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(FixedLocator(sorted(values)))
    target.set_major_formatter(FuncFormatter(_plain))
    target.set_minor_formatter(NullFormatter())


# --- Fig. 1 ------------------------------------------------------------------------------------------

def collapse_panels(axes, records, colors: dict, key: str = "train_acc"):
    """Fig. 1: ``key`` of the network (solid, coloured by ``colors[beta]``) against eta * step, the time
    in units of the raw learning rate (left), and against eta_tilde * step = eta beta^2 * step (right),
    with the linearized model (black dashes; identical for every beta when Z0 = 0, so drawn once) and
    a cross at the last finite step of a diverged run. Step 0 is drawn at a hundredth of the first step."""
    recs = sorted(records, key=lambda r: r["config"]["beta"])
    for r in recs:
        d, c = r["data"], r["config"]
        steps = np.maximum(np.asarray(d["steps"], dtype=float), 1e-2)
        y = np.asarray(d["net"][key])
        eta = c["eta_tilde"] / c["beta"] ** 2
        name = f"beta = {c['beta']:g}" + (" (diverged)" if r["status"] != "ok" else "")
        for ax, x in ((axes[0], steps * eta), (axes[1], steps * c["eta_tilde"])):
            ax.plot(x, y, color=colors[c["beta"]], label=name)
            if r["status"] != "ok":
                ax.scatter(x[-1:], y[-1:], marker="x", s=40, color=colors[c["beta"]], zorder=3,
                           label=f"{name}: last finite step")
    if recs:
        r = max(recs, key=lambda r: len(r["data"]["steps"]))  # the same for every beta: the longest record
        steps = np.maximum(np.asarray(r["data"]["steps"], dtype=float), 1e-2)
        axes[1].plot(steps * r["config"]["eta_tilde"], r["data"]["lin"][key], color="black", ls="--", lw=2,
                     label="linearized")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_ylabel("training accuracy" if key == "train_acc" else key.replace("_", " "))


def collapse_figure(records):
    """Fig. 1: :func:`collapse_panels`, one row per eta_tilde (largest first), one colour per beta."""
    eta_tildes = sorted({r["config"]["eta_tilde"] for r in records}, reverse=True)
    fig, axes = plt.subplots(len(eta_tildes), 2, figsize=(WIDTH, 0.6 + 2.9 * len(eta_tildes)), squeeze=False,
                             sharey=True)
    colors = value_colors(fig, axes, {r["config"]["beta"] for r in records}, r"inverse temperature $\beta$")
    for row, et in zip(axes, eta_tildes):
        collapse_panels(row, [r for r in records if r["config"]["eta_tilde"] == et], colors)
        row[0].set_title(rf"$\tilde\eta = {et:g}$: against $\eta\,t$", fontsize=10)
        row[1].set_title(rf"$\tilde\eta = {et:g}$: against $\tilde\eta\,t$", fontsize=10)
        row[1].set_ylabel("")
    axes[-1, 0].set_xlabel(r"$\eta\,t$ (raw learning rate $\times$ step)")
    axes[-1, 1].set_xlabel(r"$\tilde\eta\,t = \eta\beta^2 t$")
    handles = [Line2D([], [], color="black", ls="--", lw=2, label=r"linearized (every $\beta$)")]
    if any(r["status"] != "ok" for r in records):
        handles.append(Line2D([], [], color="grey", marker="x", ls="none", label="diverged: last finite step"))
    axes[0, 1].legend(handles=handles, fontsize=9, loc="upper left")  # 9 pt: the widest figure
    return tidy_log_axes(fig)


# --- Figs. 2-3 ---------------------------------------------------------------------------------------

Z0 = r"$\Vert Z^0\Vert_F$"


def lines_by_beta(ax, table, x: str, y: str, colors: dict):
    """One line per beta (its colour from ``colors``) through the rows of ``table``, log-log."""
    for b in sorted(table.beta.unique()):
        g = table[table.beta == b].sort_values(x)
        ax.plot(g[x], g[y], marker="o", ms=4, color=colors[b], label=f"beta = {b:g}")
    ax.set_xscale("log")
    ax.set_yscale("log")


def tau_z_figure(table, records):
    """Fig. 2: tau_z eta_tilde / ||Z0|| against ||Z0|| (top; ``table``: :func:`.analysis.tau_z_table`),
    and the long runs' training accuracy against the step and against step / tau_z (bottom)."""
    runs = sorted(analysis.long_runs(records), key=lambda r: r["data"]["z0_norm"])
    fig, axes = plt.subplot_mosaic([["top", "top"], ["step", "scaled"]], figsize=(WIDTH, 6.6))
    colors = value_colors(fig, axes["top"], table.beta.unique(), r"$\beta$")
    lines_by_beta(axes["top"], table, "z0_norm", "tau_z_eta_over_z0", colors)
    axes["top"].set_xlabel(Z0)
    axes["top"].set_ylabel(r"$\tau_z\,\tilde\eta\,/\,\Vert Z^0\Vert_F$")
    z0 = {r["data"]["z0_norm"]: r for r in runs}
    shades = value_colors(fig, [axes["step"], axes["scaled"]], z0, Z0, cmap="magma", fmt="{:.2g}", top=0.85)
    for norm, r in z0.items():
        steps = np.maximum(np.asarray(r["data"]["steps"], float), 0.5)
        acc = r["data"]["net"]["train_acc"]
        axes["step"].plot(steps, acc, color=shades[norm], label=f"||Z0|| = {norm:.2g}")
        axes["scaled"].plot(steps / r["data"]["tau_z_empirical"], acc, color=shades[norm],
                            label=f"||Z0|| = {norm:.2g}")
    for name, xl in (("step", r"step $t$"), ("scaled", r"$t\,/\,\tau_z$")):
        axes[name].set_xscale("log")
        axes[name].set_xlabel(xl)
    axes["step"].set_ylabel("training accuracy")
    axes["scaled"].sharey(axes["step"])
    return tidy_log_axes(fig)


def tau_nl_figure(table):
    """Fig. 3: tau_nl eta_tilde (top) and tau_nl eta_tilde / beta (bottom) against ||Z0||, one column
    per activation (``table``: :func:`.analysis.timescale_table`), one colour per beta."""
    acts = [a for a in ("relu", "erf") if a in set(table.activation)]
    fig, axes = plt.subplots(2, len(acts), figsize=(1.5 + 3.0 * len(acts), 6.2), squeeze=False, sharex="col")
    colors = value_colors(fig, axes, table.beta.unique(), r"$\beta$")
    for j, act in enumerate(acts):
        t = table[table.activation == act]
        lines_by_beta(axes[0, j], t, "z0_norm", "tau_nl_eta", colors)
        lines_by_beta(axes[1, j], t, "z0_norm", "tau_nl_eta_over_beta", colors)
        axes[0, j].set_title(f"{'ReLU' if act == 'relu' else 'Erf'} network", fontsize=10)
        axes[1, j].set_xlabel(Z0)
    axes[0, 0].set_ylabel(r"$\tau_\mathrm{nl}\,\tilde\eta$")
    axes[1, 0].set_ylabel(r"$\tau_\mathrm{nl}\,\tilde\eta\,/\,\beta$")
    return tidy_log_axes(fig)


def step_scaling_figure(records):
    """The non-linear remainder of one step divided by s^2 against s (a flat line: quadratic), with the
    smooth second-order term dotted."""
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for r in records:
        d, c = r["data"], r["config"]
        s = np.asarray(d["steps"])
        act = "ReLU" if c["activation"] == "relu" else "Erf"
        line, = ax.loglog(s, np.asarray(d["remainder"]) / s**2, "-" if c["activation"] == "relu" else "--",
                          marker="o", ms=3, label=rf"{act}, $c = {c['c']:.4g}$")
        ax.axhline(d["second_order"], color=line.get_color(), lw=0.8, ls=":")
    ax.set_xlabel(r"step size $s$ along the gradient")
    ax.set_ylabel(r"$\Vert f(\theta + s\,d) - f(\theta) - s\,J d\Vert\,/\,s^2$")
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(handles=[*handles, Line2D([], [], color="grey", lw=0.8, ls=":", label="smooth second-order term")],
              fontsize=SMALL)
    return fig


# --- Fig. 4 ------------------------------------------------------------------------------------------

def accuracy_over_lr_panel(ax, records, colors: dict):
    """Fig. 4, top: final test accuracy (mean over seeds, diverged runs left out) over the learning-rate
    grid, one line per beta."""
    for b, color in colors.items():
        pts = {}
        for r in records:
            if r["config"]["beta"] == b:
                acc = r["data"]["final_test_acc"] if r["status"] == "ok" else np.nan
                pts.setdefault(r["config"]["lr"], []).append(acc)
        lrs = np.array(sorted(pts))
        ax.plot(lrs, [100 * np.nanmean(pts[lr]) for lr in lrs], marker="o", ms=3, color=color,
                label=f"beta = {b:g}")
    ax.set_xscale("log")
    ax.set_xlabel(r"learning rate $\eta$")
    ax.set_ylabel("final test accuracy (%)")


def eta_star_panel(ax, stars, fit=None):
    """Fig. 4, bottom: eta* against beta on log-log axes with the fitted power law and the paper's
    slope -1 (drawn through the eta* nearest beta = 1)."""
    b = np.array([s["beta"] for s in stars])
    e = np.array([s["eta_star"] for s in stars])
    edge = np.array([s["on_edge"] for s in stars])
    ax.loglog(b[~edge], e[~edge], "o", color="black", label=r"$\eta^*$ (parabola in $\log\eta$)")
    if edge.any():
        ax.loglog(b[edge], e[edge], "o", mfc="none", color="black", label=r"$\eta^*$ at the grid's edge")
    grid = np.geomspace(b.min(), b.max(), 50)
    if fit is not None:
        est = analysis.exponent_estimate(fit)
        ax.loglog(grid, fit(grid), color="tab:red", label=f"fit: slope {est.text(2)} (95 %)")
    ax.loglog(grid, e[np.argmin(np.abs(np.log(b)))] / grid, color="grey", ls="--", label="slope $-1$ (the paper)")
    ax.set_xlabel(r"inverse temperature $\beta$")
    ax.set_ylabel(r"best learning rate $\eta^*$")
    ax.legend(fontsize=SMALL)


def eta_star_figure(records, stars, fit=None):
    """Fig. 4: :func:`accuracy_over_lr_panel` (top) and :func:`eta_star_panel` (bottom)."""
    fig, axes = plt.subplots(2, 1, figsize=(6.5, 7.0))
    colors = value_colors(fig, axes[0], {r["config"]["beta"] for r in records}, r"$\beta$")
    accuracy_over_lr_panel(axes[0], records, colors)
    eta_star_panel(axes[1], stars, fit)
    return tidy_log_axes(fig)


# --- Fig. 5 ------------------------------------------------------------------------------------------

PHASE_PANELS = (("test_acc", "test accuracy at the best learning rate", "test accuracy (%)", "viridis"),
                ("early_acc", f"training accuracy after {EARLY_STEP} steps", "training accuracy (%)", "viridis"),
                ("final_z_norm", "final logits", r"final $\Vert Z\Vert_F$", "magma"))


def phase_plane_panel(ax, table, z0_base: float, column: str, cmap: str):
    """Fig. 5: the (beta, ||Z0||_F) plane coloured by ``column`` of :func:`.analysis.phase_table`
    (accuracies in %, ||Z||_F on a log colour scale), crosses where every learning rate diverged, and
    the region the correlated construction cannot reach (||Z0|| > sqrt 2 beta ||z0||, App. D.1)
    shaded. Returns the marker set, for a colourbar."""
    betas = np.geomspace(table.beta.min() / 1.5, table.beta.max() * 1.5, 100)
    top = table.z0_norm.max() * 3
    ok = table[np.isfinite(table[column])]
    log = column == "final_z_norm" and ok[column].max() > 10 * ok[column].min()  # a log scale if it spans one
    vals = 100 * ok[column] if column.endswith("_acc") else ok[column]
    markers = ax.scatter(ok.beta, ok.z0_norm, c=vals, cmap=cmap, s=60, edgecolor="black", lw=0.4,
                         norm="log" if log else None, label="best learning rate")
    bad = table[~np.isfinite(table[column])]
    ax.scatter(bad.beta, bad.z0_norm, marker="x", color="red", s=40, label="every eta diverged")
    ax.fill_between(betas, np.sqrt(2) * betas * z0_base, top, color="grey", alpha=0.25, label="inaccessible")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(table.z0_norm.min() / 2, top)
    ax.set_ylabel(Z0)
    ax.set_xticks(sorted(table.beta.unique()), labels=[_plain(b) for b in sorted(table.beta.unique())])
    ax.xaxis.set_minor_formatter(NullFormatter())
    return markers


def phase_plane_figure(table, z0_base: float):
    """Fig. 5: :func:`phase_plane_panel` for the test accuracy, the early training accuracy and the
    final ||Z||_F, stacked, each with its colourbar."""
    fig, axes = plt.subplots(3, 1, figsize=(6.5, 9.0), sharex=True)
    for ax, (column, title, label, cmap) in zip(axes, PHASE_PANELS):
        markers = phase_plane_panel(ax, table, z0_base, column, cmap)
        ax.set_title(title, fontsize=10)
        fig.colorbar(markers, ax=ax, label=label, aspect=15, pad=0.02)
    axes[-1].set_xlabel(r"inverse temperature $\beta$")
    inaccessible = r"inaccessible: $\Vert Z^0\Vert > \sqrt{2}\beta\Vert z^0\Vert$"
    axes[0].legend(handles=[Line2D([], [], marker="x", color="red", ls="none", label="every learning rate diverged"),
                            Patch(color="grey", alpha=0.25, label=inaccessible)], fontsize=SMALL, loc="lower right")
    return fig


# --- Fig. 6 ------------------------------------------------------------------------------------------

NORM_STYLE = {False: ("tab:orange", "without BatchNorm"), True: ("tab:blue", "with BatchNorm")}


def tune_panel(ax, records):
    """Sec. 3.4, step 1: final test accuracy over the learning-rate grid at beta = 1, per network."""
    for bn, (color, name) in NORM_STYLE.items():
        pts = sorted((r["config"]["lr"], r["data"]["final_test_acc"] if r["status"] == "ok" else np.nan)
                     for r in records if r["config"]["batchnorm"] == bn)
        ax.plot([lr for lr, _ in pts], [100 * a for _, a in pts], marker="o", color=color, label=name)
    ax.set_xscale("log")
    _log_ticks_at(ax, {r["config"]["lr"] for r in records})
    ax.set_xlabel(r"learning rate $\eta$ at $\beta = 1$")
    ax.set_ylabel("final test accuracy (%)")
    ax.set_title(r"step 1: tune $\eta_0$ at $\beta = 1$", fontsize=10)
    ax.legend(fontsize=SMALL)


def beta_sweep_panel(ax, table, eta0: dict):
    """Fig. 6: final test accuracy against beta, mean and std over seeds (solid, bars) and the best seed
    (dashed), for the ConvNet with and without BatchNorm (``eta0``: batchnorm -> tuned eta_0)."""
    handles = []
    for bn, g in table.groupby("batchnorm"):
        g = g.sort_values("beta")
        color, name = NORM_STYLE[bool(bn)]
        ax.errorbar(g.beta, 100 * g["mean"], yerr=100 * g["std"].fillna(0), fmt="none", capsize=3, color=color)
        ax.plot(g.beta, 100 * g["mean"], marker="o", ms=4, color=color, label=f"{name}: mean over seeds")
        ax.plot(g.beta, 100 * g["max"], ls="--", marker="^", ms=4, color=color, label=f"{name}: best seed")
        handles.append(Line2D([], [], color=color, lw=4, label=rf"{name} ($\eta_0 = {eta0[bn]:g}$)"))
    handles += [Line2D([], [], color="grey", marker="o", ms=4, label="mean, bars one std over seeds"),
                Line2D([], [], color="grey", marker="^", ms=4, ls="--", label="best seed")]
    ax.set_xscale("log")
    ax.set_xlabel(r"inverse temperature $\beta$ (learning rate $\eta_0/\beta$)")
    ax.set_ylabel("final test accuracy (%)")
    ax.legend(handles=handles, fontsize=SMALL, loc="lower right")


def beta_sweep_figure(tune_records, table, eta0: dict):
    """Fig. 6 and Sec. 3.4: :func:`tune_panel` (top) and :func:`beta_sweep_panel` (bottom)."""
    fig, axes = plt.subplots(2, 1, figsize=(6.5, 7.0))
    tune_panel(axes[0], tune_records)
    beta_sweep_panel(axes[1], table, eta0)
    axes[1].set_title(r"step 2: sweep $\beta$ at $\eta_0/\beta$", fontsize=10)
    return fig


# --- Fig. 7 and App. A.3 -----------------------------------------------------------------------------

def ntk_prediction_panel(ax, group, colors: dict):
    """Fig. 7, one activation: tau_z eta_tilde / ||Z0|| against ||Theta_inf (Y - softmax(Z0)) / N||^-1,
    filled markers for true labels and hollow squares for shuffled ones, colour by beta."""
    for b, color in colors.items():
        for labels, fill in (("true", True), ("shuffled", False)):
            h = group[(group.beta == b) & (group.labels == labels)]
            ax.loglog(h.inverse_drive, h.tau_z_eta_over_z0, "o" if fill else "s", ms=5, color=color,
                      mfc=color if fill else "none", label=f"beta = {b:g}, {labels} labels")
    ax.set_ylabel(r"$\tau_z\,\tilde\eta\,/\,\Vert Z^0\Vert_F$")


def ntk_figure(table):
    """Fig. 7: :func:`ntk_prediction_panel` per activation, stacked (Erf on top), one colour per beta."""
    groups = list(table.groupby("activation"))
    fig, axes = plt.subplots(len(groups), 1, figsize=(6.5, 0.8 + 3.1 * len(groups)), squeeze=False)
    axes = axes[:, 0]
    colors = value_colors(fig, axes, table.beta.unique(), r"$\beta$")
    for ax, (act, g) in zip(axes, groups):
        ntk_prediction_panel(ax, g, colors)
        ax.set_title(f"{'ReLU' if act == 'relu' else 'Erf'} network", fontsize=10)
    axes[-1].set_xlabel(r"prediction $\Vert\Theta_\infty\,(Y - \sigma(Z^0))\,/\,N\Vert_F^{-1}$")
    axes[0].legend(handles=[Line2D([], [], marker="o", color="grey", ls="none", label="true labels"),
                            Line2D([], [], marker="s", color="grey", mfc="none", ls="none", label="shuffled labels")],
                   fontsize=SMALL, loc="upper left")
    return tidy_log_axes(fig)


def conditioning_panel(ax, records):
    """App. A.3: the condition number of the linearized dynamics against ||beta z||_F (log y)."""
    for r in records:
        rows = [row for row in r["data"]["rows"] if row["kappa"] is not None]
        act = "ReLU" if r["config"]["activation"] == "relu" else "Erf"
        ax.semilogy([row["z_norm"] for row in rows], [row["kappa"] for row in rows], marker="o", ms=4,
                    label=rf"{act} (the NTK's own $\kappa(\Theta) = {r['data']['kappa_ntk']:.3g}$)")
    ax.set_xlabel(r"$\Vert\beta z^0\Vert_F$")
    ax.set_ylabel(r"condition number $\kappa(H)$")
    ax.legend(fontsize=SMALL)


def conditioning_figure(records):
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    conditioning_panel(ax, records)
    return fig

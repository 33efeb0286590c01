"""Panels of the L2 chapter (``notebooks/l2-regularization/01-l2-and-the-learning-rate``): tables
(from :mod:`thermo.papers.l2.analysis`) or records in, axes out; no number a reader would cite is
computed here.

Lewkowycz and Gur-Ari (2020), supplement: its Fig. 2a-c (:func:`tstar_vs_product`, :func:`collapse`,
:func:`peak_vs_lambda`; the book's figure ``l2-fig2-tstar``), its Figs. 1b / S3 (:func:`budget_panel`,
``l2-fig1b-lambda-pred``), its Figs. S9 / S11 (:func:`autol2_fc`, :func:`autol2_conv`,
:func:`autol2_schedule`, ``l2-figs9-autol2``), its Fig. S7 (``l2-figs7-narrow``, the first and last
panels again), its Theorem 1 and Fig. 5(c) (:func:`kernel_decay_panel`, :func:`eq1_panel`,
``l2-fig5-kernel-decay``).

The chapter stacks the panels of a figure vertically in a column-wide figure (``subplots(3, 1,
figsize=(6.8, 10.5))``) so that every text stays legible in the page column; accuracy is drawn in
percent; artists keep plain labels (the series of the figure's CSV) while the legends, built from
few handles, use mathtext.
"""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import LogNorm
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import NullFormatter

from thermo import l2
from thermo.papers.l2 import analysis

LEGEND = {"fontsize": 8}  # the smallest text of the chapter's figures: 8 pt, >= 10 px in the page column
LINE_STYLES = ("-", "--", ":", "-.")
SETUP_NAMES = {"fc3": "FC", "convnet": "ConvNet"}


def subplots(nrows: int = 1, ncols: int = 1, figsize=(6.8, 4.2)):
    """``plt.subplots`` for a figure that :func:`thermo.figures.publish` shows once, with its caption:
    pyplot lets go of it at once, so the notebook does not also show it bare at the end of the cell
    (it keeps the notebook backend's canvas, so it still renders as an image when published)."""
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize)
    plt.close(fig)
    return fig, axes


def width_colors(widths) -> dict:
    """One distinct colour per network width (the same in every panel of the chapter)."""
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    return {w: cycle[i % len(cycle)] for i, w in enumerate(sorted(widths))}


def _log(ax, axes: str) -> None:
    """Log scale on ``axes`` ("x", "y" or "xy"), labelling the decades only (minor tick labels
    crowd each other on an axis that spans less than a decade)."""
    for name in axes:
        getattr(ax, f"set_{name}scale")("log")
        getattr(ax, f"{name}axis").set_minor_formatter(NullFormatter())


def _log_norm(values) -> LogNorm:
    """A log colour scale over positive ``values`` (widened by a factor 2 if they are all equal)."""
    vals = [float(v) for v in values if v > 0]
    lo, hi = min(vals), max(vals)
    return LogNorm(lo / 2, hi * 2) if lo == hi else LogNorm(lo, hi)


def _lam_colors(lams, cmap: str = "viridis") -> dict:
    """Distinct colours along a sequential colormap, ordered by log lambda (lambda = 0 is grey)."""
    pos = sorted(lam for lam in set(lams) if lam > 0)
    cm = matplotlib.colormaps[cmap]
    out = {lam: cm(0.85 * i / max(1, len(pos) - 1)) for i, lam in enumerate(pos)}
    return {**out, 0.0: "0.55"} if 0 in set(lams) else out


def tstar_vs_product(ax, table):
    """t* against eta*lambda on log-log axes: one colour per width, a point per run (hollow if the
    peak is at the end of the run: a lower bound), the fitted power law per width
    (:func:`analysis.law_fit`) and the law t* = c / (eta lambda) with c the median over runs."""
    colors = width_colors(table.width.unique())
    handles, any_end = [], False
    for w, color in colors.items():
        g = table[(table.width == w) & (table.status == "ok") & (table.lam > 0)]
        done = g[~g.peak_at_end.astype(bool)]
        handles.append(ax.scatter(done.eta_lam, done.t_star, color=color, s=18, label=f"width {w}", zorder=3))
        end = g[g.peak_at_end.astype(bool)]
        if len(end):
            any_end = True
            ax.scatter(end.eta_lam, end.t_star, facecolor="none", edgecolor=color, s=18, zorder=3,
                       label=f"width {w}: peak at the end")
        law = analysis.law_fit(table, w)
        if law.fit is not None:
            x = np.geomspace(done.eta_lam.min(), done.eta_lam.max(), 50)
            ax.plot(x, law.fit(x), color=color, lw=1.2, label=f"fit, width {w}, slope {law.text()}")
            handles.append(Line2D([], [], color=color, lw=1.2, label=f"fit, slope {law.text()}"))
    if any_end:
        handles.append(Line2D([], [], ls="", marker="o", mfc="none", mec="0.3", label="hollow: peak at the end"))
    if len(analysis.decayed(table)):
        ok = analysis.decayed(table)
        x = np.geomspace(ok.eta_lam.min(), ok.eta_lam.max(), 50)
        c = analysis.law_c(table)
        ax.plot(x, c / x, color="crimson", ls="--", lw=1, label=f"law t* = c/(eta lambda), c = {c:.2f}")
        handles.append(Line2D([], [], color="crimson", ls="--", lw=1,
                              label=rf"$t^* = c/(\eta\lambda)$, $c$ = {c:.2f}"))
    _log(ax, "xy")
    ax.set_xlabel(r"$\eta\lambda$")
    ax.set_ylabel(r"$t^*$ (steps)")
    ax.set_title("(a) steps to peak test accuracy")
    ax.legend(handles=handles, **LEGEND)


def collapse(ax, records, width: int, seed: int, physical: bool = True, ymin: float | None = None):
    """Test accuracy (%) against eta*lambda*t (``physical``) or against the step t, one curve per
    (eta, lambda) run of one width and seed: the colour is eta*lambda (log scale, with a colourbar),
    the line style eta; lambda = 0 is drawn (black) against steps only. ``ymin`` (%) zooms on the
    late phase (the peak), leaving the fitting phase below the axis."""
    runs = [r for r in records if r["config"]["width"] == width and r["config"]["seed"] == seed
            and r["status"] == "ok"]
    etas = sorted({r["config"]["eta"] for r in runs})
    styles = {eta: LINE_STYLES[i % len(LINE_STYLES)] for i, eta in enumerate(etas)}
    cmap = matplotlib.colormaps["viridis"]
    products = [r["config"]["eta"] * r["config"]["lam"] for r in runs]
    norm = _log_norm(products)
    for r in sorted(runs, key=lambda r: (r["config"]["eta"], r["config"]["lam"])):
        c, d = r["config"], r["data"]
        if physical and c["lam"] == 0:
            continue
        x = l2.physical_time(d["eval_steps"], c["eta"], c["lam"]) if physical else np.asarray(d["eval_steps"])
        color = "black" if c["lam"] == 0 else cmap(norm(c["eta"] * c["lam"]))
        ax.plot(x, 100 * np.asarray(d["test_acc"]), color=color, ls=styles[c["eta"]], lw=1.1, alpha=0.85,
                label=f"eta {c['eta']:g}, lambda {c['lam']:g}")
    ax.figure.colorbar(ScalarMappable(norm, cmap), ax=ax, label=r"$\eta\lambda$", pad=0.01)
    handles = [Line2D([], [], color="0.3", ls=styles[eta], label=rf"$\eta$ = {eta:g}") for eta in etas]
    if not physical and any(r["config"]["lam"] == 0 for r in runs):
        handles.append(Line2D([], [], color="black", label=r"$\lambda$ = 0"))
    _log(ax, "x")
    if ymin is not None:
        shown = [(x, y) for line in ax.get_lines() for x, y in zip(*line.get_data()) if y >= ymin and x > 0]
        top = max((y for _, y in shown), default=ymin + 1)
        ax.set_ylim(ymin, top + 0.1 * (top - ymin))
        if shown:
            ax.set_xlim(left=min(x for x, _ in shown) / 2)  # the curves enter the zoomed view here
    ax.set_xlabel(r"physical time $\eta\lambda t$" if physical else "step $t$")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"(b) width {width}, seed {seed}: test accuracy in "
                 + ("physical time" if physical else "steps"))
    ax.legend(handles=handles, loc="upper left", **LEGEND)


def peak_vs_lambda(ax, table, eta: float, panel: str = "c"):
    """Peak test accuracy (%) against lambda at fixed eta (mean over seeds and its range), per width
    in the colours of :func:`tstar_vs_product`, with the lambda = 0 control of each width as a dotted
    line (:func:`analysis.peak_by_lambda`)."""
    peaks = analysis.peak_by_lambda(table, eta)
    colors = width_colors(table.width.unique())
    for w, gw in peaks[peaks.lam > 0].groupby("width"):
        mean, lo, hi = 100 * gw["mean"], 100 * gw["min"], 100 * gw["max"]
        ax.errorbar(gw.lam, mean, yerr=[mean - lo, hi - mean], color=colors[w], marker="o", capsize=2,
                    label=f"width {w}")
    zero = peaks[peaks.lam == 0]
    for _, row in zero.iterrows():
        ax.axhline(100 * row["mean"], color=colors[row["width"]], ls=":", lw=1.2)
    if len(zero):
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo - 0.35 * (hi - lo), hi)  # room below the lines for the legend
    handles = [Line2D([], [], color=colors[w], marker="o", label=f"width {w}")
               for w in sorted(peaks[peaks.lam > 0].width.unique())]
    if len(zero):
        handles.append(Line2D([], [], color="0.3", ls=":", lw=1.2, label=r"$\lambda$ = 0 (no L2), peak"))
    _log(ax, "x")
    ax.set_xlabel(r"$\lambda$")
    ax.set_ylabel("peak test accuracy (%)")
    ax.set_title(f"({panel}) peak test accuracy at " + rf"$\eta$ = {eta:g}")
    ax.legend(handles=handles, **LEGEND)


def budget_panel(ax, table):
    """The best lambda of the sweep for each budget against the prediction c / (eta T) (:func:`analysis.budget`)."""
    ax.plot(table["budget T"], table["best lambda (sweep)"], marker="o", label="best lambda of the sweep")
    ax.plot(table["budget T"], table["predicted lambda"], marker="s", ls="--", label="c / (eta T)")
    ax.fill_between(table["budget T"], table["predicted lambda"] / 10, table["predicted lambda"] * 10,
                    color="gray", alpha=0.15, label="within 10x of the prediction")
    _log(ax, "xy")
    ax.set_xlabel("budget $T$ (steps)")
    ax.set_ylabel(r"$\lambda$")
    ax.set_title(r"the best $\lambda$ for a budget of $T$ steps")
    ax.legend(handles=[Line2D([], [], color="C0", marker="o", label=r"best $\lambda$ of the sweep"),
                       Line2D([], [], color="C1", marker="s", ls="--", label=r"prediction $c/(\eta T)$"),
                       Patch(color="gray", alpha=0.15, label="within a factor 10 of it")],
              **LEGEND)


def _lam_label(lam: float) -> str:
    return rf"$\lambda$ = {lam:g}"


def autol2_fc(ax, auto_records, tstar_records, seed: int, eta: float = 0.1):
    """Test accuracy (%) against steps: AutoL2 on the FC network and the fixed-lambda ``l2-tstar`` runs
    of the same width and seed (colours ordered by lambda, lambda = 0 grey)."""
    width = analysis.fc_width(auto_records)
    fixed = sorted((r for r in tstar_records if r["status"] == "ok" and r["config"]["width"] == width
                    and r["config"]["seed"] == seed and r["config"]["eta"] == eta), key=lambda r: r["config"]["lam"])
    colors = _lam_colors([r["config"]["lam"] for r in fixed])
    handles = []
    for r in fixed:
        lam = r["config"]["lam"]
        ax.plot(r["data"]["eval_steps"], 100 * np.asarray(r["data"]["test_acc"]), color=colors[lam], lw=1,
                alpha=0.8, label=f"lambda {lam:g}")
        handles.append(Line2D([], [], color=colors[lam], label=_lam_label(lam)))
    for r in auto_records:
        if r["config"]["setup"] == "fc3" and r["config"]["seed"] == seed and r["status"] == "ok":
            ax.plot(r["data"]["eval_steps"], 100 * np.asarray(r["data"]["test_acc"]), color="black", lw=2,
                    label="AutoL2")
            handles.append(Line2D([], [], color="black", lw=2, label="AutoL2"))
    _log(ax, "x")
    ax.set_xlabel("step")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"(a) FC network, width {width}, 512 MNIST digits, seed {seed}")
    ax.legend(handles=handles, ncol=2, **LEGEND)


def autol2_conv(ax, auto_records, seed: int):
    """Test accuracy (%) against epochs: AutoL2 on the ConvNet and the fixed-lambda ConvNet runs of the same seed."""
    runs = [r for r in auto_records if r["config"]["setup"] == "convnet" and r["status"] == "ok"
            and r["config"]["seed"] == seed]
    runs = sorted(runs, key=lambda r: (r["config"]["method"], r["config"].get("lam", 0)))
    colors = _lam_colors([r["config"]["lam"] for r in runs if r["config"]["method"] != "autol2"])
    handles = []
    for r in runs:
        auto = r["config"]["method"] == "autol2"
        lam = r["config"].get("lam", 0)
        color = "black" if auto else colors[lam]
        ax.plot(r["data"]["epoch"], 100 * np.asarray(r["data"]["test_acc"]), color=color, lw=2 if auto else 1,
                label="AutoL2" if auto else f"lambda {lam:g}")
        handles.append(Line2D([], [], color=color, lw=2 if auto else 1, label="AutoL2" if auto else _lam_label(lam)))
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"(b) ConvNet, 10,000 Fashion-MNIST images, seed {seed}")
    ax.legend(handles=handles, **LEGEND)


def autol2_schedule(ax, auto_records):
    """The L2 coefficient AutoL2 chose over training: colour per setup, line style per seed."""
    seeds = sorted({r["config"]["seed"] for r in auto_records})
    setups = list(dict.fromkeys(r["config"]["setup"] for r in auto_records))
    colors = {s: f"C{i}" for i, s in enumerate(setups)}
    for r in auto_records:
        c = r["config"]
        if c["method"] == "autol2" and r["status"] == "ok" and r["data"]["l2_steps"]:
            ax.step(r["data"]["l2_steps"], r["data"]["l2"], where="post", color=colors[c["setup"]],
                    ls=LINE_STYLES[seeds.index(c["seed"]) % len(LINE_STYLES)], lw=1.4,
                    label=f"{c['setup']}, seed {c['seed']}")
    _log(ax, "xy")
    ax.set_xlabel("step")
    ax.set_ylabel(r"$\lambda$ chosen by AutoL2")
    ax.set_title("(c) AutoL2's schedule")
    handles = [Line2D([], [], color=colors[s], label=SETUP_NAMES.get(s, s)) for s in setups]
    handles += [Line2D([], [], color="0.3", ls=LINE_STYLES[i % len(LINE_STYLES)], label=f"seed {s}")
                for i, s in enumerate(seeds)]
    ax.legend(handles=handles, **LEGEND)


K_COLORS = {1: "tab:blue", 2: "crimson", 3: "tab:purple"}  # the homogeneity k, in every panel of the kernel figure


def kernel_decay_panel(ax, records, seed: int = 0):
    """||Theta_t|| / ||Theta_0|| against t = eta * step for the widest network of each k, lambda > 0
    (solid) and lambda = 0 (dotted), with the paper's Theorem 1, exp(-2 (k - 1) lambda t) (dashed);
    one colour per k."""
    ok = [r for r in records if r["status"] == "ok" and r["config"]["seed"] == seed]
    handles, lams = [], set()
    for k in sorted({r["config"]["k"] for r in ok}):
        color = K_COLORS.get(k, "0.5")
        widest = max(r["config"]["width"] for r in ok if r["config"]["k"] == k)
        for r in (r for r in ok if r["config"]["k"] == k and r["config"]["width"] == widest):
            c, d = r["config"], r["data"]
            lams.add(c["lam"])
            norm = np.asarray(d["kernel_norm"]) / d["kernel_norm"][0]
            ax.plot(d["t"], norm, color=color, ls="-" if c["lam"] > 0 else ":", marker="o" if c["lam"] > 0 else None,
                    ms=2, lw=1.2, label=f"k = {k}, width {widest}, lambda {c['lam']:g}")
            if c["lam"] > 0:
                ax.plot(d["t"], l2.kernel_decay(k, c["lam"], d["t"]), color="black", ls="--", lw=1,
                        label=f"Theorem 1 exp(-2 (k-1) lambda t), k = {k}")
        handles.append(Line2D([], [], color=color, lw=1.2, label=f"$k$ = {k} (width {widest})"))
    positive = sorted(lam for lam in lams if lam > 0)
    handles.append(Line2D([], [], color="0.3", marker="o", ms=2, label="measured, "
                          + ", ".join(_lam_label(lam) for lam in positive)))
    if 0 in lams:
        handles.append(Line2D([], [], color="0.3", ls=":", lw=1.2, label=r"measured, $\lambda$ = 0"))
    handles.append(Line2D([], [], color="black", ls="--", lw=1, label=r"Theorem 1: $e^{-2(k-1)\lambda t}$"))
    _log(ax, "y")
    ax.set_xlabel(r"$t = \eta \times$ step")
    ax.set_ylabel(r"$\Vert\Theta_t\Vert \,/\, \Vert\Theta_0\Vert$")
    ax.set_title("(a) the NTK decays (the paper's Theorem 1)")
    ax.legend(handles=handles, **LEGEND)


EQ1_KEYS = {"train_loss": ("training loss", 1.0), "test_acc": ("test accuracy (%)", 100.0)}


def eq1_panel(ax, record, key: str = "train_loss", panel: str = "b"):
    """The paper's Fig. 5(c): the wide network against its eq. 1 with the empirical kernel, k = 1 and k = 2."""
    d = record["data"]
    name, scale = EQ1_KEYS.get(key, (key.replace("_", " "), 1.0))
    ax.plot(d["t"], scale * np.asarray(d[f"network_{key}"]), color="black", lw=2,
            label=f"network, width {record['config']['wide_width']}")
    ax.plot(d["t"], scale * np.asarray(d[f"eq1_k2_{key}"]), color=K_COLORS[2], ls="--",
            label="eq. 1, k = 2 (kernel decays)")
    ax.plot(d["t"], scale * np.asarray(d[f"eq1_k1_{key}"]), color=K_COLORS[1], ls=":",
            label="eq. 1, k = 1 (constant kernel)")
    ax.set_xlabel(r"$t = \eta \times$ step")
    ax.set_ylabel(name)
    ax.set_title(f"({panel}) the paper's eq. 1 against the network: {name.split(' (')[0]}")
    ax.legend(handles=[Line2D([], [], color="black", lw=2, label=f"network, width {record['config']['wide_width']}"),
                       Line2D([], [], color=K_COLORS[2], ls="--", label="eq. 1, $k$ = 2 (the kernel decays)"),
                       Line2D([], [], color=K_COLORS[1], ls=":", label="eq. 1, $k$ = 1 (a constant kernel)")],
              **LEGEND)

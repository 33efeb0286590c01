"""Panels of the L2 chapter (``notebooks/l2-regularization/01-l2-and-the-learning-rate``): tables
(from :mod:`thermo.papers.l2.analysis`) or records in, axes out; no number a reader would cite is
computed here.

Lewkowycz and Gur-Ari (2020), supplement: Fig. 2a-c (:func:`tstar_vs_product`, :func:`collapse`,
:func:`peak_vs_lambda`; the book's figure ``l2-fig2-tstar``), Figs. 1b / S3 (:func:`budget_panel`,
``l2-fig1b-lambda-pred``), Figs. S9 / S11 (:func:`autol2_fc`, :func:`autol2_conv`,
:func:`autol2_schedule`, ``l2-figs9-autol2``), Fig. S7 (``l2-figs7-narrow``, the first two panels
again), Theorem 1 and Fig. 5(c) (:func:`kernel_decay_panel`, :func:`eq1_panel`,
``l2-fig5-kernel-decay``).
"""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

from thermo import l2
from thermo.papers.l2 import analysis


def subplots(nrows: int = 1, ncols: int = 1, figsize=(6, 4.2)):
    """``plt.subplots`` for a figure that :func:`thermo.figures.publish` shows once, with its caption:
    pyplot lets go of it at once, so the notebook does not also show it bare at the end of the cell
    (it keeps the notebook backend's canvas, so it still renders as an image when published)."""
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize)
    plt.close(fig)
    return fig, axes


def tstar_vs_product(ax, table):
    """t* against eta*lambda on log-log axes: one colour per width, a point per run (hollow if the
    peak is at the end of the run: a lower bound), the fitted power law per width
    (:func:`analysis.law_fit`) and the law t* = c / (eta lambda) with c the median over runs."""
    cmap = matplotlib.colormaps["viridis"]
    widths = sorted(table.width.unique())
    for i, w in enumerate(widths):
        color = cmap(i / max(1, len(widths) - 1) * 0.85)
        g = table[(table.width == w) & (table.status == "ok") & (table.lam > 0)]
        done = g[~g.peak_at_end.astype(bool)]
        ax.scatter(done.eta_lam, done.t_star, color=color, s=18, label=f"width {w}", zorder=3)
        end = g[g.peak_at_end.astype(bool)]
        if len(end):
            ax.scatter(end.eta_lam, end.t_star, facecolor="none", edgecolor=color, s=18, zorder=3,
                       label=f"width {w}: peak at the end")
        law = analysis.law_fit(table, w)
        if law.fit is not None:
            x = np.geomspace(done.eta_lam.min(), done.eta_lam.max(), 50)
            ax.plot(x, law.fit(x), color=color, lw=1.2, label=f"fit, slope {law.text()}")
    if len(analysis.decayed(table)):
        ok = analysis.decayed(table)
        x = np.geomspace(ok.eta_lam.min(), ok.eta_lam.max(), 50)
        c = analysis.law_c(table)
        ax.plot(x, c / x, color="crimson", ls="--", lw=1, label=f"t* = c/(eta lambda), c = {c:.2f}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("eta * lambda")
    ax.set_ylabel("t* (steps to peak test accuracy)")
    ax.set_title("time to peak")
    ax.legend(fontsize=7)


def collapse(ax, records, width: int, seed: int, physical: bool = True, ymin: float | None = None):
    """Test accuracy against eta*lambda*t (``physical``) or against the step t, one curve per
    (eta, lambda) run of one width and seed; lambda = 0 is drawn against steps only. ``ymin`` zooms
    on the late phase (the peak), leaving the fitting phase below the axis."""
    runs = [r for r in records if r["config"]["width"] == width and r["config"]["seed"] == seed
            and r["status"] == "ok"]
    etas = sorted({r["config"]["eta"] for r in runs})
    cmap = matplotlib.colormaps["plasma"]
    for r in sorted(runs, key=lambda r: (r["config"]["eta"], r["config"]["lam"])):
        c, d = r["config"], r["data"]
        if physical and c["lam"] == 0:
            continue
        x = l2.physical_time(d["eval_steps"], c["eta"], c["lam"]) if physical else np.asarray(d["eval_steps"])
        color = "black" if c["lam"] == 0 else cmap(etas.index(c["eta"]) / max(1, len(etas)) * 0.85)
        ax.plot(x, d["test_acc"], color=color, lw=1, alpha=0.8,
                label=f"eta {c['eta']:g}, lambda {c['lam']:g}")
    ax.set_xscale("log")
    if ymin is not None:
        ax.set_ylim(bottom=ymin)
    ax.set_xlabel("eta * lambda * t" if physical else "step t")
    ax.set_ylabel("test accuracy")
    ax.set_title(f"width {width}, seed {seed}: " + ("physical time" if physical else "steps"))
    ax.legend(fontsize=6, ncol=2)


def peak_vs_lambda(ax, table, eta: float):
    """Peak test accuracy against lambda at fixed eta (mean over seeds and its range), per width,
    with the lambda = 0 control as a dotted line (:func:`analysis.peak_by_lambda`)."""
    peaks = analysis.peak_by_lambda(table, eta)
    for w, gw in peaks[peaks.lam > 0].groupby("width"):
        ax.errorbar(gw.lam, gw["mean"], yerr=[gw["mean"] - gw["min"], gw["max"] - gw["mean"]],
                    marker="o", capsize=2, label=f"width {w}")
    zero = peaks[peaks.lam == 0]
    for _, row in zero.iterrows():
        ax.axhline(row["mean"], color="gray", ls=":", lw=1)
    if len(zero):
        ax.plot([], [], color="gray", ls=":", label="lambda = 0 (peak)")
    ax.set_xscale("log")
    ax.set_xlabel("lambda")
    ax.set_ylabel("peak test accuracy")
    ax.set_title(f"peak accuracy, eta = {eta:g}")
    ax.legend(fontsize=7)


def budget_panel(ax, table):
    """The best lambda of the sweep for each budget against the prediction c / (eta T) (:func:`analysis.budget`)."""
    ax.plot(table["budget T"], table["best lambda (sweep)"], marker="o", label="best lambda of the sweep")
    ax.plot(table["budget T"], table["predicted lambda"], marker="s", ls="--", label="c / (eta T)")
    ax.fill_between(table["budget T"], table["predicted lambda"] / 10, table["predicted lambda"] * 10,
                    color="gray", alpha=0.15, label="within 10x of the prediction")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("budget T (steps)")
    ax.set_ylabel("lambda")
    ax.set_title("optimal lambda for a budget")
    ax.legend(fontsize=7)


def autol2_fc(ax, auto_records, tstar_records, seed: int, eta: float = 0.1):
    """Test accuracy against steps: AutoL2 on the FC network and the fixed-lambda ``l2-tstar`` runs
    of the same width and seed."""
    width = analysis.fc_width(auto_records)
    for r in sorted((r for r in tstar_records if r["status"] == "ok" and r["config"]["width"] == width
                     and r["config"]["seed"] == seed and r["config"]["eta"] == eta),
                    key=lambda r: r["config"]["lam"]):
        ax.plot(r["data"]["eval_steps"], r["data"]["test_acc"], lw=1, alpha=0.7,
                label=f"lambda {r['config']['lam']:g}")
    for r in auto_records:
        if r["config"]["setup"] == "fc3" and r["config"]["seed"] == seed and r["status"] == "ok":
            ax.plot(r["data"]["eval_steps"], r["data"]["test_acc"], color="black", lw=2, label="AutoL2")
    ax.set_xscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("test accuracy")
    ax.set_title(f"FC width {width}, 512 MNIST, seed {seed}")
    ax.legend(fontsize=7)


def autol2_conv(ax, auto_records, seed: int):
    """Test accuracy against epochs: AutoL2 on the ConvNet and the fixed-lambda ConvNet runs of the same seed."""
    runs = [r for r in auto_records if r["config"]["setup"] == "convnet" and r["status"] == "ok"
            and r["config"]["seed"] == seed]
    for r in sorted(runs, key=lambda r: (r["config"]["method"], r["config"].get("lam", 0))):
        auto = r["config"]["method"] == "autol2"
        ax.plot(r["data"]["epoch"], r["data"]["test_acc"], color="black" if auto else None, lw=2 if auto else 1,
                label="AutoL2" if auto else f"lambda {r['config']['lam']:g}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy")
    ax.set_title(f"ConvNet, Fashion-MNIST, seed {seed}")
    ax.legend(fontsize=7)


def autol2_schedule(ax, auto_records):
    """The L2 coefficient AutoL2 chose over training, per setup and seed."""
    for r in auto_records:
        c = r["config"]
        if c["method"] == "autol2" and r["status"] == "ok" and r["data"]["l2_steps"]:
            ax.step(r["data"]["l2_steps"], r["data"]["l2"], where="post", label=f"{c['setup']}, seed {c['seed']}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("lambda chosen by AutoL2")
    ax.set_title("AutoL2's schedule")
    ax.legend(fontsize=7)


def kernel_decay_panel(ax, records, seed: int = 0):
    """||Theta_t|| / ||Theta_0|| against t = eta * step for the widest network of each k, lambda > 0
    and lambda = 0, with Theorem 1's exp(-2 (k - 1) lambda t)."""
    ok = [r for r in records if r["status"] == "ok" and r["config"]["seed"] == seed]
    for k in sorted({r["config"]["k"] for r in ok}):
        widest = max(r["config"]["width"] for r in ok if r["config"]["k"] == k)
        for r in (r for r in ok if r["config"]["k"] == k and r["config"]["width"] == widest):
            c, d = r["config"], r["data"]
            norm = np.asarray(d["kernel_norm"]) / d["kernel_norm"][0]
            line, = ax.plot(d["t"], norm, marker="o", ms=2, lw=1, label=f"k = {k}, width {widest}, lambda {c['lam']:g}")
            if c["lam"] > 0:
                ax.plot(d["t"], l2.kernel_decay(k, c["lam"], d["t"]), color=line.get_color(), ls="--", lw=1,
                        label=f"exp(-2 (k-1) lambda t), k = {k}")
    ax.set_yscale("log")
    ax.set_xlabel("t = eta * step")
    ax.set_ylabel("||Theta_t|| / ||Theta_0||")
    ax.set_title("the NTK decays (Theorem 1)")
    ax.legend(fontsize=6)


def eq1_panel(ax, record, key: str = "train_loss"):
    """Fig. 5(c): the wide network against eq. 1 with the empirical kernel, k = 1 and k = 2."""
    d = record["data"]
    ax.plot(d["t"], d[f"network_{key}"], color="black", lw=2, label=f"network, width {record['config']['wide_width']}")
    ax.plot(d["t"], d[f"eq1_k2_{key}"], color="crimson", ls="--", label="eq. 1, k = 2 (kernel decays)")
    ax.plot(d["t"], d[f"eq1_k1_{key}"], color="tab:blue", ls=":", label="eq. 1, k = 1 (constant kernel)")
    ax.set_xlabel("t = eta * step")
    ax.set_ylabel(key.replace("_", " "))
    ax.set_title(f"eq. 1 against the network: {key.replace('_', ' ')}")
    ax.legend(fontsize=7)

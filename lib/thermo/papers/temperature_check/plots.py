"""Figures of the Temperature-check chapter (``notebooks/temperature-check/01-softmax-temperature``):
records or :mod:`.analysis` tables in, axes out, and each figure's title and lead for
``thermo.figures.publish`` (:func:`caption`). Nothing here computes a number the chapter cites.

The paper's (Agarwala et al., 2020) Fig. 1 (the collapse), Fig. 2 (tau_z), Fig. 3 (tau_nl, and why
it bends for ReLU), Fig. 4 (eta*), Fig. 5 (the phase plane), Fig. 6 (tuning beta), Fig. 7 (tau_z
against the infinite-width kernel) and App. A.3 (conditioning).
"""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

from . import analysis

# figure id -> (title, lead) of its caption; ``{long_beta}`` and ``{long_eta_tilde}`` come from the records
CAPTIONS = {
    "tc-fig1-collapse": (
        "Learning curves at fixed eta * beta^2 against eta * step and against eta_tilde * step",
        "Training accuracy of one initialization (Z0 = 0 by the correlated construction, c = -1) trained with "
        "full-batch gradient descent at eta = eta_tilde / beta^2 for each beta, one row per eta_tilde; left "
        "against eta * step (the raw learning rate's time), right against eta_tilde * step with the linearized "
        "model (dashed), whose curve is the same for every beta. Curves of diverged runs stop at their last "
        "finite step"),
    "tc-fig2-tau-z": (
        "The time to start learning, tau_z, against the size of the initial softmax inputs",
        "Left: tau_z (from the first step at eta_tilde = 1e-3) times eta_tilde over ||Z0||_F against ||Z0||_F for "
        "every beta (colours) and correlation c of the initialization. Middle and right: training accuracy of "
        "runs at beta = {long_beta:g} and eta_tilde = {long_eta_tilde:g} for each c (the network alone), against "
        "the step and against step / tau_z"),
    "tc-fig3-tau-nl": (
        "The time to leave the linearized regime, tau_nl, over beta and ||Z0||",
        "tau_nl = ||dZ/dt|| / ||d^2 Z_nl / dt^2|| at initialization, from the first step at eta_tilde = 1e-3, "
        "times eta_tilde (top) and divided by beta (bottom), against ||Z0||_F, one colour per beta; left the ReLU "
        "network, right the same architecture with Erf"),
    "tc-fig3-step-scaling": (
        "The non-linear part of one step against the step's size, ReLU and Erf",
        "The remainder of one step of size s along the loss gradient d after the linearized model, divided by "
        "s^2, for the network of Figs. 1-3 (beta = 1) with ReLU (solid) and Erf (dashed) at two correlations c; "
        "dotted: the smooth second-order term ||D^2 f[d, d]|| / 2. A flat line is a quadratic remainder"),
    "tc-fig4-eta-star": (
        "The best learning rate against the inverse temperature beta",
        "Left: final test accuracy (mean over seeds) over the learning-rate grid for each beta. Right: the best "
        "learning rate (a parabola through the best grid point and its neighbours in log eta; hollow: at the "
        "grid's edge, left out of the fit) against beta, the fitted power law and the paper's slope -1"),
    "tc-fig5-phase-plane": (
        "The (beta, ||Z0||) phase plane: accuracy at the best learning rate, early accuracy and final logits",
        "One marker per (beta, c) point of the correlated initialization, at the learning rate eta = f / beta "
        "with the best final test accuracy among the grid of f. Left: that test accuracy; middle: the training "
        "accuracy after 20 steps at the same learning rate; right: the final ||Z||_F (log10). Grey: "
        "||Z0|| > sqrt 2 beta ||z0||, which the construction cannot reach; red crosses: every learning rate "
        "diverged"),
    "tc-fig6-beta-sweep": (
        "Tuning the inverse temperature of a ConvNet with and without BatchNorm",
        "The procedure of Sec. 3.4. Left: final test accuracy over the learning-rate grid at beta = 1 (first "
        "seed), which picks eta0 per network. Right: final test accuracy against beta at the learning rate "
        "eta0 / beta, mean and standard deviation over seeds (solid) and the best seed (dashed)"),
    "tc-fig7-ntk": (
        "tau_z of wide networks against the infinite-width kernel's prediction",
        "tau_z * eta_tilde / ||Z0||_F, tau_z from the first gradient-descent step at eta_tilde = 1e-3, against "
        "the inverse of ||Theta_inf (Y - softmax(Z0)) / N||_F with Theta_inf the infinite-width NTK of the same "
        "architecture; one point per (beta, c), filled for true labels and hollow for shuffled ones; left Erf, "
        "right ReLU"),
    "tc-a3-conditioning": (
        "The condition number of the linearized dynamics against the size of the softmax inputs",
        "kappa of H = (Theta (x) Id) S(beta z0) on the range of S, with Theta the infinite-width NTK and z0 the "
        "initial logits of a finite network on the same images, against ||beta z0||_F for a range of beta; "
        "values past float64 rounding (kappa > 1e15) are left out"),
}


def caption(figure_id: str, records=()) -> dict:
    """``title`` and ``lead`` of a figure, for ``figures.publish(fig, figure_id, records, **caption(...))``."""
    title, lead = CAPTIONS[figure_id]
    if figure_id == "tc-fig2-tau-z":
        c = analysis.long_runs(records)[0]["config"]
        lead = lead.format(long_beta=c["beta"], long_eta_tilde=c["eta_tilde"])
    return {"title": title, "lead": lead}


def _colors(name: str, n: int, top: float = 1.0):
    cmap = matplotlib.colormaps[name]
    return [cmap(i / max(1, n - 1) * top) for i in range(n)]


# --- Fig. 1 ------------------------------------------------------------------------------------------

def collapse_panels(axes, records, key: str = "train_acc"):
    """Fig. 1: ``key`` of the network (solid) against eta * step, the time in units of the raw
    learning rate (left), and against eta_tilde * step = eta beta^2 * step (right), for every beta,
    with the linearized model (black dashes; identical for every beta when Z0 = 0, so drawn once).
    Step 0 is drawn at a hundredth of the first step."""
    recs = sorted(records, key=lambda r: r["config"]["beta"])
    for r, color in zip(recs, _colors("coolwarm", len(recs))):
        d, c = r["data"], r["config"]
        steps = np.maximum(np.asarray(d["steps"], dtype=float), 1e-2)
        y = np.asarray(d["net"][key])
        eta = c["eta_tilde"] / c["beta"] ** 2
        for ax, x in ((axes[0], steps * eta), (axes[1], steps * c["eta_tilde"])):
            ax.plot(x, y, color=color, label=f"beta = {c['beta']:g}" + (" (diverged)" if r["status"] != "ok" else ""))
    if recs:
        r = recs[0]
        steps = np.maximum(np.asarray(r["data"]["steps"], dtype=float), 1e-2)
        axes[1].plot(steps * r["config"]["eta_tilde"], r["data"]["lin"][key], color="black", ls="--", lw=2,
                     label="linearized")
    for ax, xl in ((axes[0], "eta * step (raw learning rate)"), (axes[1], "eta_tilde * step = eta beta^2 * step")):
        ax.set_xscale("log")
        ax.set_xlabel(xl)
        ax.set_ylabel(key.replace("_", " "))
    axes[1].legend(fontsize=7, ncol=2)


def collapse_figure(records):
    """Fig. 1: :func:`collapse_panels`, one row per eta_tilde (largest first)."""
    eta_tildes = sorted({r["config"]["eta_tilde"] for r in records}, reverse=True)
    fig, axes = plt.subplots(len(eta_tildes), 2, figsize=(12, 4.2 * len(eta_tildes)), squeeze=False)
    for row, et in zip(axes, eta_tildes):
        collapse_panels(row, [r for r in records if r["config"]["eta_tilde"] == et])
        row[0].set_title(f"eta_tilde = {et:g}", fontsize=10)
    return fig


# --- Figs. 2-3 ---------------------------------------------------------------------------------------

def scatter_by_beta(ax, table, x: str, y: str, xlabel: str, ylabel: str):
    betas = sorted(table.beta.unique())
    for b, color in zip(betas, _colors("viridis", len(betas))):
        g = table[table.beta == b].sort_values(x)
        ax.plot(g[x], g[y], marker="o", ms=4, color=color, label=f"beta = {b:g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7)


def tau_z_figure(table, records):
    """Fig. 2: tau_z eta_tilde / ||Z0|| against ||Z0|| (``table``: :func:`.analysis.tau_z_table`), and
    the long runs' training accuracy against the step and against step / tau_z."""
    runs = sorted(analysis.long_runs(records), key=lambda r: r["data"]["z0_norm"])
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.2))
    scatter_by_beta(axes[0], table, "z0_norm", "tau_z_eta_over_z0", "||Z0||_F", "tau_z * eta_tilde / ||Z0||_F")
    for r, color in zip(runs, _colors("magma", len(runs), top=0.85)):
        steps = np.maximum(np.asarray(r["data"]["steps"], float), 0.5)
        axes[1].plot(steps, r["data"]["net"]["train_acc"], color=color, label=f"||Z0|| = {r['data']['z0_norm']:.2g}")
        axes[2].plot(steps / r["data"]["tau_z_empirical"], r["data"]["net"]["train_acc"], color=color)
    for ax, xl in ((axes[1], "step"), (axes[2], "step / tau_z")):
        ax.set_xscale("log")
        ax.set_xlabel(xl)
        ax.set_ylabel("train accuracy")
    axes[1].legend(fontsize=7)
    return fig


def tau_nl_figure(table):
    """Fig. 3: tau_nl eta_tilde (top) and tau_nl eta_tilde / beta (bottom) against ||Z0||, one column
    per activation (``table``: :func:`.analysis.timescale_table`)."""
    acts = [a for a in ("relu", "erf") if a in set(table.activation)]
    fig, axes = plt.subplots(2, len(acts), figsize=(6.5 * len(acts), 8.4), squeeze=False)
    for j, act in enumerate(acts):
        t = table[table.activation == act]
        scatter_by_beta(axes[0, j], t, "z0_norm", "tau_nl_eta", "||Z0||_F", "tau_nl * eta_tilde")
        scatter_by_beta(axes[1, j], t, "z0_norm", "tau_nl_eta_over_beta", "||Z0||_F", "tau_nl * eta_tilde / beta")
        axes[0, j].set_title(f"{act} network", fontsize=10)
    return fig


def step_scaling_figure(records):
    """The non-linear remainder of one step divided by s^2 against s (a flat line: quadratic), with the
    smooth second-order term dotted."""
    fig, ax = plt.subplots(figsize=(7.5, 4.4))
    for r in records:
        d, c = r["data"], r["config"]
        s = np.asarray(d["steps"])
        style = "-" if c["activation"] == "relu" else "--"
        line, = ax.loglog(s, np.asarray(d["remainder"]) / s**2, style, marker="o", ms=3,
                          label=f"{c['activation']}, c = {c['c']:.4g}")
        ax.axhline(d["second_order"], color=line.get_color(), lw=0.8, ls=":")
    ax.set_xlabel("step size s along the gradient")
    ax.set_ylabel("||f(theta + s d) - f(theta) - s J d|| / s^2")
    ax.legend(fontsize=8)
    return fig


# --- Fig. 4 ------------------------------------------------------------------------------------------

def eta_star_panels(axes, records, stars, fit=None):
    """Fig. 4: test accuracy over the learning-rate grid per beta (mean over seeds), and eta*
    against beta on log-log axes with the fitted power law and the paper's slope -1."""
    betas = sorted({r["config"]["beta"] for r in records})
    for b, color in zip(betas, _colors("viridis", len(betas))):
        pts = {}
        for r in records:
            if r["config"]["beta"] == b:
                acc = r["data"]["final_test_acc"] if r["status"] == "ok" else np.nan
                pts.setdefault(r["config"]["lr"], []).append(acc)
        lrs = np.array(sorted(pts))
        axes[0].plot(lrs, [100 * np.nanmean(pts[lr]) for lr in lrs], marker="o", ms=3, color=color,
                     label=f"beta = {b:g}")
    axes[0].set_xscale("log")
    axes[0].set_xlabel("learning rate eta")
    axes[0].set_ylabel("final test accuracy (%)")
    axes[0].legend(fontsize=7)
    b = np.array([s["beta"] for s in stars])
    e = np.array([s["eta_star"] for s in stars])
    edge = np.array([s["on_edge"] for s in stars])
    axes[1].loglog(b[~edge], e[~edge], "o", color="black", label="eta* (parabola in log eta)")
    axes[1].loglog(b[edge], e[edge], "o", mfc="none", color="black", label="eta* at the grid's edge")
    grid = np.geomspace(b.min(), b.max(), 50)
    if fit is not None:
        est = analysis.exponent_estimate(fit)
        axes[1].loglog(grid, fit(grid), color="tab:red", label=f"fit: slope {est.text(2)} (95 %)")
    axes[1].loglog(grid, e[np.argmin(np.abs(np.log(b)))] / grid, color="grey", ls="--", label="slope -1")
    axes[1].set_xlabel("beta")
    axes[1].set_ylabel("best learning rate eta*")
    axes[1].legend(fontsize=8)


def eta_star_figure(records, stars, fit=None):
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    eta_star_panels(axes, records, stars, fit)
    return fig


# --- Fig. 5 ------------------------------------------------------------------------------------------

def phase_plane_panels(axes, table, z0_base: float):
    """Fig. 5: the (beta, ||Z0||_F) plane coloured by the test accuracy at the best learning rate,
    the training accuracy after 20 steps and the final ||Z||_F (one marker per point, crosses where
    every learning rate diverged), with the region the correlated construction cannot reach
    (||Z0|| > sqrt 2 beta ||z0||, App. D.1) shaded."""
    panels = (("test_acc", "test accuracy at the best eta", "viridis", False),
              ("early_acc", "train accuracy after 20 steps", "viridis", False),
              ("final_z_norm", "final ||Z||_F", "magma", True))
    betas = np.geomspace(table.beta.min() / 1.5, table.beta.max() * 1.5, 100)
    top = table.z0_norm.max() * 3
    for ax, (col, title, cmap, logc) in zip(axes, panels):
        ok = table[np.isfinite(table[col])]
        vals = np.log10(ok[col]) if logc else ok[col]
        sc = ax.scatter(ok.beta, ok.z0_norm, c=vals, cmap=cmap, s=70, edgecolor="black", lw=0.4)
        bad = table[~np.isfinite(table[col])]
        ax.scatter(bad.beta, bad.z0_norm, marker="x", color="red", s=40, label="every eta diverged")
        ax.fill_between(betas, np.sqrt(2) * betas * z0_base, top, color="grey", alpha=0.25,
                        label="inaccessible (c > 1)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(table.z0_norm.min() / 2, top)
        ax.set_xlabel("beta")
        ax.set_ylabel("||Z0||_F")
        ax.set_title(title, fontsize=10)
        ax.figure.colorbar(sc, ax=ax, label=("log10 " if logc else "") + col.replace("_", " "))
    axes[0].legend(fontsize=7, loc="lower right")


def phase_plane_figure(table, z0_base: float):
    fig, axes = plt.subplots(1, 3, figsize=(19, 4.6))
    phase_plane_panels(axes, table, z0_base)
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
    ax.set_xlabel("learning rate at beta = 1")
    ax.set_ylabel("final test accuracy (%)")
    ax.set_title("step 1: tune eta0 at beta = 1", fontsize=10)
    ax.legend(fontsize=8)


def beta_sweep_panel(ax, table, eta0: dict):
    """Fig. 6: final test accuracy against beta, mean and std over seeds (solid) and the best seed
    (dashed), for the ConvNet with and without BatchNorm (``eta0``: batchnorm -> tuned eta_0)."""
    for bn, g in table.groupby("batchnorm"):
        g = g.sort_values("beta")
        color, name = NORM_STYLE[bool(bn)]
        ax.errorbar(g.beta, 100 * g["mean"], yerr=100 * g["std"].fillna(0), marker="o", ms=4, capsize=3,
                    color=color, label=f"{name}: mean, bars one std over seeds (eta0 = {eta0[bn]:g})")
        ax.plot(g.beta, 100 * g["max"], ls="--", marker="^", ms=4, color=color, label=f"{name}: best seed")
    ax.set_xscale("log")
    ax.set_xlabel("beta (learning rate eta0 / beta)")
    ax.set_ylabel("final test accuracy (%)")
    ax.legend(fontsize=7)


def beta_sweep_figure(tune_records, table, eta0: dict):
    """Fig. 6 and Sec. 3.4: :func:`tune_panel` (left) and :func:`beta_sweep_panel` (right)."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.2))
    tune_panel(axes[0], tune_records)
    beta_sweep_panel(axes[1], table, eta0)
    axes[1].set_title("step 2: sweep beta at eta0 / beta", fontsize=10)
    return fig


# --- Fig. 7 and App. A.3 -----------------------------------------------------------------------------

def ntk_prediction_panels(axes, table):
    """Fig. 7: tau_z eta_tilde / ||Z0|| against ||Theta_inf (Y - softmax(Z0)) / N||^-1, one panel per
    activation, filled markers for true labels and hollow for shuffled, colour by beta."""
    betas = sorted(table.beta.unique())
    for ax, (act, g) in zip(axes, table.groupby("activation")):
        for b, color in zip(betas, _colors("viridis", len(betas))):
            for labels, fill in (("true", True), ("shuffled", False)):
                h = g[(g.beta == b) & (g.labels == labels)]
                ax.loglog(h.inverse_drive, h.tau_z_eta_over_z0, "o" if fill else "s", ms=5, color=color,
                          mfc=color if fill else "none", label=f"beta = {b:g}, {labels} labels")
        ax.set_xlabel("||Theta_inf (Y - softmax(Z0)) / N||^-1")
        ax.set_ylabel("tau_z * eta_tilde / ||Z0||_F")
        ax.set_title(act, fontsize=10)
    axes[0].legend(fontsize=6, ncol=2)


def ntk_figure(table):
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.6))
    ntk_prediction_panels(axes, table)
    return fig


def conditioning_panel(ax, records):
    """App. A.3: the condition number of the linearized dynamics against ||beta z||_F (log y)."""
    for r in records:
        rows = [row for row in r["data"]["rows"] if row["kappa"] is not None]
        ax.semilogy([row["z_norm"] for row in rows], [row["kappa"] for row in rows], marker="o", ms=4,
                    label=f"{r['config']['activation']} (kappa of the NTK {r['data']['kappa_ntk']:.3g})")
    ax.set_xlabel("||beta z0||_F")
    ax.set_ylabel("condition number of H")
    ax.legend(fontsize=8)


def conditioning_figure(records):
    fig, ax = plt.subplots(figsize=(7, 4.2))
    conditioning_panel(ax, records)
    return fig

"""Analysis and plotting helpers of the Temperature-check chapter (data in, numbers or axes out).

Records are those of ``thermo.experiments.temperature_check``: ``tc-fig1-collapse`` and
``tc-timescales`` hold, at recorded steps, the network's and the linearized model's train loss and
accuracy, test accuracy, ||Z|| and ||Z - Z_lin||; ``tc-fig4-eta-star`` holds torch training runs.
"""

from __future__ import annotations

import matplotlib
import numpy as np


def leave_time(record, tol: float = 0.01) -> float:
    """The first recorded step (in units of eta_tilde * step) at which the network's softmax inputs
    differ from the linearized model's by more than ``tol`` of the linearized model's change
    ``||Z_lin(t) - Z0||`` (inf if it never does within the run)."""
    d = record["data"]
    steps = np.asarray(d["steps"], dtype=float)
    dev = np.asarray(d["deviation"])
    lin = np.asarray(d["lin"]["z_norm"])
    change = np.abs(lin - d["z0_norm"]) if d["z0_norm"] > 0 else lin
    rel = np.where(change > 0, dev / np.maximum(change, 1e-300), 0.0)
    hit = np.nonzero((steps > 0) & (rel > tol))[0]
    return float(steps[hit[0]] * record["config"]["eta_tilde"]) if hit.size else float("inf")


def collapse_panels(axes, records, key: str = "train_acc"):
    """Fig. 1: ``key`` of the network (solid) against steps (left) and against eta_tilde * step
    (right) for every beta, with the linearized model (black dashes; identical for every beta when
    Z0 = 0, so drawn once)."""
    cmap = matplotlib.colormaps["coolwarm"]
    recs = sorted(records, key=lambda r: r["config"]["beta"])
    for i, r in enumerate(recs):
        d, c = r["data"], r["config"]
        color = cmap(i / max(1, len(recs) - 1))
        steps = np.asarray(d["steps"], dtype=float)
        y = np.asarray(d["net"][key])
        for ax, x in ((axes[0], steps), (axes[1], steps * c["eta_tilde"])):
            ax.plot(np.maximum(x, 1e-2 if ax is axes[0] else 1e-2 * c["eta_tilde"]), y, color=color,
                    label=f"beta = {c['beta']:g}" + (" (diverged)" if r["status"] != "ok" else ""))
    if recs:
        r = recs[0]
        steps = np.asarray(r["data"]["steps"], dtype=float)
        axes[1].plot(np.maximum(steps * r["config"]["eta_tilde"], 1e-2 * r["config"]["eta_tilde"]),
                     r["data"]["lin"][key], color="black", ls="--", lw=2, label="linearized")
    for ax, xl in ((axes[0], "step"), (axes[1], "eta_tilde * step")):
        ax.set_xscale("log")
        ax.set_xlabel(xl)
        ax.set_ylabel(key.replace("_", " "))
    axes[1].legend(fontsize=7, ncol=2)


def timescale_table(records):
    """One row per short run of ``tc-timescales``: beta, c, ||Z0||, eta_tilde, tau_z (eq. 7 and from
    the first step) and tau_nl, and the dimensionless combinations the paper plots."""
    import pandas as pd

    rows = []
    for r in records:
        c, d = r["config"], r["data"]
        if c.get("mode") != "short" or r["status"] != "ok":
            continue
        et = c["eta_tilde"]
        rows.append({"beta": c["beta"], "c": c["c"], "z0_norm": d["z0_norm"], "eta_tilde": et,
                     "tau_z_theory": d["tau_z_theory"], "tau_z_empirical": d["tau_z_empirical"],
                     "tau_nl": d["tau_nl"], "tau_z_eta_over_z0": d["tau_z_empirical"] * et / d["z0_norm"],
                     "tau_nl_eta": d["tau_nl"] * et, "tau_nl_eta_over_beta": d["tau_nl"] * et / c["beta"]})
    return pd.DataFrame(rows)


def tau_nl_slopes(table):
    """Per c: the log-log slope of tau_nl * eta_tilde against beta with its standard error
    (the paper: 1)."""
    import pandas as pd

    from thermo import stats

    rows = []
    for c, g in table.groupby("c"):
        g = g[np.isfinite(g.tau_nl_eta)]
        if len(g) >= 3:
            fit = stats.loglog_fit(g.beta, g.tau_nl_eta)
            rows.append({"c": c, "z0_norm (beta = 1)": float(np.interp(0.0, np.log(g.beta), g.z0_norm)),
                         "slope": fit.slope, "slope_se": fit.slope_se, "points": len(g)})
    return pd.DataFrame(rows)


def scatter_by_beta(ax, table, x: str, y: str, xlabel: str, ylabel: str):
    cmap = matplotlib.colormaps["viridis"]
    betas = sorted(table.beta.unique())
    for i, b in enumerate(betas):
        g = table[table.beta == b].sort_values(x)
        ax.plot(g[x], g[y], marker="o", ms=4, color=cmap(i / max(1, len(betas) - 1)), label=f"beta = {b:g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7)


def eta_star_panels(axes, records, stars, fit=None):
    """Fig. 4: test accuracy over the learning-rate grid per beta (mean over seeds), and eta*
    against beta on log-log axes with the fitted power law and the paper's slope -1."""
    cmap = matplotlib.colormaps["viridis"]
    betas = sorted({r["config"]["beta"] for r in records})
    for i, b in enumerate(betas):
        pts = {}
        for r in records:
            if r["config"]["beta"] == b:
                acc = r["data"]["final_test_acc"] if r["status"] == "ok" else np.nan
                pts.setdefault(r["config"]["lr"], []).append(acc)
        lrs = np.array(sorted(pts))
        axes[0].plot(lrs, [100 * np.nanmean(pts[lr]) for lr in lrs], marker="o", ms=3,
                     color=cmap(i / max(1, len(betas) - 1)), label=f"beta = {b:g}")
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
        axes[1].loglog(grid, fit(grid), color="tab:red",
                       label=f"fit: slope {fit.slope:.2f} ± {fit.slope_se:.2f}")
    axes[1].loglog(grid, e[np.argmin(np.abs(np.log(b)))] / grid, color="grey", ls="--", label="slope -1")
    axes[1].set_xlabel("beta")
    axes[1].set_ylabel("best learning rate eta*")
    axes[1].legend(fontsize=8)

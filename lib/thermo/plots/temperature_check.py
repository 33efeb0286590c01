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
    """Fig. 1: ``key`` of the network (solid) against eta * step, the time in units of the raw
    learning rate (left), and against eta_tilde * step = eta beta^2 * step (right), for every beta,
    with the linearized model (black dashes; identical for every beta when Z0 = 0, so drawn once).
    Step 0 is drawn at a hundredth of the first step."""
    cmap = matplotlib.colormaps["coolwarm"]
    recs = sorted(records, key=lambda r: r["config"]["beta"])
    for i, r in enumerate(recs):
        d, c = r["data"], r["config"]
        color = cmap(i / max(1, len(recs) - 1))
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
        rows.append({"activation": c.get("activation", "relu"), "beta": c["beta"], "c": c["c"],
                     "z0_norm": d["z0_norm"], "eta_tilde": et,
                     "tau_z_theory": d["tau_z_theory"], "tau_z_empirical": d["tau_z_empirical"],
                     "tau_nl": d["tau_nl"], "tau_z_eta_over_z0": d["tau_z_empirical"] * et / d["z0_norm"],
                     "tau_nl_eta": d["tau_nl"] * et, "tau_nl_eta_over_beta": d["tau_nl"] * et / c["beta"]})
    return pd.DataFrame(rows)


def tau_nl_slopes(table):
    """Per activation and c: the log-log slope of tau_nl * eta_tilde against beta with its standard
    error (the paper: 1)."""
    import pandas as pd

    from thermo import stats

    rows = []
    if "activation" not in table:
        table = table.assign(activation="relu")
    for (act, c), g in table.groupby(["activation", "c"]):
        g = g[np.isfinite(g.tau_nl_eta)]
        if len(g) >= 3:
            fit = stats.loglog_fit(g.beta, g.tau_nl_eta)
            rows.append({"activation": act, "c": c,
                         "z0_norm (beta = 1)": float(np.interp(0.0, np.log(g.beta), g.z0_norm)),
                         "slope": fit.slope, "slope_se": fit.slope_se, "points": len(g)})
    return pd.DataFrame(rows, columns=["activation", "c", "z0_norm (beta = 1)", "slope", "slope_se", "points"])


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


def beta_sweep_panel(ax, table, eta0: dict):
    """Fig. 6: final test accuracy against beta, mean +- std over seeds (solid) and the best seed
    (dashed), for the ConvNet with and without BatchNorm (``eta0``: batchnorm -> tuned eta_0)."""
    for bn, g in table.groupby("batchnorm"):
        g = g.sort_values("beta")
        color = "tab:blue" if bn else "tab:orange"
        name = "with BatchNorm" if bn else "without BatchNorm"
        ax.errorbar(g.beta, 100 * g["mean"], yerr=100 * g["std"].fillna(0), marker="o", ms=4, capsize=3,
                    color=color, label=f"{name}: mean ± std (eta0 = {eta0[bn]:g})")
        ax.plot(g.beta, 100 * g["max"], ls="--", marker="^", ms=4, color=color, label=f"{name}: best seed")
    ax.set_xscale("log")
    ax.set_xlabel("beta (learning rate eta0 / beta)")
    ax.set_ylabel("final test accuracy (%)")
    ax.legend(fontsize=7)


def ntk_prediction_table(records):
    """One row per (activation, labels, beta, c) of ``tc-fig7-ntk``."""
    import pandas as pd

    return pd.DataFrame([{"activation": r["config"]["activation"], "labels": r["config"]["labels"],
                          "beta": r["config"]["beta"], **row}
                         for r in records if r["status"] == "ok" for row in r["data"]["rows"]])


def ntk_prediction_panels(axes, table):
    """Fig. 7: tau_z eta_tilde / ||Z0|| against ||Theta_inf (Y - softmax(Z0)) / N||^-1, one panel per
    activation, filled markers for true labels and hollow for shuffled, colour by beta."""
    cmap = matplotlib.colormaps["viridis"]
    betas = sorted(table.beta.unique())
    for ax, (act, g) in zip(axes, table.groupby("activation")):
        for i, b in enumerate(betas):
            for labels, fill in (("true", True), ("shuffled", False)):
                h = g[(g.beta == b) & (g.labels == labels)]
                color = cmap(i / max(1, len(betas) - 1))
                ax.loglog(h.inverse_drive, h.tau_z_eta_over_z0, "o" if fill else "s", ms=5, color=color,
                          mfc=color if fill else "none", label=f"beta = {b:g}, {labels} labels")
        ax.set_xlabel("||Theta_inf (Y - softmax(Z0)) / N||^-1")
        ax.set_ylabel("tau_z * eta_tilde / ||Z0||_F")
        ax.set_title(act, fontsize=10)
    axes[0].legend(fontsize=6, ncol=2)


def conditioning_panel(ax, records):
    """App. A.3: the condition number of the linearized dynamics against ||beta z||_F (log y)."""
    for r in records:
        rows = [row for row in r["data"]["rows"] if row["kappa"] is not None]
        ax.semilogy([row["z_norm"] for row in rows], [row["kappa"] for row in rows], marker="o", ms=4,
                    label=f"{r['config']['activation']} (kappa of the NTK {r['data']['kappa_ntk']:.3g})")
    ax.set_xlabel("||beta z0||_F")
    ax.set_ylabel("condition number of H")
    ax.legend(fontsize=8)


def conditioning_growth(record, min_kappa_ratio: float = 10.0):
    """The exponential rate of kappa in ||beta z||_F: slope and its standard error of ln kappa against
    ||beta z|| over the points where kappa exceeds ``min_kappa_ratio`` times the NTK's own."""
    from scipy import stats as sps

    rows = [row for row in record["data"]["rows"]
            if row["kappa"] is not None and row["kappa"] > min_kappa_ratio * record["data"]["kappa_ntk"]]
    if len(rows) < 3:
        return None
    fit = sps.linregress([row["z_norm"] for row in rows], np.log([row["kappa"] for row in rows]))
    return {"slope": float(fit.slope), "slope_se": float(fit.stderr), "points": len(rows), "r2": float(fit.rvalue**2)}

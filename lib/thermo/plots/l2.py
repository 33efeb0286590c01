"""Tables and panels of the L2 chapter (notebooks/l2-regularization/), data in, axes out.

Tables take the results-store records of ``l2-tstar``, ``l2-narrow``, ``l2-autol2``,
``l2-kernel-decay`` and ``l2-eq1`` and return pandas DataFrames; panels draw one of them.
"""

from __future__ import annotations

import math

import matplotlib
import numpy as np

from thermo import l2, stats


def runs_table(records):
    """One row per run of a t* sweep (l2-tstar or l2-narrow) that finished, lambda > 0 or not."""
    import pandas as pd

    rows = []
    for r in records:
        c, d = r["config"], r["data"] or {}
        fit_step = t_fit = None
        if r["status"] == "ok" and d.get("train_acc"):
            fit_step = l2.fitted_step(d["eval_steps"], d["train_acc"])
            if fit_step is not None:
                t_fit = l2.time_to_peak(d["eval_steps"], d["test_acc"], after=fit_step).step
        rows.append({"width": c["width"], "seed": c["seed"], "eta": c["eta"], "lam": c["lam"],
                     "eta_lam": c["eta"] * c["lam"], "steps": c["steps"], "status": r["status"],
                     "t_star": d.get("t_star"), "peak_acc": d.get("peak_acc"), "c": d.get("c"),
                     "peak_at_end": d.get("peak_at_end"), "fitted_at": fit_step, "t_star_fit": t_fit,
                     "fit_peak_at_end": (t_fit is not None and d.get("eval_steps")
                                         and t_fit >= d["eval_steps"][-2]),
                     "final_train_acc": (d.get("train_acc") or [None])[-1]})
    return pd.DataFrame(rows).sort_values(["width", "eta", "lam", "seed"]).reset_index(drop=True)


DEFINITIONS = {"t_star": "peak_at_end", "t_star_fit": "fit_peak_at_end"}


def passed_peak(table, which: str = "t_star"):
    """Runs with lambda > 0 whose peak (``which``: ``t_star`` the global peak, ``t_star_fit`` the
    peak after the training set is fitted) lies before the end of the run."""
    end = table[DEFINITIONS[which]].fillna(True).astype(bool)
    return table[(table.status == "ok") & (table.lam > 0) & ~end & table[which].notna()]


def slopes(table, which: str = "t_star"):
    """Per width: the log-log slope of t* (geometric mean over seeds) against eta*lambda, its
    standard error, the number of (eta, lambda) points and c = eta*lambda*t* (median, range).
    ``which`` picks the definition of t* (see :func:`passed_peak`)."""
    import pandas as pd

    rows = []
    ok = passed_peak(table, which)
    for width, g in ok.groupby("width"):
        pts = g.groupby(["eta", "lam"]).agg(eta_lam=("eta_lam", "first"),
                                            t_star=(which, lambda s: float(np.exp(np.log(s.astype(float)).mean()))))
        if len(pts) < 3:
            continue
        fit = stats.loglog_fit(pts.eta_lam, pts.t_star)
        c = g.eta_lam * g[which].astype(float)
        rows.append({"width": width, "definition": which, "slope": fit.slope, "slope_se": fit.slope_se,
                     "r2": fit.r2, "points": fit.n, "c_median": float(c.median()), "c_min": float(c.min()),
                     "c_max": float(c.max())})
    return pd.DataFrame(rows, columns=["width", "definition", "slope", "slope_se", "r2", "points", "c_median",
                                       "c_min", "c_max"])


def tstar_vs_product(ax, table):
    """t* against eta*lambda on log-log axes: one colour per width, a point per run (hollow if the
    peak is at the end of the run: a lower bound), the fitted power law per width."""
    cmap = matplotlib.colormaps["viridis"]
    widths = sorted(table.width.unique())
    fits = slopes(table).set_index("width") if len(table) else None
    for i, w in enumerate(widths):
        color = cmap(i / max(1, len(widths) - 1) * 0.85)
        g = table[(table.width == w) & (table.status == "ok") & (table.lam > 0)]
        done = g[~g.peak_at_end.astype(bool)]
        ax.scatter(done.eta_lam, done.t_star, color=color, s=18, label=f"width {w}", zorder=3)
        end = g[g.peak_at_end.astype(bool)]
        if len(end):
            ax.scatter(end.eta_lam, end.t_star, facecolor="none", edgecolor=color, s=18, zorder=3,
                       label=f"width {w}: peak at the end")
        if fits is not None and w in fits.index:
            f = fits.loc[w]
            x = np.geomspace(done.eta_lam.min(), done.eta_lam.max(), 50)
            prefactor = float(np.exp(np.mean(np.log(done.t_star)) - f.slope * np.mean(np.log(done.eta_lam))))
            ax.plot(x, prefactor * x**f.slope, color=color, lw=1.2,
                    label=f"fit, slope {f.slope:.2f} ± {f.slope_se:.2f}")
    ok = table[(table.status == "ok") & (table.lam > 0)]
    if len(ok):
        x = np.geomspace(ok.eta_lam.min(), ok.eta_lam.max(), 50)
        c = float(np.median(ok.c))
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
    """Peak test accuracy against lambda at fixed eta (mean over seeds and its spread), per width."""
    g = table[(table.status == "ok") & (table.eta == eta) & (table.lam > 0)]
    for w, gw in g.groupby("width"):
        agg = gw.groupby("lam").peak_acc.agg(["mean", "min", "max"])
        ax.errorbar(agg.index, agg["mean"], yerr=[agg["mean"] - agg["min"], agg["max"] - agg["mean"]],
                    marker="o", capsize=2, label=f"width {w}")
    zero = table[(table.status == "ok") & (table.eta == eta) & (table.lam == 0)]
    for _, row in zero.iterrows():
        ax.axhline(row.peak_acc, color="gray", ls=":", lw=1)
    if len(zero):
        ax.plot([], [], color="gray", ls=":", label="lambda = 0 (peak)")
    ax.set_xscale("log")
    ax.set_xlabel("lambda")
    ax.set_ylabel("peak test accuracy")
    ax.set_title(f"peak accuracy, eta = {eta:g}")
    ax.legend(fontsize=7)


def peak_vs_eta(table):
    """Notes, item 2: at a fixed lambda, the peak accuracy for every eta that ran it (mean over
    seeds); only the lambdas that several learning rates share."""
    g = table[(table.status == "ok") & (table.lam > 0)]
    shared = g.groupby("lam").eta.nunique()
    g = g[g.lam.isin(shared[shared > 1].index)]
    return (g.groupby(["width", "lam", "eta"]).peak_acc.agg(["mean", "min", "max", "count"]).reset_index()
            .rename(columns={"mean": "peak accuracy (mean)", "count": "seeds"}))


def best_within(record, budget: int) -> float | None:
    """The best test accuracy a run reached within ``budget`` steps (None before its first evaluation)."""
    d = record["data"]
    accs = [a for s, a in zip(d["eval_steps"], d["test_acc"]) if s <= budget]
    return max(accs) if accs else None


def budget_table(records, eta: float, width: int, budgets, c: float):
    """Figs. 1b / S3: for each budget T, the lambda of the sweep (at ``eta``, ``width``; mean over
    seeds) with the best accuracy within T steps, against ``predict_lambda(c, eta, T)``."""
    import pandas as pd

    runs = [r for r in records if r["status"] == "ok" and r["config"]["eta"] == eta
            and r["config"]["width"] == width and r["config"]["lam"] > 0]
    lams = sorted({r["config"]["lam"] for r in runs})
    rows = []
    for budget in budgets:
        scores = {}
        for lam in lams:
            # a run shorter than the budget passed its peak (its length is 2/(eta lambda)); its best
            # accuracy over the run is its best within the budget
            vals = [best_within(r, budget) for r in runs if r["config"]["lam"] == lam]
            vals = [v for v in vals if v is not None]
            if vals:
                scores[lam] = float(np.mean(vals))
        best = max(scores, key=scores.get)
        pred = l2.predict_lambda(c, eta, budget)
        rows.append({"budget T": budget, "best lambda (sweep)": best, "predicted lambda": pred,
                     "ratio": pred / best, "best accuracy": scores[best],
                     "accuracy at the grid lambda nearest the prediction":
                         scores[min(scores, key=lambda lam: abs(math.log(lam / pred)))]})
    return pd.DataFrame(rows)


def budget_panel(ax, table):
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


def autol2_fc(ax, auto_records, tstar_records, width: int, seed: int, eta: float = 0.1):
    """Test accuracy against steps: AutoL2 and the fixed-lambda runs of the same network and seed."""
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


def decay_table(records):
    import pandas as pd

    rows = []
    for r in records:
        c, d = r["config"], r["data"]
        if r["status"] != "ok":
            continue
        rows.append({"k": c["k"], "width": c["width"], "lambda": c["lam"], "seed": c["seed"],
                     "measured rate": d["rate"], "standard error": d["rate_se"], "predicted 2(k-1) lambda":
                         d["predicted_rate"],
                     "measured / predicted": d["rate"] / d["predicted_rate"] if d["predicted_rate"] else None,
                     "final cosine(Theta_t, Theta_0)": d["kernel_cosine"][-1],
                     "final train accuracy": d["train_acc"][-1]})
    return pd.DataFrame(rows).sort_values(["k", "lambda", "width", "seed"]).reset_index(drop=True)


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

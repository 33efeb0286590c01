"""Plotting helpers of the TempBalance chapters (one function per figure panel, data in, axes out)."""

from __future__ import annotations

import matplotlib
import matplotlib.ticker
import numpy as np

from thermo.experiments.tempbalance_esd import hill_bias_factor


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
    ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xticks([1.5, 2, 3, 4, 6])
    ax.set_xlabel("PL_Alpha_Hill")
    ax.set_ylabel("decay exponent s")
    ax.set_title("s against PL_Alpha_Hill")
    ax.legend(fontsize=8, ncol=2)


def relative_error_by_size(rows, rule: str = "eq3") -> dict:
    """``{M: (mean, max) of |s_hat - s| / s}`` over the s grid."""
    out = {}
    for m in sorted({r["m"] for r in rows}):
        errs = np.array([abs(r[f"s_hat_{rule}"] - r["s"]) / r["s"] for r in rows if r["m"] == m])
        out[m] = (float(errs.mean()), float(errs.max()))
    return out


def s_error_by_size(ax, rows):
    """Mean relative error of ``s_hat = 1/(alpha - 1)`` against M, measured and closed form."""
    for rule, marker in (("eq3", "o"), ("official", "s")):
        errs = relative_error_by_size(rows, rule)
        ms = np.array(list(errs))
        ax.plot(ms, [errs[m][0] for m in ms], marker=marker, ls="none", label=f"measured ({rule})")
        ax.plot(ms, [1 - hill_bias_factor(int(m), rule) for m in ms], lw=1, label=f"closed form ({rule})")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("matrix size M")
    ax.set_ylabel("mean |s_hat - s| / s")
    ax.set_title("error shrinks with M")
    ax.legend(fontsize=8)


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


def s_error_table(rows):
    """Per matrix size: mean and max relative error of ``s_hat`` (both rules) and the largest
    relative round-off of the computed eigenvalues, as a pandas DataFrame."""
    import pandas as pd

    eq3, off = relative_error_by_size(rows, "eq3"), relative_error_by_size(rows, "official")
    return pd.DataFrame({
        "M": list(eq3),
        "mean error, eq. 3": [v[0] for v in eq3.values()],
        "max error, eq. 3": [v[1] for v in eq3.values()],
        "closed form, eq. 3": [1 - hill_bias_factor(m, "eq3") for m in eq3],
        "mean error, official": [v[0] for v in off.values()],
        "eigenvalue round-off": [max(r["max_rel_eig_error"] for r in rows if r["m"] == m) for m in eq3],
    })


def crosscheck_tables(layers):
    """Two DataFrames for the trained layers: the exponents of the four estimators, and the
    thresholds (x_min) each one chose."""
    import pandas as pd

    alphas = pd.DataFrame([{
        "layer": L["name"], "eigenvalues": L["n_eigs"], "fewer than 50": L["too_few_eigs"],
        "eq. 3 (ours)": L["alpha_hill"], "official rule": L["alpha_official"],
        "WeightWatcher": L["ww_alpha"], "powerlaw": L["powerlaw_alpha"],
    } for L in layers])
    xmins = pd.DataFrame([{
        "layer": L["name"], "eq. 3 (ours)": L["xmin_eq3"], "WeightWatcher": L["ww_xmin"],
        "powerlaw": L["powerlaw_xmin"],
        "tail size, eq. 3": L["n_eigs"] // 2,
        "tail size, powerlaw": (sum(e >= L["powerlaw_xmin"] for e in L["eigs"])
                                if L["powerlaw_xmin"] is not None else None),
    } for L in layers])
    xmins["tail size, powerlaw"] = xmins["tail size, powerlaw"].astype("Int64")
    return alphas, xmins


# --- chapter 2: training with TempBalance -------------------------------------------------------

METHOD_LABELS = {"cal": "CAL", "snr": "SNR", "tb": "TB", "tb+snr": "TB+SNR"}
METHOD_COLORS = {"cal": "tab:blue", "snr": "tab:green", "tb": "tab:red", "tb+snr": "tab:purple"}


def method_summary(frame, by=("model", "method")):
    """Mean, standard deviation (ddof 1) and count of the test accuracy per group, in percent."""
    g = frame.dropna(subset=["test_acc"]).groupby(list(by)).test_acc
    out = g.agg(["mean", "std", "count"]).reset_index()
    out[["mean", "std"]] *= 100
    return out.rename(columns={"mean": "test acc (%)", "std": "std (pt)", "count": "seeds"})


def paired_against(frame, baseline: str = "cal", column: str = "method", pair_on=("model", "seed")):
    """For every value of ``column`` other than ``baseline``: the mean paired difference of test
    accuracy against the baseline (pairs matched on ``pair_on``), its 95 % t interval and n, in
    points. A group with fewer than two pairs gets its mean and no interval."""
    import pandas as pd

    from thermo import stats

    pivot = frame.pivot_table(index=list(pair_on), columns=column, values="test_acc")
    rows = []
    for other in [c for c in pivot.columns if c != baseline]:
        both = pivot[[other, baseline]].dropna()
        if both.empty:
            continue
        d = (both[other] - both[baseline]) * 100
        row = {column: other, "vs": baseline, "pairs": len(d), "mean diff (pt)": d.mean(),
               "CI low": np.nan, "CI high": np.nan}
        if len(d) >= 2:
            pd_ = stats.paired_difference(both[other] * 100, both[baseline] * 100)
            row["CI low"], row["CI high"] = pd_.interval
        rows.append(row)
    return pd.DataFrame(rows)


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
        ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xticks(sorted(sub[x].unique()))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(model or "")
    ax.legend(fontsize=8)


def alpha_summary(alphas):
    """Per (model, method): layers, mean, median and standard deviation of the final
    PL_Alpha_Hill, and the mean distance to 2 (Figs. 10-11)."""
    g = alphas.assign(dist2=(alphas.alpha - 2).abs()).groupby(["model", "method"])
    return g.agg(layers=("alpha", "size"), mean=("alpha", "mean"), median=("alpha", "median"),
                 std=("alpha", "std"), mean_distance_to_2=("dist2", "mean")).reset_index()


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


def natural_key(name: str):
    """Sort module names by their numbers: ``features.4`` before ``features.11``."""
    import re

    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def scale_heatmap(ax, record):
    """The learning-rate factors TempBalance set, layer by layer (rows) at each evaluation
    (columns) of one run, and the colour bar's limits at s1 and s2."""
    h = record["data"]["history"]
    layers = sorted(h["tb_scale"][0], key=natural_key)  # network order (the store sorts keys as text)
    grid = np.array([[row[L] for row in h["tb_scale"]] for L in layers])
    c = record["config"]
    im = ax.imshow(grid, aspect="auto", cmap="coolwarm", vmin=c["s1"], vmax=c["s2"], interpolation="nearest")
    ax.set_yticks(range(len(layers)), layers, fontsize=6)
    ax.set_xticks(range(grid.shape[1]), range(1, grid.shape[1] + 1))  # logged at the end of every epoch
    ax.set_xlabel("end of epoch")
    ax.set_title(f"TB's LR factor per layer ({c['model']}, seed {c['seed']})")
    ax.figure.colorbar(im, ax=ax, label="lr factor")
    return grid

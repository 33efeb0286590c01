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

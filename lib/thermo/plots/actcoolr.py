"""Analysis and plotting helpers of the ActCoolR chapter (data in, numbers or axes out).

Records are those of ``thermo.experiments.actcoolr`` (``ac-*``): a step history with the mean APT
under ``apt_<granularity>`` and each ReLU layer's under ``apt_<granularity>:<layer>`` (measured every
``probe_every`` steps, their steps under ``step:<key>``), the learning rate of every step under
``lr``, and for some runs the LR range of a fixed batch after every epoch.
"""

from __future__ import annotations

import numpy as np

from thermo import apt
from thermo.errors import ConfigError

SCHEDULE_COLORS = {"constant": "tab:gray", "step": "tab:blue", "onecycle": "tab:red", "cosine": "tab:green",
                   "actcool": "tab:purple"}


def series(record, key: str):
    """``(steps, values)`` of one probed quantity of a run's step history."""
    h = record["data"]["step_history"]
    return np.asarray(h[f"step:{key}"], dtype=float), np.asarray(h[key], dtype=float)


def steps_per_epoch(record) -> int:
    c = record["config"]
    return -(-c["n_train"] // c["batch_size"])


def epoch_means(record, key: str):
    """The mean of a probed quantity over the measurements of each epoch: ``(epochs, means)``,
    epochs counted from 1 (an epoch without a measurement is left out)."""
    steps, values = series(record, key)
    spe = steps_per_epoch(record)
    epoch = ((steps - 1) // spe).astype(int)  # the history counts steps from 1 (after the optimizer step)
    epoch = np.minimum(epoch, record["config"]["epochs"] - 1)
    out_e, out_v = [], []
    for e in np.unique(epoch):
        out_e.append(e + 1)
        out_v.append(values[epoch == e].mean())
    return np.asarray(out_e), np.asarray(out_v)


def line_r2(x, y) -> float:
    """R^2 of the least-squares line through ``(x, y)``."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    slope, icpt = np.polyfit(x, y, 1)
    resid = y - (slope * x + icpt)
    return float(1 - np.sum(resid**2) / np.sum((y - y.mean()) ** 2))


def onecycle_decay_linearity(record, key: str = "apt_position", pct_start: float = 0.3) -> dict:
    """Fig. 1's observation: the per-epoch mean APT over the epochs that lie wholly in the decay
    phase of the 1-cycle schedule (after ``pct_start`` of training), its line fit's R^2 and slope
    (temperature per epoch)."""
    epochs, means = epoch_means(record, key)
    first = int(np.ceil(pct_start * record["config"]["epochs"])) + 1
    mask = epochs >= first
    x, y = epochs[mask], means[mask]
    if x.size < 3:
        return {"r2": float("nan"), "slope": float("nan"), "epochs": x.tolist(), "means": y.tolist()}
    return {"r2": line_r2(x, y), "slope": float(np.polyfit(x, y, 1)[0]), "epochs": x.tolist(), "means": y.tolist()}


def layer_names(record, granularity: str) -> list[str]:
    """The ReLU layers of a run in network order: the results store sorts keys as text, so the order
    comes from the model the config builds (``models.relu_modules``); names the model lacks keep
    their stored order at the end."""
    from thermo import data, models

    prefix = f"apt_{granularity}:"
    stored = [k[len(prefix):] for k in record["data"]["step_history"] if k.startswith(prefix)]
    c = record["config"]
    try:
        sp = data.spec(c["dataset"])
        order = [n for n, _ in models.relu_modules(models.build(c["model"], sp.in_shape, sp.num_classes,
                                                                width=c["width"]))]
    except (KeyError, ConfigError):  # a record without a buildable model: keep the stored order
        return stored
    return [n for n in order if n in stored] + [n for n in stored if n not in order]


def cooling_order(record, granularity: str = "position", fraction: float = 0.5) -> dict:
    """Does APT cool from bottom to top? For every ReLU layer, its first-epoch mean T and the first
    epoch whose mean T falls below ``fraction`` of it; the Spearman correlations of depth with the
    first-epoch T (``hotter_deeper``, positive: deeper layers are hotter) and with that epoch
    (``spearman``, positive: deeper layers cool later)."""
    from scipy.stats import spearmanr

    names = layer_names(record, granularity)
    when, start = [], []
    for name in names:
        e, m = epoch_means(record, f"apt_{granularity}:{name}")
        below = np.nonzero(m < fraction * m[0])[0]
        when.append(float(e[below[0]]) if below.size else float(e[-1] + 1))
        start.append(float(m[0]))
    depth = np.arange(len(names))
    rho = spearmanr(depth, when).statistic if len(set(when)) > 1 else float("nan")
    hot = spearmanr(depth, start).statistic if len(set(start)) > 1 else float("nan")
    return {"layers": names, "epoch": when, "first_epoch_t": start, "spearman": float(rho),
            "hotter_deeper": float(hot)}


def transition(p, pad: int = 1):
    """Indices of the LR grid inside the transition (0.01 < P < 0.99), padded by ``pad`` points on
    each side: where the two models of the LR range differ."""
    p = np.asarray(p)
    inside = np.nonzero((p > 0.01) & (p < 0.99))[0]
    if inside.size == 0:
        return np.arange(p.size)
    return np.arange(max(0, inside[0] - pad), min(p.size, inside[-1] + pad + 1))


def range_fits(record, granularity: str = "position"):
    """The erf model and its exponential rival fitted to every layer's LR range after every epoch:
    one row per (epoch, layer) with mu, sigma and R^2 of the erf fit, lr0 of the exponential fit,
    and both fits' root-mean-square error over the transition. A row whose fit fails to converge
    keeps NaN (and says so)."""
    import pandas as pd

    rng = record["data"]["lr_range"]
    lrs = np.asarray(rng["lrs"])
    rows = []
    for row in rng["rows"]:
        if row["granularity"] != granularity:
            continue
        for layer, p in row["p_change"].items():
            p = np.asarray(p, dtype=float)
            out = {"epoch": row["epoch"], "layer": layer, "mu": np.nan, "sigma": np.nan, "r2_erf": np.nan,
                   "lr0": np.nan, "rmse_erf": np.nan, "rmse_exp": np.nan, "converged": True}
            idx = transition(p)
            try:
                fe, fx = apt.fit_erf(lrs, p), apt.fit_exponential(lrs, p)
            except RuntimeError:  # curve_fit gave up
                out["converged"] = False
            else:
                out.update(mu=fe["mu"], sigma=fe["sigma"], r2_erf=fe.r2, lr0=fx["lr0"],
                           rmse_erf=float(np.sqrt(np.mean(fe.residuals[idx] ** 2))),
                           rmse_exp=float(np.sqrt(np.mean(fx.residuals[idx] ** 2))))
            rows.append(out)
    return pd.DataFrame(rows)


def mean_p_change(row) -> np.ndarray:
    """``1 - 2^-T`` of the mean over layers of T: the network's probability, as ActCoolLR uses it."""
    n = min(row["n_patterns"].values())
    temps = np.array([[apt.temperature(1.0 - q, n) for q in p] for p in row["p_change"].values()])
    return 1.0 - 2.0 ** (-temps.mean(axis=0))


def network_fits(record, granularity: str = "position"):
    """The erf model fitted to the network's probability (:func:`mean_p_change`) after every epoch:
    epoch, mu, sigma, R^2. sigma's coefficient of variation over epochs is the paper's "nearly
    constant" claim."""
    import pandas as pd

    lrs = np.asarray(record["data"]["lr_range"]["lrs"])
    rows = []
    for row in record["data"]["lr_range"]["rows"]:
        if row["granularity"] == granularity:
            try:
                f = apt.fit_erf(lrs, mean_p_change(row))
            except RuntimeError:  # curve_fit gave up (e.g. a flat curve): no row rather than a made-up one
                continue
            rows.append({"epoch": row["epoch"], "mu": f["mu"], "sigma": f["sigma"], "r2": f.r2,
                         "sigma_se": f.errors["sigma"]})
    return pd.DataFrame(rows)


def tracking_error(record, warmup: float = 0.1, stop: float = 0.9) -> float:
    """ActCoolLR: mean of |T - C| / C over the measurements between ``warmup`` and ``stop`` of
    training (the target C falls to 0 at the end, where a relative error means nothing)."""
    steps, t = series(record, "apt")
    _, c = series(record, "target_apt")
    total = record["config"]["epochs"] * steps_per_epoch(record)
    mask = (steps >= warmup * total) & (steps <= stop * total) & (c > 0)
    if not mask.any():
        return float("nan")
    return float(np.mean(np.abs(t[mask] - c[mask]) / c[mask]))


# --- panels ---------------------------------------------------------------------------------------

def schedule_panels(axes, records, granularity: str = "position"):
    """Fig. 1 analogue, one line per schedule: the learning rate, APT of the first ReLU layer, the
    mean APT (smoothed over an epoch's measurements), and the test error, against epochs."""
    for r in records:
        c = r["config"]
        color = SCHEDULE_COLORS[c["schedule"]]
        spe = steps_per_epoch(r)
        lr = np.asarray(r["data"]["step_history"]["lr"])
        axes[0].plot(np.arange(1, lr.size + 1) / spe, lr, color=color, label=c["schedule"])
        first = layer_names(r, granularity)[0]
        for ax, key in ((axes[1], f"apt_{granularity}:{first}"), (axes[2], f"apt_{granularity}")):
            s, v = series(r, key)
            ax.plot(s / spe, v, color=color, alpha=0.25, lw=0.8)
            e, m = epoch_means(r, key)
            ax.plot(e - 0.5, m, color=color, lw=1.8)
        h = r["data"]["history"]
        axes[3].plot(h["epoch"], 100 * (1 - np.asarray(h["test_acc"])), color=color, marker="o", ms=3)
    axes[0].set_ylabel("learning rate")
    axes[0].legend(fontsize=8)
    axes[1].set_ylabel(f"APT, first ReLU layer ({granularity})")
    axes[2].set_ylabel(f"mean APT over layers ({granularity})")
    axes[3].set_ylabel("test error (%)")
    for ax in axes:
        ax.set_xlabel("epoch")


def layer_panel(ax, record, granularity: str = "position"):
    """Per-layer APT over training (per-epoch means), coloured from the bottom layer (dark) to the
    top (light)."""
    import matplotlib

    names = layer_names(record, granularity)
    cmap = matplotlib.colormaps["viridis"]
    for i, name in enumerate(names):
        e, m = epoch_means(record, f"apt_{granularity}:{name}")
        ax.plot(e, m, color=cmap(i / max(1, len(names) - 1)), lw=1.2)
    sm = matplotlib.cm.ScalarMappable(cmap=cmap, norm=matplotlib.colors.Normalize(0, len(names) - 1))
    ax.figure.colorbar(sm, ax=ax, label="depth (ReLU layer index)")
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"APT per layer ({granularity})")
    ax.set_title(f"{record['config']['schedule']}: per-layer APT")


def granularity_panel(ax, record, epoch: int):
    """The network's probability of a changed pattern over the LR range, one curve per granularity,
    at one epoch's measurement, with the ceiling's probability shaded."""
    lrs = np.asarray(record["data"]["lr_range"]["lrs"])
    for row in record["data"]["lr_range"]["rows"]:
        if row["epoch"] == epoch:
            ax.plot(lrs, mean_p_change(row), marker="o", ms=3, label=row["granularity"])
    ax.axvline(record["config"]["lr"], color="black", ls=":", lw=1, label="peak LR of the run")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("P(pattern changes)")
    ax.set_title(f"LR range after epoch {epoch}")
    ax.legend(fontsize=8)


def erf_panel(ax, record, layer: str, epoch: int, granularity: str = "position"):
    """One layer's LR range with the erf model and the exponential rival fitted to it."""
    lrs = np.asarray(record["data"]["lr_range"]["lrs"])
    row = next(r for r in record["data"]["lr_range"]["rows"] if r["epoch"] == epoch and r["granularity"] == granularity)
    p = np.asarray(row["p_change"][layer])
    ax.plot(lrs, p, "o", color="black", ms=4, label="measured")
    try:
        fe, fx = apt.fit_erf(lrs, p), apt.fit_exponential(lrs, p)
    except RuntimeError:
        ax.set_title(f"{layer}, after epoch {epoch} (no fit converged)")
        return None, None
    grid = np.geomspace(lrs[0], lrs[-1], 400)
    ax.plot(grid, apt.erf_model(grid, fe["mu"], fe["sigma"]), color="tab:red",
            label=f"erf: mu = {fe['mu']:.2f}, sigma = {fe['sigma']:.2f}")
    ax.plot(grid, apt.exponential_model(grid, fx["lr0"]), color="tab:blue", ls="--",
            label=f"1 - exp(-lr/lr0): lr0 = {fx['lr0']:.3g}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("P(pattern changes)")
    ax.set_title(f"{layer}, after epoch {epoch}")
    ax.legend(fontsize=8)
    return fe, fx


def cooling_panels(axes, records):
    """Fig. 3 analogue: measured APT against its target for each gamma, the learning rate ActCoolLR
    chose, and the test error."""
    import matplotlib

    cmap = matplotlib.colormaps["plasma"]
    gammas = sorted({r["config"]["gamma"] for r in records})
    for r in records:
        g = r["config"]["gamma"]
        color = cmap(gammas.index(g) / max(1, len(gammas) - 1) * 0.85)
        spe = steps_per_epoch(r)
        s, t = series(r, "apt")
        _, c = series(r, "target_apt")
        axes[0].plot(s / spe, t, color=color, lw=0.8, alpha=0.7)
        axes[0].plot(s / spe, c, color=color, ls="--", lw=1.5, label=f"gamma = {g:g}")
        lr = np.asarray(r["data"]["step_history"]["lr"])
        axes[1].plot(np.arange(1, lr.size + 1) / spe, lr, color=color)
        h = r["data"]["history"]
        axes[2].plot(h["epoch"], 100 * (1 - np.asarray(h["test_acc"])), color=color, marker="o", ms=3)
    axes[0].set_ylabel("mean APT (solid) and target (dashed)")
    axes[0].legend(fontsize=8)
    axes[1].set_ylabel("learning rate chosen")
    axes[1].set_yscale("log")
    axes[2].set_ylabel("test error (%)")
    for ax in axes:
        ax.set_xlabel("epoch")

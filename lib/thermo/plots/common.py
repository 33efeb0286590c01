"""Plotting helpers several chapters share (sweeps with divergence, tables of runs)."""

from __future__ import annotations


def sweep_table(records, x_key: str = "lr", y_key: str = "final_test_acc"):
    """One row per run of a sweep: its config value, seed, status and result (None if not ok)."""
    import pandas as pd

    rows = []
    for r in records:
        ok = r["status"] == "ok"
        rows.append({x_key: r["config"][x_key], "seed": r["config"].get("seed"), "status": r["status"],
                     y_key: r["data"].get(y_key) if ok and r["data"] else None,
                     "reason": r.get("reason")})
    return pd.DataFrame(rows).sort_values([x_key, "seed"]).reset_index(drop=True)


def metric_vs_lr(ax, records, x_key: str = "lr", y_key: str = "final_test_acc", label: str = "test accuracy"):
    """Mean (over seeds) of ``y_key`` against ``x_key`` for the runs that finished, and a red x on
    the axis floor at every value where some run diverged or failed: no NaN ever reaches a line."""
    table = sweep_table(records, x_key, y_key)
    ok = table[table.status == "ok"]
    mean = ok.groupby(x_key)[y_key].mean()
    ax.plot(mean.index, mean.values, marker="o", label=f"{label} (mean over seeds)")
    ax.scatter(ok[x_key], ok[y_key], s=10, alpha=0.4, label="single runs")
    bad = table[table.status != "ok"]
    if len(bad):
        floor = float(ok[y_key].min()) if len(ok) else 0.0
        xs = sorted(set(bad[x_key]))
        ax.scatter(xs, [floor] * len(xs), marker="x", color="crimson", s=60,
                   label=f"diverged or failed ({len(bad)} runs)")
    ax.set_xscale("log")
    ax.set_xlabel(x_key)
    ax.set_ylabel(label)
    ax.legend(fontsize=8)
    return table

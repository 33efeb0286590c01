"""TempBalance's analysis (chapters ``notebooks/tempbalance/01-esd-and-hill`` and
``notebooks/tempbalance/02-training-with-tempbalance``): records in, tables and named facts out.
The single source of every number the chapters state and every claim
(:mod:`thermo.papers.tempbalance.claims`) measures.

Records are those of :mod:`thermo.papers.tempbalance.runs`. By section:

Chapter 1

- Fig. 9 / App. A.2, ``s = 1 / (alpha - 1)`` (the paper's eq. 23) with the Hill estimator of its
  eq. 3: :func:`s_error_by_size`, :func:`s_error_table`, :func:`s_alpha_accuracy`,
  :func:`fig9_grid`, :func:`fig9_facts`.
- Fig. 1 analogue, the ESDs of a trained network and four estimators: :func:`crosscheck_tables`,
  :func:`heavy_and_light`, :func:`esd_training_facts`, :func:`fig1_facts`.

Chapter 2 (Section 4)

- the runs as a table: :func:`runs_frame`, :func:`main_records`, :func:`main_table`;
- eq. 2's plan for a network: :func:`tuning_plan`, :func:`plan_facts`;
- Fig. 3 / Table 1: :func:`method_summary`, :func:`paired`, :func:`paired_against`,
  :func:`tuning_grid`, :func:`fig3_facts`;
- Algorithm 1 in practice, the factors TB chose: :func:`first_seed_tb_runs`, :func:`scale_grid`,
  :func:`scale_facts`;
- Fig. 5 (initial learning rate): :func:`lr_grid_records`, :func:`lr_grid_frame`,
  :func:`lr_grid_pairs`, :func:`lr_grid_table`, :func:`lr_facts`;
- Fig. 6 (width): :func:`width_records`, :func:`width_frame`, :func:`width_pairs`,
  :func:`width_table`, :func:`width_facts`;
- Fig. 7 (metric): :func:`metric_records`, :func:`metric_frame`, :func:`metric_pairs`,
  :func:`metric_table`, :func:`best_other_metric`, :func:`metric_facts`;
- Figs. 10-11 (final alphas): :func:`final_alphas`, :func:`main_alphas`, :func:`alpha_summary`,
  :func:`alpha_spread_pairs`, :func:`alpha_facts`;
- Sec. 5, the cost of balancing: :func:`cost_records`, :func:`cost_frame`, :func:`cost_table`,
  :func:`tb_share`, :func:`cost_facts`;
- the random-matrix baseline of each layer (beyond the paper): :func:`with_baselines`,
  :func:`baseline_table`, :func:`shape_share_estimate`, :func:`shape_facts`; TB driven by the
  excess (``tb-excess``): :func:`excess_pairs`, :func:`excess_estimate`;
- the paper profile: :func:`paper_facts`, :func:`config_table`.

The paper's own effects (medians over its Tables 1 and 3-5): :func:`paper_gains`,
:func:`paper_effect`. Every comparison a claim makes is an :class:`~thermo.claims.Estimate` (a
mean paired difference with its 95 % t interval, n and the smallest effect it detects):
:func:`method_difference`, :func:`best_other_difference`, :func:`compare_pairs`,
:func:`compare_estimate`, :func:`lr_grid_estimate`, :func:`width_estimate`, :func:`metric_estimate`,
:func:`alpha_spread_estimate`, :func:`overhead_estimate`, :func:`s_alpha_estimate`, and
:func:`estimate_text` writes one for the page.

A ``*_facts`` function returns ``{glue key: text}`` for ``figures.glue_facts``. Accuracies are
fractions in the records and in the ``test_acc`` columns; tables for the reader are in percent
and points (their column names say so).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from thermo import data, htsr, models, stats
from thermo.claims import Estimate
from thermo.errors import MissingResults
from thermo.papers.tempbalance import configs
from thermo.papers.tempbalance.configs import ARCHS, COMPARE_SEEDS, FIG7_METRICS, METHODS, SEEDS
from thermo.results import canonical_json
from thermo.tempbalance import TempBalance

# --- chapter 1: Fig. 9 -----------------------------------------------------------------------------


def s_error_by_size(rows, rule: str = "eq3") -> pd.DataFrame:
    """Per matrix size M (the index): mean, standard deviation (ddof 0) and max over the s grid of
    the relative error ``|s_hat - s| / s`` of ``s_hat = 1 / (alpha - 1)`` under ``rule``, and n."""
    t = pd.DataFrame([{"M": int(r["m"]), "err": abs(r[f"s_hat_{rule}"] - r["s"]) / r["s"]} for r in rows])
    g = t.groupby("M").err
    return pd.DataFrame({"mean": g.mean(), "std": g.std(ddof=0), "max": g.max(), "n": g.size()})


def s_error_table(rows) -> pd.DataFrame:
    """Per matrix size: mean and max relative error of ``s_hat`` (eq. 3), its closed form
    (:func:`thermo.htsr.hill_bias_factor`), the official rule's mean error and the largest relative
    round-off of the computed eigenvalues."""
    eq3, off = s_error_by_size(rows, "eq3"), s_error_by_size(rows, "official")
    sizes = [int(m) for m in eq3.index]
    return pd.DataFrame({
        "M": sizes,
        "mean error, eq. 3": eq3["mean"].to_numpy(),
        "max error, eq. 3": eq3["max"].to_numpy(),
        "closed form, eq. 3": [1 - htsr.hill_bias_factor(m, "eq3") for m in sizes],
        "mean error, official": off["mean"].reindex(eq3.index).to_numpy(),
        "eigenvalue round-off": [max(r["max_rel_eig_error"] for r in rows if r["m"] == m) for m in sizes],
    })


@dataclass(frozen=True)
class SAlphaAccuracy:
    """The claim of Fig. 9: the mean (and std over the s grid) relative error of ``s_hat`` at the
    largest M, whether it shrinks at every step in M, and the grid behind it."""

    mean: float
    std: float
    n_rows: int
    n_at_largest: int
    sizes: tuple[int, ...]
    decreasing: bool


def s_alpha_accuracy(rows, rule: str = "eq3") -> SAlphaAccuracy:
    e = s_error_by_size(rows, rule)
    means = e["mean"].to_numpy()
    return SAlphaAccuracy(float(means[-1]), float(e["std"].iloc[-1]), len(rows), int(e["n"].iloc[-1]),
                          tuple(int(m) for m in e.index), bool(np.all(np.diff(means) < 0)))


def s_alpha_estimate(rows, rule: str = "eq3") -> Estimate:
    """The claim of Fig. 9: the mean relative error ``|s_hat - s| / s`` at the largest M over the s
    grid, with its t interval (each s one synthetic matrix), and whether it shrinks at every step in M."""
    acc = s_alpha_accuracy(rows, rule)
    largest = [abs(r[f"s_hat_{rule}"] - r["s"]) / r["s"] for r in rows if int(r["m"]) == acc.sizes[-1]]
    if len(largest) < 2:
        raise MissingResults(f"one value of s at M = {acc.sizes[-1]}; an interval needs 2")
    shrink = "shrinks" if acc.decreasing else "does not shrink"
    return Estimate.mean(largest, unit="%", detail=(
        f"mean over the {len(largest)} values of s at M = {acc.sizes[-1]}; the error {shrink} at every step of "
        f"M = {', '.join(map(str, acc.sizes))}"), method="t over runs")


def fig9_grid(rows) -> dict:
    """The sizes and the s grid of Fig. 9's rows (for its caption)."""
    s_grid = sorted({r["s"] for r in rows})
    return {"sizes": sorted({int(r["m"]) for r in rows}), "n_s": len(s_grid), "s_min": s_grid[0], "s_max": s_grid[-1]}


def fig9_facts(rows) -> dict:
    """The mean relative error of ``s_hat`` (eq. 3) at the smallest and the largest M."""
    e = s_error_by_size(rows, "eq3")["mean"]
    return {"tb-fig9-m-min": f"{e.index[0]}", "tb-fig9-err-min": f"{100 * e.iloc[0]:.1f} %",
            "tb-fig9-m-max": f"{e.index[-1]}", "tb-fig9-err-max": f"{100 * e.iloc[-1]:.2f} %"}


# --- chapter 1: the ESDs of a trained network (Fig. 1 analogue) ------------------------------------


def crosscheck_tables(layers):
    """Two DataFrames for the trained layers: the exponents of the four estimators, and the
    thresholds (x_min) each one chose."""
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


def heavy_and_light(layers) -> tuple[dict, dict]:
    """The most and the least heavy-tailed layers (smallest and largest PL_Alpha_Hill) among
    those with at least 50 eigenvalues."""
    usable = [L for L in layers if not L["too_few_eigs"] and L["alpha_hill"] is not None]
    if not usable:
        raise MissingResults("no layer with at least 50 eigenvalues")
    return min(usable, key=lambda L: L["alpha_hill"]), max(usable, key=lambda L: L["alpha_hill"])


def esd_training_facts(run: dict) -> dict:
    """How the network of ``tb-esd-fits`` trained: status, epochs, final train loss and test accuracy."""
    hist = run["data"]["train"]["history"]
    return {"tb-fig1-training": f"status {run['status']}; after {len(hist['epoch'])} epochs: train loss "
                                f"{hist['train_loss'][-1]:.3f}, test accuracy {hist['test_acc'][-1]:.3f}"}


def fig1_facts(layers) -> dict:
    """The most and the least heavy-tailed layers with their PL_Alpha_Hill."""
    heavy, light = heavy_and_light(layers)
    return {"tb-fig1-heavy": f"{heavy['name']} (alpha = {heavy['alpha_hill']:.2f})",
            "tb-fig1-light": f"{light['name']} (alpha = {light['alpha_hill']:.2f})"}


# --- chapter 2: the runs as a table ----------------------------------------------------------------


def runs_frame(records):
    """One row per training run of the ``tb-*`` experiments: its settings, status, final test
    accuracy and timings (``tb_share`` = seconds inside TempBalance / seconds of training)."""
    rows = []
    for r in records:
        c, d = r["config"], r.get("data") or {}
        train_s = d.get("train_seconds") or np.nan
        rows.append({
            "model": c["model"], "width": c["width"], "method": c["method"], "seed": c["seed"], "lr": c["lr"],
            "lambda_sr": c["lambda_sr"], "metric": c["metric"], "every": str(c["every"]) if c["every"] else None,
            "status": r["status"], "test_acc": d.get("final_test_acc", np.nan) if r["status"] == "ok" else np.nan,
            "train_seconds": train_s, "tb_seconds": d.get("tb_seconds", 0.0), "tb_calls": d.get("tb_calls", 0),
            "tb_share": d.get("tb_seconds", 0.0) / train_s,
        })
    return pd.DataFrame(rows)


def main_records(records, profile: str, methods=METHODS, arch: str | None = None) -> list[dict]:
    """The records at Fig. 3's main settings (:func:`~thermo.papers.tempbalance.configs.main_configs`),
    for ``methods`` and, if given, one architecture (a key of ``ARCHS``)."""
    wanted = {canonical_json(c) for c in configs.main_configs(profile, methods)
              if arch is None or c["model"] == ARCHS[profile][arch].model}
    return [r for r in records if canonical_json(r["config"]) in wanted]


def main_table(profile: str, records):
    """Fig. 3's finished runs at the main settings (every seed): one row per (arch, method, seed)."""
    rows = [{"model": r["config"]["model"], "method": r["config"]["method"], "seed": r["config"]["seed"],
             "lr": r["config"]["lr"], "lambda_sr": r["config"]["lambda_sr"], "test_acc": r["data"]["final_test_acc"]}
            for r in main_records(records, profile) if r["status"] == "ok"]
    return pd.DataFrame(rows, columns=["model", "method", "seed", "lr", "lambda_sr", "test_acc"])


def first_seed(profile: str) -> int:
    return SEEDS[profile][0]


# --- the paper's effects (its Tables 1 and 3-5) --------------------------------------------------

PAPER_EFFECTS = {
    "tb-cal": "TB - CAL over the 12 settings of the paper's Table 1",
    "tb-snr": "TB - SNR over the 12 settings of the paper's Table 1",
    "tbsnr-best": "TB+SNR - the best of CAL, SNR and TB over the 12 settings of the paper's Table 1",
    "lr-grid": "TB - CAL at 3 initial LRs x 4 models, the paper's Fig. 5 (its Table 3)",
    "width": "TB - CAL at 3 widths x 4 models, the paper's Fig. 6 (its Table 4)",
    "metric": "PL_Alpha_Hill - the better of SpectralNorm and AlphaWeighted at 3 LRs x 4 models, the paper's Fig. 7",
}


def paper_gains(name: str) -> np.ndarray:
    """The paper's gains (points of accuracy, one per setting) behind :data:`PAPER_EFFECTS` ``name``."""
    t1 = np.array(list(configs.PAPER_TABLE1.values()))  # columns CAL, SNR, TB, TB+SNR
    if name == "tb-cal":
        return t1[:, 2] - t1[:, 0]
    if name == "tb-snr":
        return t1[:, 2] - t1[:, 1]
    if name == "tbsnr-best":
        return t1[:, 3] - t1[:, :3].max(axis=1)
    if name in ("lr-grid", "width"):
        table = configs.PAPER_FIG5 if name == "lr-grid" else configs.PAPER_FIG6
        return np.concatenate([np.subtract(tb, cal) for cal, tb in table.values()])
    if name == "metric":
        return np.concatenate([np.subtract(hill, np.maximum(sn, aw)) for sn, aw, hill in configs.PAPER_FIG7.values()])
    raise MissingResults(f"no paper effect named {name!r}: choose one of {', '.join(PAPER_EFFECTS)}")


@dataclass(frozen=True)
class PaperEffect:
    """The paper's effect for a direction claim: the median of its gains (a fraction of accuracy,
    as our estimates), their range and count, and in how many settings the gain is positive."""

    median: float
    lo: float
    hi: float
    n: int
    positive: int
    what: str

    def text(self) -> str:
        return (f"+{100 * self.median:.3g} pt, the median of {self.what} ({100 * self.lo:+.2f} to "
                f"{100 * self.hi:+.2f} pt; positive in {self.positive} of {self.n}; 5 seeds each)")


def paper_effect(name: str) -> PaperEffect:
    g = np.round(paper_gains(name), 4)
    return PaperEffect(float(np.median(g)) / 100, float(g.min()) / 100, float(g.max()) / 100, int(g.size),
                       int((g > 0).sum()), PAPER_EFFECTS[name])


# --- comparisons as estimates ----------------------------------------------------------------------


def difference(a, b, what: str) -> Estimate:
    """The mean paired difference ``a - b`` (accuracy fractions, shown in points) with its 95 % t
    interval; MissingResults with fewer than two pairs."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size < 2:
        raise MissingResults(f"{a.size} pair(s) for {what}; an interval needs 2")
    return Estimate.paired(a, b, unit="pt", detail=what)


def estimate_text(e: Estimate, what: str = "pairs", power: bool = True) -> str:
    """``+0.12 pt [-0.40, +0.64] (95 %, 6 pairs; detects 0.90 pt with 80 % power)`` for the page
    (points with a sign and two decimals, percent with one, plain numbers with two)."""
    scale, unit, fmt = {"pt": (100.0, " pt", "+.2f"), "%": (100.0, " %", ".1f")}.get(e.unit, (1.0, "", ".2f"))
    tail = f"; detects {e.detectable() * scale:{fmt.lstrip('+')}}{unit} with 80 % power" if power else ""
    return (f"{e.value * scale:{fmt}}{unit} [{e.lo * scale:{fmt}}, {e.hi * scale:{fmt}}] (95 %, {e.n} {what}{tail})")


def method_difference(main, method: str, baseline: str) -> Estimate:
    """``method`` minus ``baseline`` at the main settings (:func:`main_table`), paired by model and seed."""
    both = paired(main, method, baseline)
    return difference(both[method], both[baseline], f"{method.upper()} - {baseline.upper()}, paired by model and seed")


def best_other_pairs(main, method: str = "tb+snr") -> pd.DataFrame:
    """``method`` against, per model, the other method with the best mean accuracy at the main
    settings (picked on the same runs, which favours the rival), paired by seed. Columns model,
    seed, rival, method, best."""
    rows = []
    means = main.groupby(["model", "method"]).test_acc.mean()
    for model, sub in main.groupby("model"):
        others = [m for m in means.loc[model].index if m != method]
        if method not in means.loc[model].index or not others:
            continue
        rival = max(others, key=lambda m: means.loc[(model, m)])
        both = paired(sub, method, rival).reset_index()
        rows += [{"model": model, "seed": r.seed, "rival": rival, "method": r[method], "best": r[rival]}
                 for _, r in both.iterrows()]
    return pd.DataFrame(rows, columns=["model", "seed", "rival", "method", "best"])


def best_other_difference(main, method: str = "tb+snr") -> Estimate:
    p = best_other_pairs(main, method)
    rivals = ", ".join(f"{m}: {r.upper()}" for m, r in p.groupby("model").rival.first().items())
    return difference(p["method"], p["best"], f"{method.upper()} - the best other method by mean ({rivals}; picked "
                                               "on the same runs, which favours the rival), paired by seed")


def compare_pairs(records, profile: str, cal_lr: dict) -> pd.DataFrame:
    """The powered TB vs CAL (``tb-vs-cal`` pooled with ``tb-fig3-main``): for every architecture
    and seed of ``COMPARE_SEEDS``, TB at the paper's eta_0 and CAL at its validated LR ``cal_lr``
    (by architecture), both finished. Columns model, seed, cal_lr, tb, cal."""
    acc = {canonical_json(r["config"]): r["data"]["final_test_acc"] for r in records if r["status"] == "ok"}
    rows = []
    for arch, a in ARCHS[profile].items():
        for seed in COMPARE_SEEDS[profile]:
            tb = acc.get(canonical_json(configs.point(profile, arch, "tb", seed)))
            cal = acc.get(canonical_json(configs.point(profile, arch, "cal", seed, lr=cal_lr[arch])))
            if tb is not None and cal is not None:
                rows.append({"model": a.model, "seed": seed, "cal_lr": cal_lr[arch], "tb": tb, "cal": cal})
    return pd.DataFrame(rows, columns=["model", "seed", "cal_lr", "tb", "cal"])


def validated_main(records, profile: str, cal_lr: dict, snr_lambda: dict) -> pd.DataFrame:
    """The four methods at validated settings for every architecture and seed of ``COMPARE_SEEDS``,
    finished runs only (``tb-fig3-main``, ``tb-vs-cal`` and ``tb-snr-val`` pooled): CAL at its validated
    LR ``cal_lr``, TB at the paper's eta_0, SNR and TB+SNR at SNR's validated lambda_sr ``snr_lambda``
    (by architecture). The columns of :func:`main_table`, so its comparisons apply unchanged."""
    acc = {canonical_json(r["config"]): r["data"]["final_test_acc"] for r in records if r["status"] == "ok"}
    rows = []
    for arch, a in ARCHS[profile].items():
        for seed in COMPARE_SEEDS[profile]:
            for method, extra in (("cal", {"lr": cal_lr[arch]}), ("tb", {}), ("snr", {"lambda_sr": snr_lambda[arch]}),
                                  ("tb+snr", {"lambda_sr": snr_lambda[arch]})):
                c = configs.point(profile, arch, method, seed, **extra)
                if canonical_json(c) in acc:
                    rows.append({"model": a.model, "method": method, "seed": seed, "lr": c["lr"],
                                 "lambda_sr": c["lambda_sr"], "test_acc": acc[canonical_json(c)]})
    return pd.DataFrame(rows, columns=["model", "method", "seed", "lr", "lambda_sr", "test_acc"])


def validated_settings(cal_lr: dict, snr_lambda: dict, profile: str) -> str:
    """``CAL's LR resnet20 0.15, vgg11 0.05; lambda_sr resnet20 0.1, vgg11 0.01`` (for a detail line)."""
    models = {arch: a.model for arch, a in ARCHS[profile].items()}
    return (f"CAL at its validated LR ({', '.join(f'{models[k]} {v:g}' for k, v in cal_lr.items())}), SNR and "
            f"TB+SNR at SNR's validated lambda_sr ({', '.join(f'{models[k]} {v:g}' for k, v in snr_lambda.items())})")


def compare_estimate(pairs) -> Estimate:
    lrs = ", ".join(f"{m} {lr:g}" for m, lr in pairs.groupby("model").cal_lr.first().items())
    return difference(pairs["tb"], pairs["cal"], f"TB at the paper's eta_0 - CAL at its validated LR ({lrs}), "
                                                 f"paired by model and seed")


def per_model_difference(main, method: str, baseline: str) -> str:
    """The mean paired difference ``method - baseline`` per model, in points (for the page)."""
    both = paired(main, method, baseline)
    if both.empty:
        return "n/a"
    d = (both[method] - both[baseline]).groupby(level="model").mean()
    return ", ".join(f"{m} {100 * v:+.2f} pt" for m, v in d.items())


def fig3_estimates(main) -> dict:
    """The three-seed comparisons of the main settings: TB, SNR and TB+SNR against CAL, TB against
    SNR and TB+SNR against the best other method (None where fewer than two pairs)."""
    out = {}
    for key, make in (("tb-cal", lambda: method_difference(main, "tb", "cal")),
                      ("snr-cal", lambda: method_difference(main, "snr", "cal")),
                      ("tbsnr-cal", lambda: method_difference(main, "tb+snr", "cal")),
                      ("tb-snr", lambda: method_difference(main, "tb", "snr")),
                      ("tbsnr-best", lambda: best_other_difference(main))):
        try:
            out[key] = make()
        except MissingResults:
            out[key] = None
    return out


# --- chapter 2: the plan of eq. 2 ------------------------------------------------------------------


def tuning_plan(profile: str, arch: str = "resnet") -> pd.DataFrame:
    """TempBalance's plan (:meth:`thermo.tempbalance.TempBalance.plan`) for the chapter's network at
    initialization (seed 0): every weight layer, whether eq. 2 tunes it, and why not."""
    a, spec = ARCHS[profile][arch], data.spec(configs.DATA[profile].dataset)
    torch.manual_seed(0)
    model = models.build(a.model, spec.in_shape, spec.num_classes, width=a.width)
    return pd.DataFrame(TempBalance(model).plan())


def plan_facts(plan: pd.DataFrame) -> dict:
    return {"tb2-n-tuned": f"{int(plan.tuned.sum())} of {len(plan)}"}


# --- chapter 2: Fig. 3 / Table 1 -------------------------------------------------------------------


def method_summary(frame, by=("model", "method")):
    """Mean, standard deviation (ddof 1) and count of the test accuracy per group, in percent."""
    g = frame.dropna(subset=["test_acc"]).groupby(list(by)).test_acc
    out = g.agg(["mean", "std", "count"]).reset_index()
    out[["mean", "std"]] *= 100
    return out.rename(columns={"mean": "test acc (%)", "std": "std (pt)", "count": "seeds"})


def paired(frame, other: str, baseline: str = "cal", column: str = "method", pair_on=("model", "seed")):
    """The test accuracies of ``other`` and ``baseline`` (two columns) matched on ``pair_on``;
    pairs with a missing side dropped."""
    pivot = frame.pivot_table(index=list(pair_on), columns=column, values="test_acc")
    if other not in pivot.columns or baseline not in pivot.columns:
        return pd.DataFrame(columns=[other, baseline])
    return pivot[[other, baseline]].dropna()


def paired_against(frame, baseline: str = "cal", column: str = "method", pair_on=("model", "seed")):
    """For every value of ``column`` other than ``baseline``: the mean paired difference of test
    accuracy against the baseline (pairs matched on ``pair_on``), its 95 % t interval and n, in
    points. A group with fewer than two pairs gets its mean and no interval."""
    rows = []
    for other in sorted(set(frame[column].dropna()) - {baseline}):
        both = paired(frame, other, baseline, column, pair_on)
        if both.empty:
            continue
        diff = 100 * float((both[other] - both[baseline]).mean())
        row = {column: other, "vs": baseline, "pairs": len(both), "mean diff (pt)": diff, "CI low": np.nan,
               "CI high": np.nan}
        if len(both) >= 2:
            d = stats.paired_difference(both[other], both[baseline])
            row["mean diff (pt)"], row["CI low"], row["CI high"] = (100 * v for v in (d.mean, *d.interval))
        rows.append(row)
    return pd.DataFrame(rows, columns=[column, "vs", "pairs", "mean diff (pt)", "CI low", "CI high"])


def tuning_grid(runs: pd.DataFrame, profile: str) -> pd.DataFrame:
    """The runs of the first seed (the tuning grids of CAL's initial LR and SNR's lambda_sr)."""
    return runs[runs.seed == first_seed(profile)]


def _snr_choice(runs: pd.DataFrame, profile: str) -> str:
    """Where SNR's lambda_sr (the paper's Table 1 choice) ranks on the first seed's test accuracies."""
    grid = tuning_grid(runs, profile)
    out = []
    for a in ARCHS[profile].values():
        g = grid[(grid.model == a.model) & (grid.method == "snr")].dropna(subset=["test_acc"])
        if g.empty:
            continue
        rank = int((g.test_acc > g[g.lambda_sr == a.snr_best].test_acc.max()).sum()) + 1
        out.append(f"{a.model} {a.snr_best:g}: rank {rank} of {len(g)}")
    return "; ".join(out) or "n/a"


def fig3_facts(profile: str, records) -> dict:
    """TB, SNR and TB+SNR against CAL, TB against SNR and TB+SNR against the best other method
    (paired by model and seed, with interval and detectable effect), the paper's effects, CAL's
    seed spread, the spread of its learning-rate grid on the first seed and where SNR's lambda_sr
    ranks on that seed."""
    runs, main = runs_frame(records), main_table(profile, records)
    est = fig3_estimates(main)
    sd = method_summary(main).query("method == 'cal'")["std (pt)"]
    grid = tuning_grid(runs, profile)
    spread = grid[grid.method == "cal"].groupby("model").test_acc
    e = est["tb-cal"]

    def text(key: str) -> str:
        return estimate_text(est[key]) if est[key] is not None else "not measurable (fewer than two pairs)"

    facts = {
        "tb2-tb-cal": text("tb-cal"), "tb2-snr-cal": text("snr-cal"), "tb2-tbsnr-cal": text("tbsnr-cal"),
        "tb2-tb-snr": text("tb-snr"), "tb2-tbsnr-best": text("tbsnr-best"),
        "tb2-fig3-runs": f"{len(runs)} runs ({(runs.status == 'ok').sum()} ok)",
        "tb2-tb-cal-detect": f"{100 * e.detectable():.2f} pt" if e is not None else "n/a",
        "tb2-first-seed": f"{first_seed(profile)}",
        "tb2-cal-grid-spread": ", ".join(f"{m} {100 * (g.max() - g.min()):.2f} pt" for m, g in spread),
        "tb2-cal-sd": f"{sd.min():.2f} to {sd.max():.2f} pt" if sd.notna().any() else "n/a",
        "tb2-snr-choice": _snr_choice(runs, profile),
        "tb2-tb-snr-per-model": per_model_difference(main, "tb", "snr"),
        **compare_design_facts(profile, e),
    }
    paper = {k: paper_effect(k) for k in PAPER_EFFECTS}
    for k, key in (("tb-cal", "tb2-paper-tb-cal"), ("tb-snr", "tb2-paper-tb-snr"),
                   ("tbsnr-best", "tb2-paper-tbsnr-best"), ("lr-grid", "tb2-paper-lr-grid"),
                   ("width", "tb2-paper-width"), ("metric", "tb2-paper-metric")):
        facts[key] = f"+{100 * paper[k].median:.3g} pt"
    facts["tb2-paper-tb-cal-range"] = f"{100 * paper['tb-cal'].lo:+.2f} to {100 * paper['tb-cal'].hi:+.2f} pt"
    facts["tb2-paper-tb-snr-wins"] = f"{paper['tb-snr'].positive} of {paper['tb-snr'].n}"
    return facts


def compare_design_facts(profile: str, pilot: Estimate | None) -> dict:
    """The design of the powered TB vs CAL (``tb-vs-cal``): seeds per model, pairs, and the
    effect it should detect with 80 % power if its pairs spread like the ``pilot``'s (the
    three-seed comparison): ``(t_0.975 + t_0.8) sd / sqrt(n)`` with n - 1 degrees of freedom."""
    from scipy import stats as st

    seeds, n = len(COMPARE_SEEDS[profile]), len(COMPARE_SEEDS[profile]) * len(ARCHS[profile])
    out = {"tb2-compare-seeds": f"{seeds}", "tb2-compare-pairs": f"{n}", "tb2-compare-detect": "n/a"}
    if pilot is not None and pilot.se is not None and n >= 2:
        sd = pilot.se * np.sqrt(pilot.n)
        out["tb2-compare-detect"] = f"{100 * (st.t.ppf(0.975, n - 1) + st.t.ppf(0.8, n - 1)) * sd / np.sqrt(n):.2f} pt"
    return out


# --- chapter 2: the factors TB chose (Algorithm 1, eq. 2) -------------------------------------------


def natural_key(name: str):
    """Sort module names by their numbers: ``features.4`` before ``features.11``."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def first_seed_tb_runs(records, profile: str) -> list[dict]:
    """The finished TB runs of the first seed (one per model)."""
    return [r for r in records if r["config"]["method"] == "tb" and r["config"]["seed"] == first_seed(profile)
            and r["status"] == "ok"]


def scale_grid(record) -> tuple[list[str], np.ndarray]:
    """The learning-rate factors TB set in one run: layer names in network order (the store sorts
    keys as text) and the grid, one row per layer, one column per evaluation."""
    scales = record["data"]["history"]["tb_scale"]
    layers = sorted(scales[0], key=natural_key)
    return layers, np.array([[row[L] for row in scales] for L in layers])


def _rank_correlations(grid: np.ndarray) -> list[float]:
    """Spearman's correlation of the factors between consecutive evaluations."""
    from scipy.stats import spearmanr

    return [float(spearmanr(grid[:, i], grid[:, i + 1]).statistic) for i in range(grid.shape[1] - 1)]


def _top_layer(record) -> str:
    """The layer with the highest mean factor over training, its channels and that factor."""
    c = record["config"]
    spec = data.spec(c["dataset"])
    net = models.build(c["model"], spec.in_shape, spec.num_classes, width=c["width"])
    shapes = {name: tuple(m.weight.shape[:2]) for name, m in htsr.weight_layers(net)}
    mean_factor = pd.DataFrame(record["data"]["history"]["tb_scale"]).mean()
    name = mean_factor.idxmax()
    out, inp = shapes[name]
    return f"{c['model']}: {name} ({out} out, {inp} in channels, mean factor {mean_factor.max():.2f})"


def scale_facts(tb_runs) -> dict:
    """The spread of the factors across layers (standard deviation, averaged over evaluations, per
    run), how stable their ranking is (rank correlation between consecutive evaluations, the first
    three and the last three) and the layer each network favoured."""
    spans, early, late = [], [], []
    for rec in tb_runs:
        grid = scale_grid(rec)[1]
        spans.append(float(np.mean(np.std(grid, axis=0))))
        rho = _rank_correlations(grid)
        early += rho[:3]
        late += rho[-3:]
    return {"tb2-scale-spread": f"{min(spans):.2f} to {max(spans):.2f}" if spans else "n/a",
            "tb2-top-layers": "; ".join(_top_layer(rec) for rec in tb_runs),
            "tb2-rank-early": f"{np.mean(early):.2f}" if early else "n/a",
            "tb2-rank-late": f"{np.mean(late):.2f}" if late else "n/a"}


# --- chapter 2: Fig. 5, over the initial learning rate ---------------------------------------------


def lr_grid_records(main: list[dict], lr_runs: list[dict], profile: str) -> list[dict]:
    """Fig. 5's records: the TB and CAL runs of ``tb-fig3-main`` on the first seed (CAL's grid, TB's
    main run) and TB at the other initial LRs (``tb-fig5-lr``)."""
    return [r for r in main if r["config"]["seed"] == first_seed(profile) and r["config"]["method"] in ("cal", "tb")
            ] + list(lr_runs)


def lr_grid_frame(records) -> pd.DataFrame:
    """The TB and CAL runs of :func:`lr_grid_records` as a :func:`runs_frame`."""
    f = runs_frame(records)
    return f[f.lambda_sr.isna() & f.method.isin(["cal", "tb"])]


def lr_grid_pairs(frame) -> pd.DataFrame:
    """TB and CAL test accuracy at every (model, initial LR) both ran. Columns model, lr, cal, tb."""
    p = frame.pivot_table(index=["model", "lr"], columns="method", values="test_acc")
    if not {"cal", "tb"} <= set(p.columns):
        return pd.DataFrame(columns=["model", "lr", "cal", "tb"])
    return p[["cal", "tb"]].dropna().reset_index()


def lr_grid_table(pairs) -> pd.DataFrame:
    """:func:`lr_grid_pairs` in percent, indexed by model and LR."""
    return pairs.set_index(["model", "lr"])[["cal", "tb"]] * 100


def lr_facts(pairs) -> dict:
    """In how many (model, LR) points TB is above CAL, and the pooled difference (:func:`lr_grid_estimate`)."""
    facts = {"tb2-lr-wins": f"{int((pairs['tb'] > pairs['cal']).sum())} of {len(pairs)}"}
    facts["tb2-lr-diff"] = _estimate_or(lambda: lr_grid_estimate(pairs), "points")
    return facts


def _estimate_or(make, what: str = "pairs", missing: str = "not measurable (fewer than two pairs)") -> str:
    try:
        return estimate_text(make(), what)
    except MissingResults:
        return missing


def lr_grid_estimate(pairs) -> Estimate:
    """Fig. 5: TB - CAL pooled over the (model, initial LR) points of :func:`lr_grid_pairs`."""
    return difference(pairs["tb"], pairs["cal"], f"TB - CAL at {len(pairs)} (model, initial LR) points, one seed each")


# --- chapter 2: Fig. 6, over the width -------------------------------------------------------------


def width_records(main: list[dict], width_runs: list[dict], profile: str) -> list[dict]:
    """Fig. 6's records: ``tb-fig6-width`` and the main ResNet runs (TB and CAL at the paper's
    eta_0) of the same seeds, the middle width."""
    seeds = {r["config"]["seed"] for r in width_runs}
    middle = [r for r in main_records(main, profile, ("cal", "tb"), "resnet") if r["config"]["seed"] in seeds]
    return list(width_runs) + middle


def width_frame(records) -> pd.DataFrame:
    return runs_frame(records)


def width_pairs(frame) -> pd.DataFrame:
    """TB and CAL paired by width and seed. Columns width, seed, cal, tb."""
    p = frame[frame.method.isin(["cal", "tb"])].pivot_table(index=["width", "seed"], columns="method",
                                                            values="test_acc")
    if not {"cal", "tb"} <= set(p.columns):
        return pd.DataFrame(columns=["width", "seed", "cal", "tb"])
    return p[["cal", "tb"]].dropna().reset_index()


def width_table(pairs) -> pd.DataFrame:
    """:func:`width_pairs` indexed by width and seed, with TB - CAL in points."""
    t = pairs.set_index(["width", "seed"])[["cal", "tb"]]
    return t.assign(**{"TB - CAL (pt)": (t["tb"] - t["cal"]) * 100})


def width_facts(pairs) -> dict:
    mean = width_table(pairs).groupby(level="width")["TB - CAL (pt)"].mean()
    return {"tb2-width-diff": ", ".join(f"{d:+.2f} pt at {w:g}" for w, d in mean.items())}


def width_pooled_facts(pairs) -> dict:
    """The pooled TB - CAL over widths and seeds (:func:`width_estimate`)."""
    return {"tb2-width-pooled": _estimate_or(lambda: width_estimate(pairs))}


def width_estimate(pairs) -> Estimate:
    """Fig. 6: TB - CAL pooled over the (width, seed) pairs of :func:`width_pairs`, with the mean
    per width in the detail."""
    if pairs.width.nunique() < 2:
        raise MissingResults("Fig. 6 needs runs at more than one width")
    per_width = width_facts(pairs)["tb2-width-diff"]
    return difference(pairs["tb"], pairs["cal"], f"TB - CAL at {pairs.width.nunique()} widths x "
                                                 f"{pairs.seed.nunique()} seeds (mean per width: {per_width})")


# --- chapter 2: Fig. 7, which metric ---------------------------------------------------------------

DRIVERS = ("CAL", "alpha_hill", "spectral_norm", "alpha_weighted")


def metric_records(main: list[dict], metric_runs: list[dict], profile: str) -> list[dict]:
    """Fig. 7's records: ``tb-fig7-metric``'s runs, and TB (alpha_hill) and CAL at the main settings
    (the ResNet, every seed) from ``tb-fig3-main``."""
    return list(metric_runs) + main_records(main, profile, ("cal", "tb"), "resnet")


def metric_frame(records) -> pd.DataFrame:
    """:func:`runs_frame` with a ``driver`` column: ``CAL`` or the metric that drove TB."""
    f = runs_frame(records)
    return f.assign(driver=np.where(f.method == "cal", "CAL", f.metric))


def metric_table(frame) -> pd.DataFrame:
    """Mean and standard deviation (percent) and count of the test accuracy per driver."""
    g = frame.groupby("driver").test_acc.agg(["mean", "std", "count"]).reindex(list(DRIVERS))
    return g * [100, 100, 1]


def metric_pairs(frame) -> pd.DataFrame:
    """Test accuracy per seed (rows) and driver (columns)."""
    return frame.pivot_table(index="seed", columns="driver", values="test_acc").reset_index()


def best_other_metric(pairs) -> str | None:
    """The metric of the paper's Fig. 7 other than PL_Alpha_Hill with the best mean accuracy (None
    without one)."""
    others = [m for m in FIG7_METRICS if m in pairs.columns]
    return max(others, key=lambda m: pairs[m].mean()) if others else None


def metric_facts(frame) -> dict:
    """The driver with the best mean accuracy, and PL_Alpha_Hill against the better other metric
    (:func:`metric_estimate`)."""
    means = metric_table(frame)["mean"].drop("CAL")
    return {"tb2-metric-best": str(means.idxmax()) if means.notna().any() else "n/a",
            "tb2-metric-diff": _estimate_or(lambda: metric_estimate(metric_pairs(frame)), "seeds")}


def metric_estimate(pairs) -> Estimate:
    """Fig. 7: TB driven by PL_Alpha_Hill minus TB driven by the better other metric (picked by its
    mean on the same runs, which favours the rival), paired by seed."""
    best = best_other_metric(pairs)
    if "alpha_hill" not in pairs.columns or best is None:
        raise MissingResults("Fig. 7 needs TB runs with alpha_hill and another metric")
    both = pairs[["alpha_hill", best]].dropna()
    return difference(both["alpha_hill"], both[best], f"alpha_hill - the better other metric by mean ({best}), "
                                                      "paired by seed")


# --- chapter 2: Figs. 10-11, the final alphas ------------------------------------------------------


def final_alphas(records) -> list[dict]:
    """Figs. 10-11: every layer's final PL_Alpha_Hill, with the run's model, method and seed."""
    return [{"model": r["config"]["model"], "method": r["config"]["method"], "seed": r["config"]["seed"],
             "layer": L["name"], "alpha": L["alpha_hill"]}
            for r in records if r["status"] == "ok" for L in r["data"].get("layers", [])
            if np.isfinite(L["alpha_hill"])]


def main_alphas(records, profile: str) -> pd.DataFrame:
    """:func:`final_alphas` of TB and CAL at the main settings, as a DataFrame."""
    return pd.DataFrame(final_alphas(main_records(records, profile, ("cal", "tb"))),
                        columns=["model", "method", "seed", "layer", "alpha"])


def alpha_summary(alphas):
    """Per (model, method): layers, mean, median and standard deviation of the final
    PL_Alpha_Hill, and the mean distance to 2 (Figs. 10-11)."""
    g = alphas.assign(dist2=(alphas.alpha - 2).abs()).groupby(["model", "method"])
    return g.agg(layers=("alpha", "size"), mean=("alpha", "mean"), median=("alpha", "median"),
                 std=("alpha", "std"), mean_distance_to_2=("dist2", "mean")).reset_index()


def alpha_spread_pairs(records, profile: str):
    """Figs. 10-11: standard deviation over layers of the final PL_Alpha_Hill, per model and seed,
    for TB and CAL at the main settings. Columns model, seed, cal, tb."""
    a = main_alphas(records, profile)
    if a.empty:
        raise MissingResults("no final alphas cached")
    spread = a.groupby(["model", "seed", "method"]).alpha.std().unstack("method")
    return spread.dropna().reset_index()


def alpha_facts(records, profile: str) -> dict:
    """The mean distance of the final alphas to 2 per model and method, and in how many (model,
    seed) pairs TB's alphas spread less than CAL's."""
    dist = alpha_summary(main_alphas(records, profile)).pivot_table(index="model", columns="method",
                                                                    values="mean_distance_to_2")
    spread = alpha_spread_pairs(records, profile)
    both = {"cal", "tb"} <= set(spread.columns) and len(spread) > 1
    return {"tb2-narrow-all": _estimate_or(lambda: alpha_spread_estimate(spread)),
            "tb2-dist2": ", ".join(f"{m} {r['cal']:.3f} (CAL) and {r['tb']:.3f} (TB)" for m, r in dist.iterrows())
            if {"cal", "tb"} <= set(dist.columns) else "n/a",
            "tb2-alpha-narrower": f"{int((spread['tb'] < spread['cal']).sum())} of {len(spread)}" if both
            else "n/a (smoke profile)"}


def alpha_spread_estimate(spread) -> Estimate:
    """Figs. 10-11: how much narrower TB leaves the layers' final alphas than CAL, ``1 - sd_TB /
    sd_CAL`` (the standard deviation over layers) per (model, seed) pair, mean and t interval."""
    if not {"cal", "tb"} <= set(spread.columns) or len(spread) < 2:
        raise MissingResults("needs TB and CAL runs of at least two (model, seed) pairs")
    return Estimate.mean(1 - spread["tb"] / spread["cal"], unit="%", method="paired t over seeds",
                         detail="1 - (std over layers of the final alpha under TB) / (the same under CAL), per "
                                "(model, seed) pair")


# --- chapter 2: the cost of balancing --------------------------------------------------------------

BALANCING = ("none (CAL)", "every epoch", "every 100 steps", "every 10 steps")


def cost_records(main: list[dict], every_runs: list[dict], profile: str) -> list[dict]:
    """TB every epoch (the main ResNet runs), every 100 and 10 steps (``tb-every``) and CAL, for
    the seeds of ``tb-every``."""
    seeds = {r["config"]["seed"] for r in every_runs}
    pick = [r for r in main_records(main, profile, ("cal", "tb"), "resnet") if r["config"]["seed"] in seeds]
    return [r for r in pick if r["config"]["method"] == "tb"] + list(every_runs) + \
        [r for r in pick if r["config"]["method"] == "cal"]


def cost_frame(records) -> pd.DataFrame:
    """:func:`runs_frame` with a ``balancing`` column (how often TB balanced, or none for CAL)."""
    f = runs_frame(records)
    label = np.where(f.every == "epoch", "every epoch", "every " + f.every.astype(str) + " steps")
    return f.assign(balancing=np.where(f.method == "cal", "none (CAL)", label))


def cost_table(frame) -> pd.DataFrame:
    """Per balancing frequency: runs, mean calls, seconds inside TB, seconds of training, their
    ratio, test accuracy, and seconds per call."""
    t = frame.groupby("balancing").agg(runs=("seed", "size"), calls=("tb_calls", "mean"),
                                       tb_seconds=("tb_seconds", "mean"), train_seconds=("train_seconds", "mean"),
                                       share=("tb_share", "mean"), test_acc=("test_acc", "mean"))
    t = t.loc[[k for k in BALANCING if k in t.index]]
    return t.assign(**{"seconds per call": t.tb_seconds / t.calls.replace(0, np.nan)})


def tb_share(records) -> pd.DataFrame:
    """The finished TB and TB+SNR runs (balancing once per epoch) with their share of training
    time spent balancing (``tb_share``)."""
    t = runs_frame(records)
    if t.empty:
        return t
    return t[t.method.isin(["tb", "tb+snr"]) & (t.status == "ok")]


def cost_facts(main: list[dict], table: pd.DataFrame) -> dict:
    """The largest share over the main TB runs, the mean seconds per call, and the share every
    10 steps."""
    t = tb_share(main)
    share10 = table.share.get("every 10 steps", np.nan)
    return {"tb2-share-epoch": f"{100 * t.tb_share.max():.2g} %",
            "tb2-call-seconds": f"{1000 * t.tb_seconds.sum() / max(1, t.tb_calls.sum()):.1f} ms",
            "tb2-share-10": f"{100 * share10:.2g} %"}


def overhead_estimate(records) -> Estimate:
    """Sec. 5: the share of training time spent balancing once per epoch, mean over the finished
    TB and TB+SNR runs (:func:`tb_share`) with its t interval."""
    t = tb_share(records)
    if len(t) < 2:
        raise MissingResults(f"{len(t)} finished TB run(s); an interval needs 2")
    return Estimate.mean(t.tb_share, unit="%", detail=f"mean over {len(t)} TB and TB+SNR runs balancing every "
                                                      f"epoch; largest {100 * t.tb_share.max():.2g} %")


# --- beyond the paper: how much of the ranking is shape ---------------------------------------------


def layer_shapes(profile: str) -> dict:
    """``{(model, layer): weight shape}`` for the profile's networks (built, not trained)."""
    spec = data.spec(configs.DATA[profile].dataset)
    out = {}
    for a in ARCHS[profile].values():
        net = models.build(a.model, spec.in_shape, spec.num_classes, width=a.width)
        out.update({(a.model, name): tuple(m.weight.shape) for name, m in htsr.weight_layers(net)})
    return out


def with_baselines(alphas, profile: str) -> pd.DataFrame:
    """:func:`main_alphas` with each layer's weight ``shape``, whether it is ``square`` (out = in
    channels), its random-matrix ``baseline`` (:func:`thermo.htsr.random_alpha`: what the shape
    alone scores) and the ``excess`` of its final alpha over it."""
    shapes = layer_shapes(profile)
    unknown = sorted({(m, layer) for m, layer in zip(alphas.model, alphas.layer)} - set(shapes))
    if unknown:
        raise MissingResults(f"layers not in the {profile} profile's networks: {unknown[:3]}")
    shape = [shapes[(m, layer)] for m, layer in zip(alphas.model, alphas.layer)]
    base = [htsr.random_alpha(sh) for sh in shape]
    return alphas.assign(shape=shape, square=[sh[0] == sh[1] for sh in shape], baseline=base,
                         excess=alphas.alpha.to_numpy() - np.asarray(base, dtype=float))


def baseline_table(ab) -> pd.DataFrame:
    """Per (model, layer), in network order: the weight shape, whether it is square, the
    random-matrix baseline, and the final alpha and its excess over the baseline under CAL and TB, mean over seeds."""
    g = ab.groupby(["model", "layer", "method"]).agg(shape=("shape", "first"), square=("square", "first"),
                                                     baseline=("baseline", "first"), alpha=("alpha", "mean"),
                                                     excess=("excess", "mean"))
    t = g.unstack("method")
    out = pd.DataFrame({"shape": t["shape"].bfill(axis=1).iloc[:, 0].astype(str),
                        "square": t["square"].bfill(axis=1).iloc[:, 0].astype(bool),
                        "random alpha": t["baseline"].bfill(axis=1).iloc[:, 0]})
    for m in ("cal", "tb"):
        if ("alpha", m) in t.columns:
            out[f"alpha, {m.upper()}"] = t[("alpha", m)]
            out[f"excess, {m.upper()}"] = t[("excess", m)]
    order = sorted(out.index, key=lambda ix: (ix[0], natural_key(ix[1])))
    return out.loc[order]


def shape_shares(ab) -> pd.DataFrame:
    """Per run (model, method, seed): the share of the variance of the final alpha across layers
    that the random-matrix baseline explains (the squared correlation of the two over layers)."""
    rows = []
    for (model, method, seed), g in ab.groupby(["model", "method", "seed"]):
        if len(g) >= 3 and g.baseline.std() > 0 and g.alpha.std() > 0:
            rows.append({"model": model, "method": method, "seed": seed,
                         "share": float(np.corrcoef(g.alpha, g.baseline)[0, 1] ** 2)})
    return pd.DataFrame(rows, columns=["model", "method", "seed", "share"])


def shape_share_estimate(ab) -> Estimate:
    """The mean over runs of :func:`shape_shares`, with its t interval over runs."""
    sh = shape_shares(ab)
    if len(sh) < 2:
        raise MissingResults(f"{len(sh)} run(s) with layers of more than one shape; an interval needs 2")
    return Estimate.mean(sh.share, unit="%", detail=f"{len(sh)} runs (models x methods x seeds)")


def _mean_ci(values) -> str:
    e = Estimate.mean(values)
    return f"{e.value:+.2f} [{e.lo:+.2f}, {e.hi:+.2f}]"


def shape_facts(ab) -> dict:
    """The random alpha of the square and the channel-doubling shapes, the share of the spread of
    the final alphas their shapes explain, how far training moved each kind of layer below its
    baseline under CAL and TB (mean excess per run, 95 % t interval over runs) and TB minus CAL
    of that excess (paired by model and seed), and the narrowing of the spread with shape held
    fixed (:func:`spread_estimates`)."""
    base = ab.drop_duplicates("shape")
    sq, rect = base[base.square].baseline, base[~base.square].baseline
    per_run = ab.groupby(["model", "method", "seed", "square"]).excess.mean().reset_index()
    facts = {"tb2-random-square": f"{sq.min():.2f} to {sq.max():.2f}" if len(sq) else "n/a",
             "tb2-random-rect": f"{rect.min():.2f} to {rect.max():.2f}" if len(rect) else "n/a"}
    try:
        facts["tb2-shape-share"] = estimate_text(shape_share_estimate(ab), "runs", power=False)
    except MissingResults:
        facts["tb2-shape-share"] = "not measurable (fewer than two runs)"
    narrow = spread_estimates(ab)
    facts["tb2-narrow-square"] = estimate_text(narrow["square"]) if narrow["square"] is not None else "n/a"
    facts["tb2-narrow-excess"] = estimate_text(narrow["excess"]) if narrow["excess"] is not None else "n/a"
    keys = {True: ("tb2-excess-square-cal", "tb2-excess-square-tb", "tb2-excess-square-diff"),
            False: ("tb2-excess-rect-cal", "tb2-excess-rect-tb", "tb2-excess-rect-diff")}
    for sq_flag, (cal_key, tb_key, diff_key) in keys.items():
        kind = per_run[per_run.square == sq_flag]
        for m, key in (("cal", cal_key), ("tb", tb_key)):
            v = kind[kind.method == m].excess
            facts[key] = _mean_ci(v) if len(v) >= 2 else "n/a"
        both = kind.pivot_table(index=["model", "seed"], columns="method", values="excess")
        both = both.dropna() if {"cal", "tb"} <= set(both.columns) else both.iloc[:0]
        facts[diff_key] = _mean_ci_paired(both["tb"], both["cal"]) if len(both) >= 2 else "n/a"
    return facts


def _mean_ci_paired(a, b) -> str:
    e = Estimate.paired(a, b)
    return f"{e.value:+.2f} [{e.lo:+.2f}, {e.hi:+.2f}] (95 %, {e.n} pairs)"


def spread_estimates(ab) -> dict:
    """How much narrower TB leaves the final alphas than CAL (as :func:`alpha_spread_estimate`) with
    shape held fixed: among the square layers only (one random alpha, about 2.1, for all of them),
    and for the excess over each layer's random alpha."""
    out = {}
    for key, frame, col in (("square", ab[ab.square], "alpha"), ("excess", ab, "excess")):
        spread = frame.groupby(["model", "seed", "method"])[col].std().unstack("method").dropna().reset_index()
        try:
            out[key] = alpha_spread_estimate(spread)
        except MissingResults:
            out[key] = None
    return out


def excess_pairs(records, profile: str, cal_lr: dict) -> pd.DataFrame:
    """``tb-excess`` beside TB on PL_Alpha_Hill and CAL at its validated LR (``tb-vs-cal`` and
    ``tb-fig3-main``), for every architecture and seed of ``COMPARE_SEEDS`` where all three
    finished. Columns model, seed, cal, alpha_hill, alpha_excess."""
    acc = {canonical_json(r["config"]): r["data"]["final_test_acc"] for r in records if r["status"] == "ok"}
    rows = []
    for arch, a in ARCHS[profile].items():
        for seed in COMPARE_SEEDS[profile]:
            got = {"cal": acc.get(canonical_json(configs.point(profile, arch, "cal", seed, lr=cal_lr[arch]))),
                   "alpha_hill": acc.get(canonical_json(configs.point(profile, arch, "tb", seed))),
                   "alpha_excess": acc.get(canonical_json(configs.point(profile, arch, "tb", seed,
                                                                         metric="alpha_excess")))}
            if None not in got.values():
                rows.append({"model": a.model, "seed": seed, **got})
    return pd.DataFrame(rows, columns=["model", "seed", "cal", "alpha_hill", "alpha_excess"])


def excess_estimate(pairs) -> Estimate:
    """TB on ``alpha_excess`` minus TB on PL_Alpha_Hill, paired by model and seed."""
    return difference(pairs["alpha_excess"], pairs["alpha_hill"],
                      "TB on alpha - random alpha minus TB on alpha, paired by model and seed")


def validated_facts(table) -> dict[str, str]:
    """SNR and TB+SNR against CAL and each other at the validated settings (``table``:
    :func:`validated_main`; ``None`` while its runs are missing), paired by model and seed."""
    keys = {"tb2-val-snr-cal": ("snr", "cal"), "tb2-val-tbsnr-cal": ("tb+snr", "cal"),
            "tb2-val-tbsnr-snr": ("tb+snr", "snr")}
    if table is None:
        return dict.fromkeys(keys, "not measured yet (tb-snr-val is not all cached)")
    out = {}
    for key, (a, b) in keys.items():
        e = method_difference(table, a, b)
        out[key] = f"{e.text()} (n = {e.n} pairs, detects {100 * e.detectable():.2g} pt)"
    return out


POWERED = {"tb-beats-cal": "TB − CAL", "tb-beats-snr": "TB − SNR", "tb-snr-best": "TB+SNR − best other",
           "tb-excess": "TB on excess − TB on α"}  # the powered comparisons, by claim id, as figure titles


def powered_pairs(cal_pairs, table=None, excess=None) -> pd.DataFrame:
    """Every pair behind the powered comparisons (:data:`POWERED`), one row each: the claim id
    ``comparison``, model, seed and ``diff`` (accuracy fraction). ``cal_pairs`` from
    :func:`compare_pairs` (``None``: CAL's validated runs are missing); ``table`` the four methods
    (:func:`validated_main`, or :func:`main_table` while SNR's validated runs are missing); ``excess``
    from :func:`excess_pairs`. A missing input (``None``) or a comparison with no pair contributes no rows."""
    rows = [] if cal_pairs is None else [("tb-beats-cal", r.model, r.seed, r.tb - r.cal)
                                         for r in cal_pairs.itertuples()]
    if table is not None and not table.empty:
        both = paired(table, "tb", "snr").reset_index()
        rows += [("tb-beats-snr", r["model"], r["seed"], r["tb"] - r["snr"]) for _, r in both.iterrows()]
        rows += [("tb-snr-best", r.model, r.seed, r.method - r.best) for r in best_other_pairs(table).itertuples()]
    if excess is not None:
        rows += [("tb-excess", r.model, r.seed, r.alpha_excess - r.alpha_hill) for r in excess.itertuples()]
    return pd.DataFrame(rows, columns=["comparison", "model", "seed", "diff"])


# --- the paper profile ----------------------------------------------------------------------------


def paper_facts(paper_configs) -> dict:
    return {"tb2-paper-runs": f"{len(paper_configs)} runs in the paper profile of tb-fig3-main"}


def config_table(config: dict) -> pd.DataFrame:
    """One config as a two-column table (setting, value), for the page."""
    return pd.DataFrame({"setting": list(config), "value": [str(v) for v in config.values()]})

"""Records -> tables and named facts for the L2 chapter
(``notebooks/l2-regularization/01-l2-and-the-learning-rate``): the single source of every number
the chapter states and every claim of :mod:`thermo.papers.l2.claims` measures.

Lewkowycz and Gur-Ari (2020), supplement: the law t* ~ c / (eta lambda) (Fig. 2a-c; the chapter's
eq. ``eq-l2-tstar``) and its failure on a narrow network (Fig. S7), the lambda for a budget,
lambda = c / (eta T) (Figs. 1b, S3; ``eq-l2-lambda-pred``), AutoL2 against fixed lambda (Algorithm
1, Figs. S9, S11), Theorem 1's kernel decay exp(-2 (k - 1) lambda t) and eq. 1 against a trained
network (Fig. 5), and AutoL2 against the fixed lambda picked on a validation split
(``l2-autol2-val``). Tables are pandas DataFrames; a ``*_facts`` function returns ``{glue key: text}``
for :func:`thermo.figures.glue_facts`, each number formatted once, here; a ``show_*`` function
returns a table as the chapter shows it (:func:`thermo.tables.show`: units in the headers, accuracy
in percent and its differences in percentage points, long tables collapsed behind a summary).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from thermo import l2, stats, tables
from thermo.claims import Estimate
from thermo.papers.l2.configs import BUDGET_ETA

# --- the law t* = c / (eta lambda) (supplement Fig. 2a-c) ----------------------------------------------


def runs_table(records) -> pd.DataFrame:
    """One row per run of a t* sweep (``l2-tstar`` or ``l2-narrow``), lambda > 0 or not: t*, its
    peak accuracy, c = eta * lambda * t*, whether the peak is at the end of the run, the step at
    which the training set was fitted (``fitted_at``) and the peak after it (``t_star_fit``)."""
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


def decayed(table) -> pd.DataFrame:
    """The runs that finished with lambda > 0 (the law's runs; lambda = 0 is the control)."""
    return table[(table.status == "ok") & (table.lam > 0)]


def passed_peak(table, which: str = "t_star") -> pd.DataFrame:
    """Runs with lambda > 0 whose peak (``which``: ``t_star`` the global peak, ``t_star_fit`` the
    peak after the training set is fitted) lies before the end of the run."""
    end = table[DEFINITIONS[which]].fillna(True).astype(bool)
    return table[(table.status == "ok") & (table.lam > 0) & ~end & table[which].notna()]


def widest(table) -> int:
    """The widest network that finished a run with lambda > 0 (the law is for wide networks)."""
    ok = decayed(table)
    return int((ok if len(ok) else table).width.max())


def narrowest(table) -> int | None:
    """The narrowest network that finished a run with lambda > 0, if the sweep has another, wider one."""
    ok = decayed(table)
    widths = sorted((ok if len(ok) else table).width.unique())
    return int(widths[0]) if len(widths) > 1 else None


@dataclass(frozen=True)
class LawFit:
    """The law at one width: ``points`` (eta, lambda) points that passed their peak, t* of each the
    geometric mean over seeds, and ``fit`` the least-squares power law t* ~ (eta lambda)^slope in
    log-log (None with fewer than 3 points)."""

    width: int
    points: int
    fit: stats.PowerLawFit | None

    def estimate(self) -> Estimate | None:
        """The exponent with its 95 % regression t interval (n - 2 degrees of freedom over the points)."""
        if self.fit is None:
            return None
        return Estimate.regression(self.fit.slope, self.fit.slope_se, self.fit.n)

    def text(self) -> str:
        """``slope [lo, hi]`` (95 %, regression t)."""
        e = self.estimate()
        if e is None:
            return "not measurable (fewer than 3 points passed their peak)"
        return f"{e.value:.2f} [{e.lo:.2f}, {e.hi:.2f}]"


def law_fit(table, width: int | None = None, which: str = "t_star") -> LawFit:
    """The fitted exponent of t* against eta * lambda at ``width`` (default :func:`widest`); the
    law says -1. ``which`` picks the definition of t* (see :func:`passed_peak`)."""
    width = widest(table) if width is None else width
    g = passed_peak(table, which)
    g = g[g.width == width]
    pts = g.groupby(["eta", "lam"]).agg(eta_lam=("eta_lam", "first"),
                                        t_star=(which, lambda s: float(np.exp(np.log(s.astype(float)).mean()))))
    fit = stats.loglog_fit(pts.eta_lam, pts.t_star) if len(pts) >= 3 else None
    return LawFit(int(width), len(pts), fit)


SLOPE_COLUMNS = ["width", "definition", "slope", "slope_se", "lo", "hi", "r2", "points", "c_median", "c_min",
                 "c_max"]


def slopes(table, which: str = "t_star") -> pd.DataFrame:
    """Per width with a fit (:func:`law_fit`): the slope, its standard error and 95 % interval
    (``lo``, ``hi``: regression t), R^2, the number of (eta, lambda) points and c = eta * lambda * t*
    of the runs that passed their peak (median, range)."""
    rows = []
    ok = passed_peak(table, which)
    for width, g in ok.groupby("width"):
        law = law_fit(table, width, which)
        if law.fit is None:
            continue
        c = g.eta_lam * g[which].astype(float)
        e = law.estimate()
        rows.append({"width": width, "definition": which, "slope": law.fit.slope, "slope_se": law.fit.slope_se,
                     "lo": e.lo, "hi": e.hi, "r2": law.fit.r2, "points": law.fit.n,
                     "c_median": float(c.median()), "c_min": float(c.min()),
                     "c_max": float(c.max())})
    return pd.DataFrame(rows, columns=SLOPE_COLUMNS)


def slope_table(table) -> pd.DataFrame:
    """:func:`slopes` for both definitions of t* (the global peak, the peak after fitting), rounded for the page."""
    return pd.concat([slopes(table), slopes(table, "t_star_fit")]).round(3)


def law_c(table) -> float:
    """c of the law line drawn over the runs: the median of eta * lambda * t* over every run with lambda > 0."""
    return float(np.median(decayed(table).c))


def tstar_facts(table) -> dict:
    """The numbers the chapter states about Fig. 2: the runs, the slope at the widest width and the
    spread of c over the runs that passed their peak (those of the table of slopes)."""
    ok = table.status == "ok"
    n_end = int((table.peak_at_end.fillna(False).astype(bool) & (table.lam > 0)).sum())
    law = law_fit(table)
    passed = passed_peak(table)
    c = passed.eta_lam * passed.t_star.astype(float)
    narrow = narrowest(table)
    low = law_fit(table, narrow) if narrow is not None else None
    return {"l2-runs": f"{len(table)} runs ({int(ok.sum())} ok); {n_end} with lambda > 0 peaked at their "
                       "last evaluations",
            "l2-widest": f"{law.width}",
            "l2-slope-widest": law.text(),
            "l2-narrowest": f"{narrow}" if narrow is not None else "n/a (one width)",
            "l2-slope-narrowest": (f"{low.text()} (R² = {low.fit.r2:.2f})" if low is not None and low.fit is not None
                                   else "not measurable"),
            "l2-c-range": f"{c.min():.3g} to {c.max():.3g}" if len(c) else "n/a"}


def peak_by_lambda(table, eta: float) -> pd.DataFrame:
    """Peak test accuracy per (width, lambda) at ``eta``: mean, min and max over seeds (lambda = 0 included)."""
    g = table[(table.status == "ok") & (table.eta == eta)]
    return g.groupby(["width", "lam"]).peak_acc.agg(["mean", "min", "max"]).reset_index()


def peak_vs_eta(table) -> pd.DataFrame:
    """Notes, item 2: at a fixed lambda, the peak accuracy for every eta that ran it (mean over
    seeds); only the lambdas that several learning rates share."""
    g = decayed(table)
    shared = g.groupby("lam").eta.nunique()
    g = g[g.lam.isin(shared[shared > 1].index)]
    return (g.groupby(["width", "lam", "eta"]).peak_acc.agg(["mean", "min", "max", "count"]).reset_index()
            .rename(columns={"mean": "peak accuracy (mean)", "count": "seeds"}).round(4))


# --- the lambda for a budget, lambda = c / (eta T) (Figs. 1b, S3) -------------------------------------

def best_within(record, budget: int) -> float | None:
    """The best test accuracy a run reached within ``budget`` steps (None before its first evaluation)."""
    d = record["data"]
    accs = [a for s, a in zip(d["eval_steps"], d["test_acc"]) if s <= budget]
    return max(accs) if accs else None


def budget_table(records, eta: float, width: int, budgets, c: float) -> pd.DataFrame:
    """For each budget T, the lambda of the sweep (at ``eta``, ``width``; mean over seeds) with the
    best accuracy within T steps, against ``predict_lambda(c, eta, T)``."""
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


@dataclass(frozen=True)
class Budget:
    """The budget analysis: c measured on one run (``reference_lam``, seed 0, ``width``, at ``eta``;
    its t* is ``reference_t_star``) and the table of :func:`budget_table` over six log-spaced budgets."""

    eta: float
    width: int
    reference_lam: float
    reference_t_star: int
    c: float
    table: pd.DataFrame

    def within(self, factor: float = 10.0) -> int:
        """How many budgets have the prediction within ``factor`` of the sweep's best lambda (the supplement's 10)."""
        return int(((self.table.ratio > 1 / factor) & (self.table.ratio < factor)).sum())


def budget(table, records, eta: float = BUDGET_ETA, near_lam: float = 1e-3) -> Budget:
    """The budget analysis of the chapter: c from the run at ``eta`` (widest network, seed 0, passed
    its peak) whose lambda is nearest ``near_lam``; budgets from 1/40 of the longest run at ``eta``
    to all of it, rounded to tens of steps."""
    width = widest(table)
    runs = passed_peak(table)
    runs = runs[(runs.eta == eta) & (runs.width == width) & (runs.seed == 0)]
    ref = runs.iloc[int(np.argmin(np.abs(np.log(runs.lam / near_lam))))]
    max_steps = int(table[table.eta == eta].steps.max())
    budgets = sorted({int(round(b, -1)) for b in np.geomspace(max_steps / 40, max_steps, 6)})
    c = float(ref.c)
    return Budget(eta, width, float(ref.lam), int(ref.t_star), c,
                  budget_table(records, eta=eta, width=width, budgets=budgets, c=c))


def _decimal(x: float, digits: int = 2) -> str:
    """``x`` to ``digits`` significant digits, written out in decimals (0.00007, not 7e-05)."""
    return np.format_float_positional(float(x), precision=digits, unique=True, fractional=False, trim="-")


def best_lambda_runs(table) -> str:
    """The sweep's best lambda over the budgets, in runs of equal value: ``0.01 for T = 500 to 1050 and
    0.003 for T = 2190 to 20000``."""
    parts, t, best = [], table["budget T"].tolist(), table["best lambda (sweep)"].tolist()
    start = 0
    for i in range(1, len(t) + 1):
        if i == len(t) or best[i] != best[start]:
            span = f"T = {t[start]}" if i - 1 == start else f"T = {t[start]} to {t[i - 1]}"
            parts.append(f"{best[start]:g} for {span}")
            start = i
    return ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]


def budget_resolution(records, eta: float, width: int, budget: int) -> tuple[float, float]:
    """At ``budget``: how far apart the lambdas of the sweep are (the range over lambda of the best
    accuracy within the budget, mean over seeds) and the largest difference between two seeds of one
    lambda (max over lambda of the range over seeds)."""
    rows = [{"lam": r["config"]["lam"], "acc": best_within(r, budget)} for r in records
            if r["status"] == "ok" and r["config"]["eta"] == eta and r["config"]["width"] == width
            and r["config"]["lam"] > 0]
    acc = pd.DataFrame(rows).dropna().groupby("lam").acc
    means = acc.mean()
    return float(means.max() - means.min()), float((acc.max() - acc.min()).max())


def budget_facts(b: Budget, table=None, records=None) -> dict:
    """The numbers the chapter states about the budget analysis; with the runs ``table`` and
    ``records`` also where the reference c sits among the width's runs and how well the sweep
    resolves its best lambda at the longest budget (:func:`budget_resolution`)."""
    t, first, last = b.table, b.table.iloc[0], b.table.iloc[-1]
    t0, t1 = int(first["budget T"]), int(last["budget T"])
    within = t[(t.ratio > 0.1) & (t.ratio < 10)]["budget T"].tolist()
    cost = 100 * (t["best accuracy"] - t["accuracy at the grid lambda nearest the prediction"])
    out = {"l2-budget-c": f"{b.c:.3f}, from the run with eta = {b.eta:g}, lambda = {b.reference_lam:g}, seed 0 "
                          f"(t* = {b.reference_t_star})",
           "l2-budget-within": f"{b.within()} of {len(t)}",
           "l2-budget-within-t": ", ".join(str(x) for x in within) if within else "none",
           "l2-budget-ratio": f"{first.ratio:.2g} at the shortest budget (T = {t0}) to {last.ratio:.2g} at the "
                              f"longest (T = {t1})",
           "l2-budget-pred": (f"{_decimal(first['predicted lambda'])} at T = {t0} to "
                              f"{_decimal(last['predicted lambda'])} at T = {t1}"),
           "l2-budget-best": best_lambda_runs(t),
           "l2-budget-low": f"{int((t.ratio < 1).sum())} of {len(t)}",
           "l2-budget-cost": f"{cost.min():.2f} to {cost.max():.2f} pt"}
    if table is not None and records is not None:
        g = passed_peak(table)
        c = (g.eta_lam * g.t_star.astype(float))[g.width == b.width]
        rank = int((c < b.c - 1e-12).sum())
        place = "the smallest" if rank == 0 else f"number {rank + 1} from the bottom"
        out["l2-budget-c-place"] = (f"c = {b.c:.3g}, {place} of the {len(c)} values at width {b.width} "
                                    f"(median {float(c.median()):.3g})")
        lam_spread, seed_spread = budget_resolution(records, b.eta, b.width, t1)
        out["l2-budget-lam-spread"] = f"{100 * lam_spread:.2f} pt"
        out["l2-budget-seed-spread"] = f"{100 * seed_spread:.2f} pt"
        smallest = float(g[(g.eta == b.eta) & (g.width == b.width)].lam.min())
        below = t[t["predicted lambda"] < smallest]["budget T"].tolist()
        out["l2-budget-below-grid"] = (f"{smallest:g}, is above the prediction for T = "
                                       + ", ".join(str(x) for x in below) if below
                                       else f"{smallest:g}, is below every prediction")
    return out


# --- AutoL2 against the best fixed lambda (Algorithm 1, Figs. S9, S11) ----------------------------------

PAIR_COLUMNS = ["setup", "seed", "autol2", "best_fixed", "best_lam", "difference", "on_edge"]


def fc_width(autol2_records) -> int | None:
    """The width of the FC network AutoL2 ran on (that of the ``l2-tstar`` runs it is compared with)."""
    return next((r["config"]["width"] for r in autol2_records if r["config"]["setup"] == "fc3"), None)


def _fixed_runs(config: dict, autol2_records, tstar_records) -> list[tuple[float, float]]:
    """(lambda, best test accuracy) of the fixed-lambda runs an AutoL2 run is compared with: FC, the
    ``l2-tstar`` runs of the same width and seed at eta = 0.1 and lambda > 0; ConvNet, the fixed runs
    of ``l2-autol2`` with the same seed."""
    if config["setup"] == "fc3":
        return [(f["config"]["lam"], max(f["data"]["test_acc"])) for f in tstar_records
                if f["status"] == "ok" and f["config"]["eta"] == BUDGET_ETA and f["config"]["lam"] > 0
                and f["config"]["seed"] == config["seed"] and f["config"]["width"] == config["width"]]
    return [(f["config"]["lam"], f["data"]["max_test_acc"]) for f in autol2_records
            if f["config"]["setup"] == "convnet" and f["config"]["method"] == "fixed"
            and f["config"]["seed"] == config["seed"] and f["status"] == "ok"]


def autol2_pairs(autol2_records, tstar_records) -> pd.DataFrame:
    """Per setup and seed: AutoL2's best test accuracy, the best fixed lambda's (picked on test
    accuracy) and which lambda that was, their difference (AutoL2 minus fixed), and ``on_edge``: that
    lambda is the smallest or the largest of the fixed lambdas it was picked from."""
    rows = []
    for r in autol2_records:
        c = r["config"]
        if c["method"] != "autol2" or r["status"] != "ok":
            continue
        fixed = _fixed_runs(c, autol2_records, tstar_records)
        if not fixed:
            continue
        lam, best = max(fixed, key=lambda p: p[1])
        grid = [p[0] for p in fixed]
        rows.append({"setup": c["setup"], "seed": c["seed"], "autol2": r["data"]["max_test_acc"],
                     "best_fixed": best, "best_lam": lam, "difference": r["data"]["max_test_acc"] - best,
                     "on_edge": len(grid) > 1 and lam in (min(grid), max(grid))})
    return pd.DataFrame(rows, columns=PAIR_COLUMNS)


def autol2_gain(pairs) -> Estimate:
    """AutoL2 minus the best fixed lambda picked on test accuracy, paired over setups and seeds, with
    its 95 % t interval (the chapter's description; the claim uses :func:`validated_gain`)."""
    return Estimate.paired(pairs.autol2, pairs.best_fixed, unit="pt")


def pt_text(e: Estimate) -> str:
    """``+1.23 pt [-0.40, +2.86]``: an accuracy difference and its 95 % interval, in points."""
    return f"{100 * e.value:+.2f} pt [{100 * e.lo:+.2f}, {100 * e.hi:+.2f}]"


def autol2_facts(pairs) -> dict:
    if len(pairs) < 2:
        return {"l2-autol2-gain": "not measurable (one pair)"}
    edge = pairs[pairs.on_edge.astype(bool)]
    return {"l2-autol2-gain": pt_text(autol2_gain(pairs)),
            "l2-autol2-edge": (f"{len(edge)} of the {len(pairs)} pairs ("
                               + ", ".join(f"{r.setup} seed {r.seed}: {r.best_lam:g}" for r in edge.itertuples()) + ")"
                               if len(edge) else f"none of the {len(pairs)} pairs")}


# --- AutoL2 against the fixed lambda picked on a validation split (``l2-autol2-val``) -------------------

VAL_COLUMNS = ["setup", "seed", "method", "lam", "val_peak", "at_peak", "test_at_peak", "test_max"]


def val_runs_table(records) -> pd.DataFrame:
    """One row per finished ``l2-autol2-val`` run: its best validation accuracy, where it was reached
    (the first evaluation at the maximum: step for FC, epoch for the ConvNet), the test accuracy
    there (early stopping on the validation split) and, for reference only, the best test accuracy
    (``lam`` is NaN for AutoL2)."""
    rows = []
    for r in records:
        c, d = r["config"], r["data"] or {}
        if r["status"] != "ok" or not d.get("val_acc"):
            continue
        i = int(np.argmax(d["val_acc"]))
        rows.append({"setup": c["setup"], "seed": c["seed"], "method": c["method"], "lam": c.get("lam", np.nan),
                     "val_peak": d["val_acc"][i], "at_peak": d["at"][i], "test_at_peak": d["test_acc"][i],
                     "test_max": max(d["test_acc"])})
    return pd.DataFrame(rows, columns=VAL_COLUMNS)


def validated_lambdas(vt) -> pd.DataFrame:
    """Per setup and fixed lambda: the best validation accuracy (mean over seeds, and how many), and
    ``chosen``: the lambda with the highest mean; ``on_edge``: the chosen lambda is the smallest or the
    largest of its grid (lambda = 0, no L2, is an edge that cannot be extended and does not count)."""
    fixed = vt[vt.method == "fixed"]
    g = fixed.groupby(["setup", "lam"]).val_peak.agg(["mean", "count"]).reset_index()
    g = g.rename(columns={"mean": "validation accuracy (mean)", "count": "seeds"})
    g = g.sort_values(["setup", "lam"]).reset_index(drop=True)
    g["chosen"] = g.index.isin(g.groupby("setup")["validation accuracy (mean)"].idxmax())  # ties: the smaller
    lo, hi = g.groupby("setup").lam.transform("min"), g.groupby("setup").lam.transform("max")
    g["on_edge"] = g.chosen & (g.lam > 0) & ((g.lam == lo) | (g.lam == hi)) & (lo < hi)
    return g


VAL_PAIR_COLUMNS = ["setup", "seed", "autol2", "fixed", "lam", "difference"]


def validated_pairs(vt) -> pd.DataFrame:
    """Per setup and seed: AutoL2's test accuracy at its validation peak, that of the fixed lambda
    chosen on the validation split (:func:`validated_lambdas`, same seed), the lambda, and AutoL2
    minus fixed."""
    chosen = validated_lambdas(vt)
    chosen = chosen[chosen.chosen].set_index("setup").lam
    rows = []
    for _, a in vt[vt.method == "autol2"].iterrows():
        if a.setup not in chosen.index:
            continue
        f = vt[(vt.method == "fixed") & (vt.setup == a.setup) & (vt.seed == a.seed) & (vt.lam == chosen[a.setup])]
        if len(f):
            fixed = float(f.test_at_peak.iloc[0])
            rows.append({"setup": a.setup, "seed": a.seed, "autol2": a.test_at_peak, "fixed": fixed,
                         "lam": chosen[a.setup], "difference": a.test_at_peak - fixed})
    return pd.DataFrame(rows, columns=VAL_PAIR_COLUMNS)


def validated_gain(pairs) -> Estimate:
    """AutoL2 minus the validated fixed lambda, test accuracy at each run's validation peak, paired
    over setups and seeds, with its 95 % t interval."""
    return Estimate.paired(pairs.autol2, pairs.fixed, unit="pt")


def edge_problems(vt) -> list[str]:
    """One line per setup whose validated lambda sits on the edge of its grid (the comparison is then
    not fair until the grid is extended)."""
    g = validated_lambdas(vt)
    return [f"{r.setup}: the validated lambda {r.lam:g} is on the edge of its grid "
            f"({', '.join(f'{x:g}' for x in g[g.setup == r.setup].lam)})" for r in g[g.on_edge].itertuples()]


def validated_facts(records) -> dict:
    """The numbers the chapter states about ``l2-autol2-val`` (``records`` None: not run yet)."""
    if records is None:
        return {"l2-autol2-val-gain": "not yet run", "l2-autol2-val-lams": "not yet run"}
    vt = val_runs_table(records)
    pairs = validated_pairs(vt)
    g = validated_lambdas(vt)
    lams = "; ".join(f"{r.setup} {r.lam:g}" + (" (on the edge of its grid)" if r.on_edge else "")
                     for r in g[g.chosen].itertuples())
    if len(pairs) < 2:
        return {"l2-autol2-val-gain": "not measurable (fewer than 2 pairs)", "l2-autol2-val-lams": lams or "none"}
    e = validated_gain(pairs)
    return {"l2-autol2-val-gain": f"{pt_text(e)} over {e.n} pairs (95 % interval, paired t over setups and seeds; "
                                  f"smallest effect detectable with 80 % power: {100 * e.detectable():.2f} pt)",
            "l2-autol2-val-lams": lams}


# --- the narrow network (Section D, Fig. S7) ------------------------------------------------------------

def narrow_runs(table) -> pd.DataFrame:
    """The runs of the narrow network, with the final training accuracy that shows it cannot fit its data."""
    return table[["lam", "seed", "steps", "t_star", "peak_acc", "peak_at_end", "final_train_acc"]]


def narrow_facts(table) -> dict:
    best = table[table.status == "ok"].groupby("lam").peak_acc.mean()
    return {"l2-narrow-slope": law_fit(table).text(),
            "l2-narrow-best-lam": f"{best.idxmax():g}",
            "l2-narrow-best-acc": f"{best.max():.4f}"}


# --- the kernel decays (Theorem 1) and eq. 1 (Fig. 5) ----------------------------------------------------

def decay_table(records) -> pd.DataFrame:
    """One row per finished ``l2-kernel-decay`` run: the fitted and predicted decay rates, their
    ratio, how much the kernel's shape moved and the final training accuracy."""
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


def decay_ratios(table) -> pd.DataFrame:
    """The rows of :func:`decay_table` that test Theorem 1: lambda > 0, the widest network of each k."""
    pos = table[table["lambda"] > 0]
    return pos[pos.groupby("k").width.transform("max") == pos.width]


def decay_estimate(table) -> Estimate | None:
    """Measured / predicted decay rate over the runs of :func:`decay_ratios`: the mean with its 95 % t
    interval over runs (None with fewer than 2)."""
    ratios = decay_ratios(table)["measured / predicted"].dropna()
    return Estimate.mean(ratios) if len(ratios) > 1 else None


def decay_facts(table) -> dict:
    ratios = decay_ratios(table)["measured / predicted"]
    zero = table[table["lambda"] == 0]
    e = decay_estimate(table)
    return {"l2-decay-ratio": (f"{e.value:.3f} [{e.lo:.3f}, {e.hi:.3f}]" if e is not None
                               else f"{ratios.mean():.3f}"),
            "l2-decay-ratios": ", ".join(f"{r:.3f}" for r in ratios),
            "l2-decay-zero": f"{zero['measured rate'].abs().max():.4f}" if len(zero) else "n/a"}


def fit_of(out: dict, name: str, key: str = "train_loss") -> float:
    """Root-mean-square difference, over time, between a curve of eq. 1 and the network's."""
    return float(np.sqrt(np.mean((np.asarray(out[f"{name}_{key}"]) - np.asarray(out[f"network_{key}"])) ** 2)))


def eq1_facts(record) -> dict:
    d = record["data"]
    return {"l2-eq1-rms": f"{fit_of(d, 'eq1_k2'):.3f} for k = 2 and {fit_of(d, 'eq1_k1'):.3f} for k = 1"}


# --- the tables as the chapter shows them (:func:`thermo.tables.show`) -----------------------------------
# One unit per quantity: accuracy in percent (%), a difference of accuracies in percentage points (pt),
# times in steps (or in t = eta * step for the kernel); eta, lambda, exponents and c are pure numbers.

SETUP_NAMES = {"fc3": "FC", "convnet": "ConvNet"}


def _fixed(values, decimals: int = 2, sign: bool = False, scale: float = 1.0) -> list[str]:
    """Numbers with a fixed number of decimals (``scale`` 100: a fraction in percent); '-' where missing."""
    fmt = f"{{:{'+' if sign else ''}.{decimals}f}}"
    out = []
    for v in values:
        x = None if v is None else float(v)
        out.append("-" if x is None or not math.isfinite(x) else fmt.format(scale * x))
    return out


def _yes_no(values) -> list[str]:
    """Flags as 'yes' / 'no' ('-' where missing, e.g. a run that did not finish)."""
    return ["-" if v is None or (isinstance(v, float) and math.isnan(v)) else ("yes" if v else "no") for v in values]


def _steps(values) -> list:
    """Step counts as integers ('-' where missing)."""
    return [int(v) if v is not None and not (isinstance(v, float) and math.isnan(v)) else "-" for v in values]


def show_runs(table) -> tables.Table:
    """The runs of a t* sweep (:func:`runs_table`), one row each, collapsed behind a one-line summary."""
    t = table
    shown = pd.DataFrame({
        "width": t.width, "seed": t.seed, "η": t.eta, "λ": t.lam, "run length (steps)": t.steps,
        "t* (steps)": _steps(t.t_star), "peak at the end": _yes_no(t.peak_at_end),
        "c = ηλt*": _fixed(t.c, 3), "peak test accuracy (%)": _fixed(t.peak_acc, 2, scale=100),
        "training set fitted at (steps)": _steps(t.fitted_at)})
    ok = int((t.status == "ok").sum())
    return tables.show(shown, caption="The runs of the sweep: time to peak t*, c = ηλt* and the step at which the "
                                      "training set was fitted.",
                       unitless=("width", "seed", "η", "λ", "c = ηλt*", "peak at the end"),
                       summary=f"{len(t)} runs ({ok} finished) over {t.width.nunique()} widths, "
                               f"{t.seed.nunique()} seeds and {t[['eta', 'lam']].drop_duplicates().shape[0]} "
                               "(η, λ) points, each with its t*, c and fitting step: click to show them all")


DEFINITION_NAMES = {"t_star": "global peak", "t_star_fit": "peak after fitting"}


def show_slopes(table) -> tables.Table:
    """:func:`slope_table`: the exponent of t* against eta * lambda per width and definition of t*."""
    s = pd.concat([slopes(table), slopes(table, "t_star_fit")])
    shown = pd.DataFrame({
        "width": s.width, "t* is the": s.definition.map(DEFINITION_NAMES), "exponent": _fixed(s.slope, 3),
        "95 % interval": [f"[{lo:.3f}, {hi:.3f}]" for lo, hi in zip(s.lo, s.hi)], "R²": _fixed(s.r2, 3),
        "(η, λ) points": s.points,
        "c = ηλt*: median (range)": [f"{m:.3f} ({a:.3f} to {b:.3f})" for m, a, b in zip(s.c_median, s.c_min, s.c_max)]})
    return tables.show(shown, caption="The exponent of t* against ηλ (the law says −1), least squares in log-log over "
                                      "the (η, λ) points that passed their peak; 95 % regression t interval.",
                       unitless=("width", "t* is the", "exponent", "95 % interval", "R²", "(η, λ) points",
                                 "c = ηλt*: median (range)"))


def show_peak_vs_eta(table) -> tables.Table:
    """:func:`peak_vs_eta`: the peak accuracy of every eta at the lambdas several learning rates share."""
    p = peak_vs_eta(table)
    shown = pd.DataFrame({"width": p.width, "λ": p.lam, "η": p.eta,
                          "peak test accuracy, mean (%)": _fixed(p["peak accuracy (mean)"], 2, scale=100),
                          "lowest seed (%)": _fixed(p["min"], 2, scale=100),
                          "highest seed (%)": _fixed(p["max"], 2, scale=100), "seeds": p.seeds})
    return tables.show(shown, caption="Peak test accuracy at a fixed λ for each learning rate that ran it.",
                       unitless=("width", "λ", "η", "seeds"))


def show_budget(b: Budget) -> tables.Table:
    """:func:`budget_table`: per budget, the sweep's best lambda, the prediction and what following it costs."""
    t = b.table
    near = t["accuracy at the grid lambda nearest the prediction"]
    shown = pd.DataFrame({
        "budget T (steps)": t["budget T"], "best λ of the sweep": t["best lambda (sweep)"],
        "predicted λ = c/(ηT)": [_decimal(x) for x in t["predicted lambda"]], "predicted / best": t["ratio"],
        "best test accuracy (%)": _fixed(t["best accuracy"], 2, scale=100),
        "at the grid λ nearest the prediction (%)": _fixed(near, 2, scale=100),
        "cost of the prediction (pt)": _fixed(t["best accuracy"] - near, 2, scale=100)})
    return tables.show(shown, caption=f"The best λ within a budget of T steps (η = {b.eta:g}, width {b.width}, "
                                      f"mean over seeds) against the prediction with c = {b.c:.3f}.",
                       unitless=("best λ of the sweep", "predicted λ = c/(ηT)", "predicted / best"), digits=3)


def show_pairs(pairs) -> tables.Table:
    """:func:`autol2_pairs`: AutoL2 against the best fixed lambda picked on test accuracy."""
    shown = pd.DataFrame({
        "setup": pairs.setup.map(lambda s: SETUP_NAMES.get(s, s)), "seed": pairs.seed,
        "AutoL2 test accuracy (%)": _fixed(pairs.autol2, 2, scale=100),
        "best fixed λ: test accuracy (%)": _fixed(pairs.best_fixed, 2, scale=100), "best fixed λ": pairs.best_lam,
        "AutoL2 − fixed (pt)": _fixed(pairs.difference, 2, sign=True, scale=100),
        "λ on the edge of its grid": pairs.on_edge.astype(bool)})
    return tables.show(shown, caption="AutoL2 against the best fixed λ of the same setup and seed, picked on test "
                                      "accuracy (best test accuracy of each run).",
                       unitless=("setup", "seed", "best fixed λ", "λ on the edge of its grid"))


def show_validated_lambdas(vt) -> tables.Table:
    """:func:`validated_lambdas`: the fixed lambda of each setup picked on the validation split."""
    g = validated_lambdas(vt)
    shown = pd.DataFrame({"setup": g.setup.map(lambda s: SETUP_NAMES.get(s, s)), "λ": g.lam,
                          "validation accuracy, mean (%)": _fixed(g["validation accuracy (mean)"], 2, scale=100),
                          "seeds": g.seeds, "chosen": g.chosen.astype(bool), "on the edge of its grid":
                              g.on_edge.astype(bool)})
    return tables.show(shown, caption="Fixed λ: best validation accuracy (mean over seeds); the chosen λ of each setup "
                                      "has the highest.",
                       unitless=("setup", "λ", "seeds", "chosen", "on the edge of its grid"),
                       summary=f"{len(g)} fixed λ over {g.setup.nunique()} setups with their mean validation "
                               "accuracy and which one is chosen: click to show them all")


def show_validated_pairs(vt) -> tables.Table:
    """:func:`validated_pairs`: AutoL2 against the validated fixed lambda, at each run's validation peak."""
    p = validated_pairs(vt)
    shown = pd.DataFrame({"setup": p.setup.map(lambda s: SETUP_NAMES.get(s, s)), "seed": p.seed,
                          "AutoL2 test accuracy (%)": _fixed(p.autol2, 2, scale=100),
                          "fixed λ: test accuracy (%)": _fixed(p.fixed, 2, scale=100), "fixed λ": p.lam,
                          "AutoL2 − fixed (pt)": _fixed(p.difference, 2, sign=True, scale=100)})
    return tables.show(shown, caption="AutoL2 against the fixed λ chosen on validation, test accuracy where each run's "
                                      "validation accuracy peaks.", unitless=("setup", "seed", "fixed λ"))


def show_narrow(table) -> tables.Table:
    """:func:`narrow_runs`: the narrow network's runs with their final training accuracy."""
    n = narrow_runs(table)
    shown = pd.DataFrame({"λ": n.lam, "seed": n.seed, "run length (steps)": n.steps, "t* (steps)": _steps(n.t_star),
                          "peak test accuracy (%)": _fixed(n.peak_acc, 2, scale=100),
                          "peak at the end": _yes_no(n.peak_at_end),
                          "final training accuracy (%)": _fixed(n.final_train_acc, 1, scale=100)})
    return tables.show(shown, caption="The narrow network (width 64, all of Fashion-MNIST): time to peak and the "
                                      "training accuracy it ends with.", unitless=("λ", "seed", "peak at the end"),
                       summary=f"{len(n)} runs over {n.lam.nunique()} λ and {n.seed.nunique()} seeds, with t* and "
                               "the final training accuracy: click to show them all")


def show_decay(decay) -> tables.Table:
    """:func:`decay_table`: the measured decay rate of every ``l2-kernel-decay`` run against Theorem 1's."""
    d = decay
    shown = pd.DataFrame({
        "k": d.k, "width": d.width, "λ": d["lambda"], "seed": d.seed,
        "decay rate (1/t)": _fixed(d["measured rate"], 4), "its s.e. (1/t)": [f"{x:.1e}" for x in d["standard error"]],
        "2(k−1)λ (1/t)": _fixed(d["predicted 2(k-1) lambda"], 2),
        "measured / predicted": _fixed(d["measured / predicted"], 3),
        "final cos(Θ_t, Θ_0)": _fixed(d["final cosine(Theta_t, Theta_0)"], 4),
        "final training accuracy (%)": _fixed(d["final train accuracy"], 1, scale=100)})
    e = decay_estimate(d)
    ratio = f", measured over predicted {e.value:.3f} on the widest networks with λ > 0" if e is not None else ""
    return tables.show(shown, caption="The fitted decay rate of ‖Θ_t‖ (t = η × step) against the paper's Theorem 1, "
                                      "2(k−1)λ, per run.",
                       unitless=("k", "width", "λ", "seed", "measured / predicted", "final cos(Θ_t, Θ_0)"),
                       summary=f"{len(d)} runs over k = {', '.join(str(k) for k in sorted(d.k.unique()))} and "
                               f"{d.width.nunique()} widths{ratio}: click to show them all")

"""Records -> tables and facts for the Temperature-check chapter
(``notebooks/temperature-check/01-softmax-temperature``): the single source of every number the
chapter states and every claim measures.

Per figure of the paper (Agarwala et al., 2020): a table function (records -> DataFrame), the
estimates the claims use, each a :class:`thermo.claims.Estimate` with its 95 % interval
(:func:`departure_exponent`, :func:`start_exponent`, :func:`tau_nl_slope`, :func:`eta_star_exponent`,
:func:`paired_vs_one`, :func:`tuned_beta_gain`, :func:`best_seed_gain`), and a ``*_facts`` function
that formats the chapter's glued numbers from the same estimates (``{glue key: text}``, for
``thermo.figures.glue_facts``; intervals as ``est [lo, hi]``), and a ``*_view`` function that turns
a table into what the page shows (``thermo.tables.show``: HTML, units or ``unitless`` in the headers,
a caption, and a one-sentence summary for a long table). Records are those of :mod:`.runs`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from thermo import stats, tables
from thermo.claims import Estimate
from thermo.errors import ConfigError

from .configs import EARLY_STEP, NORMS

CHANCE = 0.1  # the accuracy a diverged run of a 10-class problem counts as


def _acc_or_chance(record) -> float:
    return record["data"]["final_test_acc"] if record["status"] == "ok" else CHANCE


PERCENT = ("final train accuracy (%)", "final test accuracy (%)", "linearized test accuracy (%)")


def _names(values) -> pd.Series:
    """Values written as ``:g`` (a table's column of settings, c = -0.9999 kept whole)."""
    return pd.Series(values).map("{:g}".format)


def _range(values, fmt: str = ".2f") -> str:
    """The text 'lo to hi' of a column (NaN left out, as pandas does)."""
    values = pd.Series(values, dtype=float)
    return f"{values.min():{fmt}} to {values.max():{fmt}}"


# --- Fig. 1: the collapse in eta_tilde t (eq. 5) --------------------------------------------------------

DEPARTURE_TOL = 0.1  # "deviates appreciably": the network's change differs from the linearized one by 10 %


def relative_deviation(record) -> np.ndarray:
    """Per recorded step: ||Z(t) - Z_lin(t)|| / ||Z_lin(t) - Z0||, the network's departure from its
    linearized model relative to the linearized model's own change (0 at step 0)."""
    d = record["data"]
    dev = np.asarray(d["deviation"], dtype=float)
    lin = np.asarray(d["lin"]["z_norm"], dtype=float)
    change = np.abs(lin - d["z0_norm"]) if d["z0_norm"] > 0 else lin
    return np.where(change > 0, dev / np.maximum(change, 1e-300), 0.0)


def leave_time(record, tol: float = 0.01) -> float:
    """When (in eta_tilde * step) :func:`relative_deviation` first exceeds ``tol``: linear
    interpolation between the first recorded step above ``tol`` and the one before it (inf if it
    never does within the run)."""
    steps = np.asarray(record["data"]["steps"], dtype=float)
    rel = relative_deviation(record)
    hit = np.nonzero((steps > 0) & (rel > tol))[0]
    if not hit.size:
        return float("inf")
    i = int(hit[0])
    (t0, r0), (t1, r1) = (steps[i - 1], rel[i - 1]) if i > 0 else (0.0, 0.0), (steps[i], rel[i])
    t = t0 + (tol - r0) / (r1 - r0) * (t1 - t0)
    return float(t * record["config"]["eta_tilde"])


def collapse_table(records) -> pd.DataFrame:
    """One row per run of ``tc-fig1-collapse``: its status and last step, when the network leaves the
    linearized curve (1 % and 10 %, in eta_tilde t), and its final accuracies."""
    return pd.DataFrame([{"eta_tilde": r["config"]["eta_tilde"], "beta": r["config"]["beta"], "status": r["status"],
                          "last step": r["data"]["steps"][-1],
                          "leaves the linearized curve (1 %) at eta_tilde t": leave_time(r, 0.01),
                          "leaves it (10 %) at": leave_time(r, DEPARTURE_TOL),
                          "final train acc": r["data"]["net"]["train_acc"][-1],
                          "final test acc": r["data"]["net"]["test_acc"][-1],
                          "linearized test acc": r["data"]["lin"]["test_acc"][-1]} for r in records])


def departure_exponent(records, tol: float = DEPARTURE_TOL) -> Estimate | None:
    """The exponent of :func:`leave_time` (at ``tol``) in beta: least squares of ln(leave time) on
    ln(beta) with one intercept per eta_tilde, over the finished runs that leave within the run
    (runs that never leave are left out: they would only steepen it), groups of at least two.
    Regression t interval with n - 1 - (groups) degrees of freedom; None if fewer than one
    degree of freedom is left. ``facts``: per eta_tilde the (beta, time) points and the runs that
    never left."""
    ok = [r for r in records if r["status"] == "ok"]
    points = {}
    for r in ok:
        t = leave_time(r, tol)
        if math.isfinite(t):
            points.setdefault(r["config"]["eta_tilde"], []).append((r["config"]["beta"], t))
    groups = {et: pts for et, pts in sorted(points.items()) if len(pts) >= 2}
    rows = [(et, b, t) for et, pts in groups.items() for b, t in pts]
    n, p = len(rows), 1 + len(groups)
    if n - p < 1:
        return None
    x = np.array([[math.log(b)] + [float(et == g) for g in groups] for et, b, _ in rows])
    y = np.log([t for _, _, t in rows])
    coef = np.linalg.lstsq(x, y, rcond=None)[0]
    df = n - p
    se = float(np.sqrt(((y - x @ coef) ** 2).sum() / df * np.linalg.inv(x.T @ x)[0, 0]))
    half = float(sps.t.ppf(0.975, df) * se)
    never = [(r["config"]["eta_tilde"], r["config"]["beta"]) for r in ok if not math.isfinite(leave_time(r, tol))]
    return Estimate(float(coef[0]), float(coef[0]) - half, float(coef[0]) + half, n, method="regression t", se=se,
                    df=df, facts={"points": groups, "never left": never})


def linearized_spread(records) -> dict[float, float]:
    """Per eta_tilde (with at least two finished betas): the largest spread over beta of the
    linearized model's training loss at any recorded step, relative to the mean loss there. Exact
    arithmetic gives 0 (eq. 5); float64 rounding, amplified by the dynamics, gives 1e-14 to 1e-8.
    A check of the library (the linearized model's loss depends on eta * beta^2 only by
    construction), not a claim."""
    ok = [r for r in records if r["status"] == "ok"]
    out = {}
    for et in sorted({r["config"]["eta_tilde"] for r in ok}):
        group = [r for r in ok if r["config"]["eta_tilde"] == et]
        if len(group) < 2:
            continue
        n = min(len(r["data"]["steps"]) for r in group)
        loss = np.array([r["data"]["lin"]["train_loss"][:n] for r in group])
        out[et] = float((np.ptp(loss, axis=0) / np.abs(loss).mean(axis=0)).max())
    return out


def departure_text(records, tol: float = DEPARTURE_TOL) -> str:
    est = departure_exponent(records, tol)
    if est is None:
        return "not measurable (fewer than three runs that leave the linearized curve)"
    never = est.facts["never left"]
    return (f"{est.text()} (95 % interval, {est.n} runs" +
            (f"; {len(never)} more never left within their run: "
             + ", ".join(f"beta = {b:g} at eta_tilde = {et:g}" for et, b in never) if never else "") + ")")


def collapse_facts(records) -> dict[str, str]:
    leave = collapse_table(records)
    spread = linearized_spread(records)
    diverged = leave[leave.status != "ok"]
    return {
        "tc-lin-spread": f"{max(spread.values(), default=math.nan):.1e}",
        "tc-departure-exponent": departure_text(records),
        "tc-departure-exponent-1pc": departure_text(records, 0.01),
        "tc-diverged": ", ".join(f"eta_tilde = {et:g}: beta <= {g.beta.max():g} (within "
                                 f"{int(g['last step'].max()) + 1} steps)"
                                 for et, g in diverged.groupby("eta_tilde")) or "none",
        "tc-survived": ", ".join(f"eta_tilde = {et:g}: beta >= {g.beta.min():g}"
                                 for et, g in leave[leave.status == "ok"].groupby("eta_tilde")),
    }


def collapse_view(records) -> tables.Table:
    """:func:`collapse_table` as the page shows it: accuracies in %, times in eta_tilde t."""
    t = collapse_table(records)
    shown = pd.DataFrame({"η̃": t.eta_tilde, "β": t.beta, "status": t.status, "last step": t["last step"],
                          "leaves the linearized curve by 1 % at η̃t":
                              t["leaves the linearized curve (1 %) at eta_tilde t"],
                          "by 10 % at η̃t": t["leaves it (10 %) at"],
                          PERCENT[0]: 100 * t["final train acc"], PERCENT[1]: 100 * t["final test acc"],
                          PERCENT[2]: 100 * t["linearized test acc"]})
    diverged = int((t.status != "ok").sum())
    return tables.show(shown, caption="When each network leaves its linearized curve (∞: not within its run), and "
                       "its final accuracies.", digits=3,
                       unitless=("η̃", "β", "last step", "leaves the linearized curve by 1 % at η̃t", "by 10 % at η̃t"),
                       summary=f"{len(t)} runs ({t.eta_tilde.nunique()} values of η̃ times {t.beta.nunique()} of β, "
                               f"{diverged} diverged): when each leaves its linearized curve, and its final "
                               "accuracies")


# --- Figs. 2-3: the timescales tau_z (eq. 7) and tau_nl (eq. 9) -----------------------------------------

def timescale_table(records) -> pd.DataFrame:
    """One row per short run of ``tc-timescales``: beta, c, ||Z0||, eta_tilde, tau_z (eq. 7 and from
    the first step) and tau_nl, and the dimensionless combinations the paper plots."""
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


def tau_z_table(records, activation: str = "relu") -> pd.DataFrame:
    """Fig. 2's short runs of one activation: tau_z by eq. 7 and from the first step, their ratio,
    tau_z eta_tilde / ||Z0|| and tau_nl eta_tilde."""
    t = timescale_table(records)
    t = t[t.activation == activation]
    return t.assign(**{"theory / empirical": t.tau_z_theory / t.tau_z_empirical})[
        ["beta", "c", "z0_norm", "tau_z_theory", "tau_z_empirical", "theory / empirical", "tau_z_eta_over_z0",
         "tau_nl_eta"]]


def long_runs(records) -> list[dict]:
    """The finished long runs of ``tc-timescales`` (Fig. 2, centre and right)."""
    return [r for r in records if r["config"]["mode"] == "long" and r["status"] == "ok"]


def first_step_above(record, level: float) -> float:
    """The first recorded step at which the training accuracy reaches ``level`` (inf if never)."""
    acc = np.asarray(record["data"]["net"]["train_acc"])
    hit = np.nonzero(acc >= level)[0]
    return float(record["data"]["steps"][hit[0]]) if hit.size else np.inf


START_LEVEL = 0.3  # "learning has started": the training accuracy reaches 30 % (chance is 10 %)


def learning_starts(records, level: float = START_LEVEL) -> pd.DataFrame:
    """Per long run: ||Z0||, tau_z, the first step with training accuracy >= ``level``, and that step
    in units of tau_z."""
    first = f"first step with accuracy >= {level}"
    t = pd.DataFrame([{"z0_norm": r["data"]["z0_norm"], "tau_z (steps)": r["data"]["tau_z_empirical"],
                       first: first_step_above(r, level)} for r in long_runs(records)],
                     columns=["z0_norm", "tau_z (steps)", first])
    return t.assign(**{"... in units of tau_z": t[first] / t["tau_z (steps)"]})


def _ratio_range(values) -> float:
    """max / min of positive values (the factor they span)."""
    values = np.asarray(values, dtype=float)
    return float(values.max() / values.min())


def _loglog_with_residual(x, y) -> tuple[stats.PowerLawFit, float]:
    """:func:`thermo.stats.loglog_fit` and the standard deviation of its residuals (in ln y)."""
    fit = stats.loglog_fit(x, y)
    resid = np.log(np.asarray(y, dtype=float)) - np.log(fit(x))
    return fit, float(np.sqrt((resid**2).sum() / (len(resid) - 2)))


def start_exponent(records, level: float = START_LEVEL) -> Estimate | None:
    """The exponent of the time learning starts (the first recorded step with training accuracy >=
    ``level``) in the tau_z of eq. 7 (from the run's first step), over the long runs that reach
    ``level`` after step 0: a line in log-log with its regression t interval (None if fewer than 3
    runs). ``facts``: the residual spread (in ln steps) of that fit and of the rival, start ~ ||Z0||^p
    (the size of the logits without the kernel's factor), and the rival's exponent."""
    t = learning_starts(records, level).astype(float)
    first = f"first step with accuracy >= {level}"
    t = t[np.isfinite(t[first]) & (t[first] > 0)]
    if len(t) < 3:
        return None
    fit, sd = _loglog_with_residual(t["tau_z (steps)"], t[first])
    rival, rival_sd = _loglog_with_residual(t["z0_norm"], t[first])
    est = Estimate.regression(fit.slope, fit.slope_se, fit.n)
    return Estimate(est.value, est.lo, est.hi, est.n, method=est.method, se=est.se, df=est.df,
                    facts={"residual sd": sd, "rival residual sd": rival_sd, "rival exponent": rival.slope,
                           "runs": len(long_runs(records))})


def start_text(records, level: float = START_LEVEL) -> str:
    est = start_exponent(records, level)
    if est is None:
        return "not measurable (fewer than three runs start learning after their first step)"
    f = est.facts
    return (f"{est.text()} (95 % interval, {est.n} of {f['runs']} runs; residual spread {f['residual sd']:.2f} in "
            f"ln steps, against {f['rival residual sd']:.2f} for a power of ||Z0|| alone, exponent "
            f"{f['rival exponent']:.2f})")


def tau_z_facts(records, level: float = START_LEVEL) -> dict[str, str]:
    table, starts = tau_z_table(records), learning_starts(records, level)
    first = f"first step with accuracy >= {level}"
    reached = starts[np.isfinite(starts[first])]
    spread_raw = reached[first].max() / reached[first].min()
    spread_scaled = reached["... in units of tau_z"].max() / reached["... in units of tau_z"].min()
    return {
        "tc-tauz-agree": f"{(table['theory / empirical'] - 1).abs().max():.1e}",
        "tc-tauz-steps": f"{starts['tau_z (steps)'].min():.2g} to {starts['tau_z (steps)'].max():.3g} steps",
        "tc-start-spread": f"a factor {spread_raw:.1f} in steps and {spread_scaled:.1f} in units of tau_z "
                           f"({len(reached)} of {len(starts)} runs reach it)",
        "tc-start-exponent": start_text(records, level),
        "tc-start-kernel-factor": f"{_ratio_range(starts['tau_z (steps)'] / starts['z0_norm']):.1f} over "
                                  f"{len(starts)} runs",
        "tc-tauz-range": f"{table.tau_z_eta_over_z0.min():.3g} to {table.tau_z_eta_over_z0.max():.3g}",
        "tc-z0-range": f"{table.z0_norm.min():.2g} to {table.z0_norm.max():.2g}",
    }


def tau_z_view(table) -> tables.Table:
    """:func:`tau_z_table` as the page shows it."""
    shown = pd.DataFrame({"β": table.beta, "c": _names(table.c), "‖Z⁰‖_F": table.z0_norm,
                          "τ_z by the paper's eq. 7 (steps)": table.tau_z_theory,
                          "τ_z from the first step (steps)": table.tau_z_empirical,
                          "eq. 7 / first step": table["theory / empirical"],
                          "τ_z η̃ / ‖Z⁰‖_F": table.tau_z_eta_over_z0, "τ_nl η̃": table.tau_nl_eta})
    agree = (table["theory / empirical"] - 1).abs().max()
    return tables.show(shown, caption="The short runs of the ReLU network: τ_z by the paper's eq. 7 and from the "
                       "first step, and τ_nl.", unitless=("β", "c", "‖Z⁰‖_F", "eq. 7 / first step",
                                                          "τ_z η̃ / ‖Z⁰‖_F", "τ_nl η̃"),
                       summary=f"{len(table)} short runs ({table.beta.nunique()} values of β times "
                               f"{table.c.nunique()} of c): τ_z by the paper's eq. 7 agrees with the first step to "
                               f"{agree:.1e}")


def learning_starts_view(records, level: float = START_LEVEL) -> tables.Table:
    """:func:`learning_starts` as the page shows it."""
    t = learning_starts(records, level)
    first = f"first step with training accuracy ≥ {100 * level:g} % (steps)"
    shown = pd.DataFrame({"‖Z⁰‖_F": t.z0_norm, "τ_z (steps)": t["tau_z (steps)"],
                          first: t[f"first step with accuracy >= {level}"],
                          "that step in units of τ_z": t["... in units of tau_z"]})
    return tables.show(shown, caption=f"The long runs: when the training accuracy first reaches {100 * level:g} % "
                       "(∞: never), in steps and in units of τ_z.", digits=3,
                       unitless=("‖Z⁰‖_F", "that step in units of τ_z"))


def tau_nl_slopes(table) -> pd.DataFrame:
    """Per activation and c: the log-log slope of tau_nl * eta_tilde against beta with its standard
    error (the paper: 1)."""
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


def tau_nl_slope(slopes, activation: str) -> Estimate | None:
    """The exponent of tau_nl eta_tilde in beta for one activation: the mean over c of the per-c
    slopes of :func:`tau_nl_slopes` with its t interval over c (each c is one log-log fit over
    beta; the interval holds the spread between them); with one c, that fit's regression interval.
    None if there is no c with 3 betas. ``facts``: the per-c slopes."""
    rows = slopes[slopes.activation == activation]
    if rows.empty:
        return None
    per_c = tuple(float(v) for v in rows.slope)
    if len(rows) == 1:
        one = rows.iloc[0]
        est = Estimate.regression(float(one.slope), float(one.slope_se), int(one.points))
    else:
        est = Estimate.mean(per_c)
    return Estimate(est.value, est.lo, est.hi, est.n, method=est.method, se=est.se, df=est.df,
                    facts={"per c": per_c})


def tau_nl_text(slopes, activation: str) -> str:
    s = tau_nl_slope(slopes, activation)
    if s is None:
        return "not measurable (fewer than 3 betas)"
    per_c = s.facts["per c"]
    return f"{s.text()} (95 % interval over {len(per_c)} values of c; from {min(per_c):.2f} to {max(per_c):.2f})"


def tau_nl_facts(records) -> dict[str, str]:
    slopes = tau_nl_slopes(timescale_table(records))
    return {"tc-nl-slope-relu": tau_nl_text(slopes, "relu"), "tc-nl-slope-erf": tau_nl_text(slopes, "erf")}


def tau_nl_slopes_view(table) -> tables.Table:
    """:func:`tau_nl_slopes` as the page shows it."""
    t = tau_nl_slopes(table)
    shown = pd.DataFrame({"activation": t.activation, "c": _names(t.c), "‖Z⁰‖_F at β = 1": t["z0_norm (beta = 1)"],
                          "exponent of τ_nl η̃ in β": t.slope, "its standard error": t.slope_se,
                          "values of β": t.points})
    return tables.show(shown, caption="The exponent of τ_nl η̃ in β, one log-log fit per activation and c (the "
                       "paper: 1).", unitless=("‖Z⁰‖_F at β = 1", "exponent of τ_nl η̃ in β",
                                               "its standard error", "values of β"), digits=3,
                       summary=f"{len(t)} fits: the exponent of τ_nl η̃ in β for each activation and c (the paper: "
                               "1)")


REMAINDER_EXPONENT = "exponent of the remainder for 1e-5 <= s <= 1e-2"


def remainder_table(records) -> pd.DataFrame:
    """Per run of ``tc-nl-step-scaling``: the exponent of the non-linear remainder of one step in the
    step size s over 1e-5 <= s <= 1e-2 (a line fit in log-log), remainder / s^2 at s = 1e-3, and the
    smooth second-order term."""
    rows = []
    for r in records:
        d = r["data"]
        s, rem = np.asarray(d["steps"]), np.asarray(d["remainder"])
        mid = (s >= 1e-5) & (s <= 1e-2)
        p = np.polyfit(np.log(s[mid]), np.log(rem[mid]), 1)[0] if mid.sum() >= 3 and (rem[mid] > 0).all() else np.nan
        rows.append({"activation": r["config"]["activation"], "c": r["config"]["c"],
                     REMAINDER_EXPONENT: p,
                     "remainder / s^2 at s = 1e-3": float(np.interp(-3, np.log10(s[::-1]), (rem / s**2)[::-1])),
                     "smooth term ||D^2 f|| / 2": d["second_order"]})
    return pd.DataFrame(rows)


def step_scaling_facts(records) -> dict[str, str]:
    t = remainder_table(records)
    return {f"tc-remainder-{act}": _range(t[t.activation == act][REMAINDER_EXPONENT]) for act in ("relu", "erf")}


def remainder_view(records) -> tables.Table:
    """:func:`remainder_table` as the page shows it."""
    t = remainder_table(records)
    shown = pd.DataFrame({"activation": t.activation, "c": _names(t.c),
                          "exponent of the remainder in s, 10⁻⁵ ≤ s ≤ 10⁻²": t[REMAINDER_EXPONENT],
                          "remainder / s² at s = 10⁻³": t["remainder / s^2 at s = 1e-3"],
                          "smooth term ‖D²f[d, d]‖ / 2": t["smooth term ||D^2 f|| / 2"]})
    return tables.show(shown, caption="The non-linear remainder of one step of size s (2: quadratic, as for a smooth "
                       "network).", digits=3, unitless=tuple(shown.columns[2:]))


# --- Fig. 4: the best learning rate against beta ------------------------------------------------------

def eta_star(records) -> list[dict]:
    """Per beta: the grid's best learning rate by mean final test accuracy over seeds (diverged runs
    count as chance), refined by a parabola through the best point and its two neighbours in
    log eta (the grid point itself when it lies on the edge)."""
    by_beta: dict[float, dict[float, list]] = {}
    for r in records:
        c = r["config"]
        by_beta.setdefault(c["beta"], {}).setdefault(c["lr"], []).append(_acc_or_chance(r))
    out = []
    for beta, grid in sorted(by_beta.items()):
        lrs = np.array(sorted(grid))
        acc = np.array([np.mean(grid[lr]) for lr in lrs])
        i = int(np.argmax(acc))
        best = float(lrs[i])
        if 0 < i < len(lrs) - 1:
            x = np.log(lrs[i - 1:i + 2])
            a, b, _ = np.polyfit(x, acc[i - 1:i + 2], 2)
            if a < 0:
                best = float(np.exp(np.clip(-b / (2 * a), x[0], x[-1])))
        out.append({"beta": beta, "eta_star": best, "grid_best": float(lrs[i]), "best_acc": float(acc[i]),
                    "on_edge": i in (0, len(lrs) - 1)})
    return out


def eta_star_fit(stars) -> stats.PowerLawFit | None:
    """eta* ~ beta^slope over the betas whose optimum is inside the grid (None if fewer than 3)."""
    inside = [s for s in stars if not s["on_edge"]]
    if len(inside) < 3:
        return None
    return stats.loglog_fit([s["beta"] for s in inside], [s["eta_star"] for s in inside])


def largest_training_lr(records, level: float = 0.5) -> pd.Series:
    """Per beta: the largest grid learning rate at which every seed ends above ``level``."""
    runs = pd.DataFrame([{"beta": r["config"]["beta"], "lr": r["config"]["lr"], "acc": _acc_or_chance(r)}
                         for r in records])
    worst = runs.groupby(["beta", "lr"]).acc.min().reset_index()
    return worst[worst.acc > level].groupby("beta").lr.max()


def largest_lr_fit(records) -> stats.PowerLawFit | None:
    """The exponent of :func:`largest_training_lr` in beta, leaving out any beta at which even the
    grid's largest rate trains (None if fewer than 3 betas remain)."""
    largest = largest_training_lr(records)
    top = pd.Series({b: max(r["config"]["lr"] for r in records if r["config"]["beta"] == b) for b in largest.index})
    edge = largest[largest < top[largest.index]]
    return stats.loglog_fit(edge.index, edge.values) if len(edge) >= 3 else None


def eta_star_table(records) -> pd.DataFrame:
    """:func:`eta_star` per beta with :func:`largest_training_lr`."""
    largest = largest_training_lr(records)
    return pd.DataFrame(eta_star(records)).assign(largest_training_lr=lambda d: d.beta.map(largest))


def exponent_estimate(fit: stats.PowerLawFit | None) -> Estimate | None:
    """A fitted power law's exponent with its regression t interval (n - 2 degrees of freedom)."""
    return None if fit is None else Estimate.regression(fit.slope, fit.slope_se, fit.n)


def eta_star_exponent(records) -> Estimate | None:
    """The exponent of eta* in beta (:func:`eta_star_fit`) with its regression interval."""
    return exponent_estimate(eta_star_fit(eta_star(records)))


def eta_star_facts(records) -> dict[str, str]:
    est, est_max = eta_star_exponent(records), exponent_estimate(largest_lr_fit(records))
    return {"tc-eta-slope": f"{est.text()} (95 % interval, {est.n} betas)" if est
            else "not measurable (fewer than 3 interior optima)",
            "tc-eta-max-slope": f"{est_max.text()} (95 % interval, {est_max.n} betas)" if est_max
            else "not measurable"}


def eta_star_view(records) -> tables.Table:
    """:func:`eta_star_table` as the page shows it."""
    t = eta_star_table(records)
    shown = pd.DataFrame({"β": t.beta, "η* (parabola in log η)": t.eta_star, "best grid η": t.grid_best,
                          "best mean test accuracy (%)": 100 * t.best_acc, "η* at the grid's edge": t.on_edge,
                          "largest η at which every seed trains": t.largest_training_lr})
    return tables.show(shown, caption="Per β: the best learning rate η* and the largest that trains (every seed above "
                       "50 %).", digits=3, unitless=("β", "η* (parabola in log η)", "best grid η",
                                                      "largest η at which every seed trains"))


# --- Fig. 5: the (beta, ||Z0||) phase plane -----------------------------------------------------------

def phase_table(records) -> pd.DataFrame:
    """One row per (beta, c) point at its best learning rate (by final test accuracy; diverged runs
    excluded): ||Z0||, the best f, the test accuracy, the training accuracy after ``EARLY_STEP``
    steps, the final ||Z||_F, and how many of the learning rates diverged."""
    groups: dict = {}
    for r in records:
        c = r["config"]
        groups.setdefault((c["beta"], c["c"]), []).append(r)
    rows = []
    for (beta, c), recs in sorted(groups.items()):
        ok = [r for r in recs if r["status"] == "ok"]
        row = {"beta": beta, "c": c, "z0_norm": recs[0]["data"].get("z0_norm", np.nan),
               "diverged": len(recs) - len(ok), "lr_factor": np.nan, "test_acc": np.nan, "early_acc": np.nan,
               "final_z_norm": np.nan}
        if ok:
            best = max(ok, key=lambda r: r["data"]["net"]["test_acc"][-1])
            d = best["data"]
            early = d["steps"].index(min(EARLY_STEP, best["config"]["steps"]))
            row.update(lr_factor=best["config"]["lr_factor"], test_acc=d["net"]["test_acc"][-1],
                       early_acc=d["net"]["train_acc"][early], final_z_norm=d["net"]["z_norm"][-1])
        rows.append(row)
    return pd.DataFrame(rows)


def base_logit_norm(plane) -> float:
    """||z0||_F of the base network: ||Z0|| / beta at c = 0 (the bound of the accessible region is
    ||Z0|| = sqrt 2 beta ||z0||, App. D.1)."""
    return float(plane[plane.c == 0.0].eval("z0_norm / beta").mean())


def phase_accuracy_grid(plane) -> pd.DataFrame:
    """The test accuracy at the best learning rate, c down and beta across."""
    return plane.pivot_table(index="c", columns="beta", values="test_acc")


def phase_accuracy_view(plane) -> tables.Table:
    """:func:`phase_accuracy_grid` in % as the page shows it: c down, beta across."""
    grid = 100 * phase_accuracy_grid(plane)
    grid.columns = [f"β = {b:g} (%)" for b in grid.columns]
    grid.index = pd.Index(_names(grid.index), name="c")
    return tables.show(grid, caption="Test accuracy at the best learning rate of each point of the phase plane, one "
                       "row per correlation c, one column per β.", digits=3)


def phase_facts(records) -> dict[str, str]:
    plane = phase_table(records)
    ok = plane.dropna(subset=["test_acc"])
    by_beta = ok.groupby("beta").test_acc.agg(["mean", "min", "max"])
    f_min = min(r["config"]["lr_factor"] for r in records)
    return {
        "tc-phase-best": f"{100 * ok.test_acc.max():.1f} % at beta = {ok.loc[ok.test_acc.idxmax(), 'beta']:g}",
        "tc-phase-beta-range": ", ".join(f"{b:g}: {100 * m:.1f}" for b, m in by_beta["mean"].items()),
        "tc-phase-spread-z": f"{100 * (by_beta['max'] - by_beta['min']).median():.1f}",
        "tc-phase-final-z": f"{ok.final_z_norm.min():.3g} to {ok.final_z_norm.max():.3g}",
        "tc-phase-z0-range": f"{ok.z0_norm.min():.2g} to {ok.z0_norm.max():.3g}",
        "tc-phase-diverged": f"{int(plane.diverged.sum())} of {len(records)}",
        "tc-phase-early-corr": f"{float(np.corrcoef(ok.early_acc, ok.test_acc)[0, 1]):.2f}",
        "tc-phase-early-beta": ", ".join(f"{b:g}: {100 * v:.0f}"
                                         for b, v in ok.groupby("beta").early_acc.mean().items()),
        "tc-phase-edge": f"{int((ok.lr_factor == f_min).sum())} of {len(ok)}",
    }


# --- Fig. 6 and Sec. 3.4: tuning beta -------------------------------------------------------------------

def tuned_lr_of(tune_records, batchnorm: bool) -> float:
    """eta_0 of Sec. 3.4: the grid learning rate of ``tc-fig6-tune`` with the best final test
    accuracy at beta = 1 for the network with or without BatchNorm (diverged runs count as 0)."""
    recs = [r for r in tune_records if r["config"]["batchnorm"] == batchnorm]
    best = max(recs, key=lambda r: r["data"]["final_test_acc"] if r["status"] == "ok" else 0.0)
    return float(best["config"]["lr"])


def beta_sweep_table(records) -> pd.DataFrame:
    """Per (network, beta): mean, std and maximum of the final test accuracy over seeds (diverged runs
    count as chance, 0.1) and the number diverged."""
    rows = [{"batchnorm": r["config"]["batchnorm"], "beta": r["config"]["beta"], "seed": r["config"]["seed"],
             "acc": _acc_or_chance(r), "diverged": r["status"] != "ok"} for r in records]
    return (pd.DataFrame(rows).groupby(["batchnorm", "beta"])
            .agg(mean=("acc", "mean"), std=("acc", "std"), max=("acc", "max"), seeds=("acc", "size"),
                 diverged=("diverged", "sum"))
            .reset_index())


def beta_sweep_percent(table) -> pd.DataFrame:
    """:func:`beta_sweep_table` with the accuracies in percent."""
    return table.assign(**{col: 100 * table[col] for col in ("mean", "std", "max")})


def beta_sweep_view(table) -> tables.Table:
    """:func:`beta_sweep_table` in % as the page shows it."""
    shown = pd.DataFrame({"BatchNorm": table.batchnorm.astype(bool), "β": table.beta,
                          "mean test accuracy (%)": 100 * table["mean"], "standard deviation (%)": 100 * table["std"],
                          "best seed (%)": 100 * table["max"], "seeds": table.seeds, "diverged": table.diverged})
    return tables.show(shown, caption="Step 2: final test accuracy at η₀/β over seeds (a diverged run counts as "
                       "chance, 10 %).", digits=3, unitless=("β", "seeds", "diverged"),
                       summary=f"{len(table)} rows, one per network and β: the mean, standard deviation and best "
                               f"seed of the final test accuracy over {int(table.seeds.max())} seeds")


@dataclass(frozen=True)
class BestBeta:
    """The beta with the best mean final test accuracy of one network, that mean, the mean at beta = 1
    (nan if the grid lacks it), the runs behind the table and the seeds per beta."""

    beta: float
    mean: float
    mean_at_one: float
    runs: int
    seeds: int


def best_beta(table, batchnorm: bool) -> BestBeta:
    g = table[table.batchnorm == batchnorm].set_index("beta")
    best = float(g["mean"].idxmax())
    return BestBeta(best, float(g.loc[best, "mean"]), float(g["mean"].get(1.0, math.nan)), int(g.seeds.sum()),
                    int(g.seeds.max()))


def best_beta_text(best: BestBeta) -> str:
    text = f"beta = {best.beta:g} ({100 * best.mean:.2f} % mean"
    return text + (")" if best.beta == 1.0 else f", {100 * best.mean_at_one:.2f} % at beta = 1)")


def beta_sweep_facts(tune_records, sweep_records) -> dict[str, str]:
    bt = beta_sweep_table(sweep_records)
    eta0 = {bn: tuned_lr_of(tune_records, bn) for bn in NORMS}
    plain = bt[~bt.batchnorm].set_index("beta")
    flat = plain[plain.index >= 0.3]["mean"]
    normed = bt[bt.batchnorm]["mean"]
    grid = sorted({r["config"]["lr"] for r in tune_records})
    edge = ("the smallest learning rate of the grid" if eta0[True] == grid[0] else
            "the largest learning rate of the grid" if eta0[True] == grid[-1] else "inside the grid")
    return {
        "tc-fig6-plain-best": best_beta_text(best_beta(bt, False)),
        "tc-fig6-bn-best": best_beta_text(best_beta(bt, True)),
        "tc-fig6-plain-eta0": f"{eta0[False]:g}",
        "tc-fig6-bn-eta0": f"{eta0[True]:g}",
        "tc-fig6-small-std": f"{100 * bt[bt.beta <= 0.03]['std'].mean():.2f}",
        "tc-fig6-std-one": f"{100 * bt[bt.beta == 1.0]['std'].mean():.2f}",
        "tc-fig6-plain-small": ", ".join(f"beta = {b:g}: mean {100 * r['mean']:.1f} %, best seed {100 * r['max']:.1f} %"
                                         for b, r in plain[plain.index <= 0.03].iterrows()) or "n/a",
        "tc-fig6-plain-flat": f"{100 * flat.min():.1f} to {100 * flat.max():.1f} %",
        "tc-fig6-bn-range": f"{100 * normed.min():.1f} to {100 * normed.max():.1f} %",
        "tc-fig6-bn-edge": edge,
    }


# Fig. 6 as comparisons under DESIGN.md section 8: paired over seeds, each with its 95 % interval.
# The cached ``tc-fig6-*`` sweep tuned eta0 on test accuracy (one seed; with BatchNorm at the grid's
# edge), so the claims read ``tc-fig6-val-*``: eta0 picked on a validation split, more seeds.

def beta_runs(records) -> pd.DataFrame:
    """One row per run of a beta sweep: network, beta, seed, final test accuracy and, for runs with a
    validation split (``n_val``), the final validation accuracy (nan without one); a diverged run
    counts as chance in both."""
    rows = []
    for r in records:
        c, ok = r["config"], r["status"] == "ok"
        val = (r["data"]["final_val_acc"] if ok else CHANCE) if c.get("n_val") else math.nan
        rows.append({"batchnorm": bool(c["batchnorm"]), "beta": c["beta"], "seed": c["seed"],
                     "test": _acc_or_chance(r), "val": val})
    return pd.DataFrame(rows, columns=["batchnorm", "beta", "seed", "test", "val"])


def _grid(runs, batchnorm: bool, column: str = "test") -> pd.DataFrame:
    """Seeds down, betas across, for one network."""
    return runs[runs.batchnorm == batchnorm].pivot_table(index="seed", columns="beta", values=column)


def paired_vs_one(runs, batchnorm: bool, beta: float) -> Estimate:
    """Test accuracy at ``beta`` minus at beta = 1, paired over the seeds that ran both (paired t)."""
    g = _grid(runs, batchnorm)[[beta, 1.0]].dropna()
    return Estimate.paired(g[beta].to_numpy(), g[1.0].to_numpy(), unit="pt")


def tuned_beta_gain(runs, batchnorm: bool = False) -> Estimate:
    """Sec. 3.4's tuning of beta below 1, picked without test data: for each seed s the beta < 1 with
    the best mean validation accuracy over the *other* seeds, and the mean over seeds of the test
    accuracy there minus at beta = 1 (paired t over seeds). ``facts``: how often each beta was
    picked. ConfigError without a validation split."""
    val, test = _grid(runs, batchnorm, "val"), _grid(runs, batchnorm)
    below = [b for b in val.columns if b < 1.0]
    if not below or 1.0 not in test or val[below].isna().all().all():
        raise ConfigError("tuning beta needs a sweep with betas below 1, beta = 1 and a validation split (n_val)")
    diffs, picks = [], {}
    for seed in test.index[test[1.0].notna()]:
        pick = float(val.drop(index=seed)[below].mean().idxmax())
        picks[pick] = picks.get(pick, 0) + 1
        diffs.append(test.loc[seed, pick] - test.loc[seed, 1.0])
    est = Estimate.mean(diffs, unit="pt", method="paired t over seeds")
    return Estimate(est.value, est.lo, est.hi, est.n, est.unit, est.method, se=est.se, df=est.df,
                    facts={"picked": dict(sorted(picks.items()))})


def best_seed_gain(runs, batchnorm: bool, beta: float) -> Estimate:
    """The best seed's test accuracy at ``beta`` minus the best seed's at beta = 1 (the same seeds, so
    the same number of draws at each), with a bootstrap interval over seeds (a seed resampled with
    both its runs)."""
    g = _grid(runs, batchnorm)[[beta, 1.0]].dropna()
    pairs = list(zip(g[beta], g[1.0]))
    return Estimate.bootstrap(pairs, lambda items: max(a for a, _ in items) - max(b for _, b in items), unit="pt",
                              method="bootstrap over seeds")


def paired_table(runs) -> pd.DataFrame:
    """Per network and beta other than 1: :func:`paired_vs_one` in points, its interval, n and the
    smallest difference it could detect (80 % power)."""
    rows = []
    for bn in sorted(runs.batchnorm.unique()):
        for beta in sorted(b for b in runs[runs.batchnorm == bn].beta.unique() if b != 1.0):
            e = paired_vs_one(runs, bn, beta)
            rows.append({"batchnorm": bn, "beta": beta, "minus beta = 1 (pt)": 100 * e.value, "lo (pt)": 100 * e.lo,
                         "hi (pt)": 100 * e.hi, "seeds": e.n, "detectable (pt)": 100 * e.detectable()})
    return pd.DataFrame(rows)


def paired_view(records) -> tables.Table:
    """:func:`paired_table` of a beta sweep's records as the page shows it."""
    t = paired_table(beta_runs(records))
    shown = pd.DataFrame({"BatchNorm": t.batchnorm.astype(bool), "β": t.beta,
                          "test accuracy minus at β = 1 (pt)": t["minus beta = 1 (pt)"],
                          "95 % interval, low (pt)": t["lo (pt)"], "95 % interval, high (pt)": t["hi (pt)"],
                          "seeds": t.seeds,
                          "smallest difference detectable with 80 % power (pt)": t["detectable (pt)"]})
    return tables.show(shown, caption="Each β against β = 1, paired over seeds.", digits=3, unitless=("β", "seeds"),
                       summary=f"{len(t)} comparisons, each β against β = 1 paired over seeds; "
                               f"{int((t['lo (pt)'] > 0).sum())} lie above 0")


def comparison_text(est: Estimate) -> str:
    """``est [lo, hi] pt (n seeds; detectable d pt)``: a comparison with its n and its power."""
    return f"{est.text(2)} ({est.n} seeds; the smallest difference detectable with 80 % power: " \
           f"{100 * est.detectable():.2g} pt)"


def validated_lr(tune_records, batchnorm: bool) -> tuple[float, bool]:
    """eta_0 picked on the validation split: the learning rate of ``tc-fig6-val-tune`` (beta = 1) with
    the best mean final validation accuracy over the tuning seeds (a diverged run counts as chance),
    and whether it lies on the edge of the grid."""
    rows = [{"lr": r["config"]["lr"], "val": r["data"]["final_val_acc"] if r["status"] == "ok" else CHANCE}
            for r in tune_records if bool(r["config"]["batchnorm"]) == batchnorm]
    if not rows:
        raise ConfigError(f"no tuning runs {'with' if batchnorm else 'without'} BatchNorm")
    means = pd.DataFrame(rows).groupby("lr").val.mean()
    best = float(means.idxmax())
    return best, len(means) > 2 and best in (means.index.min(), means.index.max())


def small_beta(runs, batchnorm: bool = False) -> float:
    """The smallest beta of one network's sweep (the paper's Fig. 6(b): beta <= 1e-2)."""
    return float(runs[runs.batchnorm == batchnorm].beta.min())


def fig6_comparison_facts(records) -> dict[str, str]:
    """The chapter's paired comparisons of one beta sweep: each beta < 1 against 1 without BatchNorm,
    beta = 10 against 1 with it, how many comparisons of :func:`paired_table` lie above 0, the best
    seed at the smallest beta against the best at 1 without BatchNorm, and (with a validation split)
    beta tuned below 1 against 1."""
    runs = beta_runs(records)
    plain = _grid(runs, False)
    table = paired_table(runs)
    small = small_beta(runs)
    out = {"tc-fig6-plain-paired": "; ".join(f"beta = {b:g}: {paired_vs_one(runs, False, b).text(2)}"
                                             for b in plain.columns if b < 1.0) or "n/a",
           "tc-fig6-bn-ten": (comparison_text(paired_vs_one(runs, True, 10.0)) if 10.0 in _grid(runs, True)
                              else "n/a (no beta = 10 with BatchNorm in this sweep)"),
           "tc-fig6-above-zero": f"{int((table['lo (pt)'] > 0).sum())} of {len(table)}",
           "tc-fig6-best-seed": f"beta = {small:g}: {comparison_text(best_seed_gain(runs, False, small))}"}
    if runs.val.notna().any():
        gain = tuned_beta_gain(runs)
        out["tc-fig6-tuned"] = (comparison_text(gain) + "; picked: "
                                + ", ".join(f"beta = {b:g} for {k}" for b, k in gain.facts["picked"].items()))
    return out


VALIDATED_KEYS = ("tc-fig6-val-eta0", "tc-fig6-val-plain-paired", "tc-fig6-val-above-zero", "tc-fig6-val-bn-ten",
                  "tc-fig6-val-best-seed", "tc-fig6-val-tuned")


def validated_facts(tune_records=None, sweep_records=None) -> dict[str, str]:
    """:func:`fig6_comparison_facts` of ``tc-fig6-val-sweep`` and the validated eta0 of
    ``tc-fig6-val-tune``; every key says "not yet run" (and how to run it) while they are not cached."""
    if tune_records is None or sweep_records is None:
        todo = "not yet run (`python -m thermo run tc-fig6-val-tune tc-fig6-val-sweep --profile quick`)"
        return dict.fromkeys(VALIDATED_KEYS, todo)
    eta0 = {bn: validated_lr(tune_records, bn)[0] for bn in NORMS}
    facts = fig6_comparison_facts(sweep_records)
    facts = {key.replace("tc-fig6-", "tc-fig6-val-"): text for key, text in facts.items()}
    return {"tc-fig6-val-eta0": f"{eta0[False]:g} without BatchNorm and {eta0[True]:g} with it", **facts}


# --- Fig. 7 (App. C): tau_z against the infinite-width kernel ----------------------------------------

def ntk_prediction_table(records) -> pd.DataFrame:
    """One row per (activation, labels, beta, c) of ``tc-fig7-ntk``."""
    return pd.DataFrame([{"activation": r["config"]["activation"], "labels": r["config"]["labels"],
                          "beta": r["config"]["beta"], **row}
                         for r in records if r["status"] == "ok" for row in r["data"]["rows"]])


def ntk_groups(table) -> pd.DataFrame:
    """Per (activation, labels): the correlation of log(tau_z eta_tilde / ||Z0||) with the log of the
    infinite-width prediction, the ratio measurement / prediction (mean, max / min), and the range
    (max / min) of tau_z eta_tilde / ||Z0|| itself."""
    rows = []
    for (act, labels), g in table.groupby(["activation", "labels"]):
        ratio, span = g.tau_z_eta_over_z0 / g.inverse_drive, g.tau_z_eta_over_z0.max() / g.tau_z_eta_over_z0.min()
        rows.append({"activation": act, "labels": labels, "points": len(g),
                     "corr of logs": float(np.corrcoef(np.log(g.inverse_drive), np.log(g.tau_z_eta_over_z0))[0, 1]),
                     "ratio mean": float(ratio.mean()), "ratio spread (max/min)": float(ratio.max() / ratio.min()),
                     "range of tau_z eta/||Z0|| (max/min)": float(span)})
    return pd.DataFrame(rows)


def ntk_groups_view(table) -> tables.Table:
    """:func:`ntk_groups` as the page shows it."""
    g = ntk_groups(table)
    shown = pd.DataFrame({"activation": g.activation, "labels": g.labels, "points": g.points,
                          "correlation of the logarithms": g["corr of logs"],
                          "measurement / prediction, mean": g["ratio mean"],
                          "measurement / prediction, max / min": g["ratio spread (max/min)"],
                          "τ_z η̃ / ‖Z⁰‖_F, max / min": g["range of tau_z eta/||Z0|| (max/min)"]})
    return tables.show(shown, caption="Per non-linearity and labels: how closely the infinite-width kernel predicts "
                       "τ_z η̃ / ‖Z⁰‖_F.", digits=4, unitless=tuple(shown.columns[2:]))


def ntk_facts(records) -> dict[str, str]:
    groups = ntk_groups(ntk_prediction_table(records))
    span = groups["range of tau_z eta/||Z0|| (max/min)"]
    return {
        "tc-fig7-corr": _range(groups["corr of logs"], ".3f"),
        "tc-fig7-spread": f"{groups['ratio spread (max/min)'].max():.2f}",
        "tc-fig7-range": _range(span),
        "tc-fig7-by-group": ", ".join(f"{r['activation']} with {r['labels']} labels {r[span.name]:.1f}"
                                      for _, r in groups.iterrows()),
        "tc-fig7-ratio": _range(groups["ratio mean"]),
    }


# --- App. A.3: the conditioning of the linearized dynamics --------------------------------------------

def conditioning_growth(record, min_kappa_ratio: float = 10.0) -> dict | None:
    """The exponential rate of kappa in ||beta z||_F: slope and its standard error of ln kappa against
    ||beta z|| over the points where kappa exceeds ``min_kappa_ratio`` times the NTK's own."""
    rows = [row for row in record["data"]["rows"]
            if row["kappa"] is not None and row["kappa"] > min_kappa_ratio * record["data"]["kappa_ntk"]]
    if len(rows) < 3:
        return None
    fit = sps.linregress([row["z_norm"] for row in rows], np.log([row["kappa"] for row in rows]))
    return {"slope": float(fit.slope), "slope_se": float(fit.stderr), "points": len(rows), "r2": float(fit.rvalue**2)}


def conditioning_table(records) -> pd.DataFrame:
    """One row per (activation, beta): ||beta z0||_F and kappa (None past float64 rounding)."""
    return pd.DataFrame([{"activation": r["config"]["activation"], **row}
                         for r in records for row in r["data"]["rows"]])


def conditioning_view(records) -> tables.Table:
    """:func:`conditioning_table` as the page shows it."""
    t = conditioning_table(records)
    shown = pd.DataFrame({"activation": t.activation, "β": t.beta, "‖βz⁰‖_F": t.z_norm, "κ(H)": t.kappa})
    kappa = t.kappa.dropna()
    return tables.show(shown, caption="The condition number of the linearized dynamics (-: past float64 rounding).",
                       digits=3, unitless=("β", "‖βz⁰‖_F", "κ(H)"),
                       summary=f"{len(t)} rows, one per activation and β ({t.beta.nunique()} values from "
                               f"{t.beta.min():.3g} to {t.beta.max():.3g}): κ(H) from {kappa.min():.3g} to "
                               f"{kappa.max():.3g}")


def conditioning_facts(records) -> dict[str, str]:
    growth = {r["config"]["activation"]: conditioning_growth(r) for r in records}
    return {
        "tc-a3-growth": ", ".join(f"{a}: ln kappa grows by "
                                  f"{Estimate.regression(g['slope'], g['slope_se'], g['points']).text()} (95 % "
                                  f"interval) per unit of ||beta z0|| (R^2 {g['r2']:.3f}, {g['points']} points)"
                                  for a, g in growth.items() if g) or "n/a",
        "tc-a3-small": ", ".join(f"{r['config']['activation']} "
                                 f"{r['data']['rows'][0]['kappa'] / r['data']['kappa_ntk']:.3f}" for r in records),
    }

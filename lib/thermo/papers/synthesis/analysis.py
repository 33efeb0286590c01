"""The synthesis chapter's analysis (``notebooks/synthesis/01-four-thermometers``): records in,
tables, named facts and estimates out; the single source of every number the chapter states and
every claim (:mod:`thermo.papers.synthesis.claims`) measures.

Records are those of :mod:`thermo.papers.synthesis.runs` (``syn-schedules``, ``syn-beta``): in the
step history ``alpha:<layer>`` (at step 0 and after every epoch), ``apt_position`` and
``apt_position:<relu>`` (every ``probe_every`` steps), ``logit_scale`` (step 0 and every epoch),
``eff_lr`` and ``phys_time`` (every ``probe_every`` steps); in the history, after every evaluation,
``phys_time``, ``eval_step``, ``tstar_step`` and ``tstar_time``; under ``thermometers`` the layers
in network order, the (ReLU, weight layer) pairs, the random-matrix alphas and the seconds each
thermometer took. By question of the chapter:

- the four readings over training (:func:`reading_curves`, :func:`final_readings`, :func:`reading_facts`);
- do layers that cool first have the smallest alpha beyond their shape? (:func:`layer_table`,
  :func:`cooling_time`, :func:`cool_alpha_table`, :func:`cool_alpha_estimate`);
- does TempBalance change the order in which layers cool? (:func:`cooling_orders`,
  :func:`order_pairs`, :func:`order_estimate`);
- does ActCoolLR change the alphas? (:func:`alpha_shift_table`, :func:`alpha_shift_estimate`);
- does APT cool on the clock eta * lambda * t, and does the test accuracy peak at a common value of
  it? (:func:`clock_points`, :func:`clock_table`, :func:`clock_estimate`, :func:`peak_table`,
  :func:`peak_spread_estimate`);
- is the final logit scale set by beta or by the schedule? (:func:`logit_table`,
  :func:`beta_slope_estimate`, :func:`schedule_spread_estimate`);
- what the thermometers cost (:func:`cost_table`, :func:`cost_estimate`, :func:`bench_cost`).

Every interval is a :class:`thermo.claims.Estimate` (95 %). Intervals over seeds come from a
bootstrap over seeds (:func:`over_seeds`: the seeds are resampled with replacement and each brings
all its runs). A ``*_facts`` function returns ``{glue key: text}`` for ``figures.glue_facts``; a
question whose interval contains 0 is answered "the data cannot tell" (:func:`answer`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats as st

from thermo import paths
from thermo.claims import Estimate
from thermo.errors import MissingResults
from thermo.papers.synthesis import configs

APT = "apt_position"
READINGS = ("apt", "alpha_excess", "logit_scale", "eff_lr", "phys_time")
UNITLESS = ("seed", "final alpha excess", "final logit scale", "eta lambda t at the end", "eta lambda t at t*",
            "schedules", "layers", "censored layers", "clock gain")  # dimensionless columns the chapter shows
NAMES = {"cosine": "cosine", "tempbalance": "TempBalance", "actcool": "ActCoolLR", "autol2": "AutoL2"}
FRACTION = 0.5  # a layer has cooled when its per-epoch mean APT falls below this fraction of its first


class Series(NamedTuple):
    steps: np.ndarray
    values: np.ndarray


# --- records --------------------------------------------------------------------------------------

def finished(records) -> list[dict]:
    """The runs that ended ``ok``."""
    return [r for r in records if r["status"] == "ok"]


def at_beta(records, beta: float = 1.0) -> list[dict]:
    """The finished runs at inverse temperature ``beta``."""
    return [r for r in finished(records) if math.isclose(r["config"]["beta"], beta)]


def by_seed(records, schedule: str, beta: float = 1.0) -> dict[int, dict]:
    """``{seed: run}`` of one schedule at ``beta``."""
    return {r["config"]["seed"]: r for r in at_beta(records, beta) if r["config"]["schedule"] == schedule}


def runs_of(records, *schedules: str, beta: float = 1.0) -> list[dict]:
    """The finished runs of ``schedules`` at ``beta`` (every schedule if none is named)."""
    return [r for r in at_beta(records, beta) if not schedules or r["config"]["schedule"] in schedules]


def try_estimate(fn: Callable, *args) -> Estimate | None:
    """``fn(*args)``, or None where the data cannot give an interval (too few seeds, runs or layers)."""
    try:
        return fn(*args)
    except MissingResults:
        return None


def setting_facts(records, beta_records) -> dict[str, str]:
    """The runs' settings as the chapter states them, from the records' configs."""
    c = finished(records)[0]["config"] if finished(records) else {}
    if not c:
        raise MissingResults("no finished run of syn-schedules")
    net = f"{c['model']} at width {c['width']:g}" + (f" (hidden layers {', '.join(map(str, c['hidden']))})"
                                                    if c.get("hidden") else "")
    betas = sorted({r["config"]["beta"] for r in finished(beta_records)} | {1.0})
    ctl = {r["config"]["schedule"]: r["config"] for r in finished(records)}
    tb, ac, al = ctl.get("tempbalance", {}), ctl.get("actcool", {}), ctl.get("autol2", {})
    return {"syn-network": net, "syn-data": f"{c['n_train']:,} training images of {c['dataset']}, "
                                            f"scored on {c['n_test']:,} test images after every epoch",
            "syn-training": f"{c['epochs']} epochs, batches of {c['batch_size']}, SGD with momentum {c['momentum']:g}, "
                            f"eta_0 = {c['lr']:g}, weight decay {c['weight_decay']:g}",
            "syn-every": f"{c['probe_every']}", "syn-probe": f"{c['probe_size']}",
            "syn-runs": f"{len(finished(records))} of {len(records)}",
            "syn-seed-list": ", ".join(str(s) for s in sorted({r["config"]["seed"] for r in finished(records)})),
            "syn-betas": ", ".join(f"{b:g}" for b in betas),
            "syn-tb-scales": f"{tb.get('s1', float('nan')):g} to {tb.get('s2', float('nan')):g}",
            "syn-actcool": f"T_start = {ac.get('t_start', float('nan')):g}, gamma = {ac.get('gamma', float('nan')):g}, "
                           f"from a learning rate of {ac.get('lr_init', float('nan')):g}",
            "syn-autol2": f"lambda = {al.get('l2_start', float('nan')):g}, measuring every "
                          f"{al.get('l2_every', 0)} steps"}


def steps_per_epoch(record) -> int:
    d = record["data"]
    return max(1, d["steps_done"] // max(1, d["epochs_done"]))


def series(record, key: str) -> Series:
    """``(steps, values)`` of one reading in the step history (a stored ``None`` is NaN)."""
    h = record["data"]["step_history"]
    if key not in h:
        raise MissingResults(f"run {record['config'].get('schedule')} seed {record['config'].get('seed')} has no "
                             f"reading {key!r}")
    values = np.array([np.nan if v is None else v for v in h[key]], dtype=float)
    return Series(np.asarray(h[f"step:{key}"], dtype=float), values)


def epoch_means(record, key: str) -> tuple[np.ndarray, np.ndarray]:
    """The mean of a reading over the readings of each epoch, epochs counted from 1 (the history
    counts steps from 1, after the optimizer step); epochs without a reading are left out."""
    steps, values = series(record, key)
    epoch = np.minimum(((steps - 1) // steps_per_epoch(record)).astype(int), record["config"]["epochs"] - 1)
    out = [(e + 1, float(np.nanmean(values[epoch == e]))) for e in np.unique(epoch)]
    return np.array([e for e, _ in out], dtype=float), np.array([v for _, v in out], dtype=float)


def thermo_info(record) -> dict:
    return record["data"]["thermometers"]


def alpha_excess(record) -> Series:
    """The mean over the alpha thermometer's layers of alpha minus the layer's random-matrix alpha,
    at each reading (step 0 and every epoch end)."""
    info = thermo_info(record)
    rows = [series(record, f"alpha:{name}") for name in info["alpha_layers"]]
    base = np.array([info["alpha_baseline"][name] for name in info["alpha_layers"]])
    values = np.nanmean(np.array([r.values for r in rows]) - base[:, None], axis=0)
    return Series(rows[0].steps, values)


def _curve(record, reading: str) -> tuple[np.ndarray, np.ndarray]:
    """One reading of one run against epochs (fractional): per-epoch means for APT (at mid-epoch)."""
    spe = steps_per_epoch(record)
    if reading == "apt":
        e, v = epoch_means(record, APT)
        return e - 0.5, v
    if reading == "alpha_excess":
        s = alpha_excess(record)
        return s.steps / spe, s.values
    s = series(record, reading)
    return s.steps / spe, s.values


def reading_curves(records, beta: float = 1.0) -> pd.DataFrame:
    """The five readings over training (APT, alpha excess, logit scale, effective LR, physical time),
    per schedule at ``beta``, averaged over seeds: columns schedule, reading, epoch, value, seeds."""
    rows = []
    for r in at_beta(records, beta):
        for reading in READINGS:
            x, v = _curve(r, reading)
            rows += [{"schedule": r["config"]["schedule"], "reading": reading, "epoch": round(float(a), 6),
                      "value": float(b), "seed": r["config"]["seed"]} for a, b in zip(x, v)]
    frame = pd.DataFrame(rows, columns=["schedule", "reading", "epoch", "value", "seed"])
    return (frame.groupby(["schedule", "reading", "epoch"]).agg(value=("value", "mean"), seeds=("seed", "nunique"))
            .reset_index())


def peak(record) -> tuple[float, float]:
    """``(t*, tau*)``: the final running time-to-peak of the test accuracy (in steps) and the physical
    time eta * lambda * t there, as the L2 clock recorded them (NaN if the curve had no peak)."""
    h = record["data"]["history"]
    step, tau = h.get("tstar_step", [None])[-1], h.get("tstar_time", [None])[-1]
    return (np.nan if step is None else float(step)), (np.nan if tau is None else float(tau))


def final_readings(records, beta: float = 1.0) -> pd.DataFrame:
    """Per run at ``beta``: the final value of each thermometer, the peak t* and tau*, the final test
    accuracy. Units in the column names."""
    rows = []
    for r in at_beta(records, beta):
        h, spe = r["data"]["history"], steps_per_epoch(r)
        t_star, tau_star = peak(r)
        rows.append({"schedule": NAMES[r["config"]["schedule"]], "seed": r["config"]["seed"],
                     "final mean APT (bits)": float(epoch_means(r, APT)[1][-1]),
                     "final alpha excess": float(alpha_excess(r).values[-1]),
                     "final logit scale": float(series(r, "logit_scale").values[-1]),
                     "eta lambda t at the end": float(h["phys_time"][-1]),
                     "test-accuracy peak t* (epochs)": t_star / spe, "eta lambda t at t*": tau_star,
                     "final test accuracy (%)": 100 * r["data"]["final_test_acc"]})
    return pd.DataFrame(rows)


def reading_summary(finals: pd.DataFrame) -> pd.DataFrame:
    """:func:`final_readings` averaged over seeds, one row per schedule in the order of the chapter."""
    order = [NAMES[s] for s in configs.SCHEDULES]
    out = finals.drop(columns="seed").groupby("schedule").mean()
    return out.reindex([s for s in order if s in out.index])


def reading_facts(finals: pd.DataFrame) -> dict[str, str]:
    s = reading_summary(finals)

    def each(column, fmt):
        return ", ".join(f"{name} {fmt.format(v)}" for name, v in s[column].items())

    return {"syn-final-apt": each("final mean APT (bits)", "{:.2g}"),
            "syn-final-excess": each("final alpha excess", "{:+.2f}"),
            "syn-final-logit": each("final logit scale", "{:.1f}"),
            "syn-final-time": each("eta lambda t at the end", "{:.3g}"),
            "syn-final-acc": each("final test accuracy (%)", "{:.1f} %"),
            "syn-seeds": f"{finals.seed.nunique()}"}


# --- intervals over seeds ------------------------------------------------------------------------

def over_seeds(values: dict, statistic: Callable | None = None, unit: str = "", detail: str = "") -> Estimate:
    """A statistic of per-seed data with its bootstrap interval over seeds. ``values`` maps a seed
    to its data; ``statistic`` (default: the mean of every value of the seeds drawn, each seed with
    all its values) takes the list of seeds drawn (with repetitions)."""
    clean = {s: np.atleast_1d(np.asarray(v, dtype=float)) for s, v in values.items()}
    clean = {s: v[np.isfinite(v)] for s, v in clean.items()}
    seeds = sorted(s for s, v in clean.items() if v.size)
    if len(seeds) < 2:
        raise MissingResults(f"{len(seeds)} seed(s) with a finite measurement; an interval over seeds needs 2")

    def mean_of(drawn):
        return float(np.mean(np.concatenate([clean[s] for s in drawn])))

    if not math.isfinite((statistic or mean_of)(seeds)):
        raise MissingResults("the measurement is not finite (constant readings, or too few layers or runs)")
    return Estimate.bootstrap(seeds, statistic or mean_of, method="bootstrap over seeds", unit=unit,
                              detail=detail)


DIGITS = 2  # significant digits of the chapter's estimates: three seeds do not support a third


def answer(e: Estimate | None, positive: str, negative: str, why_none: str = "not measurable") -> str:
    """A question's answer: the estimate with its interval and what its sign says, or "the data
    cannot tell" when the interval contains 0."""
    if e is None:
        return f"not measurable ({why_none})"
    if e.lo > 0:
        return f"{e.text(DIGITS)}: {positive}"
    if e.hi < 0:
        return f"{e.text(DIGITS)}: {negative}"
    return f"{e.text(DIGITS)}: the data cannot tell (the interval contains 0)"


def spearman(a, b) -> float:
    """Spearman's rank correlation of ``a`` and ``b`` (NaN if either is constant or too short)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or np.ptp(a[ok]) == 0 or np.ptp(b[ok]) == 0:
        return float("nan")
    return float(st.spearmanr(a[ok], b[ok]).statistic)


# --- layers: when each cools, and its alpha ------------------------------------------------------

def cooling_time(epochs, means, fraction: float = FRACTION) -> float:
    """The epoch at which a layer has cooled: where its per-epoch mean APT first falls below
    ``fraction`` of its first epoch's, interpolated linearly between the two epochs around the
    crossing; one epoch past the last if it never does (censored at the end of training)."""
    e, m = np.asarray(epochs, dtype=float), np.asarray(means, dtype=float)
    threshold = fraction * m[0]
    below = np.nonzero(m < threshold)[0]
    if below.size == 0:
        return float(e[-1] + 1)
    i = int(below[0])
    return float(e[i - 1] + (m[i - 1] - threshold) / (m[i - 1] - m[i]) * (e[i] - e[i - 1]))


def layer_table(record) -> pd.DataFrame:
    """One row per (ReLU, weight layer) pair of a run, in network order: the depth (the pair's index),
    the cooling epoch of the ReLU's APT (:func:`cooling_time`), its first-epoch mean APT, and the
    weight layer's final alpha, random-matrix alpha and their difference (the excess)."""
    info = thermo_info(record)
    rows = []
    for depth, (relu, layer) in enumerate(info["pairs"]):
        e, m = epoch_means(record, f"{APT}:{relu}")
        alpha = float(series(record, f"alpha:{layer}").values[-1])
        base = float(info["alpha_baseline"][layer])
        out, inp = info["shapes"][layer][:2]
        rows.append({"depth": depth, "relu": relu, "layer": layer, "channels": int(out), "square": out == inp,
                     "cooling epoch": cooling_time(e, m), "first-epoch APT": float(m[0]), "alpha": alpha,
                     "random alpha": base, "alpha excess": alpha - base})
    return pd.DataFrame(rows)


WITHIN_MIN = 4  # the fewest square layers of one width that a within-shape rank correlation uses


def within_shapes(t: pd.DataFrame) -> float:
    """Spearman's correlation of cooling epoch and alpha excess among the square layers of one width
    (the same shape, so the same random-matrix alpha), averaged over the widths with at least
    ``WITHIN_MIN`` of them; NaN if none has."""
    rhos = [spearman(g["cooling epoch"], g["alpha excess"]) for _, g in t[t.square].groupby("channels")
            if len(g) >= WITHIN_MIN]
    rhos = [r for r in rhos if np.isfinite(r)]
    return float(np.mean(rhos)) if rhos else float("nan")


def width_summary(records, beta: float = 1.0) -> pd.DataFrame:
    """Per output width of the paired layers, over every run at ``beta``: the mean cooling epoch and
    the mean final alpha excess."""
    t = pd.concat([layer_table(r) for r in at_beta(records, beta)])
    return t.groupby("channels")[["cooling epoch", "alpha excess"]].mean()


def first_seed_layers(records, beta: float = 1.0) -> dict[str, pd.DataFrame]:
    """{schedule: :func:`layer_table`} of the runs of the first seed (in the configs' order)."""
    runs = at_beta(records, beta)
    if not runs:
        raise MissingResults("no finished run")
    first = runs[0]["config"]["seed"]
    return {r["config"]["schedule"]: layer_table(r) for r in runs if r["config"]["seed"] == first}


def cool_alpha_table(records, beta: float = 1.0) -> pd.DataFrame:
    """Per run at ``beta``: Spearman's correlation between a layer's cooling epoch and its final
    alpha excess (positive: the layers that cool first end with the smallest alpha beyond their shape)
    and between cooling epoch and the raw alpha."""
    rows = []
    for r in at_beta(records, beta):
        t = layer_table(r)
        rows.append({"schedule": r["config"]["schedule"], "seed": r["config"]["seed"],
                     "rho (cooling, excess)": spearman(t["cooling epoch"], t["alpha excess"]),
                     "rho (cooling, alpha)": spearman(t["cooling epoch"], t["alpha"]),
                     "rho (cooling, excess within shapes)": within_shapes(t),
                     "censored layers": int((t["cooling epoch"] > r["config"]["epochs"]).sum()), "layers": len(t)})
    return pd.DataFrame(rows)


def cool_alpha_estimate(table: pd.DataFrame, column: str = "rho (cooling, excess)") -> Estimate:
    """The mean over runs (every schedule) of a rank correlation of :func:`cool_alpha_table`, with its
    bootstrap interval over seeds."""
    values = {s: g[column].to_numpy() for s, g in table.groupby("seed")}
    what = column.split(", ", 1)[1][:-1]  # "excess", "alpha" or "excess within shapes"
    layers = int(table.layers.max()) if len(table) else 0
    over = (f"among the square layers of one width (at least {WITHIN_MIN}), mean over the widths"
            if what.endswith("within shapes") else f"over the {layers} paired layers of a run")
    return over_seeds(values, detail=f"Spearman correlation between each layer's cooling epoch (APT below half of its "
                                     f"first epoch) and its final {what.split(' within')[0]}, {over}, "
                                     f"mean over {len(table)} runs (every schedule)")


def cool_alpha_facts(table: pd.DataFrame) -> dict[str, str]:
    out = {}
    for key, column in (("syn-q1", "rho (cooling, excess)"), ("syn-q1-raw", "rho (cooling, alpha)"),
                        ("syn-q1-within", "rho (cooling, excess within shapes)")):
        try:
            e = cool_alpha_estimate(table, column)
        except MissingResults as err:
            e, why = None, str(err)
        else:
            why = ""
        out[key] = answer(e, "the layers that cool first end with the smallest alpha",
                          "the layers that cool first end with the largest alpha", why)
    per = table.groupby("schedule")["rho (cooling, excess)"].mean()
    out["syn-q1-per-schedule"] = ", ".join(f"{NAMES[s]} {per[s]:+.2f}" for s in configs.SCHEDULES if s in per)
    within = table.groupby("schedule")["rho (cooling, excess within shapes)"].agg(["mean", "min", "max"])
    out["syn-q1-within-per-schedule"] = ", ".join(
        f"{NAMES[s]} {w['mean']:+.2f} (runs {w['min']:+.2f} to {w['max']:+.2f})"
        for s in configs.SCHEDULES if s in within.index for w in [within.loc[s]])
    out["syn-q1-censored"] = f"{int(table['censored layers'].sum())} of {int(table.layers.sum())}"
    return out


def width_facts(widths: pd.DataFrame) -> dict[str, str]:
    """``syn-q1-by-width``: per width, where its layers cool and how far their alpha ends below the shape's."""
    return {"syn-q1-by-width": "; ".join(f"{c} channels: cooled at epoch {r['cooling epoch']:.2f}, alpha excess "
                                         f"{r['alpha excess']:+.2f}" for c, r in widths.iterrows())}


# --- does TempBalance change the order in which layers cool? ---------------------------------------

def cooling_orders(records, schedules=("cosine", "tempbalance"), beta: float = 1.0) -> dict[tuple, np.ndarray]:
    """``{(schedule, seed): cooling epochs of the paired layers in network order}``."""
    return {(r["config"]["schedule"], r["config"]["seed"]): layer_table(r)["cooling epoch"].to_numpy()
            for r in at_beta(records, beta) if r["config"]["schedule"] in schedules}


def order_pairs(orders: dict) -> pd.DataFrame:
    """Spearman's correlation of the cooling orders of every pair of runs of two different seeds:
    TempBalance against cosine (``seed a`` TempBalance's, ``seed b`` cosine's) and cosine against
    cosine (the seed-to-seed reference)."""
    rows = []
    for (sa, a), (sb, b) in combinations(sorted(orders), 2):  # "cosine" sorts before "tempbalance"
        if a == b or sa == sb == "tempbalance":
            continue
        if sa == sb == "cosine":
            rows.append({"pair": "cosine vs cosine", "seed a": a, "seed b": b})
        else:
            rows.append({"pair": "TempBalance vs cosine", "seed a": b, "seed b": a})
        rows[-1]["rho"] = spearman(orders[(sa, a)], orders[(sb, b)])
    return pd.DataFrame(rows, columns=["pair", "seed a", "seed b", "rho"])


def order_lookup(pairs: pd.DataFrame) -> tuple[dict, dict]:
    """:func:`order_pairs` as two lookups: {(TempBalance's seed, cosine's seed): rho} and
    {frozenset of two cosine seeds: rho}."""
    tb = {(a, b): rho for kind, a, b, rho in pairs.itertuples(index=False) if kind == "TempBalance vs cosine"}
    cc = {frozenset((a, b)): rho for kind, a, b, rho in pairs.itertuples(index=False) if kind == "cosine vs cosine"}
    return tb, cc


def order_difference(lookup: tuple[dict, dict], drawn) -> float:
    """Mean rho of TempBalance-vs-cosine pairs minus that of cosine-vs-cosine pairs (``lookup`` from
    :func:`order_lookup`), over the pairs of two different seeds among ``drawn`` (a seed drawn twice
    counts twice)."""
    tb, cc = lookup
    drawn = list(drawn)
    picks = [(a, b) for i, a in enumerate(drawn) for b in drawn[i + 1:] if a != b]
    with_tb = [tb[p] for a, b in picks for p in ((a, b), (b, a)) if p in tb]
    with_cc = [cc[frozenset((a, b))] for a, b in picks if frozenset((a, b)) in cc]
    if not with_tb or not with_cc:
        return float("nan")
    return float(np.nanmean(with_tb) - np.nanmean(with_cc))


def order_estimate(pairs: pd.DataFrame) -> Estimate:
    """How much less alike TempBalance makes the cooling order than a change of seed does:
    :func:`order_difference` (0: TempBalance changes the order no more than a new seed), bootstrap over
    seeds. Only pairs of different seeds enter, so that neither comparison shares an initialization."""
    seeds = sorted(set(pairs["seed a"]) | set(pairs["seed b"]))
    if len(seeds) < 3 or pairs.rho.isna().all():  # two seeds make one pair of each kind: no spread to resample
        raise MissingResults(f"{len(seeds)} seed(s) with a cooling order; comparing pairs of seeds needs 3")
    lookup = order_lookup(pairs)
    return over_seeds({s: np.zeros(1) for s in seeds}, lambda drawn: order_difference(lookup, drawn),
                      detail="mean Spearman correlation of the layers' cooling epochs, TempBalance against cosine "
                             "runs of other seeds, minus cosine against cosine of other seeds")


def order_facts(pairs: pd.DataFrame) -> dict[str, str]:
    means = pairs.groupby("pair").rho.mean()
    try:
        e, why = order_estimate(pairs), ""
    except MissingResults as err:
        e, why = None, str(err)
    return {"syn-q2": answer(e, "TempBalance keeps the cooling order more alike than a new seed does",
                             "TempBalance changes the cooling order more than a new seed does", why),
            "syn-q2-tb": f"{means.get('TempBalance vs cosine', float('nan')):+.2f}",
            "syn-q2-cc": f"{means.get('cosine vs cosine', float('nan')):+.2f}"}


# --- does ActCoolLR change the alphas? -------------------------------------------------------------

def final_alphas(record) -> pd.Series:
    """The final alpha of every layer the alpha thermometer reads, in network order."""
    return pd.Series({n: float(series(record, f"alpha:{n}").values[-1]) for n in thermo_info(record)["alpha_layers"]})


def alpha_profiles(records, beta: float = 1.0) -> pd.DataFrame:
    """Every controller's final alpha by depth (the index of the layer in network order), mean over
    seeds, with the layer's random-matrix alpha: columns schedule, depth, alpha, random alpha."""
    rows = []
    for r in at_beta(records, beta):
        base = thermo_info(r)["alpha_baseline"]
        rows += [{"schedule": r["config"]["schedule"], "depth": depth, "alpha": value, "random alpha": base[name]}
                 for depth, (name, value) in enumerate(final_alphas(r).items())]
    frame = pd.DataFrame(rows, columns=["schedule", "depth", "alpha", "random alpha"])
    return frame.groupby(["schedule", "depth"], as_index=False).mean()


def alpha_shift_table(records, beta: float = 1.0) -> pd.DataFrame:
    """Per controller other than cosine and per seed: the mean over layers of the final alpha minus
    the cosine run's of the same seed, and Spearman's correlation of the two alpha profiles."""
    cos = by_seed(records, "cosine", beta)
    rows = []
    for schedule in configs.SCHEDULES[1:]:
        for seed, r in sorted(by_seed(records, schedule, beta).items()):
            if seed not in cos:
                continue
            a, b = final_alphas(r), final_alphas(cos[seed])
            rows.append({"schedule": schedule, "seed": seed, "alpha shift (1)": float((a - b).mean()),
                         "profile rho": spearman(a, b[a.index])})
    return pd.DataFrame(rows, columns=["schedule", "seed", "alpha shift (1)", "profile rho"])


def alpha_shift_estimate(shifts: pd.DataFrame, schedule: str = "actcool") -> Estimate:
    """The mean over layers of a controller's final alpha minus cosine's, paired by seed, mean over
    seeds with its bootstrap interval over seeds."""
    rows = shifts[shifts.schedule == schedule]
    return over_seeds(dict(zip(rows.seed, rows["alpha shift (1)"])),
                      detail=f"final PL_Alpha_Hill of each layer, {NAMES[schedule]} minus cosine (same seed), mean "
                             "over layers and seeds")


def alpha_shift_estimates(shifts: pd.DataFrame) -> dict[str, Estimate | None]:
    """:func:`alpha_shift_estimate` of every controller (None where there is no interval)."""
    return {s: try_estimate(alpha_shift_estimate, shifts, s) for s in configs.SCHEDULES[1:]}


def alpha_shift_facts(shifts: pd.DataFrame) -> dict[str, str]:
    out = {}
    for schedule in configs.SCHEDULES[1:]:
        try:
            e, why = alpha_shift_estimate(shifts, schedule), ""
        except MissingResults as err:
            e, why = None, str(err)
        out[f"syn-q3-{schedule}"] = answer(e, "its alphas end larger", "its alphas end smaller", why)
    rho = shifts.groupby("schedule")["profile rho"].mean()
    out["syn-q3-profile"] = ", ".join(f"{NAMES[s]} {v:+.2f}" for s, v in rho.items())
    return out


# --- the L2 paper's clock ---------------------------------------------------------------------------

def clock_points(records, beta: float = 1.0) -> pd.DataFrame:
    """Every APT reading of every run at ``beta`` with its step and its physical time eta * lambda * t
    (read by the clock at the same step): columns schedule, seed, step, epoch, apt, tau."""
    rows = []
    for r in at_beta(records, beta):
        t, tau = series(r, APT), series(r, "phys_time")
        taus = dict(zip(tau.steps, tau.values))
        spe = steps_per_epoch(r)
        rows += [{"schedule": r["config"]["schedule"], "seed": r["config"]["seed"], "step": s, "epoch": s / spe,
                  "apt": v, "tau": taus.get(s, np.nan)} for s, v in zip(t.steps, t.values)]
    return pd.DataFrame(rows, columns=["schedule", "seed", "step", "epoch", "apt", "tau"])


def clock_table(points: pd.DataFrame) -> pd.DataFrame:
    """Per seed, pooled over the schedules: Spearman's correlation of APT with the step and with the
    physical time, and the difference (positive: eta * lambda * t orders the cooling better)."""
    rows = []
    for seed, g in points.groupby("seed"):
        rho_t, rho_tau = spearman(g.apt, g.step), spearman(g.apt, g.tau)
        rows.append({"seed": seed, "rho (APT, step)": rho_t, "rho (APT, eta lambda t)": rho_tau,
                     "clock gain": rho_t - rho_tau, "schedules": g.schedule.nunique()})
    return pd.DataFrame(rows, columns=["seed", "rho (APT, step)", "rho (APT, eta lambda t)", "clock gain", "schedules"])


def clock_estimate(table: pd.DataFrame) -> Estimate:
    """The mean over seeds of :func:`clock_table`'s gain, with its bootstrap interval over seeds."""
    return over_seeds(dict(zip(table.seed, table["clock gain"])),
                      detail="Spearman correlation of APT with the step minus with eta * lambda * t, every reading "
                             "of the four schedules pooled, per seed (positive: the physical time orders the "
                             "temperature across schedules better than the step count)")


def peak_table(records, beta: float = 1.0) -> pd.DataFrame:
    """Per run at ``beta``: the time-to-peak t* of the test accuracy (steps and epochs) and the
    physical time tau* there."""
    rows = []
    for r in at_beta(records, beta):
        t_star, tau_star = peak(r)
        rows.append({"schedule": r["config"]["schedule"], "seed": r["config"]["seed"], "t* (steps)": t_star,
                     "t* (epochs)": t_star / steps_per_epoch(r), "tau*": tau_star,
                     "at the end": bool(t_star >= r["data"]["history"]["eval_step"][-1])})
    return pd.DataFrame(rows, columns=["schedule", "seed", "t* (steps)", "t* (epochs)", "tau*", "at the end"])


def log_spread(values) -> float:
    """The standard deviation of the logarithms (about the relative spread); NaN for fewer than two
    positive values."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    return float(np.std(np.log(v), ddof=1)) if v.size >= 2 else float("nan")


def peak_spread_estimate(peaks: pd.DataFrame, column: str = "tau*") -> Estimate:
    """The spread over schedules of ln ``column`` (sd of the logarithm), per seed, mean over seeds with
    its bootstrap interval over seeds (0: the peak sits at one value across schedules). Only runs that
    peak before their last evaluation count: a run still improving at its end has t* = its budget, which
    says nothing about where the dynamics put the peak (MissingResults, naming them, if too few are left)."""
    inside = peaks[~peaks["at the end"].astype(bool)]
    values = {s: log_spread(g[column]) for s, g in inside.groupby("seed")}
    try:
        return over_seeds(values, detail=f"standard deviation over the schedules of ln {column} (the test-accuracy "
                                         "peak measured by the L2 clock), per seed, mean over seeds; runs that peak "
                                         "before their last evaluation only")
    except MissingResults:
        raise MissingResults(f"{len(peaks) - len(inside)} of {len(peaks)} runs peak at their last evaluation, where t* "
                             "is the end of the budget rather than a peak the dynamics chose; the L2 law needs runs "
                             "that pass their peak, and a spread needs two schedules that do, in two seeds") from None


def clock_facts(table: pd.DataFrame, peaks: pd.DataFrame) -> dict[str, str]:
    out = {"syn-q4-rho-step": f"{table['rho (APT, step)'].mean():+.2f}",
           "syn-q4-rho-tau": f"{table['rho (APT, eta lambda t)'].mean():+.2f}"}
    for key, fn, pos, neg in (
            ("syn-q4", lambda: clock_estimate(table), "eta * lambda * t orders the cooling better than the step",
             "the step orders the cooling better than eta * lambda * t"),
            ("syn-q4-peak", lambda: peak_spread_estimate(peaks, "tau*"), "the peaks spread in eta * lambda * t", ""),
            ("syn-q4-peak-steps", lambda: peak_spread_estimate(peaks, "t* (steps)"), "the peaks spread in steps", "")):
        try:
            e, why = fn(), ""
        except MissingResults as err:
            e, why = None, str(err)
        out[key] = answer(e, pos, neg, why) if key == "syn-q4" else (e.text(DIGITS) if e else f"not measurable ({why})")
    out["syn-q4-at-end"] = f"{int(peaks['at the end'].sum())} of {len(peaks)}"
    tau = peaks.groupby("schedule")["tau*"].median()
    out["syn-q4-tau-star"] = ", ".join(f"{NAMES[s]} {v:.3g}" for s, v in tau.items())
    ep = peaks.groupby("schedule")["t* (epochs)"].median()
    out["syn-q4-t-star"] = ", ".join(f"{NAMES[s]} {v:.3g}" for s, v in ep.items())
    return out


# --- the logit scale: beta or the schedule? -------------------------------------------------------

def logit_table(records) -> pd.DataFrame:
    """Per finished run: schedule, beta, seed, the final logit scale beta * ||z|| and ||z|| itself."""
    rows = []
    for r in finished(records):
        scale = float(series(r, "logit_scale").values[-1])
        beta = r["config"]["beta"]
        rows.append({"schedule": r["config"]["schedule"], "beta": beta, "seed": r["config"]["seed"],
                     "logit scale": scale, "z scale": scale / beta})
    return pd.DataFrame(rows, columns=["schedule", "beta", "seed", "logit scale", "z scale"])


def beta_slope_estimate(logits: pd.DataFrame) -> Estimate:
    """The exponent s of ``beta * ||z|| ~ beta^s`` at the end of the cosine runs: the least-squares
    slope of ln(final logit scale) on ln beta, with its regression t interval (s = 0: the network
    undoes beta and the scale is set by training; s = 1: ||z|| does not depend on beta)."""
    cos = logits[logits.schedule == "cosine"]
    if cos.beta.nunique() < 2 or len(cos) < 3:
        raise MissingResults(f"{len(cos)} cosine run(s) at {cos.beta.nunique()} beta(s); the slope needs 3 runs and "
                             "2 betas")
    fit = st.linregress(np.log(cos.beta), np.log(cos["logit scale"]))
    return Estimate.regression(float(fit.slope), float(fit.stderr), len(cos),
                               detail=f"least-squares slope of ln(beta * ||z||) at the end of training on ln beta, "
                                      f"cosine runs at beta {', '.join(f'{b:g}' for b in sorted(cos.beta.unique()))}")


def schedule_spread_estimate(logits: pd.DataFrame) -> Estimate:
    """The spread over the four schedules (beta = 1) of ln(final logit scale), per seed, mean over
    seeds with its bootstrap interval over seeds."""
    one = logits[np.isclose(logits.beta, 1.0)]
    return over_seeds({s: log_spread(g["logit scale"]) for s, g in one.groupby("seed")},
                      detail="standard deviation over the schedules of ln(beta * ||z||) at the end, per seed")


def beta_spread_estimate(logits: pd.DataFrame) -> Estimate:
    """The spread over the betas (cosine) of ln(final logit scale), per seed with every beta."""
    cos = logits[logits.schedule == "cosine"]
    full = cos.groupby("seed").beta.nunique() == cos.beta.nunique()
    return over_seeds({s: log_spread(g["logit scale"]) for s, g in cos.groupby("seed") if full[s]},
                      detail="standard deviation over the betas of ln(beta * ||z||) at the end, cosine, per seed")


def logit_facts(logits: pd.DataFrame) -> dict[str, str]:
    out = {}
    for key, fn in (("syn-q5-slope", beta_slope_estimate), ("syn-q5-schedule", schedule_spread_estimate),
                    ("syn-q5-beta", beta_spread_estimate)):
        try:
            out[key] = fn(logits).text(DIGITS)
        except MissingResults as err:
            out[key] = f"not measurable ({err})"
    by_beta = logits[logits.schedule == "cosine"].groupby("beta")[["logit scale", "z scale"]].mean()
    out["syn-q5-by-beta"] = ", ".join(f"beta {b:g}: {r['logit scale']:.1f} (||z|| {r['z scale']:.1f})"
                                      for b, r in by_beta.iterrows())
    return out


# --- what the thermometers cost --------------------------------------------------------------------

def cost_table(records) -> pd.DataFrame:
    """Per run: each thermometer's seconds as a share of the training without them (the run's
    seconds less the thermometers'), and all four together."""
    rows = []
    for r in finished(records):
        sec = thermo_info(r)["instrument_seconds"]
        total = sum(sec.values())
        plain = r["data"]["train_seconds"] - total
        rows.append({"schedule": r["config"]["schedule"], "beta": r["config"]["beta"], "seed": r["config"]["seed"],
                     "training (s)": plain, **{f"{k} (%)": 100 * v / plain for k, v in sec.items()},
                     "all four (%)": 100 * total / plain})
    return pd.DataFrame(rows)


def cost_summary(costs: pd.DataFrame) -> pd.DataFrame:
    """:func:`cost_table` averaged per controller, in the chapter's order."""
    out = costs.drop(columns=["beta", "seed"]).groupby("schedule").mean()
    out = out.reindex([s for s in configs.SCHEDULES if s in out.index])
    out.index = [NAMES[s] for s in out.index]
    out.index.name = "controller"
    return out


def cost_estimate(costs: pd.DataFrame) -> Estimate:
    """The four thermometers' seconds over the training's own, mean over runs with its t interval."""
    values = costs["all four (%)"].to_numpy() / 100
    if values.size < 2:
        raise MissingResults(f"{values.size} finished run(s); an interval needs 2")
    return Estimate.mean(values, unit="%", detail=f"seconds of the four thermometers over the seconds of the rest of "
                                                  f"the run (training, evaluation, controllers), {values.size} runs")


@dataclass(frozen=True)
class BenchCost:
    """The last run of ``benchmarks/synthesis.py --save``: plain against instrumented training."""

    ratio: float
    shares: dict
    steps: int
    measured: str
    machine: str


def bench_cost(path: Path | None = None) -> BenchCost | None:
    """The benchmark's numbers at ``path`` (default ``benchmarks/results/synthesis.json``); None if
    it never ran."""
    path = Path(path) if path is not None else paths.repo_root() / "benchmarks" / "results" / "synthesis.json"
    if not path.is_file():
        return None
    b = json.loads(path.read_text())
    return BenchCost(b["ratio"], b["shares"], b["steps"], b["measured"], b["machine"])


def cost_facts(costs: pd.DataFrame, bench: BenchCost | None) -> dict[str, str]:
    s = costs[[c for c in costs.columns if c.endswith("(%)")]].mean()
    try:
        total = cost_estimate(costs).text(DIGITS)
    except MissingResults as err:
        total = f"not measurable ({err})"
    out = {"syn-cost": total,
           "syn-cost-each": ", ".join(f"{k.split(' ')[0]} {v:.1f} %" for k, v in s.items() if k != "all four (%)")}
    if bench is None:
        out["syn-bench"] = "not measured yet (run benchmarks/synthesis.py --save benchmarks/results/synthesis.json)"
    else:
        shares = ", ".join(f"{k} {100 * v:.1f} %" for k, v in bench.shares.items())
        cpus = next((p.strip() for p in bench.machine.split(",") if "CPU" in p), "")
        out["syn-bench"] = (f"{bench.ratio:.2f} times the plain run's time over {bench.steps} steps ({shares}; "
                            f"measured {bench.measured[:10]} on {cpus or 'this machine'})")
    return out

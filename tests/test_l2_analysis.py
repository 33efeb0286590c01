"""thermo.papers.l2: the analysis recovers known answers from fabricated records, the chapter's
facts and the claims' measurements are the same numbers, and the panels draw what they say."""

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from scipy import stats as st  # noqa: E402

from thermo import claims, results, stats, train  # noqa: E402
from thermo.papers.l2 import analysis, configs, plots, runs  # noqa: E402
from thermo.papers.l2 import claims as l2claims  # noqa: E402


def _record(experiment, cfg, data, status="ok"):
    return results.make_record(experiment, 1, cfg, data, status, None, results.provenance("quick", 0, 1))


def _tstar_record(width, seed, eta, lam, t_star, peak_at_end=False, steps=1000):
    steps_grid = [1, 10, 100, 1000]
    data = {"eval_steps": steps_grid, "test_acc": [0.1, 0.5, 0.9, 0.8], "train_acc": [0.1, 0.5, 1.0, 1.0],
            "t_star": t_star, "peak_acc": 0.9, "c": eta * lam * t_star, "peak_at_end": peak_at_end}
    cfg = {"width": width, "seed": seed, "eta": eta, "lam": lam, "steps": steps}
    return _record("l2-tstar", cfg, data)


def _exact_law(slope=-0.8, widths=(64,)):
    """Runs whose t* follows 0.3 (eta lambda)^slope exactly, plus one unpassed peak that would spoil the fit."""
    recs = [_tstar_record(w, s, eta, lam, 0.3 * (eta * lam) ** slope)
            for w in widths for s in (0, 1) for eta in (0.05, 0.1, 0.2) for lam in (1e-3, 3e-3)]
    recs.append(_tstar_record(widths[-1], 0, 0.1, 1e-5, 50.0, peak_at_end=True))
    return recs


def test_l2_slopes_recover_an_exact_law_and_skip_unpassed_peaks():
    recs = _exact_law()
    fits = analysis.slopes(analysis.runs_table(recs))
    assert len(fits) == 1 and fits.slope.iloc[0] == pytest.approx(-0.8) and fits.slope_se.iloc[0] < 1e-6
    fig, ax = plt.subplots()
    plots.tstar_vs_product(ax, analysis.runs_table(recs))
    hollow = [c for c in ax.collections if len(c.get_offsets()) and not c.get_facecolor().any()]
    assert sum(len(c.get_offsets()) for c in hollow) == 1
    fit_line = next(line for line in ax.get_lines() if line.get_label().startswith("fit"))
    x, y = fit_line.get_data()
    assert y == pytest.approx(0.3 * x**-0.8)  # the drawn line is the fitted law itself
    plt.close(fig)


def test_l2_budget_table_picks_the_best_lambda_within_each_budget():
    def run(lam, accs):
        cfg = {"width": 8, "seed": 0, "eta": 0.1, "lam": lam, "steps": 100}
        return _record("l2-tstar", cfg, {"eval_steps": [10, 100, 1000], "test_acc": accs})

    recs = [run(1e-2, [0.8, 0.85, 0.85]), run(1e-3, [0.6, 0.8, 0.95])]  # big lambda early, small late
    table = analysis.budget_table(recs, eta=0.1, width=8, budgets=[10, 100, 1000], c=0.1)
    assert list(table["best lambda (sweep)"]) == [1e-2, 1e-2, 1e-3]
    assert list(table["predicted lambda"]) == pytest.approx([0.1, 0.01, 0.001])


def test_law_fit_takes_the_widest_network_and_the_geometric_mean_over_seeds():
    recs = _exact_law(-0.5, widths=(32, 64))
    recs = [r for r in recs if not (r["config"]["width"] == 64 and r["config"]["seed"] == 1)]
    # seed 1 at width 64 twice as slow: the geometric mean over seeds moves t* by sqrt(2) at every point
    recs += [_tstar_record(64, 1, eta, lam, 2 * 0.3 * (eta * lam) ** -0.5)
             for eta in (0.05, 0.1, 0.2) for lam in (1e-3, 3e-3)]
    law = analysis.law_fit(analysis.runs_table(recs))
    assert (law.width, law.points) == (64, 6)
    assert law.fit.slope == pytest.approx(-0.5) and law.fit.prefactor == pytest.approx(0.3 * math.sqrt(2))
    few = analysis.law_fit(analysis.runs_table([r for r in recs if r["config"]["eta"] == 0.1]))
    assert few.fit is None and few.text().startswith("not measurable")


def test_the_tstar_fact_and_the_claim_are_one_number(monkeypatch):
    recs = _exact_law(-0.9)
    recs.append(_tstar_record(64, 0, 0.1, 0.0, 10.0))  # the lambda = 0 control: c = 0 is no spread of c
    monkeypatch.setattr(claims, "cached_records", lambda eid, profile: recs)
    table = analysis.runs_table(recs)
    facts = analysis.tstar_facts(table)
    m = l2claims.measure_tstar("quick")
    assert facts["l2-slope-widest"] == f"{m.value:.2f} [{m.lo:.2f}, {m.hi:.2f}]" == "-0.90 [-0.90, -0.90]"
    assert m.method == "regression t" and m.n == 6
    assert facts["l2-widest"] == "64" and facts["l2-narrowest"] == "n/a (one width)"
    c = [0.3 * (eta * lam) ** 0.1 for eta in (0.05, 0.1, 0.2) for lam in (1e-3, 3e-3)]
    assert facts["l2-c-range"] == f"{min(c):.3g} to {max(c):.3g}"
    assert facts["l2-runs"].startswith(f"{len(recs)} runs ({len(recs)} ok); 1 with lambda > 0")


def _autol2_records():
    fc = {"setup": "fc3", "method": "autol2", "width": 16, "seed": 0}
    conv = {"setup": "convnet", "width": 1.0, "seed": 0}
    auto = [_record("l2-autol2", fc, {"max_test_acc": 0.90}),
            _record("l2-autol2", {**conv, "method": "autol2"}, {"max_test_acc": 0.80}),
            _record("l2-autol2", {**conv, "method": "fixed", "lam": 1e-3}, {"max_test_acc": 0.83}),
            _record("l2-autol2", {**conv, "method": "fixed", "lam": 1e-2}, {"max_test_acc": 0.79})]
    tstar = [_record("l2-tstar", {"width": 16, "seed": 0, "eta": 0.1, "lam": lam, "steps": 10},
                     {"test_acc": accs})
             for lam, accs in ((1e-3, [0.5, 0.88]), (1e-2, [0.86, 0.87]), (0.0, [0.5, 0.99]))]
    tstar.append(_record("l2-tstar", {"width": 16, "seed": 0, "eta": 0.2, "lam": 1e-3, "steps": 10},
                         {"test_acc": [0.99]}))  # another learning rate: not a comparison for AutoL2
    return auto, tstar


def test_autol2_pairs_take_the_best_fixed_lambda_of_the_same_setup():
    auto, tstar = _autol2_records()
    pairs = analysis.autol2_pairs(auto, tstar)
    assert list(pairs.setup) == ["fc3", "convnet"]
    assert list(pairs.best_lam) == [1e-3, 1e-3]
    assert list(pairs.difference) == pytest.approx([0.90 - 0.88, 0.80 - 0.83])
    gain = stats.paired_difference([0.90, 0.80], [0.88, 0.83])
    lo, hi = gain.interval
    assert list(pairs.on_edge) == [True, True]  # 1e-3 is the smallest of both two-point grids
    assert analysis.autol2_facts(pairs) == {
        "l2-autol2-gain": f"{100 * gain.mean:+.2f} pt [{100 * lo:+.2f}, {100 * hi:+.2f}]",
        "l2-autol2-edge": "2 of the 2 pairs (fc3 seed 0: 0.001, convnet seed 0: 0.001)"}
    assert analysis.autol2_facts(pairs.iloc[:1]) == {"l2-autol2-gain": "not measurable (one pair)"}


def test_decay_ratio_fact_and_claim_use_the_widest_network_of_each_k(monkeypatch):
    def run(k, width, lam, seed, ratio):
        cfg = {"k": k, "width": width, "lam": lam, "seed": seed}
        pred = 2 * (k - 1) * lam
        return _record("l2-kernel-decay", cfg, {"rate": ratio * pred if pred else -1e-4, "rate_se": 1e-5,
                                                "predicted_rate": pred, "kernel_cosine": [1.0, 0.99],
                                                "train_acc": [0.5, 0.9]})

    recs = [run(2, 64, 0.01, 0, 0.5), run(2, 256, 0.01, 0, 0.9), run(2, 256, 0.01, 1, 1.0),
            run(3, 128, 0.01, 0, 1.1), run(3, 128, 0.0, 0, 0.0)]
    table = analysis.decay_table(recs)
    ratios = [0.9, 1.0, 1.1]  # the width-64 run is not the widest of k = 2
    facts = analysis.decay_facts(table)
    half = st.t.ppf(0.975, 2) * np.std(ratios, ddof=1) / math.sqrt(3)
    assert facts["l2-decay-ratio"] == f"{1:.3f} [{1 - half:.3f}, {1 + half:.3f}]"
    assert facts["l2-decay-ratios"] == "0.900, 1.000, 1.100"
    assert facts["l2-decay-zero"] == "0.0001"
    monkeypatch.setattr(claims, "cached_records", lambda eid, profile: recs)
    m = l2claims.measure_decay("quick")
    assert (m.value, m.lo, m.hi, m.n) == (pytest.approx(1.0), pytest.approx(1 - half), pytest.approx(1 + half), 3)
    assert m.method == "t over runs" and m.detail.startswith("k = 2, 3, widths 256, 128")


def test_eq1_fit_is_the_rms_distance_to_the_network():
    out = {"network_train_loss": [1.0, 0.5, 0.2, 0.1], "eq1_k2_train_loss": [1.0, 0.5, 0.2, 0.1],
           "eq1_k1_train_loss": [1.0, 0.3, 0.0, 0.1]}
    assert analysis.fit_of(out, "eq1_k2") == 0.0
    assert analysis.fit_of(out, "eq1_k1") == pytest.approx(math.sqrt((0.2**2 + 0.2**2) / 4))
    facts = analysis.eq1_facts({"data": out})
    assert facts == {"l2-eq1-rms": f"0.000 for k = 2 and {math.sqrt(0.02):.3f} for k = 1"}


def test_narrow_facts_name_the_best_lambda_by_mean_peak_accuracy():
    recs = [_tstar_record(8, s, 0.1, lam, 100.0) for s in (0, 1) for lam in (1e-4, 1e-3)]
    for r, acc in zip(recs, (0.80, 0.86, 0.84, 0.85)):
        r["data"]["peak_acc"] = acc
    facts = analysis.narrow_facts(analysis.runs_table(recs))
    assert facts["l2-narrow-best-lam"] == "0.001" and facts["l2-narrow-best-acc"] == "0.8550"
    assert facts["l2-narrow-slope"].startswith("not measurable")  # two lambdas: no slope


def test_subplots_are_shown_once_by_publish_not_by_pyplot():
    before = plt.get_fignums()
    fig, axes = plots.subplots(1, 3, figsize=(9, 3))
    assert len(axes) == 3 and tuple(fig.get_size_inches()) == (9, 3)
    assert plt.get_fignums() == before  # pyplot does not hold it: the notebook does not show it bare


def test_configs_are_named_fields_and_keep_their_points():
    assert isinstance(configs.DECAY["quick"].networks[0], configs.Network)
    quick = configs.tstar_configs("quick")
    assert len(quick) == 2 * 2 * (3 * 3 + 2) + 2  # widths x seeds x (eta x products + extra lambdas) + controls
    assert all(c["steps"] == configs.run_length(20000, c["eta"], c["lam"]) for c in quick)


@pytest.mark.slow
def test_a_diverged_run_has_the_one_wording(monkeypatch, tmp_path):
    monkeypatch.setenv("THERMO_CHECKPOINTS", str(tmp_path))
    monkeypatch.setenv("THERMO_PROGRESS", "0")
    cfg = {**configs.tstar_configs("smoke")[0], "eta": 1e3, "lam": 1e-3, "steps": 30}
    out = runs.compute_tstar(cfg)
    assert out["status"] == "diverged" and out["reason"] == train.diverged_reason(out["steps_done"])
    assert "t_star" not in out


# --- every claim can fail: each flips both ways on fabricated records (DESIGN.md section 8) -------------

def _law_records(slope=-1.0, widths=(64,), noise=0.05, seed=0, per_eta=False):
    """t* = 0.3 (eta lambda)^slope times log-normal noise over the quick grid (3 etas x 3 products x 2
    seeds); ``per_eta``: the rival t* = 0.3 (0.1 lambda)^slope, which ignores eta."""
    rng = np.random.default_rng(seed)
    recs = []
    for w in widths:
        for s in (0, 1):
            for eta in (0.05, 0.1, 0.2):
                for p in (1e-4, 3e-4, 1e-3):
                    lam = p / eta
                    x = 0.1 * lam if per_eta else eta * lam
                    recs.append(_tstar_record(w, s, eta, lam, 0.3 * x ** slope * math.exp(noise * rng.normal())))
    return recs


def _status(claim, monkeypatch, records):
    by_id = records if isinstance(records, dict) else None
    monkeypatch.setattr(claims, "cached_records", lambda eid, profile: by_id[eid] if by_id else records)
    return claims.assess(claim, "quick").status


def test_the_tstar_claim_flips_both_ways_and_a_rival_law_does_not_pass(monkeypatch):
    assert _status(l2claims.TSTAR, monkeypatch, _law_records(-1.0)) == "reproduced"
    assert _status(l2claims.TSTAR, monkeypatch, _law_records(-0.5)) == "contradicted"
    # the rival: t* set by lambda alone (eta plays no part) also falls with eta * lambda, with a slope
    # near -1 on average, but the scatter over eta widens the regression interval beyond the band
    rival = _status(l2claims.TSTAR, monkeypatch, _law_records(-1.0, per_eta=True))
    assert rival != "reproduced"


def test_the_narrower_width_claim_flips_both_ways_and_needs_two_widths(monkeypatch):
    # width 32 follows the law, width 64 does too: both reproduced
    both = _law_records(-1.0, widths=(32,), seed=1) + _law_records(-1.0, widths=(64,), seed=2)
    assert _status(l2claims.TSTAR_NARROWER, monkeypatch, both) == "reproduced"
    # width 32 peaks at a fixed step whatever eta * lambda (slope 0): contradicted; the widest is untouched
    flat = _law_records(0.0, widths=(32,), seed=1) + _law_records(-1.0, widths=(64,), seed=2)
    assert _status(l2claims.TSTAR_NARROWER, monkeypatch, flat) == "contradicted"
    assert _status(l2claims.TSTAR, monkeypatch, flat) == "reproduced"
    monkeypatch.setattr(claims, "cached_records", lambda eid, profile: _law_records(-1.0))
    a = claims.assess(l2claims.TSTAR_NARROWER, "quick")
    assert a.status == "not yet tested" and "one width" in a.note


def _val_record(setup, seed, method, val, test, lam=None):
    """An ``l2-autol2-val`` record with validation and test curves over three evaluations."""
    cfg = {"setup": setup, "seed": seed, "method": method, "n_val": 100}
    if lam is not None:
        cfg["lam"] = lam
    return _record("l2-autol2-val", cfg, {"at": [10, 100, 1000], "val_acc": list(val), "test_acc": list(test)})


def _val_records(gain, seeds=(0, 1, 2), jitter=0.001):
    """Fixed lambdas 0, 1e-4, 1e-3, 1e-2 per setup and seed, 1e-3 the best on validation (1e-4 the best on
    test, a trap), AutoL2 ``gain`` above the validated lambda's test accuracy at its validation peak."""
    recs = []
    for setup in ("fc3", "convnet"):
        for s in seeds:
            j = jitter * (-1) ** s
            for lam, v, t in ((0.0, 0.80, 0.80), (1e-4, 0.81, 0.90), (1e-3, 0.85, 0.84), (1e-2, 0.82, 0.81)):
                recs.append(_val_record(setup, s, "fixed", (0.5, v, v - 0.01), (0.5, t, 0.95 if lam == 1e-4 else t),
                                        lam))
            recs.append(_val_record(setup, s, "autol2", (0.5, 0.70, 0.86), (0.5, 0.99, 0.84 + gain + j)))
    return recs


def test_validated_pairs_pick_lambda_and_stopping_point_on_validation_only():
    vt = analysis.val_runs_table(_val_records(0.01, jitter=0.0))
    row = vt[(vt.method == "fixed") & (vt.lam == 1e-4)].iloc[0]
    assert (row.val_peak, row.at_peak, row.test_at_peak, row.test_max) == (0.81, 100, 0.90, 0.95)
    chosen = analysis.validated_lambdas(vt)
    assert list(chosen[chosen.chosen].lam) == [1e-3, 1e-3] and not chosen.on_edge.any()
    pairs = analysis.validated_pairs(vt)
    assert len(pairs) == 6 and set(pairs.lam) == {1e-3}
    assert list(pairs.difference) == pytest.approx([0.01] * 6)  # AutoL2's test accuracy at its validation peak
    facts = analysis.validated_facts(_val_records(0.01, jitter=0.0))
    assert facts["l2-autol2-val-lams"] == "convnet 0.001; fc3 0.001"
    assert facts["l2-autol2-val-gain"].startswith("+1.00 pt [") and "over 6 pairs" in facts["l2-autol2-val-gain"]
    assert analysis.validated_facts(None)["l2-autol2-val-gain"] == "not yet run"


def test_the_autol2_claim_flips_both_ways_and_refuses_an_edge(monkeypatch):
    assert _status(l2claims.AUTOL2, monkeypatch, _val_records(+0.01)) == "reproduced"
    assert _status(l2claims.AUTOL2, monkeypatch, _val_records(-0.01)) == "contradicted"
    # a tie measured to +-0.05 pt: a powered null (the paper's effect is 0.5 pt)
    tie = _val_records(0.0, seeds=tuple(range(10)), jitter=0.0001)
    assert _status(l2claims.AUTOL2, monkeypatch, tie) == "absent at this scale"
    noisy = _val_records(0.0, seeds=(0, 1, 2), jitter=0.02)
    assert _status(l2claims.AUTOL2, monkeypatch, noisy) == "inconclusive"
    edge = [r for r in _val_records(0.01) if r["config"].get("lam") != 1e-2]  # 1e-3 is now the top of the grid
    monkeypatch.setattr(claims, "cached_records", lambda eid, profile: edge)
    a = claims.assess(l2claims.AUTOL2, "quick")
    assert a.status == "not yet tested" and "on the edge of its grid" in a.note
    monkeypatch.setattr(claims, "cached_records", lambda eid, profile: _val_records(0.01))
    m = l2claims.measure_autol2("quick")
    assert m.n == 6 and m.unit == "pt" and "smallest effect detectable with 80 % power" in m.detail


def _decay_records(ratio_by_k):
    recs = []
    for k, ratio in ratio_by_k.items():
        for seed in (0, 1):
            pred = 2 * (k - 1) * 0.01
            cfg = {"k": k, "width": 512, "lam": 0.01, "seed": seed}
            recs.append(_record("l2-kernel-decay", cfg, {
                "rate": ratio * pred * (1 + 0.002 * (seed - 0.5)), "rate_se": 1e-5, "predicted_rate": pred,
                "kernel_cosine": [1.0, 0.99], "train_acc": [0.5, 0.9]}))
    return recs


def test_the_decay_claim_flips_both_ways_and_a_rival_rate_does_not_pass(monkeypatch):
    assert _status(l2claims.NTK_DECAY, monkeypatch, _decay_records({2: 1.0, 3: 1.0})) == "reproduced"
    assert _status(l2claims.NTK_DECAY, monkeypatch, _decay_records({2: 0.5, 3: 0.5})) == "contradicted"
    # the rival rate k lambda (the function's own decay) equals 2 (k - 1) lambda at k = 2 but is 3/4 of it at k = 3
    rival = _status(l2claims.NTK_DECAY, monkeypatch, _decay_records({2: 1.0, 3: 0.75}))
    assert rival != "reproduced"


# --- the budget analysis, stated from its numbers -------------------------------------------------------

def test_budget_facts_state_the_best_lambda_per_budget_and_the_ratio_in_order():
    import pandas as pd

    table = pd.DataFrame({"budget T": [500, 1050, 2190, 20000], "best lambda (sweep)": [0.01, 0.01, 0.003, 0.003],
                          "predicted lambda": [0.0028, 0.0013, 0.00064, 0.00007],
                          "ratio": [0.28, 0.13, 0.21, 0.023], "best accuracy": [0.87, 0.872, 0.872, 0.872],
                          "accuracy at the grid lambda nearest the prediction": [0.867, 0.868, 0.869, 0.8716]})
    b = analysis.Budget(0.1, 256, 1e-3, 1400, 0.14, table)
    facts = analysis.budget_facts(b)
    assert facts["l2-budget-best"] == "0.01 for T = 500 to 1050 and 0.003 for T = 2190 to 20000"
    assert facts["l2-budget-ratio"] == "0.28 at the shortest budget (T = 500) to 0.023 at the longest (T = 20000)"
    assert facts["l2-budget-within"] == "3 of 4" and facts["l2-budget-within-t"] == "500, 1050, 2190"
    assert facts["l2-budget-cost"] == "0.04 to 0.40 pt"
    assert analysis.best_lambda_runs(table.iloc[:1]) == "0.01 for T = 500"


def test_budget_resolution_compares_lambdas_with_seeds():
    def run(lam, seed, acc):
        cfg = {"width": 8, "seed": seed, "eta": 0.1, "lam": lam, "steps": 100}
        return _record("l2-tstar", cfg, {"eval_steps": [10, 100], "test_acc": [0.5, acc]})

    recs = [run(1e-3, 0, 0.870), run(1e-3, 1, 0.876), run(1e-2, 0, 0.872), run(1e-2, 1, 0.873)]
    lam_spread, seed_spread = analysis.budget_resolution(recs, 0.1, 8, 100)
    assert lam_spread == pytest.approx(0.0005) and seed_spread == pytest.approx(0.006)


def test_autol2_val_configs_keep_the_training_sets_and_extend_the_grids():
    quick = configs.autol2_val_configs("quick")
    g = configs.AUTOL2_VAL["quick"]
    assert len(quick) == len(g.seeds) * (2 + len(g.fc_lams) + len(g.conv_lams))
    old = configs.AUTOL2["quick"]
    assert min(g.conv_lams) < min(old.conv_lams) and max(g.fc_lams) > 1e-2  # both old bests were on an edge
    assert all(c["steps"] == configs.run_length(g.fc_steps, 0.1, c["lam"]) for c in quick
               if c["setup"] == "fc3" and c["method"] == "fixed")
    assert len(configs.autol2_configs("quick")) == 10  # the old experiment's points are untouched


def test_split_val_holds_validation_out_of_the_training_split():
    cfg = {"dataset": "mnist-5k", "n_train": 64, "n_val": 32, "n_test": None}
    tr, val, te = runs.split_val(cfg)
    tr_old, te_old = runs.split(cfg)
    assert torch.equal(tr.x, tr_old.x) and len(val) == 32 and len(te) == len(te_old) - 32
    assert torch.equal(val.x, te_old.x[:32]) and torch.equal(te.x, te_old.x[32:])  # disjoint by construction

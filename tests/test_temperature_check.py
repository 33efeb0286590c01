"""The Temperature-check package's own helpers (``thermo.papers.temperature_check``): the eta*
estimate, the data preparation, the tables and facts of ``analysis`` and the claim measures."""

import numpy as np
import pandas as pd
import pytest

from thermo import claims as registry
from thermo.errors import ConfigError
from thermo.papers.temperature_check import analysis as tca
from thermo.papers.temperature_check import claims as tcc
from thermo.papers.temperature_check import configs as tcf
from thermo.papers.temperature_check import networks as tcn
from thermo.papers.temperature_check import runs as tcr


def _rec(beta, lr, acc, status="ok"):
    return {"config": {"beta": beta, "lr": lr}, "status": status, "data": {"final_test_acc": acc}}


@pytest.mark.parametrize("true_star", [0.05, 0.08])
def test_eta_star_recovers_the_vertex_of_a_parabola_in_log_eta(true_star):
    grid = 0.05 * 2.0 ** np.arange(-3, 4)
    recs = [_rec(1.0, lr, 0.9 - 0.01 * np.log(lr / true_star) ** 2) for lr in grid]
    recs.append(_rec(1.0, grid[-1], 0.0, status="diverged"))  # a diverged seed counts as chance
    out = tca.eta_star(recs)[0]
    assert out["eta_star"] == pytest.approx(true_star, rel=1e-9)
    assert not out["on_edge"]


def test_eta_star_on_the_edge_keeps_the_grid_point():
    recs = [_rec(2.0, lr, acc) for lr, acc in ((0.1, 0.5), (0.2, 0.6), (0.4, 0.7))]
    out = tca.eta_star(recs)[0]
    assert out["eta_star"] == 0.4 and out["on_edge"]


def test_fmnist_flat_is_standardized_on_the_training_subset():
    xtr, ytr, xte, yte = tcn.fmnist_flat(64, 32, pool=4)
    assert xtr.shape == (64, 49) and xte.shape == (32, 49) and xtr.dtype == np.float64
    assert xtr.mean() == pytest.approx(0.0, abs=1e-12) and xtr.std() == pytest.approx(1.0)
    assert set(np.unique(ytr)) <= set(range(10))


def test_leave_time_interpolates_between_the_recorded_steps_around_the_tolerance():
    rec = {"config": {"eta_tilde": 0.5}, "data": {"steps": [0, 1, 2, 4, 8], "z0_norm": 0.0,
                                                  "lin": {"z_norm": [0.0, 1.0, 2.0, 4.0, 8.0]},
                                                  "deviation": [0.0, 0.001, 0.03, 0.2, 2.0]}}
    # relative deviations 0, 0.001, 0.015, 0.05, 0.25: 1 % is crossed between steps 1 and 2
    assert tca.leave_time(rec, 0.01) == pytest.approx((1 + 0.009 / 0.014) * 0.5)
    assert tca.leave_time(rec, 0.1) == pytest.approx((4 + 0.05 / 0.2 * 4) * 0.5)  # between 0.05 and 0.25
    assert tca.leave_time(rec, 0.002) == pytest.approx((1 + 0.001 / 0.014) * 0.5)
    assert tca.leave_time(rec, 0.5) == float("inf")


def test_tau_nl_slopes_recover_a_power_law_per_c():
    recs = []
    for c, pref in ((-0.5, 2.0), (0.5, 3.0)):
        for b in (0.1, 1.0, 10.0):
            et = 1e-3
            recs.append({"status": "ok", "config": {"mode": "short", "beta": b, "c": c, "eta_tilde": et},
                         "data": {"z0_norm": b, "tau_z_theory": 1.0, "tau_z_empirical": 1.0,
                                  "tau_nl": pref * b**0.8 / et}})
    recs.append({"status": "ok", "config": {"mode": "long", "beta": 1.0, "c": 0.0, "eta_tilde": 1.0}, "data": {}})
    table = tca.timescale_table(recs)
    assert len(table) == 6 and np.allclose(table.tau_nl_eta_over_beta, table.tau_nl_eta / table.beta)
    s = tca.tau_nl_slopes(table)
    assert np.allclose(s.slope, 0.8) and list(s.points) == [3, 3]


def _phase_rec(beta, c, f, status, test_acc, early, z_norm, z0=1.0):
    return {"status": status, "config": {"beta": beta, "c": c, "lr_factor": f, "steps": 200},
            "data": {"z0_norm": z0, "steps": [0, 20, 200],
                     "net": {"test_acc": [0.1, 0.5, test_acc], "train_acc": [0.1, early, 0.9],
                             "z_norm": [z0, 2.0, z_norm]}}}


def test_phase_table_takes_the_best_learning_rate_per_point():
    recs = [_phase_rec(1.0, 0.0, 0.5, "ok", 0.80, 0.3, 5.0), _phase_rec(1.0, 0.0, 1.0, "ok", 0.85, 0.6, 7.0),
            _phase_rec(1.0, 0.0, 2.0, "diverged", 0.99, 0.9, 9.0),
            _phase_rec(3.0, 0.0, 1.0, "diverged", 0.0, 0.0, 0.0)]
    t = tca.phase_table(recs).set_index("beta")
    assert t.loc[1.0, "lr_factor"] == 1.0 and t.loc[1.0, "test_acc"] == 0.85
    assert t.loc[1.0, "early_acc"] == 0.6 and t.loc[1.0, "final_z_norm"] == 7.0 and t.loc[1.0, "diverged"] == 1
    assert np.isnan(t.loc[3.0, "test_acc"]) and t.loc[3.0, "diverged"] == 1


def _sweep_rec(bn, beta, seed, acc, status="ok", lr=0.1):
    return {"status": status, "config": {"batchnorm": bn, "beta": beta, "seed": seed, "lr": lr},
            "data": {"final_test_acc": acc}}


def test_beta_sweep_table_mean_std_max_over_seeds():
    accs = [0.7, 0.8, 0.9]
    recs = [_sweep_rec(False, 0.1, s, a) for s, a in enumerate(accs)]
    recs.append(_sweep_rec(False, 0.1, 3, float("nan"), status="diverged"))
    t = tca.beta_sweep_table(recs).iloc[0]
    full = np.array(accs + [0.1])
    assert t["mean"] == pytest.approx(full.mean()) and t["std"] == pytest.approx(full.std(ddof=1))
    assert t["max"] == 0.9 and t["seeds"] == 4 and t["diverged"] == 1


def test_tuned_lr_is_the_best_grid_point_and_sweep_scales_it_by_one_over_beta(monkeypatch):
    from thermo import claims

    tune = [_sweep_rec(False, 1.0, 0, 0.80, lr=0.025), _sweep_rec(False, 1.0, 0, 0.86, lr=0.05),
            _sweep_rec(False, 1.0, 0, 0.95, "diverged", lr=0.1), _sweep_rec(True, 1.0, 0, 0.9, lr=0.2),
            _sweep_rec(True, 1.0, 0, 0.7, lr=0.05)]
    monkeypatch.setattr(claims, "cached_records", lambda exp, profile: tune)
    assert tcr.tuned_lr("quick", False) == 0.05 and tcr.tuned_lr("quick", True) == 0.2
    cfgs = tcr.beta_sweep_configs("quick")
    assert len(cfgs) == 2 * len(tcf.BETA_SWEEP["quick"].betas) * len(tcf.BETA_SWEEP["quick"].seeds)
    for c in cfgs:
        assert c["lr"] * c["beta"] == pytest.approx(0.2 if c["batchnorm"] else 0.05)


def test_convnet_batchnorm_variant_adds_one_norm_per_convolution():
    import torch

    from thermo import models

    plain = models.build("convnet", (1, 28, 28), 10, width=0.25)
    normed = models.build("convnet", (1, 28, 28), 10, width=0.25, batchnorm=True)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in plain.modules())
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in normed.modules()) == 2
    assert normed(torch.zeros(3, 1, 28, 28)).shape == (3, 10)


def test_conditioning_growth_recovers_an_exponential_rate():
    zs = np.linspace(0.5, 40, 12)
    rows = [{"z_norm": z, "kappa": 50.0 * np.exp(0.3 * z)} for z in zs]
    rows.append({"z_norm": 60.0, "kappa": None})  # past float64 rounding: left out
    rec = {"data": {"rows": rows, "kappa_ntk": 50.0}}
    g = tca.conditioning_growth(rec, min_kappa_ratio=10.0)
    assert g["slope"] == pytest.approx(0.3) and g["r2"] == pytest.approx(1.0)
    assert g["points"] == int(np.sum(np.exp(0.3 * zs) > 10.0))


def test_ntk_prediction_table_has_one_row_per_c():
    rows = [{"c": c, "z0_norm": 1.0, "tau_z": 2.0, "tau_z_eta_over_z0": 0.002, "inverse_drive": 0.001}
            for c in (-0.5, 0.0)]
    recs = [{"status": "ok", "config": {"activation": a, "labels": "true", "beta": 1.0}, "data": {"rows": rows}}
            for a in ("relu", "erf")]
    t = tca.ntk_prediction_table(recs)
    assert len(t) == 4 and set(t.activation) == {"relu", "erf"}


def test_wide_resnet_without_batchnorm_for_the_paper_profile():
    import torch

    from thermo import models

    plain = models.build("wrn-10-1", (3, 16, 16), 10, batchnorm=False)
    normed = models.build("wrn-10-1", (3, 16, 16), 10)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in plain.modules())
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in normed.modules()) > 0
    assert plain(torch.zeros(2, 3, 16, 16)).shape == (2, 10)
    assert {c["model"] for c in tcf.tune_configs("paper")} == {"wrn-16-4"}


def test_the_ntk_prediction_runs_for_a_small_cnn(jax_float64):
    cfg = {"dataset": "fashion-mnist", "n_train": 8, "pool": 7, "width": 4, "depth": 1, "activation": "relu",
           "labels": "true", "beta": 1.0, "cs": [-0.5, 0.5], "eta_tilde": 1e-3, "seed": 0, "float64": True,
           "architecture": "cnn"}
    out = tcr.run_ntk_pred(cfg)
    assert out["status"] == "ok" and len(out["rows"]) == 2
    r = out["rows"][0]
    assert r["tau_z"] > 0 and r["inverse_drive"] > 0
    assert r["tau_z_eta_over_z0"] == pytest.approx(r["tau_z"] * 1e-3 / r["z0_norm"])
    with pytest.raises(ConfigError, match="architecture must be one of"):
        tcr.check_ntk_pred({**cfg, "architecture": "rnn"})


# --- one source: the chapter's glued numbers and the claims call the same analysis functions -----------

def _collapse_rec(et, beta, losses, status="ok"):
    n = len(losses)
    curve = {"train_loss": losses, "train_acc": [0.5] * n, "test_acc": [0.4] * n, "z_norm": [1.0] * n}
    return {"status": status, "config": {"eta_tilde": et, "beta": beta},
            "data": {"steps": list(range(n)), "z0_norm": 0.0, "deviation": [0.0] * n, "net": curve, "lin": curve}}


def test_the_linearized_collapse_is_a_library_check_relative_to_the_loss():
    """The linearized model's loss depends on eta * beta^2 only, by construction: its spread over beta is
    rounding (a check of ntk.gd, not a claim); relative to the loss at that step."""
    recs = [_collapse_rec(1.0, 1.0, [2.0, 0.01]), _collapse_rec(1.0, 10.0, [2.0, 0.01 + 1e-9]),
            _collapse_rec(1.0, 0.1, [2.0], status="diverged")]
    spread = tca.linearized_spread(recs)
    assert spread[1.0] == pytest.approx(1e-9 / (0.01 + 0.5e-9))  # relative to the loss there, not 1e-9
    facts = tca.collapse_facts(recs)
    assert facts["tc-lin-spread"] == "1.0e-07"
    assert facts["tc-diverged"] == "eta_tilde = 1: beta <= 0.1 (within 1 steps)"
    assert facts["tc-survived"] == "eta_tilde = 1: beta >= 1"
    assert facts["tc-departure-exponent"].startswith("not measurable")
    assert "tc-collapse" not in registry.REGISTRY  # the identity is no claim


def test_the_linearized_gd_collapses_onto_eta_beta_squared(jax_float64):
    """Two betas at the same eta_tilde: the linearized model's logits Z = beta z agree to rounding (eq. 5)."""
    base = {"dataset": "fashion-mnist", "n_train": 16, "n_test": 16, "pool": 7, "width": 16, "depth": 1,
            "activation": "relu", "seed": 0, "float64": True, "c": -1.0, "eta_tilde": 0.5, "steps": 5,
            "record": [0, 1, 5]}
    a, b = (tcr.run_gd({**base, "beta": beta}) for beta in (1.0, 10.0))
    assert a["status"] == b["status"] == "ok"
    assert np.allclose(a["lin"]["train_loss"], b["lin"]["train_loss"], rtol=1e-9, atol=0)
    assert np.allclose(a["lin"]["z_norm"], b["lin"]["z_norm"], rtol=1e-9, atol=0)


def test_tau_nl_slope_is_the_mean_over_c_with_its_t_interval_in_the_chapter_and_in_the_claim(monkeypatch):
    from scipy import stats as st

    from thermo import claims

    slopes = pd.DataFrame({"activation": ["erf", "erf", "erf", "relu"], "c": [0.0, 0.5, 1.0, 0.0],
                           "slope": [1.0, 0.8, 0.9, 0.5], "slope_se": [0.1, 0.2, 0.1, 0.05], "points": [5, 5, 5, 5]})
    s = tca.tau_nl_slope(slopes, "erf")
    half = st.t.ppf(0.975, 2) * np.std([1.0, 0.8, 0.9], ddof=1) / np.sqrt(3)
    assert s.value == pytest.approx(0.9) and (s.lo, s.hi) == pytest.approx((0.9 - half, 0.9 + half))
    assert s.n == 3 and s.method == "t over runs" and s.facts["per c"] == (1.0, 0.8, 0.9)
    one = tca.tau_nl_slope(slopes, "relu")  # one c: that fit's own regression interval
    assert one.value == 0.5 and one.method == "regression t"
    assert one.hi - one.value == pytest.approx(st.t.ppf(0.975, 3) * 0.05)
    assert tca.tau_nl_slope(slopes, "tanh") is None

    recs = _timescale_recs({"relu": 0.5, "erf": 1.0})
    monkeypatch.setattr(claims, "cached_records", lambda exp, profile: recs)
    facts = tca.tau_nl_facts(recs)
    m = tcc.measure_tau_nl("quick", "erf")
    assert facts["tc-nl-slope-erf"].startswith(m.text())
    assert m.value == pytest.approx(1.0, abs=0.02) and m.n == 3 and "per c" in m.detail


def test_the_largest_training_learning_rate_scales_as_one_over_beta():
    recs = [{"status": "ok" if lr <= 0.2 / b * 1.0001 else "diverged", "config": {"beta": b, "lr": lr, "seed": s},
             "data": {"final_test_acc": 0.9 - 0.01 * np.log(lr * b / 0.05) ** 2}}
            for b in (0.1, 1.0, 10.0) for lr in 0.05 / b * 2.0 ** np.arange(-3, 4) for s in (0, 1)]
    largest = tca.largest_training_lr(recs)
    assert np.allclose(largest.values * largest.index, 0.2)
    assert tca.largest_lr_fit(recs).slope == pytest.approx(-1.0)
    facts = tca.eta_star_facts(recs)
    assert facts["tc-eta-slope"] == "-1 [-1, -1] (95 % interval, 3 betas)" == f"{tca.eta_star_exponent(recs).text()} " \
        "(95 % interval, 3 betas)"
    assert facts["tc-eta-max-slope"] == "-1 [-1, -1] (95 % interval, 3 betas)"
    assert list(tca.eta_star_table(recs).largest_training_lr * [0.1, 1.0, 10.0]) == pytest.approx([0.2] * 3)
    top = [r for r in recs if r["status"] == "ok"]  # every grid point trains: no edge, nothing to fit
    assert tca.largest_lr_fit(top) is None and tca.eta_star_facts(top)["tc-eta-max-slope"] == "not measurable"
    assert "±" not in "".join(facts.values())


def test_best_beta_text():
    tune = [_sweep_rec(bn, 1.0, 0, acc, lr=lr) for bn in (False, True)
            for lr, acc in ((0.025, 0.7), (0.05, 0.8 if not bn else 0.6), (0.1, 0.75))]
    sweep = [_sweep_rec(bn, b, s, acc + 0.01 * s + (0.02 if bn else 0.0))
             for bn in (False, True) for b, acc in ((0.01, 0.1), (0.3, 0.8), (1.0, 0.78)) for s in range(3)]
    facts = tca.beta_sweep_facts(tune, sweep)
    assert facts["tc-fig6-plain-best"] == "beta = 0.3 (81.00 % mean, 79.00 % at beta = 1)"
    assert facts["tc-fig6-plain-eta0"] == "0.05" and facts["tc-fig6-bn-eta0"] == "0.1"
    assert facts["tc-fig6-bn-edge"] == "the largest learning rate of the grid"
    assert facts["tc-fig6-plain-small"] == "beta = 0.01: mean 11.0 %, best seed 12.0 %"
    paired = tca.fig6_comparison_facts(sweep)
    assert paired["tc-fig6-plain-paired"].startswith("beta = 0.01: -68 [")  # 0.1 - 0.78, every seed
    assert paired["tc-fig6-bn-ten"].startswith("n/a")
    assert paired["tc-fig6-above-zero"] == "2 of 4"  # beta = 0.3, each network


def test_ntk_groups_correlation_and_ratio():
    rows = [{"c": c, "z0_norm": 1.0, "tau_z": 1.0, "tau_z_eta_over_z0": 3.0 * d, "inverse_drive": d}
            for c, d in ((-0.5, 1e-3), (0.0, 2e-3), (0.5, 5e-3))]
    recs = [{"status": "ok", "config": {"activation": a, "labels": lab, "beta": 1.0}, "data": {"rows": rows}}
            for a in ("relu", "erf") for lab in ("true", "shuffled")]
    groups = tca.ntk_groups(tca.ntk_prediction_table(recs))
    assert np.allclose(groups["corr of logs"], 1.0) and np.allclose(groups["ratio mean"], 3.0)
    assert np.allclose(groups["range of tau_z eta/||Z0|| (max/min)"], 5.0)
    facts = tca.ntk_facts(recs)
    assert facts["tc-fig7-ratio"] == "3.00 to 3.00" and facts["tc-fig7-range"] == "5.00 to 5.00"


def test_remainder_table_recovers_the_exponent_of_the_remainder():
    s = np.logspace(0, -8, 17)
    recs = [{"config": {"activation": act, "c": 0.0},
             "data": {"steps": list(s), "remainder": list(5.0 * s**p), "second_order": 5.0}}
            for act, p in (("relu", 1.5), ("erf", 2.0))]
    t = tca.remainder_table(recs)
    assert np.allclose(t[tca.REMAINDER_EXPONENT], [1.5, 2.0])
    assert tca.step_scaling_facts(recs) == {"tc-remainder-relu": "1.50 to 1.50", "tc-remainder-erf": "2.00 to 2.00"}


def test_learning_starts_in_steps_and_in_units_of_tau_z():
    def long(z0, tau, acc):
        return {"status": "ok", "config": {"mode": "long"},
                "data": {"z0_norm": z0, "tau_z_empirical": tau, "steps": [0, 1, 10, 100],
                         "net": {"train_acc": acc}}}

    recs = [long(1.0, 2.0, [0.1, 0.4, 0.8, 0.9]), long(10.0, 20.0, [0.1, 0.1, 0.5, 0.9]),
            long(50.0, 40.0, [0.1, 0.1, 0.1, 0.2])]
    starts = tca.learning_starts(recs, level=0.3)
    assert list(starts["first step with accuracy >= 0.3"]) == [1.0, 10.0, np.inf]
    assert list(starts["... in units of tau_z"][:2]) == [0.5, 0.5]


def test_every_glued_number_of_the_chapter_comes_from_analysis():
    """The quick profile's cached records give every ``{glue:text}`` key the chapter's prose uses."""
    import json
    import re
    from pathlib import Path

    from thermo import claims
    from thermo.errors import MissingResults

    nb = Path(__file__).resolve().parents[1] / "notebooks" / "temperature-check" / "01-softmax-temperature.ipynb"
    prose = "".join("".join(c["source"]) for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "markdown")
    used = set(re.findall(r"\{glue:text\}`([^`]+)`", prose))
    try:
        rec = {e: claims.cached_records(e, "quick") for e in (
            "tc-fig1-collapse", "tc-timescales", "tc-nl-step-scaling", "tc-fig4-eta-star", "tc-fig5-phase-plane",
            "tc-fig6-tune", "tc-fig6-beta-sweep", "tc-fig7-ntk", "tc-a3-conditioning")}
    except MissingResults as err:
        pytest.skip(str(err))
    facts = {**tca.collapse_facts(rec["tc-fig1-collapse"]), **tca.tau_z_facts(rec["tc-timescales"]),
             **tca.tau_nl_facts(rec["tc-timescales"]), **tca.step_scaling_facts(rec["tc-nl-step-scaling"]),
             **tca.eta_star_facts(rec["tc-fig4-eta-star"]), **tca.phase_facts(rec["tc-fig5-phase-plane"]),
             **tca.beta_sweep_facts(rec["tc-fig6-tune"], rec["tc-fig6-beta-sweep"]),
             **tca.fig6_comparison_facts(rec["tc-fig6-beta-sweep"]), **tca.validated_facts(),
             **tca.ntk_facts(rec["tc-fig7-ntk"]), **tca.conditioning_facts(rec["tc-a3-conditioning"])}
    assert used <= set(facts), f"glued in the prose but made by no analysis function: {sorted(used - set(facts))}"
    assert "±" not in prose and "±" not in "".join(facts.values())
    # the claims state the chapter's numbers
    for claim_id, key in (("tc-departure", "tc-departure-exponent"), ("tc-ntk-tau-z", "tc-start-exponent"),
                          ("tc-tau-nl", "tc-nl-slope-relu"), ("tc-tau-nl-erf", "tc-nl-slope-erf"),
                          ("tc-eta-star", "tc-eta-slope")):
        assert facts[key].startswith(registry.REGISTRY[claim_id].measure("quick").text())


# --- every claim can fail: fabricated records flip each status both ways (DESIGN.md section 8) ----------

def _timescale_recs(exponents, cs=(-0.5, 0.0, 0.5), betas=(0.1, 1.0, 10.0), et=1e-3):
    """Short runs with tau_nl eta_tilde = (2 + c) beta^(p + 0.03 k) for the k-th c (slopes differ by c)."""
    return [{"status": "ok", "config": {"mode": "short", "activation": act, "beta": b, "c": c, "eta_tilde": et},
             "data": {"z0_norm": b, "tau_z_theory": 1.0, "tau_z_empirical": 1.0,
                      "tau_nl": (2 + c) * b ** (p + 0.03 * (k - 1)) / et}}
            for act, p in exponents.items() for k, c in enumerate(cs) for b in betas]


def _departure_recs(p, wobble=0.05, betas=(0.3, 1.0, 3.0, 10.0, 30.0)):
    """Z0 = 0 runs whose deviation from the linearized model grows linearly in time, crossing 10 % of the
    linearized change at eta_tilde t = 0.2 beta^p (times a random factor of size ``wobble``)."""
    rng = np.random.default_rng(1)
    recs = []
    for et in (1.0, 0.1):
        steps = np.arange(0, 20001) if et == 0.1 else np.arange(0, 2001)
        for b in betas:
            cross = 0.2 * b**p * np.exp(wobble * rng.normal())
            lin = steps.astype(float)
            rel = 0.1 * steps * et / cross
            recs.append({"status": "ok", "config": {"eta_tilde": et, "beta": b, "activation": "relu"},
                         "data": {"steps": steps.tolist(), "z0_norm": 0.0, "lin": {"z_norm": lin.tolist()},
                                  "deviation": (rel * lin).tolist()}})
    return recs


def _long_recs(p, wobble=0.03, taus=(1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)):
    """Long runs whose training accuracy jumps from chance to 50 % at step 3 tau_z^p."""
    rng = np.random.default_rng(2)
    steps = list(range(0, 3000))
    recs = []
    for i, tau in enumerate(taus):
        start = 3 * tau**p * np.exp(wobble * rng.normal())
        recs.append({"status": "ok", "config": {"mode": "long", "activation": "relu", "beta": 1.0, "eta_tilde": 1e-3,
                                                "c": float(i)},
                     "data": {"z0_norm": tau * (1 + 0.3 * i), "tau_z_empirical": tau, "steps": steps,
                              "net": {"train_acc": [0.5 if s >= start else 0.1 for s in steps]}}})
    short = _timescale_recs({"relu": 1.0})
    return recs + [{**r, "data": {**r["data"], "tau_z_theory": r["data"]["tau_z_empirical"]}} for r in short]


def _eta_star_recs(exponent):
    """A learning-rate grid per beta whose accuracy is a parabola in log eta centred on 0.05 beta^exponent."""
    return [{"status": "ok", "config": {"beta": b, "lr": 0.05 / b * f, "seed": s},
             "data": {"final_test_acc": 0.9 - 0.01 * np.log(0.05 / b * f / (0.05 * b**exponent)) ** 2}}
            for b in (0.1, 0.3, 1.0, 3.0, 10.0) for f in 2.0 ** np.arange(-4, 5) for s in (0, 1)]


def _val_sweep(gain, seeds=range(10)):
    """A validated beta sweep: without BatchNorm beta = 0.3 and the best seeds at 0.01 are ``gain`` above
    beta = 1 (half the seeds at 0.01 fail); with BatchNorm beta = 10 is ``gain`` above beta = 1."""
    rng = np.random.default_rng(3)
    recs = []
    for s in seeds:
        base = 0.8 + 0.01 * rng.normal()
        accs = {(False, 1.0): base, (False, 0.3): base + gain, (False, 0.01): 0.8 + gain if s < 5 else 0.1,
                (True, 1.0): base + 0.03, (True, 10.0): base + 0.03 + gain}
        for (bn, b), acc in accs.items():
            acc += 0.002 * rng.normal()
            recs.append({"status": "ok", "config": {"batchnorm": bn, "beta": b, "seed": s, "lr": 0.05 / b, "eta0": 0.05,
                                                    "n_val": 100, "n_train": 500, "model": "convnet",
                                                    "dataset": "fashion-mnist", "epochs": 5},
                         "data": {"final_test_acc": acc, "final_val_acc": acc + 0.002 * rng.normal()}})
    return recs


FLIPS = {  # claim -> (records that reproduce it, records that go against it, the status they give)
    "tc-departure": ({"tc-fig1-collapse": _departure_recs(1.0)}, {"tc-fig1-collapse": _departure_recs(-1.0)},
                     "contradicted"),
    "tc-ntk-tau-z": ({"tc-timescales": _long_recs(1.0)}, {"tc-timescales": _long_recs(0.4)}, "contradicted"),
    "tc-tau-nl": ({"tc-timescales": _timescale_recs({"relu": 1.0})},
                  {"tc-timescales": _timescale_recs({"relu": 0.5})}, "contradicted"),
    "tc-tau-nl-erf": ({"tc-timescales": _timescale_recs({"erf": 1.0})},
                      {"tc-timescales": _timescale_recs({"erf": 0.5})}, "contradicted"),
    "tc-eta-star": ({"tc-fig4-eta-star": _eta_star_recs(-1.0)}, {"tc-fig4-eta-star": _eta_star_recs(-0.5)},
                    "contradicted"),
    "tc-beta-no-norm": ({"tc-fig6-val-sweep": _val_sweep(0.02)}, {"tc-fig6-val-sweep": _val_sweep(-0.02)},
                        "contradicted"),
    "tc-beta-bn-ten": ({"tc-fig6-val-sweep": _val_sweep(0.02)}, {"tc-fig6-val-sweep": _val_sweep(-0.02)},
                       "contradicted"),
    "tc-beta-best-seed": ({"tc-fig6-val-sweep": _val_sweep(0.02)}, {"tc-fig6-val-sweep": _val_sweep(-0.02)},
                          "contradicted"),
}


def _assess(claim_id, records, monkeypatch):
    from thermo import claims

    def cached(exp, profile):
        if exp not in records:
            raise claims.MissingResults(f"{exp} not fabricated")
        return records[exp]

    monkeypatch.setattr(claims, "cached_records", cached)
    return claims.assess(registry.REGISTRY[claim_id], "quick")


@pytest.mark.parametrize("claim_id", sorted(FLIPS))
def test_every_claim_flips_both_ways_on_fabricated_records(claim_id, monkeypatch):
    good, bad, against = FLIPS[claim_id]
    a = _assess(claim_id, good, monkeypatch)
    assert a.status == "reproduced", f"{claim_id}: {a.ours} -> {a.status} ({a.note})"
    b = _assess(claim_id, bad, monkeypatch)
    assert b.status == against, f"{claim_id}: {b.ours} -> {b.status} ({b.note})"
    assert "n = " in a.note or "over" in a.note


def test_every_claim_of_the_paper_has_a_flip_test_and_a_rule_of_the_one_policy():
    ours = {cid: c for cid, c in registry.REGISTRY.items() if cid.startswith("tc-")}
    assert set(ours) == set(FLIPS)
    assert {c.rule.kind for c in ours.values()} <= {"point", "direction", "bound"}


def test_a_departure_without_a_trend_is_a_powered_null_not_a_verdict(monkeypatch):
    a = _assess("tc-departure", {"tc-fig1-collapse": _departure_recs(0.0, wobble=0.02)}, monkeypatch)
    assert a.status == "absent at this scale" and a.measurement.lo < 0 < a.measurement.hi


def test_a_departure_time_reads_only_runs_that_finished_and_left():
    recs = _departure_recs(1.0, wobble=0.0)
    short = recs[0]["data"]  # a run that never leaves: a deviation of zero
    recs.append({"status": "ok", "config": {"eta_tilde": 1.0, "beta": 100.0, "activation": "relu"},
                 "data": {**short, "deviation": [0.0] * len(short["steps"])}})
    recs.append({**recs[1], "status": "diverged", "config": {**recs[1]["config"], "beta": 0.01}})
    est = tca.departure_exponent(recs)
    assert est.value == pytest.approx(1.0, abs=1e-3) and est.n == 10 and est.df == 7
    assert est.facts["never left"] == [(1.0, 100.0)]


def test_the_start_exponent_reports_its_rival():
    est = tca.start_exponent(_long_recs(1.0, wobble=0.0))
    assert est.value == pytest.approx(1.0, abs=0.02) and est.n == 7
    assert est.facts["residual sd"] < est.facts["rival residual sd"]  # ||Z0|| alone fits these starts worse
    assert "rival" not in tca.start_text([])  # no long runs: not measurable
    assert tca.start_text([]).startswith("not measurable")


def test_tuned_beta_is_picked_on_the_other_seeds_validation_accuracy():
    recs = _val_sweep(0.02)
    runs = tca.beta_runs(recs)
    est = tca.tuned_beta_gain(runs)
    assert est.facts["picked"] == {0.3: 10} and est.n == 10 and est.unit == "pt"
    # a beta that is best on test but not on validation is never picked
    for r in recs:
        if r["config"]["beta"] == 0.01 and not r["config"]["batchnorm"]:
            r["data"]["final_val_acc"] = 0.1
            r["data"]["final_test_acc"] = 0.99
    assert tca.tuned_beta_gain(tca.beta_runs(recs)).facts["picked"] == {0.3: 10}
    with pytest.raises(ConfigError, match="validation split"):
        tca.tuned_beta_gain(tca.beta_runs([{**r, "config": {**r["config"], "n_val": None}} for r in recs]))


def test_the_best_seed_compares_as_many_seeds_at_each_beta():
    runs = tca.beta_runs(_val_sweep(0.02))
    est = tca.best_seed_gain(runs, False, 0.01)
    g = runs[~runs.batchnorm].pivot_table(index="seed", columns="beta", values="test")
    assert est.value == pytest.approx(g[0.01].max() - g[1.0].max()) and est.n == 10
    assert est.method == "bootstrap over seeds"


def test_the_validated_learning_rate_and_its_edge(monkeypatch):
    from thermo import claims

    def tune(bn, accs):
        return [{"status": "ok" if a is not None else "diverged",
                 "config": {"batchnorm": bn, "lr": lr, "seed": s},
                 "data": {"final_val_acc": a}} for lr, a in accs for s in (0, 1)]

    inside = tune(False, [(0.01, 0.7), (0.02, 0.8), (0.04, None)]) + tune(True, [(0.01, 0.6), (0.02, 0.7),
                                                                                   (0.04, 0.65)])
    assert tca.validated_lr(inside, False) == (0.02, False) and tca.validated_lr(inside, True) == (0.02, False)
    edge = tune(False, [(0.01, 0.9), (0.02, 0.8), (0.04, 0.7)]) + tune(True, [(0.01, 0.6), (0.02, 0.7),
                                                                               (0.04, 0.65)])
    assert tca.validated_lr(edge, False) == (0.01, True)
    monkeypatch.setattr(claims, "cached_records", lambda exp, profile: {"tc-fig6-val-tune": edge}[exp])
    with pytest.raises(ConfigError, match="edge of the grid"):
        tcr.val_sweep_configs("quick")
    monkeypatch.setattr(claims, "cached_records", lambda exp, profile: {"tc-fig6-val-tune": inside}[exp])
    cfgs = tcr.val_sweep_configs("quick")
    v = tcf.VALIDATED["quick"]
    assert len(cfgs) == (len(v.plain_betas) + len(v.bn_betas)) * len(v.seeds)
    assert all(c["lr"] * c["beta"] == pytest.approx(0.02) and c["n_val"] == v.n_val for c in cfgs)


def test_a_sweep_that_cannot_be_built_leaves_the_fig6_claims_untested(monkeypatch):
    from thermo import claims

    def edge(exp, profile):
        raise ConfigError("the validated learning rate without BatchNorm is 0.2, the edge of the grid")

    monkeypatch.setattr(claims, "cached_records", edge)
    a = claims.assess(registry.REGISTRY["tc-beta-bn-ten"], "quick")
    assert a.status == "not yet tested" and "edge of the grid" in a.note


def test_validated_facts_say_how_to_run_the_sweep_until_it_is_cached():
    facts = tca.validated_facts()
    assert set(facts) == set(tca.VALIDATED_KEYS)
    assert all("python -m thermo run tc-fig6-val-tune tc-fig6-val-sweep" in v for v in facts.values())
    recs = _val_sweep(0.02)
    tune = [{"status": "ok", "config": {"batchnorm": bn, "lr": lr, "seed": 0}, "data": {"final_val_acc": a}}
            for bn in (False, True) for lr, a in ((0.025, 0.7), (0.05, 0.8), (0.1, 0.75))]
    facts = tca.validated_facts(tune, recs)
    assert set(facts) >= set(tca.VALIDATED_KEYS) - {"tc-fig6-val-above-zero"}
    assert facts["tc-fig6-val-eta0"] == "0.05 without BatchNorm and 0.05 with it"
    assert facts["tc-fig6-val-tuned"].endswith("picked: beta = 0.3 for 10")


def test_a_beta_run_with_a_validation_split_scores_test_once_at_the_end():
    cfg = {"dataset": "digits", "n_train": None, "width": 0.25, "epochs": 1, "batch_size": 64, "model": "convnet",
           "batchnorm": False, "momentum": 0.9, "beta": 1.0, "lr": 0.05, "seed": 0, "n_val": 200, "eval_every": 1}
    tr, val = tcr.train_and_validation(cfg)
    assert len(val.y) == 200 and len(tr.y) == 1437 - 200
    assert not set(map(tuple, tr.x.flatten(1).tolist()[:50])) & set(map(tuple, val.x.flatten(1).tolist()))
    out = tcr.run_beta_run(cfg)
    assert out["status"] == "ok" and 0 <= out["final_val_acc"] <= 1 and 0 <= out["final_test_acc"] <= 1
    assert "val_acc" in out["history"] and "test_acc" not in out["history"]
    with pytest.raises(ConfigError, match="n_val"):
        tcr.check_beta_run({**cfg, "n_val": -3})

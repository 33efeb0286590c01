"""The Temperature-check experiments' own helpers: the eta* estimate and the data preparation."""

import numpy as np
import pytest

from thermo.experiments import temperature_check as tc


def _rec(beta, lr, acc, status="ok"):
    return {"config": {"beta": beta, "lr": lr}, "status": status, "data": {"final_test_acc": acc}}


@pytest.mark.parametrize("true_star", [0.05, 0.08])
def test_eta_star_recovers_the_vertex_of_a_parabola_in_log_eta(true_star):
    grid = 0.05 * 2.0 ** np.arange(-3, 4)
    recs = [_rec(1.0, lr, 0.9 - 0.01 * np.log(lr / true_star) ** 2) for lr in grid]
    recs.append(_rec(1.0, grid[-1], 0.0, status="diverged"))  # a diverged seed counts as chance
    out = tc.eta_star(recs)[0]
    assert out["eta_star"] == pytest.approx(true_star, rel=1e-9)
    assert not out["on_edge"]


def test_eta_star_on_the_edge_keeps_the_grid_point():
    recs = [_rec(2.0, lr, acc) for lr, acc in ((0.1, 0.5), (0.2, 0.6), (0.4, 0.7))]
    out = tc.eta_star(recs)[0]
    assert out["eta_star"] == 0.4 and out["on_edge"]


def test_fmnist_flat_is_standardized_on_the_training_subset():
    xtr, ytr, xte, yte = tc.fmnist_flat(64, 32, pool=4)
    assert xtr.shape == (64, 49) and xte.shape == (32, 49) and xtr.dtype == np.float64
    assert xtr.mean() == pytest.approx(0.0, abs=1e-12) and xtr.std() == pytest.approx(1.0)
    assert set(np.unique(ytr)) <= set(range(10))


def test_leave_time_is_the_first_step_past_the_tolerance():
    from thermo.plots import temperature_check as tcp

    rec = {"config": {"eta_tilde": 0.5}, "data": {"steps": [0, 1, 2, 4, 8], "z0_norm": 0.0,
                                                  "lin": {"z_norm": [0.0, 1.0, 2.0, 4.0, 8.0]},
                                                  "deviation": [0.0, 0.001, 0.03, 0.2, 2.0]}}
    assert tcp.leave_time(rec, 0.01) == 2 * 0.5  # 0.03 / 2 > 1 %
    assert tcp.leave_time(rec, 0.1) == 8 * 0.5  # 2 / 8 > 10 %, 0.2 / 4 is not
    assert tcp.leave_time(rec, 0.5) == float("inf")


def test_tau_nl_slopes_recover_a_power_law_per_c():
    from thermo.plots import temperature_check as tcp

    recs = []
    for c, pref in ((-0.5, 2.0), (0.5, 3.0)):
        for b in (0.1, 1.0, 10.0):
            et = 1e-3
            recs.append({"status": "ok", "config": {"mode": "short", "beta": b, "c": c, "eta_tilde": et},
                         "data": {"z0_norm": b, "tau_z_theory": 1.0, "tau_z_empirical": 1.0,
                                  "tau_nl": pref * b**0.8 / et}})
    recs.append({"status": "ok", "config": {"mode": "long", "beta": 1.0, "c": 0.0, "eta_tilde": 1.0}, "data": {}})
    table = tcp.timescale_table(recs)
    assert len(table) == 6 and np.allclose(table.tau_nl_eta_over_beta, table.tau_nl_eta / table.beta)
    s = tcp.tau_nl_slopes(table)
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
    t = tc.phase_table(recs).set_index("beta")
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
    t = tc.beta_sweep_table(recs).iloc[0]
    full = np.array(accs + [0.1])
    assert t["mean"] == pytest.approx(full.mean()) and t["std"] == pytest.approx(full.std(ddof=1))
    assert t["max"] == 0.9 and t["seeds"] == 4 and t["diverged"] == 1


def test_tuned_lr_is_the_best_grid_point_and_sweep_scales_it_by_one_over_beta(monkeypatch):
    from thermo import claims

    tune = [_sweep_rec(False, 1.0, 0, 0.80, lr=0.025), _sweep_rec(False, 1.0, 0, 0.86, lr=0.05),
            _sweep_rec(False, 1.0, 0, 0.95, "diverged", lr=0.1), _sweep_rec(True, 1.0, 0, 0.9, lr=0.2),
            _sweep_rec(True, 1.0, 0, 0.7, lr=0.05)]
    monkeypatch.setattr(claims, "cached_records", lambda exp, profile: tune)
    assert tc.tuned_lr("quick", False) == 0.05 and tc.tuned_lr("quick", True) == 0.2
    cfgs = tc.beta_sweep_configs("quick")
    assert len(cfgs) == 2 * len(tc.BETA_SWEEP["quick"]["betas"]) * len(tc.BETA_SWEEP["quick"]["seeds"])
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
    from thermo.plots import temperature_check as tcp

    zs = np.linspace(0.5, 40, 12)
    rows = [{"z_norm": z, "kappa": 50.0 * np.exp(0.3 * z)} for z in zs]
    rows.append({"z_norm": 60.0, "kappa": None})  # past float64 rounding: left out
    rec = {"data": {"rows": rows, "kappa_ntk": 50.0}}
    g = tcp.conditioning_growth(rec, min_kappa_ratio=10.0)
    assert g["slope"] == pytest.approx(0.3) and g["r2"] == pytest.approx(1.0)
    assert g["points"] == int(np.sum(np.exp(0.3 * zs) > 10.0))


def test_ntk_prediction_table_has_one_row_per_c():
    from thermo.plots import temperature_check as tcp

    rows = [{"c": c, "z0_norm": 1.0, "tau_z": 2.0, "tau_z_eta_over_z0": 0.002, "inverse_drive": 0.001}
            for c in (-0.5, 0.0)]
    recs = [{"status": "ok", "config": {"activation": a, "labels": "true", "beta": 1.0}, "data": {"rows": rows}}
            for a in ("relu", "erf")]
    t = tcp.ntk_prediction_table(recs)
    assert len(t) == 4 and set(t.activation) == {"relu", "erf"}


def test_claim_measures_on_fabricated_records(monkeypatch):
    from thermo import claims

    def lin(et, beta, losses, status="ok"):
        return {"status": status, "config": {"eta_tilde": et, "beta": beta},
                "data": {"steps": list(range(len(losses))), "lin": {"train_loss": losses}}}

    collapse = [lin(1.0, 1.0, [2.0, 1.0]), lin(1.0, 10.0, [2.0, 1.0 + 1e-7]), lin(0.1, 1.0, [2.0, 1.5]),
                lin(0.1, 3.0, [2.0, 1.5]), lin(1.0, 0.1, [2.0], status="diverged")]
    # eta* = 0.05 / beta exactly: a parabola in log eta centred there, for three betas
    sweep = [{"status": "ok", "config": {"beta": b, "lr": 0.05 / b * f},
              "data": {"final_test_acc": 0.9 - 0.01 * np.log(f * 1.3) ** 2}}
             for b in (0.1, 1.0, 10.0) for f in 2.0 ** np.arange(-3, 4)]
    betas = [{"status": "ok", "config": {"batchnorm": False, "beta": b, "seed": s, "lr": 0.1},
              "data": {"final_test_acc": acc + 0.001 * s}}
             for b, acc in ((0.1, 0.80), (0.3, 0.85), (1.0, 0.83)) for s in range(3)]
    data = {"tc-fig1-collapse": collapse, "tc-fig4-eta-star": sweep, "tc-fig6-beta-sweep": betas}
    monkeypatch.setattr(claims, "cached_records", lambda exp, profile: data[exp])
    m = tc.measure_collapse("quick")
    assert m.value == pytest.approx(1e-7 / (1.0 + 0.5e-7), rel=1e-6)
    s = tc.measure_eta_star("quick")
    assert s.value == pytest.approx(-1.0, abs=1e-9)
    assert tc.measure_best_beta("quick", False).value == 0.3


def test_wide_resnet_without_batchnorm_for_the_paper_profile():
    import torch

    from thermo import models

    plain = models.build("wrn-10-1", (3, 16, 16), 10, batchnorm=False)
    normed = models.build("wrn-10-1", (3, 16, 16), 10)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in plain.modules())
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in normed.modules()) > 0
    assert plain(torch.zeros(2, 3, 16, 16)).shape == (2, 10)
    assert {c["model"] for c in tc.tune_configs("paper")} == {"wrn-16-4"}


def test_the_ntk_prediction_runs_for_a_small_cnn(jax_float64):
    cfg = {"dataset": "fashion-mnist", "n_train": 8, "pool": 7, "width": 4, "depth": 1, "activation": "relu",
           "labels": "true", "beta": 1.0, "cs": [-0.5, 0.5], "eta_tilde": 1e-3, "seed": 0, "float64": True,
           "architecture": "cnn"}
    out = tc.run_ntk_pred(cfg)
    assert out["status"] == "ok" and len(out["rows"]) == 2
    r = out["rows"][0]
    assert r["tau_z"] > 0 and r["inverse_drive"] > 0
    assert r["tau_z_eta_over_z0"] == pytest.approx(r["tau_z"] * 1e-3 / r["z0_norm"])
    with pytest.raises(tc.ConfigError, match="architecture must be one of"):
        tc.check_ntk_pred({**cfg, "architecture": "rnn"})

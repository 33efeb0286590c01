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

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

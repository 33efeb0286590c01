"""The ActCoolR chapter's analysis (thermo.plots.actcoolr) and claims, on fabricated runs whose
answers are known in closed form."""

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from scipy.special import ndtr  # noqa: E402

from thermo import apt, claims  # noqa: E402
from thermo.experiments import actcoolr as acx  # noqa: E402
from thermo.plots import actcoolr as acp  # noqa: E402

SPE = 10  # steps per epoch of the fabricated runs (n_train 1280, batch 128)


def run(series: dict, epochs=6, schedule="onecycle", every=2, lr_range=None, **config):
    """A record whose step history holds ``series[key](step) -> value`` probed every ``every`` steps."""
    steps = np.arange(every, epochs * SPE + 1, every)
    h = {"lr": [0.1] * (epochs * SPE)}
    for key, f in series.items():
        h[f"step:{key}"] = steps.tolist()
        h[key] = [float(f(s)) for s in steps]
    data = {"step_history": h, "history": {"epoch": [epochs], "test_acc": [0.9]}, "final_test_acc": 0.9}
    if lr_range:
        data["lr_range"] = lr_range
    return {"config": {"n_train": 1280, "batch_size": 128, "epochs": epochs, "schedule": schedule, "lr": 0.2,
                       **config}, "data": data, "status": "ok"}


def test_epoch_means_average_the_measurements_of_each_epoch():
    r = run({"apt_position": lambda s: s})
    e, m = acp.epoch_means(r, "apt_position")
    assert e.tolist() == [1, 2, 3, 4, 5, 6]
    np.testing.assert_allclose(m, [np.mean(np.arange(2, 11, 2)) + SPE * k for k in range(6)])


def test_decay_linearity_is_one_for_a_line_and_lower_for_a_curve():
    line = acp.onecycle_decay_linearity(run({"apt_position": lambda s: 5 - 0.05 * s}, epochs=10))
    assert line["epochs"] == [4, 5, 6, 7, 8, 9, 10]  # wholly after 30 % of 10 epochs (step 30)
    assert line["r2"] == pytest.approx(1.0) and line["slope"] == pytest.approx(-0.05 * SPE)
    curve = acp.onecycle_decay_linearity(run({"apt_position": lambda s: np.exp(-s / 8)}, epochs=10))
    assert curve["r2"] < 0.9


def test_cooling_order_sees_bottom_layers_cool_first_and_deeper_layers_hotter():
    series = {f"apt_position:l{k}": (lambda s, k=k: (1 + k) * np.exp(-s / (8 * 2**k))) for k in range(4)}
    out = acp.cooling_order(run({"apt_position": lambda s: 1.0, **series}, epochs=8))
    assert out["layers"] == ["l0", "l1", "l2", "l3"]
    assert out["spearman"] == pytest.approx(1.0) and out["hotter_deeper"] == pytest.approx(1.0)
    assert out["epoch"] == sorted(out["epoch"])


def test_range_fits_recover_erf_parameters_and_prefer_the_true_model():
    lrs = np.geomspace(1e-4, 1e2, 31)
    erf_rows = {"a": ndtr((np.log(lrs) - np.log(0.05)) / 0.8).tolist()}
    exp_rows = {"a": (-np.expm1(-lrs / 0.3)).tolist()}
    rng = {"lrs": lrs.tolist(), "rows": [
        {"epoch": 0, "granularity": "position", "p_change": erf_rows, "n_patterns": {"a": 10_000}},
        {"epoch": 1, "granularity": "position", "p_change": exp_rows, "n_patterns": {"a": 10_000}},
        {"epoch": 1, "granularity": "example", "p_change": exp_rows, "n_patterns": {"a": 128}},
    ]}
    f = acp.range_fits(run({}, lr_range=rng)).set_index("epoch")
    assert len(f) == 2  # only the requested granularity
    assert f.loc[0, "mu"] == pytest.approx(np.log(0.05), abs=1e-6) and f.loc[0, "sigma"] == pytest.approx(0.8)
    assert f.loc[0, "rmse_erf"] < f.loc[0, "rmse_exp"]
    assert f.loc[1, "lr0"] == pytest.approx(0.3) and f.loc[1, "rmse_exp"] < f.loc[1, "rmse_erf"]
    assert f.loc[1, "sigma"] == pytest.approx(acp.apt.fit_erf(lrs, exp_rows["a"])["sigma"])


def test_network_fit_of_identical_layers_is_the_layer_fit():
    lrs = np.geomspace(1e-4, 1e2, 31)
    p = ndtr((np.log(lrs) + 2.0) / 1.3)
    row = {"epoch": 0, "granularity": "position", "p_change": {"a": p.tolist(), "b": p.tolist()},
           "n_patterns": {"a": 10**6, "b": 10**6}}
    np.testing.assert_allclose(acp.mean_p_change(row), p, atol=1e-6)
    f = acp.network_fits(run({}, lr_range={"lrs": lrs.tolist(), "rows": [row]}))
    assert f.mu.iloc[0] == pytest.approx(-2.0, abs=1e-3) and f.sigma.iloc[0] == pytest.approx(1.3, abs=1e-3)


def test_tracking_error_is_the_mean_relative_deviation_between_warmup_and_stop():
    total = 10 * SPE
    r = run({"target_apt": lambda s: 3 * (1 - s / total), "apt": lambda s: 3.3 * (1 - s / total)}, epochs=10,
            schedule="actcool")
    assert acp.tracking_error(r) == pytest.approx(0.1)
    r = run({"target_apt": lambda s: 2.0, "apt": lambda s: 2.0 if s < 50 else 3.0}, epochs=10, schedule="actcool")
    assert acp.tracking_error(r) == pytest.approx(np.mean([0.0] * 20 + [0.5] * 21))  # steps 10..48 and 50..90


def test_table1_claim_pairs_errors_by_seed(monkeypatch):
    recs = []
    for seed, base in ((43, 0.10), (37, 0.11), (13, 0.12)):
        for sched, extra in (("constant", 0.0), ("onecycle", -0.01), ("actcool", 0.004)):
            c = acx.point("quick", sched, seed=seed, gamma=1.0)
            recs.append({"config": c, "status": "ok", "data": {"final_test_acc": 1 - base - extra}})
    monkeypatch.setattr(claims, "cached_records", lambda exp, profile: recs)
    claim = claims.load_all()["ac-fmnist-table1"]
    m = claim.measure("quick")
    assert m.value == pytest.approx(0.004) and m.n == 3
    assert claims.assess(claim, "quick").status == "reproduced"  # within 1 pt of parity


def test_exponential_curve_has_a_fixed_erf_width():
    """The chapter's argument: the erf width fitted to 1 - exp(-lr/lr0) does not depend on lr0."""
    lrs = np.geomspace(1e-4, 1e2, 31)
    sig = [apt.fit_erf(lrs, -np.expm1(-lrs / lr0))["sigma"] for lr0 in (1e-2, 1e-1, 1.0)]
    assert np.ptp(sig) < 0.01 and 1.0 < sig[0] < np.pi / np.sqrt(6)


def test_layer_names_follow_the_network_not_the_stored_text_order():
    """The store sorts keys as text ('layers...' before 'stem...'); depth comes from the model."""
    from thermo import models

    names = [n for n, _ in models.relu_modules(models.build("resnet20", (1, 28, 28), 10, width=0.25))]
    r = run({f"apt_position:{n}": (lambda s: 1.0) for n in sorted(names)}, epochs=2)
    r["config"].update(dataset="fashion-mnist", model="resnet20", width=0.25)
    assert acp.layer_names(r, "position") == names and names[0] == "stem.2"

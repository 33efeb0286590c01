"""The cached quick-profile results in results/: current, with provenance, and reproducible.

A small sample of each record is recomputed here and compared within a stated tolerance; the
whole set is recomputed by `make results`.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from thermo import experiments, htsr
from thermo.experiments.tempbalance_esd import s_vs_alpha
from thermo.results import Store

ROOT = Path(__file__).resolve().parents[1]
STORE = Store(ROOT / "results")
USED_BY_CHAPTERS = ["tb-s-vs-alpha", "tb-esd-fits", "tb-fig3-main", "tb-fig5-lr", "tb-fig6-width", "tb-fig7-metric",
                    "tb-every", "ac-fig1-schedules", "ac-fig3-cooling", "ac-table1-fmnist", "tc-fig1-collapse",
                    "tc-timescales", "tc-nl-step-scaling", "tc-fig4-eta-star", "tc-fig5-phase-plane", "tc-fig6-tune",
                    "tc-fig6-beta-sweep", "tc-fig7-ntk", "tc-a3-conditioning", "l2-tstar", "l2-narrow", "l2-autol2",
                    "l2-kernel-decay", "l2-eq1"]


@pytest.mark.parametrize("exp_id", USED_BY_CHAPTERS)
def test_every_quick_point_of_the_chapters_is_cached(exp_id):
    exp = experiments.get(exp_id)
    for cfg in exp.configs("quick"):
        rec = STORE.load(exp.id, exp.version, cfg)
        assert rec is not None, f"{exp_id}: no cached record for the current quick config; run `make results`"
        assert rec["status"] in ("ok", "diverged"), f"{exp_id}: {rec['status']} ({rec.get('reason')})"


def test_records_carry_provenance():
    files = sorted((ROOT / "results").rglob("*.json"))
    assert files
    for path in files:
        prov = json.loads(path.read_text())["provenance"]
        assert len(prov["git_commit"]) == 40 and prov["profile"] == "quick", path
        assert prov["wall_seconds"] > 0 and prov["packages"]["torch"]


def test_fig9_sample_recomputes_to_round_off():
    exp = experiments.get("tb-s-vs-alpha")
    cfg = exp.configs("quick")[0]
    stored = {(r["m"], r["s"]): r for r in STORE.load(exp.id, exp.version, cfg)["data"]["rows"]}
    for m, s in [(64, 0.5), (256, 2.0), (1024, 1.0)]:
        row = s_vs_alpha({"sizes": [m], "s_values": [s], "seed": cfg["seed"]})["rows"][0]
        # float64 eigensolvers on another BLAS differ in the last bits: 1e-9 relative is ample
        assert row["alpha_eq3"] == pytest.approx(stored[(m, s)]["alpha_eq3"], rel=1e-9)
        assert row["alpha_official"] == pytest.approx(stored[(m, s)]["alpha_official"], rel=1e-9)


def test_esd_fits_alphas_follow_from_the_stored_spectra():
    exp = experiments.get("tb-esd-fits")
    rec = STORE.load(exp.id, exp.version, exp.configs("quick")[0])
    for layer in rec["data"]["layers"]:
        eigs = np.asarray(layer["eigs"])
        assert eigs.size == layer["n_eigs"] and np.all(np.diff(eigs) >= 0)
        assert htsr.alpha_hill(eigs) == pytest.approx(layer["alpha_hill"], rel=1e-6)
        assert layer["too_few_eigs"] == (layer["n_eigs"] < 50)


def test_an_l2_tstar_point_recomputes_within_tolerance():
    """The cheapest quick point of the L2 law (width 128, eta 0.2, lambda 0.005, 2,000 full-batch
    steps, about 15 s on one thread, as the record was computed): the accuracy curve within 0.5 pt
    at every evaluation (another BLAS may change float sums), t* within two evaluation steps
    (10^(2/25) ~ 1.2)."""
    from thermo.experiments import l2_tstar

    exp = experiments.get("l2-tstar")
    cfg = next(c for c in exp.configs("quick") if c["width"] == 128 and c["eta"] == 0.2 and c["lam"] == 0.005
               and c["seed"] == 0)
    stored = STORE.load(exp.id, exp.version, cfg)["data"]
    again = l2_tstar.compute(cfg)
    assert again["eval_steps"] == stored["eval_steps"]
    assert np.max(np.abs(np.array(again["test_acc"]) - stored["test_acc"])) < 0.005
    assert abs(np.log(again["t_star"] / stored["t_star"])) <= 2 * np.log(10) / 25 + 1e-9


def _records(exp_id):
    exp = experiments.get(exp_id)
    recs = [STORE.load(exp.id, exp.version, cfg) for cfg in exp.configs("quick")]
    return [r for r in recs if r is not None and r["status"] == "ok"]


@pytest.mark.parametrize("exp_id", ["tb-fig3-main", "tb-fig5-lr", "tb-fig6-width", "tb-fig7-metric", "tb-every"])
def test_tb_factors_follow_eq2_from_the_stored_metrics(exp_id):
    """Every factor TempBalance logged is eq. 2 applied to the metrics it logged with it (1e-12)."""
    from thermo.tempbalance import layer_lr_scales

    recs = [r for r in _records(exp_id) if "tb" in r["config"]["method"]]
    if not recs:
        pytest.skip(f"{exp_id}: no cached TB run yet")
    for r in recs:
        c, h = r["config"], r["data"]["history"]
        assert r["data"]["final_test_acc"] == h["test_acc"][-1]
        for metric, scale in zip(h["tb_metric"], h["tb_scale"]):
            names = list(metric)
            np.testing.assert_allclose(layer_lr_scales([metric[n] for n in names], c["s1"], c["s2"]),
                                       [scale[n] for n in names], rtol=1e-12)


@pytest.mark.parametrize("exp_id", ["ac-fig1-schedules", "ac-fig3-cooling", "ac-table1-fmnist"])
def test_ac_learning_rates_and_calibration_recompute(exp_id):
    """The logged LR of every step of a scheduled run is the schedule's (torch's shapes, 1e-12);
    ActCoolLR's sigma is the erf fit of its stored calibration curve (1e-6)."""
    from thermo import apt, train

    recs = _records(exp_id)
    if not recs:
        pytest.skip(f"{exp_id}: nothing cached yet")
    for r in recs:
        c, lr = r["config"], np.asarray(r["data"]["step_history"]["lr"])
        spe = -(-c["n_train"] // c["batch_size"])
        assert lr.size == c["epochs"] * spe
        if c["schedule"] == "actcool":
            cal = r["data"]["calibration"]
            assert apt.fit_erf(cal["lrs"], cal["p_mean"])["sigma"] == pytest.approx(cal["sigma"], rel=1e-6)
            continue
        cfg = train.TrainConfig(epochs=c["epochs"], lr=c["lr"], schedule=c["schedule"], step_milestones=(0.5, 0.75),
                                step_gamma=0.1)
        expected = [cfg.base_lr(i / spe, spe) for i in range(lr.size)]  # these runs move the LR every step
        np.testing.assert_allclose(lr, expected, rtol=1e-12)

"""The TempBalance training chapter's tables and claims, on fabricated records with known answers
(each check recomputes the expected number independently: numpy, scipy's t interval)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import scipy.stats as st  # noqa: E402
import torch  # noqa: E402

from thermo import catalog, claims, models  # noqa: E402
from thermo.errors import ConfigError  # noqa: E402
from thermo.papers.tempbalance import analysis, configs, runs  # noqa: E402
from thermo.papers.tempbalance import claims as tb_claims  # noqa: E402
from thermo.papers.tempbalance import plots as tbplots  # noqa: E402
from thermo.results import config_hash  # noqa: E402
from thermo.tempbalance import TempBalance  # noqa: E402

P = "quick"


LAYERS = {"resnet20": ["layers.2.conv2", "layers.3.conv1", "layers.3.conv2", "layers.6.conv1"],  # two square,
          "vgg11": ["features.4", "features.8", "features.11", "features.15"]}  # two channel-doubling layers each


def record(exp, config, acc, status="ok", tb_seconds=0.0, train_seconds=100.0, alphas=(), val_acc=None):
    names = LAYERS.get(config.get("model"), [f"l{i}" for i in range(len(alphas))])
    data = {"final_test_acc": acc, "train_seconds": train_seconds, "tb_seconds": tb_seconds,
            "tb_calls": 13 if tb_seconds else 0,
            "layers": [{"name": n, "n_eigs": 64, "alpha_hill": a} for n, a in zip(names, alphas)]}
    if val_acc is not None:
        data["final_val_acc"] = val_acc
    return {"experiment": exp, "version": runs.VERSION, "config": config,
            "config_hash": config_hash(exp, runs.VERSION, config), "status": status, "data": data}


def fake_store(monkeypatch, store: dict):
    def cached(exp, profile):
        if exp not in store:
            raise claims.MissingResults(f"{exp} not cached")
        return store[exp]

    monkeypatch.setattr(claims, "cached_records", cached)


SEED_NOISE = {43: 0.004, 37: -0.003, 13: 0.001, 51: 0.002, 71: -0.001, 7: 0.003, 11: -0.002, 19: 0.0, 23: 0.001,
              29: -0.004}


def accuracy(config, offsets: dict, rng, sd: float = 1e-4) -> float:
    """0.88 + the seed's noise (shared by every method) + the method's offset + a little noise."""
    key = config["metric"] if config["metric"] == "alpha_excess" else config["method"]
    return 0.88 + SEED_NOISE[config["seed"]] + offsets.get(key, 0.0) + rng.normal(0, sd)


def fig3_store(tb_gain: float, rng, offsets=None):
    """Every config of tb-fig3-main; CAL at 0.88 + seed noise, TB at CAL + tb_gain (other methods
    at CAL + ``offsets[method]``)."""
    offsets = {"tb": tb_gain, **(offsets or {})}
    recs = []
    for c in configs.fig3_configs(P):
        alphas = [2.0, 2.2, 2.4, 2.6] if c["method"] == "tb" else [1.6, 2.2, 2.8, 3.4]
        recs.append(record("tb-fig3-main", c, accuracy(c, offsets, rng), tb_seconds=0.5 if "tb" in c["method"] else 0.0,
                           alphas=alphas))
    return recs


BEST_LR = {"resnet": 0.15, "vgg": 0.05}  # inside each TUNE_GRID; the ResNet's differs from its eta_0 (0.1)


def tune_store():
    """tb-cal-tune with the validation accuracy peaking at BEST_LR."""
    best = {configs.ARCHS[P][a].model: lr for a, lr in BEST_LR.items()}
    return [record("tb-cal-tune", c, 0.5, val_acc=0.9 - abs(c["lr"] - best[c["model"]]))
            for c in configs.tune_configs(P)]


def compare_store(monkeypatch, offsets: dict, sd: float = 1e-4, seed: int = 0, excess: bool = False) -> dict:
    """tb-fig3-main, tb-cal-tune, tb-vs-cal (and tb-excess) with the given offsets over CAL."""
    rng = np.random.default_rng(seed)
    store = {"tb-fig3-main": fig3_store(offsets.get("tb", 0.0), rng, offsets), "tb-cal-tune": tune_store()}
    fake_store(monkeypatch, store)
    store["tb-vs-cal"] = [record("tb-vs-cal", c, accuracy(c, offsets, rng, sd)) for c in runs.compare_configs(P)]
    if excess:
        store["tb-excess"] = [record("tb-excess", c, accuracy(c, offsets, rng, sd)) for c in configs.excess_configs(P)]
    return store


@pytest.mark.parametrize("gain,status", [(0.01, "reproduced"), (-0.01, "contradicted")])
def test_tb_beats_cal_flips_with_the_sign_of_the_gain(monkeypatch, gain, status):
    compare_store(monkeypatch, {"tb": gain})
    a = claims.assess(catalog.all_claims()["tb-beats-cal"], P)
    assert a.measurement.n == 2 * len(configs.COMPARE_SEEDS[P])  # two models x ten seeds, pooled over both experiments
    assert a.measurement.value == pytest.approx(gain, abs=1e-3)
    assert a.status == status and "resnet20 0.15, vgg11 0.05" in a.note and "n = 20 pairs" in a.note


def test_tb_beats_cal_pairs_come_from_both_experiments(monkeypatch):
    store = compare_store(monkeypatch, {"tb": 0.01})
    pairs = analysis.compare_pairs(store["tb-fig3-main"] + store["tb-vs-cal"], P, runs.cal_validated_lr(P))
    assert len(pairs) == 20 and set(pairs.seed) == set(configs.COMPARE_SEEDS[P])
    assert dict(pairs.groupby("model").cal_lr.first()) == {"resnet20": 0.15, "vgg11": 0.05}
    # new points: TB at 7 new seeds per model, VGG's CAL at 7, the ResNet's CAL at 0.15 at 9 (seed 43's: fig3's grid)
    assert len(store["tb-vs-cal"]) == 7 + 7 + 7 + 9


def test_tb_beats_cal_is_absent_when_a_powered_null(monkeypatch):
    compare_store(monkeypatch, {"tb": 0.0}, sd=0.002)  # detects ~0.2 pt < the paper's 0.465 pt
    a = claims.assess(catalog.all_claims()["tb-beats-cal"], P)
    assert a.measurement.detectable() < analysis.paper_effect("tb-cal").median
    assert a.status == "absent at this scale"


def test_tb_beats_cal_waits_for_a_validated_lr(monkeypatch):
    fake_store(monkeypatch, {"tb-fig3-main": fig3_store(0.01, np.random.default_rng(0))})
    a = claims.assess(catalog.all_claims()["tb-beats-cal"], P)
    assert a.status == "not yet tested" and "tb-cal-tune not cached" in a.note
    edge = [{**r, "data": {**r["data"], "final_val_acc": r["config"]["lr"]}} for r in tune_store()]  # best: the top
    fake_store(monkeypatch, {"tb-fig3-main": fig3_store(0.01, np.random.default_rng(0)), "tb-cal-tune": edge})
    a = claims.assess(catalog.all_claims()["tb-beats-cal"], P)
    assert a.status == "not yet tested" and "the edge of its grid" in a.note


@pytest.mark.parametrize("offset,status", [(0.01, "reproduced"), (-0.01, "contradicted")])
def test_tb_excess_flips_with_the_sign_of_its_gain_over_alpha(monkeypatch, offset, status):
    compare_store(monkeypatch, {"tb": 0.002, "alpha_excess": 0.002 + offset}, excess=True)
    a = claims.assess(catalog.all_claims()["tb-excess"], P)
    assert a.status == status and a.measurement.n == 20
    assert a.measurement.value == pytest.approx(offset, abs=1e-3)


def test_tb_excess_is_not_yet_tested_without_its_runs(monkeypatch):
    compare_store(monkeypatch, {"tb": 0.002})
    assert claims.assess(catalog.all_claims()["tb-excess"], P).status == "not yet tested"


@pytest.mark.parametrize("claim_id,offsets,status", [
    ("tb-beats-snr", {"tb": 0.01, "snr": 0.0}, "reproduced"),
    ("tb-beats-snr", {"tb": 0.0, "snr": 0.01}, "contradicted"),
    ("tb-snr-best", {"tb+snr": 0.01, "snr": 0.005, "tb": 0.004}, "reproduced"),
    ("tb-snr-best", {"tb+snr": 0.0, "snr": 0.01}, "contradicted"),
])
def test_snr_claims_flip(monkeypatch, claim_id, offsets, status):
    fake_store(monkeypatch, {"tb-fig3-main": fig3_store(offsets.get("tb", 0.0), np.random.default_rng(9), offsets)})
    a = claims.assess(catalog.all_claims()[claim_id], P)
    assert a.status == status and a.measurement.n == 6 and "smallest effect detectable" in a.note


SNR_BEST = {"resnet": 0.02, "vgg": 0.01}  # inside each SNR_TUNE_GRID; neither is the paper's Table 1 choice


def snr_val_store(monkeypatch, offsets: dict) -> dict:
    """compare_store plus tb-snr-tune peaking at SNR_BEST and tb-snr-val (SNR and TB+SNR there)."""
    store = compare_store(monkeypatch, offsets)
    best = {configs.ARCHS[P][a].model: lam for a, lam in SNR_BEST.items()}
    store["tb-snr-tune"] = [record("tb-snr-tune", c, 0.5, val_acc=0.9 - abs(c["lambda_sr"] - best[c["model"]]))
                            for c in configs.snr_tune_configs(P)]
    rng = np.random.default_rng(5)
    store["tb-snr-val"] = [record("tb-snr-val", c, accuracy(c, offsets, rng)) for c in runs.snr_val_configs(P)]
    return store


@pytest.mark.parametrize("claim_id,offsets,status", [
    ("tb-beats-snr", {"tb": 0.01, "snr": 0.0}, "reproduced"),
    ("tb-beats-snr", {"tb": 0.0, "snr": 0.01}, "contradicted"),
    ("tb-snr-best", {"tb+snr": 0.01, "snr": 0.005, "tb": 0.004}, "reproduced"),
    ("tb-snr-best", {"tb+snr": 0.0, "snr": 0.01}, "contradicted"),
])
def test_snr_claims_use_the_validated_settings_once_cached(monkeypatch, claim_id, offsets, status):
    """With tb-snr-tune and tb-snr-val cached, the SNR claims pair the validated settings over the
    ten seeds per model (20 pairs), and the wrong-lambda runs of tb-fig3-main are left out."""
    store = snr_val_store(monkeypatch, offsets)
    assert runs.snr_validated_lambda(P) == SNR_BEST
    # 2 models x 2 methods x 10 seeds, less the one point tb-fig3-main holds (its VGG grid has SNR at 0.01, seed 43)
    assert len(store["tb-snr-val"]) == 2 * 2 * len(configs.COMPARE_SEEDS[P]) - 1
    a = claims.assess(catalog.all_claims()[claim_id], P)
    assert a.status == status and a.measurement.n == 20
    assert "SNR's validated lambda_sr (resnet20 0.02, vgg11 0.01)" in a.note and "paper's Table 1" not in a.note


def test_snr_validation_text_says_where_the_fair_snr_stands(monkeypatch):
    from thermo.papers.tempbalance import claims as tbclaims

    store = snr_val_store(monkeypatch, {"tb": 0.002})
    assert tbclaims.snr_validation_text(P) == ("resnet20 0.02, vgg11 0.01 (best mean validation accuracy); "
                                               "tb-snr-val is complete")
    del store["tb-snr-val"]
    assert tbclaims.snr_validation_text(P).endswith("tb-snr-val not cached")
    del store["tb-snr-tune"]
    assert tbclaims.snr_validation_text(P) == "no validated value yet (tb-snr-tune not cached)"


def test_validated_main_holds_every_method_at_its_validated_setting(monkeypatch):
    store = snr_val_store(monkeypatch, {"tb": 0.002, "snr": 0.004, "tb+snr": 0.006})
    recs = store["tb-fig3-main"] + store["tb-vs-cal"] + store["tb-snr-val"]
    t = analysis.validated_main(recs, P, runs.cal_validated_lr(P), SNR_BEST)
    assert t.groupby("method").size().to_dict() == {"cal": 20, "snr": 20, "tb": 20, "tb+snr": 20}
    assert set(t[t.method == "cal"].lr) == {0.15, 0.05}
    assert set(t[t.method.str.contains("snr")].lambda_sr) == {0.02, 0.01}
    d = analysis.method_difference(t, "tb+snr", "cal")
    assert d.value == pytest.approx(0.006, abs=1e-3) and d.n == 20


def test_best_other_pairs_pick_the_rival_by_its_mean():
    rows = [{"model": "m", "seed": s, "method": k, "test_acc": v + 0.001 * s}
            for s in (1, 2, 3) for k, v in (("cal", 0.80), ("snr", 0.83), ("tb", 0.82), ("tb+snr", 0.84))]
    p = analysis.best_other_pairs(pd.DataFrame(rows))
    assert set(p.rival) == {"snr"} and len(p) == 3
    np.testing.assert_allclose(p["method"] - p["best"], 0.01)
    e = analysis.best_other_difference(pd.DataFrame(rows))
    assert e.value == pytest.approx(0.01) and e.n == 3


def test_paper_effects_are_the_medians_of_the_papers_tables():
    t1 = {"ResNet18": (78.31, 78.65, 78.97, 79.06), "SVHN VGG16": (96.28, 96.32, 96.33, 96.40)}
    assert analysis.paper_gains("tb-cal")[0] == pytest.approx(t1["ResNet18"][2] - t1["ResNet18"][0])
    assert analysis.paper_gains("tbsnr-best")[-1] == pytest.approx(96.40 - 96.33)
    gains = sorted([0.66, 0.91, 0.37, 0.51, 0.52, 0.93, 0.42, 0.70, 0.10, 0.16, 0.04, 0.05])  # Table 1, by hand
    e = analysis.paper_effect("tb-cal")
    assert e.median == pytest.approx(np.median(gains) / 100) and (e.lo, e.hi) == pytest.approx((0.0004, 0.0093))
    assert e.positive == 12 and e.n == 12
    assert analysis.paper_effect("tb-snr").positive == 9  # "in almost all cases" (Sec. 4.2)
    assert analysis.paper_effect("metric").median == pytest.approx(np.median(
        [0.30, 0.30, 0.21, 1.00, 1.02, 0.17, 0.43, 0.67, 0.52, 0.62, 0.36, 0.07]) / 100)
    for name in analysis.PAPER_EFFECTS:
        assert analysis.paper_gains(name).size == 12


def test_paired_against_matches_scipys_t_interval():
    rows = [{"model": "m", "seed": s, "method": meth, "test_acc": a}
            for s, (c, t) in enumerate([(0.80, 0.81), (0.82, 0.825), (0.79, 0.805), (0.81, 0.80)])
            for meth, a in (("cal", c), ("tb", t))]
    out = analysis.paired_against(pd.DataFrame(rows)).iloc[0]
    d = np.array([0.01, 0.005, 0.015, -0.01]) * 100
    half = st.t.ppf(0.975, 3) * d.std(ddof=1) / 2
    assert out["pairs"] == 4
    assert out["mean diff (pt)"] == pytest.approx(d.mean())
    assert (out["CI low"], out["CI high"]) == pytest.approx((d.mean() - half, d.mean() + half))


def test_method_summary_is_mean_and_sample_std_in_percent():
    acc = {"cal": [0.8, 0.82, 0.84], "tb": [0.9, 0.9, 0.93]}
    rows = [{"model": "m", "method": k, "test_acc": a} for k, v in acc.items() for a in v]
    rows.append({"model": "m", "method": "tb", "test_acc": np.nan})  # a diverged run is not a seed
    s = analysis.method_summary(pd.DataFrame(rows)).set_index("method")
    for k, v in acc.items():
        assert s.loc[k, "test acc (%)"] == pytest.approx(100 * np.mean(v))
        assert s.loc[k, "std (pt)"] == pytest.approx(100 * np.std(v, ddof=1))
        assert s.loc[k, "seeds"] == 3


def test_runs_frame_shares_and_diverged_runs():
    c = configs.point(P, "resnet", "tb", 43)
    f = analysis.runs_frame([record("x", c, 0.9, tb_seconds=2.0, train_seconds=50.0),
                        record("x", {**c, "seed": 37}, 0.1, status="diverged")])
    assert f.tb_share.iloc[0] == pytest.approx(0.04)
    assert np.isnan(f.test_acc.iloc[1])
    assert f.every.iloc[0] == "epoch"


def test_lr_grid_pairs_take_cal_from_the_grid_and_tb_from_fig5(monkeypatch):
    store = {"tb-fig3-main": fig3_store(0.0, np.random.default_rng(1)),
             "tb-fig5-lr": [record("tb-fig5-lr", c, 0.9 + c["lr"]) for c in configs.fig5_configs(P)]}
    fake_store(monkeypatch, store)
    recs = analysis.lr_grid_records(store["tb-fig3-main"], store["tb-fig5-lr"], P)
    pairs = analysis.lr_grid_pairs(analysis.lr_grid_frame(recs))
    grids = {a.model: a.cal_grid for a in configs.ARCHS[P].values()}
    expected = sorted((m, lr) for m, g in grids.items() for lr in g)
    assert sorted(map(tuple, pairs[["model", "lr"]].to_numpy())) == expected
    off_main = pairs[~pairs.lr.isin([a.eta0 for a in configs.ARCHS[P].values()])]
    np.testing.assert_allclose(off_main["tb"], 0.9 + off_main["lr"])
    m = catalog.all_claims()["tb-lr-grid"].measure(P)
    assert m.n == len(pairs) == 6
    assert analysis.lr_facts(pairs)["tb2-lr-wins"] == f"{int((pairs.tb > pairs.cal).sum())} of 6"


@pytest.mark.parametrize("gain,status", [(0.01, "reproduced"), (-0.01, "contradicted")])
def test_lr_grid_claim_flips(monkeypatch, gain, status):
    rng = np.random.default_rng(11)
    fake_store(monkeypatch, {"tb-fig3-main": fig3_store(gain, rng),
                             "tb-fig5-lr": [record("tb-fig5-lr", c, 0.88 + SEED_NOISE[43] + gain + rng.normal(0, 1e-4))
                                            for c in configs.fig5_configs(P)]})
    assert claims.assess(catalog.all_claims()["tb-lr-grid"], P).status == status


def test_width_pairs_include_the_main_width(monkeypatch):
    w = {c["width"] for c in configs.fig6_configs(P)}
    store = {"tb-fig3-main": fig3_store(0.0, np.random.default_rng(2)),
             "tb-fig6-width": [record("tb-fig6-width", c, 0.85 + (0.02 if c["method"] == "tb" else 0.0))
                               for c in configs.fig6_configs(P)]}
    fake_store(monkeypatch, store)
    recs = analysis.width_records(store["tb-fig3-main"], store["tb-fig6-width"], P)
    pairs = analysis.width_pairs(analysis.width_frame(recs))
    assert set(pairs.width) == w | {configs.ARCHS[P]["resnet"].width}
    assert len(pairs) == 3 * 2  # three widths x two seeds
    m = catalog.all_claims()["tb-width"].measure(P)
    expected = (2 * 2 * 0.02 + (pairs[pairs.width == 0.5].tb - pairs[pairs.width == 0.5].cal).sum()) / 6
    assert m.value == pytest.approx(expected)
    middle = (pairs[pairs.width == 0.5].tb - pairs[pairs.width == 0.5].cal).mean() * 100
    expected_text = f"+2.00 pt at 0.25, {middle:+.2f} pt at 0.5, +2.00 pt at 0.75"
    assert analysis.width_facts(pairs)["tb2-width-diff"] == expected_text


@pytest.mark.parametrize("gain,status", [(0.01, "reproduced"), (-0.01, "contradicted")])
def test_width_claim_flips(monkeypatch, gain, status):
    rng = np.random.default_rng(12)
    fake_store(monkeypatch, {"tb-fig3-main": fig3_store(gain, rng),
                             "tb-fig6-width": [record("tb-fig6-width", c, accuracy(c, {"tb": gain}, rng))
                                               for c in configs.fig6_configs(P)]})
    assert claims.assess(catalog.all_claims()["tb-width"], P).status == status


def test_metric_claim_compares_alpha_hill_with_the_best_other_metric(monkeypatch):
    acc = {"spectral_norm": 0.86, "alpha_weighted": 0.87}
    store = {"tb-fig3-main": fig3_store(0.005, np.random.default_rng(3)),
             "tb-fig7-metric": [record("tb-fig7-metric", c, acc[c["metric"]]) for c in configs.fig7_configs(P)]}
    fake_store(monkeypatch, store)
    frame = analysis.metric_frame(analysis.metric_records(store["tb-fig3-main"], store["tb-fig7-metric"], P))
    p = analysis.metric_pairs(frame)
    m = catalog.all_claims()["tb-metric"].measure(P)
    assert "alpha_weighted" in m.detail
    assert m.value == pytest.approx((p["alpha_hill"] - 0.87).mean())
    facts = analysis.metric_facts(frame)
    assert facts["tb2-metric-best"] == "alpha_hill"  # 0.885 on average
    assert facts["tb2-metric-diff"] == analysis.estimate_text(m, "seeds")
    assert analysis.metric_table(frame).loc["alpha_weighted", "mean"] == pytest.approx(87.0)


@pytest.mark.parametrize("gain,status", [(0.01, "reproduced"), (-0.01, "contradicted")])
def test_metric_claim_flips(monkeypatch, gain, status):
    rng = np.random.default_rng(13)
    other = {"alpha_weighted": -0.002, "spectral_norm": -0.004}  # alpha_weighted the better rival
    fake_store(monkeypatch, {
        "tb-fig3-main": fig3_store(gain, rng),
        "tb-fig7-metric": [record("tb-fig7-metric", c, 0.88 + SEED_NOISE[c["seed"]] + other[c["metric"]]
                                  + rng.normal(0, 1e-4)) for c in configs.fig7_configs(P)]})
    a = claims.assess(catalog.all_claims()["tb-metric"], P)
    assert a.status == status and "alpha_weighted" in a.note
    assert a.measurement.value == pytest.approx(gain + 0.002, abs=5e-4)


def test_alpha_spread_and_overhead_claims(monkeypatch):
    fake_store(monkeypatch, {"tb-fig3-main": fig3_store(0.0, np.random.default_rng(4))})
    m = catalog.all_claims()["tb-alpha-spread"].measure(P)
    assert m.value == pytest.approx(1 - np.std([2.0, 2.2, 2.4, 2.6], ddof=1) / np.std([1.6, 2.2, 2.8, 3.4], ddof=1))
    assert m.n == 6 and claims.assess(catalog.all_claims()["tb-alpha-spread"], P).status == "reproduced"
    o = catalog.all_claims()["tb-overhead"].measure(P)
    assert o.value == pytest.approx(0.5 / 100.0) and o.n == 12  # TB and TB+SNR, two models x three seeds
    assert claims.assess(catalog.all_claims()["tb-overhead"], P).status == "reproduced"


def _swap_alphas(recs, spread_tb):
    """TB's layers get alphas 2.3 +- spread_tb, CAL's vary by seed around a 0.25 spread."""
    out = []
    for r in recs:
        k = {43: 1.0, 37: 1.1, 13: 0.9}[r["config"]["seed"]]
        alphas = np.array([-1.5, -0.5, 0.5, 1.5]) * (spread_tb if r["config"]["method"] == "tb" else 0.25 * k) + 2.3
        names = LAYERS[r["config"]["model"]]
        layers = [{"name": n, "n_eigs": 64, "alpha_hill": float(a)} for n, a in zip(names, alphas)]
        out.append({**r, "data": {**r["data"], "layers": layers}})
    return out


@pytest.mark.parametrize("spread_tb,status", [(0.1, "reproduced"), (0.5, "contradicted")])
def test_alpha_spread_claim_flips(monkeypatch, spread_tb, status):
    fake_store(monkeypatch, {"tb-fig3-main": _swap_alphas(fig3_store(0.0, np.random.default_rng(4)), spread_tb)})
    assert claims.assess(catalog.all_claims()["tb-alpha-spread"], P).status == status


@pytest.mark.parametrize("tb_seconds,status", [(0.5, "reproduced"), (10.0, "contradicted"), (None, "partly")])
def test_overhead_claim_flips_at_the_papers_six_percent(monkeypatch, tb_seconds, status):
    recs = fig3_store(0.0, np.random.default_rng(5))
    shares = iter([4.0, 8.0] * 20)  # straddling 6 %: mean 6 %, interval on both sides
    recs = [{**r, "data": {**r["data"], "tb_seconds": (tb_seconds if tb_seconds is not None else next(shares))
                           if "tb" in r["config"]["method"] else 0.0}} for r in recs]
    fake_store(monkeypatch, {"tb-fig3-main": recs})
    assert claims.assess(catalog.all_claims()["tb-overhead"], P).status == status


def test_alpha_summary_against_numpy():
    a = pd.DataFrame({"model": "m", "method": ["tb"] * 4 + ["cal"] * 3, "alpha": [1.5, 2.0, 2.5, 4.0, 2.0, 3.0, 7.0]})
    s = analysis.alpha_summary(a).set_index("method")
    tb = np.array([1.5, 2.0, 2.5, 4.0])
    assert s.loc["tb", "median"] == pytest.approx(np.median(tb))
    assert s.loc["tb", "mean_distance_to_2"] == pytest.approx(np.abs(tb - 2).mean())
    assert s.loc["cal", "std"] == pytest.approx(np.std([2.0, 3.0, 7.0], ddof=1))
    fig, ax = plt.subplots()
    tbplots.alpha_distribution(ax, a, "m")
    stars = [c for c in ax.collections
             if c.get_offsets().shape[0] == 1 and len(c.get_sizes()) and c.get_sizes()[0] == 160]
    np.testing.assert_allclose(sorted(s.get_offsets()[0][1] for s in stars), sorted([tb.mean(), 4.0]))
    plt.close(fig)


def test_scale_heatmap_draws_the_recorded_factors():
    c = configs.point(P, "resnet", "tb", 43)
    scales = [{"f.10": 0.5, "f.2": 1.5, "f.9": 1.0}, {"f.10": 1.5, "f.2": 0.5, "f.9": 0.7}]
    rec = {"config": c, "data": {"history": {"epoch": [3, 6], "tb_scale": scales}}}
    fig, ax = plt.subplots()
    grid = tbplots.scale_heatmap(ax, rec)
    np.testing.assert_allclose(grid, [[1.5, 0.5], [1.0, 0.7], [0.5, 1.5]])  # f.2, f.9, f.10: network order
    assert [t.get_text() for t in ax.get_yticklabels()] == ["f.2", "f.9", "f.10"]
    np.testing.assert_allclose(ax.images[0].get_array(), grid)
    plt.close(fig)


@pytest.mark.parametrize("name,width", [("resnet20", 0.5), ("vgg11", 0.25)])
def test_plan_lists_every_layer_and_why_it_is_not_tuned(name, width):
    torch.manual_seed(0)
    model = models.build(name, (1, 28, 28), 10, width=width)
    tb = TempBalance(model)
    plan = pd.DataFrame(tb.plan())
    assert plan.layer.iloc[0] != plan.layer.iloc[-1]
    assert plan["why not"].iloc[0] == "first layer" and plan["why not"].iloc[-1] == "last layer"
    assert list(plan[plan.tuned].layer) == tb.tuned
    assert ((plan.eigenvalues < 50) & ~plan.layer.isin([plan.layer.iloc[0], plan.layer.iloc[-1]])
            ).sum() == plan["why not"].str.startswith("fewer").sum()
    f = plan[plan.tuned].factor
    assert f.min() == pytest.approx(0.5) and f.max() == pytest.approx(1.5)
    assert plan[~plan.tuned].factor.isna().all()


def test_fig3_facts_on_fabricated_records():
    recs = fig3_store(0.01, np.random.default_rng(5))
    facts = analysis.fig3_facts(P, recs)
    main = analysis.main_table(P, recs).pivot_table(index=["model", "seed"], columns="method", values="test_acc")
    d = (main["tb"] - main["cal"]).to_numpy() * 100
    se = d.std(ddof=1) / np.sqrt(d.size)
    half = st.t.ppf(0.975, d.size - 1) * se
    detect = (st.t.ppf(0.975, d.size - 1) + st.t.ppf(0.8, d.size - 1)) * se
    assert facts["tb2-tb-cal"] == (f"{d.mean():+.2f} pt [{d.mean() - half:+.2f}, {d.mean() + half:+.2f}] (95 %, 6 "
                                   f"pairs; detects {detect:.2f} pt with 80 % power)")
    assert facts["tb2-tb-cal-detect"] == f"{detect:.2f} pt"
    assert facts["tb2-paper-tb-cal"] == "+0.465 pt" and facts["tb2-paper-tbsnr-best"] == "+0.105 pt"
    assert facts["tb2-snr-choice"].startswith("resnet20 0.01: rank ")
    assert facts["tb2-first-seed"] == "43" and facts["tb2-fig3-runs"] == f"{len(recs)} runs ({len(recs)} ok)"
    cal43 = {m: [r["data"]["final_test_acc"] for r in recs if r["config"]["model"] == m
                 and r["config"]["method"] == "cal" and r["config"]["seed"] == 43] for m in ("resnet20", "vgg11")}
    assert len(cal43["resnet20"]) == 3  # the main run and the two other points of the grid
    assert facts["tb2-cal-grid-spread"] == ", ".join(f"{m} {100 * (max(a) - min(a)):.2f} pt" for m, a in cal43.items())
    sd = [100 * np.std([r["data"]["final_test_acc"] for r in analysis.main_records(recs, P, ("cal",))
                        if r["config"]["model"] == m], ddof=1) for m in ("resnet20", "vgg11")]
    assert facts["tb2-cal-sd"] == f"{min(sd):.2f} to {max(sd):.2f} pt"


def test_alpha_facts_distance_to_two_and_narrower_pairs():
    facts = analysis.alpha_facts(fig3_store(0.0, np.random.default_rng(6)), P)
    # TB's alphas 2.0..2.6 are 0.3 from 2 on average, CAL's 1.6..3.4 are 0.7; TB spreads less in every pair
    assert facts["tb2-dist2"] == "resnet20 0.700 (CAL) and 0.300 (TB), vgg11 0.700 (CAL) and 0.300 (TB)"
    assert facts["tb2-alpha-narrower"] == "6 of 6"
    narrow = 1 - np.std([2.0, 2.2, 2.4, 2.6], ddof=1) / np.std([1.6, 2.2, 2.8, 3.4], ddof=1)  # the same in all pairs
    assert facts["tb2-narrow-all"].startswith(f"{100 * narrow:.1f} % [{100 * narrow:.1f}, {100 * narrow:.1f}] (95 %")


def test_scale_facts_spread_ranking_and_top_layer():
    c = configs.point(P, "resnet", "tb", 43)
    torch.manual_seed(0)
    names = TempBalance(models.build(c["model"], (1, 28, 28), 10, width=c["width"])).tuned
    rng = np.random.default_rng(7)
    grid = rng.uniform(0.5, 1.5, size=(len(names), 5))
    grid[3] = 1.5  # one layer always on top
    rec = {"config": c, "status": "ok",
           "data": {"history": {"tb_scale": [{n: grid[i, j] for i, n in enumerate(names)} for j in range(5)]}}}
    facts = analysis.scale_facts([rec])
    span = np.mean(np.std(grid, axis=0))
    rho = [st.spearmanr(grid[:, j], grid[:, j + 1]).statistic for j in range(4)]
    assert facts["tb2-scale-spread"] == f"{span:.2f} to {span:.2f}"
    assert facts["tb2-rank-early"] == f"{np.mean(rho[:3]):.2f}" and facts["tb2-rank-late"] == f"{np.mean(rho[-3:]):.2f}"
    top = facts["tb2-top-layers"]
    assert top.startswith(f"resnet20: {names[3]} (") and top.endswith("mean factor 1.50)")


def test_cost_table_and_facts():
    every = [record("tb-every", c, 0.9, tb_seconds=1.0 if c["every"] == 10 else 0.2, train_seconds=100.0)
             for c in configs.every_configs(P)]
    main = fig3_store(0.0, np.random.default_rng(8))
    recs = analysis.cost_records(main, every, P)
    assert [r["config"]["method"] for r in recs] == ["tb", "tb", "tb", "tb", "tb", "tb", "cal", "cal"]
    frame = analysis.cost_frame(recs)
    table = analysis.cost_table(frame)
    assert list(table.index) == ["none (CAL)", "every epoch", "every 100 steps", "every 10 steps"]
    assert table.loc["every 10 steps", "share"] == pytest.approx(0.01)
    assert table.loc["every epoch", "seconds per call"] == pytest.approx(0.5 / 13)
    assert np.isnan(table.loc["none (CAL)", "seconds per call"])
    facts = analysis.cost_facts(main, table)
    n_tb = sum("tb" in r["config"]["method"] for r in main)
    assert facts == {"tb2-share-epoch": "0.5 %", "tb2-call-seconds": f"{1000 * 0.5 * n_tb / (13 * n_tb):.1f} ms",
                     "tb2-share-10": "1 %"}


# --- beyond the paper: the random-matrix baseline of each layer ----------------------------------------


def test_with_baselines_gives_each_layer_its_shapes_random_alpha():
    from thermo import htsr

    ab = analysis.with_baselines(analysis.main_alphas(fig3_store(0.0, np.random.default_rng(20)), P), P)
    net = models.build("resnet20", (1, 28, 28), 10, width=configs.ARCHS[P]["resnet"].width)
    shapes = {n: tuple(m.weight.shape) for n, m in net.named_modules() if n in LAYERS["resnet20"]}
    r = ab[ab.model == "resnet20"].drop_duplicates("layer").set_index("layer")
    for name, shape in shapes.items():
        assert r.loc[name, "shape"] == shape and r.loc[name, "square"] == (shape[0] == shape[1])
        assert r.loc[name, "baseline"] == pytest.approx(htsr.random_alpha(shape))
    assert r.loc["layers.6.conv1", "baseline"] > r.loc["layers.3.conv2", "baseline"] + 0.3  # (32, 16) vs (16, 16)
    np.testing.assert_allclose(ab.excess, ab.alpha - ab.baseline)
    table = analysis.baseline_table(ab)
    assert list(table.loc["resnet20"].index) == LAYERS["resnet20"]  # network order
    assert table.loc[("vgg11", "features.11"), "alpha, TB"] == pytest.approx(2.4)  # TB's third layer, every seed
    with pytest.raises(claims.MissingResults, match="not in the quick profile's networks"):
        analysis.with_baselines(pd.DataFrame({"model": ["resnet20"], "layer": ["nope"], "alpha": [2.0]}), P)


def _fake_ab(rng):
    rows = []
    for method in ("cal", "tb"):
        for seed in (1, 2, 3):
            base = np.array([2.05, 2.05, 2.1, 2.5, 2.7])
            alpha = base - 0.3 + rng.normal(0, 0.1, base.size)
            rows += [{"model": "m", "method": method, "seed": seed, "layer": f"l{i}", "alpha": a, "baseline": b,
                      "square": b < 2.2, "excess": a - b, "shape": (i,)} for i, (a, b) in enumerate(zip(alpha, base))]
    return pd.DataFrame(rows)


def test_shape_share_is_the_squared_correlation_over_layers_per_run():
    ab = _fake_ab(np.random.default_rng(21))
    sh = analysis.shape_shares(ab)
    expected = [st.pearsonr(g.alpha, g.baseline).statistic ** 2 for _, g in ab.groupby(["model", "method", "seed"])]
    np.testing.assert_allclose(sh.share, expected)
    e = analysis.shape_share_estimate(ab)
    half = st.t.ppf(0.975, 5) * np.std(expected, ddof=1) / np.sqrt(6)
    assert (e.value, e.lo, e.hi, e.n) == pytest.approx((np.mean(expected), np.mean(expected) - half,
                                                        np.mean(expected) + half, 6))


def test_spread_estimates_hold_the_shape_fixed():
    ab = _fake_ab(np.random.default_rng(22))
    got = analysis.spread_estimates(ab)
    for key, frame, col in (("square", ab[ab.square], "alpha"), ("excess", ab, "excess")):
        sd = frame.groupby(["seed", "method"])[col].std().unstack("method")
        assert got[key].value == pytest.approx(np.mean(1 - sd["tb"] / sd["cal"]))
    facts = analysis.shape_facts(ab)
    assert facts["tb2-random-square"] == "2.05 to 2.10" and facts["tb2-random-rect"] == "2.50 to 2.70"
    per_run = ab[ab.square & (ab.method == "cal")].groupby("seed").excess.mean()
    assert facts["tb2-excess-square-cal"].startswith(f"{per_run.mean():+.2f} [")


def test_excess_pairs_line_up_the_three_drivers(monkeypatch):
    store = compare_store(monkeypatch, {"tb": 0.002, "alpha_excess": 0.004}, excess=True)
    recs = store["tb-fig3-main"] + store["tb-vs-cal"] + store["tb-excess"]
    p = analysis.excess_pairs(recs, P, runs.cal_validated_lr(P))
    assert len(p) == 20 and list(p.columns) == ["model", "seed", "cal", "alpha_hill", "alpha_excess"]
    np.testing.assert_allclose(p.alpha_excess - p.alpha_hill, 0.002, atol=1e-3)
    np.testing.assert_allclose(p.alpha_hill - p.cal, 0.002, atol=1e-3)


def test_new_experiments_leave_the_cached_ones_alone():
    """tb-fig7-metric keeps the paper's two other metrics (alpha_excess is not one); tb-excess and
    tb-snr-tune add new points only."""
    assert [c["metric"] for c in configs.fig7_configs(P)] == ["spectral_norm"] * 3 + ["alpha_weighted"] * 3
    excess = configs.excess_configs(P)
    assert len(excess) == 20 and {c["metric"] for c in excess} == {"alpha_excess"}
    assert {c["seed"] for c in excess} == set(configs.COMPARE_SEEDS[P])
    tune = configs.snr_tune_configs(P)
    assert {c["method"] for c in tune} == {"snr"} and all(c["n_val"] == configs.N_VAL[P] for c in tune)
    for arch, grid in configs.SNR_TUNE_GRID[P].items():  # the paper's chosen lambda_sr lies inside the grid
        assert min(grid) < configs.ARCHS[P][arch].snr_best < max(grid)
    recs = [record("tb-snr-tune", c, 0.5, val_acc=0.9 - abs(c["lambda_sr"] - 0.01)) for c in tune]
    assert runs.snr_validated_lambda(P, recs) == {"resnet": 0.01, "vgg": 0.01}
    edge = [record("tb-snr-tune", c, 0.5, val_acc=c["lambda_sr"]) for c in tune]
    with pytest.raises(ConfigError, match="the edge of its grid"):
        runs.snr_validated_lambda(P, edge)


def test_baseline_figure_draws_the_random_alphas_and_the_trained_ones():
    ab = analysis.with_baselines(analysis.main_alphas(fig3_store(0.0, np.random.default_rng(23)), P), P)
    table = analysis.baseline_table(ab)
    fig = tbplots.baseline_figure(table)
    ax = fig.axes[0]
    t = table.loc["resnet20"]
    np.testing.assert_allclose([b.get_height() for b in ax.patches], t["random alpha"])
    assert [bool(b.get_hatch()) for b in ax.patches] == list(~t["square"])
    dots = {c.get_label(): c.get_offsets()[:, 1] for c in ax.collections}
    np.testing.assert_allclose(dots["trained, CAL"], [1.6, 2.2, 2.8, 3.4])
    np.testing.assert_allclose(dots["trained, TB"], [2.0, 2.2, 2.4, 2.6])
    plt.close(fig)


def test_powered_pairs_and_figure_show_every_comparison_of_the_report(monkeypatch):
    offsets = {"tb": 0.002, "snr": 0.004, "tb+snr": 0.009, "alpha_excess": 0.005}
    store = snr_val_store(monkeypatch, offsets)
    store["tb-excess"] = [record("tb-excess", c, accuracy(c, offsets, np.random.default_rng(6)))
                          for c in configs.excess_configs(P)]
    pairs = tb_claims.powered_pairs(P)
    assert pairs.groupby("comparison").size().to_dict() == {c: 20 for c in analysis.POWERED}
    expected = {"tb-beats-cal": 0.002, "tb-beats-snr": -0.002, "tb-snr-best": 0.005, "tb-excess": 0.003}
    for cid, diff in expected.items():  # offsets differ by these, up to the seed noise of accuracy()
        np.testing.assert_allclose(pairs[pairs.comparison == cid]["diff"], diff, atol=1e-3)
    rows = {cid: claims.assess(catalog.all_claims()[cid], P) for cid in analysis.POWERED}
    for cid, a in rows.items():  # the panel's pairs are the claim's: the same mean
        assert a.measurement.value == pytest.approx(pairs[pairs.comparison == cid]["diff"].mean())
    assert "validated lambda_sr" in tb_claims.powered_setting(P)
    fig = tbplots.powered_figure(pairs, rows, ["resnet20", "vgg11"])
    ax = fig.axes[0]
    dots = np.concatenate([c.get_offsets()[:, 1] for c in ax.collections if c.get_offsets().shape[0] == 10])
    np.testing.assert_allclose(np.sort(dots), np.sort(100 * pairs[pairs.comparison == "tb-beats-cal"]["diff"]))
    assert ax.get_title().startswith("TB − CAL: " + rows["tb-beats-cal"].status)
    plt.close(fig)
    # without tb-excess (and before tb-snr-val) the panels say so instead of drawing
    del store["tb-excess"], store["tb-snr-val"]
    pairs = tb_claims.powered_pairs(P)
    assert "tb-excess" not in set(pairs.comparison) and (pairs.comparison == "tb-beats-snr").sum() == 6
    assert "paper's Table 1 lambda_sr" in tb_claims.powered_setting(P)
    rows["tb-excess"] = claims.assess(catalog.all_claims()["tb-excess"], P)
    fig = tbplots.powered_figure(pairs, rows, ["resnet20", "vgg11"])
    assert fig.axes[3].texts[0].get_text() == "its runs are not all cached"
    plt.close(fig)


def test_validated_facts_pair_snr_and_tbsnr_with_cal_and_each_other(monkeypatch):
    snr_val_store(monkeypatch, {"tb": 0.002, "snr": 0.006, "tb+snr": 0.005})
    table = tb_claims.validated_table(P)
    facts = analysis.validated_facts(table)
    for key, a, b, diff in (("tb2-val-snr-cal", "snr", "cal", 0.006), ("tb2-val-tbsnr-cal", "tb+snr", "cal", 0.005),
                            ("tb2-val-tbsnr-snr", "tb+snr", "snr", -0.001)):
        e = analysis.method_difference(table, a, b)
        assert e.value == pytest.approx(diff, abs=1e-3) and e.n == 20
        assert facts[key].startswith(e.text()) and "n = 20 pairs" in facts[key]
    assert set(analysis.validated_facts(None).values()) == {"not measured yet (tb-snr-val is not all cached)"}

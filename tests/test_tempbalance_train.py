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

from thermo import claims, models  # noqa: E402
from thermo.experiments import tempbalance_train as tbx  # noqa: E402
from thermo.plots import tempbalance as tbplots  # noqa: E402
from thermo.results import config_hash  # noqa: E402
from thermo.tempbalance import TempBalance  # noqa: E402

P = "quick"


def record(exp, config, acc, status="ok", tb_seconds=0.0, train_seconds=100.0, alphas=()):
    return {"experiment": exp, "version": tbx.VERSION, "config": config,
            "config_hash": config_hash(exp, tbx.VERSION, config), "status": status,
            "data": {"final_test_acc": acc, "train_seconds": train_seconds, "tb_seconds": tb_seconds,
                     "tb_calls": 13 if tb_seconds else 0,
                     "layers": [{"name": f"l{i}", "n_eigs": 64, "alpha_hill": a} for i, a in enumerate(alphas)]}}


def fake_store(monkeypatch, store: dict):
    def cached(exp, profile):
        if exp not in store:
            raise claims.MissingResults(f"{exp} not cached")
        return store[exp]

    monkeypatch.setattr(claims, "cached_records", cached)


def fig3_store(tb_gain: float, rng):
    """Every config of tb-fig3-main; CAL at 0.88 + seed noise, TB at CAL + tb_gain."""
    recs = []
    for c in tbx.fig3_configs(P):
        noise = {43: 0.004, 37: -0.003, 13: 0.001}[c["seed"]] + rng.normal(0, 1e-4)
        acc = 0.88 + noise + (tb_gain if c["method"] == "tb" else 0.0)
        alphas = [2.0, 2.2, 2.4, 2.6] if c["method"] == "tb" else [1.6, 2.2, 2.8, 3.4]
        recs.append(record("tb-fig3-main", c, acc, tb_seconds=0.5 if "tb" in c["method"] else 0.0, alphas=alphas))
    return recs


@pytest.mark.parametrize("gain,status", [(0.01, "reproduced"), (-0.01, "contradicted")])
def test_tb_beats_cal_flips_with_the_sign_of_the_gain(monkeypatch, gain, status):
    fake_store(monkeypatch, {"tb-fig3-main": fig3_store(gain, np.random.default_rng(0))})
    claim = claims.load_all()["tb-beats-cal"]
    m = claim.measure(P)
    assert m.n == 2 * 3  # two models x three seeds
    assert m.value == pytest.approx(gain, abs=1e-3)
    assert claims.assess(claim, P).status == status


def test_paired_against_matches_scipys_t_interval():
    rows = [{"model": "m", "seed": s, "method": meth, "test_acc": a}
            for s, (c, t) in enumerate([(0.80, 0.81), (0.82, 0.825), (0.79, 0.805), (0.81, 0.80)])
            for meth, a in (("cal", c), ("tb", t))]
    out = tbplots.paired_against(pd.DataFrame(rows)).iloc[0]
    d = np.array([0.01, 0.005, 0.015, -0.01]) * 100
    half = st.t.ppf(0.975, 3) * d.std(ddof=1) / 2
    assert out["pairs"] == 4
    assert out["mean diff (pt)"] == pytest.approx(d.mean())
    assert (out["CI low"], out["CI high"]) == pytest.approx((d.mean() - half, d.mean() + half))


def test_method_summary_is_mean_and_sample_std_in_percent():
    acc = {"cal": [0.8, 0.82, 0.84], "tb": [0.9, 0.9, 0.93]}
    rows = [{"model": "m", "method": k, "test_acc": a} for k, v in acc.items() for a in v]
    rows.append({"model": "m", "method": "tb", "test_acc": np.nan})  # a diverged run is not a seed
    s = tbplots.method_summary(pd.DataFrame(rows)).set_index("method")
    for k, v in acc.items():
        assert s.loc[k, "test acc (%)"] == pytest.approx(100 * np.mean(v))
        assert s.loc[k, "std (pt)"] == pytest.approx(100 * np.std(v, ddof=1))
        assert s.loc[k, "seeds"] == 3


def test_runs_frame_shares_and_diverged_runs():
    c = tbx.point(P, "resnet", "tb", 43)
    f = tbx.runs_frame([record("x", c, 0.9, tb_seconds=2.0, train_seconds=50.0),
                        record("x", {**c, "seed": 37}, 0.1, status="diverged")])
    assert f.tb_share.iloc[0] == pytest.approx(0.04)
    assert np.isnan(f.test_acc.iloc[1])
    assert f.every.iloc[0] == "epoch"


def test_lr_grid_pairs_take_cal_from_the_grid_and_tb_from_fig5(monkeypatch):
    store = {"tb-fig3-main": fig3_store(0.0, np.random.default_rng(1)),
             "tb-fig5-lr": [record("tb-fig5-lr", c, 0.9 + c["lr"]) for c in tbx.fig5_configs(P)]}
    fake_store(monkeypatch, store)
    pairs = tbx.lr_grid_pairs(P)
    grids = {a[0]: a[3] for a in tbx.ARCHS[P].values()}
    expected = sorted((m, lr) for m, g in grids.items() for lr in g)
    assert sorted(map(tuple, pairs[["model", "lr"]].to_numpy())) == expected
    off_main = pairs[~pairs.lr.isin([a[2] for a in tbx.ARCHS[P].values()])]
    np.testing.assert_allclose(off_main["tb"], 0.9 + off_main["lr"])
    m = claims.load_all()["tb-lr-grid"].measure(P)
    assert m.n == len(pairs) == 6


def test_width_pairs_include_the_main_width(monkeypatch):
    w = {c["width"] for c in tbx.fig6_configs(P)}
    store = {"tb-fig3-main": fig3_store(0.0, np.random.default_rng(2)),
             "tb-fig6-width": [record("tb-fig6-width", c, 0.85 + (0.02 if c["method"] == "tb" else 0.0))
                               for c in tbx.fig6_configs(P)]}
    fake_store(monkeypatch, store)
    pairs = tbx.width_pairs(P)
    assert set(pairs.width) == w | {tbx.ARCHS[P]["resnet"][1]}
    assert len(pairs) == 3 * 2  # three widths x two seeds
    m = claims.load_all()["tb-width"].measure(P)
    expected = (2 * 2 * 0.02 + (pairs[pairs.width == 0.5].tb - pairs[pairs.width == 0.5].cal).sum()) / 6
    assert m.value == pytest.approx(expected)


def test_metric_claim_compares_alpha_hill_with_the_best_other_metric(monkeypatch):
    acc = {"spectral_norm": 0.86, "alpha_weighted": 0.87}
    store = {"tb-fig3-main": fig3_store(0.005, np.random.default_rng(3)),
             "tb-fig7-metric": [record("tb-fig7-metric", c, acc[c["metric"]]) for c in tbx.fig7_configs(P)]}
    fake_store(monkeypatch, store)
    p = tbx.metric_pairs(P)
    m = claims.load_all()["tb-metric"].measure(P)
    assert "alpha_weighted" in m.detail
    assert m.value == pytest.approx((p["alpha_hill"] - 0.87).mean())


def test_alpha_spread_and_overhead_claims(monkeypatch):
    fake_store(monkeypatch, {"tb-fig3-main": fig3_store(0.0, np.random.default_rng(4))})
    m = claims.load_all()["tb-alpha-spread"].measure(P)
    assert m.value == pytest.approx(np.std([1.6, 2.2, 2.8, 3.4], ddof=1) - np.std([2.0, 2.2, 2.4, 2.6], ddof=1))
    assert m.n == 6
    o = claims.load_all()["tb-overhead"].measure(P)
    assert o.value == pytest.approx(0.5 / 100.0)
    assert claims.assess(claims.load_all()["tb-overhead"], P).status == "reproduced"


def test_alpha_summary_against_numpy():
    a = pd.DataFrame({"model": "m", "method": ["tb"] * 4 + ["cal"] * 3, "alpha": [1.5, 2.0, 2.5, 4.0, 2.0, 3.0, 7.0]})
    s = tbplots.alpha_summary(a).set_index("method")
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
    c = tbx.point(P, "resnet", "tb", 43)
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

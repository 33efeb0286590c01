import math

import numpy as np
import pytest
import torch

from thermo import htsr, models
from thermo.errors import ConfigError
from thermo.htsr import hill_bias_factor


def pareto_samples(alpha_pdf, n, seed=0):
    """Exact Pareto draws with density p(x) ~ x^-alpha_pdf on x >= 1 (inverse-CDF sampling)."""
    u = np.random.default_rng(seed).random(n)
    return (1.0 - u) ** (-1.0 / (alpha_pdf - 1.0))


@pytest.mark.parametrize("alpha", [1.5, 2.0, 3.0, 4.5])
def test_alpha_hill_recovers_pareto_exponent(alpha):
    # k = n/2 = 100,000 tail samples: the Hill estimate of alpha - 1 has relative sd 1/sqrt(k)
    # = 0.3 %, so 2 % on alpha is > 6 sd.
    est = htsr.alpha_hill(pareto_samples(alpha, 200_000, seed=int(alpha * 10)))
    assert est == pytest.approx(alpha, rel=0.02)


def test_alpha_hill_matches_a_direct_loop_of_eq3():
    eigs = np.sort(np.random.default_rng(1).gamma(2.0, size=101))
    k = eigs.size // 2
    desc = eigs[::-1]  # lambda_{n-i+1} for i = 1..k is desc[i-1]; lambda_{n-k} is desc[k]
    expected = 1 + k / sum(math.log(desc[i - 1] / desc[k]) for i in range(1, k + 1))
    assert htsr.alpha_hill(eigs) == pytest.approx(expected, rel=1e-12)
    assert htsr.alpha_hill(eigs[::-1]) == pytest.approx(expected, rel=1e-12)  # order does not matter


def test_official_rule_matches_the_official_formula():
    eigs = np.sort(np.random.default_rng(2).gamma(2.0, size=77))
    i = len(eigs) // 2  # official: xmin = eigs[N // 2], tail = eigs[i:], n = N - i
    tail = eigs[i:]
    expected = 1 + len(tail) / (np.sum(np.log(tail)) - len(tail) * np.log(eigs[i]))
    assert htsr.alpha_hill(eigs, xmin_rule="official") == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("m", [16, 128, 1024])
@pytest.mark.parametrize("rule", ["eq3", "official"])
def test_exact_power_law_spectrum_gives_closed_form_s(m, rule):
    for s in (0.3, 1.0, 2.5):
        s_hat = htsr.s_from_alpha(htsr.alpha_hill(htsr.powerlaw_eigs(m, s), xmin_rule=rule))
        assert s_hat / s == pytest.approx(hill_bias_factor(m, rule), rel=1e-10)


def test_bias_factor_tends_to_one():
    assert 1 - hill_bias_factor(1024) < 0.01
    assert 1 - hill_bias_factor(16) > 1 - hill_bias_factor(1024)


def test_esd_of_linear_matches_numpy_svd():
    w = torch.randn(70, 40, dtype=torch.float64)
    expected = np.sort(np.linalg.svd(w.numpy(), compute_uv=False) ** 2)
    np.testing.assert_allclose(htsr.esd(w), expected, rtol=1e-9)
    w32 = w.float()
    np.testing.assert_allclose(htsr.esd(w32), expected, rtol=2e-4, atol=1e-5)
    np.testing.assert_allclose(htsr.esd(w.T), expected, rtol=1e-9)  # wide matrices too


def test_esd_of_conv_pools_scaled_slices():
    w = torch.randn(8, 5, 3, 3, dtype=torch.float64)
    slices = htsr.conv_slices(w, conv_norm=0.5)
    assert slices.shape == (9, 8, 5)
    np.testing.assert_allclose(slices[4].numpy(), w[:, :, 1, 1].numpy() * math.sqrt(0.5))
    expected = np.sort(np.concatenate([
        np.linalg.svd(w[:, :, i, j].numpy() * math.sqrt(0.5), compute_uv=False) ** 2
        for i in range(3) for j in range(3)
    ]))
    got = htsr.esd(w)
    assert got.shape == (45,)
    np.testing.assert_allclose(got, expected, rtol=1e-9)
    # conv_norm rescales all eigenvalues and so cannot change the Hill estimate
    assert htsr.alpha_hill(htsr.esd(w, conv_norm=1.0)) == pytest.approx(htsr.alpha_hill(got), rel=1e-9)


def test_matrix_with_eigs_has_that_spectrum():
    lam = htsr.powerlaw_eigs(64, 1.3)
    w = htsr.matrix_with_eigs(lam, seed=3)
    np.testing.assert_allclose(np.sort(np.linalg.eigvalsh(w.T @ w)), lam, rtol=1e-8, atol=1e-14)
    assert lam[-1] == 1.0 and lam[0] == pytest.approx(64 ** -1.3)


def test_layer_metrics_fields_and_flags():
    torch.manual_seed(0)
    net = models.build("convnet", (1, 28, 28), 10)
    recs = htsr.layer_metrics(net)
    assert [r["name"] for r in recs] == ["features.0", "features.3", "classifier.1", "classifier.3"]
    assert [r["n_eigs"] for r in recs] == [9, 288, 128, 10]
    assert [r["too_few_eigs"] for r in recs] == [True, False, False, True]
    for rec, (_, mod) in zip(recs, htsr.weight_layers(net)):
        eigs = htsr.esd(mod.weight)
        assert rec["alpha_hill"] == pytest.approx(htsr.alpha_hill(eigs), rel=1e-6)
        assert rec["spectral_norm"] == pytest.approx(eigs.max(), rel=1e-6)
        assert rec["stable_rank"] == pytest.approx(eigs.sum() / eigs.max(), rel=1e-6)
        assert rec["alpha_weighted"] == pytest.approx(rec["alpha_hill"] * math.log10(eigs.max()), rel=1e-6)


def test_layer_metrics_groups_equal_shapes_correctly():
    # two layers of the same shape must not get each other's spectra
    net = torch.nn.Sequential(torch.nn.Linear(60, 60), torch.nn.Linear(60, 60))
    with torch.no_grad():
        net[1].weight.copy_(10.0 * net[0].weight)
    recs = htsr.layer_metrics(net)
    assert recs[1]["spectral_norm"] == pytest.approx(100 * recs[0]["spectral_norm"], rel=1e-4)


def test_layer_with_zero_weights_is_reported_not_crashed():
    net = torch.nn.Sequential(torch.nn.Linear(60, 60), torch.nn.Linear(60, 60))
    torch.nn.init.zeros_(net[0].weight)
    rec = htsr.layer_metrics(net)[0]
    assert math.isnan(rec["alpha_hill"]) and "not positive" in rec["note"]


@pytest.mark.parametrize("eigs,kwargs,message", [
    ([1.0], {}, "at least 2 eigenvalues"),
    (np.arange(1.0, 11.0), {"k": 10}, "k must be between 1 and 9"),
    (np.arange(1.0, 11.0), {"k": 0}, "k must be between 1 and 9"),
    (np.zeros(10), {}, "not positive"),
    (np.ones(10), {}, "no tail"),
    ([1.0, float("nan"), 2.0], {}, "contain 1 NaN and 0 inf"),
    ([1.0, 2.0, 3.0 + 0.5j], {}, "the eigenvalues are complex"),
    (np.arange(1.0, 11.0), {"xmin_rule": "ks"}, "xmin_rule must be one of"),
])
def test_alpha_hill_bad_input(eigs, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        htsr.alpha_hill(eigs, **kwargs)


def test_powerlaw_eigs_bad_input():
    with pytest.raises(ConfigError, match="positive"):
        htsr.powerlaw_eigs(10, 0.0)
    with pytest.raises(ConfigError, match="positive finite"):
        htsr.powerlaw_eigs(10, float("inf"))


def test_a_bad_weight_fails_before_any_spectrum_is_computed(monkeypatch):
    """The NaN is in the last layer: every layer is checked before the first eigensolver call."""
    def no_work(batch):
        raise AssertionError("an ESD was computed before the weights were checked")

    net = torch.nn.Sequential(torch.nn.Linear(60, 60), torch.nn.Linear(60, 60), torch.nn.Linear(60, 30))
    with torch.no_grad():
        net[2].weight[5, 7] = float("inf")
    monkeypatch.setattr(htsr, "_gram_eigvals", no_work)
    with pytest.raises(ConfigError, match=r"layer '2' \(Linear\) has 0 NaN and 1 inf entries"):
        htsr.layer_metrics(net)
    with pytest.raises(ConfigError, match="1 inf entries"):
        htsr.esd(net[2].weight)


def test_a_bad_layer_left_out_by_names_does_not_matter():
    net = torch.nn.Sequential(torch.nn.Linear(60, 60), torch.nn.Linear(60, 60))
    with torch.no_grad():
        net[1].weight[0, 0] = float("nan")
    (rec,) = htsr.layer_metrics(net, names=["0"])
    assert rec["name"] == "0" and np.isfinite(rec["alpha_hill"])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_layer_metrics_on_gpu_matches_cpu():
    net = models.build("resnet20", (3, 32, 32), 10)
    cpu = [r["alpha_hill"] for r in htsr.layer_metrics(net)]
    gpu = [r["alpha_hill"] for r in htsr.layer_metrics(net.cuda())]
    np.testing.assert_allclose(gpu, cpu, rtol=1e-3)


def test_layer_metrics_can_return_the_spectra():
    net = models.build("mlp", (1, 8, 8), 10, width=0.25)
    for rec, (_, mod) in zip(htsr.layer_metrics(net, with_eigs=True), htsr.weight_layers(net)):
        np.testing.assert_allclose(rec["eigs"], htsr.esd(mod.weight), rtol=1e-6, atol=1e-9)
    assert "eigs" not in htsr.layer_metrics(net)[0]


# --- the random-matrix baseline of a layer (chapter 2's shape question) --------------------------

def _hill_by_hand(eigs):
    e = np.sort(eigs)
    n = e.size
    k = n // 2
    return 1 + k / sum(math.log(e[n - i] / e[n - k - 1]) for i in range(1, k + 1))


def test_random_alpha_is_the_mean_hill_of_the_same_gaussian_draws_by_numpy_svd():
    shape = (12, 8, 3, 3)
    rng = np.random.default_rng([0, *shape])  # the documented stream
    alphas = []
    for _ in range(3):
        w = rng.standard_normal(shape, dtype=np.float32).astype(np.float64)
        eigs = np.concatenate([np.linalg.svd(w[:, :, i, j], compute_uv=False) ** 2 for i in range(3) for j in range(3)])
        alphas.append(_hill_by_hand(eigs))
    assert htsr.random_alpha(shape, draws=3) == pytest.approx(np.mean(alphas), rel=1e-5)


def _marchenko_pastur_hill(ratio):
    """The large-n limit of eq. 3 (k = n/2) on the Marchenko-Pastur law of aspect ratio ``ratio`` <= 1:
    1 + 1 / E[ln(x / median) | x > median], by quadrature (no random numbers, no library code)."""
    from scipy import integrate, optimize

    lo, hi = (1 - math.sqrt(ratio)) ** 2, (1 + math.sqrt(ratio)) ** 2

    def pdf(x):
        return math.sqrt(max((hi - x) * (x - lo), 0.0)) / (2 * math.pi * ratio * x)

    median = optimize.brentq(lambda m: integrate.quad(pdf, lo, m, limit=200)[0] - 0.5, lo + 1e-12, hi)
    mean_log = 2 * integrate.quad(lambda x: math.log(x / median) * pdf(x), median, hi, limit=200)[0]
    return 1 + 1 / mean_log


@pytest.mark.parametrize("shape,ratio", [((800, 800), 1.0), ((1200, 600), 0.5), ((200, 100, 3, 3), 0.5)])
def test_random_alpha_of_a_large_layer_is_the_marchenko_pastur_value(shape, ratio):
    # 2.122 for a square matrix, 2.706 for an aspect ratio of 2; 600+ eigenvalues per draw put the
    # mean of two draws within 0.02 of the limit (measured spread 0.005 at n = 800)
    assert htsr.random_alpha(shape, draws=2) == pytest.approx(_marchenko_pastur_hill(ratio), abs=0.02)


def test_random_alpha_is_cached_seeded_and_leaves_torchs_generator_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    a = htsr.random_alpha((31, 17))
    assert torch.equal(torch.rand(3), expected)
    hits = htsr._random_alpha.cache_info().hits
    assert htsr.random_alpha((31, 17)) == a and htsr._random_alpha.cache_info().hits == hits + 1
    assert htsr.random_alpha((31, 17), seed=1) != a


@pytest.mark.parametrize("args,message", [
    (((5,),), r"a weight shape is \(out, in\) or \(out, in, kh, kw\), got \(5,\)"),
    (((4, 0),), r"a weight shape needs positive integer sizes, got \(4, 0\)"),
    (((4, 2.5),), "positive integer sizes"),
    (((1, 1),), r"has 1 eigenvalue\(s\)"),
    (((8, 8), 0), "draws must be a positive integer, got 0"),
    (((8, 8), 2, -1), "seed must be a non-negative integer, got -1"),
    (((8, 8), 2, 0, "ks"), "xmin_rule must be one of"),
])
def test_random_alpha_bad_input(args, message):
    with pytest.raises(ConfigError, match=message):
        htsr.random_alpha(*args)

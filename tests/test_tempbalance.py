import numpy as np
import pytest

from thermo.errors import ConfigError
from thermo.tempbalance import layer_lr_scales


def test_eq2_endpoints_and_linearity():
    alphas = np.array([2.0, 3.0, 6.0, 4.0])
    got = layer_lr_scales(alphas, 0.5, 1.5)
    # by hand: (a - 2) / 4 * 1.0 + 0.5
    np.testing.assert_allclose(got, [0.5, 0.75, 1.5, 1.0])


@pytest.mark.parametrize("c,d", [(10.0, 0.0), (0.01, 0.0), (3.0, -7.0), (1.0, 100.0)])
def test_eq2_is_scale_free(c, d):
    alphas = np.random.default_rng(0).uniform(1.5, 8.0, size=20)
    np.testing.assert_allclose(layer_lr_scales(c * alphas + d), layer_lr_scales(alphas), rtol=1e-12)


def test_eq2_equal_alphas_give_the_base_lr():
    np.testing.assert_allclose(layer_lr_scales([3.0, 3.0, 3.0], 0.8, 1.2), [1.0, 1.0, 1.0])


@pytest.mark.parametrize("s1,s2,kw,message", [
    (1.5, 0.5, {}, "0 < s1 < s2"),
    (0.0, 2.0, {}, "0 < s1 < s2"),
    (0.5, 2.0, {}, r"\(s1 \+ s2\) / 2 must be 1"),
])
def test_eq2_bad_ranges(s1, s2, kw, message):
    with pytest.raises(ConfigError, match=message):
        layer_lr_scales([2.0, 3.0], s1, s2, **kw)


def test_eq2_asymmetric_range_with_override():
    np.testing.assert_allclose(layer_lr_scales([2.0, 3.0], 0.5, 2.0, allow_asymmetric=True), [0.5, 2.0])


def test_eq2_rejects_nan_alphas():
    with pytest.raises(ConfigError, match="NaN"):
        layer_lr_scales([2.0, float("nan")])


# --- the TempBalance scheduler ----------------------------------------------------------------------

import torch  # noqa: E402

from thermo import data, models, train  # noqa: E402
from thermo.tempbalance import SpectralNormRegularizer, TempBalance, n_eigs  # noqa: E402


def small_resnet():
    torch.manual_seed(0)
    return models.build("resnet18", (1, 28, 28), 10, width=0.25)


def test_tempbalance_applies_eq2_to_its_metric(monkeypatch):
    model = small_resnet()
    tb = TempBalance(model, 0.6, 1.4)
    fake = {name: 2.0 + i for i, name in enumerate(tb.tuned)}  # hand-made alphas 2, 3, ...
    monkeypatch.setattr(tb, "metrics", lambda: fake)
    scales = tb.scales()
    lo, hi = min(fake, key=fake.get), max(fake, key=fake.get)
    assert scales[lo] == pytest.approx(0.6) and scales[hi] == pytest.approx(1.4)
    order = sorted(fake, key=fake.get)
    assert all(scales[a] < scales[b] for a, b in zip(order, order[1:]))  # larger alpha, larger LR
    monkeypatch.setattr(tb, "metrics", lambda: {k: 7.0 * v - 3.0 for k, v in fake.items()})
    assert tb.scales() == pytest.approx(scales)  # scale-free


def expected_tuned(model, min_eigs=50):
    """Independently of the library: Conv2d/Linear in order, drop first and last, drop small ESDs."""
    layers = [(n, m) for n, m in model.named_modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    out = []
    for name, m in layers[1:-1]:
        w = m.weight
        count = min(w.shape[0], w.shape[1]) * (w.shape[2] * w.shape[3] if w.ndim == 4 else 1)
        if count >= min_eigs:
            out.append(name)
    return out


@pytest.mark.parametrize("name,width", [("resnet18", 0.25), ("resnet20", 1.0), ("vgg11", 0.25), ("vgg16", 0.5)])
def test_layer_selection_rules(name, width):
    model = models.build(name, (3, 32, 32), 10, width=width)
    tb = TempBalance(model)
    assert tb.tuned == expected_tuned(model)
    weights = [n for n, m in model.named_modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert weights[0] not in tb.tuned and weights[-1] not in tb.tuned
    groups = tb.param_groups(5e-4)
    ids = [id(p) for g in groups for p in g["params"]]
    assert sorted(ids) == sorted(id(p) for p in model.parameters()) and len(ids) == len(set(ids))  # a partition
    if name.startswith("resnet"):
        # a block's BatchNorm goes with its conv; shortcut BatchNorms (and the stem's) stay at the base LR
        assert tb.batchnorms["layers.1.bn2"] == "layers.1.conv2"
        assert not any("shortcut" in bn or bn.startswith("stem") for bn in tb.batchnorms)
        g = next(g for g in groups if g["name"] == "layers.1.conv2")
        bn = dict(model.named_modules())["layers.1.bn2"]
        assert {id(p) for p in bn.parameters()} <= {id(p) for p in g["params"]}
    else:
        assert tb.batchnorms == {}  # nn.Sequential names: the official 'name' rule matches none
        assert TempBalance(model, bn_rule="order").batchnorms  # the 'order' rule pairs them


def test_n_eigs_counts_the_pooled_esd():
    assert n_eigs((64, 32, 3, 3)) == 9 * 32 and n_eigs((10, 128)) == 10


def test_untuned_groups_stay_at_the_base_lr_through_a_cosine_schedule():
    torch.manual_seed(0)
    ds = data.ArrayDataset(torch.rand(64, 1, 8, 8), torch.randint(0, 3, (64,)), "toy", "train", 3)
    model = models.build("vgg11", (1, 8, 8), 3, width=0.25)
    tb = TempBalance(model)
    cfg = train.TrainConfig(epochs=3, lr=0.05, batch_size=16, schedule="cosine", weight_decay=5e-4)
    opt = train.make_optimizer(tb.param_groups(cfg.weight_decay), cfg)
    seen = []

    class Watch(train.Callback):
        def before_optimizer_step(self, state, batch):
            t = state.epoch + (state.step - state.epoch * state.steps_per_epoch) / state.steps_per_epoch
            lrs = {g["name"]: g["lr"] for g in state.optimizer.param_groups}
            seen.append((cfg.base_lr(t), lrs))

    res = train.fit(model, ds, ds, cfg, callbacks=[tb, Watch()], optimizer=opt, progress=False)
    assert len(seen) == 12 and res.history["tb_scale"]
    for base, lrs in seen:
        assert lrs["untuned"] == pytest.approx(base)
        assert all(0.5 * base - 1e-12 <= v <= 1.5 * base + 1e-12 for v in lrs.values())


def test_snr_adds_the_gradient_of_half_lambda_sigma1_squared():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(4, 6, 3)
    lin = torch.nn.Linear(5, 7)
    model = torch.nn.ModuleDict({"conv": conv, "lin": lin})
    lam = 0.3
    snr = SpectralNormRegularizer(model, lam, iterations=200, warm_start=False)
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    snr.before_optimizer_step(None, None)
    for layer in (conv, lin):
        w = layer.weight.detach().clone().requires_grad_(True)
        (0.5 * lam * torch.linalg.matrix_norm(w.reshape(w.shape[0], -1), ord=2) ** 2).backward()
        assert layer.weight.grad == pytest.approx(w.grad, rel=1e-4, abs=1e-7)
        assert torch.count_nonzero(layer.bias.grad) == 0  # 1-D parameters untouched


def test_snr_warm_start_tracks_sigma1_at_least_as_well_as_five_fresh_iterations():
    """Along a real training run, sigma_1 from one warm-started power iteration per step against the
    exact value: within 0.1 % (median) and 2 % (max) after 30 steps - the stated tolerance. The
    official recipe (5 iterations from a random vector every step) does worse on the same weights
    (a few % median: 5 iterations do not converge when the top singular values are close)."""
    torch.manual_seed(0)
    ds = data.ArrayDataset(torch.rand(256, 1, 12, 12), torch.randint(0, 4, (256,)), "toy", "train", 4)
    torch.manual_seed(0)
    model = models.build("convnet", (1, 12, 12), 4, width=0.5)
    warm = SpectralNormRegularizer(model, 1e-3, iterations=1, warm_start=True)
    fresh = SpectralNormRegularizer(model, 0.0, iterations=5, warm_start=False)
    errors = []

    class Compare(train.Callback):
        def before_optimizer_step(self, state, batch):
            for name, p in warm.params:
                w = p.detach().reshape(p.shape[0], -1)
                exact = float(torch.linalg.matrix_norm(w, ord=2))
                errors.append((state.step, abs(warm.sigma[name] - exact) / exact,
                               abs(fresh.top_singular(name, w)[0] - exact) / exact))

    cfg = train.TrainConfig(epochs=6, lr=0.05, batch_size=32, schedule="constant")
    train.fit(model, ds, ds, cfg, callbacks=[warm, Compare()], progress=False)
    late = np.array([(w, f) for step, w, f in errors if step >= 30])
    assert np.median(late[:, 0]) < 1e-3 and late[:, 0].max() < 0.02
    assert np.median(late[:, 0]) < np.median(late[:, 1])


def test_crop_flip_matches_a_loop_over_images():
    x = torch.rand(5, 3, 6, 7)
    got = train.crop_flip(x, 2, torch.Generator().manual_seed(4))
    g = torch.Generator().manual_seed(4)
    offsets = torch.randint(0, 5, (2, 5), generator=g)
    flips = torch.rand(5, generator=g) < 0.5
    for i in range(5):
        padded = torch.nn.functional.pad(x[i], (2, 2, 2, 2))
        crop = padded[:, offsets[0, i]:offsets[0, i] + 6, offsets[1, i]:offsets[1, i] + 7]
        assert torch.equal(got[i], crop.flip(-1) if flips[i] else crop)


def test_alpha_excess_metric_is_alpha_minus_the_random_baseline_of_each_shape():
    from thermo import htsr

    model = small_resnet()
    tb = TempBalance(model, metric="alpha_excess")
    shapes = {n: tuple(m.weight.shape) for n, m in model.named_modules() if n in tb.tuned}
    alpha = {r["name"]: r["alpha_hill"] for r in htsr.layer_metrics(model, names=tb.tuned)}
    got = tb.metrics()
    assert set(got) == set(tb.tuned)
    for name, value in got.items():  # baseline recomputed here: the mean Hill alpha of 5 Gaussian draws
        rng = np.random.default_rng([0, *shapes[name]])
        base = np.mean([htsr.alpha_hill(htsr.esd(torch.from_numpy(rng.standard_normal(shapes[name], dtype=np.float32))))
                        for _ in range(5)])
        assert value == pytest.approx(alpha[name] - base, rel=1e-9, abs=1e-12)
    # at initialization every layer is a random matrix: its alpha is its shape's baseline plus the
    # estimator's scatter, so the excess is near 0 while alpha itself differs by shape
    assert max(abs(v) for v in got.values()) < 0.3
    assert max(alpha.values()) - min(alpha.values()) > 2 * max(abs(v) for v in got.values())
    scales = tb.scales()
    assert min(scales.values()) == pytest.approx(0.5) and max(scales.values()) == pytest.approx(1.5)

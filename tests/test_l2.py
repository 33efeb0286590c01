"""thermo.l2: t* on synthetic curves with a known peak, AutoL2's decisions worked out by hand,
the lambda prediction, and the homogeneity degree of bias-free ReLU networks."""

import math

import numpy as np
import pytest
import torch

from thermo import data, l2, models, train
from thermo.errors import ConfigError


def synthetic_curve(t_star, steps, noise, rng):
    """A peaked accuracy curve in log-time: 0.9 - 0.05 (ln t - ln t*)^2, plus Gaussian noise."""
    logt = np.log(steps)
    return 0.9 - 0.05 * (logt - math.log(t_star)) ** 2 + rng.normal(0, noise, size=steps.size)


def test_time_to_peak_exact_curve_is_the_grid_point_nearest_the_peak():
    steps = np.array(train.log_spaced_steps(100_000, 25))
    for t_star in (37, 850, 12_345):
        peak = l2.time_to_peak(steps, synthetic_curve(t_star, steps, 0.0, np.random.default_rng(0)))
        nearest = steps[np.argmin(np.abs(np.log(steps) - math.log(t_star)))]
        assert peak.step == nearest and peak.raw_max == pytest.approx(0.9, abs=1e-3)


def test_time_to_peak_with_noise_is_unbiased_in_log_time():
    rng = np.random.default_rng(1)
    steps = np.array(train.log_spaced_steps(100_000, 25))
    logs_smooth, logs_argmax = [], []
    for _ in range(200):
        acc = synthetic_curve(1000, steps, 0.003, rng)
        logs_smooth.append(math.log(l2.time_to_peak(steps, acc).step / 1000))
        logs_argmax.append(math.log(l2.time_to_peak(steps, acc, window=1).step / 1000))
    # no systematic shift (the mean error is well under one grid step, ln 10 / 25 = 0.092) ...
    assert abs(np.mean(logs_smooth)) < 0.05
    # ... and the smoothing makes it less noisy than the plain argmax
    assert np.std(logs_smooth) < np.std(logs_argmax)


def test_time_to_peak_bad_input():
    with pytest.raises(ConfigError, match="strictly increasing"):
        l2.time_to_peak([1, 1, 2], [0.1, 0.2, 0.3])
    with pytest.raises(ConfigError, match="positive odd integer"):
        l2.time_to_peak([1, 2, 3], [0.1, 0.2, 0.3], window=2)
    with pytest.raises(ConfigError, match="must be finite"):
        l2.time_to_peak([1, 2, 3], [0.1, float("nan"), 0.3])


def test_physical_time_and_predict_lambda():
    assert l2.physical_time([10, 100], 0.1, 1e-3) == pytest.approx([1e-3, 1e-2])
    c = 0.1 * 1e-3 * 2500  # measured on one run
    assert l2.predict_lambda(c, 0.1, 2500) == pytest.approx(1e-3)  # that run's own lambda back
    assert l2.predict_lambda(c, 0.2, 5000) == pytest.approx(2.5e-4)


# (step, loss, error) -> l2 after it; worked out by hand from Algorithm 1 (see the comments)
AUTOL2_SCRIPT = [
    (5, 1.00, 0.50, 0.1),    # first measurement: nothing to compare, nothing absorbed
    (10, 0.80, 0.40, 0.1),   # minima are inf: absorb the previous one -> min (1.0, 0.5)
    (15, 0.60, 0.30, 0.1),   # below the minima -> absorb (0.8, 0.4)
    (20, 0.90, 0.35, 0.1),   # loss > 0.8 but the previous 0.6 is not -> absorb (0.6, 0.3)
    (25, 0.70, 0.32, 0.01),  # loss 0.7 and 0.9 both > 0.6, 25 > 0 -> decay; min_step = 0.1/0.01 + 25 = 35
    (30, 0.65, 0.31, 0.01),  # increases again but 30 <= 35 -> absorb (0.7, 0.32): minima stay (0.6, 0.3)
    (35, 0.70, 0.33, 0.01),  # 35 <= 35 -> absorb
    (40, 0.70, 0.33, 0.001),  # 40 > 35 -> decay; min_step = 0.1/0.001 + 40 = 140
    (45, 0.50, 0.20, 0.001),  # absorb (0.7, 0.33)
    (50, 0.55, 0.25, 0.001),  # absorb (0.5, 0.2) -> min (0.5, 0.2)
    (55, 0.56, 0.26, 0.001),  # both above their minima twice, but 55 <= 140 -> absorb
    (145, 0.45, 0.21, 0.0001),  # loss is new low, but the error 0.21 and 0.26 > 0.2 -> decay (error path)
]


def test_autol2_follows_algorithm_1_step_by_step():
    auto = l2.AutoL2(l2=0.1, every=5)
    for step, loss, error, expected in AUTOL2_SCRIPT:
        assert auto.update(step, loss, error) == pytest.approx(expected), f"step {step}"
    assert auto.decays == [25, 40, 145]
    assert auto.min_step == pytest.approx(0.1 / 1e-4 + 145)


def test_autol2_as_a_callback_sets_weight_decay_and_logs_it():
    torch.manual_seed(0)
    ds = data.ArrayDataset(torch.randn(64, 1, 1, 8), torch.randint(0, 2, (64,)), "toy", "train", 2)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    auto = l2.AutoL2(l2=0.1, every=2)
    cfg = train.TrainConfig(epochs=60, lr=0.5, batch_size=64, momentum=0.0, schedule="constant")
    opt = train.make_optimizer(model, cfg)
    res = train.fit(model, ds, ds, cfg, callbacks=[auto], optimizer=opt, progress=False)
    logged = res.step_history["l2"]
    assert res.step_history["step:l2"] == list(range(2, 61, 2))
    assert logged[-1] == auto.l2 == opt.param_groups[0]["weight_decay"]
    assert all(b in (a, a / 10) for a, b in zip(logged, logged[1:]))  # only ever divided by 10
    assert auto.decays, "with L2 = 0.1 on this toy task the training loss plateaus and AutoL2 decays"


def test_autol2_state_round_trips():
    auto = l2.AutoL2()
    for step, loss, error, _ in AUTOL2_SCRIPT[:6]:
        auto.update(step, loss, error)
    copy = l2.AutoL2()
    copy.load_state_dict(auto.state_dict())
    for step, loss, error, _ in AUTOL2_SCRIPT[6:]:
        assert copy.update(step, loss, error) == auto.update(step, loss, error)


@pytest.mark.parametrize("hidden,k", [((), 1), ((16,), 2), ((16, 16), 3), ((8, 8, 8), 4)])
def test_bias_free_relu_mlp_is_k_homogeneous(hidden, k):
    """f(a theta) = a^k f(theta) for a bias-free ReLU network with k weight layers."""
    torch.manual_seed(0)
    model = models.MLP((1, 1, 6), 3, hidden=hidden, bias=False).double()
    x = torch.randn(5, 1, 1, 6, dtype=torch.float64)
    f = model(x)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(1.7)
    assert torch.allclose(model(x), 1.7**k * f, rtol=1e-12)


def test_stax_init_has_the_stated_variance():
    torch.manual_seed(0)
    model = models.init_normal_(models.MLP((1, 1, 400), 10, hidden=(300,)), sigma_w=math.sqrt(2.0))
    w = model.net[1].weight
    assert w.var().item() == pytest.approx(2.0 / 400, rel=0.02)
    assert torch.count_nonzero(model.net[1].bias) == 0


def test_peak_after_the_training_set_is_fitted():
    steps = [1, 10, 100, 1000, 10000]
    acc = [0.1, 0.86, 0.85, 0.855, 0.84]  # an early peak during fitting, a later one after it
    assert l2.fitted_step(steps, [0.2, 0.9, 1.0, 1.0, 1.0]) == 100
    assert l2.fitted_step(steps, [0.2, 0.9, 0.99, 0.99, 0.99]) is None
    assert l2.time_to_peak(steps, acc, window=1).step == 10
    assert l2.time_to_peak(steps, acc, window=1, after=100).step == 1000
    with pytest.raises(ConfigError, match="no evaluation at or after step 20000"):
        l2.time_to_peak(steps, acc, after=20000)

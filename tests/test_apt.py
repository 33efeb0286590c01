"""thermo.apt and thermo.actcool against independent computations: a brute-force loop over
examples, the regularizer at both ends, synthetic erf and exponential curves, a synthetic system
with known (mu, sigma) for the controller, and a side-effect check of the LR range."""

import copy
import math

import numpy as np
import pytest
import torch
from scipy.special import ndtr

from thermo import actcool, apt, data, models, train


def tiny_mlp():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(6, 9), torch.nn.ReLU(), torch.nn.Linear(9, 7),
                               torch.nn.ReLU(), torch.nn.Linear(7, 3))


def brute_force_t(model, x, before, after, granularity):
    """Per ReLU layer, T by a loop over examples (and positions/units), without hooks or packing."""
    def acts(state):
        m = copy.deepcopy(model)
        m.load_state_dict(state)
        out, h = [], x
        for layer in m:
            h = layer(h)
            if isinstance(layer, torch.nn.ReLU):
                out.append((h > 0).clone())
        return out

    a, b = acts(before), acts(after)
    temps = []
    for la, lb in zip(a, b):
        same, n = 0, 0
        for i in range(x.shape[0]):
            if granularity == "example":
                same += bool(torch.equal(la[i], lb[i]))
                n += 1
            else:  # neuron
                for j in range(la.shape[1]):
                    same += bool(la[i, j] == lb[i, j])
                    n += 1
        temps.append(-math.log2(max(same / n, 0.5 / n)))
    return temps


@pytest.mark.parametrize("granularity", ["example", "neuron"])
def test_apt_between_matches_a_brute_force_loop(granularity):
    model = tiny_mlp()
    x = torch.randn(40, 6)
    before = copy.deepcopy(model.state_dict())
    after = {k: v + 0.3 * torch.randn_like(v) for k, v in before.items()}
    original = copy.deepcopy(model.state_dict())
    got = apt.apt_between(model, x, before, after, granularity)
    assert list(got.values()) == pytest.approx(brute_force_t(model, x, before, after, granularity))
    assert all(torch.equal(v, original[k]) for k, v in model.state_dict().items())  # left as given


def test_position_patterns_are_channel_vectors():
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3, padding=1), torch.nn.ReLU())
    x = torch.randn(4, 2, 5, 5)
    before = copy.deepcopy(model.state_dict())
    after = {k: v + 0.5 * torch.randn_like(v) for k, v in before.items()}
    t = apt.apt_between(model, x, before, after, "position")["1"]
    model.load_state_dict(before)
    a = model(x) > 0
    model.load_state_dict(after)
    b = model(x) > 0
    same = (a == b).all(dim=1).float().mean().item()  # a (example, position) pattern over channels
    assert t == pytest.approx(-math.log2(same))


def test_regularizer_at_both_ends():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 8, bias=False), torch.nn.ReLU())
    x = torch.randn(32, 5)
    s = copy.deepcopy(model.state_dict())
    assert apt.apt_between(model, x, s, s)["1"] == 0.0  # nothing changed: T = 0
    flipped = {"0.weight": -s["0.weight"]}  # relu(-Wx): every unit of every example flips
    assert apt.apt_between(model, x, s, flipped)["1"] == pytest.approx(math.log2(2 * 32))  # ceiling log2(2B)
    assert apt.temperature(0.0, 128) == pytest.approx(8.0)


def test_pack_is_lossless_and_small():
    active = torch.rand(3, 13) > 0.5
    packed = apt.pack(active, "example")
    assert packed.shape == (3, 2) and packed.dtype == torch.uint8
    unpacked = np.unpackbits(packed.numpy(), axis=1)[:, :13].astype(bool)
    assert np.array_equal(unpacked, active.numpy())


def test_probe_during_training_equals_apt_between():
    torch.manual_seed(0)
    ds = data.ArrayDataset(torch.rand(64, 1, 8, 8), torch.randint(0, 3, (64,)), "toy", "train", 3)
    model = models.build("resnet20", (1, 8, 8), 3, width=0.5)  # BatchNorm in training mode
    probe = apt.APTProbe(every=3, granularity="example")
    saved = {}

    class Save(train.Callback):
        def on_batch_start(self, state, batch):
            if state.step + 1 == 3:
                saved["before"] = copy.deepcopy(state.model.state_dict())
                saved["x"] = batch[0].clone()

        def after_optimizer_step(self, state, batch, loss):
            if state.step == 3:
                saved["after"] = copy.deepcopy(state.model.state_dict())

    cfg = train.TrainConfig(epochs=1, lr=0.1, batch_size=16, schedule="constant")
    res = train.fit(model, ds, ds, cfg, callbacks=[Save(), probe], progress=False)
    assert res.step_history["step:apt"] == [3]
    ref = copy.deepcopy(model)
    ref.train()
    # the reference starts from the state the step began with (BatchNorm statistics included)
    ref.load_state_dict(saved["before"])
    expected = apt.apt_between(ref, saved["x"], saved["before"], {**saved["after"], **{
        k: v for k, v in saved["before"].items() if "running" in k or "num_batches" in k}})
    assert res.step_history["apt"][0] == pytest.approx(np.mean(list(expected.values())))
    assert probe.bytes_per_example > 0


def test_lr_range_leaves_model_gradients_optimizer_and_rng_untouched():
    torch.manual_seed(0)
    model = models.build("resnet20", (1, 8, 8), 3, width=0.5)
    x, y = torch.rand(16, 1, 8, 8), torch.randint(0, 3, (16,))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    torch.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
    torch.nn.functional.cross_entropy(model(x), y).backward()  # leave gradients in place
    state = copy.deepcopy(model.state_dict())
    grads = [p.grad.clone() for p in model.parameters()]
    opt_state = copy.deepcopy(opt.state_dict())
    rng = torch.get_rng_state()
    out = apt.lr_range(model, (x, y), np.geomspace(1e-3, 10, 9))
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    assert all(torch.equal(p.grad, g) for p, g in zip(model.parameters(), grads))
    assert str(opt.state_dict()) == str(opt_state) and torch.equal(torch.get_rng_state(), rng)
    p = np.array(list(out["p_change"].values()))
    assert p.shape == (len(apt.relu_layers(model)), 9) and p[:, 0].max() <= p[:, -1].min() + 1e-9


def test_fit_erf_recovers_mu_and_sigma():
    rng = np.random.default_rng(0)
    lrs = np.geomspace(1e-4, 1e2, 31)
    p = np.clip(ndtr((np.log(lrs) - (-2.0)) / 1.3) + rng.normal(0, 0.01, lrs.size), 0, 1)
    fit = apt.fit_erf(lrs, p)
    assert fit["mu"] == pytest.approx(-2.0, abs=3 * fit.errors["mu"] + 0.02)
    assert fit["sigma"] == pytest.approx(1.3, abs=3 * fit.errors["sigma"] + 0.02)
    assert fit.r2 > 0.99 and fit.residuals.shape == lrs.shape


def test_fit_exponential_recovers_lr0_and_the_erf_sigma_of_an_exponential_curve():
    lrs = np.geomspace(1e-4, 1e2, 31)
    p = apt.exponential_model(lrs, 0.05)
    assert apt.fit_exponential(lrs, p)["lr0"] == pytest.approx(0.05, rel=1e-6)
    # a normal CDF in ln(lr) fitted to an exact exponential curve has a width close to 1.17
    assert apt.fit_erf(lrs, p)["sigma"] == pytest.approx(1.17, abs=0.1)


def test_actcoollr_drives_a_synthetic_system_to_its_target():
    """P_change(lr) = Phi((ln lr - mu_t) / sigma) with mu_t drifting slowly; the controller, told only
    sigma, must bring the temperature to the target within a few measurements and keep it there."""
    sigma, n = 1.2, 10_000
    target = actcool.linear_target(3.0, 400, gamma=1.0)
    ctl = actcool.ActCoolLR(target, lr_init=1e-3, sigma=sigma, every=10)

    def temperature(lr, mu):
        return -math.log2(1 - ndtr((math.log(lr) - mu) / sigma))

    lr, errors = 1e-3, []
    for i in range(0, 380, 10):
        mu = -3.0 + 0.002 * i
        measured = temperature(lr, mu)
        errors.append(abs(measured - target(i)) / target(i))
        lr = ctl.next_lr(measured, lr, target(i + 10), n)
    assert errors[0] > 0.3  # it started far from the target ...
    assert max(errors[2:]) < 0.05  # ... and follows it after one correction


def test_linear_target_and_ceiling():
    c = actcool.linear_target(3.17, 100, gamma=2.0)
    assert c(0) == pytest.approx(3.17) and c(100) == 0.0 and c(50) == pytest.approx(3.17 * 0.75)
    assert actcool.ceiling(128) == pytest.approx(8.0)
    assert actcool.probability_from_temperature(50.0, 100) == pytest.approx(1 - 0.005)


@pytest.mark.parametrize("shape", [(3, 13), (4, 5, 6), (2, 16, 3, 3)])
def test_torch_packbits_equals_numpy(shape):
    """The GPU path's packing, run on the CPU, against numpy's packbits along the pattern axis."""
    active = torch.rand(*shape) > 0.5
    rows = active.reshape(shape[0], shape[1], -1) if len(shape) > 2 else active
    expected = np.packbits(rows.numpy(), axis=1)
    assert np.array_equal(apt.packbits_torch(rows).numpy(), expected)


def test_actcoollr_state_keeps_its_calibration_across_a_resume():
    """A resumed run must still report the LR-range fit that set sigma (it is not recomputed)."""
    ctl = actcool.ActCoolLR(actcool.linear_target(2.0, 100), lr_init=0.01, every=10)
    ctl.sigma, ctl.calibration = 1.3, {"lrs": np.geomspace(1e-3, 1, 4), "p_mean": np.linspace(0.1, 0.9, 4),
                                       "mu": -2.0, "sigma": 1.3, "r2": 0.99}
    again = actcool.ActCoolLR(actcool.linear_target(2.0, 100), lr_init=0.01, every=10)
    again.load_state_dict(ctl.state_dict())
    assert again.sigma == 1.3 and again.calibration["sigma"] == 1.3
    np.testing.assert_allclose(again.calibration["lrs"], ctl.calibration["lrs"])

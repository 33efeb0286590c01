import math

import numpy as np
import pytest
import torch

from thermo import train
from thermo.data import ArrayDataset
from thermo.errors import ConfigError


def blobs(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    centers = torch.tensor([[2.0, 0.0], [-2.0, 0.0], [0.0, 2.0]])
    x = centers[y] + 0.5 * torch.randn(n, 2, generator=g)
    return ArrayDataset(x.view(n, 1, 1, 2), y, "blobs", "train", 3)


def tiny_model(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))


def test_training_learns_separable_blobs():
    res = train.fit(tiny_model(), blobs(), blobs(128, seed=1), train.TrainConfig(epochs=5, lr=0.1, batch_size=32))
    assert res.status == "ok" and res.epochs_done == 5 and res.steps_done == 5 * 8
    assert res.history["train_loss"][-1] < 0.5 * res.history["train_loss"][0]
    assert res.final("test_acc") > 0.9


@pytest.mark.parametrize("t", [0.0, 0.5, 1.7, 3.0])
def test_cosine_schedule_closed_form(t):
    cfg = train.TrainConfig(epochs=3, lr=0.2)
    assert cfg.base_lr(t) == pytest.approx(0.1 * (1 + math.cos(math.pi * t / 3)))


def test_step_schedule():
    cfg = train.TrainConfig(epochs=10, lr=1.0, schedule="step", step_milestones=(0.5, 0.75))
    assert [cfg.base_lr(t) for t in (0, 4.9, 5, 7.4, 7.5, 10)] == pytest.approx([1, 1, 0.1, 0.1, 0.01, 0.01])


def test_lr_scale_of_param_groups_composes_with_schedule():
    seen = []

    class Spy(train.Callback):
        def before_optimizer_step(self, state, batch):
            seen.append([g["lr"] for g in state.optimizer.param_groups])

    model = tiny_model()
    cfg = train.TrainConfig(epochs=1, lr=0.1, batch_size=256, schedule="constant")
    opt = train.make_optimizer([{"params": model[1].parameters(), "lr_scale": 0.5},
                                {"params": model[3].parameters(), "lr_scale": 1.5}], cfg)
    train.fit(model, blobs(), blobs(64), cfg, callbacks=[Spy()], optimizer=opt)
    assert seen == [pytest.approx([0.05, 0.15])]


def test_divergence_is_recorded_not_raised():
    res = train.fit(tiny_model(), blobs(), blobs(64), train.TrainConfig(epochs=3, lr=1e6, momentum=0.9))
    assert res.status == "diverged"
    assert res.diverged_at_step is not None and res.diverged_at_step < 3 * 8
    assert all(math.isfinite(v) for v in res.history.get("train_loss", []))


class Interrupt(train.Callback):
    def __init__(self, at_epoch):
        self.at_epoch = at_epoch

    def on_epoch_start(self, state):
        if state.epoch == self.at_epoch:
            raise KeyboardInterrupt("simulated kill")


def test_resume_gives_the_same_run_as_no_interruption(tmp_root):
    cfg = train.TrainConfig(epochs=4, lr=0.05, batch_size=32, seed=7)
    ref_model = tiny_model(1)
    ref = train.fit(ref_model, blobs(), blobs(64), cfg, run_id="ref")
    model = tiny_model(1)
    with pytest.raises(KeyboardInterrupt):
        train.fit(model, blobs(), blobs(64), cfg, callbacks=[Interrupt(2)], run_id="cut")
    fresh = tiny_model(99)  # a new process would start from other weights: the checkpoint wins
    res = train.fit(fresh, blobs(), blobs(64), cfg, run_id="cut")
    assert res.resumed_from_epoch == 2
    assert res.history == ref.history
    for a, b in zip(fresh.state_dict().values(), ref_model.state_dict().values()):
        assert torch.equal(a, b)


def test_checkpoint_of_another_config_is_not_resumed(tmp_root):
    train.fit(tiny_model(), blobs(), blobs(64), train.TrainConfig(epochs=1, lr=0.05), run_id="r",
              keep_checkpoint=True)
    assert (tmp_root / "ckpt" / "r" / "last.pt").exists()
    path = tmp_root / "ckpt" / "r" / "last.pt"
    with pytest.warns(UserWarning, match=f"^the checkpoint {path} belongs to another run .different config.; "
                                         "training starts from scratch$"):
        res = train.fit(tiny_model(), blobs(), blobs(64), train.TrainConfig(epochs=2, lr=0.07), run_id="r")
    assert res.resumed_from_epoch == 0 and res.epochs_done == 2
    assert not (tmp_root / "ckpt" / "r" / "last.pt").exists()  # a finished run cleans up


@pytest.mark.parametrize("kwargs,message", [
    ({"lr": 0.0}, "learning rate must be a positive number"),
    ({"lr": -0.1}, "learning rate must be a positive number"),
    ({"lr": float("nan")}, "learning rate must be a positive number"),
    ({"epochs": 0}, "epochs must be a positive integer"),
    ({"batch_size": 0}, "batch_size must be a positive integer"),
    ({"optimizer": "lion"}, "optimizer must be one of"),
    ({"schedule": "linear"}, "schedule must be one of"),
    ({"momentum": 1.0}, "momentum must be in"),
    ({"weight_decay": -1e-4}, "weight_decay cannot be negative"),
    ({"weight_decay": float("nan")}, "weight_decay must be a finite number, got nan"),
    ({"weight_decay": float("inf")}, "weight_decay must be a finite number, got inf"),
    ({"weight_decay": True}, "weight_decay must be a finite number, got True"),
    ({"lr": True}, "learning rate must be a positive number, got True"),
    ({"lr": float("inf")}, "learning rate must be a positive number, got inf"),
    ({"device": "tpu"}, "device must be"),
])
def test_bad_train_config_fails_before_training(kwargs, message):
    args = {"epochs": 1, "lr": 0.1, **kwargs}
    model = tiny_model()
    before = [p.clone() for p in model.parameters()]
    with pytest.raises(ConfigError, match=message):
        train.fit(model, blobs(), blobs(64), train.TrainConfig(**args))
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_evaluate_matches_a_manual_loop():
    model, ds = tiny_model(), blobs(100)
    loss, acc = train.evaluate(model, ds, batch_size=7)
    with torch.no_grad():
        out = model(ds.x)
    assert loss == pytest.approx(float(torch.nn.functional.cross_entropy(out, ds.y)), rel=1e-5)
    assert acc == pytest.approx(float((out.argmax(1) == ds.y).float().mean()))


def _toy(n=20):
    torch.manual_seed(0)
    return ArrayDataset(torch.randn(n, 1, 1, 4), torch.randint(0, 3, (n,)), "toy", "train", 3)


def _toy_model():
    torch.manual_seed(1)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))


def test_log_spaced_steps():
    s = train.log_spaced_steps(10_000, 20)
    assert s[0] == 1 and s[-1] == 10_000 and list(s) == sorted(set(s))
    big = np.array([t for t in s if t >= 100])  # above 100 the integer rounding is negligible
    assert np.diff(np.log10(big)).max() == pytest.approx(1 / 20, rel=0.05)
    assert 60 <= len(s) <= 81


def test_eval_steps_measure_the_model_after_that_step():
    """Metrics logged at step 5 of a 10-step run equal the final metrics of a 5-step run."""
    ds = _toy()
    cfg = train.TrainConfig(epochs=2, lr=0.1, batch_size=4, eval_steps=(5, 7), schedule="constant")
    long = train.fit(_toy_model(), ds, ds, cfg, progress=False)
    short = train.fit(_toy_model(), ds, ds, train.TrainConfig(epochs=1, lr=0.1, batch_size=4, schedule="constant"),
                      progress=False)
    assert long.step_history["step:test_acc"] == [5, 7]
    assert long.step_history["test_loss"][0] == pytest.approx(short.final("test_loss"), rel=1e-6)
    assert long.step_history["test_acc"][0] == short.final("test_acc")


def test_eval_every_skips_epochs_but_not_the_last():
    ds = _toy()
    res = train.fit(_toy_model(), ds, ds, train.TrainConfig(epochs=7, lr=0.1, batch_size=10, eval_every=3),
                    progress=False)
    assert res.history["epoch"] == [3, 6, 7]


def test_onecycle_matches_torch_step_by_step():
    cfg = train.TrainConfig(epochs=3, lr=0.2, schedule="onecycle")
    m = torch.nn.Linear(2, 2)
    opt = torch.optim.SGD(m.parameters(), lr=0.2)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.2, total_steps=3 * 17, cycle_momentum=False)
    for i in range(3 * 17):
        assert cfg.base_lr(i / 17, 17) == pytest.approx(opt.param_groups[0]["lr"], rel=1e-12)
        opt.step()
        sched.step()


def test_sgdr_matches_torch_warm_restarts():
    cfg = train.TrainConfig(epochs=30, lr=0.1, schedule="sgdr", sgdr_t0=5, sgdr_t_mult=2)
    opt = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=5, T_mult=2)
    for epoch in range(30):
        assert cfg.base_lr(epoch) == pytest.approx(opt.param_groups[0]["lr"], abs=1e-15)
        opt.step()
        sched.step()


@pytest.mark.parametrize("schedule,make", [
    ("cosine", lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=40)),
    ("step", lambda opt: torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[20, 30], gamma=0.1)),
    ("constant", lambda opt: torch.optim.lr_scheduler.ConstantLR(opt, factor=1.0)),
])
def test_each_schedule_function_matches_torch_step_by_step(schedule, make):
    """One function per schedule (train.SCHEDULE_FUNCTIONS) against torch's scheduler, 40 steps."""
    cfg = train.TrainConfig(epochs=40, lr=0.3, schedule=schedule, step_milestones=(0.5, 0.75))
    opt = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.3)
    sched = make(opt)
    for epoch in range(40):
        assert train.SCHEDULE_FUNCTIONS[schedule](cfg, epoch) == pytest.approx(opt.param_groups[0]["lr"], rel=1e-12)
        opt.step()
        sched.step()


def test_from_config_takes_the_training_keys_and_overrides():
    cfg = train.TrainConfig.from_config({"epochs": 3, "lr": 0.1, "model": "mlp", "eval_steps": [2, 4]}, momentum=0.0)
    assert (cfg.epochs, cfg.lr, cfg.momentum, cfg.eval_steps) == (3, 0.1, 0.0, (2, 4))
    with pytest.raises(ConfigError, match="TrainConfig has no field 'eta'"):
        train.TrainConfig.from_config({"epochs": 3, "lr": 0.1}, eta=0.1)


def test_to_record_has_one_shape_for_ok_and_diverged_runs():
    ds, model = _toy(), _toy_model()
    ok = train.fit(model, ds, ds, train.TrainConfig(epochs=2, lr=0.1), progress=False).to_record(extra=1)
    assert ok["status"] == "ok" and "reason" not in ok and ok["extra"] == 1
    assert ok["final_test_acc"] == ok["history"]["test_acc"][-1] and ok["steps_done"] > 0
    bad = train.fit(model, ds, ds, train.TrainConfig(epochs=2, lr=1e30), progress=False).to_record()
    assert bad["status"] == "diverged" and bad["reason"] == f"non-finite loss at step {bad['steps_done']}"


def test_a_callback_can_take_over_the_lr_and_every_step_is_logged():
    ds = _toy()

    class Halve(train.Callback):
        def on_batch_start(self, state, batch):
            state.lr_override = 0.1 / (state.step + 1)

    cfg = train.TrainConfig(epochs=2, lr=0.5, batch_size=4, log_lr_steps=True)
    res = train.fit(_toy_model(), ds, ds, cfg, callbacks=[Halve()], progress=False)
    assert res.step_history["lr"] == pytest.approx([0.1 / (i + 1) for i in range(10)])

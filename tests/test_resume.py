"""Exact resume for every callback, and checkpoints that survive faults (DESIGN.md section 6).

A run is stopped in the middle of an epoch (KeyboardInterrupt from a tiny callback, at a global step
that is not a multiple of the callbacks' ``every``), then ``fit`` is called again with the same
``run_id`` on a freshly built model and fresh callbacks, as a new process would. It resumes from the
last finished epoch and must end with exactly the weights, history and step history of a run that
was never interrupted. Then: checkpoints of another run, damaged checkpoints, a full disk, Ctrl-C.
"""

import errno
import struct
import warnings
import zipfile

import numpy as np
import pytest
import torch

from thermo import actcool, apt, l2, train
from thermo.data import ArrayDataset
from thermo.tempbalance import SpectralNormRegularizer, TempBalance

STEPS_PER_EPOCH = 8  # 256 examples in batches of 32
STOP_AT = 21  # the 22nd step, in the third epoch: resume from step 16 (not a multiple of 3)


def blobs(n=256, seed=0, classes=3):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, classes, (n,), generator=g)
    x = torch.randn(n, 1, 1, 8, generator=g) + y.view(-1, 1, 1, 1).float()
    return ArrayDataset(x, y, "blobs", "train" if seed == 0 else "test", classes)


def mlp(seed=0, width=64):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(8, width), torch.nn.ReLU(), torch.nn.Linear(width, width),
        torch.nn.ReLU(), torch.nn.Dropout(0.1), torch.nn.Linear(width, width), torch.nn.ReLU(),
        torch.nn.Linear(width, width), torch.nn.ReLU(), torch.nn.Linear(width, 3))  # three tuned layers


class StopAt(train.Callback):
    """Ctrl-C before global step ``at + 1`` (stateless: the same callback runs in every run)."""

    def __init__(self, at=None):
        self.at = at

    def on_batch_start(self, state, batch):
        if state.step == self.at:
            raise KeyboardInterrupt("simulated kill")


def with_tempbalance(every):
    def make(model, cfg):
        tb = TempBalance(model, 0.6, 1.4, every=every)
        return [tb], train.make_optimizer(tb.param_groups(cfg.weight_decay), cfg)

    return make


def with_snr(model, cfg):
    return [SpectralNormRegularizer(model, 0.05, seed=5)], None


def with_tempbalance_and_snr(model, cfg):
    tb = TempBalance(model, 0.6, 1.4, every=3)
    return [tb, SpectralNormRegularizer(model, 0.05)], train.make_optimizer(tb.param_groups(cfg.weight_decay), cfg)


def with_apt_probe(model, cfg):
    return [apt.APTProbe(every=3, granularity="neuron"), apt.APTProbe(every=5, key="apt5")], None


def with_actcool(model, cfg):
    total = cfg.epochs * STEPS_PER_EPOCH
    return [actcool.ActCoolLR(actcool.linear_target(1.0, total), lr_init=0.05, every=3,
                              lr_grid=np.geomspace(1e-3, 10.0, 9))], None


def with_autol2(model, cfg):
    return [l2.AutoL2(l2=0.1, every=3)], None


CALLBACKS = {
    "tempbalance-per-epoch": with_tempbalance("epoch"),
    "tempbalance-every-3-steps": with_tempbalance(3),
    "snr": with_snr,
    "tempbalance-and-snr": with_tempbalance_and_snr,
    "apt-probe": with_apt_probe,
    "actcool": with_actcool,
    "autol2": with_autol2,
}


def config(**kw):
    return train.TrainConfig(**{"epochs": 4, "lr": 0.05, "batch_size": 32, "seed": 3, "weight_decay": 1e-4,
                                "log_lr_steps": True, "eval_steps": (5, 13, 19, 27), **kw})


def run(make, seed=0, stop_at=None, run_id=None, cfg=None, **kw):
    cfg = cfg or config()
    model = mlp(seed)
    callbacks, optimizer = make(model, cfg)
    res = train.fit(model, blobs(), blobs(128, seed=1), cfg, callbacks=[*callbacks, StopAt(stop_at)],
                    optimizer=optimizer, run_id=run_id, progress=False, **kw)
    return model, res


def assert_same_run(model, res, ref_model, ref):
    assert res.status == ref.status == "ok"
    assert res.history == ref.history
    assert res.step_history == ref.step_history
    for (name, a), b in zip(model.state_dict().items(), ref_model.state_dict().values()):
        assert torch.equal(a, b), name


@pytest.fixture
def ckpt_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("THERMO_CHECKPOINTS", str(tmp_path / "ckpt"))
    return tmp_path / "ckpt"


@pytest.mark.parametrize("name", list(CALLBACKS))
def test_resume_mid_epoch_ends_exactly_like_an_uninterrupted_run(ckpt_dir, name):
    make = CALLBACKS[name]
    ref_model, ref = run(make)
    with pytest.raises(KeyboardInterrupt):
        run(make, stop_at=STOP_AT, run_id="cut")
    assert (ckpt_dir / "cut" / "last.pt").exists()
    model, res = run(make, seed=99, run_id="cut")  # other initial weights: the checkpoint wins
    assert res.resumed_from_epoch == STOP_AT // STEPS_PER_EPOCH
    assert_same_run(model, res, ref_model, ref)
    assert not (ckpt_dir / "cut" / "last.pt").exists()


def plain(model, cfg):
    return [], None


def checkpoint_warnings(record):
    return [str(w.message) for w in record if "checkpoint" in str(w.message)]


def test_callback_states_are_saved_by_key_not_by_place_in_the_list(ckpt_dir):
    ref_model, ref = run(with_tempbalance_and_snr)
    with pytest.raises(KeyboardInterrupt):
        run(with_tempbalance_and_snr, stop_at=STOP_AT, run_id="cut")
    saved = train.read_checkpoint(ckpt_dir / "cut" / "last.pt")
    assert set(saved["callbacks"]) == {"TempBalance:0", "SpectralNormRegularizer:0", "StopAt:0"}

    def reordered(model, cfg):
        (tb, snr), opt = with_tempbalance_and_snr(model, cfg)
        return [snr, tb], opt

    model, res = run(reordered, seed=99, run_id="cut")
    assert res.resumed_from_epoch == 2
    assert_same_run(model, res, ref_model, ref)


def test_a_callback_without_saved_state_is_a_mismatch(ckpt_dir):
    with pytest.raises(KeyboardInterrupt):
        run(with_autol2, stop_at=STOP_AT, run_id="cut")

    def more(model, cfg):
        return [l2.AutoL2(l2=0.1, every=3), apt.APTProbe(every=3)], None

    ref_model, ref = run(more)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        model, res = run(more, seed=0, run_id="cut")
    [message] = checkpoint_warnings(record)
    assert str(ckpt_dir / "cut" / "last.pt") in message and "no saved state for APTProbe:0" in message
    assert res.resumed_from_epoch == 0
    assert_same_run(model, res, ref_model, ref)


def relabelled():
    ds = blobs()
    return ArrayDataset(ds.x, (ds.y + 1) % 3, ds.name, ds.split, 3)


@pytest.mark.parametrize("part,change", [
    ("config", {"cfg": config(lr=0.06)}),
    ("model", {"width": 32}),
    ("training data", {"train_set": relabelled()}),
    ("test data", {"test_set": blobs(96, seed=1)}),
])
def test_a_checkpoint_of_another_run_restarts_from_scratch_with_one_warning(ckpt_dir, part, change):
    with pytest.raises(KeyboardInterrupt):
        run(plain, stop_at=STOP_AT, run_id="cut")
    cfg = change.get("cfg", config())
    model = mlp(0, width=change.get("width", 64))
    args = (change.get("train_set", blobs()), change.get("test_set", blobs(128, seed=1)), cfg)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        res = train.fit(model, *args, run_id="cut", progress=False)
    [message] = checkpoint_warnings(record)
    assert message == (f"the checkpoint {ckpt_dir / 'cut' / 'last.pt'} belongs to another run (different {part}); "
                       "training starts from scratch")
    assert res.resumed_from_epoch == 0 and res.epochs_done == 4
    ref = train.fit(mlp(0, width=change.get("width", 64)), *args, progress=False)
    assert res.history == ref.history


def overwrite_weight_bytes(path):
    """Change bytes of the first tensor stored in the zip, leaving the zip itself valid."""
    with zipfile.ZipFile(path) as z:
        info = next(i for i in z.infolist() if "/data/" in i.filename and i.file_size >= 64)
    with open(path, "r+b") as fh:
        fh.seek(info.header_offset + 26)
        name_len, extra_len = struct.unpack("<HH", fh.read(4))
        fh.seek(info.header_offset + 30 + name_len + extra_len + 8)
        fh.write(b"\x7f" * 16)
    with zipfile.ZipFile(path) as z:
        assert z.namelist()  # still a zip
    torch.load(path, weights_only=True)  # and torch reads it without complaint


def truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def not_a_zip(path):
    path.write_text("this is not a checkpoint\n")


@pytest.mark.parametrize("damage", [overwrite_weight_bytes, truncate, not_a_zip])
def test_a_damaged_checkpoint_is_discarded_with_one_warning(ckpt_dir, damage):
    ref_model, ref = run(plain)
    with pytest.raises(KeyboardInterrupt):
        run(plain, stop_at=STOP_AT, run_id="cut")
    path = ckpt_dir / "cut" / "last.pt"
    damage(path)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        model, res = run(plain, run_id="cut")
    [message] = checkpoint_warnings(record)
    assert message.startswith(f"the checkpoint {path} is damaged (")
    assert message.endswith(") and was deleted; training starts from scratch") and "\n" not in message
    assert res.resumed_from_epoch == 0
    assert_same_run(model, res, ref_model, ref)


def test_an_unsafe_checkpoint_is_not_unpickled_but_discarded(ckpt_dir, tmp_path, monkeypatch):
    class Evil:
        def __reduce__(self):
            return (open, (str(tmp_path / "pwned"), "w"))

    path = ckpt_dir / "evil" / "last.pt"
    path.parent.mkdir(parents=True)
    torch.save({"format": 2, "state": Evil()}, path)
    with pytest.warns(UserWarning, match="is damaged .unreadable: UnpicklingError"):
        _, res = run(plain, run_id="evil")
    assert res.status == "ok" and not (tmp_path / "pwned").exists()


def partial_write_then(exc, calls_before=0):
    real, calls = torch.save, [0]

    def save(obj, f, *args, **kwargs):
        calls[0] += 1
        if calls[0] <= calls_before:
            return real(obj, f, *args, **kwargs)
        f.write(b"PK\x03\x04 half a checkpoint")
        raise exc

    return save


def test_a_full_disk_warns_once_and_training_goes_on(ckpt_dir, monkeypatch):
    ref_model, ref = run(plain)
    monkeypatch.setattr(torch, "save", partial_write_then(OSError(errno.ENOSPC, "No space left on device")))
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        model, res = run(plain, run_id="full", keep_checkpoint=True)
    [message] = checkpoint_warnings(record)
    assert message == (f"could not write the checkpoint {ckpt_dir / 'full' / 'last.pt'} (No space left on device); "
                       "training goes on without it")
    assert_same_run(model, res, ref_model, ref)
    assert [p for p in ckpt_dir.rglob("*") if p.is_file()] == []  # no temporary file left behind


def test_ctrl_c_while_writing_keeps_the_last_finished_checkpoint(ckpt_dir, monkeypatch):
    ref_model, ref = run(plain)
    monkeypatch.setattr(torch, "save", partial_write_then(KeyboardInterrupt(), calls_before=1))
    with pytest.raises(KeyboardInterrupt):
        run(plain, run_id="cut")
    monkeypatch.undo()
    monkeypatch.setenv("THERMO_CHECKPOINTS", str(ckpt_dir))
    files = [p for p in ckpt_dir.rglob("*") if p.is_file()]
    assert files == [ckpt_dir / "cut" / "last.pt"]  # no temporary file
    assert train.read_checkpoint(files[0])["epoch"] == 1  # the first epoch's checkpoint, whole
    model, res = run(plain, seed=99, run_id="cut")
    assert res.resumed_from_epoch == 1
    assert_same_run(model, res, ref_model, ref)

"""Faults survived: kill -9 during training and during a results write, unsafe checkpoints."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from thermo import results, train
from thermo.errors import CorruptRecord

HELPERS = Path(__file__).parent / "helpers"


def start(script, *args, env):
    return subprocess.Popen([sys.executable, str(HELPERS / script), *map(str, args)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.fixture
def env(tmp_path):
    return {**os.environ, "THERMO_CHECKPOINTS": str(tmp_path / "ckpt"), "THERMO_PROGRESS": "0"}


@pytest.mark.parametrize("mode", ["plain", "tempbalance"])
def test_kill_9_mid_epoch_then_resume_matches_uninterrupted_run(tmp_path, env, mode):
    ref = start("train_job.py", "ref", tmp_path / "ref", 0.0, mode, env=env)
    assert ref.wait(timeout=120) == 0, ref.stderr.read().decode()

    ckpt = tmp_path / "ckpt" / "cut" / "last.pt"
    job = start("train_job.py", "cut", tmp_path / "cut", 0.01, mode, env=env)  # 16 steps x 10 ms per epoch
    deadline = time.time() + 120
    while not ckpt.exists():  # wait for the first finished epoch
        assert job.poll() is None and time.time() < deadline, "training ended before it could be killed"
        time.sleep(0.01)
    time.sleep(0.08)  # into the middle of the next epoch
    job.send_signal(signal.SIGKILL)
    job.wait()
    assert job.returncode == -signal.SIGKILL
    assert not (tmp_path / "cut.json").exists()
    epochs_before = train.read_checkpoint(ckpt)["epoch"]  # whole: the kill never leaves half a checkpoint
    assert 1 <= epochs_before < 5

    again = start("train_job.py", "cut", tmp_path / "cut", 0.0, mode, env=env)
    assert again.wait(timeout=120) == 0, again.stderr.read().decode()
    got, want = json.loads((tmp_path / "cut.json").read_text()), json.loads((tmp_path / "ref.json").read_text())
    assert got["resumed_from_epoch"] == epochs_before
    assert got["history"] == want["history"]  # exactly the same metrics, epoch by epoch
    w_got = torch.load(str(tmp_path / "cut") + ".pt", weights_only=True)["weights"]
    w_want = torch.load(str(tmp_path / "ref") + ".pt", weights_only=True)["weights"]
    assert all(torch.equal(w_got[k], w_want[k]) for k in w_want)


def test_kill_9_during_results_writes_never_leaves_a_partial_record(tmp_path, env):
    store = results.Store(tmp_path / "store")
    path = store.path("exp-w", 1, {"k": 1})
    for trial in range(4):
        job = start("write_loop.py", store.root, env=env)
        deadline = time.time() + 60
        while not path.exists():
            assert job.poll() is None and time.time() < deadline, job.stderr.read().decode()
            time.sleep(0.01)
        time.sleep(0.3 + 0.17 * trial)
        job.send_signal(signal.SIGKILL)
        job.wait()
        rec = store.read(path, "exp-w", 1)  # parses: a whole record, old or new
        n = len(rec["data"]["payload"])
        assert n == (200_000 if rec["data"]["i"] % 2 else 1_000)
    assert [p.name for p in path.parent.glob("*.json")] == [path.name]


def test_truncated_record_is_detected(tmp_path):
    store = results.Store(tmp_path)
    rec = results.cached("exp-t", 1, {"a": 1}, lambda c: {"x": list(range(100))}, "quick", store=store)
    path = store.path("exp-t", 1, {"a": 1})
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    with pytest.raises(CorruptRecord, match="not valid JSON"):
        store.read(path)
    with pytest.warns(UserWarning, match="corrupt"):
        assert store.load("exp-t", 1, {"a": 1}) is None
    with pytest.warns(UserWarning, match="corrupt"):
        again = results.cached("exp-t", 1, {"a": 1}, lambda c: {"x": list(range(100))}, "quick", store=store)
    assert again["data"] == rec["data"]
    assert store.read(path)["data"] == rec["data"]  # the record was rewritten whole


class Evil:
    def __reduce__(self):
        return (os.system, ("touch pwned-by-checkpoint",))


def test_checkpoints_are_loaded_without_unpickling_code(tmp_path, monkeypatch):
    """A checkpoint whose pickle would run code is refused by ``weights_only`` loading: it is
    discarded as damaged (one warning naming it) and training starts from scratch."""
    monkeypatch.setenv("THERMO_CHECKPOINTS", str(tmp_path / "ckpt"))
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "ckpt" / "evil" / "last.pt"
    path.parent.mkdir(parents=True)
    torch.save({"fingerprint": Evil()}, path)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2, 2))
    from thermo.data import ArrayDataset

    ds = ArrayDataset(torch.zeros(4, 1, 1, 2), torch.zeros(4, dtype=torch.long), "z", "train", 2)
    with pytest.warns(UserWarning, match=f"the checkpoint {path} is damaged .unreadable: UnpicklingError: "
                                         "Weights only load failed"):
        res = train.fit(model, ds, ds, train.TrainConfig(epochs=1, lr=0.1), run_id="evil", progress=False)
    assert res.status == "ok" and res.resumed_from_epoch == 0
    assert not (tmp_path / "pwned-by-checkpoint").exists()

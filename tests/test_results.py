import json
import os

import numpy as np
import pytest

from thermo import results
from thermo.errors import ConfigError, CorruptRecord


def compute_square(config):
    x = np.arange(config["n"], dtype=float)
    return {"x": x, "y": x**2, "nan": float("nan")}


def test_round_trip_and_provenance(tmp_root):
    store = results.Store(tmp_root / "results")
    rec = results.cached("exp-a", 1, {"n": 4, "b": "z"}, compute_square, "quick", store=store)
    assert rec["status"] == "ok"
    assert rec["data"]["y"] == [0.0, 1.0, 4.0, 9.0]
    assert rec["data"]["nan"] is None  # non-finite floats are stored as null, never NaN
    prov = rec["provenance"]
    assert {"git_commit", "git_dirty", "packages", "cpu", "started", "ended", "wall_seconds"} <= set(prov)
    assert prov["profile"] == "quick"
    path = store.path("exp-a", 1, {"b": "z", "n": 4})  # key order does not matter
    assert path.exists()
    assert json.loads(path.read_text()) == rec
    calls = []
    again = results.cached("exp-a", 1, {"n": 4, "b": "z"}, lambda c: calls.append(c) or {}, "quick", store=store)
    assert again == rec and calls == []  # loaded, not recomputed


def test_hash_changes_with_version_and_config():
    h = results.config_hash("e", 1, {"a": 1})
    assert h == results.config_hash("e", 1, {"a": 1})
    assert len({h, results.config_hash("e", 2, {"a": 1}), results.config_hash("e", 1, {"a": 2}),
                results.config_hash("f", 1, {"a": 1})}) == 4


def test_atomic_write_keeps_old_file_when_interrupted(tmp_path, monkeypatch):
    target = tmp_path / "r.json"
    results.atomic_write_text(target, '{"old": true}')

    def boom(src, dst):
        raise KeyboardInterrupt("killed during the write")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        results.atomic_write_text(target, '{"new": true}' * 1000)
    assert target.read_text() == '{"old": true}'
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temporary file left behind


@pytest.mark.parametrize("content", ["", '{"experiment": "exp-a"', "[1, 2]", '{"experiment": "exp-a"}'])
def test_corrupt_record_is_reported_and_recomputed(tmp_root, content):
    store = results.Store(tmp_root / "results")
    path = store.path("exp-a", 1, {"n": 3})
    path.parent.mkdir(parents=True)
    path.write_text(content)
    with pytest.warns(UserWarning, match="corrupt"):
        rec = results.cached("exp-a", 1, {"n": 3}, compute_square, "quick", store=store)
    assert rec["data"]["y"] == [0.0, 1.0, 4.0]
    assert store.read(path)["status"] == "ok"


def test_record_from_another_version_is_rejected(tmp_root):
    store = results.Store(tmp_root / "results")
    rec = results.cached("exp-a", 1, {"n": 3}, compute_square, "quick", store=store)
    path = store.path("exp-a", 1, {"n": 3})
    with pytest.raises(CorruptRecord, match="version 1 .* version 2"):
        store.read(path, "exp-a", 2)
    with pytest.raises(CorruptRecord, match="holds experiment 'exp-a', expected 'exp-b'"):
        store.read(path, "exp-b")
    assert rec["version"] == 1


def test_failed_run_is_stored_then_recomputed(tmp_root):
    store = results.Store(tmp_root / "results")

    def fails(config):
        raise RuntimeError("out of memory")

    with pytest.raises(RuntimeError):
        results.cached("exp-f", 1, {"n": 2}, fails, "quick", store=store)
    stored = store.read(store.path("exp-f", 1, {"n": 2}))
    assert stored["status"] == "failed" and "out of memory" in stored["reason"]
    rec = results.cached("exp-f", 1, {"n": 2}, compute_square, "quick", store=store)
    assert rec["status"] == "ok"


def test_diverged_status_is_kept(tmp_root):
    store = results.Store(tmp_root / "results")
    rec = results.cached("exp-d", 1, {"lr": 10.0},
                         lambda c: {"status": "diverged", "reason": "step 3", "loss": [1.0, float("inf")]},
                         "quick", store=store)
    assert rec["status"] == "diverged" and rec["reason"] == "step 3" and rec["data"]["loss"] == [1.0, None]
    again = results.cached("exp-d", 1, {"lr": 10.0}, lambda c: pytest.fail("recomputed"), "quick", store=store)
    assert again["status"] == "diverged"


def test_smoke_profile_never_writes_to_results(tmp_root):
    assert results.Store.for_profile("smoke").root != tmp_root / "results"
    assert results.Store.for_profile("quick").root == tmp_root / "results"


def test_unknown_status_rejected():
    with pytest.raises(ConfigError, match="status must be one of"):
        results.make_record("e", 1, {}, {}, "maybe", None, {})


def test_unstorable_value_is_a_clear_error():
    with pytest.raises(TypeError, match="cannot store a object"):
        results.to_jsonable({"x": object()})

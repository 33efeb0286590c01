"""Sweeps: divergence does not stop them, and serial, parallel and submitit runs agree. The swept
experiment is a reader's own (``tests/helpers/toy_sweep.py``, found through
``THERMO_EXPERIMENT_MODULES`` by this process and by the sweep's workers)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from thermo import catalog, experiments, sweep
from thermo.errors import ConfigError
from thermo.results import Store

HELPERS = str(Path(__file__).resolve().parent / "helpers")
TOY = "toy-lr-sweep"


@pytest.fixture(autouse=True)
def toy_experiment(monkeypatch):
    monkeypatch.setenv("THERMO_EXPERIMENT_MODULES", "toy_sweep")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [HELPERS, os.environ.get("PYTHONPATH")])))
    monkeypatch.syspath_prepend(HELPERS)
    catalog.load_all()
    yield
    experiments.REGISTRY.pop(TOY, None)  # later tests see only the book's experiments
    sys.modules.pop("toy_sweep", None)  # so the next test imports (and registers) it again


def comparable(store):
    return sorted((r["config_hash"], r["status"], repr(r["data"].get("history"))) for r in store.records(TOY))


@pytest.fixture
def serial_store(tmp_path, toy_experiment):
    store = Store(tmp_path / "serial")
    summary = sweep.run_sweep(TOY, "smoke", store=store, progress=False)
    assert (summary.counts["ok"], summary.counts["diverged"], summary.counts["failed"]) == (2, 1, 0)
    return store


def test_a_diverging_point_does_not_stop_the_sweep(serial_store):
    recs = serial_store.records(TOY)
    div = [r for r in recs if r["status"] == "diverged"]
    assert len(div) == 1 and div[0]["config"]["lr"] == 1000.0
    assert div[0]["data"]["diverged_at_step"] is not None and div[0]["reason"].startswith("non-finite loss at step ")
    again = sweep.run_sweep(TOY, "smoke", store=serial_store, progress=False)
    assert again.counts["cached"] == 3 and again.counts["ok"] == 0  # nothing recomputed


def test_shards_split_an_experiment_without_overlap(serial_store, tmp_path):
    configs = [{"i": i} for i in range(7)]
    parts = [sweep.shard_of(configs, (k, 3)) for k in (1, 2, 3)]
    assert [c["i"] for c in parts[0]] == [0, 3, 6] and [c["i"] for c in parts[2]] == [2, 5]
    assert sorted(c["i"] for p in parts for c in p) == list(range(7))
    assert sweep.parse_shard(" 2 / 5 ") == (2, 5)
    # two stores, one shard each: together they hold exactly the serial run's records
    stores = [Store(tmp_path / f"shard{k}") for k in (1, 2)]
    counts = [sweep.run_sweep(TOY, "smoke", store=s, progress=False, shard=(k, 2)).counts
              for k, s in zip((1, 2), stores)]
    assert sum(c["ok"] + c["diverged"] for c in counts) == 3 and min(c["ok"] + c["diverged"] for c in counts) >= 1
    merged = sorted(x for s in stores for x in comparable(s))
    assert merged == comparable(serial_store)


def test_an_unknown_experiment_module_is_one_clear_error(monkeypatch):
    monkeypatch.setenv("THERMO_EXPERIMENT_MODULES", "toy_sweep, no_such_module")
    with pytest.raises(ConfigError, match="THERMO_EXPERIMENT_MODULES names 'no_such_module', which cannot be"):
        catalog.load_all()


@pytest.mark.slow
def test_parallel_and_submitit_runs_equal_the_serial_run(serial_store, tmp_path):
    par = Store(tmp_path / "parallel")
    s = sweep.run_sweep(TOY, "smoke", jobs=2, store=par, progress=False)
    assert s.counts["failed"] == 0
    assert comparable(par) == comparable(serial_store)
    sub = Store(tmp_path / "submitit")
    s = sweep.run_sweep(TOY, "smoke", jobs=2, executor="submitit-local", store=sub, progress=False)
    assert s.counts["failed"] == 0
    assert comparable(sub) == comparable(serial_store)


def test_a_failing_point_is_stored_as_failed_and_the_sweep_goes_on(tmp_path, monkeypatch):
    exp = catalog.experiment(TOY)
    real = exp.compute

    def flaky(config):
        if config["lr"] == 0.3:
            raise RuntimeError("CUDA out of memory (simulated)")
        return real(config)

    monkeypatch.setitem(experiments.REGISTRY, TOY, experiments.Experiment(
        exp.id, exp.version, exp.configs, flaky, exp.title, exp.check))
    store = Store(tmp_path)
    s = sweep.run_sweep(TOY, "smoke", store=store, progress=False)
    assert (s.counts["ok"], s.counts["diverged"], s.counts["failed"]) == (1, 1, 1)
    assert "out of memory" in s.failures[0][1]


def test_cli_list_and_run(tmp_path):
    (tmp_path / "_config.yml").write_text("title: t\n")
    env = {"THERMO_ROOT": str(tmp_path), "THERMO_PROGRESS": "0", "PATH": "/usr/bin:/bin",
           "THERMO_EXPERIMENT_MODULES": "toy_sweep", "PYTHONPATH": HELPERS}
    run = subprocess.run([sys.executable, "-m", "thermo", "run", "tb-s-vs-alpha", "--profile", "smoke"],
                         env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "tb-s-vs-alpha [smoke]: 1 ok, 0 diverged, 0 failed, 0 cached" in run.stdout
    listed = subprocess.run([sys.executable, "-m", "thermo", "list", "--profile", "smoke"],
                            env=env, capture_output=True, text=True, timeout=300)
    assert "tb-s-vs-alpha v1: 1 points, 1 cached" in listed.stdout
    assert "toy-lr-sweep v1: 3 points, 0 cached" in listed.stdout


def test_slurm_without_a_cluster_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(sweep.shutil, "which", lambda name: None)
    with pytest.raises(ConfigError, match="needs a Slurm cluster"):
        sweep.run_sweep(TOY, "smoke", executor="slurm", store=Store("/nonexistent"), progress=False,
                        recompute=True)


def test_dependency_order_puts_needed_experiments_first(monkeypatch):
    def exp(i, needs=()):
        return experiments.Experiment(i, 1, lambda p: [], lambda c: {}, i, needs=needs)

    for e in (exp("zz-a"), exp("zz-b", ("zz-c",)), exp("zz-c", ("zz-a",)), exp("zz-d", ("zz-b",))):
        monkeypatch.setitem(experiments.REGISTRY, e.id, e)
    assert experiments.in_dependency_order(["zz-b", "zz-c", "zz-d", "zz-a"]) == ["zz-a", "zz-c", "zz-b", "zz-d"]
    assert experiments.in_dependency_order(["zz-d", "zz-b"]) == ["zz-b", "zz-d"]  # needs outside the list: ignored
    assert experiments.in_dependency_order(["tc-fig6-beta-sweep", "tc-fig6-tune"]) == ["tc-fig6-tune",
                                                                                       "tc-fig6-beta-sweep"]
    monkeypatch.setitem(experiments.REGISTRY, "zz-a", exp("zz-a", ("zz-d",)))
    with pytest.raises(ConfigError, match="cycle"):
        experiments.in_dependency_order(["zz-a", "zz-b", "zz-c", "zz-d"])


def test_cli_run_of_a_second_stage_before_its_first_is_a_clear_error(tmp_path):
    (tmp_path / "_config.yml").write_text("title: t\n")
    env = {"THERMO_ROOT": str(tmp_path), "THERMO_PROGRESS": "0", "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "-m", "thermo", "run", "tc-fig6-beta-sweep", "--profile", "smoke"],
                         env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode != 0
    assert "tc-fig6-beta-sweep is built from the results of tc-fig6-tune: run that first" in run.stdout + run.stderr

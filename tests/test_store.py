"""The results store on any machine (DESIGN.md section 4): portable keys, records found without
recompute, a store that trusts no file and no name, one lock per point, provenance you can cite."""

import json
import math
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from thermo import catalog, experiments, figures, results
from thermo.errors import ConfigError, CorruptRecord, MissingResults

ROOT = Path(__file__).resolve().parents[1]
STORE = results.Store(ROOT / "results")
COMMITTED = sorted((ROOT / "results").glob("*/*.json"))
catalog.load_all()


def _floats_moved(obj, ulps: int):
    """``obj`` with every float moved by ``ulps`` units in the last place (toward +inf if > 0)."""
    if isinstance(obj, float):
        for _ in range(abs(ulps)):
            obj = float(np.nextafter(obj, math.copysign(math.inf, ulps)))
        return obj
    if isinstance(obj, dict):
        return {k: _floats_moved(v, ulps) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_floats_moved(v, ulps) for v in obj]
    return obj


def _first_float_scaled(obj, factor):
    """``obj`` with its first non-zero float multiplied by ``factor`` (None if it has none)."""
    if isinstance(obj, float) and obj != 0.0:
        return obj * factor
    if isinstance(obj, dict):
        for k, v in obj.items():
            new = _first_float_scaled(v, factor)
            if new is not None:
                return {**obj, k: new}
    if isinstance(obj, list):
        for i, v in enumerate(obj):
            new = _first_float_scaled(v, factor)
            if new is not None:
                return [*obj[:i], new, *obj[i + 1:]]
    return None


def test_every_committed_record_is_found_under_its_key():
    """After the migration every record sits at the key of its own config (none recomputed)."""
    assert len(COMMITTED) > 500
    for path in COMMITTED:
        rec = json.loads(path.read_text())
        assert rec["config_hash"] == path.stem == results.config_hash(rec["experiment"], rec["version"], rec["config"])
        assert STORE.load(rec["experiment"], rec["version"], rec["config"]) == rec, path


def test_keys_ignore_last_bit_differences_and_see_real_changes():
    """Floats 1-2 ulp away (another CPU's np.logspace) keep the key of every committed config;
    a change in the 6th significant digit moves it."""
    changed = 0
    for path in COMMITTED:
        rec = json.loads(path.read_text())
        e, v, c = rec["experiment"], rec["version"], rec["config"]
        for ulps in (-2, -1, 1, 2):
            assert results.config_hash(e, v, _floats_moved(c, ulps)) == rec["config_hash"], (path, ulps)
        moved = _first_float_scaled(c, 1 + 3e-6)
        if moved is not None:
            assert results.config_hash(e, v, moved) != rec["config_hash"], path
            changed += 1
    assert changed > 100


def test_logspace_on_two_cpus_gives_one_key():
    """The two values of np.logspace(-1, 0, 6)[1] seen on two CPUs (the record and AVX-512)."""
    a, b = 0.1584893192461114, 0.15848931924611143
    assert a != b and results.config_hash("x", 1, {"lr": a}) == results.config_hash("x", 1, {"lr": b})


@pytest.mark.parametrize("exp_id", sorted(experiments.REGISTRY))
def test_every_quick_record_is_tracked_by_git(exp_id):
    """A clean clone has every quick record the chapters and claims read (cached points only)."""
    tracked = subprocess.run(["git", "ls-files", "results"], cwd=ROOT, capture_output=True, text=True)
    if tracked.returncode != 0:
        pytest.skip("not a git checkout")
    tracked = set(tracked.stdout.splitlines())
    exp = experiments.get(exp_id)
    try:
        configs = exp.configs("quick")
    except MissingResults:  # a second stage whose first is still running: no point of it can be cached yet
        pytest.skip(f"{exp_id}: waits for the results it is built from")
    for cfg in configs:
        path = STORE.path(exp.id, exp.version, cfg)
        if path.exists():
            assert str(path.relative_to(ROOT)) in tracked, f"{path} is not tracked by git: git add it"


def test_the_book_build_never_computes(tmp_path, monkeypatch):
    monkeypatch.setenv("THERMO_COMPUTE", "0")
    calls = []
    with pytest.raises(MissingResults, match=r"exp-a \[quick\]: no cached record .* run `make results`"):
        results.cached("exp-a", 1, {"n": 1}, calls.append, "quick", store=results.Store(tmp_path))
    assert calls == [] and not list(tmp_path.rglob("*.json"))
    monkeypatch.setenv("THERMO_COMPUTE", "1")
    results.cached("exp-a", 1, {"n": 1}, lambda c: {"x": 1}, "quick", store=results.Store(tmp_path))
    monkeypatch.setenv("THERMO_COMPUTE", "0")  # a cached record is still read
    again = results.cached("exp-a", 1, {"n": 1}, calls.append, "quick", store=results.Store(tmp_path))
    assert again["data"] == {"x": 1}


def test_make_book_sets_the_no_compute_switch():
    book = next(line for line in (ROOT / "Makefile").read_text().splitlines() if "$(JB) build . $(JBFLAGS)" in line
                and "smoke" not in line)
    assert "THERMO_PROFILE=quick THERMO_COMPUTE=0" in book


# --- a store that trusts no file and no name -------------------------------------------------

def _saved(tmp_path, config=None):
    store = results.Store(tmp_path)
    config = config or {"n": 1}
    results.cached("exp-a", 1, config, lambda c: {"x": 1}, "quick", store=store)
    return store, store.path("exp-a", 1, config)


def _recomputed(store, path, config=None):
    calls = []
    with pytest.warns(UserWarning, match=f"corrupt.*{path.name}"):
        rec = results.cached("exp-a", 1, config or {"n": 1}, lambda c: calls.append(c) or {"x": 2}, "quick",
                             store=store)
    assert calls and rec["data"] == {"x": 2}


@pytest.mark.parametrize("edit", [
    lambda r: {**r, "data": None},
    lambda r: {**r, "data": [1, 2]},
    lambda r: {**r, "version": "1"},
    lambda r: {**r, "version": True},
    lambda r: {**r, "config": [1]},
    lambda r: {**r, "config": {"n": 2}},  # another point's record under this key
    lambda r: {**r, "reason": 3},
    lambda r: {**r, "provenance": None},
    lambda r: {**r, "experiment": "../x"},
    lambda r: {**r, "config_hash": "../../etc"},
], ids=["data null", "data list", "version str", "version bool", "config list", "other config", "reason int",
        "no provenance", "bad experiment", "bad hash"])
def test_a_record_that_breaks_the_schema_is_corrupt_and_recomputed(tmp_path, edit):
    store, path = _saved(tmp_path)
    path.write_text(json.dumps(edit(json.loads(path.read_text()))))
    _recomputed(store, path)


def test_a_deeply_nested_record_is_corrupt_not_a_recursion_error(tmp_path):
    store, path = _saved(tmp_path)
    rec = json.loads(path.read_text())
    path.write_text(json.dumps({**rec, "data": {"x": 1}})[:-1] + ', "deep": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(CorruptRecord, match="nested deeper than 40 levels"):
        store.read(path)
    _recomputed(store, path)
    assert store.records("exp-a")


def test_a_fifo_is_not_read_and_does_not_hang(tmp_path):
    store, path = _saved(tmp_path)
    path.unlink()
    os.mkfifo(path)
    with pytest.raises(CorruptRecord, match="not a regular file"):
        store.read(path)
    with pytest.warns(UserWarning, match="not a regular file"):
        assert store.records("exp-a") == []


def test_thermo_list_does_not_hang_on_a_fifo(tmp_path):
    (tmp_path / "_config.yml").write_text("title: t\n")
    exp = experiments.get("tb-s-vs-alpha")
    path = results.Store(tmp_path / "_build" / "smoke-results").path(exp.id, exp.version, exp.configs("smoke")[0])
    path.parent.mkdir(parents=True)
    os.mkfifo(path)
    out = subprocess.run([sys.executable, "-m", "thermo", "list", "--profile", "smoke"], capture_output=True, text=True,
                         env={**os.environ, "THERMO_ROOT": str(tmp_path)}, timeout=120)
    assert out.returncode == 0 and "tb-s-vs-alpha v1: 1 points, 0 cached" in out.stdout
    assert "not a regular file" in out.stderr


def test_a_symlink_is_not_followed(tmp_path):
    store, path = _saved(tmp_path)
    outside = tmp_path.parent / f"{tmp_path.name}-outside.json"
    outside.write_text(path.read_text())
    path.unlink()
    path.symlink_to(outside)
    _recomputed(store, path)


@pytest.mark.parametrize("experiment,digest", [("../escape", "0" * 16), ("exp-a", "../../../etc/pw"),
                                               ("exp-a\n", "0" * 16), ("exp-a", "0" * 15 + "g")])
def test_store_paths_come_only_from_valid_names(tmp_path, experiment, digest):
    with pytest.raises(ConfigError):
        results.Store(tmp_path).path_for_hash(experiment, digest)


def test_a_folder_that_links_outside_the_store_is_refused(tmp_path):
    (tmp_path / "store").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "store" / "exp-a").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(ConfigError, match="resolves outside the results store"):
        results.Store(tmp_path / "store").path_for_hash("exp-a", "0" * 16)


def test_a_figure_id_must_match_whole():
    with pytest.raises(ConfigError, match="must be lower-case words"):
        figures.save(None, "tb-fig9\n", [], "x")


# --- one lock per point ----------------------------------------------------------------------

def _slow_compute(config):
    with open(config["log"], "a") as fh:
        fh.write(f"{os.getpid()}\n")
    time.sleep(1.0)
    return {"x": 1}


def _cached_in_child(root):
    log = str(Path(root) / "calls.log")
    results.cached("exp-lock", 1, {"log": log}, _slow_compute, "quick", store=results.Store(Path(root) / "s"))


def test_two_processes_never_compute_the_same_point_twice(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_cached_in_child, args=(str(tmp_path),)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    assert len((tmp_path / "calls.log").read_text().split()) == 1


# --- provenance ------------------------------------------------------------------------------

def test_a_record_carries_the_source_fingerprint(tmp_path):
    _, path = _saved(tmp_path)
    prov = json.loads(path.read_text())["provenance"]
    assert prov["source"] == results.git_state()["source"] and len(prov["source"]) == 16  # taken once per process


def test_the_source_fingerprint_changes_with_any_library_file():
    files = {"a.py": b"x = 1\n", "papers/b.py": b"y = 2\n"}
    base = results.fingerprint_sources(files)
    assert base == results.fingerprint_sources(dict(reversed(list(files.items()))))  # order does not matter
    assert base != results.fingerprint_sources({**files, "a.py": b"x = 2\n"})
    assert base != results.fingerprint_sources({**files, "c.py": b""})


def test_the_fingerprint_of_a_commit_equals_that_of_its_checkout():
    head = results.commit_fingerprint("HEAD")
    if head is None:
        pytest.skip("not a git checkout")
    if results.library_dirty():
        pytest.skip("lib/thermo has uncommitted changes")
    assert head == results.source_fingerprint()


def test_clean_records_name_their_source():
    clean = [json.loads(p.read_text())["provenance"] for p in COMMITTED]
    clean = [p for p in clean if p.get("git_dirty") is False]
    assert clean and all(len(p.get("source", "")) == 16 for p in clean)


def test_a_caption_names_the_newest_commit_and_counts_versions():
    def rec(commit, started, dirty=False):
        return {"provenance": {"git_commit": commit * 40, "git_dirty": dirty, "started": started,
                               "source": "ab" * 8}}

    recs = [rec("a", "2026-01-01T00:00:00+00:00"), rec("b", "2026-03-01T00:00:00+00:00"),
            rec("c", "2026-02-01T00:00:00+00:00", dirty=True), rec("a", "2026-01-02T00:00:00+00:00")]
    assert results.code_summary(recs) == "bbbbbbbbbb (newest of 3 code versions; the manifest lists them)"
    assert results.code_summary(recs[:1]) == "aaaaaaaaaa"
    assert results.code_version(recs[2]["provenance"]) == "cccccccccc+dirty (source abababab)"


def test_a_quick_run_refuses_a_dirty_library(monkeypatch, capsys):
    from thermo import __main__ as cli

    monkeypatch.setattr(cli, "library_dirty", lambda: True)
    monkeypatch.setattr(cli, "run_sweep", lambda *a, **k: pytest.fail("it ran"))
    assert cli.main(["run", "tb-s-vs-alpha", "--profile", "quick"]) == 2
    assert "lib/thermo has uncommitted changes" in capsys.readouterr().err


def test_ctrl_c_ends_a_run_with_one_line_and_code_130(monkeypatch, capsys):
    from thermo import __main__ as cli

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt("tb-s-vs-alpha [smoke]: 1 ok, 0 diverged, 0 failed, 0 cached")

    monkeypatch.setattr(cli, "run_sweep", interrupted)
    assert cli.main(["run", "tb-s-vs-alpha", "--profile", "smoke"]) == 130
    err = capsys.readouterr().err
    assert err == ("interrupted (tb-s-vs-alpha [smoke]: 1 ok, 0 diverged, 0 failed, 0 cached): finished points are "
                   "saved; run the same command again to resume\n")


def test_a_heatmap_figure_publishes_its_cells(tmp_root):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.imshow(np.arange(6.0).reshape(2, 3))
    ax.set_yticks([0, 1], ["conv1", "conv2"])
    rec = {"experiment": "tb-x", "version": 1, "config_hash": "0" * 16, "config": {}, "status": "ok",
           "provenance": {"profile": "smoke", "git_commit": "a" * 40}}
    pub = figures.save(fig, "tb-alg1-test", rec, "A heatmap", profile="smoke")
    lines = pub.csv.read_text().splitlines()
    assert len(lines) == 7 and lines[-1].endswith(",image,2.0,conv2,5.0")  # the ticks as the reader sees them
    empty, _ = plt.subplots()
    with pytest.raises(ConfigError, match="draws no line, scatter, bar or image"):
        figures.save(empty, "tb-alg1-empty", rec, "Nothing", profile="smoke")
    plt.close("all")


def test_the_clone_pip_installed_from_is_found_again_after_a_restart(tmp_path, monkeypatch):
    """Colab: after a restart THERMO_ROOT is gone; pip's direct_url.json still names the clone."""
    from importlib import metadata

    from thermo import paths

    clone = tmp_path / "thermo book"
    clone.mkdir()

    class Dist:
        def read_text(self, name):
            return json.dumps({"url": clone.as_uri(), "dir_info": {}}) if name == "direct_url.json" else None

    monkeypatch.setattr(metadata, "distribution", lambda name: Dist())
    assert paths.installed_from() is None  # no book there yet
    (clone / "_config.yml").write_text("title: t\n")
    assert paths.installed_from() == clone.resolve()

"""Running the points of an experiment: serially, in parallel local processes, or through
submitit (Slurm on a cluster, its local executor elsewhere). No scheduler of our own.

Each point is one config of ``Experiment.configs(profile)``; all of them are checked before the
first one starts. Points already in the results store
(status ok or diverged) are skipped unless ``recompute``; a point that raises is stored as
``failed`` and the sweep goes on. Every path computes a point with the same function,
:func:`run_point`, so serial, parallel and executor runs give identical records. For that, every point runs with
one torch thread (CPU reductions depend on the thread count); use ``--jobs`` to use more cores.

``shard=(k, n)`` keeps every n-th point starting at the k-th (1-based, in the experiment's own
order) so that n machines or worktrees with separate stores can split one experiment without
computing a point twice; the n shards together are the whole experiment.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import re
import shutil
import signal
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from thermo import catalog
from thermo.errors import ConfigError
from thermo.paths import repo_root
from thermo.results import Store, cached

EXECUTORS = ("local", "submitit-local", "slurm")


@dataclass
class Summary:
    experiment: str
    profile: str
    counts: Counter = field(default_factory=Counter)  # ok / diverged / failed / cached
    failures: list = field(default_factory=list)  # (config hash, reason)

    def line(self) -> str:
        c = self.counts
        return (f"{self.experiment} [{self.profile}]: {c['ok']} ok, {c['diverged']} diverged, "
                f"{c['failed']} failed, {c['cached']} cached")


def run_point(experiment_id: str, config: dict, profile: str, store_root: str, recompute: bool = True) -> dict:
    """Compute one point into the store (one torch thread) and return its status.

    A top-level function so that worker processes (multiprocessing, submitit) can import it.
    The config is checked first (unknown keys, the experiment's ``check``). Without
    ``recompute``, a point another process finished meanwhile is loaded, not computed again (the
    store locks each point while it is computed).
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    os.environ.setdefault("THERMO_PROGRESS", "0")
    exp = catalog.experiment(experiment_id)
    exp.check_config(config)
    store = Store(Path(store_root))
    try:
        rec = cached(exp.id, exp.version, config, exp.compute, profile, store=store, recompute=recompute)
    except Exception as err:  # stored as failed by `cached`; report, do not stop the sweep
        return {"status": "failed", "reason": f"{type(err).__name__}: {err}",
                "config_hash": store.path(exp.id, exp.version, config).stem}
    finally:
        torch.set_num_threads(threads)
    return {"status": rec["status"], "reason": rec.get("reason"), "config_hash": rec["config_hash"]}


def _ignore_sigint() -> None:
    """Workers leave Ctrl-C to the parent, which stops them (no traceback from each worker)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _executor(kind: str, jobs: int, folder: Path):
    if kind == "local":
        return cf.ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                                      initializer=_ignore_sigint)
    import submitit

    if kind == "slurm" and shutil.which("sbatch") is None:
        raise ConfigError("--executor slurm needs a Slurm cluster (sbatch is not on PATH); "
                          "use --executor local or submitit-local here")
    ex = submitit.AutoExecutor(folder=str(folder), cluster="local" if kind == "submitit-local" else "slurm")
    ex.update_parameters(timeout_min=24 * 60)
    if kind == "slurm":
        ex.update_parameters(slurm_array_parallelism=jobs, gpus_per_node=1)
    return ex


def parse_shard(shard) -> tuple[int, int]:
    """``"K/N"`` or ``(K, N)`` (1 <= K <= N) as ``(K, N)``; anything else is one ``ConfigError``."""
    text = f"{shard[0]}/{shard[1]}" if isinstance(shard, tuple) and len(shard) == 2 else str(shard)
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise ConfigError(f"--shard must be K/N with 1 <= K <= N (e.g. 1/2), got {text!r}")
    return int(m.group(1)), int(m.group(2))


def shard_of(configs: list, shard) -> list:
    """The points of ``configs`` that shard ``(k, n)`` (or ``"k/n"``) runs: every n-th, starting at
    the k-th; all of them without a shard."""
    if shard is None:
        return list(configs)
    k, n = parse_shard(shard)
    return list(configs)[k - 1::n]


def run_sweep(experiment_id: str, profile: str, jobs: int = 1, executor: str = "local",
              recompute: bool = False, store: Store | None = None, progress: bool = True,
              shard: tuple[int, int] | None = None) -> Summary:
    """Run every point of one experiment (or of one shard of it); see the module docstring."""
    exp = catalog.experiment(experiment_id)
    if executor not in EXECUTORS:
        raise ConfigError(f"executor must be one of {EXECUTORS}, got {executor!r}")
    if not (isinstance(jobs, int) and jobs >= 1):
        raise ConfigError(f"--jobs must be a positive integer, got {jobs!r}")
    store = store or Store.for_profile(profile)
    summary = Summary(exp.id, profile)
    todo = []
    for cfg in shard_of(exp.checked_configs(profile), shard):
        rec = None if recompute else store.load(exp.id, exp.version, cfg)
        if rec is not None and rec["status"] != "failed":
            summary.counts["cached"] += 1
        else:
            todo.append(cfg)
    bar = tqdm(total=len(todo), desc=f"{exp.id} [{profile}]", disable=not progress or not todo)

    def record(result: dict) -> None:
        summary.counts[result["status"]] += 1
        if result["status"] == "failed":
            summary.failures.append((result["config_hash"], result["reason"]))
        bar.update(1)

    try:
        _run_todo(exp, todo, profile, store, jobs, executor, recompute, record)
    except KeyboardInterrupt:
        bar.close()
        raise KeyboardInterrupt(summary.line()) from None
    bar.close()
    return summary


def _run_todo(exp, todo, profile, store, jobs, executor, recompute, record) -> None:
    root = str(store.root)
    if executor == "local" and jobs == 1:
        for cfg in todo:
            record(run_point(exp.id, cfg, profile, root, recompute))
    elif executor == "local":
        pool = _executor("local", jobs, store.root)
        try:
            futures = [pool.submit(run_point, exp.id, cfg, profile, root, recompute) for cfg in todo]
            for fut in cf.as_completed(futures):
                record(fut.result())
        except KeyboardInterrupt:
            for proc in list(getattr(pool, "_processes", {}).values()):  # their checkpoints let a rerun resume
                proc.terminate()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
    elif todo:
        folder = repo_root() / "_build" / "submitit" / exp.id
        ex = _executor(executor, jobs, folder)
        n = len(todo)
        submitted = ex.map_array(run_point, [exp.id] * n, todo, [profile] * n, [root] * n, [recompute] * n)
        for job in submitted:
            record(job.result())

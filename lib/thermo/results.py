"""The results store (DESIGN.md section 4): one JSON file per (experiment, version, config).

A record is plain JSON (never pickle), written atomically (temporary file in the same folder,
``fsync``, ``os.replace``), so a killed process leaves either the old file or the new one, never
half of one. Key: ``results/<experiment>/<hash>.json`` where the hash covers the experiment id,
its version integer and the canonical (sorted-key) JSON of the config.

Record fields: ``experiment``, ``version``, ``config_hash``, ``config``, ``status`` (``ok`` /
``diverged`` / ``failed``), ``reason``, ``data`` (what the experiment returned), ``provenance``
(git commit and dirty flag, package versions, CPU/GPU, start/end time, wall seconds, profile).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from thermo.errors import ConfigError, CorruptRecord, EnvironmentProblem
from thermo.paths import repo_root, results_dir
from thermo.profiles import check_profile

STATUSES = ("ok", "diverged", "failed")
RECORD_KEYS = ("experiment", "version", "config_hash", "config", "status", "data", "provenance")


def to_jsonable(obj: Any) -> Any:
    """Plain-JSON form of ``obj``: numpy/torch arrays become lists, non-finite floats ``None``."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        obj = dataclasses.asdict(obj)
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if hasattr(obj, "detach") and hasattr(obj, "cpu"):  # torch tensor, without importing torch
        obj = obj.detach().cpu().numpy()
    if hasattr(obj, "tolist") and hasattr(obj, "dtype"):  # numpy array or scalar
        return to_jsonable(obj.tolist())
    if isinstance(obj, bool) or obj is None or isinstance(obj, (int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot store a {type(obj).__name__} in a JSON results record")


def canonical_json(obj: Any) -> str:
    return json.dumps(to_jsonable(obj), sort_keys=True, separators=(",", ":"), allow_nan=False)


def config_hash(experiment: str, version: int, config: dict) -> str:
    """First 16 hex digits of the SHA-256 of the experiment id, version and canonical config."""
    payload = canonical_json({"experiment": experiment, "version": int(version), "config": config})
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the whole new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; records are meant to be read and shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=repo_root(), capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def installed_commit() -> str | None:
    """The commit a pip-installed ``thermo`` was built from, if pip recorded it (an install from a
    ``git+URL`` writes it to ``direct_url.json``), else None."""
    from importlib import metadata

    try:
        info = json.loads(metadata.distribution("thermo").read_text("direct_url.json") or "{}")
    except (metadata.PackageNotFoundError, json.JSONDecodeError):
        return None
    return info.get("vcs_info", {}).get("commit_id")


def git_state() -> dict:
    """The code's commit and whether tracked files other than ``results/`` differ from it (taken
    when a run starts; cached results being rewritten do not make the code dirty). Outside a
    checkout (a pip-installed library) the commit pip recorded, if any, with ``git_dirty`` None."""
    status = _git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)results")
    commit = _git("rev-parse", "HEAD")
    if commit is None:
        return {"git_commit": installed_commit() or "unknown", "git_dirty": None}
    return {"git_commit": commit, "git_dirty": bool(status) if status is not None else None}


def code_version(prov: dict) -> str:
    """How a caption names the code of a record: the commit (10 digits, ``+dirty`` if the tree had
    changes), else the library version that computed it (``thermo 0.1.0``)."""
    commit = prov.get("git_commit") or "unknown"
    if commit != "unknown":
        return commit[:10] + ("+dirty" if prov.get("git_dirty") else "")
    return f"thermo {prov.get('packages', {}).get('thermo', 'unknown')}"


def provenance(profile: str, started: float, ended: float, git: dict | None = None) -> dict:
    """Where and how a record was computed (times are UNIX seconds, also given as ISO UTC).
    ``git`` is :func:`git_state` taken at the start of the run (taken now if not given)."""
    versions = {"python": platform.python_version()}
    for name in ("numpy", "scipy", "torch", "torchvision", "jax", "neural_tangents", "thermo"):
        mod = sys.modules.get(name)
        if mod is not None:
            versions[name] = getattr(mod, "__version__", "unknown")
    gpu = None
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        gpu = torch.cuda.get_device_name(0)
    git = git or git_state()

    def iso(t: float) -> str:
        return _dt.datetime.fromtimestamp(t, _dt.UTC).isoformat(timespec="seconds")

    return {
        **git,
        "packages": versions,
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "gpu": gpu,
        "started": iso(started),
        "ended": iso(ended),
        "wall_seconds": round(ended - started, 3),
        "profile": profile,
    }


class Store:
    """A folder of records: ``<root>/<experiment>/<hash>.json``."""

    def __init__(self, root: Path):
        self.root = Path(root)

    @classmethod
    def for_profile(cls, profile: str) -> Store:
        return cls(results_dir(check_profile(profile)))

    def path(self, experiment: str, version: int, config: dict) -> Path:
        return self.root / experiment / f"{config_hash(experiment, version, config)}.json"

    def read(self, path: Path, experiment: str | None = None, version: int | None = None) -> dict:
        """Parse and validate one record; raise CorruptRecord saying what is wrong with it."""
        try:
            record = json.loads(Path(path).read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise CorruptRecord(f"{path}: not valid JSON ({err}); delete it to recompute") from None
        if not isinstance(record, dict):
            raise CorruptRecord(f"{path}: a record must be a JSON object")
        missing = [k for k in RECORD_KEYS if k not in record]
        if missing:
            raise CorruptRecord(f"{path}: missing fields {missing}; delete it to recompute")
        if experiment is not None and record["experiment"] != experiment:
            raise CorruptRecord(
                f"{path}: holds experiment {record['experiment']!r}, expected {experiment!r}"
            )
        if version is not None and record["version"] != version:
            raise CorruptRecord(
                f"{path}: written by version {record['version']} of {record['experiment']!r}, "
                f"the code is at version {version}; recompute it"
            )
        if record["status"] not in STATUSES:
            raise CorruptRecord(f"{path}: unknown status {record['status']!r}")
        return record

    def load(self, experiment: str, version: int, config: dict) -> dict | None:
        """The stored record, or None if absent. A corrupt record is reported and ignored."""
        path = self.path(experiment, version, config)
        if not path.exists():
            return None
        try:
            record = self.read(path, experiment, version)
        except CorruptRecord as err:
            warnings.warn(f"ignoring a corrupt results record, it will be recomputed: {err}", stacklevel=2)
            return None
        if record["config_hash"] != path.stem:
            warnings.warn(f"ignoring {path}: its config hash does not match its file name", stacklevel=2)
            return None
        return record

    def save(self, record: dict) -> Path:
        path = self.root / record["experiment"] / f"{record['config_hash']}.json"
        atomic_write_text(path, json.dumps(to_jsonable(record), indent=1, sort_keys=True) + "\n")
        return path

    def records(self, experiment: str) -> list[dict]:
        """Every valid record of one experiment (corrupt files are reported and skipped)."""
        out = []
        for path in sorted((self.root / experiment).glob("*.json")):
            try:
                out.append(self.read(path, experiment))
            except CorruptRecord as err:
                warnings.warn(str(err), stacklevel=2)
        return out


def make_record(experiment, version, config, data, status, reason, prov) -> dict:
    if status not in STATUSES:
        raise ConfigError(f"status must be one of {STATUSES}, got {status!r}")
    return {
        "experiment": experiment,
        "version": int(version),
        "config_hash": config_hash(experiment, version, config),
        "config": to_jsonable(config),
        "status": status,
        "reason": reason,
        "data": to_jsonable(data),
        "provenance": prov,
    }


def cached(
    experiment: str,
    version: int,
    config: dict,
    compute: Callable[[dict], dict],
    profile: str,
    store: Store | None = None,
    recompute: bool = False,
) -> dict:
    """Load the record for ``config`` or compute it with ``compute(config)`` and save it.

    ``compute`` returns plain data; if that dict has a ``status`` key (``ok`` / ``diverged``)
    it becomes the record's status (and ``reason`` its reason). An exception inside ``compute``
    is stored as a ``failed`` record with the error as reason and then re-raised; failed records
    are recomputed on the next call, ok and diverged ones are reused. An
    :class:`~thermo.errors.EnvironmentProblem` (a missing dataset, no network) is re-raised
    without storing anything: it says nothing about the computation.
    """
    store = store or Store.for_profile(profile)
    if not recompute:
        record = store.load(experiment, version, config)
        if record is not None and record["status"] != "failed":
            return record
    started, git = time.time(), git_state()
    try:
        data = compute(config)
    except EnvironmentProblem:
        raise  # a missing dataset or network: not a result, nothing is stored
    except Exception as err:
        record = make_record(
            experiment, version, config, None, "failed", f"{type(err).__name__}: {err}",
            provenance(profile, started, time.time(), git),
        )
        store.save(record)
        raise
    data = dict(data)
    status = data.pop("status", "ok")
    reason = data.pop("reason", None)
    record = make_record(
        experiment, version, config, data, status, reason, provenance(profile, started, time.time(), git)
    )
    store.save(record)
    return record

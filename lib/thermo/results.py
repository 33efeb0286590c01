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
import re
import stat
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from thermo.errors import ConfigError, CorruptRecord, EnvironmentProblem, MissingResults
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


KEY_DIGITS = 12  # significant digits of every float in a cache key (DESIGN.md section 4)
ID_PATTERN = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")  # experiment ids (and figure ids)
HASH_PATTERN = re.compile(r"[0-9a-f]{16}")
TINY = 1e-100  # floats smaller in magnitude count as 0 in a key
MAX_DEPTH = 40  # deepest nesting of lists/objects a record may have


def _round_floats(obj: Any) -> Any:
    """``obj`` (plain JSON) with every float rounded to :data:`KEY_DIGITS` significant digits (and
    magnitudes below :data:`TINY` set to 0), so that last-bit differences between CPUs
    (``np.logspace`` with or without AVX-512) give one key."""
    if isinstance(obj, float):
        if abs(obj) < TINY:  # 0.0, -0.0 and round-off around zero (a subnormal) are one value
            return 0.0
        return float(f"{obj:.{KEY_DIGITS}g}")
    if isinstance(obj, dict):
        return {k: _round_floats(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_round_floats(v) for v in obj]
    return obj


def canonical_json(obj: Any) -> str:
    """Sorted keys, no spaces, floats at :data:`KEY_DIGITS` significant digits: what a key hashes."""
    return json.dumps(_round_floats(to_jsonable(obj)), sort_keys=True, separators=(",", ":"),
                      allow_nan=False)


def config_hash(experiment: str, version: int, config: dict) -> str:
    """First 16 hex digits of the SHA-256 of the experiment id, version and canonical config."""
    payload = canonical_json({"experiment": experiment, "version": int(version), "config": config})
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def same_config(a: dict, b: dict) -> bool:
    """Whether two configs are the same point (equal canonical forms: floats to 12 digits)."""
    return canonical_json(a) == canonical_json(b)


def check_experiment_id(experiment: str) -> str:
    if not (isinstance(experiment, str) and ID_PATTERN.fullmatch(experiment)):
        raise ConfigError(f"experiment id {experiment!r} must be lower-case words joined by '-'")
    return experiment


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


def library_dir() -> Path:
    """The folder of the ``thermo`` package that is running (``lib/thermo`` in a checkout)."""
    return Path(__file__).resolve().parent


def fingerprint_sources(files: dict[str, bytes]) -> str:
    """SHA-256 (16 hex digits) over ``{relative path: bytes}`` of a library's ``.py`` files."""
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return h.hexdigest()[:16]


def source_fingerprint() -> str:
    """The fingerprint of the library source this process runs (every ``lib/thermo/**.py``): it
    names the code of a record even when the tree was dirty. A commit's fingerprint is computed
    the same way from git (``tests/test_store.py`` checks both agree on a clean tree)."""
    root = library_dir()
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*.py")
             if "__pycache__" not in p.parts}
    return fingerprint_sources(files)


def commit_fingerprint(commit: str) -> str | None:
    """:func:`source_fingerprint` of the library as committed in ``commit`` (from git objects, no
    checkout); None if the commit or git is not there."""
    rel = os.path.relpath(library_dir(), repo_root())
    listing = _git("ls-tree", "-r", "--full-tree", commit, "--", rel)
    if not listing:
        return None
    files = {}
    for line in listing.splitlines():
        meta, name = line.split("\t", 1)
        if name.endswith(".py"):
            blob = subprocess.run(["git", "cat-file", "blob", meta.split()[2]], cwd=repo_root(),
                                  capture_output=True, check=True).stdout
            files[Path(name).relative_to(rel).as_posix()] = blob
    return fingerprint_sources(files)


def library_dirty() -> bool | None:
    """Whether ``lib/thermo`` has changes (tracked or untracked ``.py``) against HEAD; None outside a
    checkout."""
    rel = os.path.relpath(library_dir(), repo_root())
    status = _git("status", "--porcelain", "--untracked-files=all", "--", rel, ":(exclude)**/__pycache__/**")
    return bool(status) if status is not None else None


_GIT_STATE: dict = {}


def git_state() -> dict:
    """The code's commit, whether the library (``lib/thermo``, tracked or not) differs from it,
    and the library's source fingerprint. Taken once per process, at its first record: the code a
    process runs is the code it imported, even if files change (or a commit lands) meanwhile.
    Outside a checkout (a pip-installed library) the commit pip recorded, if any, with
    ``git_dirty`` None."""
    if not _GIT_STATE:
        _GIT_STATE.update(_git_state_now())
    return dict(_GIT_STATE)


def _git_state_now() -> dict:
    fingerprint = source_fingerprint()
    commit = _git("rev-parse", "HEAD")
    if commit is None:
        return {"git_commit": installed_commit() or "unknown", "git_dirty": None, "source": fingerprint}
    return {"git_commit": commit, "git_dirty": library_dirty(), "source": fingerprint}


def code_version(prov: dict) -> str:
    """How a caption names the code of a record: the commit (10 digits), with ``+dirty`` and the
    source fingerprint if the library differed from it; else the library version that computed it."""
    commit = prov.get("git_commit") or "unknown"
    if commit != "unknown":
        if prov.get("git_dirty"):
            return commit[:10] + "+dirty" + (f" (source {prov['source'][:8]})" if prov.get("source") else "")
        return commit[:10]
    return f"thermo {prov.get('packages', {}).get('thermo', 'unknown')}"


def code_summary(records: list[dict]) -> str:
    """The code of a set of records for a caption: the newest record's code, and how many code
    versions the set spans (a figure's manifest lists them all)."""
    versions = {code_version(r["provenance"]) for r in records}
    newest = max(records, key=lambda r: r["provenance"].get("started") or "")
    text = code_version(newest["provenance"])
    if len(versions) > 1:
        text += f" (newest of {len(versions)} code versions; the manifest lists them)"
    return text


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


def _depth(obj: Any) -> int:
    """Nesting depth of plain JSON (iterative: a hostile file cannot exhaust the stack)."""
    deepest, todo = 0, [(obj, 1)]
    while todo:
        node, d = todo.pop()
        if isinstance(node, dict):
            node = list(node.values())
        if isinstance(node, list):
            deepest = max(deepest, d)
            if d > MAX_DEPTH:
                return d
            todo.extend((v, d + 1) for v in node)
    return deepest


def _read_regular_file(path: Path, limit: int = 256 * 2**20) -> str:
    """The text of ``path`` if it is a regular file (not a FIFO, device, folder or symlink) of at
    most ``limit`` bytes; CorruptRecord otherwise. Opened non-blocking, so a FIFO cannot hang us."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as err:
        raise CorruptRecord(f"{path}: cannot be opened as a regular file ({err.strerror}); delete it to "
                            "recompute") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise CorruptRecord(f"{path}: not a regular file; delete it to recompute")
        if info.st_size > limit:
            raise CorruptRecord(f"{path}: {info.st_size} bytes, more than a record may hold ({limit})")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            raw = fh.read(limit + 1)
    finally:
        os.close(fd)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise CorruptRecord(f"{path}: not valid JSON ({err}); delete it to recompute") from None


def check_record(path: Path, record: Any) -> dict:
    """The record if every field has its type (the schema of DESIGN.md section 4), else
    CorruptRecord naming the file and the first field that is wrong."""
    if not isinstance(record, dict):
        raise CorruptRecord(f"{path}: a record must be a JSON object")
    missing = [k for k in RECORD_KEYS if k not in record]
    if missing:
        raise CorruptRecord(f"{path}: missing fields {missing}; delete it to recompute")
    if _depth(record) > MAX_DEPTH:
        raise CorruptRecord(f"{path}: nested deeper than {MAX_DEPTH} levels; delete it to recompute")
    status = record["status"]
    if status not in STATUSES:
        raise CorruptRecord(f"{path}: unknown status {status!r}")
    data_ok = isinstance(record["data"], dict) or (status == "failed" and record["data"] is None)
    checks = (
        ("experiment", isinstance(record["experiment"], str) and ID_PATTERN.fullmatch(record["experiment"]),
         "an experiment id"),
        ("version", isinstance(record["version"], int) and not isinstance(record["version"], bool),
         "an integer"),
        ("config_hash", isinstance(record["config_hash"], str) and HASH_PATTERN.fullmatch(record["config_hash"]),
         "16 hex digits"),
        ("config", isinstance(record["config"], dict), "an object"),
        ("reason", isinstance(record.get("reason"), (str, type(None))), "a string or null"),
        ("data", data_ok, "an object" + (" or null" if status == "failed" else "")),
        ("provenance", isinstance(record["provenance"], dict)
         and isinstance(record["provenance"].get("git_commit"), str)
         and isinstance(record["provenance"].get("profile"), str), "an object with git_commit and profile"),
    )
    for name, ok, what in checks:
        if not ok:
            raise CorruptRecord(f"{path}: field {name!r} must be {what}, got {record.get(name)!r:.60}; "
                                "delete it to recompute")
    return record


class Store:
    """A folder of records: ``<root>/<experiment>/<hash>.json``.

    Paths are built only from a valid experiment id and a 16-hex-digit hash, and must resolve
    under the root. A record is read only from a regular file, with bounded nesting, and checked
    against the schema (:func:`check_record`) and against the config it was asked for; anything
    else is a :class:`CorruptRecord` that names the file (``load`` then warns and returns None, so
    the point is recomputed).
    """

    def __init__(self, root: Path):
        self.root = Path(root)

    @classmethod
    def for_profile(cls, profile: str) -> Store:
        return cls(results_dir(check_profile(profile)))

    def path_for_hash(self, experiment: str, digest: str) -> Path:
        check_experiment_id(experiment)
        if not (isinstance(digest, str) and HASH_PATTERN.fullmatch(digest)):
            raise ConfigError(f"a record hash must be 16 hex digits, got {digest!r}")
        path = self.root / experiment / f"{digest}.json"
        root = self.root.resolve()
        if not path.parent.resolve().is_relative_to(root):
            raise ConfigError(f"{path} resolves outside the results store {root}")
        return path

    def path(self, experiment: str, version: int, config: dict) -> Path:
        return self.path_for_hash(experiment, config_hash(experiment, version, config))

    def read(self, path: Path, experiment: str | None = None, version: int | None = None) -> dict:
        """Parse and validate one record; raise CorruptRecord saying what is wrong with it."""
        text = _read_regular_file(Path(path))
        try:
            record = json.loads(text)
        except json.JSONDecodeError as err:
            raise CorruptRecord(f"{path}: not valid JSON ({err}); delete it to recompute") from None
        except RecursionError:
            raise CorruptRecord(f"{path}: nested deeper than {MAX_DEPTH} levels; delete it to recompute") from None
        check_record(path, record)
        if experiment is not None and record["experiment"] != experiment:
            raise CorruptRecord(
                f"{path}: holds experiment {record['experiment']!r}, expected {experiment!r}"
            )
        if version is not None and record["version"] != version:
            raise CorruptRecord(
                f"{path}: written by version {record['version']} of {record['experiment']!r}, "
                f"the code is at version {version}; recompute it"
            )
        return record

    def load(self, experiment: str, version: int, config: dict) -> dict | None:
        """The stored record, or None if absent. A corrupt record is reported and ignored."""
        path = self.path(experiment, version, config)
        if not os.path.lexists(path):
            return None
        try:
            record = self.read(path, experiment, version)
            if record["config_hash"] != path.stem:
                raise CorruptRecord(f"{path}: its config hash {record['config_hash']} does not match its file name")
            if not same_config(record["config"], config):
                raise CorruptRecord(f"{path}: holds another config than the one asked for")
        except CorruptRecord as err:
            warnings.warn(f"ignoring a corrupt results record, it will be recomputed: {err}", stacklevel=2)
            return None
        return record

    def save(self, record: dict) -> Path:
        path = self.path_for_hash(record["experiment"], record["config_hash"])
        atomic_write_text(path, json.dumps(to_jsonable(record), indent=1, sort_keys=True) + "\n")
        return path

    def records(self, experiment: str) -> list[dict]:
        """Every valid record of one experiment (corrupt files are reported and skipped)."""
        out = []
        for path in sorted((self.root / check_experiment_id(experiment)).glob("*.json")):
            try:
                out.append(self.read(path, experiment))
            except CorruptRecord as err:
                warnings.warn(str(err), stacklevel=2)
        return out

    def lock(self, experiment: str, version: int, config: dict):
        """An exclusive lock on one point (a file lock next to its record): two processes of the
        same sweep never compute the same point twice."""
        digest = self.path(experiment, version, config).stem
        return _PointLock(self.root / ".locks" / experiment / f"{digest}.lock")


class _PointLock:
    def __init__(self, path: Path):
        self.path, self.fd = path, None

    def __enter__(self):
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        import fcntl

        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
        return False


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


def computing_allowed() -> bool:
    """False while the book is built (``THERMO_COMPUTE=0``, set by ``make book``): the build reads
    cached results and never trains."""
    return os.environ.get("THERMO_COMPUTE", "1") != "0"


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

    The point is computed under a lock (:meth:`Store.lock`): a second process asking for the same
    point waits and then loads the first one's record. With ``THERMO_COMPUTE=0`` a missing record
    is :class:`~thermo.errors.MissingResults` (the book build computes nothing).
    """
    store = store or Store.for_profile(profile)

    def stored():
        record = store.load(experiment, version, config)
        return record if record is not None and record["status"] != "failed" else None

    if not recompute and (record := stored()) is not None:
        return record
    if not computing_allowed():
        raise MissingResults(f"{experiment} [{profile}]: no cached record for config "
                             f"{config_hash(experiment, version, config)} and THERMO_COMPUTE=0 (the book build "
                             "never trains): run `make results` (or `python -m thermo run "
                             f"{experiment} --profile {profile}`) and commit results/")
    with store.lock(experiment, version, config):
        if not recompute and (record := stored()) is not None:
            return record  # another process computed it while we waited for the lock
        return _compute_and_save(experiment, version, config, compute, profile, store)


def _compute_and_save(experiment, version, config, compute, profile, store) -> dict:
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


def rekey(store: Store) -> dict:
    """Move every record of ``store`` to the file its key names today (after a change of the
    canonical form, e.g. floats rounded to :data:`KEY_DIGITS` digits): load, recompute the key,
    rewrite ``config_hash``, move; data untouched. Two records that now share a key (the same
    point computed on two CPUs) keep the newer one. Returns counts and the moves."""
    moved, kept, dropped = [], 0, []
    for path in sorted(store.root.glob("*/*.json")):
        record = store.read(path)
        new = config_hash(record["experiment"], record["version"], record["config"])
        if new == path.stem:
            kept += 1
            continue
        target = store.path_for_hash(record["experiment"], new)
        if target.exists():
            other = store.read(target)
            if (other["provenance"].get("started") or "") >= (record["provenance"].get("started") or ""):
                dropped.append(str(path))
                path.unlink()
                continue
            dropped.append(str(target))
        store.save({**record, "config_hash": new})
        path.unlink()
        moved.append((str(path.relative_to(store.root)), new))
    return {"moved": moved, "unchanged": kept, "dropped": dropped}


def backfill_sources(store: Store) -> dict:
    """Give every record computed from a clean tree (``git_dirty`` false) the source fingerprint of
    its commit, computed from git (records older than fingerprints lack it); data untouched. A
    dirty record cannot be given one: what its library held is unknown."""
    memo: dict[str, str | None] = {}
    counts = {"added": 0, "had": 0, "dirty": 0, "unknown commit": 0}
    for path in sorted(store.root.glob("*/*.json")):
        record = store.read(path)
        prov = record["provenance"]
        if prov.get("source"):
            counts["had"] += 1
        elif prov.get("git_dirty") is not False:
            counts["dirty"] += 1
        else:
            commit = prov["git_commit"]
            if commit not in memo:
                memo[commit] = commit_fingerprint(commit)
            if memo[commit] is None:
                counts["unknown commit"] += 1
                continue
            store.save({**record, "provenance": {**prov, "source": memo[commit]}})
            counts["added"] += 1
    return counts

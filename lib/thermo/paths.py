"""Where the book's files live: the repository root, results/, figures, data, checkpoints.

Notebooks execute in their own folder, so every path is computed from the repository root,
never relative to the working directory. The root is ``$THERMO_ROOT`` if set, else the
checkout that holds this package (``lib/thermo`` -> two levels up), else the working directory
(a pip-installed library on Colab).
"""

from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path:
    env = os.environ.get("THERMO_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve().parents[2]
    if (here / "_config.yml").exists() and (here / "lib" / "thermo").is_dir():
        return here
    return Path.cwd().resolve()


def results_dir(profile: str) -> Path:
    """``results/`` for the quick and paper profiles; a scratch folder for smoke runs."""
    root = repo_root()
    if profile == "smoke":
        return root / "_build" / "smoke-results"
    return root / "results"


def figures_dir(profile: str) -> Path:
    """Served by the site as ``_static/figures/<profile>/``."""
    return repo_root() / "book" / "_static" / "figures" / profile


def data_dir() -> Path:
    """Prepared datasets (``$THERMO_DATA`` or ``<root>/data``)."""
    env = os.environ.get("THERMO_DATA")
    return Path(env).resolve() if env else repo_root() / "data"


def checkpoints_dir() -> Path:
    env = os.environ.get("THERMO_CHECKPOINTS")
    return Path(env).resolve() if env else repo_root() / "_build" / "checkpoints"

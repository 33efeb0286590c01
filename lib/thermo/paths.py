"""Where the book's files live: the repository root, results/, figures, data, checkpoints.

Notebooks execute in their own folder, so every path is computed from the repository root,
never relative to the working directory. The root is ``$THERMO_ROOT`` if set (it must be a folder
that holds ``_config.yml``: a typo is one clear error, never a stray empty store), else the
checkout that holds this package (``lib/thermo`` -> two levels up), else the folder pip installed
the library from (a clone on Colab, found again after a restart), else the working directory.
"""

from __future__ import annotations

import os
from pathlib import Path

from thermo.errors import ConfigError


def repo_root() -> Path:
    env = os.environ.get("THERMO_ROOT")
    if env:
        root = Path(env).expanduser().resolve()
        if not root.is_dir():
            raise ConfigError(f"THERMO_ROOT={env!r} does not exist: point it at a clone of thermo-book "
                              "(the folder that holds _config.yml) or unset it")
        if not (root / "_config.yml").is_file():
            raise ConfigError(f"THERMO_ROOT={env!r} holds no book (no _config.yml there): point it at a clone "
                              "of thermo-book or unset it")
        return root
    here = Path(__file__).resolve().parents[2]
    if (here / "_config.yml").exists() and (here / "lib" / "thermo").is_dir():
        return here
    clone = installed_from()
    if clone is not None:
        return clone
    return Path.cwd().resolve()


def installed_from() -> Path | None:
    """The book folder pip installed ``thermo`` from (``pip install <folder>`` records its
    ``file://`` URL in ``direct_url.json``), if it still holds the book: how a Colab runtime finds
    its clone again after a restart, when ``THERMO_ROOT`` is gone."""
    import json
    from importlib import metadata
    from urllib.parse import unquote, urlparse

    try:
        info = json.loads(metadata.distribution("thermo").read_text("direct_url.json") or "{}")
    except (metadata.PackageNotFoundError, json.JSONDecodeError):
        return None
    url = urlparse(info.get("url", ""))
    if url.scheme != "file":
        return None
    folder = Path(unquote(url.path))
    return folder.resolve() if (folder / "_config.yml").is_file() else None


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

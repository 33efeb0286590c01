"""The one module that imports every paper (DESIGN.md section 1): importing a paper's package
registers its experiments (:mod:`thermo.experiments`) and claims (:mod:`thermo.claims`).

The registries never import the papers (they sit below them); whoever needs every experiment or
claim (the CLI, the sweep's workers, the report, the Sphinx extension, the tests) asks here.
"""

from __future__ import annotations

import importlib
import os

from thermo import claims, experiments
from thermo.errors import ConfigError

PACKAGES = ("tempbalance", "actcoolr", "temperature_check", "l2", "synthesis")


def load_all() -> None:
    """Import every paper's package, then the reader's own experiment modules named (comma
    separated, importable) in ``THERMO_EXPERIMENT_MODULES``: ``python -m thermo run`` and its
    worker processes then sweep those experiments too. Idempotent."""
    for name in PACKAGES:
        importlib.import_module(f"thermo.papers.{name}")
    for name in filter(None, (m.strip() for m in os.environ.get("THERMO_EXPERIMENT_MODULES", "").split(","))):
        try:
            importlib.import_module(name)
        except ImportError as err:
            raise ConfigError(f"THERMO_EXPERIMENT_MODULES names {name!r}, which cannot be imported ({err})") from None


def experiment(experiment_id: str) -> experiments.Experiment:
    """A registered experiment by id, after loading every paper (one clear error if unknown)."""
    load_all()
    return experiments.get(experiment_id)


def all_experiments() -> dict[str, experiments.Experiment]:
    load_all()
    return experiments.REGISTRY


def all_claims() -> dict[str, claims.Claim]:
    load_all()
    return claims.REGISTRY


def run(experiment_id: str, profile: str, recompute: bool = False) -> list[dict]:
    """Every point of an experiment in ``profile`` from the store (computed if missing, unless the
    book is being built: see :func:`thermo.results.cached`)."""
    load_all()
    return experiments.run(experiment_id, profile, recompute=recompute)

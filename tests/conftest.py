import os

import pytest

os.environ.setdefault("THERMO_PROGRESS", "0")


@pytest.fixture
def tmp_root(tmp_path, monkeypatch):
    """A throw-away repository root: results, figures and checkpoints land under tmp_path."""
    monkeypatch.setenv("THERMO_ROOT", str(tmp_path))
    monkeypatch.setenv("THERMO_CHECKPOINTS", str(tmp_path / "ckpt"))
    return tmp_path

import os

import pytest
import torch

os.environ.setdefault("THERMO_PROGRESS", "0")
# One torch thread, like every point of a sweep: results recomputed here match the stored records,
# and small operations do not slow down by spinning threads when the cores are shared (CI: 2 cores).
torch.set_num_threads(1)

from thermo import catalog  # noqa: E402

catalog.load_all()  # every paper's experiments and claims registered, as the CLI and the report see them


@pytest.fixture
def tmp_root(tmp_path, monkeypatch):
    """A throw-away repository root: results, figures and checkpoints land under tmp_path."""
    (tmp_path / "_config.yml").write_text("title: a throw-away book\n")
    monkeypatch.setenv("THERMO_ROOT", str(tmp_path))
    monkeypatch.setenv("THERMO_CHECKPOINTS", str(tmp_path / "ckpt"))
    return tmp_path


@pytest.fixture(scope="module")
def jax_float64():
    """JAX in float64 for a module's kernel checks, back to float32 afterwards."""
    from thermo import ntk

    ntk.enable_float64(True)
    yield
    ntk.enable_float64(False)

"""Importing neural-tangents 0.6.5 without TensorFlow (see shared/STACK.md).

neural-tangents 0.6.5 works with jax == 0.5.3, but its ``__init__`` imports the
``neural_tangents.experimental`` subpackage, which needs tensorflow and tf2jax (TF interop only).
We install it with ``pip install --no-deps`` and register an empty ``experimental`` module before
the first import; we lose nothing the book uses. JAX is imported only here, lazily, so the torch
chapters never pay for it. ``tests/test_nt_compat.py`` fails loudly if this stops working.
"""

from __future__ import annotations

import sys
import types


def neural_tangents():
    """Return the ``neural_tangents`` module, importing it the TF-free way on first use."""
    if "neural_tangents" in sys.modules:
        return sys.modules["neural_tangents"]
    name = "neural_tangents.experimental"
    if name not in sys.modules:
        stub = types.ModuleType(name)
        stub.__doc__ = "Empty stand-in: the TF-interop subpackage is not installed (thermo.nt_compat)."
        sys.modules[name] = stub
    import neural_tangents as nt

    return nt

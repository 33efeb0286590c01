"""TempBalance's layer-wise learning-rate map (Zhou et al., 2023).

Chapter: notebooks/tempbalance/01-esd-and-hill.ipynb (the map); the training-time scheduler
``TempBalance`` belongs to a later chapter and will live here too.
"""

from __future__ import annotations

import numpy as np

from thermo.errors import ConfigError


def check_scales(s1: float, s2: float, allow_asymmetric: bool = False) -> None:
    """The paper only uses ``s1 < s2`` with ``(s1 + s2) / 2 == 1`` (e.g. 0.5/1.5, 0.8/1.2)."""
    if not 0 < s1 < s2:
        raise ConfigError(f"need 0 < s1 < s2 for the LR scaling range, got s1={s1}, s2={s2}")
    if not allow_asymmetric and abs((s1 + s2) / 2 - 1) > 1e-9:
        raise ConfigError(
            f"(s1 + s2) / 2 must be 1 so the mean LR stays the base LR, got {(s1 + s2) / 2:g}; "
            "pass allow_asymmetric=True to use this range anyway"
        )


def layer_lr_scales(alphas, s1: float = 0.5, s2: float = 1.5, allow_asymmetric: bool = False) -> np.ndarray:
    """Eq. (2): each layer's LR factor, linear in its alpha between ``s1`` (smallest alpha, the
    most heavy-tailed layer) and ``s2`` (largest alpha). Multiply by the base LR ``eta_t``.

    Invariant to any rescaling ``alpha -> c * alpha + d`` with ``c > 0``: only the layers' ranks
    and relative gaps matter. If all alphas are equal every layer gets ``(s1 + s2) / 2``.
    """
    check_scales(s1, s2, allow_asymmetric)
    a = np.asarray(alphas, dtype=np.float64)
    if a.ndim != 1 or a.size == 0:
        raise ConfigError("alphas must be a non-empty 1-D sequence (one per layer)")
    if not np.all(np.isfinite(a)):
        raise ConfigError("alphas contain NaN or inf: exclude layers whose alpha could not be fitted")
    span = a.max() - a.min()
    if span == 0:
        return np.full_like(a, (s1 + s2) / 2)
    return (a - a.min()) / span * (s2 - s1) + s1

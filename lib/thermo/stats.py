"""Small statistics the chapters share: power-law (log-log) fits with standard errors, and paired
differences with t confidence intervals. scipy does the work; these name what is computed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as _st

from thermo.errors import ConfigError


@dataclass(frozen=True)
class PowerLawFit:
    """``y = A x^slope``, fitted as a line in ``(ln x, ln y)``; ``slope_se`` is the standard error."""

    slope: float
    slope_se: float
    prefactor: float
    r2: float
    n: int

    def __call__(self, x):
        return self.prefactor * np.asarray(x, dtype=float) ** self.slope


def loglog_fit(x, y) -> PowerLawFit:
    """Least-squares line through ``(ln x, ln y)``: the exponent of a power law and its error."""
    x, y = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    if x.shape != y.shape:
        raise ConfigError(f"x and y must have the same length, got {x.size} and {y.size}")
    if x.size < 3:
        raise ConfigError(f"a log-log fit with an uncertainty needs at least 3 points, got {x.size}")
    if np.any(x <= 0) or np.any(y <= 0) or not np.all(np.isfinite(x * y)):
        raise ConfigError("a log-log fit needs finite, positive x and y")
    res = _st.linregress(np.log(x), np.log(y))
    return PowerLawFit(float(res.slope), float(res.stderr), float(np.exp(res.intercept)), float(res.rvalue**2),
                       int(x.size))


@dataclass(frozen=True)
class PairedDifference:
    """Mean of ``a - b`` over pairs (e.g. seeds), its standard deviation and the half-width of
    its two-sided ``level`` t confidence interval."""

    mean: float
    std: float
    half_width: float
    n: int
    level: float

    @property
    def interval(self) -> tuple[float, float]:
        return self.mean - self.half_width, self.mean + self.half_width


def paired_difference(a, b, level: float = 0.95) -> PairedDifference:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ConfigError(f"paired samples must be 1-D and of equal length, got {a.shape} and {b.shape}")
    if a.size < 2:
        raise ConfigError(f"a confidence interval needs at least 2 pairs, got {a.size}")
    d = a - b
    sd = float(d.std(ddof=1))
    half = float(_st.t.ppf(0.5 + level / 2, d.size - 1) * sd / np.sqrt(d.size))
    return PairedDifference(float(d.mean()), sd, half, int(d.size), level)

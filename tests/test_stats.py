"""thermo.stats against independent computations: exact power laws, scipy's paired t-test."""

import numpy as np
import pytest
from scipy import stats as st

from thermo import stats
from thermo.errors import ConfigError


def test_loglog_fit_recovers_an_exact_power_law():
    x = np.logspace(-3, 2, 12)
    fit = stats.loglog_fit(x, 3.5 * x**-0.8)
    assert fit.slope == pytest.approx(-0.8) and fit.prefactor == pytest.approx(3.5)
    assert fit.slope_se == pytest.approx(0, abs=1e-12) and fit.r2 == pytest.approx(1)


def test_loglog_fit_standard_error_matches_the_spread_over_repeats():
    rng = np.random.default_rng(0)
    x = np.logspace(0, 2, 10)
    fits = [stats.loglog_fit(x, x**-1 * np.exp(rng.normal(0, 0.2, x.size))) for _ in range(2000)]
    slopes = np.array([f.slope for f in fits])
    assert slopes.mean() == pytest.approx(-1, abs=0.01)
    assert np.mean([f.slope_se for f in fits]) == pytest.approx(slopes.std(), rel=0.1)


def test_paired_difference_matches_scipy_ttest_rel():
    rng = np.random.default_rng(3)
    a, b = rng.normal(0.9, 0.01, 5), rng.normal(0.89, 0.01, 5)
    ours = stats.paired_difference(a, b)
    ci = st.ttest_rel(a, b).confidence_interval(0.95)
    assert ours.interval == pytest.approx((ci.low, ci.high))


def test_bad_input():
    with pytest.raises(ConfigError, match="at least 3 points"):
        stats.loglog_fit([1, 2], [1, 2])
    with pytest.raises(ConfigError, match="finite, positive"):
        stats.loglog_fit([1, 2, 3], [1, 0, 2])
    with pytest.raises(ConfigError, match="at least 2 pairs"):
        stats.paired_difference([1.0], [2.0])

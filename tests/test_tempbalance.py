import numpy as np
import pytest

from thermo.errors import ConfigError
from thermo.tempbalance import layer_lr_scales


def test_eq2_endpoints_and_linearity():
    alphas = np.array([2.0, 3.0, 6.0, 4.0])
    got = layer_lr_scales(alphas, 0.5, 1.5)
    # by hand: (a - 2) / 4 * 1.0 + 0.5
    np.testing.assert_allclose(got, [0.5, 0.75, 1.5, 1.0])


@pytest.mark.parametrize("c,d", [(10.0, 0.0), (0.01, 0.0), (3.0, -7.0), (1.0, 100.0)])
def test_eq2_is_scale_free(c, d):
    alphas = np.random.default_rng(0).uniform(1.5, 8.0, size=20)
    np.testing.assert_allclose(layer_lr_scales(c * alphas + d), layer_lr_scales(alphas), rtol=1e-12)


def test_eq2_equal_alphas_give_the_base_lr():
    np.testing.assert_allclose(layer_lr_scales([3.0, 3.0, 3.0], 0.8, 1.2), [1.0, 1.0, 1.0])


@pytest.mark.parametrize("s1,s2,kw,message", [
    (1.5, 0.5, {}, "0 < s1 < s2"),
    (0.0, 2.0, {}, "0 < s1 < s2"),
    (0.5, 2.0, {}, r"\(s1 \+ s2\) / 2 must be 1"),
])
def test_eq2_bad_ranges(s1, s2, kw, message):
    with pytest.raises(ConfigError, match=message):
        layer_lr_scales([2.0, 3.0], s1, s2, **kw)


def test_eq2_asymmetric_range_with_override():
    np.testing.assert_allclose(layer_lr_scales([2.0, 3.0], 0.5, 2.0, allow_asymmetric=True), [0.5, 2.0])


def test_eq2_rejects_nan_alphas():
    with pytest.raises(ConfigError, match="NaN"):
        layer_lr_scales([2.0, float("nan")])

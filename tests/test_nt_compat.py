"""neural-tangents imports without TensorFlow and computes kernels we can check by hand."""

import numpy as np
import pytest

from thermo.nt_compat import neural_tangents


def test_imports_without_tensorflow():
    nt = neural_tangents()
    assert nt.__version__ == "0.6.5"
    import jax

    assert jax.__version__ == "0.5.3"


def test_infinite_width_kernels_match_closed_forms():
    nt = neural_tangents()
    from neural_tangents import stax

    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 7))
    w_std, b_std = 1.5, 0.3
    _, _, kernel_fn = stax.Dense(1, W_std=w_std, b_std=b_std)
    k = kernel_fn(x, x, ("nngp", "ntk"))
    # one dense layer, NTK parameterisation: f(x) = w_std W x / sqrt(d) + b_std b with W, b ~ N(0, 1).
    # NNGP = E f(x) f(x') = w_std^2 x.x'/d + b_std^2; NTK = sum over W, b of df(x)/dp df(x')/dp,
    # which is the same expression because f is linear in its parameters.
    nngp = w_std**2 * x @ x.T / x.shape[1] + b_std**2
    np.testing.assert_allclose(np.asarray(k.nngp), nngp, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(k.ntk), nngp, rtol=1e-5)
    assert nt.empirical_ntk_fn is not None


def test_relu_nngp_matches_the_arccosine_kernel():
    neural_tangents()
    from neural_tangents import stax

    x = np.array([[1.0, 0.0], [0.6, 0.8]])  # unit vectors 53.13 degrees apart
    _, _, kernel_fn = stax.serial(stax.Dense(1, W_std=1.0, b_std=0.0), stax.Relu(),
                                  stax.Dense(1, W_std=1.0, b_std=0.0))
    k = np.asarray(kernel_fn(x, x, "nngp"))
    # first layer: q = |x|^2 / d = 1/2, cos theta = 0.6; ReLU arc-cosine kernel (Cho and Saul):
    # E[relu(u) relu(v)] = q / (2 pi) (sin t + (pi - t) cos t)
    q, t = 0.5, np.arccos(0.6)
    expected = q / (2 * np.pi) * (np.sin(t) + (np.pi - t) * np.cos(t))
    assert k[0, 1] == pytest.approx(expected, rel=1e-5)
    assert k[0, 0] == pytest.approx(q / 2, rel=1e-5)

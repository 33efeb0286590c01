"""thermo.ntk and the eq. 1 tools of thermo.l2, against independent computations: the NTK of a
two-layer network by hand, plain numpy gradient descent, the exact kernel scaling of homogeneous
networks under pure L2 decay, and the closed form S10."""

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = jax.numpy

from thermo import l2, ntk  # noqa: E402
from thermo.errors import ConfigError  # noqa: E402

pytestmark = pytest.mark.usefixtures("jax_float64")


def data(n=12, d=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), np.sign(rng.normal(size=(n, 1)))


@pytest.mark.parametrize("param", ["standard", "ntk"])
def test_empirical_ntk_of_a_two_layer_network_by_hand(param):
    """f(x) = c2 v . relu(c1 W x), c = w_std / sqrt(fan_in) in the ntk parameterization (and the
    weights carry it in the standard one): Theta = c1^2 c2^2 (D v)(D v)^T * (x.x') + c2^2 phi phi^T."""
    x, _ = data()
    init, apply_fn, _ = ntk.mlp([7], 1, bias=False, parameterization=param)
    _, params = init(jax.random.PRNGKey(1), x.shape)
    w, v = np.asarray(params[0][0]), np.asarray(params[2][0])[:, 0]  # stax Dense: W is (in, out)
    c1, c2 = (np.sqrt(2 / 5), np.sqrt(2 / 7)) if param == "ntk" else (1.0, 1.0)
    pre = c1 * x @ w
    phi, dmask = np.maximum(pre, 0), (pre > 0).astype(float)
    by_hand = c2**2 * phi @ phi.T + c1**2 * c2**2 * ((dmask * v) @ (dmask * v).T) * (x @ x.T)
    for impl in ("jacobian", "vector_products"):
        got = np.asarray(ntk.empirical_ntk(apply_fn, params, jnp.asarray(x), implementation=impl))
        assert got == pytest.approx(by_hand, rel=1e-10, abs=1e-12)


def test_kernel_vector_product_equals_the_materialized_kernel():
    x, _ = data(n=10)
    init, apply_fn, _ = ntk.mlp([16, 16], 3, activation="erf")
    _, params = init(jax.random.PRNGKey(0), x.shape)
    full = np.asarray(ntk.empirical_ntk(apply_fn, params, jnp.asarray(x), trace=False))  # (N, N, K, K)
    v = np.random.default_rng(2).normal(size=(10, 3))
    expected = np.einsum("ijab,jb->ia", full, v)
    assert np.asarray(ntk.ntk_vector_product(apply_fn, params, jnp.asarray(x), jnp.asarray(v))) == pytest.approx(
        expected, rel=1e-9, abs=1e-12)


def test_gd_on_a_linear_model_equals_a_numpy_loop():
    x, y = data(n=20, d=4)
    init, apply_fn, _ = ntk.mlp([], 1, bias=False)  # f = x . w / ... : a linear (1-homogeneous) model
    _, params = init(jax.random.PRNGKey(3), x.shape)
    w0 = np.asarray(params[0][0])
    eta, lam, steps = 0.05, 0.1, 37
    res = ntk.gd(apply_fn, params, jnp.asarray(x), jnp.asarray(y), lambda f, t: 0.5 * (f - t) ** 2, eta, steps,
                 l2=lam, record=[0, 10, steps], linearized=True)
    w = w0.copy()
    outs = {0: x @ w}
    for t in range(1, steps + 1):
        w = w - eta * (x.T @ (x @ w - y) / len(x) + lam * w)
        outs[t] = x @ w
    for i, t in enumerate(res.steps):
        assert res.outputs["train"][i] == pytest.approx(outs[t], rel=1e-10)
        assert res.linear_outputs["train"][i] == pytest.approx(outs[t], rel=1e-10)  # linear = its linearization


@pytest.mark.parametrize("widths,k", [([8], 2), ([8, 8], 3)])
def test_pure_l2_decay_scales_the_kernel_exactly(widths, k):
    """With the loss switched off, GD is theta <- (1 - eta lambda) theta, and Theta of a k-homogeneous
    network scales as a^(2 (k - 1)): Theta_n = (1 - eta lambda)^(2 (k - 1) n) Theta_0 exactly."""
    x, y = data(n=6, d=3)
    init, apply_fn, _ = ntk.mlp(widths, 1, bias=False, parameterization="ntk")
    _, params = init(jax.random.PRNGKey(4), x.shape)
    assert ntk.homogeneity_degree(widths, bias=False) == k
    eta, lam, n = 0.1, 0.05, 50
    kernels = {}
    ntk.gd(apply_fn, params, jnp.asarray(x), jnp.asarray(y), lambda f, t: 0.0 * f, eta, n, l2=lam, record=[0, n],
           callback=lambda s, p: kernels.__setitem__(s, np.asarray(ntk.empirical_ntk(apply_fn, p, jnp.asarray(x)))))
    assert kernels[n] == pytest.approx((1 - eta * lam) ** (2 * (k - 1) * n) * kernels[0], rel=1e-9)
    # and the fitted rate in time t = eta * step is Theorem 1's, up to the Euler discretization
    rate, _ = l2.decay_rate([0.0, eta * n / 2, eta * n],
                            [1.0, (1 - eta * lam) ** ((k - 1) * n), (1 - eta * lam) ** (2 * (k - 1) * n)])
    assert rate == pytest.approx(2 * (k - 1) * lam, rel=eta * lam)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_eq1_integrator_matches_the_closed_form_s10(k):
    rng = np.random.default_rng(0)
    a = rng.normal(size=(15, 25))
    theta = a @ a.T / 25 * 4
    f0, y = rng.normal(size=15), np.sign(rng.normal(size=15))
    times = np.linspace(0, 60, 13)
    num = l2.eq1_evolve(theta, f0, y, k, 0.02, times, loss="mse")["train"]
    closed = l2.eq1_closed_form_mse(theta, f0, y, k, 0.02, times)
    assert num == pytest.approx(closed, abs=2e-5 * np.abs(closed).max())


def test_eq1_test_points_follow_the_training_points():
    """A test point equal to a training point (same kernel row) stays equal to it."""
    rng = np.random.default_rng(1)
    a = rng.normal(size=(8, 10))
    theta = a @ a.T
    f0, y = rng.normal(size=8), np.sign(rng.normal(size=8))
    sol = l2.eq1_evolve(theta, f0, y, 2, 0.01, [0, 5, 10], theta_test_train=theta[2:3], f0_test=f0[2:3])
    assert sol["test"][:, 0] == pytest.approx(sol["train"][:, 2], rel=1e-6)


def test_kernel_decay_and_rate_fit():
    t = np.linspace(0, 100, 30)
    assert l2.kernel_decay(3, 0.01, t) == pytest.approx(np.exp(-0.04 * t))
    rate, se = l2.decay_rate(t, 5 * np.exp(-0.04 * t))
    assert rate == pytest.approx(0.04) and se < 1e-8


def test_known_broken_implementations_are_refused():
    for impl in ("structured_derivatives", "auto"):
        with pytest.raises(ConfigError, match="fails with jax 0.5.3"):
            ntk.check_implementation(impl)


def test_wide_cnn_empirical_ntk_approaches_the_infinite_width_kernel():
    # NTK parameterization: the kernel of a finite CNN converges to neural-tangents' closed form as the
    # channels grow; at 512 channels the relative Frobenius error is a few percent, at 8 it is large.
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(4, 5, 5, 1)))
    errors = {}
    for ch in (8, 512):
        init, apply_fn, kernel_fn = ntk.cnn([ch, ch], 1, "relu", parameterization="ntk")
        _, params = init(jax.random.PRNGKey(1), x.shape)
        emp = np.asarray(ntk.empirical_ntk(apply_fn, params, x))
        inf = np.asarray(kernel_fn(x, x, "ntk"))
        errors[ch] = np.linalg.norm(emp - inf) / np.linalg.norm(inf)
    assert errors[512] < 0.1 and errors[512] < errors[8] / 2


def test_cnn_kernel_vector_product_and_shapes():
    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.normal(size=(3, 4, 4, 1)))
    init, apply_fn, _ = ntk.cnn([6], 3, "erf")
    _, params = init(jax.random.PRNGKey(0), x.shape)
    assert apply_fn(params, x).shape == (3, 3)
    v = jnp.asarray(rng.normal(size=(3, 3)))
    full = np.asarray(ntk.empirical_ntk(apply_fn, params, x, trace=False))  # (N, N, K, K)
    np.testing.assert_allclose(np.asarray(ntk.ntk_vector_product(apply_fn, params, x, v)),
                               np.einsum("ijab,jb->ia", full, np.asarray(v)), rtol=1e-6, atol=1e-8)
    with pytest.raises(ConfigError, match="at least one layer"):
        ntk.cnn_body([])

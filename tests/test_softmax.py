"""thermo.softmax: the beta cross-entropy against finite differences and torch, the eta*beta^2
collapse of the linearized model, the correlated initialization, and tau_z where it is exact."""

import math

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = jax.numpy

from thermo import ntk, softmax  # noqa: E402

pytestmark = pytest.mark.usefixtures("jax_float64")


def test_beta_cross_entropy_and_its_gradient():
    rng = np.random.default_rng(0)
    z = jnp.asarray(rng.normal(size=(6, 4)))
    y = np.array([0, 3, 1, 1, 2, 0])
    beta = 2.5
    direct = -np.mean([np.log(np.exp(beta * np.asarray(z)[i, y[i]]) / np.exp(beta * np.asarray(z)[i]).sum())
                       for i in range(6)])
    assert float(softmax.beta_cross_entropy(z, y, beta)) == pytest.approx(direct, rel=1e-12)
    grad = np.asarray(jax.grad(lambda a: softmax.beta_cross_entropy(a, y, beta))(z))
    eps, fd = 1e-6, np.zeros((6, 4))
    for i in range(6):
        for j in range(4):
            e = np.zeros((6, 4))
            e[i, j] = eps
            fd[i, j] = (float(softmax.beta_cross_entropy(z + e, y, beta))
                        - float(softmax.beta_cross_entropy(z - e, y, beta))) / (2 * eps)
    assert grad == pytest.approx(fd, abs=1e-8)


def test_torch_beta_loss_equals_the_jax_one():
    import torch

    rng = np.random.default_rng(1)
    z, y = rng.normal(size=(5, 3)), np.array([0, 2, 1, 1, 0])
    ours = softmax.torch_beta_loss(0.3)(torch.tensor(z), torch.tensor(y))
    assert float(ours) == pytest.approx(float(softmax.beta_cross_entropy(jnp.asarray(z), y, 0.3)), rel=1e-12)
    assert softmax.effective_lr(0.1, 3.0) == pytest.approx(0.9)


def body(width=32):
    stax = ntk.neural_tangents().stax
    return stax.serial(stax.Dense(width, W_std=2**0.5, parameterization="standard"), stax.Relu())


def test_correlated_initialization():
    init, apply_body, _ = body()
    x = jnp.asarray(np.random.default_rng(2).normal(size=(10, 5)))
    # c = -1: the frozen copy cancels the trained one exactly
    f, p = softmax.correlated_network(init, apply_body, 32, 3, x.shape, c=-1.0, seed=0)
    assert float(jnp.abs(f(p, x)).max()) < 1e-12
    # the NTK of the trained parameters does not depend on c
    kernels = []
    for c in (-0.7, 0.3, 1.0):
        f, p = softmax.correlated_network(init, apply_body, 32, 3, x.shape, c=c, seed=5)
        kernels.append(np.asarray(ntk.empirical_ntk(f, p, x)))
    assert kernels[0] == pytest.approx(kernels[1], rel=1e-10) and kernels[1] == pytest.approx(kernels[2], rel=1e-10)
    # ||z_c||^2 = (1 + c) ||z||^2 in expectation over initializations (Monte Carlo, 400 seeds)
    for c in (-0.5, 0.0, 0.5):
        num = den = 0.0
        for seed in range(400):
            f, p = softmax.correlated_network(init, apply_body, 32, 3, x.shape, c=c, seed=seed)
            num += float(jnp.sum(f(p, x) ** 2))
            den += float(jnp.sum((apply_body(p[0], x) @ p[1]) ** 2))
        assert num / den == pytest.approx(1 + c, rel=0.08)


def linear_model(seed=0, d=5, k=3):
    init, apply_fn, _ = ntk.mlp([], k, bias=False)
    x = jnp.asarray(np.random.default_rng(seed).normal(size=(12, d)))
    _, params = init(jax.random.PRNGKey(seed), x.shape)
    y = np.random.default_rng(seed + 1).integers(0, k, 12)
    return apply_fn, params, x, y


def test_eta_beta_squared_collapse_of_the_linearized_model():
    """Two runs with the same eta * beta^2 and the same Z0 (= 0, c = -1) give the same Z(t)."""
    init, apply_body, _ = body(16)
    x = jnp.asarray(np.random.default_rng(3).normal(size=(12, 5)))
    y = np.random.default_rng(4).integers(0, 3, 12)
    f, p = softmax.correlated_network(init, apply_body, 16, 3, x.shape, c=-1.0, seed=1)
    trajs = []
    for beta, eta in ((0.1, 20.0), (2.0, 0.05)):
        res = ntk.gd(f, p, x, jnp.asarray(y), lambda z, t, b=beta: softmax.beta_cross_entropy(z, t, b) * len(t),
                     eta, 30, record=[5, 30], linearized=True)
        trajs.append([beta * o for o in res.linear_outputs["train"]])
    for a, b in zip(*trajs):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12)


def test_tau_z_theory_is_exact_for_a_linear_model():
    apply_fn, params, x, y = linear_model()
    beta, eta = 1.7, 1e-3
    onehot = np.eye(3)[y]
    res = ntk.gd(apply_fn, params, x, jnp.asarray(y), lambda z, t: softmax.beta_cross_entropy(z, t, beta) * len(t),
                 eta, 1, record=[0, 1])
    z_traj = [beta * o for o in res.outputs["train"]]
    theta = np.asarray(ntk.empirical_ntk(apply_fn, params, x, trace=False))
    predicted = softmax.tau_z_theory(theta, z_traj[0], onehot, softmax.effective_lr(eta, beta))
    assert softmax.tau_z_empirical([0, 1], z_traj) == pytest.approx(predicted, rel=1e-9)
    # a linear model has no non-linear part
    lin = ntk.gd(apply_fn, params, x, jnp.asarray(y), lambda z, t: softmax.beta_cross_entropy(z, t, beta) * len(t),
                 eta, 1, record=[0, 1], linearized=True)
    assert math.isinf(softmax.tau_nl_empirical([0, 1], lin.outputs["train"], lin.linear_outputs["train"])) or \
        softmax.tau_nl_empirical([0, 1], lin.outputs["train"], lin.linear_outputs["train"]) > 1e8


def test_tau_nl_of_a_two_layer_linear_network_by_hand():
    """z = V W x is bilinear in (V, W): after one step theta - eta g the non-linear part is exactly
    eta^2 gV gW x, so tau_nl = (||Z(eta) - Z0|| / eta) / (2 beta ||gV gW x||), all by hand in numpy."""
    rng = np.random.default_rng(7)
    n, d, h, k, beta, eta = 4, 3, 5, 3, 1.3, 1e-2
    x = rng.normal(size=(n, d))
    y = rng.integers(0, k, n)
    W, V = rng.normal(size=(h, d)) / np.sqrt(d), rng.normal(size=(k, h)) / np.sqrt(h)

    def apply_fn(p, xs):
        return xs @ p["W"].T @ p["V"].T

    params = {"W": jnp.asarray(W), "V": jnp.asarray(V)}
    res = ntk.gd(apply_fn, params, jnp.asarray(x), jnp.asarray(y),
                 lambda z, t: softmax.beta_cross_entropy(z, t, beta) * len(t), eta, 1, record=[0, 1], linearized=True)
    z_traj = [beta * np.asarray(o) for o in res.outputs["train"]]
    zl_traj = [beta * np.asarray(o) for o in res.linear_outputs["train"]]
    # the gradient by hand: beta_cross_entropy is the mean over examples and the loss given to gd is
    # that mean times N, a scalar gd's own mean leaves alone, so the objective is sum_i CE(beta z_i)
    z0 = x @ W.T @ V.T
    p = np.exp(beta * z0 - (beta * z0).max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    dz = beta * (p - np.eye(k)[y])  # dL/dz, (n, k)
    g_v = dz.T @ (x @ W.T)  # (k, h)
    g_w = V.T @ dz.T @ x  # (h, d)
    nonlinear = beta * eta**2 * (x @ g_w.T @ g_v.T)  # Z(theta1) - Z_lin(theta1), exactly
    np.testing.assert_allclose(z_traj[1] - zl_traj[1], nonlinear, rtol=1e-8, atol=1e-14)
    first = np.linalg.norm(beta * (x @ (W - eta * g_w).T @ (V - eta * g_v).T) - beta * z0) / eta
    expected = first / (2 * np.linalg.norm(nonlinear) / eta**2)
    assert softmax.tau_nl_empirical([0.0, eta], z_traj, zl_traj) == pytest.approx(expected, rel=1e-8)


def test_tau_z_from_network_equals_the_materialized_kernel():
    """Theta v by vjp/jvp in tau_z_from_network against eq. 7 with neural-tangents' (N, N, K, K) kernel."""
    init, apply_body, _ = body(8)
    x = jnp.asarray(np.random.default_rng(5).normal(size=(6, 5)))
    y = np.random.default_rng(6).integers(0, 3, 6)
    f, p = softmax.correlated_network(init, apply_body, 8, 3, x.shape, c=0.3, seed=2)
    beta, eta_tilde = 2.5, 0.7
    theta = np.asarray(ntk.empirical_ntk(f, p, x, trace=False))
    z0 = beta * np.asarray(f(p, x))
    expected = softmax.tau_z_theory(theta / len(y), z0, np.eye(3)[y], eta_tilde)
    assert softmax.tau_z_from_network(f, p, x, jnp.asarray(y), beta, eta_tilde) == pytest.approx(expected, rel=1e-9)


def _brute_force_nonzero_eigs(theta, z):
    """(Theta kron Id_K) times the block-diagonal softmax Hessian, built entry by entry; its
    eigenvalues by a general (non-symmetric) solver, the N zeros dropped."""
    n, k = z.shape
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    big_s = np.zeros((n * k, n * k))
    big_t = np.zeros((n * k, n * k))
    for i in range(n):
        for a in range(k):
            for b in range(k):
                big_s[i * k + a, i * k + b] = p[i, a] * (a == b) - p[i, a] * p[i, b]
            for j in range(n):
                big_t[i * k + a, j * k + a] = theta[i, j]
    ev = np.sort(np.linalg.eigvals(big_t @ big_s).real)
    return ev[n:]


def test_linearized_spectrum_matches_the_explicit_product():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(5, 7))
    theta = a @ a.T + 0.1 * np.eye(5)
    z = 2.0 * rng.normal(size=(5, 4))
    ours = softmax.linearized_spectrum(theta, z)
    assert ours.shape == (5 * 3,)
    np.testing.assert_allclose(ours, _brute_force_nonzero_eigs(theta, z), rtol=1e-8, atol=1e-12)
    assert softmax.linearized_condition(theta, z) == pytest.approx(ours[-1] / ours[0])


def test_linearized_condition_at_a_uniform_softmax_is_the_kernels():
    # Z = 0: S = (Id - 11^T / K) / K has K - 1 eigenvalues 1/K, so kappa(H) = kappa(Theta).
    rng = np.random.default_rng(1)
    a = rng.normal(size=(6, 6))
    theta = a @ a.T + np.eye(6)
    ev = np.linalg.eigvalsh(theta)
    assert softmax.linearized_condition(theta, np.zeros((6, 10))) == pytest.approx(ev[-1] / ev[0], rel=1e-10)
    np.testing.assert_allclose(softmax.linearized_spectrum(theta, np.zeros((6, 10))),
                               np.sort(np.repeat(ev / 10, 9)), rtol=1e-10)


def test_linearized_condition_grows_exponentially_with_the_logit_scale():
    # one example, two classes: S has the single non-zero eigenvalue 2 p (1 - p) ~ 2 exp(-beta dz)
    theta = np.eye(2)
    z = np.array([[1.0, 0.0], [0.0, 0.5]])
    for beta in (5.0, 10.0, 20.0):
        p = 1 / (1 + np.exp(-beta * np.array([1.0, 0.5])))
        expected = (2 * p * (1 - p)).max() / (2 * p * (1 - p)).min()
        assert softmax.linearized_condition(theta, beta * z) == pytest.approx(expected, rel=1e-6)  # eps * kappa


def test_nonlinear_remainder_of_a_smooth_network_is_its_second_order_term():
    # f(W1, W2) = x W1 W2: the remainder of a step s d is exactly s^2 x dW1 dW2.
    rng = np.random.default_rng(3)
    x = jnp.asarray(rng.normal(size=(4, 3)))
    params = (jnp.asarray(rng.normal(size=(3, 5))), jnp.asarray(rng.normal(size=(5, 2))))
    d = (jnp.asarray(rng.normal(size=(3, 5))), jnp.asarray(rng.normal(size=(5, 2))))

    def apply_fn(p, xs):
        return xs @ p[0] @ p[1]

    steps = [1.0, 1e-2, 1e-4]
    out = softmax.nonlinear_remainder(apply_fn, params, x, d, steps)
    exact = float(np.linalg.norm(np.asarray(x @ d[0] @ d[1])))
    assert out["second_order"] == pytest.approx(exact, rel=1e-12)
    np.testing.assert_allclose(np.asarray(out["remainder"]) / np.square(steps), exact, rtol=1e-6)


def test_nonlinear_remainder_of_a_relu_unit_crossing_zero():
    # relu(w x) at w = -eps, x = 1, direction +1: no second derivative, but the step crosses zero at
    # s = eps and the remainder is relu(s - eps) - 0 - s * 0 = s - eps beyond it.
    eps = 1e-3
    out = softmax.nonlinear_remainder(lambda p, xs: jax.nn.relu(p * xs), jnp.asarray(-eps), jnp.ones((1, 1)),
                                      jnp.asarray(1.0), [1e-4, 1e-2, 1.0])
    assert out["second_order"] == 0.0
    np.testing.assert_allclose(out["remainder"], [0.0, 1e-2 - eps, 1.0 - eps], atol=1e-15)

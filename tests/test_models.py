"""Tests for hessian_lab.models: the MLP's loss, backprop gradient and R-operator HVP."""

from __future__ import annotations

import numpy as np
import pytest

from hessian_lab import MLP, make_regression_data, mlp_of_size


def _random_point(net: MLP, seed: int, scale: float = 0.3) -> np.ndarray:
    """An initialisation moved off the symmetric b = 0 point, so all terms are exercised."""
    rng = np.random.default_rng(seed)
    return net.init_params(rng) + scale * rng.standard_normal(net.n_params)


def _unit(n: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(n)
    return v / np.linalg.norm(v)


def _fd_hvp(net: MLP, theta: np.ndarray, v: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Central difference of the backprop gradient along the unit vector v."""
    return (net.grad(theta + h * v) - net.grad(theta - h * v)) / (2 * h)


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


# ---------------------------------------------------------------- exact reference (sympy)
def _sympy_tiny_net():
    """2 inputs, 2 tanh units, 1 output, 3 samples: loss built and differentiated exactly.

    Parameters follow the documented layout: W1 (2 x 2, row-major, [input, unit]), b1, W2
    (2 x 1), b2.
    """
    import sympy as sp

    X = [[sp.Rational(1, 2), -1], [sp.Rational(-3, 4), sp.Rational(1, 3)], [2, sp.Rational(1, 5)]]
    Y = [sp.Rational(1, 3), -1, sp.Rational(7, 10)]
    W1 = sp.Matrix(2, 2, sp.symbols("w1_0:4"))
    b1 = sp.Matrix(1, 2, sp.symbols("b1_0:2"))
    W2 = sp.Matrix(2, 1, sp.symbols("w2_0:2"))
    (b2,) = sp.symbols("b2_0:1")
    theta = [*W1, *b1, *W2, b2]
    loss = 0
    for x, y in zip(X, Y, strict=True):
        hidden = [sp.tanh(x[0] * W1[0, j] + x[1] * W1[1, j] + b1[j]) for j in range(2)]
        f = hidden[0] * W2[0] + hidden[1] * W2[1] + b2
        loss += (f - y) ** 2
    loss = loss / (2 * len(X))
    return loss, theta, np.array(X, dtype=float), np.array(Y, dtype=float)


def test_hvp_matches_exact_symbolic_hessian_of_tiny_net_to_1e_12():
    import sympy as sp

    loss, symbols, X, Y = _sympy_tiny_net()
    net = MLP(X, Y, hidden=(2,))
    assert net.n_params == len(symbols) == 9
    theta = np.array([0.3, -0.7, 1.1, 0.4, -0.2, 0.5, 0.9, -1.3, 0.25])
    point = {s: sp.Rational(t) for s, t in zip(symbols, theta, strict=True)}  # exact binary values
    hess = sp.hessian(loss, symbols)
    H = np.array(hess.subs(point).evalf(30), dtype=float)
    gradient = np.array([sp.diff(loss, s).subs(point).evalf(30) for s in symbols], dtype=float)
    rng = np.random.default_rng(0)
    for v in [*np.eye(9), *rng.standard_normal((3, 9))]:
        exact = H @ v
        scale = max(1.0, np.abs(exact).max())
        assert np.max(np.abs(net.hvp(theta, v) - exact)) <= 1e-12 * scale
        assert np.max(np.abs(net.hvp_fast(theta, v) - exact)) <= 1e-12 * scale
    assert np.max(np.abs(net.grad(theta) - gradient)) <= 1e-13
    assert net.loss(theta) == pytest.approx(float(loss.subs(point).evalf(30)), rel=1e-14)


@pytest.mark.parametrize("hidden", [(), (1,), (6,), (5, 4), (4, 1, 3), (3, 3, 3, 3)])
@pytest.mark.parametrize("n_in, n_out", [(1, 1), (3, 2), (7, 1)])
def test_the_fast_hvp_agrees_with_the_readable_one(hidden, n_in, n_out):
    X, Y = make_regression_data(25, n_in, n_out, rng=6)
    net = MLP(X, Y, hidden=hidden, rng=7)
    theta = _random_point(net, 8)
    for seed in range(3):
        v = _unit(net.n_params, seed)
        readable, fast = net.hvp(theta, v), net.hvp_fast(theta, v)
        assert _rel(fast, readable) <= 1e-13
    net.hvp_fast(theta, v)
    assert _rel(net.hvp(theta, v), readable) == 0.0  # the fast path leaves no trace


# ---------------------------------------------------------------- finite differences
@pytest.mark.parametrize("hidden", [(200,), (40, 30), (30, 25, 20)])
def test_hvp_agrees_with_finite_differences_of_grad_at_a_few_thousand_params(hidden):
    X, Y = make_regression_data(64, 10, 2, rng=1)
    net = MLP(X, Y, hidden=hidden, rng=2)
    assert net.n_params >= 1000
    theta = _random_point(net, 3)
    for seed in range(3):
        v = _unit(net.n_params, seed)
        assert _rel(net.hvp(theta, v), _fd_hvp(net, theta, v)) <= 1e-7


@pytest.mark.parametrize("hidden", [(7,), (5, 4), (4, 3, 3)])
def test_grad_agrees_with_finite_differences_of_loss(hidden):
    X, Y = make_regression_data(20, 3, 2, rng=4)
    net = MLP(X, Y, hidden=hidden, rng=5)
    theta = _random_point(net, 6)
    h = 1e-6
    fd = np.array([(net.loss(theta + h * e) - net.loss(theta - h * e)) / (2 * h)
                   for e in np.eye(net.n_params)])
    assert _rel(net.grad(theta), fd) <= 1e-7


def test_loss_and_grad_agree_with_separate_calls():
    X, Y = make_regression_data(30, 4, 1, rng=0)
    net = MLP(X, Y, hidden=(6, 5))
    theta = _random_point(net, 1)
    value, g = net.loss_and_grad(theta)
    assert value == net.loss(theta)
    np.testing.assert_array_equal(g, net.grad(theta))
    assert value == pytest.approx(0.5 * np.mean(np.sum((net.predict(theta) - Y) ** 2, axis=1)))


# ---------------------------------------------------------------- algebraic properties
@pytest.mark.parametrize("hidden", [(12,), (8, 6), (6, 5, 4)])
def test_hvp_is_linear_in_v(hidden):
    X, Y = make_regression_data(25, 3, 2, rng=7)
    net = MLP(X, Y, hidden=hidden)
    theta = _random_point(net, 8)
    u, w = _unit(net.n_params, 1), _unit(net.n_params, 2)
    combined = net.hvp(theta, 2.5 * u - 0.75 * w)
    separate = 2.5 * net.hvp(theta, u) - 0.75 * net.hvp(theta, w)
    assert _rel(combined, separate) <= 1e-12


@pytest.mark.parametrize("hidden", [(12,), (8, 6), (6, 5, 4)])
def test_implied_hessian_is_symmetric(hidden):
    X, Y = make_regression_data(25, 3, 2, rng=9)
    net = MLP(X, Y, hidden=hidden)
    theta = _random_point(net, 10)
    for seed in range(3):
        u, w = _unit(net.n_params, 2 * seed), _unit(net.n_params, 2 * seed + 1)
        uHw, wHu = u @ net.hvp(theta, w), w @ net.hvp(theta, u)
        scale = np.linalg.norm(net.hvp(theta, u)) + np.linalg.norm(net.hvp(theta, w))
        assert abs(uHw - wHu) <= 1e-12 * scale


def test_dense_hessian_columns_are_hvps_and_it_is_symmetric():
    X, Y = make_regression_data(15, 2, 1, rng=11)
    net = MLP(X, Y, hidden=(4, 3))
    theta = _random_point(net, 12)
    H = net.hessian(theta)
    assert H.shape == (net.n_params, net.n_params)
    np.testing.assert_array_equal(H, H.T)
    v = _unit(net.n_params, 3)
    assert _rel(H @ v, net.hvp(theta, v)) <= 1e-13


def test_dense_hessian_refused_above_5000_params_with_memory_estimate():
    X, Y = make_regression_data(4, 10, 1, rng=0)
    net = MLP(X, Y, hidden=(500,))
    assert net.n_params > 5000
    with pytest.raises(ValueError, match=r"GB.*hvp"):
        net.hessian(net.init_params())


def test_linear_model_hessian_is_the_normal_matrix():
    X, Y = make_regression_data(30, 3, 1, rng=13)
    net = MLP(X, Y, hidden=())
    X1 = np.hstack([X, np.ones((30, 1))])
    H = net.hessian(_random_point(net, 14))
    np.testing.assert_allclose(H, X1.T @ X1 / 30, rtol=1e-13, atol=1e-15)


# ---------------------------------------------------------------- Gauss-Newton
def test_gauss_newton_equals_hessian_when_residuals_vanish():
    X, _ = make_regression_data(20, 3, 2, rng=15)
    teacher = MLP(X, np.zeros((20, 2)), hidden=(5, 4))
    theta = _random_point(teacher, 16)
    net = MLP(X, teacher.predict(theta), hidden=(5, 4))  # a perfect fit at theta
    v = _unit(net.n_params, 4)
    assert _rel(net.gauss_newton_vp(theta, v), net.hvp(theta, v)) <= 1e-12


def test_gauss_newton_is_jt_j_over_n_and_positive_semidefinite():
    X, Y = make_regression_data(10, 2, 2, rng=17)
    net = MLP(X, Y, hidden=(3,))
    theta = _random_point(net, 18)
    n, h = net.n_params, 1e-6
    J = np.column_stack([  # Jacobian of the 10 x 2 outputs, by central differences
        ((net.predict(theta + h * e) - net.predict(theta - h * e)) / (2 * h)).ravel()
        for e in np.eye(n)
    ])
    G = np.column_stack([net.gauss_newton_vp(theta, e) for e in np.eye(n)])
    np.testing.assert_allclose(G, J.T @ J / 10, atol=1e-8)
    assert np.linalg.eigvalsh((G + G.T) / 2).min() >= -1e-12


# ---------------------------------------------------------------- parameters and helpers
def test_parameter_layout_is_weights_then_bias_per_layer():
    net = MLP(np.zeros((2, 3)), np.zeros((2, 2)), hidden=(4,))
    assert net.sizes == (3, 4, 2)
    assert net.n_params == (3 + 1) * 4 + (4 + 1) * 2
    theta = np.arange(net.n_params, dtype=float)
    (W1, b1), (W2, b2) = net.unflatten(theta)
    assert W1.shape == (3, 4) and b1.shape == (4,) and W2.shape == (4, 2) and b2.shape == (2,)
    assert W1[0, 1] == 1 and b1[0] == 12 and W2[0, 0] == 16 and b2[-1] == net.n_params - 1
    W1[0, 0] = -1.0  # views, not copies
    assert theta[0] == -1.0


def test_init_params_is_seeded_and_scaled_by_fan_in():
    X, Y = make_regression_data(5, 400, 1, rng=0)
    net = MLP(X, Y, hidden=(300,), rng=3)
    theta = net.init_params()
    np.testing.assert_array_equal(theta, net.init_params())
    np.testing.assert_array_equal(theta, MLP(X, Y, hidden=(300,), rng=3).init_params())
    assert not np.array_equal(theta, net.init_params(rng=4))
    (W1, b1), (W2, _) = net.unflatten(theta)
    assert np.std(W1) == pytest.approx(1 / np.sqrt(400), rel=0.02)
    assert np.std(W2) == pytest.approx(1 / np.sqrt(300), rel=0.1)
    assert not b1.any()


def test_make_regression_data_is_seeded_smooth_and_of_order_one():
    X, Y = make_regression_data(500, 6, 3, rng=21)
    X2, Y2 = make_regression_data(500, 6, 3, rng=21)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(Y, Y2)
    assert X.shape == (500, 6) and Y.shape == (500, 3)
    assert np.all(np.abs(Y) <= 1.5) and 0.2 < np.std(Y) < 1.0
    _, Y_noisy = make_regression_data(500, 6, 3, rng=21, noise=0.1)
    assert 0.08 < np.std(Y_noisy - Y) < 0.12


@pytest.mark.parametrize(("target", "rtol"), [(1_000, 0.05), (20_000, 0.01), (300_000, 0.005)])
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_mlp_of_size_hits_the_requested_parameter_count(target, rtol, depth):
    net = mlp_of_size(target, depth=depth, n_in=16, n_samples=8)
    assert len(net.hidden) == depth and len(set(net.hidden)) == 1
    assert abs(net.n_params - target) <= rtol * target  # one unit of width is the resolution


# ---------------------------------------------------------------- bad input
def test_bad_inputs_raise_clear_errors():
    X, Y = make_regression_data(10, 3, 1, rng=0)
    net = MLP(X, Y, hidden=(4,))
    theta = net.init_params()
    with pytest.raises(ValueError, match="length"):
        net.grad(theta[:-1])
    with pytest.raises(ValueError, match="length"):
        net.hvp(theta, np.ones(3))
    bad = theta.copy()
    bad[2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        net.loss(bad)
    with pytest.raises(ValueError, match="NaN"):
        net.hvp(theta, bad)
    with pytest.raises(ValueError, match="samples"):
        MLP(X, Y[:5])
    with pytest.raises(ValueError, match="2-D"):
        MLP(np.zeros((2, 2, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="NaN"):
        MLP(np.full((2, 2), np.inf), np.zeros(2))
    with pytest.raises(ValueError, match="hidden width must be an integer >= 1"):
        MLP(X, Y, hidden=(4, 0))
    with pytest.raises(TypeError, match="integer"):
        MLP(X, Y, hidden=(2.5,))
    with pytest.raises(ValueError, match="columns"):
        net.predict(theta, np.zeros((3, 5)))

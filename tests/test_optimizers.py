"""Optimizers: the convergence behaviour the book claims, honest results, no crash on bad luck."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
import scipy.optimize as so

import hessian_lab as hl

# Any warning (e.g. a numpy RuntimeWarning on overflow) is a test failure here.
pytestmark = pytest.mark.filterwarnings("error")


class Counter:
    def __init__(self, fn):
        self.fn, self.calls = fn, 0

    def __call__(self, *args):
        self.calls += 1
        return self.fn(*args)


def energy_norm_errors(path, x_star, H_star):
    """||x_k - x*|| in the norm of H(x*), sqrt(e^T H* e): the natural norm for Newton."""
    errors = path - x_star
    return np.sqrt(np.einsum("ki,ij,kj->k", errors, H_star, errors))


def convergence_orders(errors, floor=1e-13):
    """p_k = log(e_{k+1} / e_k) / log(e_k / e_{k-1}) over the errors above the floor."""
    e = errors[errors > floor]
    return np.log(e[2:] / e[1:-1]) / np.log(e[1:-1] / e[:-2])


def run(name, problem, **kwargs):
    """Run optimizer ``name`` on ``problem`` (a Problem) with the usual arguments."""
    if name == "newton":
        return hl.newton(problem.f, problem.grad, problem.hess, problem.x0, **kwargs)
    if name == "pure_newton":
        return hl.newton(problem.f, problem.grad, problem.hess, problem.x0, globalize=False,
                         **kwargs)
    return getattr(hl, name)(problem.f, problem.grad, problem.x0, **kwargs)


FIRST_ORDER_SETTINGS = {
    "gradient_descent": {"lr": 0.1},
    "momentum": {"lr": 0.1, "beta": 0.5},
    "sam": {"lr": 0.1, "rho": 0.01},
}
ALL_SMOOTH = ["gradient_descent", "momentum", "sam", "newton", "pure_newton", "bfgs", "lbfgs"]


def settings(name):
    return dict(FIRST_ORDER_SETTINGS.get(name, {}))


# ----------------------------------------------------------------------------- Newton


def test_newton_converges_quadratically_near_the_rosenbrock_minimum():
    problem = hl.rosenbrock(2)
    x_star = np.ones(2)
    H_star = problem.hess(x_star)
    for globalize, start in [(True, problem.x0), (False, np.array([0.95, 0.9]))]:
        res = hl.newton(problem.f, problem.grad, problem.hess, start, globalize=globalize,
                        tol=1e-14, max_iter=50)
        assert res.success, res.message
        orders = convergence_orders(energy_norm_errors(res.path, x_star, H_star))
        # the last informative iterations: order close to 2
        assert np.all(np.abs(orders[-2:] - 2.0) < 0.25), orders


def test_newton_euclidean_order_estimates_oscillate_around_two():
    # In the Euclidean norm successive estimates alternate (e.g. 4.0 then 1.3) because the
    # error changes direction; their geometric mean is still about 2.
    problem = hl.rosenbrock(2)
    res = hl.newton(problem.f, problem.grad, problem.hess, np.array([0.9, 0.8]),
                    globalize=False, tol=1e-14)
    orders = convergence_orders(np.linalg.norm(res.path - 1.0, axis=1))
    assert math.sqrt(orders[-2] * orders[-3]) == pytest.approx(2.0, abs=0.35)


def test_pure_newton_goes_to_the_saddle_and_globalised_newton_to_a_minimum():
    problem = hl.seed_quartic()  # x^4 + y^4 - 4xy
    start = np.array([0.3, 0.2])
    pure = hl.newton(problem.f, problem.grad, problem.hess, start, globalize=False)
    assert pure.success
    np.testing.assert_allclose(pure.x, [0.0, 0.0], atol=1e-8)
    assert pure.fun > problem.f(start) - 1e-12 or pure.fun == pytest.approx(0.0)
    eigenvalues = np.linalg.eigvalsh(problem.hess(pure.x))
    assert eigenvalues[0] < 0 < eigenvalues[1]  # a saddle

    globalised = hl.newton(problem.f, problem.grad, problem.hess, start)
    assert globalised.success
    assert np.allclose(np.abs(globalised.x), 1.0, atol=1e-6)
    assert globalised.x[0] * globalised.x[1] > 0
    assert globalised.fun == pytest.approx(-2.0)
    assert globalised.extras["shifts"][0] > 0  # H(0.3, 0.2) is indefinite: shifted
    assert globalised.extras["shifts"][-1] == 0  # near the minimum: plain Newton


def test_globalised_newton_decreases_f_at_every_step():
    problem = hl.himmelblau()
    res = hl.newton(problem.f, problem.grad, problem.hess, np.array([-0.3, -0.9]))
    values = [problem.f(x) for x in res.path]
    assert res.success
    assert np.all(np.diff(values) < 0)


def test_pure_newton_stops_on_a_singular_hessian_without_raising():
    def f(z):
        return float((z[0] - z[1]) ** 2 + z[0] + z[1])  # Hessian [[2,-2],[-2,2]], singular

    def grad(z):
        d = 2.0 * (z[0] - z[1])
        return np.array([d + 1.0, -d + 1.0])

    def hess(z):
        return np.array([[2.0, -2.0], [-2.0, 2.0]])

    res = hl.newton(f, grad, hess, [1.0, 0.0], globalize=False)
    assert not res.success and res.status == 4
    assert "singular" in res.message
    assert res.nit == 0 and res.path.shape == (1, 2)


def test_globalised_newton_handles_a_singular_hessian_by_shifting():
    # f = x^4 + y^2 at (0, 1): H = diag(0, 2) is singular; the shifted H + tau I is not.
    def f(z):
        return float(z[0] ** 4 + z[1] ** 2)

    def grad(z):
        return np.array([4 * z[0] ** 3, 2 * z[1]])

    def hess(z):
        return np.array([[12 * z[0] ** 2, 0.0], [0.0, 2.0]])

    pure = hl.newton(f, grad, hess, [0.0, 1.0], globalize=False)
    assert not pure.success and pure.status == 4
    res = hl.newton(f, grad, hess, [0.0, 1.0])
    assert res.success and res.extras["shifts"][0] > 0
    np.testing.assert_allclose(res.x, 0.0, atol=1e-6)


def test_pure_newton_stepping_out_of_the_domain_reports_nan():
    # f(x) = x - log x, minimum at 1; from 3 the Newton step lands at -3 where log is NaN.
    def f(x):
        return float(np.sum(x - np.log(x)))

    def grad(x):
        return 1.0 - 1.0 / x

    def hess(x):
        return np.diag(1.0 / x**2)

    pure = hl.newton(f, grad, hess, [3.0], globalize=False)
    assert not pure.success and pure.status == 3
    assert "NaN" in pure.message
    assert pure.path.shape == (pure.nit + 1, 1)
    globalised = hl.newton(f, grad, hess, [3.0])  # the line search backs off from NaN
    assert globalised.success and globalised.x[0] == pytest.approx(1.0)


# ----------------------------------------------------------------------------- iteration counts


@pytest.mark.parametrize("name, target", [("newton", 25), ("bfgs", 40), ("lbfgs", 45)])
def test_iteration_counts_on_2d_rosenbrock_meet_the_targets(name, target):
    res = run(name, hl.rosenbrock(2), tol=1e-5)
    assert res.success, res.message
    assert res.nit <= target
    assert np.max(np.abs(res.jac)) <= 1e-5
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-4)


# ----------------------------------------------------------------------------- BFGS


def test_bfgs_secant_condition_holds_after_every_update():
    problem = hl.rosenbrock(2)
    res = hl.bfgs(problem.f, problem.grad, problem.x0, tol=1e-8)
    assert res.success
    residuals = res.extras["secant_residuals"]
    assert len(residuals) == res.nit - res.extras["skipped_updates"]
    assert max(residuals) < 1e-10


def test_bfgs_iterates_follow_the_books_update_formula():
    """Replay the run: s, y from the path; B from bfgs_update; each step along -B g."""
    problem = hl.rosenbrock(2)
    res = hl.bfgs(problem.f, problem.grad, problem.x0, tol=1e-8)
    assert res.extras["skipped_updates"] == 0 and res.extras["resets"] == 0
    B = np.eye(2)
    for k in range(res.nit):
        g = problem.grad(res.path[k])
        step = res.path[k + 1] - res.path[k]
        direction = -B @ g
        cosine = step @ direction / (np.linalg.norm(step) * np.linalg.norm(direction))
        assert cosine == pytest.approx(1.0, abs=1e-10)
        s, y = step, problem.grad(res.path[k + 1]) - g
        assert y @ s > 0  # the Wolfe line search guarantees the curvature condition
        if k == 0:
            B = (y @ s) / (y @ y) * np.eye(2)  # first-step scaling
        B = hl.bfgs_update(B, s, y)
        np.testing.assert_allclose(B @ y, s, rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(B, res.hess_inv, rtol=1e-9)  # scipy's name for B


def test_bfgs_update_keeps_symmetry_and_positive_definiteness():
    rng = np.random.default_rng(4)
    for _ in range(20):
        n = int(rng.integers(2, 8))
        M = rng.standard_normal((n, n))
        B = M @ M.T + 0.1 * np.eye(n)
        s = rng.standard_normal(n)
        y = s + 0.5 * rng.standard_normal(n)
        if y @ s <= 0:
            y = -y + 2 * s
        B_new = hl.bfgs_update(B, s, y)
        np.testing.assert_allclose(B_new @ y, s, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(B_new, B_new.T, rtol=1e-10, atol=1e-12)
        assert np.linalg.eigvalsh((B_new + B_new.T) / 2)[0] > 0


def test_bfgs_with_given_b0_uses_it_unscaled_and_rejects_bad_ones():
    problem = hl.quadratic(10.0, n=2)
    exact_inverse = np.linalg.inv(problem.hess(problem.x0))
    res = hl.bfgs(problem.f, problem.grad, problem.x0, B0=exact_inverse)
    assert res.nit == 1  # with the exact inverse Hessian the first step is Newton's
    with pytest.raises(ValueError, match="positive definite"):
        hl.bfgs(problem.f, problem.grad, problem.x0, B0=-np.eye(2))
    with pytest.raises(ValueError, match="shape"):
        hl.bfgs(problem.f, problem.grad, problem.x0, B0=np.eye(3))


def test_bfgs_with_exact_line_searches_solves_a_quadratic_in_about_n_steps():
    # Quadratic termination: with exact line searches (tiny c2) BFGS needs at most n steps
    # in exact arithmetic; allow one more for rounding at kappa = 1e4.
    problem = hl.quadratic(1e4, n=6, rng=1)
    exact = hl.bfgs(problem.f, problem.grad, problem.x0, tol=1e-8, c1=1e-10, c2=1e-6)
    assert exact.success and exact.nit <= problem.n + 1
    default = hl.bfgs(problem.f, problem.grad, problem.x0, tol=1e-8)
    assert default.success


# ----------------------------------------------------------------------------- L-BFGS


def test_two_loop_equals_the_explicit_bfgs_matrix_times_g():
    rng = np.random.default_rng(5)
    n, m, gamma = 7, 5, 0.37
    s_list = [rng.standard_normal(n) for _ in range(m)]
    y_list = [s + 0.3 * rng.standard_normal(n) for s in s_list]
    assert all(y @ s > 0 for s, y in zip(s_list, y_list, strict=True))
    B = gamma * np.eye(n)
    for s, y in zip(s_list, y_list, strict=True):
        B = hl.bfgs_update(B, s, y)
    g = rng.standard_normal(n)
    np.testing.assert_allclose(hl.two_loop(g, s_list, y_list, gamma), B @ g, rtol=1e-10)
    g_copy = g.copy()
    hl.two_loop(g, s_list, y_list, gamma)
    np.testing.assert_array_equal(g, g_copy)  # g is not modified
    np.testing.assert_allclose(hl.two_loop(g, [], [], gamma), gamma * g)


def test_the_in_place_two_loop_of_lbfgs_agrees_with_the_readable_one():
    from hessian_lab.optimizers import _two_loop_in_place

    rng = np.random.default_rng(11)
    for n, m in [(1, 1), (3, 2), (50, 10), (1000, 7)]:
        s_list = [rng.standard_normal(n) for _ in range(m)]
        y_list = [s + 0.2 * rng.standard_normal(n) for s in s_list]
        pairs = [(s, y, 1.0 / (y @ s)) for s, y in zip(s_list, y_list, strict=True)]
        g, gamma = rng.standard_normal(n), float(rng.uniform(0.1, 2.0))
        g_copy = g.copy()
        fast = _two_loop_in_place(g, pairs, gamma)
        np.testing.assert_allclose(fast, hl.two_loop(g, s_list, y_list, gamma),
                                   rtol=1e-12, atol=1e-12 * np.abs(fast).max())
        np.testing.assert_array_equal(g, g_copy)


def test_lbfgs_never_allocates_an_n_by_n_array():
    n, m = 20_000, 10  # an n x n float array would take 3.2 GB
    problem = hl.rosenbrock(n, kind="extended")
    tracemalloc.start()
    try:
        res = hl.lbfgs(problem.f, problem.grad, problem.x0, m=m, tol=1e-5, store_path=False)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        control = np.ones((2000, 2000))  # positive control: tracemalloc sees numpy arrays
        _, control_peak = tracemalloc.get_traced_memory()
        del control
    finally:
        tracemalloc.stop()
    assert res.success, res.message
    assert control_peak >= 2000 * 2000 * 8
    pair_memory = 2 * (m + 1) * n * 8  # m pairs, and the new pair before the oldest goes
    assert peak < pair_memory + 30 * n * 8  # the (s, y) memory plus a few vectors
    assert peak < n * n * 8 / 100


def test_lbfgs_iteration_count_does_not_grow_with_n_on_the_separable_problem():
    small = hl.lbfgs(*_fg_x0(hl.rosenbrock(2, kind="extended")), tol=1e-5)
    large = hl.lbfgs(*_fg_x0(hl.rosenbrock(2000, kind="extended")), tol=1e-5,
                     store_path=False)
    assert small.success and large.success
    assert large.nit <= 1.25 * small.nit + 5
    np.testing.assert_allclose(large.x, 1.0, atol=1e-4)


def _fg_x0(problem):
    return problem.f, problem.grad, problem.x0


def test_lbfgs_rejects_bad_memory():
    problem = hl.rosenbrock(2)
    with pytest.raises(ValueError, match="m"):
        hl.lbfgs(problem.f, problem.grad, problem.x0, m=0)


# ----------------------------------------------------------------------------- gradient descent


@pytest.mark.parametrize("kappa", [10.0, 100.0, 1000.0])
@pytest.mark.parametrize("start", ["smallest-eigenvector", "mixed"])
def test_gradient_descent_takes_the_iterations_its_rate_predicts(kappa, start):
    problem = hl.quadratic(kappa)  # diagonal, eigenvalues 1 and kappa
    x0 = np.array([1.0, 0.0]) if start == "smallest-eigenvector" else np.array([1.0, 1.0])
    tol = 1e-6
    # lr = 1 / lambda_max: the slow component shrinks by (1 - 1/kappa) per step, the fast
    # one vanishes after the first step; ||grad||_inf = |x_1| <= tol after k steps.
    predicted = math.ceil(math.log(tol) / math.log(1.0 - 1.0 / kappa))
    res = hl.gradient_descent(problem.f, problem.grad, x0, lr=1.0 / kappa, tol=tol,
                              max_iter=10 * predicted)
    assert res.success
    assert abs(res.nit - predicted) <= 2


def test_gradient_descent_error_follows_the_rate_on_a_rotated_quadratic():
    kappa = 200.0
    problem = hl.quadratic(kappa, n=5, rng=3)
    eigenvalues, eigenvectors = np.linalg.eigh(problem.hess(problem.x0))
    x0 = eigenvectors[:, 0]  # the smallest eigenvector, ||x0|| = 1
    reduction = 1e-6
    predicted = math.ceil(math.log(reduction) / math.log(1.0 - 1.0 / kappa))
    res = hl.gradient_descent(problem.f, problem.grad, x0, lr=1.0 / eigenvalues[-1], tol=0.0,
                              max_iter=predicted + 10)
    errors = np.linalg.norm(res.path, axis=1)  # x* = 0
    reached = int(np.argmax(errors <= reduction))
    assert abs(reached - predicted) <= 2
    assert not res.success and "max_iter" in res.message


def test_best_fixed_step_gives_rate_kappa_minus_one_over_kappa_plus_one():
    kappa = 100.0
    problem = hl.quadratic(kappa)
    rate = (kappa - 1.0) / (kappa + 1.0)
    res = hl.gradient_descent(problem.f, problem.grad, [1.0, 1.0], lr=2.0 / (1.0 + kappa),
                              tol=0.0, max_iter=50)
    errors = np.linalg.norm(res.path, axis=1)
    np.testing.assert_allclose(errors[1:] / errors[:-1], rate, rtol=1e-10)


def test_gradient_descent_with_line_search_decreases_f_monotonically():
    problem = hl.rosenbrock(2)
    res = hl.gradient_descent(problem.f, problem.grad, problem.x0, lr=1.0, line_search=True,
                              max_iter=200)
    values = [problem.f(x) for x in res.path]
    assert np.all(np.diff(values) < 0)
    assert res.fun < problem.f(problem.x0) / 100


def test_gradient_descent_with_too_large_a_step_diverges_without_raising():
    problem = hl.quadratic(10.0)
    res = hl.gradient_descent(problem.f, problem.grad, problem.x0, lr=1.0, max_iter=100_000)
    assert not res.success and res.status == 3
    assert "NaN or infinite" in res.message
    assert res.path.shape == (res.nit + 1, 2)


# ----------------------------------------------------------------------------- momentum


def test_momentum_with_beta_zero_is_gradient_descent():
    problem = hl.quadratic(30.0, n=3, rng=2)
    gd = hl.gradient_descent(problem.f, problem.grad, problem.x0, lr=0.02, max_iter=40)
    heavy = hl.momentum(problem.f, problem.grad, problem.x0, lr=0.02, beta=0.0, max_iter=40)
    np.testing.assert_allclose(heavy.path, gd.path, rtol=1e-14, atol=1e-15)


def test_momentum_with_tuned_parameters_beats_gradient_descent_by_far():
    kappa = 100.0
    problem = hl.quadratic(kappa)
    root = math.sqrt(kappa)
    lr, beta = (2.0 / (root + 1.0)) ** 2, ((root - 1.0) / (root + 1.0)) ** 2
    heavy = hl.momentum(problem.f, problem.grad, problem.x0, lr=lr, beta=beta, tol=1e-8)
    gd = hl.gradient_descent(problem.f, problem.grad, problem.x0, lr=1 / kappa, tol=1e-8)
    assert heavy.success and gd.success
    assert heavy.nit < gd.nit / 5


# ----------------------------------------------------------------------------- SAM


def test_sam_takes_the_gradient_at_the_perturbed_point_and_applies_it_at_w():
    problem = hl.rosenbrock(2)
    w = np.array([-0.5, 0.8])
    rho, lr = 0.1, 1e-3
    res = hl.sam(problem.f, problem.grad, w, rho=rho, lr=lr, max_iter=1)
    g = problem.grad(w)
    perturbed = w + rho * g / np.linalg.norm(g)
    expected = w - lr * problem.grad(perturbed)
    np.testing.assert_allclose(res.path[1], expected, rtol=1e-15)
    assert not np.allclose(expected, w - lr * g)  # not a plain gradient step
    assert not np.allclose(expected, perturbed - lr * problem.grad(perturbed))  # not from w+e


def test_sam_runs_its_budget_and_says_so():
    problem = hl.quadratic(10.0)
    res = hl.sam(problem.f, problem.grad, problem.x0, rho=0.05, lr=0.05, max_iter=300)
    assert res.success and res.status == 1 and res.nit == 300
    assert "budget" in res.message and "max_iter = 300" in res.message
    assert res.njev == 2 * 300 + 1
    assert np.linalg.norm(res.x) < 0.1  # it hovers near the minimum


# ----------------------------------------------------------------------------- least squares


CURVE_FITS = {
    "small-residual": {},
    "with-offset": {"offset": True},
    "large-residual": {"large_residual": True},
    "large-residual-offset": {"large_residual": True, "offset": True},
}


@pytest.mark.parametrize("variant", CURVE_FITS)
@pytest.mark.parametrize("method", ["gauss_newton", "levenberg_marquardt"])
def test_least_squares_methods_agree_with_scipy(variant, method):
    problem = hl.curve_fit_problem(**CURVE_FITS[variant])
    reference = so.least_squares(problem.residual, problem.theta0, jac=problem.jacobian,
                                 xtol=1e-15, ftol=1e-15, gtol=1e-15)
    optimizer = getattr(hl, method)
    res = optimizer(problem.residual, problem.jacobian, problem.theta0, tol=1e-8,
                    max_iter=200)
    assert res.success, res.message
    np.testing.assert_allclose(res.x, reference.x, rtol=1e-6)
    # scipy.optimize.least_squares' vocabulary: fun = residuals, jac = Jacobian, cost = L
    assert res.cost == pytest.approx(reference.cost, rel=1e-9)
    np.testing.assert_allclose(res.fun, reference.fun, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(res.jac, reference.jac, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(res.grad, problem.grad(res.x))
    assert res.optimality == np.max(np.abs(res.grad)) <= 1e-8
    assert isinstance(res, hl.LeastSquaresResult) and res.hess_inv is None


def test_gauss_newton_converges_fast_on_a_small_residual_fit_and_slowly_on_a_large_one():
    small, large = hl.curve_fit_problem(), hl.curve_fit_problem(large_residual=True)
    fast = hl.gauss_newton(small.residual, small.jacobian, small.theta0, tol=1e-10)
    slow = hl.gauss_newton(large.residual, large.jacobian, large.theta0, tol=1e-10)
    assert fast.success and slow.success
    assert fast.nit < slow.nit


def test_gauss_newton_stops_on_a_rank_deficient_jacobian_and_lm_does_not():
    t = np.linspace(0.0, 1.0, 10)
    y = np.sin(t)

    def residual(theta):  # theta[1] does not enter the model
        return theta[0] * t - y

    def jacobian(theta):
        return np.column_stack([t, np.zeros_like(t)])

    gn = hl.gauss_newton(residual, jacobian, [0.0, 0.0])
    assert not gn.success and gn.status == 4
    assert "rank-deficient" in gn.message and "levenberg_marquardt" in gn.message
    lm = hl.levenberg_marquardt(residual, jacobian, [0.0, 0.0])
    assert lm.success
    assert lm.x[0] == pytest.approx((t @ y) / (t @ t))


def test_levenberg_marquardt_never_increases_the_loss():
    problem = hl.curve_fit_problem(large_residual=True, offset=True)
    res = hl.levenberg_marquardt(problem.residual, problem.jacobian, np.array([5.0, 0.1, -2.0]),
                                 tol=1e-8)
    losses = [problem.loss(theta) for theta in res.path]
    assert res.success
    assert np.all(np.diff(losses) <= 0)
    assert len(res.extras["lambdas"]) == res.nit


def test_levenberg_marquardt_reports_a_tolerance_below_rounding_level():
    problem = hl.curve_fit_problem(offset=True)
    res = hl.levenberg_marquardt(problem.residual, problem.jacobian, problem.theta0, tol=1e-13)
    assert not res.success and res.status == 2
    assert "rounding" in res.message


def test_least_squares_jacobian_of_the_wrong_shape_is_a_clear_error():
    problem = hl.curve_fit_problem()
    with pytest.raises(ValueError, match="shape"):
        hl.gauss_newton(problem.residual, lambda th: problem.jacobian(th).T, problem.theta0)


# ----------------------------------------------------------------------------- every optimizer


def least_squares_run(name, store_path=True, **kwargs):
    problem = hl.curve_fit_problem()
    optimizer = getattr(hl, name)
    return optimizer(problem.residual, problem.jacobian, problem.theta0, store_path=store_path,
                     **kwargs)


@pytest.mark.parametrize("name", ALL_SMOOTH)
def test_path_holds_every_iterate_from_x0_to_x(name):
    problem = hl.quadratic(5.0, n=3, rng=0)
    res = run(name, problem, max_iter=60, **settings(name))
    assert res.path.shape == (res.nit + 1, problem.n)
    np.testing.assert_array_equal(res.path[0], problem.x0)
    np.testing.assert_array_equal(res.path[-1], res.x)
    short = run(name, problem, max_iter=60, store_path=False, **settings(name))
    assert short.path.shape == (2, problem.n)
    np.testing.assert_array_equal(short.path[0], problem.x0)
    np.testing.assert_array_equal(short.x, res.x)
    np.testing.assert_array_equal(short.path[-1], res.x)


@pytest.mark.parametrize("name", ["gauss_newton", "levenberg_marquardt"])
def test_least_squares_path_holds_every_iterate(name):
    res = least_squares_run(name)
    assert res.path.shape == (res.nit + 1, 2)
    np.testing.assert_array_equal(res.path[-1], res.x)
    assert least_squares_run(name, store_path=False).path.shape == (2, 2)


@pytest.mark.parametrize("name", ALL_SMOOTH)
def test_counters_count_every_call(name):
    problem = hl.rosenbrock(2)
    f, grad, hess = Counter(problem.f), Counter(problem.grad), Counter(problem.hess)
    counted = hl.Problem("counted", 2, f, grad, hess, problem.x0)
    kwargs = {"gradient_descent": {"lr": 1e-3, "line_search": True}}.get(name, settings(name))
    if name in FIRST_ORDER_SETTINGS:
        kwargs["lr"] = 1e-3
    res = run(name, counted, max_iter=30, **kwargs)
    assert (res.nfev, res.njev, res.nhev) == (f.calls, grad.calls, hess.calls)
    assert res.njev >= res.nit


@pytest.mark.parametrize("name", ["gauss_newton", "levenberg_marquardt"])
def test_least_squares_counters_count_every_call(name):
    problem = hl.curve_fit_problem()
    residual, jacobian = Counter(problem.residual), Counter(problem.jacobian)
    res = getattr(hl, name)(residual, jacobian, problem.theta0)
    assert (res.nfev, res.njev, res.nhev) == (residual.calls, jacobian.calls, 0)


@pytest.mark.parametrize("name", ALL_SMOOTH)
def test_stopping_on_the_gradient_or_max_iter_is_reported(name):
    problem = hl.quadratic(4.0, n=2)
    converged = run(name, problem, tol=1e-4, max_iter=5000, **settings(name))
    if name == "sam":
        assert converged.status == 1 and "budget" in converged.message
    else:
        assert converged.success and converged.status == 0
        assert "Converged" in converged.message and "tol" in converged.message
        assert np.max(np.abs(converged.jac)) <= 1e-4
    stopped = run(name, hl.rosenbrock(2), tol=1e-12, max_iter=2, **settings(name))
    assert stopped.nit == 2 and stopped.status == 1
    assert "max_iter = 2" in stopped.message
    assert stopped.success == (name == "sam")


@pytest.mark.parametrize("name", ALL_SMOOTH)
def test_max_iter_zero_returns_the_start(name):
    problem = hl.rosenbrock(2)
    res = run(name, problem, max_iter=0, **settings(name))
    assert res.nit == 0 and res.path.shape == (1, 2)
    np.testing.assert_array_equal(res.x, problem.x0)
    assert res.fun == problem.f(problem.x0)


@pytest.mark.parametrize("name", ALL_SMOOTH)
def test_nan_at_the_start_stops_with_success_false(name):
    problem = hl.rosenbrock(2)
    nan_f = hl.Problem("nan", 2, lambda x: float("nan"), problem.grad, problem.hess, problem.x0)
    res = run(name, nan_f, **settings(name))
    assert not res.success and res.status == 3
    assert "NaN or infinite" in res.message
    nan_grad = hl.Problem("nan", 2, problem.f, lambda x: np.full(2, np.nan), problem.hess,
                          problem.x0)
    res = run(name, nan_grad, **settings(name))
    assert not res.success and res.status == 3


@pytest.mark.parametrize("name", ALL_SMOOTH)
@pytest.mark.parametrize("factory", [hl.seed_cubic, hl.monkey_saddle])
def test_functions_unbounded_below_never_make_an_optimizer_raise(name, factory, capfd):
    problem = factory()
    res = run(name, problem, max_iter=300, **settings(name))
    assert isinstance(res.message, str) and res.message
    if name not in ("sam", "pure_newton"):  # SAM: budget; pure Newton: finds the critical point
        assert not res.success
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""


def test_overflowing_hessian_stops_newton_cleanly():
    def f(x):
        return float(np.exp(x[0] ** 2))

    def grad(x):
        return np.array([2 * x[0] * np.exp(x[0] ** 2)])

    def hess(x):
        return np.array([[(2 + 4 * x[0] ** 2) * np.exp(x[0] ** 2)]])

    res = hl.newton(f, grad, hess, [30.0], globalize=False)
    assert not res.success and res.status == 3


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"tol": -1.0}, ValueError, "tol"),
        ({"tol": float("nan")}, ValueError, "tol"),
        ({"tol": "1e-6"}, TypeError, "tol"),
        ({"max_iter": -1}, ValueError, "max_iter"),
        ({"max_iter": 2.5}, TypeError, "max_iter .*without a decimal point"),
        ({"max_iter": True}, TypeError, "max_iter"),
    ],
)
@pytest.mark.parametrize("name", ALL_SMOOTH)
def test_bad_settings_raise_type_or_value_error(name, kwargs, error, message):
    # the wrong kind of thing is a TypeError, the right kind out of range a ValueError
    with pytest.raises(error, match=message):
        run(name, hl.rosenbrock(2), **kwargs, **settings(name))


@pytest.mark.parametrize("name", ALL_SMOOTH)
def test_bad_start_or_non_callable_raises(name):
    problem = hl.rosenbrock(2)
    bad = hl.Problem("bad", 2, problem.f, problem.grad, problem.hess, np.array([np.nan, 1.0]))
    with pytest.raises(ValueError, match="x0"):
        run(name, bad, **settings(name))
    not_callable = hl.Problem("bad", 2, 3.0, problem.grad, problem.hess, problem.x0)
    with pytest.raises(TypeError, match="callable"):
        run(name, not_callable, **settings(name))


@pytest.mark.parametrize(
    "call",
    [
        lambda p: hl.gradient_descent(p.f, p.grad, p.x0, lr=0.0),
        lambda p: hl.momentum(p.f, p.grad, p.x0, beta=1.0),
        lambda p: hl.sam(p.f, p.grad, p.x0, rho=-0.1),
        lambda p: hl.levenberg_marquardt(p.f, p.grad, p.x0, lam0=0.0),
    ],
)
def test_bad_step_parameters_raise_value_error(call):
    with pytest.raises(ValueError):
        call(hl.rosenbrock(2))


def test_result_fields_follow_scipy_names():
    problem = hl.rosenbrock(2)
    res = hl.bfgs(problem.f, problem.grad, problem.x0)
    for name in ("x", "fun", "jac", "nit", "nfev", "njev", "nhev", "success", "message",
                 "status", "path", "extras"):
        assert hasattr(res, name)
    assert res.fun == problem.f(res.x)
    np.testing.assert_array_equal(res.jac, problem.grad(res.x))


@pytest.mark.parametrize("name", ALL_SMOOTH)
def test_gradient_of_the_wrong_shape_is_a_clear_error(name):
    problem = hl.rosenbrock(2)
    bad = hl.Problem("bad", 2, problem.f, lambda x: np.ones(3), problem.hess, problem.x0)
    with pytest.raises(ValueError, match="shape"):
        run(name, bad, **settings(name))

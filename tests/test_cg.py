"""Conjugate gradients, Newton-CG and Nesterov's method, checked against theory and scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse.linalg as sla
from scipy.optimize import minimize

from hessian_lab import (
    conjugate_gradient,
    gradient_descent,
    nesterov,
    newton_cg,
    quadratic,
    rosenbrock,
    seed_quartic,
)
from hessian_lab.cg import CG_CONVERGED, CG_MAX_ITER, CG_NEGATIVE_CURVATURE


def spd(n, kappa, seed=0, distinct=None):
    """A random symmetric positive definite matrix with eigenvalues in [1, kappa]."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    lam = np.geomspace(1, kappa, n) if distinct is None else \
        np.resize(np.geomspace(1, kappa, distinct), n)
    return (Q * lam) @ Q.T, lam


# --------------------------------------------------------------------------- CG


def test_cg_solves_an_spd_system_and_the_callable_form_agrees():
    A, _ = spd(60, 1e3)
    b = np.random.default_rng(1).standard_normal(60)
    res = conjugate_gradient(A, b, rtol=1e-12)
    assert res.success and res.status == CG_CONVERGED
    assert np.allclose(res.x, np.linalg.solve(A, b), rtol=1e-8, atol=1e-10)
    assert res.residual_norm <= 1e-12 * np.linalg.norm(b)
    assert res.n_matvec == res.nit and res.residuals.size == res.nit + 1
    by_products = conjugate_gradient(lambda v: A @ v, b, rtol=1e-12)
    assert by_products.nit == res.nit and np.allclose(by_products.x, res.x)


def test_cg_ends_in_as_many_steps_as_there_are_distinct_eigenvalues():
    A, _ = spd(200, 50.0, distinct=4)
    b = np.ones(200)
    res = conjugate_gradient(A, b, rtol=1e-10)
    assert res.success and res.nit <= 5  # 4 in exact arithmetic


def test_cg_beats_its_sqrt_kappa_bound_and_gradient_descent():
    """||e_k||_A <= 2 ((sqrt k - 1)/(sqrt k + 1))^k ||e_0||_A, k = kappa; so the relative
    residual reaches rtol within the bound's iteration count (residual <= sqrt(kappa) x
    the A-norm error), while gradient descent needs about kappa ln(1/rtol) / 2 steps."""
    kappa, rtol = 1e4, 1e-8
    A, _ = spd(400, kappa, seed=3)
    b = np.random.default_rng(4).standard_normal(400)
    res = conjugate_gradient(A, b, rtol=rtol)
    q = (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)
    bound = math.ceil(math.log(rtol / (2 * math.sqrt(kappa))) / math.log(q))
    assert res.success and res.nit <= bound
    gd_steps = math.log(rtol) / math.log((kappa - 1) / (kappa + 1))
    assert res.nit < gd_steps / 100


def test_cg_callback_sees_every_iterate_and_the_a_norm_error_never_grows():
    A, _ = spd(60, 100.0, seed=5)
    b = np.random.default_rng(6).standard_normal(60)
    exact = np.linalg.solve(A, b)
    iterates = []
    res = conjugate_gradient(A, b, rtol=1e-10, callback=iterates.append)
    assert len(iterates) == res.nit and np.array_equal(iterates[-1], res.x)
    errors = [math.sqrt((x - exact) @ A @ (x - exact)) for x in [np.zeros(60)] + iterates]
    pairs = zip(errors[:-1], errors[1:], strict=True)
    assert all(later <= earlier * (1 + 1e-12) for earlier, later in pairs)
    iterates[0][:] = np.nan  # a copy: the run is not affected by what the callback keeps
    assert np.isfinite(res.x).all()


def test_cg_counts_an_extra_product_for_a_nonzero_start():
    A, _ = spd(30, 10.0)
    b = np.ones(30)
    exact = np.linalg.solve(A, b)
    res = conjugate_gradient(A, b, x0=exact + 1e-3)
    assert res.success and res.n_matvec == res.nit + 1
    at_solution = conjugate_gradient(A, b, x0=exact, rtol=1e-6)
    assert at_solution.nit == 0 and at_solution.n_matvec == 1


def test_cg_matches_scipys_iteration_count():
    A, _ = spd(300, 1e3, seed=5)
    b = np.random.default_rng(6).standard_normal(300)
    count = {"n": 0}

    def callback(_):
        count["n"] += 1

    ref, info = sla.cg(A, b, rtol=1e-8, atol=0.0, callback=callback)
    res = conjugate_gradient(A, b, rtol=1e-8)
    assert info == 0 and res.success
    assert abs(res.nit - count["n"]) <= 1
    assert np.allclose(res.x, ref, rtol=1e-6, atol=1e-8)


def test_cg_reports_negative_curvature_with_the_direction():
    A = np.diag([2.0, 1.0, -0.5])
    res = conjugate_gradient(A, [1.0, 1.0, 1.0])
    assert res.status == CG_NEGATIVE_CURVATURE and not res.success
    d = res.negative_curvature
    assert d @ A @ d <= 0 and res.curvature == pytest.approx((d @ A @ d) / (d @ d))
    assert "negative curvature" in res.message
    # the iterate so far still decreases the model q(x) = x^T A x / 2 - b^T x
    q = 0.5 * res.x @ A @ res.x - res.x.sum()
    assert res.nit == 0 or q < 0


def test_cg_stops_at_max_iter_and_says_so():
    A, _ = spd(100, 1e6, seed=7)
    res = conjugate_gradient(A, np.ones(100), rtol=1e-14, max_iter=5)
    assert res.status == CG_MAX_ITER and res.nit == 5 and "max_iter" in res.message


@pytest.mark.parametrize(("A", "b", "match"), [
    (np.ones((3, 2)), np.ones(3), "square"),
    (lambda v: np.ones(2), np.ones(3), "shape"),
    (np.eye(3), np.ones((3, 1)), "b"),
])
def test_cg_rejects_mismatched_shapes_with_a_clear_error(A, b, match):
    with pytest.raises((ValueError, TypeError), match=match):
        conjugate_gradient(A, b)


def test_cg_rejects_a_negative_tolerance():
    with pytest.raises(ValueError, match="rtol"):
        conjugate_gradient(np.eye(2), np.ones(2), rtol=-1.0)


# --------------------------------------------------------------------------- Newton-CG


def test_newton_cg_on_rosenbrock_with_products_or_a_matrix():
    prob = rosenbrock()
    by_products = newton_cg(prob.f, prob.grad, [-1.2, 1.0], hessp=prob.hessp, tol=1e-10)
    by_matrix = newton_cg(prob.f, prob.grad, [-1.2, 1.0], hess=prob.hess, tol=1e-10)
    for res in (by_products, by_matrix):
        assert res.success and np.allclose(res.x, [1.0, 1.0], atol=1e-8)
    assert by_products.nit == by_matrix.nit
    assert by_products.nhev == by_products.extras["n_hvp"]
    assert by_matrix.nhev == by_matrix.nit  # one Hessian per iteration
    assert by_matrix.extras["n_hvp"] == by_products.extras["n_hvp"]


def test_newton_cg_runs_matrix_free_at_a_size_no_dense_hessian_fits():
    n = 200_000  # a dense Hessian would take 320 GB
    prob = rosenbrock(n, kind="extended")
    res = newton_cg(prob.f, prob.grad, prob.x0, hessp=prob.hessp, tol=1e-8,
                    store_path=False)
    assert res.success and np.abs(res.x - 1).max() < 1e-6
    assert res.path.shape == (2, n)
    eta = res.extras["forcing"]
    assert max(eta) <= 0.5 and eta[-1] < 0.1 * eta[0]  # steps tighten as the gradient vanishes


def test_newton_cg_converges_superlinearly():
    """||g_{k+1}|| <= eta_k ||g_k|| + O(||p_k||^2), and eta_k -> 0: the gradient norm's
    ratios go to zero (the error's need not at each step: a residual test on an
    ill-conditioned H can leave the error along its flat direction for one more step)."""
    prob = rosenbrock(100, kind="extended")
    res = newton_cg(prob.f, prob.grad, prob.x0, hessp=prob.hessp, tol=1e-12)
    norms = np.array([np.linalg.norm(prob.grad(x)) for x in res.path])
    ratios = norms[1:] / norms[:-1]
    assert res.success and np.all(ratios[-3:] < 0.05), ratios[-3:]


def test_newton_cg_handles_negative_curvature_and_finds_a_minimum():
    prob = seed_quartic()  # x^4 + y^4 - 4xy: the Hessian at (0.3, 0.2) is indefinite
    res = newton_cg(prob.f, prob.grad, [0.3, 0.2], hessp=prob.hessp or
                    (lambda x, v: prob.hess(x) @ v), tol=1e-10)
    assert res.extras["negative_curvature"][0]
    assert res.success and np.allclose(np.abs(res.x), [1.0, 1.0], atol=1e-8)
    assert res.fun == pytest.approx(-2.0)


def test_newton_cg_takes_no_more_iterations_or_products_than_scipy():
    """At the same final gradient: scipy's Newton-CG has no gradient tolerance, so its
    iterations are counted up to the first iterate with ||grad||_inf <= tol."""
    tol = 1e-6
    for n in (2, 1000):
        prob = rosenbrock(n, kind="extended")
        x0 = np.tile([-1.2, 1.0], n // 2)
        ours = newton_cg(prob.f, prob.grad, x0, hessp=prob.hessp, tol=tol)
        seen = {"nit": None, "k": 0, "hvp": 0, "hvp_at": None}

        def hessp(x, v, seen=seen, prob=prob):
            seen["hvp"] += 1
            return prob.hessp(x, v)

        def callback(intermediate, seen=seen, prob=prob):
            seen["k"] += 1
            if seen["nit"] is None and np.abs(prob.grad(intermediate)).max() <= tol:
                seen["nit"], seen["hvp_at"] = seen["k"], seen["hvp"]

        minimize(prob.f, x0, jac=prob.grad, hessp=hessp, method="Newton-CG",
                 callback=callback, options={"xtol": 1e-14, "maxiter": 500})
        assert ours.success and seen["nit"] is not None
        assert ours.nit <= 1.1 * seen["nit"], (n, ours.nit, seen["nit"])
        assert ours.nhev <= 1.1 * seen["hvp_at"], (n, ours.nhev, seen["hvp_at"])


def test_newton_cg_wants_exactly_one_form_of_the_hessian():
    prob = rosenbrock()
    with pytest.raises(TypeError, match="exactly one"):
        newton_cg(prob.f, prob.grad, prob.x0)
    with pytest.raises(TypeError, match="exactly one"):
        newton_cg(prob.f, prob.grad, prob.x0, hessp=prob.hessp, hess=prob.hess)


def test_newton_cg_checks_the_hessians_shape():
    prob = rosenbrock()
    with pytest.raises(ValueError, match="shape"):
        newton_cg(prob.f, prob.grad, prob.x0, hess=lambda x: np.eye(3))
    with pytest.raises(ValueError, match="shape"):
        newton_cg(prob.f, prob.grad, prob.x0, hessp=lambda x, v: np.ones(3))


# --------------------------------------------------------------------------- Nesterov


def test_nesterov_contracts_at_one_minus_one_over_sqrt_kappa():
    kappa = 400.0
    prob = quadratic(kappa)
    beta = (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)
    res = nesterov(prob.f, prob.grad, prob.x0, lr=1 / kappa, beta=beta, tol=1e-10)
    assert res.success
    errors = np.linalg.norm(res.path, axis=1)  # the minimiser is 0
    half = len(errors) // 2
    rate = (errors[-1] / errors[half]) ** (1 / (len(errors) - 1 - half))
    assert rate == pytest.approx(1 - 1 / math.sqrt(kappa), abs=0.02)
    gd = gradient_descent(prob.f, prob.grad, prob.x0, lr=1 / kappa, tol=1e-10,
                          max_iter=100_000)
    assert res.nit < gd.nit / 5


def test_nesterov_with_the_convex_schedule_converges():
    prob = quadratic(50.0)
    res = nesterov(prob.f, prob.grad, prob.x0, lr=1 / 50.0, tol=1e-8, max_iter=20_000)
    assert res.success and np.abs(res.x).max() < 1e-6
    assert res.path.shape[0] == res.nit + 1


def test_nesterov_rejects_a_beta_outside_zero_one():
    prob = quadratic(10.0)
    with pytest.raises(ValueError, match="beta"):
        nesterov(prob.f, prob.grad, prob.x0, lr=0.1, beta=1.0)

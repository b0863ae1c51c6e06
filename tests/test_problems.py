"""The test problems: hand-written derivatives against sympy's exact ones, minimisers, sizes."""

from __future__ import annotations

import subprocess
import sys
import zlib

import numpy as np
import pytest
import sympy

import hessian_lab as hl

SMALL_PROBLEMS = {
    "rosenbrock-2": lambda: hl.rosenbrock(2),
    "rosenbrock-chained-5": lambda: hl.rosenbrock(5, kind="chained"),
    "rosenbrock-extended-6": lambda: hl.rosenbrock(6, kind="extended"),
    "himmelblau": hl.himmelblau,
    "beale": hl.beale,
    "quadratic-diagonal": lambda: hl.quadratic(50.0, n=3),
    "quadratic-rotated": lambda: hl.quadratic(1e3, n=4, rng=7),
    "seed-quartic": hl.seed_quartic,
    "seed-cubic": hl.seed_cubic,
    "seed-bowl": hl.seed_bowl,
    "seed-3d": hl.seed_3d,
    "monkey-saddle": hl.monkey_saddle,
}


def exact_derivatives(problem):
    expr, symbols = problem.expr()
    gradient = [sympy.diff(expr, s) for s in symbols]
    hessian = sympy.hessian(expr, symbols)
    f = sympy.lambdify([symbols], expr, "numpy")
    g = sympy.lambdify([symbols], gradient, "numpy")
    h = sympy.lambdify([symbols], hessian, "numpy")
    return f, g, h


def relative_error(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.linalg.norm(a - b) / max(np.linalg.norm(b), 1.0)


@pytest.mark.parametrize("name", SMALL_PROBLEMS)
def test_value_gradient_and_hessian_match_sympy_at_random_points(name):
    problem = SMALL_PROBLEMS[name]()
    f, g, h = exact_derivatives(problem)
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    for x in rng.uniform(-2.0, 2.0, size=(5, problem.n)):
        assert problem.f(x) == pytest.approx(float(f(x)), rel=1e-12, abs=1e-12)
        assert relative_error(problem.grad(x), g(x)) < 1e-12
        H = problem.hess(x)
        assert H.shape == (problem.n, problem.n)
        assert relative_error(H, h(x)) < 1e-12
        np.testing.assert_array_equal(H, H.T)


@pytest.mark.parametrize("name", SMALL_PROBLEMS)
def test_listed_minimizers_have_zero_gradient_and_positive_definite_hessian(name):
    problem = SMALL_PROBLEMS[name]()
    for x_star in problem.minimizers:
        assert x_star.shape == (problem.n,)
        assert np.max(np.abs(problem.grad(x_star))) < 1e-12
        assert np.linalg.eigvalsh(problem.hess(x_star))[0] > 0


@pytest.mark.parametrize("name", SMALL_PROBLEMS)
def test_start_point_has_the_problem_dimension_and_is_not_critical(name):
    problem = SMALL_PROBLEMS[name]()
    assert problem.x0.shape == (problem.n,)
    assert np.max(np.abs(problem.grad(problem.x0))) > 1e-3


def test_problems_without_a_minimum_list_none():
    assert hl.seed_cubic().minimizers == []
    assert hl.monkey_saddle().minimizers == []


def test_himmelblau_has_four_minima_all_with_zero_value():
    problem = hl.himmelblau()
    assert len(problem.minimizers) == 4
    for x_star in problem.minimizers:
        assert problem.f(x_star) < 1e-25


def test_beale_saddle_at_zero_one_is_critical_and_indefinite():
    problem = hl.beale()
    x = np.array([0.0, 1.0])
    assert np.allclose(problem.grad(x), 0.0)
    eigenvalues = np.linalg.eigvalsh(problem.hess(x))
    assert eigenvalues[0] < 0 < eigenvalues[1]


@pytest.mark.parametrize("kind", ["chained", "extended"])
def test_hessp_equals_dense_hessian_times_vector(kind):
    problem = hl.rosenbrock(8, kind=kind)
    rng = np.random.default_rng(3)
    for _ in range(3):
        x, v = rng.standard_normal(8), rng.standard_normal(8)
        np.testing.assert_allclose(problem.hessp(x, v), problem.hess(x) @ v, rtol=1e-13,
                                   atol=1e-10)


def test_quadratic_hessp_equals_its_matrix_times_vector():
    problem = hl.quadratic(30.0, n=5, rng=1)
    v = np.arange(5.0)
    np.testing.assert_allclose(problem.hessp(problem.x0, v), problem.hess(problem.x0) @ v)


def test_chained_and_extended_rosenbrock_coincide_in_two_dimensions():
    chained, extended = hl.rosenbrock(2), hl.rosenbrock(2, kind="extended")
    x = np.array([0.3, -0.7])
    assert chained.f(x) == extended.f(x)
    np.testing.assert_array_equal(chained.grad(x), extended.grad(x))
    np.testing.assert_array_equal(chained.hess(x), extended.hess(x))


def test_extended_rosenbrock_is_a_sum_of_independent_2d_rosenbrocks():
    n = 20_000
    big, small = hl.rosenbrock(n, kind="extended"), hl.rosenbrock(2)
    rng = np.random.default_rng(5)
    x = rng.uniform(-2, 2, n)
    pairs = x.reshape(-1, 2)
    assert big.f(x) == pytest.approx(sum(small.f(p) for p in pairs), rel=1e-12)
    g = big.grad(x).reshape(-1, 2)
    for i in rng.integers(0, n // 2, size=20):
        np.testing.assert_allclose(g[i], small.grad(pairs[i]), rtol=1e-14)


def test_chained_rosenbrock_matches_scipy_rosen():
    from scipy.optimize import rosen, rosen_der, rosen_hess

    problem = hl.rosenbrock(7)
    x = np.random.default_rng(2).uniform(-1.5, 1.5, 7)
    assert problem.f(x) == pytest.approx(rosen(x), rel=1e-14)
    np.testing.assert_allclose(problem.grad(x), rosen_der(x), rtol=1e-13)
    np.testing.assert_allclose(problem.hess(x), rosen_hess(x), rtol=1e-13)


def test_rosenbrock_dense_hessian_and_sympy_refuse_large_n_with_advice():
    problem = hl.rosenbrock(100_000, kind="extended")
    with pytest.raises(ValueError, match="hessp"):
        problem.hess(problem.x0)
    with pytest.raises(ValueError, match="n <= 10"):
        problem.expr()
    hv = problem.hessp(problem.x0, np.ones(100_000))  # matrix-free works at any n
    assert hv.shape == (100_000,)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: hl.rosenbrock(3, kind="extended"), "even"),
        (lambda: hl.rosenbrock(4, kind="banana"), "chained"),
        (lambda: hl.rosenbrock(1), ">= 2"),
        (lambda: hl.quadratic(0.5), ">= 1"),
        (lambda: hl.quadratic(float("nan")), "finite"),
        (lambda: hl.quadratic(10.0, n=0), "n \\(the dimension\\) must be an integer >= 1"),
        (lambda: hl.curve_fit_problem(n_points=2), ">= 3"),
        (lambda: hl.curve_fit_problem(noise=-1.0), "noise"),
    ],
)
def test_bad_arguments_raise_value_error_saying_what_is_wrong(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_quadratic_has_the_requested_condition_number_and_spectrum():
    for rng in (None, 11):
        A = hl.quadratic(1e4, n=5, rng=rng).hess(np.zeros(5))
        eigenvalues = np.linalg.eigvalsh(A)
        np.testing.assert_allclose(eigenvalues, np.geomspace(1.0, 1e4, 5), rtol=1e-10)
        np.testing.assert_array_equal(A, A.T)


def test_quadratic_is_diagonal_without_rng_and_rotated_reproducibly_with_a_seed():
    assert np.count_nonzero(hl.quadratic(100.0, n=3).hess(np.zeros(3))) == 3
    A1 = hl.quadratic(100.0, n=3, rng=4).hess(np.zeros(3))
    A2 = hl.quadratic(100.0, n=3, rng=np.random.default_rng(4)).hess(np.zeros(3))
    assert np.count_nonzero(np.abs(A1) > 1e-12) == 9
    np.testing.assert_array_equal(A1, A2)


def test_problems_are_immutable():
    problem = hl.seed_bowl()
    with pytest.raises(AttributeError):
        problem.n = 3


def test_building_problems_does_not_import_sympy():
    code = (
        "import sys, hessian_lab as hl\n"
        "p = hl.rosenbrock(4); p.f(p.x0); hl.himmelblau(); hl.curve_fit_problem()\n"
        "assert 'sympy' not in sys.modules, 'sympy imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(_repo_root()))


def _repo_root():
    from pathlib import Path

    return Path(hl.__file__).resolve().parents[1]


# ----------------------------------------------------------------------------- curve fit


@pytest.mark.parametrize("offset", [False, True])
def test_curve_fit_jacobian_matches_sympy(offset):
    problem = hl.curve_fit_problem(offset=offset)
    a, b, c = sympy.symbols("a b c")
    t = sympy.Symbol("t")
    params = (a, b, c) if offset else (a, b)
    model = a * sympy.exp(-b * t) + (c if offset else 0)
    columns = [sympy.lambdify((t, params), sympy.diff(model, p), "numpy") for p in params]
    theta = np.array([1.7, 0.4, -0.2][: len(params)])
    J = problem.jacobian(theta)
    for j, column in enumerate(columns):
        np.testing.assert_allclose(J[:, j], np.broadcast_to(column(problem.t, theta),
                                                            problem.t.shape), rtol=1e-13)


def test_curve_fit_noise_free_residual_vanishes_at_the_true_parameters():
    problem = hl.curve_fit_problem(noise=0.0, offset=True)
    assert np.max(np.abs(problem.residual(problem.theta_true))) < 1e-15
    assert problem.loss(problem.theta_true) == 0.0


def test_curve_fit_data_are_reproducible_from_the_seed():
    first, again = hl.curve_fit_problem(seed=3), hl.curve_fit_problem(seed=3)
    other = hl.curve_fit_problem(seed=4)
    np.testing.assert_array_equal(first.y, again.y)
    assert not np.array_equal(first.y, other.y)


def test_curve_fit_gradient_is_j_transpose_r():
    problem = hl.curve_fit_problem()
    theta = np.array([2.0, 1.0])
    expected = problem.jacobian(theta).T @ problem.residual(theta)
    np.testing.assert_allclose(problem.grad(theta), expected)


def test_large_residual_variant_cannot_be_fitted_closely():
    small, large = hl.curve_fit_problem(), hl.curve_fit_problem(large_residual=True)
    assert large.loss(large.theta_true) > 50 * small.loss(small.theta_true)

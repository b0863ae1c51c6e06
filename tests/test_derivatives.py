"""hessian_lab.derivatives: exact derivatives, critical points, finite differences, Taylor models.

Finite differences are checked against sympy's exact derivatives (lambdified) on
Rosenbrock, Himmelblau, Beale and the seed's examples, at several points each.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import sympy

from hessian_lab import (
    classify,
    critical_points,
    gradient,
    hessian,
    hvp,
    symbolic_gradient,
    symbolic_hessian,
    taylor2,
)

ROOT = Path(__file__).resolve().parents[1]
x, y, z = sympy.symbols("x y z")

ROSENBROCK = (1 - x) ** 2 + 100 * (y - x**2) ** 2
HIMMELBLAU = (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2
BEALE = (
    (sympy.Rational(3, 2) - x + x * y) ** 2
    + (sympy.Rational(9, 4) - x + x * y**2) ** 2
    + (sympy.Rational(21, 8) - x + x * y**3) ** 2
)

# name: (expression, variables, points where the finite differences are checked)
PROBLEMS = {
    "rosenbrock": (ROSENBROCK, (x, y), [(-1.2, 1.0), (1.0, 1.0), (0.5, -0.3), (-2.0, 3.0)]),
    "himmelblau": (HIMMELBLAU, (x, y), [(3.0, 2.0), (-0.27, -0.92), (1.5, 0.5), (-4.0, 4.0)]),
    "beale": (BEALE, (x, y), [(3.0, 0.5), (0.0, 1.0), (1.0, 1.2), (-1.5, -0.5)]),
    "seed quartic x^4+y^4-4xy": (x**4 + y**4 - 4 * x * y, (x, y), [(0, 0), (1, 1), (0.3, 0.2)]),
    "seed cubic x^3-3xy": (x**3 - 3 * x * y, (x, y), [(0, 0), (1.0, -1.0)]),
    "seed bowl x^2+xy+y^2": (x**2 + x * y + y**2, (x, y), [(0.3, -0.2)]),
    "seed 3-D bowl": (x**2 + 2 * y**2 + 3 * z**2 + x * y, (x, y, z), [(1.0, -1.0, 0.5)]),
    "seed Schwarz x^2y+xy^3": (x**2 * y + x * y**3, (x, y), [(1.0, 2.0), (-0.5, 0.7)]),
}
CASES = [(name, point) for name, (_, _, points) in PROBLEMS.items() for point in points]


def exact_functions(name):
    """f, grad and hess of a problem as numpy functions of a 1-D array (from sympy)."""
    expr, variables, _ = PROBLEMS[name]
    f = sympy.lambdify(variables, expr, "numpy")
    g = sympy.lambdify(variables, symbolic_gradient(expr, variables), "numpy")
    H = sympy.lambdify(variables, symbolic_hessian(expr, variables), "numpy")
    return (
        lambda p: float(f(*p)),
        lambda p: np.asarray(g(*p), dtype=float).ravel(),
        lambda p: np.asarray(H(*p), dtype=float),
    )


def relative_frobenius(A, B):
    return np.linalg.norm(A - B) / np.linalg.norm(B)


# --- finite differences against exact derivatives -------------------------------------


@pytest.mark.parametrize(("name", "point"), CASES)
def test_gradient_error_is_below_1e_9_of_the_derivative_scale(name, point):
    # the error is O(h^2 f''') + O(eps f / h) ~ eps^(2/3) times the size of the derivatives,
    # so it is measured against max(1, |g|, |H|), not |g| (which is 0 at a critical point)
    f, g, H = exact_functions(name)
    p = np.array(point, dtype=float)
    scale = max(1.0, np.linalg.norm(g(p)), np.linalg.norm(H(p)))
    assert np.linalg.norm(gradient(f, p) - g(p)) <= 1e-9 * scale


@pytest.mark.parametrize(("name", "point"), CASES)
def test_hessian_from_gradient_within_1e_8_relative_frobenius(name, point):
    _, g, H = exact_functions(name)
    assert relative_frobenius(hessian(None, point, grad=g), H(point)) <= 1e-8


@pytest.mark.parametrize(("name", "point"), CASES)
def test_hessian_from_values_within_1e_6_relative_frobenius(name, point):
    f, _, H = exact_functions(name)
    assert relative_frobenius(hessian(f, point), H(point)) <= 1e-6


def test_finite_difference_hessian_is_exactly_symmetric():
    f, g, _ = exact_functions("beale")
    for H in (hessian(f, [1.0, 1.2]), hessian(None, [1.0, 1.2], grad=g)):
        assert np.array_equal(H, H.T)


def test_gradient_handles_large_coordinates_with_relative_steps():
    # with an absolute step of 6e-6, x + h would round to x at x = 1e12
    g = gradient(lambda p: p[0] ** 2, [1e12])
    assert g[0] == pytest.approx(2e12, rel=1e-8)


def test_explicit_step_is_used():
    # a huge step makes the central difference of x^3 visibly biased: (3x^2 + h^2)
    g = gradient(lambda p: p[0] ** 3, [1.0], h=0.5)
    assert g[0] == pytest.approx(3.25)


@pytest.mark.parametrize(("name", "point"), CASES)
def test_hvp_matches_exact_hessian_times_vector(name, point):
    _, g, H = exact_functions(name)
    v = np.linspace(1.0, -0.5, len(point))
    exact = H(point) @ v
    error = np.linalg.norm(hvp(g, point, v) - exact)
    assert error <= 1e-8 * np.linalg.norm(H(point)) * np.linalg.norm(v)


def test_hvp_uses_two_gradient_calls_and_never_an_n_by_n_array():
    n = 2000
    shapes = []

    def grad(p):  # gradient of sum(p^4)/4 + sum(p)^2/2, a dense Hessian
        shapes.append(p.shape)
        return p**3 + p.sum()

    p = np.linspace(-1.0, 1.0, n)
    v = np.ones(n)
    Hv = hvp(grad, p, v)
    assert shapes == [(n,), (n,)]
    np.testing.assert_allclose(Hv, 3 * p**2 + n, rtol=1e-8)


def test_hvp_of_zero_direction_is_zero_without_calling_grad():
    def grad(p):
        raise AssertionError("grad should not be called for v = 0")

    assert np.array_equal(hvp(grad, [1.0, 2.0], [0.0, 0.0]), [0.0, 0.0])


# --- Taylor models ----------------------------------------------------------------------


def test_taylor2_is_exact_for_a_quadratic():
    f, g, H = exact_functions("seed bowl x^2+xy+y^2")
    x0 = np.array([0.3, -0.2])
    m = taylor2(f(x0), g(x0), H(x0), x0)
    for point in ([1.0, 2.0], [-3.0, 0.5]):
        assert m(point) == pytest.approx(f(np.array(point)), rel=1e-14)


def test_taylor2_accepts_a_grid_of_points():
    f, g, H = exact_functions("rosenbrock")
    x0 = np.array([-1.2, 1.0])
    m = taylor2(f(x0), g(x0), H(x0), x0)
    X, Y = np.meshgrid(np.linspace(-2, 2, 7), np.linspace(-1, 3, 5))
    values = m(np.stack([X, Y], axis=-1))
    assert values.shape == (5, 7)
    assert values[2, 3] == pytest.approx(m([X[2, 3], Y[2, 3]]))


def test_taylor2_error_is_third_order_in_the_distance():
    f, g, H = exact_functions("rosenbrock")
    x0 = np.array([-1.2, 1.0])
    m = taylor2(f(x0), g(x0), H(x0), x0)
    direction = np.array([0.6, 0.8])
    errors = [abs(f(x0 + d * direction) - m(x0 + d * direction)) for d in (0.02, 0.01)]
    assert errors[0] / errors[1] == pytest.approx(8.0, rel=0.05)


# --- symbolic derivatives and critical points -----------------------------------------


def test_symbolic_hessian_of_schwarz_example_is_the_seeds_matrix():
    H = symbolic_hessian(x**2 * y + x * y**3, (x, y))
    assert H == sympy.Matrix([[2 * y, 2 * x + 3 * y**2], [2 * x + 3 * y**2, 6 * x * y]])


def test_symbolic_functions_accept_strings():
    assert symbolic_gradient("x**2 + x*y", (x, y)) == sympy.Matrix([2 * x + y, x])


def test_critical_points_of_seed_quartic_are_exact_and_sorted():
    points = critical_points(x**4 + y**4 - 4 * x * y, (x, y))
    assert points == [{x: -1, y: -1}, {x: 0, y: 0}, {x: 1, y: 1}]
    kinds = [
        classify(symbolic_hessian(x**4 + y**4 - 4 * x * y, (x, y)).subs(p)).kind for p in points
    ]
    assert kinds == ["minimum", "saddle", "minimum"]


def test_critical_points_finds_all_nine_of_himmelblau():
    points = critical_points(HIMMELBLAU, (x, y))
    assert len(points) == 9
    grad = symbolic_gradient(HIMMELBLAU, (x, y))
    for p in points:
        assert all(abs(gi.subs(p).evalf(40)) < 1e-30 for gi in grad)
    H = symbolic_hessian(HIMMELBLAU, (x, y))
    kinds = Counter(classify(H.subs(p)).kind for p in points)
    assert kinds == {"minimum": 4, "maximum": 1, "saddle": 4}
    assert {x: 3, y: 2} in points  # the rational minimum comes out exact


def test_himmelblau_critical_points_match_the_known_values():
    points = critical_points(HIMMELBLAU, (x, y))
    found = np.array([[float(p[x]), float(p[y])] for p in points])
    known = [
        (3.0, 2.0),
        (-2.805118, 3.131312),
        (-3.779310, -3.283186),
        (3.584428, -1.848126),
        (-0.270845, -0.923039),
    ]
    for point in known:
        assert np.min(np.linalg.norm(found - point, axis=1)) < 1e-6


def test_beale_minimum_and_saddle_are_classified():
    H = symbolic_hessian(BEALE, (x, y))
    grad = symbolic_gradient(BEALE, (x, y))
    minimum, saddle = {x: 3, y: sympy.Rational(1, 2)}, {x: 0, y: 1}
    assert grad.subs(minimum) == sympy.zeros(2, 1)
    assert grad.subs(saddle) == sympy.zeros(2, 1)
    assert classify(H.subs(minimum)).kind == "minimum"
    c = classify(H.subs(saddle))
    assert c.kind == "saddle"
    assert c.eigenvalues[0] < 0 < c.eigenvalues[1]
    points = critical_points(BEALE, (x, y))  # sorted by x: (0, 1), (0.1005.., -2.6445..), (3, 1/2)
    assert points[0] == saddle and points[2] == minimum
    assert [classify(H.subs(p)).kind for p in points] == ["saddle", "saddle", "minimum"]


def test_float_coefficients_are_read_as_the_rationals_they_print_as():
    beale_floats = (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2
    assert critical_points(beale_floats, (x, y)) == critical_points(BEALE, (x, y))


def test_seed_examples_each_have_the_origin_as_only_critical_point():
    for expr, variables in [
        (x**3 - 3 * x * y, (x, y)),
        (x**2 + x * y + y**2, (x, y)),
        (x**2 + 2 * y**2 + 3 * z**2 + x * y, (x, y, z)),
    ]:
        assert critical_points(expr, variables) == [{v: 0 for v in variables}]


def test_function_without_critical_points_gives_empty_list():
    assert critical_points(x + y, (x, y)) == []


def test_quadratic_irrational_critical_points_come_out_as_radicals():
    points = critical_points(x**3 - 2 * x, (x,))
    assert points == [{x: -sympy.sqrt(6) / 3}, {x: sympy.sqrt(6) / 3}]


def test_non_polynomial_with_allow_incomplete_returns_true_critical_points():
    expr = sympy.sin(x) + y**2
    points = critical_points(expr, (x, y), allow_incomplete=True)
    assert points  # sympy.solve finds pi/2 and 3 pi/2, not the infinitely many others
    grad = symbolic_gradient(expr, (x, y))
    assert all(grad.subs(p).applyfunc(sympy.simplify) == sympy.zeros(2, 1) for p in points)


# --- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expr",
    [x**2, sympy.Integer(3), (x**2 + y**2) ** 2],
    ids=["line x = 0", "constant", "complex lines x = +-iy"],
)
def test_infinite_critical_set_is_refused(expr):
    with pytest.raises(ValueError, match="critical set is not finite"):
        critical_points(expr, (x, y))


def test_non_polynomial_without_allow_incomplete_is_refused():
    with pytest.raises(ValueError, match="allow_incomplete=True"):
        critical_points(sympy.exp(x) - x + y**2, (x, y))


@pytest.mark.parametrize("function", [symbolic_gradient, symbolic_hessian, critical_points])
def test_unlisted_free_symbol_is_named_in_the_error(function):
    a = sympy.Symbol("a")
    with pytest.raises(ValueError, match="not listed in variables: a"):
        function(a * x**2 + y**2, (x, y))


def test_non_symbol_variables_raise_type_error():
    with pytest.raises(TypeError, match="sympy symbols"):
        symbolic_gradient(x**2, ("x",))


def test_scalar_point_is_refused_with_a_hint():
    with pytest.raises(ValueError, match="0-d"):
        gradient(lambda p: p[0] ** 2, 1.0)


def test_nan_point_is_refused():
    with pytest.raises(ValueError, match="NaN"):
        hessian(lambda p: p @ p, [1.0, np.nan])


def test_direction_of_wrong_length_is_refused():
    with pytest.raises(ValueError, match="v has length 3, expected 2"):
        hvp(lambda p: 2 * p, [1.0, 2.0], [1.0, 0.0, 0.0])


def test_vector_valued_f_is_refused():
    with pytest.raises(ValueError, match="must return a scalar"):
        gradient(lambda p: p**2, [1.0, 2.0])


def test_f_returning_nan_is_reported():
    with pytest.raises(ValueError, match="f returned nan"):
        hessian(lambda p: p[0] if p[0] >= 0 else float("nan"), [1e-12])


def test_gradient_function_of_wrong_length_is_refused():
    with pytest.raises(ValueError, match="length 1, expected 2"):
        hessian(None, [1.0, 2.0], grad=lambda p: p[:1])


def test_non_positive_step_is_refused():
    with pytest.raises(ValueError, match="positive"):
        gradient(lambda p: p @ p, [1.0], h=-1e-3)


def test_taylor2_refuses_points_of_wrong_dimension():
    m = taylor2(0.0, [0.0, 0.0], np.eye(2), [0.0, 0.0])
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 2\)"):
        m([1.0, 2.0, 3.0])


def test_import_does_not_load_sympy():
    code = "import sys, hessian_lab; print('sympy' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
    assert out.stderr == ""

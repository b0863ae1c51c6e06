"""hessian_lab.curvature: classification, the 2-D test, minors, definiteness, conditioning.

Exact Hessians come from sympy; the property-based tests build H = Q diag(lambda) Q^T with
a random orthogonal Q and a chosen spectrum, so the right answer is known.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from hessian_lab import (
    classify,
    condition_number,
    hessian,
    is_negative_definite,
    is_positive_definite,
    leading_minors,
    newton_decrement,
    second_derivative_test,
    symbolic_hessian,
)

x, y, z = sympy.symbols("x y z")


def hessian_at(expr, variables, point):
    return symbolic_hessian(expr, variables).subs(dict(zip(variables, point, strict=True)))


# --- the seed's examples, on exact Hessians ---------------------------------------------


@pytest.mark.parametrize(
    ("expr", "variables", "point", "kind"),
    [
        (x**4 + y**4 - 4 * x * y, (x, y), (0, 0), "saddle"),
        (x**4 + y**4 - 4 * x * y, (x, y), (1, 1), "minimum"),
        (x**4 + y**4 - 4 * x * y, (x, y), (-1, -1), "minimum"),
        (x**3 - 3 * x * y, (x, y), (0, 0), "saddle"),
        (x**2 + x * y + y**2, (x, y), (0, 0), "minimum"),
        (x**2 + 2 * y**2 + 3 * z**2 + x * y, (x, y, z), (0, 0, 0), "minimum"),
        (-(x**2) - x * y - y**2, (x, y), (0, 0), "maximum"),
    ],
)
def test_classify_seed_examples(expr, variables, point, kind):
    assert classify(hessian_at(expr, variables, point)).kind == kind


def test_quartic_minimum_has_the_seeds_eigenvalues_and_condition_number():
    c = classify(hessian_at(x**4 + y**4 - 4 * x * y, (x, y), (1, 1)))
    np.testing.assert_allclose(c.eigenvalues, [8.0, 16.0])
    assert c.condition_number == pytest.approx(2.0)


def test_3d_bowl_eigenvalues_are_3_plus_minus_sqrt2_and_6():
    c = classify(hessian_at(x**2 + 2 * y**2 + 3 * z**2 + x * y, (x, y, z), (0, 0, 0)))
    np.testing.assert_allclose(c.eigenvalues, [3 - np.sqrt(2), 3 + np.sqrt(2), 6.0])


def test_positive_diagonal_does_not_mean_minimum():
    c = classify([[1, 2], [2, 1]])
    assert c.kind == "saddle"
    np.testing.assert_allclose(c.eigenvalues, [-1.0, 3.0])
    down = c.eigenvectors[:, 0]  # curvature -1 along (1, -1)/sqrt(2)
    assert abs(down @ np.array([1.0, -1.0])) == pytest.approx(np.sqrt(2))


def test_negative_entry_matrix_is_positive_definite():
    H = [[2, -3], [-3, 5]]
    assert is_positive_definite(H)
    assert classify(H).kind == "minimum"
    assert second_derivative_test(H) == "minimum"


def test_sylvester_example_has_minors_4_8_13_float_and_exact():
    H = [[4, 2, 1], [2, 3, 1], [1, 1, 2]]
    np.testing.assert_allclose(leading_minors(H), [4.0, 8.0, 13.0])
    assert leading_minors(sympy.Matrix(H)) == [4, 8, 13]
    assert is_positive_definite(H)
    assert is_positive_definite(sympy.Matrix(H))


def test_negative_definite_means_alternating_minors():
    H = -np.array([[4, 2, 1], [2, 3, 1], [1, 1, 2]])
    np.testing.assert_allclose(leading_minors(H), [-4.0, 8.0, -13.0])
    assert is_negative_definite(H)
    assert is_negative_definite(sympy.Matrix(H))
    assert not is_positive_definite(H)
    assert classify(H).kind == "maximum"


def test_nonnegative_leading_minors_do_not_give_semidefinite():
    H = [[0.0, 0.0], [0.0, -1.0]]
    assert all(d >= 0 for d in leading_minors(H))
    assert classify(H).eigenvalues[0] == -1.0  # not positive semidefinite


def test_leading_minors_of_symbolic_matrix_are_expressions():
    a = sympy.Symbol("a")
    assert leading_minors(sympy.Matrix([[a, 1], [1, a]])) == [a, a**2 - 1]


def test_exact_singular_matrix_is_not_positive_definite():
    third = sympy.Rational(1, 3)
    assert not is_positive_definite(sympy.Matrix([[third, third], [third, third]]))


# --- critical points of the test problems ---------------------------------------------


def test_beale_minimum_and_saddle():
    beale = (
        (sympy.Rational(3, 2) - x + x * y) ** 2
        + (sympy.Rational(9, 4) - x + x * y**2) ** 2
        + (sympy.Rational(21, 8) - x + x * y**3) ** 2
    )
    assert classify(hessian_at(beale, (x, y), (3, sympy.Rational(1, 2)))).kind == "minimum"
    assert classify(hessian_at(beale, (x, y), (0, 1))).kind == "saddle"


@pytest.mark.parametrize(
    "expr",
    [x**4 + y**4, x**4 - y**4, x**2 + y**4, x**2 + y**3, x**3 - 3 * x * y**2],
    ids=["x^4+y^4", "x^4-y^4", "x^2+y^4", "x^2+y^3", "monkey saddle"],
)
def test_degenerate_critical_points_are_inconclusive(expr):
    H = hessian_at(expr, (x, y), (0, 0))
    assert classify(H).kind == "inconclusive"
    assert second_derivative_test(H) == "inconclusive"


def test_finite_difference_hessian_needs_a_looser_tolerance():
    # x^4 - y^4 has H = 0 at the origin; finite differences give eigenvalues of size ~h^2
    H = hessian(lambda p: p[0] ** 4 - p[1] ** 4, [0.0, 0.0])
    assert classify(H).kind == "saddle"  # the default tol is for exact Hessians
    assert classify(H, tol=1e-6).kind == "inconclusive"


# --- the result object, the 2-D test, condition numbers -------------------------------


def test_classification_is_frozen_and_readable():
    c = classify([[2.0, 0.0], [0.0, 3.0]])
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.kind = "maximum"
    text = str(c)
    assert text.startswith("minimum: eigenvalues [2, 3]")
    assert "condition number 1.5" in text


def test_second_derivative_test_on_the_seed_table():
    assert second_derivative_test([[2, 1], [1, 2]]) == "minimum"
    assert second_derivative_test([[-2, 1], [1, -2]]) == "maximum"
    assert second_derivative_test([[0, -3], [-3, 0]]) == "saddle"
    assert second_derivative_test([[1, 1], [1, 1]]) == "inconclusive"


def test_condition_number_of_indefinite_and_singular_matrices():
    assert condition_number([[1, 2], [2, 1]]) == pytest.approx(3.0)
    assert condition_number([[1.0, 0.0], [0.0, 0.0]]) == np.inf
    assert condition_number(np.diag([1.0, 1e-3])) == pytest.approx(1e3)


def test_scaling_the_matrix_does_not_change_the_verdict():
    H = np.array([[1.0, 0.3], [0.3, 2.0]])
    assert {classify(s * H).kind for s in (1e-30, 1.0, 1e30)} == {"minimum"}


# --- property-based: H = Q diag(lambda) Q^T with a known spectrum ----------------------


@st.composite
def spectra(draw, n_min=1, n_max=5, zero=False):
    """(lambda, H): |lambda_i| in [0.1, 10] times a common scale 10^k, random signs."""
    n = draw(st.integers(n_min, n_max))
    magnitudes = np.array(draw(st.lists(st.floats(0.1, 10.0), min_size=n, max_size=n)))
    signs = np.array(draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=n, max_size=n)))
    lam = signs * magnitudes * 10.0 ** draw(st.integers(-6, 6))
    if zero:
        lam[draw(st.integers(0, n - 1))] = 0.0
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    H = Q @ np.diag(lam) @ Q.T
    return np.sort(lam), (H + H.T) / 2


def sign_pattern_kind(lam):
    if np.all(lam > 0):
        return "minimum"
    if np.all(lam < 0):
        return "maximum"
    if np.any(lam > 0) and np.any(lam < 0):
        return "saddle"
    return "inconclusive"


@settings(deadline=None)
@given(spectra())
def test_classify_recovers_the_sign_pattern_and_spectrum(case):
    lam, H = case
    c = classify(H)
    assert c.kind == sign_pattern_kind(lam)
    np.testing.assert_allclose(c.eigenvalues, lam, rtol=0, atol=1e-12 * np.abs(lam).max())
    np.testing.assert_allclose(
        H @ c.eigenvectors, c.eigenvectors * c.eigenvalues, atol=1e-11 * np.abs(lam).max()
    )


@settings(deadline=None)
@given(spectra(n_min=2, zero=True))
def test_exactly_zero_eigenvalue_never_counts_as_a_sign(case):
    lam, H = case
    assert classify(H).kind == sign_pattern_kind(lam)


@settings(deadline=None)
@given(spectra())
def test_cholesky_agrees_with_smallest_eigenvalue(case):
    lam, H = case
    assert is_positive_definite(H) == (lam[0] > 0)
    assert is_negative_definite(H) == (lam[-1] < 0)


@settings(deadline=None)
@given(spectra(n_min=2, n_max=2))
def test_second_derivative_test_agrees_with_classify(case):
    _, H = case
    assert second_derivative_test(H) == classify(H).kind


@settings(deadline=None)
@given(spectra())
def test_condition_number_is_ratio_of_extreme_magnitudes(case):
    lam, H = case
    expected = np.abs(lam).max() / np.abs(lam).min()
    assert condition_number(H) == pytest.approx(expected, rel=1e-9)
    assert classify(H).condition_number == pytest.approx(expected, rel=1e-9)


@settings(deadline=None)
@given(spectra())
def test_leading_minors_multiply_to_the_determinant(case):
    lam, H = case
    assert leading_minors(H)[-1] == pytest.approx(np.prod(lam), rel=1e-8)


# --- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "function",
    [classify, condition_number, leading_minors, is_positive_definite, second_derivative_test],
)
def test_non_square_matrix_is_refused(function):
    with pytest.raises(ValueError, match="square"):
        function(np.ones((2, 3)))


@pytest.mark.parametrize("function", [classify, condition_number, is_positive_definite])
def test_non_symmetric_matrix_is_refused(function):
    with pytest.raises(ValueError, match="not symmetric"):
        function([[1.0, 2.0], [0.0, 1.0]])


def test_rounding_level_asymmetry_is_accepted():
    assert classify([[1.0, 0.5], [0.5 + 1e-15, 1.0]]).kind == "minimum"


@pytest.mark.parametrize("function", [classify, is_positive_definite, leading_minors])
def test_nan_matrix_is_refused(function):
    with pytest.raises(ValueError, match="NaN"):
        function([[1.0, np.nan], [np.nan, 1.0]])


def test_second_derivative_test_is_for_2_by_2_only():
    with pytest.raises(ValueError, match="2 x 2"):
        second_derivative_test(np.eye(3))


def test_symbolic_hessian_must_be_evaluated_at_a_point_first():
    with pytest.raises(ValueError, match="free symbols x"):
        classify(symbolic_hessian(x**3 + y**2, (x, y)))


def test_exact_non_symmetric_matrix_is_refused():
    with pytest.raises(ValueError, match="not symmetric"):
        leading_minors(sympy.Matrix([[1, 2], [0, 1]]))


def test_negative_tolerance_is_refused():
    with pytest.raises(ValueError, match="tol"):
        classify(np.eye(2), tol=-1.0)


def test_one_variable_reduces_to_the_sign_of_f_second_derivative():
    assert classify([[-3.0]]).kind == "maximum"
    assert classify([[0.0]]).kind == "inconclusive"


def test_newton_decrement_is_the_newton_steps_length_in_the_hessian_norm():
    rng = np.random.default_rng(3)
    Q, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    H = Q @ np.diag([0.01, 0.5, 1.0, 7.0, 300.0]) @ Q.T
    g = rng.standard_normal(5)
    step = np.linalg.solve(H, -g)
    lam = newton_decrement(g, H)
    assert lam == pytest.approx(np.sqrt(step @ H @ step), rel=1e-12)
    assert g @ step == pytest.approx(-lam**2, rel=1e-12)


def test_newton_decrement_does_not_change_under_a_linear_change_of_variables():
    rng = np.random.default_rng(4)
    A = rng.standard_normal((4, 4))
    H, g = A @ A.T + np.eye(4), rng.standard_normal(4)
    M = rng.standard_normal((4, 4)) @ np.diag([1e-3, 1.0, 10.0, 1e3])
    assert newton_decrement(M.T @ g, M.T @ H @ M) == pytest.approx(newton_decrement(g, H),
                                                                   rel=1e-8)


def test_newton_decrement_refuses_an_indefinite_hessian_and_a_wrong_shape():
    with pytest.raises(ValueError, match="not positive definite"):
        newton_decrement([1.0, 0.0], [[1.0, 0.0], [0.0, -1.0]])
    with pytest.raises(ValueError, match="length 2"):
        newton_decrement([1.0, 0.0, 0.0], np.eye(2))

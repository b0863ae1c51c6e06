"""Tests for hessian_lab.spectra: power iteration, Lanczos, Hutchinson, spectral density."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hessian_lab import (
    MLP,
    hutchinson_trace,
    lanczos,
    lanczos_extremes,
    make_regression_data,
    power_iteration,
    spectral_density,
)


def _diag_operator(eigenvalues):
    d = np.asarray(eigenvalues, dtype=float)
    return lambda v: d * v


def _rotated(eigenvalues, seed: int) -> np.ndarray:
    """A dense symmetric matrix Q diag(eigenvalues) Q^T with a random orthogonal Q."""
    n = len(eigenvalues)
    Q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))
    return (Q * np.asarray(eigenvalues, dtype=float)) @ Q.T


def _isolated_top_spectrum(n: int = 2000, top: float = 1.1, seed: int = 0) -> np.ndarray:
    """Random spectrum in [0, 1] plus one eigenvalue at `top` (gap (top - 1) / 1 >= 10 %)."""
    d = np.random.default_rng(seed).uniform(0.0, 1.0, n)
    d[n // 3] = top
    return d


# ---------------------------------------------------------------- Lanczos
def test_lanczos_30_steps_find_isolated_lambda_max_to_1e_10_relative():
    d = _isolated_top_spectrum()
    res = lanczos(_diag_operator(d), d.size, k=30, rng=1)
    assert res.n_matvec == 30
    assert abs(res.lambda_max - 1.1) <= 1e-10 * 1.1
    assert res.lambda_max <= 1.1 + 1e-14  # Ritz values lie inside the spectrum


def test_lanczos_ritz_vector_of_lambda_max_is_the_eigenvector_and_residuals_are_honest():
    d = _isolated_top_spectrum(n=500, top=1.2, seed=3)
    op = _diag_operator(d)
    res = lanczos(op, d.size, k=30, rng=2)
    y = res.ritz_vectors[:, -1]
    assert abs(abs(y[500 // 3]) - 1.0) <= 1e-8
    for j in (0, -1):
        yj, theta = res.ritz_vectors[:, j], res.ritz_values[j]
        true_residual = np.linalg.norm(op(yj) - theta * yj)
        assert true_residual == pytest.approx(res.residuals[j], rel=1e-6, abs=1e-12)


def test_lanczos_gives_both_ends_of_an_indefinite_spectrum():
    eigenvalues = np.r_[-4.0, np.linspace(-1.0, 2.0, 300), 6.0]
    H = _rotated(eigenvalues, seed=4)
    lo, hi = lanczos_extremes(lambda v: H @ v, H.shape[0], k=40, rng=5)
    assert lo == pytest.approx(-4.0, rel=1e-10)
    assert hi == pytest.approx(6.0, rel=1e-10)


def test_full_reorthogonalisation_keeps_the_basis_orthonormal_and_avoids_ghosts():
    d = np.r_[np.linspace(0.0, 1.0, 199), 3.0]
    op = _diag_operator(d)
    good = lanczos(op, d.size, k=80, rng=6, reorthogonalize=True)
    Q = good.basis
    assert np.max(np.abs(Q.T @ Q - np.eye(Q.shape[1]))) <= 1e-13
    assert np.sum(np.abs(good.ritz_values - 3.0) < 1e-6) == 1
    plain = lanczos(op, d.size, k=80, rng=6, reorthogonalize=False)
    # the textbook recurrence loses orthogonality and reports 3.0 more than once (ghosts)
    assert np.sum(np.abs(plain.ritz_values - 3.0) < 1e-6) >= 2


def test_lanczos_stops_cleanly_on_an_invariant_subspace():
    d = np.repeat([-1.0, 2.0, 5.0], [10, 25, 15])
    res = lanczos(_diag_operator(d), d.size, k=30, rng=7)
    assert res.breakdown and res.n_matvec == 3
    assert "invariant" in res.message
    np.testing.assert_allclose(res.ritz_values, [-1.0, 2.0, 5.0], atol=1e-12)
    assert res.basis.shape == (50, 3) and res.alpha.shape == (3,) and res.beta.shape == (2,)
    assert np.all(res.residuals == 0.0)


def test_lanczos_caps_k_at_n_and_then_recovers_the_whole_spectrum():
    eigenvalues = np.array([-3.0, -0.5, 0.25, 1.0, 7.0])
    H = _rotated(eigenvalues, seed=8)
    res = lanczos(lambda v: H @ v, 5, k=50, rng=9)
    assert res.n_matvec == 5
    np.testing.assert_allclose(res.ritz_values, eigenvalues, atol=1e-12)


def test_lanczos_extremes_match_dense_eigenvalues_of_an_mlp_hessian():
    X, Y = make_regression_data(40, 4, 2, rng=10)
    net = MLP(X, Y, hidden=(28,), rng=11)
    assert 180 <= net.n_params <= 220
    theta = net.init_params() + 0.3 * np.random.default_rng(12).standard_normal(net.n_params)
    exact = np.linalg.eigvalsh(net.hessian(theta))
    assert exact[0] < 0 < exact[-1]  # an indefinite Hessian: both ends matter
    res = lanczos(lambda v: net.hvp(theta, v), net.n_params, k=40, rng=13)  # 40 HVPs, not 198
    scale = np.abs(exact).max()
    assert abs(res.lambda_max - exact[-1]) <= 1e-10 * scale
    assert abs(res.lambda_min - exact[0]) <= 1e-10 * scale


@settings(max_examples=40, deadline=None)
@given(
    eigenvalues=st.lists(
        st.floats(-100, 100, allow_nan=False, allow_infinity=False), min_size=1, max_size=9
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_lanczos_with_k_equal_n_brackets_and_finds_the_extremes(eigenvalues, seed):
    H = _rotated(eigenvalues, seed)
    n = len(eigenvalues)
    res = lanczos(lambda v: H @ v, n, k=n, rng=seed)
    scale = max(1.0, max(abs(e) for e in eigenvalues))
    assert res.lambda_min == pytest.approx(min(eigenvalues), abs=1e-9 * scale)
    assert res.lambda_max == pytest.approx(max(eigenvalues), abs=1e-9 * scale)
    # every Ritz value is within rounding of some eigenvalue
    gaps = np.abs(res.ritz_values[:, None] - np.array(eigenvalues)[None, :]).min(axis=1)
    assert np.all(gaps <= 1e-9 * scale)


# ---------------------------------------------------------------- power iteration
def test_power_iteration_meets_its_residual_tolerance():
    eigenvalues = np.r_[np.linspace(-2.0, 6.0, 98), 8.0, 10.0]  # rate |8/10|
    H = _rotated(eigenvalues, seed=14)
    tol = 1e-10
    res = power_iteration(lambda v: H @ v, 100, rng=15, tol=tol, max_iter=2000)
    assert res.converged, res.message
    v = res.eigenvector
    assert np.linalg.norm(v) == pytest.approx(1.0)
    true_residual = np.linalg.norm(H @ v - res.eigenvalue * v)
    assert true_residual == pytest.approx(res.residual, rel=1e-6, abs=1e-15)
    assert true_residual <= tol * abs(res.eigenvalue)
    assert res.eigenvalue == pytest.approx(10.0, rel=1e-14)  # error ~ residual^2 / gap
    assert 50 < res.n_matvec < 200  # geometric rate 0.8: about log(1e-10)/log(0.8) steps


def test_power_iteration_at_a_saddle_returns_the_most_negative_eigenvalue():
    eigenvalues = np.r_[-3.0, np.linspace(-1.0, 2.0, 49)]  # largest magnitude is negative
    H = _rotated(eigenvalues, seed=16)
    res = power_iteration(lambda v: H @ v, 50, rng=17)
    assert res.converged
    assert res.eigenvalue == pytest.approx(-3.0, rel=1e-12)


def test_power_iteration_with_shift_lambda_max_finds_lambda_min_of_psd_matrix():
    eigenvalues = np.r_[0.5, np.linspace(2.0, 10.0, 39)]
    H = _rotated(eigenvalues, seed=18)
    top = power_iteration(lambda v: H @ v, 40, rng=19)
    bottom = power_iteration(lambda v: H @ v, 40, rng=19, shift=top.eigenvalue)
    assert top.eigenvalue == pytest.approx(10.0, rel=1e-12)
    assert bottom.converged and bottom.eigenvalue == pytest.approx(0.5, rel=1e-10)


def test_power_iteration_reports_failure_when_two_magnitudes_tie():
    res = power_iteration(_diag_operator([1.0, -1.0, 0.5]), 3, rng=20, max_iter=50)
    assert not res.converged and res.n_matvec == 50
    assert "not converged" in res.message and "lanczos" in res.message


def test_power_iteration_from_a_null_vector_says_so():
    res = power_iteration(_diag_operator([0.0, 1.0]), 2, v0=[1.0, 0.0])
    assert res.eigenvalue == 0.0 and res.n_matvec == 1
    assert "another v0" in res.message


@settings(max_examples=40, deadline=None)
@given(
    eigenvalues=st.lists(
        st.floats(-50, 50, allow_nan=False, allow_infinity=False), min_size=2, max_size=8
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_power_iteration_estimate_is_within_its_residual_of_an_eigenvalue(eigenvalues, seed):
    H = _rotated(eigenvalues, seed)
    res = power_iteration(lambda v: H @ v, len(eigenvalues), rng=seed, max_iter=30)
    nearest = np.min(np.abs(np.array(eigenvalues) - res.eigenvalue))
    scale = max(1.0, max(abs(e) for e in eigenvalues))
    assert nearest <= res.residual + 1e-12 * scale  # symmetric H: |lambda - lambda_i| <= ||r||


# ---------------------------------------------------------------- Hutchinson
def _theoretical_variance(A: np.ndarray) -> float:
    return 2.0 * (np.sum(A * A) - np.sum(np.diag(A) ** 2))


def test_hutchinson_is_unbiased_and_its_spread_matches_the_rademacher_variance():
    rng = np.random.default_rng(21)
    B = rng.standard_normal((40, 40))
    A = (B + B.T) / 2 + np.diag(rng.uniform(1, 3, 40))
    samples, replicates = 10, 2000
    runs = [hutchinson_trace(lambda v: A @ v, 40, samples, rng) for _ in range(replicates)]
    estimates = np.array([r.estimate for r in runs])
    std_errors = np.array([r.std_error for r in runs])
    var_theory = _theoretical_variance(A) / samples
    # unbiased: the mean of the replicates is within 3 of its standard errors of tr(A)
    assert abs(estimates.mean() - np.trace(A)) <= 3 * np.sqrt(var_theory / replicates)
    # spread: empirical variance of the estimate vs 2(||A||_F^2 - sum A_ii^2) / samples
    assert estimates.var(ddof=1) == pytest.approx(var_theory, rel=0.2)
    # the reported standard error estimates the same quantity
    assert np.mean(std_errors**2) == pytest.approx(var_theory, rel=0.2)
    # and +-3 reported standard errors cover the truth in nearly every run
    assert np.mean(np.abs(estimates - np.trace(A)) <= 3 * std_errors) >= 0.95


def test_hutchinson_is_exact_for_a_diagonal_matrix():
    d = np.array([3.0, -1.0, 0.5, 2.0])
    res = hutchinson_trace(_diag_operator(d), 4, samples=3, rng=22)
    assert res.estimate == pytest.approx(4.5) and res.std_error == pytest.approx(0.0)
    assert res.samples == 3 and res.quadratic_forms.shape == (3,)


def test_hutchinson_on_an_mlp_hessian_is_within_three_standard_errors_of_its_trace():
    X, Y = make_regression_data(30, 3, 1, rng=23)
    net = MLP(X, Y, hidden=(10,))
    theta = net.init_params()
    res = hutchinson_trace(lambda v: net.hvp(theta, v), net.n_params, 200, rng=24)
    assert abs(res.estimate - np.trace(net.hessian(theta))) <= 3 * res.std_error


# ---------------------------------------------------------------- spectral density
def test_spectral_density_integrates_to_one_and_puts_mass_where_the_eigenvalues_are():
    rng = np.random.default_rng(25)
    eigenvalues = np.r_[rng.uniform(0.8, 1.2, 700), rng.uniform(3.9, 4.1, 300)]
    H = _rotated(rng.permutation(eigenvalues), seed=26)
    sd = spectral_density(lambda v: H @ v, 1000, num_probes=10, lanczos_steps=40, rng=27)
    assert np.trapezoid(sd.density, sd.grid) == pytest.approx(1.0, abs=1e-3)
    assert sd.weights.sum() == pytest.approx(1.0) and np.all(sd.weights >= 0)
    assert sd.n_matvec == 400

    def mass(a, b):
        inside = (sd.grid >= a) & (sd.grid <= b)
        return np.trapezoid(sd.density[inside], sd.grid[inside])

    assert mass(0.5, 1.5) == pytest.approx(0.7, abs=0.05)
    assert mass(3.6, 4.4) == pytest.approx(0.3, abs=0.05)
    assert mass(1.8, 3.2) <= 0.01  # the empty gap between the clusters
    # the quadrature reproduces low moments: sum w theta ~ tr(H)/n
    assert sd.weights @ sd.nodes == pytest.approx(eigenvalues.mean(), rel=0.02)


def test_spectral_density_uses_a_given_grid_and_sigma():
    d = np.linspace(-1.0, 1.0, 200)
    grid = np.linspace(-2.0, 2.0, 801)
    sd = spectral_density(_diag_operator(d), 200, num_probes=5, lanczos_steps=20, rng=28,
                          grid=grid, sigma=0.1)
    np.testing.assert_array_equal(sd.grid, grid)
    assert sd.sigma == 0.1
    assert np.trapezoid(sd.density, grid) == pytest.approx(1.0, abs=1e-3)
    assert np.min(sd.nodes) >= -1.0 - 1e-12 and np.max(sd.nodes) <= 1.0 + 1e-12


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "call",
    [
        lambda op: power_iteration(op, 4),
        lambda op: lanczos(op, 4, k=3),
        lambda op: hutchinson_trace(op, 4, 5, rng=0),
        lambda op: spectral_density(op, 4, num_probes=2, lanczos_steps=2, rng=0),
    ],
)
def test_every_tool_rejects_a_bad_operator_with_a_clear_message(call):
    with pytest.raises(ValueError, match=r"shape \(4, 1\)"):
        call(lambda v: v[:, None])
    with pytest.raises(ValueError, match="NaN or inf"):
        call(lambda v: np.full_like(v, np.nan))
    with pytest.raises(TypeError, match="function"):
        call(np.eye(4))


@pytest.mark.parametrize("n", [0, -3, 2.5, True, "4"])
def test_dimension_must_be_a_positive_integer(n):
    with pytest.raises((ValueError, TypeError), match="dimension"):
        lanczos(lambda v: v, n)


def test_bad_start_vectors_and_parameters_are_rejected():
    op = _diag_operator([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="zero vector"):
        power_iteration(op, 3, v0=np.zeros(3))
    with pytest.raises(ValueError, match="length 2"):
        lanczos(op, 3, v0=[1.0, 1.0])
    with pytest.raises(ValueError, match="tol"):
        power_iteration(op, 3, tol=0.0)
    with pytest.raises(ValueError, match=">= 2"):
        hutchinson_trace(op, 3, samples=1, rng=0)
    with pytest.raises(ValueError, match="sigma"):
        spectral_density(op, 3, num_probes=1, lanczos_steps=2, rng=0, sigma=-1.0)


def test_matvec_cannot_corrupt_the_lanczos_basis_by_writing_into_its_argument():
    d = np.linspace(1.0, 2.0, 30)

    def scribbling_matvec(v):
        w = d * v
        v[:] = 0.0  # a badly behaved operator
        return w

    res = lanczos(scribbling_matvec, 30, k=10, rng=29)
    Q = res.basis
    np.testing.assert_allclose(Q.T @ Q, np.eye(10), atol=1e-13)

"""The checks of assignment 05_curvature_at_scale."""

from __future__ import annotations

import numpy as np

from ..problems import curve_fit_problem as _curve_fit_problem
from ..problems import quadratic as _quadratic
from ..problems import rosenbrock as _rosenbrock
from ..spectra import power_iteration as _ref_power_iteration
from .a02_classifying import _planted
from .calls import _call
from .compare import _close, _compare, _fmt, _inputs, _rng, _to_array, _to_float
from .forbidden import _AUTODIFF, _EIGEN, _INVERSES
from .registry import Part
from .session import _absolute, _array, _asarray, _Fail, _float, _isfinite

ASSIGNMENT = "05_curvature_at_scale"

gauss_newton_step = Part(ASSIGNMENT, "gauss_newton_step",
                         forbid=("hessian_lab", *_INVERSES, "scipy.optimize"))
hvp_central = Part(ASSIGNMENT, "hvp_central", forbid=("hessian_lab", "scipy", *_AUTODIFF))
power_iteration_max = Part(ASSIGNMENT, "power_iteration_max", forbid=("hessian_lab", *_EIGEN))
largest_stable_step = Part(ASSIGNMENT, "largest_stable_step",
                           forbid=("hessian_lab", *_EIGEN, *_AUTODIFF))


def _gauss_newton_variants(r, J):
    return [
        (lambda: np.linalg.lstsq(J, r, rcond=None)[0], "the sign: the step solves "
         "J^T J p = -J^T r (it minimises ||J p + r||)."),
        (lambda: -J.T @ r, "that is the negative gradient -J^T r; Gauss-Newton also divides by "
         "the curvature J^T J: solve J^T J p = -J^T r."),
        (lambda: -np.linalg.solve(J.T @ J, r[: J.shape[1]]), "J^T is missing on the right-hand "
         "side: J^T J p = -J^T r."),
    ]


def _run_gn_step(fn, r, J, label=""):
    name = "gauss_newton_step"
    r, J = _array(r, dtype=float), _array(J, dtype=float)
    got = _call(name, fn, r.copy(), J.copy(), convert=lambda v: _to_array(v, name, "the step p"))
    expected = np.linalg.lstsq(J, -r, rcond=None)[0]
    inputs = _inputs(r=r, J=J) + (f"\n  ({label})" if label else "")
    if got.shape == r.shape and r.shape != expected.shape:
        raise _Fail(f"{name} returned a vector of length {got.size} (one entry per residual) "
                    f"for\n{inputs}\nLikely mistake: p has one entry per parameter "
                    f"({expected.size}): solve (J^T J) p = -J^T r, with J^T J of size "
                    f"{expected.size} x {expected.size} (not J J^T).")
    _compare(name, got, expected, inputs=inputs, variants=_gauss_newton_variants(r, J),
             rtol=1e-7, atol=1e-10, what="step p")


@gauss_newton_step.test("gn_step_fixed", "fixed input")
def _t_gn_fixed(fn=None):
    _run_gn_step(fn, [0.5, -1.0, 0.25], [[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]],
                 "a straight-line fit: 3 residuals, 2 parameters")


@gauss_newton_step.test("gn_step_curve_fit", "fitting a exp(-b t)")
def _t_gn_curve(fn=None):
    name = "gauss_newton_step"
    prob = _curve_fit_problem(noise=0.0)
    theta = prob.theta0.copy()
    for k in range(8):
        r, J = prob.residual(theta), prob.jacobian(theta)
        p = _call(name, fn, r.copy(), J.copy(),
                  convert=lambda v: _to_array(v, name, "the step p", ndim=1))
        if p.shape != theta.shape or not _isfinite(p).all():
            _run_gn_step(fn, r, J, f"Gauss-Newton iteration {k} of the curve fit")
        theta = theta + p
    if not _close(theta, prob.theta_true, 0, 1e-6):
        _run_gn_step(fn, prob.residual(prob.theta0), prob.jacobian(prob.theta0),
                     "the first Gauss-Newton step of the curve fit")
        raise _Fail(f"{name}: 8 Gauss-Newton steps from theta0 = {_fmt(prob.theta0)} end at "
                    f"{_fmt(theta)}, not at the exact fit {_fmt(prob.theta_true)}.")


@gauss_newton_step.test("gn_step_hidden", "random input", hidden=True)
def _t_gn_hidden(fn=None):
    rng = _rng("gn_step_hidden")
    _run_gn_step(fn, rng.normal(size=20), rng.normal(size=(20, 4)), "random, 20 x 4")


def _run_hvp(fn, grad, x, v, h, exact, label, rtol=1e-5):
    name = "hvp_central"
    x, v = _array(x, dtype=float), _array(v, dtype=float)
    got = _call(name, fn, grad, x.copy(), v.copy(), h,
                convert=lambda value: _to_array(value, name, "H v", ndim=1))
    if x.size > 50:
        inputs = _inputs(f=label, h=h) + f"\n  (n = {x.size})"
    else:
        inputs = _inputs(f=label, x=x, v=v, h=h)
    variants = [
        (lambda: 2.0 * exact, "twice the right value: the missing factor 1/2 of the central "
         "difference (grad f(x + h v) - grad f(x - h v)) / (2 h)."),
        (lambda: -exact, "the sign: (grad f(x + h v) - grad f(x - h v)) / (2 h)."),
        (lambda: (grad(x + h * v) - grad(x)) / h, "this matches the forward difference "
         "(grad f(x + h v) - grad f(x)) / h, whose error is O(h); the central difference is "
         "O(h^2)."),
        (lambda: 0.5 * exact, "half the right value: divide by 2h, not 4h."),
    ]
    _compare(name, got, exact, inputs=inputs, variants=variants, rtol=rtol, atol=rtol,
             what="H v")


@hvp_central.test("hvp_quadratic", "a quadratic")
def _t_hvp_quadratic(fn=None):
    A = _array([[3.0, 1.0, 0.0], [1.0, 2.0, -1.0], [0.0, -1.0, 4.0]])
    v = _array([1.0, -1.0, 2.0])

    def grad(x):
        return A @ _asarray(x, dtype=float)

    _run_hvp(fn, grad, [0.5, 1.0, -1.0], v, 1e-5, A @ v, "x^T A x / 2 with A = " + _fmt(A),
             rtol=1e-6)


@hvp_central.test("hvp_rosenbrock", "Rosenbrock, n = 50")
def _t_hvp_rosenbrock(fn=None):
    prob = _rosenbrock(50)
    v = np.random.default_rng(1).normal(size=50)
    _run_hvp(fn, prob.grad, prob.x0, v, 1e-4, prob.hessp(prob.x0, v), "chained Rosenbrock")


@hvp_central.test("hvp_large", "n = 1000000 without forming H")
def _t_hvp_large(fn=None):
    prob = _rosenbrock(1_000_000, kind="extended")
    v = np.random.default_rng(2).normal(size=prob.n)
    _run_hvp(fn, prob.grad, prob.x0, v, 1e-5, prob.hessp(prob.x0, v),
             "extended Rosenbrock (a dense H would need 8 TB)")


class _HvpFunction:
    """f(x) = x^T A x / 2 + sum(c cos x) + (w^T x)^4 / 4."""

    def __init__(self, rng, n):
        self.A = _planted(rng, rng.uniform(-2.0, 4.0, size=n))
        self.c = rng.uniform(0.5, 2.0, size=n)
        self.w = 0.5 * rng.normal(size=n)

    def grad(self, x):
        x = _asarray(x, dtype=float)
        return self.A @ x - self.c * np.sin(x) + (self.w @ x) ** 3 * self.w

    def hessp(self, x, v):
        return self.A @ v - self.c * np.cos(x) * v + 3 * (self.w @ x) ** 2 * (self.w @ v) * self.w


@hvp_central.test("hvp_hidden", "a random function", hidden=True)
def _t_hvp_hidden(fn=None):
    rng = _rng("hvp_hidden")
    func = _HvpFunction(rng, 8)
    x, v = rng.normal(size=8), rng.normal(size=8)
    _run_hvp(fn, func.grad, x, v, 1e-5, func.hessp(x, v), "a random smooth function, n = 8")


def _run_power(fn, diagonal_or_matrix, label, rtol=1e-6):
    name = "power_iteration_max"
    M = _array(diagonal_or_matrix, dtype=float)
    if M.ndim == 1:
        n, expected = M.size, _float(M[int(_absolute(M).argmax())])

        def matvec(v):
            return M * _asarray(v, dtype=float)
    else:
        n = M.shape[0]
        eigenvalues = np.linalg.eigvalsh(M)
        expected = _float(eigenvalues[int(_absolute(eigenvalues).argmax())])

        def matvec(v):
            return M @ _asarray(v, dtype=float)

    got = _call(name, fn, matvec, n, convert=lambda v: _to_float(v, name, "the eigenvalue"))
    inputs = f"  H = {label} (n = {n})"
    variants = [
        (lambda: abs(expected), "the sign is lost: ||H v|| is the magnitude |lambda|. The "
         "Rayleigh quotient v^T H v (with ||v|| = 1) keeps the sign."),
        (lambda: expected**2, "lambda^2: the Rayleigh quotient is v^T H v with ||v|| = 1 "
         "(not ||H v||^2)."),
    ]
    reference = _ref_power_iteration(matvec, n, rng=0, max_iter=5000)
    _compare(name, _array(got), expected, inputs=inputs, variants=variants, rtol=rtol,
             atol=1e-9, what="eigenvalue",
             fallback="" if reference.converged else "the reference power iteration did not "
             "converge either")


@power_iteration_max.test("power_diagonal", "diag(1, 2, 5)")
def _t_pow_diag(fn=None):
    _run_power(fn, [1.0, 2.0, 5.0], "diag(1, 2, 5)")


@power_iteration_max.test("power_negative", "a dominant negative eigenvalue")
def _t_pow_negative(fn=None):
    _run_power(fn, [1.0, 2.0, -5.0], "diag(1, 2, -5), a saddle: the largest magnitude is -5")


@power_iteration_max.test("power_hidden", "a random matrix", hidden=True)
def _t_pow_hidden(fn=None):
    rng = _rng("power_hidden")
    values = np.concatenate([rng.uniform(0.1, 7.0, size=29), [10.0 + rng.uniform(0, 5)]])
    _run_power(fn, _planted(rng, values), "a random symmetric positive definite matrix",
               rtol=1e-5)


@power_iteration_max.test("power_matrix_free", "n = 100000 without forming H")
def _t_pow_free(fn=None):
    d = np.linspace(0.5, 1.0, 100_000)
    d[17] = 3.0
    _run_power(fn, d, "a diagonal operator given only as v -> H v")


def _run_stable_step(fn, prob, x, label, rtol=1e-4):
    name = "largest_stable_step"
    x = _array(x, dtype=float)
    got = _call(name, fn, prob.grad, x.copy(), convert=lambda v: _to_float(v, name, "the step"))
    lam = _float(np.linalg.eigvalsh(prob.hess(x))[-1])
    variants = [
        (lambda: lam, "that is lambda_max itself; the largest stable step is 2 / lambda_max."),
        (lambda: 1.0 / lam, "1 / lambda_max is a safe step, but gradient descent on a quadratic "
         "is stable for every alpha < 2 / lambda_max: return 2 / lambda_max."),
        (lambda: 2.0 * lam, "2 lambda_max: the step is 2 / lambda_max (a division)."),
    ]
    _compare(name, _array(got), 2.0 / lam, inputs=_inputs(f=label, x=x), variants=variants,
             rtol=rtol, atol=1e-12, what="step")


@largest_stable_step.test("stable_step_quadratic", "a quadratic with kappa = 50")
def _t_ss_quadratic(fn=None):
    prob = _quadratic(50.0, n=5, rng=1)
    _run_stable_step(fn, prob, prob.x0, "x^T A x / 2, eigenvalues from 1 to 50")


@largest_stable_step.test("stable_step_rosenbrock", "Rosenbrock, n = 20")
def _t_ss_rosenbrock(fn=None):
    prob = _rosenbrock(20)
    _run_stable_step(fn, prob, prob.x0, "chained Rosenbrock at its start point", rtol=1e-3)

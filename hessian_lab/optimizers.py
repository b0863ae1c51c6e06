"""Optimizers, from gradient descent to Nesterov, Newton, BFGS, L-BFGS, Gauss-Newton and SAM.

Every optimizer returns an :class:`OptimizeResult` (scipy.optimize's field names plus
``path``, the iterates, so a chapter can draw them without re-running anything) and
takes the keywords

* ``tol``: stop when the gradient's infinity norm ||grad f(x)||_inf <= tol (scipy's
  ``gtol``);
* ``max_iter``: or after this many iterations;
* ``store_path``: keep every iterate (default), or only x0 and the final x.

``message`` says which stop happened. No optimizer raises on a singular or indefinite
Hessian, a NaN or an overflow: it stops with ``success=False`` and says why. The
counters ``nfev``, ``njev`` and ``nhev`` count every call of f, its gradient and its
Hessian, line searches included.

Notation: as in the book (and the seed essay), **B is the approximation of the
inverse Hessian** in BFGS and L-BFGS; Nocedal & Wright call it H_k.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from ._checks import as_int, as_positive, as_symmetric, as_vector, cholesky
from .linesearch import C1, C2, armijo_backtrack, check_wolfe_constants, strong_wolfe

__all__ = [
    "OptimizeResult",
    "LeastSquaresResult",
    "gradient_descent",
    "momentum",
    "nesterov",
    "newton",
    "bfgs",
    "bfgs_update",
    "two_loop",
    "lbfgs",
    "gauss_newton",
    "levenberg_marquardt",
    "sam",
]

# status codes of OptimizeResult
CONVERGED, MAX_ITER, LINE_SEARCH_FAILED, NOT_FINITE, SINGULAR = 0, 1, 2, 3, 4


@dataclass
class OptimizeResult:
    """The outcome of an optimizer (fields named as in ``scipy.optimize``).

    Attributes
    ----------
    x : ndarray
        The final iterate.
    fun : float
        f(x) (for least squares, see :class:`LeastSquaresResult`: the residuals r(x)).
    jac : ndarray
        The gradient at x (for least squares: the Jacobian J(x)).
    nit : int
        Number of iterations (steps) taken.
    nfev, njev, nhev : int
        Calls of f (or of the residual), of the gradient (or Jacobian), of the Hessian.
    success : bool
        Whether the optimizer stopped for a good reason (gradient below ``tol``; for
        SAM also its iteration budget).
    message : str
        Why it stopped, in words.
    path : ndarray
        The iterates x_0, ..., x_nit, shape (nit + 1, n); with ``store_path=False``
        only x_0 and the final x, shape (2, n).
    status : int
        0 gradient below tol, 1 max_iter reached, 2 line search failed (for
        Levenberg-Marquardt: no acceptable step), 3 a value was NaN or infinite,
        4 singular Hessian or rank-deficient Jacobian.
    extras : dict
        Method-specific records, e.g. the Hessian shifts of Newton or the skipped
        BFGS updates.
    hess_inv : ndarray or None
        BFGS's final approximation of the inverse Hessian (B in the book's notation);
        None for the other methods.

    Examples
    --------
    >>> from hessian_lab import newton, seed_bowl
    >>> prob = seed_bowl()
    >>> res = newton(prob.f, prob.grad, prob.hess, prob.x0)
    >>> res.nit, res.path.shape, res.success     # a quadratic: one Newton step
    (1, (2, 2), True)
    """

    x: np.ndarray
    fun: float
    jac: np.ndarray
    nit: int
    nfev: int
    njev: int
    nhev: int
    success: bool
    message: str
    path: np.ndarray = field(repr=False)
    status: int = CONVERGED
    extras: dict = field(default_factory=dict, repr=False)
    hess_inv: np.ndarray | None = field(default=None, repr=False)


@dataclass
class LeastSquaresResult(OptimizeResult):
    """The outcome of :func:`gauss_newton` or :func:`levenberg_marquardt`.

    The fields of :class:`OptimizeResult`, named as in ``scipy.optimize.least_squares``:
    ``fun`` is the residual vector r(x) and ``jac`` the Jacobian J(x) (both at the
    final x), and

    Attributes
    ----------
    cost : float
        The loss L(x) = ||r(x)||^2 / 2.
    grad : ndarray
        Its gradient J^T r; ``tol`` applies to it.
    optimality : float
        ||J^T r||_inf, the number compared with ``tol``.

    ``njev`` counts calls of the Jacobian and ``nhev`` is 0.

    Examples
    --------
    >>> from hessian_lab import curve_fit_problem, gauss_newton
    >>> prob = curve_fit_problem(noise=0.0)
    >>> res = gauss_newton(prob.residual, prob.jacobian, prob.theta0)
    >>> res.fun.shape == prob.t.shape, res.jac.shape == (prob.t.size, 2)
    (True, True)
    >>> bool(res.cost == (res.fun @ res.fun) / 2), bool(res.optimality <= 1e-6)
    (True, True)
    """

    cost: float = 0.0
    grad: np.ndarray | None = field(default=None, repr=False)
    optimality: float = 0.0


# --------------------------------------------------------------------------- shared machinery


class _Counted:
    """Wrap a callable and count its calls."""

    def __init__(self, fn: Callable, name: str):
        if not callable(fn):
            raise TypeError(f"{name} must be callable, got {type(fn).__name__}")
        self.fn, self.calls = fn, 0

    def __call__(self, *args):
        self.calls += 1
        return self.fn(*args)


class _Path:
    """The iterates: all of them, or only the first and the last."""

    def __init__(self, x0: np.ndarray, store: bool):
        self.x0, self.store, self.points = x0.copy(), bool(store), [x0.copy()]

    def append(self, x: np.ndarray) -> None:
        if self.store:
            self.points.append(np.array(x, dtype=float))

    def array(self, x_final: np.ndarray) -> np.ndarray:
        return np.array(self.points) if self.store else np.array([self.x0, x_final])


def _check_settings(tol, max_iter) -> None:
    as_positive(tol, "tol", allow_zero=True, meaning="a gradient norm")
    as_int(max_iter, "max_iter", 0)


def _inf_norm(g: np.ndarray) -> float:
    """||g||_inf, NaN if g has a NaN (no temporary array)."""
    return float(max(g.max(), -g.min())) + 0.0  # + 0.0 turns -0.0 into 0.0


def _evaluate(fn: Callable, x: np.ndarray) -> np.ndarray:
    return np.asarray(fn(x), dtype=float)


def _first_gradient(grad: Callable, x: np.ndarray) -> np.ndarray:
    """grad(x0), checked once for its shape."""
    g = _evaluate(grad, x)
    if g.shape != x.shape:
        raise ValueError(f"grad(x) must return an array of shape {x.shape}, got shape {g.shape}")
    return g


def _stop_reason(fx: float, g: np.ndarray, tol: float, nit: int, max_iter: int):
    """(status, message) if the iteration should stop at this iterate, else None."""
    gnorm = _inf_norm(g)
    if not (math.isfinite(fx) and math.isfinite(gnorm)):
        what = "f" if not math.isfinite(fx) else "the gradient"
        return NOT_FINITE, (
            f"Stopped: {what} is NaN or infinite at iteration {nit}: the iteration diverged "
            "or left the domain of f; try a smaller step or a better start."
        )
    if gnorm <= tol:
        return CONVERGED, (
            f"Converged: ||grad||_inf = {gnorm:.2e} <= tol = {tol:g} after {nit} iterations."
        )
    if nit >= max_iter:
        return MAX_ITER, (
            f"Stopped: reached max_iter = {max_iter} iterations with "
            f"||grad||_inf = {gnorm:.2e} > tol = {tol:g}."
        )
    return None


def _result(x, fx, g, nit, f, grad, hess, stop, path, extras=None, success=None,
            hess_inv=None):
    status, message = stop
    return OptimizeResult(
        x=x,
        fun=float(fx),
        jac=g,
        nit=nit,
        nfev=f.calls,
        njev=grad.calls,
        nhev=0 if hess is None else hess.calls,
        success=(status == CONVERGED) if success is None else success,
        message=message,
        path=path.array(x),
        status=status,
        extras={} if extras is None else extras,
        hess_inv=hess_inv,
    )


def _start(f, grad, x0):
    """Validate and wrap the common arguments; evaluate nothing yet."""
    return as_vector(x0, "x0"), _Counted(f, "f"), _Counted(grad, "grad")


# --------------------------------------------------------------------------- first-order methods


def gradient_descent(
    f: Callable[[np.ndarray], float],
    grad: Callable[[np.ndarray], np.ndarray],
    x0: ArrayLike,
    lr: float = 1e-3,
    tol: float = 1e-6,
    max_iter: int = 10_000,
    line_search: bool = False,
    store_path: bool = True,
) -> OptimizeResult:
    """Gradient descent x_{k+1} = x_k - alpha grad f(x_k).

    With a fixed step alpha = ``lr``; or, with ``line_search=True``, a backtracking
    (Armijo) search starting from alpha = ``lr``. On a quadratic with Hessian A and
    alpha = 1 / lambda_max the error shrinks by at most 1 - 1/kappa per step,
    kappa = lambda_max / lambda_min (Chapter 10, condition number); the best fixed step
    2 / (lambda_min + lambda_max) gives (kappa - 1) / (kappa + 1).

    With a fixed step f is evaluated only at x0 and at the final x.

    Examples
    --------
    >>> from hessian_lab import gradient_descent, quadratic
    >>> prob = quadratic(10.0)
    >>> res = gradient_descent(prob.f, prob.grad, prob.x0, lr=1 / 10.0, tol=1e-8)
    >>> res.success, res.nit
    (True, 175)
    """
    x, f, grad = _start(f, grad, x0)
    _check_settings(tol, max_iter)
    lr = as_positive(lr, "lr", meaning="the step size")
    path = _Path(x, store_path)
    with np.errstate(all="ignore"):
        fx = float(f(x))
        g = _first_gradient(grad, x)
        nit = 0
        while (stop := _stop_reason(fx, g, tol, nit, max_iter)) is None:
            if line_search:
                step = armijo_backtrack(f, x, -g, fx, -float(g @ g), alpha0=lr)
                if not step.success:
                    stop = LINE_SEARCH_FAILED, f"Stopped: line search failed: {step.message}."
                    break
                x, fx = step.x_new, step.f_new
            else:
                x = x - lr * g
            g = _evaluate(grad, x)
            nit += 1
            path.append(x)
        if not line_search:
            fx = float(f(x))
            if stop[0] == CONVERGED and not math.isfinite(fx):
                stop = _stop_reason(fx, g, tol, nit, max_iter)
    return _result(x, fx, g, nit, f, grad, None, stop, path)


def momentum(
    f: Callable[[np.ndarray], float],
    grad: Callable[[np.ndarray], np.ndarray],
    x0: ArrayLike,
    lr: float = 1e-3,
    beta: float = 0.9,
    tol: float = 1e-6,
    max_iter: int = 10_000,
    store_path: bool = True,
) -> OptimizeResult:
    """Heavy-ball momentum x_{k+1} = x_k - alpha grad f(x_k) + beta (x_k - x_{k-1}).

    Written with the velocity v: v_{k+1} = beta v_k - alpha grad f(x_k),
    x_{k+1} = x_k + v_{k+1}, v_0 = 0. On a quadratic, alpha = (2 / (sqrt(lambda_max) +
    sqrt(lambda_min)))^2 and beta = ((sqrt(kappa) - 1) / (sqrt(kappa) + 1))^2 give the
    rate (sqrt(kappa) - 1) / (sqrt(kappa) + 1) (Chapter 10, condition number).

    Examples
    --------
    >>> from hessian_lab import momentum, quadratic
    >>> prob = quadratic(100.0)       # kappa = 100: gradient descent needs 1833 steps
    >>> res = momentum(prob.f, prob.grad, prob.x0, lr=(2 / 11) ** 2, beta=(9 / 11) ** 2,
    ...                tol=1e-8)
    >>> res.success, res.nit
    (True, 143)
    """
    x, f, grad = _start(f, grad, x0)
    _check_settings(tol, max_iter)
    lr = as_positive(lr, "lr", meaning="the step size")
    beta = float(beta)
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"beta must be in [0, 1), got {beta!r}")
    path = _Path(x, store_path)
    velocity = np.zeros_like(x)
    with np.errstate(all="ignore"):
        fx = float(f(x))
        g = _first_gradient(grad, x)
        nit = 0
        while (stop := _stop_reason(fx, g, tol, nit, max_iter)) is None:
            velocity = beta * velocity - lr * g
            x = x + velocity
            g = _evaluate(grad, x)
            nit += 1
            path.append(x)
        fx = float(f(x))
        if stop[0] == CONVERGED and not math.isfinite(fx):
            stop = _stop_reason(fx, g, tol, nit, max_iter)
    return _result(x, fx, g, nit, f, grad, None, stop, path)


def nesterov(
    f: Callable[[np.ndarray], float],
    grad: Callable[[np.ndarray], np.ndarray],
    x0: ArrayLike,
    lr: float = 1e-3,
    beta: float | None = None,
    tol: float = 1e-6,
    max_iter: int = 10_000,
    store_path: bool = True,
) -> OptimizeResult:
    """Nesterov's accelerated gradient: a gradient step from an extrapolated point.

    y_k = x_k + beta_k (x_k - x_{k-1}), then x_{k+1} = y_k - alpha grad f(y_k), with
    alpha = ``lr`` (1/L for an L-smooth f) and x_{-1} = x_0. Unlike the heavy ball, the
    gradient is taken at y_k, after the momentum push.

    ``beta=None``: the schedule beta_k = (k - 1)/(k + 2), for convex f with unknown
    strong convexity: f(x_k) - f* = O(L ||x_0 - x*||^2 / k^2). A constant ``beta``
    = (sqrt(kappa) - 1)/(sqrt(kappa) + 1) with alpha = 1/L suits a mu-strongly convex f,
    kappa = L/mu: the error falls like (1 - 1/sqrt(kappa))^k, which matches the lower bound
    for first-order methods up to a constant factor (the chapter on how fast a first-order
    method can be).

    The gradient is evaluated once per step, at y_k, and the stopping test uses it: the
    returned ``x`` is the last y_k, ``jac`` its gradient, and ``path`` holds y_0 = x_0,
    y_1, ... . f is evaluated only at x0 and at the returned x.

    Examples
    --------
    >>> from hessian_lab import nesterov, quadratic
    >>> prob = quadratic(100.0)       # kappa = 100: gradient descent needs 1833 steps
    >>> res = nesterov(prob.f, prob.grad, prob.x0, lr=1 / 100.0, beta=9 / 11, tol=1e-8)
    >>> res.success, res.nit
    (True, 204)
    """
    x, f, grad = _start(f, grad, x0)
    _check_settings(tol, max_iter)
    lr = as_positive(lr, "lr", meaning="the step size")
    if beta is not None:
        beta = float(beta)
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"beta must be in [0, 1) or None (the convex schedule "
                             f"(k - 1)/(k + 2)), got {beta!r}")
    path = _Path(x, store_path)
    previous = x.copy()
    y = x
    with np.errstate(all="ignore"):
        fx = float(f(x))
        g = _first_gradient(grad, y)
        nit = 0
        while (stop := _stop_reason(fx, g, tol, nit, max_iter)) is None:
            previous, x = x, y - lr * g
            nit += 1
            b = (nit - 1) / (nit + 2) if beta is None else beta
            y = x + b * (x - previous)
            g = _evaluate(grad, y)
            path.append(y)
        fx = float(f(y))
        if stop[0] == CONVERGED and not math.isfinite(fx):
            stop = _stop_reason(fx, g, tol, nit, max_iter)
    return _result(y, fx, g, nit, f, grad, None, stop, path)


def sam(
    f: Callable[[np.ndarray], float],
    grad: Callable[[np.ndarray], np.ndarray],
    x0: ArrayLike,
    rho: float = 0.05,
    lr: float = 1e-2,
    tol: float = 1e-6,
    max_iter: int = 1000,
    store_path: bool = True,
) -> OptimizeResult:
    """Sharpness-aware minimisation (SAM), Chapter 12 (loss landscapes and saddles).

    Each step takes the gradient at the perturbed point and applies it at w:

        e_k = rho g_k / ||g_k||_2,   g_k = grad f(w_k)
        w_{k+1} = w_k - alpha grad f(w_k + e_k).

    w + e_k is a first-order stand-in for the worst point of the ball of radius rho
    around w. For a fixed rho the iterates do not reach a zero gradient (near a
    minimum the perturbation keeps its length rho), so SAM normally runs its
    ``max_iter`` budget; that counts as success, and ``message`` says so. It stops
    earlier if ||grad f(w)||_inf <= tol. Two gradients per iteration.

    Examples
    --------
    >>> from hessian_lab import quadratic, sam
    >>> prob = quadratic(10.0)
    >>> res = sam(prob.f, prob.grad, prob.x0, rho=0.05, lr=0.05, max_iter=200)
    >>> res.success, res.nit, res.njev
    (True, 200, 401)
    """
    x, f, grad = _start(f, grad, x0)
    _check_settings(tol, max_iter)
    rho = as_positive(rho, "rho", meaning="the radius of the perturbation")
    lr = as_positive(lr, "lr", meaning="the step size")
    path = _Path(x, store_path)
    with np.errstate(all="ignore"):
        fx = float(f(x))
        g = _first_gradient(grad, x)
        nit = 0
        while (stop := _stop_reason(fx, g, tol, nit, max_iter)) is None:
            perturbation = (rho / np.linalg.norm(g)) * g
            g_perturbed = _evaluate(grad, x + perturbation)
            x = x - lr * g_perturbed
            g = _evaluate(grad, x)
            nit += 1
            path.append(x)
        fx = float(f(x))
        if stop[0] != NOT_FINITE and not math.isfinite(fx):
            stop = _stop_reason(fx, g, tol, nit, max_iter)
    success = stop[0] in (CONVERGED, MAX_ITER)
    if stop[0] == MAX_ITER:
        stop = MAX_ITER, (
            f"SAM ran its budget of max_iter = {max_iter} iterations (expected: with a fixed "
            f"rho = {rho:g} the gradient does not vanish); ||grad||_inf = {_inf_norm(g):.2e}."
        )
    return _result(x, fx, g, nit, f, grad, None, stop, path, success=success)


# --------------------------------------------------------------------------- Newton


def _cholesky_with_shift(H: np.ndarray, beta: float = 1e-3):
    """Cholesky factor L of H + tau I with the smallest tau >= 0 tried that works.

    Start from tau = 0 if the diagonal of H is positive, else from
    tau = beta - min_i H_ii; double tau (at least to beta) until the Cholesky
    factorisation succeeds, i.e. H + tau I is positive definite (Nocedal & Wright,
    "Cholesky with added multiple of the identity"). Returns (L, tau).
    """
    smallest_diagonal = float(np.min(np.diag(H)))
    tau = 0.0 if smallest_diagonal > 0 else beta - smallest_diagonal
    identity = np.eye(H.shape[0])
    while math.isfinite(tau):
        try:
            return cholesky(H + tau * identity), tau
        except np.linalg.LinAlgError:
            tau = max(2.0 * tau, beta)
    return None, tau


def _is_singular(H: np.ndarray) -> tuple[bool, float]:
    """Whether H is singular to working precision, and its condition number."""
    singular_values = np.linalg.svd(H, compute_uv=False)
    largest, smallest = singular_values[0], singular_values[-1]
    condition = math.inf if smallest == 0 else float(largest / smallest)
    return smallest <= H.shape[0] * np.finfo(float).eps * largest, condition


def newton(
    f: Callable[[np.ndarray], float],
    grad: Callable[[np.ndarray], np.ndarray],
    hess: Callable[[np.ndarray], np.ndarray],
    x0: ArrayLike,
    globalize: bool = True,
    tol: float = 1e-6,
    max_iter: int = 100,
    store_path: bool = True,
) -> OptimizeResult:
    """Newton's method: solve H(x_k) p = -grad f(x_k), then step x_{k+1} = x_k + alpha p.

    ``globalize=False``: pure Newton, alpha = 1 and H unmodified (Chapter 8, Newton's
    method). It finds *critical points*: with an indefinite H it can head for a saddle
    or a maximum, and from far away it can diverge. A singular H stops the run
    (``success=False``, status 4).

    ``globalize=True`` (default): when H is not positive definite (its Cholesky
    factorisation fails), solve with H + tau I instead, tau >= 0 increased until the
    factorisation succeeds, so p is a descent direction; then a backtracking (Armijo)
    line search from alpha = 1. Near a minimum with positive definite H the full step
    is accepted and convergence is quadratic (Chapter 9, why Newton converges fast).
    ``extras["shifts"]`` records tau at each iteration.

    Examples
    --------
    >>> from hessian_lab import newton, rosenbrock, seed_quartic
    >>> prob = rosenbrock()
    >>> res = newton(prob.f, prob.grad, prob.hess, prob.x0, tol=1e-10)
    >>> res.success, [round(float(v), 8) for v in res.x]
    (True, [1.0, 1.0])
    >>> quartic = seed_quartic()
    >>> pure = newton(quartic.f, quartic.grad, quartic.hess, [0.3, 0.2], globalize=False)
    >>> [round(float(v), 8) + 0.0 for v in pure.x]     # the saddle, not a minimum
    [0.0, 0.0]
    """
    x, f, grad = _start(f, grad, x0)
    hess = _Counted(hess, "hess")
    _check_settings(tol, max_iter)
    path = _Path(x, store_path)
    shifts: list[float] = []
    with np.errstate(all="ignore"):
        fx = float(f(x))
        g = _first_gradient(grad, x)
        nit = 0
        while (stop := _stop_reason(fx, g, tol, nit, max_iter)) is None:
            H = _evaluate(hess, x)
            if H.shape != (x.size, x.size):
                raise ValueError(f"hess(x) must return an ({x.size}, {x.size}) array, got "
                                 f"shape {H.shape}")
            if not np.all(np.isfinite(H)):
                stop = NOT_FINITE, (
                    f"Stopped: the Hessian at iteration {nit} is not finite (NaN or inf)."
                )
                break
            if globalize:
                L, tau = _cholesky_with_shift(H)
                shifts.append(tau)
                if L is None:
                    stop = NOT_FINITE, (
                        f"Stopped: no shift tau made H + tau I positive definite at iteration "
                        f"{nit} (the Hessian's entries overflow)."
                    )
                    break
                p = -np.linalg.solve(L.T, np.linalg.solve(L, g))
                step = armijo_backtrack(f, x, p, fx, float(g @ p), alpha0=1.0)
                if not step.success:
                    stop = LINE_SEARCH_FAILED, f"Stopped: line search failed: {step.message}."
                    break
                x, fx = step.x_new, step.f_new
            else:
                singular, condition = _is_singular(H)
                if singular:
                    stop = SINGULAR, (
                        f"Stopped: the Hessian is singular at iteration {nit} (condition "
                        f"number {condition:.2e}): the Newton step H p = -g has no unique "
                        "solution; use globalize=True (shifted Hessian) instead."
                    )
                    break
                x = x + np.linalg.solve(H, -g)
                fx = float(f(x))
            g = _evaluate(grad, x)
            nit += 1
            path.append(x)
    return _result(x, fx, g, nit, f, grad, hess, stop, path, {"shifts": shifts})


# --------------------------------------------------------------------------- quasi-Newton


def bfgs_update(B: np.ndarray, s: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The BFGS update of B, the approximation of the INVERSE Hessian (Chapter 11).

    With the step s = x_new - x_old and the gradient change y = g_new - g_old,

        B_new = (I - s y^T / y^T s) B (I - y s^T / y^T s) + s s^T / y^T s,

    which satisfies the secant condition B_new y = s and stays symmetric positive
    definite when B is and y^T s > 0 (the curvature condition; the caller must check
    it). Written as the formula reads, at O(n^3) cost.

    Examples
    --------
    >>> import numpy as np
    >>> B = np.eye(2)
    >>> s, y = np.array([1.0, 0.0]), np.array([2.0, 1.0])
    >>> B_new = bfgs_update(B, s, y)
    >>> np.allclose(B_new @ y, s)
    True
    """
    rho = 1.0 / (y @ s)
    identity = np.eye(s.size)
    left = identity - rho * np.outer(s, y)
    return left @ B @ left.T + rho * np.outer(s, s)


def _curvature_ok(ys: float, s_norm: float, y_norm: float) -> bool:
    """The curvature condition y^T s > 0, with a margin: y^T s > sqrt(eps) ||s|| ||y||."""
    return ys > math.sqrt(np.finfo(float).eps) * s_norm * y_norm


def bfgs(
    f: Callable[[np.ndarray], float],
    grad: Callable[[np.ndarray], np.ndarray],
    x0: ArrayLike,
    B0: ArrayLike | None = None,
    tol: float = 1e-6,
    max_iter: int = 1000,
    c1: float = C1,
    c2: float = C2,
    store_path: bool = True,
) -> OptimizeResult:
    """BFGS, a quasi-Newton method (Chapter 11): B approximates the INVERSE Hessian.

    Each iteration: p = -B g, a strong Wolfe line search for alpha, s = alpha p,
    y = grad f(x + s) - grad f(x), and the update of :func:`bfgs_update`

        B_new = (I - s y^T / y^T s) B (I - y s^T / y^T s) + s s^T / y^T s.

    * Curvature condition: the update needs y^T s > 0 (the Wolfe conditions guarantee
      it in exact arithmetic). When y^T s <= sqrt(eps) ||s|| ||y|| the update is
      *skipped* (B kept); ``extras["skipped_updates"]`` counts the skips.
    * Scaling: with ``B0=None``, B starts as I, the first step length is
      min(1, 1 / ||g_0||_2), and before the first update B is replaced by
      (y^T s / y^T y) I, the inverse of a Rayleigh-quotient estimate of the Hessian's
      scale (Nocedal & Wright, eq. 6.20). A given ``B0`` (symmetric positive definite)
      is used as is.
    * If the line search fails, B is reset to I (and scaled again at the next update)
      once before giving up.

    ``extras["secant_residuals"]`` records ||B_new y - s|| / ||s|| after each update.

    Examples
    --------
    >>> from hessian_lab import bfgs, rosenbrock
    >>> prob = rosenbrock()
    >>> res = bfgs(prob.f, prob.grad, prob.x0, tol=1e-5)
    >>> res.success, res.nit <= 40, [round(float(v), 4) for v in res.x]
    (True, True, [1.0, 1.0])
    """
    x, f, grad = _start(f, grad, x0)
    _check_settings(tol, max_iter)
    c1, c2 = check_wolfe_constants(c1, c2)
    n = x.size
    scale_first = B0 is None
    if B0 is None:
        B = np.eye(n)
    else:
        B = as_symmetric(B0, "B0")
        if B.shape != (n, n):
            raise ValueError(f"B0 has shape {B.shape}, expected ({n}, {n})")
        try:
            cholesky(B)
        except np.linalg.LinAlgError:
            raise ValueError("B0 must be positive definite (it approximates H^-1)") from None
    path = _Path(x, store_path)
    skipped, secant_residuals, resets = 0, [], 0
    fresh = True  # B is I (or B0) with no update since the start or the last reset
    with np.errstate(all="ignore"):
        fx = float(f(x))
        g = _first_gradient(grad, x)
        nit = 0
        while (stop := _stop_reason(fx, g, tol, nit, max_iter)) is None:
            p = -(B @ g)
            slope = float(g @ p)
            if not slope < 0:  # rounding destroyed positive definiteness: restart
                B, fresh, scale_first, resets = np.eye(n), True, True, resets + 1
                p, slope = -g, -float(g @ g)
            # an unscaled B = I gives p = -g: take a first step of length 1
            alpha0 = min(1.0, 1.0 / np.linalg.norm(g)) if (fresh and scale_first) else 1.0
            step = strong_wolfe(f, grad, x, p, fx, slope, alpha0=alpha0, c1=c1, c2=c2)
            if step.alpha == 0.0:
                if fresh:
                    stop = LINE_SEARCH_FAILED, (
                        f"Stopped: line search failed at iteration {nit}: {step.message}."
                    )
                    break
                B, fresh, scale_first, resets = np.eye(n), True, True, resets + 1
                continue
            s = step.x_new - x
            y = step.g_new - g
            ys = float(y @ s)
            if _curvature_ok(ys, np.linalg.norm(s), np.linalg.norm(y)):
                if scale_first:
                    B = (ys / float(y @ y)) * np.eye(n)
                    scale_first = False
                B = bfgs_update(B, s, y)
                secant_residuals.append(float(np.linalg.norm(B @ y - s) / np.linalg.norm(s)))
                fresh = False
            else:
                skipped += 1
            x, fx, g = step.x_new, step.f_new, step.g_new
            nit += 1
            path.append(x)
    extras = {"skipped_updates": skipped, "secant_residuals": secant_residuals, "resets": resets}
    return _result(x, fx, g, nit, f, grad, None, stop, path, extras, hess_inv=B)


def two_loop(
    g: np.ndarray,
    s_list: Sequence[np.ndarray],
    y_list: Sequence[np.ndarray],
    gamma: float,
) -> np.ndarray:
    """The L-BFGS two-loop recursion: returns B g without forming B (Chapter 11).

    B is the inverse-Hessian approximation obtained by applying the BFGS update to
    B0 = gamma I with the stored pairs (s_i, y_i), oldest first; rho_i = 1 / y_i^T s_i.

        q = g
        for i = newest ... oldest:   a_i = rho_i s_i^T q;   q = q - a_i y_i
        r = gamma q
        for i = oldest ... newest:   b = rho_i y_i^T r;     r = r + (a_i - b) s_i
        return r                      # = B g; the L-BFGS direction is p = -r

    Cost 4mn multiplications and O(n) extra memory for m pairs. :func:`lbfgs` runs the
    same recursion in place (``_two_loop_in_place``), which saves the temporary arrays
    that each ``q - a_i y_i`` makes; the tests check that the two agree.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> s_list = [rng.standard_normal(3) for _ in range(2)]
    >>> y_list = [s + 0.1 * rng.standard_normal(3) for s in s_list]
    >>> B = np.eye(3)
    >>> for s, y in zip(s_list, y_list):
    ...     B = bfgs_update(B, s, y)
    >>> g = rng.standard_normal(3)
    >>> np.allclose(two_loop(g, s_list, y_list, gamma=1.0), B @ g)
    True
    """
    m = len(s_list)
    rho = [1.0 / (y_list[i] @ s_list[i]) for i in range(m)]
    a = [0.0] * m
    q = np.array(g, dtype=float)
    for i in reversed(range(m)):
        a[i] = rho[i] * (s_list[i] @ q)
        q = q - a[i] * y_list[i]
    r = gamma * q
    for i in range(m):
        b = rho[i] * (y_list[i] @ r)
        r = r + (a[i] - b) * s_list[i]
    return r


def _two_loop_in_place(g, pairs, gamma) -> np.ndarray:
    """:func:`two_loop` for :func:`lbfgs`: the same recursion with one work array.

    ``pairs`` holds (s, y, rho) triples, oldest first. Every ``q - a y`` and ``r + c s``
    is done in place, so an iteration allocates two n-vectors instead of 2m + 1.
    """
    q = np.array(g, dtype=float)
    work = np.empty_like(q)
    a = [0.0] * len(pairs)
    for i in reversed(range(len(pairs))):
        s, y, rho = pairs[i]
        a[i] = rho * float(s @ q)
        q -= np.multiply(a[i], y, out=work)
    r = q
    r *= gamma
    for i, (s, y, rho) in enumerate(pairs):
        b = rho * float(y @ r)
        r += np.multiply(a[i] - b, s, out=work)
    return r


def lbfgs(
    f: Callable[[np.ndarray], float],
    grad: Callable[[np.ndarray], np.ndarray],
    x0: ArrayLike,
    m: int = 10,
    tol: float = 1e-6,
    max_iter: int = 1000,
    c1: float = C1,
    c2: float = C2,
    store_path: bool = True,
) -> OptimizeResult:
    """Limited-memory BFGS (Chapter 11): the last m pairs (s, y) stand in for B.

    Each iteration: the direction p = -B g from the two-loop recursion
    (:func:`two_loop`) with B0 = gamma I, gamma = s^T y / y^T y from the newest pair; a
    strong Wolfe line search for alpha (first trial alpha = 1; min(1, 1/||g||_2) while
    no pair is stored); then the new pair s = alpha p, y = grad f(x + s) - grad f(x)
    replaces the oldest once m are stored. Memory is O(mn): no n x n array is ever
    formed. A pair failing the curvature condition y^T s > sqrt(eps) ||s|| ||y|| is
    not stored (``extras["skipped_updates"]``). If the line search fails, the memory
    is cleared once before giving up.

    Examples
    --------
    >>> from hessian_lab import lbfgs, rosenbrock
    >>> prob = rosenbrock(1000, kind="extended")
    >>> res = lbfgs(prob.f, prob.grad, prob.x0, tol=1e-5, store_path=False)
    >>> res.success, round(float(res.fun), 8)
    (True, 0.0)
    """
    x, f, grad = _start(f, grad, x0)
    _check_settings(tol, max_iter)
    c1, c2 = check_wolfe_constants(c1, c2)
    m = as_int(m, "m", 1, "the number of stored pairs")
    pairs: deque[tuple[np.ndarray, np.ndarray, float]] = deque(maxlen=m)  # (s, y, 1 / y^T s)
    gamma = 1.0
    path = _Path(x, store_path)
    skipped = resets = 0
    with np.errstate(all="ignore"):
        fx = float(f(x))
        g = _first_gradient(grad, x)
        nit = 0
        while (stop := _stop_reason(fx, g, tol, nit, max_iter)) is None:
            if pairs:
                p = -_two_loop_in_place(g, pairs, gamma)
                alpha0 = 1.0
            else:  # no pairs yet (or after a reset): a steepest-descent step of length 1
                p = -g
                alpha0 = min(1.0, 1.0 / np.linalg.norm(g))
            step = strong_wolfe(f, grad, x, p, fx, float(g @ p), alpha0=alpha0, c1=c1, c2=c2)
            if step.alpha == 0.0:
                if not pairs:
                    stop = LINE_SEARCH_FAILED, (
                        f"Stopped: line search failed at iteration {nit}: {step.message}."
                    )
                    break
                pairs.clear()
                resets += 1
                continue
            s = step.x_new - x
            y = step.g_new - g
            ys, yy = float(y @ s), float(y @ y)
            if _curvature_ok(ys, math.sqrt(float(s @ s)), math.sqrt(yy)):
                pairs.append((s, y, 1.0 / ys))  # the oldest pair drops out when m are stored
                gamma = ys / yy
            else:
                skipped += 1
            x, fx, g = step.x_new, step.f_new, step.g_new
            nit += 1
            path.append(x)
    extras = {"m": m, "skipped_updates": skipped, "resets": resets}
    return _result(x, fx, g, nit, f, grad, None, stop, path, extras)


# --------------------------------------------------------------------------- least squares


def _least_squares_start(residual, jacobian, x0):
    return as_vector(x0, "x0"), _Counted(residual, "residual"), _Counted(jacobian, "jacobian")


def _least_squares_result(theta, r, J, loss, g, nit, residual, jacobian, stop, path,
                          extras=None) -> LeastSquaresResult:
    status, message = stop
    return LeastSquaresResult(
        x=theta,
        fun=r,
        jac=J,
        nit=nit,
        nfev=residual.calls,
        njev=jacobian.calls,
        nhev=0,
        success=status == CONVERGED,
        message=message,
        path=path.array(theta),
        status=status,
        extras={} if extras is None else extras,
        cost=float(loss),
        grad=g,
        optimality=_inf_norm(g),
    )


def _residual_and_jacobian(residual, jacobian, theta):
    r = _evaluate(residual, theta)
    J = _evaluate(jacobian, theta)
    if r.ndim != 1 or J.shape != (r.size, theta.size):
        raise ValueError(
            f"jacobian(theta) must have shape (len(r), len(theta)) = ({r.size}, {theta.size}), "
            f"got {J.shape}"
        )
    return r, J


def gauss_newton(
    residual: Callable[[np.ndarray], np.ndarray],
    jacobian: Callable[[np.ndarray], np.ndarray],
    x0: ArrayLike,
    tol: float = 1e-6,
    max_iter: int = 100,
    store_path: bool = True,
) -> OptimizeResult:
    """Gauss-Newton for min L(theta) = ||r(theta)||^2 / 2 (Chapter 16).

    The Hessian of L is J^T J + sum_i r_i Hess(r_i); Gauss-Newton drops the second term
    and takes the step p solving the linear least-squares problem min ||J p + r||, i.e.
    J^T J p = -J^T r (solved with an SVD-based least-squares solver, never forming
    J^T J). Full steps, no line search. The gradient is J^T r; ``tol`` applies to it.
    Returns a :class:`LeastSquaresResult` (``fun`` the residuals, ``jac`` the Jacobian,
    ``cost`` the loss and ``grad`` its gradient, as in ``scipy.optimize.least_squares``).
    A rank-deficient J (the step is not unique) stops the run with ``success=False``:
    damp it with :func:`levenberg_marquardt`.

    Examples
    --------
    >>> from hessian_lab import curve_fit_problem, gauss_newton
    >>> prob = curve_fit_problem(noise=0.0)
    >>> res = gauss_newton(prob.residual, prob.jacobian, prob.theta0, tol=1e-10)
    >>> res.success, [round(float(v), 6) for v in res.x]
    (True, [2.5, 1.3])
    """
    theta, residual, jacobian = _least_squares_start(residual, jacobian, x0)
    _check_settings(tol, max_iter)
    path = _Path(theta, store_path)
    with np.errstate(all="ignore"):
        r, J = _residual_and_jacobian(residual, jacobian, theta)
        nit = 0
        while True:
            g = J.T @ r
            loss = float(r @ r) / 2.0
            if not np.all(np.isfinite(J)):
                g = np.full_like(theta, np.nan)
            if (stop := _stop_reason(loss, g, tol, nit, max_iter)) is not None:
                break
            p, _, rank, _ = np.linalg.lstsq(J, -r, rcond=None)
            if rank < theta.size:
                stop = SINGULAR, (
                    f"Stopped: the Jacobian is rank-deficient (rank {rank} < {theta.size} "
                    f"parameters) at iteration {nit}: the Gauss-Newton step is not unique; "
                    "use levenberg_marquardt, which damps it."
                )
                break
            theta = theta + p
            r, J = _residual_and_jacobian(residual, jacobian, theta)
            nit += 1
            path.append(theta)
    return _least_squares_result(theta, r, J, loss, g, nit, residual, jacobian, stop, path)


def levenberg_marquardt(
    residual: Callable[[np.ndarray], np.ndarray],
    jacobian: Callable[[np.ndarray], np.ndarray],
    x0: ArrayLike,
    lam0: float = 1e-3,
    tol: float = 1e-6,
    max_iter: int = 200,
    store_path: bool = True,
) -> OptimizeResult:
    """Levenberg-Marquardt: Gauss-Newton damped by lambda (Chapter 16).

    The step solves the damped normal equations

        (J^T J + lambda I) p = -J^T r,

    between a Gauss-Newton step (lambda -> 0) and a short gradient step
    (lambda large); J^T J + lambda I is positive definite for lambda > 0 even when J
    is rank-deficient. lambda starts at ``lam0`` times the largest diagonal entry of
    J^T J and adapts to the gain ratio

        rho = (L(theta) - L(theta + p)) / (m(0) - m(p)),
        m(0) - m(p) = -p^T J^T r - p^T J^T J p / 2:

    if rho > 0 the step is accepted and ``lambda *= max(1/3, 1 - (2 rho - 1)^3)``, else it is
    rejected and lambda grows by a factor that doubles on each consecutive rejection
    (Madsen, Nielsen & Tingleff's rule). Every trial counts as an iteration; a rejected
    trial repeats theta in ``path``. Returns a :class:`LeastSquaresResult`;
    ``extras["lambdas"]`` records lambda per trial.
    Because it accepts steps by comparing values of L, LM cannot certify a gradient
    much below the size at which decreases of L drown in rounding (around 1e-9 for a
    loss of order 1e-2); a smaller ``tol`` ends with ``success=False`` and says so,
    whereas :func:`gauss_newton`, which never compares values, can go further.

    Examples
    --------
    >>> from hessian_lab import curve_fit_problem, levenberg_marquardt
    >>> prob = curve_fit_problem(noise=0.0)
    >>> res = levenberg_marquardt(prob.residual, prob.jacobian, prob.theta0, tol=1e-10)
    >>> res.success, [round(float(v), 6) for v in res.x]
    (True, [2.5, 1.3])
    """
    theta, residual, jacobian = _least_squares_start(residual, jacobian, x0)
    _check_settings(tol, max_iter)
    lam0 = as_positive(lam0, "lam0", meaning="the initial damping factor")
    path = _Path(theta, store_path)
    lambdas: list[float] = []
    identity = np.eye(theta.size)
    with np.errstate(all="ignore"):
        r, J = _residual_and_jacobian(residual, jacobian, theta)
        loss = float(r @ r) / 2.0
        A = J.T @ J
        lam = lam0 * max(float(np.max(np.diag(A))), np.finfo(float).tiny)
        growth = 2.0
        nit = 0
        while True:
            g = J.T @ r
            if not np.all(np.isfinite(A)):
                g = np.full_like(theta, np.nan)
            if (stop := _stop_reason(loss, g, tol, nit, max_iter)) is not None:
                break
            p = np.linalg.solve(A + lam * identity, -g)
            if not np.linalg.norm(p) > np.finfo(float).eps * (np.linalg.norm(theta) + 1e-300):
                stop = LINE_SEARCH_FAILED, (
                    f"Stopped: lambda grew to {lam:.2e} and the step became negligible "
                    f"with ||grad||_inf = {_inf_norm(g):.2e} > tol = {tol:g}: no step "
                    "decreases L measurably (the decrease is below rounding level, or L is "
                    "not finite near theta)."
                )
                break
            lambdas.append(lam)
            r_new = _evaluate(residual, theta + p)
            loss_new = float(r_new @ r_new) / 2.0
            # L - L_new = (r - r_new).(r + r_new) / 2, accurate even when r_new ~ r
            actual = float((r - r_new) @ (r + r_new)) / 2.0
            # m(0) - m(p) = -g.p - p.A.p / 2 = (lambda p.p - g.p) / 2, as (A + lambda I) p = -g
            predicted = (lam * float(p @ p) - float(g @ p)) / 2.0
            gain = actual / predicted if predicted > 0 else -1.0
            if math.isfinite(loss_new) and gain > 0:
                theta, r, loss = theta + p, r_new, loss_new
                J = _evaluate(jacobian, theta)
                A = J.T @ J
                lam *= max(1.0 / 3.0, 1.0 - (2.0 * gain - 1.0) ** 3)
                growth = 2.0
            else:
                lam *= growth
                growth *= 2.0
            nit += 1
            path.append(theta)
    return _least_squares_result(theta, r, J, loss, g, nit, residual, jacobian, stop, path,
                                 {"lambdas": lambdas})

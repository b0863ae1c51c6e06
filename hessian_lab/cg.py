"""Conjugate gradients, and Newton's method driven by them (Newton-CG).

:func:`conjugate_gradient` solves A x = b for a symmetric A given only through its
products v -> A v: a matrix, or a Hessian-vector product (Chapter 17). On a symmetric
positive definite A it minimises the quadratic model q(x) = x^T A x / 2 - b^T x over a
growing Krylov space, without ever forming A, and its error in the A-norm falls at least
as fast as 2 ((sqrt(kappa) - 1) / (sqrt(kappa) + 1))^k, against gradient descent's
((kappa - 1) / (kappa + 1))^k. When a search direction p has p^T A p <= 0 the model is not
bounded below along p; CG stops there and returns p (``negative_curvature``).

:func:`newton_cg` is the truncated (inexact) Newton method: at each iterate it runs CG on
H p = -g only until ||H p + g|| <= eta ||g||, with the forcing term
eta = min(0.5, sqrt(||g||)), which makes the local convergence superlinear while early
iterations stay cheap (Nocedal & Wright, Algorithm 7.1). It needs Hessian-vector products
only, so it runs where a dense Hessian would not fit. Both belong to the chapter on
conjugate gradients and Newton-CG.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from ._checks import as_int, as_positive, as_vector
from .linesearch import armijo_backtrack
from .optimizers import (
    LINE_SEARCH_FAILED,
    NOT_FINITE,
    OptimizeResult,
    _check_settings,
    _Counted,
    _evaluate,
    _first_gradient,
    _Path,
    _result,
    _start,
    _stop_reason,
)

__all__ = ["CGResult", "conjugate_gradient", "newton_cg"]

# status codes of CGResult
CG_CONVERGED, CG_MAX_ITER, CG_NEGATIVE_CURVATURE, CG_NOT_FINITE = 0, 1, 2, 3


@dataclass
class CGResult:
    """The outcome of :func:`conjugate_gradient`.

    Attributes
    ----------
    x : ndarray
        The last iterate x_k (the solution when ``success``).
    nit : int
        CG iterations taken (each costs one product A p).
    n_matvec : int
        Products A v computed (one for the initial residual when x0 is not zero).
    residual_norm : float
        ||b - A x_k||, from the recurrence r_{k+1} = r_k - alpha_k A p_k.
    success : bool
        Whether ||r_k|| reached the tolerance.
    message : str
        Why CG stopped, in words.
    status : int
        0 converged, 1 max_iter reached, 2 negative (or zero) curvature met,
        3 a value was NaN or infinite.
    residuals : ndarray
        ||r_0||, ..., ||r_k||.
    negative_curvature : ndarray or None
        With status 2: the direction p with p^T A p <= 0 that stopped CG.
    curvature : float or None
        With status 2: p^T A p / p^T p for that direction.
    """

    x: np.ndarray
    nit: int
    n_matvec: int
    residual_norm: float
    success: bool
    message: str
    status: int = CG_CONVERGED
    residuals: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    negative_curvature: np.ndarray | None = field(default=None, repr=False)
    curvature: float | None = None


def _operator(A, n: int) -> Callable[[np.ndarray], np.ndarray]:
    """v -> A v for a square matrix or a callable; the shape is checked at the first call."""
    if callable(A):
        def product(v):
            Av = np.asarray(A(v), dtype=float)
            if Av.shape != (n,):
                raise ValueError(f"the product A(v) must return an array of shape ({n},), "
                                 f"got shape {Av.shape}")
            return Av
        return product
    M = np.asarray(A, dtype=float)
    if M.shape != (n, n):
        raise ValueError(f"A must be a square ({n}, {n}) matrix (b has {n} entries) or a "
                         f"callable v -> A v, got shape {M.shape}")
    return M.__matmul__


def conjugate_gradient(
    A: ArrayLike | Callable[[np.ndarray], np.ndarray],
    b: ArrayLike,
    x0: ArrayLike | None = None,
    rtol: float = 1e-10,
    atol: float = 0.0,
    max_iter: int | None = None,
    callback: Callable[[np.ndarray], None] | None = None,
) -> CGResult:
    r"""Solve A x = b by conjugate gradients, with products A v only.

    From x_0 (default 0), r_0 = b - A x_0 and p_0 = r_0, each iteration takes

    .. math::

        \alpha_k = \frac{r_k^T r_k}{p_k^T A p_k}, \quad
        x_{k+1} = x_k + \alpha_k p_k, \quad
        r_{k+1} = r_k - \alpha_k A p_k, \quad
        \beta_k = \frac{r_{k+1}^T r_{k+1}}{r_k^T r_k}, \quad
        p_{k+1} = r_{k+1} + \beta_k p_k,

    and stops when ||r_k|| <= max(rtol ||b||, atol). x_k minimises
    q(x) = x^T A x / 2 - b^T x over x_0 plus the Krylov space spanned by
    r_0, A r_0, ..., A^{k-1} r_0; in exact arithmetic CG ends in at most n steps.

    A need not be positive definite: if some p_k has p_k^T A p_k <= 0, q is unbounded
    below along p_k (or flat), CG stops with status 2 and returns x_k and that direction
    in ``negative_curvature``.

    Parameters
    ----------
    A : (n, n) array_like or callable
        The symmetric matrix, or a function v -> A v (a Hessian-vector product).
    b : (n,) array_like
    x0 : (n,) array_like, optional
        The start; default the zero vector (then no product is spent on r_0).
    rtol, atol : float
        Stop when ||b - A x|| <= max(rtol ||b||, atol).
    max_iter : int, optional
        Default 10 n: rounding errors can delay convergence beyond n steps.
    callback : callable, optional
        Called as ``callback(x_k)`` after each iteration with a copy of the new iterate
        (as in ``scipy.sparse.linalg.cg``), e.g. to record errors x_k - x* along the run.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[4.0, 1.0], [1.0, 3.0]])
    >>> res = conjugate_gradient(A, [1.0, 2.0])
    >>> res.success, res.nit, np.allclose(A @ res.x, [1.0, 2.0])
    (True, 2, True)
    >>> saddle = conjugate_gradient(np.diag([1.0, -1.0]), [0.0, 1.0])
    >>> saddle.status, saddle.curvature     # q = x^2/2 - y^2/2 - y falls without bound in y
    (2, -1.0)
    """
    b = as_vector(b, "b")
    n = b.size
    product = _operator(A, n)
    rtol = as_positive(rtol, "rtol", allow_zero=True, meaning="a relative residual")
    atol = as_positive(atol, "atol", allow_zero=True, meaning="a residual norm")
    max_iter = 10 * n if max_iter is None else as_int(max_iter, "max_iter", 0)
    threshold = max(rtol * float(np.linalg.norm(b)), atol)
    n_matvec = 0
    with np.errstate(all="ignore"):
        if x0 is None:
            x, r = np.zeros(n), b.copy()
        else:
            x = as_vector(x0, "x0", n).copy()
            r = b - product(x)
            n_matvec += 1
        p = r.copy()
        rr = float(r @ r)
        residuals = [math.sqrt(rr)]
        k = 0
        while True:
            norm = residuals[-1]
            if not math.isfinite(norm):
                return _cg_result(x, k, n_matvec, residuals, CG_NOT_FINITE,
                                  f"Stopped: the residual is NaN or infinite at iteration {k}.")
            if norm <= threshold:
                return _cg_result(x, k, n_matvec, residuals, CG_CONVERGED,
                                  f"Converged: ||r|| = {norm:.2e} <= {threshold:.2e} after "
                                  f"{k} iterations.")
            if k >= max_iter:
                return _cg_result(x, k, n_matvec, residuals, CG_MAX_ITER,
                                  f"Stopped: reached max_iter = {max_iter} with ||r|| = "
                                  f"{norm:.2e} > {threshold:.2e}.")
            Ap = product(p)
            n_matvec += 1
            pAp = float(p @ Ap)
            if not pAp > 0.0:  # also catches NaN
                if math.isnan(pAp):
                    return _cg_result(x, k, n_matvec, residuals, CG_NOT_FINITE,
                                      f"Stopped: p^T A p is NaN at iteration {k}.")
                curvature = pAp / float(p @ p)
                result = _cg_result(
                    x, k, n_matvec, residuals, CG_NEGATIVE_CURVATURE,
                    f"Stopped: negative curvature p^T A p / p^T p = {curvature:.3g} <= 0 at "
                    f"iteration {k}: A is not positive definite, and the quadratic model is "
                    "unbounded below (or flat) along p.")
                result.negative_curvature, result.curvature = p, curvature + 0.0
                return result
            alpha = rr / pAp
            x += alpha * p
            r -= alpha * Ap
            rr_new = float(r @ r)
            p *= rr_new / rr  # p_{k+1} = r_{k+1} + beta_k p_k, in place
            p += r
            rr = rr_new
            residuals.append(math.sqrt(rr))
            k += 1
            if callback is not None:
                callback(x.copy())


def _cg_result(x, k, n_matvec, residuals, status, message) -> CGResult:
    return CGResult(x=x, nit=k, n_matvec=n_matvec, residual_norm=residuals[-1],
                    success=status == CG_CONVERGED, message=message, status=status,
                    residuals=np.array(residuals))


def _one_hessian(hessp, hess) -> _Counted:
    """The one Hessian form given (products ``hessp(x, v)`` or a matrix ``hess(x)``), counted."""
    if (hessp is None) == (hess is None):
        raise TypeError("give exactly one of hessp (Hessian-vector products hessp(x, v)) "
                        "and hess (the Hessian matrix hess(x))")
    return _Counted(hessp if hessp is not None else hess,
                    "hessp" if hessp is not None else "hess")


def _products_at(hessp: Callable, x: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """v -> H(x) v at a fixed x."""
    return lambda v: hessp(x, v)


def newton_cg(
    f: Callable[[np.ndarray], float],
    grad: Callable[[np.ndarray], np.ndarray],
    x0: ArrayLike,
    hessp: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    hess: Callable[[np.ndarray], np.ndarray] | None = None,
    tol: float = 1e-6,
    max_iter: int = 1000,
    max_cg: int | None = None,
    store_path: bool = True,
) -> OptimizeResult:
    """Truncated Newton: an inexact Newton step by conjugate gradients, then a line search.

    At x_k with gradient g_k, CG is run on H(x_k) p = -g_k from p = 0 and stopped when
    ||H p + g_k|| <= eta_k ||g_k|| with the forcing term eta_k = min(0.5, sqrt(||g_k||))
    (so the steps become exact Newton steps as g_k -> 0: superlinear convergence). If CG
    meets negative curvature, the step is the CG iterate reached so far, or -g_k if that
    happens at the first CG iteration: both are descent directions. A backtracking
    (Armijo) line search from alpha = 1 then sets x_{k+1} = x_k + alpha p.

    Give the Hessian as ``hessp(x, v) -> H(x) v`` (Hessian-vector products, nothing of
    size n^2 is formed) or as ``hess(x)`` (a matrix, evaluated once per iteration).
    ``nhev`` counts Hessian-vector products (``hessp`` calls), or ``hess`` calls;
    ``extras`` holds per iteration the CG iterations (``cg_iterations``), the forcing
    terms (``forcing``) and whether negative curvature was met
    (``negative_curvature``), and the total products in ``n_hvp``.

    Examples
    --------
    >>> from hessian_lab import newton_cg, rosenbrock
    >>> prob = rosenbrock(1000, kind="extended")
    >>> res = newton_cg(prob.f, prob.grad, prob.x0, hessp=prob.hessp, tol=1e-8)
    >>> res.success, bool(abs(res.x - 1).max() < 1e-6), res.nhev == res.extras["n_hvp"]
    (True, True, True)
    """
    x, f, grad = _start(f, grad, x0)
    _check_settings(tol, max_iter)
    counted = _one_hessian(hessp, hess)
    max_cg = 20 * x.size if max_cg is None else as_int(max_cg, "max_cg", 1)
    path = _Path(x, store_path)
    cg_iterations: list[int] = []
    forcing: list[float] = []
    negative: list[bool] = []
    n_hvp = 0
    with np.errstate(all="ignore"):
        fx = float(f(x))
        g = _first_gradient(grad, x)
        nit = 0
        while (stop := _stop_reason(fx, g, tol, nit, max_iter)) is None:
            gnorm = float(np.linalg.norm(g))
            eta = min(0.5, math.sqrt(gnorm))
            if hessp is not None:
                operator = _products_at(counted, x)
            else:
                H = _evaluate(counted, x)
                if H.shape != (x.size, x.size):
                    raise ValueError(f"hess(x) must return an ({x.size}, {x.size}) array, "
                                     f"got shape {H.shape}")
                operator = H
            inner = conjugate_gradient(operator, -g, rtol=eta, max_iter=max_cg)
            n_hvp += inner.n_matvec
            cg_iterations.append(inner.nit)
            forcing.append(eta)
            negative.append(inner.status == CG_NEGATIVE_CURVATURE)
            if inner.status == CG_NOT_FINITE:
                stop = NOT_FINITE, (f"Stopped: a Hessian-vector product is NaN or infinite "
                                    f"at iteration {nit}.")
                break
            p = inner.x if inner.nit > 0 else -g
            step = armijo_backtrack(f, x, p, fx, float(g @ p), alpha0=1.0)
            if not step.success:
                stop = LINE_SEARCH_FAILED, f"Stopped: line search failed: {step.message}."
                break
            x, fx = step.x_new, step.f_new
            g = _evaluate(grad, x)
            nit += 1
            path.append(x)
    extras = {"cg_iterations": cg_iterations, "forcing": forcing,
              "negative_curvature": negative, "n_hvp": n_hvp}
    return _result(x, fx, g, nit, f, grad, counted, stop, path, extras)

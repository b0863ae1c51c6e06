r"""Line searches: how far to go along a descent direction p.

Given a point x, a direction p with slope phi'(0) = grad f(x) . p < 0, a line search
picks a step length alpha > 0 for phi(alpha) = f(x + alpha p):

* :func:`backtracking` returns the first alpha in alpha0, rho alpha0, rho^2 alpha0, ...
  with *sufficient decrease* (the Armijo condition)
  :math:`\phi(\alpha) \le \phi(0) + c_1 \alpha \phi'(0)`;
* :func:`wolfe_line_search` returns an alpha satisfying the *strong Wolfe conditions*,
  sufficient decrease and the curvature condition
  :math:`|\phi'(\alpha)| \le c_2 |\phi'(0)|`.
  The curvature condition guarantees y^T s > 0 for s = alpha p and
  y = grad f(x + s) - grad f(x), which BFGS needs (Chapter 11, quasi-Newton methods).

Both check their arguments and evaluate f(x) and grad f(x) if not given. The
optimizers, which already hold f(x) and the slope phi'(0) = grad f(x) . p, call the
same searches through :func:`armijo_backtrack` and :func:`strong_wolfe`, which take
the slope and check nothing; the constants are named once, here: :data:`C1`,
:data:`C2`, :data:`SHRINK`.

A function value that is NaN or infinite is read as "the step was too long" and the
step is shrunk; no line search raises on it. Chapter 8 (Newton's method) motivates the
line search: the full Newton step alpha = 1 can increase f far from a minimum.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ._checks import as_int, as_positive, as_vector

__all__ = [
    "C1",
    "C2",
    "SHRINK",
    "LineSearchResult",
    "backtracking",
    "wolfe_line_search",
    "armijo_backtrack",
    "strong_wolfe",
    "check_wolfe_constants",
]

#: The sufficient-decrease constant c1 of the Armijo and Wolfe conditions (scipy's and
#: Nocedal & Wright's choice): accept a step that achieves 1e-4 of the decrease the
#: slope promises.
C1 = 1e-4
#: The curvature constant c2 of the strong Wolfe conditions for Newton and quasi-Newton
#: directions (0.1 would suit nonlinear conjugate gradients).
C2 = 0.9
#: The factor by which backtracking shortens a rejected step.
SHRINK = 0.5


@dataclass
class LineSearchResult:
    """What a line search found.

    Attributes
    ----------
    alpha : float
        The step length (0.0 when no acceptable step was found).
    x_new : ndarray
        The point x + alpha p (x itself when alpha = 0).
    f_new : float
        f(x_new).
    g_new : ndarray or None
        grad f(x_new) when the search evaluated it (always for the Wolfe search when
        it succeeds; never for backtracking).
    nfev, njev : int
        Numbers of function and gradient evaluations made by the search.
    success : bool
        Whether the step satisfies the requested conditions.
    message : str
        What happened, in words.

    Examples
    --------
    >>> import numpy as np
    >>> f = lambda x: float(x @ x)
    >>> res = backtracking(f, np.array([1.0]), np.array([-1.0]), 1.0, np.array([2.0]))
    >>> res.alpha, res.success, res.g_new is None
    (1.0, True, True)
    """

    alpha: float
    x_new: np.ndarray
    f_new: float
    g_new: np.ndarray | None
    nfev: int
    njev: int
    success: bool
    message: str


def check_wolfe_constants(c1: float, c2: float) -> tuple[float, float]:
    """Return (c1, c2) as floats if 0 < c1 < c2 < 1, else raise ValueError.

    Examples
    --------
    >>> check_wolfe_constants(1e-4, 0.9)
    (0.0001, 0.9)
    """
    c1 = as_positive(c1, "c1", meaning="the sufficient-decrease constant")
    c2 = as_positive(c2, "c2", meaning="the curvature constant")
    if not c1 < c2 < 1.0:
        raise ValueError(
            f"the Wolfe constants need 0 < c1 < c2 < 1; got c1={c1}, c2={c2} "
            f"(the usual choice is c1 = {C1}, c2 = {C2})"
        )
    return c1, c2


def _slope(g0: np.ndarray, p: np.ndarray) -> float:
    """phi'(0) = g0 . p, which must be negative (p a descent direction)."""
    slope = float(g0 @ p)
    if not slope < 0.0:
        raise ValueError(
            f"p is not a descent direction: grad f(x) . p = {slope:.3g} must be < 0; "
            "use e.g. p = -grad f(x), or a Newton step with a positive definite Hessian"
        )
    return slope


def _validated(x, p, g0):
    x = as_vector(x, "x")
    p = as_vector(p, "p", n=x.size)
    g0 = as_vector(g0, "g0", n=x.size)
    return x, p, g0


def _finite(value: float) -> bool:
    return math.isfinite(value)


def backtracking(
    f: Callable[[np.ndarray], float],
    x: ArrayLike,
    p: ArrayLike,
    f0: float | None,
    g0: ArrayLike,
    alpha0: float = 1.0,
    c1: float = C1,
    rho: float = SHRINK,
    max_iter: int = 60,
) -> LineSearchResult:
    """Backtracking (Armijo) line search.

    Tries alpha = alpha0, rho alpha0, rho^2 alpha0, ... and returns the first step with
    sufficient decrease

        f(x + alpha p) <= f(x) + c1 alpha grad f(x) . p.

    A NaN or infinite f(x + alpha p) counts as failing the test (step too long).
    Used by globalised Newton (Chapter 8, Newton's method).

    Parameters
    ----------
    f : callable
        The objective, f(x) -> float.
    x, p : array_like
        The current point and a descent direction (g0 . p < 0, else ValueError).
    f0 : float or None
        f(x); evaluated (and counted) when None.
    g0 : array_like
        grad f(x).
    alpha0, c1, rho : float
        First trial step, sufficient-decrease constant in (0, 1), shrink factor in (0, 1).
    max_iter : int
        Number of trial steps before giving up (success=False, alpha=0).

    Returns
    -------
    LineSearchResult

    Examples
    --------
    >>> import numpy as np
    >>> f = lambda x: float(x @ x)
    >>> x = np.array([1.0, 1.0])
    >>> res = backtracking(f, x, -2 * x, f(x), 2 * x)   # alpha = 1 overshoots to (-1, -1)
    >>> res.alpha, res.f_new, res.nfev
    (0.5, 0.0, 2)
    """
    x, p, g0 = _validated(x, p, g0)
    if not (0.0 < c1 < 1.0 and 0.0 < rho < 1.0 and alpha0 > 0.0):
        raise ValueError(f"need 0 < c1 < 1, 0 < rho < 1, alpha0 > 0; got {c1}, {rho}, {alpha0}")
    max_iter = as_int(max_iter, "max_iter", 1, "the number of trial steps")
    nfev = 0
    if f0 is None:
        with np.errstate(all="ignore"):
            f0 = float(f(x))
        nfev += 1
    res = armijo_backtrack(f, x, p, float(f0), _slope(g0, p), alpha0=alpha0, c1=c1, rho=rho,
                           max_iter=max_iter)
    res.nfev += nfev
    return res


def armijo_backtrack(
    f: Callable[[np.ndarray], float],
    x: np.ndarray,
    p: np.ndarray,
    f0: float,
    slope: float,
    *,
    alpha0: float = 1.0,
    c1: float = C1,
    rho: float = SHRINK,
    max_iter: int = 60,
) -> LineSearchResult:
    """The backtracking loop of :func:`backtracking`, for a caller that knows f(x) and the slope.

    ``slope`` is phi'(0) = grad f(x) . p < 0. Tries alpha = alpha0, rho alpha0, ... and
    returns the first alpha with f(x + alpha p) <= f0 + c1 alpha slope. Nothing is
    checked (the optimizers have checked x, p and the constants once): call
    :func:`backtracking` with your own arguments.

    Examples
    --------
    >>> import numpy as np
    >>> f = lambda x: float(x @ x)
    >>> x = np.array([1.0, 1.0])
    >>> res = armijo_backtrack(f, x, -2 * x, f(x), -8.0)
    >>> res.alpha, res.nfev
    (0.5, 2)
    """
    alpha = alpha0
    nfev = 0
    with np.errstate(all="ignore"):
        for _ in range(max_iter):
            x_new = x + alpha * p
            f_new = float(f(x_new))
            nfev += 1
            if _finite(f_new) and f_new <= f0 + c1 * alpha * slope:
                msg = f"sufficient decrease at alpha = {alpha:.3g}"
                return LineSearchResult(alpha, x_new, f_new, None, nfev, 0, True, msg)
            alpha *= rho
    msg = f"no step with sufficient decrease after {max_iter} halvings (last alpha {alpha:.3g})"
    return LineSearchResult(0.0, x, f0, None, nfev, 0, False, msg)


def wolfe_line_search(
    f: Callable[[np.ndarray], float],
    grad: Callable[[np.ndarray], np.ndarray],
    x: ArrayLike,
    p: ArrayLike,
    f0: float | None = None,
    g0: ArrayLike | None = None,
    c1: float = C1,
    c2: float = C2,
    alpha0: float = 1.0,
    max_iter: int = 30,
) -> LineSearchResult:
    r"""Line search for a step satisfying the strong Wolfe conditions.

    With :math:`\phi(\alpha) = f(x + \alpha p)`, it returns :math:`\alpha > 0` with

    .. math::

        \phi(\alpha) &\le \phi(0) + c_1 \alpha \phi'(0) \quad \text{(sufficient decrease)},\\
        |\phi'(\alpha)| &\le c_2 |\phi'(0)| \quad \text{(curvature)},

    0 < c1 < c2 < 1 (defaults 1e-4 and 0.9, as in scipy and Nocedal & Wright). The
    search has two phases (Nocedal & Wright, Algorithms 3.5 and 3.6). The *bracketing*
    phase doubles alpha until an interval is known to contain acceptable steps: either
    the latest trial fails sufficient decrease (or does not improve on the previous
    one), or the slope there has become non-negative. The *zoom* phase then shrinks that
    interval, keeping as one end the best step so far, trying the minimiser of the
    cubic that matches phi and phi' at both ends (Nocedal & Wright, eq. 3.59), kept
    away from the ends, until a trial satisfies both conditions. Every trial costs one
    f and, where f is finite, one gradient, even a trial that is then rejected: the
    cubic needs the slope there, and it places the next trial much nearer the minimum
    of phi than a quadratic through phi(lo), phi'(lo) and phi(hi) does. A NaN or
    infinite f counts as a failed sufficient-decrease test: the step was too long.
    Chapter 11 (quasi-Newton methods) explains why BFGS needs the curvature
    condition: it makes y^T s > 0.

    Parameters
    ----------
    f, grad : callable
        The objective and its gradient.
    x, p : array_like
        The current point and a descent direction (grad f(x) . p < 0, else ValueError).
    f0, g0 : float and array_like, optional
        f(x) and grad f(x) if already known (otherwise evaluated and counted).
    c1, c2 : float
        The Wolfe constants, 0 < c1 < c2 < 1.
    alpha0 : float
        The first trial step (1 for Newton and quasi-Newton directions).
    max_iter : int
        Maximum number of trial steps in each phase.

    Returns
    -------
    LineSearchResult
        With ``g_new`` = grad f(x_new) on success.

    Examples
    --------
    >>> import numpy as np
    >>> from hessian_lab import rosenbrock
    >>> prob = rosenbrock()
    >>> x = prob.x0
    >>> res = wolfe_line_search(prob.f, prob.grad, x, -prob.grad(x), alpha0=1e-3)
    >>> res.success, res.f_new < prob.f(x)
    (True, True)
    >>> slope0 = prob.grad(x) @ -prob.grad(x)
    >>> bool(abs(res.g_new @ -prob.grad(x)) <= 0.9 * abs(slope0))
    True
    """
    x = as_vector(x, "x")
    p = as_vector(p, "p", n=x.size)
    c1, c2 = check_wolfe_constants(c1, c2)
    alpha0 = as_positive(alpha0, "alpha0", meaning="the first trial step")
    max_iter = as_int(max_iter, "max_iter", 1, "the number of trial steps in each phase")
    nfev = njev = 0
    with np.errstate(all="ignore"):
        if f0 is None:
            f0 = float(f(x))
            nfev += 1
        if g0 is None:
            g0 = np.asarray(grad(x), dtype=float)
            njev += 1
    g0 = as_vector(g0, "g0", n=x.size)
    if not _finite(float(f0)):
        raise ValueError(f"f(x) = {f0} is not finite; a line search needs a finite start")
    res = strong_wolfe(f, grad, x, p, float(f0), _slope(g0, p), alpha0=alpha0, c1=c1, c2=c2,
                       max_iter=max_iter)
    res.nfev += nfev
    res.njev += njev
    return res


class _Line:
    """phi(alpha) = f(x + alpha p) and phi'(alpha), counting evaluations."""

    def __init__(self, f, grad, x, p):
        self.f, self.grad, self.x, self.p = f, grad, x, p
        self.nfev = self.njev = 0
        self.point = self.gradient = None

    def value(self, alpha: float) -> float:
        self.point = self.p * alpha  # x + alpha p with one temporary array
        self.point += self.x
        self.nfev += 1
        return float(self.f(self.point))

    def slope(self) -> float:
        """phi' at the last point evaluated by :meth:`value` (NaN if not finite)."""
        self.gradient = np.asarray(self.grad(self.point), dtype=float)
        self.njev += 1
        return float(self.gradient @ self.p)

    def trial(self, alpha: float) -> tuple[float, float]:
        """phi(alpha) and phi'(alpha); the slope only where phi is finite (else NaN)."""
        phi = self.value(alpha)
        return phi, (self.slope() if _finite(phi) else math.nan)


def _interpolate(lo, phi_lo, dphi_lo, hi, phi_hi, dphi_hi) -> float:
    """A trial step between lo and hi: minimiser of an interpolating polynomial.

    The cubic through phi and phi' at both ends (Nocedal & Wright, eq. 3.59),

        d1 = phi'(lo) + phi'(hi) - 3 (phi(lo) - phi(hi)) / (lo - hi)
        d2 = sign(hi - lo) sqrt(d1^2 - phi'(lo) phi'(hi))
        alpha = hi - (hi - lo) (phi'(hi) + d2 - d1) / (phi'(hi) - phi'(lo) + 2 d2);

    the quadratic through phi(lo), phi'(lo), phi(hi) if phi'(hi) is not finite. The
    result is kept at least 10 % of the interval away from either end; bisection when
    there is no usable minimiser (e.g. phi(hi) is not finite).
    """
    width = hi - lo
    trial = math.nan
    if _finite(phi_hi):
        if _finite(dphi_hi):
            d1 = dphi_lo + dphi_hi - 3.0 * (phi_lo - phi_hi) / (lo - hi)
            radicand = d1 * d1 - dphi_lo * dphi_hi
            if radicand >= 0.0:
                d2 = math.copysign(math.sqrt(radicand), hi - lo)
                denom = dphi_hi - dphi_lo + 2.0 * d2
                if denom != 0.0:
                    trial = hi - width * (dphi_hi + d2 - d1) / denom
        else:
            curvature = (phi_hi - phi_lo - dphi_lo * width) / (width * width)
            if curvature > 0.0:
                trial = lo - dphi_lo / (2.0 * curvature)
    left, right = min(lo, hi), max(lo, hi)
    margin = 0.1 * (right - left)
    if not (_finite(trial) and left + margin <= trial <= right - margin):
        trial = lo + 0.5 * width
    return trial


def strong_wolfe(
    f: Callable[[np.ndarray], float],
    grad: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    p: np.ndarray,
    f0: float,
    slope0: float,
    *,
    alpha0: float = 1.0,
    c1: float = C1,
    c2: float = C2,
    max_iter: int = 30,
) -> LineSearchResult:
    """The search of :func:`wolfe_line_search`, for a caller that knows f(x) and the slope.

    ``slope0`` is phi'(0) = grad f(x) . p < 0. The bracketing phase (Nocedal & Wright,
    Algorithm 3.5) doubles alpha from ``alpha0`` until an interval holds acceptable
    steps, then the zoom phase (Algorithm 3.6) shrinks it. Each trial evaluates f and,
    where f is finite, the gradient. Nothing is checked: call :func:`wolfe_line_search`
    with your own arguments.

    Examples
    --------
    >>> import numpy as np
    >>> f, grad = (lambda x: float(x @ x)), (lambda x: 2 * x)
    >>> x = np.array([1.0, 1.0])
    >>> res = strong_wolfe(f, grad, x, -x, f(x), -4.0)   # the exact minimiser, alpha = 1
    >>> res.alpha, res.f_new, res.success
    (1.0, 0.0, True)
    """
    line = _Line(f, grad, x, p)
    prev, phi_prev, dphi_prev = 0.0, f0, slope0
    prev_state = None  # (point, gradient) at prev once prev > 0
    alpha = alpha0
    with np.errstate(all="ignore"):
        for i in range(max_iter):
            phi, dphi = line.trial(alpha)
            if not _finite(phi) or phi > f0 + c1 * alpha * slope0 or (i > 0 and phi >= phi_prev):
                # Too long: acceptable steps lie between prev and alpha.
                return _zoom(line, f0, slope0, c1, c2, (prev, phi_prev, dphi_prev, prev_state),
                             (alpha, phi, dphi), max_iter)
            if not _finite(dphi):
                return _zoom(line, f0, slope0, c1, c2, (prev, phi_prev, dphi_prev, prev_state),
                             (alpha, math.inf, math.nan), max_iter)
            if abs(dphi) <= -c2 * slope0:
                return _success(line, alpha, phi)
            if dphi >= 0.0:
                # Past a minimiser of phi: the interval runs back from alpha to prev.
                state = (line.point, line.gradient)
                return _zoom(line, f0, slope0, c1, c2, (alpha, phi, dphi, state),
                             (prev, phi_prev, dphi_prev), max_iter)
            prev, phi_prev, dphi_prev = alpha, phi, dphi
            prev_state = (line.point, line.gradient)
            alpha = 2.0 * alpha
    msg = (f"no bracket after {max_iter} doublings of the step: f still decreases at alpha = "
           f"{prev:.3g} (f = {phi_prev:.3g}); f may be unbounded below along p")
    return _failure(line, x, f0, msg)


def _zoom(line, f0, slope0, c1, c2, low_end, high_end, max_iter):
    """Shrink the bracket between lo and hi (Nocedal & Wright Algorithm 3.6).

    ``low_end = (lo, phi_lo, dphi_lo, (point, gradient) or None)`` and
    ``high_end = (hi, phi_hi, dphi_hi)``, dphi_hi NaN if unknown. Invariants: lo
    satisfies sufficient decrease and has the lowest phi seen so far;
    phi'(lo) (hi - lo) < 0, so phi decreases from lo towards hi.
    """
    lo, phi_lo, dphi_lo, lo_state = low_end
    hi, phi_hi, dphi_hi = high_end
    best_point, best_gradient = lo_state if lo_state is not None else (None, None)
    with np.errstate(all="ignore"):
        for _ in range(2 * max_iter):
            alpha = _interpolate(lo, phi_lo, dphi_lo, hi, phi_hi, dphi_hi)
            phi, dphi = line.trial(alpha)
            if not _finite(phi) or phi > f0 + c1 * alpha * slope0 or phi >= phi_lo:
                hi, phi_hi, dphi_hi = alpha, phi, dphi
            else:
                point = line.point
                if not _finite(dphi):
                    hi, phi_hi, dphi_hi = alpha, math.inf, math.nan
                    continue
                if abs(dphi) <= -c2 * slope0:
                    return _success(line, alpha, phi)
                if dphi * (hi - lo) >= 0.0:
                    hi, phi_hi, dphi_hi = lo, phi_lo, dphi_lo
                lo, phi_lo, dphi_lo = alpha, phi, dphi
                best_point, best_gradient = point, line.gradient
            if abs(hi - lo) <= 1e-12 * max(abs(lo), abs(hi)):
                break
    msg = "the bracket shrank to rounding level without meeting the strong Wolfe conditions"
    if best_point is not None and lo > 0.0:
        # Sufficient decrease holds at lo, so the step is still usable.
        return LineSearchResult(lo, best_point, phi_lo, best_gradient, line.nfev, line.njev,
                                False, msg + f"; best step alpha = {lo:.3g} decreases f")
    return _failure(line, line.x, f0, msg)


def _success(line, alpha, phi) -> LineSearchResult:
    msg = f"strong Wolfe conditions hold at alpha = {alpha:.3g}"
    return LineSearchResult(alpha, line.point, phi, line.gradient, line.nfev, line.njev, True, msg)


def _failure(line, x, f0, msg) -> LineSearchResult:
    return LineSearchResult(0.0, x, f0, None, line.nfev, line.njev, False, msg)

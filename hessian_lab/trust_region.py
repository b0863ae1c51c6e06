r"""Trust-region methods: minimise the quadratic model only where it can be trusted.

At x_k the model m(p) = f(x_k) + g^T p + p^T B p / 2 (B the Hessian, or its products) is
minimised over the ball ||p|| <= Delta; the step is tried, and the ratio

.. math::

    \rho = \frac{f(x_k) - f(x_k + p)}{m(0) - m(p)}

of actual to predicted decrease decides both whether to accept it (rho > eta) and how the
radius changes: shrink to ||p||/4 when rho < 1/4, double when rho > 3/4 and the step
reached the boundary (Nocedal & Wright, Algorithm 4.1). An indefinite B needs no shift
here: on a ball the model always has a minimiser, and the subproblem solvers follow
negative curvature to the boundary.

Subproblem solvers: :func:`cauchy_point` (the model's minimiser along -g inside the
ball), :func:`dogleg_step` (the path from the Cauchy point to the Newton step, for a
positive definite B), :func:`steihaug_step` (conjugate gradients stopped at the
boundary, at negative curvature, or by the forcing term: products B v only) and
:func:`exact_step` (the subproblem's global minimiser from an eigendecomposition of B,
for small problems). :func:`reduction_ratio` and :func:`update_radius` are the
acceptance test and the radius rule. The chapter on trust regions derives them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ._checks import as_positive, cholesky
from .cg import _one_hessian, _products_at
from .optimizers import (
    LINE_SEARCH_FAILED,
    OptimizeResult,
    _check_settings,
    _evaluate,
    _first_gradient,
    _Path,
    _result,
    _start,
    _stop_reason,
)

__all__ = ["SubproblemStep", "cauchy_point", "dogleg_step", "exact_step", "reduction_ratio",
           "steihaug_step", "trust_region", "update_radius"]

#: Accept a step when the actual decrease is more than this fraction of the predicted one.
ETA = 0.15
EPS = float(np.finfo(float).eps)


@dataclass
class SubproblemStep:
    """A step p with ||p|| <= radius for the model g^T p + p^T B p / 2, and how it ended.

    ``reason`` is "interior" (an unconstrained minimiser or a CG iterate within tolerance),
    "boundary" (stopped on the sphere ||p|| = radius) or "negative curvature" (followed a
    direction d with d^T B d <= 0 to the boundary). ``model`` is the model's change
    g^T p + p^T B p / 2 (negative: the predicted decrease is -model), tracked by the
    solvers so no extra product is spent on it. ``n_products`` counts products B v.
    ``multiplier`` is the lambda >= 0 of (B + lambda I) p = -g for :func:`exact_step`
    (NaN for the other solvers, which do not compute it).
    """

    p: np.ndarray
    reason: str
    n_products: int
    model: float
    multiplier: float = math.nan

    @property
    def hits_boundary(self) -> bool:
        return self.reason != "interior"


def _to_boundary(z: np.ndarray, d: np.ndarray, radius: float) -> tuple[float, float]:
    """The two roots tau_- <= 0 <= tau_+ of ||z + tau d|| = radius, for ||z|| <= radius."""
    a, b, c = float(d @ d), 2.0 * float(z @ d), float(z @ z) - radius**2
    root = math.sqrt(max(b * b - 4 * a * c, 0.0))
    q = -0.5 * (b + math.copysign(root, b))  # no cancellation
    roots = sorted((q / a, c / q) if q != 0.0 else (0.0, 0.0))
    return roots[0], roots[1]


def cauchy_point(g: ArrayLike, Bg: ArrayLike, radius: float) -> np.ndarray:
    """The minimiser of the model along -g within the ball (``Bg`` is the product B g).

    p_C = -tau (radius / ||g||) g with tau = 1 if g^T B g <= 0, else
    tau = min(||g||^3 / (radius g^T B g), 1).

    Examples
    --------
    >>> import numpy as np
    >>> g, B = np.array([1.0, 0.0]), np.diag([2.0, 1.0])
    >>> cauchy_point(g, B @ g, radius=10.0)      # inside: the 1-D minimiser -g/2
    array([-0.5,  0. ])
    >>> cauchy_point(g, -B @ g, radius=0.3)      # negative curvature: to the boundary
    array([-0.3,  0. ])
    """
    g, Bg = np.asarray(g, dtype=float), np.asarray(Bg, dtype=float)
    gnorm = float(np.linalg.norm(g))
    if gnorm == 0.0:
        return np.zeros_like(g)
    gBg = float(g @ Bg)
    tau = 1.0 if gBg <= 0 else min(gnorm**3 / (radius * gBg), 1.0)
    return -tau * (radius / gnorm) * g + 0.0  # + 0.0: no negative zeros


def dogleg_step(g: ArrayLike, B: ArrayLike, radius: float) -> SubproblemStep:
    """The dogleg step for a positive definite matrix B.

    The full Newton step p_B = -B^{-1} g if it fits in the ball; otherwise the point where
    the path 0 -> p_U -> p_B leaves the ball, p_U = -(g^T g / g^T B g) g being the
    unconstrained minimiser along -g. When B is not positive definite (its Cholesky
    factorisation fails) the dogleg is undefined and the Cauchy point is returned.

    Examples
    --------
    >>> import numpy as np
    >>> B = np.diag([1.0, 10.0])
    >>> dogleg_step([1.0, 1.0], B, radius=5.0).reason      # the Newton step fits
    'interior'
    >>> step = dogleg_step([1.0, 1.0], B, radius=0.5)
    >>> step.reason, round(float(np.linalg.norm(step.p)), 12)
    ('boundary', 0.5)
    """
    g, B = np.asarray(g, dtype=float), np.asarray(B, dtype=float)
    Bg = B @ g

    def done(p, reason):
        return SubproblemStep(p, reason, 1, float(g @ p) + 0.5 * float(p @ (B @ p)))

    try:
        L = cholesky(B)
    except np.linalg.LinAlgError:
        return done(cauchy_point(g, Bg, radius), "negative curvature")
    newton = -np.linalg.solve(L.T, np.linalg.solve(L, g))
    if np.linalg.norm(newton) <= radius:
        return done(newton, "interior")
    steepest = -(float(g @ g) / float(g @ Bg)) * g
    if np.linalg.norm(steepest) >= radius:
        return done(steepest * (radius / np.linalg.norm(steepest)), "boundary")
    # ||p_U + t (p_B - p_U)|| = radius for t in [0, 1]
    _, t = _to_boundary(steepest, newton - steepest, radius)
    return done(steepest + t * (newton - steepest), "boundary")


def steihaug_step(
    g: ArrayLike,
    product: Callable[[np.ndarray], np.ndarray],
    radius: float,
    rtol: float | None = None,
    max_iter: int | None = None,
) -> SubproblemStep:
    r"""Steihaug-CG: conjugate gradients on B p = -g from p = 0, kept inside the ball.

    CG runs as in :func:`hessian_lab.cg.conjugate_gradient` (residual r = g + B p) and stops

    * at the boundary, when the next iterate would leave the ball: the step is where the
      segment crosses the sphere;
    * at negative curvature, d^T B d <= 0: the step follows d to the boundary, at the
      crossing (forwards or backwards) where the model is lower;
    * in the interior, when ||r|| <= rtol ||g|| (default rtol = min(0.5, sqrt(||g||)), the
      forcing term of :func:`hessian_lab.cg.newton_cg`).

    The model decreases at every CG iterate, and ||p|| grows along them, which is why
    stopping at the first crossing is safe (Steihaug 1983; Nocedal & Wright, Algorithm 7.2).

    Examples
    --------
    >>> import numpy as np
    >>> B = np.diag([1.0, -1.0])
    >>> step = steihaug_step([1.0, 0.5], lambda v: B @ v, radius=2.0)
    >>> step.reason, round(float(np.linalg.norm(step.p)), 12)
    ('negative curvature', 2.0)
    """
    g = np.asarray(g, dtype=float)
    gnorm = float(np.linalg.norm(g))
    n = g.size
    rtol = min(0.5, math.sqrt(gnorm)) if rtol is None else rtol
    max_iter = 10 * n if max_iter is None else max_iter
    z = np.zeros(n)
    if gnorm == 0.0:
        return SubproblemStep(z, "interior", 0, 0.0)
    r = g.copy()
    d = -r
    rr = float(r @ r)
    products, model = 0, 0.0  # model = m(z) - m(0), updated along the iterates

    def change(tau, rd, dBd):  # m(z + tau d) - m(z) with r = g + B z
        return tau * rd + 0.5 * tau * tau * dBd

    for _ in range(max_iter):
        Bd = np.asarray(product(d), dtype=float)
        products += 1
        dBd = float(d @ Bd)
        rd = float(r @ d)
        if not dBd > 0.0:
            tau = min(_to_boundary(z, d, radius), key=lambda t: change(t, rd, dBd))
            return SubproblemStep(z + tau * d, "negative curvature", products,
                                  model + change(tau, rd, dBd))
        alpha = rr / dBd
        z_next = z + alpha * d
        if np.linalg.norm(z_next) >= radius:
            _, tau = _to_boundary(z, d, radius)
            return SubproblemStep(z + tau * d, "boundary", products,
                                  model + change(tau, rd, dBd))
        z, model = z_next, model + change(alpha, rd, dBd)
        r = r + alpha * Bd
        rr_next = float(r @ r)
        if math.sqrt(rr_next) <= rtol * gnorm:
            return SubproblemStep(z, "interior", products, model)
        d = -r + (rr_next / rr) * d
        rr = rr_next
    return SubproblemStep(z, "interior", products, model)


def exact_step(g: ArrayLike, B: ArrayLike, radius: float, tol: float = 1e-12) -> SubproblemStep:
    r"""The global minimiser of g^T p + p^T B p / 2 over ||p|| <= radius (B symmetric).

    p solves the subproblem exactly when, for some lambda >= 0 (Moré & Sorensen 1983),

    .. math::

        (B + \lambda I) p = -g, \qquad \lambda (\Delta - \|p\|) = 0, \qquad
        B + \lambda I \succeq 0 .

    With B = V diag(mu) V^T and c = V^T g, p(lambda) = -sum_i c_i v_i / (mu_i + lambda).
    If B is positive definite and ||p(0)|| <= radius, lambda = 0 ("interior"). Otherwise
    lambda > max(0, -mu_1) solves the secular equation 1/||p(lambda)|| = 1/radius, by
    Newton's method on that form (concave and increasing in lambda, so the iterates rise
    monotonically to the root), "boundary". In the hard case (c_1 = 0, ||p(-mu_1)|| <
    radius) p = p(-mu_1) + tau v_1 with ||p|| = radius. Costs one eigendecomposition:
    for the small matrices of the demos and the chapter, not for large problems.

    Examples
    --------
    >>> import numpy as np
    >>> B = np.diag([1.0, -1.0])
    >>> step = exact_step([1.0, 0.5], B, radius=2.0)
    >>> step.reason, round(float(np.linalg.norm(step.p)), 12), bool(step.multiplier > 1.0)
    ('boundary', 2.0, True)
    """
    g, B = np.asarray(g, dtype=float), np.asarray(B, dtype=float)
    radius = as_positive(radius, "radius", meaning="the trust radius")
    mu, V = np.linalg.eigh(B)
    c = V.T @ g
    scale = max(1.0, float(np.abs(mu).max()))

    def done(p, reason, lam):
        return SubproblemStep(p, reason, 1, float(g @ p) + 0.5 * float(p @ (B @ p)), lam)

    def p_of(lam):
        return -V @ (c / (mu + lam))

    if mu[0] > 0 and np.linalg.norm(p_of(0.0)) <= radius:
        return done(p_of(0.0), "interior", 0.0)
    low = max(0.0, -float(mu[0]))
    # the hard case: g has (almost) no component along the lowest eigenvector(s)
    lowest = mu <= mu[0] + 1e-12 * scale
    if np.all(np.abs(c[lowest]) <= 1e-12 * max(1.0, float(np.linalg.norm(g)))):
        rest = np.where(lowest, 0.0, c / np.where(lowest, 1.0, mu + low))
        p = -V @ rest
        if np.linalg.norm(p) <= radius:
            v1 = V[:, 0]
            _, tau = _to_boundary(p, v1, radius)
            return done(p + tau * v1, "boundary", low)
    # Newton on phi(lam) = 1/||p(lam)|| - 1/radius, safeguarded by the bracket [low, high]
    # (phi < 0 at the pole, phi >= 0 at high, where ||p|| <= ||g|| / (mu_1 + high))
    high = low + float(np.linalg.norm(g)) / radius + 1.0
    lam = high
    for _ in range(200):
        d = mu + lam
        norm2 = float(np.sum((c / d) ** 2))
        phi = 1.0 / math.sqrt(norm2) - 1.0 / radius
        if abs(phi) <= tol / radius:
            break
        if phi < 0:
            low = lam
        else:
            high = lam
        dphi = float(np.sum(c * c / d**3)) / norm2**1.5
        lam_next = lam - phi / dphi
        if not low < lam_next < high:
            lam_next = 0.5 * (low + high)
        if lam_next == lam:
            break
        lam = lam_next
    p = p_of(lam)  # on the sphere to rounding (near the pole, to about eps / (mu_1 + lam))
    return done(p * min(1.0, radius / float(np.linalg.norm(p))), "boundary", lam)


def reduction_ratio(f_old: float, f_new: float, predicted: float) -> float:
    """rho = (f_old - f_new) / predicted, the actual decrease over the model's.

    -inf when the model predicts no decrease or f_new is not finite (reject the step).
    When both decreases are below f's rounding error (16 eps max(1, abs(f_old))) their ratio
    is noise; then rho = 1/2 (take the step, keep the radius) if f did not rise beyond
    rounding.

    Examples
    --------
    >>> reduction_ratio(1.0, 0.5, 0.25)    # f fell twice as much as the model said
    2.0
    >>> reduction_ratio(1.0, 1.25, 0.5)    # f rose: rho < 0, reject
    -0.5
    """
    f_old, f_new, predicted = float(f_old), float(f_new), float(predicted)
    rounding = 16 * EPS * max(1.0, abs(f_old))
    if not (predicted > 0 and math.isfinite(f_new)):
        return -math.inf
    if predicted <= rounding and f_new <= f_old + rounding:
        return 0.5
    return (f_old - f_new) / predicted


def update_radius(radius: float, rho: float, step_norm: float, hits_boundary: bool,
                  max_radius: float = 1000.0) -> float:
    """The next trust radius (Nocedal & Wright, Algorithm 4.1).

    Shrink to ||p||/4 when rho < 1/4 (the model was poor); double, up to ``max_radius``,
    when rho > 3/4 and the step reached the boundary (the model was good and the radius
    held the step back); keep it otherwise.

    Examples
    --------
    >>> update_radius(1.0, rho=0.1, step_norm=1.0, hits_boundary=True)
    0.25
    >>> update_radius(1.0, rho=0.9, step_norm=1.0, hits_boundary=True)
    2.0
    >>> update_radius(1.0, rho=0.9, step_norm=0.3, hits_boundary=False)
    1.0
    """
    if rho < 0.25:
        return 0.25 * float(step_norm)
    if rho > 0.75 and hits_boundary:
        return min(2.0 * float(radius), float(max_radius))
    return float(radius)


def trust_region(
    f: Callable[[np.ndarray], float],
    grad: Callable[[np.ndarray], np.ndarray],
    x0: ArrayLike,
    hess: Callable[[np.ndarray], np.ndarray] | None = None,
    hessp: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    method: str = "steihaug",
    radius: float = 1.0,
    max_radius: float = 1000.0,
    eta: float = ETA,
    tol: float = 1e-6,
    max_iter: int = 1000,
    store_path: bool = True,
) -> OptimizeResult:
    """Minimise f by a trust-region method (Nocedal & Wright, Algorithm 4.1).

    ``method="steihaug"`` (default) solves each subproblem by :func:`steihaug_step`, with
    ``hessp(x, v)`` products or a ``hess(x)`` matrix; ``method="dogleg"`` by
    :func:`dogleg_step` and ``method="exact"`` by :func:`exact_step`, both with ``hess``.
    ``radius`` is the first trust radius Delta_0, capped at ``max_radius``; a step is
    accepted when rho > ``eta``.

    The ratio rho is :func:`reduction_ratio` and the next radius :func:`update_radius`.
    Close to a minimiser the predicted and actual decreases fall below f's rounding error
    and their ratio is noise; such a step is taken (rho is recorded as 1/2) when f does
    not rise beyond rounding. If the radius collapses anyway (below 1e-14 ||x||), the run
    stops with status 2, no acceptable step.

    ``nit`` counts iterations, rejected steps included (each costs one f evaluation and a
    subproblem); ``nhev`` counts Hessian-vector products (``hessp`` calls) or ``hess``
    calls. ``extras``: per iteration the radius used (``radii``), the ratio (``rho``),
    whether the step was accepted (``accepted``) and how the subproblem ended
    (``reasons``), and the total products in ``n_hvp``.

    Examples
    --------
    >>> from hessian_lab import rosenbrock, seed_quartic, trust_region
    >>> prob = rosenbrock()
    >>> res = trust_region(prob.f, prob.grad, prob.x0, hess=prob.hess, method="dogleg")
    >>> res.success, [round(float(v), 6) for v in res.x]
    (True, [1.0, 1.0])
    >>> quartic = seed_quartic()             # H is indefinite at the start: no shift needed
    >>> res = trust_region(quartic.f, quartic.grad, [0.3, 0.2], hess=quartic.hess)
    >>> res.success, round(res.fun, 10)
    (True, -2.0)
    """
    x, f, grad = _start(f, grad, x0)
    _check_settings(tol, max_iter)
    if method not in ("steihaug", "dogleg", "exact"):
        raise ValueError(f"method must be 'steihaug', 'dogleg' or 'exact', got {method!r}")
    counted = _one_hessian(hessp, hess)
    if method in ("dogleg", "exact") and hess is None:
        raise TypeError(f"method={method!r} needs the Hessian matrix: pass hess=..., or use "
                        "method='steihaug' with hessp")
    radius = as_positive(radius, "radius", meaning="the first trust radius")
    max_radius = as_positive(max_radius, "max_radius", meaning="the largest trust radius")
    if radius > max_radius:
        raise ValueError(f"radius = {radius:g} exceeds max_radius = {max_radius:g}")
    eta = float(eta)
    if not 0.0 <= eta < 0.25:
        raise ValueError(f"eta must be in [0, 1/4), got {eta!r}")
    path = _Path(x, store_path)
    radii: list[float] = []
    ratios: list[float] = []
    accepted: list[bool] = []
    reasons: list[str] = []
    n_hvp = 0
    with np.errstate(all="ignore"):
        fx = float(f(x))
        g = _first_gradient(grad, x)
        nit = 0
        H = None  # the Hessian at x, kept while a step is rejected
        while (stop := _stop_reason(fx, g, tol, nit, max_iter)) is None:
            if hessp is not None:
                step = steihaug_step(g, _products_at(counted, x), radius)
            else:
                if H is None:
                    H = _evaluate(counted, x)
                    if H.shape != (x.size, x.size):
                        raise ValueError(f"hess(x) must return an ({x.size}, {x.size}) "
                                         f"array, got shape {H.shape}")
                step = (dogleg_step(g, H, radius) if method == "dogleg"
                        else exact_step(g, H, radius) if method == "exact"
                        else steihaug_step(g, H.__matmul__, radius))
            n_hvp += step.n_products
            f_new = float(f(x + step.p))
            rho = reduction_ratio(fx, f_new, -step.model)
            radii.append(radius)
            ratios.append(rho)
            reasons.append(step.reason)
            radius = update_radius(radius, rho, float(np.linalg.norm(step.p)),
                                   step.hits_boundary, max_radius)
            nit += 1
            accepted.append(rho > eta)
            if rho > eta:
                x, fx = x + step.p, f_new
                g = _evaluate(grad, x)
                H = None
                path.append(x)
            elif radius < 1e-14 * max(1.0, float(np.linalg.norm(x))):
                stop = LINE_SEARCH_FAILED, (
                    f"Stopped: the trust radius fell to {radius:.1e} at iteration {nit}: no "
                    "step decreases f as the model predicts (f or its derivatives may be "
                    "inconsistent, or f is not smooth here).")
                break
    extras = {"radii": radii, "rho": ratios, "accepted": accepted, "reasons": reasons,
              "n_hvp": n_hvp}
    return _result(x, fx, g, nit, f, grad, counted, stop, path, extras)


"""Gradients, Hessians and Hessian-vector products: exact (sympy) and by finite differences.

The symbolic functions (``symbolic_gradient``, ``symbolic_hessian``, ``critical_points``)
import sympy when they are called, so ``import hessian_lab`` does not load it. The
finite-difference functions need numpy only and take a scalar function ``f`` (or a
gradient function ``grad``) of a 1-D float array.

Chapters: 02 (building the Hessian), 04 (Taylor expansion), 14 (worked examples),
17 (Hessian-vector products).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ._checks import as_symmetric, as_vector

if TYPE_CHECKING:  # pragma: no cover - for type checkers only, never imported at run time
    import sympy

__all__ = [
    "symbolic_gradient",
    "symbolic_hessian",
    "critical_points",
    "gradient",
    "hessian",
    "hvp",
    "taylor2",
]

EPS = np.finfo(float).eps


# ---------------------------------------------------------------------------
# Symbolic derivatives (sympy, imported inside the functions)
# ---------------------------------------------------------------------------


def _symbols_and_expr(expr, variables) -> tuple[sympy.Expr, tuple[sympy.Symbol, ...]]:
    """Check ``variables`` are distinct sympy symbols and ``expr`` uses no others."""
    import sympy

    if isinstance(variables, sympy.Symbol):
        variables = (variables,)
    variables = tuple(variables)
    if not variables:
        raise ValueError("variables is empty; list the symbols to differentiate by, e.g. (x, y)")
    for v in variables:
        if not isinstance(v, sympy.Symbol):
            raise TypeError(
                f"variables must be sympy symbols, got {v!r} of type {type(v).__name__}; "
                "create them with x, y = sympy.symbols('x y')"
            )
    if len(set(variables)) != len(variables):
        raise ValueError(f"variables {variables} lists a symbol twice; list each once")
    if isinstance(expr, str):
        expr = sympy.parse_expr(expr, local_dict={v.name: v for v in variables})
    expr = sympy.sympify(expr)
    if not isinstance(expr, sympy.Expr):
        raise TypeError(f"expr must be a scalar sympy expression, got {type(expr).__name__}")
    unlisted = expr.free_symbols - set(variables)
    if unlisted:
        names = ", ".join(sorted(s.name for s in unlisted))
        raise ValueError(
            f"expr has free symbols not listed in variables: {names}; add them to variables "
            "or substitute numbers for them with expr.subs(...)"
        )
    return expr, variables


def symbolic_gradient(expr: sympy.Expr | str, variables: Sequence[sympy.Symbol]) -> sympy.Matrix:
    r"""Exact gradient :math:`\nabla f = (\partial_1 f, \dots, \partial_n f)^T`, as a sympy column.

    Chapter 02 (building the Hessian).

    Parameters
    ----------
    expr : sympy expression or str
        The function f; a string is parsed with the listed symbols.
    variables : sequence of sympy.Symbol
        The coordinates x_1, ..., x_n, in order.

    Returns
    -------
    sympy.Matrix
        The n x 1 column of first partial derivatives.

    Examples
    --------
    >>> import sympy
    >>> x, y = sympy.symbols("x y")
    >>> symbolic_gradient(x**2 * y + x * y**3, (x, y)).T
    Matrix([[2*x*y + y**3, x**2 + 3*x*y**2]])
    """
    import sympy

    expr, variables = _symbols_and_expr(expr, variables)
    return sympy.Matrix([sympy.diff(expr, v) for v in variables])


def symbolic_hessian(expr: sympy.Expr | str, variables: Sequence[sympy.Symbol]) -> sympy.Matrix:
    r"""Exact Hessian :math:`H_{ij} = \partial^2 f / \partial x_i \partial x_j`.

    Chapter 02 (building the Hessian); its symmetry is Chapter 03 (Schwarz symmetry).

    Parameters
    ----------
    expr : sympy expression or str
        The function f.
    variables : sequence of sympy.Symbol
        The coordinates x_1, ..., x_n, in order.

    Returns
    -------
    sympy.Matrix
        The n x n matrix of second partial derivatives.

    Examples
    --------
    >>> import sympy
    >>> x, y = sympy.symbols("x y")
    >>> symbolic_hessian(x**2 * y + x * y**3, (x, y)).tolist()
    [[2*y, 2*x + 3*y**2], [2*x + 3*y**2, 6*x*y]]
    """
    import sympy

    expr, variables = _symbols_and_expr(expr, variables)
    n = len(variables)
    # H_ij = d/dx_i (df/dx_j): differentiate by x_j first, as on the notation page. (For a C^2
    # function the order does not matter; for one that is not C^2 it does, Chapter 03.)
    return sympy.Matrix(n, n, lambda i, j: sympy.diff(expr, variables[j], variables[i]))


def critical_points(
    expr: sympy.Expr | str,
    variables: Sequence[sympy.Symbol],
    allow_incomplete: bool = False,
) -> list[dict]:
    r"""All real solutions of :math:`\nabla f(x) = 0`, exact, sorted by coordinates.

    Chapter 14 (worked examples). For a polynomial f the answer is complete:

    1. a lex Groebner basis :math:`G` of the ideal :math:`(\partial_1 f, \dots, \partial_n f)`
       tells whether the complex critical set is finite (``G.is_zero_dimensional``);
    2. for each coordinate :math:`x_k`, the basis with :math:`x_k` last contains one
       univariate polynomial (the eliminant); every critical point's :math:`x_k` is one of
       its real roots, isolated exactly by ``sympy.real_roots`` (rationals or ``CRootOf``);
    3. back-substitution through the triangular basis :math:`G`, from :math:`x_n` up to
       :math:`x_1`, keeps the combinations of candidate roots at which every polynomial of
       :math:`G` vanishes (to 30 digits, evaluated with 50-digit arithmetic).

    ``sympy.solve`` returns 4 of Himmelblau's 9 critical points; this finds all 9.
    Float coefficients are first replaced by the rationals they print as (1.5 -> 3/2).

    Parameters
    ----------
    expr : sympy expression or str
        The function f.
    variables : sequence of sympy.Symbol
        The coordinates x_1, ..., x_n, in order.
    allow_incomplete : bool
        For a gradient that is not polynomial with rational coefficients (``sin``, ``exp``,
        ``sqrt(2)``, ...) no complete method exists. With ``allow_incomplete=True`` the
        real solutions that ``sympy.solve`` finds are returned, and they may not be all
        (``sin(x)`` has infinitely many critical points; solve lists a few). Otherwise
        such input raises ``ValueError``. Ignored for polynomials.

    Returns
    -------
    list of dict
        One ``{symbol: exact value}`` per real critical point, sorted by the values'
        floats in the order of ``variables``; empty when there is none.

    Raises
    ------
    ValueError
        When the critical set is not finite (e.g. ``f = x**2`` in the variables (x, y) is
        critical on the whole line x = 0), or for a non-polynomial gradient without
        ``allow_incomplete=True``. Finiteness is decided over the complex numbers, so
        ``(x**2 + y**2)**2``, critical on the complex lines x = +-iy, is refused although
        its only real critical point is the origin.

    Examples
    --------
    >>> import sympy
    >>> x, y = sympy.symbols("x y")
    >>> critical_points(x**4 + y**4 - 4*x*y, (x, y))
    [{x: -1, y: -1}, {x: 0, y: 0}, {x: 1, y: 1}]
    >>> len(critical_points("(x**2 + y - 11)**2 + (x + y**2 - 7)**2", (x, y)))
    9
    """
    import sympy

    expr, variables = _symbols_and_expr(expr, variables)
    if expr.has(sympy.Float):
        expr = sympy.nsimplify(expr, rational=True)
    grads = [sympy.diff(expr, v) for v in variables]
    if _is_rational_polynomial_system(grads, variables):
        points = _polynomial_critical_points(grads, variables)
    elif allow_incomplete:
        points = _solve_critical_points(grads, variables)
    else:
        raise ValueError(
            "the gradient is not polynomial with rational coefficients in "
            f"{variables}, so no method can promise all critical points; pass "
            "allow_incomplete=True to get the ones sympy.solve finds (possibly not all)"
        )
    points = [{v: point[v] for v in variables} for point in points]
    return sorted(points, key=lambda p: tuple(_real_float(p[v]) for v in variables))


def _is_rational_polynomial_system(grads, variables) -> bool:
    import sympy

    try:
        polys = [sympy.Poly(g, *variables) for g in grads]
    except sympy.PolynomialError:
        return False
    return all(p.domain.is_ZZ or p.domain.is_QQ for p in polys)


def _polynomial_critical_points(grads, variables) -> list[dict]:
    """Groebner basis, exact real roots of each eliminant, triangular back-substitution."""
    import sympy

    basis = sympy.groebner(grads, *variables, order="lex")
    if basis.exprs == [1]:
        return []  # the gradient never vanishes, e.g. f = x + y
    if not basis.is_zero_dimensional:
        raise ValueError(
            "the critical set is not finite: the gradient vanishes on a curve or surface "
            "(e.g. f = x**2 in (x, y) on the line x = 0), perhaps only a complex one "
            "(f = (x**2 + y**2)**2 has the lines x = +-i*y besides its one real critical "
            "point); critical_points handles finitely many critical points only. "
            f"Groebner basis of the gradient: {basis.exprs}"
        )
    candidates = [_eliminant_real_roots(grads, variables, k) for k in range(len(variables))]
    polys = [sympy.Poly(p, *variables) for p in basis.exprs]
    points: list[dict] = [{}]
    for k in reversed(range(len(variables))):  # x_n first, then x_{n-1}, ..., x_1
        known = set(variables[k:])
        checks = [p for p in polys if variables[k] in p.free_symbols and p.free_symbols <= known]
        points = [
            {**point, variables[k]: root}
            for point in points
            for root in candidates[k]
            if all(_vanishes(p, {**point, variables[k]: root}, variables) for p in checks)
        ]
    return points


def _eliminant_real_roots(grads, variables, k) -> list:
    """Exact real roots of the univariate polynomial in x_k that the ideal contains."""
    import sympy

    order = [v for i, v in enumerate(variables) if i != k] + [variables[k]]
    basis = sympy.groebner(grads, *order, order="lex")
    eliminant = next(p for p in basis.exprs if p.free_symbols <= {variables[k]})
    return sympy.real_roots(sympy.Poly(eliminant, variables[k]).sqf_part())


def _vanishes(poly, point, variables, digits: int = 50) -> bool:
    """Is |poly(point)| below 10^(20 - digits) times the sum of its terms' magnitudes?"""
    import mpmath

    with mpmath.workdps(digits):
        values = [_mp_value(point.get(v, 0), digits) for v in variables]
        terms = []
        for monom, coeff in poly.terms():
            monomial = mpmath.fprod(x**e for x, e in zip(values, monom, strict=True))
            terms.append(mpmath.mpf(coeff.p) / coeff.q * monomial)
        scale = mpmath.fsum(abs(t) for t in terms)
        return abs(mpmath.fsum(terms)) <= mpmath.mpf(10) ** (20 - digits) * scale


def _mp_value(value, digits: int):
    import mpmath

    return mpmath.mpf(value.evalf(digits + 10)) if hasattr(value, "evalf") else mpmath.mpf(value)


def _solve_critical_points(grads, variables) -> list[dict]:
    """The real solutions sympy.solve finds; not guaranteed to be all of them."""
    import sympy

    points = []
    for solution in sympy.solve(grads, variables, dict=True):
        if set(solution) != set(variables) or any(
            s.free_symbols & set(variables) for s in solution.values()
        ):
            raise ValueError(
                f"the critical set is not finite: sympy.solve returned the family {solution}"
            )
        if all(_is_real(value) for value in solution.values()):
            points.append({v: solution[v] for v in variables})
    return points


def _is_real(value) -> bool:
    if value.is_real is not None:
        return bool(value.is_real)
    return abs(complex(value.evalf(30)).imag) < 1e-25


def _real_float(value) -> float:
    return float(complex(value.evalf(30)).real) if hasattr(value, "evalf") else float(value)


# ---------------------------------------------------------------------------
# Finite differences (numpy only)
# ---------------------------------------------------------------------------


def _value(f: Callable, x: np.ndarray) -> float:
    """f(x) as a finite float, or a ValueError that says what f returned."""
    fx = np.asarray(f(x), dtype=float)
    if fx.ndim != 0:
        raise ValueError(
            f"f must return a scalar, got an array of shape {fx.shape}; "
            "for a vector-valued function differentiate each component separately"
        )
    if not np.isfinite(fx):
        raise ValueError(
            f"f returned {float(fx)} at x = {x}; finite differences need f finite near x "
            "(check the domain of f, or pass a smaller h)"
        )
    return float(fx)


def _grad_value(grad: Callable, x: np.ndarray) -> np.ndarray:
    """grad(x) as a finite float vector of the right length, or a ValueError."""
    return as_vector(grad(x), name=f"grad(x) at x = {x}", n=x.size)


def _steps(x: np.ndarray, h, rel: float) -> np.ndarray:
    """Per-coordinate steps h_i = rel * max(1, |x_i|) (or the given h), made representable.

    The step actually used is ``(x + h) - x``, so ``x + h`` is exactly ``x`` plus the
    step the formula divides by.
    """
    if h is None:
        h = rel * np.maximum(1.0, np.abs(x))
    h = np.broadcast_to(np.asarray(h, dtype=float), x.shape)
    if not np.all(np.isfinite(h) & (h > 0)):
        raise ValueError(f"h must be positive and finite, got {h}")
    h = (x + h) - x
    if np.any(h == 0):
        raise ValueError(f"h is too small to change x = {x} in floating point; use a larger h")
    return h


def gradient(f: Callable[[np.ndarray], float], x, h=None) -> np.ndarray:
    r"""Central-difference gradient :math:`g_i = (f(x + h_i e_i) - f(x - h_i e_i)) / (2 h_i)`.

    Chapter 02 (building the Hessian). The error of one component is

    .. math:: \frac{h^2}{6} |f'''| + \frac{\epsilon |f|}{h}

    (truncation of the Taylor series plus rounding of the two values of f, with
    :math:`\epsilon` the machine epsilon), smallest at :math:`h \sim \epsilon^{1/3}`, where
    the error is about :math:`\epsilon^{2/3} \approx 4 \times 10^{-11}` when f and its
    derivatives are of order one on the scale of x. So by default
    :math:`h_i = \epsilon^{1/3} \max(1, |x_i|)`: relative to the coordinate when it is large
    (else :math:`x_i + h_i` would round back to :math:`x_i`), absolute near zero. The step is
    replaced by the representable :math:`(x_i + h_i) - x_i`.

    Parameters
    ----------
    f : callable
        Scalar function of a 1-D float array.
    x : array_like
        The point, shape (n,).
    h : float or array_like, optional
        Step (scalar or per coordinate); default from the error balance above.

    Returns
    -------
    numpy.ndarray
        The gradient, shape (n,). Costs 2n evaluations of f.

    Examples
    --------
    >>> g = gradient(lambda x: x[0]**2 + 3 * x[0] * x[1], [1.0, 2.0])
    >>> [round(float(gi), 6) for gi in g]
    [8.0, 3.0]
    """
    x = as_vector(x, "x")
    h = _steps(x, h, EPS ** (1 / 3))
    g = np.empty_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h[i]
        g[i] = (_value(f, x + e) - _value(f, x - e)) / (2 * h[i])
    return g


def hessian(
    f: Callable[[np.ndarray], float] | None,
    x,
    h=None,
    grad: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    r"""Finite-difference Hessian, returned exactly symmetric as :math:`(H + H^T)/2`.

    Chapter 02 (building the Hessian); symmetry is Chapter 03 (Schwarz symmetry).

    With ``grad``, column j is a central difference of the gradient,

    .. math:: H_{:,j} = \frac{\nabla f(x + h_j e_j) - \nabla f(x - h_j e_j)}{2 h_j},
              \qquad h_j = \epsilon^{1/3} \max(1, |x_j|),

    (2n gradient calls, error about :math:`\epsilon^{2/3}`, same balance as :func:`gradient`).
    From values of f only, the four-point formula

    .. math:: H_{ij} = \frac{f(x + h_i e_i + h_j e_j) - f(x + h_i e_i - h_j e_j)
              - f(x - h_i e_i + h_j e_j) + f(x - h_i e_i - h_j e_j)}{4 h_i h_j}

    (for i = j it is the second difference with step 2h_i). Its error is
    :math:`O(h^2 f'''') + O(\epsilon |f| / h^2)`, smallest at :math:`h \sim \epsilon^{1/4}`,
    where it is about :math:`\epsilon^{1/2} \approx 10^{-8}`; so the default is
    :math:`h_i = \epsilon^{1/4} \max(1, |x_i|)`. Costs 2n(n + 1) evaluations of f.

    Parameters
    ----------
    f : callable or None
        Scalar function of a 1-D float array (unused, may be None, when ``grad`` is given).
    x : array_like
        The point, shape (n,).
    h : float or array_like, optional
        Step (scalar or per coordinate); default as above.
    grad : callable, optional
        Gradient function returning shape (n,); when given, it is differenced instead of f.

    Returns
    -------
    numpy.ndarray
        Symmetric (n, n) matrix.

    Examples
    --------
    >>> f = lambda x: x[0]**2 + x[0] * x[1] + x[1]**2
    >>> hessian(f, [0.3, -0.2]).round(6).tolist()
    [[2.0, 1.0], [1.0, 2.0]]
    >>> grad = lambda x: [2 * x[0] + x[1], x[0] + 2 * x[1]]
    >>> hessian(None, [0.3, -0.2], grad=grad).round(9).tolist()
    [[2.0, 1.0], [1.0, 2.0]]
    """
    x = as_vector(x, "x")
    if grad is not None:
        H = _hessian_from_grad(grad, x, _steps(x, h, EPS ** (1 / 3)))
    elif f is None:
        raise TypeError("hessian needs f or grad; both are None")
    else:
        H = _hessian_from_values(f, x, _steps(x, h, EPS ** (1 / 4)))
    return (H + H.T) / 2


def _hessian_from_grad(grad: Callable, x: np.ndarray, h: np.ndarray) -> np.ndarray:
    H = np.empty((x.size, x.size))
    for j in range(x.size):
        e = np.zeros_like(x)
        e[j] = h[j]
        H[:, j] = (_grad_value(grad, x + e) - _grad_value(grad, x - e)) / (2 * h[j])
    return H


def _hessian_from_values(f: Callable, x: np.ndarray, h: np.ndarray) -> np.ndarray:
    n = x.size
    H = np.empty((n, n))
    for i in range(n):
        for j in range(i, n):
            ei, ej = np.zeros(n), np.zeros(n)
            ei[i], ej[j] = h[i], h[j]
            H[i, j] = H[j, i] = (
                _value(f, x + ei + ej)
                - _value(f, x + ei - ej)
                - _value(f, x - ei + ej)
                + _value(f, x - ei - ej)
            ) / (4 * h[i] * h[j])
    return H


def hvp(grad: Callable[[np.ndarray], np.ndarray], x, v, h: float | None = None) -> np.ndarray:
    r"""Hessian-vector product :math:`Hv \approx (\nabla f(x + hv) - \nabla f(x - hv)) / (2h)`.

    Chapter 17 (Hessian-vector products). Two gradient calls, O(n) memory: H is never
    formed. This is the directional derivative of the gradient along v, by a central
    difference; the default :math:`h = \epsilon^{1/3} \max(1, \|x\|) / \|v\|` makes the
    step :math:`h \|v\|` in x-space the same size :func:`gradient` uses, so the relative
    error is again about :math:`\epsilon^{2/3}`. (Automatic differentiation gives Hv exactly;
    see :class:`hessian_lab.MLP` for Pearlmutter's R-operator.)

    Parameters
    ----------
    grad : callable
        Gradient function, returning shape (n,).
    x, v : array_like
        The point and the direction, both shape (n,).
    h : float, optional
        Step along v; default as above.

    Returns
    -------
    numpy.ndarray
        Approximately H(x) v, shape (n,); exactly zero for v = 0.

    Examples
    --------
    >>> grad = lambda x: [2 * x[0] + x[1], x[0] + 2 * x[1]]  # f = x^2 + xy + y^2
    >>> hvp(grad, [1.0, 1.0], [1.0, 0.0]).round(8).tolist()
    [2.0, 1.0]
    """
    x = as_vector(x, "x")
    v = as_vector(v, "v", n=x.size)
    norm_v = np.linalg.norm(v)
    if norm_v == 0:
        return np.zeros_like(x)
    if h is None:
        h = EPS ** (1 / 3) * max(1.0, np.linalg.norm(x)) / norm_v
    if not (np.isfinite(h) and h > 0):
        raise ValueError(f"h must be positive and finite, got {h}")
    return (_grad_value(grad, x + h * v) - _grad_value(grad, x - h * v)) / (2 * h)


def taylor2(f0: float, g0, H0, x0) -> Callable[[np.ndarray], np.ndarray | float]:
    r"""Quadratic model :math:`m(x) = f_0 + g_0^T (x - x_0) + \tfrac12 (x - x_0)^T H_0 (x - x_0)`.

    Chapter 04 (Taylor expansion); the model Newton's method minimises in Chapter 08.

    Parameters
    ----------
    f0 : float
        f(x0).
    g0 : array_like
        Gradient at x0, shape (n,).
    H0 : array_like
        Hessian at x0, shape (n, n), symmetric.
    x0 : array_like
        Expansion point, shape (n,).

    Returns
    -------
    callable
        ``m(x)`` for a point of shape (n,) (returns a float) or for an array of points of
        shape (..., n) (returns shape (...)), e.g. a grid for a contour plot.

    Examples
    --------
    >>> m = taylor2(1.0, [0.0, 0.0], [[2.0, 0.0], [0.0, -2.0]], [0.0, 0.0])
    >>> m([1.0, 1.0])
    1.0
    >>> m([[1.0, 0.0], [0.0, 1.0], [2.0, 0.0]]).tolist()
    [2.0, 0.0, 5.0]
    """
    if not np.isfinite(f0) or np.ndim(f0) != 0:
        raise ValueError(f"f0 must be a finite scalar, got {f0!r}")
    g0 = as_vector(g0, "g0")
    n = g0.size
    x0 = as_vector(x0, "x0", n=n)
    H0 = as_symmetric(H0, "H0")
    if H0.shape != (n, n):
        raise ValueError(f"H0 has shape {H0.shape}, expected ({n}, {n}) to match g0")
    f0 = float(f0)

    def m(x):
        x = np.asarray(x, dtype=float)
        if x.ndim == 0 or x.shape[-1] != n:
            raise ValueError(f"m expects points of shape (..., {n}), got shape {x.shape}")
        d = x - x0
        value = f0 + d @ g0 + 0.5 * np.sum((d @ H0) * d, axis=-1)
        return float(value) if d.ndim == 1 else value

    return m

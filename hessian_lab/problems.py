"""Test problems: each a function with its gradient, Hessian and sympy expression.

Every problem is a :class:`Problem`: the callables ``f``, ``grad`` and ``hess`` take a
1-D float array, ``x0`` is the customary starting point and ``minimizers`` lists the
known minimisers. Gradients and Hessians are written by hand and vectorised with
numpy (no Python loop over coordinates), so the n-D Rosenbrock functions evaluate
``f`` and ``grad`` at a million coordinates in milliseconds. ``expr()`` builds the
sympy expression on demand (sympy is imported only then), so a chapter can check
the hand-written derivatives against exact ones.

The least-squares curve fit for Gauss-Newton (Chapter 16) is a
:class:`LeastSquaresProblem`: residual and Jacobian instead of f and Hessian.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ._checks import as_int

__all__ = [
    "Problem",
    "LeastSquaresProblem",
    "rosenbrock",
    "himmelblau",
    "beale",
    "quadratic",
    "seed_quartic",
    "seed_cubic",
    "seed_bowl",
    "seed_3d",
    "monkey_saddle",
    "curve_fit_problem",
]

#: Largest dimension for which the n-D problems build a dense Hessian (or a sympy expression).
DENSE_HESSIAN_MAX_N = 2000
SYMBOLIC_MAX_N = 10


@dataclass(frozen=True)
class Problem:
    """A smooth test function with its derivatives.

    Attributes
    ----------
    name : str
        A short human-readable name, e.g. ``"Rosenbrock (chained, n=2)"``.
    n : int
        The dimension.
    f, grad, hess : callable
        ``f(x) -> float``, ``grad(x) -> (n,) array``, ``hess(x) -> (n, n) array`` for a
        1-D float array ``x`` of length ``n``.
    x0 : ndarray
        The customary starting point.
    minimizers : list of ndarray
        Known minimisers (may be empty, e.g. for a function with only a saddle).
    hessp : callable or None
        ``hessp(x, v) -> H(x) v`` without forming ``H`` (Chapter 17), where the
        problem provides one.

    Examples
    --------
    >>> from hessian_lab import rosenbrock
    >>> prob = rosenbrock()
    >>> prob.f(prob.minimizers[0])
    0.0
    >>> expr, symbols = prob.expr()
    >>> symbols
    (x, y)
    """

    name: str
    n: int
    f: Callable[[np.ndarray], float] = field(repr=False)
    grad: Callable[[np.ndarray], np.ndarray] = field(repr=False)
    hess: Callable[[np.ndarray], np.ndarray] = field(repr=False)
    x0: np.ndarray = field(repr=False)
    minimizers: list = field(default_factory=list, repr=False)
    hessp: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = field(default=None, repr=False)
    expr_builder: Callable[[], tuple] | None = field(default=None, repr=False, compare=False)

    def expr(self) -> tuple:
        """Return ``(sympy_expr, symbols)``, the exact expression of ``f``.

        Built on each call (sympy is imported here, not at module import).
        Raises ValueError for problems without a symbolic form, such as the
        n-D Rosenbrock functions with n > 10.
        """
        if self.expr_builder is None:
            raise ValueError(f"problem {self.name!r} has no symbolic expression")
        return self.expr_builder()


def _symbols(n: int):
    import sympy

    if n == 2:
        return sympy.symbols("x y", real=True)
    if n == 3:
        return sympy.symbols("x y z", real=True)
    return sympy.symbols(f"x1:{n + 1}", real=True)


def _problem_from_numpy(name, n, f, grad, hess, x0, minimizers, expr_text, hessp=None):
    """A fixed-dimension problem whose sympy expression is ``expr_text`` in x, y (, z)."""

    def build():
        import sympy

        symbols = _symbols(n)
        names = {str(s): s for s in symbols}
        return sympy.sympify(expr_text, locals=names), symbols

    return Problem(
        name=name,
        n=n,
        f=f,
        grad=grad,
        hess=hess,
        x0=np.array(x0, dtype=float),
        minimizers=[np.array(m, dtype=float) for m in minimizers],
        hessp=hessp,
        expr_builder=build,
    )


# --------------------------------------------------------------------------- Rosenbrock


def _check_dense(n: int, what: str) -> None:
    if n > DENSE_HESSIAN_MAX_N:
        raise ValueError(
            f"the dense {what} Hessian at n={n} would need {8 * n * n / 1e9:.1f} GB; "
            f"dense Hessians are built only for n <= {DENSE_HESSIAN_MAX_N}: use hessp(x, v)"
        )


def _chained_rosenbrock(n: int) -> Problem:
    """f(x) = sum_{i=1}^{n-1} 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2 (scipy's rosen)."""

    def f(x):
        u = x[1:] - x[:-1] ** 2
        return float(100.0 * (u @ u) + np.sum((1.0 - x[:-1]) ** 2))

    def grad(x):
        head, tail = x[:-1], x[1:]
        u = tail - head**2
        g = np.zeros_like(x)
        g[:-1] = -400.0 * head * u - 2.0 * (1.0 - head)
        g[1:] += 200.0 * u
        return g

    def diagonals(x):
        head = x[:-1]
        diag = np.zeros_like(x)
        diag[:-1] = 1200.0 * head**2 - 400.0 * x[1:] + 2.0
        diag[1:] += 200.0
        return diag, -400.0 * head

    def hess(x):
        _check_dense(x.size, "chained Rosenbrock")
        diag, off = diagonals(x)
        return np.diag(diag) + np.diag(off, 1) + np.diag(off, -1)

    def hessp(x, v):
        diag, off = diagonals(x)
        hv = diag * v
        hv[:-1] += off * v[1:]
        hv[1:] += off * v[:-1]
        return hv

    def build():
        if n > SYMBOLIC_MAX_N:
            raise ValueError(
                f"the sympy expression is built only for n <= {SYMBOLIC_MAX_N} (got n={n})"
            )
        symbols = _symbols(n)
        expr = sum(
            100 * (symbols[i + 1] - symbols[i] ** 2) ** 2 + (1 - symbols[i]) ** 2
            for i in range(n - 1)
        )
        return expr, symbols

    x0 = np.ones(n)
    x0[0::2] = -1.2
    return Problem(
        name=f"Rosenbrock (chained, n={n})",
        n=n,
        f=f,
        grad=grad,
        hess=hess,
        x0=x0,
        minimizers=[np.ones(n)],
        hessp=hessp,
        expr_builder=build,
    )


def _extended_rosenbrock(n: int) -> Problem:
    """f(x) = sum_{i=1}^{n/2} 100 (x_{2i} - x_{2i-1}^2)^2 + (1 - x_{2i-1})^2 (separable pairs)."""

    def f(x):
        a, b = x[0::2], x[1::2]
        u = b - a * a
        v = 1.0 - a
        return float(100.0 * (u @ u) + v @ v)

    def grad(x):
        a, b = x[0::2], x[1::2]
        u = b - a * a
        g = np.empty_like(x)
        g[0::2] = -400.0 * a * u - 2.0 * (1.0 - a)
        g[1::2] = 200.0 * u
        return g

    def blocks(x):
        a, b = x[0::2], x[1::2]
        return 1200.0 * a * a - 400.0 * b + 2.0, -400.0 * a  # h_aa, h_ab; h_bb = 200

    def hess(x):
        _check_dense(x.size, "extended Rosenbrock")
        h_aa, h_ab = blocks(x)
        H = np.zeros((x.size, x.size))
        even = np.arange(0, x.size, 2)
        H[even, even] = h_aa
        H[even + 1, even + 1] = 200.0
        H[even, even + 1] = h_ab
        H[even + 1, even] = h_ab
        return H

    def hessp(x, v):
        h_aa, h_ab = blocks(x)
        va, vb = v[0::2], v[1::2]
        hv = np.empty_like(v)
        hv[0::2] = h_aa * va + h_ab * vb
        hv[1::2] = h_ab * va + 200.0 * vb
        return hv

    def build():
        if n > SYMBOLIC_MAX_N:
            raise ValueError(
                f"the sympy expression is built only for n <= {SYMBOLIC_MAX_N} (got n={n})"
            )
        s = _symbols(n)
        expr = sum(100 * (s[i + 1] - s[i] ** 2) ** 2 + (1 - s[i]) ** 2 for i in range(0, n, 2))
        return expr, s

    x0 = np.empty(n)
    x0[0::2], x0[1::2] = -1.2, 1.0
    return Problem(
        name=f"Rosenbrock (extended, n={n})",
        n=n,
        f=f,
        grad=grad,
        hess=hess,
        x0=x0,
        minimizers=[np.ones(n)],
        hessp=hessp,
        expr_builder=build,
    )


def rosenbrock(n: int = 2, kind: str = "chained") -> Problem:
    """Rosenbrock's banana-valley function in ``n`` dimensions.

    ``kind="chained"`` (scipy's ``rosen``):
    f(x) = sum_{i=1}^{n-1} [100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2], tridiagonal Hessian.

    ``kind="extended"`` (separable pairs, ``n`` even):
    f(x) = sum_{i=1}^{n/2} [100 (x_{2i} - x_{2i-1}^2)^2 + (1 - x_{2i-1})^2],
    block-diagonal Hessian: n/2 independent 2-D Rosenbrock problems, so its iteration
    counts do not grow with n. The two coincide for n = 2.

    The minimiser is x* = (1, ..., 1) with f = 0; the start is (-1.2, 1, -1.2, 1, ...).
    ``hess`` is dense and built only for n <= 2000; ``hessp(x, v)`` works at any n.
    Used in Chapter 8 (Newton's method) and Chapter 11 (quasi-Newton methods).

    Examples
    --------
    >>> import numpy as np
    >>> from hessian_lab import rosenbrock
    >>> prob = rosenbrock(4, kind="extended")
    >>> prob.x0
    array([-1.2,  1. , -1.2,  1. ])
    >>> round(prob.f(prob.x0), 2)
    48.4
    >>> np.allclose(prob.hessp(prob.x0, np.ones(4)), prob.hess(prob.x0) @ np.ones(4))
    True
    """
    n = as_int(n, "n", 2, "the dimension")
    if kind == "chained":
        return _chained_rosenbrock(n)
    if kind == "extended":
        if n % 2:
            raise ValueError(
                f"the extended Rosenbrock function pairs coordinates: n must be even, got {n}"
            )
        return _extended_rosenbrock(n)
    raise ValueError(f'kind must be "chained" or "extended", got {kind!r}')


# --------------------------------------------------------------------------- 2-D classics


def himmelblau() -> Problem:
    """Himmelblau's function f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2.

    Four minima with f = 0 (one at (3, 2)), one local maximum near (-0.27, -0.92) and
    four saddles: nine critical points in all (Chapter 14, worked examples).

    Examples
    --------
    >>> from hessian_lab import himmelblau
    >>> prob = himmelblau()
    >>> len(prob.minimizers), prob.f([3.0, 2.0])
    (4, 0.0)
    """

    def f(z):
        x, y = z
        return float((x * x + y - 11.0) ** 2 + (x + y * y - 7.0) ** 2)

    def grad(z):
        x, y = z
        a, b = x * x + y - 11.0, x + y * y - 7.0
        return np.array([4.0 * x * a + 2.0 * b, 2.0 * a + 4.0 * y * b])

    def hess(z):
        x, y = z
        hxx = 12.0 * x * x + 4.0 * y - 42.0
        hyy = 12.0 * y * y + 4.0 * x - 26.0
        hxy = 4.0 * (x + y)
        return np.array([[hxx, hxy], [hxy, hyy]])

    minimizers = [
        (3.0, 2.0),
        (-2.8051180869527448531, 3.1313125182505729658),
        (-3.7793102533777468919, -3.2831859912861694123),
        (3.5844283403304917449, -1.8481265269644035535),
    ]
    return _problem_from_numpy(
        "Himmelblau", 2, f, grad, hess, (0.0, 0.0), minimizers,
        "(x**2 + y - 11)**2 + (x + y**2 - 7)**2",
    )


def beale() -> Problem:
    """Beale's function f(x, y) = sum_{i=1}^{3} (c_i - x + x y^i)^2, c = (1.5, 2.25, 2.625).

    Minimum at (3, 1/2) with f = 0; saddles at (0, 1) (f = 14.203125) and near
    (0.10054, -2.64451) (f = 9.8645), so a method that only seeks critical points can stop at
    either. Start (1, 1).

    Examples
    --------
    >>> from hessian_lab import beale
    >>> prob = beale()
    >>> prob.f([3.0, 0.5])
    0.0
    """
    c = (1.5, 2.25, 2.625)

    def f(z):
        x, y = z
        return float(sum((c[i] - x + x * y ** (i + 1)) ** 2 for i in range(3)))

    def grad(z):
        x, y = z
        gx = gy = 0.0
        for i in range(3):
            k = i + 1
            r = c[i] - x + x * y**k
            gx += 2.0 * r * (y**k - 1.0)
            gy += 2.0 * r * k * x * y ** (k - 1)
        return np.array([gx, gy])

    def hess(z):
        x, y = z
        hxx = hxy = hyy = 0.0
        for i in range(3):
            k = i + 1
            r = c[i] - x + x * y**k
            dr_dx, dr_dy = y**k - 1.0, k * x * y ** (k - 1)
            d2r_dxdy = k * y ** (k - 1)
            d2r_dy2 = k * (k - 1) * x * y ** (k - 2) if k >= 2 else 0.0
            hxx += 2.0 * dr_dx * dr_dx
            hxy += 2.0 * (dr_dx * dr_dy + r * d2r_dxdy)
            hyy += 2.0 * (dr_dy * dr_dy + r * d2r_dy2)
        return np.array([[hxx, hxy], [hxy, hyy]])

    return _problem_from_numpy(
        "Beale", 2, f, grad, hess, (1.0, 1.0), [(3.0, 0.5)],
        "(3/2 - x + x*y)**2 + (9/4 - x + x*y**2)**2 + (21/8 - x + x*y**3)**2",
    )


# --------------------------------------------------------------------------- quadratics


def quadratic(
    kappa: float, n: int = 2, rng: int | np.random.Generator | None = None
) -> Problem:
    """The quadratic f(x) = x^T A x / 2 with condition number ``kappa``.

    A = Q diag(lambda) Q^T with eigenvalues spaced geometrically from lambda_min = 1 to
    lambda_max = kappa (for n = 2 simply 1 and kappa). ``Q`` is the identity when
    ``rng`` is None (A diagonal, eigenvectors along the axes), otherwise a random
    orthogonal matrix drawn from ``rng`` (an int seed or a numpy Generator). The
    minimiser is 0, the Hessian is A everywhere, the start is (1, ..., 1).
    Chapter 10 (condition number) uses it to show gradient descent's slowdown.

    Examples
    --------
    >>> import numpy as np
    >>> from hessian_lab import quadratic
    >>> prob = quadratic(100.0)
    >>> np.diag(prob.hess(prob.x0))
    array([  1., 100.])
    >>> A = quadratic(10.0, n=3, rng=0).hess(np.zeros(3))
    >>> np.round(np.linalg.eigvalsh(A), 6)
    array([ 1.      ,  3.162278, 10.      ])
    """
    kappa = float(kappa)
    if not np.isfinite(kappa) or kappa < 1.0:
        raise ValueError(f"kappa must be a finite condition number >= 1, got {kappa!r}")
    n = as_int(n, "n", 1, "the dimension")
    eigenvalues = np.geomspace(1.0, kappa, n) if n > 1 else np.array([1.0])
    if rng is None:
        A = np.diag(eigenvalues)
    else:
        gen = np.random.default_rng(rng)
        Q, R = np.linalg.qr(gen.standard_normal((n, n)))
        Q = Q * np.sign(np.diag(R))
        A = (Q * eigenvalues) @ Q.T
        A = (A + A.T) / 2.0

    def f(x):
        return float(x @ (A @ x) / 2.0)

    def grad(x):
        return A @ x

    def hess(x):
        return A.copy()

    def hessp(x, v):
        return A @ v

    def build():
        import sympy

        if n > SYMBOLIC_MAX_N:
            raise ValueError(
                f"the sympy expression is built only for n <= {SYMBOLIC_MAX_N} (got n={n})"
            )
        symbols = tuple(_symbols(n))
        v = sympy.Matrix(symbols)
        expr = sympy.expand((v.T * sympy.Matrix(A) * v)[0, 0] / 2)
        return expr, symbols

    return Problem(
        name=f"quadratic (kappa={kappa:g}, n={n})",
        n=n,
        f=f,
        grad=grad,
        hess=hess,
        x0=np.ones(n),
        minimizers=[np.zeros(n)],
        hessp=hessp,
        expr_builder=build,
    )


# --------------------------------------------------------------------------- the seed's examples


def seed_quartic() -> Problem:
    """f(x, y) = x^4 + y^4 - 4xy (Chapter 14, worked examples).

    Critical points: a saddle at (0, 0) and minima at (1, 1) and (-1, -1), f = -2.
    Start (0.3, 0.2), from which pure Newton is drawn to the saddle (Chapter 8).

    Examples
    --------
    >>> from hessian_lab import seed_quartic
    >>> seed_quartic().f([1.0, 1.0])
    -2.0
    """

    def f(z):
        x, y = z
        return float(x**4 + y**4 - 4.0 * x * y)

    def grad(z):
        x, y = z
        return np.array([4.0 * x**3 - 4.0 * y, 4.0 * y**3 - 4.0 * x])

    def hess(z):
        x, y = z
        return np.array([[12.0 * x * x, -4.0], [-4.0, 12.0 * y * y]])

    return _problem_from_numpy(
        "x^4 + y^4 - 4xy", 2, f, grad, hess, (0.3, 0.2), [(1.0, 1.0), (-1.0, -1.0)],
        "x**4 + y**4 - 4*x*y",
    )


def seed_cubic() -> Problem:
    """f(x, y) = x^3 - 3xy (Chapter 6): its only critical point (0, 0) is a saddle.

    No minimiser (f is unbounded below). Start (1, 1).

    Examples
    --------
    >>> from hessian_lab import seed_cubic
    >>> seed_cubic().grad([1.0, 1.0])
    array([ 0., -3.])
    """

    def f(z):
        x, y = z
        return float(x**3 - 3.0 * x * y)

    def grad(z):
        x, y = z
        return np.array([3.0 * x * x - 3.0 * y, -3.0 * x])

    def hess(z):
        x, _ = z
        return np.array([[6.0 * x, -3.0], [-3.0, 0.0]])

    return _problem_from_numpy("x^3 - 3xy", 2, f, grad, hess, (1.0, 1.0), [], "x**3 - 3*x*y")


def seed_bowl() -> Problem:
    """f(x, y) = x^2 + xy + y^2 (Chapter 6): a tilted bowl, minimum at (0, 0).

    Hessian [[2, 1], [1, 2]], eigenvalues 1 and 3. Start (1, 1).

    Examples
    --------
    >>> from hessian_lab import seed_bowl
    >>> seed_bowl().hess([0.0, 0.0])
    array([[2., 1.],
           [1., 2.]])
    """

    def f(z):
        x, y = z
        return float(x * x + x * y + y * y)

    def grad(z):
        x, y = z
        return np.array([2.0 * x + y, x + 2.0 * y])

    def hess(z):
        return np.array([[2.0, 1.0], [1.0, 2.0]])

    return _problem_from_numpy(
        "x^2 + xy + y^2", 2, f, grad, hess, (1.0, 1.0), [(0.0, 0.0)], "x**2 + x*y + y**2"
    )


def seed_3d() -> Problem:
    """f(x, y, z) = x^2 + 2y^2 + 3z^2 + xy (Chapter 14): minimum at the origin.

    Hessian [[2, 1, 0], [1, 4, 0], [0, 0, 6]], positive definite. Start (1, 1, 1).

    Examples
    --------
    >>> from hessian_lab import seed_3d
    >>> seed_3d().hess([0.0, 0.0, 0.0])[0]
    array([2., 1., 0.])
    """
    A = np.array([[2.0, 1.0, 0.0], [1.0, 4.0, 0.0], [0.0, 0.0, 6.0]])

    def f(v):
        x, y, z = v
        return float(x * x + 2.0 * y * y + 3.0 * z * z + x * y)

    def grad(v):
        return A @ v

    def hess(v):
        return A.copy()

    return _problem_from_numpy(
        "x^2 + 2y^2 + 3z^2 + xy", 3, f, grad, hess, (1.0, 1.0, 1.0), [(0.0, 0.0, 0.0)],
        "x**2 + 2*y**2 + 3*z**2 + x*y",
    )


def monkey_saddle() -> Problem:
    """The monkey saddle f(x, y) = x^3 - 3xy^2 (Chapter 12).

    Its critical point (0, 0) has a zero Hessian, so the second-derivative test is
    inconclusive; f has no minimiser. Start (1, 0.5).

    Examples
    --------
    >>> from hessian_lab import monkey_saddle
    >>> import numpy as np
    >>> bool(np.all(monkey_saddle().hess([0.0, 0.0]) == 0))
    True
    """

    def f(z):
        x, y = z
        return float(x**3 - 3.0 * x * y * y)

    def grad(z):
        x, y = z
        return np.array([3.0 * x * x - 3.0 * y * y, -6.0 * x * y])

    def hess(z):
        x, y = z
        return np.array([[6.0 * x, -6.0 * y], [-6.0 * y, -6.0 * x]])

    return _problem_from_numpy(
        "monkey saddle x^3 - 3xy^2", 2, f, grad, hess, (1.0, 0.5), [], "x**3 - 3*x*y**2"
    )


# --------------------------------------------------------------------------- least squares


@dataclass(frozen=True)
class LeastSquaresProblem:
    """A nonlinear least-squares fit: minimise L(theta) = ||r(theta)||^2 / 2.

    Attributes
    ----------
    name : str
    residual : callable
        ``residual(theta) -> (m,) array``, r_i = model(t_i, theta) - y_i.
    jacobian : callable
        ``jacobian(theta) -> (m, p) array``, J_ij = d r_i / d theta_j.
    model : callable
        ``model(t, theta)``, the fitted curve.
    t, y : ndarray
        The data.
    theta_true : ndarray
        The parameters the data were generated from.
    theta0 : ndarray
        The customary starting guess.

    Examples
    --------
    >>> from hessian_lab import curve_fit_problem
    >>> prob = curve_fit_problem(n_points=5, noise=0.0)
    >>> prob.residual(prob.theta_true).tolist()
    [0.0, 0.0, 0.0, 0.0, 0.0]
    """

    name: str
    residual: Callable[[np.ndarray], np.ndarray] = field(repr=False)
    jacobian: Callable[[np.ndarray], np.ndarray] = field(repr=False)
    model: Callable[[np.ndarray, np.ndarray], np.ndarray] = field(repr=False)
    t: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    theta_true: np.ndarray = field(repr=False)
    theta0: np.ndarray = field(repr=False)

    def loss(self, theta) -> float:
        """L(theta) = ||r(theta)||^2 / 2."""
        r = self.residual(np.asarray(theta, dtype=float))
        return float(r @ r / 2.0)

    def grad(self, theta) -> np.ndarray:
        """The gradient J^T r of L (Chapter 16)."""
        theta = np.asarray(theta, dtype=float)
        return self.jacobian(theta).T @ self.residual(theta)


def curve_fit_problem(
    n_points: int = 40,
    noise: float = 0.02,
    offset: bool = False,
    large_residual: bool = False,
    seed: int = 0,
) -> LeastSquaresProblem:
    """Fit the exponential decay y = a exp(-b t) (+ c) to noisy data (Chapter 16).

    Data: t evenly spaced on [0, 4], y = model(t, theta_true) + noise * N(0, 1) from
    ``numpy.random.default_rng(seed)``, theta_true = (a, b) = (2.5, 1.3), or
    (2.5, 1.3, 0.5) with ``offset=True``. Residual r_i = a exp(-b t_i) (+ c) - y_i and
    Jacobian columns (exp(-b t), -a t exp(-b t)(, 1)).

    ``large_residual=True`` adds a deterministic oscillation 0.8 sin(5 t) to the data that
    the model cannot fit, so the residual at the optimum is large and the neglected
    term sum_i r_i Hess(r_i) of the Hessian matters: Gauss-Newton then converges only
    linearly, which Levenberg-Marquardt does not cure.

    Examples
    --------
    >>> from hessian_lab import curve_fit_problem
    >>> prob = curve_fit_problem(noise=0.0)
    >>> prob.theta_true, prob.loss(prob.theta_true)
    (array([2.5, 1.3]), 0.0)
    >>> prob.jacobian(prob.theta0).shape
    (40, 2)
    """
    n_points = as_int(n_points, "n_points", 3, "the number of data points")
    noise = float(noise)
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite standard deviation >= 0, got {noise!r}")
    t = np.linspace(0.0, 4.0, int(n_points))
    theta_true = np.array([2.5, 1.3, 0.5] if offset else [2.5, 1.3])
    theta0 = np.array([1.0, 0.5, 0.0] if offset else [1.0, 0.5])

    def model(t_values, theta):
        value = theta[0] * np.exp(-theta[1] * np.asarray(t_values, dtype=float))
        return value + theta[2] if offset else value

    rng = np.random.default_rng(seed)
    y = model(t, theta_true) + noise * rng.standard_normal(t.size)
    if large_residual:
        y = y + 0.8 * np.sin(5.0 * t)

    def residual(theta):
        return model(t, theta) - y

    def jacobian(theta):
        decay = np.exp(-theta[1] * t)
        columns = [decay, -theta[0] * t * decay]
        if offset:
            columns.append(np.ones_like(t))
        return np.column_stack(columns)

    kind = "large-residual " if large_residual else ""
    form = "a exp(-b t) + c" if offset else "a exp(-b t)"
    return LeastSquaresProblem(
        name=f"{kind}curve fit y = {form}",
        residual=residual,
        jacobian=jacobian,
        model=model,
        t=t,
        y=y,
        theta_true=theta_true,
        theta0=theta0,
    )

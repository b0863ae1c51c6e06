"""The checks of assignment 01_hessians."""

from __future__ import annotations

import math

import numpy as np

from ..derivatives import symbolic_hessian as _ref_symbolic_hessian
from ..derivatives import taylor2 as _ref_taylor2
from ..problems import seed_bowl as _seed_bowl
from ..problems import seed_quartic as _seed_quartic
from .calls import _call
from .compare import _compare, _fmt, _inputs, _rng, _scale, _to_array, _to_float
from .forbidden import _AUTODIFF
from .registry import Part
from .session import (
    _absolute,
    _array,
    _asarray,
    _describe_type,
    _Fail,
    _float,
    _isfinite,
    _len,
    _subtract,
    _sympy,
)

ASSIGNMENT = "01_hessians"

hessian_symbolic = Part(ASSIGNMENT, "hessian_symbolic", forbid=("hessian_lab", "sympy.hessian"))
fd_hessian = Part(ASSIGNMENT, "fd_hessian", forbid=("hessian_lab", "scipy", "sympy", *_AUTODIFF))
second_partial = Part(ASSIGNMENT, "second_partial",
                      forbid=("hessian_lab", "scipy", "sympy", *_AUTODIFF))
quadratic_model = Part(ASSIGNMENT, "quadratic_model", forbid=("hessian_lab",))


def _symbolic_case(text: str, names: str):
    sympy = _sympy()
    symbols = tuple(sympy.symbols(names))
    return sympy.sympify(text, locals={s.name: s for s in symbols}), symbols


def _rational_points(n: int, count: int = 3):
    sympy = _sympy()
    pool = [(1, 3), (-2, 5), (3, 7), (5, 4), (-4, 3), (2, 9), (-1, 2), (7, 5)]
    return [tuple(sympy.Rational(*pool[(k * n + i * 3 + k) % _len(pool)]) for i in range(n))
            for k in range(count)]


def _evaluate_matrix(M, variables, points, name) -> np.ndarray:
    """Values of a sympy matrix at rational points, shape (len(points), rows, cols)."""
    sympy = _sympy()
    extra = set()
    values = []
    for point in points:
        subs = dict(zip(variables, point, strict=True))
        rows = []
        for i in range(M.rows):
            row = []
            for j in range(M.cols):
                entry = sympy.sympify(M[i, j])
                extra |= entry.free_symbols - set(variables)
                number = complex(sympy.N(entry.subs(subs), 20)) if not extra else math.nan
                row.append(number.real if abs(number.imag) < 1e-12 else math.nan)
            rows.append(row)
        values.append(rows)
    if extra:
        names = ", ".join(sorted(str(s) for s in extra))
        raise _Fail(f"{name}'s result contains the symbols {names}, which are not the variables "
                    "it was given: differentiate with respect to the symbols in `variables` "
                    "(do not create new ones).")
    return _array(values, dtype=float)


def _student_matrix(value, name: str):
    sympy = _sympy()
    if value is None:
        raise _Fail(f"{name} returned None: is the `return` statement missing?")
    try:
        return sympy.Matrix(value)
    except Exception as exc:  # noqa: BLE001
        raise _Fail(f"{name} returned {_describe_type(value)}, which is not a matrix "
                    f"({type(exc).__name__}); return a sympy.Matrix.") from None


def _run_hessian_symbolic(fn, text, names, *, symmetric_only=False):
    sympy = _sympy()
    expr, variables = _symbolic_case(text, names)
    n = _len(variables)
    points = _rational_points(n)
    name = "hessian_symbolic"
    inputs = _inputs(f=str(expr), variables=str(variables))

    def evaluate(value):
        M = _student_matrix(value, name)
        if M.shape in ((n, 1), (1, n)) and n > 1:
            raise _Fail(f"{name} returned a matrix of shape {M.shape} for\n{inputs}\nthat looks "
                        "like the gradient (first derivatives). The Hessian is the n x n matrix "
                        "of second partial derivatives H_ij = d^2 f / dx_i dx_j.")
        if M.shape != (n, n):
            raise _Fail(f"{name} returned a matrix of shape {M.shape}; for {n} variables the "
                        f"Hessian is {n} x {n}.")
        return _evaluate_matrix(M, variables, points, name)

    got = _call(name, fn, expr, variables, convert=evaluate)
    if symmetric_only:
        asym = _absolute(_subtract(got, got.transpose(0, 2, 1)))
        if not _isfinite(got).all() or _float(asym.max()) > 1e-9 * max(1.0, _scale(got)):
            raise _Fail(f"{name}'s result is not symmetric for\n{inputs}\nWith continuous "
                        "second partial derivatives H_ij = H_ji (Schwarz). Check the indices: "
                        "entry (i, j) is diff(f, variables[i], variables[j]).")
        return
    reference = _ref_symbolic_hessian(expr, variables)
    expected = _evaluate_matrix(reference, variables, points, "the reference")
    gradient = sympy.Matrix([sympy.diff(expr, v) for v in variables])
    g_values = _evaluate_matrix(gradient, variables, points, "the reference")[:, :, 0]

    def diagonal_only():
        out = np.zeros_like(expected)
        for k in range(n):
            out[:, k, k] = expected[:, k, k]
        return out

    def row_repeats_diagonal():
        return np.repeat(np.einsum("pii->pi", expected)[:, :, None], n, axis=2)

    variants = [
        (diagonal_only, "only the diagonal is filled. The off-diagonal entries are the mixed "
         "partials d^2 f / dx_i dx_j (i != j), which are not zero in general."),
        (row_repeats_diagonal, "every entry of row i is d^2 f / dx_i^2: entry (i, j) must "
         "differentiate once by x_i and once by x_j."),
        (lambda: np.einsum("pi,pj->pij", g_values, g_values), "entry (i, j) is the product of "
         "first derivatives (df/dx_i)(df/dx_j); it should be the second derivative "
         "d/dx_i (df/dx_j)."),
    ]
    _compare(name, got, expected, inputs=inputs + "\n  (values at the points "
             + ", ".join(str(tuple(str(c) for c in p)) for p in points) + ")",
             variants=variants, rtol=1e-8, atol=1e-10, what="Hessian")


@hessian_symbolic.test("hessian_symbolic_shape", "shape and symmetry")
def _t_hs_shape(fn=None):
    _run_hessian_symbolic(fn, "x**2*y + x*y**3", "x y", symmetric_only=True)


@hessian_symbolic.test("hessian_symbolic_fixed", "fixed functions")
def _t_hs_fixed(fn=None):
    _run_hessian_symbolic(fn, "x**2*y + x*y**3", "x y")
    _run_hessian_symbolic(fn, "x*exp(y*z) + sin(x*z) - y**3", "x y z")


def _random_polynomial_text(rng, names) -> str:
    terms = []
    for _ in range(4):
        coefficient = int(rng.choice([-5, -4, -3, -2, -1, 1, 2, 3, 4, 5]))
        powers = rng.integers(0, 4, size=_len(names))
        if powers.sum() < 2:
            powers[int(rng.integers(_len(names)))] += 2
        monomial = "*".join(f"{v}**{int(p)}" for v, p in zip(names, powers, strict=True) if p)
        terms.append(f"({coefficient})*{monomial}")
    a, b = names[int(rng.integers(_len(names)))], names[int(rng.integers(_len(names)))]
    extra = ["sin({a}*{b})", "exp({a}*{b}/3)", "cos({a} + 2*{b})"][int(rng.integers(3))]
    terms.append(extra.format(a=a, b=b))
    return " + ".join(terms)


@hessian_symbolic.test("hessian_symbolic_hidden", "random functions", hidden=True)
def _t_hs_hidden(fn=None):
    rng = _rng("hessian_symbolic_hidden")
    for names in ("x y z", "x y"):
        _run_hessian_symbolic(fn, _random_polynomial_text(rng, names.split()), names)


class _Smooth:
    """f(x) = x^T A x / 2 + b^T x + c sum(x^4) / 12 + sin(w^T x), with exact derivatives."""

    def __init__(self, A, b, c, w):
        self.A, self.b, self.c, self.w = (_array(A, dtype=float), _array(b, dtype=float),
                                          _float(c), _array(w, dtype=float))

    def f(self, x):
        x = _asarray(x, dtype=float)
        return _float(x @ self.A @ x / 2 + self.b @ x + self.c * np.sum(x**4) / 12
                      + np.sin(self.w @ x))

    def grad(self, x):
        x = _asarray(x, dtype=float)
        return self.A @ x + self.b + self.c * x**3 / 3 + np.cos(self.w @ x) * self.w

    def hess(self, x):
        x = _asarray(x, dtype=float)
        return self.A + self.c * np.diag(x**2) - np.sin(self.w @ x) * np.outer(self.w, self.w)

    @classmethod
    def random(cls, rng, n):
        M = rng.normal(size=(n, n))
        return cls((M + M.T), rng.normal(size=n), rng.uniform(0.5, 2.0), 0.7 * rng.normal(size=n))


def _fd_forward_hessian(f, x, h):
    """The forward-difference Hessian with step h (a common, less accurate variant)."""
    x = _asarray(x, dtype=float)
    n = x.size
    E = np.eye(n) * h
    f0 = f(x)
    fi = [f(x + E[i]) for i in range(n)]
    H = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            H[i, j] = (f(x + E[i] + E[j]) - fi[i] - fi[j] + f0) / h**2
    return H


def _off_diagonal_scaled(H, factor):
    H = _array(H, dtype=float)
    D = np.diag(np.diag(H))
    return D + factor * (H - D)


def _fd_variants(exact, f=None, x=None, h=None):
    variants = [
        (lambda: np.diag(np.diag(exact)), "only the diagonal is filled (diagonal-only "
         "reasoning). The off-diagonal entries are the mixed partials d^2 f / dx_i dx_j, from "
         "the four points x +- h e_i +- h e_j."),
        (lambda: _off_diagonal_scaled(exact, 2.0), "the off-diagonal entries are twice too "
         "large: a missing factor 1/2. The mixed central difference is [f(x+h e_i+h e_j) - "
         "f(x+h e_i-h e_j) - f(x-h e_i+h e_j) + f(x-h e_i-h e_j)] / (4 h^2)."),
        (lambda: _off_diagonal_scaled(exact, 4.0), "the off-diagonal entries are four times "
         "too large: the mixed central difference divides by 4 h^2 (the two steps are 2h "
         "wide), not by h^2."),
        (lambda: _off_diagonal_scaled(exact, 0.5), "the off-diagonal entries are half of what "
         "they should be: an extra factor 1/2 (divide by 4 h^2, not 8 h^2)."),
        (lambda: _off_diagonal_scaled(exact, 0.25), "the off-diagonal entries are a quarter of "
         "what they should be: divide the four-point difference by 4 h^2, not 16 h^2."),
    ]
    if f is not None:
        variants.append((lambda: _fd_forward_hessian(f, x, h), "this matches forward "
                         "differences (f(x + h), f(x + 2h), f(x)), whose error is O(h). Use "
                         "central differences (points x + h and x - h): error O(h^2)."))
    return variants


def _run_fd_hessian(fn, f, x, h, exact, label, rtol=1e-4):
    name = "fd_hessian"
    x = _array(x, dtype=float)
    n = x.size
    got = _call(name, fn, f, x.copy(), h, convert=lambda v: _to_array(v, name, "the Hessian"))
    inputs = _inputs(f=label, x=x, h=h)
    if got.shape == (n,) and n > 1:
        raise _Fail(f"{name} returned a vector of shape {got.shape} for\n{inputs}\nthat is "
                    "the shape of the gradient; the Hessian is an n x n matrix.")
    _compare(name, got, exact, inputs=inputs, variants=_fd_variants(exact, f, x, h),
             rtol=rtol, atol=rtol, what="Hessian",
             fallback=lambda: _fd_order_hint(fn, f, x, h, exact))


def _fd_order_hint(fn, f, x, h, exact) -> str:
    """Estimate the order of the student's formula from its errors at h and h/2."""
    try:
        e1 = _array(_call("fd_hessian", fn, f, x, 10 * h), dtype=float) - exact
        e2 = _array(_call("fd_hessian", fn, f, x, 5 * h), dtype=float) - exact
        ratio = _float(_absolute(e1).max() / max(_float(_absolute(e2).max()), 1e-300))
    except Exception:  # noqa: BLE001
        return ""
    if 1.5 < ratio < 2.6:
        return (f"halving h only halves the error (ratio {ratio:.2f}): a first-order formula, "
                "such as forward differences. Central differences are second order (ratio 4).")
    return ""


@fd_hessian.test("fd_hessian_shape", "shape and symmetry")
def _t_fd_shape(fn=None):
    bowl = _seed_bowl()
    x = _array([0.3, -0.2])
    got = _call("fd_hessian", fn, bowl.f, x.copy(), 1e-4,
                convert=lambda v: _to_array(v, "fd_hessian", "the Hessian"))
    inputs = _inputs(f="x^2 + xy + y^2", x=x, h=1e-4)
    if got.shape != (2, 2):
        what = " (the shape of the gradient)" if got.shape == (2,) else ""
        raise _Fail(f"fd_hessian returned shape {got.shape}{what} for\n{inputs}\nexpected a "
                    "2 x 2 matrix.")
    if not _isfinite(got).all():
        raise _Fail(f"fd_hessian returned NaN or inf for\n{inputs}\n  got: {_fmt(got)}")
    if _float(_absolute(got - got.T).max()) > 1e-6 * max(1.0, _scale(got)):
        raise _Fail(f"fd_hessian's result is not symmetric for\n{inputs}\n  got: {_fmt(got)}\n"
                    "Likely mistake: entries (i, j) and (j, i) come from different formulas or "
                    "indices; the mixed difference is symmetric in i and j.")


@fd_hessian.test("fd_hessian_quadratic", "a quadratic")
def _t_fd_quadratic(fn=None):
    A = _array([[4.0, 1.0, -2.0], [1.0, 3.0, 0.5], [-2.0, 0.5, 5.0]])
    b = _array([1.0, -2.0, 0.5])
    quadratic = _Smooth(A, b, 0.0, np.zeros(3))
    _run_fd_hessian(fn, quadratic.f, [0.5, -1.0, 2.0], 1e-3, A,
                    "x^T A x / 2 + b^T x with A = " + _fmt(A))


@fd_hessian.test("fd_hessian_nonquadratic", "a quartic-exp")
def _t_fd_nonquadratic(fn=None):

    def f(z):
        x, y = _asarray(z, dtype=float)
        return _float(x**4 + x**2 * y**3 + np.exp(y / 2) + np.sin(x * y))

    x, y = 1.0, 0.7
    exact = _array([
        [12 * x**2 + 2 * y**3 - y**2 * np.sin(x * y),
         6 * x * y**2 + np.cos(x * y) - x * y * np.sin(x * y)],
        [6 * x * y**2 + np.cos(x * y) - x * y * np.sin(x * y),
         6 * x**2 * y + np.exp(y / 2) / 4 - x**2 * np.sin(x * y)],
    ])
    _run_fd_hessian(fn, f, [x, y], 1e-3, exact, "x^4 + x^2 y^3 + exp(y/2) + sin(xy)")


@fd_hessian.test("fd_hessian_hidden", "random functions", hidden=True)
def _t_fd_hidden(fn=None):
    rng = _rng("fd_hessian_hidden")
    for n in (4, 3):
        smooth = _Smooth.random(rng, n)
        x = rng.uniform(-1, 1, size=n)
        _run_fd_hessian(fn, smooth.f, x, 1e-4, smooth.hess(x),
                        f"a random smooth function of {n} variables")


def _pathological(z) -> float:
    """x y (x^2 - y^2) / (x^2 + y^2), 0 at the origin: its mixed partials differ at (0, 0)."""
    x, y = _asarray(z, dtype=float)
    r = x * x + y * y
    return 0.0 if r == 0 else _float(x * y * (x * x - y * y) / r)


def _second_partial_value(fn, f, x, i, j, h_outer, h_inner):
    name = "second_partial"
    return _call(name, fn, f, _array(x, dtype=float), i, j, h_outer, h_inner,
                 convert=lambda v: _to_float(v, name, "the second partial derivative"))


@second_partial.test("second_partial_smooth", "a smooth function")
def _t_sp_smooth(fn=None):

    def f(z):
        x, y = _asarray(z, dtype=float)
        return _float(x**2 * y + x * y**3)

    for (i, j), exact in (((0, 1), 14.0), ((0, 0), 4.0), ((1, 1), 12.0), ((1, 0), 14.0)):
        got = _second_partial_value(fn, f, [1.0, 2.0], i, j, 1e-3, 1e-6)
        inputs = _inputs(f="x^2 y + x y^3", x=[1.0, 2.0], i=i, j=j, h_outer=1e-3,
                         h_inner=1e-6)
        variants = [(lambda k=k, e=exact: e * k, msg) for k, msg in (
            (2.0, "twice the right value: a missing factor 1/2 (a central difference "
             "divides by 2h)."),
            (4.0, "four times the right value: both central differences divide by 2h."),
            (0.5, "half the right value: an extra factor 1/2."),
            (0.25, "a quarter of the right value: divide by 2h, not 4h."),
            (-1.0, "the sign is wrong."))]
        _compare("second_partial", _array(got), exact, inputs=inputs, variants=variants,
                 rtol=1e-4, atol=1e-6, what="value")


@second_partial.test("second_partial_order", "the order of differentiation")
def _t_sp_order(fn=None):
    a = _second_partial_value(fn, _pathological, [0.0, 0.0], 0, 1, 1e-3, 1e-6)
    b = _second_partial_value(fn, _pathological, [0.0, 0.0], 1, 0, 1e-3, 1e-6)
    got = _array([a, b])
    inputs = _inputs(f="x y (x^2 - y^2) / (x^2 + y^2), f(0, 0) = 0", x=[0.0, 0.0],
                     h_outer=1e-3, h_inner=1e-6) + "\n  (i, j) = (0, 1), then (1, 0)"
    variants = [
        (lambda: [-1.0, 1.0], "the order of differentiation is reversed. In this book "
         "H_ij = d/dx_i (df/dx_j): differentiate first by x_j (the inner difference, step "
         "h_inner), then by x_i (the outer difference, step h_outer)."),
        (lambda: [0.0, 0.0], "a symmetric formula cannot tell the two orders apart (the "
         "four-point formula, or equal inner and outer steps). Nest two central differences: "
         "the inner one in x_j with h_inner, the outer one in x_i with h_outer."),
    ]
    _compare("second_partial", got, [1.0, -1.0], inputs=inputs, variants=variants, rtol=0,
             atol=1e-3, what="pair of values (H_01, H_10)",
             fallback="at the origin this function's mixed partials are 1 and -1 (Schwarz's "
             "theorem does not apply: they are not continuous there).")


@second_partial.test("second_partial_hidden", "random functions", hidden=True)
def _t_sp_hidden(fn=None):
    rng = _rng("second_partial_hidden")
    smooth = _Smooth.random(rng, 3)
    x = rng.uniform(-1, 1, size=3)
    H = smooth.hess(x)
    for _ in range(2):
        i, j = (int(k) for k in rng.choice(3, size=2, replace=False))
        got = _second_partial_value(fn, smooth.f, x, i, j, 1e-3, 1e-6)
        _compare("second_partial", _array(got), H[i, j], rtol=1e-4, atol=1e-5, what="value",
                 inputs=_inputs(f="a random smooth function of 3 variables", x=x, i=i, j=j,
                                h_outer=1e-3, h_inner=1e-6))


def _run_quadratic_model(fn, f0, g, H, x0, points, label=""):
    name = "quadratic_model"
    g, H, x0 = _array(g, dtype=float), _array(H, dtype=float), _array(x0, dtype=float)

    def evaluate(m):
        if not callable(m):
            raise _Fail(f"{name} returned {_describe_type(m)}; it should return a function "
                        "m(x) (define it inside quadratic_model and return it).")
        return _array([_to_float(m(_array(p, dtype=float)), "m(x)", "m(x)") for p in points])

    got = _call(name, fn, f0, g.copy(), H.copy(), x0.copy(), convert=evaluate)
    reference = _ref_taylor2(f0, g, H, x0)
    expected = _array([reference(_array(p, dtype=float)) for p in points])
    D = _array(points, dtype=float) - x0
    P = _array(points, dtype=float)
    quad = np.einsum("pi,ij,pj->p", D, H, D)
    variants = [
        (lambda: f0 + D @ g + quad, "the quadratic term is missing its factor 1/2: "
         "m(x) = f0 + g^T d + (1/2) d^T H d with d = x - x0."),
        (lambda: f0 - D @ g + quad / 2, "the sign of the linear term: it is + g^T d."),
        (lambda: f0 + P @ g + np.einsum("pi,ij,pj->p", P, H, P) / 2, "the model must be "
         "written in d = x - x0, the step from the expansion point, not in x."),
        (lambda: f0 + D @ g + np.einsum("pi,ij,pj->p", D, np.linalg.inv(H), D) / 2,
         "H^-1 is used where H belongs: the curvature term is (1/2) d^T H d."),
        (lambda: D @ g + quad / 2, "f0 is missing: m(x0) must equal f(x0) = f0."),
    ]
    shown = _inputs(f0=f0, g=g, H=H, x0=x0) + (f"\n  ({label})" if label else "")
    shown += "\n  evaluated at x = " + "; ".join(_fmt(p) for p in points)
    _compare(name, got, expected, inputs=shown, variants=variants, rtol=1e-9, atol=1e-10,
             what="model values m(x)")


@quadratic_model.test("quadratic_model_fixed", "fixed data")
def _t_qm_fixed(fn=None):
    x0 = _array([0.5, 1.0])
    points = [x0, x0 + [1.0, 0.0], x0 + [0.3, -0.7], x0 + [-1.0, 2.0]]
    _run_quadratic_model(fn, 1.5, [1.0, -2.0], [[2.0, 1.0], [1.0, 4.0]], x0, points)


@quadratic_model.test("quadratic_model_taylor", "Taylor model of x^4 + y^4 - 4xy")
def _t_qm_taylor(fn=None):
    prob = _seed_quartic()
    x0 = _array([0.8, -0.5])
    d = _array([0.6, 0.8])
    points = [x0 + t * d for t in (0.01, 0.1, 0.5, 1.0)]
    _run_quadratic_model(fn, prob.f(x0), prob.grad(x0), prob.hess(x0), x0, points,
                         "the data of f = x^4 + y^4 - 4xy at x0")


@quadratic_model.test("quadratic_model_hidden", "random data", hidden=True)
def _t_qm_hidden(fn=None):
    rng = _rng("quadratic_model_hidden")
    n = 4
    M = rng.normal(size=(n, n))
    H = M @ M.T + np.eye(n)
    x0 = rng.normal(size=n)
    points = [x0 + rng.normal(size=n) for _ in range(4)]
    _run_quadratic_model(fn, _float(rng.normal()), rng.normal(size=n), H, x0, points,
                         "random data")

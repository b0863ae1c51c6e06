"""The checks of assignment 06_matrix_free_newton: conjugate gradients from products, a
truncated Newton (Newton-CG) direction, and the stopping rules of Steihaug-CG.

Every operator is handed to the student as a function v -> A v that counts its calls, so the
checks see how many products were spent; the references are
:func:`hessian_lab.cg.conjugate_gradient`, the direction :func:`hessian_lab.cg.newton_cg`
takes, and :func:`hessian_lab.trust_region.steihaug_step`. A wrong answer is compared with
what the usual mistakes produce on the same input (beta = 1 because the old residual norm
was overwritten, beta from norms instead of squared norms, steepest descent, a loop that
ignores the tolerance, no negative-curvature test, the wrong crossing of the sphere, ...).
"""

from __future__ import annotations

import math

import numpy as np

from ..cg import CG_NEGATIVE_CURVATURE
from ..cg import conjugate_gradient as _ref_cg
from ..problems import rosenbrock as _rosenbrock
from ..trust_region import _to_boundary
from ..trust_region import steihaug_step as _ref_steihaug
from .a02_classifying import _planted
from .a04_quasi_newton import _is_pair
from .calls import _call
from .compare import _close, _fmt, _inputs, _rng, _short, _to_array, _to_label
from .registry import Part
from .session import _absolute, _array, _asarray, _describe_type, _Fail, _float, _isfinite

ASSIGNMENT = "06_matrix_free_newton"

# products only: no solver, no inverse, not the library's or scipy's CG
_SOLVERS = ("hessian_lab", "scipy", "numpy.linalg.solve", "numpy.linalg.lstsq",
            "numpy.linalg.inv", "numpy.linalg.pinv")
conjugate_gradient = Part(ASSIGNMENT, "conjugate_gradient", forbid=_SOLVERS)
newton_cg_step = Part(ASSIGNMENT, "newton_cg_step", forbid=_SOLVERS)
steihaug = Part(ASSIGNMENT, "steihaug", forbid=_SOLVERS)

REASONS = ("interior", "boundary", "negative curvature")


class _Counted:
    """v -> A v for the student, counting the calls (A a matrix, a diagonal or a function)."""

    def __init__(self, operator):
        self.operator, self.calls = operator, 0

    def __call__(self, v):
        self.calls += 1
        v = _asarray(v, dtype=float)
        op = self.operator
        if callable(op):
            return _asarray(op(v), dtype=float)
        return op * v if op.ndim == 1 else op @ v


def _apply(operator, v):
    if callable(operator):
        return _asarray(operator(v), dtype=float)
    return operator * v if operator.ndim == 1 else operator @ v


def _norm(v) -> float:
    return _float(math.sqrt(_float(v @ v)))


# --------------------------------------------------------------------------- Part 1: CG


def _cg_variant(operator, b, tol, max_iter, beta="right", stop="relative"):
    """CG from 0 as a common mistake writes it: (x, residual norms, products)."""
    x, r = np.zeros(b.size), b.copy()
    p, rr = r.copy(), _float(r @ r)
    history = [math.sqrt(rr)]
    threshold = tol * _norm(b) if stop == "relative" else tol
    products = 0
    while products < max_iter and (stop == "max_iter" or history[-1] > threshold):
        Ap = _apply(operator, p)
        products += 1
        pAp = _float(p @ Ap)
        if not pAp > 0:
            break
        alpha = rr / pAp
        x = x + alpha * p
        r = r - alpha * Ap
        rr_new = _float(r @ r)
        factor = {"right": rr_new / rr, "one": 1.0, "norms": math.sqrt(rr_new / rr),
                  "zero": 0.0}[beta]
        p = r + factor * p
        rr = rr_new
        history.append(math.sqrt(rr))
    return x, _array(history), products


def _cg_causes(operator, b, tol, max_iter):
    return [
        (dict(beta="one"), "beta is 1 at every step: your CG uses the residual's old norm "
         "after overwriting it (rr = r^T r updated before beta = r_new^T r_new / r_old^T "
         "r_old is computed). Keep the old value until beta is formed."),
        (dict(beta="norms"), "beta = ||r_new|| / ||r_old||: beta is the ratio of the SQUARED "
         "norms, r_new^T r_new / r_old^T r_old."),
        (dict(beta="zero"), "beta = 0: the directions are the residuals themselves, which is "
         "steepest descent with exact line search, not CG. p_new = r_new + beta p."),
        (dict(stop="max_iter"), "it stops at max_iter instead of the tolerance: stop as soon as "
         "||r_k|| <= tol ||b||."),
        (dict(stop="absolute"), "the tolerance is taken as absolute (||r|| <= tol); it is "
         "relative: stop when ||r_k|| <= tol ||b||."),
    ]


def _call_with_operator(name, fn, *args, convert):
    """_call, with a hint when the student treats the operator as a matrix."""
    try:
        return _call(name, fn, *args, convert=convert)
    except _Fail as failure:
        text = str(failure)
        if any(word in text for word in ("matmul", "not subscriptable", "has no attribute "
                                         "'shape'", "has no attribute 'T'", "_Counted")):
            raise _Fail(text + "\nLikely mistake: the operator is a function, not a matrix: "
                        "compute products by calling it, matvec(p) (no @, indexing or "
                        ".shape).") from None
        raise


def _student_cg(value, name, n):
    if not _is_pair(value):
        raise _Fail(f"{name} returned {_describe_type(value)} {_short(value)}; return a tuple "
                    "(x, residuals): the solution and the list of residual norms "
                    "||r_0||, ..., ||r_k||.")
    value = tuple(value)
    x = _to_array(value[0], name, "x", ndim=1)
    if x.size != n:
        raise _Fail(f"{name} returned x of length {x.size}; expected {n}.")
    history = _to_array(value[1], name, "the residual norms", ndim=1)
    if history.size == 0:
        raise _Fail(f"{name} returned an empty residual history; it starts with ||r_0|| = "
                    "||b|| (x_0 = 0) and has one more entry per iteration.")
    return x, history


def _run_cg(fn, operator, b, tol, max_iter, label, history=False):
    name = "conjugate_gradient"
    b = _array(b, dtype=float)
    matvec = _Counted(operator)
    x, hist = _call_with_operator(name, fn, matvec, b.copy(), tol, max_iter,
                                  convert=lambda v: _student_cg(v, name, b.size))
    products = matvec.calls
    ref = _ref_cg(operator if callable(operator) else
                  (lambda v: _apply(operator, v)), b, rtol=tol, max_iter=max_iter)
    bnorm = _norm(b)
    threshold = tol * bnorm
    inputs = (_inputs(b=b, tol=tol, max_iter=max_iter) if b.size <= 8 else
              _inputs(tol=tol, max_iter=max_iter)) + f"\n  (A: {label}; n = {b.size})"
    if not _isfinite(x).all():
        raise _Fail(f"{name} returned x with NaN or inf for\n{inputs}\nLikely mistake: a "
                    "division by p^T A p or r^T r after convergence (stop first).")
    true_residual = _norm(b - _apply(operator, x))
    if true_residual > threshold * (1 + 1e-6) + 1e-13 * bnorm:
        cause = ""
        for options, message in _cg_causes(operator, b, tol, max_iter):
            wrong = _cg_variant(operator, b, tol, max(products, 1), **options)[0]
            if _close(x, wrong, 1e-6, 1e-9 * max(1.0, _float(_absolute(wrong).max()))):
                cause = message
                break
        if not cause and products >= max_iter:
            cause = (f"it used all max_iter = {max_iter} products without converging; CG "
                     f"needs {ref.n_matvec} here. Check alpha = r^T r / p^T A p, "
                     "r <- r - alpha A p, beta = r_new^T r_new / r_old^T r_old, "
                     "p <- r + beta p.")
        raise _Fail(f"{name}'s x does not solve A x = b for\n{inputs}\n  ||b - A x|| = "
                    f"{true_residual:.3g}, expected <= tol ||b|| = {threshold:.3g} (after "
                    f"{products} products)" + (f"\nLikely mistake: {cause}" if cause else ""))
    if products > ref.n_matvec + 1:
        if products >= max_iter or products == _cg_variant(operator, b, tol, max_iter,
                                                           stop="max_iter")[2]:
            cause = ("it stops at max_iter instead of the tolerance: stop as soon as "
                     "||r_k|| <= tol ||b||.")
        else:
            cause = ("one product A p per iteration is enough: update the residual by "
                     "r <- r - alpha A p (reusing A p) instead of computing b - A x.")
        raise _Fail(f"{name} used {products} products A v for\n{inputs}\nwhere CG needs "
                    f"{ref.n_matvec} (one per iteration; at most one more is accepted).\n"
                    f"Likely mistake: {cause}")
    if history:
        _check_history(name, hist, ref.residuals, bnorm, threshold, true_residual, inputs)


def _check_history(name, hist, ref, bnorm, threshold, true_residual, inputs):
    shown = f"\n  expected: {_fmt(ref)}\n  got:      {_fmt(hist)}"
    if abs(_float(hist[0]) - bnorm) > 1e-8 * bnorm:
        raise _Fail(f"{name}'s residual history starts at {_float(hist[0]):.6g}, not at "
                    f"||r_0|| = ||b|| = {bnorm:.6g}, for\n{inputs}{shown}\nLikely mistake: "
                    "record ||r_0|| before the first iteration (x_0 = 0, r_0 = b), then one "
                    "norm per iteration.")
    last = _float(hist[-1])
    if last > threshold * (1 + 1e-6) or abs(last - true_residual) > 1e-6 * bnorm:
        raise _Fail(f"{name}'s residual history ends at {last:.3g}, but ||b - A x|| = "
                    f"{true_residual:.3g} (tol ||b|| = {threshold:.3g}) for\n{inputs}{shown}\n"
                    "Likely mistake: append ||r_{k+1}|| after each update, the last entry "
                    "being the residual of the x returned.")
    early = hist[:-1]
    if early.size and _float(early.min()) <= threshold:
        k = int(np.argmax(early <= threshold))
        raise _Fail(f"{name} went on after the tolerance was met: ||r_{k}|| = "
                    f"{_float(early[k]):.3g} <= tol ||b|| = {threshold:.3g} for\n{inputs}"
                    f"{shown}\nLikely mistake: the test ||r|| <= tol ||b|| belongs before each "
                    "iteration; it stops at max_iter instead of the tolerance.")
    if ref.size > 1 and bool((ref[1:] < ref[:-1]).all()):
        rises = np.nonzero(hist[1:] > hist[:-1] * (1 + 1e-9))[0]
        if rises.size:  # CG's residuals need not fall at every step, but here they do
            k = int(rises[0]) + 1
            raise _Fail(f"{name}'s residual norm rises at iteration {k} "
                        f"({_float(hist[k - 1]):.3g} -> {_float(hist[k]):.3g}) for\n{inputs}"
                        f"{shown}\nOn this system CG's residuals fall at every step. Likely "
                        "mistake: alpha = r^T r / p^T A p, with A p the product of the current "
                        "direction p (not of r).")
    if hist.size != ref.size or not _close(hist, ref, 1e-5, 1e-9 * bnorm):
        raise _Fail(f"{name}'s residual history is not CG's for\n{inputs}{shown}\nLikely "
                    "mistake: one entry ||r_k|| per iteration, from r_0 = b; the last one the "
                    "first below tol ||b||.")


@conjugate_gradient.test("cg_small", "a 3 x 3 system")
def _t_cg_small(fn=None):
    A = _array([[4.0, 1.0, 0.0], [1.0, 3.0, -1.0], [0.0, -1.0, 2.0]])
    _run_cg(fn, A, [1.0, 2.0, 3.0], 1e-10, 30, f"{_fmt(A)}")


@conjugate_gradient.test("cg_products", "three distinct eigenvalues, n = 300")
def _t_cg_products(fn=None):
    d = np.repeat([1.0, 4.0, 9.0], 100)
    b = np.random.default_rng(3).normal(size=300)
    _run_cg(fn, d, b, 1e-10, 300, "diagonal with eigenvalues 1, 4, 9 (100 times each): in "
            "exact arithmetic CG ends after 3 products")


@conjugate_gradient.test("cg_history", "the residual history")
def _t_cg_history(fn=None):
    rng = np.random.default_rng(4)
    A = _planted(rng, np.linspace(1.0, 3.0, 8))
    _run_cg(fn, A, rng.normal(size=8), 1e-10, 80, "a symmetric positive definite 8 x 8 "
            "matrix, eigenvalues from 1 to 3", history=True)


@conjugate_gradient.test("cg_callable", "an operator given only as a function, n = 5000")
def _t_cg_callable(fn=None):
    d = np.linspace(1.0, 10.0, 5_000)

    def product(v):  # no matrix, no shape: a function only
        return d * v

    b = np.random.default_rng(5).normal(size=d.size)
    _run_cg(fn, product, b, 1e-8, 100, "v -> D v with D diagonal, 1 ... 10, given only as a "
            "function", history=True)


@conjugate_gradient.test("cg_hidden", "random systems", hidden=True)
def _t_cg_hidden(fn=None):
    rng = _rng("cg_hidden")
    for n, kappa in ((20, 50.0), (6, 5.0)):
        A = _planted(rng, np.geomspace(1.0, kappa, n) * rng.uniform(0.5, 2.0))
        _run_cg(fn, A, rng.normal(size=n), 1e-9, 10 * n, f"a random SPD {n} x {n} matrix, "
                f"kappa = {kappa:g}", history=True)


# --------------------------------------------------------------------------- Part 2: Newton-CG


def _ref_direction(operator, g):
    """The direction newton_cg takes: CG on H p = -g to eta ||g||, or -g at once."""
    eta = min(0.5, math.sqrt(_norm(g)))
    inner = _ref_cg(lambda v: _apply(operator, v), -g, rtol=eta, max_iter=20 * g.size)
    return (inner.x if inner.nit > 0 else -g), inner, eta


def _forcing_cause(operator, g, p, scale) -> str:
    """The wrong forcing term that gives ``p``, in words ('' if none does)."""
    gnorm = _norm(g)
    for tol, message in ((0.5, "the forcing term is 0.5 always; it is eta = "
                          "min(0.5, sqrt(||g||)), smaller near a minimiser."),
                         (min(0.5, math.sqrt(gnorm)) / max(gnorm, 1e-300),
                          "the tolerance is absolute (||H p + g|| <= eta); it is "
                          "relative: ||H p + g|| <= eta ||g||.")):
        wrong = _ref_cg(lambda v: _apply(operator, v), -g, rtol=tol, max_iter=20 * g.size)
        if wrong.nit > 0 and _close(p, wrong.x, 1e-6, 1e-9 * scale):
            return message
    return ""


def _run_newton_cg(fn, operator, g, label, dense=None):
    name = "newton_cg_step"
    g = _array(g, dtype=float)
    hvp = _Counted(operator)
    p = _call_with_operator(name, fn, g.copy(), hvp,
                            convert=lambda v: _to_array(v, name, "the direction p", ndim=1))
    products = hvp.calls
    expected, inner, eta = _ref_direction(operator, g)
    gnorm = _norm(g)
    inputs = (_inputs(g=g) if g.size <= 8 else f"  ||g|| = {gnorm:.6g}") + \
        f"\n  (H: {label}; n = {g.size}; eta = min(0.5, sqrt(||g||)) = {eta:.4g})"
    if p.shape != g.shape or not _isfinite(p).all():
        raise _Fail(f"{name} returned {_fmt(p)} (shape {p.shape}) for\n{inputs}\nexpected a "
                    f"finite direction of length {g.size}.")
    scale = max(1.0, _float(_absolute(expected).max()))
    first_negative = inner.status == CG_NEGATIVE_CURVATURE and inner.nit == 0
    if first_negative and not _close(p, expected, 1e-8, 1e-10 * scale):
        cause = ("it returns the zero vector: CG met negative curvature at its first "
                 "direction (-g)^T H (-g) <= 0 and has taken no step; fall back to p = -g, "
                 "as newton_cg does." if _float(_absolute(p).max()) == 0.0 else
                 "it does not detect p^T H p <= 0: at the first direction (-g)^T H (-g) <= 0, "
                 "so stop and return p = -g.")
        raise _Fail(f"{name} gives the wrong direction for\n{inputs}\n  expected: "
                    f"{_fmt(expected)}\n  got:      {_fmt(p)}\nLikely mistake: {cause}")
    slope = _float(g @ p)
    if not slope < 0:
        cause = ("it returns the zero vector; with negative curvature at the first CG "
                 "direction the fallback is p = -g." if _float(_absolute(p).max()) == 0.0 else
                 "the sign: solve H p = -g (CG on the right-hand side -g), or it does not "
                 "detect p^T H p <= 0 and runs CG on through an indefinite H.")
        raise _Fail(f"{name}'s p is not a descent direction for\n{inputs}\n  g^T p = "
                    f"{slope:.3g} >= 0\nLikely mistake: {cause}")
    if inner.status != CG_NEGATIVE_CURVATURE:
        residual = _norm(_apply(operator, p) + g)
        if residual > eta * gnorm * (1 + 1e-6):
            cause = _forcing_cause(operator, g, p, scale)
            raise _Fail(f"{name}'s p does not meet the residual criterion for\n{inputs}\n"
                        f"  ||H p + g|| = {residual:.3g}, expected <= eta ||g|| = "
                        f"{eta * gnorm:.3g}" + (f"\nLikely mistake: {cause}" if cause else ""))
    if products > inner.n_matvec + 1:
        raise _Fail(f"{name} used {products} Hessian-vector products for\n{inputs}\nwhere "
                    f"truncated CG needs {inner.n_matvec} (at most one more is accepted).\n"
                    "Likely mistake: CG is not truncated: stop as soon as ||H p + g|| <= "
                    "eta ||g||; it does not solve H p = -g exactly (one product per "
                    "iteration).")
    if not _close(p, expected, 1e-5, 1e-8 * scale):
        cause = ""
        if inner.status == CG_NEGATIVE_CURVATURE and dense is not None:
            full = np.linalg.solve(dense, -g)
            if _close(p, full, 1e-5, 1e-8 * max(1.0, _float(_absolute(full).max()))):
                cause = ("it does not detect p^T H p <= 0: CG ran on through negative "
                         "curvature. Stop there and return the iterate reached so far.")
        if not cause:
            cause = _forcing_cause(operator, g, p, scale)
        if not cause and inner.status == CG_NEGATIVE_CURVATURE and _close(p, -g, 1e-8, 0.0):
            cause = ("-g is the fallback only when the FIRST direction has negative "
                     "curvature; later, return the CG iterate reached so far.")
        raise _Fail(f"{name} gives the wrong direction for\n{inputs}\n  expected: "
                    f"{_fmt(expected)}\n  got:      {_fmt(p)}\nLikely mistake: "
                    + (cause or "CG on H p = -g from p = 0, stopped when ||H p + g|| <= "
                       "eta ||g|| or when a direction has d^T H d <= 0."))


def _indefinite_case(scale=1.0, last=0.05):
    """H = diag(2, 3, 5, -1) and a g for which CG takes some steps, then meets negative
    curvature (before the forcing term stops it, for newton_cg_step's g)."""
    return np.diag([2.0, 3.0, 5.0, -1.0]), scale * _array([1.0, 1.0, 1.0, last])


@newton_cg_step.test("ncg_quadratic", "a small gradient: eta = sqrt(||g||)")
def _t_ncg_quadratic(fn=None):
    H = _planted(np.random.default_rng(6), np.geomspace(1.0, 30.0, 6))
    g = 0.004 * np.random.default_rng(7).normal(size=6)
    _run_newton_cg(fn, H, g, "a symmetric positive definite 6 x 6 matrix, kappa = 30")


@newton_cg_step.test("ncg_forcing", "a large gradient: eta = 0.5")
def _t_ncg_forcing(fn=None):
    rng = np.random.default_rng(8)
    H = _planted(rng, np.geomspace(1.0, 100.0, 30))
    _run_newton_cg(fn, H, 3.0 * rng.normal(size=30), "SPD 30 x 30, kappa = 100")


@newton_cg_step.test("ncg_negative_first", "negative curvature along -g")
def _t_ncg_negative_first(fn=None):
    H = np.diag([2.0, -1.0, 1.0])
    _run_newton_cg(fn, H, [0.1, 1.0, 0.0], f"{_fmt(H)}: g^T H g < 0", dense=H)


@newton_cg_step.test("ncg_negative_later", "negative curvature after some CG steps")
def _t_ncg_negative_later(fn=None):
    H, g = _indefinite_case(0.01, 0.2)
    _run_newton_cg(fn, H, g, "diag(2, 3, 5, -1)", dense=H)


@newton_cg_step.test("ncg_rosenbrock", "extended Rosenbrock, n = 100000")
def _t_ncg_rosenbrock(fn=None):
    prob = _rosenbrock(100_000, kind="extended")
    x = prob.x0 + 0.1

    def hvp(v):
        return prob.hessp(x, v)

    _run_newton_cg(fn, hvp, prob.grad(x), "the Hessian of extended Rosenbrock at x0 + 0.1, as "
                   "products only")


@newton_cg_step.test("ncg_hidden", "random functions", hidden=True)
def _t_ncg_hidden(fn=None):
    rng = _rng("ncg_hidden")
    H = _planted(rng, rng.uniform(0.5, 20.0, size=12))
    _run_newton_cg(fn, H, rng.normal(size=12) * rng.uniform(0.01, 2.0), "random SPD 12 x 12")
    values = np.concatenate([rng.uniform(1.0, 5.0, size=5), [-rng.uniform(0.5, 2.0)]])
    H = _planted(rng, values)
    _run_newton_cg(fn, H, rng.normal(size=6), "random indefinite 6 x 6", dense=H)


# --------------------------------------------------------------------------- Part 3: Steihaug


def _steihaug_variant(g, operator, radius, tol, curvature=True, root="lower",
                      boundary="crossing"):
    """Steihaug-CG as a common mistake writes it: (p, reason)."""
    gnorm = _norm(g)
    z, r = np.zeros(g.size), g.copy()
    d, rr = -r, _float(r @ r)
    for _ in range(10 * g.size):
        Bd = _apply(operator, d)
        dBd, rd = _float(d @ Bd), _float(r @ d)
        if curvature and not dBd > 0:
            if root == "stop":
                return z, "negative curvature"
            sign = 1.0 if root == "lower" else -1.0
            tau = min(_to_boundary(z, d, radius),
                      key=lambda t, rd=rd, dBd=dBd: sign * (t * rd + 0.5 * t * t * dBd))
            return z + tau * d, "negative curvature"
        alpha = rr / dBd
        z_next = z + alpha * d
        if _norm(z_next) >= radius:
            if boundary == "crossing":
                return z + _to_boundary(z, d, radius)[1] * d, "boundary"
            if boundary == "project":
                return z_next * (radius / _norm(z_next)), "boundary"
            if boundary == "inside":
                return z, "boundary"
        z = z_next
        r = r + alpha * Bd
        rr_next = _float(r @ r)
        if math.sqrt(rr_next) <= tol * gnorm:
            return z, "interior"
        d = -r + (rr_next / rr) * d
        rr = rr_next
    return z, "interior"


def _student_step(value, name, n):
    if not _is_pair(value):
        raise _Fail(f"{name} returned {_describe_type(value)} {_short(value)}; return a tuple "
                    f"(p, reason), reason one of {', '.join(repr(r) for r in REASONS)}.")
    value = tuple(value)
    p = _to_array(value[0], name, "the step p", ndim=1)
    if p.size != n:
        raise _Fail(f"{name} returned p of length {p.size}; expected {n}.")
    return p, _to_label(value[1], name, REASONS)


def _run_steihaug(fn, operator, g, radius, tol, label):
    name = "steihaug"
    g = _array(g, dtype=float)
    hessp = _Counted(operator)
    p, reason = _call_with_operator(name, fn, g.copy(), hessp, radius, tol,
                                    convert=lambda v: _student_step(v, name, g.size))
    products = hessp.calls
    ref = _ref_steihaug(g, lambda v: _apply(operator, v), radius, rtol=tol)
    inputs = (_inputs(g=g) if g.size <= 8 else f"  ||g|| = {_norm(g):.6g}") + \
        f"\n  radius = {radius:g}, tol = {tol:g}\n  (B: {label}; n = {g.size})"
    shown = f"\n  expected: {_fmt(ref.p)} ({ref.reason!r})\n  got:      {_fmt(p)} ({reason!r})"
    if not _isfinite(p).all():
        raise _Fail(f"{name} returned a step with NaN or inf for\n{inputs}{shown}")
    variants = [
        (dict(curvature=False), "it does not detect p^T B p <= 0: with negative curvature, "
         "follow that direction to the boundary (reason 'negative curvature')."),
        (dict(root="higher"), "the wrong crossing of the sphere: along a direction of negative "
         "curvature take the root tau of ||z + tau d|| = radius where the model "
         "g^T p + p^T B p / 2 is LOWER."),
        (dict(root="stop"), "at negative curvature it stops at the current iterate; follow the "
         "direction d to the boundary ||z + tau d|| = radius."),
        (dict(boundary="project"), "at the boundary it scales the full CG iterate back onto the "
         "sphere; the step is where the SEGMENT z + tau d (tau >= 0) crosses it."),
        (dict(boundary="inside"), "at the boundary it returns the last iterate inside the "
         "region; go on along d to the crossing ||z + tau d|| = radius."),
    ]
    norm = _norm(p)
    if norm > radius * (1 + 1e-8):
        cause = ("the boundary test is missing: stop when ||z + alpha d|| >= radius and return "
                 "the crossing of the segment with the sphere.")
        for options, message in variants:
            if _close(p, _steihaug_variant(g, operator, radius, tol, **options)[0], 1e-6,
                      1e-10 * max(1.0, radius)):
                cause = message
                break
        raise _Fail(f"{name}: your step leaves the trust region: ||p|| = {norm:.6g} > radius = "
                    f"{radius:g} for\n{inputs}{shown}\nLikely mistake: {cause}")
    scale = max(1.0, _float(_absolute(ref.p).max()))
    if not _close(p, ref.p, 1e-6, 1e-9 * scale):
        cause = ""
        for options, message in variants:
            wrong = _steihaug_variant(g, operator, radius, tol, **options)[0]
            if not _close(wrong, ref.p, 1e-6, 1e-9 * scale) and _close(p, wrong, 1e-6,
                                                                        1e-9 * scale):
                cause = message
                break
        raise _Fail(f"{name} gives the wrong step for\n{inputs}{shown}\nLikely mistake: "
                    + (cause or "CG on B p = -g from p = 0 (r = g + B p, d = -r first), "
                       "stopped by the first rule that applies: d^T B d <= 0, leaving the "
                       "region, or ||r|| <= tol ||g||."))
    if reason != ref.reason:
        raise _Fail(f"{name}'s step is right but the reason is {reason!r}, expected "
                    f"{ref.reason!r}, for\n{inputs}{shown}\nLikely mistake: 'interior' when "
                    "||r|| <= tol ||g|| stopped CG inside, 'boundary' when the next iterate "
                    "would leave the region, 'negative curvature' when d^T B d <= 0.")
    if products > ref.n_products + 1:
        raise _Fail(f"{name} used {products} products B v for\n{inputs}\nwhere Steihaug-CG "
                    f"needs {ref.n_products} (one per iteration; at most one more is "
                    "accepted).\nLikely mistake: it does not stop at the first rule that "
                    "applies.")


@steihaug.test("steihaug_interior", "positive definite, a large radius")
def _t_st_interior(fn=None):
    B = _planted(np.random.default_rng(9), np.geomspace(1.0, 20.0, 6))
    _run_steihaug(fn, B, np.random.default_rng(10).normal(size=6), 100.0, 1e-8,
                  "SPD 6 x 6, kappa = 20")


@steihaug.test("steihaug_small_radius", "positive definite, a small radius")
def _t_st_small(fn=None):
    B = _planted(np.random.default_rng(11), np.geomspace(1.0, 20.0, 6))
    g = np.random.default_rng(12).normal(size=6)
    _run_steihaug(fn, B, g, 0.05, 1e-8, "SPD 6 x 6: the first CG step already leaves")
    _run_steihaug(fn, B, g, 0.6, 1e-8, "the same, a radius crossed after some CG steps")


@steihaug.test("steihaug_indefinite", "indefinite: negative curvature")
def _t_st_indefinite(fn=None):
    B, g = _indefinite_case()
    _run_steihaug(fn, B, g, 3.0, 1e-8, "diag(2, 3, 5, -1): negative curvature after CG steps")
    _run_steihaug(fn, np.diag([1.0, -2.0]), [0.5, 1.0], 1.5, 1e-8,
                  "diag(1, -2): negative curvature at once")


@steihaug.test("steihaug_hidden", "random models", hidden=True)
def _t_st_hidden(fn=None):
    rng = _rng("steihaug_hidden")
    for values, radius in ((rng.uniform(0.5, 10.0, size=8), rng.uniform(0.05, 0.5)),
                           (np.concatenate([rng.uniform(1.0, 5.0, 6), [-2.0, -0.5]]), 2.0)):
        _run_steihaug(fn, _planted(rng, rng.permutation(values)), rng.normal(size=8), radius,
                      1e-8, "a random symmetric 8 x 8 matrix")

"""The checks of assignment 04_quasi_newton."""

from __future__ import annotations

import math

import numpy as np

from ..optimizers import bfgs_update as _ref_bfgs_update
from ..optimizers import two_loop as _ref_two_loop
from ..problems import quadratic as _quadratic
from ..problems import rosenbrock as _rosenbrock
from .a02_classifying import _planted
from .a03_newton import _ConvexQuartic
from .calls import _call
from .compare import _close, _compare, _fmt, _inputs, _rng, _short, _to_array, _to_int
from .forbidden import _OPTIMIZERS
from .registry import Part
from .session import (
    _absolute,
    _array,
    _asarray,
    _describe_type,
    _Fail,
    _float,
    _isfinite,
    _isinstance,
    _len,
)

ASSIGNMENT = "04_quasi_newton"

bfgs_inverse_update = Part(ASSIGNMENT, "bfgs_inverse_update",
                           forbid=("hessian_lab", "scipy.optimize"))
bfgs_minimize = Part(ASSIGNMENT, "bfgs_minimize",
                     forbid=(*_OPTIMIZERS, "hessian_lab.bfgs_update", "hessian_lab.two_loop",
                             "scipy.optimize"))
two_loop_direction = Part(ASSIGNMENT, "two_loop_direction",
                          forbid=("hessian_lab", "scipy.optimize"))
lbfgs_memory_update = Part(ASSIGNMENT, "lbfgs_memory_update", forbid=("hessian_lab",))


def _direct_bfgs(B, s, y):
    """The BFGS update of a *Hessian* approximation (Nocedal & Wright's B_k)."""
    Bs = B @ s
    return B - np.outer(Bs, Bs) / (s @ Bs) + np.outer(y, y) / (y @ s)


def _bfgs_variants(B, s, y):
    rho = 1.0 / (y @ s)
    identity = np.eye(s.size)
    return [
        (lambda: _direct_bfgs(B, s, y), "this is the BFGS update of an approximation of the "
         "Hessian (Nocedal & Wright's B_k, with B_new s = y). In this book B approximates the "
         "INVERSE Hessian: B_new = (I - rho s y^T) B (I - rho y s^T) + rho s s^T, "
         "rho = 1 / (y^T s), so that B_new y = s."),
        (lambda: _ref_bfgs_update(B, y, s), "s and y are swapped: s = x_new - x_old is the "
         "step, y = g_new - g_old the change of the gradient; the result must satisfy "
         "B_new y = s."),
        (lambda: (identity - rho * np.outer(s, y)) @ B @ (identity - rho * np.outer(s, y))
         + rho * np.outer(s, s), "the right-hand factor is not transposed: it is "
         "(I - rho y s^T), the transpose of the left one (so B_new stays symmetric)."),
        (lambda: (identity - rho * np.outer(s, y)) @ B @ (identity - rho * np.outer(y, s)),
         "the last term rho s s^T is missing."),
        (lambda: B - np.outer(B @ y, B @ y) / (y @ B @ y) + np.outer(s, s) / (y @ s),
         "that is the DFP update of the inverse, not BFGS."),
        (lambda: _bfgs_with_rho(B, s, y, 1.0 / (s @ s)), "rho is 1 / (y^T s), not 1 / (s^T s)."),
        (lambda: _bfgs_with_rho(B, s, y, 1.0 / (y @ y)), "rho is 1 / (y^T s), not 1 / (y^T y)."),
    ]


def _bfgs_with_rho(B, s, y, rho):
    identity = np.eye(s.size)
    left = identity - rho * np.outer(s, y)
    return left @ B @ left.T + rho * np.outer(s, s)


def _run_bfgs_update(fn, B, s, y, label=""):
    name = "bfgs_inverse_update"
    B, s, y = _array(B, dtype=float), _array(s, dtype=float), _array(y, dtype=float)
    got = _call(name, fn, B.copy(), s.copy(), y.copy(),
                convert=lambda v: _to_array(v, name, "B_new", ndim=2))
    inputs = _inputs(B=B, s=s, y=y) + (f"\n  ({label})" if label else "")
    _compare(name, got, _ref_bfgs_update(B, s, y), inputs=inputs,
             variants=_bfgs_variants(B, s, y), rtol=1e-8, atol=1e-10, what="B_new")


@bfgs_inverse_update.test("bfgs_update_secant", "symmetry and the secant condition")
def _t_bu_secant(fn=None):
    name = "bfgs_inverse_update"
    B, s, y = np.eye(2), _array([1.0, 0.0]), _array([2.0, 1.0])
    got = _call(name, fn, B.copy(), s.copy(), y.copy(),
                convert=lambda v: _to_array(v, name, "B_new", ndim=2))
    inputs = _inputs(B=B, s=s, y=y)
    if got.shape != (2, 2) or not _isfinite(got).all():
        raise _Fail(f"{name} returned {_fmt(got)} (shape {got.shape}) for\n{inputs}\nexpected a "
                    "finite 2 x 2 matrix.")
    if _float(_absolute(got - got.T).max()) > 1e-10:
        raise _Fail(f"{name}'s B_new is not symmetric for\n{inputs}\n  got: {_fmt(got)}\n"
                    "Likely mistake: the right-hand factor must be the transpose of the left "
                    "one: (I - rho s y^T) B (I - rho y s^T).")
    if not _close(got @ y, s, 1e-8, 1e-10):
        cause = ("B_new s = y holds instead: this is the update of the Hessian approximation "
                 "(or s and y are swapped). In this book B approximates the INVERSE Hessian, so "
                 "the secant condition is B_new y = s."
                 if _close(got @ s, y, 1e-8, 1e-10) else
                 "check the formula B_new = (I - rho s y^T) B (I - rho y s^T) + rho s s^T.")
        raise _Fail(f"{name}'s B_new does not satisfy the secant condition B_new y = s for\n"
                    f"{inputs}\n  B_new y = {_fmt(got @ y)}, s = {_fmt(s)}\nLikely mistake: "
                    + cause)


@bfgs_inverse_update.test("bfgs_update_fixed", "fixed input")
def _t_bu_fixed(fn=None):
    _run_bfgs_update(fn, [[2.0, 0.5], [0.5, 1.0]], [0.5, -0.2], [1.0, 0.3])
    _run_bfgs_update(fn, [[1.0, 0.2, 0.0], [0.2, 2.0, 0.3], [0.0, 0.3, 1.5]], [0.1, 0.4, -0.3],
                     [0.5, 0.9, -0.2])


@bfgs_inverse_update.test("bfgs_update_hidden", "random input", hidden=True)
def _t_bu_hidden(fn=None):
    rng = _rng("bfgs_update_hidden")
    for n in (5, 3):
        B = _planted(rng, rng.uniform(0.5, 3.0, size=n))
        A = _planted(rng, rng.uniform(0.5, 3.0, size=n))
        s = rng.normal(size=n)
        _run_bfgs_update(fn, B, s, A @ s, "random; y^T s > 0")


@bfgs_inverse_update.test("bfgs_update_curvature", "the curvature condition")
def _t_bu_curvature(fn=None):
    name = "bfgs_inverse_update"
    for s, y in (([1.0, 0.0], [-1.0, 0.5]), ([1.0, 0.0], [0.0, 1.0])):
        B, s, y = np.eye(2), _array(s), _array(y)
        outcome = _call(name, fn, B.copy(), s.copy(), y.copy(), expect=(ValueError,))
        if not _isinstance(outcome, ValueError):
            raise _Fail(f"{name} returned an update for\n{_inputs(B=B, s=s, y=y)}\nwhere "
                        f"y^T s = {_float(y @ s):g} <= 0.\nLikely mistake: the forgotten "
                        "curvature check. The update needs y^T s > 0 to keep B positive "
                        "definite (and rho = 1 / y^T s finite): raise ValueError otherwise.")


def _is_pair(value) -> bool:
    """Any sequence of two items, as a reasonable grader accepts where a tuple is asked:
    a tuple, a list, a numpy array, ... (not a string, a dict or a set)."""
    if _isinstance(value, (str, bytes, dict, set, frozenset)):
        return False
    try:
        return _len(value) == 2 and _len(list(value)) == 2
    except TypeError:
        return False


def _student_minimize(value, name, n):
    if not _is_pair(value):
        raise _Fail(f"{name} returned {_describe_type(value)} {_short(value)}; return a tuple "
                    "(x, nit): the final point and the number of iterations.")
    value = tuple(value)
    x = _to_array(value[0], name, "x", ndim=1)
    if x.size != n:
        raise _Fail(f"{name} returned x of length {x.size}; expected {n}.")
    return x, _to_int(value[1], name, "nit")


def _run_bfgs_minimize(fn, f, grad, x0, label, max_iter=200, target=None, gtol=1e-5):
    name = "bfgs_minimize"
    x0 = _array(x0, dtype=float)
    x, nit = _call(name, fn, f, grad, x0.copy(), 1e-6, max_iter,
                   convert=lambda v: _student_minimize(v, name, x0.size))
    inputs = _inputs(f=label, x0=x0, tol=1e-6, max_iter=max_iter)
    gnorm = _float(_absolute(_asarray(grad(x), dtype=float)).max())
    problem = ""
    if not 0 <= nit <= max_iter:
        problem = f"nit = {nit} is outside 0 ... max_iter = {max_iter}"
    elif not math.isfinite(gnorm) or gnorm > gtol:
        problem = f"||grad f(x)||_inf = {gnorm:.3g} at the returned x = {_fmt(x)} (after {nit} " \
                  f"iterations); expected <= {gtol:g}"
    elif target is not None and not _close(x, target, 0, 1e-4):
        problem = f"x = {_fmt(x)}, expected {_fmt(target)}"
    if problem:
        raise _Fail(f"{name} did not converge for\n{inputs}\n  {problem}.\nCommon causes: the "
                    "direction must be p = -B g (B approximates the INVERSE Hessian: no solve); "
                    "s = x_new - x_old and y = g_new - g_old; skip the update when y^T s <= 0; "
                    "backtrack alpha = 1, 1/2, ... until f decreases enough (Armijo).")


@bfgs_minimize.test("bfgs_minimize_quadratic", "an ill-conditioned quadratic")
def _t_bm_quadratic(fn=None):
    prob = _quadratic(10.0, n=4, rng=0)
    _run_bfgs_minimize(fn, prob.f, prob.grad, prob.x0, "x^T A x / 2, kappa(A) = 10, n = 4",
                       target=np.zeros(4))


@bfgs_minimize.test("bfgs_minimize_rosenbrock", "Rosenbrock")
def _t_bm_rosenbrock(fn=None):
    prob = _rosenbrock()
    _run_bfgs_minimize(fn, prob.f, prob.grad, prob.x0, "Rosenbrock", target=np.ones(2),
                       gtol=1e-4)


@bfgs_minimize.test("bfgs_minimize_hidden", "random convex functions", hidden=True)
def _t_bm_hidden(fn=None):
    rng = _rng("bfgs_minimize_hidden")
    for n in (6, 3):
        prob = _ConvexQuartic.random(rng, n)
        _run_bfgs_minimize(fn, prob.f, prob.grad, rng.uniform(-2.0, 2.0, size=n),
                           f"a random strictly convex function of {n} variables")


def _two_loop_variant(g, s_list, y_list, gamma, first_reversed=False, second_reversed=False,
                      gamma_power=1.0):
    m = _len(s_list)
    rho = [1.0 / (y @ s) for s, y in zip(s_list, y_list, strict=True)]
    q = _array(g, dtype=float)
    a = [0.0] * m
    order = list(range(m)) if first_reversed else list(reversed(range(m)))
    for i in order:
        a[i] = rho[i] * (s_list[i] @ q)
        q = q - a[i] * y_list[i]
    r = gamma**gamma_power * q
    order = list(reversed(range(m))) if second_reversed else list(range(m))
    for i in order:
        b = rho[i] * (y_list[i] @ r)
        r = r + (a[i] - b) * s_list[i]
    return r


def _two_loop_variants(g, s_list, y_list, gamma):
    expected = _ref_two_loop(g, s_list, y_list, gamma)
    return [
        (lambda: -expected, "the sign: the recursion returns r = B g; the L-BFGS step is "
         "p = -r, and the caller negates it."),
        (lambda: _two_loop_variant(g, s_list, y_list, gamma, second_reversed=True), "the second "
         "loop must run from the OLDEST pair to the newest (the first loop runs newest to "
         "oldest)."),
        (lambda: _two_loop_variant(g, s_list, y_list, gamma, first_reversed=True), "the first "
         "loop must run from the NEWEST pair to the oldest."),
        (lambda: _two_loop_variant(g, s_list, y_list, gamma, True, True), "both loops run in the "
         "wrong order: first newest -> oldest, then oldest -> newest."),
        (lambda: _two_loop_variant(g, s_list, y_list, gamma, gamma_power=0.0), "gamma is "
         "ignored: between the loops r = gamma q (B_0 = gamma I)."),
        (lambda: _two_loop_variant(g, s_list, y_list, gamma, gamma_power=-1.0), "gamma divides "
         "where it should multiply: r = gamma q."),
        (lambda: _two_loop_variant(g, y_list, s_list, 1.0 / gamma), "s and y are swapped: that "
         "computes the product with the Hessian approximation, not with its inverse B."),
    ]


def _run_two_loop(fn, g, s_list, y_list, gamma, label):
    name = "two_loop_direction"
    g = _array(g, dtype=float)
    s_list = [_array(s, dtype=float) for s in s_list]
    y_list = [_array(y, dtype=float) for y in y_list]
    got = _call(name, fn, g.copy(), [s.copy() for s in s_list], [y.copy() for y in y_list],
                _float(gamma), convert=lambda v: _to_array(v, name, "r = B g", ndim=1))
    expected = _ref_two_loop(g, s_list, y_list, gamma)
    if g.size > 50:
        inputs = f"  ({label})"
    else:
        inputs = _inputs(g=g, gamma=gamma) + f"\n  ({label})\n  s_list = " + "; ".join(
            _fmt(s) for s in s_list) + "\n  y_list = " + "; ".join(_fmt(y) for y in y_list)
    _compare(name, got, expected, inputs=inputs,
             variants=_two_loop_variants(g, s_list, y_list, gamma) if g.size <= 50 else (),
             rtol=1e-8, atol=1e-10, what="r = B g")


def _random_pairs(rng, n, m):
    A = _planted(rng, rng.uniform(0.5, 4.0, size=n))
    s_list = [rng.normal(size=n) for _ in range(m)]
    return s_list, [A @ s + 0.05 * rng.normal(size=n) for s in s_list]


@two_loop_direction.test("two_loop_one_pair", "one pair")
def _t_tl_one(fn=None):
    _run_two_loop(fn, [1.0, -2.0, 0.5], [[0.4, 0.1, -0.2]], [[1.0, 0.5, -0.1]], 0.5,
                  "m = 1 pair")


@two_loop_direction.test("two_loop_fixed", "three pairs")
def _t_tl_fixed(fn=None):
    s_list = [[0.5, 0.1, -0.3, 0.2], [-0.2, 0.4, 0.1, 0.0], [0.1, -0.1, 0.3, 0.5]]
    y_list = [[1.2, 0.3, -0.5, 0.4], [-0.3, 1.1, 0.2, 0.1], [0.2, -0.2, 0.9, 1.4]]
    _run_two_loop(fn, [1.0, 0.5, -1.0, 2.0], s_list, y_list, 0.7, "m = 3 pairs, oldest first")


@two_loop_direction.test("two_loop_hidden", "random pairs", hidden=True)
def _t_tl_hidden(fn=None):
    rng = _rng("two_loop_hidden")
    s_list, y_list = _random_pairs(rng, 8, 5)
    gamma = _float((s_list[-1] @ y_list[-1]) / (y_list[-1] @ y_list[-1]))
    _run_two_loop(fn, rng.normal(size=8), s_list, y_list, gamma, "m = 5 random pairs")


@two_loop_direction.test("two_loop_large", "n = 200000 without forming B")
def _t_tl_large(fn=None):
    rng = np.random.default_rng(7)
    n = 200_000
    s_list = [rng.normal(size=n) for _ in range(5)]
    y_list = [2.0 * s + 0.1 * rng.normal(size=n) for s in s_list]
    _run_two_loop(fn, rng.normal(size=n), s_list, y_list, 0.5,
                  "n = 200000, m = 5: a dense B would need 320 GB")


def _student_memory(value, name):
    if not _is_pair(value):
        raise _Fail(f"{name} returned {_describe_type(value)}; return a tuple "
                    "(s_list, y_list) of two lists.")
    value = tuple(value)
    lists = []
    for k, part in enumerate(value):
        if _isinstance(part, np.ndarray) and part.ndim == 2:
            part = list(part)
        if not _isinstance(part, (list, tuple)):
            raise _Fail(f"{name}: {'s_list' if k == 0 else 'y_list'} should be a list of "
                        f"vectors, got {_describe_type(part)}.")
        lists.append([_to_array(v, name, "each stored vector", ndim=1) for v in part])
    return lists


def _run_memory(fn, s_list, y_list, s, y, m, expected_s, label, hint=""):
    name = "lbfgs_memory_update"
    got = _call(name, fn, [_array(v) for v in s_list], [_array(v) for v in y_list], _array(s),
                _array(y), m, convert=lambda v: _student_memory(v, name))
    inputs = (f"  s_list = {[_fmt(v) for v in s_list]}\n  new pair s = {_fmt(s)}, y = {_fmt(y)}"
              f"\n  m = {m} ({label})")
    got_s, got_y = got

    def ids(vectors, pool):
        out = []
        for v in vectors:
            match = [k for k, p in enumerate(pool) if p.shape == v.shape and _close(v, p, 0, 0)]
            out.append(match[0] if match else -1)
        return out

    pool_s = [_array(v) for v in list(s_list) + [s]]
    pool_y = [_array(v) for v in list(y_list) + [y]]
    want = ids([_array(v) for v in expected_s], pool_s)
    have_s, have_y = ids(got_s, pool_s), ids(got_y, pool_y)
    if have_s == want and have_y == want:
        return
    names = [f"s_old{k + 1}" for k in range(_len(s_list))] + ["s_new"]
    show = lambda idx: "[" + ", ".join(names[k] if k >= 0 else "?" for k in idx) + "]"  # noqa: E731
    text = (f"{name} keeps the wrong pairs for\n{inputs}\n  expected s_list: {show(want)}\n"
            f"  got s_list:      {show(have_s)}")
    if have_s != have_y:
        text += f"\n  got y_list:      {show(have_y)} (the lists must stay paired)"
    cause = hint
    if _len(have_s) == _len(s_list) + 1 and _len(s_list) == m:
        cause = "the memory grew beyond m pairs: drop the oldest pair (index 0) first."
    elif have_s and have_s[-1] == _len(s_list) and want[-1] != _len(s_list):
        cause = ("the new pair was stored although y^T s = "
                 f"{_float(_array(y) @ _array(s)):g} <= 0: the forgotten curvature check "
                 "(such a pair would make B indefinite).")
    elif _len(have_s) == m and have_s[:-1] == list(range(m - 1)) and have_s[-1] == _len(s_list):
        cause = "the newest stored pair was dropped; drop the OLDEST (index 0) instead."
    if cause:
        text += "\nLikely mistake: " + cause
    raise _Fail(text)


@lbfgs_memory_update.test("memory_append", "below capacity")
def _t_mem_append(fn=None):
    s1, y1 = _array([1.0, 0.0]), _array([2.0, 0.5])
    s2, y2 = _array([0.0, 1.0]), _array([0.3, 1.5])
    _run_memory(fn, [], [], s1, y1, 3, [s1], "empty memory")
    _run_memory(fn, [s1], [y1], s2, y2, 3, [s1, s2], "one pair stored; oldest first")


@lbfgs_memory_update.test("memory_evict", "at capacity")
def _t_mem_evict(fn=None):
    s1, y1 = _array([1.0, 0.0]), _array([2.0, 0.5])
    s2, y2 = _array([0.0, 1.0]), _array([0.3, 1.5])
    s3, y3 = _array([1.0, 1.0]), _array([1.0, 2.0])
    _run_memory(fn, [s1, s2], [y1, y2], s3, y3, 2, [s2, s3], "full: m = 2 pairs stored")


@lbfgs_memory_update.test("memory_curvature", "a pair with y^T s <= 0")
def _t_mem_curvature(fn=None):
    s1, y1 = _array([1.0, 0.0]), _array([2.0, 0.5])
    s2, y2 = _array([0.0, 1.0]), _array([0.3, -1.5])
    _run_memory(fn, [s1], [y1], s2, y2, 3, [s1], "y^T s = -1.5 for the new pair",
                hint="the new pair was stored although y^T s <= 0: skip it.")

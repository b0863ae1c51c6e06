"""The checks of assignment 03_newton."""

from __future__ import annotations

import math

import numpy as np

from ..optimizers import gradient_descent as _ref_gradient_descent
from ..optimizers import newton as _ref_newton
from ..problems import himmelblau as _himmelblau
from ..problems import quadratic as _quadratic
from ..problems import rosenbrock as _rosenbrock
from ..problems import seed_bowl as _seed_bowl
from ..problems import seed_quartic as _seed_quartic
from .a02_classifying import _planted
from .calls import _call
from .compare import (
    _close,
    _compare,
    _fmt,
    _inputs,
    _rng,
    _scale,
    _short,
    _to_array,
    _to_float,
    _to_int,
    _variant,
)
from .forbidden import _INVERSES, _OPTIMIZERS
from .registry import Part
from .session import (
    _absolute,
    _array,
    _asarray,
    _describe_type,
    _errstate,
    _Fail,
    _float,
    _isfinite,
    _isinstance,
    _len,
)

ASSIGNMENT = "03_newton"

newton_step = Part(ASSIGNMENT, "newton_step", forbid=("hessian_lab", *_INVERSES, "scipy.optimize"))
newton_iterate = Part(ASSIGNMENT, "newton_iterate",
                      forbid=("hessian_lab", *_INVERSES, "scipy.optimize"))
newton_globalized = Part(ASSIGNMENT, "newton_globalized",
                         forbid=("hessian_lab", *_INVERSES, "scipy.optimize"))
convergence_order = Part(ASSIGNMENT, "convergence_order", forbid=("hessian_lab",))
race = Part(ASSIGNMENT, "race", forbid=(*_OPTIMIZERS, "scipy.optimize"))


def _newton_step_variants(g, H):
    return [
        (lambda: np.linalg.solve(H, g), "the sign of the Newton step: it solves H p = -g "
         "(minus!), so that p points downhill when H is positive definite."),
        (lambda: -H @ g, "H is used where its inverse belongs: p = -H^-1 g, i.e. solve "
         "H p = -g (np.linalg.solve(H, -g)), not -H @ g."),
        (lambda: H @ g, "H is used where its inverse belongs (and the sign is wrong): solve "
         "H p = -g."),
        (lambda: -g, "that is the steepest-descent step -g; Newton's step also uses the "
         "curvature: solve H p = -g."),
        (lambda: -g / np.diag(H), "diagonal-only reasoning: dividing by the diagonal of H "
         "ignores the off-diagonal curvature; solve the full system H p = -g."),
        (lambda: -np.linalg.solve(H, g) / 2, "a stray "
         "factor 1/2: the Newton step minimises g^T p + p^T H p / 2, which gives H p = -g."),
    ]


def _run_newton_step(fn, g, H, label=""):
    name = "newton_step"
    g, H = _array(g, dtype=float), _array(H, dtype=float)
    got = _call(name, fn, g.copy(), H.copy(),
                convert=lambda v: _to_array(v, name, "the step p"))
    expected = np.linalg.solve(H, -g)
    inputs = _inputs(g=g, H=H) + (f"\n  ({label})" if label else "")
    if got.shape != expected.shape and got.size == expected.size:
        raise _Fail(f"{name} returned shape {got.shape} for\n{inputs}\nexpected a 1-D array "
                    f"of shape {expected.shape} (like g). Pass g as it is to np.linalg.solve, "
                    "without reshaping it into a column.")
    _compare(name, got, expected, inputs=inputs, variants=_newton_step_variants(g, H),
             rtol=1e-8, atol=1e-10, what="step p")


@newton_step.test("newton_step_shape", "shape")
def _t_ns_shape(fn=None):
    g, H = _array([1.0, 2.0]), _array([[4.0, 1.0], [1.0, 3.0]])
    got = _call("newton_step", fn, g.copy(), H.copy(),
                convert=lambda v: _to_array(v, "newton_step", "the step p"))
    if got.shape != (2,):
        raise _Fail(f"newton_step returned shape {got.shape} for\n{_inputs(g=g, H=H)}\n"
                    "expected a 1-D array of shape (2,), like g.")
    if not _isfinite(got).all():
        raise _Fail(f"newton_step returned NaN or inf for\n{_inputs(g=g, H=H)}")


@newton_step.test("newton_step_fixed", "fixed input")
def _t_ns_fixed(fn=None):
    _run_newton_step(fn, [1.0, 2.0], [[4.0, 1.0], [1.0, 3.0]])
    _run_newton_step(fn, [1.0, -1.0, 2.0], [[2.0, 0.0, 1.0], [0.0, -3.0, 0.0], [1.0, 0.0, 1.0]],
                     "an indefinite H: the Newton step is still -H^-1 g")


@newton_step.test("newton_step_hidden", "random input", hidden=True)
def _t_ns_hidden(fn=None):
    rng = _rng("newton_step_hidden")
    for n in (5, 3):
        values = rng.uniform(0.5, 5.0, size=n) * rng.choice([-1.0, 1.0], size=n)
        _run_newton_step(fn, rng.normal(size=n), _planted(rng, values), "random")


@newton_step.test("newton_step_singular", "singular H")
def _t_ns_singular(fn=None):
    for g, H in (([1.0, 2.0], [[1.0, 1.0], [1.0, 1.0]]), ([1.0, 0.0], [[2.0, 0.0], [0.0, 0.0]])):
        g, H = _array(g), _array(H)
        outcome = _call("newton_step", fn, g.copy(), H.copy(), expect=(ValueError,))
        if not _isinstance(outcome, ValueError):
            raise _Fail(f"newton_step returned {_short(outcome)} for a singular H:\n"
                        f"{_inputs(g=g, H=H)}\nH p = -g has no unique solution here, so there "
                        "is no Newton step: let it raise ValueError (np.linalg.solve raises "
                        "LinAlgError, a ValueError, by itself; a pseudo-inverse or lstsq hides "
                        "the problem).")


def _student_path(value, name, n):
    path = _to_array(value, name, "the path")
    if path.ndim == 1 and path.size == n:
        raise _Fail(f"{name} returned a single point {_fmt(path)}; return the whole path: an "
                    "array of shape (k + 1, n) whose rows are x_0, x_1, ..., x_k.")
    if path.ndim != 2 or path.shape[1] != n or path.shape[0] < 1:
        raise _Fail(f"{name} returned an array of shape {path.shape}; the path should have "
                    f"shape (k + 1, {n}): one row per iterate, starting with x_0.")
    return path


def _run_newton_iterate(fn, prob, x0, tol, max_iter, label):
    name = "newton_iterate"
    x0 = _array(x0, dtype=float)
    got = _call(name, fn, prob.grad, prob.hess, x0.copy(), tol, max_iter,
                convert=lambda v: _student_path(v, name, x0.size))
    with _errstate(all="ignore"):
        ref = _ref_newton(prob.f, prob.grad, prob.hess, x0, globalize=False, tol=tol,
                          max_iter=max_iter)
    expected = ref.path
    inputs = _inputs(f=label, x0=x0, tol=tol, max_iter=max_iter)
    if not _close(got[0], x0, 0, 0):
        cause = ""
        if expected.shape[0] > 1 and _close(got[0], expected[1], 1e-8, 1e-10):
            cause = "\nLikely mistake: the path must start with x0 itself."
        raise _Fail(f"{name}'s path does not start at x0 for\n{inputs}\n  first row: "
                    f"{_fmt(got[0])}{cause}")
    if got.shape != expected.shape:
        agree = min(got.shape[0], expected.shape[0])
        same = _close(got[:agree], expected[:agree], 1e-6, 1e-9 * max(1.0, _scale(expected)))
        text = (f"{name} took {got.shape[0] - 1} steps for\n{inputs}\nthe reference takes "
                f"{expected.shape[0] - 1} (final iterate {_fmt(expected[-1])}).")
        if same:
            text += ("\nLikely mistake: the stopping rule. Stop as soon as "
                     "||grad f(x_k)||_inf <= tol (test before taking a step), and never take "
                     "more than max_iter steps.")
            raise _Fail(text)
        if got.shape[0] > 1 and expected.shape[0] > 1:
            _first_step_diagnosis(name, got, expected, prob, x0, inputs)
        raise _Fail(text)
    _compare(name, got, expected, inputs=inputs, rtol=1e-6, atol=1e-9, what="path",
             fallback=lambda: _first_step_cause(got, prob, x0))


def _first_step_cause(got, prob, x0) -> str:
    if got.shape[0] < 2:
        return ""
    g, H = prob.grad(x0), prob.hess(x0)
    step = got[1] - x0
    for candidate, message in _newton_step_variants(g, H)[:5]:
        value = _variant(candidate)
        if value is not None and _close(step, value, 1e-6, 1e-9):
            return "the first step: " + message
    return ""


def _first_step_diagnosis(name, got, expected, prob, x0, inputs):
    cause = _first_step_cause(got, prob, x0)
    if cause:
        raise _Fail(f"{name} follows the wrong path for\n{inputs}\n  expected x_1: "
                    f"{_fmt(expected[1])}\n  got x_1:      {_fmt(got[1])}\nLikely mistake: "
                    + cause)


class _Sqrt2D:
    """f(x, y) = sqrt(1 + x^2) + sqrt(1 + y^2): pure Newton diverges from |x| > 1."""

    @staticmethod
    def f(z):
        return _float(np.sum(np.sqrt(1.0 + _asarray(z, dtype=float) ** 2)))

    @staticmethod
    def grad(z):
        z = _asarray(z, dtype=float)
        return z / np.sqrt(1.0 + z**2)

    @staticmethod
    def hess(z):
        z = _asarray(z, dtype=float)
        return np.diag((1.0 + z**2) ** -1.5)


class _ConvexQuartic:
    """f(x) = x^T A x / 2 + sum((x - c)^4) / 4 - b^T x, strictly convex."""

    def __init__(self, A, b, c):
        self.A, self.b, self.c = A, b, c

    def f(self, x):
        x = _asarray(x, dtype=float)
        return _float(x @ self.A @ x / 2 + np.sum((x - self.c) ** 4) / 4 - self.b @ x)

    def grad(self, x):
        x = _asarray(x, dtype=float)
        return self.A @ x + (x - self.c) ** 3 - self.b

    def hess(self, x):
        x = _asarray(x, dtype=float)
        return self.A + 3 * np.diag((x - self.c) ** 2)

    @classmethod
    def random(cls, rng, n):
        return cls(_planted(rng, rng.uniform(1.0, 4.0, size=n)), rng.normal(size=n),
                   0.5 * rng.normal(size=n))


@newton_iterate.test("newton_iterate_quadratic", "a quadratic")
def _t_ni_quadratic(fn=None):
    _run_newton_iterate(fn, _seed_bowl(), [1.0, 1.0], 1e-10, 50,
                        "x^2 + xy + y^2 (one Newton step reaches the minimum)")


@newton_iterate.test("newton_iterate_rosenbrock", "Rosenbrock")
def _t_ni_rosenbrock(fn=None):
    _run_newton_iterate(fn, _rosenbrock(), [-1.2, 1.0], 1e-10, 50, "Rosenbrock")


@newton_iterate.test("newton_iterate_stopping", "stopping rules")
def _t_ni_stopping(fn=None):
    _run_newton_iterate(fn, _seed_quartic(), [2.0, 1.5], 1e-6, 50, "x^4 + y^4 - 4xy")
    _run_newton_iterate(fn, _Sqrt2D, [1.5, 1.5], 1e-10, 3,
                        "sqrt(1 + x^2) + sqrt(1 + y^2), where pure Newton diverges: "
                        "max_iter = 3 must stop it")


@newton_iterate.test("newton_iterate_hidden", "random convex functions", hidden=True)
def _t_ni_hidden(fn=None):
    rng = _rng("newton_iterate_hidden")
    for n in (4, 3):
        prob = _ConvexQuartic.random(rng, n)
        _run_newton_iterate(fn, prob, rng.uniform(-1.0, 1.0, size=n), 1e-10, 50,
                            f"a random strictly convex function of {n} variables")


def _run_globalized(fn, prob, x0, label, max_iter=100):
    name = "newton_globalized"
    x0 = _array(x0, dtype=float)
    path = _call(name, fn, prob.f, prob.grad, prob.hess, x0.copy(), 1e-8, max_iter,
                 convert=lambda v: _student_path(v, name, x0.size))
    inputs = _inputs(f=label, x0=x0, tol=1e-8, max_iter=max_iter)
    if not _close(path[0], x0, 0, 0):
        raise _Fail(f"{name}'s path does not start at x0 for\n{inputs}\n  first row: "
                    f"{_fmt(path[0])}")
    if not _isfinite(path).all():
        raise _Fail(f"{name}'s path contains NaN or inf for\n{inputs}\nLikely mistake: a step "
                    "that was not shortened: backtrack (halve alpha) until f decreases enough.")
    values = [prob.f(x) for x in path]
    for k in range(_len(values) - 1):
        if values[k + 1] > values[k] + 1e-12 * max(1.0, abs(values[k])):
            raise _Fail(f"{name}: f increased from {values[k]:.6g} to {values[k + 1]:.6g} at "
                        f"step {k + 1} for\n{inputs}\nLikely mistake: no line search. A "
                        "globalised Newton method backtracks: try alpha = 1, 1/2, 1/4, ... "
                        "until f(x + alpha p) <= f(x) + c1 alpha g^T p (Armijo, c1 = 1e-4).")
    x = path[-1]
    gnorm = _float(_absolute(prob.grad(x)).max())
    eigenvalues = np.linalg.eigvalsh(prob.hess(x))
    if gnorm <= 1e-6 and eigenvalues[0] <= 1e-8:
        raise _Fail(f"{name} stopped at {_fmt(x)}, a critical point that is not a minimum "
                    f"(eigenvalues of H there: {_fmt(eigenvalues)}), for\n{inputs}\nLikely "
                    "mistake: the Hessian is used unmodified. Where H is not positive definite "
                    "(its Cholesky factorisation fails), solve with H + tau I instead, "
                    "increasing tau until the factorisation succeeds, so that p is a descent "
                    "direction.")
    if gnorm > 1e-6:
        raise _Fail(f"{name} did not converge for\n{inputs}\n  final x = {_fmt(x)} after "
                    f"{_len(path) - 1} steps, ||grad f||_inf = {gnorm:.3g} (expected <= 1e-6)."
                    "\nCheck the stopping test, the shift of H and the line search.")


@newton_globalized.test("newton_globalized_quartic", "escaping the saddle of x^4 + y^4 - 4xy")
def _t_ng_quartic(fn=None):
    _run_globalized(fn, _seed_quartic(), [0.3, 0.2],
                    "x^4 + y^4 - 4xy (pure Newton from here goes to the saddle (0, 0))")


@newton_globalized.test("newton_globalized_rosenbrock", "Rosenbrock")
def _t_ng_rosenbrock(fn=None):
    _run_globalized(fn, _rosenbrock(), [-1.2, 1.0], "Rosenbrock")


@newton_globalized.test("newton_globalized_hidden", "Himmelblau from random starts", hidden=True)
def _t_ng_hidden(fn=None):
    rng = _rng("newton_globalized_hidden")
    prob = _himmelblau()
    for _ in range(3):
        _run_globalized(fn, prob, rng.uniform(-4.0, 4.0, size=2), "Himmelblau's function")


def _order_estimate(errors) -> float:
    e = [abs(_float(v)) for v in errors]
    return math.log(e[-1] / e[-2]) / math.log(e[-2] / e[-3])


def _run_order(fn, errors, label):
    name = "convergence_order"
    errors = [_float(v) for v in errors]
    got = _call(name, fn, list(errors),
                convert=lambda v: _to_float(v, name, "the order q"))
    expected = _order_estimate(errors)
    e = errors
    variants = [
        (lambda: 1.0 / expected, "the ratio is upside down: q = log(e_{k+1}/e_k) / "
         "log(e_k/e_{k-1})."),
        (lambda: math.log(e[-1]) / math.log(e[-2]), "q = log(e_{k+1}) / log(e_k) is only right "
         "when the constant C in e_{k+1} = C e_k^q is 1; the ratio of ratios, log(e_{k+1}/e_k) "
         "/ log(e_k/e_{k-1}), cancels C."),
        (lambda: _order_estimate(e[:3]), "the first three errors were used; the order is an "
         "asymptotic property: use the last three."),
        (lambda: math.log(e[-1] / e[-2]), "only the numerator log(e_{k+1}/e_k) was computed; "
         "divide it by log(e_k/e_{k-1})."),
    ]
    _compare(name, _array(got), expected, inputs=_inputs(errors=_array(errors)) + f"\n  ({label})",
             variants=variants, rtol=0.0, atol=0.02, what="order q")


@convergence_order.test("order_sequences", "model sequences")
def _t_co_sequences(fn=None):
    for q, C, e0, label in ((1.0, 0.5, 0.8, "linear, e_{k+1} = 0.5 e_k"),
                            (2.0, 3.0, 0.01, "quadratic, e_{k+1} = 3 e_k^2"),
                            (1.618, 1.0, 0.3, "superlinear, q = 1.618")):
        errors = [e0]
        for _ in range(3):
            errors.append(C * errors[-1] ** q)
        _run_order(fn, errors, label)
    _run_order(fn, [0.9, 0.5, 0.1, 1e-2, 1e-4, 1e-8], "a slow start, then quadratic")


@convergence_order.test("order_newton", "a Newton run")
def _t_co_newton(fn=None):
    x, errors = 0.5, [0.5]
    for _ in range(4):  # Newton for g(x) = x + x^2 = 0, root 0
        x = x - (x + x * x) / (1 + 2 * x)
        errors.append(abs(x))
    _run_order(fn, errors, "Newton's method on g(x) = x + x^2")


@convergence_order.test("order_hidden", "random sequences", hidden=True)
def _t_co_hidden(fn=None):
    rng = _rng("order_hidden")
    q = _float(rng.choice([1.0, 1.5, 2.0, 3.0]))
    C = _float(rng.uniform(0.2, 0.9)) if q == 1.0 else _float(rng.uniform(0.5, 4.0))
    errors = [_float(rng.uniform(0.01, 0.05))]
    for _ in range(3):
        errors.append(C * errors[-1] ** q)
    _run_order(fn, errors, f"e_(k+1) = {C:.3g} e_k^{q:g}")


def _race_reference(kappa, tol):
    prob = _quadratic(kappa)
    with _errstate(all="ignore"):
        gd = _ref_gradient_descent(prob.f, prob.grad, prob.x0, lr=1.0 / kappa, tol=tol,
                                   max_iter=10**7)
        nt = _ref_newton(prob.f, prob.grad, prob.hess, prob.x0, globalize=False, tol=tol)
    return {"newton": nt.nit, "gradient_descent": gd.nit}


def _student_race(value, name):
    if not _isinstance(value, dict):
        raise _Fail(f"{name} returned {_describe_type(value)}; return a dict "
                    "{'newton': ..., 'gradient_descent': ...} of iteration counts.")
    missing = [k for k in ("newton", "gradient_descent") if k not in value]
    if missing:
        raise _Fail(f"{name}'s dict has no key {missing[0]!r}; it needs 'newton' and "
                    "'gradient_descent'.")
    return {k: _to_int(value[k], name, f"the {k} iteration count")
            for k in ("newton", "gradient_descent")}


def _run_race(fn, kappa, tol):
    name = "race"
    got = _call(name, fn, kappa, tol, convert=lambda v: _student_race(v, name))
    expected = _race_reference(kappa, tol)
    if got == expected:
        return
    inputs = _inputs(kappa=kappa, tol=tol)
    text = (f"{name} gives the wrong counts for\n{inputs}\n  expected: {expected}\n"
            f"  got:      {got}")
    gd_got, gd_ref = got["gradient_descent"], expected["gradient_descent"]
    best = _race_reference_step(kappa, tol, 2.0 / (1.0 + kappa))
    if got["newton"] == expected["newton"] + 1 or gd_got == gd_ref + 1:
        text += ("\nLikely mistake: counting iterates instead of steps (x_0 is not a step), "
                 "or testing the gradient after the step instead of before.")
    elif got["newton"] == 0 or gd_got == gd_ref - 1:
        text += "\nLikely mistake: one step too few: stop only when ||grad||_inf <= tol."
    elif gd_got == best:
        text += ("\nLikely mistake: the step size. The race uses alpha = 1 / lambda_max = "
                 "1 / kappa (the optimal 2 / (lambda_min + lambda_max) is faster).")
    elif got["newton"] != expected["newton"]:
        text += ("\nLikely mistake: on a quadratic, Newton's method reaches the minimum in "
                 "one step (H p = -g is solved exactly).")
    raise _Fail(text)


def _race_reference_step(kappa, tol, lr):
    prob = _quadratic(kappa)
    with _errstate(all="ignore"):
        return _ref_gradient_descent(prob.f, prob.grad, prob.x0, lr=lr, tol=tol,
                                     max_iter=10**7).nit


@race.test("race_fixed", "kappa = 10 and 100")
def _t_race_fixed(fn=None):
    _run_race(fn, 10.0, 1e-8)
    _run_race(fn, 100.0, 1e-6)


@race.test("race_hidden", "a random condition number", hidden=True)
def _t_race_hidden(fn=None):
    rng = _rng("race_hidden")
    _run_race(fn, _float(np.round(rng.uniform(20.0, 300.0), 1)),
              _float(rng.choice([1e-5, 1e-6, 1e-8])))

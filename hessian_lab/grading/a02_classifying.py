"""The checks of assignment 02_classifying."""

from __future__ import annotations

import numpy as np

from ..curvature import classify as _ref_classify
from ..curvature import leading_minors as _ref_leading_minors
from ..curvature import second_derivative_test as _ref_second_derivative_test
from ..derivatives import critical_points as _ref_critical_points
from .a01_hessians import _symbolic_case
from .calls import _call
from .compare import _fmt, _inputs, _rng, _scale, _short, _to_label
from .registry import Part
from .session import _array, _describe_type, _Fail, _float, _isinstance, _len, _sympy

ASSIGNMENT = "02_classifying"

critical_points_of = Part(ASSIGNMENT, "critical_points_of", forbid=("hessian_lab",))
classify_eigen = Part(ASSIGNMENT, "classify_eigen", forbid=("hessian_lab",))
second_derivative_test_2d = Part(
    ASSIGNMENT, "second_derivative_test_2d",
    forbid=("hessian_lab", "numpy.linalg.eig", "numpy.linalg.eigh", "numpy.linalg.eigvals",
            "numpy.linalg.eigvalsh"))
definiteness_by_minors = Part(
    ASSIGNMENT, "definiteness_by_minors",
    forbid=("hessian_lab", "numpy.linalg.eig", "numpy.linalg.eigh", "numpy.linalg.eigvals",
            "numpy.linalg.eigvalsh", "numpy.linalg.cholesky", "scipy.linalg.eig",
            "scipy.linalg.eigh", "scipy.linalg.eigvals", "scipy.linalg.eigvalsh",
            "scipy.linalg.cholesky", "scipy.linalg.cho_factor"))


_KINDS = ("minimum", "maximum", "saddle", "inconclusive")
_DEFINITENESS = ("positive definite", "negative definite", "not definite")


def _student_points(value, variables, name) -> list[tuple[complex, ...]]:
    sympy = _sympy()
    if value is None:
        raise _Fail(f"{name} returned None: is the `return` statement missing?")
    if _isinstance(value, (str, bytes, dict)) or not _iterable(value):
        raise _Fail(f"{name} returned {_describe_type(value)}; return a list of points, each a "
                    "tuple of coordinates, e.g. [(0.0, 0.0), (1.0, 1.0)].")
    names = {v.name: v for v in variables}
    points = []
    for item in value:
        if _isinstance(item, dict):
            lookup = {(names.get(k, k) if _isinstance(k, str) else k): v for k, v in item.items()}
            if not all(v in lookup for v in variables):
                raise _Fail(f"{name} returned the point {_short(item)} without a value for "
                            "every variable.")
            coords = [lookup[v] for v in variables]
        else:
            try:
                coords = list(item)
            except TypeError:
                raise _Fail(f"{name} returned {_short(item)} as a point; each point should be "
                            f"a tuple of {_len(variables)} coordinates.") from None
        if _len(coords) != _len(variables):
            raise _Fail(f"{name} returned the point {_short(item)} with {_len(coords)} "
                        f"coordinates; expected {_len(variables)}.")
        try:
            points.append(tuple(complex(sympy.N(sympy.sympify(c), 30)) for c in coords))
        except (TypeError, ValueError, sympy.SympifyError):
            raise _Fail(f"{name} returned the point {_short(item)}, whose coordinates are not "
                        "numbers.") from None
    return points


def _iterable(value) -> bool:
    try:
        iter(value)
    except TypeError:
        return False
    return True


def _run_critical_points(fn, text, names):
    sympy = _sympy()
    name = "critical_points_of"
    expr, variables = _symbolic_case(text, names)
    got = _call(name, fn, expr, variables,
                convert=lambda v: _student_points(v, variables, name))
    expected = [tuple(_float(sympy.N(p[v], 30)) for v in variables)
                for p in _ref_critical_points(expr, variables)]
    inputs = _inputs(f=str(expr), variables=str(variables))
    complex_points = [p for p in got if any(abs(c.imag) > 1e-9 for c in p)]
    if complex_points:
        shown = ", ".join("(" + ", ".join(f"{c:.4g}" for c in p) + ")" for p in complex_points[:3])
        raise _Fail(f"{name} includes complex solutions for\n{inputs}\n  complex: {shown}\n"
                    "Likely mistake: sympy.solve returns complex roots too; keep only the real "
                    "critical points (check each coordinate's `.is_real`, or its imaginary part).")
    real = []
    for p in got:
        point = tuple(c.real for c in p)
        if not any(max(abs(a - b) for a, b in zip(point, q, strict=True)) < 1e-7 for q in real):
            real.append(point)

    def near(p, pool):
        return any(max(abs(a - b) for a, b in zip(p, q, strict=True))
                   < 1e-7 * max(1.0, max(map(abs, q)))
                   for q in pool)

    missing = [p for p in expected if not near(p, real)]
    extra = [p for p in real if not near(p, expected)]
    if missing or extra:
        text = f"{name} does not give the right critical points for\n{inputs}\n"
        text += "  expected: " + _point_list(expected) + "\n  got:      " + _point_list(real)
        if missing:
            text += "\n  missing:  " + _point_list(missing)
        if extra:
            grads = [sympy.Matrix([sympy.diff(expr, v) for v in variables]).subs(
                dict(zip(variables, p, strict=True))) for p in extra[:2]]
            text += "\n  not critical (gradient not zero): " + _point_list(extra) + "; gradient "
            text += ", ".join(_fmt(_array(g.evalf(), dtype=float).ravel()) for g in grads)
        if missing and not extra:
            text += ("\nLikely mistake: some solutions of grad f = 0 were dropped; solve all "
                     "equations df/dx_i = 0 together and keep every real solution.")
        raise _Fail(text)


def _point_list(points) -> str:
    if not points:
        return "(none)"
    return ", ".join("(" + ", ".join(f"{c:.6g}" for c in p) + ")" for p in points)


@critical_points_of.test("critical_points_fixed", "x^4 + y^4 - 4xy")
def _t_cp_fixed(fn=None):
    _run_critical_points(fn, "x**4 + y**4 - 4*x*y", "x y")


@critical_points_of.test("critical_points_more", "more functions")
def _t_cp_more(fn=None):
    _run_critical_points(fn, "x**3 - 3*x*y", "x y")
    _run_critical_points(fn, "x**2 + x*y + y**2 - 3*x", "x y")


@critical_points_of.test("critical_points_hidden", "random functions", hidden=True)
def _t_cp_hidden(fn=None):
    rng = _rng("critical_points_hidden")
    a = int(rng.integers(1, 4))
    b = int(rng.choice([-2, -1, 1, 2]))
    c = int(rng.integers(-2, 3))
    _run_critical_points(fn, f"x**3 - 3*{a**2}*x + ({b})*(y - ({c}))**2", "x y")
    d = int(rng.choice([1, 2, 3]))
    e = int(rng.integers(-2, 3))
    _run_critical_points(fn, f"x**3 - 3*{a**2}*x + ({b})*(y - ({c}))**2 + {d}*(z - ({e}))**2",
                         "x y z")


def _eig_kind(eigenvalues, tol) -> str:
    positive = any(v > tol for v in eigenvalues)
    negative = any(v < -tol for v in eigenvalues)
    if positive and negative:
        return "saddle"
    if all(v > tol for v in eigenvalues):
        return "minimum"
    if all(v < -tol for v in eigenvalues):
        return "maximum"
    return "inconclusive"


def _labels_check(name, fn, cases, expected, variants, make_args, show, allowed):
    """Run a labelling function on several cases; on a mismatch name the matching variant."""
    got = [_call(name, fn, *make_args(case), convert=lambda v: _to_label(v, name, allowed))
           for case in cases]
    wrong = [k for k in range(_len(cases)) if got[k] != expected[k]]
    if not wrong:
        return
    lines = [f"  {show(cases[k])}: expected {expected[k]!r}, got {got[k]!r}" for k in wrong[:4]]
    if _len(wrong) > 4:
        lines.append(f"  ... and {_len(wrong) - 4} more")
    text = f"{name} gives the wrong answer for {_len(wrong)} of {_len(cases)} cases:\n"
    text += "\n".join(lines)
    for rule, message in variants:
        try:
            predicted = [rule(case) for case in cases]
        except Exception:  # noqa: BLE001
            continue
        if predicted == got:
            text += "\nLikely mistake: " + message
            break
    raise _Fail(text)


def _matrix_text(H) -> str:
    return _fmt(H).replace("\n      ", " ")


_CLASSIFY_VARIANTS = [
    (lambda H: _eig_kind(np.diag(H), 1e-8), "diagonal-only reasoning: the signs of the "
     "diagonal entries do not decide. [[1, 2], [2, 1]] has a positive diagonal but eigenvalues "
     "-1 and 3: a saddle. Use the eigenvalues (numpy.linalg.eigvalsh)."),
    (lambda H: {"minimum": "maximum", "maximum": "minimum"}.get(
        _eig_kind(np.linalg.eigvalsh(H), 1e-8), _eig_kind(np.linalg.eigvalsh(H), 1e-8)),
     "minimum and maximum are swapped: all eigenvalues positive (H positive definite) means "
     "a minimum."),
    (lambda H: _eig_kind_nonstrict(np.linalg.eigvalsh(H), 1e-8), "an eigenvalue within tol "
     "of zero is counted as positive (or negative). Zero eigenvalues make the second-order "
     "test inconclusive unless other eigenvalues of both signs already make it a saddle."),
    (lambda H: _eig_kind(np.linalg.eigvalsh(H), 0.0), "the tolerance is ignored: eigenvalues "
     "with |lambda| <= tol count as zero (rounding noise), so they make the test "
     "inconclusive."),
]


def _eig_kind_nonstrict(eigenvalues, tol) -> str:
    if all(v >= -tol for v in eigenvalues) and any(v > tol for v in eigenvalues):
        return "minimum"
    if all(v <= tol for v in eigenvalues) and any(v < -tol for v in eigenvalues):
        return "maximum"
    return _eig_kind(eigenvalues, tol)


def _run_classify(fn, matrices, tol=1e-8):
    cases = [_array(H, dtype=float) for H in matrices]
    expected = [_ref_classify(H, tol=tol).kind for H in cases]
    _labels_check("classify_eigen", fn, cases, expected, _CLASSIFY_VARIANTS,
                  lambda H: (H.copy(), tol), lambda H: f"H = {_matrix_text(H)}", _KINDS)


@classify_eigen.test("classify_eigen_diagonal", "diagonal matrices")
def _t_ce_diagonal(fn=None):
    _run_classify(fn, [np.diag([1.0, 2.0]), np.diag([-1.0, -3.0]), np.diag([1.0, -1.0]),
                       np.diag([3.0, 1.0, 2.0])])


@classify_eigen.test("classify_eigen_offdiagonal", "matrices with off-diagonal entries")
def _t_ce_offdiagonal(fn=None):
    _run_classify(fn, [[[1.0, 2.0], [2.0, 1.0]], [[-1.0, 3.0], [3.0, -1.0]],
                       [[2.0, 1.0], [1.0, 2.0]], [[-2.0, 1.0], [1.0, -2.0]],
                       [[2.0, -1.0, 0.0], [-1.0, 2.0, -1.0], [0.0, -1.0, 2.0]],
                       [[1.0, 0.0, 2.0], [0.0, 1.0, 0.0], [2.0, 0.0, 1.0]]])


@classify_eigen.test("classify_eigen_degenerate", "degenerate cases")
def _t_ce_degenerate(fn=None):
    _run_classify(fn, [np.zeros((2, 2)), np.diag([1.0, 0.0]), np.diag([-2.0, 0.0]),
                       np.diag([1e-12, 1.0]), np.diag([-1.0, 0.0, 1.0]),
                       [[1.0, 1.0], [1.0, 1.0]]])


def _planted(rng, eigenvalues) -> np.ndarray:
    n = _len(eigenvalues)
    Q, R = np.linalg.qr(rng.normal(size=(n, n)))
    Q = Q * np.sign(np.diag(R))
    A = (Q * _array(eigenvalues, dtype=float)) @ Q.T
    return (A + A.T) / 2


def _random_spectra(rng, count):
    out = []
    for k in range(count):
        n = int(rng.integers(2, 5))
        magnitudes = rng.uniform(0.5, 3.0, size=n)
        pattern = k % 4
        if pattern == 0:
            values = magnitudes
        elif pattern == 1:
            values = -magnitudes
        elif pattern == 2:
            values = magnitudes * np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
        else:
            values = magnitudes.copy()
            values[0] = 0.0
        out.append(_planted(rng, rng.permutation(values)))
    return out


@classify_eigen.test("classify_eigen_hidden", "random matrices", hidden=True)
def _t_ce_hidden(fn=None):
    _run_classify(fn, _random_spectra(_rng("classify_eigen_hidden"), 8), tol=1e-8)


def _sdt_reference(case) -> str:
    fxx, fxy, fyy = case
    return _ref_second_derivative_test([[fxx, fxy], [fxy, fyy]], tol=1e-12)


def _sdt_rule(d_of, first=None):
    def rule(case):
        fxx, fxy, fyy = case
        D = d_of(fxx, fxy, fyy)
        if abs(D) <= 1e-12:
            return "inconclusive"
        if D < 0:
            return "saddle"
        return "minimum" if fxx > 0 else "maximum"
    return rule


def _sdt_diagonal(case) -> str:
    fxx, _, fyy = case
    return _eig_kind([fxx, fyy], 1e-12)


_SDT_VARIANTS = [
    (_sdt_rule(lambda a, b, c: a * c + b * b), "the sign in D: D = f_xx f_yy - f_xy^2 (minus), "
     "the determinant of H."),
    (_sdt_rule(lambda a, b, c: a * c - b), "f_xy is not squared: D = f_xx f_yy - f_xy^2."),
    (_sdt_diagonal, "diagonal-only reasoning: f_xx and f_yy alone do not decide; the mixed "
     "term enters through D = f_xx f_yy - f_xy^2."),
    (lambda case: ("minimum" if case[0] > 0 else "maximum") if case[0] != 0
     else _sdt_reference(case), "the sign of f_xx is used before checking D. First D: D < 0 "
     "is a saddle whatever f_xx is; only for D > 0 does f_xx decide."),
]


def _run_sdt(fn, cases):
    expected = [_sdt_reference(c) for c in cases]
    _labels_check("second_derivative_test_2d", fn, cases, expected, _SDT_VARIANTS,
                  lambda c: tuple(_float(v) for v in c),
                  lambda c: f"(f_xx, f_xy, f_yy) = ({c[0]:g}, {c[1]:g}, {c[2]:g})", _KINDS)


@second_derivative_test_2d.test("sdt_fixed", "fixed cases")
def _t_sdt_fixed(fn=None):
    _run_sdt(fn, [(0.0, -3.0, 0.0), (2.0, 1.0, 2.0), (-2.0, 1.0, -2.0), (1.0, 2.0, 1.0),
                  (2.0, -3.0, 2.0), (-1.0, 0.5, -1.0), (0.0, 1.0, 5.0)])


@second_derivative_test_2d.test("sdt_degenerate", "D = 0")
def _t_sdt_degenerate(fn=None):
    _run_sdt(fn, [(0.0, 0.0, 0.0), (1.0, 1.0, 1.0), (4.0, 2.0, 1.0), (-1.0, 1.0, -1.0),
                  (3.0, 0.0, 2.0)])


@second_derivative_test_2d.test("sdt_hidden", "random cases", hidden=True)
def _t_sdt_hidden(fn=None):
    rng = _rng("sdt_hidden")
    cases = [tuple(_float(v) for v in rng.integers(-5, 6, size=3)) for _ in range(10)]
    a = _float(rng.integers(1, 4))
    cases.append((a, a, a))  # D = 0
    _run_sdt(fn, cases)


def _minors(H):
    return [_float(np.linalg.det(H[:k, :k])) for k in range(1, H.shape[0] + 1)]


def _minors_rule(H, pd, nd) -> str:
    D = _minors(H)
    if pd(D):
        return "positive definite"
    if nd(D):
        return "negative definite"
    return "not definite"


def _alternating(D) -> bool:
    return all((d < 0) if k % 2 == 0 else (d > 0) for k, d in enumerate(D))


def _minors_reference(H) -> str:
    D = _ref_leading_minors(H)
    scale = max(1.0, _scale(_array(H)))
    eps = 1e-10 * scale ** _len(D)
    if all(d > eps for d in D):
        return "positive definite"
    if all((d < -eps) if k % 2 == 0 else (d > eps) for k, d in enumerate(D)):
        return "negative definite"
    return "not definite"


_MINOR_VARIANTS = [
    (lambda H: _minors_rule(H, lambda D: all(d > 0 for d in D), lambda D: all(d < 0 for d in D)),
     "'all leading minors negative' is not the test for negative definite: the signs must "
     "alternate, D_1 < 0, D_2 > 0, D_3 < 0, ... (the minors of -H are (-1)^k D_k)."),
    (lambda H: _minors_rule(H, lambda D: all(d >= 0 for d in D),
                            lambda D: all((d <= 0) if k % 2 == 0 else (d >= 0)
                                          for k, d in enumerate(D))),
     "minors equal to 0 were accepted (>= instead of >): definiteness needs every D_k strictly "
     "positive (or strictly alternating). [[1, 1], [1, 1]] has minors 1, 0: only "
     "semidefinite."),
    (lambda H: _minors_rule(H, lambda D: D[-1] > 0, lambda D: D[-1] < 0),
     "only the determinant D_n is used; Sylvester's criterion needs every leading minor "
     "D_1, ..., D_n."),
    (lambda H: _minors_rule(np.diag(np.diag(H)), lambda D: all(d > 0 for d in D), _alternating),
     "diagonal-only reasoning: the leading minors involve the off-diagonal entries too "
     "(D_2 = H_11 H_22 - H_12^2)."),
]


def _run_minors(fn, matrices):
    cases = [_array(H, dtype=float) for H in matrices]
    expected = [_minors_reference(H) for H in cases]
    _labels_check("definiteness_by_minors", fn, cases, expected, _MINOR_VARIANTS,
                  lambda H: (H.copy(),), lambda H: f"H = {_matrix_text(H)}", _DEFINITENESS)


@definiteness_by_minors.test("minors_positive", "positive definite or not")
def _t_mi_positive(fn=None):
    _run_minors(fn, [[[4.0, 2.0, 1.0], [2.0, 3.0, 1.0], [1.0, 1.0, 2.0]], np.diag([1.0, 2.0]),
                     [[2.0, -1.0], [-1.0, 2.0]], [[1.0, 2.0], [2.0, 1.0]]])


@definiteness_by_minors.test("minors_negative", "negative definite")
def _t_mi_negative(fn=None):
    _run_minors(fn, [[[-2.0, 1.0], [1.0, -2.0]],
                     [[-3.0, 1.0, 0.0], [1.0, -2.0, 1.0], [0.0, 1.0, -4.0]],
                     np.diag([-1.0, 1.0, 1.0]), np.diag([-1.0, -1.0, -1.0])])


@definiteness_by_minors.test("minors_semidefinite", "semidefinite matrices")
def _t_mi_semidefinite(fn=None):
    _run_minors(fn, [[[1.0, 1.0], [1.0, 1.0]], [[0.0, 0.0], [0.0, -1.0]],
                     np.diag([2.0, 0.0, 3.0]), [[-1.0, 1.0], [1.0, -1.0]]])


@definiteness_by_minors.test("minors_hidden", "random matrices", hidden=True)
def _t_mi_hidden(fn=None):
    rng = _rng("minors_hidden")
    # singular matrices are left out: rounding decides the sign of their determinant
    matrices = [H for H in _random_spectra(rng, 12) if min(abs(np.linalg.eigvalsh(H))) > 0.1]
    _run_minors(fn, matrices)

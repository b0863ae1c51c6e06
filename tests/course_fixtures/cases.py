"""Student code for the course tests: common mistakes, a differently written correct solution,
and hostile submissions. Each entry is the source of one solution cell (a function definition).

MISTAKES[assignment][part] = (code, failing test ids, words the failure message must contain).
"""

# Right solutions of 06_matrix_free_newton as a student would write them; the planted mistakes
# below (in MISTAKES and MORE_MISTAKES_06) are edits of these.
_CG = '''
def conjugate_gradient(matvec, b, tol, max_iter):
    b = np.asarray(b, dtype=float)
    x, r = np.zeros_like(b), b.copy()
    p = r.copy()
    rr = r @ r
    residuals = [np.sqrt(rr)]
    for _ in range(max_iter):
        if np.sqrt(rr) <= tol * np.linalg.norm(b):
            break
        Ap = matvec(p)
        alpha = rr / (p @ Ap)
        x = x + alpha * p
        r = r - alpha * Ap
        rr_new = r @ r
        p = r + (rr_new / rr) * p
        rr = rr_new
        residuals.append(np.sqrt(rr))
    return x, residuals
'''

_NEWTON_CG = '''
def newton_cg_step(g, hvp):
    g = np.asarray(g, dtype=float)
    gnorm = np.linalg.norm(g)
    eta = min(0.5, np.sqrt(gnorm))
    p, r = np.zeros_like(g), g.copy()
    d = -r
    rr = r @ r
    for k in range(20 * g.size):
        if np.sqrt(rr) <= eta * gnorm:
            break
        Hd = hvp(d)
        dHd = d @ Hd
        if dHd <= 0:
            return -g if k == 0 else p
        alpha = rr / dHd
        p = p + alpha * d
        r = r + alpha * Hd
        rr_new = r @ r
        d = -r + (rr_new / rr) * d
        rr = rr_new
    return p
'''

_STEIHAUG = '''
def steihaug(g, hessp, radius, tol):
    """Steihaug-CG: the step p with ||p|| <= radius, and the rule that stopped it."""
    g = np.asarray(g, dtype=float)
    gnorm = np.linalg.norm(g)
    z, r = np.zeros_like(g), g.copy()
    d = -r
    rr = float(r @ r)

    def crossings(z, d):  # tau with ||z + tau d|| = radius, smaller root first
        a, b, c = d @ d, 2 * (z @ d), z @ z - radius**2
        root = np.sqrt(b * b - 4 * a * c)
        return (-b - root) / (2 * a), (-b + root) / (2 * a)

    if gnorm == 0:
        return z, "interior"
    for _ in range(10 * g.size):
        Bd = np.asarray(hessp(d), dtype=float)
        dBd = float(d @ Bd)
        if dBd <= 0:
            # follow d to the sphere, at the crossing where the model is lower:
            # m(z + tau d) - m(z) = tau r^T d + tau^2 d^T B d / 2
            rd = float(r @ d)
            tau = min(crossings(z, d), key=lambda t: t * rd + 0.5 * t * t * dBd)
            return z + tau * d, "negative curvature"
        alpha = rr / dBd
        if np.linalg.norm(z + alpha * d) >= radius:
            return z + crossings(z, d)[1] * d, "boundary"
        z = z + alpha * d
        r = r + alpha * Bd
        rr_new = float(r @ r)
        if np.sqrt(rr_new) <= tol * gnorm:
            return z, "interior"
        d = -r + (rr_new / rr) * d
        rr = rr_new
    return z, "interior"
'''


def _mutated(source: str, old: str, new: str) -> str:
    """``source`` with its one occurrence of ``old`` replaced by ``new`` (a planted mistake)."""
    if source.count(old) != 1:
        raise ValueError(f"the mistake's line must occur once in the source: {old!r}")
    return source.replace(old, new)



MISTAKES = {
    "01_hessians": {
        "hessian_symbolic": ('''
def hessian_symbolic(f, variables):
    n = len(variables)
    return sympy.Matrix(n, n, lambda i, j: sympy.diff(f, variables[i], 2) if i == j else 0)
''', {"hessian_symbolic_fixed", "hessian_symbolic_hidden"}, "only the diagonal is filled"),
        "fd_hessian": ('''
def fd_hessian(f, x, h):
    x = np.asarray(x, dtype=float)
    n = x.size
    E = h * np.eye(n)
    H = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i == j:
                H[i, i] = (f(x + E[i]) - 2 * f(x) + f(x - E[i])) / h**2
            else:
                H[i, j] = (f(x + E[i] + E[j]) - f(x + E[i] - E[j]) - f(x - E[i] + E[j])
                           + f(x - E[i] - E[j])) / (2 * h**2)
    return H
''', {"fd_hessian_quadratic", "fd_hessian_nonquadratic", "fd_hessian_hidden"},
            "missing factor 1/2"),
        "second_partial": ('''
def second_partial(f, x, i, j, h_outer, h_inner):
    x = np.asarray(x, dtype=float)
    def inner(p):
        e = np.zeros_like(p); e[i] = h_inner
        return (f(p + e) - f(p - e)) / (2 * h_inner)
    e = np.zeros_like(x); e[j] = h_outer
    return (inner(x + e) - inner(x - e)) / (2 * h_outer)
''', {"second_partial_order"}, "order of differentiation is reversed"),
        "quadratic_model": ('''
def quadratic_model(f0, g, H, x0):
    def m(x):
        d = np.asarray(x) - x0
        return f0 + g @ d + d @ H @ d
    return m
''', {"quadratic_model_fixed", "quadratic_model_taylor", "quadratic_model_hidden"},
            "missing its factor 1/2"),
    },
    "02_classifying": {
        "critical_points_of": ('''
def critical_points_of(f, variables):
    sols = sympy.solve([sympy.diff(f, v) for v in variables], variables, dict=True)
    return [tuple(s[v] for v in variables) for s in sols]
''', {"critical_points_fixed"}, "complex solutions"),
        "classify_eigen": ('''
def classify_eigen(H, tol):
    d = np.diag(np.asarray(H, dtype=float))
    if np.all(d > tol):
        return "minimum"
    if np.all(d < -tol):
        return "maximum"
    if np.any(d > tol) and np.any(d < -tol):
        return "saddle"
    return "inconclusive"
''', {"classify_eigen_offdiagonal", "classify_eigen_degenerate", "classify_eigen_hidden"},
            "diagonal-only reasoning"),
        "second_derivative_test_2d": ('''
def second_derivative_test_2d(fxx, fxy, fyy):
    D = fxx * fyy + fxy ** 2
    if abs(D) <= 1e-12:
        return "inconclusive"
    if D < 0:
        return "saddle"
    return "minimum" if fxx > 0 else "maximum"
''', {"sdt_fixed", "sdt_degenerate", "sdt_hidden"}, "the sign in D"),
        "definiteness_by_minors": ('''
def definiteness_by_minors(H):
    H = np.asarray(H, dtype=float)
    D = [np.linalg.det(H[:k, :k]) for k in range(1, len(H) + 1)]
    if all(d > 1e-10 for d in D):
        return "positive definite"
    if all(d < -1e-10 for d in D):
        return "negative definite"
    return "not definite"
''', {"minors_negative", "minors_hidden"}, "all leading minors negative"),
    },
    "03_newton": {
        "newton_step": ('''
def newton_step(g, H):
    return np.linalg.solve(H, g)
''', {"newton_step_fixed", "newton_step_hidden"}, "the sign of the Newton step"),
        "newton_iterate": ('''
def newton_iterate(grad, hess, x0, tol, max_iter):
    x = np.array(x0, dtype=float)
    path = [x]
    for _ in range(max_iter):
        g = grad(x)
        if np.max(np.abs(g)) <= tol:
            break
        x = x - hess(x) @ g
        path.append(x)
    return np.array(path)
''', {"newton_iterate_quadratic", "newton_iterate_rosenbrock", "newton_iterate_stopping",
      "newton_iterate_hidden"}, "H is used where its inverse belongs"),
        "newton_globalized": ('''
def newton_globalized(f, grad, hess, x0, tol, max_iter):
    x = np.array(x0, dtype=float)
    path = [x]
    for _ in range(max_iter):
        g = grad(x)
        if np.max(np.abs(g)) <= tol:
            break
        H = hess(x)
        tau = 0.0
        while np.min(np.linalg.eigvalsh(H + tau * np.eye(len(x)))) <= 0:
            tau = max(2 * tau, 1e-3)
        x = x + np.linalg.solve(H + tau * np.eye(len(x)), -g)
        path.append(x)
    return np.array(path)
''', {"newton_globalized_rosenbrock", "newton_globalized_hidden"}, "no line search"),
        "convergence_order": ('''
def convergence_order(errors):
    e = errors
    return np.log(e[2] / e[1]) / np.log(e[1] / e[0])
''', {"order_sequences", "order_newton"}, "the first three errors were used"),
        "race": ('''
def race(kappa, tol):
    A = np.diag([1.0, kappa])
    out = {}
    x, k = np.ones(2), 1
    while np.max(np.abs(A @ x)) > tol:
        x = x - np.linalg.solve(A, A @ x)
        k += 1
    out["newton"] = k
    x, k = np.ones(2), 1
    while np.max(np.abs(A @ x)) > tol:
        x = x - (1.0 / kappa) * (A @ x)
        k += 1
    out["gradient_descent"] = k
    return out
''', {"race_fixed", "race_hidden"}, "counting iterates instead of steps"),
    },
    "04_quasi_newton": {
        "bfgs_inverse_update": ('''
def bfgs_inverse_update(B, s, y):
    if y @ s <= 0:
        raise ValueError("curvature")
    Bs = B @ s
    return B - np.outer(Bs, Bs) / (s @ Bs) + np.outer(y, y) / (y @ s)
''', {"bfgs_update_secant", "bfgs_update_fixed", "bfgs_update_hidden"},
            "approximation of the Hessian"),
        "bfgs_minimize": ('''
def bfgs_minimize(f, grad, x0, tol, max_iter):
    x = np.array(x0, dtype=float)
    g = grad(x)
    nit = 0
    while nit < max_iter and np.max(np.abs(g)) > tol:
        x = x - 0.5 * g
        g = grad(x)
        nit += 1
    return x, nit
''', {"bfgs_minimize_quadratic", "bfgs_minimize_rosenbrock", "bfgs_minimize_hidden"},
            "did not converge"),
        "two_loop_direction": ('''
def two_loop_direction(g, s_list, y_list, gamma):
    q = np.array(g, dtype=float)
    m = len(s_list)
    rho = [1.0 / (y_list[i] @ s_list[i]) for i in range(m)]
    a = [0.0] * m
    for i in reversed(range(m)):
        a[i] = rho[i] * (s_list[i] @ q)
        q = q - a[i] * y_list[i]
    r = gamma * q
    for i in reversed(range(m)):
        b = rho[i] * (y_list[i] @ r)
        r = r + (a[i] - b) * s_list[i]
    return r
''', {"two_loop_fixed", "two_loop_hidden", "two_loop_large"}, "OLDEST pair to the newest"),
        "lbfgs_memory_update": ('''
def lbfgs_memory_update(s_list, y_list, s, y, m):
    if y @ s <= 0:
        return list(s_list), list(y_list)
    s_list, y_list = list(s_list), list(y_list)
    if len(s_list) == m:
        s_list.pop()
        y_list.pop()
    return s_list + [s], y_list + [y]
''', {"memory_evict"}, "the newest stored pair was dropped"),
    },
    "05_curvature_at_scale": {
        "gauss_newton_step": ('''
def gauss_newton_step(r, J):
    return np.linalg.solve(J.T @ J, J.T @ r)
''', {"gn_step_fixed", "gn_step_curve_fit", "gn_step_hidden"}, "the sign"),
        "hvp_central": ('''
def hvp_central(grad, x, v, h):
    return (grad(x + h * v) - grad(x - h * v)) / h
''', {"hvp_quadratic", "hvp_rosenbrock", "hvp_large", "hvp_hidden"}, "missing factor 1/2"),
        "power_iteration_max": ('''
def power_iteration_max(matvec, n):
    v = np.ones(n) / np.sqrt(n)
    for _ in range(2000):  # stops as soon as it settles: fast even on a busy grader
        w = matvec(v)
        w = w / np.linalg.norm(w)
        if min(np.linalg.norm(w - v), np.linalg.norm(w + v)) < 1e-13:
            v = w
            break
        v = w
    return float(np.linalg.norm(matvec(v)))
''', {"power_negative"}, "the sign is lost"),
        "largest_stable_step": ('''
def largest_stable_step(grad, x):
    h = 1e-6
    lam = power_iteration_max(lambda v: (grad(x + h * v) - grad(x - h * v)) / (2 * h), len(x))
    return 1.0 / lam
''', {"stable_step_quadratic", "stable_step_rosenbrock"}, "1 / lambda_max is a safe step"),
    },
    "06_matrix_free_newton": {
        "conjugate_gradient": (_mutated(
            _CG, "        if np.sqrt(rr) <= tol * np.linalg.norm(b):\n            break\n"
                 "        Ap = matvec(p)\n        alpha = rr / (p @ Ap)\n",
            "        Ap = matvec(p)\n        pAp = p @ Ap\n        if pAp <= 0:\n"
            "            break\n        alpha = rr / pAp\n"),
            {"cg_small", "cg_products", "cg_history", "cg_callable", "cg_hidden"},
            "stops at max_iter instead of the tolerance"),
        "newton_cg_step": (_mutated(_NEWTON_CG, "            return -g if k == 0 else p\n",
                                    "            break\n"),
                           {"ncg_negative_first"}, "fall back to p = -g"),
        "steihaug": (_mutated(_STEIHAUG, "        if np.linalg.norm(z + alpha * d) >= radius:\n",
                              "        if False:\n"),
                     {"steihaug_small_radius", "steihaug_hidden"},
                     "your step leaves the trust region"),
    },
}

#: Correct solutions of 03_newton written differently from solutions/ (and printing, warning).
ALTERNATIVE_03 = {
    "newton_step": '''
import sys
import warnings
def newton_step(g, H):
    g = np.atleast_1d(np.asarray(g, dtype=float))
    warnings.warn("checking my step", RuntimeWarning)   # a warning is not penalised
    np.log(np.array([0.0]))                              # nor is a numpy RuntimeWarning
    print("debug: solving", len(g), file=sys.stderr)     # nor stderr output
    lu = np.linalg.solve(np.asarray(H, dtype=float), np.eye(len(g)))
    if not np.all(np.isfinite(lu)):
        raise ValueError("singular")
    return -np.linalg.solve(H, g)
''',
    "newton_iterate": '''
def newton_iterate(grad, hess, x0, tol, max_iter):
    xs = [np.asarray(x0, dtype=float)]
    k = 0
    while k < max_iter:
        g = np.asarray(grad(xs[-1]))
        if np.linalg.norm(g, np.inf) <= tol:
            break
        xs.append(xs[-1] - np.linalg.solve(hess(xs[-1]), g))
        k += 1
    return np.vstack(xs)
''',
    "newton_globalized": '''
def newton_globalized(f, grad, hess, x0, tol, max_iter):
    x = np.asarray(x0, dtype=float).copy()
    out = [x]
    n = len(x)
    for k in range(max_iter):
        g = grad(x)
        if np.linalg.norm(g, np.inf) <= tol:
            break
        H = hess(x)
        shift = 0.0
        while True:
            try:
                L = np.linalg.cholesky(H + shift * np.eye(n))
                break
            except np.linalg.LinAlgError:
                shift = 1e-3 if shift == 0.0 else 10.0 * shift
        p = -np.linalg.solve(L.T, np.linalg.solve(L, g))
        t = 1.0
        while f(x + t * p) > f(x) + 1e-4 * t * g.dot(p):
            t *= 0.5
        x = x + t * p
        out.append(x)
    return np.asarray(out)
''',
    "convergence_order": '''
import math
def convergence_order(errors):
    a, b, c = (abs(float(e)) for e in errors[-3:])
    return (math.log(c) - math.log(b)) / (math.log(b) - math.log(a))
''',
    "race": '''
def race(kappa, tol):
    def grad(x):
        return np.array([x[0], kappa * x[1]])
    counts = {"newton": 0, "gradient_descent": 0}
    x = np.array([1.0, 1.0])
    while max(abs(grad(x))) > tol:
        x = x - grad(x) / np.array([1.0, kappa])
        counts["newton"] += 1
    x = np.array([1.0, 1.0])
    lr = 1.0 / kappa
    while max(abs(grad(x))) > tol:
        x = x - lr * grad(x)
        counts["gradient_descent"] += 1
    return counts
''',
}

#: 03_newton parts that call hessian_lab's reference instead of writing the function.
REFERENCE_03 = {
    "newton_iterate": '''
import hessian_lab
def newton_iterate(grad, hess, x0, tol, max_iter):
    res = hessian_lab.newton(lambda x: 0.0, grad, hess, x0, globalize=False, tol=tol,
                             max_iter=max_iter)
    return res.path
''',
    "newton_globalized": '''
from hessian_lab import newton
def newton_globalized(f, grad, hess, x0, tol, max_iter):
    return newton(f, grad, hess, x0, tol=tol, max_iter=max_iter).path
''',
}


#: More common mistakes of 06_matrix_free_newton, each checked on the visible tests only:
#: (part, code, the visible test ids it must fail, words the diagnosis must contain).
MORE_MISTAKES_06 = [
    ("conjugate_gradient", _mutated(_CG, "        rr_new = r @ r\n"
                                         "        p = r + (rr_new / rr) * p\n"
                                         "        rr = rr_new\n",
                                    "        rr = r @ r\n        p = r + (rr / rr) * p\n"),
     {"cg_small", "cg_products", "cg_history", "cg_callable"}, "uses the residual's old norm"),
    ("conjugate_gradient", _mutated(_CG, "Ap = matvec(p)", "Ap = matvec @ p"),
     {"cg_small", "cg_products", "cg_history", "cg_callable"},
     "the operator is a function, not a matrix"),
    ("newton_cg_step", _mutated(_NEWTON_CG, "        dHd = d @ Hd\n        if dHd <= 0:\n"
                                            "            return -g if k == 0 else p\n"
                                            "        alpha = rr / dHd\n",
                                "        alpha = rr / (d @ Hd)\n"),
     {"ncg_negative_first", "ncg_negative_later"}, "does not detect p^T H p <= 0"),
    ("newton_cg_step", _mutated(_NEWTON_CG, "eta = min(0.5, np.sqrt(gnorm))", "eta = 0.5"),
     {"ncg_quadratic", "ncg_negative_later"}, "the forcing term is 0.5 always"),
    ("steihaug", _mutated(_STEIHAUG, "        if dBd <= 0:\n", "        if False:\n"),
     {"steihaug_indefinite"}, "does not detect p^T B p <= 0"),
    ("steihaug", _mutated(_STEIHAUG, "tau = min(crossings(z, d)", "tau = max(crossings(z, d)"),
     {"steihaug_indefinite"}, "the wrong crossing of the sphere"),
    ("steihaug", _mutated(_STEIHAUG, 'return z + crossings(z, d)[1] * d, "boundary"',
                          'zn = z + alpha * d; '
                          'return zn * (radius / np.linalg.norm(zn)), "boundary"'),
     {'steihaug_small_radius'}, 'scales the full CG iterate back onto the sphere'),
]

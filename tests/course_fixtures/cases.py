"""Student code for the course tests: common mistakes, a differently written correct solution,
and hostile submissions. Each entry is the source of one solution cell (a function definition).

MISTAKES[assignment][part] = (code, failing test ids, words the failure message must contain).
"""

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
